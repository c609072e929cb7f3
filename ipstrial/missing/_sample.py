"""The rows the missing-data estimators analyse: the input gate with the outcome's missing values kept.

Every estimator of :mod:`ipstrial.missing` passes its data through :func:`ipstrial._inputs.gate` with
``keep_missing=[outcome]`` (the missing outcomes are what these estimators handle) and, for multiple
imputation, ``covariates_may_be_missing=True``. On top of the gate's checks (ids, arms, near-miss labels,
outcome values, covariates that are finite numbers or labels) this module refuses what imputation cannot
do: a text, categorical or True/False covariate with missing values (only numeric covariates are imputed),
a numeric covariate without any known value in an arm, and an arm without any observed outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._inputs import Sample, SampleView, design_matrix, gate
from ipstrial.errors import ParameterError, Problem, TrialDataError


@dataclass(frozen=True, eq=False)
class Setup(SampleView):
    """The checked rows of the compared arms, the outcome possibly missing (NaN in ``y``)."""

    sample: Sample
    outcome: str
    covariates: tuple[str, ...]
    y: np.ndarray
    X: np.ndarray
    columns: tuple[str, ...]
    imputed_covariates: tuple[str, ...]

    @property
    def control(self) -> str:
        return self.sample.control  # type: ignore[return-value]

    @property
    def missing(self) -> dict[str, int]:
        """Missing outcomes per arm, in display order."""
        gone = np.isnan(self.y)
        return {a: int(np.sum(gone & (self.arms == a))) for a in self.order}


def _numeric(series: pd.Series) -> bool:
    """A numeric covariate (imputed by PMM), not True/False and not categorical."""
    dtype = series.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
    )


def setup(
    data: Any,
    outcome: str,
    arm: str | None,
    treatment: Any,
    control: Any,
    *,
    covariates: str | Sequence[str] | None,
    kind: str,
    id: str | None,
    impute_covariates: bool,
    need_observed: bool,
) -> Setup:
    """Check the inputs through the gate (missing outcomes kept) and build the covariate design.

    With ``impute_covariates``, numeric covariates may have missing values (they are imputed); text,
    categorical and True/False covariates must be complete. ``need_observed``: every arm needs an
    observed outcome (imputation is separate by arm).
    """
    if not isinstance(outcome, str):
        raise ParameterError(f"outcome must be a column name (str), got {outcome!r}")
    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        outcomes={outcome: kind},
        covariates=covariates,
        keep_missing=[outcome],
        covariates_may_be_missing=impute_covariates,
    )
    frame, arms, who = sample.frame, sample.arms, sample.who
    y = sample.values[outcome]
    problems: list[Problem] = []
    imputed: list[str] = []
    for column in sample.covariates:
        values = frame[column]
        gone = values.isna().to_numpy()
        if not gone.any():
            continue
        if not _numeric(values):
            problems.append(
                Problem(
                    column,
                    f"{plural(int(gone.sum()), 'missing value')} in a covariate that is not numeric (text, "
                    "categorical or True/False)",
                    "only numeric covariates are imputed: complete it before the analysis (e.g. add a "
                    "'missing' level, or code it as numbers) or drop it from covariates",
                    **who.offending(gone),
                )
            )
            continue
        empty = [a for a in sample.compared if np.all(gone[arms == a])]
        if empty:
            problems.append(
                Problem(
                    column,
                    f"no known value in arm(s) {empty}",
                    "imputation is separate by arm and needs observed values in every arm: drop the "
                    "covariate",
                    **who.offending(gone & np.isin(arms, empty)),
                )
            )
            continue
        imputed.append(column)
    if need_observed:
        for label in sample.compared:
            if np.all(np.isnan(y[arms == label])):
                problems.append(
                    Problem(
                        outcome,
                        f"no participant with a known outcome in arm {label!r}",
                        "multiple imputation is separate by arm and needs observed outcomes in every arm; "
                        "use ipstrial.missing.bounds",
                    )
                )
    if problems:
        raise TrialDataError(problems)
    if sample.covariates:
        design = design_matrix(frame, sample.covariates)
        X = design.to_numpy(dtype=float, na_value=np.nan)
        columns = tuple(str(c) for c in design.columns)
    else:
        X, columns = np.empty((len(frame), 0)), ()
    return Setup(
        sample=sample,
        outcome=outcome,
        covariates=sample.covariates,
        y=y,
        X=X,
        columns=columns,
        imputed_covariates=tuple(imputed),
    )
