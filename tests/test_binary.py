"""compare_proportions / compare_counts: published values, R references, multiplicity, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.itt.binary import adjust_p_values, compare_counts, compare_proportions
from ipstrial.synthetic import INKLUSION

ROOT = Path(__file__).parents[1]
DATA = pd.read_csv(ROOT / "data/synthetic/inklusion.csv")


def _row(result, estimand, contrast):
    frame = result.to_frame()
    rows = frame[(frame.estimand == estimand) & (frame.contrast == contrast)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_eqolise_published_wald_interval():
    # Burns et al., Lancet 2007;370:1146: 85/156 vs 43/156, difference 26.9 %, 95 % CI 16.4 % to 37.4 %
    result = compare_counts(85, 156, 43, 156, treatment="IPS", control="VS", method="wald")
    rd = _row(result, "risk_difference", "IPS vs VS")
    assert round(100 * rd.estimate, 1) == 26.9
    assert (round(100 * rd.ci_low, 1), round(100 * rd.ci_high, 1)) == (16.4, 37.4)
    assert rd.se == pytest.approx(np.sqrt(85 / 156 * 71 / 156 / 156 + 43 / 156 * 113 / 156 / 156), rel=1e-12)


def test_newcombe_table_ii_through_compare_counts():
    # Newcombe (Stat Med 1998;17:873) Table II, method 10: (a) 56/70 - 48/80 -> 0.0524 to 0.3339
    rd = compare_counts(56, 70, 48, 80).interval("risk_difference")
    assert (rd.low, rd.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_agrees_with_r_on_the_inklusion_like_table():
    reference = json.loads((ROOT / "tests/reference/two_by_two.json").read_text())
    entry = next(
        t for t in reference["tables"] if (t["x1"], t["n1"], t["x0"], t["n0"]) == (146, 243, 111, 239)
    )
    result = compare_counts(146, 243, 111, 239, treatment="IPS", control="SAU", or_method="exact")
    assert _row(result, "fisher_exact", "IPS vs SAU").p_value == pytest.approx(entry["fisher"]["p"], rel=1e-6)
    chi = _row(result, "chi_square", "IPS vs SAU")
    assert chi.estimate == pytest.approx(entry["prop_test"]["uncorrected"]["statistic"], rel=1e-6)
    assert chi.p_value == pytest.approx(entry["prop_test"]["uncorrected"]["p"], rel=1e-6)
    odds = _row(result, "odds_ratio", "IPS vs SAU")
    # R's fisher.test finds the limits with uniroot (tolerance about 1e-4); the script refines them
    exact = entry["exact_refined"]
    assert (odds.estimate, odds.ci_low, odds.ci_high) == pytest.approx(
        (exact["estimate"], exact["low"], exact["high"]), rel=1e-6
    )
    assert (odds.ci_low, odds.ci_high) == pytest.approx(
        (entry["fisher"]["low"], entry["fisher"]["high"]), rel=1e-3
    )
    proportion = _row(result, "proportion", "IPS")
    wilson = entry["wilson"]["treatment"]
    assert (proportion.ci_low, proportion.ci_high) == pytest.approx((wilson["low"], wilson["high"]), rel=1e-9)


def test_compare_proportions_equals_compare_counts():
    from_data = compare_proportions(DATA, "employed_18m", treatment="IPS", control="SAU").to_frame()
    ips, sau = DATA[DATA.arm == "IPS"].employed_18m, DATA[DATA.arm == "SAU"].employed_18m
    from_counts = compare_counts(
        int(ips.sum()),
        len(ips),
        int(sau.sum()),
        len(sau),
        treatment="IPS",
        control="SAU",
        outcome="employed_18m",
    ).to_frame()
    pd.testing.assert_frame_equal(from_data.drop(columns="analysis"), from_counts.drop(columns="analysis"))


def test_synthetic_trial_headline_covers_the_truth():
    result = compare_proportions(DATA, "employed_18m", treatment=["IPS", "IPSE"], control="SAU")
    truth = INKLUSION.truth.set_index(["outcome", "estimand", "contrast"]).value
    for contrast in ("IPS vs SAU", "IPSE vs SAU"):
        rd = _row(result, "risk_difference", contrast)
        assert rd.ci_low > 0
        assert rd.ci_low < truth["employed_18m", "risk_difference", contrast] < rd.ci_high
    assert list(result.to_frame().query("estimand == 'proportion'").contrast) == ["IPS", "IPSE", "SAU"]


def test_holm_and_bonferroni_adjustment():
    p = np.array([0.01, 0.04, 0.03])
    np.testing.assert_allclose(adjust_p_values(p, "bonferroni"), [0.03, 0.12, 0.09])
    np.testing.assert_allclose(adjust_p_values(p, "holm"), [0.03, 0.06, 0.06])  # 3*.01, max(.06, 2*.03), .04
    result = compare_proportions(
        DATA, "employed_18m", treatment=["IPS", "IPSE"], control="SAU", adjust="holm"
    )
    raw = [_row(result, "risk_difference", c).p_value for c in ("IPS vs SAU", "IPSE vs SAU")]
    adjusted = [_row(result, "risk_difference", c).p_adjusted for c in ("IPS vs SAU", "IPSE vs SAU")]
    assert adjusted == pytest.approx(adjust_p_values(raw, "holm").tolist(), rel=1e-12)
    assert adjusted[0] == pytest.approx(2 * min(raw), rel=1e-12)
    with pytest.raises(ValueError, match="adjust='sidak'"):
        compare_proportions(DATA, "employed_18m", adjust="sidak")


def test_nnt_wording_when_the_interval_includes_no_difference():
    result = compare_counts(12, 40, 9, 40, treatment="IPS", control="SAU")
    nnt = _row(result, "number_needed_to_treat", "IPS vs SAU")
    assert nnt.estimate == pytest.approx(1 / (12 / 40 - 9 / 40))
    assert np.isnan(nnt.ci_low) and "NNTH" in nnt.label and "∞" in nnt.label and "NNTB" in nnt.label


@pytest.mark.parametrize("counts", [(0, 10, 0, 20), (10, 10, 0, 20), (0, 1, 1, 1), (5, 5, 5, 5)])
def test_every_row_is_defined_at_the_boundaries(counts):
    frame = compare_counts(*counts).to_frame()
    intervals = frame[frame.estimand.isin(["proportion", "risk_difference", "risk_ratio", "odds_ratio"])]
    assert not intervals[["estimate", "ci_low", "ci_high"]].isna().any(axis=None)
    assert (intervals.ci_low <= intervals.ci_high).all()


# ------------------------------------------------------------------------------- bad input
def test_outcome_not_zero_one():
    frame = DATA.copy()
    frame.loc[[0, 5], "employed_18m"] = 2  # P0001 (IPSE) is not compared; P0006 is
    arms = frame.loc[[0, 5], "arm"].tolist()
    with pytest.raises(TrialDataError, match=r"employed_18m.*not allowed for a binary outcome \(2\.0\)"):
        compare_proportions(frame, "employed_18m", treatment=["IPS", "IPSE"], control="SAU")
    assert arms  # the rows exist


def test_treatment_equal_to_control():
    with pytest.raises(TrialDataError, match="treatment and control are the same arm 'SAU'"):
        compare_proportions(DATA, "employed_18m", treatment="SAU", control="SAU")


def test_label_not_in_data():
    with pytest.raises(
        TrialDataError, match=r"arm 'ips' is not an arm label in the data; the arms in the data"
    ):
        compare_proportions(DATA, "employed_18m", treatment="ips", control="SAU")


def test_arm_with_no_participants():
    frame = DATA.assign(arm=pd.Categorical(DATA.arm, categories=["IPS", "IPSE", "SAU", "TAU"]))
    with pytest.raises(TrialDataError, match="arm 'TAU' has no participants"):
        compare_proportions(frame, "employed_18m", treatment="TAU", control="SAU")


def test_all_outcomes_identical_is_reported_not_an_error():
    result = compare_proportions(DATA.assign(employed_18m=1), "employed_18m", treatment="IPS", control="SAU")
    rd = _row(result, "risk_difference", "IPS vs SAU")
    assert rd.estimate == 0 and rd.ci_low < 0 < rd.ci_high
    assert _row(result, "chi_square", "IPS vs SAU").p_value == 1.0
    assert _row(result, "fisher_exact", "IPS vs SAU").p_value == pytest.approx(1.0)


def test_missing_outcome_needs_a_policy_and_complete_case_reports_exclusions():
    frame = DATA.copy()
    frame.loc[frame.index[:30], "employed_18m"] = np.nan
    per_arm = frame[frame.employed_18m.isna()].arm.value_counts()
    with pytest.raises(
        TrialDataError,
        match=rf"missing outcome values \(IPS {per_arm['IPS']}, SAU {per_arm['SAU']}\)"
        r".*missing='complete-case'",
    ):
        compare_proportions(frame, "employed_18m", treatment="IPS", control="SAU")
    result = compare_proportions(
        frame, "employed_18m", treatment="IPS", control="SAU", missing="complete-case"
    )
    assert _row(result, "proportion", "IPS").excluded == per_arm["IPS"]
    assert _row(result, "proportion", "SAU").n == (DATA.arm == "SAU").sum() - per_arm["SAU"]
    assert "complete case" in result.notes[0]


def test_invalid_counts():
    with pytest.raises(EstimationError, match="events 12 of n 10"):
        compare_counts(12, 10, 3, 10)
    with pytest.raises(ValueError, match="method='exact'"):
        compare_counts(5, 10, 3, 10, method="exact")
