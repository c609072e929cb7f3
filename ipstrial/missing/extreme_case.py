"""Worst-case and best-case bounds: the missing outcomes set to the extremes against each arm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_choice, check_number
from ipstrial._docs import shared_params
from ipstrial.errors import EstimationError, ParameterError, Problem, TrialDataError
from ipstrial.missing._rows import estimate_row
from ipstrial.missing._sample import setup
from ipstrial.results import Result, Row, contrast_label
from ipstrial.stats.means import wald_risk_difference, welch

__all__ = ["BoundsResult", "bounds"]

SCENARIOS = ("worst", "best")


@dataclass(frozen=True, eq=False)
class BoundsResult(Result):
    """Worst-case and best-case sensitivity bounds for missing outcomes.

    Attributes
    ----------
    outcome, kind, treatments, control
        What was analysed.
    table
        One line per contrast and scenario: ``contrast, scenario, imputed_treatment, imputed_control,
        estimate, se, ci_low, ci_high, p_value, df``.
    missing, n
        Missing outcomes and participants per arm.
    method
        What was done, in words.
    analysis
        The ARD analysis name of every row.
    """

    outcome: str
    kind: str
    treatments: tuple[str, ...]
    control: str
    table: pd.DataFrame
    missing: dict[str, int]
    n: dict[str, int]
    method: str
    alpha: float = 0.05
    analysis: str = "missing_bounds"

    def rows(self) -> tuple[Row, ...]:
        """One row per contrast (treatment order) and scenario, ``variant`` ``"worst"`` or ``"best"``."""
        estimand = "risk_difference" if self.kind == "binary" else "mean_difference"
        treatment_of = {contrast_label(t, self.control): t for t in self.treatments}
        return tuple(
            estimate_row(
                self,
                line,
                line.contrast,
                estimand,
                treatment_of[line.contrast],
                self.control,
                variant=line.scenario,
                extra={"imputed_treatment": line.imputed_treatment, "imputed_control": line.imputed_control},
            )
            for line in self.table.itertuples(index=False)
        )


@shared_params
def bounds(
    data: Any,
    outcome: str,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    kind: Literal["binary", "continuous"] = "binary",
    low: float | None = None,
    high: float | None = None,
    alpha: float = 0.05,
    id: str | None = None,
    analysis: str = "missing_bounds",
) -> BoundsResult:
    """Worst-case and best-case bounds: the missing outcomes set to the extremes against each arm.

    Binary outcome: worst case, every missing outcome in the treatment arm a failure (0) and in the
    control arm a success (1); best case the reverse (the extreme-case analysis of Gamble &
    Hollis 2005, Stat Med 24:1279; Horowitz & Manski 2000, JASA 95:77 for the identification
    bounds). Continuous outcome: worst case, missing values in the treatment arm at ``low`` and in
    the control arm at ``high``; best case the reverse. ``low`` and ``high`` default to the minimum
    and maximum observed value in the compared arms.

    Each scenario is analysed as complete data: binary, the risk difference with the Wald
    interval ``(p_T - p_C) ± z_{1-α/2} sqrt(p_T(1-p_T)/n_T + p_C(1-p_C)/n_C)``
    (:func:`ipstrial.stats.means.wald_risk_difference`; Newcombe 1998, method 1); continuous, the mean
    difference with the Welch (1947) t interval (:func:`ipstrial.stats.means.welch`).

    This estimator handles missing outcomes itself, so it takes no ``missing=`` policy: every participant
    of the compared arms is analysed (an arm may even have no observed outcome).

    Parameters
    ----------
    @params data
    outcome
        The outcome column (missing values allowed).
    @params arm
    kind
        ``"binary"`` (0/1) or ``"continuous"``.
    low, high
        The extremes of a continuous outcome (default: the smallest and largest observed value in the
        compared arms); not allowed for a binary outcome (0 and 1).
    @params alpha id analysis
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    kind = check_choice(kind, "kind", ("binary", "continuous"))
    if kind == "binary":
        for name, value in (("low", low), ("high", high)):
            if value is not None:
                raise ParameterError(f"{name}= is only for continuous outcomes (binary bounds use 0 and 1)")
    low = None if low is None else check_number(low, "low")
    high = None if high is None else check_number(high, "high")
    setup_ = setup(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates=None,
        kind=kind,
        id=id,
        impute_covariates=False,
        need_observed=False,
    )
    y, arms = setup_.y, setup_.arms
    gone = np.isnan(y)
    if kind == "binary":
        lo_value, hi_value = 0.0, 1.0
    else:
        observed = y[~gone]
        if observed.size == 0 and (low is None or high is None):
            raise TrialDataError(
                [
                    Problem(
                        outcome,
                        "no observed outcome in the compared arms",
                        "give the extremes as low= and high=, or check the outcome column",
                    )
                ]
            )
        lo_value = float(np.min(observed)) if low is None else low
        hi_value = float(np.max(observed)) if high is None else high
        if lo_value > hi_value:
            raise ParameterError(f"low ({lo_value:g}) must not exceed high ({hi_value:g})")
    records = []
    for treatment_arm in setup_.treatments:
        label = contrast_label(treatment_arm, setup_.control)
        t_vals, c_vals = y[arms == treatment_arm], y[arms == setup_.control]
        for scenario, t_fill, c_fill in (("worst", lo_value, hi_value), ("best", hi_value, lo_value)):
            t_done = np.where(np.isnan(t_vals), t_fill, t_vals)
            c_done = np.where(np.isnan(c_vals), c_fill, c_vals)
            if kind == "binary":
                two = wald_risk_difference(t_done, c_done, alpha)
            else:
                if min(len(t_done), len(c_done)) < 2:
                    raise EstimationError(
                        f"the Welch interval needs at least 2 participants per arm ({label})"
                    )
                two = welch(t_done, c_done, alpha)
            records.append(
                (
                    label,
                    scenario,
                    t_fill,
                    c_fill,
                    two.estimate,
                    two.se,
                    two.ci_low,
                    two.ci_high,
                    two.p_value,
                    two.df,
                )
            )
    table = pd.DataFrame.from_records(
        records,
        columns=[
            "contrast",
            "scenario",
            "imputed_treatment",
            "imputed_control",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "p_value",
            "df",
        ],
    )
    if kind == "binary":
        method = (
            "extreme-case bounds: missing outcomes set to 0 in the treatment arm and 1 in the control arm "
            "(worst) or the reverse (best); risk difference with Wald interval (not Newcombe's)"
        )
    else:
        method = (
            f"extreme-case bounds: missing outcomes set to {lo_value:g} in the treatment arm and "
            f"{hi_value:g} in the control arm (worst) or the reverse (best); mean difference with "
            "Welch t interval"
        )
    return BoundsResult(
        outcome=outcome,
        kind=kind,
        treatments=setup_.treatments,
        control=setup_.control,
        table=table,
        missing=setup_.missing,
        n=setup_.n_by_arm,
        method=method,
        alpha=alpha,
        analysis=analysis,
        inputs=setup_.inputs,
    )
