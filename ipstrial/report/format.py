"""The one place that formats numbers for humans: by estimand and unit, with column labels from a plan.

Every ``summary()``, every HTML view (``_repr_html_``) and the report's tables format their numbers here, so a
number reads the same everywhere. The rules, by estimand (:data:`ipstrial.results.ESTIMANDS`):

* currency -- ``delta_cost``, ``icer``, ``inmb``, ``evpi``, and ``mean``, ``mean_difference``,
  ``median_difference`` of a column whose unit is a currency (:data:`CURRENCIES`): thousands separators, no
  decimals, the unit after the number (``-72,000 DKK``);
* percentage, one decimal (``58.6%``) -- ``proportion``, ``survival``, ``cumulative_incidence``,
  ``prob_cost_effective``, and ``mean`` of a proportion column (unit ``"proportion"``);
* percentage points, one decimal (``15.7 pp``) -- ``risk_difference``, and ``delta_effect`` or
  ``mean_difference`` of a proportion column;
* two decimals (``1.37``) -- the ratios ``risk_ratio``, ``odds_ratio``, ``hazard_ratio``, ``rate_ratio``,
  ``rmst_ratio``, ``subdistribution_hazard_ratio`` and the test statistics ``chi_square``, ``cmh``,
  ``logrank``, ``gray_test``, ``interaction``;
* ``median_time``: a whole time without decimals (``368 days``);
* anything else by size: 0 decimals from 1,000 (with separators), 1 from 100, 2 from 1, else 3
  (``329.8 days``); in a table, one number of decimals per row, by its largest number.

Special values: NaN (and None) is ``"—"``; an infinite upper limit of a median time (a Kaplan-Meier curve
that never falls to the limit's level) is ``"not reached"`` (R's ``print.survfit`` prints ``NA`` there: the
median is not reached); an infinite ICER is ``"dominant"`` (ΔC < 0 with ΔE = 0: cheaper for the same effect)
or ``"dominated"`` (ΔC > 0), and an ICER in the dominant or dominated quadrant is named, not printed as a
negative number, which is not a cost per unit gained (Drummond et al., *Methods for the Economic Evaluation of
Health Care Programmes*, 4th ed., 2015; Stinnett & Paltiel 1997). Negative numbers use the ASCII hyphen-minus
so that a table copied into a spreadsheet stays numeric. Intervals read ``"low to high"``: a comma or a dash
is ambiguous beside negative numbers.

p-values follow one rule (:func:`format_p`).

Labels: a :class:`Labels` mapping gives each column a human label and a unit (``employed_18m`` -> "In work
or education within 18 months"; ``cost_total`` -> ("Total cost over 18 months", "DKK")). The module holds a
default that every summary and HTML view uses when none is passed; a plan sets it with :func:`use_labels` (a
context manager) or, in a notebook, :func:`set_labels`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "CURRENCIES",
    "CURRENCY_ESTIMANDS",
    "MISSING",
    "PERCENT_ESTIMANDS",
    "RATIO_ESTIMANDS",
    "SINGLE_ARM_ESTIMANDS",
    "Label",
    "Labels",
    "current_labels",
    "format_estimate",
    "format_interval",
    "format_p",
    "set_labels",
    "use_labels",
]

MISSING = "—"
"""How a missing number (None, NaN) is shown."""

NOT_REACHED = "not reached"

CURRENCIES: frozenset[str] = frozenset(
    {"DKK", "EUR", "USD", "GBP", "SEK", "NOK", "ISK", "CHF", "kr", "€", "$", "£"}
)
"""Units that are currencies (compared case-sensitively, as ISO 4217 codes are written)."""

PROPORTION_UNITS: frozenset[str] = frozenset({"proportion", "%", "percent", "share"})
"""Units that mark a 0/1 or 0-1 column: its mean is a percentage, a difference of means percentage points."""

CURRENCY_ESTIMANDS: frozenset[str] = frozenset({"delta_cost", "icer", "inmb", "evpi"})
"""Estimands that are amounts of money whatever the column's unit."""

PERCENT_ESTIMANDS: frozenset[str] = frozenset(
    {"proportion", "survival", "cumulative_incidence", "prob_cost_effective"}
)
"""Estimands shown as percentages."""

POINTS_ESTIMANDS: frozenset[str] = frozenset({"risk_difference"})
"""Estimands shown in percentage points."""

RATIO_ESTIMANDS: frozenset[str] = frozenset(
    {"risk_ratio", "odds_ratio", "hazard_ratio", "rate_ratio", "rmst_ratio", "subdistribution_hazard_ratio"}
)
"""Estimands shown with two decimals."""

STATISTIC_ESTIMANDS: frozenset[str] = frozenset({"chi_square", "cmh", "logrank", "gray_test", "interaction"})
"""Test statistics, shown with two decimals and no unit."""

SINGLE_ARM_ESTIMANDS: frozenset[str] = frozenset(
    {"proportion", "mean", "median_time", "survival", "rmst", "cumulative_incidence"}
)
"""Estimands of one arm: a row of these whose contrast is one arm shows no p-value."""

_UNITLESS: frozenset[str] = RATIO_ESTIMANDS | STATISTIC_ESTIMANDS | {"number_needed_to_treat", "fisher_exact"}


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Label:
    """A column's human label and unit (``Label("Total cost over 18 months", "DKK")``).

    Attributes
    ----------
    label
        What a reader calls the column.
    unit
        Its unit (``"DKK"``, ``"days"``, ``"proportion"``), or None.
    """

    label: str
    unit: str | None = None

    def __post_init__(self) -> None:
        """Check the types."""
        if not isinstance(self.label, str) or not self.label.strip():
            raise _parameter_error(f"a label must be non-empty text, got {self.label!r}")
        if self.unit is not None and (not isinstance(self.unit, str) or not self.unit.strip()):
            raise _parameter_error(f"a unit must be non-empty text or None, got {self.unit!r}")


def _parameter_error(message: str) -> Exception:
    from ipstrial._checks import ParameterError

    return ParameterError(message)


def _as_label(column: str, value: object) -> Label:
    """One entry of a labels mapping: text, ``(label, unit)``, ``{"label": ..., "unit": ...}`` or a Label."""
    if isinstance(value, Label):
        return value
    if isinstance(value, str):
        return Label(value)
    if isinstance(value, Mapping):
        unknown = set(value) - {"label", "unit"}
        if unknown or "label" not in value:
            raise _parameter_error(
                f"labels[{column!r}] must have the keys 'label' and optionally 'unit', got {sorted(value)}"
            )
        return Label(value["label"], value.get("unit"))
    if isinstance(value, tuple | list) and len(value) == 2:
        return Label(value[0], value[1])
    raise _parameter_error(
        f"labels[{column!r}] must be a label text, a (label, unit) pair or a mapping with 'label' and "
        f"'unit', got {value!r}"
    )


class Labels(Mapping[str, Label]):
    """Column name -> :class:`Label`: the human label and unit of each column.

    Parameters
    ----------
    mapping
        Column name -> label text, ``(label, unit)`` pair, ``{"label": ..., "unit": ...}`` or :class:`Label`.
        ``Labels({"employed_18m": "In work or education within 18 months", "cost_total": ("Total cost over 18
        months", "DKK")})``.

    Columns without an entry keep their name and have no unit.
    """

    def __init__(self, mapping: Mapping[str, object] | None = None) -> None:
        if mapping is None:
            mapping = {}
        if not isinstance(mapping, Mapping):
            kind = type(mapping).__name__
            raise _parameter_error(f"labels must be a mapping of column -> label, got {kind}")
        entries: dict[str, Label] = {}
        for column, value in mapping.items():
            if not isinstance(column, str) or not column:
                raise _parameter_error(f"labels keys must be column names (text), got {column!r}")
            entries[column] = _as_label(column, value)
        self._entries = entries

    def __getitem__(self, column: str) -> Label:
        return self._entries[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Labels({self._entries!r})"

    def label(self, column: str) -> str:
        """The label of ``column`` (its name when it has none); ``"a, b"`` (two outcomes) gives both."""
        if column in self._entries:
            return self._entries[column].label
        if ", " in column:
            return ", ".join(self.label(part) for part in column.split(", "))
        return column

    def unit(self, column: str) -> str | None:
        """The unit of ``column`` or None; for ``"cost, effect"`` the first part's unit that is a currency."""
        if column in self._entries:
            return self._entries[column].unit
        if ", " in column:
            units = [self.unit(part) for part in column.split(", ")]
            money = [u for u in units if u in CURRENCIES]
            return money[0] if money else None
        return None


def as_labels(labels: Labels | Mapping[str, object] | None) -> Labels:
    """``labels`` as :class:`Labels`; None gives the module default (:func:`current_labels`)."""
    if labels is None:
        return current_labels()
    if isinstance(labels, Labels):
        return labels
    return Labels(labels)


_DEFAULT: list[Labels] = [Labels()]


def current_labels() -> Labels:
    """The labels used by summaries and HTML views when none are passed (empty unless a plan set them)."""
    return _DEFAULT[0]


def set_labels(labels: Labels | Mapping[str, object] | None) -> Labels:
    """Set the default labels (None clears them) and return the previous ones; for notebooks.

    Parameters
    ----------
    labels
        A :class:`Labels` or a mapping accepted by it; None for no labels.
    """
    previous = _DEFAULT[0]
    _DEFAULT[0] = Labels() if labels is None else as_labels(labels)
    return previous


@contextlib.contextmanager
def use_labels(labels: Labels | Mapping[str, object] | None) -> Iterator[Labels]:
    """Use ``labels`` as the default for every summary and HTML view inside the ``with`` block.

    ``with use_labels({"employed_18m": "In work or education within 18 months"}): print(result)``. The
    previous default is restored on leaving the block, also after an error.
    """
    previous = set_labels(labels)
    try:
        yield _DEFAULT[0]
    finally:
        _DEFAULT[0] = previous


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


def _value(x: object) -> float | None:
    """``x`` as a float, or None when it is missing (None, NA, NaN) or not a number."""
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _check_digits(digits: object) -> int | None:
    if digits is None:
        return None
    if not isinstance(digits, numbers.Integral) or isinstance(digits, bool) or digits < 0:
        raise _parameter_error(f"digits must be a non-negative whole number or None, got {digits!r}")
    return int(digits)


def _fixed(value: float, decimals: int, separators: bool = True) -> str:
    """``value`` with ``decimals`` decimals and thousands separators, never ``"-0"``."""
    text = f"{value:,.{decimals}f}" if separators else f"{value:.{decimals}f}"
    if text.startswith("-") and float(text[1:].replace(",", "")) == 0:
        text = text[1:]
    return text


def _by_size(value: float) -> int:
    """Decimals for a number of unknown kind: 0 from 1,000, 1 from 100, 2 from 1, else 3."""
    size = abs(value)
    if size >= 999.5:
        return 0
    if size >= 99.95:
        return 1
    if size >= 0.9995:
        return 2
    return 3


def _shared_decimals(*values: object) -> int | None:
    """Decimals by size (:func:`_by_size`) of the largest finite of ``values`` (None when none is)."""
    finite = [abs(x) for v in values if (x := _value(v)) is not None and math.isfinite(x)]
    return _by_size(max(finite)) if finite else None


def _kind(estimand: str, unit: str | None) -> str:
    """The formatting rule of an estimand (see the module docstring)."""
    if estimand in CURRENCY_ESTIMANDS:
        return "currency"
    if estimand in ("mean", "mean_difference", "median_difference") and unit in CURRENCIES:
        return "currency"
    if estimand in PERCENT_ESTIMANDS or (estimand == "mean" and unit in PROPORTION_UNITS):
        return "percent"
    if estimand in POINTS_ESTIMANDS or (
        estimand in ("delta_effect", "mean_difference") and unit in PROPORTION_UNITS
    ):
        return "points"
    if estimand in RATIO_ESTIMANDS or estimand in STATISTIC_ESTIMANDS:
        return "two"
    if estimand == "median_time":
        return "time"
    return "general"


def _suffix(kind: str, unit: str | None, estimand: str) -> str:
    if kind == "percent":
        return "%"
    if kind == "points":
        return " pp"
    if unit is None or unit in PROPORTION_UNITS or estimand in _UNITLESS:
        return ""
    if unit[:1].isdigit():  # a unit with a multiplier: "-2,250 (1,000 DKK)", not "-2,250 1,000 DKK"
        return f" ({unit})"
    return f" {unit}"


def _number(value: float, kind: str, digits: int | None) -> str:
    """The digits of a finite number by rule ``kind``, without unit."""
    if kind == "currency":
        return _fixed(value, 0 if digits is None else digits)
    if kind in ("percent", "points"):
        return _fixed(100.0 * value, 1 if digits is None else digits)
    if kind == "two":
        return _fixed(value, 2 if digits is None else digits)
    if kind == "time" and digits is None and float(value).is_integer():
        return _fixed(value, 0)
    return _fixed(value, _by_size(value) if digits is None else digits)


def _effect_sign(quadrant: str | None) -> int:
    """The sign of ΔE in a quadrant of the cost-effectiveness plane (0 when unknown)."""
    return {"dominant": 1, "north-east": 1, "dominated": -1, "south-west": -1}.get(quadrant or "", 0)


def format_estimate(
    value: object,
    estimand: str,
    unit: str | None = None,
    digits: int | None = None,
    *,
    quadrant: str | None = None,
) -> str:
    """Format an estimate by its estimand and unit, e.g. ``format_estimate(-72000.4, "delta_cost", "DKK")``
    is ``"-72,000 DKK"`` and ``format_estimate(0.586, "proportion")`` is ``"58.6%"``.

    The rules are in the module docstring: currency with thousands separators and no decimals, proportions
    as percentages, risk differences in percentage points (``" pp"``), ratios with two decimals, other
    numbers by size. ``None``/NaN is ``"—"``; an infinite median time is ``"not reached"``; an infinite ICER
    is ``"dominant"`` (-inf) or ``"dominated"`` (+inf), and an ICER whose ``quadrant`` is ``"dominant"`` or
    ``"dominated"`` is named rather than printed as a negative number (Drummond et al. 2015, section 4.3).

    Parameters
    ----------
    value
        The number.
    estimand
        One of :data:`ipstrial.results.ESTIMANDS` (an unknown word is formatted by size).
    unit
        The unit of the column the estimate is about (``"DKK"``, ``"days"``, ``"proportion"``) or None; shown
        after currency amounts and times, and deciding whether a mean is money or a percentage.
    digits
        Decimals instead of the rule's (for percentages: decimals of the percentage); None for the rule.
    quadrant
        For an ICER: its quadrant of the cost-effectiveness plane (:data:`ipstrial.economics.QUADRANTS`).
    """
    digits = _check_digits(digits)
    x = _value(value)
    if x is None:
        return MISSING
    if estimand == "icer":
        if quadrant in ("dominant", "dominated"):
            return quadrant
        if math.isinf(x):
            return "dominant" if x < 0 else "dominated"
    kind = _kind(estimand, unit)
    if math.isinf(x):
        if estimand == "median_time" and x > 0:
            return NOT_REACHED
        return "∞" if x > 0 else "-∞"
    return _number(x, kind, digits) + _suffix(kind, unit, estimand)


def _limit(value: float | None, estimand: str, kind: str, digits: int | None, sign: int) -> str:
    if value is None:
        return MISSING
    if math.isinf(value):
        if value > 0 and estimand in ("median_time", "rmst"):
            return NOT_REACHED
        return "∞" if value > 0 else "-∞"
    if estimand == "icer" and sign != 0 and value < 0:
        # ΔC/ΔE < 0: with ΔE > 0 this limit is a saving with more effect (dominant), with ΔE < 0 a cost
        # with less effect (dominated); neither is a cost per unit gained.
        return "dominant" if sign > 0 else "dominated"
    return _number(value, kind, digits)


def format_interval(
    low: object,
    high: object,
    estimand: str,
    unit: str | None = None,
    digits: int | None = None,
    *,
    quadrant: str | None = None,
) -> str:
    """Format a confidence interval as ``"low to high"`` by the rules of :func:`format_estimate`, without
    the unit (which the estimate carries): ``format_interval(0.522, 0.646, "proportion") == "52.2 to 64.6"``.

    Both limits missing gives ``"—"``; an infinite upper limit of a median time or RMST is ``"not reached"``
    (``"537 to not reached"``). For an ICER, a negative limit is not a cost per unit of effect: with the
    ``quadrant`` of the estimate, it is named ``"dominant"`` (ΔE > 0) or ``"dominated"`` (ΔE < 0), and an
    interval whose two limits are both is that word alone (Drummond et al. 2015, section 4.3; Fieller's
    interval is then wholly in that region, Willan & O'Brien 1996).

    Parameters
    ----------
    low, high
        The limits.
    estimand, unit, digits, quadrant
        As for :func:`format_estimate`.
    """
    digits = _check_digits(digits)
    lo, hi = _value(low), _value(high)
    if lo is None and hi is None:
        return MISSING
    kind = _kind(estimand, unit)
    if digits is None and kind == "general":
        digits = _shared_decimals(lo, hi)
    sign = _effect_sign(quadrant) if estimand == "icer" else 0
    left = _limit(lo, estimand, kind, digits, sign)
    right = _limit(hi, estimand, kind, digits, sign)
    if left == right and left in ("dominant", "dominated"):
        return left
    return f"{left} to {right}"


def format_p(p: object) -> str:
    """Format a p-value by the package's one rule.

    * missing (None, NaN): ``"—"``;
    * ``p < 0.001``: ``"<0.001"`` (NEJM statistical reporting guidelines, Harrington et al. 2019, N Engl J
      Med 381:285-286: "P values smaller than 0.001 should be reported as P<0.001");
    * ``0.001 <= p < 0.01``: two significant figures (``0.0012``, ``0.0050``), as the BMJ's guidance to
      authors on statistics asks for P values (two significant figures), so that a p-value near an
      adjusted threshold is not rounded across it;
    * otherwise three decimals (``0.042``, ``0.791``, ``1.000``).

    Parameters
    ----------
    p
        The p-value.

    Raises
    ------
    ParameterError
        If ``p`` is a number outside [0, 1] (beyond rounding error).
    """
    x = _value(p)
    if x is None:
        return MISSING
    if x < -1e-12 or x > 1 + 1e-9:
        raise _parameter_error(f"a p-value must lie in [0, 1], got {p!r}")
    if x < 0.001:
        return "<0.001"
    if x < 0.01:
        # two significant figures: four decimals below 0.00995, which rounds to 0.010
        return f"{x:.4f}" if x < 0.00995 else "0.010"
    return f"{min(x, 1.0):.3f}"


def estimand_label(estimand: str) -> str:
    """The human estimand, e.g. ``"rmst_difference" -> "RMST difference"``, ``"icer" -> "ICER"``."""
    words = {"icer": "ICER", "inmb": "INMB", "evpi": "EVPI", "rmst": "RMST", "cmh": "CMH"}
    text = " ".join(words.get(word, word) for word in estimand.split("_"))
    return text[:1].upper() + text[1:]


def describe(row: Any, labels: Labels | None = None) -> dict[str, str]:
    """Formatted ``estimate``, ``interval`` and ``p`` of one ARD row (a :class:`ipstrial.results.Row` or a
    mapping with its columns), with the unit of its outcome from ``labels`` (default
    :func:`current_labels`)."""
    labels = as_labels(labels)
    get = row.get if isinstance(row, Mapping) else lambda key, default=None: getattr(row, key, default)
    extras = get("extras", None) or {}
    quadrant = extras.get("quadrant") if isinstance(extras, Mapping) else None
    if quadrant is None and isinstance(row, Mapping):
        quadrant = row.get("quadrant")
    if not isinstance(quadrant, str):
        quadrant = None
    estimand = str(get("estimand"))
    unit = labels.unit(str(get("outcome", "") or ""))
    if unit is None and isinstance(extras, Mapping) and isinstance(extras.get("unit"), str):
        unit = extras["unit"]
    elif unit is None and isinstance(row, Mapping) and isinstance(row.get("unit"), str):
        unit = row["unit"]
    # one number of decimals for the estimate and its limits where the rule goes by size (as in tables)
    digits = (
        _shared_decimals(get("estimate"), get("ci_low"), get("ci_high"))
        if _kind(estimand, unit) == ("general")
        else None
    )
    return {
        "estimate": format_estimate(get("estimate"), estimand, unit, digits, quadrant=quadrant),
        "interval": format_interval(get("ci_low"), get("ci_high"), estimand, unit, digits, quadrant=quadrant),
        "p": format_p(get("p_value")),
    }


def _conf_text(level: float) -> str:
    return f"{level * 100:.10g}%"


def _row_unit(row: Any, labels: Labels) -> str | None:
    unit = labels.unit(row.outcome) if row.outcome else None
    if unit is None and isinstance(row.extras.get("unit"), str):
        unit = row.extras["unit"]
    return unit


def is_single_arm(row: Any) -> bool:
    """True for a row that estimates something of one arm (a proportion, mean, median, survival, RMST or
    cumulative incidence whose contrast is not ``"A vs B"``): such a row has no p-value to show."""
    return row.estimand in SINGLE_ARM_ESTIMANDS and " vs " not in row.contrast


def display_columns(
    rows: Any, *, labels: Labels | Mapping[str, object] | None = None, digits: int | None = None
) -> dict[str, list[str]]:
    """The display columns of ARD rows (:class:`ipstrial.results.Row`), as formatted text, in order.

    ``Analysis`` (always, the caller may drop it), ``Outcome`` (when the rows have more than one),
    ``Contrast``,
    ``Subgroup`` and ``Level`` (when rows carry the extras ``subgroup``/``level``, as
    :func:`ipstrial.itt.subgroups` rows do), ``Estimand``, ``Variant`` (when some variant is not a subgroup
    level), ``Estimate`` (:func:`format_estimate` with the unit of the row's outcome from ``labels``, else the
    row's ``unit`` extra), ``SE`` (when any is known), ``95% CI`` (:func:`format_interval`; the level in each
    cell when the rows differ), ``p`` (:func:`format_p`; blank for single-arm rows, :func:`is_single_arm`),
    ``p (<adjustment>)`` (when rows carry ``p_adjusted``, e.g. ``compare_proportions(adjust="holm")``),
    ``Method`` and ``n`` (when any is known).
    """
    labels = as_labels(labels)
    rows = list(rows)
    cols: dict[str, list[str]] = {}
    cols["Analysis"] = [row.analysis or MISSING for row in rows]
    outcomes = {row.outcome for row in rows}
    if len(outcomes) > 1:
        cols["Outcome"] = [labels.label(row.outcome) if row.outcome else MISSING for row in rows]
    cols["Contrast"] = [row.contrast for row in rows]
    if any("subgroup" in row.extras for row in rows):
        cols["Subgroup"] = [labels.label(str(row.extras.get("subgroup", ""))) for row in rows]
        cols["Level"] = [
            "" if row.extras.get("level") is None else str(row.extras.get("level")) for row in rows
        ]
    cols["Estimand"] = [estimand_label(row.estimand) for row in rows]
    variants = []
    for row in rows:
        sub, level = row.extras.get("subgroup"), row.extras.get("level")
        explained = sub is not None and row.variant in (str(sub), f"{sub}={level}")
        variants.append("" if explained else row.variant)
    if any(variants):
        cols["Variant"] = [v or MISSING for v in variants]
    units = [_row_unit(row, labels) for row in rows]
    # one number of decimals per row for estimate, SE and limits (by the largest of them) where the rule
    # goes by size, so that an interval does not mix "-112.9" with "-39.15"
    row_digits = [
        digits
        if digits is not None or _kind(row.estimand, unit) != "general"
        else _shared_decimals(row.estimate, row.ci_low, row.ci_high)
        for row, unit in zip(rows, units, strict=True)
    ]
    quadrants = [q if isinstance(q := row.extras.get("quadrant"), str) else None for row in rows]
    cols["Estimate"] = [
        format_estimate(row.estimate, row.estimand, unit, d, quadrant=q)
        for row, unit, q, d in zip(rows, units, quadrants, row_digits, strict=True)
    ]
    if any(math.isfinite(row.se) for row in rows):
        cols["SE"] = [
            MISSING if not math.isfinite(row.se) else _number(row.se, _kind(row.estimand, unit), d)
            for row, unit, d in zip(rows, units, row_digits, strict=True)
        ]
    levels = {row.conf_level for row in rows}
    header = f"{_conf_text(next(iter(levels)))} CI" if len(levels) == 1 else "CI"
    intervals = []
    for row, unit, q, d in zip(rows, units, quadrants, row_digits, strict=True):
        text = format_interval(row.ci_low, row.ci_high, row.estimand, unit, d, quadrant=q)
        if len(levels) > 1 and text != MISSING:
            text = f"{_conf_text(row.conf_level)} {text}"
        intervals.append(text)
    cols[header] = intervals
    if any(_value(row.p_value) is not None for row in rows):
        cols["p"] = ["" if is_single_arm(row) else format_p(row.p_value) for row in rows]
    if any("p_adjusted" in row.extras for row in rows):
        methods = {str(row.extras.get("adjustment", "")) for row in rows if "p_adjusted" in row.extras}
        name = next(iter(methods)) if len(methods) == 1 and "" not in methods else "adjusted"
        name = name.capitalize() if name != "adjusted" else name
        cols[f"p ({name})"] = [
            format_p(row.extras["p_adjusted"]) if "p_adjusted" in row.extras else "" for row in rows
        ]
    cols["Method"] = [row.method for row in rows]
    if any(row.n is not None for row in rows):
        cols["n"] = [MISSING if row.n is None else f"{row.n:,d}" for row in rows]
    return cols
