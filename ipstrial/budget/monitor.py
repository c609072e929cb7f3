"""A running programme against its target share in work or education, and caseload arithmetic.

The Sydhavnen budget note (Københavns Kommune, BI14, 2021) sets the target that at least 25 % of the
citizens in IPS Sydhavnen move into work or education, and reports 16 of 73 (22 %) in March 2021, with
3 consultants of about 25 citizens each.  :func:`monitor` answers the questions a budget note raises
about such a count: how precisely is the share known, is it below the target, how probable is it that
the true rate reaches the target, and how many successes among the next participants would bring the
cumulative share up to the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ipstrial._checks import check_alpha, check_analysis, check_probability
from ipstrial._columns import plural
from ipstrial.budget._common import BudgetInputError, number, whole
from ipstrial.errors import ParameterError
from ipstrial.results import Result, Row

__all__ = ["MonitorResult", "caseload", "consultants_needed", "monitor"]


def caseload(consultants: float, per_consultant: float) -> int:
    """The number of citizens a team can hold: ``floor(consultants x per_consultant)``.

    ``per_consultant`` has no default on purpose: it is a programme's own planning figure, not a
    constant. The Sydhavnen note (BI14, 2021) and the Copenhagen 2017 business case plan about 25
    citizens per IPS consultant (3 consultants hold 75), while the IPS fidelity scale (Becker, Swanson,
    Reese, Bond & McLeman, *Supported Employment Fidelity Review Manual*, 4th ed. 2019, item 1 "caseload
    size") asks for at most 20 per employment specialist for good fidelity; a default would silently
    impose one municipality's figure. ``consultants`` may be fractional (full-time equivalents); the
    result is rounded down to whole citizens.

    Parameters
    ----------
    consultants
        Consultants (employment specialists), full-time equivalents, ``>= 0``.
    per_consultant
        Citizens per consultant, ``> 0`` (e.g. 25 in the Sydhavnen note, at most 20 for IPS fidelity).
    """
    staff = number(consultants, "consultants")
    load = number(per_consultant, "per_consultant")
    if staff < 0 or load <= 0:
        raise BudgetInputError(
            f"need consultants >= 0 and per_consultant > 0, "
            f"got consultants={staff!r}, per_consultant={load!r}"
        )
    total = staff * load
    if not math.isfinite(total):
        raise BudgetInputError(f"consultants={staff!r} x per_consultant={load!r} is not a finite caseload")
    return math.floor(total + 1e-9)


def consultants_needed(citizens: float, per_consultant: float) -> int:
    """The whole number of consultants a caseload needs: ``ceil(citizens / per_consultant)``.

    The Copenhagen 2017 case's capacity of about 140 citizens at about 25 each needs 6 consultants
    (140 / 25 = 5.6); at the IPS fidelity scale's 20 each it needs 7. ``per_consultant`` has no default
    (see :func:`caseload`).

    Parameters
    ----------
    citizens
        The caseload to staff, ``>= 0``.
    per_consultant
        Citizens per consultant, ``> 0``.
    """
    size = number(citizens, "citizens")
    load = number(per_consultant, "per_consultant")
    if size < 0 or load <= 0:
        raise BudgetInputError(f"need citizens >= 0 and per_consultant > 0, got {size!r} and {load!r}")
    needed = size / load
    if not math.isfinite(needed):
        raise BudgetInputError(
            f"citizens={size!r} / per_consultant={load!r} is not a finite number of consultants"
        )
    return math.ceil(needed - 1e-9)


@dataclass(frozen=True, eq=False)
class MonitorResult(Result):
    """A programme's count of successes against a target share (see :func:`monitor`).

    Attributes
    ----------
    successes, n, target, alpha, prior, planned_n, label, outcome, analysis
        The inputs.
    wilson_low, wilson_high, exact_low, exact_high
        The Wilson score and the Clopper-Pearson exact ``1 - alpha`` intervals for the rate.
    p_below_exact, p_above_exact
        Exact one-sided binomial p-values: ``P(X <= x)`` for H1 rate < target (reported on the exact
        row) and ``P(X >= x)`` for H1 rate > target, ``X ~ Binomial(n, target)``.
    p_below_score, p_above_score
        The one-sided score (z) test p-values that go with the Wilson interval.
    posterior_a, posterior_b
        The Beta posterior ``Beta(a + x, b + n - x)``.
    prob_target_reached
        Posterior probability that the true rate is at least the target.
    all_successes_needed
        The fewest new participants who, all succeeding, bring the cumulative share to the target (0 if
        it is reached already).
    successes_needed
        With ``planned_n`` new participants: the fewest successes among them that bring the cumulative
        share to the target; ``None`` when even ``planned_n`` successes do not (or without
        ``planned_n``).
    predictive_probability
        With ``planned_n``: the posterior predictive (beta-binomial) probability of at least
        ``successes_needed`` successes among the ``planned_n`` (0 when the target is out of reach).
    """

    successes: int
    n: int
    target: float
    alpha: float
    prior: tuple[float, float]
    planned_n: int | None
    label: str
    outcome: str
    wilson_low: float
    wilson_high: float
    exact_low: float
    exact_high: float
    p_below_exact: float
    p_above_exact: float
    p_below_score: float
    p_above_score: float
    posterior_a: float
    posterior_b: float
    prob_target_reached: float
    all_successes_needed: int
    successes_needed: int | None
    predictive_probability: float | None
    analysis: str = "budget_monitor"

    @property
    def title(self) -> str:
        """A heading with the count and the target."""
        return f"{self.label}: {self.successes} of {self.n} against a target of {100 * self.target:g} %"

    @property
    def estimate(self) -> float:
        """The observed share ``x / n``."""
        return self.successes / self.n

    def rows(self) -> tuple[Row, ...]:
        """Rows: the share with the Wilson interval and score-test p (``variant=""``), the share with the
        Clopper-Pearson interval and exact binomial p (``variant="exact"``; both one-sided, H1: rate <
        target), the Beta posterior (``variant="bayesian"``), and, with ``planned_n``, the success rate
        needed among the new participants (contrast ``"<label>: next <planned_n> participants"``)."""
        conf = 1 - self.alpha
        level = f"{100 * conf:g}%"
        common: dict[str, Any] = {"target": self.target, "alternative": "less"}
        a, b = self.prior
        tests = (
            (
                "",
                self.wilson_low,
                self.wilson_high,
                self.p_below_score,
                self.p_above_score,
                f"Wilson score {level} interval; one-sided score test of rate >= {self.target:g} "
                "(p = Phi(z), H1: rate below the target)",
            ),
            (
                "exact",
                self.exact_low,
                self.exact_high,
                self.p_below_exact,
                self.p_above_exact,
                f"Clopper-Pearson exact {level} interval; exact one-sided binomial test "
                f"(p = P(X <= {self.successes}), X ~ Bin({self.n}, {self.target:g}); "
                "H1: rate below the target)",
            ),
        )
        rows = [
            self._row(
                self.label,
                "proportion",
                self.estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_below,
                method=method,
                n=self.n,
                variant=variant,
                extra={**common, "p_value_greater": p_above, "successes": self.successes},
            )
            for variant, low, high, p_below, p_above, method in tests
        ]
        from scipy.special import betaincinv

        post_low = float(betaincinv(self.posterior_a, self.posterior_b, self.alpha / 2))
        post_high = float(betaincinv(self.posterior_a, self.posterior_b, 1 - self.alpha / 2))
        rows.append(
            self._row(
                self.label,
                "proportion",
                self.posterior_a / (self.posterior_a + self.posterior_b),
                ci_low=post_low,
                ci_high=post_high,
                method=(
                    f"Bayesian, Beta({a:g}, {b:g}) prior: posterior mean and equal-tailed {level} credible "
                    f"interval; prob_target_reached = P(rate >= {self.target:g} | data)"
                ),
                n=self.n,
                variant="bayesian",
                extra={
                    **common,
                    "alternative": None,
                    "prob_target_reached": self.prob_target_reached,
                    "successes": self.successes,
                },
            )
        )
        if self.planned_n is not None:
            needed = self.successes_needed
            rows.append(
                self._row(
                    f"{self.label}: next {plural(self.planned_n, 'participant')}",
                    "proportion",
                    math.nan if needed is None else needed / self.planned_n,
                    method=(
                        "success rate needed among the new participants: the fewest successes k with "
                        f"({self.successes} + k) / ({self.n} + {self.planned_n}) >= {self.target:g}"
                        + ("; not reachable" if needed is None else "")
                        + "; predictive_probability from the beta-binomial posterior predictive"
                    ),
                    n=self.planned_n,
                    extra={
                        **common,
                        "alternative": None,
                        "successes_needed": needed,
                        "all_successes_needed": self.all_successes_needed,
                        "predictive_probability": self.predictive_probability,
                    },
                )
            )
        return tuple(rows)


def monitor(
    successes: int,
    n: int,
    target: float,
    *,
    prior: tuple[float, float] = (1, 1),
    alpha: float = 0.05,
    planned_n: int | None = None,
    label: str = "programme",
    outcome: str = "success",
    analysis: str = "budget_monitor",
) -> MonitorResult:
    """Compare a running programme's count of successes with a target share.

    With ``x`` successes among ``n`` participants, target ``pi0`` and ``z`` the ``1 - alpha/2`` normal
    quantile:

    * Wilson score interval (Wilson 1927; Newcombe, Stat Med 1998;17:857, method 3), from
      :func:`ipstrial.stats.proportions.wilson`;
    * Clopper-Pearson exact interval, ``B(alpha/2; x, n - x + 1)`` to ``B(1 - alpha/2; x + 1, n - x)``
      (Clopper & Pearson, Biometrika 1934;26:404), from :func:`ipstrial.stats.proportions.clopper_pearson`;
    * the exact one-sided binomial test: the reported p-value is for H1 rate < target,
      ``P(X <= x)``, ``X ~ Binomial(n, pi0)`` (is the programme falling short?); ``P(X >= x)``
      (H1 rate > target) is given too.  On the Wilson row the matching score test:
      ``z = (x/n - pi0) / sqrt(pi0 (1 - pi0) / n)``, ``p = Phi(z)`` (and ``1 - Phi(z)``);
    * with a ``Beta(a, b)`` prior (default uniform ``Beta(1, 1)``) the posterior is
      ``Beta(a + x, b + n - x)`` and ``P(rate >= pi0 | data)`` its survival function at ``pi0``
      (Gelman et al., *Bayesian Data Analysis*, 3rd ed., section 2.4);
    * the fewest new participants who, all succeeding, reach the target:
      ``m* = max(0, ceil((pi0 n - x) / (1 - pi0)))``;
    * with ``planned_n = m`` new participants, the fewest successes among them that bring the
      cumulative share to the target: ``k* = max(0, ceil(pi0 (n + m) - x))``, ``None`` if ``k* > m``;
      and the posterior predictive probability ``P(K >= k*)``, ``K ~ BetaBinomial(m, a + x, b + n - x)``.

    The target is read as the decimal it prints as (``0.25`` is exactly 1/4), so that a share exactly
    equal to the target counts as reaching it.

    Parameters
    ----------
    successes, n
        Participants with the outcome counted as a success (e.g. in work or education), and participants
        (``0 <= successes <= n``, ``n >= 1``).
    target
        The target share, strictly between 0 and 1 (0.25 for the Sydhavnen note's 25 %).
    prior
        The ``(a, b)`` of the Beta prior, both > 0.
    alpha
        ``1 - alpha`` is the level of the intervals.
    planned_n
        Number of new participants to plan for (e.g. a caseload, :func:`caseload`), or ``None``.
    label, outcome
        The row labels: the contrast (the programme) and the outcome (what a success is, e.g.
        ``"in work or education"``).
    analysis
        The ARD ``analysis`` name of the rows.
    """
    x = whole(successes, "successes", 0)
    size = whole(n, "n", 1)
    if x > size:
        raise BudgetInputError(
            f"successes={x} exceeds n={size}: a count of successes cannot exceed the participants"
        )
    try:
        pi0 = check_probability(target, "target")
    except ParameterError:
        raise BudgetInputError(
            f"target={target!r} must lie strictly between 0 and 1 (0.25 for 25 %)"
        ) from None
    level = check_alpha(alpha)
    analysis = check_analysis(analysis)
    if isinstance(prior, str) or not hasattr(prior, "__len__") or len(prior) != 2:
        raise BudgetInputError(f"prior must be a pair (a, b) of Beta parameters, got {prior!r}")
    a, b = number(prior[0], "prior a"), number(prior[1], "prior b")
    if a <= 0 or b <= 0:
        raise BudgetInputError(f"prior Beta({a:g}, {b:g}): both parameters must be > 0")
    m = None if planned_n is None else whole(planned_n, "planned_n", 1)
    if not isinstance(label, str) or not label.strip():
        raise BudgetInputError("label must be a non-empty string")
    if not isinstance(outcome, str) or not outcome.strip():
        raise BudgetInputError("outcome must be a non-empty string")

    from scipy import stats
    from scipy.special import ndtr

    from ipstrial.stats.proportions import clopper_pearson, wilson

    conf = 1 - level
    score = wilson(x, size, conf)
    exact = clopper_pearson(x, size, conf)
    p_below = float(stats.binom.cdf(x, size, pi0))
    p_above = float(stats.binom.sf(x - 1, size, pi0))
    z = (x / size - pi0) / math.sqrt(pi0 * (1 - pi0) / size)
    post_a, post_b = a + x, b + size - x
    prob = float(stats.beta.sf(pi0, post_a, post_b))

    exact_target = Fraction(repr(pi0))
    shortfall = exact_target * size - x
    all_needed = 0 if shortfall <= 0 else math.ceil(shortfall / (1 - exact_target))
    needed: int | None = None
    predictive: float | None = None
    if m is not None:
        k = max(0, math.ceil(exact_target * (size + m) - x))
        if k <= m:
            needed = k
            predictive = float(stats.betabinom.sf(k - 1, m, post_a, post_b)) if k > 0 else 1.0
        else:
            predictive = 0.0
    return MonitorResult(
        successes=x,
        n=size,
        target=pi0,
        alpha=level,
        prior=(a, b),
        planned_n=m,
        label=label.strip(),
        outcome=outcome.strip(),
        wilson_low=score.low,
        wilson_high=score.high,
        exact_low=exact.low,
        exact_high=exact.high,
        p_below_exact=p_below,
        p_above_exact=min(1.0, p_above),
        p_below_score=float(ndtr(z)),
        p_above_score=float(ndtr(-z)),
        posterior_a=post_a,
        posterior_b=post_b,
        prob_target_reached=prob,
        all_successes_needed=all_needed,
        successes_needed=needed,
        predictive_probability=predictive,
        analysis=analysis,
    )
