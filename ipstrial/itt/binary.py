"""Binary outcomes: proportions, risk difference, risk ratio, odds ratio, tests and NNT.

``compare_proportions`` works on participant-level data, ``compare_counts`` on published counts;
both give the same rows:

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

The p-value on the risk difference, ratio and Woolf odds ratio rows is Pearson's chi-square test
(the score test of no difference), on the Wald risk difference row the Wald z test, and on the
exact odds ratio row Fisher's exact test. With several treatment arms, ``adjust="holm"`` or
``"bonferroni"`` adjusts the risk difference p-values over the family of comparisons with the
control (Holm 1979) and shows them in the column ``p_adjusted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipstrial._inputs import as_labels, prepare
from ipstrial.errors import EstimationError
from ipstrial.itt import intervals as iv
from ipstrial.results import Result, Row, contrast_label

__all__ = ["BinaryComparison", "adjust_p_values", "compare_counts", "compare_proportions"]

ADJUSTMENTS = ("holm", "bonferroni")


def adjust_p_values(p_values: Sequence[float], method: str) -> np.ndarray:
    """Family-wise adjusted p-values: Bonferroni ``min(1, k p)`` or Holm's step-down (Holm 1979).

    Holm: sort ``p_(1) <= ... <= p_(k)``, ``p~_(i) = max_{j <= i} min(1, (k - j + 1) p_(j))``.
    """
    p = np.asarray(p_values, dtype=float)
    k = len(p)
    if method == "bonferroni":
        return np.minimum(1.0, k * p)
    if method == "holm":
        order = np.argsort(p, kind="stable")
        stepped = np.maximum.accumulate(np.minimum(1.0, (k - np.arange(k)) * p[order]))
        out = np.empty(k)
        out[order] = stepped
        return out
    raise ValueError(f"adjust={method!r}: use None, 'holm' or 'bonferroni'")


@dataclass(frozen=True, eq=False)
class BinaryComparison(Result):
    """Proportions per arm and their contrasts with the control (see the module docstring).

    ``counts`` has one row per arm: ``arm, events, n, excluded``. ``contrasts`` maps each
    contrast label (``"IPS vs SAU"``) to a dict of :class:`~ipstrial.itt.intervals.Interval`
    by estimand.
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

    @property
    def title(self) -> str:
        return f"Binary outcome {self.outcome}: " + ", ".join(self.contrasts)

    def interval(self, estimand: str, contrast: str | None = None) -> iv.Interval:
        """The interval of one estimand for one contrast (the first when ``contrast`` is None)."""
        contrast = contrast or next(iter(self.contrasts))
        return self.contrasts[contrast][estimand]

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        n = dict(zip(self.counts.arm, self.counts.n, strict=True))
        excluded = dict(zip(self.counts.arm, self.counts.excluded, strict=True))
        out = []
        for arm, ci in self.proportions.items():
            extra = {"events": int(self.counts.set_index("arm").events[arm])}
            if excluded[arm]:
                extra["excluded"] = int(excluded[arm])
            out.append(
                Row(
                    self.analysis,
                    arm,
                    "proportion",
                    ci.estimate,
                    ci_low=ci.low,
                    ci_high=ci.high,
                    method=ci.method,
                    n=n[arm],
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        for label, by_estimand in self.contrasts.items():
            treatment = label.split(" vs ")[0]
            size = n[treatment] + n[self.control]
            tests = self.tests[label]
            for estimand in ("risk_difference", "risk_ratio", "odds_ratio"):
                ci = by_estimand[estimand]
                if estimand == "risk_difference" and self.method == "wald":
                    p = tests["wald_p"]
                elif estimand == "odds_ratio" and self.or_method == "exact":
                    p = tests["fisher_p"]
                else:
                    p = tests["chi_square_p"]
                extra: dict[str, object] = {"note": ci.note} if ci.note else {}
                if estimand == "risk_difference" and self.adjust:
                    extra |= {"p_adjusted": self.p_adjusted[label], "adjustment": self.adjust}
                se = (
                    tests.get("wald_se", np.nan)
                    if estimand == "risk_difference" and self.method == "wald"
                    else np.nan
                )
                out.append(
                    Row(
                        self.analysis,
                        label,
                        estimand,
                        ci.estimate,
                        se=se,
                        ci_low=ci.low,
                        ci_high=ci.high,
                        p_value=p,
                        method=ci.method,
                        n=size,
                        outcome=self.outcome,
                        conf_level=conf,
                        extra=extra,
                    )
                )
            out.append(
                Row(
                    self.analysis,
                    label,
                    "chi_square",
                    tests["chi_square"],
                    p_value=tests["chi_square_p"],
                    method="Pearson chi-square test, 1 df, no continuity correction",
                    n=size,
                    outcome=self.outcome,
                    conf_level=conf,
                )
            )
            out.append(
                Row(
                    self.analysis,
                    label,
                    "fisher_exact",
                    np.nan,
                    p_value=tests["fisher_p"],
                    method="Fisher exact test, two-sided",
                    n=size,
                    outcome=self.outcome,
                    conf_level=conf,
                )
            )
            nnt = self.nnt[label]
            low, high = float(nnt["low"]), float(nnt["high"])
            crosses = not (np.isfinite(low) and np.isfinite(high) and low <= high)
            out.append(
                Row(
                    self.analysis,
                    label,
                    "number_needed_to_treat",
                    float(nnt["estimate"]),
                    ci_low=np.nan if crosses else low,
                    ci_high=np.nan if crosses else high,
                    method=f"1 / risk difference ({by_estimand['risk_difference'].method}); Altman 1998",
                    n=size,
                    outcome=self.outcome,
                    conf_level=conf,
                    extra={"label": str(nnt["label"]), "nnt_low": low, "nnt_high": high},
                )
            )
        return tuple(out)


def _check_method(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: choose one of {list(allowed)}")


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
    notes: tuple[str, ...] = (),
) -> BinaryComparison:
    _check_method("method", method, tuple(iv.RISK_DIFFERENCE_METHODS))
    _check_method("rr_method", rr_method, tuple(iv.RISK_RATIO_METHODS))
    _check_method("or_method", or_method, tuple(iv.ODDS_RATIO_METHODS))
    if adjust is not None:
        _check_method("adjust", adjust, ADJUSTMENTS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie between 0 and 1")
    from scipy import stats

    conf = 1 - alpha
    by_arm = counts.set_index("arm")
    proportions = {
        a: iv.wilson(int(by_arm.events[a]), int(by_arm.n[a]), conf) for a in (*treatments, control)
    }
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
        wald = iv.rd_wald(x1, n1, x0, n0, conf)
        wald_se = _wald_se(x1, n1, x0, n0)
        wald_p = float(2 * stats.norm.sf(abs(wald.estimate) / wald_se)) if wald_se > 0 else 1.0
        tests[label] = {
            "chi_square": statistic,
            "chi_square_p": p_chi,
            "fisher_p": iv.fisher_exact(x1, n1, x0, n0),
            "wald_p": wald_p,
            "wald_se": wald_se,
        }
        nnt[label] = iv.number_needed_to_treat(rd)
    p_adjusted = {}
    if adjust is not None:
        labels = list(contrasts)
        key = "wald_p" if method == "wald" else "chi_square_p"
        adjusted = adjust_p_values([tests[c][key] for c in labels], adjust)
        p_adjusted = dict(zip(labels, map(float, adjusted), strict=True))
    return BinaryComparison(
        outcome,
        treatments,
        control,
        counts,
        proportions,
        contrasts,
        tests,
        nnt,
        method,
        rr_method,
        or_method,
        alpha,
        adjust,
        p_adjusted,
        notes=notes,
    )


def _wald_se(x1: int, n1: int, x0: int, n0: int) -> float:
    p1, p0 = x1 / n1, x0 / n0
    return float(np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))


def compare_proportions(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str | Sequence[str] = "IPS",
    control: str = "SAU",
    method: str = "newcombe",
    alpha: float = 0.05,
    *,
    rr_method: str = "log",
    or_method: str = "woolf",
    adjust: str | None = None,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> BinaryComparison:
    """Compare a 0/1 outcome between each treatment arm and the control (module docstring).

    A missing outcome is an error unless ``missing="complete-case"``, in which case the excluded
    participants are counted per arm (column ``excluded`` of ``counts`` and the proportion rows).
    An outcome that is the same for everyone gives defined intervals (e.g. a risk difference of
    0 with its Newcombe interval), chi-square 0 with p 1 and Fisher p 1.
    """
    prepared = prepare(data, outcome, arm, treatment, control, kind="binary", missing=missing, id=id)
    labels = prepared.compared
    counts = pd.DataFrame(
        {
            "arm": list(labels),
            "events": [int(prepared.arm_values(a).sum()) for a in labels],
            "n": [int(len(prepared.arm_values(a))) for a in labels],
            "excluded": [int(prepared.excluded.get(a, 0)) for a in labels],
        }
    )
    notes = (prepared.missing_note,) if prepared.missing_note else ()
    return _compare(
        outcome, counts, prepared.treatments, control, method, rr_method, or_method, alpha, adjust, notes
    )


def compare_counts(
    events_treatment: int | Sequence[int],
    n_treatment: int | Sequence[int],
    events_control: int,
    n_control: int,
    *,
    treatment: str | Sequence[str] = "treatment",
    control: str = "control",
    outcome: str = "outcome",
    method: str = "newcombe",
    alpha: float = 0.05,
    rr_method: str = "log",
    or_method: str = "woolf",
    adjust: str | None = None,
) -> BinaryComparison:
    """The same rows as :func:`compare_proportions` from published counts.

    ``events_treatment`` and ``n_treatment`` may be sequences (one entry per treatment arm,
    labelled by ``treatment``), e.g. EQOLISE (Burns et al., Lancet 2007):
    ``compare_counts(85, 156, 43, 156, treatment="IPS", control="vocational services")``.
    """
    events = np.atleast_1d(np.asarray(events_treatment))
    sizes = np.atleast_1d(np.asarray(n_treatment))
    labels = as_labels(treatment)
    if len(labels) == 1 and len(events) > 1:
        labels = tuple(f"{labels[0]} {i + 1}" for i in range(len(events)))
    if not (len(events) == len(sizes) == len(labels)):
        raise ValueError(
            f"events_treatment ({len(events)}), n_treatment ({len(sizes)}) and treatment "
            f"({len(labels)}) must have the same length"
        )
    if control in labels:
        raise ValueError(f"treatment and control are the same label {control!r}")
    table = {
        "arm": [*labels, control],
        "events": [*events.tolist(), events_control],
        "n": [*sizes.tolist(), n_control],
    }
    for arm, x, n in zip(table["arm"], table["events"], table["n"], strict=True):
        if not (float(x).is_integer() and float(n).is_integer()) or n < 1 or x < 0 or x > n:
            raise EstimationError(
                f"arm {arm!r}: events {x} of n {n} is not a valid count (0 <= events <= n, n >= 1)"
            )
    counts = pd.DataFrame(table).astype({"events": int, "n": int}).assign(excluded=0)
    return _compare(outcome, counts, labels, control, method, rr_method, or_method, alpha, adjust)
