"""Baseline balance (ipstrial.randomization.balance) and simulated scheme properties
(ipstrial.randomization.properties).

References are independent of the code under test: hand-computed values and scipy's
``chi2_contingency`` / ``f_oneway`` for the balance statistics; for the scheme properties, exact
values computed here by enumeration or a Markov-chain recursion (simple randomization: binomial
imbalance and guessing probability 1/2; blocks of a fixed size: Blackwell & Hodges' expected
number of correct guesses per block; Efron's biased coin: the reflecting random walk of |D|),
compared within Monte Carlo error (4 standard errors computed here from the simulated values).
"""

from __future__ import annotations

import itertools
import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipstrial.errors import DesignError, ParameterError, TrialDataError
from ipstrial.randomization.balance import BalanceResult, balance
from ipstrial.randomization.properties import COMPARE_COLUMNS, compare_schemes, simulate_scheme

matplotlib.use("Agg")
Z = 4.0  # tolerance in Monte Carlo standard errors


def mc_close(values: np.ndarray, exact: float) -> None:
    """The mean of ``values`` (one per simulation) is within Z Monte Carlo SEs of ``exact``."""
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - exact) <= Z * se + 1e-12, (values.mean(), exact, se)


# ---------------------------------------------------------------------------
# balance
# ---------------------------------------------------------------------------


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p3", "p4", "p5", "p6", "p7"],
            "arm": ["A", "A", "A", "A", "B", "B", "B"],
            "x": [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0],
            "sex": ["f", "f", "m", "m", "f", "m", "m"],
        }
    )


def test_the_arm_as_a_factor_is_a_parameter_error(trial, small):
    with pytest.raises(ParameterError, match=r"the arm column 'arm' is also listed in factors"):
        balance(trial, ["arm"])
    with pytest.raises(ParameterError, match=r"the arm column 'arm' is also listed in factors"):
        balance(small, ["x", "arm"], "arm")


def smd_rows(result: BalanceResult, factor: str) -> pd.DataFrame:
    return result.smd[result.smd.factor == factor].set_index(["level", "contrast"])


def test_smd_and_tests_by_hand_two_arms(small):
    result = balance(small, ["x", "sex"], "arm")
    assert result.kinds == {"x": "numeric", "sex": "categorical"}
    # numeric: (2.5 - 4) / sqrt((5/3 + 4) / 2) = -1.5 / sqrt(17/6)
    assert smd_rows(result, "x").loc[("mean (SD)", "A vs B"), "smd"] == pytest.approx(
        -1.5 / math.sqrt(17 / 6)
    )
    # levels: (1/2 - 1/3) / sqrt((1/4 + 2/9) / 2) = (1/6) / sqrt(17/72)
    sex = smd_rows(result, "sex")
    assert sex.loc[("f", "A vs B"), "smd"] == pytest.approx((1 / 6) / math.sqrt(17 / 72))
    assert sex.loc[("m", "A vs B"), "smd"] == pytest.approx(-(1 / 6) / math.sqrt(17 / 72))
    tests = result.tests.set_index("factor")
    # Pearson X^2 of [[2, 2], [1, 2]]: every |O - E| = 2/7, X^2 = 7/36, 1 df
    assert tests.loc["sex", "statistic"] == pytest.approx(7 / 36)
    assert tests.loc["sex", "df1"] == 1
    ref = stats.chi2_contingency(np.array([[2, 2], [1, 2]]), correction=False)
    assert tests.loc["sex", "p_value"] == pytest.approx(ref.pvalue)
    anova = stats.f_oneway([1, 2, 3, 4], [2, 4, 6])
    assert tests.loc["x", "statistic"] == pytest.approx(anova.statistic)
    assert tests.loc["x", "p_value"] == pytest.approx(anova.pvalue)
    assert (tests.loc["x", "df1"], tests.loc["x", "df2"]) == (1, 5)
    table = result.table.set_index(["factor", "level", "arm"])
    assert table.loc[("x", "mean (SD)", "B"), "mean"] == pytest.approx(4.0)
    assert table.loc[("x", "mean (SD)", "B"), "sd"] == pytest.approx(2.0)
    assert table.loc[("sex", "m", "B"), "count"] == 2
    assert table.loc[("sex", "m", "B"), "percent"] == pytest.approx(200 / 3)


def test_three_arms_against_scipy():
    rng = np.random.default_rng(4)
    n = 90
    frame = pd.DataFrame(
        {
            "arm": np.repeat(["IPS", "IPSE", "SAU"], 30),
            "age": rng.normal(35, 9, n).round(),
            "site": rng.choice(["Copenhagen", "Odense", "Aarhus"], n),
        }
    )
    result = balance(frame, ["age", "site"], "arm")
    crosstab = pd.crosstab(frame.site, frame.arm)
    ref = stats.chi2_contingency(crosstab.to_numpy(), correction=False)
    tests = result.tests.set_index("factor")
    assert tests.loc["site", "statistic"] == pytest.approx(ref.statistic)
    assert tests.loc["site", "p_value"] == pytest.approx(ref.pvalue)
    assert tests.loc["site", "df1"] == ref.dof == 4
    assert tests.loc["site", "min_expected"] == pytest.approx(ref.expected_freq.min())
    groups = [frame.age[frame.arm == a] for a in ("IPS", "IPSE", "SAU")]
    anova = stats.f_oneway(*groups)
    assert tests.loc["age", "statistic"] == pytest.approx(anova.statistic)
    assert tests.loc["age", "p_value"] == pytest.approx(anova.pvalue)
    # SMD for every pair of arms, each by Austin's formulas computed here
    age = smd_rows(result, "age")
    assert sorted(age.index.get_level_values("contrast")) == ["IPS vs IPSE", "IPS vs SAU", "IPSE vs SAU"]
    for a, b in itertools.combinations(("IPS", "IPSE", "SAU"), 2):
        x, y = frame.age[frame.arm == a], frame.age[frame.arm == b]
        d = (x.mean() - y.mean()) / math.sqrt((x.var() + y.var()) / 2)
        assert age.loc[("mean (SD)", f"{a} vs {b}"), "smd"] == pytest.approx(d)
        for level in crosstab.index:
            p, q = (frame.site[frame.arm == a] == level).mean(), (frame.site[frame.arm == b] == level).mean()
            d = (p - q) / math.sqrt((p * (1 - p) + q * (1 - q)) / 2)
            assert smd_rows(result, "site").loc[(level, f"{a} vs {b}"), "smd"] == pytest.approx(d)


def test_missing_factor_values_are_a_level(small):
    data = small.copy()
    data.loc[[1, 5], "sex"] = None
    data.loc[6, "x"] = np.nan
    result = balance(data, ["x", "sex"], "arm")
    table = result.table.set_index(["factor", "level", "arm"])
    assert table.loc[("sex", "missing", "A"), "count"] == 1
    assert table.loc[("sex", "missing", "B"), "count"] == 1
    assert table.loc[("x", "missing", "B"), "count"] == 1
    assert table.loc[("x", "missing", "A"), "count"] == 0
    assert table.loc[("x", "mean (SD)", "B"), "count"] == 2
    # nobody is dropped: each arm's levels add up to its size
    sex = result.table[result.table.factor == "sex"].groupby("arm")["count"].sum()
    assert sex.to_dict() == {"A": 4, "B": 3}
    # the chi-square test counts 'missing' as a level: table [[f, m, missing]] per arm
    ref = stats.chi2_contingency(np.array([[1, 2, 1], [1, 1, 1]]), correction=False)
    tests = result.tests.set_index("factor")
    assert tests.loc["sex", "statistic"] == pytest.approx(ref.statistic)
    assert tests.loc["sex", "df1"] == 2
    # ANOVA on the known values
    anova = stats.f_oneway([1, 2, 3, 4], [2, 4])
    assert tests.loc["x", "p_value"] == pytest.approx(anova.pvalue)
    # SMD of the share missing: (0 - 1/3) / sqrt((0 + 2/9) / 2)
    miss = smd_rows(result, "x").loc[("missing", "A vs B"), "smd"]
    assert miss == pytest.approx(-(1 / 3) / math.sqrt(1 / 9))
    assert "missing" in result.summary()
    levels = result.to_frame().query("outcome == 'sex' and quantity == 'count'")["level"]
    assert "missing" in set(levels)


def test_rows_words_and_caution(small):
    result = balance(small, ["x", "sex"], "arm")
    frame = result.to_frame()
    assert set(frame.estimand) == {"proportion", "mean", "mean_difference", "chi_square"}
    smd = frame[frame.quantity == "smd"]
    assert (smd.estimand == "mean_difference").all() and (smd.scale == "standardised").all()
    chi = frame[frame.estimand == "chi_square"].iloc[0]
    assert chi.estimate == pytest.approx(7 / 36) and chi.contrast == "A vs B"
    f_row = frame[(frame.quantity == "test") & (frame.outcome == "x")].iloc[0]
    assert f_row.estimand == "mean_difference" and math.isnan(f_row.estimate)
    assert f_row.p_value == pytest.approx(stats.f_oneway([1, 2, 3, 4], [2, 4, 6]).pvalue)
    text = result.summary()
    assert "randomization process" in text and "prognostic balance" in text
    assert "randomization process" in (balance.__doc__ or "")
    assert "CONSORT" in result._repr_html_()


def test_love_plot(small):
    result = balance(small, ["x", "sex"], "arm")
    ax = result.plot()
    assert any(np.allclose(line.get_xdata(), 0.1) for line in ax.lines)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["x", "sex: m"]  # a two-level factor is drawn once
    offsets = ax.collections[0].get_offsets()
    assert sorted(np.round(offsets[:, 0], 9)) == sorted(
        np.round([1.5 / math.sqrt(17 / 6), (1 / 6) / math.sqrt(17 / 72)], 9)
    )


def test_inklusion_tables_match_crosstab(frame):
    DATA = frame
    result = balance(DATA, ["site", "age", "diagnosis", "employed_prev5y", "hours_18m"], "arm")
    table = result.table.set_index(["factor", "level", "arm"])["count"]
    crosstab = pd.crosstab(DATA.diagnosis, DATA.arm)
    for level in crosstab.index:
        for arm in crosstab.columns:
            assert table[("diagnosis", level, arm)] == crosstab.loc[level, arm]
    missing = DATA.hours_18m.isna().groupby(DATA.arm).sum()
    for arm, count in missing.items():
        assert table[("hours_18m", "missing", arm)] == count
    assert result.kinds["employed_prev5y"] == "categorical" and result.kinds["age"] == "numeric"
    assert result.n_by_arm == DATA.arm.value_counts().to_dict()
    json.dumps(result.to_dict(), allow_nan=False)


def test_balance_bad_input(small):
    data = small.copy()
    data.loc[2, "arm"] = None
    with pytest.raises(TrialDataError, match="1 participant without an arm.*p3"):
        balance(data, ["x"], "arm", id="participant_id")
    with pytest.raises(TrialDataError, match="not found"):
        balance(small, ["height"], "arm")
    with pytest.raises(TrialDataError, match="arm 'C' is not an arm label in the data"):
        balance(small, ["x"], "arm", "A", "C")
    with pytest.raises(TrialDataError, match="numeric"):
        balance(small, {"sex": "numeric"}, "arm")
    subset = balance(small, ["x"], "arm", "B", "A")
    assert subset.arms == ("B", "A") and dict(subset.inputs.outside) == {}


# ---------------------------------------------------------------------------
# scheme properties: closed forms
# ---------------------------------------------------------------------------


def expected_abs_imbalance_simple(n: int) -> float:
    """E|2K - n|, K ~ Binomial(n, 1/2): simple randomization, two arms."""
    k = np.arange(n + 1)
    return float(np.sum(np.abs(2 * k - n) * stats.binom.pmf(k, n, 0.5)))


def block_guesses_by_enumeration(counts: tuple[int, ...], ratio: tuple[int, ...]) -> float:
    """Expected correct convergence guesses in one block, averaged over all its arrangements."""
    layout = [arm for arm, c in enumerate(counts) for _ in range(c)]
    arrangements = set(itertools.permutations(layout))
    total = 0.0
    for seq in arrangements:
        seen = [0] * len(counts)
        for arm in seq:
            scaled = [seen[i] / ratio[i] for i in range(len(counts))]
            ties = [i for i, v in enumerate(scaled) if v == min(scaled)]
            total += (arm in ties) / len(ties)
            seen[arm] += 1
    return total / len(arrangements)


def blackwell_hodges(b: int) -> float:
    """Expected correct guesses per block of size b (two arms): b/2 + 2^(b-1)/C(b, b/2) - 1/2."""
    return b / 2 + 2 ** (b - 1) / math.comb(b, b // 2) - 0.5


def efron_exact(n: int, p: float) -> tuple[float, float]:
    """Expected proportion of correct guesses and E|D_n| for Efron's coin, by the chain of |D|."""
    dist = np.zeros(n + 2)
    dist[0] = 1.0
    correct = 0.0
    for _ in range(n):
        correct += dist[0] / 2 + (1 - dist[0]) * p
        new = np.zeros_like(dist)
        new[1] += dist[0]  # from a tie the imbalance becomes 1
        new[0:n] += p * dist[1 : n + 1]  # from |D| = j >= 1: back to j - 1 with probability p
        new[2 : n + 2] += (1 - p) * dist[1 : n + 1]  # or on to j + 1
        dist = new
    return correct / n, float(np.sum(np.arange(n + 2) * dist))


def test_reference_formulas_agree():
    # the closed form against enumeration, and against the published card-guessing value 30.0407
    # for a 52-card deck with 26 red (the same game as a block of 52)
    for b in (2, 4, 6, 8):
        assert blackwell_hodges(b) == pytest.approx(block_guesses_by_enumeration((b // 2, b // 2), (1, 1)))
    assert blackwell_hodges(4) / 4 == pytest.approx(17 / 24)
    assert blackwell_hodges(52) == pytest.approx(30.0407, abs=5e-5)
    # Efron's chain: long-run average p - (2p - 1)^2 / (4p)
    p = 2 / 3
    assert efron_exact(4000, p)[0] == pytest.approx(p - (2 * p - 1) ** 2 / (4 * p), abs=1e-3)


def test_simple_randomization_imbalance_and_guessing():
    pytest.importorskip("ipstrial.randomization.simple")
    n = 40
    result = simulate_scheme("simple", n, n_sim=800, seed=1)
    mc_close(result.guess_overall, 0.5)
    mc_close(result.imbalance_final, expected_abs_imbalance_simple(n))
    # the curve after t participants
    for t in (1, 2, 9, 25):
        exact = expected_abs_imbalance_simple(t)
        values = np.abs(2 * (result.allocations[:, :t] == 0).sum(axis=1) - t)
        assert result.imbalance_curve[t - 1] == pytest.approx(values.mean())
        mc_close(values.astype(float), exact)
    assert result.block_end_imbalance_max is None


def test_simple_randomization_within_strata():
    pytest.importorskip("ipstrial.randomization.simple")
    strata = pd.DataFrame({"site": ["a"] * 7 + ["b"] * 12 + ["c"] * 5, "sex": ["f", "m"] * 12})
    result = simulate_scheme("simple", len(strata), n_sim=800, seed=2, strata=strata)
    sizes = strata.groupby(["site", "sex"]).size()
    exact = np.mean([expected_abs_imbalance_simple(int(s)) for s in sizes])
    mc_close(result.within_final, exact)
    assert list(result.strata_imbalance.stratum) == [f"site={a}, sex={b}" for a, b in sizes.index]
    mc_close(result.guess_stratum, 0.5)


@pytest.mark.parametrize(("b", "n"), [(2, 30), (4, 48), (6, 48)])
def test_fixed_blocks_guessing_blackwell_hodges(b, n):
    result = simulate_scheme("permuted_blocks", n, n_sim=3000, seed=b, block_sizes=(b,))
    exact = blackwell_hodges(b) / b
    if b == 2:
        assert np.allclose(result.guess_overall, 0.75)
    mc_close(result.guess_overall, exact)
    assert result.block_end_imbalance_max == 0
    assert np.all(result.imbalance_final == 0)


def test_unequal_ratio_blocks_guessing_by_enumeration():
    result = simulate_scheme("permuted_blocks", 30, n_sim=3000, seed=5, block_sizes=(3,), ratio=(2, 1))
    mc_close(result.guess_overall, block_guesses_by_enumeration((2, 1), (2, 1)) / 3)
    assert result.block_end_imbalance_max == 0


def test_efron_biased_coin_guessing_and_imbalance():
    pytest.importorskip("ipstrial.randomization.simple")
    n, p = 50, 2 / 3
    result = simulate_scheme("biased_coin", n, n_sim=800, seed=6, p=p)
    exact_guess, exact_imbalance = efron_exact(n, p)
    mc_close(result.guess_overall, exact_guess)
    mc_close(result.imbalance_final, exact_imbalance)


def test_block_ends_balanced_within_strata():
    strata = {"site": {"a": 0.5, "b": 0.3, "c": 0.2}, "prev": [0, 1]}
    result = simulate_scheme("stratified_blocks", 120, n_sim=200, seed=7, strata=strata, block_sizes=(4,))
    assert result.block_end_imbalance_max == 0
    # checked here from the sequences: after every 4th participant of a stratum the stratum is balanced
    codes, arms = result.strata_codes, result.allocations
    for i in range(0, 200, 17):
        for s in np.unique(codes[i]):
            a = arms[i][codes[i] == s]
            diff = np.cumsum(np.where(a == 0, 1, -1))
            assert np.all(diff[3::4] == 0)
            assert np.all(np.abs(diff) <= 2)
            assert result.end_imbalance.imbalance.max() <= 2
    # blocks of 2: the final imbalance of a stratum is its size's parity
    fixed = pd.DataFrame({"site": ["a"] * 7 + ["b"] * 10 + ["c"] * 3})
    result = simulate_scheme("stratified_blocks", 20, n_sim=50, seed=8, strata=fixed, block_sizes=(2,))
    assert result.strata_imbalance.set_index("stratum").imbalance_mean.to_dict() == {
        "site=a": 1.0,
        "site=b": 0.0,
        "site=c": 1.0,
    }
    assert result.end_imbalance.set_index("imbalance").probability.to_dict() == {
        0.0: pytest.approx(1 / 3),
        1.0: pytest.approx(2 / 3),
    }


def test_random_block_sizes_never_exceed_half_the_largest_block():
    result = simulate_scheme(
        "permuted_blocks", 50, n_sim=500, seed=9, arms=("A", "B", "C"), block_sizes=(3, 6)
    )
    assert result.block_end_imbalance_max == 0
    assert result.imbalance_final.max() <= 2  # three arms in blocks of at most 6: range at most 2
    assert 1 / 3 < result.p_guess < 1


# ---------------------------------------------------------------------------
# compare_schemes, reproducibility, errors
# ---------------------------------------------------------------------------


def scaled_imbalance(arms: np.ndarray, ratio: tuple[int, ...]) -> float:
    """D = max_i N_i / r_i - min_i N_i / r_i of the arm indices ``arms`` (0 for no participant)."""
    scaled = [np.sum(arms == i) / r for i, r in enumerate(ratio)]
    return float(max(scaled) - min(scaled))


def convergence_guesses(arms: np.ndarray, groups: np.ndarray, ratio: tuple[int, ...]) -> float:
    """Expected share of correct convergence guesses, participant by participant, the recruiter knowing
    the past allocations of the participant's group (one group: all past allocations)."""
    seen: dict[int, list[int]] = {}
    total = 0.0
    for arm, group in zip(arms, groups, strict=True):
        counts = seen.setdefault(int(group), [0] * len(ratio))
        scaled = [counts[i] / r for i, r in enumerate(ratio)]
        ties = [i for i, v in enumerate(scaled) if v == min(scaled)]
        total += (arm in ties) / len(ties)
        counts[arm] += 1
    return total / len(arms)


def mean_and_se(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))


def direct_summary(result) -> dict[str, object]:
    """The line of compare_schemes computed directly from the simulated allocations of a stratified block
    scheme, sequence by sequence and participant by participant (the columns in their documented order)."""
    ratio = result.ratio
    final, within, marginal, ends, overall, stratum = [], [], [], [], [], []
    levels = [dict(part.split("=") for part in label.split(", ")) for label in result.strata_labels]
    for arms, codes in zip(result.allocations, result.strata_codes, strict=True):
        final.append(scaled_imbalance(arms, ratio))
        present = sorted(set(codes.tolist()))
        per_stratum = [scaled_imbalance(arms[codes == s], ratio) for s in present]
        ends += per_stratum
        within.append(float(np.mean(per_stratum)))
        level_of = {f: np.array([levels[c][f] for c in codes]) for f in result.factors}
        marginal.append(
            float(
                np.mean(
                    [
                        scaled_imbalance(arms[level_of[f] == v], ratio)
                        for f in result.factors
                        for v in sorted(set(level_of[f]))
                    ]
                )
            )
        )
        overall.append(convergence_guesses(arms, np.zeros(len(arms)), ratio))
        stratum.append(convergence_guesses(arms, codes, ratio))
    imbalance, imbalance_se = mean_and_se(final)
    within_mean, within_se = mean_and_se(within)
    marginal_mean, marginal_se = mean_and_se(marginal)
    guess, guess_se = mean_and_se(overall)
    guess_stratum, guess_stratum_se = mean_and_se(stratum)
    return {
        "label": "stratified_blocks(block_sizes=[4])",
        "scheme": "stratified_blocks",
        "parameters": "block_sizes=[4], arms=[A, B]",
        "n": 60,
        "n_sim": 100,
        "imbalance_mean": imbalance,
        "imbalance_se": imbalance_se,
        "imbalance_p95": float(np.quantile(final, 0.95)),
        "imbalance_max": max(final),
        "p_balanced": float(np.mean(np.array(final) == 0)),
        "within_strata_imbalance_mean": within_mean,
        "within_strata_imbalance_se": within_se,
        "end_imbalance_p95": float(np.quantile(ends, 0.95, method="inverted_cdf")),
        "marginal_imbalance_mean": marginal_mean,
        "marginal_imbalance_se": marginal_se,
        "block_end_imbalance_max": 0.0,  # completed blocks are balanced (permuted blocks)
        "p_guess_overall": guess,
        "p_guess_overall_se": guess_se,
        "p_guess_within_stratum": guess_stratum,
        "p_guess_within_stratum_se": guess_stratum_se,
    }


STRATA = {"site": {"Copenhagen": 0.5, "Odense": 0.3, "Frederiksberg": 0.2}, "employed_prev5y": [0, 1]}


def test_compare_schemes_one_row_per_scheme():
    specs = [
        {"scheme": "permuted_blocks", "block_sizes": (4, 6), "label": "blocks 4/6"},
        {"scheme": "stratified_blocks", "block_sizes": (4,)},
    ]
    table = compare_schemes(specs, n=60, n_sim=100, seed=11, strata=STRATA)
    assert list(table.columns) == list(COMPARE_COLUMNS)
    assert len(table) == 2
    assert list(table.label) == ["blocks 4/6", "stratified_blocks(block_sizes=[4])"]
    assert (table.block_end_imbalance_max == 0).all()
    # stratified blocks balance within strata; unstratified blocks balance overall
    blocks, stratified = table.iloc[0], table.iloc[1]
    assert (
        blocks.imbalance_mean <= 3
        and blocks.within_strata_imbalance_mean > stratified.within_strata_imbalance_mean
    )
    single = simulate_scheme("stratified_blocks", 60, n_sim=100, seed=11, strata=STRATA, block_sizes=(4,))
    row, ref = table.iloc[1].to_dict(), single.summary_row()
    for key in COMPARE_COLUMNS:
        if isinstance(ref[key], float) and math.isnan(ref[key]):
            assert math.isnan(row[key]), key
        else:
            assert row[key] == ref[key], key
    # every column against its direct computation from the simulated allocations, in the documented order
    direct = direct_summary(single)
    assert list(direct) == list(COMPARE_COLUMNS)
    for key, value in direct.items():
        expected = pytest.approx(value, rel=1e-12, abs=1e-15) if isinstance(value, float) else value
        assert ref[key] == expected, key


def test_compare_with_unstratified_and_minimization():
    pytest.importorskip("ipstrial.randomization.simple")
    pytest.importorskip("ipstrial.randomization.minimization")
    specs = [
        {"scheme": "simple"},
        {"scheme": "biased_coin", "p": 2 / 3},
        {"scheme": "minimization", "p": 0.8},
    ]
    table = compare_schemes(specs, n=60, n_sim=60, seed=12, strata=STRATA)
    assert len(table) == 3 and list(table.columns) == list(COMPARE_COLUMNS)
    assert table.block_end_imbalance_max.isna().all()
    simple_row, minim = table.iloc[0], table.iloc[2]
    assert minim.marginal_imbalance_mean < simple_row.marginal_imbalance_mean


def test_same_seed_same_bits():
    strata = pd.DataFrame({"site": ["a", "b", "a", "c", "b", "a", "c", "a"] * 3})
    one = simulate_scheme("stratified_blocks", 24, n_sim=30, seed=13, strata=strata, block_sizes=(2, 4))
    two = simulate_scheme("stratified_blocks", 24, n_sim=30, seed=13, strata=strata, block_sizes=(2, 4))
    other = simulate_scheme("stratified_blocks", 24, n_sim=30, seed=14, strata=strata, block_sizes=(2, 4))
    assert np.array_equal(one.allocations, two.allocations)
    assert np.array_equal(one.guess_overall, two.guess_overall)
    assert not np.array_equal(one.allocations, other.allocations)
    specs = [
        {"scheme": "permuted_blocks", "block_sizes": (4,)},
        {"scheme": "stratified_blocks", "block_sizes": (4,)},
    ]
    pd.testing.assert_frame_equal(
        compare_schemes(specs, 40, n_sim=20, seed=3, strata=STRATA),
        compare_schemes(specs, 40, n_sim=20, seed=3, strata=STRATA),
    )


def test_sequences_come_from_the_public_functions():
    simple_module = pytest.importorskip("ipstrial.randomization.simple")
    result = simulate_scheme("biased_coin", 25, n_sim=5, seed=15, arms=("X", "Y", "Z"), p=0.7)
    for i, s in enumerate(result.sim_seeds):
        listed = simple_module.biased_coin(25, ["X", "Y", "Z"], p=0.7, seed=int(s)).arms
        assert list(np.asarray(["X", "Y", "Z"])[result.allocations[i]]) == list(listed)


def minimization_scores(levels: list[tuple[str, ...]], arms: np.ndarray, k: int, j: int) -> list[int]:
    """Pocock & Simon's total range imbalance G(c) (equal weights and ratio) that allocating participant
    ``j`` to arm ``c`` would create over their levels, from the allocations of the participants before."""
    scores = []
    for c in range(k):
        total = 0
        for f, level in enumerate(levels[j]):
            counts = [sum(1 for i in range(j) if levels[i][f] == level and arms[i] == a) for a in range(k)]
            counts[c] += 1
            total += max(counts) - min(counts)
        scores.append(total)
    return scores


@pytest.mark.parametrize(
    "strata",
    [
        {"site": ["a", "b", "c"], "sex": {"f": 0.4, "m": 0.6}},  # drawn: each sequence its own participants
        pd.DataFrame({"site": list("abcabbacca") * 3, "sex": list("fm") * 15}),  # the same in every sequence
    ],
)
def test_simulated_minimization_follows_the_rule_in_every_sequence(strata):
    """Deterministic minimization (p = 1): every allocation after the first is an arm with the smallest
    total imbalance G over the participant's own levels in its own sequence (ties broken at random)."""
    pytest.importorskip("ipstrial.randomization.minimization")
    result = simulate_scheme(
        "minimization", 30, n_sim=12, seed=21, strata=strata, arms=("A", "B", "C"), p=1.0
    )
    names = [tuple(part.split("=")[1] for part in label.split(", ")) for label in result.strata_labels]
    assert result.sim_seeds is None
    for arms, codes in zip(result.allocations, result.strata_codes, strict=True):
        levels = [names[c] for c in codes]
        for j in range(1, len(arms)):
            scores = minimization_scores(levels, arms, 3, j)
            assert scores[arms[j]] == min(scores), (j, scores, arms[j])


def test_rows_and_plot():
    result = simulate_scheme("permuted_blocks", 24, n_sim=50, seed=16, block_sizes=(4,), strata=STRATA)
    frame = result.to_frame()
    assert set(frame.estimand) == {"mean", "proportion"}
    assert set(frame.quantity) == {"expected_abs_imbalance", "p_correct_guess"}
    assert len(frame) == 5
    json.dumps(result.to_dict(), allow_nan=False)
    assert result.plot().get_ylabel() == "expected absolute imbalance"
    assert len(result.plot(what="guess").lines) == 2


def test_scheme_errors():
    with pytest.raises(DesignError, match="unknown scheme"):
        simulate_scheme("urn", 10)
    with pytest.raises(DesignError, match="needs strata"):
        simulate_scheme("stratified_blocks", 10, block_sizes=(2,))
    with pytest.raises(DesignError, match="needs block_sizes"):
        simulate_scheme("permuted_blocks", 10)
    with pytest.raises(DesignError, match="multiples"):
        simulate_scheme("permuted_blocks", 10, block_sizes=(3,))
    with pytest.raises(DesignError, match="does not take"):
        simulate_scheme("permuted_blocks", 10, block_sizes=(2,), p=0.7)
    with pytest.raises(DesignError, match="n must be"):
        simulate_scheme("permuted_blocks", 0, block_sizes=(2,))
    with pytest.raises(DesignError, match="rows but n"):
        simulate_scheme("stratified_blocks", 10, block_sizes=(2,), strata=pd.DataFrame({"s": ["a"] * 9}))
    with pytest.raises(TrialDataError, match="missing stratification"):
        simulate_scheme(
            "stratified_blocks", 3, block_sizes=(2,), strata=pd.DataFrame({"s": ["a", None, "b"]})
        )
    with pytest.raises(DesignError, match="sum to 1"):
        simulate_scheme("stratified_blocks", 3, block_sizes=(2,), strata={"s": {"a": 0.5, "b": 0.6}})
    with pytest.raises(DesignError, match="scheme"):
        compare_schemes([{"block_sizes": (2,)}], 10, n_sim=5, seed=1)
