"""derive_outcomes: inputs (frames, Parquet, CSV, globs), the checks of rule 9, and the command line.

The expected values are worked out by hand from the rules in ipstrial/registers/_rules.py.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ipstrial.cli import main
from ipstrial.errors import DesignError, ParameterError, TrialDataError
from ipstrial.registers import CodeMap, derive_outcomes, synthetic_code_map
from ipstrial.registers._derive import iso_week, week_index

CODES = synthetic_code_map()


def _panel() -> pd.DataFrame:
    rows = [
        # A: cash benefit weeks 1-2, work (no row) week 3, cash week 4, disability pension from week 5
        ("A", "2012-W01", "130"), ("A", "2012-W02", "130"), ("A", "2012-W04", "130"),
        ("A", "2012-W05", "783"), ("A", "2012-W06", "783"),
        # B: sickness weeks 1-3, emigrated week 4 (follow-up ends after week 3), a row before randomisation
        ("B", "2011-W52", "890"), ("B", "2012-W01", "890"), ("B", "2012-W02", "890"),
        ("B", "2012-W03", "890"), *[("B", f"2012-W0{w}", "998") for w in (4, 5, 6)],
        # C: disability pension from week 1
        *[("C", f"2012-W0{w}", "783") for w in range(1, 7)],
        # X: not a participant (its odd week is not looked at)
        ("X", "2012-W99", "130"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["person", "week", "code"])


def _randomisation() -> pd.DataFrame:
    return pd.DataFrame({"participant_id": ["A", "B", "C", "D"], "randomisation_date": ["2012-01-07"] * 4})


EXPECTED = pd.DataFrame(
    {
        "participant_id": ["A", "B", "C", "D"],
        "randomisation_week": ["2012-W01"] * 4,
        "in_work_or_education": [1, 0, 0, 1],
        "weeks_in_work_or_education": [1, 0, 0, 6],
        "weeks_to_event": [3, 3, 1, 1],
        "event": [1, 0, 2, 1],
        "followup_weeks": [6, 3, 6, 6],
        "coded_weeks": [5, 3, 6, 0],
    }
)


def test_the_rules_by_hand_on_a_frame_parquet_and_csv(tmp_path: Path) -> None:
    panel = _panel()
    framed = derive_outcomes(panel, _randomisation(), CODES, horizon_weeks=6)
    got = framed.frame
    pd.testing.assert_frame_equal(got[EXPECTED.columns], EXPECTED, check_dtype=False)
    # transfers: A 3 cash weeks (2,900) and 2 disability weeks (4,300); B 3 sickness weeks (3,800)
    assert got["transfers_cash_benefit"].tolist() == [8700.0, 0.0, 0.0, 0.0]
    assert got["transfers_disability_pension"].tolist() == [8600.0, 0.0, 25800.0, 0.0]
    assert got["transfers_sickness_benefit"].tolist() == [0.0, 11400.0, 0.0, 0.0]
    assert (
        got["transfers_total"] == got.filter(like="transfers_").drop(columns="transfers_total").sum(axis=1)
    ).all()
    # X's week 2012-W99 is not an ISO week: the coverage is over the valid weeks
    assert framed.no_register_rows == ("D",) and framed.coverage == ("2011-W52", "2012-W06")
    for part, rows in enumerate((panel.iloc[::2], panel.iloc[1::2])):  # two files
        duckdb.from_df(rows).write_parquet(str(tmp_path / f"p{part}.parquet"))
    panel.to_csv(tmp_path / "p.csv", index=False)
    for source in (
        str(tmp_path / "p*.parquet"),
        [tmp_path / "p0.parquet", tmp_path / "p1.parquet"],
        tmp_path / "p.csv",
    ):
        pd.testing.assert_frame_equal(derive_outcomes(source, _randomisation(), CODES, 6).frame, got)


def test_the_coverage_and_what_is_reported(tmp_path: Path) -> None:
    panel = _panel()
    panel = panel[panel.person != "X"]
    derived = derive_outcomes(panel, _randomisation(), CODES, horizon_weeks=10)
    assert derived.coverage == ("2011-W52", "2012-W06")
    assert derived.no_register_rows == ("D",)
    assert derived.truncated == ("A", "B", "C", "D")  # the panel ends in week 6 of their 10
    assert derived.frame["followup_weeks"].tolist() == [6, 3, 6, 6]
    assert "no register rows" in derived.summary() and "ends with the panel" in derived.summary()


def test_week_indices_across_iso_years() -> None:
    import datetime as dt

    assert iso_week(week_index(dt.date(2014, 12, 29))) == "2015-W01"
    assert iso_week(week_index(dt.date(2021, 1, 3))) == "2020-W53"
    assert week_index(dt.date(2021, 1, 4)) - week_index(dt.date(2020, 12, 28)) == 1
    rand = pd.DataFrame({"participant_id": ["A"], "randomisation_date": ["2020-12-30"]})
    panel = pd.DataFrame({"person": ["A", "A"], "week": ["2020-W53", "2021-W01"], "code": ["130", "651"]})
    got = derive_outcomes(panel, rand, CODES, horizon_weeks=2).frame
    assert got[["randomisation_week", "event", "weeks_to_event"]].values.tolist() == [["2020-W53", 1, 2]]


# -- rule 9: every problem an error naming persons, weeks or codes -----------------------------------------
def test_weeks_outside_the_calendar_are_named() -> None:
    panel = pd.concat(
        [_panel(), pd.DataFrame({"person": ["A", "B"], "week": ["2015-W54", "2012-W5"], "code": "130"})]
    )
    with pytest.raises(TrialDataError, match=r"2 rows .* not an ISO week .*A '2015-W54'.*B '2012-W5'"):
        derive_outcomes(panel, _randomisation(), CODES, 6)


def test_codes_not_in_the_code_map_are_listed_with_counts() -> None:
    panel = _panel()
    panel.loc[panel.index[:3], "code"] = ["777", "777", "12"]
    with pytest.raises(
        TrialDataError, match=r"codes not in the code map .*'777' \(2 rows\), '12' \(1 rows\)"
    ):
        derive_outcomes(panel, _randomisation(), CODES, 6)


def test_conflicting_duplicates_are_an_error_or_resolved_by_priority() -> None:
    panel = pd.concat([_panel(), pd.DataFrame({"person": ["A", "A"], "week": ["2012-W02", "2012-W01"],
                                               "code": ["998", "130"]})])  # fmt: skip
    with pytest.raises(
        TrialDataError, match=r"1 person-weeks have different codes \(A 2012-W02: \['130', '998'\]\)"
    ):
        derive_outcomes(panel, _randomisation(), CODES, 6)
    derived = derive_outcomes(panel, _randomisation(), CODES, 6, duplicates="priority")
    a = derived.frame.iloc[0]
    assert (a["event"], a["followup_weeks"]) == (0, 1)  # the end code wins week 2: follow-up is week 1
    assert derived.resolved == 1 and derived.collapsed == 1  # A's week 1 "130" twice


def test_participants_randomised_outside_the_panel() -> None:
    dates = ["2012-01-07", "2013-03-01", "2011-01-01"]
    rand = pd.DataFrame({"participant_id": ["A", "B", "C"], "randomisation_date": dates})
    with pytest.raises(TrialDataError) as err:
        derive_outcomes(_panel(), rand, CODES, 6)
    text = str(err.value)
    assert "randomised after the panel's last week" in text and "(participant id B)" in text
    assert "randomised before the panel's first week 2011-W52" in text and "(participant id C)" in text


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"horizon_weeks": 0}, ParameterError, "horizon_weeks must be"),
        ({"duplicates": "first"}, ParameterError, "duplicates='first'"),
        ({"engine": "polars"}, ParameterError, "engine='polars'"),
        ({"id": "pid"}, ParameterError, "randomisation has no column \\['pid'\\]"),
        ({"week": "iso_week"}, ParameterError, "the panel has no column \\['iso_week'\\]"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    args = {"horizon_weeks": 6, **kwargs}
    with pytest.raises(error, match=match):
        derive_outcomes(_panel(), _randomisation(), CODES, **args)


def test_bad_randomisation_tables() -> None:
    rand = pd.DataFrame(
        {"participant_id": ["A", "A", None], "randomisation_date": ["2012-01-07", "x", "2012-01-07"]}
    )
    with pytest.raises(TrialDataError) as err:
        derive_outcomes(_panel(), rand, CODES, 6)
    text = str(err.value)
    assert "listed more than once" in text and "missing participant ids" in text and "unreadable" in text


def test_panel_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no panel file matches"):
        derive_outcomes(str(tmp_path / "none*.parquet"), _randomisation(), CODES, 6)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all" * 10)
    with pytest.raises(ParameterError, match="the panel could not be read"):
        derive_outcomes(tmp_path / "junk.parquet", _randomisation(), CODES, 6)
    _panel().rename(columns={"week": "wk"}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(ParameterError, match="the panel could not be read .*'week'"):
        derive_outcomes(tmp_path / "p.csv", _randomisation(), CODES, 6)
    with pytest.raises(ParameterError, match="engine='pandas' takes an in-memory panel"):
        derive_outcomes(tmp_path / "p.csv", _randomisation(), CODES, 6, engine="pandas")


def test_code_maps_that_are_wrong(tmp_path: Path) -> None:
    cases = {
        'no_code = "work"\n[[code]]\ncode = "1"\nkind = "job"\n': "kind 'job'",
        '[[code]]\ncode = "1"\nkind = "benefit"\nbenefit = "x"\n': "benefit and weekly_rate together",
        '[[code]]\ncode = "1"\nkind = "work"\n[[code]]\ncode = "1"\nkind = "end"\n': "more than once",
        '[[code]]\ncode = "1"\nkind = "benefit"\nbenefit = "Cash"\nweekly_rate = 1\n': "lower-case",
        '[[code]]\ncode = "1"\nkind = "benefit"\nbenefit = "c"\nweekly_rate = -1\n': "non-negative",
        'no_code = "maybe"\n[[code]]\ncode = "1"\nkind = "end"\n': "no_code = 'maybe'",
        "colour = 1\n": "unknown keys \\['colour'\\]",
        "": "has no codes",
    }
    for i, (text, match) in enumerate(cases.items()):
        (tmp_path / f"{i}.toml").write_text(text)
        with pytest.raises(DesignError, match=match):
            CodeMap.from_toml(tmp_path / f"{i}.toml")


# -- the command line --------------------------------------------------------------------------------------
def test_registers_derive_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    duckdb.from_df(_panel()).write_parquet(str(tmp_path / "dream.parquet"))
    _randomisation().to_csv(tmp_path / "rand.csv", index=False)
    codes = Path(__file__).parents[1] / "ipstrial" / "registers" / "codes" / "synthetic.toml"
    args = ["registers", "derive", "--panel", str(tmp_path / "*.parquet"), "--randomisation",
            str(tmp_path / "rand.csv"), "--codes", str(codes), "--horizon-weeks", "6"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv", dtype={"participant_id": str})
    pd.testing.assert_frame_equal(out[EXPECTED.columns], EXPECTED, check_dtype=False)
    assert "1 participants have no register rows" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "out.csv")]) == 2
    assert "exists" in capsys.readouterr().err
    assert main([*args[:-2], "--horizon-weeks", "6", "--out", str(tmp_path / "o2.csv"), "--codes",
                 str(tmp_path / "none.toml")]) == 2  # fmt: skip
    assert "cannot read the code map" in capsys.readouterr().err
