"""Kernels of the study's comparisons of per-arm summaries: the Newcombe risk difference and the delta cost.

``rd_newcombe`` is :func:`ipstrial.itt.compare_proportions` with ``method="newcombe"``, its rows
``risk_difference`` per treatment: Newcombe's hybrid score interval (Newcombe, Stat Med 1998;17:873-890,
method 10) and the p-value of Pearson's chi-square test. What is per participant (the events and
participants of every arm of every frame) is counted for the whole chunk at once; the interval and the test
then come from the package's own functions of the counts, :func:`ipstrial.stats.proportions.rd_newcombe`
and :func:`~ipstrial.stats.proportions.chi_square` (a few microseconds per contrast), so the numbers are
those of the reference path bit for bit.

``delta_cost`` is :func:`ipstrial.economics.costs_by_category` of ``cost_total``, its rows ``delta_cost``:
Welch's difference of means (Welch, Biometrika 1947;34:28-35), ``se² = s_1²/n_1 + s_0²/n_0``,
Welch-Satterthwaite ``df = se⁴ / ((s_1²/n_1)²/(n_1 - 1) + (s_0²/n_0)²/(n_0 - 1))``, the t interval and
p-value of :func:`ipstrial.stats.means.t_interval`; every frame's arm means and variances (two-pass) by
sums over the chunk, one call of the t distribution for all contrasts. A contrast in which neither arm
varies gets the difference with NaN for the rest, as the reference does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ipstrial.results import contrast_label
from ipstrial.validation._kernels_common import (
    ALPHA,
    ARMS,
    CONTROL,
    TREATMENTS,
    Batch,
    Records,
    by_chunks,
    contrast_records,
    record,
)

__all__ = ["delta_cost", "rd_newcombe"]

BINARY_OUTCOME = "employed_18m"
COST = "cost_total"


def _arm_sums(values: np.ndarray, arm: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame and arm: the participants and the sum of ``values``, each ``(frames, k)``."""
    size = values.shape[0]
    cell = (np.arange(size)[:, None] * k + arm).ravel()
    counts = np.bincount(cell, minlength=size * k).reshape(size, k).astype(float)
    sums = np.bincount(cell, weights=values.ravel(), minlength=size * k).reshape(size, k)
    return counts, sums


def _newcombe(batch: Batch) -> Records:
    from ipstrial.stats import proportions as iv

    arm = batch.arms()
    y = batch.numbers(BINARY_OUTCOME)
    batch.ok &= np.all((y == 0) | (y == 1), axis=1)
    n, events = _arm_sums(y, arm, len(ARMS))
    c = ARMS.index(CONTROL)
    conf = 1 - ALPHA
    out: Records = []
    for b in range(batch.size):
        rows = []
        x0, n0 = int(events[b, c]), int(n[b, c])
        for t in TREATMENTS if batch.ok[b] else ():
            j = ARMS.index(t)
            x1, n1 = int(events[b, j]), int(n[b, j])
            ci = iv.rd_newcombe(x1, n1, x0, n0, conf)
            _, p = iv.chi_square(x1, n1, x0, n0)
            rows.append(record(contrast_label(t, CONTROL), ci.estimate, np.nan, ci.low, ci.high, p))
        out.append(rows)
    return out


def rd_newcombe(frames: Sequence[Any]) -> Records:
    """Records of ``rd_newcombe`` for every frame (module docstring); None for a frame the screen refuses."""
    return by_chunks(frames, 32.0, _newcombe)


def _delta_cost(batch: Batch) -> Records:
    from ipstrial.stats.means import t_interval

    k = len(ARMS)
    c = ARMS.index(CONTROL)
    treated = [ARMS.index(t) for t in TREATMENTS]
    arm = batch.arms()
    cost = batch.numbers(COST)
    batch.ok &= np.all(cost >= 0, axis=1)
    n, sums = _arm_sums(cost, arm, k)
    batch.ok &= np.all(n >= 2, axis=1)  # the reference refuses an arm of fewer than 2
    mean = sums / n
    deviation = cost - np.take_along_axis(mean, arm, axis=1)
    _, squares = _arm_sums(deviation**2, arm, k)
    share = squares / (n - 1) / n  # s_a² / n_a, as np.var(ddof=1) / n
    diff = mean[:, treated] - mean[:, [c]]
    a1, a0 = share[:, treated], share[:, [c]]
    var = a1 + a0
    se = np.sqrt(var)
    df = var**2 / (a1**2 / (n[:, treated] - 1) + a0**2 / (n[:, [c]] - 1))
    varies = var > 0
    low, high, p = t_interval(diff, np.where(varies, se, 1.0), np.where(varies, df, 1.0), ALPHA)
    # neither arm varies: the difference, and NaN for the rest (the reference's _welch)
    se, low, high, p = (np.where(varies, v, np.nan) for v in (se, low, high, p))
    return contrast_records(diff, se, low, high, p)


def delta_cost(frames: Sequence[Any]) -> Records:
    """Records of ``delta_cost`` for every frame (module docstring); None for a frame the screen refuses."""
    return by_chunks(frames, 48.0, _delta_cost)
