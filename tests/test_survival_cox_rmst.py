"""Cox model (with R's cox.zph test) and RMST against R's survival package, closed forms and the
synthetic trial's exact truths."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import _FRAME, COVARIATES
from conftest import REFERENCE as REFERENCE_DIR

from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.survival import cox, rmst
from ipstrial.survival.rmst import restricted_mean
from ipstrial.synthetic import INKLUSION, simulate_trial

REFERENCE = json.loads((REFERENCE_DIR / "survival_cox_rmst.json").read_text())
LUNG = pd.read_csv(REFERENCE_DIR / "data/lung.csv")
DATA = _FRAME.assign(weeks=lambda d: np.floor(d.days_to_job / 7))  # as in the R script: heavy ties and zeros
TRUTH = INKLUSION.truth.set_index(["outcome", "estimand", "contrast"]).value

MODELS = {
    "lung_age": lambda: cox(LUNG, "time", "event", "arm", "female", "male", covariates="age"),
    "lung_ecog_strata": lambda: cox(
        LUNG.dropna(subset=["ph_ecog"]),
        "time",
        "event",
        "arm",
        "female",
        "male",
        covariates="age",
        strata="ph_ecog",
    ),
    "inklusion_ips": lambda: cox(DATA, "days_to_job", "event", "arm", "IPS", "SAU"),
    "inklusion_ips_adjusted": lambda: cox(
        DATA, "days_to_job", "event", "arm", "IPS", "SAU", covariates=COVARIATES, strata="site"
    ),
    "inklusion_three_adjusted": lambda: cox(
        DATA, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU", covariates=COVARIATES, strata="site"
    ),
    "inklusion_weeks": lambda: cox(
        DATA, "weeks", "event", "arm", "IPS", "SAU", covariates=["age", "employed_prev5y"], unit="weeks"
    ),
}


@pytest.mark.parametrize("ref", REFERENCE["cox"], ids=lambda r: r["name"])
def test_cox_agrees_with_r(ref):
    result = MODELS[ref["name"]]()
    c = result.coefficients
    assert [t.replace(":", "") for t in c.term] == ref["term"]
    assert result.n == ref["n"]
    assert int(result.events.events.sum()) == ref["nevent"]
    for column, key in (("coef", "coef"), ("se", "se"), ("hazard_ratio", "hr")):
        np.testing.assert_allclose(c[column], ref[key], rtol=1e-6)
    np.testing.assert_allclose(c.ci_low, ref["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(c.ci_high, ref["ci_high"], rtol=1e-6)
    np.testing.assert_allclose(c.p_value, ref["p"], rtol=1e-4)
    assert result.log_likelihood == pytest.approx(ref["loglik"], rel=1e-9)
    # proportional hazards: R's cox.zph (survival 3.x, transform = "km"), per term and global
    ph = result.ph_test
    assert list(ph.term) == ref["zph_term"]
    assert list(ph.df) == ref["zph_df"]
    np.testing.assert_allclose(ph.chisq, ref["zph_chisq"], rtol=1e-6)
    np.testing.assert_allclose(ph.p, ref["zph_p"], rtol=1e-4)
    # the rows: one hazard ratio per treatment arm, se of the log HR in extra
    rows = result.to_frame()
    assert list(rows.contrast) == [f"{t} vs {result.control}" for t in ref["treatment"]]
    assert set(rows.estimand) == {"hazard_ratio"}
    np.testing.assert_allclose(rows.estimate, ref["hr"][: len(rows)], rtol=1e-6)
    np.testing.assert_allclose(rows.se_log_hr, ref["se"][: len(rows)], rtol=1e-6)
    np.testing.assert_allclose(rows.p_value, ref["p"][: len(rows)], rtol=1e-4)
    assert rows.method.str.contains("cause-specific").all()
    json.dumps(result.to_dict(), allow_nan=False)


def test_cox_competing_events_censored_and_counted():
    result = MODELS["inklusion_ips"]()
    row = result.to_frame().iloc[0]
    two = DATA[DATA.arm.isin(["IPS", "SAU"])]
    assert row.competing_censored == int((two.event == 2).sum()) > 0
    assert row.events_treatment == int(((two.arm == "IPS") & (two.event == 1)).sum())
    assert row.n == len(two)
    assert any("cause-specific" in note for note in result.notes)


def test_cox_failing_global_ph_test_is_noted():
    # R: the global cox.zph p of lung_age is 0.250; at alpha 0.30 that is a failing test
    ref = next(r for r in REFERENCE["cox"] if r["name"] == "lung_age")
    assert 0.05 < ref["zph_p"][-1] < 0.30
    quiet = cox(LUNG, "time", "event", "arm", "female", "male", covariates="age")
    assert "proportional hazards questionable" not in quiet.summary()
    loud = cox(LUNG, "time", "event", "arm", "female", "male", covariates="age", alpha=0.30)
    assert "proportional hazards questionable" in loud.summary()
    assert "proportional hazards questionable" in loud._repr_html_()


@pytest.mark.parametrize("ref", REFERENCE["rmst"], ids=lambda r: r["name"])
def test_rmst_agrees_with_r(ref):
    if ref["name"].startswith("lung"):
        result = rmst(LUNG, "time", "event", "arm", "female", "male", tau=ref["tau"])
    else:
        duration = "weeks" if "weeks" in ref["name"] else "days_to_job"
        result = rmst(DATA, duration, "event", "arm", ["IPS", "IPSE"], "SAU", tau=ref["tau"])
    arms = result.arms.set_index("arm").loc[ref["arm"]]
    np.testing.assert_allclose(arms.rmst, ref["rmean"], rtol=1e-9)
    np.testing.assert_allclose(arms.se, ref["se"], rtol=1e-9)
    np.testing.assert_array_equal(arms.events, ref["events"])
    np.testing.assert_array_equal(arms.n, ref["n"])
    frame = result.to_frame()
    by_arm = dict(zip(ref["arm"], zip(ref["rmean"], ref["se"], strict=True), strict=True))
    for treatment in result.treatments:
        (r1, s1), (r0, s0) = by_arm[treatment], by_arm[result.control]
        label = f"{treatment} vs {result.control}"
        diff = frame[(frame.contrast == label) & (frame.estimand == "rmst_difference")].iloc[0]
        assert diff.estimate == pytest.approx(r1 - r0, rel=1e-9)
        assert diff.se == pytest.approx(math.hypot(s1, s0), rel=1e-9)
        z = (r1 - r0) / math.hypot(s1, s0)
        assert diff.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-6)
        assert diff.rmtl_difference == pytest.approx(r0 - r1, rel=1e-9)
        ratio = frame[(frame.contrast == label) & (frame.estimand == "rmst_ratio")].iloc[0]
        se_log = math.sqrt((s1 / r1) ** 2 + (s0 / r0) ** 2)
        assert ratio.estimate == pytest.approx(r1 / r0, rel=1e-9)
        assert ratio.se_log_ratio == pytest.approx(se_log, rel=1e-9)
        assert ratio.ci_low == pytest.approx(r1 / r0 * math.exp(-1.959963984540054 * se_log), rel=1e-9)
    for arm, (r, s) in by_arm.items():
        row = frame[(frame.contrast == arm) & (frame.estimand == "rmst")].iloc[0]
        assert row.rmtl == pytest.approx(ref["tau"] - r, rel=1e-9)
        assert row.ci_high == pytest.approx(r + 1.959963984540054 * s, rel=1e-9)


def test_rmst_closed_form_with_zero_durations():
    # times 0 (event), 0 (censored), 5 (event), 10 (censored): Ŝ = 3/4 from 0, 3/8 from 5;
    # RMST(10) = 0.75 * 5 + 0.375 * 5; Var = A_0² / (4 * 3) + A_5² * 1 / (2 * 1)
    value, se, _ = restricted_mean(np.array([0, 0, 5, 10]), np.array([1, 0, 1, 0]), 10)
    assert value == pytest.approx(5.625, rel=1e-12)
    assert se**2 == pytest.approx(5.625**2 / 12 + 1.875**2 / 2, rel=1e-12)


def test_zero_durations_and_weekly_ties_are_in_the_r_comparison():
    weeks = DATA.loc[DATA.arm.isin(["IPS", "SAU"]), "weeks"]
    assert (weeks == 0).sum() > 0
    assert weeks.nunique() < len(weeks) / 3  # heavy ties
    result = MODELS["inklusion_weeks"]()
    assert result.to_frame().unit.iloc[0] == "weeks"


def test_synthetic_trial_headline():
    hr = cox(DATA, "days_to_job", "event", "arm", "IPS", "SAU").to_frame().iloc[0]
    assert hr.estimate > 1 and hr.ci_low > 1
    result = rmst(DATA, "days_to_job", "event", "arm", "IPS", "SAU", tau=548)
    diff = result.to_frame().query("estimand == 'rmst_difference'").iloc[0]
    assert diff.estimate < 0
    truth = TRUTH["days_to_job", "rmst_difference", "IPS vs SAU"]
    assert abs(diff.estimate - truth) < 3 * diff.se


@pytest.fixture(scope="module")
def large():
    return simulate_trial(n=60_000, seed=20240611)


def test_large_sample_rmst_matches_truth(large):
    result = rmst(large, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU", tau=548)
    for a in result.arms.itertuples():
        assert abs(a.rmst - TRUTH["days_to_job", "rmst", a.arm]) < 4 * a.se
    for c in result.contrasts.itertuples():
        assert abs(c.difference - TRUTH["days_to_job", "rmst_difference", c.contrast]) < 4 * c.se


def test_large_sample_adjusted_cox_matches_conditional_truth(large):
    result = cox(
        large, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU", covariates=[*COVARIATES, "site"]
    )
    for row in result.to_frame().itertuples():
        truth = math.log(TRUTH["days_to_job", "hazard_ratio", row.contrast])
        assert abs(math.log(row.estimate) - truth) < 4 * row.se_log_hr


def test_tau_beyond_follow_up_names_each_arm():
    with pytest.raises(EstimationError) as info:
        rmst(LUNG, "time", "event", "arm", "female", "male", tau=1000)
    message = str(info.value)
    assert "male 1022" in message and "female 965" in message and "tau <= 965" in message
    # tau equal to the last follow-up is allowed (checked against R above: lung_965)
    assert REFERENCE["lung_last_follow_up"]["female"] == 965
    rmst(LUNG, "time", "event", "arm", "female", "male", tau=965)


def test_arm_without_events():
    data = LUNG.assign(event=np.where(LUNG.arm == "female", 0, LUNG.event))
    with pytest.raises(EstimationError, match="undefined.*log-rank test or the restricted mean"):
        cox(data, "time", "event", "arm", "female", "male", covariates="age")
    result = rmst(data, "time", "event", "arm", "female", "male", tau=500)
    female = result.arms.set_index("arm").loc["female"]
    assert female.rmst == 500 and female.se == 0
    assert any("no events up to tau" in note for note in result.notes)


def test_single_arm_is_an_error():
    male = LUNG[LUNG.arm == "male"]
    with pytest.raises(TrialDataError):
        cox(male, "time", "event", "arm", "female", "male")
    with pytest.raises(TrialDataError):
        rmst(male, "time", "event", "arm", "female", "male", tau=300)


def test_bad_tau_and_cause():
    with pytest.raises(ParameterError, match="tau"):
        rmst(LUNG, "time", "event", "arm", "female", "male", tau=0)
    with pytest.raises(ParameterError, match="tau"):
        rmst(LUNG, "time", "event", "arm", "female", "male", tau="365")
    with pytest.raises(ParameterError, match="tau"):
        rmst(LUNG, "time", "event", "arm", "female", "male", tau=float("nan"))
    with pytest.raises(ParameterError, match="cause"):
        cox(LUNG, "time", "event", "arm", "female", "male", cause=3)


def test_plot_and_summary():
    import matplotlib

    matplotlib.use("Agg")
    result = rmst(DATA, "days_to_job", "event", "arm", "IPS", "SAU", tau=548)
    ax = result.plot()
    assert ax.get_xlim() == (0, 548)
    assert "Restricted mean days_to_job up to 548 days" in result.summary()
    json.dumps(result.to_dict(), allow_nan=False)


def test_covariate_that_is_also_a_stratum_or_collinear():
    with pytest.raises(ParameterError, match="both as covariates and as strata"):
        cox(DATA, "days_to_job", "event", "arm", "IPS", "SAU", covariates=["site"], strata="site")
    with pytest.raises(TrialDataError, match="collinear"):
        cox(
            DATA.assign(copy=DATA.arm == "IPS"),
            "days_to_job",
            "event",
            "arm",
            "IPS",
            "SAU",
            covariates=["copy"],
        )
