"""The input gate of the time-to-event estimators (survival._inputs.prepare_survival, on _inputs.gate).

Every survival estimator passes its data through the package's one gate: the same checks and wording
as every other estimator (durations, event codes, ids, arms, near-miss labels, covariates, strata), a
Trial's roles, declared order, the rows of other arms counted, int-coded arms read as labels.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import ipstrial
from ipstrial import survival
from ipstrial.errors import ParameterError, TrialDataError
from ipstrial.survival._inputs import merge_tied_times, prepare_survival


def _bad(frame: pd.DataFrame, changes: dict) -> pd.DataFrame:
    data = frame.copy().astype({"days_to_job": float, "event": float})
    for (row, column), value in changes.items():
        data.loc[row, column] = value
    return data


#: every estimator called the same way on a DataFrame (extra options only where required)
CALLS = {
    "kaplan_meier": (survival.kaplan_meier, {}),
    "logrank": (survival.logrank, {}),
    "logrank_permutation": (survival.logrank_permutation, {"n_resamples": 20, "seed": 1}),
    "cox": (survival.cox, {}),
    "rmst": (survival.rmst, {"tau": 548}),
    "cumulative_incidence": (survival.cumulative_incidence, {}),
    "gray_test": (survival.gray_test, {}),
    "fine_gray": (survival.fine_gray, {}),
}
CONTRASTS = {"logrank_permutation", "cox", "rmst", "fine_gray"}


def _call(name: str, data, *args, **kwargs):
    function, options = CALLS[name]
    if name in CONTRASTS and "treatment" not in kwargs and len(args) < 4:
        kwargs.setdefault("treatment", "IPS")
        kwargs.setdefault("control", "SAU")
    return function(data, *args, **options, **kwargs)


def test_valid_data_keeps_every_row_of_the_compared_arms(frame, trial):
    s = prepare_survival(frame, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU")
    assert s.groups == ("IPS", "IPSE", "SAU") and len(s.time) == 720
    assert s.last_follow_up() == {"IPS": 913.0, "IPSE": 913.0, "SAU": 913.0}
    two = prepare_survival(frame, "days_to_job", "event", "arm", "IPS", "SAU")
    assert len(two.time) == (frame.arm != "IPSE").sum() and set(two.arms) == {"IPS", "SAU"}
    assert two.inputs.outside == {"IPSE": 241}
    # a Trial gives its event column, arms, control and id
    from_trial = prepare_survival(trial, "days_to_job", None, None)
    assert from_trial.event_column == "event" and from_trial.groups == ("IPS", "IPSE", "SAU")
    assert from_trial.control == "SAU" and from_trial.inputs.id == "participant_id"


def test_negative_and_missing_durations_are_errors_naming_ids(frame):
    data = _bad(frame, {(1, "days_to_job"): -3, (2, "days_to_job"): np.nan})
    with pytest.raises(TrialDataError) as err:
        prepare_survival(data, "days_to_job", "event", "arm", id="participant_id")
    text = str(err.value)
    assert "1 missing duration (participant id P0003)" in text
    assert "1 negative duration (participant id P0002)" in text
    assert len(err.value.problems) == 2
    # without an id column the rows are named by position
    with pytest.raises(TrialDataError, match=r"1 negative duration \(row at position 1\)"):
        prepare_survival(data.drop(index=2), "days_to_job", "event", "arm")


def test_infinite_and_text_durations(frame):
    data = frame.astype({"days_to_job": object})
    data.loc[4, "days_to_job"] = "12 days"
    data.loc[7, "days_to_job"] = np.inf
    with pytest.raises(TrialDataError) as err:
        prepare_survival(data, "days_to_job", "event", "arm", id="participant_id")
    assert "non-numeric value ('12 days') (participant id P0005)" in str(err.value)
    assert "1 infinite duration (participant id P0008)" in str(err.value)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_time_spans_and_booleans_are_not_durations(frame, name):
    spans = frame.assign(days_to_job=pd.to_timedelta(frame.days_to_job, unit="D"))
    with pytest.raises(
        TrialDataError, match=r"time spans .* convert to a number of days: data\['days_to_job'\] / "
    ):
        _call(name, spans, "days_to_job", "event", "arm")
    flags = frame.assign(days_to_job=frame.days_to_job > 300)
    with pytest.raises(
        TrialDataError, match="True/False values, but duration must be numbers.*numbers of days"
    ):
        _call(name, flags, "days_to_job", "event", "arm")


def test_event_codes_outside_the_declared_set(frame):
    data = _bad(frame, {(5, "event"): 7, (6, "event"): np.nan})
    with pytest.raises(TrialDataError) as err:
        prepare_survival(data, "days_to_job", "event", "arm", id="participant_id")
    text = str(err.value)
    assert "outside the declared codes (0, 1, 2): found 7 (participant id P0006)" in text
    assert "1 missing event code (participant id P0007)" in text
    with pytest.raises(TrialDataError, match=r"outside the declared codes \(0, 1\): found 2"):
        prepare_survival(frame, "days_to_job", "event", "arm", event_codes=(0, 1))
    with pytest.raises(ParameterError, match="event_codes must list 0"):
        prepare_survival(frame, "days_to_job", "event", "arm", event_codes=(1, 2))


def test_zero_durations_are_allowed(frame):
    data = frame.copy()
    data.loc[:9, "days_to_job"] = 0
    s = prepare_survival(data, "days_to_job", "event", "arm")
    assert (s.time == 0).sum() == 10


def test_single_arm_cannot_be_compared(frame):
    with pytest.raises(TrialDataError, match=r"only 1 arm \('IPS'\) to analyse: there is nothing to compare"):
        prepare_survival(frame[frame.arm == "IPS"], "days_to_job", "event", "arm", min_arms=2)
    assert len(prepare_survival(frame[frame.arm == "IPS"], "days_to_job", "event", "arm").time) == 239


def test_missing_strata_and_unknown_columns(frame):
    data = frame.copy()
    data.loc[3, "site"] = np.nan
    with pytest.raises(
        TrialDataError, match=r"'site': 1 missing value in a stratum column \(participant id P0004\)"
    ):
        prepare_survival(data, "days_to_job", "event", "arm", strata="site", id="participant_id")
    with pytest.raises(TrialDataError, match="column not found: 'time' \\(duration\\)"):
        prepare_survival(frame, "time", "event", "arm")
    with pytest.raises(TrialDataError, match=r"arm 'TAU' is not an arm label in the data"):
        prepare_survival(frame, "days_to_job", "event", "arm", "IPS", "TAU")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_gate_refuses_duplicated_ids_missing_arms_and_near_miss_labels(frame, name):
    twice = frame.copy()
    twice.loc[5, "participant_id"] = twice.loc[4, "participant_id"]
    with pytest.raises(
        TrialDataError, match="1 duplicated participant id, shared by 2 rows .participant id P0005"
    ):
        _call(name, twice, "days_to_job", "event", "arm", id="participant_id")
    rows = frame.index[frame.arm == "IPS"][:2]
    lost = frame.copy()
    lost.loc[rows, "arm"] = np.nan
    with pytest.raises(
        TrialDataError, match=r"2 participants without an arm \(participant ids P0007, P0013\)"
    ):
        _call(name, lost, "days_to_job", "event", "arm", id="participant_id")
    slipped = frame.copy()
    slipped.loc[rows, "arm"] = "IPS "
    with pytest.raises(TrialDataError, match="near-misses of another arm: 'IPS ' .2., probably 'IPS'"):
        _call(name, slipped, "days_to_job", "event", "arm", id="participant_id")


@pytest.mark.parametrize("name", ["cox", "fine_gray"])
def test_bad_covariates_are_refused(frame, name):
    rows = frame.index[frame.arm == "IPS"][:2]
    infinite = frame.astype({"age": float})
    infinite.loc[rows, "age"] = np.inf
    with pytest.raises(
        TrialDataError, match=r"'age': 2 infinite values in a covariate \(participant ids P0007, P0013"
    ):
        _call(name, infinite, "days_to_job", "event", "arm", covariates="age", id="participant_id")
    text = frame.astype({"age": object})
    text.loc[rows, "age"] = "forty"
    with pytest.raises(
        TrialDataError, match="2 text values .'forty'. in a covariate whose other values are numbers"
    ):
        _call(name, text, "days_to_job", "event", "arm", covariates="age", id="participant_id")


def test_event_is_required_with_a_data_frame_and_taken_from_a_trial(frame, trial):
    with pytest.raises(ParameterError, match="event= must name the event column of 'days_to_job'"):
        survival.kaplan_meier(frame, "days_to_job", arm="arm")
    with pytest.raises(ParameterError, match="the Trial pairs no event column with the duration 'hours_18m'"):
        survival.kaplan_meier(trial, "hours_18m")
    with pytest.raises(ParameterError, match="arm='site', but the Trial's arm column is 'arm'"):
        survival.logrank(trial, "days_to_job", arm="site")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_trial_gives_the_numbers_of_the_data_frame_call(frame, trial, name):
    if name == "logrank_permutation":  # two arms: one treatment, the Trial's control
        by_frame = _call(name, frame, "days_to_job", "event", "arm", "IPS", "SAU", id="participant_id")
        by_trial = _call(name, trial, "days_to_job", treatment="IPS", control=None)
    elif name in CONTRASTS:  # every other arm against the Trial's control
        by_frame = _call(
            name, frame, "days_to_job", "event", "arm", ["IPS", "IPSE"], "SAU", id="participant_id"
        )
        by_trial = _call(name, trial, "days_to_job", treatment=None, control=None)
    else:
        by_frame = _call(name, frame, "days_to_job", "event", "arm", id="participant_id")
        by_trial = _call(name, trial, "days_to_job")
    a, b = by_frame.to_frame(), by_trial.to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert by_trial.inputs == by_frame.inputs


@pytest.mark.parametrize("name", sorted(CALLS))
def test_int_coded_arms_read_as_labels(frame, name):
    coded = frame.assign(arm=frame.arm.map({"IPS": 1, "IPSE": 2, "SAU": 0}))
    coded = coded[coded.arm != 2]
    result = (
        _call(name, coded, "days_to_job", "event", "arm", 1, 0)
        if name in CONTRASTS
        else _call(name, coded, "days_to_job", "event", "arm", control=0)
    )
    rows = result.to_frame()
    contrasts = set(rows.contrast)
    assert "1 vs 0" in contrasts or {"1", "0"} <= contrasts, contrasts
    label = "1 vs 0" if "1 vs 0" in contrasts else "1"
    assert re.search(rf"(?m)^{re.escape(label)}\s", result.summary())  # the first cell of a row
    assert f">{label}<" in result._repr_html_()
    record = json.dumps(result.to_dict(), allow_nan=False)
    assert f'"contrast": "{label}"' in record


def test_declared_order_not_order_of_appearance(frame):
    # the data start with IPSE, SAU, IPS (the order R and the old code listed them in)
    assert list(pd.unique(frame.arm)) == ["IPSE", "SAU", "IPS"]
    assert survival.kaplan_meier(frame, "days_to_job", "event", "arm").groups == ("IPS", "IPSE", "SAU")
    declared = ipstrial.Trial(
        frame,
        id="participant_id",
        arm="arm",
        arms=["SAU", "IPSE", "IPS"],
        control="SAU",
        durations={"days_to_job": "event"},
    )
    km = survival.kaplan_meier(declared, "days_to_job")
    assert km.groups == ("SAU", "IPSE", "IPS")
    assert [r.contrast for r in km.rows()] == ["SAU", "IPSE", "IPS"]
    lr = survival.logrank(declared, "days_to_job")
    assert lr.groups == ("SAU", "IPSE", "IPS") and lr.to_frame().contrast.iloc[0] == "IPSE vs IPS vs SAU"
    ci = survival.cumulative_incidence(declared, "days_to_job", times=[548])
    assert [r.contrast for r in ci.rows() if r.estimand == "cumulative_incidence"] == ["SAU", "IPSE", "IPS"]
    rm = survival.rmst(declared, "days_to_job", tau=548)
    assert [r.contrast for r in rm.rows() if r.estimand == "rmst"] == ["SAU", "IPSE", "IPS"]
    assert [r.contrast for r in rm.rows() if r.estimand == "rmst_difference"] == ["IPSE vs SAU", "IPS vs SAU"]


def test_ipse_rows_are_outside_an_ips_vs_sau_cox(trial, frame):
    result = survival.cox(trial, "days_to_job", treatment="IPS")
    assert result.inputs.outside == {"IPSE": 241}
    assert result.inputs.n_by_arm == {"IPS": 239, "SAU": 240}
    assert "Not in this analysis: 241 rows of other arms (IPSE 241)." in result.summary()
    assert result.to_frame().n.iloc[0] == 479
    # the same as the data without IPSE (nothing of IPSE enters the model)
    two = survival.cox(frame[frame.arm != "IPSE"], "days_to_job", "event", "arm", "IPS", "SAU")
    assert result.hazard_ratio() == two.hazard_ratio()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_analysis_renames_every_row(trial, name):
    result = _call(name, trial, "days_to_job", analysis="survival_sensitivity")
    assert {row.analysis for row in result.rows()} == {"survival_sensitivity"}
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        _call(name, trial, "days_to_job", analysis="Survival sensitivity")


# ------------------------------------------------------------------------------- tied times


def test_merge_tied_times_closed_forms():
    tol = np.sqrt(np.finfo(float).eps)
    # absolute: a gap of tol/2 between 1 and 1 + tol/2 merges (to the smaller), 2 stays
    merged, n, runs = merge_tied_times(np.array([1.0 + tol / 2, 1.0, 2.0]))
    assert merged.tolist() == [1.0, 1.0, 2.0] and (n, runs) == (2, 1)
    # relative to the mean |y|: 1e6 and 1e6 + 1e-3 (relative gap 1e-9) merge; absolute gap > tol
    merged, n, runs = merge_tied_times(np.array([1e6, 1e6 + 1e-3, 2e6]))
    assert merged.tolist() == [1e6, 1e6, 2e6]
    # runs chain: 0.9 tol steps, 5 values spanning 3.6 tol become one
    values = 1.0 + 0.9 * tol * np.arange(5)
    merged, n, runs = merge_tied_times(np.concatenate([values, [3.0]]))
    assert set(merged[:5]) == {1.0} and (n, runs) == (5, 1)
    # nothing to merge: the input itself
    plain = np.array([0.0, 1.0, 2.0])
    assert merge_tied_times(plain)[0] is plain


def test_timefix_is_noted_and_can_be_turned_off(frame):
    data = frame.astype({"days_to_job": float})
    data.loc[[0, 1, 2], "days_to_job"] = 500 + np.array([1e-12, 2e-12, 3e-12])
    data.loc[3, "days_to_job"] = 500.0
    fixed = prepare_survival(data, "days_to_job", "event", "arm")
    assert (fixed.time[[0, 1, 2, 3]] == 500.0).all() and fixed.merged == 4 and fixed.runs == 1
    assert "4 distinct values of days_to_job" in fixed.notes[0] and "merged into 1" in fixed.notes[0]
    raw = prepare_survival(data, "days_to_job", "event", "arm", timefix=False)
    assert raw.time[0] == 500 + 1e-12 and raw.notes == ()
    assert any("timefix" in note for note in survival.logrank(data, "days_to_job", "event", "arm").notes)
    with pytest.raises(ParameterError, match="timefix must be True or False"):
        prepare_survival(data, "days_to_job", "event", "arm", timefix="yes")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"covariates": ["days_to_job"]},
            r"covariates lists 'days_to_job', which is an outcome of this analysis",
        ),
        ({"covariates": ["event"]}, r"covariates lists 'event', which is an outcome of this analysis"),
        ({"covariates": ["age", "arm"]}, r"covariates lists 'arm', which is the arm column"),
        (
            {"covariates": "participant_id", "id": "participant_id"},
            r"covariates lists 'participant_id', which is the id",
        ),
        ({"strata": ["arm"]}, r"strata lists 'arm', which is the arm column"),
    ],
)
def test_a_covariate_or_stratum_that_is_another_role_is_a_parameter_error(frame, options, message):
    for model in (survival.cox, survival.fine_gray):
        if model is survival.fine_gray and "strata" in options:
            continue  # fine_gray has no strata=
        with pytest.raises(ParameterError, match=message):
            model(frame, "days_to_job", "event", "arm", control="SAU", **options)


def test_counts_of_one_are_in_the_singular(frame):
    data = frame.assign(event=np.where(frame.event == 2, 0, frame.event))
    data.loc[0, "event"] = 2
    km = survival.kaplan_meier(data, "days_to_job", "event", "arm")
    assert any("censored: 1 participant in all arms" in note for note in km.notes)
    assert not any("participant(s)" in note for note in km.notes)
