"""Permuted-block randomization (ipstrial.randomization.blocks), unstratified and stratified.

Each allocation list is checked against the definition of the scheme by code written here:
complete blocks hold every arm exactly in its ratio, only the last block of a stratum may be
incomplete, sizes come from the allowed set and positions run 1..size within a block.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import DesignError, TrialDataError
from ipstrial.randomization import AllocationList, permuted_blocks, stratified_blocks

COLUMNS = ["sequence", "stratum", "block_id", "block_size", "position", "arm"]

DESIGNS = {
    "1:1:1 sizes (3, 6)": (("IPS", "IPSE", "SAU"), (3, 6), None),
    "2:1 sizes (3, 6)": (("IPS", "SAU"), (3, 6), (2, 1)),
    "2:1:1 sizes (4, 8)": (("A", "B", "C"), (4, 8), (2, 1, 1)),
}

SITES = ("Copenhagen", "Frederiksberg", "Odense")
SEXES = ("female", "male")


def assert_valid_block_sequence(
    rows: pd.DataFrame, arms: tuple[str, ...], sizes: tuple[int, ...], ratio: tuple[int, ...] | None
) -> None:
    """``rows`` (one stratum, in order of arrival) form a valid permuted-block sequence."""
    r = (1,) * len(arms) if ratio is None else ratio
    total = sum(r)
    assert set(rows["arm"]) <= set(arms)
    block_ids = rows["block_id"].to_numpy()
    # a block's rows are contiguous and blocks are numbered consecutively in order of arrival
    starts = np.r_[True, block_ids[1:] != block_ids[:-1]]
    run_ids = block_ids[starts]
    assert len(set(run_ids)) == len(run_ids), "a block is interrupted by another block"
    assert np.array_equal(np.diff(run_ids), np.ones(len(run_ids) - 1, dtype=np.int64))
    for k, block_id in enumerate(run_ids):
        block = rows[rows["block_id"] == block_id]
        size = block["block_size"].unique()
        assert len(size) == 1
        size = int(size[0])
        assert size in sizes
        assert block["position"].tolist() == list(range(1, len(block) + 1))
        assert len(block) <= size
        quota = {arm: ri * size // total for arm, ri in zip(arms, r, strict=True)}
        counts = Counter(block["arm"])
        if len(block) == size:
            assert {arm: counts.get(arm, 0) for arm in arms} == quota
        else:
            assert k == len(run_ids) - 1, f"incomplete block {block_id} is not the last of its stratum"
            assert all(counts.get(arm, 0) <= quota[arm] for arm in arms)


def prefix_imbalance(arm: np.ndarray, arms: tuple[str, ...]) -> np.ndarray:
    """max - min arm count after each allocation."""
    counts = np.column_stack([np.cumsum(arm == a) for a in arms])
    return counts.max(axis=1) - counts.min(axis=1)


def strata_frame(n: int = 300, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "site": np.asarray(SITES, dtype=object)[rng.integers(0, 3, n)],
            "sex": np.asarray(SEXES, dtype=object)[rng.integers(0, 2, n)],
        },
        index=pd.Index([f"P{i:04d}" for i in rng.permutation(np.arange(1, n + 1))], name="participant_id"),
    )
    assert frame.groupby(["site", "sex"]).ngroups == 6
    return frame


def test_the_block_checker_rejects_broken_sequences():
    arms, sizes, ratio = DESIGNS["1:1:1 sizes (3, 6)"]
    good = permuted_blocks(20, arms, sizes, seed=1).frame
    assert_valid_block_sequence(good, arms, sizes, ratio)
    unbalanced = good.copy()
    unbalanced.loc[0, "arm"] = unbalanced.loc[1, "arm"]
    with pytest.raises(AssertionError):
        assert_valid_block_sequence(unbalanced, arms, sizes, ratio)
    incomplete_middle = good.drop(index=good.index[good["block_id"] == 1][-1])
    with pytest.raises(AssertionError):
        assert_valid_block_sequence(incomplete_middle, arms, sizes, ratio)
    with pytest.raises(AssertionError):
        assert_valid_block_sequence(good.iloc[::-1], arms, sizes, ratio)
    with pytest.raises(AssertionError):
        assert_valid_block_sequence(good, arms, (3,), ratio)
    assert prefix_imbalance(np.array(["IPS", "IPS", "SAU", "IPSE"]), arms).tolist() == [1, 2, 2, 1]


# ----------------------------------------------------------------------------- unstratified
@pytest.mark.parametrize("design", list(DESIGNS), ids=list(DESIGNS))
@pytest.mark.parametrize("n", [1, 2, 7, 500, 1001])
@pytest.mark.parametrize("seed", [0, 1, 2012])
def test_permuted_blocks_form_a_valid_block_sequence(design, n, seed):
    arms, sizes, ratio = DESIGNS[design]
    alloc = permuted_blocks(n, arms, sizes, ratio=ratio, seed=seed)
    assert isinstance(alloc, AllocationList)
    frame = alloc.frame
    assert list(frame.columns) == COLUMNS
    assert len(alloc) == n == len(frame)
    assert frame["sequence"].tolist() == list(range(1, n + 1))
    assert (frame["stratum"] == "all").all()
    assert frame["block_id"].iloc[0] == 1
    assert alloc.arms.tolist() == frame["arm"].tolist()
    assert_valid_block_sequence(frame, arms, sizes, ratio)


@pytest.mark.parametrize("design", list(DESIGNS), ids=list(DESIGNS))
def test_both_block_sizes_occur_in_a_long_list(design):
    arms, sizes, ratio = DESIGNS[design]
    frame = permuted_blocks(2000, arms, sizes, ratio=ratio, seed=5).frame
    blocks = frame.drop_duplicates("block_id")
    assert set(blocks["block_size"]) == set(sizes)
    # sizes are drawn uniformly: each occurs in roughly half of the blocks
    share = (blocks["block_size"] == sizes[0]).mean()
    assert 0.35 < share < 0.65


@pytest.mark.parametrize("seed", range(20))
def test_prefix_imbalance_never_exceeds_half_the_largest_block(seed):
    arms = ("IPS", "IPSE", "SAU")
    alloc = permuted_blocks(600, arms, (3, 6), seed=seed)
    imbalance = prefix_imbalance(alloc.arms, arms)
    assert imbalance.max() <= 3
    # and at the end of every complete block the arms are exactly balanced
    ends = (alloc.frame["position"] == alloc.frame["block_size"]).to_numpy()
    assert (imbalance[ends] == 0).all()


def test_unequal_ratio_long_run_proportion():
    alloc = permuted_blocks(3000, ("IPS", "SAU"), (3, 6), ratio=(2, 1), seed=99)
    share = np.mean(alloc.arms == "IPS")
    assert abs(share - 2 / 3) < 0.01
    # tighter: the deviation comes only from the last, incomplete block (at most 6 long)
    assert abs(np.sum(alloc.arms == "IPS") - 2000) <= 4


def test_single_block_size_gives_fixed_blocks():
    frame = permuted_blocks(12, ("A", "B"), (4,), seed=3).frame
    assert frame["block_size"].tolist() == [4] * 12
    assert frame["block_id"].tolist() == [1] * 4 + [2] * 4 + [3] * 4
    assert frame["position"].tolist() == [1, 2, 3, 4] * 3


# ----------------------------------------------------------------------------- reproducibility
def test_same_seed_gives_the_identical_frame():
    arms = ("IPS", "IPSE", "SAU")
    a = permuted_blocks(400, arms, (3, 6), seed=2012)
    b = permuted_blocks(400, arms, (3, 6), seed=2012)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.seed == b.seed == 2012
    assert a.scheme == "permuted_blocks"
    assert a.parameters == {"arms": list(arms), "block_sizes": [3, 6], "ratio": [1, 1, 1], "n": 400}


def test_different_seed_gives_a_different_arm_sequence():
    arms = ("IPS", "IPSE", "SAU")
    a = permuted_blocks(400, arms, (3, 6), seed=2012)
    b = permuted_blocks(400, arms, (3, 6), seed=2013)
    assert a.arms.tolist() != b.arms.tolist()
    assert b.seed == 2013


def test_stratified_same_seed_gives_the_identical_frame_and_other_seed_differs():
    strata = strata_frame()
    arms = ("IPS", "IPSE", "SAU")
    a = stratified_blocks(strata, arms, (3, 6), seed=17)
    b = stratified_blocks(strata, arms, (3, 6), seed=17)
    c = stratified_blocks(strata, arms, (3, 6), seed=18)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.seed == 17 and c.seed == 18
    assert a.scheme == "stratified_blocks"
    assert a.parameters["factors"] == ["site", "sex"]
    assert a.arms.tolist() != c.arms.tolist()


# ----------------------------------------------------------------------------- stratified
@pytest.mark.parametrize("design", list(DESIGNS), ids=list(DESIGNS))
@pytest.mark.parametrize("seed", [0, 4, 2012])
def test_stratified_blocks_form_a_valid_sequence_in_each_stratum(design, seed):
    arms, sizes, ratio = DESIGNS[design]
    strata = strata_frame()
    alloc = stratified_blocks(strata, arms, sizes, ratio=ratio, seed=seed)
    frame = alloc.frame
    assert list(frame.columns) == COLUMNS
    assert frame.index.equals(strata.index)
    assert frame["sequence"].tolist() == list(range(1, len(strata) + 1))
    expected = "site=" + strata["site"] + ", sex=" + strata["sex"]
    assert frame["stratum"].tolist() == expected.tolist()
    assert set(frame["stratum"]) == {f"site={s}, sex={x}" for s in SITES for x in SEXES}
    assert "site=Odense, sex=female" in set(frame["stratum"])
    # block ids are unique in the whole list: no block is shared by two strata
    assert frame.groupby("block_id")["stratum"].nunique().max() == 1
    for _, rows in frame.groupby("stratum", sort=False):
        assert_valid_block_sequence(rows, arms, sizes, ratio)


@pytest.mark.parametrize("seed", range(10))
def test_stratified_final_imbalance_within_each_stratum_is_at_most_three(seed):
    arms = ("IPS", "IPSE", "SAU")
    frame = stratified_blocks(strata_frame(seed=seed), arms, (3, 6), seed=seed).frame
    for _, rows in frame.groupby("stratum"):
        imbalance = prefix_imbalance(rows["arm"].to_numpy(), arms)
        assert imbalance[-1] <= 3
        assert imbalance.max() <= 3


def _interleave(strata: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Reorder rows at random across strata while keeping each stratum's own order."""
    key = rng.random(len(strata))
    new_key = np.empty_like(key)
    for _, positions in strata.groupby(list(strata.columns)).indices.items():
        new_key[positions] = np.sort(key[positions])
    return strata.iloc[np.argsort(new_key, kind="stable")]


@pytest.mark.parametrize("seed", [0, 2012])
def test_stratified_allocation_does_not_depend_on_the_order_of_other_strata(seed):
    strata = strata_frame()
    arms = ("IPS", "IPSE", "SAU")
    base = stratified_blocks(strata, arms, (3, 6), seed=seed).frame
    reorders = [
        _interleave(strata, np.random.default_rng(1)),
        _interleave(strata, np.random.default_rng(2)),
        # strata arrive one after another, in reverse sorted order of their labels
        strata.iloc[np.argsort(-strata.groupby(["site", "sex"]).ngroup().to_numpy(), kind="stable")],
    ]
    for shuffled in reorders:
        assert not shuffled.index.equals(strata.index)
        # each stratum keeps its own order of arrival
        for _, g in strata.groupby(["site", "sex"]):
            kept = shuffled.index[shuffled.index.isin(g.index)]
            assert kept.tolist() == g.index.tolist()
        other = stratified_blocks(shuffled, arms, (3, 6), seed=seed).frame
        assert other.index.equals(shuffled.index)
        aligned = other.loc[strata.index]
        assert aligned["arm"].tolist() == base["arm"].tolist()
        assert aligned["stratum"].tolist() == base["stratum"].tolist()
        assert aligned["position"].tolist() == base["position"].tolist()
        assert aligned["block_size"].tolist() == base["block_size"].tolist()


# ----------------------------------------------------------------------------- bad input
def test_block_size_not_a_multiple_of_the_allocation_total():
    with pytest.raises(
        DesignError,
        match=r"block sizes \[4\] are not positive multiples of the allocation "
        r"total 3 \(ratio 1:1:1\)",
    ) as info:
        permuted_blocks(30, ("IPS", "IPSE", "SAU"), (4,), seed=1)
    assert "[3, 6]" in str(info.value)


def test_block_size_not_a_multiple_of_an_unequal_ratio_total():
    with pytest.raises(
        DesignError,
        match=r"block sizes \[6\] are not positive multiples of the allocation "
        r"total 4 \(ratio 2:1:1\)",
    ):
        permuted_blocks(30, ("A", "B", "C"), (4, 6), ratio=(2, 1, 1), seed=1)


def test_ratio_length_must_match_the_arms():
    with pytest.raises(DesignError, match=r"has 3 entries but there are 2 arms \['IPS', 'SAU'\]"):
        permuted_blocks(30, ("IPS", "SAU"), (4,), ratio=(2, 1, 1), seed=1)


def test_duplicate_arm_names():
    with pytest.raises(DesignError, match=r"duplicate arm names \['IPS'\]"):
        permuted_blocks(30, ("IPS", "SAU", "IPS"), (3, 6), seed=1)


def test_duplicate_arm_names_stratified():
    with pytest.raises(DesignError, match=r"duplicate arm names \['SAU'\]"):
        stratified_blocks(strata_frame(), ("SAU", "IPS", "SAU"), (3, 6), seed=1)


def test_n_zero():
    with pytest.raises(DesignError, match=r"n must be a positive integer number of participants; got 0"):
        permuted_blocks(0, ("IPS", "SAU"), (2, 4), seed=1)


def test_n_negative():
    with pytest.raises(DesignError, match=r"n must be a positive integer number of participants; got -5"):
        permuted_blocks(-5, ("IPS", "SAU"), (2, 4), seed=1)


def test_strata_with_missing_values_name_the_column():
    strata = strata_frame(n=40)
    strata.iloc[[3, 10, 11], strata.columns.get_loc("sex")] = None
    with pytest.raises(TrialDataError, match=r"column 'sex': missing stratification factor") as info:
        stratified_blocks(strata, ("IPS", "SAU"), (2, 4), seed=1)
    problems = info.value.problems
    assert len(problems) == 1
    assert problems[0].column == "sex"
    assert problems[0].count == 3
    assert problems[0].ids == tuple(strata.index[[3, 10, 11]])
    assert "site" not in str(info.value)


def test_strata_with_missing_values_in_two_columns_report_both():
    strata = strata_frame(n=40)
    strata.iloc[0, 0] = np.nan
    strata.iloc[5, 1] = None
    with pytest.raises(TrialDataError, match=r"2 problems in the trial data") as info:
        stratified_blocks(strata, ("IPS", "SAU"), (2, 4), seed=1)
    assert [p.column for p in info.value.problems] == ["site", "sex"]


def test_empty_block_sizes():
    with pytest.raises(DesignError, match=r"block_sizes is empty"):
        permuted_blocks(30, ("IPS", "SAU"), (), seed=1)


def test_empty_block_sizes_stratified():
    with pytest.raises(DesignError, match=r"block_sizes is empty"):
        stratified_blocks(strata_frame(), ("IPS", "SAU"), [], seed=1)


def test_recorded_seed_regenerates_block_lists_drawn_with_fresh_entropy():
    # seed=None: the entropy actually used is recorded once, so the record regenerates the list
    first = permuted_blocks(90, ("A", "B", "C"), (3, 6), seed=None)
    assert first.seed is not None
    again = permuted_blocks(90, ("A", "B", "C"), (3, 6), seed=first.seed)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    strata = pd.DataFrame({"site": np.repeat(["x", "y", "z"], 20), "sex": np.tile(["f", "m"], 30)})
    listed = stratified_blocks(strata, ("A", "B"), (2, 4), seed=None)
    pd.testing.assert_frame_equal(
        listed.frame, stratified_blocks(strata, ("A", "B"), (2, 4), seed=listed.seed).frame
    )
