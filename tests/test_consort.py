"""CONSORT flow (ipstrial.report.consort): counts against a direct pandas count, and disclosure control."""

from __future__ import annotations

import pytest
from conftest import inklusion_trial

from ipstrial._checks import ParameterError
from ipstrial.errors import TrialDataError
from ipstrial.report.consort import consort_flow


def test_counts_equal_a_direct_count(trial, frame):
    flow = consort_flow(
        trial, ["employed_18m", "hours_18m"], duration="days_to_job", follow_up=548, min_count=None
    )
    table = flow.counts
    assert list(table.columns) == ["IPS", "IPSE", "SAU", "Total"]
    by_arm = frame.groupby("arm")
    assert table.loc["Randomised"].tolist() == [*by_arm.size()[["IPS", "IPSE", "SAU"]], len(frame)]
    assert table.loc["Allocated"].tolist() == table.loc["Randomised"].tolist()
    lost = frame[(frame.event == 0) & (frame.days_to_job < 548)].groupby("arm").size()
    stage = next(s for s in flow.stages if s.startswith("Lost"))
    assert table.loc[stage, "IPS"] == lost.get("IPS", 0) and table.loc[stage, "Total"] == lost.sum()
    missing = frame.hours_18m.isna().groupby(frame.arm).sum()
    assert table.loc["Excluded: hours_18m", "SAU"] == missing["SAU"]
    assert table.loc["Analysed: hours_18m", "Total"] == frame.hours_18m.notna().sum()
    assert "not suppressed" in flow.summary()
    assert "receipt of the allocated" in flow.to_markdown()


def test_small_counts_are_suppressed_with_their_complement(trial, frame):
    flow = consort_flow(trial, "hours_18m", duration="days_to_job", follow_up=548)
    stage = next(s for s in flow.stages if s.startswith("Lost"))
    shown = flow.to_frame().loc[stage]
    lost = frame[(frame.event == 0) & (frame.days_to_job < 548)].groupby("arm").size()
    small = [a for a in ("IPS", "IPSE", "SAU") if 0 < lost.get(a, 0) < 5]
    assert small, "the synthetic trial has an arm with fewer than 5 lost; the test relies on it"
    for a in small:
        assert shown[a] == "<5"
    hidden = [c for c in shown.index if shown[c] in ("<5", "*")]
    assert len(hidden) >= 2  # Total minus the other arms would give a single hidden cell away
    assert flow.counts.loc[stage, small[0]] is not None and flow.counts.loc[stage].isna().sum() == len(hidden)
    assert "<table" in flow._repr_html_()


def test_plot_draws_a_box_per_arm_and_stage(trial):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flow = consort_flow(trial, "employed_18m")
    ax = flow.plot()
    texts = [t.get_text() for t in ax.texts]
    assert sum("Analysed: employed_18m" in t for t in texts) == 3
    plt.close(ax.figure)


def test_bad_arguments(trial, frame):
    with pytest.raises(ParameterError, match="Trial"):
        consort_flow(frame, "employed_18m")
    with pytest.raises(ParameterError, match="together"):
        consort_flow(trial, "employed_18m", duration="days_to_job")
    with pytest.raises(TrialDataError, match="nosuch"):
        consort_flow(trial, "nosuch")
    with pytest.raises(ParameterError, match="follow_up"):
        consort_flow(trial, "employed_18m", duration="days_to_job", follow_up=-1)
    bare = inklusion_trial()
    assert consort_flow(bare, "employed_18m").stages[0] == "Randomised"
