"""Shared drawing helpers of the publication figures, and a check that no two labels of a figure overlap.

* :func:`text_overlaps` - the pairs of visible texts whose drawn boxes overlap (what a reviewer calls
  labels running into each other).
* the helpers the ``plot()`` methods of the results share: :func:`time_axis` (months since
  randomisation for durations in days, ``months = days / (365.25 / 12)``), :func:`at_risk_table`
  (numbers at risk aligned under the x ticks), :func:`money_axis` (currency with thousands separators),
  :func:`percent_axis` and :func:`column_label`.

The forest plots are in :mod:`ipstrial.report.forest`. Every figure is drawn inside
:func:`ipstrial.report.palette.figure_style`, each arm in its colour of
:func:`ipstrial.report.palette.arm_colors`. matplotlib is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    "money_axis",
    "percent_axis",
    "text_overlaps",
    "time_axis",
]

DAYS_PER_MONTH = 365.25 / 12
"""Days in a mean Gregorian month (30.4375): ``months = days / DAYS_PER_MONTH``."""

_IN_DAYS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": 365.25}
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)


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


def column_label(name: str) -> str:
    """The display label of a column (:func:`ipstrial.report.format.current_labels`; its name without one)."""
    from ipstrial.report.format import current_labels

    return current_labels().label(name)
