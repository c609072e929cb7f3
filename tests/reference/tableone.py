"""Reference values for ipstrial.report.table_one from the Python ``tableone`` package.

Pollard TJ, Johnson AEW, Raffa JD, Mark RG. tableone: An open source Python package for producing summary
statistics for research papers. JAMIA Open 2018;1(1):26-31. Categorical SMDs follow Yang D, Dalton JE,
"A unified approach to measuring the effect size between two groups using SAS", SAS Global Forum 2012,
paper 335-2012 (the Mahalanobis form, first level dropped).

Run in a separate environment (tableone is not a dependency of ipstrial):

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install tableone pandas
    /tmp/tv/bin/python tests/reference/tableone.py

It reads data/synthetic/inklusion.csv and writes tests/reference/tableone.json: for IPS vs SAU and IPSE vs
SAU (each TableOne run on the rows of the two arms, SAU first so that "SMD (SAU,<arm>)" is treatment minus
control for continuous variables), the SMDs at full precision, the per-arm and overall numbers (count,
mean, SD, median, quartiles; frequency and percent per level), the Missing count and the formatted cells.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

# this file is named tableone.py: take its folder off the path so that the package is imported, not itself
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import pandas as pd  # noqa: E402
import tableone  # noqa: E402
from tableone import TableOne  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data" / "synthetic" / "inklusion.csv"
OUT = HERE / "tableone.json"

VARIABLES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use", "hours_18m"]
CATEGORICAL = ["sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
NONNORMAL = ["hours_18m"]
CONTROL = "SAU"


def number(x: object) -> float | int | None:
    if isinstance(x, str) or x is None:
        return None
    value = float(x)  # type: ignore[arg-type]
    if math.isnan(value):
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def run(data: pd.DataFrame, treatment: str) -> dict[str, object]:
    sub = data[data["arm"].isin([treatment, CONTROL])].reset_index(drop=True)
    t1 = TableOne(
        sub,
        columns=VARIABLES,
        categorical=CATEGORICAL,
        nonnormal=NONNORMAL,
        groupby="arm",
        order={"arm": [CONTROL, treatment]},
        smd=True,
        pval=False,
        overall=True,
        missing=True,
    )
    smd_column = f"SMD ({CONTROL},{treatment})"
    smd = {v: float(t1.smd_table.loc[v, smd_column]) for v in VARIABLES}
    # the Overall column: TableOne without groupby on the same rows
    overall = TableOne(sub, columns=VARIABLES, categorical=CATEGORICAL, nonnormal=NONNORMAL, missing=True)
    continuous: dict[str, dict[str, dict[str, object]]] = {}
    stats = ["count", "mean", "std", "median", "q25", "q75"]
    for v in t1.cont_describe.index:
        continuous[v] = {
            arm: {s: number(t1.cont_describe[s][arm].loc[v]) for s in stats} for arm in (treatment, CONTROL)
        }
        continuous[v]["Overall"] = {s: number(overall.cont_describe[s]["Overall"].loc[v]) for s in stats}
    categorical: dict[str, dict[str, dict[str, dict[str, object]]]] = {}
    for (v, level), row in t1.cat_describe.iterrows():
        for arm in (treatment, CONTROL):
            cell = {"freq": number(row[("freq", arm)]), "percent": number(row[("percent", arm)])}
            categorical.setdefault(v, {}).setdefault(str(level), {})[arm] = cell
    for (v, level), row in overall.cat_describe.iterrows():
        cell = {"freq": number(row[("freq", "Overall")]), "percent": number(row[("percent", "Overall")])}
        categorical[v][str(level)]["Overall"] = cell
    table = t1.tableone
    top = table.columns.levels[0][0]
    cells = []
    for (name, level), row in table.iterrows():
        cells.append(
            {
                "row": name,
                "level": level,
                **{c: str(row[(top, c)]) for c in ["Missing", "Overall", CONTROL, treatment, smd_column]},
            }
        )
    missing = {v: int(sub[v].isna().sum()) for v in VARIABLES}
    missing_by_arm = {
        v: {a: int(sub.loc[sub["arm"] == a, v].isna().sum()) for a in (treatment, CONTROL)} for v in VARIABLES
    }
    return {
        "treatment": treatment,
        "control": CONTROL,
        "n": {a: int((sub["arm"] == a).sum()) for a in (treatment, CONTROL)} | {"Overall": len(sub)},
        "smd": smd,
        "continuous": continuous,
        "categorical": categorical,
        "missing": missing,
        "missing_by_arm": missing_by_arm,
        "cells": cells,
    }


def main() -> None:
    data = pd.read_csv(DATA)
    result = {
        "source": f"tableone {tableone.__version__}, pandas {pd.__version__}; tests/reference/tableone.py",
        "data": "data/synthetic/inklusion.csv",
        "variables": VARIABLES,
        "categorical": CATEGORICAL,
        "nonnormal": NONNORMAL,
        "contrasts": [run(data, "IPS"), run(data, "IPSE")],
    }
    OUT.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    main()
