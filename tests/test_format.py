"""The presentation layer: numbers by estimand and unit, labels, tables (ipstrial.report.format, .tables).

Expected strings are written out by hand from the rules in the module docstring (e.g. -72000.4 DKK rounds to
-72,000 with a thousands separator), never produced by the code under test.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

import ipstrial
from ipstrial._checks import ParameterError
from ipstrial.report.format import (
    Labels,
    current_labels,
    format_estimate,
    format_interval,
    format_p,
    use_labels,
)
from ipstrial.report.tables import markdown_table, results_table
from ipstrial.results import Row, Table

INF = math.inf
NAN = math.nan


@pytest.mark.parametrize(
    ("value", "estimand", "unit", "expected"),
    [
        (-72000.4, "delta_cost", "DKK", "-72,000 DKK"),
        (-72000.4, "delta_cost", None, "-72,000"),
        (1234567.5, "inmb", "DKK", "1,234,568 DKK"),
        (294667.99, "mean", "DKK", "294,668 DKK"),  # a mean of a currency column is money
        (294667.99, "mean_difference", "DKK", "294,668 DKK"),
        (29.306, "evpi", "DKK", "29 DKK"),
        (0.5862, "proportion", None, "58.6%"),
        (0.5862, "mean", "proportion", "58.6%"),  # the mean of a 0/1 column
        (0.1573, "risk_difference", None, "15.7 pp"),
        (-0.0084, "risk_difference", None, "-0.8 pp"),
        (0.1573, "delta_effect", "proportion", "15.7 pp"),
        (0.995, "prob_cost_effective", None, "99.5%"),
        (0.4321, "cumulative_incidence", "days", "43.2%"),
        (1.3649, "risk_ratio", None, "1.36"),
        (1.6581, "hazard_ratio", "days", "1.66"),  # a ratio has no unit
        (0.8129, "rmst_ratio", None, "0.81"),
        (1.8811, "odds_ratio", None, "1.88"),
        (11.7503, "chi_square", None, "11.75"),
        (368.0, "median_time", "days", "368 days"),
        (329.774, "rmst", "days", "329.8 days"),
        (6.3851, "number_needed_to_treat", None, "6.39"),
        (0.0704, "interaction", None, "0.07"),
        (-0.0001, "mean", None, "0.000"),  # no "-0.000"
        (NAN, "mean", None, "—"),
        (None, "risk_ratio", None, "—"),
        (INF, "median_time", "days", "not reached"),
        (-INF, "icer", "DKK", "dominant"),
        (INF, "icer", "DKK", "dominated"),
    ],
)
def test_format_estimate_rules(value, estimand, unit, expected):
    assert format_estimate(value, estimand, unit) == expected


def test_format_estimate_digits_override():
    assert format_estimate(0.5862, "proportion", digits=2) == "58.62%"
    assert format_estimate(-72000.4, "delta_cost", "DKK", digits=1) == "-72,000.4 DKK"
    with pytest.raises(ParameterError, match="digits"):
        format_estimate(1.0, "mean", digits=-1)


def test_icer_named_by_quadrant_not_printed_negative():
    # IPS vs SAU in the synthetic trial: ΔC < 0, ΔE > 0, ICER -609,650 with Fieller interval wholly < 0
    assert format_estimate(-609650.5, "icer", "DKK", quadrant="dominant") == "dominant"
    assert format_interval(-1401601.4, -283308.2, "icer", "DKK", quadrant="dominant") == "dominant"
    # north-east estimate whose interval reaches into the dominant region (ΔE > 0, ΔC < 0 at the limit)
    assert format_interval(-12000.0, 50000.0, "icer", "DKK", quadrant="north-east") == "dominant to 50,000"
    assert format_estimate(25000.4, "icer", "DKK", quadrant="north-east") == "25,000 DKK"
    assert format_interval(-5.0, -1.0, "icer", quadrant="dominated") == "dominated"


def test_format_interval_rules():
    assert format_interval(0.522, 0.646, "proportion") == "52.2 to 64.6"
    assert format_interval(-0.0084, 0.281, "risk_difference") == "-0.8 to 28.1"
    assert format_interval(1.139, 1.635, "risk_ratio") == "1.14 to 1.64"
    assert format_interval(-145430.6, -45521.0, "delta_cost", "DKK") == "-145,431 to -45,521"
    assert format_interval(537.0, INF, "median_time", "days") == "537 to not reached"
    assert (
        format_interval(-112.929, -39.154, "rmst_difference") == "-112.9 to -39.2"
    )  # decimals of the larger
    assert format_interval(NAN, NAN, "mean") == "—"
    assert format_interval(NAN, 3.0, "mean") == "— to 3.00"


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, "<0.001"),
        (0.00049, "<0.001"),
        (0.001, "0.0010"),
        (0.00123, "0.0012"),
        (0.0049, "0.0049"),
        (0.00996, "0.010"),
        (0.01, "0.010"),
        (0.04567, "0.046"),
        (0.7909, "0.791"),
        (1.0, "1.000"),
        (NAN, "—"),
        (None, "—"),
    ],
)
def test_format_p_one_rule(p, expected):
    assert format_p(p) == expected
    assert ipstrial.results.format_p(p) == expected  # the old entry point follows the same rule


def test_format_p_refuses_impossible_values():
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        format_p(1.5)


def test_labels_mapping_and_context():
    labels = Labels(
        {
            "employed_18m": "In work or education within 18 months",
            "cost_total": ("Total cost over 18 months", "DKK"),
            "days_to_job": {"label": "Days to first job", "unit": "days"},
        }
    )
    assert labels.label("employed_18m") == "In work or education within 18 months"
    assert labels.unit("employed_18m") is None
    assert labels.unit("cost_total") == "DKK"
    assert labels.label("other") == "other"
    assert labels.label("cost_total, employed_18m") == (
        "Total cost over 18 months, In work or education within 18 months"
    )
    assert labels.unit("cost_total, employed_18m") == "DKK"
    before = current_labels()
    with use_labels(labels):
        assert current_labels() is labels
        with pytest.raises(RuntimeError):
            with use_labels({"x": "X"}):
                raise RuntimeError
        assert current_labels() is labels  # restored after an error
    assert current_labels() is before
    with pytest.raises(ParameterError, match="labels\\['a'\\]"):
        Labels({"a": 3})


# ---------------------------------------------------------------------------
# result displays on the synthetic trial
# ---------------------------------------------------------------------------


def _body(text: str) -> list[str]:
    """The table lines of a summary: after the dashed rule, before the numbered notes."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"[- ]+", line) and "--" in line)
    return [line for line in lines[start + 1 :] if not re.match(r"\[\d+\] ", line)]


def _header(text: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"[- ]+", line) and "--" in line)
    return lines[start - 1]


def test_binary_summary_percent_adjusted_p_and_single_arm(trial):
    plain = ipstrial.itt.compare_proportions(trial, "employed_18m")
    holm = ipstrial.itt.compare_proportions(trial, "employed_18m", adjust="holm")
    assert "p (Holm)" not in _header(plain.summary())
    assert "p (Holm)" in _header(holm.summary())
    assert "p (Holm)" in holm._repr_html_() and "p (Holm)" not in plain._repr_html_()
    text = holm.summary()
    assert text.splitlines()[0] == "Risk difference in employed_18m: IPS vs SAU, IPSE vs SAU"
    body = _body(text)
    # 140/239 in work in IPS (58.6%), no p-value on a single-arm proportion row
    ips = next(line for line in body if line.split()[:2] == ["IPS", "Proportion"])
    assert "58.6%" in ips
    assert not re.search(r"<0\.001|\b0\.\d{3}\b", ips)
    rd = holm.to_frame().query("estimand == 'risk_difference' and contrast == 'IPS vs SAU'").iloc[0]
    line = next(v for v in body if v.startswith("IPS vs SAU") and "Risk difference" in v)
    assert f"{100 * rd.estimate:.1f} pp" in line
    expected_holm = 2 * min(
        holm.to_frame().query("estimand == 'risk_difference'").p_value
    )  # Holm: the smaller p times k = 2
    assert f"{expected_holm:.4f}" in line or f"{expected_holm:.2g}" in line


def test_subgroup_summary_has_level_columns(trial):
    result = ipstrial.itt.subgroups(trial, "employed_18m", by=["sex"])
    text = result.summary()
    header = _header(text).split()
    assert "Subgroup" in header and "Level" in header
    assert "Variant" not in header  # the level says it
    body = _body(text)
    female = [line for line in body if " female " in f" {line} "]
    assert len(female) == 2  # one per contrast
    assert all(re.search(r"\bsex\s+female\b", line) for line in female)
    html = result._repr_html_()
    assert ">Level<" in html and ">female<" in html


def test_median_not_reached_and_currency_in_results(trial):
    km = ipstrial.survival.kaplan_meier(trial, "days_to_job")
    sau = next(line for line in _body(km.summary()) if line.startswith("SAU"))
    assert "not reached" in sau and "inf" not in sau
    means = ipstrial.itt.compare_means(trial, "cost_total", n_resamples=200, seed=1)
    with use_labels({"cost_total": ("Total cost over 18 months", "DKK")}):
        text = means.summary()
    assert text.splitlines()[0].startswith("Mean difference in Total cost over 18 months:")
    ips = next(line for line in _body(text) if line.startswith("IPS "))
    mean = means.to_frame().query("contrast == 'IPS' and estimand == 'mean'").estimate.iloc[0]
    assert f"{mean:,.0f} DKK" in ips
    # the same labels given to summary() directly, and the default restored afterwards
    assert means.summary(labels={"cost_total": ("Total cost", "DKK")}).startswith(
        "Mean difference in Total cost"
    )
    assert means.summary().startswith("Mean difference in cost_total")


def test_long_methods_become_numbered_notes(trial):
    result = ipstrial.survival.cox(trial, "days_to_job")
    text = result.summary()
    assert max(len(line) for line in _body(text)) < 110
    notes = [line for line in text.splitlines() if line.startswith("[1] ")]
    assert len(notes) == 1 and "Cox proportional hazards" in notes[0]


def test_results_table_and_markdown(trial):
    result = ipstrial.itt.subgroups(trial, "employed_18m", by=["sex"])
    labels = {"employed_18m": "In work or education within 18 months", "sex": "Sex"}
    table = results_table(result, labels)
    assert {"Outcome", "Contrast", "Subgroup", "Level", "Estimate", "95% CI", "p"} <= set(table.columns)
    assert set(table.Outcome) == {"In work or education within 18 months"}
    assert set(table.Subgroup) == {"Sex"}
    assert table.attrs["notes"][0].startswith("[1] ")
    # the ARD frame gives the same table as the result
    framed = results_table(result.to_frame(), labels)
    pd.testing.assert_frame_equal(framed, table)
    md = markdown_table(table)
    lines = md.splitlines()
    assert lines[0].startswith("| Outcome | Contrast | Subgroup | Level |")
    assert lines[1].startswith("| --- | --- | --- | --- |")
    assert len([line for line in lines if line.startswith("| In work")]) == len(table)
    with pytest.raises(ParameterError):
        results_table(pd.DataFrame({"a": [1]}))


def test_markdown_escapes_pipes():
    md = markdown_table(pd.DataFrame({"a|b": ["x|y"], "n": ["12"]}))
    assert md.splitlines() == ["| a\\|b | n |", "| --- | ---: |", "| x\\|y | 12 |"]


def test_publication_table_is_great_tables():
    gt = pytest.importorskip("great_tables")
    rows = [
        Row(
            "primary", "IPS", "proportion", 0.586, ci_low=0.522, ci_high=0.646, n=239, outcome="employed_18m"
        ),
        Row(
            "primary",
            "IPS vs SAU",
            "delta_cost",
            -72000.4,
            ci_low=-90000.0,
            ci_high=-50000.0,
            p_value=0.0004,
            outcome="cost_total",
        ),
    ]
    from ipstrial.report.tables import publication_table

    table = publication_table(
        Table(rows, name="Main results"), labels={"cost_total": ("Total cost over 18 months", "DKK")}
    )
    assert isinstance(table, gt.GT)
    html = table.as_raw_html()
    assert "Main results" in html
    assert "-72,000 DKK" in html and "58.6%" in html and "&lt;0.001" in html
    assert "Total cost over 18 months" in html


def test_a_unit_with_a_multiplier_is_bracketed():
    from ipstrial.report.format import format_estimate

    assert format_estimate(-2250.0, "delta_cost", "1,000 DKK") == "-2,250 (1,000 DKK)"
    assert format_estimate(-72000.4, "delta_cost", "DKK") == "-72,000 DKK"
