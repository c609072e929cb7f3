"""The participant-level data contract of :mod:`ipstrial`.

A trial data set has one row per participant.  :class:`TrialSchema` says which column plays which role
(participant id, randomised arm and the declared arms, the control arm, stratification factors, baseline
covariates and the outcomes) and :meth:`TrialSchema.validate` checks a data frame against it and returns
a :class:`ipstrial.Trial`: the data with their roles.  Validation collects *every* problem and raises a
single :class:`~ipstrial.errors.TrialDataError` listing them all, each with the column, some offending
participant ids, the number of offending rows and a concrete fix.  The checks of each column are those
of :mod:`ipstrial._columns`, the same checks every estimator's input gate applies.

Missing outcome and covariate values are not errors: they are counted by arm (see :func:`missing_by_arm`
and :attr:`ipstrial.Trial.missing_by_arm`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._checks import column_names
from ipstrial._inputs import require_frame
from ipstrial._labels import label_of, labels_of
from ipstrial.errors import ParameterError, Participants, Problem, TrialDataError

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["TrialSchema", "missing_by_arm", "validate"]

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
        raise ParameterError(f"{role}= must be a column name or a sequence of column names")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise ParameterError(f"{role}= must hold column names (str), got {name!r}")
    return names


def _as_duration_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """Normalise ``durations`` (a dict, a sequence of pairs or one pair) to a tuple of name pairs."""
    if value is None:
        return ()
    if isinstance(value, str):
        raise ParameterError(
            "durations= needs (duration column, event column) pairs, e.g. "
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
            raise ParameterError(f"durations= items must be (duration, event) pairs, got {item!r}")
        pair = tuple(item)
        if len(pair) != 2 or not all(isinstance(v, str) for v in pair):
            raise ParameterError(f"durations= items must be pairs of column names, got {item!r}")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _as_event_codes(value: Any) -> tuple[int, ...]:
    """Normalise ``event_codes`` to a tuple of distinct Python ints."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        value = (value,)
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ParameterError(f"event_codes= must be a list of whole numbers such as [0, 1, 2], got {value!r}")
    codes: list[int] = []
    for code in value:
        if isinstance(code, bool | np.bool_) or not isinstance(code, int | np.integer):
            raise ParameterError(f"event_codes= must be integers, got {code!r}")
        if int(code) not in codes:
            codes.append(int(code))
    if not codes:
        raise ParameterError("event_codes= must hold at least one code (0 = censored)")
    return tuple(codes)


def _dedupe(names: Iterable[str]) -> tuple[str, ...]:
    """Return the names in order with later duplicates removed."""
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, kw_only=True)
class TrialSchema:
    """Which column of a one-row-per-participant data frame plays which role.

    Attributes
    ----------
    id:
        Participant id column; ids must be present and unique.  ``None`` when the data have no id
        column: messages then name rows by their 0-based position, and duplicates cannot be found.
    arm:
        Randomised arm column; must be complete.  Arms may be text, whole numbers, booleans or a
        categorical; they are known by their text labels (``1`` -> ``"1"``).
    arms:
        Declared arm labels in the order results show them; every label in the data must be one of them
        (a near-miss such as ``"IPS "`` is named with the arm probably meant).  ``None``: the arms are
        the labels in the data (categories in their order, numbers and text sorted), and labels that are
        near-misses of each other are an error.
    control:
        The control arm, one of the arms; estimators then compare every other arm with it by default.
    strata:
        Stratification factors used by the randomisation; must be complete.
    covariates:
        Baseline covariates: numbers, booleans or labels.  Missing values are counted, not errors;
        infinite values, dates and stray text in a numeric column are errors.
    binary:
        0/1 outcomes (``bool`` accepted); missing values allowed.
    durations:
        ``(duration column, event column)`` pairs for time-to-event outcomes; may be given as a dict
        ``{duration: event}``.  Durations must be finite, non-negative numbers (not time spans: convert
        to days); events must be complete.
    event_codes:
        Allowed event codes: 0 censored, 1 event of interest, 2 and above competing events.
    hours, weeks, costs:
        Non-negative numeric outcomes; missing values allowed.
    utilities:
        Health utilities, at most 1 (negative values are allowed); missing values allowed.
    allow_cpr:
        False (the default): a column of the data that looks like Danish CPR numbers (``DDMMYY-XXXX``;
        :func:`ipstrial.report.disclosure.looks_like_cpr`) is an error, whatever its role, so that
        personal identification numbers never reach an analysis or a report. True: accept it (the caller
        states it is not a CPR number).

    Any tuple role also accepts a list or a single column name.
    """

    id: str | None
    arm: str
    arms: tuple[str, ...] | None = None
    control: str | None = None
    strata: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()
    durations: tuple[tuple[str, str], ...] = ()
    event_codes: tuple[int, ...] = (0, 1, 2)
    hours: tuple[str, ...] = ()
    weeks: tuple[str, ...] = ()
    costs: tuple[str, ...] = ()
    utilities: tuple[str, ...] = ()
    allow_cpr: bool = False

    def __post_init__(self) -> None:
        """Normalise list and single-name roles to tuples and check the role types."""
        from ipstrial._checks import check_flag

        check_flag(self.allow_cpr, "allow_cpr")
        if self.id is not None and (not isinstance(self.id, str) or not self.id):
            raise ParameterError(f"id= must be a column name (str) or None, got {self.id!r}")
        if not isinstance(self.arm, str) or not self.arm:
            raise ParameterError(f"arm= must be a column name (str), got {self.arm!r}")
        if self.arms is not None:
            if isinstance(self.arms, str | bytes | Mapping | set | frozenset) or not isinstance(
                self.arms, Iterable
            ):
                raise ParameterError(
                    f"arms= must be a list of the arm labels in the order results show them, e.g. "
                    f"['IPS', 'IPSE', 'SAU'], got {self.arms!r}"
                )
            raw = tuple(self.arms)
            blank = [a for a in raw if a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA]
            if blank:
                raise ParameterError(f"arms= holds a missing label ({blank[0]!r}); list the arm labels only")
            if not raw:
                raise ParameterError(
                    "arms= must name at least one arm, or be None to take them from the data"
                )
            arms = tuple(label_of(a) for a in raw)
            repeated = sorted({a for a in arms if arms.count(a) > 1})
            if repeated:
                raise ParameterError(f"arms= lists {repeated} more than once; list each arm once")
            object.__setattr__(self, "arms", arms)
        if self.control is not None:
            if isinstance(self.control, list | tuple | set | frozenset | Mapping | np.ndarray) or (
                isinstance(self.control, float) and np.isnan(self.control)
            ):
                raise ParameterError(f"control= must be one arm label, got {self.control!r}")
            control = label_of(self.control)
            if self.arms is not None and control not in self.arms:
                raise ParameterError(
                    f"control= {control!r} is not one of the declared arms {list(self.arms)}"
                )
            object.__setattr__(self, "control", control)
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
        ids = () if self.id is None else (self.id,)
        return _dedupe((*ids, self.arm, *self.strata, *self.covariates, *self.outcomes))

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Map every column named by the schema to the role(s) it plays, in :attr:`columns` order."""
        pairs: list[tuple[str, str]] = [] if self.id is None else [("id", self.id)]
        pairs.append(("arm", self.arm))
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

    def problems(self, data: Any) -> list[Problem]:
        """Every problem of ``data`` against the schema (an empty list when it holds to the contract)."""
        return _Checker(self, data).run()

    def validate(self, data: pd.DataFrame) -> Trial:
        """Check ``data`` against the schema and return the :class:`~ipstrial.Trial` (data with roles).

        Every problem is collected first; if there is any, one :class:`~ipstrial.errors.TrialDataError`
        listing all of them is raised.  Nothing is dropped or converted.
        """
        from ipstrial.trial import Trial

        return Trial._from_schema(data, self)


# ----------------------------------------------------------------------------------------------------------
# Checking


class _Checker:
    """Collect every problem of one data frame against one schema (used by :meth:`TrialSchema.validate`)."""

    def __init__(self, schema: TrialSchema, data: Any) -> None:
        """Remember the schema and the data; nothing is checked yet."""
        self.schema = schema
        self.data = data
        self.problems: list[Problem] = []

    def run(self) -> list[Problem]:
        """Run every check and return the problems found, in column order."""
        data = self.data
        require_frame(data)
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
        if not schema.allow_cpr:
            from ipstrial.report.disclosure import check_no_cpr

            try:
                check_no_cpr(data)
            except TrialDataError as exc:
                self.problems += exc.problems
        roles = schema.roles()
        self._check_absent(roles)
        present = [c for c in schema.columns if c in data.columns]
        repeated = columns_.repeated_columns(data, present)
        self.problems += repeated
        usable = [c for c in present if c not in {p.column for p in repeated}]
        who = (
            Participants.of(data, schema.id)
            if schema.id in usable and not data[schema.id].isna().any()
            else Participants.of(data, None)
        )
        if schema.id in usable and data[schema.id].isna().any():
            known = data[schema.id].notna().to_numpy()
            labels = np.array([f"(row {k}, no id)" for k in range(len(data))], dtype=object)
            labels[known] = data[schema.id].to_numpy(dtype=object)[known]
            who = Participants(labels, schema.id)
        for column in schema.columns:
            if column not in usable:
                continue
            column_roles = roles[column]
            series = data[column]
            if "id" in column_roles:
                self.problems += columns_.check_ids(series)
            if "arm" in column_roles:
                self.problems += columns_.check_arm(series, who, schema.arms)
            if "strata" in column_roles:
                self.problems += columns_.check_complete(
                    series,
                    who,
                    "strata",
                    "fill in the stratum recorded at randomisation (strata used by the randomisation cannot "
                    "be missing)",
                )
            if "covariates" in column_roles:
                self.problems += columns_.check_covariate(series, who, allow_missing=True)
            for role in column_roles:
                if role in _NUMERIC_ROLES:
                    _, _, found = columns_.numbers_of(
                        series,
                        role,
                        who,
                        event_codes=schema.event_codes,
                        declared_by="TrialSchema(event_codes=...)",
                    )
                    self.problems += [p for p in found if p not in self.problems]
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
                f"the data has {columns_.plural(len(existing), 'column')}: {shown or '(none)'}",
                fix="rename the data columns, or pass the actual column names (e.g. "
                "ipstrial.Trial(data, id='study_id', arm='group', ...))",
                count=len(absent),
            )
        )


_NUMERIC_ROLES = ("binary", "duration", "event", "hours", "weeks", "costs", "utilities")


# ----------------------------------------------------------------------------------------------------------
# Module-level helpers


def validate(data: pd.DataFrame, schema: TrialSchema | None = None, **roles: Any) -> Trial:
    """Validate ``data`` against ``schema``, or against ``TrialSchema(**roles)`` when no schema is given.

    Returns the :class:`~ipstrial.Trial`; see :meth:`TrialSchema.validate`.  Passing both a schema and
    roles is a :class:`TypeError`.
    """
    if schema is not None and roles:
        raise ParameterError(
            f"pass either a TrialSchema or role keywords, not both (got schema and {sorted(roles)})"
        )
    if schema is None:
        schema = TrialSchema(**roles)
    elif not isinstance(schema, TrialSchema):
        raise ParameterError(f"schema must be a TrialSchema, got {type(schema).__name__}")
    return schema.validate(data)


def missing_by_arm(
    data: pd.DataFrame, columns: str | Sequence[str], arm: str, arms: Sequence[Any] | None = None
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
    names = list(_dedupe(column_names(columns, "columns")))
    absent = [c for c in (arm, *names) if c not in data.columns]
    if absent:
        existing = ", ".join(repr(str(c)) for c in list(data.columns)[:_MAX_EXISTING_COLUMNS])
        raise TrialDataError(
            [
                Problem(
                    column=absent[0] if len(absent) == 1 else None,
                    message=f"{columns_.plural(len(absent), 'column')} not found in the data: "
                    f"{', '.join(repr(c) for c in absent)}; the data has: {existing or '(none)'}",
                    fix="pass column names that exist in the data",
                    count=len(absent),
                )
            ]
        )
    arm_labels = pd.Series(labels_of(data[arm]), dtype=object)
    codes, uniques = pd.factorize(arm_labels, sort=False)
    arms = None if arms is None else [label_of(a) for a in arms]
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
