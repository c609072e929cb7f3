"""ipstrial.budget: the Copenhagen 2017 business case, the SØM 2021 IPS example, target monitoring, the CLI.

References are the source documents' own tables (Copenhagen's 2017 IPS business case and Socialstyrelsen's
2021 SØM example calculation, transcribed in analysis/*.toml; Copenhagen's budget note BI14 on IPS in
Sydhavnen, 2021: 16 of 73 against a 25 % target), closed forms written out here, and scipy.stats for the
binomial and beta distributions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from scipy import stats
from scipy.special import betaln, comb

from ipstrial.budget import (
    BudgetInputError,
    BusinessCase,
    caseload,
    cohort_projection,
    consultants_needed,
    load,
    monitor,
    projection_from_toml,
)
from ipstrial.cli import main

matplotlib.use("Agg")

ROOT = Path(__file__).parents[1]
CASE_2017 = ROOT / "analysis/business_case_2017.toml"
SOM_2021 = ROOT / "analysis/som_ips_2021.toml"
YEARS = [2017, 2018, 2019, 2020]

# Copenhagen 2017, table 1.1 (1,000 DKK, 2017 prices), transcribed from the municipality's document
OUTREACH = "Virksomhedsopsøgende arbejde"
TEAM = "Idriftsættelse af IPS-team"
BENEFITS = "Reducerede ydelsesudgift i forbindelse med kortere ledighed"
DOCUMENT_LINES = {
    BENEFITS: [-5000, -5500, -1000, -1000],
    OUTREACH: [1000, 1000, 0, 0],
    TEAM: [1750, 2500, 0, 0],
}
DOCUMENT_NET = [-2250, -2000, -1000, -1000]  # "Samlet økonomisk påvirkning"
DOCUMENT_PERMANENT = [-5000, -5500, -1000, -1000]  # "Samlet varig ændring"
DOCUMENT_IMPLEMENTATION = [2750, 3500, 0, 0]  # "Samlede implementeringsomkostninger"


def _case(values: dict[str, dict], **kwargs) -> BusinessCase:
    lines = [
        {"name": name, "kind": "investment", "steering_area": "Service", "values": v}
        for name, v in values.items()
    ]
    return BusinessCase.from_dict({"title": "hand-made", "lines": lines, **kwargs})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the 2017 business case
def test_copenhagen_2017_table_is_reproduced_exactly():
    case = BusinessCase.from_toml(CASE_2017)
    assert case.years == tuple(YEARS)
    assert case.unit == "1,000 DKK" and case.price_year == 2017 and case.municipality == "Københavns Kommune"
    table = case.table()
    assert list(table.columns) == YEARS
    for name, values in DOCUMENT_LINES.items():
        assert table.loc[name].tolist() == values
    assert table.loc["net"].tolist() == DOCUMENT_NET
    assert case.net.tolist() == DOCUMENT_NET
    assert case.net.index.tolist() == YEARS
    assert case.cumulative.tolist() == [-2250, -4250, -5250, -6250]
    with_subtotals = case.table(subtotals=True)
    assert with_subtotals.loc["total: Varige ændringer"].tolist() == DOCUMENT_PERMANENT
    assert with_subtotals.loc["total: Implementeringsomkostninger"].tolist() == DOCUMENT_IMPLEMENTATION
    # Tabel 2 and 3 of the document: totals over the years 2,000 and 4,250
    assert table.loc[OUTREACH].sum() == 2000 and table.loc[TEAM].sum() == 4250
    steering = case.lines_frame().steering_area.to_dict()
    assert steering == {BENEFITS: "Overførsler", OUTREACH: "Service", TEAM: "Overførsler (EI)"}


def test_copenhagen_2017_payback_times_match_the_document():
    case = BusinessCase.from_toml(CASE_2017)
    assert case.payback_years == 1  # "Tilbagebetalingstid baseret på totaløkonomi: 1"
    assert case.payback("Service") is None  # "... baseret på serviceeffektivisering: -"


def test_copenhagen_2017_npv_and_rows():
    case = BusinessCase.from_toml(CASE_2017)
    expected = -2250 - 2000 / 1.035 - 1000 / 1.035**2 - 1000 / 1.035**3
    assert case.npv() == pytest.approx(expected, rel=1e-12)
    assert case.npv(0.0) == -6250
    frame = case.to_frame()
    assert set(frame.estimand) == {"delta_cost"}
    yearly = frame[frame.figure == "net"]
    assert yearly.estimate.tolist() == DOCUMENT_NET
    assert yearly.period.tolist() == [str(y) for y in YEARS]
    assert yearly[f"line: {TEAM}"].tolist() == DOCUMENT_LINES[TEAM]
    assert set(frame.contrast) == {"IPS vs normal indsats"}
    npv_row = frame[frame.figure == "npv"].iloc[0]
    assert npv_row.estimate == pytest.approx(expected, rel=1e-12)
    assert npv_row.period == "2017-2020" and npv_row.discount_rate == 0.035
    assert frame.payback_years.unique().tolist() == [1]


def test_from_dict_and_direct_construction_agree_with_the_file():
    from ipstrial.budget import BudgetLine

    lines = [
        BudgetLine(name, "x", "Service", dict(zip(YEARS, values, strict=True)))
        for name, values in DOCUMENT_LINES.items()
    ]
    case = BusinessCase(name="direct", lines=lines)
    assert case.net.tolist() == DOCUMENT_NET
    assert case.title == "direct"


# ------------------------------------------------------------------------------ closed forms, hand-made case
def test_npv_and_payback_closed_forms_on_a_hand_made_case():
    case = _case({"cost": {1: 100, 2: 0, 3: 0}, "saving": {1: 0, 2: -60, 3: -60}})
    assert case.net.tolist() == [100, -60, -60]
    assert case.cumulative.tolist() == [100, 40, -20]
    assert case.payback_years == 3
    assert case.npv(0.10) == pytest.approx(100 - 60 / 1.1 - 60 / 1.21, rel=1e-12)
    assert case.npv(0.10) == pytest.approx(-4.132231404958677, rel=1e-12)
    assert case.npv(0.0) == pytest.approx(-20.0)
    # discounted to the year before the first: every year one period further
    assert case.npv(0.10, base_year=0) == pytest.approx(case.npv(0.10) / 1.1, rel=1e-12)
    never = _case({"cost": {1: 100, 2: 10}, "saving": {1: 0, 2: -50}})
    assert never.cumulative.tolist() == [100, 60] and never.payback_years is None
    first = _case({"only": {5: -1, 6: 3}})
    assert first.payback_years == 1 and first.cumulative.tolist() == [-1, 2]


def test_default_rate_is_the_danish_social_rate():
    case = _case({"a": {1: 0, 2: 103.5}})
    assert case.npv() == pytest.approx(100.0, rel=1e-12)


# ------------------------------------------------------------------------------ bad business cases
def test_non_contiguous_years_are_refused_naming_the_lines_and_years():
    with pytest.raises(ValueError, match=r"contiguous.*2019.*'a'.*'b'") as info:
        _case({"a": {2017: 1, 2018: 1, 2020: 1}, "b": {2017: 1, 2018: 1, 2020: 1}})
    assert isinstance(info.value, BudgetInputError)
    with pytest.raises(ValueError, match=r"declared years \[2017, 2019\] lack 2018"):
        _case({"a": {2017: 1, 2019: 1}}, years=[2017, 2019])


def test_a_line_without_a_year_is_refused_naming_it(tmp_path):
    text = CASE_2017.read_text(encoding="utf-8").replace(
        "values = { 2017 = 1000, 2018 = 1000, 2019 = 0, 2020 = 0 }", "values = { 2017 = 1000, 2018 = 1000 }"
    )
    assert text != CASE_2017.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line '{OUTREACH}' has no value for 2019, 2020"):
        BusinessCase.from_toml(_write(tmp_path, text))
    with pytest.raises(ValueError, match=r"line 'b' gives 2021, outside the years 2019-2020"):
        _case({"a": {2019: 1, 2020: 1}, "b": {2019: 1, 2020: 1, 2021: 1}}, years=[2019, 2020])


@pytest.mark.parametrize("value", ['"-5.000"', "true", '"n/a"'])
def test_a_non_numeric_value_in_the_toml_is_refused(tmp_path, value):
    text = CASE_2017.read_text(encoding="utf-8").replace("2017 = -5000,", f"2017 = {value},")
    with pytest.raises(ValueError, match=rf"line '{BENEFITS}', year 2017: .* is not a number"):
        BusinessCase.from_toml(_write(tmp_path, text))


def test_other_bad_business_case_input(tmp_path):
    with pytest.raises(ValueError, match="unknown key"):
        BusinessCase.from_dict({"title": "t", "lines": [], "yeras": [1]})
    with pytest.raises(ValueError, match="at least one line"):
        BusinessCase.from_dict({"title": "t", "lines": []})
    doubled = [{"name": "a", "kind": "k", "steering_area": "s", "values": {1: v}} for v in (1, 2)]
    with pytest.raises(ValueError, match="unique"):
        BusinessCase.from_dict({"title": "t", "lines": doubled})
    with pytest.raises(ValueError, match="not a finite number"):
        _case({"a": {1: float("nan")}})
    with pytest.raises(ValueError, match="not valid TOML"):
        BusinessCase.from_toml(_write(tmp_path, "title = "))


@pytest.mark.parametrize("rate", [1.0, 1.5, -0.01, float("nan")])
def test_a_discount_rate_outside_0_1_is_refused(rate):
    case = BusinessCase.from_toml(CASE_2017)
    with pytest.raises(ValueError, match=r"\[0, 1\)|finite"):
        case.npv(rate)
    with pytest.raises(ValueError, match=r"\[0, 1\)|finite"):
        _case({"a": {1: 1}}, discount_rate=rate)
    with pytest.raises(ValueError, match=r"\[0, 1\)|finite"):
        cohort_projection([10], 1, 100.0, 0.1, {"x": {"municipality": 1.0}}, discount_rate=rate)


def test_business_case_plots():
    import matplotlib.pyplot as plt

    case = BusinessCase.from_toml(CASE_2017)
    ax = case.plot()
    assert len(ax.patches) == 3 * 4  # one bar per line and year
    assert ax.lines[0].get_ydata().tolist() == DOCUMENT_NET
    ax = case.plot(kind="cumulative")
    cumulative = [line for line in ax.lines if line.get_label() == "cumulative net"][0]
    assert cumulative.get_ydata().tolist() == [-2250, -4250, -5250, -6250]
    payback = [line for line in ax.lines if line.get_label() == "payback"][0]
    assert payback.get_xdata()[0] == 2017
    with pytest.raises(ValueError, match="kind"):
        case.plot(kind="pie")
    plt.close("all")


# ------------------------------------------------------------------------------ SØM 2021 IPS example
# The value of one person-year in employment or education, rebuilt from the assumptions A5-A9 stated in
# analysis/som_ips_2021.toml (kontanthjælp 11,698 DKK/month, 0.3 of a year, 20 % state refund, wage
# 20,000 DKK/month, AM-bidrag 8 %, municipal tax 23.5 %, state bottom-bracket tax 12.11 %).
_F, _BENEFIT, _WAGE = 0.3, 0.3 * 12 * 11698, 0.3 * 12 * 20000
_TAXABLE = _WAGE * 0.92 - _BENEFIT
VALUE_MUNICIPALITY = 0.8 * _BENEFIT + 0.235 * _TAXABLE
VALUE_STATE = 0.2 * _BENEFIT + 0.08 * _WAGE + 0.1211 * _TAXABLE


def test_som_2021_inputs_are_the_documents():
    projection = projection_from_toml(SOM_2021)
    params = projection.parameters
    assert params["intake"] == [50, 50, 50, 0]  # 4 years of operation, 50 starts in each of the first 3
    assert set(params["duration"]) == {1, 2}  # 1-2 years in the programme
    assert params["cost_per_participant"] == 5300  # about 5,300 DKK per participant
    assert params["effect"] == 0.134  # +13.4 percentage points
    assert params["horizon"] == 10  # 10 years from the exit year
    assert projection.participants == 150
    value = params["value_per_person_year"]
    assert value["municipality"] == pytest.approx(VALUE_MUNICIPALITY, rel=1e-12)
    assert value["state"] == pytest.approx(VALUE_STATE, rel=1e-12)
    assert value["region"] == 0


def test_som_2021_stated_figures_come_out():
    projection = projection_from_toml(SOM_2021)
    table = projection.table()
    # net cost about 5,300 DKK per participant
    assert projection.cost_total / projection.participants == pytest.approx(5300, rel=1e-12)
    frame = projection.to_frame()
    cost_row = frame[frame.outcome.str.startswith("programme cost per participant")].iloc[0]
    assert round(cost_row.estimate, -2) == 5300
    # +13.4 pp: in year 1 only the 25 one-year participants of cohort 1 have left
    assert table.loc[1, "exits"] == 25
    assert table.loc[1, "extra_in_work_or_education"] / table.loc[1, "exits"] == pytest.approx(0.134)
    # 4 years of operation; consequences for 10 years from the last exit (year 4): years 1-13
    assert table.index.tolist() == list(range(1, 14))
    assert (table.in_programme > 0).tolist() == [True] * 4 + [False] * 9
    assert table.starts.tolist()[:4] == [50, 50, 50, 0]
    assert table.exits.sum() == 150


def test_som_2021_closed_form_totals():
    projection = projection_from_toml(SOM_2021)
    table = projection.table()
    person_years = 150 * 0.134 * (1 - 0.9**10) / (1 - 0.9)
    assert projection.extra_person_years == pytest.approx(person_years, rel=1e-12)
    assert table.cost.sum() == pytest.approx(150 * 5300, rel=1e-12)
    assert table.cost_municipality.sum() == pytest.approx(150 * 5300, rel=1e-12)
    assert table.gain_municipality.sum() == pytest.approx(person_years * VALUE_MUNICIPALITY, rel=1e-12)
    assert table.gain_state.sum() == pytest.approx(person_years * VALUE_STATE, rel=1e-12)
    # year 1: 25 leave after one year (cost 5,300 each), 25 stay two (2,650 a year)
    assert table.loc[1, "cost"] == pytest.approx(25 * 5300 + 25 * 2650)
    discounted = (table.net / 1.035 ** (table.index - 1)).sum()
    assert projection.npv == pytest.approx(discounted, rel=1e-12)


def test_projection_closed_form_single_cohort():
    result = cohort_projection(
        [10],
        1,
        1000.0,
        0.5,
        {"benefit": {"municipality": 100.0}},
        retention=0.5,
        horizon=3,
        discount_rate=0.1,
    )
    table = result.table()
    assert table.index.tolist() == [1, 2, 3]
    assert table.extra_in_work_or_education.tolist() == [5.0, 2.5, 1.25]
    assert table.net.tolist() == [500 - 10000, 250, 125]
    assert result.npv == pytest.approx(-9500 + 250 / 1.1 + 125 / 1.21, rel=1e-12)
    assert result.break_even_year is None  # never within the projection
    assert result.npv_by_payer["region"] == 0 and result.npv_by_payer["state"] == 0


def test_projection_break_even_year_by_hand():
    # cost 10 x 1,000 in year 1; gains 10 x 0.5 x v x 0.8^k from year 1; v = 1,000
    result = cohort_projection(
        [10], 1, 1000.0, 0.5, {"v": {"state": 1000.0}}, retention=0.8, horizon=5, discount_rate=0.0
    )
    # cumulative: -5000, -1000, +2200, ... -> year 3
    assert result.table().cumulative_discounted.tolist()[:3] == pytest.approx([-5000, -1000, 2200])
    assert result.break_even_year == 3
    shifted = cohort_projection(
        [10],
        1,
        1000.0,
        0.5,
        {"v": {"state": 1000.0}},
        retention=0.8,
        horizon=5,
        discount_rate=0.0,
        start_year=2022,
    )
    assert shifted.break_even_year == 2024


def test_projection_duration_distribution_and_cost_split():
    result = cohort_projection(
        [10, 0],
        {1: 0.5, 2: 0.5},
        1200.0,
        0.2,
        {"v": {"municipality": 10.0, "state": 5.0}},
        horizon=2,
        discount_rate=0.0,
        cost_payers={"municipality": 0.75, "region": 0.25},
    )
    table = result.table()
    assert table.cost.tolist()[:2] == [5 * 1200 + 5 * 600, 5 * 600]
    assert table.cost_region.tolist()[:2] == [0.25 * 9000, 0.25 * 3000]
    # exits 5 in year 1 and 5 in year 2; 2-year horizon with no fading
    assert table.extra_in_work_or_education.tolist() == pytest.approx([1.0, 2.0, 1.0])
    assert table.gain_state.tolist() == pytest.approx([5.0, 10.0, 5.0])


def test_projection_bad_input():
    values = {"v": {"municipality": 1.0}}
    with pytest.raises(ValueError, match="append zeros to intake"):
        cohort_projection([50], {1: 0.5, 2: 0.5}, 100.0, 0.1, values)
    with pytest.raises(ValueError, match="sum to 1"):
        cohort_projection([50, 0], {1: 0.5, 2: 0.4}, 100.0, 0.1, values)
    with pytest.raises(ValueError, match=r"effect=13.4"):
        cohort_projection([50], 1, 100.0, 13.4, values)
    with pytest.raises(ValueError, match="unknown payer 'county'"):
        cohort_projection([50], 1, 100.0, 0.1, {"v": {"county": 1.0}})
    with pytest.raises(ValueError, match="retention"):
        cohort_projection([50], 1, 100.0, 0.1, values, retention=1.2)
    with pytest.raises(ValueError, match="intake, year 2"):
        cohort_projection([50, "many"], 1, 100.0, 0.1, values)
    with pytest.raises(ValueError, match="no starts"):
        cohort_projection([0, 0], 1, 100.0, 0.1, values)


def _som_with(tmp_path: Path, key: str, value: str) -> Path:
    """The SØM 2021 projection file with one key's line replaced."""
    lines = SOM_2021.read_text(encoding="utf-8").splitlines()
    changed = [f"{key} = {value}" if line.split("=")[0].strip() == key else line for line in lines]
    assert changed != lines
    path = tmp_path / "projection.toml"
    path.write_text("\n".join(changed) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "horizon",
            "100000000",
            r"horizon=100000000 must be between 1 and 200 \(more than 200 years is not a",
        ),
        ("horizon", "201", r"horizon=201 must be between 1 and 200"),
        ("duration", "100000000", r"duration=100000000 must be between 1 and 200 \(years in the programme\)"),
        ("duration", "{ 1 = 0.5, 100000000 = 0.5 }", r"duration: '100000000' years in the programme; a stay"),
        (
            "intake",
            "[" + ", ".join(["1"] * 201) + "]",
            r"intake lists 201 years of operation; give at most 200",
        ),
        ("start_year", "10000000000000000000000", r"start_year=10000000000000000000000 must be between"),
        ("horizon", "inf", r"horizon=inf must be a whole number"),
    ],
)
def test_projection_sizes_are_bounded_before_any_array(tmp_path, capsys, key, value, message):
    path = _som_with(tmp_path, key, value)
    with pytest.raises(BudgetInputError, match=message):
        projection_from_toml(path)
    assert main(["budget", str(path)]) == 2  # one line on stderr, no traceback, no ArrayMemoryError
    err = capsys.readouterr().err
    assert "Traceback" not in err and "MemoryError" not in err


def test_projection_at_the_bounds_runs():
    values = {"v": {"municipality": 1.0}}
    result = cohort_projection([1] + [0] * 199, 200, 100.0, 0.1, values, horizon=200)
    assert len(result.table()) == 200 + 200 - 1
    one = cohort_projection([10], 1, 100.0, 0.1, values, horizon=1)
    assert "over 1 year from exit" in one.to_frame().method.str.cat()


def test_business_case_years_spanning_centuries_are_refused_without_listing_them():
    with pytest.raises(
        BudgetInputError, match=r"run from 2017 to 100000000, 99,997,984 years; a business case"
    ) as info:
        _case({"a": {2017: 1.0, 100000000: 2.0}})
    assert len(str(info.value)) < 300
    with pytest.raises(BudgetInputError, match=r"the years of years run from 2017 to 3000"):
        _case({"a": {2017: 1.0}}, years=[2017, 3000])
    # the gaps of a short span are listed, the first ten of them
    with pytest.raises(BudgetInputError, match=r"no line gives 2018, 2019, .*, 2027 and 2 more"):
        _case({"a": {2017: 1.0, 2030: 2.0}})


def test_counts_of_one_read_in_the_singular():
    assert monitor(16, 73, 0.25, planned_n=1).to_frame().contrast.iloc[-1].endswith(": next 1 participant")
    case = _case({"a": {2017: -1.0, 2018: 0.0}})
    assert "payback time (all lines): 1 year " in case.report_text()
    with pytest.raises(BudgetInputError, match="can stay 2 years, beyond the 1 year of operation"):
        cohort_projection([50], 2, 100.0, 0.1, {"v": {"municipality": 1.0}})


def test_caseload_of_overflowing_numbers_is_refused():
    with pytest.raises(BudgetInputError, match="not a finite number of consultants"):
        consultants_needed(1e308, 1e-300)
    with pytest.raises(BudgetInputError, match="not a finite caseload"):
        caseload(1e308, 1e10)


def test_projection_plots():
    import matplotlib.pyplot as plt

    projection = projection_from_toml(SOM_2021)
    ax = projection.plot()
    assert ax.lines[0].get_ydata().tolist() == projection.table().cumulative_discounted.tolist()
    ax = projection.plot(kind="payers")
    assert len(ax.patches) == 3 * 13
    plt.close("all")


# ------------------------------------------------------------------------------ monitor: Sydhavnen 16 of 73
def test_monitor_sydhavnen_intervals():
    result = monitor(16, 73, 0.25)
    assert round(100 * result.estimate) == 22  # the note: "16 af 73 ... svarende til 22 pct."
    x, n, z = 16, 73, stats.norm.ppf(0.975)
    centre, half = 2 * x + z**2, z * math.sqrt(z**2 + 4 * x * (n - x) / n)
    assert result.wilson_low == pytest.approx((centre - half) / (2 * (n + z**2)), rel=1e-12)
    assert result.wilson_high == pytest.approx((centre + half) / (2 * (n + z**2)), rel=1e-12)
    assert result.exact_low == pytest.approx(stats.beta.ppf(0.025, x, n - x + 1), rel=1e-10)
    assert result.exact_high == pytest.approx(stats.beta.ppf(0.975, x + 1, n - x), rel=1e-10)
    frame = result.to_frame()
    wilson_row, exact_row = frame.iloc[0], frame.iloc[1]
    assert "Wilson" in wilson_row.method and "Clopper-Pearson" in exact_row.method
    assert (exact_row.ci_low, exact_row.ci_high) == (result.exact_low, result.exact_high)
    assert set(frame.estimand) == {"proportion"}


def test_monitor_sydhavnen_tests_and_posterior():
    result = monitor(16, 73, 0.25)
    less = stats.binomtest(16, 73, 0.25, alternative="less").pvalue
    greater = stats.binomtest(16, 73, 0.25, alternative="greater").pvalue
    assert result.p_below_exact == pytest.approx(less, rel=1e-10)
    assert result.p_above_exact == pytest.approx(greater, rel=1e-10)
    frame = result.to_frame()
    assert frame.iloc[1].p_value == pytest.approx(less, rel=1e-10)  # the reported p is for rate < target
    assert frame.iloc[1].p_value_greater == pytest.approx(greater, rel=1e-10)
    z = (16 / 73 - 0.25) / math.sqrt(0.25 * 0.75 / 73)
    assert frame.iloc[0].p_value == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    assert result.prob_target_reached == pytest.approx(stats.beta.sf(0.25, 17, 58), rel=1e-12)
    jeffreys = monitor(16, 73, 0.25, prior=(0.5, 0.5))
    assert jeffreys.prob_target_reached == pytest.approx(stats.beta.sf(0.25, 16.5, 57.5), rel=1e-12)
    posterior_row = frame.iloc[2]
    assert posterior_row.estimate == pytest.approx(17 / 75)
    assert posterior_row.ci_low == pytest.approx(stats.beta.ppf(0.025, 17, 58), rel=1e-10)
    assert posterior_row.prob_target_reached == pytest.approx(stats.beta.sf(0.25, 17, 58), rel=1e-12)


def _brute_needed(x: int, n: int, m: int, target: float) -> int | None:
    return next((k for k in range(m + 1) if (x + k) / (n + m) >= target), None)


def test_monitor_how_many_more_by_brute_force():
    result = monitor(16, 73, 0.25, planned_n=caseload(3, 25))
    assert result.planned_n == 75
    assert result.successes_needed == _brute_needed(16, 73, 75, 0.25) == 21
    assert result.all_successes_needed == next(m for m in range(1000) if (16 + m) / (73 + m) >= 0.25) == 3
    for target in (0.05, 0.2, 0.25, 0.3, 0.37, 0.6, 0.9):
        for m in (1, 2, 5, 10, 27, 75):
            got = monitor(16, 73, target, planned_n=m)
            assert got.successes_needed == _brute_needed(16, 73, m, target), (target, m)
            expected_all = next(k for k in range(10_000) if (16 + k) / (73 + k) >= target)
            assert got.all_successes_needed == expected_all, target


def test_monitor_predictive_probability_closed_form():
    result = monitor(16, 73, 0.25, planned_n=75)
    a, b, m, k = 17, 58, 75, 21
    pmf = [
        math.exp(math.log(comb(m, j, exact=True)) + betaln(j + a, m - j + b) - betaln(a, b))
        for j in range(m + 1)
    ]
    assert sum(pmf) == pytest.approx(1.0, rel=1e-12)
    assert result.predictive_probability == pytest.approx(sum(pmf[k:]), rel=1e-9)
    out_of_reach = monitor(16, 73, 0.9, planned_n=5)
    assert out_of_reach.successes_needed is None and out_of_reach.predictive_probability == 0.0
    assert np.isnan(out_of_reach.to_frame().iloc[3].estimate)


def test_monitor_bad_input():
    with pytest.raises(ValueError, match="exceeds n"):
        monitor(74, 73, 0.25)
    with pytest.raises(ValueError, match="target"):
        monitor(16, 73, 25)
    with pytest.raises(ValueError, match="target"):
        monitor(16, 73, 0.0)
    with pytest.raises(ValueError, match="prior"):
        monitor(16, 73, 0.25, prior=(0, 1))
    with pytest.raises(ValueError, match="n=0"):
        monitor(0, 0, 0.25)
    with pytest.raises(ValueError, match="whole number"):
        monitor(16.5, 73, 0.25)


def test_caseload():
    assert caseload(3, 25) == 75  # Sydhavnen: 3 consultants, about 25 citizens each
    assert caseload(2.5, 20) == 50  # the IPS fidelity scale's at most 20 per specialist
    assert consultants_needed(140, 25) == 6  # Copenhagen 2017: capacity about 140, about 25 each
    assert consultants_needed(140, 20) == 7
    assert consultants_needed(75, 25) == 3
    with pytest.raises(ValueError):
        caseload(-1, 25)
    with pytest.raises(ValueError, match="per_consultant"):
        consultants_needed(75, 0)
    # the caseload per consultant is the programme's own figure: no default
    with pytest.raises(TypeError):
        caseload(3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        consultants_needed(140)  # type: ignore[call-arg]


# ------------------------------------------------------------------------------ CLI
def test_cli_budget_prints_the_business_case(capsys):
    assert main(["budget", str(CASE_2017)]) == 0
    out = capsys.readouterr().out
    net = next(line for line in out.splitlines() if line.startswith("net "))
    assert net.split()[1:] == ["-2,250", "-2,000", "-1,000", "-1,000"]
    team = next(line for line in out.splitlines() if line.startswith(TEAM))
    assert team.split()[-4:] == ["1,750", "2,500", "0", "0"]
    assert "payback time (all lines): 1 year" in out
    assert "payback time (lines on the service area only): -" in out


def test_cli_budget_json_parses(capsys):
    assert main(["budget", str(CASE_2017), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["years"] == YEARS
    assert {line["name"]: line["values"] for line in data["lines"]} == DOCUMENT_LINES
    assert data["net"] == DOCUMENT_NET
    assert data["cumulative"] == [-2250, -4250, -5250, -6250]
    assert data["payback_years"] == 1
    assert data["npv"] == pytest.approx(-2250 - 2000 / 1.035 - 1000 / 1.035**2 - 1000 / 1.035**3)

    assert main(["budget", str(SOM_2021), "--json"]) == 0
    projection = json.loads(capsys.readouterr().out)
    assert projection["kind"] == "projection" and projection["years"] == list(range(1, 14))
    assert projection["cost_per_participant"] == pytest.approx(5300)
    assert projection["break_even_year"] == load(SOM_2021).break_even_year
    assert len(projection["cumulative"]) == 13


def test_cli_budget_projection_table_and_errors(capsys, tmp_path):
    assert main(["budget", str(SOM_2021)]) == 0
    out = capsys.readouterr().out
    assert "break-even year" in out and "5,300 per participant" in out
    no_kind = _write(tmp_path, 'title = "x"\n')
    assert main(["budget", str(no_kind)]) == 2
    assert "kind must be 'business_case' or 'projection'" in capsys.readouterr().err
    assert main(["budget", str(tmp_path / "missing.toml")]) == 2
    assert "no such TOML file" in capsys.readouterr().err
