"""Permutation log-rank test: ipstrial's vectorised kernel against lifelines' logrank_test per permutation.

Data: the committed 720-participant trial, all 720 participants with a two-arm relabelling (IPS and
IPSE together as "IPS", 480 participants, against SAU, 240), days_to_job with event code 1 (competing
events censored); 10,000 random permutations of the arm labels, unstratified.

* ipstrial: ``logrank_permutation(..., n_resamples=10_000, seed=1)`` (sort once; the permutations from
  ``resampling.permutation_chunks``, chunk by chunk; cumulative sums over each chunk's permutations x
  participants 0/1 matrix, two matrix products per chunk);
* plain: what a user would otherwise write -- per permutation ``rng.permutation`` of the labels and
  ``lifelines.statistics.logrank_test``. Timed on 500 permutations and multiplied by 20 (all 10,000
  with ``--full``).

Target: ipstrial under 1 s and at least 100x faster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import DATA, line, plain_time, warm_best_of

from ipstrial.survival.logrank import logrank_permutation

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


def run(full: bool = False) -> list[str]:
    data = _data()

    def ours() -> object:
        return logrank_permutation(
            data, "days_to_job", "event", "arm", "IPS", "SAU", n_resamples=N_PERM, seed=1
        )

    fast = warm_best_of(ours, repeat=5)  # the warm-up imports scipy.stats once
    plain_permutation(data, 5, 1)  # warm up lifelines
    plain, note = plain_time(
        lambda k: plain_permutation(data, k, 1), N_PERM, N_PERM // 20, full, "permutations"
    )
    return [
        line(
            "logrank_permutation_10000",
            fast,
            plain,
            f"720 participants (IPS+IPSE vs SAU relabelling); target < 1 s and >= 100x; {note}",
        )
    ]
