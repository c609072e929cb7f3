"""Competing risks (Aalen-Johansen, Gray's test, Fine-Gray) against R's cmprsk and survival.

References: tests/reference/survival_competing.R -> survival_competing.json (cmprsk::cuminc,
timepoints, crr; survival::coxph with Efron ties for the cause-specific companion).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import _FRAME
from conftest import REFERENCE as REFERENCE_DIR

from ipstrial import memory_budget_of
from ipstrial.errors import EstimationError, MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.survival import cumulative_incidence, fine_gray, gray_test, kaplan_meier

REFERENCE = json.loads((REFERENCE_DIR / "survival_competing.json").read_text())
MGUS = pd.read_csv(REFERENCE_DIR / "data/mgus2.csv")
TRIAL = _FRAME.copy()
TRIAL["weeks"] = np.ceil(TRIAL.days_to_job / 7).astype(int)
ZERO = TRIAL.assign(
    days_to_job=np.where(TRIAL.participant_id.isin(REFERENCE["zero_ids"]), 0, TRIAL.days_to_job)
)
ZERO_EVENTS = TRIAL.assign(
    days_to_job=np.where(TRIAL.participant_id.isin(REFERENCE["zero_event_ids"]), 0, TRIAL.days_to_job)
)
TWO_ARMS = TRIAL[TRIAL.arm.isin(["IPS", "SAU"])]

CUMINC_DATA = {
    "mgus2": MGUS,
    "mgus2_rho1": MGUS,
    "inklusion_ips_sau": TWO_ARMS,
    "inklusion_3arm": TRIAL,
    "inklusion_3arm_site": TRIAL,
    "inklusion_ips_sau_site": TWO_ARMS,
    "inklusion_weekly": TRIAL,  # heavy ties: whole weeks
    "inklusion_zero": ZERO,  # zero durations with all three event codes
}
CRR_DATA = {
    "mgus2": MGUS,
    "mgus2_cause2": MGUS,
    "inklusion_ips_sau": TRIAL,
    "inklusion_ips_sau_cov": TRIAL,
    "inklusion_3arm": TRIAL,
    "inklusion_weekly_cov": TRIAL,
    "inklusion_zero": ZERO_EVENTS,
}


def _num(values) -> np.ndarray:
    """R's NA / NaN (written as strings by jsonlite) as NaN."""
    values = values if isinstance(values, list) else [values]
    return np.array([np.nan if isinstance(v, str) or v is None else v for v in values], float)


def _as_list(value) -> list:
    if value in (None, {}, []):
        return []
    return value if isinstance(value, list) else [value]


def _relative(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.where(np.abs(b) > 0, np.abs(b), 1.0)
    return float(np.max(np.abs(a - b) / scale))


def _step_values(curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cuminc lists every corner of the step function: the last value at a time is F(t)."""
    time, est, var = (np.asarray(curve[k], float) for k in ("time", "est", "var"))
    last = len(time) - 1 - np.unique(time[::-1], return_index=True)[1]
    return time[last], est[last], var[last]


def _fit(case, cause):
    strata = case["strata"] if isinstance(case.get("strata"), str) else None
    return cumulative_incidence(
        CUMINC_DATA[case["name"]], case["time"], "event", "arm", cause=cause, strata=strata, rho=case["rho"]
    )


@pytest.mark.parametrize("case", REFERENCE["cuminc"], ids=lambda c: c["name"])
@pytest.mark.parametrize("cause", [1, 2])
def test_cuminc_estimate_and_variance_agree_with_r(case, cause):
    result = _fit(case, cause)
    assert set(result.arms) == set(case["arms"])
    for curve in (c for c in case["curves"] if c["cause"] == cause):
        grid, est, var = _step_values(curve)
        assert _relative(result.at(grid).loc[curve["arm"]], est) < 1e-6
        assert _relative(result.variance_at(grid).loc[curve["arm"]], var) < 1e-6
    for point in (p for p in case.get("at", []) if p["cause"] == cause):
        table = result.table(point["time"]).set_index("arm").loc[point["arm"]]
        for column, key in (
            ("estimate", "est"),
            ("variance", "var"),
            ("ci_low", "ci_low"),
            ("ci_high", "ci_high"),
        ):
            ours, theirs = table[column].to_numpy(float), _num(point[key])
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
            keep = ~np.isnan(theirs)
            assert _relative(ours[keep], theirs[keep]) < 1e-6, column


@pytest.mark.parametrize("case", REFERENCE["cuminc"], ids=lambda c: c["name"])
@pytest.mark.parametrize("cause", [1, 2])
def test_gray_test_agrees_with_r(case, cause):
    ref = next(t for t in case["tests"] if t["cause"] == cause)
    strata = case["strata"] if isinstance(case.get("strata"), str) else None
    result = gray_test(
        CUMINC_DATA[case["name"]], case["time"], "event", "arm", cause=cause, strata=strata, rho=case["rho"]
    )
    assert result.statistic == pytest.approx(ref["stat"], rel=1e-6)
    assert result.p_value == pytest.approx(ref["p_upper"], rel=1e-4)
    assert result.p_value == pytest.approx(ref["p"], rel=1e-4)
    assert result.df == ref["df"]
    (row,) = result.rows()
    assert row.estimand == "gray_test" and row.estimate == result.statistic
    assert dict(row.extra)["df"] == ref["df"]
    # the same test is the gray_test row of cumulative_incidence
    cif_row = _fit(case, cause).to_frame().query("estimand == 'gray_test'").iloc[0]
    assert cif_row.estimate == pytest.approx(ref["stat"], rel=1e-6)
    assert cif_row.p_value == pytest.approx(ref["p_upper"], rel=1e-4)


def test_gray_test_does_not_depend_on_the_order_of_the_arms():
    forward = gray_test(TRIAL, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU")
    backward = gray_test(TRIAL, "days_to_job", "event", "arm", ["SAU", "IPSE"], "IPS")
    assert backward.arms == ("SAU", "IPSE", "IPS")
    ref = next(c for c in REFERENCE["cuminc"] if c["name"] == "inklusion_3arm")["tests"][0]
    assert forward.statistic == pytest.approx(ref["stat"], rel=1e-6)
    assert backward.statistic == pytest.approx(ref["stat"], rel=1e-6)
    assert forward.rows()[0].contrast == "IPS vs IPSE vs SAU"


@pytest.mark.parametrize("case", REFERENCE["crr"], ids=lambda c: c["name"])
def test_fine_gray_and_cause_specific_cox_agree_with_r(case):
    result = fine_gray(
        CRR_DATA[case["name"]],
        case["time"],
        "event",
        "arm",
        case["treatment"],
        case["control"],
        cause=case["cause"],
        covariates=_as_list(case["covariates"]),
    )
    assert list(result.coefficients.term[: len(_as_list(case["treatment"]))]) == [
        f"arm:{t}" for t in _as_list(case["treatment"])
    ]
    c = result.coefficients
    assert len(c) == len(_as_list(case["terms"]))
    # reference: crr iterated to the maximum (gtol = 1e-13); crr's default stops at gtol = 1e-6,
    # which leaves differences up to ~6e-6 relative in these data
    assert _relative(c.coef, case["coef"]) < 1e-6
    assert _relative(c.se, case["se"]) < 1e-6
    assert _relative(c.p_value, case["p"]) < 1e-4
    assert result.log_likelihood == pytest.approx(case["loglik"], rel=1e-9)
    assert result.log_likelihood_null == pytest.approx(case["loglik_null"], rel=1e-9)
    cs = result.cause_specific
    assert _relative(cs.coef, _as_list(case["cs_coef"])) < 1e-6
    assert _relative(cs.se, _as_list(case["cs_se"])) < 1e-6
    assert _relative(cs.p_value, _as_list(case["cs_p"])) < 1e-4
    frame = result.to_frame()
    treatments = _as_list(case["treatment"])
    shr = frame[frame.estimand == "subdistribution_hazard_ratio"]
    hr = frame[frame.estimand == "hazard_ratio"]
    assert list(shr.contrast) == [f"{t} vs {case['control']}" for t in treatments]
    assert list(hr.contrast) == list(shr.contrast)
    assert set(hr.model) == {"cause-specific"} and set(shr.model) == {"Fine-Gray"}
    assert set(hr.variant) == {"model=cause-specific"} and set(shr.variant) == {""}
    first = shr.iloc[0]
    assert first.estimate == pytest.approx(
        np.exp(case["coef"][0] if isinstance(case["coef"], list) else case["coef"])
    )
    assert first.se_log_shr == pytest.approx(_as_list(case["se"])[0], rel=1e-6)
    z = 1.959963984540054
    assert first.ci_low == pytest.approx(np.exp(first.log_shr - z * first.se_log_shr), rel=1e-12)
    assert first.ci_high == pytest.approx(np.exp(first.log_shr + z * first.se_log_shr), rel=1e-12)


def test_incidence_at_548_days_matches_the_synthetic_truth():
    from ipstrial.synthetic import INKLUSION, simulate_trial

    data = simulate_trial(n=60_000, seed=20240611)
    result = cumulative_incidence(data, "days_to_job", "event", "arm", times=[548])
    truth = INKLUSION.truth
    truth = truth[(truth.outcome == "days_to_job") & (truth.estimand == "cumulative_incidence")]
    table = result.table([548]).set_index("arm")
    for _, row in truth.iterrows():
        estimate, se = table.loc[row.contrast, "estimate"], table.loc[row.contrast, "se"]
        assert 0.002 < se < 0.006
        assert abs(estimate - row.value) < 4 * se, row.contrast


def test_without_competing_events_the_incidence_is_one_minus_kaplan_meier():
    from lifelines import KaplanMeierFitter

    data = MGUS.assign(event=np.where(MGUS.event == 2, 0, MGUS.event))
    result = cumulative_incidence(data, "time", "event", "arm")
    assert "no competing events" in result.notes[0]
    for arm in ("female", "male"):
        part = data[data.arm == arm]
        km = KaplanMeierFitter().fit(part.time, part.event)
        grid = np.arange(0, part.time.max() + 1, 7.0)
        expected = 1 - km.survival_function_at_times(grid).to_numpy()
        np.testing.assert_allclose(result.at(grid).loc[arm].to_numpy(), expected, rtol=1e-12, atol=1e-14)
    assert np.all(result.curves.competing_estimate == 0)


def _no_events_in_ipse() -> pd.DataFrame:
    data = TRIAL.copy()
    data.loc[(data.arm == "IPSE") & (data.event == 1), "event"] = 0
    return data


def test_an_arm_without_events_of_the_cause():
    data = _no_events_in_ipse()
    result = cumulative_incidence(data, "days_to_job", "event", "arm", times=[182, 548])
    frame = result.to_frame()
    ipse = frame[(frame.contrast == "IPSE") & (frame.estimand == "cumulative_incidence")]
    assert list(ipse.estimate) == [0.0, 0.0]
    assert all("incidence 0" in note for note in ipse.note)
    assert np.isfinite(frame[frame.estimand == "gray_test"].estimate.iloc[0])
    with pytest.raises(EstimationError, match="subdistribution hazard ratio is undefined"):
        fine_gray(data, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU")
    # with the other pair the model is defined
    ok = fine_gray(data, "days_to_job", "event", "arm", "IPS", "SAU", cause_specific=False)
    assert ok.cause_specific is None and len(ok.rows()) == 1


def test_no_events_of_the_cause_at_all_leaves_gray_test_undefined():
    data = TRIAL.assign(event=np.where(TRIAL.event == 1, 0, TRIAL.event))
    with pytest.raises(EstimationError, match="undefined"):
        gray_test(data, "days_to_job", "event", "arm")
    result = cumulative_incidence(data, "days_to_job", "event", "arm")
    assert result.test is None and any("Gray's test not computed" in n for n in result.notes)


def test_zero_durations_count_at_time_zero():
    case = next(c for c in REFERENCE["cuminc"] if c["name"] == "inklusion_zero")
    result = _fit(case, 1)
    for point in (p for p in case["at"] if p["cause"] == 1):
        assert point["time"][0] == 0 and point["est"][0] > 0
        assert result.at(0.0).loc[point["arm"], 0.0] == pytest.approx(point["est"][0], rel=1e-12)


def test_a_single_arm():
    ips = TRIAL[TRIAL.arm == "IPS"]
    result = cumulative_incidence(ips, "days_to_job", "event", "arm", times=[548])
    assert result.test is None
    assert list(result.to_frame().estimand) == ["cumulative_incidence"]
    ref = next(c for c in REFERENCE["cuminc"] if c["name"] == "inklusion_3arm")
    point = next(p for p in ref["at"] if p["arm"] == "IPS" and p["cause"] == 1)
    assert result.at(548).loc["IPS", 548.0] == pytest.approx(
        point["est"][point["time"].index(548)], rel=1e-12
    )
    with pytest.raises(TrialDataError, match="nothing to compare"):
        gray_test(ips, "days_to_job", "event", "arm")
    with pytest.raises(TrialDataError):
        fine_gray(ips, "days_to_job", "event", "arm", "IPS", "SAU")


def test_other_competing_codes_are_lumped_together():
    # the incidence of cause 1 depends on the other causes only through their sum
    coded = TRIAL.assign(event=np.where((TRIAL.event == 2) & (TRIAL.age > 35), 3, TRIAL.event))
    with pytest.raises(TrialDataError, match="event codes outside"):
        cumulative_incidence(coded, "days_to_job", "event", "arm")
    split = cumulative_incidence(coded, "days_to_job", "event", "arm", event_codes=(0, 1, 2, 3))
    ref = next(c for c in REFERENCE["cuminc"] if c["name"] == "inklusion_3arm")
    curve = next(c for c in ref["curves"] if c["arm"] == "SAU" and c["cause"] == 1)
    grid, est, var = _step_values(curve)
    assert _relative(split.at(grid).loc["SAU"], est) < 1e-6
    assert _relative(split.variance_at(grid).loc["SAU"], var) < 1e-6
    assert split.test.statistic == pytest.approx(ref["tests"][0]["stat"], rel=1e-6)
    with pytest.raises(ParameterError, match="cause"):
        cumulative_incidence(TRIAL, "days_to_job", "event", "arm", cause=0)


def test_rows_at_times_and_beyond_follow_up():
    result = cumulative_incidence(MGUS, "time", "event", "arm", times=[120, 400], alpha=0.1)
    frame = result.to_frame()
    cif = frame[frame.estimand == "cumulative_incidence"]
    assert list(cif.contrast) == ["female", "female", "male", "male"]
    assert list(cif.time) == [120.0, 400.0, 120.0, 400.0]
    assert list(cif.variant) == ["t=120", "t=400", "t=120", "t=400"]
    assert set(cif.conf_level) == {0.9}
    late = cif[(cif.contrast == "female") & (cif.time == 400)].iloc[0]  # female follow-up ends at 394
    assert np.isnan(late.estimate) and "beyond the last follow-up" in late.note
    assert cif.n.tolist() == [631, 631, 753, 753]
    default = cumulative_incidence(MGUS, "time", "event", "arm")
    assert default.times == (394.0,)


def test_plot_draws_the_curves_to_their_final_values():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = cumulative_incidence(TRIAL, "days_to_job", "event", "arm")
    ax = result.plot(competing=True)
    lines = {line.get_gid(): line for line in ax.get_lines()}
    for arm in ("IPS", "IPSE", "SAU"):
        tab = result.curves[result.curves.arm == arm]
        cif, competing = lines[f"cif:{arm}"], lines[f"competing:{arm}"]
        assert cif.get_ydata()[-1] == pytest.approx(tab.estimate.iloc[-1])
        assert competing.get_ydata()[-1] == pytest.approx(tab.competing_estimate.iloc[-1])
        assert competing.get_linestyle() == "--"
        assert cif.get_xdata()[-1] == result.last_follow_up[arm] == 913
    ref = next(c for c in REFERENCE["cuminc"] if c["name"] == "inklusion_3arm")
    final = next(c for c in ref["curves"] if c["arm"] == "SAU" and c["cause"] == 1)["est"][-1]
    assert lines["cif:SAU"].get_ydata()[-1] == pytest.approx(final, rel=1e-9)
    plt.close(ax.figure)


def test_fine_gray_separation_and_collinearity_are_errors():
    data = TRIAL[TRIAL.arm.isin(["IPS", "SAU"])].copy()
    # a covariate level in which nobody has the event: the coefficient runs to -infinity
    data["flag"] = np.where(data.event == 1, 0, np.arange(len(data)) % 2)
    with pytest.raises(
        EstimationError, match="the Fine-Gray model has no finite estimate .separation.*flag: at every"
    ):
        fine_gray(
            data, "days_to_job", "event", "arm", "IPS", "SAU", covariates=["flag"], cause_specific=False
        )
    data["copy_of_arm"] = (data.arm == "IPS").astype(int)
    with pytest.raises(TrialDataError, match="collinear"):
        fine_gray(data, "days_to_job", "event", "arm", "IPS", "SAU", covariates=["copy_of_arm"])


def test_fine_gray_collinear_columns_are_named():
    data = TWO_ARMS.assign(copy_of_arm=(TWO_ARMS.arm == "IPS").astype(int))
    with pytest.raises(
        TrialDataError, match=r"the Fine-Gray model cannot be fitted: the term\(s\) \['copy_of_arm'\]"
    ):
        fine_gray(data, "days_to_job", "event", "arm", "IPS", "SAU", covariates=["age", "copy_of_arm"])


def test_gray_test_options_are_refused_without_a_test():
    # strata and rho only set Gray's test: with test=False or one arm they would have no effect
    with pytest.raises(
        ParameterError, match="strata='site' is an option of Gray's test only, but test=False"
    ):
        cumulative_incidence(TRIAL, "days_to_job", "event", "arm", strata="site", test=False)
    with pytest.raises(ParameterError, match=r"strata=\['site'\] and rho=0.5 are options of Gray's test"):
        cumulative_incidence(TRIAL, "days_to_job", "event", "arm", strata=["site"], rho=0.5, test=False)
    with pytest.raises(
        ParameterError, match=r"rho=1 is an option of Gray's test only, but with one arm \('IPS'\)"
    ):
        cumulative_incidence(TRIAL, "days_to_job", "event", "arm", treatment="IPS", rho=1)
    assert cumulative_incidence(TRIAL, "days_to_job", "event", "arm", test=False).test is None
    assert cumulative_incidence(TRIAL, "days_to_job", "event", "arm", treatment="IPS", rho=0).test is None
    stratified = cumulative_incidence(TRIAL, "days_to_job", "event", "arm", strata="site")
    assert stratified.test is not None and stratified.test.strata == ("site",)


def test_reporting_times_are_checked_alike():
    km = kaplan_meier(TRIAL, "days_to_job", "event", "arm")
    cif = cumulative_incidence(TRIAL, "days_to_job", "event", "arm")
    for call in (
        lambda times: kaplan_meier(TRIAL, "days_to_job", "event", "arm", times=times),
        lambda times: cumulative_incidence(TRIAL, "days_to_job", "event", "arm", times=times),
    ):
        with pytest.raises(
            ParameterError, match=r"times must be non-negative finite numbers .*, got \[-1.0\]"
        ):
            call([-1])
        with pytest.raises(
            ParameterError, match=r"times must be non-negative finite numbers .*, got \[1.0, nan\]"
        ):
            call([1, np.nan])
        with pytest.raises(ParameterError, match=r"times lists \[182.0\] more than once"):
            call([182, 548, 182])
        with pytest.raises(ParameterError, match="times must be numbers"):
            call("soon")
    # the curves are read at any finite times (Kaplan-Meier also before 0, where S = 1)
    assert km.survival_at([-1]).iloc[:, 0].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ParameterError, match="times must be finite numbers"):
        km.survival_at([np.inf])
    with pytest.raises(ParameterError, match="times must be non-negative finite numbers"):
        cif.at([-1])


def test_fine_gray_checks_its_memory_before_the_fit():
    with (
        memory_budget_of("1MB"),
        pytest.raises(
            MemoryBudgetError, match="fine_gray with 720 participants and 7 model columns would need about"
        ),
    ):
        fine_gray(
            TRIAL, "days_to_job", "event", "arm", control="SAU", covariates=["age", "diagnosis", "education"]
        )
