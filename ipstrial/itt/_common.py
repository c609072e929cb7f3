"""Pieces shared by the intention-to-treat estimators: the preamble, outcome checks, model matrices, rows.

Every estimator of :mod:`ipstrial.itt` passes its data through the input gate
(:func:`ipstrial._inputs.prepare`) first; the helpers here work on the :class:`~ipstrial._inputs.Prepared`
sample it returns:

* :func:`prepare_checked` -- the shared preamble: ``alpha`` and ``analysis`` checked, the data gated,
  the outcome's variation checked;
* :func:`bootstrap_options` -- ``seed`` (:func:`ipstrial._random.check_seed`) and ``n_resamples`` checked
  before any computation, and refused where no bootstrap uses them (an argument given is never ignored);
* :func:`check_variation` -- an outcome that is identical for everyone analysed is an
  :class:`~ipstrial.errors.EstimationError` (no standard error, interval or test is defined);
* :func:`reject_values` -- outcome or exposure values an estimator cannot take, a
  :class:`~ipstrial.errors.TrialDataError` naming the participants;
* :func:`model_matrix` -- the design ``[1, 1{arm = t} for each treatment, covariate columns]`` with the
  control as reference, covariates through :func:`ipstrial._inputs.design_matrix` (text and categories
  as 0/1 dummies, first sorted level the reference), checked by :func:`ipstrial._batched.check_rank`;
* :func:`contrast_row` -- a line of a contrast table (label, numbers, both arms' size, excluded counts);
* :func:`table_rows` -- the ARD rows of a result from such a table, one row per line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._batched import check_rank
from ipstrial._checks import check_alpha, check_analysis, check_count
from ipstrial._columns import plural
from ipstrial._inputs import Prepared, design_matrix, prepare
from ipstrial._random import SeedLike, check_seed
from ipstrial.errors import EstimationError, ParameterError, Problem, TrialDataError
from ipstrial.results import Result, Row, contrast_extra, contrast_label

__all__ = [
    "bootstrap_options",
    "check_variation",
    "contrast_row",
    "model_matrix",
    "prepare_checked",
    "reject_values",
    "table_rows",
]

_TABLE_NUMBERS = ("se", "ci_low", "ci_high", "p_value")


def bootstrap_options(
    n_resamples: object, seed: object, *, used: bool, default: int, applies: str, why: str
) -> tuple[int | None, SeedLike]:
    """``n_resamples`` (None: ``default``) and ``seed`` checked, and refused when no bootstrap uses them.

    Both are validated whether or not they are used; when ``used`` is false, a value given explicitly
    (``n_resamples`` or ``seed`` not None) is a ParameterError: ``"n_resamples and seed apply to
    <applies>; got seed=3, but <why>"``. Returns the number of replicates (None when unused) and the seed.
    """
    if n_resamples is not None:
        n_resamples = check_count(n_resamples, "n_resamples", minimum=2)
    seed = check_seed(seed)
    if not used:
        given = {"n_resamples": n_resamples, "seed": seed}
        shown = ", ".join(f"{name}={value!r}" for name, value in given.items() if value is not None)
        if shown:
            raise ParameterError(f"n_resamples and seed apply to {applies}; got {shown}, but {why}")
        return None, None
    return (default if n_resamples is None else int(n_resamples)), seed  # type: ignore[call-overload]


def prepare_checked(
    data: Any,
    outcome: str,
    arm: str | None,
    treatment: Any,
    control: Any,
    covariates: str | Sequence[str] = (),
    *,
    kind: str,
    alpha: float,
    analysis: str,
    missing: str | None,
    id: str | None,
    vary: bool = True,
    **gate: Any,
) -> tuple[float, Prepared]:
    """The preamble of an estimator: ``alpha`` and ``analysis`` checked, the data through the input gate.

    ``gate`` holds the gate's further options (``strata=``, ``extra=``); with ``vary`` an outcome without
    variation is refused (:func:`check_variation`). Returns the checked ``alpha`` and the sample.
    """
    alpha = check_alpha(alpha)
    check_analysis(analysis)
    prepared = prepare(
        data, outcome, arm, treatment, control, covariates, kind=kind, missing=missing, id=id, **gate
    )
    if vary:
        check_variation(prepared)
    return alpha, prepared


def reject_values(prepared: Prepared, column: str, mask: np.ndarray, what: tuple[str, str], fix: str) -> None:
    """A TrialDataError when ``mask`` holds any participant: ``"<count> <what>"`` (``what`` in the singular
    and the plural, ``("negative value", "negative values")``), who they are, ``fix``."""
    if mask.any():
        count = plural(int(mask.sum()), *what)
        raise TrialDataError([Problem(column, count, fix, **prepared.who.offending(mask))])


def check_variation(prepared: Prepared) -> None:
    """Every analysed outcome identical: no test or interval is defined (an EstimationError)."""
    values = np.unique(prepared.y)
    if values.size < 2:
        raise EstimationError(
            f"every analysed value of {prepared.outcome!r} is {values[0]:g} in arms "
            f"{list(prepared.order)}: with no variation no standard error, interval or test is "
            "defined; report the common value descriptively instead"
        )


def contrast_row(prepared: Prepared, treatment: str, **numbers: Any) -> dict[str, Any]:
    """A line of a contrast table: ``contrast`` (treatment vs the control), ``numbers`` in their order,
    ``n`` (the participants of both arms) and ``extra`` (:func:`ipstrial.results.contrast_extra`)."""
    n_by = prepared.n_by_arm
    return {
        "contrast": contrast_label(treatment, prepared.control),
        **numbers,
        "n": n_by[treatment] + n_by[prepared.control],
        "extra": contrast_extra(prepared.inputs, treatment, prepared.control),
    }


def table_rows(
    result: Result,
    table: pd.DataFrame,
    estimand: str,
    method: str,
    extra: Mapping[str, object] | Callable[[Any], Mapping[str, object]] | None = None,
    *,
    label: str = "contrast",
    variant: str = "",
) -> list[Row]:
    """The rows of ``result`` from a table with one line per arm or contrast (``result._row``).

    A row per line: its ``label`` column, ``estimate``, those of ``se, ci_low, ci_high, p_value`` the table
    has and ``n``; the extra columns are ``extra`` (a mapping, or a function of the line) and the line's own
    ``extra``.
    """
    numbers = [k for k in _TABLE_NUMBERS if k in table.columns]
    out = []
    for r in table.itertuples(index=False):
        own = extra(r) if callable(extra) else (extra or {})
        out.append(
            result._row(
                getattr(r, label),
                estimand,
                r.estimate,
                **{k: getattr(r, k) for k in numbers},
                method=method,
                n=int(r.n),
                extra={**own, **dict(r.extra)},
                variant=variant,
            )
        )
    return out


def model_matrix(
    prepared: Prepared, treatments: Sequence[str] | None = None, where: str = "the model"
) -> tuple[np.ndarray, list[str], list[int]]:
    """Intercept, one indicator per treatment arm (the control is the reference), covariates.

    Returns the matrix, the column names (``"(Intercept)"``, ``"<arm>:<label>"``, covariate terms) and
    the positions of the arm indicators. ``treatments`` defaults to the sample's treatments.
    """
    arms = tuple(prepared.treatments if treatments is None else treatments)
    columns: dict[str, np.ndarray] = {"(Intercept)": np.ones(len(prepared.y))}
    for t in arms:
        columns[f"{prepared.arm}:{t}"] = (prepared.arms == t).astype(float)
    dummies = design_matrix(prepared.frame, prepared.covariates)
    for name in dummies.columns:
        columns[str(name)] = dummies[name].to_numpy(dtype=float)
    names = list(columns)
    X = np.column_stack(list(columns.values()))
    check_rank(X, names, where)
    return X, names, list(range(1, 1 + len(arms)))
