"""Binary outcomes: proportions, risk difference, risk ratio, odds ratio, tests and NNT.

``compare_proportions`` works on participant-level data (a DataFrame or an :class:`ipstrial.Trial`),
``compare_counts`` on published counts; both give the same rows:

* ``proportion`` per arm with the Wilson score interval (Wilson 1927);
* ``risk_difference`` by ``method``: ``wald``, ``newcombe`` (hybrid score, Newcombe 1998 method
  10, the default), ``miettinen-nurminen`` (score inversion, Miettinen & Nurminen 1985) or
  ``agresti-caffo`` (Agresti & Caffo 2000);
* ``risk_ratio`` (``rr_method``: ``log``, Katz et al. 1978; or ``score``, Koopman 1984);
* ``odds_ratio`` (``or_method``: ``woolf``, Woolf 1955; or ``exact``, the conditional MLE with
  Cornfield's exact interval, as R's fisher.test);
* ``chi_square`` (Pearson, no continuity correction; the statistic as estimate) and
  ``fisher_exact`` (two-sided p-value);
* ``number_needed_to_treat`` from the risk difference interval, worded as Altman (BMJ
  1998;317:1309) advises when the interval includes no difference.

The formulas are in :mod:`ipstrial.stats.proportions`. The p-value on the risk difference, ratio and
Woolf odds ratio rows is Pearson's chi-square test (the score test of no difference), on the Wald risk
difference row the Wald z test ``2(1 − Φ(|p_1 − p_0| / se))`` with the unpooled
``se² = p_1(1 − p_1)/n_1 + p_0(1 − p_0)/n_0``, and on the exact odds ratio row Fisher's exact test. With
several treatment arms, ``adjust="holm"`` or ``"bonferroni"`` adjusts the risk difference p-values over
the family of comparisons with the control (Holm 1979): they are in the column ``p_adjusted`` of
``to_frame()`` and in a note under the table of ``summary()`` and the HTML view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_choice, check_count
from ipstrial._docs import shared_params
from ipstrial._inputs import prepare
from ipstrial._labels import label_of
from ipstrial.errors import ParameterError
from ipstrial.results import Result, Row, contrast_label, excluded_extra, format_p
from ipstrial.stats import proportions as iv
from ipstrial.stats.normal import p_two_sided

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping

    from matplotlib.axes import Axes

    from ipstrial.trial import Trial

__all__ = ["BinaryComparison", "adjust_p_values", "compare_counts", "compare_proportions"]

ADJUSTMENTS = ("holm", "bonferroni")


def adjust_p_values(p_values: Sequence[float], method: str) -> np.ndarray:
    """Family-wise adjusted p-values: Bonferroni ``min(1, k p)`` or Holm's step-down (Holm 1979).

    Holm: sort ``p_(1) <= ... <= p_(k)``, ``p~_(i) = max_{j <= i} min(1, (k - j + 1) p_(j))``.

    Parameters
    ----------
    p_values
        The raw p-values of the family.
    method
        ``"holm"`` or ``"bonferroni"``.
    """
    check_choice(method, "adjust", ADJUSTMENTS)
    p = np.asarray(p_values, dtype=float)
    k = len(p)
    if method == "bonferroni":
        return np.minimum(1.0, k * p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, (k - np.arange(k)) * p[order]))
    out = np.empty(k)
    out[order] = stepped
    return out


def _adjusted_note(method: str, estimand: str, p_adjusted: dict[str, float]) -> str:
    """The note that shows adjusted p-values under a result's table, e.g. ``"Holm-adjusted p-values
    (risk difference): IPS vs SAU 0.0012, IPSE vs SAU 0.0017"``."""
    listed = ", ".join(f"{label} {format_p(p, 4)}" for label, p in p_adjusted.items())
    return f"{method.capitalize()}-adjusted p-values ({estimand}): {listed}"


@dataclass(frozen=True, eq=False)
class BinaryComparison(Result):
    """Proportions per arm and their contrasts with the control (see the module docstring).

    ``counts`` has one row per arm, in the order results list them: ``arm, events, n, excluded``.
    ``contrasts`` maps each contrast label (``"IPS vs SAU"``) to a dict of
    :class:`~ipstrial.stats.proportions.Interval` by estimand, in the order of ``treatments``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    counts: pd.DataFrame
    proportions: dict[str, iv.Interval]
    contrasts: dict[str, dict[str, iv.Interval]]
    tests: dict[str, dict[str, float]]
    nnt: dict[str, dict[str, object]]
    method: str = "newcombe"
    rr_method: str = "log"
    or_method: str = "woolf"
    alpha: float = 0.05
    adjust: str | None = None
    p_adjusted: dict[str, float] = field(default_factory=dict)
    analysis: str = "itt_binary"
    notes: tuple[str, ...] = ()

    title_template = "Risk difference in {outcome}: {contrasts}"

    def interval(self, estimand: str, contrast: str | None = None) -> iv.Interval:
        """The interval of one estimand for one contrast (the first when ``contrast`` is None)."""
        contrast = contrast or next(iter(self.contrasts))
        return self.contrasts[contrast][estimand]

    def rows(self) -> tuple[Row, ...]:
        by_arm = self.counts.set_index("arm")
        out = []
        for arm, ci in self.proportions.items():
            extra: dict[str, object] = {"events": int(by_arm.events[arm])} | excluded_extra(self.inputs, arm)
            out.append(
                self._row(
                    arm,
                    "proportion",
                    ci.estimate,
                    ci_low=ci.low,
                    ci_high=ci.high,
                    method=ci.method,
                    n=int(by_arm.n[arm]),
                    extra=extra,
                )
            )
        for treatment, (label, by_estimand) in zip(self.treatments, self.contrasts.items(), strict=True):
            size = int(by_arm.n[treatment] + by_arm.n[self.control])
            tests = self.tests[label]
            for estimand in ("risk_difference", "risk_ratio", "odds_ratio"):
                ci = by_estimand[estimand]
                wald = estimand == "risk_difference" and self.method == "wald"
                if wald:
                    p = tests["wald_p"]
                elif estimand == "odds_ratio" and self.or_method == "exact":
                    p = tests["fisher_p"]
                else:
                    p = tests["chi_square_p"]
                extra = {"note": ci.note} if ci.note else {}
                if estimand == "risk_difference" and self.adjust:
                    extra |= {"p_adjusted": self.p_adjusted[label], "adjustment": self.adjust}
                out.append(
                    self._row(
                        label,
                        estimand,
                        ci.estimate,
                        se=tests["wald_se"] if wald else np.nan,
                        ci_low=ci.low,
                        ci_high=ci.high,
                        p_value=p,
                        method=ci.method,
                        n=size,
                        extra=extra,
                    )
                )
            out.append(
                self._row(
                    label,
                    "chi_square",
                    tests["chi_square"],
                    p_value=tests["chi_square_p"],
                    method="Pearson chi-square test, 1 df, no continuity correction",
                    n=size,
                )
            )
            out.append(
                self._row(
                    label,
                    "fisher_exact",
                    np.nan,
                    p_value=tests["fisher_p"],
                    method="Fisher exact test, two-sided",
                    n=size,
                )
            )
            nnt = self.nnt[label]
            low, high = float(nnt["low"]), float(nnt["high"])  # type: ignore[arg-type]
            crosses = not (np.isfinite(low) and np.isfinite(high) and low <= high)
            out.append(
                self._row(
                    label,
                    "number_needed_to_treat",
                    float(nnt["estimate"]),  # type: ignore[arg-type]
                    ci_low=np.nan if crosses else low,
                    ci_high=np.nan if crosses else high,
                    method=f"1 / risk difference ({by_estimand['risk_difference'].method}); Altman 1998",
                    n=size,
                    extra={"label": str(nnt["label"]), "nnt_low": low, "nnt_high": high},
                )
            )
        return tuple(out)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        estimand: str = "risk_difference",
        colors: Mapping[str, str] | None = None,
    ) -> Axes:
        """Forest plot of the contrasts with the control: estimate, interval, n/N per arm, "favours" labels.

        ``estimand`` is ``"risk_difference"`` (percentage points, null line at 0), ``"risk_ratio"`` or
        ``"odds_ratio"`` (log axis, null line at 1); drawn by :func:`ipstrial.report.forest.forest_figure`
        (events/participants from the per-arm rows' extras). ``colors`` maps arms to colours (default
        :func:`ipstrial.report.palette.arm_colors` of the analysed arms).
        """
        from ipstrial.report.forest import forest_for

        return forest_for([self], estimand=estimand, colors=colors, ax=ax)


def _options(
    method: str, rr_method: str, or_method: str, adjust: str | None, alpha: float, analysis: str
) -> float:
    """Check the options shared by both entry points; return alpha."""
    check_choice(method, "method", tuple(iv.RISK_DIFFERENCE_METHODS))
    check_choice(rr_method, "rr_method", tuple(iv.RISK_RATIO_METHODS))
    check_choice(or_method, "or_method", tuple(iv.ODDS_RATIO_METHODS))
    check_choice(adjust, "adjust", (None, *ADJUSTMENTS))
    check_analysis(analysis)
    return check_alpha(alpha)


def _wald_p(x1: int, n1: int, x0: int, n0: int, se: float) -> float:
    """The Wald z test of no risk difference; 1 when both arms have the same proportion 0 or 1 (no
    variation, no difference: se 0), NaN when the arms are 0 % and 100 % (se 0, the test undefined)."""
    difference = x1 / n1 - x0 / n0
    if se == 0 and difference == 0:
        return 1.0
    return float(p_two_sided(difference, se))


def _compare(
    outcome: str,
    counts: pd.DataFrame,
    treatments: tuple[str, ...],
    control: str,
    method: str,
    rr_method: str,
    or_method: str,
    alpha: float,
    adjust: str | None,
    analysis: str,
    **result: Any,
) -> BinaryComparison:
    conf = 1 - alpha
    by_arm = counts.set_index("arm")
    proportions = {a: iv.wilson(int(by_arm.events[a]), int(by_arm.n[a]), conf) for a in counts.arm}
    x0, n0 = int(by_arm.events[control]), int(by_arm.n[control])
    contrasts, tests, nnt = {}, {}, {}
    for t in treatments:
        x1, n1 = int(by_arm.events[t]), int(by_arm.n[t])
        label = contrast_label(t, control)
        rd = iv.RISK_DIFFERENCE_METHODS[method](x1, n1, x0, n0, conf)
        contrasts[label] = {
            "risk_difference": rd,
            "risk_ratio": iv.RISK_RATIO_METHODS[rr_method](x1, n1, x0, n0, conf),
            "odds_ratio": iv.ODDS_RATIO_METHODS[or_method](x1, n1, x0, n0, conf),
        }
        statistic, p_chi = iv.chi_square(x1, n1, x0, n0)
        wald_se = iv.rd_wald_se(x1, n1, x0, n0)
        tests[label] = {
            "chi_square": statistic,
            "chi_square_p": p_chi,
            "fisher_p": iv.fisher_exact(x1, n1, x0, n0),
            "wald_p": _wald_p(x1, n1, x0, n0, wald_se),
            "wald_se": wald_se,
        }
        nnt[label] = iv.number_needed_to_treat(rd)
    p_adjusted = {}
    if adjust is not None:
        labels = list(contrasts)
        key = "wald_p" if method == "wald" else "chi_square_p"
        adjusted = adjust_p_values([tests[c][key] for c in labels], adjust)
        p_adjusted = dict(zip(labels, map(float, adjusted), strict=True))
        notes = (_adjusted_note(adjust, "risk difference", p_adjusted),)
    else:
        notes = ()
    return BinaryComparison(
        outcome=outcome,
        treatments=treatments,
        control=control,
        counts=counts,
        proportions=proportions,
        contrasts=contrasts,
        tests=tests,
        nnt=nnt,
        method=method,
        rr_method=rr_method,
        or_method=or_method,
        alpha=alpha,
        adjust=adjust,
        p_adjusted=p_adjusted,
        analysis=analysis,
        notes=notes,
        **result,
    )


@shared_params
def compare_proportions(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    method: str = "newcombe",
    rr_method: str = "log",
    or_method: str = "woolf",
    adjust: str | None = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_binary",
) -> BinaryComparison:
    """Compare a 0/1 outcome between each treatment arm and the control (module docstring).

    An outcome that is the same for everyone gives defined intervals (e.g. a risk difference of 0 with
    its Newcombe interval), chi-square 0 with p 1 and Fisher p 1 (and the Wald test p 1 with
    ``method="wald"``).

    Parameters
    ----------
    @params data
    outcome
        The 0/1 outcome column.
    @params arm
    method, rr_method, or_method
        Interval methods of the risk difference, risk ratio and odds ratio (module docstring).
    adjust
        None, ``"holm"`` or ``"bonferroni"``: adjusted risk-difference p-values over the treatments.
    @params alpha missing id analysis

    Returns
    -------
    BinaryComparison
        Rows ``proportion`` per arm (in the order of the arms), and per treatment the risk difference,
        risk ratio, odds ratio, chi-square, Fisher and number-needed-to-treat rows.
    """
    alpha = _options(method, rr_method, or_method, adjust, alpha, analysis)
    prepared = prepare(data, outcome, arm, treatment, control, kind="binary", missing=missing, id=id)
    labels = prepared.order
    counts = pd.DataFrame(
        {
            "arm": list(labels),
            "events": [int(prepared.arm_values(a).sum()) for a in labels],
            "n": [int(len(prepared.arm_values(a))) for a in labels],
            "excluded": list(prepared.inputs.excluded_per_arm(labels).values()),
        }
    )
    return _compare(
        outcome,
        counts,
        prepared.treatments,
        prepared.control,
        method,
        rr_method,
        or_method,
        alpha,
        adjust,
        analysis,
        inputs=prepared.inputs,
    )


def _arm_label(value: object, name: str) -> str:
    """An arm label given to :func:`compare_counts`: text, or a number shown as its label (``1 -> "1"``)."""
    number = value.item() if isinstance(value, np.generic) else value
    if isinstance(number, str):
        if number.strip():
            return number
    elif isinstance(number, int | float) and not isinstance(number, bool) and np.isfinite(number):
        return label_of(number)
    raise ParameterError(
        f"{name} must be an arm label (text such as 'IPS', or a number shown as its label, 1 -> '1'), got "
        f"{value!r}; name the arm as the publication does"
    )


@shared_params
def compare_counts(
    events_treatment: int | Sequence[int],
    n_treatment: int | Sequence[int],
    events_control: int,
    n_control: int,
    *,
    treatment: Any = "treatment",
    control: Any = "control",
    outcome: str = "outcome",
    method: str = "newcombe",
    rr_method: str = "log",
    or_method: str = "woolf",
    adjust: str | None = None,
    alpha: float = 0.05,
    analysis: str = "itt_binary",
) -> BinaryComparison:
    """The same rows as :func:`compare_proportions` from published counts.

    ``events_treatment`` and ``n_treatment`` may be sequences (one entry per treatment arm, labelled
    by ``treatment``, a list of the same length), e.g. EQOLISE (Burns et al., Lancet 2007):
    ``compare_counts(85, 156, 43, 156, treatment="IPS", control="vocational services")``. Arm labels
    may be numbers (``treatment=1, control=0`` gives the contrast ``"1 vs 0"``).

    Parameters
    ----------
    events_treatment, n_treatment
        Events and participants of the treatment arm(s).
    events_control, n_control
        Events and participants of the control arm.
    treatment, control
        Arm labels: text, or numbers shown as labels (``1 -> "1"``); one treatment label for several
        arms is numbered (``"treatment 1"``, ...).
    outcome
        The outcome's name in the rows (a non-empty string).
    method, rr_method, or_method, adjust
        As in :func:`compare_proportions`.
    @params alpha analysis

    Raises
    ------
    ParameterError
        Counts that are not whole numbers with ``0 <= events <= n`` and ``n >= 1``, lists of different
        lengths, arm labels that are neither text nor numbers (None, NaN, a bool), a treatment label
        equal to the control's, or an ``outcome`` that is not a non-empty string.
    MemoryBudgetError
        Counts so large that Fisher's exact test (which holds every table with the observed margins)
        would exceed the memory budget (about 33 million possible tables with the 2 GiB default).
    """
    alpha = _options(method, rr_method, or_method, adjust, alpha, analysis)
    if not isinstance(outcome, str) or not outcome.strip():
        raise ParameterError(
            f"outcome must be the outcome's name (a non-empty string such as 'employed_18m'), got {outcome!r}"
        )
    events = list(np.atleast_1d(np.asarray(events_treatment, dtype=object)))
    sizes = list(np.atleast_1d(np.asarray(n_treatment, dtype=object)))
    if isinstance(treatment, list | tuple):
        if not treatment:
            raise ParameterError("treatment is an empty list; give one label per treatment arm")
        labels = tuple(_arm_label(t, "treatment") for t in treatment)
    else:
        labels = (_arm_label(treatment, "treatment"),)
        if len(events) > 1:
            labels = tuple(f"{labels[0]} {i + 1}" for i in range(len(events)))
    if not (len(events) == len(sizes) == len(labels)):
        raise ParameterError(
            f"events_treatment ({len(events)}), n_treatment ({len(sizes)}) and treatment ({len(labels)}) "
            "must have the same length"
        )
    control_label = _arm_label(control, "control")
    if control_label in labels or len(set(labels)) < len(labels):
        raise ParameterError(
            f"arm labels must be distinct; got treatment {list(labels)} and control {control_label!r}"
        )
    table = {"arm": [*labels, control_label], "events": [*events, events_control], "n": [*sizes, n_control]}
    checked_x, checked_n = [], []
    for arm_label, x, n in zip(table["arm"], table["events"], table["n"], strict=True):
        x = check_count(x, f"events of arm {arm_label!r}", minimum=0)
        n = check_count(n, f"n of arm {arm_label!r}", minimum=1)
        if x > n:
            raise ParameterError(
                f"arm {arm_label!r}: events {x} of n {n} is not a valid count (0 <= events <= n, n >= 1)"
            )
        checked_x.append(x)
        checked_n.append(n)
    counts = pd.DataFrame({"arm": table["arm"], "events": checked_x, "n": checked_n, "excluded": 0})
    return _compare(
        outcome, counts, labels, control_label, method, rr_method, or_method, alpha, adjust, analysis
    )
