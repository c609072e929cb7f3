"""Two-sample comparisons of means from the raw values of two arms.

* :func:`welch` -- the mean difference with Welch's standard error and Welch-Satterthwaite degrees of
  freedom (Welch, Biometrika 1947;34:28-35): ``Δ = ȳ_1 - ȳ_0``, ``se² = s_1²/n_1 + s_0²/n_0``,
  ``df = se⁴ / ((s_1²/n_1)²/(n_1 - 1) + (s_0²/n_0)²/(n_0 - 1))``, interval ``Δ ± t_{df,1-α/2} se`` and the
  two-sided t-test p-value (R's ``t.test(var.equal = FALSE)``).
* :func:`t_interval` -- ``estimate ± t_{df, 1-α/2} se`` and the two-sided t-test p-value of
  ``estimate / se`` on ``df`` degrees of freedom (a mean, a regression coefficient);
* :func:`wald_risk_difference` -- for 0/1 values: ``p_1 - p_0`` with ``se² = p_1(1-p_1)/n_1 +
  p_0(1-p_0)/n_0`` (:func:`ipstrial.stats.proportions.rd_wald_se` of the counts), the normal interval and
  p-value (the Wald interval; Newcombe 1998, method 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ipstrial.stats.normal import p_two_sided, z_critical

__all__ = ["TwoSample", "t_interval", "wald_risk_difference", "welch"]


@dataclass(frozen=True)
class TwoSample:
    """A two-sample contrast: estimate, standard error, interval, p-value and degrees of freedom."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float = math.inf


def t_interval(
    estimate: float | np.ndarray, se: float | np.ndarray, df: float | np.ndarray, alpha: float
) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray]:
    """``(low, high, p)``: ``estimate ± t_{df, 1-α/2} se`` and ``2 P(T_df > |estimate| / se)``.

    A standard error of 0 gives the interval ``[estimate, estimate]`` and a NaN p-value; ``df`` may be
    infinite (the normal distribution). Scalars give floats, arrays (broadcast together) arrays.

    Parameters
    ----------
    estimate, se, df
        The estimate, its standard error and the degrees of freedom; scalars or arrays.
    alpha
        One minus the confidence level.
    """
    from scipy import stats

    est, s = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    crit = stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(s > 0, 2 * stats.t.sf(np.abs(est) / s, df), np.nan)
    low, high = est - crit * s, est + crit * s
    if np.ndim(low) == 0 and np.ndim(p) == 0:
        return float(low), float(high), float(p)
    return low, high, p


def welch(treated: np.ndarray, control: np.ndarray, alpha: float) -> TwoSample:
    """Welch's comparison of two means (module docstring); each arm needs at least two values.

    Parameters
    ----------
    treated, control
        The finite values of the two arms.
    alpha
        One minus the confidence level.
    """
    t = np.asarray(treated, dtype=float)
    c = np.asarray(control, dtype=float)
    vt, vc = float(np.var(t, ddof=1)) / t.size, float(np.var(c, ddof=1)) / c.size
    diff = float(np.mean(t)) - float(np.mean(c))
    var = vt + vc
    se = math.sqrt(var)
    if var > 0:
        df = var**2 / (vt**2 / (t.size - 1) + vc**2 / (c.size - 1))
        low, high, p = t_interval(diff, se, df, alpha)
        return TwoSample(diff, se, low, high, p, df)
    return TwoSample(diff, se, diff, diff, math.nan, math.nan)


def wald_risk_difference(treated: np.ndarray, control: np.ndarray, alpha: float) -> TwoSample:
    """The Wald risk difference of two samples of 0/1 values (module docstring).

    Parameters
    ----------
    treated, control
        The 0/1 values of the two arms.
    alpha
        One minus the confidence level.
    """
    from ipstrial.stats.proportions import rd_wald_se

    t = np.asarray(treated, dtype=float)
    c = np.asarray(control, dtype=float)
    diff = float(np.mean(t)) - float(np.mean(c))
    se = rd_wald_se(round(t.sum()), t.size, round(c.sum()), c.size)
    z = z_critical(alpha)
    p = p_two_sided(diff, se)
    return TwoSample(diff, se, diff - z * se, diff + z * se, float(p))
