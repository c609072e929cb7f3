"""The validation engine's fast-path hook (kernels), its progress bar, a user's own Scenario and the trial
size."""

from __future__ import annotations

import dataclasses
import io
import math
import sys

import numpy as np
import pandas as pd
import pytest

from ipstrial import itt
from ipstrial.synthetic import INKLUSION, simulate_trial
from ipstrial.validation import _kernels, run_study

ARGS = {"reps": 4, "seed": 9, "batch_size": 2, "quiet": True}
# the package's own kernels agree with the reference path to rounding error, not to the bit: the tests that
# compare records with the public estimators' bits use the reference path (fast=False) or only a fake kernel


def _bits(records):
    """The records as text with every float to 17 significant digits: equal text, equal bits."""
    return records.to_csv(index=False, float_format="%.17g")


def _trial(scenario, seed, rep, reps):
    return simulate_trial(scenario, seed=np.random.default_rng(np.random.SeedSequence(seed).spawn(reps)[rep]))


class _FakeKernel:
    """Gives made-up records for the first trial of each batch and declines (None) the others."""

    record = {
        "contrast": "IPS vs SAU",
        "estimate": 0.125,
        "se": 0.5,
        "ci_low": -1.0,
        "ci_high": 2.0,
        "p_value": 0.75,
    }

    def __init__(self):
        self.calls = []

    def __call__(self, frames):
        self.calls.append(list(frames))
        return [[dict(self.record)] if j == 0 else None for j in range(len(frames))]


def test_kernel_records_are_used_and_declined_trials_take_the_reference_path(monkeypatch):
    estimators = ["rd_wald", "delta_cost"]
    reference = run_study("inklusion", estimators=estimators, fast=False, **ARGS)
    kernel = _FakeKernel()
    monkeypatch.setattr(_kernels, "KERNELS", {"rd_wald": kernel})  # the only kernel
    study = run_study("inklusion", estimators=estimators, **ARGS)
    # one call per batch, on the batch's replicate trials
    assert [len(frames) for frames in kernel.calls] == [2, 2]
    pd.testing.assert_frame_equal(kernel.calls[1][0], _trial(INKLUSION, 9, 2, 4))
    rec, ref = study.records, reference.records
    from_kernel = (rec.estimator == "rd_wald") & rec.rep.isin([0, 2])  # the first trial of each batch
    assert (
        rec[from_kernel][["contrast", "estimate", "se", "ci_low", "ci_high", "p_value"]].to_dict("records")
        == [_FakeKernel.record] * 2
    )
    assert (rec[from_kernel].error == "").all()
    # the declined trials (reps 1 and 3) and the estimator without a kernel: the reference path's records
    same = ~((ref.estimator == "rd_wald") & ref.rep.isin([0, 2]))
    assert _bits(rec[~from_kernel].reset_index(drop=True)) == _bits(ref[same].reset_index(drop=True))
    assert rec.estimator[rec.rep == 0].tolist() == ["rd_wald", "delta_cost", "delta_cost"]  # in order
    # the table summarises the kernel's records with the others
    row = study.table.set_index(["estimator", "contrast"]).loc[("rd_wald", "IPS vs SAU")]
    kept = rec[(rec.estimator == "rd_wald") & (rec.contrast == "IPS vs SAU")].estimate
    assert row.reps == 4 and row.bias == pytest.approx(kept.mean() - row.truth, rel=1e-12)


def test_fast_false_ignores_the_kernels(monkeypatch):
    kernel = _FakeKernel()
    monkeypatch.setattr(_kernels, "KERNELS", {"rd_wald": kernel})
    study = run_study("inklusion", estimators=["rd_wald"], fast=False, **ARGS)
    monkeypatch.setattr(_kernels, "KERNELS", {})
    reference = run_study("inklusion", estimators=["rd_wald"], **ARGS)
    assert kernel.calls == [] and _bits(study.records) == _bits(reference.records)


def test_a_kernel_breaking_the_contract_is_an_error_not_a_failure(monkeypatch):
    monkeypatch.setitem(_kernels.KERNELS, "rd_wald", lambda frames: [None])
    with pytest.raises(RuntimeError, match="the kernel of 'rd_wald' gave 1 results for 2 trials"):
        run_study("inklusion", estimators=["rd_wald"], **ARGS)
    monkeypatch.setitem(
        _kernels.KERNELS, "rd_wald", lambda frames: [[{"contrast": "IPS vs SAU"}]] * len(frames)
    )
    with pytest.raises(RuntimeError, match="gave a record without"):
        run_study("inklusion", estimators=["rd_wald"], **ARGS)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("workers", [1, 2])
def test_the_bar_advances_per_finished_batch(monkeypatch, workers):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_study("inklusion", reps=6, seed=1, batch_size=2, workers=workers, estimators=["delta_cost"])
    shown = terminal.getvalue()
    assert "replicates" in shown and all(f"{k}/6" in shown for k in (2, 4, 6))


def test_no_bar_when_quiet_or_in_a_pipe(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_study("inklusion", reps=2, seed=1, estimators=["delta_cost"], quiet=True)
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    run_study("inklusion", reps=2, seed=1, estimators=["delta_cost"])
    assert terminal.getvalue() == "" and pipe.getvalue() == ""


def test_a_users_own_scenario_works_like_a_built_in_one():
    mine = dataclasses.replace(INKLUSION, name="mine", n=90, p_employed_18m=(0.7, 0.6, 0.5))
    study = run_study(mine, reps=3, seed=4, estimators=["rd_wald"], quiet=True, fast=False)
    assert study.scenario == "mine" and set(study.table.scenario) == {"mine"}
    key = ("employed_18m", "risk_difference", "IPS vs SAU")
    row = study.table.set_index("contrast").loc["IPS vs SAU"]
    assert row.truth == mine.truth.set_index(["outcome", "estimand", "contrast"]).value[key]
    assert row.truth != INKLUSION.truth.set_index(["outcome", "estimand", "contrast"]).value[key]
    data = _trial(mine, 4, 2, 3)  # replicate 2: the user's model, its own size, its own stream
    assert len(data) == 90
    direct = itt.compare_proportions(
        data, "employed_18m", "arm", ["IPS", "IPSE"], "SAU", method="wald", id="participant_id"
    ).interval("risk_difference", "IPS vs SAU")
    rec = study.records.set_index(["rep", "contrast"]).loc[(2, "IPS vs SAU")]
    assert (rec.estimate, rec.ci_low, rec.ci_high) == (direct.estimate, direct.low, direct.high)


def test_n_sets_the_trial_size_of_any_scenario():
    args = {"reps": 2, "seed": 3, "estimators": ["rd_wald"], "quiet": True}
    small = run_study("small", **args)
    assert set(small.table.scenario) == {"small"}
    assert _bits(small.records) == _bits(run_study("inklusion", n=60, **args).records)
    bigger = run_study("small", n=120, **args)
    assert _bits(bigger.records) == _bits(run_study(INKLUSION, n=120, **args).records)
    assert _bits(bigger.records) != _bits(small.records)


def test_a_scenario_with_its_own_arms_and_strata_is_analysed_with_them():
    # The estimators take the arms and randomisation strata from the scenario: contrasts are labelled by its
    # arms and matched with its truths (coverage is defined), and the kernels, which compute the built-in
    # design's calls, are not used for it (the records equal the public path's to the bit).
    import dataclasses

    from ipstrial.synthetic import INKLUSION

    mine = dataclasses.replace(
        INKLUSION, name="own-arms", arms=("Job", "Job+", "Usual"), control="Usual", strata=("site",)
    )
    estimators = ["rd_adjusted_ye", "logrank", "delta_cost"]
    fast = run_study(mine, n=150, reps=3, seed=4, estimators=estimators)
    reference = run_study(mine, n=150, reps=3, seed=4, estimators=estimators, fast=False)
    assert fast.to_csv() == reference.to_csv()
    table = fast.table.set_index(["estimator", "contrast"])
    assert set(table.loc["rd_adjusted_ye"].index) == {"Job vs Usual", "Job+ vs Usual"}
    assert set(table.loc["logrank"].index) == {"Job vs Usual"}
    assert table.loc["delta_cost"].coverage.notna().all() and (table.failed == 0).all()


def test_the_study_figure_has_a_row_per_table_row_and_no_overlapping_text(tmp_path):
    from ipstrial.report.figures import text_overlaps

    study = run_study("inklusion", reps=4, seed=2, estimators=["rd_wald", "logrank", "cox_hazard_ratio"])
    fig = study.plot(tmp_path / "study.png")
    coverage, ratio, rejection = fig.axes
    labels = [t.get_text() for t in coverage.get_yticklabels()]
    assert labels == [f"{e}  {c}" for e, c in zip(study.table.estimator, study.table.contrast, strict=True)]
    # the log-rank row has no truth: no coverage point, but a rejection rate
    points = coverage.lines[-1].get_xdata() if coverage.lines else []
    assert len(points) == len(labels) and sum(map(math.isnan, points)) == 1
    assert text_overlaps(fig) == []
    assert (tmp_path / "study.png").stat().st_size > 10_000


class _KernelOf:
    """Gives, for trial j of each batch, the records ``make(j)`` (a list of dicts)."""

    def __init__(self, make):
        self.make = make

    def __call__(self, frames):
        return [self.make(j) for j in range(len(frames))]


def _record(contrast, estimate, se, low, high, p):
    return {
        "contrast": contrast,
        "estimate": estimate,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "p_value": p,
    }


def test_a_record_without_a_finite_estimate_or_interval_is_a_failure_not_a_miss(monkeypatch):
    from ipstrial.validation._engine import NO_FINITE_ESTIMATE

    # the first trial of each batch: an infinite upper limit (and a far-off SE) for IPS vs SAU; every other
    # record covers the truth (about 0.1) with the interval [-1, 2] and has SE 0.5
    def make(j):
        bad = j == 0
        return [
            _record("IPS vs SAU", 0.125, 9.0 if bad else 0.5, -1.0, math.inf if bad else 2.0, 0.5),
            _record("IPSE vs SAU", 0.125, 0.5, -1.0, 2.0, 0.5),
        ]

    monkeypatch.setattr(_kernels, "KERNELS", {"rd_wald": _KernelOf(make)})
    study = run_study("inklusion", estimators=["rd_wald"], reps=6, seed=2, batch_size=3, quiet=True)
    table = study.table.set_index("contrast")
    # replicates 0 and 3 failed for IPS vs SAU only: out of every summary, counted in failed and failures
    assert table.loc["IPS vs SAU", ["reps", "failed"]].tolist() == [4, 2]
    assert table.loc["IPSE vs SAU", ["reps", "failed"]].tolist() == [6, 0]
    assert table.loc["IPS vs SAU", "coverage"] == 1.0  # not 4/6: the failures are not "not covered"
    assert table.loc["IPS vs SAU", "mean_se"] == 0.5  # the SE 9 of the failed records is not averaged
    assert table.loc["IPS vs SAU", "bias"] == pytest.approx(
        0.125 - table.loc["IPS vs SAU", "truth"], abs=1e-15
    )
    assert study.failures == {("rd_wald", NO_FINITE_ESTIMATE): 2}
    failed = study.records[study.records.error != ""]
    assert failed[["rep", "contrast", "error"]].values.tolist() == [
        [0, "IPS vs SAU", NO_FINITE_ESTIMATE],
        [3, "IPS vs SAU", NO_FINITE_ESTIMATE],
    ]


def test_a_test_without_a_truth_needs_only_a_finite_p_value_and_has_no_se(monkeypatch):
    from ipstrial.validation._engine import NO_FINITE_P_VALUE

    # the log-rank test: its "estimate" is the chi-square statistic, with no interval (NaN) and no SE;
    # trial 0 of each batch has no p-value, trial 1 does not reject, the others reject
    def make(j):
        p = math.nan if j == 0 else 0.5 if j == 1 else 0.01
        return [_record("IPS vs SAU", 2.0 + j, math.nan, math.nan, math.nan, p)]

    monkeypatch.setattr(_kernels, "KERNELS", {"logrank": _KernelOf(make)})
    study = run_study("inklusion", estimators=["logrank"], reps=8, seed=2, batch_size=4, quiet=True)
    row = study.table.iloc[0]
    assert (row.reps, row.failed) == (6, 2) and row.rejection_rate == 4 / 6
    # the SD of a test statistic is no empirical SE: NaN, like its bias, mean SE and coverage
    assert all(math.isnan(row[c]) for c in ("bias", "empirical_se", "mean_se", "coverage", "coverage_mcse"))
    assert study.failures == {("logrank", NO_FINITE_P_VALUE): 2}


def test_the_study_shows_a_summary_not_its_frames(monkeypatch):
    from ipstrial.validation._engine import NO_FINITE_ESTIMATE

    def make(j):  # the first trial of each batch has no estimate; the others take the public estimator
        return [_record("IPS vs SAU", math.nan, 0.5, -1.0, 2.0, 0.5)] if j == 0 else None

    monkeypatch.setattr(_kernels, "KERNELS", {"rd_wald": _KernelOf(make)})
    study = run_study("inklusion", estimators=["rd_wald"], reps=4, seed=1, batch_size=2, quiet=True)
    shown = repr(study)
    assert "scenario='inklusion'" in shown and "reps=4" in shown
    assert "estimator" not in shown and "ci_low" not in shown  # no frame in the repr
    text = study.summary()
    assert (
        text.splitlines()[0] == "Validation study of scenario 'inklusion': 4 replicates, seed 1, alpha 0.05"
    )
    assert f"{len(study.table)} rows" in text
    assert f"rd_wald: 2: {NO_FINITE_ESTIMATE}" in text  # replicates 0 and 2
    assert "failures: none" in run_study("inklusion", estimators=["delta_cost"], reps=2, quiet=True).summary()
