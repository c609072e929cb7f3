"""The built-in scenarios of a validation study: name, what it shows, generating model and trial size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipstrial._checks import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.synthetic import Scenario

__all__ = ["SCENARIOS", "scenario_of"]

SCENARIOS: dict[str, str] = {
    "inklusion": "the Projekt Inklusion-like default (720 participants)",
    "null": "no effect of any arm (type I error near alpha)",
    "small": "the default with 60 participants (where the Wald interval fails)",
}
"""The built-in scenarios of ``ipstrial validate --scenario``."""


def scenario_of(name: str) -> tuple[Scenario, int | None]:
    """The scenario and the trial size of a built-in scenario name."""
    from ipstrial.synthetic import INKLUSION

    if name not in SCENARIOS:
        raise ParameterError(f"scenario must be one of {', '.join(SCENARIOS)}, got {name!r}")
    if name == "null":
        return INKLUSION.null(), None
    return INKLUSION, 60 if name == "small" else None
