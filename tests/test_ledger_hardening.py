"""What a reviewer did to the ledger, each a test: races, overwrites, a rollback, damage, odd input."""

from __future__ import annotations

import json
import multiprocessing as mp
import stat
from pathlib import Path

import pandas as pd
import pytest
from conftest import LedgerBackend

from ipstrial.cli import main
from ipstrial.errors import DesignError, LedgerError
from ipstrial.ledger import Ledger, LedgerDesign, read_export

FACTORS = {"site": ["Copenhagen", "Odense"], "sex": ["F", "M"]}


def _design() -> LedgerDesign:
    return LedgerDesign("T", ["IPS", "IPSE", "SAU"], [3, 6], FACTORS)


def _fill(led: Ledger, n: int, start: int = 0) -> list:
    return [
        led.allocate(f"P{i:04d}", {"site": FACTORS["site"][i % 2], "sex": FACTORS["sex"][i // 2 % 2]})
        for i in range(start, start + n)
    ]


# -- creating -------------------------------------------------------------------------------------------
def _init(db: str, key: str, barrier, results) -> None:  # noqa: ANN001 - multiprocessing objects
    barrier.wait()
    try:
        Ledger.init(db, _design(), key).close()
        results.put(("ok", key))
    except LedgerError as exc:
        results.put(("refused", str(exc)))


def test_of_processes_creating_one_sqlite_ledger_one_succeeds_and_its_ledger_stays(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    for attempt in range(8):
        db = str(tmp_path / f"race{attempt}.db")
        barrier, results = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_init, args=(db, str(tmp_path / f"k{attempt}-{i}"), barrier, results))
                 for i in range(6)]  # fmt: skip
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes = [results.get(timeout=5) for _ in procs]
        winners = [key for what, key in outcomes if what == "ok"]
        assert len(winners) == 1, outcomes
        assert all("already exists" in text for what, text in outcomes if what == "refused")
        with Ledger.open(db, winners[0]) as led:  # the winner's ledger is there, with the winner's key
            assert led.allocate("P1", {"site": "Odense", "sex": "F"}).seq == 1
        assert sorted(p.name for p in tmp_path.glob(f"k{attempt}-*")) == [Path(winners[0]).name]


def test_the_database_and_the_export_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    with Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key") as led:
        _fill(led, 3)
        led.export(tmp_path / "out.csv")
    for name in ("t.db", "t.key", "out.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


# -- the export never overwrites the ledger, a key, or (without --force) anything --------------------------
def test_the_export_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db, key = tmp_path / "t.db", tmp_path / "t.key"
    with Ledger.init(db, _design(), key) as led:
        _fill(led, 3)
        before = db.read_bytes(), key.read_text()
        for target, match in ((db, "the ledger's own database"), (key, "holds an allocation key")):
            for overwrite in (False, True):
                with pytest.raises(LedgerError, match=match):
                    led.export(target, overwrite=overwrite)
        assert (db.read_bytes(), key.read_text()) == before
        led.export(tmp_path / "out.csv")
        with pytest.raises(LedgerError, match="already exists; give another name, or --force"):
            led.export(tmp_path / "out.csv")
        _fill(led, 1, start=3)
        assert led.export(tmp_path / "out.csv", overwrite=True)["last_seq"] == 4
    assert main(["ledger", "export", "--db", str(db), "--out", str(key), "--force"]) == 2
    assert "holds an allocation key" in capsys.readouterr().err
    assert key.read_text() == before[1]
    assert not list(tmp_path.glob(".*.tmp"))


# -- a ledger cut back to an earlier state -----------------------------------------------------------------
def test_a_rollback_is_found_by_receipts_and_earlier_exports(backend: LedgerBackend, tmp_path: Path) -> None:
    with Ledger.init(backend.db, _design(), backend.key) as led:
        _fill(led, 3)
        old_head = backend.sql("SELECT value FROM meta WHERE key = 'head'")[0][0]
        later = _fill(led, 2, start=3)  # P0003 and P0004 are told their arms
        led.export(tmp_path / "after5.csv")
    # someone with write access cuts the ledger back and restores the head saved earlier
    backend.sql("DELETE FROM entries WHERE seq > 3")
    backend.sql("UPDATE meta SET value = ? WHERE key = 'head'", params=(old_head,))
    with Ledger.open(backend.db) as led:
        assert led.verify(backend.key).ok  # a consistent chain: the ledger alone cannot tell
        report = led.verify(backend.key, receipts=[later[-1].receipt])
        assert report.first_broken_seq == 5 and "no longer has" in report.summary(), report.summary()
        report = led.verify(against=[tmp_path / "after5.csv"])
        assert not report.ok and "cut back" in report.summary()
        with pytest.raises(LedgerError, match="not SEQ:MAC"):
            led.verify(receipts=["five"])


def test_a_process_that_saw_later_rows_refuses_a_rolled_back_ledger(backend: LedgerBackend) -> None:
    with Ledger.init(backend.db, _design(), backend.key) as led:
        _fill(led, 3)
        old_head = backend.sql("SELECT value FROM meta WHERE key = 'head'")[0][0]
        _fill(led, 2, start=3)
        backend.sql("DELETE FROM entries WHERE seq > 3")
        backend.sql("UPDATE meta SET value = ? WHERE key = 'head'", params=(old_head,))
        with pytest.raises(LedgerError, match="fails its check at seq 5 .*removed or changed"):
            _fill(led, 1, start=5)


def test_allocate_prints_a_receipt_that_verify_accepts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db, key = str(tmp_path / "t.db"), str(tmp_path / "t.key")
    main(
        ["ledger", "init", "--db", db, "--key", key, "--trial-id", "T", "--arms", "A,B", "--block-sizes", "2"]
    )
    capsys.readouterr()
    assert main(["ledger", "allocate", "--db", db, "--key", key, "--participant", "P1"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() in ("A", "B")  # stdout holds the arm alone
    receipt = err.split()[1]
    assert receipt.startswith("1:") and len(receipt) == 2 + 16
    assert main(["ledger", "verify", "--db", db, "--receipt", receipt]) == 0
    assert main(["ledger", "verify", "--db", db, "--receipt", "1:" + "0" * 16]) == 1
    assert "does not match the row's mac" in capsys.readouterr().out


# -- a damaged database: one-line errors, never a traceback, nothing drawn from it -------------------------
@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("UPDATE entries SET strata = 'x' WHERE seq = 2", "fails its check at seq 2"),
        ("UPDATE entries SET arm = 'Z' WHERE seq = 2", "fails its check at seq 2"),
        ("UPDATE meta SET value = 'x' WHERE key = 'head'", "head record"),
        ("DELETE FROM meta WHERE key = 'head'", "head record"),
        # a count edited to steer minimization's next draw: the row's mac no longer matches
        ('UPDATE entries SET strata = \'{"sex":"M","site":"Odense"}\' WHERE seq = 3', "at seq 3"),
    ],
)
def test_a_damaged_ledger_is_refused_before_anything_is_drawn(
    backend: LedgerBackend, sql: str, match: str
) -> None:
    with Ledger.init(backend.db, _design(), backend.key) as led:
        _fill(led, 4)
    backend.sql(sql)
    with Ledger.open(backend.db, backend.key) as led:
        with pytest.raises(LedgerError, match=match):
            _fill(led, 1, start=4)
        assert not led.verify(backend.key).ok
    assert backend.sql("SELECT count(*) FROM entries")[0][0] == 4


def test_damaged_rows_give_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import sqlite3

    db, key = tmp_path / "t.db", tmp_path / "t.key"
    with Ledger.init(db, _design(), key) as led:
        _fill(led, 4)
    con = sqlite3.connect(db)
    con.execute("UPDATE entries SET strata = '[1]' WHERE seq = 2")
    con.commit()
    assert main(["ledger", "export", "--db", str(db), "--out", str(tmp_path / "e.csv")]) == 2
    assert "row seq 2 is damaged" in capsys.readouterr().err
    con.execute("UPDATE entries SET seq = 'abc' WHERE seq = 3")
    con.commit()
    con.close()
    assert main(["ledger", "verify", "--db", str(db), "--key", str(key)]) == 1
    assert "seq 'abc', not a whole number" in capsys.readouterr().out


# -- odd input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "participant",
    ["P1\u200b", "Pe\u0301", "P\x1b[2J", "P\x00", "P\u202e1"],
    ids=["zero-width", "decomposed", "escape", "nul", "bidi"],
)
def test_ids_that_look_like_another_are_refused(tmp_path: Path, participant: str) -> None:
    with Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key") as led:
        with pytest.raises(LedgerError, match="cannot be seen|normal form C"):
            led.allocate(participant, {"site": "Odense", "sex": "F"})
        led.allocate("P\u00e9", {"site": "Odense", "sex": "F"})  # é as one character is fine
        with pytest.raises(LedgerError, match="one line"):
            led.withdraw("P\u00e9", reason="moved\nabroad")
        with pytest.raises(LedgerError, match="at most 500"):
            led.withdraw("P\u00e9", reason="x" * 501)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"factors": {"by": ["a", "b"]}}, "is a flag of 'ipstrial ledger allocate'"),
        ({"factors": {"Participant": ["a", "b"]}}, "is a flag"),
        ({"block_sizes": [3, 3000]}, "larger than 1000"),
        ({"factors": {"site\u200b": ["a", "b"]}}, "cannot be seen"),
        ({"arms": ["IPS", "IPS\u00a0"]}, "spaces"),
    ],
)
def test_designs_a_reviewer_tried(kwargs: dict, match: str) -> None:
    args = {"trial_id": "T", "arms": ["IPS", "IPSE", "SAU"], "block_sizes": [3, 6], "factors": FACTORS}
    with pytest.raises(DesignError, match=match):
        LedgerDesign(**{**args, **kwargs})


def test_minimization_weights_that_are_not_numbers(tmp_path: Path) -> None:
    (tmp_path / "d.toml").write_text(
        'trial_id = "T"\nscheme = "minimization"\narms = ["A", "B"]\nweights = { site = "x" }\n'
        '[factors]\nsite = ["a", "b"]\n'
    )
    with pytest.raises(DesignError, match="weights .* must be numbers"):
        LedgerDesign.from_toml(tmp_path / "d.toml")


@pytest.mark.parametrize("content", [b"\xbe\xef" * 32, None], ids=["binary", "a folder"])
def test_key_files_that_are_not_keys(tmp_path: Path, capsys: pytest.CaptureFixture, content) -> None:  # noqa: ANN001
    db = tmp_path / "t.db"
    Ledger.init(db, _design(), tmp_path / "t.key").close()
    bad = tmp_path / "bad.key"
    if content is None:
        bad.mkdir(mode=0o700)
    else:
        bad.write_bytes(content)
        bad.chmod(0o600)
    assert main(["ledger", "verify", "--db", str(db), "--key", str(bad)]) == 2
    assert "does not hold a 32-byte hex key" in capsys.readouterr().err


def test_the_os_user_behind_sudo_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setenv("SUDO_USER", "nurse1")
    with Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key") as led:
        a = led.allocate("P1", {"site": "Odense", "sex": "F"})
    assert a.by == f"nurse1 (as {getpass.getuser()})"


def test_a_password_never_reaches_a_message(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    for url in ("postgresql://u:S3cretPW@[::1/x", "postgresql://u:S3cretPW@127.0.0.1:1/x"):
        with pytest.raises(LedgerError) as err:
            Ledger.open(url)
        assert "S3cretPW" not in str(err.value), str(err.value)


def test_an_upper_case_url_scheme_works(postgresql_backend: LedgerBackend) -> None:
    url = "POSTGRESQL" + postgresql_backend.db[len("postgresql") :]
    with Ledger.init(url, _design(), postgresql_backend.key) as led:
        assert led.db.startswith("postgresql://")


# -- the export joined to the outcomes keeps everyone -----------------------------------------------------
def test_with_outcomes_keeps_every_allocated_participant(tmp_path: Path) -> None:
    with Ledger.init(tmp_path / "t.db", _design(), tmp_path / "t.key") as led:
        _fill(led, 10)
        led.export(tmp_path / "e.csv")
    export = read_export(tmp_path / "e.csv")
    outcomes = pd.DataFrame({"participant": [f"P{i:04d}" for i in range(7)], "employed": [1, 0] * 3 + [1]})
    data = export.with_outcomes(outcomes)
    assert len(data) == 10 and data["employed"].isna().sum() == 3
    with pytest.raises(LedgerError, match="never allocated"):
        export.with_outcomes(pd.DataFrame({"participant": ["P0001", "X9"], "employed": [1, 0]}))
    with pytest.raises(LedgerError, match="appear twice"):
        export.with_outcomes(pd.DataFrame({"participant": ["P0001", "P0001"], "employed": [1, 0]}))
    with pytest.raises(LedgerError, match="columns of the export \\['arm'\\]"):
        export.with_outcomes(pd.DataFrame({"participant": ["P0001"], "arm": ["x"]}))
    assert json.loads(json.dumps(export.provenance["allocations"])) == 10


def test_the_issue_allocate_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The issue's command lines, with --factor for its --strata (and no --seed; see the README)."""
    db, key = str(tmp_path / "trial.db"), str(tmp_path / "trial.key")
    init = ["--trial-id", "T", "--arms", "IPS,IPSE,SAU", "--block-sizes", "3,6"]
    factors = ["--factor", "site=Copenhagen,Odense", "--factor", "sex=F,M"]
    assert main(["ledger", "init", "--db", db, "--key", key, *init, *factors]) == 0
    assert main(["ledger", "allocate", "--db", db, "--key", key, "--participant", "P0001",
                 "--site", "Odense", "--sex", "F"]) == 0  # fmt: skip
    assert capsys.readouterr().out.strip().splitlines()[-1] in ("IPS", "IPSE", "SAU")
