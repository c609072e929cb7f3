"""Disclosure control: the one place for the rules that keep small counts and CPR numbers out of reports.

Small counts
    A count ``n`` with ``0 < n < min_count`` (:data:`DEFAULT_MIN_COUNT` = 5) is never shown: its cell reads
    ``"<5"`` (the count and its percentage). A published table also carries its margins (the arm sizes, the
    overall column, the other levels of a variable, the number missing), from which a suppressed cell could
    be recovered by subtraction; :func:`suppress_counts` therefore also suppresses complementary cells
    (shown as ``"*"``) until no small count is determined by what is published (the secondary-suppression
    rule of Cox, "Suppression methodology and statistical disclosure control", JASA 1980;75:377-385; see
    also Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, section 4.4). ``min_count=None``
    or ``0`` turns the rule off; tables then carry :data:`NOT_SUPPRESSED_NOTE`.

CPR numbers
    Danish personal identification numbers (CPR, ``DDMMYY-XXXX`` or ``DDMMYYXXXX``) must never reach a
    report. :func:`looks_like_cpr` flags a column when most of its non-missing values have that form with a
    valid day and month; :func:`check_no_cpr` refuses such columns (naming them, never showing a value).
"""

from __future__ import annotations

import calendar
import contextlib
import math
import numbers
import re
from collections.abc import Hashable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from ipstrial._checks import ParameterError
from ipstrial.errors import Problem, TrialDataError

__all__ = [
    "COMPLEMENT",
    "DEFAULT_MIN_COUNT",
    "HIDDEN",
    "NOT_SUPPRESSED_NOTE",
    "SMALL",
    "check_min_count",
    "check_no_cpr",
    "count_cell",
    "count_text",
    "figure_min_count",
    "cpr_columns",
    "looks_like_cpr",
    "suppress_counts",
    "suppress_result_table",
    "suppression_note",
    "use_min_count",
]

DEFAULT_MIN_COUNT = 5

#: Status of a cell in :func:`suppress_counts`: a count 0 < n < min_count (shown as ``"<5"``).
SMALL = "small"
#: Status of a complementary cell suppressed so that a small count cannot be recovered (shown as ``"*"``).
COMPLEMENT = "complement"
#: Status of a cell of a row the table does not show (e.g. the 0 level of a 0/1 variable).
HIDDEN = "hidden"

COMPLEMENT_MARK = "*"

NOT_SUPPRESSED_NOTE = (
    "Counts are not suppressed (disclosure control turned off: min_count 0 or None): small counts are shown."
)


def check_min_count(min_count: object) -> int:
    """The threshold of small counts: a whole number >= 0; ``None`` or 0 turn suppression off (returns 0).

    Raises
    ------
    ParameterError
        For a negative, fractional or non-numeric value (and for booleans).
    """
    if min_count is None:
        return 0
    if isinstance(min_count, bool) or not isinstance(min_count, numbers.Integral) or int(min_count) < 0:
        raise ParameterError(
            f"min_count must be a whole number >= 0 (counts below it are suppressed; default "
            f"{DEFAULT_MIN_COUNT}), or None to turn suppression off; got {min_count!r}"
        )
    return int(min_count)


def suppression_note(min_count: int) -> str:
    """The note a table carries: what ``"<k"`` and ``"*"`` mean, or :data:`NOT_SUPPRESSED_NOTE` when off."""
    if min_count <= 0:
        return NOT_SUPPRESSED_NOTE
    if min_count == 1:
        return "Disclosure control: min_count=1, so no count is suppressed."
    return (
        f"Disclosure control: counts from 1 to {min_count - 1} are shown as <{min_count} (and "
        f"their percentages hidden); cells marked {COMPLEMENT_MARK} are suppressed so that such a count "
        "cannot be recovered from the margins by subtraction."
    )


_figure_min_count: int = DEFAULT_MIN_COUNT


def figure_min_count() -> int:
    """The threshold that figures apply to the counts they print (numbers at risk, n/N): the default
    :data:`DEFAULT_MIN_COUNT`, or the value set by :func:`use_min_count` (a plan's ``min_count``)."""
    return _figure_min_count


@contextlib.contextmanager
def use_min_count(min_count: object) -> Iterator[int]:
    """Within the block, figures suppress counts below ``min_count`` (0 or None: not at all).

    Parameters
    ----------
    min_count
        As for :func:`check_min_count`.
    """
    global _figure_min_count
    previous, _figure_min_count = _figure_min_count, check_min_count(min_count)
    try:
        yield _figure_min_count
    finally:
        _figure_min_count = previous


def count_text(value: object, min_count: int | None = None) -> str:
    """A count as a figure prints it: ``"<k"`` when ``0 < value < k`` (``k`` = ``min_count``, default
    :func:`figure_min_count`), the whole number otherwise; ``"–"`` when the count is not known."""
    k = figure_min_count() if min_count is None else check_min_count(min_count)
    try:
        n = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "–"
    return f"<{k}" if 0 < n < k else f"{n}"


def count_cell(text: str, status: str, min_count: int) -> str:
    """What a table shows for a count cell: ``text`` unless ``status`` says to suppress it."""
    if status == SMALL:
        return f"<{min_count}"
    if status == COMPLEMENT:
        return COMPLEMENT_MARK
    return text


def _determined(unknown: list[tuple[int, int]], n_rows: int, columns: int, total: int | None) -> np.ndarray:
    """For each unknown cell, whether the published margins fix its value (a linear-algebra test).

    The constraints are the column sums (every column's total is published) and, with a total column, the
    row sums ``sum_j x_ij - x_i,total = 0``. A cell is determined when its unit vector lies in the row space
    of the constraint matrix restricted to the unknown cells (equal ranks with and without it).
    """
    index = {cell: k for k, cell in enumerate(unknown)}
    rows: list[np.ndarray] = []
    for j in range(columns):
        line = np.zeros(len(unknown))
        for i in range(n_rows):
            if (i, j) in index:
                line[index[(i, j)]] = 1.0
        rows.append(line)
    if total is not None:
        for i in range(n_rows):
            line = np.zeros(len(unknown))
            for j in range(columns):
                if (i, j) in index:
                    line[index[(i, j)]] = -1.0 if j == total else 1.0
            rows.append(line)
    matrix = np.array(rows) if rows else np.zeros((0, len(unknown)))
    rank = np.linalg.matrix_rank(matrix) if matrix.size else 0
    out = np.zeros(len(unknown), dtype=bool)
    for k in range(len(unknown)):
        unit = np.zeros((1, len(unknown)))
        unit[0, k] = 1.0
        out[k] = np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank
    return out


def suppress_counts(
    counts: pd.DataFrame,
    *,
    min_count: int | None = DEFAULT_MIN_COUNT,
    total: Hashable | None = None,
    hidden: Sequence[Hashable] = (),
) -> pd.DataFrame:
    """Which cells of a block of counts to suppress: small counts and the complements that would reveal them.

    Parameters
    ----------
    counts
        One block of a table: rows are the mutually exclusive levels of one variable (including the row of
        missing values, and rows the table does not show), columns are the arms (and the total column). The
        column sums are taken as published (the arm sizes are).
    min_count
        Counts ``0 < n < min_count`` are small (default :data:`DEFAULT_MIN_COUNT`); ``None`` or 0: nothing
        is suppressed.
    total
        The column holding the row sums of the other columns (``"Overall"``), or None.
    hidden
        Rows the table does not show (the 0 level of a 0/1 variable, the number of known values of a
        continuous variable): their cells are unknown to a reader, but a small count in them is protected
        like a shown one.

    Returns
    -------
    pandas.DataFrame
        Same shape, the status of each cell: ``""`` (shown), :data:`SMALL` (shown as ``"<5"``),
        :data:`COMPLEMENT` (shown as ``"*"``) or :data:`HIDDEN`.

    Notes
    -----
    Primary suppression: every cell with ``0 < n < min_count``. Secondary suppression (Cox, JASA
    1980;75:377-385): a reader knows the published cells, the column totals and, with a ``total`` column,
    that each row sums to it. A suppressed cell is *determined* when its value follows from these linear
    relations (its unit vector lies in the row space of the constraint matrix over the unknown cells).
    While some small count is determined, the published cell that, once suppressed, leaves it undetermined
    is suppressed too (the smallest positive count first, zeros and the total column last); when no single
    cell does, the smallest published cell in its column (else its row) is suppressed and the test
    repeated. This rules out exact recovery by subtraction; the bounds a reader could derive from
    non-negativity are not audited.
    """
    threshold = check_min_count(min_count)
    values = counts.to_numpy(dtype=float)
    n_rows, n_cols = values.shape
    status = np.full((n_rows, n_cols), "", dtype=object)
    hidden_rows = {counts.index.get_loc(r) for r in hidden}
    for i in hidden_rows:
        status[i, :] = HIDDEN
    total_j = None if total is None else int(counts.columns.get_loc(total))
    if threshold <= 1:
        return pd.DataFrame(status, index=counts.index, columns=counts.columns)
    small = (values > 0) & (values < threshold)
    for i, j in zip(*np.nonzero(small), strict=True):
        if status[i, j] != HIDDEN:
            status[i, j] = SMALL
    sensitive = {(int(i), int(j)) for i, j in zip(*np.nonzero(small), strict=True)}
    if not sensitive:
        return pd.DataFrame(status, index=counts.index, columns=counts.columns)

    def unknown_cells() -> list[tuple[int, int]]:
        return [(i, j) for i in range(n_rows) for j in range(n_cols) if status[i, j] != ""]

    def exposed(extra: tuple[int, int] | None = None) -> list[tuple[int, int]]:
        cells = unknown_cells() + ([extra] if extra is not None else [])
        fixed = _determined(cells, n_rows, n_cols, total_j)
        return [c for c, f in zip(cells, fixed, strict=True) if f and c in sensitive]

    def preference(cell: tuple[int, int]) -> tuple[bool, bool, float]:
        value = values[cell]
        return (value == 0, cell[1] == total_j, value)

    while True:
        open_cells = exposed()
        if not open_cells:
            break
        target = open_cells[0]
        published = sorted(
            ((i, j) for i in range(n_rows) for j in range(n_cols) if status[i, j] == ""), key=preference
        )
        if not published:
            break  # everything is suppressed already: nothing more can be done
        chosen = next((c for c in published if target not in exposed(c)), None)
        if chosen is None:
            near = [c for c in published if c[1] == target[1]] or [c for c in published if c[0] == target[0]]
            chosen = (near or published)[0]
        status[chosen] = COMPLEMENT
    return pd.DataFrame(status, index=counts.index, columns=counts.columns)


# -- CPR numbers ----------------------------------------------------------------------------------------

_CPR_TEXT = r"(\d{2})(\d{2})\d{2}-?\d{4}"


def _valid_day_month(day: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Day 1..length of the month (29 February allowed: the century is not known) and month 1..12."""
    lengths = np.array([0] + [calendar.monthrange(2000, m)[1] for m in range(1, 13)])
    good_month = (month >= 1) & (month <= 12)
    limit = lengths[np.where(good_month, month, 0)]
    return good_month & (day >= 1) & (day <= limit)


_SMALLEST_CPR = 101_000_000  # 010100-0000 read as a number: smaller numbers have day 00


def _cpr_matches(series: pd.Series) -> tuple[int, int]:
    """How many non-missing values have the CPR form, and how many non-missing values there are."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        x = series.to_numpy(dtype=float, na_value=np.nan)
        known_n = int(np.count_nonzero(~np.isnan(x)))
        if known_n == 0 or not np.nanmax(np.abs(x)) >= _SMALLEST_CPR:  # no value can be a CPR number
            return 0, known_n
    known = series.dropna()
    if isinstance(known.dtype, pd.CategoricalDtype):
        known = known.astype(object)
    if len(known) == 0 or pd.api.types.is_bool_dtype(known):
        return 0, len(known)
    if pd.api.types.is_numeric_dtype(known):
        x = known.to_numpy(dtype=float)
        whole = np.isfinite(x) & (x >= 0) & (x < 1e10) & (np.floor(x) == x)
        v = np.where(whole, x, 0).astype(np.int64)
        day, month = v // 100_000_000, (v // 1_000_000) % 100
        return int((whole & _valid_day_month(day, month)).sum()), len(known)
    # text: each distinct value is checked once (a column of 3 sites costs 3 checks), and only values of
    # 10 or more characters can have the CPR form
    codes, uniques = pd.factorize(known, sort=False)
    uniques = pd.Series(np.asarray(uniques, dtype=object))
    if pd.api.types.infer_dtype(uniques, skipna=True) == "string":
        candidates = uniques[uniques.str.len().to_numpy() >= 10].str.strip()
    else:
        candidates = pd.Series(
            [
                f"{int(v):010d}"
                if isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= int(v) < 10**10
                else (
                    f"{int(v):010d}"
                    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and 0 <= v < 1e10
                    else str(v).strip()
                )
                for v in uniques
            ],
            index=uniques.index,
            dtype=object,
        )
    if candidates.empty:
        return 0, len(known)
    parts = candidates.str.fullmatch(_CPR_TEXT).fillna(False).astype(bool)
    if not parts.any():
        return 0, len(known)
    pieces = candidates[parts].str.extract(_CPR_TEXT).astype(int)
    valid = _valid_day_month(pieces[0].to_numpy(), pieces[1].to_numpy())
    matched = np.zeros(len(uniques), dtype=bool)
    matched[candidates[parts].index[valid]] = True
    return int(matched[codes].sum()), len(known)


def looks_like_cpr(series: pd.Series) -> bool:
    """Whether a column looks like Danish CPR numbers: most (over half) of its non-missing values do.

    A value has the CPR form ``DDMMYY-XXXX`` or ``DDMMYYXXXX`` (CPR-loven; the Danish Civil Registration
    System, Pedersen, Scand J Public Health 2011;39(7 Suppl):22-25) with a valid day (1 to the length of the
    month; 29 February allowed) and month (1-12). Text is matched as written (surrounding spaces ignored);
    whole numbers (int, or floats without a fraction) are read as ten digits with leading zeros restored
    (``101901234`` -> ``0101901234``), so numbers of 8 digits or fewer are never CPR numbers (day 00).
    Booleans and empty columns are not CPR columns.
    """
    matched, known = _cpr_matches(series)
    return known > 0 and 2 * matched > known


def cpr_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that :func:`looks_like_cpr` flags, in frame order."""
    return [str(c) for c in frame.columns if looks_like_cpr(frame[c])]


def check_no_cpr(frame: pd.DataFrame, *, allow: bool = False) -> list[str]:
    """Refuse data with a column that looks like Danish CPR numbers (see :func:`looks_like_cpr`).

    Parameters
    ----------
    frame
        The data.
    allow
        True: do not raise, only return the flagged columns (the caller keeps them out of every output).

    Returns
    -------
    list of str
        The flagged columns (empty when none).

    Raises
    ------
    TrialDataError
        Naming each flagged column and the fix (drop the column, or allow it explicitly with
        ``allow_cpr=True``); no value of the column is shown.
    """
    flagged = cpr_columns(frame)
    if flagged and not allow:
        raise TrialDataError(
            [
                Problem(
                    column,
                    "most values look like Danish CPR numbers (DDMMYY-XXXX); personal identification numbers "
                    "must not reach an analysis or a report (values not shown)",
                    "drop the column (use a pseudonymous participant id instead), or, if it is not a CPR "
                    "number, allow it explicitly with allow_cpr=True",
                )
                for column in flagged
            ]
        )
    return flagged


# -- result tables -----------------------------------------------------------------------------------------

_COUNT_FIELD = re.compile(r"^(n|n_\w+|events\w*|excluded\w*|missing\w*|observed_\w+)$")
SUPPRESSED_ESTIMATE = "not shown"


def _row_counts(record: Mapping[str, object]) -> list[float]:
    """The participant counts of one ARD row (``n`` and the count-like extras), with each count of events
    paired with its complement (``n - events``: an arm with 2 non-events reveals as much as 2 events)."""
    values = []
    for key, value in record.items():
        if _COUNT_FIELD.match(str(key)) and isinstance(value, numbers.Real) and not isinstance(value, bool):
            if math.isfinite(float(value)):
                values.append(float(value))
    n = record.get("n")
    for key, total in (
        ("events", n),
        ("events_treatment", record.get("n_treatment")),
        ("events_control", record.get("n_control")),
    ):
        events = record.get(key)
        if isinstance(events, numbers.Real) and isinstance(total, numbers.Real):
            if math.isfinite(float(events)) and math.isfinite(float(total)):
                values.append(float(total) - float(events))
    return values


def suppress_result_table(
    table: pd.DataFrame,
    ard: pd.DataFrame,
    inputs: object = None,
    *,
    min_count: int | None = DEFAULT_MIN_COUNT,
) -> tuple[pd.DataFrame, int]:
    """A result's formatted table (:func:`ipstrial.report.tables.results_table`) with its small cells hidden.

    Rules, for each row (one ARD row; ``k`` = ``min_count``):

    * a row with a count of participants from 1 to ``k - 1`` (``n``, a per-arm ``n_*``, a count of events or
      of non-events) shows ``"<k"`` for its ``n`` when that is small, and no estimate, standard error or
      interval (:data:`SUPPRESSED_ESTIMATE`): an estimate from so few participants is a count in disguise
      (a proportion of 1/3, a risk difference of -50 pp from 1/2 vs 1/1);
    * when the analysis excluded from 1 to ``k - 1`` participants of an arm (``inputs.excluded``), every
      row of that arm shows ``"*"`` for its ``n``: the arm's size is published (CONSORT), so ``n`` would give
      the excluded count away by subtraction.

    Parameters
    ----------
    table
        The formatted table, one line per row of ``ard``, in the same order.
    ard
        The result's analysis-results rows (:meth:`~ipstrial.results.Result.to_frame`).
    inputs
        The result's :class:`~ipstrial.results.InputSummary` (or None).
    min_count
        The threshold (:func:`check_min_count`); 0 or None: nothing is hidden.

    Returns
    -------
    tuple
        The table and the number of cells hidden.
    """
    k = check_min_count(min_count)
    out = table.copy()
    out.attrs = dict(table.attrs)
    if not k:
        return out, 0
    excluded = getattr(inputs, "excluded", {}) or {}
    revealing = {str(a) for a, x in excluded.items() if 0 < int(x) < k}
    estimate_columns = [c for c in out.columns if c in ("Estimate", "SE") or str(c).endswith("CI")]
    hidden = 0
    for i, record in enumerate(ard.to_dict(orient="records")):
        counts = _row_counts(record)
        arms = str(record.get("contrast", "")).split(" vs ")
        if "n" in out.columns and any(a in revealing for a in arms):
            out.iloc[i, out.columns.get_loc("n")] = COMPLEMENT_MARK
            hidden += 1
        if any(0 < c < k for c in counts):
            if "n" in out.columns and _is_small(record.get("n"), k):
                out.iloc[i, out.columns.get_loc("n")] = f"<{k}"
            for column in estimate_columns:
                out.iloc[i, out.columns.get_loc(column)] = SUPPRESSED_ESTIMATE if column == "Estimate" else ""
            hidden += 1
    if hidden:
        notes = list(out.attrs.get("notes") or [])
        notes.append(
            f"Disclosure control: rows resting on 1 to {k - 1} participants show no estimate and n as <{k}; "
            f"n is * where it would reveal a small number excluded."
        )
        out.attrs["notes"] = notes
    return out, hidden


def _is_small(value: object, k: int) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < float(value) < k
