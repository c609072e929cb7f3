"""The ``ipstrial`` command line (ipstrial.cli), run in-process through ``main`` and once as a subprocess."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipstrial
from ipstrial.cli import main

ROOT = Path(__file__).parents[1]
COMMITTED = ROOT / "data/synthetic/inklusion.csv"
SUMS = ROOT / "data/synthetic/SHA256SUMS"
ARMS = ("IPS", "IPSE", "SAU")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command in-process, check it returns 0 and return its standard output."""
    code = main(list(argv))
    assert code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


# ----------------------------------------------------------------------------- version and help
def test_version_in_a_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "ipstrial", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"ipstrial {ipstrial.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", ipstrial.__version__)


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"ipstrial {ipstrial.__version__}\n"


def test_top_level_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ipstrial ")
    for command in ("simulate", "truth", "demo"):
        assert command in out
    assert "--version" in out


def test_no_command_prints_the_help(capsys):
    out = run(capsys)
    assert out.startswith("usage: ipstrial ")
    assert "simulate" in out and "truth" in out and "demo" in out


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("simulate", ("--scenario", "--seed", "--n", "--out")),
        ("truth", ("--scenario", "--out")),
        ("demo", ("--scenario", "--seed", "--n")),
    ],
)
def test_command_help(capsys, command, options):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: ipstrial {command} ")
    for option in options:
        assert option in out
    if command == "truth":
        assert "--seed" not in out


# ----------------------------------------------------------------------------- simulate
def test_committed_data_match_their_checksum():
    digest = hashlib.sha256(COMMITTED.read_bytes()).hexdigest()
    recorded = dict(line.split()[::-1] for line in SUMS.read_text().splitlines() if line.strip())
    assert recorded["inklusion.csv"] == digest


def test_simulate_seed_2012_reproduces_the_committed_file_byte_for_byte(capsys, tmp_path):
    out_file = tmp_path / "inklusion.csv"
    out = run(capsys, "simulate", "--seed", "2012", "--out", str(out_file))
    assert out == f"wrote 720 participants to {out_file} (scenario inklusion, seed 2012)\n"
    assert out_file.read_bytes() == COMMITTED.read_bytes()


def test_simulate_to_stdout(capsys):
    header = COMMITTED.read_text(encoding="utf-8").split("\n", 1)[0]
    out = run(capsys, "simulate", "--seed", "7", "--n", "50")
    assert out.endswith("\n") and "\r" not in out
    lines = out.split("\n")[:-1]
    assert lines[0] == header
    assert len(lines) == 51
    frame = pd.read_csv(io.StringIO(out))
    assert len(frame) == 50
    assert frame["participant_id"].tolist() == [f"P{i:04d}" for i in range(1, 51)]
    assert set(frame["arm"]) <= set(ARMS)

    again = run(capsys, "simulate", "--seed", "7", "--n", "50")
    assert again == out
    other = run(capsys, "simulate", "--seed", "8", "--n", "50")
    assert other != out
    assert other.split("\n", 1)[0] == header
    dash = run(capsys, "simulate", "--seed", "7", "--n", "50", "--out", "-")
    assert dash == out


@pytest.mark.parametrize("n", ["0", "-3"])
def test_simulate_rejects_a_non_positive_n(capsys, n):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--n", n])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"ipstrial simulate: error: argument --n: '{n}' is not a positive number of participants; "
        "give 1 or more, e.g. --n 720\n"
    )


def test_unknown_scenario_is_rejected(capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--scenario", "nonsense"])
    assert info.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- demo
def test_demo(capsys, tmp_path):
    """The demo simulates the default trial, runs analysis/inklusion.toml on it into a folder, prints the
    headline estimates beside the scenario's truths and the report's path."""
    import json

    out = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert out.startswith(f"ipstrial {ipstrial.__version__} demo: ")
    assert "720 participants randomised (seed 2012)" in out
    assert "stratified permuted blocks of 3 or 6 within site x employed_prev5y" in out
    lines = out.splitlines()
    # the headline: the proportions beside their true values 59.9 %, 59.1 % and 46.5 %
    proportions = {x.split()[2]: x.split() for x in lines if " Proportion " in x}
    assert list(proportions) == list(ARMS)
    assert proportions["IPS"][-2:] == ["59.9%", "itt_employment"] and proportions["SAU"][-2] == "46.5%"
    # the same numbers as the estimator on the same data (the seed-2012 trial is the committed file)
    from ipstrial.itt import compare_proportions
    from ipstrial.synthetic import simulate_trial

    frame = simulate_trial()
    interval = compare_proportions(frame, "employed_18m", "arm", "IPS", "SAU").interval("risk_difference")
    rd = next(x for x in lines if "Risk difference" in x and "IPS vs SAU" in x)
    assert (
        f"{100 * interval.estimate:.1f} pp" in rd
        and f"{100 * interval.low:.1f} to {100 * interval.high:.1f}" in rd
    )
    assert "13.4 pp" in rd
    assert any("Delta cost" in x and "-72,000 DKK" in x for x in lines)
    assert any("Delta cost" in x and "-55,000 DKK" in x for x in lines)
    report = tmp_path / "demo" / "report.html"
    assert f"report:  {report}" in out and report.is_file()
    document = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert document["provenance"]["data"]["note"].startswith("simulated by `ipstrial demo")
    # the simulated trial is the committed file, byte for byte: its hash is the plan's
    from ipstrial.plan import load_plan

    assert (
        document["provenance"]["data"]["sha256"]
        == load_plan(ROOT / "analysis" / "inklusion.toml").data["sha256"]
    )


# ----------------------------------------------------------------------------- truth
def test_truth_prints_the_calibrated_risk_difference(capsys):
    from ipstrial.synthetic import INKLUSION

    out = run(capsys, "truth")
    lines = out.splitlines()
    assert lines[0].split() == ["outcome", "estimand", "contrast", "value"]
    rows = [
        line.split()
        for line in lines
        if line.split()[:5] == ["employed_18m", "risk_difference", "IPS", "vs", "SAU"]
    ]
    assert len(rows) == 1 and len(rows[0]) == 6
    assert rows[0][5] == "0.134000"
    assert float(rows[0][5]) == 0.1340
    truth = INKLUSION.truth
    is_rd = (truth["estimand"] == "risk_difference") & (truth["contrast"] == "IPS vs SAU")
    stored = truth.loc[is_rd, "value"]
    assert stored.to_numpy() == pytest.approx([0.134], abs=1e-12)


def test_truth_null_scenario_to_file(capsys, tmp_path):
    out_file = tmp_path / "truth.csv"
    assert run(capsys, "truth", "--scenario", "inklusion-null", "--out", str(out_file)) == ""
    truth = pd.read_csv(out_file)
    assert {"outcome", "estimand", "contrast", "value"} <= set(truth.columns)
    rd = truth[truth["estimand"] == "risk_difference"]
    assert len(rd) >= 2
    assert set(rd["contrast"]) >= {"IPS vs SAU", "IPSE vs SAU"}
    np.testing.assert_allclose(rd["value"].to_numpy(dtype=float), 0.0, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- user errors: no traceback
def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command in-process, check it fails with exit status 2, prints nothing on standard output
    and no traceback; return its standard error."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refuses bad arguments with SystemExit(2)
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return captured.err


def one_line(err: str, command: str) -> str:
    """Check ``err`` is one line ``ipstrial <command>: error: <what is wrong>; <what to do>``."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"ipstrial {command}: error: "), err
    assert "; " in err, err
    return err


def test_budget_missing_file(capsys, tmp_path):
    path = tmp_path / "missing.toml"
    err = one_line(fails(capsys, "budget", str(path)), "budget")
    assert f"no such TOML file: '{path}' was not found; check the path" in err


def test_budget_directory(capsys, tmp_path):
    err = one_line(fails(capsys, "budget", str(tmp_path)), "budget")
    assert f"'{tmp_path}' is a directory, not a TOML file; give the path of a file" in err


def test_budget_binary_file(capsys, tmp_path):
    path = tmp_path / "picture.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    err = one_line(fails(capsys, "budget", str(path)), "budget")
    assert f"'{path}' is not UTF-8 text (byte 0x89 at offset 0), so not a TOML file; give a budget" in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\x00\x00", "Invalid statement (at line 1, column 1)"),
        (b'kind = "business_case"\nlines = [1,\n', "at end of document"),
    ],
)
def test_budget_text_that_is_not_toml(capsys, tmp_path, content, reason):
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    err = one_line(fails(capsys, "budget", str(path)), "budget")
    assert f"'{path}' is not valid TOML (" in err and reason in err and "; correct it there" in err


def test_budget_unreadable_file(capsys, tmp_path, monkeypatch):
    path = tmp_path / "secret.toml"
    path.write_text('kind = "business_case"\n', encoding="utf-8")

    def refuse(self):  # noqa: ANN001, ANN202 - stands in for Path.read_bytes
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    err = one_line(fails(capsys, "budget", str(path)), "budget")
    assert f"cannot read '{path}' (permission denied); make it readable" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_budget_unreadable_file_for_real(capsys, tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text('kind = "business_case"\n', encoding="utf-8")
    path.chmod(0)
    try:
        err = one_line(fails(capsys, "budget", str(path)), "budget")
    finally:
        path.chmod(0o600)
    assert f"cannot read '{path}' (permission denied)" in err


def test_budget_input_error_of_the_library_is_reported(capsys, tmp_path):
    path = tmp_path / "case.toml"
    path.write_text('title = "x"\n', encoding="utf-8")
    err = fails(capsys, "budget", str(path))
    assert err.count("\n") == 1 and err.startswith("ipstrial budget: error: ")
    assert "kind must be 'business_case' or 'projection'" in err


@pytest.mark.parametrize("command", ["simulate", "truth"])
def test_out_in_a_directory_that_does_not_exist(capsys, tmp_path, command):
    out = tmp_path / "no" / "such" / "dir" / "x.csv"
    err = one_line(fails(capsys, command, "--out", str(out)), command)
    assert f"the directory '{out.parent}' of --out '{out}' does not exist; create it first" in err
    assert not out.parent.exists()


@pytest.mark.parametrize("command", ["simulate", "truth"])
def test_out_below_a_file(capsys, tmp_path, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    out = blocker / "x.csv"
    err = one_line(fails(capsys, command, "--out", str(out)), command)
    assert f"'{blocker}' in --out '{out}' is not a directory; choose a path inside an existing" in err


@pytest.mark.parametrize("command", ["simulate", "truth"])
def test_out_is_a_directory(capsys, tmp_path, command):
    err = one_line(fails(capsys, command, "--out", str(tmp_path)), command)
    assert f"--out '{tmp_path}' is a directory, not a file; give a file name in it" in err


@pytest.mark.parametrize("command", ["simulate", "truth"])
def test_out_is_empty(capsys, command):
    err = one_line(fails(capsys, command, "--out", ""), command)
    assert "--out is empty; give a file name" in err


@pytest.mark.parametrize("command", ["simulate", "truth"])
def test_out_in_a_directory_that_is_not_writable(capsys, tmp_path, monkeypatch, command):
    target = tmp_path / "locked"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == target else real_access(p, mode))
    out = target / "x.csv"
    err = one_line(fails(capsys, command, "--out", str(out)), command)
    assert f"cannot write to the directory '{target}' of --out '{out}' (permission denied)" in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["simulate", "truth"])
def test_out_is_a_file_that_is_not_writable(capsys, tmp_path, monkeypatch, command):
    out = tmp_path / "readonly.csv"
    out.write_text("keep me\n", encoding="utf-8")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == out else real_access(p, mode))
    err = one_line(fails(capsys, command, "--out", str(out)), command)
    assert f"--out '{out}' exists and is not writable (permission denied)" in err
    assert out.read_text(encoding="utf-8") == "keep me\n"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_out_in_a_read_only_directory_for_real(capsys, tmp_path):
    target = tmp_path / "locked"
    target.mkdir()
    target.chmod(0o500)
    try:
        err = one_line(fails(capsys, "simulate", "--out", str(target / "x.csv")), "simulate")
    finally:
        target.chmod(0o700)
    assert f"cannot write to the directory '{target}'" in err


def test_out_is_checked_before_any_computation(capsys, tmp_path, monkeypatch):
    import ipstrial.synthetic

    def never(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("simulate_trial was called before --out was checked")

    monkeypatch.setattr(ipstrial.synthetic, "simulate_trial", never)
    one_line(fails(capsys, "simulate", "--out", str(tmp_path / "missing" / "x.csv")), "simulate")


def test_a_write_that_fails_after_the_checks(capsys, tmp_path, monkeypatch):
    out = tmp_path / "x.csv"

    def full(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - stands in for Path.write_text
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    err = one_line(fails(capsys, "truth", "--out", str(out)), "truth")
    assert err == f"ipstrial truth: error: '{out}': no space left on device; check the path and the disk " + (
        "(e.g. free space), or choose another path\n"
    )


@pytest.mark.parametrize(
    ("seed", "reason"),
    [
        ("-1", "is negative"),
        ("-2012", "is negative"),
        ("1.5", "is not a whole number"),
        ("1e3", "is not a whole number"),
        ("abc", "is not a whole number"),
        ("", "is not a whole number"),
        ("0x10", "is not a whole number"),
        (str(2**63), "is larger than 2**63 - 1"),
        (str(2**64 + 1), "is larger than 2**63 - 1"),
        ("9" * 5000, "is larger than 2**63 - 1"),
    ],
)
@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_bad_seeds(capsys, seed, reason, command):
    err = one_line(fails(capsys, command, f"--seed={seed}"), command)
    shown = repr(seed) if len(seed) <= 30 else repr(seed[:30]) + "..."
    assert err.startswith(f"ipstrial {command}: error: argument --seed: {shown} {reason}; ")
    assert f" {reason}; give a whole number from 0 to 2**63 - 1 ({2**63 - 1}), e.g. --seed 2012" in err


@pytest.mark.parametrize("seed", ["0", str(2**63 - 1)])
def test_seeds_at_the_ends_of_the_range_are_accepted(capsys, seed):
    out = run(capsys, "simulate", "--n", "5", "--seed", seed)
    assert len(out.splitlines()) == 6


def test_negative_seed_as_a_separate_argument(capsys):
    err = one_line(fails(capsys, "simulate", "--seed", "-1"), "simulate")
    assert "argument --seed: '-1' is negative" in err


@pytest.mark.parametrize(
    ("n", "reason"),
    [
        ("0", "is not a positive number of participants; give 1 or more"),
        ("-0", "is not a positive number of participants; give 1 or more"),
        ("-7", "is not a positive number of participants; give 1 or more"),
        ("2.5", "is not a whole number; --n is the number of participants"),
        ("many", "is not a whole number; --n is the number of participants"),
        ("1" * 5000, "is too large; --n is the number of participants"),
    ],
)
def test_bad_n(capsys, n, reason):
    err = one_line(fails(capsys, "simulate", f"--n={n}"), "simulate")
    assert "argument --n: " in err and reason in err


def test_argparse_errors_are_one_line(capsys):
    err = fails(capsys, "simulate", "--sed", "3")
    assert err == "ipstrial: error: unrecognized arguments: --sed 3; see 'ipstrial --help'\n"
    err = one_line(fails(capsys, "budget"), "budget")
    assert "the following arguments are required: FILE.toml; see 'ipstrial budget --help'" in err


def _raise_from_simulate(monkeypatch, error: BaseException) -> None:
    import ipstrial.synthetic

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise error

    monkeypatch.setattr(ipstrial.synthetic, "simulate_trial", broken)


def _ipstrial_errors() -> list[BaseException]:
    from ipstrial import errors
    from ipstrial.budget import BudgetInputError

    found = [
        errors.DesignError("block size 4 is not a multiple of 3; choose block sizes of 3 or 6"),
        errors.EstimationError("arm 'SAU' has no events; pool arms or report the counts"),
        BudgetInputError("lines[2].amount: 'x' is not a number; write a plain number"),
        errors.TrialDataError("the data have no rows; pass the trial data"),
    ]
    found += [
        getattr(errors, name)("bad value; fix it")
        for name in ("ParameterError", "MemoryBudgetError")
        if hasattr(errors, name)
    ]
    return found


@pytest.mark.parametrize("error", _ipstrial_errors(), ids=lambda e: type(e).__name__)
def test_ipstrial_errors_are_one_line(capsys, monkeypatch, error):
    _raise_from_simulate(monkeypatch, error)
    err = fails(capsys, "simulate", "--n", "5")
    assert err == f"ipstrial simulate: error: {error}\n"


def test_a_trial_data_error_keeps_its_numbered_problems(capsys, monkeypatch):
    from ipstrial.errors import Problem, TrialDataError

    error = TrialDataError(
        [
            Problem("age", "2 negative values", "correct the ages", ids=("P0003", "P0007"), count=2),
            Problem("arm", "1 unknown arm 'XYZ'", "use IPS, IPSE or SAU", ids=("P0011",), count=1),
        ]
    )
    _raise_from_simulate(monkeypatch, error)
    err = fails(capsys, "simulate")
    lines = err.splitlines()
    assert lines[0] == "ipstrial simulate: error: 2 problems in the trial data:"
    assert lines[1].startswith("  1. column 'age': 2 negative values (participant ids P0003, P0007).")
    assert lines[2].startswith("  2. column 'arm': 1 unknown arm 'XYZ' (participant id P0011).")
    assert len(lines) == 3


@pytest.mark.parametrize("error", [RuntimeError("a bug"), KeyError("arm"), TypeError("a bug")])
def test_a_programming_bug_keeps_its_traceback(capsys, monkeypatch, error):
    _raise_from_simulate(monkeypatch, error)
    with pytest.raises(type(error)):
        main(["simulate", "--n", "5"])


def test_a_closed_pipe_is_still_quiet(capsys, monkeypatch):
    class Stdout(io.StringIO):
        def fileno(self) -> int:
            return 1

    redirected = []
    _raise_from_simulate(monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    monkeypatch.setattr(sys, "stdout", Stdout())
    monkeypatch.setattr(os, "dup2", lambda *args: redirected.append(args))
    assert main(["simulate", "--n", "5"]) == 0
    assert capsys.readouterr().err == ""
    assert len(redirected) == 1 and redirected[0][1] == 1


def test_demo_refuses_too_few_participants_on_one_line(capsys):
    from ipstrial.cli import main

    assert main(["demo", "--n", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--n 20 is too few for the demo" in err[0] and "--n 100 or more" in err[0]


def test_a_single_data_problem_is_one_line(capsys, tmp_path):
    import ipstrial.cli as cli
    from ipstrial.errors import Problem, TrialDataError

    assert cli._error_text(
        TrialDataError([Problem("arm", "1 participant without an arm", "fill it in")])
    ) == ("column 'arm': 1 participant without an arm. Fix: fill it in.")
    two = TrialDataError([Problem("a", "x", "y"), Problem("b", "z", "w")])
    assert cli._error_text(two).splitlines()[0] == "2 problems in the trial data:"


def test_simulating_more_participants_than_memory_allows_is_refused(capsys):
    from ipstrial.cli import main

    assert main(["simulate", "--n", "1000000000000"]) == 2
    err = capsys.readouterr().err.strip()
    assert "simulating 1,000,000,000,000 participants would need about" in err and "Traceback" not in err
