"""Vectorised resampling kernels shared by the estimators (bootstrap counts, replicate means, intervals).

The layout of a bootstrap
-------------------------
A nonparametric bootstrap that resamples participants *within* groups (the arms of a trial, so that
every replicate keeps the arm sizes of the trial, as the stratified design does; Efron & Tibshirani
1993, *An Introduction to the Bootstrap*, sec. 8.3) is stored as **counts**, never as resampled
data frames. :func:`bootstrap_counts` returns one integer matrix per group::

    counts[g].shape == (n_boot, n_g)
    counts[g][b, i] == how often participant i of group g (in the order given) is drawn in replicate b
    counts[g][b].sum() == n_g                                     for every replicate b

Row ``b`` of ``counts[g]`` is a draw from Multinomial(n_g; 1/n_g, ..., 1/n_g): the counts of ``n_g``
draws with replacement. Any statistic that accepts frequency weights is then evaluated on replicate
``b`` by weighting participant ``i`` with ``counts[g][b, i]``: a mean is ``counts[g] @ y / n_g`` for all
replicates at once (:func:`bootstrap_means`), a weighted regression or GLM uses the counts as
frequency weights (which gives exactly the estimate on the resampled data). Because a participant's
weight applies to all of their columns at once, paired quantities (cost and effect of the same
participant in a cost-effectiveness bootstrap) stay paired: use the **same** counts matrix for both
columns. :func:`counts_in_data_order` puts the group matrices side by side in the row order of a data
set, giving an ``(n_boot, n)`` weight matrix for estimators that fit one model to all groups.

Randomness: ``seed`` is an int, a :class:`numpy.random.SeedSequence`, a Generator or None
(:mod:`ipstrial._random`). One independent stream is spawned per group, so the counts of group ``g``
depend only on the seed, ``g`` and its size (the first ``b`` replicates do not depend on ``n_boot``);
the same seed gives the same bits. A group's counts are the ``n_g`` indices of every replicate drawn
by ``Generator.integers`` from the group's stream, counted with ``numpy.bincount``: the same
distribution as ``Generator.multinomial`` and about five times faster. The draws are made in blocks
of replicates (to stay in cache); successive calls continue one stream, so this is the same as one
call of shape ``(n_boot, n_g)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ipstrial._checks import check_alpha
from ipstrial._checks import check_count as _check_count
from ipstrial._memory import CHUNK_BYTES, check_memory, chunks, format_bytes
from ipstrial._random import SeedLike, streams

__all__ = [
    "bootstrap_count_chunks",
    "bootstrap_counts",
    "bootstrap_means",
    "counts_in_data_order",
    "percentile_interval",
    "permutation_chunks",
]


def _check_sizes(group_sizes: Sequence[int]) -> list[int]:
    sizes = list(np.atleast_1d(np.asarray(group_sizes, dtype=object)))
    if not sizes:
        raise ValueError("group_sizes is empty: give the number of participants in each group")
    return [_check_count(s, f"group size {i}") for i, s in enumerate(sizes)]


def _index_chunks(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[tuple[slice, np.ndarray]]:
    """The ``n`` indices drawn with replacement in every replicate, ``(rows, indices)`` chunk by chunk.

    Successive ``integers`` calls on one Generator continue the same stream, so the chunks give the
    same draws as one call of shape ``(n_boot, n)`` whatever the chunk size.
    """
    for rows in chunks(n_boot, 8.0 * n, CHUNK_BYTES):
        yield rows, rng.integers(0, n, size=(rows.stop - rows.start, n))


def _count_chunks(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[tuple[slice, np.ndarray]]:
    """The counts of the draws of :func:`_index_chunks`, ``(rows, counts)`` chunk by chunk."""
    offsets: np.ndarray | None = None
    for rows, idx in _index_chunks(rng, n, n_boot):
        m = rows.stop - rows.start
        if offsets is None:
            offsets = np.arange(m, dtype=np.int64)[:, None] * n
        idx += offsets[:m]
        yield rows, np.bincount(idx.ravel(), minlength=m * n).reshape(m, n)


def bootstrap_counts(group_sizes: Sequence[int], n_boot: int, seed: SeedLike = None) -> list[np.ndarray]:
    """Bootstrap resampling counts within each group: one ``(n_boot, n_g)`` int64 matrix per group.

    Row ``b`` of the matrix of group ``g`` counts how often each of the ``n_g`` participants of the
    group is drawn in replicate ``b`` when ``n_g`` participants are drawn with replacement, i.e. a
    draw from Multinomial(n_g; 1/n_g, ..., 1/n_g) (Efron & Tibshirani 1993, sec. 6.2 and 8.3:
    resampling within groups keeps the group sizes fixed). See the module docstring for the layout
    and how the counts are used as frequency weights.

    Parameters
    ----------
    group_sizes
        The number of participants in each group (e.g. each arm), all >= 1.
    n_boot
        Number of bootstrap replicates (>= 1).
    seed
        int, SeedSequence, Generator or None; one stream is spawned per group, so the same seed
        gives the same bits and group ``g`` depends only on the seed and ``g``.

    Returns
    -------
    list of numpy.ndarray
        ``counts[g]`` of shape ``(n_boot, group_sizes[g])``, every row summing to ``group_sizes[g]``.
    """
    sizes = _check_sizes(group_sizes)
    n_boot = _check_count(n_boot, "n_resamples")
    check_memory(
        8.0 * n_boot * sum(sizes),
        f"bootstrap counts for {n_boot} replicates of {sum(sizes)} participants",
        "iterate over chunks of replicates with ipstrial.resampling.bootstrap_count_chunks instead",
    )
    out = []
    for rng, n in zip(streams(seed, len(sizes)), sizes, strict=True):
        counts = np.empty((n_boot, n), dtype=np.int64)
        for rows, chunk in _count_chunks(rng, n, n_boot):
            counts[rows] = chunk
        out.append(counts)
    return out


def bootstrap_count_chunks(
    group_sizes: Sequence[int], n_boot: int, seed: SeedLike = None, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[slice, list[np.ndarray]]]:
    """The counts of :func:`bootstrap_counts`, chunk by chunk of replicates: ``(rows, counts)`` pairs.

    ``counts[g]`` has shape ``(rows.stop - rows.start, n_g)`` and equals rows ``rows`` of the matrix
    :func:`bootstrap_counts` returns for the same arguments (the same bits: each group's stream is
    consumed in order, whatever the chunk size). A chunk holds about ``chunk_bytes`` of counts over all
    groups (at least one replicate), so the memory does not grow with replicates x participants.

    Parameters
    ----------
    group_sizes, n_boot, seed
        As in :func:`bootstrap_counts`.
    chunk_bytes
        The size of one chunk's counts (default :data:`ipstrial._memory.CHUNK_BYTES`).
    """
    sizes = _check_sizes(group_sizes)
    n_boot = _check_count(n_boot, "n_resamples")
    rngs = streams(seed, len(sizes))
    offsets = {n: None for n in sizes}
    for rows in chunks(n_boot, 8.0 * sum(sizes), chunk_bytes):
        m = rows.stop - rows.start
        out = []
        for rng, n in zip(rngs, sizes, strict=True):
            if offsets[n] is None or offsets[n].shape[0] < m:  # type: ignore[union-attr]
                offsets[n] = np.arange(m, dtype=np.int64)[:, None] * n
            idx = rng.integers(0, n, size=(m, n))
            idx += offsets[n][:m]  # type: ignore[index]
            out.append(np.bincount(idx.ravel(), minlength=m * n).reshape(m, n))
        yield rows, out


def permutation_chunks(
    labels: np.ndarray,
    n_resamples: int,
    seed: SeedLike = None,
    groups: np.ndarray | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Random permutations of ``labels`` (within ``groups``), chunk by chunk: ``(rows, permuted)`` pairs.

    Every replicate is a uniformly random permutation of ``labels`` among the rows of each group (the
    strata of a stratified permutation test; all rows when ``groups`` is None), so the number of rows
    with each label stays that of the data within every group (a permutation test conditions on it;
    Good 2005, *Permutation, Parametric and Bootstrap Tests of Hypotheses*, ch. 3). ``permuted`` has
    shape ``(rows.stop - rows.start, n)`` and the dtype of ``labels``.

    Randomness: one stream per group, spawned from ``seed`` in group order (groups are numbered by
    their sorted codes), consumed chunk after chunk, so the permutations depend only on the seed,
    the labels and the groups, never on the chunk size (the same seed gives the same bits).

    Parameters
    ----------
    labels
        One label (e.g. an arm index) per row.
    n_resamples
        Number of permutations (>= 1).
    seed
        int, SeedSequence, Generator or None.
    groups
        One group code per row, or None.
    chunk_bytes
        The size of one chunk's permuted labels.
    """
    base = np.asarray(labels)
    if base.ndim != 1 or base.size == 0:
        raise ValueError("labels must be a non-empty one-dimensional array")
    n_resamples = _check_count(n_resamples, "n_resamples")
    if groups is None:
        members = [np.arange(base.size)]
    else:
        codes = np.asarray(groups)
        if codes.shape != base.shape:
            raise ValueError(f"groups has shape {codes.shape}, labels {base.shape}")
        members = [np.flatnonzero(codes == g) for g in np.unique(codes)]
    rngs = streams(seed, len(members))
    whole = len(members) == 1 and members[0].size == base.size
    for rows in chunks(n_resamples, float(base.itemsize * base.size), chunk_bytes):
        m = rows.stop - rows.start
        if whole:
            yield rows, rngs[0].permuted(np.broadcast_to(base, (m, base.size)), axis=1)
            continue
        block = np.empty((m, base.size), dtype=base.dtype)
        for rng, idx in zip(rngs, members, strict=True):
            block[:, idx] = rng.permuted(np.broadcast_to(base[idx], (m, idx.size)), axis=1)
        yield rows, block


def bootstrap_means(
    values_by_group: Sequence[Sequence[float] | np.ndarray], n_boot: int, seed: SeedLike = None
) -> np.ndarray:
    """Bootstrap replicate means of each group, resampling within groups: an ``(n_boot, groups)`` array.

    ``means[b, g]`` is the mean of the ``n_g`` values drawn in replicate ``b`` of group ``g``: the same draws
    as :func:`bootstrap_counts` makes for ``group_sizes = [len(y) for y in values_by_group]`` and the same
    ``seed``, so it equals ``counts[g][b] @ y_g / n_g`` up to the rounding of the sum. The drawn values are
    gathered and summed over chunks of replicates (no loop over single replicates; chunks of
    :data:`ipstrial._memory.CHUNK_BYTES` keep the work in cache). The mean of a replicate is the plug-in
    estimate on the resampled data (Efron & Tibshirani 1993, eq. 6.1); differences of columns give
    replicates of mean differences.

    Several columns of the same participants (e.g. cost and effect, ``(n_g, k)`` per group) are
    resampled together, paired: one count weights every column of a participant, and the means are an
    ``(n_boot, groups, k)`` array (computed over the chunks of :func:`bootstrap_count_chunks`, the counts
    of every group at once).

    Parameters
    ----------
    values_by_group
        One sequence of finite numbers per group (e.g. the outcome of each arm), or one ``(n_g, k)``
        array per group (the same ``k`` for every group).
    n_boot, seed
        As in :func:`bootstrap_counts`.
    """
    arrays = [np.asarray(v, dtype=float) for v in values_by_group]
    paired = bool(arrays) and arrays[0].ndim == 2
    groups = arrays if paired else [v.ravel() for v in arrays]
    if not groups:
        raise ValueError("values_by_group is empty: give the values of at least one group")
    width = groups[0].shape[1] if paired else 1
    for g, values in enumerate(groups):
        if paired and (values.ndim != 2 or values.shape[1] != width):
            raise ValueError(
                f"group {g} has values of shape {values.shape}; every group needs (n_g, {width}) values"
            )
        if values.shape[0] == 0:
            raise ValueError(f"group {g} has no values")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"group {g} has missing or infinite values; remove or impute them first")
    n_boot = _check_count(n_boot, "n_resamples")
    kept = 8.0 * n_boot * len(groups) * width
    check_memory(
        kept,
        f"bootstrap means of {n_boot} replicates",
        f"use fewer replicates ({format_bytes(kept)} of replicate means are kept)",
    )
    if paired:
        out = np.empty((n_boot, len(groups), width))
        for rows, counts in bootstrap_count_chunks([len(v) for v in groups], n_boot, seed):
            for g, (matrix, values) in enumerate(zip(counts, groups, strict=True)):
                out[rows, g] = matrix @ values / len(values)
        return out
    out = np.empty((n_boot, len(groups)))
    for g, (rng, values) in enumerate(zip(streams(seed, len(groups)), groups, strict=True)):
        for rows, idx in _index_chunks(rng, values.size, n_boot):
            out[rows, g] = values[idx].sum(axis=1) / values.size
    return out


def counts_in_data_order(counts: Sequence[np.ndarray], group_codes: Sequence[int] | np.ndarray) -> np.ndarray:
    """Put per-group counts side by side in the row order of a data set: an ``(n_boot, n)`` matrix.

    ``group_codes[i]`` is the group (0, 1, ...) of row ``i``; the participants of group ``g`` take
    the columns of ``counts[g]`` in their order of appearance. The result is the frequency weight of
    every row in every replicate, for estimators that fit one model to all groups.
    """
    codes = np.asarray(group_codes)
    if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError("group_codes must be a one-dimensional array of whole numbers")
    if not counts:
        raise ValueError("counts is empty")
    n_boot = counts[0].shape[0]
    out = np.empty((n_boot, codes.size), dtype=np.asarray(counts[0]).dtype)
    for g, matrix in enumerate(counts):
        rows = np.flatnonzero(codes == g)
        if matrix.shape != (n_boot, rows.size):
            raise ValueError(
                f"counts[{g}] has shape {matrix.shape}, but group {g} has {rows.size} rows and the first "
                f"matrix {n_boot} replicates"
            )
        out[:, rows] = matrix
    unknown = ~np.isin(codes, np.arange(len(counts)))
    if unknown.any():
        raise ValueError(
            f"group_codes holds codes outside 0..{len(counts) - 1}: {np.unique(codes[unknown])[:5]}"
        )
    return out


def percentile_interval(draws: Sequence[float] | np.ndarray, alpha: float = 0.05) -> tuple:
    """The bootstrap percentile interval: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the draws.

    Efron & Tibshirani (1993), eq. 13.5. Quantiles are interpolated linearly between order
    statistics (Hyndman & Fan 1996 definition 7, the default of R's ``quantile`` and numpy).
    ``draws`` of shape ``(n_boot,)`` give two floats; of shape ``(n_boot, k)`` two arrays of length
    ``k`` (one interval per column).
    """
    alpha = check_alpha(alpha)
    values = np.asarray(draws, dtype=float)
    if values.ndim not in (1, 2) or values.shape[0] < 2:
        raise ValueError(f"draws must be (n_boot,) or (n_boot, k) with n_boot >= 2, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"draws contain {int(np.sum(~np.isfinite(values)))} missing or infinite values")
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2], axis=0)
    if values.ndim == 1:
        return float(low), float(high)
    return low, high
