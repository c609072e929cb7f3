"""The cost-effectiveness plane from estimates and draws: quadrants, Fieller's interval, CEAC and EVPI.

Notation for one treatment ``t`` against the control ``c``: ``ΔC`` and ``ΔE`` the differences in mean
cost and mean effect, ``λ`` the willingness to pay (cost units per unit of effect) and
``INMB(λ) = λΔE − ΔC`` the incremental net monetary benefit (Stinnett & Mullahy 1998, Med Decis Making
18:S68).

* :func:`quadrant` -- the position of ``(ΔE, ΔC)`` on the plane (Black 1990, Med Decis Making 10:212).
* :func:`fieller_interval` -- Fieller's confidence set for the ICER ``ΔC/ΔE`` (Willan & O'Brien 1996,
  Health Econ 5:297; Chaudhary & Stearns 1996, Stat Med 15:1447), with its three cases named.
* :func:`ceac_from_draws` -- the acceptability curve ``P(INMB(λ) > 0)`` from bootstrap draws (van Hout,
  Al, Gordon & Rutten 1994, Health Econ 3:309; Fenwick, Claxton & Sculpher 2001, Health Econ 10:779).
* :func:`evpi_from_draws` -- the expected value of perfect information per participant (Claxton 1999,
  J Health Econ 18:341; Briggs, Claxton & Sculpher 2006, *Decision Modelling for Health Economic
  Evaluation*, ch. 7).

The draws are evaluated over blocks of draws x willingness-to-pay values of bounded size
(:func:`ipstrial._memory.chunks`), so a long grid or many draws never build one large matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ipstrial._checks import check_alpha, check_number
from ipstrial._docs import shared_params
from ipstrial._memory import CHUNK_BYTES, chunks
from ipstrial.errors import ParameterError
from ipstrial.stats.normal import z_critical

__all__ = [
    "QUADRANTS",
    "FiellerInterval",
    "ceac_from_draws",
    "evpi_from_draws",
    "fieller_interval",
    "quadrant",
]

QUADRANTS = ("dominant", "dominated", "north-east", "south-west", "origin")
"""Positions on the cost-effectiveness plane (``origin``: ΔC = ΔE = 0 exactly)."""

QUADRANT_TEXT = {
    "dominant": "dominant: cheaper and more effective (a negative ICER here is not a cost per unit gained)",
    "dominated": "dominated: dearer and less effective (a negative ICER here is not a cost per unit gained)",
    "north-east": "north-east: more effective at extra cost",
    "south-west": "south-west: cheaper and less effective (ICER = saving per unit of effect given up)",
    "origin": "origin: no difference in cost or effect",
}

# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------


def check_wtp(wtp: object) -> float:
    """A reference willingness to pay: a positive finite number (ParameterError otherwise)."""
    try:
        return check_number(wtp, "wtp", minimum=0.0, strict=True)
    except ParameterError as exc:
        raise ParameterError(
            "wtp must be a positive number in cost units per unit of effect (e.g. DKK per additional person "
            "in work; a willingness to pay of 0 or below is covered by the acceptability curve, wtp_grid); "
            f"{exc}"
        ) from None


def check_grid(grid: object, name: str = "wtp_grid") -> np.ndarray:
    """A willingness-to-pay grid: finite numbers >= 0, at least one, none repeated (ParameterError)."""
    if isinstance(grid, str | bytes) or isinstance(grid, bool | np.bool_):
        raise ParameterError(f"{name} must be a sequence of numbers >= 0, got {grid!r}")
    try:
        values = np.atleast_1d(np.asarray(grid, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must hold numbers >= 0, got {grid!r}") from exc
    if values.ndim != 1 or values.size == 0:
        raise ParameterError(f"{name} must be a non-empty one-dimensional sequence, got shape {values.shape}")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ParameterError(
            f"{name} must hold finite numbers >= 0 (willingness to pay); offending values: "
            f"{values[bad][:5].tolist()}"
        )
    unique, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        raise ParameterError(
            f"{name} lists {unique[counts > 1][:5].tolist()} more than once; list each willingness to "
            "pay once"
        )
    return values


# ---------------------------------------------------------------------------------------------
# quadrants
# ---------------------------------------------------------------------------------------------


def quadrant(delta_cost: float, delta_effect: float) -> str:
    """The position of ``(ΔE, ΔC)`` on the cost-effectiveness plane (Black 1990, Med Decis Making 10:212).

    ``dominant`` (ΔE > 0 and ΔC < 0), ``dominated`` (ΔE < 0 and ΔC > 0), ``north-east`` (both > 0),
    ``south-west`` (both < 0); on the axes the weak orderings (``ΔE > 0, ΔC = 0`` or ``ΔE = 0, ΔC < 0``
    is ``dominant``; ``ΔE < 0, ΔC = 0`` or ``ΔE = 0, ΔC > 0`` is ``dominated``); ``origin`` when both
    are 0.

    Parameters
    ----------
    delta_cost, delta_effect
        The incremental cost ``ΔC`` and effect ``ΔE`` (finite numbers).
    """
    dc = check_number(delta_cost, "delta_cost", finite=False)
    de = check_number(delta_effect, "delta_effect", finite=False)
    return QUADRANTS[int(quadrant_codes(np.array([dc]), np.array([de]))[0])]


def quadrant_codes(dc: np.ndarray, de: np.ndarray) -> np.ndarray:
    """Index into :data:`QUADRANTS` for every pair, elementwise."""
    codes = np.full(np.shape(dc), 4, dtype=np.int64)
    codes[((de > 0) & (dc <= 0)) | ((de == 0) & (dc < 0))] = 0
    codes[((de < 0) & (dc >= 0)) | ((de == 0) & (dc > 0))] = 1
    codes[(de > 0) & (dc > 0)] = 2
    codes[(de < 0) & (dc < 0)] = 3
    return codes


# ---------------------------------------------------------------------------------------------
# Fieller
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiellerInterval:
    """Fieller's confidence set for a ratio ``ΔC/ΔE``.

    ``kind`` is ``"bounded"`` (the interval ``[low, high]``), ``"exclusive"`` (the set is
    ``(-inf, low] ∪ [high, inf)``: two half-lines) or ``"unbounded"`` (the whole real line; ``low``
    and ``high`` NaN); ``note`` says so in words.
    """

    low: float
    high: float
    kind: str
    note: str


@shared_params
def fieller_interval(
    delta_cost: float,
    delta_effect: float,
    var_cost: float,
    var_effect: float,
    cov: float,
    *,
    alpha: float = 0.05,
) -> FiellerInterval:
    """Fieller's interval for the ICER ``R = ΔC/ΔE`` (Willan & O'Brien 1996, Health Econ 5:297).

    The confidence set is ``{R : (ΔC − RΔE)² ≤ z² (Var ΔC − 2R Cov + R² Var ΔE)}`` with
    ``z = Φ⁻¹(1 − α/2)``, i.e. ``aR² − 2bR + c ≤ 0`` with ``a = ΔE² − z² Var ΔE``,
    ``b = ΔE ΔC − z² Cov`` and ``c = ΔC² − z² Var ΔC`` (Chaudhary & Stearns 1996, Stat Med 15:1447).

    * ``a > 0`` (ΔE significantly different from 0 by the z test): the bounded interval between the
      roots ``(b ± √(b² − ac))/a`` (the discriminant is then non-negative: the quadratic is
      ``≤ 0`` at ``R = ΔC/ΔE``);
    * ``a < 0`` and ``b² − ac > 0``: the two half-lines outside the roots (``kind="exclusive"``);
    * otherwise the whole real line (``kind="unbounded"``).

    Parameters
    ----------
    delta_cost, delta_effect
        The incremental cost and effect.
    var_cost, var_effect, cov
        Their variances (>= 0) and covariance.
    @params alpha
    """
    alpha = check_alpha(alpha)
    check_number(delta_cost, "delta_cost")
    check_number(delta_effect, "delta_effect")
    check_number(var_cost, "var_cost", minimum=0.0)
    check_number(var_effect, "var_effect", minimum=0.0)
    check_number(cov, "cov")
    bound = math.sqrt(var_cost * var_effect)
    if abs(cov) > bound * (1 + 1e-9) + 1e-300:
        implied = f"{cov / bound:.3g}" if bound > 0 else "infinite"
        raise ParameterError(
            f"cov={cov!r} is impossible with var_cost={var_cost!r} and var_effect={var_effect!r}: a "
            f"covariance is at most sqrt(var_cost * var_effect) = {bound:.6g} in absolute value (the implied "
            f"correlation is {implied}, outside [-1, 1]); pass the covariance of the incremental cost and "
            "effect (not their correlation, nor a standard error where a variance is expected)"
        )
    z2 = z_critical(alpha) ** 2
    a = delta_effect**2 - z2 * var_effect
    b = delta_effect * delta_cost - z2 * cov
    c = delta_cost**2 - z2 * var_cost
    disc = b * b - a * c
    significance = f"ΔE/SE = {delta_effect / math.sqrt(var_effect):.3g}" if var_effect > 0 else "Var(ΔE) = 0"
    if a > 0:
        root = math.sqrt(max(disc, 0.0))
        low, high = sorted(((b - root) / a, (b + root) / a))
        return FiellerInterval(low, high, "bounded", "bounded: ΔE differs significantly from 0")
    if a < 0 and disc > 0:
        root = math.sqrt(disc)
        low, high = sorted(((b - root) / a, (b + root) / a))
        return FiellerInterval(
            low,
            high,
            "exclusive",
            f"undefined as an interval: ΔE does not differ significantly from 0 ({significance}), so the "
            f"Fieller confidence set is the two half-lines (-inf, {low:.6g}] and [{high:.6g}, inf); use "
            "the net benefit and the acceptability curve",
        )
    return FiellerInterval(
        math.nan,
        math.nan,
        "unbounded",
        f"unbounded: ΔE does not differ significantly from 0 ({significance}) and the Fieller "
        "confidence set is the whole real line; use the net benefit and the acceptability curve",
    )


# ---------------------------------------------------------------------------------------------
# CEAC and EVPI
# ---------------------------------------------------------------------------------------------


def _as_draw_matrix(values: object, name: str) -> np.ndarray:
    if isinstance(values, str | bytes):
        raise ParameterError(f"{name} must be numbers (bootstrap draws), got {values!r}")
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numbers (bootstrap draws), got {values!r:.60}") from exc
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 1:
        raise ParameterError(f"{name} must be (n_draws,) or (n_draws, treatments), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} holds {int(np.sum(~np.isfinite(array)))} missing or infinite values")
    return array


def summary_bytes(n_treatments: int, n_grid: int) -> tuple[float, float]:
    """The memory :func:`net_benefit_summaries` needs: its ``(G, T)`` outputs, and its working blocks."""
    return 8.0 * n_grid * (3 * n_treatments + 4), 2.5 * CHUNK_BYTES


def net_benefit_summaries(
    dc: np.ndarray, de: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CEAC per treatment ``(G, T)``, pairwise EVPI ``(G, T)`` and EVPI over all arms ``(G,)``.

    ``INMB[b, g] = λ_g ΔE_b − ΔC_b`` as one ``(draws x grid)`` matrix per treatment, built over
    blocks of draws and of grid values that fit in cache (the sums are accumulated; no loop over
    single draws or single λ). ``E_b[INMB] = λ mean(ΔE) − mean(ΔC)`` needs no matrix.

    EVPI is computed as the expected opportunity loss of the decision that is best in expectation,
    ``EVPI = E_b[max_k NB_k,b − NB_k*,b]`` with ``k* = argmax_k E_b[NB_k]``, which equals
    ``E_b[max_k NB_k] − max_k E_b[NB_k]`` but has no cancellation: it is exactly 0 when every
    draw prefers the same arm, and never negative.
    """
    n_draws, n_t = dc.shape
    expected = np.outer(grid, de.mean(axis=0)) - dc.mean(axis=0)  # (G, T): E[INMB_t] at each λ
    chosen = np.argmax(np.column_stack([np.zeros(grid.size), expected]), axis=1)  # 0 = control, t+1
    positive = np.zeros((grid.size, n_t), dtype=np.int64)
    pair_loss = np.zeros((grid.size, n_t))
    loss_sum = np.zeros(grid.size)
    # blocks of grid values (a very long grid) and, within them, of draws, of half a chunk each (the
    # running maximum and the chosen arm's net benefit are two such blocks besides the net benefit)
    block = CHUNK_BYTES // 2
    for cols in chunks(grid.size, 8.0, block):
        g = grid[cols]
        chosen_g = chosen[cols]
        # pairwise: the loss of the choice between treatment t and control that is best in expectation
        # is max(-INMB, 0) where the treatment is chosen, max(INMB, 0) where the control is (x -1: exact)
        sign = np.where(expected[cols] > 0, -1.0, 1.0)
        for rows in chunks(n_draws, 8.0 * g.size, block):
            best = np.zeros((rows.stop - rows.start, g.size))
            at_chosen = np.zeros((rows.stop - rows.start, g.size))
            loss = np.empty((rows.stop - rows.start, g.size))
            for t in range(n_t):
                inmb = np.multiply.outer(de[rows, t], g)
                inmb -= dc[rows, t, None]
                positive[cols, t] += np.count_nonzero(inmb > 0, axis=0)
                np.maximum(best, inmb, out=best)
                np.copyto(at_chosen, inmb, where=(chosen_g == t + 1)[None, :])
                np.multiply(inmb, sign[:, t], out=loss)
                np.maximum(loss, 0.0, out=loss)
                pair_loss[cols, t] += loss.sum(axis=0)
            loss_sum[cols] += (best - at_chosen).sum(axis=0)
    pairwise = pair_loss / n_draws
    overall = pairwise[:, 0].copy() if n_t == 1 else loss_sum / n_draws
    return positive / n_draws, pairwise, overall


def _draw_pair(delta_cost: object, delta_effect: object) -> tuple[np.ndarray, np.ndarray]:
    dc = _as_draw_matrix(delta_cost, "delta_cost")
    de = _as_draw_matrix(delta_effect, "delta_effect")
    if dc.shape != de.shape:
        raise ParameterError(f"delta_cost {dc.shape} and delta_effect {de.shape} differ in shape")
    return dc, de


def ceac_from_draws(
    delta_cost: Sequence[float] | np.ndarray,
    delta_effect: Sequence[float] | np.ndarray,
    wtp_grid: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """The cost-effectiveness acceptability curve from bootstrap draws of ``(ΔC, ΔE)``.

    ``CEAC(λ) = B⁻¹ Σ_b 1[λ ΔE_b − ΔC_b > 0]`` (van Hout et al. 1994, Health Econ 3:309; Fenwick et
    al. 2001, Health Econ 10:779), for every ``λ`` in ``wtp_grid`` by blocks of matrix operations.

    Parameters
    ----------
    delta_cost, delta_effect
        Draws of shape ``(B,)`` (one treatment) or ``(B, T)`` (several treatments against one control,
        the same replicate in each row).
    wtp_grid
        Willingness-to-pay values (finite, >= 0, none repeated).

    Returns
    -------
    numpy.ndarray
        Shape ``(G,)`` for ``(B,)`` draws, ``(G, T)`` for ``(B, T)`` draws.
    """
    dc, de = _draw_pair(delta_cost, delta_effect)
    grid = check_grid(wtp_grid)
    ceac = net_benefit_summaries(dc, de, grid)[0]
    return ceac[:, 0] if np.ndim(delta_cost) == 1 else ceac


def evpi_from_draws(
    delta_cost: Sequence[float] | np.ndarray,
    delta_effect: Sequence[float] | np.ndarray,
    wtp: float | Sequence[float] | np.ndarray,
) -> float | np.ndarray:
    """Expected value of perfect information per participant from joint draws of ``(ΔC, ΔE)``.

    ``EVPI(λ) = E_b[max_k NB_k,b] − max_k E_b[NB_k,b]`` with ``NB_k = λE_k − C_k`` (Claxton 1999,
    J Health Econ 18:341; Briggs, Claxton & Sculpher 2006, ch. 7). Differences against the control
    suffice: ``EVPI = mean_b max(0, max_t INMB_t,b) − max(0, max_t mean_b INMB_t,b)`` with
    ``INMB_t = λΔE_t − ΔC_t``. Multiply by the number of future participants for the population EVPI.

    Parameters
    ----------
    delta_cost, delta_effect
        Draws ``(B,)`` (one treatment) or ``(B, T)`` (several treatments drawn jointly: the same
        replicate in each row).
    wtp
        A willingness to pay (gives a float) or a sequence of them (one value each).
    """
    dc, de = _draw_pair(delta_cost, delta_effect)
    scalar = np.ndim(wtp) == 0
    grid = check_grid(wtp, "wtp")
    overall = net_benefit_summaries(dc, de, grid)[2]
    return float(overall[0]) if scalar else overall
