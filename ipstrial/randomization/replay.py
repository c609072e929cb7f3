"""Replaying a trial's allocation scheme: the design, the participants in order of arrival, the replays.

:func:`replay_design` draws ``n_resamples`` replays of the scheme that allocated a trial, for its
participants: the same strata, block sizes and ratio (stratified or unstratified permuted blocks); simple
randomization with the ratio; Efron's biased coin with the same arms and ``p`` (equal allocation) in the
actual order of arrival; minimization with the same factors, weights, ``p`` and ratio in the actual
order of arrival; or a random permutation of the observed arm labels (fixed arm sizes, within strata when
``factors`` are given). The re-randomization test
(:func:`ipstrial.randomization.rerandomization.rerandomization_test`) evaluates its statistic on the same
replays, chunk by chunk (:func:`_replays`), with its participants checked by :func:`design_sample`.

Randomness and memory: the seed is resolved once (:func:`ipstrial._random.resolved_streams`; the result
records ``seed_entropy``) into one root stream, from which one stream per stratum is spawned (one in
all for unstratified schemes, the biased coin and minimization). The ``"permutation"`` scheme draws its
permutations with :func:`ipstrial.resampling.permutation_chunks` (one stream per stratum); the other
schemes draw through their own kernels (:func:`ipstrial.randomization.blocks._block_batch`,
:func:`ipstrial.randomization.simple._simple_batch`,
:func:`ipstrial.randomization.simple._biased_coin_batch`,
:func:`ipstrial.randomization.minimization._minimize_batch`). Replays are generated in chunks of replays
sized by :func:`ipstrial._memory.chunks`, so the working memory does not grow with ``n_resamples`` x
participants; the ``n_resamples x participants`` allocations :func:`replay_design` keeps are checked
against the memory budget first (:func:`ipstrial._memory.check_memory`). The same seed gives the same
bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._checks import check_choice, check_count
from ipstrial._docs import shared_params
from ipstrial._inputs import Sample, gate, participants, source
from ipstrial._labels import label_of
from ipstrial._memory import CHUNK_BYTES, check_memory, chunks
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import DesignError, ParameterError, Participants, Problem, TrialDataError
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import (
    _block_batch,
    _check_arms_ratio,
    _check_design,
    _stratified_batch,
    stratum_labels,
)
from ipstrial.randomization.minimization import (
    MinimizationDesign,
    _minimize_batch,
    check_minimization,
    factor_levels,
    level_codes,
)
from ipstrial.randomization.simple import _biased_coin_batch, _check_coin_p, _simple_batch
from ipstrial.resampling import permutation_chunks

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["SCHEMES", "Replays", "replay_design"]

SCHEMES = ("simple", "biased_coin", "permutation", "permuted_blocks", "stratified_blocks", "minimization")
"""The schemes that can be replayed (``permutation``: a random permutation of the observed arm
labels, i.e. fixed arm sizes, within strata when ``factors`` are given; ``biased_coin``: Efron's biased
coin, equal allocation, with its ``p``)."""

_KEYS = {
    "simple": {"arms", "ratio"},
    "biased_coin": {"arms", "p"},
    "permutation": {"arms", "factors"},
    "permuted_blocks": {"arms", "block_sizes", "ratio"},
    "stratified_blocks": {"arms", "block_sizes", "ratio", "factors"},
    "minimization": {"arms", "factors", "weights", "p", "imbalance", "ratio"},
}
_IGNORED = {"n", "levels", "scheme"}  # recorded in AllocationList.parameters, not design choices
_REPLAY_BYTES = 8
"""Bytes per allocation a chunk of replays is sized for (:data:`ipstrial._memory.CHUNK_BYTES` of them):
those of the float64 arm indicators of the re-randomization test's statistic, so that a chunk is
evaluated at once. The chunks lay out the draws of the block schemes in their streams, so this figure
fixes the replays' bits: :func:`replay_design` and the test draw the same chunks and hence the same
replays. The test sizes the pieces in which it evaluates its statistic itself. The biased coin's chunk
holds the float64 uniforms of its replays (8 bytes per allocation), drawn by one call per chunk, so its
replays do not depend on the chunks."""
_MINIMIZATION_BYTES = 1
"""Minimization advances all replays of a chunk participant by participant, so each chunk costs one pass
of the participant loop: its chunks are sized by the int8 allocations they hold (as many replays as
:data:`ipstrial._memory.CHUNK_BYTES` of allocations), which keeps the loop's passes few."""


# --------------------------------------------------------------------------- the design
@dataclass(frozen=True, eq=False)
class _Design:
    scheme: str
    arms: tuple[str, ...]
    ratio: np.ndarray
    block_sizes: tuple[int, ...] = ()
    factors: tuple[str, ...] = ()
    strata: tuple[str, ...] | None = None  # strata of the design's own list (AllocationList)
    levels: dict[str, list[str]] | None = None  # minimization levels of the design's own list
    minimization: MinimizationDesign | None = None
    p: float | None = None  # the biased coin's p

    def describe(self) -> str:
        ratio = ":".join(map(str, self.ratio.tolist()))
        sizes = ", ".join(map(str, self.block_sizes))
        factors = " x ".join(self.factors)
        if self.scheme == "simple":
            return f"simple randomization (ratio {ratio})"
        if self.scheme == "biased_coin":
            return f"Efron's biased coin (p = {self.p:g}; {len(self.arms)} arms, equal allocation)"
        if self.scheme == "permutation":
            where = f" within strata {factors}" if self.factors else ""
            return f"random permutation of the observed arm labels{where} (arm sizes fixed)"
        if self.scheme == "permuted_blocks":
            return f"permuted blocks (block sizes {sizes}; ratio {ratio})"
        if self.scheme == "stratified_blocks":
            return f"stratified permuted blocks (strata {factors}; block sizes {sizes}; ratio {ratio})"
        m = self.minimization
        assert m is not None
        weights = ", ".join(f"{w:g}" for w in m.weights)
        return (
            f"minimization (factors {', '.join(self.factors)}; weights {weights}; p = {m.p:g}; "
            f"{m.imbalance}; ratio {ratio})"
        )


def _shown_design(design: object) -> str:
    """The ``design=`` argument, for a message."""
    if isinstance(design, AllocationList):
        size = columns_.plural(len(design), "allocation")
        return f"design= (an AllocationList of {size}, scheme {design.scheme!r})"
    text = repr(design)
    return f"design={text if len(text) <= 80 else text[:77] + '...'}"


def _as_dict(design: AllocationList) -> dict[str, Any]:
    """The dict design with the scheme and parameters of an AllocationList (for a message's fix)."""
    keys = _KEYS.get(design.scheme, set())
    out: dict[str, Any] = {"scheme": design.scheme}
    for key, value in design.parameters.items():
        if key in keys and value is not None:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _design_parameters(design: AllocationList | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The scheme and its parameters from an AllocationList or a dict with ``"scheme"`` (checked keys).

    Every error names the argument (``design=...: ...``)."""
    try:
        return _parameters(design)
    except DesignError as exc:
        raise DesignError(f"{_shown_design(design)}: {exc}") from None


def _parameters(design: AllocationList | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(design, AllocationList):
        scheme, params = design.scheme, dict(design.parameters)
    elif isinstance(design, Mapping):
        if "scheme" not in design:
            raise DesignError(f"the design dict needs a 'scheme', one of {SCHEMES}")
        scheme, params = str(design["scheme"]), dict(design)
    else:
        raise DesignError(
            "give the AllocationList of the trial (its scheme and parameters are replayed) or a "
            f"dict such as {{'scheme': 'stratified_blocks', 'factors': ['site'], 'block_sizes': [3, 6]}}; "
            f"got {type(design).__name__}"
        )
    if scheme not in SCHEMES:
        raise DesignError(f"cannot replay scheme {scheme!r}; schemes that can be replayed: {SCHEMES}")
    # a biased coin's ratio is checked (all ones) with its own message in _built, not as an unknown key
    coin_ratio = {"ratio"} if scheme == "biased_coin" else set()
    unknown = sorted(set(params) - _KEYS[scheme] - _IGNORED - coin_ratio)
    if unknown and not isinstance(design, AllocationList):
        raise DesignError(
            f"unknown keys {unknown} for scheme {scheme!r}; allowed: {sorted(_KEYS[scheme])} and 'scheme'"
        )
    arms = params.get("arms")
    if arms is None and params.get("ratio") is not None:
        raise DesignError("a design with a ratio must name its arms in ratio order: add 'arms'")
    if isinstance(arms, str):
        raise DesignError(f"arms must be a list of arm labels, not the string {arms!r}")
    if arms is not None:
        params["arms"] = tuple(label_of(a) for a in arms)
    params["factors"] = tuple(map(str, params.get("factors") or ()))
    if scheme in ("stratified_blocks", "minimization") and not params["factors"]:
        raise DesignError(f"a {scheme} design needs 'factors': the columns it stratifies or minimizes on")
    if scheme in ("permuted_blocks", "stratified_blocks") and "block_sizes" not in params:
        raise DesignError(f"a {scheme} design needs 'block_sizes', e.g. [3, 6]")
    return scheme, params


def _build_design(
    design: AllocationList | Mapping[str, Any], scheme: str, params: dict[str, Any], arms: tuple[str, ...]
) -> _Design:
    """The checked design with its arms (the design's own, else those of the data); its errors name
    ``design=``."""
    try:
        return _built(design, scheme, params, arms)
    except DesignError as exc:
        raise DesignError(f"{_shown_design(design)}: {exc}") from None
    except ParameterError as exc:
        raise ParameterError(f"{_shown_design(design)}: {exc}") from None


def _check_list_length(design: AllocationList | Mapping[str, Any], n: int) -> None:
    """An AllocationList allocated the participants: one allocation per participant, no more, no fewer."""
    if not isinstance(design, AllocationList) or len(design) == n:
        return
    fewer = len(design) < n
    why = (
        "it cannot have allocated them all"
        if fewer
        else "the replays would be those of another sequence length"
    )
    raise DesignError(
        f"{_shown_design(design)}: the list has {columns_.plural(len(design), 'allocation')} and the data "
        f"{columns_.plural(n, 'participant')}, so {why}. Pass the AllocationList that allocated these "
        "participants (one allocation per randomised participant, all of them in the data), or describe the "
        f"scheme as a dict, design={_as_dict(design)!r}, to replay it for these participants"
    )


def _built(
    design: AllocationList | Mapping[str, Any], scheme: str, params: dict[str, Any], arms: tuple[str, ...]
) -> _Design:
    factors = params["factors"]
    ratio = params.get("ratio")
    if scheme in ("permuted_blocks", "stratified_blocks"):
        sizes = tuple(int(b) for b in params["block_sizes"])
        r = _check_design(arms, sizes, ratio)
    else:
        sizes = ()
        r = _check_arms_ratio(arms, ratio)
    strata = levels = minimization = coin_p = None
    if scheme == "biased_coin":
        if not np.all(r == 1):
            raise DesignError(
                f"the biased coin allocates equally; a ratio {':'.join(map(str, r.tolist()))} cannot be "
                "replayed with it (drop 'ratio', or use minimization or permuted blocks for unequal "
                "allocation)"
            )
        coin_p = _check_coin_p(params.get("p", 2 / 3))
    if isinstance(design, AllocationList) and scheme == "stratified_blocks":
        strata = tuple(sorted(map(str, design.frame["stratum"].unique())))
    if scheme == "minimization":
        minimization = check_minimization(
            factors,
            arms,
            params.get("weights"),
            params.get("p", 0.8),
            params.get("imbalance", "range"),
            ratio,
        )
        if isinstance(design, AllocationList) and "levels" in params:
            levels = {str(f): list(map(str, v)) for f, v in params["levels"].items()}
    return _Design(scheme, arms, r, sizes, factors, strata, levels, minimization, coin_p)


# --------------------------------------------------------------------------- the participants
@dataclass(frozen=True, eq=False)
class _Plan:
    """What a replay needs from the data: the participants in order of arrival."""

    design: _Design
    arrival: np.ndarray  # arrival[i] = row position of the i-th participant to arrive
    observed: np.ndarray | None  # observed arm index per row (data order), int8; None without arms
    strata: np.ndarray | None = None  # stratum code per arrival (stratified blocks) or per row (permutation)
    n_strata: int = 1
    codes: np.ndarray | None = None  # minimization level codes per arrival (n, F)
    n_levels: int = 0

    @property
    def n(self) -> int:
        return len(self.arrival)

    @property
    def allocation_bytes(self) -> int:
        """Bytes per allocation a chunk of replays is sized for (:data:`_REPLAY_BYTES`,
        :data:`_MINIMIZATION_BYTES`)."""
        return _MINIMIZATION_BYTES if self.design.scheme == "minimization" else _REPLAY_BYTES


def _design_columns(factors: tuple[str, ...], order: str | None) -> dict[str, str]:
    """The columns a replay reads besides the arm: the design's factors and the order column."""
    extra = {f: "design factor" for f in factors}
    if order is not None:
        extra.setdefault(order, "recruitment order")
    return extra


def _check_order(order: object) -> str | None:
    if order is not None and not isinstance(order, str):
        raise ParameterError(
            f"order must be the name of the enrolment-order column (str) or None, got {order!r}"
        )
    return order


def _plan(
    frame: pd.DataFrame, who: Participants, design: _Design, order: str | None, arms: np.ndarray | None
) -> _Plan:
    """The replay plan of the checked rows ``frame`` (fresh index; ``arms`` their labels, or None)."""
    observed = None
    if arms is not None:
        observed = pd.Index(design.arms).get_indexer(arms).astype(np.int8)
    arrival = np.arange(len(frame))
    if order is not None:
        try:
            arrival = np.argsort(frame[order].to_numpy(), kind="stable")
        except TypeError as exc:
            raise TrialDataError(
                [
                    Problem(
                        order,
                        f"the enrolment-order values cannot be ordered ({exc})",
                        "store the order of arrival as numbers or dates of one type",
                    )
                ]
            ) from None
    strata = codes = None
    n_strata, n_levels = 1, 0
    if design.factors and design.scheme in ("stratified_blocks", "permutation"):
        by_row = design.scheme == "permutation"  # a permutation does not depend on the order of arrival
        factors = frame[list(design.factors)] if by_row else frame[list(design.factors)].iloc[arrival]
        place = np.arange(len(frame)) if by_row else arrival
        label = stratum_labels(factors).to_numpy()
        if design.strata is not None:
            unseen = ~np.isin(label, design.strata)
            if unseen.any():
                mask = np.zeros(len(frame), dtype=bool)
                mask[place[unseen]] = True
                raise TrialDataError(
                    [
                        Problem(
                            ", ".join(design.factors),
                            f"strata {sorted(set(label[unseen]))[:5]} are not strata of the design "
                            f"({list(design.strata)[:10]})",
                            "the design was built on other levels of the stratification factors: use the "
                            "allocation list made for these data, or recode the levels",
                            **who.offending(mask),
                        )
                    ]
                )
        grouped = factors.groupby(list(design.factors), sort=True, observed=True)
        strata = grouped.ngroup().to_numpy()
        n_strata = int(grouped.ngroups)
    if design.scheme == "minimization":
        factors = frame[list(design.factors)].iloc[arrival]
        levels = design.levels if design.levels is not None else factor_levels(factors)
        codes, n_levels = level_codes(factors, levels, who.take(arrival))
    return _Plan(design, arrival, observed, strata, n_strata, codes, n_levels)


def _outside_problem(sample: Sample, design: _Design) -> None:
    """Every participant must carry an arm of the design (the design allocated all of them)."""
    outside = {a: k for a, k in sample.inputs.outside.items() if k}
    for label in sample.order:  # an arm analysed by the gate (a Trial's control) the design lacks
        if label not in design.arms and np.any(sample.arms == label):
            outside[label] = int(np.sum(sample.arms == label))
    if not outside:
        return
    found = ", ".join(f"{a!r} ({k})" for a, k in outside.items())
    raise TrialDataError(
        [
            Problem(
                sample.arm,
                f"{columns_.plural(sum(outside.values()), 'participant')} with an arm not in the design "
                f"{list(design.arms)}: {found}",
                "every randomised participant must carry an arm of the design (the design is replayed for "
                "all of them); pass all randomised participants and a design with their arms",
                count=sum(outside.values()),
            )
        ]
    )


def _arms_after_gate(sample: Sample, declared: tuple[str, ...] | None, trial: bool) -> tuple[str, ...]:
    """The design's arms: its own, else those of the data (a Trial's in declared order, else sorted)."""
    if declared is not None:
        return declared
    return tuple(sample.order) if trial else tuple(sorted(sample.order))


def _check_roles(
    design: AllocationList | Mapping[str, Any],
    factors: tuple[str, ...],
    order: str | None,
    *,
    arm: str | None,
    id: str | None,
    outcomes: tuple[str, ...],
) -> None:
    """A design factor or the order column may not be the arm, the id or an outcome column."""
    roles = {c: "an outcome" for c in outcomes}
    if isinstance(id, str):
        roles[id] = "the id column"
    if isinstance(arm, str):
        roles[arm] = "the arm column"  # other kinds of value are the gate's to refuse
    for factor in factors:
        if factor in roles:
            raise DesignError(
                f"{_shown_design(design)}: the factors list {factor!r}, which is {roles[factor]} of this "
                "analysis; the factors are the baseline columns the allocation stratified or minimized on"
            )
    if order is not None and order in roles:
        raise ParameterError(
            f"order={order!r} is {roles[order]} of this analysis; order names the enrolment-order column "
            "(the order of arrival), or None for row order"
        )


def design_sample(
    data: Any,
    design: AllocationList | Mapping[str, Any],
    *,
    arm: str | None,
    treatment: Any,
    control: Any,
    id: str | None,
    order: str | None,
    outcomes: Mapping[str, str] | None = None,
    missing: str | None = None,
    need_control: bool = True,
) -> tuple[Sample, _Design]:
    """The participants through the input gate with the arms the design replays, and the checked design.

    A design that names its arms (an AllocationList always does) allocated every participant: all its arms
    pass the gate (a Trial's or the given control among them) and a participant of another arm is an
    error. A design without arms replays the compared arms (``treatment`` and ``control``); participants
    of other arms are left out and counted in ``inputs.outside``. The design's factors and the ``order``
    column are checked with the arm and the ids. A missing value of an ``outcomes`` column (column ->
    kind) is an error unless ``missing="complete-case"``: its participant then stays in the sample (the
    design allocated them; the value NaN) and is counted as excluded in ``inputs``.
    """
    from ipstrial.trial import Trial

    scheme, params = _design_parameters(design)
    is_trial = isinstance(data, Trial)
    declared = params.get("arms")
    control_label = label_of(control) if control is not None else (data.control if is_trial else None)
    if declared is not None:  # the design allocated every participant: all its arms are replayed
        replayed = [a for a in declared if a != control_label]
    else:  # a design without arms replays the compared arms; the others are left out and counted
        replayed = treatment
    _check_roles(
        design,
        params["factors"],
        order,
        arm=data.arm if is_trial and arm is None else arm,
        id=data.id if is_trial and id is None else id,
        outcomes=tuple(outcomes or ()),
    )
    sample = gate(
        data,
        arm=arm,
        treatment=replayed,
        control=control,
        id=id,
        outcomes=outcomes,
        extra=_design_columns(params["factors"], order),
        missing=missing,
        keep_rows=True,
        need_control=need_control,
    )
    spec = _build_design(design, scheme, params, _arms_after_gate(sample, declared, is_trial))
    if declared is not None:
        _outside_problem(sample, spec)
    _check_list_length(design, len(sample.frame))
    return sample, spec


def _participants(
    data: Any, design: AllocationList | Mapping[str, Any], arm: str | None, order: str | None, id: str | None
) -> tuple[_Plan, Sample | None]:
    """The checked participants of ``replay_design`` and their replay plan.

    With a Trial or an ``arm`` column the data pass the input gate with every arm of the design (arm
    labels, ids, design factors and the order column checked, :func:`design_sample`); without an arm (a
    DataFrame of the participants' design factors) the same column checks run on the factors, the order
    and the ids.
    """
    from ipstrial.trial import Trial

    if isinstance(data, Trial) or arm is not None:
        sample, spec = design_sample(
            data, design, arm=arm, treatment=None, control=None, id=id, order=order, need_control=False
        )
        return _plan(sample.frame, sample.who, spec, order, sample.arms), sample
    scheme, params = _design_parameters(design)
    if scheme == "permutation":
        raise ParameterError(
            "a 'permutation' design permutes the observed arms: name the arm column with arm=, or pass an "
            "ipstrial.Trial"
        )
    if params.get("arms") is None:
        raise DesignError(
            f"{_shown_design(design)}: without an arm column the design must name its arms: add 'arms', or "
            "name the arm column with arm="
        )
    spec = _build_design(design, scheme, params, params["arms"])
    data, id = source(data, id)
    role = _design_columns(spec.factors, order)
    if id is not None:
        role = {id: "id", **role}
    problems, who = participants(data, role, id)
    fix = "design factors and the order of arrival were known at randomisation: take them from the record"
    for column, what in _design_columns(spec.factors, order).items():
        problems += columns_.check_complete(data[column], who, what, fix)
    if problems:
        raise TrialDataError(problems)
    _check_list_length(design, len(data))
    frame = data.loc[:, list(role)].copy()
    frame.index = pd.RangeIndex(len(frame))
    return _plan(frame, who, spec, order, None), None


# --------------------------------------------------------------------------- the replays
def _replay_chunk(
    plan: _Plan, rngs: list[np.random.Generator], n_rep: int, details: bool = False
) -> tuple[np.ndarray, ...]:
    """``n_rep`` replays in data row order: arm indices ``(n_rep, n)`` int8 (and block details)."""
    d = plan.design
    n = plan.n
    extra: tuple[np.ndarray, ...] = ()
    if d.scheme == "simple":
        arm = _simple_batch(n, d.ratio, rngs[0], n_rep).astype(np.int8)
    elif d.scheme == "biased_coin":
        assert d.p is not None
        arm = _biased_coin_batch(n, len(d.arms), d.p, rngs[0], n_rep)
    elif d.scheme == "permuted_blocks":
        arm, *rest = _block_batch(n, d.ratio, d.block_sizes, rngs[0], n_rep, details)
        extra = tuple(rest)
    elif d.scheme == "stratified_blocks":
        assert plan.strata is not None
        arm, *rest = _stratified_batch(
            plan.strata, plan.n_strata, d.ratio, d.block_sizes, rngs, n_rep, details
        )
        extra = tuple(rest)
    else:
        assert plan.codes is not None and d.minimization is not None
        arm = _minimize_batch(plan.codes, plan.n_levels, d.minimization, rngs[0], n_rep)
    if np.array_equal(plan.arrival, np.arange(n)):
        return (arm, *extra)
    back = np.empty(n, dtype=np.int64)
    back[plan.arrival] = np.arange(n)  # the arrival place of every row
    return tuple(x[:, back] for x in (arm, *extra))


def _replays(
    plan: _Plan, root: np.random.Generator, n: int, details: bool = False
) -> Iterator[tuple[slice, tuple[np.ndarray, ...]]]:
    """The ``n`` replays chunk by chunk, ``(rows, (codes, [block, size, position]))`` in data row order.

    One stream per stratum is spawned from ``root`` (one for unstratified schemes, the biased coin and
    minimization). The permutation scheme draws through :func:`ipstrial.resampling.permutation_chunks`;
    the chunks hold :data:`ipstrial._memory.CHUNK_BYTES` of :attr:`_Plan.allocation_bytes` per allocation.
    """
    per = plan.allocation_bytes
    if plan.design.scheme == "permutation":
        assert plan.observed is not None
        # as many permutations per chunk as CHUNK_BYTES hold at ``per`` bytes per allocation
        chunk_bytes = CHUNK_BYTES * plan.observed.itemsize // per
        for rows, codes in permutation_chunks(
            plan.observed, n, seed=root, groups=plan.strata, chunk_bytes=chunk_bytes
        ):
            yield rows, (codes,)
        return
    rngs = root.spawn(plan.n_strata)
    for rows in chunks(n, per * plan.n, CHUNK_BYTES):
        yield rows, _replay_chunk(plan, rngs, rows.stop - rows.start, details)


@dataclass(frozen=True, eq=False)
class Replays:
    """Replayed allocations of a design, in the row order of the data.

    ``codes[b, i]`` is the arm (an index into ``arms``) of participant ``i`` (row ``i`` of the data)
    in replay ``b``; :meth:`labels` gives the arm labels. For block schemes with ``details=True``,
    ``block`` (0-based, unique within a replay), ``block_size`` and ``position`` (1-based) have the
    same shape; otherwise they are None. ``seed_entropy`` regenerates the replays (None when a Generator
    was passed as the seed).
    """

    codes: np.ndarray
    arms: tuple[str, ...]
    scheme: str
    description: str
    seed_entropy: int | None
    block: np.ndarray | None = None
    block_size: np.ndarray | None = None
    position: np.ndarray | None = None

    def labels(self) -> np.ndarray:
        """Arm labels, an object array of the shape of ``codes``."""
        return np.asarray(self.arms, dtype=object)[self.codes]

    def __len__(self) -> int:
        return self.codes.shape[0]


@shared_params
def replay_design(
    data: pd.DataFrame | Trial,
    design: AllocationList | Mapping[str, Any],
    *,
    arm: str | None = None,
    n_resamples: int = 1000,
    seed: SeedLike = None,
    order: str | None = None,
    details: bool = False,
    id: str | None = None,
) -> Replays:
    """``n_resamples`` replays of the allocation scheme ``design`` for the participants of ``data``.

    The participants arrive in row order (or by the ``order`` column, ties keeping row order) and are
    allocated by the scheme exactly as :func:`~ipstrial.randomization.rerandomization.rerandomization_test`
    replays it (module docstring): stratified permuted blocks per stratum of the design's factors with its
    block sizes and ratio, all replays of a stratum drawn at once
    (:func:`ipstrial.randomization.blocks._block_batch`); minimization with its factors, weights, ``p``
    and ratio (``_minimize_batch``, vectorised over replays); Efron's biased coin with its ``p``
    (``_biased_coin_batch``, vectorised over replays); simple randomization with the ratio; or a
    permutation of the observed arms. Factor levels (strata) not in the design's own list are an error.
    The same data, design, ``n_resamples`` and integer ``seed`` give the same replays.

    Parameters
    ----------
    data
        One row per randomised participant: a DataFrame or an :class:`ipstrial.Trial`. With a Trial, or
        with ``arm`` given, the data pass the input gate with every arm of the design (every participant
        must carry one of them). Without ``arm``, a DataFrame holding the design's factor columns (and the
        order column) is enough, except for the ``"permutation"`` scheme, which permutes the observed
        arms.
    design
        As in :func:`~ipstrial.randomization.rerandomization.rerandomization_test`; without an arm column it
        must name its arms.
    arm
        The arm column of a DataFrame (with a Trial, its own; another name is an error).
    n_resamples
        Number of replays (>= 1).
    @params seed
    order
        Enrolment-order column: participants arrive sorted by it (ties keep row order).
    details
        For block schemes also keep each allocation's block, block size and position.
    @params id

    Returns
    -------
    Replays
        ``codes`` of shape ``(n_resamples, participants)``. Their memory (``n_resamples x participants``
        int8, plus three int64 arrays with ``details``) is checked against the budget first
        (:func:`ipstrial.set_memory_budget`).
    """
    n_resamples = check_count(n_resamples, "n_resamples")
    order = _check_order(order)
    check_choice(details, "details", (True, False))
    plan, _ = _participants(data, design, arm, order, id)
    spec = plan.design
    with_details = bool(details) and spec.scheme in ("permuted_blocks", "stratified_blocks")
    per_cell = 1 + (24 if with_details else 0)
    check_memory(
        float(per_cell) * n_resamples * plan.n,
        f"replay_design with n_resamples={n_resamples:,} and {columns_.plural(plan.n, 'participant')}"
        + (" (details=True)" if with_details else ""),
        "use fewer replays, or rerandomization_test, which evaluates the replays chunk by chunk without "
        "keeping them",
    )
    (root,), recorded = resolved_streams(seed, 1)
    parts = [np.empty((n_resamples, plan.n), dtype=np.int8)]
    if with_details:
        parts += [np.empty((n_resamples, plan.n), dtype=np.int64) for _ in range(3)]
    for rows, chunk in _replays(plan, root, n_resamples, with_details):
        for target, part in zip(parts, chunk, strict=True):
            target[rows] = part
    return Replays(parts[0], spec.arms, spec.scheme, spec.describe(), recorded, *parts[1:])
