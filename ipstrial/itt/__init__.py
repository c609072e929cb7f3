"""Intention-to-treat effects.

Binary outcomes (:mod:`~ipstrial.itt.binary`; the interval formulas are in
:mod:`ipstrial.stats.proportions`), stratified Mantel-Haenszel analysis (:mod:`~ipstrial.itt.stratified`),
covariate-adjusted marginal effects (:mod:`~ipstrial.itt.marginal`), subgroups
(:mod:`~ipstrial.itt.subgroups`), and hours and weeks outcomes: means (:mod:`~ipstrial.itt.means`),
the two-part model (:mod:`~ipstrial.itt.two_part`), counts (:mod:`~ipstrial.itt.counts`) and ranks
(:mod:`~ipstrial.itt.rank`). Missing outcomes: :mod:`ipstrial.missing`.

Every estimator takes ``(data, outcome, arm=None, treatment=None, control=None, *, options)``, with
``data`` a DataFrame or an :class:`ipstrial.Trial`, and passes its data through the input gate
(:mod:`ipstrial._inputs`) before any computation.
"""

from ipstrial.itt.binary import BinaryComparison, compare_counts, compare_proportions
from ipstrial.itt.counts import RateRatio, rate_ratio
from ipstrial.itt.marginal import MarginalEffectResult, marginal_effect
from ipstrial.itt.means import AdjustedMeanDifference, MeanComparison, adjusted_mean_difference, compare_means
from ipstrial.itt.rank import HodgesLehmann, hodges_lehmann
from ipstrial.itt.stratified import StratifiedComparison, mantel_haenszel
from ipstrial.itt.subgroups import SubgroupResult, subgroups
from ipstrial.itt.two_part import TwoPart, two_part

__all__ = [
    "AdjustedMeanDifference",
    "BinaryComparison",
    "HodgesLehmann",
    "MarginalEffectResult",
    "MeanComparison",
    "RateRatio",
    "StratifiedComparison",
    "SubgroupResult",
    "TwoPart",
    "adjusted_mean_difference",
    "compare_counts",
    "compare_means",
    "compare_proportions",
    "hodges_lehmann",
    "mantel_haenszel",
    "marginal_effect",
    "rate_ratio",
    "subgroups",
    "two_part",
]
