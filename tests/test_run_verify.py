"""A plan run into results.json, tables, figures and a report; verify against the committed expected file."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ipstrial.cli import main
from ipstrial.errors import PlanError
from ipstrial.plan import load_plan, run_plan
from ipstrial.reproduce import expected_from_results, verify

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "inklusion.toml"
EXPECTED = ROOT / "analysis" / "inklusion_expected.json"
DATA = ROOT / "data" / "synthetic" / "inklusion.csv"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The committed plan run twice, at two different times, into two folders."""
    first = tmp_path_factory.mktemp("run1")
    second = tmp_path_factory.mktemp("run2")
    a = run_plan(PLAN, first, created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    b = run_plan(PLAN, second)
    return a, b


def test_results_json_has_the_three_keys_and_every_estimate(runs):
    a, _ = runs
    document = json.loads((a.out / "results.json").read_text())
    assert set(document) == {"results", "provenance", "created_at"}
    assert document["created_at"] == "2026-01-02T03:04:05+00:00"
    assert len(document["results"]) == len(a.ard)
    keys = [
        (r["analysis"], r["outcome"], r["contrast"], r["estimand"], r["variant"]) for r in document["results"]
    ]
    assert len(set(keys)) == len(keys)
    # the headline: IPS vs SAU, as compare_proportions gives it on the committed data
    from ipstrial import Trial
    from ipstrial.itt import compare_proportions

    frame = pd.read_csv(DATA, dtype={"participant_id": str})
    direct = compare_proportions(
        frame, "employed_18m", "arm", ["IPS", "IPSE"], "SAU", id="participant_id", adjust="holm"
    ).to_frame()
    want = direct[(direct.estimand == "risk_difference") & (direct.contrast == "IPS vs SAU")].iloc[0]
    got = next(
        r
        for r in document["results"]
        if r["analysis"] == "itt_employment"
        and r["estimand"] == "risk_difference"
        and r["contrast"] == "IPS vs SAU"
        and not r["variant"]
    )
    assert (
        got["estimate"] == want.estimate and got["ci_low"] == want.ci_low and got["p_value"] == want.p_value
    )
    assert isinstance(Trial, type)


def test_provenance_names_versions_hashes_and_seeds(runs):
    import hashlib

    a, _ = runs
    prov = a.document["provenance"]
    assert prov["plan"] == {
        "name": "inklusion",
        "title": load_plan(PLAN).title,
        "version": "1.0",
        "sha256": hashlib.sha256(PLAN.read_bytes()).hexdigest(),
    }
    assert prov["data"]["sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert prov["data"]["checked_against_plan"] is True and prov["data"]["participants"] == 720
    assert set(prov["dependencies"]) >= {"numpy", "scipy", "pandas", "statsmodels", "lifelines"}
    assert all(prov["dependencies"].values())
    assert prov["seeds"]["plan"] == 2012
    assert prov["seeds"]["analyses"]["economics_cea_ips"] == 2012
    assert re.fullmatch(r"\d+\.\d+\.\d+", prov["python"])


def test_two_runs_give_identical_bytes_but_for_created_at(runs):
    a, b = runs
    first = (a.out / "results.json").read_text()
    second = (b.out / "results.json").read_text()
    assert first != second  # created_at differs
    strip = re.compile(r'\n  "created_at": "[^"]*",')
    assert strip.sub("", first) == strip.sub("", second)
    assert len(strip.findall(first)) == 1


def test_outputs_are_tables_figures_and_one_report(runs):
    a, _ = runs
    out = a.out
    assert (out / "report.html").is_file() and a.report == out / "report.html"
    for name in ("table1", "consort", "itt_employment", "economics_cea_ips"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
        assert (out / "tables" / f"{name}.md").read_text().startswith("|"), name
    for name in (
        "forest",
        "survival_km",
        "survival_cif",
        "economics_cea_ips_plane",
        "economics_cea_ips_ceac",
        "business_case",
    ):
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (out / "figures" / f"{name}.svg").read_text().lstrip().startswith("<?xml"), name


def test_the_report_is_self_contained(runs):
    a, _ = runs
    text = a.report.read_text()
    assert "<script" not in text.lower()
    # no resource from elsewhere: every src and href is inline data or an anchor in the page
    for attribute in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert attribute.startswith(("data:", "#")), attribute
    assert "@import" not in text and "url(" not in text
    assert text.count("<img ") >= 8
    for heading in (
        "Participant flow",
        "Baseline characteristics",
        "Intention-to-treat analysis",
        "Time to first job or education",
        "Costs and cost-effectiveness",
        "Business case",
        "Methods",
        "Provenance",
        "Disclosure control",
    ):
        assert f">{heading}</h2>" in text, heading
    assert "Newcombe RG" in text and "Kaplan EL, Meier P" in text
    # no participant-level rows: no participant id appears
    ids = pd.read_csv(DATA, usecols=["participant_id"]).participant_id
    assert not any(pid in text for pid in ids.head(50))


def test_verify_passes_on_the_committed_expected_file(runs):
    a, _ = runs
    outcome = verify(a.out / "results.json", EXPECTED)
    assert outcome.ok, outcome.report()
    assert outcome.checked > 500 and not outcome.plan_changed


def test_verify_fails_when_one_input_value_changes(runs, tmp_path):
    """One participant's outcome flipped: verify exits 1 and names what moved."""
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    row = frame.index[(frame.arm == "IPS") & (frame.employed_18m == "0")][0]
    frame.loc[row, "employed_18m"] = "1"
    data = tmp_path / "inklusion.csv"
    frame.to_csv(data, index=False, lineterminator="\n")
    run = run_plan(PLAN, None, data=data, data_note="one value changed")
    outcome = verify(run.document, EXPECTED)
    assert not outcome.ok
    moved = {(m["analysis"], m["contrast"], m["estimand"]) for m in outcome.moved}
    assert ("itt_employment", "IPS vs SAU", "risk_difference") in moved
    assert ("itt_employment", "IPSE vs SAU", "risk_difference") not in moved
    assert "NOT reproduced" in outcome.report() and "itt_employment" in outcome.report()


def test_verify_cli_exit_codes_and_update(runs, tmp_path, capsys):
    a, _ = runs
    results = a.out / "results.json"
    assert main(["verify", str(results), "--expected", str(EXPECTED)]) == 0
    assert "verified: all" in capsys.readouterr().out
    # a tolerance tighter than a change: exit 1 and a readable table
    expected = json.loads(EXPECTED.read_text())
    entry = next(v for v in expected["values"] if v["estimand"] == "risk_difference")
    entry["estimate"] += 1e-6
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(expected))
    assert main(["verify", str(results), "--expected", str(moved)]) == 1
    out = capsys.readouterr().out
    assert "NOT reproduced: 1 numbers moved" in out and "risk_difference" in out and "estimate" in out
    # --update writes an expected file that then verifies, keeping the tolerances
    fresh = tmp_path / "fresh.json"
    assert main(["verify", str(results), "--expected", str(fresh), "--update"]) == 0
    capsys.readouterr()
    assert verify(results, fresh).ok
    assert json.loads(fresh.read_text())["plan"]["name"] == "inklusion"


def test_an_expected_file_of_another_plan_is_an_error(runs, tmp_path, capsys):
    a, _ = runs
    other = expected_from_results(a.document)
    other["plan"]["name"] = "another_trial"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    with pytest.raises(PlanError, match="written for the plan 'another_trial'"):
        verify(a.out / "results.json", path)
    assert main(["verify", str(a.out / "results.json"), "--expected", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another_trial" in err[0]


def test_a_data_file_whose_hash_differs_is_refused(tmp_path):
    plan_dir = tmp_path / "analysis"
    data_dir = tmp_path / "data" / "synthetic"
    plan_dir.mkdir()
    data_dir.mkdir(parents=True)
    shutil.copy(PLAN, plan_dir / "inklusion.toml")
    shutil.copy(ROOT / "analysis" / "business_case_2017.toml", plan_dir)
    text = DATA.read_text().replace("P0001,1,Copenhagen,30,", "P0001,1,Copenhagen,31,", 1)
    (data_dir / "inklusion.csv").write_text(text)
    with pytest.raises(PlanError, match=r"has SHA-256 [0-9a-f]{64}, not the plan's d6de1218"):
        run_plan(plan_dir / "inklusion.toml", tmp_path / "out")


def test_a_column_not_in_the_data_is_named_with_its_place_in_the_plan(tmp_path):
    text = PLAN.read_text().replace('outcome = "hours_18m"\n', 'outcome = "hours_81m"\n', 1)
    plan = tmp_path / "inklusion.toml"
    plan.write_text(
        text.replace('file = "../data/synthetic/inklusion.csv"', f'file = "{DATA}"').replace(
            'business_case = "business_case_2017.toml"',
            f'business_case = "{ROOT / "analysis" / "business_case_2017.toml"}"',
        )
    )
    with pytest.raises(
        PlanError, match=r"'hours_81m' \(\[\[analysis\]\] 'itt_hours' outcome; did you mean 'hours_18m'\?\)"
    ):
        run_plan(plan, tmp_path / "out")


def test_an_output_folder_that_cannot_be_written_is_refused_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PlanError, match="exists and is not a directory"):
        run_plan(PLAN, blocker)
    assert main(["run", str(PLAN), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot create the output folder" in err[0]
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PlanError, match="permission denied"):
            run_plan(PLAN, locked)


def test_cpr_numbers_are_refused_unless_allowed_and_then_dropped(tmp_path):
    frame = pd.read_csv(DATA, dtype={"participant_id": str})
    frame["cpr"] = [
        f"{(i % 28) + 1:02d}{(i % 12) + 1:02d}{(60 + i % 40):02d}-{1000 + i:04d}" for i in range(len(frame))
    ]
    with pytest.raises(Exception, match=r"cpr.*look like Danish CPR numbers") as info:
        run_plan(PLAN, None, data=frame)
    assert frame["cpr"].iloc[0] not in str(info.value)
    plan = load_plan(PLAN)
    allowed = type(plan)(**{**plan.__dict__, "data": {**plan.data, "allow_cpr": True}})
    run = run_plan(allowed, None, data=frame)
    assert "cpr" not in run.run.trial.data.columns


def test_the_report_renders_offline_in_chromium_with_the_headline_and_every_figure(runs, tmp_path):
    """Headless Chromium opens report.html: the page is not blank, shows the primary result's numbers, every
    figure decodes as an inline image, and no request leaves the file."""
    from _browser import chromium_available, render_page

    if not chromium_available():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from ipstrial.report.format import describe

    a, _ = runs
    page = render_page(a.report, tmp_path / "report.png")
    assert not page.blank
    assert page.external_requests == ()
    figures = sorted(p for p in (a.out / "figures").glob("*.png"))
    assert len(page.images) == len(figures) >= 9
    assert all(image.inline and image.ok for image in page.images)
    primary = a.results["itt_employment"]
    for row in primary.rows():
        if row.estimand in ("proportion", "risk_difference") and not row.variant:
            shown = describe(row)
            assert shown["estimate"] in page.text and shown["interval"] in page.text, (row.contrast, shown)


def test_no_count_below_min_count_reaches_the_tables_of_a_small_trial(tmp_path):
    """A 120-participant trial has subgroups, flows and risk sets below 5: every table of the run shows
    <5 (or a complementary *), and min_count = 0 shows them and says so in the report."""
    from ipstrial.synthetic import INKLUSION, simulate_trial

    data = simulate_trial(INKLUSION, n=120, seed=1)
    out = run_plan(PLAN, tmp_path / "small", data=data, data_note="small")
    count_columns = re.compile(r"^(n|n_\w+|events\w*|IPS|IPSE|SAU|Total|Overall|Treatment n/N|SAU n/N)$")
    small_seen = 0
    for csv in sorted((out.out / "tables").glob("*.csv")):
        if csv.stem == "business_case":
            continue
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
        for column in table.columns:
            if not count_columns.match(column):
                continue
            for cell in table[column]:
                first = cell.split(" ")[0].split("/")[0]
                if first.isdigit():
                    assert not 0 < int(first) < 5, (csv.name, column, cell)
                small_seen += cell.startswith("<5")
    assert small_seen > 0, "the small trial must have suppressed cells"
    assert "No table or figure shows a count of participants between 1 and 4" in out.report.read_text()

    plan = load_plan(PLAN)
    off = type(plan)(**{**plan.__dict__, "settings": {**plan.settings, "min_count": 0}})
    shown = run_plan(off, tmp_path / "off", data=data, data_note="small")
    text = shown.report.read_text()
    assert "Counts are not suppressed" in text
    consort = pd.read_csv(shown.out / "tables" / "consort.csv", dtype=str)
    assert not consort.map(lambda v: str(v).startswith("<")).any().any()


SMALL_PLAN = """
[plan]
name = "small"
title = "A small trial"

[data]
file = "small.csv"

[trial]
id = "participant_id"
arm = "arm"
arms = ["IPS", "SAU"]
control = "SAU"
binary = ["employed_18m"]
hours = ["hours_18m"]

[settings]
seed = 1

[[analysis]]
name = "itt_employment"
kind = "proportions"
role = "primary"
outcome = "employed_18m"

[[analysis]]
name = "itt_region"
kind = "subgroups"
outcome = "employed_18m"
by = ["region"]

[[analysis]]
name = "itt_hours"
kind = "means"
outcome = "hours_18m"
"""


def test_small_cells_show_no_estimate_and_n_does_not_reveal_the_excluded(tmp_path):
    """A subgroup level of 3 participants shows no estimate in its table row nor in the forest plot; an arm
    with 4 participants excluded (outcome missing) shows n as *, since n = randomised - 4 would reveal it."""
    frame = pd.read_csv(DATA, dtype={"participant_id": str})
    frame = pd.concat([frame[frame.arm == "IPS"].head(40), frame[frame.arm == "SAU"].head(40)])
    frame["region"] = "north"
    south = frame.index[[0, 1, 45]]  # two IPS participants and one SAU participant
    frame.loc[south, "region"] = "south"
    frame["hours_18m"] = frame["hours_18m"].fillna(10.0)
    frame.loc[frame.index[[2, 3, 4, 5]], "hours_18m"] = float("nan")  # 4 IPS participants
    frame.to_csv(tmp_path / "small.csv", index=False)
    (tmp_path / "plan.toml").write_text(SMALL_PLAN)
    out = run_plan(tmp_path / "plan.toml", tmp_path / "out")
    region = pd.read_csv(out.out / "tables" / "itt_region.csv", dtype=str, keep_default_na=False)
    south_rows = region[region.Level == "south"]
    assert len(south_rows) == 1 and south_rows.Estimate.iloc[0] == "not shown"
    assert south_rows["95% CI"].iloc[0] == "" and south_rows.n.iloc[0] == "<5"
    north = region[region.Level == "north"]
    assert north.Estimate.iloc[0].endswith("pp")
    hours = pd.read_csv(out.out / "tables" / "itt_hours.csv", dtype=str, keep_default_na=False)
    assert set(hours.loc[hours.Contrast.str.contains("IPS"), "n"]) == {"*"}
    assert set(hours.loc[hours.Contrast == "SAU", "n"]) == {"40"}
    # the forest plot draws no estimate for the small level and says why
    import matplotlib.pyplot as plt

    from ipstrial.report.disclosure import use_min_count
    from ipstrial.report.forest import forest_figure

    with use_min_count(5):
        fig = forest_figure([out.results["itt_employment"], out.results["itt_region"]])
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    plt.close(fig)
    assert "not shown (<5)" in texts
    assert not any(t.startswith(("2/", "1/")) or "/2" in t or "/1 " in t for t in texts)


def test_verify_names_a_misspelt_tolerance_a_missing_file_and_changed_versions(runs, tmp_path):
    a, _ = runs
    expected = json.loads(EXPECTED.read_text())
    expected["tolerances"]["risk_diference"] = {"abs": 0.1}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(expected))
    with pytest.raises(
        PlanError, match=r"tolerance 'risk_diference' is not an estimand \(did you mean 'risk_difference'"
    ):
        verify(a.out / "results.json", bad)
    with pytest.raises(PlanError, match=r"not found; check the path \(write one from a run: ipstrial verify"):
        verify(a.out / "results.json", tmp_path / "none.json")
    with pytest.raises(PlanError, match=r"results file '.*expected.json' has no 'results', 'provenance'"):
        verify(EXPECTED, EXPECTED)
    older = json.loads(EXPECTED.read_text())
    older["software"]["numpy"] = "1.0.0"
    outcome = verify(a.out / "results.json", older)
    from importlib.metadata import version

    assert outcome.ok and outcome.software_changed == (f"numpy 1.0.0 -> {version('numpy')}",)
    assert "software versions differ" in outcome.report()
