"""Tests for :mod:`ipstrial.itt.marginal` (covariate-adjusted marginal effects, binary outcome).

References: ``tests/reference/marginal_effects.json``, made by ``tests/reference/marginal_effects.R``
(R's glm, sandwich::sandwich HC0 and an independent R implementation of the Ge et al. 2011 and
Ye et al. 2023 variance formulas); the exact truths of the synthetic trial; a re-randomisation
simulation; statsmodels weighted GLM fits for the batched bootstrap kernel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.itt.marginal import (
    _resampling_weights,
    _weighted_logistic_fits,
    marginal_effect,
)
from ipstrial.randomization import stratified_blocks
from ipstrial.synthetic import INKLUSION, simulate_trial

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "tests" / "reference" / "marginal_effects.json").read_text())
COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
STRATA = ["site", "employed_prev5y"]
RTOL = 1e-6


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "synthetic" / "inklusion.csv")


def _run(data: pd.DataFrame, treatment, **kwargs):
    return marginal_effect(
        data,
        outcome="employed_18m",
        arm="arm",
        treatment=treatment,
        control="SAU",
        covariates=COVARIATES,
        **kwargs,
    )


# ------------------------------------------------------------------------------------- R agreement

R_VARIANCES = {"ye": {"variance": "ye"}, "ye_strata": {"variance": "ye", "strata": STRATA}}
R_VARIANCES |= {"ge": {"variance": "ge"}, "ge_model": {"variance": "ge-model"}}
CASES = [
    ("two_arm", "IPS", key, estimand)
    for key in ("ye", "ye_strata", "ge", "ge_model")
    for estimand in ("risk_difference", "risk_ratio", "odds_ratio")
] + [
    ("three_arm", ["IPS", "IPSE"], key, estimand)
    for key in ("ye", "ye_strata", "ge", "ge_model")
    for estimand in ("risk_difference", "risk_ratio", "odds_ratio")
]


@pytest.mark.parametrize(("fit", "treatment", "key", "estimand"), CASES)
def test_agrees_with_r(trial, fit, treatment, key, estimand):
    ref = REFERENCE[fit]
    result = _run(trial, treatment, contrast=estimand, **R_VARIANCES[key])
    assert list(result.arms) == ref["arms"]
    assert result.n == ref["n"]
    np.testing.assert_allclose(result.means, [ref["theta"][a] for a in ref["arms"]], rtol=RTOL)
    expected = ref["variances"][key]
    np.testing.assert_allclose(result.cov, np.array(expected["cov"]), rtol=RTOL)
    np.testing.assert_allclose(result.se, expected["se"], rtol=RTOL)
    frame = result.to_frame()
    proportions = frame[frame.estimand == "proportion"].set_index("contrast")
    np.testing.assert_allclose(proportions.loc[ref["arms"], "se"], expected["se"], rtol=RTOL)
    contrasts = result.contrasts.set_index("contrast")
    for label, want in expected["contrasts"][estimand].items():
        got = contrasts.loc[label]
        for column in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            assert got[column] == pytest.approx(want[column], rel=RTOL), (label, column)
        row = frame[(frame.contrast == label) & (frame.estimand == estimand) & (frame.scale == "marginal")]
        assert len(row) == 1
        assert row.estimate.iloc[0] == pytest.approx(want["estimate"], rel=RTOL)
        assert row.se.iloc[0] == pytest.approx(want["se"], rel=RTOL)


@pytest.mark.parametrize("fit", ["two_arm", "three_arm"])
def test_coefficients_and_conditional_odds_ratio_agree_with_r(trial, fit):
    ref = REFERENCE[fit]
    treatment = "IPS" if fit == "two_arm" else ["IPS", "IPSE"]
    result = _run(trial, treatment)
    coefs = result.coefficients
    assert list(coefs.term) == ref["coefficients"]["term"]
    for column in ("estimate", "se", "se_hc0"):
        np.testing.assert_allclose(coefs[column], ref["coefficients"][column], rtol=RTOL)
    frame = result.to_frame()
    conditional = frame[frame.scale == "conditional"].set_index("contrast")
    assert set(conditional.estimand) == {"odds_ratio"}
    for label, want in ref["conditional"].items():
        row = conditional.loc[label]
        assert row.estimate == pytest.approx(want["odds_ratio"], rel=RTOL)
        assert row.se == pytest.approx(want["se"], rel=RTOL)  # log scale, model-based
        assert row.se_hc0 == pytest.approx(want["se_hc0"], rel=RTOL)
        assert row.ci_low == pytest.approx(want["ci_low"], rel=RTOL)
        assert row.ci_high == pytest.approx(want["ci_high"], rel=RTOL)
        assert row.p_value == pytest.approx(want["p_value"], rel=RTOL)
        assert "conditional, logistic model" in row.method


def test_rows_layout(trial):
    result = _run(trial, ["IPS", "IPSE"], contrast="risk_ratio")
    json.dumps(result.to_dict(), allow_nan=False)
    assert "IPSE vs SAU" in result.summary()
    frame = result.to_frame()
    assert list(frame.estimand) == ["proportion"] * 3 + ["risk_ratio"] * 2 + ["odds_ratio"] * 2
    assert list(frame.contrast[:3]) == ["IPS", "IPSE", "SAU"]
    assert list(frame.scale) == ["marginal"] * 5 + ["conditional"] * 2
    assert all(frame.method[:5].str.contains("g-computation"))
    assert list(frame.n[:3]) == [239, 241, 240]
    assert list(frame.se_scale[3:]) == ["log"] * 4


# ------------------------------------------------------------------------------- synthetic trial


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return simulate_trial(INKLUSION, seed=2012)


def test_synthetic_trial_interval_covers_truth_and_adjustment_gains(synthetic):
    truth = INKLUSION.truth
    true_rd = truth.query(
        "outcome == 'employed_18m' and estimand == 'risk_difference' and contrast == 'IPS vs SAU'"
    ).value.item()
    assert true_rd == pytest.approx(0.134)
    result = _run(synthetic, "IPS")
    row = result.contrasts.set_index("contrast").loc["IPS vs SAU"]
    assert row.ci_low > 0
    assert row.ci_low < true_rd < row.ci_high
    # unadjusted Wald SE from the arm proportions (closed form)
    y = synthetic.employed_18m
    p1, n1 = y[synthetic.arm == "IPS"].mean(), (synthetic.arm == "IPS").sum()
    p0, n0 = y[synthetic.arm == "SAU"].mean(), (synthetic.arm == "SAU").sum()
    wald = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert row.se < wald
    assert result.unadjusted_se["IPS"] == pytest.approx(wald, rel=1e-12)
    assert result.se_ratio["IPS"] == pytest.approx(row.se / wald, rel=1e-12)
    frame = result.to_frame()
    rd_row = frame[frame.estimand == "risk_difference"]
    assert rd_row.se_ratio_unadjusted.item() == pytest.approx(row.se / wald, rel=1e-12)
    print(f"\nadjusted (ye) SE {row.se:.5f}, unadjusted Wald SE {wald:.5f}, ratio {row.se / wald:.4f}")


# -------------------------------------------------------------- stratified randomisation (Ye CAR)


def test_ye_strata_se_matches_rerandomisation_sd():
    """Re-randomise the SAME 600 participants 300 times by stratified permuted blocks.

    Potential outcomes: one draw ``Y_i = 1{U_i < expit(η(x_i))}`` serves both arms (no effect for
    anyone), with a strong site effect that the working model (age, sex, employed_prev5y,
    substance_use; no site) does not capture but the site x employed_prev5y blocks balance. With no
    individual effects the randomisation variance of the estimator for fixed participants equals the
    superpopulation variance that Ye et al.'s formula estimates (the finite-population correction
    ``S²(Y(1) - Y(0)) / n`` is zero), so the mean SE estimate must match the empirical SD of the
    estimates. Monte Carlo error of an SD from R = 300 replicates: relative SE ≈ 1/sqrt(2(R-1)) =
    0.041; tolerance 3 x that = 0.123. The simple-randomisation SE (no correction) must fall outside
    that band, so the test detects a missing or wrong correction.
    """
    base = simulate_trial(INKLUSION, n=600, seed=7)[
        ["participant_id", "site", "age", "sex", "employed_prev5y", "substance_use"]
    ]
    rng = np.random.default_rng(11)
    site = base.site.map({"Copenhagen": -1.6, "Frederiksberg": 0.0, "Odense": 1.8}).to_numpy()
    eta = -0.3 + site + 1.0 * base.employed_prev5y - 0.03 * (base.age - 33) - 0.6 * base.substance_use
    base = base.assign(y=(rng.random(len(base)) < 1 / (1 + np.exp(-eta))).astype(int))
    covariates = ["age", "sex", "employed_prev5y", "substance_use"]
    replicates = 300
    estimates, se_car, se_sr = [], [], []
    contrast = np.array([1.0, -1.0])
    for r in range(replicates):
        allocation = stratified_blocks(base[STRATA], ["T", "C"], (2, 4), seed=r)
        result = marginal_effect(
            base.assign(arm=allocation.arms), "y", "arm", "T", "C", covariates, strata=STRATA
        )
        estimates.append(result.contrasts.estimate.item())
        se_car.append(result.contrasts.se.item())
        se_sr.append(np.sqrt(contrast @ result.cov_unstratified @ contrast))
    sd = np.std(estimates, ddof=1)
    tolerance = 3 / np.sqrt(2 * (replicates - 1))
    ratio_car = np.mean(se_car) / sd
    ratio_sr = np.mean(se_sr) / sd
    print(
        f"\nSD {sd:.5f}; mean SE with strata {np.mean(se_car):.5f} ({ratio_car:.3f}); without {ratio_sr:.3f}"
    )
    assert abs(ratio_car - 1) < tolerance
    assert ratio_sr - 1 > tolerance
    assert abs(np.mean(estimates)) < 3 * sd / np.sqrt(replicates)


# ------------------------------------------------------------------------------------ bootstrap


def test_bootstrap_same_seed_same_bits_and_close_to_ye(synthetic):
    first = _run(synthetic, "IPS", variance="bootstrap", seed=20)
    again = _run(synthetic, "IPS", variance="bootstrap", seed=20)
    other = _run(synthetic, "IPS", variance="bootstrap", seed=21, n_boot=200)
    assert np.array_equal(first.replicates, again.replicates)
    pd.testing.assert_frame_equal(first.to_frame(), again.to_frame())
    assert not np.array_equal(first.replicates[:200], other.replicates)
    assert first.replicates.shape == (2000, 2)
    assert first.boot_nonconverged == 0
    ye = _run(synthetic, "IPS")
    se_boot = first.contrasts.se.item()
    se_ye = ye.contrasts.se.item()
    # Both estimate the same simple-randomisation variance. With B = 2000 the Monte Carlo relative
    # SE of a bootstrap SD is 1/sqrt(2(B-1)) = 0.016, 3 x = 0.047; the remaining allowance (to 0.15)
    # covers the O(n^-1/2) finite-sample difference of two consistent estimators with n_a = 240.
    assert abs(se_boot / se_ye - 1) < 0.15
    assert first.means == pytest.approx(ye.means, rel=1e-12)  # the point estimate is not resampled
    low, high = first.contrasts.ci_low.item(), first.contrasts.ci_high.item()
    rd = first.contrasts.estimate.item()
    assert low == pytest.approx(np.quantile(first.replicates[:, 0] - first.replicates[:, 1], 0.025))
    assert low < rd < high


def test_batched_bootstrap_fits_match_statsmodels(synthetic):
    """The vectorised Newton kernel against statsmodels GLM with frequency weights, replicate by replicate."""
    import statsmodels.api as sm

    from ipstrial._inputs import design_matrix

    data = synthetic[synthetic.arm.isin(["IPS", "SAU"])]
    X = np.column_stack(
        [
            np.ones(len(data)),
            (data.arm == "IPS").to_numpy(float),
            design_matrix(data, COVARIATES, data.participant_id),
        ]
    )
    y = data.employed_18m.to_numpy(float)
    arm_index = (data.arm == "SAU").to_numpy(int)
    W = _resampling_weights(arm_index, 5, np.random.default_rng(3))
    assert np.all(W[:, arm_index == 0].sum(axis=1) == np.sum(arm_index == 0))
    start = sm.GLM(y, X, family=sm.families.Binomial()).fit().params
    beta, failed = _weighted_logistic_fits(X, y, W, start)
    assert not failed.any()
    for b in range(len(W)):
        ref = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=W[b]).fit(tol=1e-12).params
        np.testing.assert_allclose(beta[b], ref, rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------------------------ bad input


def test_separation_by_covariate_level(trial):
    data = trial.assign(clinic=np.where(np.arange(len(trial)) % 40 == 0, "small", "big"))
    data.loc[data.clinic == "small", "employed_18m"] = 0
    with pytest.raises(EstimationError, match="separation") as err:
        marginal_effect(data, "employed_18m", "arm", "IPS", "SAU", [*COVARIATES, "clinic"])
    message = str(err.value)
    assert "'clinic' = 'small'" in message
    assert "merge its sparse levels" in message
    assert "compare_proportions" in message


def test_separation_by_arm(trial):
    data = trial.copy()
    data.loc[data.arm == "SAU", "employed_18m"] = 0
    with pytest.raises(EstimationError, match="arm 'SAU': all 240 participants have outcome 0") as err:
        _run(data, "IPS")
    assert "unadjusted analysis" in str(err.value)


def test_separation_by_numeric_covariate(trial):
    data = trial.assign(employed_18m=(trial.age > 40).astype(int))
    with pytest.raises(EstimationError, match="covariate 'age' alone separates the outcomes"):
        _run(data, "IPS")


def test_constant_outcome(trial):
    with pytest.raises(EstimationError, match="every analysed participant has employed_18m = 1") as err:
        _run(trial.assign(employed_18m=1), "IPS")
    assert "compare_proportions" in str(err.value)


def test_single_level_covariate(trial):
    with pytest.raises(TrialDataError, match="column 'country': covariate has a single value"):
        marginal_effect(
            trial.assign(country="DK"), "employed_18m", "arm", "IPS", "SAU", [*COVARIATES, "country"]
        )


def test_missing_covariate(trial):
    data = trial.copy()
    rows = data.index[data.arm == "IPS"][:3]
    data.loc[rows, "age"] = np.nan
    with pytest.raises(TrialDataError, match="column 'age': 3 missing values in a covariate") as err:
        _run(data, "IPS")
    assert all(pid in str(err.value) for pid in data.participant_id[rows])
    assert "impute" in str(err.value)


def test_missing_strata_column(trial):
    data = trial.copy()
    data.loc[data.arm == "SAU", "site"] = None
    with pytest.raises(TrialDataError, match="column 'site': 240 missing values"):
        _run(data, "IPS", strata=STRATA)


def test_collinear_covariates(trial):
    with pytest.raises(EstimationError, match=r"\['age2'\] are linear combinations"):
        marginal_effect(
            trial.assign(age2=2 * trial.age), "employed_18m", "arm", "IPS", "SAU", [*COVARIATES, "age2"]
        )


def test_missing_outcome_policy(trial):
    data = trial.copy()
    rows = data.index[data.arm == "SAU"][:2]
    data.loc[rows, "employed_18m"] = np.nan
    with pytest.raises(TrialDataError, match="2 missing outcome values"):
        _run(data, "IPS")
    result = _run(data, "IPS", missing="complete-case")
    frame = result.to_frame().set_index(["contrast", "estimand", "scale"])
    assert result.excluded == {"IPS": 0, "SAU": 2}
    assert frame.loc[("SAU", "proportion", "marginal"), "excluded"] == 2
    assert frame.loc[("IPS vs SAU", "risk_difference", "marginal"), "excluded"] == 2
    assert frame.loc[("IPS vs SAU", "risk_difference", "marginal"), "n"] == 477
    assert "complete case: 2 participants" in frame.loc[("SAU", "proportion", "marginal"), "method"]


def test_bad_arguments(trial):
    with pytest.raises(ValueError, match="strata= is used only by variance='ye'"):
        _run(trial, "IPS", variance="ge", strata=STRATA)
    with pytest.raises(ValueError, match="contrast="):
        _run(trial, "IPS", contrast="hazard_ratio")
    with pytest.raises(ValueError, match="variance="):
        _run(trial, "IPS", variance="hc3")
    with pytest.raises(ValueError, match="n_boot"):
        _run(trial, "IPS", variance="bootstrap", n_boot=1)
