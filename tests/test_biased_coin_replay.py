"""Efron's biased coin as one vectorised step rule, and its replay in re-randomization inference.

References used here, all independent of the code under test:

* the allocation rule: a plain-Python transcription of the rule stated in ``biased_coin``'s docstring
  (Efron 1971, Biometrika 58:403, section 2, for two arms; the minimum-count generalisation for more),
  evaluated in exact rational arithmetic (``fractions.Fraction`` of the float ``u`` and ``p``), so it
  shares no floating-point expression with the kernel;
* the distribution of the final imbalance ``D_n = N_A - N_B``: dynamic programming over the signed
  Markov chain of Efron's transition rule (``D -> D + 1`` with probability 1/2 at 0, ``p`` below 0 and
  ``1 - p`` above 0), checked against Efron's limiting law ``P(|D| = 0) = 1 - q/p``,
  ``P(|D| = 2m) = (1 - (q/p)^2)(q/p)^(2m - 1)`` at large even ``n``; for three arms the same dynamic
  programming over the arm-count vectors with the docstring's probabilities (``p/|M|`` to each
  minimum-count arm, ``(1 - p)/(k - |M|)`` to each other arm, ``1/k`` when all arms are tied);
* the re-randomization p-value: the exact value by enumerating every allocation sequence of 12
  participants with its probability under the rule.

Monte Carlo bounds: chi-square goodness of fit with p > 1e-4, and for a p-value estimate
``4 SE + 1/(n + 1)`` (a false alarm about 6e-5 per comparison). All seeds are fixed.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ipstrial._random import resolved_streams
from ipstrial.errors import DesignError
from ipstrial.randomization import replay as replay_module
from ipstrial.randomization.rerandomization import replay_design, rerandomization_test
from ipstrial.randomization.simple import _biased_coin_batch, _biased_coin_step, biased_coin

PS = (0.55, 2 / 3, 0.9, 1.0)


# ============================================================================ the rule, transcribed
def rule(counts: list[int], u: float, p: float) -> int:
    """The arm of the next participant, from ``biased_coin``'s docstring, in exact arithmetic.

    Two arms: Efron's rule with D = N_A - N_B; D = 0 splits [0, 1) in halves (arm A below 1/2);
    otherwise u < p gives the under-represented arm. More arms: with M the arms with the fewest
    participants (arm order) and H the others, all tied gives the arm at place floor(k u); u < p the
    arm of M at place floor(|M| u / p); u >= p the arm of H at place floor(|H| (u - p) / (1 - p)).
    """
    k = len(counts)
    u_, p_ = Fraction(u), Fraction(p)
    if k == 2:
        d = counts[0] - counts[1]
        if d == 0:
            return 0 if u_ < Fraction(1, 2) else 1
        under, over = (0, 1) if d < 0 else (1, 0)
        return under if u_ < p_ else over
    fewest = min(counts)
    low = [i for i in range(k) if counts[i] == fewest]
    high = [i for i in range(k) if counts[i] != fewest]
    if not high:
        return math.floor(k * u_)
    if u_ < p_:
        return low[math.floor(len(low) * u_ / p_)]
    return high[math.floor(len(high) * (u_ - p_) / (1 - p_))]


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("p", PS)
def test_step_is_the_rule_of_the_docstring_on_random_counts(k, p):
    rng = np.random.default_rng(100 * k + int(1000 * p))
    n_rep = 4000
    counts = rng.integers(0, 3, size=(n_rep, k))  # few levels: ties at the minimum are frequent
    counts[: n_rep // 8] = rng.integers(0, 4, size=(n_rep // 8, 1))  # every arm tied
    u = rng.random(n_rep)
    u[:20] = 0.0
    got = _biased_coin_step(counts, u, p)
    assert got.shape == (n_rep,) and got.dtype == np.int64
    want = np.array([rule(c.tolist(), x, p) for c, x in zip(counts, u, strict=True)])
    np.testing.assert_array_equal(got, want)
    # the cases the rule distinguishes all occurred
    low = counts == counts.min(axis=1, keepdims=True)
    tied_min = low.sum(axis=1)
    assert (tied_min == k).any() and (tied_min == 1).any()
    if k > 2:
        assert ((tied_min > 1) & (tied_min < k)).any()
    if p < 1:
        assert (u >= p).any()


def test_step_of_one_sequence_is_a_sequential_allocation():
    """A ledger allocating one participant calls the step with n_rep = 1."""
    for counts, u, p, arm in [
        ([0, 0], 0.49, 2 / 3, 0),
        ([0, 0], 0.5, 2 / 3, 1),
        ([3, 4], 0.6, 2 / 3, 0),  # A under-represented, u < p
        ([3, 4], 0.7, 2 / 3, 1),
        ([4, 3], 0.6, 2 / 3, 1),
        ([2, 1, 1], 0.1, 0.8, 1),  # M = (1, 2): place floor(2 * 0.1 / 0.8) = 0
        ([2, 1, 1], 0.5, 0.8, 2),  # place floor(2 * 0.5 / 0.8) = 1
        ([2, 1, 1], 0.9, 0.8, 0),  # H = (0,)
        ([1, 1, 1], 0.99, 0.8, 2),  # all tied: floor(3 * 0.99)
        ([5, 5, 2, 5], 0.95, 0.9, 1),  # H = (0, 1, 3): place floor(3 * 0.05 / 0.1) = 1
    ]:
        assert _biased_coin_step(np.array([counts]), np.array([u]), p).tolist() == [arm]
        assert rule(counts, u, p) == arm


@pytest.mark.parametrize(("k", "p"), [(2, 2 / 3), (3, 0.8), (4, 0.55), (2, 1.0)])
def test_batch_advances_every_sequence_by_the_rule_with_its_row_of_uniforms(k, p):
    n, n_rep, seed = 60, 40, 9
    got = _biased_coin_batch(n, k, p, np.random.default_rng(seed), n_rep)
    assert got.shape == (n_rep, n) and got.dtype == np.int8
    u = np.random.default_rng(seed).random((n_rep, n))  # one draw of shape (n_rep, n)
    for b in range(n_rep):
        counts = [0] * k
        for j in range(n):
            arm = rule(counts, float(u[b, j]), p)
            assert got[b, j] == arm
            counts[arm] += 1
    # a list is the batch of one sequence from the list's own stream
    arms = tuple("ABCDE"[:k])
    listed = biased_coin(n, arms, p=p, seed=seed).arms
    (stream,), _ = resolved_streams(seed, 1)  # the list's stream from its integer seed
    one = _biased_coin_batch(n, k, p, stream)[0]
    np.testing.assert_array_equal(np.asarray(arms)[one], listed)


# ============================================================================ exact distributions
def exact_d(p: float, n: int) -> dict[int, float]:
    """P(D_n = d), D = N_A - N_B, by dynamic programming over the signed chain of Efron's rule."""
    d = np.arange(-n - 1, n + 2)  # D_n stays in [-n, n]; one spare state at each end
    up = np.where(d == 0, 0.5, np.where(d < 0, p, 1 - p))  # P(next participant to A | D = d)
    mass = (d == 0).astype(float)
    for _ in range(n):
        new = np.zeros_like(mass)
        new[1:] += (mass * up)[:-1]  # d -> d + 1
        new[:-1] += (mass * (1 - up))[1:]  # d -> d - 1
        mass = new
    return {int(v): float(m) for v, m in zip(d, mass, strict=True) if m > 0}


def exact_counts(p: float, k: int, n: int) -> dict[tuple[int, ...], float]:
    """P(N_1..N_k after n participants) under the minimum-count rule, by dynamic programming."""
    dist = {(0,) * k: 1.0}
    for _ in range(n):
        new: dict[tuple[int, ...], float] = {}
        for counts, mass in dist.items():
            fewest = min(counts)
            m = sum(c == fewest for c in counts)
            for arm in range(k):
                if m == k:
                    prob = 1 / k
                elif counts[arm] == fewest:
                    prob = p / m
                else:
                    prob = (1 - p) / (k - m)
                if prob:
                    nxt = tuple(c + (i == arm) for i, c in enumerate(counts))
                    new[nxt] = new.get(nxt, 0.0) + mass * prob
        dist = new
    return dist


def chi_square_p(observed: Counter, probs: dict, n: int) -> float:
    """Pearson's goodness of fit, cells with expected count below 5 pooled into one."""
    from scipy.stats import chisquare

    cells = sorted(probs, key=lambda c: -probs[c])
    big = [c for c in cells if probs[c] * n >= 5]
    rest = [c for c in cells if probs[c] * n < 5]
    obs = [observed.get(c, 0) for c in big]
    exp = [probs[c] * n for c in big]
    if rest:
        obs.append(sum(observed.get(c, 0) for c in rest))
        exp.append(sum(probs[c] for c in rest) * n)
    assert sum(observed.values()) == n and set(observed) <= set(probs)  # no impossible outcome
    return float(chisquare(obs, f_exp=np.asarray(exp) * n / sum(exp)).pvalue)


def test_exact_imbalance_reaches_efrons_limiting_law():
    for p in (0.55, 2 / 3, 0.9):
        r = (1 - p) / p
        dist = exact_d(p, 4000)  # the chain mixes at rate about (1 - 2 sqrt(pq))^n
        abs_d = Counter()
        for d, mass in dist.items():
            abs_d[abs(d)] += mass
        assert abs_d[0] == pytest.approx(1 - r, abs=1e-8)
        for m in range(1, 6):
            assert abs_d[2 * m] == pytest.approx((1 - r**2) * r ** (2 * m - 1), abs=1e-8)
        assert sum(v for d, v in abs_d.items() if d % 2) == 0


def _participants(n: int, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"age": np.random.default_rng(seed).integers(18, 65, n)})


@pytest.mark.parametrize("p", [0.55, 2 / 3, 0.9, 1.0])
@pytest.mark.parametrize("n", [20, 21])
def test_replayed_final_imbalance_has_the_exact_markov_chain_distribution(p, n):
    design = {"scheme": "biased_coin", "arms": ["A", "B"], "p": p}
    n_resamples = 20_000
    replays = replay_design(_participants(n), design, n_resamples=n_resamples, seed=31)
    assert replays.codes.shape == (n_resamples, n) and replays.scheme == "biased_coin"
    d = (replays.codes == 0).sum(axis=1) - (replays.codes == 1).sum(axis=1)
    probs = exact_d(p, n)
    if p == 1.0:  # deterministic alternation after a fair first toss
        assert probs == ({0: 1.0} if n % 2 == 0 else {-1: 0.5, 1: 0.5})
    if len(probs) > 1:
        assert chi_square_p(Counter(d.tolist()), probs, n_resamples) > 1e-4
    else:
        assert set(d.tolist()) == set(probs)


def test_the_check_rejects_a_wrong_p():
    """The chi-square check has power: replays at p = 0.55 do not pass for p = 2/3."""
    n, n_resamples = 20, 20_000
    design = {"scheme": "biased_coin", "arms": ["A", "B"], "p": 0.55}
    codes = replay_design(_participants(n), design, n_resamples=n_resamples, seed=31).codes
    d = (codes == 0).sum(axis=1) - (codes == 1).sum(axis=1)
    assert chi_square_p(Counter(d.tolist()), exact_d(2 / 3, n), n_resamples) < 1e-6


@pytest.mark.parametrize("p", [0.55, 0.8])
def test_three_arm_replays_have_the_exact_count_distribution(p):
    n, n_resamples = 7, 20_000
    design = {"scheme": "biased_coin", "arms": ["X", "Y", "Z"], "p": p}
    codes = replay_design(_participants(n), design, n_resamples=n_resamples, seed=5).codes
    counts = np.stack([(codes == a).sum(axis=1) for a in range(3)], axis=1)
    observed = Counter(map(tuple, counts.tolist()))
    assert chi_square_p(observed, exact_counts(p, 3, n), n_resamples) > 1e-4


# ============================================================================ the replays
def _coin_trial(n: int = 40, p: float = 2 / 3, arms=("T", "C"), seed: int = 4):
    alloc = biased_coin(n, arms, p=p, seed=seed)
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"arm": alloc.arms, "y": rng.normal(size=n), "b": rng.integers(0, 2, n)})
    return alloc, data


@pytest.mark.parametrize(("p", "arms"), [(2 / 3, ("T", "C")), (0.9, ("T", "U", "C"))])
def test_allocation_list_and_dict_designs_give_the_same_replays_and_test(p, arms):
    alloc, data = _coin_trial(p=p, arms=arms)
    as_dict = {"scheme": "biased_coin", "arms": list(arms), "p": p}
    a = replay_design(data, alloc, arm="arm", n_resamples=700, seed=3)
    b = replay_design(data, as_dict, arm="arm", n_resamples=700, seed=3)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.description == b.description and "biased coin" in a.description
    c = replay_design(data, alloc, arm="arm", n_resamples=700, seed=4)
    assert not np.array_equal(a.codes, c.codes)
    # without the arm column (the participants only) the same replays
    np.testing.assert_array_equal(replay_design(data[["y"]], alloc, n_resamples=700, seed=3).codes, a.codes)
    ta = rerandomization_test(data, "y", "arm", arms[0], "C", design=alloc, n_resamples=500, seed=3)
    tb = rerandomization_test(data, "y", "arm", arms[0], "C", design=as_dict, n_resamples=500, seed=3)
    np.testing.assert_array_equal(ta.distribution, tb.distribution)
    assert ta.p_value[0] == tb.p_value[0] and ta.scheme == "biased_coin"


def test_default_p_is_efrons_two_thirds():
    alloc, data = _coin_trial()
    a = replay_design(data, {"scheme": "biased_coin", "arms": ["T", "C"]}, arm="arm", n_resamples=50, seed=1)
    b = replay_design(data, alloc, arm="arm", n_resamples=50, seed=1)
    np.testing.assert_array_equal(a.codes, b.codes)


def test_same_seed_same_bits_whatever_the_chunk_size(monkeypatch):
    alloc, data = _coin_trial(n=50)
    whole = replay_design(data, alloc, arm="arm", n_resamples=1000, seed=8)
    test = rerandomization_test(data, "y", "arm", "T", "C", design=alloc, n_resamples=1000, seed=8)
    monkeypatch.setattr(replay_module, "CHUNK_BYTES", 8 * 50 * 37)  # chunks of 37 replays
    assert len(list(replay_module.chunks(1000, 8 * 50, replay_module.CHUNK_BYTES))) == 28
    chunked = replay_design(data, alloc, arm="arm", n_resamples=1000, seed=8)
    np.testing.assert_array_equal(chunked.codes, whole.codes)
    again = rerandomization_test(data, "y", "arm", "T", "C", design=alloc, n_resamples=1000, seed=8)
    # the same replays; the statistic is summed in pieces of other sizes, so equal up to rounding
    np.testing.assert_allclose(again.distribution, test.distribution, rtol=1e-12, atol=1e-15)
    assert again.p_value[0] == test.p_value[0]
    # replay b is the rule driven by row b of one (n_resamples, n) draw of the replays' stream
    (root,), _ = resolved_streams(8, 1)  # as replay_design resolves its seed: one stream spawned from it
    np.testing.assert_array_equal(whole.codes, _biased_coin_batch(50, 2, 2 / 3, root.spawn(1)[0], 1000))


def test_replays_follow_the_order_of_arrival():
    alloc, data = _coin_trial(n=30)
    replays = replay_design(data, alloc, arm="arm", n_resamples=500, seed=2)
    shuffled = data.assign(enrolled=np.arange(30)).sample(frac=1, random_state=3)
    again = replay_design(shuffled, alloc, arm="arm", n_resamples=500, seed=2, order="enrolled")
    np.testing.assert_array_equal(again.codes, replays.codes[:, shuffled["enrolled"].to_numpy()])


# ============================================================================ the test
def test_rerandomization_p_value_agrees_with_its_exact_value():
    n, p = 12, 2 / 3
    alloc, data = _coin_trial(n=n, p=p, seed=12)
    data["y"] = np.random.default_rng(2).integers(0, 10, n)  # integers: the statistic's ties are exact
    y = data["y"].to_numpy(dtype=float)
    observed_t = data["arm"].to_numpy() == "T"
    t_obs = y[observed_t].mean() - y[~observed_t].mean()
    # every sequence with its probability under Efron's rule
    extreme = defined = 0.0
    for seq in itertools.product((0, 1), repeat=n):
        prob, d = 1.0, 0
        for arm in seq:
            to_a = 0.5 if d == 0 else (p if d < 0 else 1 - p)
            prob *= to_a if arm == 0 else 1 - to_a
            d += 1 if arm == 0 else -1
        treated = np.asarray(seq) == 0
        if treated.all() or not treated.any():
            continue
        defined += prob
        t = y[treated].mean() - y[~treated].mean()
        if abs(t) >= abs(t_obs) * (1 - 1e-9):
            extreme += prob
    exact = extreme / defined
    n_resamples = 20_000
    result = rerandomization_test(data, "y", "arm", "T", "C", design=alloc, n_resamples=n_resamples, seed=6)
    assert 0 < result.p_value[0] <= 1
    se = math.sqrt(exact * (1 - exact) / n_resamples)
    assert abs(result.p_value[0] - exact) <= 4 * se + 1 / (n_resamples + 1)
    assert "biased coin" in result.design


@pytest.mark.parametrize("statistic", ["mean_difference", "risk_difference"])
def test_rerandomization_with_a_biased_coin_runs(statistic):
    alloc, data = _coin_trial(n=60, arms=("T", "U", "C"))
    outcome = "y" if statistic == "mean_difference" else "b"
    result = rerandomization_test(
        data, outcome, "arm", control="C", design=alloc, statistic=statistic, n_resamples=300, seed=1
    )
    assert result.p_value.shape == (2,)
    assert np.all((result.p_value > 0) & (result.p_value <= 1))
    assert result.scheme == "biased_coin"


# ============================================================================ bad inputs
@pytest.mark.parametrize("p", [0.5, 0.3, 1.01, -1, True, "2/3"])
def test_p_outside_the_open_half_to_one_is_a_design_error(p):
    _, data = _coin_trial()
    design = {"scheme": "biased_coin", "arms": ["T", "C"], "p": p}
    message = r"design=.*'biased_coin'.*: p must be a probability in \(0\.5, 1\]"
    with pytest.raises(DesignError, match=message):
        replay_design(data, design, arm="arm", n_resamples=10, seed=1)
    with pytest.raises(DesignError, match=message):
        rerandomization_test(data, "y", "arm", "T", "C", design=design, n_resamples=10, seed=1)
    with pytest.raises(DesignError, match=r"p must be a probability in \(0\.5, 1\]"):
        biased_coin(10, ("T", "C"), p=p)  # the list's own check, with the same message


@pytest.mark.parametrize("ratio", [[2, 1], [1, 2], [2, 2]])
def test_a_ratio_is_a_design_error(ratio):
    _, data = _coin_trial()
    design = {"scheme": "biased_coin", "arms": ["T", "C"], "ratio": ratio}
    shown = f"{ratio[0]}:{ratio[1]}"
    message = rf"design=.*: the biased coin allocates equally; a ratio {shown} cannot be replayed"
    with pytest.raises(DesignError, match=message):
        replay_design(data, design, arm="arm", n_resamples=10, seed=1)
    with pytest.raises(DesignError, match=message):
        rerandomization_test(data, "y", "arm", "T", "C", design=design, n_resamples=10, seed=1)


def test_other_bad_biased_coin_designs():
    _, data = _coin_trial()
    equal = {"scheme": "biased_coin", "arms": ["T", "C"], "ratio": [1, 1]}  # equal allocation is allowed
    assert len(replay_design(data, equal, arm="arm", n_resamples=5, seed=1)) == 5
    with pytest.raises(DesignError, match=r"unknown keys \['block_sizes'\] for scheme 'biased_coin'"):
        replay_design(data, {"scheme": "biased_coin", "block_sizes": [2]}, arm="arm", n_resamples=5)
    with pytest.raises(DesignError, match=r"a design with a ratio must name its arms"):
        replay_design(data, {"scheme": "biased_coin", "ratio": [1, 1]}, arm="arm", n_resamples=5)
    shorter = biased_coin(39, ("T", "C"), seed=4)
    with pytest.raises(DesignError, match=r"'scheme': 'biased_coin', 'arms': \['T', 'C'\], 'p': 0\.666"):
        replay_design(data, shorter, arm="arm", n_resamples=5)
