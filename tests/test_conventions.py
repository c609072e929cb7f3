"""The one signature convention of the public estimators, checked by walking every public function.

``f(data, <outcome roles>, arm=None, treatment=None, control=None, *, <options>)`` (DESIGN.md,
"The estimator signature"): the outcome roles are positional; ``arm``, ``treatment`` and ``control`` follow
with default None; everything after them is keyword-only; no default names a column or an arm; one name per
concept (``alpha``, ``n_resamples``, ``m``, ``covariates``, ``strata``, ``missing``, ``seed``, ``id``,
``analysis``).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

AREAS = ("itt", "missing", "survival", "economics", "randomization", "budget")

#: The outcome roles of each estimator, in order, after ``data``.
ROLES = {
    "itt.compare_proportions": ("outcome",),
    "itt.compare_means": ("outcome",),
    "itt.adjusted_mean_difference": ("outcome",),
    "itt.two_part": ("outcome",),
    "itt.rate_ratio": ("outcome",),
    "itt.hodges_lehmann": ("outcome",),
    "itt.mantel_haenszel": ("outcome",),
    "itt.marginal_effect": ("outcome",),
    "itt.subgroups": ("outcome",),
    "missing.multiple_imputation": ("outcome",),
    "missing.bounds": ("outcome",),
    "missing.tipping_point": ("outcome",),
    "survival.kaplan_meier": ("duration", "event"),
    "survival.logrank": ("duration", "event"),
    "survival.logrank_permutation": ("duration", "event"),
    "survival.cox": ("duration", "event"),
    "survival.rmst": ("duration", "event"),
    "survival.cumulative_incidence": ("duration", "event"),
    "survival.gray_test": ("duration", "event"),
    "survival.fine_gray": ("duration", "event"),
    "economics.cost_effectiveness": ("cost", "effect"),
    "economics.incremental_from_data": ("cost", "effect"),
    "economics.acceptability_frontier": ("cost", "effect"),
    "economics.costs_by_category": ("categories",),
    "randomization.balance": ("factors",),
    "randomization.rerandomization_test": ("outcome",),
}

#: Names that mean the same thing everywhere; the left-hand names must not appear in any public signature.
RENAMED = {
    "n_boot": "n_resamples",
    "n_perm": "n_resamples",
    "n_permutations": "n_resamples",
    "n_imputations": "m",
    "conf_level": "alpha",
    "level": "alpha",
    "id_column": "id",
    "arm_column": "arm",
    "covariate": "covariates",
    "stratum": "strata",
    "missing_policy": "missing",
    "random_state": "seed",
    "rng": "seed",
}

#: Defaults that would be domain knowledge in a signature.
DOMAIN_WORDS = {"arm", "IPS", "IPSE", "SAU", "participant_id", "site", "sex", "diagnosis", "age", "age_band"}


def _public_functions():
    for area in AREAS:
        module = importlib.import_module(f"ipstrial.{area}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{area}.{name}", obj


PUBLIC = dict(_public_functions())


def test_every_listed_estimator_is_public():
    assert sorted(set(ROLES) - set(PUBLIC)) == []


#: Functions that take data and an arm column but are not estimators (they generate replays of a design).
NOT_ESTIMATORS = {"randomization.replay_design"}


def test_every_function_taking_data_with_an_arm_is_listed():
    takes_data_and_arm = {
        name
        for name, f in PUBLIC.items()
        if list(inspect.signature(f).parameters)[:1] == ["data"] and "arm" in inspect.signature(f).parameters
    }
    assert sorted(takes_data_and_arm - set(ROLES) - NOT_ESTIMATORS) == []


@pytest.mark.parametrize("name", sorted(ROLES))
def test_estimator_signature(name):
    params = list(inspect.signature(PUBLIC[name]).parameters.values())
    roles = ROLES[name]
    head = ["data", *roles, "arm", "treatment", "control"]
    assert [p.name for p in params[: len(head)]] == head, name
    for p in params[: len(head)]:
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, (name, p.name)
    for p in params[len(head) - 3 : len(head)]:
        assert p.default is None, (name, p.name, p.default)
    for p in params[1 : len(head) - 3]:
        # outcome roles are required, except the event of a duration (a Trial pairs them)
        assert p.default is inspect.Parameter.empty or (p.name == "event" and p.default is None), (
            name,
            p.name,
        )
    for p in params[len(head) :]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, (name, p.name)
    names = {p.name for p in params}
    assert "analysis" in names and "id" in names, name
    assert inspect.signature(PUBLIC[name]).parameters["id"].default is None, name


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_one_name_per_concept(name):
    for p in inspect.signature(PUBLIC[name]).parameters.values():
        assert p.name not in RENAMED, f"{name}: {p.name} is called {RENAMED[p.name]} everywhere"
        if p.name == "alpha":
            assert p.default == 0.05, name


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_no_domain_defaults(name):
    for p in inspect.signature(PUBLIC[name]).parameters.values():
        default = p.default
        values = default if isinstance(default, tuple | list) else (default,)
        for value in values:
            assert not (isinstance(value, str) and value in DOMAIN_WORDS), f"{name}: {p.name}={default!r}"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_options_are_keyword_only(name):
    params = list(inspect.signature(PUBLIC[name]).parameters.values())
    for p in params:
        if p.name in (
            "alpha",
            "seed",
            "n_resamples",
            "m",
            "missing",
            "id",
            "analysis",
            "strata",
            "covariates",
        ):
            if name in ROLES or p.name not in ("covariates", "strata"):
                assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: {p.name} must be keyword-only"


def _documented(doc: str) -> set[str]:
    """The parameter names of a numpydoc Parameters section (``a, b`` entries count for each)."""
    import re

    section = re.search(r"\n\s*Parameters\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][A-Za-z ]+\n\s*-+\n|\Z)", doc, re.S)
    if not section:
        return set()
    lines = section.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    names: set[str] = set()
    for line in lines:
        if line.strip() and len(line) - len(line.lstrip()) == indent:
            head = line.strip().split(":")[0]
            names |= {n.strip().lstrip("*") for n in head.split(",")}
    return names


@pytest.mark.parametrize("name", sorted(ROLES))
def test_every_estimator_documents_every_parameter(name):
    function = PUBLIC[name]
    doc = inspect.getdoc(function) or ""
    assert "@params" not in doc, f"{name}: an unexpanded @params line"
    missing = set(inspect.signature(function).parameters) - _documented(doc)
    assert not missing, f"{name}: parameters without documentation: {sorted(missing)}"
