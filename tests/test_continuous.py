"""Tests of ipstrial.resampling and of the hours and weeks estimators of ipstrial.itt.

(compare_means, adjusted_mean_difference: ipstrial.itt.means; two_part: ipstrial.itt.two_part;
rate_ratio: ipstrial.itt.counts; hodges_lehmann: ipstrial.itt.rank.)

References: R 4.2 output in tests/reference/continuous.json, made by tests/reference/continuous.R
(t.test, lm + sandwich::vcovHC, MASS::glm.nb and the NB2 maximum likelihood, wilcox.test, glm
binomial / Gamma(log) and g-computation), closed forms, and the exact truths of the synthetic trial.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import COVARIATES as COVS
from conftest import REFERENCE

from ipstrial import itt, resampling
from ipstrial._inputs import prepare
from ipstrial._random import resolved_streams
from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.itt._common import model_matrix
from ipstrial.synthetic import INKLUSION, simulate_trial

REF = json.loads((REFERENCE / "continuous.json").read_text())
ARMS = ["IPS", "IPSE"]
REL = 1e-6


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    return simulate_trial(n=60_000, seed=20240607, complete=True)


def close(actual: float, expected: float, rel: float = REL, abs_: float = 0.0) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


def row(result, contrast: str, estimand: str, method_start: str = "") -> pd.Series:
    frame = result.to_frame()
    hit = frame[(frame.contrast == contrast) & (frame.estimand == estimand)]
    hit = hit[hit.method.str.startswith(method_start)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def r_names(index: pd.Index) -> list[str]:
    """ipstrial's coefficient names in R's spelling: 'arm:IPS' -> 'armIPS'."""
    return [name.replace(":", "") for name in index]


# --------------------------------------------------------------------------------------- resampling


def test_counts_layout_and_same_bits() -> None:
    counts = resampling.bootstrap_counts([5, 7], 300, seed=11)
    assert [c.shape for c in counts] == [(300, 5), (300, 7)]
    assert all(c.dtype.kind == "i" for c in counts)
    assert np.all(counts[0].sum(axis=1) == 5) and np.all(counts[1].sum(axis=1) == 7)
    again = resampling.bootstrap_counts([5, 7], 300, seed=11)
    assert all(np.array_equal(a, b) for a, b in zip(counts, again, strict=True))
    other = resampling.bootstrap_counts([5, 7], 300, seed=12)
    assert not np.array_equal(counts[0], other[0])
    # a group's counts depend only on the seed and its position: adding a group changes nothing before it
    three = resampling.bootstrap_counts([5, 7, 3], 300, seed=11)
    assert np.array_equal(three[0], counts[0]) and np.array_equal(three[1], counts[1])


def test_counts_are_documented_draws() -> None:
    # the documented definition: row b counts the n indices drawn by Generator.integers from the group's
    # spawned stream, as one call of shape (n_boot, n) (blocks of replicates give the same numbers)
    from ipstrial._random import streams

    n, n_boot = 300, 2000  # 2000 x 300 > one block of 2**18 counts
    counts = resampling.bootstrap_counts([4, n], n_boot, seed=3)[1]
    drawn = streams(3, 2)[1].integers(0, n, size=(n_boot, n))
    expected = np.stack([np.bincount(r, minlength=n) for r in drawn])
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(resampling.bootstrap_counts([4, n], 10, seed=3)[1], counts[:10])


def test_counts_are_multinomial() -> None:
    # each count is Binomial(n, 1/n): mean 1, variance 1 - 1/n (closed form)
    n, n_boot = 40, 20_000
    counts = resampling.bootstrap_counts([n], n_boot, seed=3)[0]
    mean_se = math.sqrt((1 - 1 / n) / (n_boot * n))  # replicates are independent; rows sum to n
    assert abs(counts.mean() - 1) < 4 * mean_se + 1e-12
    var = counts.var(axis=0, ddof=1).mean()
    # SD of a sample variance of Binomial counts over n_boot draws, averaged over n (dependent) columns
    assert abs(var - (1 - 1 / n)) < 4 * math.sqrt(2 / n_boot)


def test_bootstrap_means_match_counts_and_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    values = [rng.gamma(2.0, 50.0, 31), rng.gamma(2.0, 40.0, 17)]
    means = resampling.bootstrap_means(values, 500, seed=9)
    counts = resampling.bootstrap_counts([31, 17], 500, seed=9)
    expected = np.column_stack([c @ v / v.size for c, v in zip(counts, values, strict=True)])
    np.testing.assert_allclose(means, expected, rtol=1e-13)
    # chunks of 3 and 5 replicates draw the same counts (one different count would move a mean by
    # about 1e-2); only the floating-point summation order of the matrix product may differ
    monkeypatch.setattr(resampling, "CHUNK_BYTES", 800)  # chunks of 100 counts
    np.testing.assert_allclose(resampling.bootstrap_means(values, 500, seed=9), means, rtol=1e-13)


def test_bootstrap_mean_moments_closed_form() -> None:
    # E*[ȳ*] = ȳ and Var*(ȳ*) = s²(n-1)/n² exactly (Efron & Tibshirani 1993, sec. 6.3)
    y = np.random.default_rng(1).exponential(10.0, 25)
    n_boot = 40_000
    means = resampling.bootstrap_means([y], n_boot, seed=2)[:, 0]
    sd = math.sqrt(np.var(y, ddof=1) * (y.size - 1) / y.size**2)
    assert abs(means.mean() - y.mean()) < 4 * sd / math.sqrt(n_boot)
    assert abs(means.std(ddof=1) / sd - 1) < 4 / math.sqrt(2 * (n_boot - 1)) * 1.2  # skewed: allow kurtosis


def test_percentile_interval_type7() -> None:
    # Hyndman-Fan type 7 on 1..100: position 1 + 99 p -> 3.475 and 97.525
    low, high = resampling.percentile_interval(np.arange(1.0, 101.0), 0.05)
    assert low == pytest.approx(3.475, abs=1e-12) and high == pytest.approx(97.525, abs=1e-12)
    lows, highs = resampling.percentile_interval(np.column_stack([np.arange(1.0, 101.0)] * 2), 0.1)
    np.testing.assert_allclose(lows, 1 + 99 * 0.05)
    np.testing.assert_allclose(highs, 1 + 99 * 0.95)
    with pytest.raises(ValueError, match="missing or infinite"):
        resampling.percentile_interval([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        resampling.percentile_interval([1.0, 2.0], 1.5)


def test_counts_in_data_order() -> None:
    counts = [np.array([[2, 0], [1, 1]]), np.array([[0, 1, 2], [3, 0, 0]])]
    out = resampling.counts_in_data_order(counts, np.array([1, 0, 1, 1, 0]))
    np.testing.assert_array_equal(out, [[0, 2, 1, 2, 0], [3, 1, 0, 0, 1]])
    with pytest.raises(ValueError, match="shape"):
        resampling.counts_in_data_order(counts, np.array([1, 0, 1, 0, 0]))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_resampling_input_errors(bad: object) -> None:
    with pytest.raises(ValueError, match="n_resamples"):
        resampling.bootstrap_counts([3], bad, seed=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="group size"):
        resampling.bootstrap_counts([3, bad], 10, seed=1)  # type: ignore[list-item]


# ------------------------------------------------------------------------------------ R agreement


def test_welch_and_t_means_match_r(trial) -> None:
    result = itt.compare_means(trial, "hours_18m", n_resamples=200, seed=1, missing="complete-case")
    for arm in ("IPS", "IPSE", "SAU"):
        ref, got = REF[f"mean_{arm}"], row(result, arm, "mean")
        assert got.n == ref["n"]
        for value, expected in zip(
            (got.estimate, got.se, got.ci_low, got.ci_high), (ref["mean"], ref["se"], *ref["ci"]), strict=True
        ):
            assert close(value, expected)
    for arm in ARMS:
        ref, got = REF[f"welch_{arm}"], row(result, f"{arm} vs SAU", "mean_difference", "Welch")
        assert got.method == "Welch" and got.variant == ""
        assert close(got.estimate, ref["difference"]) and close(got.se, ref["se"])
        assert close(got.ci_low, ref["ci"][0]) and close(got.ci_high, ref["ci"][1])
        assert close(got.df, ref["df"]) and close(got.p_value, ref["p"])
        assert got.n == ref["n_treatment"] + ref["n_control"]
        twin = row(result, f"{arm} vs SAU", "mean_difference", "bootstrap")
        assert twin.variant == "bootstrap" and twin.estimate == got.estimate


@pytest.mark.parametrize("hc", ["HC0", "HC3"])
def test_adjusted_mean_difference_matches_r(trial, hc: str) -> None:
    both = itt.adjusted_mean_difference(trial, "hours_18m", covariates=COVS, hc=hc, missing="complete-case")
    pair = itt.adjusted_mean_difference(
        trial, "hours_18m", treatment="IPS", covariates=COVS, hc=hc, missing="complete-case"
    )
    for result, ref, arms in ((both, REF["lm_all"], ARMS), (pair, REF["lm_pair"], ["IPS"])):
        assert result.df_residual == ref["df_residual"]
        for arm in arms:
            got = row(result, f"{arm} vs SAU", "mean_difference")
            assert close(got.estimate, ref[arm]["estimate"])
            assert close(got.se, ref[arm][f"se_{hc}"])
            if hc == "HC3":
                assert close(got.p_value, ref[arm]["p_HC3"])


def test_rate_ratio_matches_nb_maximum_likelihood(trial) -> None:
    # glm.nb itself fails on these data (see continuous.R); the reference is the same ML found in R by
    # the root of the profile score, then the glm with theta fixed and vcovHC(type = "HC0")
    result = itt.rate_ratio(trial, "weeks_employed_18m", covariates=COVS)
    ref = REF["nb_profile_all"]
    assert close(result.theta, ref["theta"]) and close(result.loglik, ref["loglik"])
    coefficients = result.coefficients.set_axis(r_names(result.coefficients.index))
    for name, value in ref["coefficients"].items():
        assert close(coefficients.coef[name], value)
        assert close(coefficients.se_HC0[name], ref["se_HC0_all"][name])
    for arm in ARMS:
        got = row(result, f"{arm} vs SAU", "rate_ratio")
        assert close(got.log_rate_ratio, ref[arm]["estimate"]) and close(
            got.estimate, math.exp(ref[arm]["estimate"])
        )
        assert close(got.se, ref[arm]["se_HC0"]) and close(got.se_model, ref[arm]["se_model"])
        z = 1.959963984540054
        assert close(got.ci_low, math.exp(ref[arm]["estimate"] - z * ref[arm]["se_HC0"]))
    # glm.nb's own (failed) answer has a far lower likelihood than the maximum found here
    assert result.loglik > REF["nb_glmnb_all"]["loglik"] + 1000


@pytest.mark.parametrize("control", ["default", "tight"])
def test_rate_ratio_matches_glm_nb(frame, control: str) -> None:
    # where glm.nb converges (participants with weeks > 0), the same numbers to 1e-6, also at its default
    # convergence criterion
    positive = frame[frame.weeks_employed_18m > 0]
    result = itt.rate_ratio(positive, "weeks_employed_18m", "arm", ARMS, "SAU", covariates=COVS)
    ref = REF[f"nb_glmnb_positive_{control}"]
    assert close(result.theta, ref["theta"]) and close(result.theta_se, ref["se_theta"])
    assert close(result.loglik, ref["loglik"])
    for arm in ARMS:
        got = row(result, f"{arm} vs SAU", "rate_ratio")
        assert close(got.log_rate_ratio, ref[arm]["estimate"])
        assert close(got.se, ref[arm]["se_HC0"]) and close(got.se_model, ref[arm]["se_model"])


def test_hodges_lehmann_matches_wilcox_test(trial) -> None:
    result = itt.hodges_lehmann(trial, "hours_18m", missing="complete-case")
    for arm in ARMS:
        ref, got = REF[f"wilcox_{arm}"], row(result, f"{arm} vs SAU", "median_difference")
        # R's roots of the step function are where Brent's method stops (e.g. 2.1e-5 for a shift of 0);
        # the same iteration gives the same numbers
        assert close(got.estimate, ref["estimate"]) and close(got.p_value, ref["p"])
        assert close(got.ci_low, ref["ci"][0]) and close(got.ci_high, ref["ci"][1])
        assert got.W == ref["W"]


def test_hodges_lehmann_is_median_of_differences_without_ties() -> None:
    # closed form (Hodges & Lehmann 1963): without ties the shift is the median of the x_i - y_j;
    # R's root is within its tolerance 1e-4 of it
    rng = np.random.default_rng(5)
    data = pd.DataFrame(
        {"arm": ["T"] * 31 + ["C"] * 27, "y": np.concatenate([rng.normal(3, 2, 31), rng.normal(1, 2, 27)])}
    )
    result = itt.hodges_lehmann(data, "y", "arm", "T", "C")
    x, y = data.y[data.arm == "T"].to_numpy(), data.y[data.arm == "C"].to_numpy()
    assert abs(result.table.estimate[0] - np.median(np.subtract.outer(x, y))) < 1e-4


def test_hodges_lehmann_one_participant_per_arm_is_an_estimation_error() -> None:
    # R: wilcox.test(541.4, 0, conf.int=TRUE, exact=FALSE) stops ("cannot compute confidence interval
    # when all observations are tied"): with one value per arm the only shift ties everything
    df = simulate_trial(INKLUSION, seed=3, n=90).assign(hours_18m=lambda d: d.hours_18m.fillna(0))
    tiny = pd.concat([df[df.arm == a].iloc[:1] for a in ("SAU", "IPS", "IPSE")])
    undefined = r"interval of 'hours_18m' for 'IPS vs SAU' is undefined"
    with pytest.raises(EstimationError, match=undefined) as err:
        itt.hodges_lehmann(tiny, "hours_18m", "arm", control="SAU")
    assert "1 participant in 'IPS'" in str(err.value)
    assert "2 or more participants with different values" in str(err.value)
    # each arm constant (more than one participant) is the same case
    constant = pd.DataFrame({"arm": ["T", "T", "C", "C", "C"], "y": [3.0, 3.0, 5.0, 5.0, 5.0]})
    with pytest.raises(EstimationError, match="each arm has a single value"):
        itt.hodges_lehmann(constant, "y", "arm", "T", "C")


def test_hodges_lehmann_one_participant_against_two_matches_wilcox_test() -> None:
    ref = REF["wilcox_one_vs_two"]  # R's wilcox.test(3, c(5, 6), conf.int = TRUE, exact = FALSE)
    data = pd.DataFrame({"arm": ["T", "C", "C"], "y": [ref["x"], *ref["y"]]})
    got = itt.hodges_lehmann(data, "y", "arm", "T", "C").table.iloc[0]
    assert got.W == ref["W"] and got.p_value == pytest.approx(ref["p"], rel=1e-9)
    assert got.estimate == pytest.approx(ref["estimate"], abs=1e-6)
    np.testing.assert_allclose([got.ci_low, got.ci_high], ref["ci"], atol=1e-6)


def test_two_part_matches_r(trial) -> None:
    result = itt.two_part(
        trial, "hours_18m", covariates=COVS, n_resamples=200, seed=3, missing="complete-case"
    )
    ref = REF["two_part_converged"]
    for part in ("logit", "gamma"):
        got = getattr(result, part).set_axis(r_names(getattr(result, part).index))
        for name, value in ref[part].items():
            assert close(got[name], value), (part, name)
    for arm in ("IPS", "IPSE", "SAU"):
        assert close(row(result, arm, "mean").estimate, ref["means"][arm])
    for arm in ARMS:
        assert close(row(result, f"{arm} vs SAU", "mean_difference").estimate, ref[f"difference_{arm}"])
    assert result.n == ref["n"] and result.n_positive == ref["n_positive"]


def test_two_part_bootstrap_kernel_equals_refit_on_resampled_data(frame) -> None:
    # the vectorised, chunked replicate fits must equal statsmodels fits on the explicitly resampled rows
    import statsmodels.api as sm

    seed, n_resamples = 17, 6
    result = itt.two_part(
        frame,
        "hours_18m",
        "arm",
        "IPS",
        "SAU",
        covariates=COVS,
        n_resamples=n_resamples,
        seed=seed,
        missing="complete-case",
    )
    assert result.failed == 0 and result.seed_entropy == seed
    prepared = prepare(
        frame, "hours_18m", "arm", "IPS", "SAU", COVS, kind="continuous", missing="complete-case"
    )
    X, _, arm_cols = model_matrix(prepared)
    codes = pd.Index(["IPS", "SAU"]).get_indexer(prepared.arms)
    sizes = [int(np.sum(codes == 0)), int(np.sum(codes == 1))]
    (rng,), _ = resolved_streams(seed, 1)
    weights = resampling.counts_in_data_order(resampling.bootstrap_counts(sizes, n_resamples, rng), codes)
    for b in range(n_resamples):
        rows = np.repeat(np.arange(len(prepared.y)), weights[b])
        Xb, yb = X[rows], prepared.y[rows]
        p1 = sm.GLM((yb > 0).astype(float), Xb, family=sm.families.Binomial()).fit(tol=1e-13)
        pos = yb > 0
        p2 = sm.GLM(yb[pos], Xb[pos], family=sm.families.Gamma(sm.families.links.Log())).fit(tol=1e-13)
        means = []
        for treated in (1.0, 0.0):
            Xa = Xb.copy()
            Xa[:, arm_cols[0]] = treated
            means.append(np.mean(p1.predict(Xa) * p2.predict(Xa)))
        np.testing.assert_allclose(result.replicates[b], means, rtol=1e-8)


def _with_marker(frame: pd.DataFrame, zeros: int, positives: int) -> pd.DataFrame:
    """Complete cases with a 0/1 covariate that is 1 for a few SAU participants only."""
    data = frame.dropna(subset=["hours_18m"]).copy()
    sau = data[data.arm == "SAU"]
    chosen = [*sau.index[sau.hours_18m == 0][:zeros], *sau.index[sau.hours_18m > 0][:positives]]
    data["marker"] = 0
    data.loc[chosen, "marker"] = 1
    return data


def test_two_part_counts_failed_replicates(frame) -> None:
    # a covariate that is 1 for 4 positive (and 10 zero) SAU participants: a replicate without any of the
    # 4 cannot fit the gamma part, which happens with probability (1 - 1/192)^(4 x 192) ≈ e^-4 ≈ 1.8 %
    data = _with_marker(frame, zeros=10, positives=4)
    result = itt.two_part(
        data, "hours_18m", "arm", "IPS", "SAU", covariates="marker", n_resamples=500, seed=4
    )
    assert 0 < result.failed < 25
    assert result.replicates.shape == (500 - result.failed, 2)
    assert row(result, "IPS vs SAU", "mean_difference").failed_replicates == result.failed
    # one positive participant with the marker: about e^-1 ≈ 37 % of the replicates fail -> error
    data = _with_marker(frame, zeros=10, positives=1)
    with pytest.raises(EstimationError, match="of 200 bootstrap replicates could not be fitted"):
        itt.two_part(data, "hours_18m", "arm", "IPS", "SAU", covariates=["marker"], n_resamples=200, seed=4)


def test_two_part_separation_names_the_covariate_level(frame) -> None:
    # every SAU participant with the marker has hours > 0: the logistic part's MLE does not exist
    data = _with_marker(frame, zeros=0, positives=12)
    with pytest.raises(EstimationError, match=r"separation in the logistic part.*'marker' = 1: all 12"):
        itt.two_part(data, "hours_18m", "arm", "IPS", "SAU", covariates=["marker"], n_resamples=20, seed=1)


# ------------------------------------------------------------------------ truths on a large sample


@pytest.mark.parametrize("outcome", ["hours_18m", "weeks_employed_18m"])
def test_mean_differences_recover_truth(large: pd.DataFrame, outcome: str) -> None:
    truth = INKLUSION.truth.set_index(["outcome", "estimand", "contrast"]).value
    means = itt.compare_means(large, outcome, "arm", ARMS, "SAU", n_resamples=200, seed=1)
    adjusted = itt.adjusted_mean_difference(large, outcome, "arm", ARMS, "SAU", covariates=COVS)
    for arm in ARMS:
        target = truth[(outcome, "mean_difference", f"{arm} vs SAU")]
        for result, start in ((means, "Welch"), (adjusted, "OLS")):
            got = row(result, f"{arm} vs SAU", "mean_difference", start)
            assert abs(got.estimate - target) < 4 * got.se, (arm, start, got.estimate, target, got.se)


def test_rate_ratio_without_covariates_recovers_truth(large: pd.DataFrame) -> None:
    # with arm indicators only, the NB2 fitted means are the arm means, so exp(β) estimates the ratio of
    # mean weeks (the true rate ratio of the scenario); 60,000 participants: the fit must converge
    truth = INKLUSION.truth.set_index(["outcome", "estimand", "contrast"]).value
    result = itt.rate_ratio(large, "weeks_employed_18m", "arm", ARMS, "SAU")
    y = large.weeks_employed_18m
    for arm in ARMS:
        got = row(result, f"{arm} vs SAU", "rate_ratio")
        target = truth[("weeks_employed_18m", "rate_ratio", f"{arm} vs SAU")]
        assert abs(got.log_rate_ratio - math.log(target)) < 4 * got.se
        # closed form: the ratio of the arm means
        assert got.estimate == pytest.approx(
            y[large.arm == arm].mean() / y[large.arm == "SAU"].mean(), rel=1e-9
        )


def test_rate_ratio_arm_without_events_is_named(frame) -> None:
    data = frame.copy()
    data.loc[data.arm == "SAU", "weeks_employed_18m"] = 0
    with pytest.raises(
        EstimationError, match="no maximum likelihood estimate: arm 'SAU': all 240 participants have count 0"
    ):
        itt.rate_ratio(data, "weeks_employed_18m", "arm", "IPS", "SAU")
    data = frame.assign(clinic=np.where(np.arange(len(frame)) % 30 == 0, "small", "big"))
    data.loc[data.clinic == "small", "weeks_employed_18m"] = 0
    small = int(((data.clinic == "small") & data.arm.isin(["IPS", "SAU"])).sum())
    message = f"covariate 'clinic' = 'small': all {small} participants have count 0"
    with pytest.raises(EstimationError, match=message):
        itt.rate_ratio(data, "weeks_employed_18m", "arm", "IPS", "SAU", covariates=["clinic", "age"])


# ------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_same_seed_same_bits(trial, frame) -> None:
    first = itt.compare_means(trial, "hours_18m", n_resamples=1000, seed=42, missing="complete-case")
    second = itt.compare_means(trial, "hours_18m", n_resamples=1000, seed=42, missing="complete-case")
    np.testing.assert_array_equal(first.replicates, second.replicates)
    third = itt.compare_means(trial, "hours_18m", n_resamples=1000, seed=43, missing="complete-case")
    assert not np.array_equal(first.replicates, third.replicates)
    generator = itt.compare_means(
        trial, "hours_18m", n_resamples=50, seed=np.random.default_rng(1), missing="complete-case"
    )
    assert generator.seed_entropy is None and first.seed_entropy == 42
    fresh = itt.compare_means(trial, "hours_18m", n_resamples=50, missing="complete-case")
    replay = itt.compare_means(
        trial, "hours_18m", n_resamples=50, seed=fresh.seed_entropy, missing="complete-case"
    )
    np.testing.assert_array_equal(fresh.replicates, replay.replicates)
    a = itt.two_part(
        frame,
        "hours_18m",
        "arm",
        "IPS",
        "SAU",
        covariates=COVS,
        n_resamples=30,
        seed=7,
        missing="complete-case",
    )
    b = itt.two_part(
        frame,
        "hours_18m",
        "arm",
        "IPS",
        "SAU",
        covariates=COVS,
        n_resamples=30,
        seed=7,
        missing="complete-case",
    )
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert a.seed_entropy == 7


def test_two_part_bootstrap_does_not_depend_on_the_chunk_size(frame, monkeypatch) -> None:
    import sys

    module = sys.modules["ipstrial._bootstrap"]

    kwargs = dict(covariates=COVS, n_resamples=40, seed=9, missing="complete-case")
    whole = itt.two_part(frame, "hours_18m", "arm", "IPS", "SAU", **kwargs)
    original = module.bootstrap_count_chunks
    monkeypatch.setattr(
        module, "bootstrap_count_chunks", lambda *a, **k: original(*a, chunk_bytes=8 * 404 * 3, **k)
    )
    chunked = itt.two_part(frame, "hours_18m", "arm", "IPS", "SAU", **kwargs)
    np.testing.assert_allclose(chunked.replicates, whole.replicates, rtol=1e-12)


def test_bootstrap_se_close_to_welch_se(frame) -> None:
    n_resamples = 10_000
    result = itt.compare_means(
        frame, "hours_18m", "arm", "IPS", "SAU", n_resamples=n_resamples, seed=2024, missing="complete-case"
    )
    boot = row(result, "IPS vs SAU", "mean_difference", "bootstrap")
    welch = row(result, "IPS vs SAU", "mean_difference", "Welch")
    assert boot.method == f"bootstrap percentile, {n_resamples} resamples within arm"
    # the ideal (B = ∞) bootstrap SE is the plug-in sqrt(Σ s_g² (n_g - 1)/n_g²), slightly below Welch's
    x = frame.hours_18m[frame.arm == "IPS"].dropna()
    y = frame.hours_18m[frame.arm == "SAU"].dropna()
    ideal = math.sqrt(sum(np.var(v, ddof=1) * (v.size - 1) / v.size**2 for v in (x, y)))
    # Monte Carlo SD of an SD from B draws: sd·sqrt((κ - 1)/(4B)); κ from the replicates themselves
    diffs = result.replicates[:, 0] - result.replicates[:, 1]
    kurtosis = np.mean((diffs - diffs.mean()) ** 4) / np.var(diffs) ** 2
    mc = ideal * math.sqrt((kurtosis - 1) / (4 * n_resamples))
    assert abs(boot.se - ideal) < 4 * mc
    assert abs(boot.se - welch.se) < 4 * mc + (welch.se - ideal)
    assert boot.ci_low < welch.estimate < boot.ci_high


# ---------------------------------------------------------------------------------- missing data


def test_missing_hours_without_policy_raises_with_counts(trial) -> None:
    for call in (
        lambda: itt.compare_means(trial, "hours_18m", n_resamples=10, seed=1),
        lambda: itt.adjusted_mean_difference(trial, "hours_18m", covariates=COVS),
        lambda: itt.two_part(trial, "hours_18m", n_resamples=10, seed=1),
        lambda: itt.hodges_lehmann(trial, "hours_18m"),
    ):
        with pytest.raises(TrialDataError) as info:
            call()
        text = str(info.value)
        assert "hours_18m" in text and "IPS 27" in text and "SAU 48" in text and "complete-case" in text


def test_complete_case_reports_excluded_counts(trial, frame) -> None:
    excluded = frame.hours_18m.isna().groupby(frame.arm).sum()
    result = itt.compare_means(trial, "hours_18m", n_resamples=20, seed=1, missing="complete-case")
    out = result.to_frame()
    for arm in ("IPS", "IPSE", "SAU"):
        assert out.loc[out.contrast == arm, "excluded"].item() == excluded[arm]
    for arm in ARMS:
        contrast = out[out.contrast == f"{arm} vs SAU"]
        assert (contrast.excluded_treatment == excluded[arm]).all()
        assert (contrast.excluded_control == excluded["SAU"]).all()
    assert "Excluded (complete-case): 107 participants with missing hours_18m" in result.summary()
    for result in (
        itt.adjusted_mean_difference(trial, "hours_18m", covariates=COVS, missing="complete-case"),
        itt.hodges_lehmann(trial, "hours_18m", missing="complete-case"),
        itt.two_part(trial, "hours_18m", n_resamples=20, seed=1, missing="complete-case"),
    ):
        got = row(result, "IPS vs SAU", result.rows()[-1].estimand)
        assert got.excluded_treatment == excluded["IPS"] and got.excluded_control == excluded["SAU"]
        assert dict(result.inputs.excluded) == excluded.to_dict()


# ------------------------------------------------------------------------------------- bad input


def test_negative_counts_name_the_participants(data) -> None:
    bad = data.copy()
    bad.loc[bad.participant_id.isin(["P0002", "P0010"]), "weeks_employed_18m"] = -3
    with pytest.raises(TrialDataError, match=r"weeks_employed_18m.*P0002, P0010") as info:
        itt.rate_ratio(bad, "weeks_employed_18m", "arm", ARMS, "SAU", id="participant_id")
    assert "negative" in str(info.value)
    bad = data.copy()
    bad["weeks_employed_18m"] = bad.weeks_employed_18m.astype(float)
    bad.loc[bad.participant_id == "P0002", "weeks_employed_18m"] = 2.5
    with pytest.raises(TrialDataError, match="P0002"):
        itt.rate_ratio(bad, "weeks_employed_18m", "arm", ARMS, "SAU", id="participant_id")


def test_negative_hours_in_two_part_name_the_participants(frame) -> None:
    bad = frame.dropna(subset=["hours_18m"]).copy()
    bad.loc[bad.participant_id == "P0002", "hours_18m"] = -1.0
    with pytest.raises(TrialDataError, match=r"hours_18m.*negative.*P0002"):
        itt.two_part(bad, "hours_18m", "arm", "IPS", "SAU", n_resamples=10, seed=1, id="participant_id")
    # without an id column: named by row position in the data
    with pytest.raises(TrialDataError, match=r"1 negative value \(row at position 1\)"):
        itt.two_part(bad, "hours_18m", "arm", "IPS", "SAU", n_resamples=10, seed=1)


def test_bad_exposure(trial, frame) -> None:
    data = frame.assign(followup=1.5)
    data.loc[data.participant_id == "P0002", "followup"] = 0.0
    with pytest.raises(TrialDataError, match=r"followup.*P0002"):
        itt.rate_ratio(
            data, "weeks_employed_18m", "arm", "IPS", "SAU", exposure="followup", id="participant_id"
        )
    data.loc[data.participant_id == "P0006", "followup"] = np.nan
    with pytest.raises(TrialDataError, match=r"followup.*1 missing value in a exposure column.*P0006"):
        itt.rate_ratio(
            data, "weeks_employed_18m", "arm", "IPS", "SAU", exposure="followup", id="participant_id"
        )
    # a constant exposure only rescales the intercept: the rate ratio is unchanged
    ok = itt.rate_ratio(
        frame.assign(followup=1.5), "weeks_employed_18m", "arm", "IPS", "SAU", exposure="followup"
    )
    plain = itt.rate_ratio(frame, "weeks_employed_18m", "arm", "IPS", "SAU")
    assert close(ok.table.estimate[0], plain.table.estimate[0], rel=1e-9)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: itt.compare_means(d, "y", "arm", "IPS", "SAU", n_resamples=10, seed=1),
        lambda d: itt.adjusted_mean_difference(d, "y", "arm", "IPS", "SAU", covariates=["age"]),
        lambda d: itt.two_part(d, "y", "arm", "IPS", "SAU", n_resamples=10, seed=1),
        lambda d: itt.rate_ratio(d, "y", "arm", "IPS", "SAU"),
        lambda d: itt.hodges_lehmann(d, "y", "arm", "IPS", "SAU"),
    ],
    ids=["compare_means", "adjusted", "two_part", "rate_ratio", "hodges_lehmann"],
)
@pytest.mark.parametrize("value", [0, 7])
def test_all_outcomes_identical_is_a_clear_error(frame, call, value: int) -> None:
    with pytest.raises(EstimationError, match=f"every analysed value of 'y' is {value}"):
        call(frame.assign(y=value))


def test_two_part_needs_zeros_and_positives_in_every_arm(frame) -> None:
    data = frame.dropna(subset=["hours_18m"]).copy()
    data.loc[data.arm == "SAU", "hours_18m"] += 1.0
    with pytest.raises(EstimationError, match="arm 'SAU' has no zero"):
        itt.two_part(data, "hours_18m", "arm", "IPS", "SAU", n_resamples=10, seed=1)


def test_no_overdispersion_is_an_error() -> None:
    data = pd.DataFrame({"arm": ["T", "C"] * 50, "y": [4, 5, 6, 5] * 25})
    with pytest.raises(EstimationError, match="no overdispersion"):
        itt.rate_ratio(data, "y", "arm", "T", "C")


def test_argument_errors(trial) -> None:
    with pytest.raises(ParameterError, match="hc must be one of"):
        itt.adjusted_mean_difference(trial, "weeks_employed_18m", hc="HC5")
    with pytest.raises(ParameterError, match="alpha must be a number between 0 and 1"):
        itt.compare_means(trial, "weeks_employed_18m", alpha=0)
    with pytest.raises(ParameterError, match="n_resamples must be a whole number at least 2"):
        itt.two_part(trial, "weeks_employed_18m", n_resamples=1)
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        itt.rate_ratio(trial, "weeks_employed_18m", analysis="Rate Ratio")
    with pytest.raises(ParameterError, match="exposure must be a column name"):
        itt.rate_ratio(trial, "weeks_employed_18m", exposure=["followup"])


@pytest.mark.parametrize("seed", ["x", -1, 1.5, float("nan"), True])
def test_bad_seed_is_refused_before_any_work(trial, seed) -> None:
    with pytest.raises(ParameterError, match="seed must be a non-negative int"):
        itt.compare_means(trial, "weeks_employed_18m", n_resamples=10, seed=seed)
    with pytest.raises(ParameterError, match="seed must be a non-negative int"):
        itt.two_part(trial, "weeks_employed_18m", n_resamples=10, seed=seed)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: itt.adjusted_mean_difference(d, "y", "arm", "IPS", "SAU", covariates=["age", "y"]),
        lambda d: itt.adjusted_mean_difference(d, "y", "arm", "IPS", "SAU", covariates=["arm"]),
        lambda d: itt.rate_ratio(d, "y", "arm", "IPS", "SAU", covariates=["y"]),
        lambda d: itt.rate_ratio(d, "y", "arm", "IPS", "SAU", covariates=["age", "arm"]),
        lambda d: itt.two_part(d, "y", "arm", "IPS", "SAU", covariates=["y"], n_resamples=10, seed=1),
    ],
    ids=["adjusted-outcome", "adjusted-arm", "rate_ratio-outcome", "rate_ratio-arm", "two_part-outcome"],
)
def test_arm_or_outcome_as_a_covariate_is_refused(frame, call) -> None:
    data = frame.assign(y=frame.weeks_employed_18m)
    clash = r"covariates lists '(y|arm)', which is (an outcome|the arm column)"
    with pytest.raises(ParameterError, match=clash):
        call(data)


def test_counts_in_messages_agree_in_number(frame) -> None:
    # one offender: "1 exposure that is not ...", not "1 exposures that are not ..."
    exposed = frame.assign(t=1.0)
    exposed.loc[exposed.index[exposed.arm == "SAU"][0], "t"] = 0.0
    with pytest.raises(TrialDataError, match=r"1 exposure that is not a positive number \("):
        itt.rate_ratio(exposed, "weeks_employed_18m", "arm", "IPS", "SAU", exposure="t")
    tiny = pd.DataFrame({"arm": ["T", "C", "T"], "y": [1.0, 2.0, 3.0], "x": [0.0, 1.0, 2.0]})
    with pytest.raises(EstimationError, match="^3 participants for 3 model coefficients"):
        itt.adjusted_mean_difference(tiny, "y", "arm", "T", "C", covariates="x")


def test_result_rendering(trial) -> None:
    result = itt.hodges_lehmann(trial, "weeks_employed_18m")
    frame = result.to_frame()
    assert list(frame.estimand) == ["median_difference"] * 2
    assert "Hodges-Lehmann" in result.summary()
    json.dumps(result.to_dict(), allow_nan=False)
