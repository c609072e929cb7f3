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

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_analysis, check_count
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._inputs import Sample
from ipstrial._labels import label_of
from ipstrial._memory import CHUNK_BYTES, check_memory, chunks, format_bytes
from ipstrial._random import SeedLike, resolved_seed
from ipstrial.economics._paired import paired_sample
from ipstrial.economics.plane import check_grid
from ipstrial.errors import EstimationError, ParameterError, Problem, TrialDataError
from ipstrial.resampling import bootstrap_means
from ipstrial.results import Result, Row, contrast_label, excluded_extra

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
    given. ``frontier`` lists the frontier arms from the least to the most effective; ``arms`` the arms
    in the order given (the declared order of a Trial), which the per-arm rows follow.
    """

    table: pd.DataFrame
    frontier: tuple[str, ...]
    cost_name: str = "cost"
    effect_name: str = "effect"
    analysis: str = "economics_incremental"
    notes: tuple[str, ...] = ()
    arms: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        cost, effect = display_label(self.cost_name), display_label(self.effect_name)
        return f"Incremental analysis of {cost} per {effect}: frontier " + " -> ".join(self.frontier)

    @property
    def status(self) -> dict[str, str]:
        """Each arm's status."""
        return dict(zip(self.table.arm, self.table.status, strict=True))

    def rows(self) -> tuple[Row, ...]:
        out = []
        has_n = "n" in self.table.columns
        by_arm = self.table.set_index("arm", drop=False)
        order = self.arms or tuple(self.table.arm)
        for r in by_arm.loc[list(order)].itertuples(index=False):
            n = int(r.n) if has_n and not _missing(r.n) else None
            for name, value, se_col in (
                (self.cost_name, r.cost, "cost_se"),
                (self.effect_name, r.effect, "effect_se"),
            ):
                se = getattr(r, se_col) if se_col in self.table.columns else math.nan
                out.append(
                    self._row(
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
                self._row(
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
        raise ParameterError(
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
            Problem("arm", f"{plural(len(table), 'arm')} given", "an incremental analysis needs 2 or more")
        )
    if problems:
        raise TrialDataError(problems)
    return table


@shared_params
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
    @params analysis
    notes
        Sentences shown under the table.

    Raises
    ------
    TrialDataError
        Missing columns, repeated or missing arm labels, non-finite means, fewer than two arms.
    EstimationError
        Two arms with identical mean cost and effect (no ranking is possible).
    """
    analysis = check_analysis(analysis)
    for name, value in (("cost_name", cost_name), ("effect_name", effect_name)):
        if not isinstance(value, str) or not value:
            raise ParameterError(f"{name} must be a non-empty text, got {value!r}")
    if isinstance(notes, str) or not all(isinstance(note, str) for note in notes):
        raise ParameterError(f"notes must be a list of sentences (str), got {notes!r}")
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
        tuple(arms),
    )


# ---------------------------------------------------------------------------------------------
# participant-level input
# ---------------------------------------------------------------------------------------------


def _arm_pairs(sample: Sample, cost: str, effect: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Cost and effect of each analysed arm's participants (paired, in data order; arms in order)."""
    c, e = sample.values[cost], sample.values[effect]
    costs = [c[sample.arms == a] for a in sample.order]
    effects = [e[sample.arms == a] for a in sample.order]
    return costs, effects


@shared_params
def incremental_from_data(
    data: Any,
    cost: str,
    effect: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "economics_incremental",
) -> IncrementalResult:
    """The incremental analysis (:func:`incremental_analysis`) of per-arm sample means.

    For each arm ``a``: ``c̄_a`` and ``ē_a``, the means of ``cost`` and ``effect`` over its analysed
    participants, with standard errors ``s/√n`` (reported on the per-arm ``mean`` rows); then the
    dominance rules of Drummond et al. (2015, ch. 4) on these means. The ICERs are point
    estimates; for their sampling uncertainty use :func:`acceptability_frontier`.

    Parameters
    ----------
    @params data
    cost, effect
        Columns of the per-participant cost (finite, >= 0) and effect (e.g. an employment outcome or a
        QALY column).
    @params arms missing id analysis

    Raises
    ------
    TrialDataError
        From the input gate (absent columns, duplicated ids, near-miss arm labels, negative costs,
        missing values without a policy).
    EstimationError
        An arm with fewer than two participants with both values; two arms with identical means.
    """
    analysis = check_analysis(analysis)
    sample = paired_sample(
        data, cost, effect, arm, treatment, control, id=id, missing=missing, need_control=False
    )
    costs, effects = _arm_pairs(sample, cost, effect)
    means = pd.DataFrame(
        {
            "arm": list(sample.order),
            "cost": [float(np.mean(v)) for v in costs],
            "effect": [float(np.mean(v)) for v in effects],
            "n": [v.size for v in costs],
            "cost_se": [float(np.std(v, ddof=1) / math.sqrt(v.size)) for v in costs],
            "effect_se": [float(np.std(v, ddof=1) / math.sqrt(v.size)) for v in effects],
        }
    )
    result = incremental_analysis(means, cost_name=cost, effect_name=effect, analysis=analysis)
    return dataclasses.replace(result, inputs=sample.inputs)


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
    ``replicate_effects`` are the ``(n_resamples, arms)`` bootstrap means. Rows: one per arm and
    willingness to pay, variant ``"wtp=<value>"``.
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
    n_resamples: int
    cost_name: str = "cost"
    effect_name: str = "effect"
    seed_entropy: int | None = None
    analysis: str = "economics_ceaf"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return (
            f"Cost-effectiveness acceptability frontier ({self.cost_name}, {self.effect_name}): "
            + ", ".join(self.arms)
        )

    @property
    def excluded(self) -> dict[str, int]:
        """Participants excluded per arm by ``missing="complete-case"`` (0 where none)."""
        return self.inputs.excluded_per_arm(self.arms)  # type: ignore[union-attr]

    @property
    def frontier(self) -> pd.DataFrame:
        """The CEAF as a table: ``wtp, arm`` (highest expected net benefit), ``probability``."""
        return pd.DataFrame({"wtp": self.wtp, "arm": list(self.optimal), "probability": self.probability})

    def rows(self) -> tuple[Row, ...]:
        method = (
            f"multi-arm CEAC: share of {self.n_resamples} bootstrap replicates (participants resampled "
            "within arm, cost and effect paired) in which the arm has the highest net benefit (ties "
            "shared); CEAF: arm with the highest expected net benefit (Fenwick et al. 2001)"
        )
        outcome = f"net benefit: wtp x {self.effect_name} - {self.cost_name}"
        seed = {"seed_entropy": str(self.seed_entropy)} if self.seed_entropy is not None else {}
        out = []
        for w, value in enumerate(self.wtp):
            variant = f"wtp={label_of(float(value))}"
            for a in self.arms:
                extra: dict[str, object] = {
                    "wtp": float(value),
                    "optimal": self.optimal[w] == a,
                    "expected_nb": float(self.expected_nb[a].iloc[w]),
                    "n_resamples": self.n_resamples,
                    **seed,
                    **excluded_extra(self.inputs, a),
                }
                out.append(
                    self._row(
                        a,
                        "prob_cost_effective",
                        float(self.ceac[a].iloc[w]),
                        method=method,
                        n=self.n_by_arm[a],
                        outcome=outcome,
                        variant=variant,
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


def _acceptability(boot_cost: np.ndarray, boot_effect: np.ndarray, wtp: np.ndarray) -> np.ndarray:
    """``P_a(λ)`` for every λ and arm: the share of replicates in which arm ``a`` has the highest net
    benefit (ties shared), over blocks of replicates x willingness-to-pay values of bounded size."""
    n_boot, k = boot_cost.shape
    total = np.zeros((wtp.size, k))
    # a block holds the net benefits and the ties of (replicates x wtp values x arms): wtp values in
    # blocks that leave room for at least 64 replicates a chunk, replicates in chunks
    for cols in chunks(wtp.size, 64 * 8.0 * k):
        block = wtp[cols]
        for rows in chunks(n_boot, 8.0 * k * block.size):
            nb = block[None, :, None] * boot_effect[rows, None, :] - boot_cost[rows, None, :]
            best = nb == nb.max(axis=2, keepdims=True)
            total[cols] += (best / best.sum(axis=2, keepdims=True)).sum(axis=0)
    return total / n_boot


@shared_params
def acceptability_frontier(
    data: Any,
    cost: str,
    effect: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    wtp_grid: Sequence[float] | np.ndarray | None = None,
    n_resamples: int = 5000,
    seed: SeedLike = None,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "economics_ceaf",
) -> AcceptabilityFrontier:
    """Multi-arm acceptability curves and the acceptability frontier (Fenwick et al. 2001).

    Bootstrap (Efron & Tibshirani 1993, sec. 8.3; cost-effectiveness use: Briggs, Wonderling &
    Mooney 1997, Health Econ 6:327): in replicate ``b`` the participants of each arm are resampled
    with replacement within the arm, keeping each participant's cost and effect together (the same
    counts from :func:`ipstrial.resampling.bootstrap_count_chunks` weight both), giving means
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
    @params data
    cost, effect
        As in :func:`incremental_from_data` (participants are paired: with ``missing="complete-case"``
        those missing either column are excluded).
    @params arms
    wtp_grid
        Willingness-to-pay values (finite, non-negative, none repeated, cost units per unit of
        effect). ``None`` gives 101 values from 0 to twice the largest ``|Δcost/Δeffect|`` between
        two arms' means.
    n_resamples
        Number of bootstrap replicates (>= 2). The counts are drawn chunk by chunk (the working memory
        does not grow with replicates x participants); the result keeps ``2 x n_resamples x arms``
        replicate means, checked against the memory budget.
    seed
        int, SeedSequence, Generator or None; the same seed gives the same bits (the counts of
        ``bootstrap_counts([n_a, ...], n_resamples, seed)``, arms in the order analysed). The entropy
        of the seed used is reported (``seed_entropy``) so a ``seed=None`` run can be repeated.
    @params missing id analysis
    """
    n_resamples = check_count(n_resamples, "n_resamples", minimum=2)
    analysis = check_analysis(analysis)
    wtp = None if wtp_grid is None else check_grid(wtp_grid)
    source, entropy = resolved_seed(seed)
    sample = paired_sample(
        data, cost, effect, arm, treatment, control, id=id, missing=missing, need_control=False
    )
    costs, effects = _arm_pairs(sample, cost, effect)
    labels = sample.order
    if wtp is None:
        wtp = _default_wtp(np.array([np.mean(v) for v in costs]), np.array([np.mean(v) for v in effects]))
    k = len(labels)
    n = sum(v.size for v in costs)
    kept = 8.0 * n_resamples * k * 2
    check_memory(
        2 * kept + 8.0 * wtp.size * k * 3 + 4.0 * max(float(CHUNK_BYTES), 8.0 * n),
        f"acceptability_frontier with n_resamples={n_resamples}, {k} arms and {wtp.size} willingness-to-pay "
        "values",
        f"use fewer replicates (the replicate means kept take {format_bytes(kept)}; n_resamples=5000 is "
        "plenty for an acceptability curve)",
    )
    means = bootstrap_means(
        [np.column_stack([c, e]) for c, e in zip(costs, effects, strict=True)], n_resamples, source
    )
    boot_cost, boot_effect = np.ascontiguousarray(means[:, :, 0]), np.ascontiguousarray(means[:, :, 1])
    del means
    ceac = _acceptability(boot_cost, boot_effect, wtp)
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
        dict(sample.n_by_arm),
        n_resamples,
        cost,
        effect,
        entropy,
        analysis,
        inputs=sample.inputs,
    )
