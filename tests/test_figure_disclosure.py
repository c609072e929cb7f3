"""Figures never print a count below the disclosure threshold: numbers at risk and n/N (default 5)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from ipstrial import survival  # noqa: E402
from ipstrial.report.disclosure import count_text, figure_min_count, use_min_count  # noqa: E402
from ipstrial.synthetic import INKLUSION, simulate_trial  # noqa: E402


@pytest.fixture(scope="module")
def small_trial():
    """60 participants: late in follow-up fewer than 5 are at risk in each arm."""
    return simulate_trial(INKLUSION, n=60, seed=3)


def _at_risk_texts(ax):
    return {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("at_risk:")}


def test_count_text_rule():
    assert [count_text(v, 5) for v in (0, 1, 4, 5, 17, None)] == ["0", "<5", "<5", "5", "17", "–"]
    assert count_text(3, 0) == "3"
    assert figure_min_count() == 5
    with use_min_count(10):
        assert count_text(7) == "<10"
    assert figure_min_count() == 5


def test_numbers_at_risk_below_5_are_suppressed_unless_turned_off(small_trial):
    km = survival.kaplan_meier(small_trial, "days_to_job", "event", "arm", id="participant_id")
    ax = km.plot()
    texts = _at_risk_texts(ax)
    plt.close(ax.figure)
    # the direct count of participants at risk at each printed time
    small = []
    for gid, text in texts.items():
        _, arm, t = gid.split(":")
        at_risk = int(((small_trial.arm == arm) & (small_trial.days_to_job >= float(t))).sum())
        assert text == ("<5" if 0 < at_risk < 5 else f"{at_risk}"), (gid, text, at_risk)
        small.append(0 < at_risk < 5)
    assert any(small), "the test data must have small risk sets"
    with use_min_count(0):
        ax = km.plot()
    shown = _at_risk_texts(ax)
    plt.close(ax.figure)
    assert not any(v.startswith("<") for v in shown.values())
