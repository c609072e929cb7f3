"""Kernels of the study's log-rank test and RMST difference, and the sorted risk sets they share with Cox.

Every frame's participants are put in one array, each row with its group (frame x arm, or frame x stratum),
and sorted once by (group, time) (:func:`risk_runs`); a run is the rows of one group with one time, and
the number at risk at a run is the rows of its group from that run on. Sums over groups are then sums over
segments of that array, so the whole chunk is computed with a few array operations and no loop over
frames.

``logrank`` is :func:`ipstrial.survival.logrank` of IPS vs SAU, unstratified, competing events censored
(as R's ``survdiff``): at each distinct event time ``j`` with ``n_j`` at risk and ``d_j`` events (both
arms), ``n_1j`` at risk and ``d_1j`` events in IPS, ``U = Σ_j (d_1j - d_j n_1j / n_j)`` and
``V = Σ_j d_j (n_j - d_j) / (n_j - 1) (n_1j / n_j) (1 - n_1j / n_j)`` (Mantel 1966; Peto & Peto 1972;
Kalbfleisch & Prentice 2002, eq. 7.4), the statistic ``U² / V`` (the two-arm case of the reference's
``(O - E)' V⁻ (O - E)``) and its chi-square (1 df) p-value. The sorted design is
:func:`ipstrial.survival.logrank._design` (that of the permutation test) with the frame as the stratum; the
sums are taken per frame. A frame without events, with an arm never at risk at an event time or with
``V = 0`` goes back to the reference, which raises.

``rmst_difference`` is :func:`ipstrial.survival.rmst` with ``tau`` of the study, its rows
``rmst_difference``: per arm the area under the Kaplan-Meier curve up to ``tau``,
``RMST = t_1 + Σ_j Ŝ(t_j) (t_{j+1} - t_j)`` (``t_{k+1} = tau``), with the Greenwood-type variance
``Σ_j A_j² d_j / (Y_j (Y_j - d_j))``, ``A_j = ∫_{t_j}^{tau} Ŝ`` (Klein & Moeschberger 2003, eq. 4.5.1;
R's ``survfit`` ``rmean`` and survRM2), as :func:`ipstrial.survival.rmst.restricted_mean` computes them; the
difference with ``se = √(se_1² + se_0²)``, Wald interval and p-value. The event times of every frame and
arm are laid out as the rows of one zero-padded matrix, so the products and sums run along rows as the
reference runs along its arrays (the sums one term after the other, so that the padding adds nothing).
``tau`` beyond an arm's last follow-up goes back to the reference (which raises).

Durations that R's ``aeqSurv`` would tie (``timefix``; :func:`ipstrial.survival._inputs.merge_tied_times`)
send the frame back to the reference too; whole days never are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ipstrial.validation._estimators import _TAU
from ipstrial.validation._kernels_common import (
    ARMS,
    CONTROL,
    TREATMENTS,
    Batch,
    Records,
    by_chunks,
    record,
    total,
    wald_records,
)

__all__ = ["RiskRuns", "logrank", "padded", "risk_runs", "rmst_difference", "survival_columns", "untied"]

DURATION = "days_to_job"
EVENT = "event"
CAUSE = 1
EVENT_CODES = (0, 1, 2)
LOGRANK_ARMS = ("IPS", CONTROL)
"""The arms of the study's log-rank test (``treatment="IPS"``), the control last."""


@dataclass(frozen=True, eq=False)
class RiskRuns:
    """Rows sorted by (group, time) and their runs (one group, one time), for risk-set sums.

    Attributes
    ----------
    order
        The sorting permutation of the rows.
    start
        The sorted position of each run's first row.
    group, time, events, at_risk
        Each run's group, time, events of interest and rows of its group with this time or later.
    position
        Each run's index among the runs of its group (0, 1, ...).
    """

    order: np.ndarray
    start: np.ndarray
    group: np.ndarray
    time: np.ndarray
    events: np.ndarray
    at_risk: np.ndarray
    position: np.ndarray


def risk_runs(time: np.ndarray, status: np.ndarray, group: np.ndarray) -> RiskRuns:
    """Sort the rows by (group, time) and find the runs of equal (group, time) (see :class:`RiskRuns`)."""
    order = np.lexsort((time, group))
    t, g, e = time[order], group[order], status[order]
    size = t.size
    new_group = np.ones(size, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    new = new_group.copy()
    new[1:] |= t[1:] != t[:-1]
    start = np.flatnonzero(new)
    group_start = np.flatnonzero(new_group)
    group_end = np.append(group_start[1:], size)
    which = np.cumsum(new_group)[start] - 1  # the group (by its position among the groups) of each run
    first_run = np.searchsorted(start, group_start)
    return RiskRuns(
        order=order,
        start=start,
        group=g[start],
        time=t[start],
        events=np.add.reduceat(e.astype(float), start) if size else np.zeros(0),
        at_risk=(group_end[which] - start).astype(float),
        position=np.arange(start.size) - first_run[which],
    )


def padded(
    values: np.ndarray, group: np.ndarray, position: np.ndarray, groups: int, fill: float
) -> np.ndarray:
    """``values`` (one per run, optionally with trailing axes) laid out as rows of a ``(groups, width)``
    matrix: row ``group``, column ``position``; ``fill`` elsewhere."""
    width = int(position.max()) + 1 if position.size else 1
    out = np.full((groups, width, *values.shape[1:]), fill, dtype=float)
    out[group, position] = values
    return out


def untied(time: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Per frame: no durations R's ``aeqSurv`` would tie among ``rows`` (``time[b][rows[b]]``), by
    :func:`ipstrial.survival._inputs.merge_tied_times` (the reference's ``timefix``)."""
    from ipstrial.survival._inputs import merge_tied_times

    return np.array(
        [merge_tied_times(t if rows is None else t[rows[b]])[1] == 0 for b, t in enumerate(time)], dtype=bool
    )


def survival_columns(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arm codes, durations and event codes of a chunk, screened as the gate does (non-negative
    durations, the declared event codes)."""
    arm = batch.arms()
    time = batch.numbers(DURATION)
    event = batch.numbers(EVENT)
    batch.ok &= np.all(time >= 0, axis=1) & np.all(np.isin(event, EVENT_CODES), axis=1)
    return arm, time, event


def _logrank(batch: Batch) -> Records:
    from scipy import stats

    from ipstrial.survival._inputs import arms_label
    from ipstrial.survival.logrank import _design

    label = arms_label(LOGRANK_ARMS, CONTROL)
    treated_code, control_code = ARMS.index(LOGRANK_ARMS[0]), ARMS.index(CONTROL)
    arm, time, event = survival_columns(batch)
    size = batch.size
    rows = (arm == treated_code) | (arm == control_code)
    batch.ok &= untied(time, rows)
    frame_of = np.broadcast_to(np.arange(size)[:, None], arm.shape)[rows]
    design = _design(time[rows], (event[rows] == CAUSE).astype(float), frame_of)
    x = (arm[rows] == treated_code).astype(np.int64)[design.order]
    at_risk = np.concatenate([[0], np.cumsum(x)])
    with_event = np.concatenate([[0], np.cumsum(x * design.status)])
    n1 = (at_risk[design.stop] - at_risk[design.start]).astype(float)
    d1 = (with_event[design.end] - with_event[design.start]).astype(float)
    frame = design.strata[design.start]

    def per_frame(values: np.ndarray) -> np.ndarray:
        return np.bincount(frame, weights=values, minlength=size)

    expected = per_frame(n1 * design.d_over_n)
    u = per_frame(d1) - expected
    v = per_frame(n1 * (design.n - n1) * design.v)
    expected_control = per_frame(design.d_over_n * design.n) - expected
    # no events, an arm never at risk at an event time or V = 0: the reference raises
    batch.ok &= (expected > 0) & (expected_control > 0) & (v > 0)
    statistic = u * u / v
    p = stats.chi2.sf(statistic, 1)
    return [[record(label, statistic[b], np.nan, np.nan, np.nan, p[b])] for b in range(size)]


def logrank(frames: Sequence[Any]) -> Records:
    """Records of ``logrank`` for every frame (module docstring); None for a frame it leaves to the
    reference."""
    return by_chunks(frames, 96.0, _logrank)


def _rmst(batch: Batch) -> Records:

    k = len(ARMS)
    tau = float(_TAU)
    c = ARMS.index(CONTROL)
    treated = [ARMS.index(t) for t in TREATMENTS]
    arm, time, event = survival_columns(batch)
    size = batch.size
    batch.ok &= untied(time)
    group = (np.arange(size)[:, None] * k + arm).ravel()
    runs = risk_runs(time.ravel(), (event == CAUSE).ravel().astype(float), group)
    # the last follow-up of each frame and arm: tau beyond it is an error of the reference
    last = np.full(size * k, -np.inf)
    np.maximum.at(last, runs.group, runs.time)
    batch.ok &= np.all(last.reshape(size, k) >= tau, axis=1)
    keep = (runs.events > 0) & (runs.time <= tau)
    g = runs.group[keep]
    position = np.arange(g.size) - np.searchsorted(g, g)  # the kept runs of a group are adjacent
    t = padded(runs.time[keep], g, position, size * k, tau)
    d = padded(runs.events[keep], g, position, size * k, 0.0)
    y = padded(runs.at_risk[keep], g, position, size * k, 1.0)
    surv = np.cumprod(1.0 - d / y, axis=1)
    pieces = surv * np.diff(np.concatenate([t, np.full((size * k, 1), tau)], axis=1), axis=1)
    area_after = np.cumsum(pieces[:, ::-1], axis=1)[:, ::-1]  # A_j
    h = np.where(y - d > 0, d / (y * (y - d)), 0.0)
    # t[:, 0] is tau where an arm has no event up to tau: its curve is 1 throughout
    value = (t[:, 0] + total(pieces)).reshape(size, k)
    se = np.sqrt(total(area_after**2 * h)).reshape(size, k)
    diff = value[:, treated] - value[:, [c]]
    se_diff = np.hypot(se[:, treated], se[:, [c]])
    return wald_records(diff, se_diff)


def rmst_difference(frames: Sequence[Any]) -> Records:
    """Records of ``rmst_difference`` for every frame (module docstring); None for a frame it leaves to
    the reference."""
    return by_chunks(frames, 96.0, _rmst)
