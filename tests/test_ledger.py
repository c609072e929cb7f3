"""The SQLite allocation ledger (ipstrial.ledger): design, key, allocation, events, status, export, verify."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ipstrial.errors import DesignError, LedgerError
from ipstrial.ledger import Ledger, LedgerDesign

FACTORS = {"site": ["Copenhagen", "Odense"], "sex": ["F", "M"]}


def _design(trial_id: str = "INKLUSION-2") -> LedgerDesign:
    return LedgerDesign(trial_id, ["IPS", "IPSE", "SAU"], [3, 6], FACTORS)


def _strata(i: int) -> dict[str, str]:
    return {"site": FACTORS["site"][i % 2], "sex": FACTORS["sex"][(i // 2) % 2]}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    led = Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key", by="tester")
    yield led
    led.close()


def _fill(led: Ledger, n: int) -> None:
    for i in range(n):
        led.allocate(f"P{i:04d}", _strata(i), by="tester")


# -- 1. design and key ----------------------------------------------------------------------------------


def test_init_writes_a_0600_key_and_stores_only_its_commitment(tmp_path: Path) -> None:
    import hashlib

    led = Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key")
    led.close()
    key_file = tmp_path / "t.key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    key = bytes.fromhex(key_file.read_text().strip())
    assert len(key) == 32
    con = sqlite3.connect(tmp_path / "t.db")
    meta = dict(con.execute("SELECT key, value FROM meta"))
    con.close()
    assert meta["key_commitment"] == hashlib.sha256(key).hexdigest()
    assert meta["trial_id"] == "INKLUSION-2"
    assert json.loads(meta["design"])["factors"] == [["site", ["Copenhagen", "Odense"]], ["sex", ["F", "M"]]]
    raw = (tmp_path / "t.db").read_bytes()
    assert key.hex().encode() not in raw and key not in raw  # the key itself is nowhere in the database


def test_init_never_overwrites_a_ledger_or_a_key(tmp_path: Path) -> None:
    Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key").close()
    before = (tmp_path / "t.key").read_text()
    with pytest.raises(LedgerError, match="already exists"):
        Ledger.init(tmp_path / "t.db", _design(), tmp_path / "other.key")
    with pytest.raises(LedgerError, match="already exists"):
        Ledger.init(tmp_path / "new.db", _design(), tmp_path / "t.key")
    assert (tmp_path / "t.key").read_text() == before
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "other.key").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block_sizes": [4]}, "not positive multiples"),
        ({"arms": ["IPS"]}, "at least two arms"),
        ({"factors": {"site": []}}, "allowed levels"),
        ({"factors": {"site": ["A", "A"]}}, "level twice"),
        ({"factors": {"site": ["A|B"]}}, "none of"),
        ({"trial_id": ""}, "trial_id"),
    ],
)
def test_bad_designs_are_refused(kwargs: dict, match: str) -> None:
    args = {"trial_id": "T", "arms": ["IPS", "IPSE", "SAU"], "block_sizes": [3, 6], "factors": FACTORS}
    with pytest.raises(DesignError, match=match):
        LedgerDesign(**{**args, **kwargs})


def test_design_json_round_trip() -> None:
    d = LedgerDesign("T", ["A", "B"], [2, 4], FACTORS, ratio=[1, 1])
    assert LedgerDesign.from_json(d.to_json()) == d


# -- 2. allocation ----------------------------------------------------------------------------------------


def test_allocate_is_idempotent_and_draws_nothing_again(ledger: Ledger) -> None:
    first = ledger.allocate("P0001", {"site": "Odense", "sex": "F"})
    again = ledger.allocate("P0001", {"sex": "F", "site": "Odense"})
    assert first.new and not again.new
    assert (again.seq, again.arm, again.block, again.position) == (first.seq, first.arm, 1, 1)
    assert len(ledger.rows()) == 1  # nothing drawn, nothing appended
    nxt = ledger.allocate("P0002", {"site": "Odense", "sex": "F"})
    assert (nxt.seq, nxt.block, nxt.position) == (2, 1, 2)  # the repeat did not consume a block entry


def test_reallocating_in_another_stratum_is_refused(ledger: Ledger) -> None:
    ledger.allocate("P0001", {"site": "Odense", "sex": "F"})
    with pytest.raises(LedgerError, match="allocated .* in stratum 'site=Odense\\|sex=F'"):
        ledger.allocate("P0001", {"site": "Copenhagen", "sex": "F"})


def test_blocks_are_balanced_within_strata(ledger: Ledger) -> None:
    _fill(ledger, 160)
    rows = [r for r in ledger.rows() if r["kind"] == "allocation"]
    assert [r["seq"] for r in rows] == list(range(1, 161))
    blocks: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in rows:
        blocks[(r["stratum"], r["block"])].append(r)
    last = {s: max(b for (t, b) in blocks if t == s) for s, _ in blocks}
    assert len(last) == 4
    complete = 0
    for (stratum, block), members in blocks.items():
        assert [m["position"] for m in members] == list(range(1, len(members) + 1))
        if block < last[stratum]:  # a later block exists: this one is complete
            complete += 1
            assert len(members) in (3, 6)
            counts = Counter(m["arm"] for m in members)
            assert set(counts) == {"IPS", "IPSE", "SAU"} and len(set(counts.values())) == 1
    assert complete >= 4 * (40 // 6 - 1)  # 40 per stratum: at least 5 complete blocks of <= 6 each
    status = ledger.status()
    for stratum, counts in status["by_stratum"].items():  # imbalance at most half the largest block
        assert max(counts.values()) - min(counts.values()) <= 3, stratum


def test_both_block_sizes_occur_and_arms_vary(ledger: Ledger) -> None:
    _fill(ledger, 160)
    sizes = Counter()
    firsts = Counter()
    blocks: dict[tuple[str, int], list[str]] = defaultdict(list)
    for r in ledger.rows():
        blocks[(r["stratum"], r["block"])].append(r["arm"])
    for (stratum, block), arms in blocks.items():
        if (stratum, block + 1) in blocks:
            sizes[len(arms)] += 1
            firsts[arms[0]] += 1
    # P(all of >= 20 complete blocks the same size) = 2 * 2**-20: a real failure, not chance
    assert set(sizes) == {3, 6}
    assert set(firsts) == {"IPS", "IPSE", "SAU"}


def test_withdrawal_and_exclusion_are_appended_never_changing_the_allocation(ledger: Ledger) -> None:
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
    assert ledger.verify(ledger.path.with_suffix(".key")).ok


def test_by_defaults_to_the_os_user(ledger: Ledger) -> None:
    import getpass

    assert ledger.allocate("P1", {"site": "Odense", "sex": "M"}).by == getpass.getuser()
    assert ledger.allocate("P2", {"site": "Odense", "sex": "M"}, by="nurse").by == "nurse"


# -- 3. status, export, verify ----------------------------------------------------------------------------


def test_status_counts_by_stratum_and_arm(ledger: Ledger) -> None:
    _fill(ledger, 30)
    status = ledger.status()
    arms = Counter((r["stratum"], r["arm"]) for r in ledger.rows())
    assert status["allocations"] == 30
    assert {(s, a): n for s, c in status["by_stratum"].items() for a, n in c.items() if n} == dict(arms)
    assert not any("next" in k for k in status)


def test_export_writes_allocations_with_provenance(ledger: Ledger, tmp_path: Path) -> None:
    import pandas as pd

    _fill(ledger, 12)
    ledger.withdraw("P0003", "withdrawal", "moved")
    prov = ledger.export(tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    header = {ln[2:].split(": ", 1)[0]: ln[2:].split(": ", 1)[1] for ln in lines if ln.startswith("# ")}
    assert header["trial_id"] == "INKLUSION-2" and header["rows"] == "13"
    assert header["key_commitment"] == ledger.commitment and header["last_mac"] == ledger.rows()[-1]["mac"]
    assert prov["last_seq"] == 13
    frame = pd.read_csv(tmp_path / "out.csv", comment="#")
    assert len(frame) == 12 and list(frame["participant"]) == [f"P{i:04d}" for i in range(12)]
    assert frame.loc[frame.participant == "P0003", "withdrawn"].item() == 1 and frame["withdrawn"].sum() == 1
    assert list(frame["arm"]) == [r["arm"] for r in ledger.rows() if r["kind"] == "allocation"]


def test_verify_replays_allocations(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 40)
    report = ledger.verify(tmp_path / "t.key")
    assert report.ok and report.keyed and report.rows == 40, report.summary()
    # the replay is checked: the same rows re-signed with another key's blocks would differ; here an arm
    # changed with its mac recomputed by someone holding the key is still caught by the replay
    from ipstrial.ledger._key import read_key_file
    from ipstrial.ledger._ledger import row_mac

    key = read_key_file(tmp_path / "t.key")
    con = sqlite3.connect(tmp_path / "t.db")
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM entries WHERE seq = 40").fetchone())
    row["arm"] = next(a for a in ("IPS", "IPSE", "SAU") if a != row["arm"])
    con.execute("UPDATE entries SET arm = ?, mac = ? WHERE seq = 40", (row["arm"], row_mac(key, row)))
    from ipstrial.ledger._ledger import head_value

    con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (head_value(key, 40, row_mac(key, row)),))
    con.commit()
    con.close()
    report = ledger.verify(tmp_path / "t.key")
    assert not report.ok and report.first_broken_seq == 40
    assert all("design and key give" in what for _, what in report.problems), report.summary()


def _tamper(db: Path, *sql: str) -> None:
    con = sqlite3.connect(db)
    for statement in sql:
        con.execute(statement)
    con.commit()
    con.close()


def test_verify_finds_an_edited_arm(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 20)
    arm = ledger.rows()[6]["arm"]
    other = next(a for a in ("IPS", "IPSE", "SAU") if a != arm)
    _tamper(tmp_path / "t.db", f"UPDATE entries SET arm = '{other}' WHERE seq = 7")
    report = ledger.verify(tmp_path / "t.key")
    assert report.first_broken_seq == 7, report.summary()
    assert any(s == 7 and "mac does not match" in w for s, w in report.problems)
    assert "first broken row seq 7" in report.summary()
    assert ledger.verify().ok  # without the key an edit is invisible: the chain needs the key


def test_verify_finds_a_deleted_row(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 20)
    _tamper(tmp_path / "t.db", "DELETE FROM entries WHERE seq = 12")
    for key_file in (None, tmp_path / "t.key"):
        report = ledger.verify(key_file)
        assert report.first_broken_seq == 12, report.summary()
        assert "seq 12 is missing" in report.problems[0][1]


def test_verify_finds_deleted_last_rows(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 20)
    _tamper(tmp_path / "t.db", "DELETE FROM entries WHERE seq >= 19")
    report = ledger.verify(tmp_path / "t.key")
    assert report.first_broken_seq == 19, report.summary()
    assert "head names seq 20" in report.summary()


def test_verify_finds_a_forged_row(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 20)
    last = ledger.rows()[-1]
    _tamper(
        tmp_path / "t.db",
        "INSERT INTO entries (seq, kind, participant, stratum, strata, arm, block, position, reason, at, by, "
        f"prev_mac, mac) VALUES (21, 'allocation', 'P9999', 'site=Odense|sex=F', "
        f"'{{\"sex\":\"F\",\"site\":\"Odense\"}}', 'IPS', 9, 1, NULL, '2026-01-01', 'x', '{last['mac']}', "
        f"'{'0' * 64}')",
    )
    report = ledger.verify(tmp_path / "t.key")
    assert report.first_broken_seq == 21, report.summary()
    assert any(s == 21 and "mac does not match" in w for s, w in report.problems)
    # and the next allocation refuses to build on a ledger whose head no longer names its last row
    with pytest.raises(LedgerError, match="inconsistent"):
        ledger.allocate("P5555", {"site": "Odense", "sex": "F"})


def test_verify_without_key_finds_a_duplicate_participant(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 5)
    _tamper(
        tmp_path / "t.db",
        "DROP INDEX entries_participant_kind",
        "INSERT INTO entries SELECT 6, kind, participant, stratum, strata, arm, block, position + 1, reason, "
        "at, by, mac, mac FROM entries WHERE seq = 5",
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


def test_another_trial_id_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="belongs to trial 'INKLUSION-2', not 'OTHER'"):
        Ledger.open(tmp_path / "t.db", trial_id="OTHER")
    Ledger.open(tmp_path / "t.db", trial_id="INKLUSION-2").close()


def test_another_format_version_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    _tamper(tmp_path / "t.db", "UPDATE meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(LedgerError, match="format version '99'"):
        Ledger.open(tmp_path / "t.db")


def test_a_wrong_key_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    Ledger.init(tmp_path / "b.db", _design(), tmp_path / "b.key").close()
    with pytest.raises(LedgerError, match="not this ledger's key"):
        Ledger.open(tmp_path / "t.db", key_file=tmp_path / "b.key")
    with pytest.raises(LedgerError, match="not this ledger's key"):
        ledger.verify(tmp_path / "b.key")
    (tmp_path / "junk.key").write_text("not hex")
    os.chmod(tmp_path / "junk.key", 0o600)
    with pytest.raises(LedgerError, match="32-byte hex key"):
        ledger.verify(tmp_path / "junk.key")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_file_readable_by_others_is_refused(ledger: Ledger, tmp_path: Path, mode: int) -> None:
    os.chmod(tmp_path / "t.key", mode)
    with pytest.raises(LedgerError, match=f"mode {mode:04o} .*chmod 600"):
        Ledger.open(tmp_path / "t.db", key_file=tmp_path / "t.key")


def test_allocating_without_the_key_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    with (
        Ledger.open(tmp_path / "t.db") as reader,
        pytest.raises(LedgerError, match="needs the allocation key"),
    ):
        reader.allocate("P1", {"site": "Odense", "sex": "F"})


def test_databases_that_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger database at"):
        Ledger.open(tmp_path / "absent.db")
    with pytest.raises(LedgerError, match="folder does not exist"):
        Ledger.init(tmp_path / "no" / "dir" / "t.db", _design(), tmp_path / "k.key")
    (tmp_path / "text.db").write_text("this is not a database, just some text " * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger database"):
        Ledger.open(tmp_path / "text.db")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(LedgerError, match="not an ipstrial ledger"):
        Ledger.open(tmp_path / "other.db")


def test_an_edited_design_is_found(ledger: Ledger, tmp_path: Path) -> None:
    _fill(ledger, 10)
    design = json.loads(ledger.meta["design"])
    design["block_sizes"] = [3]  # still a valid design: only the chain can tell
    _tamper(tmp_path / "t.db", f"UPDATE meta SET value = '{json.dumps(design)}' WHERE key = 'design'")
    with Ledger.open(tmp_path / "t.db") as led:
        report = led.verify(tmp_path / "t.key")
    assert report.first_broken_seq == 1 and "prev_mac" in report.problems[0][1], report.summary()
    _tamper(tmp_path / "t.db", "UPDATE meta SET value = '{\"arms\": 1' WHERE key = 'design'")
    with pytest.raises(LedgerError, match="unreadable or inconsistent design record"):
        Ledger.open(tmp_path / "t.db")
    _tamper(tmp_path / "t.db", "DELETE FROM meta WHERE key = 'design'")
    with pytest.raises(LedgerError, match="unreadable or inconsistent design record"):
        Ledger.open(tmp_path / "t.db")


def test_unequal_ratio_and_no_factors(tmp_path: Path) -> None:
    design = LedgerDesign("T", ["IPS", "SAU"], [3, 6], ratio=[2, 1])
    with Ledger.init(tmp_path / "r.db", design, tmp_path / "r.key") as led:
        for i in range(60):
            assert led.allocate(f"P{i}").stratum == "-"
        blocks: dict[int, list[str]] = defaultdict(list)
        for r in led.rows():
            blocks[r["block"]].append(r["arm"])
        for block, arms in blocks.items():
            if block + 1 in blocks:  # complete: IPS exactly twice as often as SAU
                assert len(arms) in (3, 6) and arms.count("IPS") == 2 * arms.count("SAU")
        assert led.verify(tmp_path / "r.key").ok
        with pytest.raises(LedgerError, match="unknown stratification factor"):
            led.allocate("P99", {"site": "Odense"})


def test_a_locked_database_gives_a_clear_error_within_the_busy_timeout(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipstrial.ledger import _store

    monkeypatch.setattr(_store, "BUSY_TIMEOUT_S", 0.3)  # the real 30 s, shortened for the test
    holder = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock and never lets go
    try:
        with Ledger.open(tmp_path / "t.db", tmp_path / "t.key") as led:
            with pytest.raises(LedgerError, match="locked by another writer"):
                led.allocate("P1", {"site": "Odense", "sex": "F"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ledger.allocate("P1", {"site": "Odense", "sex": "F"}).seq == 1  # nothing half-recorded
