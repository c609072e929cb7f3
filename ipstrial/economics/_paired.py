"""Inputs shared by the economics estimators: cost and effect through the gate together, seeds, and the
per-participant columns of the calculations that do not compare arms.

Cost and effect of a participant are analysed together (paired): :func:`paired_sample` passes both
through :func:`ipstrial._inputs.gate` in ONE call (cost of kind ``costs``: finite, non-negative;
effect ``continuous`` or ``binary``), so the missing-data policy is applied to both jointly (a
participant missing either is excluded under ``missing="complete-case"``, counted per arm in
``inputs.excluded``), and every problem of either column is reported at once.

The calculations that read per-participant columns without comparing arms
(:func:`~ipstrial.economics.perspective_cost`, :func:`~ipstrial.economics.qaly_auc`) use the gate's
structural checks directly: :func:`ipstrial._inputs.source` and :func:`ipstrial._inputs.participants`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._inputs import Sample, gate
from ipstrial.errors import EstimationError, ParameterError
from ipstrial.results import InputSummary


def frame_of(data: Any) -> pd.DataFrame | None:
    """The DataFrame behind ``data`` (a Trial's data), or None when it is neither."""
    from ipstrial.trial import Trial

    if isinstance(data, Trial):
        return data.data
    return data if isinstance(data, pd.DataFrame) else None


def column_argument(value: object, name: str) -> str:
    """A column named by an argument (``cost=``, ``effect=``): a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ParameterError(f"{name} must be a column name (str), got {value!r}")
    return value


def effect_kind(data: Any, effect: str, effect_model: str = "auto") -> str:
    """The gate kind of the effect column: ``binary`` for a logistic model or a True/False column."""
    if effect_model == "logistic":
        return "binary"
    frame = frame_of(data)
    if frame is not None and effect in frame.columns and frame.columns.tolist().count(effect) == 1:
        series = frame[effect]
        if pd.api.types.is_bool_dtype(series.dtype):
            return "binary"
        if series.dtype == object:
            present = series.dropna().to_numpy(dtype=object)
            if present.size and all(isinstance(v, bool | np.bool_) for v in present):
                return "binary"
    return "continuous"


def paired_sample(
    data: Any,
    cost: str,
    effect: str,
    arm: str | None,
    treatment: Any,
    control: Any,
    *,
    id: str | None,
    missing: str | None,
    effect_model: str = "auto",
    covariates: Sequence[str] = (),
    need_control: bool = True,
) -> Sample:
    """Cost and effect through one gate call (the effect's kind by :func:`effect_kind`); every analysed arm
    needs two participants with both."""
    cost = column_argument(cost, "cost")
    effect = column_argument(effect, "effect")
    if cost == effect:
        raise ParameterError(f"cost and effect are the same column {cost!r}; name two different columns")
    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        outcomes={cost: "costs", effect: effect_kind(data, effect, effect_model)},
        covariates=covariates,
        missing=missing,
        need_control=need_control,
    )
    thin = [a for a, k in sample.n_by_arm.items() if k < 2]
    if thin:
        raise EstimationError(
            f"arm(s) {thin} have fewer than two participants with both {cost!r} and {effect!r} known: no "
            "standard error or bootstrap is possible; a comparison needs at least two in every arm"
        )
    return sample


def complete_case_note(inputs: InputSummary) -> str:
    """A sentence on the participants excluded by the missing-data policy, or an empty string."""
    if not any(inputs.excluded.values()):
        return ""
    parts = ", ".join(f"{a} {k}" for a, k in inputs.excluded.items())
    why = f" with {inputs.reason}" if inputs.reason else ""
    return f"complete case: {plural(sum(inputs.excluded.values()), 'participant')}{why} excluded ({parts})"


def excluded_by_arm(inputs: InputSummary | None, arms: Sequence[str]) -> dict[str, int]:
    """Participants excluded by the policy, for every arm (0 where none)."""
    excluded = {} if inputs is None else inputs.excluded
    return {a: int(excluded.get(a, 0)) for a in arms}
