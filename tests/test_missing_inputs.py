"""The missing-data estimators on the one input gate and the result conventions.

Gate rules as they apply to multiple_imputation, bounds and tipping_point (arms coded as numbers, a Trial
giving the same numbers as the DataFrame call, duplicated ids and near-miss labels refused, other arms
counted outside, covariates that cannot be imputed or are not finite named with their participants),
the ARD key, ``analysis=``, declared order, the memory budget, and the logistic imputation model pinned
to statsmodels (the independent reference path of the Newton kernel).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import ipstrial
from ipstrial.errors import MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.missing import bounds, multiple_imputation, rubin, tipping_point
from ipstrial.results import ARD_KEY, collect

ID = "participant_id"
KEY = list(ARD_KEY)


def _every_result(data: pd.DataFrame, **roles: object) -> dict[str, ipstrial.Result]:
    """One result of each missing-area estimator on the synthetic trial (small m)."""
    mi_binary = multiple_imputation(data, "employed_18m", covariates=["age", "sex"], m=3, seed=1, **roles)
    mi_hours = multiple_imputation(
        data, "hours_18m", covariates=["age", "sex"], kind="continuous", m=3, seed=1, **roles
    )
    tp = tipping_point(
        data,
        "hours_known",
        treatment="IPS",
        covariates="age",
        deltas=[-1.0, 0.0, 0.5, 1.0],
        m=3,
        seed=1,
        **roles,
    )
    return {
        "mi_binary": mi_binary,
        "mi_hours": mi_hours,
        "bounds_binary": bounds(data, "hours_known", **roles),
        "bounds_hours": bounds(data, "hours_18m", kind="continuous", **roles),
        "tipping": tp,
        "tipping_mar": tp.mar,
        "mi_pooled": mi_binary.contrasts["IPS vs SAU"],
        "rubin": rubin([0.1, 0.2, 0.15], [0.01, 0.012, 0.011], 100, estimand="risk_difference"),
    }


@pytest.fixture(scope="module")
def with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """The synthetic trial with a binary outcome that has missing values (``hours_known``)."""
    return frame.assign(hours_known=(frame["hours_18m"] > 0).astype(float).where(frame["hours_18m"].notna()))


@pytest.fixture(scope="module")
def results(with_gaps: pd.DataFrame) -> dict[str, ipstrial.Result]:
    return _every_result(with_gaps, arm="arm", control="SAU", id=ID)


# ----------------------------------------------------------------------------- the ARD key
def test_every_missing_result_has_unique_ard_keys(results):
    for name, result in results.items():
        frame = result.to_frame()
        assert len(frame) > 0, name
        assert not frame.duplicated(KEY).any(), (name, frame.loc[frame.duplicated(KEY, keep=False), KEY])
        assert (result.inputs is not None) is (name != "rubin"), name
    # and together: collect() refuses repeated keys across results
    named = [results[k] for k in ("mi_binary", "mi_hours", "bounds_binary", "bounds_hours", "tipping")]
    everything = collect(*named, results["rubin"])
    assert not everything.duplicated(KEY).any()


def test_bounds_and_tipping_point_variants(results):
    frame = results["bounds_binary"].to_frame()
    assert list(frame.contrast) == ["IPS vs SAU", "IPS vs SAU", "IPSE vs SAU", "IPSE vs SAU"]
    assert list(frame.variant) == ["worst", "best", "worst", "best"]
    worst = results["bounds_binary"].table.set_index(["contrast", "scenario"]).loc[("IPS vs SAU", "worst")]
    assert frame.estimate[0] == worst.estimate
    tp = results["tipping"].to_frame()
    assert list(tp.variant) == ["delta=-1,0", "delta=0,0", "delta=0.5,0", "delta=1,0"]
    assert (tp.contrast == "IPS vs SAU").all()
    mi = results["mi_binary"].to_frame()
    assert (mi.variant == "").all()


def test_analysis_renames_every_row(with_gaps):
    common = {"arm": "arm", "treatment": "IPS", "control": "SAU"}
    renamed = [
        multiple_imputation(with_gaps, "hours_known", m=2, seed=1, analysis="sens_mi", **common),
        bounds(with_gaps, "hours_known", analysis="sens_bounds", **common),
        tipping_point(with_gaps, "hours_known", deltas=[0.0, 1.0], m=2, seed=1, analysis="sens_tp", **common),
    ]
    for result, name in zip(renamed, ("sens_mi", "sens_bounds", "sens_tp"), strict=True):
        assert set(result.to_frame().analysis) == {name}
    assert renamed[0].contrasts["IPS vs SAU"].analysis == "sens_mi"
    assert renamed[2].mar.analysis == "sens_tp_mar"
    with pytest.raises(ParameterError, match="analysis"):
        bounds(with_gaps, "hours_known", analysis="Sensitivity bounds", **common)


# ----------------------------------------------------------------------------- Trial and DataFrame
def test_a_trial_gives_the_numbers_of_the_dataframe_call(trial, with_gaps, results):
    from conftest import inklusion_trial

    gapped = inklusion_trial(with_gaps)
    from_trial = _every_result(gapped)
    for name, result in results.items():
        if name == "rubin":
            continue
        a, b = result.to_frame(), from_trial[name].to_frame()
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert from_trial["mi_binary"].inputs == results["mi_binary"].inputs
    # the Trial's control and arms are used; a different arm column than the Trial's is an error
    with pytest.raises(ParameterError, match="arm"):
        bounds(trial, "employed_18m", arm="site")
    with pytest.raises(ParameterError, match="id"):
        bounds(trial, "employed_18m", id="enrolment")


def test_tipping_point_needs_one_treatment_arm_with_a_trial(trial):
    with pytest.raises(ParameterError, match=r"one treatment arm.*\['IPS', 'IPSE'\]"):
        tipping_point(trial, "employed_18m", m=2)


def test_arm_order_of_listing_does_not_change_the_draws(with_gaps):
    """Imputations run in sorted arm order: listing the treatments differently gives the same numbers."""
    one = multiple_imputation(
        with_gaps,
        "hours_18m",
        "arm",
        ["IPS", "IPSE"],
        "SAU",
        kind="continuous",
        covariates="age",
        m=3,
        seed=5,
    )
    other = multiple_imputation(
        with_gaps,
        "hours_18m",
        "arm",
        ["IPSE", "IPS"],
        "SAU",
        kind="continuous",
        covariates="age",
        m=3,
        seed=5,
    )
    for label in ("IPS vs SAU", "IPSE vs SAU"):
        assert one.contrasts[label].estimate == other.contrasts[label].estimate
    # the arms in the order named (treatments, control), then the contrasts in treatment order
    assert list(other.to_frame().contrast) == ["IPSE", "IPS", "SAU", "IPSE vs SAU", "IPS vs SAU"]


def test_per_arm_rows_follow_the_declared_order(with_gaps):
    declared = ipstrial.Trial(with_gaps, id=ID, arm="arm", arms=["SAU", "IPSE", "IPS"], control="SAU")
    result = multiple_imputation(declared, "hours_known", m=2, seed=1)
    assert list(result.to_frame().contrast) == ["SAU", "IPSE", "IPS", "IPSE vs SAU", "IPS vs SAU"]
    assert list(result.missing) == ["SAU", "IPSE", "IPS"]
    table = bounds(declared, "hours_known").table
    assert list(table.contrast.unique()) == ["IPSE vs SAU", "IPS vs SAU"]


# ----------------------------------------------------------------------------- the gate
def _coded(with_gaps: pd.DataFrame) -> pd.DataFrame:
    two = with_gaps[with_gaps.arm != "IPSE"]
    return two.assign(arm=(two.arm == "IPS").astype(int))


def test_integer_arms_read_1_vs_0_everywhere(with_gaps):
    coded = _coded(with_gaps)
    made = [
        multiple_imputation(coded, "hours_known", "arm", 1, 0, m=2, seed=1, id=ID),
        bounds(coded, "hours_known", "arm", 1, 0, id=ID),
        tipping_point(coded, "hours_known", "arm", 1, 0, deltas=[0.0], m=2, seed=1, id=ID),
    ]
    for result in made:
        assert "1 vs 0" in set(result.to_frame().contrast)
        assert "1 vs 0" in result.summary()
        assert "1 vs 0" in result._repr_html_()
        assert "1 vs 0" in json.dumps(result.to_dict(), allow_nan=False)
    assert set(made[0].arms) == {"1", "0"} and made[0].missing == {
        "1": int(coded.loc[coded.arm == 1, "hours_known"].isna().sum()),
        "0": int(coded.loc[coded.arm == 0, "hours_known"].isna().sum()),
    }
    # the same numbers as with text labels
    text = multiple_imputation(
        coded.assign(arm=coded.arm.astype(str)), "hours_known", "arm", "1", "0", m=2, seed=1, id=ID
    )
    assert text.contrasts["1 vs 0"].estimate == made[0].contrasts["1 vs 0"].estimate


def test_rows_of_other_arms_are_counted_outside(results, frame):
    n_ipse = int((frame.arm == "IPSE").sum())
    tp = results["tipping"]
    assert dict(tp.inputs.outside) == {"IPSE": n_ipse}
    assert f"IPSE {n_ipse}" in tp.summary()
    assert dict(results["mi_binary"].inputs.outside) == {}
    assert tp.inputs.n_by_arm == {"IPS": 239, "SAU": 240} and tp.n == {"IPS": 239, "SAU": 240}


def test_duplicated_ids_are_refused(data):
    data.loc[5, ID] = data.loc[4, ID]
    for call in (
        lambda: multiple_imputation(data, "hours_18m", "arm", "IPS", "SAU", kind="continuous", m=2, id=ID),
        lambda: bounds(data, "hours_18m", "arm", "IPS", "SAU", kind="continuous", id=ID),
        lambda: tipping_point(data, "employed_18m", "arm", "IPS", "SAU", m=2, id=ID),
    ):
        with pytest.raises(TrialDataError, match=rf"duplicated participant id.*{data.loc[4, ID]}"):
            call()


@pytest.mark.parametrize("slip", ["IPS ", "ips", "SAU\t"])
def test_near_miss_arm_labels_are_refused(data, slip):
    data.loc[[3, 10], "arm"] = slip
    for call in (
        lambda: multiple_imputation(data, "hours_18m", "arm", "IPS", "SAU", kind="continuous", m=2, id=ID),
        lambda: bounds(data, "employed_18m", "arm", "IPS", "SAU", id=ID),
        lambda: tipping_point(data, "employed_18m", "arm", "IPS", "SAU", m=2, id=ID),
    ):
        with pytest.raises(TrialDataError, match=r"near-miss") as error:
            call()
        assert data.loc[3, ID] in str(error.value)


def test_missing_arm_values_are_refused(data):
    data.loc[7, "arm"] = None
    with pytest.raises(TrialDataError, match="without an arm"):
        bounds(data, "employed_18m", "arm", "IPS", "SAU", id=ID)


def test_text_covariate_with_missing_values_is_named_with_ids(data):
    data.loc[[2, 9, 30], "sex"] = None  # row 2 is in IPSE, outside the analysis
    with pytest.raises(TrialDataError, match=r"'sex'.*2 missing values.*not numeric") as error:
        multiple_imputation(
            data, "hours_18m", "arm", "IPS", "SAU", kind="continuous", covariates="sex", id=ID
        )
    shown = [data.loc[i, ID] for i in (2, 9, 30) if data.loc[i, "arm"] in ("IPS", "SAU")]
    assert all(i in str(error.value) for i in shown)
    # without an id column: rows at positions of the data analysed
    with pytest.raises(TrialDataError, match="rows? at positions?"):
        tipping_point(data, "employed_18m", "arm", "IPS", "SAU", covariates=["age", "sex"], m=2)


def test_numeric_covariate_with_missing_values_is_imputed(data):
    data.loc[[0, 1, 2, 3, 4, 5], "age"] = np.nan
    result = multiple_imputation(
        data, "hours_18m", "arm", "IPS", "SAU", kind="continuous", covariates=["age", "sex"], m=2, n_iter=2
    )
    assert result.imputed_covariates == ("age",) and result.n_iter == 2


def test_infinite_numeric_covariate_is_named(data):
    data["age"] = data["age"].astype(float)
    data.loc[6, "age"] = np.inf  # an IPS participant (row 11, in SAU, would be outside IPS vs IPSE)
    with pytest.raises(TrialDataError, match=r"'age'.*infinite") as error:
        multiple_imputation(
            data, "hours_18m", "arm", "IPS", "IPSE", kind="continuous", covariates="age", id=ID
        )
    assert data.loc[6, ID] in str(error.value)
    with pytest.raises(TrialDataError, match=r"'age'.*infinite"):
        tipping_point(data, "employed_18m", "arm", "IPS", "IPSE", covariates="age", m=2, id=ID)


def test_stray_text_in_a_numeric_covariate_is_named(data):
    data["age"] = data["age"].astype(object)
    data.loc[12, "age"] = "unknown"
    with pytest.raises(TrialDataError, match=r"'age'.*'unknown'"):
        multiple_imputation(data, "employed_18m", "arm", "IPS", "SAU", covariates="age", id=ID)


def test_dataframe_needs_arm_and_control(frame):
    with pytest.raises(ParameterError, match="arm="):
        bounds(frame, "employed_18m")
    with pytest.raises(ParameterError, match="control="):
        multiple_imputation(frame, "employed_18m", "arm", "IPS")


# ----------------------------------------------------------------------------- memory and seeds
def test_memory_budget_refuses_before_any_work(frame):
    with pytest.raises(MemoryBudgetError, match="multiple_imputation with m=100000000"):
        multiple_imputation(frame, "hours_18m", "arm", "IPS", "SAU", kind="continuous", m=10**8)
    with ipstrial.memory_budget_of("1MiB"), pytest.raises(MemoryBudgetError, match="tipping_point"):
        tipping_point(frame, "employed_18m", "arm", "IPS", "SAU", deltas=np.linspace(-3, 3, 400), m=2)


def test_tipping_point_same_seed_same_bits_and_chunked_grid(with_gaps):
    """A grid large enough to be computed in several chunks of δ_T rows gives the bits of the line δ_C = 0
    (computed in one piece)."""
    from ipstrial._memory import chunk_size

    deltas = np.linspace(-2.0, 2.0, 801)
    controls = [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]
    assert chunk_size(4 * 8 * 10 * len(controls), len(deltas)) < len(deltas)  # several chunks
    args = dict(treatment="IPS", control="SAU", covariates="age", m=10, seed=8, deltas_control=controls)
    tp = tipping_point(with_gaps, "hours_known", "arm", deltas=deltas, **args)
    again = tipping_point(with_gaps, "hours_known", "arm", deltas=deltas, **args)
    pd.testing.assert_frame_equal(tp.grid, again.grid, check_exact=True)
    assert tp.seed_entropy == 8
    column = tp.grid[tp.grid.delta_control == 0.0]
    for name in ("estimate", "se", "ci_low", "ci_high", "p_value", "df", "fmi", "flipped"):
        np.testing.assert_array_equal(column[name].to_numpy(), tp.line[name].to_numpy(), err_msg=name)
    surface = tp.grid.pivot(index="delta_treatment", columns="delta_control", values="estimate").to_numpy()
    assert np.all(np.diff(surface, axis=0) >= 0) and np.all(np.diff(surface, axis=1) <= 0)
    frame = tp.to_frame()
    assert len(frame) == 801 and not frame.duplicated(KEY).any()


# ----------------------------------------------------------------------------- the Newton kernel
def test_logistic_imputation_model_matches_statsmodels():
    """The augmented, weighted logistic MLE and its information against statsmodels' GLM (IRLS)."""
    import statsmodels.api as sm

    from ipstrial.missing.imputation import _augmented, _logistic_fit, _standardise

    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(size=300), rng.random(300) < 0.4])
    y = (rng.random(300) < 1 / (1 + np.exp(-(0.3 + 1.2 * x[:, 0] - 0.8 * x[:, 1])))).astype(float)
    model = _logistic_fit(x, y, x[:5], "y")
    z_obs, z_mis = _standardise(x, x[:5])
    z, y_aug, w = _augmented(z_obs, y)
    fit = sm.GLM(y_aug, z, family=sm.families.Binomial(), var_weights=w).fit(tol=1e-12)
    np.testing.assert_allclose(model.beta, fit.params, rtol=1e-8, atol=1e-10)
    covariance = model.chol @ model.chol.T
    np.testing.assert_allclose(covariance, fit.cov_params(), rtol=1e-6)
    np.testing.assert_array_equal(model.z_mis, z_mis)


def test_perfect_prediction_is_handled_by_the_augmentation():
    """A covariate that separates the outcome within an arm: the augmented MLE stays finite."""
    x = np.r_[np.linspace(-2, -0.1, 40), np.linspace(0.1, 2, 40)]
    data = pd.DataFrame(
        {
            "arm": np.repeat(["T", "C"], 40),
            "y": np.r_[(x[:40] > -1).astype(float), (x[40:] > 1).astype(float)],
            "x": x,
        }
    )
    data.loc[[0, 5, 50, 60], "y"] = np.nan
    result = multiple_imputation(data, "y", "arm", "T", "C", covariates="x", m=3, seed=2)
    assert np.isfinite(result.contrasts["T vs C"].estimate)


# ----------------------------------------------------------------------------- per-arm rows and options
@pytest.mark.parametrize("name", ["mi_binary", "mi_hours"])
def test_mi_per_arm_rows_come_first_and_have_no_p_value(results, name):
    result = results[name]
    frame = result.to_frame()
    per_arm = frame.estimand.isin(["proportion", "mean"])
    # the arms in the declared order, then the contrasts in treatment order
    assert list(frame.contrast) == ["IPS", "IPSE", "SAU", "IPS vs SAU", "IPSE vs SAU"]
    assert per_arm.tolist() == [True, True, True, False, False]
    assert frame.loc[per_arm, "p_value"].isna().all()  # a test of an arm mean against 0 means nothing
    assert frame.loc[~per_arm, "p_value"].between(0, 1).all()
    assert all(np.isnan(pooled.p_value) for pooled in result.arms.values())
    assert all(0 <= pooled.p_value <= 1 for pooled in result.contrasts.values())
    assert (frame.loc[per_arm, "ci_low"] < frame.loc[per_arm, "estimate"]).all()  # the interval is kept


def test_bounds_and_tipping_point_have_only_contrast_rows(results):
    for name in ("bounds_binary", "bounds_hours", "tipping"):
        assert results[name].to_frame().contrast.str.contains(" vs ").all(), name


@pytest.mark.parametrize("covariates", [["arm"], ["age", "arm"], "hours_known", ["sex", "hours_known"]])
def test_the_arm_or_the_outcome_as_a_covariate_is_refused(with_gaps, trial, covariates):
    common = {"covariates": covariates, "m": 2, "seed": 1}
    clash = r"covariates lists '(arm|hours_known)', which is (the arm column|an outcome) of this analysis"
    with pytest.raises(ParameterError, match=clash):
        multiple_imputation(with_gaps, "hours_known", "arm", "IPS", "SAU", **common)
    with pytest.raises(ParameterError, match=clash):
        tipping_point(with_gaps, "hours_known", "arm", "IPS", "SAU", **common)
    if "hours_known" not in covariates:  # the Trial's arm column, by its declared role
        with pytest.raises(ParameterError, match=clash):
            multiple_imputation(trial, "employed_18m", **common)


def test_n_iter_is_refused_where_no_sweeps_are_run(with_gaps, data):
    common = {"arm": "arm", "treatment": "IPS", "control": "SAU", "m": 2, "seed": 1}
    # complete covariates: one sweep is exact, so an explicit n_iter would be ignored
    unused = r"n_iter=5 sets the chained-equation sweeps.*no covariate has missing"
    with pytest.raises(ParameterError, match=unused):
        multiple_imputation(with_gaps, "hours_known", covariates="age", n_iter=5, **common)
    with pytest.raises(ParameterError, match="n_iter=5 sets the chained-equation sweeps"):
        tipping_point(with_gaps, "hours_known", covariates="age", n_iter=5, deltas=[0.0], **common)
    assert multiple_imputation(with_gaps, "hours_known", covariates="age", **common).n_iter == 1
    # a numeric covariate with gaps: the default is 10 sweeps, an explicit n_iter is used
    data.loc[[0, 1, 2, 3, 4, 5], "age"] = np.nan
    hours = {"kind": "continuous", "covariates": ["age", "sex"]}
    assert multiple_imputation(data, "hours_18m", **hours, **common).n_iter == 10
    one = multiple_imputation(data, "hours_18m", **hours, n_iter=1, **common)
    assert one.n_iter == 1 and "by PMM, 1 sweep;" in one.method  # "1 sweep", not "1 sweeps"


@pytest.mark.parametrize("seed", ["x", -1, 1.5, float("nan"), True])
def test_bad_seed_is_refused_before_any_work(with_gaps, seed):
    with pytest.raises(ParameterError, match="seed must be a non-negative int"):
        multiple_imputation(with_gaps, "hours_known", "arm", "IPS", "SAU", m=2, seed=seed)
    with pytest.raises(ParameterError, match="seed must be a non-negative int"):
        tipping_point(with_gaps, "hours_known", "arm", "IPS", "SAU", m=2, seed=seed)


def test_one_missing_covariate_value_is_counted_in_the_singular(data):
    data.loc[[9], "sex"] = None  # row 9 is in an analysed arm
    assert data.loc[9, "arm"] in ("IPS", "SAU")
    with pytest.raises(TrialDataError, match=r"'sex': 1 missing value in a covariate that is not numeric"):
        multiple_imputation(
            data, "hours_18m", "arm", "IPS", "SAU", kind="continuous", covariates="sex", id=ID
        )


def test_rubin_needs_a_model_with_at_least_one_parameter():
    from ipstrial.errors import ParameterError
    from ipstrial.missing import rubin

    with pytest.raises(ParameterError, match="k must be a whole number at least 1"):
        rubin([1.0, 1.2], [0.1, 0.1], 100, k=0)
