"""The ledger under concurrent writers and a writer killed with SIGKILL (SQLite, one file)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ipstrial.ledger import Ledger, LedgerDesign

FACTORS = {"site": ["Copenhagen", "Odense"], "sex": ["F", "M"]}
PROCESSES, PER_PROCESS = 8, 50


def _strata(i: int) -> dict[str, str]:
    return {"site": FACTORS["site"][i % 2], "sex": FACTORS["sex"][(i // 2) % 2]}


def _new(tmp_path: Path) -> tuple[Path, Path]:
    db, key = tmp_path / "t.db", tmp_path / "t.key"
    Ledger.init(db, LedgerDesign("T", ["IPS", "IPSE", "SAU"], [3, 6], FACTORS), key, by="setup").close()
    return db, key


def _worker(db: str, key: str, w: int, barrier) -> None:  # noqa: ANN001 - a multiprocessing Barrier
    with Ledger.open(db, key) as led:
        barrier.wait()
        for i in range(PER_PROCESS):
            led.allocate(f"W{w}-{i:03d}", _strata(i + w), by=f"worker{w}")
            # a pause between recruiters' requests: without it the writer that holds the lock takes it
            # again at once (SQLite's busy handler makes waiters sleep) and the writers run one by one
            time.sleep(0.002)


def _loop(db: str, key: str) -> None:
    with Ledger.open(db, key) as led:
        for i in range(100_000):
            led.allocate(f"K{i:05d}", _strata(i), by="looper")


def _check_complete_blocks(rows: list[dict]) -> int:
    blocks: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in rows:
        blocks[(r["stratum"], r["block"])].append(r)
    complete = 0
    for (stratum, block), members in blocks.items():
        assert [m["position"] for m in members] == list(range(1, len(members) + 1))
        if (stratum, block + 1) in blocks:
            complete += 1
            counts = Counter(m["arm"] for m in members)
            assert len(members) in (3, 6) and set(counts) == {"IPS", "IPSE", "SAU"}
            assert len(set(counts.values())) == 1, (stratum, block, counts)
    return complete


def test_eight_processes_allocating_at_once(tmp_path: Path) -> None:
    db, key = _new(tmp_path)
    twin = tmp_path / "twin.db"  # the same empty ledger (same key): allocated below by one process
    shutil.copyfile(db, twin)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_worker, args=(str(db), str(key), w, barrier)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    with Ledger.open(db) as led:
        rows = led.rows()
        assert [r["seq"] for r in rows] == list(range(1, PROCESSES * PER_PROCESS + 1))
        participants = [r["participant"] for r in rows]
        assert len(set(participants)) == len(participants) == PROCESSES * PER_PROCESS
        # the writers interleaved (else the test proved nothing about concurrency)
        switches = sum(a["by"] != b["by"] for a, b in zip(rows, rows[1:], strict=False))
        assert switches > 4 * PROCESSES, switches
        assert _check_complete_blocks(rows) >= 4 * (100 // 6 - 1)
        report = led.verify(key)
        assert report.ok, report.summary()
    # same key, same allocations whatever the interleaving: one process allocating the same participants
    # in another order gives every stratum the same sequence of arms (and blocks)
    with Ledger.open(twin, key) as one:
        for r in reversed(rows):
            one.allocate(r["participant"], json.loads(r["strata"]))
        single = one.rows()

    def by_stratum(entries: list[dict]) -> dict[str, list[tuple[int, int, str]]]:
        out: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for r in entries:
            out[r["stratum"]].append((r["block"], r["position"], r["arm"]))
        return dict(out)

    assert by_stratum(single) == by_stratum(rows)


@pytest.mark.parametrize("at_least", [25, 40, 60, 90, 130])
def test_a_writer_killed_with_sigkill_leaves_a_consistent_ledger(tmp_path: Path, at_least: int) -> None:
    db, key = _new(tmp_path)
    ctx = mp.get_context("fork")
    proc = ctx.Process(target=_loop, args=(str(db), str(key)))
    proc.start()
    deadline = time.monotonic() + 60
    con = sqlite3.connect(db, timeout=30)
    while con.execute("SELECT count(*) FROM entries").fetchone()[0] < at_least:
        assert time.monotonic() < deadline and proc.is_alive()
        time.sleep(0.005)
    con.close()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    with Ledger.open(db, key) as led:
        rows = led.rows()
        n = len(rows)
        assert n >= at_least and [r["seq"] for r in rows] == list(range(1, n + 1))
        assert led.verify(key).ok, led.verify(key).summary()
        # every recorded allocation is returned again, unchanged; nothing new is drawn for them
        for i, r in enumerate(rows):
            again = led.allocate(r["participant"], _strata(i))
            assert not again.new and (again.seq, again.arm) == (r["seq"], r["arm"])
        assert len(led.rows()) == n
        # the participant being allocated when killed was either recorded whole or not at all: allocating
        # it now continues the chain
        nxt = led.allocate(f"K{n:05d}", _strata(n))
        assert nxt.new and nxt.seq == n + 1
        assert led.verify(key).ok
