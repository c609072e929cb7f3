"""Re-randomization test: replaying the trial's design, vectorised over replays, against a loop.

On the committed 720-participant trial (risk difference of ``employed_18m``, IPS vs SAU; participants
arrive in the order of the ``enrolment`` column):

* stratified permuted blocks (strata site x employed_prev5y, block sizes 3 and 6, 1:1:1), 10,000
  replays: ipstrial's ``rerandomization_test`` (all replays of a stratum drawn at once by the block
  kernel, the statistic for all replays by matrix products) against what a user would write --
  ``stratified_blocks(..., seed=i)`` in a Python loop and the risk difference of each list. The loop
  is timed on 500 replays and multiplied by 20 (all 10,000 with ``--full``); target under 1 s and at
  least 20 times faster.
* minimization (factors site and employed_prev5y, range, p = 0.8), 1,000 replays: ipstrial
  (participant by participant, each step vectorised over the replays) against a plain
  per-participant Python loop of the same algorithm for one list at a time, timed on 50 lists and
  multiplied by 20 (all 1,000 with ``--full``); target under 5 s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import DATA, line, plain_time, warm_best_of

from ipstrial.randomization.blocks import stratified_blocks
from ipstrial.randomization.rerandomization import rerandomization_test

ARMS = ("IPS", "IPSE", "SAU")
FACTORS = ["site", "employed_prev5y"]


def plain_blocks(data: pd.DataFrame, n: int) -> np.ndarray:
    """Regenerate the stratified list with a new seed per replay and compute the risk difference."""
    y = data["employed_18m"].to_numpy(dtype=float)
    strata = data[FACTORS]
    out = np.empty(n)
    for i in range(n):
        arm = stratified_blocks(strata, ARMS, (3, 6), seed=i).arms
        out[i] = y[arm == "IPS"].mean() - y[arm == "SAU"].mean()
    return out


def plain_minimization(data: pd.DataFrame, n: int, p: float = 0.8) -> np.ndarray:
    """Pocock-Simon minimization (range, equal weights and ratio) written as a per-participant loop."""
    rng = np.random.default_rng(1)
    rows = list(zip(*(data[f].astype(str) for f in FACTORS), strict=True))
    y = data["employed_18m"].to_numpy(dtype=float)
    k = len(ARMS)
    out = np.empty(n)
    for i in range(n):
        counts: dict[tuple[int, str], list[int]] = {}
        arms = []
        for j, levels in enumerate(rows):
            cells = [counts.setdefault((f, level), [0] * k) for f, level in enumerate(levels)]
            if j == 0:
                arm = int(rng.integers(k))
            else:
                scores = []
                for c in range(k):
                    total = 0
                    for cell in cells:
                        after = cell.copy()
                        after[c] += 1
                        total += max(after) - min(after)
                    scores.append(total)
                best = min(scores)
                tied = [c for c in range(k) if scores[c] == best]
                preferred = tied[int(rng.integers(len(tied)))]
                if rng.random() < p:
                    arm = preferred
                else:
                    others = [c for c in range(k) if c != preferred]
                    arm = others[int(rng.integers(k - 1))]
            for cell in cells:
                cell[arm] += 1
            arms.append(arm)
        a = np.asarray(arms)
        out[i] = y[a == 0].mean() - y[a == 2].mean()
    return out


def _ours(data: pd.DataFrame, design: dict, n_resamples: int):
    """ipstrial's test of the risk difference, IPS vs SAU, replaying ``design`` in order of enrolment."""
    return lambda: rerandomization_test(
        data,
        "employed_18m",
        "arm",
        "IPS",
        "SAU",
        design=design,
        n_resamples=n_resamples,
        seed=1,
        order="enrolment",
    )


def run(full: bool = False) -> list[str]:
    data = pd.read_csv(DATA)
    lines = []
    blocks = {"scheme": "stratified_blocks", "factors": FACTORS, "block_sizes": [3, 6], "arms": list(ARMS)}
    fast = warm_best_of(_ours(data, blocks, 10_000), repeat=3)
    plain, note = plain_time(lambda k: plain_blocks(data, k), 10_000, 500, full, "replays")
    lines.append(
        line("rerandomization_stratified_blocks_10000", fast, plain, f"target < 1 s and >= 20x; {note}")
    )

    mini = {"scheme": "minimization", "factors": FACTORS, "arms": list(ARMS), "p": 0.8}
    fast = warm_best_of(_ours(data, mini, 1_000), repeat=3)
    plain, note = plain_time(lambda k: plain_minimization(data, k), 1_000, 50, full, "lists")
    lines.append(line("rerandomization_minimization_1000", fast, plain, f"target < 5 s; {note}"))
    return lines


if __name__ == "__main__":
    for text in run():
        print(text)
