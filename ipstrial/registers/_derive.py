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
from ipstrial.registers._rules import (
    EngineFacts,
    index_of,
    iso_weeks,
    outcomes_from_facts,
    week_indices,
)

ENGINES = ("duckdb", "pandas")
DUPLICATES = ("error", "priority")
FIRST_WEEK = ("containing", "next")
MAX_HORIZON = 5218  # 100 years of weeks
NO_ROWS_SHARE = 0.05
"""The share of participants without any panel row above which that is an error (ids that do not match)."""


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
    provenance: dict = field(default_factory=dict)
    """What the outcomes were derived from and how (:func:`provenance`), for the record beside them."""

    def summary(self) -> str:
        """What was derived and what the derivation met, in a few lines."""
        lines = [
            f"{len(self.frame)} participants, {self.horizon_weeks} weeks from the randomisation week "
            f"(panel {self.coverage[0]} to {self.coverage[1]}; engine {self.engine})",
            f"in work or education: {int(self.frame['in_work_or_education'].sum())}; competing exits: "
            f"{int((self.frame['event'] == 2).sum())}",
        ]
        return "\n".join(lines + list(self.notes))


def as_text(values: pd.Series) -> pd.Series:
    """Ids or codes as text, the same way for every engine and input: missing stays missing (``None``), a
    whole number stored as a float (``130.0``, as ``read_csv`` gives a numeric column with gaps) is written
    ``130``, leading and trailing spaces are removed, and an empty text is missing. Vectorised."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype=float)
        whole = ~missing & np.isfinite(numbers) & (numbers == np.floor(numbers))
        text = values.astype(str).to_numpy(dtype=object)
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        text = pd.Series(text, index=values.index, dtype=object)
    else:
        text = values.astype(object).astype(str)
    text = text.str.strip()
    return text.where(~missing & (text != ""), None).astype(object)


def _dates(values: pd.Series) -> pd.Series:
    """Randomisation dates: date or datetime values as they are (a time zone converted to Copenhagen's), text
    only as ISO ``YYYY-MM-DD`` (``01-02-2012`` is 1 February in Denmark and 2 January elsewhere: refused)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("Europe/Copenhagen").dt.tz_localize(None)
        return values.dt.normalize()
    text = values.astype(object).map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
    return pd.to_datetime(text.where(text.astype(str).str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None),
                          format="%Y-%m-%d", errors="coerce")  # fmt: skip


def _cohort(
    randomisation: pd.DataFrame, id: str, date: str, first_week: str
) -> tuple[pd.DataFrame, pd.Series]:
    """The cohort (person, week0) of the engines, checked: ids present and unique, dates valid."""
    if not isinstance(randomisation, pd.DataFrame):
        raise ParameterError(
            f"randomisation must be a DataFrame with the columns {id!r} and {date!r}; got "
            f"{type(randomisation).__name__}"
        )
    if len(randomisation) == 0:
        raise ParameterError("randomisation has no rows; give one row per randomised participant")
    missing = [c for c in (id, date) if c not in randomisation.columns]
    if missing:
        raise ParameterError(
            f"randomisation has no column {missing}; its columns are {list(randomisation.columns)}: name "
            "the id and date columns with id= and date= (--id, --date)"
        )
    ids = as_text(randomisation[id])
    problems = []
    if ids.isna().any():
        problems.append(Problem(id, "missing participant ids", "give every participant its register id",
                                count=int(ids.isna().sum())))  # fmt: skip
    text = ids.astype(str)
    twice = text[text.duplicated(keep=False) & ids.notna()]
    if len(twice):
        problems.append(Problem(id, "participant ids listed more than once", "list each participant once",
                                ids=tuple(sorted(set(twice)))[:5], count=len(set(twice))))  # fmt: skip
    dates = _dates(randomisation[date])
    bad = dates.isna()
    if bad.any():
        fix = "give dates as YYYY-MM-DD (ISO 8601; 01-02-2012 could be 1 February or 2 January)"
        problems.append(
            Problem(
                date, "missing or unreadable randomisation dates", fix, tuple(text[bad])[:5], int(bad.sum())
            )
        )
    if problems:
        raise TrialDataError(problems)
    week0 = week_indices(dates) + int(first_week == "next")
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
        if len({person, week, code}) < 3:
            raise ParameterError(
                f"person={person!r}, week={week!r} and code={code!r} must name three columns"
            )
        return pd.DataFrame(
            {
                "person": as_text(panel[person]).to_numpy(),
                "week": panel[week].astype(str).to_numpy(),
                "code": as_text(panel[code]).to_numpy(),
            }
        )
    if engine == "pandas":
        raise ParameterError(
            "engine='pandas' takes an in-memory panel only; files are read by engine='duckdb'"
        )
    items = [panel] if isinstance(panel, str | os.PathLike) else panel
    if (
        not isinstance(items, list | tuple)
        or not items
        or not all(isinstance(p, str | os.PathLike) for p in items)
    ):
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
    first_week: str = "containing",
    allow_no_register_rows: bool = False,
    allow_empty_weeks: bool = False,
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
        as ``'dream/*.parquet'``, or a list), read by DuckDB without loading the panel into memory. The files
        are read as CSV when every path ends in ``.csv`` or ``.csv.gz``, else as Parquet.
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
    first_week
        ``"containing"`` (default): week 1 is the ISO week of the randomisation date, days before the
        randomisation included; ``"next"``: week 1 is the ISO week after it, so that nothing before the
        randomisation counts (a participant in work that week is then not an event in week 1).
    allow_no_register_rows
        Participants without a single panel row are derived as "no code" every week (with ``no_code =
        "work"``: in work from week 1). That is usually ids that do not match (``101`` against ``0101``), so
        more than :data:`NO_ROWS_SHARE` of the participants without rows is an error unless this is True.
    allow_empty_weeks
        A week of the panel's coverage without a single row is an error unless this is True: a missing file
        or a mistyped week (``2099-W01``) would otherwise make unobserved weeks count as self-support.
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
    if first_week not in FIRST_WEEK:
        raise ParameterError(f"first_week={first_week!r} must be one of {list(FIRST_WEEK)}")
    if horizon_weeks > MAX_HORIZON:
        raise ParameterError(f"horizon_weeks={horizon_weeks} is more than {MAX_HORIZON} weeks (100 years)")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ParameterError(f"threads must be a whole number >= 1 (DuckDB's threads); got {threads!r}")
    cohort, ids = _cohort(randomisation, id, date, first_week)
    source = _panel(panel, person, week, code, engine)
    h = int(horizon_weeks)
    if engine == "pandas":
        from ipstrial.registers._pandas import facts as pandas_facts

        found = pandas_facts(source, cohort, codes, h, duplicates)
    else:
        import duckdb

        from ipstrial.registers import _duckdb

        try:
            con = _duckdb.connect(threads, memory_limit)
        except duckdb.Error as exc:
            raise ParameterError(
                f"memory_limit={memory_limit!r} is not a memory size such as '3GB' ({exc})"
            ) from None
        try:
            found = _duckdb.facts(source, cohort, codes, h, duplicates, con)
        except Exception as exc:  # noqa: BLE001 - a file DuckDB cannot read, named for the user
            if isinstance(exc, duckdb.Error):
                raise ParameterError(
                    f"the panel could not be read ({' '.join(str(exc).split())[:300]}); check that the files "
                    f"are Parquet or CSV with the columns {person!r}, {week!r} and {code!r}"
                ) from None
            raise
        finally:
            con.close()
    _check(found, cohort, ids, codes, duplicates, id, week, code, allow_no_register_rows, allow_empty_weeks)
    derived = _result(found, cohort, ids, codes, h, duplicates, engine, id, int(first_week == "next"))
    options = {
        "horizon_weeks": h,
        "first_week": first_week,
        "duplicates": duplicates,
        "allow_no_register_rows": bool(allow_no_register_rows),
        "allow_empty_weeks": bool(allow_empty_weeks),
        "engine": engine,
    }
    record = provenance(derived, source, randomisation[[id, date]], options)
    return DerivedOutcomes(**{**derived.__dict__, "provenance": record})


def _check(
    found: EngineFacts, cohort, ids, codes, duplicates, id, week, code, allow_none, allow_empty
) -> None:  # noqa: ANN001
    """Rule 9: every problem at once, each naming the participants, weeks or codes."""
    problems = []
    none = found.facts["panel_rows"].to_numpy() == 0
    if none.sum() > NO_ROWS_SHARE * len(none) and not allow_none:
        what = (
            f"{int(none.sum())} of {len(none)} participants have no row in the panel (more than "
            f"{NO_ROWS_SHARE:.0%}); they would count as '{codes.no_code}' in every week"
        )
        fix = (
            "check that the ids are written alike in both (0101 against 101, 101.0, spaces), or give "
            "allow_no_register_rows=True (--allow-no-register-rows) if they truly have no register rows"
        )
        problems.append(Problem(id, what, fix, tuple(ids[none])[:5], int(none.sum())))
    if found.n_ended_before:
        what = (
            f"{found.n_ended_before} participants' register rows end with a death or emigration code before "
            "their randomisation week, and they have no later row: they would count as no code every week"
        )
        fix = "check their randomisation dates and their register rows"
        problems.append(Problem(id, what, fix, tuple(found.ended_before)[:5], found.n_ended_before))
    if found.n_empty_weeks and not allow_empty:
        shown = ", ".join(found.empty_weeks[:5])
        what = (
            f"{found.n_empty_weeks} weeks between the panel's first ({found.first_week}) and last "
            f"({found.last_week}) week have no row at all ({shown}); their weeks would count as no code"
        )
        fix = (
            "check that no file of the panel is missing and that no week is mistyped, or give "
            "allow_empty_weeks=True (--allow-empty-weeks)"
        )
        problems.append(Problem(week, what, fix, (), found.n_empty_weeks))
    if found.n_bad_weeks:
        shown = ", ".join(f"{p} {w!r}" for p, w in found.bad_weeks[:5])
        what = f"{found.n_bad_weeks} rows of the participants have a week that is not an ISO week ({shown})"
        fix = "write weeks as YYYY-Www (2012-W05) with a week that exists in that ISO year"
        named = tuple(dict.fromkeys(p for p, _ in found.bad_weeks))[:5]
        problems.append(Problem(week, what, fix, named, found.n_bad_weeks))
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
        conflicted = tuple(dict.fromkeys(p for p, _, _ in found.conflicts))[:5]
        problems.append(Problem(code, what, fix, conflicted, found.n_conflicts))
    if found.first_week is not None:
        first = index_of(found.first_week)
        last = index_of(found.last_week)
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


def provenance(derived: DerivedOutcomes, source: object, randomisation: pd.DataFrame, options: dict) -> dict:
    """The record of a derivation: versions, options, the code map (with the SHA-256 of its canonical
    JSON), the panel (files with their sizes, or the frame's row count), the SHA-256 of the randomisation's
    ids and dates, the coverage and what was met. Everything but ``created_at`` is the same on a rerun."""
    import hashlib
    import importlib.metadata
    import json

    from ipstrial import __version__

    codes = derived.codes
    code_json = json.dumps(
        {
            "no_code": codes.no_code,
            "price_year": codes.price_year,
            "codes": [c.__dict__ for c in codes.codes],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    if isinstance(source, pd.DataFrame):
        panel = {"frame_rows": len(source)}
    else:
        files = sorted({f for p in source.paths for f in glob.glob(p)})
        panel = {"patterns": list(source.paths), "files": [[f, os.path.getsize(f)] for f in files]}
    rand_csv = randomisation.astype(str).to_csv(index=False, lineterminator="\n")
    versions = {"ipstrial": __version__, "pandas": pd.__version__}
    if options["engine"] == "duckdb":
        versions["duckdb"] = importlib.metadata.version("duckdb")
    return {
        "versions": versions,
        "options": options,
        "code_map": {
            "name": codes.name,
            "price_year": codes.price_year,
            "sha256": hashlib.sha256(code_json.encode()).hexdigest(),
        },
        "panel": panel,
        "randomisation_sha256": hashlib.sha256(rand_csv.encode()).hexdigest(),
        "coverage": list(derived.coverage),
        "participants": len(derived.frame),
        "no_register_rows": len(derived.no_register_rows),
        "truncated": len(derived.truncated),
        "collapsed": derived.collapsed,
        "resolved": derived.resolved,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _result(found, cohort, ids, codes, h, duplicates, engine, id, shift) -> DerivedOutcomes:  # noqa: ANN001
    facts = found.facts.reset_index(drop=True)
    outcomes = outcomes_from_facts(facts, codes.benefits)
    frame = pd.concat(
        [
            pd.DataFrame(
                {id: ids.to_numpy(), "randomisation_week": iso_weeks(cohort["week0"].to_numpy() - shift)}
            ),
            outcomes.reset_index(drop=True),
        ],
        axis=1,
    )
    last = index_of(found.last_week)
    # follow-up cut short by the panel's end (rule 4), not by an end code before it
    to_last = last - cohort["week0"].to_numpy() + 1
    first_end = facts["first_end"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
    truncated_mask = (to_last < h) & (to_last <= first_end - 1)
    frame["truncated"] = truncated_mask.astype(np.int64)
    frame["register_rows"] = facts["panel_rows"].astype(np.int64).to_numpy()
    unknown = truncated_mask & (frame["event"].to_numpy() == 0)  # censored by the panel's end: not known
    frame["in_work_or_education"] = frame["in_work_or_education"].astype("Int64").mask(unknown)
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
