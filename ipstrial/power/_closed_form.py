"""Sample size and power, analytic: two proportions, several arms against one control, the log-rank test.

Each calculation solves for whichever of the sample size, the power or the detectable effect is left out
(give exactly two of ``n``, ``power`` and the effect), for a two-sided test at level ``alpha``:

* :func:`two_proportions` -- ``p_control`` vs ``p_treatment``, equal arms, by the normal approximation of
  the z-test (``method="normal"``, as R's ``power.prop.test``), the same with Fleiss's continuity correction
  (``"normal-cc"``, the power of the Yates-corrected chi-square test), or the arcsine transformation
  (``"arcsine"``, Cohen's ``h``, as R's ``pwr.2p.test``). ``comparisons=k`` tests each of ``k`` treatment
  arms against the control at ``alpha / k`` (Bonferroni), e.g. IPS and IPSE against services as usual;
* :func:`logrank` -- the number of events, and of participants given the probability of an event, for a
  hazard ratio: Schoenfeld (1983) or Freedman (1982);
* :func:`rmst_difference` -- the difference of restricted mean times to ``tau`` for exponential times with
  everyone followed to ``tau`` (register follow-up).

Every function returns a :class:`PowerCalculation` with the solved quantity filled in, ``n`` per arm rounded
up to whole participants. Power by simulation through the real analysis is
:func:`ipstrial.power.simulated_power`; these closed forms are what it is checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from ipstrial._checks import (
    ParameterError,
    check_alpha,
    check_choice,
    check_count,
    check_number,
    check_probability,
)

__all__ = ["METHODS", "PowerCalculation", "logrank", "rmst_difference", "two_proportions"]

METHODS: tuple[str, ...] = ("normal", "normal-cc", "arcsine")
"""The methods of :func:`two_proportions`."""

LOGRANK_METHODS: tuple[str, ...] = ("schoenfeld", "freedman")
"""The methods of :func:`logrank`."""

_N = NormalDist()
_HEADINGS = {"n": "Sample size", "power": "Power", "effect": "Detectable effect"}


@dataclass(frozen=True)
class PowerCalculation:
    """A sample-size or power calculation, with the quantity it solved for.

    Attributes
    ----------
    design
        ``"two proportions"`` or ``"log-rank"``.
    method
        The formula (``"normal"``, ``"normal-cc"``, ``"arcsine"``, ``"schoenfeld"``, ``"freedman"``).
    solved
        What was solved for: ``"n"``, ``"power"`` or ``"effect"``.
    n_per_arm
        Participants per arm, rounded up (``n_exact`` unrounded).
    n_total
        Participants in all arms (``arms`` x ``n_per_arm``).
    power
        The power at ``n_exact`` (the target when solving for ``n``; the power at the rounded ``n`` is
        ``power_at_n``).
    alpha, comparisons
        The two-sided level and the number of comparisons with the control (each at ``alpha / comparisons``).
    effect
        The effect: ``{"p_control": ..., "p_treatment": ...}`` or ``{"hazard_ratio": ...}``.
    events
        For the log-rank test: the events needed in the two arms compared (``events_exact`` unrounded).
    reference
        The formula's source.
    """

    design: str
    method: str
    solved: str
    n_exact: float
    n_per_arm: int
    n_total: int
    power: float
    power_at_n: float
    alpha: float
    comparisons: int
    arms: int
    effect: dict[str, float] = field(default_factory=dict)
    events_exact: float | None = None
    events: int | None = None
    reference: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-safe dictionary."""
        from ipstrial.results import json_safe

        return {k: json_safe(getattr(self, k)) for k in self.__dataclass_fields__}

    def summary(self) -> str:
        """A few lines for humans."""
        effect = ", ".join(f"{k} {v:.4g}" for k, v in self.effect.items())
        level = f"two-sided alpha {self.alpha:g}" + (
            f" ({self.comparisons} comparisons, each at {self.alpha / self.comparisons:.4g})"
            if self.comparisons > 1
            else ""
        )
        lines = [
            f"{_HEADINGS[self.solved]}, {self.design} ({self.method}): {effect}; {level}",
            f"  n per arm {self.n_per_arm} ({self.n_exact:.2f} before rounding up), {self.arms} arms: "
            f"{self.n_total} participants",
            f"  power {self.power:.4f}"
            + (f" (at n = {self.n_per_arm}: {self.power_at_n:.4f})" if self.solved == "n" else ""),
        ]
        if self.events is not None:
            lines.append(f"  events needed in the two arms compared: {self.events} ({self.events_exact:.2f})")
        lines.append(f"  {self.reference}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _solve(f: Any, low: float, high: float) -> float:
    """The root of the increasing function ``f`` in ``[low, high]`` (bisection to machine precision)."""
    from scipy.optimize import brentq

    return float(brentq(f, low, high, xtol=1e-12, rtol=1e-15, maxiter=500))


def _two_of(n: object, power: object, effect: object, names: str) -> str:
    given = [x is not None for x in (n, power, effect)]
    if sum(given) != 2:
        raise ParameterError(f"give exactly two of {names} (the third is solved for); got {sum(given)}")
    return ("n", "power", "effect")[given.index(False)]


def _power_proportions(p0: float, p1: float, n: float, alpha: float, method: str) -> float:
    """The power of the two-sided test of ``p1 = p0`` with ``n`` per arm (see :func:`two_proportions`)."""
    z = _N.inv_cdf(1 - alpha / 2)
    if method == "arcsine":  # pwr.2p.test: both tails of the normal test of h
        h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0)))
        shift = h * math.sqrt(n / 2)
        return _N.cdf(shift - z) + _N.cdf(-shift - z)
    delta = abs(p1 - p0)
    pbar = (p0 + p1) / 2
    null_sd = math.sqrt(2 * pbar * (1 - pbar))
    alt_sd = math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
    if method == "normal-cc":  # the continuity correction shrinks |p1 - p0| by 1/n (Fleiss et al. 1980)
        delta = max(delta - 1.0 / n, 0.0)
    return _N.cdf((math.sqrt(n) * delta - z * null_sd) / alt_sd)  # power.prop.test, strict = FALSE


def two_proportions(
    p_control: float,
    p_treatment: float | None = None,
    *,
    n: int | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    method: str = "normal",
    comparisons: int = 1,
) -> PowerCalculation:
    """Sample size, power or detectable proportion for comparing two proportions with equal arms.

    With ``z_a = Φ⁻¹(1 - α'/2)``, ``α' = alpha / comparisons`` (Bonferroni), ``p̄ = (p_0 + p_1)/2`` and
    ``Δ = |p_1 - p_0|``, the power with ``n`` per arm is

    * ``"normal"``: ``Φ((√n Δ - z_a √(2 p̄ q̄)) / √(p_0 q_0 + p_1 q_1))``, the z-test's normal approximation
      (the pooled variance under the null, the unpooled under the alternative; Fleiss, Levin & Paik,
      *Statistical Methods for Rates and Proportions*, 3rd ed., 2003, eq. 4.14; R's ``power.prop.test``),
      solved in closed form ``n = (z_a √(2 p̄ q̄) + z_b √(p_0 q_0 + p_1 q_1))² / Δ²``;
    * ``"normal-cc"``: the same with ``Δ - 1/n`` in place of ``Δ`` (the Yates continuity correction of the
      chi-square test), whose solution is Fleiss, Tytun & Ury's (1980) ``n_cc = n/4 (1 + √(1 + 4/(n Δ)))²``;
    * ``"arcsine"``: ``Φ(h √(n/2) - z_a) + Φ(-h √(n/2) - z_a)`` with Cohen's ``h = |2 asin √p_1 - 2 asin
      √p_0|`` (Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., 1988, ch. 6; R's
      ``pwr.2p.test``).

    Parameters
    ----------
    p_control, p_treatment
        The proportions with the outcome in the control and in a treatment arm; leave ``p_treatment`` out to
        solve for the smallest ``p_treatment > p_control`` detectable with ``n`` and ``power``.
    n
        Participants per arm; leave out to solve for it.
    power
        The power (e.g. 0.8); leave out to solve for it.
    alpha
        The two-sided level of the family of comparisons.
    method
        ``"normal"`` (default), ``"normal-cc"`` or ``"arcsine"``.
    comparisons
        Treatment arms each compared with the control (3 arms: 2); each test is at ``alpha / comparisons``.

    Returns
    -------
    PowerCalculation
        ``n_per_arm`` rounded up; ``arms = comparisons + 1``.

    Examples
    --------
    >>> two_proportions(0.465, 0.599, power=0.8).n_per_arm   # Projekt Inklusion: 46.5 % vs 59.9 %
    217
    """
    method = check_choice(method, "method", METHODS)
    alpha = check_alpha(alpha)
    comparisons = check_count(comparisons, "comparisons", minimum=1, maximum=100)
    p0 = check_probability(p_control, "p_control")
    solved = _two_of(n, power, p_treatment, "n, power and p_treatment")
    p1 = None if p_treatment is None else check_probability(p_treatment, "p_treatment")
    if p1 is not None and p1 == p0:
        raise ParameterError("p_treatment equals p_control: there is no effect to detect")
    target = None if power is None else check_probability(power, "power")
    if target is not None and target <= alpha / comparisons / 2:
        raise ParameterError(
            f"power must exceed alpha / 2 per comparison ({alpha / comparisons / 2:g}), got {target}"
        )
    level = alpha / comparisons
    if solved == "n":
        assert p1 is not None and target is not None
        z_a, z_b = _N.inv_cdf(1 - level / 2), _N.inv_cdf(target)
        pbar = (p0 + p1) / 2
        delta = abs(p1 - p0)
        n_normal = (
            z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
        ) ** 2 / delta**2
        if method == "normal":
            n_exact = n_normal
        elif method == "normal-cc":
            n_exact = n_normal / 4 * (1 + math.sqrt(1 + 4 / (n_normal * delta))) ** 2
        else:
            n_exact = _solve(lambda m: _power_proportions(p0, p1, m, level, method) - target, 1e-6, 1e9)
        achieved = target
    else:
        n_exact = float(check_count(n, "n", minimum=2))
        if solved == "power":
            assert p1 is not None
            achieved = _power_proportions(p0, p1, n_exact, level, method)
        else:
            assert target is not None
            if _power_proportions(p0, 1 - 1e-12, n_exact, level, method) < target:
                raise ParameterError(
                    f"with n = {n_exact:g} per arm no p_treatment above p_control = {p0} reaches power "
                    f"{target}; give more participants or less power"
                )
            p1 = _solve(
                lambda p: _power_proportions(p0, p, n_exact, level, method) - target, p0 + 1e-12, 1 - 1e-12
            )
            achieved = target
    assert p1 is not None
    references = {
        "normal": "Fleiss, Levin & Paik 2003, eq. 4.14 (R power.prop.test)",
        "normal-cc": "Fleiss, Tytun & Ury 1980, Biometrics 36:343 (continuity-corrected)",
        "arcsine": "Cohen 1988, ch. 6, arcsine h (R pwr.2p.test)",
    }
    return _calculation(
        "two proportions",
        method,
        solved,
        n_exact,
        achieved,
        lambda m: _power_proportions(p0, p1, m, level, method),
        alpha,
        comparisons,
        {"p_control": p0, "p_treatment": p1},
        references[method],
    )


def _calculation(
    design: str,
    method: str,
    solved: str,
    n_exact: float,
    power: float,
    power_at: Any,
    alpha: float,
    comparisons: int,
    effect: dict[str, float],
    reference: str,
    events_exact: float | None = None,
) -> PowerCalculation:
    """The :class:`PowerCalculation` of a solution: ``n`` rounded up (``power_at(n)`` its power), the arms."""
    n_per_arm = math.ceil(n_exact - 1e-9)  # 1e-9: a solution of 217.0000000001 is 217 participants
    return PowerCalculation(
        design=design,
        method=method,
        solved=solved,
        n_exact=n_exact,
        n_per_arm=n_per_arm,
        n_total=n_per_arm * (comparisons + 1),
        power=power,
        power_at_n=power_at(n_per_arm),
        alpha=alpha,
        comparisons=comparisons,
        arms=comparisons + 1,
        effect=effect,
        events_exact=events_exact,
        events=None if events_exact is None else math.ceil(events_exact - 1e-9),
        reference=reference,
    )


def _hazard_ratio_inputs(
    n: object, power: object, hazard_ratio: object
) -> tuple[str, float | None, float | None]:
    """What a hazard-ratio design solves for, its checked hazard ratio and target power (None if solved)."""
    solved = _two_of(n, power, hazard_ratio, "n, power and hazard_ratio")
    hr = (
        None if hazard_ratio is None else check_number(hazard_ratio, "hazard_ratio", minimum=0.0, strict=True)
    )
    if hr is not None and hr == 1:
        raise ParameterError("hazard_ratio 1 is no effect: there is nothing to detect")
    target = None if power is None else check_probability(power, "power")
    return solved, hr, target


def _hazard_ratio_solution(
    hr: float | None, n: object, target: float | None, z_a: float, delta: Any
) -> tuple[float, float, float]:
    """``(n_exact, power, hazard ratio)`` for a test whose power with ``n`` per arm is ``Φ(√n δ(HR) - z_a)``
    (``delta`` the standardised effect per √participant): ``n = ((z_a + z_b) / δ(HR))²``; the power at
    ``n``; or the hazard ratio above 1 that reaches ``target`` (solved)."""
    if n is None:
        assert hr is not None and target is not None
        return ((z_a + _N.inv_cdf(target)) / delta(hr)) ** 2, target, hr
    n_exact = float(check_count(n, "n", minimum=2))
    if hr is None:
        assert target is not None
        hr = _solve(lambda h: _N.cdf(math.sqrt(n_exact) * delta(h) - z_a) - target, 1 + 1e-9, 1e6)
        return n_exact, target, hr
    return n_exact, _N.cdf(math.sqrt(n_exact) * delta(hr) - z_a), hr


def _logrank_events_factor(hr: float, method: str) -> float:
    """``d / (z_a + z_b)²``: the events per squared standardised distance for equal arms."""
    if method == "schoenfeld":
        return 1.0 / (0.25 * math.log(hr) ** 2)
    return (1 + hr) ** 2 / (1 - hr) ** 2


def logrank(
    hazard_ratio: float | None = None,
    *,
    event_probability: float,
    n: int | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    method: str = "schoenfeld",
    comparisons: int = 1,
) -> PowerCalculation:
    """Events and participants for the log-rank test of a hazard ratio, equal arms.

    With ``z_a = Φ⁻¹(1 - α'/2)``, ``α' = alpha / comparisons`` and ``z_b = Φ⁻¹(power)``, the events needed in
    the two arms compared are

    * ``"schoenfeld"``: ``d = 4 (z_a + z_b)² / (log HR)²`` (Schoenfeld, Biometrika 1981;68:316-319 and
      Biometrics 1983;39:499-503, with half the participants in each arm);
    * ``"freedman"``: ``d = (z_a + z_b)² (1 + HR)² / (1 - HR)²`` (Freedman, Stat Med 1982;1:121-129);

    and the participants per arm ``n = d / (2 p)`` with ``p = event_probability``, the probability that a
    participant has the event during follow-up (averaged over the two arms). The power for given ``n`` inverts
    the formula: ``Φ(√(2 n p / c) - z_a)`` with ``c = d / (z_a + z_b)²``.

    Parameters
    ----------
    hazard_ratio
        The hazard ratio to detect (treatment / control, not 1); leave out to solve for the detectable one
        above 1 (an increased hazard of a first job).
    event_probability
        The probability of an event during follow-up, in (0, 1].
    n
        Participants per arm; leave out to solve for it.
    power
        The power; leave out to solve for it.
    alpha
        The two-sided level of the family.
    method
        ``"schoenfeld"`` (default) or ``"freedman"``.
    comparisons
        Treatment arms each compared with the control (each at ``alpha / comparisons``).
    """
    method = check_choice(method, "method", LOGRANK_METHODS)
    alpha = check_alpha(alpha)
    comparisons = check_count(comparisons, "comparisons", minimum=1, maximum=100)
    p_event = check_number(event_probability, "event_probability", minimum=0.0, maximum=1.0)
    if p_event <= 0:
        raise ParameterError("event_probability must be greater than 0")
    solved, hr, target = _hazard_ratio_inputs(n, power, hazard_ratio)
    level = alpha / comparisons
    z_a = _N.inv_cdf(1 - level / 2)

    def delta(h: float) -> float:  # power = Φ(√(2 n p / c) - z_a), c = d / (z_a + z_b)²
        return math.sqrt(2 * p_event / _logrank_events_factor(h, method))

    n_exact, achieved, hr = _hazard_ratio_solution(hr, n, target, z_a, delta)
    reference = {
        "schoenfeld": "Schoenfeld 1983, Biometrics 39:499",
        "freedman": "Freedman 1982, Stat Med 1:121",
    }[method]
    return _calculation(
        "log-rank",
        method,
        solved,
        n_exact,
        achieved,
        lambda m: _N.cdf(math.sqrt(m) * delta(hr) - z_a),
        alpha,
        comparisons,
        {"hazard_ratio": hr},
        reference,
        events_exact=2 * n_exact * p_event,
    )


def _exponential_restricted_moments(rate: float, tau: float) -> tuple[float, float]:
    """Mean and variance of ``min(T, τ)`` for ``T ~ Exponential(rate)``:
    ``E = (1 - e^{-λτ}) / λ``, ``E[min(T,τ)²] = 2 (1 - e^{-λτ} (1 + λτ)) / λ²``."""
    x = rate * tau
    mean = -math.expm1(-x) / rate
    second = 2 * (1 - math.exp(-x) * (1 + x)) / rate**2
    return mean, second - mean**2


def rmst_difference(
    median_control: float,
    hazard_ratio: float | None = None,
    *,
    tau: float,
    n: int | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    comparisons: int = 1,
) -> PowerCalculation:
    """Sample size, power or detectable hazard ratio for the difference of restricted mean times to ``tau``.

    Assumes exponential times in each arm (control rate ``λ_0 = log 2 / median_control``, treatment rate
    ``λ_1 = HR λ_0``) and every participant followed to ``tau`` (register follow-up: no censoring before
    ``tau``), so that the RMST of arm ``a`` is the mean of ``min(T, τ)``, of variance ``v_a / n``,
    ``v_a = Var min(T, τ) = 2 (1 - e^{-λτ}(1 + λτ)) / λ² - ((1 - e^{-λτ}) / λ)²`` (Royston & Parmar, BMC Med
    Res Methodol 2013;13:152, for the RMST; the moments of the censored exponential). The power of the
    two-sided Wald test is ``Φ(|Δ| √n / √(v_0 + v_1) - z_a)`` with ``Δ = μ_1 - μ_0``; solved in closed form
    for ``n = (z_a + z_b)² (v_0 + v_1) / Δ²``.

    Parameters
    ----------
    median_control
        The median time to the event in the control arm (in the unit of ``tau``).
    hazard_ratio
        Treatment / control; leave out to solve for the detectable one above 1.
    tau
        The restriction time.
    n, power, alpha, comparisons
        As for :func:`two_proportions`.
    """
    alpha = check_alpha(alpha)
    comparisons = check_count(comparisons, "comparisons", minimum=1, maximum=100)
    median = check_number(median_control, "median_control", minimum=0.0, strict=True)
    tau = check_number(tau, "tau", minimum=0.0, strict=True)
    solved, hr, target = _hazard_ratio_inputs(n, power, hazard_ratio)
    z_a = _N.inv_cdf(1 - alpha / comparisons / 2)
    rate0 = math.log(2) / median
    mu0, v0 = _exponential_restricted_moments(rate0, tau)

    def delta(h: float) -> float:  # |Δ| / √(v_0 + v_1)
        mu1, v1 = _exponential_restricted_moments(h * rate0, tau)
        return abs(mu1 - mu0) / math.sqrt(v0 + v1)

    n_exact, achieved, hr = _hazard_ratio_solution(hr, n, target, z_a, delta)
    mu1, _ = _exponential_restricted_moments(hr * rate0, tau)
    return _calculation(
        "RMST difference",
        "exponential, followed to tau",
        solved,
        n_exact,
        achieved,
        lambda m: _N.cdf(math.sqrt(m) * delta(hr) - z_a),
        alpha,
        comparisons,
        {"hazard_ratio": hr, "rmst_control": mu0, "rmst_treatment": mu1, "rmst_difference": mu1 - mu0},
        "Royston & Parmar 2013, BMC Med Res Methodol 13:152 (RMST); censored-exponential moments",
    )
