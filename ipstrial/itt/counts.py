"""Counts (weeks employed, visits): the rate ratio from a negative binomial (NB2) regression.

Model ``y ~ NB(μ, θ)``, ``Var y = μ + μ²/θ``, ``log μ = log(exposure) + β_0 + Σ_a β_a 1[arm=a] + γ'x``
(Lawless 1987, Can J Stat 15:209; Venables & Ripley 2002, MASS 4th ed., sec. 7.4). Fitting, as
``MASS::glm.nb`` defines the estimate: start from the Poisson fit, then alternate the NB2 fit for fixed
θ with the maximum likelihood θ given the fitted means until θ is stable -- the joint maximum
likelihood estimate.

* The fits for fixed θ are Newton's method (:func:`ipstrial._batched.newton_batch`) on the
  log-likelihood ``ℓ_i(η) = y_i η − (y_i + θ) log(θ + e^{η})``, concave in η: ``ℓ' = θ(y − μ)/(θ + μ)``,
  ``−ℓ'' = θμ(y + θ)/(θ + μ)²`` (the Poisson start: ``ℓ' = y − μ``, ``−ℓ'' = μ``), on the design with
  centred covariates, until the step is below ``1e-10 (1 + max|β|)``. (The working-response form of
  IRLS recomputes β from scratch each iteration, so its rounding error grows with n: on 60,000
  participants successive β differ by about 1e-12 relative at the optimum, and a 1e-12 criterion on them
  is never met; the Newton step itself goes to zero.)
* θ given the means: the root of the score ``Σ ψ(θ+y) − ψ(θ) + log θ + 1 − log(θ+μ) − (y+θ)/(θ+μ)``
  (Lawless 1987, eq. 2.4), bracketed and found by Brent's method (MASS::theta.ml solves the same
  equation by Newton's method from the moment estimate, which can fail on zero-heavy data such as weeks
  employed; the bracketed root is the same maximum). The alternation stops when ``|Δ log θ| < 1e-10``.

Standard errors: the HC0 sandwich ``(X'WX)⁻¹ [Σ_i ((y_i − μ_i)/(1 + μ_i/θ))² x_i x_i'] (X'WX)⁻¹``,
``W = diag(μ/(1 + μ/θ))``, as ``sandwich::vcovHC(type="HC0")`` on a glm.nb fit (Zeileis 2006, J Stat
Softw 16(9)); Wald interval ``exp(β_a ± z_{1-α/2} se)`` and p-value ``2Φ(−|β_a|/se)``. The model-based
SE (θ treated as known, as ``summary.negbin``) is in ``extra["se_model"]``; ``theta_se`` is
``1/√(observed information of θ)`` as glm.nb's ``SE.theta``.

The maximum likelihood estimate does not exist when an arm or a covariate level has only zero counts
(its coefficient would be minus infinity): :func:`ipstrial._glm.count_separation` names it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._batched import newton_batch
from ipstrial._docs import shared_params
from ipstrial._glm import centre, count_separation, uncentre
from ipstrial.errors import EstimationError, ParameterError
from ipstrial.itt._common import contrast_row, model_matrix, prepare_checked, reject_values, table_rows
from ipstrial.results import Result, Row
from ipstrial.stats.normal import p_two_sided, wald_interval

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["RateRatio", "rate_ratio"]

_EPS = float(np.finfo(float).eps)
_THETA_TOL = 1e-10
_MAX_ALTERNATIONS = 100


@dataclass(frozen=True, eq=False)
class RateRatio(Result):
    """Rate ratios from a negative binomial (NB2) regression with an HC0 sandwich standard error.

    ``table`` has one row per contrast (``log_rr, se, estimate, ci_low, ci_high, p_value``);
    ``coefficients`` all coefficients with HC0 and model-based standard errors; ``theta`` the
    dispersion (variance ``μ + μ²/θ``) and ``theta_se`` its standard error as MASS::glm.nb reports.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    table: pd.DataFrame
    coefficients: pd.DataFrame
    theta: float
    theta_se: float
    loglik: float
    n: int
    exposure: str | None = None
    alpha: float = 0.05
    analysis: str = "itt_rate_ratio"
    notes: tuple[str, ...] = ()

    title_template = "Rate ratio of {outcome}: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        covs = ", ".join(self.covariates) if self.covariates else "none"
        offset = f", offset log({self.exposure})" if self.exposure else ""
        method = (
            f"negative binomial (NB2) regression on arm and covariates ({covs}){offset}, theta by maximum "
            "likelihood; HC0 sandwich SE on the log scale, Wald interval exp(log RR ± z se)"
        )
        common = {"se_scale": "log", "theta": self.theta, "theta_se": self.theta_se, "n_model": self.n}
        return tuple(
            table_rows(
                self,
                self.table,
                "rate_ratio",
                method,
                lambda r: {"log_rate_ratio": r.log_rr, "se_model": r.se_model} | common,
            )
        )


def _nb_loglik(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    from scipy.special import gammaln

    return float(
        np.sum(
            gammaln(theta + y)
            - gammaln(theta)
            - gammaln(y + 1)
            + theta * np.log(theta)
            + y * np.log(np.where(y > 0, mu, 1.0))
            - (theta + y) * np.log(theta + mu)
        )
    )


def _theta_score(theta: float, y: np.ndarray, mu: np.ndarray) -> float:
    """``∂ℓ/∂θ = Σ ψ(θ+y) - ψ(θ) + log θ + 1 - log(θ+μ) - (y+θ)/(θ+μ)`` (Lawless 1987, eq. 2.4)."""
    from scipy.special import digamma

    return float(
        np.sum(
            digamma(theta + y)
            - digamma(theta)
            + np.log(theta)
            + 1
            - np.log(theta + mu)
            - (y + theta) / (theta + mu)
        )
    )


def _theta_ml(y: np.ndarray, mu: np.ndarray, start: float) -> float:
    """Maximum likelihood θ for fixed means: the root of the score, bracketed then Brent's method."""
    from scipy import optimize

    def score(log_theta: float) -> float:
        return _theta_score(math.exp(log_theta), y, mu)

    low = high = math.log(min(max(start, 1e-6), 1e6))
    f_low = f_high = score(low)
    step = 1.0
    while f_low < 0 and low > math.log(1e-8):
        low -= step
        f_low = score(low)
        step *= 2
    step = 1.0
    while f_high > 0 and high < math.log(1e8):
        high += step
        f_high = score(high)
        step *= 2
    if f_high > 0:
        raise EstimationError(
            "no overdispersion: the negative binomial likelihood increases up to theta = 1e8 (the Poisson "
            "limit); use a Poisson model with a robust standard error"
        )
    if f_low < 0:
        raise EstimationError(
            "the maximum likelihood theta is below 1e-8: the counts are too dispersed to model"
        )
    if low == high:
        return math.exp(low)
    return math.exp(optimize.brentq(score, low, high, xtol=1e-14, rtol=4 * _EPS, maxiter=500))


def _derivatives(
    y: np.ndarray, offset: np.ndarray, theta: float | None
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``η -> (ℓ'(η), −ℓ''(η))`` of the Poisson (``theta=None``) or NB2 log-likelihood, log link."""

    def poisson(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = np.exp(eta + offset)
        return y - mu, mu

    def negative_binomial(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = np.exp(eta + offset)
        ratio = theta / (theta + mu)  # type: ignore[operator]
        return ratio * (y - mu), ratio * mu * (y + theta) / (theta + mu)  # type: ignore[operator]

    return poisson if theta is None else negative_binomial


@shared_params
def rate_ratio(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    covariates: str | Sequence[str] = (),
    exposure: str | None = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_rate_ratio",
) -> RateRatio:
    """Rate ratio of a count (e.g. weeks employed) from a negative binomial regression (module docstring).

    Parameters
    ----------
    @params data
    outcome
        The count column (non-negative whole numbers).
    @params arm covariates
    exposure
        A column of positive times at risk (the offset ``log(exposure)``), or None.
    @params alpha missing id analysis

    Raises
    ------
    TrialDataError
        Negative or non-integer counts (participants named), non-positive exposure, missing values.
    EstimationError
        All counts identical, an arm or covariate level with only zero counts (no maximum likelihood
        estimate; named), no overdispersion (θ → ∞: use Poisson), non-convergence.
    """
    if exposure is not None and not isinstance(exposure, str):
        raise ParameterError(f"exposure must be a column name (str) or None, got {exposure!r}")
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates,
        kind="count",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
        extra={exposure: "exposure"} if exposure is not None else None,
    )
    y = prepared.y
    offset = np.zeros(len(y))
    if exposure is not None:
        t = pd.to_numeric(prepared.frame[exposure], errors="coerce").to_numpy(dtype=float)
        reject_values(
            prepared,
            exposure,
            ~np.isfinite(t) | (t <= 0),
            ("exposure that is not a positive number", "exposures that are not positive numbers"),
            "exposure (time at risk) must be > 0; drop participants without follow-up",
        )
        offset = np.log(t)
    X, names, arm_cols = model_matrix(prepared, where="the negative binomial model")
    Xc, shift = centre(X)
    ones = np.ones((1, len(y)))

    def fit(theta: float | None, start: np.ndarray) -> np.ndarray:
        beta, ok = newton_batch(Xc, ones, start, _derivatives(y, offset, theta), maxiter=200)
        if not ok[0]:
            count_separation(X, y, names, prepared, f"the negative binomial model of {outcome!r}")
            kind = "Poisson start" if theta is None else f"negative binomial fit (theta = {theta:.4g})"
            raise EstimationError(
                f"the {kind} of {outcome!r} did not converge in 200 Newton iterations; rescale numeric "
                "covariates or drop some"
            )
        return beta[0]

    start = np.linalg.lstsq(Xc, np.log(y + 0.1) - offset, rcond=None)[0]
    beta = fit(None, start)
    mu = np.exp(Xc @ beta + offset)
    theta = _theta_ml(y, mu, len(y) / np.sum((y / mu - 1.0) ** 2))
    for _ in range(_MAX_ALTERNATIONS):
        beta = fit(theta, beta)
        mu = np.exp(Xc @ beta + offset)
        new_theta = _theta_ml(y, mu, theta)
        moved = abs(math.log(new_theta / theta))
        theta = new_theta
        if moved < _THETA_TOL:
            break
    else:
        raise EstimationError(
            "the negative binomial alternation of beta and theta did not converge in "
            f"{_MAX_ALTERNATIONS} rounds"
        )
    beta = fit(theta, beta)
    mu = np.exp(Xc @ beta + offset)
    beta = uncentre(beta, shift)
    from scipy.special import polygamma

    info = float(
        np.sum(
            -polygamma(1, theta + y)
            + polygamma(1, theta)
            - 1 / theta
            + 2 / (mu + theta)
            - (y + theta) / (mu + theta) ** 2
        )
    )
    theta_se = 1 / math.sqrt(info) if info > 0 else math.nan
    bread = np.linalg.inv(X.T @ ((mu / (1 + mu / theta))[:, None] * X))
    score = ((y - mu) / (1 + mu / theta))[:, None] * X
    vcov = bread @ (score.T @ score) @ bread
    se_all = np.sqrt(np.diag(vcov))
    table = []
    for t_arm, k in zip(prepared.treatments, arm_cols, strict=True):
        b, se = float(beta[k]), float(se_all[k])
        low, high = wald_interval(b, se, alpha)
        table.append(
            contrast_row(
                prepared,
                t_arm,
                log_rr=b,
                se=se,
                estimate=math.exp(b),
                ci_low=math.exp(low),
                ci_high=math.exp(high),
                p_value=float(p_two_sided(b, se)),
                se_model=float(math.sqrt(bread[k, k])),
            )
        )
    return RateRatio(
        outcome=outcome,
        treatments=prepared.treatments,
        control=prepared.control,
        covariates=prepared.covariates,
        table=pd.DataFrame(table),
        coefficients=pd.DataFrame(
            {"coef": beta, "se_HC0": se_all, "se_model": np.sqrt(np.diag(bread))}, index=names
        ),
        theta=float(theta),
        theta_se=float(theta_se),
        loglik=_nb_loglik(y, mu, theta),
        n=len(y),
        exposure=exposure,
        alpha=alpha,
        analysis=analysis,
        inputs=prepared.inputs,
    )
