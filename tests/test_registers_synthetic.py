"""The synthetic trial's register view: deriving the outcomes from its weekly panel gives back the trial.

``synthetic_registers`` turns ``simulate_trial`` output into a DREAM-like panel and randomisation dates;
``derive_outcomes`` with ``horizon_weeks=79`` and the shipped code map must give back the committed outcome
columns exactly, for every participant. Transfers are recomputed here from the panel with plain pandas.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipstrial.registers
from ipstrial.errors import ParameterError
from ipstrial.registers import CodeMap, derive_outcomes
from ipstrial.registers._synthetic import register_week, synthetic_registers
from ipstrial.synthetic import DAYS_18M, simulate_trial

CODES_TOML = Path(ipstrial.registers.__file__).parent / "codes" / "synthetic.toml"
HORIZON = 79
WEEKS_AFTER = 60
CASES = {"committed": (2012, None), "second": (77, 300)}
"""Name: (seed of simulate_trial and of synthetic_registers, n)."""


def _monday_index(week: str) -> int:
    year, number = week.split("-W")
    return (dt.date.fromisocalendar(int(year), int(number), 1) - dt.date(1970, 1, 5)).days // 7


def _date_index(date: pd.Timestamp) -> int:
    d = date.date()
    return (d - dt.timedelta(days=d.weekday()) - dt.date(1970, 1, 5)).days // 7


@pytest.fixture(scope="module")
def codes() -> CodeMap:
    return CodeMap.from_toml(CODES_TOML)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, codes):
    seed, n = CASES[request.param]
    trial = simulate_trial(seed=seed, n=n)
    panel, randomisation = synthetic_registers(trial, seed=seed, weeks_after=WEEKS_AFTER)
    derived = derive_outcomes(panel, randomisation, codes, horizon_weeks=HORIZON)
    return trial, panel, randomisation, derived


def _relative(panel: pd.DataFrame, randomisation: pd.DataFrame) -> pd.DataFrame:
    """The panel with each row's week relative to the participant's randomisation week (week 1)."""
    week0 = pd.Series(
        randomisation["randomisation_date"].map(_date_index).to_numpy(), index=randomisation["participant_id"]
    )
    index = {w: _monday_index(w) for w in panel["week"].unique()}
    return panel.assign(rel=panel["week"].map(index) - panel["person"].map(week0) + 1)


# ------------------------------------------------------------------ register_week


def test_register_week_maps_18_months_onto_weeks_1_to_79():
    days = np.arange(1, DAYS_18M + 1)
    weeks = register_week(days)
    assert weeks.dtype == np.int64
    assert np.array_equal(np.unique(weeks), np.arange(1, HORIZON + 1))
    sizes = np.bincount(weeks)[1:]
    assert sizes[0] == 2  # the randomisation Saturday and Sunday
    assert (sizes[1:] == 7).all()
    assert np.all(np.diff(weeks) >= 0)
    assert register_week(DAYS_18M + 1) == HORIZON + 1
    assert isinstance(register_week(3), int) and register_week(3) == 2 and register_week(9) == 2
    assert register_week([1, 2, 10]).tolist() == [1, 1, 3]
    with pytest.raises(ParameterError, match="counted from 1"):
        register_week([0, 5])


def test_register_week_is_the_iso_week_of_the_day():
    saturday = dt.date(2012, 1, 7)
    for d in range(1, 920):
        day = saturday + dt.timedelta(days=d - 1)
        monday = day - dt.timedelta(days=day.weekday())
        assert register_week(d) == (monday - (saturday - dt.timedelta(days=5))).days // 7 + 1


# ------------------------------------------------------------------ derivation gives back the trial


def test_committed_data_is_simulate_trial(frame):
    pd.testing.assert_frame_equal(simulate_trial(seed=2012), frame, check_dtype=False)


def test_derived_outcomes_are_the_trial_columns(case):
    trial, _, randomisation, derived = case
    out = derived.frame
    assert len(out) == len(trial)
    assert out["participant_id"].tolist() == trial["participant_id"].tolist()
    assert randomisation["participant_id"].tolist() == trial["participant_id"].tolist()
    days = trial["days_to_job"].to_numpy()
    event = trial["event"].to_numpy()
    within = days <= DAYS_18M
    expected_event = np.where(within, event, 0)
    expected_weeks = np.where(
        within & np.isin(event, (1, 2)),
        register_week(days),
        np.where(within & (event == 0), register_week(days) - 1, HORIZON),
    )
    assert np.array_equal(out["in_work_or_education"].to_numpy(), trial["employed_18m"].to_numpy())
    assert np.array_equal(
        out["weeks_in_work_or_education"].to_numpy(), trial["weeks_employed_18m"].to_numpy()
    )
    assert np.array_equal(out["event"].to_numpy(), expected_event)
    assert np.array_equal(out["weeks_to_event"].to_numpy(), expected_weeks)
    # the cases the view must handle all occur
    assert (within & (event == 1)).any() and (within & (event == 2)).any() and (within & (event == 0)).any()
    assert (~within & (event == 1)).any()
    assert derived.truncated == () and derived.no_register_rows == ()


def test_transfers_are_the_weekly_rates_of_the_observed_weeks(case, codes):
    _, panel, randomisation, derived = case
    rel = _relative(panel, randomisation)
    kind = {c.code: c.kind for c in codes.codes}
    rows = rel[(rel["rel"] >= 1) & (rel["rel"] <= HORIZON)]
    end = rows[rows["code"].map(kind) == "end"].groupby("person")["rel"].min()
    last = rows["person"].map(end).fillna(HORIZON + 1) - 1  # T = min(H, E - 1)
    observed = rows[rows["rel"] <= last]
    out = derived.frame.set_index("participant_id")
    total = pd.Series(0.0, index=out.index)
    for benefit in codes.benefits:
        rate = {c.code: c.weekly_rate for c in codes.codes if c.benefit == benefit}
        mine = observed[observed["code"].isin(rate)]
        expected = (mine["code"].map(rate)).groupby(mine["person"]).sum()
        expected = expected.reindex(out.index, fill_value=0.0)
        pd.testing.assert_series_equal(
            out[f"transfers_{benefit}"], expected, check_names=False, check_dtype=False
        )
        total += expected
    pd.testing.assert_series_equal(out["transfers_total"], total, check_names=False, check_dtype=False)
    assert (out["transfers_disability_pension"] > 0).any() and (out["transfers_wage_subsidy"] > 0).any()


# ------------------------------------------------------------------ the view itself


def test_the_panel_follows_the_view(case, codes):
    trial, panel, randomisation, derived = case
    assert list(panel.columns) == ["person", "week", "code"]
    assert list(randomisation.columns) == ["participant_id", "randomisation_date"]
    assert pd.api.types.is_datetime64_any_dtype(randomisation["randomisation_date"])
    dates = randomisation["randomisation_date"]
    assert (dates.dt.dayofweek == 5).all()
    assert (dates == dates.dt.normalize()).all()
    offset = (dates - pd.Timestamp("2012-01-07")).dt.days.to_numpy()
    assert np.array_equal(offset, 7 * ((trial["enrolment"].to_numpy() - 1) // 5))
    assert set(panel["code"]) <= {c.code for c in codes.codes}
    assert not panel.duplicated(["person", "week"]).any()
    rel = _relative(panel, randomisation)
    spans = rel.groupby("person")["rel"].agg(["min", "max"])
    assert (spans["min"] == -9).all() and (spans["max"] == HORIZON + WEEKS_AFTER).all()
    # coverage: from the first participant's week -9 to the last participant's week 79 + weeks_after
    first = randomisation["randomisation_date"].map(_date_index)
    assert derived.coverage == (
        ipstrial.registers._rules.iso_week(first.min() - 10),
        ipstrial.registers._rules.iso_week(first.max() + HORIZON + WEEKS_AFTER - 1),
    )
    # one benefit code per participant, carried before randomisation
    benefit_kind = {c.code for c in codes.codes if c.kind == "benefit"}
    benefit = rel[rel["code"].isin(benefit_kind)].groupby("person")["code"].nunique()
    assert (benefit == 1).all() and len(benefit) == len(trial)
    before = rel[rel["rel"] <= 0]
    assert before["code"].isin(benefit_kind).all() and len(before) == 10 * len(trial)
    shares = (
        rel[rel["code"].isin(benefit_kind)].drop_duplicates("person")["code"].value_counts(normalize=True)
    )
    assert (
        abs(shares["130"] - 0.5) < 0.1 and abs(shares["111"] - 0.3) < 0.1 and abs(shares["890"] - 0.2) < 0.1
    )
    # competing exits and losses keep their code to the end of the panel
    ids = trial["participant_id"].to_numpy()
    days, event = trial["days_to_job"].to_numpy(), trial["event"].to_numpy()
    for mask, code in ((event == 2, "783"), ((event == 0) & (days < 913), "998")):
        start = pd.Series(register_week(days[mask]), index=ids[mask])
        coded = rel[rel["code"] == code].groupby("person")["rel"].agg(["min", "count"])
        reached = start[start <= HORIZON + WEEKS_AFTER]
        assert coded["min"].reindex(reached.index).tolist() == reached.tolist()
        assert (
            coded["count"].reindex(reached.index).tolist() == (HORIZON + WEEKS_AFTER + 1 - reached).tolist()
        )


def test_the_view_is_reproducible_and_seeded():
    trial = simulate_trial(n=60, seed=3)
    one = synthetic_registers(trial, seed=5)
    two = synthetic_registers(trial, seed=5)
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1])
    assert not synthetic_registers(trial, seed=6)[0].equals(one[0])


def test_weeks_after_and_first_saturday(codes):
    trial = simulate_trial(n=40, seed=4)
    panel, randomisation = synthetic_registers(trial, first_saturday="2015-03-07", weeks_after=1)
    assert randomisation["randomisation_date"].iloc[0] == pd.Timestamp("2015-03-07")
    derived = derive_outcomes(panel, randomisation, codes, horizon_weeks=HORIZON)
    assert np.array_equal(derived.frame["in_work_or_education"].to_numpy(), trial["employed_18m"].to_numpy())
    assert derived.truncated == ()
    with pytest.raises(ParameterError, match="Saturday"):
        synthetic_registers(trial, first_saturday="2015-03-06")
    with pytest.raises(ParameterError, match="weeks_after"):
        synthetic_registers(trial, weeks_after=0)


def test_an_inconsistent_trial_is_refused():
    trial = simulate_trial(n=100, seed=2012)
    employed = trial.index[trial["employed_18m"] == 1][0]
    too_many = trial.copy()
    first = register_week(int(too_many.loc[employed, "days_to_job"]))
    too_many.loc[employed, "weeks_employed_18m"] = 81 - first
    with pytest.raises(ParameterError, match="80 - register_week"):
        synthetic_registers(too_many)
    wrong = trial.copy()
    wrong.loc[employed, "employed_18m"] = 0
    with pytest.raises(ParameterError, match=str(trial.loc[employed, "participant_id"])):
        synthetic_registers(wrong)
    with pytest.raises(ParameterError, match="lacks the columns"):
        synthetic_registers(trial.drop(columns="event"))
