"""Run a pre-specified plan: read and check the data, build the :class:`~ipstrial.Trial`, run every analysis
through the public estimators, in plan order, and keep the results with their provenance.

Nothing here estimates: each ``kind`` of :data:`~ipstrial.plan._spec.KINDS` is one call of the public
function it names, with the plan's settings as its arguments (``alpha``, the seed of the analysis, the
missing-data policy where the outcome has missing values, ``tau``, the willingness to pay). An estimator's
own error (a bad option, an outcome the gate refuses) is re-raised as a :class:`~ipstrial.errors.PlanError`
that names the analysis in the plan.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipstrial.errors import IpstrialError, PlanError, TrialDataError
from ipstrial.plan._spec import AnalysisSpec, Plan, sha256_of

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.results import Result
    from ipstrial.trial import Trial

__all__ = ["PlanRun", "execute_plan", "read_data"]

_ROLE_KEYS = ("strata", "covariates", "binary", "hours", "weeks", "costs", "baseline")


@dataclass(frozen=True)
class PlanRun:
    """The results of a plan, before they are written anywhere.

    Attributes
    ----------
    plan
        The plan that was run.
    trial
        The validated trial (data and roles).
    results
        Analysis name -> result, in plan order (a cost-effectiveness analysis of several treatments gives
        one result per treatment, named ``<name>_<treatment>``).
    specs
        Analysis name -> the plan entry it came from.
    seeds
        Analysis name -> the seed it used (random analyses only).
    data_sha256
        The SHA-256 of the data file's bytes.
    data_note
        How the data were chosen when not the plan's file (the demo's simulated trial), else "".
    """

    plan: Plan
    trial: Trial
    results: Mapping[str, Result]
    specs: Mapping[str, AnalysisSpec]
    seeds: Mapping[str, int]
    data_sha256: str
    data_note: str = ""
    derived: Mapping[str, str] = field(default_factory=dict)

    def ard(self) -> pd.DataFrame:
        """Every estimate of the run as one analysis-results table (:func:`ipstrial.results.collect`)."""
        from ipstrial.results import collect

        return collect(list(self.results.values()))

    def names(self, *kinds: str) -> list[str]:
        """The analysis names of the given kinds (all when none), in plan order."""
        return [name for name, spec in self.specs.items() if not kinds or spec.kind in kinds]


def read_data(plan: Plan, path: Path | None = None) -> tuple[pd.DataFrame, str]:
    """Read the plan's data file (or ``path``) and check its SHA-256 against the plan's.

    The id column is read as text, so that ids such as ``0012`` keep their leading zeros.

    Returns
    -------
    tuple
        The frame and the SHA-256 of the file's bytes.

    Raises
    ------
    PlanError
        A missing file, or one whose hash differs from ``[data] sha256`` (when the data were not given
        explicitly in place of the plan's file).
    """
    import pandas as pd

    file = Path(plan.data["file"]) if path is None else Path(path)
    if not file.is_file():
        raise PlanError(
            f"{plan.where}: [data] file '{file}' not found; check the path (relative to the plan's folder)"
        )
    digest = sha256_of(file)
    expected = plan.data.get("sha256")
    if path is None and expected is not None and digest != expected:
        raise PlanError(
            f"{plan.where}: the data file '{file}' has SHA-256 {digest}, not the plan's {expected}: the data "
            "changed since the plan was written; analyse the file the plan names, or, if the change is "
            "intended and documented, put the new hash in [data] sha256"
        )
    try:
        frame = pd.read_csv(file, dtype={plan.trial["id"]: str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise PlanError(
            f"{file}: cannot be read as CSV ({exc}); give a comma-separated file with a header"
        ) from None
    return frame, digest


def _referenced_columns(plan: Plan) -> list[tuple[str, str]]:
    """``(column, where in the plan)`` for every column the plan names."""
    trial = plan.trial
    out = [(trial["id"], "[trial] id"), (trial["arm"], "[trial] arm")]
    for key in _ROLE_KEYS:
        out += [(c, f"[trial] {key}") for c in trial.get(key, ())]
    for duration, event in trial.get("durations", {}).items():
        out += [(duration, "[trial] durations"), (event, "[trial] durations")]
    derived = _derived_cost_name(plan)
    for column in plan.costs.get("categories", {}):
        out.append((column, "[costs] categories"))
    for spec in plan.analyses:
        where = f"[[analysis]] '{spec.name}'"
        out += [(c, f"{where} {role}") for role, c in spec.columns.items() if c != derived]
        for key in ("covariates", "strata", "by", "categories"):
            out += [(c, f"{where} {key}") for c in spec.options.get(key, ())]
        if "order" in spec.options:
            out.append((spec.options["order"], f"{where} order"))
    out += [(c, "[labels]") for c in plan.labels if c != derived]
    return out


def _derived_cost_name(plan: Plan) -> str | None:
    """``cost_<perspective>``, the column the run derives when ``[costs]`` gives a perspective and payers."""
    if "perspective" in plan.costs and "categories" in plan.costs:
        return f"cost_{plan.costs['perspective']}"
    return None


def check_columns(plan: Plan, columns: Iterable[str]) -> None:
    """Every column the plan names is in the data, else a PlanError naming each and where it is named."""
    present = set(columns)
    absent = [(c, where) for c, where in _referenced_columns(plan) if c not in present]
    if absent:
        parts = []
        for column, where in absent:
            close = difflib.get_close_matches(column, sorted(present), n=1)
            parts.append(f"'{column}' ({where}{'; did you mean ' + repr(close[0]) + '?' if close else ''})")
        raise PlanError(
            f"{plan.where}: {len(absent)} column{'s' if len(absent) > 1 else ''} not in the data "
            f"'{plan.data['file'].name}': {', '.join(parts)}; correct the plan or the data"
        )


def build_trial(plan: Plan, frame: pd.DataFrame) -> tuple[Trial, dict[str, str]]:
    """The plan's :class:`~ipstrial.Trial` over ``frame``, with the perspective's cost column derived."""
    from ipstrial.trial import Trial

    derived: dict[str, str] = {}
    roles = {k: v for k, v in plan.trial.items() if k != "baseline"}
    name = _derived_cost_name(plan)
    if name is not None:
        from ipstrial.economics.costs import perspective_cost

        column = perspective_cost(
            frame, plan.costs["categories"], plan.costs["perspective"], id=plan.trial["id"]
        )
        frame = frame.assign(**{name: column.to_numpy()})
        counted = list(column.attrs.get("categories", ()))
        derived[name] = " + ".join(counted)
        roles["costs"] = tuple(dict.fromkeys([*roles.get("costs", ()), name]))
    roles.setdefault("durations", {})
    return Trial(frame, **roles, allow_cpr=plan.data["allow_cpr"]), derived


def _missing_for(plan: Plan, trial: Trial, *columns: str) -> str | None:
    """The plan's missing-data policy (``[settings] missing``) when one of ``columns`` has missing values,
    else None (the estimators refuse a policy that has nothing to do)."""
    frame = trial.data
    return plan.settings["missing"] if any(frame[c].isna().any() for c in columns) else None


def _slug(label: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(label).lower()).strip("_") or "arm"


def _call(trial: Trial, spec: AnalysisSpec, plan: Plan, analysis: str, seed: int, treatment: Any) -> Result:
    """One estimator call for one plan entry (the dispatch of :data:`KINDS` onto the public API)."""
    from ipstrial import economics, itt, missing, survival

    s, o, col = plan.settings, dict(spec.options), spec.columns
    common: dict[str, Any] = {"treatment": treatment, "analysis": analysis}
    alpha = {"alpha": s["alpha"]}
    covariates = o.pop("covariates", None)
    default_covariates = list(trial.covariates)
    kind = spec.kind
    if kind in ("kaplan_meier", "logrank", "cox", "rmst", "cumulative_incidence", "fine_gray"):
        duration = col["duration"]
        unit = {"unit": s["time_unit"]}
        if kind == "kaplan_meier":
            return survival.kaplan_meier(trial, duration, times=o.get("times"), **unit, **alpha, **common)
        if kind == "logrank":
            return survival.logrank(trial, duration, strata=o.get("strata"), **unit, **common)
        if kind == "cox":
            return survival.cox(
                trial, duration, covariates=covariates, strata=o.get("strata"), **unit, **alpha, **common
            )
        if kind == "rmst":
            return survival.rmst(trial, duration, tau=s["tau"], **unit, **alpha, **common)
        if kind == "cumulative_incidence":
            times = o.get("times") or ([s["follow_up"]] if "follow_up" in s else None)
            return survival.cumulative_incidence(
                trial, duration, times=times, strata=o.get("strata"), **unit, **alpha, **common
            )
        return survival.fine_gray(trial, duration, covariates=covariates, **unit, **alpha, **common)
    if kind == "cost_effectiveness":
        return economics.cost_effectiveness(
            trial,
            col["cost"],
            col["effect"],
            wtp=s["wtp"],
            wtp_grid=s.get("wtp_grid"),
            n_resamples=s["n_resamples"],
            seed=seed,
            covariates=covariates,
            missing=_missing_for(plan, trial, col["cost"], col["effect"]),
            **alpha,
            **common,
        )
    if kind == "costs_by_category":
        categories = o.get("categories")
        if categories is None:
            from ipstrial.economics.costs import perspective_categories

            if "categories" not in plan.costs:
                raise PlanError("give the analysis categories = [...], or [costs] categories")
            categories = perspective_categories(
                plan.costs["categories"], plan.costs.get("perspective", "societal")
            )
        total = _derived_cost_name(plan) or "total"  # the categories of the perspective sum to its cost
        return economics.costs_by_category(trial, list(categories), total=total, **alpha, **common)
    outcome = col["outcome"]
    policy = {"missing": _missing_for(plan, trial, outcome)}
    if kind == "proportions":
        return itt.compare_proportions(
            trial,
            outcome,
            method=o.get("method", "newcombe"),
            adjust=o.get("adjust"),
            **policy,
            **alpha,
            **common,
        )
    if kind == "marginal_effect":
        return itt.marginal_effect(
            trial,
            outcome,
            covariates=covariates or default_covariates,
            strata=o.get("strata"),
            contrast=o.get("contrast", "risk_difference"),
            variance=o.get("variance", "ye"),
            seed=seed if o.get("variance") == "bootstrap" else None,
            n_resamples=s["n_resamples"] if o.get("variance") == "bootstrap" else None,
            **policy,
            **alpha,
            **common,
        )
    if kind == "means":
        return itt.compare_means(
            trial, outcome, n_resamples=s["n_resamples"], seed=seed, **policy, **alpha, **common
        )
    if kind == "two_part":
        return itt.two_part(
            trial,
            outcome,
            covariates=covariates or (),
            n_resamples=s["n_resamples"],
            seed=seed,
            **policy,
            **alpha,
            **common,
        )
    if kind == "rate_ratio":
        return itt.rate_ratio(trial, outcome, covariates=covariates or (), **policy, **alpha, **common)
    if kind == "subgroups":
        return itt.subgroups(trial, outcome, by=list(o["by"]), **policy, **alpha, **common)
    if kind == "rerandomization":
        from ipstrial import randomization

        return randomization.rerandomization_test(
            trial,
            outcome,
            design=o["design"],
            order=o.get("order"),
            n_resamples=s["n_resamples"],
            seed=seed,
            **policy,
            **alpha,
            **common,
        )
    if kind == "multiple_imputation":
        return missing.multiple_imputation(
            trial,
            outcome,
            covariates=covariates or default_covariates,
            kind=o["model"],
            m=o.get("m", 20),
            seed=seed,
            **alpha,
            **common,
        )
    raise AssertionError(f"kind {kind!r} has no call")  # pragma: no cover - KINDS and this dispatch agree


def execute_plan(
    plan: Plan,
    *,
    data: pd.DataFrame | str | Path | None = None,
    data_note: str = "",
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
) -> PlanRun:
    """Run every analysis of ``plan`` (see :func:`ipstrial.plan.run_plan`, which also writes the outputs).

    Parameters
    ----------
    plan
        A validated plan.
    data
        Data in place of the plan's file (a frame or a CSV path): its hash is recorded but not checked
        against the plan's, and ``data_note`` says why.
    data_note
        Recorded in the provenance when ``data`` is given.
    progress
        ``progress(iterable, total, description)`` wrapping the loop over analyses (a progress bar).
    """
    import pandas as pd

    from ipstrial.report.disclosure import check_no_cpr

    if data is None or isinstance(data, str | Path):
        frame, digest = read_data(plan, None if data is None else Path(data))
    else:
        import hashlib

        frame = data
        digest = hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode("utf-8")).hexdigest()
    if not isinstance(frame, pd.DataFrame):
        raise PlanError("data must be a pandas DataFrame or the path of a CSV file")
    try:
        flagged = check_no_cpr(frame, allow=plan.data["allow_cpr"])
    except TrialDataError as exc:
        raise PlanError(
            f"{plan.where}: the data refused: {exc}\n(if the column is not a CPR number, set [data] "
            "allow_cpr = true in the plan)"
        ) from exc
    check_columns(plan, frame.columns)
    named = {c for c, _ in _referenced_columns(plan)}
    dropped = [c for c in flagged if c not in named]
    if dropped:  # allowed, but not used: it never reaches an analysis, a table or the report
        frame = frame.drop(columns=dropped)
    try:
        trial, derived = build_trial(plan, frame)
    except TrialDataError as exc:
        raise PlanError(f"{plan.where}: the data do not fit the plan's [trial]: {exc}") from exc
    work: list[tuple[str, AnalysisSpec, Any]] = []
    for spec in plan.analyses:
        treatments = spec.treatment
        if spec.kind == "cost_effectiveness":
            arms = (
                list(trial.treatments)
                if treatments is None
                else (list(treatments) if isinstance(treatments, tuple) else [treatments])
            )
            if len(arms) == 1:
                work.append((spec.name, spec, arms[0]))
            else:
                work += [(f"{spec.name}_{_slug(a)}", spec, a) for a in arms]
        else:
            work.append((spec.name, spec, list(treatments) if isinstance(treatments, tuple) else treatments))
    loop: Iterable[Any] = work if progress is None else progress(work, len(work), "analyses")
    results: dict[str, Result] = {}
    specs: dict[str, AnalysisSpec] = {}
    seeds: dict[str, int] = {}
    from ipstrial.plan._spec import KINDS

    for name, spec, treatment in loop:
        if hasattr(loop, "set_postfix_str"):  # a progress bar: show the analysis running (a bootstrap...)
            loop.set_postfix_str(f"{name} ({spec.kind})")
        seed = plan.seed_of(spec)
        try:
            results[name] = _call(trial, spec, plan, name, seed, treatment)
        except IpstrialError as exc:
            raise PlanError(f"{plan.where}: [[analysis]] '{spec.name}' ({spec.kind}): {exc}") from exc
        specs[name] = spec
        if KINDS[spec.kind].random:
            seeds[name] = seed
    if "business_case" in plan.costs:
        from ipstrial.budget import BusinessCase

        results["budget_business_case"] = BusinessCase.from_toml(plan.costs["business_case"])
    return PlanRun(
        plan=plan,
        trial=trial,
        results=results,
        specs=specs,
        seeds=seeds,
        data_sha256=digest,
        data_note=data_note if data is not None else "",
        derived=derived,
    )
