"""The synthetic Projekt Inklusion-like trial: calibration, exact truths, data, reproducibility.

References used here are independent of the code under test: the published Projekt Inklusion
facts (data/synthetic/README.md lists them with their sources), closed forms, scipy's adaptive
quadrature, lifelines' Cox model, and estimators written in this file (Kaplan-Meier, Aalen-Johansen) on a
200,000-participant sample.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from ipstrial import _model
from ipstrial import synthetic as syn
from ipstrial._truth import time_truths
from ipstrial.results import ESTIMANDS
from ipstrial.synthetic import DAYS_18M, INKLUSION, Scenario, simulate_trial

TAU = DAYS_18M


# ----------------------------------------------------------------------------- calibration
def test_defaults_are_the_published_projekt_inklusion_facts():
    assert INKLUSION.n == 720
    assert INKLUSION.arms == ("IPS", "IPSE", "SAU") and INKLUSION.control == "SAU"
    assert INKLUSION.ratio == (1, 1, 1)
    assert INKLUSION.sites == ("Copenhagen", "Frederiksberg", "Odense")
    assert (INKLUSION.age_mean, INKLUSION.age_sd, INKLUSION.p_female) == (32.8, 9.9, 0.383)
    assert INKLUSION.p_employed_18m == (0.599, 0.591, 0.465)
    costs = dict(INKLUSION.cost_means)
    total = np.sum([np.asarray(v) for v in costs.values()], axis=0)
    assert total[0] - total[2] == -72_000 and total[1] - total[2] == -55_000


def test_recorded_age_has_the_published_mean_and_sd():
    ages, p = _model.age_distribution(32.8, 9.9, 18, 64)
    assert ages[0] == 18 and ages[-1] == 64 and len(ages) == 47
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    mean = p @ ages
    assert mean == pytest.approx(32.8, abs=1e-9)
    assert np.sqrt(p @ (ages - mean) ** 2) == pytest.approx(9.9, abs=1e-9)


def test_covariate_law_is_the_product_of_the_stated_margins():
    grid, w = _model.covariate_grid(INKLUSION)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w @ grid["female"] == pytest.approx(0.383, abs=1e-12)
    assert w @ (grid["site"] == 2) == pytest.approx(0.30, abs=1e-12)
    assert w @ (grid["diagnosis"] == 0) == pytest.approx(0.55, abs=1e-12)
    assert w @ (grid["employed_prev5y"] * grid["substance_use"]) == pytest.approx(0.45 * 0.25, abs=1e-12)


def _cells():
    """A few covariate cells and their rates, spanning low to high job hazards."""
    cal = _model.calibrate(INKLUSION)
    r1 = np.exp(_model.linear_predictor(INKLUSION, INKLUSION.job_effects, cal.grid))
    mu2, c = _model._rates(INKLUSION)
    r2 = mu2 * np.exp(_model.linear_predictor(INKLUSION, INKLUSION.competing_effects, cal.grid))
    pick = np.unique(np.r_[np.argmin(r1), np.argmax(r1), np.argmax(r2), np.arange(0, len(r1), 1999)])
    return cal, r1, r2, c, pick


def test_job_probability_agrees_with_adaptive_quadrature():
    cal, r1, r2, c, pick = _cells()
    k = INKLUSION.job_shape
    for arm in range(3):
        lam = cal.lam[arm]
        ours = _model.job_by(INKLUSION, lam, r1[pick], r2[pick], c, TAU)
        for value, a, b in zip(ours, lam * r1[pick], r2[pick], strict=True):

            def density(t, a=a, b=b):
                return a * k * t ** (k - 1) * np.exp(-a * t**k - (b + c) * t)

            reference = integrate.quad(density, 0, TAU, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
            assert value == pytest.approx(reference, abs=1e-10)


def test_calibration_hits_the_target_proportions_exactly():
    cal = _model.calibrate(INKLUSION)
    np.testing.assert_allclose(cal.employed @ cal.weights, INKLUSION.p_employed_18m, rtol=0, atol=1e-11)
    assert np.all(np.diff(cal.lam[[2, 1, 0]]) > 0)  # SAU < IPSE < IPS


def test_time_truths_agree_with_direct_integration():
    cal, r1, r2, c, pick = _cells()
    k = INKLUSION.job_shape
    w = cal.weights
    lam = cal.lam[0]
    # moments = the indicator of each picked cell: the recorded-job probability of that cell
    indicators = np.zeros((len(pick), len(w)))
    indicators[np.arange(len(pick)), pick] = 1.0
    tt = time_truths(INKLUSION, lam, r1, r2, w, c, TAU, moments=indicators, record_days=[100, TAU])
    # the recorded-job curve at day 548 equals the panel rule of job_by, cell by cell, and at day 100 too
    np.testing.assert_allclose(
        tt.recorded[:, 1], _model.job_by(INKLUSION, lam, r1[pick], r2[pick], c, TAU), atol=1e-9
    )
    np.testing.assert_allclose(
        tt.recorded[:, 0], _model.job_by(INKLUSION, lam, r1[pick], r2[pick], c, 100), atol=1e-9
    )
    # Aalen-Johansen limit: no losses to follow-up
    assert tt.incidence == pytest.approx(w @ _model.job_by(INKLUSION, lam, r1, r2, 0.0, TAU), abs=1e-9)
    # Kaplan-Meier limit at day 100: Λ(t) = ∫ Σ P(x) h1 S12 / Σ P(x) S12 du, in the original time scale
    a = lam * r1

    def hazard(u):
        s12 = np.exp(-a * u**k - r2 * u)
        return (w * a * k * u ** (k - 1)) @ s12 / (w @ s12)

    cumulative = integrate.quad(hazard, 0, 100, epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    assert tt.survival[100] == pytest.approx(np.exp(-cumulative), abs=1e-8)
    assert tt.survival[0] == 1.0 and np.all(np.diff(tt.survival) < 0)


# ---------------------------------------------------------------------------------- truths
def test_truth_table_is_complete_and_uses_the_fixed_words():
    truth = INKLUSION.truth
    assert list(truth.columns) == ["outcome", "estimand", "contrast", "value", "method", "definition"]
    assert not truth.duplicated(["outcome", "estimand", "contrast"]).any()
    assert set(truth.estimand) <= ESTIMANDS
    assert np.isfinite(truth.value).all()
    for outcome in (
        "employed_18m",
        "days_to_job",
        "hours_18m",
        "weeks_employed_18m",
        "cost_total",
        "qaly_18m",
    ):
        contrasts = set(truth.loc[truth.outcome == outcome, "contrast"])
        assert {"IPS vs SAU", "IPSE vs SAU"} <= contrasts, outcome


def _truth(outcome, estimand, contrast, scenario=INKLUSION):
    t = scenario.truth
    row = t[(t.outcome == outcome) & (t.estimand == estimand) & (t.contrast == contrast)]
    assert len(row) == 1, (outcome, estimand, contrast)
    return float(row.value.iloc[0])


def test_truths_reproduce_the_published_headline_numbers():
    assert _truth("employed_18m", "proportion", "IPS") == pytest.approx(0.599, abs=1e-11)
    assert _truth("employed_18m", "proportion", "SAU") == pytest.approx(0.465, abs=1e-11)
    assert _truth("employed_18m", "risk_difference", "IPS vs SAU") == pytest.approx(0.134, abs=1e-11)
    assert _truth("employed_18m", "risk_difference", "IPSE vs SAU") == pytest.approx(0.126, abs=1e-11)
    assert _truth("employed_18m", "odds_ratio", "IPS vs SAU") == pytest.approx(
        (0.599 / 0.401) / (0.465 / 0.535), rel=1e-10
    )
    assert _truth("cost_total", "delta_cost", "IPS vs SAU") == -72_000
    assert _truth("cost_total", "delta_cost", "IPSE vs SAU") == -55_000
    assert _truth("age", "mean", "all") == pytest.approx(32.8, abs=1e-9)
    # IPS is faster into work: RMST difference at day 548 negative, hazard ratio above 1
    assert _truth("days_to_job", "rmst_difference", "IPS vs SAU") < -30
    assert _truth("days_to_job", "hazard_ratio", "IPS vs SAU") > 1.3
    # relations that must hold between truths
    rmst = _truth("days_to_job", "rmst", "IPS") - _truth("days_to_job", "rmst", "SAU")
    assert _truth("days_to_job", "rmst_difference", "IPS vs SAU") == pytest.approx(rmst, abs=1e-9)
    qaly = 0.75 * _truth("eq5d_18m", "mean_difference", "IPS vs SAU")
    assert _truth("qaly_18m", "delta_effect", "IPS vs SAU") == pytest.approx(qaly, abs=1e-12)
    # losses to follow-up are counted as not employed: the recorded proportion lies below the incidence
    assert _truth("days_to_job", "cumulative_incidence", "IPS") > 0.599


def test_missing_hours_are_between_ten_and_twenty_percent():
    overall = np.mean([_truth("hours_18m_missing", "proportion", arm) for arm in INKLUSION.arms])
    assert 0.10 <= overall <= 0.20


def test_null_scenario_has_no_arm_effects():
    null = INKLUSION.null()
    truth = null.truth
    differences = truth[
        truth.estimand.isin(
            ["risk_difference", "rmst_difference", "mean_difference", "delta_cost", "delta_effect"]
        )
    ]
    ratios = truth[truth.estimand.isin(["risk_ratio", "odds_ratio", "rate_ratio", "hazard_ratio"])]
    assert len(differences) >= 20 and len(ratios) >= 8
    np.testing.assert_allclose(differences.value, 0.0, atol=1e-9)
    np.testing.assert_allclose(ratios.value, 1.0, atol=1e-12)
    assert _truth("employed_18m", "proportion", "IPS", null) == pytest.approx(0.465, abs=1e-11)
    assert null.arms == INKLUSION.arms and null.name == "inklusion-null"


def test_scenario_rejects_inconsistent_parameters():
    with pytest.raises(ValueError, match="p_employed_18m has 2 entries for 3 arms"):
        Scenario(p_employed_18m=(0.5, 0.4))
    with pytest.raises(ValueError, match="control 'TAU' is not one of the arms"):
        Scenario(control="TAU")
    with pytest.raises(ValueError, match="unknown covariate term 'site:Aarhus'"):
        Scenario(job_effects=(("site:Aarhus", 0.1),))
    with pytest.raises(ValueError, match="strata \\['region'\\] must be one or more of"):
        Scenario(strata=("region",))
    with pytest.raises(ValueError, match="site_probs"):
        Scenario(site_probs=(0.5, 0.2, 0.2))


# ------------------------------------------------------------------------------ the data
@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return simulate_trial()


def test_default_trial_passes_the_data_contract(trial):
    valid = INKLUSION.schema().validate(trial)
    assert len(valid) == 720
    assert set(valid.missing_by_arm) == {"hours_18m"}
    assert valid.missing_by_arm["hours_18m"]["total"] == int(trial.hours_18m.isna().sum())


def test_allocation_is_stratified_permuted_blocks(trial):
    counts = trial.arm.value_counts()
    assert set(counts.index) == {"IPS", "IPSE", "SAU"}
    assert (counts - 240).abs().max() <= 6
    for _, stratum in trial.groupby(["site", "employed_prev5y"]):
        per_arm = stratum.arm.value_counts().reindex(INKLUSION.arms, fill_value=0)
        assert per_arm.max() - per_arm.min() <= 2  # only the last block of size 3 or 6 is incomplete
    assert list(trial.enrolment) == list(range(1, 721))


def test_outcomes_are_internally_consistent(trial):
    employed = trial.employed_18m == 1
    assert (employed == ((trial.event == 1) & (trial.days_to_job <= TAU))).all()
    assert ((trial.weeks_employed_18m >= 1) == employed).all()
    available = (TAU - trial.days_to_job) // 7 + 1
    assert (trial.weeks_employed_18m[employed] <= available[employed]).all()
    observed = trial.hours_18m.notna()
    assert ((trial.hours_18m[observed] > 0) == employed[observed]).all()
    assert trial.days_to_job.between(1, INKLUSION.follow_up_days).all()
    assert (trial.event[trial.days_to_job == INKLUSION.follow_up_days] == 0).all()
    categories = trial[list(syn.COST_CATEGORIES)].sum(axis=1)
    assert (categories == trial.cost_total).all()
    assert (trial.cost_ips[trial.arm == "SAU"] == 0).all() and (trial.cost_ips[trial.arm != "SAU"] > 0).all()
    for column in ("eq5d_0", "eq5d_18m"):
        assert trial[column].between(INKLUSION.utility_min, 1.0).all()
    assert set(trial.event) == {0, 1, 2}


def test_same_seed_gives_identical_bytes():
    first = simulate_trial(seed=2012).to_csv(index=False).encode()
    second = simulate_trial(seed=2012).to_csv(index=False).encode()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert simulate_trial(seed=2013).to_csv(index=False).encode() != first
    from_generator = [simulate_trial(n=200, seed=np.random.default_rng(5)).to_csv() for _ in range(2)]
    assert from_generator[0] == from_generator[1]


def test_committed_csv_is_the_default_trial(trial):
    from pathlib import Path

    committed = (Path(__file__).parents[1] / "data/synthetic/inklusion.csv").read_bytes()
    committed_frame = pd.read_csv(io.BytesIO(committed))
    pd.testing.assert_frame_equal(committed_frame, trial.astype({"hours_18m": float}), check_dtype=False)


def test_allocation_can_be_stratified_by_any_baseline_column():
    scenario = Scenario(strata=("sex", "diagnosis"))
    data = simulate_trial(scenario, n=600, seed=3)
    for _, stratum in data.groupby(["sex", "diagnosis"]):
        per_arm = stratum.arm.value_counts().reindex(scenario.arms, fill_value=0)
        assert per_arm.max() - per_arm.min() <= 2
    assert (data.drop(columns="arm").columns == simulate_trial(n=10).drop(columns="arm").columns).all()


def test_simulate_rejects_a_bad_size():
    with pytest.raises(ValueError, match="n must be a whole number at least 1"):
        simulate_trial(n=0)


# --------------------------------------------------- a large sample recovers every truth
def _day_tables(days: np.ndarray, event: np.ndarray, weights: np.ndarray, horizon: int):
    """Weighted counts per day: jobs, competing exits and the number at risk (days >= d)."""
    jobs = np.bincount(days, weights=weights * (event == 1), minlength=horizon + 1)
    exits = np.bincount(days, weights=weights * (event == 2), minlength=horizon + 1)
    leaving = np.bincount(days, weights=weights, minlength=horizon + 1)
    at_risk = leaving[::-1].cumsum()[::-1]
    return jobs, exits, at_risk


def _time_estimates(days, event, weights, horizon):
    """Kaplan-Meier survival at 548, RMST to 548 and Aalen-Johansen incidence at 548."""
    jobs, exits, at_risk = _day_tables(days, event, weights, horizon)
    with np.errstate(invalid="ignore", divide="ignore"):
        h_job = np.where(at_risk > 0, jobs / at_risk, 0.0)
        h_all = np.where(at_risk > 0, (jobs + exits) / at_risk, 0.0)
    km = np.cumprod(1 - h_job)  # S(d), d = 0..horizon; S(0) = 1 as no day-0 records
    overall = np.cumprod(1 - h_all)
    before = np.r_[1.0, overall[:-1]]
    aj = np.cumsum(before * h_job)
    return np.array([km[TAU], km[:TAU].sum(), aj[TAU]])


def test_a_large_sample_recovers_every_truth():
    """200,000 participants: every stored truth lies within 4 standard errors of its estimate."""
    n = 200_000
    data = simulate_trial(n=n, seed=20240601, complete=True)
    observed_hours = simulate_trial(n=n, seed=20240601)["hours_18m"]
    assert np.allclose(data.hours_18m[observed_hours.notna()], observed_hours.dropna())  # same draws
    truth = INKLUSION.truth
    arms, control = INKLUSION.arms, INKLUSION.control
    horizon = INKLUSION.follow_up_days
    data = data.assign(
        qaly_18m=0.75 * (data.eq5d_0 + data.eq5d_18m),
        net_benefit=syn.REFERENCE_WTP * 0.75 * (data.eq5d_0 + data.eq5d_18m) - data.cost_total,
        hours_18m_missing=observed_hours.isna() * 1.0,
        female=(data.sex == "female") * 1.0,
    )
    groups = {a: data[data.arm == a] for a in arms}
    estimates: dict[tuple[str, str, str], tuple[float, float]] = {}

    def mean_se(x):
        x = np.asarray(x, dtype=float)
        return x.mean(), x.std(ddof=1) / np.sqrt(len(x))

    estimates[("age", "mean", "all")] = mean_se(data.age)
    estimates[("sex", "proportion", "all")] = mean_se(data.female)
    means = {}
    # per-participant net benefit λ QALY - cost: its difference of arm means estimates the INMB truth
    by_arm = (set(truth.outcome) - {"age", "sex", "days_to_job", "cost_total, qaly_18m"}) | {"net_benefit"}
    for outcome in sorted(by_arm):
        source = "female" if outcome == "sex" else outcome
        for a in arms:
            means[outcome, a] = mean_se(groups[a][source])
            estimates[
                (outcome, "proportion" if outcome in ("employed_18m", "hours_18m_missing") else "mean", a)
            ] = means[outcome, a]
        for a in arms:
            if a == control:
                continue
            (m1, s1), (m0, s0) = means[outcome, a], means[outcome, control]
            diff = (m1 - m0, np.hypot(s1, s0))
            log_ratio_se = np.hypot(s1 / m1, s0 / m0) if m0 > 0 and m1 > 0 else np.nan
            label = f"{a} vs {control}"
            if outcome == "employed_18m":
                estimates[(outcome, "risk_difference", label)] = diff
                estimates[(outcome, "risk_ratio", label)] = (m1 / m0, m1 / m0 * log_ratio_se)
                odds_ratio = (m1 / (1 - m1)) / (m0 / (1 - m0))
                se_log_or = np.hypot(s1 / (m1 * (1 - m1)), s0 / (m0 * (1 - m0)))
                estimates[(outcome, "odds_ratio", label)] = (odds_ratio, odds_ratio * se_log_or)
            elif outcome.startswith("cost") or outcome == "transfers_18m":
                estimates[(outcome, "delta_cost", label)] = diff
            elif outcome == "qaly_18m":
                estimates[(outcome, "delta_effect", label)] = diff
            elif outcome == "net_benefit":
                estimates[("cost_total, qaly_18m", "inmb", label)] = diff
            elif outcome != "hours_18m_missing" and outcome != "eq5d_0":
                estimates[(outcome, "mean_difference", label)] = diff
            if outcome == "weeks_employed_18m":
                estimates[(outcome, "rate_ratio", label)] = (m1 / m0, m1 / m0 * log_ratio_se)

    # time to first job: Kaplan-Meier, RMST, Aalen-Johansen; standard errors by Poisson bootstrap
    rng = np.random.default_rng(11)
    time_draws = {}
    for a in arms:
        days = groups[a].days_to_job.to_numpy()
        event = groups[a].event.to_numpy()
        point = _time_estimates(days, event, np.ones(len(days)), horizon)
        boot = np.array(
            [
                _time_estimates(days, event, rng.poisson(1.0, len(days)).astype(float), horizon)
                for _ in range(200)
            ]
        )
        time_draws[a] = (point, boot)
        for j, estimand in enumerate(("survival", "rmst", "cumulative_incidence")):
            estimates[("days_to_job", estimand, a)] = (point[j], boot[:, j].std(ddof=1))
    for a in arms:
        if a != control:
            diff = time_draws[a][0][1] - time_draws[control][0][1]
            se = np.hypot(time_draws[a][1][:, 1].std(ddof=1), time_draws[control][1][:, 1].std(ddof=1))
            estimates[("days_to_job", "rmst_difference", f"{a} vs {control}")] = (diff, se)

    # conditional cause-specific hazard ratio: Cox model with every generating covariate (lifelines)
    from lifelines import CoxPHFitter

    design = pd.get_dummies(data[["site", "diagnosis", "education"]], drop_first=True, dtype=float)
    design = design.assign(
        age_per_10y=(data.age - INKLUSION.age_mean) / 10,
        female=data.female,
        employed_prev5y=data.employed_prev5y,
        substance_use=data.substance_use,
        T=data.days_to_job,
        E=(data.event == 1) * 1,
    )
    for a in arms:
        if a != control:
            design[a] = (data.arm == a) * 1.0
    cox = CoxPHFitter().fit(design, "T", "E").summary
    for a in arms:
        if a != control:
            hr = float(np.exp(cox.loc[a, "coef"]))
            estimates[("days_to_job", "hazard_ratio", f"{a} vs {control}")] = (
                hr,
                hr * cox.loc[a, "se(coef)"],
            )

    checked = 0
    failures = []
    for row in truth.itertuples():
        key = (row.outcome, row.estimand, row.contrast)
        assert key in estimates, f"no estimate for truth row {key}"
        estimate, se = estimates[key]
        checked += 1
        if se == 0:  # cost_ips in the control arm is zero for everyone
            if estimate != row.value:
                failures.append((key, estimate, row.value, se))
        elif abs(estimate - row.value) > 4 * se:
            failures.append((key, estimate, row.value, se))
    assert checked == len(truth)
    assert not failures, failures


def test_cached_truths_cannot_be_changed_by_a_caller():
    from ipstrial._model import calibrate

    truth = INKLUSION.truth
    truth.loc[truth.index[0], "value"] = -99.0
    assert INKLUSION.truth["value"].iloc[0] != -99.0  # every access is a fresh copy
    lam = calibrate(INKLUSION).lam
    with pytest.raises(ValueError, match="read-only"):
        lam[0] = 1.0
