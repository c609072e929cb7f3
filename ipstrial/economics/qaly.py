"""Quality-adjusted life years from repeated utility measurements (area under the curve)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._checks import check_choice, column_names
from ipstrial._docs import shared_params
from ipstrial._inputs import participants, source
from ipstrial.errors import ParameterError, Problem, TrialDataError

__all__ = ["qaly_auc"]


@shared_params
def qaly_auc(
    data: Any,
    utilities: str | Sequence[str],
    times: Sequence[float] | np.ndarray,
    *,
    missing: str | None = None,
    id: str | None = None,
    name: str = "qaly",
) -> pd.Series:
    """QALYs as the area under the utility curve, straight lines between measurements (trapezium rule).

    ``QALY_i = Σ_{k=1}^{K-1} (t_k − t_{k−1}) (u_{i,k−1} + u_{i,k}) / 2`` with the times ``t`` in years
    (Richardson & Manca 2004, Health Econ 13:1203; Manca, Hawkins & Sculpher 2005, Health Econ
    14:487). With EQ-5D at baseline and 18 months (``times=(0, 1.5)``) ``QALY = 0.75 (u_0 + u_18)``.
    Undiscounted. The baseline utility is part of the area, so analyse QALYs with
    ``cost_effectiveness(..., baseline_utility=<the baseline column>)`` to remove chance baseline
    imbalance (Manca et al. 2005).

    Parameters
    ----------
    data
        One row per participant (a DataFrame or an :class:`ipstrial.Trial`).
    utilities
        The utility columns in time order (at least two; index values at most 1, full health), e.g.
        ``("eq5d_0", "eq5d_18m")``.
    times
        Measurement times in years, strictly increasing, one per utility column, e.g. ``(0, 1.5)``.
    missing
        ``None``: a missing utility is an error naming the participants; ``"complete-case"``: their
        QALY is NaN (then analyse with ``missing="complete-case"``, which counts them).
    @params id
    name
        Name of the returned Series.

    Returns
    -------
    pandas.Series
        QALYs, indexed like ``data`` (a Trial's data).

    Raises
    ------
    TrialDataError
        Absent or repeated columns, duplicated ids, non-numeric or infinite utilities or utilities
        above 1, and missing utilities without ``missing="complete-case"`` (naming the participants).
    ParameterError
        Fewer than two utility columns, times that are not one increasing number per column, an
        unknown ``missing`` policy.
    """
    frame, id = source(data, id)
    columns = column_names(utilities, "utilities", allow_empty=False)
    if isinstance(times, str | bytes):
        raise ParameterError(f"times must be numbers (years), got {times!r}")
    try:
        t = np.asarray(times, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"times must be numbers (years), got {times!r}") from exc
    if len(columns) < 2 or t.ndim != 1 or t.size != len(columns):
        raise ParameterError(
            f"give at least two utility columns and one time (in years) per column; got utilities="
            f"{list(columns)!r} and times={np.atleast_1d(t).tolist()!r}"
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ParameterError(f"times must be finite and strictly increasing (years), got {t.tolist()}")
    check_choice(missing, "missing", (None, "complete-case"))
    if not isinstance(name, str):
        raise ParameterError(f"name must be a string, got {name!r}")
    problems, who = participants(frame, {c: "utility" for c in columns}, id)
    values = []
    for column in columns:
        u, absent_mask, found = columns_.numbers_of(frame[column], "utilities", who)
        problems += found
        values.append(u)
        if missing is None and absent_mask.any():
            problems.append(
                Problem(
                    column,
                    f"{columns_.plural(int(absent_mask.sum()), 'participant')} with a missing utility",
                    "pass missing='complete-case' to give them a QALY of NaN (then analyse the QALYs with "
                    "the same policy, which counts them), or impute the utilities first (e.g. "
                    "ipstrial.missing.multiple_imputation)",
                    **who.offending(absent_mask),
                )
            )
    if problems:
        raise TrialDataError(problems)
    U = np.column_stack(values)
    qaly = ((U[:, :-1] + U[:, 1:]) / 2.0) @ np.diff(t)
    return pd.Series(qaly, index=frame.index, name=name)
