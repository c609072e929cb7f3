"""Register outcomes at national scale: ``derive_outcomes`` on DuckDB over Parquet, and pandas in memory.

A synthetic DREAM-like national panel of ``P`` persons x 260 ISO weeks (2010-W01 to 2014-W52) is written as
Parquet (``FILES`` files) by DuckDB SQL alone, without the panel ever being in this process's memory: each
file is one ``COPY (SELECT ... FROM range(...)) TO ... (FORMAT parquet)`` over its persons' person-weeks,
every random choice a ``hash`` of (person, spell or week, ``SEED``, a salt), so a panel is the same on
every run. Columns ``person`` (``'P0000001'``), ``week`` (``'2012-W05'``) and ``code`` (text). Like DREAM:

* a person's weeks fall into spells of 10-30 weeks (boundaries every 20 weeks, each moved by -5..5 weeks,
  the grid shifted per person); each spell is self-support (no row) or one code of the synthetic code map
  (``ipstrial/registers/codes/synthetic.toml``: 111, 130, 890 benefits, 651 education, 521 flex job);
  one person in five is "marginal" (a spell is coded with probability 0.75, else 0.31), so about 60 % of
  the person-weeks have no row;
* 4 % of the persons go on disability pension (``783``) in a week drawn over the panel and stay on it
  (absorbing); 0.8 % die (``999``) or emigrate (``998``): that week has the code and later weeks no row.

The cohort is ``P / 10`` persons drawn at random (100,000 of the full 1,000,000), randomised on dates drawn
uniformly in 2011-2012, so their 78 weeks lie inside the panel.

Each measured derivation runs in a FRESH interpreter (``python bench_registers.py --child ...``) that reads
the cohort, imports ipstrial and runs one derivation; its peak memory is its own ``VmHWM`` (the high-water
resident set of ``/proc/self/status``, read at its end), which, unlike ``ru_maxrss``, does not count the
memory of this process that forked it (its DuckDB made the panel). So no measurement pollutes another.

* ``duckdb``: ``derive_outcomes(glob, randomisation, codes, 78, threads=2, memory_limit="3GB")`` on the
  Parquet files (the time of that call). The goal at full size: under 2 minutes and under 4 GB.
* ``pandas``, the plain approach: the whole panel loaded into a DataFrame (``duckdb.sql(...).df()``, the
  ``load`` time) and ``derive_outcomes(frame, ..., engine="pandas")`` (the ``derive`` time). ``seconds``
  is load + derive, since both engines start from the same Parquet files, and ``ratio`` (pandas / duckdb)
  uses it; ``derive ratio`` compares the derivation alone. Run where it fits: only if the peak memory of
  the largest pandas run so far (before any, 320 bytes a row), scaled by the rows, stays under 80 % of the
  memory available.
  Where both engines ran, their results (the frame, coverage, participants without rows, truncated
  follow-up, duplicates, notes) must be equal, or the benchmark fails.

``python benchmarks/bench_registers.py`` runs P = 50,000 and 200,000 (both engines, cohort 10 %) and the
full 1,000,000 (cohort 100,000) and prints the table; ``--quick`` P = 20,000 (under a minute); ``--sizes``
any; ``--dir`` keeps the panels in a folder (and reuses them); ``--shuffled`` writes each file's rows in a
random order (a panel that compresses far less: a harder scan); ``--profile`` also times each SQL statement
of the DuckDB derivation at the largest size. ``benchmarks/run.py`` prints one line per size (50,000 and
200,000; with ``--full`` also 1,000,000): ``ipstrial`` the DuckDB seconds, ``plain`` pandas load + derive.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _timing import line

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve()
SEED = 20240613
WEEKS = 260
FIRST_WEEK = (2010, 1)  # ISO 2010-W01
FILES = 16
HORIZON = 78
THREADS = 2
MEMORY_LIMIT = "3GB"
COHORT_SHARE = 10  # one person in ten is a participant
FULL_P = 1_000_000
SIZES = (50_000, 200_000, FULL_P)
RUN_SIZES = (50_000, 200_000)
QUICK_SIZES = (20_000,)
GOAL_SECONDS = 120.0
GOAL_BYTES = 4 * 10**9
FIT_SHARE = 0.8  # pandas runs at a larger size only if its scaled peak stays under this share of MemAvailable
PANDAS_BYTES_PER_ROW = 320  # the pandas run's peak per panel row measured here (200,000: 6.8 GB, 21 M rows)
GB = 10**9

# spell codes: of a coded spell, code by per-mille of a hash (benefits, education, flex job)
SPELL_CODES = (("111", 250), ("130", 250), ("890", 150), ("651", 170), ("521", 180))
CODED_PERMILLE = (310, 750)  # a spell is coded with this per-mille for ordinary / marginal persons
MARGINAL_PERCENT = 20
DISABILITY_PERMILLE = 40
END_PERMILLE = 8  # of which half died (999), half emigrated (998)


# -- the panel ----------------------------------------------------------------------------------------------
def week_strings(n: int = WEEKS, first: tuple[int, int] = FIRST_WEEK) -> list[str]:
    """The ``YYYY-Www`` of ``n`` consecutive ISO weeks from ``first``."""
    monday = dt.date.fromisocalendar(first[0], first[1], 1)
    out = []
    for i in range(n):
        year, week, _ = (monday + dt.timedelta(weeks=i)).isocalendar()
        out.append(f"{year}-W{week:02d}")
    return out


def _h(*parts: str) -> str:
    """SQL: a hash in 0..999 of the parts and the seed (deterministic)."""
    return f"(hash({', '.join(parts)}, {SEED}) % 1000)"


def panel_sql(p0: int, p1: int) -> str:
    """The SELECT of persons ``p0 .. p1 - 1``'s coded person-weeks (the module docstring's rules)."""
    weeks = "[" + ", ".join(f"'{w}'" for w in week_strings()) + "]"
    cases = []
    upper = 0
    for code, share in SPELL_CODES:
        upper += share
        cases.append(f"WHEN u2 < {upper} THEN '{code}'")
    spell_code = "CASE " + " ".join(cases) + " END"
    jitter = _h("p", "k0 + {d}", "'j'")
    grid = "(20 * (k0 + {d}) + " + jitter + " % 11 - 5)"  # the first (shifted) week of spell k0 + d
    return f"""
    WITH pw AS (
        SELECT i // {WEEKS} AS p, i % {WEEKS} AS w FROM range({p0 * WEEKS}, {p1 * WEEKS}) t(i)
    ), person AS (
        SELECT p, w,
               w + {_h("p", "'o'")} % 20 AS ws,
               CASE WHEN {_h("p", "'m'")} % 100 < {MARGINAL_PERCENT}
                    THEN {CODED_PERMILLE[1]} ELSE {CODED_PERMILLE[0]} END AS coded,
               CASE WHEN {_h("p", "'d'")} < {DISABILITY_PERMILLE} THEN {_h("p", "'dw'")} % {WEEKS} END AS dp,
               CASE WHEN {_h("p", "'e'")} < {END_PERMILLE} THEN {_h("p", "'ew'")} % {WEEKS} END AS ew,
               CASE WHEN {_h("p", "'ec'")} < 500 THEN '999' ELSE '998' END AS ec
        FROM pw
    ), spell AS (
        SELECT *, ws // 20 AS k0 FROM person
    ), spell2 AS (
        SELECT *, k0 - CAST(ws < {grid.format(d=0)} AS INTEGER) + CAST(ws >= {grid.format(d=1)} AS INTEGER)
                  AS k
        FROM spell
    ), coded AS (
        SELECT p, w, dp, ew, ec, {_h("p", "k", "'c'")} < coded AS has, {_h("p", "k", "'u'")} AS u2 FROM spell2
    )
    SELECT 'P' || lpad(CAST(p AS VARCHAR), 7, '0') AS person, {weeks}[w + 1] AS week,
           CASE WHEN w = ew THEN ec WHEN w >= dp THEN '783' ELSE {spell_code} END AS code
    FROM coded
    WHERE w = ew OR ((ew IS NULL OR w < ew) AND (w >= dp OR has))
    """


@dataclass(frozen=True)
class Panel:
    """A generated panel: its folder, persons, rows, bytes on disk and the seconds it took to write."""

    folder: Path
    persons: int
    files: int
    rows: int
    bytes: int
    seconds: float
    reused: bool = False
    shuffled: bool = False

    @property
    def glob(self) -> str:
        return str(self.folder / "*.parquet")


def make_panel(
    folder: Path, persons: int, files: int = FILES, threads: int = THREADS, shuffled: bool = False
) -> Panel:
    """Write the panel of ``persons`` persons into ``folder`` (made anew) as ``files`` Parquet files.

    The DuckDB that writes it streams each file's persons' person-weeks from ``range`` into the file
    (``memory_limit`` 2GB): the panel is never held in memory. Rows are person by person, week by week, as
    in a register extract; ``shuffled``: each file's rows in a random order (sorted by a hash, within the
    memory limit), which compresses far less and is slower to scan."""
    import duckdb

    marker = folder / "panel.json"
    if marker.exists():
        done = json.loads(marker.read_text())
        made = (done.get("seed"), done.get("persons"), done.get("sql"), done.get("shuffled"))
        if made == (SEED, persons, _sql_id(), shuffled):
            return Panel(
                folder, persons, done["files"], done["rows"], done["bytes"], done["seconds"], True, shuffled
            )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = max(1, min(files, persons))
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET memory_limit = '2GB'")
        con.execute("SET preserve_insertion_order = true")  # person-major, as a register extract
        order = f" ORDER BY hash(person, week, {SEED})" if shuffled else ""
        start = time.perf_counter()
        for f in range(files):
            p0, p1 = persons * f // files, persons * (f + 1) // files
            target = str(folder / f"dream_{f:03d}.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM ({panel_sql(p0, p1)}){order}) TO '{target}' (FORMAT parquet)")
        seconds = time.perf_counter() - start
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{folder / '*.parquet'}')").fetchone()[0]
    finally:
        con.close()
    size = sum(os.path.getsize(p) for p in glob.glob(str(folder / "*.parquet")))
    record = {
        "seed": SEED,
        "persons": persons,
        "files": files,
        "rows": int(rows),
        "bytes": size,
        "seconds": seconds,
        "sql": _sql_id(),
        "shuffled": shuffled,
    }
    marker.write_text(json.dumps(record))
    return Panel(folder, persons, files, int(rows), size, seconds, shuffled=shuffled)


def _sql_id() -> str:
    """A fingerprint of the generating SQL (a kept panel is reused only if it was made by the same SQL)."""
    import hashlib

    return hashlib.sha256(panel_sql(0, 1).encode()).hexdigest()[:16]


def make_cohort(persons: int, size: int, path: Path, panel_glob: str) -> int:
    """``size`` of the ``persons`` drawn at random, randomised on dates uniform in 2011-2012, to ``path``;
    those dead or emigrated (999, 998) before their randomisation week are left out, as no trial randomises
    them (``derive_outcomes`` refuses them). Returns the cohort's size."""
    import duckdb
    import numpy as np
    import pandas as pd

    from ipstrial.registers._rules import iso_week, week_index

    rng = np.random.default_rng(SEED)
    chosen = rng.choice(persons, size=size, replace=False)
    days = (dt.date(2012, 12, 31) - dt.date(2011, 1, 1)).days + 1
    dates = pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, days, size=size), unit="D")
    frame = pd.DataFrame(
        {
            "participant_id": [f"P{p:07d}" for p in chosen],
            "randomisation_date": dates.strftime("%Y-%m-%d"),
        }
    )
    ended = dict(
        duckdb.sql(
            f"SELECT person, min(week) FROM read_parquet('{panel_glob}') "
            "WHERE code IN ('998', '999') GROUP BY person"
        ).fetchall()
    )
    first_week = [iso_week(week_index(d.date())) for d in dates]
    alive = [
        ended.get(p) is None or ended[p] >= w
        for p, w in zip(frame["participant_id"], first_week, strict=True)
    ]
    frame = frame[alive].reset_index(drop=True)
    frame.to_pickle(path)
    return len(frame)


# -- the measured child -------------------------------------------------------------------------------------
def _vmhwm() -> int:
    """This process's peak resident set in bytes (``VmHWM`` of ``/proc/self/status``)."""
    with open("/proc/self/status") as status:
        for text in status:
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


class _Timed:
    """A DuckDB connection that adds each statement's seconds (execute and fetch) to ``spent``."""

    def __init__(self, con, spent: dict[str, float]) -> None:  # noqa: ANN001 - a DuckDB connection
        self._con, self._spent, self._label = con, spent, ""

    def execute(self, sql: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self._label = _label(sql)
        start = time.perf_counter()
        self._con.execute(sql, *args, **kwargs)
        self._add(start)
        return self

    def _add(self, start: float) -> None:
        self._spent[self._label] = self._spent.get(self._label, 0.0) + time.perf_counter() - start

    def _fetch(self, name: str):  # noqa: ANN202
        def fetch(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            start = time.perf_counter()
            out = getattr(self._con, name)(*args, **kwargs)
            self._add(start)
            return out

        return fetch

    def __getattr__(self, name: str):  # noqa: ANN204
        if name in ("fetchall", "fetchone", "df"):
            return self._fetch(name)
        return getattr(self._con, name)


def _label(sql: str) -> str:
    """A short name of a statement of the DuckDB engine."""
    text = " ".join(sql.split())
    for key, name in (
        ("SELECT min(week), max(week)", "coverage: min/max(week) over the whole panel"),
        ("WITH q AS", "facts: end, follow-up, first weeks, transfers"),
        ("TEMP TABLE rows", "rows: scan the panel, join the cohort, parse weeks"),
        ("SELECT ord, count(*) FROM rows", "panel rows per participant"),
        ("FROM rows WHERE NOT ok", "bad weeks"),
        ("TEMP TABLE win", "win: weeks 1..H"),
        ("LEFT JOIN codes k ON w.code = k.code WHERE", "unknown codes"),
        ("TEMP TABLE pw", "pw: group by person-week (rule 3)"),
        ("FROM pw", "duplicates and conflicts"),
    ):
        if key in text:
            return name
    return "other: " + text[:50]


def child(engine: str, panel_glob: str, cohort: str, out: str, profile: bool) -> None:
    """One derivation in this fresh interpreter; its figures (and the result) written to ``out``."""
    import pandas as pd

    randomisation = pd.read_pickle(cohort)
    from ipstrial.registers import _duckdb, derive_outcomes, synthetic_code_map

    codes = synthetic_code_map()
    report: dict[str, object] = {"engine": engine}
    if engine == "duckdb":
        spent: dict[str, float] = {}
        if profile:
            connect = _duckdb.connect
            _duckdb.connect = lambda *a, **k: _Timed(connect(*a, **k), spent)
        start = time.perf_counter()
        result = derive_outcomes(
            panel_glob, randomisation, codes, HORIZON, threads=THREADS, memory_limit=MEMORY_LIMIT
        )
        report["derive"] = time.perf_counter() - start
        report["load"] = 0.0
        report["statements"] = spent
    else:
        import duckdb

        start = time.perf_counter()
        con = duckdb.connect(":memory:")
        con.execute(f"SET threads = {THREADS}")
        frame = con.execute(f"SELECT person, week, code FROM read_parquet('{panel_glob}')").df()
        con.close()
        report["load"] = time.perf_counter() - start
        report["panel_bytes"] = int(frame.memory_usage(deep=False).sum())
        start = time.perf_counter()
        result = derive_outcomes(frame, randomisation, codes, HORIZON, engine="pandas")
        report["derive"] = time.perf_counter() - start
    report["peak"] = _vmhwm()
    report["participants"] = len(result.frame)
    with open(out + ".pkl", "wb") as fh:
        pickle.dump(_comparable(result), fh)
    Path(out).write_text(json.dumps(report))


def _comparable(result) -> dict[str, object]:  # noqa: ANN001 - a DerivedOutcomes
    return {
        "frame": result.frame,
        "coverage": result.coverage,
        "no_register_rows": result.no_register_rows,
        "truncated": result.truncated,
        "collapsed": result.collapsed,
        "resolved": result.resolved,
        "notes": result.notes,
    }


# -- measuring --------------------------------------------------------------------------------------------
@dataclass
class Result:
    """One derivation: ``load`` and ``derive`` seconds, peak resident bytes, or why it did not run."""

    persons: int
    rows: int
    cohort: int
    engine: str
    load: float | None = None
    derive: float | None = None
    peak: int | None = None
    skipped: str | None = None
    statements: dict[str, float] | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.derive is None else (self.load or 0.0) + self.derive


def _measure(
    engine: str, panel: Panel, cohort: Path, n: int, folder: Path, profile: bool = False
) -> tuple[Result, Path]:
    """Run one derivation in a fresh interpreter; its result, and the file of its output."""
    out = folder / f"{engine}_{panel.persons}.json"
    command = [sys.executable, str(HERE), "--child", engine, panel.glob, str(cohort), str(out)]
    if profile:
        command.append("--profile")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run(command, env=env, cwd=str(ROOT))
    if completed.returncode:
        how = (
            f"signal {-completed.returncode}" if completed.returncode < 0 else f"exit {completed.returncode}"
        )
        return Result(panel.persons, panel.rows, n, engine, skipped=f"failed ({how})"), out
    report = json.loads(out.read_text())
    return (
        Result(
            panel.persons,
            panel.rows,
            n,
            engine,
            report["load"],
            report["derive"],
            report["peak"],
            statements=report.get("statements") or None,
        ),
        out,
    )


def _same(a: Path, b: Path, what: str) -> None:
    """The two engines' results must be equal."""
    import pandas as pd

    with open(str(a) + ".pkl", "rb") as fa, open(str(b) + ".pkl", "rb") as fb:
        x, y = pickle.load(fa), pickle.load(fb)
    pd.testing.assert_frame_equal(x.pop("frame"), y.pop("frame"), check_exact=True, obj=f"{what} frame")
    if x != y:
        raise AssertionError(f"{what}: the engines differ: {x} vs {y}")


def _available() -> int:
    with open("/proc/meminfo") as info:
        for text in info:
            if text.startswith("MemAvailable:"):
                return int(text.split()[1]) * 1024
    return 0


def measure(
    sizes: tuple[int, ...] = SIZES,
    folder: Path | None = None,
    profile: bool = False,
    progress: Callable[[str], None] | None = None,
    shuffled: bool = False,
) -> tuple[list[Panel], list[Result]]:
    """Generate each size's panel and cohort, derive on DuckDB and (where it fits) pandas, check equality."""
    say = progress or (lambda text: None)
    panels: list[Panel] = []
    results: list[Result] = []
    keep = folder is not None
    base = Path(folder) if keep else Path(tempfile.mkdtemp(prefix="ipstrial_bench_registers_"))
    base.mkdir(parents=True, exist_ok=True)
    pandas_peak = (1, PANDAS_BYTES_PER_ROW)  # (rows, peak) of the largest pandas run so far
    try:
        for persons in sorted(sizes):
            panel = make_panel(
                base / f"panel_{persons}{'_shuffled' if shuffled else ''}", persons, shuffled=shuffled
            )
            panels.append(panel)
            made = "reused, made" if panel.reused else "made"
            say(
                f"P={persons:,}: {panel.rows:,} rows in {panel.files} files, {panel.bytes / 1e6:,.0f} MB "
                f"({made} in {panel.seconds:.1f} s)"
            )
            cohort_size = max(1, persons // COHORT_SHARE)
            cohort = base / f"cohort_{persons}.pkl"
            cohort_size = make_cohort(persons, cohort_size, cohort, panel.glob)
            last = profile and persons == max(sizes)
            duck, duck_out = _measure("duckdb", panel, cohort, cohort_size, base, last)
            results.append(duck)
            say(_progress(duck))
            need = pandas_peak[1] * panel.rows / pandas_peak[0]
            if need > FIT_SHARE * _available():
                why = f"would need ~{need / GB:.0f} GB, {_available() / GB:.0f} GB available"
                results.append(Result(persons, panel.rows, cohort_size, "pandas", skipped=f"not run: {why}"))
                say(f"P={persons:,} pandas {results[-1].skipped}")
                continue
            plain, plain_out = _measure("pandas", panel, cohort, cohort_size, base)
            results.append(plain)
            say(_progress(plain))
            if plain.peak is not None:
                pandas_peak = (panel.rows, plain.peak)
                if duck.peak is not None:
                    _same(duck_out, plain_out, f"P={persons:,}")
                    say(f"P={persons:,}: the DuckDB and pandas results are equal")
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    return panels, results


def _progress(r: Result) -> str:
    if r.skipped:
        return f"P={r.persons:,} {r.engine}: {r.skipped}"
    load = f"load {r.load:.1f} s + " if r.engine == "pandas" else ""
    return f"P={r.persons:,} {r.engine}: {load}derive {r.derive:.1f} s, peak {r.peak / GB:.2f} GB"


def _pair(results: list[Result], r: Result) -> Result | None:
    """The DuckDB result of the same size as the pandas ``r``."""
    return next((x for x in results if x.persons == r.persons and x.engine == "duckdb" and x.derive), None)


def table(panels: list[Panel], results: list[Result]) -> list[str]:
    """The panels, then one row per derivation: P, rows, cohort, engine, seconds, peak RSS GB, ratio."""
    out = []
    for p in panels:
        made = "reused; made" if p.reused else "made"
        layout = "rows in a random order" if p.shuffled else "rows by person and week"
        share = p.rows / (p.persons * WEEKS)
        out.append(
            f"panel P={p.persons:,}: {p.rows:,} rows ({share:.1%} of the person-weeks), {p.files} Parquet "
            f"files ({layout}), {p.bytes / 1e6:,.1f} MB, {made} in {p.seconds:.1f} s"
        )
    head = (
        "P",
        "rows",
        "cohort",
        "engine",
        "load s",
        "derive s",
        "seconds",
        "peak RSS GB",
        "ratio",
        "derive ratio",
    )
    rows: list[tuple[str, ...]] = [head]
    for r in results:
        first = (f"{r.persons:,}", f"{r.rows:,}", f"{r.cohort:,}", r.engine)
        if r.skipped:
            rows.append(first)  # the reason follows the first four columns
            continue
        duck = _pair(results, r) if r.engine == "pandas" else None
        rows.append(
            (
                *first,
                f"{r.load:.1f}" if r.engine == "pandas" else "-",
                f"{r.derive:.1f}",
                f"{r.seconds:.1f}",
                f"{r.peak / GB:.2f}",
                "" if duck is None else f"{r.seconds / duck.seconds:.1f}x",
                "" if duck is None else f"{r.derive / duck.derive:.1f}x",
            )
        )
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(head))]
    reasons = iter(r.skipped for r in results if r.skipped)
    for row in rows:
        cells = "  ".join(
            c.ljust(w) if i == 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))
        )
        out.append(cells.rstrip() if len(row) == len(head) else f"{cells}  {next(reasons)}")
    out.insert(len(panels) + 1, "  ".join("-" * w for w in widths))
    out.append(
        "seconds: pandas load + derive (both engines start from the same Parquet files); ratio = pandas "
        "seconds / duckdb seconds; derive ratio = the derivations alone; peak RSS in GB of 10^9 bytes "
        "(VmHWM of the fresh process)"
    )
    for r in results:
        if r.engine == "duckdb" and r.derive is not None and r.persons == FULL_P:
            ok = r.derive < GOAL_SECONDS and r.peak < GOAL_BYTES
            out.append(
                f"goal at P={FULL_P:,} (under {GOAL_SECONDS:.0f} s and {GOAL_BYTES / GB:.0f} GB): "
                f"{'met' if ok else 'NOT met'}"
            )
        if r.statements:
            out.append(
                f"where DuckDB's {r.derive:.1f} s went at P={r.persons:,} (its SQL statements, execute and "
                "fetch):"
            )
            spent = sorted(r.statements.items(), key=lambda x: -x[1])
            small = [(name, s) for name, s in spent if name.startswith("other: ")]
            for name, s in spent:
                if not name.startswith("other: "):
                    out.append(f"  {s:6.2f} s  {name}")
            if small:
                out.append(
                    f"  {sum(s for _, s in small):6.2f} s  {len(small)} other statements (set-up, drops)"
                )
            rest = r.derive - sum(r.statements.values())
            out.append(f"  {rest:6.2f} s  outside SQL (checks, the cohort, the outcome frame)")
    return out


def run(full: bool = False) -> list[str]:
    panels, results = measure(SIZES if full else RUN_SIZES)
    lines = []
    for p in panels:
        duck = next(r for r in results if r.persons == p.persons and r.engine == "duckdb")
        plain = next(r for r in results if r.persons == p.persons and r.engine == "pandas")
        if duck.derive is None:
            lines.append(f"registers_{p.persons} failed: duckdb {duck.skipped}")
            continue
        note = (
            f"{p.rows:,} Parquet rows, cohort {duck.cohort:,}, 78 weeks; duckdb threads=2 peak "
            f"{duck.peak / GB:.2f} GB"
        )
        if plain.derive is None:
            note += f"; pandas {plain.skipped}"
        else:
            note += (
                f"; plain = pandas load {plain.load:.1f} s + derive {plain.derive:.1f} s, peak "
                f"{plain.peak / GB:.2f} GB, results equal"
            )
        lines.append(line(f"registers_{p.persons}", duck.derive, plain.seconds, note))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"P = {QUICK_SIZES[0]:,} only (under a minute)")
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        help="comma-separated numbers of persons (default 50000,200000,1000000)",
    )
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the panels in this folder")
    parser.add_argument(
        "--shuffled", action="store_true", help="each file's rows in a random order (not person by person)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="time each SQL statement of the DuckDB derivation at the largest size",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("ENGINE", "GLOB", "COHORT", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child, profile=args.profile)
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    panels, results = measure(
        sizes,
        args.dir,
        args.profile,
        progress=lambda t: print(t, file=sys.stderr, flush=True),
        shuffled=args.shuffled,
    )
    print(
        f"register outcomes, {HORIZON} weeks, on {os.cpu_count()} CPUs, "
        f"{_total_memory() / 2**30:.0f} GiB RAM, {dt.date.today()}"
    )
    for text in table(panels, results):
        print(text)
    return 0


def _total_memory() -> int:
    with open("/proc/meminfo") as info:
        for text in info:
            if text.startswith("MemTotal:"):
                return int(text.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
