"""The synthetic trial's register view: a weekly DREAM-like panel and the randomisation dates.

:func:`synthetic_registers` turns a participant-level frame of :func:`ipstrial.synthetic.simulate_trial`
into what a register analyst would start from, a long panel ``person, week, code`` and one randomisation
date per participant, so that :func:`ipstrial.registers.derive_outcomes` with ``horizon_weeks=79`` and the
shipped code map (``codes/synthetic.toml``) gives back the frame's outcome columns exactly:
``in_work_or_education == employed_18m``, ``weeks_in_work_or_education == weeks_employed_18m``, ``event``
the frame's event if ``days_to_job <= 548`` (else 0), and ``weeks_to_event`` the week of ``days_to_job``
(:func:`register_week`; one week less for a loss to follow-up; 79 when nothing happens within 548 days).

The view
--------
* **Randomisation**: every participant is randomised on a Saturday, five a week in order of enrolment: the
  participant with enrolment ``e`` on ``first_saturday + 7 ((e - 1) // 5)`` days. Day 1 of follow-up is the
  randomisation Saturday, so the synthetic model's day ``d`` lies in the participant's week
  :func:`register_week` ``(d)``, and days 1..548 (18 months, ``DAYS_18M``) are exactly weeks 1..79.
* **Benefit code**: each participant has one benefit code, ``"111"`` (unemployment insurance benefit),
  ``"130"`` (cash benefit) or ``"890"`` (sickness benefit) with probabilities 0.3 / 0.5 / 0.2, which it
  carries in the 10 weeks before randomisation (weeks -9..0, ignored by the derivation) and in every week
  that is not work, education, a competing exit or after emigration.
* **Job** (``event`` 1 on day ``d``): weeks before ``F = register_week(d)`` carry the benefit code; week ``F``
  is a work week (no row: ``no_code = "work"``) or an education week (``"651"``, probability 0.25); of the
  weeks ``F + 1..79`` exactly ``weeks_employed_18m - 1``, chosen at random, are weeks in work or education
  (``"521"`` flexjob with probability 0.1, ``"651"`` education with probability 0.25, otherwise work), the
  others the benefit code. After week 79 the weeks are work or the benefit code (probability 0.5 each). A job
  after 548 days (``F > 79``) leaves weeks 1..79 on the benefit code.
* **Competing exit** (``event`` 2 on day ``d``): the benefit code before week ``C = register_week(d)``, the
  disability pension ``"783"`` from week ``C`` on.
* **Loss to follow-up** (``event`` 0, ``days_to_job`` below the follow-up of 913 days): the benefit code
  before week ``W = register_week(d)``, emigration ``"998"`` from week ``W`` on. ``event`` 0 at 913 days
  (administrative censoring): the benefit code throughout.
* **Weeks**: each participant's rows run from its week -9 to its week ``79 + weeks_after``; that last week
  always has a row (the benefit code where the draw made it a work week), so the panel's coverage is exactly
  from the first participant's week -9 to the last participant's week ``79 + weeks_after``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ipstrial._model import DAYS_18M
from ipstrial._random import SeedLike, streams
from ipstrial.errors import ParameterError
from ipstrial.registers._rules import iso_weeks, week_indices

__all__ = ["register_week", "synthetic_registers"]

HORIZON_WEEKS = 79
"""The weeks that hold days 1..548 (``register_week(DAYS_18M)``): the horizon that gives back the trial."""
FOLLOW_UP_DAYS = 913
"""The synthetic model's administrative censoring (``Scenario.follow_up_days``): ``event`` 0 earlier is a
loss to follow-up."""
WEEKS_BEFORE = 10
"""Weeks of the benefit code before the randomisation week (weeks -9..0)."""
PER_WEEK = 5
"""Participants randomised per week."""
BENEFIT_CODES = ("111", "130", "890")
BENEFIT_PROBS = (0.3, 0.5, 0.2)
EDUCATION, FLEXJOB, DISABILITY, EMIGRATED = "651", "521", "783", "998"
P_EDUCATION, P_FLEXJOB = 0.25, 0.1
P_WORK_AFTER = 0.5
"""The probability that a week after week 79 of a participant with a job is a work week."""
_REQUIRED = ("participant_id", "enrolment", "employed_18m", "days_to_job", "event", "weeks_employed_18m")


def register_week(days):
    """The follow-up week of day ``days`` (1-based; day 1 is the randomisation Saturday), vectorised.

    ``week = 1 if d <= 2 else (d - 3) // 7 + 2``: days 1-2 (the randomisation Saturday and Sunday) are ISO
    week 1, days 3..9 (Monday to Sunday) week 2, and so on; days 1..548 are exactly weeks 1..79. An integer
    gives an int, an array (or list) an int64 array.
    """
    d = np.asarray(days)
    if d.dtype.kind not in "iu" and not (d.dtype.kind == "f" and np.all(np.mod(d, 1) == 0)):
        raise ParameterError(f"days must be whole numbers of days; got dtype {d.dtype}")
    d = d.astype(np.int64)
    if np.any(d < 1):
        raise ParameterError(f"days are counted from 1 (the randomisation day); got {int(d.min())}")
    week = np.where(d <= 2, 1, (d - 3) // 7 + 2).astype(np.int64)
    return int(week) if week.ndim == 0 else week


def _fail(trial: pd.DataFrame, bad: np.ndarray, what: str) -> None:
    if np.any(bad):
        ids = trial["participant_id"].astype(str).to_numpy()[bad]
        shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        raise ParameterError(f"{len(ids)} participants {what}: {shown}; pass a frame of simulate_trial")


def _check(trial: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED if c not in trial.columns]
    if missing:
        raise ParameterError(f"the trial frame lacks the columns {missing}; pass a frame of simulate_trial")
    if trial["participant_id"].astype(str).duplicated().any():
        raise ParameterError("participant_id is not unique; pass a frame of simulate_trial")
    days = trial["days_to_job"].to_numpy()
    event = trial["event"].to_numpy()
    employed = trial["employed_18m"].to_numpy()
    weeks = trial["weeks_employed_18m"].to_numpy()
    _fail(trial, trial["enrolment"].to_numpy() < 1, "have an enrolment below 1")
    _fail(trial, (days < 1) | (days > FOLLOW_UP_DAYS), f"have days_to_job outside 1..{FOLLOW_UP_DAYS}")
    _fail(trial, ~np.isin(event, (0, 1, 2)), "have an event other than 0, 1 or 2")
    _fail(
        trial, employed != ((event == 1) & (days <= DAYS_18M)), "have employed_18m != (job within 548 days)"
    )
    _fail(trial, (employed == 0) & (weeks != 0), "are not employed but have weeks_employed_18m > 0")
    _fail(trial, (employed == 1) & (weeks < 1), "are employed but have weeks_employed_18m < 1")
    first = register_week(np.clip(days, 1, None))
    _fail(
        trial,
        (employed == 1) & (weeks > HORIZON_WEEKS + 1 - first),
        "have weeks_employed_18m > 80 - register_week(days_to_job) (more weeks than weeks 1..79 hold)",
    )


def synthetic_registers(
    trial: pd.DataFrame,
    seed: SeedLike = 2012,
    first_saturday: str | dt.date = "2012-01-07",
    weeks_after: int = 60,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The weekly register panel and the randomisation dates of a synthetic trial (module docstring).

    Parameters
    ----------
    trial : a frame of :func:`ipstrial.synthetic.simulate_trial` (``participant_id``, ``enrolment``,
        ``employed_18m``, ``days_to_job``, ``event``, ``weeks_employed_18m`` are used).
    seed : the seed of the codes drawn (benefit code, education and flexjob weeks, which weeks are in work).
    first_saturday : the randomisation date of the first five participants; must be a Saturday.
    weeks_after : weeks of panel after week 79 of each participant (at least 1).

    Returns
    -------
    ``(panel, randomisation)``: ``panel`` with columns ``person`` (the participant_id as text), ``week``
    (``YYYY-Www``) and ``code`` (text; a work week has no row), sorted by enrolment and week;
    ``randomisation`` with ``participant_id`` and ``randomisation_date`` (datetime64), in the frame's order.
    """
    if isinstance(weeks_after, bool) or not isinstance(weeks_after, int | np.integer) or weeks_after < 1:
        raise ParameterError(f"weeks_after must be an int of at least 1; got {weeks_after!r}")
    try:
        start = pd.Timestamp(first_saturday).normalize()
    except (TypeError, ValueError):
        raise ParameterError(
            f"first_saturday must be a date such as '2012-01-07'; got {first_saturday!r}"
        ) from None
    if start.dayofweek != 5:
        raise ParameterError(f"first_saturday must be a Saturday; {start.date()} is a {start.day_name()}")
    _check(trial)

    rng_benefit, rng_weeks = streams(seed, 2)
    n = len(trial)
    ids = trial["participant_id"].astype(str).to_numpy()
    enrolment = trial["enrolment"].to_numpy().astype(np.int64)
    days = trial["days_to_job"].to_numpy().astype(np.int64)
    event = trial["event"].to_numpy().astype(np.int64)
    weeks_employed = trial["weeks_employed_18m"].to_numpy().astype(np.int64)
    benefit = np.asarray(BENEFIT_CODES, dtype=object)[rng_benefit.choice(3, size=n, p=BENEFIT_PROBS)]
    week_of_day = register_week(days)

    randomised = start + pd.to_timedelta(7 * ((enrolment - 1) // PER_WEEK), unit="D")
    week0 = week_indices(pd.Series(randomised))  # index of each participant's week 1 (rule 1)

    last = HORIZON_WEEKS + weeks_after
    rel = np.arange(1 - WEEKS_BEFORE, last + 1)
    in_horizon = (rel >= 1) & (rel <= HORIZON_WEEKS)
    persons, weeks, codes = [], [], []
    for i in range(n):
        code = np.full(len(rel), benefit[i], dtype=object)
        d, f = days[i], week_of_day[i]
        if event[i] == 1:
            at_f = rel == f
            code[at_f] = EDUCATION if rng_weeks.random() < P_EDUCATION else None
            if d <= DAYS_18M:
                candidates = rel[in_horizon & (rel > f)]
                chosen = np.sort(rng_weeks.choice(candidates, size=weeks_employed[i] - 1, replace=False))
                u = rng_weeks.random(len(chosen))
                kinds = np.full(len(chosen), None, dtype=object)
                kinds[u < P_FLEXJOB + P_EDUCATION] = EDUCATION
                kinds[u < P_FLEXJOB] = FLEXJOB
                code[np.isin(rel, chosen)] = kinds  # rel is sorted, so are the chosen weeks
            after = rel > max(f, HORIZON_WEEKS)
            work = rng_weeks.random(int(after.sum())) < P_WORK_AFTER
            code[np.flatnonzero(after)[work]] = None
            if code[-1] is None:
                code[-1] = benefit[i]
        elif event[i] == 2:
            code[rel >= f] = DISABILITY
        elif d < FOLLOW_UP_DAYS:
            code[rel >= f] = EMIGRATED
        keep = np.array([c is not None for c in code])
        weeks.append(week0[i] + rel[keep] - 1)
        codes.append(code[keep])
        persons.append(np.full(int(keep.sum()), i, dtype=np.int64))

    person_index = np.concatenate(persons)
    panel = pd.DataFrame(
        {
            "person": ids[person_index].astype(object),
            "week": iso_weeks(np.concatenate(weeks)),
            "code": np.concatenate(codes).astype(str).astype(object),
        }
    )
    randomisation = pd.DataFrame(
        {"participant_id": trial["participant_id"].to_numpy(), "randomisation_date": randomised.to_numpy()}
    )
    return panel, randomisation
