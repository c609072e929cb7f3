"""The per-arm summary of the demo (ipstrial.report.summary.arm_summary)."""

from __future__ import annotations

import numpy as np
import pytest

from ipstrial.errors import TrialDataError
from ipstrial.report.summary import arm_summary


def test_arm_summary_counts_each_arm_in_declared_order(trial):
    table = arm_summary(trial)
    assert list(table.columns) == ["IPS", "IPSE", "SAU", "all"]
    assert table.loc["participants, n"].tolist() == ["239", "241", "240", "720"]


def test_arm_summary_of_arms_coded_as_numbers(frame):
    data = frame.assign(arm=frame.arm.map({"IPS": 1, "IPSE": 2, "SAU": 0}))
    table = arm_summary(data, arm="arm")
    assert list(table.columns) == ["0", "1", "2", "all"]
    assert table.loc["participants, n"].tolist() == ["240", "239", "241", "720"]


def test_arm_summary_refuses_a_missing_arm(frame):
    data = frame.copy()
    data.loc[4, "arm"] = np.nan
    with pytest.raises(TrialDataError, match="without an arm"):
        arm_summary(data, arm="arm")
