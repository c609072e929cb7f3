"""Where a ledger lives: one ``meta`` table and one append-only ``entries`` table, in SQLite or PostgreSQL.

``meta`` (key, value) holds the format version, the trial id, the design (canonical JSON), the key commitment,
the creation time and the ``head`` (the last seq and mac, with an HMAC of both, so that deleting the last rows
is found by ``verify``). ``entries`` is the one chain of allocations and events; its rows are never updated or
deleted. The two backends offer the same :class:`Store` operations and the same guarantee: every write runs in
one transaction that first takes the ledger's single writer lock, so two writers never compute from the same
state, and a transaction is all or nothing even if its process is killed.

* SQLite (a file path): ``BEGIN IMMEDIATE`` takes the database's write lock before anything is read; SQLite's
  journal makes the transaction atomic (https://www.sqlite.org/atomiccommit.html). See :mod:`._sqlite`.
* PostgreSQL (a ``postgresql://`` URL): ``SELECT ... FROM meta WHERE key = 'head' FOR UPDATE`` locks the head
  row for the transaction; a connection that dies aborts its transaction. See :mod:`._postgres`.

Statements are written once, with ``?`` placeholders; the PostgreSQL store rewrites them to its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager

FORMAT_VERSION = 2
"""Version 2: the design record names its scheme and the rows hold no block or position (issue 12)."""
LOCK_TIMEOUT_S = 30.0
"""How long a writer waits for the writer lock held by another writer before giving up with an error."""
CONNECT_TIMEOUT_S = 5
"""How long opening a PostgreSQL ledger waits for the server before giving up with an error."""

COLUMNS = ("seq", "kind", "participant", "stratum", "strata", "arm", "reason", "at", "by", "prev_mac", "mac")
COLUMN_LIST = ", ".join(f'"{c}"' for c in COLUMNS)  # quoted: BY is a reserved word of PostgreSQL's SQL

SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE entries (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('allocation', 'withdrawal', 'exclusion')),
    participant TEXT NOT NULL,
    stratum TEXT,
    strata TEXT,
    arm TEXT,
    reason TEXT,
    "at" TEXT NOT NULL,
    "by" TEXT NOT NULL,
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
)""",
    "CREATE UNIQUE INDEX entries_participant_kind ON entries (participant, kind)",
    "CREATE INDEX entries_stratum ON entries (kind, stratum)",
)


class Store:
    """The operations a ledger needs from its database (one connection, autocommit outside transactions)."""

    name: str
    """The database as shown in messages (a path, or a URL without its password)."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict]:
        """The rows of a statement, as dicts."""
        raise NotImplementedError

    def one(self, sql: str, params: Sequence[object] = ()) -> dict | None:
        """The first row of a statement (``None`` if there is none)."""
        found = self.query(sql, params)
        return found[0] if found else None

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run a statement that returns nothing."""
        raise NotImplementedError

    def transaction(self, lock: bool = True) -> AbstractContextManager[None]:
        """One transaction, committed on success and rolled back on any exception; with ``lock`` it first
        takes the ledger's writer lock (waiting up to :data:`LOCK_TIMEOUT_S`)."""
        raise NotImplementedError

    def tables(self) -> set[str]:
        """The names of the tables in the ledger's database (schema)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    def discard(self) -> None:
        """Close, and remove what opening with ``create`` made (a failed ``init`` leaves nothing)."""
        self.close()

    # -- shared by both backends ------------------------------------------------------------------------
    def check_no_ledger(self) -> None:
        """Refuse a database that already holds a ledger (or tables of the same names)."""
        from ipstrial.errors import LedgerError

        if {"meta", "entries"} & self.tables():
            raise LedgerError(
                f"'{self.name}' already holds a ledger (tables meta and entries); a ledger is never "
                "overwritten: give a new database"
            )

    def initialise(self, meta: dict[str, str]) -> None:
        """Create the tables and write ``meta``, in one transaction; refuse a database holding a ledger."""
        self.check_no_ledger()
        with self.transaction(lock=False):
            for statement in SCHEMA:
                self.execute(statement)
            for key, value in sorted(meta.items()):
                self.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def check_is_ledger(self) -> None:
        """Refuse a database without the ledger's tables."""
        from ipstrial.errors import LedgerError

        if not {"meta", "entries"} <= self.tables():
            self.close()
            raise LedgerError(
                f"'{self.name}' is a database but not an ipstrial ledger (no meta and entries tables); "
                "give the database made by 'ipstrial ledger init'"
            )

    def read_meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict."""
        return {r["key"]: r["value"] for r in self.query("SELECT key, value FROM meta")}

    def rows(self) -> list[dict]:
        """Every entry, in seq order, as dicts."""
        return self.query(f"SELECT {COLUMN_LIST} FROM entries ORDER BY seq")


def is_url(db: str | os.PathLike) -> bool:
    """Whether ``db`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``) rather than a file."""
    return isinstance(db, str) and db.split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in db


def open_store(db: str | os.PathLike, create: bool = False) -> Store:
    """The store of ``db``: a PostgreSQL URL or an SQLite file path; ``create`` makes a new SQLite file."""
    if is_url(db):
        from ipstrial.ledger._postgres import PostgresStore

        return PostgresStore(str(db))
    from ipstrial.ledger._sqlite import SqliteStore

    return SqliteStore(db, create)
