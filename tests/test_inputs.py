"""The input gate (ipstrial._inputs.gate), the Trial, the parameter checks and the memory budget.

Each rule of the one input gate is a test here; tests/test_gate_everywhere.py checks that every public
estimator applies the same rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ipstrial
from ipstrial import _checks, _memory
from ipstrial._inputs import design_matrix, gate, prepare
from ipstrial._labels import label_of, near_miss
from ipstrial.errors import MemoryBudgetError, ParameterError, Problem, TrialDataError
from ipstrial.results import contrast_label


def small(**columns: object) -> pd.DataFrame:
    """Twelve participants, three arms; keyword arguments replace columns."""
    frame = pd.DataFrame(
        {
            "pid": [f"Q{i:02d}" for i in range(1, 13)],
            "group": ["IPS", "SAU", "IPSE"] * 4,
            "y": [1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1],
            "hours": [3.0, 0.0, 5.0, 1.0, 2.0, 0.0, 7.0, 0.0, 1.5, 2.0, 0.0, 4.0],
            "age": [30, 41, 25, 38, 52, 29, 33, 47, 36, 40, 28, 31],
            "site": ["a", "b"] * 6,
            "days": [10.0, 30.0, 5.0, 50.0, 20.0, 60.0, 15.0, 40.0, 25.0, 70.0, 35.0, 80.0],
            "event": [1, 0, 1, 1, 0, 1, 2, 0, 1, 0, 1, 1],
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def error_of(call) -> TrialDataError:
    with pytest.raises(TrialDataError) as info:
        call()
    return info.value


def binary_gate(data, **kw):
    options = {"arm": "group", "treatment": "IPS", "control": "SAU", "id": "pid", "outcomes": {"y": "binary"}}
    return gate(data, **(options | kw))


# ---------------------------------------------------------------------------------------------- ids


def test_duplicated_ids_are_an_error_naming_them():
    data = small(pid=["Q01", "Q02", "Q01"] + [f"Q{i:02d}" for i in range(4, 13)])
    err = error_of(lambda: binary_gate(data))
    (problem,) = err.problems
    assert problem.column == "pid" and problem.ids == ("Q01",) and not problem.positions
    assert "duplicated participant id" in problem.message and "shared by 2 rows" in problem.message
    assert "one row per participant" in problem.fix


def test_messages_name_id_values_never_index_labels():
    data = small(y=[1, 0, 2, 0, 1, 1, 0, 0, 1, 1, 0, 1])
    data.index = range(100, 112)  # an index unlike the ids or the positions
    err = error_of(lambda: binary_gate(data, treatment="IPSE"))
    assert err.problems[0].ids == ("Q03",)
    assert "participant id Q03" in str(err)


def test_without_an_id_column_messages_say_rows_at_positions():
    data = small(y=[1, 0, 2, 0, 1, 1, 0, 0, 2, 1, 0, 1])
    data.index = range(100, 112)
    err = error_of(lambda: binary_gate(data, id=None, treatment="IPSE"))
    problem = err.problems[0]
    assert problem.positions and problem.ids == ("2", "8")
    assert "rows at positions 2, 8" in str(err) and "participant id" not in str(err)


def test_ids_read_as_floats_are_shown_as_whole_numbers():
    data = small(pid=[float(i) for i in range(1, 13)], y=[1, 0, 2, 0, 1, 1, 0, 0, 1, 1, 0, 1])
    err = error_of(lambda: binary_gate(data, treatment="IPSE"))
    assert err.problems[0].ids == ("3",)


def test_missing_ids_are_named_by_position():
    data = small(pid=["Q01", None] + [f"Q{i:02d}" for i in range(3, 13)])
    err = error_of(lambda: binary_gate(data))
    assert err.problems[0].positions and err.problems[0].ids == ("1",)


# --------------------------------------------------------------------------------------------- arms


def test_a_missing_arm_is_an_error():
    data = small(group=["IPS", None, "IPSE"] + ["IPS", "SAU", "IPSE"] * 3)
    err = error_of(lambda: binary_gate(data))
    assert err.problems[0].column == "group" and err.problems[0].ids == ("Q02",)
    assert "without an arm" in err.problems[0].message


@pytest.mark.parametrize("slip", ["IPS ", "ips", " IPS", "I.P.S"])
def test_near_miss_labels_are_an_error_naming_label_count_ids_and_the_arm_meant(slip):
    labels = ["IPS", "SAU", "IPSE"] * 4
    labels[3] = labels[9] = slip
    err = error_of(lambda: binary_gate(small(group=labels)))
    (problem,) = err.problems
    assert problem.column == "group" and problem.ids == ("Q04", "Q10") and problem.count == 2
    assert f"{slip!r} (2), probably 'IPS'" in problem.message


def test_a_misspelt_long_label_is_a_near_miss():
    labels = ["treatment", "control"] * 6
    labels[4] = "treatmnet"
    data = small(group=labels)
    err = error_of(lambda: binary_gate(data, treatment="treatment", control="control"))
    assert "'treatmnet' (1), probably 'treatment'" in str(err)


def test_another_exact_arm_is_left_out_and_counted():
    sample = binary_gate(small())
    assert sample.order == ("IPS", "SAU")
    assert sample.inputs.outside == {"IPSE": 4}
    assert sample.inputs.n_by_arm == {"IPS": 4, "SAU": 4}
    assert "Not in this analysis: 4 rows of other arms (IPSE 4)." in sample.inputs.notes()


def test_enumerated_arms_are_not_near_misses():
    assert not near_miss("IPSE", "IPS")
    assert not near_miss("Arm A", "Arm B")
    assert not near_miss("group 1", "group 2")
    assert not near_miss("placebo2", "placebo")
    assert near_miss("Control", "control") and near_miss("contrl", "control")


def test_a_named_arm_absent_from_the_data_suggests_the_label_meant():
    err = error_of(lambda: binary_gate(small(), treatment="ips"))
    assert "arm 'ips' is not an arm label in the data" in str(err) and "probably 'IPS'" in str(err)


@pytest.mark.parametrize(
    ("codes", "treatment", "control", "contrast"),
    [
        ({"IPS": 1, "SAU": 0, "IPSE": 2}, 1, 0, "1 vs 0"),
        ({"IPS": True, "SAU": False, "IPSE": None}, True, False, "True vs False"),
        ({"IPS": 1.0, "SAU": 0.0, "IPSE": 2.0}, 1, 0, "1 vs 0"),
    ],
)
def test_arms_coded_as_numbers_or_booleans_are_known_by_their_labels(codes, treatment, control, contrast):
    data = small()
    data["group"] = data["group"].map(codes)
    if data["group"].isna().any():
        data = data[data["group"].notna()]
        data["group"] = data["group"].astype(bool)
    sample = binary_gate(data, treatment=treatment, control=control)
    assert sample.treatments == (label_of(treatment),) and sample.control == label_of(control)
    assert set(sample.frame["group"]) == {label_of(treatment), label_of(control)}
    assert contrast_label(treatment, control) == contrast


def test_categorical_arms_follow_their_categories():
    data = small()
    data["group"] = pd.Categorical(data["group"], categories=["SAU", "IPSE", "IPS"])
    sample = gate(data, arm="group", control="SAU", id="pid", outcomes={"y": "binary"})
    assert sample.treatments == ("IPSE", "IPS")


def test_treatment_defaults_to_every_other_arm_sorted_never_in_order_of_appearance():
    sample = gate(small(), arm="group", control="SAU", id="pid", outcomes={"y": "binary"})
    assert sample.treatments == ("IPS", "IPSE") and sample.order == ("IPS", "IPSE", "SAU")
    every = gate(small(), arm="group", need_control=False, outcomes={"y": "binary"})
    assert every.order == ("IPS", "IPSE", "SAU") and every.control is None


# -------------------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("alpha", ["0.05", None, True, 0, 1, 1.5, -0.1, float("nan")])
def test_alpha_must_be_a_number_between_0_and_1(alpha):
    with pytest.raises(ParameterError, match=r"alpha must be a number between 0 and 1"):
        _checks.check_alpha(alpha)


def test_parameter_errors_are_value_and_type_errors():
    with pytest.raises(ValueError):
        _checks.check_alpha("x")
    with pytest.raises(TypeError):
        _checks.check_alpha("x")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"control": ["SAU", "IPSE"]}, "control must be one arm label"),
        ({"treatment": []}, "treatment is an empty list"),
        ({"treatment": ["IPS", "IPS"]}, r"treatment lists \['IPS'\] more than once"),
        ({"treatment": ["IPS", "SAU"]}, "treatment and control are the same arm 'SAU'"),
        ({"treatment": {"IPS"}}, "treatment must be a label or a list"),
        ({"control": None}, "control= must name the control arm"),
        ({"arm": None}, "arm= must name the column"),
        ({"missing": "drop"}, "missing='drop' is not a policy"),
        ({"covariates": 3}, "covariates must be a column name or a list"),
    ],
)
def test_arm_and_policy_arguments_are_checked(kw, message):
    with pytest.raises(ParameterError, match=message):
        binary_gate(small(), **kw)


def test_strata_given_as_one_string_is_one_column():
    sample = binary_gate(small(), strata="site")
    assert sample.strata == ("site",) and "site" in sample.frame.columns


def test_count_number_choice_and_name_checks():
    assert _checks.check_count(1e4, "n_resamples") == 10_000
    for bad in (0, 2.5, True, "10", None):
        with pytest.raises(ParameterError, match="n_resamples must be a whole number at least 1"):
            _checks.check_count(bad, "n_resamples")
    with pytest.raises(ParameterError, match="wtp must be a finite number at least 0"):
        _checks.check_number(float("inf"), "wtp", minimum=0)
    with pytest.raises(ParameterError, match="method must be one of 'wald', 'newcombe'"):
        _checks.check_choice("score", "method", ["wald", "newcombe"])
    with pytest.raises(ParameterError, match=r"strata lists \['site'\] more than once"):
        _checks.column_names(["site", "site"], "strata")
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        _checks.check_analysis("ITT primary")


# ---------------------------------------------------------------------------------------- columns


def test_absent_and_repeated_columns():
    err = error_of(lambda: binary_gate(small(), outcomes={"employed": "binary"}))
    assert "column not found: 'employed' (binary outcome)" in str(err) and "'pid'" in str(err)
    twice = pd.concat([small(), small()[["age"]]], axis=1)
    err = error_of(lambda: binary_gate(twice, covariates=["age"]))
    assert err.problems[0].column == "age" and "occurs 2 times" in err.problems[0].message


def test_covariates_with_infinities_or_stray_text_are_named_with_ids():
    ages = [30, 41, 25, np.inf, 52, 29, 33, 47, 36, 40, 28, 31]
    err = error_of(lambda: binary_gate(small(age=ages), covariates="age"))
    assert err.problems[0].column == "age" and err.problems[0].ids == ("Q04",)
    assert "infinite value in a covariate" in err.problems[0].message
    text = [30, 41, 25, "unknown", 52, 29, 33, 47, 36, 40, "n/a", 31]
    err = error_of(lambda: binary_gate(small(age=text), covariates=["age"]))
    assert err.problems[0].ids == ("Q04", "Q11") and "'unknown', 'n/a'" in err.problems[0].message
    assert "astype('category')" in err.problems[0].fix
    # a categorical covariate stored as labels is fine
    binary_gate(small(site=["north", "south"] * 6), covariates=["site"])


def test_missing_covariates_are_an_error_unless_the_estimator_imputes_them():
    ages = [30, 41, 25, np.nan, 52, 29, 33, 47, 36, 40, 28, 31]
    err = error_of(lambda: binary_gate(small(age=ages), covariates="age"))
    assert "missing value in a covariate" in str(err) and err.problems[0].ids == ("Q04",)
    binary_gate(small(age=ages), covariates="age", covariates_may_be_missing=True)


@pytest.mark.parametrize(
    ("values", "message", "fix"),
    [
        (pd.to_timedelta(np.arange(12), unit="D"), "holds time spans", "pd.Timedelta(days=1)"),
        ([True, False] * 6, "True/False value", "numbers of days"),
        (pd.date_range("2020-01-01", periods=12), "holds dates", "time since randomisation"),
        (["10d"] * 12, "non-numeric value", "days since randomisation"),
    ],
)
def test_durations_must_be_numbers(values, message, fix):
    data = small(days=values)
    err = error_of(
        lambda: gate(
            data, arm="group", control="SAU", id="pid", outcomes={"days": "duration", "event": "event"}
        )
    )
    assert err.problems[0].column == "days" and message in err.problems[0].message
    assert fix in err.problems[0].fix


def test_missing_outcome_needs_a_policy_and_complete_case_counts_the_excluded():
    hours = [3.0, np.nan, 5.0, 1.0, np.nan, 0.0, 7.0, 0.0, 1.5, np.nan, 0.0, 4.0]
    err = error_of(lambda: binary_gate(small(hours=hours), outcomes={"hours": "hours"}))
    assert "3 missing outcome values (IPS 1, SAU 2)" in str(err) and err.problems[0].ids == (
        "Q02",
        "Q05",
        "Q10",
    )
    assert "missing='complete-case'" in err.problems[0].fix
    sample = binary_gate(small(hours=hours), outcomes={"hours": "hours"}, missing="complete-case")
    assert sample.inputs.excluded == {"IPS": 1, "SAU": 2} and sample.inputs.n_by_arm == {"IPS": 3, "SAU": 2}
    assert any(
        "Excluded (complete-case): 3 participants with missing hours" in n for n in sample.inputs.notes()
    )


def test_the_sample_has_a_fresh_index_only_the_named_columns_and_text_arm_labels():
    data = small()
    data.index = [5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]  # not unique
    sample = binary_gate(data, covariates=["age"])
    assert list(sample.frame.columns) == ["y", "group", "pid", "age"]
    assert list(sample.frame.index) == list(range(8))
    assert list(sample.who.values) == ["Q01", "Q02", "Q04", "Q05", "Q07", "Q08", "Q10", "Q11"]


def test_prepare_gives_the_outcome_as_floats():
    prepared = prepare(small(), "y", "group", "IPS", "SAU", id="pid")
    assert prepared.y.dtype == float and prepared.compared == ("IPS", "SAU")
    assert prepared.arm_values("IPS").tolist() == [1.0, 0.0, 0.0, 1.0]


def test_design_matrix_names_a_constant_covariate():
    with pytest.raises(TrialDataError, match="covariate has a single value"):
        design_matrix(small(site=["a"] * 12), ["site"])


# ------------------------------------------------------------------------------------------- Trial


def trial_of(data=None, **roles):
    options = {"id": "pid", "arm": "group", "arms": ["IPS", "IPSE", "SAU"], "control": "SAU", "binary": "y"}
    return ipstrial.Trial(small() if data is None else data, **(options | roles))


def test_a_trial_carries_its_roles_and_gives_them_to_the_gate():
    trial = trial_of(covariates=["age"], durations={"days": "event"})
    assert trial.arms == ("IPS", "IPSE", "SAU") and trial.control == "SAU"
    assert trial.treatments == ("IPS", "IPSE") and trial.event_of("days") == "event"
    assert trial.n_by_arm == {"IPS": 4, "IPSE": 4, "SAU": 4}
    sample = gate(trial, arm=None, outcomes={"y": "binary"})
    assert sample.treatments == ("IPS", "IPSE") and sample.control == "SAU" and sample.who.column == "pid"
    same = gate(
        small(), arm="group", treatment=["IPS", "IPSE"], control="SAU", id="pid", outcomes={"y": "binary"}
    )
    np.testing.assert_array_equal(sample.values["y"], same.values["y"])


def test_an_explicit_argument_is_never_ignored():
    trial = trial_of()
    assert gate(trial, arm=None, control="IPSE", outcomes={"y": "binary"}).treatments == ("IPS", "SAU")
    with pytest.raises(ParameterError, match="the Trial's arm column is 'group'"):
        gate(trial, arm="arm", outcomes={"y": "binary"})
    with pytest.raises(ParameterError, match="the Trial's id column is 'pid'"):
        gate(trial, arm=None, id="participant_id", outcomes={"y": "binary"})
    with pytest.raises(ParameterError, match="not arms of the Trial"):
        gate(trial, arm=None, treatment="ips", outcomes={"y": "binary"})


def test_declared_order_is_the_order_of_results():
    trial = trial_of(arms=["SAU", "IPSE", "IPS"])
    sample = gate(trial, arm=None, outcomes={"y": "binary"})
    assert sample.order == ("SAU", "IPSE", "IPS") and sample.treatments == ("IPSE", "IPS")


def test_a_trial_refuses_undeclared_and_near_miss_labels():
    labels = ["IPS", "SAU", "IPSE"] * 4
    labels[0] = "IPS "
    err = error_of(lambda: trial_of(small(group=labels)))
    assert "outside the declared arms ['IPS', 'IPSE', 'SAU']: 'IPS ' (1), probably 'IPS'" in str(err)
    err = error_of(lambda: trial_of(small(group=labels), arms=None))
    assert "'IPS ' (1), probably 'IPS'" in str(err)


def test_a_trial_refuses_repeated_arms_and_an_unknown_control():
    with pytest.raises(ValueError, match=r"lists \['IPS'\] more than once"):
        trial_of(arms=["IPS", "IPS", "SAU"])
    with pytest.raises(ValueError, match="control= 'TAU' is not one of the declared arms"):
        trial_of(control="TAU")
    err = error_of(lambda: trial_of(arms=None, control="TAU"))
    assert "the control arm 'TAU' is not an arm label in the data" in str(err)


def test_a_trial_without_declared_arms_sorts_the_labels():
    assert trial_of(arms=None).arms == ("IPS", "IPSE", "SAU")
    data = small()
    data["group"] = data["group"].map({"IPS": 2, "SAU": 0, "IPSE": 10})
    assert trial_of(data, arms=None, control=0).arms == ("0", "2", "10")


def test_a_trial_keeps_its_own_copy_and_is_read_only():
    data = small()
    trial = trial_of(data)
    data.loc[0, "y"] = 7
    assert trial.data.loc[0, "y"] == 1
    with pytest.raises(AttributeError, match="read-only"):
        trial.arm = "x"  # type: ignore[misc]
    assert trial.replace(control="IPSE").control == "IPSE"


def test_a_trial_counts_missing_values_by_arm_in_declared_order():
    trial = trial_of(hours="hours", data=small(hours=[np.nan] + [1.0] * 11))
    assert trial.missing_by_arm == {"hours": {"IPS": 1, "IPSE": 0, "SAU": 0, "total": 1}}
    assert "Trial of 12 participants: IPS 4, IPSE 4, SAU 4" in trial.summary()
    assert "<Trial n=12" in repr(trial) and "<li>" in trial._repr_html_()


def test_the_synthetic_scenario_gives_a_trial():
    from ipstrial.synthetic import INKLUSION, simulate_trial

    trial = INKLUSION.schema().validate(simulate_trial(INKLUSION, n=60, seed=1))
    assert trial.control == "SAU" and trial.arms == ("IPS", "IPSE", "SAU") and len(trial) == 60


# ---------------------------------------------------------------------------------------- memory


def test_the_memory_budget_refuses_with_the_figure_and_the_fix():
    with pytest.raises(
        MemoryBudgetError, match=r"would need about 18\.6 GiB of memory, over the budget of 2 GiB"
    ):
        _memory.check_memory(18.6 * 1024**3, "a bootstrap", "use fewer replicates")
    with _memory.memory_budget_of("1MiB"):
        assert ipstrial.memory_budget() == 1024**2
        with pytest.raises(MemoryBudgetError, match="over the budget of 1 MiB"):
            _memory.check_memory(2 * 1024**2, "x", "y")
    assert ipstrial.memory_budget() == _memory.DEFAULT_BUDGET
    with pytest.raises(ParameterError, match="cannot read the memory size"):
        ipstrial.set_memory_budget("lots")


def test_chunks_cover_the_range_with_bounded_size():
    parts = list(_memory.chunks(10_001, row_bytes=8 * 720))
    assert parts[0] == slice(0, _memory.chunk_size(8 * 720, 10_001))
    assert sum(p.stop - p.start for p in parts) == 10_001 and parts[-1].stop == 10_001
    assert _memory.chunk_size(8 * 10**7, 5) == 1


def test_problem_positions_render_as_rows():
    problem = Problem("x", "2 bad values", "fix them", ids=("3", "9"), count=2, positions=True)
    assert str(problem) == "column 'x': 2 bad values (rows at positions 3, 9). Fix: fix them."


def test_stray_text_in_rows_of_another_arm_still_refuses_the_covariate():
    ages = [30, 41, "unknown", 38, 52, 29, 33, 47, 36, 40, 28, 31]  # Q03 is in IPSE, outside IPS vs SAU
    err = error_of(lambda: binary_gate(small(age=ages), covariates="age"))
    assert err.problems[0].ids == ("Q03",) and "'unknown'" in err.problems[0].message
    # but a missing value in a row outside the analysis is no problem for it
    ages = [30, 41, np.nan, 38, 52, 29, 33, 47, 36, 40, 28, 31]
    assert binary_gate(small(age=ages), covariates="age").inputs.n == 8


@pytest.mark.parametrize("slip", ["IPS\u200b", "I\u0420S", "IPSS"])
def test_invisible_characters_look_alike_letters_and_doubled_letters_are_slips(slip):
    labels = ["IPS", "SAU", "IPSE"] * 4
    labels[3] = labels[9] = slip
    err = error_of(lambda: binary_gate(small(group=labels)))
    assert f"{slip!r} (2), probably 'IPS'" in str(err)
    assert f".replace({{{slip!r}: 'IPS'}})" in err.problems[0].fix  # the exact recoding, which works


def test_two_neighbouring_letters_swapped_in_a_short_label_is_a_slip():
    labels = ["IPS", "SAU", "IPSE"] * 4
    labels[1] = "SUA"
    err = error_of(lambda: binary_gate(small(group=labels)))
    assert "'SUA' (1), probably 'SAU'" in str(err)


def test_an_arm_column_mixing_booleans_numbers_or_text_is_an_error():
    data = small()
    data["group"] = data["group"].map({"IPS": 1, "SAU": 0, "IPSE": 2}).astype(object)
    data.loc[0, "group"] = True  # pandas takes True for 1
    err = error_of(lambda: binary_gate(data, treatment=1, control=0))
    assert "mixes booleans and numbers" in str(err) and err.problems[0].ids == ("Q01",)
    data.loc[0, "group"] = "1"
    err = error_of(lambda: binary_gate(data, treatment=1, control=0))
    assert "mixes numbers and text" in str(err)


def test_a_label_taken_by_default_with_few_participants_is_questioned():
    data = pd.concat([small()] * 3, ignore_index=True).assign(pid=[f"R{i:02d}" for i in range(36)])
    data.loc[5, "group"] = "SA"  # not a near-miss by the rules, but 1 participant against 11 or 12
    err = error_of(lambda: gate(data, arm="group", control="SAU", id="pid", outcomes={"y": "binary"}))
    assert "far fewer participants than the largest arm (12): 'SA' (1)" in str(err)
    assert err.problems[0].ids == ("R05",)
    # named explicitly it is an arm like any other
    sample = gate(
        data, arm="group", treatment=["IPS", "SA"], control="SAU", id="pid", outcomes={"y": "binary"}
    )
    assert sample.inputs.n_by_arm["SA"] == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"covariates": ["y"]}, "covariates lists 'y', which is an outcome of this analysis"),
        ({"covariates": ["group"]}, "covariates lists 'group', which is the arm column"),
        ({"strata": "group"}, "strata lists 'group', which is the arm column"),
        ({"covariates": ["pid"]}, "covariates lists 'pid', which is the id column"),
        ({"extra": {"y": "subgroup"}}, "the subgroup column 'y' is an outcome of this analysis"),
        ({"outcomes": {"group": "binary"}}, "column 'group' is both an outcome and the arm column"),
    ],
)
def test_a_column_cannot_play_two_incompatible_roles(kw, message):
    with pytest.raises(ParameterError, match=message):
        binary_gate(small(), **kw)
    binary_gate(small(), covariates=["site"], strata=["site"])  # a stratum may also be a covariate


def test_multiindex_columns_are_refused_with_the_fix():
    data = small()
    data.columns = pd.MultiIndex.from_arrays([data.columns, ["x"] * data.shape[1]])
    err = error_of(lambda: binary_gate(data))
    assert "MultiIndex" in str(err) and "data.columns = " in err.problems[0].fix


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"arms": 5}, "arms= must be a list of the arm labels"),
        ({"arms": "IPS"}, "arms= must be a list of the arm labels"),
        ({"arms": {"IPS": 1, "SAU": 2}}, "arms= must be a list of the arm labels"),
        ({"arms": ["IPS", "IPSE", "SAU", None]}, "arms= holds a missing label"),
        ({"control": ["SAU"]}, "control= must be one arm label"),
        ({"event_codes": None}, "event_codes= must be a list of whole numbers"),
        ({"id": 5}, "id= must be a column name"),
        ({"covariates": [5]}, "covariates= must hold column names"),
    ],
)
def test_bad_roles_of_a_trial_are_parameter_errors(roles, message):
    with pytest.raises(ParameterError, match=message):
        trial_of(**roles)


def test_trial_replace_and_validate_refuse_bad_arguments_with_parameter_errors():
    with pytest.raises(ParameterError, match="unknown roles"):
        trial_of().replace(nope=1)
    with pytest.raises(ParameterError, match="schema must be a TrialSchema"):
        ipstrial.validate(small(), "x")
    with pytest.raises(ParameterError, match="not both"):
        ipstrial.validate(small(), trial_of().schema, arm="group")
    with pytest.raises(ParameterError, match="columns must be a column name or a list"):
        ipstrial.missing_by_arm(small(), 5, arm="group")
    assert "days (event column 'event')" in trial_of(durations={"days": "event"}).summary()


def test_keep_rows_counts_the_excluded_without_dropping_them():
    hours = [3.0, np.nan, 5.0, 1.0, np.nan, 0.0, 7.0, 0.0, 1.5, np.nan, 0.0, 4.0]
    sample = binary_gate(
        small(hours=hours), outcomes={"hours": "hours"}, missing="complete-case", keep_rows=True
    )
    assert len(sample.frame) == 8 and np.isnan(sample.values["hours"]).sum() == 3
    assert sample.inputs.excluded == {"IPS": 1, "SAU": 2} and sample.inputs.n_by_arm == {"IPS": 3, "SAU": 2}
    with pytest.raises(TrialDataError, match="3 missing outcome values"):
        binary_gate(small(hours=hours), outcomes={"hours": "hours"}, keep_rows=True)
