"""The input gate of the time-to-event estimators: :func:`prepare_survival`, on :func:`ipstrial._inputs.gate`.

Event codes: 0 censored, 1 the event of interest (first employment or education), 2+ competing
events. :func:`prepare_survival` passes the duration and event columns (and any strata and covariates)
through the package's one input gate, so the checks and their wording are those of every estimator:
durations are finite non-negative numbers (timedelta, dates and booleans are refused with the conversion
to use), event codes are whole numbers among the declared ones, ids are unique, every row has an arm,
near-miss arm labels are errors, covariates are finite numbers or labels and strata are complete. It
never drops a row: rows of other arms are left out and counted in the result's ``inputs``.

Durations of zero are allowed (an event on the day of randomisation); they sort before every positive
time, with events before censorings at equal times, as in R's survival package.

Tied times (``timefix``): durations that differ only by floating-point noise (``10`` and
``10 + 1e-13``, e.g. after converting dates and dividing) are tied, as R's survival package ties them by
default (``aeqSurv``, used by ``survfit``, ``survdiff`` and ``coxph`` with ``timefix = TRUE``):
:func:`merge_tied_times` sorts the distinct durations ``y``, and neighbours are tied when their gap is
at most ``sqrt(machine epsilon)`` (about 1.49e-8) absolutely or relative to the mean of ``|y|``; runs of
tied neighbours chain, and every duration of a run is replaced by the smallest of the run. Every
estimator applies it (``timefix=True``, the default) and its result notes how many distinct durations
were merged; ``timefix=False`` keeps the durations as given.

The module also holds what every survival estimator checks and writes the same way: reporting times
(:func:`time_values`), the labels of times and
of the compared arms (:func:`time_label`, :func:`arms_label`), each row's arm as a code
(:func:`arm_codes`) and the note on censored competing events (:func:`competing_censored_note`).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ipstrial._checks import check_flag, column_names
from ipstrial._columns import plural
from ipstrial._inputs import Sample, SampleView, gate
from ipstrial.errors import ParameterError
from ipstrial.results import contrast_label

__all__ = [
    "TIMEFIX_TOLERANCE",
    "SurvivalData",
    "arm_codes",
    "arms_label",
    "check_cause",
    "competing_censored_note",
    "merge_tied_times",
    "prepare_survival",
    "time_label",
    "time_values",
]

TIMEFIX_TOLERANCE = math.sqrt(np.finfo(float).eps)
"""R's ``sqrt(.Machine$double.eps)`` (about 1.49e-8): the tolerance of ``aeqSurv`` (timefix)."""


def check_cause(cause: object, event_codes: Sequence[int]) -> int:
    """The event code of interest: a non-zero whole number among ``event_codes`` (0 is censoring)."""
    codes = [int(c) for c in event_codes]
    if isinstance(cause, bool | np.bool_) or not isinstance(cause, numbers.Integral) or int(cause) == 0:
        raise ParameterError(
            f"cause must be a non-zero event code (one of {[c for c in codes if c]}), got {cause!r}"
        )
    if int(cause) not in codes:
        raise ParameterError(f"cause={cause!r} is not among the declared event codes {codes}")
    return int(cause)


def time_values(
    times: object, name: str = "times", *, nonnegative: bool = False, once: bool = False
) -> np.ndarray:
    """Times since randomisation as a flat array of finite floats; a ParameterError otherwise.

    ``nonnegative`` refuses negative times; ``once`` refuses a time listed more than once (naming those).
    """
    try:
        values = np.atleast_1d(np.asarray(times, dtype=float)).ravel()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numbers (times since randomisation), got {times!r}") from exc
    if not np.all(np.isfinite(values)) or (nonnegative and np.any(values < 0)):
        what = "non-negative finite numbers" if nonnegative else "finite numbers"
        raise ParameterError(f"{name} must be {what} (times since randomisation), got {values.tolist()}")
    if once:
        distinct, counts = np.unique(values, return_counts=True)
        repeated = distinct[counts > 1].tolist()
        if repeated:
            raise ParameterError(f"{name} lists {repeated} more than once; list each time once")
    return values


def time_label(t: float) -> str:
    """A time as the shortest text that gives it back (``548.0 -> "548"``, ``10 + 1e-13`` stays distinct)."""
    return np.format_float_positional(float(t), trim="-")


def arms_label(groups: Sequence[str], control: str | None = None) -> str:
    """``"IPS vs SAU"``; with K arms ``"IPS vs IPSE vs SAU"``; the control, when there is one, last."""
    if control is not None and control in groups:
        groups = [*(g for g in groups if g != control), control]
    if len(groups) == 2:
        return contrast_label(groups[0], groups[1])
    return " vs ".join(str(g) for g in groups)


def arm_codes(sd: SurvivalData) -> np.ndarray:
    """Each row's arm as its position in ``sd.groups`` (0 for the first analysed arm, ...), as int64."""
    codes = np.full(len(sd.arms), -1, dtype=np.int64)
    for i, label in enumerate(sd.groups):
        codes[sd.arms == label] = i
    return codes


def competing_censored_note(sd: SurvivalData, where: str, meaning: str) -> str:
    """The note of an estimator that censors competing events: their codes, how many, what that means
    (empty when no participant has a competing event: there is nothing to warn about)."""
    if int(sd.competing.sum()) == 0:
        return ""
    others = [c for c in sd.event_codes if c not in (0, sd.cause)]
    codes = ", ".join(str(c) for c in others) or "none declared"
    return (
        f"competing events (codes {codes}) are censored: {plural(int(sd.competing.sum()), 'participant')} in "
        f"{where}; {meaning}"
    )


def merge_tied_times(time: np.ndarray, tolerance: float = TIMEFIX_TOLERANCE) -> tuple[np.ndarray, int, int]:
    """Tie durations that differ only by floating-point noise, as R's ``survival:::aeqSurv``.

    With ``y`` the sorted distinct finite durations and ``dy = diff(y)``, neighbours are tied when
    ``dy <= tolerance`` or ``dy / mean(|y|) <= tolerance``; a run of tied neighbours (runs chain, so a
    run may span more than ``tolerance``) is replaced by its smallest value (Therneau, survival package,
    ``aeqSurv``: ``cuts = y[c(TRUE, !tied)]``, ``cuts[findInterval(time, cuts)]``).

    Returns ``(merged times, distinct durations that were merged, runs they were merged into)``; the
    input itself when nothing is tied.
    """
    values = np.asarray(time, dtype=float)
    y = np.unique(values[np.isfinite(values)])
    if y.size < 2:
        return values, 0, 0
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return values, 0, 0
    starts = np.concatenate([[True], ~tied])
    cuts = y[starts]
    sizes = np.bincount(np.cumsum(starts) - 1)
    merged = cuts[np.searchsorted(cuts, values, side="right") - 1]
    return merged, int(sizes[sizes > 1].sum()), int(np.sum(sizes > 1))


@dataclass(frozen=True, eq=False)
class SurvivalData(SampleView):
    """The rows a time-to-event estimator analyses (the gate's :class:`~ipstrial._inputs.Sample`).

    ``time`` (float, after ``timefix``), ``event`` (int codes), ``arms`` (labels), ``groups`` the analysed
    arms in the order results list them (a Trial's declared order, else the treatment(s) then the
    control), ``strata`` one label per row (or None), ``frame`` the gate's frame (covariates and strata
    included). ``merged``/``runs`` say how many distinct durations ``timefix`` tied, and into how many.
    """

    sample: Sample
    duration: str
    event_column: str
    time: np.ndarray
    event: np.ndarray
    cause: int
    unit: str
    merged: int = 0
    runs: int = 0
    changed: int = 0

    @property
    def groups(self) -> tuple[str, ...]:
        """The analysed arms in the order results list them."""
        return self.sample.order

    @property
    def covariates(self) -> tuple[str, ...]:
        return self.sample.covariates

    @property
    def strata_columns(self) -> tuple[str, ...]:
        return self.sample.strata

    @functools.cached_property
    def strata(self) -> np.ndarray | None:
        """One integer code per row for the joint strata (the labels sorted as text), or None without
        strata."""
        joint = self.sample.strata_codes()
        return None if joint is None else joint[0]

    @functools.cached_property
    def status(self) -> np.ndarray:
        """True for an event of interest."""
        return self.event == self.cause

    @functools.cached_property
    def competing(self) -> np.ndarray:
        """True for a competing event (neither censored nor the event of interest)."""
        return (self.event != 0) & (self.event != self.cause)

    def of(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """Times and event codes of one arm."""
        keep = self.arms == label
        return self.time[keep], self.event[keep]

    def last_follow_up(self) -> dict[str, float]:
        """The largest recorded time in each arm (event or censoring)."""
        return {g: float(self.time[self.arms == g].max()) for g in self.groups}

    def strata_codes(self) -> tuple[np.ndarray, int]:
        """One integer stratum code per row (sorted labels) and the number of strata."""
        codes = self.strata
        if codes is None:
            return np.zeros(self.time.size, dtype=np.int64), 1
        return codes, int(codes.max()) + 1

    @property
    def notes(self) -> tuple[str, ...]:
        """The timefix note (empty when nothing was merged)."""
        if not self.merged:
            return ()
        return (
            f"tied times (timefix): {self.merged} distinct values of {self.duration} that differ by at most "
            f"sqrt(machine epsilon) (absolutely or relative to their mean) were merged into {self.runs}, "
            f"changing the durations of {plural(self.changed, 'participant')} to the smallest value of their "
            "run (as R's survival package, aeqSurv); pass timefix=False to keep them apart",
        )


def _resolve_event(data: Any, duration: object, event: object) -> str:
    from ipstrial.trial import Trial

    if not isinstance(duration, str) or not duration:
        raise ParameterError(f"duration must be a column name (str), got {duration!r}")
    if event is None:
        if isinstance(data, Trial):
            paired = data.event_of(duration)
            if paired is None:
                declared = ", ".join(f"{d!r} (event {e!r})" for d, e in data.durations) or "none"
                raise ParameterError(
                    f"the Trial pairs no event column with the duration {duration!r} (its durations: "
                    f"{declared}); pass event= or declare durations={{{duration!r}: <event column>}}"
                )
            return paired
        raise ParameterError(
            f"event= must name the event column of {duration!r} (0 censored, 1 the event, 2+ competing), "
            "or pass an ipstrial.Trial that pairs it with the duration"
        )
    if not isinstance(event, str) or not event:
        raise ParameterError(f"event must be a column name (str), got {event!r}")
    return event


def _event_codes(data: Any, event_codes: Sequence[int] | None) -> tuple[int, ...]:
    from ipstrial.trial import Trial

    if event_codes is None:
        return tuple(data.event_codes) if isinstance(data, Trial) else (0, 1, 2)
    if isinstance(event_codes, str | bytes) or not isinstance(event_codes, Sequence | np.ndarray):
        raise ParameterError(
            f"event_codes must be a list of whole numbers such as (0, 1, 2), got {event_codes!r}"
        )
    codes = []
    for c in event_codes:
        if isinstance(c, bool | np.bool_) or not isinstance(c, numbers.Integral) or int(c) < 0:
            raise ParameterError(f"event_codes must hold non-negative whole numbers, got {c!r}")
        codes.append(int(c))
    if 0 not in codes or len(set(codes)) != len(codes) or len(codes) < 2:
        raise ParameterError(
            f"event_codes must list 0 (censored) and at least one event code, each once, got "
            f"{list(event_codes)!r}"
        )
    return tuple(codes)


def prepare_survival(
    data: Any,
    duration: str,
    event: str | None,
    arm: str | None,
    treatment: Any = None,
    control: Any = None,
    *,
    id: str | None = None,
    cause: int = 1,
    event_codes: Sequence[int] | None = None,
    strata: str | Sequence[str] | None = None,
    covariates: str | Sequence[str] | None = None,
    need_control: bool = False,
    min_arms: int = 1,
    unit: str = "days",
    timefix: bool = True,
) -> SurvivalData:
    """Check the time-to-event inputs with :func:`ipstrial._inputs.gate` and return the rows analysed.

    Parameters
    ----------
    data
        A DataFrame (one row per participant) or an :class:`ipstrial.Trial`.
    duration, event
        The follow-up time and event-code columns; ``event`` may be None with a Trial that pairs it with
        ``duration`` (``Trial.event_of``).
    arm, treatment, control, id
        As in :func:`ipstrial._inputs.gate`. With ``need_control=False`` (estimators of every arm) and
        neither ``treatment`` nor ``control``, every arm is analysed.
    cause, event_codes
        The event code of interest and the declared codes (default: the Trial's, else 0, 1, 2).
    strata, covariates
        Column names (a string is one column).
    need_control, min_arms
        A contrast needs a control; comparisons need two arms.
    unit
        The time unit of ``duration``, for labels.
    timefix
        Tie durations that differ by floating-point noise (:func:`merge_tied_times`), as R does.
    """
    event = _resolve_event(data, duration, event)
    if not isinstance(unit, str) or not unit.strip():
        raise ParameterError(f"unit must be a non-empty text such as 'days' or 'weeks', got {unit!r}")
    check_flag(timefix, "timefix")
    codes = _event_codes(data, event_codes)
    cause = check_cause(cause, codes)
    strata_cols = column_names(strata, "strata")
    covariate_cols = column_names(covariates, "covariates")
    both = [c for c in covariate_cols if c in strata_cols]
    if both:
        raise ParameterError(
            f"column(s) {both} given both as covariates and as strata: a stratum's effect is absorbed by its "
            "own baseline hazard and cannot be estimated; drop them from covariates="
        )
    if duration == event:
        raise ParameterError(f"duration and event name the same column {duration!r}; they are two columns")
    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        outcomes={duration: "duration", event: "event"},
        covariates=covariate_cols,
        strata=strata_cols,
        need_control=need_control,
        min_arms=min_arms,
        event_codes=codes,
    )
    time = sample.values[duration]
    merged = runs = changed = 0
    if timefix:
        fixed, merged, runs = merge_tied_times(time)
        changed = int(np.sum(fixed != time))
        time = fixed
    return SurvivalData(
        sample=sample,
        duration=duration,
        event_column=event,
        time=np.asarray(time, dtype=float),
        event=sample.values[event].astype(np.int64),
        cause=cause,
        unit=unit,
        merged=merged,
        runs=runs,
        changed=changed,
    )
