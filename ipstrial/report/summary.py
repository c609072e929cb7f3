"""A per-arm descriptive summary of a trial dataset (the demo's table).

Counts with percentages for binary columns, mean (SD) for numeric ones, each computed on the
observed values with the number observed shown when some are missing. Descriptive only: no
tests, no intervals (CONSORT 2010 item 15 advises against baseline significance tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

_DEFAULT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("sex", "women, n (%)", "female"),
    ("age", "age, mean (SD)", "mean"),
    ("employed_prev5y", "employed in previous 5 years, n (%)", "binary"),
    ("substance_use", "substance use, n (%)", "binary"),
    ("employed_18m", "employment or education within 18 months, n (%)", "binary"),
    ("event", "first job recorded (event 1), n (%)", "event1"),
    ("hours_18m", "hours in work or education, mean (SD)", "mean"),
    ("weeks_employed_18m", "weeks in work or education, mean (SD)", "mean"),
    ("cost_total", "total cost over 18 months, DKK, mean (SD)", "mean"),
    ("transfers_18m", "transfer payments over 18 months, DKK, mean (SD)", "mean"),
    ("eq5d_0", "EQ-5D index at baseline, mean (SD)", "mean"),
    ("eq5d_18m", "EQ-5D index at 18 months, mean (SD)", "mean"),
)


def _cell(values: pd.Series, kind: str) -> str:
    observed = values.dropna()
    n_obs, n_all = len(observed), len(values)
    note = "" if n_obs == n_all else f" [n={n_obs}]"
    if n_obs == 0:
        return "—" + note
    if kind in ("binary", "female", "event1"):
        hits = int((observed == {"binary": 1, "female": "female", "event1": 1}[kind]).sum())
        return f"{hits} ({100 * hits / n_obs:.1f}%)" + note
    x = observed.to_numpy(dtype=float)
    sd = x.std(ddof=1) if n_obs > 1 else np.nan
    digits = 3 if np.nanmax(np.abs(x)) <= 1 else (0 if np.nanmax(np.abs(x)) >= 1000 else 1)
    return f"{x.mean():,.{digits}f} ({sd:,.{digits}f})" + note


def arm_summary(
    data: Trial | pd.DataFrame, arm: str | None = None, arms: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per characteristic present in ``data``, one column per arm plus ``all``.

    With a :class:`~ipstrial.Trial` the arm column and the arms (in declared order) come from it; with
    a DataFrame give ``arm`` (and ``arms`` for their order, else the labels sorted). The arm column passes
    the input gate (missing arms, near-miss labels). Missing values are excluded from each cell's statistic
    and the number observed is shown as ``[n=...]``; nothing is dropped from the data.
    """
    from ipstrial._inputs import gate, source
    from ipstrial._labels import labels_of

    treatment = None if arms is None else list(arms)
    sample = gate(data, arm=arm, treatment=treatment, need_control=False, min_arms=1)
    frame, _ = source(data, None)
    labels = labels_of(frame[sample.arm])
    groups = {a: frame[labels == a] for a in sample.order} | {"all": frame}
    table = {"participants, n": {a: str(len(g)) for a, g in groups.items()}}
    for column, label, kind in _DEFAULT_ROWS:
        if column in frame.columns:
            table[label] = {a: _cell(g[column], kind) for a, g in groups.items()}
    return pd.DataFrame(table).T.rename_axis("characteristic")
