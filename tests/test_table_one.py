"""Table 1 (ipstrial.report.table_one) against the Python tableone package and the disclosure rules.

The reference numbers are tableone 0.9's on data/synthetic/inklusion.csv (tests/reference/tableone.py writes
tests/reference/tableone.json; tableone itself is not needed here).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from ipstrial._checks import ParameterError
from ipstrial.errors import TrialDataError
from ipstrial.report.table_one import TableOne, categorical_smd, table_one

REF = json.loads((REFERENCE / "tableone.json").read_text())
VARIABLES = REF["variables"]
CATEGORICAL = REF["categorical"]
NONNORMAL = REF["nonnormal"]


@pytest.fixture(scope="module", params=REF["contrasts"], ids=lambda c: f"{c['treatment']} vs {c['control']}")
def case(request, frame):
    ref = request.param
    sub = frame[frame["arm"].isin([ref["treatment"], ref["control"]])]
    result = table_one(
        sub,
        VARIABLES,
        "arm",
        control=ref["control"],
        categorical=CATEGORICAL,
        nonnormal=NONNORMAL,
    )
    return ref, result


def test_smd_equals_tableone(case):
    ref, result = case
    got = result.smd.set_index("variable")["smd"]
    for variable, expected in ref["smd"].items():
        assert got[variable] == pytest.approx(expected, abs=1e-9, rel=0), variable


def test_continuous_numbers_equal_tableone(case):
    ref, result = case
    stats = result.stats
    for variable, by_column in ref["continuous"].items():
        for column, numbers in by_column.items():
            name = column if column != "Overall" else "Overall"
            rec = stats[(stats.variable == variable) & (stats.level == "") & (stats.column == name)].iloc[0]
            assert rec["count"] == numbers["count"]
            for ours, theirs in (
                ("mean", "mean"),
                ("sd", "std"),
                ("median", "median"),
                ("q1", "q25"),
                ("q3", "q75"),
            ):
                assert rec[ours] == pytest.approx(numbers[theirs], abs=1e-9), (variable, column, ours)


def test_categorical_counts_equal_tableone(case):
    ref, result = case
    stats = result.stats
    for variable, levels in ref["categorical"].items():
        for level, by_column in levels.items():
            for column, cell in by_column.items():
                rec = stats[(stats.variable == variable) & (stats.level == level) & (stats.column == column)]
                assert len(rec) == 1, (variable, level, column)
                assert rec.iloc[0]["count"] == cell["freq"]
                assert rec.iloc[0]["percent"] == pytest.approx(cell["percent"], abs=1e-9)


def test_missing_counts_and_formatted_cells(case):
    ref, result = case
    table = result.to_frame()
    treatment, control = ref["treatment"], ref["control"]
    assert list(table.columns) == [
        "variable",
        "level",
        treatment,
        control,
        "Overall",
        f"SMD {treatment} vs SAU",
    ]
    hours = table.index[table["variable"].str.startswith("hours_18m")][0]
    missing = table.loc[hours + 1]
    assert missing["level"] == "Missing"
    assert int(missing["Overall"]) == ref["missing"]["hours_18m"]
    assert int(missing[treatment]) == ref["missing_by_arm"]["hours_18m"][treatment]
    # tableone prints "n (p)"; ours "n (p%)": the same numbers once the % is dropped
    theirs = {(c["row"], c["level"]): c for c in ref["cells"]}
    current = ""
    for row in table.itertuples(index=False):
        current = row.variable or current
        key = (current.replace("[Q1, Q3]", "[Q1,Q3]"), "" if row.level in ("", "Missing") else row.level)
        if row.level == "Missing" or key not in theirs:
            continue
        cell = theirs[key]
        for column in (treatment, control, "Overall"):
            ours = getattr(row, column).replace("%", "").replace(", ", ",")
            assert ours == cell[column], (key, column)
    assert (
        table.iloc[1][f"SMD {treatment} vs SAU"] == theirs[("age, mean (SD)", "")][f"SMD (SAU,{treatment})"]
    )


def test_categorical_smd_closed_forms():
    # two levels: Austin (2009) eq. 2, |p1 - p2| / sqrt((p1 q1 + p2 q2) / 2)
    p1, p2 = 0.3, 0.45
    expected = abs(p1 - p2) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert categorical_smd([1 - p1, p1], [1 - p2, p2]) == pytest.approx(expected, rel=1e-12)
    # three levels: the quadratic form written out with the 2x2 inverse by hand
    a, b = np.array([0.2, 0.5, 0.3]), np.array([0.25, 0.35, 0.4])
    x, y = a[1:], b[1:]
    s = (
        np.array([[x[0] * (1 - x[0]), -x[0] * x[1]], [-x[0] * x[1], x[1] * (1 - x[1])]])
        + np.array([[y[0] * (1 - y[0]), -y[0] * y[1]], [-y[0] * y[1], y[1] * (1 - y[1])]])
    ) / 2
    det = s[0, 0] * s[1, 1] - s[0, 1] ** 2
    inv = np.array([[s[1, 1], -s[0, 1]], [-s[0, 1], s[0, 0]]]) / det
    d = x - y
    assert categorical_smd(a, b) == pytest.approx(math.sqrt(d @ inv @ d), rel=1e-12)
    # invariant to which level comes first (Yang & Dalton's form does not depend on the level dropped)
    assert categorical_smd(a[::-1], b[::-1]) == pytest.approx(categorical_smd(a, b), rel=1e-10)
    assert categorical_smd([1.0, 0.0], [1.0, 0.0]) == 0.0


def test_trial_gives_every_arm_in_declared_order_and_smd_per_treatment(trial):
    result = table_one(trial, ["age", "sex"])
    assert isinstance(result, TableOne)
    assert list(result.to_frame().columns) == [
        "variable",
        "level",
        "IPS",
        "IPSE",
        "SAU",
        "Overall",
        "SMD IPS vs SAU",
        "SMD IPSE vs SAU",
    ]
    assert result.n_by_column == {"IPS": 239, "IPSE": 241, "SAU": 240, "Overall": 720}
    # the same SMD as the two-arm reference
    ref = {c["treatment"]: c["smd"] for c in REF["contrasts"]}
    smd = result.smd.set_index(["variable", "treatment"])["smd"]
    assert smd[("sex", "IPSE")] == pytest.approx(ref["IPSE"]["sex"], abs=1e-9)
    ard = pd.DataFrame([r.to_record() for r in result.rows()])
    assert len(ard) == 4 and set(ard["analysis"]) == {"randomization_table_one"}
    assert ard.set_index(["outcome", "contrast"]).loc[("sex", "IPSE vs SAU"), "estimate"] == pytest.approx(
        ref["IPSE"]["sex"], abs=1e-9
    )
    text = result.summary()
    assert "Table 1" in text and "SMD IPSE vs SAU" in text
    assert "<table" in result._repr_html_()
    md = result.to_markdown()
    assert md.count("\n|") >= 5 and "| IPS |" in md


def test_binary_variable_is_one_line_of_ones(frame):
    result = table_one(frame, ["employed_prev5y"], "arm", control="SAU")
    table = result.to_frame()
    assert list(table["level"]) == ["", "1"]
    n1 = int((frame.loc[frame.arm == "IPS", "employed_prev5y"] == 1).sum())
    assert table.iloc[1]["IPS"].startswith(f"{n1} (")


def _small(frame: pd.DataFrame) -> pd.DataFrame:
    """Three IPS participants with substance_use 1 among IPS and SAU; SAU unchanged."""
    data = frame[frame.arm.isin(["IPS", "SAU"])].copy()
    ips = data.index[data.arm == "IPS"]
    data.loc[ips, "substance_use"] = 0
    data.loc[ips[:3], "substance_use"] = 1
    return data


def test_small_count_and_its_complements_are_suppressed(frame):
    data = _small(frame)
    result = table_one(data, ["substance_use", "age"], "arm", control="SAU", categorical=["substance_use"])
    table = result.to_frame()
    one = table[(table.level == "1")].iloc[0]
    zero = table[(table.level == "0")].iloc[0]
    assert one["IPS"] == "<5"
    # the other level of IPS (n - 3) and a cell of the row margin must be hidden too
    assert zero["IPS"] == "*"
    assert "*" in (one["SAU"], one["Overall"]) and "*" in (zero["SAU"], zero["Overall"])
    # the SMD would give the count away
    assert table.loc[table.variable.str.startswith("substance_use"), "SMD IPS vs SAU"].iloc[0] == "*"
    # nothing in the result holds the small count
    assert 3 not in set(result.stats.loc[result.stats.variable == "substance_use", "count"].dropna())
    assert "counts from 1 to 4" in result.summary()
    _check_not_recoverable(table, "substance_use")


def _check_not_recoverable(table: pd.DataFrame, variable: str) -> None:
    """No column or row of the shown block has exactly one hidden cell (the simplest subtraction)."""
    start = table.index[table.variable.str.startswith(variable)][0]
    block = [start]
    for i in range(start + 1, len(table)):
        if table.loc[i, "variable"]:
            break
        block.append(i)
    cells = table.loc[block, ["IPS", "SAU", "Overall"]]
    hidden = cells.isin(["<5", "*"])
    assert (hidden.sum(axis=0).isin([0]) | (hidden.sum(axis=0) >= 2)).all()
    assert (hidden.sum(axis=1).isin([0]) | (hidden.sum(axis=1) >= 2)).all()


def test_binary_shown_as_ones_protects_the_hidden_zero_level(frame):
    data = frame[frame.arm.isin(["IPS", "SAU"])].copy()
    ips = data.index[data.arm == "IPS"]
    data.loc[ips, "substance_use"] = 1
    data.loc[ips[:2], "substance_use"] = 0  # two IPS participants without: n - shown would reveal them
    table = table_one(data, ["substance_use"], "arm", control="SAU").to_frame()
    assert table.iloc[1]["IPS"] == "*"


def test_missing_count_below_threshold_is_suppressed(frame):
    data = frame[frame.arm.isin(["IPS", "SAU"])].copy()
    data["age"] = data["age"].astype(float)
    data.loc[data.index[data.arm == "IPS"][:2], "age"] = np.nan
    data.loc[data.index[data.arm == "SAU"][:10], "age"] = np.nan
    table = table_one(data, ["age"], "arm", control="SAU").to_frame()
    missing = table[table.level == "Missing"].iloc[0]
    assert missing["IPS"] == "<5"
    # Overall (12) - SAU (10) would give it away: one of them is hidden
    assert "*" in (missing["SAU"], missing["Overall"])
    assert "10" in (missing["SAU"], missing["Overall"]) or "12" in (missing["SAU"], missing["Overall"])
    # the mean (SD) stays (no count in it)
    assert table.iloc[1]["IPS"].count("(") == 1


def test_suppression_off_only_when_asked_and_then_noted(frame):
    data = _small(frame)
    result = table_one(data, ["substance_use"], "arm", control="SAU", min_count=None)
    table = result.to_frame()
    assert table[table.level == "1"].iloc[0]["IPS"].startswith("3 (")
    assert "not suppressed" in result.summary() and "not suppressed" in result.to_markdown()
    assert table_one(data, ["substance_use"], "arm", min_count=0).min_count == 0
    with pytest.raises(ParameterError, match="min_count"):
        table_one(data, ["substance_use"], "arm", min_count=-1)


def test_cpr_column_is_refused(frame):
    data = frame.copy()
    data["cpr"] = [f"{1 + i % 28:02d}0{1 + i % 9}85-{1000 + i}" for i in range(len(data))]
    with pytest.raises(TrialDataError, match="cpr") as err:
        table_one(data, ["age", "cpr"], "arm")
    assert data["cpr"].iloc[0] not in str(err.value)


def test_bad_arguments(frame, tmp_path):
    with pytest.raises(ParameterError, match="variables"):
        table_one(frame, None, "arm")
    with pytest.raises(ParameterError, match="nonnormal"):
        table_one(frame, ["sex"], "arm", nonnormal=["sex"])
    with pytest.raises(ParameterError, match="categorical"):
        table_one(frame, ["age"], "arm", categorical=["sex"])
    with pytest.raises(TrialDataError, match="nosuch"):
        table_one(frame, ["nosuch"], "arm")
    result = table_one(frame, ["age"], "arm")
    assert "control=" in result.summary()  # no SMD without a control, and the table says why
    path = result.to_csv(tmp_path / "t1.csv")
    assert pd.read_csv(path).shape[0] == 2
    assert result.rows() == ()


def test_a_variable_with_sd_below_1_keeps_two_significant_digits():
    from ipstrial.report.table_one import table_one

    frame = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "synthetic" / "inklusion.csv")
    table = table_one(frame, ["eq5d_0", "age"], "arm", control="SAU").to_frame().set_index("variable")
    sau = frame[frame.arm == "SAU"]
    eq5d = table.loc[table.index.str.startswith("EQ") | table.index.str.startswith("eq5d_0")].iloc[0]
    assert eq5d["SAU"] == f"{sau.eq5d_0.mean():.2f} ({sau.eq5d_0.std():.2f})"
    age = table.loc[table.index.str.startswith("age")].iloc[0]
    assert age["SAU"] == f"{sau.age.mean():.1f} ({sau.age.std():.1f})"
