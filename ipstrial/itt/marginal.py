"""Covariate-adjusted marginal effects for a binary outcome by g-computation over a logistic model.

The analysis the FDA (2023) guidance "Adjusting for Covariates in Randomized Clinical Trials for
Drugs and Biological Products" describes for a binary outcome, computed as RobinCar2 (the R package
of Ye, Bannick, Yi & Shao; ``robin_glm(..., vcov = "vcovG")``) computes it: fit a logistic working
model of the outcome on arm and prognostic baseline covariates, predict every participant's
probability under each arm, average, and contrast the averages. The marginal (unconditional) risks
stay consistent when the working model is wrong; the variance is robust to misspecification too.

Notation: participants ``i = 1..n`` of the arms of the working model (by default EVERY randomised arm,
``model_arms="all"``; with ``model_arms="compared"`` the treatment arm(s) and the control only), arm
``A_i``, outcome ``Y_i``, covariate row ``x_i``; ``x_i(a)`` is the model row with the arm set to ``a``;
``μ(η) = 1 / (1 + exp(-η))``; ``μ̂_a(x_i) = μ(x_i(a)'β̂)``; ``n_a`` and ``π_a = n_a / n``.

* Working model: ``logit P(Y = 1 | A, X) = β_0 + Σ_t β_t 1{A = t} + γ'X`` (one indicator per arm but
  the control, the reference; covariate dummies from ``design_matrix``; no interactions), fitted by
  maximum likelihood (statsmodels GLM, binomial, logit link, polished by Newton's method).
* g-computation: ``θ̂_a = n⁻¹ Σ_i μ̂_a(x_i)`` over ALL participants of the working model, so in a
  three-arm trial the IPS vs SAU risks average over the IPSE participants too (their covariates inform
  the standardisation, and the model's covariate coefficients use every participant). With the
  canonical link and an intercept per arm the fitted residuals sum to zero within each arm, so ``θ̂_a``
  equals the augmented estimator ``n⁻¹ Σ_i μ̂_a(x_i) + n_a⁻¹ Σ_{A_i=a} (Y_i − μ̂_a(x_i))`` and is
  consistent whatever the true model (Ye, Bannick, Yi & Shao 2023, Stat Theory Relat Fields 7:159).
* Contrasts: risk difference ``θ_t − θ_c``; risk ratio on the log scale ``log θ_t − log θ_c``;
  odds ratio on the logit scale ``logit θ_t − logit θ_c``; each with ``Var = g' Var(θ̂) g`` (delta
  method), a Wald interval back-transformed for the ratios and a Wald p-value for no effect (these are
  RobinCar2's ``"difference"``, ``"log_risk_ratio"`` and ``"log_odds_ratio"`` contrasts).
* The conditional odds ratio ``exp(β_t)`` of the same model is reported separately (variant
  ``"conditional"``; it is not the marginal odds ratio: odds ratios are not collapsible), with its
  model-based Wald interval.

Variances of ``θ̂`` (``variance=``), with sample moments over ``n − 1`` (``S²_a = var_a(Y)``;
``C_a(b) = cov_a(Y, μ̂_b)`` over the participants of arm ``a``; ``Σ_ab = cov(μ̂_a, μ̂_b)`` over all
``n``):

``"ye"`` (the default) — the robust variance of Ye, Shao, Yi & Zhao (2023, "Toward better practice
of covariate adjustment in analyzing randomized clinical trials", JASA 118:2370-2382,
doi:10.1080/01621459.2022.2049278), in the g-computation form of Bannick et al. (2025, "A general form
of covariate adjustment in clinical trials under covariate-adaptive randomization", Biometrika
112:881-908, doi:10.1093/biomet/asaf029) as RobinCar2's ``vcovG`` with ``decompose = TRUE`` computes it
(the variance of the influence function ``ψ_a = (1{A=a}/π_a)(Y(a) − μ_a(X)) + μ_a(X) − θ_a``, valid
under misspecification and heteroscedasticity)::

    d_a  = [S²_a + Σ_aa − 2 C_a(a)] / π_a
    V_ab = 1{a=b} d_a + C_b(a) + C_a(b) − Σ_ab,        Var(θ̂) = (V − M) / n

``"ye-residual"`` — the same with the residual form ``d_a = var_a(Y − μ̂_a) / π_a`` (RobinCar2's
``decompose = FALSE``; Ye et al. 2023, Theorem 1 written with the residual variance). The two differ
only in the variance of the predictions, over all participants or within arm ``a``
(``var_a(Y − μ̂_a) = S²_a + var_a(μ̂_a) − 2 C_a(a)``), and agree asymptotically.

``M = 0`` under simple randomisation. With ``strata=`` (the randomisation strata of a stratified
permuted-block design; their joint levels ``z`` define a stratum) the between-strata part of the
residual variance, which stratified blocks balance away, is subtracted (Ye, Yi & Shao 2022,
"Inference on average treatment effect under minimization and other covariate-adaptive randomization
methods", Biometrika 109:33-47, doi:10.1093/biomet/asab015; Bannick et al. 2025; RobinCar2 ``"pb"``)::

    M_ab = Σ_z p_z [1{a=b} r_a(z)² / π_a − r_a(z) r_b(z)],   p_z = n_z / n,

``r_a(z)`` the mean residual ``Y_i − μ̂_a(x_i)`` of the arm-``a`` participants of stratum ``z`` (zero
when that cell is empty). (Derivation: ``V_CAR = V_SR − E[R(Z)(Ω_SR − Ω(Z))R(Z)]``,
``R(Z) = diag{π_a⁻¹ E[Y(a) − μ_a(X) | Z]}``, ``Ω_SR = diag(π) − π π'``, ``Ω(Z) = 0`` for stratified
permuted blocks.) The uncorrected matrix is kept in ``cov_unstratified``.

``"ge"`` — Ge et al. (2011, Drug Inf J 45:481-493) delta method, covariates held fixed:
``Var(θ̂) = D Σ_β D'`` with ``D_a = ∂θ̂_a/∂β = n⁻¹ Σ_i μ̂_a(x_i)(1 − μ̂_a(x_i)) x_i(a)'`` and ``Σ_β``
the HC0 sandwich ``(X'ŴX)⁻¹ (Σ_i (Y_i − μ̂_i)² x_i x_i') (X'ŴX)⁻¹``; ``"ge-model"`` the same with
the model-based ``(X'ŴX)⁻¹``.

``"bootstrap"`` — nonparametric bootstrap, participants resampled with replacement within arm
(arm sizes fixed), the logistic model refitted and ``θ̂`` recomputed in every replicate
(Efron & Tibshirani 1993, ch. 6 and 13); SE = standard deviation of the replicates (of the log
ratio for the ratios), percentile interval, Wald p-value from the bootstrap SE; rows of variant
``"bootstrap"``. The resampling counts come chunk by chunk from
:func:`ipstrial.resampling.bootstrap_count_chunks` and each chunk's replicates are fitted together by
:func:`ipstrial._batched.newton_batch`, so memory does not grow with replicates x participants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._batched import glm_derivatives, newton_batch, products
from ipstrial._bootstrap import bootstrap_extra, refitted_replicates
from ipstrial._checks import check_alpha, check_analysis, check_choice, column_names
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._glm import fit_glm, logistic_separation
from ipstrial._inputs import Prepared, prepare
from ipstrial._random import SeedLike
from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.itt._common import bootstrap_options, model_matrix
from ipstrial.resampling import percentile_interval
from ipstrial.results import Result, Row, contrast_label, excluded_extra
from ipstrial.stats.means import wald_risk_difference
from ipstrial.stats.normal import p_two_sided, wald_interval

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["CONTRASTS", "MODEL_ARMS", "VARIANCES", "MarginalEffectResult", "marginal_effect"]

CONTRASTS = ("risk_difference", "risk_ratio", "odds_ratio")
VARIANCES = ("ye", "ye-residual", "ge", "ge-model", "bootstrap")
MODEL_ARMS = ("all", "compared")
_UNADJUSTED = "ipstrial.itt.compare_proportions"
DEFAULT_RESAMPLES = 2000
"""Bootstrap replicates of ``variance="bootstrap"`` when ``n_resamples`` is not given."""


@dataclass(frozen=True, eq=False)
class MarginalEffectResult(Result):
    """Covariate-adjusted marginal risks per arm and their contrasts with the control.

    Attributes
    ----------
    arms
        The compared arms, in the order results list them; the order of ``means`` and ``cov``.
    working_model_arms
        The arms of the working model (every randomised arm with ``model_arms="all"``).
    means
        The g-computation risks ``θ̂_a`` of ``arms``.
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
        The bootstrap replicates of ``θ̂`` of ``arms`` (``(n_resamples - failed) x arms``), else ``None``.
    cov_unstratified
        With ``strata`` and a Ye variance: the covariance before the stratified-randomisation
        correction (simple randomisation), else ``None``.
    seed_entropy
        The integer that regenerates the bootstrap (None without a bootstrap or for a Generator seed).
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    strata: tuple[str, ...]
    contrast: str
    variance: str
    model_arms: str
    working_model_arms: tuple[str, ...]
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
    n_resamples: int | None = None
    failed: int = 0
    seed_entropy: int | None = None
    analysis: str = "itt_marginal_effect"
    notes: tuple[str, ...] = ()

    title_template = "Covariate-adjusted marginal effects on {outcome}: {contrasts}"

    @property
    def se(self) -> np.ndarray:
        """Standard errors of ``means``."""
        return np.sqrt(np.diag(self.cov))

    def rows(self) -> tuple[Row, ...]:
        out: list[Row] = []
        variant = "bootstrap" if self.variance == "bootstrap" else ""
        extra_boot: dict[str, object] = {}
        if self.variance == "bootstrap":
            extra_boot = bootstrap_extra(self.n_resamples, self.seed_entropy, self.failed)  # type: ignore[arg-type]
        for i, a in enumerate(self.arms):
            extra: dict[str, object] = (
                {
                    "scale": "marginal",
                    "se_scale": "identity",
                    "n_model": self.n,
                }
                | extra_boot
                | excluded_extra(self.inputs, a)
            )
            low, high = self.mean_ci[a]
            out.append(
                self._row(
                    a,
                    "proportion",
                    float(self.means[i]),
                    se=float(np.sqrt(self.cov[i, i])),
                    ci_low=low,
                    ci_high=high,
                    method=f"g-computation over {self.method}",
                    n=self.n_by_arm[a],
                    extra=extra,
                    variant=variant,
                )
            )
        for c in self.contrasts.itertuples(index=False):
            extra = {"scale": "marginal", "se_scale": c.se_scale, "n_model": self.n} | extra_boot
            if c.estimand == "risk_difference":
                extra["se_ratio_unadjusted"] = self.se_ratio[c.treatment]
            extra |= excluded_extra(self.inputs, c.treatment, self.control)
            scale = "" if c.se_scale == "identity" else f"; se on the {c.se_scale} scale"
            out.append(
                self._row(
                    c.contrast,
                    c.estimand,
                    c.estimate,
                    se=c.se,
                    ci_low=c.ci_low,
                    ci_high=c.ci_high,
                    p_value=c.p_value,
                    method=f"g-computation over {self.method}{scale}",
                    n=self.n_by_arm[c.treatment] + self.n_by_arm[self.control],
                    extra=extra,
                    variant=variant,
                )
            )
        adjusted = ", ".join(self.covariates) or "nothing"
        for c in self.conditional.itertuples(index=False):
            extra = {"scale": "conditional", "se_scale": "log", "se_hc0": c.se_hc0, "n_model": self.n}
            extra |= excluded_extra(self.inputs, c.treatment, self.control)
            out.append(
                self._row(
                    c.contrast,
                    "odds_ratio",
                    c.odds_ratio,
                    se=c.se,
                    ci_low=c.ci_low,
                    ci_high=c.ci_high,
                    p_value=c.p_value,
                    method=f"conditional, logistic model: exp(arm coefficient) adjusted for {adjusted}; Wald "
                    "interval, model-based se on the log scale",
                    n=self.n_by_arm[c.treatment] + self.n_by_arm[self.control],
                    extra=extra,
                    variant="conditional",
                )
            )
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# variances
# ---------------------------------------------------------------------------------------------


def _ye_variance(
    y: np.ndarray,
    arm_index: np.ndarray,
    preds: np.ndarray,
    strata_codes: np.ndarray | None,
    decompose: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``Var(θ̂)`` of Ye et al. (2023) as RobinCar2's vcovG (module docstring); ``preds[a, i] = μ̂_a(x_i)``.

    Returns the covariance (corrected for stratified permuted blocks when ``strata_codes`` are given)
    and, with strata, the uncorrected one.
    """
    k, n = preds.shape
    pi = np.array([np.mean(arm_index == a) for a in range(k)])
    sigma = np.cov(preds, ddof=1).reshape(k, k)
    C = np.empty((k, k))  # C[a, b] = cov over arm a of (Y, μ̂_b)
    d = np.empty(k)
    for a in range(k):
        members = arm_index == a
        ya = y[members]
        for b in range(k):
            C[a, b] = np.cov(ya, preds[b, members], ddof=1)[0, 1]
        if decompose:
            d[a] = (np.var(ya, ddof=1) + sigma[a, a] - 2 * C[a, a]) / pi[a]
        else:
            d[a] = np.var(ya - preds[a, members], ddof=1) / pi[a]
    V = np.diag(d) + C + C.T - sigma
    if strata_codes is None:
        return V / n, None
    residual = y - preds[arm_index, np.arange(n)]
    M = np.zeros((k, k))
    for z in np.unique(strata_codes):
        in_z = strata_codes == z
        r = np.zeros(k)
        for a in range(k):
            cell = in_z & (arm_index == a)
            if cell.any():
                r[a] = np.mean(residual[cell])
        M += np.mean(in_z) * (np.diag(r**2 / pi) - np.outer(r, r))
    return (V - M) / n, V / n


def _ge_variance(counterfactual: list[np.ndarray], beta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Ge et al. (2011): ``D Σ_β D'`` with ``D_a = n⁻¹ Σ_i μ_a(1-μ_a) x_i(a)'``."""
    from scipy.special import expit

    rows = []
    for Xa in counterfactual:
        m = expit(Xa @ beta)
        rows.append((m * (1 - m)) @ Xa / len(m))
    D = np.vstack(rows)
    return D @ sigma @ D.T


def _bootstrap(
    y: np.ndarray,
    Xc: np.ndarray,
    counterfactual_c: list[np.ndarray],
    beta_c: np.ndarray,
    arm_index: np.ndarray,
    n_resamples: int,
    seed: SeedLike,
) -> tuple[np.ndarray, int, int | None]:
    """Replicates of ``θ̂`` resampling within arm (:func:`ipstrial._bootstrap.refitted_replicates`):
    those fitted (``(n_resamples - failed) x k``), the number that failed and the seed's entropy.

    Replicate ``b``: ``θ̂_a^b = n⁻¹ Σ_i w_bi μ(x_i(a)'β̂^b)``, the g-computation over the resample, with
    ``w_b`` the resampling counts (chunk by chunk) and ``β̂^b`` the weighted MLE (Newton, from ``β̂``).
    """
    from scipy.special import expit

    k = len(counterfactual_c)
    derivatives = glm_derivatives("logistic", y)
    Q = products(Xc)

    def refit(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        beta, converged = newton_batch(Xc, W, beta_c, derivatives, Q=Q)
        theta = np.empty((W.shape[0], k))
        for a, Xa in enumerate(counterfactual_c):
            theta[:, a] = np.sum(W * expit(beta @ Xa.T), axis=1) / len(y)
        return theta, converged

    return refitted_replicates(
        arm_index,
        k,
        n_resamples,
        seed,
        k,
        refit,
        kept_bytes=8.0 * n_resamples * (k + 1),
        estimator="marginal_effect",
        what="bootstrap replicates of the working logistic model",
        why_fix="(separated resamples, or covariate levels missing from a resample); merge rare covariate "
        "levels, drop covariates or use variance='ye'",
    )


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
    c = arms.index(control)
    scaled = _transform(estimand, theta)
    records = []
    for t_label in treatments:
        t = arms.index(t_label)
        g = np.zeros(len(arms))
        g[t] = _gradient(estimand, theta[t])
        g[c] = -_gradient(estimand, theta[c])
        diff = float(scaled[t] - scaled[c])
        if boot is None:
            se = float(np.sqrt(g @ cov @ g))
            low, high = wald_interval(diff, se, alpha)
        else:
            tb = _transform(estimand, boot)
            reps = tb[:, t] - tb[:, c]
            se = float(np.std(reps, ddof=1))
            low, high = percentile_interval(reps, alpha)
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
                "p_value": float(p_two_sided(diff, se)),
            }
        )
    return pd.DataFrame.from_records(records)


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------


def _samples(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None,
    treatment: Any,
    control: Any,
    covariates: tuple[str, ...],
    strata: tuple[str, ...],
    model_arms: str,
    missing: str | None,
    id: str | None,
) -> tuple[Prepared, Prepared]:
    """The compared arms and the arms of the working model (every randomised arm with ``"all"``)."""
    compared = prepare(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates,
        kind="binary",
        missing=missing,
        id=id,
        strata=strata,
    )
    if model_arms == "compared" or not any(compared.inputs.outside.values()):
        return compared, compared
    try:
        everyone = prepare(
            data,
            outcome,
            arm,
            None,
            compared.control,
            covariates,
            kind="binary",
            missing=missing,
            id=id,
            strata=strata,
        )
    except TrialDataError as exc:  # a problem in an arm outside the contrast: say why that arm matters
        others = ", ".join(sorted(compared.inputs.outside))
        why = (
            f"the working model uses every randomised arm (model_arms='all', as RobinCar2), so the rows of "
            f"{others} are checked too; model_arms='compared' fits it on {', '.join(compared.order)} only"
        )
        raise TrialDataError(
            [dataclasses.replace(p, fix=f"{p.fix.rstrip('.')} ({why})") for p in exc.problems]
        ) from None
    return compared, everyone


@shared_params
def marginal_effect(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    covariates: str | Sequence[str],
    strata: str | Sequence[str] | None = None,
    contrast: str = "risk_difference",
    variance: str = "ye",
    model_arms: str = "all",
    n_resamples: int | None = None,
    seed: SeedLike = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_marginal_effect",
) -> MarginalEffectResult:
    """Covariate-adjusted marginal risks and their contrasts (FDA 2023 guidance; RobinCar2; module docstring).

    The logistic working model ``logit P(Y=1 | A, X) = β_0 + Σ_t β_t 1{A=t} + γ'X`` is fitted on every
    randomised arm (``model_arms="all"``, as RobinCar2) or on the compared arms only; the marginal risk
    of arm ``a`` is the g-computation (standardisation) ``θ̂_a = n⁻¹ Σ_i μ(x_i(a)'β̂)`` over all the
    participants of the model (Ye, Bannick, Yi & Shao 2023). Its default variance is RobinCar2's vcovG
    (``decompose = TRUE``): with ``S²_a = var_a(Y)``, ``C_a(b) = cov_a(Y, μ̂_b)``, ``Σ_ab = cov(μ̂_a, μ̂_b)``
    (``n − 1`` denominators) and ``π_a = n_a/n``, ``d_a = [S²_a + Σ_aa − 2 C_a(a)]/π_a``,
    ``V_ab = 1{a=b} d_a + C_b(a) + C_a(b) − Σ_ab`` and ``Var(θ̂) = (V − M)/n``, ``M`` the stratified
    permuted-block correction ``M_ab = Σ_z p_z [1{a=b} r_a(z)²/π_a − r_a(z) r_b(z)]`` when ``strata`` are
    given (else 0). References: Ye, Shao, Yi & Zhao (2023, JASA 118:2370); Bannick et al. (2025,
    Biometrika 112:881); RobinCar2 ``vcovG``.

    Parameters
    ----------
    @params data
    outcome
        The 0/1 outcome column.
    @params arm
    covariates
        Baseline covariates of the working model (a name or a list; text columns become dummies, first
        sorted level the reference; numbers enter linearly). Required: the covariates of an adjusted
        analysis are pre-specified (FDA 2023), and a forgotten argument must not turn it silently into an
        unadjusted one; pass ``covariates=[]`` for the working model with the arm only.
    strata
        Randomisation strata of a stratified permuted-block design (a name or a list); only with
        ``variance="ye"`` or ``"ye-residual"``, which then subtract the between-strata residual variance
        that the blocks balance away (module docstring).
    contrast
        ``"risk_difference"`` (``θ_t − θ_c``), ``"risk_ratio"`` (delta method on ``log θ_t − log θ_c``)
        or ``"odds_ratio"`` (delta method on ``logit θ_t − logit θ_c``).
    variance
        ``"ye"`` (robust, RobinCar2 vcovG ``decompose = TRUE``), ``"ye-residual"`` (the residual form,
        ``decompose = FALSE``), ``"ge"`` (Ge et al. 2011 delta method with the HC0 sandwich),
        ``"ge-model"`` (the same with the model-based covariance) or ``"bootstrap"`` (within-arm
        nonparametric bootstrap, percentile interval).
    model_arms
        ``"all"`` (default): the working model is fitted on every randomised arm (with a Trial its
        declared arms present in the data; with a DataFrame every arm label in the data, after the
        input gate's check of near-miss labels), so the compared risks average over all participants;
        ``"compared"``: on the treatment arm(s) and the control only (the other arms are then counted as
        outside the analysis).
    n_resamples, seed
        Bootstrap replicates (at least 2; None means 2000) and seed (int, numpy Generator or None; same
        seed, same bits; the entropy is recorded in ``seed_entropy``). Only for ``variance="bootstrap"``:
        both are always checked, and giving either with another variance is a ParameterError (the
        analytic variances draw nothing, and an argument given is never ignored).
    @params alpha missing id analysis

    Returns
    -------
    MarginalEffectResult
        Rows: ``proportion`` per compared arm, the requested contrast per treatment (marginal; variant
        ``"bootstrap"`` for the bootstrap), and the conditional odds ratio ``exp(β_t)`` per treatment
        (variant ``"conditional"``, ``extra["scale"] == "conditional"``).

    Raises
    ------
    TrialDataError
        Bad columns, non-binary or missing outcomes without a policy, missing covariates or strata,
        a covariate with a single level.
    EstimationError
        The outcome is the same for everyone, (quasi-)complete separation of the working model (the
        message names the arm or covariate level), collinear covariates, non-convergence.
    """
    check_choice(contrast, "contrast", CONTRASTS)
    check_choice(variance, "variance", VARIANCES)
    check_choice(model_arms, "model_arms", MODEL_ARMS)
    alpha = check_alpha(alpha)
    check_analysis(analysis)
    n_resamples, seed = bootstrap_options(
        n_resamples,
        seed,
        used=variance == "bootstrap",
        default=DEFAULT_RESAMPLES,
        applies="variance='bootstrap'",
        why=f"variance={variance!r} is analytic and draws nothing; drop them or use variance='bootstrap'",
    )
    covariates = column_names(covariates, "covariates")
    strata = column_names(strata, "strata")
    if strata and variance not in ("ye", "ye-residual"):
        raise ParameterError(
            "strata= is used only by variance='ye' or 'ye-residual' (the stratified-randomisation "
            f"correction of Ye et al. 2023); variance={variance!r} takes no strata. Drop strata= or use "
            "variance='ye'"
        )
    compared_sample, fitted = _samples(
        data, outcome, arm, treatment, control, covariates, strata, model_arms, missing, id
    )
    y = fitted.y
    if np.all(y == y[0]):
        raise EstimationError(
            f"every analysed participant has {outcome} = {int(y[0])}: no logistic model can be fitted and "
            f"there is no variation to adjust. Use the unadjusted analysis ({_UNADJUSTED}), whose "
            "intervals handle 0 % and 100 %"
        )
    control_label = compared_sample.control
    model_order = fitted.order
    model_treatments = tuple(a for a in model_order if a != control_label)
    compared = compared_sample.order
    treatments = compared_sample.treatments
    arm_index = pd.Index(model_order).get_indexer(fitted.arms)
    X, names, arm_cols = model_matrix(fitted, model_treatments, where="the working logistic model")
    fit = fit_glm(X, y, "logistic", "the working logistic model")
    from scipy.special import expit

    mu = expit(X @ fit.beta)
    if not fit.converged or np.min(np.minimum(mu, 1 - mu)) < 1e-7:
        logistic_separation(
            X,
            y,
            names,
            fitted,
            f"the working logistic model of {outcome!r}",
            f"use the unadjusted analysis ({_UNADJUSTED})",
        )
    if not fit.converged:
        raise EstimationError(
            "the working logistic model did not converge in 100 Newton iterations (the data are not "
            f"separated); fewer covariates or rescaled numeric covariates may help, or use the unadjusted "
            f"analysis ({_UNADJUSTED})"
        )
    counterfactual = []
    for a in model_order:
        Xa = X.copy()
        Xa[:, arm_cols] = [float(a == t) for t in model_treatments]
        counterfactual.append(Xa)
    preds = np.vstack([expit(Xa @ fit.beta) for Xa in counterfactual])
    theta_all = preds.mean(axis=1)

    bread, hc0 = _coefficient_covariances(X, y, mu)
    cov_unstratified = None
    boot = None
    failed = 0
    entropy = None
    model_text = (
        f"a logistic working model (arm + {', '.join(covariates) or 'no covariates'}, no interactions) "
        f"fitted on arms {', '.join(model_order)}"
    )
    if variance in ("ye", "ye-residual"):
        codes = None
        if strata:
            codes = fitted.sample.strata_codes()[0]  # type: ignore[index]
        cov_all, cov_sr_all = _ye_variance(y, arm_index, preds, codes, decompose=variance == "ye")
        what = "robust variance of Ye, Shao, Yi & Zhao (2023), RobinCar2 vcovG " + (
            "decompose=TRUE" if variance == "ye" else "decompose=FALSE (residual form)"
        )
        if strata:
            what += f", corrected for stratified permuted blocks within {' x '.join(strata)}"
    elif variance in ("ge", "ge-model"):
        cov_all = _ge_variance(counterfactual, fit.beta, hc0 if variance == "ge" else bread)
        cov_sr_all = None
        what = "delta-method variance of Ge et al. (2011) with the " + (
            "HC0 sandwich" if variance == "ge" else "model-based covariance"
        )
    else:
        boot_all, failed, entropy = _bootstrap(
            y,
            X - fit.shift,
            [Xa - fit.shift for Xa in counterfactual],
            fit.beta_c,
            arm_index,
            n_resamples,  # type: ignore[arg-type]
            seed,
        )
        cov_all = np.cov(boot_all, rowvar=False, ddof=1).reshape(len(model_order), len(model_order))
        cov_sr_all = None
        what = f"nonparametric bootstrap within arm ({n_resamples} replicates, percentile interval)"
        if failed:
            what += f", {plural(failed, 'replicate')} not fitted and left out (separated resamples)"
    pick = [model_order.index(a) for a in compared]
    theta = theta_all[pick]
    cov = cov_all[np.ix_(pick, pick)]
    if cov_sr_all is not None:
        cov_unstratified = cov_sr_all[np.ix_(pick, pick)]
    if variance == "bootstrap":
        boot = boot_all[:, pick]
    method = f"{model_text}; SE: {what}"
    contrasts = _contrast_table(contrast, compared, treatments, control_label, theta, cov, alpha, boot)

    se_model = np.sqrt(np.diag(bread))
    se_hc0 = np.sqrt(np.diag(hc0))
    zval = fit.beta / se_model
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": fit.beta,
            "se": se_model,
            "se_hc0": se_hc0,
            "z": zval,
            "p_value": p_two_sided(fit.beta, se_model),
        }
    )
    mean_ci: dict[str, tuple[float, float]] = {}
    for i, a in enumerate(compared):
        if boot is None:
            low, high = wald_interval(float(theta[i]), float(np.sqrt(cov[i, i])), alpha)
        else:
            low, high = percentile_interval(boot[:, i], alpha)
        mean_ci[a] = (float(low), float(high))
    conditional = []
    for t in treatments:
        j = 1 + model_treatments.index(t)
        log_low, log_high = wald_interval(fit.beta[j], se_model[j], alpha)
        conditional.append(
            {
                "contrast": contrast_label(t, control_label),
                "treatment": t,
                "log_or": fit.beta[j],
                "se": se_model[j],
                "se_hc0": se_hc0[j],
                "odds_ratio": float(np.exp(fit.beta[j])),
                "ci_low": float(np.exp(log_low)),
                "ci_high": float(np.exp(log_high)),
                "p_value": float(p_two_sided(fit.beta[j], se_model[j])),
            }
        )

    c = compared.index(control_label)
    n_by_arm = compared_sample.n_by_arm
    unadjusted_se: dict[str, float] = {}
    se_ratio: dict[str, float] = {}
    for t in treatments:
        i = compared.index(t)
        values = compared_sample.arm_values(t), compared_sample.arm_values(control_label)
        unadj = wald_risk_difference(*values, alpha).se
        adj = np.sqrt(cov[i, i] + cov[c, c] - 2 * cov[i, c])
        unadjusted_se[t] = float(unadj)
        se_ratio[t] = float(adj / unadj) if unadj > 0 else np.nan
    notes = list(fit.notes)
    if fitted is not compared_sample:
        notes.append(
            f"The working model is fitted on every randomised arm ({', '.join(model_order)}; {len(y)} "
            "participants) and the marginal risks average the predictions over all of them; "
            "model_arms='compared' restricts it to the compared arms."
        )
    return MarginalEffectResult(
        outcome=outcome,
        treatments=treatments,
        control=control_label,
        covariates=covariates,
        strata=strata,
        contrast=contrast,
        variance=variance,
        model_arms=model_arms,
        working_model_arms=model_order,
        arms=compared,
        means=theta,
        cov=cov,
        contrasts=contrasts,
        coefficients=coefficients,
        conditional=pd.DataFrame.from_records(conditional),
        n=len(y),
        n_by_arm=n_by_arm,
        method=method,
        unadjusted_se=unadjusted_se,
        se_ratio=se_ratio,
        alpha=alpha,
        mean_ci=mean_ci,
        cov_unstratified=cov_unstratified,
        replicates=boot,
        n_resamples=n_resamples,
        failed=failed,
        seed_entropy=entropy,
        analysis=analysis,
        notes=tuple(notes),
        inputs=fitted.inputs,
    )


def _coefficient_covariances(X: np.ndarray, y: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model-based ``(X'ŴX)⁻¹`` and the HC0 sandwich of the logistic coefficients."""
    w = mu * (1 - mu)
    bread = np.linalg.inv(X.T @ (w[:, None] * X))
    e = y - mu
    meat = X.T @ ((e**2)[:, None] * X)
    return bread, bread @ meat @ bread
