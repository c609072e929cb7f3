"""Seed handling: every random draw in ipstrial goes through a ``seed=`` argument.

``seed`` may be an int, a :class:`numpy.random.SeedSequence`, a :class:`numpy.random.Generator`
or ``None`` (fresh OS entropy). Independent streams are spawned from the seed
(:meth:`numpy.random.SeedSequence.spawn`), so the k-th stream depends only on the seed and k:
adding a stream at the end of a list never changes the earlier ones.
"""

from __future__ import annotations

import numpy as np

from ipstrial.errors import ParameterError

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` behind ``seed`` (a Generator's own sequence)."""
    if isinstance(seed, np.random.Generator):
        return seed.bit_generator.seed_seq  # type: ignore[return-value]
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0):
        return np.random.SeedSequence(None if seed is None else int(seed))
    raise ParameterError(
        f"seed must be a non-negative int, a numpy SeedSequence or Generator, or None; got {seed!r}"
    )


def streams(seed: SeedLike, k: int) -> list[np.random.Generator]:
    """``k`` independent generators spawned from ``seed``.

    A Generator passed as ``seed`` is advanced by its own ``spawn`` (numpy >= 1.25), so two
    calls with the same Generator object give different streams, as a user expects.
    """
    if isinstance(seed, np.random.Generator):
        return seed.spawn(k)
    return [np.random.Generator(np.random.PCG64(child)) for child in seed_sequence(seed).spawn(k)]


def entropy_of(seed: SeedLike) -> int | None:
    """The integer that regenerates ``seed`` (its entropy), or None for a Generator."""
    if isinstance(seed, np.random.Generator):
        return None
    entropy = seed_sequence(seed).entropy
    return int(entropy) if isinstance(entropy, int | np.integer) else None


def resolved_streams(seed: SeedLike, k: int) -> tuple[list[np.random.Generator], int | None]:
    """``k`` streams and the integer that regenerates them (None if no integer can).

    The seed is resolved ONCE, so ``seed=None`` records the fresh OS entropy actually used (calling
    :func:`streams` and :func:`entropy_of` separately would draw two different entropies). A
    Generator, or a SeedSequence that was spawned or has spawned children, cannot be rebuilt from an
    integer: None is recorded for them. For an int seed the streams are those of ``streams(seed, k)``.
    """
    if isinstance(seed, np.random.Generator):
        return streams(seed, k), None
    sequence = seed_sequence(seed)
    plain = sequence.spawn_key == () and sequence.n_children_spawned == 0 and sequence.pool_size == 4
    recorded = int(sequence.entropy) if plain and isinstance(sequence.entropy, int | np.integer) else None
    return streams(sequence, k), recorded


def resolved_seed(seed: SeedLike) -> tuple[SeedLike, int | None]:
    """The seed to draw from and the integer that regenerates it, resolved once.

    ``None`` becomes a SeedSequence of fresh OS entropy, and that entropy is recorded; an int is its own
    SeedSequence (the same draws as passing the int); a Generator, or a SeedSequence that cannot be rebuilt
    from an integer, is used as it is and None is recorded. For kernels that take a seed (e.g.
    :func:`ipstrial.resampling.bootstrap_count_chunks`) and results that record ``seed_entropy``.
    """
    if isinstance(seed, np.random.Generator):
        return seed, None
    sequence = seed_sequence(seed)
    _, recorded = resolved_streams(sequence, 0)
    return (np.random.SeedSequence(recorded), recorded) if recorded is not None else (sequence, None)


def check_seed(seed: object) -> SeedLike:
    """``seed`` checked before any computation: None, a non-negative int, a numpy SeedSequence or Generator
    (a ParameterError otherwise: ``'x'``, ``-1``, ``1.5``, NaN, True). Nothing is drawn from it."""
    if seed is not None:
        seed_sequence(seed)  # type: ignore[arg-type]
    return seed  # type: ignore[return-value]
