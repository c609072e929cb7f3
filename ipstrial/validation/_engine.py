"""The Monte Carlo engine: replicate trials, the estimators on each, and the operating characteristics.

Replicate ``r`` of a study with seed ``s`` draws its trial from ``numpy.random.SeedSequence(s).spawn(R)[r]``:
the stream belongs to the replicate, never to the worker, so a study gives the same numbers serially or on
any number of processes. Replicates are sent in batches (``batch_size``) so that a worker's start-up is paid
once per batch; the records are put back in replicate order before anything is summarised.

For each estimator and contrast over the ``R`` replicates that gave an estimate (Morris, White & Crowther,
"Using simulation studies to evaluate statistical methods", Stat Med 2019;38:2074-2102, table 6):

* ``bias = mean(θ̂) - θ``, ``empirical_se = sd(θ̂)`` (``ddof=1``), ``mean_se = mean(se)``; for a ratio
  (:data:`RATIOS`) these are of ``log θ̂`` and ``log θ``, the scale of its interval, while ``truth`` stays
  the ratio;
* ``coverage = mean(low <= θ <= high)`` with Monte Carlo SE ``√(c (1 - c) / R)``;
* ``rejection_rate = mean(p < alpha)``: the power, or the type I error when the truth is the null;
* ``failed``: replicates whose call raised, with the reasons in :attr:`Study.failures`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ipstrial._checks import ParameterError, check_alpha, check_count
from ipstrial.validation._scenarios import scenario_of

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["COLUMNS", "RATIOS", "Study", "run_study"]

RATIOS: frozenset[str] = frozenset({"hazard_ratio", "rate_ratio", "risk_ratio", "odds_ratio"})
"""Estimands whose bias and standard errors are reported on the log scale (their intervals' scale)."""

COLUMNS: tuple[str, ...] = (
    "scenario",
    "estimator",
    "contrast",
    "truth",
    "bias",
    "empirical_se",
    "mean_se",
    "coverage",
    "coverage_mcse",
    "rejection_rate",
    "reps",
    "failed",
)
"""The columns of a study's table (and of ``ipstrial validate --out``)."""


@dataclass(frozen=True)
class Study:
    """A finished validation study.

    Attributes
    ----------
    scenario
        Its name.
    table
        One row per estimator and contrast, the :data:`COLUMNS`.
    records
        One row per replicate, estimator and contrast: ``rep, estimator, contrast, estimate, se, ci_low,
        ci_high, p_value`` (the raw draws behind the table).
    failures
        ``(estimator, reason) -> count`` of replicates whose call raised.
    reps, seed, alpha
        The replicates asked for, the study's seed and the test level.
    """

    scenario: str
    table: pd.DataFrame
    records: pd.DataFrame
    reps: int
    seed: int
    alpha: float
    failures: dict[tuple[str, str], int] = field(default_factory=dict)

    def to_csv(self, path: Any = None) -> str | None:
        """The table as CSV (fixed float format, LF line ends): to ``path``, or returned as text."""
        return self.table.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


def _batch(args: tuple[str, int | None, int, list[int], list[str]]) -> list[dict[str, Any]]:
    """Run the estimators on the replicates ``reps`` (one batch, in one process)."""
    from ipstrial.synthetic import simulate_trial
    from ipstrial.validation._estimators import ESTIMATORS

    name, n, seed, reps, estimators = args
    scenario, _ = scenario_of(name)
    root = np.random.SeedSequence(seed)
    out: list[dict[str, Any]] = []
    for rep in reps:
        # the child SeedSequence(seed).spawn(R)[rep] for any R > rep, made alone: its spawn key is (rep,)
        stream = np.random.SeedSequence(root.entropy, spawn_key=(rep,), pool_size=root.pool_size)
        data = simulate_trial(scenario, n=n, seed=np.random.default_rng(stream))
        for key in estimators:
            est = ESTIMATORS[key]
            try:
                rows = [
                    r
                    for r in est.run(data).rows()
                    if r.estimand == est.estimand and r.variant == est.variant and r.outcome == est.outcome
                ]
            except Exception as exc:  # noqa: BLE001 - a failed replicate is counted with its reason
                out.append(
                    {
                        "rep": rep,
                        "estimator": key,
                        "contrast": "",
                        # the kind of failure, without its details (which level, how many), so that
                        # failures of one kind are counted together
                        "error": type(exc).__name__ + ": " + str(exc).split("\n")[0].split(":")[0][:120],
                    }
                )
                continue
            for r in rows:
                se = r.se
                if est.estimand in RATIOS:  # the SE of the log ratio, the scale of the inference
                    log_se = r.extras.get("se_log_hr", r.extras.get("se_log_ratio"))
                    se = (
                        float(log_se)
                        if log_se is not None
                        else (r.se if r.extras.get("se_scale") == "log" else math.nan)
                    )
                out.append(
                    {
                        "rep": rep,
                        "estimator": key,
                        "contrast": r.contrast,
                        "estimate": r.estimate,
                        "se": se,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "p_value": r.p_value,
                        "error": "",
                    }
                )
    return out


def _summarise(records: pd.DataFrame, truth: pd.Series, name: str, reps: int, alpha: float) -> pd.DataFrame:
    import pandas as pd

    from ipstrial.validation._estimators import ESTIMATORS

    rows = []
    ok = records[records.error == ""]
    failed = records[records.error != ""].groupby("estimator").rep.nunique()
    for key in dict.fromkeys(records.estimator):
        est = ESTIMATORS[key]
        for contrast in dict.fromkeys(ok.loc[ok.estimator == key, "contrast"]):
            part = ok[(ok.estimator == key) & (ok.contrast == contrast)]
            theta = truth.get((est.outcome, est.estimand, contrast), math.nan) if est.has_truth else math.nan
            x = part.estimate.to_numpy(dtype=float)
            centre = theta
            if est.estimand in RATIOS:  # bias and SEs of the log ratio
                x, centre = np.log(x), math.log(theta) if math.isfinite(theta) and theta > 0 else math.nan
            covered = (part.ci_low.to_numpy() <= theta) & (theta <= part.ci_high.to_numpy())
            coverage = float(covered.mean()) if math.isfinite(theta) else math.nan
            r = len(part)
            p = part.p_value.to_numpy(dtype=float)  # a per-arm estimate has no test: NaN
            rows.append(
                {
                    "scenario": name,
                    "estimator": key,
                    "contrast": contrast,
                    "truth": theta,
                    "bias": float(x.mean() - centre) if math.isfinite(centre) else math.nan,
                    "empirical_se": float(x.std(ddof=1)) if r > 1 else math.nan,
                    "mean_se": float(np.nanmean(part.se.to_numpy(dtype=float)))
                    if part.se.notna().any()
                    else math.nan,
                    "coverage": coverage,
                    "coverage_mcse": math.sqrt(coverage * (1 - coverage) / r)
                    if math.isfinite(coverage)
                    else math.nan,
                    "rejection_rate": float((p < alpha).mean()) if np.isfinite(p).any() else math.nan,
                    "reps": r,
                    "failed": int(failed.get(key, 0)),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def run_study(
    scenario: str = "inklusion",
    *,
    reps: int = 1000,
    seed: int = 1,
    estimators: Sequence[str] | None = None,
    workers: int = 1,
    batch_size: int = 25,
    alpha: float = 0.05,
) -> Study:
    """Run a Monte Carlo validation study of the package's estimators on a built-in scenario.

    Parameters
    ----------
    scenario
        ``"inklusion"``, ``"null"`` or ``"small"`` (:data:`SCENARIOS`).
    reps
        Replicate trials.
    seed
        The study's seed: replicate ``r`` uses ``SeedSequence(seed).spawn(reps)[r]``.
    estimators
        Names of :data:`~ipstrial.validation.ESTIMATORS` (default all).
    workers
        Local processes (1: in this process). The results do not depend on it.
    batch_size
        Replicates per task sent to a worker.
    alpha
        The level of the rejection rate (the intervals are the estimators' own 95 %).

    Returns
    -------
    Study
        The table (:data:`COLUMNS`), the per-replicate records and the failures.
    """
    import pandas as pd

    from ipstrial.validation._estimators import ESTIMATORS

    scenario_obj, n = scenario_of(scenario)
    reps = check_count(reps, "reps", minimum=2, maximum=10**7)
    workers = check_count(workers, "workers", minimum=1, maximum=512)
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    alpha = check_alpha(alpha)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"seed must be a whole number >= 0, got {seed!r}")
    names = list(ESTIMATORS) if estimators is None else list(estimators)
    unknown = [e for e in names if e not in ESTIMATORS]
    if unknown:
        raise ParameterError(f"unknown estimators {unknown}; choose from {', '.join(ESTIMATORS)}")
    tasks = [
        (scenario, n, int(seed), list(range(start, min(start + batch_size, reps))), names)
        for start in range(0, reps, batch_size)
    ]
    if workers == 1:
        batches = [_batch(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            batches = list(pool.map(_batch, tasks))
    columns = ["rep", "estimator", "contrast", "estimate", "se", "ci_low", "ci_high", "p_value", "error"]
    records = pd.DataFrame([r for b in batches for r in b], columns=columns)
    order = {e: i for i, e in enumerate(names)}
    records = records.sort_values(
        ["rep", "estimator"], key=lambda s: s.map(order) if s.name == "estimator" else s, kind="stable"
    ).reset_index(drop=True)
    truth = scenario_obj.truth.set_index(["outcome", "estimand", "contrast"]).value
    failures = Counter(
        (row.estimator, row.error) for row in records[records.error != ""].itertuples(index=False)
    )
    table = _summarise(records, truth, scenario, reps, alpha)
    return Study(
        scenario=scenario,
        table=table,
        records=records,
        reps=reps,
        seed=int(seed),
        alpha=alpha,
        failures=dict(failures),
    )
