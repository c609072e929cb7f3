"""Publication figures: the forest plot of every contrast and subgroup, the shared drawing helpers, and a
check that no two labels of a figure overlap.

* :func:`forest_figure` - every contrast of :class:`~ipstrial.itt.binary.BinaryComparison` results and every
  level of :class:`~ipstrial.itt.subgroups.SubgroupResult` results, with an estimate-and-interval column,
  n/N per arm, the null line and "favours" labels (CONSORT 2010 item 17a/18: estimated effect size and its
  precision for each outcome and subgroup; Schulz et al. 2010, BMJ 340:c332; forest-plot layout as
  Lewis & Clarke 2001, BMJ 322:1479).
* :func:`text_overlaps` - the pairs of visible texts whose drawn boxes overlap (what a reviewer calls
  labels running into each other).
* the helpers the ``plot()`` methods of the results share: :func:`time_axis` (months since
  randomisation for durations in days, ``months = days / (365.25 / 12)``), :func:`at_risk_table`
  (numbers at risk aligned under the x ticks) and :func:`money_axis` (currency with thousands separators).

Every figure is drawn inside :func:`ipstrial.report.palette.figure_style`, each arm in its colour of
:func:`ipstrial.report.palette.arm_colors`. matplotlib is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ipstrial._checks import ParameterError, check_choice

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DAYS_PER_MONTH",
    "at_risk_table",
    "column_label",
    "forest_figure",
    "money_axis",
    "percent_axis",
    "text_overlaps",
    "time_axis",
]

DAYS_PER_MONTH = 365.25 / 12
"""Days in a mean Gregorian month (30.4375): ``months = days / DAYS_PER_MONTH``."""

_IN_DAYS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": 365.25}
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)
_FOREST_ESTIMANDS = ("risk_difference", "risk_ratio", "odds_ratio")
_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4, 5, 10, 20, 50, 100)
_LOG_TICKS_COARSE = (0.01, 0.1, 0.25, 0.5, 1, 2, 4, 10, 100)


# ---------------------------------------------------------------------------------------------
# measuring text
# ---------------------------------------------------------------------------------------------


def _points(size: object) -> float:
    """A matplotlib font size (``9``, ``"small"``) in points, by the current rc settings."""
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=size).get_size_in_points())  # type: ignore[arg-type]


def _text_width(text: str, size: object, weight: str = "normal") -> float:
    """The width in points of ``text`` drawn at font ``size`` (matplotlib's own text layout)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    widths = [
        text_to_path.get_text_width_height_descent(
            line or " ",
            FontProperties(size=size, weight=weight),
            ismath=False,  # type: ignore[arg-type]
        )[0]
        for line in text.split("\n")
    ]
    return float(max(widths))


def _below_axis_points() -> float:
    """Points from the bottom of an axes to the bottom of its x-axis label (ticks, tick labels, label)."""
    import matplotlib as mpl

    rc = mpl.rcParams
    ticks = rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.3 * _points(rc["xtick.labelsize"])
    return float(ticks + rc["axes.labelpad"] + 1.3 * _points(rc["axes.labelsize"]))


# ---------------------------------------------------------------------------------------------
# time axis and numbers at risk
# ---------------------------------------------------------------------------------------------


def time_axis(ax: Axes, unit: str, time_unit: str | None, last: float) -> list[float]:
    """Set the x axis of a curve over time since randomisation; return the tick positions (data units).

    The data stay in their unit ``unit`` (days for the synthetic trial); ``time_unit`` chooses the unit
    shown: ``None`` shows the data's unit with matplotlib's ticks and the label "Time since randomisation
    (<unit>)"; ``"months"`` puts ticks every 1, 2, 3, 6, 12, ... months (the smallest step with at most 6
    steps to ``last``: 0, 6, 12, 18, ... for 30 months) at ``months * 365.25 / 12`` days, labelled
    "Months since randomisation"; ``"days"``, ``"weeks"``, ``"years"`` convert likewise (1 week = 7 days,
    1 year = 365.25 days). The x range is ``[0, 1.02 * last]`` (or to the last tick).

    Parameters
    ----------
    ax
        The axes.
    unit
        The unit of the durations (the result's ``unit``).
    time_unit
        The unit to show, or None for the data's own.
    last
        The last follow-up time, in ``unit``.

    Raises
    ------
    ParameterError
        When ``time_unit`` is not one of the four units, or ``unit`` is not one (it cannot be converted).
    """
    from matplotlib.ticker import MaxNLocator

    last = float(last) if last > 0 else 1.0
    if time_unit is None:
        ax.set_xlim(0, last * 1.02)
        ticks = [float(t) for t in ax.get_xticks() if 0 <= t <= last * 1.02]
        ax.set_xticks(ticks)
        ax.set_xlabel(f"Time since randomisation ({unit})")
        return ticks
    time_unit = check_choice(time_unit, "time_unit", tuple(_IN_DAYS))
    if unit not in _IN_DAYS:
        raise ParameterError(
            f"time_unit={time_unit!r} converts from days, weeks, months or years, but the durations are in "
            f"{unit!r}: pass time_unit=None to show them as recorded, or estimate with unit='days'"
        )
    factor = _IN_DAYS[unit] / _IN_DAYS[time_unit]  # data unit -> shown unit
    shown_last = last * factor
    if time_unit == "months":
        step = next((s for s in _MONTH_STEPS if shown_last / s <= 6), _MONTH_STEPS[-1])
        shown = list(np.arange(0, shown_last * 1.02 + 1e-9, step))
    else:
        shown = [
            float(v)
            for v in MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True).tick_values(0, shown_last)
            if 0 <= v <= shown_last * 1.02
        ]
    ticks = [float(v) / factor for v in shown]
    ax.set_xlim(0, max(last * 1.02, ticks[-1]))
    ax.set_xticks(ticks, [f"{v:g}" for v in shown])
    ax.set_xlabel(f"{time_unit.capitalize()} since randomisation")
    return ticks


def at_risk_table(
    ax: Axes,
    ticks: Sequence[float],
    counts: Mapping[str, Sequence[int | None]],
    colors: Mapping[str, str],
    *,
    title: str = "Number at risk",
) -> float:
    """Draw the numbers-at-risk table under the x axis of ``ax``: one row per arm, counts under the ticks.

    The table starts below the x-axis label (tick length, pad, tick labels, label pad and label, from the rc
    settings), one row per arm 1.5 lines apart; each count is centred under its tick, the arm label is in
    the arm's colour, right-aligned left of the widest count of the first column so that labels never run
    into counts. A count ``None`` (not known) is shown as "–", a count below the figures' disclosure
    threshold (:func:`ipstrial.report.disclosure.figure_min_count`, 5 unless a plan says otherwise) as
    "<5". Texts carry ``gid`` ``"at_risk:<arm>:<t>"``
    (``t`` in data units, ``:g``) and are in ``ax.texts``.

    Parameters
    ----------
    ax
        The axes of the curves (x in data units).
    ticks
        The x positions of the counts (the tick positions).
    counts
        ``{arm: [count at each tick]}``, in the order of the rows.
    colors
        ``{arm: colour}``.
    title
        The heading of the table.

    Returns
    -------
    float
        The height in points the table takes below the axes (for sizing the figure).
    """
    import matplotlib as mpl
    from matplotlib.transforms import blended_transform_factory, offset_copy

    from ipstrial.report.disclosure import count_text

    size = _points(mpl.rcParams["xtick.labelsize"])
    line = 1.5 * size
    top = _below_axis_points() + 0.9 * size
    widest = max((len(f"{c}") for row in counts.values() for c in row[:1]), default=1)
    left = -(0.5 * 0.64 * size * max(widest, 1) + 0.6 * size)  # points left of the first tick
    base = blended_transform_factory(ax.transData, ax.transAxes)
    first = ticks[0] if ticks else 0.0

    def place(x_points: float, row: int) -> Any:
        return offset_copy(base, fig=ax.figure, x=x_points, y=-(top + line * row), units="points")

    ax.text(
        first,
        0,
        title,
        transform=place(left, 0),
        ha="right",
        va="top",
        fontsize=size,
        fontweight="bold",
        gid="at_risk_title",
    )
    for k, (arm, row) in enumerate(counts.items(), start=1):
        ax.text(
            first,
            0,
            arm,
            transform=place(left, k),
            ha="right",
            va="top",
            fontsize=size,
            color=colors[arm],
            gid=f"at_risk_label:{arm}",
        )
        for t, c in zip(ticks, row, strict=True):
            ax.text(
                t,
                0,
                count_text(c),
                transform=place(0, k),
                ha="center",
                va="top",
                fontsize=size,
                gid=f"at_risk:{arm}:{t:g}",
            )
    return top + line * (len(counts) + 1)


# ---------------------------------------------------------------------------------------------
# money
# ---------------------------------------------------------------------------------------------


def money_text(x: float) -> str:
    """An amount with thousands separators and no decimals (``-72000.4 -> "-72,000"``, never ``"-0"``)."""
    text = f"{x:,.0f}"
    return text[1:] if text in ("-0",) else text


def money_axis(axis: Any) -> None:
    """Format a matplotlib axis (``ax.xaxis`` or ``ax.yaxis``) as amounts with thousands separators."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _pos: money_text(x)))


def percent_axis(axis: Any, decimals: int = 0) -> None:
    """Show a 0-1 axis (``ax.yaxis``) as percentages without the sign (``0.25 -> "25"``; label says %)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{100 * v:.{decimals}f}"))


# ---------------------------------------------------------------------------------------------
# overlapping texts
# ---------------------------------------------------------------------------------------------


def _drawn_texts(fig: Figure) -> list[Any]:
    """The visible, non-empty Text artists of ``fig`` that the last draw put on the canvas."""
    from matplotlib.text import Text

    hidden: set[int] = set()
    for ax in fig.axes:
        axes = [ax.xaxis, ax.yaxis]
        for axis in axes:
            if not ax.axison or not axis.get_visible():
                hidden.update(id(t) for t in axis.findobj(Text))
                continue
            low, high = sorted(axis.get_view_interval())
            span = (high - low) or 1.0
            for ticks, locs in (
                (axis.get_major_ticks(), axis.get_majorticklocs()),
                (axis.get_minor_ticks(), axis.get_minorticklocs()),
            ):
                for tick, loc in zip(ticks, locs, strict=False):
                    outside = not (low - 1e-9 * span <= loc <= high + 1e-9 * span)
                    if outside or not tick.get_visible():
                        hidden.update((id(tick.label1), id(tick.label2)))
                for tick in ticks[len(locs) :]:
                    hidden.update((id(tick.label1), id(tick.label2)))
    out = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
            continue
        legend = _legend_of(text, fig)
        if legend is not None and not legend.get_visible():
            continue
        out.append(text)
    return out


def _legend_of(text: Any, fig: Figure) -> Any:
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if legend is not None and text in legend.get_texts() + [legend.get_title()]:
            return legend
    return None


def text_overlaps(fig: Figure, *, tolerance: float = 0.5) -> list[tuple[str, str]]:
    """Every pair of visible texts of ``fig`` whose drawn boxes overlap: ``[(text_a, text_b), ...]``.

    Rule: after ``fig.canvas.draw()``, take every visible Text artist with non-blank text (titles, tick
    labels of ticks inside the view, axis labels, annotations, legend texts, table cells, figure texts;
    not the labels of ticks outside the view, of hidden axes or of hidden legends); two texts overlap when
    their window extents (``Text.get_window_extent``, matplotlib's bounding box of the drawn text,
    rotation included) intersect by more than ``tolerance`` pixels in both directions. The pairs are in
    drawing order, each text by its string; an empty list means no label runs into another.

    Parameters
    ----------
    fig
        A matplotlib figure (any backend that can draw; Agg in tests).
    tolerance
        Pixels of intersection allowed in each direction (touching boxes do not count).
    """
    from matplotlib.figure import Figure as _Figure

    if not isinstance(fig, _Figure):
        raise ParameterError(f"fig must be a matplotlib Figure (e.g. ax.figure), got {type(fig).__name__}")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    texts = _drawn_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    pairs = []
    for i in range(len(texts)):
        a = boxes[i]
        for j in range(i + 1, len(texts)):
            b = boxes[j]
            width = min(a.x1, b.x1) - max(a.x0, b.x0)
            height = min(a.y1, b.y1) - max(a.y0, b.y0)
            if width > tolerance and height > tolerance:
                pairs.append((texts[i].get_text(), texts[j].get_text()))
    return pairs


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


def column_label(name: str) -> str:
    """The display label of a column (:func:`ipstrial.report.format.current_labels`; its name without one)."""
    from ipstrial.report.format import current_labels

    return current_labels().label(name)


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
