"""Missing outcomes: multiple imputation, worst/best-case bounds and delta-adjusted tipping points.

The input gate (:func:`ipstrial._inputs.gate`) refuses a missing outcome unless the caller chooses a
policy; this package holds the policies beyond complete case. Its estimators handle missing outcomes
themselves, so they take no ``missing=`` argument; like every estimator they take
``f(data, outcome, arm=None, treatment=None, control=None, *, options)`` with a DataFrame or an
:class:`ipstrial.Trial`, and pass their data through the gate (duplicated ids, near-miss arm labels, bad
covariates are errors; rows of other arms are counted in ``result.inputs``).

* :func:`rubin` (:mod:`~ipstrial.missing.pooling`) pools estimates from multiply imputed data by Rubin's
  rules (Rubin 1987), with the degrees of freedom of Barnard & Rubin (1999) when the complete-data degrees
  of freedom are known.
* :func:`multiple_imputation` (:mod:`~ipstrial.missing.imputation`) imputes the missing outcomes (and any
  numeric covariate with missing values) by chained equations (van Buuren & Groothuis-Oudshoorn 2011),
  separately in each arm, and pools the risk or mean difference over the completed datasets.
* :func:`bounds` (:mod:`~ipstrial.missing.extreme_case`) gives worst-case and best-case sensitivity bounds.
* :func:`tipping_point` (:mod:`~ipstrial.missing.tipping`) shifts the imputed log-odds of a binary outcome
  by δ in each arm (delta-adjusted multiple imputation, Ratitch, O'Kelly & Tosiello 2013) and finds where
  the conclusion flips.

Each imputation draws from its own random stream spawned from ``seed``, so the same seed gives the same
bits, and the first ``k`` imputations do not depend on ``m``; results record the seed entropy.
"""

from __future__ import annotations

from ipstrial.missing.extreme_case import BoundsResult, bounds
from ipstrial.missing.imputation import MultipleImputationResult, multiple_imputation
from ipstrial.missing.pooling import RubinPooled, rubin
from ipstrial.missing.tipping import DEFAULT_DELTAS, TippingPointResult, tipping_point

__all__ = [
    "DEFAULT_DELTAS",
    "BoundsResult",
    "MultipleImputationResult",
    "RubinPooled",
    "TippingPointResult",
    "bounds",
    "multiple_imputation",
    "rubin",
    "tipping_point",
]
