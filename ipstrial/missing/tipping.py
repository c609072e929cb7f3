"""Delta-adjusted multiple imputation of a binary outcome over a grid of log-odds shifts, and its tipping
points (Ratitch, O'Kelly & Tosiello 2013)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_count, check_sequence
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._labels import label_of
from ipstrial._memory import check_memory, chunks
from ipstrial._random import SeedLike, check_seed
from ipstrial.errors import ParameterError
from ipstrial.missing._rows import estimate_row
from ipstrial.missing._sample import setup
from ipstrial.missing.imputation import _check_n_iter, _imputations, _proportion_variance, _sweeps
from ipstrial.missing.pooling import RubinPooled, _pool, _pooled, _pooled_interval
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover - typing only, matplotlib is imported lazily
    from matplotlib.axes import Axes

__all__ = ["DEFAULT_DELTAS", "TippingPointResult", "tipping_point"]

DEFAULT_DELTAS: tuple[float, ...] = tuple(np.linspace(-3.0, 3.0, 13).tolist())
"""The default grid of log-odds shifts of :func:`tipping_point`: -3, -2.5, ..., 3."""

_GRID_COLUMNS = 11
"""Columns of :attr:`TippingPointResult.grid` (for the memory estimate)."""


@dataclass(frozen=True, eq=False)
class TippingPointResult(Result):
    """Delta-adjusted multiple imputation over a grid of log-odds shifts, and its tipping points.

    Attributes
    ----------
    outcome, treatment, control, covariates
        What was analysed.
    deltas_treatment, deltas_control
        The sorted grids of δ_T and δ_C (log-odds shifts of the imputed values).
    grid
        One line per (δ_T, δ_C): ``delta_treatment, delta_control, estimate, se, ci_low, ci_high,
        p_value, df, fmi, significant, flipped``.
    flips
        Boolean matrix ``(len(deltas_treatment), len(deltas_control))``: the conclusion differs from
        the one under MAR.
    mar
        The pooled risk difference at δ_T = δ_C = 0 (missing at random); its analysis is
        ``<analysis>_mar``.
    line
        The grid line δ_C = 0 (rows as in ``grid``), over ``deltas_treatment``.
    tipping_point_low, tipping_point_high
        With δ_C = 0: the exact δ_T nearest to 0, below and above, at which the conclusion first
        differs from MAR (for δ_T < ``tipping_point_low`` and for δ_T >= ``tipping_point_high``),
        searched within the grid's range; NaN when it does not flip there.
    m, n_iter
        Imputations and chained-equation sweeps.
    missing, n
        Missing outcomes and participants per arm.
    analysis
        The ARD analysis name of every row.
    seed_entropy
        The integer that regenerates the draws, None for a Generator seed.
    """

    outcome: str
    treatment: str
    control: str
    covariates: tuple[str, ...]
    deltas_treatment: np.ndarray
    deltas_control: np.ndarray
    grid: pd.DataFrame
    flips: np.ndarray
    mar: RubinPooled
    line: pd.DataFrame
    tipping_point_low: float
    tipping_point_high: float
    m: int
    n_iter: int
    missing: dict[str, int]
    n: dict[str, int]
    method: str
    alpha: float = 0.05
    analysis: str = "missing_tipping_point"
    seed_entropy: int | None = None

    @property
    def tipping_point(self) -> float:
        """The tipping point nearest to δ_T = 0 (δ_C = 0), NaN if the conclusion never flips."""
        candidates = [v for v in (self.tipping_point_low, self.tipping_point_high) if math.isfinite(v)]
        return min(candidates, key=abs) if candidates else math.nan

    def rows(self) -> tuple[Row, ...]:
        """The line δ_C = 0: one row per δ_T, ``variant`` ``"delta=<δ_T>,<δ_C>"`` (e.g. ``"delta=-1.5,0"``),
        with the deltas and the conclusion in ``extra``."""
        label = contrast_label(self.treatment, self.control)
        return tuple(
            estimate_row(
                self,
                line,
                label,
                "risk_difference",
                self.treatment,
                self.control,
                variant=f"delta={label_of(float(line.delta_treatment))},{label_of(float(line.delta_control))}",
                extra={
                    "delta_treatment": line.delta_treatment,
                    "delta_control": line.delta_control,
                    "significant": bool(line.significant),
                    "flipped": bool(line.flipped),
                    "tipping_point_low": self.tipping_point_low,
                    "tipping_point_high": self.tipping_point_high,
                    "m": self.m,
                },
            )
            for line in self.line.itertuples(index=False)
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Heat map of the pooled p-value over (δ_C, δ_T), colours centred at ``alpha``.

        The boundary between cells whose conclusion agrees with MAR and cells where it flips is
        drawn in black; the MAR point (0, 0) is marked.
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
        from matplotlib.colors import TwoSlopeNorm

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 5))
        p = (
            self.grid.pivot(index="delta_treatment", columns="delta_control", values="p_value")
            .reindex(index=self.deltas_treatment, columns=self.deltas_control)
            .to_numpy()
        )
        x_edges, y_edges = _edges(self.deltas_control), _edges(self.deltas_treatment)
        mesh = ax.pcolormesh(
            x_edges,
            y_edges,
            p,
            cmap="RdBu",
            norm=TwoSlopeNorm(vmin=0.0, vcenter=self.alpha, vmax=1.0),
            shading="flat",
        )
        ax.figure.colorbar(mesh, ax=ax, label=f"pooled p-value (centre {self.alpha:g})")
        flips = self.flips
        segments = [
            [(x_edges[k + 1], y_edges[i]), (x_edges[k + 1], y_edges[i + 1])]
            for i, k in zip(*np.nonzero(flips[:, 1:] != flips[:, :-1]), strict=True)
        ] + [
            [(x_edges[k], y_edges[i + 1]), (x_edges[k + 1], y_edges[i + 1])]
            for i, k in zip(*np.nonzero(flips[1:, :] != flips[:-1, :]), strict=True)
        ]
        if segments:
            ax.add_collection(
                LineCollection(segments, colors="black", linewidths=2.0, label="conclusion flips")
            )
        ax.plot(
            [0.0], [0.0], linestyle="none", marker="o", color="white", markeredgecolor="black", label="MAR"
        )
        ax.set_xlim(x_edges[0], x_edges[-1])
        ax.set_ylim(y_edges[0], y_edges[-1])
        ax.set_xlabel(f"δ control ({self.control}): log-odds shift of imputed values")
        ax.set_ylabel(f"δ treatment ({self.treatment}): log-odds shift of imputed values")
        ax.set_title(f"Tipping point: {self.outcome}, {contrast_label(self.treatment, self.control)}")
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted grid centres (half-way points; unit width for a single centre)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2.0
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _check_deltas(values: object, name: str) -> np.ndarray:
    """A non-empty grid of finite log-odds shifts, sorted without repeats."""
    items = check_sequence(values, name)
    try:
        grid = np.asarray(items, dtype=float).ravel()
    except (TypeError, ValueError):
        grid = np.empty(0)
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ParameterError(f"{name} must be a non-empty list of finite log-odds shifts, got {values!r}")
    return np.unique(grid)


def _success_counts(observed: int, cuts: list[np.ndarray], deltas: np.ndarray, side: str) -> np.ndarray:
    """Imputed-data successes per imputation and δ: ``observed + #{t_i <= δ}`` (``#{t_i < δ}`` for left).

    ``cuts`` holds each imputation's thresholds, sorted.
    """
    return np.array([observed + np.searchsorted(t, deltas, side=side) for t in cuts], dtype=float)


def _significant(p: np.ndarray, alpha: float) -> np.ndarray:
    """``p < alpha`` (a NaN p-value is not significant)."""
    return np.nan_to_num(p, nan=1.0) < alpha


def _conclusion(estimate: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    """+1 significant benefit, -1 significant harm, 0 not significant (p < alpha)."""
    return np.where(_significant(p, alpha), np.sign(estimate), 0.0)


def _summary(pool: dict[str, np.ndarray], alpha: float) -> dict[str, np.ndarray]:
    """The columns of pooled risk differences (an output of :func:`~ipstrial.missing.pooling._pool`):
    ``estimate, se, ci_low, ci_high, p_value, df, fmi``."""
    se, low, high, p = _pooled_interval(pool, alpha)
    return {
        "estimate": pool["qbar"],
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "p_value": p,
        "df": pool["df"],
        "fmi": pool["fmi"],
    }


def _table(
    delta_t: np.ndarray, delta_c: np.ndarray, summary: dict[str, np.ndarray], alpha: float, mar: np.ndarray
) -> pd.DataFrame:
    """Lines of :attr:`TippingPointResult.grid`: the shifts, the :func:`_summary` columns, whether the result
    is significant and whether its conclusion differs from ``mar`` (the MAR conclusion)."""
    return pd.DataFrame(
        {
            "delta_treatment": delta_t,
            "delta_control": delta_c,
            **summary,
            "significant": _significant(summary["p_value"], alpha),
            "flipped": _conclusion(summary["estimate"], summary["p_value"], alpha) != mar,
        }
    )


@shared_params
def tipping_point(
    data: Any,
    outcome: str,
    arm: str | None = None,
    treatment: str | None = None,
    control: str | None = None,
    *,
    covariates: str | Sequence[str] | None = None,
    deltas: Sequence[float] | np.ndarray = DEFAULT_DELTAS,
    deltas_control: Sequence[float] | np.ndarray | None = None,
    m: int = 20,
    n_iter: int | None = None,
    seed: SeedLike = None,
    alpha: float = 0.05,
    id: str | None = None,
    analysis: str = "missing_tipping_point",
) -> TippingPointResult:
    """Delta-adjusted multiple imputation of a binary outcome and its tipping points.

    The missing outcomes are imputed under MAR as in :func:`~ipstrial.missing.multiple_imputation`
    (separately by arm, logistic regression with drawn coefficients ``β*``); then the imputed log-odds are
    shifted, ``logit P(y_i = 1) = x_i'β* + δ_a`` with ``δ_T`` in the treatment arm and ``δ_C`` in
    the control arm, before the 0/1 values are drawn (delta-adjustment, pattern-mixture
    sensitivity analysis: Ratitch, O'Kelly & Tosiello 2013, Pharm Stat 12:337, section 3;
    Carpenter & Kenward 2013, Multiple Imputation and its Application, ch. 10; van Buuren 2018,
    section 9.2). δ > 0 makes the unobserved participants of that arm more likely to succeed
    than similar observed ones.

    Common random numbers: each missing value keeps its drawn ``β*`` and uniform ``u_i`` over the
    whole grid, so ``y_i(δ) = 1`` exactly when ``δ >= t_i = logit(u_i) - x_i'β*``, every imputed
    dataset is monotone in δ and the surface is smooth; at ``δ_T = δ_C = 0`` the result equals
    :func:`~ipstrial.missing.multiple_imputation` with the same seed. For every (δ_T, δ_C) the risk
    difference with Wald variance is pooled by Rubin's rules (large-sample df) and called significant
    when ``p < alpha``.

    Tipping points (δ_C = 0): the conclusion (significant benefit, significant harm or not
    significant) is compared with the MAR conclusion; ``tipping_point_low`` is the largest δ_T < 0
    below which it differs, ``tipping_point_high`` the smallest δ_T > 0 from which it differs. They
    are exact for the drawn imputations: the pooled result changes only at the thresholds
    ``t_i``, and every threshold within the grid's range is examined.

    This estimator handles missing outcomes itself, so it takes no ``missing=`` policy.

    Parameters
    ----------
    @params data
    outcome
        The binary outcome column (0/1, missing values allowed).
    arm, treatment, control
        The arm column, ONE treatment arm (with a Trial of several treatment arms, name it) and the
        control arm.
    covariates
        Baseline covariates of the imputation models (a column name or a sequence of names).
    deltas
        Grid of δ_T (and of δ_C unless ``deltas_control`` is given), log-odds scale.
    deltas_control
        Grid of δ_C.
    m, n_iter
        As for :func:`~ipstrial.missing.multiple_imputation`.
    @params seed
    alpha
        1 - confidence level (the significance level of the conclusion).
    @params id
    analysis
        The ARD analysis name of every row (the MAR result's is ``<analysis>_mar``).
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    m = check_count(m, "m", minimum=2)
    n_iter = _check_n_iter(n_iter)
    seed = check_seed(seed)
    grid_t = _check_deltas(deltas, "deltas")
    grid_c = grid_t if deltas_control is None else _check_deltas(deltas_control, "deltas_control")
    setup_ = setup(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates=covariates,
        kind="binary",
        id=id,
        impute_covariates=True,
        need_observed=True,
    )
    if len(setup_.treatments) != 1:
        raise ParameterError(
            "tipping_point compares one treatment arm with the control; got treatment="
            f"{list(setup_.treatments)}: name one with treatment=, and call it once per treatment arm"
        )
    t_arm, c_arm = setup_.treatments[0], setup_.control
    n_missing = int(np.isnan(setup_.y).sum())
    cells = len(grid_t) * len(grid_c)
    check_memory(
        8.0 * (m * n_missing + cells * (_GRID_COLUMNS + 1) + m * (len(grid_t) + len(grid_c))),
        f"tipping_point with m={m} imputations of {plural(n_missing, 'missing outcome')} over a grid of "
        f"{len(grid_t)} x {len(grid_c)} shifts",
        "use a coarser grid of deltas or fewer imputations",
    )
    sweeps = _sweeps(setup_, n_iter)
    entropy, imputations = _imputations(setup_, "binary", sweeps, seed, m)
    cuts_t, cuts_c = [], []
    for completed in imputations:
        cuts_t.append(np.sort(completed[t_arm][1]))
        cuts_c.append(np.sort(completed[c_arm][1]))
    n_t, n_c = setup_.n_by_arm[t_arm], setup_.n_by_arm[c_arm]
    obs_t = int(np.nansum(setup_.y[setup_.arms == t_arm]))
    obs_c = int(np.nansum(setup_.y[setup_.arms == c_arm]))

    def risk_difference(p_t: np.ndarray, p_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The risk difference and its Wald variance in every imputed dataset."""
        return p_t - p_c, _proportion_variance(p_t, n_t) + _proportion_variance(p_c, n_c)

    def pooled_rd(p_t: np.ndarray, p_c: np.ndarray) -> dict[str, np.ndarray]:
        return _pool(*risk_difference(p_t, p_c), math.inf)

    # the MAR result, computed exactly as multiple_imputation computes it
    zero = np.array([0.0])
    p_t0 = _success_counts(obs_t, cuts_t, zero, "right")[:, 0] / n_t
    p_c0 = _success_counts(obs_c, cuts_c, zero, "right")[:, 0] / n_c
    label = contrast_label(t_arm, c_arm)
    covariates_text = ", ".join(setup_.covariates) if setup_.covariates else "no covariates"
    method = (
        f"delta-adjusted multiple imputation (Ratitch et al. 2013): MAR imputation as multiple_imputation "
        f"(m={m}, separately by arm, logistic regression with drawn coefficients on {covariates_text}), "
        "imputed log-odds shifted by δ_T / δ_C with common random numbers over the grid; Wald risk "
        "difference pooled by Rubin's rules"
    )
    mar = _pooled(
        *risk_difference(p_t0, p_c0),
        math.inf,
        alpha,
        estimand="risk_difference",
        contrast=label,
        outcome=outcome,
        analysis=f"{analysis}_mar",
        method=method,
        n=n_t + n_c,
        inputs=setup_.inputs,
    )
    mar_call = _conclusion(np.array(mar.estimate), np.array(mar.p_value), alpha)

    # the grid, in chunks of δ_T rows (the (m, rows, len(grid_c)) work arrays stay one chunk)
    p_t = _success_counts(obs_t, cuts_t, grid_t, "right") / n_t  # (m, len(grid_t))
    p_c = _success_counts(obs_c, cuts_c, grid_c, "right") / n_c
    shape = (len(grid_t), len(grid_c))
    fields = {
        name: np.empty(shape) for name in ("estimate", "se", "ci_low", "ci_high", "p_value", "df", "fmi")
    }
    for rows in chunks(len(grid_t), row_bytes=4.0 * 8.0 * m * len(grid_c)):
        for name, values in _summary(pooled_rd(p_t[:, rows, None], p_c[:, None, :]), alpha).items():
            fields[name][rows] = values
    dt, dc = np.meshgrid(grid_t, grid_c, indexing="ij")
    flat = {name: values.ravel() for name, values in fields.items()}
    grid = _table(dt.ravel(), dc.ravel(), flat, alpha, mar_call)
    flips = grid["flipped"].to_numpy().reshape(shape)

    # the line δ_C = 0
    line = _table(
        grid_t, np.zeros(len(grid_t)), _summary(pooled_rd(p_t, p_c0[:, None]), alpha), alpha, mar_call
    )

    # exact tipping points along δ_C = 0: the conclusion changes only at the thresholds t_i
    every = np.unique(np.concatenate([np.empty(0), *cuts_t]))
    every = every[np.isfinite(every)]

    def first_flip(candidates: np.ndarray, side: str) -> float:
        """The first candidate (in the order given) where the conclusion differs from MAR, in chunks."""
        for part in chunks(len(candidates), row_bytes=4.0 * 8.0 * m):
            these = candidates[part]
            share = _success_counts(obs_t, cuts_t, these, side) / n_t
            pooled = pooled_rd(share, p_c0[:, None])
            _, _, _, p_values = _pooled_interval(pooled, alpha)
            flipped = np.flatnonzero(_conclusion(pooled["qbar"], p_values, alpha) != mar_call)
            if flipped.size:
                return float(these[flipped[0]])
        return math.nan

    above = every[(every > 0) & (every <= grid_t.max())]
    below = every[(every <= 0) & (every > grid_t.min())][::-1]
    tip_high = first_flip(above, "right")  # value on [t, next threshold): counts #{t_i <= t}
    tip_low = first_flip(below, "left")  # value just below t: counts #{t_i < t}

    return TippingPointResult(
        outcome=outcome,
        treatment=t_arm,
        control=c_arm,
        covariates=setup_.covariates,
        deltas_treatment=grid_t,
        deltas_control=grid_c,
        grid=grid,
        flips=flips,
        mar=mar,
        line=line,
        tipping_point_low=tip_low,
        tipping_point_high=tip_high,
        m=m,
        n_iter=sweeps,
        missing=setup_.missing,
        n=setup_.n_by_arm,
        method=method,
        alpha=alpha,
        analysis=analysis,
        seed_entropy=entropy,
        inputs=setup_.inputs,
    )
