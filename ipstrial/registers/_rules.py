"""The rules that turn a weekly register panel into trial outcomes: stated once, for every engine.

Inputs
------
* The **panel**: one row per person-week, with a person id, an ISO 8601 week ``YYYY-Www`` (``2012-W05``) and a
  code (empty or missing means no code). Ids and codes are compared as text, written alike for every input
  and engine: spaces around them removed, a whole number stored as a float (``130.0``, as ``read_csv`` gives
  a numeric column with gaps) written ``130``.
* The **randomisation**: one row per participant, its id (a person id of the panel) and its randomisation
  date (a date, or text in ISO 8601 ``YYYY-MM-DD`` only: ``01-02-2012`` is refused, being 1 February in
  Denmark and 2 January elsewhere; a time zone is converted to Copenhagen's).
* The **code map** (:class:`ipstrial.registers.CodeMap`): each code's kind (``work``, ``education``,
  ``benefit``, ``competing``, ``end``), optionally a benefit type and a weekly rate in DKK of the map's price
  year, and what a week without a code means (``no_code``: ``"work"``, as DREAM's self-support, or
  ``"none"``).
* The **horizon** ``H`` in weeks (78 by default).

Rules
-----
1. **Week 1** is the ISO week that contains the randomisation date; week ``w`` is the ``w - 1``-th ISO week
   after it. The days of week 1 before the randomisation therefore count: a participant self-supporting
   in them has an event in week 1. With ``first_week="next"`` week 1 is the ISO week after the randomisation
   week, and nothing before the randomisation counts. A week's index is ``(Monday of the week - 1970-01-05)
   / 7`` (Monday 5 January 1970 is the Monday of ISO week 1970-W02; any fixed Monday gives the same
   differences), and the relative week of a panel row is ``index(row) - index(week 1) + 1``. Only weeks
   1..H count.
2. **A week without a row, or with an empty code, has no code.** In DREAM this is self-support, so with
   ``no_code = "work"`` such a week is a week in work; with ``"none"`` it is neither work nor a benefit. A
   gap is therefore not missing data: the panel's **coverage** is from its first to its last week (over all
   rows), and a week outside the coverage is not observed. A week of the coverage without a single row of
   anyone is an error (a missing file, a mistyped ``2099-W01``), unless allowed. A single week without a code
   between benefit spells counts as a week in work: no minimum run of self-support weeks is required.
3. **Two rows for one person-week.** Rows with the same code count once (the number collapsed is reported).
   Rows with different codes are an error naming the persons and weeks (``duplicates="error"``, the
   default), or resolved by the priority ``end > competing > work > education > benefit``, codes of one
   kind in the code map's order, a row without a code last (``duplicates="priority"``; the number resolved is
   reported). A row without a code and a row with one are different codes. Duplicates, like unknown codes
   (rule 9), are looked for in the participants' rows of weeks 1..H.
4. **End of follow-up.** ``E`` is the first week in 1..H with an ``end`` code (death, emigration): weeks
   ``E`` and later are not used. An ``end`` code is taken to be permanent; before week 1 it is looked at
   only by rule 9. Map death to ``end``, not to ``competing``: weeks after a competing code go on being
   observed (rule 7). ``L`` is the panel's last week (relative to the participant). The
   participant is observed in weeks ``1..T`` with ``T = min(H, E - 1, L)`` (``E`` or ``L`` absent: no
   limit). ``T < H`` because of ``L`` is reported as truncated follow-up.
5. **First week in work or education** ``F``: the first week in ``1..T`` whose code is of kind ``work``
   or ``education``, or (``no_code = "work"``) that has no code. **First competing exit** ``C``: the first
   week in ``1..T`` with a ``competing`` code (disability pension).
6. **Event and duration**: ``event = 1`` and ``weeks_to_event = F`` if ``F`` exists and (``C`` does not or
   ``F < C``); else ``event = 2`` and ``weeks_to_event = C`` if ``C`` exists; else ``event = 0`` (censored)
   and ``weeks_to_event = T``. ``in_work_or_education = 1`` exactly when ``event = 1`` (work after a
   competing exit does not count), 0 otherwise, and missing when the panel's end cut the follow-up short
   (``truncated``) before any event: whether the participant worked within H weeks is then not known.
7. **Weeks in work or education**: the number of weeks in ``1..T`` in work or education (by rule 5's
   definition), whatever their order with ``C``.
8. **Transfers**: for each benefit type, the sum of the weekly rates of the weeks in ``1..T`` whose code has
   that benefit type (any kind of code may carry one); ``transfers_total`` their sum. In DKK of the code map's
   price year.
9. **Checks** (each an error naming the codes, persons or participants, never a silent drop):
   a participant randomised before the panel's first week or after its last week; a week that is not an ISO
   week (``2015-W54``, ``2015-W5``, ``0000-W01``) in a participant's rows; a code of a participant's weeks
   1..H that the code map does not have (listed with counts); conflicting rows (rule 3); an empty week of the
   coverage (rule 2); a participant whose last week with rows before week 1 has an ``end`` code and who
   has no row in weeks 1..H (randomised after a recorded death or emigration: every week would otherwise be
   "no code"). A participant with no panel rows at all is kept, derived by rules 1-8 (every week
   without a code) and reported; more than 5 % of participants without rows is an error unless allowed,
   since it is nearly always ids written differently in the two tables.

Output
------
One row per participant, in the randomisation's order: the id column, ``randomisation_week`` (``YYYY-Www``),
``in_work_or_education`` (0/1), ``weeks_in_work_or_education``, ``weeks_to_event``, ``event`` (0 censored, 1
first week in work or education, 2 competing exit), ``followup_weeks`` (``T``), ``coded_weeks`` (weeks of
``1..T`` with a code), one ``transfers_<benefit>`` column per benefit type of the code map, in its order,
``transfers_total``, ``truncated`` (1 when the panel's end, not an end code, cut the follow-up short of H
weeks) and ``register_rows`` (the participant's rows in the panel; 0 is reported). The id column is text.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

EPOCH_MONDAY = "1970-01-05"
"""The Monday from which week indices are counted (rule 1)."""
_EPOCH = dt.date.fromisoformat(EPOCH_MONDAY)


def week_index(date: dt.date) -> int:
    """The week index (rule 1) of the ISO week containing ``date``."""
    return (date - dt.timedelta(days=date.isoweekday() - 1) - _EPOCH).days // 7


def week_indices(dates: pd.Series) -> np.ndarray:
    """:func:`week_index` of every date of a datetime64 series (normalised, no time zone), vectorised."""
    days = (dates.to_numpy(dtype="datetime64[D]") - np.datetime64(EPOCH_MONDAY, "D")).astype(np.int64)
    return days // 7  # the epoch is a Monday: whole weeks since it are ISO weeks


def index_of(week: str) -> int:
    """The week index (rule 1) of a valid ``YYYY-Www``."""
    return (dt.date.fromisocalendar(int(week[:4]), int(week[6:8]), 1) - _EPOCH).days // 7


def iso_week(index: int) -> str:
    """The ``YYYY-Www`` of a week index (rule 1)."""
    year, week, _ = (_EPOCH + dt.timedelta(weeks=int(index))).isocalendar()
    return f"{year:04d}-W{week:02d}"


def iso_weeks(indices: np.ndarray) -> np.ndarray:
    """:func:`iso_week` of an array of week indices (each distinct index converted once)."""
    uniq, inverse = np.unique(np.asarray(indices, dtype=np.int64), return_inverse=True)
    return np.array([iso_week(i) for i in uniq], dtype=object)[inverse.reshape(-1)]


FACT_COLUMNS = (
    "person",
    "panel_rows",
    "first_end",
    "first_competing",
    "first_work",
    "followup_weeks",
    "weeks_work",
    "coded_weeks",
)
"""What an engine returns per participant (with one ``transfers_<benefit>`` column per benefit type):
``panel_rows`` the person's rows in the whole panel (0: reported), ``first_end``, ``first_competing`` and
``first_work`` the weeks ``E``, ``C`` and ``F`` of rules 4-5 (missing when absent; ``C`` and ``F`` within
``1..T``), ``followup_weeks`` ``T``, ``weeks_work`` rule 7's count, ``coded_weeks`` the weeks of ``1..T``
with a code."""


def outcomes_from_facts(facts: pd.DataFrame, benefits: tuple[str, ...]) -> pd.DataFrame:
    """Rules 6-8 from an engine's per-participant facts (:data:`FACT_COLUMNS`): the outcome columns."""
    f = facts["first_work"].astype("Float64")
    c = facts["first_competing"].astype("Float64")
    work_first = f.notna() & (c.isna() | (f < c))
    competing = ~work_first & c.notna()
    event = np.where(work_first, 1, np.where(competing, 2, 0))
    duration = np.where(work_first, f.fillna(0), np.where(competing, c.fillna(0), facts["followup_weeks"]))
    out = pd.DataFrame(
        {
            "in_work_or_education": (event == 1).astype(np.int64),
            "weeks_in_work_or_education": facts["weeks_work"].astype(np.int64).to_numpy(),
            "weeks_to_event": np.asarray(duration, dtype=np.int64),
            "event": event.astype(np.int64),
            "followup_weeks": facts["followup_weeks"].astype(np.int64).to_numpy(),
            "coded_weeks": facts["coded_weeks"].astype(np.int64).to_numpy(),
        },
        index=facts.index,
    )
    total = np.zeros(len(facts))
    for b in benefits:
        out[f"transfers_{b}"] = facts[f"transfers_{b}"].astype(float).to_numpy()
        total = total + out[f"transfers_{b}"].to_numpy()
    out["transfers_total"] = total
    return out


MAX_LISTED = 20
"""How many offending persons, weeks or codes an engine lists (all are counted)."""


class EngineFacts:
    """What an engine found: the per-participant ``facts`` (:data:`FACT_COLUMNS` and one
    ``transfers_<benefit>`` column per benefit type, one row per cohort row in its order, index 0..n-1), the
    panel's coverage ``first_week`` and ``last_week`` (``YYYY-Www``; ``None`` for an empty panel), and the
    problems of rule 9: ``bad_weeks`` (up to :data:`MAX_LISTED` ``(person, week)`` of cohort rows that are
    not ISO weeks) and ``n_bad_weeks``; ``unknown_codes`` (``{code: rows}`` over the cohort's rows in weeks
    1..H); ``conflicts`` (up to :data:`MAX_LISTED` ``(person, week, sorted codes)``) and ``n_conflicts``
    (person-weeks with different codes; with ``duplicates="priority"`` they are resolved and counted alike);
    ``collapsed`` (rows dropped as exact duplicates of another row of the same person-week and code). The
    lists hold the first distinct pairs by person, then week text. ``empty_weeks`` (up to :data:`MAX_LISTED`,
    in time order) and ``n_empty_weeks``: the weeks of the coverage without a single row of the panel.
    ``ended_before`` (up to :data:`MAX_LISTED` persons, sorted) and ``n_ended_before``: participants whose
    last week with rows before week 1 has an ``end`` code and who have no row in weeks 1..H (rule 9).
    Codes missing from the map rank after every known code (in text order) and a row without a code after
    those, which matters only for facts rule 9 refuses anyway."""

    def __init__(
        self,
        facts: pd.DataFrame,
        first_week: str | None,
        last_week: str | None,
        bad_weeks: list[tuple[str, str]],
        n_bad_weeks: int,
        unknown_codes: dict[str, int],
        conflicts: list[tuple[str, str, tuple[str, ...]]],
        n_conflicts: int,
        collapsed: int,
        empty_weeks: list[str] | None = None,
        n_empty_weeks: int = 0,
        ended_before: list[str] | None = None,
        n_ended_before: int = 0,
    ) -> None:
        self.facts = facts
        self.first_week = first_week
        self.last_week = last_week
        self.bad_weeks = bad_weeks
        self.n_bad_weeks = n_bad_weeks
        self.unknown_codes = unknown_codes
        self.conflicts = conflicts
        self.n_conflicts = n_conflicts
        self.collapsed = collapsed
        self.empty_weeks = list(empty_weeks or [])
        self.n_empty_weeks = n_empty_weeks
        self.ended_before = list(ended_before or [])
        self.n_ended_before = n_ended_before
