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
from ipstrial.registers._rules import iso_week, week_index

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
    framed = derive_outcomes(panel, _randomisation(), CODES, horizon_weeks=6, allow_no_register_rows=True)
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
        again = derive_outcomes(source, _randomisation(), CODES, 6, allow_no_register_rows=True)
        pd.testing.assert_frame_equal(again.frame, got)


def test_the_coverage_and_what_is_reported(tmp_path: Path) -> None:
    panel = _panel()
    panel = panel[panel.person != "X"]
    derived = derive_outcomes(panel, _randomisation(), CODES, horizon_weeks=10, allow_no_register_rows=True)
    assert derived.coverage == ("2011-W52", "2012-W06")
    assert derived.no_register_rows == ("D",) and derived.frame["register_rows"].tolist() == [5, 7, 6, 0]
    # the panel ends in week 6 of their 10; B's follow-up ended with its emigration (week 4) before that
    assert derived.truncated == ("A", "C", "D") and derived.frame["truncated"].tolist() == [1, 0, 1, 1]
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
    derived = derive_outcomes(
        panel, _randomisation(), CODES, 6, duplicates="priority", allow_no_register_rows=True
    )
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
    with pytest.raises(ParameterError, match=r"the panel files have no column \['week'\]; their columns are"):
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
            str(tmp_path / "rand.csv"), "--codes", str(codes), "--horizon-weeks", "6",
            "--allow-no-register-rows"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv", dtype={"participant_id": str})
    pd.testing.assert_frame_equal(out[EXPECTED.columns], EXPECTED, check_dtype=False)
    assert "1 participants have no register rows" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "out.csv")]) == 2
    assert "exists" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "o2.csv"), "--codes", str(tmp_path / "none.toml")]) == 2
    assert "cannot read the code map" in capsys.readouterr().err


# -- what a reviewer tried: inputs that would have been misread ---------------------------------------------
def _two() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two participants on cash benefit in every week of 2012-W01..W10."""
    panel = pd.DataFrame(
        [(p, f"2012-W{w:02d}", "130") for p in ("101", "102") for w in range(1, 11)],
        columns=["person", "week", "code"],
    )
    return panel, pd.DataFrame({"participant_id": ["101", "102"], "randomisation_date": ["2012-01-02"] * 2})


def test_ids_that_do_not_match_are_an_error_not_everyone_in_work() -> None:
    panel, rand = _two()
    for ids in (["0101", "0102"], ["101.5", "102.5"]):
        with pytest.raises(TrialDataError, match="2 of 2 participants have no row in the panel"):
            derive_outcomes(panel, rand.assign(participant_id=ids), CODES, 8)
    # written differently but the same: integer, float and padded-with-spaces ids are matched as text
    for ids in ([101, 102], [101.0, 102.0], [" 101", "102 "]):
        got = derive_outcomes(panel, rand.assign(participant_id=ids), CODES, 8).frame
        assert got["in_work_or_education"].tolist() == [0, 0], ids
    numeric = panel.assign(person=panel["person"].astype(float))
    assert derive_outcomes(numeric, rand, CODES, 8).frame["register_rows"].tolist() == [10, 10]


def test_weeks_without_any_row_are_an_error(tmp_path: Path) -> None:
    panel, rand = _two()
    gap = panel[~panel["week"].isin(["2012-W04", "2012-W05"])]
    with pytest.raises(TrialDataError, match=r"2 weeks between .* have no row at all \(2012-W04, 2012-W05\)"):
        derive_outcomes(gap, rand, CODES, 8)
    typo = pd.concat([panel, pd.DataFrame({"person": ["Z"], "week": ["2099-W01"], "code": ["130"]})])
    with pytest.raises(TrialDataError, match="weeks between the panel's first .* and last \\(2099-W01\\)"):
        derive_outcomes(typo, rand, CODES, 8)
    got = derive_outcomes(gap, rand, CODES, 8, allow_empty_weeks=True).frame
    assert got["event"].tolist() == [1, 1] and got["weeks_to_event"].tolist() == [4, 4]


@pytest.mark.parametrize("dates", [["01-02-2012", "06-02-2012"], ["2012", "2012"], ["2012/01/02", "x"]])
def test_dates_that_are_not_iso_are_refused(dates: list) -> None:
    panel, rand = _two()
    with pytest.raises(TrialDataError, match="unreadable randomisation dates .*YYYY-MM-DD"):
        derive_outcomes(panel, rand.assign(randomisation_date=dates), CODES, 8)


def test_dates_as_dates_datetimes_and_time_zones() -> None:
    import datetime as dt

    panel, rand = _two()
    for dates in (
        [dt.date(2012, 1, 2)] * 2,
        pd.to_datetime(["2012-01-02"] * 2),
        pd.to_datetime(["2012-01-01T23:30:00Z"] * 2),
    ):  # 00:30 on 2 January in Copenhagen
        got = derive_outcomes(panel, rand.assign(randomisation_date=dates), CODES, 8).frame
        assert got["randomisation_week"].tolist() == ["2012-W01"] * 2, dates  # fmt: skip


def test_codes_written_with_spaces_or_as_numbers_mean_the_same_in_both_engines() -> None:
    panel, rand = _two()
    variants = {
        "spaces": panel.assign(code=[" 130", "130 "] * 10),
        "floats": panel.assign(code=[130.0] * 19 + [float("nan")]),
        "Int64": panel.assign(code=pd.array([130] * 19 + [None], dtype="Int64")),
        "string": panel.assign(code=pd.array(["130"] * 19 + [None], dtype="string")),
        "blank": panel.assign(code=["130"] * 19 + ["  "]),
    }
    for name, frame in variants.items():
        results = [derive_outcomes(frame, rand, CODES, 10, engine=e).frame for e in ("duckdb", "pandas")]
        pd.testing.assert_frame_equal(*results)
        expect = [0, 1] if name in ("floats", "Int64", "string", "blank") else [0, 0]
        assert results[0]["in_work_or_education"].tolist() == expect, name


def test_follow_up_cut_short_by_the_panel_is_unknown_not_zero() -> None:
    panel, rand = _two()
    got = derive_outcomes(panel, rand, CODES, 20).frame
    assert got["truncated"].tolist() == [1, 1] and got["in_work_or_education"].isna().all()
    assert got["followup_weeks"].tolist() == [10, 10] and got["event"].tolist() == [0, 0]


def test_week_one_can_be_the_week_after_randomisation() -> None:
    panel, rand = _two()
    panel = panel[~((panel.person == "101") & (panel.week == "2012-W01"))]  # 101 self-supporting in week 1
    contain = derive_outcomes(panel, rand, CODES, 8).frame
    after = derive_outcomes(panel, rand, CODES, 8, first_week="next").frame
    assert contain["event"].tolist() == [1, 0] and after["event"].tolist() == [0, 0]
    assert after["randomisation_week"].tolist() == ["2012-W01"] * 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threads": -3}, "threads must be"),
        ({"memory_limit": "banana"}, "not a memory size"),
        ({"horizon_weeks": 2**63}, "more than 5218 weeks"),
        ({"person": "week"}, "must name three columns"),
        ({"first_week": "after"}, "first_week='after'"),
    ],
)
def test_more_bad_arguments(kwargs: dict, match: str) -> None:
    panel, rand = _two()
    args = {"horizon_weeks": 8, **kwargs}
    with pytest.raises(ParameterError, match=match):
        derive_outcomes(panel, rand, CODES, **args)


@pytest.mark.parametrize("panel", [None, 123, [1, 2]])
def test_panels_that_are_neither_frames_nor_files(panel: object) -> None:
    with pytest.raises(ParameterError, match="panel must be a DataFrame"):
        derive_outcomes(panel, _two()[1], CODES, 8)


def test_year_zero_is_not_a_week_in_either_engine() -> None:
    panel, rand = _two()
    odd = pd.concat([panel, pd.DataFrame({"person": ["101"], "week": ["0000-W01"], "code": ["130"]})])
    for engine in ("duckdb", "pandas"):
        with pytest.raises(TrialDataError, match="not an ISO week .*'0000-W01'"):
            derive_outcomes(odd, rand, CODES, 8, engine=engine)


def test_the_provenance_is_the_same_on_a_rerun_but_for_its_time(tmp_path: Path) -> None:
    import hashlib
    import json

    panel, rand = _two()
    first = derive_outcomes(panel, rand, CODES, 8).provenance
    again = derive_outcomes(panel, rand, CODES, 8).provenance
    assert {k: v for k, v in first.items() if k != "created_at"} == {
        k: v for k, v in again.items() if k != "created_at"
    }
    assert first["options"]["horizon_weeks"] == 8 and first["panel"] == {"frame_rows": 20}
    assert first["code_map"]["name"] == CODES.name and len(first["code_map"]["sha256"]) == 64
    other = derive_outcomes(panel, rand.assign(randomisation_date="2012-01-03"), CODES, 8).provenance
    assert other["randomisation_sha256"] != first["randomisation_sha256"]
    duckdb.from_df(panel).write_parquet(str(tmp_path / "p.parquet"))
    rand.to_csv(tmp_path / "rand.csv", index=False)
    codes = Path(__file__).parents[1] / "ipstrial" / "registers" / "codes" / "synthetic.toml"
    out = tmp_path / "out.csv"
    args = ["--panel", str(tmp_path / "p.parquet"), "--randomisation", str(tmp_path / "rand.csv")]
    assert (
        main(["registers", "derive", *args, "--codes", str(codes), "--horizon-weeks", "8", "--out", str(out)])
        == 0
    )
    record = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert record["outcomes"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["panel"]["files"] == [
        [str(tmp_path / "p.parquet"), (tmp_path / "p.parquet").stat().st_size]
    ]


def test_a_participant_randomised_after_a_recorded_death_is_an_error() -> None:
    panel, rand = _two()
    weeks = ["2011-W50", "2011-W51", "2011-W51", "2012-W03"]
    early = pd.DataFrame(
        {"person": ["103", "103", "104", "104"], "week": weeks, "code": ["130", "999", "998", "130"]}
    )
    rand = pd.concat(
        [rand, pd.DataFrame({"participant_id": ["103", "104"], "randomisation_date": ["2012-01-02"] * 2})]
    )
    for engine in ("duckdb", "pandas"):
        with pytest.raises(
            TrialDataError, match=r"1 participants' register rows end with a death .*\(participant id 103\)"
        ):
            derive_outcomes(pd.concat([panel, early]), rand, CODES, 8, engine=engine)  # 104 came back: fine
