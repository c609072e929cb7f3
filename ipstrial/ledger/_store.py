"""The SQLite storage of a ledger: one ``meta`` table and one append-only ``entries`` table.

``meta`` (key, value) holds the format version, the trial id, the design (canonical JSON), the key commitment,
the creation time and the ``head`` (the last seq and mac, with an HMAC of both, so that deleting the last rows
is found by ``verify``). ``entries`` is the one chain of allocations and events; its rows are never updated or
deleted. Every write runs in one ``BEGIN IMMEDIATE`` transaction (a writer lock taken before reading, so two
writers never compute from the same state), waiting up to 30 s for another writer; SQLite's journal makes a
transaction all or nothing, even if the process is killed (https://www.sqlite.org/atomiccommit.html).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ipstrial.errors import LedgerError

FORMAT_VERSION = 1
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('allocation', 'withdrawal', 'exclusion')),
    participant TEXT NOT NULL,
    stratum TEXT,
    strata TEXT,
    arm TEXT,
    block INTEGER,
    position INTEGER,
    reason TEXT,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE UNIQUE INDEX entries_participant_kind ON entries (participant, kind);
CREATE INDEX entries_stratum ON entries (stratum, seq);
"""

COLUMNS = (
    "seq",
    "kind",
    "participant",
    "stratum",
    "strata",
    "arm",
    "block",
    "position",
    "reason",
    "at",
    "by",
    "prev_mac",
    "mac",
)


def _connect(uri: str, path: str | os.PathLike) -> sqlite3.Connection:
    try:
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        con.execute("PRAGMA synchronous = FULL")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"cannot open the ledger database '{path}' ({exc}); check the path and that it is a ledger "
            "made by 'ipstrial ledger init'"
        ) from None
    con.row_factory = sqlite3.Row
    return con


def _uri(path: str | os.PathLike, mode: str) -> str:
    return Path(path).absolute().as_uri().replace("file://", "file:", 1) + f"?mode={mode}"


def create(path: str | os.PathLike, meta: dict[str, str]) -> sqlite3.Connection:
    """Create a new ledger database at ``path`` with ``meta``; refuse an existing file."""
    p = Path(path)
    if p.exists():
        raise LedgerError(
            f"'{path}' already exists; a ledger is never overwritten: choose another --db file name"
        )
    if not p.absolute().parent.is_dir():
        raise LedgerError(f"cannot create the ledger '{path}': its folder does not exist; check the path")
    con = _connect(_uri(p, "rwc"), path)
    with transaction(con):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        con.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))
    return con


def open_existing(path: str | os.PathLike) -> sqlite3.Connection:
    """Open the existing ledger database at ``path`` (never creates one)."""
    if not Path(path).is_file():
        raise LedgerError(
            f"no ledger database at '{path}'; check the path, or create one with 'ipstrial ledger init'"
        )
    con = _connect(_uri(path, "rw"), path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"meta", "entries"} <= tables:
        con.close()
        raise LedgerError(
            f"'{path}' is an SQLite database but not an ipstrial ledger (no meta and entries tables); "
            "give the file made by 'ipstrial ledger init'"
        )
    return con


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, rolled back on any exception."""
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise LedgerError(
            f"the ledger is locked by another writer for more than {BUSY_TIMEOUT_S:.0f} s ({exc}); "
            "try again, and check that no process holds it open in a transaction"
        ) from None
    try:
        yield con
        con.execute("COMMIT")
    except sqlite3.OperationalError as exc:  # e.g. still locked by readers at COMMIT after the busy timeout
        _rollback(con)
        raise LedgerError(
            f"the ledger could not record the transaction ({exc}); nothing was recorded: try again"
        ) from None
    except BaseException:
        _rollback(con)
        raise


def _rollback(con: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any (SQLite may already have rolled it back itself)."""
    if con.in_transaction:
        con.execute("ROLLBACK")


def read_meta(con: sqlite3.Connection) -> dict[str, str]:
    """The ``meta`` table as a dict."""
    return {r["key"]: r["value"] for r in con.execute("SELECT key, value FROM meta")}


def rows(con: sqlite3.Connection) -> list[dict]:
    """Every entry, in seq order, as dicts."""
    return [dict(r) for r in con.execute(f"SELECT {', '.join(COLUMNS)} FROM entries ORDER BY seq")]
