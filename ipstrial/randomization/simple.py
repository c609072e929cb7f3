"""Complete (simple) randomization and Efron's biased coin.

Both schemes are unstratified and have no blocks. Their :class:`AllocationList` frames use the
columns of every scheme with fixed values: ``stratum`` is ``"all"`` and ``block_id``,
``block_size`` and ``position`` are ``0`` (int64). Blocks are numbered from 1 in the block schemes,
so ``0`` cannot be mistaken for a block; it means "no block" while keeping the int64 dtype of the
block schemes, so lists of different schemes can be concatenated and exported alike.

Arms, ratio and ``n`` are checked with the validation of the block schemes
(:func:`ipstrial.randomization.blocks._check_arms_ratio` and ``_check_n``): a string of arms, duplicate arm
names, fewer than two arms, a ratio that does not match the arms and ``n <= 0`` raise
:class:`~ipstrial.errors.DesignError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np
import pandas as pd

from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import DesignError
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import _allocation_frame, _check_arms_ratio, _check_n

__all__ = ["biased_coin", "simple"]


def _stream(seed: SeedLike) -> tuple[np.random.Generator, int | None]:
    """The generator for one list and the integer seed that regenerates it (see resolved_streams)."""
    generators, recorded = resolved_streams(seed, 1)
    return generators[0], recorded


def _frame(arm_index: np.ndarray, arms: list[str]) -> pd.DataFrame:
    """The list's frame: one stratum ``"all"`` and no blocks (``block_id = block_size = position = 0``)."""
    zeros = np.zeros(len(arm_index), dtype=np.int64)
    return _allocation_frame(arms, arm_index, "all", zeros, zeros.copy(), zeros.copy())


def _simple_batch(n: int, ratio: np.ndarray, rng: np.random.Generator, n_rep: int = 1) -> np.ndarray:
    """``n_rep`` sequences of complete randomization of ``n`` participants: arm indices ``(n_rep, n)``.

    The one implementation of the scheme (a single list is ``n_rep = 1``; a re-randomization replay and
    the simulation of the scheme draw thousands at once): one ``integers`` call of shape ``(n_rep, n)``,
    ``U`` uniform on ``0..R-1`` mapped to the arm whose cumulative ratio first exceeds it.
    """
    draw = rng.integers(0, int(ratio.sum()), size=(n_rep, n))
    return np.searchsorted(np.cumsum(ratio), draw, side="right")


def simple(
    n: int,
    arms: Sequence[str],
    *,
    ratio: Sequence[int] | None = None,
    seed: SeedLike = None,
) -> AllocationList:
    """Complete randomization: each participant independently to arm ``i`` with probability ``r_i / R``.

    With allocation ratio ``r_1:...:r_k`` and ``R = sum(r)``, the arms ``T_1..T_n`` are independent
    and identically distributed with ``P(T_j = i) = r_i / R`` (Rosenberger & Lachin, *Randomization
    in Clinical Trials*, 2nd ed. 2016, section 3.2, "complete randomization"). The arm counts are
    multinomial ``(n; r_1/R, ..., r_k/R)``, so the final imbalance is unbounded (its standard
    deviation grows as ``sqrt(n)``) but the next allocation cannot be predicted.

    Each draw is an integer ``U_j`` uniform on ``0..R-1`` mapped to the arm whose cumulative ratio
    first exceeds it, so the probabilities are exact rationals. The same ``n``, arms, ratio and
    integer ``seed`` regenerate the identical list. The frame has ``stratum = "all"`` and
    ``block_id = block_size = position = 0`` (no blocks; see the module docstring).

    Parameters
    ----------
    n
        Participants to allocate (>= 1).
    arms
        The arm labels, in ratio order.
    ratio
        One positive integer per arm (default 1:1:...).
    seed
        int, SeedSequence, Generator or None; the integer that regenerates the list is recorded in
        ``AllocationList.seed`` (the fresh entropy for ``None``, nothing for a Generator).

    Raises :class:`~ipstrial.errors.DesignError` for ``n <= 0``, duplicate arm names, fewer than two
    arms or a ratio that does not hold one positive integer per arm.
    """
    n = _check_n(n)
    r = _check_arms_ratio(arms, ratio)
    arms = list(arms)
    rng, recorded = _stream(seed)
    arm_index = _simple_batch(n, r, rng)[0]
    params = {"arms": arms, "ratio": r.tolist(), "n": n}
    return AllocationList(_frame(arm_index, arms), "simple", params, recorded)


def _check_coin_p(p: object) -> float:
    """The biased coin's ``p`` as a float in ``(0.5, 1]``, else :class:`~ipstrial.errors.DesignError`."""
    if not isinstance(p, Real) or isinstance(p, bool) or not (0.5 < float(p) <= 1.0):
        raise DesignError(
            f"p must be a probability in (0.5, 1] (the chance of the under-represented arm); got {p!r}. "
            "p = 0.5 is simple randomization (use simple()); Efron recommends p = 2/3"
        )
    return float(p)


def _nth_true(mask: np.ndarray, place: np.ndarray) -> np.ndarray:
    """Per row of ``mask`` ``(m, k)``, the column of its ``place``-th (0-based) True, in column order."""
    rank = np.cumsum(mask, axis=1) - 1
    return np.argmax(mask & (rank == place[:, None]), axis=1)


def _biased_coin_step(counts: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """The next arm of ``n_rep`` biased-coin sequences: arm indices ``(n_rep,)`` int64.

    The one implementation of the allocation rule of :func:`biased_coin` (its docstring): ``counts``
    ``(n_rep, k)`` are the arm counts so far of each sequence and ``u`` ``(n_rep,)`` its uniform in
    ``[0, 1)``. All arms tied: arm ``min(floor(k u), k - 1)``. Otherwise, with ``M`` the arms at the
    minimum count (in arm order) and ``H`` the others, ``u < p`` picks ``M[min(floor(u / p |M|), |M| - 1)]``
    and ``u >= p`` picks ``H[min(floor((u - p) / (1 - p) |H|), |H| - 1)]``. For two arms this is Efron's
    rule with ``D = N_0 - N_1``: ``min(floor(2 u), 1)`` if ``D = 0``, else arm 0 exactly when
    ``(u < p) == (D < 0)``. A sequential allocation (one participant) is ``n_rep = 1``.
    """
    counts = np.asarray(counts)
    u = np.asarray(u, dtype=np.float64)
    k = counts.shape[1]
    below = u < p
    if k == 2:
        d = counts[:, 0] - counts[:, 1]
        tie = np.minimum((u * 2).astype(np.int64), 1)
        return np.where(d == 0, tie, np.where(below == (d < 0), 0, 1)).astype(np.int64)
    low = counts == counts.min(axis=1, keepdims=True)
    m = low.sum(axis=1)
    pick = np.minimum((u * k).astype(np.int64), k - 1)  # all arms tied
    rows = np.flatnonzero(below & (m < k))  # an arm at the minimum count
    if len(rows):
        size = m[rows]
        place = np.minimum((u[rows] / p * size).astype(np.int64), size - 1)
        pick[rows] = _nth_true(low[rows], place)
    rows = np.flatnonzero(~below & (m < k))  # another arm (never for p = 1, as u < 1)
    if len(rows):
        size = k - m[rows]
        place = np.minimum(((u[rows] - p) / (1.0 - p) * size).astype(np.int64), size - 1)
        pick[rows] = _nth_true(~low[rows], place)
    return pick


def _biased_coin_batch(n: int, k: int, p: float, rng: np.random.Generator, n_rep: int = 1) -> np.ndarray:
    """``n_rep`` biased-coin sequences of ``n`` participants and ``k`` arms: arm indices ``(n_rep, n)`` int8.

    The one implementation of the scheme (a list is ``n_rep = 1``; a re-randomization replay draws many):
    one ``random`` call of shape ``(n_rep, n)`` (so the draws of a chunk of sequences continue those of the
    previous chunk), then :func:`_biased_coin_walk`. Its memory is the ``n_rep x n`` uniforms; callers chunk
    ``n_rep``.
    """
    return _biased_coin_walk(rng.random((n_rep, n)), k, p)


def _biased_coin_walk(u: np.ndarray, k: int, p: float) -> np.ndarray:
    """The sequences of the uniforms ``u`` ``(n_rep, n)``: every sequence advanced participant by participant
    with :func:`_biased_coin_step`, participant ``j`` of sequence ``b`` using ``u[b, j]``; arm indices
    (int8)."""
    n_rep, n = u.shape
    counts = np.zeros((n_rep, k), dtype=np.int64)
    out = np.empty((n_rep, n), dtype=np.int8)
    reps = np.arange(n_rep)
    for j in range(n):
        arm = _biased_coin_step(counts, u[:, j], p)
        counts[reps, arm] += 1
        out[:, j] = arm
    return out


def biased_coin(
    n: int,
    arms: Sequence[str],
    *,
    p: float = 2 / 3,
    seed: SeedLike = None,
) -> AllocationList:
    """Efron's biased coin design (Efron 1971, Biometrika 58:403-417), equal allocation.

    Two arms A and B, ``D_{j-1} = N_A - N_B`` after ``j - 1`` participants (Efron 1971, section 2):
    participant ``j`` goes to A with probability ``1/2`` if ``D_{j-1} = 0``, ``p`` if
    ``D_{j-1} < 0`` and ``1 - p`` if ``D_{j-1} > 0``. ``|D_j|`` is then a reflecting random walk
    (a Markov chain) whose limiting distribution at even ``j`` is ``P(|D| = 0) = 1 - q/p`` and
    ``P(|D| = 2m) = (1 - (q/p)^2) (q/p)^(2m - 1)``, ``q = 1 - p``. ``p = 1`` alternates
    deterministically (``|D_j| <= 1``); ``p = 2/3`` is Efron's recommendation.

    More than two arms: the *minimum-count* generalisation. With ``N_i`` the count of arm ``i``
    before participant ``j`` and ``M = {i : N_i = min N}`` the arms with the fewest participants,
    the arms in ``M`` share probability ``p`` equally (``p / |M|`` each) and the other arms share
    ``1 - p`` equally (``(1 - p) / (k - |M|)`` each); when all arms are tied every arm has ``1/k``.
    For two arms this is exactly Efron's rule. It is not Wei's (1978, Ann Stat 6:92-100) adaptive
    biased coin, whose bias depends on the size of the imbalance. Note that when several arms tie at
    the minimum, each of them gets ``p / |M|``, which exceeds the probability of an over-represented
    arm only if ``p > |M| / k`` (e.g. ``p > 2/3`` for three arms with two tied at the minimum).

    Each allocation uses one uniform ``U_j``: with all arms tied the arm at place ``floor(k U_j)``;
    otherwise ``U_j < p`` picks the arm of ``M`` at place ``floor(|M| U_j / p)`` (arms in the order
    given), else the other arm at place ``floor((k - |M|)(U_j - p)/(1 - p))``. The rule is
    :func:`_biased_coin_step`, applied participant by participant by :func:`_biased_coin_batch` to the
    ``n`` uniforms of one ``random`` call (the kernel a re-randomization replay also draws with). The
    same ``n``, arms, ``p`` and integer ``seed`` regenerate the identical list. The frame has
    ``stratum = "all"`` and ``block_id = block_size = position = 0`` (no blocks).

    Parameters
    ----------
    n
        Participants to allocate (>= 1).
    arms
        The arm labels (equal allocation).
    p
        The probability of the under-represented arm(s), in ``(0.5, 1]``; Efron's 2/3 by default.
    seed
        int, SeedSequence, Generator or None; recorded as for :func:`simple`.

    Raises :class:`~ipstrial.errors.DesignError` for ``n <= 0``, duplicate arm names, fewer than two
    arms or ``p`` outside ``(0.5, 1]``.
    """
    n = _check_n(n)
    _check_arms_ratio(arms, None)
    arms = list(arms)
    p = _check_coin_p(p)
    rng, recorded = _stream(seed)
    out = _biased_coin_batch(n, len(arms), p, rng)[0]
    params = {"arms": arms, "p": p, "n": n}
    return AllocationList(_frame(out, arms), "biased_coin", params, recorded)
