"""Multiple imputation of missing outcomes by chained equations, separately by arm, pooled by Rubin's rules.

The imputation engine (predictive mean matching and logistic regression with drawn coefficients) is
written here with numpy; the logistic imputation model is fitted by the package's one Newton kernel
(:func:`ipstrial._batched.newton_batch`). Imputation ``j`` draws from random stream ``j`` spawned from
``seed`` (:func:`ipstrial._random.resolved_streams`), the arms in the sorted order of their labels, so
the same seed gives the same bits whether the data come as a DataFrame or a Trial, and the first ``k``
imputations do not depend on ``m``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_choice, check_count
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._memory import check_memory
from ipstrial._random import SeedLike, check_seed, resolved_streams
from ipstrial.errors import EstimationError, ParameterError
from ipstrial.missing._rows import estimate_row
from ipstrial.missing._sample import Setup, setup
from ipstrial.missing.pooling import RubinPooled, _pooled
from ipstrial.results import Result, Row, contrast_label

__all__ = ["DONORS", "RIDGE", "SWEEPS", "MultipleImputationResult", "multiple_imputation"]

Kind = Literal["binary", "continuous"]
KINDS = ("binary", "continuous")

DONORS = 5
"""Donors per missing value in predictive mean matching (the mice default)."""

SWEEPS = 10
"""Chained-equation sweeps when numeric covariates with missing values are imputed and ``n_iter`` is not
given."""

RIDGE = 1e-5
"""Ridge factor of the linear regression of predictive mean matching: ``RIDGE x diag(X'X)`` is added to
``X'X`` for numerical stability (mice's ``ridge`` argument of ``.norm.draw``)."""


# ---------------------------------------------------------------------------
# The imputation engine (one arm, one imputation)
# ---------------------------------------------------------------------------


def _standardise(x_obs: np.ndarray, x_mis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercept plus the non-constant columns, centred and scaled on the rows used for fitting."""
    if x_obs.shape[1]:
        mean = x_obs.mean(axis=0)
        sd = x_obs.std(axis=0)
        keep = sd > 1e-12 * np.maximum(1.0, np.abs(mean))
        z_obs = (x_obs[:, keep] - mean[keep]) / sd[keep]
        z_mis = (x_mis[:, keep] - mean[keep]) / sd[keep]
    else:
        z_obs, z_mis = x_obs, x_mis
    ones_obs = np.ones((len(z_obs), 1))
    ones_mis = np.ones((len(z_mis), 1))
    return np.hstack([ones_obs, z_obs]), np.hstack([ones_mis, z_mis])


def _chol_inverse(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of a symmetric positive definite matrix and the Cholesky factor of that inverse."""
    inverse = np.linalg.inv(matrix)
    inverse = (inverse + inverse.T) / 2.0
    return inverse, np.linalg.cholesky(inverse)


def _match(yhat_obs: np.ndarray, yhat_mis: np.ndarray, rng: np.random.Generator, donors: int) -> np.ndarray:
    """Index of one donor drawn at random among the ``donors`` observed rows closest in predicted mean.

    Ties are broken at random (the observed rows are shuffled before a stable sort). The ``d``
    nearest neighbours of a value inserted at position ``s`` of the sorted predictions lie within
    positions ``s - d .. s + d - 1``, so only that window is searched.
    """
    n_obs = len(yhat_obs)
    d = min(donors, n_obs)
    shuffle = rng.permutation(n_obs)
    order = shuffle[np.argsort(yhat_obs[shuffle], kind="stable")]
    ranked = yhat_obs[order]
    width = min(2 * d, n_obs)
    start = np.clip(np.searchsorted(ranked, yhat_mis) - d, 0, n_obs - width)
    window = start[:, None] + np.arange(width)[None, :]
    distance = np.abs(ranked[window] - yhat_mis[:, None])
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :d]
    pick = nearest[np.arange(len(yhat_mis)), rng.integers(0, d, size=len(yhat_mis))]
    return order[window[np.arange(len(yhat_mis)), pick]]


@dataclass(frozen=True, eq=False)
class _LinearModel:
    """The fitted linear regression of predictive mean matching (what does not depend on the draws)."""

    y_obs: np.ndarray
    z_obs: np.ndarray
    z_mis: np.ndarray
    beta: np.ndarray
    chol: np.ndarray
    rss: float
    df: int


def _pmm_fit(x_obs: np.ndarray, y_obs: np.ndarray, x_mis: np.ndarray) -> _LinearModel:
    """``β̂ = (X'X + κ diag X'X)⁻¹ X'y`` on standardised predictors, its ``V`` and residual sum of squares."""
    z_obs, z_mis = _standardise(x_obs, x_mis)
    q = z_obs.shape[1]
    xtx = z_obs.T @ z_obs
    xtx[np.diag_indices(q)] *= 1.0 + RIDGE
    v, chol = _chol_inverse(xtx)
    beta = v @ (z_obs.T @ y_obs)
    resid = y_obs - z_obs @ beta
    return _LinearModel(y_obs, z_obs, z_mis, beta, chol, float(resid @ resid), max(len(y_obs) - q, 1))


def _pmm_draw(model: _LinearModel, rng: np.random.Generator) -> np.ndarray:
    """Predictive mean matching with a Bayesian draw of the regression (van Buuren 2018, Algorithm 3.3).

    ``σ̇² = RSS / g`` with ``g ~ χ²(n_obs - q)``, ``β̇ = β̂ + σ̇ chol(V) z`` (Rubin 1987, p. 167); type-1
    matching: observed rows are predicted with ``β̂``, missing rows with ``β̇``, and each missing value
    takes the observed value of one of the :data:`DONORS` nearest observed rows, drawn at random.
    """
    sigma = math.sqrt(model.rss / rng.chisquare(model.df))
    beta_dot = model.beta + sigma * (model.chol @ rng.standard_normal(len(model.beta)))
    return model.y_obs[_match(model.z_obs @ model.beta, model.z_mis @ beta_dot, rng, DONORS)]


@dataclass(frozen=True, eq=False)
class _LogisticModel:
    """The fitted logistic imputation model: the missing rows' design, ``β̂`` and ``chol(V)``."""

    z_mis: np.ndarray
    beta: np.ndarray
    chol: np.ndarray


def _augmented(z_obs: np.ndarray, y_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The observed records plus the augmentation of White, Daniel & Royston (2010), with their weights.

    For each of the ``p`` standardised predictors, records at its mean ± one SD (clipped to the observed
    range; the others at their mean), one with each outcome value: ``4p`` records of total weight
    ``p + 1``; with no predictor, one record of each outcome value, weight 1/2 each.
    """
    p = z_obs.shape[1] - 1
    if p:
        low = z_obs[:, 1:].min(axis=0)
        high = z_obs[:, 1:].max(axis=0)
        blocks = []
        for j in range(p):
            for sign in (1.0, -1.0):
                record = np.zeros(p + 1)
                record[0] = 1.0
                record[1 + j] = np.clip(sign, low[j], high[j])
                blocks += [record, record]
        z_aug = np.vstack(blocks)
        y_aug = np.tile([0.0, 1.0], 2 * p)
        w_aug = np.full(4 * p, (p + 1) / (4 * p))
    else:
        z_aug = np.ones((2, 1))
        y_aug = np.array([0.0, 1.0])
        w_aug = np.array([0.5, 0.5])
    return (
        np.vstack([z_obs, z_aug]),
        np.concatenate([y_obs, y_aug]),
        np.concatenate([np.ones(len(y_obs)), w_aug]),
    )


def _logistic_fit(x_obs: np.ndarray, y_obs: np.ndarray, x_mis: np.ndarray, where: str) -> _LogisticModel:
    """The logistic imputation model: weighted MLE on the augmented records and its inverse information.

    The MLE is found by :func:`ipstrial._batched.newton_batch` with the logistic derivatives
    (:func:`ipstrial._batched.glm_derivatives`), the weights being those of the augmented records; ``V`` is
    the inverse of the information ``Z' diag(w μ(1 - μ)) Z`` at the MLE. The augmentation makes the
    log-likelihood strictly concave with a finite maximum whatever the data (no separation, and a full-rank
    information even when observed predictors are collinear), so no ridge is needed.
    """
    from ipstrial._batched import glm_derivatives, newton_batch

    z_obs, z_mis = _standardise(x_obs, x_mis)
    z, y, w = _augmented(z_obs, y_obs)
    derivatives = glm_derivatives("logistic", y)
    beta, converged = newton_batch(z, w[None, :], np.zeros(z.shape[1]), derivatives, maxiter=100)
    if not converged[0]:  # pragma: no cover - the augmented likelihood is strictly concave
        raise EstimationError(
            f"the logistic imputation model of {where} did not converge: a covariate predicts the outcome "
            "almost perfectly; drop it from covariates or use kind='continuous'"
        )
    _, second = derivatives(beta @ z.T)
    info = (z * (w * second[0])[:, None]).T @ z
    _, chol = _chol_inverse(info)
    return _LogisticModel(z_mis, beta[0], chol)


def _logistic_draw(model: _LogisticModel, rng: np.random.Generator) -> np.ndarray:
    """Linear predictor of the missing rows under coefficients drawn from their approximate posterior.

    ``β* = β̂ + chol(V) z`` with ``V`` the inverse information at the MLE (the normal approximation,
    Rubin 1987, p. 169; van Buuren 2018, section 3.6; mice's ``logreg``).
    """
    beta_star = model.beta + model.chol @ rng.standard_normal(len(model.beta))
    return model.z_mis @ beta_star


class _ArmImputer:
    """Completes the outcome of one arm, one imputation at a time (chained equations).

    Incomplete covariate columns start from random draws of their observed values and are imputed by PMM
    from the other covariates and the outcome, ``n_iter`` sweeps; the outcome by logistic regression
    (binary) or PMM (continuous) from the covariates. With complete covariates one sweep is exact, and
    the outcome model (which then does not depend on the draws) is fitted once for all imputations.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, kind: str, n_iter: int, where: str) -> None:
        self.x, self.y, self.kind, self.where = x, y, kind, where
        self.miss_y = np.isnan(y)
        self.gaps = [(j, np.isnan(x[:, j])) for j in range(x.shape[1]) if np.isnan(x[:, j]).any()]
        self.n_iter = n_iter if self.gaps else 1
        self.model = None
        if self.miss_y.any() and not self.gaps:
            self.model = self._fit(x[~self.miss_y], y[~self.miss_y], x[self.miss_y])

    def _fit(self, x_obs: np.ndarray, y_obs: np.ndarray, x_mis: np.ndarray) -> _LinearModel | _LogisticModel:
        if self.kind == "binary":
            return _logistic_fit(x_obs, y_obs, x_mis, self.where)
        return _pmm_fit(x_obs, y_obs, x_mis)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One completed outcome vector and, for a binary outcome, the thresholds of the missing rows.

        The thresholds are ``t_i = logit(u_i) - η_i`` (``u_i`` uniform, ``η_i`` the drawn linear
        predictor): the imputed value is 1 exactly when ``t_i <= 0``, and under a log-odds shift δ exactly
        when ``t_i <= δ``.
        """
        miss_y = self.miss_y
        y = self.y.copy()
        if not miss_y.any():
            return y, np.empty(0)
        x = self.x
        if self.gaps:
            x = x.copy()
            for j, gone in self.gaps:
                x[gone, j] = rng.choice(x[~gone, j], size=int(gone.sum()))
            y[miss_y] = rng.choice(y[~miss_y], size=int(miss_y.sum()))
        thresholds = np.empty(0)
        for _ in range(self.n_iter):
            for j, gone in self.gaps:
                others = np.column_stack([np.delete(x, j, axis=1), y])
                x[gone, j] = _pmm_draw(_pmm_fit(others[~gone], x[~gone, j], others[gone]), rng)
            model = self.model if self.model is not None else self._fit(x[~miss_y], y[~miss_y], x[miss_y])
            if self.kind == "binary":
                eta = _logistic_draw(model, rng)  # type: ignore[arg-type]
                u = rng.random(int(miss_y.sum()))
                with np.errstate(divide="ignore"):
                    thresholds = np.log(u) - np.log1p(-u) - eta
                y[miss_y] = (thresholds <= 0.0).astype(float)
            else:
                y[miss_y] = _pmm_draw(model, rng)  # type: ignore[arg-type]
        return y, thresholds


def _check_n_iter(n_iter: object) -> int | None:
    """``n_iter`` checked (None, or a whole number at least 1)."""
    return None if n_iter is None else check_count(n_iter, "n_iter", minimum=1)


def _sweeps(setup_: Setup, n_iter: int | None) -> int:
    """The chained-equation sweeps: ``n_iter`` (None: :data:`SWEEPS`) when numeric covariates and outcomes
    are missing, else 1 (one sweep is exact). An ``n_iter`` given where no sweeps are needed is refused:
    an argument given is never ignored."""
    if setup_.imputed_covariates and bool(np.isnan(setup_.y).any()):
        return SWEEPS if n_iter is None else int(n_iter)
    if n_iter is not None:
        why = (
            "no covariate has missing values"
            if not setup_.imputed_covariates
            else "no outcome is missing, so nothing is imputed"
        )
        raise ParameterError(
            f"n_iter={n_iter} sets the chained-equation sweeps, which apply only when numeric covariates "
            f"with missing values are imputed along with the outcome; here {why}, so one sweep is exact. "
            "Drop n_iter="
        )
    return 1


def _imputations(
    setup_: Setup, kind: str, sweeps: int, seed: SeedLike, m: int
) -> tuple[int | None, Iterator[dict[str, tuple[np.ndarray, np.ndarray]]]]:
    """The seed entropy and the ``m`` imputations, one at a time.

    ``sweeps`` comes from :func:`_sweeps`. Imputation ``j`` draws from stream ``j`` spawned from ``seed``
    and gives ``{arm: (completed outcome, thresholds)}``. The arms are imputed in the sorted order of
    their labels, so the draws do not depend on the order the arms are listed in; only one completed
    dataset is held at a time.
    """
    rngs, entropy = resolved_streams(seed, m)
    imputers = {}
    for label in sorted(setup_.sample.compared):
        rows = setup_.arms == label
        where = f"{setup_.outcome} in arm {label!r}"
        imputers[label] = _ArmImputer(setup_.X[rows], setup_.y[rows], kind, sweeps, where)
    draws = ({label: imputer.draw(rng) for label, imputer in imputers.items()} for rng in rngs)
    return entropy, draws


# ---------------------------------------------------------------------------
# Complete-data analyses
# ---------------------------------------------------------------------------


def _proportion_variance(p: Any, n: Any) -> Any:
    """The Wald variance ``p(1-p)/n`` of a proportion ``p`` of ``n`` (elementwise); a risk difference's is
    the sum over its two arms."""
    return p * (1.0 - p) / n


def _arm_stats(values: np.ndarray, kind: str) -> tuple[float, float]:
    """Arm mean (proportion) and the variance of that mean: ``p(1-p)/n`` or ``s²/n``."""
    n = len(values)
    mean = float(np.sum(values)) / n
    if kind == "binary":
        return mean, _proportion_variance(mean, n)
    return mean, float(np.var(values, ddof=1)) / n


# ---------------------------------------------------------------------------
# Multiple imputation
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MultipleImputationResult(Result):
    """Multiple imputation by chained equations, pooled by Rubin's rules.

    Attributes
    ----------
    outcome, kind, treatments, control, covariates
        What was analysed.
    imputed_covariates
        Numeric covariates whose missing values were imputed along with the outcome.
    m, n_iter
        Imputations and chained-equation sweeps (``n_iter`` is 1 when only the outcome is missing).
    contrasts
        ``{"IPS vs SAU": RubinPooled, ...}``: pooled risk or mean difference per treatment arm.
    arms
        ``{arm: RubinPooled}``: pooled proportion or mean per arm, in the declared order, with its
        interval and no p-value (NaN: a test of an arm's proportion or mean against 0 means nothing).
    missing, n
        Missing outcomes and participants per arm.
    estimates
        One line per imputation and arm (first) or contrast: ``imputation, contrast, estimand, estimate,
        variance``.
    method
        What was done, in words.
    analysis
        The ARD analysis name of every row.
    seed_entropy
        The integer that regenerates the draws (``seed=`` of a repeat run), None for a Generator seed.
    """

    outcome: str
    kind: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    imputed_covariates: tuple[str, ...]
    m: int
    n_iter: int
    contrasts: dict[str, RubinPooled]
    arms: dict[str, RubinPooled]
    missing: dict[str, int]
    n: dict[str, int]
    estimates: pd.DataFrame
    method: str
    alpha: float = 0.05
    analysis: str = "missing_multiple_imputation"
    seed_entropy: int | None = None

    def rows(self) -> tuple[Row, ...]:
        """Per arm (declared order) the pooled proportion or mean (no p-value), then per contrast
        (treatment order) the pooled difference."""
        labels = [(contrast_label(t, self.control), t, self.control) for t in self.treatments]
        pooled = [(estimate, arm, arm, None) for arm, estimate in self.arms.items()]
        pooled += [(self.contrasts[label], label, t, c) for label, t, c in labels]
        return tuple(
            estimate_row(
                self,
                estimate,
                contrast,
                estimate.estimand,
                arm,
                control,
                extra={
                    "m": self.m,
                    "fmi": estimate.fmi,
                    "df": estimate.df,
                    "within_variance": estimate.within,
                    "between_variance": estimate.between,
                },
            )
            for estimate, contrast, arm, control in pooled
        )


def _mi_method(setup_: Setup, kind: str, m: int, n_iter: int) -> str:
    model = (
        "logistic regression with coefficients drawn from the normal approximation to their posterior "
        "(likelihood augmented against perfect prediction, White et al. 2010)"
        if kind == "binary"
        else f"predictive mean matching ({DONORS} donors, type-1 matching, coefficients drawn)"
    )
    predictors = ", ".join(setup_.covariates) if setup_.covariates else "no covariates (intercept only)"
    text = (
        f"multiple imputation by chained equations (van Buuren & Groothuis-Oudshoorn 2011), m={m}, "
        f"imputed separately by arm; {setup_.outcome} by {model} on {predictors}"
    )
    if setup_.imputed_covariates:
        text += f"; covariates {', '.join(setup_.imputed_covariates)} by PMM, {plural(n_iter, 'sweep')}"
    analysis = "Wald risk difference" if kind == "binary" else "mean difference with Welch variance"
    df = "Rubin (1987) df" if kind == "binary" else "Barnard-Rubin (1999) df with complete-data df n - 2"
    return f"{text}; {analysis} in each completed dataset, pooled by Rubin's rules ({df})"


@shared_params
def multiple_imputation(
    data: Any,
    outcome: str,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    covariates: str | Sequence[str] | None = None,
    kind: Kind = "binary",
    m: int = 20,
    n_iter: int | None = None,
    seed: SeedLike = None,
    alpha: float = 0.05,
    id: str | None = None,
    analysis: str = "missing_multiple_imputation",
) -> MultipleImputationResult:
    """Multiple imputation of missing outcomes, separately by arm, pooled by Rubin's rules.

    Imputation (multivariate imputation by chained equations, van Buuren & Groothuis-Oudshoorn
    2011, J Stat Softw 45(3); van Buuren 2018, Flexible Imputation of Missing Data, ch. 4): within
    each arm separately (so the imputation model allows every arm-by-covariate interaction, as
    the analysis model compares arms; Carpenter & Kenward 2013, section 2.5), the missing
    outcomes are drawn from their posterior predictive distribution given the covariates:

    * binary: logistic regression; ``β* ~ N(β̂, V̂)`` (normal approximation of the posterior,
      Rubin 1987 p. 169; mice's ``logreg``), then ``y = 1`` when ``u <= expit(x'β*)``, ``u`` uniform;
      the likelihood is augmented against perfect prediction (White, Daniel & Royston 2010, Comput
      Stat Data Anal 54:2267) and maximised by Newton-Raphson;
    * continuous (e.g. hours: many zeros, skewed): predictive mean matching with 5 donors and a
      Bayesian draw of the linear regression (Little 1988; van Buuren 2018 Algorithm 3.3; mice's
      ``pmm``), so imputed values are observed values.

    Numeric covariates with missing values are imputed too, by PMM from the other covariates and
    the outcome, cycling ``n_iter`` times from random draws of the observed values; with complete
    covariates one sweep is exact. Text, categorical and True/False covariates must be complete.

    Analysis of each completed dataset ``j``: risk difference ``p_T - p_C`` with Wald variance
    ``p_T(1-p_T)/n_T + p_C(1-p_C)/n_C``, or mean difference with Welch variance
    ``s_T²/n_T + s_C²/n_C``; pooled by :func:`~ipstrial.missing.rubin` (Rubin 1987, eqs 3.1.2-3.1.6), with
    large-sample df for the risk difference and Barnard & Rubin (1999) df with ``ν_com = n_T + n_C - 2``
    for the mean difference. Per-arm proportions (means) are pooled likewise (``ν_com = n - 1`` for means).

    This estimator handles missing outcomes itself, so it takes no ``missing=`` policy: every participant
    of the compared arms is analysed, and the missing outcomes are counted per arm in the result.

    Parameters
    ----------
    @params data
    outcome
        The outcome column (missing values allowed).
    @params arm
    covariates
        Baseline covariates of the imputation models (a column name or a sequence of names).
    kind
        ``"binary"`` (0/1) or ``"continuous"``.
    m
        Number of imputations (at least 2).
    n_iter
        Chained-equation sweeps when numeric covariates have missing values (None: 10). Only then: with
        complete covariates one sweep is exact, and giving ``n_iter`` is a ParameterError.
    @params seed alpha id analysis

    Returns
    -------
    MultipleImputationResult
        The pooled per-arm estimates (rows first, in the declared order, without p-values) and contrasts
        (treatment order), the complete-data estimates of every imputation, the inputs and the seed
        entropy.
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    kind = check_choice(kind, "kind", KINDS)
    m = check_count(m, "m", minimum=2)
    n_iter = _check_n_iter(n_iter)
    seed = check_seed(seed)
    setup_ = setup(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates=covariates,
        kind=kind,
        id=id,
        impute_covariates=True,
        need_observed=True,
    )
    labels = setup_.order
    lines = len(labels) + len(setup_.treatments)
    check_memory(
        m * lines * 64.0 + 4.0 * setup_.X.size * 8.0,
        f"multiple_imputation with m={m} imputations of {lines} estimates each",
        "use fewer imputations (m=20 to 100 is plenty for Rubin's rules)",
    )
    sweeps = _sweeps(setup_, n_iter)
    entropy, imputations = _imputations(setup_, kind, sweeps, seed, m)
    stats = {a: np.empty((m, 2)) for a in labels}
    for j, completed in enumerate(imputations):
        for label in labels:
            stats[label][j] = _arm_stats(completed[label][0], kind)
    n_by_arm = setup_.n_by_arm
    method = _mi_method(setup_, kind, m, sweeps)

    def pooled(
        label: str, estimand: str, q: np.ndarray, u: np.ndarray, n: int, df: float, test: bool
    ) -> RubinPooled:
        """Rubin's rules on ``q`` and ``u``, with complete-data df ``df`` for a mean (large-sample for a
        proportion), a p-value when ``test``."""
        dfcom = math.inf if kind == "binary" else df
        return _pooled(
            q,
            u,
            dfcom,
            alpha,
            test=test,
            estimand=estimand,
            contrast=label,
            outcome=outcome,
            analysis=analysis,
            method=method,
            n=n,
            inputs=setup_.inputs,
        )

    arms_pooled = {}
    for label in labels:
        q, u = stats[label][:, 0], stats[label][:, 1]
        estimand = "proportion" if kind == "binary" else "mean"
        arms_pooled[label] = pooled(label, estimand, q, u, n_by_arm[label], n_by_arm[label] - 1.0, False)
    contrasts = {}
    for treatment_arm in setup_.treatments:
        label = contrast_label(treatment_arm, setup_.control)
        q = stats[treatment_arm][:, 0] - stats[setup_.control][:, 0]
        u = stats[treatment_arm][:, 1] + stats[setup_.control][:, 1]
        n = n_by_arm[treatment_arm] + n_by_arm[setup_.control]
        estimand = "risk_difference" if kind == "binary" else "mean_difference"
        contrasts[label] = pooled(label, estimand, q, u, n, n - 2.0, True)
    every = [*arms_pooled.values(), *contrasts.values()]
    estimates = pd.DataFrame(
        {
            "imputation": np.tile(np.arange(1, m + 1), len(every)),
            "contrast": np.repeat(np.array([p.contrast for p in every], dtype=object), m),
            "estimand": np.repeat(np.array([p.estimand for p in every], dtype=object), m),
            "estimate": np.concatenate([p.estimates for p in every]),
            "variance": np.concatenate([p.variances for p in every]),
        }
    )
    return MultipleImputationResult(
        outcome=outcome,
        kind=kind,
        treatments=setup_.treatments,
        control=setup_.control,
        covariates=setup_.covariates,
        imputed_covariates=setup_.imputed_covariates,
        m=m,
        n_iter=sweeps,
        contrasts=contrasts,
        arms=arms_pooled,
        missing=setup_.missing,
        n=n_by_arm,
        estimates=estimates,
        method=method,
        alpha=alpha,
        analysis=analysis,
        seed_entropy=entropy,
        inputs=setup_.inputs,
    )
