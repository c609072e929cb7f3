"""compare_proportions / compare_counts: published values, R references, multiplicity, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from ipstrial._memory import memory_budget_of
from ipstrial.errors import MemoryBudgetError, ParameterError, TrialDataError
from ipstrial.itt.binary import adjust_p_values, compare_counts, compare_proportions
from ipstrial.synthetic import INKLUSION


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
    # the Wald z test: 2 (1 - Φ(|d| / se)), from the closed form
    from statistics import NormalDist

    assert rd.p_value == pytest.approx(2 * NormalDist().cdf(-rd.estimate / rd.se), rel=1e-9)


def test_newcombe_table_ii_through_compare_counts():
    # Newcombe (Stat Med 1998;17:873) Table II, method 10: (a) 56/70 - 48/80 -> 0.0524 to 0.3339
    rd = compare_counts(56, 70, 48, 80).interval("risk_difference")
    assert (rd.low, rd.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_agrees_with_r_on_the_inklusion_like_table():
    reference = json.loads((REFERENCE / "two_by_two.json").read_text())
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


def test_compare_proportions_equals_compare_counts(frame):
    from_data = compare_proportions(frame, "employed_18m", "arm", "IPS", "SAU").to_frame()
    ips, sau = frame[frame.arm == "IPS"].employed_18m, frame[frame.arm == "SAU"].employed_18m
    from_counts = compare_counts(
        int(ips.sum()),
        len(ips),
        int(sau.sum()),
        len(sau),
        treatment="IPS",
        control="SAU",
        outcome="employed_18m",
    ).to_frame()
    pd.testing.assert_frame_equal(from_data, from_counts)


def test_synthetic_trial_headline_covers_the_truth(trial):
    result = compare_proportions(trial, "employed_18m")  # IPS and IPSE vs SAU, from the Trial
    truth = INKLUSION.truth.set_index(["outcome", "estimand", "contrast"]).value
    for contrast in ("IPS vs SAU", "IPSE vs SAU"):
        rd = _row(result, "risk_difference", contrast)
        assert rd.ci_low > 0
        assert rd.ci_low < truth["employed_18m", "risk_difference", contrast] < rd.ci_high
    assert list(result.to_frame().query("estimand == 'proportion'").contrast) == ["IPS", "IPSE", "SAU"]


def test_holm_and_bonferroni_adjustment(trial):
    p = np.array([0.01, 0.04, 0.03])
    np.testing.assert_allclose(adjust_p_values(p, "bonferroni"), [0.03, 0.12, 0.09])
    np.testing.assert_allclose(adjust_p_values(p, "holm"), [0.03, 0.06, 0.06])  # 3*.01, max(.06, 2*.03), .04
    result = compare_proportions(trial, "employed_18m", adjust="holm")
    raw = [_row(result, "risk_difference", c).p_value for c in ("IPS vs SAU", "IPSE vs SAU")]
    adjusted = [_row(result, "risk_difference", c).p_adjusted for c in ("IPS vs SAU", "IPSE vs SAU")]
    assert adjusted == pytest.approx(adjust_p_values(raw, "holm").tolist(), rel=1e-12)
    assert adjusted[0] == pytest.approx(2 * min(raw), rel=1e-12)
    with pytest.raises(ParameterError, match="adjust must be one of None, 'holm', 'bonferroni'; got 'sidak'"):
        compare_proportions(trial, "employed_18m", adjust="sidak")


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_adjusted_p_values_are_shown_in_summary_and_html(trial, method):
    result = compare_proportions(trial, "employed_18m", adjust=method)
    shown = ", ".join(f"{c} {result.p_adjusted[c]:.4f}" for c in ("IPS vs SAU", "IPSE vs SAU"))
    note = f"{method.capitalize()}-adjusted p-values (risk difference): {shown}"
    assert result.notes == (note,)
    assert note in result.summary() and note in result._repr_html_()
    if method == "holm":  # the committed trial: 2 min(p) and the larger p
        expected = "Holm-adjusted p-values (risk difference): IPS vs SAU 0.0012, IPSE vs SAU 0.0017"
        assert expected in result.summary()
    assert "adjusted p-values" not in compare_proportions(trial, "employed_18m").summary()
    counted = compare_counts([30, 28], [50, 50], 20, 50, treatment=["A", "B"], control="C", adjust=method)
    assert f"{method.capitalize()}-adjusted p-values (risk difference): A vs C" in counted.summary()


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


def test_compare_counts_with_numbered_arms():
    result = compare_counts([30, 28], [50, 50], 20, 50, treatment=[2, 1], control=0)
    assert list(result.contrasts) == ["2 vs 0", "1 vs 0"]
    assert list(result.to_frame().query("estimand == 'proportion'").contrast) == ["2", "1", "0"]
    assert "2 vs 0" in result.summary() and "1 vs 0" in result._repr_html_()


# ------------------------------------------------------------------------------- bad input
def test_outcome_not_zero_one(data):
    data.loc[[0, 5], "employed_18m"] = 2  # P0001 (IPSE) is not compared; P0006 is
    with pytest.raises(TrialDataError, match=r"employed_18m.*values other than 0/1.*P0006"):
        compare_proportions(data, "employed_18m", "arm", ["IPS", "IPSE"], "SAU", id="participant_id")


def test_treatment_equal_to_control(frame):
    with pytest.raises(ParameterError, match="treatment and control are the same arm 'SAU'"):
        compare_proportions(frame, "employed_18m", "arm", "SAU", "SAU")


def test_label_not_in_data(frame):
    with pytest.raises(TrialDataError, match=r"arm 'ips' is not an arm label in the data.*probably 'IPS'"):
        compare_proportions(frame, "employed_18m", "arm", "ips", "SAU")


def test_arm_with_no_participants(frame):
    data = frame.assign(arm=pd.Categorical(frame.arm, categories=["IPS", "IPSE", "SAU", "TAU"]))
    with pytest.raises(TrialDataError, match="arm 'TAU' is not an arm label in the data"):
        compare_proportions(data, "employed_18m", "arm", "TAU", "SAU")


def test_all_outcomes_identical_is_reported_not_an_error(frame):
    result = compare_proportions(frame.assign(employed_18m=1), "employed_18m", "arm", "IPS", "SAU")
    rd = _row(result, "risk_difference", "IPS vs SAU")
    assert rd.estimate == 0 and rd.ci_low < 0 < rd.ci_high
    assert _row(result, "chi_square", "IPS vs SAU").p_value == 1.0
    assert _row(result, "fisher_exact", "IPS vs SAU").p_value == pytest.approx(1.0)


def test_wald_p_is_one_when_everyone_has_the_same_outcome():
    # no variation, no difference: se 0, and the Wald test has nothing against no difference (p 1, as the
    # chi-square test); 0 % against 100 % has se 0 too but a difference, and the Wald test is undefined
    for counts in ((0, 10, 0, 12), (10, 10, 12, 12)):
        rd = _row(compare_counts(*counts, method="wald"), "risk_difference", "treatment vs control")
        assert rd.se == 0 and rd.estimate == 0 and rd.p_value == 1.0
    adjusted = compare_counts([0, 3], [10, 10], 0, 12, treatment=["A", "B"], method="wald", adjust="holm")
    assert adjusted.p_adjusted["A vs control"] == 1.0
    rd = _row(compare_counts(10, 10, 0, 12, method="wald"), "risk_difference", "treatment vs control")
    assert rd.se == 0 and rd.estimate == 1 and np.isnan(rd.p_value)


def test_missing_outcome_needs_a_policy_and_complete_case_reports_exclusions(data):
    data.loc[data.index[:30], "employed_18m"] = np.nan
    per_arm = data[data.employed_18m.isna()].arm.value_counts()
    with pytest.raises(
        TrialDataError,
        match=rf"missing outcome values \(IPS {per_arm['IPS']}, SAU {per_arm['SAU']}\)"
        r".*missing='complete-case'",
    ):
        compare_proportions(data, "employed_18m", "arm", "IPS", "SAU")
    result = compare_proportions(data, "employed_18m", "arm", "IPS", "SAU", missing="complete-case")
    assert _row(result, "proportion", "IPS").excluded == per_arm["IPS"]
    assert _row(result, "proportion", "SAU").n == (data.arm == "SAU").sum() - per_arm["SAU"]
    assert result.inputs.excluded == {"IPS": per_arm["IPS"], "SAU": per_arm["SAU"]}
    total = per_arm["IPS"] + per_arm["SAU"]
    assert f"Excluded (complete-case): {total} participants with missing employed_18m" in result.summary()


def test_invalid_counts():
    with pytest.raises(ParameterError, match="events 12 of n 10"):
        compare_counts(12, 10, 3, 10)
    with pytest.raises(ParameterError, match="events of arm 'treatment' must be a whole number"):
        compare_counts(2.5, 10, 3, 10)
    with pytest.raises(ParameterError, match="method must be one of"):
        compare_counts(5, 10, 3, 10, method="exact")
    with pytest.raises(ParameterError, match="must have the same length"):
        compare_counts([5, 6], [10, 10], 3, 10, treatment=["A", "B", "C"])
    with pytest.raises(ParameterError, match="alpha must be a number between 0 and 1"):
        compare_counts(5, 10, 3, 10, alpha="0.05")


@pytest.mark.parametrize("label", [None, float("nan"), True, "", "  ", ["IPS"], {"IPS": 1}])
def test_compare_counts_labels_must_be_text_or_numbers(label):
    with pytest.raises(ParameterError, match=r"treatment must be an arm label \(text"):
        compare_counts(85, 156, 43, 156, treatment=[label] if isinstance(label, list) else label)
    with pytest.raises(ParameterError, match=r"control must be an arm label \(text"):
        compare_counts(85, 156, 43, 156, treatment="IPS", control=label)
    with pytest.raises(ParameterError, match="treatment is an empty list"):
        compare_counts(85, 156, 43, 156, treatment=[])


def test_compare_counts_numbers_are_shown_as_labels():
    assert list(compare_counts(85, 156, 43, 156, treatment=np.int64(1), control=0.0).contrasts) == ["1 vs 0"]


@pytest.mark.parametrize("outcome", [5, None, "", " ", ["employed"]])
def test_compare_counts_outcome_must_be_a_non_empty_string(outcome):
    with pytest.raises(ParameterError, match="outcome must be the outcome's name"):
        compare_counts(85, 156, 43, 156, outcome=outcome)


def test_compare_counts_too_large_for_the_exact_test_is_refused_before_allocating():
    refused = r"Fisher's exact test.*possible tables\) would need about .* over the budget"
    with pytest.raises(MemoryBudgetError, match=refused) as err:
        compare_counts(10**18, 10**18, 1, 10**18)
    assert "chi_square" in str(err.value) and "set_memory_budget" in str(err.value)
    # under a smaller budget, a trial-sized table is refused the same way; within it, computed
    with memory_budget_of("1MiB"):
        with pytest.raises(MemoryBudgetError, match="possible tables"):
            compare_counts(10**5, 2 * 10**5, 10**5, 2 * 10**5)
        assert 0 <= compare_counts(85, 156, 43, 156).tests["treatment vs control"]["fisher_p"] < 1e-5
