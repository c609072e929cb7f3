"""The allocation sequences :func:`~ipstrial.randomization.properties.simulate_scheme` simulates: the
participants' stratification factors (the same in every simulation, or drawn) and their allocations,
through the package's own implementation of each scheme (every scheme but the biased coin all sequences
at once by the kernel behind its public function; the biased coin by its public function, one call per
sequence).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._random import streams
from ipstrial.errors import DesignError, TrialDataError
from ipstrial.randomization.balance import _sorted_levels
from ipstrial.randomization.blocks import _missing_strata_problems

# ---------------------------------------------------------------------------
# strata
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Strata:
    """Stratification factors: their levels (in ``groupby(sort=True)`` order) and a sampler."""

    factors: tuple[str, ...]
    levels: tuple[tuple[object, ...], ...]
    fixed_codes: np.ndarray | None  # (n_factors, n): the participants' levels, the same in every simulation
    probabilities: tuple[np.ndarray, ...] | None

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(lv) for lv in self.levels)

    @property
    def labels(self) -> tuple[str, ...]:
        labels = []
        for combo in np.ndindex(*self.sizes):
            labels.append(
                ", ".join(
                    f"{f}={self.levels[j][c]}"
                    for j, (f, c) in enumerate(zip(self.factors, combo, strict=True))
                )
            )
        return tuple(labels)

    def draw(self, rng: np.random.Generator, n_sim: int, n: int) -> np.ndarray:
        """Factor level codes ``(n_factors, n_sim, n)``."""
        if self.fixed_codes is not None:
            return np.broadcast_to(self.fixed_codes[:, None, :], (len(self.factors), n_sim, n))
        assert self.probabilities is not None
        return np.stack([rng.choice(len(p), size=(n_sim, n), p=p) for p in self.probabilities])


def _resolve_strata(strata: object, n: int) -> _Strata | None:
    if strata is None:
        return None
    if isinstance(strata, pd.DataFrame):
        if strata.shape[1] == 0:
            raise DesignError("strata must have one column per stratification factor")
        if len(strata) != n:
            raise DesignError(
                f"strata has {plural(len(strata), 'row')} but n = {n}; give one row per participant in order "
                "of arrival, or a mapping {factor: {level: probability}} to draw the participants' factors"
            )
        problems = _missing_strata_problems(strata)
        if problems:
            raise TrialDataError(problems)
        levels, codes = [], []
        for column in strata.columns:
            lv = _sorted_levels(strata[column])
            index = pd.Index(lv)
            codes.append(index.get_indexer(strata[column]))
            levels.append(tuple(lv))
        factors = tuple(map(str, strata.columns))
        return _Strata(factors, tuple(levels), np.asarray(codes, dtype=np.int64), None)
    if isinstance(strata, Mapping):
        if not strata:
            raise DesignError("strata is an empty mapping; give {factor: {level: probability}}")
        factors, levels, probs = [], [], []
        for factor, spec in strata.items():
            if isinstance(spec, Mapping):
                pairs = list(spec.items())
            elif isinstance(spec, Sequence) and not isinstance(spec, str):
                pairs = [(lv, 1.0 / len(spec)) for lv in spec]
            else:
                raise DesignError(
                    f"strata[{factor!r}] must map levels to probabilities or list the levels (equally likely)"
                )
            if len(pairs) < 1 or len({lv for lv, _ in pairs}) != len(pairs):
                raise DesignError(f"strata[{factor!r}] needs one or more distinct levels, got {pairs!r}")
            try:
                pairs = sorted(pairs, key=lambda kv: kv[0])
            except TypeError:
                pairs = sorted(pairs, key=lambda kv: str(kv[0]))
            p = np.asarray([float(v) for _, v in pairs])
            if np.any(p < 0) or not math.isclose(float(p.sum()), 1.0, abs_tol=1e-9):
                raise DesignError(
                    f"the level probabilities of strata[{factor!r}] must be non-negative and sum to 1; got "
                    f"{dict(pairs)}"
                )
            factors.append(str(factor))
            levels.append(tuple(lv for lv, _ in pairs))
            probs.append(p / p.sum())
        return _Strata(tuple(factors), tuple(levels), None, tuple(probs))
    raise DesignError(
        "strata must be None, a DataFrame (one row per participant, one column per factor) or a mapping "
        "{factor: {level: probability}}"
    )


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------


def _generate(
    scheme: str,
    params: dict[str, Any],
    ratio: np.ndarray,
    strata: _Strata | None,
    codes: np.ndarray | None,
    stratum_codes: np.ndarray | None,
    rng: np.random.Generator,
    n_sim: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The ``n_sim`` simulated sequences of ``scheme``: arm indices ``(n_sim, n)``, the completed-block-end
    mask ``(n_sim, n)`` (block schemes, else None) and the integer seed of every sequence (biased coin,
    else None).

    ``codes`` are the participants' factor level codes ``(n_factors, n_sim, n)`` and ``stratum_codes``
    their strata ``(n_sim, n)`` (None without strata). Every scheme but the biased coin draws all
    sequences at once from ``rng`` through the kernel behind its public function:
    ``simple._simple_batch`` (one ``integers`` draw); ``blocks._block_batch`` (permuted blocks, and
    unstratified schemes) or ``blocks._stratified_batch`` with one stream per stratum spawned from ``rng``
    (stratified blocks: a stratum draws sequences of the largest size it reaches in any simulation, and
    simulation ``i`` uses the first ``n_s(i)`` allocations of its sequence, in order of arrival);
    ``minimization._minimize_batch`` (the participants' level codes, the same in every simulation or
    drawn for each). The biased coin's sequence ``i`` is ``biased_coin(..., seed=seeds[i])`` with
    ``seeds`` drawn from ``rng``: the uniforms each such call draws, walked together by
    ``simple._biased_coin_walk``.
    """
    if scheme in ("permuted_blocks", "stratified_blocks"):
        from ipstrial.randomization.blocks import _block_batch, _stratified_batch

        sizes = list(params["block_sizes"])
        if scheme == "permuted_blocks" or stratum_codes is None:
            arm, _, size, position = _block_batch(n, ratio, sizes, rng, n_sim)
        else:
            assert strata is not None
            n_strata = math.prod(strata.sizes)
            rngs = streams(rng, n_strata)
            arm, _, size, position = _stratified_batch(stratum_codes, n_strata, ratio, sizes, rngs, n_sim)
        return arm.astype(np.int64), position == size, None
    if scheme == "simple":
        from ipstrial.randomization.simple import _simple_batch

        return _simple_batch(n, ratio, rng, n_sim), None, None
    if scheme == "minimization":
        from ipstrial.randomization.minimization import _minimize_batch, check_minimization

        assert strata is not None and codes is not None
        design = check_minimization(
            strata.factors,
            params["arms"],
            params.get("weights"),
            params.get("p", 0.8),
            params.get("imbalance", "range"),
            params.get("ratio"),
        )
        offsets = np.cumsum((0, *strata.sizes[:-1]))  # global level codes: each factor after the previous
        if strata.fixed_codes is not None:  # the same participants in every simulation: (n, F)
            levels = strata.fixed_codes.T + offsets
        else:  # each simulation its own participants: (n_sim, n, F)
            levels = np.moveaxis(codes, 0, -1) + offsets
        arm = _minimize_batch(levels, int(sum(strata.sizes)), design, rng, n_sim)
        return arm.astype(np.int64), None, None
    from ipstrial.randomization.blocks import _check_arms_ratio
    from ipstrial.randomization.simple import _biased_coin_walk, _check_coin_p, _stream

    seeds = rng.integers(0, 2**63 - 1, size=n_sim, dtype=np.int64)
    arms = list(params["arms"])
    _check_arms_ratio(arms, None)
    p = _check_coin_p(params.get("p", 2 / 3))
    # sequence i is biased_coin(n, arms, p=p, seed=seeds[i]): the uniforms that call draws, walked together
    u = np.stack([_stream(int(s))[0].random(n) for s in seeds])
    return _biased_coin_walk(u, len(arms), p).astype(np.int64), None, seeds
