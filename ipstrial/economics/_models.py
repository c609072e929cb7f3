"""Covariate-adjusted cost and effect models of :func:`ipstrial.economics.cost_effectiveness`.

One cost model and one effect model, each with an intercept, one indicator per treatment arm and the
covariates (text columns as dummies, first sorted level the reference), fitted to all compared arms
(Nixon & Thompson 2005, Health Econ 14:1217; Manca, Hawkins & Sculpher 2005, Health Econ 14:487;
Mihaylova, Briggs, O'Hagan & Thompson 2011, Health Econ 20:897). Cost: OLS or a gamma GLM with log
link; effect: OLS or, for a 0/1 effect, logistic regression; a baseline utility enters the effect
model only.

``ΔC`` and ``ΔE`` are g-computation contrasts ``n⁻¹ Σ_i [g(x_i(t)'β̂) − g(x_i(c)'β̂)]`` over everyone
analysed (for OLS: the arm coefficient), with the joint M-estimation (sandwich) variance of the two
contrasts (Stefanski & Boos 2002, Am Stat 56:29): score ``U_i = x_i r_i``, bread
``A = n⁻¹ Σ_i h_i x_i x_i'`` (OLS ``r = y − η, h = 1``; logistic ``r = y − μ, h = μ(1 − μ)``; gamma
log link ``r = y/μ − 1, h = 1``, the expected information), influence value
``ψ_i = g(x_i(t)'β̂) − g(x_i(c)'β̂) − Δ + (D_t − D_c)' A⁻¹ U_i`` with
``D_a = n⁻¹ Σ_j g'(x_j(a)'β̂) x_j(a)``; ``Var(Δ) = Σ_i ψ_i² / n²``, ``Cov(ΔC, ΔE) = Σ_i ψ^C_i ψ^E_i / n²``
(for OLS this is the HC0 sandwich).

Point fits: OLS by least squares; the GLMs by :func:`ipstrial._glm.fit_glm` (statsmodels' start polished
by Newton's method, on the design with its non-intercept columns centred, so that a covariate with a
large offset such as a calendar year does not stall the fit); a logistic model that does not converge is
checked for separation (:func:`ipstrial._glm.logistic_separation`).

The bootstrap refits BOTH models on every resample (the same counts as frequency weights), on the
centred designs: OLS by batched normal equations, the GLMs by :func:`ipstrial._batched.newton_batch`
started at the point estimate, chunk of replicates by chunk (:func:`ipstrial._bootstrap.refitted_replicates`),
so the working memory is one chunk's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._batched import (
    check_rank,
    glm_derivatives,
    newton_batch,
    products,
    solve_batch,
    well_conditioned,
)
from ipstrial._bootstrap import refitted_replicates
from ipstrial._glm import centre, fit_glm, logistic_separation, uncentre
from ipstrial._inputs import Sample, design_matrix
from ipstrial._random import SeedLike
from ipstrial.errors import EstimationError

_FAMILY = {"gamma": "gamma-log", "logistic": "logistic", "ols": "gaussian"}
"""The :func:`ipstrial._batched.glm_derivatives` family of each model."""

_FIX = "merge rare covariate levels, drop covariates or use the unadjusted analysis (covariates=None)"


def link(model: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """Inverse link ``g`` and its derivative ``g'`` on the linear predictor."""
    if model == "ols":
        return (lambda eta: eta), (lambda eta: np.ones_like(eta))
    if model == "gamma":
        return np.exp, np.exp
    from scipy.special import expit

    return expit, (lambda eta: expit(eta) * (1.0 - expit(eta)))


@dataclass(frozen=True, eq=False)
class Model:
    """One fitted model: ``kind`` (``"ols"``, ``"gamma"``, ``"logistic"``), its design ``X`` and the
    centred design ``Xc = X − shift`` the bootstrap refits, the coefficients of ``X`` (``beta``) and, for a
    GLM, those of ``Xc`` (``beta_c``, the start of the refits)."""

    kind: str
    X: np.ndarray
    Xc: np.ndarray
    shift: np.ndarray
    beta: np.ndarray
    beta_c: np.ndarray | None


def fit_point(
    X: np.ndarray,
    y: np.ndarray,
    model: str,
    what: str,
    names: Sequence[str],
    sample: Sample,
    centred: tuple[np.ndarray, np.ndarray],
) -> tuple[Model, tuple[str, ...]]:
    """Point estimate of a cost or effect model and the notes of its fit.

    OLS by least squares. A GLM by :func:`ipstrial._glm.fit_glm` on the centred design (``centred``:
    ``centre(X)``): statsmodels' IRLS start, polished by Newton's method to a step below 1e-10; the warnings
    statsmodels gives for the start (no convergence, perfect separation, overflow) and its failures are
    recorded as notes, any other warning is passed on. A model that does not converge is an
    EstimationError; for a logistic model it names the arm or covariate level (the model term ``names``)
    that separates the outcome (:func:`ipstrial._glm.logistic_separation`, on the participants of
    ``sample``).
    """
    Xc, shift = centred
    if model == "ols":
        return Model(model, X, Xc, shift, np.linalg.lstsq(X, y, rcond=None)[0], None), ()
    fit = fit_glm(X, y, _FAMILY[model], what, keep_convergence=True)
    if not fit.converged:
        if model == "logistic":
            logistic_separation(
                X,
                y,
                names,
                sample,
                f"the {what}",
                "use the unadjusted analysis (covariates=None)",
                terms=True,
            )
        raise EstimationError(
            f"the {what} did not converge in 100 Newton iterations"
            + (" (the data are not separated)" if model == "logistic" else "")
            + f"; rescale numeric covariates, {_FIX}"
        )
    return Model(model, X, Xc, shift, fit.beta, fit.beta_c), fit.notes


def influence(
    X: np.ndarray, y: np.ndarray, beta: np.ndarray, model: str, arm_cols: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """g-computation contrasts ``Δ_t`` and their influence values ``ψ`` (``n x T``), see module docstring."""
    n = len(y)
    g, gprime = link(model)
    eta = X @ beta
    mu = g(eta)
    if model == "ols":
        r, h = y - eta, np.ones(n)
    elif model == "gamma":
        r, h = y / mu - 1.0, np.ones(n)
    else:
        r, h = y - mu, mu * (1.0 - mu)
    A = (X * h[:, None]).T @ X / n
    A_inv_U = np.linalg.solve(A, (X * r[:, None]).T).T
    Xc = X.copy()
    Xc[:, arm_cols] = 0.0
    eta_c = Xc @ beta
    m_c = g(eta_c)
    D_c = (gprime(eta_c)[:, None] * Xc).mean(axis=0)
    deltas = np.empty(len(arm_cols))
    psi = np.empty((n, len(arm_cols)))
    for j, col in enumerate(arm_cols):
        Xt = Xc.copy()
        Xt[:, col] = 1.0
        eta_t = eta_c + beta[col]
        m_t = g(eta_t)
        D_t = (gprime(eta_t)[:, None] * Xt).mean(axis=0)
        deltas[j] = np.mean(m_t - m_c)
        psi[:, j] = (m_t - m_c - deltas[j]) + A_inv_U @ (D_t - D_c)
    return deltas, psi


def boot_fits(
    fit: Model, y: np.ndarray, W: np.ndarray, arm_cols: list[int], Q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Refit one model for every weight row; g-computation contrasts ``(B, T)`` and a success flag.

    The refits are on the centred design ``fit.Xc``, ``Q`` its :func:`ipstrial._batched.products`,
    computed once by the caller. OLS: batched normal equations; the contrasts are the arm coefficients
    (centring moves only the intercept). A GLM: Newton's method from ``fit.beta_c``; the contrasts over
    ``fit.X`` with the coefficients mapped back (:func:`ipstrial._glm.uncentre`).
    """
    p = fit.X.shape[1]
    if fit.kind == "ols":
        A = (W @ Q).reshape(-1, p, p)
        beta, solved = solve_batch(A, (W * y) @ fit.Xc)
        ok = well_conditioned(A) & solved & np.all(np.isfinite(beta), axis=1)
        return beta[:, arm_cols], ok
    beta_c, ok = newton_batch(fit.Xc, W, fit.beta_c, glm_derivatives(_FAMILY[fit.kind], y), Q=Q)
    beta = uncentre(beta_c, fit.shift)
    g, _ = link(fit.kind)
    keep = [j for j in range(p) if j not in arm_cols]
    base = beta[:, keep] @ fit.X[:, keep].T
    total = W.sum(axis=1)
    m_c = np.sum(W * g(base), axis=1) / total
    out = np.empty((W.shape[0], len(arm_cols)))
    for j, col in enumerate(arm_cols):
        out[:, j] = np.sum(W * g(base + beta[:, [col]]), axis=1) / total - m_c
    return out, ok & np.all(np.isfinite(out), axis=1)


@dataclass(frozen=True, eq=False)
class Adjusted:
    """The two fitted models, their contrasts and their sandwich (co)variances."""

    cost: Model
    effect: Model
    arm_cols: list[int]
    delta_cost: np.ndarray
    delta_effect: np.ndarray
    var_cost: np.ndarray
    var_effect: np.ndarray
    cov: np.ndarray
    notes: tuple[str, ...]


def working_bytes(n: int, p: int, chunk_bytes: float) -> float:
    """Memory of the adjusted analysis besides what the result keeps: designs, ``x x'`` products, chunks.

    Two designs, their centred copies and their ``n x p²`` products (:func:`ipstrial._batched.products`,
    held by the refits), the influence values, and about ten arrays of one chunk's weights in the Newton
    iterations.
    """
    return 8.0 * n * (6 * p + 2 * p * p + 8) + 10.0 * chunk_bytes


def designs(
    frame: pd.DataFrame,
    arms: np.ndarray,
    treatments: Sequence[str],
    arm: str,
    covariates: Sequence[str],
    baseline_utility: str | None,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """The design matrices of the cost and the effect model (full rank, else an EstimationError) and the
    names of their columns (``(Intercept)``, ``<arm>:<treatment>``, covariates and ``covariate:level``).

    Without a baseline utility both models have the same design: one array is returned twice."""
    n = len(frame)
    indicators = np.column_stack([(arms == t).astype(float) for t in treatments])
    base_names = ["(Intercept)", *(f"{arm}:{t}" for t in treatments)]

    def design(columns: Sequence[str], model: str) -> tuple[np.ndarray, list[str]]:
        dm = design_matrix(frame, columns)
        X = np.column_stack([np.ones(n), indicators, dm.to_numpy(dtype=float)])
        names = [*base_names, *map(str, dm.columns)]
        check_rank(X, names, model)
        return X, names

    X_cost, names_cost = design(covariates, "the cost model")
    if baseline_utility is None:
        return X_cost, X_cost, names_cost, names_cost
    X_eff, names_effect = design((*covariates, baseline_utility), "the effect model")
    return X_cost, X_eff, names_cost, names_effect


def fit_adjusted(
    X_cost: np.ndarray,
    X_eff: np.ndarray,
    cost: np.ndarray,
    effect: np.ndarray,
    n_treatments: int,
    cost_model: str,
    effect_model: str,
    names: tuple[Sequence[str], Sequence[str]],
    sample: Sample,
) -> Adjusted:
    """Fit both models and the joint sandwich variance of their g-computation contrasts."""
    n = len(cost)
    arm_cols = list(range(1, 1 + n_treatments))
    centred_cost = centre(X_cost)
    centred_eff = centred_cost if X_eff is X_cost else centre(X_eff)
    fit_c, notes_c = fit_point(
        X_cost, cost, cost_model, f"{cost_model} cost model", names[0], sample, centred_cost
    )
    fit_e, notes_e = fit_point(
        X_eff, effect, effect_model, f"{effect_model} effect model", names[1], sample, centred_eff
    )
    point_c, psi_c = influence(X_cost, cost, fit_c.beta, cost_model, arm_cols)
    point_e, psi_e = influence(X_eff, effect, fit_e.beta, effect_model, arm_cols)
    return Adjusted(
        fit_c,
        fit_e,
        arm_cols,
        point_c,
        point_e,
        np.sum(psi_c**2, axis=0) / n**2,
        np.sum(psi_e**2, axis=0) / n**2,
        np.sum(psi_c * psi_e, axis=0) / n**2,
        (*notes_c, *notes_e),
    )


def adjusted_draws(
    fit: Adjusted,
    cost: np.ndarray,
    effect: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    n_resamples: int,
    seed: SeedLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Bootstrap contrasts of both refitted models: ``ΔC (B', T)``, ``ΔE (B', T)``, the numbers of the
    ``B'`` replicates refitted and how many could not be.

    The counts are those of ``bootstrap_counts(sizes, n_resamples, seed)`` (groups ``0 .. n_groups - 1``;
    ``codes[i]`` the group of row ``i``), drawn and used chunk by chunk by
    :func:`ipstrial._bootstrap.refitted_replicates`: each chunk's counts become frequency weights in data
    order and both models are refitted on every replicate of the chunk. More than 5 % of the replicates
    failing is an EstimationError.
    """
    n_t = len(fit.arm_cols)
    Q_cost = products(fit.cost.Xc)
    Q_effect = Q_cost if fit.effect.Xc is fit.cost.Xc else products(fit.effect.Xc)

    def refit(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dc, ok_c = boot_fits(fit.cost, cost, W, fit.arm_cols, Q_cost)
        de, ok_e = boot_fits(fit.effect, effect, W, fit.arm_cols, Q_effect)
        return np.hstack([dc, de]), ok_c & ok_e

    draws, failed, _, kept = refitted_replicates(  # type: ignore[misc]
        codes,
        n_groups,
        n_resamples,
        seed,
        2 * n_t,
        refit,
        kept_bytes=16.0 * n_resamples * n_t,
        estimator="cost_effectiveness",
        what="bootstrap replicates of the cost and effect models",
        why_fix="(a covariate level missing from the resample, or separation of the logistic effect model); "
        "merge rare covariate levels or drop covariates",
        group_streams=True,
        with_index=True,
    )
    return np.ascontiguousarray(draws[:, :n_t]), np.ascontiguousarray(draws[:, n_t:]), kept, failed
