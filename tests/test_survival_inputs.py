"""Input checks shared by the time-to-event estimators (prepare_survival)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import TrialDataError
from ipstrial.survival._inputs import prepare_survival

DATA = pd.read_csv(Path(__file__).parents[1] / "data/synthetic/inklusion.csv")


def _bad(changes):
    frame = DATA.copy().astype({"days_to_job": float, "event": float})
    for (row, column), value in changes.items():
        frame.loc[row, column] = value
    return frame


def test_valid_data_keeps_every_row_of_the_compared_arms():
    s = prepare_survival(DATA, "days_to_job", "event", "arm", treatment=["IPS", "IPSE"], control="SAU")
    assert s.groups == ("IPS", "IPSE", "SAU") and len(s.time) == 720
    assert s.last_follow_up() == {"IPS": 913.0, "IPSE": 913.0, "SAU": 913.0}
    two = prepare_survival(DATA, "days_to_job", "event", "arm", treatment="IPS", control="SAU")
    assert len(two.time) == (DATA.arm != "IPSE").sum() and set(two.arms) == {"IPS", "SAU"}


def test_negative_and_missing_durations_are_errors_naming_ids():
    frame = _bad({(1, "days_to_job"): -3, (2, "days_to_job"): np.nan})
    with pytest.raises(TrialDataError) as err:
        prepare_survival(frame, "days_to_job", "event", "arm")
    text = str(err.value)
    assert "1 missing durations (participant id P0003)" in text
    assert "1 negative durations (participant id P0002)" in text
    assert len(err.value.problems) == 2


def test_infinite_and_text_durations():
    frame = DATA.astype({"days_to_job": object})
    frame.loc[4, "days_to_job"] = "12 days"
    frame.loc[7, "days_to_job"] = np.inf
    with pytest.raises(TrialDataError) as err:
        prepare_survival(frame, "days_to_job", "event", "arm")
    assert "non-numeric durations (participant id P0005)" in str(err.value)
    assert "infinite durations (participant id P0008)" in str(err.value)


def test_event_codes_outside_the_declared_set():
    frame = _bad({(5, "event"): 7, (6, "event"): np.nan})
    with pytest.raises(TrialDataError) as err:
        prepare_survival(frame, "days_to_job", "event", "arm")
    assert "outside the declared set [0, 1, 2] (found 7) (participant id P0006)" in str(err.value)
    assert "missing or non-numeric event codes (participant id P0007)" in str(err.value)
    with pytest.raises(TrialDataError, match=r"outside the declared set \[0, 1\] \(found 2\)"):
        prepare_survival(DATA, "days_to_job", "event", "arm", event_codes=(0, 1))


def test_zero_durations_are_allowed():
    frame = DATA.copy()
    frame.loc[:9, "days_to_job"] = 0
    s = prepare_survival(frame, "days_to_job", "event", "arm")
    assert (s.time == 0).sum() == 10


def test_single_arm_cannot_be_compared():
    with pytest.raises(
        TrialDataError, match="only one arm \\('IPS'\\) in the data: there is nothing to compare"
    ):
        prepare_survival(DATA[DATA.arm == "IPS"], "days_to_job", "event", "arm", min_groups=2)
    assert len(prepare_survival(DATA[DATA.arm == "IPS"], "days_to_job", "event", "arm").time) == 239


def test_missing_strata_and_unknown_columns():
    frame = DATA.copy()
    frame.loc[3, "site"] = np.nan
    with pytest.raises(
        TrialDataError, match=r"'site': 1 missing values in a stratum column \(participant id P0004\)"
    ):
        prepare_survival(frame, "days_to_job", "event", "arm", strata="site")
    with pytest.raises(TrialDataError, match="column not found: 'time' \\(duration\\)"):
        prepare_survival(DATA, "time", "event", "arm")
    with pytest.raises(TrialDataError, match=r"arm\(s\) \['TAU'\] not in the data"):
        prepare_survival(DATA, "days_to_job", "event", "arm", arms=["IPS", "TAU"])
