"""The SQLite store of a ledger: one file, ``BEGIN IMMEDIATE`` transactions (see :mod:`._store`)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ipstrial.errors import LedgerError
from ipstrial.ledger import _store
from ipstrial.ledger._store import Store


def _uri(path: Path, mode: str) -> str:
    return path.absolute().as_uri().replace("file://", "file:", 1) + f"?mode={mode}"


class SqliteStore(Store):
    """A ledger in the SQLite file ``path``; ``create`` makes a new file (an existing one is refused)."""

    def __init__(self, path: str | os.PathLike, create: bool = False) -> None:
        p = Path(path)
        self.name = str(path)
        if create:
            if not p.absolute().parent.is_dir():
                raise LedgerError(
                    f"cannot create the ledger '{path}': its folder does not exist; check the path"
                )
            try:  # exclusively: of two processes creating the same ledger, one gets it and one is refused
                os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                raise LedgerError(
                    f"'{path}' already exists; a ledger is never overwritten: choose another --db file name"
                ) from None
            except OSError as exc:
                raise LedgerError(
                    f"cannot create the ledger '{path}': {exc.strerror}; check the path"
                ) from None
        elif not p.is_file():
            raise LedgerError(
                f"no ledger database at '{path}'; check the path, or create one with 'ipstrial ledger init'"
            )
        try:
            uri = _uri(p, "rw")  # never creates: a new ledger's file was made above, mode 0600
            con = sqlite3.connect(uri, uri=True, timeout=_store.LOCK_TIMEOUT_S, isolation_level=None)
            con.execute("PRAGMA synchronous = FULL")
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if create:
                p.unlink(missing_ok=True)
            raise LedgerError(
                f"cannot open the ledger database '{path}' ({exc}); check the path and that it is a ledger "
                "made by 'ipstrial ledger init'"
            ) from None
        con.row_factory = sqlite3.Row
        self._con = con
        self._created = p if create else None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict]:
        return [dict(r) for r in self._con.execute(sql, tuple(params))]

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self._con.execute(sql, tuple(params))

    def tables(self) -> set[str]:
        return {r[0] for r in self._con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    @contextmanager
    def transaction(self, lock: bool = True) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock at once, so the writer lock is taken whatever ``lock`` says
        try:
            self._con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise LedgerError(
                f"the ledger '{self.name}' is locked by another writer for more than "
                f"{_store.LOCK_TIMEOUT_S:g} s ({exc}); try again, and check that no process holds it open in "
                "a transaction"
            ) from None
        try:
            yield
            self._con.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # e.g. still locked by readers at COMMIT after the timeout
            self._rollback()
            raise LedgerError(
                f"the ledger '{self.name}' could not record the transaction ({exc}); nothing was recorded: "
                "try again"
            ) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Roll back the open transaction, if any (SQLite may already have rolled it back itself)."""
        if self._con.in_transaction:
            self._con.execute("ROLLBACK")

    def close(self) -> None:
        self._con.close()

    def discard(self) -> None:
        self._con.close()
        if self._created is not None:
            self._created.unlink(missing_ok=True)
