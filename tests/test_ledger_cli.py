"""The ``ipstrial ledger`` command line: one test per sub-command, and its one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from conftest import LedgerBackend

from ipstrial.cli import main

INIT = ["--trial-id", "X", "--arms", "IPS,IPSE,SAU", "--block-sizes", "3,6"]
FACTORS = ["--factor", "site=Copenhagen,Odense", "--factor", "sex=F,M"]


@pytest.fixture
def files(tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[str, str]:
    db, key = str(tmp_path / "trial.db"), str(tmp_path / "trial.key")
    assert main(["ledger", "init", "--db", db, "--key", key, *INIT, *FACTORS]) == 0
    capsys.readouterr()
    return db, key


def _allocate(db: str, key: str, participant: str, *sets: str) -> list[str]:
    args = ["ledger", "allocate", "--db", db, "--key", key, "--participant", participant]
    for s in sets:
        args += ["--set", s]
    return args


def test_init(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db, key = tmp_path / "trial.db", tmp_path / "trial.key"
    assert main(["ledger", "init", "--db", str(db), "--key", str(key), *INIT, *FACTORS]) == 0
    out = capsys.readouterr().out
    assert "created for trial 'X'" in out and "mode 0600" in out
    assert (key.stat().st_mode & 0o777) == 0o600
    design = json.loads(dict(sqlite3.connect(db).execute("SELECT key, value FROM meta"))["design"])
    assert design["arms"] == ["IPS", "IPSE", "SAU"] and design["block_sizes"] == [3, 6]
    assert design["factors"] == [["site", ["Copenhagen", "Odense"]], ["sex", ["F", "M"]]]
    # a second init on the same files: one line, exit 2
    assert main(["ledger", "init", "--db", str(db), "--key", str(key), *INIT]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and err.startswith("ipstrial ledger: error:")


def test_init_bad_block_sizes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["ledger", "init", "--db", str(tmp_path / "a.db"), "--key", str(tmp_path / "a.key")]
    assert main([*args, "--trial-id", "X", "--arms", "A,B,C", "--block-sizes", "4"]) == 2
    assert "not positive multiples of the allocation total 3" in capsys.readouterr().err
    assert main([*args, "--trial-id", "X", "--arms", "A,B", "--block-sizes", "two"]) == 2
    assert "comma-separated whole numbers" in capsys.readouterr().err
    assert not (tmp_path / "a.db").exists()


def test_allocate_prints_the_arm_and_is_idempotent(
    files: tuple[str, str], capsys: pytest.CaptureFixture
) -> None:
    db, key = files
    assert main([*_allocate(db, key, "P0001", "site=Odense", "sex=F"), "--by", "nurse"]) == 0
    arm = capsys.readouterr().out.strip()
    assert arm in {"IPS", "IPSE", "SAU"}
    assert main(_allocate(db, key, "P0001", "site=Odense", "sex=F")) == 0
    assert capsys.readouterr().out.strip() == arm
    row = sqlite3.connect(db).execute("SELECT count(*), max(by), max(arm) FROM entries").fetchone()
    assert row == (1, "nurse", arm)


@pytest.mark.parametrize(
    ("sets", "match"),
    [
        (["site=Aarhus", "sex=F"], "unknown value 'Aarhus' of stratification factor 'site'"),
        (["site=Odense"], "missing value of stratification factor 'sex'"),
        (["site"], "is not NAME=VALUE"),
    ],
)
def test_allocate_bad_values(
    files: tuple[str, str], capsys: pytest.CaptureFixture, sets: list, match: str
) -> None:
    db, key = files
    assert main(_allocate(db, key, "P0001", *sets)) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_allocate_with_an_unsafe_key_file(files: tuple[str, str], capsys: pytest.CaptureFixture) -> None:
    db, key = files
    os.chmod(key, 0o644)
    assert main(_allocate(db, key, "P0001", "site=Odense", "sex=F")) == 2
    assert "mode 0644" in capsys.readouterr().err


def test_allocate_another_trial_id(files: tuple[str, str], capsys: pytest.CaptureFixture) -> None:
    db, key = files
    assert main([*_allocate(db, key, "P0001", "site=Odense", "sex=F"), "--trial-id", "Y"]) == 2
    assert "belongs to trial 'X', not 'Y'" in capsys.readouterr().err


def test_withdraw(files: tuple[str, str], capsys: pytest.CaptureFixture) -> None:
    db, key = files
    main(_allocate(db, key, "P0001", "site=Odense", "sex=F"))
    base = ["ledger", "withdraw", "--db", db, "--key", key, "--participant", "P0001"]
    assert main([*base, "--kind", "exclusion", "--reason", "ineligible"]) == 0
    assert "exclusion of P0001 recorded as seq 2" in capsys.readouterr().out
    assert main(["ledger", "withdraw", "--db", db, "--key", key, "--participant", "P0002"]) == 2
    assert "has not been allocated" in capsys.readouterr().err


def test_status(files: tuple[str, str], capsys: pytest.CaptureFixture) -> None:
    db, key = files
    for i in range(4):
        main(_allocate(db, key, f"P{i}", "site=Odense", f"sex={'FM'[i % 2]}"))
    capsys.readouterr()
    assert main(["ledger", "status", "--db", db, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["allocations"] == 4
    assert {s: sum(c.values()) for s, c in status["by_stratum"].items()} == {
        "site=Odense|sex=F": 2,
        "site=Odense|sex=M": 2,
    }
    assert main(["ledger", "status", "--db", db]) == 0
    assert "trial X: 4 allocations" in capsys.readouterr().out


def test_export(files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db, key = files
    main(_allocate(db, key, "P1", "site=Odense", "sex=F"))
    out = tmp_path / "alloc.csv"
    assert main(["ledger", "export", "--db", db, "--out", str(out)]) == 0
    assert "1 rows exported" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert lines[0] == "# trial_id: X" and lines[-1].startswith("1,P1,Odense,F,site=Odense|sex=F,")


def test_verify(files: tuple[str, str], capsys: pytest.CaptureFixture) -> None:
    db, key = files
    for i in range(6):
        main(_allocate(db, key, f"P{i}", "site=Odense", "sex=F"))
    capsys.readouterr()
    assert main(["ledger", "verify", "--db", db, "--key", key]) == 0
    assert "verified with the key: 6 rows" in capsys.readouterr().out
    con = sqlite3.connect(db)
    con.execute("UPDATE entries SET by = 'mallory' WHERE seq = 4")
    con.commit()
    con.close()
    assert main(["ledger", "verify", "--db", db, "--key", key]) == 1
    assert "first broken row seq 4" in capsys.readouterr().out
    assert main(["ledger", "verify", "--db", db + ".missing"]) == 2
    assert "no ledger database at" in capsys.readouterr().err


def test_allocate_takes_factor_values_as_their_own_flags(
    files: tuple[str, str], capsys: pytest.CaptureFixture
) -> None:
    db, key = files
    base = ["ledger", "allocate", "--db", db, "--key", key]
    assert main([*base, "--participant", "P1", "--site", "Odense", "--sex", "F"]) == 0
    assert main([*base, "--participant", "P2", "--site=Copenhagen", "--set", "sex=M"]) == 0
    rows = sqlite3.connect(db).execute("SELECT participant, stratum FROM entries ORDER BY seq").fetchall()
    assert rows == [("P1", "site=Odense|sex=F"), ("P2", "site=Copenhagen|sex=M")]
    capsys.readouterr()
    assert main([*base, "--participant", "P3", "--site", "Odense", "--sex", "F", "--site", "Odense"]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main([*base, "--participant", "P3", "--site"]) == 2
    assert "--site needs a value" in capsys.readouterr().err
    assert main([*base, "--participant", "P3", "--site", "Odense", "--sex", "F", "--age", "50"]) == 2
    assert "unknown stratification factor(s) ['age']" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # other commands take no extra flags
        main(["ledger", "status", "--db", db, "--site", "Odense"])
    assert "unrecognized arguments: --site Odense" in capsys.readouterr().err


def test_init_from_a_toml_design(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    design = tmp_path / "design.toml"
    design.write_text(
        'trial_id = "INKLUSION-2"\nscheme = "minimization"\narms = ["IPS", "IPSE", "SAU"]\np = 0.8\n'
        '[factors]\nsite = ["Copenhagen", "Odense"]\nsex = ["F", "M"]\n'
    )
    db, key = str(tmp_path / "t.db"), str(tmp_path / "t.key")
    assert main(["ledger", "init", "--db", db, "--key", key, "--design", str(design)]) == 0
    assert "(minimization)" in capsys.readouterr().out
    stored = json.loads(dict(sqlite3.connect(db).execute("SELECT key, value FROM meta"))["design"])
    assert (stored["scheme"], stored["p"], stored["imbalance"]) == ("minimization", 0.8, "range")
    args = ["ledger", "init", "--db", str(tmp_path / "u.db"), "--key", str(tmp_path / "u.key")]
    assert main([*args, "--design", str(design), "--arms", "A,B"]) == 2
    assert "--design" in capsys.readouterr().err and not (tmp_path / "u.db").exists()
    assert main([*args, "--arms", "A,B"]) == 2
    assert "give --trial-id" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "scheme"),
    [
        (["--scheme", "simple", "--ratio", "2,1"], "simple"),
        (["--scheme", "biased_coin", "--p", "0.75"], "biased_coin"),
        (["--scheme", "minimization", "--factor", "site=A,B", "--weights", "2", "--imbalance", "variance"],
         "minimization"),
        (["--block-sizes", "2,4"], "permuted_blocks"),
    ],
)  # fmt: skip
def test_init_each_scheme(tmp_path: Path, capsys: pytest.CaptureFixture, flags: list, scheme: str) -> None:
    db, key = str(tmp_path / "t.db"), str(tmp_path / "t.key")
    assert main(["ledger", "init", "--db", db, "--key", key, "--trial-id", "X", "--arms", "A,B", *flags]) == 0
    assert f"({scheme})" in capsys.readouterr().out
    extra = ["--site", "A"] if "--factor" in flags else []
    for i in range(5):
        assert main(["ledger", "allocate", "--db", db, "--key", key, "--participant", f"P{i}", *extra]) == 0
    assert main(["ledger", "verify", "--db", db, "--key", key]) == 0


def test_bad_scheme_flags(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["ledger", "init", "--db", str(tmp_path / "a.db"), "--key", str(tmp_path / "a.key")]
    assert main([*args, "--trial-id", "X", "--arms", "A,B", "--scheme", "simple", "--block-sizes", "2"]) == 2
    assert "block_sizes does not apply to scheme 'simple'" in capsys.readouterr().err
    assert main([*args, "--trial-id", "X", "--arms", "A,B", "--scheme", "biased_coin", "--p", "x"]) == 2
    assert "--p 'x' must be a number" in capsys.readouterr().err
    assert not (tmp_path / "a.db").exists() and not (tmp_path / "a.key").exists()


def test_the_cli_on_postgresql(postgresql_backend: LedgerBackend, capsys: pytest.CaptureFixture) -> None:
    backend = postgresql_backend
    key = str(backend.key)
    assert main(["ledger", "init", "--db", backend.db, "--key", key, *INIT, *FACTORS]) == 0
    assert main(["ledger", "allocate", "--db", backend.db, "--key", key, "--participant", "P1",
                 "--site", "Odense", "--sex", "F"]) == 0  # fmt: skip
    assert main(["ledger", "verify", "--db", backend.db, "--key", key]) == 0
    assert "verified with the key: 1 rows" in capsys.readouterr().out
