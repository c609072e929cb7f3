"""Input checks shared by the time-to-event estimators.

Event codes: 0 censored, 1 the event of interest (first employment or education), 2+ competing
events. :func:`prepare_survival` checks the duration, event and arm columns and returns the rows
analysed; it never drops a row: a missing or negative duration, or an event code outside the
declared set, is an error that names the column, up to five participant ids and the fix.
Durations of zero are allowed (an event on the day of randomisation); they sort before every
positive time, with events before censorings at equal times, as in R's survival package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._inputs import absent_columns, as_labels, check_arms, id_series, require_frame
from ipstrial.errors import Problem, TrialDataError, offending_ids

__all__ = ["SurvivalData", "check_cause", "prepare_survival"]


def check_cause(cause: object, event_codes: Sequence[int]) -> int:
    """The event code of interest: a non-zero whole number among ``event_codes`` (0 is censoring)."""
    codes = [int(c) for c in event_codes]
    if isinstance(cause, bool) or not isinstance(cause, int | np.integer) or int(cause) == 0:
        raise ValueError(
            f"cause must be a non-zero event code (one of {[c for c in codes if c]}), got {cause!r}"
        )
    if int(cause) not in codes:
        raise ValueError(f"cause={cause!r} is not among the declared event codes {codes}")
    return int(cause)


@dataclass(frozen=True, eq=False)
class SurvivalData:
    """The rows a time-to-event estimator analyses, in data order.

    ``time`` (float), ``event`` (int codes), ``arms`` (labels), ``ids`` (participant ids as str),
    ``strata`` (one label per row, or None), ``covariates`` (a frame of the named columns).
    ``groups`` lists the compared arms in order (treatments first, control last, when given).
    """

    frame: pd.DataFrame
    duration: str
    event_column: str
    arm: str
    groups: tuple[str, ...]
    time: np.ndarray
    event: np.ndarray
    arms: np.ndarray
    ids: pd.Series
    strata: np.ndarray | None
    unit: str
    event_codes: tuple[int, ...]

    def of(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """Times and event codes of one arm."""
        keep = self.arms == label
        return self.time[keep], self.event[keep]

    def last_follow_up(self) -> dict[str, float]:
        """The largest recorded time in each arm (event or censoring)."""
        return {g: float(self.time[self.arms == g].max()) for g in self.groups}


def prepare_survival(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    *,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    arms: Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    event_codes: Sequence[int] = (0, 1, 2),
    min_groups: int = 1,
    unit: str = "days",
    id: str | None = "participant_id",
) -> SurvivalData:
    """Check the time-to-event inputs and return the rows analysed.

    Give ``treatment`` and ``control`` for a contrast (``treatment`` may be a list), or ``arms`` to
    choose arms (default: every arm in the data, in order of appearance). ``min_groups=2`` makes
    a single arm an error (a comparison needs two). Missing strata or covariates are errors.
    """
    require_frame(data)
    strata_cols = () if strata is None else ((strata,) if isinstance(strata, str) else tuple(strata))
    covariates = tuple(covariates)
    role = {duration: "duration", event: "event", arm: "arm"}
    role |= {c: "stratum" for c in strata_cols} | {c: "covariate" for c in covariates if c not in strata_cols}
    absent = absent_columns(data, role)
    if absent:
        raise TrialDataError([absent])
    if len(data) == 0:
        raise TrialDataError([Problem(None, "the data frame has no rows", "pass one row per participant")])
    if treatment is not None:
        if control is None:
            raise TypeError("give control= together with treatment=")
        labels = (*as_labels(treatment), control)
        check_arms(data, arm, as_labels(treatment), control)
    else:
        present = list(pd.unique(data[arm].dropna()))
        labels = tuple(present if arms is None else arms)
        unknown = [a for a in labels if a not in present]
        if unknown:
            raise TrialDataError(
                [
                    Problem(
                        arm,
                        f"arm(s) {unknown} not in the data; the arms in the data are {present}",
                        "name arms that have participants",
                    )
                ]
            )
    if len(labels) < min_groups:
        raise TrialDataError(
            [
                Problem(
                    arm,
                    f"only one arm ({labels[0]!r}) in the data: there is nothing to compare",
                    "a comparison needs at least two arms; check any filter applied to the data",
                )
            ]
        )
    ids_all = id_series(data, id)
    missing_arm = data[arm].isna().to_numpy()
    problems: list[Problem] = []
    if missing_arm.any():
        shown, count = offending_ids(ids_all, missing_arm)
        problems.append(
            Problem(
                arm,
                f"{count} participants without an arm",
                "every randomised participant has an arm; fill it in from the allocation list",
                shown,
                count,
            )
        )
    rows = data[arm].isin(labels).to_numpy()
    frame = data.loc[rows]
    ids = ids_all.loc[rows]

    time = pd.to_numeric(frame[duration], errors="coerce").to_numpy(dtype=float)
    text = frame[duration].notna().to_numpy() & np.isnan(time)
    for mask, message, fix in (
        (text, "non-numeric durations", "durations are numbers of time units since randomisation"),
        (
            ~text & np.isnan(time),
            "missing durations",
            "every participant has a follow-up time: censor unknown "
            "follow-up at the last date the participant was known to be without the event (event code 0)",
        ),
        (
            np.isinf(time),
            "infinite durations",
            "use the last follow-up time and event code 0 for participants still without the event",
        ),
        (
            time < 0,
            "negative durations",
            "durations count from randomisation and cannot be negative; check the dates",
        ),
    ):
        if mask.any():
            shown, count = offending_ids(ids, mask)
            problems.append(Problem(duration, f"{count} {message}", fix, shown, count))

    codes = tuple(int(c) for c in event_codes)
    raw = pd.to_numeric(frame[event], errors="coerce").to_numpy(dtype=float)
    no_code = np.isnan(raw)
    if no_code.any():
        shown, count = offending_ids(ids, no_code)
        problems.append(
            Problem(
                event,
                f"{count} missing or non-numeric event codes",
                f"code every participant "
                f"with one of {list(codes)} (0 censored, 1 the event, 2+ competing events)",
                shown,
                count,
            )
        )
    outside = ~no_code & ~np.isin(raw, codes)
    if outside.any():
        shown, count = offending_ids(ids, outside)
        found = sorted({float(v) for v in raw[outside]})
        found_text = ", ".join(f"{v:g}" for v in found[:5])
        problems.append(
            Problem(
                event,
                f"{count} event codes outside the declared set {list(codes)} (found {found_text})",
                "recode the events (0 censored, 1 the event of interest, 2+ "
                "competing events) or declare the codes with event_codes=",
                shown,
                count,
            )
        )
    for column in (*strata_cols, *covariates):
        gone = frame[column].isna().to_numpy()
        if gone.any():
            shown, count = offending_ids(ids, gone)
            role = "stratum" if column in strata_cols else "covariate"
            problems.append(
                Problem(
                    column,
                    f"{count} missing values in a {role} column",
                    "fill in the values "
                    "(strata from the randomisation record; impute baseline covariates before the "
                    "analysis)",
                    shown,
                    count,
                )
            )
    if problems:
        raise TrialDataError(problems)
    strata_labels = None
    if strata_cols:
        strata_labels = frame[list(strata_cols)].astype(str).agg(", ".join, axis=1).to_numpy()
    return SurvivalData(
        frame,
        duration,
        event,
        arm,
        tuple(labels),
        time,
        raw.astype(np.int64),
        frame[arm].to_numpy(),
        ids,
        strata_labels,
        unit,
        codes,
    )
