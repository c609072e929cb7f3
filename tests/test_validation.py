"""The Monte Carlo validation engine (ipstrial.validation): streams by replicate, the same table on any
number of processes, the records equal direct calls, failures counted, the command's CSV."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ipstrial import itt
from ipstrial.cli import main
from ipstrial.errors import ParameterError
from ipstrial.synthetic import INKLUSION, simulate_trial
from ipstrial.validation import COLUMNS, ESTIMATORS, SCENARIOS, run_study

FAST = ["rd_wald", "rd_newcombe", "rmst_difference", "delta_cost"]


@pytest.fixture(scope="module")
def study():
    # the reference path: its records are compared with the public estimators' bits
    return run_study("inklusion", reps=6, seed=11, estimators=FAST, batch_size=2, fast=False)


def test_the_same_table_serially_and_on_two_processes(study):
    parallel = run_study("inklusion", reps=6, seed=11, estimators=FAST, batch_size=4, workers=2, fast=False)
    assert study.to_csv() == parallel.to_csv()
    pd.testing.assert_frame_equal(study.records, parallel.records)


def test_each_replicate_draws_from_its_own_spawned_stream(study):
    """Replicate 4 is the trial of SeedSequence(11).spawn(6)[4], analysed by the public function."""
    stream = np.random.SeedSequence(11).spawn(6)[4]
    data = simulate_trial(INKLUSION, seed=np.random.default_rng(stream))
    direct = itt.compare_proportions(
        data, "employed_18m", "arm", ["IPS", "IPSE"], "SAU", method="newcombe", id="participant_id"
    ).interval("risk_difference", "IPS vs SAU")
    row = study.records[
        (study.records.rep == 4)
        & (study.records.estimator == "rd_newcombe")
        & (study.records.contrast == "IPS vs SAU")
    ].iloc[0]
    assert (row.estimate, row.ci_low, row.ci_high) == (direct.estimate, direct.low, direct.high)


def test_the_table_summarises_the_records(study):
    t = study.table.set_index(["estimator", "contrast"])
    assert list(study.table.columns) == list(COLUMNS)
    rec = study.records[(study.records.estimator == "delta_cost") & (study.records.contrast == "IPS vs SAU")]
    row = t.loc[("delta_cost", "IPS vs SAU")]
    assert row.truth == -72000.0 and row.reps == 6 and row.failed == 0
    assert row.bias == pytest.approx(rec.estimate.mean() + 72000.0, rel=1e-12)
    assert row.empirical_se == pytest.approx(rec.estimate.std(ddof=1), rel=1e-12)
    covered = ((rec.ci_low <= -72000) & (rec.ci_high >= -72000)).mean()
    assert row.coverage == covered and row.coverage_mcse == pytest.approx(
        np.sqrt(covered * (1 - covered) / 6)
    )
    assert row.rejection_rate == (rec.p_value < 0.05).mean()


def test_a_failing_estimator_is_counted_with_its_reason(monkeypatch):
    from ipstrial.validation import _estimators

    calls = {"n": 0}
    original = ESTIMATORS["rd_wald"]

    def flaky(data, design):
        calls["n"] += 1
        if calls["n"] % 2 == 0:
            raise ValueError("no events in an arm")
        return original.run(data, design)

    monkeypatch.setitem(
        _estimators.ESTIMATORS, "rd_wald", type(original)(**{**original.__dict__, "run": flaky})
    )
    study = run_study("inklusion", reps=4, seed=3, estimators=["rd_wald"], fast=False)  # the public path
    row = study.table.iloc[0]
    assert row.reps == 2 and row.failed == 2
    assert study.failures == {("rd_wald", "ValueError: no events in an arm"): 2}


def test_ratios_are_summarised_on_the_log_scale():
    study = run_study("inklusion", reps=3, seed=5, estimators=["weeks_rate_ratio"])
    rec = study.records[study.records.contrast == "IPS vs SAU"]
    row = study.table[study.table.contrast == "IPS vs SAU"].iloc[0]
    assert row.bias == pytest.approx(np.log(rec.estimate).mean() - np.log(row.truth), rel=1e-12)
    assert row.mean_se == pytest.approx(rec.se.mean(), rel=1e-12) and row.mean_se < 0.5  # a log-scale SE


def test_the_null_scenario_has_null_truths():
    study = run_study("null", reps=2, seed=1, estimators=["rd_newcombe", "cox_hazard_ratio"])
    truths = dict(zip(study.table.estimator, study.table.truth, strict=True))
    assert abs(truths["rd_newcombe"]) < 1e-12 and truths["cox_hazard_ratio"] == 1.0


def test_the_validate_command_writes_the_csv(tmp_path, capsys):
    out = tmp_path / "study.csv"
    assert (
        main(
            [
                "validate",
                "--scenario",
                "small",
                "--reps",
                "3",
                "--seed",
                "2",
                "--estimators",
                "rd_wald,rd_newcombe",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert list(table.columns) == list(COLUMNS) and set(table.scenario) == {"small"}
    assert "wrote" in capsys.readouterr().out
    assert main(["validate", "--reps", "2", "--estimators", "rd_wald", "--seed", "2"]) == 0
    assert list(pd.read_csv(io.StringIO(capsys.readouterr().out)).columns) == list(COLUMNS)


def test_bad_arguments():
    with pytest.raises(ParameterError, match="unknown estimators"):
        run_study("inklusion", reps=2, estimators=["rd_exact"])
    with pytest.raises(ParameterError, match="scenario must be one of") as raised:
        run_study("no-such-scenario", reps=2)
    assert all(name in str(raised.value) for name in SCENARIOS)  # the error lists every known name
    with pytest.raises(ParameterError, match="scenario must be a built-in scenario name .* or an ipstrial"):
        run_study(42, reps=2)


@pytest.mark.parametrize("reps", [-1, 0, 1, 10**7 + 1, 2.5, "10", None, True])
def test_reps_between_2_and_the_stated_maximum(reps):
    with pytest.raises(ParameterError, match="reps must be a whole number between 2 and 10000000") as raised:
        run_study("inklusion", reps=reps, estimators=["rd_wald"])
    assert "the empirical SE is their standard deviation" in str(raised.value)


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("batch_size", 0, "batch_size must be a whole number at least 1"),
        ("batch_size", 1.5, "batch_size must be a whole number"),
        ("workers", 0, "workers must be a whole number between 1 and 512"),
        ("workers", -1, "workers must be a whole number between 1 and 512"),
        ("n", 2, "n must be a whole number at least 3, got 2; n is the participants"),
        ("fast", "yes", "fast must be True or False"),
        ("connect_timeout", 0, "connect_timeout must be a finite number above 0"),
        ("seed", -1, "seed must be a whole number >= 0"),
        ("estimators", [], "estimators is empty; give at least one estimator name, or None for all; choose"),
        ("estimators", ["rd_wald", "rd_wald"], r"estimators names \['rd_wald'\] more than once"),
    ],
)
def test_bad_engine_arguments(argument, value, message):
    args = {"reps": 2, "estimators": ["rd_wald"], argument: value}
    with pytest.raises(ParameterError, match=message):
        run_study("inklusion", **args)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--reps", "1"], "reps must be a whole number between 2 and 10000000"),
        (["--reps", "ten"], "'ten' is not a whole number; e.g. --reps 1000"),
        (["--scenario", "nope"], "invalid choice: 'nope' (choose from 'inklusion', 'null', "),
        (["--batch-size", "0"], "batch_size must be a whole number at least 1"),
        (["--estimators", "rd_exact"], "unknown estimators ['rd_exact']"),
        (
            ["--estimators", " , "],
            "names no estimator; give at least one estimator name, comma-separated; choose",
        ),
        (["--workers", "0"], "--workers 0: give at least 1 local process, or leave --workers out to use all"),
        (["--workers", "-2"], "--workers -2: give at least 1 local process"),
        (["--plot", "study.csv"], "--plot 'study.csv' must be a file name ending in .png, .svg or .pdf"),
        (["--plot", "-"], "--plot '-' must be a file name ending in .png, .svg or .pdf"),
        (["--plot", "no-such-folder/study.png"], "the directory 'no-such-folder' of --plot"),
        (["--scheduler", "localhost:8786"], "--scheduler must be an address such as 'tcp://HOST:PORT'"),
    ],
)
def test_the_command_turns_bad_input_into_one_line(arguments, message, capsys, monkeypatch):
    import ipstrial.validation

    def never(*args, **kwargs):  # each of these is refused before any replicate runs
        raise AssertionError("the study ran")

    if "rd_exact" not in arguments and "--reps" not in arguments and "--batch-size" not in arguments:
        monkeypatch.setattr(ipstrial.validation, "run_study", never)
    try:
        status = main(["validate", *arguments])
    except SystemExit as exc:  # argparse refuses a value before the command runs
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("ipstrial validate: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_estimate_without_a_test_has_no_rejection_rate():
    study = run_study("inklusion", reps=2, seed=1, estimators=["cumulative_incidence"])
    assert study.table.rejection_rate.isna().all() and study.table.coverage.notna().all()


def test_the_committed_study_has_every_scenario_and_its_command():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "reports"
    text = (root / "validation.md").read_text()
    for scenario in SCENARIOS:  # keep_default_na=False: the scenario "null" is a name, not a missing value
        table = pd.read_csv(root / "validation" / f"{scenario}.csv", keep_default_na=False, na_values=[""])
        assert list(table.columns) == list(COLUMNS) and set(table.estimator) == set(ESTIMATORS)
        assert (table.reps + table.failed == 1000).all()  # every replicate summarised or counted failed
        assert f"ipstrial validate --scenario {scenario} --reps 1000 --seed 2026" in text


def test_the_help_lists_the_estimators(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    assert all(name in shown for name in ESTIMATORS)


def test_the_plot_is_written_and_announced_with_the_table(tmp_path, capsys):
    out, plot = tmp_path / "study.csv", tmp_path / "study.svg"
    args = ["validate", "--reps", "2", "--estimators", "delta_cost", "--quiet", "--workers", "1"]
    assert main([*args, "--out", str(out), "--plot", str(plot)]) == 0
    shown = capsys.readouterr()
    assert f"wrote {plot}" in shown.out and f"wrote {out}" in shown.out and shown.err == ""
    assert plot.read_text().startswith("<?xml")
    # with the table on standard output, the line goes to standard error: the CSV stays clean
    assert main([*args, "--plot", str(plot)]) == 0
    shown = capsys.readouterr()
    assert "wrote" not in shown.out and f"wrote {plot}" in shown.err
    assert list(pd.read_csv(io.StringIO(shown.out)).columns) == list(COLUMNS)
