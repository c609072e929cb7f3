"""``ipstrial plan template DATA.csv``: a commented plan for a user's own CSV, to start from.

The template lists the columns found (type, missing values, distinct values; never a value, so that nothing
personal is copied into a plan) and fills in guesses that the user must check: the id column (unique text
or whole numbers named like an id), the arm column (named arm, group, allocation or randomi[sz]ation, with
few labels), 0/1 outcome columns, time-to-event pairs (a duration beside an ``event`` or ``status``
column), cost columns (``cost_*``). Every guess is marked ``# CHECK``. The template is a valid plan
(:func:`ipstrial.plan.parse_plan` accepts it) once its guesses hold.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ipstrial.errors import PlanError
from ipstrial.plan._spec import KINDS, SECTIONS, sha256_of

__all__ = ["plan_template"]

_ARM_NAMES = ("arm", "group", "allocation", "randomisation", "randomization", "treatment")
_EVENT_NAMES = ("event", "status", "censor", "censored")


def _toml(value: object) -> str:
    """A TOML literal of a string, number or list of strings (JSON's quoting is valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def plan_template(data: str | Path, out: str | Path | None = None) -> str:
    """A commented analysis plan for the CSV file ``data`` (see the module docstring).

    Parameters
    ----------
    data
        The participant-level CSV file.
    out
        Where the plan will be written: the data path in the plan is relative to its folder.

    Returns
    -------
    str
        The TOML text.
    """
    import pandas as pd

    path = Path(data)
    if not path.is_file():
        raise PlanError(f"data file '{data}' not found; give the participant-level CSV file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise PlanError(
            f"'{data}' cannot be read as CSV ({exc}); give a comma-separated file with a header"
        ) from None
    if frame.shape[1] == 0:
        raise PlanError(f"'{data}' has no columns")
    if frame.shape[1] == 1 and any(sep in str(frame.columns[0]) for sep in (";", "\t")):
        raise PlanError(
            f"'{data}' reads as one column {str(frame.columns[0])[:40]!r}...: it looks separated by "
            "semicolons or tabs; save it as a comma-separated CSV (pandas: df.to_csv(path, index=False))"
        )
    from ipstrial.report.disclosure import cpr_columns

    cpr = set(cpr_columns(frame))
    base = Path(out).resolve().parent if out is not None else Path.cwd()
    relative = os.path.relpath(path.resolve(), base)
    numeric = {c: pd.to_numeric(frame[c], errors="coerce") for c in frame.columns}
    is_number = {
        c: bool(frame[c].notna().any()) and numeric[c].notna().sum() == frame[c].notna().sum()
        for c in frame.columns
    }
    lower = {c: c.lower() for c in frame.columns}

    def binary(c: str) -> bool:
        values = set(numeric[c].dropna().unique())
        return is_number[c] and bool(values) and values <= {0, 1}

    ids = [
        c
        for c in frame.columns
        if ("id" in lower[c].split("_") or lower[c] in ("id", "pid", "subject"))
        and frame[c].notna().all()
        and frame[c].is_unique
    ]
    id_col = ids[0] if ids else str(frame.columns[0])
    arms_guess = [c for c in frame.columns if lower[c] in _ARM_NAMES and 2 <= frame[c].nunique() <= 10]
    arm_col = arms_guess[0] if arms_guess else ""
    labels = sorted(frame[arm_col].dropna().unique().tolist()) if arm_col else []
    events = [c for c in frame.columns if lower[c] in _EVENT_NAMES]
    durations = {}
    for event in events:
        candidates = [
            c
            for c in frame.columns
            if is_number[c]
            and c != event
            and not binary(c)
            and any(w in lower[c] for w in ("time", "days", "weeks", "months", "duration", "_to_"))
        ]
        if candidates:
            durations[candidates[0]] = event
    taken = {id_col, arm_col, *events, *durations, *cpr}
    binaries = [c for c in frame.columns if c not in taken and binary(c)]
    costs = [c for c in frame.columns if lower[c].startswith("cost") and is_number[c]]
    covariates = [c for c in frame.columns if c not in taken and c not in costs and c not in binaries]

    lines = [
        f"# Analysis plan for {path.name}, by `ipstrial plan template`: check each line marked CHECK.",
        "# The format is documented in analysis/README.md; a plan is data (nothing in it is executed).",
        "#",
        f"# Columns found in {path.name} ({len(frame)} rows): name, type, missing values, distinct values",
    ]
    width = max(len(str(c)) for c in frame.columns)
    for c in frame.columns:
        kind = "0/1" if binary(c) else ("number" if is_number[c] else "text")
        lines.append(
            f"#   {str(c).ljust(width)}  {kind:6}  missing {int(frame[c].isna().sum()):>5}  "
            f"distinct {frame[c].nunique():>5}"
            + ("  LOOKS LIKE CPR NUMBERS: drop it from the data" if c in cpr else "")
        )
    lines += [
        "",
        "[plan]",
        'name = "my_trial"                 # CHECK: snake_case; an expected-results file records it',
        'title = "My trial: statistical analysis plan"',
        'version = "1.0"',
        "",
        "[data]",
        f"file = {_toml(relative)}",
        f'sha256 = "{sha256_of(path)}"    # the data file\'s hash: a changed file is refused',
        "# allow_cpr = false               # true only if a column that looks like CPR numbers is not one",
        "",
        "[trial]",
        f"id = {_toml(id_col)}" + ("" if ids else "                      # CHECK: no unique id column found"),
        f"arm = {_toml(arm_col)}"
        + ("                 # CHECK" if arm_col else "   # CHECK: name the arm column"),
        f"arms = {_toml(labels)}            # CHECK: the order of every table",
        f"control = {_toml(labels[-1] if labels else '')}    # CHECK: the control arm",
        "strata = []                       # CHECK: the stratification factors of the randomisation",
        f"covariates = {_toml(covariates[:8])}   # CHECK: the pre-specified baseline covariates",
        f"binary = {_toml(binaries)}   # CHECK: 0/1 outcomes",
    ]
    if durations:
        pairs = ", ".join(f"{d} = {_toml(e)}" for d, e in durations.items())
        lines.append(f"durations = {{ {pairs} }}   # CHECK: duration = its event column")
    if costs:
        lines.append(f"costs = {_toml(costs)}")
    lines += [
        "",
        "[settings]",
        "alpha = 0.05",
        "seed = 1                          # CHECK: the seed of every random step",
    ]
    for key, spec in SECTIONS["settings"].items():
        if key not in ("alpha", "seed"):
            lines.append(f"# {key} = ...   # {spec.help}")
    lines += ["", "[labels]", '# column = "label", or column = { label = "...", unit = "DKK" }']
    first = binaries[0] if binaries else None
    if first:
        lines += [
            "",
            "[[analysis]]",
            f'name = "itt_{first}"',
            'kind = "proportions"',
            'role = "primary"                  # CHECK',
            f"outcome = {_toml(first)}",
        ]
    else:
        lines += ["", "# [[analysis]] entries: name, kind, role and the kind's outcome columns and options"]
    if durations:
        d = next(iter(durations))
        lines += [
            "",
            "[[analysis]]",
            f'name = "survival_{d}"',
            'kind = "kaplan_meier"',
            f"duration = {_toml(d)}",
        ]
    lines += ["", "# analysis kinds:"]
    lines += [f"#   {name:22} {kind.help}" for name, kind in KINDS.items()]
    return "\n".join(lines) + "\n"
