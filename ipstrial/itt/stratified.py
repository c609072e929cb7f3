"""Stratified analysis of a binary outcome: Cochran-Mantel-Haenszel over strata (e.g. the sites).

For stratum ``k`` with ``a`` events of ``n1`` in the treatment arm, ``c`` of ``n0`` in the control
arm, ``b = n1 - a``, ``d = n0 - c``, ``N = n1 + n0``, ``m1 = a + c``, ``m0 = b + d``:

* Mantel-Haenszel odds ratio (Mantel & Haenszel 1959) ``Σ a d / N / Σ b c / N`` with the
  Robins, Breslow & Greenland (1986, Biometrics 42:311) variance of its logarithm
  ``Σ P R / (2 R+²) + Σ (P S + Q R) / (2 R+ S+) + Σ Q S / (2 S+²)``,
  ``P = (a + d)/N, Q = (b + c)/N, R = a d / N, S = b c / N``;
* Mantel-Haenszel risk difference with weights ``w = n1 n0 / N``: ``Σ w (a/n1 - c/n0) / Σ w``,
  and the variance of Sato (1989, Biometrics 45:1323), valid for sparse and large strata alike,
  ``(RD Σ P' + Σ Q') / (Σ w)²`` with ``P' = (n1² c - n0² a + n1 n0 (n0 - n1)/2) / N²`` and
  ``Q' = (a (n0 - c) + c (n1 - a)) / (2 N)``;
* the Cochran-Mantel-Haenszel test (Cochran 1954; Mantel & Haenszel 1959)
  ``(|Σ (a - n1 m1/N)| - cc)² / Σ n1 n0 m1 m0 / (N² (N - 1))``, 1 df, with continuity correction
  ``cc = 1/2`` only when ``correct=True`` (R's mantelhaen.test default; ipstrial's default is
  no correction, as SAS PROC FREQ).

Strata in which one of the two arms has no participant carry no information on the contrast
and get weight zero; the result counts them in ``notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_choice, column_names
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial.errors import EstimationError
from ipstrial.itt._common import prepare_checked
from ipstrial.results import Result, Row, contrast_label
from ipstrial.stats.normal import wald_interval

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["StratifiedComparison", "mantel_haenszel"]


@dataclass(frozen=True, eq=False)
class StratifiedComparison(Result):
    """Mantel-Haenszel estimates and the CMH test for each treatment vs the control.

    ``tables`` has one row per contrast and stratum: ``contrast, stratum, a, n1, c, n0``.
    ``estimates`` has one row per contrast with the MH odds ratio and risk difference, their
    standard errors (log OR, RD), intervals, and the CMH statistic and p-value.
    """

    outcome: str
    strata: tuple[str, ...]
    treatments: tuple[str, ...]
    control: str
    tables: pd.DataFrame
    estimates: pd.DataFrame
    alpha: float = 0.05
    correct: bool = False
    analysis: str = "itt_mantel_haenszel"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        return f"Mantel-Haenszel analysis of {display_label(self.outcome)} over {' x '.join(self.strata)}"

    def rows(self) -> tuple[Row, ...]:
        by = " x ".join(self.strata)
        out = []
        for e in self.estimates.itertuples():
            extra = {"strata": by, "n_strata": int(e.n_strata)}
            n = int(e.n)
            out.append(
                self._row(
                    e.contrast,
                    "risk_difference",
                    e.rd,
                    se=e.rd_se,
                    ci_low=e.rd_low,
                    ci_high=e.rd_high,
                    p_value=e.cmh_p,
                    method="Mantel-Haenszel risk difference, Sato (1989) variance; p from the CMH test",
                    n=n,
                    extra=extra,
                )
            )
            out.append(
                self._row(
                    e.contrast,
                    "odds_ratio",
                    e.odds_ratio,
                    se=e.log_or_se,
                    ci_low=e.or_low,
                    ci_high=e.or_high,
                    p_value=e.cmh_p,
                    method="Mantel-Haenszel odds ratio, Robins-Breslow-"
                    "Greenland variance (se on the log scale); p from the CMH test",
                    n=n,
                    extra=extra | {"se_scale": "log"},
                )
            )
            out.append(
                self._row(
                    e.contrast,
                    "cmh",
                    e.cmh,
                    p_value=e.cmh_p,
                    method="Cochran-Mantel-Haenszel test, 1 df"
                    + (", continuity correction" if self.correct else ", no continuity correction"),
                    n=n,
                    extra=extra,
                )
            )
        return tuple(out)


def mh_estimates(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n0: np.ndarray, alpha: float = 0.05, correct: bool = False
) -> dict[str, float]:
    """Mantel-Haenszel OR and RD with their variances and the CMH test from per-stratum counts."""
    from scipy import stats

    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    informative = (n1 > 0) & (n0 > 0)
    a, n1, c, n0 = a[informative], n1[informative], c[informative], n0[informative]
    if len(a) == 0:
        raise EstimationError(
            "no stratum has participants in both arms: the stratified contrast is undefined"
        )
    b, d, big_n = n1 - a, n0 - c, n1 + n0
    # odds ratio, Robins-Breslow-Greenland variance
    r, s = a * d / big_n, b * c / big_n
    p_, q_ = (a + d) / big_n, (b + c) / big_n
    r_sum, s_sum = r.sum(), s.sum()
    if r_sum > 0 and s_sum > 0:
        odds_ratio = r_sum / s_sum
        var_log = (
            (p_ * r).sum() / (2 * r_sum**2)
            + (p_ * s + q_ * r).sum() / (2 * r_sum * s_sum)
            + (q_ * s).sum() / (2 * s_sum**2)
        )
        log_se = float(np.sqrt(var_log))
        or_low, or_high = wald_interval(odds_ratio, log_se, alpha, log=True)
    else:  # no discordant information on one side: the MH odds ratio is 0 or infinite
        odds_ratio = 0.0 if r_sum == 0 and s_sum > 0 else (np.inf if s_sum == 0 and r_sum > 0 else np.nan)
        log_se, or_low, or_high = np.inf, 0.0, np.inf
    # risk difference, Sato variance
    w = n1 * n0 / big_n
    rd = float((w * (a / n1 - c / n0)).sum() / w.sum())
    p_sato = (n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / big_n**2
    q_sato = (a * (n0 - c) + c * (n1 - a)) / (2 * big_n)
    rd_var = (rd * p_sato.sum() + q_sato.sum()) / w.sum() ** 2
    rd_se = float(np.sqrt(max(rd_var, 0.0)))
    rd_low, rd_high = wald_interval(rd, rd_se, alpha)
    # CMH test
    m1, m0 = a + c, b + d
    expected = n1 * m1 / big_n
    with np.errstate(invalid="ignore", divide="ignore"):
        var_a = np.where(big_n > 1, n1 * n0 * m1 * m0 / (big_n**2 * (big_n - 1)), 0.0)
    deviation = abs((a - expected).sum()) - (0.5 if correct else 0.0)
    if var_a.sum() > 0:
        cmh = float(max(deviation, 0.0) ** 2 / var_a.sum())
        cmh_p = float(stats.chi2.sf(cmh, 1))
    else:  # every stratum has all events or none: no evidence of a difference
        cmh, cmh_p = 0.0, 1.0
    return {
        "odds_ratio": float(odds_ratio),
        "log_or_se": log_se,
        "or_low": float(or_low),
        "or_high": float(or_high),
        "rd": rd,
        "rd_se": rd_se,
        "rd_low": rd_low,
        "rd_high": rd_high,
        "cmh": cmh,
        "cmh_p": cmh_p,
        "n_strata": int(len(a)),
        "n": float((n1 + n0).sum()),
    }


@shared_params
def mantel_haenszel(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    strata: str | Sequence[str],
    correct: bool = False,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_mantel_haenszel",
) -> StratifiedComparison:
    """Cochran-Mantel-Haenszel risk difference, odds ratio and test over ``strata`` (module docstring).

    Parameters
    ----------
    @params data
    outcome
        The 0/1 outcome column.
    @params arm
    strata
        The stratum column, or several whose joint levels define the strata (``strata="site"`` is one
        column); complete, checked by the input gate. Required: there is no default stratification.
    correct
        Continuity correction of the CMH statistic (R's mantelhaen.test default is True).
    @params alpha missing id analysis
    """
    check_choice(correct, "correct", (False, True))
    strata = column_names(strata, "strata", allow_empty=False)
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        kind="binary",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
        vary=False,
        strata=strata,
    )
    y = prepared.y
    code, levels = prepared.sample.strata_codes()  # type: ignore[misc]  # strata are required
    tables, estimates, notes = [], [], []
    control_label = prepared.control
    in_control = prepared.arms == control_label
    n0 = np.bincount(code[in_control], minlength=len(levels))
    c = np.bincount(code[in_control], weights=y[in_control], minlength=len(levels))
    for t in prepared.treatments:
        label = contrast_label(t, control_label)
        in_t = prepared.arms == t
        table = pd.DataFrame(
            {
                "contrast": label,
                "stratum": levels,
                "a": np.bincount(code[in_t], weights=y[in_t], minlength=len(levels)).astype(int),
                "n1": np.bincount(code[in_t], minlength=len(levels)),
                "c": c.astype(int),
                "n0": n0,
            }
        )
        empty = table[(table.n1 == 0) | (table.n0 == 0)]
        if len(empty):
            names = ", ".join(empty.stratum)
            carry = "carries" if len(empty) == 1 else "carry"
            notes.append(
                f"{label}: {plural(len(empty), 'stratum', 'strata')} with one arm empty {carry} no weight "
                f"({names})"
            )
        est = mh_estimates(table.a, table.n1, table.c, table.n0, alpha, correct)
        tables.append(table)
        estimates.append({"contrast": label, **est})
    return StratifiedComparison(
        outcome=outcome,
        strata=strata,
        treatments=prepared.treatments,
        control=control_label,
        tables=pd.concat(tables, ignore_index=True),
        estimates=pd.DataFrame(estimates),
        alpha=alpha,
        correct=correct,
        analysis=analysis,
        notes=tuple(notes),
        inputs=prepared.inputs,
    )
