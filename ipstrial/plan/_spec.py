"""The format of a pre-specified analysis plan (TOML) and its validation into a :class:`Plan`.

A plan is data, never code: every key is looked up in the tables below, every value has a declared type,
and an analysis ``kind`` names one of a fixed set of estimators (:data:`KINDS`). Nothing in a plan is
evaluated (no ``eval``, no formulas). The format is documented for users in ``analysis/README.md``; the
tables here are the single source of the allowed keys, and the error for an unknown or missing key lists
them with the place of the mistake.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipstrial._inputs import MISSING_POLICIES
from ipstrial.economics.costs import PAYERS, PERSPECTIVES
from ipstrial.errors import PlanError

__all__ = ["KINDS", "SECTIONS", "AnalysisSpec", "Kind", "Plan", "load_plan", "parse_plan"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
ROLES = ("primary", "secondary", "sensitivity", "exploratory")


# -- value types: each returns the checked value or raises ValueError with what was expected -------------


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a non-empty string")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError("a snake_case name (lower-case letters, digits, underscores; a letter first)")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a whole number")
    return value


def _non_negative(value: object) -> int:
    if _int(value) < 0:
        raise ValueError("a whole number of 0 or more (0 turns the rule off)")
    return int(value)  # type: ignore[arg-type]


def _count(value: object) -> int:
    if _int(value) < 1:
        raise ValueError("a whole number of 1 or more")
    return int(value)  # type: ignore[arg-type]


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ValueError("a whole number from 0 to 2**63 - 1")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a finite number")
    return float(value)


def _positive(value: object) -> float:
    if _number(value) <= 0:
        raise ValueError("a number greater than 0")
    return float(value)  # type: ignore[arg-type]


def _alpha(value: object) -> float:
    if not 0 < _number(value) < 1:
        raise ValueError("a number between 0 and 1, e.g. 0.05")
    return float(value)  # type: ignore[arg-type]


def _texts(value: object) -> tuple[str, ...]:
    """A string or a list of strings (a column or several); kept as a tuple."""
    if isinstance(value, str):
        return (_text(value),)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("a string or a list of strings")
    if len(set(value)) != len(value):
        raise ValueError("a list without repeats")
    return tuple(value)


def _label(value: object) -> str | int | bool:
    """An arm label as written in the data: text, a whole number or a boolean."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, bool | int):
        return value
    raise ValueError("an arm label (text, a whole number or true/false)")


def _labels(value: object) -> tuple[Any, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("a non-empty list of arm labels")
    out = tuple(_label(v) for v in value)
    if len(set(out)) != len(out):
        raise ValueError("a list of arm labels without repeats")
    return out


def _label_or_labels(value: object) -> Any:
    return _labels(value) if isinstance(value, list) else _label(value)


def _numbers(value: object) -> tuple[float, ...]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (_number(value),)
    if not isinstance(value, list) or not value:
        raise ValueError("a number or a non-empty list of numbers")
    return tuple(_number(v) for v in value)


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ValueError('a table of text values, e.g. { days_to_job = "event" }')
    return dict(value)


def _design(value: object) -> dict[str, Any]:
    """A randomization design: a table with ``scheme`` and the scheme's parameters (checked when replayed)."""
    if not isinstance(value, dict) or not isinstance(value.get("scheme"), str):
        raise ValueError(
            'a table with a scheme, e.g. { scheme = "stratified_blocks", factors = [...], '
            "block_sizes = [3, 6] }"
        )
    return dict(value)


def _payers(value: object) -> dict[str, str]:
    payers = _str_map(value)
    wrong = [f"{k} = {v!r}" for k, v in payers.items() if v not in PAYERS]
    if wrong:
        raise ValueError(
            f"a table of cost column = payer, each payer one of {', '.join(PAYERS)} (not {wrong[0]})"
        )
    return payers


def _choice(*allowed: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in allowed:
            raise ValueError("one of " + ", ".join(repr(a) for a in allowed))
        return value  # type: ignore[return-value]

    check.__doc__ = "one of " + ", ".join(allowed)
    return check


@dataclass(frozen=True)
class Key:
    """One allowed key of a plan table: its checker, whether it must be given, and what it means."""

    check: Callable[[object], Any]
    required: bool = False
    help: str = ""


SECTIONS: dict[str, dict[str, Key]] = {
    "plan": {
        "name": Key(_name, True, "the plan's identifier; an expected-results file records it"),
        "title": Key(_text, True, "the report's title"),
        "version": Key(_text, False, "the plan's version, e.g. '1.0'"),
        "description": Key(_text, False, "one paragraph: the trial and what the plan covers"),
    },
    "data": {
        "file": Key(_text, True, "the participant-level CSV, relative to the plan file"),
        "sha256": Key(_text, False, "the SHA-256 of the data file; a file with another hash is refused"),
        "allow_cpr": Key(_bool, False, "true to accept columns that look like Danish CPR numbers"),
    },
    "trial": {
        "id": Key(_text, True, "the participant id column"),
        "arm": Key(_text, True, "the randomised arm column"),
        "arms": Key(_labels, True, "the arms in the order of every table"),
        "control": Key(_label, True, "the control arm"),
        "strata": Key(_texts, False, "the stratification factors of the randomisation"),
        "covariates": Key(_texts, False, "the pre-specified baseline covariates"),
        "binary": Key(_texts, False, "0/1 outcome columns"),
        "durations": Key(_str_map, False, "time-to-event columns and their event columns"),
        "hours": Key(_texts, False, "hours outcome columns"),
        "weeks": Key(_texts, False, "weeks outcome columns"),
        "costs": Key(_texts, False, "cost columns"),
        "baseline": Key(_texts, False, "the characteristics of Table 1 (default: strata and covariates)"),
    },
    "settings": {
        "alpha": Key(_alpha, False, "one minus the confidence level (default 0.05)"),
        "seed": Key(_seed, True, "the seed of every random step (each analysis may give its own)"),
        "follow_up": Key(
            _positive, False, "the follow-up time of the outcomes (lost to follow-up before it)"
        ),
        "time_unit": Key(_choice("days", "weeks", "months", "years"), False, "the unit of the durations"),
        "tau": Key(_positive, False, "the RMST horizon (default follow_up)"),
        "wtp": Key(_positive, False, "the reference willingness to pay per unit of effect"),
        "wtp_grid": Key(_numbers, False, "the willingness-to-pay values of the acceptability curve"),
        "n_resamples": Key(_count, False, "bootstrap replicates (default 2000)"),
        "missing": Key(_choice(*MISSING_POLICIES), False, "the missing-outcome policy where one applies"),
        "min_count": Key(
            _non_negative, False, "smallest count shown in tables and figures (default 5; 0 turns it off)"
        ),
    },
    "costs": {
        "perspective": Key(_choice(*PERSPECTIVES), False, "the cost perspective"),
        "categories": Key(_payers, False, "cost column -> payer: " + ", ".join(PAYERS)),
        "business_case": Key(_text, False, "a business-case TOML file, relative to the plan file"),
    },
}
"""Every table of a plan and its allowed keys (``[labels]`` and ``[[analysis]]`` are checked apart)."""

_ANALYSIS_COMMON: dict[str, Key] = {
    "name": Key(_name, True, "the analysis name (the ARD's analysis column), unique in the plan"),
    "kind": Key(_text, True, "the estimator (see KINDS)"),
    "role": Key(_choice(*ROLES), False, "primary, secondary, sensitivity or exploratory"),
    "title": Key(_text, False, "the heading of the analysis in the report"),
    "treatment": Key(_label_or_labels, False, "the treatment arm(s) (default: every arm but the control)"),
    "seed": Key(_seed, False, "this analysis's seed (default: settings.seed)"),
}


@dataclass(frozen=True)
class Kind:
    """An estimator a plan may name: its outcome roles (positional) and its options (keywords)."""

    section: str
    roles: tuple[str, ...]
    options: dict[str, Key]
    random: bool = False
    help: str = ""


_COVARIATES = Key(_texts, False, "adjustment covariates (default: the trial's covariates)")
_STRATA = Key(_texts, False, "strata")
_TIMES = Key(_numbers, False, "times at which to report the estimate")
KINDS: dict[str, Kind] = {
    "proportions": Kind(
        "itt",
        ("outcome",),
        {
            "method": Key(_text, False, "the risk-difference interval (default newcombe)"),
            "adjust": Key(_text, False, "multiplicity adjustment over the contrasts: holm or bonferroni"),
        },
        help="itt.compare_proportions: proportions, risk difference, ratio, odds ratio",
    ),
    "marginal_effect": Kind(
        "itt",
        ("outcome",),
        {
            "covariates": _COVARIATES,
            "strata": _STRATA,
            "contrast": Key(_text, False, "risk_difference, risk_ratio or odds_ratio"),
            "variance": Key(_text, False, "ye (default), ge or bootstrap"),
        },
        help="itt.marginal_effect: covariate-adjusted marginal effect (g-computation)",
    ),
    "means": Kind("itt", ("outcome",), {}, random=True, help="itt.compare_means: mean difference"),
    "two_part": Kind(
        "itt", ("outcome",), {"covariates": _COVARIATES}, random=True, help="itt.two_part: hurdle model"
    ),
    "rate_ratio": Kind(
        "itt", ("outcome",), {"covariates": Key(_texts, False)}, help="itt.rate_ratio: negative binomial"
    ),
    "subgroups": Kind(
        "itt",
        ("outcome",),
        {"by": Key(_texts, True, "the subgroup variables")},
        help="itt.subgroups: effects by subgroup and interaction tests",
    ),
    "multiple_imputation": Kind(
        "missing",
        ("outcome",),
        {
            "covariates": _COVARIATES,
            "model": Key(_text, True, "the imputation model: binary or continuous"),
            "m": Key(_count, False, "imputations (default 20)"),
        },
        random=True,
        help="missing.multiple_imputation: chained equations, Rubin's rules",
    ),
    "rerandomization": Kind(
        "randomization",
        ("outcome",),
        {
            "design": Key(_design, True, "the randomization as it was done: scheme and its parameters"),
            "order": Key(_text, False, "the column giving the order of enrolment (default: row order)"),
        },
        random=True,
        help="randomization.rerandomization_test: replays the trial's own allocation scheme",
    ),
    "kaplan_meier": Kind(
        "survival", ("duration",), {"times": _TIMES}, help="survival.kaplan_meier: survival by arm, medians"
    ),
    "logrank": Kind("survival", ("duration",), {"strata": _STRATA}, help="survival.logrank"),
    "cox": Kind(
        "survival",
        ("duration",),
        {"covariates": Key(_texts, False), "strata": _STRATA},
        help="survival.cox: hazard ratio",
    ),
    "rmst": Kind("survival", ("duration",), {}, help="survival.rmst: restricted mean time to tau"),
    "cumulative_incidence": Kind(
        "survival",
        ("duration",),
        {"times": _TIMES, "strata": _STRATA},
        help="survival.cumulative_incidence: Aalen-Johansen, Gray's test",
    ),
    "fine_gray": Kind(
        "survival", ("duration",), {"covariates": Key(_texts, False)}, help="survival.fine_gray"
    ),
    "cost_effectiveness": Kind(
        "economics",
        ("cost", "effect"),
        {"covariates": Key(_texts, False)},
        random=True,
        help="economics.cost_effectiveness: ICER, INMB, CE plane and acceptability curve (one per treatment)",
    ),
    "costs_by_category": Kind(
        "economics",
        (),
        {"categories": Key(_texts, False, "the cost columns (default: [costs] categories)")},
        help="economics.costs_by_category: mean costs by category and arm",
    ),
}
"""The estimators a plan may run, by the ``kind`` an ``[[analysis]]`` names."""

_ROLE_HELP = {
    "outcome": "the outcome column",
    "duration": "the time-to-event column (its event column comes from [trial] durations)",
    "cost": "the cost column",
    "effect": "the effect column",
}


@dataclass(frozen=True)
class AnalysisSpec:
    """One pre-specified analysis: ``name``, ``kind`` (an entry of :data:`KINDS`), its role in the plan,
    its outcome columns and its options, exactly as written in the plan."""

    name: str
    kind: str
    role: str
    title: str
    columns: Mapping[str, str]
    options: Mapping[str, Any]
    treatment: Any = None
    seed: int | None = None


@dataclass(frozen=True)
class Plan:
    """A validated analysis plan. Build it with :func:`load_plan` (a file) or :func:`parse_plan` (text).

    Attributes
    ----------
    name, title, version, description
        From ``[plan]``.
    path
        The plan file (None for a plan parsed from text); relative paths in it are relative to its folder.
    sha256
        The SHA-256 of the plan's bytes, recorded in the provenance of every run.
    data
        ``[data]``: ``file`` (resolved), ``sha256`` (or None) and ``allow_cpr``.
    trial
        ``[trial]``: the roles of the columns, the keyword arguments of :class:`ipstrial.Trial` (plus
        ``baseline``).
    settings, costs
        ``[settings]`` and ``[costs]`` with their defaults filled in.
    labels
        ``[labels]``: column -> (label, unit or None).
    analyses
        The ``[[analysis]]`` entries in plan order.
    """

    name: str
    title: str
    version: str
    description: str
    path: Path | None
    sha256: str
    data: Mapping[str, Any]
    trial: Mapping[str, Any]
    settings: Mapping[str, Any]
    costs: Mapping[str, Any]
    labels: Mapping[str, tuple[str, str | None]]
    analyses: tuple[AnalysisSpec, ...] = field(default_factory=tuple)

    @property
    def where(self) -> str:
        """How messages name the plan: its path, or ``<text>``."""
        return str(self.path) if self.path is not None else "<text>"

    def seed_of(self, spec: AnalysisSpec) -> int:
        """The seed of an analysis: its own, else ``settings.seed``."""
        return self.settings["seed"] if spec.seed is None else spec.seed

    def label(self, column: str) -> str:
        """The human label of a column (the column itself when the plan gives none)."""
        return self.labels.get(column, (column, None))[0]


_DEFAULT_SETTINGS: dict[str, Any] = {
    "alpha": 0.05,
    "n_resamples": 2000,
    "missing": "complete-case",
    "min_count": 5,
    "time_unit": "days",
}


def _fail(where: str, message: str) -> PlanError:
    return PlanError(f"{where}: {message}")


def _unknown_key(where: str, key: str, allowed: Mapping[str, Key]) -> PlanError:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return _fail(where, f"unknown key '{key}'{hint}; allowed keys: {', '.join(allowed)}")


def _check_table(raw: object, where: str, allowed: Mapping[str, Key]) -> dict[str, Any]:
    """The keys of one TOML table, each checked; an unknown, missing or mistyped key is a PlanError."""
    if not isinstance(raw, dict):
        raise _fail(where, f"must be a table, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in allowed:
            raise _unknown_key(where, key, allowed)
        try:
            out[key] = allowed[key].check(value)
        except ValueError as exc:
            raise _fail(where, f"'{key}' must be {exc}, got {value!r}") from None
    missing = [key for key, spec in allowed.items() if spec.required and key not in out]
    if missing:
        raise _fail(
            where,
            f"missing required key{'s' if len(missing) > 1 else ''} {', '.join(repr(k) for k in missing)}; "
            f"allowed keys: {', '.join(allowed)}",
        )
    return out


def _labels_table(raw: object, where: str) -> dict[str, tuple[str, str | None]]:
    """``[labels]``: ``column = "label"`` or ``column = { label = "...", unit = "DKK" }``."""
    if not isinstance(raw, dict):
        raise _fail(where, 'must be a table of column = "label" or column = { label = ..., unit = ... }')
    allowed = {"label": Key(_text, True, "the column's label"), "unit": Key(_text, False, "its unit")}
    out: dict[str, tuple[str, str | None]] = {}
    for column, value in raw.items():
        if isinstance(value, str) and value.strip():
            out[column] = (value, None)
        else:
            entry = _check_table(value, f"{where} '{column}'", allowed)
            out[column] = (entry["label"], entry.get("unit"))
    return out


def _analysis(raw: object, index: int, where: str, names: set[str]) -> AnalysisSpec:
    """One ``[[analysis]]`` entry, checked against its kind's outcome roles and options."""
    here = f"{where}: [[analysis]] {index}"
    if not isinstance(raw, dict):
        raise PlanError(f"{here}: must be a table")
    kind_name = raw.get("kind")
    if isinstance(raw.get("name"), str):
        here += f" '{raw['name']}'"
    if kind_name not in KINDS:
        shown = "is missing" if kind_name is None else f"{kind_name!r} is not known"
        close = difflib.get_close_matches(str(kind_name), list(KINDS), n=1) if kind_name is not None else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise PlanError(f"{here}: the key 'kind' {shown}{hint}; allowed kinds: {', '.join(KINDS)}")
    kind = KINDS[kind_name]  # type: ignore[index]
    allowed = dict(_ANALYSIS_COMMON)
    allowed |= {role: Key(_text, True, _ROLE_HELP[role]) for role in kind.roles}
    allowed |= kind.options
    entry = _check_table(raw, here, allowed)
    if entry["name"] in names:
        raise PlanError(f"{here}: the name '{entry['name']}' is used twice; give each analysis its own name")
    names.add(entry["name"])
    return AnalysisSpec(
        name=entry["name"],
        kind=kind_name,  # type: ignore[arg-type]
        role=entry.get("role", "secondary"),
        title=entry.get("title", ""),
        columns={role: entry[role] for role in kind.roles},
        options={k: v for k, v in entry.items() if k in kind.options},
        treatment=entry.get("treatment"),
        seed=entry.get("seed"),
    )


def parse_plan(text: str, path: str | Path | None = None) -> Plan:
    """Check a plan's TOML text and return the :class:`Plan` (see :func:`load_plan`).

    Parameters
    ----------
    text
        The TOML text of the plan.
    path
        The file it came from: relative paths in the plan are resolved against its folder, and messages
        name it.
    """
    where = str(path) if path is not None else "<text>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{where}: not valid TOML ({exc}); check the line it names") from None
    top = {name: Key(lambda v: v, name in ("plan", "data", "trial", "settings")) for name in SECTIONS}
    top |= {"labels": Key(lambda v: v), "analysis": Key(lambda v: v, True)}
    for key in raw:
        if key not in top:
            raise _unknown_key(f"{where} (top level)", key, top)
    missing = [k for k, spec in top.items() if spec.required and k not in raw]
    if missing:
        raise PlanError(
            f"{where}: missing table{'s' if len(missing) > 1 else ''} "
            f"{', '.join('[' + k + ']' if k != 'analysis' else '[[analysis]]' for k in missing)}; "
            f"a plan has [plan], [data], [trial], [settings], [[analysis]] and optionally [costs], [labels]"
        )
    sections = {
        name: _check_table(raw.get(name, {}), f"{where}: [{name}]", SECTIONS[name]) for name in SECTIONS
    }
    trial = sections["trial"]
    if trial["control"] not in trial["arms"]:
        raise PlanError(
            f"{where}: [trial] control {trial['control']!r} is not one of the arms "
            f"{list(trial['arms'])}; name one of them"
        )
    if sections["data"].get("sha256") is not None and not _SHA256.match(sections["data"]["sha256"]):
        raise PlanError(f"{where}: [data] 'sha256' must be 64 lower-case hexadecimal digits (sha256sum)")
    analyses_raw = raw["analysis"]
    if not isinstance(analyses_raw, list) or not analyses_raw:
        raise PlanError(f"{where}: [[analysis]] must be one or more tables, each starting with [[analysis]]")
    names: set[str] = set()
    analyses = tuple(_analysis(a, i, where, names) for i, a in enumerate(analyses_raw, start=1))
    settings = _DEFAULT_SETTINGS | sections["settings"]
    if "tau" not in settings and "follow_up" in settings:
        settings["tau"] = settings["follow_up"]
    for spec in analyses:
        if spec.kind == "rmst" and "tau" not in settings:
            raise PlanError(
                f"{where}: [[analysis]] '{spec.name}' is an RMST: give [settings] tau or follow_up"
            )
        if spec.kind == "cost_effectiveness" and "wtp" not in settings:
            raise PlanError(
                f"{where}: [[analysis]] '{spec.name}' is a cost-effectiveness analysis: give [settings] wtp"
            )
        if spec.kind in ("rmst", "kaplan_meier", "logrank", "cox", "cumulative_incidence", "fine_gray"):
            if spec.columns["duration"] not in trial.get("durations", {}):
                raise PlanError(
                    f"{where}: [[analysis]] '{spec.name}': the duration '{spec.columns['duration']}' is not "
                    "in "
                    f'[trial] durations; add {spec.columns["duration"]} = "<event column>" there'
                )
    base = Path(path).resolve().parent if path is not None else Path.cwd()
    data = dict(sections["data"])
    data["file"] = (base / data["file"]).resolve()
    data.setdefault("sha256", None)
    data.setdefault("allow_cpr", False)
    costs = dict(sections["costs"])
    if "business_case" in costs:
        costs["business_case"] = (base / costs["business_case"]).resolve()
        if path is not None and not costs["business_case"].is_file():
            raise PlanError(
                f"{where}: [costs] business_case '{sections['costs']['business_case']}' not found (paths are "
                "relative to the plan's folder); check the path or remove the key"
            )
    meta = sections["plan"]
    return Plan(
        name=meta["name"],
        title=meta["title"],
        version=meta.get("version", ""),
        description=meta.get("description", ""),
        path=Path(path) if path is not None else None,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        data=data,
        trial=trial,
        settings=settings,
        costs=costs,
        labels=_labels_table(raw.get("labels", {}), f"{where}: [labels]"),
        analyses=analyses,
    )


def load_plan(path: str | Path) -> Plan:
    """Read and check a pre-specified analysis plan (TOML).

    Every key is checked against the allowed keys of its table (:data:`SECTIONS`, :data:`KINDS`); an
    unknown key, a missing required key or a value of the wrong type is a :class:`~ipstrial.errors.PlanError`
    that names the file, the table (``[settings]``, ``[[analysis]] 3 'itt_primary'``) and the allowed keys.
    A plan is data: nothing in it is evaluated.

    Parameters
    ----------
    path
        The plan file, e.g. ``analysis/inklusion.toml``.

    Returns
    -------
    Plan
        The validated plan; its SHA-256 is that of the file's bytes.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(f"plan file '{path}' not found; check the path") from None
    except IsADirectoryError:
        raise PlanError(f"'{path}' is a directory; give the plan's .toml file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError(f"{path}: not UTF-8 text; save the plan as UTF-8") from None
    plan = parse_plan(text, path)
    return plan


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (as ``sha256sum`` prints it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
