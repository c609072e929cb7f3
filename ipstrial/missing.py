"""Missing outcomes: multiple imputation, worst/best-case bounds and delta-adjusted tipping points.

:func:`ipstrial._inputs.prepare` refuses a missing outcome unless the caller chooses a policy;
this module holds the policies beyond complete case:

* :func:`rubin` pools estimates from multiply imputed data by Rubin's rules (Rubin 1987), with the
  degrees of freedom of Barnard & Rubin (1999) when the complete-data degrees of freedom are known.
* :func:`multiple_imputation` imputes the missing outcomes (and any numeric covariate with missing
  values) by chained equations (van Buuren & Groothuis-Oudshoorn 2011), separately in each arm, and
  pools the risk or mean difference over the completed datasets.
* :func:`bounds` gives worst-case and best-case sensitivity bounds.
* :func:`tipping_point` shifts the imputed log-odds of a binary outcome by δ in each arm
  (delta-adjusted multiple imputation, Ratitch, O'Kelly & Tosiello 2013) and finds where the
  conclusion flips.

The imputation engine is written here with numpy only (no dependence on the other estimation
modules). Each imputation draws from its own random stream spawned from ``seed``, so the same seed
gives the same bits, and the first ``k`` imputations do not depend on ``m``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ipstrial._inputs import as_labels, design_matrix, prepare
from ipstrial._random import SeedLike, streams
from ipstrial.errors import EstimationError, Problem, TrialDataError, offending_ids
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover - typing only, matplotlib is imported lazily
    from matplotlib.axes import Axes

__all__ = [
    "DEFAULT_DELTAS",
    "BoundsResult",
    "MultipleImputationResult",
    "RubinPooled",
    "TippingPointResult",
    "bounds",
    "multiple_imputation",
    "rubin",
    "tipping_point",
]

Kind = Literal["binary", "continuous"]

DEFAULT_DELTAS: tuple[float, ...] = tuple(np.linspace(-3.0, 3.0, 13).tolist())
"""The default grid of log-odds shifts of :func:`tipping_point`: -3, -2.5, ..., 3."""

DONORS = 5
"""Donors per missing value in predictive mean matching (the mice default)."""

RIDGE = 1e-5
"""Ridge factor: ``RIDGE x diag(X'X)`` (or of the information matrix) is added for numerical stability."""

_REFERENCES = (
    "Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987; "
    "Barnard J, Rubin DB. Biometrika 1999;86:948-955; "
    "van Buuren S, Groothuis-Oudshoorn K. J Stat Softw 2011;45(3)"
)


# ---------------------------------------------------------------------------
# Rubin's rules
# ---------------------------------------------------------------------------


def _pool(q: np.ndarray, u: np.ndarray, dfcom: float) -> dict[str, np.ndarray]:
    """Rubin's rules on arrays of shape ``(m, ...)``, element by element over the trailing axes.

    Sums over the imputations run sequentially, so a scalar and a vectorised call give the same bits.
    """
    m = q.shape[0]
    qbar = q[0].astype(float).copy()
    ubar = u[0].astype(float).copy()
    for j in range(1, m):
        qbar = qbar + q[j]
        ubar = ubar + u[j]
    qbar = qbar / m
    ubar = ubar / m
    b = (q[0] - qbar) ** 2
    for j in range(1, m):
        b = b + (q[j] - qbar) ** 2
    b = b / (m - 1)
    t = ubar + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = np.where(b == 0, 0.0, (1.0 + 1.0 / m) * b / ubar)
        lam = np.where(b == 0, 0.0, (1.0 + 1.0 / m) * b / t)
        df_old = np.where(lam > 0, (m - 1) / lam**2, np.inf)
        if math.isinf(dfcom):
            df = df_old
        else:
            df_obs = (dfcom + 1.0) / (dfcom + 3.0) * dfcom * (1.0 - lam)
            df = np.where(np.isinf(df_old), df_obs, df_old * df_obs / (df_old + df_obs))
        fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
    return {"qbar": qbar, "ubar": ubar, "b": b, "t": t, "riv": riv, "lam": lam, "df": df, "fmi": fmi}


def _t_interval(
    estimate: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``estimate ± t_{df, 1-α/2} se`` and the two-sided p-value of ``estimate / se`` on ``df``."""
    from scipy import stats

    crit = stats.t.ppf(1.0 - alpha / 2.0, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(estimate) / se
        p = np.where(se > 0, 2.0 * stats.t.sf(z, df), np.nan)
    return estimate - crit * se, estimate + crit * se, p


@dataclass(frozen=True, eq=False)
class RubinPooled(Result):
    """Estimates from ``m`` imputed datasets pooled by Rubin's rules.

    Attributes
    ----------
    estimates, variances
        The ``m`` complete-data estimates and their variances.
    estimate
        The pooled estimate ``Q̄``.
    within, between, total
        ``W̄``, ``B`` and ``T = W̄ + (1 + 1/m) B``.
    se
        ``sqrt(T)``.
    riv
        Relative increase in variance due to nonresponse, ``r = (1 + 1/m) B / W̄``.
    lambda_
        Proportion of the total variance due to missingness, ``(1 + 1/m) B / T``.
    fmi
        Fraction of missing information, ``(r + 2/(ν + 3)) / (r + 1)``.
    df
        Degrees of freedom ``ν`` of the reference t distribution.
    dfcom
        Complete-data degrees of freedom (``inf`` for Rubin's 1987 large-sample rule).
    """

    estimates: np.ndarray
    variances: np.ndarray
    m: int
    estimate: float
    within: float
    between: float
    total: float
    se: float
    riv: float
    lambda_: float
    fmi: float
    df: float
    dfcom: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float = 0.05
    estimand: str = "mean"
    contrast: str = "pooled"
    outcome: str = ""
    analysis: str = "missing_rubin"
    method: str = ""
    n: int | None = None

    def rows(self) -> tuple[Row, ...]:
        """One row: the pooled estimate, ``se = sqrt(T)``, the t interval and p-value."""
        method = self.method or (
            f"Rubin's rules over m={self.m} estimates; df "
            + (
                "Rubin (1987)"
                if math.isinf(self.dfcom)
                else f"Barnard & Rubin (1999), complete-data df {self.dfcom:g}"
            )
        )
        return (
            Row(
                analysis=self.analysis,
                outcome=self.outcome,
                contrast=self.contrast,
                estimand=self.estimand,
                estimate=self.estimate,
                se=self.se,
                ci_low=self.ci_low,
                ci_high=self.ci_high,
                p_value=self.p_value,
                method=method,
                n=self.n,
                conf_level=1.0 - self.alpha,
                extra={
                    "m": self.m,
                    "within_variance": self.within,
                    "between_variance": self.between,
                    "df": self.df,
                    "fmi": self.fmi,
                    "riv": self.riv,
                },
            ),
        )


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _pooled(
    pool: dict[str, np.ndarray],
    q: np.ndarray,
    u: np.ndarray,
    dfcom: float,
    alpha: float,
    **labels: object,
) -> RubinPooled:
    """A :class:`RubinPooled` from the output of :func:`_pool` on ``(m,)`` arrays."""
    se = np.sqrt(pool["t"])
    low, high, p = _t_interval(pool["qbar"], se, pool["df"], alpha)
    return RubinPooled(
        estimates=np.asarray(q, dtype=float).copy(),
        variances=np.asarray(u, dtype=float).copy(),
        m=int(q.shape[0]),
        estimate=float(pool["qbar"]),
        within=float(pool["ubar"]),
        between=float(pool["b"]),
        total=float(pool["t"]),
        se=float(se),
        riv=float(pool["riv"]),
        lambda_=float(pool["lam"]),
        fmi=float(pool["fmi"]),
        df=float(pool["df"]),
        dfcom=float(dfcom),
        ci_low=float(low),
        ci_high=float(high),
        p_value=float(p),
        alpha=alpha,
        **labels,  # type: ignore[arg-type]
    )


def rubin(
    estimates: Sequence[float] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    n_obs: int | None = None,
    *,
    k: int = 1,
    alpha: float = 0.05,
    estimand: str = "mean",
    contrast: str = "pooled",
    outcome: str = "",
) -> RubinPooled:
    """Pool ``m`` complete-data estimates and variances by Rubin's rules.

    With ``Q_j`` and ``U_j`` the estimate and its variance in imputed dataset ``j = 1..m``
    (Rubin 1987, section 3.1, eqs 3.1.2-3.1.5; van Buuren 2018, Flexible Imputation of Missing
    Data, 2nd ed., section 2.3)::

        Q̄ = Σ Q_j / m,    W̄ = Σ U_j / m,    B = Σ (Q_j - Q̄)² / (m - 1),
        T = W̄ + (1 + 1/m) B,    r = (1 + 1/m) B / W̄,    λ = (1 + 1/m) B / T.

    Degrees of freedom: Rubin (1987, eq 3.1.6) ``ν_old = (m - 1) / λ²`` (infinite when ``B = 0``).
    When the complete-data degrees of freedom ``ν_com = n_obs - k`` are given, the small-sample
    df of Barnard & Rubin (1999, Biometrika 86:948, eqs 2-3)::

        ν_obs = (ν_com + 1) / (ν_com + 3) · ν_com · (1 - λ),    ν = ν_old ν_obs / (ν_old + ν_obs).

    Fraction of missing information ``γ = (r + 2/(ν + 3)) / (r + 1)`` (Rubin 1987, eq 3.1.10).
    Interval ``Q̄ ± t_{ν, 1-α/2} √T`` and two-sided p-value of ``Q̄ / √T`` on ``ν`` df.

    These match R's ``mice::pool.scalar(Q, U, n, k)`` (which additionally floors λ at 1e-4;
    here ``B = 0`` gives ``ν_old = ∞`` exactly).

    Parameters
    ----------
    estimates, variances
        The ``m >= 2`` complete-data estimates and their (non-negative) variances.
    n_obs
        Sample size of the complete-data analysis; ``None`` (default) for large-sample inference.
    k
        Number of parameters of the complete-data model (``ν_com = n_obs - k``).
    alpha
        1 - confidence level.
    estimand, contrast, outcome
        Labels for the result's row (``estimand`` must be one of :data:`ipstrial.results.ESTIMANDS`).
    """
    alpha = _check_alpha(alpha)
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.ndim != 1 or u.ndim != 1 or q.shape != u.shape:
        raise ValueError(
            f"estimates and variances must be 1-D of the same length, got shapes {q.shape} and {u.shape}"
        )
    if q.shape[0] < 2:
        raise EstimationError(
            f"Rubin's rules need at least 2 imputations (the between-imputation variance), got m={q.shape[0]}"
        )
    if not np.all(np.isfinite(q)) or not np.all(np.isfinite(u)):
        raise EstimationError("estimates and variances must be finite numbers")
    if np.any(u < 0):
        raise EstimationError(f"variances must be non-negative, got {u[u < 0][:5].tolist()}")
    if n_obs is None:
        dfcom = math.inf
    else:
        if (
            isinstance(n_obs, bool)
            or not isinstance(n_obs, int | np.integer | float)
            or not math.isfinite(n_obs)
        ):
            raise ValueError(f"n_obs must be a whole number or None, got {n_obs!r}")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"k must be a non-negative whole number, got {k!r}")
        dfcom = float(n_obs) - int(k)
        if dfcom <= 0:
            raise ValueError(
                f"n_obs - k must be positive (complete-data degrees of freedom), got {n_obs} - {k}"
            )
    pool = _pool(q, u, dfcom)
    return _pooled(pool, q, u, dfcom, alpha, estimand=estimand, contrast=contrast, outcome=outcome)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Setup:
    """The checked rows of the compared arms, outcome possibly missing."""

    frame: pd.DataFrame
    ids: pd.Series
    y: np.ndarray
    arms: np.ndarray
    treatments: tuple[str, ...]
    control: str
    X: np.ndarray
    columns: tuple[str, ...]
    imputed_covariates: tuple[str, ...]

    @property
    def compared(self) -> tuple[str, ...]:
        return (*self.treatments, self.control)

    @property
    def missing(self) -> dict[str, int]:
        """Missing outcomes per arm."""
        gone = np.isnan(self.y)
        return {a: int(np.sum(gone & (self.arms == a))) for a in self.compared}

    @property
    def n_by_arm(self) -> dict[str, int]:
        return {a: int(np.sum(self.arms == a)) for a in self.compared}


def _setup(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    covariates: Sequence[str],
    kind: str,
    id: str | None,
    *,
    need_observed: bool,
) -> _Setup:
    """Check the inputs through :func:`prepare` (missing outcomes allowed) and build the design.

    Numeric covariates may have missing values (they are imputed); text covariates must be complete.
    """
    if kind not in ("binary", "continuous"):
        raise ValueError(f"kind must be 'binary' or 'continuous', got {kind!r}")
    if not isinstance(data, pd.DataFrame):
        prepare(data, outcome, arm, treatment, control, kind=kind, id=id)  # raises the standard error
    if isinstance(covariates, str):
        covariates = (covariates,)
    covariates = tuple(covariates)
    gappy = [c for c in covariates if c in data.columns and data[c].isna().any()]
    checked = data
    if outcome in data.columns:
        # prepare() is asked to check everything but the missing outcomes, which are handled here
        column = data[outcome]
        checked = data.assign(**{outcome: column.where(column.notna(), 0)})
    prepared = prepare(
        checked,
        outcome,
        arm,
        treatment,
        control,
        [c for c in covariates if c not in gappy],
        kind=kind,  # type: ignore[arg-type]
        missing=None,
        id=id,
    )
    rows = data[arm].isin(prepared.compared).to_numpy()
    frame = data.loc[rows]
    ids = prepared.ids
    raw = frame[outcome]
    y = (
        raw.astype(float) if raw.dtype == bool else pd.to_numeric(raw, errors="coerce").astype(float)
    ).to_numpy()
    arms = prepared.arms

    problems = []
    imputed = []
    for column in gappy:
        values = frame[column]
        gone = values.isna().to_numpy()
        if not gone.any():
            continue
        shown, count = offending_ids(ids, gone)
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            problems.append(
                Problem(
                    column,
                    f"{count} missing values in a text (non-numeric) covariate",
                    "only numeric covariates are imputed: complete it before the analysis (e.g. add a "
                    "'missing' level, or code it as numbers) or drop it from covariates",
                    shown,
                    count,
                )
            )
            continue
        known = values.to_numpy(dtype=float)[~gone]
        if not np.all(np.isfinite(known)):
            bad = ~gone & ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
            shown_bad, count_bad = offending_ids(ids, bad)
            problems.append(
                Problem(column, f"{count_bad} infinite values", "use finite numbers", shown_bad, count_bad)
            )
        empty = [a for a in prepared.compared if np.all(gone[arms == a])]
        if empty:
            problems.append(
                Problem(
                    column,
                    f"no known value in arm(s) {empty}",
                    "imputation is separate by arm and needs observed values in every arm: drop the "
                    "covariate",
                    shown,
                    count,
                )
            )
        imputed.append(column)
    if need_observed:
        for label in prepared.compared:
            if np.all(np.isnan(y[arms == label])):
                problems.append(
                    Problem(
                        outcome,
                        f"no participant with a known outcome in arm {label!r}",
                        "multiple imputation is separate by arm and needs observed outcomes in every arm; "
                        "use ipstrial.missing.bounds",
                    )
                )
    if problems:
        raise TrialDataError(problems)
    design = design_matrix(frame, covariates, ids)
    X = design.to_numpy(dtype=float) if design.shape[1] else np.empty((len(frame), 0))
    return _Setup(
        frame=frame,
        ids=ids,
        y=y,
        arms=arms,
        treatments=prepared.treatments,
        control=prepared.control,
        X=X,
        columns=tuple(str(c) for c in design.columns),
        imputed_covariates=tuple(imputed),
    )


def _check_m(m: int, n_iter: int) -> None:
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 2:
        raise EstimationError(
            f"m={m!r}: multiple imputation needs at least m=2 imputations (Rubin's rules estimate the "
            "between-imputation variance); use m=20 or more"
        )
    if isinstance(n_iter, bool) or not isinstance(n_iter, int | np.integer) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive whole number of chained-equation sweeps, got {n_iter!r}")


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


def _pmm_draw(
    x_obs: np.ndarray, y_obs: np.ndarray, x_mis: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Predictive mean matching with a Bayesian draw of the regression (van Buuren 2018, Algorithm 3.3).

    ``β̂ = (X'X + κ diag X'X)⁻¹ X'y``, ``σ̇² = RSS / g`` with ``g ~ χ²(n_obs - q)``,
    ``β̇ = β̂ + σ̇ chol(V) z`` (Rubin 1987, p. 167); type-1 matching: observed rows are predicted with
    ``β̂``, missing rows with ``β̇``, and each missing value takes the observed value of one of the
    :data:`DONORS` nearest observed rows, drawn at random.
    """
    z_obs, z_mis = _standardise(x_obs, x_mis)
    q = z_obs.shape[1]
    xtx = z_obs.T @ z_obs
    xtx[np.diag_indices(q)] *= 1.0 + RIDGE
    v, chol = _chol_inverse(xtx)
    beta = v @ (z_obs.T @ y_obs)
    resid = y_obs - z_obs @ beta
    df = max(len(y_obs) - q, 1)
    sigma = math.sqrt(float(resid @ resid) / rng.chisquare(df))
    beta_dot = beta + sigma * (chol @ rng.standard_normal(q))
    return y_obs[_match(z_obs @ beta, z_mis @ beta_dot, rng, DONORS)]


def _logistic_fit(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression by Newton-Raphson; returns ``β̂`` and the Hessian at ``β̂``."""
    beta = np.zeros(z.shape[1])
    for _ in range(100):
        eta = z @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        info = (z * (w * mu * (1.0 - mu))[:, None]).T @ z
        info[np.diag_indices(len(beta))] *= 1.0 + RIDGE
        step = np.linalg.solve(info, z.T @ (w * (y - mu)))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:  # pragma: no cover - the augmented likelihood is strictly concave
        raise EstimationError("the logistic imputation model did not converge in 100 Newton steps")
    mu = 1.0 / (1.0 + np.exp(-(z @ beta)))
    info = (z * (w * mu * (1.0 - mu))[:, None]).T @ z
    info[np.diag_indices(len(beta))] *= 1.0 + RIDGE
    return beta, info


def _logistic_draw(
    x_obs: np.ndarray, y_obs: np.ndarray, x_mis: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Linear predictor of the missing rows under coefficients drawn from their approximate posterior.

    ``β* = β̂ + chol(V) z`` with ``V`` the inverse information at the MLE (the normal approximation,
    Rubin 1987, p. 169; van Buuren 2018, section 3.6). Against perfect prediction the likelihood is
    augmented (White, Daniel & Royston 2010, Comput Stat Data Anal 54:2267): for each of the ``p``
    standardised predictors, records at its mean ± one SD (clipped to the observed range; the others
    at their mean), one with each outcome value, ``4p`` records of total weight ``p + 1``; with no
    predictor, one record of each outcome value, weight 1/2 each.
    """
    z_obs, z_mis = _standardise(x_obs, x_mis)
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
    z = np.vstack([z_obs, z_aug])
    y = np.concatenate([y_obs, y_aug])
    w = np.concatenate([np.ones(len(y_obs)), w_aug])
    beta, info = _logistic_fit(z, y, w)
    _, chol = _chol_inverse(info)
    beta_star = beta + chol @ rng.standard_normal(len(beta))
    return z_mis @ beta_star


def _impute_arm(
    x: np.ndarray, y: np.ndarray, kind: str, n_iter: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One completed outcome vector of one arm by chained equations.

    Returns the completed outcome and, for a binary outcome, the thresholds
    ``t_i = logit(u_i) - η_i`` of the missing rows (``u_i`` uniform, ``η_i`` the drawn linear
    predictor): the imputed value is 1 exactly when ``t_i <= 0``, and under a log-odds shift δ
    exactly when ``t_i <= δ``.

    Incomplete covariate columns start from random draws of their observed values and are
    imputed by PMM from the other covariates and the outcome; the outcome by logistic regression
    (binary) or PMM (continuous) from the covariates. With complete covariates one sweep suffices.
    """
    y = y.copy()
    miss_y = np.isnan(y)
    if not miss_y.any():
        return y, np.empty(0)
    x = x.copy()
    gaps = [(j, np.isnan(x[:, j])) for j in range(x.shape[1]) if np.isnan(x[:, j]).any()]
    for j, gone in gaps:
        x[gone, j] = rng.choice(x[~gone, j], size=int(gone.sum()))
    if gaps:
        y[miss_y] = rng.choice(y[~miss_y], size=int(miss_y.sum()))
    thresholds = np.empty(0)
    for _ in range(n_iter if gaps else 1):
        for j, gone in gaps:
            others = np.column_stack([np.delete(x, j, axis=1), y])
            x[gone, j] = _pmm_draw(others[~gone], x[~gone, j], others[gone], rng)
        if kind == "binary":
            eta = _logistic_draw(x[~miss_y], y[~miss_y], x[miss_y], rng)
            u = rng.random(int(miss_y.sum()))
            with np.errstate(divide="ignore"):
                thresholds = np.log(u) - np.log1p(-u) - eta
            y[miss_y] = (thresholds <= 0.0).astype(float)
        else:
            y[miss_y] = _pmm_draw(x[~miss_y], y[~miss_y], x[miss_y], rng)
    return y, thresholds


def _run_imputations(
    setup: _Setup, kind: str, m: int, n_iter: int, seed: SeedLike
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """``m`` completed outcome vectors per arm (and binary thresholds), imputation ``j`` on stream ``j``."""
    completed: list[dict[str, np.ndarray]] = []
    thresholds: list[dict[str, np.ndarray]] = []
    for rng in streams(seed, m):
        done, cut = {}, {}
        for label in setup.compared:
            rows = setup.arms == label
            done[label], cut[label] = _impute_arm(setup.X[rows], setup.y[rows], kind, n_iter, rng)
        completed.append(done)
        thresholds.append(cut)
    return completed, thresholds


# ---------------------------------------------------------------------------
# Complete-data analyses
# ---------------------------------------------------------------------------


def _arm_stats(values: np.ndarray, kind: str) -> tuple[float, float]:
    """Arm mean (proportion) and the variance of that mean: ``p(1-p)/n`` or ``s²/n``."""
    n = len(values)
    mean = float(np.sum(values)) / n
    if kind == "binary":
        return mean, mean * (1.0 - mean) / n
    return mean, float(np.var(values, ddof=1)) / n


def _welch(t: np.ndarray, c: np.ndarray, alpha: float) -> tuple[float, float, float, float, float, float]:
    """Mean difference, Welch SE and df (Welch 1947), t interval and p-value."""
    from scipy import stats

    vt, vc = float(np.var(t, ddof=1)) / len(t), float(np.var(c, ddof=1)) / len(c)
    diff = float(np.mean(t)) - float(np.mean(c))
    var = vt + vc
    se = math.sqrt(var)
    if var > 0:
        df = var**2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1))
        crit = float(stats.t.ppf(1 - alpha / 2, df))
        p = float(2 * stats.t.sf(abs(diff) / se, df))
    else:
        df, crit, p = math.nan, 0.0, math.nan
    return diff, se, diff - crit * se, diff + crit * se, p, df


def _wald_rd(t: np.ndarray, c: np.ndarray, alpha: float) -> tuple[float, float, float, float, float]:
    """Risk difference with the Wald SE ``sqrt(p_T(1-p_T)/n_T + p_C(1-p_C)/n_C)``, normal interval, p."""
    from scipy import stats

    pt, vt = _arm_stats(t, "binary")
    pc, vc = _arm_stats(c, "binary")
    diff = pt - pc
    se = math.sqrt(vt + vc)
    crit = float(stats.norm.ppf(1 - alpha / 2))
    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else math.nan
    return diff, se, diff - crit * se, diff + crit * se, p


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
        ``{arm: RubinPooled}``: pooled proportion or mean per arm.
    missing, n
        Missing outcomes and participants per arm.
    estimates
        One line per imputation, contrast or arm: ``imputation, contrast, estimand, estimate, variance``.
    method
        What was done, in words.
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

    def rows(self) -> tuple[Row, ...]:
        """Per contrast the pooled difference, then per arm the pooled proportion or mean."""
        out = []
        for treatment in self.treatments:
            label = contrast_label(treatment, self.control)
            out.append(self._row(self.contrasts[label], label, treatment, self.control))
        for arm, pooled in self.arms.items():
            out.append(self._row(pooled, arm, arm, None))
        return tuple(out)

    def _row(self, pooled: RubinPooled, contrast: str, arm: str, control: str | None) -> Row:
        if control is None:
            missing = {"missing": self.missing[arm]}
        else:
            missing = {"missing_treatment": self.missing[arm], "missing_control": self.missing[control]}
        n = self.n[arm] + (self.n[control] if control is not None else 0)
        return Row(
            analysis="missing_multiple_imputation",
            outcome=self.outcome,
            contrast=contrast,
            estimand=pooled.estimand,
            estimate=pooled.estimate,
            se=pooled.se,
            ci_low=pooled.ci_low,
            ci_high=pooled.ci_high,
            p_value=pooled.p_value,
            method=self.method,
            n=n,
            conf_level=1.0 - self.alpha,
            extra={
                **missing,
                "m": self.m,
                "fmi": pooled.fmi,
                "df": pooled.df,
                "within_variance": pooled.within,
                "between_variance": pooled.between,
            },
        )


def _mi_method(
    setup: _Setup, outcome: str, kind: str, m: int, n_iter: int, covariates: tuple[str, ...]
) -> str:
    model = (
        "logistic regression with coefficients drawn from the normal approximation to their posterior "
        "(likelihood augmented against perfect prediction, White et al. 2010)"
        if kind == "binary"
        else f"predictive mean matching ({DONORS} donors, type-1 matching, coefficients drawn)"
    )
    predictors = ", ".join(covariates) if covariates else "no covariates (intercept only)"
    text = (
        f"multiple imputation by chained equations (van Buuren & Groothuis-Oudshoorn 2011), m={m}, "
        f"imputed separately by arm; {outcome} by {model} on {predictors}"
    )
    if setup.imputed_covariates:
        text += f"; covariates {', '.join(setup.imputed_covariates)} by PMM, {n_iter} sweeps"
    analysis = "Wald risk difference" if kind == "binary" else "mean difference with Welch variance"
    df = "Rubin (1987) df" if kind == "binary" else "Barnard-Rubin (1999) df with complete-data df n - 2"
    return f"{text}; {analysis} in each completed dataset, pooled by Rubin's rules ({df})"


def multiple_imputation(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    covariates: Sequence[str] = (),
    kind: Kind = "binary",
    m: int = 20,
    seed: SeedLike = None,
    n_iter: int = 10,
    alpha: float = 0.05,
    id: str | None = "participant_id",
) -> MultipleImputationResult:
    """Multiple imputation of missing outcomes, separately by arm, pooled by Rubin's rules.

    Imputation (multivariate imputation by chained equations, van Buuren & Groothuis-Oudshoorn
    2011, J Stat Softw 45(3); van Buuren 2018, Flexible Imputation of Missing Data, ch. 4): within
    each arm separately (so the imputation model allows every arm-by-covariate interaction, as
    the analysis model compares arms; Carpenter & Kenward 2013, section 2.5), the missing
    outcomes are drawn from their posterior predictive distribution given the covariates:

    * binary: logistic regression; ``β* ~ N(β̂, V̂)`` (normal approximation of the posterior,
      Rubin 1987 p. 169; mice's ``logreg``), then ``y = 1`` when ``u <= expit(x'β*)``, ``u`` uniform;
    * continuous (e.g. hours: many zeros, skewed): predictive mean matching with 5 donors and a
      Bayesian draw of the linear regression (Little 1988; van Buuren 2018 Algorithm 3.3; mice's
      ``pmm``), so imputed values are observed values.

    Numeric covariates with missing values are imputed too, by PMM from the other covariates and
    the outcome, cycling ``n_iter`` times from random draws of the observed values; with complete
    covariates one sweep is exact. Text covariates must be complete.

    Analysis of each completed dataset ``j``: risk difference ``p_T - p_C`` with Wald variance
    ``p_T(1-p_T)/n_T + p_C(1-p_C)/n_C``, or mean difference with Welch variance
    ``s_T²/n_T + s_C²/n_C``; pooled by :func:`rubin` (Rubin 1987, eqs 3.1.2-3.1.6), with
    large-sample df for the risk difference and Barnard & Rubin (1999) df with ``ν_com = n_T + n_C - 2``
    for the mean difference. Per-arm proportions (means) are pooled likewise.

    Parameters
    ----------
    data, outcome, arm, treatment, control, covariates
        The participant data and column names; ``treatment`` may be a list of arms.
    kind
        ``"binary"`` (0/1) or ``"continuous"``.
    m
        Number of imputations (at least 2).
    seed
        Seed of the random draws; the same seed gives the same bits.
    n_iter
        Chained-equation sweeps when covariates have missing values.
    alpha
        1 - confidence level.
    id
        Participant id column, used in error messages.
    """
    alpha = _check_alpha(alpha)
    _check_m(m, n_iter)
    setup = _setup(data, outcome, arm, treatment, control, covariates, kind, id, need_observed=True)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    gaps = setup.imputed_covariates and bool(np.isnan(setup.y).any())
    sweeps = int(n_iter) if gaps else 1
    completed, _ = _run_imputations(setup, kind, int(m), sweeps, seed)
    n_by_arm = setup.n_by_arm
    method = _mi_method(setup, outcome, kind, int(m), sweeps, covariates)
    estimand_arm = "proportion" if kind == "binary" else "mean"
    estimand_contrast = "risk_difference" if kind == "binary" else "mean_difference"

    per_arm = {a: np.array([_arm_stats(done[a], kind) for done in completed]) for a in setup.compared}
    records = []
    arms_pooled = {}
    for label in setup.compared:
        q, u = per_arm[label][:, 0], per_arm[label][:, 1]
        dfcom = math.inf if kind == "binary" else n_by_arm[label] - 1.0
        arms_pooled[label] = _pooled(
            _pool(q, u, dfcom),
            q,
            u,
            dfcom,
            alpha,
            estimand=estimand_arm,
            contrast=label,
            outcome=outcome,
            analysis="missing_multiple_imputation",
            method=method,
            n=n_by_arm[label],
        )
        records += [(j + 1, label, estimand_arm, q[j], u[j]) for j in range(len(q))]
    contrasts = {}
    for treatment_arm in setup.treatments:
        label = contrast_label(treatment_arm, setup.control)
        q = per_arm[treatment_arm][:, 0] - per_arm[setup.control][:, 0]
        u = per_arm[treatment_arm][:, 1] + per_arm[setup.control][:, 1]
        dfcom = math.inf if kind == "binary" else n_by_arm[treatment_arm] + n_by_arm[setup.control] - 2.0
        contrasts[label] = _pooled(
            _pool(q, u, dfcom),
            q,
            u,
            dfcom,
            alpha,
            estimand=estimand_contrast,
            contrast=label,
            outcome=outcome,
            analysis="missing_multiple_imputation",
            method=method,
            n=n_by_arm[treatment_arm] + n_by_arm[setup.control],
        )
        records += [(j + 1, label, estimand_contrast, q[j], u[j]) for j in range(len(q))]
    estimates = pd.DataFrame.from_records(
        records, columns=["imputation", "contrast", "estimand", "estimate", "variance"]
    )
    return MultipleImputationResult(
        outcome=outcome,
        kind=kind,
        treatments=setup.treatments,
        control=setup.control,
        covariates=covariates,
        imputed_covariates=setup.imputed_covariates,
        m=int(m),
        n_iter=sweeps,
        contrasts=contrasts,
        arms=arms_pooled,
        missing=setup.missing,
        n=n_by_arm,
        estimates=estimates,
        method=method,
        alpha=alpha,
    )


# ---------------------------------------------------------------------------
# Worst / best case bounds
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BoundsResult(Result):
    """Worst-case and best-case sensitivity bounds for missing outcomes.

    Attributes
    ----------
    outcome, kind, treatments, control
        What was analysed.
    table
        One line per contrast and scenario: ``contrast, scenario, imputed_treatment, imputed_control,
        estimate, se, ci_low, ci_high, p_value, df``.
    missing, n
        Missing outcomes and participants per arm.
    method
        What was done, in words.
    """

    outcome: str
    kind: str
    treatments: tuple[str, ...]
    control: str
    table: pd.DataFrame
    missing: dict[str, int]
    n: dict[str, int]
    method: str
    alpha: float = 0.05

    def rows(self) -> tuple[Row, ...]:
        """One row per contrast and scenario (worst, best)."""
        estimand = "risk_difference" if self.kind == "binary" else "mean_difference"
        out = []
        for line in self.table.itertuples(index=False):
            treatment, _, control = line.contrast.rpartition(" vs ")
            out.append(
                Row(
                    analysis="missing_bounds",
                    outcome=self.outcome,
                    contrast=line.contrast,
                    estimand=estimand,
                    estimate=line.estimate,
                    se=line.se,
                    ci_low=line.ci_low,
                    ci_high=line.ci_high,
                    p_value=line.p_value,
                    method=self.method,
                    n=self.n[treatment] + self.n[control],
                    conf_level=1.0 - self.alpha,
                    extra={
                        "scenario": line.scenario,
                        "imputed_treatment": line.imputed_treatment,
                        "imputed_control": line.imputed_control,
                        "missing_treatment": self.missing[treatment],
                        "missing_control": self.missing[control],
                    },
                )
            )
        return tuple(out)


def bounds(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    kind: Kind = "binary",
    *,
    low: float | None = None,
    high: float | None = None,
    alpha: float = 0.05,
    id: str | None = "participant_id",
) -> BoundsResult:
    """Worst-case and best-case bounds: the missing outcomes set to the extremes against each arm.

    Binary outcome: worst case, every missing outcome in the treatment arm a failure (0) and in the
    control arm a success (1); best case the reverse (the extreme-case analysis of Gamble &
    Hollis 2005, Stat Med 24:1279; Horowitz & Manski 2000, JASA 95:77 for the identification
    bounds). Continuous outcome: worst case, missing values in the treatment arm at ``low`` and in
    the control arm at ``high``; best case the reverse. ``low`` and ``high`` default to the minimum
    and maximum observed value in the compared arms.

    Each scenario is analysed as complete data: binary, the risk difference with the Wald
    interval ``(p_T - p_C) ± z_{1-α/2} sqrt(p_T(1-p_T)/n_T + p_C(1-p_C)/n_C)`` (not the Newcombe
    hybrid score interval, to keep this module self-contained); continuous, the mean
    difference with the Welch (1947) t interval.
    """
    alpha = _check_alpha(alpha)
    setup = _setup(data, outcome, arm, treatment, control, (), kind, id, need_observed=False)
    y, arms = setup.y, setup.arms
    gone = np.isnan(y)
    if kind == "binary":
        lo_value, hi_value = 0.0, 1.0
        for name, value in (("low", low), ("high", high)):
            if value is not None:
                raise ValueError(f"{name}= is only for continuous outcomes (binary bounds use 0 and 1)")
    else:
        observed = y[~gone]
        if observed.size == 0:
            raise TrialDataError(
                [Problem(outcome, "no observed outcome in the compared arms", "bounds need observed values")]
            )
        lo_value = float(np.min(observed)) if low is None else float(low)
        hi_value = float(np.max(observed)) if high is None else float(high)
        if not (math.isfinite(lo_value) and math.isfinite(hi_value)) or lo_value > hi_value:
            raise ValueError(f"low ({lo_value}) and high ({hi_value}) must be finite with low <= high")
    records = []
    for treatment_arm in setup.treatments:
        label = contrast_label(treatment_arm, setup.control)
        t_vals, c_vals = y[arms == treatment_arm], y[arms == setup.control]
        for scenario, t_fill, c_fill in (("worst", lo_value, hi_value), ("best", hi_value, lo_value)):
            t_done = np.where(np.isnan(t_vals), t_fill, t_vals)
            c_done = np.where(np.isnan(c_vals), c_fill, c_vals)
            if kind == "binary":
                est, se, ci_low, ci_high, p = _wald_rd(t_done, c_done, alpha)
                df = math.inf
            else:
                if min(len(t_done), len(c_done)) < 2:
                    raise EstimationError(
                        f"the Welch interval needs at least 2 participants per arm ({label})"
                    )
                est, se, ci_low, ci_high, p, df = _welch(t_done, c_done, alpha)
            records.append((label, scenario, t_fill, c_fill, est, se, ci_low, ci_high, p, df))
    table = pd.DataFrame.from_records(
        records,
        columns=[
            "contrast",
            "scenario",
            "imputed_treatment",
            "imputed_control",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "p_value",
            "df",
        ],
    )
    if kind == "binary":
        method = (
            "extreme-case bounds: missing outcomes set to 0 in the treatment arm and 1 in the control arm "
            "(worst) or the reverse (best); risk difference with Wald interval (not Newcombe's)"
        )
    else:
        method = (
            f"extreme-case bounds: missing outcomes set to {lo_value:g} in the treatment arm and "
            f"{hi_value:g} in the control arm (worst) or the reverse (best); mean difference with "
            "Welch t interval"
        )
    return BoundsResult(
        outcome=outcome,
        kind=kind,
        treatments=setup.treatments,
        control=setup.control,
        table=table,
        missing=setup.missing,
        n=setup.n_by_arm,
        method=method,
        alpha=alpha,
    )


# ---------------------------------------------------------------------------
# Tipping point
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TippingPointResult(Result):
    """Delta-adjusted multiple imputation over a grid of log-odds shifts, and its tipping points.

    Attributes
    ----------
    outcome, treatment, control, covariates
        What was analysed.
    deltas_treatment, deltas_control
        The sorted grids of δ_T and δ_C (log-odds shifts of the imputed values).
    grid
        One line per (δ_T, δ_C): ``delta_treatment, delta_control, estimate, se, ci_low, ci_high,
        p_value, df, fmi, significant, flipped``.
    flips
        Boolean matrix ``(len(deltas_treatment), len(deltas_control))``: the conclusion differs from
        the one under MAR.
    mar
        The pooled risk difference at δ_T = δ_C = 0 (missing at random).
    line
        The grid line δ_C = 0 (rows as in ``grid``), over ``deltas_treatment``.
    tipping_point_low, tipping_point_high
        With δ_C = 0: the exact δ_T nearest to 0, below and above, at which the conclusion first
        differs from MAR (for δ_T < ``tipping_point_low`` and for δ_T >= ``tipping_point_high``),
        searched within the grid's range; NaN when it does not flip there.
    """

    outcome: str
    treatment: str
    control: str
    covariates: tuple[str, ...]
    deltas_treatment: np.ndarray
    deltas_control: np.ndarray
    grid: pd.DataFrame
    flips: np.ndarray
    mar: RubinPooled
    line: pd.DataFrame
    tipping_point_low: float
    tipping_point_high: float
    m: int
    n_iter: int
    missing: dict[str, int]
    n: dict[str, int]
    method: str
    alpha: float = 0.05

    @property
    def tipping_point(self) -> float:
        """The tipping point nearest to δ_T = 0 (δ_C = 0), NaN if the conclusion never flips."""
        candidates = [v for v in (self.tipping_point_low, self.tipping_point_high) if math.isfinite(v)]
        return min(candidates, key=abs) if candidates else math.nan

    def rows(self) -> tuple[Row, ...]:
        """The line δ_C = 0: one row per δ_T, with the deltas and the conclusion in ``extra``."""
        label = contrast_label(self.treatment, self.control)
        out = []
        for line in self.line.itertuples(index=False):
            out.append(
                Row(
                    analysis="missing_tipping_point",
                    outcome=self.outcome,
                    contrast=label,
                    estimand="risk_difference",
                    estimate=line.estimate,
                    se=line.se,
                    ci_low=line.ci_low,
                    ci_high=line.ci_high,
                    p_value=line.p_value,
                    method=self.method,
                    n=self.n[self.treatment] + self.n[self.control],
                    conf_level=1.0 - self.alpha,
                    extra={
                        "delta_treatment": line.delta_treatment,
                        "delta_control": line.delta_control,
                        "significant": bool(line.significant),
                        "flipped": bool(line.flipped),
                        "tipping_point_low": self.tipping_point_low,
                        "tipping_point_high": self.tipping_point_high,
                        "m": self.m,
                    },
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Heat map of the pooled p-value over (δ_C, δ_T), colours centred at ``alpha``.

        The boundary between cells whose conclusion agrees with MAR and cells where it flips is
        drawn in black; the MAR point (0, 0) is marked.
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
        from matplotlib.colors import TwoSlopeNorm

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 5))
        p = (
            self.grid.pivot(index="delta_treatment", columns="delta_control", values="p_value")
            .reindex(index=self.deltas_treatment, columns=self.deltas_control)
            .to_numpy()
        )
        x_edges, y_edges = _edges(self.deltas_control), _edges(self.deltas_treatment)
        mesh = ax.pcolormesh(
            x_edges,
            y_edges,
            p,
            cmap="RdBu",
            norm=TwoSlopeNorm(vmin=0.0, vcenter=self.alpha, vmax=1.0),
            shading="flat",
        )
        ax.figure.colorbar(mesh, ax=ax, label=f"pooled p-value (centre {self.alpha:g})")
        flips = self.flips
        segments = [
            [(x_edges[k + 1], y_edges[i]), (x_edges[k + 1], y_edges[i + 1])]
            for i, k in zip(*np.nonzero(flips[:, 1:] != flips[:, :-1]), strict=True)
        ] + [
            [(x_edges[k], y_edges[i + 1]), (x_edges[k + 1], y_edges[i + 1])]
            for i, k in zip(*np.nonzero(flips[1:, :] != flips[:-1, :]), strict=True)
        ]
        if segments:
            ax.add_collection(
                LineCollection(segments, colors="black", linewidths=2.0, label="conclusion flips")
            )
        ax.plot(
            [0.0], [0.0], linestyle="none", marker="o", color="white", markeredgecolor="black", label="MAR"
        )
        ax.set_xlim(x_edges[0], x_edges[-1])
        ax.set_ylim(y_edges[0], y_edges[-1])
        ax.set_xlabel(f"δ control ({self.control}): log-odds shift of imputed values")
        ax.set_ylabel(f"δ treatment ({self.treatment}): log-odds shift of imputed values")
        ax.set_title(f"Tipping point: {self.outcome}, {contrast_label(self.treatment, self.control)}")
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted grid centres (half-way points; unit width for a single centre)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2.0
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _check_deltas(values: object, name: str) -> np.ndarray:
    grid = np.asarray(values, dtype=float).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} must be a non-empty sequence of finite log-odds shifts, got {values!r}")
    return np.unique(grid)


def _success_counts(observed: int, cuts: list[np.ndarray], deltas: np.ndarray, side: str) -> np.ndarray:
    """Imputed-data successes per imputation and δ: ``observed + #{t_i <= δ}`` (``#{t_i < δ}`` for left)."""
    return np.array([observed + np.searchsorted(np.sort(t), deltas, side=side) for t in cuts], dtype=float)


def _conclusion(estimate: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    """+1 significant benefit, -1 significant harm, 0 not significant (p < alpha)."""
    significant = np.nan_to_num(p, nan=1.0) < alpha
    return np.where(significant, np.sign(estimate), 0.0)


def tipping_point(
    data: pd.DataFrame,
    outcome: str,
    arm: str,
    treatment: str,
    control: str,
    covariates: Sequence[str] = (),
    deltas: Sequence[float] | np.ndarray = DEFAULT_DELTAS,
    m: int = 20,
    seed: SeedLike = None,
    alpha: float = 0.05,
    *,
    deltas_control: Sequence[float] | np.ndarray | None = None,
    n_iter: int = 10,
    id: str | None = "participant_id",
) -> TippingPointResult:
    """Delta-adjusted multiple imputation of a binary outcome and its tipping points.

    The missing outcomes are imputed under MAR as in :func:`multiple_imputation` (separately by
    arm, logistic regression with drawn coefficients ``β*``); then the imputed log-odds are
    shifted, ``logit P(y_i = 1) = x_i'β* + δ_a`` with ``δ_T`` in the treatment arm and ``δ_C`` in
    the control arm, before the 0/1 values are drawn (delta-adjustment, pattern-mixture
    sensitivity analysis: Ratitch, O'Kelly & Tosiello 2013, Pharm Stat 12:337, section 3;
    Carpenter & Kenward 2013, Multiple Imputation and its Application, ch. 10; van Buuren 2018,
    section 9.2). δ > 0 makes the unobserved participants of that arm more likely to succeed
    than similar observed ones.

    Common random numbers: each missing value keeps its drawn ``β*`` and uniform ``u_i`` over the
    whole grid, so ``y_i(δ) = 1`` exactly when ``δ >= t_i = logit(u_i) - x_i'β*``, every imputed
    dataset is monotone in δ and the surface is smooth; at ``δ_T = δ_C = 0`` the result equals
    :func:`multiple_imputation` with the same seed. For every (δ_T, δ_C) the risk difference with
    Wald variance is pooled by Rubin's rules (large-sample df) and called significant when
    ``p < alpha``.

    Tipping points (δ_C = 0): the conclusion (significant benefit, significant harm or not
    significant) is compared with the MAR conclusion; ``tipping_point_low`` is the largest δ_T < 0
    below which it differs, ``tipping_point_high`` the smallest δ_T > 0 from which it differs. They
    are exact for the drawn imputations: the pooled result changes only at the thresholds
    ``t_i``, and every threshold within the grid's range is examined.

    Parameters
    ----------
    data, outcome, arm, treatment, control, covariates
        As for :func:`multiple_imputation`; a single treatment arm.
    deltas
        Grid of δ_T (and of δ_C unless ``deltas_control`` is given), log-odds scale.
    m, seed, n_iter, alpha, id
        As for :func:`multiple_imputation`.
    """
    alpha = _check_alpha(alpha)
    _check_m(m, n_iter)
    labels = as_labels(treatment)
    if len(labels) != 1:
        raise ValueError(
            f"tipping_point compares one treatment arm with the control; got treatment={list(labels)}: "
            "call it once per treatment arm"
        )
    grid_t = _check_deltas(deltas, "deltas")
    grid_c = grid_t if deltas_control is None else _check_deltas(deltas_control, "deltas_control")
    setup = _setup(data, outcome, arm, labels, control, covariates, "binary", id, need_observed=True)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    t_arm, c_arm = setup.treatments[0], setup.control
    gaps = setup.imputed_covariates and bool(np.isnan(setup.y).any())
    sweeps = int(n_iter) if gaps else 1
    m = int(m)
    _, cuts = _run_imputations(setup, "binary", m, sweeps, seed)
    n_t, n_c = setup.n_by_arm[t_arm], setup.n_by_arm[c_arm]
    obs_t = int(np.nansum(setup.y[setup.arms == t_arm]))
    obs_c = int(np.nansum(setup.y[setup.arms == c_arm]))
    cuts_t = [c[t_arm] for c in cuts]
    cuts_c = [c[c_arm] for c in cuts]

    def pooled_rd(p_t: np.ndarray, p_c: np.ndarray) -> dict[str, np.ndarray]:
        q = p_t - p_c
        u = p_t * (1.0 - p_t) / n_t + p_c * (1.0 - p_c) / n_c
        return _pool(q, u, math.inf) | {"q": q, "u": u}

    # the MAR result, computed exactly as multiple_imputation computes it
    zero = np.array([0.0])
    p_t0 = _success_counts(obs_t, cuts_t, zero, "right")[:, 0] / n_t
    p_c0 = _success_counts(obs_c, cuts_c, zero, "right")[:, 0] / n_c
    mar_pool = pooled_rd(p_t0, p_c0)
    label = contrast_label(t_arm, c_arm)
    method = (
        f"delta-adjusted multiple imputation (Ratitch et al. 2013): MAR imputation as multiple_imputation "
        f"(m={m}, separately by arm, logistic regression with drawn coefficients on "
        f"{', '.join(covariates) if covariates else 'no covariates'}), imputed log-odds shifted by "
        "δ_T / δ_C with common random numbers over the grid; Wald risk difference pooled by Rubin's rules"
    )
    mar = _pooled(
        mar_pool,
        mar_pool["q"],
        mar_pool["u"],
        math.inf,
        alpha,
        estimand="risk_difference",
        contrast=label,
        outcome=outcome,
        analysis="missing_tipping_point_mar",
        method=method,
        n=n_t + n_c,
    )
    mar_call = _conclusion(np.array(mar.estimate), np.array(mar.p_value), alpha)

    # the grid
    p_t = _success_counts(obs_t, cuts_t, grid_t, "right") / n_t  # (m, len(grid_t))
    p_c = _success_counts(obs_c, cuts_c, grid_c, "right") / n_c
    surface = pooled_rd(p_t[:, :, None], p_c[:, None, :])
    se = np.sqrt(surface["t"])
    low, high, p = _t_interval(surface["qbar"], se, surface["df"], alpha)
    calls = _conclusion(surface["qbar"], p, alpha)
    flips = calls != mar_call
    dt, dc = np.meshgrid(grid_t, grid_c, indexing="ij")
    grid = pd.DataFrame(
        {
            "delta_treatment": dt.ravel(),
            "delta_control": dc.ravel(),
            "estimate": surface["qbar"].ravel(),
            "se": se.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "p_value": p.ravel(),
            "df": surface["df"].ravel(),
            "fmi": surface["fmi"].ravel(),
            "significant": (np.nan_to_num(p, nan=1.0) < alpha).ravel(),
            "flipped": flips.ravel(),
        }
    )

    # the line δ_C = 0
    p_c_line = np.repeat(p_c0[:, None], len(grid_t), axis=1)
    line_pool = pooled_rd(p_t, p_c_line)
    line_se = np.sqrt(line_pool["t"])
    line_low, line_high, line_p = _t_interval(line_pool["qbar"], line_se, line_pool["df"], alpha)
    line = pd.DataFrame(
        {
            "delta_treatment": grid_t,
            "delta_control": np.zeros(len(grid_t)),
            "estimate": line_pool["qbar"],
            "se": line_se,
            "ci_low": line_low,
            "ci_high": line_high,
            "p_value": line_p,
            "df": line_pool["df"],
            "fmi": line_pool["fmi"],
            "significant": np.nan_to_num(line_p, nan=1.0) < alpha,
            "flipped": _conclusion(line_pool["qbar"], line_p, alpha) != mar_call,
        }
    )

    # exact tipping points along δ_C = 0: the conclusion changes only at the thresholds t_i
    every = np.unique(np.concatenate([np.empty(0), *cuts_t]))
    every = every[np.isfinite(every)]

    def first_flip(candidates: np.ndarray, side: str) -> float:
        if candidates.size == 0:
            return math.nan
        share = _success_counts(obs_t, cuts_t, candidates, side) / n_t
        pooled = pooled_rd(share, np.repeat(p_c0[:, None], len(candidates), axis=1))
        _, _, p_values = _t_interval(pooled["qbar"], np.sqrt(pooled["t"]), pooled["df"], alpha)
        flipped = np.flatnonzero(_conclusion(pooled["qbar"], p_values, alpha) != mar_call)
        return float(candidates[flipped[0]]) if flipped.size else math.nan

    above = every[(every > 0) & (every <= grid_t.max())]
    below = every[(every <= 0) & (every > grid_t.min())][::-1]
    tip_high = first_flip(above, "right")  # value on [t, next threshold): counts #{t_i <= t}
    tip_low = first_flip(below, "left")  # value just below t: counts #{t_i < t}

    return TippingPointResult(
        outcome=outcome,
        treatment=t_arm,
        control=c_arm,
        covariates=covariates,
        deltas_treatment=grid_t,
        deltas_control=grid_c,
        grid=grid,
        flips=flips,
        mar=mar,
        line=line,
        tipping_point_low=tip_low,
        tipping_point_high=tip_high,
        m=m,
        n_iter=sweeps,
        missing=setup.missing,
        n=setup.n_by_arm,
        method=method,
        alpha=alpha,
    )
