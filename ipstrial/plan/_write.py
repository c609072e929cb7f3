"""Write a plan's run: ``results.json``, tables (CSV and Markdown), figures (PNG and SVG) and the report.

The output folder after ``ipstrial run PLAN --out DIR``::

    DIR/results.json          every estimate, the provenance, created_at (ipstrial.reproduce)
    DIR/report.html           the self-contained report (reads offline)
    DIR/tables/<name>.csv     each table as formatted text (counts below min_count suppressed)
    DIR/tables/<name>.md      the same as Markdown
    DIR/figures/<name>.png    each figure (150 dpi), and .svg

Presentation reads the results; nothing here estimates. Counts below the plan's ``min_count`` never reach
a table, a figure or the report (:mod:`ipstrial.report.disclosure`); participant-level rows never do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipstrial.errors import PlanError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from ipstrial.plan._run import PlanRun
    from ipstrial.report.format import Labels

__all__ = ["RunOutput", "check_out_dir", "write_outputs"]

_SURVIVAL = ("kaplan_meier", "cumulative_incidence")


@dataclass(frozen=True)
class RunOutput:
    """What :func:`ipstrial.plan.run_plan` returns: the run and the files it wrote.

    Attributes
    ----------
    run
        The :class:`~ipstrial.plan.PlanRun` (results by analysis name, the trial, the seeds).
    out
        The output folder, or None when nothing was written.
    document
        The content of ``results.json``.
    files
        Every file written, by role (``results``, ``report``, ``table:<name>``, ``figure:<name>``).
    """

    run: PlanRun
    out: Path | None
    document: Mapping[str, Any]
    files: Mapping[str, Path] = field(default_factory=dict)

    @property
    def results(self) -> Mapping[str, Any]:
        """Analysis name -> result."""
        return self.run.results

    @property
    def ard(self) -> pd.DataFrame:
        """Every estimate as one analysis-results table."""
        return self.run.ard()

    @property
    def report(self) -> Path | None:
        """The HTML report, when written."""
        return self.files.get("report")


def check_out_dir(out: str | Path) -> Path:
    """The output folder, created if needed; a PlanError before any computation when it cannot be written."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise PlanError(f"--out '{out}' exists and is not a directory; give a folder for the outputs")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlanError(
            f"cannot create the output folder '{out}' ({exc.strerror or exc}); choose a folder you can "
            "write to"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PlanError(
            f"cannot write to the output folder '{out}' (permission denied); choose another folder"
        )
    return path


def _labels(run: PlanRun) -> Labels:
    """The plan's labels; a 0/1 outcome without a unit is a proportion (its mean reads as a percentage)."""
    from ipstrial.report.format import as_labels

    binary = set(run.trial.schema.binary)
    entries: dict[str, object] = {}
    for column, (label, unit) in run.plan.labels.items():
        unit = unit or ("proportion" if column in binary else None)
        entries[column] = (label, unit) if unit else label
    for column in binary - set(entries):
        entries[column] = (column, "proportion")
    return as_labels(entries)


class _Writer:
    """Writes tables and figures into the output folder and remembers them for the report."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.files: dict[str, Path] = {}
        self.figures: dict[str, bytes] = {}
        if out is not None:
            for folder, suffixes in (("tables", (".csv", ".md")), ("figures", (".png", ".svg"))):
                (out / folder).mkdir(exist_ok=True)
                for old in (out / folder).iterdir():  # a previous run's outputs: never mixed with this run's
                    if old.is_file() and old.suffix in suffixes:
                        old.unlink()

    def table(self, name: str, frame: pd.DataFrame, index: bool = False) -> None:
        from ipstrial.report.tables import markdown_table

        if self.out is None:
            return
        csv = self.out / "tables" / f"{name}.csv"
        frame.to_csv(csv, index=index, lineterminator="\n")
        md = self.out / "tables" / f"{name}.md"
        shown = frame.reset_index() if index else frame
        md.write_text(markdown_table(shown) + "\n", encoding="utf-8", newline="\n")
        self.files[f"table:{name}"] = csv

    def figure(self, name: str, make: Callable[[], Figure]) -> bytes | None:
        import matplotlib.pyplot as plt

        from ipstrial.report.document import figure_png, figure_svg

        fig = make()
        try:
            png = figure_png(fig)
            if self.out is not None:
                (self.out / "figures" / f"{name}.png").write_bytes(png)
                (self.out / "figures" / f"{name}.svg").write_bytes(figure_svg(fig))
                self.files[f"figure:{name}"] = self.out / "figures" / f"{name}.png"
        finally:
            plt.close(fig)
        self.figures[name] = png
        return png


def write_outputs(run: PlanRun, out: Path | None, *, created_at: Any = None) -> RunOutput:
    """Write ``results.json``, the tables, the figures and the report of ``run`` into ``out``."""
    from ipstrial.reproduce import results_document, write_json

    document = results_document(run, created_at)
    writer = _Writer(out)
    if out is not None:
        writer.files["results"] = write_json(document, out / "results.json")
    from ipstrial.report.disclosure import use_min_count
    from ipstrial.report.format import use_labels

    with use_labels(_labels(run)), use_min_count(run.plan.settings["min_count"]):
        from ipstrial.report.build import build_report

        html_text = build_report(run, writer, document)
    if out is not None:
        report = out / "report.html"
        report.write_text(html_text, encoding="utf-8", newline="\n")
        writer.files["report"] = report
    return RunOutput(run=run, out=out, document=document, files=dict(writer.files))
