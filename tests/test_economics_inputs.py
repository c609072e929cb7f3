"""The conventions as they apply to the economics estimators: the input gate, the ARD key, memory, chunks.

References: the data themselves (arm counts, participants dropped by hand with pandas), the bootstrap
counts of :func:`ipstrial.resampling.bootstrap_counts` materialised (to pin the chunked kernel), and
the documented rules of DESIGN.md ("Conventions").
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import COVARIATES

import ipstrial
from ipstrial import economics as ec
from ipstrial.errors import EstimationError, MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.results import ARD_KEY, collect
from ipstrial.synthetic import COST_CATEGORIES

WTP = 200_000.0


def _cea(data, *args, **kwargs):
    options = {"wtp": WTP, "n_resamples": 300, "seed": 1} | kwargs
    return ec.cost_effectiveness(data, "cost_total", "employed_18m", *args, **options)


def _results(trial) -> list:
    """Every economics result on the synthetic trial (each analysis under its own name)."""
    return [
        _cea(trial),
        _cea(trial, treatment="IPS", covariates=COVARIATES, analysis="economics_cea_adjusted"),
        ec.incremental_from_data(trial, "cost_total", "employed_18m"),
        ec.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=200, seed=2),
        ec.costs_by_category(trial, COST_CATEGORIES),
        ec.incremental_analysis(
            pd.DataFrame({"arm": ["A", "B", "C"], "cost": [1.0, 2.0, 4.0], "effect": [0.1, 0.3, 0.4]}),
            analysis="economics_incremental_means",
        ),
    ]


# ---------------------------------------------------------------------------------------------- the ARD


def test_every_economics_result_has_a_unique_ard_key(trial):
    results = _results(trial)
    for result in results:
        frame = result.to_frame()
        repeated = frame[frame.duplicated(list(ARD_KEY), keep=False)]
        assert repeated.empty, (type(result).__name__, repeated[list(ARD_KEY)])
    combined = collect(results)  # refuses repeated keys
    assert len(combined) == sum(len(r.to_frame()) for r in results)


def test_bootstrap_rows_are_the_variant_of_their_normal_twins(trial):
    frame = _cea(trial, treatment="IPS").to_frame()
    for estimand in ("delta_cost", "delta_effect", "inmb"):
        rows = frame[(frame.estimand == estimand) & (frame.contrast == "IPS vs SAU")]
        assert sorted(rows.variant) == ["", "bootstrap"]
        assert rows.estimate.nunique() == 1  # the same estimate, two intervals
        assert "bootstrap" in rows[rows.variant == "bootstrap"].method.iloc[0]
    assert "interval" not in frame.columns  # the variant says it


def test_ceaf_rows_at_several_wtp_have_wtp_variants(trial):
    grid = [0.0, 150_000.0, 2.5e5, 123.5]
    frame = ec.acceptability_frontier(
        trial, "cost_total", "employed_18m", wtp_grid=grid, n_resamples=100, seed=1
    ).to_frame()
    assert set(frame.variant) == {"wtp=0", "wtp=150000", "wtp=250000", "wtp=123.5"}
    assert (frame.groupby("variant").size() == 3).all()


def test_analysis_renames_every_row(trial):
    for result in (
        _cea(trial, analysis="economics_primary_cea"),
        ec.incremental_from_data(trial, "cost_total", "employed_18m", analysis="economics_primary_cea"),
        ec.acceptability_frontier(
            trial, "cost_total", "employed_18m", n_resamples=50, seed=1, analysis="economics_primary_cea"
        ),
        ec.costs_by_category(trial, COST_CATEGORIES, analysis="economics_primary_cea"),
    ):
        assert set(result.to_frame().analysis) == {"economics_primary_cea"}
    with pytest.raises(ParameterError, match="snake_case"):
        _cea(trial, analysis="Primary CEA")


def test_rows_follow_the_declared_order_and_contrasts_the_treatments(frame):
    trial = ipstrial.Trial(frame, id="participant_id", arm="arm", arms=["SAU", "IPSE", "IPS"], control="SAU")
    result = _cea(trial)
    ard = result.to_frame()
    assert list(ard[ard.estimand == "mean"].contrast.unique()) == ["SAU", "IPSE", "IPS"]
    assert list(ard[ard.estimand == "icer"].contrast) == ["IPSE vs SAU", "IPS vs SAU"]
    assert list(result.arm_means.arm) == ["SAU", "IPSE", "IPS"]
    costs = ec.costs_by_category(trial, COST_CATEGORIES).to_frame()
    assert list(costs[costs.estimand == "mean"].contrast.unique()) == ["SAU", "IPSE", "IPS"]
    incremental = ec.incremental_from_data(trial, "cost_total", "employed_18m").to_frame()
    assert list(incremental[incremental.estimand == "mean"].contrast.unique()) == ["SAU", "IPSE", "IPS"]
    ceaf = ec.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=50, seed=1)
    assert ceaf.arms == ("SAU", "IPSE", "IPS") and list(ceaf.ceac.columns) == ["SAU", "IPSE", "IPS"]


# ------------------------------------------------------------------------------------- the input gate


def test_int_coded_arms_read_1_vs_0_everywhere(frame):
    data = frame[frame.arm != "IPSE"].assign(arm=lambda d: (d.arm == "IPS").astype(int))
    result = _cea(data, "arm", 1, 0, id="participant_id")
    ard = result.to_frame()
    assert {"1 vs 0", "1", "0"} <= set(ard.contrast)
    assert "1 vs 0" in result.summary() and "1 vs 0" in result._repr_html_()
    exported = json.dumps(result.to_dict(), allow_nan=False)
    assert '"contrast": "1 vs 0"' in exported
    assert list(result.ceac.columns) == ["wtp", "1 vs 0"] and set(result.draws.contrast) == {"1 vs 0"}
    costs = ec.costs_by_category(data, COST_CATEGORIES, "arm", 1, 0)
    assert "1 vs 0" in set(costs.to_frame().contrast) and "1 vs 0" in costs.summary()
    ceaf = ec.acceptability_frontier(data, "cost_total", "employed_18m", "arm", n_resamples=50, seed=1)
    assert ceaf.arms == ("0", "1")
    incremental = ec.incremental_from_data(data, "cost_total", "employed_18m", "arm")
    assert set(incremental.table.arm) == {"0", "1"}


def test_a_trial_gives_the_numbers_of_the_dataframe_call(frame, trial):
    by_trial = _cea(trial, seed=5)
    by_frame = _cea(frame, "arm", ["IPS", "IPSE"], "SAU", seed=5, id="participant_id")
    pd.testing.assert_frame_equal(by_trial.to_frame(), by_frame.to_frame())
    pd.testing.assert_frame_equal(by_trial.draws, by_frame.draws)
    pd.testing.assert_frame_equal(
        ec.costs_by_category(trial, COST_CATEGORIES).to_frame(),
        ec.costs_by_category(frame, COST_CATEGORIES, "arm", ["IPS", "IPSE"], "SAU").to_frame(),
    )
    a = ec.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=100, seed=3)
    b = ec.acceptability_frontier(frame, "cost_total", "employed_18m", "arm", n_resamples=100, seed=3)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert np.array_equal(
        ec.qaly_auc(trial, ("eq5d_0", "eq5d_18m"), (0, 1.5)),
        ec.qaly_auc(frame, ("eq5d_0", "eq5d_18m"), (0, 1.5)),
    )


def test_other_arms_are_counted_outside_the_contrast(frame):
    result = _cea(frame, "arm", "IPS", "SAU")
    ipse = int((frame.arm == "IPSE").sum())
    assert ipse > 0 and result.inputs.outside == {"IPSE": ipse}
    assert f"Not in this analysis: {ipse} rows of other arms (IPSE {ipse})." in result.summary()
    assert result.inputs.n_by_arm == {
        "IPS": int((frame.arm == "IPS").sum()),
        "SAU": int((frame.arm == "SAU").sum()),
    }
    costs = ec.costs_by_category(frame, COST_CATEGORIES, "arm", "IPS", "SAU")
    assert costs.inputs.outside == {"IPSE": ipse}


def test_complete_case_is_joint_over_cost_and_effect(data):
    sau = data.index[data.arm == "SAU"]
    ips = data.index[data.arm == "IPS"]
    data.loc[[sau[0], sau[1], ips[0]], "cost_total"] = np.nan
    data.loc[[sau[1], sau[2], ips[3], ips[4]], "employed_18m"] = np.nan  # sau[1] lacks both
    with pytest.raises(TrialDataError, match="missing outcome values"):
        _cea(data, "arm", "IPS", "SAU")
    result = _cea(data, "arm", "IPS", "SAU", missing="complete-case")
    assert result.inputs.excluded == {"IPS": 3, "SAU": 3}  # each participant counted once
    assert result.inputs.reason == "missing cost_total or employed_18m"
    kept = data[data.arm.isin(["IPS", "SAU"])].dropna(subset=["cost_total", "employed_18m"])
    assert result.n_by_arm == kept.arm.value_counts().to_dict()
    row = result.estimates.iloc[0]
    expected = kept.groupby("arm")[["cost_total", "employed_18m"]].mean()
    assert row.delta_cost == pytest.approx(expected.cost_total.IPS - expected.cost_total.SAU, rel=1e-12)
    assert row.delta_effect == pytest.approx(expected.employed_18m.IPS - expected.employed_18m.SAU, rel=1e-12)
    assert "Excluded (complete-case): 6 participants" in result.summary()
    incremental = ec.incremental_from_data(data, "cost_total", "employed_18m", "arm", missing="complete-case")
    assert incremental.inputs.excluded == {"IPS": 3, "IPSE": 0, "SAU": 3}


def test_duplicated_ids_are_refused(data):
    data.loc[5, "participant_id"] = data.loc[9, "participant_id"]
    pid = str(data.loc[9, "participant_id"])
    calls = [
        lambda: _cea(data, "arm", "IPS", "SAU", id="participant_id"),
        lambda: ec.incremental_from_data(data, "cost_total", "employed_18m", "arm", id="participant_id"),
        lambda: ec.acceptability_frontier(
            data, "cost_total", "employed_18m", "arm", n_resamples=10, id="participant_id"
        ),
        lambda: ec.costs_by_category(data, COST_CATEGORIES, "arm", "IPS", "SAU", id="participant_id"),
        lambda: ec.qaly_auc(data, ("eq5d_0", "eq5d_18m"), (0, 1.5), id="participant_id"),
        lambda: ec.perspective_cost(data, ec.costs.INKLUSION_PAYERS, "societal", id="participant_id"),
    ]
    for call in calls:
        with pytest.raises(TrialDataError, match="duplicate") as info:
            call()
        assert pid in str(info.value)


def test_near_miss_arm_labels_are_refused(data):
    data.loc[3, "arm"] = "IPS "
    with pytest.raises(TrialDataError, match="'IPS '"):
        _cea(data, "arm", "IPS", "SAU")


def test_negative_costs_with_the_gate_wording_and_positions_without_ids(data):
    data.loc[4, "cost_total"] = -1.0
    with pytest.raises(TrialDataError, match="costs cannot be negative") as info:
        _cea(data, "arm", ["IPS", "IPSE"], "SAU")
    assert "row at position 4" in str(info.value)


def test_gamma_model_names_rows_by_position_without_ids(data):
    row = int(data.index[data.arm == "IPS"][0])
    data.loc[row, "cost_total"] = 0
    with pytest.raises(EstimationError, match=f"rows at positions {row}"):
        _cea(data, "arm", "IPS", "SAU", covariates=COVARIATES, cost_model="gamma")


def test_baseline_utility_and_covariates_pass_the_gate(data):
    row = int(data.index[data.arm == "IPS"][2])
    bad = data.copy()
    bad.loc[row, "eq5d_0"] = 1.3
    with pytest.raises(TrialDataError, match="greater than 1"):
        _cea(bad, "arm", "IPS", "SAU", baseline_utility="eq5d_0")
    bad = data.astype({"age": float})
    bad.loc[row, "age"] = np.inf
    with pytest.raises(TrialDataError, match="age"):
        _cea(bad, "arm", "IPS", "SAU", covariates="age")
    # a string is one column, never its letters
    one = _cea(data, "arm", "IPS", "SAU", covariates="age")
    assert one.covariates == ("age",)
    with pytest.raises(ParameterError, match="both in covariates and baseline_utility"):
        _cea(data, "arm", "IPS", "SAU", covariates=["age", "eq5d_0"], baseline_utility="eq5d_0")


def test_a_true_false_effect_is_binary(data):
    data["employed"] = data.employed_18m.astype(bool)
    as_bool = ec.cost_effectiveness(
        data, "cost_total", "employed", "arm", "IPS", "SAU", wtp=WTP, n_resamples=100, seed=1
    )
    as_int = _cea(data, "arm", "IPS", "SAU", n_resamples=100)
    assert np.array_equal(as_bool.draws.delta_effect, as_int.draws.delta_effect)


def test_parameters_are_checked_with_one_wording(trial):
    with pytest.raises(ParameterError, match="alpha must be a number between 0 and 1"):
        _cea(trial, alpha="0.05")
    with pytest.raises(ParameterError, match="n_resamples must be a whole number"):
        _cea(trial, n_resamples=1)
    with pytest.raises(ParameterError, match="cost_model must be one of"):
        _cea(trial, cost_model="gamma-log")
    with pytest.raises(ParameterError, match="seed"):
        _cea(trial, seed="abc")
    with pytest.raises(ParameterError, match="the same column"):
        ec.cost_effectiveness(trial, "cost_total", "cost_total", wtp=WTP)
    with pytest.raises(ParameterError, match="control="):
        ec.costs_by_category(trial.data, COST_CATEGORIES, "arm")


# ------------------------------------------------------------------------------------ randomness, memory


def test_chunked_draws_are_the_materialised_bootstrap(frame):
    """The chunked kernel gives the draws of bootstrap_counts (groups: treatments, then the control)."""
    from ipstrial.resampling import bootstrap_counts

    n_resamples, seed = 1500, 17  # several chunks of counts
    result = _cea(frame, "arm", ["IPSE", "IPS"], "SAU", n_resamples=n_resamples, seed=seed)
    groups = [
        frame[frame.arm == a][["cost_total", "employed_18m"]].to_numpy(float) for a in ("IPSE", "IPS", "SAU")
    ]
    counts = bootstrap_counts([len(g) for g in groups], n_resamples, seed)
    means = [c.astype(float) @ g / len(g) for c, g in zip(counts, groups, strict=True)]
    for t, contrast in enumerate(("IPSE vs SAU", "IPS vs SAU")):
        draws = result.draws[result.draws.contrast == contrast]
        assert np.array_equal(draws.delta_cost, means[t][:, 0] - means[2][:, 0])
        assert np.array_equal(draws.delta_effect, means[t][:, 1] - means[2][:, 1])


def test_seed_none_records_the_entropy_that_regenerates_the_draws(trial):
    first = _cea(trial, seed=None, n_resamples=100)
    assert isinstance(first.seed_entropy, int)
    again = _cea(trial, seed=first.seed_entropy, n_resamples=100)
    pd.testing.assert_frame_equal(first.draws, again.draws)
    ceaf = ec.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=50, seed=None)
    repeat = ec.acceptability_frontier(
        trial, "cost_total", "employed_18m", n_resamples=50, seed=ceaf.seed_entropy
    )
    assert np.array_equal(ceaf.replicate_costs, repeat.replicate_costs)


def test_a_billion_replicates_are_refused_before_drawing(trial):
    start = time.perf_counter()
    with pytest.raises(
        MemoryBudgetError, match=r"n_resamples=1000000000.*would need about [0-9.]+ GiB"
    ) as info:
        _cea(trial, n_resamples=10**9)
    assert "use fewer replicates" in str(info.value)
    with pytest.raises(MemoryBudgetError, match="would need about"):
        ec.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=10**9)
    assert time.perf_counter() - start < 60  # refused, not attempted (a generous bound, not a timing test)


def test_a_small_budget_refuses_a_normal_call(trial):
    with ipstrial.memory_budget_of("1MiB"):
        with pytest.raises(MemoryBudgetError, match="over the budget of 1 MiB"):
            _cea(trial, n_resamples=5000)
        with pytest.raises(MemoryBudgetError, match="over the budget of 1 MiB"):
            _cea(trial, treatment="IPS", covariates=COVARIATES, n_resamples=5000)
    assert _cea(trial, n_resamples=5000).n_resamples == 5000  # the default budget is back


# ------------------------------------------------------------------------------------ fits and their notes


def test_warnings_of_the_statsmodels_start_are_notes(trial, monkeypatch):
    import statsmodels.genmod.generalized_linear_model as glm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    fit = glm.GLM.fit

    def warning_fit(self, *args, **kwargs):
        warnings.warn("IRLS stopped early (test)", ConvergenceWarning, stacklevel=2)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(glm.GLM, "fit", warning_fit)
    result = _cea(trial, treatment="IPS", covariates=COVARIATES, cost_model="gamma", n_resamples=50)
    assert any("ConvergenceWarning" in note and "IRLS stopped early" in note for note in result.notes)
    assert "IRLS stopped early" in result.summary()

    def other_fit(self, *args, **kwargs):
        warnings.warn("something unexpected (test)", UserWarning, stacklevel=2)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(glm.GLM, "fit", other_fit)
    with pytest.warns(UserWarning, match="something unexpected"):
        _cea(trial, treatment="IPS", covariates=COVARIATES, cost_model="gamma", n_resamples=50)


def test_separation_names_the_covariate_level(data):
    data = data[data.arm != "IPSE"].copy()
    rows = data.index[:6]
    data.loc[rows, "diagnosis"] = "rare"
    data.loc[rows, "employed_18m"] = 1  # every participant with the rare level is employed
    with pytest.raises(EstimationError, match=r"separation by diagnosis:rare \(all 6 participants"):
        _cea(data, "arm", "IPS", "SAU", covariates=["age", "diagnosis"])


@pytest.mark.parametrize("cost_model", ["ols", "gamma"])
def test_a_covariate_with_a_large_offset_is_fitted(data, cost_model):
    # a calendar year (2020-2022) as a covariate: the models are fitted on the centred design, so the
    # contrasts, their variances and the bootstrap draws (the same counts) are those of year - 2020
    # (the fit used to stall: "did not converge ... separation")
    data = data[data.arm != "IPSE"].assign(year=2020 + np.arange(len(data[data.arm != "IPSE"])) % 3)
    options = dict(covariates=["age", "year"], cost_model=cost_model, n_resamples=50)
    result = _cea(data, "arm", "IPS", "SAU", **options)
    shifted = _cea(data.assign(year=data.year - 2020), "arm", "IPS", "SAU", **options)
    assert result.failed_replicates == shifted.failed_replicates == 0
    columns = ["delta_cost", "delta_effect", "se_cost", "se_effect", "cov_cost_effect"]
    np.testing.assert_allclose(result.estimates[columns], shifted.estimates[columns], rtol=1e-9)
    for column in ("delta_cost", "delta_effect"):
        np.testing.assert_allclose(result.draws[column], shifted.draws[column], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("covariates", "message"),
    [
        (["cost_total"], r"covariates lists 'cost_total', which is an outcome of this analysis"),
        (["age", "employed_18m"], r"covariates lists 'employed_18m', which is an outcome of this analysis"),
        (["arm"], r"covariates lists 'arm', which is the arm column"),
    ],
)
def test_a_covariate_that_is_the_cost_effect_or_arm_is_a_parameter_error(frame, covariates, message):
    with pytest.raises(ParameterError, match=message):
        ec.cost_effectiveness(
            frame,
            "cost_total",
            "employed_18m",
            "arm",
            control="SAU",
            covariates=covariates,
            wtp=200_000,
            n_resamples=20,
            seed=1,
        )
