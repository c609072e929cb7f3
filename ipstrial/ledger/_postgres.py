"""The PostgreSQL store of a ledger (``--db postgresql://user@host:port/dbname``; see :mod:`._store`).

The ledger is the tables ``meta`` and ``entries`` of the URL's database, in the connection's schema (the
``search_path``; ``?options=-csearch_path%3DNAME`` in the URL selects another, so that one database can hold
several ledgers). The driver is psycopg 3 (the ``postgresql`` extra). Opening waits at most
:data:`~._store.CONNECT_TIMEOUT_S` seconds for the server; a writer waits at most
:data:`~._store.LOCK_TIMEOUT_S` seconds for the writer lock (``lock_timeout``). A write transaction begins by
locking the ``head`` row of ``meta`` (``SELECT ... FOR UPDATE``): writers take turns, and each reads the state
its predecessor committed (READ COMMITTED takes a new snapshot per statement). A connection that is lost, the
process killed among them, aborts its open transaction on the server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ipstrial.errors import LedgerError
from ipstrial.ledger import _store
from ipstrial.ledger._store import Store


def shown_url(url: str) -> str:
    """``url`` for a message: ``postgresql://user@host:port/dbname``, without a password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        d = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a URL that cannot be parsed is shown by its scheme only
        return url.split("://", 1)[0] + "://..."
    user = f"{d['user']}@" if d.get("user") else ""
    port = f":{d['port']}" if d.get("port") else ""
    return f"postgresql://{user}{d.get('host', '')}{port}/{d.get('dbname', '')}"


def scrubbed(text: str) -> str:
    """``text`` with any password of a URL or a ``password=`` setting replaced by ``***``, on one line."""
    import re

    text = re.sub(r"(://[^\s/@:]*:)[^\s@]*@", r"\1***@", " ".join(text.split()))
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.IGNORECASE)


class PostgresStore(Store):
    """A ledger in the PostgreSQL database of ``url``."""

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        url = scheme.lower() + sep + rest  # libpq reads only the lower-case scheme
        self.name = shown_url(url)
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError:
            raise LedgerError(
                f"the ledger '{self.name}' is on PostgreSQL, which needs the psycopg driver: "
                "pip install 'ipstrial[postgresql]'"
            ) from None
        self._errors = psycopg
        try:
            self._con = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=_store.CONNECT_TIMEOUT_S
            )
        except psycopg.Error as exc:
            reason = scrubbed(str(exc)) or type(exc).__name__
            raise LedgerError(
                f"cannot reach the ledger database '{self.name}' within {_store.CONNECT_TIMEOUT_S} s "
                f"({reason}); "
                "check that the server runs, and the host, port, database name, user and password in the URL"
            ) from None
        self._con.execute(f"SET lock_timeout = '{max(1, round(_store.LOCK_TIMEOUT_S * 1000))}ms'")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict]:
        return self._run(sql, params, fetch=True)

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self._run(sql, params, fetch=False)

    def _run(self, sql: str, params: Sequence[object], fetch: bool) -> list[dict]:
        try:
            cur = self._con.execute(self._sql(sql), tuple(params) or None)
            return list(cur.fetchall()) if fetch else []
        except self._errors.errors.LockNotAvailable:
            raise LedgerError(
                f"the ledger '{self.name}' is locked by another writer for more than "
                f"{_store.LOCK_TIMEOUT_S:g} s; "
                "try again, and check that no session holds it open in a transaction"
            ) from None
        except self._errors.OperationalError as exc:
            raise LedgerError(
                f"lost the connection to the ledger database '{self.name}' ({scrubbed(str(exc))}); "
                "nothing of the current transaction was recorded: try again"
            ) from None
        except self._errors.errors.DuplicateTable:  # another init made the tables first
            raise LedgerError(
                f"'{self.name}' already holds a ledger (tables meta and entries); a ledger is never "
                "overwritten: give a new database"
            ) from None
        except self._errors.Error as exc:  # e.g. no permission to create tables, a read-only standby
            raise LedgerError(
                f"the ledger database '{self.name}' refused the statement ({scrubbed(str(exc))}); "
                "nothing of the current transaction was recorded"
            ) from None

    def tables(self) -> set[str]:
        found = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {r["table_name"] for r in found}

    @contextmanager
    def transaction(self, lock: bool = True) -> Iterator[None]:
        self.execute("BEGIN")
        try:
            if lock:
                self.execute("SELECT value FROM meta WHERE key = 'head' FOR UPDATE")
            yield
            self.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._con.closed:
            return
        try:
            self._con.execute("ROLLBACK")
        except self._errors.Error:  # the connection is gone: the server aborted the transaction itself
            pass

    def close(self) -> None:
        self._con.close()
