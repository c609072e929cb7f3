"""Kernel of the study's Cox hazard ratio (``cox_hazard_ratio``): lifelines' Efron fit, every frame at once.

The reference is :func:`ipstrial.survival.cox` with the study's covariates, ``strata="site"`` and Efron's
ties, which fits the partial likelihood with lifelines' ``CoxPHFitter`` (precision ``1e-12``,
``r_precision`` ``1e-15``, at most 200 steps). Its rows ``hazard_ratio`` per treatment: ``exp(β_t)``, the
Wald interval ``exp(β_t ± z se)`` and p-value, ``se`` of ``β_t`` (on the log scale). This kernel repeats
lifelines' algorithm step for step for every frame of a chunk at once, because where lifelines stops decides
the last digits of the estimate (its last Newton step is computed but not taken):

* the model columns (:func:`ipstrial.survival._arm_models.model_matrix`: one indicator per treatment,
  then the covariates' design columns) standardised per frame, ``(x - mean) / sd`` (``sd`` over ``n - 1``),
  as lifelines does before fitting;
* from ``β = 0``, at each step the log partial likelihood ``ℓ``, score ``g`` and Hessian ``h`` (Efron
  1977, JASA 72:557; summed over the strata, each with its own baseline hazard), the Newton direction
  ``δ = (-h)⁻¹ g`` (refused unless ``-h`` is positive definite, as lifelines' Cholesky solve), and
  ``β ← β + s δ`` with lifelines' step size ``s`` (``StepSizer``: 0.95, shrunk after large or
  non-decreasing ``|δ|``, grown after three decreasing ones, at most 1);
* it stops as lifelines does, successfully when ``|δ| < 1e-12``, the relative change of ``ℓ`` is below
  ``1e-15`` or ``g'δ / 2 < 1e-12``, and returns the ``β`` at which ``δ`` was computed (not taken); the
  covariance is ``(-h)⁻¹`` there, both mapped back to the unstandardised columns.

The sums over risk sets: for one stratum, a distinct time ``t`` with ``d`` events ``D`` and risk set
``R``, ``w = exp(β'x)``, ``f_k = k/d`` and ``S0_k = Σ_R w - f_k Σ_D w`` (``k = 0..d-1``),
``ℓ = Σ_D β'x - Σ_k log S0_k``, ``g = Σ_D x - Σ_k (R1 - f_k D1) / S0_k`` and
``-h = Σ_k (R2 - f_k D2) / S0_k - Σ_k (R1 - f_k D1)(R1 - f_k D1)' / S0_k²`` (``R1, R2`` the sums of
``w x``, ``w x x'`` over ``R``, ``D1, D2`` over ``D``). The participants of every frame and stratum are
sorted once (:func:`ipstrial.validation._kernels_survival.risk_runs`); ``R0, R1`` are suffix sums over the
runs of a stratum, and the ``R2`` and ``D2`` terms summed over the times are one weighted cross-product per
frame, ``Σ_i ω_i x_i x_i'`` with ``ω_i = w_i (Σ_{t ≤ t_i} a_t − e_i b_{t_i})``, ``a_t = Σ_k 1/S0_k``,
``b_t = Σ_k f_k/S0_k`` (no array of participants x columns²).

What the reference refuses or fits otherwise goes back to it (None): an arm without events, separation
(the monotone-likelihood check of :func:`ipstrial.survival._arm_models.check_separation`, run here on the
same candidates: every arm, every level of a text covariate, every numeric covariate), a column lifelines
warns about (variance below ``1e-4``), a fit lifelines would not accept at its first attempt (no
convergence, a Hessian that is not negative definite, ``|δ| > 0.1`` at the end), tied durations under
``timefix``, a covariate level missing from the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ipstrial.results import contrast_label
from ipstrial.validation._estimators import _COVARIATES
from ipstrial.validation._kernels_common import (
    ALPHA,
    ARMS,
    CONTROL,
    TREATMENTS,
    Batch,
    Records,
    by_chunks,
    record,
)
from ipstrial.validation._kernels_survival import (
    CAUSE,
    RiskRuns,
    padded,
    risk_runs,
    survival_columns,
    untied,
)

__all__ = ["cox_hazard_ratio", "efron_fits", "separated"]

STRATA = "site"
"""The strata of the study's call (:func:`ipstrial.validation._estimators._cox`)."""
# lifelines' CoxPHFitter as ipstrial.survival.cox calls it first (_LIFELINES_OPTIONS, the default step)
PRECISION = 1e-12
R_PRECISION = 1e-15
MAX_STEPS = 200
STEP_SIZE = 0.95
ROW_BYTES = 8.0 * 2 * 16
"""Bytes per participant of the largest working arrays (participants x twice up to 16 columns, the padded
risk-set sums of every stratum), which size the chunks
(:func:`ipstrial.validation._kernels_common.size_chunks`: about 11 frames of 720)."""
LOW_VARIANCE = 1e-4
"""lifelines' ``check_low_var``: a column of smaller variance draws a ConvergenceWarning, and a retry."""


def separated(runs: RiskRuns, values: np.ndarray, status: np.ndarray, groups: int) -> np.ndarray:
    """Per frame: some candidate column in which the partial likelihood is monotone (Bryson & Johnson
    1981, Biometrika 68:419), the rule of :func:`ipstrial.survival._arm_models._monotone`.

    At every event time (within a stratum) the participant with the event has the largest (or the
    smallest) value of the column among those at risk, and for some event someone at risk differs.

    Parameters
    ----------
    runs
        The sorted rows of the chunk, grouped by frame x stratum (frames contiguous, ``n`` rows each).
    values
        ``(frames, n, candidates)`` candidate columns, rows in the frames' order.
    status
        ``(frames, n)`` events of interest.
    groups
        Frames x strata.
    """
    size, n, m = values.shape
    v = values.reshape(size * n, m)[runs.order]
    high = padded(np.maximum.reduceat(v, runs.start, axis=0), runs.group, runs.position, groups, -np.inf)
    low = padded(np.minimum.reduceat(v, runs.start, axis=0), runs.group, runs.position, groups, np.inf)
    # the extremes over the risk set: from each time to the end of its stratum
    high = np.maximum.accumulate(high[:, ::-1], axis=1)[:, ::-1][runs.group, runs.position]
    low = np.minimum.accumulate(low[:, ::-1], axis=1)[:, ::-1][runs.group, runs.position]
    row_run = np.repeat(np.arange(runs.start.size), np.diff(np.append(runs.start, size * n)))
    high, low = high[row_run].reshape(size, n, m), low[row_run].reshape(size, n, m)
    z = v.reshape(size, n, m)
    event = status.ravel()[runs.order].reshape(size, n, 1) > 0
    up = np.all(~event | (z >= high), axis=1) & np.any(event & (z > low), axis=1)
    down = np.all(~event | (z <= low), axis=1) & np.any(event & (z < high), axis=1)
    return np.any(up | down, axis=1)


class _Efron:
    """The Efron log partial likelihood, score and Hessian of every frame of a chunk (module docstring).

    ``X`` are the ``(frames, n, p)`` standardised model columns sorted as ``runs`` (frames contiguous),
    ``event`` the sorted events of interest, ``strata`` the strata per frame.
    """

    def __init__(self, runs: RiskRuns, X: np.ndarray, event: np.ndarray, strata: int) -> None:
        from scipy import sparse

        size, n, p = X.shape
        self.runs, self.X, self.size, self.groups = runs, X, size, size * strata
        self.flat = X.reshape(size * n, p)
        self.event = event
        J = runs.start.size
        self.row_run = np.repeat(np.arange(J), np.diff(np.append(runs.start, size * n)))
        # sums over the rows of each run, and over the runs of each frame, as sparse 0/1 products: each sum
        # runs over its own rows in order (and much faster than numpy's reduceat over many short segments)
        self.by_run = sparse.csr_matrix(
            (np.ones(size * n), (self.row_run, np.arange(size * n))), shape=(J, size * n)
        )
        frame_of_run = runs.group // strata
        self.by_frame = sparse.csr_matrix((np.ones(J), (frame_of_run, np.arange(J))), shape=(size, J))
        self.x_events = self.by_run @ (event[:, None] * self.flat)
        d = runs.events.astype(np.int64)
        self.with_events = np.flatnonzero(d > 0)
        counts = d[self.with_events]
        self.tie = np.repeat(self.with_events, counts)  # the run of each tied event (k = 0..d-1)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        self.frac = k / np.repeat(counts, counts)
        self.tie_frame = frame_of_run[self.tie]
        ev_start = np.searchsorted(frame_of_run[self.with_events], np.arange(size + 1))
        self.ev_bounds = list(zip(ev_start[:-1], ev_start[1:], strict=True))
        # each run's cell in a (strata of all frames) x (runs of a stratum) table
        self.width = int(runs.position.max(initial=0)) + 1
        self.cell = runs.group * self.width + runs.position

    def _within(self, values: np.ndarray, suffix: bool) -> np.ndarray:
        """Sums of ``values`` (one row per run) over the runs of the same stratum from (suffix) or up to
        (prefix) each run, one after the other along the stratum (zero cells add nothing)."""
        table = np.zeros((self.groups * self.width, *values.shape[1:]))
        table[self.cell] = values
        table = table.reshape(self.groups, self.width, *values.shape[1:])
        table = np.cumsum(table[:, ::-1], axis=1)[:, ::-1] if suffix else np.cumsum(table, axis=1)
        return table.reshape(self.groups * self.width, *values.shape[1:])[self.cell]

    def __call__(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ℓ, g, h)`` at ``beta`` (``(frames, p)``) for every frame."""
        runs, size, flat = self.runs, self.size, self.flat
        J = runs.start.size
        eta = np.matmul(self.X, beta[:, :, None])[:, :, 0]
        eta -= eta.max(axis=1, keepdims=True)  # a shift per frame leaves ℓ, g and h unchanged
        w = np.exp(eta).ravel()
        p = flat.shape[1]
        # per run: Σ w, Σ w x over its rows and over its events, in one pass
        rows = np.empty((w.size, 2 * p + 2))
        rows[:, 0] = w
        rows[:, 1 : p + 1] = w[:, None] * flat
        rows[:, p + 1 :] = self.event[:, None] * rows[:, : p + 1]
        sums = self.by_run @ rows
        risk = self._within(sums[:, : p + 1], suffix=True)  # over the risk set: the runs from this one on
        r0, r1 = risk[:, 0], risk[:, 1:]
        d0, d1 = sums[:, p + 1], sums[:, p + 2 :]
        s0 = r0[self.tie] - self.frac * d0[self.tie]
        inv = 1.0 / s0
        a0 = np.bincount(self.tie, inv, minlength=J)
        b0 = np.bincount(self.tie, self.frac * inv, minlength=J)
        loglik = np.sum(self.event.reshape(eta.shape) * eta, axis=1) - np.bincount(
            self.tie_frame, np.log(s0), minlength=size
        )
        score = self.by_frame @ (self.x_events - r1 * a0[:, None] + d1 * b0[:, None])
        # Σ_t (a_t R2_t - b_t D2_t) as one weighted cross-product per frame
        prefix = self._within(a0[:, None], suffix=False)[:, 0]
        omega = (w * (prefix[self.row_run] - self.event * b0[self.row_run])).reshape(eta.shape)
        second = np.matmul((self.X * omega[:, :, None]).transpose(0, 2, 1), self.X)
        # Σ_k (R1 - f_k D1)(R1 - f_k D1)' / S0_k² = c0 R1 R1' - c1 (R1 D1' + D1 R1') + c2 D1 D1' summed over
        # each frame's event times: R1' (c0 R1 - c1 D1) + D1' (c2 D1 - c1 R1), two products per frame
        inv2 = inv * inv
        ev = self.with_events
        c0, c1, c2 = (
            np.bincount(self.tie, v, minlength=J)[ev, None]
            for v in (inv2, self.frac * inv2, self.frac**2 * inv2)
        )
        R1, D1 = r1[ev], d1[ev]
        left, right = c0 * R1 - c1 * D1, c2 * D1 - c1 * R1
        outer = np.empty((size, R1.shape[1], R1.shape[1]))
        for b, (lo, hi) in enumerate(self.ev_bounds):
            outer[b] = R1[lo:hi].T @ left[lo:hi] + D1[lo:hi].T @ right[lo:hi]
        return loglik, score, outer - second


def _directions(h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(-h)⁻¹ g`` per frame, and whether ``-h`` is positive definite (lifelines solves by Cholesky)."""
    a = -h
    ok = np.ones(len(a), dtype=bool)
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        for b in range(len(a)):
            try:
                np.linalg.cholesky(a[b])
            except np.linalg.LinAlgError:
                ok[b] = False
    out = np.zeros_like(g)
    if ok.any():
        out[ok] = np.linalg.solve(a[ok], g[ok][:, :, None])[:, :, 0]
    return out, ok


def efron_fits(evaluate: _Efron, p: int, fit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lifelines' Newton-Raphson for the Efron partial likelihood (module docstring) for every frame with
    ``fit``, on the standardised columns.

    Returns
    -------
    beta, hessian, success
        ``(frames, p)`` coefficients where lifelines stops, the Hessian there, and whether lifelines would
        accept the fit at its first attempt (converged, ``|δ| <= 0.1`` at the end).
    """
    size = len(fit)
    beta = np.zeros((size, p))
    delta = np.zeros((size, p))
    step = np.full(size, STEP_SIZE)
    temper = np.zeros(size, dtype=bool)
    norms: list[np.ndarray] = []
    previous = np.zeros(size)
    active = fit.copy()
    success = np.zeros(size, dtype=bool)
    final_beta = np.zeros((size, p))
    final_h = np.zeros((size, p, p))
    final_norm = np.zeros(size)
    for i in range(1, MAX_STEPS + 1):
        if not active.any():
            break
        beta[active] += step[active, None] * delta[active]
        loglik, g, h = evaluate(beta)
        delta, positive = _directions(np.where(active[:, None, None], h, -np.eye(p)), g)
        finite = positive & np.all(np.isfinite(delta), axis=1) & np.isfinite(loglik)
        norm = np.sqrt(np.sum(delta * delta, axis=1))
        decrement = np.sum(g * delta, axis=1) / 2
        relative = np.abs(loglik - previous) / -previous
        converged = (
            (norm < PRECISION) | ((previous != 0) & (relative < R_PRECISION)) | (decrement < PRECISION)
        )
        failed = ~finite | (
            ~converged & ((i >= MAX_STEPS) | (step <= 0.00001) | ((np.abs(loglik) < 0.0001) & (norm > 1.0)))
        )
        stop = active & (converged | failed)
        final_beta[stop], final_h[stop], final_norm[stop] = beta[stop], h[stop], norm[stop]
        success[stop] = converged[stop] & ~failed[stop]
        active &= ~stop
        previous = loglik
        # lifelines' StepSizer.update(norm_delta).next()
        norms.append(norm)
        step = np.where(temper, np.minimum(step * 1.3, STEP_SIZE), step)
        large, middle = norm >= 15.0, (norm < 15.0) & (norm > 5.0)
        step = np.where(large, step * 0.1, np.where(middle, step * 0.25, step))
        temper |= large | middle
        if len(norms) >= 3:
            decreasing = np.all(np.diff(np.stack(norms[-3:]), axis=0) < 0, axis=0)
            step = np.where(decreasing, np.minimum(step * 1.3, 1.0), step * 0.98)
    return final_beta, final_h, success & (final_norm <= 0.1)


def _cox(batch: Batch) -> Records:
    from ipstrial.stats.normal import p_two_sided, wald_interval

    k = len(ARMS)
    treated = [ARMS.index(t) for t in TREATMENTS]
    arm, time, event = survival_columns(batch)
    _, covariates = batch.design(_COVARIATES)
    strata, site = batch.labels(STRATA)
    batch.ok &= untied(time)
    status = (event == CAUSE).astype(float)
    size, n = status.shape
    events = np.stack([np.sum(status * (arm == a), axis=1) for a in range(k)], axis=1)
    batch.ok &= np.all(events > 0, axis=1)  # an arm without events: the reference raises
    X = np.concatenate([(arm[:, :, None] == np.array(treated)).astype(float), covariates], axis=2)
    p = X.shape[2]
    columns = X.transpose(0, 2, 1)  # each column's statistics along its own values
    mean = columns.mean(axis=2)[:, None, :]
    sd = columns.std(axis=2, ddof=1)[:, None, :]
    batch.ok &= np.all(sd[:, 0, :] ** 2 >= LOW_VARIANCE, axis=1)
    runs = risk_runs(time.ravel(), status.ravel(), (np.arange(size)[:, None] * len(strata) + site).ravel())
    # the candidates of the separation check: every arm, every level of a text covariate, every number
    candidates = [(arm == a).astype(float) for a in range(k)]
    for column in _COVARIATES:
        if batch.numeric(column):
            candidates.append(batch.numbers(column))
        else:
            levels, codes = batch.labels(column)
            candidates += [(codes == j).astype(float) for j in range(len(levels))]
    batch.ok &= ~separated(runs, np.stack(candidates, axis=2), status, size * len(strata))
    standard = np.where(batch.ok[:, None, None], (X - mean) / sd, 0.0)
    sorted_x = standard.reshape(size * n, p)[runs.order].reshape(size, n, p)
    evaluate = _Efron(runs, sorted_x, status.ravel()[runs.order], len(strata))
    beta, h, success = efron_fits(evaluate, p, batch.ok.copy())
    batch.ok &= success
    scale = sd[:, 0, :]
    coef = beta / scale
    cov = np.zeros((size, p, p))
    if batch.ok.any():
        cov[batch.ok] = np.linalg.inv(-h[batch.ok]) / (scale[batch.ok, :, None] * scale[batch.ok, None, :])
    se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    low, high = wald_interval(coef, se, ALPHA)
    pvalue = p_two_sided(coef, se)
    return [
        [
            record(
                contrast_label(t, CONTROL),
                np.exp(coef[b, j]),
                se[b, j],
                np.exp(low[b, j]),
                np.exp(high[b, j]),
                pvalue[b, j],
            )
            for j, t in enumerate(TREATMENTS)
        ]
        for b in range(size)
    ]


def cox_hazard_ratio(frames: Sequence[Any]) -> Records:
    """Records of ``cox_hazard_ratio`` for every frame (module docstring); None for a frame it leaves to
    the reference."""
    return by_chunks(frames, ROW_BYTES, _cox, text=(STRATA, *_COVARIATES))
