"""Permutation log-rank test: ipstrial's vectorised kernel against lifelines' logrank_test per permutation.

Data: the committed 720-participant trial, all 720 participants with a two-arm relabelling (IPS and
IPSE together as "IPS", 480 participants, against SAU, 240), days_to_job with event code 1 (competing
events censored); 10,000 random permutations of the arm labels, unstratified.

* ipstrial: ``logrank_permutation(..., n=10_000, seed=1)`` (sort once, cumulative sums over blocks of
  a permutations x participants 0/1 matrix, two matrix products per block);
* plain: what a user would otherwise write -- per permutation ``rng.permutation`` of the labels and
  ``lifelines.statistics.logrank_test``. Timed on 500 permutations and multiplied by 20 (all 10,000
  with ``--full``).

Target: ipstrial under 1 s and at least 100x faster.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from _timing import best_of, line

from ipstrial.survival.logrank import logrank_permutation

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "inklusion.csv"
N_PERM = 10_000


def _data() -> pd.DataFrame:
    data = pd.read_csv(DATA)
    return data.assign(arm=np.where(data.arm == "SAU", "SAU", "IPS"))


def plain_permutation(data: pd.DataFrame, n_perm: int, seed: int) -> np.ndarray:
    """Per-permutation loop: shuffle the labels, call lifelines' logrank_test."""
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(seed)
    time_ = data.days_to_job.to_numpy(float)
    event = (data.event == 1).to_numpy()
    labels = (data.arm == "IPS").to_numpy()
    out = np.empty(n_perm)
    for b in range(n_perm):
        treated = rng.permutation(labels)
        result = logrank_test(time_[treated], time_[~treated], event[treated], event[~treated])
        out[b] = result.test_statistic
    return out


def _clock(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(full: bool = False) -> list[str]:
    data = _data()

    def ours() -> object:
        return logrank_permutation(data, "days_to_job", "event", "arm", "IPS", "SAU", n=N_PERM, seed=1)

    ours()  # warm up (imports scipy.stats once)
    fast = best_of(ours, repeat=5)
    plain_permutation(data, 5, 1)  # warm up lifelines
    if full:
        plain = _clock(lambda: plain_permutation(data, N_PERM, 1))
        note = "plain timed on all 10,000 permutations"
    else:
        plain = 20 * _clock(lambda: plain_permutation(data, N_PERM // 20, 1))
        note = "plain timed on 500 permutations x 20 (all 10,000 with --full)"
    return [
        line(
            "logrank_permutation_10000",
            fast,
            plain,
            f"720 participants (IPS+IPSE vs SAU relabelling); target < 1 s and >= 100x; {note}",
        )
    ]
