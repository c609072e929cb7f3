"""The allocation ledger on SQLite and PostgreSQL: design, key, allocation, events, status, verify."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import LedgerBackend

from ipstrial.errors import DesignError, LedgerError
from ipstrial.ledger import Ledger, LedgerDesign

FACTORS = {"site": ["Copenhagen", "Odense"], "sex": ["F", "M"]}


def _design(trial_id: str = "INKLUSION-2") -> LedgerDesign:
    return LedgerDesign(trial_id, ["IPS", "IPSE", "SAU"], [3, 6], FACTORS)


def _strata(i: int) -> dict[str, str]:
    return {"site": FACTORS["site"][i % 2], "sex": FACTORS["sex"][(i // 2) % 2]}


@pytest.fixture
def ledger(backend: LedgerBackend) -> Ledger:
    led = Ledger.init(backend.db, _design(), backend.key, by="tester")
    yield led
    led.close()


def _fill(led: Ledger, n: int) -> None:
    for i in range(n):
        led.allocate(f"P{i:04d}", _strata(i), by="tester")


def _blocks(led: Ledger, key: Path) -> dict[tuple[str, int], list[tuple[int, str]]]:
    """The allocations of each (stratum, block), as the keyed replay places them: (position, arm)."""
    report = led.verify(key)
    assert report.ok, report.summary()
    out: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)
    for r in led.rows():
        if r["kind"] == "allocation":
            block, position = report.blocks[r["seq"]]
            out[(r["stratum"], block)].append((position, r["arm"]))
    return dict(out)


# -- 1. design and key ----------------------------------------------------------------------------------


def test_init_writes_a_0600_key_and_stores_only_its_commitment(backend: LedgerBackend) -> None:
    import hashlib

    Ledger.init(backend.db, _design(), backend.key).close()
    assert (backend.key.stat().st_mode & 0o777) == 0o600
    key = bytes.fromhex(backend.key.read_text().strip())
    assert len(key) == 32
    meta = dict(backend.sql("SELECT key, value FROM meta"))
    assert meta["key_commitment"] == hashlib.sha256(key).hexdigest()
    assert meta["trial_id"] == "INKLUSION-2"
    assert json.loads(meta["design"])["factors"] == [["site", ["Copenhagen", "Odense"]], ["sex", ["F", "M"]]]
    assert json.loads(meta["design"])["scheme"] == "stratified_blocks"
    everything = json.dumps(backend.sql("SELECT * FROM meta")) + json.dumps(
        backend.sql("SELECT * FROM entries")
    )
    assert key.hex() not in everything  # the key itself is nowhere in the database
    if backend.name == "sqlite":
        raw = Path(backend.db).read_bytes()
        assert key.hex().encode() not in raw and key not in raw


def test_init_never_overwrites_a_ledger_or_a_key(backend: LedgerBackend, tmp_path: Path) -> None:
    Ledger.init(backend.db, _design(), backend.key).close()
    before = backend.key.read_text()
    with pytest.raises(LedgerError, match="already"):
        Ledger.init(backend.db, _design(), tmp_path / "other.key")
    other = backend.another("new")
    with pytest.raises(LedgerError, match="already exists"):
        Ledger.init(other, _design(), backend.key)
    assert backend.key.read_text() == before
    assert not (tmp_path / "other.key").exists()  # a failed init leaves no key behind
    if backend.name == "sqlite":
        assert not Path(other).exists()
    else:
        assert Ledger.init(other, _design(), tmp_path / "other.key").trial_id == "INKLUSION-2"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block_sizes": [4]}, "not positive multiples"),
        ({"arms": ["IPS"]}, "at least two arms"),
        ({"factors": {"site": []}}, "allowed levels"),
        ({"factors": {"site": ["A", "A"]}}, "level twice"),
        ({"factors": {"site": ["A|B"]}}, "none of"),
        ({"trial_id": ""}, "trial_id"),
        ({"scheme": "urn"}, "not one a ledger allocates by"),
        ({"scheme": "simple"}, "block_sizes does not apply to scheme 'simple'"),
        ({"scheme": "minimization", "block_sizes": None, "p": 0.3}, "p = 0.3 is outside"),
        ({"scheme": "minimization", "block_sizes": None, "factors": {}}, "needs factors"),
        ({"scheme": "minimization", "block_sizes": None, "weights": [1]}, "weights has 1 entry"),
        ({"scheme": "biased_coin", "block_sizes": None, "p": 0.5}, "in \\(0.5, 1\\]"),
        ({"scheme": "biased_coin", "block_sizes": None, "ratio": [2, 1, 1]}, "allocates equally"),
        ({"scheme": "stratified_blocks", "factors": {}}, "needs factors"),
        ({"block_sizes": None}, "give the scheme"),
    ],
)
def test_bad_designs_are_refused(kwargs: dict, match: str) -> None:
    args = {"trial_id": "T", "arms": ["IPS", "IPSE", "SAU"], "block_sizes": [3, 6], "factors": FACTORS}
    with pytest.raises(DesignError, match=match):
        LedgerDesign(**{**args, **kwargs})


@pytest.mark.parametrize(
    "design",
    [
        LedgerDesign("T", ["A", "B"], [2, 4], FACTORS, ratio=[1, 1]),
        LedgerDesign("T", ["A", "B"], [3], ratio=[2, 1]),
        LedgerDesign("T", ["A", "B", "C"], scheme="simple", ratio=[2, 1, 1], factors=FACTORS),
        LedgerDesign("T", ["A", "B"], scheme="biased_coin", p=0.75),
        LedgerDesign("T", ["A", "B"], scheme="minimization", factors=FACTORS, weights=[2, 1], p=0.9),
    ],
    ids=["stratified", "permuted", "simple", "biased_coin", "minimization"],
)
def test_design_json_round_trip(design: LedgerDesign) -> None:
    assert LedgerDesign.from_json(design.to_json()) == design


def test_design_from_toml(tmp_path: Path) -> None:
    (tmp_path / "d.toml").write_text(
        'trial_id = "INKLUSION-2"\nscheme = "minimization"\narms = ["IPS", "IPSE", "SAU"]\np = 0.8\n'
        'weights = { site = 2.0 }\n\n[factors]\nsite = ["Copenhagen", "Odense"]\nsex = ["F", "M"]\n'
    )
    d = LedgerDesign.from_toml(tmp_path / "d.toml")
    assert (d.scheme, d.factor_names, d.weights, d.p, d.imbalance) == (
        "minimization",
        ("site", "sex"),
        (2.0, 1.0),
        0.8,
        "range",
    )
    assert LedgerDesign.from_toml(tmp_path / "d.toml", trial_id="OTHER").trial_id == "OTHER"
    (tmp_path / "bad.toml").write_text('trial_id = "T"\narms = ["A", "B"]\nblock_size = [2]\n')
    with pytest.raises(DesignError, match="unknown keys \\['block_size'\\]"):
        LedgerDesign.from_toml(tmp_path / "bad.toml")
    (tmp_path / "broken.toml").write_text('trial_id = "T\n')
    with pytest.raises(DesignError, match="not valid TOML"):
        LedgerDesign.from_toml(tmp_path / "broken.toml")
    with pytest.raises(DesignError, match="cannot read the design file"):
        LedgerDesign.from_toml(tmp_path / "absent.toml")
    (tmp_path / "p.toml").write_text('trial_id = "T"\narms = ["A", "B"]\nscheme = "simple"\np = 0.7\n')
    with pytest.raises(DesignError, match="p.toml': p does not apply to scheme 'simple'"):
        LedgerDesign.from_toml(tmp_path / "p.toml")


# -- 2. allocation ----------------------------------------------------------------------------------------


def test_allocate_is_idempotent_and_draws_nothing_again(ledger: Ledger, backend: LedgerBackend) -> None:
    first = ledger.allocate("P0001", {"site": "Odense", "sex": "F"})
    again = ledger.allocate("P0001", {"sex": "F", "site": "Odense"})
    assert first.new and not again.new
    assert (again.seq, again.arm, again.at) == (first.seq, first.arm, first.at)
    assert len(ledger.rows()) == 1  # nothing drawn, nothing appended
    nxt = ledger.allocate("P0002", {"site": "Odense", "sex": "F"})
    assert nxt.seq == 2
    assert _blocks(ledger, backend.key)[("site=Odense|sex=F", 1)][:2] == [(1, first.arm), (2, nxt.arm)]


def test_reallocating_in_another_stratum_is_refused(ledger: Ledger) -> None:
    ledger.allocate("P0001", {"site": "Odense", "sex": "F"})
    with pytest.raises(LedgerError, match="allocated .* in stratum 'site=Odense\\|sex=F'"):
        ledger.allocate("P0001", {"site": "Copenhagen", "sex": "F"})


def test_blocks_are_balanced_within_strata(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 160)
    rows = [r for r in ledger.rows() if r["kind"] == "allocation"]
    assert [r["seq"] for r in rows] == list(range(1, 161))
    blocks = _blocks(ledger, backend.key)
    last = {s: max(b for (t, b) in blocks if t == s) for s, _ in blocks}
    assert len(last) == 4
    complete = 0
    sizes: Counter[int] = Counter()
    for (stratum, block), members in blocks.items():
        assert [m[0] for m in members] == list(range(1, len(members) + 1))
        if block < last[stratum]:  # a later block exists: this one is complete
            complete += 1
            sizes[len(members)] += 1
            counts = Counter(arm for _, arm in members)
            assert set(counts) == {"IPS", "IPSE", "SAU"} and len(set(counts.values())) == 1
    assert complete >= 4 * (40 // 6 - 1)  # 40 per stratum: at least 5 complete blocks of <= 6 each
    # P(all of >= 20 complete blocks the same size) = 2 * 2**-20: a real failure, not chance
    assert set(sizes) == {3, 6}
    status = ledger.status()
    for stratum, counts in status["by_stratum"].items():  # imbalance at most half the largest block
        assert max(counts.values()) - min(counts.values()) <= 3, stratum


def test_rows_hold_no_block_or_position(ledger: Ledger, backend: LedgerBackend) -> None:
    """A stored block number or position would tell where blocks end, and so the next arm."""
    _fill(ledger, 10)
    assert set(ledger.rows()[0]) == {
        "seq", "kind", "participant", "stratum", "strata", "arm", "reason", "at", "by", "prev_mac", "mac"
    }  # fmt: skip
    allocation = ledger.allocate("P0099", _strata(1))
    assert not hasattr(allocation, "block") and not hasattr(allocation, "position")


def test_withdrawal_and_exclusion_are_appended_never_changing_the_allocation(
    ledger: Ledger, backend: LedgerBackend
) -> None:
    a = ledger.allocate("P0001", {"site": "Odense", "sex": "M"})
    assert ledger.withdraw("P0001", "withdrawal", "moved away") == 2
    assert ledger.withdraw("P0001", "exclusion", "ineligible") == 3
    rows = ledger.rows()
    assert [r["kind"] for r in rows] == ["allocation", "withdrawal", "exclusion"]
    assert rows[0]["arm"] == a.arm and ledger.allocate("P0001", {"site": "Odense", "sex": "M"}).arm == a.arm
    with pytest.raises(LedgerError, match="already has a withdrawal"):
        ledger.withdraw("P0001", "withdrawal", "again")
    with pytest.raises(LedgerError, match="has not been allocated"):
        ledger.withdraw("P0002", "withdrawal", "x")
    with pytest.raises(LedgerError, match="not an event kind"):
        ledger.withdraw("P0001", "death", "x")
    assert ledger.status()["events"] == {"withdrawal": 1, "exclusion": 1}
    # the events do not move the allocations: the next participant gets block 1's second place
    b = ledger.allocate("P0002", {"site": "Odense", "sex": "M"})
    assert _blocks(ledger, backend.key)[("site=Odense|sex=M", 1)][:2] == [(1, a.arm), (2, b.arm)]


def test_by_defaults_to_the_os_user(ledger: Ledger) -> None:
    import getpass

    assert ledger.allocate("P1", {"site": "Odense", "sex": "M"}).by == getpass.getuser()
    assert ledger.allocate("P2", {"site": "Odense", "sex": "M"}, by="nurse").by == "nurse"


# -- 3. status, export, verify ----------------------------------------------------------------------------


def test_status_counts_by_stratum_and_arm(ledger: Ledger) -> None:
    _fill(ledger, 30)
    status = ledger.status()
    arms = Counter((r["stratum"], r["arm"]) for r in ledger.rows())
    assert status["allocations"] == 30 and status["scheme"] == "stratified_blocks"
    assert {(s, a): n for s, c in status["by_stratum"].items() for a, n in c.items() if n} == dict(arms)
    assert not any("next" in k or "block" in k or "position" in k for k in status)


def test_verify_replays_allocations(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 40)
    report = ledger.verify(backend.key)
    assert report.ok and report.keyed and report.rows == 40, report.summary()
    # an arm changed with its mac and the head recomputed by someone holding the key is still caught by
    # the replay, at that row only
    from ipstrial.ledger._key import read_key_file
    from ipstrial.ledger._ledger import head_value, row_mac

    key = read_key_file(backend.key)
    row = next(r for r in ledger.rows() if r["seq"] == 40)
    row["arm"] = next(a for a in ("IPS", "IPSE", "SAU") if a != row["arm"])
    backend.sql("UPDATE entries SET arm = ?, mac = ? WHERE seq = 40", params=(row["arm"], row_mac(key, row)))
    backend.sql(
        "UPDATE meta SET value = ? WHERE key = 'head'", params=(head_value(key, 40, row_mac(key, row)),)
    )
    report = ledger.verify(backend.key)
    assert not report.ok and report.first_broken_seq == 40
    assert all("design and key give" in what for _, what in report.problems), report.summary()


def test_verify_finds_an_edited_arm(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 20)
    arm = ledger.rows()[6]["arm"]
    other = next(a for a in ("IPS", "IPSE", "SAU") if a != arm)
    backend.sql(f"UPDATE entries SET arm = '{other}' WHERE seq = 7")
    report = ledger.verify(backend.key)
    assert report.first_broken_seq == 7, report.summary()
    assert any(s == 7 and "mac does not match" in w for s, w in report.problems)
    assert "first broken row seq 7" in report.summary()
    assert ledger.verify().ok  # without the key an edit is invisible: the chain needs the key


def test_verify_finds_a_deleted_row(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 20)
    backend.sql("DELETE FROM entries WHERE seq = 12")
    for key_file in (None, backend.key):
        report = ledger.verify(key_file)
        assert report.first_broken_seq == 12, report.summary()
        assert "seq 12 is missing" in report.problems[0][1]


def test_verify_finds_deleted_last_rows(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 20)
    backend.sql("DELETE FROM entries WHERE seq >= 19")
    report = ledger.verify(backend.key)
    assert report.first_broken_seq == 19, report.summary()
    assert "head names seq 20" in report.summary()


def test_verify_finds_a_forged_row(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 20)
    last = ledger.rows()[-1]
    backend.sql(
        'INSERT INTO entries (seq, kind, participant, stratum, strata, arm, reason, "at", "by", '
        f"prev_mac, mac) VALUES (21, 'allocation', 'P9999', 'site=Odense|sex=F', "
        f"'{{\"sex\":\"F\",\"site\":\"Odense\"}}', 'IPS', NULL, '2026-01-01', 'x', '{last['mac']}', "
        f"'{'0' * 64}')",
    )
    report = ledger.verify(backend.key)
    assert report.first_broken_seq == 21, report.summary()
    assert any(s == 21 and "mac does not match" in w for s, w in report.problems)
    # and the next allocation refuses to build on a ledger whose head no longer names its last row
    with pytest.raises(LedgerError, match="fails its check"):
        ledger.allocate("P5555", {"site": "Odense", "sex": "F"})


def test_verify_finds_an_inserted_row(ledger: Ledger, backend: LedgerBackend) -> None:
    """A row slipped in between: the later rows renumbered to make room, the chain broken at the insert."""
    _fill(ledger, 10)
    backend.sql(
        "UPDATE entries SET seq = seq + 1000 WHERE seq >= 5",
        "UPDATE entries SET seq = seq - 999 WHERE seq >= 1000",
    )
    five = next(r for r in ledger.rows() if r["seq"] == 6)
    backend.sql(
        'INSERT INTO entries (seq, kind, participant, stratum, strata, arm, reason, "at", "by", prev_mac, '
        "mac) "
        'SELECT 5, kind, \'P9999\', stratum, strata, arm, reason, "at", "by", prev_mac, mac FROM entries '
        f"WHERE seq = {five['seq']}"
    )
    report = ledger.verify(backend.key)
    assert report.first_broken_seq == 5, report.summary()
    assert ledger.verify().ok  # seqs contiguous, ids distinct: only the keyed chain can tell


def test_verify_without_key_finds_a_duplicate_participant(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 5)
    backend.sql(
        "DROP INDEX entries_participant_kind",
        'INSERT INTO entries SELECT 6, kind, participant, stratum, strata, arm, reason, "at", "by", mac, mac '
        "FROM entries WHERE seq = 5",
    )
    report = ledger.verify()
    assert report.first_broken_seq == 6 and "allocated again" in report.summary()


# -- 4. bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strata", "match"),
    [
        (
            {"site": "Aarhus", "sex": "F"},
            "unknown value 'Aarhus' of stratification factor 'site'; give one",
        ),
        ({"site": "Odense"}, "missing value of stratification factor 'sex'; give one of \\['F', 'M'\\]"),
        ({"site": "Odense", "sex": "F", "age": "50"}, "unknown stratification factor\\(s\\) \\['age'\\]"),
    ],
)
def test_bad_strata(ledger: Ledger, strata: dict, match: str) -> None:
    with pytest.raises(LedgerError, match=match):
        ledger.allocate("P0001", strata)
    assert ledger.rows() == []


@pytest.mark.parametrize(
    ("participant", "match"),
    [("", "is empty"), ("   ", "is empty"), ("P" * 65, "65 characters, more than 64"), (" P1", "spaces")],
)
def test_bad_participant_ids(ledger: Ledger, participant: str, match: str) -> None:
    with pytest.raises(LedgerError, match=match):
        ledger.allocate(participant, {"site": "Odense", "sex": "F"})
    ledger.allocate("P" * 64, {"site": "Odense", "sex": "F"})  # 64 is allowed


def test_another_trial_id_is_refused(ledger: Ledger, backend: LedgerBackend) -> None:
    with pytest.raises(LedgerError, match="belongs to trial 'INKLUSION-2', not 'OTHER'"):
        Ledger.open(backend.db, trial_id="OTHER")
    Ledger.open(backend.db, trial_id="INKLUSION-2").close()


def test_another_format_version_is_refused(ledger: Ledger, backend: LedgerBackend) -> None:
    backend.sql("UPDATE meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(LedgerError, match="format version '99'"):
        Ledger.open(backend.db)


def test_a_wrong_key_is_refused(ledger: Ledger, backend: LedgerBackend, tmp_path: Path) -> None:
    Ledger.init(backend.another("b"), _design(), tmp_path / "b.key").close()
    with pytest.raises(LedgerError, match="not this ledger's key"):
        Ledger.open(backend.db, key_file=tmp_path / "b.key")
    with pytest.raises(LedgerError, match="not this ledger's key"):
        ledger.verify(tmp_path / "b.key")
    (tmp_path / "junk.key").write_text("not hex")
    os.chmod(tmp_path / "junk.key", 0o600)
    with pytest.raises(LedgerError, match="32-byte hex key"):
        ledger.verify(tmp_path / "junk.key")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_file_readable_by_others_is_refused(ledger: Ledger, backend: LedgerBackend, mode: int) -> None:
    os.chmod(backend.key, mode)
    with pytest.raises(LedgerError, match=f"mode {mode:04o} .*chmod 600"):
        Ledger.open(backend.db, key_file=backend.key)


def test_allocating_without_the_key_is_refused(ledger: Ledger, backend: LedgerBackend) -> None:
    with (
        Ledger.open(backend.db) as reader,
        pytest.raises(LedgerError, match="needs the allocation key"),
    ):
        reader.allocate("P1", {"site": "Odense", "sex": "F"})


def test_sqlite_files_that_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger database at"):
        Ledger.open(tmp_path / "absent.db")
    with pytest.raises(LedgerError, match="folder does not exist"):
        Ledger.init(tmp_path / "no" / "dir" / "t.db", _design(), tmp_path / "k.key")
    assert not (tmp_path / "k.key").exists()
    (tmp_path / "text.db").write_text("this is not a database, just some text " * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger database"):
        Ledger.open(tmp_path / "text.db")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(LedgerError, match="not an ipstrial ledger"):
        Ledger.open(tmp_path / "other.db")


def test_a_database_without_a_ledger_is_refused(backend: LedgerBackend) -> None:
    backend.sql("CREATE TABLE x (a INTEGER)")
    with pytest.raises(LedgerError, match="not an ipstrial ledger"):
        Ledger.open(backend.db)


def test_an_edited_design_is_found(ledger: Ledger, backend: LedgerBackend) -> None:
    _fill(ledger, 10)
    design = json.loads(ledger.meta["design"])
    design["block_sizes"] = [3]  # still a valid design: only the chain can tell
    backend.sql("UPDATE meta SET value = ? WHERE key = 'design'", params=(json.dumps(design),))
    with Ledger.open(backend.db) as led:
        report = led.verify(backend.key)
    assert report.first_broken_seq == 1 and "prev_mac" in report.problems[0][1], report.summary()
    backend.sql("UPDATE meta SET value = '{\"arms\": 1' WHERE key = 'design'")
    with pytest.raises(LedgerError, match="unreadable or inconsistent design record"):
        Ledger.open(backend.db)
    backend.sql("DELETE FROM meta WHERE key = 'design'")
    with pytest.raises(LedgerError, match="unreadable or inconsistent design record"):
        Ledger.open(backend.db)


def test_unequal_ratio_and_no_factors(backend: LedgerBackend) -> None:
    design = LedgerDesign("T", ["IPS", "SAU"], [3, 6], ratio=[2, 1])
    with Ledger.init(backend.db, design, backend.key) as led:
        for i in range(60):
            assert led.allocate(f"P{i}").stratum == "-"
        blocks = _blocks(led, backend.key)
        for (_, block), members in blocks.items():
            if ("-", block + 1) in blocks:  # complete: IPS exactly twice as often as SAU
                arms = [a for _, a in members]
                assert len(arms) in (3, 6) and arms.count("IPS") == 2 * arms.count("SAU")
        with pytest.raises(LedgerError, match="unknown stratification factor"):
            led.allocate("P99", {"site": "Odense"})


def test_a_locked_ledger_gives_a_clear_error_within_the_lock_timeout(
    ledger: Ledger, backend: LedgerBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from ipstrial.ledger import _store

    monkeypatch.setattr(_store, "LOCK_TIMEOUT_S", 0.5)  # the real 30 s, shortened for the test
    if backend.name == "sqlite":
        holder = sqlite3.connect(backend.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock and never lets go
    else:
        import psycopg

        holder = psycopg.connect(backend.db, autocommit=True)
        holder.execute("BEGIN")
        holder.execute("SELECT value FROM meta WHERE key = 'head' FOR UPDATE")
    try:
        with Ledger.open(backend.db, backend.key) as led:
            t0 = time.monotonic()
            with pytest.raises(LedgerError, match="locked by another writer"):
                led.allocate("P1", {"site": "Odense", "sex": "F"})
            assert time.monotonic() - t0 < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ledger.allocate("P1", {"site": "Odense", "sex": "F"}).seq == 1  # nothing half-recorded


# -- 5. a PostgreSQL server that cannot be reached -----------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_postgresql_server_is_a_clear_error_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    pytest.importorskip("psycopg")
    from ipstrial.ledger import _store

    monkeypatch.setattr(_store, "CONNECT_TIMEOUT_S", 2)  # the real 5 s, shortened (libpq's minimum is 2 s)
    # nothing listens on the port: refused at once
    url = f"postgresql://ipstrial:secret@127.0.0.1:{_closed_port()}/trial"
    t0 = time.monotonic()
    with pytest.raises(LedgerError, match="cannot reach the ledger database") as err:
        Ledger.open(url)
    assert time.monotonic() - t0 < 3
    assert "secret" not in str(err.value) and "postgresql://ipstrial@127.0.0.1:" in str(err.value)
    # a server that accepts the connection and never answers: given up after the timeout
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        t0 = time.monotonic()
        with pytest.raises(LedgerError, match="within 2 s"):
            Ledger.init(
                f"postgresql://u@127.0.0.1:{silent.getsockname()[1]}/trial", _design(), tmp_path / "k"
            )
        assert time.monotonic() - t0 < 6
    finally:
        silent.close()
    assert not (tmp_path / "k").exists()  # no key written for a ledger that was never made


def test_a_postgresql_database_that_does_not_exist(postgresql_backend: LedgerBackend, tmp_path: Path) -> None:
    url = postgresql_backend.db.rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(LedgerError, match='database "no_such_database_here" does not exist'):
        Ledger.init(url, _design(), tmp_path / "k")
    assert not (tmp_path / "k").exists()
