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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipstrial._random import SeedLike, entropy_of, streams
from ipstrial.errors import DesignError, Problem, TrialDataError
from ipstrial.randomization.allocation import AllocationList


def _check_design(arms: Sequence[str], block_sizes: Sequence[int], ratio: Sequence[int] | None) -> np.ndarray:
    """Validate arms, ratio and block sizes; return the ratio as an int array."""
    arms = list(arms)
    if len(arms) < 2:
        raise DesignError(f"at least two arms are needed; got {arms!r}")
    dup = sorted({a for a in arms if arms.count(a) > 1})
    if dup:
        raise DesignError(f"duplicate arm names {dup}; give each arm one distinct label")
    r = np.ones(len(arms), dtype=np.int64) if ratio is None else np.asarray(ratio)
    if r.ndim != 1 or len(r) != len(arms):
        raise DesignError(
            f"ratio {np.atleast_1d(r).tolist()} has {r.size} entries but there are {len(arms)} arms {arms}; "
            "give one positive integer per arm, e.g. ratio=(2, 1) for two arms at 2:1"
        )
    if not np.issubdtype(r.dtype, np.integer) or np.any(r <= 0):
        raise DesignError(f"ratio {r.tolist()} must hold positive integers, one per arm")
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
    return r.astype(np.int64)


def _block_sequence(
    n: int, ratio: np.ndarray, block_sizes: Sequence[int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arm indices, block numbers (0-based), block sizes and positions for ``n`` allocations.

    Vectorised: all block sizes are drawn at once, each block's arms are laid out in order and
    then shuffled within block by sorting on (block, uniform key).
    """
    total = int(ratio.sum())
    sizes = np.asarray(block_sizes, dtype=np.int64)
    max_blocks = -(-n // int(sizes.min()))
    drawn = sizes[rng.integers(0, len(sizes), size=max_blocks)]
    n_blocks = int(np.searchsorted(np.cumsum(drawn), n) + 1)
    drawn = drawn[:n_blocks]
    length = int(drawn.sum())
    block = np.repeat(np.arange(n_blocks), drawn)
    starts = np.cumsum(drawn) - drawn
    position = np.arange(length) - starts[block]
    multiplier = drawn[block] // total
    arm = np.searchsorted(np.cumsum(ratio), position // multiplier, side="right")
    order = np.lexsort((rng.random(length), block))
    arm = arm[order]
    return arm[:n], block[:n], drawn[block[:n]], position[:n] + 1


def permuted_blocks(
    n: int,
    arms: Sequence[str],
    block_sizes: Sequence[int],
    ratio: Sequence[int] | None = None,
    seed: SeedLike = None,
) -> AllocationList:
    """Permuted blocks of random size for ``n`` participants (see the module docstring).

    The same ``n``, arms, block sizes, ratio and integer ``seed`` regenerate the identical list.
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n <= 0:
        raise DesignError(f"n must be a positive integer number of participants; got {n!r}")
    r = _check_design(arms, block_sizes, ratio)
    (rng,) = streams(seed, 1)
    arm, block, size, position = _block_sequence(int(n), r, block_sizes, rng)
    frame = pd.DataFrame(
        {
            "sequence": np.arange(1, n + 1),
            "stratum": "all",
            "block_id": block + 1,
            "block_size": size,
            "position": position,
            "arm": np.asarray(list(arms), dtype=object)[arm],
        }
    )
    params = {
        "arms": list(arms),
        "block_sizes": list(map(int, block_sizes)),
        "ratio": r.tolist(),
        "n": int(n),
    }
    return AllocationList(frame, "permuted_blocks", params, entropy_of(seed))


def stratum_labels(strata: pd.DataFrame) -> pd.Series:
    """One label per row, ``"site=Odense, sex=female"``, from the factor columns of ``strata``."""
    parts = [strata[c].astype(str).radd(f"{c}=") for c in strata.columns]
    label = parts[0]
    for p in parts[1:]:
        label = label + ", " + p
    return label


def stratified_blocks(
    strata: pd.DataFrame,
    arms: Sequence[str],
    block_sizes: Sequence[int],
    ratio: Sequence[int] | None = None,
    seed: SeedLike = None,
) -> AllocationList:
    """Stratified permuted blocks: one block sequence per combination of the factor columns.

    ``strata`` holds one row per participant in order of arrival and one column per
    stratification factor. The strata are visited in sorted order of their factor levels, each drawing its own
    sequence from the seed, so the list does not depend on which stratum arrives first.
    """
    if not isinstance(strata, pd.DataFrame) or strata.shape[1] == 0:
        raise DesignError("strata must be a DataFrame with one column per stratification factor")
    if len(strata) == 0:
        raise DesignError("strata has no rows; give one row per participant")
    problems = []
    for column in strata.columns:
        missing = strata[column].isna().to_numpy()
        if missing.any():
            rows = tuple(str(i) for i in strata.index[missing][:5])
            problems.append(
                Problem(
                    column,
                    "missing stratification factor (row labels shown)",
                    "stratification factors must be known at randomisation; complete them or drop the factor",
                    rows,
                    int(missing.sum()),
                )
            )
    if problems:
        raise TrialDataError(problems)
    r = _check_design(arms, block_sizes, ratio)
    grouped = strata.groupby(list(strata.columns), sort=True, observed=True)
    codes = grouped.ngroup().to_numpy()
    uniques = stratum_labels(grouped.size().index.to_frame(index=False)).to_numpy()
    labels = uniques[codes]
    rngs = streams(seed, len(uniques))
    n = len(strata)
    arm = np.empty(n, dtype=np.int64)
    block = np.empty(n, dtype=np.int64)
    size = np.empty(n, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    offset = 0
    for s in range(len(uniques)):
        idx = np.flatnonzero(codes == s)
        a, b, z, p = _block_sequence(len(idx), r, block_sizes, rngs[s])
        arm[idx], block[idx], size[idx], position[idx] = a, b + offset, z, p
        offset += int(b.max()) + 1
    frame = pd.DataFrame(
        {
            "sequence": np.arange(1, n + 1),
            "stratum": labels,
            "block_id": block + 1,
            "block_size": size,
            "position": position,
            "arm": np.asarray(list(arms), dtype=object)[arm],
        },
        index=strata.index,
    )
    params = {
        "arms": list(arms),
        "block_sizes": list(map(int, block_sizes)),
        "ratio": r.tolist(),
        "factors": list(map(str, strata.columns)),
    }
    return AllocationList(frame, "stratified_blocks", params, entropy_of(seed))
