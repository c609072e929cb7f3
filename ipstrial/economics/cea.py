"""Cost-effectiveness alongside a randomised trial: ICER with its quadrant, net benefit, CEAC and EVPI.

:func:`cost_effectiveness` compares each treatment arm with the control on a participant-level cost
(e.g. ``cost_total``, DKK over 18 months) and effect (the binary outcome ``employed_18m``, hours, or
QALYs from :func:`qaly_auc`). Notation for one treatment ``t`` against the control ``c``: ``C`` cost,
``E`` effect, ``ΔC = mean(C | t) − mean(C | c)``, ``ΔE`` likewise, ``λ`` the willingness to pay (cost
units per unit of effect; for the binary outcome: DKK per additional person in work or education).

Estimates (Drummond et al. 2015, *Methods for the Economic Evaluation of Health Care Programmes*, 4th
ed., ch. 4 and 11; Glick, Doshi, Sonnad & Polsky 2014, *Economic Evaluation in Clinical Trials*, 2nd
ed., ch. 7-9):

* ``ΔC``, ``ΔE``: differences of arm means (unadjusted) or of g-computation means from the cost and
  effect models (adjusted, below). Normal theory: ``Var(ΔC) = s²_C,t/n_t + s²_C,c/n_c`` (sample
  variances, ``n − 1`` denominators), ``Cov(ΔC, ΔE) = s_CE,t/n_t + s_CE,c/n_c``; Wald interval and
  two-sided z test. Bootstrap: the percentile interval of the replicates (Barber & Thompson 2000,
  Stat Med 19:3219).
* ``ICER = ΔC / ΔE`` always with its quadrant of the cost-effectiveness plane (Black 1990, Med
  Decis Making 10:212): ``dominant`` (ΔE > 0, ΔC < 0: cheaper and more effective), ``dominated``
  (ΔE < 0, ΔC > 0), ``north-east`` (both > 0: more effective at a cost), ``south-west`` (both < 0).
  On an axis the weak orderings are used: ``ΔE > 0, ΔC = 0`` and ``ΔE = 0, ΔC < 0`` are
  ``dominant``; ``ΔE < 0, ΔC = 0`` and ``ΔE = 0, ΔC > 0`` are ``dominated``; ``ΔE = ΔC = 0``
  is ``origin``. A negative ICER is a different thing in the dominant and the dominated quadrant
  and is never shown without the quadrant (row ``extra`` and ``method``). With ``ΔE = 0`` the ICER
  is undefined (reported as NaN with a note).
* Fieller's interval for the ICER (Willan & O'Brien 1996, Health Econ 5:297; Chaudhary &
  Stearns 1996, Stat Med 15:1447): the values ``R`` with
  ``(ΔC − RΔE)² ≤ z² (Var ΔC − 2R Cov + R² Var ΔE)``, i.e. ``aR² − 2bR + c ≤ 0`` with
  ``a = ΔE² − z² Var ΔE``, ``b = ΔEΔC − z² Cov``, ``c = ΔC² − z² Var ΔC``. It is a bounded
  interval ``(b ± √(b² − ac))/a`` exactly when ``a > 0``, i.e. ``ΔE`` is significantly different
  from 0 at level ``alpha``; otherwise the confidence set is two half-lines or the whole line, and
  the row says so (see :func:`fieller_interval`).
* ``INMB(λ) = λΔE − ΔC`` (Stinnett & Mullahy 1998, Med Decis Making 18:S68), normal theory with
  ``Var = λ² Var ΔE + Var ΔC − 2λ Cov`` and, always, the bootstrap percentile interval.
* ``prob_cost_effective(λ)``: the share of bootstrap replicates with ``INMB > 0``; over ``wtp_grid``
  this is the cost-effectiveness acceptability curve (van Hout, Al, Gordon & Rutten 1994, Health
  Econ 3:309; Fenwick, Claxton & Sculpher 2001, Health Econ 10:779).
* ``evpi(λ)`` per participant: ``E_b[max_k NB_k] − max_k E_b[NB_k]`` over the compared arms ``k``
  with ``NB_k = λE_k − C_k`` (Claxton 1999, J Health Econ 18:341; Briggs, Claxton & Sculpher 2006,
  *Decision Modelling for Health Economic Evaluation*, ch. 7). Only differences between arms matter,
  so with the control's net benefit as 0 it is ``E[max(0, max_t INMB_t)] − max(0, max_t E[INMB_t])``.
  Multiply by the number of future participants for the population EVPI.

Bootstrap: nonparametric, participants resampled within arm (arm sizes fixed), cost and effect of a
participant kept together (paired) because one frequency weight applies to both; the counts are
``ipstrial.resampling.bootstrap_counts([n_t1, ..., n_tk, n_c], n_boot, seed)`` with the groups in the
order treatments then control and the participants of each arm in data order. Unadjusted replicate
means are matrix products (no loop over replicates); the control arm's resample is shared by all
treatments in a replicate, so the draws are joint across arms (needed for the multi-arm EVPI).

Covariate adjustment (``covariates=`` or ``baseline_utility=``; Nixon & Thompson 2005, Health Econ
14:1217; Manca, Hawkins & Sculpher 2005, Health Econ 14:487; Mihaylova, Briggs, O'Hagan & Thompson
2011, Health Econ 20:897): one cost model and one effect model, each with an intercept, one
indicator per treatment arm and the covariates (text columns as dummies, first sorted level the
reference), fitted to all compared arms. Cost: OLS or a gamma GLM with log link; effect: OLS or,
for a 0/1 effect, logistic regression; ``baseline_utility`` (e.g. ``eq5d_0``) enters the effect
model only, as Manca et al. recommend for QALYs. ``ΔC`` and ``ΔE`` are g-computation contrasts
``n⁻¹ Σ_i [g(x_i(t)'β̂) − g(x_i(c)'β̂)]`` over everyone analysed (for OLS: the arm coefficient).
Normal theory uses the joint M-estimation (sandwich) variance of the two g-computation contrasts
(Stefanski & Boos 2002, Am Stat 56:29): with score ``U_i = x_i r_i`` and bread
``A = n⁻¹ Σ_i h_i x_i x_i'`` (OLS ``r = y − η, h = 1``; logistic ``r = y − μ, h = μ(1 − μ)``; gamma
log link ``r = y/μ − 1, h = 1``, the expected information), the influence value of a contrast is
``ψ_i = g(x_i(t)'β̂) − g(x_i(c)'β̂) − Δ + (D_t − D_c)' A⁻¹ U_i`` with
``D_a = n⁻¹ Σ_j g'(x_j(a)'β̂) x_j(a)``; ``Var(Δ) = Σ_i ψ_i² / n²`` and ``Cov(ΔC, ΔE) = Σ_i ψ^C_i ψ^E_i / n²``
(for OLS this is the HC0 sandwich). The bootstrap refits BOTH models on every resample (the same
counts as frequency weights), OLS through batched normal equations and the GLMs through batched
Newton iterations started at the point estimate.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._batched import check_rank as _check_rank
from ipstrial._batched import full_rank as _full_rank
from ipstrial._batched import newton_batch as _newton_batch
from ipstrial._batched import solve_batch as _solve_batch
from ipstrial._inputs import Prepared, as_labels, design_matrix, id_series, prepare, require_frame
from ipstrial._random import SeedLike, seed_sequence
from ipstrial.errors import EstimationError, Problem, TrialDataError, offending_ids
from ipstrial.resampling import bootstrap_counts, counts_in_data_order, percentile_interval
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "COST_MODELS",
    "EFFECT_MODELS",
    "QUADRANTS",
    "CostEffectivenessResult",
    "FiellerInterval",
    "ceac_from_draws",
    "cost_effectiveness",
    "evpi_from_draws",
    "fieller_interval",
    "qaly_auc",
    "quadrant",
]

QUADRANTS = ("dominant", "dominated", "north-east", "south-west", "origin")
"""Positions on the cost-effectiveness plane (``origin``: ΔC = ΔE = 0 exactly)."""
COST_MODELS = ("ols", "gamma")
EFFECT_MODELS = ("auto", "ols", "logistic")
GRID_POINTS = 201
_BLOCK_CELLS = 1 << 17
"""Draws x grid cells per block of the net-benefit matrices (1 MB of float64: stays in cache)."""
_QUADRANT_TEXT = {
    "dominant": "dominant: cheaper and more effective (a negative ICER here is not a cost per unit gained)",
    "dominated": "dominated: dearer and less effective (a negative ICER here is not a cost per unit gained)",
    "north-east": "north-east: more effective at extra cost",
    "south-west": "south-west: cheaper and less effective (ICER = saving per unit of effect given up)",
    "origin": "origin: no difference in cost or effect",
}


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def _p_two_sided(estimate: float, se: float) -> float:
    if not (se > 0) or not math.isfinite(se):
        return math.nan
    return math.erfc(abs(estimate / se) / math.sqrt(2))


def _money(x: float) -> str:
    """A willingness to pay for text: ``350000.0 -> "350,000"``."""
    return f"{x:,.10g}"


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _check_n_boot(n_boot: object) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or int(n_boot) < 2:
        raise ValueError(f"n_boot must be a whole number >= 2 (use thousands), got {n_boot!r}")
    return int(n_boot)


def _check_wtp(wtp: object) -> float:
    """A reference willingness to pay: a positive finite number."""
    if isinstance(wtp, bool | np.bool_) or not isinstance(wtp, numbers.Real):
        raise ValueError(
            f"wtp must be a positive number (cost units per unit of effect, e.g. DKK per additional "
            f"person in work), got the non-numeric value {wtp!r}"
        )
    value = float(wtp)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"wtp must be a positive finite number (cost units per unit of effect), got {wtp!r}; a "
            "willingness to pay of 0 or below is covered by the acceptability curve (wtp_grid)"
        )
    return value


def _check_grid(grid: object) -> np.ndarray:
    """A willingness-to-pay grid: finite numbers >= 0, at least one."""
    if isinstance(grid, str | bytes):
        raise ValueError(f"wtp_grid must be a sequence of numbers >= 0, got the text {grid!r}")
    try:
        values = np.atleast_1d(np.asarray(grid, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"wtp_grid must hold numbers >= 0, got {grid!r}") from exc
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"wtp_grid must be a non-empty one-dimensional sequence, got shape {values.shape}")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"wtp_grid must hold finite numbers >= 0 (willingness to pay); offending values: "
            f"{values[bad][:5].tolist()}"
        )
    return values


def _seed_and_entropy(seed: SeedLike) -> tuple[SeedLike, int | None]:
    if isinstance(seed, np.random.Generator):
        return seed, None
    sequence = seed_sequence(seed)
    entropy = sequence.entropy
    return sequence, int(entropy) if isinstance(entropy, numbers.Integral) else None


def quadrant(delta_cost: float, delta_effect: float) -> str:
    """The position of ``(ΔE, ΔC)`` on the cost-effectiveness plane (Black 1990, Med Decis Making 10:212).

    ``dominant`` (ΔE > 0 and ΔC < 0), ``dominated`` (ΔE < 0 and ΔC > 0), ``north-east`` (both > 0),
    ``south-west`` (both < 0); on the axes the weak orderings (``ΔE > 0, ΔC = 0`` or ``ΔE = 0, ΔC < 0``
    is ``dominant``; ``ΔE < 0, ΔC = 0`` or ``ΔE = 0, ΔC > 0`` is ``dominated``); ``origin`` when both
    are 0.
    """
    return QUADRANTS[int(_quadrant_codes(np.array([delta_cost]), np.array([delta_effect]))[0])]


def _quadrant_codes(dc: np.ndarray, de: np.ndarray) -> np.ndarray:
    """Index into :data:`QUADRANTS` for every pair, elementwise."""
    codes = np.full(np.shape(dc), 4, dtype=np.int64)
    codes[((de > 0) & (dc <= 0)) | ((de == 0) & (dc < 0))] = 0
    codes[((de < 0) & (dc >= 0)) | ((de == 0) & (dc > 0))] = 1
    codes[(de > 0) & (dc > 0)] = 2
    codes[(de < 0) & (dc < 0)] = 3
    return codes


# ---------------------------------------------------------------------------------------------
# Fieller, CEAC, EVPI
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


def fieller_interval(
    delta_cost: float,
    delta_effect: float,
    var_cost: float,
    var_effect: float,
    cov: float,
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
    """
    alpha = _check_alpha(alpha)
    z2 = _z(alpha) ** 2
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


def _as_draw_matrix(values: object, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 1:
        raise ValueError(f"{name} must be (n_draws,) or (n_draws, treatments), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds missing or infinite values")
    return array


def _net_benefit_summaries(
    dc: np.ndarray, de: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CEAC per treatment ``(G, T)``, pairwise EVPI ``(G, T)`` and EVPI over all arms ``(G,)``.

    ``INMB[b, g] = λ_g ΔE_b − ΔC_b`` as one ``(draws x grid)`` matrix per treatment, built over
    blocks of draws that fit in cache (the sums are accumulated; no loop over single draws or
    single λ). ``E_b[INMB] = λ mean(ΔE) − mean(ΔC)`` needs no matrix.

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
    step = max(1, _BLOCK_CELLS // grid.size)
    for start in range(0, n_draws, step):
        rows = slice(start, min(n_draws, start + step))
        best = np.zeros((rows.stop - rows.start, grid.size))
        at_chosen = np.zeros((rows.stop - rows.start, grid.size))
        for t in range(n_t):
            inmb = np.multiply.outer(de[rows, t], grid)
            inmb -= dc[rows, t, None]
            positive[:, t] += np.count_nonzero(inmb > 0, axis=0)
            np.maximum(best, inmb, out=best)
            at_chosen = np.where(chosen == t + 1, inmb, at_chosen)
            # pairwise: loss of the choice between treatment t and control that is best in expectation
            pair_loss[:, t] += np.where(
                expected[:, t] > 0, np.maximum(-inmb, 0.0), np.maximum(inmb, 0.0)
            ).sum(axis=0)
        loss_sum += (best - at_chosen).sum(axis=0)
    pairwise = pair_loss / n_draws
    overall = pairwise[:, 0].copy() if n_t == 1 else loss_sum / n_draws
    return positive / n_draws, pairwise, overall


def ceac_from_draws(delta_cost: object, delta_effect: object, wtp_grid: object) -> np.ndarray:
    """The cost-effectiveness acceptability curve from bootstrap draws of ``(ΔC, ΔE)``.

    ``CEAC(λ) = B⁻¹ Σ_b 1[λ ΔE_b − ΔC_b > 0]`` (van Hout et al. 1994, Health Econ 3:309; Fenwick et
    al. 2001, Health Econ 10:779), for every ``λ`` in ``wtp_grid`` in one matrix operation. Draws of
    shape ``(B,)`` give shape ``(G,)``; ``(B, T)`` (several treatments against one control) give
    ``(G, T)``.
    """
    dc = _as_draw_matrix(delta_cost, "delta_cost")
    de = _as_draw_matrix(delta_effect, "delta_effect")
    if dc.shape != de.shape:
        raise ValueError(f"delta_cost {dc.shape} and delta_effect {de.shape} differ in shape")
    grid = _check_grid(wtp_grid)
    ceac = _net_benefit_summaries(dc, de, grid)[0]
    return ceac[:, 0] if np.ndim(delta_cost) == 1 else ceac


def evpi_from_draws(delta_cost: object, delta_effect: object, wtp: object) -> float | np.ndarray:
    """Expected value of perfect information per participant from joint draws of ``(ΔC, ΔE)``.

    ``EVPI(λ) = E_b[max_k NB_k,b] − max_k E_b[NB_k,b]`` with ``NB_k = λE_k − C_k`` (Claxton 1999,
    J Health Econ 18:341; Briggs, Claxton & Sculpher 2006, ch. 7). Differences against the control
    suffice: ``EVPI = mean_b max(0, max_t INMB_t,b) − max(0, max_t mean_b INMB_t,b)`` with
    ``INMB_t = λΔE_t − ΔC_t``. Draws ``(B,)`` are one treatment; ``(B, T)`` are several treatments
    drawn jointly (the same replicate in each row). A scalar ``wtp`` gives a float; a sequence
    gives one value per willingness to pay.
    """
    dc = _as_draw_matrix(delta_cost, "delta_cost")
    de = _as_draw_matrix(delta_effect, "delta_effect")
    if dc.shape != de.shape:
        raise ValueError(f"delta_cost {dc.shape} and delta_effect {de.shape} differ in shape")
    scalar = np.ndim(wtp) == 0
    grid = _check_grid(wtp)
    overall = _net_benefit_summaries(dc, de, grid)[2]
    return float(overall[0]) if scalar else overall


# ---------------------------------------------------------------------------------------------
# QALYs
# ---------------------------------------------------------------------------------------------


def qaly_auc(
    data: pd.DataFrame,
    utilities: Sequence[str] = ("eq5d_0", "eq5d_18m"),
    times: Sequence[float] = (0, 1.5),
    *,
    missing: str | None = None,
    id: str | None = "participant_id",
    name: str = "qaly",
) -> pd.Series:
    """QALYs as the area under the utility curve, straight lines between measurements (trapezium rule).

    ``QALY_i = Σ_{k=1}^{K-1} (t_k − t_{k−1}) (u_{i,k−1} + u_{i,k}) / 2`` with the times ``t`` in years
    (Richardson & Manca 2004, Health Econ 13:1203; Manca, Hawkins & Sculpher 2005, Health Econ
    14:487). With the defaults (EQ-5D at baseline and 18 months) ``QALY = 0.75 (u_0 + u_18)``.
    Undiscounted. The baseline utility is part of the area, so analyse QALYs with
    ``cost_effectiveness(..., baseline_utility="eq5d_0")`` to remove chance baseline imbalance
    (Manca et al. 2005).

    Parameters
    ----------
    data
        One row per participant.
    utilities
        The utility columns in time order (at least two; index values at most 1, full health).
    times
        Measurement times in years, strictly increasing, one per utility column.
    missing
        ``None``: a missing utility is an error naming the participants; ``"complete-case"``: their
        QALY is NaN (then analyse with ``missing="complete-case"``, which counts them).
    id
        Participant id column, for error messages.
    name
        Name of the returned Series.

    Returns
    -------
    pandas.Series
        QALYs, indexed like ``data``.
    """
    require_frame(data)
    utilities = list(as_labels(utilities))  # type: ignore[arg-type]
    try:
        t = np.asarray(times, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"times must be numbers (years), got {times!r}") from exc
    if len(utilities) < 2 or t.ndim != 1 or t.size != len(utilities):
        raise ValueError(
            f"give at least two utility columns and one time (in years) per column; got utilities="
            f"{utilities!r} and times={list(np.atleast_1d(t))!r}"
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"times must be finite and strictly increasing (years), got {t.tolist()}")
    if missing is not None and missing != "complete-case":
        raise ValueError(f"missing={missing!r}: use None (error) or 'complete-case' (NaN QALYs)")
    absent = [c for c in utilities if c not in data.columns]
    if absent:
        raise TrialDataError(
            [Problem(None, f"utility columns not found: {absent}", "pass the names of existing columns")]
        )
    ids = id_series(data, id)
    problems = []
    values = []
    unreadable = np.zeros(len(data), dtype=bool)
    for column in utilities:
        raw = data[column]
        numeric = pd.to_numeric(raw, errors="coerce").astype(float)
        bad_type = raw.notna().to_numpy() & numeric.isna().to_numpy()
        if bad_type.any():
            shown, count = offending_ids(ids, bad_type)
            problems.append(
                Problem(column, f"{count} non-numeric utilities", "code utilities as numbers", shown, count)
            )
        unreadable |= bad_type
        u = numeric.to_numpy()
        out_of_range = np.isinf(u) | (np.isfinite(u) & (u > 1))
        if out_of_range.any():
            shown, count = offending_ids(ids, out_of_range)
            problems.append(
                Problem(
                    column,
                    f"{count} utilities above 1 or infinite",
                    "utility index values are at most 1 (full health); check the tariff",
                    shown,
                    count,
                )
            )
        values.append(u)
    U = np.column_stack(values)
    gone = np.isnan(U).any(axis=1) & ~unreadable
    if missing is None and gone.any():
        shown, count = offending_ids(ids, gone)
        problems.append(
            Problem(
                ", ".join(utilities),
                f"{count} participants with a missing utility",
                "choose missing='complete-case' (their QALY is NaN; analyse with missing='complete-case') "
                "or impute the utilities first (e.g. ipstrial.missing.multiple_imputation)",
                shown,
                count,
            )
        )
    if problems:
        raise TrialDataError(problems)
    widths = np.diff(t)
    qaly = ((U[:, :-1] + U[:, 1:]) / 2.0) @ widths
    return pd.Series(qaly, index=data.index, name=name)


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CostEffectivenessResult(Result):
    """Cost-effectiveness of each treatment against the control (see :func:`cost_effectiveness`).

    Attributes
    ----------
    estimates
        One row per treatment: ``contrast, treatment, delta_cost, delta_effect``; normal theory
        ``se_cost, se_effect, cov_cost_effect``; bootstrap ``boot_se_*``, ``boot_low_*`` and
        ``boot_high_*`` for ``* = cost, effect, inmb``; ``icer, quadrant, fieller_low,
        fieller_high, fieller_kind, fieller_note``; ``inmb, se_inmb``; ``prob_cost_effective,
        evpi`` (at ``wtp``) and the shares of bootstrap draws in each quadrant (``p_dominant,
        p_dominated, p_north_east, p_south_west``).
    arm_means
        Observed arm means: ``arm, n, cost_mean, cost_sd, effect_mean, effect_sd, excluded``.
    draws
        The cost-effectiveness plane draws, one row per replicate and treatment: ``replicate,
        contrast, delta_cost, delta_effect`` (replicates that could not be refitted are absent).
    ceac
        ``wtp`` and, per contrast, the probability that the treatment is cost-effective (INMB > 0).
    evpi_curve
        ``wtp``, the pairwise EVPI per contrast and, with several treatments, ``all arms``.
    quadrants
        The quadrant of each contrast; :attr:`quadrant` gives it directly for one treatment.
    """

    cost: str
    effect: str
    arm: str
    treatments: tuple[str, ...]
    control: str
    wtp: float
    wtp_grid: np.ndarray
    estimates: pd.DataFrame
    arm_means: pd.DataFrame
    draws: pd.DataFrame
    ceac: pd.DataFrame
    evpi_curve: pd.DataFrame
    quadrants: dict[str, str]
    evpi_all: float
    n_boot: int
    failed_replicates: int
    n_by_arm: dict[str, int]
    method: str
    covariates: tuple[str, ...] = ()
    baseline_utility: str | None = None
    cost_model: str = "mean"
    effect_model: str = "mean"
    alpha: float = 0.05
    seed_entropy: int | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    missing_note: str = ""
    analysis: str = "economics_cost_effectiveness"

    @property
    def title(self) -> str:
        contrasts = ", ".join(contrast_label(t, self.control) for t in self.treatments)
        return f"Cost-effectiveness of {contrasts}: {self.cost} per {self.effect}"

    @property
    def quadrant(self) -> str | dict[str, str]:
        """The quadrant of the point estimate (a dict by contrast when there are several treatments)."""
        if len(self.treatments) == 1:
            return next(iter(self.quadrants.values()))
        return dict(self.quadrants)

    @property
    def adjusted(self) -> bool:
        """Whether cost and effect models with covariates were used."""
        return bool(self.covariates) or self.baseline_utility is not None

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        z = _z(self.alpha)
        note = f"; {self.missing_note}" if self.missing_note else ""
        out: list[Row] = []
        for m in self.arm_means.itertuples(index=False):
            extra = {"excluded": int(m.excluded)} if m.excluded else {}
            for column, mean, sd in (
                (self.cost, m.cost_mean, m.cost_sd),
                (self.effect, m.effect_mean, m.effect_sd),
            ):
                se = sd / math.sqrt(m.n)
                out.append(
                    Row(
                        self.analysis,
                        m.arm,
                        "mean",
                        mean,
                        se=se,
                        ci_low=mean - z * se,
                        ci_high=mean + z * se,
                        method=f"observed arm mean, normal-theory interval{note}",
                        n=m.n,
                        outcome=column,
                        conf_level=conf,
                        extra=extra,
                    )
                )
        both = f"{self.cost}, {self.effect}"
        lam = _money(self.wtp)
        used = self.n_boot - self.failed_replicates
        boot = f"nonparametric bootstrap within arm, cost and effect paired ({used} replicates"
        boot += f", {self.failed_replicates} not refitted" if self.failed_replicates else ""
        boot += "), percentile interval"
        normal = (
            "sandwich (M-estimation) variance of the g-computation contrasts"
            if self.adjusted
            else "normal theory, Var = s²_t/n_t + s²_c/n_c"
        )
        for e in self.estimates.itertuples(index=False):
            t = e.treatment
            n = self.n_by_arm[t] + self.n_by_arm[self.control]
            common: dict[str, Any] = {}
            lost = self.excluded.get(t, 0) + self.excluded.get(self.control, 0)
            if lost:
                common["excluded"] = int(lost)
            inmb_text = f" INMB = λΔE − ΔC at λ = {lam};"
            for estimand, outcome, key, what in (
                ("delta_cost", self.cost, "cost", ""),
                ("delta_effect", self.effect, "effect", ""),
                ("inmb", both, "inmb", inmb_text),
            ):
                est = getattr(e, "delta_" + key if key != "inmb" else "inmb")
                se = getattr(e, f"se_{key}")
                extra = common | ({"wtp": self.wtp} if estimand == "inmb" else {})
                model = self._model_text(estimand)
                out.append(
                    Row(
                        self.analysis,
                        e.contrast,
                        estimand,
                        est,
                        se=se,
                        ci_low=est - z * se,
                        ci_high=est + z * se,
                        p_value=_p_two_sided(est, se),
                        method=f"{model};{what} {normal}, Wald interval and z test{note}",
                        n=n,
                        outcome=outcome,
                        conf_level=conf,
                        extra=extra | {"interval": "normal"},
                    )
                )
                out.append(
                    Row(
                        self.analysis,
                        e.contrast,
                        estimand,
                        est,
                        se=getattr(e, f"boot_se_{key}"),
                        ci_low=getattr(e, f"boot_low_{key}"),
                        ci_high=getattr(e, f"boot_high_{key}"),
                        method=f"{model};{what} {boot}; se = SD of the replicates{note}",
                        n=n,
                        outcome=outcome,
                        conf_level=conf,
                        extra=extra | {"interval": "bootstrap percentile", "n_boot": used},
                    )
                )
            icer_extra = common | {
                "quadrant": e.quadrant,
                "fieller": e.fieller_note,
                "p_dominant": e.p_dominant,
                "p_dominated": e.p_dominated,
                "p_north_east": e.p_north_east,
                "p_south_west": e.p_south_west,
            }
            if e.fieller_kind == "exclusive":
                icer_extra |= {"fieller_low": e.fieller_low, "fieller_high": e.fieller_high}
            bounded = e.fieller_kind == "bounded"
            if e.delta_effect == 0:
                icer_extra["icer_note"] = (
                    "ICER undefined: ΔE = 0 exactly (division by zero; infinite if ΔC ≠ 0); decide on ΔC "
                    "and the net benefit"
                )
            out.append(
                Row(
                    self.analysis,
                    e.contrast,
                    "icer",
                    e.icer,
                    ci_low=e.fieller_low if bounded else math.nan,
                    ci_high=e.fieller_high if bounded else math.nan,
                    method=f"ICER = ΔC/ΔE, quadrant {_QUADRANT_TEXT[e.quadrant]}; Fieller interval "
                    f"(Willan & O'Brien 1996), {normal}: "
                    + ("bounded" if bounded else "no finite interval, ΔE not significant (extra 'fieller')")
                    + note,
                    n=n,
                    outcome=both,
                    conf_level=conf,
                    extra=icer_extra,
                )
            )
            mc = math.sqrt(e.prob_cost_effective * (1 - e.prob_cost_effective) / used)
            out.append(
                Row(
                    self.analysis,
                    e.contrast,
                    "prob_cost_effective",
                    e.prob_cost_effective,
                    method=f"share of the bootstrap replicates with INMB > 0 at λ = {lam} ({used} replicates "
                    f"within arm, cost and effect paired){note}",
                    n=n,
                    outcome=both,
                    conf_level=conf,
                    extra=common | {"wtp": self.wtp, "mc_se": mc, "n_boot": used},
                )
            )
            out.append(
                Row(
                    self.analysis,
                    e.contrast,
                    "evpi",
                    e.evpi,
                    method=f"EVPI per participant at λ = {lam}: E[max(0, INMB)] − max(0, E[INMB]) "
                    f"over the bootstrap replicates{note}",
                    n=n,
                    outcome=both,
                    conf_level=conf,
                    extra=common | {"wtp": self.wtp, "scope": "pairwise", "n_boot": used},
                )
            )
        if len(self.treatments) > 1:
            arms = (*self.treatments, self.control)
            out.append(
                Row(
                    self.analysis,
                    ", ".join(arms),
                    "evpi",
                    self.evpi_all,
                    method=f"EVPI per participant at λ = {lam} over all arms: E[max_k NB_k] − "
                    f"max_k E[NB_k] over the joint bootstrap replicates{note}",
                    n=sum(self.n_by_arm[a] for a in arms),
                    outcome=both,
                    conf_level=conf,
                    extra={"wtp": self.wtp, "scope": "all arms", "n_boot": used},
                )
            )
        return tuple(out)

    def _model_text(self, estimand: str) -> str:
        if not self.adjusted:
            return {
                "delta_cost": "difference of arm means",
                "delta_effect": "difference of arm means",
                "inmb": "from differences of arm means",
            }[estimand]
        covs = ", ".join(self.covariates) or "no covariates"
        cost = f"{'OLS' if self.cost_model == 'ols' else 'gamma GLM (log link)'} cost model (arm + {covs})"
        extra_u = f" + {self.baseline_utility}" if self.baseline_utility else ""
        effect = f"{'OLS' if self.effect_model == 'ols' else 'logistic'} effect model (arm + {covs}{extra_u})"
        text = {"delta_cost": cost, "delta_effect": effect, "inmb": f"{cost} and {effect}"}[estimand]
        return f"g-computation over the {text}"

    def plot(self, ax: Axes | None = None, kind: str = "plane") -> Axes:
        """Draw the cost-effectiveness plane (``kind="plane"``) or the acceptability curve (``"ceac"``).

        The plane shows the bootstrap cloud of ``(ΔE, ΔC)`` per contrast, the point estimates, the
        willingness-to-pay line ``ΔC = λ ΔE`` through the origin (below it INMB > 0) and the quadrant
        labels. The acceptability curve shows ``P(INMB > 0)`` over ``wtp_grid`` with the reference
        ``wtp`` marked.
        """
        import matplotlib.pyplot as plt

        if kind not in ("plane", "ceac"):
            raise ValueError(f"kind={kind!r}: use 'plane' or 'ceac'")
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.8))
        colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2"])
        if kind == "ceac":
            for j, label in enumerate(c for c in self.ceac.columns if c != "wtp"):
                ax.plot(self.ceac.wtp, self.ceac[label], color=colours[j % len(colours)], label=label)
            ax.axvline(self.wtp, color="grey", linestyle=":", linewidth=1, label=f"λ = {_money(self.wtp)}")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(f"willingness to pay per unit of {self.effect}")
            ax.set_ylabel("probability cost-effective")
            ax.set_title("Cost-effectiveness acceptability curve")
            ax.legend(frameon=False)
            return ax
        for j, e in enumerate(self.estimates.itertuples(index=False)):
            colour = colours[j % len(colours)]
            d = self.draws[self.draws.contrast == e.contrast]
            ax.scatter(d.delta_effect, d.delta_cost, s=3, alpha=0.15, color=colour, linewidths=0)
            ax.scatter(
                [e.delta_effect],
                [e.delta_cost],
                s=60,
                color=colour,
                edgecolors="black",
                zorder=3,
                label=f"{e.contrast} ({e.quadrant})",
            )
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(0, color="black", linewidth=0.8)
        x_low, x_high = ax.get_xlim()
        y_low, y_high = ax.get_ylim()
        x_low, x_high, y_low, y_high = min(x_low, 0.0), max(x_high, 0.0), min(y_low, 0.0), max(y_high, 0.0)
        xs = np.array([x_low, x_high])
        ax.plot(xs, self.wtp * xs, color="grey", linestyle="--", linewidth=1, label=f"λ = {_money(self.wtp)}")
        ax.set_xlim(x_low, x_high)
        ax.set_ylim(y_low, y_high)
        style = {"fontsize": 8, "color": "dimgrey"}
        ax.text(0.98, 0.98, "north-east", transform=ax.transAxes, ha="right", va="top", **style)
        ax.text(0.02, 0.98, "dominated", transform=ax.transAxes, ha="left", va="top", **style)
        ax.text(0.98, 0.02, "dominant", transform=ax.transAxes, ha="right", va="bottom", **style)
        ax.text(0.02, 0.02, "south-west", transform=ax.transAxes, ha="left", va="bottom", **style)
        ax.set_xlabel(f"Δ effect ({self.effect})")
        ax.set_ylabel(f"Δ cost ({self.cost})")
        ax.set_title("Cost-effectiveness plane")
        ax.legend(frameon=False, loc="best", fontsize=8)
        return ax


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Data:
    frame: pd.DataFrame
    ids: pd.Series
    arms: np.ndarray
    cost: np.ndarray
    effect: np.ndarray
    compared: tuple[str, ...]
    treatments: tuple[str, ...]
    excluded: dict[str, int]
    note: str


def _prepare_pair(
    data: pd.DataFrame,
    cost: str,
    effect: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    covariates: tuple[str, ...],
    baseline_utility: str | None,
    missing: str | None,
    id: str | None,
) -> _Data:
    """Check cost and effect through :func:`prepare` (all problems at once) and keep the rows with both."""
    if isinstance(data, pd.DataFrame) and not data.index.is_unique:
        data = data.reset_index(drop=True)
    problems: list[Problem] = []
    prepared: dict[str, Prepared] = {}
    effect_covariates = covariates + ((baseline_utility,) if baseline_utility else ())
    for role, column, covs in (("cost", cost, covariates), ("effect", effect, effect_covariates)):
        try:
            prepared[role] = prepare(
                data, column, arm, treatment, control, covs, kind="continuous", missing=missing, id=id
            )
        except TrialDataError as exc:
            problems.extend(p for p in exc.problems if str(p) not in {str(q) for q in problems})
    labels = (*as_labels(treatment), control)
    if isinstance(data, pd.DataFrame) and cost in data.columns and arm in data.columns:
        values = pd.to_numeric(data[cost], errors="coerce").to_numpy(dtype=float)
        negative = data[arm].isin(labels).to_numpy() & (values < 0)
        if negative.any():
            shown, count = offending_ids(id_series(data, id), negative)
            problems.append(
                Problem(
                    cost,
                    f"{count} negative costs",
                    "costs (resource use x unit prices) cannot be negative; correct them, and record "
                    "savings or refunds as a separate column",
                    shown,
                    count,
                )
            )
    if baseline_utility and isinstance(data, pd.DataFrame) and baseline_utility in data.columns:
        column = data[baseline_utility]
        if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
            problems.append(
                Problem(
                    baseline_utility, "baseline utility is not numeric", "code the utility index as numbers"
                )
            )
    if problems:
        raise TrialDataError(problems)
    pc, pe = prepared["cost"], prepared["effect"]
    keep = pc.frame.index.isin(pe.frame.index)
    rows = pc.frame.index[keep]
    effect_values = pe.y[pe.frame.index.get_indexer(rows)]
    arms = pc.arms[keep]
    compared = pc.compared
    total = data[arm].value_counts()
    excluded = {a: int(total.get(a, 0)) - int(np.sum(arms == a)) for a in compared}
    thin = [a for a in compared if np.sum(arms == a) < 2]
    if thin:
        raise TrialDataError(
            [
                Problem(
                    None,
                    f"arm(s) {thin} have fewer than two participants with both {cost!r} and {effect!r}",
                    "a comparison needs at least two participants with known cost and effect in every arm",
                )
            ]
        )
    note = ""
    if any(excluded.values()):
        parts = ", ".join(f"{a} {k}" for a, k in excluded.items())
        note = (
            f"complete case: {sum(excluded.values())} participants with missing {cost} or {effect} "
            f"excluded ({parts})"
        )
    return _Data(
        data.loc[rows],
        pc.ids.loc[rows],
        arms,
        pc.y[keep],
        effect_values,
        compared,
        pc.treatments,
        excluded,
        note,
    )


# ---------------------------------------------------------------------------------------------
# adjusted models
# ---------------------------------------------------------------------------------------------


def _replicate_means(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``counts @ values / n`` (replicate means of each column), over blocks of replicates in cache."""
    out = np.empty((counts.shape[0], values.shape[1]))
    step = max(1, _BLOCK_CELLS // counts.shape[1])
    for start in range(0, counts.shape[0], step):
        rows = slice(start, start + step)
        out[rows] = counts[rows].astype(float) @ values
    return out / counts.shape[1]


def _link(model: str) -> tuple[Any, Any]:
    """Inverse link ``g`` and its derivative ``g'`` on the linear predictor."""
    if model == "ols":
        return (lambda eta: eta), (lambda eta: np.ones_like(eta))
    if model == "gamma":
        return np.exp, np.exp
    from scipy.special import expit

    return expit, (lambda eta: expit(eta) * (1.0 - expit(eta)))


def _derivatives(model: str, y: np.ndarray) -> Any:
    """``η -> (ℓ'(η), -ℓ''(η))`` of a GLM log-likelihood per participant (for :func:`_newton_batch`).

    Logistic: ``ℓ' = y − μ``, ``−ℓ'' = μ(1 − μ)``. Gamma with log link, per unit dispersion
    ``ℓ = −y e^{−η} − η`` (McCullagh & Nelder 1989, sec. 8.3): ``ℓ' = y/μ − 1``, ``−ℓ'' = y/μ > 0``.
    """
    if model == "gamma":

        def gamma(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ratio = y * np.exp(-eta)
            return ratio - 1.0, ratio

        return gamma
    from scipy.special import expit

    def logistic(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prob = expit(eta)
        return y - prob, prob * (1.0 - prob)

    return logistic


def _fit_point(X: np.ndarray, y: np.ndarray, model: str, what: str) -> np.ndarray:
    """Point estimate of a cost or effect model.

    OLS by least squares. A GLM is started by statsmodels' IRLS (Gamma with log link, or binomial)
    and polished by Newton's method to a step below 1e-10 (statsmodels' own deviance criterion can
    stall at rounding level).
    """
    if model == "ols":
        return np.linalg.lstsq(X, y, rcond=None)[0]
    import warnings

    import statsmodels.api as sm

    family = sm.families.Gamma(sm.families.links.Log()) if model == "gamma" else sm.families.Binomial()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            start = np.asarray(sm.GLM(y, X, family=family).fit(tol=1e-8, maxiter=100).params, dtype=float)
        except Exception:  # statsmodels reports failures in several ways; Newton below decides
            start = np.zeros(X.shape[1])
    if not np.all(np.isfinite(start)):
        start = np.zeros(X.shape[1])
    beta, ok = _newton_batch(X, np.ones((1, len(y))), start, _derivatives(model, y), maxiter=100)
    if not ok[0]:
        raise EstimationError(
            f"the {what} did not converge (with a logistic model usually separation: a covariate level "
            "or arm in which every participant has the same effect); merge rare covariate levels, drop "
            "covariates or use the unadjusted analysis (covariates=None)"
        )
    return beta[0]


def _influence(
    X: np.ndarray, y: np.ndarray, beta: np.ndarray, model: str, arm_cols: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """g-computation contrasts ``Δ_t`` and their influence values ``ψ`` (``n x T``), see module docstring."""
    n = len(y)
    g, gprime = _link(model)
    eta = X @ beta
    mu = g(eta)
    if model == "ols":
        r, h = y - eta, np.ones(n)
    elif model == "gamma":
        r, h = y / mu - 1.0, np.ones(n)
    else:
        r, h = y - mu, mu * (1.0 - mu)
    A = (X * h[:, None]).T @ X / n
    A_inv_U = np.linalg.solve(A, (X * r[:, None]).T).T
    Xc = X.copy()
    Xc[:, arm_cols] = 0.0
    eta_c = Xc @ beta
    m_c = g(eta_c)
    D_c = (gprime(eta_c)[:, None] * Xc).mean(axis=0)
    deltas = np.empty(len(arm_cols))
    psi = np.empty((n, len(arm_cols)))
    for j, col in enumerate(arm_cols):
        Xt = Xc.copy()
        Xt[:, col] = 1.0
        eta_t = eta_c + beta[col]
        m_t = g(eta_t)
        D_t = (gprime(eta_t)[:, None] * Xt).mean(axis=0)
        deltas[j] = np.mean(m_t - m_c)
        psi[:, j] = (m_t - m_c - deltas[j]) + A_inv_U @ (D_t - D_c)
    return deltas, psi


def _boot_fits(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, model: str, start: np.ndarray, arm_cols: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Refit one model for every weight row; g-computation contrasts ``(B, T)`` and a success flag."""
    n, p = X.shape
    if model == "ols":
        Q = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
        ok = _full_rank(W, Q, p)
        beta, solved = _solve_batch((W @ Q).reshape(-1, p, p), (W * y) @ X)
        ok &= solved & np.all(np.isfinite(beta), axis=1)
        return beta[:, arm_cols], ok
    beta, ok = _newton_batch(X, W, start, _derivatives(model, y))
    g, _ = _link(model)
    keep = [j for j in range(p) if j not in arm_cols]
    base = beta[:, keep] @ X[:, keep].T
    total = W.sum(axis=1)
    m_c = np.sum(W * g(base), axis=1) / total
    out = np.empty((W.shape[0], len(arm_cols)))
    for j, col in enumerate(arm_cols):
        out[:, j] = np.sum(W * g(base + beta[:, [col]]), axis=1) / total - m_c
    return out, ok & np.all(np.isfinite(out), axis=1)


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------


def cost_effectiveness(
    data: pd.DataFrame,
    cost: str,
    effect: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    *,
    wtp: float,
    n_boot: int = 5000,
    seed: SeedLike = None,
    wtp_grid: Sequence[float] | np.ndarray | None = None,
    covariates: Sequence[str] | None = None,
    cost_model: str = "ols",
    effect_model: str = "auto",
    baseline_utility: str | None = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> CostEffectivenessResult:
    """Incremental cost, effect, ICER, net benefit, acceptability curve and EVPI of each treatment.

    Point estimates: ``ΔC`` and ``ΔE`` (arm-mean differences, or g-computation contrasts of a cost and
    an effect model with ``covariates``/``baseline_utility``), ``ICER = ΔC/ΔE`` with its quadrant and
    Fieller's interval (Willan & O'Brien 1996, Health Econ 5:297), ``INMB = λΔE − ΔC`` (Stinnett &
    Mullahy 1998), the probability of cost-effectiveness ``P(INMB > 0)`` and the EVPI per participant
    ``E[max_k NB_k] − max_k E[NB_k]`` (Claxton 1999) at ``λ = wtp``; the formulas, the bootstrap and
    the models are in the module docstring.

    Parameters
    ----------
    data
        One row per participant.
    cost, effect
        Columns: cost per participant (finite, >= 0) and effect (0/1 outcome, hours, QALYs, ...).
    arm, treatment, control
        The arm column, the treatment arm (or a list, each compared with ``control``) and the control.
    wtp
        Reference willingness to pay, a positive number in cost units per unit of effect (for a 0/1
        effect: per additional person with the outcome; for QALYs: per QALY).
    n_boot, seed
        Bootstrap replicates and seed (int, SeedSequence or Generator; the same seed gives the same
        bits). Counts: ``bootstrap_counts([n_t..., n_c], n_boot, seed)``, arms in the order
        treatments then control, participants in data order.
    wtp_grid
        Willingness-to-pay values for the acceptability and EVPI curves (>= 0). Default: 201 equally
        spaced values from 0 to ``2 * wtp`` (the reference value is the middle point).
    covariates
        Baseline covariates of the cost and effect models (None: unadjusted arm means).
    cost_model
        ``"ols"`` or ``"gamma"`` (GLM, log link; needs every cost > 0). Used with covariates only.
    effect_model
        ``"auto"`` (logistic for a 0/1 effect, else OLS), ``"ols"`` or ``"logistic"``.
    baseline_utility
        Baseline utility column (e.g. ``"eq5d_0"``) added to the effect model only (QALYs; Manca et al.
        2005). Implies the adjusted analysis.
    alpha
        1 − confidence level.
    missing
        ``None`` (a missing cost or effect is an error naming the participants) or
        ``"complete-case"`` (participants missing either are excluded and counted per arm).
    id
        Participant id column, used in error messages.

    Returns
    -------
    CostEffectivenessResult
        Rows per arm (``mean`` of cost and effect) and per contrast: ``delta_cost``,
        ``delta_effect`` and ``inmb`` twice (``extra["interval"]``: ``"normal"`` and ``"bootstrap
        percentile"``), ``icer`` (Fieller interval; ``extra``: ``quadrant``, ``fieller``, shares of
        the draws per quadrant), ``prob_cost_effective`` and ``evpi``; with several treatments also
        ``evpi`` over all arms. Attributes ``quadrant``, ``draws``, ``ceac``, ``evpi_curve``.

    Raises
    ------
    TrialDataError
        Missing columns or arms; missing costs or effects without a policy; negative or non-numeric
        costs; missing covariates.
    EstimationError
        An effect with no variation at all (the ICER and every ratio are undefined: a cost-minimisation
        question, analyse the cost alone); a model that cannot be fitted; more than 5 % of the
        bootstrap refits failing.
    ValueError
        A willingness to pay that is not a positive number; bad ``alpha``, ``n_boot``, models.
    """
    wtp = _check_wtp(wtp)
    grid = np.linspace(0.0, 2.0 * wtp, GRID_POINTS) if wtp_grid is None else _check_grid(wtp_grid)
    alpha = _check_alpha(alpha)
    n_boot = _check_n_boot(n_boot)
    if cost_model not in COST_MODELS:
        raise ValueError(f"cost_model={cost_model!r}: use one of {COST_MODELS}")
    if effect_model not in EFFECT_MODELS:
        raise ValueError(f"effect_model={effect_model!r}: use one of {EFFECT_MODELS}")
    covariates = tuple(as_labels(covariates)) if covariates else ()
    if baseline_utility is not None and baseline_utility in covariates:
        raise ValueError(
            f"{baseline_utility!r} is both in covariates and baseline_utility; name it once "
            "(baseline_utility adds it to the effect model only)"
        )
    d = _prepare_pair(data, cost, effect, arm, treatment, control, covariates, baseline_utility, missing, id)
    values = np.unique(d.effect)
    if values.size < 2:
        raise EstimationError(
            f"every analysed participant has {effect} = {values[0]:g}: with no variation in the effect "
            "ΔE is 0 in every resample, so the ICER, its interval and the acceptability curve are "
            "undefined. This is a cost-minimisation question: analyse the cost alone (e.g. "
            "ipstrial.itt.compare_means on "
            f"{cost!r})"
        )
    adjusted = bool(covariates) or baseline_utility is not None
    binary = bool(np.all(np.isin(d.effect, (0.0, 1.0))))
    if effect_model == "logistic" and not binary:
        shown, count = offending_ids(d.ids, ~np.isin(d.effect, (0.0, 1.0)))
        raise TrialDataError(
            [
                Problem(
                    effect,
                    f"{count} values other than 0/1",
                    "use effect_model='ols' or code 0/1",
                    shown,
                    count,
                )
            ]
        )
    resolved_effect = ("logistic" if binary else "ols") if effect_model == "auto" else effect_model
    if adjusted and cost_model == "gamma" and np.any(d.cost <= 0):
        shown, count = offending_ids(d.ids, d.cost <= 0)
        raise EstimationError(
            f"the gamma cost model needs positive costs; {count} participants have {cost} = 0 "
            f"(participant ids {', '.join(shown)}). Use cost_model='ols', or a two-part model for the zeros"
        )

    treatments, compared = d.treatments, d.compared
    codes = pd.Index(compared).get_indexer(d.arms)
    sizes = [int(np.sum(codes == g)) for g in range(len(compared))]
    seed_used, entropy = _seed_and_entropy(seed)
    counts = bootstrap_counts(sizes, n_boot, seed_used)
    n_t = len(treatments)
    c_idx = len(compared) - 1

    # observed arm means (descriptive, and the unadjusted estimates)
    members = [codes == g for g in range(len(compared))]
    arm_rows = []
    for g, a in enumerate(compared):
        cg, eg = d.cost[members[g]], d.effect[members[g]]
        arm_rows.append(
            {
                "arm": a,
                "n": sizes[g],
                "cost_mean": float(cg.mean()),
                "cost_sd": float(np.std(cg, ddof=1)),
                "effect_mean": float(eg.mean()),
                "effect_sd": float(np.std(eg, ddof=1)),
                "excluded": int(d.excluded.get(a, 0)),
            }
        )
    arm_means = pd.DataFrame(arm_rows)

    failed = 0
    if not adjusted:
        pairs = [np.column_stack([d.cost[m], d.effect[m]]) for m in members]
        boot_means = [_replicate_means(counts[g], pairs[g]) for g in range(len(compared))]
        dc = np.column_stack([boot_means[t][:, 0] - boot_means[c_idx][:, 0] for t in range(n_t)])
        de = np.column_stack([boot_means[t][:, 1] - boot_means[c_idx][:, 1] for t in range(n_t)])
        replicate = np.arange(n_boot)
        point_c = np.array([pairs[t][:, 0].mean() - pairs[c_idx][:, 0].mean() for t in range(n_t)])
        point_e = np.array([pairs[t][:, 1].mean() - pairs[c_idx][:, 1].mean() for t in range(n_t)])
        var_c, var_e, cov_ce = (np.empty(n_t) for _ in range(3))
        for t in range(n_t):
            parts = [np.cov(pairs[g], rowvar=False, ddof=1) / sizes[g] for g in (t, c_idx)]
            total = parts[0] + parts[1]
            var_c[t], var_e[t], cov_ce[t] = total[0, 0], total[1, 1], total[0, 1]
        method = "unadjusted"
    else:
        frame, ids = d.frame, d.ids
        n = len(d.cost)
        arm_cols = list(range(1, 1 + n_t))
        indicators = np.column_stack([(d.arms == t).astype(float) for t in treatments])
        dm_cost = design_matrix(frame, covariates, ids)
        dm_effect = design_matrix(
            frame, (*covariates, baseline_utility) if baseline_utility else covariates, ids
        )
        X_cost = np.column_stack([np.ones(n), indicators, dm_cost.to_numpy(dtype=float)])
        X_eff = np.column_stack([np.ones(n), indicators, dm_effect.to_numpy(dtype=float)])
        base_names = ["(Intercept)", *(f"{arm}:{t}" for t in treatments)]
        _check_rank(X_cost, [*base_names, *map(str, dm_cost.columns)], "the cost model")
        _check_rank(X_eff, [*base_names, *map(str, dm_effect.columns)], "the effect model")
        beta_c = _fit_point(X_cost, d.cost, cost_model, f"{cost_model} cost model")
        beta_e = _fit_point(X_eff, d.effect, resolved_effect, f"{resolved_effect} effect model")
        point_c, psi_c = _influence(X_cost, d.cost, beta_c, cost_model, arm_cols)
        point_e, psi_e = _influence(X_eff, d.effect, beta_e, resolved_effect, arm_cols)
        var_c = np.sum(psi_c**2, axis=0) / n**2
        var_e = np.sum(psi_e**2, axis=0) / n**2
        cov_ce = np.sum(psi_c * psi_e, axis=0) / n**2
        W = counts_in_data_order(counts, codes).astype(float)
        dc = np.empty((n_boot, n_t))
        de = np.empty((n_boot, n_t))
        ok = np.zeros(n_boot, dtype=bool)
        step = max(1, 1_000_000 // n)
        for start in range(0, n_boot, step):
            part = slice(start, min(n_boot, start + step))
            dc[part], ok_c = _boot_fits(X_cost, d.cost, W[part], cost_model, beta_c, arm_cols)
            de[part], ok_e = _boot_fits(X_eff, d.effect, W[part], resolved_effect, beta_e, arm_cols)
            ok[part] = ok_c & ok_e
        failed = int(n_boot - ok.sum())
        if failed > 0.05 * n_boot or ok.sum() < 2:
            raise EstimationError(
                f"{failed} of {n_boot} bootstrap replicates could not refit the cost and effect models (a "
                "covariate level missing from the resample, or separation of the logistic effect model); "
                "merge rare covariate levels or drop covariates"
            )
        replicate = np.flatnonzero(ok)
        dc, de = dc[ok], de[ok]
        method = "adjusted"

    ceac, pairwise, overall = _net_benefit_summaries(dc, de, grid)
    at_wtp = _net_benefit_summaries(dc, de, np.array([wtp]))
    contrasts = [contrast_label(t, control) for t in treatments]
    z_codes = _quadrant_codes(dc, de)
    stacked = np.stack([dc, de, wtp * de - dc], axis=1).reshape(len(dc), -1)  # (B, 3 x T)
    low, high = (v.reshape(3, n_t) for v in percentile_interval(stacked, alpha))
    records = []
    quadrants: dict[str, str] = {}
    for t, label in enumerate(contrasts):
        q = quadrant(point_c[t], point_e[t])
        quadrants[label] = q
        fieller = fieller_interval(point_c[t], point_e[t], var_c[t], var_e[t], cov_ce[t], alpha)
        inmb = wtp * point_e[t] - point_c[t]
        var_inmb = wtp**2 * var_e[t] + var_c[t] - 2 * wtp * cov_ce[t]
        shares = np.bincount(z_codes[:, t], minlength=len(QUADRANTS)) / len(dc)
        records.append(
            {
                "contrast": label,
                "treatment": treatments[t],
                "delta_cost": float(point_c[t]),
                "delta_effect": float(point_e[t]),
                "se_cost": float(math.sqrt(var_c[t])),
                "se_effect": float(math.sqrt(var_e[t])),
                "cov_cost_effect": float(cov_ce[t]),
                "boot_se_cost": float(np.std(dc[:, t], ddof=1)),
                "boot_low_cost": float(low[0, t]),
                "boot_high_cost": float(high[0, t]),
                "boot_se_effect": float(np.std(de[:, t], ddof=1)),
                "boot_low_effect": float(low[1, t]),
                "boot_high_effect": float(high[1, t]),
                "icer": float(point_c[t] / point_e[t]) if point_e[t] != 0 else math.nan,
                "quadrant": q,
                "fieller_low": fieller.low,
                "fieller_high": fieller.high,
                "fieller_kind": fieller.kind,
                "fieller_note": fieller.note,
                "inmb": float(inmb),
                "se_inmb": float(math.sqrt(max(var_inmb, 0.0))),
                "boot_se_inmb": float(np.std(wtp * de[:, t] - dc[:, t], ddof=1)),
                "boot_low_inmb": float(low[2, t]),
                "boot_high_inmb": float(high[2, t]),
                "prob_cost_effective": float(at_wtp[0][0, t]),
                "evpi": float(at_wtp[1][0, t]),
                "p_dominant": float(shares[0]),
                "p_dominated": float(shares[1]),
                "p_north_east": float(shares[2]),
                "p_south_west": float(shares[3]),
            }
        )
    draws = pd.DataFrame(
        {
            "replicate": np.tile(replicate, n_t),
            "contrast": np.repeat(contrasts, len(dc)),
            "delta_cost": dc.T.ravel(),
            "delta_effect": de.T.ravel(),
        }
    )
    ceac_frame = pd.DataFrame({"wtp": grid, **{label: ceac[:, t] for t, label in enumerate(contrasts)}})
    evpi_frame = pd.DataFrame({"wtp": grid, **{label: pairwise[:, t] for t, label in enumerate(contrasts)}})
    if n_t > 1:
        evpi_frame["all arms"] = overall
    n_by_arm = dict(zip(compared, sizes, strict=True))
    return CostEffectivenessResult(
        cost=cost,
        effect=effect,
        arm=arm,
        treatments=treatments,
        control=control,
        wtp=wtp,
        wtp_grid=grid,
        estimates=pd.DataFrame.from_records(records),
        arm_means=arm_means,
        draws=draws,
        ceac=ceac_frame,
        evpi_curve=evpi_frame,
        quadrants=quadrants,
        evpi_all=float(at_wtp[2][0]),
        n_boot=n_boot,
        failed_replicates=failed,
        n_by_arm=n_by_arm,
        method=method,
        covariates=covariates,
        baseline_utility=baseline_utility,
        cost_model=cost_model if adjusted else "mean",
        effect_model=resolved_effect if adjusted else "mean",
        alpha=alpha,
        seed_entropy=entropy,
        excluded=dict(d.excluded),
        missing_note=d.note,
    )
