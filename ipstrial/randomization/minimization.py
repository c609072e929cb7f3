"""Minimization (Pocock & Simon 1975) with a random element, in the order of arrival.

Scheme (Pocock & Simon, Biometrics 1975;31:103-115, sections 2-3; Taves, Clin Pharmacol Ther
1974;15:443-453): arms ``1..k`` with allocation ratio ``r_1:...:r_k``, prognostic factors
``f = 1..F`` with weights ``w_f``. Participants arrive one at a time (the row order of ``factors``).
Let ``x_{f,l,a}`` be the number of earlier participants with level ``l`` of factor ``f`` allocated to
arm ``a``. For a new participant with levels ``l_1..l_F`` and each candidate arm ``c``:

* the counts the allocation to ``c`` would create, ``x'_{f,a} = x_{f,l_f,a} + [a = c]``, are
  ratio-weighted, ``y_{f,a} = x'_{f,a} / r_a`` (Pocock & Simon sec. 3 for unequal allocation);
* the imbalance of factor ``f`` is ``d_f(c) = max_a y_{f,a} - min_a y_{f,a}`` (``imbalance="range"``)
  or the variance ``d_f(c) = (1/k) sum_a (y_{f,a} - mean_a y_{f,a})^2`` (``imbalance="variance"``);
* the total imbalance is ``G(c) = sum_f w_f d_f(c)`` (their eq. for G_k with weights).

The preferred arm is the one with the smallest ``G``; ties are broken uniformly at random. The
participant is allocated to the preferred arm with probability ``p`` and to each of the other
``k - 1`` arms with probability ``(1 - p)/(k - 1)`` (Pocock & Simon sec. 3, their ``p_1 = p``,
``p_2 = ... = p_k = (1 - p)/(k - 1)``), so ``p = 1`` is deterministic minimization and ``p`` must exceed
``1/k`` (``p = 1/k`` is simple randomization). The first participant, for whom every arm is
equivalent, is randomised simply with probabilities ``r_a / sum(r)``.

The scores are computed exactly in integers: counts are scaled by ``L / r_a`` with ``L`` the least
common multiple of the ratio (so ``y`` becomes an integer), and the variance by ``k sum_a y_a^2 -
(sum_a y_a)^2`` (``k^2`` times the variance). Both scalings multiply every ``d_f`` by the same constant,
so the preferred arm is unchanged; ties (within ``1e-9`` relative, for non-integer weights) are
therefore detected exactly.

Caveat for unequal ratios: with ratio-weighted counts the allocation tends to the ratio, but the
unconditional probability of each arm at a given step is not exactly ``r_a / sum(r)``
(Kuznetsova & Tymofyeyev, Stat Med 2011;30:812-823).

One implementation
------------------
:func:`_minimize_batch` advances ``n_rep`` independent allocation sequences participant by
participant, each step a handful of numpy operations on arrays of shape ``(n_rep, ...)``. A single
list (:func:`minimization`) is ``n_rep = 1``; the re-randomization test
(:func:`ipstrial.randomization.rerandomization.rerandomization_test`) replays the scheme with
``n_rep`` = thousands through the same function, so there is no second copy of the algorithm.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import DesignError, Participants, Problem, TrialDataError
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import (
    _allocation_frame,
    _check_arms_ratio,
    _missing_factor_problems,
    stratum_labels,
)

__all__ = ["minimization"]

IMBALANCE = ("range", "variance")


@dataclass(frozen=True, eq=False)
class MinimizationDesign:
    """Checked parameters of a minimization scheme (also used to replay it)."""

    arms: tuple[str, ...]
    ratio: np.ndarray
    factors: tuple[str, ...]
    weights: np.ndarray
    p: float
    imbalance: str

    def parameters(self, levels: Mapping[str, Sequence[str]], n: int) -> dict:
        """The ``AllocationList.parameters`` of a list made with this design."""
        return {
            "arms": list(self.arms),
            "factors": list(self.factors),
            "levels": {f: list(levels[f]) for f in self.factors},
            "weights": [float(w) for w in self.weights],
            "p": float(self.p),
            "imbalance": self.imbalance,
            "ratio": self.ratio.tolist(),
            "n": int(n),
        }


def check_minimization(
    factors: Sequence[str],
    arms: Sequence[str],
    weights: Sequence[float] | Mapping[str, float] | None,
    p: float,
    imbalance: str,
    ratio: Sequence[int] | None,
) -> MinimizationDesign:
    """Validate the parameters of a minimization design (DesignError on any problem)."""
    r = _check_arms_ratio(arms, ratio)
    factors = tuple(map(str, factors))
    if not factors:
        raise DesignError("minimization needs at least one factor column")
    if len(set(factors)) != len(factors):
        raise DesignError(f"factor columns listed twice: {factors}")
    k = len(r)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not math.isfinite(float(p)):
        raise DesignError(f"p must be a number in (1/k, 1]; got {p!r}")
    if not 1.0 / k < float(p) <= 1.0:
        raise DesignError(
            f"p = {p} is outside (1/k, 1] = ({1 / k:.4g}, 1] for k = {k} arms: p is the probability of the "
            f"preferred arm; p = 1/k would be simple randomization and p = 1 is deterministic "
            "minimization (Pocock & Simon 1975 suggest e.g. p = 0.8)"
        )
    if imbalance not in IMBALANCE:
        raise DesignError(f"imbalance={imbalance!r} is not one of {IMBALANCE}")
    if weights is None:
        w = np.ones(len(factors))
    elif isinstance(weights, Mapping):
        unknown = sorted(set(map(str, weights)) - set(factors))
        if unknown:
            raise DesignError(
                f"weights name factors {unknown} that are not among the factors {list(factors)}"
            )
        w = _weights_array([weights.get(f, 1.0) for f in factors])
    else:
        w = _weights_array(weights)
        if w.shape != (len(factors),):
            raise DesignError(
                f"weights has {plural(w.size, 'entry', 'entries')} but there are "
                f"{plural(len(factors), 'factor')} {list(factors)}; "
                "give one weight per factor or a dict {factor: weight}"
            )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise DesignError(f"weights {w.tolist()} must be finite, non-negative and not all zero")
    return MinimizationDesign(tuple(arms), r, factors, w, float(p), imbalance)


def _weights_array(weights: object) -> np.ndarray:
    """The weights as floats; anything that is not a sequence of numbers is a DesignError."""
    try:
        values = list(weights)  # type: ignore[call-overload]
        if any(isinstance(v, str | bool) for v in values):
            raise TypeError
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DesignError(
            f"weights {weights!r} must be numbers, one per factor (or a dict {{factor: w}})"
        ) from None


def factor_levels(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The levels of every factor column as sorted strings (levels are matched as strings)."""
    return {str(c): sorted(frame[c].astype(str).unique().tolist()) for c in frame.columns}


def level_codes(
    frame: pd.DataFrame, levels: Mapping[str, Sequence[str]], who: Participants | None = None
) -> tuple[np.ndarray, int]:
    """Global level codes ``(n, F)`` (each factor's levels numbered after the previous factor's) and
    the number of levels in all; a level not in ``levels`` is a TrialDataError naming the participants
    (``who``: the participants of the rows of ``frame``; default the row labels of ``frame``)."""
    if who is None:
        who = Participants(np.asarray(frame.index.astype(str), dtype=object), "row label")
    codes = np.empty((len(frame), frame.shape[1]), dtype=np.int64)
    offset = 0
    problems = []
    for j, column in enumerate(frame.columns):
        known = list(levels[str(column)])
        values = frame[column].astype(str)
        index = pd.Index(known).get_indexer(values)
        unseen = index < 0
        if unseen.any():
            new = sorted(values[unseen].unique().tolist())
            problems.append(
                Problem(
                    str(column),
                    f"level{'s' if len(new) > 1 else ''} {new} not in the design's levels {known}",
                    "the design was built on other levels of this factor: use the design made for these "
                    "data, or recode the level to one of the design's levels",
                    **who.offending(unseen),
                )
            )
        codes[:, j] = index + offset
        offset += len(known)
    if problems:
        raise TrialDataError(problems)
    return codes, offset


def _minimize_batch(
    codes: np.ndarray, n_levels: int, design: MinimizationDesign, rng: np.random.Generator, n_rep: int = 1
) -> np.ndarray:
    """``n_rep`` minimization sequences, advanced participant by participant: arm indices ``(n_rep, n)``
    (int8). The one implementation of the scheme (module docstring).

    ``codes`` holds the participants' global level codes (:func:`level_codes`) in order of arrival:
    shape ``(n, F)`` when every sequence allocates the same participants (a list, a re-randomization
    replay), or ``(n_rep, n, F)`` when each sequence has its own participants (simulation of a scheme).
    Each step works on arrays of shape ``(F, n_rep)`` per arm (loops run over the few arms only).

    Draws: one ``random`` call of shape ``(k + 1, n_rep)`` per participant; rows ``0..k-1`` are the
    keys that break ties among preferred arms (the tied arm with the largest key is preferred),
    row ``k`` the uniform ``u`` that allocates: the preferred arm if ``u < p``, else the
    ``floor((u - p)/(1 - p) (k - 1))``-th of the other arms in arm order. The first participant gets
    arm ``a`` when ``u`` falls in the ``a``-th interval of the cumulative ratio ``r / sum(r)``.
    """
    shared = codes.ndim == 2
    n = codes.shape[-2]
    ratio = design.ratio
    k = len(ratio)
    scale = (np.lcm.reduce(ratio) // ratio).astype(np.int64)  # y = x * scale is an integer
    counts = np.zeros((n_levels, k, n_rep), dtype=np.int64)  # scaled counts y per level, arm, sequence
    flat = counts.reshape(-1)
    reps = np.arange(n_rep)
    out = np.empty((n_rep, n), dtype=np.int8)
    for j in range(n):
        u = rng.random((k + 1, n_rep))
        if shared:
            level = codes[j]
            y = counts[level]  # (F, k, n_rep)
            cols = [y[:, a] for a in range(k)]
        else:
            where = codes[:, j, :].T * (k * n_rep) + reps  # (F, n_rep): flat place of arm 0
            cols = [flat[where + a * n_rep] for a in range(k)]
        arm = _minimize_step(cols, u, j == 0, design, scale)
        out[:, j] = arm
        if shared:
            flat[(level[:, None] * k + arm) * n_rep + reps] += scale[arm]
        else:
            flat[where + arm * n_rep] += scale[arm]
    return out


def _minimize_step(
    cols: list[np.ndarray],
    u: np.ndarray,
    first: bool,
    design: MinimizationDesign,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """One allocation of ``n_rep`` minimization sequences: the arm index ``(n_rep,)`` of each.

    ``cols[a]`` holds, for arm ``a``, the scaled counts ``y = x * L / r_a`` (``L`` the least common
    multiple of the ratio) at the new participant's level of each factor, shape ``(F, n_rep)``; ``u`` the
    ``(k + 1, n_rep)`` uniforms of the step (rows ``0..k-1`` break ties, row ``k`` allocates;
    :func:`_minimize_batch`); ``first`` whether the participant is the trial's first (randomised simply
    with the ratio). ``scale`` is ``L / r`` (computed when not given). The one rule of the scheme: the
    batch kernel and the allocation ledger
    (:mod:`ipstrial.ledger._schemes`) call it.
    """
    ratio = design.ratio
    k = len(ratio)
    if first:
        return np.minimum(np.searchsorted(np.cumsum(ratio) / ratio.sum(), u[k], side="right"), k - 1)
    if scale is None:
        scale = (np.lcm.reduce(ratio) // ratio).astype(np.int64)
    weights = design.weights
    g = np.empty((k, u.shape[1]))
    if design.imbalance == "variance":
        total = np.add.reduce(cols)
        square = np.add.reduce([c * c for c in cols])
        for c in range(k):  # k sum y'^2 - (sum y')^2 with y'_c = y_c + s_c
            s_c = scale[c]
            d = k * (square + 2 * s_c * cols[c] + s_c * s_c) - (total + s_c) ** 2
            g[c] = weights @ d
    else:
        high = np.maximum.reduce(cols)
        for c in range(k):  # range after adding s_c to arm c
            up = cols[c] + scale[c]
            low = np.minimum.reduce([cols[a] for a in range(k) if a != c] + [up])
            g[c] = weights @ (np.maximum(high, up) - low)
    best = g.min(axis=0)
    tied = g <= best + 1e-9 * (1.0 + np.abs(best))
    preferred = np.argmax(np.where(tied, u[:k], -1.0), axis=0)
    p = design.p
    if p >= 1.0:
        return preferred
    other = np.clip(((u[k] - p) / (1.0 - p) * (k - 1)).astype(np.int64), 0, k - 2)
    other += other >= preferred
    return np.where(u[k] < p, preferred, other)


def minimization(
    factors: pd.DataFrame,
    arms: Sequence[str],
    *,
    weights: Sequence[float] | Mapping[str, float] | None = None,
    p: float = 0.8,
    imbalance: str = "range",
    ratio: Sequence[int] | None = None,
    seed: SeedLike = None,
) -> AllocationList:
    """Pocock-Simon minimization of the participants in ``factors``, in row order (order of arrival).

    For each participant the total imbalance ``G(c) = sum_f w_f d_f(c)`` that allocating them to arm
    ``c`` would create over the levels they have (``d_f`` the range or the variance of the
    ratio-weighted counts ``x_a / r_a`` of their level of factor ``f``) is computed for every arm; the
    arm with the smallest ``G`` (ties broken at random) is chosen with probability ``p``, every other
    arm with ``(1 - p)/(k - 1)``; the first participant is randomised simply with probabilities
    ``r_a / sum(r)``. Pocock & Simon (1975), Biometrics 31:103-115, sections 2-3; details and the
    exact integer computation in the module docstring.

    Parameters
    ----------
    factors
        One row per participant in order of arrival (sort by the enrolment-order column first) and one
        column per prognostic factor; every distinct value is a level (band continuous factors
        first). Missing values are an error.
    arms, ratio
        Arm labels and allocation ratio (default 1:1:...), as for the block schemes.
    weights
        One non-negative weight per factor (sequence in column order, or a dict ``{factor: w}``,
        missing factors weighing 1); default all 1.
    p
        Probability of the preferred arm, in ``(1/k, 1]``; ``1`` is deterministic minimization.
    imbalance
        ``"range"`` (max - min) or ``"variance"`` of the ratio-weighted counts.
    seed
        int, SeedSequence, Generator or None; the same factors, parameters and integer seed give the
        identical list (``seed=None`` records the OS entropy used, so the list can be regenerated).

    Returns
    -------
    AllocationList
        ``scheme="minimization"``; ``frame`` indexed like ``factors`` with ``stratum`` the participant's
        combination of factor levels (``"site=Odense, sex=female"``) and ``block_id = block_size =
        position = 0`` (no blocks, as for :func:`~ipstrial.randomization.simple.simple`).
        ``parameters`` hold the arms, factors, their levels (as strings; a re-randomization test
        refuses data with other levels), weights, p, imbalance, ratio and n.
    """
    if not isinstance(factors, pd.DataFrame) or factors.shape[1] == 0:
        raise DesignError("factors must be a DataFrame with one column per minimization factor")
    if len(factors) == 0:
        raise DesignError("factors has no rows; give one row per participant in order of arrival")
    design = check_minimization(list(factors.columns), arms, weights, p, imbalance, ratio)
    problems = _missing_factor_problems(
        factors,
        "missing minimization factor (row labels shown)",
        "minimization factors must be known at randomisation; complete them or drop the factor",
    )
    if problems:
        raise TrialDataError(problems)
    levels = factor_levels(factors)
    codes, n_levels = level_codes(factors, levels)
    (rng,), recorded = resolved_streams(seed, 1)
    arm = _minimize_batch(codes, n_levels, design, rng, n_rep=1)[0]
    n = len(factors)
    zeros = np.zeros(n, dtype=np.int64)
    stratum = stratum_labels(factors).to_numpy()
    frame = _allocation_frame(arms, arm, stratum, zeros, zeros.copy(), zeros.copy(), index=factors.index)
    return AllocationList(frame, "minimization", design.parameters(levels, n), recorded)
