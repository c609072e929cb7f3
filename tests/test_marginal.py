"""Tests for :mod:`ipstrial.itt.marginal` (covariate-adjusted marginal effects, binary outcome).

References:

* ``tests/reference/marginal_multiarm.json`` (``marginal_multiarm.R``): RobinCar2's ``robin_glm`` with
  ``vcov = "vcovG"``, ``decompose = TRUE`` and ``FALSE``, on the synthetic trial and on a simulated
  three-arm trial (``tests/reference/data/multiarm_binary.csv``), with the working model on all three
  arms and restricted to two, with and without stratified permuted blocks;
* ``tests/reference/marginal_effects.json`` (``marginal_effects.R``): R's glm, sandwich::sandwich HC0 and
  an independent R implementation of the Ge et al. (2011) and Ye et al. (2023, residual form) variances;
* the exact truths of the synthetic trial; a re-randomisation simulation; statsmodels weighted GLM fits
  for the batched bootstrap kernel.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from conftest import COVARIATES, REFERENCE

from ipstrial._inputs import design_matrix
from ipstrial._random import resolved_streams
from ipstrial.errors import EstimationError, MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.itt.marginal import marginal_effect
from ipstrial.randomization import stratified_blocks
from ipstrial.resampling import bootstrap_counts, counts_in_data_order
from ipstrial.synthetic import INKLUSION, simulate_trial

EFFECTS = json.loads((REFERENCE / "marginal_effects.json").read_text())
MULTIARM = json.loads((REFERENCE / "marginal_multiarm.json").read_text())
SIMULATED = pd.read_csv(REFERENCE / "data" / "multiarm_binary.csv")
STRATA = ["site", "employed_prev5y"]
RTOL = 1e-6
RTOL_ROBINCAR2 = 1e-12  # achieved: 2e-14 (theta, vcov, contrasts, p-values, limits)


def _run(data, treatment, **kwargs):
    return marginal_effect(data, "employed_18m", "arm", treatment, "SAU", covariates=COVARIATES, **kwargs)


# ------------------------------------------------------------------- RobinCar2 (multi-arm) agreement

#: RobinCar2's contrasts as ipstrial reports them: the risk difference, and the ratios with their
#: standard errors on the log scale and exponentiated Wald limits ("log_risk_ratio", "log_odds_ratio").
ROBINCAR2_CONTRASTS = {
    "risk_difference": "difference",
    "risk_ratio": "log_risk_ratio",
    "odds_ratio": "log_odds_ratio",
}
VARIANCE = {"decompose_true": "ye", "decompose_false": "ye-residual"}
ANALYSES = (
    [
        ("inklusion", name)
        for name in (
            "three_arm",
            "two_arm_ips",
            "two_arm_ipse",
            "three_arm_pb_site",
            "three_arm_pb_site_prev5y",
        )
    ]
    + [("inklusion", "two_arm_ips_pb_site")]
    + [("simulated", name) for name in ("three_arm", "two_arm_a", "two_arm_b", "three_arm_pb_stratum")]
)
# not tested: three_arm_ps_site (RobinCar2's Pocock-Simon schema, whose residual correction within strata
# ipstrial does not implement)


def _robincar2_call(dataset, name, contrast, key, treatments=None):
    entry = MULTIARM[dataset][name]
    data = (
        SIMULATED if dataset == "simulated" else pd.read_csv(REFERENCE.parents[1] / MULTIARM[dataset]["data"])
    )
    strata = entry["randomization"]["strata"]
    three = len(entry["working_model_arms"]) == 3
    result = marginal_effect(
        data,
        entry["outcome"],
        "arm",
        list(entry["treatments"]) if treatments is None else treatments,
        entry["control"],
        covariates=entry["covariates"],
        strata=strata or None,
        contrast=contrast,
        variance=VARIANCE[key],
        model_arms="all" if three else "compared",  # the two-arm entries restrict the working model
        id="participant_id",
    )
    return entry, result


def _assert_close(got, want, what, rtol=RTOL_ROBINCAR2):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=what)


@pytest.mark.parametrize("key", sorted(VARIANCE))
@pytest.mark.parametrize("contrast", sorted(ROBINCAR2_CONTRASTS))
@pytest.mark.parametrize(("dataset", "name"), ANALYSES, ids=[f"{d}-{n}" for d, n in ANALYSES])
def test_agrees_with_robincar2(dataset, name, contrast, key):
    entry, result = _robincar2_call(dataset, name, contrast, key)
    ref = entry["variances"][key]
    arms = entry["arms"]  # control first
    assert tuple(result.working_model_arms) == tuple(sorted(arms, key=(lambda a: a == entry["control"])))
    assert result.n == entry["n"]
    order = [arms.index(a) for a in result.arms]
    _assert_close(result.means, [entry["theta"][a] for a in result.arms], "theta")
    V = np.array(ref["vcov"])[np.ix_(order, order)]
    _assert_close(result.cov, V, "vcov")
    frame = result.to_frame().set_index(["contrast", "estimand", "variant"])
    for a, i in zip(result.arms, order, strict=True):
        row = frame.loc[(a, "proportion", "")]
        _assert_close(
            [row.se, row.ci_low, row.ci_high], [ref["se"][i], ref["ci_low"][i], ref["ci_high"][i]], a
        )
    coefficients = result.coefficients.set_index("term")
    _assert_close(
        coefficients.loc[entry["glm"]["term"], "estimate"], entry["glm"]["estimate"], "coefficients"
    )
    # R's summary.glm takes the weights of its last IRLS step (μ of the step before), 2e-9 relative away
    # from the information at the converged β that ipstrial uses
    _assert_close(
        coefficients.loc[entry["glm"]["term"], "se"], entry["glm"]["se"], "coefficient se", rtol=1e-8
    )
    for want in ref["contrasts"][ROBINCAR2_CONTRASTS[contrast]]:
        row = frame.loc[(want["contrast"], contrast, "")]
        if contrast == "risk_difference":
            _assert_close([row.estimate, row.se], [want["estimate"], want["se"]], want["contrast"])
        else:  # log scale: the ratio, the se of its log, exponentiated Wald limits
            _assert_close([row.estimate, row.se], [want["ratio"], want["se"]], want["contrast"])
            # RobinCar2's ratio-scale contrast (delta method on the ratio): se = ratio x se of the log
            ratio_scale = entry["variances"][key]["contrasts"][contrast]
            same = next(r for r in ratio_scale if r["contrast"] == want["contrast"])
            _assert_close(row.estimate * row.se, same["se"], "ratio-scale se")
        _assert_close(
            [row.p_value, row.ci_low, row.ci_high],
            [want["p_value"], want["ci_low"], want["ci_high"]],
            "p, CI",
        )


@pytest.mark.parametrize("key", sorted(VARIANCE))
@pytest.mark.parametrize("name", ["three_arm", "three_arm_pb_site"])
def test_one_contrast_of_a_three_arm_trial_averages_over_every_arm(name, key):
    # IPS vs SAU alone: by default the working model is still fitted on all three arms, so theta and the
    # variance are those of the three-arm RobinCar2 fit, the IPS and SAU block of it
    entry, result = _robincar2_call("inklusion", name, "risk_difference", key, treatments="IPS")
    ref = entry["variances"][key]
    order = [entry["arms"].index(a) for a in ("IPS", "SAU")]
    assert result.arms == ("IPS", "SAU") and result.working_model_arms == ("IPS", "IPSE", "SAU")
    assert result.n == 720 and result.inputs.outside == {}
    _assert_close(result.means, [entry["theta"]["IPS"], entry["theta"]["SAU"]], "theta")
    _assert_close(result.cov, np.array(ref["vcov"])[np.ix_(order, order)], "vcov")
    want = next(r for r in ref["contrasts"]["difference"] if r["contrast"] == "IPS vs SAU")
    got = result.contrasts.iloc[0]
    _assert_close(
        [got.estimate, got.se, got.p_value], [want["estimate"], want["se"], want["p_value"]], "contrast"
    )
    assert "every randomised arm" in result.summary()


def test_decompose_and_residual_forms_differ_only_in_the_prediction_variance():
    # d_a(decompose) - d_a(residual) = [Σ_aa - var_a(μ̂_a)] / π_a: the diagonal only, by a small amount
    entry, ye = _robincar2_call("inklusion", "three_arm", "risk_difference", "decompose_true")
    _, residual = _robincar2_call("inklusion", "three_arm", "risk_difference", "decompose_false")
    difference = ye.cov - residual.cov
    assert np.allclose(difference - np.diag(np.diag(difference)), 0, atol=1e-15)
    assert 0 < np.max(np.abs(np.diag(difference)) / np.diag(ye.cov)) < 0.01


# ------------------------------------------------------------------------------------- R agreement

R_VARIANCES = {"ye": {"variance": "ye-residual"}, "ye_strata": {"variance": "ye-residual", "strata": STRATA}}
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
def test_agrees_with_r(frame, fit, treatment, key, estimand):
    # marginal_effects.R fits the working model on the compared arms; its "ye" is the residual form
    ref = EFFECTS[fit]
    result = _run(frame, treatment, contrast=estimand, model_arms="compared", **R_VARIANCES[key])
    assert list(result.arms) == ref["arms"]
    assert result.n == ref["n"]
    np.testing.assert_allclose(result.means, [ref["theta"][a] for a in ref["arms"]], rtol=RTOL)
    expected = ref["variances"][key]
    np.testing.assert_allclose(result.cov, np.array(expected["cov"]), rtol=RTOL)
    np.testing.assert_allclose(result.se, expected["se"], rtol=RTOL)
    frame_ = result.to_frame()
    proportions = frame_[frame_.estimand == "proportion"].set_index("contrast")
    np.testing.assert_allclose(proportions.loc[ref["arms"], "se"], expected["se"], rtol=RTOL)
    contrasts = result.contrasts.set_index("contrast")
    for label, want in expected["contrasts"][estimand].items():
        got = contrasts.loc[label]
        for column in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            assert got[column] == pytest.approx(want[column], rel=RTOL), (label, column)
        row = frame_[
            (frame_.contrast == label) & (frame_.estimand == estimand) & (frame_.scale == "marginal")
        ]
        assert len(row) == 1
        assert row.estimate.iloc[0] == pytest.approx(want["estimate"], rel=RTOL)
        assert row.se.iloc[0] == pytest.approx(want["se"], rel=RTOL)


@pytest.mark.parametrize("fit", ["two_arm", "three_arm"])
def test_coefficients_and_conditional_odds_ratio_agree_with_r(frame, fit):
    ref = EFFECTS[fit]
    treatment = "IPS" if fit == "two_arm" else ["IPS", "IPSE"]
    result = _run(frame, treatment, model_arms="compared")
    coefs = result.coefficients
    assert list(coefs.term) == ref["coefficients"]["term"]
    for column in ("estimate", "se", "se_hc0"):
        np.testing.assert_allclose(coefs[column], ref["coefficients"][column], rtol=RTOL)
    frame_ = result.to_frame()
    conditional = frame_[frame_.scale == "conditional"].set_index("contrast")
    assert set(conditional.estimand) == {"odds_ratio"} and set(conditional.variant) == {"conditional"}
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
    result = marginal_effect(trial, "employed_18m", covariates=COVARIATES, contrast="odds_ratio")
    json.dumps(result.to_dict(), allow_nan=False)
    assert "IPSE vs SAU" in result.summary()
    frame = result.to_frame()
    assert list(frame.estimand) == ["proportion"] * 3 + ["odds_ratio"] * 4
    assert list(frame.contrast[:3]) == ["IPS", "IPSE", "SAU"]
    assert list(frame.scale) == ["marginal"] * 5 + ["conditional"] * 2
    # the marginal and the conditional odds ratio of one contrast: one key each
    assert list(frame.variant) == [""] * 5 + ["conditional"] * 2
    assert not frame.duplicated(["analysis", "outcome", "contrast", "estimand", "variant"]).any()
    assert all(frame.method[:5].str.contains("g-computation"))
    assert list(frame.n[:3]) == [239, 241, 240]
    assert list(frame.se_scale[3:]) == ["log"] * 4


def test_compared_model_leaves_the_other_arm_outside(frame):
    result = _run(frame, "IPS", model_arms="compared")
    assert result.working_model_arms == ("IPS", "SAU") and result.n == 479
    assert result.inputs.outside == {"IPSE": 241}
    assert "Not in this analysis: 241 rows of other arms (IPSE 241)." in result.summary()


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


# -------------------------------------------------------------- stratified randomisation (Ye CAR)


@pytest.mark.parametrize("variance", ["ye", "ye-residual"])
def test_ye_strata_se_matches_rerandomisation_sd(variance):
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
            base.assign(arm=allocation.arms),
            "y",
            "arm",
            "T",
            "C",
            covariates=covariates,
            strata=STRATA,
            variance=variance,
        )
        estimates.append(result.contrasts.estimate.item())
        se_car.append(result.contrasts.se.item())
        se_sr.append(np.sqrt(contrast @ result.cov_unstratified @ contrast))
    sd = np.std(estimates, ddof=1)
    tolerance = 3 / np.sqrt(2 * (replicates - 1))
    ratio_car = np.mean(se_car) / sd
    ratio_sr = np.mean(se_sr) / sd
    assert abs(ratio_car - 1) < tolerance
    assert ratio_sr - 1 > tolerance
    assert abs(np.mean(estimates)) < 3 * sd / np.sqrt(replicates)


# ------------------------------------------------------------------------------------ bootstrap


def test_bootstrap_same_seed_same_bits_and_close_to_ye(synthetic):
    first = _run(synthetic, "IPS", variance="bootstrap", seed=20)
    again = _run(synthetic, "IPS", variance="bootstrap", seed=20)
    other = _run(synthetic, "IPS", variance="bootstrap", seed=21, n_resamples=200)
    assert np.array_equal(first.replicates, again.replicates)
    pd.testing.assert_frame_equal(first.to_frame(), again.to_frame())
    assert not np.array_equal(first.replicates[:200], other.replicates)
    assert first.replicates.shape == (2000, 2)
    assert first.failed == 0 and first.seed_entropy == 20
    # seed=None records the entropy actually used: it regenerates the same bits
    fresh = _run(synthetic, "IPS", variance="bootstrap", n_resamples=50)
    assert fresh.seed_entropy is not None
    replay = _run(synthetic, "IPS", variance="bootstrap", n_resamples=50, seed=fresh.seed_entropy)
    assert np.array_equal(fresh.replicates, replay.replicates)
    frame = first.to_frame()
    assert set(frame[frame.scale == "marginal"].variant) == {"bootstrap"}
    assert set(frame.seed_entropy.dropna()) == {"20"}
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


@pytest.mark.parametrize("model_arms", ["all", "compared"])
def test_bootstrap_replicates_match_statsmodels_refits(synthetic, model_arms):
    """The chunked, batched Newton kernel against statsmodels GLM with the same frequency weights."""
    import statsmodels.api as sm
    from scipy.special import expit

    seed, n_resamples = 5, 4
    result = _run(
        synthetic, "IPS", variance="bootstrap", seed=seed, n_resamples=n_resamples, model_arms=model_arms
    )
    arms = result.working_model_arms
    data = synthetic[synthetic.arm.isin(arms)]  # the analysed rows, in data order
    codes = pd.Index(arms).get_indexer(data.arm)
    treatments = [a for a in arms if a != "SAU"]
    X = np.column_stack(
        [
            np.ones(len(data)),
            *[(data.arm == t).to_numpy(float) for t in treatments],
            design_matrix(data, COVARIATES),
        ]
    )
    y = data.employed_18m.to_numpy(float)
    (rng,), _ = resolved_streams(seed, 1)
    W = counts_in_data_order(
        bootstrap_counts([int(np.sum(codes == g)) for g in range(len(arms))], n_resamples, rng), codes
    )
    for b in range(n_resamples):
        beta = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=W[b]).fit(tol=1e-12).params
        theta = []
        for a in ("IPS", "SAU"):
            Xa = X.copy()
            Xa[:, 1 : 1 + len(treatments)] = [float(a == t) for t in treatments]
            theta.append(np.sum(W[b] * expit(Xa @ beta)) / len(y))
        np.testing.assert_allclose(result.replicates[b], theta, rtol=1e-9)


# ------------------------------------------------------------------------------------ bad input


def test_separation_by_covariate_level(frame):
    data = frame.assign(clinic=np.where(np.arange(len(frame)) % 40 == 0, "small", "big"))
    data.loc[data.clinic == "small", "employed_18m"] = 0
    with pytest.raises(EstimationError, match="separation") as err:
        marginal_effect(data, "employed_18m", "arm", "IPS", "SAU", covariates=[*COVARIATES, "clinic"])
    message = str(err.value)
    assert "'clinic' = 'small'" in message
    assert "merge its sparse levels" in message
    assert "compare_proportions" in message


def test_separation_by_arm(data):
    data.loc[data.arm == "SAU", "employed_18m"] = 0
    with pytest.raises(EstimationError, match="arm 'SAU': all 240 participants have outcome 0") as err:
        _run(data, "IPS")
    assert "unadjusted analysis" in str(err.value)


def test_separation_by_numeric_covariate(frame):
    data = frame.assign(employed_18m=(frame.age > 40).astype(int))
    with pytest.raises(EstimationError, match="covariate 'age' alone separates the outcomes"):
        _run(data, "IPS")


def test_large_intercept_is_not_mistaken_for_separation(frame):
    # a covariate on a calendar scale gives an intercept far above 50: not a sign of separation
    shifted = frame.assign(year=2010 + (frame.age - 18) / 4)
    result = marginal_effect(shifted, "employed_18m", "arm", "IPS", "SAU", covariates=["year", "sex"])
    plain = marginal_effect(
        shifted.assign(year=shifted.year - 2010),
        "employed_18m",
        "arm",
        "IPS",
        "SAU",
        covariates=["year", "sex"],
    )
    assert abs(result.coefficients.estimate.iloc[0]) > 50
    np.testing.assert_allclose(result.means, plain.means, rtol=1e-10)


def test_constant_outcome(frame):
    with pytest.raises(EstimationError, match="every analysed participant has employed_18m = 1") as err:
        _run(frame.assign(employed_18m=1), "IPS")
    assert "compare_proportions" in str(err.value)


def test_single_level_covariate(frame):
    with pytest.raises(TrialDataError, match="column 'country': covariate has a single value"):
        marginal_effect(
            frame.assign(country="DK"),
            "employed_18m",
            "arm",
            "IPS",
            "SAU",
            covariates=[*COVARIATES, "country"],
        )


def test_missing_covariate(data):
    rows = data.index[data.arm == "IPS"][:3]
    data.loc[rows, "age"] = np.nan
    with pytest.raises(TrialDataError, match="column 'age': 3 missing values in a covariate") as err:
        _run(data, "IPS", id="participant_id")
    assert all(pid in str(err.value) for pid in data.participant_id[rows])
    assert "impute" in str(err.value)


def test_missing_strata_column(data):
    data.loc[data.arm == "SAU", "site"] = None
    with pytest.raises(TrialDataError, match="column 'site': 240 missing values"):
        _run(data, "IPS", strata=STRATA)


def test_strata_is_one_column(frame):
    one = _run(frame, "IPS", strata="site")
    assert one.strata == ("site",)
    listed = _run(frame, "IPS", strata=["site"])
    np.testing.assert_array_equal(one.cov, listed.cov)


def test_collinear_covariates(frame):
    with pytest.raises(EstimationError, match=r"\['age2'\] are linear combinations"):
        marginal_effect(
            frame.assign(age2=2 * frame.age),
            "employed_18m",
            "arm",
            "IPS",
            "SAU",
            covariates=[*COVARIATES, "age2"],
        )


def test_missing_outcome_policy(data):
    rows = data.index[data.arm == "SAU"][:2]
    data.loc[rows, "employed_18m"] = np.nan
    with pytest.raises(TrialDataError, match="2 missing outcome values"):
        _run(data, "IPS")
    result = _run(data, "IPS", missing="complete-case")
    frame = result.to_frame().set_index(["contrast", "estimand", "variant"])
    assert result.inputs.excluded == {"IPS": 0, "IPSE": 0, "SAU": 2}
    assert frame.loc[("SAU", "proportion", ""), "excluded"] == 2
    assert frame.loc[("IPS vs SAU", "risk_difference", ""), "excluded"] == 2
    assert frame.loc[("IPS vs SAU", "risk_difference", ""), "n"] == 477
    assert "Excluded (complete-case): 2 participants with missing employed_18m" in result.summary()


def test_bad_arguments(frame):
    with pytest.raises(ParameterError, match="strata= is used only by variance='ye' or 'ye-residual'"):
        _run(frame, "IPS", variance="ge", strata=STRATA)
    with pytest.raises(ParameterError, match="contrast must be one of"):
        _run(frame, "IPS", contrast="hazard_ratio")
    with pytest.raises(ParameterError, match="variance must be one of"):
        _run(frame, "IPS", variance="hc3")
    with pytest.raises(ParameterError, match="model_arms must be one of 'all', 'compared'"):
        _run(frame, "IPS", model_arms="both")
    with pytest.raises(ParameterError, match="n_resamples must be a whole number at least 2"):
        _run(frame, "IPS", variance="bootstrap", n_resamples=1)
    with pytest.raises(TypeError, match="covariates"):
        marginal_effect(frame, "employed_18m", "arm", "IPS", "SAU")  # covariates are required


@pytest.mark.parametrize("variance", ["ye", "ye-residual", "ge", "ge-model"])
@pytest.mark.parametrize("given", [{"seed": 3}, {"n_resamples": 500}, {"seed": 3, "n_resamples": 500}])
def test_seed_and_n_resamples_are_refused_without_the_bootstrap(frame, variance, given):
    # an argument given explicitly is never ignored: the analytic variances draw nothing
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(given.items(), key=lambda kv: kv[0] != "n_resamples"))
    with pytest.raises(
        ParameterError,
        match=rf"n_resamples and seed apply to variance='bootstrap'; got {shown}, but variance='{variance}'",
    ):
        _run(frame, "IPS", variance=variance, **given)


@pytest.mark.parametrize("seed", ["x", -1, 1.5, float("nan"), True])
@pytest.mark.parametrize("variance", ["ye", "bootstrap"])
def test_bad_seed_is_refused_whatever_the_variance(frame, seed, variance):
    with pytest.raises(ParameterError, match="seed must be a non-negative int"):
        _run(frame, "IPS", variance=variance, seed=seed)


@pytest.mark.parametrize("n_resamples", [1, 2.5, "2000", True, float("nan")])
def test_bad_n_resamples_is_refused_whatever_the_variance(frame, n_resamples):
    for variance in ("ye", "bootstrap"):
        with pytest.raises(ParameterError, match="n_resamples must be a whole number at least 2"):
            _run(frame, "IPS", variance=variance, n_resamples=n_resamples)


def test_n_resamples_defaults_to_2000_for_the_bootstrap_and_is_bounded_by_memory(frame):
    assert _run(frame, "IPS").n_resamples is None
    assert inspect.signature(marginal_effect).parameters["n_resamples"].default is None
    with pytest.raises(MemoryBudgetError, match=r"marginal_effect with n_resamples=1000000000000"):
        _run(frame, "IPS", variance="bootstrap", n_resamples=10**12, seed=1)


@pytest.mark.parametrize(
    "options",
    [
        {"strata": "arm"},
        {"strata": ["site", "arm"], "covariates": ["age"]},
        {"covariates": ["employed_18m"]},
        {"covariates": ["age", "arm"]},
    ],
)
def test_arm_or_outcome_as_strata_or_covariate_is_refused(frame, options):
    options = {"covariates": COVARIATES} | options
    clash = r"lists '(arm|employed_18m)', which is (the arm column|an outcome)"
    with pytest.raises(ParameterError, match=clash):
        marginal_effect(frame, "employed_18m", "arm", "IPS", "SAU", **options)


def test_separation_by_a_level_of_one_participant_is_worded_in_the_singular(data):
    data["g"] = "common"
    data.loc[data.index[(data.arm == "IPS") & (data.employed_18m == 1)][0], "g"] = "rare"
    with pytest.raises(EstimationError, match="covariate 'g' = 'rare': the 1 participant has outcome 1"):
        marginal_effect(data, "employed_18m", "arm", "IPS", "SAU", covariates=["g"])


def test_a_problem_in_an_arm_outside_the_contrast_says_why_that_arm_is_checked(frame):
    data = frame.copy()
    data.loc[data.index[data.arm == "IPSE"][:3], "employed_18m"] = np.nan
    with pytest.raises(
        TrialDataError, match=r"IPSE 3.*model_arms='all'.*model_arms='compared' fits it on IPS, SAU"
    ):
        marginal_effect(data, "employed_18m", "arm", "IPS", "SAU", covariates=["age"], id="participant_id")
    restricted = marginal_effect(
        data,
        "employed_18m",
        "arm",
        "IPS",
        "SAU",
        covariates=["age"],
        id="participant_id",
        model_arms="compared",
    )
    assert dict(restricted.inputs.outside) == {"IPSE": 241}
