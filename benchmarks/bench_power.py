"""Power by simulation: the headline contrast's power at 217 per arm from 1,000 replicate trials.

* ipstrial: ``simulated_power("inklusion", estimator="rd_newcombe", n=651, reps=1000, workers=2)``, through
  the validation engine (the trials drawn by ``simulate_trial``, the Newcombe kernel on batches of 25).
* plain: the loop a user would write -- per replicate ``simulate_trial`` and statsmodels' Wilson intervals
  with Newcombe's square-and-add and ``proportions_ztest`` (``bench_validation._newcombe``), counting
  p < 0.05 for IPS vs SAU, in this process.

Both count the same rejections (checked: the two powers are equal). Drawing the trials is most of both
times, so the ratio is small: the point of this line is that simulated power costs little beyond the
simulation itself, on every core.
"""

from __future__ import annotations

import time

import numpy as np
from _timing import clock, line
from bench_validation import _newcombe

from ipstrial.power import simulated_power
from ipstrial.synthetic import INKLUSION, simulate_trial

REPS = 1_000
N = 651
WORKERS = 2


def _plain(reps: int) -> float:
    rejected = 0
    for rep in range(reps):
        data = simulate_trial(
            INKLUSION, n=N, seed=np.random.default_rng(np.random.SeedSequence(1, spawn_key=(rep,)))
        )
        rejected += _newcombe(data)["IPS"][3] < 0.05
    return rejected / reps


def run(full: bool = False) -> list[str]:
    simulated_power("inklusion", n=N, reps=4, quiet=True)  # warm up imports and the calibration
    start = time.perf_counter()
    ours = simulated_power("inklusion", n=N, reps=REPS, seed=1, workers=WORKERS, quiet=True)
    elapsed = time.perf_counter() - start
    _plain(2)
    result = {}
    plain = clock(lambda: result.setdefault("power", _plain(REPS)))
    if abs(result["power"] - ours.power) > 1e-12:
        raise AssertionError(f"the plain loop's power {result['power']} differs from {ours.power}")
    return [
        line(
            "power_simulation",
            elapsed,
            plain,
            f"power of IPS vs SAU (Newcombe) at 217 per arm from {REPS:,} trials: {ours.power:.3f}; "
            f"ipstrial on {WORKERS} processes, plain loop in this process; per core "
            f"{plain / (WORKERS * elapsed):.1f}x",
        )
    ]
