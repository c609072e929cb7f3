"""A study's table: its columns, and the formulas that summarise the records of each estimator and contrast.

The formulas are those of :mod:`ipstrial.validation._engine` (Morris, White & Crowther, "Using simulation
studies to evaluate statistical methods", Stat Med 2019;38:2074-2102, table 6). A record that cannot be
summarised (:data:`NO_FINITE_ESTIMATE`, :data:`NO_FINITE_P_VALUE`) is marked as failed first, so that it is
counted in ``failed`` and left out of every summary.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["COLUMNS", "NO_FINITE_ESTIMATE", "NO_FINITE_P_VALUE", "RATIOS", "mark_unusable", "summarise"]

RATIOS: frozenset[str] = frozenset({"hazard_ratio", "rate_ratio", "risk_ratio", "odds_ratio"})
"""Estimands whose bias and standard errors are reported on the log scale (their intervals' scale)."""

COLUMNS: tuple[str, ...] = (
    "scenario",
    "estimator",
    "contrast",
    "truth",
    "bias",
    "empirical_se",
    "mean_se",
    "coverage",
    "coverage_mcse",
    "rejection_rate",
    "reps",
    "failed",
)
"""The columns of a study's table (and of ``ipstrial validate --out``)."""

NO_FINITE_ESTIMATE = "no finite estimate or interval"
"""The failure of a record of an estimator with a truth whose estimate, ``ci_low`` or ``ci_high`` is not
finite (NaN or infinite)."""

NO_FINITE_P_VALUE = "no finite p-value"
"""The failure of a record of a test without a truth (``has_truth=False``) whose p-value is not finite."""


def mark_unusable(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` with the records that cannot be summarised marked as failed (their ``error`` set).

    A record of an estimator with a truth needs a finite estimate, ``ci_low`` and ``ci_high``
    (:data:`NO_FINITE_ESTIMATE`); one of a test without a truth needs a finite p-value
    (:data:`NO_FINITE_P_VALUE`). A record whose call raised keeps its reason.
    """
    from ipstrial.validation._estimators import ESTIMATORS

    ok = (records.error == "").to_numpy()
    truth = records.estimator.map(lambda key: ESTIMATORS[key].has_truth).to_numpy(dtype=bool)
    finite = np.isfinite(records[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float)).all(axis=1)
    tested = np.isfinite(records.p_value.to_numpy(dtype=float))
    out = records.copy()
    out.loc[ok & truth & ~finite, "error"] = NO_FINITE_ESTIMATE
    out.loc[ok & ~truth & ~tested, "error"] = NO_FINITE_P_VALUE
    return out


def summarise(records: pd.DataFrame, truth: pd.Series, name: str, alpha: float) -> pd.DataFrame:
    """The table: one row per estimator and contrast, by the formulas of the module docstring.

    ``failed`` counts the replicates whose call raised (a record without a contrast) or whose record of this
    contrast failed (:func:`mark_unusable`); the others, ``reps``, are summarised.
    """
    import pandas as pd

    from ipstrial.validation._estimators import ESTIMATORS

    rows = []
    for key in dict.fromkeys(records.estimator):
        est = ESTIMATORS[key]
        mine = records[records.estimator == key]
        raised = set(mine.rep[(mine.error != "") & (mine.contrast == "")])
        for contrast in dict.fromkeys(mine.contrast[mine.contrast != ""]):
            every = mine[mine.contrast == contrast]
            part = every[every.error == ""]
            failed = len(raised | set(every.rep[every.error != ""]))
            theta = truth.get((est.outcome, est.estimand, contrast), math.nan) if est.has_truth else math.nan
            x = part.estimate.to_numpy(dtype=float)
            centre = theta
            if est.estimand in RATIOS:  # bias and SEs of the log ratio
                x, centre = np.log(x), math.log(theta) if math.isfinite(theta) and theta > 0 else math.nan
            r = len(part)
            covered = (part.ci_low.to_numpy() <= theta) & (theta <= part.ci_high.to_numpy())
            coverage = float(covered.mean()) if math.isfinite(theta) and r else math.nan
            se = part.se.to_numpy(dtype=float)  # NaN where an estimator gives no SE (no log SE of a ratio)
            p = part.p_value.to_numpy(dtype=float)  # a per-arm estimate has no test: NaN
            rows.append(
                {
                    "scenario": name,
                    "estimator": key,
                    "contrast": contrast,
                    "truth": theta,
                    "bias": float(x.mean() - centre) if math.isfinite(centre) and r else math.nan,
                    # a test without a truth: its "estimate" is the test statistic, not an estimator
                    "empirical_se": float(x.std(ddof=1)) if est.has_truth and r > 1 else math.nan,
                    "mean_se": float(np.nanmean(se)) if est.has_truth and np.isfinite(se).any() else math.nan,
                    "coverage": coverage,
                    "coverage_mcse": math.sqrt(coverage * (1 - coverage) / r)
                    if math.isfinite(coverage)
                    else math.nan,
                    "rejection_rate": float((p < alpha).mean()) if np.isfinite(p).any() else math.nan,
                    "reps": r,
                    "failed": failed,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))
