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

from ipstrial._checks import column_name
from ipstrial._columns import is_numeric_dtype, plural
from ipstrial._inputs import Prepared, design_matrix, gate
from ipstrial.errors import Problem, TrialDataError


@dataclass(frozen=True, eq=False)
class Setup(Prepared):
    """The checked rows of the compared arms (a :class:`~ipstrial._inputs.Prepared`), the outcome possibly
    missing (NaN in ``y``), with the covariate design ``X`` (NaN where a covariate is missing) and the
    numeric covariates whose missing values are imputed."""

    X: np.ndarray
    imputed_covariates: tuple[str, ...]

    @property
    def missing(self) -> dict[str, int]:
        """Missing outcomes per arm, in display order."""
        gone = np.isnan(self.y)
        return {a: int(np.sum(gone & (self.arms == a))) for a in self.order}


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
    outcome = column_name(outcome, "outcome")
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
        if not is_numeric_dtype(values.dtype):
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
    X = design_matrix(frame, sample.covariates).to_numpy(dtype=float, na_value=np.nan)
    return Setup(sample=sample, outcome=outcome, X=X, imputed_covariates=tuple(imputed))
