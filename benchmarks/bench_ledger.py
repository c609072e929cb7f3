"""Allocation ledger: allocations per second on SQLite and PostgreSQL, from one process and from eight.

Each measurement allocates ``N`` participants (2,000; 300 with ``--quick``) into a new, empty ledger:

* 1 process: one process allocates all ``N`` in a row, one ``Ledger.allocate`` (one transaction under the
  writer lock) each;
* 8 processes: eight processes (``multiprocessing``, spawned) each open the ledger, wait behind one Barrier
  and then allocate their ``N / 8`` as fast as they can, all competing for the writer lock.

The time is from the Barrier's release to the last allocation's return (opening the ledger and starting the
processes are not timed). Two designs, three arms 1:1:1 with the factors site (4) x sex (2): stratified blocks
of 3 and 6 (``LedgerDesign("BENCH", ..., [3, 6], factors)``) and minimization (range, p = 0.8), whose draw
reads the counts of every level of the participant's factors. Each figure is the median of ``REPEAT`` (3) new
ledgers, and every ledger is verified with the key afterwards (``Ledger.open(db).verify(key)`` must be ok and
hold ``N`` rows), so each figure is of a correct ledger.

Allocations are serialised by the ledger's single writer lock, so more processes cannot allocate faster; the
8-process figure shows what the contention costs. SQLite is a file in a temporary folder (``synchronous =
FULL``: much of its time is the disk's fsync, so the figures vary with the disk and its other load).
PostgreSQL is the server of ``--postgresql URL`` or ``IPSTRIAL_TEST_POSTGRESQL`` (a user who may create
databases: each ledger is a new database, dropped after); with neither, a throw-away server is started with
``.ci/postgres`` on a free port and stopped after, and without the server binaries (or psycopg) PostgreSQL is
skipped.

``python benchmarks/bench_ledger.py [--quick] [--postgresql URL]`` prints the table; ``benchmarks/run.py``
prints one line per measurement (``plain=n/a``: there is no plain approach to compare with).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _timing import line

from ipstrial.ledger import Ledger, LedgerDesign

ROOT = Path(__file__).resolve().parents[1]
N = 2_000
QUICK_N = 300
REPEAT = 3
PROCESSES = (1, 8)
ARMS = ["IPS", "IPSE", "SAU"]
SITES = ["Copenhagen", "Odense", "Aarhus", "Aalborg"]
FACTORS = {"site": SITES, "sex": ["F", "M"]}
DESIGNS = {
    "stratified_blocks": LedgerDesign("BENCH", ARMS, [3, 6], FACTORS),
    "minimization": LedgerDesign("BENCH", ARMS, factors=FACTORS, scheme="minimization"),
}
WAIT_S = 1_800
"""How long a measurement may take before its processes are stopped and the benchmark fails."""


@dataclass(frozen=True)
class Result:
    """One measurement: the median seconds of ``runs`` (each of ``allocations`` allocations)."""

    backend: str
    scheme: str
    processes: int
    allocations: int
    runs: tuple[float, ...]

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def rate(self) -> float:
        return self.allocations / self.seconds


# -- the allocating processes -----------------------------------------------------------------------------
def _strata(i: int) -> dict[str, str]:
    """The factor values of a worker's ``i``-th participant: every site x sex cell in turn."""
    return {"site": SITES[i % len(SITES)], "sex": FACTORS["sex"][(i // len(SITES)) % 2]}


def _worker(db: str, key: str, w: int, count: int, barrier, times) -> None:  # noqa: ANN001 - mp objects
    with Ledger.open(db, key) as ledger:
        barrier.wait(timeout=120)
        start = time.perf_counter()
        for i in range(count):
            ledger.allocate(f"W{w}-{i:05d}", _strata(i + w), by=f"bench{w}")
        times[2 * w], times[2 * w + 1] = start, time.perf_counter()


def _allocate(db: str, key: Path, processes: int, n: int) -> float:
    """Seconds for ``processes`` processes to allocate ``n`` participants in all, from the Barrier on."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    times = ctx.Array("d", 2 * processes)  # each worker's start and end (perf_counter is system-wide)
    counts = [n // processes + (w < n % processes) for w in range(processes)]
    procs = [
        ctx.Process(target=_worker, args=(db, str(key), w, counts[w], barrier, times))
        for w in range(processes)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + WAIT_S
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join()
    codes = [p.exitcode for p in procs]
    if codes != [0] * processes:
        raise RuntimeError(f"the allocating processes exited with {codes} (see their tracebacks above)")
    return max(times[1::2]) - min(times[0::2])


# -- the backends ---------------------------------------------------------------------------------------
class _Sqlite:
    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def new(self) -> str:
        return str(self._folder / f"bench_{uuid.uuid4().hex[:12]}.db")

    def drop(self, db: str) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)


class _Postgres:
    name = "postgresql"

    def __init__(self, admin: str) -> None:
        self._admin = admin

    def _url(self, dbname: str) -> str:
        parts = urlsplit(self._admin)
        return urlunsplit(parts._replace(path=f"/{dbname}"))

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self._admin, autocommit=True, connect_timeout=10) as con:
            con.execute(statement)

    def new(self) -> str:
        name = f"ipstrial_bench_{uuid.uuid4().hex[:12]}"
        self._sql(f"CREATE DATABASE {name}")
        return self._url(name)

    def drop(self, db: str) -> None:
        self._sql(f"DROP DATABASE IF EXISTS {urlsplit(db).path.lstrip('/')} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgresql(url: str | None = None) -> Iterator[tuple[str | None, str]]:
    """``(admin URL, how)`` of the PostgreSQL server to measure on, or ``(None, why it is skipped)``.

    ``url``, else ``IPSTRIAL_TEST_POSTGRESQL``, else a throw-away server started with ``.ci/postgres`` in a
    temporary folder on a free port and stopped (and removed) on exit.
    """
    try:
        import psycopg  # noqa: F401 - only whether the driver is there
    except ImportError:
        yield None, "psycopg is not installed (pip install 'ipstrial[postgresql]')"
        return
    url = url or os.environ.get("IPSTRIAL_TEST_POSTGRESQL")
    if url:
        yield url, "the given server"
        return
    folder = Path(tempfile.mkdtemp(prefix="ipstrial_bench_pg_"))
    folder.chmod(0o755)  # as root, .ci/postgres runs the server as 'postgres', who must reach its folder
    data = folder / "data"
    script = str(ROOT / ".ci" / "postgres")
    try:
        started = subprocess.run(
            [script, "start", str(data), str(_free_port())], capture_output=True, text=True, timeout=120
        )
        if started.returncode:
            message = " ".join((started.stderr or started.stdout).split())
            if "no PostgreSQL server binaries" in message:
                yield None, message
                return
            raise RuntimeError(f".ci/postgres start failed ({started.returncode}): {message}")
        try:
            yield started.stdout.strip().splitlines()[-1], "a throw-away server (.ci/postgres)"
        finally:
            subprocess.run([script, "stop", str(data)], capture_output=True, timeout=120)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- measuring --------------------------------------------------------------------------------------------
def _once(backend: _Sqlite | _Postgres, keys: Path, scheme: str, processes: int, n: int) -> float:
    """Allocate ``n`` into a new ledger, verify it with the key, drop it; the seconds the allocations took."""
    db = backend.new()
    key = keys / f"{uuid.uuid4().hex[:12]}.key"
    try:
        Ledger.init(db, DESIGNS[scheme], key, by="bench").close()
        seconds = _allocate(db, key, processes, n)
        with Ledger.open(db) as ledger:
            report = ledger.verify(key)
        if not report.ok or report.rows != n:
            raise AssertionError(
                f"the {backend.name} {scheme} ledger of {processes} processes is not correct "
                f"({report.rows} rows, {n} allocated):\n{report.summary()}"
            )
    finally:
        backend.drop(db)
        key.unlink(missing_ok=True)
    return seconds


def measure(
    n: int = N,
    postgresql_url: str | None = None,
    repeat: int = REPEAT,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Result], dict[str, str]]:
    """Every measurement (backend x scheme x processes), and the backends skipped with the reason."""
    results: list[Result] = []
    skipped: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="ipstrial_bench_ledger_") as tmp,
        postgresql(postgresql_url) as pg,
    ):
        folder = Path(tmp)
        admin, how = pg
        backends: list[_Sqlite | _Postgres] = [_Sqlite(folder)]
        if admin is None:
            skipped["postgresql"] = how
        else:
            backends.append(_Postgres(admin))
        for backend in backends:
            for scheme in DESIGNS:
                for processes in PROCESSES:
                    runs = tuple(_once(backend, folder, scheme, processes, n) for _ in range(repeat))
                    results.append(Result(backend.name, scheme, processes, n, runs))
                    if progress is not None:
                        rate = results[-1].rate
                        progress(f"{backend.name} {scheme} {processes} process(es): {rate:,.0f}/s")
    return results, skipped


def _speedup(results: list[Result], r: Result) -> float | None:
    """The throughput of ``r`` over that of one process on the same backend and scheme (None for 1)."""
    if r.processes == 1:
        return None
    one = next(x for x in results if (x.backend, x.scheme, x.processes) == (r.backend, r.scheme, 1))
    return r.rate / one.rate


def table(results: list[Result], skipped: dict[str, str]) -> list[str]:
    """The results as a text table, one row per measurement (seconds: the median and the range of the runs),
    then the skipped backends."""
    head = ("backend", "scheme", "processes", "allocations", "seconds", "(min-max)", "allocations/s", "8p/1p")
    rows = [head]
    for r in results:
        ratio = _speedup(results, r)
        rows.append((
            r.backend, r.scheme, str(r.processes), f"{r.allocations:,}", f"{r.seconds:.2f}",
            f"({min(r.runs):.2f}-{max(r.runs):.2f})", f"{r.rate:,.0f}",
            "" if ratio is None else f"{ratio:.2f}x",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    out += [f"{name}: skipped ({why})" for name, why in skipped.items()]
    return out


def run(full: bool = False, n: int = N, postgresql_url: str | None = None) -> list[str]:
    results, skipped = measure(n, postgresql_url)
    lines = []
    for r in results:
        ratio = _speedup(results, r)
        note = (
            f"{r.allocations:,} allocations by {r.processes} process(es): {r.rate:,.0f} allocations/s "
            f"(median of {len(r.runs)} new ledgers, each verified with the key)"
        )
        if ratio is not None:
            note += f"; {r.processes}/1-process throughput {ratio:.2f}x"
        lines.append(
            line(f"ledger_{r.backend}_{r.scheme}_{r.processes}p_{r.allocations}", r.seconds, None, note)
        )
    lines += [f"ledger_{name} skipped: {why}" for name, why in skipped.items()]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"allocate {QUICK_N} per measurement, not {N:,}")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="admin URL of a PostgreSQL server (default: IPSTRIAL_TEST_POSTGRESQL, else a throw-away server)",
    )
    parser.add_argument(
        "--repeat", type=int, default=REPEAT, help=f"ledgers per measurement (default {REPEAT})"
    )
    args = parser.parse_args()
    n = QUICK_N if args.quick else N
    results, skipped = measure(
        n, args.postgresql, args.repeat, progress=lambda text: print(text, file=sys.stderr, flush=True)
    )
    print(f"ledger allocations, median of {args.repeat} new ledgers each, on {os.cpu_count()} CPUs")
    for text in table(results, skipped):
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
