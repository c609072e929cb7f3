"""Tests of ipstrial.survival.kaplan_meier and ipstrial.survival.logrank.

References: R 4.2 / survival 3.5 output in tests/reference/survival_km_logrank.json, made by
tests/reference/survival_km_logrank.R (survfit with conf.type log-log / log / plain, summary(fit)$table
medians, summary(fit, times = ...); survdiff with rho = 0, 0.5, 1, stratified; the script's own
Fleming-Harrington G(p, q) code for q > 0), lifelines' logrank_test per permutation, and closed forms
(an arm without events, a single arm).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.results import ESTIMANDS
from ipstrial.survival.kaplan_meier import kaplan_meier
from ipstrial.survival.logrank import logrank, logrank_permutation

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "reference" / "survival_km_logrank.json").read_text())
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
def trial() -> pd.DataFrame:
    data = pd.read_csv(ROOT / "data" / "synthetic" / "inklusion.csv")
    data["weeks"] = data.days_to_job // 7  # the R script's floor(days_to_job / 7)
    return data


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(ROOT / "tests" / "reference" / "data" / "lung.csv")


def _small(name: str) -> pd.DataFrame:
    frame = pd.DataFrame(REF["small"][name])
    frame["participant_id"] = [f"S{i:02d}" for i in range(len(frame))]
    return frame


@pytest.fixture(scope="module")
def datasets(trial, lung) -> dict[str, tuple[pd.DataFrame, str]]:
    return {
        "lung": (lung, "time"),
        "inklusion": (trial, "days_to_job"),
        "inklusion_weekly": (trial, "weeks"),
        "zeros": (_small("zeros"), "time"),
        "half": (_small("half"), "time"),
    }


# ------------------------------------------------------------------------------------ Kaplan-Meier

KM_CASES = [(case["name"], case["conf_type"]) for case in REF["km"]]


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
        _same(rows.estimate, at["surv"])
        _same(rows.se, at["std_err"])
        _same(rows.ci_low, at["lower"])
        _same(rows.ci_high, at["upper"])
        np.testing.assert_array_equal(rows.n_risk.to_numpy(), _array(at["n_risk"]))


def test_flat_stretch_at_one_half_uses_r_midpoint_rule():
    # Arm A: S = 0.75, 0.5 (t = 2), 0.25 (t = 3), 0: median = (2 + 3) / 2. Arm C: S = 0.5 from t = 3 to
    # the end of follow-up (censored at 4): median = 3 (no later drop). Closed forms; R agrees (json).
    result = kaplan_meier(_small("half"), "time", "event", "arm")
    medians = result.medians.set_index("arm")["median"]
    assert medians["A"] == 2.5
    assert medians["C"] == 3.0


def test_heavy_ties_weekly_durations_with_zeros(trial):
    # floor(days / 7): many participants share a week, and weeks of 0 occur; the curve at 0 already
    # includes the events in week 0 (right-continuous), and n.risk at 0 is the whole arm.
    result = kaplan_meier(trial, "weeks", "event", "arm")
    for arm in result.groups:
        sub = trial[trial.arm == arm]
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


def _no_events_in_sau(trial: pd.DataFrame) -> pd.DataFrame:
    data = trial.copy()
    data.loc[data.arm == "SAU", "event"] = 0
    return data


def test_arm_without_events_median_not_reached_and_survival_one(trial):
    data = _no_events_in_sau(trial)
    result = kaplan_meier(data, "days_to_job", "event", "arm", times=[365, 913])
    tab = result.table[result.table.arm == "SAU"]
    assert (tab.survival == 1.0).all()
    assert (tab["n.event"] == 0).all()
    assert (result.survival_at([0, 100, 500, 913]).loc["SAU"] == 1.0).all()
    frame = result.to_frame()
    median = frame[(frame.contrast == "SAU") & (frame.estimand == "median_time")].iloc[0]
    assert median.estimate == math.inf
    assert median.ci_low == math.inf and median.ci_high == math.inf
    assert "median not reached" in median.note
    assert not math.isnan(median.estimate)
    # the other arms are unaffected and reached their medians
    other = frame[(frame.contrast == "IPS") & (frame.estimand == "median_time")].iloc[0]
    assert math.isfinite(other.estimate) and "not reached" not in other.note.split(";")[0]
    # the log-rank test is still defined (SAU has expected events > 0)
    test = logrank(data, "days_to_job", "event", "arm")
    assert test.events[list(test.groups).index("SAU")] == 0
    assert test.expected[list(test.groups).index("SAU")] > 0


def test_single_arm_kaplan_meier_works_and_logrank_raises(trial):
    only = trial[trial.arm == "IPS"]
    result = kaplan_meier(only, "days_to_job", "event", "arm")
    assert result.groups == ("IPS",)
    assert len(result.rows()) == 1
    tab = result.table
    # closed form check of the first step: S(t1) = 1 - d1 / n
    first = tab.iloc[0]
    assert first.survival == pytest.approx(1 - first["n.event"] / len(only), rel=1e-15)
    with pytest.raises(TrialDataError, match="only one arm .'IPS'. in the data: there is nothing to compare"):
        logrank(only, "days_to_job", "event", "arm")


def test_competing_events_are_censored_and_said_so(trial):
    result = kaplan_meier(trial, "days_to_job", "event", "arm")
    frame = result.to_frame()
    for arm in ("IPS", "IPSE", "SAU"):
        row = frame[(frame.contrast == arm) & (frame.estimand == "median_time")].iloc[0]
        assert row.competing_censored == int(((trial.arm == arm) & (trial.event == 2)).sum())
        assert "competing events (codes 2) are censored" in row.note
    assert any("competing events" in note for note in result.notes)
    assert set(frame.estimand) <= ESTIMANDS
    test = logrank(trial, "days_to_job", "event", "arm")
    assert (
        "competing events (codes 2) are censored: 43 participant(s) in the arms compared"
        in test.to_frame().note.iloc[0]
    )


def test_cause_two_analyses_the_competing_event(trial):
    # cause=2 swaps the roles: code 1 is then censored. Compare the event counts (closed form).
    result = kaplan_meier(trial, "days_to_job", "event", "arm", cause=2)
    for arm in result.groups:
        tab = result.table[result.table.arm == arm]
        assert int(tab["n.event"].sum()) == int(((trial.arm == arm) & (trial.event == 2)).sum())


# --------------------------------------------------------------------------------------- bad input


def _bad(trial: pd.DataFrame, column: str, rows: list[int], value) -> pd.DataFrame:
    data = trial.copy()
    data[column] = data[column].astype(float)
    data.loc[rows, column] = value
    return data


@pytest.mark.parametrize("function", [kaplan_meier, logrank])
def test_negative_durations_are_an_error_naming_the_ids(trial, function):
    data = _bad(trial, "days_to_job", [3, 7], -5)
    with pytest.raises(TrialDataError) as info:
        function(data, "days_to_job", "event", "arm")
    text = str(info.value)
    assert "column 'days_to_job': 2 negative durations" in text
    assert "P0004, P0008" in text
    assert "cannot be negative" in text


@pytest.mark.parametrize("function", [kaplan_meier, logrank])
def test_missing_durations_are_an_error(trial, function):
    data = _bad(trial, "days_to_job", [0], np.nan)
    with pytest.raises(
        TrialDataError, match=r"column 'days_to_job': 1 missing durations \(participant id P0001\)"
    ):
        function(data, "days_to_job", "event", "arm")


@pytest.mark.parametrize("function", [kaplan_meier, logrank])
def test_event_codes_outside_the_set_are_an_error(trial, function):
    data = _bad(trial, "event", [1, 2], 3)
    with pytest.raises(TrialDataError) as info:
        function(data, "days_to_job", "event", "arm")
    text = str(info.value)
    assert "column 'event': 2 event codes outside the declared set [0, 1, 2] (found 3)" in text
    assert "P0002, P0003" in text


def test_bad_options_are_errors(trial):
    with pytest.raises(ValueError, match="conf_type must be one of"):
        kaplan_meier(trial, "days_to_job", "event", "arm", conf_type="logit")
    with pytest.raises(ValueError, match="cause=3 is not among the declared event codes"):
        kaplan_meier(trial, "days_to_job", "event", "arm", cause=3)
    with pytest.raises(ValueError, match="weights must be None"):
        logrank(trial, "days_to_job", "event", "arm", weights=("fh", -1, 0))
    no_events = trial.assign(event=0)
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


def test_plot_draws_one_step_curve_and_censor_ticks_per_arm(trial, plt):
    result = kaplan_meier(trial, "days_to_job", "event", "arm")
    ax = result.plot()
    curves = [line for line in ax.get_lines() if str(line.get_gid()).startswith("km:")]
    ticks = [line for line in ax.get_lines() if str(line.get_gid()).startswith("censor:")]
    assert sorted(result.groups) == ["IPS", "IPSE", "SAU"]
    assert [c.get_gid() for c in curves] == [f"km:{arm}" for arm in result.groups]
    assert [t.get_gid() for t in ticks] == [f"censor:{arm}" for arm in result.groups]
    for curve, arm in zip(curves, result.groups, strict=True):
        tab = result.table[result.table.arm == arm]
        np.testing.assert_array_equal(curve.get_ydata()[1:], tab.survival.to_numpy())
    for tick, arm in zip(ticks, result.groups, strict=True):
        censored = trial[(trial.arm == arm) & (trial.event != 1)].days_to_job.nunique()
        assert len(tick.get_xdata()) == censored
    assert "days" in ax.get_xlabel()
    plt.close(ax.figure)


def test_plot_at_risk_table_equals_at_risk(trial, plt):
    result = kaplan_meier(trial, "days_to_job", "event", "arm")
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
    result = kaplan_meier(trial, "days_to_job", "event", "arm")
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
    "inklusion_3arm": ("trial", "days_to_job", None),
    "inklusion_3arm_site": ("trial", "days_to_job", "site"),
    "inklusion_3arm_rho1": ("trial", "days_to_job", None),
    "inklusion_ips_sau": ("trial", "days_to_job", None),
    "inklusion_ips_sau_site": ("trial", "days_to_job", "site"),
    "inklusion_ips_sau_site_rho1": ("trial", "days_to_job", "site"),
    "inklusion_ips_ipse": ("trial", "days_to_job", None),
    "inklusion_weekly_3arm": ("trial", "weeks", None),
    "inklusion_weekly_3arm_site": ("trial", "weeks", "site"),
    "zeros": ("zeros", "time", None),
    "lung_fh11": ("lung", "time", None),
    "lung_fh01": ("lung", "time", None),
    "lung_fh05_2": ("lung", "time", None),
    "inklusion_3arm_site_fh01": ("trial", "days_to_job", "site"),
    "inklusion_ips_sau_fh11": ("trial", "days_to_job", None),
    "inklusion_weekly_3arm_fh01": ("trial", "weeks", None),
}


@pytest.fixture(scope="module")
def frames(trial, lung) -> dict[str, pd.DataFrame]:
    return {
        "lung": lung,
        "lung_inst": lung.dropna(subset=["inst"]),  # one row without inst, dropped as in the R script
        "lung_ecog": lung.dropna(subset=["ph_ecog"]),  # one row without ph_ecog, dropped as in R
        "trial": trial,
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
    result = logrank(
        frames[frame_name], duration, "event", "arm", arms=case["groups"], strata=strata, weights=weights
    )
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


def test_logrank_group_order_does_not_change_the_test(trial):
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_3arm_site")
    result = logrank(trial, "days_to_job", "event", "arm", arms=["SAU", "IPSE", "IPS"], strata="site")
    assert result.statistic == pytest.approx(ref["chisq"], rel=REL)
    two = logrank(trial, "days_to_job", "event", "arm", treatment="IPS", control="SAU")
    ref2 = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_sau")
    assert two.statistic == pytest.approx(ref2["chisq"], rel=REL)
    assert two.to_frame().contrast.iloc[0] == "IPS vs SAU"


# ------------------------------------------------------------------------------ permutation test


def _plain_statistic(time: np.ndarray, event: np.ndarray, treated: np.ndarray) -> float:
    from lifelines.statistics import logrank_test

    return float(logrank_test(time[treated], time[~treated], event[treated], event[~treated]).test_statistic)


def test_permutation_statistics_equal_plain_per_permutation_lifelines(trial):
    two = trial[trial.arm.isin(["IPS", "SAU"])].reset_index(drop=True)
    result = logrank_permutation(
        two, "days_to_job", "event", "arm", "IPS", "SAU", n=60, seed=11, keep_assignments=True
    )
    time = two.days_to_job.to_numpy(float)
    event = (two.event == 1).to_numpy()
    assert result.assignments.shape == (60, len(two))
    assert (result.assignments.sum(axis=1) == (two.arm == "IPS").sum()).all()
    for b in range(60):
        plain = _plain_statistic(time, event, result.assignments[b])
        assert result.statistics[b] == pytest.approx(plain, rel=1e-10, abs=1e-12)
    observed = _plain_statistic(time, event, (two.arm == "IPS").to_numpy())
    assert result.statistic == pytest.approx(observed, rel=1e-10)
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_sau")
    assert result.statistic == pytest.approx(ref["chisq"], rel=REL)
    assert result.p_asymptotic == pytest.approx(ref["p"], rel=P_REL)


def test_stratified_permutation_keeps_strata_and_equals_plain_stratified_statistic(trial):
    two = trial[trial.arm.isin(["IPS", "SAU"])].reset_index(drop=True)
    result = logrank_permutation(
        two, "days_to_job", "event", "arm", "IPS", "SAU", n=25, seed=5, strata="site", keep_assignments=True
    )
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_sau_site")
    assert result.statistic == pytest.approx(ref["chisq"], rel=REL)
    treated_per_site = two[two.arm == "IPS"].groupby("site").size()
    for b in range(25):
        arms = np.where(result.assignments[b], "IPS", "SAU")
        assert (two.assign(arm=arms)[arms == "IPS"].groupby("site").size() == treated_per_site).all()
        # the plain per-permutation stratified statistic: survdiff's formula (checked against R above)
        plain = logrank(
            two.assign(arm=arms), "days_to_job", "event", "arm", arms=["IPS", "SAU"], strata="site"
        )
        assert result.statistics[b] == pytest.approx(plain.statistic, rel=1e-10, abs=1e-12)


def test_permutation_seed_gives_same_bits(trial):
    kwargs = dict(n=3000, strata="site")
    a = logrank_permutation(trial, "days_to_job", "event", "arm", "IPS", "IPSE", seed=42, **kwargs)
    b = logrank_permutation(trial, "days_to_job", "event", "arm", "IPS", "IPSE", seed=42, **kwargs)
    c = logrank_permutation(trial, "days_to_job", "event", "arm", "IPS", "IPSE", seed=43, **kwargs)
    assert a.statistics.tobytes() == b.statistics.tobytes()
    assert a.p_value == b.p_value
    assert a.statistics.tobytes() != c.statistics.tobytes()
    assert a.to_frame().seed_entropy.iloc[0] == "42"


def test_permutation_p_agrees_with_asymptotic_within_monte_carlo_error(trial):
    result = logrank_permutation(trial, "days_to_job", "event", "arm", "IPS", "IPSE", n=10_000, seed=2024)
    ref = next(c for c in REF["logrank"] if c["name"] == "inklusion_ips_ipse")
    assert result.p_asymptotic == pytest.approx(ref["p"], rel=P_REL)
    assert result.mc_se == pytest.approx(math.sqrt(result.p_value * (1 - result.p_value) / 10_000))
    assert abs(result.p_value - result.p_asymptotic) < 3 * result.mc_se
    row = result.to_frame().iloc[0]
    assert row.estimand == "logrank" and row.contrast == "IPS vs IPSE"
    assert row.p_value == result.p_value and row.p_mc_se == result.mc_se
    assert row.n == int(trial.arm.isin(["IPS", "IPSE"]).sum())


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
    result = logrank_permutation(data, "time", "event", "arm", "T", "C", n=6000, seed=1)
    assert abs(result.p_value - 1 / 3) < 4 * result.mc_se
    assert result.p_value >= 1 / 6001
