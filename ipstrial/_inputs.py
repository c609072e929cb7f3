"""The input gate: the one place every estimator's data pass through before any computation.

:func:`gate` takes the data (a DataFrame, or a :class:`~ipstrial.Trial` whose roles it then uses), the
arm column, the arms compared and the columns the estimator needs with their kinds, and returns the
:class:`Sample` the estimator analyses. Whether the roles come from a Trial or from arguments, the
columns pass the same checks as the data contract (:mod:`ipstrial._columns`, one wording):

* the data are a non-empty DataFrame; every named column exists, once;
* participant ids (when an id column is named) are present and unique: a duplicated id is an error,
  never a participant analysed twice;
* every row has an arm; arm labels that are near-misses of a declared or compared arm (``"IPS "``,
  ``"ips"``, ``"treatmnet"``) are an error naming the labels, their counts, up to five ids and the label
  probably meant; rows of another exact arm (IPSE in an IPS vs SAU contrast) are left out and counted
  in the result (:class:`~ipstrial.results.InputSummary`);
* arms coded as numbers, booleans or categories are known by their text labels (``"1 vs 0"``);
* outcome values fit their kind (binary 0/1, finite numbers, non-negative counts or amounts, numeric
  durations, declared event codes); covariates hold finite numbers or labels, never stray text or
  infinities; strata and other grouping columns are complete;
* a missing outcome is an error listing the counts per arm and the policies, unless the caller chose
  ``missing="complete-case"`` (the excluded participants are then counted per arm in the result) or the
  estimator handles missing values itself (multiple imputation, bounds).

Messages name participants by the values of the id column, or, when there is none, by 0-based row
positions ("rows at positions 3, 17").

Parameters are checked too: ``control`` is one label; ``treatment`` a label or a non-empty list without
repeats and without the control; an argument given explicitly is never ignored (with a Trial, a
different ``arm`` or ``id`` is an error, a different ``control`` is used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._checks import column_name, column_names
from ipstrial._labels import label_counts, label_of, labels_of, near_misses
from ipstrial.errors import ParameterError, Participants, Problem, TrialDataError
from ipstrial.results import InputSummary

__all__ = [
    "MISSING_POLICIES",
    "POLICY_HELP",
    "Prepared",
    "Sample",
    "SampleView",
    "absent_columns",
    "arms_in_data",
    "design_matrix",
    "gate",
    "participants",
    "prepare",
    "require_frame",
    "source",
]

MISSING_POLICIES = ("complete-case",)
POLICY_HELP = (
    "choose a policy: missing='complete-case' (excluded participants are counted per arm in the result), "
    "or ipstrial.missing.multiple_imputation(...), ipstrial.missing.bounds(...) (worst/best case) or "
    "ipstrial.missing.tipping_point(...)"
)
_GROUPING_FIX = (
    "fill in the values (strata and subgroups define the analysis and are not imputed; take them from the "
    "randomisation record)"
)


# ----------------------------------------------------------------------------------------------------------
# small shared pieces


def require_frame(data: object) -> None:
    """Raise a TrialDataError unless ``data`` is a pandas DataFrame with one level of column names."""
    if not isinstance(data, pd.DataFrame):
        raise TrialDataError(
            [
                Problem(
                    None,
                    f"expected a pandas DataFrame or an ipstrial.Trial, got {type(data).__name__}",
                    "pass one row per participant as a DataFrame (e.g. pd.read_csv(path)), or an "
                    "ipstrial.Trial",
                )
            ]
        )
    if isinstance(data.columns, pd.MultiIndex):
        raise TrialDataError(
            [
                Problem(
                    None,
                    f"the columns have {data.columns.nlevels} levels of names (a MultiIndex); columns are "
                    "named by one name each",
                    "flatten the names first, e.g. data.columns = ['_'.join(map(str, c)) for c in "
                    "data.columns]",
                )
            ]
        )


def absent_columns(data: pd.DataFrame, role: Mapping[str, str]) -> Problem | None:
    """A problem naming the columns of ``role`` (column -> its role) absent from ``data``, or None.

    The message lists the columns that exist, so a misspelt name is easy to spot.
    """
    missing = [c for c in role if c not in data.columns]
    if not missing:
        return None
    existing = ", ".join(repr(str(c)) for c in list(data.columns)[:30])
    if len(data.columns) > 30:
        existing += f", ... and {len(data.columns) - 30} more"
    named = ", ".join(f"{c!r} ({role[c]})" for c in missing)
    return Problem(
        None,
        f"column{'s' if len(missing) > 1 else ''} not found: {named}; the data has {existing}",
        "pass the names of existing columns",
        (),
        len(missing),
    )


def arms_in_data(series: pd.Series) -> tuple[str, ...]:
    """The arm labels present in ``series``, never in order of appearance: categories in their order,
    numbers and booleans sorted numerically, text sorted."""
    present = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = set(present.unique())
        return tuple(label_of(c) for c in series.cat.categories if c in used)
    values = pd.unique(present)
    if len(values) and all(isinstance(v, bool | np.bool_ | int | float | np.number) for v in values):
        return tuple(dict.fromkeys(label_of(v) for v in sorted(values)))
    return tuple(sorted({label_of(v) for v in values}))


def _one_label(value: object, name: str) -> str:
    """A single arm given as an argument, as its label (a list is an error: one arm is meant)."""
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series | pd.Index | Mapping):
        raise ParameterError(
            f"{name} must be one arm label, got {value!r}; list several arms in treatment= and compare "
            "each with one control"
        )
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise ParameterError(f"{name} must be an arm label, got {value!r}")
    return label_of(value)


def _labels_argument(value: object, name: str) -> tuple[str, ...]:
    """Arms given as one label or a non-empty list of labels without repeats."""
    if isinstance(value, list | tuple | np.ndarray | pd.Series | pd.Index):
        items = [_one_label(v, name) for v in value]
        if not items:
            raise ParameterError(f"{name} is an empty list; name at least one arm, or leave it out")
    elif isinstance(value, set | frozenset | Mapping):
        raise ParameterError(
            f"{name} must be a label or a list of labels (in order), got {type(value).__name__}"
        )
    else:
        items = [_one_label(value, name)]
    repeated = sorted({a for a in items if items.count(a) > 1})
    if repeated:
        raise ParameterError(f"{name} lists {repeated} more than once; list each arm once")
    return tuple(items)


# ----------------------------------------------------------------------------------------------------------
# the sample an estimator analyses


@dataclass(frozen=True, eq=False)
class Sample:
    """The rows an estimator analyses and what it needs to know about them.

    ``frame`` holds only the columns the estimator named (id, arm, outcomes, covariates, strata and
    extra columns), only the rows of the analysed arms (after the missing-data policy), with a fresh
    0..n-1 index and the arm column replaced by the arm labels (text). ``arms`` is that label column as
    an array. ``values`` maps each outcome column to its float values (NaN where missing and kept).
    ``treatments`` and ``control`` are the compared arms (control None for estimators of every arm),
    ``order`` the analysed arms in the order results list them. ``who`` names participants in messages.
    ``inputs`` is the :class:`~ipstrial.results.InputSummary` the result records.
    """

    frame: pd.DataFrame
    arm: str
    treatments: tuple[str, ...]
    control: str | None
    order: tuple[str, ...]
    arms: np.ndarray
    who: Participants
    values: dict[str, np.ndarray]
    inputs: InputSummary
    event_codes: tuple[int, ...] = (0, 1, 2)
    covariates: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()

    @property
    def compared(self) -> tuple[str, ...]:
        """The analysed arms, treatments first, then the control (the order contrasts are computed in)."""
        return (*self.treatments, self.control) if self.control is not None else self.treatments

    @property
    def n_by_arm(self) -> dict[str, int]:
        """Participants analysed per arm, in display order."""
        return dict(self.inputs.n_by_arm)

    def mask(self, label: str) -> np.ndarray:
        """The rows of one arm."""
        return self.arms == label

    def strata_codes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The joint strata: an integer code per row and the labels they index (``"north, 1"``, sorted as
        text), or None without strata. Labels are made for the distinct rows only."""
        if not self.strata:
            return None
        columns = self.frame[list(self.strata)]
        group = columns.groupby(list(self.strata), sort=False, observed=True).ngroup().to_numpy()
        distinct = columns.drop_duplicates().astype(str).agg(", ".join, axis=1).to_numpy()
        labels, index = np.unique(distinct, return_inverse=True)
        return index[group].astype(np.int64), labels


def source(data: Any, id: str | None) -> tuple[pd.DataFrame, str | None]:
    """The frame of ``data`` (a DataFrame, or a Trial's data) and its id column.

    With a Trial the id column is the Trial's (a different ``id`` is an error); with a DataFrame ``id``
    is a column name or None.
    """
    from ipstrial.trial import Trial

    if isinstance(data, Trial):
        if id is not None and id != data.id:
            raise ParameterError(
                f"id={id!r}, but the Trial's id column is {data.id!r}; leave id= out with a Trial"
            )
        return data.data, data.id
    require_frame(data)
    if id is not None and not isinstance(id, str):
        raise ParameterError(f"id must be a column name (str) or None, got {id!r}")
    return data, id


def participants(
    frame: pd.DataFrame, role: Mapping[str, str], id: str | None
) -> tuple[list[Problem], Participants]:
    """The structural checks of the columns an analysis names, and who the rows are.

    ``role`` maps each named column to its role for messages (``{"cost_total": "cost"}``). Absent or
    repeated columns and an empty frame raise at once (nothing else can be checked); duplicated or missing
    ids are returned among the problems, for the caller to report with those of the values. Participants
    are named by id when every id is known, else by position.
    """
    named = dict(role)
    if id is not None:
        named.setdefault(id, "id")
    problems: list[Problem] = []
    absent = absent_columns(frame, named)
    if absent:
        problems.append(absent)
    problems += columns_.repeated_columns(frame, [c for c in named if c in frame.columns])
    if problems:
        raise TrialDataError(problems)
    if len(frame) == 0:
        raise TrialDataError([Problem(None, "the data frame has no rows", "pass one row per participant")])
    if id is not None:
        problems += columns_.check_ids(frame[id])
    known = id is not None and not frame[id].isna().any()
    return problems, Participants.of(frame, id if known else None)


def _resolve_source(
    data: Any, arm: str | None, id: str | None, control: Any, event_codes: Sequence[int] | None
) -> tuple[pd.DataFrame, str, str | None, tuple[str, ...] | None, Any, tuple[int, ...]]:
    """The frame, arm and id columns, declared arms, control and event codes: from a Trial or arguments."""
    from ipstrial.trial import Trial

    frame, id = source(data, id)
    if isinstance(data, Trial):
        if arm is not None and arm != data.arm:
            raise ParameterError(
                f"arm={arm!r}, but the Trial's arm column is {data.arm!r}; leave arm= out with a Trial, or "
                f"build a Trial with arm={arm!r} to analyse that column"
            )
        codes = tuple(data.event_codes) if event_codes is None else tuple(int(c) for c in event_codes)
        return frame, data.arm, id, data.arms, (data.control if control is None else control), codes
    if arm is None:
        raise ParameterError(
            "arm= must name the column holding the randomised arm (e.g. arm='arm'), or pass an "
            "ipstrial.Trial that declares it"
        )
    if not isinstance(arm, str):
        raise ParameterError(f"arm must be a column name (str), got {arm!r}")
    codes = (0, 1, 2) if event_codes is None else tuple(int(c) for c in event_codes)
    return frame, arm, id, None, control, codes


def _implausible_arms(
    arm: str, implied: Sequence[str], counts: pd.Series, labels: np.ndarray, who: Participants
) -> list[Problem]:
    """Labels an analysis would take as arms without being told, but with far fewer participants than the
    largest arm (under a tenth): in a randomised trial such a label is a slip, not an arm. Named or declared
    arms are never questioned."""
    largest = int(counts.max()) if len(counts) else 0
    rare = [a for a in implied if 0 < counts.get(a, 0) < largest / 10]
    if not rare:
        return []
    described = ", ".join(f"{a!r} ({int(counts[a])})" for a in rare)
    return [
        Problem(
            arm,
            f"arm labels with far fewer participants than the largest arm ({largest}): {described}; an arm "
            "taken by default should be a randomised arm, not a slip",
            "recode the slips, or name the arms to compare with treatment= and control= (or declare them "
            "with ipstrial.Trial(..., arms=[...]))",
            **who.offending(np.isin(labels, rare)),
        )
    ]


def _check_overlaps(
    arm: str,
    id: str | None,
    outcomes: Mapping[str, str],
    covariates: Sequence[str],
    strata: Sequence[str],
    extra: Mapping[str, str],
) -> None:
    """A column may play one of the roles arm, id, outcome; covariates, strata and other columns may not be
    any of those (the outcome as a covariate explains the outcome by itself; the arm as a stratum or a
    subgroup leaves nothing to compare). A covariate may also be a stratum."""
    fixed = {arm: "the arm column"}
    if id is not None:
        fixed.setdefault(id, "the id column")
    for column in outcomes:
        if column in fixed:
            raise ParameterError(
                f"column {column!r} is both an outcome and {fixed[column]}; name two columns"
            )
        fixed[column] = "an outcome"
    for role, columns in (("covariates", covariates), ("strata", strata)):
        clash = [c for c in columns if c in fixed]
        if clash:
            column = clash[0]
            raise ParameterError(
                f"{role} lists {column!r}, which is {fixed[column]} of this analysis; remove it from {role}"
            )
    for column, what in extra.items():
        if column in fixed:
            raise ParameterError(
                f"the {what} column {column!r} is {fixed[column]} of this analysis; name another column"
            )


def _arms(
    series: pd.Series,
    who: Participants,
    problems: list[Problem],
    declared: tuple[str, ...] | None,
    treatment: Any,
    control: Any,
    need_control: bool,
    min_arms: int,
) -> tuple[np.ndarray, pd.Series, tuple[str, ...], tuple[str, ...], str | None, tuple[str, ...]]:
    """The arms of an analysis: every row's label, the counts per label, the labels present, the treatments,
    the control and the analysed arms in display order. ``problems`` found so far (ids) are raised with
    those of the arm column."""
    column = str(series.name)
    labels = labels_of(series)
    present = arms_in_data(series)
    counts = label_counts(labels)
    control_label = None if control is None else _one_label(control, "control")
    if need_control and control_label is None:
        raise ParameterError(
            "control= must name the control arm (e.g. control='SAU'), or pass an ipstrial.Trial that "
            "declares it"
        )
    universe = declared if declared is not None else present
    if treatment is None:
        if control_label is None:
            treatments = tuple(a for a in universe if counts.get(a, 0) > 0)
        else:
            treatments = tuple(a for a in universe if a != control_label and counts.get(a, 0) > 0)
    else:
        treatments = _labels_argument(treatment, "treatment")
    if control_label is not None and control_label in treatments:
        raise ParameterError(
            f"treatment and control are the same arm {control_label!r}; compare two different arms"
        )
    named = (*treatments, control_label) if control_label is not None else treatments
    if declared is not None:
        undeclared = [a for a in named if a not in declared]
        if undeclared:
            meant = near_misses(undeclared, declared)
            hint = "".join(f"; {a!r} is probably {meant[a]!r}" for a in undeclared if a in meant)
            raise ParameterError(
                f"arm(s) {undeclared} are not arms of the Trial, whose arms are {list(declared)}{hint}"
            )
    for label in named:
        if counts.get(label, 0) == 0:
            meant = near_misses([label], present)
            hint = f"; probably {meant[label]!r}" if label in meant else ""
            what = "has no participants" if label in (declared or ()) else "is not an arm label in the data"
            problems.append(
                Problem(
                    column,
                    f"arm {label!r} {what}; the arms in the data are {list(present)}{hint}",
                    "name arms that have participants (check spelling and case, and any filter applied "
                    "to the data)",
                )
            )
    if problems:
        raise TrialDataError(problems)
    problems += columns_.check_arm(
        series,
        who,
        declared,
        named=named,
        declared_by="ipstrial.Trial(arms=...)",
        labels=labels,
        counts=counts,
    )
    if not problems and treatment is None and declared is None:
        problems += _implausible_arms(column, treatments, counts, labels, who)
    if problems:
        raise TrialDataError(problems)
    order = tuple(a for a in declared if a in named) if declared is not None else named
    if len(order) < min_arms:
        raise TrialDataError(
            [
                Problem(
                    column,
                    f"only {len(order)} arm ({', '.join(map(repr, order))}) to analyse: there is nothing to "
                    "compare",
                    f"a comparison needs at least {min_arms} arms; name them with treatment= and "
                    "control=, and check any filter applied to the data",
                )
            ]
        )
    return labels, counts, present, treatments, control_label, order


def gate(
    data: Any,
    *,
    arm: str | None,
    treatment: Any = None,
    control: Any = None,
    id: str | None = None,
    outcomes: Mapping[str, str] | None = None,
    covariates: str | Sequence[str] | None = (),
    strata: str | Sequence[str] | None = (),
    extra: Mapping[str, str] | None = None,
    missing: str | None = None,
    keep_missing: Sequence[str] = (),
    covariates_may_be_missing: bool = False,
    keep_rows: bool = False,
    need_control: bool = True,
    min_arms: int = 2,
    event_codes: Sequence[int] | None = None,
) -> Sample:
    """Check an estimator's inputs and return the :class:`Sample` it analyses (see the module docstring).

    Parameters
    ----------
    data
        A DataFrame (one row per participant) or a :class:`~ipstrial.Trial`.
    arm, treatment, control, id
        The estimator's arguments. With a Trial, ``arm`` and ``id`` come from it (a different value is an
        error) and ``control`` defaults to its control; ``treatment`` defaults to every other arm with
        participants (declared order for a Trial, else the labels of the data, sorted).
    outcomes
        Outcome columns and their kinds (:data:`ipstrial._columns.KINDS`).
    covariates, strata
        Baseline covariates and randomisation strata (a name or a sequence of names).
    extra
        Other columns that must be complete, with their role for messages (``{"age": "subgroup"}``).
    missing
        ``None`` (a missing outcome is an error) or ``"complete-case"``.
    keep_missing
        Outcome columns whose missing values are kept as NaN (the estimator handles them).
    covariates_may_be_missing
        Keep missing covariate values (multiple imputation imputes them).
    keep_rows
        With ``missing="complete-case"``, keep the rows with a missing outcome in the sample (their values
        NaN) while counting them as excluded: for an estimator that still needs those participants (a
        re-randomization test replays everyone's allocation) but leaves them out of its statistic. The
        estimator then checks that the arms it compares have known outcomes.
    need_control
        True for a contrast (a control arm is required); False for estimators of every arm (Kaplan-Meier,
        log-rank): then with neither treatment nor control every arm is analysed.
    min_arms
        The fewest arms the estimator can analyse.
    event_codes
        The allowed event codes of ``event`` columns (default: the Trial's, else 0, 1, 2).
    """
    frame, arm, id, declared, control, codes = _resolve_source(data, arm, id, control, event_codes)
    outcomes = dict(outcomes or {})
    extra = dict(extra or {})
    covariates = column_names(covariates, "covariates")
    strata = column_names(strata, "strata")
    if missing is not None and missing not in MISSING_POLICIES:
        raise ParameterError(
            f"missing={missing!r} is not a policy here; use None (error on missing outcomes) or one of "
            f"{MISSING_POLICIES}, or the functions of ipstrial.missing"
        )

    _check_overlaps(arm, id, outcomes, covariates, strata, extra)

    # -- columns: present, once ------------------------------------------------------------------------
    role: dict[str, str] = {}
    for column, kind in outcomes.items():
        role.setdefault(column, f"{kind} outcome" if kind not in ("duration", "event") else kind)
    role.setdefault(arm, "arm")
    if id is not None:
        role.setdefault(id, "id")
    for column in covariates:
        role.setdefault(column, "covariate")
    for column in strata:
        role.setdefault(column, "stratum")
    for column, what in extra.items():
        role.setdefault(column, what)
    problems, who = participants(frame, role, id)
    mixed = columns_.check_arm_kinds(frame[arm], who)
    if mixed:
        raise TrialDataError(problems + mixed)

    # -- arms --------------------------------------------------------------------------------------------
    labels, counts, present, treatments, control_label, order = _arms(
        frame[arm], who, problems, declared, treatment, control, need_control, min_arms
    )
    rows = np.isin(labels, list(order))
    outside = {a: int(counts.get(a, 0)) for a in present if a not in order and counts.get(a, 0)}

    # -- values ----------------------------------------------------------------------------------------
    used = [c for c in role if c in frame.columns]
    # one copy: the analysed rows of the named columns (column by column keeps every dtype)
    picked = np.flatnonzero(rows)
    sub = pd.DataFrame({c: frame[c].take(picked).reset_index(drop=True) for c in used})
    sub_who = who.take(rows)
    sub_labels = labels[rows]
    values: dict[str, np.ndarray] = {}
    gone: dict[str, np.ndarray] = {}
    for column, kind in outcomes.items():
        numbers, absent_mask, found = columns_.numbers_of(
            sub[column], kind, sub_who, event_codes=codes, declared_by="event_codes="
        )
        problems += found
        values[column] = numbers
        if column not in keep_missing and kind not in ("duration", "event"):
            gone[column] = absent_mask
    for column in covariates:
        # what the values are is checked on the whole column (stray text in rows of another arm still
        # says the column is not what it claims to be); missing values only where they are analysed
        problems += columns_.check_covariate(frame[column], who, allow_missing=True)
        if not covariates_may_be_missing:
            problems += columns_.covariate_missing(sub[column], sub_who)
    for column in strata:
        problems += columns_.check_complete(sub[column], sub_who, "stratum", _GROUPING_FIX)
    for column, what in extra.items():
        if column not in outcomes and column not in covariates and column not in strata:
            problems += columns_.check_complete(sub[column], sub_who, what, _GROUPING_FIX)
    if problems:
        raise TrialDataError(problems)

    # -- missing outcomes ------------------------------------------------------------------------------
    excluded = {a: 0 for a in order}
    reason = ""
    unknown = np.zeros(len(sub), dtype=bool)
    for mask in gone.values():
        unknown |= mask
    if unknown.any():
        per_arm = {a: int(np.sum(unknown & (sub_labels == a))) for a in order}
        lacking = [c for c, m in gone.items() if m.any()]
        reason = "missing " + " or ".join(lacking)
        if missing is None:
            parts = ", ".join(f"{a} {k}" for a, k in per_arm.items())
            raise TrialDataError(
                [
                    Problem(
                        lacking[0] if len(lacking) == 1 else None,
                        f"{columns_.plural(int(unknown.sum()), 'missing outcome value')} ({parts})"
                        + ("" if len(lacking) == 1 else f" in {', '.join(lacking)}"),
                        POLICY_HELP,
                        **sub_who.offending(unknown),
                    )
                ]
            )
        excluded = per_arm
        keep = ~unknown
        if not keep_rows:
            sub, sub_who, sub_labels = sub.loc[keep], sub_who.take(keep), sub_labels[keep]
            values = {c: v[keep] for c, v in values.items()}
            keep = np.ones(len(sub_labels), dtype=bool)
        # with keep_rows an arm may be kept only to be replayed: the estimator checks the arms it compares
        empty = [] if keep_rows else [a for a in order if not np.any(keep & (sub_labels == a))]
        if empty:
            raise TrialDataError(
                [
                    Problem(
                        lacking[0] if len(lacking) == 1 else None,
                        f"no participant with a known outcome in arm(s) {empty}",
                        "complete case analysis needs outcomes in every arm; use ipstrial.missing.bounds (no "
                        "model can impute an arm without any observed outcome)",
                    )
                ]
            )

    out = sub.reset_index(drop=True)
    out[arm] = sub_labels
    n_by_arm = {a: int(counts.get(a, 0)) - excluded[a] for a in order}
    inputs = InputSummary(
        n_rows=len(frame),
        arm=arm,
        arms=order,
        n_by_arm=n_by_arm,
        outside=outside,
        excluded=excluded if any(excluded.values()) else {},
        policy=missing if any(excluded.values()) else None,
        reason=reason if any(excluded.values()) else "",
        id=id,
    )
    return Sample(
        frame=out,
        arm=arm,
        treatments=tuple(a for a in order if a in treatments) if declared is not None else treatments,
        control=control_label,
        order=order,
        arms=np.asarray(sub_labels, dtype=object),
        who=sub_who,
        values=values,
        inputs=inputs,
        event_codes=codes,
        covariates=covariates,
        strata=strata,
    )


# ----------------------------------------------------------------------------------------------------------
# the one-outcome view used by the intention-to-treat estimators


class SampleView:
    """The attributes of the gate's :class:`Sample` seen through an area's view of it.

    The estimation areas wrap the :class:`Sample` in a view with what they add (the one-outcome
    :class:`Prepared`, survival's ``SurvivalData``, the missing-data ``Setup``); this base gives every
    view the same names for what the sample holds. A subclass has a ``sample`` attribute.
    """

    sample: Sample

    @property
    def frame(self) -> pd.DataFrame:
        """The analysed rows (only the named columns, a fresh index, arm labels as text)."""
        return self.sample.frame

    @property
    def arm(self) -> str:
        """The arm column."""
        return self.sample.arm

    @property
    def treatments(self) -> tuple[str, ...]:
        """The treatment arms."""
        return self.sample.treatments

    @property
    def control(self) -> str | None:
        """The control arm (None for estimators of every arm)."""
        return self.sample.control

    @property
    def compared(self) -> tuple[str, ...]:
        """The analysed arms, treatments first, then the control."""
        return self.sample.compared

    @property
    def order(self) -> tuple[str, ...]:
        """The analysed arms in the order results list them."""
        return self.sample.order

    @property
    def arms(self) -> np.ndarray:
        """The arm label of every analysed row."""
        return self.sample.arms

    @property
    def who(self) -> Participants:
        """The analysed participants, for messages."""
        return self.sample.who

    @property
    def inputs(self) -> InputSummary:
        """What the result records about the rows analysed and left out."""
        return self.sample.inputs

    @property
    def n_by_arm(self) -> dict[str, int]:
        """Participants analysed per arm, in display order."""
        return self.sample.n_by_arm

    @property
    def event_codes(self) -> tuple[int, ...]:
        """The allowed event codes."""
        return self.sample.event_codes


@dataclass(frozen=True, eq=False)
class Prepared(SampleView):
    """The rows a one-outcome estimator uses (a :class:`Sample` with its outcome as ``y``).

    ``excluded`` counts the participants left out per arm under ``missing="complete-case"`` (zero for
    every arm otherwise); ``n_by_arm`` counts those analysed; ``inputs`` is what the result records.
    """

    sample: Sample
    outcome: str

    @property
    def control(self) -> str:
        return self.sample.control  # type: ignore[return-value]

    @property
    def covariates(self) -> tuple[str, ...]:
        """The covariate columns."""
        return self.sample.covariates

    @property
    def strata(self) -> tuple[str, ...]:
        """The strata columns."""
        return self.sample.strata

    @property
    def y(self) -> np.ndarray:
        """The outcome of every analysed row (float)."""
        return self.sample.values[self.outcome]

    @property
    def ids(self) -> Participants:
        """The analysed participants (the same as :attr:`who`)."""
        return self.sample.who

    @property
    def excluded(self) -> dict[str, int]:
        """Participants left out per arm by the missing-data policy."""
        return self.sample.inputs.excluded_per_arm()

    def arm_values(self, label: str) -> np.ndarray:
        """The outcome values of one arm."""
        return self.y[self.arms == label]

    @property
    def missing_note(self) -> str:
        """A sentence on the excluded participants, or an empty string."""
        if not any(self.excluded.values()):
            return ""
        parts = ", ".join(f"{a} {k}" for a, k in self.excluded.items())
        total = sum(self.excluded.values())
        return f"complete case: {total} participants with missing {self.outcome} excluded ({parts})"


def prepare(
    data: Any,
    outcome: str,
    arm: str | None,
    treatment: Any,
    control: Any,
    covariates: str | Sequence[str] | None = (),
    *,
    kind: str = "binary",
    missing: str | None = None,
    id: str | None = None,
    strata: str | Sequence[str] | None = (),
    extra: Mapping[str, str] | Sequence[str] | None = None,
) -> Prepared:
    """:func:`gate` for an estimator of one outcome of ``kind`` (``binary``, ``continuous``, ``count``)."""
    outcome = column_name(outcome, "outcome")
    if extra is not None and not isinstance(extra, Mapping):
        extra = {c: "stratum or subgroup" for c in column_names(extra, "extra")}
    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        outcomes={outcome: kind},
        covariates=covariates,
        strata=strata,
        extra=extra,
        missing=missing,
    )
    return Prepared(sample, outcome)


# ----------------------------------------------------------------------------------------------------------
# covariates -> model columns


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str], ids: Any = None) -> pd.DataFrame:
    """Numeric covariate columns: numbers as they are, text and categories as 0/1 dummies.

    The first level (sorted; a categorical's first category) of each categorical covariate is the
    reference; dummy columns are named ``covariate:level``. A covariate with a single value among the
    participants analysed carries no information and is an error naming it (drop it from the model).
    """
    parts = []
    problems = []
    for column in covariates:
        series = frame[column]
        levels = pd.unique(series.dropna())
        if len(levels) < 2:
            problems.append(
                Problem(
                    column,
                    f"covariate has a single value ({levels[0]!r}) among the participants analysed"
                    if len(levels)
                    else "covariate has no values among the participants analysed",
                    "drop it from covariates: a constant cannot be adjusted for",
                )
            )
            continue
        if pd.api.types.is_bool_dtype(series) or (
            pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype)
        ):
            parts.append(series.astype(float).rename(column))
        else:
            dummies = pd.get_dummies(
                series.astype("category"), prefix=column, prefix_sep=":", drop_first=True, dtype=float
            )
            parts.append(dummies)
    if problems:
        raise TrialDataError(problems)
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)
