"""The pre-specified analysis plan: its format and checks (ipstrial.plan), the template, and bad plans."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from ipstrial.errors import PlanError
from ipstrial.plan import KINDS, SECTIONS, load_plan, parse_plan, plan_template
from ipstrial.plan._spec import _ANALYSIS_COMMON

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "inklusion.toml"
DATA = ROOT / "data" / "synthetic" / "inklusion.csv"

MINIMAL = """
[plan]
name = "mini"
title = "A minimal plan"

[data]
file = "data.csv"

[trial]
id = "participant_id"
arm = "arm"
arms = ["IPS", "SAU"]
control = "SAU"
binary = ["employed_18m"]

[settings]
seed = 1

[[analysis]]
name = "itt_primary"
kind = "proportions"
outcome = "employed_18m"
"""


def test_the_committed_plan_loads_with_its_analyses_in_order():
    plan = load_plan(PLAN)
    assert plan.name == "inklusion"
    assert plan.trial["arms"] == ("IPS", "IPSE", "SAU") and plan.trial["control"] == "SAU"
    assert [a.role for a in plan.analyses][0] == "primary"
    assert plan.analyses[0].name == "itt_employment" and plan.analyses[0].columns == {
        "outcome": "employed_18m"
    }
    assert plan.settings["tau"] == 548 and plan.settings["seed"] == 2012
    assert plan.data["file"] == DATA.resolve()
    assert plan.label("employed_18m") == "In work or education within 18 months"
    assert plan.labels["cost_total"] == ("Total cost over 18 months", "DKK")
    # the plan's hash is that of the file's bytes
    import hashlib

    assert plan.sha256 == hashlib.sha256(PLAN.read_bytes()).hexdigest()


def test_the_committed_plan_names_the_committed_data_by_its_hash():
    import hashlib

    assert load_plan(PLAN).data["sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # an unknown key: the table, the key, a suggestion and the allowed keys
        (
            ("seed = 1", "seed = 1\nalhpa = 0.05"),
            r"\[settings\]: unknown key 'alhpa' \(did you mean 'alpha'\?\); "
            r"allowed keys: alpha, seed",
        ),
        # a missing required key
        (
            ('title = "A minimal plan"\n', ""),
            r"\[plan\]: missing required key 'title'; allowed keys: name, title",
        ),
        # a wrong type
        (
            ("seed = 1", 'seed = "one"'),
            r"\[settings\]: 'seed' must be a whole number from 0 to 2\*\*63 - 1, got 'one'",
        ),
        (("seed = 1", "seed = 1\nalpha = 5"), r"'alpha' must be a number between 0 and 1"),
        # an unknown kind lists the kinds
        (
            ('kind = "proportions"', 'kind = "eval"'),
            r"\[\[analysis\]\] 1 'itt_primary': the key 'kind' 'eval' is "
            r"not known; allowed kinds: proportions, marginal_effect",
        ),
        # an option of another kind, and a missing outcome
        (
            ('outcome = "employed_18m"', 'outcome = "employed_18m"\ntau = 3'),
            r"\[\[analysis\]\] 1 'itt_primary': "
            r"unknown key 'tau'; allowed keys: name, kind, role, title, treatment, seed, outcome, method, "
            r"adjust",
        ),
        (('outcome = "employed_18m"', ""), r"missing required key 'outcome'"),
        # an unknown table
        (
            ("[settings]", "[setting]\nseed = 2\n[settings]"),
            r"\(top level\): unknown key 'setting' \(did you mean "
            r"'settings'\?\)",
        ),
        # the control must be an arm
        (
            ('control = "SAU"', 'control = "TAU"'),
            r"\[trial\] control 'TAU' is not one of the arms \['IPS', 'SAU'\]",
        ),
        # a duration analysed must be declared with its event column
        (
            (
                'outcome = "employed_18m"',
                'outcome = "employed_18m"\n[[analysis]]\nname = "km"\nkind = '
                '"kaplan_meier"\nduration = "days_to_job"',
            ),
            r"the duration 'days_to_job' is not in \[trial\] durations",
        ),
        # two analyses with one name
        (
            (
                'outcome = "employed_18m"',
                'outcome = "employed_18m"\n[[analysis]]\nname = "itt_primary"\nkind = '
                '"proportions"\noutcome = "employed_18m"',
            ),
            r"the name 'itt_primary' is used twice",
        ),
        (("[[analysis]]", "[other]"), r"unknown key 'other'"),
        (("[data]", "[data\n"), r"not valid TOML"),
    ],
)
def test_a_bad_plan_is_refused_naming_where_and_what_is_allowed(edit, expected):
    old, new = edit
    assert old in MINIMAL
    with pytest.raises(PlanError, match=expected):
        parse_plan(MINIMAL.replace(old, new, 1), "plan.toml")


def test_a_plan_without_analyses_or_tables_is_refused():
    with pytest.raises(
        PlanError, match=r"missing tables \[data\], \[trial\], \[settings\], \[\[analysis\]\]"
    ):
        parse_plan('[plan]\nname = "x"\ntitle = "y"\n', "p.toml")


def test_a_plan_is_data_never_code(tmp_path):
    """Nothing in a plan is evaluated: code in a value is a column name that is not in the data."""
    from ipstrial.plan import run_plan

    marker = tmp_path / "pwned"
    text = MINIMAL.replace(
        'outcome = "employed_18m"', f"outcome = \"__import__('os').system('touch {marker}')\""
    )
    frame = pd.read_csv(DATA)
    frame[frame.arm != "IPSE"].to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "plan.toml").write_text(text)
    with pytest.raises(PlanError, match=r"column.* not in the data"):
        run_plan(tmp_path / "plan.toml", tmp_path / "out")
    assert not marker.exists()
    source = "\n".join(p.read_text() for p in (ROOT / "ipstrial" / "plan").glob("*.py"))
    assert not re.search(r"(?<![.\w])(eval|exec|compile|__import__)\(", source)


def test_the_documentation_lists_every_key_and_kind():
    readme = (ROOT / "analysis" / "README.md").read_text()
    for section, keys in SECTIONS.items():
        assert f"### `[{section}]`" in readme
        for key in keys:
            assert f"| `{key}` |" in readme, (section, key)
    for key in _ANALYSIS_COMMON:
        assert f"| `{key}` |" in readme
    for kind in KINDS:
        assert f"| `{kind}` |" in readme


def test_the_template_of_the_synthetic_data_is_a_plan_with_its_roles_guessed(tmp_path):
    out = tmp_path / "plan.toml"
    text = plan_template(DATA, out=out)
    out.write_text(text)
    plan = load_plan(out)
    assert plan.data["file"] == DATA.resolve()
    assert plan.trial["id"] == "participant_id" and plan.trial["arm"] == "arm"
    assert plan.trial["arms"] == ("IPS", "IPSE", "SAU")
    assert dict(plan.trial["durations"]) == {"days_to_job": "event"}
    assert "employed_18m" in plan.trial["binary"] and "cost_total" in plan.trial["costs"]
    assert plan.analyses[0].kind == "proportions"
    # every column is listed, with no value of it (nothing personal is copied into a plan)
    for column in pd.read_csv(DATA, nrows=1).columns:
        assert re.search(rf"^#   {column}\s", text, re.M)
    assert "P0001" not in text and "Copenhagen" not in text
    assert "CHECK" in text


def test_the_template_refuses_a_missing_file(tmp_path):
    with pytest.raises(PlanError, match="not found"):
        plan_template(tmp_path / "none.csv")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("seed = 1", "seed = 1\nmin_count = -1"),
            r"\[settings\]: 'min_count' must be a whole number of 0 or more",
        ),
        (
            ('kind = "proportions"', 'kind = "proportion"'),
            r"'proportion' is not known \(did you mean 'proportions'\?\)",
        ),
        (
            ("seed = 1", 'seed = 1\n[costs]\nbusiness_case = "nowhere.toml"'),
            r"\[costs\] business_case 'nowhere.toml' "
            r"not found",
        ),
    ],
)
def test_more_bad_plans_name_the_place(edit, expected, tmp_path):
    old, new = edit
    (tmp_path / "plan.toml").write_text(MINIMAL.replace(old, new, 1))
    with pytest.raises(PlanError, match=expected):
        load_plan(tmp_path / "plan.toml")


def _small_data(tmp_path):
    frame = pd.read_csv(DATA, dtype={"participant_id": str})
    frame[frame.arm != "IPSE"].to_csv(tmp_path / "data.csv", index=False)


def test_a_label_of_a_column_not_in_the_data_is_an_error(tmp_path):
    from ipstrial.plan import run_plan

    _small_data(tmp_path)
    (tmp_path / "plan.toml").write_text(MINIMAL + '\n[labels]\nemployed_81m = "In work"\n')
    with pytest.raises(PlanError, match=r"'employed_81m' \(\[labels\]; did you mean 'employed_18m'\?\)"):
        run_plan(tmp_path / "plan.toml", None)


def test_an_arm_missing_from_the_plan_is_named_with_the_plan(tmp_path):
    from ipstrial.plan import run_plan

    frame = pd.read_csv(DATA, dtype={"participant_id": str})
    frame.to_csv(tmp_path / "data.csv", index=False)  # IPSE is in the data, not in [trial] arms
    (tmp_path / "plan.toml").write_text(MINIMAL)
    with pytest.raises(PlanError, match=r"(?s)plan.toml: the data do not fit the plan's \[trial\]: .*IPSE"):
        run_plan(tmp_path / "plan.toml", None)


def test_a_plan_of_time_to_event_analyses_only_runs_into_a_report(tmp_path):
    from ipstrial.plan import run_plan

    _small_data(tmp_path)
    text = MINIMAL.replace('binary = ["employed_18m"]', 'durations = { days_to_job = "event" }').replace(
        'kind = "proportions"\noutcome = "employed_18m"', 'kind = "kaplan_meier"\nduration = "days_to_job"'
    )
    (tmp_path / "plan.toml").write_text(text)
    out = run_plan(tmp_path / "plan.toml", tmp_path / "out")
    assert "Participant flow" in out.report.read_text()
    assert (tmp_path / "out" / "figures" / "itt_primary.png").is_file()


def test_a_second_run_into_the_same_folder_leaves_no_file_of_the_first(tmp_path):
    from ipstrial.plan import run_plan

    _small_data(tmp_path)
    (tmp_path / "plan.toml").write_text(MINIMAL)
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "old_analysis.csv").write_text("stale")
    (out / "figures").mkdir()
    (out / "figures" / "old.png").write_bytes(b"stale")
    (out / "notes.txt").write_text("mine")  # not an output of a run: kept
    run_plan(tmp_path / "plan.toml", out)
    assert not (out / "tables" / "old_analysis.csv").exists() and not (out / "figures" / "old.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "tables" / "itt_primary.csv").is_file()


def test_the_template_refuses_to_overwrite_and_names_semicolons_and_cpr(tmp_path, capsys):
    from ipstrial.cli import main

    plan = tmp_path / "plan.toml"
    plan.write_text("# my edits\n")
    assert main(["plan", "template", str(DATA), "--out", str(plan)]) == 2
    assert "exists; give another file name, or add --force" in capsys.readouterr().err
    assert plan.read_text() == "# my edits\n"
    assert main(["plan", "template", str(DATA), "--out", str(plan), "--force"]) == 0
    assert load_plan(plan).name == "my_trial"
    semi = tmp_path / "semi.csv"
    semi.write_text("pid;group;job\n1;A;0\n2;B;1\n")
    with pytest.raises(PlanError, match="separated by semicolons or tabs"):
        plan_template(semi)
    frame = pd.read_csv(DATA).head(50)
    frame["cpr"] = [f"{(i % 28) + 1:02d}0{(i % 9) + 1}85-{1000 + i}" for i in range(len(frame))]
    frame.to_csv(tmp_path / "cpr.csv", index=False)
    text = plan_template(tmp_path / "cpr.csv")
    assert re.search(r"^#   cpr\s.*LOOKS LIKE CPR NUMBERS", text, re.M)
    assert '"cpr"' not in text.split("[trial]")[1]
