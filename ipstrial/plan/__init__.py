"""A pre-specified analysis plan (TOML) run into results, a ``results.json`` and a report.

* :func:`load_plan` reads and checks a plan (the allowed keys and analysis kinds are in
  :data:`SECTIONS` and :data:`KINDS`; the format is documented in ``analysis/README.md``);
* :func:`run_plan` runs it and writes ``results.json``, the tables, the figures and the HTML report;
* :func:`plan_template` writes a commented plan for a CSV file, to start from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipstrial.plan._run import PlanRun, execute_plan
from ipstrial.plan._spec import KINDS, SECTIONS, AnalysisSpec, Plan, load_plan, parse_plan
from ipstrial.plan._template import plan_template
from ipstrial.plan._write import RunOutput, check_out_dir, write_outputs

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "KINDS",
    "SECTIONS",
    "AnalysisSpec",
    "Plan",
    "PlanRun",
    "RunOutput",
    "execute_plan",
    "load_plan",
    "parse_plan",
    "plan_template",
    "run_plan",
]


def run_plan(
    plan: Plan | str | Path,
    out: str | Path | None = None,
    *,
    data: pd.DataFrame | str | Path | None = None,
    data_note: str = "",
    quiet: bool = True,
    created_at: Any = None,
) -> RunOutput:
    """Run a pre-specified analysis plan and write its outputs.

    The data file is read and its SHA-256 checked against the plan's; columns that look like CPR numbers
    are refused; the :class:`~ipstrial.Trial` is built from ``[trial]``; every ``[[analysis]]`` runs in plan
    order through the public estimator it names, with the plan's settings and seeds. Into ``out`` go
    ``results.json`` (:mod:`ipstrial.reproduce`), ``tables/`` (CSV and Markdown), ``figures/`` (PNG and SVG)
    and ``report.html`` (self-contained). Two runs with the same inputs write identical ``results.json``
    bytes apart from ``created_at``.

    Parameters
    ----------
    plan
        A :class:`Plan` or the path of its TOML file.
    out
        The output folder (created if needed; checked before any computation); None: write nothing.
    data
        Data in place of the plan's file (the demo's simulated trial); the hash is recorded, not checked.
    data_note
        Why ``data`` replaces the plan's file, recorded in the provenance and the report.
    quiet
        True: no progress bar (one is shown on a terminal otherwise).
    created_at
        The run's time (a timezone-aware datetime); default now.

    Returns
    -------
    RunOutput
        ``.results`` (analysis name -> result), ``.ard``, ``.document`` (the results.json content),
        ``.report`` (the HTML path) and ``.files``.
    """
    from ipstrial._progress import progress_for

    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    folder = None if out is None else check_out_dir(out)
    run = execute_plan(plan, data=data, data_note=data_note, progress=progress_for(quiet))
    return write_outputs(run, folder, created_at=created_at)
