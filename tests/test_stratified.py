"""Mantel-Haenszel estimates and the CMH test against R (mantelhaen.test, metafor::rma.mh)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE as REFERENCE_DIR

from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.itt.stratified import mantel_haenszel, mh_estimates

REFERENCE = json.loads((REFERENCE_DIR / "stratified.json").read_text())


@pytest.mark.parametrize("ref", REFERENCE["mantel_haenszel"], ids=lambda r: f"{r['treatment']}-{r['strata']}")
def test_agrees_with_r(trial, ref):
    for correct, key in ((False, "cmh"), (True, "cmh_correct")):
        # the strata as R's script names them: one column (a string) or several (a list)
        result = mantel_haenszel(
            trial, "employed_18m", treatment=ref["treatment"], strata=ref["strata"], correct=correct
        )
        e = result.estimates.iloc[0]
        assert e.cmh == pytest.approx(ref[key], rel=1e-9)
        assert e.cmh_p == pytest.approx(ref[f"{key}_p"], rel=1e-9)
    assert e.n_strata == ref["n_strata"]
    assert e.odds_ratio == pytest.approx(ref["odds_ratio"], rel=1e-9)
    assert (e.or_low, e.or_high) == pytest.approx((ref["or_low"], ref["or_high"]), rel=1e-9)
    assert e.log_or_se == pytest.approx(ref["log_or_se"], rel=1e-9)
    assert e.rd == pytest.approx(ref["rd"], rel=1e-9)
    assert e.rd_se == pytest.approx(ref["rd_se"], rel=1e-9)


def test_rows_and_two_treatments(trial):
    result = mantel_haenszel(trial, "employed_18m", strata="site")
    frame = result.to_frame()
    assert list(frame.contrast.unique()) == ["IPS vs SAU", "IPSE vs SAU"]
    assert list(frame.estimand[:3]) == ["risk_difference", "odds_ratio", "cmh"]
    rd = frame[(frame.estimand == "risk_difference") & (frame.contrast == "IPSE vs SAU")].iloc[0]
    ref = REFERENCE["mantel_haenszel"][1]
    assert rd.estimate == pytest.approx(ref["rd"], rel=1e-9)
    assert rd.ci_low == pytest.approx(ref["rd"] - 1.959963984540054 * ref["rd_se"], rel=1e-9)
    assert rd.n == 481 and rd.p_value == pytest.approx(ref["cmh_p"], rel=1e-9)
    assert result.strata == ("site",) and set(frame.strata) == {"site"}  # one column, not 's', 'i', 't', 'e'


def test_strata_are_required_and_checked(frame):
    with pytest.raises(TypeError, match="strata"):
        mantel_haenszel(frame, "employed_18m", "arm", "IPS", "SAU")  # no default stratification
    with pytest.raises(ParameterError, match="strata must name at least one column"):
        mantel_haenszel(frame, "employed_18m", "arm", "IPS", "SAU", strata=[])
    with pytest.raises(TrialDataError, match="column not found: 'region' \\(stratum\\)"):
        mantel_haenszel(frame, "employed_18m", "arm", "IPS", "SAU", strata="region")


def test_single_stratum_reduces_to_the_unstratified_table():
    # one stratum: MH OR = ad/bc, MH RD = p1 - p0, CMH = Pearson chi-square x (N-1)/N
    est = mh_estimates([30], [50], [20], [50])
    assert est["odds_ratio"] == pytest.approx(30 * 30 / (20 * 20))
    assert est["rd"] == pytest.approx(0.2)
    pearson = 100 * (30 * 30 - 20 * 20) ** 2 / (50 * 50 * 50 * 50)
    assert est["cmh"] == pytest.approx(pearson * 99 / 100)


def test_strata_with_one_arm_empty_carry_no_weight_and_are_reported():
    frame = pd.DataFrame(
        {
            "participant_id": [f"P{i}" for i in range(12)],
            "arm": ["IPS", "SAU"] * 4 + ["IPS"] * 4,
            "y": [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1],
            "site": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
        }
    )
    result = mantel_haenszel(frame, "y", "arm", "IPS", "SAU", strata="site", id="participant_id")
    assert result.estimates.n_strata.iloc[0] == 2
    assert any("1 stratum with one arm empty carries no weight (C)" in n for n in result.notes)


def test_no_stratum_with_both_arms_is_an_error():
    frame = pd.DataFrame(
        {
            "participant_id": ["a", "b", "c", "d"],
            "arm": ["IPS", "IPS", "SAU", "SAU"],
            "y": [1, 0, 1, 0],
            "site": ["A", "A", "B", "B"],
        }
    )
    with pytest.raises(EstimationError, match="no stratum has participants in both arms"):
        mantel_haenszel(frame, "y", "arm", "IPS", "SAU", strata="site")


def test_missing_strata_are_an_error_naming_ids(data):
    data.loc[[1, 9, 3], "site"] = np.nan  # P0004 is in IPSE, not compared here
    with pytest.raises(TrialDataError, match=r"'site': 2 missing values.*P0002, P0010.*randomisation record"):
        mantel_haenszel(data, "employed_18m", "arm", "IPS", "SAU", strata="site", id="participant_id")


def test_all_outcomes_identical_gives_no_evidence(frame):
    e = mantel_haenszel(
        frame.assign(employed_18m=0), "employed_18m", "arm", "IPS", "SAU", strata="site"
    ).estimates.iloc[0]
    assert (e.cmh, e.cmh_p, e.rd) == (0.0, 1.0, 0.0)
    assert np.isnan(e.odds_ratio)


def test_strata_equal_to_the_arm_is_refused(frame):
    with pytest.raises(ParameterError, match="strata lists 'arm', which is the arm column of this analysis"):
        mantel_haenszel(frame, "employed_18m", "arm", "IPS", "SAU", strata="arm")

