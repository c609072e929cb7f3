"""The DuckDB engine of :mod:`ipstrial.registers`: the rules of :mod:`._rules` as one SQL pipeline.

The panel is a DataFrame or Parquet/CSV files (one, many, a glob), read by DuckDB without loading the panel
into memory: it is joined to the cohort on the person id first, so that only the participants' rows are
parsed and grouped. The weeks present in the panel are found by one scan of its week column (``SELECT
DISTINCT``: a few hundred texts), and checked and indexed on their own: they give the coverage (the first
and last valid week) and the empty weeks of rule 2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ipstrial.registers._codes import CodeMap
from ipstrial.registers._rules import MAX_LISTED, EngineFacts, iso_week

_VALID = (
    "coalesce(regexp_full_match({w}, '[0-9]{{4}}-W[0-9]{{2}}') "
    "AND TRY_CAST(substr({w}, 1, 4) AS INTEGER) >= 1 AND TRY_CAST(substr({w}, 7, 2) AS INTEGER) "
    "BETWEEN 1 AND week(make_date(TRY_CAST(substr({w}, 1, 4) AS INTEGER), 12, 28)), false)"
)
"""SQL: ``w`` is an ISO week ``YYYY-Www`` (the week of 28 December is the ISO year's last week); TRY_CAST,
as DuckDB may evaluate the casts of a text that fails the pattern."""
_INDEX = (
    "(datediff('day', DATE '1970-01-05', make_date(CAST(substr({w}, 1, 4) AS INTEGER), 1, 4)) "
    "- isodow(make_date(CAST(substr({w}, 1, 4) AS INTEGER), 1, 4)) + 1) // 7 "
    "+ CAST(substr({w}, 7, 2) AS INTEGER) - 1"
)
"""SQL: the week index (rule 1) of a valid ``w``: the Monday of week 1 of its ISO year (4 January minus its
ISO weekday plus one), in weeks from 1970-01-05, plus the week number minus one."""


@dataclass(frozen=True)
class PanelFiles:
    """A panel in files: ``paths`` (Parquet or CSV, globs allowed) and the names of its three columns."""

    paths: tuple[str, ...]
    person: str
    week: str
    code: str

    def source(self) -> str:
        """The SQL table function that reads the files (CSV when every path ends in .csv or .csv.gz)."""
        files = "[" + ", ".join(_quote(p) for p in self.paths) + "]"
        if all(p.lower().endswith(".csv") or p.lower().endswith(".csv.gz") for p in self.paths):
            return f"read_csv({files}, all_varchar = true, header = true)"
        return f"read_parquet({files})"

    def relation(self, con) -> str:  # noqa: ANN001 - a DuckDB connection
        """The SQL that reads the files as ``(person, week, code)`` text columns, ids and codes written as
        :func:`ipstrial.registers._derive.as_text` writes them (trimmed, empty as missing, a whole float as an
        integer); a missing column is an error naming the files' columns."""
        from ipstrial.errors import ParameterError

        types = {
            name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {self.source()}").fetchall()
        }
        missing = [c for c in (self.person, self.week, self.code) if c not in types]
        if missing:
            raise ParameterError(
                f"the panel files have no column {missing}; their columns are {list(types)}: name them with "
                "person=, week= and code= (--person, --week, --code)"
            )

        def text(name: str) -> str:
            c = _ident(name)
            if types[name] in ("DOUBLE", "FLOAT", "REAL") or types[name].startswith("DECIMAL"):
                whole = f"CAST(CAST({c} AS BIGINT) AS VARCHAR)"
                return f"CASE WHEN {c} = floor({c}) THEN {whole} ELSE CAST({c} AS VARCHAR) END"
            return f"NULLIF(trim(CAST({c} AS VARCHAR)), '')"

        return (
            f"SELECT {text(self.person)} AS person, CAST({_ident(self.week)} AS VARCHAR) AS week, "
            f"{text(self.code)} AS code FROM {self.source()}"
        )


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def connect(threads: int | None = None, memory_limit: str | None = None):  # noqa: ANN201 - a DuckDB connection
    """A new in-memory DuckDB connection (``threads`` default: the machine's cores)."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {_quote(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")
    return con


def facts(
    panel: pd.DataFrame | PanelFiles,
    cohort: pd.DataFrame,
    codes: CodeMap,
    horizon: int,
    duplicates: str,
    con=None,  # noqa: ANN001 - a DuckDB connection
) -> EngineFacts:
    """The facts of every cohort participant by the rules of :mod:`._rules` (the engine contract there)."""
    own = con is None
    con = connect() if own else con
    try:
        return _facts(con, panel, cohort, codes, horizon, duplicates)
    finally:
        if own:
            con.close()


def _codes_frame(codes: CodeMap) -> pd.DataFrame:
    rank = codes.priority()
    return pd.DataFrame(
        {
            "code": [c.code for c in codes.codes],
            "kind": [c.kind for c in codes.codes],
            "rank": [rank[c.code] for c in codes.codes],
            "benefit": [c.benefit for c in codes.codes],
            "rate": [c.weekly_rate for c in codes.codes],
        }
    )


def _facts(con, panel, cohort: pd.DataFrame, codes: CodeMap, horizon: int, duplicates: str) -> EngineFacts:  # noqa: ANN001
    cohort_frame = pd.DataFrame(
        {
            "ord": range(len(cohort)),
            "person": cohort["person"].astype(str).to_numpy(),
            "week0": cohort["week0"],
        }
    )
    con.register("cohort_df", cohort_frame)
    con.register("codes_df", _codes_frame(codes))
    con.execute("CREATE OR REPLACE TEMP TABLE cohort AS SELECT * FROM cohort_df")
    con.execute("CREATE OR REPLACE TEMP TABLE codes AS SELECT * FROM codes_df")
    if isinstance(panel, PanelFiles):
        source = f"({panel.relation(con)})"
    else:
        frame = panel[["person", "week", "code"]]
        con.register("panel_df", frame)
        source = "(SELECT CAST(person AS VARCHAR) AS person, CAST(week AS VARCHAR) AS week, "
        source += "CAST(code AS VARCHAR) AS code FROM panel_df)"
    # the weeks present: one scan of the week column; they are few, so they are checked here (rule 1)
    texts = [
        w for (w,) in con.execute(f"SELECT DISTINCT week FROM {source} WHERE week IS NOT NULL").fetchall()
    ]
    checked = con.execute(
        f"SELECT w, {_INDEX.format(w='w')} FROM (SELECT unnest(?::VARCHAR[]) AS w) "
        f"WHERE {_VALID.format(w='w')}",
        [texts],
    ).fetchall()
    weeks = sorted(int(i) for _, i in checked)
    first_week = last_week = None
    n_empty = 0
    empty: list[str] = []
    if weeks:
        first_week, last_week = iso_week(weeks[0]), iso_week(weeks[-1])
        n_empty = weeks[-1] - weeks[0] + 1 - len(weeks)
        if n_empty:
            present = set(weeks)
            empty = [iso_week(i) for i in range(weeks[0], weeks[-1] + 1) if i not in present][:MAX_LISTED]
    last_index = None
    if last_week is not None:
        last_index = con.execute(f"SELECT {_INDEX.format(w=_quote(last_week))}").fetchone()[0]
    h = int(horizon)
    # the participants' rows, with their week parsed once
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rows AS
        SELECT c.ord, c.person, c.week0, p.week, NULLIF(trim(p.code), '') AS code,
               {_VALID.format(w="p.week")} AS ok
        FROM {source} p JOIN cohort c ON p.person = c.person"""
    )
    counts = dict(con.execute("SELECT ord, count(*) FROM rows GROUP BY ord").fetchall())
    bad = con.execute(
        f"SELECT DISTINCT person, week FROM rows WHERE NOT ok ORDER BY person, week LIMIT {MAX_LISTED}"
    ).fetchall()
    n_bad = con.execute("SELECT count(*) FROM rows WHERE NOT ok").fetchone()[0]
    ended = con.execute(
        f"""WITH r AS (SELECT ord, person, {_INDEX.format(w="week")} - week0 + 1 AS rel, code
                       FROM rows WHERE ok),
        last AS (SELECT ord, max(rel) AS rel FROM r WHERE rel <= 0 GROUP BY ord),
        hit AS (SELECT DISTINCT r.ord, r.person FROM r JOIN last l ON r.ord = l.ord AND r.rel = l.rel
                JOIN codes k ON r.code = k.code WHERE k.kind = 'end'),
        seen AS (SELECT DISTINCT ord FROM r WHERE rel BETWEEN 1 AND {int(horizon)})
        SELECT h.person FROM hit h LEFT JOIN seen s ON h.ord = s.ord WHERE s.ord IS NULL ORDER BY h.person"""
    ).fetchall()
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE win AS
        SELECT ord, person, week, code, {_INDEX.format(w="week")} - week0 + 1 AS rel
        FROM rows WHERE ok AND {_INDEX.format(w="week")} - week0 + 1 BETWEEN 1 AND {h}"""
    )
    unknown = dict(
        con.execute(
            "SELECT w.code, count(*) FROM win w LEFT JOIN codes k ON w.code = k.code "
            "WHERE w.code IS NOT NULL AND k.code IS NULL GROUP BY w.code ORDER BY w.code"
        ).fetchall()
    )
    # one code per person-week: exact duplicates collapsed, conflicts counted (and resolved by rank)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE pw AS
        SELECT w.ord, any_value(w.person) AS person, any_value(w.week) AS week, w.rel,
               count(*) AS n_rows, count(DISTINCT coalesce(w.code, '')) AS n_codes,
               list(DISTINCT coalesce(w.code, '') ORDER BY coalesce(w.code, '')) AS all_codes,
               arg_min(w.code, {'rank': coalesce(k.rank, CASE WHEN w.code IS NULL THEN 2000000000
                                ELSE 1000000000 END), 'code': coalesce(w.code, '')}) AS code
        FROM win w LEFT JOIN codes k ON w.code = k.code
        GROUP BY w.ord, w.rel"""
    )
    collapsed = con.execute("SELECT coalesce(sum(n_rows - n_codes), 0) FROM pw").fetchone()[0]
    n_conflicts = con.execute("SELECT count(*) FROM pw WHERE n_codes > 1").fetchone()[0]
    conflicts = [
        (person, week, tuple(all_codes))
        for person, week, all_codes in con.execute(
            "SELECT person, week, all_codes FROM pw WHERE n_codes > 1 ORDER BY person, week "
            f"LIMIT {MAX_LISTED}"
        ).fetchall()
    ]
    benefits = codes.benefits
    last = "NULL" if last_index is None else f"{int(last_index)} - c.week0 + 1"
    work = "'work', 'education'"
    no_code_work = codes.no_code == "work"
    transfer_sums = ", ".join(
        f"coalesce(sum(k.rate) FILTER (WHERE k.benefit = {_quote(b)} AND q.rel <= t.t), 0) "
        f"AS {_ident('transfers_' + b)}"
        for b in benefits
    )
    transfer_sums = (", " + transfer_sums) if transfer_sums else ""
    money_columns = "".join(f", m.{_ident('transfers_' + b)}" for b in benefits)
    query = f"""
    WITH q AS (SELECT p.ord, p.rel, p.code, k.kind FROM pw p LEFT JOIN codes k ON p.code = k.code),
    ends AS (SELECT ord, min(rel) AS e FROM q WHERE kind = 'end' GROUP BY ord),
    t AS (
        SELECT c.ord, e.e,
               greatest(0, least({h}, coalesce(e.e - 1, {h}), coalesce({last}, {h}))) AS t
        FROM cohort c LEFT JOIN ends e ON c.ord = e.ord
    ),
    coded AS (
        SELECT q.ord, q.rel, q.kind, lead(q.rel) OVER (PARTITION BY q.ord ORDER BY q.rel) AS next_rel
        FROM q JOIN t ON q.ord = t.ord WHERE q.code IS NOT NULL AND q.rel <= t.t
    ),
    agg AS (
        SELECT ord, count(*) AS coded_weeks,
               count(*) FILTER (WHERE kind IN ({work})) AS coded_work,
               min(rel) FILTER (WHERE kind IN ({work})) AS first_coded_work,
               min(rel) FILTER (WHERE kind = 'competing') AS first_competing,
               min(rel) AS first_coded,
               min(rel + 1) FILTER (WHERE next_rel IS NULL OR next_rel > rel + 1) AS gap_after
        FROM coded GROUP BY ord
    ),
    money AS (
        SELECT t.ord {transfer_sums}
        FROM t LEFT JOIN q ON q.ord = t.ord AND q.code IS NOT NULL
               LEFT JOIN codes k ON q.code = k.code
        GROUP BY t.ord
    )
    SELECT t.ord, t.e AS first_end, a.first_competing, a.first_coded_work,
           CASE WHEN a.first_coded IS NULL OR a.first_coded > 1 THEN 1 ELSE a.gap_after END AS first_gap,
           t.t AS followup_weeks, coalesce(a.coded_weeks, 0) AS coded_weeks,
           coalesce(a.coded_work, 0) AS coded_work {money_columns}
    FROM t LEFT JOIN agg a ON t.ord = a.ord LEFT JOIN money m ON t.ord = m.ord
    ORDER BY t.ord
    """
    raw = con.execute(query).df()
    for name in ("rows", "win", "pw", "cohort", "codes"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    t = raw["followup_weeks"].astype("int64")
    first_gap = raw["first_gap"].astype("Int64")
    first_gap = (
        first_gap.where(first_gap <= t) if no_code_work else pd.Series(pd.NA, index=raw.index, dtype="Int64")
    )
    coded_work = raw["first_coded_work"].astype("Int64")
    first_work = pd.concat([coded_work, first_gap], axis=1).min(axis=1, skipna=True).astype("Int64")
    coded_weeks = raw["coded_weeks"].astype("int64")
    weeks_work = raw["coded_work"].astype("int64") + ((t - coded_weeks) if no_code_work else 0)
    out = pd.DataFrame(
        {
            "person": cohort_frame["person"].to_numpy(),
            "panel_rows": [int(counts.get(i, 0)) for i in range(len(cohort_frame))],
            "first_end": raw["first_end"].astype("Int64").to_numpy(),
            "first_competing": raw["first_competing"].astype("Int64").to_numpy(),
            "first_work": first_work.to_numpy(),
            "followup_weeks": t.to_numpy(),
            "weeks_work": weeks_work.astype("int64").to_numpy(),
            "coded_weeks": coded_weeks.to_numpy(),
        }
    )
    for name in ("first_end", "first_competing", "first_work"):
        out[name] = out[name].astype("Int64")
    out["panel_rows"] = out["panel_rows"].astype("int64")
    for b in benefits:
        out[f"transfers_{b}"] = raw[f"transfers_{b}"].astype(float).to_numpy()
    unknown_codes = {str(k): int(v) for k, v in unknown.items()}
    bad_weeks = [(str(p), str(w)) for p, w in bad]
    return EngineFacts(
        out, first_week, last_week, bad_weeks, int(n_bad), unknown_codes, conflicts, int(n_conflicts),
        int(collapsed), empty, int(n_empty), sorted({str(p) for (p,) in ended})[:MAX_LISTED], len(ended),
    )  # fmt: skip


def panel_files(
    paths: str | os.PathLike | Sequence[str | os.PathLike], person: str, week: str, code: str
) -> PanelFiles:
    """A :class:`PanelFiles` of one path, a glob or several."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    return PanelFiles(tuple(str(p) for p in items), person, week, code)
