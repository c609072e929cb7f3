"""Kernel of the study's covariate-adjusted marginal risk difference (``rd_adjusted_ye``).

It is :func:`ipstrial.itt.marginal_effect` of ``employed_18m`` with the study's covariates, strata site x
previous employment and the defaults (``variance="ye"``, ``model_arms="all"``), its rows
``risk_difference`` per treatment, for every frame of a chunk at once:

1. the logistic working model ``logit P(Y = 1 | A, X) = β_0 + Σ_t β_t 1{A = t} + γ'X`` on every arm (the
   columns of :func:`ipstrial.itt._common.model_matrix`), fitted by Newton's method on the design with
   its non-intercept columns centred, every frame's own design at once (:func:`logistic_fits`), to the
   criterion of :func:`ipstrial._batched.newton_batch`: the largest step below
   ``1e-10 (1 + max |β|)``, coefficients below 50, a well-conditioned design. Newton converges
   quadratically, so the fit is the maximum likelihood estimate to rounding, wherever it started
   (the reference starts from statsmodels' IRLS, this kernel from the overall mean);
2. g-computation ``θ̂_a = n⁻¹ Σ_i μ(x_i(a)'β̂)`` for every arm;
3. the variance of Ye, Shao, Yi & Zhao (2023, JASA 118:2370-2382) as RobinCar2's ``vcovG``
   (``decompose = TRUE``): ``d_a = [S²_a + Σ_aa − 2 C_a(a)] / π_a``,
   ``V_ab = 1{a=b} d_a + C_b(a) + C_a(b) − Σ_ab``, minus the stratified permuted-block correction
   ``M_ab = Σ_z p_z [1{a=b} r_a(z)² / π_a − r_a(z) r_b(z)]`` (Ye, Yi & Shao 2022, Biometrika 109:33-47;
   Bannick et al. 2025, Biometrika 112:881-908), ``Var(θ̂) = (V − M) / n``, with the moments over
   ``n − 1`` computed two-pass as :func:`numpy.cov` does (:func:`ye_covariance`; the notation is that of
   :mod:`ipstrial.itt.marginal`);
4. ``θ̂_t − θ̂_c`` with ``se² = g' Var(θ̂) g``, the Wald interval and p-value of
   :mod:`ipstrial.stats.normal`.

A frame the reference refuses or treats otherwise goes back to it (None): an outcome without variation, a
fit that does not converge, fitted probabilities within 1e-7 of 0 or 1 (where the reference looks for
separation), a covariate without variation or a level missing from the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ipstrial.validation._estimators import _COVARIATES
from ipstrial.validation._kernels_common import (
    ARMS,
    CONTROL,
    TREATMENTS,
    Batch,
    Records,
    by_chunks,
    wald_records,
)

__all__ = ["logistic_fits", "rd_adjusted_ye", "ye_covariance"]

OUTCOME = "employed_18m"
STRATA = ("site", "employed_prev5y")
"""The strata of the study's call (:func:`ipstrial.validation._estimators._marginal`)."""
ROW_BYTES = 8.0 * 4 * 12
"""Bytes per participant of the largest working arrays (four of participants x up to 12 columns), which
size the chunks (:func:`ipstrial.validation._kernels_common.size_chunks`: about 7 frames of 720)."""
MAXITER = 100
"""Newton iterations, as :func:`ipstrial._glm.fit_glm`."""


def logistic_fits(X: np.ndarray, y: np.ndarray, fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic maximum likelihood fits of ``y[b]`` on ``X[b]`` for every frame ``b`` with ``fit[b]``.

    Newton-Raphson as :func:`ipstrial._batched.newton_batch` (its step, convergence criterion and
    flags), with a design of its own per frame, ``X`` of shape ``(frames, n, p)`` (the first column the
    intercept, the others centred), from ``β = (logit ȳ, 0, …, 0)``. The derivatives are
    :func:`ipstrial._batched.glm_derivatives`, the solves :func:`ipstrial._batched.solve_batch`.

    Returns
    -------
    beta, converged
        ``(frames, p)`` coefficients and the flag of :func:`~ipstrial._batched.newton_batch`.
    """
    from ipstrial._batched import glm_derivatives, solve_batch, well_conditioned

    size, _, p = X.shape
    beta = np.zeros((size, p))
    mean = np.clip(y.mean(axis=1), 1e-12, 1 - 1e-12)
    beta[:, 0] = np.log(mean / (1 - mean))
    ok = well_conditioned(np.matmul(X.transpose(0, 2, 1), X)) & fit
    active = ok.copy()
    converged = np.zeros(size, dtype=bool)
    for _ in range(MAXITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Xa = X[idx]
        first, second = glm_derivatives("logistic", y[idx])(np.matmul(Xa, beta[idx, :, None])[:, :, 0])
        information = np.matmul((Xa * second[:, :, None]).transpose(0, 2, 1), Xa)
        step, solved = solve_batch(information, np.matmul(Xa.transpose(0, 2, 1), first[:, :, None])[:, :, 0])
        beta[idx] += np.where(solved[:, None], step, 0.0)
        largest = np.max(np.abs(beta[idx]), axis=1)
        done = solved & (np.max(np.abs(step), axis=1) < 1e-10 * (1.0 + largest))
        failed = ~solved | ~(largest < 50)
        converged[idx[done & ~failed]] = True
        active[idx[done | failed]] = False
    return beta, converged & ok


def ye_covariance(
    y: np.ndarray, arm: np.ndarray, preds: np.ndarray, strata: np.ndarray, zones: int
) -> np.ndarray:
    """``Var(θ̂)`` of Ye et al. (2023) with the stratified-block correction, per frame (module docstring).

    Parameters
    ----------
    y, arm, strata
        ``(frames, n)``: outcomes, arm codes ``0..k-1`` and joint strata codes ``0..zones-1``.
    preds
        ``(frames, k, n)``: ``μ̂_a(x_i)``.
    zones
        The number of strata codes.

    Returns
    -------
    ``(frames, k, k)`` covariance matrices.
    """
    size, k, n = preds.shape
    member = arm[:, None, :] == np.arange(k)[None, :, None]  # (frames, k, n)
    n_a = member.sum(axis=2).astype(float)
    pi = n_a / n
    centred = preds - preds.mean(axis=2, keepdims=True)
    sigma = np.matmul(centred, centred.transpose(0, 2, 1)) / (n - 1)
    y_bar = np.where(member, y[:, None, :], 0.0).sum(axis=2) / n_a
    y_c = np.where(member, y[:, None, :] - y_bar[:, :, None], 0.0)  # (frames, a, n)
    p_bar = np.where(member[:, :, None, :], preds[:, None, :, :], 0.0).sum(axis=3) / n_a[:, :, None]
    p_c = np.where(member[:, :, None, :], preds[:, None, :, :] - p_bar[:, :, :, None], 0.0)
    C = (y_c[:, :, None, :] * p_c).sum(axis=3) / (n_a - 1)[:, :, None]  # C[a, c] = cov_a(Y, μ̂_c)
    s2 = np.sum(y_c**2, axis=2) / (n_a - 1)
    diagonal = np.arange(k)
    d = (s2 + sigma[:, diagonal, diagonal] - 2 * C[:, diagonal, diagonal]) / pi
    V = C + C.transpose(0, 2, 1) - sigma
    V[:, diagonal, diagonal] += d
    residual = y - np.take_along_axis(preds, arm[:, None, :], axis=1)[:, 0, :]
    cell = (np.arange(size)[:, None] * zones + strata) * k + arm
    count = np.bincount(cell.ravel(), minlength=size * zones * k).reshape(size, zones, k)
    sums = np.bincount(cell.ravel(), weights=residual.ravel(), minlength=size * zones * k).reshape(
        size, zones, k
    )
    with np.errstate(divide="ignore", invalid="ignore"):  # empty cells: r = 0
        r = np.where(count > 0, sums / count, 0.0)  # (frames, z, a): mean residual of arm a in stratum z
    p_z = count.sum(axis=2) / n
    M = np.zeros((size, k, k))
    for z in range(zones):  # one stratum after the other (an empty one adds exactly nothing)
        rz = r[:, z, :]
        part = -rz[:, :, None] * rz[:, None, :]
        part[:, diagonal, diagonal] += rz**2 / pi
        M += p_z[:, z, None, None] * part
    return (V - M) / n


def _ye(batch: Batch) -> Records:
    from scipy.special import expit

    k = len(ARMS)
    c = ARMS.index(CONTROL)
    treated = [ARMS.index(t) for t in TREATMENTS]
    arm = batch.arms()
    y = batch.numbers(OUTCOME)
    batch.ok &= np.all((y == 0) | (y == 1), axis=1)
    batch.ok &= np.any(y != y[:, :1], axis=1)  # an outcome without variation: the reference raises
    _, covariates = batch.design(_COVARIATES)
    strata, zones = batch.strata(STRATA)
    size, n = y.shape
    indicators = (arm[:, :, None] == np.array(treated)).astype(float)
    X = np.concatenate([np.ones((size, n, 1)), indicators, covariates], axis=2)
    shift = X.transpose(0, 2, 1).mean(axis=2)  # each column's mean, along its own values
    shift[:, 0] = 0.0
    beta_c, converged = logistic_fits(X - shift[:, None, :], y, batch.ok)
    beta = beta_c.copy()  # back to the uncentred design (ipstrial._glm.uncentre, per frame)
    beta[:, 0] = beta_c[:, 0] - np.sum(beta_c[:, 1:] * shift[:, 1:], axis=1)
    base = beta[:, :1] + np.matmul(covariates, beta[:, 1 + len(treated) :, None])[:, :, 0]
    arm_effect = np.zeros((size, k))
    arm_effect[:, treated] = beta[:, 1 : 1 + len(treated)]
    preds = expit(base[:, None, :] + arm_effect[:, :, None])  # (frames, k, n): μ̂_a(x_i)
    mu = np.take_along_axis(preds, arm[:, None, :], axis=1)[:, 0, :]
    # not converged, or fitted probabilities where the reference looks for separation
    batch.ok &= converged & (np.min(np.minimum(mu, 1 - mu), axis=1) >= 1e-7)
    cov = ye_covariance(y, arm, preds, strata, zones)
    theta = preds.mean(axis=2)
    g = np.zeros((len(treated), k))
    g[np.arange(len(treated)), treated] = 1.0
    g[:, c] = -1.0
    diff = theta[:, treated] - theta[:, [c]]
    se = np.sqrt(np.sum(np.matmul(cov, g.T) * g.T, axis=1))  # √(g' Var(θ̂) g) per treatment
    return wald_records(diff, se)


def rd_adjusted_ye(frames: Sequence[Any]) -> Records:
    """Records of ``rd_adjusted_ye`` for every frame (module docstring); None for a frame it leaves to the
    reference."""
    return by_chunks(frames, ROW_BYTES, _ye, text=(*STRATA, *_COVARIATES))
