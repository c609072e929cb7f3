"""The participant-level data contract of :mod:`ipstrial`.

A trial data set has one row per participant.  :class:`TrialSchema` says which column plays which role
(participant id, randomised arm, stratification factors, baseline covariates and the outcomes) and
:meth:`TrialSchema.validate` checks a data frame against it.  Validation collects *every* problem and
raises a single :class:`~ipstrial.errors.TrialDataError` listing them all, each with the column, some
offending participant ids, the number of offending rows and a concrete fix.

Missing outcome and covariate values are not errors: they are counted by arm (see :func:`missing_by_arm`)
and the counts are attached to the returned frame as ``.attrs["missing_by_arm"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from ipstrial.errors import Problem, TrialDataError, offending_ids

__all__ = ["TrialSchema", "missing_by_arm", "validate"]

_MAX_IDS = 5
_MAX_VALUES = 5
_MAX_EXISTING_COLUMNS = 30

#: Roles holding a tuple of column names, in field order.
_TUPLE_ROLES = ("strata", "covariates", "binary", "hours", "weeks", "costs", "utilities")


def _as_name_tuple(value: Any, role: str) -> tuple[str, ...]:
    """Normalise a role given as ``None``, one column name or a sequence of names to a tuple of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise TypeError(f"TrialSchema.{role} must be a column name or a sequence of column names")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"TrialSchema.{role} must hold column names (str), got {name!r}")
    return names


def _as_duration_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """Normalise ``durations`` (a dict, a sequence of pairs or one pair) to a tuple of name pairs."""
    if value is None:
        return ()
    if isinstance(value, str):
        raise TypeError(
            "TrialSchema.durations needs (duration column, event column) pairs, e.g. "
            f"durations={{{value!r}: 'event'}}; got the single name {value!r}"
        )
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = list(value)
        if len(items) == 2 and all(isinstance(v, str) for v in items):
            items = [tuple(items)]  # one pair given on its own: ("time", "event")
    pairs: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str) or not isinstance(item, Iterable):
            raise TypeError(f"TrialSchema.durations items must be (duration, event) pairs, got {item!r}")
        pair = tuple(item)
        if len(pair) != 2 or not all(isinstance(v, str) for v in pair):
            raise TypeError(f"TrialSchema.durations items must be pairs of column names, got {item!r}")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _as_event_codes(value: Any) -> tuple[int, ...]:
    """Normalise ``event_codes`` to a tuple of distinct Python ints."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        value = (value,)
    codes: list[int] = []
    for code in value:
        if isinstance(code, bool | np.bool_) or not isinstance(code, int | np.integer):
            raise TypeError(f"TrialSchema.event_codes must be integers, got {code!r}")
        if int(code) not in codes:
            codes.append(int(code))
    if not codes:
        raise ValueError("TrialSchema.event_codes must hold at least one code (0 = censored)")
    return tuple(codes)


def _dedupe(names: Iterable[str]) -> tuple[str, ...]:
    """Return the names in order with later duplicates removed."""
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class TrialSchema:
    """Which column of a one-row-per-participant data frame plays which role.

    Attributes
    ----------
    id:
        Participant id column; ids must be present and unique.
    arm:
        Randomised arm column; must be complete.
    arms:
        Declared arm labels; ``None`` means labels are not checked.
    strata:
        Stratification factors used by the randomisation; must be complete.
    covariates:
        Baseline covariates of any dtype; missing values are counted, not errors.
    binary:
        0/1 outcomes (``bool`` accepted); missing values allowed.
    durations:
        ``(duration column, event column)`` pairs for time-to-event outcomes; may be given as a dict
        ``{duration: event}``.  Durations must be finite and non-negative; events must be complete.
    event_codes:
        Allowed event codes: 0 censored, 1 event of interest, 2 and above competing events.
    hours, weeks, costs:
        Non-negative numeric outcomes; missing values allowed.
    utilities:
        Health utilities, at most 1 (negative values are allowed); missing values allowed.

    Any tuple role also accepts a list or a single column name.
    """

    id: str = "participant_id"
    arm: str = "arm"
    arms: tuple[str, ...] | None = None
    strata: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()
    durations: tuple[tuple[str, str], ...] = ()
    event_codes: tuple[int, ...] = (0, 1, 2)
    hours: tuple[str, ...] = ()
    weeks: tuple[str, ...] = ()
    costs: tuple[str, ...] = ()
    utilities: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Normalise list and single-name roles to tuples and check the role types."""
        for role in ("id", "arm"):
            if not isinstance(getattr(self, role), str):
                value = getattr(self, role)
                raise TypeError(f"TrialSchema.{role} must be a column name (str), got {value!r}")
        if self.arms is not None:
            arms = (self.arms,) if isinstance(self.arms, str) else tuple(self.arms)
            if not arms:
                raise ValueError("TrialSchema.arms must name at least one arm, or be None to skip the check")
            object.__setattr__(self, "arms", arms)
        for role in _TUPLE_ROLES:
            object.__setattr__(self, role, _as_name_tuple(getattr(self, role), role))
        object.__setattr__(self, "durations", _as_duration_pairs(self.durations))
        object.__setattr__(self, "event_codes", _as_event_codes(self.event_codes))

    @property
    def events(self) -> tuple[str, ...]:
        """The event columns of the ``durations`` pairs, in order, without duplicates."""
        return _dedupe(event for _, event in self.durations)

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Outcome columns: binary, durations, events, hours, weeks, costs, utilities (no duplicates)."""
        return _dedupe(
            (
                *self.binary,
                *(duration for duration, _ in self.durations),
                *self.events,
                *self.hours,
                *self.weeks,
                *self.costs,
                *self.utilities,
            )
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column named by a role, in role order (id, arm, strata, covariates, outcomes), deduped."""
        return _dedupe((self.id, self.arm, *self.strata, *self.covariates, *self.outcomes))

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Map every column named by the schema to the role(s) it plays, in :attr:`columns` order."""
        pairs: list[tuple[str, str]] = [("id", self.id), ("arm", self.arm)]
        for f in fields(self):
            if f.name in _TUPLE_ROLES:
                pairs.extend((f.name, column) for column in getattr(self, f.name))
            elif f.name == "durations":
                pairs.extend(("duration", duration) for duration, _ in self.durations)
                pairs.extend(("event", event) for _, event in self.durations)
        out: dict[str, tuple[str, ...]] = {column: () for column in self.columns}
        for role, column in pairs:
            if role not in out[column]:
                out[column] = (*out[column], role)
        return out

    def validate(self, data: pd.DataFrame) -> pd.DataFrame:
        """Check ``data`` against the schema and return a shallow copy with missing-value counts attached.

        Every problem is collected first; if there is any, one :class:`~ipstrial.errors.TrialDataError`
        listing all of them is raised.  Otherwise the result is ``data.copy(deep=False)`` (same rows,
        order and dtypes; nothing is dropped or converted) whose ``.attrs["missing_by_arm"]`` is a
        JSON-safe dict ``{column: {str(arm label): count, ..., "total": count}}`` for the covariate and
        outcome columns that have at least one missing value.
        """
        problems = _Checker(self, data).run()
        if problems:
            raise TrialDataError(problems)
        out = data.copy(deep=False)
        counted = [c for c in _dedupe((*self.covariates, *self.outcomes)) if c in data.columns]
        table = missing_by_arm(data, counted, arm=self.arm, arms=self.arms)
        summary: dict[str, dict[str, int]] = {}
        for column, row in table.iterrows():
            if int(row["total"]) > 0:
                summary[str(column)] = {str(label): int(count) for label, count in row.items()}
        out.attrs["missing_by_arm"] = summary
        return out


# ----------------------------------------------------------------------------------------------------------
# Checking


def _fmt_value(value: Any) -> str:
    """Format one offending value for a message (whole floats without ``.0``, strings quoted)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _fmt_values(values: Iterable[Any], limit: int = _MAX_VALUES) -> str:
    """Format distinct values (first ``limit``, then ``and N more``) for a message."""
    distinct: list[Any] = []
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


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    """Return ``"<n> <noun>"`` with the noun in the right number."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _is_numeric_dtype(dtype: Any) -> bool:
    """True for int, float and their nullable variants (not bool, complex, datetime or timedelta)."""
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
        and not pd.api.types.is_timedelta64_dtype(dtype)
    )


class _Checker:
    """Collect every problem of one data frame against one schema (used by :meth:`TrialSchema.validate`)."""

    def __init__(self, schema: TrialSchema, data: Any) -> None:
        """Remember the schema and the data; nothing is checked yet."""
        self.schema = schema
        self.data = data
        self.problems: list[Problem] = []
        self.labels: pd.Series = pd.Series(dtype=object)

    # -- helpers -------------------------------------------------------------------------------------------

    def add(self, column: str | None, mask: np.ndarray, message: str, fix: str) -> None:
        """Record a problem for the rows flagged by ``mask`` (nothing if no row is flagged)."""
        ids, count = offending_ids(self.labels, mask, limit=_MAX_IDS)
        if count:
            self.problems.append(Problem(column=column, message=message, fix=fix, ids=ids, count=count))

    def run(self) -> list[Problem]:
        """Run every check and return the problems found, in column order."""
        data = self.data
        if not isinstance(data, pd.DataFrame):
            raise TrialDataError(
                [
                    Problem(
                        column=None,
                        message=f"expected a pandas DataFrame, got {type(data).__name__}",
                        fix="pass the trial data as a pandas DataFrame with one row per participant "
                        "(e.g. pd.read_csv(path))",
                    )
                ]
            )
        if len(data) == 0:
            raise TrialDataError(
                [
                    Problem(
                        column=None,
                        message=f"the data frame has no rows ({len(data.columns)} columns)",
                        fix="pass one row per participant; check that the file was read and filtered "
                        "correctly",
                    )
                ]
            )
        schema = self.schema
        roles = schema.roles()
        present = [c for c in schema.columns if c in data.columns]
        self._check_absent(roles)
        usable = self._check_repeated_columns(present)
        self._make_labels(usable)

        for column in schema.columns:
            if column not in usable:
                continue
            column_roles = roles[column]
            series = data[column]
            if "id" in column_roles:
                self._check_id(column, series)
            if "arm" in column_roles:
                self._check_arm(column, series)
            if "strata" in column_roles:
                self._check_complete(
                    column,
                    series,
                    "strata",
                    fix="fill in the stratum recorded at randomisation (strata used by the randomisation "
                    "cannot be missing)",
                )
            numeric_roles = [r for r in column_roles if r in _NUMERIC_ROLES]
            if numeric_roles:
                self._check_numeric(column, series, numeric_roles)
        return self.problems

    def _check_absent(self, roles: dict[str, tuple[str, ...]]) -> None:
        """One problem naming every schema column absent from the data and listing those that exist."""
        data = self.data
        absent = [c for c in self.schema.columns if c not in data.columns]
        if not absent:
            return
        named = ", ".join(f"{c!r} ({'/'.join(roles[c])})" for c in absent)
        existing = [str(c) for c in data.columns]
        shown = ", ".join(repr(c) for c in existing[:_MAX_EXISTING_COLUMNS])
        if len(existing) > _MAX_EXISTING_COLUMNS:
            shown += f", ... and {len(existing) - _MAX_EXISTING_COLUMNS} more"
        noun = "column" if len(absent) == 1 else "columns"
        self.problems.append(
            Problem(
                column=None,
                message=f"{len(absent)} {noun} named by the schema not found in the data: {named}; "
                f"the data has {_plural(len(existing), 'column')}: {shown or '(none)'}",
                fix="rename the data columns, or pass the actual column names to TrialSchema "
                "(e.g. TrialSchema(id='study_id', arm='group', ...))",
                count=len(absent),
            )
        )

    def _check_repeated_columns(self, present: list[str]) -> list[str]:
        """Flag schema columns that occur more than once in the data; return the usable ones."""
        counts = pd.Index(self.data.columns).value_counts()
        usable: list[str] = []
        for column in present:
            n = int(counts.get(column, 0))
            if n > 1:
                self.problems.append(
                    Problem(
                        column=column,
                        message=f"the column name occurs {n} times in the data",
                        fix="keep one column of that name (rename or drop the copies)",
                    )
                )
            else:
                usable.append(column)
        return usable

    def _make_labels(self, usable: list[str]) -> None:
        """Participant labels for messages: ``str(id)``, or ``[row <index>]`` when the id is unavailable."""
        data = self.data
        rows = pd.Series([f"[row {label}]" for label in data.index], index=data.index, dtype=object)
        id_col = self.schema.id
        if id_col in usable:
            ids = data[id_col]
            self.labels = pd.Series(
                np.where(ids.isna().to_numpy(), rows.to_numpy(), ids.astype(object).map(str).to_numpy()),
                index=data.index,
                dtype=object,
            )
        else:
            self.labels = rows

    # -- role checks ---------------------------------------------------------------------------------------

    def _check_id(self, column: str, series: pd.Series) -> None:
        """Participant ids must be present and unique."""
        missing = series.isna().to_numpy()
        if missing.any():
            rows = self.data.index[missing]
            shown = ", ".join(str(r) for r in rows[:_MAX_IDS])
            if len(rows) > _MAX_IDS:
                shown += f" and {len(rows) - _MAX_IDS} more"
            self.problems.append(
                Problem(
                    column=column,
                    message=f"{_plural(int(missing.sum()), 'row')} without a participant id "
                    f"(index {'label' if len(rows) == 1 else 'labels'} {shown})",
                    fix="give every row the participant's study id (one row per participant)",
                    count=int(missing.sum()),
                )
            )
        present = series[~missing]
        dup = present.duplicated(keep=False).to_numpy()
        if dup.any():
            values = pd.unique(present[dup].astype(object).map(str))
            rows = int(dup.sum())
            self.problems.append(
                Problem(
                    column=column,
                    message=f"{_plural(len(values), 'duplicated participant id')}, shared by {rows} rows",
                    fix="keep one row per participant: remove duplicate rows, or reshape repeated "
                    "measurements to one column per time point",
                    ids=tuple(values[:_MAX_IDS]),
                    count=len(values),
                )
            )

    def _check_arm(self, column: str, series: pd.Series) -> None:
        """The arm must be present and, when ``arms`` is declared, one of the declared labels."""
        missing = series.isna().to_numpy()
        self.add(
            column,
            missing,
            f"{_plural(int(missing.sum()), 'participant')} without an arm",
            "fill in the arm each participant was randomised to (analyse by randomised arm, "
            "intention to treat)",
        )
        arms = self.schema.arms
        if arms is None:
            return
        declared = set(arms)
        values = series.astype(object).to_numpy()
        unexpected = np.array([(not m) and (v not in declared) for v, m in zip(values, missing, strict=True)])
        if unexpected.any():
            found = _fmt_values(v for v, u in zip(values, unexpected, strict=True) if u)
            self.add(
                column,
                unexpected,
                f"{_plural(int(unexpected.sum()), 'participant')} with arm labels outside the declared "
                f"arms: found {found}; declared {_fmt_values(arms, limit=len(arms))}",
                "recode the arm labels to the declared ones, or declare every arm label with "
                "TrialSchema(arms=...)",
            )

    def _check_complete(self, column: str, series: pd.Series, role: str, fix: str) -> None:
        """Values of ``column`` must all be present."""
        missing = series.isna().to_numpy()
        self.add(column, missing, f"{_plural(int(missing.sum()), 'missing value')} ({role})", fix)

    def _to_numbers(self, column: str, series: pd.Series, roles: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Convert ``series`` to float64 (NaN for missing) and flag the values that are not numbers."""
        n = len(series)
        missing = series.isna().to_numpy()
        dtype = series.dtype
        bool_ok = all(r in ("binary", "event") for r in roles)
        if pd.api.types.is_bool_dtype(dtype):
            if bool_ok:
                return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan), np.zeros(n, bool)
            bad = ~missing
            self.add(
                column,
                bad,
                f"{_plural(int(bad.sum()), 'True/False value')}, but {'/'.join(roles)} must be numbers",
                "store the amounts as numbers",
            )
            return np.full(n, np.nan), bad
        if _is_numeric_dtype(dtype):
            return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan), np.zeros(n, bool)
        if (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        ):
            raw = series.astype(object)
            converted = pd.to_numeric(raw, errors="coerce")
            numbers = pd.Series(converted, index=series.index).astype("Float64")
            values = numbers.to_numpy(dtype=float, na_value=np.nan)
            bad = ~missing & np.isnan(values)
            if bad.any():
                found = _fmt_values(raw[bad])
                self.add(
                    column,
                    bad,
                    f"{_plural(int(bad.sum()), 'non-numeric value')} ({found})",
                    _NON_NUMERIC_FIX[roles[0]],
                )
            return values, bad
        bad = ~missing
        self.add(
            column,
            bad,
            f"the column has dtype {dtype}, but {'/'.join(roles)} values must be numbers",
            _NON_NUMERIC_FIX[roles[0]],
        )
        return np.full(n, np.nan), bad

    def _check_numeric(self, column: str, series: pd.Series, roles: list[str]) -> None:
        """Convert the column to numbers and apply the range checks of each of its numeric roles."""
        values, bad = self._to_numbers(column, series, roles)
        known = ~bad & ~np.isnan(values)
        missing = ~bad & np.isnan(values)
        infinite = known & np.isinf(values)
        finite = known & ~infinite
        for role in roles:
            if role == "binary":
                other = known & ~np.isin(values, (0.0, 1.0))
                if other.any():
                    self.add(
                        column,
                        other,
                        f"{_plural(int(other.sum()), 'value')} other than 0/1 ({_fmt_values(values[other])})",
                        "code the binary outcome as 1 = yes and 0 = no (True/False also works); leave it "
                        "empty (NaN) when unknown",
                    )
            elif role == "duration":
                self.add(
                    column,
                    missing,
                    f"{_plural(int(missing.sum()), 'missing duration')}",
                    _DURATION_FIX,
                )
                self.add(
                    column,
                    infinite,
                    f"{_plural(int(infinite.sum()), 'infinite duration')}",
                    _DURATION_FIX,
                )
                negative = finite & (values < 0)
                self.add(
                    column,
                    negative,
                    f"{_plural(int(negative.sum()), 'negative duration')}",
                    "durations count from randomisation and cannot be negative; check the dates (an event "
                    "before randomisation is a baseline status, not an outcome)",
                )
            elif role == "event":
                self._check_events(column, values, missing, known)
            elif role in ("hours", "weeks", "costs"):
                noun = {"hours": "hours", "weeks": "weeks", "costs": "costs"}[role]
                self.add(
                    column,
                    infinite,
                    f"{_plural(int(infinite.sum()), 'infinite value')}",
                    f"{noun} must be finite numbers; correct the data or set them to missing (NaN)",
                )
                negative = finite & (values < 0)
                self.add(
                    column,
                    negative,
                    f"{_plural(int(negative.sum()), 'negative value')}",
                    f"{noun} cannot be negative; correct the data or set them to missing (NaN)",
                )
            elif role == "utilities":
                self.add(
                    column,
                    infinite,
                    f"{_plural(int(infinite.sum()), 'infinite value')}",
                    "utilities must be finite numbers; correct the data or set them to missing (NaN)",
                )
                above = finite & (values > 1)
                self.add(
                    column,
                    above,
                    f"{_plural(int(above.sum()), 'value')} greater than 1 ({_fmt_values(values[above])})",
                    "utilities are at most 1 (full health); check the tariff/scale (e.g. a 0-100 scale "
                    "must be divided by 100) or set them to missing (NaN)",
                )

    def _check_events(self, column: str, values: np.ndarray, missing: np.ndarray, known: np.ndarray) -> None:
        """Event codes must be present, whole numbers and among the declared ``event_codes``."""
        codes = self.schema.event_codes
        declared = ", ".join(str(c) for c in codes)
        self.add(
            column,
            missing,
            f"{_plural(int(missing.sum()), 'missing event code')}",
            "every participant needs an event code: 0 = censored (no event by the end of follow-up), "
            "1 = event of interest, 2+ = competing events",
        )
        with np.errstate(invalid="ignore"):
            whole = known & np.isfinite(values) & (values == np.round(values))
        fractional = known & ~whole
        self.add(
            column,
            fractional,
            f"{_plural(int(fractional.sum()), 'non-integer event code')} ({_fmt_values(values[fractional])})",
            f"event codes must be whole numbers among the declared codes ({declared})",
        )
        outside = whole & ~np.isin(values, np.asarray(codes, dtype=float))
        if outside.any():
            found = ", ".join(str(int(v)) for v in sorted(set(values[outside].tolist())))
            self.add(
                column,
                outside,
                f"{_plural(int(outside.sum()), 'row')} with event codes outside the declared codes "
                f"({declared}): found {found}",
                "recode events as 0 = censored, 1 = event of interest, 2+ = competing events, or declare "
                "the codes with TrialSchema(event_codes=...)",
            )


_NUMERIC_ROLES = ("binary", "duration", "event", "hours", "weeks", "costs", "utilities")

_DURATION_FIX = (
    "every participant needs a finite follow-up time; censor unknown follow-up at the last date the "
    "participant was known to be event-free (duration to that date, event 0)"
)

_NON_NUMERIC_FIX = {
    "binary": "code the outcome as 1 = yes and 0 = no; leave unknown values empty (NaN), not text",
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
# Module-level helpers


def validate(data: pd.DataFrame, schema: TrialSchema | None = None, **roles: Any) -> pd.DataFrame:
    """Validate ``data`` against ``schema``, or against ``TrialSchema(**roles)`` when no schema is given.

    See :meth:`TrialSchema.validate`.  Passing both a schema and roles is a :class:`TypeError`.
    """
    if schema is not None and roles:
        raise TypeError(
            f"pass either a TrialSchema or role keywords, not both (got schema and {sorted(roles)})"
        )
    if schema is None:
        schema = TrialSchema(**roles)
    elif not isinstance(schema, TrialSchema):
        raise TypeError(f"schema must be a TrialSchema, got {type(schema).__name__}")
    return schema.validate(data)


def missing_by_arm(
    data: pd.DataFrame, columns: str | Sequence[str], arm: str = "arm", arms: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Count missing values of ``columns`` by arm.

    Returns a frame indexed by column name (index name ``"column"``) with one integer column per arm
    label, the declared ``arms`` first in their order (each, even one without participants), then
    any other label in order of first appearance in ``data[arm]``, and a ``total`` column.  Rows
    whose arm is missing are counted in ``total`` only.
    """
    if not isinstance(data, pd.DataFrame):
        raise TrialDataError(
            [
                Problem(
                    column=None,
                    message=f"expected a pandas DataFrame, got {type(data).__name__}",
                    fix="pass the trial data as a pandas DataFrame with one row per participant",
                )
            ]
        )
    names = list(_dedupe([columns] if isinstance(columns, str) else columns))
    absent = [c for c in (arm, *names) if c not in data.columns]
    if absent:
        existing = ", ".join(repr(str(c)) for c in list(data.columns)[:_MAX_EXISTING_COLUMNS])
        raise TrialDataError(
            [
                Problem(
                    column=absent[0] if len(absent) == 1 else None,
                    message=f"{_plural(len(absent), 'column')} not found in the data: "
                    f"{', '.join(repr(c) for c in absent)}; the data has: {existing or '(none)'}",
                    fix="pass column names that exist in the data",
                    count=len(absent),
                )
            ]
        )
    codes, uniques = pd.factorize(data[arm], sort=False)
    isna = data[names].isna().to_numpy(dtype=bool) if names else np.zeros((len(data), 0), dtype=bool)
    table = pd.DataFrame(index=pd.Index(names, name="column"))
    found = list(uniques)
    for label in [*(a for a in (arms or ()) if a not in found), *found]:
        k = found.index(label) if label in found else -2  # -2 matches no row: a declared arm with nobody
        table[label] = isna[codes == k].sum(axis=0).astype("int64")
    if arms:
        table = table[[*arms, *(c for c in table.columns if c not in arms)]]
    table["total"] = isna.sum(axis=0).astype("int64")
    return table.astype("int64")
