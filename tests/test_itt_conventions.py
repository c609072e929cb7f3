"""The conventions (DESIGN.md) as every estimator of ipstrial.itt meets them.

Every result's rows have a unique ARD key; a Trial gives the numbers of the equivalent DataFrame call;
arms coded as numbers read "1 vs 0" everywhere; rows of arms outside a contrast are counted; per-arm rows
follow the declared order; ``analysis=`` renames every row; bad data meet the input gate's errors.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from conftest import COVARIATES, inklusion_trial

from ipstrial import itt
from ipstrial.errors import ParameterError, TrialDataError
from ipstrial.results import ARD_KEY, Result, collect

HOURS = {"missing": "complete-case"}

#: Every estimator of ipstrial.itt, called with the roles of a Trial (or explicit arms) and its options.
ESTIMATORS = {
    "compare_proportions": lambda d, **k: itt.compare_proportions(d, "employed_18m", **k),
    "mantel_haenszel": lambda d, **k: itt.mantel_haenszel(d, "employed_18m", strata="site", **k),
    "marginal_effect": lambda d, **k: itt.marginal_effect(d, "employed_18m", covariates=COVARIATES, **k),
    "subgroups": lambda d, **k: itt.subgroups(
        d, "employed_18m", by=["sex", "age"], bands={"age": (30, 40)}, **k
    ),
    "compare_means": lambda d, **k: itt.compare_means(d, "hours_18m", n_resamples=200, seed=1, **HOURS, **k),
    "adjusted_mean_difference": lambda d, **k: itt.adjusted_mean_difference(
        d, "hours_18m", covariates=COVARIATES, **HOURS, **k
    ),
    "two_part": lambda d, **k: itt.two_part(
        d, "hours_18m", covariates=COVARIATES, n_resamples=50, seed=1, **HOURS, **k
    ),
    "rate_ratio": lambda d, **k: itt.rate_ratio(d, "weeks_employed_18m", covariates=COVARIATES, **k),
    "hodges_lehmann": lambda d, **k: itt.hodges_lehmann(d, "hours_18m", **HOURS, **k),
}

#: Options that change which rows a result has.
VARIANTS = [
    ("compare_proportions", {"method": "wald", "or_method": "exact", "adjust": "holm"}),
    *[
        ("marginal_effect", {"contrast": c, "variance": v})
        for c in ("risk_difference", "risk_ratio", "odds_ratio")
        for v in ("ye", "ye-residual", "ge", "bootstrap")
    ],
    ("marginal_effect", {"contrast": "odds_ratio", "strata": "site", "model_arms": "compared"}),
]


def _key_is_unique(result: Result) -> None:
    frame = result.to_frame()
    assert len(frame) > 0
    repeated = frame[frame.duplicated(list(ARD_KEY), keep=False)]
    assert repeated.empty, repeated[list(ARD_KEY)]
    json.dumps(result.to_dict(), allow_nan=False)


def _itt_result_classes() -> set[type]:
    def subclasses(cls: type):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {c for c in subclasses(Result) if c.__module__.startswith("ipstrial.itt.")}


@pytest.fixture(scope="module")
def results(trial) -> list[Result]:
    out = [call(trial) for call in ESTIMATORS.values()]
    out += [ESTIMATORS[name](trial, **options) for name, options in VARIANTS]
    out.append(itt.compare_counts([30, 28], [50, 50], 20, 50, treatment=["A", "B"], control="C"))
    return out


def test_every_itt_result_has_a_unique_ard_key(results):
    for result in results:
        _key_is_unique(result)
    assert {type(r) for r in results} == _itt_result_classes()  # every result class of itt was walked


def test_twins_have_distinct_variants(results):
    frames = {type(r).__name__: r.to_frame() for r in results[: len(ESTIMATORS)]}
    means = frames["MeanComparison"]
    differences = means[means.estimand == "mean_difference"]
    assert sorted(set(differences.variant)) == ["", "bootstrap"]
    marginal = frames["MarginalEffectResult"]
    assert set(marginal[marginal.scale == "conditional"].variant) == {"conditional"}
    assert set(frames["TwoPart"].variant) == {"bootstrap"}
    subgroups = frames["SubgroupResult"]
    assert {"sex=female", "sex=male", "age=<30", "age=30-39", "age=40+", "sex", "age"} <= set(
        subgroups.variant
    )


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_a_trial_gives_the_numbers_of_the_dataframe_call(trial, frame, name):
    from_trial = ESTIMATORS[name](trial).to_frame()
    from_frame = ESTIMATORS[name](
        frame, arm="arm", treatment=["IPS", "IPSE"], control="SAU", id="participant_id"
    )
    pd.testing.assert_frame_equal(from_trial, from_frame.to_frame())


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_analysis_renames_every_row(trial, name):
    frame = ESTIMATORS[name](trial, analysis="itt_sensitivity").to_frame()
    assert set(frame.analysis) == {"itt_sensitivity"}
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        ESTIMATORS[name](trial, analysis="sensitivity analysis")


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_int_coded_arms_read_as_labels_everywhere(frame, name):
    coded = frame.assign(arm=frame.arm.map({"SAU": 0, "IPS": 1, "IPSE": 2}))
    result = ESTIMATORS[name](coded, arm="arm", treatment=1, control=0)
    assert "1 vs 0" in set(result.to_frame().contrast)
    assert "1 vs 0" in result.summary()
    assert "1 vs 0" in result._repr_html_()
    assert "1 vs 0" in json.dumps(result.to_dict())
    assert result.inputs.outside == ({} if name == "marginal_effect" else {"2": 241})


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_rows_of_other_arms_are_counted_outside(trial, name):
    options = {"model_arms": "compared"} if name == "marginal_effect" else {}
    result = ESTIMATORS[name](trial, treatment="IPS", **options)
    assert result.inputs.outside == {"IPSE": 241}
    assert "Not in this analysis: 241 rows of other arms (IPSE 241)." in result.summary()
    assert {c for c in result.to_frame().contrast if " vs " in c} == {"IPS vs SAU"}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_rows_follow_the_declared_order(frame, name):
    reordered = inklusion_trial().replace(arms=["SAU", "IPSE", "IPS"])
    result = ESTIMATORS[name](reordered)
    out = result.to_frame()
    contrasts = list(dict.fromkeys(c for c in out.contrast if " vs " in c))
    assert contrasts == ["IPSE vs SAU", "IPS vs SAU"]
    arms = list(dict.fromkeys(c for c in out.contrast if " vs " not in c))
    assert arms in ([], ["SAU", "IPSE", "IPS"])
    assert result.inputs.arms == ("SAU", "IPSE", "IPS")


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_the_gate_refuses_bad_data(frame, name):
    call = ESTIMATORS[name]
    kwargs = dict(arm="arm", treatment="IPS", control="SAU", id="participant_id")
    duplicated = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    with pytest.raises(TrialDataError, match="1 duplicated participant id.*P0006"):
        call(duplicated, **kwargs)
    slipped = frame.copy()
    slipped.loc[[1, 9], "arm"] = "IPS "
    with pytest.raises(TrialDataError, match=r"near-misses of another arm: 'IPS ' \(2\), probably 'IPS'"):
        call(slipped, **kwargs)
    no_arm = frame.copy()
    no_arm.loc[5, "arm"] = np.nan
    with pytest.raises(TrialDataError, match="1 participant without an arm.*P0006"):
        call(no_arm, **kwargs)
    with pytest.raises(ParameterError, match="arm= must name the column"):
        call(frame, treatment="IPS", control="SAU")
    with pytest.raises(ParameterError, match="id must be a column name"):
        call(frame, arm="arm", treatment="IPS", control="SAU", id=3)


@pytest.mark.parametrize("name", ["marginal_effect", "adjusted_mean_difference", "two_part", "rate_ratio"])
def test_covariates_pass_the_gate(frame, name):
    stray = frame.assign(age=frame.age.astype(object))
    stray.loc[5, "age"] = "forty"
    kwargs = dict(arm="arm", treatment="IPS", control="SAU", id="participant_id")
    with pytest.raises(TrialDataError, match="'age'.*P0006"):
        ESTIMATORS[name](stray, **kwargs)
    infinite = frame.assign(age=frame.age.astype(float))
    infinite.loc[5, "age"] = np.inf
    with pytest.raises(TrialDataError, match="'age'.*P0006"):
        ESTIMATORS[name](infinite, **kwargs)


def test_a_trial_arm_or_id_different_from_its_own_is_an_error(trial):
    with pytest.raises(ParameterError, match="the Trial's arm column is 'arm'"):
        itt.compare_proportions(trial, "employed_18m", arm="group")
    with pytest.raises(ParameterError, match="the Trial's id column is 'participant_id'"):
        itt.compare_means(trial, "hours_18m", id="person", missing="complete-case")


def test_a_different_control_is_used(trial):
    result = itt.compare_proportions(trial, "employed_18m", control="IPSE")
    assert list(result.contrasts) == ["IPS vs IPSE", "SAU vs IPSE"]


def test_results_are_frozen(results):
    with pytest.raises(dataclasses.FrozenInstanceError):
        results[0].alpha = 0.1  # type: ignore[misc]


def test_results_collect_into_one_ard(results):
    frame = collect(results[: len(ESTIMATORS)])
    assert not frame.duplicated(list(ARD_KEY)).any()


@pytest.mark.parametrize(
    "call",
    [
        lambda t: itt.compare_means(t, "hours_18m", n_resamples=10**6, seed=1, missing="complete-case"),
        lambda t: itt.two_part(t, "hours_18m", n_resamples=10**6, seed=1, missing="complete-case"),
        lambda t: itt.marginal_effect(
            t, "employed_18m", covariates=COVARIATES, variance="bootstrap", n_resamples=10**6, seed=1
        ),
    ],
    ids=["compare_means", "two_part", "marginal_effect"],
)
def test_replicates_kept_are_checked_against_the_memory_budget(trial, call):
    from ipstrial._memory import memory_budget_of
    from ipstrial.errors import MemoryBudgetError

    with memory_budget_of("4MiB"), pytest.raises(MemoryBudgetError, match="n_resamples|replicates"):
        call(trial)
