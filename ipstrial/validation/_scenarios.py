"""The built-in scenarios of a validation study: name, what it shows, generating model and trial size.

Each is a :class:`~ipstrial.synthetic.Scenario` with its own ``name`` (its truths are cached per scenario),
derived from :data:`~ipstrial.synthetic.INKLUSION`:

* ``inklusion``: the Projekt Inklusion-like default, 720 participants;
* ``null``: no arm effects (:meth:`~ipstrial.synthetic.Scenario.null`): rejection rates are type I errors;
* ``small``: the default with 60 participants, where large-sample intervals are put to the test;
* ``nonph``: non-proportional hazards (:meth:`~ipstrial.synthetic.Scenario.nonph`): the treatment arms'
  job hazard rises over follow-up and crosses the control's near day 100; the RMST difference keeps
  its exact truth, the Cox hazard ratio has none (only its rejection rate is reported);
* ``mar``: ``hours_18m`` missing at random given prognostic covariates, differently by arm
  (:meth:`~ipstrial.synthetic.Scenario.mar`): the complete-case mean difference is biased, multiple
  imputation on the covariates is not.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ipstrial._checks import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.synthetic import Scenario

__all__ = ["SCENARIOS", "builtin_scenario", "scenario_of"]

SCENARIOS: dict[str, str] = {
    "inklusion": "the Projekt Inklusion-like default (720 participants)",
    "null": "no effect of any arm (type I error near alpha)",
    "small": "the default with 60 participants (large-sample intervals and adjustment put to the test)",
    "nonph": "non-proportional hazards: the treatment arms' job hazards cross the control's (RMST vs Cox)",
    "mar": "hours missing at random given covariates, by arm (multiple imputation vs complete case)",
}
"""The built-in scenarios of ``ipstrial validate --scenario``."""

_SMALL_N = 60

_BUILT: dict[str, Scenario] = {}


def builtin_scenario(name: str) -> Scenario:
    """The :class:`~ipstrial.synthetic.Scenario` of a built-in scenario name (one object per name).

    Raises
    ------
    ParameterError
        ``name`` is not one of :data:`SCENARIOS` (the message lists them).
    """
    if name not in SCENARIOS:
        raise ParameterError(f"scenario must be one of {', '.join(SCENARIOS)}, got {name!r}")
    if name not in _BUILT:
        from ipstrial.synthetic import INKLUSION

        _BUILT[name] = {
            "inklusion": lambda: INKLUSION,
            "null": INKLUSION.null,
            "small": lambda: dataclasses.replace(
                INKLUSION,
                name=f"{INKLUSION.name}-small",
                n=_SMALL_N,
                description=f"{INKLUSION.description}, {_SMALL_N} participants",
            ),
            "nonph": INKLUSION.nonph,
            "mar": INKLUSION.mar,
        }[name]()
    return _BUILT[name]


def scenario_of(name: str) -> tuple[Scenario, int | None]:
    """The scenario and the trial size of a built-in scenario name (the size is the scenario's ``n``)."""
    scenario = builtin_scenario(name)
    return scenario, scenario.n
