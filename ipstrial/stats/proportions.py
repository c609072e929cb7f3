"""Interval estimates for one proportion and for the 2x2 table of a two-arm trial with a binary outcome.

Notation: ``x1`` events among ``n1`` participants in the treatment arm, ``x0`` among ``n0`` in control;
``p1 = x1/n1``, ``p0 = x0/n0``, ``N = n1 + n0``, ``m = x1 + x0``; ``z`` is the ``1 - (1 - conf)/2``
quantile of the standard normal.  The 2x2 table has cells ``a = x1``, ``b = n1 - x1``, ``c = x0``,
``d = n0 - x0``.

Every function takes counts and returns an :class:`Interval` (or test results) that is defined for
every table with ``n1, n0 >= 1`` -- also with no events or only events in one or both arms.  Where the
parameter space ends the bound is exactly that end (0, 1, -1 or ``inf``); where a correction or a
convention was needed to obtain a number, :attr:`Interval.note` says which.  Impossible counts
(``n < 1``, ``x < 0``, ``x > n``, non-integers) raise :class:`~ipstrial.errors.EstimationError`.

References
----------
Agresti A, Caffo B. Simple and effective confidence intervals for proportions and differences of
    proportions result from adding two successes and two failures. Am Stat 2000;54:280-288.
Altman DG. Confidence intervals for the number needed to treat. BMJ 1998;317:1309-1312.
Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
    binomial. Biometrika 1934;26:404-413.
Cornfield J. A statistical problem arising from retrospective studies. Proc Third Berkeley Symp
    Math Stat Prob 1956;4:135-148.
Farrington CP, Manning G. Test statistics and sample size formulae for comparative binomial trials
    with null hypothesis of non-zero risk difference or non-unity relative risk. Stat Med
    1990;9:1447-1454.
Haldane JBS. The estimation and significance of the logarithm of a ratio of frequencies. Ann Hum
    Genet 1956;20:309-311.
Katz D, Baptista J, Azen SP, Pike MC. Obtaining confidence intervals for the risk ratio in cohort
    studies. Biometrics 1978;34:469-474.
Koopman PAR. Confidence intervals for the ratio of two binomial proportions. Biometrics
    1984;40:513-517.
Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med 1985;4:213-226.
Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven methods.
    Stat Med 1998;17:857-872 (1998a).
Newcombe RG. Interval estimation for the difference between independent proportions: comparison of
    eleven methods. Stat Med 1998;17:873-890 (1998b).
Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc
    1927;22:209-212.
Woolf B. On estimating the relation between blood group and disease. Ann Hum Genet 1955;19:251-253.
Yates F. Contingency tables involving small numbers and the chi-square test. J R Stat Soc Suppl
    1934;1:217-235.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ipstrial._memory import check_memory
from ipstrial.errors import EstimationError

__all__ = [
    "Interval",
    "ODDS_RATIO_METHODS",
    "RISK_DIFFERENCE_METHODS",
    "RISK_RATIO_METHODS",
    "chi_square",
    "clopper_pearson",
    "fisher_exact",
    "number_needed_to_treat",
    "or_exact_conditional",
    "or_woolf",
    "rd_agresti_caffo",
    "rd_miettinen_nurminen",
    "rd_newcombe",
    "rd_wald",
    "rd_wald_se",
    "rr_log",
    "rr_score",
    "wilson",
]

_INF = math.inf
#: relative tolerance when comparing table probabilities in the two-sided Fisher test (as R does)
_FISHER_RELATIVE_TOLERANCE = 1e-7
#: step away from a degenerate estimate at which the score functions are first evaluated
_EPS_STEPS = (1e-10, 1e-12, 1e-14)
#: log-scale limit of the searches for ratio limits (exp(300)^2 is still a finite double)
_LOG_LIMIT = 300.0
#: bytes held per possible table by the exact conditional computations (the support, its log weights
#: and the temporaries of one evaluation: about 7 float arrays measured, 8 allowed)
_HYPERGEOMETRIC_BYTES = 8 * 8
_HALDANE_NOTE = (
    "0.5 added to each cell (Haldane) because a cell is zero; estimate and interval from that table"
)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    estimate:
        The point estimate (may be ``0`` or ``inf`` for a ratio at the edge of its parameter space).
    low, high:
        The confidence limits, ``low <= high``; exactly 0, 1, -1 or ``inf`` where the parameter space
        ends.
    method:
        A short description of the method.
    note:
        Explains any correction or convention applied (empty when none was needed).
    conf:
        The confidence level of the interval (used e.g. to word the number needed to treat).
    """

    estimate: float
    low: float
    high: float
    method: str
    note: str = ""
    conf: float = 0.95


# ----------------------------------------------------------------------------------------------------------
# input checks and small helpers


def _count(value: object, name: str) -> int:
    """Return ``value`` as an int if it is a whole number, else raise EstimationError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise EstimationError(f"{name}={value!r} is not a count; give a whole number")
    if isinstance(value, numbers.Integral):
        return int(value)
    as_float = float(value)
    if not math.isfinite(as_float) or not as_float.is_integer():
        raise EstimationError(f"{name}={value!r} is not a count; give a whole number")
    return int(as_float)


def _check_arm(x: object, n: object, xname: str = "x", nname: str = "n") -> tuple[int, int]:
    """Validate one arm's counts: ``n >= 1`` and ``0 <= x <= n``."""
    xi, ni = _count(x, xname), _count(n, nname)
    if ni < 1 or xi < 0 or xi > ni:
        raise EstimationError(
            f"impossible counts {xname}={xi}, {nname}={ni}: need {nname} >= 1 and 0 <= {xname} <= {nname}"
        )
    return xi, ni


def _check_table(x1: object, n1: object, x0: object, n0: object) -> tuple[int, int, int, int]:
    """Validate both arms of a 2x2 table."""
    a, b = _check_arm(x1, n1, "x1", "n1")
    c, d = _check_arm(x0, n0, "x0", "n0")
    return a, b, c, d


def _z(conf: float) -> float:
    """The two-sided standard normal quantile ``z = Phi^{-1}(1 - (1 - conf)/2)``."""
    if not isinstance(conf, numbers.Real) or not 0 < float(conf) < 1:
        raise EstimationError(f"conf={conf!r} must lie strictly between 0 and 1, e.g. 0.95")
    from scipy.special import ndtri

    return float(ndtri(1 - (1 - float(conf)) / 2))


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _brentq(f: Callable[[float], float], a: float, b: float) -> float:
    """A root of ``f`` in ``[a, b]`` (signs must differ), to full double precision."""
    from scipy.optimize import brentq

    return float(brentq(f, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def _root_from(
    g: Callable[[float], float], start: float, direction: float, end: float | None
) -> float | None:
    """Move from ``start`` (where ``g < 0``) in ``direction`` to the first sign change of ``g`` and solve.

    With ``end`` given, ``g(end) > 0`` is assumed and the search is bracketed by ``[start, end]``.
    Without it, the step doubles from 0.5 until ``g`` turns positive or ``|t|`` passes ``_LOG_LIMIT``;
    ``None`` is returned when no sign change was found.
    """
    if end is not None:
        a, b = sorted((start, end))
        return _brentq(g, a, b)
    inner, step = start, 0.5
    while True:
        outer = start + direction * step
        if abs(outer) > _LOG_LIMIT:
            outer = direction * _LOG_LIMIT
        if g(outer) > 0:
            a, b = sorted((inner, outer))
            return _brentq(g, a, b)
        if abs(outer) >= _LOG_LIMIT:
            return None
        inner, step = outer, step * 2


def _start_below(g: Callable[[float], float], centre: float, direction: float) -> float | None:
    """A point at or just beside ``centre`` (towards ``direction``) where ``g < 0``; None if none is found."""
    if g(centre) < 0:
        return centre
    for eps in _EPS_STEPS:
        t = centre + direction * eps
        if g(t) < 0:
            return t
    return None


# ----------------------------------------------------------------------------------------------------------
# one proportion


def wilson(x: int, n: int, conf: float = 0.95) -> Interval:
    """Wilson score interval for one proportion ``p = x/n``.

    The limits are the two solutions ``p`` of ``|x/n - p| = z sqrt(p(1 - p)/n)`` (Wilson 1927;
    Newcombe 1998a, method 3)::

        (2x + z^2 -/+ z sqrt(z^2 + 4x(n - x)/n)) / (2(n + z^2))

    With ``x = 0`` the lower limit is exactly 0 and the upper ``z^2/(n + z^2)``; with ``x = n`` the
    upper limit is exactly 1.  The estimate is ``x/n``, which always lies inside the interval.
    """
    x, n = _check_arm(x, n)
    z = _z(conf)
    low, high = _wilson_limits(x, n, z)
    return Interval(x / n, low, high, "Wilson score", conf=float(conf))


def _wilson_limits(x: int, n: int, z: float) -> tuple[float, float]:
    z2 = z * z
    centre = 2 * x + z2
    half = z * math.sqrt(z2 + 4 * x * (n - x) / n)
    denominator = 2 * (n + z2)
    low = 0.0 if x == 0 else _clip((centre - half) / denominator, 0.0, 1.0)
    high = 1.0 if x == n else _clip((centre + half) / denominator, 0.0, 1.0)
    return low, high


def clopper_pearson(x: int, n: int, conf: float = 0.95) -> Interval:
    """Clopper-Pearson "exact" interval for one proportion.

    The limits are the ``p`` with ``P(X >= x; p) = alpha/2`` and ``P(X <= x; p) = alpha/2``,
    ``alpha = 1 - conf``, ``X ~ Binomial(n, p)`` (Clopper & Pearson 1934; Newcombe 1998a, method 5);
    through the beta-binomial identity they are the beta quantiles::

        low = B(alpha/2; x, n - x + 1),   high = B(1 - alpha/2; x + 1, n - x)

    with ``low = 0`` when ``x = 0`` and ``high = 1`` when ``x = n``.
    """
    x, n = _check_arm(x, n)
    _z(conf)
    from scipy.special import betaincinv

    alpha = 1 - float(conf)
    low = 0.0 if x == 0 else float(betaincinv(x, n - x + 1, alpha / 2))
    high = 1.0 if x == n else float(betaincinv(x + 1, n - x, 1 - alpha / 2))
    return Interval(x / n, low, high, "Clopper-Pearson exact", conf=float(conf))


# ----------------------------------------------------------------------------------------------------------
# risk difference p1 - p0


def rd_wald_se(x1: int, n1: int, x0: int, n0: int) -> float:
    """Unpooled standard error of the risk difference: ``sqrt(p1(1 - p1)/n1 + p0(1 - p0)/n0)``.

    The variance of the difference of two independent binomial proportions, each estimated by its
    maximum likelihood estimate (Newcombe 1998b, method 1).  It is 0 when each arm has no events or
    only events.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    p1, p0 = x1 / n1, x0 / n0
    return math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)


def rd_wald(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Wald interval for the risk difference: ``p1 - p0 -/+ z SE`` with SE from :func:`rd_wald_se`.

    ``SE = sqrt(p1(1 - p1)/n1 + p0(1 - p0)/n0)`` (Newcombe 1998b, method 1).  Limits beyond
    ``[-1, 1]`` are truncated (noted); when SE is 0 (no events or only events in each arm) the interval
    has zero width, which is noted.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    estimate = x1 / n1 - x0 / n0
    se = rd_wald_se(x1, n1, x0, n0)
    low, high = estimate - z * se, estimate + z * se
    notes = []
    if se == 0:
        notes.append("standard error 0 (each arm has no events or only events): the interval has zero width")
    if low < -1 or high > 1:
        notes.append("limits truncated to [-1, 1]")
    return Interval(
        estimate, _clip(low, -1.0, 1.0), _clip(high, -1.0, 1.0), "Wald", "; ".join(notes), conf=float(conf)
    )


def rd_newcombe(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval for the risk difference (Newcombe 1998b, method 10).

    With ``(l1, u1)`` and ``(l0, u0)`` the Wilson score limits of ``p1`` and ``p0`` (no continuity
    correction) and ``D = p1 - p0`` ("square and add")::

        low  = D - sqrt((p1 - l1)^2 + (u0 - p0)^2)
        high = D + sqrt((u1 - p1)^2 + (p0 - l0)^2)
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = _wilson_limits(x1, n1, z)
    l0, u0 = _wilson_limits(x0, n0, z)
    estimate = p1 - p0
    low = estimate - math.hypot(p1 - l1, u0 - p0)
    high = estimate + math.hypot(u1 - p1, p0 - l0)
    return Interval(
        estimate, _clip(low, -1.0, 1.0), _clip(high, -1.0, 1.0), "Newcombe hybrid score", conf=float(conf)
    )


def rd_agresti_caffo(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Agresti-Caffo interval for the risk difference: Wald after adding 1 success and 1 failure per arm.

    With ``q1 = (x1 + 1)/(n1 + 2)`` and ``q0 = (x0 + 1)/(n0 + 2)`` (Agresti & Caffo 2000)::

        q1 - q0 -/+ z sqrt(q1(1 - q1)/(n1 + 2) + q0(1 - q0)/(n0 + 2))

    truncated to ``[-1, 1]``.  The estimate reported is the observed ``p1 - p0``.  The interval is
    centred on the adjusted difference, so in very small arms at lower confidence levels the estimate can
    fall outside it (e.g. 0/1 vs 1/1 at 90 %; never in the tests' tables at 95 %), which the note then
    says.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    q1, q0 = (x1 + 1) / (n1 + 2), (x0 + 1) / (n0 + 2)
    centre = q1 - q0
    se = math.sqrt(q1 * (1 - q1) / (n1 + 2) + q0 * (1 - q0) / (n0 + 2))
    low, high = centre - z * se, centre + z * se
    notes = ["limits truncated to [-1, 1]"] if low < -1 or high > 1 else []
    low, high = _clip(low, -1.0, 1.0), _clip(high, -1.0, 1.0)
    estimate = x1 / n1 - x0 / n0
    if not low <= estimate <= high:
        notes.append("the observed difference lies outside the interval (tiny arms, low confidence level)")
    return Interval(estimate, low, high, "Agresti-Caffo", "; ".join(notes), conf=float(conf))


def _restricted_mle_rd(x1: int, n1: int, x0: int, n0: int, delta: float) -> tuple[float, float]:
    """Maximum likelihood estimates ``(p1, p0)`` under the constraint ``p1 - p0 = delta``.

    The score equation is the cubic ``a p^3 + b p^2 + c p + d = 0`` in ``p = p1`` with ``t = n0/n1``
    (Miettinen & Nurminen 1985, appendix; Farrington & Manning 1990, section 2)::

        a = 1 + t
        b = -(1 + t + p1hat + t p0hat + delta (t + 2))
        c = delta^2 + delta (2 p1hat + t + 1) + p1hat + t p0hat
        d = -p1hat delta (1 + delta)

    whose root in the admissible range is ``2u cos(w) - b/(3a)`` with
    ``v = b^3/(3a)^3 - bc/(6a^2) + d/(2a)``, ``u = sign(v) sqrt(b^2/(3a)^2 - c/(3a))`` and
    ``w = (pi + arccos(v/u^3))/3``.  When rounding takes the closed form outside the admissible range
    (degenerate tables), the likelihood is maximised over the candidate roots of the cubic and the ends
    of the range instead.  The root found is polished by two Newton steps and compared with the ends of
    the range, where the maximum lies for degenerate tables (e.g. no events in either arm).
    """
    if delta >= 1:
        return 1.0, 0.0
    if delta <= -1:
        return 0.0, 1.0
    lo, hi = max(0.0, delta), min(1.0, 1.0 + delta)  # admissible range of p1
    t = n0 / n1
    p1hat, p0hat = x1 / n1, x0 / n0
    a = 1 + t
    b = -(1 + t + p1hat + t * p0hat + delta * (t + 2))
    c = delta * delta + delta * (2 * p1hat + t + 1) + p1hat + t * p0hat
    d = -p1hat * delta * (1 + delta)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a * a) + d / (2 * a)
    radicand = b * b / (3 * a) ** 2 - c / (3 * a)
    p1 = math.nan
    if radicand > 0:
        u = math.copysign(math.sqrt(radicand), v) if v != 0 else math.sqrt(radicand)
        ratio = v / u**3
        if abs(ratio) <= 1 + 1e-12:
            w = (math.pi + math.acos(_clip(ratio, -1.0, 1.0))) / 3
            p1 = 2 * u * math.cos(w) - b / (3 * a)
    tolerance = 1e-12
    if math.isfinite(p1) and lo - tolerance <= p1 <= hi + tolerance:
        polished = p1
        for _ in range(2):  # Newton steps on the cubic polish the trigonometric solution
            slope = (3 * a * polished + 2 * b) * polished + c
            if slope == 0:
                break
            polished -= (((a * polished + b) * polished + c) * polished + d) / slope
        roots = np.array([p1, polished])
    else:
        roots = np.roots([a, b, c, d])
    # the maximum lies at a root of the cubic or, for degenerate tables, at an end of the admissible range
    p1 = _best_candidate(roots, lo, hi, lambda p: _loglik(x1, n1, p) + _loglik(x0, n0, p - delta))
    return p1, _clip(p1 - delta, 0.0, 1.0)


def _loglik(x: int, n: int, p: float) -> float:
    """Binomial log-likelihood ``x log p + (n - x) log(1 - p)`` with ``0 log 0 = 0``."""
    total = 0.0
    if x > 0:
        total += x * math.log(p) if p > 0 else -_INF
    if n - x > 0:
        total += (n - x) * math.log1p(-p) if p < 1 else -_INF
    return total


def _best_candidate(roots: np.ndarray, lo: float, hi: float, loglik: Callable[[float], float]) -> float:
    """The candidate (real parts of ``roots`` clipped to ``[lo, hi]``, and the ends) of largest likelihood."""
    candidates = [lo, hi, *(_clip(float(r.real), lo, hi) for r in np.atleast_1d(roots))]
    return max(candidates, key=loglik)


def _mn_factor(n1: int, n0: int) -> float:
    total = n1 + n0
    return total / (total - 1)


def rd_miettinen_nurminen(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Miettinen-Nurminen score interval for the risk difference (Miettinen & Nurminen 1985).

    The limits are the ``delta`` in ``(-1, 1)`` with ``T(delta)^2 = z^2`` where (Miettinen & Nurminen 1985)::

        T(delta) = (p1 - p0 - delta) / sqrt(V(delta)),
        V(delta) = (q1(1 - q1)/n1 + q0(1 - q0)/n0) * N/(N - 1)

    and ``(q1, q0)`` the maximum likelihood estimates under ``p1 - p0 = delta`` (closed form of the
    cubic, MN appendix / Farrington & Manning 1990; see :func:`_restricted_mle_rd`).  The limits are
    found with Brent's method between the estimate and -1 or 1, where ``V = 0``; at ``p1 - p0 = -1``
    (or 1) the lower (upper) limit is exactly -1 (1).  When ``V = 0`` at the estimate (each arm with no
    events or only events) the search starts just beside it.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    estimate = x1 / n1 - x0 / n0
    factor = _mn_factor(n1, n0)

    def sd(delta: float) -> float:
        q1, q0 = _restricted_mle_rd(x1, n1, x0, n0, delta)
        return math.sqrt(max(q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0, 0.0) * factor)

    limits = []
    for direction, bound in ((-1.0, -1.0), (1.0, 1.0)):
        if estimate == bound:
            limits.append(bound)
            continue

        def g(delta: float, direction: float = direction) -> float:
            return direction * (delta - estimate) - z * sd(delta)

        start = _start_below(g, estimate, direction)
        root = None if start is None else _root_from(g, start, direction, bound)
        limits.append(bound if root is None else _clip(root, -1.0, 1.0))
    low, high = min(limits[0], estimate), max(limits[1], estimate)
    return Interval(estimate, low, high, "Miettinen-Nurminen score", conf=float(conf))


# ----------------------------------------------------------------------------------------------------------
# risk ratio p1 / p0


def rr_log(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Katz log interval for the risk ratio ``p1/p0``.

    ``exp(log(p1/p0) -/+ z sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0))`` (Katz et al. 1978; the delta-method
    variance of ``log(p1/p0)``).  When any cell of the 2x2 table is zero, 0.5 is added to each
    cell (``x -> x + 0.5``, ``n -> n + 1``; Haldane 1956) and the estimate and interval are those of the
    corrected table, as the note says -- this includes the table with no events in either arm.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    a, n1f, c, n0f = float(x1), float(n1), float(x0), float(n0)
    note = ""
    if min(x1, n1 - x1, x0, n0 - x0) == 0:
        a, n1f, c, n0f = a + 0.5, n1f + 1, c + 0.5, n0f + 1
        note = _HALDANE_NOTE
    log_rr = math.log(a / n1f) - math.log(c / n0f)
    se = math.sqrt(max(1 / a - 1 / n1f + 1 / c - 1 / n0f, 0.0))
    return Interval(
        math.exp(log_rr),
        math.exp(log_rr - z * se),
        math.exp(log_rr + z * se),
        "Katz log",
        note,
        conf=float(conf),
    )


def _restricted_mle_rr(x1: int, n1: int, x0: int, n0: int, rho: float) -> tuple[float, float]:
    """Maximum likelihood estimates ``(p1, p0)`` under the constraint ``p1 = rho p0``.

    ``p0`` is the smaller root of ``A p0^2 + B p0 + C = 0`` with ``A = rho N``,
    ``B = -(rho (n1 + x0) + x1 + n0)``, ``C = x1 + x0`` (Miettinen & Nurminen 1985, appendix; Koopman
    1984), computed as ``2C / (-B + sqrt(B^2 - 4AC))`` to avoid cancellation.
    """
    total = n1 + n0
    a = rho * total
    b = -(rho * (n1 + x0) + x1 + n0)
    c = float(x1 + x0)
    discriminant = max(b * b - 4 * a * c, 0.0)
    p0 = 2 * c / (-b + math.sqrt(discriminant)) if c > 0 else 0.0
    p0 = _clip(p0, 0.0, min(1.0, 1.0 / rho))
    return _clip(rho * p0, 0.0, 1.0), p0


def rr_score(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95, mn_factor: bool = True) -> Interval:
    """Score interval for the risk ratio ``rho = p1/p0`` (Koopman 1984; Miettinen & Nurminen 1985).

    The limits are the ``rho`` with ``T(rho)^2 = z^2``, where (Miettinen & Nurminen 1985)::

        T(rho) = (p1 - rho p0) / sqrt(V(rho)),
        V(rho) = (q1(1 - q1)/n1 + rho^2 q0(1 - q0)/n0) * N/(N - 1)

    and ``(q1, q0)`` the maximum likelihood estimates under ``p1 = rho p0`` (see
    :func:`_restricted_mle_rr`).  ``mn_factor=False`` drops the ``N/(N - 1)`` factor, which gives
    Koopman's (1984) interval.  The limits are found with Brent's method on ``log rho``.  No events in
    the treatment arm give the lower limit (and estimate) 0, none in control the upper limit (and
    estimate) ``inf``; with no events in either arm the score is 0 for every ``rho``, so the interval
    is ``(0, inf)`` and the estimate is reported as 1 (noted).
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    method = "Miettinen-Nurminen score" if mn_factor else "Koopman score"
    if x1 == 0 and x0 == 0:
        note = (
            "no events in either arm: the risk ratio is not estimable; estimate set to 1, interval (0, inf)"
        )
        return Interval(1.0, 0.0, _INF, method, note, conf=float(conf))
    factor = _mn_factor(n1, n0) if mn_factor else 1.0
    p1hat, p0hat = x1 / n1, x0 / n0

    def g(t: float, direction: float) -> float:
        # direction -1: lower limit, g = (p1 - rho p0) - z sd; direction +1: upper, g = (rho p0 - p1) - z sd
        rho = math.exp(t)
        q1, q0 = _restricted_mle_rr(x1, n1, x0, n0, rho)
        variance = (q1 * (1 - q1) / n1 + rho * rho * q0 * (1 - q0) / n0) * factor
        return -direction * (p1hat - rho * p0hat) - z * math.sqrt(max(variance, 0.0))

    if x1 == 0:
        estimate, centre = 0.0, None
    elif x0 == 0:
        estimate, centre = _INF, None
    else:
        estimate = p1hat / p0hat
        centre = math.log(estimate)
    limits = []
    for direction, bound in ((-1.0, 0.0), (1.0, _INF)):
        if (direction < 0 and x1 == 0) or (direction > 0 and x0 == 0):
            limits.append(bound)
            continue

        def gd(t: float, direction: float = direction) -> float:
            return g(t, direction)

        if centre is not None:
            start = _start_below(gd, centre, direction)
        else:  # the estimate is 0 or inf: start from the far side, where g < 0
            start = next(
                (t for t in (0.0, -direction * 10, -direction * 100, -direction * _LOG_LIMIT) if gd(t) < 0),
                None,
            )
        root = None if start is None else _root_from(gd, start, direction, None)
        limits.append(bound if root is None else math.exp(root))
    low = min(limits[0], estimate)
    high = max(limits[1], estimate)
    return Interval(estimate, low, high, method, conf=float(conf))


# ----------------------------------------------------------------------------------------------------------
# odds ratio


def or_woolf(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Woolf (logit) interval for the odds ratio ``ad/(bc)``.

    ``exp(log(ad/(bc)) -/+ z sqrt(1/a + 1/b + 1/c + 1/d))`` (Woolf 1955).  When a cell is zero, 0.5
    is added to every cell (Haldane 1956) and the estimate and interval are those of the corrected
    table, as the note says.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    z = _z(conf)
    cells = [float(x1), float(n1 - x1), float(x0), float(n0 - x0)]
    note = ""
    if min(cells) == 0:
        cells = [cell + 0.5 for cell in cells]
        note = _HALDANE_NOTE
    a, b, c, d = cells
    log_or = math.log(a) + math.log(d) - math.log(b) - math.log(c)
    se = math.sqrt(sum(1 / cell for cell in cells))
    low, high = math.exp(log_or - z * se), math.exp(log_or + z * se)
    return Interval(math.exp(log_or), low, high, "Woolf logit", note, conf=float(conf))


class _Hypergeometric:
    """Noncentral hypergeometric distribution of ``X1`` given the margins of the 2x2 table.

    ``P(X1 = k; psi) = C(n1, k) C(n0, m - k) psi^k / sum_j C(n1, j) C(n0, m - j) psi^j`` for
    ``max(0, m - n0) <= k <= min(n1, m)`` (Cornfield 1956); worked on the log scale, ``t = log psi``.
    Every possible table is held (as R's ``fisher.test`` does), so the memory is estimated first and a
    table over the budget is refused (:func:`ipstrial._memory.check_memory`, a MemoryBudgetError).
    """

    def __init__(self, n1: int, n0: int, m: int) -> None:
        from scipy.special import gammaln

        self.lo, self.hi = max(0, m - n0), min(n1, m)
        tables = self.hi - self.lo + 1
        check_memory(
            tables * _HYPERGEOMETRIC_BYTES,
            f"the exact conditional computation (Fisher's exact test, the exact odds ratio) of the 2x2 "
            f"table with n1={n1}, n0={n0} and {m} event{'' if m == 1 else 's'} (over its {tables:,} "
            f"possible table{'' if tables == 1 else 's'})",
            "check the counts (the exact computation holds every table with the observed margins, "
            "8 floats each); for counts this large the chi-square test (ipstrial.stats.proportions."
            "chi_square) is the standard test and agrees closely with Fisher's",
        )
        self.k = np.arange(self.lo, self.hi + 1, dtype=float)
        k = self.k
        self.log_weight = (
            gammaln(n1 + 1)
            - gammaln(k + 1)
            - gammaln(n1 - k + 1)
            + gammaln(n0 + 1)
            - gammaln(m - k + 1)
            - gammaln(n0 - m + k + 1)
        )

    def _log_terms(self, t: float) -> np.ndarray:
        return self.log_weight + self.k * t

    @staticmethod
    def _logsumexp(values: np.ndarray) -> float:
        top = float(values.max())
        return top + math.log(float(np.exp(values - top).sum()))

    def mean(self, t: float) -> float:
        w = self._log_terms(t)
        p = np.exp(w - w.max())
        return float((self.k * p).sum() / p.sum())

    def log_upper_tail(self, x: int, t: float) -> float:
        """``log P(X1 >= x; exp(t))``."""
        w = self._log_terms(t)
        return self._logsumexp(w[self.k >= x]) - self._logsumexp(w)

    def log_lower_tail(self, x: int, t: float) -> float:
        """``log P(X1 <= x; exp(t))``."""
        w = self._log_terms(t)
        return self._logsumexp(w[self.k <= x]) - self._logsumexp(w)

    def null_log_probabilities(self) -> np.ndarray:
        return self.log_weight - self._logsumexp(self.log_weight)


def _solve_increasing(f: Callable[[float], float], centre: float = 0.0) -> float:
    """The root of an increasing function on the real line (brackets grown from ``centre -/+ 1``)."""
    lo, step = centre - 1.0, 1.0
    while f(lo) > 0 and lo > -_LOG_LIMIT:
        step *= 2
        lo = max(centre - step, -_LOG_LIMIT)
    hi, step = centre + 1.0, 1.0
    while f(hi) < 0 and hi < _LOG_LIMIT:
        step *= 2
        hi = min(centre + step, _LOG_LIMIT)
    return _brentq(f, lo, hi)


def or_exact_conditional(x1: int, n1: int, x0: int, n0: int, conf: float = 0.95) -> Interval:
    """Conditional maximum likelihood estimate of the odds ratio with Cornfield's exact interval.

    Given the margins, ``X1`` follows the noncentral hypergeometric distribution of
    :class:`_Hypergeometric` with odds ratio ``psi``.  The conditional MLE solves ``E[X1; psi] = x1``
    (it is 0 when ``x1`` is the smallest possible value, ``inf`` when it is the largest).  The exact
    limits (Cornfield 1956; the definition R's ``fisher.test`` uses) solve, with ``alpha = 1 - conf``::

        P(X1 >= x1; psi_low) = alpha/2,    P(X1 <= x1; psi_high) = alpha/2

    with ``psi_low = 0`` at the smallest and ``psi_high = inf`` at the largest possible ``x1``.  A table
    with a zero margin (no events, or only events, in both arms) has a flat conditional likelihood:
    the estimate is reported as 1 with the interval ``(0, inf)`` (noted; R's fisher.test reports 0).
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    _z(conf)
    alpha = 1 - float(conf)
    method = "conditional MLE, exact (Cornfield)"
    dist = _Hypergeometric(n1, n0, x1 + x0)
    if dist.lo == dist.hi:
        note = (
            "zero margin (no events or only events in both arms): the conditional likelihood is flat; "
            "estimate set to 1, interval (0, inf)"
        )
        return Interval(1.0, 0.0, _INF, method, note, conf=float(conf))
    log_target = math.log(alpha / 2)
    # the searches start near the log odds ratio of the table with 0.5 added to each cell
    centre = math.log((x1 + 0.5) * (n0 - x0 + 0.5) / ((n1 - x1 + 0.5) * (x0 + 0.5)))
    if x1 == dist.lo:
        estimate = 0.0
    elif x1 == dist.hi:
        estimate = _INF
    else:
        estimate = math.exp(_solve_increasing(lambda t: dist.mean(t) - x1, centre))
    low, high = 0.0, _INF
    if x1 > dist.lo:
        low = math.exp(_solve_increasing(lambda t: dist.log_upper_tail(x1, t) - log_target, centre - 1))
    if x1 < dist.hi:
        high = math.exp(_solve_increasing(lambda t: log_target - dist.log_lower_tail(x1, t), centre + 1))
    return Interval(estimate, min(low, estimate), max(high, estimate), method, conf=float(conf))


# ----------------------------------------------------------------------------------------------------------
# tests of no difference


def chi_square(x1: int, n1: int, x0: int, n0: int, correct: bool = False) -> tuple[float, float]:
    """Pearson chi-square test of ``p1 = p0`` (1 df); with ``correct=True`` Yates' continuity correction.

    ``X^2 = N (|ad - bc| - k)^2 / (n1 n0 m (N - m))`` where ``k = 0`` without correction and, with it,
    ``k = min(N/2, |ad - bc|)`` -- Yates (1934) subtracts 1/2 from each ``|observed - expected|``
    (which equals ``|ad - bc|/N`` in every cell) but never more than that difference, as R's
    ``prop.test`` does by default.  ``p = P(chi^2_1 >= X^2)``.  A table with a zero margin
    (``m = 0`` or ``m = N``) returns ``(0.0, 1.0)``.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    total, events = n1 + n0, x1 + x0
    if events == 0 or events == total:
        return 0.0, 1.0
    cross = abs(x1 * (n0 - x0) - (n1 - x1) * x0)
    if correct:
        cross = max(cross - total / 2, 0.0)
    statistic = total * float(cross) ** 2 / (float(n1) * n0 * events * (total - events))
    from scipy.special import chdtrc

    return statistic, float(chdtrc(1, statistic))


def fisher_exact(x1: int, n1: int, x0: int, n0: int) -> float:
    """Two-sided Fisher exact test of ``p1 = p0``.

    The p-value is the sum of the central hypergeometric probabilities ``P(X1 = k)`` (all margins fixed)
    of the tables no more probable than the observed one, ``P(X1 = k) <= P(X1 = x1) (1 + 1e-7)``; the
    relative tolerance keeps tables of equal probability equal despite rounding, as R does (Agresti,
    Categorical Data Analysis, 2nd ed. 2002, section 3.5.1).  Capped at 1.
    """
    x1, n1, x0, n0 = _check_table(x1, n1, x0, n0)
    dist = _Hypergeometric(n1, n0, x1 + x0)
    log_p = dist.null_log_probabilities()
    observed = log_p[x1 - dist.lo]
    keep = log_p <= observed + math.log1p(_FISHER_RELATIVE_TOLERANCE)
    return min(1.0, float(np.exp(log_p[keep]).sum()))


# ----------------------------------------------------------------------------------------------------------
# number needed to treat


def _fmt(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.1f}"


def number_needed_to_treat(rd: Interval) -> dict[str, float | str]:
    """Number needed to treat from a risk difference interval, worded as Altman (BMJ 1998;317:1309).

    ``NNT = 1/RD`` (``inf`` when ``RD = 0``) with limits ``low = 1/RD_high`` and ``high = 1/RD_low``
    (Altman 1998).  Positive values are numbers needed to treat for one to benefit (NNTB, RD > 0),
    negative ones for one to be harmed (NNTH, RD < 0).  When the RD interval excludes 0, the NNT
    interval is ``[low, high]``, e.g. "NNTB 7.5 (95% CI 4.8 to 17.2)".  When it includes 0, the
    confidence set runs through infinity -- it is ``NNT <= high`` (NNTH side) together with
    ``NNT >= low`` (NNTB side), so ``low > high`` -- and the label reads
    "NNTB 7.5 (95% CI NNTH 20.1 to ∞ to NNTB 3.2)".  A limit of RD exactly 0 gives an NNT limit of
    ``inf`` (``-inf`` on the harm side).  Numbers in the label are rounded to 1 decimal.
    """
    d, rd_low, rd_high = rd.estimate, rd.low, rd.high

    def inverse(value: float, zero_sign: float) -> float:
        return 1 / value if value != 0 else math.copysign(_INF, zero_sign)

    estimate = inverse(d, 1.0)
    low = inverse(rd_high, -1.0)
    high = inverse(rd_low, 1.0)
    if rd_low == rd_high == 0:  # a zero-width interval at no difference: the NNT set is {inf}
        low = high = _INF
    level = f"{100 * rd.conf:g}% CI"
    if d > 0:
        head = f"NNTB {_fmt(1 / d)}"
    elif d < 0:
        head = f"NNTH {_fmt(-1 / d)}"
    else:
        head = "NNT ∞"
    if rd_low > 0:
        ci = f"{_fmt(1 / rd_high)} to {_fmt(1 / rd_low)}"
    elif rd_high < 0:
        ci = f"{_fmt(-1 / rd_low)} to {_fmt(-1 / rd_high)}"
    else:  # the RD interval includes 0: harm side, then infinity, then benefit side
        parts = []
        if rd_low < 0:
            parts.append(f"NNTH {_fmt(-1 / rd_low)}")
        parts.append("∞")
        if rd_high > 0:
            parts.append(f"NNTB {_fmt(1 / rd_high)}")
        ci = " to ".join(parts)
    return {"estimate": estimate, "low": low, "high": high, "label": f"{head} ({level} {ci})"}


RISK_DIFFERENCE_METHODS: dict[str, Callable[..., Interval]] = {
    "wald": rd_wald,
    "newcombe": rd_newcombe,
    "miettinen-nurminen": rd_miettinen_nurminen,
    "agresti-caffo": rd_agresti_caffo,
}
RISK_RATIO_METHODS: dict[str, Callable[..., Interval]] = {"log": rr_log, "score": rr_score}
ODDS_RATIO_METHODS: dict[str, Callable[..., Interval]] = {"woolf": or_woolf, "exact": or_exact_conditional}
