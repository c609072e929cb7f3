"""The analysis-results row the missing-data results share: one estimate of a contrast or of an arm, with
the participants and the missing outcomes of its arms."""

from __future__ import annotations

from typing import Any

from ipstrial.results import Row


def estimate_row(
    result: Any, line: Any, contrast: str, estimand: str, arm: str, control: str | None, **fields: Any
) -> Row:
    """The row of one estimate of ``result`` (a result of :mod:`ipstrial.missing`, with ``n``, ``missing``
    and ``method``): ``line`` holds ``estimate, se, ci_low, ci_high, p_value`` (a line of the result's
    table, or a :class:`~ipstrial.missing.RubinPooled`).

    ``n`` counts the participants of ``arm`` and ``control``; ``extra`` (from ``fields``) gets their missing
    outcomes (``missing_treatment`` and ``missing_control``; ``missing`` for a per-arm row, ``control``
    None) and the result's ``seed_entropy`` when it records one. Other ``fields`` go to the row.
    """
    extra = dict(fields.pop("extra", {}))
    if control is None:
        n = result.n[arm]
        extra["missing"] = result.missing[arm]
    else:
        n = result.n[arm] + result.n[control]
        extra |= {"missing_treatment": result.missing[arm], "missing_control": result.missing[control]}
    seed = getattr(result, "seed_entropy", None)
    if seed is not None:
        extra["seed_entropy"] = str(seed)
    return result._row(
        contrast,
        estimand,
        line.estimate,
        se=line.se,
        ci_low=line.ci_low,
        ci_high=line.ci_high,
        p_value=line.p_value,
        method=result.method,
        n=n,
        extra=extra,
        **fields,
    )
