"""Shared fixtures: the committed synthetic trial (as a DataFrame and as a Trial) and its covariates.

The frames are read once per session; tests that change data take ``.copy()`` first (the ``data``
fixture hands out a fresh copy for every test).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ipstrial

ROOT = Path(__file__).resolve().parents[1]
INKLUSION_CSV = ROOT / "data" / "synthetic" / "inklusion.csv"
REFERENCE = ROOT / "tests" / "reference"

COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
"""The baseline covariates of the synthetic trial (every covariate of its generating model)."""

ARMS = ("IPS", "IPSE", "SAU")
TREATMENTS = ("IPS", "IPSE")
CONTROL = "SAU"

_FRAME = pd.read_csv(INKLUSION_CSV)


def inklusion_trial(data: pd.DataFrame | None = None) -> ipstrial.Trial:
    """The synthetic trial with its roles declared (the committed CSV unless ``data`` is given)."""
    from ipstrial.synthetic import INKLUSION

    return INKLUSION.schema().validate(_FRAME if data is None else data)


_TRIAL = inklusion_trial()


@pytest.fixture
def data() -> pd.DataFrame:
    """A fresh copy of ``data/synthetic/inklusion.csv`` (720 participants)."""
    return _FRAME.copy()


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """``data/synthetic/inklusion.csv``, shared by the session: do not modify (take ``.copy()``)."""
    return _FRAME


@pytest.fixture(scope="session")
def trial() -> ipstrial.Trial:
    """The committed synthetic trial as an ``ipstrial.Trial`` (arms IPS, IPSE, SAU; control SAU)."""
    return _TRIAL


@pytest.fixture(scope="session")
def covariates() -> list[str]:
    """The baseline covariates of the synthetic trial."""
    return list(COVARIATES)


# -- the allocation ledger's two backends ------------------------------------------------------------------
# The ledger's guarantees are tested on SQLite (a file) and on PostgreSQL: a server whose URL (of a
# database the tests may connect to as a user who can create databases) is in IPSTRIAL_TEST_POSTGRESQL.
# .ci/run starts one (.ci/postgres) and sets IPSTRIAL_REQUIRE_POSTGRESQL=1, so that in CI a missing server
# fails the PostgreSQL tests instead of skipping them.


class LedgerBackend:
    """A fresh, empty ledger database of one backend, and raw access to it that bypasses ipstrial."""

    def __init__(self, name: str, db: str, tmp_path, admin_url: str | None = None) -> None:  # noqa: ANN001
        self.name = name
        self.db = db
        self.key = tmp_path / "t.key"
        self._admin = admin_url
        self._tmp = tmp_path
        self._made: list[str] = []

    def sql(self, *statements: str, params: tuple = ()) -> list[tuple]:
        """Run statements with the database's own library (sqlite3, psycopg); the last one's rows."""
        out: list[tuple] = []
        if self.name == "sqlite":
            import sqlite3

            con = sqlite3.connect(self.db, timeout=30)
            try:
                for s in statements:
                    cur = con.execute(s, params if s is statements[-1] else ())
                    out = cur.fetchall()
                con.commit()
            finally:
                con.close()
            return out
        import psycopg

        with psycopg.connect(self.db, autocommit=True) as con:
            for s in statements:
                cur = con.execute(s.replace("?", "%s"), (params or None) if s is statements[-1] else None)
                out = cur.fetchall() if cur.description else []
        return out

    def another(self, label: str) -> str:
        """A second fresh database of the same backend."""
        if self.name == "sqlite":
            return str(self._tmp / f"{label}.db")
        return self._create_database()

    def copy(self) -> str:
        """A copy of this database (no connection to it may be open)."""
        if self.name == "sqlite":
            import shutil

            target = str(self._tmp / "copy.db")
            shutil.copyfile(self.db, target)
            return target
        return self._create_database(template=self.db.rsplit("/", 1)[1])

    def _create_database(self, template: str | None = None) -> str:
        import uuid

        import psycopg

        name = f"ipstrial_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._admin, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        self._made.append(name)
        return self._admin.rsplit("/", 1)[0] + f"/{name}"

    def drop(self) -> None:
        if self.name != "postgresql" or not self._made:
            return
        import psycopg

        with psycopg.connect(self._admin, autocommit=True) as con:
            for name in self._made:
                con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _postgres_admin_url() -> str:
    import os

    url = os.environ.get("IPSTRIAL_TEST_POSTGRESQL")
    required = os.environ.get("IPSTRIAL_REQUIRE_POSTGRESQL") == "1"
    if not url:
        if required:
            pytest.fail("IPSTRIAL_REQUIRE_POSTGRESQL=1 but IPSTRIAL_TEST_POSTGRESQL names no server")
        pytest.skip("no PostgreSQL test server: set IPSTRIAL_TEST_POSTGRESQL (see .ci/postgres)")
    try:
        import psycopg
    except ImportError:
        if required:
            pytest.fail("psycopg is not installed: pip install -e '.[test]'")
        pytest.skip("psycopg is not installed")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        if required:
            pytest.fail(f"the PostgreSQL test server {url} cannot be reached: {exc}")
        pytest.skip(f"the PostgreSQL test server cannot be reached: {exc}")
    return url


@pytest.fixture(autouse=True)
def _fixed_ledger_keys(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key a test's ledgers make comes from the test's name: the ledger tests draw the same
    allocations on every run (a key is otherwise 32 fresh random bytes)."""
    import hashlib
    import itertools

    from ipstrial.ledger import _key

    counter = itertools.count()
    name = request.node.nodeid.encode()

    def token_bytes(n: int) -> bytes:
        return hashlib.sha256(name + str(next(counter)).encode()).digest()[:n]

    monkeypatch.setattr(_key, "token_bytes", token_bytes)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path) -> LedgerBackend:  # noqa: ANN001
    """An empty ledger database on each backend (PostgreSQL: a new database, dropped after the test)."""
    if request.param == "sqlite":
        yield LedgerBackend("sqlite", str(tmp_path / "t.db"), tmp_path)
        return
    yield from _postgresql_backend(tmp_path)


@pytest.fixture
def postgresql_backend(tmp_path) -> LedgerBackend:  # noqa: ANN001
    """An empty ledger database on PostgreSQL only."""
    yield from _postgresql_backend(tmp_path)


def _postgresql_backend(tmp_path):  # noqa: ANN001, ANN202
    admin = _postgres_admin_url()
    b = LedgerBackend("postgresql", "", tmp_path, admin)
    b.db = b._create_database()
    try:
        yield b
    finally:
        b.drop()
