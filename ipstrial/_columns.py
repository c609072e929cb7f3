"""Checks of one column's values by the role it plays: one module and one wording for every check.

Both the data contract (:meth:`ipstrial.schema.TrialSchema.validate`, i.e. :class:`ipstrial.Trial`) and
the input gate every estimator calls (:mod:`ipstrial._inputs`) check columns here, so a problem reads
the same whichever found it. Each check returns the problems it found as
:class:`~ipstrial.errors.Problem` objects that name the column, up to five participants (values of the
id column, or row positions when there is none) and the fix; none of them raises.

Kinds of value columns (:func:`numbers_of`):

* ``binary`` -- 0/1 (``True``/``False`` accepted);
* ``continuous`` -- finite numbers;
* ``nonnegative`` -- finite numbers at least 0 (an outcome the model takes as a non-negative amount);
* ``count`` -- non-negative whole numbers (weeks worked, visits);
* ``hours``, ``weeks``, ``costs`` -- finite non-negative numbers;
* ``utilities`` -- finite numbers at most 1 (negative values allowed: states worse than death);
* ``duration`` -- finite non-negative numbers of time units since randomisation (timedelta, dates and
  booleans are refused with the conversion to use);
* ``event`` -- whole-number event codes among the declared ones (0 censored, 1 the event, 2+ competing).

Missing values (NaN, None, pd.NA) are reported in the returned mask, not as problems, except where
the kind forbids them (durations, events, ids, arms, strata): the caller decides, because the data
contract counts missing outcomes while an estimator needs a missing-data policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._labels import label_counts, labels_of, near_miss, near_misses
from ipstrial.errors import Participants, Problem, _id_text

__all__ = [
    "KINDS",
    "check_arm",
    "check_arm_kinds",
    "check_complete",
    "check_covariate",
    "check_ids",
    "covariate_missing",
    "fmt_values",
    "is_bool_column",
    "is_numeric_dtype",
    "numbers_of",
    "plural",
    "repeated_columns",
]

KINDS = (
    "binary",
    "continuous",
    "nonnegative",
    "count",
    "hours",
    "weeks",
    "costs",
    "utilities",
    "duration",
    "event",
)
_MAX_VALUES = 5
_MAX_LABELS_PAIRED = 100  # more distinct arm labels than this is not an arm column; pairs are not checked

DURATION_FIX = (
    "every participant needs a finite follow-up time; censor unknown follow-up at the last date the "
    "participant was known to be event-free (duration to that date, event 0)"
)

_NON_NUMERIC_FIX = {
    "binary": "code the outcome as 1 = yes and 0 = no; leave unknown values empty (NaN), not text",
    "continuous": "store the values as plain numbers; leave unknown values empty (NaN), not text",
    "nonnegative": "store the values as plain numbers; leave unknown values empty (NaN), not text",
    "count": "store counts as whole numbers; leave unknown values empty (NaN), not text",
    "duration": "store durations as numbers (e.g. days since randomisation, without units); censor unknown "
    "follow-up at the last date known (event 0)",
    "event": "store event codes as whole numbers (0 = censored, 1 = event, 2+ = competing events)",
    "hours": "store hours as plain numbers without units (e.g. 12, not '12h'); leave unknown values "
    "empty (NaN), not text such as 'n/a'",
    "weeks": "store weeks as plain numbers without units; leave unknown values empty (NaN), not text "
    "such as 'n/a'",
    "costs": "store costs as plain numbers without currency symbols or thousands separators; leave "
    "unknown values empty (NaN), not text such as 'n/a'",
    "utilities": "store utilities as plain numbers (at most 1); leave unknown values empty (NaN), not "
    "text such as 'n/a'",
}


# ----------------------------------------------------------------------------------------------------------
# formatting


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``"<n> <noun>"`` with the noun in the right number."""
    return f"{n} {singular if n == 1 else (plural_form or singular + 's')}"


def _fmt_value(value: Any) -> str:
    """One offending value for a message (whole floats without ``.0``, strings quoted)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def fmt_values(values: Iterable[Any], limit: int = _MAX_VALUES) -> str:
    """Distinct values (the first ``limit``, then ``and N more``) for a message."""
    distinct: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = _fmt_value(value)
        if text not in seen:
            seen.add(text)
            distinct.append(text)
    shown = ", ".join(distinct[:limit])
    if len(distinct) > limit:
        shown += f" and {len(distinct) - limit} more"
    return shown


def _problem(
    column: str | None, who: Participants, mask: np.ndarray, message: str, fix: str
) -> list[Problem]:
    """A one-element list with the problem of the rows flagged by ``mask``, or an empty list."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    return [Problem(column, message, fix, **who.offending(mask))]  # type: ignore[arg-type]


def is_numeric_dtype(dtype: Any) -> bool:
    """int, float and their nullable variants (not bool, complex, datetime or timedelta)."""
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
        and not pd.api.types.is_timedelta64_dtype(dtype)
    )


def floats_of(series: pd.Series) -> np.ndarray:
    """A numeric or text column as float64: NaN where a value is missing or, in text, not a number.

    Text is parsed once per distinct value (``pd.to_numeric`` on a million strings is slow, on their few
    distinct values it is not).
    """
    if is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    codes, distinct = pd.factorize(series.astype(object))
    parsed = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce")
    parsed = parsed.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    values = np.full(len(codes), np.nan)
    known = codes >= 0
    values[known] = parsed[codes[known]]
    return values


def _is_text_dtype(dtype: Any) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


# ----------------------------------------------------------------------------------------------------------
# structure: repeated columns, ids, arms


def repeated_columns(data: pd.DataFrame, columns: Iterable[str]) -> list[Problem]:
    """A problem for each of ``columns`` whose name occurs more than once in ``data``."""
    if not data.columns.has_duplicates:
        return []
    counts = pd.Index(data.columns).value_counts()
    problems = []
    for column in dict.fromkeys(columns):
        n = int(counts.get(column, 0))
        if n > 1:
            problems.append(
                Problem(
                    column,
                    f"the column name occurs {n} times in the data",
                    "keep one column of that name (rename or drop the copies)",
                )
            )
    return problems


def check_ids(series: pd.Series) -> list[Problem]:
    """Participant ids must be present and unique; missing ones are named by row position."""
    column = str(series.name)
    problems: list[Problem] = []
    missing = series.isna().to_numpy()
    positions = Participants(np.arange(len(series)), None)
    problems += _problem(
        column,
        positions,
        missing,
        f"{plural(int(missing.sum()), 'row')} without a participant id",
        "give every row the participant's study id (one row per participant)",
    )
    present = series[~missing]
    dup = present.duplicated(keep=False).to_numpy()
    if dup.any():
        values = list(dict.fromkeys(_id_text(v) for v in present.to_numpy(dtype=object)[dup]))
        problems.append(
            Problem(
                column,
                f"{plural(len(values), 'duplicated participant id')}, shared by {int(dup.sum())} rows",
                "keep one row per participant: remove duplicate rows, or reshape repeated measurements to "
                "one column per time point",
                ids=tuple(values[:5]),
                count=len(values),
            )
        )
    return problems


def check_arm(
    series: pd.Series,
    who: Participants,
    declared: Sequence[str] | None,
    *,
    named: Sequence[str] = (),
    declared_by: str = "arms=",
    labels: np.ndarray | None = None,
    counts: pd.Series | None = None,
) -> list[Problem]:
    """The arm column: present for every row, and its labels the declared arms or clearly other arms.

    ``declared`` are the labels of the trial's declared arms (None when the data alone say which arms
    there are); ``named`` are the arms an analysis names (its treatments and control). A label outside
    ``declared`` is a problem; with nothing declared, two labels in the data that are near-misses of each
    other, one of them a named arm (``"IPS"`` and ``"IPS "``), are a problem naming the rarer one as the
    slip. Each problem names the labels, their counts, up to five participants, the label probably meant
    and the recoding. A caller that already checked the kinds of the values (:func:`check_arm_kinds`) and
    made the labels (:func:`ipstrial._labels.labels_of`) and their counts
    (:func:`ipstrial._labels.label_counts`) passes them as ``labels`` and ``counts``.
    """
    column = str(series.name)
    problems: list[Problem] = []
    missing = series.isna().to_numpy()
    problems += _problem(
        column,
        who,
        missing,
        f"{plural(int(missing.sum()), 'participant')} without an arm",
        "fill in the arm each participant was randomised to (analyse by randomised arm, intention to treat)",
    )
    if labels is None:  # else the caller checked the kinds and made the labels
        mixed = check_arm_kinds(series, who)
        if mixed:
            return problems + mixed
        labels = labels_of(series)
    if counts is None:
        counts = label_counts(labels)
    present = [str(x) for x in counts.index]
    if declared is not None:
        outside = [x for x in present if x not in declared]
        if outside:
            meant = near_misses(outside, declared)
            mask = np.isin(labels, outside) & ~missing
            described = ", ".join(
                f"{x!r} ({int(counts[x])})" + (f", probably {meant[x]!r}" if x in meant else "")
                for x in outside
            )
            problems.append(
                Problem(
                    column,
                    f"{plural(int(mask.sum()), 'participant')} with arm labels outside the declared arms "
                    f"{list(declared)}: {described}",
                    _recode_fix(column, meant)
                    + f", or declare every arm with {declared_by} if they really are other arms",
                    **who.offending(mask),  # type: ignore[arg-type]
                )
            )
        return problems
    # with nothing declared: a pair of labels in the data, one of them an arm the analysis names, that are
    # near-misses of each other. The slip is the rarer label (at equal counts the one not named).
    named_present = {a for a in named if a in counts.index} if named else set(present)
    slips: dict[str, str] = {}
    if len(present) <= _MAX_LABELS_PAIRED:
        for label in present:
            for other in present:
                if other == label or not ({label, other} & named_present) or not near_miss(label, other):
                    continue
                rarer = counts[label] < counts[other]
                tie = counts[label] == counts[other] and (
                    (other in named_present and label not in named_present)
                    or ((other in named_present) == (label in named_present) and label > other)
                )
                if rarer or tie:
                    slips[label] = other
    if slips:
        mask = np.isin(labels, list(slips)) & ~missing
        described = ", ".join(f"{x!r} ({int(counts[x])}), probably {arm!r}" for x, arm in slips.items())
        problems.append(
            Problem(
                column,
                f"{plural(int(mask.sum()), 'participant')} with arm labels that are near-misses of another "
                f"arm: {described}",
                _recode_fix(column, slips)
                + ", or declare the arms with ipstrial.Trial(..., arms=[...]) if they are different arms",
                **who.offending(mask),  # type: ignore[arg-type]
            )
        )
    return problems


def _recode_fix(column: str, meant: dict[str, str]) -> str:
    """The fix for slips: the exact recoding, ``data['arm'] = data['arm'].replace({'IPS ': 'IPS'})``."""
    if not meant:
        return "recode the labels to the arms"
    mapping = ", ".join(f"{slip!r}: {arm!r}" for slip, arm in meant.items())
    return f"recode them: data[{column!r}] = data[{column!r}].replace({{{mapping}}})"


def check_arm_kinds(series: pd.Series, who: Participants) -> list[Problem]:
    """An arm column must hold one kind of value: booleans, numbers or text, not a mix (pandas takes
    ``True`` and ``1`` for one value, and the labels of ``1`` and ``"1"`` are the same)."""
    missing = series.isna().to_numpy()
    mixed = _mixed_kinds(series, missing)
    if mixed is None:
        return []
    kinds, minority = mixed
    return _problem(
        str(series.name),
        who,
        minority,
        f"the arm column mixes {' and '.join(kinds)} ({plural(int(minority.sum()), 'row')} of the rarer "
        "kind): True and 1, or 1 and '1', would be taken for one arm",
        "code every arm the same way (all text labels, or all numbers)",
    )


def _mixed_kinds(series: pd.Series, missing: np.ndarray) -> tuple[list[str], np.ndarray] | None:
    """For an object column that mixes booleans, numbers and text: the kinds found and the rows of the
    rarer ones."""
    if not pd.api.types.is_object_dtype(series.dtype):
        return None
    if pd.api.types.infer_dtype(series, skipna=True) not in ("mixed", "mixed-integer", "mixed-integer-float"):
        return None

    def kind(value: object) -> str:
        if isinstance(value, bool | np.bool_):
            return "booleans"
        if isinstance(value, int | float | np.number):
            return "numbers"
        return "text"

    kinds = pd.Series(series.to_numpy(dtype=object)[~missing]).map(kind)
    counts = kinds.value_counts()
    if len(counts) < 2:
        return None
    rarer = np.zeros(len(series), dtype=bool)
    rarer[np.flatnonzero(~missing)] = (kinds != counts.index[0]).to_numpy()
    return sorted(counts.index), rarer


def check_complete(series: pd.Series, who: Participants, role: str, fix: str) -> list[Problem]:
    """Every value present (strata, subgroups, exposure columns)."""
    missing = series.isna().to_numpy()
    return _problem(
        str(series.name),
        who,
        missing,
        f"{plural(int(missing.sum()), 'missing value')} in a {role} column",
        fix,
    )


# ----------------------------------------------------------------------------------------------------------
# values


def numbers_of(
    series: pd.Series,
    kind: str,
    who: Participants,
    *,
    event_codes: Sequence[int] = (0, 1, 2),
    declared_by: str = "event_codes=",
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """The values of ``series`` as float64 with the checks of ``kind`` (module docstring).

    Returns ``(values, missing, problems)``: ``values`` is NaN where a value is missing or unusable,
    ``missing`` flags the truly missing values (not the unusable ones, which are in ``problems``).
    Durations and event codes may not be missing: they are problems too.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r}")
    column = str(series.name)
    n = len(series)
    missing = series.isna().to_numpy()
    dtype = series.dtype
    problems: list[Problem] = []
    bad = np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(dtype) or (
        _is_text_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype) and _all_bool(series, missing)
    ):
        if kind in ("binary", "event"):
            values = series.astype(object).where(~missing, np.nan).astype(float).to_numpy()
        else:
            bad = ~missing
            problems += _problem(
                column,
                who,
                bad,
                f"{plural(int(bad.sum()), 'True/False value')}, but {kind} must be numbers",
                "store the amounts as numbers"
                if kind != "duration"
                else "store durations as numbers of days (or weeks) since randomisation",
            )
            values = np.full(n, np.nan)
    elif pd.api.types.is_timedelta64_dtype(dtype):
        bad = ~missing
        fix = (
            f"convert to a number of days: data[{column!r}] / pd.Timedelta(days=1) (and say unit='days')"
            if kind == "duration"
            else f"convert to a number, e.g. data[{column!r}] / pd.Timedelta(days=1)"
        )
        problems += _problem(column, who, bad, f"the column holds time spans ({dtype}), not numbers", fix)
        values = np.full(n, np.nan)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        bad = ~missing
        problems += _problem(
            column,
            who,
            bad,
            f"the column holds dates ({dtype}), not numbers",
            "compute the time since randomisation in days, e.g. (data[date] - data[randomised]).dt.days",
        )
        values = np.full(n, np.nan)
    elif is_numeric_dtype(dtype):
        values = floats_of(series)
    elif _is_text_dtype(dtype):
        values = floats_of(series)
        bad = ~missing & np.isnan(values)
        if bad.any():
            problems += _problem(
                column,
                who,
                bad,
                f"{plural(int(bad.sum()), 'non-numeric value')} ({fmt_values(series.astype(object)[bad])})",
                _NON_NUMERIC_FIX[kind],
            )
    else:
        bad = ~missing
        problems += _problem(
            column,
            who,
            bad,
            f"the column has dtype {dtype}, but {kind} values must be numbers",
            _NON_NUMERIC_FIX[kind],
        )
        values = np.full(n, np.nan)
    values = np.where(bad, np.nan, values)
    known = ~bad & ~missing
    infinite = known & np.isinf(values)
    finite = known & ~infinite
    if kind == "binary":
        other = known & ~np.isin(values, (0.0, 1.0))
        problems += _problem(
            column,
            who,
            other,
            f"{plural(int(other.sum()), 'value')} other than 0/1 ({fmt_values(values[other])})",
            "code the binary outcome as 1 = yes and 0 = no (True/False also works); leave it empty (NaN) "
            "when unknown",
        )
    elif kind == "duration":
        problems += _problem(
            column, who, missing, f"{plural(int(missing.sum()), 'missing duration')}", DURATION_FIX
        )
        problems += _problem(
            column, who, infinite, f"{plural(int(infinite.sum()), 'infinite duration')}", DURATION_FIX
        )
        negative = finite & (values < 0)
        problems += _problem(
            column,
            who,
            negative,
            f"{plural(int(negative.sum()), 'negative duration')}",
            "durations count from randomisation and cannot be negative; check the dates (an event before "
            "randomisation is a baseline status, not an outcome)",
        )
    elif kind == "event":
        problems += _check_events(column, who, values, missing, known, event_codes, declared_by)
    else:
        problems += _problem(
            column,
            who,
            infinite,
            f"{plural(int(infinite.sum()), 'infinite value')}",
            "use finite numbers; correct the data or set unknown values to missing (NaN)",
        )
        if kind in ("nonnegative", "count", "hours", "weeks", "costs"):
            negative = finite & (values < 0)
            noun = {"nonnegative": "the values", "count": "counts", "hours": "hours", "weeks": "weeks"}.get(
                kind, "costs"
            )
            problems += _problem(
                column,
                who,
                negative,
                f"{plural(int(negative.sum()), 'negative value')}",
                f"{noun} cannot be negative; correct the data or set them to missing (NaN)",
            )
        if kind == "count":
            fractional = finite & (values >= 0) & (values != np.floor(values))
            problems += _problem(
                column,
                who,
                fractional,
                f"{plural(int(fractional.sum()), 'non-integer value')} ({fmt_values(values[fractional])})",
                "counts must be whole numbers; round them or analyse the column as continuous",
            )
        if kind == "utilities":
            above = finite & (values > 1)
            problems += _problem(
                column,
                who,
                above,
                f"{plural(int(above.sum()), 'value')} greater than 1 ({fmt_values(values[above])})",
                "utilities are at most 1 (full health); check the tariff/scale (e.g. a 0-100 scale must be "
                "divided by 100) or set them to missing (NaN)",
            )
    return values, missing & ~bad, problems


def _all_bool(series: pd.Series, missing: np.ndarray) -> bool:
    """True for an object column whose present values are all Python or numpy booleans."""
    present = series.to_numpy(dtype=object)[~missing]
    return len(present) > 0 and all(isinstance(v, bool | np.bool_) for v in present)


def is_bool_column(series: pd.Series) -> bool:
    """A column of True/False values: boolean dtype, or an object column holding only booleans (and gaps)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return True
    return pd.api.types.is_object_dtype(series.dtype) and _all_bool(series, series.isna().to_numpy())


def _check_events(
    column: str,
    who: Participants,
    values: np.ndarray,
    missing: np.ndarray,
    known: np.ndarray,
    codes: Sequence[int],
    declared_by: str,
) -> list[Problem]:
    """Event codes: present, whole numbers, among the declared codes."""
    declared = ", ".join(str(c) for c in codes)
    problems = _problem(
        column,
        who,
        missing,
        f"{plural(int(missing.sum()), 'missing event code')}",
        "every participant needs an event code: 0 = censored (no event by the end of follow-up), 1 = event "
        "of interest, 2+ = competing events",
    )
    with np.errstate(invalid="ignore"):
        whole = known & np.isfinite(values) & (values == np.round(values))
    fractional = known & ~whole
    problems += _problem(
        column,
        who,
        fractional,
        f"{plural(int(fractional.sum()), 'non-integer event code')} ({fmt_values(values[fractional])})",
        f"event codes must be whole numbers among the declared codes ({declared})",
    )
    outside = whole & ~np.isin(values, np.asarray(codes, dtype=float))
    if outside.any():
        found = ", ".join(str(int(v)) for v in sorted(set(values[outside].tolist())))
        problems += _problem(
            column,
            who,
            outside,
            f"{plural(int(outside.sum()), 'row')} with event codes outside the declared codes ({declared}): "
            f"found {found}",
            "recode events as 0 = censored, 1 = event of interest, 2+ = competing events, or declare the "
            f"codes with {declared_by}",
        )
    return problems


def covariate_missing(series: pd.Series, who: Participants) -> list[Problem]:
    """Missing values of a covariate: a problem naming the participants (impute them, or drop the column)."""
    missing = series.isna().to_numpy()
    return _problem(
        str(series.name),
        who,
        missing,
        f"{plural(int(missing.sum()), 'missing value')} in a covariate",
        "impute baseline covariates before the analysis (e.g. the arm-blind mean or a missing-indicator "
        "level, FDA 2023 covariate-adjustment guidance) or drop the column from the model",
    )


def check_covariate(series: pd.Series, who: Participants, *, allow_missing: bool) -> list[Problem]:
    """A baseline covariate: numbers (finite), booleans, or labels (text or categorical).

    A text column whose values are mostly numbers holds stray text (``"unknown"`` in an age column):
    a problem naming those participants, not a silently categorical covariate with one level per age.
    Infinite numbers, dates, time spans and complex numbers are problems. Missing values are a problem
    unless ``allow_missing`` (the data contract counts them; multiple imputation imputes them).
    """
    column = str(series.name)
    dtype = series.dtype
    missing = series.isna().to_numpy()
    problems: list[Problem] = [] if allow_missing else covariate_missing(series, who)
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return problems
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        problems += _problem(
            column,
            who,
            ~missing,
            f"the covariate holds dates or time spans ({dtype})",
            "convert it to a number (e.g. age in years, or days since a reference date)",
        )
        return problems
    if pd.api.types.is_complex_dtype(dtype):
        problems += _problem(column, who, ~missing, "the covariate holds complex numbers", "use real numbers")
        return problems
    numbers = floats_of(series)
    if is_numeric_dtype(dtype):
        parsed = ~missing
    else:
        raw = series.astype(object)
        parsed = ~missing & ~np.isnan(numbers)
        text = ~missing & np.isnan(numbers)
        present = int((~missing).sum())
        if present and parsed.sum() >= 0.5 * present and text.any():
            problems += _problem(
                column,
                who,
                text,
                f"{plural(int(text.sum()), 'text value')} ({fmt_values(raw[text])}) in a covariate whose "
                "other values are numbers",
                "make the column numeric (unknown values as NaN, then impute), or, if it really is a "
                "categorical covariate, make it a pandas categorical (data[col].astype('category'))",
            )
    infinite = parsed & np.isinf(numbers)
    problems += _problem(
        column,
        who,
        infinite,
        f"{plural(int(infinite.sum()), 'infinite value')} in a covariate",
        "use finite numbers (an unknown value is missing, NaN, and must then be imputed)",
    )
    return problems
