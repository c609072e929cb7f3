"""The randomization area on the input gate: balance, the re-randomization test and design replays.

Checked here, against the data themselves (counts, the labelled twin of an int-coded data set, the
DataFrame twin of a Trial) rather than against the code: the gate's rules (duplicated ids, missing and
near-miss arm labels, every column declared, rows of other arms counted), labels of int-coded arms in
every output, unique ARD keys, ``analysis=``, the seed (same seed, same bits; the entropy recorded
regenerates a ``seed=None`` run), the memory budget, and the stratified permutation of
:func:`ipstrial.resampling.permutation_chunks` keeping the arm counts of every stratum.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from conftest import ARMS

import ipstrial
from ipstrial import randomization
from ipstrial.errors import MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.randomization import (
    balance,
    replay_design,
    rerandomization_test,
    simulate_scheme,
    stratified_blocks,
)
from ipstrial.results import ARD_KEY, Result, collect

FACTORS = ["age", "sex", "diagnosis", "employed_prev5y", "hours_18m"]
DESIGN = {
    "scheme": "stratified_blocks",
    "factors": ["site", "employed_prev5y"],
    "block_sizes": [3, 6],
    "arms": list(ARMS),
}
MINIMIZATION = {
    "scheme": "minimization",
    "factors": ["site", "employed_prev5y"],
    "arms": list(ARMS),
    "p": 0.8,
}


def two_arms_int_coded(frame: pd.DataFrame) -> pd.DataFrame:
    """IPS (1) and SAU (0) of the synthetic trial with the arm coded as an integer."""
    sub = frame[frame["arm"] != "IPSE"].reset_index(drop=True)
    return sub.assign(arm=(sub["arm"] == "IPS").astype(int))


# ----------------------------------------------------------------------------------------------- balance
def test_balance_of_a_trial_equals_the_dataframe_call(trial, frame):
    from_trial = balance(trial, FACTORS)
    from_frame = balance(frame, FACTORS, "arm", id="participant_id")
    pd.testing.assert_frame_equal(from_trial.to_frame(), from_frame.to_frame())
    assert from_trial.arms == ARMS == tuple(trial.arms)
    assert from_trial.n_by_arm == frame["arm"].value_counts().to_dict()
    assert from_trial.inputs == from_frame.inputs


def test_balance_leaves_out_and_counts_the_rows_of_other_arms(trial, frame):
    result = balance(trial, ["age", "sex"], treatment="IPS")  # control: the Trial's, SAU
    assert result.arms == ("IPS", "SAU")
    n_ipse = int((frame["arm"] == "IPSE").sum())
    assert dict(result.inputs.outside) == {"IPSE": n_ipse}
    assert f"Not in this analysis: {n_ipse} rows of other arms (IPSE {n_ipse})." in result.summary()
    assert "IPSE" not in set(result.table["arm"])
    # the numbers are those of the two arms alone
    alone = balance(frame[frame["arm"] != "IPSE"], ["age", "sex"], "arm", "IPS", "SAU")
    pd.testing.assert_frame_equal(result.smd, alone.smd)


def test_balance_with_int_coded_arms_shows_their_labels(frame):
    data = two_arms_int_coded(frame)
    result = balance(data, ["age", "sex"], "arm", 1, 0)
    assert result.arms == ("1", "0")
    labelled = balance(frame[frame["arm"] != "IPSE"], ["age", "sex"], "arm", "IPS", "SAU")
    np.testing.assert_allclose(result.smd["smd"], labelled.smd["smd"], rtol=1e-12)
    smd_rows = result.to_frame().query("quantity == 'smd'")
    assert set(smd_rows["contrast"]) == {"1 vs 0"}
    assert "1 vs 0" in result._repr_html_()
    assert "Baseline balance: 1 (n=" in result.summary()
    assert {"1 vs 0", "1", "0"} <= {row["contrast"] for row in result.to_dict()["rows"]}
    json.dumps(result.to_dict(), allow_nan=False)
    # every arm, none named: numbers sorted
    assert balance(data, ["age"], "arm").arms == ("0", "1")


def test_balance_refuses_duplicated_ids_missing_arms_and_near_miss_labels(data):
    doubled = data.copy()
    doubled.loc[5, "participant_id"] = doubled.loc[4, "participant_id"]
    with pytest.raises(TrialDataError, match=r"1 duplicated participant id.*P0005"):
        balance(doubled, FACTORS, "arm", id="participant_id")
    no_arm = data.copy()
    no_arm.loc[7, "arm"] = np.nan
    with pytest.raises(TrialDataError, match=r"1 participant without an arm.*P0008"):
        balance(no_arm, FACTORS, "arm", id="participant_id")
    with pytest.raises(TrialDataError, match=r"1 participant without an arm \(row at position 7\)"):
        balance(no_arm, FACTORS, "arm")
    slip = data.copy()
    slip.loc[[3, 10], "arm"] = "IPS "
    with pytest.raises(TrialDataError, match=r"near-misses of another arm: 'IPS ' \(2\), probably 'IPS'"):
        balance(slip, FACTORS, "arm")


def test_balance_checks_its_factors_through_the_gate(data):
    with pytest.raises(TrialDataError, match=r"column not found: 'height' \(covariate\)"):
        balance(data, ["age", "height"], "arm")
    stray = data.assign(age=data["age"].astype(object))
    stray.loc[2, "age"] = "unknown"
    with pytest.raises(TrialDataError, match=r"column 'age': 1 text value \('unknown'\)"):
        balance(stray, ["age"], "arm")
    infinite = data.assign(age=data["age"].astype(float))
    infinite.loc[0, "age"] = np.inf
    with pytest.raises(TrialDataError, match=r"column 'age': 1 infinite value"):
        balance(infinite, ["age"], "arm")
    with pytest.raises(ParameterError, match=r"the arm column 'arm' is also listed in factors"):
        balance(data, ["age", "arm"], "arm")
    with pytest.raises(ParameterError, match=r"factors lists \['age'\] more than once"):
        balance(data, ["age", "age"], "arm")
    with pytest.raises(ParameterError, match=r"the kind of factor 'age' must be one of"):
        balance(data, {"age": "ordinal"}, "arm")
    with pytest.raises(ParameterError, match=r"arm= must name the column"):
        balance(data, ["age"])
    # a single factor by name is one column, never its letters
    assert balance(data, "age", "arm").factors == ("age",)


def test_balance_analysis_renames_every_row(trial):
    result = balance(trial, FACTORS, analysis="baseline_table")
    assert set(result.to_frame()["analysis"]) == {"baseline_table"}
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        balance(trial, FACTORS, analysis="Baseline table")


# -------------------------------------------------------------------------------- re-randomization test
def test_rerandomization_of_a_trial_equals_the_dataframe_call(trial, frame):
    a = rerandomization_test(trial, "employed_18m", design=DESIGN, n_resamples=300, seed=5, order="enrolment")
    b = rerandomization_test(
        frame,
        "employed_18m",
        "arm",
        control="SAU",
        design=DESIGN,
        n_resamples=300,
        seed=5,
        order="enrolment",
        id="participant_id",
    )
    assert a.contrasts == b.contrasts == ("IPS vs SAU", "IPSE vs SAU")
    np.testing.assert_array_equal(a.distribution, b.distribution)
    np.testing.assert_array_equal(a.p_value, b.p_value)
    assert a.inputs == b.inputs
    # the observed statistic is the risk difference of the data
    y = frame.groupby("arm")["employed_18m"].mean()
    assert a.observed.tolist() == pytest.approx([y["IPS"] - y["SAU"], y["IPSE"] - y["SAU"]], abs=1e-15)


def test_rerandomization_replays_every_arm_and_compares_the_named_ones(trial, frame):
    result = rerandomization_test(trial, "employed_18m", "arm", "IPS", design=DESIGN, n_resamples=200, seed=1)
    assert result.contrasts == ("IPS vs SAU",)
    counts = frame["arm"].value_counts()
    assert result.n_compared == (int(counts["IPS"] + counts["SAU"]),)
    assert dict(result.inputs.n_by_arm) == {a: int(counts[a]) for a in ARMS}  # IPSE is replayed too
    # a design without arms replays the compared arms: IPSE is left out and counted
    compared = rerandomization_test(
        trial, "employed_18m", treatment="IPS", design={"scheme": "permutation"}, n_resamples=200, seed=1
    )
    assert dict(compared.inputs.outside) == {"IPSE": int(counts["IPSE"])}
    alone = rerandomization_test(
        frame[frame["arm"] != "IPSE"],
        "employed_18m",
        "arm",
        "IPS",
        "SAU",
        design={"scheme": "permutation", "arms": ["IPS", "SAU"]},
        n_resamples=200,
        seed=1,
    )
    np.testing.assert_array_equal(compared.distribution, alone.distribution)
    # a design without IPSE cannot have allocated the IPSE participants
    two_arm = {"scheme": "permutation", "arms": ["IPS", "SAU"]}
    with pytest.raises(TrialDataError, match=rf"{counts['IPSE']} participants with an arm not in the design"):
        rerandomization_test(trial, "employed_18m", treatment="IPS", design=two_arm, n_resamples=10)


def test_rerandomization_with_int_coded_arms_shows_their_labels_and_the_same_numbers(frame):
    data = two_arms_int_coded(frame)
    coded = rerandomization_test(
        data, "employed_18m", "arm", 1, 0, design={"scheme": "permutation"}, n_resamples=400, seed=3
    )
    labelled = rerandomization_test(
        frame[frame["arm"] != "IPSE"],
        "employed_18m",
        "arm",
        "IPS",
        "SAU",
        design={"scheme": "permutation"},
        n_resamples=400,
        seed=3,
    )
    assert coded.contrasts == ("1 vs 0",)
    assert coded.to_frame()["contrast"].tolist() == ["1 vs 0"]
    assert "1 vs 0" in coded.summary() and "1 vs 0" in coded._repr_html_()
    assert coded.to_dict()["rows"][0]["contrast"] == "1 vs 0"
    # a permutation moves positions, whatever the labels: the same replays
    np.testing.assert_allclose(coded.distribution, labelled.distribution, atol=1e-15)
    assert coded.p_value[0] == labelled.p_value[0]


def test_rerandomization_refuses_bad_participants(data):
    doubled = data.copy()
    doubled.loc[9, "participant_id"] = doubled.loc[1, "participant_id"]
    with pytest.raises(TrialDataError, match=r"duplicated participant id.*P0002"):
        rerandomization_test(
            doubled, "employed_18m", "arm", control="SAU", design=DESIGN, n_resamples=10, id="participant_id"
        )
    slip = data.copy()
    slip.loc[[3, 10, 11], "arm"] = "sau"
    with pytest.raises(TrialDataError, match=r"'sau' \(3\), probably 'SAU'"):
        rerandomization_test(slip, "employed_18m", "arm", control="SAU", design=DESIGN, n_resamples=10)
    with pytest.raises(TrialDataError, match=r"'sau' \(3\), probably 'SAU'"):
        rerandomization_test(
            slip, "employed_18m", "arm", control="SAU", design={"scheme": "permutation"}, n_resamples=10
        )
    no_arm = data.copy()
    no_arm.loc[0, "arm"] = None
    with pytest.raises(TrialDataError, match=r"1 participant without an arm"):
        rerandomization_test(no_arm, "employed_18m", "arm", control="SAU", design=DESIGN, n_resamples=10)


def test_rerandomization_declares_every_column_it_reads(data):
    def run(frame: pd.DataFrame, outcome: str = "employed_18m", **options):
        options = {"design": DESIGN, "n_resamples": 10} | options
        return rerandomization_test(frame, outcome, "arm", control="SAU", **options)

    with pytest.raises(
        TrialDataError,
        match=r"column not found: 'employed_19m' \(binary outcome\)|"
        r"column not found: 'employed_19m' \(continuous outcome\)",
    ):
        run(data, "employed_19m")
    with pytest.raises(TrialDataError, match=r"column not found: 'region' \(design factor\)"):
        run(data, design={**DESIGN, "factors": ["region"]})
    with pytest.raises(TrialDataError, match=r"column not found: 'enrolled' \(recruitment order\)"):
        run(data, order="enrolled")
    late = data.assign(enrolment=data["enrolment"].astype(float))
    late.loc[[4, 6], "enrolment"] = np.nan
    with pytest.raises(TrialDataError, match=r"column 'enrolment': 2 missing values in a recruitment order"):
        run(late, order="enrolment")
    gap = data.copy()
    gap.loc[2, "site"] = None
    with pytest.raises(TrialDataError, match=r"column 'site': 1 missing value in a design factor column"):
        run(gap)
    text = data.assign(employed_18m=data["employed_18m"].astype(object))
    text.loc[1, "employed_18m"] = "yes"
    with pytest.raises(TrialDataError, match=r"column 'employed_18m': 1 non-numeric value \('yes'\)"):
        run(text)
    with pytest.raises(TrialDataError, match=r"column 'hours_18m': .* values other than 0/1"):
        run(data.fillna({"hours_18m": 0}), "hours_18m", statistic="risk_difference")


def test_rerandomization_missing_outcomes_need_a_policy(data):
    gaps = data.copy()
    gaps.loc[[0, 1, 2], "employed_18m"] = np.nan  # arms IPSE, SAU, IPSE
    with pytest.raises(TrialDataError, match=r"3 missing outcome values \(IPS 0, IPSE 2, SAU 1\)"):
        rerandomization_test(gaps, "employed_18m", "arm", control="SAU", design=DESIGN, n_resamples=10)
    result = rerandomization_test(
        gaps, "employed_18m", "arm", control="SAU", design=DESIGN, n_resamples=20, missing="complete-case"
    )
    assert dict(result.inputs.excluded) == {"IPS": 0, "IPSE": 2, "SAU": 1}
    assert "Excluded (complete-case): 3 participants with missing employed_18m" in result.summary()
    assert result.to_frame()["excluded_SAU"].tolist() == [1, 1]


def test_rerandomization_parameters_are_checked(data):
    def run(**options):
        options = {"design": DESIGN, "n_resamples": 10} | options
        return rerandomization_test(data, "employed_18m", "arm", control="SAU", **options)

    with pytest.raises(ParameterError, match=r"alpha must be a number between 0 and 1.*got '0.05'"):
        run(alpha="0.05")
    with pytest.raises(ParameterError, match=r"alternative must be one of 'two-sided', 'greater', 'less'"):
        run(alternative="two.sided")
    with pytest.raises(ParameterError, match=r"missing must be one of None, 'complete-case'"):
        run(missing="drop")
    with pytest.raises(
        ParameterError, match=r"statistic must be one of 'risk_difference', 'mean_difference'"
    ):
        run(statistic="odds")
    with pytest.raises(ParameterError, match=r"order must be the name of the enrolment-order column"):
        run(order=1)
    with pytest.raises(ParameterError, match=r"a callable statistic gives one number per replay, but 2"):
        run(statistic=lambda y, a: 0.0, estimand="risk_difference")
    with pytest.raises(ParameterError, match=r"treatment \['IPSX'\] are not arms of the design.*'IPS'"):
        run(treatment="IPSX")
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        run(analysis="re-randomization")


def test_rerandomization_analysis_renames_every_row(trial):
    result = rerandomization_test(
        trial, "employed_18m", design=DESIGN, n_resamples=50, seed=2, analysis="primary_rerandomization"
    )
    assert result.to_frame()["analysis"].tolist() == ["primary_rerandomization"] * 2


# ------------------------------------------------------------------------------------------ the replays
def test_replay_design_of_a_trial_equals_the_dataframe_call(trial, frame):
    for design in (DESIGN, MINIMIZATION):
        a = replay_design(trial, design, n_resamples=40, seed=3, order="enrolment")
        b = replay_design(frame, design, n_resamples=40, seed=3, order="enrolment", id="participant_id")
        c = replay_design(frame, design, arm="arm", n_resamples=40, seed=3, order="enrolment")
        np.testing.assert_array_equal(a.codes, b.codes)
        np.testing.assert_array_equal(a.codes, c.codes)
    with pytest.raises(ParameterError, match=r"arm='treatment', but the Trial's arm column is 'arm'"):
        replay_design(trial, DESIGN, arm="treatment", n_resamples=5)
    with pytest.raises(
        TrialDataError, match=r"240 participants with an arm not in the design \['IPS', 'IPSE'\]"
    ):
        replay_design(trial, {"scheme": "simple", "arms": ["IPS", "IPSE"]}, n_resamples=5)
    with pytest.raises(ParameterError, match=r"a 'permutation' design permutes the observed arms"):
        replay_design(frame, {"scheme": "permutation"}, n_resamples=5)
    doubled = frame.copy()
    doubled.loc[3, "participant_id"] = doubled.loc[2, "participant_id"]
    with pytest.raises(TrialDataError, match=r"duplicated participant id.*P0003"):
        replay_design(doubled, DESIGN, n_resamples=5, id="participant_id")
    with pytest.raises(TrialDataError, match=r"column not found: 'region' \(design factor\)"):
        replay_design(frame, {**DESIGN, "factors": ["region"]}, n_resamples=5)


def test_stratified_permutation_keeps_the_arm_counts_of_every_stratum(frame):
    replays = replay_design(
        frame, {"scheme": "permutation", "factors": ["site"]}, arm="arm", n_resamples=60, seed=4
    )
    observed = pd.crosstab(frame["site"], frame["arm"])
    labels = replays.labels()
    for b in range(len(replays)):
        replayed = pd.crosstab(frame["site"], pd.Series(labels[b], name="arm"))
        pd.testing.assert_frame_equal(replayed, observed, check_names=False)
    assert len({row.tobytes() for row in replays.codes}) == 60
    # and across sites participants do move: the permutation is not the identity within strata
    assert np.mean(labels != frame["arm"].to_numpy()) > 0.5


def test_same_seed_same_bits_and_the_recorded_entropy_regenerates(trial):
    def run(seed):
        return rerandomization_test(trial, "employed_18m", design=MINIMIZATION, n_resamples=60, seed=seed)

    a, b, c = run(11), run(11), run(12)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert not np.array_equal(a.distribution, c.distribution)
    assert a.seed_entropy == 11 and a.to_frame()["seed_entropy"].iloc[0] == "11"
    fresh = run(None)
    assert isinstance(fresh.seed_entropy, int)
    np.testing.assert_array_equal(run(fresh.seed_entropy).distribution, fresh.distribution)
    assert run(np.random.default_rng(1)).seed_entropy is None
    for design in (DESIGN, {"scheme": "permutation"}, {"scheme": "simple", "arms": list(ARMS)}):
        one = replay_design(trial, design, n_resamples=30, seed=21)
        two = replay_design(trial, design, n_resamples=30, seed=21)
        np.testing.assert_array_equal(one.codes, two.codes)
        assert one.seed_entropy == 21
    sim = simulate_scheme("permuted_blocks", 30, n_sim=20, seed=None, block_sizes=(2, 4))
    again = simulate_scheme("permuted_blocks", 30, n_sim=20, seed=sim.seed_entropy, block_sizes=(2, 4))
    np.testing.assert_array_equal(sim.allocations, again.allocations)


def test_memory_budget_is_checked_before_keeping_replays(trial):
    with ipstrial.memory_budget_of("1MiB"):
        with pytest.raises(MemoryBudgetError, match=r"replay_design with n_resamples=10,000 and 720"):
            replay_design(trial, DESIGN, n_resamples=10_000, seed=1)
        with pytest.raises(MemoryBudgetError, match=r"details=True"):
            replay_design(trial, DESIGN, n_resamples=100, seed=1, details=True)
        with pytest.raises(MemoryBudgetError, match=r"rerandomization_test with n_resamples=1,000,000"):
            rerandomization_test(trial, "employed_18m", design=DESIGN, n_resamples=1_000_000, seed=1)
        # what fits runs: the replays are evaluated chunk by chunk, never all kept
        small = rerandomization_test(trial, "employed_18m", design=DESIGN, n_resamples=2_000, seed=1)
    assert small.distribution.shape == (2_000, 2)


# ------------------------------------------------------------------------------------------ ARD keys
def _results(trial: ipstrial.Trial) -> dict[type, list[Result]]:
    strata = trial.data[["site", "employed_prev5y"]]
    return {
        randomization.BalanceResult: [
            balance(trial, FACTORS),
            balance(trial.data.assign(arm=(trial.data["arm"] == "IPS")), ["age", "sex"], "arm"),
        ],
        randomization.RerandomizationResult: [
            rerandomization_test(trial, "employed_18m", design=DESIGN, n_resamples=50, seed=1),
            rerandomization_test(
                trial,
                "hours_18m",
                design=DESIGN,
                n_resamples=50,
                seed=1,
                missing="complete-case",
                interval=True,
                analysis="rerandomization_hours",
            ),
        ],
        randomization.SchemeProperties: [
            simulate_scheme(
                "stratified_blocks",
                len(strata),
                n_sim=10,
                seed=1,
                strata=strata,
                block_sizes=(3, 6),
                arms=ARMS,
            ),
            simulate_scheme("simple", 40, n_sim=10, seed=1, label="simple 40"),
        ],
    }


def test_every_randomization_result_has_unique_ard_keys(trial):
    results = _results(trial)
    public = {
        obj
        for name in randomization.__all__
        if inspect.isclass(obj := getattr(randomization, name)) and issubclass(obj, Result)
    }
    assert public == set(results)  # a new result class needs an entry above
    for made in results.values():
        for result in made:
            frame = result.to_frame()
            assert len(frame) > 0
            repeated = frame[frame.duplicated(list(ARD_KEY), keep=False)]
            assert repeated.empty, repeated[list(ARD_KEY)].head()
    by_class = [r for made in results.values() for r in made]
    distinct = [by_class[0], by_class[2], by_class[3], by_class[4]]
    assert not collect(distinct).duplicated(list(ARD_KEY)).any()


def test_scheme_generators_take_their_options_by_keyword():
    strata = pd.DataFrame({"site": ["a", "b"] * 6})
    with pytest.raises(TypeError):
        stratified_blocks(strata, ("A", "B"), (2,), None, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        randomization.simple(10, ("A", "B"), (1, 1))  # type: ignore[misc]
    with pytest.raises(TypeError):
        randomization.minimization(strata, ("A", "B"), None, 0.8)  # type: ignore[misc]
