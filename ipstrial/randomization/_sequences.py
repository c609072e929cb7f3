"""The allocation sequences :func:`~ipstrial.randomization.properties.simulate_scheme` simulates: the
participants' stratification factors (the same in every simulation, or drawn) and their allocations,
through the package's own implementation of each scheme (block schemes all sequences at once by the block
kernel; the other schemes by their public function, one call per sequence).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial._random import streams
from ipstrial.errors import DesignError, TrialDataError
from ipstrial.randomization.blocks import _missing_strata_problems

# ---------------------------------------------------------------------------
# strata
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Strata:
    """Stratification factors: their levels (in ``groupby(sort=True)`` order) and a sampler."""

    factors: tuple[str, ...]
    levels: tuple[tuple[object, ...], ...]
    fixed: pd.DataFrame | None  # the participants' factor values, the same in every simulation
    fixed_codes: np.ndarray | None  # (n_factors, n)
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

    def frame(self, codes: np.ndarray) -> pd.DataFrame:
        """The factor values of one simulated sequence, codes ``(n_factors, n)``."""
        if self.fixed is not None:
            return self.fixed
        return pd.DataFrame(
            {f: np.asarray(self.levels[j], dtype=object)[codes[j]] for j, f in enumerate(self.factors)}
        )


def _levels_in_group_order(series: pd.Series) -> list[object]:
    """Observed levels in ``DataFrame.groupby(sort=True)`` order (category order for categoricals)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        seen = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in seen]
    return list(pd.Index(pd.unique(series.dropna())).sort_values())


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
            lv = _levels_in_group_order(strata[column])
            index = pd.Index(lv)
            codes.append(index.get_indexer(strata[column]))
            levels.append(tuple(lv))
        return _Strata(
            tuple(map(str, strata.columns)), tuple(levels), strata, np.asarray(codes, dtype=np.int64), None
        )
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
        return _Strata(tuple(factors), tuple(levels), None, None, tuple(probs))
    raise DesignError(
        "strata must be None, a DataFrame (one row per participant, one column per factor) or a mapping "
        "{factor: {level: probability}}"
    )


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------


def _scheme_function(scheme: str) -> Callable[..., Any]:
    """The public function of ``scheme`` (imported when needed: the modules are optional here)."""
    if scheme == "simple":
        from ipstrial.randomization.simple import simple

        return simple
    if scheme == "biased_coin":
        from ipstrial.randomization.simple import biased_coin

        return biased_coin
    if scheme == "minimization":
        from ipstrial.randomization.minimization import minimization

        return minimization
    from ipstrial.randomization import blocks

    return getattr(blocks, scheme)


def _generate_blocks(
    scheme: str,
    params: dict[str, Any],
    ratio: np.ndarray,
    stratum_codes: np.ndarray | None,
    n_strata: int,
    rng: np.random.Generator,
    n_sim: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Arm indices and the completed-block-end mask, both ``(n_sim, n)``, for a block scheme.

    All ``n_sim`` sequences are drawn at once by the package's block generator
    (``blocks._block_batch``, the implementation behind :func:`permuted_blocks` and
    :func:`stratified_blocks`). Stratified: stratum ``s`` draws ``n_sim`` block sequences of the
    largest size the stratum reaches in any simulation from its own stream, and simulation ``i`` uses
    the first ``n_s(i)`` allocations of its sequence, in order of arrival -- the prefix of a
    permuted-block sequence is a permuted-block sequence of that length, so this is the scheme.
    """
    from ipstrial.randomization.blocks import _block_batch

    sizes = list(params["block_sizes"])
    if scheme == "permuted_blocks" or stratum_codes is None:
        arm, _, size, position = _block_batch(n, ratio, sizes, rng, n_sim)
        return arm.astype(np.int64), position == size
    out = np.zeros((n_sim, n), dtype=np.int64)
    ends = np.zeros((n_sim, n), dtype=bool)
    rank = np.empty((n_sim, n), dtype=np.int64)
    for s, stream in enumerate(streams(rng, n_strata)):
        member = stratum_codes == s
        largest = int(member.sum(axis=1).max())
        if largest == 0:
            continue
        arm, _, size, position = _block_batch(largest, ratio, sizes, stream, n_sim)
        rank[:] = np.cumsum(member, axis=1) - 1
        sim, where = np.nonzero(member)
        place = rank[sim, where]
        out[sim, where] = arm[sim, place]
        ends[sim, where] = position[sim, place] == size[sim, place]
    return out, ends


def _generate(
    scheme: str,
    params: dict[str, Any],
    strata: _Strata | None,
    codes: np.ndarray | None,
    seeds: np.ndarray,
    n: int,
) -> np.ndarray:
    """Arm indices ``(n_sim, n)`` of a scheme without blocks: its public function, one call per sequence,
    sequence ``i`` with ``seed=seeds[i]``."""
    n_sim = len(seeds)
    arms = list(params["arms"])
    out = np.empty((n_sim, n), dtype=np.int64)
    function = _scheme_function(scheme)
    index = pd.Index(arms)
    kwargs = {k: v for k, v in params.items() if k != "arms"}
    for i, s in enumerate(seeds):
        if scheme == "minimization":
            assert strata is not None and codes is not None
            allocation = function(strata.frame(codes[:, i, :]), arms, seed=int(s), **kwargs)
        else:
            allocation = function(n, arms, seed=int(s), **kwargs)
        idx = index.get_indexer(allocation.arms)
        if len(idx) != n or np.any(idx < 0):
            raise DesignError(f"{scheme} returned {len(idx)} allocations or unknown arm labels")
        out[i] = idx
    return out
