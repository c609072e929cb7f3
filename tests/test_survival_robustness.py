"""Numerical robustness of ipstrial.survival against R: tests/reference/survival_robustness.R -> .json.

(a) Cox models near separation (lifelines' default Newton step fails; the fit is retried) and at
    separation (an EstimationError naming the covariate and level); (b) Breslow ties beside Efron;
    (c) Kaplan-Meier quantiles and their limits by survfit's quantile rule; (d) durations that differ
    only by floating-point noise (timefix / aeqSurv); (e) Gray's test for any finite rho.
"""

from __future__ import annotations

import importlib
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from ipstrial import survival
from ipstrial.errors import EstimationError, ParameterError

cox_module = importlib.import_module("ipstrial.survival.cox")  # the module (survival.cox is the function)

R = json.loads((REFERENCE / "survival_robustness.json").read_text())
SEPARATION = pd.read_csv(REFERENCE / "data" / "cox_separation.csv")
KM_CASES = pd.read_csv(REFERENCE / "data" / "km_quantile_cases.csv")
TIES = pd.read_csv(REFERENCE / "data" / "timefix_ties.csv")
LUNG = pd.read_csv(REFERENCE / "data" / "lung.csv")
MGUS = pd.read_csv(REFERENCE / "data" / "mgus2.csv")
COX_REL = 1e-6
P_REL = 1e-4


def _check_cox(result, ref) -> None:
    """coef, se, HR, CIs at 1e-6, p at 1e-4, log-likelihoods at 1e-9 (the existing Cox tolerances)."""
    c = result.coefficients
    assert [t.replace(":", "") for t in c.term] == ref["term"]
    for column, key in (
        ("coef", "coef"),
        ("se", "se"),
        ("hazard_ratio", "hr"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
    ):
        np.testing.assert_allclose(c[column], ref[key], rtol=COX_REL, err_msg=column)
    np.testing.assert_allclose(c.p_value, ref["p"], rtol=P_REL)
    assert result.log_likelihood == pytest.approx(ref["loglik"], rel=1e-9)
    assert result.log_likelihood_null == pytest.approx(ref["loglik_null"], rel=1e-9)
    assert result.n == ref["n"] and int(result.events.events.sum()) == ref["nevent"]


# ------------------------------------------------------------------------ (a) near and at separation

NEAR = [
    (case["config"], fit["ties"])
    for case in R["separation"]
    if case["config"] != "separated"
    for fit in case["fits_tight"]
]
LIFELINES_FAILS = {  # how lifelines' Newton-Raphson gives up; near_4's way depends on the numpy/BLAS build
    "near_2": ("delta contains nan value(s)",),
    "near_3": ("delta contains nan value(s)",),
    "near_4": ("matrix inversion problems", "delta contains nan value(s)"),
}


def _separation_fit(config: str, ties: str):
    data = SEPARATION[SEPARATION.config == config]
    return survival.cox(
        data, "time", "event", "arm", "T", "C", covariates="grp", ties=ties, id="participant_id"
    )


@pytest.mark.parametrize(("config", "ties"), NEAR)
def test_cox_near_separation_matches_r_tight_fit(config, ties):
    case = next(c for c in R["separation"] if c["config"] == config)
    ref = next(f for f in case["fits_tight"] if f["ties"] == ties)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of the failed attempts leaks out
        result = _separation_fit(config, ties)
    _check_cox(result, ref)
    retried = [note for note in result.notes if "lifelines' Newton-Raphson failed" in note]
    if ties == "efron" and config in LIFELINES_FAILS:
        # lifelines 0.30.3 fails with its default step on these data (lifelines_check in the JSON)
        assert len(retried) == 1 and "step_size=0.5" in retried[0]
        assert any(failure in retried[0] for failure in LIFELINES_FAILS[config]), retried[0]
        assert result.fitter == "lifelines CoxPHFitter"
    else:
        assert retried == []
    assert result.fitter == ("lifelines CoxPHFitter" if ties == "efron" else "ipstrial Newton-Raphson")


def test_lifelines_check_records_the_failures_the_retry_handles():
    checks = {r["config"]: r for r in R["lifelines_check"]["results"]}
    for config, failures in LIFELINES_FAILS.items():  # the JSON recorded the first of each config's ways
        assert failures[0] in checks[config]["default"]
        assert "converges" in checks[config]["step_size_0.5"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_ipstrial_newton_raphson_matches_r_when_lifelines_fails(monkeypatch, ties):
    # the last resort after every lifelines step size: ipstrial's step-halving Newton (as R coxph)
    def failing(*args, **kwargs):
        raise cox_module._NotConverged("the default step: made to fail by the test")

    monkeypatch.setattr(cox_module, "_lifelines_efron", failing)
    case = next(c for c in R["separation"] if c["config"] == "near_2")
    ref = next(f for f in case["fits_tight"] if f["ties"] == ties)
    result = _separation_fit("near_2", ties)
    _check_cox(result, ref)
    assert result.fitter == "ipstrial Newton-Raphson"
    if ties == "efron":
        assert any("fitted by ipstrial's Newton-Raphson" in note for note in result.notes)


def test_a_fit_that_fails_without_separation_does_not_claim_it(monkeypatch):
    def failing(*args, **kwargs):
        raise cox_module._NotConverged("made to fail by the test")

    monkeypatch.setattr(cox_module, "_lifelines_efron", failing)
    monkeypatch.setattr(cox_module, "_newton", failing)
    with pytest.raises(EstimationError) as info:
        _separation_fit("near_1", "efron")
    text = str(info.value)
    assert "did not converge" in text and "no arm or covariate level separates" in text
    assert "no finite estimate" not in text


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_true_separation_is_an_error_naming_the_level(ties):
    case = next(c for c in R["separation"] if c["config"] == "separated")
    # R: every fit warns that the coefficient may be infinite (grp c's coefficient runs away)
    assert all(
        "coefficient may be infinite" in w for f in case["fits"] + case["fits_tight"] for w in f["warnings"]
    )
    assert case["grp_c_events"] == case["grp_c_n"] == 20
    with pytest.raises(EstimationError) as info:
        _separation_fit("separated", ties)
    text = str(info.value)
    assert (
        "grp = c: every participant of this level has the event before any participant of another level "
        "has one" in text
    )
    assert "hazard ratio is infinite" in text and "coefficient may be infinite" in text


def test_a_level_without_events_is_separation_towards_zero(frame):
    data = frame[frame.arm.isin(["IPS", "SAU"])].copy()
    data.loc[(data.diagnosis == "depression") & (data.event == 1), "event"] = 0
    with pytest.raises(
        EstimationError,
        match="diagnosis = depression: no participant of this level has the event, so its hazard ratio is 0",
    ):
        survival.cox(data, "days_to_job", "event", "arm", "IPS", "SAU", covariates="diagnosis")
    with pytest.raises(
        EstimationError, match="the Fine-Gray model has no finite estimate .* diagnosis = depression"
    ):
        survival.fine_gray(data, "days_to_job", "event", "arm", "IPS", "SAU", covariates="diagnosis")


# ------------------------------------------------------------------------------------- (b) ties

TIE_FITS = [(f["name"], f["ties"]) for f in R["ties"]]


def _tie_fit(name: str, ties: str):
    if name == "lung_age":
        return survival.cox(LUNG, "time", "event", "arm", "female", "male", covariates="age", ties=ties)
    data = pd.read_csv(REFERENCE.parents[1] / "data" / "synthetic" / "inklusion.csv")
    data["weeks"] = np.floor(data.days_to_job / 7)
    if name == "inklusion_weeks":
        return survival.cox(
            data, "weeks", "event", "arm", "IPS", "SAU", covariates=["age", "employed_prev5y"], ties=ties
        )
    return survival.cox(
        data, "weeks", "event", "arm", "IPS", "SAU", covariates="age", strata="site", ties=ties
    )


@pytest.mark.parametrize(("name", "ties"), TIE_FITS)
def test_breslow_and_efron_ties_match_r_coxph(name, ties):
    ref = next(f for f in R["ties"] if f["name"] == name and f["ties"] == ties)
    result = _tie_fit(name, ties)
    _check_cox(result, ref)
    assert result.ties == ties
    assert result.to_frame().ties.iloc[0] == ties and ties.capitalize() in result.to_frame().method.iloc[0]


ZPH = [(z["name"], z["ties"]) for z in R["ties_zph"]]


@pytest.mark.parametrize(("name", "ties"), ZPH)
def test_ph_test_uses_the_ties_of_the_fit_as_r_cox_zph(name, ties):
    ref = next(z for z in R["ties_zph"] if z["name"] == name and z["ties"] == ties)
    result = _tie_fit(name, ties)
    np.testing.assert_allclose(result.ph_test.chisq, ref["chisq"], rtol=1e-6)
    np.testing.assert_allclose(result.ph_test.p, ref["p"], rtol=1e-5)
    assert list(result.ph_test.df) == ref["df"]


# --------------------------------------------------------------------------- (c) quantile rule


def _limit(value: float | None, quantile: float | None, kind: str) -> float:
    """R's NA as ipstrial reports it (kaplan_meier module docstring)."""
    if value is not None:
        return value
    if kind == "lower" and quantile is not None:
        return math.nan  # undefined although the quantile is reached
    return math.inf  # not reached


KM_REF = [(case["case"], ct["conf_type"]) for case in R["km_quantile"] for ct in case["conf_types"]]


@pytest.mark.parametrize(("case", "conf_type"), KM_REF)
def test_kaplan_meier_quantiles_follow_survfit(case, conf_type):
    ref = next(c for c in R["km_quantile"] if c["case"] == case)
    arms = next(ct for ct in ref["conf_types"] if ct["conf_type"] == conf_type)["arms"]
    data = KM_CASES[KM_CASES.case == case]
    result = survival.kaplan_meier(data, "time", "status", "arm", conf_type=conf_type)
    q = result.quantiles(ref["probs"])
    medians = result.medians.set_index("arm")
    for r in arms:
        tab = result.table[result.table.arm == r["arm"]]
        curve = r["curve"]
        np.testing.assert_array_equal(tab.time, curve["time"])
        np.testing.assert_allclose(tab.survival, curve["surv"], rtol=1e-12)
        for column in ("lower", "upper"):
            expected = np.array([np.nan if v is None else v for v in curve[column]], dtype=float)
            np.testing.assert_allclose(tab[column], expected, rtol=1e-9, equal_nan=True)
        mine = q[q.arm == r["arm"]]
        expected_q = [math.inf if v is None else v for v in r["quantile"]]
        np.testing.assert_allclose(mine["quantile"], expected_q, rtol=1e-12)
        for kind in ("lower", "upper"):
            expected = [_limit(v, qq, kind) for v, qq in zip(r[kind], r["quantile"], strict=True)]
            np.testing.assert_allclose(mine[kind], expected, rtol=1e-12, equal_nan=True, err_msg=kind)
        # the median row is the 0.5 quantile, and its interval never excludes it
        half = mine[mine.probability == 0.5].iloc[0]
        m = medians.loc[r["arm"]]
        assert (m["median"], m.lower, m.upper) == pytest.approx(
            (half["quantile"], half.lower, half.upper), nan_ok=True
        )
        assert not (m.lower > m["median"]) and not (m.upper < m["median"])


def test_tie_to_zero_lower_limit_is_undefined_not_infinite():
    # the final block of tied events takes S from 0.9 to 0 at t = 10: median 10, R's limits NA, NA
    data = KM_CASES[KM_CASES.case == "tie_to_zero"]
    result = survival.kaplan_meier(data, "time", "status", "arm")
    row = next(r for r in result.rows() if r.contrast == "A")
    assert row.estimate == 10 and math.isnan(row.ci_low) and row.ci_high == math.inf
    assert (
        "lower limit undefined" in dict(row.extra)["note"]
        and "upper limit not reached" in dict(row.extra)["note"]
    )


def test_summary_table_median_differs_only_on_a_flat_end():
    # summary(fit)$table uses a different helper: equal to quantile() except when S = 0.5 to the end
    for case in R["km_quantile"]:
        for ct in case["conf_types"]:
            for r in ct["arms"]:
                differs = r["table_median"] != r["quantile"][1]
                assert differs == (case["case"] == "flat_half_to_end"), (case["case"], r["arm"])
    rounding = {r["arm"]: r for r in R["half_by_rounding_surv_minus_half"]}
    assert rounding["A"]["surv_minus_half"] < 0  # 0.5 only up to rounding, still a flat stretch at 0.5


# ------------------------------------------------------------------------------------ (d) timefix


def test_aeqsurv_merge_matches_r():
    ref = R["timefix"]["aeqsurv"]
    merged, n, runs = survival._inputs.merge_tied_times(TIES.time.to_numpy())
    np.testing.assert_allclose(merged - 10, ref["time_minus_10"], rtol=1e-12, atol=1e-27)
    assert (
        np.unique(merged).size == ref["n_unique_after"]
        and np.unique(TIES.time).size == ref["n_unique_before"]
    )
    assert (n, runs) == (80, 1)
    assert R["timefix"]["tolerance"] == pytest.approx(survival._inputs.TIMEFIX_TOLERANCE, rel=1e-12)


@pytest.mark.parametrize("timefix", [True, False])
def test_logrank_with_and_without_timefix_matches_r(timefix):
    ref = R["timefix"]["survdiff_timefix_true" if timefix else "logrank_timefix_false"]
    result = survival.logrank(TIES, "time", "status", "arm", timefix=timefix)
    assert result.statistic == pytest.approx(ref["chisq"], rel=1e-6)
    assert result.p_value == pytest.approx(ref["p"], rel=P_REL)
    np.testing.assert_allclose(result.observed, ref["observed"], rtol=1e-9)
    np.testing.assert_allclose(result.expected, ref["expected"], rtol=1e-9)
    merged = [note for note in result.notes if "timefix" in note]
    if timefix:
        assert len(merged) == 1 and "80 distinct values of time" in merged[0] and "merged into 1" in merged[0]
        assert "79 participants" in merged[0]
    else:
        assert merged == []


@pytest.mark.parametrize("timefix", [True, False])
def test_kaplan_meier_with_and_without_timefix_matches_r(timefix):
    ref = R["timefix"]["survfit_timefix_true" if timefix else "survfit_timefix_false"]
    result = survival.kaplan_meier(TIES, "time", "status", "arm", timefix=timefix)
    for r in ref:
        tab = result.table[result.table.arm == r["arm"]]
        np.testing.assert_allclose(tab.time - 10, r["time_minus_10"], rtol=1e-12, atol=1e-27)
        np.testing.assert_array_equal(tab["n.risk"], r["n_risk"])
        np.testing.assert_array_equal(tab["n.event"], r["n_event"])
        np.testing.assert_allclose(tab.survival, r["surv"], rtol=1e-12)
        np.testing.assert_allclose(tab.se_log, r["std_err"], rtol=1e-9)  # survfit's std.err: se of log S


@pytest.mark.parametrize("timefix", [True, False])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_with_and_without_timefix_matches_r(timefix, ties):
    ref = next(f for f in R["timefix"]["coxph"] if f["ties"] == ties and f["timefix"] == timefix)
    result = survival.cox(TIES, "time", "status", "arm", "B", "A", ties=ties, timefix=timefix)
    _check_cox(result, ref)


# ------------------------------------------------------------------------------ (e) Gray's rho


def _gray_data(name: str) -> tuple[pd.DataFrame, str]:
    if name == "mgus2":
        return MGUS, "time"
    return pd.read_csv(REFERENCE.parents[1] / "data" / "synthetic" / "inklusion.csv"), "days_to_job"


GRAY = [(g["name"], r["rho"]) for g in R["gray"] for r in g["results"]]


@pytest.mark.parametrize(("name", "rho"), GRAY)
def test_gray_test_for_any_rho_matches_cmprsk(name, rho):
    case = next(g for g in R["gray"] if g["name"] == name)
    tests = next(r for r in case["results"] if r["rho"] == rho)["tests"]
    data, duration = _gray_data(name)
    strata = case["strata"]
    for ref in tests:
        result = survival.gray_test(
            data, duration, "event", "arm", cause=ref["cause"], rho=rho, strata=strata
        )
        assert list(result.arms) == case["arms"]
        assert result.statistic == pytest.approx(ref["stat"], rel=1e-6)
        assert result.p_value == pytest.approx(ref["p_upper"], rel=P_REL)
        assert result.df == ref["df"] and result.rho == rho
        cif = survival.cumulative_incidence(
            data, duration, "event", "arm", cause=ref["cause"], rho=rho, strata=strata
        )
        assert cif.test.statistic == pytest.approx(ref["stat"], rel=1e-6)


@pytest.mark.parametrize("probe", R["gray_rho_probe"], ids=lambda p: str(p["rho"]))
def test_gray_rho_probes(probe):
    rho = math.nan if probe["rho"] == "NA" else float(probe["rho"])
    for name in ("mgus2", "inklusion_3arm"):
        data, duration = _gray_data(name)
        ref = probe[name]
        if ref["accepted"]:
            stats = [
                survival.gray_test(data, duration, "event", "arm", cause=c, rho=rho).statistic for c in (1, 2)
            ]
            np.testing.assert_allclose(stats, ref["stat"], rtol=1e-6)
        elif math.isfinite(rho):  # cuminc tests every cause: the weight overflows for one of them, here too
            refused = []
            for cause in (1, 2):
                try:
                    survival.gray_test(data, duration, "event", "arm", cause=cause, rho=rho)
                except EstimationError as exc:
                    assert f"rho = {rho:g} overflows" in str(exc)
                    refused.append(cause)
            assert refused, (name, rho)
        else:
            with pytest.raises(ParameterError, match="rho must be a finite number"):
                survival.gray_test(data, duration, "event", "arm", rho=rho)


# ------------------------------------------------------------- (f) every duration 0: one tied event time
# R (survival_robustness.R, section f) on data/synthetic/inklusion.csv with days_to_job set to 0: coxph
# fits, cox.zph stops ("system is exactly singular"), survdiff works, crr (tight gtol) fits
ZERO = R["zero_durations"]
ZERO_COX = {"coef": ZERO["cox_coef"], "se": ZERO["cox_se"], "loglik_null": ZERO["cox_loglik_null"]}
ZERO_COX["loglik"] = ZERO["cox_loglik"]
ZERO_SURVDIFF_CHISQ = ZERO["survdiff_chisq"]
ZERO_CRR = {"coef": ZERO["crr_coef"], "se": ZERO["crr_se"]}


def test_cox_with_every_event_at_time_zero_fits_as_r_and_notes_the_untestable_ph_test(frame):
    data = frame.assign(days_to_job=0)
    result = survival.cox(data, "days_to_job", "event", "arm", control="SAU", id="participant_id")
    c = result.coefficients
    np.testing.assert_allclose(c.coef, ZERO_COX["coef"], rtol=COX_REL)
    np.testing.assert_allclose(c.se, ZERO_COX["se"], rtol=COX_REL)
    assert result.log_likelihood == pytest.approx(ZERO_COX["loglik"], rel=1e-9)
    assert result.log_likelihood_null == pytest.approx(ZERO_COX["loglik_null"], rel=1e-9)
    # R's cox.zph stops ("exactly singular"); ipstrial reports the test as not computable
    assert result.ph_test.chisq.isna().all() and result.ph_test.p.isna().all()
    note = [n for n in result.notes if "proportional-hazards test not computable" in n]
    assert len(note) == 1 and "every event is at one time (0 days)" in note[0]
    assert "questionable" not in " ".join(result.notes)
    assert result.to_frame()["ph_test_global_p"].isna().all()
    assert "not computable" in result.summary()


def test_schoenfeld_test_of_one_event_time_is_nan_not_a_linalg_error():
    time = np.zeros(6)
    status = np.array([1, 1, 0, 1, 0, 1])
    x = np.array([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    ph = cox_module.schoenfeld_test(time, status, x, np.array([0.2]), {"arm": [0]})
    assert ph.term.tolist() == ["arm", "GLOBAL"] and ph.chisq.isna().all()


def test_logrank_and_fine_gray_with_every_duration_zero_match_r(frame):
    data = frame.assign(days_to_job=0)
    lr = survival.logrank(data, "days_to_job", "event", "arm", id="participant_id")
    assert lr.statistic == pytest.approx(ZERO_SURVDIFF_CHISQ, rel=1e-9)
    fg = survival.fine_gray(data, "days_to_job", "event", "arm", control="SAU", id="participant_id")
    np.testing.assert_allclose(fg.coefficients.coef, ZERO_CRR["coef"], rtol=1e-9)
    np.testing.assert_allclose(fg.coefficients.se, ZERO_CRR["se"], rtol=1e-6)


def test_everyone_failing_at_one_time_fits_cox_as_r_but_no_fine_gray_or_logrank(frame):
    data = frame.assign(days_to_job=0, event=1)
    # R: coxph gives coef 0 (se 0.26, 0.25 for these arm sizes); survdiff stops (singular variance);
    # crr reports standard errors of 1e-15, i.e. an interval of width 0
    cox = survival.cox(data, "days_to_job", "event", "arm", control="SAU", id="participant_id")
    np.testing.assert_allclose(cox.coefficients.coef, 0.0, atol=1e-12)
    with pytest.raises(EstimationError, match="no log-rank test is defined"):
        survival.logrank(data, "days_to_job", "event", "arm", id="participant_id")
    with pytest.raises(
        EstimationError,
        match=r"sandwich variance of arm:IPS, arm:IPSE is 0: every participant "
        r"has the event at the same time \(0 days\)",
    ):
        survival.fine_gray(data, "days_to_job", "event", "arm", control="SAU", id="participant_id")
