"""Rubin's rules: pooling complete-data estimates from ``m`` imputed datasets.

:func:`rubin` pools ``m`` estimates and variances (Rubin 1987), with the small-sample degrees of freedom
of Barnard & Rubin (1999) when the complete-data degrees of freedom are known; :func:`_pool` is the same
arithmetic on arrays (used by the imputation estimators, element by element over a grid), so a scalar
and a vectorised call give the same bits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ipstrial._checks import check_alpha, check_analysis, check_choice, check_count
from ipstrial._docs import shared_params
from ipstrial.errors import ParameterError
from ipstrial.results import ESTIMANDS, Result, Row
from ipstrial.stats.means import t_interval

__all__ = ["RubinPooled", "rubin"]


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
    estimand, contrast, outcome, analysis, variant
        The key of the result's one row.
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
    variant: str = ""

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
            self._row(
                self.contrast,
                self.estimand,
                self.estimate,
                se=self.se,
                ci_low=self.ci_low,
                ci_high=self.ci_high,
                p_value=self.p_value,
                method=method,
                n=self.n,
                variant=self.variant,
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


def _pooled_interval(
    pool: dict[str, np.ndarray], alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``se = sqrt(T)``, the t interval and the p-value of pooled estimates (an output of :func:`_pool`)."""
    se = np.sqrt(pool["t"])
    low, high, p = t_interval(pool["qbar"], se, pool["df"], alpha)
    return se, low, high, p


def _pooled(
    q: np.ndarray, u: np.ndarray, dfcom: float, alpha: float, *, test: bool = True, **labels: object
) -> RubinPooled:
    """A :class:`RubinPooled` of the ``(m,)`` estimates ``q`` and variances ``u``, pooled by :func:`_pool`.

    ``test=False`` leaves the p-value out (NaN): for an arm's proportion or mean, where a test against 0
    means nothing."""
    pool = _pool(q, u, dfcom)
    se, low, high, p = _pooled_interval(pool, alpha)
    if not test:
        p = np.nan
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


@shared_params
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
    analysis: str = "missing_rubin",
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
        The ``m >= 2`` complete-data estimates and their (non-negative) variances, finite numbers.
    n_obs
        Sample size of the complete-data analysis; ``None`` (default) for large-sample inference.
    k
        Number of parameters of the complete-data model, at least 1 (``ν_com = n_obs - k``).
    @params alpha
    estimand, contrast, outcome
        Labels for the result's row (``estimand`` must be one of :data:`ipstrial.results.ESTIMANDS`).
    @params analysis

    Raises
    ------
    ParameterError
        For fewer than two estimates, arrays of different shapes, values that are not finite, negative
        variances, ``n_obs - k <= 0`` or an unknown estimand.
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    estimand = check_choice(estimand, "estimand", sorted(ESTIMANDS))
    for name, value in (("contrast", contrast), ("outcome", outcome)):
        if not isinstance(value, str) or (name == "contrast" and not value.strip()):
            raise ParameterError(
                f"{name} must be a {'non-empty ' if name == 'contrast' else ''}string, got {value!r}"
            )
    try:
        q = np.asarray(estimates, dtype=float)
        u = np.asarray(variances, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"estimates and variances must be sequences of numbers: {exc}") from None
    if q.ndim != 1 or u.ndim != 1 or q.shape != u.shape:
        raise ParameterError(
            f"estimates and variances must be 1-D of the same length, got shapes {q.shape} and {u.shape}"
        )
    if q.shape[0] < 2:
        raise ParameterError(
            f"Rubin's rules need at least 2 imputations (the between-imputation variance), got m={q.shape[0]}"
        )
    if not np.all(np.isfinite(q)) or not np.all(np.isfinite(u)):
        raise ParameterError("estimates and variances must be finite numbers")
    if np.any(u < 0):
        raise ParameterError(f"variances must be non-negative, got {u[u < 0][:5].tolist()}")
    if n_obs is None:
        dfcom = math.inf
    else:
        n_obs = check_count(n_obs, "n_obs", minimum=1)
        k = check_count(k, "k", minimum=1)  # a model has at least one parameter (a mean)
        dfcom = float(n_obs - k)
        if dfcom <= 0:
            raise ParameterError(
                f"n_obs - k must be positive (complete-data degrees of freedom), got {n_obs} - {k}"
            )
    return _pooled(
        q, u, dfcom, alpha, estimand=estimand, contrast=contrast, outcome=outcome, analysis=analysis
    )
