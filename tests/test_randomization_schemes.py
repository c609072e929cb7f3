"""Simple randomization, Efron's biased coin, and allocation-list export with provenance.

References used here, all independent of the code under test:

* simple randomization: arm counts are multinomial(n; r/R) (Rosenberger & Lachin 2016, section 3.2);
  Pearson's chi-square goodness of fit of the counts; the Wald-Wolfowitz runs test of a two-arm
  sequence (Wald & Wolfowitz 1940, Ann Math Stat 11:147-162: runs R with
  E R = 1 + 2 n1 n2 / n, Var R = 2 n1 n2 (2 n1 n2 - n) / (n^2 (n - 1))); and the chi-square test of
  serial independence on the table of successive pairs (T_j, T_{j+1}), Anderson & Goodman 1957,
  Ann Math Stat 28:89-110 (order 0 against order 1 Markov chain, (k - 1)^2 degrees of freedom).
* biased coin: |D_n| is Efron's (1971, Biometrika 58:403, section 2) reflecting random walk; its
  limiting distribution at even n is derived below by detailed balance and cross-checked against the
  exact n-step distribution from the transition matrix.
* export: the SHA-256 of the CSV body is recomputed with hashlib from the exported text.

Each statistical check is shown to reject a sequence that breaks the property (no test that cannot
fail). Monte Carlo checks use fixed seeds and 4-standard-error or p > 0.001 bounds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipstrial
from ipstrial.errors import DesignError, TrialDataError
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import permuted_blocks, stratified_blocks
from ipstrial.randomization.simple import biased_coin, simple

COLUMNS = ["sequence", "stratum", "block_id", "block_size", "position", "arm"]
ARMS3 = ("IPS", "IPSE", "SAU")


# ----------------------------------------------------------------------------- helpers (references)
def runs_test(x: np.ndarray) -> float:
    """Two-sided p-value of the Wald-Wolfowitz runs test of a two-valued sequence (normal approximation)."""
    from scipy.stats import norm

    x = np.asarray(x)
    values = np.unique(x)
    assert len(values) == 2
    n1 = int(np.sum(x == values[0]))
    n2 = len(x) - n1
    n = n1 + n2
    runs = 1 + int(np.sum(x[1:] != x[:-1]))
    mean = 1 + 2 * n1 * n2 / n
    var = 2 * n1 * n2 * (2 * n1 * n2 - n) / (n**2 * (n - 1))
    return float(2 * norm.sf(abs(runs - mean) / np.sqrt(var)))


def serial_independence_test(x: np.ndarray) -> float:
    """p-value of the Pearson chi-square test of independence of successive allocations (Anderson-Goodman)."""
    from scipy.stats import chi2_contingency

    table = pd.crosstab(pd.Series(x[:-1], name="now"), pd.Series(x[1:], name="next")).to_numpy()
    return float(chi2_contingency(table, correction=False).pvalue)


def goodness_of_fit(counts: np.ndarray, probs: np.ndarray) -> float:
    from scipy.stats import chisquare

    counts = np.asarray(counts, dtype=float)
    return float(chisquare(counts, f_exp=counts.sum() * np.asarray(probs)).pvalue)


def efron_limit(p: float, states: int) -> np.ndarray:
    """Limiting P(|D_n| = 0, 2, 4, ...) for even n under Efron's biased coin.

    |D| moves 0 -> 1 with probability 1 and j -> j - 1 (p), j -> j + 1 (q = 1 - p) for j >= 1.
    Detailed balance gives pi_1 = pi_0 / p, pi_{j+1} = (q/p) pi_j, so with r = q/p,
    pi_0 = (2p - 1)/(2p); the chain has period 2 and the even states carry mass 1/2 at even n, hence
    P(0) = 2 pi_0 = 1 - r and P(2m) = 2 pi_{2m} = (1 - r^2) r^(2m - 1). Returned for m = 0..states-2, the last
    entry lumping m >= states - 1.
    """
    r = (1 - p) / p
    probs = [1 - r] + [(1 - r**2) * r ** (2 * m - 1) for m in range(1, states - 1)]
    return np.array([*probs, 1 - sum(probs)])


def efron_exact(p: float, n: int) -> np.ndarray:
    """Exact distribution of |D_n| from the transition matrix of Efron's rule (n steps from 0)."""
    dist = np.zeros(n + 2)
    dist[0] = 1.0
    for _ in range(n):
        new = np.zeros_like(dist)
        new[1] += dist[0]
        new[:-2] += p * dist[1:-1]
        new[2:] += (1 - p) * dist[1:-1]
        dist = new
    return dist


def imbalance_path(arm: np.ndarray, arms: tuple[str, ...]) -> np.ndarray:
    counts = np.column_stack([np.cumsum(arm == a) for a in arms])
    return counts.max(axis=1) - counts.min(axis=1)


def strata_frame(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "site": np.asarray(["Aarhus", "Odense", "Ålborg"], dtype=object)[rng.integers(0, 3, n)],
            "employed_prev5y": rng.integers(0, 2, n),
        },
        index=pd.Index([f"P{i:04d}" for i in range(1, n + 1)], name="participant_id"),
    )


def _minimization(seed, factors: pd.DataFrame | None = None) -> AllocationList:
    module = pytest.importorskip("ipstrial.randomization.minimization")
    factors = strata_frame(60) if factors is None else factors
    return module.minimization(factors, ARMS3, seed=seed)


SCHEMES: dict[str, Callable[[object], AllocationList]] = {
    "simple": lambda seed: simple(200, ARMS3, seed=seed),
    "simple 2:1": lambda seed: simple(200, ("IPS", "SAU"), ratio=(2, 1), seed=seed),
    "biased_coin": lambda seed: biased_coin(200, ("IPS", "SAU"), seed=seed),
    "biased_coin 3 arms": lambda seed: biased_coin(200, ARMS3, p=0.8, seed=seed),
    "permuted_blocks": lambda seed: permuted_blocks(200, ARMS3, (3, 6), seed=seed),
    "stratified_blocks": lambda seed: stratified_blocks(strata_frame(), ARMS3, (3, 6), seed=seed),
    "minimization": lambda seed: _minimization(seed),
}


def _strata_for(alloc: AllocationList) -> pd.DataFrame | None:
    if alloc.scheme == "stratified_blocks":
        return strata_frame()
    if alloc.scheme == "minimization":
        return strata_frame(60)
    return None


# ----------------------------------------------------------------------------- simple: frame
def test_simple_frame_has_the_common_columns_and_no_blocks():
    alloc = simple(25, ARMS3, seed=1)
    frame = alloc.frame
    assert list(frame.columns) == COLUMNS
    assert frame["sequence"].tolist() == list(range(1, 26))
    assert (frame["stratum"] == "all").all()
    assert (frame[["block_id", "block_size", "position"]] == 0).all().all()
    assert frame["block_id"].dtype == np.int64
    assert set(frame["arm"]) <= set(ARMS3)
    assert alloc.scheme == "simple"
    assert alloc.parameters == {"arms": list(ARMS3), "ratio": [1, 1, 1], "n": 25}
    assert alloc.seed == 1
    assert len(alloc) == 25


@pytest.mark.parametrize(
    ("arms", "ratio", "probs"),
    [
        (("IPS", "SAU"), (2, 1), (2 / 3, 1 / 3)),
        (ARMS3, None, (1 / 3,) * 3),
        (("A", "B", "C"), (2, 1, 1), (0.5, 0.25, 0.25)),
    ],
    ids=["2:1", "1:1:1", "2:1:1"],
)
@pytest.mark.parametrize("seed", [0, 2012])
def test_simple_proportions_match_the_ratio(arms, ratio, probs, seed):
    n = 60_000
    alloc = simple(n, arms, ratio=ratio, seed=seed)
    counts = np.array([np.sum(alloc.arms == a) for a in arms])
    share = counts / n
    se = np.sqrt(np.array(probs) * (1 - np.array(probs)) / n)
    assert np.all(np.abs(share - probs) < 4 * se), (share, probs)
    assert goodness_of_fit(counts, probs) > 0.001


def test_goodness_of_fit_rejects_a_wrong_ratio():
    alloc = simple(60_000, ("IPS", "SAU"), ratio=(2, 1), seed=0)
    counts = np.array([np.sum(alloc.arms == a) for a in ("IPS", "SAU")])
    assert goodness_of_fit(counts, (0.5, 0.5)) < 1e-6
    # a ratio of 3:2 is close to 2:1 but still detected at this n
    assert goodness_of_fit(counts, (0.6, 0.4)) < 1e-6


def test_simple_counts_are_multinomial_not_restricted():
    """Across replications the count of an arm has the binomial variance n p (1 - p) (no balancing)."""
    n, reps, p = 30, 2000, 2 / 3
    counts = np.array(
        [np.sum(simple(n, ("IPS", "SAU"), ratio=(2, 1), seed=s).arms == "IPS") for s in range(reps)]
    )
    var = n * p * (1 - p)
    assert abs(counts.mean() - n * p) < 4 * np.sqrt(var / reps)
    # SE of a sample variance of a near-normal variable: var * sqrt(2 / (reps - 1))
    assert abs(counts.var(ddof=1) - var) < 4 * var * np.sqrt(2 / (reps - 1))
    # permuted blocks of 3 at 2:1 hold exactly 20 IPS in 30: the check would fail for them
    blocked = permuted_blocks(n, ("IPS", "SAU"), (3,), ratio=(2, 1), seed=1).arms
    assert np.sum(blocked == "IPS") == 20


@pytest.mark.parametrize("seed", [0, 1, 2012])
def test_simple_sequence_passes_runs_and_serial_independence_tests(seed):
    two = simple(20_000, ("IPS", "SAU"), seed=seed).arms
    assert runs_test(two) > 0.001
    assert serial_independence_test(two) > 0.001
    unequal = simple(20_000, ("IPS", "SAU"), ratio=(2, 1), seed=seed).arms
    assert runs_test(unequal) > 0.001
    assert serial_independence_test(unequal) > 0.001
    three = simple(20_000, ARMS3, seed=seed).arms
    assert serial_independence_test(three) > 0.001


def test_runs_and_serial_tests_reject_restricted_sequences():
    blocks_of_two = permuted_blocks(20_000, ("IPS", "SAU"), (2,), seed=0).arms
    assert runs_test(blocks_of_two) < 1e-6
    assert serial_independence_test(blocks_of_two) < 1e-6
    coin = biased_coin(20_000, ("IPS", "SAU"), p=0.8, seed=0).arms
    assert runs_test(coin) < 1e-6
    assert serial_independence_test(coin) < 1e-6


# ----------------------------------------------------------------------------- biased coin
def test_efron_limit_matches_the_exact_distribution_at_n_100():
    """The closed form (our reference) is also what the transition matrix gives at n = 100."""
    for p in (2 / 3, 0.8):
        exact = efron_exact(p, 100)
        assert exact[1::2].sum() == pytest.approx(0.0, abs=1e-15)  # even n: |D| is even
        limit = efron_limit(p, 5)
        # the geometric approach to the limit leaves ~1e-5 at n = 100, far below the Monte Carlo
        # standard errors (>= 0.003) of the simulation test that uses the limit at n = 100
        assert np.allclose(exact[[0, 2, 4, 6]], limit[:4], atol=1e-4)
        assert not np.allclose(efron_exact(p, 4)[[0, 2, 4]], limit[:3], atol=1e-4)
        assert exact.sum() == pytest.approx(1.0)
    # Efron's p = 2/3: P(balanced) -> 1/2, P(|D| = 2) -> 3/8
    assert efron_limit(2 / 3, 3)[:2] == pytest.approx([0.5, 0.375])


@pytest.mark.parametrize("p", [2 / 3, 0.8])
def test_biased_coin_imbalance_has_efrons_stationary_distribution(p):
    n, reps = 100, 2000
    d = np.empty(reps, dtype=np.int64)
    for s in range(reps):
        arm = biased_coin(n, ("IPS", "SAU"), p=p, seed=s).arms
        d[s] = abs(int(np.sum(arm == "IPS")) - int(np.sum(arm == "SAU")))
    assert np.all(d % 2 == 0)
    states = 4  # |D| = 0, 2, 4, >= 6
    counts = np.array([np.sum(d == 0), np.sum(d == 2), np.sum(d == 4), np.sum(d >= 6)])
    probs = efron_limit(p, states)
    se = np.sqrt(probs * (1 - probs) / reps)
    assert np.all(np.abs(counts / reps - probs) < 4 * se), (counts / reps, probs)
    assert goodness_of_fit(counts, probs) > 0.001
    # the same check rejects simple randomization, whose |D_100| is spread like a binomial
    d_simple = np.array(
        [abs(100 - 2 * int(np.sum(simple(n, ("IPS", "SAU"), seed=s).arms == "IPS"))) for s in range(reps)]
    )
    counts_simple = np.array(
        [np.sum(d_simple == 0), np.sum(d_simple == 2), np.sum(d_simple == 4), np.sum(d_simple >= 6)]
    )
    assert goodness_of_fit(counts_simple, probs) < 1e-6


@pytest.mark.parametrize("p", [0.55, 2 / 3, 0.9])
def test_biased_coin_two_arm_conditional_probabilities(p):
    """Given the past, the under-represented arm gets probability p; either arm 1/2 when balanced."""
    arm = biased_coin(40_000, ("IPS", "SAU"), p=p, seed=7).arms
    step = np.where(arm == "IPS", 1, -1)
    before = np.r_[0, np.cumsum(step)[:-1]]
    behind = before != 0
    chose_behind = np.sign(step[behind]) == -np.sign(before[behind])
    se = np.sqrt(p * (1 - p) / behind.sum())
    assert abs(chose_behind.mean() - p) < 4 * se
    balanced = step[~behind] == 1
    assert abs(balanced.mean() - 0.5) < 4 * np.sqrt(0.25 / balanced.size)


@pytest.mark.parametrize("p", [0.6, 0.8])
def test_biased_coin_three_arm_minimum_count_rule(p):
    """Three arms: the arms at the minimum count get p in total, shared equally; the others share 1 - p."""
    arms = ("A", "B", "C")
    arm = biased_coin(30_000, arms, p=p, seed=11).arms
    index = np.searchsorted(np.array(arms), arm)
    counts = np.zeros(3, dtype=np.int64)
    in_min, n_unbalanced = 0, 0
    within_min: dict[int, list[int]] = {1: [], 2: []}
    tied = []
    for a in index:
        low = np.flatnonzero(counts == counts.min())
        if len(low) == 3:
            tied.append(a)
        else:
            n_unbalanced += 1
            if a in low:
                in_min += 1
                within_min[len(low)].append(int(np.flatnonzero(low == a)[0]))
        counts[a] += 1
    share = in_min / n_unbalanced
    assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n_unbalanced)
    # with two arms tied at the minimum, each is equally likely
    pair = np.array(within_min[2])
    assert abs(pair.mean() - 0.5) < 4 * np.sqrt(0.25 / pair.size)
    # all tied: uniform over the three arms
    assert goodness_of_fit(np.bincount(tied, minlength=3), np.full(3, 1 / 3)) > 0.001


def test_biased_coin_p_one_never_exceeds_imbalance_one():
    for arms in (("IPS", "SAU"), ARMS3, ("A", "B", "C", "D")):
        alloc = biased_coin(999, arms, p=1.0, seed=5)
        imbalance = imbalance_path(alloc.arms, arms)
        assert imbalance.max() == 1
        k = len(arms)
        # after every k allocations the arms are exactly balanced
        assert (imbalance[k - 1 :: k] == 0).all()


def test_biased_coin_frame_and_parameters():
    alloc = biased_coin(40, ARMS3, seed=3)
    assert list(alloc.frame.columns) == COLUMNS
    assert (alloc.frame[["block_id", "block_size", "position"]] == 0).all().all()
    assert (alloc.frame["stratum"] == "all").all()
    assert alloc.scheme == "biased_coin"
    assert alloc.parameters == {"arms": list(ARMS3), "p": 2 / 3, "n": 40}


# ----------------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_same_seed_gives_the_identical_list(scheme):
    a = SCHEMES[scheme](2012)
    b = SCHEMES[scheme](2012)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.seed == b.seed == 2012
    c = SCHEMES[scheme](2013)
    assert a.arms.tolist() != c.arms.tolist()


def test_a_generator_seed_draws_fresh_lists_and_records_no_seed():
    rng = np.random.default_rng(1)
    a = simple(200, ARMS3, seed=rng)
    b = simple(200, ARMS3, seed=rng)
    assert a.arms.tolist() != b.arms.tolist()
    assert a.seed is None


# ----------------------------------------------------------------------------- export
def _body(csv_text: str) -> str:
    return "".join(line for line in csv_text.splitlines(keepends=True) if not line.startswith("#"))


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_csv_and_json_round_trip(scheme):
    alloc = SCHEMES[scheme](4)
    for text, read in (
        (alloc.to_csv(), AllocationList.from_csv),
        (alloc.to_json(), AllocationList.from_json),
    ):
        back = read(text)
        pd.testing.assert_frame_equal(back.frame, alloc.frame)
        assert back.scheme == alloc.scheme
        assert back.parameters == json.loads(json.dumps(alloc.parameters))
        assert back.seed == alloc.seed
        assert back.sha256 == alloc.sha256


def test_round_trip_keeps_participant_ids_and_a_non_default_index():
    strata = strata_frame()
    alloc = stratified_blocks(strata, ARMS3, (3, 6), seed=9)
    assert alloc.frame.index.name == "participant_id"
    body = _body(alloc.to_csv())
    assert body.splitlines()[0] == "participant_id," + ",".join(COLUMNS)
    subset = strata.reset_index(drop=True).iloc[10:50]
    other = stratified_blocks(subset, ARMS3, (3, 6), seed=9)
    for back in (AllocationList.from_csv(other.to_csv()), AllocationList.from_json(other.to_json())):
        pd.testing.assert_frame_equal(back.frame, other.frame)


def test_arm_labels_named_like_missing_values_survive():
    alloc = simple(50, ("NA", "None"), seed=1)
    for back in (AllocationList.from_csv(alloc.to_csv()), AllocationList.from_json(alloc.to_json())):
        pd.testing.assert_frame_equal(back.frame, alloc.frame)


def test_provenance_contents():
    alloc = biased_coin(30, ("IPS", "SAU"), p=0.75, seed=123)
    prov = json.loads(alloc.to_json())["provenance"]
    assert prov["scheme"] == "biased_coin"
    assert prov["parameters"] == {"arms": ["IPS", "SAU"], "p": 0.75, "n": 30}
    assert prov["seed"] == 123
    assert prov["regenerable"] is True
    assert prov["ipstrial_version"] == ipstrial.__version__
    assert prov["sha256"] == alloc.sha256
    assert not any("time" in key or "date" in key or "created" in key for key in prov)
    header = [line for line in alloc.to_csv().splitlines() if line.startswith("# ")]
    as_dict = {line[2:].split(": ", 1)[0]: json.loads(line[2:].split(": ", 1)[1]) for line in header}
    assert as_dict == prov


def test_generator_seed_is_recorded_as_not_regenerable():
    alloc = simple(20, ARMS3, seed=np.random.default_rng(3))
    prov = json.loads(alloc.to_json())["provenance"]
    assert prov["seed"] is None
    assert prov["regenerable"] is False
    assert "cannot be regenerated" in prov["note"]
    assert "# seed: null" in alloc.to_csv()
    with pytest.raises(DesignError, match=r"cannot be regenerated"):
        alloc.regenerate()


@pytest.mark.parametrize("scheme", [simple, biased_coin])
def test_fresh_entropy_seed_is_recorded_and_regenerates(scheme):
    alloc = scheme(100, ARMS3)
    assert isinstance(alloc.seed, int)
    back = AllocationList.from_json(alloc.to_json())
    pd.testing.assert_frame_equal(back.regenerate().frame, alloc.frame)


def test_seed_sequences():
    plain = simple(100, ARMS3, seed=np.random.SeedSequence(77))
    assert plain.seed == 77
    pd.testing.assert_frame_equal(plain.frame, simple(100, ARMS3, seed=77).frame)
    # a spawned SeedSequence is not rebuilt by its entropy alone: no seed is recorded
    child = np.random.SeedSequence(77).spawn(1)[0]
    assert simple(100, ARMS3, seed=child).seed is None


def test_same_inputs_give_identical_bytes(tmp_path: Path):
    files = []
    for k in range(2):
        alloc = stratified_blocks(strata_frame(), ARMS3, (3, 6), seed=2012)
        csv_path, json_path = tmp_path / f"list{k}.csv", tmp_path / f"list{k}.json"
        csv_text, json_text = alloc.to_csv(csv_path), alloc.to_json(json_path)
        assert csv_path.read_bytes() == csv_text.encode("utf-8")
        assert json_path.read_bytes() == json_text.encode("utf-8")
        files.append((csv_path.read_bytes(), json_path.read_bytes()))
    assert files[0] == files[1]
    assert "Ålborg" in files[0][1].decode("utf-8")
    # and a different seed gives different bytes
    other = stratified_blocks(strata_frame(), ARMS3, (3, 6), seed=2013)
    assert other.to_csv().encode() != files[0][0]


def test_sha256_is_the_hash_of_the_csv_export_without_its_hash_line():
    alloc = simple(300, ("IPS", "SAU"), ratio=(2, 1), seed=5)
    text = alloc.to_csv()
    hashed = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("# sha256: "))
    expected = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    assert alloc.sha256 == expected
    assert f'# sha256: "{expected}"' in text
    # for a default index the body is the plain frame CSV
    assert _body(text) == alloc.frame.to_csv(index=False, lineterminator="\n")


def test_the_hash_detects_a_changed_arm():
    alloc = simple(300, ("IPS", "SAU"), seed=5)
    frame = alloc.frame.copy()
    frame.loc[17, "arm"] = "SAU" if frame.loc[17, "arm"] == "IPS" else "IPS"
    assert AllocationList(frame, alloc.scheme, alloc.parameters, alloc.seed).sha256 != alloc.sha256


def test_reading_an_altered_json_list_fails():
    alloc = simple(30, ("IPS", "SAU"), seed=5)
    document = json.loads(alloc.to_json())
    row = document["allocations"][12]
    row["arm"] = "SAU" if row["arm"] == "IPS" else "IPS"
    with pytest.raises(TrialDataError, match=r"the allocation list was altered"):
        AllocationList.from_json(json.dumps(document))
    document = json.loads(alloc.to_json())
    document["allocations"][3]["note"] = "moved"
    with pytest.raises(TrialDataError, match=r"the list was altered"):
        AllocationList.from_json(json.dumps(document))


def test_reading_an_altered_csv_list_fails(tmp_path: Path):
    alloc = simple(30, ("IPS", "SAU"), seed=5)
    lines = alloc.to_csv().splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if line.startswith("13,"))
    lines[k] = lines[k].replace("IPS", "SAU") if "IPS" in lines[k] else lines[k].replace("SAU", "IPS")
    path = tmp_path / "altered.csv"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(TrialDataError, match=r"the allocation list was altered"):
        AllocationList.from_csv(path)
    # an unaltered file read from a path (str or Path) is accepted
    alloc.to_csv(tmp_path / "good.csv")
    alloc.to_json(tmp_path / "good.json")
    pd.testing.assert_frame_equal(AllocationList.from_csv(str(tmp_path / "good.csv")).frame, alloc.frame)
    pd.testing.assert_frame_equal(AllocationList.from_json(tmp_path / "good.json").frame, alloc.frame)


def test_reading_something_else_fails():
    with pytest.raises(TrialDataError, match=r"not an ipstrial allocation-list"):
        AllocationList.from_json('{"a": 1}')
    with pytest.raises(TrialDataError, match=r"not an ipstrial allocation-list"):
        AllocationList.from_csv('# scheme: "simple"\nsequence,arm\n1,A\n')


# ----------------------------------------------------------------------------- regenerate
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_regenerate_returns_the_identical_list(scheme):
    alloc = SCHEMES[scheme](31)
    strata = _strata_for(alloc)
    again = alloc.regenerate(strata=strata)
    pd.testing.assert_frame_equal(again.frame, alloc.frame)
    assert again.sha256 == alloc.sha256
    # also from the exported record alone
    back = AllocationList.from_json(alloc.to_json())
    pd.testing.assert_frame_equal(back.regenerate(strata=strata).frame, alloc.frame)


def test_regenerate_reveals_a_changed_seed_in_the_record():
    alloc = permuted_blocks(60, ARMS3, (3, 6), seed=31)
    forged = AllocationList(alloc.frame, alloc.scheme, alloc.parameters, 32)
    assert forged.regenerate().sha256 != alloc.sha256


def test_regenerate_stratified_needs_the_strata():
    alloc = stratified_blocks(strata_frame(), ARMS3, (3, 6), seed=1)
    with pytest.raises(
        DesignError, match=r"pass regenerate\(strata=<DataFrame with columns \['site', 'employed_prev5y'\]>\)"
    ):
        alloc.regenerate()
    with pytest.raises(DesignError, match=r"lacks the factor columns \['employed_prev5y'\]"):
        alloc.regenerate(strata=strata_frame()[["site"]])


def test_regenerate_unknown_scheme():
    alloc = AllocationList(simple(5, ("A", "B"), seed=1).frame, "urn", {}, 1)
    with pytest.raises(DesignError, match=r"unknown scheme 'urn'"):
        alloc.regenerate()


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("n", [0, -5])
@pytest.mark.parametrize("scheme", [simple, biased_coin])
def test_n_of_zero_or_less(scheme, n):
    with pytest.raises(DesignError, match=rf"n must be a positive integer number of participants; got {n}"):
        scheme(n, ("IPS", "SAU"), seed=1)


@pytest.mark.parametrize("n", [2.5, True, "10"])
def test_n_not_an_integer(n):
    with pytest.raises(DesignError, match=r"n must be a positive integer"):
        simple(n, ("IPS", "SAU"), seed=1)
    with pytest.raises(DesignError, match=r"n must be a positive integer"):
        biased_coin(n, ("IPS", "SAU"), seed=1)


@pytest.mark.parametrize("scheme", [simple, biased_coin])
def test_duplicate_arm_names(scheme):
    with pytest.raises(DesignError, match=r"duplicate arm names \['IPS'\]"):
        scheme(30, ("IPS", "SAU", "IPS"), seed=1)


@pytest.mark.parametrize("scheme", [simple, biased_coin])
def test_fewer_than_two_arms_or_a_string(scheme):
    with pytest.raises(DesignError, match=r"at least two arms"):
        scheme(30, ("IPS",), seed=1)
    with pytest.raises(DesignError, match=r"got the string 'IPS'"):
        scheme(30, "IPS", seed=1)


@pytest.mark.parametrize(
    ("ratio", "message"),
    [
        ((2, 1, 1), r"has 3 entries but there are 2 arms \['IPS', 'SAU'\]"),
        ((2,), r"has 1 entry but there are 2 arms"),
        ((2, 0), r"must hold positive integers"),
        ((1.5, 1), r"must hold positive integers"),
        ((-1, 2), r"must hold positive integers"),
    ],
)
def test_ratio_not_matching_the_arms(ratio, message):
    with pytest.raises(DesignError, match=message):
        simple(30, ("IPS", "SAU"), ratio=ratio, seed=1)


@pytest.mark.parametrize("p", [0.5, 0.3, 0.0, 1.01, 2, float("nan"), True, "0.7"])
def test_biased_coin_p_outside_the_open_half_to_one(p):
    with pytest.raises(DesignError, match=r"p must be a probability in \(0.5, 1\]"):
        biased_coin(30, ("IPS", "SAU"), p=p, seed=1)


def test_biased_coin_p_at_the_edges():
    assert len(biased_coin(30, ("IPS", "SAU"), p=1, seed=1)) == 30
    assert len(biased_coin(30, ("IPS", "SAU"), p=0.5000001, seed=1)) == 30


@pytest.mark.parametrize("seed", [0, 1, 2012])
def test_the_generators_fast_stratified_arms_are_the_allocation_lists(seed):
    # stratified_arm_indices (what simulate_trial uses) must allocate exactly as stratified_blocks: the same
    # strata order (sorted levels), the same streams, for text and integer factors, several block sizes
    import numpy as np
    import pandas as pd

    from ipstrial.randomization import stratified_blocks
    from ipstrial.randomization.blocks import stratified_arm_indices

    rng = np.random.default_rng(seed)
    site = rng.choice(np.array(["Odense", "Aarhus", "Copenhagen"], dtype=object), 500)
    prior = rng.integers(0, 2, 500)
    sex = rng.choice(np.array(["male", "female"], dtype=object), 500)
    arms = ["IPS", "IPSE", "SAU"]
    for factors, sizes, ratio in (
        ([site, prior], (3, 6), None),
        ([sex], (4,), (1, 1, 2)),
        ([prior, site, sex], (3,), None),
    ):
        strata = pd.DataFrame({f"f{i}": f for i, f in enumerate(factors)})
        listed = stratified_blocks(strata, arms, sizes, ratio=ratio, seed=seed + 7).arms
        fast = np.asarray(arms, dtype=object)[stratified_arm_indices(factors, 3, sizes, ratio, seed + 7)]
        assert list(fast) == list(listed)
