"""Result types returned by every estimator in :mod:`ipstrial`.

Every estimator returns a frozen result object (a subclass of :class:`Result`).  The
numbers are available as attributes, and each result can be rendered as

* an analysis-results-dataset (ARD) frame with :meth:`Result.to_frame`, one row per
  :class:`Row`, with the columns in :data:`ARD_COLUMNS` first;
* plain text with :meth:`Result.summary` (also ``str(result)``);
* HTML with :meth:`Result._repr_html_` (used by Jupyter and Quarto);
* a JSON-safe dictionary with :meth:`Result.to_dict`;
* a matplotlib figure with :meth:`Result.plot`, where a picture fits.

Several results can be stacked into one ARD frame with :func:`collect`. What an analysis left out is in
its :class:`InputSummary`; :func:`excluded_extra` and :func:`contrast_extra` put those counts on the rows
they concern, for every area.

The ``analysis`` column names the analysis as ``<area>_<analysis>`` in snake case, the area being one of
``itt``, ``missing``, ``survival``, ``economics``, ``budget`` or ``randomization`` (e.g. ``itt_binary``,
``survival_cox``), so that rows from many results can be filtered without parsing free text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import html
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ipstrial._columns import plural

if TYPE_CHECKING:  # pragma: no cover - typing only, matplotlib is imported lazily
    from matplotlib.axes import Axes

__all__ = [
    "ARD_COLUMNS",
    "ARD_KEY",
    "ESTIMANDS",
    "InputSummary",
    "Result",
    "Row",
    "Table",
    "collect",
    "contrast_label",
    "display_label",
    "format_number",
    "format_p",
    "json_safe",
]

ESTIMANDS: frozenset[str] = frozenset(
    {
        "proportion",
        "mean",
        "risk_difference",
        "risk_ratio",
        "odds_ratio",
        "mean_difference",
        "median_difference",
        "number_needed_to_treat",
        "chi_square",
        "fisher_exact",
        "cmh",
        "interaction",
        "rate_ratio",
        "median_time",
        "survival",
        "hazard_ratio",
        "logrank",
        "rmst",
        "rmst_difference",
        "rmst_ratio",
        "cumulative_incidence",
        "gray_test",
        "subdistribution_hazard_ratio",
        "delta_cost",
        "delta_effect",
        "icer",
        "inmb",
        "prob_cost_effective",
        "evpi",
    }
)
"""The fixed vocabulary of estimand words allowed in :attr:`Row.estimand`."""

ARD_COLUMNS: tuple[str, ...] = (
    "analysis",
    "outcome",
    "contrast",
    "estimand",
    "variant",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "method",
    "n",
    "conf_level",
)
"""The leading columns, in order, of every analysis-results-dataset frame.

``(analysis, outcome, contrast, estimand, variant)`` is the key of a row: unique within a result, and
within :func:`collect` output (which refuses two results that would repeat a key).
"""

ARD_KEY: tuple[str, ...] = ("analysis", "outcome", "contrast", "estimand", "variant")
"""The columns that identify a row of an analysis-results dataset."""

_FLOAT_COLUMNS: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "p_value", "conf_level")
_TEXT_COLUMNS: tuple[str, ...] = ("analysis", "outcome", "contrast", "estimand", "variant", "method")
_MISSING = "—"
METHOD_WIDTH = 40
"""Method texts longer than this are shown as numbered notes under a result's table, not in a column."""
_FOOTNOTE = re.compile(r"\[\d+\] ")
_RIGHT_COLUMNS = frozenset({"Estimate", "SE", "n"})


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def contrast_label(treatment: object, control: object) -> str:
    """Return the label of a two-arm contrast, e.g. ``contrast_label("IPS", "SAU") == "IPS vs SAU"``.

    Arms coded as numbers or booleans read as their labels: ``contrast_label(1, 0) == "1 vs 0"``.

    Parameters
    ----------
    treatment, control
        The experimental and the comparator arm (labels; numbers and booleans are shown as text).

    Raises
    ------
    ValueError
        If either name is empty.
    """
    from ipstrial._labels import label_of

    treatment = label_of(treatment).strip()
    control = label_of(control).strip()
    if not treatment or not control:
        raise ValueError("contrast_label needs non-empty treatment and control names")
    return f"{treatment} vs {control}"


def _to_float(value: object, name: str) -> float:
    """Convert ``value`` (Python or numpy number, or ``None``) to a Python float; ``None`` gives NaN."""
    if value is None or value is pd.NA:
        return math.nan
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number, not a boolean")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or None, got {value!r}") from exc


def _to_count(value: object) -> int | None:
    """Convert a sample size to a Python ``int`` (or ``None``)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        raise TypeError("n must be an integer, not a boolean")
    if isinstance(value, numbers.Integral):
        count = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        count = int(value)
    elif isinstance(value, numbers.Real) and math.isnan(float(value)):
        return None
    else:
        raise TypeError(f"n must be a whole number or None, got {value!r}")
    if count < 0:
        raise ValueError(f"n must be non-negative, got {count}")
    return count


def _is_missing(x: object) -> bool:
    """True for ``None``, ``pd.NA`` and float NaN."""
    if x is None or x is pd.NA:
        return True
    if isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral):
        return math.isnan(float(x))
    return False


def format_number(x: object, digits: int = 3) -> str:
    """Format a number for display.

    Missing values (``None``, ``pd.NA``, NaN) are shown as ``"—"``; integers are shown
    without decimals; other numbers with ``digits`` decimals, except that a non-zero
    number which would round to zero is shown with ``digits`` significant figures.

    Parameters
    ----------
    x
        The value to format.  Non-numeric values are returned as ``str(x)``.
    digits
        Number of decimal places (non-negative).
    """
    if not isinstance(digits, numbers.Integral) or isinstance(digits, bool) or digits < 0:
        raise ValueError(f"digits must be a non-negative integer, got {digits!r}")
    digits = int(digits)
    if _is_missing(x):
        return _MISSING
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, numbers.Integral):
        return f"{int(x):d}"
    if not isinstance(x, numbers.Real):
        return str(x)
    value = float(x)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.{digits}f}"
    if value != 0 and float(text) == 0:
        return f"{value:.{max(digits, 1)}g}"
    if float(text) == 0:
        text = text.lstrip("-")  # avoid "-0.000"
    return text


def format_p(p: object, digits: int | None = None) -> str:
    """Format a p-value; without ``digits`` by the package's one rule
    (:func:`ipstrial.report.format.format_p`: ``"<0.001"`` below 0.001, two significant figures below 0.01,
    else three decimals; NaN as ``"—"``).

    Parameters
    ----------
    p
        The p-value (may be ``None`` or NaN).
    digits
        None for the package rule; else a number of decimal places, values below ``10**-digits`` being
        shown as ``"<0.0…1"`` (used where more precision is wanted, e.g. adjusted p-values in a note).
    """
    if digits is None:
        from ipstrial.report.format import format_p as _rule

        return _rule(p)
    if not isinstance(digits, numbers.Integral) or isinstance(digits, bool) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    digits = int(digits)
    if _is_missing(p):
        return _MISSING
    value = _to_float(p, "p")
    threshold = 10.0 ** (-digits)
    if value < threshold:
        return f"<{threshold:.{digits}f}"
    return f"{value:.{digits}f}"


def display_label(column: str) -> str:
    """The label a reader sees for ``column``: its label in the default labels a plan set
    (:func:`ipstrial.report.format.use_labels`), else the name itself; ``"a, b"`` gives both labels."""
    from ipstrial.report.format import current_labels

    return current_labels().label(column) if column else column


def _readable_class_name(name: str) -> str:
    """Turn a class name into words: ``"ProportionResult" -> "Proportion result"``."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    if not words:
        return name
    out = [words[0][0].upper() + words[0][1:]]
    for word in words[1:]:
        out.append(word if (len(word) > 1 and word.isupper()) else word.lower())
    return " ".join(out)


def json_safe(obj: Any) -> Any:
    """Convert ``obj`` recursively into something ``json.dumps(..., allow_nan=False)`` accepts.

    Conversions: NaN/inf -> ``None``; ``pd.NA``/``NaT`` -> ``None``; numpy scalars -> Python
    scalars; numpy arrays -> (nested) lists; DataFrame -> list of record dicts; Series and
    mappings -> dicts with string keys; tuples, lists and sets -> lists; :class:`Result` ->
    its :meth:`~Result.to_dict`; :class:`Row` -> its flat record; other dataclass
    instances -> dicts of their fields; dates and times -> ISO strings; anything else ->
    ``str(obj)``.
    """
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Result):
        return obj.to_dict()
    if isinstance(obj, Row):
        return json_safe(obj.to_record())
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):  # other numpy scalars (datetime64, complex, ...)
        if isinstance(obj, np.datetime64 | np.timedelta64) and np.isnat(obj):
            return None
        return str(obj)
    if isinstance(obj, pd.DataFrame):
        return [json_safe(record) for record in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(key): json_safe(value) for key, value in obj.items()}
    if isinstance(obj, pd.Index):
        return json_safe(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(key): json_safe(value) for key, value in obj.items()}
    if isinstance(obj, tuple | list):
        return [json_safe(item) for item in obj]
    if isinstance(obj, set | frozenset):
        items = [json_safe(item) for item in obj]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, _dt.datetime | _dt.date | _dt.time):
        return obj.isoformat()
    return str(obj)


# ---------------------------------------------------------------------------
# Row
# ---------------------------------------------------------------------------


def _normalise_extra(extra: object) -> tuple[tuple[str, object], ...]:
    """Normalise extra ARD columns (a mapping or pairs) to a key-sorted tuple of pairs."""
    if extra is None:
        return ()
    if isinstance(extra, Mapping):
        pairs = list(extra.items())
    elif isinstance(extra, Iterable) and not isinstance(extra, str | bytes):
        pairs = []
        for pair in extra:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise TypeError(f"extra must be a mapping or (key, value) pairs, got item {pair!r}")
            pairs.append((pair[0], pair[1]))
    else:
        raise TypeError(f"extra must be a mapping or (key, value) pairs, got {type(extra).__name__}")
    seen: set[str] = set()
    out: list[tuple[str, object]] = []
    for key, value in pairs:
        if not isinstance(key, str) or not key:
            raise TypeError(f"extra column names must be non-empty strings, got {key!r}")
        if key in ARD_COLUMNS:
            raise ValueError(f"extra column {key!r} clashes with a standard ARD column")
        if key in seen:
            raise ValueError(f"duplicate extra column {key!r}")
        seen.add(key)
        if isinstance(value, np.generic):
            value = value.item()
        out.append((key, value))
    return tuple(sorted(out, key=lambda kv: kv[0]))


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of an analysis-results dataset (ARD).

    Attributes
    ----------
    analysis
        Name of the analysis (e.g. ``"primary"`` or ``"per-protocol"``).
    contrast
        What is compared, usually :func:`contrast_label` (``"IPS vs SAU"``) or an arm name.
    estimand
        One of the words in :data:`ESTIMANDS`.
    estimate, se, ci_low, ci_high, p_value
        The numbers; missing values are NaN (``None`` is accepted and stored as NaN).
    method
        Short description of the method.
    n
        Number of participants contributing, or ``None``.
    outcome
        Name of the outcome.
    conf_level
        Confidence level of ``ci_low``/``ci_high``, strictly between 0 and 1.
    extra
        Additional columns, given as a mapping or as ``(name, value)`` pairs; stored as a
        tuple of pairs sorted by name.
    variant
        What tells this row from another of the same analysis, outcome, contrast and estimand:
        ``""`` for the primary (normal-theory or model-based) row, ``"bootstrap"`` for its bootstrap
        twin, ``"t=548"`` for a time point, ``"sex=F"`` for a subgroup level, ``"wtp=200000"`` for a
        willingness to pay. ``(analysis, outcome, contrast, estimand, variant)`` is the row's key.

    Raises
    ------
    ValueError
        For an unknown estimand, an empty contrast, a confidence level outside (0, 1),
        ``ci_low > ci_high`` (both finite), a negative ``n`` or an extra column named like
        a standard ARD column.
    TypeError
        For values of the wrong type.
    """

    analysis: str
    contrast: str
    estimand: str
    estimate: float
    se: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    method: str = ""
    n: int | None = None
    outcome: str = ""
    conf_level: float = 0.95
    extra: tuple[tuple[str, object], ...] | Mapping[str, object] = ()
    variant: str = ""

    def __post_init__(self) -> None:
        """Validate the row and normalise numbers and extras."""
        if not isinstance(self.contrast, str) and isinstance(self.contrast, numbers.Number | np.generic):
            from ipstrial._labels import label_of

            object.__setattr__(self, "contrast", label_of(self.contrast))
        for name in _TEXT_COLUMNS:
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
        if self.estimand not in ESTIMANDS:
            raise ValueError(
                f"unknown estimand {self.estimand!r}; allowed estimands are: {', '.join(sorted(ESTIMANDS))}"
            )
        if not self.contrast.strip():
            raise ValueError("contrast must be a non-empty string")
        for name in _FLOAT_COLUMNS:
            object.__setattr__(self, name, _to_float(getattr(self, name), name))
        object.__setattr__(self, "n", _to_count(self.n))
        if not 0.0 < self.conf_level < 1.0:
            raise ValueError(f"conf_level must be strictly between 0 and 1, got {self.conf_level}")
        if math.isfinite(self.ci_low) and math.isfinite(self.ci_high) and self.ci_low > self.ci_high:
            raise ValueError(f"ci_low ({self.ci_low}) is greater than ci_high ({self.ci_high})")
        object.__setattr__(self, "extra", _normalise_extra(self.extra))

    @property
    def extras(self) -> dict[str, object]:
        """The extra columns as a dictionary."""
        return dict(self.extra)  # type: ignore[arg-type]

    def to_record(self) -> dict[str, object]:
        """The row as a flat dictionary: the :data:`ARD_COLUMNS` in order, then the extras."""
        record: dict[str, object] = {column: getattr(self, column) for column in ARD_COLUMNS}
        record.update(self.extras)
        return record


def _frame_from_rows(rows: Iterable[Row]) -> pd.DataFrame:
    """Build an ARD frame from rows: ARD columns first, then the sorted union of extras."""
    rows = list(rows)
    extra_keys = sorted({key for row in rows for key, _ in row.extra})  # type: ignore[misc]
    columns = [*ARD_COLUMNS, *extra_keys]
    frame = pd.DataFrame.from_records([row.to_record() for row in rows], columns=columns)
    frame.index = pd.RangeIndex(len(rows))
    return _coerce_ard_dtypes(frame)


def _coerce_ard_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the standard ARD columns their dtypes (float64, nullable Int64, object text)."""
    for column in _FLOAT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    frame["n"] = pd.array([None if _is_missing(value) else int(value) for value in frame["n"]], dtype="Int64")
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].astype(object)
    return frame


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InputSummary:
    """Which rows of the data an analysis used, and which it left out and why (never silently).

    Attributes
    ----------
    n_rows
        Rows in the data given.
    arm
        The arm column.
    arms
        The analysed arms, in the order results list them.
    n_by_arm
        Participants analysed per arm.
    outside
        Rows of other arms, not part of this analysis, per arm label (e.g. IPSE in IPS vs SAU).
    excluded
        Rows of the analysed arms left out by the missing-data policy, per arm.
    policy
        The missing-data policy applied (``"complete-case"``), or None.
    reason
        What the excluded rows lack (e.g. ``"missing hours_18m"``).
    id
        The id column, or None when rows were known by position.
    """

    n_rows: int
    arm: str
    arms: tuple[str, ...]
    n_by_arm: Mapping[str, int]
    outside: Mapping[str, int] = dataclasses.field(default_factory=dict)
    excluded: Mapping[str, int] = dataclasses.field(default_factory=dict)
    policy: str | None = None
    reason: str = ""
    id: str | None = None

    @property
    def n(self) -> int:
        """Participants analysed."""
        return int(sum(self.n_by_arm.values()))

    def excluded_per_arm(self, arms: Iterable[str] | None = None) -> dict[str, int]:
        """Participants excluded by the missing-data policy for every arm (0 where none), in ``arms`` order
        (default: the analysed arms)."""
        return {a: int(self.excluded.get(a, 0)) for a in (self.arms if arms is None else arms)}

    def excluded_note(self) -> str:
        """A sentence on the participants excluded by the missing-data policy, or an empty string."""
        if not any(self.excluded.values()):
            return ""
        parts = ", ".join(f"{a} {k}" for a, k in self.excluded.items())
        why = f" with {self.reason}" if self.reason else ""
        total = sum(self.excluded.values())
        return f"complete case: {plural(total, 'participant')}{why} excluded ({parts})"

    def notes(self) -> tuple[str, ...]:
        """Sentences for a summary: rows outside the analysis and rows excluded, with their counts."""
        out = []
        if any(self.outside.values()):
            parts = ", ".join(f"{a if a == a.strip() else repr(a)} {k}" for a, k in self.outside.items() if k)
            total = sum(self.outside.values())
            out.append(f"Not in this analysis: {plural(total, 'row')} of other arms ({parts}).")
        if any(self.excluded.values()):
            parts = ", ".join(f"{a} {k}" for a, k in self.excluded.items())
            total = sum(self.excluded.values())
            why = f" with {self.reason}" if self.reason else ""
            counted = plural(total, "participant")
            out.append(f"Excluded ({self.policy or 'policy'}): {counted}{why} ({parts}).")
        if self.id is None:
            out.append("No id column was given: duplicated participants could not be checked.")
        return tuple(out)


def contrast_extra(inputs: InputSummary | None, treatment: str, control: str) -> dict[str, object]:
    """``excluded_treatment`` and ``excluded_control``: the participants of a contrast's two arms excluded
    by the missing-data policy, when any analysed participant was excluded."""
    if inputs is None or not any(inputs.excluded_per_arm().values()):
        return {}
    counts = inputs.excluded_per_arm((treatment, control))
    return {"excluded_treatment": counts[treatment], "excluded_control": counts[control]}


def excluded_extra(inputs: InputSummary | None, *arms: str) -> dict[str, object]:
    """``excluded``: the participants of ``arms`` (one arm, or a contrast's two, summed) excluded by the
    missing-data policy, when there are any."""
    k = sum(inputs.excluded_per_arm(arms).values()) if inputs is not None else 0
    return {"excluded": k} if k else {}


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class of every estimator result.

    Subclasses are frozen dataclasses that add attributes and override :meth:`rows`.
    Everything else -- :meth:`to_frame`, :meth:`summary`, :meth:`_repr_html_`,
    :meth:`to_dict` -- is derived from the rows and fields.  Subclasses with a natural
    picture override :meth:`plot`, and may override :attr:`title`.

    Every result records, in :attr:`inputs`, which rows it analysed and which it left out and why
    (an :class:`InputSummary`, shown as notes under the table). Subclasses build their rows with
    :meth:`_row`, which fills in the ``analysis``, ``outcome`` and ``conf_level`` they hold.
    """

    inputs: InputSummary | None = dataclasses.field(default=None, kw_only=True)
    title_template: ClassVar[str | None] = None
    """A subclass's wording of :attr:`title`, with ``{outcome}`` (its label) and ``{contrasts}`` (the rows'
    contrasts), e.g. ``"Mean difference in {outcome}: {contrasts}"``; None: the estimand of the first row."""

    @property
    def title(self) -> str:
        """Human-readable title naming estimand, outcome and contrasts, from the rows: the estimand of the
        first row that compares arms (else the first row), the outcome's label (:func:`display_label`) and
        every contrast, e.g. ``"Risk difference in employed_18m: IPS vs SAU, IPSE vs SAU"``; the class name
        in words ("Proportion result") when there are no rows."""
        from ipstrial.report.format import estimand_label

        try:
            rows = self._checked_rows()
        except NotImplementedError:
            rows = ()
        if not rows:
            return _readable_class_name(type(self).__name__)
        compared = [row for row in rows if " vs " in row.contrast]
        main = (compared or list(rows))[0]
        contrasts = ", ".join(dict.fromkeys(row.contrast for row in (compared or rows)))
        if self.title_template is not None:
            return self.title_template.format(outcome=display_label(main.outcome), contrasts=contrasts)
        about = f" in {display_label(main.outcome)}" if main.outcome else ""
        return f"{estimand_label(main.estimand)}{about}: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        """The ARD rows of this result; subclasses must override."""
        raise NotImplementedError(f"{type(self).__name__} does not implement rows()")

    def _row(self, contrast: object, estimand: str, estimate: object, **fields: Any) -> Row:
        """A :class:`Row` of this result: ``analysis``, ``outcome`` and ``conf_level`` (``1 - alpha``)
        are taken from the result's attributes of those names unless given."""
        if "analysis" not in fields:
            fields["analysis"] = str(getattr(self, "analysis", ""))
        if "outcome" not in fields:
            fields["outcome"] = str(getattr(self, "outcome", "") or "")
        if "conf_level" not in fields:
            alpha = getattr(self, "alpha", None)
            fields["conf_level"] = 0.95 if alpha is None else 1.0 - float(alpha)
        from ipstrial._labels import label_of

        label = contrast if isinstance(contrast, str) else label_of(contrast)
        return Row(contrast=label, estimand=estimand, estimate=estimate, **fields)  # type: ignore[arg-type]

    def _checked_rows(self) -> tuple[Row, ...]:
        """Call :meth:`rows` and check that it returned :class:`Row` objects."""
        rows = tuple(self.rows())
        for row in rows:
            if not isinstance(row, Row):
                raise TypeError(f"{type(self).__name__}.rows() must return Row objects, got {row!r}")
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The result as an analysis-results-dataset frame, one line per row.

        Columns are :data:`ARD_COLUMNS` in that order followed by the sorted union of the
        rows' extra columns; ``n`` is nullable ``Int64`` and the numeric columns are float64.
        """
        return _frame_from_rows(self._checked_rows())

    # -- display -----------------------------------------------------------------

    def _display_table(
        self, digits: int | None = None
    ) -> tuple[list[str], list[list[str]], list[bool], list[str]]:
        """Cells shared by :meth:`summary` and :meth:`_repr_html_`, formatted by each row's estimand and the
        unit of its outcome (:mod:`ipstrial.report.format`, with the default labels of
        :func:`~ipstrial.report.format.current_labels`).

        Returns the headers, the body cells, a right-alignment flag per column and note lines. Method texts
        longer than :data:`METHOD_WIDTH` characters are numbered notes (``"[1] ..."``) and the Method cell
        holds their number.
        """
        from ipstrial.report.format import current_labels, display_columns

        labels = current_labels()
        rows = self._checked_rows()
        notes: list[str] = []
        analyses = {row.analysis for row in rows}
        show_analysis = len(analyses) > 1
        if len(analyses) == 1 and (only := next(iter(analyses))):
            notes.append(f"Analysis: {only}")
        own = getattr(self, "notes", ())
        if isinstance(own, str):
            own = (own,)
        if isinstance(own, tuple | list):
            notes.extend(str(note) for note in own if note)
        if self.inputs is not None:
            notes.extend(self.inputs.notes())
        columns = display_columns(rows, labels=labels, digits=digits)
        if not show_analysis:
            columns.pop("Analysis", None)
        methods = columns.pop("Method")
        numbered: dict[str, int] = {}
        method_cells = []
        for text in methods:
            if len(text) <= METHOD_WIDTH:
                method_cells.append(text or _MISSING)
                continue
            number = numbered.setdefault(text, len(numbered) + 1)
            method_cells.append(f"[{number}]")
        n_cells = columns.pop("n", None)
        columns["Method"] = method_cells
        if n_cells is not None:
            columns["n"] = n_cells
        notes += [f"[{number}] {text}" for text, number in numbered.items()]
        headers = list(columns)
        right = [h in _RIGHT_COLUMNS or h.endswith("CI") or h.startswith("p") for h in headers]
        body = [[columns[h][i] for h in headers] for i in range(len(rows))]
        return headers, body, right, notes

    def summary(self, digits: int | None = None, *, labels: Mapping[str, object] | None = None) -> str:
        """A plain-text table of the rows for humans: numbers formatted by estimand and unit
        (:mod:`ipstrial.report.format`), long method texts as numbered notes under the table.

        Parameters
        ----------
        digits
            None (default) for the rules of :func:`ipstrial.report.format.format_estimate` (currency
            without decimals, percentages with one, ratios with two, ...); a number of decimals to use instead
            for estimates, standard errors and intervals. p-values always follow
            :func:`ipstrial.report.format.format_p`. Missing values are shown as ``"—"``.
        labels
            Column -> label or ``(label, unit)`` (:class:`ipstrial.report.format.Labels`) for the title, the
            outcome and subgroup columns and the units; default: the labels a plan set with
            :func:`ipstrial.report.format.use_labels`.
        """
        from ipstrial.report.format import use_labels

        with contextlib.nullcontext() if labels is None else use_labels(labels):
            headers, body, right, notes = self._display_table(digits)
            title = self.title
        above = [note for note in notes if not _FOOTNOTE.match(note)]
        below = [note for note in notes if _FOOTNOTE.match(note)]
        lines = [title, "=" * len(title), *above]
        if not body:
            lines.append("(no rows)")
            return "\n".join([*lines, *below])
        widths = [max(len(headers[j]), *(len(cells[j]) for cells in body)) for j in range(len(headers))]

        def fmt(cells: list[str]) -> str:
            parts = [
                cell.rjust(width) if flag else cell.ljust(width)
                for cell, width, flag in zip(cells, widths, right, strict=True)
            ]
            return "  ".join(parts).rstrip()

        lines.append(fmt(headers))
        lines.append("  ".join("-" * width for width in widths))
        lines += [fmt(cells) for cells in body]
        lines += below
        return "\n".join(lines)

    def __str__(self) -> str:
        """The :meth:`summary` text."""
        return self.summary()

    def _repr_html_(self, *, labels: Mapping[str, object] | None = None) -> str:
        """An HTML table (with the title as caption) for Jupyter and Quarto, formatted as :meth:`summary`
        (labels from ``labels`` or the default a plan set); all text is escaped."""
        from ipstrial.report.format import use_labels

        with contextlib.nullcontext() if labels is None else use_labels(labels):
            headers, body, right, notes = self._display_table(None)
            title = self.title

        def cell(tag: str, text: str, align_right: bool) -> str:
            style = ' style="text-align: right"' if align_right else ' style="text-align: left"'
            return f"<{tag}{style}>{html.escape(text)}</{tag}>"

        parts = ['<table class="ipstrial-result">', f"<caption>{html.escape(title)}</caption>"]
        parts.append("<thead><tr>" + "".join(cell("th", h, r) for h, r in zip(headers, right, strict=True)))
        parts[-1] += "</tr></thead>"
        parts.append("<tbody>")
        for cells in body:
            parts.append(
                "<tr>" + "".join(cell("td", c, r) for c, r in zip(cells, right, strict=True)) + "</tr>"
            )
        parts.append("</tbody>")
        if notes:
            span = len(headers)
            parts.append("<tfoot>")
            parts += [
                f'<tr><td colspan="{span}" style="text-align: left; white-space: normal">'
                f"{html.escape(note)}</td></tr>"
                for note in notes
            ]
            parts.append("</tfoot>")
        parts.append("</table>")
        return "\n".join(parts)

    # -- serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary (``json.dumps(..., allow_nan=False)`` works).

        Keys: ``"type"`` (class name), ``"title"``, ``"attributes"`` (every dataclass field,
        converted with :func:`json_safe`) and ``"rows"`` (one flat dict per row).
        """
        return {
            "type": type(self).__name__,
            "title": self.title,
            "attributes": {f.name: json_safe(getattr(self, f.name)) for f in dataclasses.fields(self)},
            "rows": [json_safe(row) for row in self._checked_rows()],
        }

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the result on ``ax`` (a new figure if ``None``); subclasses with a picture override."""
        raise NotImplementedError(f"{type(self).__name__} has no plot")


@dataclasses.dataclass(frozen=True)
class Table(Result):
    """A generic result that holds its ARD rows directly.

    Attributes
    ----------
    rows_
        The rows (a list or any iterable of :class:`Row` is accepted and stored as a tuple).
    name
        The title.
    """

    rows_: tuple[Row, ...] | list[Row]
    name: str = "Results"

    def __post_init__(self) -> None:
        """Store the rows as a tuple and check their types."""
        rows = tuple(self.rows_)
        for row in rows:
            if not isinstance(row, Row):
                raise TypeError(f"Table rows must be Row objects, got {row!r}")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        object.__setattr__(self, "rows_", rows)

    def rows(self) -> tuple[Row, ...]:
        """The stored rows."""
        return tuple(self.rows_)

    @property
    def title(self) -> str:
        """The table's ``name``."""
        return self.name


def collect(*results: Result | Iterable[Result]) -> pd.DataFrame:
    """Stack several results into one ARD frame.

    Each argument is a :class:`Result` or an iterable of results.  The frame has the
    :data:`ARD_COLUMNS` first, then the sorted union of all extra columns (missing where a
    result lacks them), and a fresh 0..n-1 index.
    """
    flat: list[Result] = []
    for item in results:
        if isinstance(item, Result):
            flat.append(item)
        elif isinstance(item, Iterable) and not isinstance(item, str | bytes | Mapping | pd.DataFrame):
            for sub in item:
                if not isinstance(sub, Result):
                    raise TypeError(f"collect() expects Result objects, got {type(sub).__name__}")
                flat.append(sub)
        else:
            raise TypeError(f"collect() expects Result objects, got {type(item).__name__}")
    frames = [result.to_frame() for result in flat]
    extra_keys = sorted({str(c) for frame in frames for c in frame.columns} - set(ARD_COLUMNS))
    columns = [*ARD_COLUMNS, *extra_keys]
    # Stack through records rather than pd.concat: concat warns about (and in future pandas
    # changes the dtype of) all-missing columns, which are common in ARD frames.
    records = [record for frame in frames for record in frame.to_dict(orient="records")]
    combined = pd.DataFrame.from_records(records, columns=columns)
    combined.index = pd.RangeIndex(len(records))
    combined = _coerce_ard_dtypes(combined)
    repeated = combined.duplicated(list(ARD_KEY), keep=False)
    if repeated.any():
        first = combined.loc[repeated, list(ARD_KEY)].iloc[0].to_dict()
        raise ValueError(
            f"collect(): {int(repeated.sum())} rows share their key {list(ARD_KEY)}, e.g. {first}; the same "
            "analysis was collected twice, or two results use one analysis name: give each its own "
            "analysis= name"
        )
    return combined
