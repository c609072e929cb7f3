"""One palette and one style for every figure of a trial.

:func:`arm_colors` gives each arm its colour from seaborn's ``"colorblind"`` palette (Waskom 2021, seaborn:
statistical data visualization, JOSS 6:3021; the palette follows Wong 2011, Points of view: Color blindness,
Nature Methods 8:441), in the declared order of the arms: pass the trial's arms (``trial.arms``) and every
figure of the trial shows each arm in the same colour. :func:`figure_style` is the look every figure of
ipstrial is drawn in (seaborn's ``"ticks"`` style, a light grid, readable print sizes).

seaborn and matplotlib are imported inside the functions, so ``import ipstrial`` stays light.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from ipstrial._checks import ParameterError
from ipstrial._labels import label_of

__all__ = ["PALETTE", "arm_colors", "figure_style", "resolve_colors"]

PALETTE = "colorblind"
"""The seaborn palette of the arms (colour-blind safe; Wong 2011)."""

#: rc settings laid over seaborn's "ticks" style and "paper" context (font sizes in points).
_RC = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": ".9",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",
}


def arm_colors(arms: Sequence[object]) -> dict[str, str]:
    """The colour of each arm: seaborn's ``"colorblind"`` palette in the order the arms are given.

    Rule: the ``k``-th arm (0-based) gets colour ``k`` of ``seaborn.color_palette("colorblind", n)``
    (which repeats after 10 colours), as ``"#rrggbb"``. Give the trial's declared arms (``trial.arms``)
    for the same colour of an arm in every figure; a figure of a subset of the arms then keeps them.

    Parameters
    ----------
    arms
        The arm labels in their declared order (values are shown by their label: ``1 -> "1"``).

    Returns
    -------
    dict
        ``{arm label: hex colour}`` in the order of ``arms``.

    Raises
    ------
    ParameterError
        When ``arms`` is a single text, is empty or repeats a label.

    References
    ----------
    Wong B (2011). Points of view: Color blindness. Nature Methods 8:441. Waskom ML (2021). seaborn:
    statistical data visualization. Journal of Open Source Software 6:3021.
    """
    if isinstance(arms, str) or not isinstance(arms, Sequence | Mapping) and not hasattr(arms, "__iter__"):
        raise ParameterError(f"arms must be a sequence of arm labels such as ['IPS', 'SAU'], got {arms!r}")
    labels = [label_of(a) for a in arms]
    if not labels:
        raise ParameterError("arms must name at least one arm, got an empty sequence")
    repeated = sorted({a for a in labels if labels.count(a) > 1})
    if repeated:
        raise ParameterError(f"arms must not repeat a label; repeated: {repeated} (in {labels})")
    import seaborn as sns

    colours = sns.color_palette(PALETTE, len(labels)).as_hex()
    return dict(zip(labels, colours, strict=True))


def resolve_colors(
    colors: Mapping[str, str] | None, arms: Sequence[str], *, what: str = "arm"
) -> dict[str, str]:
    """The colours of a figure: ``colors`` when given (it must cover every arm), else :func:`arm_colors`.

    Parameters
    ----------
    colors
        ``{arm: colour}`` (any matplotlib colour), e.g. ``arm_colors(trial.arms)``; None for the default.
    arms
        The arms (or lines) the figure draws, in order.
    what
        What the keys are, for the message (``"arm"``, ``"line"``).

    Raises
    ------
    ParameterError
        When ``colors`` is not a mapping, lacks one of ``arms`` or holds a value matplotlib cannot read.
    """
    if colors is None:
        return arm_colors(arms)
    if not isinstance(colors, Mapping):
        raise ParameterError(
            f"colors must be a mapping {{{what}: colour}} such as arm_colors(trial.arms), got {colors!r}"
        )
    missing = [a for a in arms if a not in colors]
    if missing:
        raise ParameterError(
            f"colors has no colour for {what} {', '.join(map(repr, missing))}; it names "
            f"{list(colors)}: add them, e.g. colors=arm_colors(trial.arms)"
        )
    from matplotlib.colors import is_color_like

    bad = {a: colors[a] for a in arms if not is_color_like(colors[a])}
    if bad:
        raise ParameterError(f"colors holds values that are not colours: {bad}; use e.g. '#0173b2' or 'C0'")
    return {a: colors[a] for a in arms}


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """The style every ipstrial figure is drawn in (a context manager).

    seaborn's ``"ticks"`` style and ``"paper"`` context with a light grid, no top or right spine, 9-11 pt
    text and 200 dpi PNGs cut to their content (``savefig.bbox = "tight"``), restored on exit::

        with figure_style():
            fig, ax = plt.subplots()

    Settings read when an artist is created (fonts, ticks, grid) apply to what is drawn inside the block.

    References
    ----------
    Waskom ML (2021). seaborn: statistical data visualization. JOSS 6:3021 (``axes_style``,
    ``plotting_context``).
    """
    import matplotlib as mpl
    import seaborn as sns

    rc = {**sns.axes_style("ticks"), **sns.plotting_context("paper"), **_RC}
    with mpl.rc_context(rc):
        yield
