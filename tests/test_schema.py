"""Tests of :mod:`ipstrial.schema` (the participant-level data contract) and :mod:`ipstrial.errors`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import (
    DesignError,
    EstimationError,
    IpstrialError,
    Problem,
    TrialDataError,
    offending_ids,
)
from ipstrial.schema import TrialSchema, missing_by_arm, validate
from ipstrial.trial import Trial

IDS = [f"P{i:02d}" for i in range(1, 11)]


def _schema(**roles: object) -> TrialSchema:
    """A schema of the test frame: id ``participant_id``, arm ``arm`` unless given."""
    return TrialSchema(**({"id": "participant_id", "arm": "arm"} | roles))


def trial(**overrides: object) -> pd.DataFrame:
    """A valid 10-participant trial frame; keyword arguments replace or add columns."""
    frame = pd.DataFrame(
        {
            "participant_id": IDS,
            "arm": ["ips", "tau"] * 5,
            "site": [
                "north",
                "north",
                "south",
                "south",
                "north",
                "south",
                "north",
                "south",
                "north",
                "south",
            ],
            "age": [23, 31, 45, np.nan, 52, 38, 29, 41, np.nan, 35],
            "employed": [1.0, 0.0, np.nan, 1.0, 0.0, np.nan, 1.0, np.nan, 0.0, 1.0],
            "time": [30.0, 365.0, 120.0, 0.0, 200.0, 365.0, 45.0, 300.0, 10.0, 365.0],
            "event": [1, 0, 1, 1, 2, 0, 1, 0, 1, 0],
            "hours": [20.0, 0.0, np.nan, 35.0, 0.0, 0.0, 12.5, np.nan, 40.0, 0.0],
            "cost": [1200.0, 300.0, 800.0, 950.0, np.nan, 0.0, 1500.0, 200.0, 700.0, 100.0],
            "utility": [0.8, 0.7, -0.1, 1.0, 0.65, np.nan, 0.9, 0.5, 0.75, 0.6],
        }
    )
    for name, values in overrides.items():
        frame[name] = values
    return frame


FULL = _schema(
    arms=("ips", "tau"),
    strata=("site",),
    covariates=("age",),
    binary=("employed",),
    durations=(("time", "event"),),
    hours=("hours",),
    costs=("cost",),
    utilities=("utility",),
)


def problems_of(data: pd.DataFrame, schema: TrialSchema = FULL) -> TrialDataError:
    """Validate and return the TrialDataError that must be raised."""
    with pytest.raises(TrialDataError) as info:
        schema.validate(data)
    return info.value


# --------------------------------------------------------------------------------------------------------
# errors.py


def test_problem_str_lists_ids_and_fix() -> None:
    problem = Problem(
        column="hours_18m",
        message="3 negative values",
        fix="hours cannot be negative; correct the data or set them to missing.",
        ids=("P0004", "P0010", "P0017"),
        count=3,
    )
    assert str(problem) == (
        "column 'hours_18m': 3 negative values (participant ids P0004, P0010, P0017). "
        "Fix: hours cannot be negative; correct the data or set them to missing."
    )


def test_problem_str_says_and_n_more() -> None:
    problem = Problem(column="cost", message="8 negative values", fix="check", ids=("A", "B"), count=8)
    assert (
        str(problem)
        == "column 'cost': 8 negative values (e.g. participant ids A, B, and 6 more). Fix: check."
    )


def test_trial_data_error_numbers_every_problem() -> None:
    first = Problem(column="a", message="bad a", fix="fix a")
    second = Problem(column=None, message="bad frame", fix="fix frame")
    err = TrialDataError([first, second])
    assert err.problems == (first, second)
    assert str(err) == (
        "2 problems in the trial data:\n  1. column 'a': bad a. Fix: fix a.\n  2. bad frame. Fix: fix frame."
    )
    assert isinstance(err, ValueError) and isinstance(err, IpstrialError)


def test_trial_data_error_from_plain_string() -> None:
    err = TrialDataError("no participants")
    assert str(err) == "no participants"
    assert len(err.problems) == 1 and err.problems[0].message == "no participants"


def test_other_errors_are_value_errors() -> None:
    for cls in (DesignError, EstimationError):
        err = cls("block sizes must be multiples of the number of arms")
        assert isinstance(err, ValueError) and isinstance(err, IpstrialError)
        assert str(err) == "block sizes must be multiples of the number of arms"


def test_offending_ids_first_five_and_total() -> None:
    ids = pd.Series([101, 102, 103, 104, 105, 106, 107], index=[7, 6, 5, 4, 3, 2, 1])
    mask = np.array([True, False, True, True, True, True, True])
    assert offending_ids(ids, mask) == (("101", "103", "104", "105", "106"), 6)
    assert offending_ids(ids, mask, limit=2) == (("101", "103"), 6)
    assert offending_ids(ids, np.zeros(7, dtype=bool)) == ((), 0)


# --------------------------------------------------------------------------------------------------------
# schema construction


def test_schema_normalises_roles() -> None:
    schema = _schema(
        arms=["ips", "tau"],
        strata="site",
        covariates=["age", "sex"],
        durations={"time": "event", "time2": "event2"},
        hours=["hours"],
        costs="cost",
    )
    assert schema.arms == ("ips", "tau")
    assert schema.strata == ("site",)
    assert schema.covariates == ("age", "sex")
    assert schema.durations == (("time", "event"), ("time2", "event2"))
    assert schema.hours == ("hours",)
    assert schema.costs == ("cost",)
    assert schema.outcomes == ("time", "time2", "event", "event2", "hours", "cost")
    assert schema.columns == (
        "participant_id",
        "arm",
        "site",
        "age",
        "sex",
        "time",
        "time2",
        "event",
        "event2",
        "hours",
        "cost",
    )
    assert _schema(durations=[["t", "e"]]).durations == (("t", "e"),)


def test_validate_rejects_schema_and_roles_together() -> None:
    with pytest.raises(TypeError, match="not both"):
        validate(trial(), FULL, hours=("hours",))


# --------------------------------------------------------------------------------------------------------
# bad inputs, one test each


def test_not_a_dataframe() -> None:
    with pytest.raises(TrialDataError) as info:
        FULL.validate({"participant_id": IDS})  # type: ignore[arg-type]
    assert len(info.value.problems) == 1
    assert "got dict" in str(info.value)


def test_empty_frame() -> None:
    err = problems_of(trial().iloc[0:0])
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column is None
    assert "no rows" in problem.message
    assert "one row per participant" in problem.fix


def test_missing_column_names_missing_and_existing_columns() -> None:
    data = trial().drop(columns=["hours", "age"])
    err = problems_of(data)
    assert len(err.problems) == 1
    text = str(err.problems[0])
    assert "'age' (covariates)" in text and "'hours' (hours)" in text
    assert err.problems[0].count == 2
    for existing in ("'participant_id'", "'arm'", "'site'", "'employed'", "'time'", "'cost'", "'utility'"):
        assert existing in text
    assert "the data has 8 columns" in text


def test_missing_column_list_of_existing_is_truncated_to_30() -> None:
    data = trial()
    for i in range(40):
        data[f"extra{i:02d}"] = 0
    err = problems_of(data, _schema(hours=("hours_18m",)))
    text = str(err)
    assert "'hours_18m'" in text
    # 10 trial columns + extra00..extra19 are the first 30; the other 20 are summarised
    assert "'extra19'" in text and "'extra20'" not in text
    assert "and 20 more" in text


def test_missing_column_does_not_hide_other_problems() -> None:
    data = trial(cost=[-5.0, 300.0, 800.0, 950.0, np.nan, 0.0, 1500.0, 200.0, 700.0, 100.0]).drop(
        columns=["hours"]
    )
    err = problems_of(data)
    assert [p.column for p in err.problems] == [None, "cost"]
    assert err.problems[1].ids == ("P01",)


def test_duplicate_participant_ids() -> None:
    ids = ["P01", "P02", "P02", "P04", "P05", "P06", "P01", "P08", "P02", "P10"]
    err = problems_of(trial(participant_id=ids))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "participant_id"
    assert problem.ids == ("P01", "P02")
    assert problem.count == 2
    assert "5 rows" in problem.message


def test_missing_participant_id() -> None:
    ids = ["P01", None, "P03", "P04", "P05", "P06", "P07", "P08", "P09", "P10"]
    err = problems_of(trial(participant_id=ids, cost=[-1.0, -2.0] + [0.0] * 8))
    assert [p.column for p in err.problems] == ["participant_id", "cost"]
    assert err.problems[0].count == 1 and err.problems[0].positions and err.problems[0].ids == ("1",)
    assert "row at position 1" in str(err.problems[0])
    assert err.problems[1].ids == ("P01", "(row 1, no id)")


def test_arm_labels_outside_declared_arms() -> None:
    arms = ["ips", "tau", "IPS", "tau", "ips", "control", "ips", "tau", "IPS", "tau"]
    err = problems_of(trial(arm=arms))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "arm"
    assert problem.ids == ("P03", "P06", "P09")
    assert problem.count == 3
    assert "outside the declared arms ['ips', 'tau']" in problem.message
    assert "'IPS' (2), probably 'ips'" in problem.message and "'control' (1)" in problem.message


def test_undeclared_arms_are_not_checked() -> None:
    schema = _schema(durations={"time": "event"})
    out = schema.validate(trial(arm=["a", "b", "c", "d", "e"] * 2))
    assert list(out.data["arm"]) == ["a", "b", "c", "d", "e"] * 2


def test_missing_arm_and_stratum() -> None:
    arms = ["ips", None, "tau", "tau", "ips", "tau", "ips", "tau", "ips", "tau"]
    sites = ["north", "north", "south", "south", None, "south", "north", None, "north", "south"]
    err = problems_of(trial(arm=arms, site=sites))
    assert [(p.column, p.ids, p.count) for p in err.problems] == [
        ("arm", ("P02",), 1),
        ("site", ("P05", "P08"), 2),
    ]


def test_non_numeric_values_in_numeric_role() -> None:
    hours = [20, "n/a", np.nan, "35", 0, "12h", 12.5, None, 40, "0"]
    err = problems_of(trial(hours=hours))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "hours"
    assert problem.ids == ("P02", "P06")
    assert problem.count == 2
    assert "'n/a'" in problem.message and "'12h'" in problem.message


def test_numeric_strings_are_accepted_and_left_unchanged() -> None:
    hours = ["20", None, "3.5", "0", "1", "2", "3", "4", "5", "6"]
    data = trial(hours=hours)
    out = FULL.validate(data)
    assert out.data["hours"].dtype == object
    assert list(out.data["hours"]) == hours
    assert out.missing_by_arm["hours"] == {"ips": 0, "tau": 1, "total": 1}


def test_negative_durations() -> None:
    time = [30.0, -3.0, 120.0, 0.0, -0.5, 365.0, 45.0, 300.0, 10.0, 365.0]
    err = problems_of(trial(time=time))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "time"
    assert problem.ids == ("P02", "P05")
    assert problem.count == 2
    assert "2 negative durations" in problem.message


def test_non_finite_durations() -> None:
    time = [30.0, np.nan, 120.0, np.inf, 200.0, 365.0, np.nan, 300.0, -np.inf, 365.0]
    err = problems_of(trial(time=time))
    assert [(p.column, p.ids, p.count) for p in err.problems] == [
        ("time", ("P02", "P07"), 2),
        ("time", ("P04", "P09"), 2),
    ]
    assert "missing duration" in err.problems[0].message
    assert "infinite duration" in err.problems[1].message
    assert "event 0" in err.problems[0].fix


def test_zero_durations_accepted() -> None:
    out = FULL.validate(trial(time=[0.0] * 10, event=[0] * 10))
    assert (out.data["time"] == 0).all()


def test_event_codes_outside_declared_set() -> None:
    event = [1, 0, 3, 1, 2, 0, -1, 0, 3, 0]
    err = problems_of(trial(event=event))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "event"
    assert problem.ids == ("P03", "P07", "P09")
    assert problem.count == 3
    assert "found -1, 3" in problem.message
    assert "(0, 1, 2)" in problem.message


def test_event_codes_declared_by_schema() -> None:
    schema = _schema(durations={"time": "event"}, event_codes=(0, 1))
    err = problems_of(trial(), schema)
    assert err.problems[0].ids == ("P05",)
    assert "found 2" in err.problems[0].message


def test_missing_and_fractional_event_codes() -> None:
    event = [1.0, np.nan, 1.5, 1.0, 2.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    err = problems_of(trial(event=event))
    assert [(p.column, p.ids, p.count) for p in err.problems] == [
        ("event", ("P02",), 1),
        ("event", ("P03",), 1),
    ]
    assert "1.5" in err.problems[1].message


def test_binary_outcome_not_zero_one() -> None:
    employed = [1.0, 0.0, 2.0, 1.0, 0.0, np.nan, -1.0, np.nan, 0.5, 1.0]
    err = problems_of(trial(employed=employed))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "employed"
    assert problem.ids == ("P03", "P07", "P09")
    assert problem.count == 3
    assert "(2, -1, 0.5)" in problem.message


def test_bool_binary_accepted() -> None:
    data = trial(employed=[True, False] * 5)
    out = FULL.validate(data)
    assert out.data["employed"].dtype == bool
    assert "employed" not in out.missing_by_arm


def test_nullable_boolean_binary_accepted() -> None:
    data = trial(employed=pd.array([True, None, False, True, None, False, True, False, True, False]))
    out = FULL.validate(data)
    assert out.missing_by_arm["employed"] == {"ips": 1, "tau": 1, "total": 2}


def test_nullable_int64_and_float64_accepted() -> None:
    data = trial(
        event=pd.array([1, 0, 1, 1, 2, 0, 1, 0, 1, 0], dtype="Int64"),
        hours=pd.array([20, None, 3, None, 0, 0, None, 1, 40, 0], dtype="Int64"),
        cost=pd.array([1.5, None, 0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], dtype="Float64"),
        employed=pd.array([1, 0, None, 1, 0, 1, 1, 0, 0, 1], dtype="Int64"),
    )
    out = FULL.validate(data)
    assert str(out.data["event"].dtype) == "Int64" and str(out.data["cost"].dtype) == "Float64"
    counts = out.missing_by_arm
    assert counts["hours"] == {"ips": 1, "tau": 2, "total": 3}
    assert counts["cost"] == {"ips": 0, "tau": 1, "total": 1}
    assert counts["employed"] == {"ips": 1, "tau": 0, "total": 1}


def test_nullable_int64_negative_hours_rejected() -> None:
    data = trial(hours=pd.array([20, None, -3, None, 0, 0, None, 1, 40, -1], dtype="Int64"))
    err = problems_of(data)
    assert [(p.column, p.ids, p.count) for p in err.problems] == [("hours", ("P03", "P10"), 2)]


def test_negative_costs() -> None:
    cost = [1200.0, -300.0, 800.0, 950.0, np.nan, 0.0, -1.0, 200.0, 700.0, 100.0]
    err = problems_of(trial(cost=cost))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "cost"
    assert problem.ids == ("P02", "P07")
    assert problem.count == 2
    assert str(problem).startswith("column 'cost': 2 negative values (participant ids P02, P07). Fix: ")


def test_infinite_hours_and_weeks_rejected() -> None:
    schema = _schema(hours=("hours",), weeks=("weeks",))
    data = trial(weeks=[1.0, np.inf, 3.0, -2.0, np.nan, 0.0, 1.0, 1.0, 1.0, 1.0])
    data.loc[0, "hours"] = np.inf
    err = problems_of(data, schema)
    assert [(p.column, p.ids, p.count) for p in err.problems] == [
        ("hours", ("P01",), 1),
        ("weeks", ("P02",), 1),
        ("weeks", ("P04",), 1),
    ]
    assert "infinite" in err.problems[1].message and "negative" in err.problems[2].message


def test_utility_above_one_rejected() -> None:
    utility = [0.8, 1.0, 1.2, -0.3, 0.65, np.nan, 80.0, 0.5, 0.75, 0.6]
    err = problems_of(trial(utility=utility))
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.column == "utility"
    assert problem.ids == ("P03", "P07")
    assert problem.count == 2
    assert "(1.2, 80)" in problem.message


def test_ids_capped_at_five_with_and_n_more() -> None:
    cost = [-1.0] * 8 + [1.0, 2.0]
    err = problems_of(trial(cost=cost))
    problem = err.problems[0]
    assert problem.ids == ("P01", "P02", "P03", "P04", "P05")
    assert problem.count == 8
    assert "8 negative values (e.g. participant ids P01, P02, P03, P04, P05, and 3 more)" in str(err)


def test_several_problems_listed_in_one_error() -> None:
    data = trial(
        participant_id=["P01", "P01"] + IDS[2:],
        arm=["ips", "tau", "waitlist"] + ["tau", "ips"] * 3 + ["tau"],
        hours=[20, "n/a", 1, 2, 3, 4, 5, 6, 7, 8],
        time=[30.0, -1.0] + [10.0] * 8,
        employed=[1, 0, 3, 1, 0, 1, 1, 0, 0, 1],
        cost=[1.0, 2.0, 3.0, -4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        utility=[0.5] * 9 + [1.5],
    ).drop(columns=["age"])
    err = problems_of(data)
    assert len(err.problems) == 8
    text = str(err)
    assert text.startswith("8 problems in the trial data:\n  1. ")
    assert [p.column for p in err.problems] == [
        None,
        "participant_id",
        "arm",
        "employed",
        "time",
        "hours",
        "cost",
        "utility",
    ]
    for column in (
        "'age'",
        "'participant_id'",
        "'arm'",
        "'employed'",
        "'time'",
        "'hours'",
        "'cost'",
        "'utility'",
    ):
        assert column in text
    for number in range(1, 9):
        assert f"\n  {number}. " in text


def test_every_problem_has_a_fix() -> None:
    data = trial(
        participant_id=["P01", "P01"] + IDS[2:],
        arm=[None, "tau", "waitlist"] + ["tau", "ips"] * 3 + ["tau"],
        site=[None] + ["north"] * 9,
        employed=[1, 0, 3, 1, 0, 1, 1, 0, 0, 1],
        time=[np.nan, -1.0, np.inf] + [10.0] * 7,
        event=[1, 0, 9, np.nan, 1.5, 0, 0, 0, 0, 0],
        hours=[20, "n/a", -1, 2, np.inf, 4, 5, 6, 7, 8],
        cost=[1.0, 2.0, 3.0, -4.0, np.inf, 6.0, 7.0, 8.0, 9.0, 10.0],
        utility=[0.5] * 8 + [np.inf, 1.5],
    ).drop(columns=["age"])
    err = problems_of(data)
    assert len(err.problems) == 19
    for problem in err.problems:
        assert len(problem.fix) > 20
        assert f"Fix: {problem.fix}" in str(problem)


# --------------------------------------------------------------------------------------------------------
# valid data


def test_valid_frame_returned_unchanged_with_missing_counts() -> None:
    data = trial()
    before = data.copy(deep=True)
    out = FULL.validate(data)
    pd.testing.assert_frame_equal(out.data, before)
    assert isinstance(out, Trial) and out.data is not data
    assert out.missing_by_arm == {
        "age": {"ips": 1, "tau": 1, "total": 2},
        "employed": {"ips": 1, "tau": 2, "total": 3},
        "hours": {"ips": 1, "tau": 1, "total": 2},
        "cost": {"ips": 1, "tau": 0, "total": 1},
        "utility": {"ips": 0, "tau": 1, "total": 1},
    }
    json.dumps(out.missing_by_arm)
    assert "missing_by_arm" not in data.attrs


def test_validate_function_with_roles_keeps_row_order() -> None:
    data = trial().iloc[::-1]
    out = validate(
        data, id="participant_id", arm="arm", arms=("ips", "tau"), hours="hours", covariates=["age"]
    )
    pd.testing.assert_frame_equal(out.data, data)
    assert list(out.data["participant_id"]) == IDS[::-1]
    assert out.missing_by_arm == {
        "age": {"tau": 1, "ips": 1, "total": 2},
        "hours": {"tau": 1, "ips": 1, "total": 2},
    }
    # declared arms fix the order of the counts, whatever the order of the rows
    assert list(out.missing_by_arm["age"]) == ["ips", "tau", "total"]


def test_missing_by_arm_counts() -> None:
    data = trial(arm=["tau", "ips", "ips", "wait", "tau", None, "ips", "tau", "wait", "ips"])
    table = missing_by_arm(data, ["age", "employed", "hours", "time"], "arm")
    assert list(table.index) == ["age", "employed", "hours", "time"]
    assert list(table.columns) == ["tau", "ips", "wait", "total"]
    assert table.index.name == "column"
    expected = pd.DataFrame(
        {"tau": [0, 1, 1, 0], "ips": [0, 1, 1, 0], "wait": [2, 0, 0, 0], "total": [2, 3, 2, 0]},
        index=pd.Index(["age", "employed", "hours", "time"], name="column"),
    )
    pd.testing.assert_frame_equal(table, expected)


def test_missing_by_arm_unknown_column() -> None:
    with pytest.raises(TrialDataError, match="'nope'"):
        missing_by_arm(trial(), ["age", "nope"], "arm")


def test_missing_counts_follow_the_declared_arm_order():
    frame = pd.DataFrame(
        {
            "participant_id": ["P1", "P2", "P3", "P4"],
            "arm": ["SAU", "IPS", "SAU", "IPS"],
            "hours": [np.nan, 3.0, np.nan, np.nan],
        }
    )
    table = missing_by_arm(frame, ["hours"], arm="arm", arms=["IPS", "IPSE", "SAU"])
    assert list(table.columns) == ["IPS", "IPSE", "SAU", "total"]
    assert table.loc["hours"].tolist() == [1, 0, 2, 3]
    valid = validate(frame, id="participant_id", arm="arm", arms=("IPS", "IPSE", "SAU"), hours=["hours"])
    assert list(valid.missing_by_arm["hours"].items()) == [
        ("IPS", 1),
        ("IPSE", 0),
        ("SAU", 2),
        ("total", 3),
    ]
