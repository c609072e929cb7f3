"""Allocation schemes, allocation lists, balance and re-randomization inference.

One implementation of each scheme lives here; the synthetic trial allocates through them.

* Schemes: :func:`simple`, :func:`permuted_blocks`, :func:`stratified_blocks`, :func:`minimization`
  (Pocock-Simon), :func:`biased_coin` (Efron); each returns an :class:`AllocationList` that exports
  to CSV / JSON with provenance and a SHA-256 of the list, and regenerates from its record.
* Balance: :func:`balance` (tables, standardised mean differences, tests, Love plot).
* Properties of a scheme by simulation: :func:`simulate_scheme`, :func:`compare_schemes`.
* Inference that replays the design (simple, Efron's biased coin, permuted and stratified blocks,
  minimization, or a permutation of the observed arms): :func:`rerandomization_test`; the replays
  themselves, :func:`replay_design`.
"""

from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.balance import BASELINE_TEST_CAUTION, BalanceResult, balance
from ipstrial.randomization.blocks import permuted_blocks, stratified_blocks
from ipstrial.randomization.minimization import minimization
from ipstrial.randomization.properties import (
    COMPARE_COLUMNS,
    SCHEMES,
    SchemeProperties,
    compare_schemes,
    simulate_scheme,
)
from ipstrial.randomization.replay import Replays, replay_design
from ipstrial.randomization.rerandomization import RerandomizationResult, rerandomization_test
from ipstrial.randomization.simple import biased_coin, simple

__all__ = [
    "BASELINE_TEST_CAUTION",
    "COMPARE_COLUMNS",
    "SCHEMES",
    "AllocationList",
    "BalanceResult",
    "Replays",
    "RerandomizationResult",
    "SchemeProperties",
    "balance",
    "biased_coin",
    "compare_schemes",
    "minimization",
    "permuted_blocks",
    "replay_design",
    "rerandomization_test",
    "simple",
    "simulate_scheme",
    "stratified_blocks",
]
