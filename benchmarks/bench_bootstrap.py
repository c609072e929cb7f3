"""Bootstrap of the hours mean difference: ipstrial's vectorised counts against a per-replicate pandas loop.

On the committed 720-participant trial (IPS vs SAU, hours_18m, complete cases: 212 and 192
participants), 10,000 replicates resampling participants within arm:

* ipstrial: ``compare_means(..., n_resamples=10_000)`` (Welch, arm means and the bootstrap: one integer
  draw and one ``bincount`` per arm, replicate means by a matrix product);
* plain: what a user would write -- per replicate ``groupby("arm").sample(frac=1, replace=True)``
  and the arm means. The loop is timed on 1,000 replicates first; only when 10,000 would take over a
  minute is the 1,000-replicate time multiplied by 10 (the line says so), unless ``--full``.

A second line times the two-part model with 2,000 bootstrap replicates (both parts refitted in
every replicate, vectorised over replicates) against a loop refitting statsmodels GLMs on each
resampled data set (timed on 100 replicates and multiplied by 20; ``--full`` times all 2,000).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import DATA, line, plain_time, warm_best_of

from ipstrial.itt import compare_means, two_part

COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
N_BOOT = 10_000
LIMIT = 60.0


def plain_bootstrap(data: pd.DataFrame, n_boot: int, seed: int) -> np.ndarray:
    """Per-replicate pandas loop: resample within arm, then the difference of the arm means."""
    rng = np.random.default_rng(seed)
    sub = data.loc[data.arm.isin(["IPS", "SAU"]), ["arm", "hours_18m"]].dropna()
    out = np.empty(n_boot)
    for b in range(n_boot):
        resampled = sub.groupby("arm").sample(frac=1, replace=True, random_state=rng)
        means = resampled.groupby("arm").hours_18m.mean()
        out[b] = means["IPS"] - means["SAU"]
    return out


def plain_two_part(data: pd.DataFrame, n_boot: int, seed: int) -> np.ndarray:
    """Per-replicate refit of both parts with statsmodels formulas, then g-computation."""
    import statsmodels.formula.api as smf
    from statsmodels.genmod.families import Binomial, Gamma
    from statsmodels.genmod.families.links import Log

    rng = np.random.default_rng(seed)
    sub = data.loc[data.arm.isin(["IPS", "SAU"])].dropna(subset=["hours_18m"])
    terms = "C(arm, Treatment('SAU')) + " + " + ".join(COVARIATES)
    out = np.empty(n_boot)
    for b in range(n_boot):
        s = (
            sub.groupby("arm")
            .sample(frac=1, replace=True, random_state=rng)
            .assign(any_hours=lambda f: (f.hours_18m > 0).astype(float))
        )
        part1 = smf.glm(f"any_hours ~ {terms}", s, family=Binomial()).fit()
        part2 = smf.glm(f"hours_18m ~ {terms}", s[s.hours_18m > 0], family=Gamma(Log())).fit()
        means = {}
        for a in ("IPS", "SAU"):
            everyone = s.assign(arm=a)
            means[a] = float(np.mean(part1.predict(everyone) * part2.predict(everyone)))
        out[b] = means["IPS"] - means["SAU"]
    return out


def run(full: bool = False) -> list[str]:
    data = pd.read_csv(DATA)
    lines = []

    def ours() -> object:
        return compare_means(
            data, "hours_18m", "arm", "IPS", "SAU", n_resamples=N_BOOT, seed=1, missing="complete-case"
        )

    fast = warm_best_of(ours, repeat=5)  # the warm-up imports scipy.stats once
    plain, note = plain_time(lambda k: plain_bootstrap(data, k, 1), N_BOOT, 1_000, full, "replicates", LIMIT)
    lines.append(line("bootstrap_mean_difference_10000", fast, plain, f"target < 0.3 s and >= 100x; {note}"))

    def ours_two_part() -> object:
        return two_part(
            data,
            "hours_18m",
            "arm",
            "IPS",
            "SAU",
            covariates=COVARIATES,
            n_resamples=2_000,
            seed=1,
            missing="complete-case",
        )

    fast = warm_best_of(ours_two_part, repeat=2)
    plain, note = plain_time(lambda k: plain_two_part(data, k, 1), 2_000, 100, full, "replicates")
    lines.append(line("two_part_bootstrap_2000", fast, plain, f"limit 20 s; {note}"))
    return lines
