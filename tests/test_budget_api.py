"""ipstrial.budget's public API: keyword-only options, neutral defaults, ARD keys, ``analysis=``, and no
dependency on the intention-to-treat area.

References: scipy.stats for the intervals at another level; the source documents' tables (via the TOML
files of ``analysis/``) for the contrasts they name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from ipstrial.budget import BusinessCase, cohort_projection, monitor, projection_from_toml
from ipstrial.errors import ParameterError
from ipstrial.results import ARD_KEY, collect

ROOT = Path(__file__).parents[1]
CASE_2017 = ROOT / "analysis/business_case_2017.toml"
SOM_2021 = ROOT / "analysis/som_ips_2021.toml"
VALUES = {"benefit": {"municipality": 100.0}}


def test_budget_does_not_import_the_itt_area():
    code = (
        "import sys\n"
        "import ipstrial.budget as b\n"
        "b.monitor(16, 73, 0.25, planned_n=75)\n"  # its intervals come from ipstrial.stats.proportions
        f"b.load({str(CASE_2017)!r}); b.load({str(SOM_2021)!r})\n"
        "leaked = sorted(m for m in sys.modules if m == 'ipstrial.itt' or m.startswith('ipstrial.itt.'))\n"
        "assert not leaked, leaked\n"
        "assert 'ipstrial.stats.proportions' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_monitor_rows_have_unique_keys_and_named_variants():
    result = monitor(16, 73, 0.25, planned_n=75)
    frame = result.to_frame()
    assert frame["variant"].tolist() == ["", "exact", "bayesian", ""]
    assert not frame.duplicated(list(ARD_KEY)).any()
    assert set(frame["analysis"]) == {"budget_monitor"}
    assert set(frame["outcome"]) == {"success"}  # a neutral default: say what a success is with outcome=
    named = monitor(16, 73, 0.25, outcome="in work or education", label="IPS Sydhavnen", analysis="sydhavnen")
    assert set(named.to_frame()["analysis"]) == {"sydhavnen"}
    assert set(named.to_frame()["outcome"]) == {"in work or education"}
    assert not collect(result, named).duplicated(list(ARD_KEY)).any()


def test_monitor_alpha_sets_every_interval_and_is_checked():
    result = monitor(16, 73, 0.25, alpha=0.1)
    frame = result.to_frame()
    assert frame["conf_level"].tolist() == pytest.approx([0.9, 0.9, 0.9])
    assert result.exact_low == pytest.approx(stats.beta.ppf(0.05, 16, 58), rel=1e-10)
    assert frame.iloc[2].ci_high == pytest.approx(stats.beta.ppf(0.95, 17, 58), rel=1e-10)
    for bad in ("0.05", 0.0, 1.5, None, True):
        with pytest.raises(ParameterError, match=r"alpha must be a number between 0 and 1"):
            monitor(16, 73, 0.25, alpha=bad)
    with pytest.raises(ParameterError, match="analysis must be a snake_case name"):
        monitor(16, 73, 0.25, analysis="Budget monitor")


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        monitor(16, 73, 0.25, (1, 1))  # type: ignore[misc]
    with pytest.raises(TypeError):
        cohort_projection([10], 1, 100.0, 0.1, VALUES, 1.0)  # type: ignore[misc]


def test_projection_labels_are_neutral_unless_given():
    default = cohort_projection([10], 1, 100.0, 0.1, VALUES)
    assert set(default.to_frame()["contrast"]) == {"programme vs base alternative"}
    som = projection_from_toml(SOM_2021)  # the file names its intervention
    assert set(som.to_frame()["contrast"]) == {"IPS vs base alternative"}
    renamed = cohort_projection([10], 1, 100.0, 0.1, VALUES, intervention="IPS", analysis="som_projection")
    assert set(renamed.to_frame()["analysis"]) == {"som_projection"}
    assert set(renamed.to_frame()["contrast"]) == {"IPS vs base alternative"}


def test_budget_results_have_unique_ard_keys():
    case = BusinessCase.from_toml(CASE_2017)
    frame = case.to_frame()
    assert frame["variant"].tolist() == ["year=2017", "year=2018", "year=2019", "year=2020", "npv"]
    results = [case, projection_from_toml(SOM_2021), monitor(16, 73, 0.25, planned_n=75)]
    for result in results:
        assert not result.to_frame().duplicated(list(ARD_KEY)).any(), type(result).__name__
    assert not collect(results).duplicated(list(ARD_KEY)).any()
