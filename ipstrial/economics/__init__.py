"""Health economics alongside a trial: cost-effectiveness, incremental analysis, costs.

* :func:`cost_effectiveness` -- ΔC, ΔE, the ICER with its quadrant and Fieller's interval, the
  incremental net monetary benefit, the probability of cost-effectiveness, EVPI, the bootstrap
  CE plane and acceptability curve; covariate-adjusted costs and effects (QALYs with baseline utility).
* :func:`incremental_analysis` / :func:`incremental_from_data` -- more than two arms: strict and
  extended dominance and the frontier; :func:`acceptability_frontier` -- the CEAF.
* :func:`costs_by_category`, perspectives (:func:`perspective_cost`), :func:`index_prices`,
  :func:`discount` (3.5 % a year, the Danish social discount rate, by default).
"""

from ipstrial.economics.cea import CostEffectivenessResult, cost_effectiveness
from ipstrial.economics.costs import (
    PERSPECTIVES,
    CostsByCategory,
    costs_by_category,
    discount,
    discount_factors,
    index_prices,
    perspective_categories,
    perspective_cost,
)
from ipstrial.economics.incremental import (
    AcceptabilityFrontier,
    IncrementalResult,
    acceptability_frontier,
    incremental_analysis,
    incremental_from_data,
)
from ipstrial.economics.plane import (
    QUADRANTS,
    FiellerInterval,
    ceac_from_draws,
    evpi_from_draws,
    fieller_interval,
    quadrant,
)
from ipstrial.economics.qaly import qaly_auc

__all__ = [
    "PERSPECTIVES",
    "QUADRANTS",
    "AcceptabilityFrontier",
    "CostEffectivenessResult",
    "CostsByCategory",
    "FiellerInterval",
    "IncrementalResult",
    "acceptability_frontier",
    "ceac_from_draws",
    "cost_effectiveness",
    "costs_by_category",
    "discount",
    "discount_factors",
    "evpi_from_draws",
    "fieller_interval",
    "incremental_analysis",
    "incremental_from_data",
    "index_prices",
    "perspective_categories",
    "perspective_cost",
    "qaly_auc",
    "quadrant",
]
