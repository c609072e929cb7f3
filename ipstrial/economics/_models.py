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

The bootstrap refits BOTH models on every resample (the same counts as frequency weights): OLS by
batched normal equations, the GLMs by :func:`ipstrial._batched.newton_batch` started at the point
estimate, chunk of replicates by chunk (:func:`ipstrial.resampling.bootstrap_count_chunks` and
:func:`ipstrial.resampling.counts_in_data_order`), so the working memory is one chunk's weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._batched import check_rank, full_rank, glm_derivatives, newton_batch, solve_batch
from ipstrial._inputs import design_matrix
from ipstrial._memory import CHUNK_BYTES
from ipstrial._random import SeedLike
from ipstrial.errors import EstimationError
from ipstrial.resampling import bootstrap_count_chunks, counts_in_data_order

_FAMILY = {"gamma": "gamma-log", "logistic": "logistic", "ols": "gaussian"}
"""The :func:`ipstrial._batched.glm_derivatives` family of each model."""


def link(model: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """Inverse link ``g`` and its derivative ``g'`` on the linear predictor."""
    if model == "ols":
        return (lambda eta: eta), (lambda eta: np.ones_like(eta))
    if model == "gamma":
        return np.exp, np.exp
    from scipy.special import expit

    return expit, (lambda eta: expit(eta) * (1.0 - expit(eta)))


def _expected_warnings() -> tuple[type[Warning], ...]:
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        DomainWarning,
        PerfectSeparationWarning,
    )

    return (ConvergenceWarning, PerfectSeparationWarning, DomainWarning, RuntimeWarning)


def fit_point(
    X: np.ndarray, y: np.ndarray, model: str, what: str, names: Sequence[str] | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Point estimate of a cost or effect model and the notes of its fit.

    OLS by least squares. A GLM is started by statsmodels' IRLS (Gamma with log link, or binomial)
    and polished by Newton's method to a step below 1e-10 (statsmodels' own deviance criterion can
    stall at rounding level). The warnings statsmodels gives for a start (no convergence, perfect
    separation, overflow) and the failures of the start (a singular system, perfect separation) are
    recorded as notes; Newton's method then decides, from zero if the start failed. Any other warning
    is passed on. A model that does not converge is an EstimationError; for a logistic model it names
    the model columns (``names``) that separate the outcome.
    """
    if model == "ols":
        return np.linalg.lstsq(X, y, rcond=None)[0], ()
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    family = sm.families.Gamma(sm.families.links.Log()) if model == "gamma" else sm.families.Binomial()
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start = np.asarray(sm.GLM(y, X, family=family).fit(tol=1e-8, maxiter=100).params, dtype=float)
        except (PerfectSeparationError, np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
            start = np.zeros(X.shape[1])
            notes.append(
                f"{what}: the statsmodels IRLS start failed ({type(exc).__name__}: {exc}); Newton's method "
                "started from 0"
            )
    expected = _expected_warnings()
    for record in caught:
        if issubclass(record.category, expected):
            notes.append(
                f"{what}: the statsmodels IRLS start warned ({record.category.__name__}: {record.message})"
            )
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)
    if not np.all(np.isfinite(start)):
        start = np.zeros(X.shape[1])
        notes.append(f"{what}: the statsmodels IRLS start was not finite; Newton's method started from 0")
    beta, ok = newton_batch(X, np.ones((1, len(y))), start, glm_derivatives(_FAMILY[model], y), maxiter=100)
    if not ok[0]:
        found = separation(X, y, names) if model == "logistic" and names is not None else []
        cause = (
            f": separation by {'; '.join(found)}"
            if found
            else " (with a logistic model usually separation: a covariate level or arm in which every "
            "participant has the same effect)"
        )
        raise EstimationError(
            f"the {what} did not converge{cause}; merge rare covariate levels, drop covariates or use the "
            "unadjusted analysis (covariates=None)"
        )
    return beta[0], tuple(notes)


def _everyone(k: int) -> str:
    """``"the one participant has"`` or ``"all <k> participants have"``, for a message."""
    return "the one participant has" if k == 1 else f"all {k} participants have"


def separation(X: np.ndarray, y: np.ndarray, names: Sequence[str]) -> list[str]:
    """The 0/1 model columns (arm indicators, covariate levels) among whose participants the 0/1
    outcome never varies -- (quasi-)complete separation of a logistic model (Albert & Anderson 1984,
    Biometrika 71:1), each as ``"<column:level> (all <k> participants with it have the outcome v)"``."""
    found = []
    for j, name in enumerate(names):
        column = X[:, j]
        if j == 0 or not np.all(np.isin(column, (0.0, 1.0))):
            continue
        members = column == 1.0
        values = np.unique(y[members])
        if members.any() and values.size == 1:
            found.append(f"{name} ({_everyone(int(members.sum()))} with it the outcome {values[0]:g})")
    return found


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
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    model: str,
    start: np.ndarray,
    arm_cols: list[int],
    Q: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Refit one model for every weight row; g-computation contrasts ``(B, T)`` and a success flag.

    ``Q`` (OLS only) is the ``n x p²`` matrix of the products ``x_i x_i'``, computed once by the caller.
    """
    n, p = X.shape
    if model == "ols":
        if Q is None:
            Q = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
        ok = full_rank(W, Q, p)
        beta, solved = solve_batch((W @ Q).reshape(-1, p, p), (W * y) @ X)
        ok &= solved & np.all(np.isfinite(beta), axis=1)
        return beta[:, arm_cols], ok
    beta, ok = newton_batch(X, W, start, glm_derivatives(_FAMILY[model], y))
    g, _ = link(model)
    keep = [j for j in range(p) if j not in arm_cols]
    base = beta[:, keep] @ X[:, keep].T
    total = W.sum(axis=1)
    m_c = np.sum(W * g(base), axis=1) / total
    out = np.empty((W.shape[0], len(arm_cols)))
    for j, col in enumerate(arm_cols):
        out[:, j] = np.sum(W * g(base + beta[:, [col]]), axis=1) / total - m_c
    return out, ok & np.all(np.isfinite(out), axis=1)


@dataclass(frozen=True, eq=False)
class Adjusted:
    """The two fitted models: design matrices, coefficients, contrasts and their sandwich (co)variances."""

    X_cost: np.ndarray
    X_effect: np.ndarray
    beta_cost: np.ndarray
    beta_effect: np.ndarray
    cost_model: str
    effect_model: str
    arm_cols: list[int]
    delta_cost: np.ndarray
    delta_effect: np.ndarray
    var_cost: np.ndarray
    var_effect: np.ndarray
    cov: np.ndarray
    notes: tuple[str, ...]

    @property
    def p(self) -> int:
        """The larger number of model columns."""
        return max(self.X_cost.shape[1], self.X_effect.shape[1])


def working_bytes(n: int, p: int, chunk_bytes: float) -> float:
    """Memory of the adjusted analysis besides what the result keeps: designs, ``x x'`` products, chunks.

    Two designs and their ``n x p²`` products (one held by the OLS refits, one built by each Newton
    call), the influence values, and about ten arrays of one chunk's weights in the Newton iterations.
    """
    return 8.0 * n * (4 * p + 2 * p * p + 8) + 10.0 * chunk_bytes


def designs(
    frame: pd.DataFrame,
    arms: np.ndarray,
    treatments: Sequence[str],
    arm: str,
    covariates: Sequence[str],
    baseline_utility: str | None,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """The design matrices of the cost and the effect model (full rank, else an EstimationError) and the
    names of their columns (``(Intercept)``, ``<arm>:<treatment>``, covariates and ``covariate:level``)."""
    n = len(frame)
    indicators = np.column_stack([(arms == t).astype(float) for t in treatments])
    dm_cost = design_matrix(frame, covariates)
    dm_effect = design_matrix(
        frame, (*covariates, baseline_utility) if baseline_utility else tuple(covariates)
    )
    X_cost = np.column_stack([np.ones(n), indicators, dm_cost.to_numpy(dtype=float)])
    X_eff = np.column_stack([np.ones(n), indicators, dm_effect.to_numpy(dtype=float)])
    base_names = ["(Intercept)", *(f"{arm}:{t}" for t in treatments)]
    names_cost = [*base_names, *map(str, dm_cost.columns)]
    names_effect = [*base_names, *map(str, dm_effect.columns)]
    check_rank(X_cost, names_cost, "the cost model")
    check_rank(X_eff, names_effect, "the effect model")
    return X_cost, X_eff, names_cost, names_effect


def fit_adjusted(
    X_cost: np.ndarray,
    X_eff: np.ndarray,
    cost: np.ndarray,
    effect: np.ndarray,
    n_treatments: int,
    cost_model: str,
    effect_model: str,
    names: tuple[Sequence[str], Sequence[str]] | None = None,
) -> Adjusted:
    """Fit both models and the joint sandwich variance of their g-computation contrasts."""
    n = len(cost)
    arm_cols = list(range(1, 1 + n_treatments))
    names_cost, names_effect = names if names is not None else (None, None)
    beta_c, notes_c = fit_point(X_cost, cost, cost_model, f"{cost_model} cost model", names_cost)
    beta_e, notes_e = fit_point(X_eff, effect, effect_model, f"{effect_model} effect model", names_effect)
    point_c, psi_c = influence(X_cost, cost, beta_c, cost_model, arm_cols)
    point_e, psi_e = influence(X_eff, effect, beta_e, effect_model, arm_cols)
    return Adjusted(
        X_cost,
        X_eff,
        beta_c,
        beta_e,
        cost_model,
        effect_model,
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
    sizes: Sequence[int],
    n_resamples: int,
    seed: SeedLike,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bootstrap contrasts of both refitted models: ``ΔC (B, T)``, ``ΔE (B, T)`` and a flag per replicate.

    The counts are those of ``bootstrap_counts(sizes, n_resamples, seed)`` (groups in the order of
    ``sizes``; ``codes[i]`` the group of row ``i``), drawn and used chunk by chunk: each chunk's counts
    become frequency weights in data order and both models are refitted on every replicate of the chunk.
    """
    n_t = len(fit.arm_cols)
    dc = np.empty((n_resamples, n_t))
    de = np.empty((n_resamples, n_t))
    ok = np.zeros(n_resamples, dtype=bool)
    Q_cost = Q_effect = None
    if fit.cost_model == "ols":
        n, p = fit.X_cost.shape
        Q_cost = (fit.X_cost[:, :, None] * fit.X_cost[:, None, :]).reshape(n, p * p)
    if fit.effect_model == "ols":
        n, p = fit.X_effect.shape
        Q_effect = (fit.X_effect[:, :, None] * fit.X_effect[:, None, :]).reshape(n, p * p)
    for rows, counts in bootstrap_count_chunks(sizes, n_resamples, seed, chunk_bytes):
        W = counts_in_data_order(counts, codes).astype(float)
        del counts
        dc[rows], ok_c = boot_fits(fit.X_cost, cost, W, fit.cost_model, fit.beta_cost, fit.arm_cols, Q_cost)
        de[rows], ok_e = boot_fits(
            fit.X_effect, effect, W, fit.effect_model, fit.beta_effect, fit.arm_cols, Q_effect
        )
        ok[rows] = ok_c & ok_e
    return dc, de, ok
