"""Permuted-block randomization, unstratified and stratified, with blocks of random size.

Scheme (Rosenberger & Lachin, *Randomization in Clinical Trials*, 2nd ed. 2016, ch. 3.3; Schulz &
Grimes, Lancet 2002;359:515-519 on random block sizes): arms ``A_1..A_k`` with allocation
ratio ``r_1:...:r_k`` and total ``R = sum(r)``. Each block has a size ``b = m R`` drawn uniformly
from the allowed ``block_sizes`` and holds exactly ``m r_i`` allocations to arm ``i`` in a
uniformly random order. Blocks follow each other until every participant is allocated; only
the last block of a sequence (of a stratum) may be incomplete, so the imbalance of a stratum
never exceeds half the largest block. Stratified blocks run one such sequence per stratum
(combination of factor levels), participants taking the next allocation of their stratum in
order of arrival (row order).

One implementation: :func:`_block_batch` generates any number of sequences of one stratum at once
(vectorised over sequences, see its docstring) and :func:`_stratified_batch` runs it per stratum.
A single list is one sequence; the re-randomization test
(:mod:`ipstrial.randomization.rerandomization`) replays 10,000 lists through the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._memory import chunks
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import DesignError, Problem, TrialDataError
from ipstrial.randomization.allocation import AllocationList


def _check_n(n: object) -> int:
    """The number of participants to allocate: a positive integer."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n <= 0:
        raise DesignError(f"n must be a positive integer number of participants; got {n!r}")
    return int(n)


def _check_arms_ratio(arms: Sequence[str], ratio: Sequence[int] | None) -> np.ndarray:
    """Validate the arm labels and the allocation ratio (the one check of every scheme); return the ratio
    as an int array."""
    if isinstance(arms, str):
        raise DesignError(
            f"arms must be a sequence of arm labels such as ('IPS', 'SAU'); got the string {arms!r}"
        )
    arms = list(arms)
    if len(arms) < 2:
        raise DesignError(f"at least two arms are needed; got {arms!r}")
    dup = sorted({a for a in arms if arms.count(a) > 1})
    if dup:
        raise DesignError(f"duplicate arm names {dup}; give each arm one distinct label")
    r = np.ones(len(arms), dtype=np.int64) if ratio is None else np.asarray(ratio)
    if r.ndim != 1 or len(r) != len(arms):
        raise DesignError(
            f"ratio {np.atleast_1d(r).tolist()} has {plural(r.size, 'entry', 'entries')} but there are "
            f"{plural(len(arms), 'arm')} {arms}; "
            "give one positive integer per arm, e.g. ratio=(2, 1) for two arms at 2:1"
        )
    if not np.issubdtype(r.dtype, np.integer) or np.any(r <= 0):
        raise DesignError(f"ratio {r.tolist()} must hold positive integers, one per arm")
    return r.astype(np.int64)


def _check_design(arms: Sequence[str], block_sizes: Sequence[int], ratio: Sequence[int] | None) -> np.ndarray:
    """Validate arms, ratio and block sizes; return the ratio as an int array."""
    r = _check_arms_ratio(arms, ratio)
    total = int(r.sum())
    sizes = [int(b) if isinstance(b, np.integer) else b for b in block_sizes]
    if not sizes:
        raise DesignError("block_sizes is empty; give at least one block size, a multiple of the ratio total")
    bad = [b for b in sizes if not isinstance(b, int | np.integer) or b <= 0 or b % total]
    if bad:
        raise DesignError(
            f"block sizes {bad} are not positive multiples of the allocation total {total} "
            f"(ratio {':'.join(map(str, r))}); use e.g. {[total, 2 * total]}"
        )
    return r


def _allocation_frame(
    arms: Sequence[str],
    arm: np.ndarray,
    stratum: object,
    block_id: np.ndarray,
    block_size: np.ndarray,
    position: np.ndarray,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """The frame of an :class:`AllocationList`: ``sequence`` (1..n), ``stratum`` (a label per allocation, or
    one for all), ``block_id``, ``block_size``, ``position`` and the ``arm`` label (``arm``: indices into
    ``arms``)."""
    return pd.DataFrame(
        {
            "sequence": np.arange(1, len(arm) + 1),
            "stratum": stratum,
            "block_id": block_id,
            "block_size": block_size,
            "position": position,
            "arm": np.asarray(list(arms), dtype=object)[arm],
        },
        index=index,
    )


def _missing_factor_problems(frame: pd.DataFrame, message: str, fix: str) -> list[Problem]:
    """One :class:`Problem` per column of ``frame`` with missing values, naming up to five row labels."""
    problems = []
    for column in frame.columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            rows = tuple(str(i) for i in frame.index[missing][:5])
            problems.append(Problem(column, message, fix, rows, int(missing.sum())))
    return problems


def _missing_strata_problems(strata: pd.DataFrame) -> list[Problem]:
    """:func:`_missing_factor_problems` of stratification factors (known at randomisation)."""
    return _missing_factor_problems(
        strata,
        "missing stratification factor (row labels shown)",
        "stratification factors must be known at randomisation; complete them or drop the factor",
    )


_BLOCK_BYTES = 16
"""Working bytes per allocation of :func:`_block_chunk` (a float64 key, its int32 rank and block start,
the int8 arm, the keep mask): batches of sequences are drawn in chunks of sequences of ``16 n`` bytes each
(:func:`ipstrial._memory.chunks`), about ``CHUNK_BYTES / 16 = 2**17`` allocations, which keeps the work in
cache (about twice as fast as one large draw for 10,000 sequences of 720). The chunks lay out the draws of
a batch in the stream, so replays depend on the chunk size (with ``CHUNK_BYTES`` = 2 MiB they are those of
the former ``2**17``-allocation chunks); a single list is always one chunk, so allocation lists (and the
committed synthetic trial) do not."""


def _block_batch(
    n: int,
    ratio: np.ndarray,
    block_sizes: Sequence[int],
    rng: np.random.Generator,
    n_rep: int = 1,
    details: bool = True,
) -> tuple[np.ndarray, ...]:
    """``n_rep`` permuted-block sequences of ``n`` allocations each: the one implementation of the scheme.

    Returns ``(arm, block, size, position)``, each of shape ``(n_rep, n)``: arm indices (int8), block
    numbers (0-based, within the sequence), block sizes and positions in the block (1-based); with
    ``details=False`` only ``(arm,)``. A single list is ``n_rep = 1``.

    The sequences are drawn in chunks of ``chunk_size(_BLOCK_BYTES * n, n_rep)`` sequences
    (:func:`ipstrial._memory.chunks`; one chunk for a single list). Per chunk of ``m`` sequences, in
    this order: the size index of ``ceil(n / min size)`` blocks per sequence (one ``integers`` call of
    shape ``(m, blocks)``), then one uniform key per allocation of the blocks each sequence needs (one
    ``random`` call, sequence after sequence).
    Each block's arms are laid out in ratio order and placed by the ranks of their keys within the
    block (ties, which have probability zero, keep the layout order): a uniformly random
    permutation of the block. The ranks are counted by pairwise comparison over all blocks of one
    size at once, which gives the same order as sorting the keys block by block.
    """
    out = [np.empty((n_rep, n), dtype=np.int8)]
    if details:
        out += [np.empty((n_rep, n), dtype=np.int64) for _ in range(3)]
    for rows in chunks(n_rep, _BLOCK_BYTES * n):
        parts = _block_chunk(n, ratio, block_sizes, rng, rows.stop - rows.start, details)
        for target, part in zip(out, parts, strict=True):
            target[rows] = part
    return tuple(out)


def _block_chunk(
    n: int, ratio: np.ndarray, block_sizes: Sequence[int], rng: np.random.Generator, n_rep: int, details: bool
) -> tuple[np.ndarray, ...]:
    """One chunk of :func:`_block_batch`."""
    total = int(ratio.sum())
    sizes = np.asarray(block_sizes, dtype=np.int64)
    max_blocks = -(-n // int(sizes.min()))
    drawn = sizes[rng.integers(0, len(sizes), size=(n_rep, max_blocks))]
    ends = np.cumsum(drawn, axis=1)
    n_blocks = (ends < n).sum(axis=1) + 1
    lengths = ends[np.arange(n_rep), n_blocks - 1]
    keys = rng.random(int(lengths.sum()))
    used = np.arange(max_blocks) < n_blocks[:, None]
    block_len = drawn[used].astype(np.int32)  # every used block, sequence after sequence
    block_start = (np.cumsum(block_len) - block_len).astype(np.int32)
    arm_flat = np.empty(keys.size, dtype=np.int8)
    cum_ratio = np.cumsum(ratio)
    for length in sorted(set(map(int, block_sizes))):
        start = block_start[block_len == length]
        if start.size == 0:
            continue
        layout = np.searchsorted(cum_ratio, np.arange(length) // (length // total), side="right")
        k = np.ascontiguousarray(keys[start[:, None] + np.arange(length, dtype=np.int32)].T)
        rank = _ranks(k)
        rank += start
        arm_flat[rank] = layout.astype(np.int8)[:, None]
    # keep the first n allocations of every sequence: drop the unused tail of its last block
    if n_rep == 1:
        keep = slice(0, n)
    else:
        keep = np.ones(keys.size, dtype=bool)
        seq_end = np.cumsum(lengths)
        for d in range(1, int(sizes.max())):
            keep[(seq_end - d)[lengths - n >= d]] = False
    arm = arm_flat[keep].reshape(n_rep, n)
    if not details:
        return (arm,)
    local = np.broadcast_to(np.arange(max_blocks), drawn.shape)[used]
    block = np.repeat(local, block_len)[keep].reshape(n_rep, n)
    size = np.repeat(block_len.astype(np.int64), block_len)[keep].reshape(n_rep, n)
    position = (np.arange(keys.size) - np.repeat(block_start, block_len) + 1)[keep].reshape(n_rep, n)
    return arm, block, size, position


_EARLIER: dict[int, np.ndarray] = {}  # [i, j, 0]: j < i, per block length


def _ranks(k: np.ndarray) -> np.ndarray:
    """``rank[i, g]``: the place of key ``k[i, g]`` among the keys ``k[:, g]`` of block ``g``, ordering by key
    and equal keys by ``i`` (the order of a stable sort). Few blocks: all pairs at once; many blocks:
    pair by pair (less memory, faster). Both count the same pairs."""
    length, blocks = k.shape
    if blocks * length <= 4096:
        earlier = _EARLIER.get(length)
        if earlier is None:
            earlier = _EARLIER.setdefault(length, np.tri(length, length, -1, dtype=bool)[:, :, None])
        before = (k[None, :, :] < k[:, None, :]) | ((k[None, :, :] == k[:, None, :]) & earlier)
        return before.sum(axis=1, dtype=np.int32)
    rank = np.zeros(k.shape, dtype=np.int32)
    for i in range(length):
        for j in range(i + 1, length):
            before = k[j] < k[i]
            rank[i] += before
            rank[j] += ~before
    return rank


def _stratified_batch(
    codes: np.ndarray,
    n_strata: int,
    ratio: np.ndarray,
    block_sizes: Sequence[int],
    rngs: Sequence[np.random.Generator],
    n_rep: int = 1,
    details: bool = True,
) -> tuple[np.ndarray, ...]:
    """``n_rep`` stratified permuted-block lists at once: stratum ``s`` draws its ``n_rep`` sequences from
    ``rngs[s]`` with :func:`_block_batch`, and its participants take their allocations in order of arrival.

    ``codes`` holds every participant's stratum: shape ``(n,)`` when every list allocates the same
    participants (a list, a re-randomization replay), or ``(n_rep, n)`` when each list has its own
    (simulation of a scheme with drawn participants). In the second case stratum ``s`` draws sequences of
    the largest size it reaches in any list and list ``i`` uses the first ``n_s(i)`` allocations of its
    sequence -- the prefix of a permuted-block sequence is a permuted-block sequence of that length, so
    this is the scheme. A stratum without participants draws nothing (its stream is left unused).

    Returns ``(arm, block, size, position)`` of shape ``(n_rep, n)`` (only ``(arm,)`` with
    ``details=False``); block numbers are 0-based and unique in each list, strata numbered in
    order ``0..n_strata-1``.
    """
    n = codes.shape[-1]
    arm = np.empty((n_rep, n), dtype=np.int8)
    if details:
        block = np.empty((n_rep, n), dtype=np.int64)
        size = np.empty((n_rep, n), dtype=np.int64)
        position = np.empty((n_rep, n), dtype=np.int64)
        offset = np.zeros(n_rep, dtype=np.int64)
    for s in range(n_strata):
        member = codes == s
        if codes.ndim == 1:  # the same participants in every list: whole columns
            idx = np.flatnonzero(member)
            if idx.size == 0:
                continue
            out = _block_batch(idx.size, ratio, block_sizes, rngs[s], n_rep, details)
            arm[:, idx] = out[0]
            if details:
                block[:, idx] = out[1] + offset[:, None]
                size[:, idx], position[:, idx] = out[2], out[3]
                offset += out[1][:, -1] + 1
            continue
        count = member.sum(axis=1)
        if not count.any():
            continue
        out = _block_batch(int(count.max()), ratio, block_sizes, rngs[s], n_rep, details)
        rows, where = np.nonzero(member)
        place = (np.cumsum(member, axis=1) - 1)[rows, where]  # the participant's place in the stratum
        arm[rows, where] = out[0][rows, place]
        if details:
            block[rows, where] = out[1][rows, place] + offset[rows]
            size[rows, where], position[rows, where] = out[2][rows, place], out[3][rows, place]
            last = out[1][np.arange(n_rep), np.maximum(count - 1, 0)]
            offset += np.where(count > 0, last + 1, 0)
    return (arm, block, size, position) if details else (arm,)


def permuted_blocks(
    n: int,
    arms: Sequence[str],
    block_sizes: Sequence[int],
    *,
    ratio: Sequence[int] | None = None,
    seed: SeedLike = None,
) -> AllocationList:
    """Permuted blocks of random size for ``n`` participants (see the module docstring).

    The same ``n``, arms, block sizes, ratio and integer ``seed`` regenerate the identical list.

    Parameters
    ----------
    n
        Participants to allocate (>= 1).
    arms
        The arm labels, in ratio order.
    block_sizes
        The allowed block sizes, each a multiple of the ratio total; every block's size is drawn
        uniformly from them (Schulz & Grimes 2002 on random block sizes).
    ratio
        One positive integer per arm (default 1:1:...).
    seed
        int, SeedSequence, Generator or None; the integer that regenerates the list is recorded in
        ``AllocationList.seed``.
    """
    n = _check_n(n)
    r = _check_design(arms, block_sizes, ratio)
    (rng,), recorded_seed = resolved_streams(seed, 1)
    arm, block, size, position = (x[0] for x in _block_batch(n, r, block_sizes, rng))
    frame = _allocation_frame(arms, arm, "all", block + 1, size, position)
    params = {
        "arms": list(arms),
        "block_sizes": list(map(int, block_sizes)),
        "ratio": r.tolist(),
        "n": n,
    }
    return AllocationList(frame, "permuted_blocks", params, recorded_seed)


def stratum_labels(strata: pd.DataFrame) -> pd.Series:
    """One label per row, ``"site=Odense, sex=female"``, from the factor columns of ``strata``."""
    parts = [strata[c].astype(str).radd(f"{c}=") for c in strata.columns]
    label = parts[0]
    for p in parts[1:]:
        label = label + ", " + p
    return label


def _stratified_draw(
    codes: np.ndarray, n_strata: int, r: np.ndarray, block_sizes: Sequence[int], seed: SeedLike
) -> tuple[tuple[np.ndarray, ...], int | None]:
    """One stratified list: ``(arm, block, size, position)`` per participant and the recorded seed.

    ``codes`` numbers each participant's stratum ``0..n_strata-1`` in sorted order of the strata's factor
    levels; one stream per stratum is spawned from ``seed`` in that order (as :func:`stratified_blocks`).
    """
    rngs, recorded_seed = resolved_streams(seed, n_strata)
    drawn = tuple(x[0] for x in _stratified_batch(codes, n_strata, r, block_sizes, rngs, n_rep=1))
    return drawn, recorded_seed


def stratified_arm_indices(
    factors: Sequence[np.ndarray],
    n_arms: int,
    block_sizes: Sequence[int],
    ratio: Sequence[int] | None,
    seed: SeedLike,
) -> np.ndarray:
    """The arm (index into the arms) of each participant, exactly as :func:`stratified_blocks` allocates.

    For a generator that needs only the arms (the synthetic trial): the strata are the combinations of the
    complete factor arrays ``factors``, numbered in sorted order of their levels (``np.unique``, the order of
    ``groupby(sort=True)``), without the allocation list's frame and labels.
    """
    r = _check_design([str(i) for i in range(n_arms)], block_sizes, ratio)
    combined = np.zeros(len(factors[0]), dtype=np.int64)
    for values in factors:
        levels, inverse = np.unique(np.asarray(values), return_inverse=True)
        combined = combined * len(levels) + inverse.ravel()
    _, codes = np.unique(combined, return_inverse=True)
    (arm, _, _, _), _ = _stratified_draw(codes.ravel(), int(codes.max()) + 1, r, block_sizes, seed)
    return arm


def stratified_blocks(
    strata: pd.DataFrame,
    arms: Sequence[str],
    block_sizes: Sequence[int],
    *,
    ratio: Sequence[int] | None = None,
    seed: SeedLike = None,
) -> AllocationList:
    """Stratified permuted blocks: one block sequence per combination of the factor columns.

    ``strata`` holds one row per participant in order of arrival and one column per
    stratification factor. The strata are visited in sorted order of their factor levels, each drawing its own
    sequence from the seed, so the list does not depend on which stratum arrives first.

    Parameters
    ----------
    strata
        One row per participant in order of arrival, one column per stratification factor (complete).
    arms, block_sizes, ratio
        As for :func:`permuted_blocks`.
    seed
        int, SeedSequence, Generator or None; one stream per stratum is spawned from it, in sorted order
        of the strata. The integer that regenerates the list is recorded in ``AllocationList.seed``.
    """
    if not isinstance(strata, pd.DataFrame) or strata.shape[1] == 0:
        raise DesignError("strata must be a DataFrame with one column per stratification factor")
    if len(strata) == 0:
        raise DesignError("strata has no rows; give one row per participant")
    problems = _missing_strata_problems(strata)
    if problems:
        raise TrialDataError(problems)
    r = _check_design(arms, block_sizes, ratio)
    grouped = strata.groupby(list(strata.columns), sort=True, observed=True)
    codes = grouped.ngroup().to_numpy()
    uniques = stratum_labels(grouped.size().index.to_frame(index=False)).to_numpy()
    labels = uniques[codes]
    (arm, block, size, position), recorded_seed = _stratified_draw(codes, len(uniques), r, block_sizes, seed)
    frame = _allocation_frame(arms, arm, labels, block + 1, size, position, index=strata.index)
    params = {
        "arms": list(arms),
        "block_sizes": list(map(int, block_sizes)),
        "ratio": r.tolist(),
        "factors": list(map(str, strata.columns)),
    }
    return AllocationList(frame, "stratified_blocks", params, recorded_seed)
