"""The package as a whole: light import, public names, README set-up lines, CI script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ipstrial

ROOT = Path(__file__).parents[1]
HEAVY = ("statsmodels", "lifelines", "scipy.stats", "matplotlib", "seaborn")


def test_import_loads_no_heavy_library():
    code = (
        "import sys, ipstrial, ipstrial.schema, ipstrial.results, ipstrial.synthetic, "
        "ipstrial.randomization, ipstrial.cli, ipstrial.itt, ipstrial.missing, ipstrial.resampling, "
        "ipstrial.survival, ipstrial.economics, ipstrial.budget; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", sorted(set(ipstrial.__all__) - {"__version__"}))
def test_public_names_resolve(name):
    assert getattr(ipstrial, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = ipstrial.nonexistent


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e '.[test]' && ipstrial demo" in readme
    assert "pip install -e '.[test]' && pytest" in readme
    ci = (ROOT / ".ci/run").read_text()
    assert "pip install -e '.[test]' && pytest" in ci


def test_version_is_a_release_string():
    parts = ipstrial.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_readme_python_example_runs():
    import re

    block = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    assert len(namespace["data"]) == 720
    assert namespace["truth"].query("estimand == 'risk_difference'").value.round(6).tolist() == [0.134, 0.126]
    ard = namespace["ard"]
    assert set(ard.analysis) == {
        "itt_binary",
        "itt_marginal_effect",
        "itt_continuous",
        "missing_multiple_imputation",
    }
    assert set(ard.contrast) >= {"IPS vs SAU", "IPSE vs SAU"}
    assert not ard.duplicated(["analysis", "outcome", "contrast", "estimand", "variant"]).any()
    assert dict(namespace["ips_only"].inputs.outside) == {"IPSE": 241}
    assert namespace["trial"].arms == ("IPS", "IPSE", "SAU")
    assert namespace["restricted"].to_frame().query("estimand == 'rmst_difference'").estimate.iloc[0] < 0
    assert namespace["hr"].to_frame().query("estimand == 'hazard_ratio'").ci_low.iloc[0] > 1
    assert namespace["cea"].quadrant == "dominant"
    assert (
        namespace["case"].net.tolist() == [-2250, -2000, -1000, -1000]
        and namespace["case"].payback_years == 1
    )
    assert list(namespace["frontier"].frontier)[0] in {"IPS", "IPSE", "SAU"}
    assert namespace["allocation"].sha256 in namespace["record"]
    assert 0 < namespace["replayed"].p_value < 0.05


def test_every_result_class_names_its_analysis_area_first():
    import dataclasses
    import importlib
    import re

    for module in ("itt", "missing", "survival", "economics", "budget", "randomization"):
        importlib.import_module(f"ipstrial.{module}")
    from ipstrial.results import Result, Table

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = 0
    for cls in set(subclasses(Result)) - {Table}:
        if not cls.__module__.startswith("ipstrial."):
            continue
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if "analysis" in fields and fields["analysis"].default is not dataclasses.MISSING:
            name = fields["analysis"].default
            assert re.fullmatch(r"(itt|missing|survival|economics|budget|randomization)_[a-z_]+", name), (
                cls,
                name,
            )
            checked += 1
    assert checked >= 20
