"""Allocation schemes and allocation lists.

One implementation of each scheme lives here; the synthetic trial allocates through them.
"""

from ipstrial.randomization.blocks import AllocationList, permuted_blocks, stratified_blocks

__all__ = ["AllocationList", "permuted_blocks", "stratified_blocks"]
