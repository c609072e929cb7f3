"""Re-randomization inference: replay the trial's own allocation scheme and recompute a statistic.

The test (Fisher 1935, *The Design of Experiments*, sec. 21; Rosenberger & Lachin, *Randomization in
Clinical Trials*, 2nd ed. 2016, ch. 6; Rosenberger, Uschner & Wang, Stat Med 2019;38:2169-2188).
Under the sharp null hypothesis that a participant's outcome does not depend on the arm, the
outcomes are fixed numbers and the only random element is the allocation. Replaying the *same*
scheme (the same strata, block sizes and ratio; or minimization with the same factors, weights and
``p`` in the actual order of arrival) ``n`` times gives draws ``A*_1..A*_n`` of the allocation, and
the statistic ``T(A*_b)`` computed with the observed outcomes gives the randomization distribution
of ``T``. With ``T`` the observed value,

    two-sided  p = (1 + #{b : |T(A*_b)| >= |T|}) / (1 + n)
    greater    p = (1 + #{b : T(A*_b) >= T}) / (1 + n)
    less       p = (1 + #{b : T(A*_b) <= T}) / (1 + n)

counting the observed allocation once among the ``n + 1`` (Davison & Hinkley 1997, *Bootstrap
Methods and their Application*, eq. 4.11; Phipson & Smyth, Stat Appl Genet Mol Biol 2010;9:39): the
p-value is then valid (never below its nominal level) for any ``n``. Comparisons allow a relative
rounding tolerance of ``1e-9``, so that replays giving the observed value up to rounding count as
ties. Its Monte Carlo standard error is ``sqrt(p (1 - p) / n)``. The two-sided version takes the
randomization distribution to be centred at zero, as it is for a difference between arms under the
null. Replays in which a compared arm is empty (possible only under simple randomization of few
participants) leave the statistic undefined; they are left out and counted, i.e. the test
conditions on both arms being non-empty, as the observed allocation is.

Participants whose outcome is missing (``missing="complete-case"``) are re-randomised with everyone
else, because the design allocated them, and then left out of the statistic: the test treats
missingness as unaffected by the allocation (the sharp null applied to the response indicator).

Interval by test inversion (Fisher 1935 sec. 62; Ernst, Stat Sci 2004;19:676-685, sec. 3.3;
Rosenbaum, *Observational Studies*, 2nd ed. 2002, sec. 2.4.2): under a constant additive effect
``Y_i(treatment) = Y_i(control) + delta`` the control outcomes are ``Y_i - delta x_i`` with
``x_i = 1`` for the observed treatment arm. For the difference in means ``T`` the replayed statistic
of the adjusted outcomes is ``U_b - delta V_b`` with ``U_b`` the replayed difference of the outcomes
and ``V_b`` that of ``x``, and the observed one ``T - delta``, so every ``delta`` is tested with the
same replays in ``O(n)``. The interval is ``{delta : p(delta) > alpha}``; its ends are found by
bracketing outward from ``T`` (steps doubling from the randomization SD) and bisection to a relative
``1e-10``, assuming the set of accepted ``delta`` is an interval, as it is for this statistic in
practice. With more than two arms the hypothesis must also say what a participant of a third arm
would have had in the compared arms; the third arms' effects are then fixed at their observed mean
differences from control (a plug-in for a nuisance parameter, so the interval is approximate).
A binary outcome cannot follow a constant additive effect (``Y + delta`` is 0/1 only for ``delta`` in
-1, 0, 1), so ``interval=True`` with a binary outcome is refused: use
:func:`ipstrial.itt.binary.compare_proportions` (Newcombe or Miettinen-Nurminen intervals) or
Rosenbaum's (2001, Biometrika 88:219-231) attributable effects, which are not implemented here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._inputs import id_series, prepare
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import DesignError, EstimationError, Problem, TrialDataError, offending_ids
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import _block_batch, _check_design, _stratified_batch, stratum_labels
from ipstrial.randomization.minimization import (
    MinimizationDesign,
    _minimize_batch,
    check_minimization,
    factor_levels,
    level_codes,
)
from ipstrial.results import ESTIMANDS, Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["Replays", "RerandomizationResult", "replay_design", "rerandomization_test"]

SCHEMES = ("simple", "permutation", "permuted_blocks", "stratified_blocks", "minimization")
"""The schemes that can be replayed (``permutation``: a random permutation of the observed arm
labels, i.e. fixed arm sizes, within strata when ``factors`` are given)."""

_KEYS = {
    "simple": {"arms", "ratio"},
    "permutation": {"arms", "factors"},
    "permuted_blocks": {"arms", "block_sizes", "ratio"},
    "stratified_blocks": {"arms", "block_sizes", "ratio", "factors"},
    "minimization": {"arms", "factors", "weights", "p", "imbalance", "ratio"},
}
_IGNORED = {"n", "levels", "scheme"}  # recorded in AllocationList.parameters, not design choices
_CHUNK_CELLS = 1 << 21
"""Replays are generated and evaluated in chunks of about this many allocations (2 MB of int8)."""
_TOL = 1e-9


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

    def describe(self) -> str:
        ratio = ":".join(map(str, self.ratio.tolist()))
        sizes = ", ".join(map(str, self.block_sizes))
        factors = " x ".join(self.factors)
        if self.scheme == "simple":
            return f"simple randomization (ratio {ratio})"
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


def _parse_design(design: AllocationList | Mapping[str, Any], data_arms: Sequence[str]) -> _Design:
    """The scheme and its parameters from an AllocationList or a dict with ``"scheme"``."""
    if isinstance(design, AllocationList):
        scheme, params = design.scheme, dict(design.parameters)
    elif isinstance(design, Mapping):
        if "scheme" not in design:
            raise DesignError(f"the design dict needs a 'scheme', one of {SCHEMES}")
        scheme, params = str(design["scheme"]), dict(design)
    else:
        raise DesignError(
            "design must be the AllocationList of the trial (its scheme and parameters are replayed) or a "
            f"dict such as {{'scheme': 'stratified_blocks', 'factors': ['site'], 'block_sizes': [3, 6]}}; "
            f"got {type(design).__name__}"
        )
    if scheme not in SCHEMES:
        hint = " (a biased-coin replay is not implemented yet)" if scheme == "biased_coin" else ""
        raise DesignError(f"cannot replay scheme {scheme!r}{hint}; schemes that can be replayed: {SCHEMES}")
    unknown = sorted(set(params) - _KEYS[scheme] - _IGNORED)
    if unknown and not isinstance(design, AllocationList):
        raise DesignError(
            f"unknown keys {unknown} for scheme {scheme!r}; allowed: {sorted(_KEYS[scheme])} and 'scheme'"
        )
    arms = params.get("arms")
    if arms is None:
        if params.get("ratio") is not None:
            raise DesignError("a design with a ratio must name its arms in ratio order: add 'arms'")
        arms = sorted(map(str, data_arms))
    if isinstance(arms, str):
        raise DesignError(f"arms must be a list of arm labels, not the string {arms!r}")
    arms = tuple(arms)
    factors = tuple(map(str, params.get("factors") or ()))
    if scheme in ("stratified_blocks", "minimization") and not factors:
        raise DesignError(f"a {scheme} design needs 'factors': the columns it stratifies or minimizes on")
    ratio = params.get("ratio")
    if scheme in ("permuted_blocks", "stratified_blocks"):
        if "block_sizes" not in params:
            raise DesignError(f"a {scheme} design needs 'block_sizes', e.g. [3, 6]")
        sizes = tuple(int(b) for b in params["block_sizes"])
        r = _check_design(arms, sizes, ratio)
    else:
        sizes = ()
        r = _check_design(arms, [int(sum(ratio)) if ratio is not None else len(arms)], ratio)
    strata = levels = minimization = None
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
    return _Design(scheme, arms, r, sizes, factors, strata, levels, minimization)


# --------------------------------------------------------------------------- the participants
@dataclass(frozen=True, eq=False)
class _Plan:
    """What a replay needs from the data, in order of arrival."""

    design: _Design
    arrival: np.ndarray  # arrival[i] = row position of the i-th participant to arrive
    observed: np.ndarray  # observed arm index per row (data order)
    strata: np.ndarray | None = None  # stratum code per arrival
    n_strata: int = 1
    codes: np.ndarray | None = None  # minimization level codes per arrival (n, F)
    n_levels: int = 0

    @property
    def n(self) -> int:
        return len(self.arrival)


def _check_frame(data: object) -> None:
    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        raise TrialDataError(
            [Problem(None, "expected a non-empty DataFrame", "pass one row per randomised participant")]
        )


def _column_problem(data: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    absent = [c for c in columns if c not in data.columns]
    if absent:
        shown = ", ".join(repr(str(c)) for c in list(data.columns)[:30])
        raise TrialDataError(
            [
                Problem(
                    None,
                    f"{role} column{'s' if len(absent) > 1 else ''} {absent} not found; the data has {shown}",
                    "pass the names of existing columns (the design's factors must be columns of the data)",
                )
            ]
        )


def _plan(
    data: pd.DataFrame, arm: str, design: _Design, order: str | None, id: str | None, check_arm: bool = True
) -> _Plan:
    _check_frame(data)
    needed = [*([arm] if check_arm else []), *design.factors, *([order] if order else [])]
    _column_problem(data, needed, "arm, factor or order")
    ids = id_series(data, id)
    problems = []
    index = np.full(len(data), -1)
    if check_arm:
        labels = data[arm]
        index = pd.Index(design.arms).get_indexer(labels)
        bad = index < 0
        if bad.any():
            shown, count = offending_ids(ids, bad)
            found = sorted(map(str, pd.unique(labels[bad])))[:5]
            problems.append(
                Problem(
                    arm,
                    f"{count} participants with an arm not in the design {list(design.arms)} ({found})",
                    "every randomised participant must carry an arm of the design; the design's arms are "
                    "replayed for all of them",
                    shown,
                    count,
                )
            )
    arrival = np.arange(len(data))
    if order is not None:
        missing = data[order].isna().to_numpy()
        if missing.any():
            shown, count = offending_ids(ids, missing)
            problems.append(
                Problem(
                    order,
                    f"{count} missing enrolment-order values",
                    "complete the order column",
                    shown,
                    count,
                )
            )
        else:
            arrival = np.argsort(data[order].to_numpy(), kind="stable")
    if design.factors:
        frame = data[list(design.factors)]
        for column in design.factors:
            gone = frame[column].isna().to_numpy()
            if gone.any():
                shown, count = offending_ids(ids, gone)
                problems.append(
                    Problem(
                        column,
                        f"{count} missing values in a design factor",
                        "stratification and minimization factors were known at randomisation: take the "
                        "values from the randomisation record",
                        shown,
                        count,
                    )
                )
    if problems:
        raise TrialDataError(problems)
    strata = codes = None
    n_strata, n_levels = 1, 0
    if design.factors and design.scheme in ("stratified_blocks", "permutation"):
        frame = data[list(design.factors)].iloc[arrival]
        label = stratum_labels(frame).to_numpy()
        if design.strata is not None:
            unseen = ~np.isin(label, design.strata)
            if unseen.any():
                shown = tuple(ids.iloc[arrival].to_numpy()[unseen][:5])
                raise TrialDataError(
                    [
                        Problem(
                            ", ".join(design.factors),
                            f"strata {sorted(set(label[unseen]))[:5]} are not strata of the design "
                            f"({list(design.strata)[:10]})",
                            "the design was built on other levels of the stratification factors: use the "
                            "allocation list made for these data, or recode the levels",
                            shown,
                            int(unseen.sum()),
                        )
                    ]
                )
        grouped = frame.groupby(list(design.factors), sort=True, observed=True)
        strata = grouped.ngroup().to_numpy()
        n_strata = int(grouped.ngroups)
    if design.scheme == "minimization":
        frame = data[list(design.factors)].iloc[arrival]
        levels = design.levels if design.levels is not None else factor_levels(frame)
        codes, n_levels = level_codes(frame, levels, ids.iloc[arrival].to_numpy())
    return _Plan(design, arrival, index.astype(np.int8), strata, n_strata, codes, n_levels)


def _streams(plan: _Plan, seed: SeedLike) -> tuple[list[np.random.Generator], int | None]:
    """One stream per stratum (or one), spawned from a child of the seed, so that replays never reuse
    the streams of a list drawn with the same integer seed."""
    (root,), recorded = resolved_streams(seed, 1)
    return root.spawn(plan.n_strata), recorded


def _replay_chunk(
    plan: _Plan, rngs: list[np.random.Generator], n_rep: int, details: bool = False
) -> tuple[np.ndarray, ...]:
    """``n_rep`` replays in data row order: arm indices ``(n_rep, n)`` int8 (and block details)."""
    d = plan.design
    n = plan.n
    extra: tuple[np.ndarray, ...] = ()
    if d.scheme == "simple":
        draw = rngs[0].integers(0, int(d.ratio.sum()), size=(n_rep, n))
        arm = np.searchsorted(np.cumsum(d.ratio), draw, side="right").astype(np.int8)
    elif d.scheme == "permutation":
        arm = np.empty((n_rep, n), dtype=np.int8)
        observed = plan.observed[plan.arrival]
        groups = (
            [np.arange(n)]
            if plan.strata is None
            else [np.flatnonzero(plan.strata == s) for s in range(plan.n_strata)]
        )
        for s, idx in enumerate(groups):
            block = np.tile(observed[idx], (n_rep, 1))
            arm[:, idx] = rngs[s].permuted(block, axis=1)
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


def _chunks(plan: _Plan, rngs: list[np.random.Generator], n: int, details: bool = False) -> Iterator[tuple]:
    step = max(1, _CHUNK_CELLS // plan.n)
    for first in range(0, n, step):
        rows = slice(first, min(first + step, n))
        yield rows, _replay_chunk(plan, rngs, rows.stop - first, details)


def _check_count(n: object, name: str = "n") -> int:
    if isinstance(n, bool | np.bool_) or not isinstance(n, numbers.Integral) or int(n) <= 0:
        raise ValueError(f"{name} must be a positive whole number of replays; got {n!r}")
    return int(n)


@dataclass(frozen=True, eq=False)
class Replays:
    """Replayed allocations of a design, in the row order of the data.

    ``codes[b, i]`` is the arm (an index into ``arms``) of participant ``i`` (row ``i`` of the data)
    in replay ``b``; :meth:`labels` gives the arm labels. For block schemes with ``details=True``,
    ``block`` (0-based, unique within a replay), ``block_size`` and ``position`` (1-based) have the
    same shape; otherwise they are None.
    """

    codes: np.ndarray
    arms: tuple[str, ...]
    scheme: str
    description: str
    seed: int | None
    block: np.ndarray | None = None
    block_size: np.ndarray | None = None
    position: np.ndarray | None = None

    def labels(self) -> np.ndarray:
        """Arm labels, an object array of the shape of ``codes``."""
        return np.asarray(self.arms, dtype=object)[self.codes]

    def __len__(self) -> int:
        return self.codes.shape[0]


def replay_design(
    data: pd.DataFrame,
    design: AllocationList | Mapping[str, Any],
    n: int = 1000,
    seed: SeedLike = None,
    *,
    arm: str = "arm",
    order: str | None = None,
    details: bool = False,
    id: str | None = "participant_id",
) -> Replays:
    """``n`` independent replays of the allocation scheme ``design`` for the participants of ``data``.

    The participants arrive in row order (or by the ``order`` column, ties keeping row order) and are
    allocated by the scheme exactly as :func:`rerandomization_test` replays it (module docstring):
    stratified permuted blocks per stratum of the design's factors with its block sizes and ratio,
    all replays of a stratum drawn at once (:func:`ipstrial.randomization.blocks._block_batch`);
    minimization with its factors, weights, ``p`` and ratio (``_minimize_batch``, vectorised over
    replays); simple randomization with the ratio; or a permutation of the observed arms (column
    ``arm``, needed only for ``"permutation"``). Factor levels (strata) not in the design's own list
    are an error. The same data, design, ``n`` and integer ``seed`` give the same replays.
    """
    n = _check_count(n)
    labels = data[arm].dropna().unique() if isinstance(data, pd.DataFrame) and arm in data.columns else []
    spec = _parse_design(design, labels)
    plan = _plan(data, arm, spec, order, id, check_arm=spec.scheme == "permutation")
    rngs, recorded = _streams(plan, seed)
    parts = [np.empty((n, plan.n), dtype=np.int8)]
    with_details = details and spec.scheme in ("permuted_blocks", "stratified_blocks")
    if with_details:
        parts += [np.empty((n, plan.n), dtype=np.int64) for _ in range(3)]
    for rows, chunk in _chunks(plan, rngs, n, with_details):
        for target, part in zip(parts, chunk, strict=True):
            target[rows] = part
    return Replays(parts[0], spec.arms, spec.scheme, spec.describe(), recorded, *parts[1:])


# --------------------------------------------------------------------------- the statistic
def _differences(
    codes: np.ndarray, values: np.ndarray, treatments: Sequence[int], control: int
) -> np.ndarray:
    """Difference in means ``mean(values | treatment) - mean(values | control)`` of every replay (row of
    ``codes``) and treatment: ``(n_rep, len(treatments))``, NaN where an arm is empty."""
    means = {}
    for a in {*treatments, control}:
        member = (codes == a).astype(np.float64)
        size = member.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[a] = np.where(size > 0, (member @ values) / size, np.nan)
    return np.column_stack([means[t] - means[control] for t in treatments])


def _count(draws: np.ndarray, observed: float, alternative: str) -> tuple[int, int]:
    """Replays as or more extreme than ``observed`` and replays with a defined statistic."""
    ok = np.isfinite(draws)
    d = draws[ok]
    tol = _TOL * max(1.0, abs(observed))
    if alternative == "two-sided":
        hits = np.abs(d) >= abs(observed) - tol
    elif alternative == "greater":
        hits = d >= observed - tol
    else:
        hits = d <= observed + tol
    return int(hits.sum()), int(ok.sum())


def _p_value(draws: np.ndarray, observed: float, alternative: str) -> tuple[float, float, int]:
    hits, defined = _count(draws, observed, alternative)
    if defined == 0:
        return math.nan, math.nan, 0
    p = (1 + hits) / (1 + defined)
    return p, math.sqrt(p * (1 - p) / defined), defined


def _invert(
    u: np.ndarray, v: np.ndarray, observed: float, alternative: str, alpha: float
) -> tuple[float, float]:
    """The set of constant additive effects ``delta`` not rejected at ``alpha`` (module docstring)."""
    ok = np.isfinite(u) & np.isfinite(v)
    u, v = u[ok], v[ok]
    if u.size == 0:
        return math.nan, math.nan

    def accepted(delta: float) -> bool:
        p, _, _ = _p_value(u - delta * v, observed - delta, alternative)
        return p > alpha

    if not accepted(observed):
        return math.nan, math.nan
    scale = float(np.std(u)) or max(1.0, abs(observed))

    def end(direction: float) -> float:
        inner, step = observed, scale
        for _ in range(200):
            outer = observed + direction * step
            if not accepted(outer):
                break
            inner, step = outer, 2 * step
        else:
            return direction * math.inf
        for _ in range(200):
            if abs(outer - inner) <= 1e-10 * (abs(observed) + scale):
                break
            middle = 0.5 * (inner + outer)
            if accepted(middle):
                inner = middle
            else:
                outer = middle
        return inner

    low = end(-1.0) if alternative in ("two-sided", "greater") else -math.inf
    high = end(1.0) if alternative in ("two-sided", "less") else math.inf
    return low, high


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class RerandomizationResult(Result):
    """The randomization distribution of a statistic under the replayed design, and the test.

    ``distribution[b, j]`` is the statistic of contrast ``j`` in replay ``b`` (NaN where undefined);
    ``observed[j]`` its value for the actual allocation; ``p_value``, ``mc_se`` (Monte Carlo SE of the
    p-value), ``n_defined`` (replays with a defined statistic), ``ci_low``/``ci_high`` (test inversion,
    NaN unless ``interval=True``) are per contrast. See the module docstring for the formulas.
    """

    outcome: str
    contrasts: tuple[str, ...]
    estimand: str
    statistic: str
    observed: np.ndarray
    distribution: np.ndarray
    p_value: np.ndarray
    mc_se: np.ndarray
    n_defined: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    alternative: str
    alpha: float
    n_replays: int
    scheme: str
    design: str
    n_compared: tuple[int, ...]
    excluded: tuple[dict[str, int], ...]
    interval_method: str
    seed: int | None
    analysis: str = "randomization_rerandomization"

    @property
    def null_sd(self) -> np.ndarray:
        """Standard deviation of the randomization distribution, per contrast."""
        return np.nanstd(self.distribution, axis=0)

    def _method(self, j: int) -> str:
        rule = {
            "two-sided": "|T*| >= |T|",
            "greater": "T* >= T",
            "less": "T* <= T",
        }[self.alternative]
        defined = int(self.n_defined[j])
        text = (
            f"re-randomization test: {self.n_replays:,} replays of {self.design}; "
            f"statistic {self.statistic}; "
            f"{self.alternative} p = (1 + #{{{rule}}})/(1 + {defined:,}), the observed allocation counted "
            f"once; Monte Carlo SE {self.mc_se[j]:.2g}"
        )
        if defined < self.n_replays:
            text += f"; {self.n_replays - defined:,} replays with an empty arm left out"
        if self.interval_method:
            text += f"; {self.interval_method}"
        return text

    def rows(self) -> tuple[Row, ...]:
        """One row per contrast: the observed statistic, the randomization p-value and (optional) interval."""
        out = []
        for j, contrast in enumerate(self.contrasts):
            extra: dict[str, object] = {
                "p_value_mc_se": float(self.mc_se[j]),
                "n_replays": int(self.n_replays),
                "n_defined": int(self.n_defined[j]),
                "null_sd": float(self.null_sd[j]),
                "scheme": self.scheme,
                "alternative": self.alternative,
            }
            extra |= {f"excluded_{k}": int(v) for k, v in self.excluded[j].items() if v}
            out.append(
                Row(
                    analysis=self.analysis,
                    contrast=contrast,
                    estimand=self.estimand,
                    estimate=float(self.observed[j]),
                    ci_low=float(self.ci_low[j]),
                    ci_high=float(self.ci_high[j]),
                    p_value=float(self.p_value[j]),
                    method=self._method(j),
                    n=int(self.n_compared[j]),
                    outcome=self.outcome,
                    conf_level=1 - self.alpha,
                    extra=extra,
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histogram of the randomization distribution of each contrast, the observed value marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        for j, contrast in enumerate(self.contrasts):
            draws = self.distribution[:, j]
            draws = draws[np.isfinite(draws)]
            ax.hist(draws, bins=60, alpha=0.5, label=f"{contrast} (replays)")
            ax.axvline(self.observed[j], color=f"C{j}", linestyle="--", label=f"{contrast} observed")
        ax.set_xlabel(self.statistic)
        ax.set_ylabel("replays")
        ax.set_title(f"Randomization distribution, {self.n_replays:,} replays of {self.scheme}")
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------- the test
def rerandomization_test(
    data: pd.DataFrame,
    arm: str,
    design: AllocationList | Mapping[str, Any],
    statistic: str | Callable[[np.ndarray, np.ndarray], float] | None = None,
    n: int = 10_000,
    seed: SeedLike = None,
    alternative: str = "two-sided",
    interval: bool = False,
    outcome: str | None = None,
    *,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    order: str | None = None,
    missing: str | None = None,
    alpha: float = 0.05,
    estimand: str | None = None,
    analysis: str = "randomization_rerandomization",
    id: str | None = "participant_id",
) -> RerandomizationResult:
    """Re-randomization test that replays the trial's own allocation scheme ``n`` times.

    ``p = (1 + #{b : |T(A*_b)| >= |T|}) / (1 + n)`` (two-sided; ``T* >= T`` or ``T* <= T`` one-sided)
    with Monte Carlo SE ``sqrt(p (1 - p) / n)``, where ``A*_b`` are replays of ``design`` and ``T`` the
    statistic (Rosenberger & Lachin 2016, ch. 6; Davison & Hinkley 1997, eq. 4.11 for counting the
    observed allocation once). Optional interval by inverting the test under a constant additive
    effect (Ernst 2004, sec. 3.3). Details, assumptions and references in the module docstring.

    Parameters
    ----------
    data
        One row per randomised participant (all of them: the design allocated everyone), in order of
        arrival unless ``order`` names an enrolment-order column.
    arm
        The column of allocated arms; every value must be an arm of the design.
    design
        The trial's :class:`AllocationList` (its scheme and parameters are replayed: stratified
        blocks with the same strata, block sizes and ratio; permuted blocks; simple; minimization
        with the same factors, weights, ``p`` and ratio, in the actual order of arrival; levels or
        strata absent from the list are an error) or a dict with ``"scheme"`` (one of
        ``simple``, ``permutation``, ``permuted_blocks``, ``stratified_blocks``, ``minimization``) and
        the parameters (``arms``, ``ratio``, ``block_sizes``, ``factors``, ``weights``, ``p``,
        ``imbalance``). ``"permutation"`` permutes the observed labels (fixed arm sizes), within
        strata if ``factors`` are given.
    statistic
        ``None`` (default): the risk difference of a 0/1 ``outcome`` or the difference in means of
        another numeric outcome, ``mean(treatment) - mean(control)``, computed for all replays at once
        from the ``(n, participants)`` assignment matrix; ``"risk_difference"`` or
        ``"mean_difference"`` to choose; or any callable ``statistic(outcome_values, arm_labels) ->
        float`` called once per replay with the analysed outcomes and that replay's arm labels
        (give ``estimand=``, a word of :data:`ipstrial.results.ESTIMANDS`).
    n, seed
        Number of replays (>= 1) and the seed (the same seed gives the same replays).
    alternative
        ``"two-sided"``, ``"greater"`` (treatment higher) or ``"less"``.
    interval
        Also invert the test under a constant additive effect (continuous outcome, default
        statistic only; refused for binary outcomes, see the module docstring).
    outcome
        The outcome column (required).
    treatment, control
        The compared arms; default the first and the last arm of the design (e.g. IPS and SAU for
        arms IPS, IPSE, SAU). ``treatment`` may be a list, each compared with ``control``.
    order
        Enrolment-order column: participants arrive sorted by it (ties keep row order).
    missing
        ``None`` (missing outcomes are an error) or ``"complete-case"``: participants with a missing
        outcome are replayed with everyone and left out of the statistic (counted in the rows).
    alpha
        Level of the interval.
    """
    n = _check_count(n)
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be 'two-sided', 'greater' or 'less'; got {alternative!r}")
    if not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1; got {alpha!r}")
    if outcome is None:
        raise TrialDataError(
            [Problem(None, "no outcome given", "name the outcome column: outcome='employed_18m'")]
        )
    _check_frame(data)
    _column_problem(data, [arm], "arm")
    spec = _parse_design(design, data[arm].dropna().unique())
    plan = _plan(data, arm, spec, order, id)
    treatments = tuple(
        [spec.arms[0]] if treatment is None else ([treatment] if isinstance(treatment, str) else treatment)
    )
    control = spec.arms[-1] if control is None else control
    if control in treatments or len(set(treatments)) != len(treatments):
        raise TrialDataError(
            [
                Problem(
                    arm, f"the compared arms {[*treatments, control]} repeat an arm", "compare distinct arms"
                )
            ]
        )
    for label in (*treatments, control):
        if label not in spec.arms:
            raise TrialDataError(
                [
                    Problem(
                        arm,
                        f"arm {label!r} is not an arm of the design {list(spec.arms)}",
                        "name design arms",
                    )
                ]
            )

    values = data[outcome] if outcome in data.columns else None
    numeric = (
        pd.to_numeric(values, errors="coerce") if values is not None and values.dtype != bool else values
    )
    known = numeric.dropna() if numeric is not None else pd.Series(dtype=float)
    binary = bool(len(known)) and bool(known.isin([0, 1]).all())
    if statistic is None:
        statistic = "risk_difference" if binary else "mean_difference"
    if isinstance(statistic, str):
        if statistic not in ("risk_difference", "mean_difference"):
            raise ValueError(
                f"statistic={statistic!r}: use 'risk_difference', 'mean_difference' or a callable "
                "statistic(outcome_values, arm_labels) -> float"
            )
        if statistic == "risk_difference" and not binary:
            kind = "binary"  # prepare() names the offending values
        else:
            kind = "binary" if binary else "continuous"
        estimand = statistic if estimand is None else estimand
    elif callable(statistic):
        kind = "binary" if binary else "continuous"
        if estimand is None:
            raise ValueError(
                "a callable statistic needs estimand=, the word that names what it estimates, one of: "
                + ", ".join(sorted(ESTIMANDS))
            )
    else:
        raise TypeError(f"statistic must be None, a name or a callable; got {type(statistic).__name__}")
    if estimand not in ESTIMANDS:
        raise ValueError(f"unknown estimand {estimand!r}; allowed: {', '.join(sorted(ESTIMANDS))}")

    others = tuple(a for a in spec.arms if a != control)
    prepared = prepare(data, outcome, arm, others, control, kind=kind, missing=missing, id=id)
    analysed = np.flatnonzero(numeric.notna().to_numpy()) if missing else np.arange(len(data))
    if len(analysed) != len(prepared.y):  # pragma: no cover - prepare keeps exactly these rows
        raise EstimationError("internal error: analysed rows do not match the prepared outcome")
    y = prepared.y
    observed_codes = plan.observed[analysed][None, :]
    t_idx = [spec.arms.index(t) for t in treatments]
    c_idx = spec.arms.index(control)
    arms_array = np.asarray(spec.arms, dtype=object)

    if callable(statistic):
        if interval:
            raise EstimationError(
                "interval=True needs the default difference statistic (the interval inverts the test "
                "under a constant additive effect, computed from the replays in closed form); drop "
                "interval or the callable"
            )
        description = getattr(statistic, "__name__", "user statistic")
        contrasts = (contrast_label(treatments[0], control),)
        observed = np.array([float(statistic(y, arms_array[observed_codes[0]]))])
    else:
        if interval and binary:
            raise EstimationError(
                "interval=True with a binary outcome: a constant additive effect cannot hold for a 0/1 "
                "outcome (Y + delta is 0 or 1 only for delta = -1, 0, 1), so inverting the test gives no "
                "interval; use ipstrial.itt.binary.compare_proportions (Newcombe or Miettinen-Nurminen "
                "interval of the risk difference) for an interval, or Rosenbaum's (2001) attributable "
                "effects, which ipstrial does not implement"
            )
        word = "risk difference" if statistic == "risk_difference" else "difference in means"
        description = f"{word} of {outcome}, mean(treatment) - mean(control)"
        contrasts = tuple(contrast_label(t, control) for t in treatments)
        observed = _differences(observed_codes, y, t_idx, c_idx)[0]
    if not np.all(np.isfinite(observed)):
        raise EstimationError(f"the statistic is undefined for the observed allocation ({observed.tolist()})")

    x_needed = interval and not callable(statistic)
    if x_needed:
        arms_obs = plan.observed[analysed]
        arm_range = np.arange(len(spec.arms))
        means = np.array([y[arms_obs == a].mean() if np.any(arms_obs == a) else 0.0 for a in arm_range])
        adjusted, indicators = [], []
        for t in t_idx:  # arms other than t and control moved to the control scale (plug-in effects)
            plug = np.where(np.isin(arm_range, [t, c_idx]), 0.0, means - means[c_idx])
            adjusted.append(y - plug[arms_obs])
            indicators.append((arms_obs == t).astype(np.float64))
        u_draws = np.empty((n, len(t_idx)))
        v_draws = np.empty((n, len(t_idx)))

    rngs, recorded = _streams(plan, seed)
    distribution = np.empty((n, len(contrasts)))
    for rows, (codes,) in _chunks(plan, rngs, n):
        codes = codes[:, analysed]
        if callable(statistic):
            labels = arms_array[codes]
            distribution[rows, 0] = [float(statistic(y, labels[b])) for b in range(labels.shape[0])]
            continue
        distribution[rows] = _differences(codes, y, t_idx, c_idx)
        if x_needed:
            for j, t in enumerate(t_idx):
                u_draws[rows, j] = _differences(codes, adjusted[j], [t], c_idx)[:, 0]
                v_draws[rows, j] = _differences(codes, indicators[j], [t], c_idx)[:, 0]

    k = len(contrasts)
    p_value, mc_se, n_defined = np.empty(k), np.empty(k), np.zeros(k, dtype=np.int64)
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):
        p_value[j], mc_se[j], n_defined[j] = _p_value(distribution[:, j], float(observed[j]), alternative)
        if x_needed:
            low[j], high[j] = _invert(
                u_draws[:, j], v_draws[:, j], float(observed[j]), alternative, float(alpha)
            )
    interval_method = ""
    if x_needed:
        interval_method = (
            f"{1 - alpha:.0%} interval: the constant additive effects not rejected at {alpha:g} "
            "(test inversion, bisection)"
        )
        if len(spec.arms) > 2:
            interval_method += "; effects of the other arms fixed at their observed mean differences"
    arms_compared = [(t, control) for t in (treatments if not callable(statistic) else treatments[:1])]
    counts = prepared.n_by_arm
    n_compared = tuple(counts[t] + counts[c] for t, c in arms_compared)
    if callable(statistic):
        n_compared = (len(y),)
    excluded = tuple({a: prepared.excluded.get(a, 0) for a in pair} for pair in arms_compared)
    return RerandomizationResult(
        outcome=outcome,
        contrasts=contrasts,
        estimand=estimand,
        statistic=description,
        observed=observed,
        distribution=distribution,
        p_value=p_value,
        mc_se=mc_se,
        n_defined=n_defined,
        ci_low=low,
        ci_high=high,
        alternative=alternative,
        alpha=float(alpha),
        n_replays=n,
        scheme=spec.scheme,
        design=spec.describe()
        + (f" in order of arrival by {order}" if order else " in order of arrival (row order)"),
        n_compared=n_compared,
        excluded=excluded,
        interval_method=interval_method,
        seed=recorded,
        analysis=analysis,
    )
