"""Tests of ipstrial.survival.kaplan_meier and ipstrial.survival.logrank.

References: R 4.2 / survival 3.5 output in tests/reference/survival_km_logrank.json, made by
tests/reference/survival_km_logrank.R (survfit with conf.type log-log / log / plain, summary(fit)$table
medians, summary(fit, times = ...); survdiff with rho = 0, 0.5, 1, stratified; the script's own
Fleming-Harrington G(p, q) code for q > 0), lifelines' logrank_test per permutation, and closed forms
(an arm without events, a single arm). The quantile rule, timefix and the other robustness cases are in
test_survival_robustness.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from ipstrial.errors import EstimationError, MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.results import ESTIMANDS
from ipstrial.survival import kaplan_meier, logrank, logrank_permutation

REF = json.loads((REFERENCE / "survival_km_logrank.json").read_text())
REL = 1e-6
P_REL = 1e-4


def _array(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _same(actual, expected, rel: float = REL) -> None:
    """Equal to ``rel`` relative; NaN (R's NA) exactly where R has NA."""
    actual = np.asarray(actual, dtype=float)
    expected = _array(list(np.atleast_1d(expected))) if not isinstance(expected, np.ndarray) else expected
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=0, equal_nan=True)


@pytest.fixture(scope="module")
def weekly(frame) -> pd.DataFrame:
    """The synthetic trial with whole weeks, as the R script's floor(days_to_job / 7)."""
    return frame.assign(weeks=frame.days_to_job // 7)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "lung.csv")


def _small(name: str) -> pd.DataFrame:
    frame = pd.DataFrame(REF["small"][name])
    frame["participant_id"] = [f"S{i:02d}" for i in range(len(frame))]
    return frame


@pytest.fixture(scope="module")
def datasets(weekly, lung) -> dict[str, tuple[pd.DataFrame, str]]:
    return {
        "lung": (lung, "time"),
        "inklusion": (weekly, "days_to_job"),
        "inklusion_weekly": (weekly, "weeks"),
        "zeros": (_small("zeros"), "time"),
        "half": (_small("half"), "time"),
    }


# ------------------------------------------------------------------------------------ Kaplan-Meier

KM_CASES = [(case["name"], case["conf_type"]) for case in REF["km"]]
FLAT_TO_END = {("half", "C")}
"""Arms whose curve is exactly 0.5 from an event to the end of follow-up: R's summary(fit)$table (this
JSON) gives the event time, R's quantile() -- the rule ipstrial follows -- the midpoint of it and the last
time (both are in survival_robustness.json, case flat_half_to_end)."""


def _km_case(name: str, conf_type: str) -> dict:
    return next(c for c in REF["km"] if c["name"] == name and c["conf_type"] == conf_type)


@pytest.mark.parametrize(("name", "conf_type"), KM_CASES)
def test_kaplan_meier_table_and_medians_match_r_survfit(datasets, name, conf_type):
    data, duration = datasets[name]
    ref = _km_case(name, conf_type)
    result = kaplan_meier(data, duration, "event", "arm", conf_type=conf_type)
    assert set(result.groups) == set(ref["arms"])
    for arm, r in ref["arms"].items():
        tab = result.table[result.table.arm == arm]
        np.testing.assert_array_equal(tab.time.to_numpy(), _array(r["time"]))
        for mine, theirs in (("n.risk", "n_risk"), ("n.event", "n_event"), ("n.censor", "n_censor")):
            np.testing.assert_array_equal(tab[mine].to_numpy(), _array(r[theirs]), err_msg=mine)
        for mine, theirs in (
            ("survival", "surv"),
            ("std.err", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
        ):
            _same(tab[mine], r[theirs])
        median = result.medians.set_index("arm").loc[arm]
        # R's NA (never reached within follow-up) is inf here
        for mine, theirs in (("median", "median"), ("lower", "lcl"), ("upper", "ucl")):
            expected = math.inf if r[theirs] is None else r[theirs]
            if (name, arm) in FLAT_TO_END and mine == "median":
                expected = (r["median"] + r["time"][-1]) / 2
            assert median[mine] == pytest.approx(expected, rel=REL), (arm, mine)


@pytest.mark.parametrize(("name", "conf_type"), KM_CASES)
def test_survival_at_times_matches_r_summary_times(datasets, name, conf_type):
    data, duration = datasets[name]
    ref = _km_case(name, conf_type)
    times = ref["arms"][next(iter(ref["arms"]))]["at"]["time"]
    result = kaplan_meier(data, duration, "event", "arm", conf_type=conf_type, times=times)
    frame = result.to_frame()
    surv = result.survival_at(times)
    risk = result.at_risk(times)
    for arm, r in ref["arms"].items():
        at = r["at"]
        assert at["time"] == times
        _same(surv.loc[arm].to_numpy(), at["surv"])
        np.testing.assert_array_equal(risk.loc[arm].to_numpy(), _array(at["n_risk"]))
        rows = frame[(frame.contrast == arm) & (frame.estimand == "survival")].sort_values("time")
        np.testing.assert_array_equal(rows.time.to_numpy(), np.array(times, dtype=float))
        assert list(rows.variant) == [f"t={t:g}" for t in sorted(times)]
        _same(rows.estimate, at["surv"])
        _same(rows.se, at["std_err"])
        _same(rows.ci_low, at["lower"])
        _same(rows.ci_high, at["upper"])
        np.testing.assert_array_equal(rows.n_risk.to_numpy(), _array(at["n_risk"]))


def test_flat_stretch_at_one_half_uses_r_midpoint_rule():
    # Arm A: S = 0.75, 0.5 (t = 2), 0.25 (t = 3), 0: median = (2 + 3) / 2. Arm C: S = 0.5 from t = 3 to
    # the end of follow-up (censored at 4): R's quantile() gives (3 + 4) / 2. Closed forms.
    result = kaplan_meier(_small("half"), "time", "event", "arm")
    medians = result.medians.set_index("arm")["median"]
    assert medians["A"] == 2.5
    assert medians["C"] == 3.5


def test_heavy_ties_weekly_durations_with_zeros(weekly):
    # floor(days / 7): many participants share a week, and weeks of 0 occur; the curve at 0 already
    # includes the events in week 0 (right-continuous), and n.risk at 0 is the whole arm.
    result = kaplan_meier(weekly, "weeks", "event", "arm")
    for arm in result.groups:
        sub = weekly[weekly.arm == arm]
        tab = result.table[result.table.arm == arm]
        assert tab.time.iloc[0] == 0
        assert tab["n.risk"].iloc[0] == len(sub)
        d0 = int(((sub.weeks == 0) & (sub.event == 1)).sum())
        assert d0 > 0
        assert tab.survival.iloc[0] == pytest.approx(1 - d0 / len(sub), rel=1e-15)
        assert int(tab["n.event"].sum()) == int((sub.event == 1).sum())
        assert int(tab["n.competing"].sum()) == int((sub.event == 2).sum())
        assert len(tab) == sub.weeks.nunique()


def test_zero_durations_count_as_at_risk_and_as_events_at_time_zero():
    data = _small("zeros")
    result = kaplan_meier(data, "time", "event", "arm")
    surv = result.survival_at([0.0, -1.0])
    # arm A: 8 at risk at 0, one event at 0 (the censoring at 0 counts as at risk): S(0) = 7/8
    assert surv.loc["A", 0.0] == 7 / 8
    assert surv.loc["A", -1.0] == 1.0
    # arm B: its only time-0 participant is censored: S(0) = 1
    assert surv.loc["B", 0.0] == 1.0
    assert result.at_risk([0.0]).loc["B", 0.0] == 8


def _no_events_in_sau(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.copy()
    data.loc[data.arm == "SAU", "event"] = 0
    return data


def test_arm_without_events_median_not_reached_and_survival_one(frame):
    data = _no_events_in_sau(frame)
    result = kaplan_meier(data, "days_to_job", "event", "arm", times=[365, 913])
    tab = result.table[result.table.arm == "SAU"]
    assert (tab.survival == 1.0).all()
    assert (tab["n.event"] == 0).all()
    assert (result.survival_at([0, 100, 500, 913]).loc["SAU"] == 1.0).all()
    out = result.to_frame()
    median = out[(out.contrast == "SAU") & (out.estimand == "median_time")].iloc[0]
    assert median.estimate == math.inf
    assert median.ci_low == math.inf and median.ci_high == math.inf
    assert "median not reached" in median.note
    # the other arms are unaffected and reached their medians
    other = out[(out.contrast == "IPS") & (out.estimand == "median_time")].iloc[0]
    assert math.isfinite(other.estimate) and "median not reached" not in other.note
    # the log-rank test is still defined (SAU has expected events > 0)
    test = logrank(data, "days_to_job", "event", "arm")
    assert test.events[list(test.groups).index("SAU")] == 0
    assert test.expected[list(test.groups).index("SAU")] > 0


def test_single_arm_kaplan_meier_works_and_logrank_raises(frame):
    only = frame[frame.arm == "IPS"]
    result = kaplan_meier(only, "days_to_job", "event", "arm")
    assert result.groups == ("IPS",)
    assert len(result.rows()) == 1
    first = result.table.iloc[0]
    # closed form check of the first step: S(t1) = 1 - d1 / n
    assert first.survival == pytest.approx(1 - first["n.event"] / len(only), rel=1e-15)
    with pytest.raises(TrialDataError, match="only 1 arm .'IPS'. to analyse: there is nothing to compare"):
        logrank(only, "days_to_job", "event", "arm")


def test_competing_events_are_censored_and_said_so(trial, frame):
    result = kaplan_meier(trial, "days_to_job")
    out = result.to_frame()
    for arm in ("IPS", "IPSE", "SAU"):
        row = out[(out.contrast == arm) & (out.estimand == "median_time")].iloc[0]
        assert row.competing_censored == int(((frame.arm == arm) & (frame.event == 2)).sum())
        assert "competing events (codes 2) are censored" in row.note
    assert any("competing events" in note for note in result.notes)
    assert set(out.estimand) <= ESTIMANDS
    test = logrank(trial, "days_to_job")
    assert (
        "competing events (codes 2) are censored: 43 participants in the arms compared"
        in test.to_frame().note.iloc[0]
    )


def test_cause_two_analyses_the_competing_event(trial, frame):
    # cause=2 swaps the roles: code 1 is then censored. Compare the event counts (closed form).
    result = kaplan_meier(trial, "days_to_job", cause=2)
    for arm in result.groups:
        tab = result.table[result.table.arm == arm]
        assert int(tab["n.event"].sum()) == int(((frame.arm == arm) & (frame.event == 2)).sum())


# --------------------------------------------------------------------------------------- bad input


def _bad(frame: pd.DataFrame, column: str, rows: list[int], value) -> pd.DataFrame:
    data = frame.copy()
    data[column] = data[column].astype(float)
    data.loc[rows, column] = value
    return data


@pytest.mark.parametrize("function", [kaplan_meier, logrank])
def test_negative_durations_are_an_error_naming_the_ids(frame, function):
    data = _bad(frame, "days_to_job", [3, 7], -5)
    with pytest.raises(TrialDataError) as info:
        function(data, "days_to_job", "event", "arm", id="participant_id")
    text = str(info.value)
    assert "column 'days_to_job': 2 negative durations" in text
    assert "P0004, P0008" in text
    assert "cannot be negative" in text


@pytest.mark.parametrize("function", [kaplan_meier, logrank])
def test_missing_durations_are_an_error(frame, function):
    data = _bad(frame, "days_to_job", [0], np.nan)
    with pytest.raises(
        TrialDataError, match=r"column 'days_to_job': 1 missing duration \(participant id P0001\)"
    ):
        function(data, "days_to_job", "event", "arm", id="participant_id")


@pytest.mark.parametrize("function", [kaplan_meier, logrank])
def test_event_codes_outside_the_set_are_an_error(frame, function):
    data = _bad(frame, "event", [1, 2], 3)
    with pytest.raises(TrialDataError) as info:
        function(data, "days_to_job", "event", "arm", id="participant_id")
    text = str(info.value)
    assert "column 'event': 2 rows with event codes outside the declared codes (0, 1, 2): found 3" in text
    assert "P0002, P0003" in text


def test_bad_options_are_errors(frame):
    with pytest.raises(ParameterError, match="conf_type must be one of"):
        kaplan_meier(frame, "days_to_job", "event", "arm", conf_type="logit")
    with pytest.raises(ParameterError, match="cause=3 is not among the declared event codes"):
        kaplan_meier(frame, "days_to_job", "event", "arm", cause=3)
    with pytest.raises(ParameterError, match="weights must be None"):
        logrank(frame, "days_to_job", "event", "arm", weights=("fh", -1, 0))
    with pytest.raises(ParameterError, match="times lists"):
        kaplan_meier(frame, "days_to_job", "event", "arm", times=[365, 365])
    no_events = frame.assign(event=0)
    with pytest.raises(EstimationError, match="no events with code 1"):
        logrank(no_events, "days_to_job", "event", "arm")


# ---------------------------------------------------------------------------------------- plotting


@pytest.fixture(scope="module")
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def test_plot_draws_one_step_curve_and_censor_ticks_per_arm(trial, frame, plt):
    result = kaplan_meier(trial, "days_to_job")
    ax = result.plot()
    curves = [line for line in ax.get_lines() if str(line.get_gid()).startswith("km:")]
    ticks = [line for line in ax.get_lines() if str(line.get_gid()).startswith("censor:")]
    assert result.groups == ("IPS", "IPSE", "SAU")
    assert [c.get_gid() for c in curves] == [f"km:{arm}" for arm in result.groups]
    assert [t.get_gid() for t in ticks] == [f"censor:{arm}" for arm in result.groups]
    for curve, arm in zip(curves, result.groups, strict=True):
        tab = result.table[result.table.arm == arm]
        np.testing.assert_array_equal(curve.get_ydata()[1:], tab.survival.to_numpy())
    for tick, arm in zip(ticks, result.groups, strict=True):
        censored = frame[(frame.arm == arm) & (frame.event != 1)].days_to_job.nunique()
        assert len(tick.get_xdata()) == censored
    assert "days" in ax.get_xlabel()
    plt.close(ax.figure)


def test_plot_at_risk_table_equals_at_risk(trial, plt):
    result = kaplan_meier(trial, "days_to_job")
    ax = result.plot()
    texts = [t for t in ax.texts if str(t.get_gid()).startswith("at_risk:")]
    assert texts
    times = sorted({float(t.get_gid().split(":")[2]) for t in texts})
    assert times[0] == 0 and len(times) >= 3
    expected = result.at_risk(times)
    for text in texts:
        _, arm, when = text.get_gid().split(":")
        assert int(text.get_text()) == expected.loc[arm, float(when)]
    assert len(texts) == 3 * len(times)
    plt.close(ax.figure)


def test_plot_incidence_is_one_minus_survival_and_options(trial, plt):
    result = kaplan_meier(trial, "days_to_job")
    ax = result.plot(kind="incidence", at_risk=False, ci=True)
    curve = next(line for line in ax.get_lines() if line.get_gid() == "km:SAU")
    tab = result.table[result.table.arm == "SAU"]
    np.testing.assert_allclose(curve.get_ydata()[1:], 1 - tab.survival.to_numpy(), rtol=0, atol=1e-15)
    assert not [t for t in ax.texts if str(t.get_gid()).startswith("at_risk:")]
    assert len(ax.collections) == 3  # one shaded band per arm
    assert "employed" in ax.get_ylabel()
    with pytest.raises(ValueError, match="kind must be"):
        result.plot(kind="hazard")
    plt.close("all")


# ----------------------------------------------------------------------------------------- log-rank

LR_DATA = {
    "lung": ("lung", "time", None),
    "lung_rho1": ("lung", "time", None),
    "lung_rho05": ("lung", "time", None),
    # inst and ph_ecog have one missing value each: the R script drops that row; so do we here
    "lung_inst": ("lung_inst", "time", "inst"),
    "lung_ecog": ("lung_ecog", "time", "ph_ecog"),
    "lung_ecog_rho1": ("lung_ecog", "time", "ph_ecog"),
    "inklusion_3arm": ("weekly", "days_to_job", None),
    "inklusion_3arm_site": ("weekly", "days_to_job", "site"),
    "inklusion_3arm_rho1": ("weekly", "days_to_job", None),
    "inklusion_ips_sau": ("weekly", "days_to_job", None),
    "inklusion_ips_sau_site": ("weekly", "days_to_job", "site"),
    "inklusion_ips_sau_site_rho1": ("weekly", "days_to_job", "site"),
    "inklusion_ips_ipse": ("weekly", "days_to_job", None),
    "inklusion_weekly_3arm": ("weekly", "weeks", None),
    "inklusion_weekly_3arm_site": ("weekly", "weeks", "site"),
    "zeros": ("zeros", "time", None),
    "lung_fh11": ("lung", "time", None),
    "lung_fh01": ("lung", "time", None),
    "lung_fh05_2": ("lung", "time", None),
    "inklusion_3arm_site_fh01": ("weekly", "days_to_job", "site"),
    "inklusion_ips_sau_fh11": ("weekly", "days_to_job", None),
    "inklusion_weekly_3arm_fh01": ("weekly", "weeks", None),
}


@pytest.fixture(scope="module")
def frames(weekly, lung) -> dict[str, pd.DataFrame]:
    return {
        "lung": lung,
        "lung_inst": lung.dropna(subset=["inst"]),  # one row without inst, dropped as in the R script
        "lung_ecog": lung.dropna(subset=["ph_ecog"]),  # one row without ph_ecog, dropped as in R
        "weekly": weekly,
        "zeros": _small("zeros"),
    }


def _lr_case(case: dict) -> tuple[object, float, float]:
    if "p_weight" in case:
        return ("fh", case["p_weight"], case["q_weight"]), case["p_weight"], case["q_weight"]
    rho = case["rho"]
    return (None if rho == 0 else ("fh", rho, 0)), rho, 0.0


@pytest.mark.parametrize("case", REF["logrank"] + REF["fh"], ids=lambda c: c["name"])
def test_logrank_matches_r_survdiff_and_own_fh_code(frames, case):
    frame_name, duration, strata = LR_DATA[case["name"]]
    assert strata == (None if case["strata"] is None else case["strata"])
    weights, p, q = _lr_case(case)
    groups = case["groups"]
    result = logrank(
        frames[frame_name],
        duration,
        "event",
        "arm",
        treatment=groups[:-1],
        control=groups[-1],
        strata=strata,
        weights=weights,
    )
    assert list(result.groups) == groups
    assert result.df == case["df"]
    assert result.statistic == pytest.approx(case["chisq"], rel=REL)
    assert result.p_value == pytest.approx(case["p"], rel=P_REL)
    _same(result.observed, case["observed"])
    _same(result.expected, case["expected"])
    np.testing.assert_allclose(result.variance, np.array(case["var"]), rtol=REL, atol=1e-9)
    row = result.to_frame().iloc[0]
    assert row.estimand == "logrank"
    assert row.estimate == result.statistic and row.p_value == result.p_value
    assert row.df == case["df"]
    for g, o, e in zip(case["groups"], case["observed"], case["expected"], strict=True):
        assert row[f"observed_{g}"] == pytest.approx(o, rel=REL)
        assert row[f"expected_{g}"] == pytest.approx(e, rel=REL)
    assert result.weights == (p, q)


def test_logrank_group_order_does_not_change_the_test(frame):
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_3arm_site")
    result = logrank(
        frame, "days_to_job", "event", "arm", treatment=["SAU", "IPSE"], control="IPS", strata="site"
    )
    assert result.groups == ("SAU", "IPSE", "IPS")
    assert result.statistic == pytest.approx(ref["chisq"], rel=REL)
    two = logrank(frame, "days_to_job", "event", "arm", treatment="IPS", control="SAU")
    ref2 = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_sau")
    assert two.statistic == pytest.approx(ref2["chisq"], rel=REL)
    assert two.to_frame().contrast.iloc[0] == "IPS vs SAU"
    assert two.inputs.outside == {"IPSE": 241}


def test_logrank_uses_a_control_given_alone(frame):
    # control= without treatment=: every arm is tested and the control is listed last (it was ignored)
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_3arm")
    result = logrank(frame, "days_to_job", "event", "arm", control="IPS")
    assert result.control == "IPS" and result.groups == ("IPSE", "SAU", "IPS")
    assert result.to_frame().contrast.iloc[0] == "IPSE vs SAU vs IPS"
    assert result.statistic == pytest.approx(ref["chisq"], rel=REL)
    two = frame[frame.arm.isin(["IPS", "SAU"])]
    assert (
        logrank(two, "days_to_job", "event", "arm", control="IPS").to_frame().contrast.iloc[0] == "SAU vs IPS"
    )
    assert (
        logrank(two, "days_to_job", "event", "arm", control="SAU").to_frame().contrast.iloc[0] == "IPS vs SAU"
    )


# ------------------------------------------------------------------------------ permutation test


def _plain_statistic(time: np.ndarray, event: np.ndarray, treated: np.ndarray) -> float:
    from lifelines.statistics import logrank_test

    return float(logrank_test(time[treated], time[~treated], event[treated], event[~treated]).test_statistic)


def test_permutation_statistics_equal_plain_per_permutation_lifelines(frame):
    two = frame[frame.arm.isin(["IPS", "SAU"])].reset_index(drop=True)
    result = logrank_permutation(
        two, "days_to_job", "event", "arm", "IPS", "SAU", n_resamples=60, seed=11, keep_assignments=True
    )
    time = two.days_to_job.to_numpy(float)
    event = (two.event == 1).to_numpy()
    assert result.assignments.shape == (60, len(two))
    assert (result.assignments.sum(axis=1) == (two.arm == "IPS").sum()).all()
    for b in range(60):
        plain = _plain_statistic(time, event, result.assignments[b])
        assert result.statistics[b, 0] == pytest.approx(plain, rel=1e-10, abs=1e-12)
    observed = _plain_statistic(time, event, (two.arm == "IPS").to_numpy())
    assert result.statistic[0] == pytest.approx(observed, rel=1e-10)
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_sau")
    assert result.statistic[0] == pytest.approx(ref["chisq"], rel=REL)
    assert result.p_asymptotic[0] == pytest.approx(ref["p"], rel=P_REL)


def test_stratified_permutation_keeps_strata_and_equals_plain_stratified_statistic(frame):
    two = frame[frame.arm.isin(["IPS", "SAU"])].reset_index(drop=True)
    result = logrank_permutation(
        two,
        "days_to_job",
        "event",
        "arm",
        "IPS",
        "SAU",
        n_resamples=25,
        seed=5,
        strata="site",
        keep_assignments=True,
    )
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_sau_site")
    assert result.statistic[0] == pytest.approx(ref["chisq"], rel=REL)
    treated_per_site = two[two.arm == "IPS"].groupby("site").size()
    for b in range(25):
        arms = np.where(result.assignments[b], "IPS", "SAU")
        assert (two.assign(arm=arms)[arms == "IPS"].groupby("site").size() == treated_per_site).all()
        # the plain per-permutation stratified statistic: survdiff's formula (checked against R above)
        plain = logrank(two.assign(arm=arms), "days_to_job", "event", "arm", "IPS", "SAU", strata="site")
        assert result.statistics[b, 0] == pytest.approx(plain.statistic, rel=1e-10, abs=1e-12)


def test_permutation_seed_gives_same_bits(trial):
    kwargs = dict(n_resamples=3000, strata="site")
    a = logrank_permutation(trial, "days_to_job", treatment="IPS", control="IPSE", seed=42, **kwargs)
    b = logrank_permutation(trial, "days_to_job", treatment="IPS", control="IPSE", seed=42, **kwargs)
    c = logrank_permutation(trial, "days_to_job", treatment="IPS", control="IPSE", seed=43, **kwargs)
    assert a.statistics.tobytes() == b.statistics.tobytes()
    assert a.p_value.tolist() == b.p_value.tolist()
    assert a.statistics.tobytes() != c.statistics.tobytes()
    assert a.to_frame().seed_entropy.iloc[0] == "42"
    # the recorded entropy of a fresh seed regenerates the same bits
    fresh = logrank_permutation(trial, "days_to_job", treatment="IPS", control="IPSE", **kwargs)
    again = logrank_permutation(
        trial, "days_to_job", treatment="IPS", control="IPSE", seed=fresh.seed_entropy, **kwargs
    )
    assert fresh.statistics.tobytes() == again.statistics.tobytes()


def test_permutations_are_those_of_the_shared_generator(frame):
    # the permutations are those resampling.permutation_chunks draws from the same seed (within strata),
    # whatever the chunk size; the statistics are the log-rank statistics of those permutations
    from ipstrial._random import resolved_streams
    from ipstrial.resampling import permutation_chunks
    from ipstrial.survival.logrank import _design, _statistics

    two = frame[frame.arm.isin(["IPS", "SAU"])].reset_index(drop=True)
    result = logrank_permutation(
        two,
        "days_to_job",
        "event",
        "arm",
        "IPS",
        "SAU",
        n_resamples=50,
        seed=7,
        strata="site",
        keep_assignments=True,
    )
    codes = np.unique(two.site, return_inverse=True)[1]
    design = _design(two.days_to_job.to_numpy(float), (two.event == 1).to_numpy(), codes)
    base = (two.arm == "IPS").to_numpy().astype(np.int8)[design.order]
    (root,), _ = resolved_streams(7, 1)
    blocks = [
        block
        for _, block in permutation_chunks(base, 50, root, groups=design.strata, chunk_bytes=len(two) * 7)
    ]
    drawn = np.concatenate(blocks)
    in_data_order = np.empty_like(drawn)
    in_data_order[:, design.order] = drawn
    assert np.array_equal(result.assignments, in_data_order.astype(bool))
    np.testing.assert_allclose(
        result.statistics[:, 0], np.concatenate([_statistics(design, b) for b in blocks]), rtol=1e-12
    )


def test_permutation_memory_is_checked_before_allocating(trial):
    from ipstrial import set_memory_budget

    previous = set_memory_budget("1MiB")
    try:
        with pytest.raises(MemoryBudgetError, match="keep_assignments=False"):
            logrank_permutation(
                trial, "days_to_job", treatment="IPS", n_resamples=10_000, keep_assignments=True
            )
        with pytest.raises(MemoryBudgetError, match="n_resamples=1000000"):
            logrank_permutation(trial, "days_to_job", treatment="IPS", n_resamples=1_000_000)
        assert (
            logrank_permutation(trial, "days_to_job", treatment="IPS", n_resamples=1000, seed=1).n_resamples
            == 1000
        )
    finally:
        set_memory_budget(previous)


def test_permutation_tests_each_treatment_against_the_control(trial, frame):
    # a Trial: every other arm against its control, each pair permuted on its own participants
    both = logrank_permutation(trial, "days_to_job", n_resamples=300, seed=9, strata="site")
    assert both.treatments == ("IPS", "IPSE") and both.statistics.shape == (300, 2)
    assert [r.contrast for r in both.rows()] == ["IPS vs SAU", "IPSE vs SAU"]
    assert both.n.tolist() == [479, 481]
    for j, treatment in enumerate(both.treatments):
        ref = logrank(trial, "days_to_job", treatment=treatment, strata="site")
        assert both.statistic[j] == pytest.approx(ref.statistic, rel=1e-10)
    # the first contrast's stream is that of a one-treatment call with the same seed
    ips = logrank_permutation(trial, "days_to_job", treatment="IPS", n_resamples=300, seed=9, strata="site")
    assert ips.statistics[:, 0].tobytes() == both.statistics[:, 0].tobytes()
    with pytest.raises(ParameterError, match="keep_assignments=True needs one treatment"):
        logrank_permutation(trial, "days_to_job", n_resamples=10, keep_assignments=True)
    with pytest.raises(ParameterError, match="n_resamples must be a whole number"):
        logrank_permutation(trial, "days_to_job", treatment="IPS", n_resamples=0)


def test_permutation_p_agrees_with_asymptotic_within_monte_carlo_error(trial, frame):
    result = logrank_permutation(
        trial, "days_to_job", treatment="IPS", control="IPSE", n_resamples=10_000, seed=2024
    )
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_ipse")
    (p,), (mc_se,) = result.p_value, result.mc_se
    assert result.p_asymptotic[0] == pytest.approx(ref["p"], rel=P_REL)
    assert mc_se == pytest.approx(math.sqrt(p * (1 - p) / 10_000))
    assert abs(p - result.p_asymptotic[0]) < 3 * mc_se
    row = result.to_frame().iloc[0]
    assert row.estimand == "logrank" and row.contrast == "IPS vs IPSE"
    assert row.p_value == p and row.p_mc_se == mc_se
    assert row.n == int(frame.arm.isin(["IPS", "IPSE"]).sum())
    assert result.inputs.outside == {"SAU": 240}


def test_permutation_p_value_counts_the_observed_table():
    # Two participants per arm, all with events at distinct times: 6 distinct assignments, the observed
    # one is the most extreme (treated fail first) together with its mirror image; with all
    # permutations drawn many times, p -> 2/6 (closed form), and p >= 1/(n+1) always.
    data = pd.DataFrame(
        {
            "participant_id": ["a", "b", "c", "d"],
            "time": [1.0, 2.0, 3.0, 4.0],
            "event": [1, 1, 1, 1],
            "arm": ["T", "T", "C", "C"],
        }
    )
    result = logrank_permutation(data, "time", "event", "arm", "T", "C", n_resamples=6000, seed=1)
    assert abs(result.p_value[0] - 1 / 3) < 4 * result.mc_se[0]
    assert result.p_value[0] >= 1 / 6001
