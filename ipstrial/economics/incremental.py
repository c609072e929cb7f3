"""Incremental cost-effectiveness analysis of more than two arms, and the acceptability frontier.

A trial such as Projekt Inklusion compares three mutually exclusive options (IPS, IPS enhanced and
services as usual). Pairwise ICERs against the control do not say which option to choose; the
standard *incremental* analysis does:

* :func:`incremental_analysis` -- from per-arm mean costs and effects: order by effect, remove
  strictly dominated options, then extendedly dominated ones, until the ICERs along the frontier
  increase (Drummond et al. 2015, *Methods for the Economic Evaluation of Health Care Programmes*,
  4th ed., ch. 4; the same rules as the NICE Decision Support Unit and York teaching material);
  :func:`incremental_from_data` computes the per-arm means from participant-level data first.
* :func:`acceptability_frontier` -- the multi-arm cost-effectiveness acceptability curves and the
  cost-effectiveness acceptability frontier (CEAF; Fenwick, Claxton & Sculpher 2001, Health Econ
  10:779-787) from a bootstrap that resamples participants within arm with cost and effect paired
  (:func:`ipstrial.resampling.bootstrap_counts`).

Costs and effects are "more is more": a higher effect is better, a higher cost is worse. Dominance:
option ``i`` is (strictly) dominated when another option ``j`` costs no more and is at least as
effective, with at least one of the two strictly (``c_j <= c_i``, ``e_j >= e_i``, not both equal).
Two options with identical mean cost and effect cannot be ranked and are an error.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._inputs import prepare, require_frame
from ipstrial._random import SeedLike, seed_sequence
from ipstrial.errors import EstimationError, Problem, TrialDataError
from ipstrial.resampling import bootstrap_counts
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "STATUSES",
    "AcceptabilityFrontier",
    "IncrementalResult",
    "acceptability_frontier",
    "incremental_analysis",
    "incremental_from_data",
]

FRONTIER = "frontier"
DOMINATED = "dominated"
EXTENDED = "extendedly dominated"
STATUSES: tuple[str, ...] = (FRONTIER, DOMINATED, EXTENDED)
"""The status words of :attr:`IncrementalResult.table`."""

_ICER_TOL = 1e-12
"""Relative tolerance when comparing successive ICERs: equal ICERs (collinear options, up to
rounding) keep the middle option on the frontier."""


def _row_method(status: str, dominated_by: tuple[str, ...]) -> str:
    """The method text of an ``icer`` row (incremental analysis, Drummond et al. 2015, ch. 4)."""
    if status == DOMINATED:
        return f"incremental analysis: dominated by {', '.join(dominated_by)}, no ICER"
    text = "incremental analysis: ICER vs the previous frontier arm"
    if status == EXTENDED:
        text += f", extendedly dominated by a mix of {' and '.join(dominated_by)}"
    return text


_NB_CELLS = 1 << 22
"""Net-benefit draws are evaluated in blocks of willingness-to-pay values of about this many cells."""


# ---------------------------------------------------------------------------------------------
# incremental analysis
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class IncrementalResult(Result):
    """The incremental analysis of several options.

    ``table`` has one row per arm, ordered by effect (ties by cost), with the columns ``arm, cost,
    effect, status`` (one of :data:`STATUSES`), ``compared_with`` (frontier arms and extendedly
    dominated arms: the previous frontier arm; dominated arms: the arm that dominates them, a
    frontier arm where one does; ``None`` for the least effective frontier arm), ``delta_cost,
    delta_effect`` (this arm minus ``compared_with``), ``icer`` (``delta_cost / delta_effect``;
    NaN for dominated arms, where an ICER is meaningless, and for the first frontier arm) and
    ``dominated_by`` (the dominating arms, or the two frontier arms whose mixture dominates an
    extendedly dominated arm). Optional columns ``n``, ``cost_se``, ``effect_se`` are kept when
    given. ``frontier`` lists the frontier arms from the least to the most effective.
    """

    table: pd.DataFrame
    frontier: tuple[str, ...]
    cost_name: str = "cost"
    effect_name: str = "effect"
    analysis: str = "economics_incremental"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Incremental analysis of {self.cost_name} per {self.effect_name}: frontier " + " -> ".join(
            self.frontier
        )

    @property
    def status(self) -> dict[str, str]:
        """Each arm's status."""
        return dict(zip(self.table.arm, self.table.status, strict=True))

    def rows(self) -> tuple[Row, ...]:
        out = []
        has_n = "n" in self.table.columns
        for r in self.table.itertuples(index=False):
            n = int(r.n) if has_n and not _missing(r.n) else None
            for name, value, se_col in (
                (self.cost_name, r.cost, "cost_se"),
                (self.effect_name, r.effect, "effect_se"),
            ):
                se = getattr(r, se_col) if se_col in self.table.columns else math.nan
                out.append(
                    Row(
                        self.analysis,
                        r.arm,
                        "mean",
                        value,
                        se=se,
                        method="arm mean" + (", SE = SD/sqrt(n)" if not _missing(se) else ""),
                        n=n,
                        outcome=name,
                        extra={"status": r.status},
                    )
                )
        for r in self.table.itertuples(index=False):
            if r.compared_with is None:
                continue
            n = None
            if has_n:
                other = self.table.loc[self.table.arm == r.compared_with, "n"].iloc[0]
                if not _missing(r.n) and not _missing(other):
                    n = int(r.n) + int(other)
            extra: dict[str, object] = {
                "status": r.status,
                "delta_cost": float(r.delta_cost),
                "delta_effect": float(r.delta_effect),
            }
            if r.dominated_by:
                extra["dominated_by"] = ", ".join(r.dominated_by)
            out.append(
                Row(
                    self.analysis,
                    contrast_label(r.arm, r.compared_with),
                    "icer",
                    r.icer,
                    method=_row_method(r.status, r.dominated_by),
                    n=n,
                    outcome=f"{self.cost_name} per {self.effect_name}",
                    extra=extra,
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The cost-effectiveness plane: every arm (effect on x, cost on y) and the frontier.

        Frontier arms are joined by a line (``gid="frontier"``); each arm's marker has ``gid``
        ``"arm:<label>"`` and its status in the label.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4.5))
        front = self.table.set_index("arm").loc[list(self.frontier)]
        ax.plot(front.effect, front.cost, "-", color="0.3", lw=1.5, gid="frontier", label="frontier")
        markers = {FRONTIER: "o", DOMINATED: "x", EXTENDED: "s"}
        for r in self.table.itertuples(index=False):
            ax.plot(
                [r.effect],
                [r.cost],
                markers[r.status],
                ms=8,
                mfc="none" if r.status != FRONTIER else None,
                gid=f"arm:{r.arm}",
                label=f"{r.arm} ({r.status})",
            )
            ax.annotate(r.arm, (r.effect, r.cost), textcoords="offset points", xytext=(6, 6))
        ax.set_xlabel(f"mean {self.effect_name}")
        ax.set_ylabel(f"mean {self.cost_name}")
        ax.set_title("Cost-effectiveness plane")
        ax.legend(frameon=False, fontsize="small")
        return ax


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, numbers.Real) and math.isnan(float(x)))


def _check_means(means: pd.DataFrame) -> pd.DataFrame:
    """The per-arm means table: columns arm, cost, effect (optional n, cost_se, effect_se)."""
    if not isinstance(means, pd.DataFrame):
        raise TypeError(
            f"means must be a DataFrame with columns arm, cost, effect; got {type(means).__name__}"
        )
    absent = [c for c in ("arm", "cost", "effect") if c not in means.columns]
    if absent:
        raise TrialDataError(
            [
                Problem(
                    None,
                    f"the means table lacks column(s) {absent}; it has {list(means.columns)}",
                    "give one row per arm with columns arm, cost and effect (mean cost and mean effect)",
                )
            ]
        )
    keep = [c for c in ("arm", "cost", "effect", "n", "cost_se", "effect_se") if c in means.columns]
    table = means[keep].reset_index(drop=True).copy()
    problems = []
    if table.arm.isna().any():
        problems.append(Problem("arm", "missing arm labels", "label every row of the means table"))
    table["arm"] = table.arm.astype(str)
    repeated = sorted(set(table.arm[table.arm.duplicated()]))
    if repeated:
        problems.append(Problem("arm", f"arms listed more than once: {repeated}", "give one row per arm"))
    for column in ("cost", "effect"):
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            problems.append(
                Problem(
                    column,
                    f"mean {column} missing or not a finite number for arm(s) {list(table.arm[bad])}",
                    "give a finite mean for every arm",
                )
            )
        table[column] = values
    if len(table) < 2:
        problems.append(
            Problem("arm", f"{len(table)} arm(s) given", "an incremental analysis needs 2 or more")
        )
    if problems:
        raise TrialDataError(problems)
    return table


def incremental_analysis(
    means: pd.DataFrame,
    *,
    cost_name: str = "cost",
    effect_name: str = "effect",
    analysis: str = "economics_incremental",
    notes: Sequence[str] = (),
) -> IncrementalResult:
    """The incremental analysis of mutually exclusive options from their mean cost and effect.

    Drummond et al. (2015), *Methods for the Economic Evaluation of Health Care Programmes*, 4th
    ed., ch. 4 (and the NICE Decision Support Unit / York rules):

    1. order the options by effect, ties by cost;
    2. remove strictly dominated options: ``i`` is dominated by ``j`` when ``c_j <= c_i`` and
       ``e_j >= e_i`` with at least one inequality strict (more costly and no more effective, or
       equally costly and less effective);
    3. along the remaining options (now ordered with increasing effect and cost) compute
       ``ICER_k = (c_k - c_{k-1}) / (e_k - e_{k-1})``; an option whose ICER exceeds that of the next
       more effective option is extendedly dominated (a mixture of its neighbours is cheaper and
       more effective) and removed; recompute and repeat until the ICERs increase. All options
       flagged in one pass are removed together (each lies strictly above the chord between its
       neighbours, so none can be on the frontier); options with equal ICERs (collinear, relative
       tolerance 1e-12) stay.

    The remaining options form the frontier (the lower convex hull of the cost-effectiveness
    plane); each frontier option's ICER is against the previous frontier option.

    Parameters
    ----------
    means
        One row per arm with columns ``arm``, ``cost`` (mean cost) and ``effect`` (mean effect);
        optional ``n``, ``cost_se`` and ``effect_se`` are carried into the result.
    cost_name, effect_name
        Names used for the outcomes in the rows and plot.

    Raises
    ------
    TrialDataError
        Missing columns, repeated or missing arm labels, non-finite means, fewer than two arms.
    EstimationError
        Two arms with identical mean cost and effect (no ranking is possible).
    """
    table = _check_means(means)
    arms = table.arm.to_list()
    cost = table.cost.to_numpy()
    effect = table.effect.to_numpy()
    k = len(arms)
    same = [
        (arms[i], arms[j])
        for i in range(k)
        for j in range(i + 1, k)
        if cost[i] == cost[j] and effect[i] == effect[j]
    ]
    if same:
        raise EstimationError(
            f"arms {same} have identical mean cost and effect: the incremental analysis cannot rank them; "
            "report them as equivalent and analyse one of them"
        )
    order = [int(i) for i in np.lexsort((cost, effect))]
    dominators = {
        i: [
            j
            for j in range(k)
            if j != i
            and cost[j] <= cost[i]
            and effect[j] >= effect[i]
            and (cost[j] < cost[i] or effect[j] > effect[i])
        ]
        for i in range(k)
    }
    status = {i: DOMINATED if dominators[i] else FRONTIER for i in range(k)}
    remaining = [i for i in order if status[i] == FRONTIER]
    while len(remaining) > 2:
        icers = [
            (cost[b] - cost[a]) / (effect[b] - effect[a])
            for a, b in zip(remaining, remaining[1:], strict=False)
        ]
        flagged = {
            remaining[m + 1]
            for m in range(len(icers) - 1)
            if icers[m] - icers[m + 1] > _ICER_TOL * max(abs(icers[m]), abs(icers[m + 1]))
        }
        if not flagged:
            break
        for i in flagged:
            status[i] = EXTENDED
        remaining = [i for i in remaining if i not in flagged]
    frontier = remaining
    on_front = set(frontier)

    records = []
    for i in order:
        record: dict[str, object] = {
            "arm": arms[i],
            "cost": cost[i],
            "effect": effect[i],
            "status": status[i],
        }
        ref: int | None
        dominated_by: tuple[str, ...] = ()
        if status[i] == DOMINATED:
            ranked = sorted(dominators[i], key=lambda j: (j not in on_front, cost[j], -effect[j]))
            ref = ranked[0]
            dominated_by = tuple(arms[j] for j in ranked)
        else:
            below = [j for j in frontier if effect[j] < effect[i]]
            ref = below[-1] if below else None
            if status[i] == EXTENDED:
                above = [j for j in frontier if effect[j] > effect[i]]
                dominated_by = (arms[below[-1]], arms[above[0]])
        if ref is None:
            record |= {
                "compared_with": None,
                "delta_cost": math.nan,
                "delta_effect": math.nan,
                "icer": math.nan,
            }
        else:
            d_cost, d_effect = float(cost[i] - cost[ref]), float(effect[i] - effect[ref])
            icer = d_cost / d_effect if status[i] != DOMINATED and d_effect != 0 else math.nan
            record |= {
                "compared_with": arms[ref],
                "delta_cost": d_cost,
                "delta_effect": d_effect,
                "icer": icer,
            }
        record["dominated_by"] = dominated_by
        for column in ("n", "cost_se", "effect_se"):
            if column in table.columns:
                record[column] = table[column].iloc[i]
        records.append(record)
    return IncrementalResult(
        pd.DataFrame.from_records(records),
        tuple(arms[i] for i in frontier),
        cost_name,
        effect_name,
        analysis,
        tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# participant-level input
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Paired:
    """Cost and effect of each arm's analysed participants (paired, in data order)."""

    labels: tuple[str, ...]
    costs: list[np.ndarray]
    effects: list[np.ndarray]
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def note(self) -> str:
        if not any(self.excluded.values()):
            return ""
        parts = ", ".join(f"{a} {k}" for a, k in self.excluded.items())
        return (
            f"complete case: {sum(self.excluded.values())} participants with missing cost or effect "
            f"excluded ({parts})"
        )


def _as_float(series: pd.Series) -> np.ndarray:
    if series.dtype == bool:
        return series.to_numpy(dtype=float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _paired(
    data: pd.DataFrame,
    cost: str,
    effect: str,
    arm: str,
    arms: Sequence[str] | None,
    missing: str | None,
    id: str | None,
) -> _Paired:
    """Check cost and effect with :func:`prepare` and keep the participants with both known."""
    require_frame(data)
    if arm not in data.columns:
        raise TrialDataError(
            [Problem(None, f"arm column {arm!r} not found", "pass arm= the name of the allocation column")]
        )
    if arms is None:
        labels = tuple(sorted(pd.unique(data[arm].dropna()), key=str))
    else:
        labels = (arms,) if isinstance(arms, str) else tuple(arms)
    if len(labels) < 2:
        raise TrialDataError(
            [
                Problem(
                    arm,
                    f"{len(labels)} arm(s) to compare: {list(labels)}",
                    "name two or more arms with arms=[...] (or leave arms=None to use every arm in the data)",
                )
            ]
        )
    treatments, control = labels[:-1], labels[-1]
    prepare(data, cost, arm, treatments, control, kind="continuous", missing=missing, id=id)
    prepare(data, effect, arm, treatments, control, kind="continuous", missing=missing, id=id)
    rows = data[arm].isin(labels).to_numpy()
    frame = data.loc[rows]
    c, e = _as_float(frame[cost]), _as_float(frame[effect])
    group = frame[arm].to_numpy()
    known = ~np.isnan(c) & ~np.isnan(e)
    excluded = {a: int(np.sum(~known & (group == a))) for a in labels}
    costs = [c[known & (group == a)] for a in labels]
    effects = [e[known & (group == a)] for a in labels]
    small = [a for a, v in zip(labels, costs, strict=True) if v.size < 2]
    if small:
        raise EstimationError(
            f"arm(s) {small} have fewer than 2 participants with both {cost!r} and {effect!r} known: "
            "no standard error or bootstrap is possible"
        )
    return _Paired(labels, costs, effects, excluded)


def incremental_from_data(
    data: pd.DataFrame,
    cost: str,
    effect: str,
    arm: str = "arm",
    arms: Sequence[str] | None = None,
    *,
    missing: str | None = None,
    id: str | None = "participant_id",
    analysis: str = "economics_incremental",
) -> IncrementalResult:
    """The incremental analysis (:func:`incremental_analysis`) of per-arm sample means.

    For each arm ``a``: ``c̄_a`` and ``ē_a``, the means of ``cost`` and ``effect`` over its analysed
    participants, with standard errors ``s/√n`` (reported on the per-arm ``mean`` rows); then the
    dominance rules of Drummond et al. (2015, ch. 4) on these means. The ICERs are point
    estimates; for their sampling uncertainty use :func:`acceptability_frontier`.

    Parameters
    ----------
    data
        One row per participant.
    cost, effect
        Columns of the per-participant cost and effect (e.g. ``cost_total`` and ``employed_18m``
        or a QALY column).
    arm
        The allocation column.
    arms
        The options compared (two or more); ``None`` takes every arm label in the data (sorted).
    missing
        ``None``: a missing cost or effect is an error listing the counts per arm;
        ``"complete-case"``: participants with either missing are excluded (paired), and counted
        per arm in the notes and the rows.
    """
    paired = _paired(data, cost, effect, arm, arms, missing, id)
    means = pd.DataFrame(
        {
            "arm": list(paired.labels),
            "cost": [float(np.mean(v)) for v in paired.costs],
            "effect": [float(np.mean(v)) for v in paired.effects],
            "n": [v.size for v in paired.costs],
            "cost_se": [float(np.std(v, ddof=1) / math.sqrt(v.size)) for v in paired.costs],
            "effect_se": [float(np.std(v, ddof=1) / math.sqrt(v.size)) for v in paired.effects],
        }
    )
    notes = (paired.note,) if paired.note else ()
    return incremental_analysis(means, cost_name=cost, effect_name=effect, analysis=analysis, notes=notes)


# ---------------------------------------------------------------------------------------------
# acceptability curves and frontier
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AcceptabilityFrontier(Result):
    """Multi-arm acceptability curves and the cost-effectiveness acceptability frontier.

    ``wtp`` holds the willingness-to-pay values (cost units per unit of effect). ``ceac`` (one row
    per ``wtp``, one column per arm) is the share of bootstrap replicates in which each arm has the
    highest net benefit ``NB = wtp x effect - cost``; ``expected_nb`` the mean net benefit over the
    replicates. ``optimal[w]`` is the arm with the highest expected net benefit at ``wtp[w]`` and
    ``probability[w]`` its acceptability: together they are the CEAF. ``replicate_costs`` and
    ``replicate_effects`` are the ``(n_boot, arms)`` bootstrap means.
    """

    wtp: np.ndarray
    arms: tuple[str, ...]
    ceac: pd.DataFrame
    expected_nb: pd.DataFrame
    optimal: tuple[str, ...]
    probability: np.ndarray
    replicate_costs: np.ndarray
    replicate_effects: np.ndarray
    n_by_arm: dict[str, int]
    n_boot: int
    cost_name: str = "cost"
    effect_name: str = "effect"
    seed_entropy: int | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    analysis: str = "economics_ceaf"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return (
            f"Cost-effectiveness acceptability frontier ({self.cost_name}, {self.effect_name}): "
            + ", ".join(self.arms)
        )

    @property
    def frontier(self) -> pd.DataFrame:
        """The CEAF as a table: ``wtp, arm`` (highest expected net benefit), ``probability``."""
        return pd.DataFrame({"wtp": self.wtp, "arm": list(self.optimal), "probability": self.probability})

    def rows(self) -> tuple[Row, ...]:
        method = (
            f"multi-arm CEAC: share of {self.n_boot} bootstrap replicates (participants resampled within "
            "arm, cost and effect paired) in which the arm has the highest net benefit (ties shared); "
            "CEAF: arm with the highest expected net benefit (Fenwick et al. 2001)"
        )
        outcome = f"net benefit: wtp x {self.effect_name} - {self.cost_name}"
        seed = {"seed_entropy": str(self.seed_entropy)} if self.seed_entropy is not None else {}
        out = []
        for w, value in enumerate(self.wtp):
            for a in self.arms:
                extra: dict[str, object] = {
                    "wtp": float(value),
                    "optimal": self.optimal[w] == a,
                    "expected_nb": float(self.expected_nb[a].iloc[w]),
                    "n_boot": self.n_boot,
                    **seed,
                }
                if self.excluded.get(a):
                    extra["excluded"] = int(self.excluded[a])
                out.append(
                    Row(
                        self.analysis,
                        a,
                        "prob_cost_effective",
                        float(self.ceac[a].iloc[w]),
                        method=method,
                        n=self.n_by_arm[a],
                        outcome=outcome,
                        extra=extra,
                    )
                )
        return tuple(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Per-arm acceptability curves (``gid="ceac:<arm>"``) and the frontier (``gid="ceaf"``).

        The frontier is drawn as thick dots on the curve of the arm with the highest expected net
        benefit at each willingness to pay.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        for a in self.arms:
            ax.plot(self.wtp, self.ceac[a].to_numpy(), lw=1.5, label=a, gid=f"ceac:{a}")
        ax.plot(
            self.wtp,
            self.probability,
            "o",
            ms=3.5,
            color="black",
            label="frontier (highest expected net benefit)",
            gid="ceaf",
        )
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"willingness to pay per unit of {self.effect_name}")
        ax.set_ylabel("probability cost-effective")
        ax.set_title("Cost-effectiveness acceptability curves and frontier")
        ax.legend(frameon=False, fontsize="small")
        return ax


def _default_wtp(costs: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """0 to twice the largest |Δcost / Δeffect| between two arms' means, 101 points."""
    ratios = [
        abs(costs[i] - costs[j]) / abs(effects[i] - effects[j])
        for i in range(len(costs))
        for j in range(i + 1, len(costs))
        if effects[i] != effects[j]
    ]
    top = max(ratios, default=0.0)
    if not top > 0 or not math.isfinite(top):
        raise EstimationError(
            "the arms' mean effects (or costs) are all equal, so no default willingness-to-pay range can be "
            "chosen; pass wtp_grid=[...]"
        )
    return np.linspace(0.0, 2.0 * top, 101)


def _check_wtp(wtp_grid: Sequence[float] | np.ndarray) -> np.ndarray:
    wtp = np.asarray(wtp_grid, dtype=float)
    if wtp.ndim == 0:
        wtp = wtp.reshape(1)
    if wtp.ndim != 1 or wtp.size == 0:
        raise ValueError(
            f"wtp_grid must be a non-empty one-dimensional list of numbers, got shape {wtp.shape}"
        )
    bad = ~np.isfinite(wtp) | (wtp < 0)
    if bad.any():
        raise ValueError(
            f"wtp_grid must hold finite non-negative willingness-to-pay values; got {wtp[bad][:5].tolist()}"
        )
    return wtp


def acceptability_frontier(
    data: pd.DataFrame,
    cost: str,
    effect: str,
    arm: str = "arm",
    arms: Sequence[str] | None = None,
    wtp_grid: Sequence[float] | np.ndarray | None = None,
    n_boot: int = 5000,
    seed: SeedLike = None,
    *,
    missing: str | None = None,
    id: str | None = "participant_id",
    analysis: str = "economics_ceaf",
) -> AcceptabilityFrontier:
    """Multi-arm acceptability curves and the acceptability frontier (Fenwick et al. 2001).

    Bootstrap (Efron & Tibshirani 1993, sec. 8.3; cost-effectiveness use: Briggs, Wonderling &
    Mooney 1997, Health Econ 6:327): in replicate ``b`` the participants of each arm are resampled
    with replacement within the arm, keeping each participant's cost and effect together (the same
    counts from :func:`ipstrial.resampling.bootstrap_counts` weight both), giving means
    ``c̄_ab`` and ``ē_ab``. At willingness to pay ``λ`` the net benefit is
    ``NB_ab(λ) = λ ē_ab - c̄_ab``, and

    * the acceptability curve of arm ``a`` (multi-arm CEAC) is
      ``P_a(λ) = (1/B) Σ_b 1{NB_ab(λ) = max_j NB_jb(λ)} / #{j: NB_jb(λ) = max}`` -- the share of
      replicates in which ``a`` has the highest net benefit, exact ties shared, so that
      ``Σ_a P_a(λ) = 1``;
    * the frontier (CEAF, Fenwick, Claxton & Sculpher 2001, Health Econ 10:779-787, sec. 3) is the
      arm with the highest *expected* net benefit ``(1/B) Σ_b NB_ab(λ)`` (the decision under
      uncertainty; first arm on ties) together with its ``P_a(λ)``. It is not the arm with the
      highest ``P_a(λ)`` where the net-benefit distributions are skewed.

    Parameters
    ----------
    data, cost, effect, arm, arms, missing, id
        As in :func:`incremental_from_data` (participants are paired: with
        ``missing="complete-case"`` those missing either column are excluded).
    wtp_grid
        Willingness-to-pay values (finite, non-negative, cost units per unit of effect). ``None``
        gives 101 values from 0 to twice the largest ``|Δcost/Δeffect|`` between two arms' means.
    n_boot
        Number of bootstrap replicates (>= 2). Memory: ``n_boot x n`` 8-byte counts.
    seed
        int, SeedSequence, Generator or None; the same seed gives the same bits. The entropy of the
        seed used is reported (``seed_entropy``) so a ``seed=None`` run can be repeated.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or int(n_boot) < 2:
        raise ValueError(f"n_boot must be a whole number >= 2, got {n_boot!r}")
    n_boot = int(n_boot)
    paired = _paired(data, cost, effect, arm, arms, missing, id)
    labels = paired.labels
    if wtp_grid is None:
        wtp = _default_wtp(
            np.array([np.mean(v) for v in paired.costs]), np.array([np.mean(v) for v in paired.effects])
        )
    else:
        wtp = _check_wtp(wtp_grid)
    if isinstance(seed, np.random.Generator):
        seed_used: SeedLike = seed
        entropy = None
    else:
        seed_used = seed_sequence(seed)
        raw = seed_used.entropy
        entropy = int(raw) if isinstance(raw, numbers.Integral) else None
    counts = bootstrap_counts([v.size for v in paired.costs], n_boot, seed_used)
    k = len(labels)
    boot_cost = np.empty((n_boot, k))
    boot_effect = np.empty((n_boot, k))
    for g, (matrix, c, e) in enumerate(zip(counts, paired.costs, paired.effects, strict=True)):
        means = matrix @ np.column_stack([c, e]) / c.size
        boot_cost[:, g], boot_effect[:, g] = means[:, 0], means[:, 1]
    del counts
    ceac = np.empty((wtp.size, k))
    step = max(1, _NB_CELLS // (n_boot * k))
    for start in range(0, wtp.size, step):
        block = wtp[start : start + step]
        nb = block[None, :, None] * boot_effect[:, None, :] - boot_cost[:, None, :]
        best = nb == nb.max(axis=2, keepdims=True)
        ceac[start : start + step] = (best / best.sum(axis=2, keepdims=True)).mean(axis=0)
    expected = wtp[:, None] * boot_effect.mean(axis=0)[None, :] - boot_cost.mean(axis=0)[None, :]
    best_arm = np.argmax(expected, axis=1)
    optimal = tuple(labels[i] for i in best_arm)
    probability = ceac[np.arange(wtp.size), best_arm]
    index = pd.Index(wtp, name="wtp")
    return AcceptabilityFrontier(
        wtp,
        labels,
        pd.DataFrame(ceac, index=index, columns=list(labels)),
        pd.DataFrame(expected, index=index, columns=list(labels)),
        optimal,
        probability,
        boot_cost,
        boot_effect,
        {a: int(v.size) for a, v in zip(labels, paired.costs, strict=True)},
        n_boot,
        cost,
        effect,
        entropy,
        paired.excluded,
        analysis,
        (paired.note,) if paired.note else (),
    )
