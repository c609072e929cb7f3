"""Shared input checks for the estimators: the compared arms, the outcome, covariates, missing data.

Every estimator calls :func:`prepare` first. It never drops a row silently: a missing outcome
without a policy is an error listing the counts per arm and the policies to choose from; with
``missing="complete-case"`` the excluded participants are counted per arm and reported in the
result's rows. Errors are :class:`~ipstrial.errors.TrialDataError` naming the column, up to five
participant ids and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipstrial.errors import Problem, TrialDataError, offending_ids

OutcomeKind = Literal["binary", "continuous", "count"]
MISSING_POLICIES = ("complete-case",)
POLICY_HELP = (
    "choose a policy: missing='complete-case' (excluded participants are counted per arm in the result), "
    "or ipstrial.missing.multiple_imputation(...), ipstrial.missing.bounds(...) (worst/best case) or "
    "ipstrial.missing.tipping_point(...)"
)


@dataclass(frozen=True, eq=False)
class Prepared:
    """The rows an estimator uses: only the compared arms, in data order, outcome present.

    ``excluded`` counts the participants left out per arm under ``missing="complete-case"``
    (zero for every arm otherwise); ``n_by_arm`` counts those analysed.
    """

    frame: pd.DataFrame
    outcome: str
    arm: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    y: np.ndarray
    arms: np.ndarray
    ids: pd.Series
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def compared(self) -> tuple[str, ...]:
        """The arms in the analysis: treatments first, then the control."""
        return (*self.treatments, self.control)

    @property
    def n_by_arm(self) -> dict[str, int]:
        """Participants analysed per arm."""
        return {a: int(np.sum(self.arms == a)) for a in self.compared}

    def arm_values(self, label: str) -> np.ndarray:
        """The outcome values of one arm."""
        return self.y[self.arms == label]

    @property
    def missing_note(self) -> str:
        """A sentence on the excluded participants, or an empty string."""
        if not any(self.excluded.values()):
            return ""
        parts = ", ".join(f"{a} {k}" for a, k in self.excluded.items())
        total = sum(self.excluded.values())
        return f"complete case: {total} participants with missing {self.outcome} excluded ({parts})"


def as_labels(treatment: str | Sequence[str]) -> tuple[str, ...]:
    """A treatment label or a list of them, as a tuple."""
    if isinstance(treatment, str) or not isinstance(treatment, Sequence):
        return (treatment,)  # type: ignore[return-value]
    return tuple(treatment)


def id_series(data: pd.DataFrame, id: str | None) -> pd.Series:
    """Participant ids as strings: the ``id`` column if present, else the row labels."""
    if id is not None and id in data.columns:
        return data[id].astype(str)
    return pd.Series(data.index.astype(str), index=data.index)


def require_frame(data: object) -> None:
    """Raise a TrialDataError unless ``data`` is a pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise TrialDataError(
            [
                Problem(
                    None,
                    f"expected a pandas DataFrame, got {type(data).__name__}",
                    "pass one row per participant as a DataFrame",
                )
            ]
        )


def absent_columns(data: pd.DataFrame, role: dict[str, str]) -> Problem | None:
    """A problem naming the columns of ``role`` (column -> its role) absent from ``data``, or None.

    The message lists the columns that exist, so a misspelt name is easy to spot.
    """
    missing = [c for c in role if c not in data.columns]
    if not missing:
        return None
    existing = ", ".join(repr(str(c)) for c in list(data.columns)[:30])
    named = ", ".join(f"{c!r} ({role[c]})" for c in missing)
    return Problem(
        None,
        f"column{'s' if len(missing) > 1 else ''} not found: {named}; the data has {existing}",
        "pass the names of existing columns",
        (),
        len(missing),
    )


def check_arms(data: pd.DataFrame, arm: str, treatments: tuple[str, ...], control: str) -> None:
    """The compared arm labels: distinct, present in ``data[arm]``, each with participants."""
    labels = [*treatments, control]
    if control in treatments:
        raise TrialDataError(
            [
                Problem(
                    arm,
                    f"treatment and control are the same arm {control!r}",
                    "compare two different arms, e.g. treatment='IPS', control='SAU'",
                )
            ]
        )
    duplicated = sorted({t for t in treatments if treatments.count(t) > 1})
    if duplicated:
        raise TrialDataError(
            [Problem(arm, f"treatment arms listed twice: {duplicated}", "list each arm once")]
        )
    present = data[arm].dropna()
    counts = present.value_counts()
    found = list(pd.unique(present))
    problems = []
    for label in labels:
        if label not in counts.index or counts[label] == 0:
            what = (
                "has no participants"
                if label in found
                or (isinstance(data[arm].dtype, pd.CategoricalDtype) and label in data[arm].cat.categories)
                else "is not an arm label in the data"
            )
            problems.append(
                Problem(
                    arm,
                    f"arm {label!r} {what}; the arms in the data are {found}",
                    "name arms that have participants (check spelling and case, and any filter "
                    "applied to the data)",
                )
            )
    if problems:
        raise TrialDataError(problems)


def prepare(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    covariates: Sequence[str] = (),
    *,
    kind: OutcomeKind = "binary",
    missing: str | None = None,
    id: str | None = "participant_id",
    extra: Sequence[str] = (),
) -> Prepared:
    """Check the inputs of an estimator and return the rows it analyses.

    ``kind`` is ``binary`` (0/1 or bool), ``continuous`` (finite numbers) or ``count``
    (non-negative whole numbers). ``extra`` names further columns the estimator needs complete
    (e.g. strata). Missing covariates are an error (the estimators make no silent choice about
    them): impute baseline covariates before the analysis, e.g. by the arm-blind mean, as
    recommended for baseline covariates by the FDA (2023) guidance on covariate adjustment.
    """
    require_frame(data)
    treatments = as_labels(treatment)
    covariates = tuple(covariates)
    role = {outcome: "outcome", arm: "arm"} | {c: "covariate" for c in covariates}
    role |= {c: "stratum or subgroup column" for c in extra}
    absent = absent_columns(data, role)
    if absent:
        raise TrialDataError([absent])
    if missing is not None and missing not in MISSING_POLICIES:
        raise ValueError(
            f"missing={missing!r} is not a policy here; use None (error on missing outcomes) or "
            f"one of {MISSING_POLICIES}, or the functions of ipstrial.missing"
        )
    check_arms(data, arm, treatments, control)
    ids_all = id_series(data, id)
    rows = data[arm].isin([*treatments, control]).to_numpy()
    frame = data.loc[rows]
    ids = ids_all.loc[rows]
    problems: list[Problem] = []

    values = (
        pd.to_numeric(frame[outcome], errors="coerce") if frame[outcome].dtype != bool else frame[outcome]
    )
    values = values.astype(float)
    bad_type = frame[outcome].notna().to_numpy() & values.isna().to_numpy()
    if bad_type.any():
        shown, count = offending_ids(ids, bad_type)
        problems.append(
            Problem(
                outcome, f"{count} non-numeric outcome values", "code the outcome as numbers", shown, count
            )
        )
    y = values.to_numpy()
    known = ~np.isnan(y)
    if kind == "binary":
        bad = known & ~np.isin(y, (0.0, 1.0))
        fix = "code the binary outcome as 1 = yes and 0 = no"
    elif kind == "count":
        bad = known & ((y < 0) | (y != np.floor(y)) | ~np.isfinite(y))
        fix = "counts must be non-negative whole numbers"
    else:
        bad = known & ~np.isfinite(y)
        fix = "outcomes must be finite numbers; set unknown values to missing (NaN)"
    if bad.any():
        shown, count = offending_ids(ids, bad)
        found = ", ".join(map(str, pd.unique(y[bad])[:5]))
        problems.append(
            Problem(outcome, f"{count} values not allowed for a {kind} outcome ({found})", fix, shown, count)
        )
    covariate_fix = (
        "impute baseline covariates before the analysis (e.g. the arm-blind mean or a missing-indicator "
        "level, FDA 2023 covariate-adjustment guidance) or drop the column from the model"
    )
    grouping_fix = (
        "fill in the values (strata and subgroups define the analysis and are not imputed; take them from "
        "the randomisation record)"
    )
    for column in (*covariates, *extra):
        gone = frame[column].isna().to_numpy()
        if gone.any():
            shown, count = offending_ids(ids, gone)
            fix = covariate_fix if role[column] == "covariate" else grouping_fix
            problems.append(Problem(column, f"{count} missing values in a {role[column]}", fix, shown, count))
    if problems:
        raise TrialDataError(problems)

    gone = np.isnan(y) & ~bad_type
    arms = frame[arm].to_numpy()
    labels = (*treatments, control)
    excluded = {a: 0 for a in labels}
    if gone.any():
        per_arm = {a: int(np.sum(gone & (arms == a))) for a in labels}
        if missing is None:
            shown, count = offending_ids(ids, gone)
            counts = ", ".join(f"{a} {k}" for a, k in per_arm.items())
            raise TrialDataError(
                [Problem(outcome, f"{count} missing outcome values ({counts})", POLICY_HELP, shown, count)]
            )
        excluded = per_arm
        keep = ~gone
        frame, ids, y, arms = frame.loc[keep], ids.loc[keep], y[keep], arms[keep]
        empty = [a for a in labels if not np.any(arms == a)]
        if empty:
            raise TrialDataError(
                [
                    Problem(
                        outcome,
                        f"no participant with a known outcome in arm(s) {empty}",
                        "complete case analysis needs outcomes in every arm; use "
                        "ipstrial.missing.bounds (no model can impute an arm without any observed outcome)",
                    )
                ]
            )
    return Prepared(frame, outcome, arm, treatments, control, covariates, y, arms, ids, excluded)


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str], ids: pd.Series) -> pd.DataFrame:
    """Numeric covariate columns: numbers as they are, text and categories as 0/1 dummies.

    The first level (sorted) of each categorical covariate is the reference. A covariate with
    a single level carries no information and is an error naming it (drop it from the model).
    """
    parts = []
    problems = []
    for column in covariates:
        series = frame[column]
        levels = pd.unique(series)
        if len(levels) < 2:
            problems.append(
                Problem(
                    column,
                    f"covariate has a single value ({levels[0]!r}) among the participants analysed",
                    "drop it from covariates: a constant cannot be adjusted for",
                )
            )
            continue
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            parts.append(series.astype(float).rename(column))
        else:
            dummies = pd.get_dummies(
                series.astype("category"), prefix=column, prefix_sep=":", drop_first=True, dtype=float
            )
            parts.append(dummies)
    if problems:
        raise TrialDataError(problems)
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)
