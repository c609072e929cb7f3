"""Subgroup effects and interaction tests against R (glm likelihood-ratio tests), forest plot."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import TrialDataError
from ipstrial.itt.binary import compare_counts
from ipstrial.itt.subgroups import age_bands, subgroups

matplotlib.use("Agg")
ROOT = Path(__file__).parents[1]
REFERENCE = json.loads((ROOT / "tests/reference/stratified.json").read_text())
DATA = pd.read_csv(ROOT / "data/synthetic/inklusion.csv")


@pytest.fixture(scope="module")
def result():
    return subgroups(DATA, "employed_18m", treatment="IPS", control="SAU")


def test_interaction_tests_agree_with_r(result):
    for ref in REFERENCE["interactions"]:
        row = result.interactions.set_index("factor").loc[ref["factor"]]
        assert row.statistic == pytest.approx(ref["statistic"], rel=1e-7)
        assert row.p_value == pytest.approx(ref["p_value"], rel=1e-6)
        assert row.df == ref["df"]


def test_level_counts_agree_with_r_and_effects_use_newcombe(result):
    for ref in REFERENCE["level_counts"]:
        levels = result.levels[result.levels.factor == ref["factor"]].set_index("level")
        counts = zip(np.atleast_1d(ref["a"]), np.atleast_1d(ref["n1"]), strict=True)
        expected = dict(zip(np.atleast_1d(ref["level"]), counts, strict=True))
        assert {lv: (r.a, r.n1) for lv, r in levels.iterrows()} == expected
    bands = result.levels[result.levels.factor == "age_band"].level.tolist()
    assert bands == ["<30", "30-39", "40+"]  # age order, not alphabetical
    first = result.levels.iloc[0]
    ci = compare_counts(int(first.a), int(first.n1), int(first.c), int(first.n0)).interval("risk_difference")
    assert (first.estimate, first.low, first.high) == pytest.approx((ci.estimate, ci.low, ci.high), rel=1e-12)


def test_rows_name_subgroup_and_level(result):
    frame = result.to_frame()
    assert set(frame.estimand) == {"risk_difference", "interaction"}
    assert (frame.estimand == "interaction").sum() == 4
    assert set(frame[frame.subgroup == "age_band"].level.dropna()) == {"<30", "30-39", "40+"}


def test_age_bands():
    bands = age_bands(pd.Series([18, 29, 30, 39, 40, 64]), (30, 40))
    assert bands.astype(str).tolist() == ["<30", "<30", "30-39", "30-39", "40+", "40+"]
    assert list(bands.cat.categories) == ["<30", "30-39", "40+"]


def test_forest_plot_draws_every_level(result):
    ax = result.plot()
    assert len(ax.get_yticks()) == len(result.levels) + len(result.interactions)
    assert "risk difference" in ax.get_xlabel()


def test_sparse_level_is_reported_not_dropped():
    frame = DATA.copy()
    small = frame.index[(frame.arm == "IPS") & (frame.site == "Odense")][:1]
    frame.loc[(frame.site == "Odense") & frame.arm.isin(["IPS", "SAU"]), "site"] = "Odense-drop"
    frame.loc[small, "site"] = "Aarhus"  # one IPS participant, no SAU participant
    res = subgroups(frame, "employed_18m", by=["site"])
    aarhus = res.levels.set_index("level").loc["Aarhus"]
    assert np.isnan(aarhus.estimate) and "no participant" in aarhus.note
    assert np.isnan(res.interactions.p_value.iloc[0]) and "infinite" in res.interactions.note.iloc[0]


def test_bad_input():
    with pytest.raises(TypeError, match="one treatment arm"):
        subgroups(DATA, "employed_18m", treatment=["IPS", "IPSE"])
    with pytest.raises(TrialDataError, match="'age_band' needs the age column 'years'"):
        subgroups(DATA, "employed_18m", by=["age_band"], age="years")
    with pytest.raises(TrialDataError, match="not found: 'region'"):
        subgroups(DATA, "employed_18m", by=["region"])
