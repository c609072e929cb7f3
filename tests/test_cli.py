"""The ``ipstrial`` command line (ipstrial.cli), run in-process through ``main`` and once as a subprocess."""

from __future__ import annotations

import hashlib
import io
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
    assert f"--n must be a positive number of participants; got {n}" in captured.err


def test_unknown_scenario_is_rejected(capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--scenario", "nonsense"])
    assert info.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- demo
def test_demo(capsys):
    from ipstrial.synthetic import simulate_trial

    out = run(capsys, "demo")
    assert out.startswith(f"ipstrial {ipstrial.__version__} demo: ")
    assert "720 participants randomised (seed 2012)" in out
    assert "stratified permuted blocks of 3 or 6 within site x employed_prev5y" in out
    header = next(line for line in out.splitlines() if line.strip().startswith("IPS"))
    assert header.split() == [*ARMS, "all"]

    frame = simulate_trial()
    missing = frame["hours_18m"].isna().groupby(frame["arm"]).sum()
    expected = (
        "  hours_18m: "
        + ", ".join(f"{arm} {int(missing[arm])}" for arm in ARMS)
        + f" (total {int(missing.sum())})"
    )
    lines = [line for line in out.splitlines() if "hours_18m:" in line]
    assert lines == [expected]
    assert int(missing.sum()) > 0

    participants = next(line for line in out.splitlines() if line.startswith("participants, n"))
    counts = frame["arm"].value_counts()
    assert participants.split()[2:] == [str(counts[arm]) for arm in ARMS] + ["720"]

    # the intention-to-treat headline: each estimate next to the scenario's true value
    from ipstrial.itt import compare_proportions

    rd = [line.split() for line in out.splitlines() if "risk_difference" in line and "Newcombe" in line]
    assert len(rd) == 2
    interval = compare_proportions(frame, "employed_18m", treatment="IPS", control="SAU").interval(
        "risk_difference"
    )
    assert rd[0][:6] == ["employed_18m", "IPS", "vs", "SAU", "risk_difference", f"{interval.estimate:.3f}"]
    assert f"({interval.low:.3f}," in rd[0] and "0.134" in rd[0]
    analyses = [line for line in out.splitlines() if "mean_difference" in line or "rate_ratio" in line]
    assert any("multiple imputation" in line for line in analyses)
    assert any("weeks_employed_18m" in line and "1.567" in line for line in analyses)

    # time to first employment: the stratified Cox hazard ratio and the RMST difference beside their truths
    from ipstrial.survival import rmst

    restricted = rmst(frame, "days_to_job", "event", "arm", "IPS", "SAU", tau=548).to_frame()
    difference = restricted[restricted.estimand == "rmst_difference"].estimate.iloc[0]
    line = next(x for x in out.splitlines() if "rmst_difference" in x and "IPS vs SAU" in x)
    assert f"{difference:.3f}" in line and "-58.206" in line
    assert any("hazard_ratio" in x and "1.549" in x for x in out.splitlines())
    medians = [x.split()[0] for x in out.splitlines() if "median_time" in x]
    assert medians == list(ARMS)

    # cost-effectiveness beside the truths, the quadrant, and the Copenhagen business case
    cost_lines = [x for x in out.splitlines() if "delta_cost" in x]
    assert len(cost_lines) == 2 and "-72,000.000" in cost_lines[0] and "-55,000.000" in cost_lines[1]
    assert sum("quadrant dominant" in x for x in out.splitlines()) == 2
    assert "net 2017: -2,250, 2018: -2,000, 2019: -1,000, 2020: -1,000; payback 1 year(s)" in out


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
