"""Batched model-fitting kernels shared by the estimators (bootstrap refits of GLMs).

Every replicate of a bootstrap is a set of frequency weights ``W[b]`` (resampling counts) on the
same design matrix ``X``; fitting all replicates at once replaces a Python loop over model fits.
``newton_batch`` maximises a GLM log-likelihood for every weight row together (Newton-Raphson,
McCullagh & Nelder 1989, sec. 2.5), ``solve_batch`` solves the stacked linear systems, and
``well_conditioned`` / ``check_rank`` guard against rank-deficient designs. :func:`glm_derivatives` gives the
per-participant derivatives of the GLMs the package fits (logistic, gamma with log link), so that every
estimator (marginal effects, two-part models, multiple imputation, cost-effectiveness) uses this one
Newton iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ipstrial.errors import EstimationError

__all__ = ["check_rank", "glm_derivatives", "newton_batch", "products", "solve_batch", "well_conditioned"]


def check_rank(X: np.ndarray, names: Sequence[str], where: str) -> None:
    """Every model column must add information: an EstimationError naming those that do not.

    A column is redundant when it is a linear combination of the columns before it (the intercept,
    the arm indicators and earlier covariate terms): e.g. two covariates coding the same information,
    a covariate without variation, or a level absent among the participants analysed.
    """
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    redundant = []
    kept: list[int] = []
    for j in range(X.shape[1]):
        trial = [*kept, j]
        if np.linalg.matrix_rank(X[:, trial]) == len(trial):
            kept = trial
        else:
            redundant.append(str(names[j]))
    raise EstimationError(
        f"{where} cannot be fitted: the term(s) {redundant} are linear combinations of the arm "
        "indicators, the intercept and earlier covariate terms (e.g. two covariates coding the same "
        "information, or a level absent among the participants analysed). Fix: drop one of the collinear "
        "covariates from covariates="
    )


def solve_batch(A: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``A[b] x = g[b]``; replicates with a singular matrix get NaN and flag False."""
    try:
        return np.linalg.solve(A, g[..., None])[..., 0], np.ones(A.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        out = np.full(g.shape, np.nan)
        ok = np.zeros(A.shape[0], dtype=bool)
        for b in range(A.shape[0]):
            try:
                out[b] = np.linalg.solve(A[b], g[b])
                ok[b] = True
            except np.linalg.LinAlgError:
                pass
        return out, ok


def products(X: np.ndarray) -> np.ndarray:
    """The ``n x p²`` matrix ``Q`` of the products ``x_i x_i'``: a weight row times it is ``X' diag(w) X``.

    It depends on the design only: a bootstrap computes it once, not once per chunk of replicates
    (``8 n p²`` bytes).
    """
    n, p = X.shape
    return (X[:, :, None] * X[:, None, :]).reshape(n, p * p)


def well_conditioned(A: np.ndarray) -> np.ndarray:
    """Replicates whose weighted cross-product ``A[b] = X' diag(w_b) X`` (``(B, p, p)``) is well
    conditioned: the smallest eigenvalue of its correlation form above ``1e-10`` times the largest."""
    scale = np.sqrt(np.einsum("bii->bi", A))
    scale[scale == 0] = 1.0
    eig = np.linalg.eigvalsh(A / scale[:, :, None] / scale[:, None, :])
    return eig[:, 0] > 1e-10 * np.maximum(eig[:, -1], 1e-300)


def newton_batch(
    X: np.ndarray,
    W: np.ndarray,
    start: np.ndarray,
    derivatives: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    tol: float = 1e-10,
    maxiter: int = 50,
    Q: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson for a GLM log-likelihood ``Σ_i w_bi ℓ_i(x_i'β_b)``, every weight row at once.

    ``derivatives(eta)`` returns ``(ℓ'(η), -ℓ''(η))`` elementwise for ``eta`` of shape ``(B, n)``;
    the step of replicate ``b`` solves ``[Σ_i w_bi (-ℓ''_i) x_i x_i'] δ = Σ_i w_bi ℓ'_i x_i``. ``W`` is
    ``(B, n)`` frequency weights (bootstrap counts). Returns ``(B, p)`` coefficients and a flag per
    replicate: converged (largest step below ``tol`` relative to the coefficients), with a full-rank
    weighted design and coefficients below 50 in absolute value (larger ones signal separation). ``Q``:
    :func:`products` of ``X``, when the caller has it (a bootstrap refits chunk after chunk).
    """
    p = X.shape[1]
    Q = products(X) if Q is None else Q
    beta = np.tile(np.asarray(start, dtype=float), (W.shape[0], 1))
    ok = well_conditioned((W @ Q).reshape(-1, p, p))
    active = ok.copy()
    converged = np.zeros(W.shape[0], dtype=bool)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        first, second = derivatives(beta[idx] @ X.T)
        weights = W[idx]
        step, solved = solve_batch(((weights * second) @ Q).reshape(-1, p, p), (weights * first) @ X)
        beta[idx] += np.where(solved[:, None], step, 0.0)
        largest = np.max(np.abs(beta[idx]), axis=1)
        done = solved & (np.max(np.abs(step), axis=1) < tol * (1.0 + largest))
        failed = ~solved | ~(largest < 50)
        converged[idx[done & ~failed]] = True
        active[idx[done | failed]] = False
    return beta, converged & ok


def glm_derivatives(family: str, y: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``η -> (ℓ'(η), -ℓ''(η))`` per participant for :func:`newton_batch`.

    ``"logistic"`` (binomial, logit link): ``ℓ' = y − μ``, ``−ℓ'' = μ(1 − μ)``, ``μ = 1/(1 + e^{−η})``
    (the canonical link: Newton equals IRLS). ``"gamma-log"`` (gamma, log link; per unit dispersion
    ``ℓ = −y e^{−η} − η``, McCullagh & Nelder 1989, sec. 8.3, the estimate not depending on the
    dispersion): ``ℓ' = y/μ − 1``, ``−ℓ'' = y/μ > 0`` (the observed information; concave, so Newton
    converges from any reasonable start). ``"gaussian"`` (identity link): ``ℓ' = y − η``, ``−ℓ'' = 1``.

    Parameters
    ----------
    family
        ``"logistic"``, ``"gamma-log"`` or ``"gaussian"``.
    y
        The outcome, shape ``(n,)`` (broadcast against ``η`` of shape ``(B, n)``).
    """
    y = np.asarray(y, dtype=float)
    if family == "logistic":
        from scipy.special import expit

        def logistic(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            prob = expit(eta)
            return y - prob, prob * (1.0 - prob)

        return logistic
    if family == "gamma-log":

        def gamma(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ratio = y * np.exp(-eta)
            return ratio - 1.0, ratio

        return gamma
    if family == "gaussian":

        def gaussian(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return y - eta, np.ones_like(eta)

        return gaussian
    raise ValueError(f"unknown GLM family {family!r}")
