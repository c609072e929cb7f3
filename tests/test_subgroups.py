"""Subgroup effects and interaction tests against R (glm likelihood-ratio tests), bands, forest plot."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE as REFERENCE_DIR

from ipstrial.errors import ParameterError, TrialDataError
from ipstrial.itt.binary import compare_counts
from ipstrial.itt.subgroups import numeric_bands, subgroups

matplotlib.use("Agg")
REFERENCE = json.loads((REFERENCE_DIR / "stratified.json").read_text())
BY = ["site", "sex", "diagnosis", "age"]
NAME = {"age_band": "age"}  # R's script bands age into the column age_band; here the subgroup keeps its name


@pytest.fixture(scope="module")
def result(frame):
    return subgroups(frame, "employed_18m", "arm", "IPS", "SAU", by=BY, bands={"age": (30, 40)})


def test_interaction_tests_agree_with_r(result):
    for ref in REFERENCE["interactions"]:
        row = result.interactions.set_index("factor").loc[NAME.get(ref["factor"], ref["factor"])]
        assert row.statistic == pytest.approx(ref["statistic"], rel=1e-7)
        assert row.p_value == pytest.approx(ref["p_value"], rel=1e-6)
        assert row.df == ref["df"]


def test_level_counts_agree_with_r_and_effects_use_newcombe(result):
    for ref in REFERENCE["level_counts"]:
        levels = result.levels[result.levels.factor == NAME.get(ref["factor"], ref["factor"])].set_index(
            "level"
        )
        counts = zip(np.atleast_1d(ref["a"]), np.atleast_1d(ref["n1"]), strict=True)
        expected = dict(zip(np.atleast_1d(ref["level"]), counts, strict=True))
        assert {lv: (r.a, r.n1) for lv, r in levels.iterrows()} == expected
    bands = result.levels[result.levels.factor == "age"].level.tolist()
    assert bands == ["<30", "30-39", "40+"]  # age order, not alphabetical
    first = result.levels.iloc[0]
    ci = compare_counts(int(first.a), int(first.n1), int(first.c), int(first.n0)).interval("risk_difference")
    assert (first.estimate, first.low, first.high) == pytest.approx((ci.estimate, ci.low, ci.high), rel=1e-12)


def test_rows_name_subgroup_and_level(result):
    frame = result.to_frame()
    assert set(frame.estimand) == {"risk_difference", "interaction"}
    assert (frame.estimand == "interaction").sum() == 4
    assert set(frame[frame.subgroup == "age"].level.dropna()) == {"<30", "30-39", "40+"}
    levels = frame[frame.estimand == "risk_difference"]
    assert (levels.variant == levels.subgroup + "=" + levels.level).all()
    assert "sex=female" in set(levels.variant)
    assert list(frame[frame.estimand == "interaction"].variant) == BY
    assert not frame.duplicated(["analysis", "outcome", "contrast", "estimand", "variant"]).any()


def test_numeric_bands():
    bands = numeric_bands(pd.Series([18, 29, 30, 39, 40, 64], name="age"), (30, 40))
    assert bands.astype(str).tolist() == ["<30", "<30", "30-39", "30-39", "40+", "40+"]
    assert list(bands.cat.categories) == ["<30", "30-39", "40+"]
    assert bands.cat.ordered
    fractional = numeric_bands(pd.Series([0.5, 2.5, 3.9, 4.0], name="score"), (2.5, 4))
    assert fractional.astype(str).tolist() == ["<2.5", "2.5 to <4", "2.5 to <4", ">=4"]
    with pytest.raises(ParameterError, match="strictly increasing"):
        numeric_bands(pd.Series([1.0], name="x"), (4, 2))


def test_every_treatment_against_the_control(trial, result):
    both = subgroups(trial, "employed_18m", by=BY, bands={"age": (30, 40)})
    assert both.contrasts == ("IPS vs SAU", "IPSE vs SAU")
    frame = both.to_frame()
    ips = frame[frame.contrast == "IPS vs SAU"].reset_index(drop=True).drop(columns="analysis")
    pd.testing.assert_frame_equal(ips, result.to_frame().drop(columns="analysis"), check_like=True)
    assert both.plot(contrast="IPSE vs SAU").get_title().endswith("IPSE vs SAU")


def test_forest_plot_draws_every_level(result):
    ax = result.plot()
    assert len(ax.get_yticks()) == len(result.levels) + len(result.interactions)
    assert "risk difference" in ax.get_xlabel()


def test_sparse_level_is_reported_not_dropped(data):
    small = data.index[(data.arm == "IPS") & (data.site == "Odense")][:1]
    data.loc[(data.site == "Odense") & data.arm.isin(["IPS", "SAU"]), "site"] = "Odense-drop"
    data.loc[small, "site"] = "Aarhus"  # one IPS participant, no SAU participant
    res = subgroups(data, "employed_18m", "arm", "IPS", "SAU", by="site")
    aarhus = res.levels.set_index("level").loc["Aarhus"]
    assert np.isnan(aarhus.estimate) and "no participant" in aarhus.note
    assert np.isnan(res.interactions.p_value.iloc[0]) and "infinite" in res.interactions.note.iloc[0]


def test_bad_input(frame, data):
    with pytest.raises(TypeError, match="by"):
        subgroups(frame, "employed_18m", "arm", "IPS", "SAU")  # by= is required: no default subgroups
    with pytest.raises(ParameterError, match=r"bands names \['age'\], which are not in by="):
        subgroups(frame, "employed_18m", "arm", "IPS", "SAU", by="sex", bands={"age": (30, 40)})
    with pytest.raises(ParameterError, match="strictly increasing"):
        subgroups(frame, "employed_18m", "arm", "IPS", "SAU", by="age", bands={"age": (40, 30)})
    with pytest.raises(TrialDataError, match="not found: 'region'"):
        subgroups(frame, "employed_18m", "arm", "IPS", "SAU", by=["region"])
    with pytest.raises(TrialDataError, match="'sex': .*cannot be cut into bands.*P0002"):
        subgroups(
            frame, "employed_18m", "arm", "IPS", "SAU", by="sex", bands={"sex": (1,)}, id="participant_id"
        )
    data.loc[data.participant_id == "P0002", "sex"] = np.nan
    with pytest.raises(TrialDataError, match="'sex': 1 missing value in a subgroup column.*P0002"):
        subgroups(data, "employed_18m", "arm", "IPS", "SAU", by="sex", id="participant_id")


@pytest.mark.parametrize(
    ("by", "role"),
    [("arm", "the arm column"), ("employed_18m", "an outcome"), (["sex", "arm"], "the arm column")],
)
def test_subgroups_by_the_arm_or_the_outcome_is_refused(frame, trial, by, role):
    # a subgroup is a baseline characteristic: the arm (the comparison itself) or the outcome cannot be one
    column = by if isinstance(by, str) else by[-1]
    with pytest.raises(ParameterError, match=rf"the subgroup column '{column}' is {role} of this analysis"):
        subgroups(frame, "employed_18m", "arm", "IPS", "SAU", by=by)
    with pytest.raises(ParameterError, match=rf"the subgroup column '{column}' is {role} of this analysis"):
        subgroups(trial, "employed_18m", by=by)
