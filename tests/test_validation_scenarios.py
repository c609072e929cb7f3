"""The validation scenarios nonph and mar, their exact truths, and the INMB and MI study estimators.

Independent references: scipy's adaptive quadrature (quad) of the Weibull integrands with arm-specific
shapes, a per-cell evaluation of the weeks and hours truths with the other quadrature rule (job_by, in the
cumulative-hazard scale) at every weekly day, large simulated samples analysed by estimators written here
(Kaplan-Meier by day, arm means), the published checksum of the default dataset, and the closed form
``λ ΔQALY - ΔC`` of the net monetary benefit.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from ipstrial import _model
from ipstrial import synthetic as syn
from ipstrial._checks import ParameterError
from ipstrial.missing import multiple_imputation
from ipstrial.synthetic import DAYS_18M, INKLUSION, REFERENCE_WTP, Scenario, simulate_trial
from ipstrial.validation import ESTIMATORS, SCENARIOS, run_study
from ipstrial.validation._estimators import data_seed
from ipstrial.validation._scenarios import builtin_scenario, scenario_of

TAU = DAYS_18M
ROOT = Path(__file__).resolve().parents[1]
COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
NONPH = INKLUSION.nonph()
MAR = INKLUSION.mar()


def _truth(scenario: Scenario) -> pd.Series:
    return scenario.truth.set_index(["outcome", "estimand", "contrast"]).value


def _rates(scenario: Scenario):
    cal = _model.calibrate(scenario)
    mu2, c = _model._rates(scenario)
    r1 = np.exp(_model.linear_predictor(scenario, scenario.job_effects, cal.grid))
    r2 = mu2 * np.exp(_model.linear_predictor(scenario, scenario.competing_effects, cal.grid))
    return cal, r1, r2, c


# ------------------------------------------------------------------------------------ the registry
def test_every_built_in_scenario_is_a_named_scenario():
    assert set(SCENARIOS) == {"inklusion", "null", "small", "nonph", "mar"}
    built = {name: builtin_scenario(name) for name in SCENARIOS}
    assert all(isinstance(s, Scenario) for s in built.values())
    assert len({s.name for s in built.values()}) == len(built)  # distinct names: distinct cached truths
    assert built["inklusion"] is INKLUSION and builtin_scenario("mar") is built["mar"]
    assert scenario_of("small") == (built["small"], 60) and scenario_of("inklusion") == (INKLUSION, 720)
    assert built["nonph"] == NONPH and built["mar"] == MAR
    with pytest.raises(ParameterError, match="inklusion, null, small, nonph, mar, got 'nph'"):
        builtin_scenario("nph")


def test_new_scenario_parameters_are_checked():
    with pytest.raises(ValueError, match="job_shape has 2 entries for 3 arms"):
        Scenario(job_shape=(1.0, 2.0))
    with pytest.raises(ValueError, match="job_shape must be a positive number"):
        Scenario(job_shape=(1.0, -1.0, 0.8))
    with pytest.raises(ValueError, match="missing_arm_effects names 'TAU'"):
        Scenario(missing_arm_effects={"TAU": {"female": 1.0}})
    with pytest.raises(ValueError, match="unknown covariate term 'site:Aarhus'"):
        Scenario(missing_arm_effects={"SAU": {"site:Aarhus": 1.0}})
    # one shape repeated per arm is the proportional-hazards model itself
    assert Scenario(job_shape=[0.8, 0.8, 0.8]) == INKLUSION
    with pytest.raises(ValueError, match="pass the arm's shape="):
        _model.job_by(NONPH, 0.003, np.ones(1), np.ones(1), 0.0, TAU)


# ------------------------------------------------------------------ the default is unchanged
def test_the_default_data_match_the_published_checksum():
    """The bytes of the default dataset are those of data/synthetic/SHA256SUMS (not recomputed here)."""
    published = dict(
        reversed(line.split()) for line in (ROOT / "data/synthetic/SHA256SUMS").read_text().splitlines()
    )
    text = simulate_trial(INKLUSION, seed=2012).to_csv(index=False, lineterminator="\n", na_rep="")
    assert hashlib.sha256(text.encode()).hexdigest() == published["inklusion.csv"]


@pytest.mark.parametrize("scenario", [INKLUSION, NONPH], ids=["inklusion", "nonph"])
def test_weeks_and_hours_truths_agree_with_a_per_cell_evaluation(scenario):
    """E[weeks | x] = y + q (Σ_j P(job recorded by 548 - 7j | x) - y) cell by cell, by the job_by rule.

    Both quadratures are accurate to about 2e-10 per probability; 79 of them sum to at most 1.6e-8 weeks,
    below 1e-9 relative of the 20-40 weeks and 150-300 hours compared.
    """
    cal, r1, r2, c = _rates(scenario)
    w, grid = cal.weights, cal.grid
    truth = _truth(scenario)
    i = 0  # IPS: the arm whose shape nonph changes
    k = scenario.job_shapes[i]
    available = sum(
        _model.job_by(scenario, cal.lam[i], r1, r2, c, TAU - 7 * j, shape=k) for j in range(TAU // 7 + 1)
    )
    y = cal.employed[i]
    q = _model._expit(
        _model._logit(scenario.week_share[i]) + _model.linear_predictor(scenario, scenario.week_effects, grid)
    )
    per_week = scenario.hours_per_week[i] * np.exp(
        _model.linear_predictor(scenario, scenario.hours_effects, grid)
    )
    weeks = y + q * (available - y)
    assert truth["weeks_employed_18m", "mean", "IPS"] == pytest.approx(w @ weeks, rel=1e-9)
    assert truth["hours_18m", "mean", "IPS"] == pytest.approx(w @ (weeks * per_week), rel=1e-9)


# -------------------------------------------------------------------------------------- nonph
def test_nonph_calibration_keeps_every_18_month_proportion():
    cal = _model.calibrate(NONPH)
    assert NONPH.job_shapes == (1.4, 1.4, 0.8) and NONPH.name == "inklusion-nonph"
    np.testing.assert_allclose(cal.employed @ cal.weights, INKLUSION.p_employed_18m, rtol=0, atol=1e-11)
    truth = _truth(NONPH)
    for arm, p in zip(INKLUSION.arms, INKLUSION.p_employed_18m, strict=True):
        assert truth["employed_18m", "proportion", arm] == pytest.approx(p, abs=1e-11)
    # the null of nonph is proportional again: every arm gets the control's shape
    assert NONPH.null().job_shapes == (0.8, 0.8, 0.8)


@pytest.mark.parametrize("k", [0.5, 1.4, 3.0])
def test_job_probability_with_other_shapes_agrees_with_adaptive_quadrature(k):
    """The calibration's rule (job_by, graded panels for k > 1) against quad, cells of low to high hazard.

    job_by claims 1e-12 for shapes 0.5 to 3; quad is asked for 1e-14 absolute.
    """
    cal, r1, r2, c = _rates(NONPH)
    pick = np.unique(np.r_[np.argmin(r1), np.argmax(r1), np.argmax(r2), np.arange(0, len(r1), 1999)])
    for lam in cal.lam:
        ours = _model.job_by(NONPH, lam, r1[pick], r2[pick], c, TAU, shape=k)
        for value, a, b in zip(ours, lam * r1[pick], r2[pick], strict=True):

            def density(t, a=a, b=b):
                return a * k * t ** (k - 1) * np.exp(-a * t**k - (b + c) * t)

            reference = integrate.quad(density, 0, TAU, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
            assert value == pytest.approx(reference, abs=1e-12)


def test_nonph_has_crossing_hazards_and_no_hazard_ratio_truth():
    cal = _model.calibrate(NONPH)
    (k1, _, k0), (l1, _, l0) = NONPH.job_shapes, cal.lam
    ratio = lambda t: l1 * k1 / (l0 * k0) * t ** (k1 - k0)  # noqa: E731 - the conditional hazard ratio
    crossing = (l0 * k0 / (l1 * k1)) ** (1 / (k1 - k0))
    assert 60 < crossing < 150 and ratio(30) < 0.6 and ratio(TAU) > 2.5
    truth = NONPH.truth
    assert not (truth.estimand == "hazard_ratio").any()
    assert (INKLUSION.truth.estimand == "hazard_ratio").sum() == 2  # the default keeps its two
    # everything but time to event and what follows from it is the default's
    assert _truth(NONPH)["cost_total", "delta_cost", "IPS vs SAU"] == -72_000
    # the Cox estimator of a nonph study has no truth, hence no bias or coverage, only its rejection rate
    study = run_study("nonph", reps=2, seed=3, estimators=["cox_hazard_ratio", "rmst_difference"], quiet=True)
    table = study.table.set_index("estimator")
    assert (
        table.loc["cox_hazard_ratio"].truth.isna().all() and table.loc["cox_hazard_ratio"].bias.isna().all()
    )
    assert table.loc["cox_hazard_ratio"].rejection_rate.notna().all()
    assert np.isfinite(table.loc["rmst_difference"].truth).all()


def test_nonph_time_truths_agree_with_adaptive_quadrature():
    """Kaplan-Meier limit at days 100 and 548 and Aalen-Johansen limit at 548, IPS with shape 1.4.

    Population hazard ``Σ P(x) h1 S12 / Σ P(x) S12`` and density ``Σ P(x) h1 S12`` in the original time
    scale, integrated by quad to 1e-11 relative; the truths claim 2e-10 (tolerance 1e-8 as for the
    default scenario's test).
    """
    from ipstrial._truth import time_truths

    cal, r1, r2, c = _rates(NONPH)
    w = cal.weights
    k, lam = NONPH.job_shapes[0], cal.lam[0]
    a = lam * r1
    tt = time_truths(NONPH, lam, r1, r2, w, c, TAU, shape=k)

    def hazard(u):
        s12 = np.exp(-a * u**k - r2 * u)
        return (w * a * k * u ** (k - 1)) @ s12 / (w @ s12)

    def density(u):
        return (w * a * k * u ** (k - 1)) @ np.exp(-a * u**k - r2 * u)

    for day in (100, TAU):
        cumulative = integrate.quad(hazard, 0, day, epsabs=1e-13, epsrel=1e-11, limit=400)[0]
        assert tt.survival[day] == pytest.approx(np.exp(-cumulative), abs=1e-8)
    incidence = integrate.quad(density, 0, TAU, epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    assert tt.incidence == pytest.approx(incidence, abs=1e-8)
    # the table holds this very computation; its path through _model differs from the test's by the order
    # of a few floating-point operations, which moved the last bit with numpy 2.4 (rel 2e-16)
    table = _truth(NONPH)["days_to_job", "cumulative_incidence", "IPS"]
    assert table == pytest.approx(tt.incidence, rel=1e-14)


def _km_by_day(days: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival S(d), d = 0..max, of the first job (competing exits and losses censored)."""
    horizon = int(days.max())
    jobs = np.bincount(days, weights=(event == 1) * 1.0, minlength=horizon + 1)
    at_risk = np.bincount(days, minlength=horizon + 1)[::-1].cumsum()[::-1]
    return np.cumprod(1 - np.where(at_risk > 0, jobs / np.maximum(at_risk, 1), 0.0))


def test_nonph_truths_against_a_large_sample():
    """100,000 participants in 20 batches of 5,000: RMST, survival and proportions within 4 SE.

    The SE is the SD of the 20 batch estimates over √20 (independent batches); with 10 quantities compared,
    4 SE leaves a chance of a false alarm of about 10 x 6e-5.
    """
    data = simulate_trial(NONPH, n=100_000, seed=20260101)
    truth = _truth(NONPH)
    batch = np.arange(len(data)) // 5_000
    estimates: dict[tuple[str, str, str], list[float]] = {}
    for b in range(20):
        part = data[batch == b]
        rmst = {}
        for arm in NONPH.arms:
            one = part[part.arm == arm]
            km = _km_by_day(one.days_to_job.to_numpy(), one.event.to_numpy())
            rmst[arm] = km[:TAU].sum()
            estimates.setdefault(("days_to_job", "rmst", arm), []).append(rmst[arm])
            estimates.setdefault(("days_to_job", "survival", arm), []).append(km[TAU])
            estimates.setdefault(("employed_18m", "proportion", arm), []).append(one.employed_18m.mean())
        for arm in NONPH.treatments:
            key = ("days_to_job", "rmst_difference", f"{arm} vs SAU")
            estimates.setdefault(key, []).append(rmst[arm] - rmst["SAU"])
    for key, values in estimates.items():
        values = np.asarray(values)
        se = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - truth[key]) < 4 * se, (key, values.mean(), truth[key], se)
    # the effect on time is much smaller than under proportional hazards, the 18-month effect the same
    assert -20 < truth["days_to_job", "rmst_difference", "IPS vs SAU"] < -5
    assert _truth(INKLUSION)["days_to_job", "rmst_difference", "IPS vs SAU"] < -50


# ---------------------------------------------------------------------------------------- mar
def test_mar_changes_only_the_non_response():
    """Same draws: the complete data are identical to the default's; the truths too, but non-response."""
    complete = simulate_trial(MAR, n=2_000, seed=5, complete=True)
    pd.testing.assert_frame_equal(complete, simulate_trial(INKLUSION, n=2_000, seed=5, complete=True))
    observed = simulate_trial(MAR, n=2_000, seed=5)
    assert observed.drop(columns="hours_18m").equals(complete.drop(columns="hours_18m"))
    mar, default = MAR.truth, INKLUSION.truth
    same = mar.outcome != "hours_18m_missing"
    pd.testing.assert_frame_equal(mar[same].reset_index(drop=True), default[same].reset_index(drop=True))


@pytest.fixture(scope="module")
def mar_sample() -> pd.DataFrame:
    return simulate_trial(MAR, n=40_000, seed=7)


def test_mar_missingness_truth_and_selection(mar_sample):
    """The missing proportions within 4 SE of the truth; non-response selective in opposite directions."""
    truth = _truth(MAR)
    missing = mar_sample.hours_18m.isna()
    for arm in MAR.arms:
        x = missing[mar_sample.arm == arm]
        se = np.sqrt(x.mean() * (1 - x.mean()) / len(x))
        assert abs(x.mean() - truth["hours_18m_missing", "proportion", arm]) < 4 * se
    rate = missing.groupby([mar_sample.arm, mar_sample.employed_prev5y]).mean()
    assert rate["SAU", 0] > 3 * rate["SAU", 1]  # the control loses its poorest prognosis ...
    assert rate["IPS", 1] > 1.5 * rate["IPS", 0]  # ... the treatment arms their previously employed


def test_mar_complete_case_is_biased_and_multiple_imputation_is_not(mar_sample):
    """40,000 participants: the MI estimate within 4 of its SEs of the truth, complete case below 4.

    The MI SE (4-5 h here) includes the sampling error of the complete data, so |MI - truth| < 4 SE fails
    for an unbiased estimator with probability 6e-5. The exact complete-case limits lie 28.5 h (IPS) and
    27.9 h (IPSE) below the truths, about 7 of the complete-case SEs (4.0-4.2 h), so the estimate stays
    above the 4-SE line by chance with probability below 0.3 % each; an unbiased estimator would fall
    below it with probability 3e-5.
    """
    truth = _truth(MAR)
    result = multiple_imputation(
        mar_sample,
        "hours_18m",
        "arm",
        ["IPS", "IPSE"],
        "SAU",
        covariates=COVARIATES,
        kind="continuous",
        m=5,
        seed=3,
        id="participant_id",
    )
    groups = mar_sample.groupby("arm").hours_18m
    mean, var, count = groups.mean(), groups.var(), groups.count()
    for arm in MAR.treatments:
        contrast = f"{arm} vs SAU"
        target = truth["hours_18m", "mean_difference", contrast]
        pooled = result.contrasts[contrast]
        assert abs(pooled.estimate - target) < 4 * pooled.se, (contrast, pooled.estimate, target)
        cc = mean[arm] - mean["SAU"]
        cc_se = np.sqrt(var[arm] / count[arm] + var["SAU"] / count["SAU"])
        assert cc - target < -4 * cc_se, (contrast, cc, target, cc_se)


# ------------------------------------------------------------------ the two new study estimators
@pytest.mark.parametrize("scenario", [INKLUSION, INKLUSION.null(), NONPH, MAR], ids=lambda s: s.name)
def test_inmb_truth_is_the_closed_form_of_the_qaly_and_cost_truths(scenario):
    truth = _truth(scenario)
    for arm in scenario.treatments:
        contrast = f"{arm} vs {scenario.control}"
        closed = (
            REFERENCE_WTP * truth["qaly_18m", "delta_effect", contrast]
            - truth["cost_total", "delta_cost", contrast]
        )
        assert truth["cost_total, qaly_18m", "inmb", contrast] == pytest.approx(closed, rel=1e-12, abs=1e-9)


def test_the_new_estimators_return_rows_keyed_like_their_truths():
    data = simulate_trial(MAR, seed=11)
    truth = _truth(MAR)
    for name in ("inmb", "hours_mean_difference_mi"):
        est = ESTIMATORS[name]
        rows = [
            r
            for r in est.run(data).rows()
            if r.estimand == est.estimand and r.variant == est.variant and r.outcome == est.outcome
        ]
        assert [r.contrast for r in rows] == ["IPS vs SAU", "IPSE vs SAU"], name
        for r in rows:
            assert np.isfinite(truth[est.outcome, est.estimand, r.contrast])
            assert r.ci_low < r.estimate < r.ci_high and r.se > 0
    inmb = [r for r in ESTIMATORS["inmb"].run(data).rows() if r.estimand == "inmb" and r.variant == ""]
    assert all(r.extras["wtp"] == REFERENCE_WTP for r in inmb)


def test_the_imputation_seed_comes_from_the_data():
    first, second = simulate_trial(MAR, seed=1), simulate_trial(MAR, seed=2)
    assert data_seed(first) == data_seed(first.copy()) != data_seed(second)
    run = ESTIMATORS["hours_mean_difference_mi"].run
    assert run(first).to_frame().equals(run(first.copy()).to_frame())  # reproducible, no hidden state
    perturbed = first.assign(eq5d_18m=first.eq5d_18m.where(first.index != 0, 0.5))
    assert data_seed(perturbed) != data_seed(first)


def test_a_study_of_the_mar_scenario_runs_both_hours_estimators():
    study = run_study(
        "mar",
        reps=2,
        seed=4,
        estimators=["hours_mean_difference_cc", "hours_mean_difference_mi", "inmb"],
        quiet=True,
    )
    table = study.table.set_index(["estimator", "contrast"])
    assert table.failed.sum() == 0 and (table.reps == 2).all()
    truth = _truth(MAR)
    assert (
        table.loc[("hours_mean_difference_mi", "IPS vs SAU")].truth
        == truth["hours_18m", "mean_difference", "IPS vs SAU"]
    )
    assert table.loc[("inmb", "IPSE vs SAU")].truth == truth["cost_total, qaly_18m", "inmb", "IPSE vs SAU"]


def test_changing_a_scenario_by_replace_keeps_its_new_parameters():
    """dataclasses.replace (as the engine copies a scenario) keeps per-arm shapes and non-response terms."""
    assert dataclasses.replace(NONPH) == NONPH and dataclasses.replace(MAR) == MAR
    assert dict(MAR.missing_arm_effects)["SAU"] == syn.MAR_CONTROL_EFFECTS
