"""Allocation schemes, allocation lists, balance and re-randomization inference.

One implementation of each scheme lives here; the synthetic trial allocates through them.
"""

from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.blocks import permuted_blocks, stratified_blocks
from ipstrial.randomization.simple import biased_coin, simple

__all__ = ["AllocationList", "biased_coin", "permuted_blocks", "simple", "stratified_blocks"]
