"""Simulating the synthetic trial: ipstrial's vectorised generator against a per-participant loop.

The plain approach draws each participant's covariates and outcomes one at a time from the same
model (stratified permuted blocks, Weibull job time, competing exit, loss to follow-up, weeks,
hours, six cost categories, transfers, utilities), as a user without the vectorised generator
would write it. Issue 2 asks for 720 participants in under 0.1 s and 1,000,000 in under 10 s.
"""

from __future__ import annotations

import math

import numpy as np
from _timing import best_of, line

from ipstrial import _model
from ipstrial import synthetic as syn
from ipstrial.synthetic import INKLUSION, simulate_trial


def plain_simulation(n: int, seed: int) -> list[dict]:
    """Per-participant loop over the same generating model (no vectorisation)."""
    sc = INKLUSION
    rng = np.random.default_rng(seed)
    cal = _model.calibrate(sc)
    ages, age_p = _model.age_distribution(sc.age_mean, sc.age_sd, *sc.age_range)
    mu2, c = _model._rates(sc)
    blocks: dict[tuple, list[int]] = {}
    costs = dict(sc.cost_means)
    effects = dict(sc.cost_effects)
    rho = dict(sc.cost_employed_ratio)
    any_use = dict(sc.cost_any)
    rows = []
    for _ in range(n):
        cov = {
            "site": np.array([rng.choice(3, p=sc.site_probs)]),
            "age": np.array([ages[rng.choice(len(ages), p=age_p)]]),
            "female": np.array([int(rng.random() < sc.p_female)]),
            "diagnosis": np.array([rng.choice(3, p=sc.diagnosis_probs)]),
            "education": np.array([rng.choice(3, p=sc.education_probs)]),
            "employed_prev5y": np.array([int(rng.random() < sc.p_employed_prev5y)]),
            "substance_use": np.array([int(rng.random() < sc.p_substance_use)]),
        }
        stratum = (int(cov["site"][0]), int(cov["employed_prev5y"][0]))
        queue = blocks.setdefault(stratum, [])
        if not queue:
            size = int(rng.choice(sc.block_sizes))
            queue.extend(rng.permutation(np.repeat(np.arange(3), size // 3)).tolist())
        arm = queue.pop(0)
        r1 = cal.lam[arm] * math.exp(_model.linear_predictor(sc, sc.job_effects, cov)[0])
        r2 = mu2 * math.exp(_model.linear_predictor(sc, sc.competing_effects, cov)[0])
        t_job = (rng.standard_exponential() / r1) ** (1 / sc.job_shape)
        t_exit = rng.standard_exponential() / r2
        t_loss = rng.standard_exponential() / c
        first = min(t_job, t_exit, t_loss)
        event = 0 if first > sc.follow_up_days else (1 if first == t_job else 2 if first == t_exit else 0)
        days = math.ceil(first) if first <= sc.follow_up_days else sc.follow_up_days
        employed = int(event == 1 and days <= syn.DAYS_18M)
        q = 1 / (
            1
            + math.exp(
                -(
                    math.log(sc.week_share[arm] / (1 - sc.week_share[arm]))
                    + _model.linear_predictor(sc, sc.week_effects, cov)[0]
                )
            )
        )
        weeks = employed * (1 + rng.binomial((syn.DAYS_18M - days) // 7 if employed else 0, q))
        hours = weeks * rng.gamma(sc.hours_shape, sc.hours_per_week[arm] / sc.hours_shape)
        row = {"arm": arm, "days": days, "event": event, "employed": employed, "weeks": weeks, "hours": hours}
        for category in syn.COST_CATEGORIES:
            v = math.exp(_model.linear_predictor(sc, effects[category], cov)[0]) * (
                rho[category] if employed else 1
            )
            use = rng.random() < any_use[category]
            amount = rng.gamma(sc.cost_shape, 1 / sc.cost_shape)
            row[category] = (
                costs[category][arm] * v / cal.cost_norm[category][arm] * use / any_use[category] * amount
            )
        row["transfers"] = rng.gamma(sc.benefit_shape, sc.benefit_per_week / sc.benefit_shape) * (
            78 - 0.6 * weeks
        )
        row["eq5d_0"] = 1 - 1.757 * rng.beta(2, 8)
        row["eq5d_18m"] = 1 - 1.757 * rng.beta(2, 8)
        rows.append(row)
    return rows


def run(full: bool = False) -> list[str]:
    _model.calibrate(INKLUSION)  # one-time per scenario (about 0.7 s), cached; timed separately below
    lines = []
    for n in (720, 100_000):
        ours = best_of(lambda n=n: simulate_trial(n=n, seed=1), repeat=5 if n < 10_000 else 2)
        plain = best_of(lambda n=n: plain_simulation(n, 1), repeat=3 if n < 10_000 else 1)
        lines.append(line(f"simulate_{n}", ours, plain, "limit 0.1 s" if n == 720 else ""))
    ours = best_of(lambda: simulate_trial(n=1_000_000, seed=1), repeat=1)
    plain = best_of(lambda: plain_simulation(1_000_000, 1), repeat=1) if full else None
    lines.append(
        line("simulate_1000000", ours, plain, "limit 10 s" + ("" if full else "; plain timed with --full"))
    )
    _model.calibrate.cache_clear()
    cold = best_of(lambda: (_model.calibrate.cache_clear(), _model.calibrate(INKLUSION)), repeat=3)
    lines.append(
        line("calibrate_scenario_once", cold, None, "solving the job-hazard scales; cached per scenario")
    )
    return lines
