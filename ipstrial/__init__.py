"""ipstrial: analysis of randomised trials of employment interventions such as IPS.

The public names are loaded on first use, so ``import ipstrial`` stays light: it imports
neither statsmodels, lifelines, scipy.stats nor matplotlib (see ``benchmarks/bench_import.py``).

Start from :class:`ipstrial.Trial` (the data with the roles of its columns, validated once); every
estimator of :mod:`ipstrial.itt`, :mod:`ipstrial.missing`, :mod:`ipstrial.survival`,
:mod:`ipstrial.economics` and :mod:`ipstrial.randomization` accepts it in place of a DataFrame.
Other modules: :mod:`ipstrial.schema` (the data contract), :mod:`ipstrial.results` (the result
type), :mod:`ipstrial.synthetic` (a Projekt Inklusion-like trial with known truths),
:mod:`ipstrial.budget` (business cases and projections).
"""

from __future__ import annotations

import importlib
from typing import Any

from ipstrial._version import __version__

_PUBLIC = {
    "TrialDataError": "ipstrial.errors",
    "DesignError": "ipstrial.errors",
    "EstimationError": "ipstrial.errors",
    "ParameterError": "ipstrial.errors",
    "MemoryBudgetError": "ipstrial.errors",
    "Trial": "ipstrial.trial",
    "set_memory_budget": "ipstrial._memory",
    "memory_budget": "ipstrial._memory",
    "memory_budget_of": "ipstrial._memory",
    "TrialSchema": "ipstrial.schema",
    "validate": "ipstrial.schema",
    "missing_by_arm": "ipstrial.schema",
    "Result": "ipstrial.results",
    "Row": "ipstrial.results",
    "Scenario": "ipstrial.synthetic",
    "INKLUSION": "ipstrial.synthetic",
    "simulate_trial": "ipstrial.synthetic",
}
_SUBMODULES = (
    "errors",
    "schema",
    "trial",
    "results",
    "synthetic",
    "randomization",
    "itt",
    "survival",
    "economics",
    "budget",
    "missing",
    "resampling",
    "cli",
)

__all__ = ["__version__", *_PUBLIC, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    """Load a public name or submodule on first access (PEP 562)."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"ipstrial.{name}")
    else:
        raise AttributeError(f"module 'ipstrial' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
