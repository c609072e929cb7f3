"""The Monte Carlo engine: replicate trials, the estimators on each, and the operating characteristics.

Replicate ``r`` of a study with seed ``s`` draws its trial from ``numpy.random.SeedSequence(s).spawn(R)[r]``
(made alone as ``SeedSequence(s, spawn_key=(r,))``): the stream belongs to the replicate, never to the worker,
so a study gives the same bits serially, on any number of local processes or on a Dask cluster
(:mod:`ipstrial.validation._backends`). Replicates are sent in batches (``batch_size``) so that a worker's
start-up and the scheduler's overhead are paid once per batch and a vectorised kernel
(:mod:`ipstrial.validation._kernels`) sees several trials at once; the records are put back in replicate
order before anything is summarised. Finished batches can be kept in a folder so that an interrupted study
resumes (:mod:`ipstrial.validation._store`).

For each estimator and contrast over the ``R`` replicates that gave an estimate (Morris, White & Crowther,
"Using simulation studies to evaluate statistical methods", Stat Med 2019;38:2074-2102, table 6):

* ``bias = mean(θ̂) - θ``, ``empirical_se = sd(θ̂)`` (``ddof=1``), ``mean_se = mean(se)``; for a ratio
  (:data:`RATIOS`) these are of ``log θ̂`` and ``log θ``, the scale of its interval, while ``truth`` stays
  the ratio. ``mean_se`` is the plain mean of the SEs; Morris et al.'s "model SE" is their root mean square
  ``√mean(se²)``, larger by about ``var(se) / (2 mean(se)²)`` relative (measured at n = 720: under 0.5 %
  for the core estimators);
* ``coverage = mean(low <= θ <= high)`` with Monte Carlo SE ``√(c (1 - c) / R)``;
* ``rejection_rate = mean(p < alpha)``: the power, or the type I error when the truth is the null;
* ``failed``: replicates whose call raised, or whose record of the contrast cannot be summarised, with
  the reasons in :attr:`Study.failures`: an estimator with a truth needs a finite estimate and interval
  (:data:`NO_FINITE_ESTIMATE`), a test without one (the log-rank test) a finite p-value
  (:data:`NO_FINITE_P_VALUE`). These records are left out of every summary, never counted as "not covered"
  or "not rejected". A test without a truth has only a rejection rate: its bias, SEs and coverage are NaN.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ipstrial._checks import ParameterError, check_alpha, check_count, check_flag, check_number
from ipstrial.validation._estimators import DEFAULT_DESIGN, StudyDesign, design_of
from ipstrial.validation._scenarios import scenario_of
from ipstrial.validation._summary import COLUMNS, NO_FINITE_ESTIMATE, NO_FINITE_P_VALUE, RATIOS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.synthetic import Scenario

__all__ = [
    "COLUMNS",
    "MAX_REPS",
    "NO_FINITE_ESTIMATE",
    "NO_FINITE_P_VALUE",
    "RATIOS",
    "RECORD_COLUMNS",
    "Study",
    "run_study",
]

MAX_REPS: int = 10**7
"""The most replicates of one study (its records are held in memory: about 2 KB per replicate)."""

RECORD_COLUMNS: tuple[str, ...] = (
    "rep",
    "estimator",
    "contrast",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "error",
)
"""The columns of :attr:`Study.records` (and of the batch files of ``out_dir``)."""

_NUMBERS = ("estimate", "se", "ci_low", "ci_high", "p_value")
_DEFAULT_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before giving up


@dataclass(frozen=True)
class Study:
    """A finished validation study.

    Attributes
    ----------
    scenario
        Its name (a built-in name, or :attr:`Scenario.name <ipstrial.synthetic.Scenario.name>`).
    table
        One row per estimator and contrast, the :data:`COLUMNS`.
    records
        One row per replicate, estimator and contrast: ``rep, estimator, contrast, estimate, se, ci_low,
        ci_high, p_value, error`` (the raw draws behind the table; ``error`` is empty unless the call raised,
        contrast empty, or the record cannot be summarised: :data:`NO_FINITE_ESTIMATE`,
        :data:`NO_FINITE_P_VALUE`).
    failures
        ``(estimator, reason) -> count`` of the replicates that failed for that reason.
    reps, seed, alpha
        The replicates asked for, the study's seed and the test level.
    resumed
        Replicates read from the study folder (``out_dir``) of an earlier, interrupted run instead of run.
    """

    scenario: str
    table: pd.DataFrame = field(repr=False)
    records: pd.DataFrame = field(repr=False)
    reps: int
    seed: int
    alpha: float
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    resumed: int = 0

    def to_csv(self, path: Any = None) -> str | None:
        """The table as CSV: floats to 10 significant digits (``%.10g``), LF line ends, no index.

        Parameters
        ----------
        path
            A file path or an open text file to write to; None (default) returns the text.

        Returns
        -------
        str or None
            The CSV text if ``path`` is None, else None (the table is written to ``path``).
        """
        return self.table.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")

    def summary(self) -> str:
        """A short text: the scenario, replicates, seed and level, the table's size and the failures.

        Returns
        -------
        str
            A few lines; the failures by estimator and reason, with their counts of replicates.
        """
        lines = [
            f"Validation study of scenario {self.scenario!r}: {self.reps:,} replicates, seed {self.seed}, "
            f"alpha {self.alpha:g}",
            f"{len(self.table)} rows ({self.table.estimator.nunique()} estimators by contrast)"
            + (f"; {self.resumed:,} replicates resumed from the study folder" if self.resumed else ""),
        ]
        if not self.failures:
            lines.append("failures: none")
        else:
            lines.append(f"failures ({sum(self.failures.values()):,} replicates by estimator and reason):")
            lines += [f"  {e}: {n:,}: {reason}" for (e, reason), n in sorted(self.failures.items())]
        return "\n".join(lines)

    def plot(self, path: Any = None) -> Any:
        """The study's figure: coverage, mean SE / empirical SE and rejection rate by estimator and contrast,
        each with its Monte Carlo interval (:mod:`ipstrial.validation._plot`); saved to ``path`` if given.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ipstrial.validation._plot import study_plot

        return study_plot(self, path)


class Task(NamedTuple):
    """One batch of replicates, as sent to a worker (everything it needs to rebuild the trials)."""

    scenario: Scenario
    n: int | None
    seed: int
    reps: tuple[int, ...]
    estimators: tuple[str, ...]
    fast: bool


def _stream(seed: int, rep: int) -> np.random.Generator:
    """Replicate ``rep``'s generator: the child ``SeedSequence(seed).spawn(R)[rep]`` for any ``R > rep``."""
    root = np.random.SeedSequence(seed)
    return np.random.default_rng(
        np.random.SeedSequence(root.entropy, spawn_key=(rep,), pool_size=root.pool_size)
    )


def _reference(key: str, rep: int, data: pd.DataFrame, design: StudyDesign) -> list[dict[str, Any]]:
    """The records of estimator ``key`` on one replicate through the public estimator (the reference path)."""
    from ipstrial.validation._estimators import ESTIMATORS

    est = ESTIMATORS[key]
    try:
        rows = [
            r
            for r in est.run(data, design).rows()
            if r.estimand == est.estimand and r.variant == est.variant and r.outcome == est.outcome
        ]
    except Exception as exc:  # noqa: BLE001 - a failed replicate is counted with its reason
        # the kind of failure, without its details (which level, how many), so that failures of one kind
        # are counted together
        reason = type(exc).__name__ + ": " + str(exc).split("\n")[0].split(":")[0][:120]
        return [{"rep": rep, "estimator": key, "contrast": "", "error": reason}]
    out = []
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


def _from_kernel(key: str, rep: int, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A kernel's records of one replicate, checked against the contract of :mod:`._kernels`."""
    out = []
    for r in rows:
        missing = [c for c in ("contrast", *_NUMBERS) if c not in r]
        if missing:
            raise RuntimeError(f"the kernel of {key!r} gave a record without {missing} (see _kernels.py)")
        out.append({"rep": rep, "estimator": key, **{c: r[c] for c in ("contrast", *_NUMBERS)}, "error": ""})
    return out


def _batch(task: Task) -> list[dict[str, Any]]:
    """Run the estimators on the replicates of one batch (in one process).

    An estimator with a kernel in :data:`~ipstrial.validation._kernels.KERNELS` (and ``task.fast``) is run
    once on all the batch's trials; the trials its kernel returns None for go through the public estimator.
    The records come out by replicate, then in the order of ``task.estimators``.
    """
    from ipstrial.synthetic import simulate_trial
    from ipstrial.validation._kernels import KERNELS

    design = design_of(task.scenario)
    # the kernels compute the built-in design's calls (arms, strata); another design goes the public way
    use_kernels = task.fast and design == DEFAULT_DESIGN
    kernels = {key: KERNELS[key] for key in task.estimators if use_kernels and key in KERNELS}

    def trial(rep: int) -> pd.DataFrame:
        return simulate_trial(task.scenario, n=task.n, seed=_stream(task.seed, rep))

    if not kernels:  # one trial in memory at a time
        out: list[dict[str, Any]] = []
        for rep in task.reps:
            data = trial(rep)
            for key in task.estimators:
                out.extend(_reference(key, rep, data, design))
        return out
    frames = [trial(rep) for rep in task.reps]
    fast = {}
    for key, kernel in kernels.items():
        fast[key] = list(kernel(frames))
        if len(fast[key]) != len(frames):
            raise RuntimeError(
                f"the kernel of {key!r} gave {len(fast[key])} results for {len(frames)} trials "
                "(see the contract in _kernels.py)"
            )
    out = []
    for j, (rep, data) in enumerate(zip(task.reps, frames, strict=True)):
        for key in task.estimators:
            rows = fast[key][j] if key in fast else None
            out.extend(_reference(key, rep, data, design) if rows is None else _from_kernel(key, rep, rows))
    return out


def records_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Records as a frame of fixed column types (int rep, float numbers with NaN, str texts)."""
    import pandas as pd

    frame = pd.DataFrame(list(records), columns=list(RECORD_COLUMNS))
    frame["rep"] = frame["rep"].astype("int64")
    for c in _NUMBERS:
        frame[c] = frame[c].astype("float64")
    for c in ("estimator", "contrast", "error"):
        frame[c] = frame[c].fillna("").astype(object)
    return frame


def _scenario(scenario: object, n: object) -> tuple[Scenario, str, int | None]:
    """The generating model, the study's scenario name and the trial size (None: the scenario's own)."""
    from ipstrial.synthetic import Scenario

    if isinstance(scenario, Scenario):
        model, name, size = scenario, scenario.name, None
    elif isinstance(scenario, str):
        model, size = scenario_of(scenario)  # an unknown name: the error lists the known ones
        name = scenario
    else:
        raise ParameterError(
            f"scenario must be a built-in scenario name (ipstrial.validation.SCENARIOS) or an "
            f"ipstrial.synthetic.Scenario, got {type(scenario).__name__}"
        )
    if n is not None:
        k = len(model.arms)
        try:
            size = check_count(n, "n", minimum=k)
        except ParameterError as exc:
            raise ParameterError(
                f"{exc}; n is the participants of each replicate trial (all arms), at least one per arm, or "
                "None for the scenario's own size"
            ) from None
    return model, name, size


def _check_reps(reps: object) -> int:
    try:
        return check_count(reps, "reps", minimum=2, maximum=MAX_REPS)
    except ParameterError as exc:
        raise ParameterError(
            f"{exc}; a study needs at least 2 replicates (the empirical SE is their standard deviation) "
            f"and at most {MAX_REPS:,} (its records are held in memory): split a larger study by seed"
        ) from None


def _ticks(done: int, completions: Iterator[int]) -> Iterator[None]:
    """One item per finished replicate: ``done`` at once, then the replicates of each finished batch."""
    for _ in range(done):
        yield None
    for size in completions:
        for _ in range(size):
            yield None


def check_study_seed(seed: object) -> int:
    """A study's seed: a whole number >= 0 (a ParameterError otherwise), as an int."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def run_study(
    scenario: str | Scenario = "inklusion",
    *,
    n: int | None = None,
    reps: int = 1000,
    seed: int = 1,
    estimators: Sequence[str] | None = None,
    workers: int = 1,
    batch_size: int = 25,
    alpha: float = 0.05,
    scheduler: str | None = None,
    client: Any = None,
    connect_timeout: float = _DEFAULT_TIMEOUT,
    out_dir: str | PathLike[str] | None = None,
    overwrite: bool = False,
    fast: bool = True,
    quiet: bool = False,
) -> Study:
    """Run a Monte Carlo validation study of the package's estimators on replicate synthetic trials.

    Replicate ``r`` draws its trial from ``SeedSequence(seed, spawn_key=(r,))`` (the child
    ``SeedSequence(seed).spawn(reps)[r]``), runs every estimator on it and keeps one record per estimator and
    contrast; the table summarises the records by the formulas of the module docstring (Morris, White &
    Crowther 2019, table 6). The records, hence the table, are the same bits on every backend, whatever the
    number of workers, the batch size's split over them, and whether the study was interrupted and resumed.
    Across machines (a Dask cluster's workers, or a study rerun elsewhere) the same bits also need the same
    versions of ipstrial, numpy, scipy, pandas, statsmodels and lifelines (checked on a cluster's workers:
    :data:`~ipstrial.validation._backends.PACKAGES`) and the same BLAS/LAPACK build under numpy (not
    checked), whose last bits can differ.

    Parameters
    ----------
    scenario
        A built-in scenario name (:data:`~ipstrial.validation.SCENARIOS`: ``"inklusion"``, ``"null"``,
        ``"small"``, ...) or your own :class:`ipstrial.synthetic.Scenario`, whose ``name`` labels the table.
    n
        Participants of each replicate trial (all arms); default the scenario's own (60 for ``"small"``,
        ``Scenario.n`` otherwise).
    reps
        Replicate trials, from 2 (the empirical SE is a standard deviation) to :data:`MAX_REPS` (10,000,000).
    seed
        The study's seed, a whole number >= 0.
    estimators
        Names of :data:`~ipstrial.validation.ESTIMATORS`, each once (a string: one name); default all.
    workers
        Local processes, 1 to 512 (1: in this process); as many are started as there are batches to run,
        at most.
        Not with ``scheduler`` or ``client``, whose cluster's workers run the study.
    batch_size
        Replicates per task sent to a worker (at least 1); with a kernel, its trials are in memory together.
    alpha
        The level of the rejection rate (the intervals are the estimators' own 95 %).
    scheduler
        The address of a running Dask scheduler, ``"tcp://HOST:PORT"`` (its port, 8786 by default, not the
        dashboard's 8787): the batches run on its cluster, whose workers need the same versions of ipstrial
        and of the numerical packages (checked, see above). Needs ``pip install 'ipstrial[dask]'``.
    client
        A ``dask.distributed.Client`` to run the batches on, instead of ``scheduler`` (left open).
    connect_timeout
        Seconds for ``scheduler`` to answer as a Dask scheduler, and for the cluster's first worker to
        join, before a :class:`~ipstrial.errors.ParameterError` (default 5).
    out_dir
        A study folder: each finished batch is written there as it completes (``batch-000000.csv`` ...,
        floats to 17 significant digits, which round-trip exactly), beside ``manifest.json`` holding the
        study's arguments. Run again with the same arguments, the study reads the finished batches and runs
        only the missing ones; a folder holding a study with other arguments is refused (the error names
        them).
    overwrite
        True: delete the study files of ``out_dir`` (its manifest and batches, nothing else) and start over.
    fast
        True: estimators with a vectorised kernel (:data:`~ipstrial.validation._kernels.KERNELS`) use it, and
        the public estimator for the trials it declines; False: the public estimators only (the reference
        path).
    quiet
        True: no progress bar (one is shown on a terminal otherwise, advancing per finished batch).

    Returns
    -------
    Study
        The table (:data:`COLUMNS`), the per-replicate records and the failures (:meth:`Study.summary`).

    Raises
    ------
    ParameterError
        A bad argument, an unknown scenario or estimator name, a scheduler address that is not
        ``tcp://HOST:PORT``, unreachable, not a Dask scheduler or without workers, workers with other package
        versions, or an ``out_dir`` holding another study. ImportError: ``scheduler`` or ``client``
        without dask installed.

    References
    ----------
    Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical methods. Stat Med
    2019;38:2074-2102.
    """
    import pandas as pd

    from ipstrial._progress import progress_for
    from ipstrial._version import __version__
    from ipstrial.validation._backends import check_address, completed
    from ipstrial.validation._estimators import ESTIMATORS
    from ipstrial.validation._store import Store
    from ipstrial.validation._summary import mark_unusable, summarise

    model, name, size = _scenario(scenario, n)
    reps = _check_reps(reps)
    workers = check_count(workers, "workers", minimum=1, maximum=512)
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    alpha = check_alpha(alpha)
    fast, overwrite, quiet = (
        check_flag(v, k) for v, k in ((fast, "fast"), (overwrite, "overwrite"), (quiet, "quiet"))
    )
    connect_timeout = check_number(connect_timeout, "connect_timeout", minimum=0, strict=True)
    seed = check_study_seed(seed)
    names = (
        list(ESTIMATORS)
        if estimators is None
        else [estimators]
        if isinstance(estimators, str)
        else list(estimators)
    )
    if not names:
        raise ParameterError(
            f"estimators is empty; give at least one estimator name, or None for all; choose from "
            f"{', '.join(ESTIMATORS)}"
        )
    unknown = [e for e in names if e not in ESTIMATORS]
    if unknown:
        raise ParameterError(f"unknown estimators {unknown}; choose from {', '.join(ESTIMATORS)}")
    if len(set(names)) < len(names):
        twice = sorted({e for e in names if names.count(e) > 1})
        raise ParameterError(f"estimators names {twice} more than once; give each estimator once")
    if scheduler is not None and client is not None:
        raise ParameterError("give scheduler (an address) or client (a dask.distributed.Client), not both")
    if (scheduler is not None or client is not None) and workers != 1:
        raise ParameterError(
            f"workers={workers} counts local processes, but the study runs on the Dask cluster's workers: "
            "leave workers at 1 with scheduler or client, or leave those out to run on local processes"
        )
    if scheduler is not None:
        check_address(scheduler)
    # the tasks carry a fresh copy of the model, without the truths the caller's object may have cached
    # (a cached_property pickles with it): a task stays small to send
    sent = dataclasses.replace(model)
    tasks = {
        i: Task(sent, size, int(seed), tuple(range(start, min(start + batch_size, reps))), tuple(names), fast)
        for i, start in enumerate(range(0, reps, batch_size))
    }
    store = None
    frames: dict[int, pd.DataFrame] = {}
    if out_dir is not None:
        arguments = {
            "scenario": name,
            "n": model.n if size is None else size,
            "reps": reps,
            "seed": int(seed),
            "estimators": names,
            "batch_size": batch_size,
            "alpha": alpha,
            "fast": fast,
            "version": __version__,
        }
        store = Store.open(out_dir, arguments, model, overwrite=overwrite)
        frames = store.finished({i: t.reps for i, t in tasks.items()})
    pending = {i: t for i, t in tasks.items() if i not in frames}
    resumed = sum(len(tasks[i].reps) for i in frames)

    def finish() -> Iterator[int]:
        for i, batch in completed(
            _batch, pending, workers=workers, scheduler=scheduler, client=client, timeout=connect_timeout
        ):
            frames[i] = records_frame(batch)
            if store is not None:
                store.write(i, frames[i])
            yield len(tasks[i].reps)

    ticks: Iterable[None] = _ticks(resumed, finish())
    progress = progress_for(quiet)
    if progress is not None:
        ticks = progress(ticks, reps, "replicates")
        if hasattr(ticks, "mininterval"):  # a tqdm bar: draw each tick, as a batch's replicates come at once
            ticks.mininterval = 0
    for _ in ticks:
        pass

    records = pd.concat([frames[i] for i in sorted(frames)], ignore_index=True)
    order = {e: i for i, e in enumerate(names)}
    records = records.sort_values(
        ["rep", "estimator"], key=lambda s: s.map(order) if s.name == "estimator" else s, kind="stable"
    ).reset_index(drop=True)
    records = mark_unusable(records)
    truth = model.truth.set_index(["outcome", "estimand", "contrast"]).value
    failed = records[records.error != ""].drop_duplicates(["rep", "estimator", "error"])
    failures = Counter((row.estimator, row.error) for row in failed.itertuples(index=False))
    return Study(
        scenario=name,
        table=summarise(records, truth, name, alpha),
        records=records,
        reps=reps,
        seed=int(seed),
        alpha=alpha,
        failures=dict(failures),
        resumed=resumed,
    )
