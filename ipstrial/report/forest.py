"""Forest plots: every contrast and subgroup of binary outcomes, and every ratio contrast on one log axis.

* :func:`forest_figure` - every contrast of :class:`~ipstrial.itt.binary.BinaryComparison` results and every
  level of :class:`~ipstrial.itt.subgroups.SubgroupResult` results, with an estimate-and-interval column,
  n/N per arm, the null line and "favours" labels (CONSORT 2010 item 17a/18: estimated effect size and its
  precision for each outcome and subgroup; Schulz et al. 2010, BMJ 340:c332; forest-plot layout as
  Lewis & Clarke 2001, BMJ 322:1479).
* :func:`ratio_forest_figure` - risk, hazard and rate ratios of several analyses on one log axis.
* :func:`forest_axes` / :func:`draw_forest` - the drawing of :class:`ForestRow` lines, shared with the Cox
  and subgroup ``plot()`` methods.

Lines resting on fewer participants than the figures' disclosure threshold show no estimate
(:mod:`ipstrial.report.disclosure`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ipstrial._checks import ParameterError, check_choice
from ipstrial.report.figures import _below_axis_points, _points, _text_width, column_label

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "RATIO_FOREST_ESTIMANDS",
    "ForestRow",
    "draw_forest",
    "estimate_text",
    "forest_axes",
    "forest_figure",
    "ratio_forest_figure",
]

_FOREST_ESTIMANDS = ("risk_difference", "risk_ratio", "odds_ratio")
_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4, 5, 10, 20, 50, 100)
_LOG_TICKS_COARSE = (0.01, 0.1, 0.25, 0.5, 1, 2, 4, 10, 100)


# ---------------------------------------------------------------------------------------------
# forest plot
# ---------------------------------------------------------------------------------------------


@dataclass
class ForestRow:
    """One line of a forest plot: a heading (no estimate) or an estimate with its interval.

    ``treatment_text`` and ``control_text`` are the n/N columns; ``color`` the marker's colour; ``weight``
    scales the marker (participants); ``gid`` names the interval line (``"forest:<contrast>:<variant>"``).
    """

    label: str
    heading: bool = False
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    text: str = ""
    treatment_text: str = ""
    control_text: str = ""
    color: str = "0.2"
    weight: float = 1.0
    gid: str = ""


def _n_of_n(events: object, n: object) -> str:
    """``events/n``, each count below the figures' threshold shown as ``"<5"`` (disclosure control)."""
    from ipstrial.report.disclosure import count_text

    try:
        int(events), int(n)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return ""
    return f"{count_text(events)}/{count_text(n)}"


def _small_cell(*pairs: tuple[object, object]) -> bool:
    """Whether any ``(events, n)`` pair has 1 to k-1 events, non-events or participants (k: the figures'
    disclosure threshold): such an estimate is not drawn, as its table row shows none."""
    from ipstrial.report.disclosure import figure_min_count

    k = figure_min_count()
    for events, n in pairs:
        try:
            e, m = int(events), int(n)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            continue
        if any(0 < v < k for v in (e, m - e, m)):
            return True
    return False


def _disclosed(row: ForestRow, hide: bool) -> ForestRow:
    """``row``, or, for a small cell (``hide``), the row without its estimate: the n/N texts read ``<5``
    and the estimate column says why."""
    from ipstrial.report.disclosure import SUPPRESSED_ESTIMATE, figure_min_count

    if hide:
        row.estimate = row.low = row.high = math.nan
        row.text = f"{SUPPRESSED_ESTIMATE} (<{figure_min_count()})"
    return row


def estimate_text(estimate: float, low: float, high: float, estimand: str) -> str:
    """``"13.4 (6.5 to 20.3)"``: risk differences in percentage points, ratios with two decimals.

    The numbers follow :func:`ipstrial.report.format.format_estimate` and ``format_interval`` (the unit,
    " pp" or "%", is left to the column heading).
    """
    from ipstrial.report.format import format_estimate, format_interval

    if not np.isfinite(estimate):
        return "—"
    est = format_estimate(estimate, estimand).removesuffix(" pp").removesuffix("%")
    return f"{est} ({format_interval(low, high, estimand)})"


def _scale(estimand: str) -> tuple[float, float, bool]:
    """(multiplier of the estimates on the axis, null value, log axis) of an estimand."""
    if estimand == "risk_difference":
        return 100.0, 0.0, False
    return 1.0, 1.0, True


def _axis_label(estimand: str, conf_level: float) -> str:
    level = f"{100 * conf_level:.10g}%"
    if estimand == "risk_difference":
        return f"Absolute risk difference, percentage points ({level} CI)"
    return f"{estimand.replace('_', ' ').capitalize()} ({level} CI, log scale)"


def _label(labels: Mapping[str, str] | None, key: str) -> str:
    if labels and key in labels:
        return str(labels[key])
    return column_label(key)


def _result_arms(result: Any) -> list[str]:
    inputs = getattr(result, "inputs", None)
    if inputs is not None and getattr(inputs, "arms", None):
        return [str(a) for a in inputs.arms]
    return [*map(str, result.treatments), str(result.control)]


def _forest_rows(
    results: Sequence[Any], estimand: str, colors: Mapping[str, str], labels: Mapping[str, str] | None
) -> tuple[list[ForestRow], set[str], set[str], float]:
    """The rows of a forest plot from the results' own rows (n/N from the rows' extras)."""
    from ipstrial.itt.binary import BinaryComparison
    from ipstrial.itt.subgroups import SubgroupResult

    rows: list[ForestRow] = []
    treatments: set[str] = set()
    controls: set[str] = set()
    conf = 0.95
    several = len(results) > 1
    for result in results:
        control = str(result.control)
        controls.add(control)
        all_rows = result.rows()
        conf = all_rows[0].conf_level if all_rows else conf
        if isinstance(result, BinaryComparison):
            by_arm = {r.contrast: r for r in all_rows if r.estimand == "proportion"}
            if several or len(result.treatments) > 1:
                rows.append(ForestRow(_label(labels, result.outcome), heading=True))
            for treatment in result.treatments:
                treatment = str(treatment)
                treatments.add(treatment)
                row = next(
                    r
                    for r in all_rows
                    if r.estimand == estimand and r.contrast.startswith(f"{treatment} vs ")
                )
                t, c = by_arm[treatment], by_arm[control]
                hide = _small_cell((t.extras.get("events"), t.n), (c.extras.get("events"), c.n))
                rows.append(
                    _disclosed(
                        ForestRow(
                            _label(labels, row.contrast)
                            if (several or len(result.treatments) > 1)
                            else f"{_label(labels, result.outcome)}: {_label(labels, row.contrast)}",
                            estimate=row.estimate,
                            low=row.ci_low,
                            high=row.ci_high,
                            text=estimate_text(row.estimate, row.ci_low, row.ci_high, estimand),
                            treatment_text=_n_of_n(t.extras.get("events"), t.n),
                            control_text=_n_of_n(c.extras.get("events"), c.n),
                            color=colors.get(treatment, "0.2"),
                            weight=float((t.n or 0) + (c.n or 0)),
                            gid=f"forest:{row.contrast}:",
                        ),
                        hide,
                    )
                )
        elif isinstance(result, SubgroupResult):
            if estimand != "risk_difference":
                raise ParameterError(
                    f"estimand={estimand!r}: subgroup results hold risk differences only; use "
                    "estimand='risk_difference' for a forest plot with subgroups"
                )
            rows.extend(_subgroup_rows(result, result.contrasts, colors, labels, with_contrast=True))
            treatments.update(map(str, result.treatments))
        else:
            raise ParameterError(
                f"forest_figure takes BinaryComparison (itt.compare_proportions) and SubgroupResult "
                f"(itt.subgroups) results, got {type(result).__name__}"
            )
    return rows, treatments, controls, conf


def _subgroup_rows(
    result: Any,
    contrasts: Sequence[str],
    colors: Mapping[str, str],
    labels: Mapping[str, str] | None,
    *,
    with_contrast: bool,
) -> list[ForestRow]:
    """A heading per contrast and subgroup column (with its interaction p), then one row per level."""
    from ipstrial.report.format import format_p

    rows: list[ForestRow] = []
    all_rows = result.rows()
    for contrast, treatment in zip(result.contrasts, result.treatments, strict=True):
        if contrast not in contrasts:
            continue
        for factor in result.by:
            test = next(
                r
                for r in all_rows
                if r.contrast == contrast and r.estimand == "interaction" and r.variant == factor
            )
            name = _label(labels, factor)
            if with_contrast and len(contrasts) > 1:
                name = f"{name}, {_label(labels, contrast)}"
            rows.append(ForestRow(f"{name} (interaction p {format_p(test.p_value)})", heading=True))
            for r in all_rows:
                if r.contrast != contrast or r.estimand != "risk_difference":
                    continue
                x = r.extras
                if x.get("subgroup") != factor:
                    continue
                hide = _small_cell(
                    (x.get("events_treatment"), x.get("n_treatment")),
                    (x.get("events_control"), x.get("n_control")),
                )
                rows.append(
                    _disclosed(
                        ForestRow(
                            f"    {_label(labels, str(x.get('level')))}",
                            estimate=r.estimate,
                            low=r.ci_low,
                            high=r.ci_high,
                            text=estimate_text(r.estimate, r.ci_low, r.ci_high, "risk_difference"),
                            treatment_text=_n_of_n(x.get("events_treatment"), x.get("n_treatment")),
                            control_text=_n_of_n(x.get("events_control"), x.get("n_control")),
                            color=colors.get(str(treatment), "0.2"),
                            weight=float(r.n or 0),
                            gid=f"forest:{contrast}:{r.variant}",
                        ),
                        hide,
                    )
                )
    return rows


@dataclass
class _ForestLayout:
    """Widths (points) of the columns of a forest plot."""

    label: float
    treatment: float
    control: float
    text: float
    gap: float
    size: float

    @property
    def left(self) -> float:
        return self.label + self.treatment + self.control + 3 * self.gap

    @property
    def right(self) -> float:
        return self.text + self.gap


def _forest_layout(rows: Sequence[ForestRow], headers: Sequence[str]) -> _ForestLayout:
    import matplotlib as mpl

    size = _points(mpl.rcParams["ytick.labelsize"])

    def widest(texts: Sequence[str], header: str) -> float:
        values = [_text_width(t, size) for t in texts if t]
        values.append(_text_width(header, size, "bold"))
        return max(values)

    label = max(
        [_text_width(r.label, size, "bold" if r.heading else "normal") for r in rows]
        + [_text_width(headers[0], size, "bold")]
    )
    return _ForestLayout(
        label=label,
        treatment=widest([r.treatment_text for r in rows], headers[1]),
        control=widest([r.control_text for r in rows], headers[2]),
        text=widest([r.text for r in rows], headers[3]),
        gap=1.2 * size,
        size=size,
    )


def draw_forest(
    ax: Axes,
    rows: Sequence[ForestRow],
    *,
    estimand: str,
    conf_level: float,
    headers: Sequence[str],
    favours: tuple[str, str] | None,
    layout: _ForestLayout | None = None,
    reference: float | None = None,
) -> Axes:
    """Draw forest-plot ``rows`` into ``ax``: the intervals and squares (area by participants), the text
    columns left (label, n/N treatment, n/N control) and right (estimate and interval) of the axes, a
    vertical null line and the ``favours`` labels (left, right of the null) under the x-axis label.

    Rows are at y = 0, 1, ... from the top (y ticks there, without labels); headings are bold. The
    estimates are drawn on the scale of the estimand (risk differences x 100, ratios on a log axis).
    ``reference`` draws a dashed line (e.g. the overall effect) on the same scale as the estimates.
    """
    from matplotlib.transforms import blended_transform_factory, offset_copy

    layout = layout or _forest_layout(rows, headers)
    multiplier, null, log = _scale(estimand)
    size = layout.size
    n = len(rows)
    largest = max((r.weight for r in rows if not r.heading), default=1.0) or 1.0
    base = blended_transform_factory(ax.transAxes, ax.transData)
    values: list[float] = []
    for y, row in enumerate(rows):
        if row.heading or not np.isfinite(row.estimate):
            continue
        lo, hi, est = (multiplier * v for v in (row.low, row.high, row.estimate))
        values.extend(v for v in (lo, hi, est) if np.isfinite(v))
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [y, y], color=row.color, lw=1.4, solid_capstyle="butt", gid=row.gid or None)
        ax.plot(
            [est],
            [y],
            marker="s",
            linestyle="none",
            color=row.color,
            markersize=4 + 5 * math.sqrt(max(row.weight, 0.0) / largest),
            zorder=3,
        )
    if log:
        ax.set_xscale("log")
    values.append(null)
    low, high = min(values), max(values)
    if log:
        span = math.log(high / low) if high > low else 1.0
        ax.set_xlim(low / math.exp(0.08 * span), high * math.exp(0.08 * span))
    else:
        span = (high - low) or 1.0
        ax.set_xlim(low - 0.08 * span, high + 0.08 * span)
    ax.axvline(null, color="0.35", lw=0.9, zorder=1)
    if reference is not None and np.isfinite(reference):
        ax.axvline(multiplier * reference, color="0.5", lw=0.9, ls="--", zorder=1, gid="forest:reference")
    ax.set_ylim(n - 0.5, -0.7)
    ax.set_yticks(range(n), [""] * n)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.grid(False, axis="y")
    ax.set_xlabel(_axis_label(estimand, conf_level))
    if log:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        lo_lim, hi_lim = ax.get_xlim()
        nice = [v for v in _LOG_TICKS if lo_lim <= v <= hi_lim]
        if len(nice) > 7:
            nice = [v for v in nice if v in _LOG_TICKS_COARSE] or nice
        ax.xaxis.set_major_locator(FixedLocator(nice))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))

    def column(x_axes: float, x_points: float) -> Any:
        return offset_copy(base, fig=ax.figure, x=x_points, y=0, units="points")

    g = layout.gap
    columns = [
        (0.0, -layout.left, "left", [r.label for r in rows], headers[0]),
        (0.0, -(layout.control + 2 * g), "right", [r.treatment_text for r in rows], headers[1]),
        (0.0, -g, "right", [r.control_text for r in rows], headers[2]),
        (1.0, g, "left", [r.text for r in rows], headers[3]),
    ]
    for x_axes, x_points, ha, texts, header in columns:
        transform = column(x_axes, x_points)
        for y, (text, row) in enumerate(zip(texts, rows, strict=True)):
            if text:
                ax.text(
                    x_axes,
                    y,
                    text,
                    transform=transform,
                    ha=ha,
                    va="center",
                    fontsize=size,
                    fontweight="bold" if row.heading and x_axes == 0.0 and ha == "left" else "normal",
                    gid="forest_text",
                )
        head = offset_copy(ax.transAxes, fig=ax.figure, x=x_points, y=0.4 * size, units="points")
        ax.text(x_axes, 1.0, header, transform=head, ha=ha, va="bottom", fontsize=size, fontweight="bold")
    if favours is not None:
        below = _below_axis_points() + 0.5 * size
        under = blended_transform_factory(ax.transData, ax.transAxes)
        for text, ha, dx in (
            (f"← {favours[0]}", "right", -0.5 * size),
            (f"{favours[1]} →", "left", 0.5 * size),
        ):
            ax.text(
                null,
                0,
                text,
                transform=offset_copy(under, fig=ax.figure, x=dx, y=-below, units="points"),
                ha=ha,
                va="top",
                fontsize=size,
                color="0.25",
                gid="favours",
            )
    return ax


def forest_axes(
    rows: Sequence[ForestRow],
    *,
    estimand: str,
    conf_level: float,
    headers: Sequence[str],
    favours: tuple[str, str] | None,
    title: str | None = None,
    ax: Axes | None = None,
    reference: float | None = None,
) -> Axes:
    """A forest plot of ``rows`` in a figure sized to its columns (or into ``ax`` when given)."""
    import matplotlib.pyplot as plt

    layout = _forest_layout(rows, headers)
    if ax is None:
        panel = 190.0
        row_height = 1.9 * layout.size
        top = 2.6 * layout.size + (2.2 * layout.size if title else 0)
        bottom = _below_axis_points() + (2.4 * layout.size if favours else 0.8 * layout.size) + 6
        margin = 8.0
        width = margin + layout.left + panel + layout.right + margin
        height = top + row_height * (len(rows) + 0.2) + bottom
        fig = plt.figure(figsize=(width / 72, height / 72))
        ax = fig.add_axes(
            (
                (margin + layout.left) / width,
                bottom / height,
                panel / width,
                row_height * (len(rows) + 0.2) / height,
            )
        )
    draw_forest(
        ax,
        rows,
        estimand=estimand,
        conf_level=conf_level,
        headers=headers,
        favours=favours,
        layout=layout,
        reference=reference,
    )
    if title:
        ax.set_title(title, pad=2.8 * layout.size)
    return ax


def forest_figure(
    results: Any,
    *,
    estimand: str = "risk_difference",
    colors: Mapping[str, str] | None = None,
    favours: tuple[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """A forest plot of every contrast and every subgroup level of binary-outcome results.

    One line per contrast of each :class:`~ipstrial.itt.binary.BinaryComparison`
    (:func:`ipstrial.itt.compare_proportions`) and, for each :class:`~ipstrial.itt.subgroups.SubgroupResult`
    (:func:`ipstrial.itt.subgroups`), a heading per subgroup column with the interaction test's p-value and
    one line per level. Each line shows the estimate with its interval (square area proportional to the
    participants), the text "13.4 (6.5 to 20.3)" (risk differences in percentage points; ratios with two
    decimals on a log axis), and n/N per arm (events/participants, read from the rows' extras: ``events``
    of the per-arm ``proportion`` rows; ``events_treatment, n_treatment, events_control, n_control`` of the
    subgroup rows). A vertical line marks no effect (0 for a difference, 1 for a ratio); under the axis
    "favours <control>" (left) and "favours <treatment>" (right), as for a beneficial outcome such as
    employment (pass ``favours`` reversed for a harmful one). CONSORT 2010 items 17a and 18 (Schulz et al.
    2010, BMJ 340:c332); layout as Lewis & Clarke (2001), BMJ 322:1479.

    Parameters
    ----------
    results
        One result or a sequence of BinaryComparison and SubgroupResult results (same control).
    estimand
        ``"risk_difference"`` (default), ``"risk_ratio"`` or ``"odds_ratio"`` (binary results only).
    colors
        ``{arm: colour}``; default :func:`~ipstrial.report.palette.arm_colors` of the results' arms.
        Each line is drawn in its treatment arm's colour.
    favours
        ``(left text, right text)`` under the axis; default ``("favours <control>", "favours <treatment>")``
        (the treatments joined by "/" when there are several).
    labels
        Display texts for outcomes, contrasts, subgroup columns and levels (``{"site": "Site"}``); by
        default the labels of :func:`ipstrial.report.format.current_labels`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        For another kind of result, an unknown estimand, a ratio with subgroup results, no result or
        ``colors`` missing an arm.
    """
    return forest_for(results, estimand=estimand, colors=colors, favours=favours, labels=labels).figure  # type: ignore[return-value]


def forest_for(
    results: Any,
    *,
    estimand: str = "risk_difference",
    colors: Mapping[str, str] | None = None,
    favours: tuple[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """:func:`forest_figure` drawn into ``ax`` (a new figure sized to the columns when None); the Axes."""
    from ipstrial.report.palette import figure_style, resolve_colors

    items = [results] if not isinstance(results, list | tuple) else list(results)
    if not items:
        raise ParameterError("results must hold at least one BinaryComparison or SubgroupResult")
    estimand = check_choice(estimand, "estimand", _FOREST_ESTIMANDS)
    if favours is not None and (
        not isinstance(favours, tuple | list)
        or len(favours) != 2
        or not all(isinstance(f, str) for f in favours)
    ):
        raise ParameterError(f"favours must be two texts (left, right), got {favours!r}")
    arms: list[str] = []
    for result in items:
        if not hasattr(result, "control"):
            raise ParameterError(
                "forest_figure takes BinaryComparison and SubgroupResult results, got "
                f"{type(result).__name__}"
            )
        arms.extend(a for a in _result_arms(result) if a not in arms)
    with figure_style():
        palette = resolve_colors(colors, arms)
        rows, treatments, controls, conf = _forest_rows(items, estimand, palette, labels)
        ordered = [a for a in arms if a in treatments]
        control = " / ".join(a for a in arms if a in controls)
        if favours is None:
            favours = (f"favours {control}", f"favours {' / '.join(ordered)}")
        one = len(ordered) == 1 and len(controls) == 1
        headers = (
            "",
            f"{ordered[0]} n/N" if one else "Treatment n/N",
            f"{control} n/N" if len(controls) == 1 else "Control n/N",
            "Difference, pp (95% CI)".replace("95%", f"{100 * conf:.10g}%")
            if estimand == "risk_difference"
            else f"{estimand.replace('_', ' ').capitalize()} ({100 * conf:.10g}% CI)",
        )
        ax = forest_axes(
            rows,
            estimand=estimand,
            conf_level=conf,
            headers=headers,
            favours=tuple(favours),
            ax=ax,
            title=title,
        )
    return ax


RATIO_FOREST_ESTIMANDS: tuple[str, ...] = (
    "risk_ratio",
    "hazard_ratio",
    "rate_ratio",
    "subdistribution_hazard_ratio",
)
"""The ratios :func:`ratio_forest_figure` draws: for an outcome that treatment should raise (employment, its
hazard, weeks in work), a ratio above 1 is in the treatment's favour."""


def ratio_forest_figure(
    results: Any,
    *,
    colors: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    favours: tuple[str, str] = ("lower with treatment", "higher with treatment"),
) -> Figure:
    """A forest plot of every treatment-vs-control ratio of several analyses on one log axis.

    For each result, each row whose estimand is in :data:`RATIO_FOREST_ESTIMANDS`, whose contrast is
    ``"<treatment> vs <control>"`` and that has no variant (the primary form of the estimate) becomes a line:
    a heading per outcome and estimand, one line per contrast in its treatment arm's colour, the estimate
    with its interval and the text "1.55 (1.23 to 1.96)"; the null line at 1 (Lewis & Clarke 2001, BMJ
    322:1479). Ratios are drawn, not differences of different units, so that the axis is shared.

    Parameters
    ----------
    results
        Results of any analyses (rows of other estimands are left out).
    colors
        ``{arm: colour}``; default :func:`~ipstrial.report.palette.arm_colors` of the treatments found.
    labels
        Display texts of outcomes (default :func:`ipstrial.report.format.current_labels`).
    favours
        ``(left text, right text)`` under the axis.

    Raises
    ------
    ParameterError
        When no result has a ratio row.
    """
    from ipstrial.report.format import current_labels, estimand_label
    from ipstrial.report.palette import arm_colors, figure_style

    shown = current_labels()
    items = [results] if not isinstance(results, list | tuple) else list(results)
    rows: list[ForestRow] = []
    arms: list[str] = []
    conf = 0.95
    for result in items:
        groups: dict[tuple[str, str], list[Any]] = {}
        for row in result.rows():
            if row.estimand in RATIO_FOREST_ESTIMANDS and " vs " in row.contrast and not row.variant:
                groups.setdefault((row.outcome, row.estimand), []).append(row)
                arms.extend(a for a in row.contrast.split(" vs ") if a not in arms)
        for (outcome, estimand), group in groups.items():
            name = labels.get(outcome, outcome) if labels else shown.label(outcome)
            rows.append(ForestRow(f"{name}: {estimand_label(estimand).lower()}", heading=True))
            for row in group:
                conf = row.conf_level
                rows.append(
                    ForestRow(
                        f"    {row.contrast}",
                        estimate=row.estimate,
                        low=row.ci_low,
                        high=row.ci_high,
                        text=estimate_text(row.estimate, row.ci_low, row.ci_high, estimand),
                        color="0.2",
                        weight=float(row.n or 0),
                        gid=f"forest:{row.analysis}:{row.contrast}",
                    )
                )
                rows[-1].treatment_text = f"{row.n}" if row.n is not None else ""
                rows[-1].color = row.contrast.split(" vs ")[0]  # resolved to a colour below
    if not any(not r.heading for r in rows):
        raise ParameterError(f"no result has a row of {', '.join(RATIO_FOREST_ESTIMANDS)} to draw")
    palette = dict(colors) if colors is not None else arm_colors(arms)
    for r in rows:
        if not r.heading:
            r.color = palette.get(r.color, "0.2")
    from ipstrial.report.disclosure import count_text

    for r in rows:
        if r.treatment_text:
            r.treatment_text = count_text(r.treatment_text)
    with figure_style():
        ax = forest_axes(
            rows,
            estimand="hazard_ratio",
            conf_level=conf,
            headers=("", "n", "", f"Ratio ({100 * conf:.10g}% CI)"),
            favours=favours,
        )
        ax.set_xlabel(f"Ratio ({100 * conf:.10g}% CI, log scale)")
    return ax.figure  # type: ignore[return-value]
