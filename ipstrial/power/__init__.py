"""Sample size and power: closed forms, and simulation through the real analysis.

* :func:`two_proportions`, :func:`logrank`, :func:`rmst_difference` -- closed forms (normal approximation,
  arcsine, Schoenfeld, Freedman; several arms against one control with Bonferroni), checked against R's
  ``power.prop.test`` and ``pwr.2p.test`` (``ipstrial/power/_closed_form.py``);
* :func:`simulated_power` -- power, sample size or detectable effect by simulating the analysis itself on
  replicate synthetic trials, through the validation engine (``ipstrial/power/_simulation.py``).
"""

from ipstrial.power._closed_form import (
    LOGRANK_METHODS,
    METHODS,
    PowerCalculation,
    logrank,
    rmst_difference,
    two_proportions,
)
from ipstrial.power._simulation import SimulatedPower, simulated_power

__all__ = [
    "LOGRANK_METHODS",
    "METHODS",
    "PowerCalculation",
    "SimulatedPower",
    "logrank",
    "rmst_difference",
    "simulated_power",
    "two_proportions",
]
