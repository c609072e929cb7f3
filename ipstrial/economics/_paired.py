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

from ipstrial._checks import column_name
from ipstrial._columns import is_bool_column
from ipstrial._inputs import Sample, gate, source
from ipstrial.errors import EstimationError, ParameterError


def effect_kind(data: Any, effect: str, effect_model: str = "auto") -> str:
    """The gate kind of the effect column: ``binary`` for a logistic model or a True/False column."""
    if effect_model == "logistic":
        return "binary"
    frame = source(data, None)[0]
    single = frame.columns.tolist().count(effect) == 1  # absent or repeated: the gate reports it
    return "binary" if single and is_bool_column(frame[effect]) else "continuous"


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
    cost = column_name(cost, "cost")
    effect = column_name(effect, "effect")
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
