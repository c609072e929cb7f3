"""What the two models with one indicator per treatment arm share: :func:`ipstrial.survival.cox` and
:func:`ipstrial.survival.fine_gray`.

* :func:`model_matrix` -- the treatment indicators (``arm:label``, the control the reference) and the
  covariates' design columns (:func:`ipstrial._inputs.design_matrix`), refusing collinear columns;
* :func:`arm_events` -- participants, events of interest, competing events and censorings per arm;
* :func:`check_separation` and :func:`separation_candidates` -- the monotone-likelihood check run before
  either model is fitted (the rule is in the docstring of :mod:`ipstrial.survival.cox`; Bryson & Johnson
  1981, Biometrika 68:419; Heinze & Schemper 2001, Biometrics 57:114);
* :func:`coefficient_table` -- Wald intervals and p-values of the coefficients, as hazard ratios;
* :class:`ArmModelResult` -- what both results read off their coefficient tables per treatment arm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._inputs import design_matrix
from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.results import Result, contrast_label
from ipstrial.survival._inputs import SurvivalData

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ipstrial.results import Row

__all__ = [
    "ArmModelResult",
    "arm_events",
    "check_separation",
    "coefficient_table",
    "model_matrix",
    "separation_candidates",
]


# ---------------------------------------------------------------------------------------------
# the model columns and the counts per arm
# ---------------------------------------------------------------------------------------------


def model_matrix(
    sd: SurvivalData, treatments: Sequence[str], covariates: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Treatment indicators (``arm:label``) and the covariates' design columns, and each term's columns.

    Raises a TrialDataError when the columns are collinear (with an intercept).
    """
    indicators = pd.DataFrame(
        {f"{sd.arm}:{a}": (sd.arms == a).astype(float) for a in treatments}, index=sd.frame.index
    )
    design = design_matrix(sd.frame, tuple(covariates))
    x = pd.concat([indicators, design], axis=1)
    names = list(x.columns)
    terms: dict[str, list[int]] = {sd.arm: list(range(len(treatments)))}
    for column in covariates:
        terms[column] = [i for i, nm in enumerate(names) if nm == column or nm.startswith(f"{column}:")]
    matrix = x.to_numpy(dtype=float)
    rank = np.linalg.matrix_rank(np.column_stack([np.ones(len(matrix)), matrix]))
    if rank < matrix.shape[1] + 1:
        raise TrialDataError(
            f"the model columns {names} are collinear (rank {rank - 1} of {matrix.shape[1]}): a covariate "
            "duplicates the arm indicators or another covariate; drop it from covariates="
        )
    return x, terms


def arm_events(sd: SurvivalData) -> pd.DataFrame:
    """Per arm: ``arm, n, events, competing, censored``."""
    status, competing = sd.status, sd.competing
    return pd.DataFrame(
        {
            "arm": list(sd.groups),
            "n": [sd.n_of(a) for a in sd.groups],
            "events": [int(np.sum(status[sd.arms == a])) for a in sd.groups],
            "competing": [int(np.sum(competing[sd.arms == a])) for a in sd.groups],
            "censored": [int(np.sum((sd.event == 0) & (sd.arms == a))) for a in sd.groups],
        }
    )


def coefficient_table(names: Sequence[str], beta: np.ndarray, se: np.ndarray, alpha: float) -> pd.DataFrame:
    """``term, coef, se, hazard_ratio, ci_low, ci_high, z, p_value`` with Wald intervals and p-values."""
    from scipy import stats

    zq = float(stats.norm.ppf(1 - alpha / 2))
    return pd.DataFrame(
        {
            "term": list(names),
            "coef": beta,
            "se": se,
            "hazard_ratio": np.exp(beta),
            "ci_low": np.exp(beta - zq * se),
            "ci_high": np.exp(beta + zq * se),
            "z": beta / se,
            "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
        }
    )


class ArmModelResult(Result):
    """The per-arm reading of a model result whose ``coefficients`` hold one ``arm:label`` term per
    treatment (the columns of :func:`coefficient_table`): its ratio and its row vs the control."""

    arm: str
    treatments: tuple[str, ...]
    control: str
    coefficients: pd.DataFrame

    def _arm_coefficient(self, label: str, table: pd.DataFrame | None = None) -> pd.Series:
        """The row of treatment ``label`` (term ``arm:label``) in ``table`` (the coefficients when None)."""
        table = self.coefficients if table is None else table
        row = table.loc[table.term == f"{self.arm}:{label}"]
        if row.empty:
            raise KeyError(f"{label!r} is not a treatment arm of this model; arms: {self.treatments}")
        return row.iloc[0]

    def _arm_ratio(self, treatment: str | None) -> float:
        """The ratio of one treatment arm (the first when ``None``) vs the control."""
        label = self.treatments[0] if treatment is None else treatment
        return float(self._arm_coefficient(label).hazard_ratio)

    def _ratio_row(self, label: str, estimand: str, c: pd.Series, **fields: Any) -> Row:
        """The row of treatment ``label`` vs the control: the ratio of coefficient row ``c``, its Wald
        interval and p-value."""
        return self._row(
            contrast_label(label, self.control),
            estimand,
            float(c.hazard_ratio),
            ci_low=float(c.ci_low),
            ci_high=float(c.ci_high),
            p_value=float(c.p_value),
            **fields,
        )


# ---------------------------------------------------------------------------------------------
# separation
# ---------------------------------------------------------------------------------------------


def _monotone(
    time: np.ndarray, status: np.ndarray, v: np.ndarray, strata: np.ndarray, stay: np.ndarray | None = None
) -> tuple[bool, bool]:
    """Whether the partial likelihood increases without bound as the coefficient of ``v`` goes to +inf
    (first) or -inf (second): at every event time the participant with the event has the largest (the
    smallest) ``v`` among those at risk, within strata, and for some event someone at risk differs.

    ``stay`` flags participants who stay in the risk set after their time (the competing events of the
    Fine-Gray model, whose weights are positive); None for the Cox model.
    """
    up = down = True
    up_strict = down_strict = False
    for s in np.unique(strata):
        keep = strata == s
        t, e, z = time[keep], status[keep] > 0, v[keep]
        if not e.any():
            continue
        times, idx = np.unique(t, return_inverse=True)
        high = np.full(times.size, -np.inf)
        low = np.full(times.size, np.inf)
        np.maximum.at(high, idx, z)
        np.minimum.at(low, idx, z)
        high = np.maximum.accumulate(high[::-1])[::-1][idx[e]]
        low = np.minimum.accumulate(low[::-1])[::-1][idx[e]]
        if stay is not None and stay[keep].any():
            # those who left before the event time but stay in the risk set: prefix extremes by time
            kept = stay[keep]
            order = np.argsort(t[kept], kind="stable")
            t_stay, z_stay = t[kept][order], z[kept][order]
            before = np.searchsorted(t_stay, t[e], side="left")  # how many stayers left strictly before
            prefix_high = np.concatenate([[-np.inf], np.maximum.accumulate(z_stay)])[before]
            prefix_low = np.concatenate([[np.inf], np.minimum.accumulate(z_stay)])[before]
            high = np.maximum(high, prefix_high)
            low = np.minimum(low, prefix_low)
        ze = z[e]
        up &= bool(np.all(ze >= high))
        down &= bool(np.all(ze <= low))
        up_strict |= bool(np.any(ze > low))
        down_strict |= bool(np.any(ze < high))
    return up and up_strict, down and down_strict


def check_separation(
    time: np.ndarray,
    status: np.ndarray,
    candidates: Sequence[tuple[str, str | None, np.ndarray]],
    strata: np.ndarray | None = None,
    model: str = "the Cox model",
    stay: np.ndarray | None = None,
) -> None:
    """Raise an EstimationError naming the first candidate in which the partial likelihood is monotone.

    ``candidates`` are ``(column, level, values)``: ``level`` None for a numeric column, else the
    values are the 0/1 indicator of that level of ``column`` (the rule: :mod:`ipstrial.survival.cox`).
    ``stay`` flags participants who stay at risk after their time (Fine-Gray's competing events).
    """
    codes = (
        np.zeros(len(time), dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
    )
    for column, level, values in candidates:
        v = np.asarray(values, dtype=float)
        up, down = _monotone(time, status, v, codes, stay)
        if not (up or down):
            continue
        within = " within every stratum" if strata is not None else ""
        if level is None:
            how = "largest" if up else "smallest"
            what = (
                f"{column}: at every event time{within} the participant with the event has the {how} "
                f"{column} of those at risk, so the hazard ratio per unit of {column} is "
                + ("infinite" if up else "0")
            )
        else:
            member = v > 0
            if up:
                all_events = bool(np.all(status[member] > 0))
                what = (
                    f"{column} = {level}: every participant of this level has the event"
                    + ("" if all_events else " or is censored")
                    + f" before any participant of another level has one{within}, so its hazard ratio is "
                    "infinite"
                )
            else:
                none = not bool(np.any(status[member] > 0))
                what = (
                    f"{column} = {level}: "
                    + (
                        "no participant of this level has the event"
                        if none
                        else f"no participant of this level has the event while participants of other levels "
                        f"are at risk{within}"
                    )
                    + ", so its hazard ratio is 0"
                )
        r_says = (
            "R's coxph would warn that the coefficient may be infinite"
            if stay is None
            else "cmprsk::crr would not converge"
        )
        raise EstimationError(
            f"{model} has no finite estimate (separation: the partial likelihood increases without bound): "
            f"{what}. {r_says}. Merge the level with another, drop the covariate, or compare the arms with "
            "the log-rank test or RMST"
        )


def separation_candidates(
    sd: SurvivalData, treatments: Sequence[str], covariates: Sequence[str]
) -> list[tuple[str, str | None, np.ndarray]]:
    """Each arm, each level of each categorical covariate and each numeric covariate (check_separation)."""
    out: list[tuple[str, str | None, np.ndarray]] = [
        (sd.arm, a, (sd.arms == a).astype(float)) for a in (*treatments, sd.control) if a is not None
    ]
    for column in covariates:
        series = sd.frame[column]
        numeric = pd.api.types.is_bool_dtype(series) or (
            pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype)
        )
        if numeric:
            out.append((column, None, series.to_numpy(dtype=float)))
        else:
            for level in sorted(pd.unique(series.dropna()), key=str):
                out.append((column, str(level), (series == level).to_numpy(dtype=float)))
    return out
