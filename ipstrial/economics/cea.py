"""Cost-effectiveness alongside a randomised trial: ICER with its quadrant, net benefit, CEAC and EVPI.

:func:`cost_effectiveness` compares each treatment arm with the control on a participant-level cost
(e.g. DKK over 18 months) and effect (a binary outcome such as employment, hours, or QALYs from
:func:`ipstrial.economics.qaly_auc`). Notation for one treatment ``t`` against the control ``c``: ``C``
cost, ``E`` effect, ``ΔC = mean(C | t) − mean(C | c)``, ``ΔE`` likewise, ``λ`` the willingness to pay
(cost units per unit of effect; for a binary outcome: per additional person with the outcome).

Estimates (Drummond et al. 2015, *Methods for the Economic Evaluation of Health Care Programmes*, 4th
ed., ch. 4 and 11; Glick, Doshi, Sonnad & Polsky 2014, *Economic Evaluation in Clinical Trials*, 2nd
ed., ch. 7-9):

* ``ΔC``, ``ΔE``: differences of arm means (unadjusted) or of g-computation means from the cost and
  effect models (adjusted, :mod:`ipstrial.economics._models`). Normal theory:
  ``Var(ΔC) = s²_C,t/n_t + s²_C,c/n_c`` (sample variances, ``n − 1`` denominators),
  ``Cov(ΔC, ΔE) = s_CE,t/n_t + s_CE,c/n_c``; Wald interval and two-sided z test. Bootstrap: the
  percentile interval of the replicates (Barber & Thompson 2000, Stat Med 19:3219).
* ``ICER = ΔC / ΔE`` always with its quadrant of the cost-effectiveness plane (Black 1990, Med
  Decis Making 10:212; :func:`~ipstrial.economics.quadrant`). A negative ICER is a different thing in
  the dominant and the dominated quadrant and is never shown without the quadrant (row ``extra`` and
  ``method``). With ``ΔE = 0`` the ICER is undefined (reported as NaN with a note).
* Fieller's interval for the ICER (Willan & O'Brien 1996, Health Econ 5:297;
  :func:`~ipstrial.economics.fieller_interval`): bounded exactly when ``ΔE`` is significantly
  different from 0 at level ``alpha``; otherwise two half-lines or the whole line, and the row says so.
* ``INMB(λ) = λΔE − ΔC`` (Stinnett & Mullahy 1998, Med Decis Making 18:S68), normal theory with
  ``Var = λ² Var ΔE + Var ΔC − 2λ Cov`` and, always, the bootstrap percentile interval.
* ``prob_cost_effective(λ)``: the share of bootstrap replicates with ``INMB > 0``; over ``wtp_grid``
  this is the cost-effectiveness acceptability curve (van Hout, Al, Gordon & Rutten 1994, Health
  Econ 3:309; Fenwick, Claxton & Sculpher 2001, Health Econ 10:779).
* ``evpi(λ)`` per participant: ``E_b[max_k NB_k] − max_k E_b[NB_k]`` over the compared arms ``k``
  with ``NB_k = λE_k − C_k`` (Claxton 1999, J Health Econ 18:341; Briggs, Claxton & Sculpher 2006,
  *Decision Modelling for Health Economic Evaluation*, ch. 7). Only differences between arms matter,
  so with the control's net benefit as 0 it is ``E[max(0, max_t INMB_t)] − max(0, max_t E[INMB_t])``.
  Multiply by the number of future participants for the population EVPI.

Bootstrap: nonparametric, participants resampled within arm (arm sizes fixed), cost and effect of a
participant kept together (paired) because one frequency weight applies to both; the counts are those
of ``ipstrial.resampling.bootstrap_counts([n_t1, ..., n_tk, n_c], n_resamples, seed)`` with the groups
in the order treatments then control and the participants of each arm in data order, drawn chunk by
chunk (:func:`ipstrial.resampling.bootstrap_count_chunks`, the same bits), so the working memory is one
chunk of counts whatever the number of replicates times participants. Unadjusted replicate means are
matrix products per chunk (no loop over replicates); the control arm's resample is shared by all
treatments in a replicate, so the draws are joint across arms (needed for the multi-arm EVPI).

Memory: the result keeps the replicate draws (``n_resamples x treatments`` pairs ``(ΔC, ΔE)`` and their
table) and the curves over ``wtp_grid``; their size is estimated before anything is drawn and a call over
the memory budget (:func:`ipstrial.set_memory_budget`, 2 GiB by default) is refused with the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._bootstrap import replicate_summary
from ipstrial._checks import check_alpha, check_analysis, check_choice, check_count, column_name, column_names
from ipstrial._docs import shared_params
from ipstrial._memory import CHUNK_BYTES, check_memory, format_bytes
from ipstrial._random import SeedLike, resolved_seed
from ipstrial.economics import _models
from ipstrial.economics._paired import paired_sample
from ipstrial.economics.plane import (
    QUADRANT_TEXT,
    QUADRANTS,
    check_grid,
    check_wtp,
    fieller_interval,
    net_benefit_summaries,
    quadrant,
    quadrant_codes,
    summary_bytes,
)
from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.resampling import bootstrap_means
from ipstrial.results import Result, Row, contrast_label, excluded_extra
from ipstrial.stats.normal import p_two_sided, wald_interval

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping

    from matplotlib.axes import Axes

__all__ = ["COST_MODELS", "EFFECT_MODELS", "CostEffectivenessResult", "cost_effectiveness"]

COST_MODELS = ("ols", "gamma")
EFFECT_MODELS = ("auto", "ols", "logistic")
GRID_POINTS = 201


def _money(x: float) -> str:
    """A willingness to pay for text: ``350000.0 -> "350,000"``."""
    return f"{x:,.10g}"


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CostEffectivenessResult(Result):
    """Cost-effectiveness of each treatment against the control (see :func:`cost_effectiveness`).

    Attributes
    ----------
    estimates
        One row per treatment: ``contrast, treatment, delta_cost, delta_effect``; normal theory
        ``se_cost, se_effect, cov_cost_effect``; bootstrap ``boot_se_*``, ``boot_low_*`` and
        ``boot_high_*`` for ``* = cost, effect, inmb``; ``icer, quadrant, fieller_low,
        fieller_high, fieller_kind, fieller_note``; ``inmb, se_inmb``; ``prob_cost_effective,
        evpi`` (at ``wtp``) and the shares of bootstrap draws in each quadrant (``p_dominant,
        p_dominated, p_north_east, p_south_west``).
    arm_means
        Observed arm means, one row per arm in the declared order: ``arm, n, cost_mean, cost_sd,
        effect_mean, effect_sd, excluded``.
    draws
        The cost-effectiveness plane draws, one row per replicate and treatment: ``replicate,
        contrast, delta_cost, delta_effect`` (replicates that could not be refitted are absent).
    ceac
        ``wtp`` and, per contrast, the probability that the treatment is cost-effective (INMB > 0).
    evpi_curve
        ``wtp``, the pairwise EVPI per contrast and, with several treatments, ``all arms``.
    quadrants
        The quadrant of each contrast; :attr:`quadrant` gives it directly for one treatment.
    n_by_arm
        Participants analysed per arm, in the declared order.
    notes
        Notes of the model fits (warnings of the statsmodels start values, recorded).
    """

    cost: str
    effect: str
    arm: str
    treatments: tuple[str, ...]
    control: str
    wtp: float
    wtp_grid: np.ndarray
    estimates: pd.DataFrame
    arm_means: pd.DataFrame
    draws: pd.DataFrame
    ceac: pd.DataFrame
    evpi_curve: pd.DataFrame
    quadrants: dict[str, str]
    evpi_all: float
    n_resamples: int
    failed_replicates: int
    n_by_arm: dict[str, int]
    method: str
    covariates: tuple[str, ...] = ()
    baseline_utility: str | None = None
    cost_model: str = "mean"
    effect_model: str = "mean"
    alpha: float = 0.05
    seed_entropy: int | None = None
    notes: tuple[str, ...] = ()
    analysis: str = "economics_cost_effectiveness"

    @property
    def title(self) -> str:
        from ipstrial.results import contrast_label, display_label

        contrasts = ", ".join(contrast_label(t, self.control) for t in self.treatments)
        cost, effect = display_label(self.cost), display_label(self.effect)
        return f"Cost-effectiveness of {contrasts}: {cost} per {effect}"

    @property
    def quadrant(self) -> str | dict[str, str]:
        """The quadrant of the point estimate (a dict by contrast when there are several treatments)."""
        if len(self.treatments) == 1:
            return next(iter(self.quadrants.values()))
        return dict(self.quadrants)

    @property
    def adjusted(self) -> bool:
        """Whether cost and effect models with covariates were used."""
        return bool(self.covariates) or self.baseline_utility is not None

    @property
    def excluded(self) -> dict[str, int]:
        """Participants excluded per arm by ``missing="complete-case"`` (0 where none)."""
        return self.inputs.excluded_per_arm(tuple(self.n_by_arm))  # type: ignore[union-attr]

    @property
    def missing_note(self) -> str:
        """A sentence on the participants excluded by the missing-data policy, or an empty string."""
        return "" if self.inputs is None else self.inputs.excluded_note()

    def rows(self) -> tuple[Row, ...]:
        missing_note = self.missing_note
        note = f"; {missing_note}" if missing_note else ""
        out: list[Row] = []
        for m in self.arm_means.itertuples(index=False):
            extra = excluded_extra(self.inputs, m.arm)
            for column, mean, sd in (
                (self.cost, m.cost_mean, m.cost_sd),
                (self.effect, m.effect_mean, m.effect_sd),
            ):
                se = sd / math.sqrt(m.n)
                low, high = wald_interval(mean, se, self.alpha)
                out.append(
                    self._row(
                        m.arm,
                        "mean",
                        mean,
                        se=se,
                        ci_low=low,
                        ci_high=high,
                        method=f"observed arm mean, normal-theory interval{note}",
                        n=m.n,
                        outcome=column,
                        extra=extra,
                    )
                )
        both = f"{self.cost}, {self.effect}"
        lam = _money(self.wtp)
        used = self.n_resamples - self.failed_replicates
        replicates = columns_.plural(used, "replicate")
        boot = f"nonparametric bootstrap within arm, cost and effect paired ({replicates}"
        boot += f", {self.failed_replicates} not refitted" if self.failed_replicates else ""
        boot += "), percentile interval"
        normal = (
            "sandwich (M-estimation) variance of the g-computation contrasts"
            if self.adjusted
            else "normal theory, Var = s²_t/n_t + s²_c/n_c"
        )
        for e in self.estimates.itertuples(index=False):
            t = e.treatment
            n = self.n_by_arm[t] + self.n_by_arm[self.control]
            common = excluded_extra(self.inputs, t, self.control)
            inmb_text = f" INMB = λΔE − ΔC at λ = {lam};"
            for estimand, outcome, key, what in (
                ("delta_cost", self.cost, "cost", ""),
                ("delta_effect", self.effect, "effect", ""),
                ("inmb", both, "inmb", inmb_text),
            ):
                est = getattr(e, "delta_" + key if key != "inmb" else "inmb")
                se = getattr(e, f"se_{key}")
                extra = common | ({"wtp": self.wtp} if estimand == "inmb" else {})
                model = self._model_text(estimand)
                low, high = wald_interval(est, se, self.alpha)
                out.append(
                    self._row(
                        e.contrast,
                        estimand,
                        est,
                        se=se,
                        ci_low=low,
                        ci_high=high,
                        p_value=p_two_sided(est, se),
                        method=f"{model};{what} {normal}, Wald interval and z test{note}",
                        n=n,
                        outcome=outcome,
                        extra=extra,
                    )
                )
                out.append(
                    self._row(
                        e.contrast,
                        estimand,
                        est,
                        se=getattr(e, f"boot_se_{key}"),
                        ci_low=getattr(e, f"boot_low_{key}"),
                        ci_high=getattr(e, f"boot_high_{key}"),
                        method=f"{model};{what} {boot}; se = SD of the replicates{note}",
                        n=n,
                        outcome=outcome,
                        variant="bootstrap",
                        extra=extra | {"n_resamples": used},
                    )
                )
            icer_extra = common | {
                "quadrant": e.quadrant,
                "fieller": e.fieller_note,
                "p_dominant": e.p_dominant,
                "p_dominated": e.p_dominated,
                "p_north_east": e.p_north_east,
                "p_south_west": e.p_south_west,
            }
            if e.fieller_kind == "exclusive":
                icer_extra |= {"fieller_low": e.fieller_low, "fieller_high": e.fieller_high}
            bounded = e.fieller_kind == "bounded"
            if e.delta_effect == 0:
                icer_extra["icer_note"] = (
                    "ICER undefined: ΔE = 0 exactly (division by zero; infinite if ΔC ≠ 0); decide on ΔC "
                    "and the net benefit"
                )
            out.append(
                self._row(
                    e.contrast,
                    "icer",
                    e.icer,
                    ci_low=e.fieller_low if bounded else math.nan,
                    ci_high=e.fieller_high if bounded else math.nan,
                    method=f"ICER = ΔC/ΔE, quadrant {QUADRANT_TEXT[e.quadrant]}; Fieller interval "
                    f"(Willan & O'Brien 1996), {normal}: "
                    + ("bounded" if bounded else "no finite interval, ΔE not significant (extra 'fieller')")
                    + note,
                    n=n,
                    outcome=both,
                    extra=icer_extra,
                )
            )
            mc = math.sqrt(e.prob_cost_effective * (1 - e.prob_cost_effective) / used)
            out.append(
                self._row(
                    e.contrast,
                    "prob_cost_effective",
                    e.prob_cost_effective,
                    method=f"share of the bootstrap replicates with INMB > 0 at λ = {lam} "
                    f"({columns_.plural(used, 'replicate')} within arm, cost and effect paired){note}",
                    n=n,
                    outcome=both,
                    extra=common | {"wtp": self.wtp, "mc_se": mc, "n_resamples": used},
                )
            )
            out.append(
                self._row(
                    e.contrast,
                    "evpi",
                    e.evpi,
                    method=f"EVPI per participant at λ = {lam}: E[max(0, INMB)] − max(0, E[INMB]) "
                    f"over the bootstrap replicates{note}",
                    n=n,
                    outcome=both,
                    extra=common | {"wtp": self.wtp, "scope": "pairwise", "n_resamples": used},
                )
            )
        if len(self.treatments) > 1:
            arms = tuple(self.n_by_arm)
            out.append(
                self._row(
                    ", ".join(arms),
                    "evpi",
                    self.evpi_all,
                    method=f"EVPI per participant at λ = {lam} over all arms: E[max_k NB_k] − "
                    f"max_k E[NB_k] over the joint bootstrap replicates{note}",
                    n=sum(self.n_by_arm.values()),
                    outcome=both,
                    extra={"wtp": self.wtp, "scope": "all arms", "n_resamples": used},
                )
            )
        return tuple(out)

    def _model_text(self, estimand: str) -> str:
        if not self.adjusted:
            return {
                "delta_cost": "difference of arm means",
                "delta_effect": "difference of arm means",
                "inmb": "from differences of arm means",
            }[estimand]
        covs = ", ".join(self.covariates) or "no covariates"
        cost = f"{'OLS' if self.cost_model == 'ols' else 'gamma GLM (log link)'} cost model (arm + {covs})"
        extra_u = f" + {self.baseline_utility}" if self.baseline_utility else ""
        effect = f"{'OLS' if self.effect_model == 'ols' else 'logistic'} effect model (arm + {covs}{extra_u})"
        text = {"delta_cost": cost, "delta_effect": effect, "inmb": f"{cost} and {effect}"}[estimand]
        return f"g-computation over the {text}"

    def plot(
        self,
        ax: Axes | None = None,
        kind: str = "plane",
        *,
        colors: Mapping[str, str] | None = None,
        currency: str | None = None,
    ) -> Axes:
        """Draw the cost-effectiveness plane (``kind="plane"``) or the acceptability curve (``"ceac"``).

        The plane shows the bootstrap cloud of ``(ΔE, ΔC)`` per contrast, the point estimates, the
        willingness-to-pay line ``ΔC = λ ΔE`` through the origin across the whole plane (clipped to the
        axes; below it INMB > 0) and the quadrant labels in the corners, which the axis range keeps clear of
        the data (the data fill at most the middle 76 % of each axis). The acceptability curve shows
        ``P(INMB > 0)`` in percent over ``wtp_grid`` up to a little past where the curves stop moving
        (the first λ after which every curve stays within 0.5 percentage points of its value at the grid's
        end, times 1.25, and at least 1.1 λ), with the reference ``wtp`` marked (Fenwick et al. 2001,
        Health Econ 10:779). Amounts have thousands separators and the ``currency`` (default: the unit
        of the cost column in :func:`ipstrial.report.format.current_labels`). Each contrast is drawn in
        its treatment arm's colour (``colors``, default :func:`ipstrial.report.palette.arm_colors`).
        """
        import matplotlib.pyplot as plt

        from ipstrial.report.figures import column_label, money_axis, money_text, percent_axis
        from ipstrial.report.format import PROPORTION_UNITS, current_labels
        from ipstrial.report.palette import figure_style, resolve_colors

        kind = check_choice(kind, "kind", ("plane", "ceac"))
        labels = current_labels()
        money = currency if currency is not None else labels.unit(self.cost)
        money_suffix = f" ({money})" if money else ""
        per = column_label(self.effect)
        with figure_style():
            palette = resolve_colors(colors, list(self.n_by_arm))
            colour_of = {contrast_label(t, self.control): palette[t] for t in self.treatments}
            if ax is None:
                _, ax = plt.subplots(figsize=(7.2, 4.4), layout="constrained")
            if kind == "ceac":
                grid = self.ceac.wtp.to_numpy(dtype=float)
                curves = [c for c in self.ceac.columns if c != "wtp"]
                for label in curves:
                    ax.plot(grid, self.ceac[label], color=colour_of.get(label, "0.2"), label=label)
                reference = f"λ = {money_text(self.wtp)}"
                ax.axvline(self.wtp, color="0.4", linestyle=":", linewidth=1.2, label=reference)
                ax.set_xlim(grid[0], _ceac_right(grid, self.ceac[curves].to_numpy(dtype=float), self.wtp))
                ax.set_ylim(0, 1)
                percent_axis(ax.yaxis)
                money_axis(ax.xaxis)
                ax.set_xlabel(f"Willingness to pay per unit of {per}{money_suffix}")
                ax.set_ylabel("Probability cost-effective, %")
                ax.set_title("Cost-effectiveness acceptability curve", loc="left")
                ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
                return ax
            xs: list[float] = [0.0]
            ys: list[float] = [0.0]
            for e in self.estimates.itertuples(index=False):
                colour = colour_of.get(e.contrast, "0.2")
                d = self.draws[self.draws.contrast == e.contrast]
                ax.scatter(d.delta_effect, d.delta_cost, s=4, alpha=0.25, color=colour, linewidths=0)
                ax.scatter(
                    [e.delta_effect],
                    [e.delta_cost],
                    s=60,
                    color=colour,
                    edgecolors="black",
                    zorder=3,
                    label=f"{e.contrast} ({e.quadrant})",
                )
                xs.extend([float(d.delta_effect.min()), float(d.delta_effect.max()), float(e.delta_effect)])
                ys.extend([float(d.delta_cost.min()), float(d.delta_cost.max()), float(e.delta_cost)])
            x_low, x_high = _clear_range(min(xs), max(xs))
            y_low, y_high = _clear_range(min(ys), max(ys))
            ax.axhline(0, color="black", linewidth=0.8)
            ax.axvline(0, color="black", linewidth=0.8)
            ends = _line_in_box(self.wtp, x_low, x_high, y_low, y_high)
            if ends is not None:
                (ax_, ay_), (bx_, by_) = ends
                ax.plot(
                    [ax_, bx_],
                    [ay_, by_],
                    color="0.4",
                    linestyle="--",
                    linewidth=1.2,
                    label=f"λ = {money_text(self.wtp)} per unit",
                )
            ax.set_xlim(x_low, x_high)
            ax.set_ylim(y_low, y_high)
            style = {"fontsize": 9, "color": "0.35"}
            ax.text(0.98, 0.98, "north-east", transform=ax.transAxes, ha="right", va="top", **style)
            ax.text(0.02, 0.98, "dominated", transform=ax.transAxes, ha="left", va="top", **style)
            ax.text(0.98, 0.02, "dominant", transform=ax.transAxes, ha="right", va="bottom", **style)
            ax.text(0.02, 0.02, "south-west", transform=ax.transAxes, ha="left", va="bottom", **style)
            money_axis(ax.yaxis)
            if labels.unit(self.effect) in PROPORTION_UNITS:
                percent_axis(ax.xaxis)
                ax.set_xlabel(f"Δ {per}, percentage points")
            else:
                ax.set_xlabel(f"Δ {per}")
            ax.set_ylabel(f"Δ {column_label(self.cost)}{money_suffix}")
            ax.set_title("Cost-effectiveness plane", loc="left")
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        return ax


def _clear_range(low: float, high: float) -> tuple[float, float]:
    """An axis range in which ``[low, high]`` fills the middle 76 % (12 % free at each end, for labels)."""
    span = (high - low) or max(abs(high), 1.0)
    pad = span * 0.12 / 0.76
    return low - pad, high + pad


def _line_in_box(
    slope: float, x_low: float, x_high: float, y_low: float, y_high: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The segment of ``y = slope * x`` inside the box (Liang-Barsky clipping of the line through 0)."""
    if slope == 0:
        return ((x_low, 0.0), (x_high, 0.0)) if y_low <= 0 <= y_high else None
    left = max(x_low, min(y_low / slope, y_high / slope))
    right = min(x_high, max(y_low / slope, y_high / slope))
    if left >= right:
        return None
    return (left, slope * left), (right, slope * right)


def _ceac_right(grid: np.ndarray, curves: np.ndarray, wtp: float) -> float:
    """The right end of an acceptability curve's axis: 1.25 x the first λ after which every curve stays
    within 0.005 of its value at the grid's end, at least 1.1 x the reference λ, at most the grid's end."""
    end = grid[-1]
    if len(grid) < 2:
        return float(max(end, wtp) or 1.0)
    moving = np.abs(curves - curves[-1:, :]) > 0.005
    rows = np.flatnonzero(moving.any(axis=1))
    settled = grid[min(rows[-1] + 1, len(grid) - 1)] if len(rows) else grid[0]
    right = max(1.25 * settled, 1.1 * wtp, grid[1])
    return float(min(right, end) if end > grid[0] else right)


# ---------------------------------------------------------------------------------------------
# the unadjusted bootstrap
# ---------------------------------------------------------------------------------------------


def _unadjusted_draws(
    pairs: Sequence[np.ndarray], n_resamples: int, seed: SeedLike, n_treatments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Replicate differences of arm means ``ΔC (B, T)`` and ``ΔE (B, T)``.

    ``pairs[g]`` holds the (cost, effect) columns of group ``g`` (treatments, then the control last);
    replicate ``b``'s means of group ``g`` are ``counts_g[b] @ pairs[g] / n_g``
    (:func:`ipstrial.resampling.bootstrap_means`, the two columns paired).
    """
    means = bootstrap_means(pairs, n_resamples, seed)  # (B, groups, 2)
    control = means[:, -1:, :]
    treated = means[:, :n_treatments, :]
    return treated[:, :, 0] - control[:, :, 0], treated[:, :, 1] - control[:, :, 1]


def _kept_bytes(n_resamples: int, n_treatments: int) -> float:
    """What the draws take while they are summarised: ``(ΔC, ΔE)`` per replicate and treatment, the
    replicate means or refits they are computed from, the draws table (replicate, contrast and both
    deltas) while it is built, the quadrant codes and the percentile work on one column at a time."""
    return float(n_resamples) * (96.0 * n_treatments + 40.0)


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------


@shared_params
def cost_effectiveness(
    data: Any,
    cost: str,
    effect: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    wtp: float,
    n_resamples: int = 5000,
    seed: SeedLike = None,
    wtp_grid: Sequence[float] | np.ndarray | None = None,
    covariates: str | Sequence[str] | None = None,
    cost_model: str = "ols",
    effect_model: str = "auto",
    baseline_utility: str | None = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "economics_cost_effectiveness",
) -> CostEffectivenessResult:
    """Incremental cost, effect, ICER, net benefit, acceptability curve and EVPI of each treatment.

    Point estimates: ``ΔC`` and ``ΔE`` (arm-mean differences, or g-computation contrasts of a cost and
    an effect model with ``covariates``/``baseline_utility``), ``ICER = ΔC/ΔE`` with its quadrant and
    Fieller's interval (Willan & O'Brien 1996, Health Econ 5:297), ``INMB = λΔE − ΔC`` (Stinnett &
    Mullahy 1998), the probability of cost-effectiveness ``P(INMB > 0)`` and the EVPI per participant
    ``E[max_k NB_k] − max_k E[NB_k]`` (Claxton 1999) at ``λ = wtp``; the formulas, the bootstrap and
    the models are in the module docstring.

    Parameters
    ----------
    @params data
    cost, effect
        Columns: cost per participant (finite, >= 0) and effect (0/1 outcome, hours, QALYs, ...).
    @params arm
    wtp
        Reference willingness to pay, a positive number in cost units per unit of effect (for a 0/1
        effect: per additional person with the outcome; for QALYs: per QALY).
    n_resamples, seed
        Bootstrap replicates (>= 2) and seed (int, SeedSequence or Generator; the same seed gives the
        same bits). Counts: ``bootstrap_counts([n_t..., n_c], n_resamples, seed)``, arms in the order
        treatments then control, participants in data order (drawn chunk by chunk).
    wtp_grid
        Willingness-to-pay values for the acceptability and EVPI curves (>= 0, none repeated).
        Default: 201 equally spaced values from 0 to ``2 * wtp`` (the reference value is the middle).
    covariates
        Baseline covariates of the cost and effect models (a name or a list; None: unadjusted arm
        means).
    cost_model
        ``"ols"`` or ``"gamma"`` (GLM, log link; needs every cost > 0). Used with covariates only.
    effect_model
        ``"auto"`` (logistic for a 0/1 effect, else OLS), ``"ols"`` or ``"logistic"``.
    baseline_utility
        Baseline utility column (e.g. the EQ-5D index at randomisation) added to the effect model only
        (QALYs; Manca et al. 2005). Implies the adjusted analysis.
    @params alpha missing id analysis

    Returns
    -------
    CostEffectivenessResult
        Rows per arm (``mean`` of cost and effect) and per contrast: ``delta_cost``, ``delta_effect``
        and ``inmb`` twice (variant ``""``: normal theory; ``"bootstrap"``: percentile interval),
        ``icer`` (Fieller interval; ``extra``: ``quadrant``, ``fieller``, shares of the draws per
        quadrant), ``prob_cost_effective`` and ``evpi``; with several treatments also ``evpi`` over all
        arms. Attributes ``quadrant``, ``draws``, ``ceac``, ``evpi_curve``, ``inputs``.

    Raises
    ------
    TrialDataError
        Missing columns or arms, duplicated ids, near-miss arm labels; missing costs or effects
        without a policy; negative or non-numeric costs; bad or missing covariates.
    EstimationError
        An effect with no variation at all (the ICER and every ratio are undefined: a cost-minimisation
        question, analyse the cost alone); an arm with fewer than two participants; a model that cannot
        be fitted; more than 5 % of the bootstrap refits failing.
    ParameterError
        A willingness to pay that is not a positive number; bad ``alpha``, ``n_resamples``, models,
        grid, ``analysis``.
    MemoryBudgetError
        The replicate draws and curves kept would exceed the memory budget.
    """
    wtp = check_wtp(wtp)
    grid = np.linspace(0.0, 2.0 * wtp, GRID_POINTS) if wtp_grid is None else check_grid(wtp_grid)
    alpha = check_alpha(alpha)
    n_resamples = check_count(n_resamples, "n_resamples", minimum=2)
    cost_model = check_choice(cost_model, "cost_model", COST_MODELS)
    effect_model = check_choice(effect_model, "effect_model", EFFECT_MODELS)
    analysis = check_analysis(analysis)
    covariates = column_names(covariates, "covariates")
    if baseline_utility is not None:
        baseline_utility = column_name(baseline_utility, "baseline_utility")
        if baseline_utility in covariates:
            raise ParameterError(
                f"{baseline_utility!r} is both in covariates and baseline_utility; name it once "
                "(baseline_utility adds it to the effect model only)"
            )
    source, entropy = resolved_seed(seed)
    sample = paired_sample(
        data,
        cost,
        effect,
        arm,
        treatment,
        control,
        id=id,
        missing=missing,
        effect_model=effect_model,
        covariates=(*covariates, baseline_utility) if baseline_utility else covariates,
    )
    who = sample.who
    c_values, e_values = sample.values[cost], sample.values[effect]
    adjusted = bool(covariates) or baseline_utility is not None
    if baseline_utility is not None:
        _, _, problems = columns_.numbers_of(sample.frame[baseline_utility], "utilities", who)
        if problems:
            raise TrialDataError(problems)
    values = np.unique(e_values)
    if values.size < 2:
        raise EstimationError(
            f"every analysed participant has {effect} = {values[0]:g}: with no variation in the effect "
            "ΔE is 0 in every resample, so the ICER, its interval and the acceptability curve are "
            "undefined. This is a cost-minimisation question: analyse the cost alone (e.g. "
            f"ipstrial.itt.compare_means on {cost!r})"
        )
    binary = bool(np.all(np.isin(e_values, (0.0, 1.0))))
    resolved_effect = ("logistic" if binary else "ols") if effect_model == "auto" else effect_model
    if adjusted and cost_model == "gamma" and np.any(c_values <= 0):
        shown = who.offending(c_values <= 0)
        noun = "rows at positions" if shown["positions"] else "participant ids"
        raise EstimationError(
            f"the gamma cost model needs positive costs; {columns_.plural(shown['count'], 'participant')} "
            f"{'has' if shown['count'] == 1 else 'have'} {cost} = 0 "
            f"({noun} {', '.join(shown['ids'])}). Use cost_model='ols', or a two-part model for the zeros"
        )

    treatments, control_label, order = sample.treatments, sample.control, sample.order
    compared = sample.compared
    n_t = len(treatments)
    codes = pd.Index(compared).get_indexer(sample.arms)
    sizes = [int(np.sum(codes == g)) for g in range(len(compared))]
    n = len(c_values)

    # memory: what the draws and curves keep, and the working memory of one chunk, before drawing
    chunk = max(float(CHUNK_BYTES), 8.0 * n)
    X_cost = X_eff = None
    names: list[list[str]] = []
    if adjusted:
        X_cost, X_eff, *names = _models.designs(
            sample.frame, sample.arms, treatments, sample.arm, covariates, baseline_utility
        )
        working = _models.working_bytes(n, max(X_cost.shape[1], X_eff.shape[1]), chunk)
    else:
        working = 4.0 * chunk + 16.0 * n
    kept = _kept_bytes(n_resamples, n_t)
    curves, blocks = summary_bytes(n_t, grid.size)
    curves += 8.0 * grid.size * (2 * n_t + 2)  # the CEAC and EVPI tables
    working += blocks
    parts = {"replicates": kept, "grid": curves, "working": working}
    fix = {
        "replicates": f"use fewer replicates (the draws kept take {format_bytes(kept)}; n_resamples=5000 is "
        "plenty for percentile intervals and the acceptability curve)",
        "grid": f"use a shorter wtp_grid (the curves over it take {format_bytes(curves)})",
        "working": f"the working memory (one chunk of replicates and the models, {n} participants) takes "
        f"{format_bytes(working)} and does not shrink with fewer replicates",
    }[max(parts, key=parts.__getitem__)]
    check_memory(
        kept + curves + working,
        f"cost_effectiveness with n_resamples={n_resamples}, {columns_.plural(n_t, 'treatment')}, "
        f"{columns_.plural(n, 'participant')} and "
        f"{grid.size} willingness-to-pay values",
        fix,
    )

    # observed arm means (descriptive, and the unadjusted estimates), in the declared order
    arm_rows = []
    excluded = sample.inputs.excluded_per_arm(order)
    for a in order:
        member = sample.arms == a
        cg, eg = c_values[member], e_values[member]
        arm_rows.append(
            {
                "arm": a,
                "n": int(member.sum()),
                "cost_mean": float(cg.mean()),
                "cost_sd": float(np.std(cg, ddof=1)),
                "effect_mean": float(eg.mean()),
                "effect_sd": float(np.std(eg, ddof=1)),
                "excluded": excluded[a],
            }
        )
    arm_means = pd.DataFrame(arm_rows)

    failed = 0
    fit_notes: tuple[str, ...] = ()
    c_idx = len(compared) - 1
    if not adjusted:
        members = [codes == g for g in range(len(compared))]
        pairs = [np.column_stack([c_values[m], e_values[m]]) for m in members]
        dc, de = _unadjusted_draws(pairs, n_resamples, source, n_t)
        replicate = np.arange(n_resamples)
        means = arm_means.set_index("arm")
        point_c = np.array([means.cost_mean[t] - means.cost_mean[control_label] for t in treatments])
        point_e = np.array([means.effect_mean[t] - means.effect_mean[control_label] for t in treatments])
        var_c, var_e, cov_ce = (np.empty(n_t) for _ in range(3))
        for t in range(n_t):
            terms = [np.cov(pairs[g], rowvar=False, ddof=1) / sizes[g] for g in (t, c_idx)]
            total = terms[0] + terms[1]
            var_c[t], var_e[t], cov_ce[t] = total[0, 0], total[1, 1], total[0, 1]
        method = "unadjusted"
    else:
        fit = _models.fit_adjusted(
            X_cost, X_eff, c_values, e_values, n_t, cost_model, resolved_effect, (names[0], names[1]), sample
        )
        fit_notes = fit.notes
        point_c, point_e = fit.delta_cost, fit.delta_effect
        var_c, var_e, cov_ce = fit.var_cost, fit.var_effect, fit.cov
        dc, de, replicate, failed = _models.adjusted_draws(
            fit, c_values, e_values, codes, len(compared), n_resamples, source
        )
        method = "adjusted"

    ceac, pairwise, overall = net_benefit_summaries(dc, de, grid)
    at_wtp = net_benefit_summaries(dc, de, np.array([wtp]))
    contrasts = [contrast_label(t, control_label) for t in treatments]
    records = []
    quadrants: dict[str, str] = {}
    for t, label in enumerate(contrasts):
        q = quadrant(point_c[t], point_e[t])
        quadrants[label] = q
        fieller = fieller_interval(point_c[t], point_e[t], var_c[t], var_e[t], cov_ce[t], alpha=alpha)
        inmb = wtp * point_e[t] - point_c[t]
        var_inmb = wtp**2 * var_e[t] + var_c[t] - 2 * wtp * cov_ce[t]
        shares = np.bincount(quadrant_codes(dc[:, t], de[:, t]), minlength=len(QUADRANTS)) / len(dc)
        inmb_draws = wtp * de[:, t] - dc[:, t]
        boot = {
            key: replicate_summary(values, alpha)
            for key, values in (("cost", dc[:, t]), ("effect", de[:, t]), ("inmb", inmb_draws))
        }
        records.append(
            {
                "contrast": label,
                "treatment": treatments[t],
                "delta_cost": float(point_c[t]),
                "delta_effect": float(point_e[t]),
                "se_cost": float(math.sqrt(var_c[t])),
                "se_effect": float(math.sqrt(var_e[t])),
                "cov_cost_effect": float(cov_ce[t]),
                "boot_se_cost": boot["cost"]["se"],
                "boot_low_cost": boot["cost"]["ci_low"],
                "boot_high_cost": boot["cost"]["ci_high"],
                "boot_se_effect": boot["effect"]["se"],
                "boot_low_effect": boot["effect"]["ci_low"],
                "boot_high_effect": boot["effect"]["ci_high"],
                "icer": float(point_c[t] / point_e[t]) if point_e[t] != 0 else math.nan,
                "quadrant": q,
                "fieller_low": fieller.low,
                "fieller_high": fieller.high,
                "fieller_kind": fieller.kind,
                "fieller_note": fieller.note,
                "inmb": float(inmb),
                "se_inmb": float(math.sqrt(max(var_inmb, 0.0))),
                "boot_se_inmb": boot["inmb"]["se"],
                "boot_low_inmb": boot["inmb"]["ci_low"],
                "boot_high_inmb": boot["inmb"]["ci_high"],
                "prob_cost_effective": float(at_wtp[0][0, t]),
                "evpi": float(at_wtp[1][0, t]),
                "p_dominant": float(shares[0]),
                "p_dominated": float(shares[1]),
                "p_north_east": float(shares[2]),
                "p_south_west": float(shares[3]),
            }
        )
        del inmb_draws
    draws = pd.DataFrame(
        {
            "replicate": np.tile(replicate, n_t),
            "contrast": np.repeat(np.array(contrasts, dtype=object), len(dc)),
            "delta_cost": dc.T.ravel(),
            "delta_effect": de.T.ravel(),
        }
    )
    del dc, de
    ceac_frame = pd.DataFrame({"wtp": grid, **{label: ceac[:, t] for t, label in enumerate(contrasts)}})
    evpi_frame = pd.DataFrame({"wtp": grid, **{label: pairwise[:, t] for t, label in enumerate(contrasts)}})
    if n_t > 1:
        evpi_frame["all arms"] = overall
    return CostEffectivenessResult(
        cost=cost,
        effect=effect,
        arm=sample.arm,
        treatments=treatments,
        control=control_label,  # type: ignore[arg-type]
        wtp=wtp,
        wtp_grid=grid,
        estimates=pd.DataFrame.from_records(records),
        arm_means=arm_means,
        draws=draws,
        ceac=ceac_frame,
        evpi_curve=evpi_frame,
        quadrants=quadrants,
        evpi_all=float(at_wtp[2][0]),
        n_resamples=n_resamples,
        failed_replicates=failed,
        n_by_arm=sample.n_by_arm,
        method=method,
        covariates=covariates,
        baseline_utility=baseline_utility,
        cost_model=cost_model if adjusted else "mean",
        effect_model=resolved_effect if adjusted else "mean",
        alpha=alpha,
        seed_entropy=entropy,
        notes=fit_notes,
        analysis=analysis,
        inputs=sample.inputs,
    )
