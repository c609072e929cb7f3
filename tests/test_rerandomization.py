"""Minimization (ipstrial.randomization.minimization) and re-randomization inference
(ipstrial.randomization.rerandomization).

References used here, all independent of the code under test:

* minimization: allocations worked out by hand (comments below) and closed-form allocation
  probabilities of Pocock & Simon's rule;
* the re-randomization p-value: exact hypergeometric sums (Fisher's exact test; for equal arm sizes
  the two-sided Fisher p and the |risk difference| p coincide, checked against scipy) and the exact
  unconditional p-value under simple randomization (binomial mixture of hypergeometrics), each
  computed with exact integer arithmetic;
* block properties: checked against the definition of permuted blocks, written out here.

Monte Carlo tolerances: an estimated p-value ``(1 + X)/(1 + n)`` with ``X ~ Binomial(n, p)`` has
standard error ``sqrt(p (1 - p) / n)`` and a bias below ``1/(n + 1)``; agreement is required within
``4 SE + 1/(n + 1)`` (a false alarm has probability about 6e-5 per comparison).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import ARMS

from ipstrial.errors import DesignError, EstimationError, ParameterError, TrialDataError
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import stratified_blocks
from ipstrial.randomization.minimization import minimization
from ipstrial.randomization.rerandomization import (
    RerandomizationResult,
    replay_design,
    rerandomization_test,
)


def within_mc(estimate: float, exact: float, n: int) -> bool:
    """|estimate - exact| <= 4 SE + 1/(n + 1), SE = sqrt(p (1 - p) / n) at the exact p."""
    return abs(estimate - exact) <= 4 * math.sqrt(exact * (1 - exact) / n) + 1 / (n + 1)


# ============================================================================ minimization
# Hand-worked example. Two arms A:B = 2:1, factors sex (F/M) and site (X/Y/Z), p = 1 (always the
# preferred arm), range imbalance. Ratio-weighted counts x_A/2 and x_B/1 are doubled to integers:
# y = (x_A, 2 x_B). G(c) = w_sex * range(sex level) + w_site * range(site level) after adding the
# participant to arm c. The first participant is randomised simply (A with probability 2/3).
#
# Weights (1, 1), first participant A:
#   1 (F,Z)  first -> A                                  F=(1,0) Z=(1,0)
#   2 (M,Y)  A: M(1,0)->1 + Y(1,0)->1 = 2;  B: M(0,2)->2 + Y(0,2)->2 = 4        -> A
#   3 (F,Z)  A: F(2,0)->2 + Z(2,0)->2 = 4;  B: F(1,2)->1 + Z(1,2)->1 = 2        -> B
#   4 (F,Y)  A: F(2,2)->0 + Y(2,0)->2 = 2;  B: F(1,4)->3 + Y(1,2)->1 = 4        -> A
#   5 (F,X)  A: F(3,2)->1 + X(1,0)->1 = 2;  B: F(2,4)->2 + X(0,2)->2 = 4        -> A
#   6 (F,Z)  A: F(4,2)->2 + Z(2,2)->0 = 2;  B: F(3,4)->1 + Z(1,4)->3 = 4        -> A
#   7 (F,Y)  A: F(5,2)->3 + Y(3,0)->3 = 6;  B: F(4,4)->0 + Y(2,2)->0 = 0        -> B
#   8 (F,Y)  A: F(5,4)->1 + Y(3,2)->1 = 2;  B: F(4,6)->2 + Y(2,4)->2 = 4        -> A
#   => A A B A A A B A
# Weights (1, 1), first participant B:
#   1 (F,Z) -> B: F=(0,2) Z=(0,2);  2 (M,Y) as above -> A
#   3 (F,Z)  A: F(1,2)->1 + Z(1,2)->1 = 2;  B: F(0,4)->4 + Z(0,4)->4 = 8        -> A
#   from here the counts of F, Y, X, Z equal those of the first branch after 3   -> A A A B A
#   => B A A A A A B A
# Weights (1, 4) (site weighs four times sex), first participant A:
#   2 (M,Y)  A: 1 + 4*1 = 5;   B: 2 + 4*2 = 10                                   -> A
#   3 (F,Z)  A: 2 + 4*2 = 10;  B: 1 + 4*1 = 5                                    -> B
#   4 (F,Y)  A: F(2,2)->0 + 4*Y(2,0)->8 = 8;  B: F(1,4)->3 + 4*Y(1,2)->4 = 7      -> B  (site wins)
#   5 (F,X)  F=(1,4): A: F(2,4)->2 + 4*X(1,0)->4 = 6;  B: F(1,6)->5 + 4*2 = 13   -> A
#   6 (F,Z)  F=(2,4) Z=(1,2): A: F(3,4)->1 + 4*Z(2,2)->0 = 1;  B: 4 + 4*3 = 16   -> A
#   7 (F,Y)  F=(3,4) Y=(1,2): A: F(4,4)->0 + 4*Y(2,2)->0 = 0;  B: 3 + 4*3 = 15   -> A
#   8 (F,Y)  F=(4,4) Y=(2,2): A: F(5,4)->1 + 4*Y(3,2)->1 = 5;  B: 2 + 4*2 = 10   -> A
#   => A A B B A A A A
# Weights (1, 4), first participant B:
#   3 (F,Z)  F=(0,2) Z=(0,2): A: 1 + 4*1 = 5;  B: 4 + 4*4 = 20                  -> A
#   then F=(1,2) Y=(1,0) X=() Z=(1,2) as in the first branch after 3            -> B A A A A
#   => B A A B A A A A
# Variance with two arms: k sum y^2 - (sum y)^2 = (y_A - y_B)^2, the squared range, so with
# weights (1, 1) e.g. step 4 gives A: 0 + 4 = 4 < B: 9 + 1 = 10; every step keeps the choice above.
HAND = pd.DataFrame(
    [("F", "Z"), ("M", "Y"), ("F", "Z"), ("F", "Y"), ("F", "X"), ("F", "Z"), ("F", "Y"), ("F", "Y")],
    columns=["sex", "site"],
)
HAND_LISTS = {
    ((1, 1), "A"): "AABAAABA",
    ((1, 1), "B"): "BAAAAABA",
    ((1, 4), "A"): "AABBAAAA",
    ((1, 4), "B"): "BAABAAAA",
}


@pytest.mark.parametrize("weights", [(1, 1), (1, 4)])
@pytest.mark.parametrize("imbalance", ["range", "variance"])
def test_deterministic_minimization_gives_the_hand_worked_allocations(weights, imbalance):
    seen = set()
    for seed in range(12):
        alloc = minimization(
            HAND, ("A", "B"), weights=weights, p=1.0, imbalance=imbalance, ratio=(2, 1), seed=seed
        )
        arms = "".join(alloc.arms)
        assert arms == HAND_LISTS[(weights, arms[0])], (seed, arms)
        seen.add(arms[0])
    assert seen == {"A", "B"}  # both branches of the random first allocation were checked


def test_minimization_list_layout_and_parameters():
    alloc = minimization(HAND, ("A", "B"), weights={"site": 4}, p=0.9, ratio=(2, 1), seed=3)
    assert isinstance(alloc, AllocationList)
    assert alloc.scheme == "minimization"
    assert list(alloc.frame.columns) == ["sequence", "stratum", "block_id", "block_size", "position", "arm"]
    assert alloc.frame["sequence"].tolist() == list(range(1, 9))
    assert alloc.frame["stratum"].iloc[0] == "sex=F, site=Z"
    assert (alloc.frame[["block_id", "block_size", "position"]] == 0).all().all()
    assert alloc.parameters == {
        "arms": ["A", "B"],
        "factors": ["sex", "site"],
        "levels": {"sex": ["F", "M"], "site": ["X", "Y", "Z"]},
        "weights": [1.0, 4.0],
        "p": 0.9,
        "imbalance": "range",
        "ratio": [2, 1],
        "n": 8,
    }
    assert alloc.seed == 3


def test_same_seed_same_minimization_list_and_other_seed_differs():
    factors = _factor_frame(200, seed=4)
    a = minimization(factors, ARMS, p=0.8, seed=2012)
    b = minimization(factors, ARMS, p=0.8, seed=2012)
    c = minimization(factors, ARMS, p=0.8, seed=2013)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.frame.index.equals(factors.index)
    assert a.arms.tolist() != c.arms.tolist()


def _factor_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(["female", "male"], n),
            "site": rng.choice(["Copenhagen", "Frederiksberg", "Odense"], n, p=[0.5, 0.3, 0.2]),
            "age": rng.choice(["18-29", "30-44", "45+"], n),
        },
        index=pd.Index([f"P{i:04d}" for i in range(n)], name="participant_id"),
    )


def _worst_marginal_imbalance(codes: np.ndarray, factors: pd.DataFrame, k: int) -> np.ndarray:
    """Per replicate: the largest (max - min arm count) over all levels of all factors."""
    worst = np.zeros(codes.shape[0], dtype=np.int64)
    for column in factors.columns:
        for level in factors[column].unique():
            member = (factors[column] == level).to_numpy()
            counts = np.stack([(codes[:, member] == a).sum(axis=1) for a in range(k)], axis=1)
            worst = np.maximum(worst, counts.max(axis=1) - counts.min(axis=1))
    return worst


@pytest.mark.parametrize("imbalance", ["range", "variance"])
def test_minimization_keeps_marginal_imbalance_below_simple_randomization(imbalance):
    factors = _factor_frame(300, seed=20)
    design = {
        "scheme": "minimization",
        "arms": ARMS,
        "factors": list(factors.columns),
        "imbalance": imbalance,
    }
    mini = _worst_marginal_imbalance(
        replay_design(factors, design, n_resamples=200, seed=1).codes, factors, 3
    )
    simple = _worst_marginal_imbalance(
        replay_design(factors, {"scheme": "simple", "arms": ARMS}, n_resamples=200, seed=1).codes, factors, 3
    )
    # simple randomization: the worst of 8 level imbalances of ~100 participants is ~18 on average;
    # minimization with p = 0.8 keeps it near 3
    assert simple.mean() > 12
    assert mini.mean() < 0.3 * simple.mean()
    assert mini.mean() < 5


def test_minimization_allocation_probabilities_follow_the_rule():
    # Two participants with the same levels. After the first (arm a1), the second's preferred arm is
    # any other arm: two arms, p = 0.8 -> P(second != first) = 0.8.
    same = pd.DataFrame({"sex": ["F", "F"], "site": ["X", "X"]})
    n = 20_000
    two = replay_design(
        same,
        {"scheme": "minimization", "arms": ["A", "B"], "factors": ["sex", "site"], "p": 0.8},
        n_resamples=n,
        seed=5,
    )
    share = np.mean(two.codes[:, 1] != two.codes[:, 0])
    assert abs(share - 0.8) < 4 * math.sqrt(0.8 * 0.2 / n)
    # Three arms, p = 0.7: the two other arms tie and one of them is preferred at random, so
    # P(second = first) = (1 - p)/2 = 0.15 and each other arm 0.7/2 + 0.3/4 = 0.425.
    three = replay_design(
        same,
        {"scheme": "minimization", "arms": ARMS, "factors": ["sex", "site"], "p": 0.7},
        n_resamples=n,
        seed=6,
    )
    first, second = three.codes[:, 0], three.codes[:, 1]
    assert abs(np.mean(second == first) - 0.15) < 4 * math.sqrt(0.15 * 0.85 / n)
    nxt = (first + 1) % 3
    assert abs(np.mean(second == nxt) - 0.425) < 4 * math.sqrt(0.425 * 0.575 / n)
    # the first participant is randomised simply with the ratio: 2:1 -> P(A) = 2/3
    ratio = replay_design(
        same,
        {"scheme": "minimization", "arms": ["A", "B"], "factors": ["sex"], "ratio": [2, 1]},
        n_resamples=n,
        seed=7,
    )
    assert abs(np.mean(ratio.codes[:, 0] == 0) - 2 / 3) < 4 * math.sqrt(2 / 9 / n)


def test_minimization_replays_use_the_design_p_weights_ratio_and_order():
    alloc = minimization(HAND, ("A", "B"), weights=(1, 4), p=1.0, ratio=(2, 1), seed=1)
    data = HAND.assign(arm=alloc.arms)
    replays = replay_design(data, alloc, n_resamples=3000, seed=2)
    lists = Counter("".join(row) for row in replays.labels())
    assert set(lists) == {HAND_LISTS[((1, 4), "A")], HAND_LISTS[((1, 4), "B")]}
    share_a = lists[HAND_LISTS[((1, 4), "A")]] / 3000
    assert abs(share_a - 2 / 3) < 4 * math.sqrt(2 / 9 / 3000)
    # rows in another order with an enrolment-order column give the same replays, row for row
    shuffled = data.assign(enrolled=np.arange(8)).sample(frac=1, random_state=3)
    again = replay_design(shuffled, alloc, n_resamples=3000, seed=2, order="enrolled")
    np.testing.assert_array_equal(again.codes, replays.codes[:, shuffled["enrolled"].to_numpy()])


# ============================================================================ p-value vs exact references
def _two_arm_binary(events_t: int, events_c: int, size: int) -> pd.DataFrame:
    arm = ["T"] * size + ["C"] * size
    y = [1] * events_t + [0] * (size - events_t) + [1] * events_c + [0] * (size - events_c)
    order = np.random.default_rng(0).permutation(2 * size)
    return pd.DataFrame({"arm": np.asarray(arm)[order], "y": np.asarray(y)[order]})


def _hypergeom(total: int, successes: int, drawn: int, a: int) -> Fraction:
    return Fraction(
        math.comb(successes, a) * math.comb(total - successes, drawn - a), math.comb(total, drawn)
    )


def _exact_p(total: int, successes: int, observed_rd: Fraction, sizes: range, weight) -> Fraction:
    """sum over treatment sizes n1 (weight(n1)) of P(|RD| >= |RD_obs| | n1), exact fractions."""
    p = Fraction(0)
    for n1 in sizes:
        n0 = total - n1
        for a in range(max(0, successes - n0), min(successes, n1) + 1):
            rd = Fraction(a, n1) - Fraction(successes - a, n0)
            if abs(rd) >= abs(observed_rd):
                p += weight(n1) * _hypergeom(total, successes, n1, a)
    return p


def test_permutation_p_value_agrees_with_fishers_exact_test():
    from scipy.stats import fisher_exact

    data = _two_arm_binary(13, 6, 20)  # RD = 13/20 - 6/20 = 0.35
    rd = Fraction(7, 20)
    exact_two = float(_exact_p(40, 19, rd, range(20, 21), lambda n1: 1))
    exact_greater = float(sum(_hypergeom(40, 19, 20, a) for a in range(13, 20)))
    # equal arms: the hypergeometric is symmetric, so Fisher's two-sided p (tables no more probable
    # than the observed) is the |RD| p; one-sided Fisher is the upper tail
    assert exact_two == pytest.approx(fisher_exact([[13, 7], [6, 14]])[1], rel=1e-12)
    assert exact_greater == pytest.approx(
        fisher_exact([[13, 7], [6, 14]], alternative="greater")[1], rel=1e-12
    )
    n = 20_000
    design = {"scheme": "permutation", "arms": ["T", "C"]}
    two = rerandomization_test(data, "y", "arm", "T", "C", design=design, n_resamples=n, seed=11)
    assert isinstance(two, RerandomizationResult)
    assert two.observed[0] == pytest.approx(0.35, abs=1e-15)
    assert within_mc(two.p_value[0], exact_two, n)
    assert two.mc_se[0] == pytest.approx(math.sqrt(two.p_value[0] * (1 - two.p_value[0]) / n))
    greater = rerandomization_test(
        data, "y", "arm", "T", "C", design=design, n_resamples=n, seed=12, alternative="greater"
    )
    assert within_mc(greater.p_value[0], exact_greater, n)
    # the observed allocation counts once: p = (1 + count)/(1 + n)
    count = np.sum(np.abs(two.distribution[:, 0]) >= 0.35 - 1e-12)
    assert two.p_value[0] == (1 + count) / (1 + n)


def test_simple_randomization_p_value_agrees_with_its_exact_value():
    data = _two_arm_binary(13, 6, 20)
    rd = Fraction(7, 20)
    # arms drawn independently with probability 1/2: n1 ~ Binomial(40, 1/2); replays with an empty
    # arm (n1 = 0 or 40) are left out, so the exact value conditions on 1 <= n1 <= 39
    norm = Fraction(2**40 - 2, 2**40)
    exact = float(_exact_p(40, 19, rd, range(1, 40), lambda n1: Fraction(math.comb(40, n1), 2**40) / norm))
    n = 20_000
    result = rerandomization_test(
        data, "y", "arm", control="C", design={"scheme": "simple", "arms": ["T", "C"]}, n_resamples=n, seed=13
    )
    assert within_mc(result.p_value[0], exact, n)
    # Note: unconditionally on the arm sizes this is not Fisher's p (0.0343 here against 0.0562): with
    # unequal arms the risk difference orders the tables differently. Fisher's test is the
    # re-randomization test conditional on the arm sizes, i.e. the "permutation" design above.
    assert result.n_defined[0] == n


# ============================================================================ stratified-block replays
def _strata_data(n: int = 240, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "participant_id": [f"P{i:03d}" for i in range(n)],
            "site": rng.choice(["Copenhagen", "Frederiksberg", "Odense"], n),
            "sex": rng.choice(["female", "male"], n),
            "y": rng.integers(0, 2, n),
            "hours": rng.gamma(2.0, 50.0, n),
        }
    )


@pytest.mark.parametrize(("arms", "sizes", "ratio"), [(ARMS, (3, 6), None), (("IPS", "SAU"), (3, 6), (2, 1))])
def test_stratified_block_replays_keep_blocks_balanced_and_strata_sizes(arms, sizes, ratio):
    data = _strata_data()
    alloc = stratified_blocks(data[["site", "sex"]], arms, sizes, ratio=ratio, seed=4)
    data["arm"] = alloc.arms
    replays = replay_design(data, alloc, n_resamples=60, seed=9, details=True)
    r = np.ones(len(arms), dtype=int) if ratio is None else np.asarray(ratio)
    stratum = (data["site"] + "/" + data["sex"]).to_numpy()
    strata_sizes = Counter(stratum)
    assert replays.codes.shape == (60, len(data))
    for b in range(60):
        codes, block = replays.codes[b], replays.block[b]
        size, position = replays.block_size[b], replays.position[b]
        assert len(np.unique(block)) == len({(s, k) for s, k in zip(stratum, block, strict=True)})
        for s, count in strata_sizes.items():
            rows = np.flatnonzero(stratum == s)
            assert len(rows) == count
            ids = block[rows]
            runs = ids[np.r_[True, ids[1:] != ids[:-1]]]
            assert len(set(runs)) == len(runs)  # each block is one contiguous run in order of arrival
            for i, block_id in enumerate(runs):
                members = rows[ids == block_id]
                length = int(size[members[0]])
                assert length in sizes and (size[members] == length).all()
                assert position[members].tolist() == list(range(1, len(members) + 1))
                quota = r * length // r.sum()
                counts = np.bincount(codes[members], minlength=len(arms))
                if len(members) == length:
                    assert counts.tolist() == quota.tolist()
                else:
                    assert i == len(runs) - 1 and (counts <= quota).all()
    # the replays differ from each other and from the observed list
    assert len({row.tobytes() for row in replays.codes}) == 60


def test_allocation_list_and_dict_designs_give_the_same_test():
    data = _strata_data()
    alloc = stratified_blocks(data[["site", "sex"]], ARMS, (3, 6), seed=4)
    data["arm"] = alloc.arms
    as_dict = {
        "scheme": "stratified_blocks",
        "factors": ["site", "sex"],
        "block_sizes": [3, 6],
        "arms": list(ARMS),
    }
    a = rerandomization_test(data, "y", "arm", "IPS", "SAU", design=alloc, n_resamples=500, seed=3)
    b = rerandomization_test(data, "y", "arm", "IPS", "SAU", design=as_dict, n_resamples=500, seed=3)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert a.p_value[0] == b.p_value[0]
    c = rerandomization_test(data, "y", "arm", "IPS", "SAU", design=alloc, n_resamples=500, seed=4)
    assert not np.array_equal(a.distribution, c.distribution)
    assert json.dumps(a.to_dict(), allow_nan=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = a.plot()
    assert len(ax.patches) == 60  # the histogram's bars
    plt.close(ax.figure)
    row = a.to_frame().iloc[0]
    assert row["contrast"] == "IPS vs SAU" and row["estimand"] == "risk_difference"
    assert "stratified permuted blocks (strata site x sex; block sizes 3, 6; ratio 1:1:1)" in row["method"]
    assert row["n"] == int(data["arm"].isin(["IPS", "SAU"]).sum())


def test_vectorised_default_statistic_equals_the_callable_path():
    data = _strata_data()
    data["arm"] = stratified_blocks(data[["site", "sex"]], ARMS, (3, 6), seed=4).arms
    design = {
        "scheme": "stratified_blocks",
        "factors": ["site", "sex"],
        "block_sizes": [3, 6],
        "arms": list(ARMS),
    }

    def risk_difference(y, labels):
        return np.mean(y[labels == "IPSE"]) - np.mean(y[labels == "SAU"])

    fast = rerandomization_test(data, "y", "arm", "IPSE", "SAU", design=design, n_resamples=400, seed=5)
    slow = rerandomization_test(
        data,
        "y",
        "arm",
        "IPSE",
        "SAU",
        design=design,
        statistic=risk_difference,
        n_resamples=400,
        seed=5,
        estimand="risk_difference",
    )
    np.testing.assert_allclose(fast.distribution, slow.distribution, rtol=0, atol=1e-12)
    assert fast.observed[0] == pytest.approx(slow.observed[0], abs=1e-12)
    assert fast.p_value[0] == slow.p_value[0]
    # continuous outcome with missing values (complete case): the missing are replayed, not analysed
    data.loc[data.index[::7], "hours"] = np.nan

    def mean_difference(y, labels):
        return np.mean(y[labels == "IPS"]) - np.mean(y[labels == "SAU"])

    fast = rerandomization_test(
        data, "hours", "arm", "IPS", "SAU", design=design, n_resamples=300, seed=6, missing="complete-case"
    )
    slow = rerandomization_test(
        data,
        "hours",
        "arm",
        "IPS",
        "SAU",
        design=design,
        statistic=mean_difference,
        n_resamples=300,
        seed=6,
        missing="complete-case",
        estimand="mean_difference",
    )
    np.testing.assert_allclose(fast.distribution, slow.distribution, rtol=0, atol=1e-9)
    extras = fast.to_frame().iloc[0]
    assert extras["excluded_IPS"] + extras["excluded_SAU"] == int(
        data.loc[data["arm"].isin(["IPS", "SAU"]), "hours"].isna().sum()
    )


def test_minimization_design_replayed_in_the_actual_order_of_arrival():
    factors = _factor_frame(150, seed=2)
    alloc = minimization(factors, ARMS, p=0.8, seed=7)
    data = factors.assign(
        arm=alloc.arms, y=np.random.default_rng(1).integers(0, 2, 150), enrolled=np.arange(150)
    )
    base = rerandomization_test(data, "y", "arm", control="SAU", design=alloc, n_resamples=300, seed=8)
    shuffled = data.sample(frac=1, random_state=2)
    same = rerandomization_test(
        shuffled, "y", "arm", control="SAU", design=alloc, n_resamples=300, seed=8, order="enrolled"
    )
    np.testing.assert_allclose(same.distribution, base.distribution, atol=1e-12)
    other = rerandomization_test(  # wrong order
        shuffled, "y", "arm", control="SAU", design=alloc, n_resamples=300, seed=8
    )
    assert not np.allclose(other.distribution, base.distribution)


# ============================================================================ interval by inversion
def _continuous(n: int, arms, effect: dict, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.asarray(arms, dtype=object)[rng.permutation(np.arange(n) % len(arms))]
    y = rng.normal(10, 3, n) + np.array([effect.get(a, 0.0) for a in arm])
    return pd.DataFrame({"arm": arm, "y": y})


@pytest.mark.parametrize("arms", [("T", "C"), ("T", "U", "C")])
def test_interval_is_the_set_of_effects_the_test_does_not_reject(arms):
    data = _continuous(60, arms, {"T": 2.0, "U": 1.0}, seed=3)
    design = {"scheme": "permutation", "arms": list(arms)}
    treatments = [a for a in arms if a != "C"]
    res = rerandomization_test(
        data, "y", "arm", treatments, "C", design=design, n_resamples=3000, seed=4, interval=True
    )
    means = data.groupby("arm")["y"].mean()
    for j, treated in enumerate(treatments):
        low, high = res.ci_low[j], res.ci_high[j]
        assert low < res.observed[j] < high
        # H: Y(treated) = Y(C) + delta, any third arm at its observed mean difference from C: move
        # every participant to the control scale and test "no effect" with the same replays
        plug = {a: (means[a] - means["C"] if a not in (treated, "C") else 0.0) for a in arms}
        on_treated = (data["arm"] == treated).to_numpy()

        def p_at(delta, treated=treated, plug=plug, on_treated=on_treated):
            shifted = data.assign(y=data["y"] - delta * on_treated - data["arm"].map(plug).to_numpy())
            again = rerandomization_test(
                shifted, "y", "arm", treated, "C", design=design, n_resamples=3000, seed=4
            )
            return again.p_value[0]

        eps = 1e-6 * (high - low)
        assert p_at(low - eps) <= 0.05 < p_at(low + eps)
        assert p_at(high + eps) <= 0.05 < p_at(high - eps)
    assert res.to_frame()["ci_low"].tolist() == res.ci_low.tolist()


def test_interval_is_refused_for_a_binary_outcome_and_a_callable():
    data = _two_arm_binary(13, 6, 20)
    design = {"scheme": "permutation", "arms": ["T", "C"]}
    with pytest.raises(EstimationError, match="constant additive effect cannot hold for a 0/1"):
        rerandomization_test(
            data, "y", "arm", "T", "C", design=design, n_resamples=100, seed=1, interval=True
        )
    with pytest.raises(EstimationError, match="interval=True needs the default difference statistic"):
        rerandomization_test(
            data,
            "y",
            "arm",
            "T",
            "C",
            design=design,
            statistic=lambda y, a: 0.0,
            n_resamples=100,
            interval=True,
            estimand="risk_difference",
        )


# ============================================================================ bad input
def test_strata_with_missing_values_are_an_error_naming_the_column_and_ids():
    data = _strata_data()
    data["arm"] = stratified_blocks(data[["site", "sex"]], ARMS, (3, 6), seed=4).arms
    data.loc[[5, 17], "sex"] = None
    design = {
        "scheme": "stratified_blocks",
        "factors": ["site", "sex"],
        "block_sizes": [3, 6],
        "arms": list(ARMS),
    }
    with pytest.raises(TrialDataError, match=r"column 'sex': 2 missing values in a design factor") as info:
        rerandomization_test(
            data, "y", "arm", control="SAU", design=design, n_resamples=10, id="participant_id"
        )
    assert info.value.problems[0].ids == ("P005", "P017")


def test_missing_minimization_factors_are_an_error():
    factors = HAND.copy()
    factors.loc[3, "site"] = np.nan
    with pytest.raises(TrialDataError, match=r"column 'site': missing minimization factor") as info:
        minimization(factors, ("A", "B"), seed=1)
    assert info.value.problems[0].ids == ("3",)


def test_unseen_factor_levels_are_an_error():
    alloc = minimization(HAND, ("A", "B"), seed=1)
    data = HAND.assign(arm=alloc.arms, y=[0, 1] * 4)
    data.loc[2, "site"] = "W"
    with pytest.raises(TrialDataError, match=r"column 'site': level \['W'\] not in the design's levels"):
        rerandomization_test(data, "y", "arm", control="B", design=alloc, n_resamples=10)
    strata = _strata_data()
    blocks = stratified_blocks(strata[["site", "sex"]], ARMS, (3, 6), seed=1)
    strata["arm"] = blocks.arms
    strata.loc[0, "site"] = "Aarhus"
    with pytest.raises(
        TrialDataError, match=r"strata \['site=Aarhus, sex=.*'\] are not strata of the design"
    ):
        rerandomization_test(strata, "y", "arm", control="SAU", design=blocks, n_resamples=10)


@pytest.mark.parametrize("n", [0, -5, 2.5, True, "10"])
def test_n_resamples_must_be_a_whole_number_of_at_least_one(n):
    data = _two_arm_binary(5, 3, 10)
    design = {"scheme": "permutation", "arms": ["T", "C"]}
    with pytest.raises(ParameterError, match=r"n_resamples must be a whole number at least 1, got"):
        rerandomization_test(data, "y", "arm", "T", "C", design=design, n_resamples=n)
    with pytest.raises(ParameterError, match=r"n_resamples must be a whole number at least 1, got"):
        replay_design(data, design, arm="arm", n_resamples=n)


@pytest.mark.parametrize(("arms", "p"), [(("A", "B"), 0.5), (("A", "B"), 0.3), (ARMS, 1 / 3), (ARMS, 1.01)])
def test_p_outside_the_allowed_range(arms, p):
    with pytest.raises(DesignError, match=r"is outside \(1/k, 1\]"):
        minimization(HAND, arms, p=p, seed=1)
    data = HAND.assign(arm=[arms[i % len(arms)] for i in range(len(HAND))], y=1)
    design = {"scheme": "minimization", "arms": list(arms), "factors": ["sex", "site"], "p": p}
    with pytest.raises(DesignError, match=r"is outside \(1/k, 1\]"):
        rerandomization_test(data, "y", "arm", control=arms[-1], design=design, n_resamples=10)


def test_other_bad_designs():
    data = _two_arm_binary(5, 3, 10)
    with pytest.raises(DesignError, match=r"cannot replay scheme 'urn'; schemes that can be replayed"):
        rerandomization_test(data, "y", "arm", "T", "C", design={"scheme": "urn"}, n_resamples=10)
    with pytest.raises(DesignError, match=r"unknown keys \['block_size'\]"):
        rerandomization_test(
            data,
            "y",
            "arm",
            "T",
            "C",
            design={"scheme": "permuted_blocks", "block_size": [2]},
            n_resamples=10,
        )
    with pytest.raises(DesignError, match=r"imbalance='max' is not one of"):
        minimization(HAND, ("A", "B"), imbalance="max")
    with pytest.raises(DesignError, match=r"weights has 3 entries but there are 2 factors"):
        minimization(HAND, ("A", "B"), weights=(1, 2, 3))
    # a participant whose arm the design does not have (the design allocated everyone)
    third = data.assign(arm=np.where(np.arange(len(data)) < 3, "X", data["arm"]))
    with pytest.raises(TrialDataError, match=r"3 participants with an arm not in the design \['T', 'C'\]"):
        rerandomization_test(
            third, "y", "arm", "T", "C", design={"scheme": "simple", "arms": ["T", "C"]}, n_resamples=10
        )
    # a design arm absent from the data
    with pytest.raises(TrialDataError, match=r"arm 'X' is not an arm label in the data"):
        rerandomization_test(
            data, "y", "arm", "T", "X", design={"scheme": "simple", "arms": ["T", "X"]}, n_resamples=10
        )
    with pytest.raises(ParameterError, match=r"a callable statistic needs estimand="):
        rerandomization_test(
            data,
            "y",
            "arm",
            "T",
            "C",
            design={"scheme": "simple"},
            statistic=lambda y, a: 0.0,
            n_resamples=10,
        )
    with pytest.raises(ParameterError, match=r"control= must name the control arm"):
        rerandomization_test(data, "y", "arm", design={"scheme": "simple"}, n_resamples=10)


# ============================================================================ the statistic, never silently
def _stray(frame: pd.DataFrame) -> pd.DataFrame:
    """The trial with a stray 2 in the 0/1 outcome employed_18m (row position 3)."""
    data = frame.astype({"employed_18m": float})
    data.iloc[3, data.columns.get_loc("employed_18m")] = 2
    return data


PERMUTATION = {"scheme": "permutation"}


def test_a_binary_outcome_with_a_stray_value_is_an_error_not_a_mean_difference(frame):
    data = _stray(frame)
    with pytest.raises(
        TrialDataError, match=r"column 'employed_18m': the outcome is 0/1 except for 1 value \(2\)"
    ) as info:
        rerandomization_test(
            data, "employed_18m", "arm", control="SAU", design=PERMUTATION, n_resamples=20, seed=1
        )
    text = str(info.value)
    assert "participant id" not in text  # without id= the rows are named by position
    assert "row at position 3" in text and "statistic='mean_difference'" in text
    with pytest.raises(TrialDataError, match="participant id P0004"):
        rerandomization_test(
            data,
            "employed_18m",
            "arm",
            control="SAU",
            design=PERMUTATION,
            n_resamples=20,
            seed=1,
            id="participant_id",
        )
    # the caller's explicit choice is honoured either way
    mean = rerandomization_test(
        data,
        "employed_18m",
        "arm",
        control="SAU",
        design=PERMUTATION,
        n_resamples=20,
        seed=1,
        statistic="mean_difference",
    )
    assert mean.estimand == "mean_difference"
    with pytest.raises(TrialDataError, match=r"1 value other than 0/1 \(2\) \(row at position 3\)"):
        rerandomization_test(
            data,
            "employed_18m",
            "arm",
            control="SAU",
            design=PERMUTATION,
            n_resamples=20,
            seed=1,
            statistic="risk_difference",
        )


def test_the_default_statistic_follows_the_values_or_the_trial_role(frame, trial):
    run = dict(arm="arm", control="SAU", design=PERMUTATION, n_resamples=20, seed=1)
    assert rerandomization_test(frame, "employed_18m", **run).estimand == "risk_difference"
    assert (
        rerandomization_test(frame, "hours_18m", missing="complete-case", **run).estimand == "mean_difference"
    )
    # a Trial's role decides: binary -> risk difference, hours -> difference in means
    assert rerandomization_test(
        trial, "employed_18m", design=PERMUTATION, n_resamples=20, seed=1
    ).estimand == ("risk_difference")
    hours = rerandomization_test(
        trial, "hours_18m", design=PERMUTATION, n_resamples=20, seed=1, missing="complete-case"
    )
    assert hours.estimand == "mean_difference"
    with pytest.raises(ParameterError, match="the Trial declares 'hours_18m' as a number"):
        rerandomization_test(
            trial,
            "hours_18m",
            design=PERMUTATION,
            n_resamples=20,
            seed=1,
            missing="complete-case",
            statistic="risk_difference",
        )
    # a Trial cannot carry a stray 2 in its binary outcome: its own check refuses it
    from conftest import inklusion_trial

    with pytest.raises(TrialDataError, match="employed_18m"):
        inklusion_trial(_stray(frame))
    # an outcome mostly 0 with more than 10 % other values is a number
    mostly_zero = frame.assign(y=np.where(np.arange(len(frame)) % 8 == 0, 3.5, 0.0))
    assert rerandomization_test(mostly_zero, "y", **run).estimand == "mean_difference"


def test_an_estimand_that_contradicts_the_statistic_is_refused(frame):
    run = dict(arm="arm", control="SAU", design=PERMUTATION, n_resamples=20, seed=1, missing="complete-case")
    with pytest.raises(
        ParameterError,
        match=r"estimand='risk_difference' contradicts the statistic: 'hours_18m' "
        r"is not a 0/1 outcome, so the statistic is the difference in means",
    ):
        rerandomization_test(frame, "hours_18m", estimand="risk_difference", **run)
    with pytest.raises(ParameterError, match="estimand='mean_difference' contradicts the statistic"):
        rerandomization_test(frame, "employed_18m", estimand="mean_difference", **run)
    with pytest.raises(ParameterError, match="estimand='odds_ratio' contradicts the statistic"):
        rerandomization_test(frame, "employed_18m", statistic="risk_difference", estimand="odds_ratio", **run)
    same = rerandomization_test(frame, "hours_18m", estimand="mean_difference", **run)
    assert same.estimand == "mean_difference"


@pytest.mark.parametrize(
    ("design", "message"),
    [
        (
            {"scheme": "nope"},
            r"design=\{'scheme': 'nope'\}: cannot replay scheme 'nope'; schemes that can be replayed",
        ),
        ({"arms": ["IPS"]}, r"design=\{'arms': \['IPS'\]\}: the design dict needs a 'scheme'"),
        ("permuted_blocks", r"design='permuted_blocks': give the AllocationList of the trial"),
        (
            {"scheme": "permuted_blocks"},
            r"design=\{'scheme': 'permuted_blocks'\}: a permuted_blocks design needs 'block_sizes'",
        ),
        (
            {"scheme": "permuted_blocks", "block_sizes": [4]},
            r"design=\{'scheme': 'permuted_blocks', 'block_sizes': \[4\]\}: ",
        ),
    ],
)
def test_design_errors_name_the_design_argument(frame, design, message):
    with pytest.raises(DesignError, match=message):
        rerandomization_test(
            frame, "employed_18m", "arm", control="SAU", design=design, n_resamples=10, seed=1
        )
    with pytest.raises(DesignError, match=message):
        replay_design(frame, design, arm="arm", n_resamples=10, seed=1)


def test_an_allocation_list_of_other_length_than_the_data_is_a_design_error(frame):
    from ipstrial.randomization import permuted_blocks

    data = frame.iloc[:90]
    short = permuted_blocks(10, ARMS, [3], seed=1)
    message = (
        r"design= \(an AllocationList of 10 allocations, scheme 'permuted_blocks'\): the list has 10 "
        r"allocations and the data 90 participants, so it cannot have allocated them all"
    )
    with pytest.raises(DesignError, match=message) as info:
        replay_design(data, short, arm="arm", n_resamples=5, seed=1)
    assert "design={'scheme': 'permuted_blocks', 'arms': ['IPS', 'IPSE', 'SAU'], 'block_sizes': [3]" in str(
        info.value
    )
    with pytest.raises(DesignError, match=message):
        replay_design(data[["site"]], short, n_resamples=5, seed=1)  # without the arm column too
    with pytest.raises(DesignError, match=message):
        rerandomization_test(data, "employed_18m", "arm", control="SAU", design=short, n_resamples=5, seed=1)
    long = permuted_blocks(120, ARMS, [3], seed=1)
    with pytest.raises(DesignError, match="the list has 120 allocations and the data 90 participants"):
        rerandomization_test(data, "employed_18m", "arm", control="SAU", design=long, n_resamples=5, seed=1)
    # the list that allocated them is accepted
    exact = permuted_blocks(90, ARMS, [3], seed=1)
    data = data.assign(arm=exact.arms)
    assert replay_design(data, exact, arm="arm", n_resamples=5, seed=1).codes.shape == (5, 90)


def test_a_design_factor_or_order_that_is_the_arm_or_the_outcome_is_refused(frame, trial):
    run = dict(n_resamples=5, seed=1)
    blocks = {"scheme": "stratified_blocks", "factors": ["arm"], "block_sizes": [3]}
    with pytest.raises(DesignError, match=r"design=\{.*\}: the factors list 'arm', which is the arm column"):
        rerandomization_test(frame, "employed_18m", "arm", control="SAU", design=blocks, **run)
    with pytest.raises(DesignError, match=r"the factors list 'arm', which is the arm column"):
        replay_design(trial, {"scheme": "permutation", "factors": ["arm"]}, **run)
    outcome = {"scheme": "permutation", "factors": ["employed_18m"]}
    with pytest.raises(DesignError, match=r"the factors list 'employed_18m', which is an outcome"):
        rerandomization_test(trial, "employed_18m", design=outcome, **run)
    with pytest.raises(ParameterError, match=r"order='employed_18m' is an outcome of this analysis"):
        rerandomization_test(
            frame, "employed_18m", "arm", control="SAU", design=PERMUTATION, order="employed_18m", **run
        )


def test_an_arm_replayed_but_not_compared_may_have_no_known_outcome(frame):
    data = frame.astype({"employed_18m": float})
    data.loc[data.arm == "IPSE", "employed_18m"] = np.nan
    design = {"scheme": "permutation", "arms": ["IPS", "IPSE", "SAU"]}
    options = dict(design=design, n_resamples=200, seed=1, missing="complete-case", id="participant_id")
    result = rerandomization_test(data, "employed_18m", "arm", "IPS", "SAU", **options)
    assert dict(result.inputs.excluded) == {"IPS": 0, "IPSE": 241, "SAU": 0} and 0 < result.p_value < 1
    data.loc[data.arm == "IPS", "employed_18m"] = np.nan
    with pytest.raises(TrialDataError, match=r"no participant with a known outcome in arm\(s\) \['IPS'\]"):
        rerandomization_test(data, "employed_18m", "arm", "IPS", "SAU", **options)
