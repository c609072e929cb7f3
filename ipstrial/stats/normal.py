"""Normal-theory pieces used by every area: the critical value, Wald intervals, two-sided p-values.

For an estimate ``θ̂`` with standard error ``se`` and level ``1 - α``: ``z = Φ⁻¹(1 - α/2)``, the Wald
interval ``θ̂ ± z se`` and the two-sided p-value ``2 (1 - Φ(|θ̂| / se)) = erfc(|θ̂| / (se √2))`` of
``θ = 0`` (Wald 1943; e.g. Casella & Berger 2002, sec. 10.4). On a log scale (ratios) the interval is
``exp(log θ̂ ± z se_log)``. Computed with the standard library (``statistics.NormalDist``, ``math.erfc``)
so that no import of scipy is needed.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["p_two_sided", "wald_interval", "z_critical"]


def z_critical(alpha: float) -> float:
    """``Φ⁻¹(1 - α/2)``: 1.959964 for ``α = 0.05``.

    Parameters
    ----------
    alpha
        One minus the confidence level, in (0, 1).
    """
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def p_two_sided(estimate: float | np.ndarray, se: float | np.ndarray) -> float | np.ndarray:
    """Two-sided Wald p-value ``erfc(|estimate / se| / √2)``; NaN where ``se`` is not positive and finite.

    Parameters
    ----------
    estimate, se
        The estimate (minus its null value) and its standard error; scalars or arrays.
    """
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    ok = (s > 0) & np.isfinite(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok, np.abs(est) / np.where(ok, s, 1.0), np.nan)
    from scipy.special import erfc

    p = np.where(ok, erfc(z / math.sqrt(2.0)), np.nan)
    return float(p) if p.ndim == 0 else p


def wald_interval(
    estimate: float | np.ndarray, se: float | np.ndarray, alpha: float, log: bool = False
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``estimate ± z se``; with ``log=True`` the estimate is a ratio and ``se`` that of its logarithm:
    ``exp(log estimate ± z se)``.

    Parameters
    ----------
    estimate, se
        The estimate and its standard error (of the log with ``log=True``).
    alpha
        One minus the confidence level.
    log
        Whether the interval is built on the log scale.
    """
    z = z_critical(alpha)
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    if log:
        with np.errstate(divide="ignore"):
            centre = np.log(est)
        low, high = np.exp(centre - z * s), np.exp(centre + z * s)
    else:
        low, high = est - z * s, est + z * s
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
