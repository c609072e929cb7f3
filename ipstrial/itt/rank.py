"""The Hodges-Lehmann location shift with the Wilcoxon rank-sum test (a sensitivity analysis of hours).

Defined exactly as R's ``wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE)`` (x the
treatment arm), i.e. the normal approximation with the tie correction (see :func:`hodges_lehmann`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial.errors import EstimationError
from ipstrial.itt._common import contrast_row, prepare_checked, table_rows
from ipstrial.results import Result, Row, contrast_label
from ipstrial.stats.normal import p_two_sided, z_critical

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["HodgesLehmann", "hodges_lehmann"]

_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True, eq=False)
class HodgesLehmann(Result):
    """Hodges-Lehmann location shift with its interval and the Wilcoxon rank-sum test, per contrast.

    ``table`` has ``contrast, estimate, ci_low, ci_high, p_value, W, z, n``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    table: pd.DataFrame
    alpha: float = 0.05
    analysis: str = "itt_hodges_lehmann"
    notes: tuple[str, ...] = field(default=())

    title_template = "Hodges-Lehmann shift in {outcome}: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        method = (
            "Hodges-Lehmann shift and interval by inverting the Wilcoxon rank-sum test (normal "
            "approximation with tie correction, continuity-corrected interval), as R "
            "wilcox.test(exact=FALSE, correct=TRUE); p: Wilcoxon-Mann-Whitney test"
        )
        return tuple(
            table_rows(self, self.table, "median_difference", method, lambda r: {"W": r.W, "z": r.z})
        )


def _zeroin(
    f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float, maxiter: int = 1000
) -> float:
    """Brent's (1973, ch. 4) root finder as in R's ``uniroot``: bisection, secant and inverse quadratic
    interpolation, stopping when the bracket is below ``2 eps |b| + tol/2`` (Forsythe, Malcolm & Moler
    1977, *Computer Methods for Mathematical Computations*, zeroin). Given the same function values
    it visits the same points as R, so step functions give R's root to the last bit.
    """
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # b is the best approximation, c the other end of the bracket
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise EstimationError("the Hodges-Lehmann root search did not converge")


def _rank_statistic(x: np.ndarray, y: np.ndarray, d: float, correct: bool) -> float:
    """Standardised rank-sum statistic of ``x - d`` against ``y`` (R's ``W(d)`` in wilcox.test).

    ``(U(d) - n_x n_y / 2 - c) / σ(d)`` with ``U`` the rank sum of ``x - d`` minus ``n_x(n_x+1)/2``
    (mid-ranks for ties), ``c = sign(·)/2`` when ``correct`` and the tie-corrected
    ``σ² = (n_x n_y / 12)((n_x + n_y + 1) - Σ(t³ - t)/((n_x + n_y)(n_x + n_y - 1)))``.
    """
    from scipy.stats import rankdata

    nx, ny = float(x.size), float(y.size)
    pooled = np.concatenate([x - d, y])
    ranks = rankdata(pooled)
    dz = float(np.sum(ranks[: x.size])) - nx * (nx + 1) / 2 - nx * ny / 2
    _, ties = np.unique(pooled, return_counts=True)
    ties = ties.astype(float)
    sigma = math.sqrt(
        (nx * ny / 12) * ((nx + ny + 1) - float(np.sum(ties**3 - ties)) / ((nx + ny) * (nx + ny - 1)))
    )
    if sigma == 0.0:  # every observation tied (hodges_lehmann refuses such arms before)
        raise EstimationError(
            "the Wilcoxon rank-sum statistic is undefined when every observation is tied; at least one "
            "arm needs 2 or more participants with different values"
        )
    correction = 0.5 * float(np.sign(dz)) if correct else 0.0
    return (dz - correction) / sigma


def _hodges_lehmann_pair(x: np.ndarray, y: np.ndarray, alpha: float) -> dict[str, float]:
    from scipy.stats import rankdata

    nx = float(x.size)
    pooled = np.concatenate([x, y])
    w_stat = float(np.sum(rankdata(pooled)[: x.size])) - nx * (nx + 1) / 2
    z = _rank_statistic(x, y, 0.0, correct=True)
    p_value = float(p_two_sided(z, 1.0))
    mumin, mumax = float(np.min(x) - np.max(y)), float(np.max(x) - np.min(y))
    tol = 1e-4  # R's tol.root default

    def corrected(d: float) -> float:
        return _rank_statistic(x, y, d, correct=True)

    w_min, w_max = corrected(mumin), corrected(mumax)

    def bound(zq: float) -> float:
        if w_min - zq <= 0:
            return mumin
        if w_max - zq >= 0:
            return mumax
        return _zeroin(lambda d: corrected(d) - zq, mumin, mumax, w_min - zq, w_max - zq, tol)

    zq = z_critical(alpha)
    ci_low, ci_high = bound(zq), bound(-zq)

    def plain(d: float) -> float:
        return _rank_statistic(x, y, d, correct=False)

    estimate = _zeroin(plain, mumin, mumax, plain(mumin), plain(mumax), tol)
    return dict(estimate=estimate, ci_low=ci_low, ci_high=ci_high, p_value=p_value, W=w_stat, z=z)


@shared_params
def hodges_lehmann(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_hodges_lehmann",
) -> HodgesLehmann:
    """Hodges-Lehmann shift (treatment - control), its interval and the Wilcoxon rank-sum p-value.

    Defined exactly as R's ``wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE)`` (x the
    treatment arm), i.e. the normal approximation with the tie correction. With ``W(d)`` the
    standardised rank-sum statistic of ``x - d`` against ``y`` (mid-ranks, tie-corrected variance;
    Hollander & Wolfe 1999, sec. 4.1-4.3; Bauer 1972, JASA 67:687):

    * p-value: ``2 min(Φ(z), 1 - Φ(z))``, ``z = (U - n_x n_y/2 - sign(·)/2)/σ`` at ``d = 0``;
    * interval: the shifts ``d`` where the continuity-corrected ``W(d)`` equals ``z_{1-α/2}`` (lower)
      and ``z_{α/2}`` (upper), clipped to ``[min x - max y, max x - min y]``;
    * estimate: the root of ``W(d) = 0`` **without** continuity correction (R turns the correction
      off before the estimate).

    The roots are found, as in R, by Brent's method with tolerance 1e-4 on the step function
    ``W(d)`` (:func:`_zeroin` visits the same points as R's ``uniroot``). The estimate is therefore
    **not** the median of the pairwise differences ``x_i - y_j`` (Hodges & Lehmann 1963): it is a
    point within 1e-4 of where ``W`` changes sign, which is that median up to the tolerance (for an
    even number of pairs, any point between the two middle differences). With many zeros in both
    arms (hours) the shift is often exactly 0 and R reports a number within 1e-4 of 0.

    When each arm of a contrast has a single value (e.g. one participant per arm) the only possible
    shift ties every observation and the interval is undefined, as in R (``wilcox.test(1, 2,
    conf.int=TRUE, exact=FALSE)`` stops): an :class:`~ipstrial.errors.EstimationError`. One arm with
    2 or more different values suffices (``wilcox.test(3, c(5, 6), ...)`` gives -2.5, (-3, -2)).

    Parameters
    ----------
    @params data
    outcome
        The numeric outcome column.
    @params arm alpha missing id analysis
    """
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        kind="continuous",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
    )
    control_label = prepared.control
    y0 = prepared.arm_values(control_label)
    table = []
    for t in prepared.treatments:
        x = prepared.arm_values(t)
        if np.unique(np.concatenate([x, y0])).size < 2:
            raise EstimationError(
                f"{outcome!r} is identical for everyone in {t!r} and {control_label!r}: no rank test"
            )
        if np.unique(x).size < 2 and np.unique(y0).size < 2:
            raise EstimationError(
                f"the Hodges-Lehmann interval of {outcome!r} for {contrast_label(t, control_label)!r} is "
                f"undefined: each arm has a single value ({plural(x.size, 'participant')} in {t!r}, "
                f"{y0.size} in {control_label!r}), so at the only possible shift every observation is tied "
                "(R's wilcox.test: 'cannot compute confidence interval when all observations are tied'). "
                "Fix: at least one of the two arms needs 2 or more participants with different values "
                "(e.g. 2 in one arm and 1 in the other)"
            )
        table.append(contrast_row(prepared, t, **_hodges_lehmann_pair(x, y0, alpha)))
    return HodgesLehmann(
        outcome=outcome,
        treatments=prepared.treatments,
        control=control_label,
        table=pd.DataFrame(table),
        alpha=alpha,
        analysis=analysis,
        inputs=prepared.inputs,
    )
