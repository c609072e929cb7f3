"""The ledger under concurrent writers and a writer killed with SIGKILL, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import LedgerBackend

from ipstrial.ledger import Ledger, LedgerDesign

FACTORS = {"site": ["Copenhagen", "Odense"], "sex": ["F", "M"]}
PROCESSES, PER_PROCESS = 8, 50


def _strata(i: int) -> dict[str, str]:
    return {"site": FACTORS["site"][i % 2], "sex": FACTORS["sex"][(i // 2) % 2]}


def _new(backend: LedgerBackend) -> tuple[str, Path]:
    design = LedgerDesign("T", ["IPS", "IPSE", "SAU"], [3, 6], FACTORS)
    Ledger.init(backend.db, design, backend.key, by="setup").close()
    return backend.db, backend.key


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


def _check_complete_blocks(rows: list[dict], places: dict[int, tuple[int, int]]) -> int:
    """Every complete block of every stratum (as the keyed replay places the rows) is balanced."""
    blocks: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        block, position = places[r["seq"]]
        blocks[(r["stratum"], block)].append((position, r["arm"]))
    complete = 0
    for (stratum, block), members in blocks.items():
        assert [m[0] for m in members] == list(range(1, len(members) + 1))
        if (stratum, block + 1) in blocks:
            complete += 1
            counts = Counter(arm for _, arm in members)
            assert len(members) in (3, 6) and set(counts) == {"IPS", "IPSE", "SAU"}
            assert len(set(counts.values())) == 1, (stratum, block, counts)
    return complete


def test_eight_processes_allocating_at_once(backend: LedgerBackend) -> None:
    db, key = _new(backend)
    twin = backend.copy()  # the same empty ledger (same key): allocated below by one process
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
        report = led.verify(key)
        assert report.ok, report.summary()
        assert _check_complete_blocks(rows, report.blocks) >= 4 * (100 // 6 - 1)
    # same key, same allocations whatever the interleaving: one process allocating the same participants
    # in another order gives every stratum the same sequence of arms
    with Ledger.open(twin, key) as one:
        for r in reversed(rows):
            one.allocate(r["participant"], json.loads(r["strata"]))
        single = one.rows()

    def by_stratum(entries: list[dict]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for r in entries:
            out[r["stratum"]].append(r["arm"])
        return dict(out)

    assert by_stratum(single) == by_stratum(rows)


@pytest.mark.parametrize("at_least", [25, 40, 60, 90, 130])
def test_a_writer_killed_with_sigkill_leaves_a_consistent_ledger(
    backend: LedgerBackend, at_least: int
) -> None:
    db, key = _new(backend)
    ctx = mp.get_context("fork")
    proc = ctx.Process(target=_loop, args=(str(db), str(key)))
    proc.start()
    deadline = time.monotonic() + 60
    while backend.sql("SELECT count(*) FROM entries")[0][0] < at_least:
        assert time.monotonic() < deadline and proc.is_alive()
        time.sleep(0.005)
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


def _die_before_commit(db: str, key: str, n_before: int) -> None:
    """Allocate ``n_before`` participants, then die by SIGKILL after writing the next row and the head but
    before the COMMIT: the worst moment to die."""
    from ipstrial.ledger import _ledger

    with Ledger.open(db, key) as led:
        for i in range(n_before):
            led.allocate(f"K{i:05d}", _strata(i), by="looper")
        original = _ledger.Ledger._append

        def append_then_die(self: Ledger, k: bytes, row: dict) -> dict:
            out = original(self, k, row)
            os.kill(os.getpid(), signal.SIGKILL)
            return out

        _ledger.Ledger._append = append_then_die
        led.allocate(f"K{n_before:05d}", _strata(n_before), by="looper")


def test_a_writer_killed_between_its_insert_and_its_commit_leaves_nothing(backend: LedgerBackend) -> None:
    db, key = _new(backend)
    ctx = mp.get_context("fork")
    proc = ctx.Process(target=_die_before_commit, args=(str(db), str(key), 7))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    with Ledger.open(db, key) as led:
        rows = led.rows()
        assert [r["seq"] for r in rows] == list(range(1, 8))  # the eighth row was never committed
        assert led.verify(key).ok
        nxt = led.allocate("K00007", _strata(7))
        assert nxt.new and nxt.seq == 8 and led.verify(key).ok
