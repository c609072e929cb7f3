"""The Jupyter and Quarto reports in reports/ run, and show their results through ``_repr_html_``.

``reports/inklusion.ipynb`` is executed with nbclient in a kernel of this interpreter, with the working
directory ``reports/`` (as Jupyter runs it); the code cells of ``reports/inklusion.qmd`` (the Quarto CLI
cannot be installed here) are executed in order in one namespace, also from ``reports/``, the way Quarto's
Jupyter engine runs them. Both must show every result as an ``ipstrial-result`` HTML table, and the numbers
shown must be the headline numbers computed here independently from the CSV: proportions from the counts,
Wilson score limits and Newcombe's hybrid score interval from their closed forms (Newcombe 1998, method 10),
the g-computation risk difference from a statsmodels logistic fit, Kaplan-Meier medians and RMST from
lifelines, and mean cost differences from pandas.

A shown number matches a reference when it is the reference rounded to the decimals shown (or the reference
as a percentage, so that either presentation passes), with at least two significant digits.
"""

from __future__ import annotations

import ast
import html
import json
import math
import re
import sys

import pandas as pd
import pytest
from conftest import COVARIATES, INKLUSION_CSV, ROOT

REPORTS = ROOT / "reports"
NOTEBOOK = REPORTS / "inklusion.ipynb"
QMD = REPORTS / "inklusion.qmd"

RESULT_CELLS = ("headline", "adjusted", "km", "rmst", "cea")
"""Ids of the notebook cells whose last expression is an ipstrial result."""
FIGURE_CELLS = ("km-figure", "ce-plane")
Z = 1.959963984540054  # standard normal 0.975 quantile


# -- independent references -------------------------------------------------------------------


def _wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927; Newcombe 1998 method 3)."""
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def _newcombe(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """Risk difference with Newcombe's hybrid score interval (Newcombe 1998, method 10)."""
    p1, p0 = x1 / n1, x0 / n0
    (l1, u1), (l0, u0) = _wilson(x1, n1), _wilson(x0, n0)
    d = p1 - p0
    return d, d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


@pytest.fixture(scope="module")
def reference() -> dict[str, list[float]]:
    """The numbers each result cell must show, by cell id, computed without ipstrial."""
    import statsmodels.formula.api as smf
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    data = pd.read_csv(INKLUSION_CSV)
    counts = data.groupby("arm").employed_18m.agg(["sum", "count"])
    x = {arm: int(counts.loc[arm, "sum"]) for arm in counts.index}
    n = {arm: int(counts.loc[arm, "count"]) for arm in counts.index}
    headline = [x[a] / n[a] for a in ("IPS", "IPSE", "SAU")]
    for arm in ("IPS", "IPSE"):
        headline += list(_newcombe(x[arm], n[arm], x["SAU"], n["SAU"]))

    terms = [f"C({c})" if data[c].dtype == object else c for c in COVARIATES]
    fit = smf.logit("employed_18m ~ C(arm) + " + " + ".join(terms), data=data).fit(disp=0)
    marginal = {arm: float(fit.predict(data.assign(arm=arm)).mean()) for arm in ("IPS", "IPSE", "SAU")}
    adjusted = [marginal["IPS"] - marginal["SAU"], marginal["IPSE"] - marginal["SAU"], *marginal.values()]

    km, rmst = [], {}
    for arm in ("IPS", "IPSE", "SAU"):
        part = data[data.arm == arm]
        fitter = KaplanMeierFitter().fit(part.days_to_job, part.event == 1)
        km.append(float(fitter.median_survival_time_))
        if arm != "IPSE":
            rmst[arm] = float(restricted_mean_survival_time(fitter, t=548))
    mean_cost = data.groupby("arm").cost_total.mean()
    mean_effect = data.groupby("arm").employed_18m.mean()
    delta_cost = float(mean_cost["IPS"] - mean_cost["SAU"])
    delta_effect = float(mean_effect["IPS"] - mean_effect["SAU"])
    return {
        "headline": headline,
        "adjusted": adjusted,
        "km": km,
        "rmst": [rmst["IPS"], rmst["SAU"], rmst["IPS"] - rmst["SAU"]],
        "cea": [float(mean_cost["IPS"]), float(mean_cost["SAU"]), delta_cost, delta_effect],
    }


# -- reading what was shown -------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?")


def _shown_numbers(page: str) -> list[tuple[float, int, int]]:
    """The numbers in the text of an HTML fragment: (value, decimals shown, significant digits shown)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    out = []
    for token in _NUMBER.findall(text):
        token = token.rstrip(",").replace("−", "-")
        plain = token.replace(",", "")
        if "," in token and not re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", token):
            continue  # a list such as "1,2", not a thousands separator
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        significant = len(plain.lstrip("-").replace(".", "").lstrip("0"))
        out.append((float(plain), decimals, significant))
    return out


def _shows(page: str, value: float) -> bool:
    """True when ``page`` shows ``value`` (or ``100 * value``) rounded to the decimals it shows."""
    for shown, decimals, significant in _shown_numbers(page):
        if significant < 2:
            continue
        tolerance = 0.5 * 10.0**-decimals + 1e-9
        if abs(shown - value) <= tolerance or abs(shown - 100 * value) <= tolerance:
            return True
    return False


def _check_numbers(pages: dict[str, str], reference: dict[str, list[float]], source: str) -> None:
    missing = {cell: [v for v in values if not _shows(pages[cell], v)] for cell, values in reference.items()}
    missing = {cell: values for cell, values in missing.items() if values}
    assert not missing, f"{source}: reference numbers not shown in the cells' HTML: {missing}"


def test_shown_number_matching_can_fail():
    page = "<td>0.157</td><td>(0.067, 0.243)</td><td>-95,476</td><td>368 days</td><td>15.7 %</td>"
    assert _shows(page, 0.15661) and _shows(page, 0.0671) and _shows(page, -95475.8) and _shows(page, 368.2)
    assert not _shows(page, 0.1586) and not _shows(page, -95485.0) and not _shows(page, 0.5)
    assert not _shows("<td>0</td>", 0.1)  # one significant digit never matches


# -- the files themselves ---------------------------------------------------------------------


def _notebook():
    nbformat = pytest.importorskip(
        "nbformat", reason="nbformat is needed to read the notebook (pip install nbformat)"
    )
    return nbformat.read(NOTEBOOK, as_version=4)


def _qmd_cells() -> list[str]:
    """The ```{python} code cells of the .qmd, in order."""
    return [
        m.group(1) for m in re.finditer(r"^```\{python\}\n(.*?)^```$", QMD.read_text("utf-8"), re.M | re.S)
    ]


def test_notebook_is_committed_clean():
    notebook = _notebook()
    import nbformat

    nbformat.validate(notebook)
    # committed byte for byte as nbformat writes it (one-space indent, sorted keys, final newline)
    assert NOTEBOOK.read_text("utf-8") == nbformat.writes(notebook) + "\n"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "clear the notebook's outputs"
    assert notebook.metadata == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    assert all(c.metadata == {} for c in notebook.cells)
    assert {*RESULT_CELLS, *FIGURE_CELLS, "trial", "plan"} <= {c.id for c in code}


def test_qmd_has_the_notebooks_code():
    """The Quarto document and the notebook run the same code, cell by cell."""
    text = QMD.read_text("utf-8")
    assert text.startswith("---\n") and "\njupyter: python3\n" in text.split("\n---\n", 1)[0]
    code = [c.source for c in _notebook().cells if c.cell_type == "code"]
    assert [c.rstrip("\n") for c in _qmd_cells()] == code


def test_ci_example_runs_plan_verify_and_uploads():
    text = (REPORTS / "ci-example.yml").read_text("utf-8")
    assert "\t" not in text
    for step in (
        "uses: actions/checkout@v",
        'python-version: "3.11"',
        "pip install -e .",
        "ipstrial run analysis/inklusion.toml --out out --quiet",
        "ipstrial verify out/results.json --expected analysis/inklusion_expected.json",
        "uses: actions/upload-artifact@v",
        "path: out/",
    ):
        assert step in text, step
    yaml = pytest.importorskip("yaml", reason="PyYAML parses the workflow when it is installed")
    workflow = yaml.safe_load(text)
    assert [s.get("uses", s.get("run", "")).split("@")[0] for s in workflow["jobs"]["reproduce"]["steps"]][
        :2
    ] == [
        "actions/checkout",
        "actions/setup-python",
    ]


def test_reports_name_no_path_outside_the_repository():
    for path in (NOTEBOOK, QMD):
        text = path.read_text("utf-8")
        assert "../shared" not in text and "/work/" not in text and "/tmp/" not in text


# -- executing them ---------------------------------------------------------------------------


@pytest.fixture
def kernel_name(tmp_path, monkeypatch) -> str:
    """A kernelspec that runs ipykernel in this interpreter, found first on JUPYTER_PATH."""
    pytest.importorskip(
        "nbclient", reason="nbclient is needed to execute the notebook (pip install nbclient)"
    )
    pytest.importorskip(
        "ipykernel", reason="ipykernel is needed to execute the notebook (pip install ipykernel)"
    )
    name = "ipstrial-test-python3"
    spec = tmp_path / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": name, "language": "python"}), encoding="utf-8"
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend makes the PNG outputs
    return name


def test_notebook_executes_and_renders_results(kernel_name, reference):
    from nbclient import NotebookClient

    notebook = _notebook()
    NotebookClient(
        notebook, kernel_name=kernel_name, timeout=120, resources={"metadata": {"path": str(REPORTS)}}
    ).execute()
    cells = {c.id: c for c in notebook.cells if c.cell_type == "code"}

    def html_of(cell_id: str) -> str:
        outputs = [o for o in cells[cell_id].outputs if o.output_type == "execute_result"]
        assert outputs, f"cell {cell_id!r} shows no result"
        assert "text/html" in outputs[-1].data, f"cell {cell_id!r} has no HTML view"
        return outputs[-1].data["text/html"]

    assert 'class="ipstrial-trial"' in html_of("trial")
    pages = {cell: html_of(cell) for cell in RESULT_CELLS}
    for cell, page in pages.items():
        assert 'class="ipstrial-result"' in page, f"cell {cell!r} is not an ipstrial-result table"
    _check_numbers(pages, reference, "inklusion.ipynb")
    for cell in FIGURE_CELLS:
        kinds = [o.output_type for o in cells[cell].outputs]
        assert any("image/png" in o.get("data", {}) for o in cells[cell].outputs), (cell, kinds)
        assert "execute_result" not in kinds, f"cell {cell!r} shows the Axes' repr: end it with plt.show()"
    errors = [o for c in cells.values() for o in c.outputs if o.output_type == "error"]
    assert not errors
    plan = cells["plan"].outputs[-1]  # the primary analysis as the plan ran it, with the headline
    assert plan.output_type == "execute_result" and 'class="ipstrial-result"' in plan.data["text/html"]
    assert "HTML report: " in cells["plan"].outputs[0].text
    truth = html_of("truth")  # estimates beside the scenario's true values (0.599, 0.465, 0.134)
    assert all(_shows(truth, v) for v in (0.599, 0.465, 0.134))


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive:UserWarning")
def test_qmd_code_cells_execute_and_render_results(monkeypatch, reference):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(REPORTS)
    ids = [c.id for c in _notebook().cells if c.cell_type == "code"]
    namespace: dict[str, object] = {"__name__": "__main__"}
    shown: dict[str, object] = {}
    plt.close("all")
    try:
        for cell_id, source in zip(ids, _qmd_cells(), strict=True):
            tree = ast.parse(source, filename=f"inklusion.qmd:{cell_id}")
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, f"inklusion.qmd:{cell_id}", "exec"), namespace)  # noqa: S102
            if last is not None:
                expression = ast.Expression(last.value)
                shown[cell_id] = eval(compile(expression, f"inklusion.qmd:{cell_id}", "eval"), namespace)
            if cell_id in FIGURE_CELLS:
                figure = plt.gcf()
                assert plt.get_fignums() and figure.axes and figure.axes[0].has_data(), cell_id
                plt.close("all")
    finally:
        plt.close("all")
    assert 'class="ipstrial-trial"' in shown["trial"]._repr_html_()
    pages = {cell: shown[cell]._repr_html_() for cell in RESULT_CELLS}
    for cell, page in pages.items():
        assert 'class="ipstrial-result"' in page, cell
    _check_numbers(pages, reference, "inklusion.qmd")
