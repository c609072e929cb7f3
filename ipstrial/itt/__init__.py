"""Intention-to-treat effects.

Binary outcomes (:mod:`~ipstrial.itt.binary`, :mod:`~ipstrial.itt.intervals`), stratified
Mantel-Haenszel analysis (:mod:`~ipstrial.itt.stratified`), covariate-adjusted marginal effects
(:mod:`~ipstrial.itt.marginal`), subgroups (:mod:`~ipstrial.itt.subgroups`) and hours and weeks
outcomes (:mod:`~ipstrial.itt.continuous`). Missing outcomes: :mod:`ipstrial.missing`.
"""

from ipstrial.itt.binary import BinaryComparison, compare_counts, compare_proportions
from ipstrial.itt.continuous import (
    adjusted_mean_difference,
    compare_means,
    hodges_lehmann,
    rate_ratio,
    two_part,
)
from ipstrial.itt.marginal import MarginalEffectResult, marginal_effect
from ipstrial.itt.stratified import StratifiedComparison, mantel_haenszel
from ipstrial.itt.subgroups import SubgroupResult, subgroups

__all__ = [
    "BinaryComparison",
    "MarginalEffectResult",
    "StratifiedComparison",
    "SubgroupResult",
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
