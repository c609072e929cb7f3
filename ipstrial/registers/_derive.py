""":func:`derive_outcomes`: a weekly register panel and the randomisation dates to one row per participant."""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipstrial.errors import ParameterError, Problem, TrialDataError
from ipstrial.registers._codes import CodeMap
from ipstrial.registers._rules import EngineFacts, outcomes_from_facts

ENGINES = ("duckdb", "pandas")
DUPLICATES = ("error", "priority")
_EPOCH = dt.date(1970, 1, 5)


@dataclass(frozen=True)
class DerivedOutcomes:
    """The result of :func:`derive_outcomes`.

    ``frame`` holds one row per participant (the columns of :mod:`ipstrial.registers._rules`); the rest is
    what the derivation met: the panel's ``coverage`` (first and last week), the participants with no panel
    rows (kept, and ``no_register_rows`` lists them), those whose follow-up the panel's end cut short
    (``truncated``), the ``collapsed`` exact duplicates and the ``resolved`` conflicting person-weeks, and
    the ``engine``, ``horizon_weeks`` and code map used.
    """

    frame: pd.DataFrame
    coverage: tuple[str | None, str | None]
    no_register_rows: tuple[str, ...]
    truncated: tuple[str, ...]
    collapsed: int
    resolved: int
    engine: str
    horizon_weeks: int
    codes: CodeMap
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """What was derived and what the derivation met, in a few lines."""
        lines = [
            f"{len(self.frame)} participants, {self.horizon_weeks} weeks from the randomisation week "
            f"(panel {self.coverage[0]} to {self.coverage[1]}; engine {self.engine})",
            f"in work or education: {int(self.frame['in_work_or_education'].sum())}; competing exits: "
            f"{int((self.frame['event'] == 2).sum())}",
        ]
        return "\n".join(lines + list(self.notes))


def week_index(date: dt.date) -> int:
    """The week index of rule 1 of the ISO week containing ``date``."""
    monday = date - dt.timedelta(days=date.isoweekday() - 1)
    return (monday - _EPOCH).days // 7


def iso_week(index: int) -> str:
    """The ``YYYY-Www`` of a week index (rule 1)."""
    year, week, _ = (_EPOCH + dt.timedelta(weeks=int(index))).isocalendar()
    return f"{year}-W{week:02d}"


def _cohort(randomisation: pd.DataFrame, id: str, date: str) -> tuple[pd.DataFrame, pd.Series]:
    """The cohort (person, week0) of the engines, checked: ids present and unique, dates valid."""
    if not isinstance(randomisation, pd.DataFrame):
        raise ParameterError(
            f"randomisation must be a DataFrame with the columns {id!r} and {date!r}; got "
            f"{type(randomisation).__name__}"
        )
    missing = [c for c in (id, date) if c not in randomisation.columns]
    if missing:
        raise ParameterError(
            f"randomisation has no column {missing}; its columns are {list(randomisation.columns)}: name "
            "the id and date columns with id= and date= (--id, --date)"
        )
    ids = randomisation[id]
    problems = []
    if ids.isna().any():
        problems.append(Problem(id, "missing participant ids", "give every participant its register id",
                                count=int(ids.isna().sum())))  # fmt: skip
    text = ids.astype(str)
    twice = text[text.duplicated(keep=False) & ids.notna()]
    if len(twice):
        problems.append(Problem(id, "participant ids listed more than once", "list each participant once",
                                ids=tuple(sorted(set(twice)))[:5], count=len(set(twice))))  # fmt: skip
    dates = pd.to_datetime(randomisation[date], errors="coerce")
    bad = dates.isna()
    if bad.any():
        fix = "give dates as YYYY-MM-DD"
        problems.append(
            Problem(
                date, "missing or unreadable randomisation dates", fix, tuple(text[bad])[:5], int(bad.sum())
            )
        )
    if problems:
        raise TrialDataError(problems)
    week0 = np.array([week_index(d.date()) for d in dates], dtype=np.int64)
    return pd.DataFrame({"person": text.to_numpy(), "week0": week0}), text


def _panel(panel: object, person: str, week: str, code: str, engine: str):  # noqa: ANN202
    """The panel as the engine takes it: a renamed frame, or the files (checked to exist)."""
    from ipstrial.registers._duckdb import panel_files

    if isinstance(panel, pd.DataFrame):
        missing = [c for c in (person, week, code) if c not in panel.columns]
        if missing:
            raise ParameterError(
                f"the panel has no column {missing}; its columns are {list(panel.columns)}: name them with "
                "person=, week= and code="
            )
        frame = panel[[person, week, code]].rename(columns={person: "person", week: "week", code: "code"})
        frame = frame.assign(
            person=frame["person"].astype(str),
            week=frame["week"].astype(str),
            code=frame["code"].where(frame["code"].notna(), None).map(lambda v: v if v is None else str(v)),
        )
        return frame
    if engine == "pandas":
        raise ParameterError(
            "engine='pandas' takes an in-memory panel only; files are read by engine='duckdb'"
        )
    items = [panel] if isinstance(panel, str | os.PathLike) else list(panel)  # type: ignore[arg-type]
    if not items or not all(isinstance(p, str | os.PathLike) for p in items):
        raise ParameterError(
            "panel must be a DataFrame, or Parquet/CSV file paths (a path, a glob such as 'dream/*.parquet', "
            f"or a list); got {panel!r}"
        )
    for p in items:
        if not glob.glob(str(p)):
            raise ParameterError(f"no panel file matches '{p}'; check the path or the glob")
    return panel_files(items, person, week, code)


def derive_outcomes(
    panel: pd.DataFrame | str | os.PathLike | Sequence[str | os.PathLike],
    randomisation: pd.DataFrame,
    codes: CodeMap,
    horizon_weeks: int = 78,
    *,
    id: str = "participant_id",
    date: str = "randomisation_date",
    person: str = "person",
    week: str = "week",
    code: str = "code",
    duplicates: str = "error",
    engine: str = "duckdb",
    threads: int | None = None,
    memory_limit: str | None = None,
) -> DerivedOutcomes:
    """One row of register outcomes per participant, by the rules of :mod:`ipstrial.registers._rules`.

    Week 1 is the ISO week of the randomisation date; a week without a row or code means the code map's
    ``no_code`` (DREAM: self-support, counted as work); an ``end`` code (death, emigration) ends follow-up
    before its week; ``event`` is 1 for a first week in work or education before any competing exit (2), else
    0 with ``weeks_to_event`` the weeks observed; transfers are the code map's weekly rates summed over the
    observed weeks, by benefit type. The rules, every choice stated, are in :mod:`._rules`.

    Parameters
    ----------
    panel
        The weekly panel, one row per person-week: a DataFrame, or Parquet or CSV files (a path, a glob such
        as ``'dream/*.parquet'``, or a list), read by DuckDB without loading the panel into memory.
    randomisation
        One row per participant: its register id (``id``) and randomisation date (``date``).
    codes
        The code map (:meth:`CodeMap.from_toml`).
    horizon_weeks
        ``H``: weeks 1..H count (78 by default; a 548-day window beginning on a Saturday spans 79 ISO weeks).
    id, date
        The randomisation's columns.
    person, week, code
        The panel's columns: the person id (compared as text), the ISO week ``YYYY-Www`` and the code.
    duplicates
        ``"error"`` (default): conflicting codes for one person-week are an error naming them; ``"priority"``:
        resolved by ``end > competing > work > education > benefit`` (rule 3), and counted.
    engine
        ``"duckdb"`` (default) or ``"pandas"`` (an in-memory panel only); both give the same result.
    threads, memory_limit
        DuckDB's threads (default: every core) and memory limit (e.g. ``"3GB"``; default DuckDB's).

    Returns
    -------
    DerivedOutcomes
        ``frame``: the id column, ``randomisation_week``, ``in_work_or_education``,
        ``weeks_in_work_or_education``, ``weeks_to_event``, ``event``, ``followup_weeks``, ``coded_weeks``,
        ``transfers_<benefit>`` and ``transfers_total``; and what was met (participants without register rows,
        truncated follow-up, duplicates).
    """
    if not isinstance(codes, CodeMap):
        raise ParameterError(f"codes must be a CodeMap (CodeMap.from_toml(path)); got {type(codes).__name__}")
    if (
        isinstance(horizon_weeks, bool)
        or not isinstance(horizon_weeks, int | np.integer)
        or horizon_weeks < 1
    ):
        raise ParameterError(f"horizon_weeks must be a whole number of weeks >= 1; got {horizon_weeks!r}")
    if duplicates not in DUPLICATES:
        raise ParameterError(f"duplicates={duplicates!r} must be one of {list(DUPLICATES)}")
    if engine not in ENGINES:
        raise ParameterError(f"engine={engine!r} must be one of {list(ENGINES)}")
    cohort, ids = _cohort(randomisation, id, date)
    source = _panel(panel, person, week, code, engine)
    h = int(horizon_weeks)
    if engine == "pandas":
        from ipstrial.registers._pandas import facts as pandas_facts

        found = pandas_facts(source, cohort, codes, h, duplicates)
    else:
        from ipstrial.registers import _duckdb

        con = _duckdb.connect(threads, memory_limit)
        try:
            found = _duckdb.facts(source, cohort, codes, h, duplicates, con)
        except Exception as exc:  # noqa: BLE001 - a file DuckDB cannot read, named for the user
            import duckdb

            if isinstance(exc, duckdb.Error):
                raise ParameterError(
                    f"the panel could not be read ({' '.join(str(exc).split())[:300]}); check that the files "
                    f"are Parquet or CSV with the columns {person!r}, {week!r} and {code!r}"
                ) from None
            raise
        finally:
            con.close()
    _check(found, cohort, ids, codes, h, duplicates, id, week, code)
    return _result(found, cohort, ids, codes, h, duplicates, engine, id)


def _check(found: EngineFacts, cohort, ids, codes, h, duplicates, id, week, code) -> None:  # noqa: ANN001
    """Rule 9: every problem at once, each naming the participants, weeks or codes."""
    problems = []
    if found.n_bad_weeks:
        shown = ", ".join(f"{p} {w!r}" for p, w in found.bad_weeks[:5])
        what = f"{found.n_bad_weeks} rows of the participants have a week that is not an ISO week ({shown})"
        fix = "write weeks as YYYY-Www (2012-W05) with a week that exists in that ISO year"
        problems.append(Problem(week, what, fix, tuple(p for p, _ in found.bad_weeks)[:5], found.n_bad_weeks))
    if found.unknown_codes:
        listed = ", ".join(
            f"{c!r} ({n} rows)" for c, n in sorted(found.unknown_codes.items(), key=lambda x: -x[1])
        )
        problems.append(Problem(code, f"codes not in the code map {codes.name!r}: {listed}",
                                "add each code to the code map with its kind"))  # fmt: skip
    if found.n_conflicts and duplicates == "error":
        shown = "; ".join(f"{p} {w}: {list(c)}" for p, w, c in found.conflicts[:5])
        what = f"{found.n_conflicts} person-weeks have different codes ({shown})"
        fix = (
            "keep one code per person-week, or give duplicates='priority' (--duplicates priority) to take "
            "end > competing > work > education > benefit"
        )
        conflicted = tuple(p for p, _, _ in found.conflicts)[:5]
        problems.append(Problem(code, what, fix, conflicted, found.n_conflicts))
    if found.first_week is not None:
        first = _index(found.first_week)
        last = _index(found.last_week)
        before = cohort["week0"] < first
        after = cohort["week0"] > last
        for mask, what in ((before, f"before the panel's first week {found.first_week}"),
                           (after, f"after the panel's last week {found.last_week}")):  # fmt: skip
            if mask.any():
                fix = "give the panel that covers their follow-up, or check the randomisation dates"
                shown_ids = tuple(ids[mask.to_numpy()])[:5]
                problems.append(
                    Problem(id, f"participants randomised {what}", fix, shown_ids, int(mask.sum()))
                )
    else:
        problems.append(Problem(None, "the panel has no rows with an ISO week", "give the register panel"))
    if problems:
        raise TrialDataError(problems)


def _index(week: str) -> int:
    return (dt.date.fromisocalendar(int(week[:4]), int(week[6:8]), 1) - _EPOCH).days // 7


def _result(found, cohort, ids, codes, h, duplicates, engine, id) -> DerivedOutcomes:  # noqa: ANN001
    facts = found.facts.reset_index(drop=True)
    outcomes = outcomes_from_facts(facts, codes.benefits)
    frame = pd.concat(
        [
            pd.DataFrame({id: ids.to_numpy(), "randomisation_week": [iso_week(w) for w in cohort["week0"]]}),
            outcomes.reset_index(drop=True),
        ],
        axis=1,
    )
    last = _index(found.last_week)
    truncated_mask = (last - cohort["week0"].to_numpy() + 1) < h
    none_mask = facts["panel_rows"].to_numpy() == 0
    notes = []
    if none_mask.any():
        shown = ", ".join(ids[none_mask].tolist()[:5])
        notes.append(f"{int(none_mask.sum())} participants have no register rows (kept, every week without a "
                     f"code): {shown}")  # fmt: skip
    if truncated_mask.any():
        notes.append(
            f"{int(truncated_mask.sum())} participants' follow-up ends with the panel before week {h}"
        )
    if found.collapsed:
        notes.append(f"{found.collapsed} exact duplicate rows counted once")
    if found.n_conflicts:
        notes.append(f"{found.n_conflicts} person-weeks with different codes resolved by priority")
    return DerivedOutcomes(
        frame=frame,
        coverage=(found.first_week, found.last_week),
        no_register_rows=tuple(ids[none_mask]),
        truncated=tuple(ids[truncated_mask]),
        collapsed=found.collapsed,
        resolved=found.n_conflicts if duplicates == "priority" else 0,
        engine=engine,
        horizon_weeks=h,
        codes=codes,
        notes=tuple(notes),
    )
