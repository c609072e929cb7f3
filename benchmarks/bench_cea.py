"""Cost-effectiveness bootstrap with the acceptability curve: ipstrial against a per-replicate pandas loop.

On the committed 720-participant trial, all three arms (IPS vs SAU and IPSE vs SAU, so every one of
the 720 participants is resampled), cost ``cost_total`` and effect ``employed_18m``, 10,000 bootstrap
replicates resampling participants within arm with cost and effect kept paired, and the
acceptability curve on 201 willingness-to-pay values (0 to 400,000 DKK per additional person in work
or education):

* ipstrial: ``cost_effectiveness(..., n_resamples=10_000)``, the whole analysis (the input gate, the
  counts drawn chunk by chunk of replicates with one integer draw and one ``bincount`` per arm,
  replicate means of cost and effect by one matrix product per arm and chunk, the CEAC and EVPI
  curves as matrix operations, the Fieller intervals and every row);
* plain: what a user would write -- per replicate ``groupby("arm").sample(frac=1, replace=True)``,
  the arm means of cost and effect and the two differences; then the CEAC from the draws (one
  vectorised comparison per willingness-to-pay value). The loop is timed on 1,000 replicates and
  multiplied by 10 (the line says so) unless ``--full``, which times all 10,000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import DATA, line, plain_time, warm_best_of

from ipstrial.economics import cost_effectiveness

N_BOOT = 10_000
WTP = 200_000.0
GRID = np.linspace(0.0, 2 * WTP, 201)


def plain_bootstrap(data: pd.DataFrame, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-replicate pandas loop: resample within arm, arm means, differences; then the CEAC."""
    rng = np.random.default_rng(seed)
    sub = data[["arm", "cost_total", "employed_18m"]]
    dc = np.empty((n_boot, 2))
    de = np.empty((n_boot, 2))
    for b in range(n_boot):
        resampled = sub.groupby("arm").sample(frac=1, replace=True, random_state=rng)
        means = resampled.groupby("arm")[["cost_total", "employed_18m"]].mean()
        for j, t in enumerate(("IPS", "IPSE")):
            dc[b, j] = means.at[t, "cost_total"] - means.at["SAU", "cost_total"]
            de[b, j] = means.at[t, "employed_18m"] - means.at["SAU", "employed_18m"]
    ceac = np.array([np.mean(lam * de - dc > 0, axis=0) for lam in GRID])
    return dc, de, ceac


def run(full: bool = False) -> list[str]:
    data = pd.read_csv(DATA)

    def ours() -> object:
        return cost_effectiveness(
            data,
            "cost_total",
            "employed_18m",
            "arm",
            ["IPS", "IPSE"],
            "SAU",
            wtp=WTP,
            wtp_grid=GRID,
            n_resamples=N_BOOT,
            seed=1,
            id="participant_id",
        )

    fast = warm_best_of(ours, repeat=5)
    plain, note = plain_time(lambda k: plain_bootstrap(data, k, 1), N_BOOT, 1_000, full, "replicates")
    return [
        line(
            "cea_bootstrap_ceac_10000",
            fast,
            plain,
            f"720 participants, IPS and IPSE vs SAU, CEAC on 201 wtp values; target < 0.3 s, >= 100x; {note}",
        )
    ]
