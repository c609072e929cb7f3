"""The validation study's core estimators: 1,000 replicate trials through the vectorised kernels on 2
processes, against the per-replicate loop through lifelines and statsmodels.

The six core estimators of issue 11 ("Speed"): the Newcombe risk difference, the Ye-adjusted marginal risk
difference, the log-rank test, the Cox hazard ratio, the RMST difference and the delta cost, on replicate
trials of the ``inklusion`` scenario (720 participants, three arms):

* ipstrial: ``run_study("inklusion", reps=1000, estimators=<the six>, workers=2)``, everything included --
  drawing the 1,000 trials (``simulate_trial``), the kernels of :mod:`ipstrial.validation._kernels` on
  each batch of 25 trials (the engine's fast path), the records and the table, the two processes' start-up.
  Goal (issue 11): under 30 s on 2 cores.
* plain: what a user would otherwise write -- per replicate ``simulate_trial`` and then: statsmodels'
  ``proportion_confint(method="wilson")`` per arm and Newcombe's square-and-add, with
  ``proportions_ztest`` (the chi-square test); a logistic ``smf.glm`` with the same covariates, the
  predictions of every participant under each arm averaged (g-computation) and the delta-method variance
  with the HC0 sandwich (Ge et al. 2011); lifelines' ``logrank_test`` (IPS vs SAU), ``CoxPHFitter`` with
  the covariates by formula and ``strata=["site"]``, ``KaplanMeierFitter`` with
  ``restricted_mean_survival_time`` per arm up to day 548; statsmodels' Welch ``ttest_ind`` and its
  confidence interval of the cost difference (lifelines has no standard error of the RMST: the
  Greenwood-type one from the Kaplan-Meier event table). Timed in this process (as every plain approach of
  ``benchmarks/``) on 50 replicates and multiplied by 20, as the line says; ``--full`` times all 1,000.
  Before timing, the plain loop's estimates are checked against the kernels' on one replicate, so that
  both do the same work. Goal: at least 20x. The line also gives the ratio per core (ipstrial's time on 2
  processes times 2, against the loop's on one), which does not credit the kernels with the second core.

Further lines give each kernel's time per replicate (on 200 trials drawn beforehand, in batches of 25 as
the engine sends them) against the package's own public estimator on the same trials (the reference path
the kernels are pinned to; timed on 10 trials).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from _timing import clock, line

from ipstrial.synthetic import INKLUSION, simulate_trial
from ipstrial.validation import ESTIMATORS, run_study
from ipstrial.validation._kernels import KERNELS

SIX = ("rd_newcombe", "rd_adjusted_ye", "logrank", "cox_hazard_ratio", "rmst_difference", "delta_cost")
REPS = 1_000
PLAIN_REPS = 50
KERNEL_REPS = 200
PUBLIC_REPS = 10
WORKERS = 2
BATCH = 25
TAU = 548.0
COVARIATES = "age + C(sex) + C(diagnosis) + C(education) + employed_prev5y + substance_use"


def _trial(rep: int, seed: int = 1):
    return simulate_trial(
        INKLUSION, seed=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(rep,)))
    )


def _newcombe(data) -> dict[str, tuple[float, float, float, float]]:
    from statsmodels.stats.proportion import proportion_confint, proportions_ztest

    out = {}
    y = data.groupby("arm").employed_18m.agg(["sum", "count"])
    x0, n0 = y.loc["SAU"]
    l0, u0 = proportion_confint(x0, n0, method="wilson")
    for t in ("IPS", "IPSE"):
        x1, n1 = y.loc[t]
        l1, u1 = proportion_confint(x1, n1, method="wilson")
        p1, p0 = x1 / n1, x0 / n0
        d = p1 - p0
        low = d - math.hypot(p1 - l1, u0 - p0)
        high = d + math.hypot(u1 - p1, p0 - l0)
        _, p = proportions_ztest([x1, x0], [n1, n0])
        out[t] = (d, low, high, p)
    return out


def _marginal(data) -> dict[str, tuple[float, float]]:
    import patsy
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    fit = smf.glm(
        f"employed_18m ~ C(arm, Treatment('SAU')) + {COVARIATES}", data, family=sm.families.Binomial()
    ).fit(cov_type="HC0")
    data_ = fit.model.data
    info = data_.model_spec if hasattr(data_, "model_spec") else data_.design_info  # statsmodels 0.15 / 0.14
    theta, grad = {}, {}
    for a in ("IPS", "IPSE", "SAU"):
        X = np.asarray(patsy.build_design_matrices([info], data.assign(arm=a))[0])
        mu = 1 / (1 + np.exp(-X @ fit.params.to_numpy()))
        theta[a] = mu.mean()
        grad[a] = (mu * (1 - mu)) @ X / len(mu)
    cov = fit.cov_params().to_numpy()
    out = {}
    for t in ("IPS", "IPSE"):
        g = grad[t] - grad["SAU"]
        out[t] = (theta[t] - theta["SAU"], math.sqrt(g @ cov @ g))
    return out


def _logrank(data) -> float:
    from lifelines.statistics import logrank_test

    a, b = data[data.arm == "IPS"], data[data.arm == "SAU"]
    return logrank_test(a.days_to_job, b.days_to_job, a.event == 1, b.event == 1).test_statistic


def _cox(data) -> dict[str, float]:
    from lifelines import CoxPHFitter

    frame = data.assign(job=(data.event == 1).astype(int))[
        [
            "days_to_job",
            "job",
            "arm",
            "site",
            "age",
            "sex",
            "diagnosis",
            "education",
            "employed_prev5y",
            "substance_use",
        ]
    ]
    fitter = CoxPHFitter().fit(
        frame,
        "days_to_job",
        "job",
        formula=f"C(arm, Treatment('SAU')) + {COVARIATES}",
        strata=["site"],
    )
    hr = fitter.hazard_ratios_
    return {t: float(hr[next(k for k in hr.index if k.endswith(f"[T.{t}]"))]) for t in ("IPS", "IPSE")}


def _rmst(data) -> dict[str, tuple[float, float]]:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    value = {}
    for a in ("IPS", "IPSE", "SAU"):
        arm = data[data.arm == a]
        kmf = KaplanMeierFitter().fit(arm.days_to_job, arm.event == 1)
        mean = restricted_mean_survival_time(kmf, t=TAU)  # exact for a Kaplan-Meier fit
        # lifelines has no standard error of the RMST (return_variance=True is the variance of the truncated
        # time, by numerical integration, seconds per arm): the Greenwood-type one from the event table
        table = kmf.event_table.loc[:TAU]
        table = table[table.observed > 0]
        t = table.index.to_numpy(float)
        d, y = table.observed.to_numpy(float), table.at_risk.to_numpy(float)
        surv = kmf.survival_function_at_times(t).to_numpy()
        pieces = surv * np.diff(np.append(t, TAU))
        after = np.cumsum(pieces[::-1])[::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > d, after**2 * d / (y * (y - d)), 0.0)
        value[a] = (mean, terms.sum())
    return {
        t: (value[t][0] - value["SAU"][0], math.sqrt(value[t][1] + value["SAU"][1])) for t in ("IPS", "IPSE")
    }


def _costs(data) -> dict[str, tuple[float, float, float, float]]:
    from statsmodels.stats.weightstats import CompareMeans, ttest_ind

    c0 = data.cost_total[data.arm == "SAU"].to_numpy(float)
    out = {}
    for t in ("IPS", "IPSE"):
        c1 = data.cost_total[data.arm == t].to_numpy(float)
        _, p, _ = ttest_ind(c1, c0, usevar="unequal")
        low, high = CompareMeans.from_data(c1, c0).tconfint_diff(usevar="unequal")
        out[t] = (c1.mean() - c0.mean(), low, high, p)
    return out


def plain_replicate(rep: int) -> tuple:
    """One replicate of the plain loop: draw the trial, then the six analyses (statsmodels, lifelines)."""
    data = _trial(rep)
    return _newcombe(data), _marginal(data), _logrank(data), _cox(data), _rmst(data), _costs(data)


def plain_loop(reps: int) -> list[tuple]:
    return [plain_replicate(rep) for rep in range(reps)]


def _check_plain_against_kernels() -> None:
    """The plain loop computes what the kernels compute (where both define the same number)."""
    data = _trial(0)
    newcombe, marginal, logrank, cox, rmst, costs = plain_replicate(0)
    ours = {key: KERNELS[key]([data])[0] for key in SIX}
    pairs = [(logrank, ours["logrank"][0]["estimate"])]
    for j, t in enumerate(("IPS", "IPSE")):
        pairs += [
            (newcombe[t][0], ours["rd_newcombe"][j]["estimate"]),
            (newcombe[t][1], ours["rd_newcombe"][j]["ci_low"]),
            (newcombe[t][3], ours["rd_newcombe"][j]["p_value"]),
            (marginal[t][0], ours["rd_adjusted_ye"][j]["estimate"]),
            (cox[t], ours["cox_hazard_ratio"][j]["estimate"]),
            (rmst[t][0], ours["rmst_difference"][j]["estimate"]),
            (rmst[t][1], ours["rmst_difference"][j]["se"]),
            (costs[t][0], ours["delta_cost"][j]["estimate"]),
            (costs[t][1], ours["delta_cost"][j]["ci_low"]),
            (costs[t][3], ours["delta_cost"][j]["p_value"]),
        ]
    # the fits stop at slightly different points (statsmodels' IRLS, lifelines' default precision)
    bad = [(a, b) for a, b in pairs if not math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-8)]
    if bad:
        raise AssertionError(f"the plain loop and the kernels disagree: {bad}")


def _kernel_lines(full: bool) -> list[str]:
    frames = [_trial(rep, seed=2) for rep in range(KERNEL_REPS)]
    lines = []
    for key in SIX:
        kernel = KERNELS[key]
        kernel(frames[:BATCH])  # warm up (imports)
        ours = clock(
            lambda kernel=kernel: [kernel(frames[i : i + BATCH]) for i in range(0, len(frames), BATCH)]
        )
        ours /= len(frames)
        run = ESTIMATORS[key].run
        run(frames[0])
        reference = clock(lambda run=run: [run(f).rows() for f in frames[:PUBLIC_REPS]]) / PUBLIC_REPS
        lines.append(
            line(
                f"validation_kernel_{key}",
                ours * REPS,
                reference * REPS,
                f"per 1,000 replicates of 720: kernel {1e3 * ours:.2f} ms, public estimator "
                f"{1e3 * reference:.1f} ms per replicate (kernel on {KERNEL_REPS} trials in batches of "
                f"{BATCH}, public on {PUBLIC_REPS}); one process",
            )
        )
    return lines


def run(full: bool = False) -> list[str]:
    cores = os.cpu_count() or 1
    run_study("inklusion", reps=4, seed=1, estimators=list(SIX), quiet=True)  # warm up imports, calibration
    start = time.perf_counter()
    study = run_study("inklusion", reps=REPS, seed=1, estimators=list(SIX), workers=WORKERS, quiet=True)
    ours = time.perf_counter() - start
    failed = int(study.table.failed.sum())
    _check_plain_against_kernels()
    plain_loop(2)  # warm up statsmodels, patsy and lifelines
    reps = REPS if full else PLAIN_REPS
    plain = clock(lambda: plain_loop(reps)) * (REPS / reps)
    how = "all 1,000" if full else f"{PLAIN_REPS} replicates x {REPS // PLAIN_REPS}"
    lines = [
        line(
            "validation",
            ours,
            plain,
            f"1,000 trials of 720 through the 6 core estimators incl. simulation on {WORKERS} processes "
            f"({cores} cores here), {failed} failed; goal < 30 s and >= 20x; plain: the same loop in this "
            f"process, timed on {how}; per core {plain / (WORKERS * ours):.1f}x",
        )
    ]
    return lines + _kernel_lines(full)
