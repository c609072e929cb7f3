"""Every survival result on the synthetic trial: unique ARD keys, inputs recorded, rows built by _row."""

from __future__ import annotations

import html
import json

import pytest

from ipstrial import survival
from ipstrial.results import ARD_KEY, ESTIMANDS, collect


def _results(trial) -> dict[str, object]:
    times = [91, 182, 365, 548]
    return {
        "kaplan_meier": survival.kaplan_meier(trial, "days_to_job", times=times, alpha=0.1),
        "logrank": survival.logrank(trial, "days_to_job", strata="site"),
        "logrank_permutation": survival.logrank_permutation(
            trial, "days_to_job", treatment="IPS", n_resamples=200, seed=3
        ),
        "cox": survival.cox(trial, "days_to_job", covariates=["age", "sex"], strata="site", alpha=0.1),
        "cox_breslow": survival.cox(trial, "days_to_job", ties="breslow", analysis="survival_cox_breslow"),
        "rmst": survival.rmst(trial, "days_to_job", tau=548),
        "cumulative_incidence": survival.cumulative_incidence(trial, "days_to_job", times=times),
        "gray_test": survival.gray_test(trial, "days_to_job", rho=1),
        "fine_gray": survival.fine_gray(trial, "days_to_job", covariates="age"),
    }


@pytest.fixture(scope="module")
def results(trial):
    return _results(trial)


def test_every_result_has_unique_ard_keys(results):
    for name, result in results.items():
        frame = result.to_frame()
        assert len(frame) > 0, name
        assert not frame.duplicated(list(ARD_KEY)).any(), (name, frame[list(ARD_KEY)])
        assert set(frame.estimand) <= ESTIMANDS, name
        assert set(frame.outcome) == {"days_to_job"}, name
    stacked = collect(*results.values())  # refuses repeated keys across results
    assert len(stacked) == sum(len(r.rows()) for r in results.values())


def test_variants_tell_time_points_and_companion_models_apart(results):
    km = results["kaplan_meier"].to_frame()
    assert set(km[km.estimand == "survival"].variant) == {"t=91", "t=182", "t=365", "t=548"}
    assert set(km[km.estimand == "median_time"].variant) == {""}
    ci = results["cumulative_incidence"].to_frame()
    assert set(ci[ci.estimand == "cumulative_incidence"].variant) == {"t=91", "t=182", "t=365", "t=548"}
    fg = results["fine_gray"].to_frame()
    assert set(fg[fg.estimand == "hazard_ratio"].variant) == {"model=cause-specific"}
    assert set(fg[fg.estimand == "subdistribution_hazard_ratio"].variant) == {""}


def test_rows_carry_the_confidence_level_and_the_inputs(results, trial):
    assert set(results["kaplan_meier"].to_frame().conf_level) == {0.9}
    assert set(results["cox"].to_frame().conf_level) == {0.9}
    for name, result in results.items():
        assert result.inputs is not None and result.inputs.n_rows == len(trial), name
        assert result.inputs.id == "participant_id"
        json.dumps(result.to_dict(), allow_nan=False)
        assert result.title in result.summary()
        assert f"<caption>{html.escape(result.title)}</caption>" in result._repr_html_()
    assert results["cox"].inputs.outside == {}
    assert results["logrank_permutation"].inputs.outside == {"IPSE": 241}
