"""Scheme properties by simulation: ``simulate_scheme`` drawing all sequences at once, against a loop.

720 participants per sequence, 1,000 sequences, three arms; every simulated participant's site (three
levels, probabilities 0.4, 0.35, 0.25) and employment in the previous five years (0.3) drawn anew:

* minimization (factors site and employed_prev5y, range, p = 0.8): ipstrial's ``simulate_scheme`` (the
  sequences from ``minimization._minimize_batch``, participant by participant, each step vectorised over
  the 1,000 sequences with their own participants; then the imbalance and guessing summaries) against
  what it did before and a user would write -- one ``minimization(...)`` call per sequence on that
  sequence's participants. The loop is timed on 50 sequences and multiplied by 20 (all 1,000 with
  ``--full``); it only generates the sequences, ipstrial's time includes the summaries.
* simple randomization: ``simulate_scheme`` (one integer draw for all sequences) against one
  ``simple(...)`` call per sequence, timed in the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import line, plain_time, warm_best_of

from ipstrial.randomization.minimization import minimization
from ipstrial.randomization.properties import simulate_scheme
from ipstrial.randomization.simple import simple

N = 720
N_SIM = 1_000
ARMS = ("IPS", "IPSE", "SAU")
STRATA = {"site": {"a": 0.4, "b": 0.35, "c": 0.25}, "employed_prev5y": {0: 0.7, 1: 0.3}}


def _factors(rng: np.random.Generator) -> pd.DataFrame:
    """One sequence's participants: their factors drawn from :data:`STRATA`."""
    return pd.DataFrame(
        {f: rng.choice(list(levels), size=N, p=list(levels.values())) for f, levels in STRATA.items()}
    )


def plain_minimization(n_sim: int) -> np.ndarray:
    """One ``minimization`` call per sequence, each on its own drawn participants."""
    rng = np.random.default_rng(1)
    index = pd.Index(ARMS)
    out = np.empty((n_sim, N), dtype=np.int64)
    for i in range(n_sim):
        listed = minimization(_factors(rng), ARMS, p=0.8, seed=int(rng.integers(2**63 - 1)))
        out[i] = index.get_indexer(listed.arms)
    return out


def plain_simple(n_sim: int) -> np.ndarray:
    """One ``simple`` call per sequence."""
    rng = np.random.default_rng(1)
    index = pd.Index(ARMS)
    out = np.empty((n_sim, N), dtype=np.int64)
    for i in range(n_sim):
        out[i] = index.get_indexer(simple(N, ARMS, seed=int(rng.integers(2**63 - 1))).arms)
    return out


def run(full: bool = False) -> list[str]:
    lines = []
    for scheme, plain, options in (
        ("minimization", plain_minimization, {"p": 0.8}),
        ("simple", plain_simple, {}),
    ):

        def ours(scheme: str = scheme, options: dict = options) -> object:
            return simulate_scheme(scheme, N, n_sim=N_SIM, seed=1, strata=STRATA, arms=ARMS, **options)

        fast = warm_best_of(ours, repeat=3)
        slow, note = plain_time(plain, N_SIM, 50, full, "sequences")
        note += "; ipstrial includes the summaries"
        lines.append(line(f"simulate_scheme_{scheme}_{N}x{N_SIM}", fast, slow, note))
    return lines


if __name__ == "__main__":
    for text in run():
        print(text)
