"""Covariate-adjusted marginal effects for a binary outcome by g-computation over a logistic model.

The analysis the FDA (2023) guidance "Adjusting for Covariates in Randomized Clinical Trials for
Drugs and Biological Products" describes for a binary outcome: fit a logistic working model of the
outcome on arm and prognostic baseline covariates, predict every participant's probability under
each arm, average, and contrast the averages. The marginal (unconditional) risks stay consistent
when the working model is wrong; the variance must then be robust to misspecification too.

Notation: participants ``i = 1..n`` of the compared arms (the treatment arms and the control), arm
``A_i``, outcome ``Y_i``, covariate row ``x_i``; ``x_i(a)`` is the model row with the arm set to
``a``; ``μ(η) = 1 / (1 + exp(-η))``; ``μ̂_a(x_i) = μ(x_i(a)'β̂)``; ``n_a`` and ``π_a = n_a / n``.

* Working model: ``logit P(Y = 1 | A, X) = β_0 + Σ_t β_t 1{A = t} + γ'X`` (one indicator per
  treatment arm, the control the reference; covariate dummies from ``design_matrix``; no
  interactions), fitted by maximum likelihood (statsmodels GLM, binomial, logit link).
* g-computation: ``θ̂_a = n⁻¹ Σ_i μ̂_a(x_i)`` over ALL analysed participants. With the canonical
  link and an intercept per arm the fitted residuals sum to zero within each arm, so ``θ̂_a``
  equals the augmented estimator ``n⁻¹ Σ_i μ̂_a(x_i) + n_a⁻¹ Σ_{A_i=a} (Y_i − μ̂_a(x_i))`` and is
  consistent whatever the true model (Ye, Bannick, Yi & Shao 2023, Stat Theory Relat Fields 7:159).
* Contrasts: risk difference ``θ_t − θ_c``; risk ratio on the log scale ``log θ_t − log θ_c``;
  odds ratio on the logit scale ``logit θ_t − logit θ_c``; each with ``Var = g' Var(θ̂) g`` (delta
  method), a Wald interval back-transformed for the ratios and a Wald p-value for no effect.
* The conditional odds ratio ``exp(β_t)`` of the same model is reported separately (it is not
  the marginal odds ratio: odds ratios are not collapsible), with its model-based Wald interval.

Variances of ``θ̂`` (``variance=``):

``"ye"`` — the robust variance of Ye, Shao, Yi & Zhao (2023, "Toward better practice of covariate
adjustment in analyzing randomized clinical trials", JASA 118:2370-2382,
doi:10.1080/01621459.2022.2049278), in the g-computation form of Ye, Bannick, Yi & Shao (2023,
doi:10.1080/24754269.2023.2205802) and Bannick et al. (2025, "A general form of covariate
adjustment in clinical trials under covariate-adaptive randomization", Biometrika 112:881-908,
doi:10.1093/biomet/asaf029), valid under misspecification and heteroscedasticity. It is the
variance of the influence function ``ψ_a = (1{A=a}/π_a)(Y(a) − μ_a(X)) + μ_a(X) − θ_a``::

    V_ab = 1{a=b} π_a⁻¹ Var(Y(a) − μ_a(X)) + Cov(Y(a), μ_b(X)) + Cov(μ_a(X), Y(b)) − Cov(μ_a(X), μ_b(X))

estimated by sample moments (``ddof = 1``): variances and covariances involving ``Y(a)`` over the
participants of arm ``a``, covariances of predictions over everyone; ``Var(θ̂) = V̂ / n``.

With ``strata=`` (the randomisation strata of a stratified permuted-block design; their joint
levels ``z`` define a stratum) the between-strata part of the residual variance, which stratified
blocks balance away, is subtracted: the asymptotic covariance under covariate-adaptive
randomisation in the papers above and in Ye, Yi & Shao (2022, "Inference on average treatment
effect under minimization and other covariate-adaptive randomization methods", Biometrika 109:33-47,
doi:10.1093/biomet/asab015) is::

    V_CAR = V_SR − E[R(Z) (Ω_SR − Ω(Z)) R(Z)],   R(Z) = diag{π_a⁻¹ E[Y(a) − μ_a(X) | Z]},
    Ω_SR = diag(π) − π π',   Ω(Z) = 0 for stratified permuted blocks.

(Derivation: split ``Σ_i 1{A_i=a} r_a(Z_i)/π_a`` into ``Σ_z n_z r_a(z)`` plus
``Σ_z (n_az − π_a n_z) r_a(z)/π_a``; the imbalances ``(n_az − π_a n_z)/√n`` have covariance
``P(z) Ω_SR`` under simple randomisation and vanish under blocks within strata.) Entry by entry, with
``r_a(z) = E[Y(a) − μ_a(X) | Z = z]``::

    (V_CAR)_ab = (V_SR)_ab − Σ_z P(Z = z) [1{a=b} r_a(z)² / π_a − r_a(z) r_b(z)],

estimated with ``P̂(z) = n_z / n`` and ``r̂_a(z)`` the mean residual ``Y_i − μ̂_a(x_i)`` of the arm-``a``
participants of stratum ``z`` (zero when that cell is empty). The uncorrected matrix is kept in
``cov_unstratified``. The correction vanishes when the residuals average zero in every arm x stratum
cell, e.g. when the model holds arm-by-stratum terms.

``"ge"`` — Ge et al. (2011, Drug Inf J 45:481-493) delta method, covariates held fixed:
``Var(θ̂) = D Σ_β D'`` with ``D_a = ∂θ̂_a/∂β = n⁻¹ Σ_i μ̂_a(x_i)(1 − μ̂_a(x_i)) x_i(a)'`` and ``Σ_β``
the HC0 sandwich ``(X'ŴX)⁻¹ (Σ_i (Y_i − μ̂_i)² x_i x_i') (X'ŴX)⁻¹``; ``"ge-model"`` the same with
the model-based ``(X'ŴX)⁻¹``.

``"bootstrap"`` — nonparametric bootstrap, participants resampled with replacement within arm
(arm sizes fixed), the logistic model refitted and ``θ̂`` recomputed in every replicate
(Efron & Tibshirani 1993, ch. 6 and 13); SE = standard deviation of the replicates (of the log
ratio for the ratios), percentile interval, Wald p-value from the bootstrap SE. The replicates are
fitted together by a batched Newton-Raphson iteration in numpy with multinomial resampling weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipstrial._inputs import design_matrix, prepare
from ipstrial._random import SeedLike, streams
from ipstrial.errors import EstimationError
from ipstrial.results import Result, Row, contrast_label

__all__ = ["CONTRASTS", "VARIANCES", "MarginalEffectResult", "marginal_effect"]

CONTRASTS = ("risk_difference", "risk_ratio", "odds_ratio")
VARIANCES = ("ye", "ge", "ge-model", "bootstrap")
_UNADJUSTED = "ipstrial.itt.binary.compare_proportions"


@dataclass(frozen=True, eq=False)
class MarginalEffectResult(Result):
    """Covariate-adjusted marginal risks per arm and their contrasts with the control.

    Attributes
    ----------
    arms
        The compared arms, treatments first, then the control; the order of ``means`` and ``cov``.
    means
        The g-computation risks ``θ̂_a``.
    cov
        Their estimated covariance matrix (by ``variance``).
    contrasts
        One row per treatment: ``contrast, treatment, estimand, estimate, se, se_scale, ci_low, ci_high,
        p_value`` (``se`` of the log ratio for ratios, ``se_scale = "log"``).
    coefficients
        The working model: ``term, estimate, se`` (model-based), ``se_hc0`` (sandwich), ``z``,
        ``p_value``.
    conditional
        The conditional odds ratio ``exp(β_t)`` per treatment: ``contrast, treatment, log_or, se, se_hc0,
        odds_ratio, ci_low, ci_high, p_value`` (model-based Wald).
    unadjusted_se, se_ratio
        Per treatment, the unadjusted Wald SE ``sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c)`` of the risk
        difference and the ratio of the adjusted risk-difference SE to it (below 1: adjustment
        gained precision).
    mean_ci
        Interval of each arm's risk: Wald ``θ̂_a ± z se`` or, for the bootstrap, percentile.
    replicates
        The bootstrap replicates of ``θ̂`` (``n_boot x arms``), else ``None``.
    cov_unstratified
        With ``strata`` and ``variance="ye"``: the covariance before the stratified-randomisation
        correction (simple randomisation), else ``None``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    strata: tuple[str, ...]
    contrast: str
    variance: str
    arms: tuple[str, ...]
    means: np.ndarray
    cov: np.ndarray
    contrasts: pd.DataFrame
    coefficients: pd.DataFrame
    conditional: pd.DataFrame
    n: int
    n_by_arm: dict[str, int]
    method: str
    unadjusted_se: dict[str, float]
    se_ratio: dict[str, float]
    alpha: float = 0.05
    mean_ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    cov_unstratified: np.ndarray | None = None
    replicates: np.ndarray | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    n_boot: int | None = None
    boot_nonconverged: int = 0
    missing_note: str = ""
    analysis: str = "itt_marginal_effect"

    @property
    def title(self) -> str:
        return f"Covariate-adjusted marginal effects on {self.outcome}: " + ", ".join(
            contrast_label(t, self.control) for t in self.treatments
        )

    @property
    def se(self) -> np.ndarray:
        """Standard errors of ``means``."""
        return np.sqrt(np.diag(self.cov))

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        out: list[Row] = []
        note = f"; {self.missing_note}" if self.missing_note else ""
        for i, a in enumerate(self.arms):
            extra: dict[str, object] = {"scale": "marginal", "se_scale": "identity", "n_model": self.n}
            if self.excluded.get(a):
                extra["excluded"] = int(self.excluded[a])
            est, se = float(self.means[i]), float(np.sqrt(self.cov[i, i]))
            low, high = self.mean_ci[a]
            out.append(
                Row(
                    self.analysis,
                    a,
                    "proportion",
                    est,
                    se=se,
                    ci_low=low,
                    ci_high=high,
                    method=f"g-computation over {self.method}{note}",
                    n=self.n_by_arm[a],
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        for c in self.contrasts.itertuples(index=False):
            treatment = c.treatment
            extra = {"scale": "marginal", "se_scale": c.se_scale, "n_model": self.n}
            if c.estimand == "risk_difference":
                extra["se_ratio_unadjusted"] = self.se_ratio[treatment]
            lost = self.excluded.get(treatment, 0) + self.excluded.get(self.control, 0)
            if lost:
                extra["excluded"] = int(lost)
            scale = "" if c.se_scale == "identity" else f"; se on the {c.se_scale} scale"
            out.append(
                Row(
                    self.analysis,
                    c.contrast,
                    c.estimand,
                    c.estimate,
                    se=c.se,
                    ci_low=c.ci_low,
                    ci_high=c.ci_high,
                    p_value=c.p_value,
                    method=f"g-computation over {self.method}{scale}{note}",
                    n=self.n_by_arm[treatment] + self.n_by_arm[self.control],
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        for c in self.conditional.itertuples(index=False):
            treatment = c.treatment
            extra = {"scale": "conditional", "se_scale": "log", "se_hc0": c.se_hc0, "n_model": self.n}
            lost = self.excluded.get(treatment, 0) + self.excluded.get(self.control, 0)
            if lost:
                extra["excluded"] = int(lost)
            out.append(
                Row(
                    self.analysis,
                    c.contrast,
                    "odds_ratio",
                    c.odds_ratio,
                    se=c.se,
                    ci_low=c.ci_low,
                    ci_high=c.ci_high,
                    p_value=c.p_value,
                    method="conditional, logistic model: exp(arm coefficient) adjusted for "
                    f"{', '.join(self.covariates) or 'nothing'}; Wald interval, model-based se on the "
                    f"log scale{note}",
                    n=self.n_by_arm[treatment] + self.n_by_arm[self.control],
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# the working model
# ---------------------------------------------------------------------------------------------


def _expit(eta: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(eta)


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    """Every model column must add information; name those that are combinations of earlier ones."""
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    redundant = []
    kept: list[int] = []
    for j in range(X.shape[1]):
        trial = [*kept, j]
        if np.linalg.matrix_rank(X[:, trial]) == len(trial):
            kept = trial
        else:
            redundant.append(names[j])
    if redundant:
        raise EstimationError(
            f"the working logistic model cannot be fitted: the term(s) {redundant} are linear "
            "combinations of the arm indicators, the intercept and earlier covariate terms (e.g. two "
            "covariates coding the same information, or a level absent among the compared arms). "
            "Fix: drop one of the collinear covariates from covariates="
        )


def _separating_groups(
    frame: pd.DataFrame, y: np.ndarray, arms: np.ndarray, compared: Sequence[str], covariates: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Plain-language causes of separation: arms, and covariate levels or thresholds.

    An arm or a covariate level whose participants all have the same outcome, or a numeric covariate
    whose values alone order the outcomes (every ``Y = 0`` at or below every ``Y = 1``, or the reverse),
    each make the logistic MLE fail to exist.
    """
    by_arm, by_covariate = [], []
    for a in compared:
        values = y[arms == a]
        if values.size and np.all(values == values[0]):
            by_arm.append(f"arm {a!r}: all {values.size} participants have outcome {int(values[0])}")
    for column in covariates:
        series = frame[column]
        levels = pd.unique(series)
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if numeric and len(levels) > 2:
            x = series.to_numpy(dtype=float)
            x0, x1 = x[y == 0], x[y == 1]
            if x0.max() <= x1.min() or x1.max() <= x0.min():
                (lo, x_lo), (hi, x_hi) = ((0, x0), (1, x1)) if x0.max() <= x1.min() else ((1, x1), (0, x0))
                by_covariate.append(
                    f"covariate {column!r} alone separates the outcomes (every participant with outcome "
                    f"{lo} has {column} <= {x_lo.max():g}, every one with outcome {hi} has {column} >= "
                    f"{x_hi.min():g})"
                )
            continue
        for level in sorted(levels, key=str):
            values = y[(series == level).to_numpy()]
            if values.size and np.all(values == values[0]):
                by_covariate.append(
                    f"covariate {column!r} = {level!r}: all {values.size} participants have outcome "
                    f"{int(values[0])}"
                )
    return by_arm, by_covariate


def _separation_direction(X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """A direction of (quasi-)complete separation, or None if the logistic MLE exists.

    Linear program of Konis (2007, DPhil thesis, Oxford; R package safeBinaryRegression): the MLE
    fails to exist exactly when some ``b != 0`` has ``(2y_i - 1) x_i'b >= 0`` for all ``i``; maximise
    ``Σ_i (2y_i - 1) x_i'b`` over ``-1 <= b_j <= 1`` under those constraints (columns scaled to a
    maximum absolute value of 1); a positive optimum gives the separating direction.
    """
    from scipy.optimize import linprog

    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    A = (2 * y - 1)[:, None] * (X / scale)
    res = linprog(
        -A.sum(axis=0),
        A_ub=-A,
        b_ub=np.zeros(len(y)),
        bounds=[(-1.0, 1.0)] * X.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-7 * len(y):
        return None
    return res.x / scale


def _check_separation(
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    frame: pd.DataFrame,
    arms: np.ndarray,
    compared: Sequence[str],
    covariates: Sequence[str],
    outcome: str,
) -> None:
    direction = _separation_direction(X, y)
    if direction is None:
        return
    size = np.abs(direction) * np.max(np.abs(X), axis=0)
    terms = [names[j] for j in np.flatnonzero(size > 1e-6) if names[j] != "(Intercept)"]
    by_arm, by_covariate = _separating_groups(frame, y, arms, compared, covariates)
    if by_arm or by_covariate:
        where = "; ".join(by_arm + by_covariate)
    else:
        where = f"a combination of the terms {terms} predicts every outcome without error"
    if by_arm:
        fix = (
            "an arm in which every outcome is the same cannot be modelled on the logit scale; use the "
            f"unadjusted analysis ({_UNADJUSTED})"
        )
    else:
        fix = (
            "drop the covariate named or merge its sparse levels with a neighbouring level (a numeric "
            f"covariate: drop it or use coarser bands), or use the unadjusted analysis ({_UNADJUSTED})"
        )
    raise EstimationError(
        f"(quasi-)complete separation in the working logistic model of {outcome!r}: {where}. The maximum "
        f"likelihood estimate does not exist, so adjusted risks from it would be unreliable. Fix: {fix}"
    )


@dataclass(frozen=True, eq=False)
class _Fit:
    X: np.ndarray
    names: list[str]
    beta: np.ndarray
    cov_model: np.ndarray
    cov_hc0: np.ndarray
    mu: np.ndarray
    counterfactual: list[np.ndarray]  # X(a) for each compared arm


def _fit(
    y: np.ndarray, X: np.ndarray, names: list[str], counterfactual: list[np.ndarray]
) -> tuple[_Fit | None, bool]:
    """Maximum likelihood fit (``None`` if it failed) and whether it shows the signs of separation.

    Under (quasi-)complete separation IRLS either fails to converge or drives some fitted
    probabilities to 0 or 1; either sends the caller to the exact linear-programming check.
    """
    import warnings

    import statsmodels.api as sm

    model = sm.GLM(y, X, family=sm.families.Binomial())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(tol=1e-12, maxiter=100)
    except Exception:  # statsmodels versions differ in how they report separation
        return None, True
    beta = np.asarray(res.params, dtype=float)
    if not res.converged or not np.all(np.isfinite(beta)):
        return None, True
    mu = _expit(X @ beta)
    extreme = bool(np.min(np.minimum(mu, 1 - mu)) < 1e-7)
    w = mu * (1 - mu)
    bread = np.linalg.inv(X.T @ (w[:, None] * X))
    e = y - mu
    meat = X.T @ ((e**2)[:, None] * X)
    return _Fit(X, names, beta, bread, bread @ meat @ bread, mu, counterfactual), extreme


# ---------------------------------------------------------------------------------------------
# variances
# ---------------------------------------------------------------------------------------------


def _ye_variance(
    y: np.ndarray, arm_index: np.ndarray, preds: np.ndarray, strata_codes: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``Var(θ̂)`` of Ye et al. (2023); ``preds[a, i] = μ̂_a(x_i)``; optional CAR correction.

    Returns the (possibly corrected) covariance and, with strata, the uncorrected one.
    """
    k, n = preds.shape
    pi = np.array([np.mean(arm_index == a) for a in range(k)])
    cov_pred = np.cov(preds, ddof=1).reshape(k, k)
    # cross[a, b] = Cov(Y(a), μ_b(X)) within arm a
    cross = np.empty((k, k))
    resid_var = np.empty(k)
    for a in range(k):
        members = arm_index == a
        ya = y[members]
        for b in range(k):
            cross[a, b] = np.cov(ya, preds[b, members], ddof=1)[0, 1]
        resid_var[a] = np.var(ya - preds[a, members], ddof=1)
    V = np.diag(resid_var / pi) + cross + cross.T - cov_pred
    if strata_codes is None:
        return V / n, None
    correction = np.zeros((k, k))
    for z in np.unique(strata_codes):
        in_z = strata_codes == z
        r = np.zeros(k)
        for a in range(k):
            cell = in_z & (arm_index == a)
            if cell.any():
                r[a] = np.mean(y[cell] - preds[a, cell])
        correction += np.mean(in_z) * (np.diag(r**2 / pi) - np.outer(r, r))
    return (V - correction) / n, V / n


def _ge_variance(fit: _Fit, robust: bool) -> np.ndarray:
    """Ge et al. (2011): ``D Σ_β D'`` with ``D_a = n⁻¹ Σ_i μ_a(1-μ_a) x_i(a)'``."""
    rows = []
    for Xa in fit.counterfactual:
        m = _expit(Xa @ fit.beta)
        rows.append((m * (1 - m)) @ Xa / len(m))
    D = np.vstack(rows)
    sigma = fit.cov_hc0 if robust else fit.cov_model
    return D @ sigma @ D.T


def _resampling_weights(arm_index: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Within-arm bootstrap as weights: ``w_bi`` ~ Multinomial(n_a, 1/n_a) over the arm-``a`` participants."""
    W = np.zeros((n_boot, len(arm_index)))
    for a in range(int(arm_index.max()) + 1):
        idx = np.flatnonzero(arm_index == a)
        W[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot)
    return W


def _weighted_logistic_fits(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, beta0: np.ndarray, max_iter: int = 50, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic MLEs for every row of weights ``W`` at once: ``(n_fits x p)`` and a not-converged mask.

    Newton-Raphson from ``beta0``: score ``(w (y - μ)) X``, information ``Σ_i w_i μ_i (1-μ_i) x_i x_i'``
    for all fits as one matrix product with the ``n x p²`` outer products of the rows. A tiny ridge on
    the information only (not the score) keeps the step defined when a resample misses every
    participant of a covariate level; the fixed point is still the weighted MLE.
    """
    n, p = X.shape
    outer = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
    beta = np.tile(beta0, (len(W), 1))
    active = np.ones(len(W), dtype=bool)
    ridge = 1e-10 * np.eye(p) / p
    for _ in range(max_iter):
        if not active.any():
            break
        b = beta[active]
        w = W[active]
        mu = _expit(b @ X.T)
        score = (w * (y - mu)) @ X
        info = ((w * mu * (1 - mu)) @ outer).reshape(-1, p, p)
        info += ridge * np.trace(info, axis1=1, axis2=2)[:, None, None]
        step = np.linalg.solve(info, score[:, :, None])[:, :, 0]
        beta[active] = b + step
        idx = np.flatnonzero(active)
        active[idx[np.max(np.abs(step), axis=1) < tol]] = False
    return beta, active


def _bootstrap(
    y: np.ndarray, fit: _Fit, arm_index: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Replicates of ``θ̂`` (``n_boot x k``), resampling within arm, and the count not converged.

    Replicate ``b``: ``θ̂_a^b = n⁻¹ Σ_i w_bi μ(x_i(a)'β̂^b)``, the g-computation over the resample.
    """
    W = _resampling_weights(arm_index, n_boot, rng)
    beta, failed = _weighted_logistic_fits(fit.X, y, W, fit.beta)
    theta = np.empty((n_boot, len(fit.counterfactual)))
    for a, Xa in enumerate(fit.counterfactual):
        theta[:, a] = np.sum(W * _expit(beta @ Xa.T), axis=1) / len(y)
    return theta, int(failed.sum())


# ---------------------------------------------------------------------------------------------
# contrasts
# ---------------------------------------------------------------------------------------------


def _transform(estimand: str, theta: np.ndarray) -> np.ndarray:
    """The contrast scale: identity, log or logit of the risks (last axis = arms)."""
    if estimand == "risk_difference":
        return theta
    if estimand == "risk_ratio":
        return np.log(theta)
    return np.log(theta / (1 - theta))


def _gradient(estimand: str, theta: float) -> float:
    if estimand == "risk_difference":
        return 1.0
    if estimand == "risk_ratio":
        return 1.0 / theta
    return 1.0 / (theta * (1 - theta))


def _contrast_table(
    estimand: str,
    arms: tuple[str, ...],
    treatments: tuple[str, ...],
    control: str,
    theta: np.ndarray,
    cov: np.ndarray,
    alpha: float,
    boot: np.ndarray | None,
) -> pd.DataFrame:
    from scipy import stats

    z = float(stats.norm.ppf(1 - alpha / 2))
    c = arms.index(control)
    records = []
    for t_label in treatments:
        t = arms.index(t_label)
        g = np.zeros(len(arms))
        g[t] = _gradient(estimand, theta[t])
        g[c] = -_gradient(estimand, theta[c])
        scaled = _transform(estimand, theta)
        diff = float(scaled[t] - scaled[c])
        if boot is None:
            se = float(np.sqrt(g @ cov @ g))
            low, high = diff - z * se, diff + z * se
        else:
            tb = _transform(estimand, boot)
            reps = tb[:, t] - tb[:, c]
            se = float(np.std(reps, ddof=1))
            low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
        p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else np.nan
        back = (lambda v: v) if estimand == "risk_difference" else np.exp
        records.append(
            {
                "contrast": contrast_label(t_label, control),
                "treatment": t_label,
                "estimand": estimand,
                "estimate": float(back(diff)),
                "se": se,
                "se_scale": "identity" if estimand == "risk_difference" else "log",
                "ci_low": float(back(low)),
                "ci_high": float(back(high)),
                "p_value": p,
            }
        )
    return pd.DataFrame.from_records(records)


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------


def marginal_effect(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    covariates: Sequence[str],
    strata: Sequence[str] | None = None,
    contrast: str = "risk_difference",
    variance: str = "ye",
    n_boot: int = 2000,
    seed: SeedLike = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> MarginalEffectResult:
    """Covariate-adjusted marginal risks and their contrast (FDA 2023 guidance; see the module docstring).

    The logistic working model ``logit P(Y=1 | A, X) = β_0 + Σ_t β_t 1{A=t} + γ'X`` is fitted on the
    participants of the compared arms only; the marginal risk of arm ``a`` is the g-computation
    (standardisation) ``θ̂_a = n⁻¹ Σ_i μ(x_i(a)'β̂)`` over all of them (Ye, Bannick, Yi & Shao 2023).

    Parameters
    ----------
    data
        One row per participant.
    outcome, arm
        Columns: the binary outcome (0/1) and the allocated arm.
    treatment, control
        Treatment arm label (or a list, each compared with ``control``) and the control arm.
    covariates
        Baseline covariates of the working model (text columns become dummies, first sorted level
        the reference; numbers enter linearly).
    strata
        Randomisation strata columns of a stratified permuted-block design; only with
        ``variance="ye"``, which then subtracts the between-strata residual variance that the blocks
        balance away: ``V_CAR = V_SR − E[R(Z)(Ω_SR − Ω(Z))R(Z)]`` with ``Ω(Z) = 0`` (Ye, Shao, Yi &
        Zhao 2023; Bannick et al. 2025; the formula and its estimate in the module docstring).
    contrast
        ``"risk_difference"`` (``θ_t − θ_c``), ``"risk_ratio"`` (delta method on ``log θ_t − log θ_c``)
        or ``"odds_ratio"`` (delta method on ``logit θ_t − logit θ_c``).
    variance
        ``"ye"`` (robust, Ye et al. 2023), ``"ge"`` (Ge et al. 2011 delta method with the HC0
        sandwich), ``"ge-model"`` (the same with the model-based covariance) or ``"bootstrap"``
        (within-arm nonparametric bootstrap, percentile interval).
    n_boot, seed
        Bootstrap replicates and seed (int or numpy Generator; same seed, same bits).
    alpha
        1 − confidence level.
    missing
        ``None`` (a missing outcome is an error) or ``"complete-case"`` (excluded participants counted
        per arm in the rows).
    id
        Participant id column, used in error messages.

    Returns
    -------
    MarginalEffectResult
        Rows: ``proportion`` per compared arm, the requested contrast per treatment (marginal), and
        the conditional odds ratio ``exp(β_t)`` per treatment (``extra["scale"] == "conditional"``).

    Raises
    ------
    TrialDataError
        Bad columns, non-binary or missing outcomes without a policy, missing covariates or strata,
        a covariate with a single level.
    EstimationError
        The outcome is the same for everyone, (quasi-)complete separation of the working model (the
        message names the arm or covariate level), collinear covariates, non-convergence.
    """
    if contrast not in CONTRASTS:
        raise ValueError(f"contrast={contrast!r}: use one of {CONTRASTS}")
    if variance not in VARIANCES:
        raise ValueError(f"variance={variance!r}: use one of {VARIANCES}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    strata = tuple(strata) if strata else ()
    if strata and variance != "ye":
        raise ValueError(
            f"strata= is used only by variance='ye' (the stratified-randomisation correction of Ye et al. "
            f"2023); variance={variance!r} takes no strata. Drop strata= or use variance='ye'"
        )
    if variance == "bootstrap" and (
        not isinstance(n_boot, int | np.integer) or isinstance(n_boot, bool) or n_boot < 2
    ):
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    covariates = tuple(covariates)
    prepared = prepare(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates,
        kind="binary",
        missing=missing,
        id=id,
        extra=tuple(c for c in strata if c not in covariates),
    )
    y = prepared.y
    if np.all(y == y[0]):
        raise EstimationError(
            f"every analysed participant has {outcome} = {int(y[0])}: no logistic model can be fitted and "
            f"there is no variation to adjust. Use the unadjusted analysis ({_UNADJUSTED}), whose "
            "intervals handle 0 % and 100 %"
        )
    compared = prepared.compared
    arms_obs = prepared.arms
    arm_index = np.array([compared.index(a) for a in arms_obs])
    dummies = design_matrix(prepared.frame, covariates, prepared.ids)
    n = len(y)
    arm_cols = np.column_stack([(arms_obs == t).astype(float) for t in prepared.treatments])
    X = np.column_stack([np.ones(n), arm_cols, dummies.to_numpy(dtype=float)])
    names = ["(Intercept)", *(f"{arm}:{t}" for t in prepared.treatments), *map(str, dummies.columns)]
    _check_rank(X, names)
    counterfactual = []
    for a in compared:
        Xa = X.copy()
        Xa[:, 1 : 1 + len(prepared.treatments)] = [float(a == t) for t in prepared.treatments]
        counterfactual.append(Xa)
    fit, suspicious = _fit(y, X, names, counterfactual)
    if suspicious:  # raises when the data are separated (exact check)
        _check_separation(X, y, names, prepared.frame, arms_obs, compared, covariates, outcome)
    if fit is None:
        raise EstimationError(
            "the working logistic model did not converge in 100 iterations; fewer covariates or merged "
            f"sparse levels may help, or use the unadjusted analysis ({_UNADJUSTED})"
        )
    preds = np.vstack([_expit(Xa @ fit.beta) for Xa in counterfactual])
    theta = preds.mean(axis=1)

    cov_unstratified = None
    boot = None
    nonconverged = 0
    if variance == "ye":
        codes = None
        if strata:
            codes = prepared.frame.groupby(list(strata), sort=True, observed=True).ngroup().to_numpy()
        cov, cov_unstratified = _ye_variance(y, arm_index, preds, codes)
        what = "robust variance of Ye, Shao, Yi & Zhao (2023)"
        if strata:
            what += f", corrected for stratified permuted blocks within {' x '.join(strata)}"
    elif variance in ("ge", "ge-model"):
        cov = _ge_variance(fit, robust=variance == "ge")
        what = "delta-method variance of Ge et al. (2011) with the " + (
            "HC0 sandwich" if variance == "ge" else "model-based covariance"
        )
    else:
        (rng,) = streams(seed, 1)
        boot, nonconverged = _bootstrap(y, fit, arm_index, int(n_boot), rng)
        cov = np.cov(boot, rowvar=False, ddof=1).reshape(len(compared), len(compared))
        what = f"nonparametric bootstrap within arm ({n_boot} replicates, percentile interval)"
        if nonconverged:
            what += f", {nonconverged} replicates not converged (separated resamples)"
    model_text = (
        f"a logistic working model (arm + {', '.join(covariates) or 'no covariates'}, no interactions); "
        f"SE: {what}"
    )

    contrasts = _contrast_table(contrast, compared, prepared.treatments, control, theta, cov, alpha, boot)

    from scipy import stats

    se_model = np.sqrt(np.diag(fit.cov_model))
    se_hc0 = np.sqrt(np.diag(fit.cov_hc0))
    zval = fit.beta / se_model
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": fit.beta,
            "se": se_model,
            "se_hc0": se_hc0,
            "z": zval,
            "p_value": 2 * stats.norm.sf(np.abs(zval)),
        }
    )
    zq = float(stats.norm.ppf(1 - alpha / 2))
    mean_ci: dict[str, tuple[float, float]] = {}
    for i, a in enumerate(compared):
        if boot is None:
            half = zq * float(np.sqrt(cov[i, i]))
            mean_ci[a] = (float(theta[i] - half), float(theta[i] + half))
        else:
            low, high = np.quantile(boot[:, i], [alpha / 2, 1 - alpha / 2])
            mean_ci[a] = (float(low), float(high))
    conditional = pd.DataFrame.from_records(
        [
            {
                "contrast": contrast_label(t, control),
                "treatment": t,
                "log_or": fit.beta[1 + j],
                "se": se_model[1 + j],
                "se_hc0": se_hc0[1 + j],
                "odds_ratio": float(np.exp(fit.beta[1 + j])),
                "ci_low": float(np.exp(fit.beta[1 + j] - zq * se_model[1 + j])),
                "ci_high": float(np.exp(fit.beta[1 + j] + zq * se_model[1 + j])),
                "p_value": float(2 * stats.norm.sf(abs(zval[1 + j]))),
            }
            for j, t in enumerate(prepared.treatments)
        ]
    )

    c = compared.index(control)
    p_obs = {a: float(np.mean(y[arms_obs == a])) for a in compared}
    n_by_arm = prepared.n_by_arm
    unadjusted_se: dict[str, float] = {}
    se_ratio: dict[str, float] = {}
    for t in prepared.treatments:
        i = compared.index(t)
        p1, p0 = p_obs[t], p_obs[control]
        unadj = np.sqrt(p1 * (1 - p1) / n_by_arm[t] + p0 * (1 - p0) / n_by_arm[control])
        if boot is None:
            adj = np.sqrt(cov[i, i] + cov[c, c] - 2 * cov[i, c])
        else:
            adj = np.std(boot[:, i] - boot[:, c], ddof=1)
        unadjusted_se[t] = float(unadj)
        se_ratio[t] = float(adj / unadj) if unadj > 0 else np.nan

    return MarginalEffectResult(
        outcome=outcome,
        treatments=prepared.treatments,
        control=control,
        covariates=covariates,
        strata=strata,
        contrast=contrast,
        variance=variance,
        arms=compared,
        means=theta,
        cov=cov,
        contrasts=contrasts,
        coefficients=coefficients,
        conditional=conditional,
        n=n,
        n_by_arm=n_by_arm,
        method=model_text,
        unadjusted_se=unadjusted_se,
        se_ratio=se_ratio,
        alpha=alpha,
        mean_ci=mean_ci,
        cov_unstratified=cov_unstratified,
        replicates=boot,
        excluded=dict(prepared.excluded),
        n_boot=int(n_boot) if variance == "bootstrap" else None,
        boot_nonconverged=nonconverged,
        missing_note=prepared.missing_note,
    )
