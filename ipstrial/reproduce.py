"""Provenance, ``results.json`` and :func:`verify`: tell a CI job when a published number moves.

``results.json`` has three top-level keys:

* ``results``: every estimate of a plan's run as analysis-results rows (the
  :data:`~ipstrial.results.ARD_COLUMNS`, then the row's extra columns), in plan order; a missing number is
  ``null``, an infinite one the string ``"inf"`` or ``"-inf"`` (a median time that is not reached);
* ``provenance``: ipstrial, Python and dependency versions, the plan's name and SHA-256, the data file's
  SHA-256, the seeds;
* ``created_at``: the time of the run (UTC), the only field that differs between two runs of the same plan on
  the same data with the same versions.

The file is written with sorted keys, two-space indentation and Python's shortest round-trip float repr, so
that two runs give identical bytes apart from ``created_at``.

An *expected* file (``analysis/inklusion_expected.json``) holds the plan's name, the tolerances (per
estimand, absolute and relative; a ``default``) and the expected value of every row.
:func:`verify` compares ``estimate, se, ci_low, ci_high, p_value`` (and ``n`` exactly) of every row: a value
matches when ``|got - expected| <= abs + rel * |expected|`` (the rule of :func:`math.isclose` with both
tolerances, applied as a sum as numpy's ``allclose`` does), both are missing, or both are the same infinity.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipstrial.errors import PlanError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.plan import PlanRun

__all__ = [
    "COMPARED",
    "DEFAULT_TOLERANCES",
    "Verification",
    "expected_from_results",
    "provenance",
    "read_json",
    "results_document",
    "verify",
    "write_json",
]

COMPARED: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "p_value")
"""The numbers of a row that :func:`verify` compares (``n`` is compared exactly)."""

DEFAULT_TOLERANCES: dict[str, dict[str, float]] = {"default": {"abs": 1e-9, "rel": 1e-9}}
"""Tolerances written by ``--update`` when the expected file has none: a run on another machine (another
BLAS, another CPU) may differ in the last digits, never more."""

DEPENDENCIES: tuple[str, ...] = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "seaborn",
)
_KEY = ("analysis", "outcome", "contrast", "estimand", "variant")


def _number(value: Any) -> Any:
    """A float for JSON: ``None`` for NaN, ``"inf"``/``"-inf"`` for infinities."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _from_json_number(value: Any) -> float:
    if value is None:
        return math.nan
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return float(value)


def result_rows(ard: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of an analysis-results frame as JSON records (extras only where the row has them)."""
    from ipstrial.results import ARD_COLUMNS, json_safe

    rows = []
    for record in ard.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for column in ARD_COLUMNS:
            value = record[column]
            if column in COMPARED or column == "conf_level":
                row[column] = _number(value)
            elif column == "n":
                row[column] = None if value is None or value != value else int(value)
            else:
                row[column] = value
        for column, value in record.items():
            if column in row:
                continue
            safe = json_safe(value)
            if safe is not None:
                row[column] = safe
        rows.append(row)
    return rows


def provenance(run: PlanRun) -> dict[str, Any]:
    """What produced a run: versions, the plan and data hashes, the seeds and the participants analysed."""
    from ipstrial._version import __version__

    versions = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - every dependency is installed
            versions[name] = None
    plan = run.plan
    return {
        "ipstrial": __version__,
        "python": platform.python_version(),
        "dependencies": versions,
        "plan": {"name": plan.name, "title": plan.title, "version": plan.version, "sha256": plan.sha256},
        "data": {
            "file": Path(plan.data["file"]).name,
            "sha256": run.data_sha256,
            "checked_against_plan": plan.data.get("sha256") is not None and not run.data_note,
            "note": run.data_note,
            "participants": len(run.trial),
            "derived_columns": dict(run.derived),
        },
        "seeds": {"plan": plan.settings["seed"], "analyses": dict(run.seeds)},
        "settings": {k: plan.settings[k] for k in sorted(plan.settings)},
    }


def results_document(run: PlanRun, created_at: _dt.datetime | None = None) -> dict[str, Any]:
    """The content of ``results.json`` for a run (see the module docstring)."""
    when = created_at or _dt.datetime.now(_dt.UTC)
    return {
        "results": result_rows(run.ard()),
        "provenance": provenance(run),
        "created_at": when.replace(microsecond=0).isoformat(),
    }


def write_json(document: Mapping[str, Any], path: str | Path) -> Path:
    """Write a document with sorted keys, two-space indentation, UTF-8 and a final newline."""
    path = Path(path)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def read_json(path: str | Path, what: str) -> dict[str, Any]:
    """Read a JSON document, with a PlanError naming the file when it is missing or not JSON."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = ""
        if what == "expected file":
            hint = " (write one from a run: ipstrial verify RESULTS --expected FILE --update)"
        raise PlanError(f"{what} '{path}' not found; check the path{hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{what} '{path}' is not a JSON file ({exc})") from None
    if not isinstance(document, dict):
        raise PlanError(f"{what} '{path}' is not a JSON object")
    return document


def _key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(row.get(k, "") or "") for k in _KEY)


def _software(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """ipstrial, Python and dependency versions of a provenance record, flat (``{"numpy": "2.1.3", ...}``)."""
    out = {"ipstrial": provenance.get("ipstrial"), "python": provenance.get("python")}
    out.update(provenance.get("dependencies", {}) or {})
    return {k: v for k, v in out.items() if v is not None}


def expected_from_results(
    results: Mapping[str, Any], tolerances: Mapping[str, Mapping[str, float]] | None = None
) -> dict[str, Any]:
    """An expected file from a results document (``ipstrial verify --update``): the plan's name and hash,
    the tolerances (kept from the previous expected file when given) and each row's key and numbers."""
    plan = results.get("provenance", {}).get("plan", {})
    rows = []
    for row in results.get("results", []):
        entry = {k: row.get(k, "") for k in _KEY}
        entry |= {k: row.get(k) for k in (*COMPARED, "n")}
        rows.append(entry)
    return {
        "plan": {"name": plan.get("name"), "sha256": plan.get("sha256")},
        "software": _software(results.get("provenance", {})),
        "tolerances": {k: dict(v) for k, v in (tolerances or DEFAULT_TOLERANCES).items()},
        "values": rows,
    }


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    moved
        One record per number outside its tolerance: the row's key, the field, expected, got, the
        difference and the tolerance.
    missing
        Keys of expected rows that the results no longer have.
    new
        Keys of result rows that the expected file does not have.
    checked
        How many numbers were compared.
    plan_changed
        True when the plan's SHA-256 differs from the one the expected file was written from.
    software_changed
        ``"numpy 2.1.3 -> 2.2.0"`` for each version that differs from the expected file's (a note: a number
        that moved may come from a new release rather than from the data or the plan).
    """

    moved: tuple[dict[str, Any], ...]
    missing: tuple[tuple[str, ...], ...]
    new: tuple[tuple[str, ...], ...]
    checked: int
    plan_changed: bool
    software_changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every expected number reproduced and no row appeared or disappeared."""
        return not (self.moved or self.missing or self.new)

    def report(self) -> str:
        """A readable table of what moved, or a one-line confirmation."""
        lines = []
        if self.ok:
            lines.append(f"verified: all {self.checked} numbers within their tolerances")
        else:
            lines.append(
                f"NOT reproduced: {len(self.moved)} numbers moved, {len(self.missing)} expected rows "
                "missing, "
                f"{len(self.new)} new rows (of {self.checked} numbers compared)"
            )
        if self.moved:
            header = (
                "analysis",
                "outcome",
                "contrast",
                "estimand",
                "variant",
                "field",
                "expected",
                "got",
                "difference",
                "tolerance",
            )
            body = [
                (
                    m["analysis"],
                    m["outcome"],
                    m["contrast"],
                    m["estimand"],
                    m["variant"] or "",
                    m["field"],
                    _shown(m["expected"]),
                    _shown(m["got"]),
                    _shown(m["difference"]),
                    _shown(m["tolerance"]),
                )
                for m in self.moved
            ]
            widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
            lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
            lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
        for label, keys in (
            ("missing (expected, not in the results)", self.missing),
            ("new (not expected)", self.new),
        ):
            if keys:
                lines.append(f"{label}:")
                lines += ["  " + " | ".join(k for k in key if k) for key in keys]
        if self.plan_changed:
            lines.append(
                "note: the plan file changed since the expected values were written (its SHA-256 differs)"
            )
        if self.software_changed:
            lines.append(
                "note: software versions differ from the expected file's: " + ", ".join(self.software_changed)
            )
        return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return "—" if value is None else str(value)


def _tolerance(tolerances: Mapping[str, Mapping[str, float]], estimand: str) -> tuple[float, float]:
    chosen = tolerances.get(estimand, tolerances.get("default", DEFAULT_TOLERANCES["default"]))
    return float(chosen.get("abs", 0.0)), float(chosen.get("rel", 0.0))


def _check_tolerances(tolerances: object, where: str) -> dict[str, dict[str, float]]:
    if not isinstance(tolerances, dict):
        raise PlanError(f"{where}: 'tolerances' must be an object of estimand -> {{abs, rel}}")
    from ipstrial.results import ESTIMANDS

    for estimand, entry in tolerances.items():
        if estimand != "default" and estimand not in ESTIMANDS:
            close = difflib.get_close_matches(estimand, sorted(ESTIMANDS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise PlanError(
                f"{where}: tolerance '{estimand}' is not an estimand{hint}; use 'default' or one of "
                f"{', '.join(sorted(ESTIMANDS))}"
            )
        if (
            not isinstance(entry, dict)
            or not set(entry) <= {"abs", "rel"}
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in entry.values()
            )
        ):
            raise PlanError(
                f'{where}: tolerance \'{estimand}\' must be {{"abs": number >= 0, "rel": number >= 0}}, '
                f"got {entry!r}"
            )
    return tolerances


def verify(results: str | Path | Mapping[str, Any], expected: str | Path | Mapping[str, Any]) -> Verification:
    """Compare a run's ``results.json`` with an expected file.

    A number reproduces when ``|got - expected| <= abs + rel * |expected|`` with the tolerances of its row's
    estimand (or ``default``), when both are missing, or when both are the same infinity; ``n`` must be
    equal. Rows are matched by their key ``(analysis, outcome, contrast, estimand, variant)``.

    Parameters
    ----------
    results
        The path of ``results.json``, or its content.
    expected
        The path of the expected file, or its content.

    Raises
    ------
    PlanError
        When the expected file was written for another plan (its ``plan.name`` differs), or either file
        is not of its kind.
    """
    got_doc = results if isinstance(results, Mapping) else read_json(results, "results file")
    exp_doc = expected if isinstance(expected, Mapping) else read_json(expected, "expected file")
    where = "expected file" if isinstance(expected, Mapping) else f"expected file '{expected}'"
    got_where = "results file" if isinstance(results, Mapping) else f"results file '{results}'"
    for doc, what, keys in (
        (got_doc, got_where, ("results", "provenance")),
        (exp_doc, where, ("plan", "values")),
    ):
        absent = [k for k in keys if k not in doc]
        if absent:
            kind = "results file (results.json of `ipstrial run`)" if doc is got_doc else "expected file"
            raise PlanError(
                f"{what} has no {', '.join(repr(k) for k in absent)}: it is not an ipstrial {kind}"
            )
    got_plan = got_doc["provenance"].get("plan", {})
    exp_plan = exp_doc["plan"] or {}
    if got_plan.get("name") != exp_plan.get("name"):
        raise PlanError(
            f"{where} was written for the plan {exp_plan.get('name')!r}, but the results come from the plan "
            f"{got_plan.get('name')!r}; compare results with the expected file of their own plan"
        )
    tolerances = _check_tolerances(exp_doc.get("tolerances", DEFAULT_TOLERANCES), where)
    got_rows = {_key(r): r for r in got_doc["results"]}
    exp_rows = {_key(r): r for r in exp_doc["values"]}
    moved: list[dict[str, Any]] = []
    checked = 0
    for key, exp in exp_rows.items():
        got = got_rows.get(key)
        if got is None:
            continue
        abs_tol, rel_tol = _tolerance(tolerances, key[3])
        for name in COMPARED:
            checked += 1
            e, g = _from_json_number(exp.get(name)), _from_json_number(got.get(name))
            if math.isnan(e) and math.isnan(g):
                continue
            if math.isinf(e) or math.isinf(g):
                if e == g:
                    continue
                difference, allowed = math.inf, math.nan
            else:
                difference = abs(g - e) if not (math.isnan(e) or math.isnan(g)) else math.inf
                allowed = abs_tol + rel_tol * abs(e) if math.isfinite(e) else math.nan
                if difference <= allowed:
                    continue
            moved.append(
                dict(zip(_KEY, key, strict=True))
                | {
                    "field": name,
                    "expected": exp.get(name),
                    "got": got.get(name),
                    "difference": difference,
                    "tolerance": allowed,
                }
            )
        checked += 1
        if exp.get("n") != got.get("n"):
            moved.append(
                dict(zip(_KEY, key, strict=True))
                | {
                    "field": "n",
                    "expected": exp.get("n"),
                    "got": got.get("n"),
                    "difference": None,
                    "tolerance": 0,
                }
            )
    return Verification(
        moved=tuple(moved),
        missing=tuple(k for k in exp_rows if k not in got_rows),
        new=tuple(k for k in got_rows if k not in exp_rows),
        checked=checked,
        plan_changed=bool(exp_plan.get("sha256")) and exp_plan.get("sha256") != got_plan.get("sha256"),
        software_changed=tuple(
            f"{name} {was} -> {now}"
            for name, was in (exp_doc.get("software") or {}).items()
            if (now := _software(got_doc["provenance"]).get(name)) is not None and now != was
        ),
    )
