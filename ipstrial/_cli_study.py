"""The ``ipstrial validate`` and ``ipstrial power`` sub-commands: Monte Carlo studies and sample size.

:func:`add_study_commands` adds both to the ``ipstrial`` parser. Replicate trials run on local processes
(``--workers``, default all cores) or a Dask cluster (``--scheduler``), checked by :func:`_backend` for both
commands alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ipstrial._cli_common import (
    _check_output,
    _cores,
    _n_type,
    _ScenarioNames,
    _seed_type,
    _shown,
    _UserError,
    _whole_type,
)


def _cmd_power(args: argparse.Namespace) -> int:
    """Print a sample-size or power calculation (``--json`` for machines)."""
    import json

    from ipstrial import power

    if args.design == "simulate":
        workers = _backend(args)
        result = power.simulated_power(
            args.scenario,
            estimator=args.estimator,
            contrast=args.contrast,
            n=args.n_total,
            power=args.power,
            reps=args.reps,
            seed=args.seed,
            alpha=args.alpha,
            comparisons=args.comparisons,
            workers=workers,
            scheduler=args.scheduler,
            quiet=args.quiet,
        )
        print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
        return 0
    common = {"n": args.n, "power": args.power, "alpha": args.alpha, "comparisons": args.comparisons}
    if args.design == "proportions":
        result = power.two_proportions(args.p_control, args.p_treatment, method=args.method, **common)
    elif args.design == "rmst":
        result = power.rmst_difference(args.median_control, args.hazard_ratio, tau=args.tau, **common)
    else:
        result = power.logrank(
            args.hazard_ratio, event_probability=args.event_probability, method=args.method, **common
        )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


_PLOT_SUFFIXES = (".png", ".svg", ".pdf")


class _EstimatorNames:
    """The study estimator names (:data:`ipstrial.validation.ESTIMATORS`), read when a help text shows them
    (``%(names)s``), so that building the parser does not import numpy and pandas."""

    def __str__(self) -> str:
        from ipstrial.validation._estimators import ESTIMATORS

        return ", ".join(ESTIMATORS)


def _check_plot(plot: str | None) -> None:
    """Refuse, before the study runs, a ``--plot`` file of another format or that cannot be written."""
    if plot is None:
        return
    if Path(plot.strip()).suffix.lower() not in _PLOT_SUFFIXES or plot.strip() == "-":
        raise _UserError(
            f"--plot {_shown(plot)} must be a file name ending in .png, .svg or .pdf (the figure's format), "
            "e.g. --plot study.png"
        )
    _check_output(plot, "--plot")


def _estimator_list(text: str | None) -> list[str] | None:
    """The names of ``--estimators`` (None: all), at least one."""
    if text is None:
        return None
    names = [e.strip() for e in text.split(",") if e.strip()]
    if not names:
        raise _UserError(
            f"--estimators {_shown(text)} names no estimator; give at least one estimator name, "
            f"comma-separated; choose from {_EstimatorNames()}"
        )
    return names


def _backend(args: argparse.Namespace) -> int:
    """The local processes of ``--workers`` / ``--scheduler`` (1 on a cluster), both flags checked first."""
    import importlib.util

    if args.workers is not None and args.workers < 1:
        raise _UserError(
            f"--workers {args.workers}: give at least 1 local process, or leave --workers out to use all "
            f"{_cores()} cores"
        )
    if args.scheduler is None:
        return _cores() if args.workers is None else args.workers
    from ipstrial.errors import ParameterError
    from ipstrial.validation._backends import check_address

    try:
        check_address(args.scheduler)
    except ParameterError as exc:  # "scheduler must be ...": name the flag
        raise _UserError(f"--{exc}") from None
    if args.workers is not None:
        raise _UserError(
            "--workers counts local processes, but --scheduler runs the work on the Dask cluster's "
            "workers; give one of them"
        )
    if importlib.util.find_spec("distributed") is None:
        raise _UserError(
            "--scheduler needs dask.distributed, which is not installed: pip install 'ipstrial[dask]'; "
            "or leave --scheduler out to run on local processes"
        )
    return 1


def _backend_options(p: argparse.ArgumentParser) -> None:
    """``--workers`` and ``--scheduler``: where replicate trials run (validate, power simulate)."""
    p.add_argument(
        "--workers",
        type=_whole_type("--workers", "2"),
        default=None,
        help="local processes (default: all cores; not with --scheduler)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler (pip install 'ipstrial[dask]'; 5 s to connect)",
    )


def _cmd_validate(args: argparse.Namespace) -> int:
    """Run a validation study and print (or write) its table."""

    _check_output(args.out)
    _check_plot(args.plot)
    estimators = _estimator_list(args.estimators)
    workers = _backend(args)
    if args.force and args.out_dir is None:
        raise _UserError("--force deletes the study in --out-dir; give --out-dir DIR, or leave --force out")
    from ipstrial.validation import run_study

    try:
        study = run_study(
            args.scenario,
            n=args.n,
            reps=args.reps,
            seed=args.seed,
            estimators=estimators,
            workers=workers,
            batch_size=args.batch_size,
            scheduler=args.scheduler,
            out_dir=args.out_dir,
            overwrite=args.force,
            fast=not args.reference,
            quiet=args.quiet,
        )
    except KeyboardInterrupt:
        kept = (
            f"the finished batches are in {args.out_dir}: run the same command to resume"
            if args.out_dir is not None
            else "nothing was kept; give --out-dir DIR to keep finished batches and resume"
        )
        print(f"ipstrial validate: interrupted; {kept}", file=sys.stderr)
        return 130
    if study.resumed and not args.quiet:
        print(
            f"resumed: {study.resumed} of {study.reps} replicates read from {args.out_dir}", file=sys.stderr
        )
    if args.out is None or args.out == "-":
        sys.stdout.write(study.to_csv() or "")
    else:
        study.to_csv(args.out)
        print(f"wrote {args.out}: {len(study.table)} rows, {study.reps} replicates (seed {study.seed})")
    if args.plot is not None:
        study.plot(args.plot)
        # on standard output like "wrote OUT", unless the table is there (a CSV to pipe stays clean)
        wrote = sys.stderr if args.out is None or args.out == "-" else sys.stdout
        print(f"wrote {args.plot}: coverage, SE ratio and rejection rate by estimator", file=wrote)
    for (estimator, reason), count in sorted(study.failures.items()):
        print(f"failed: {estimator}: {count} replicates: {reason}", file=sys.stderr)
    return 0


def add_study_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``power`` and ``validate`` to the sub-commands ``sub`` of the ``ipstrial`` parser."""
    p = sub.add_parser(
        "power",
        help="sample size, power or detectable effect: closed forms, or by simulation",
        description="Solve for whichever of --n (per arm), --power and the effect is left out.",
    )
    power_sub = p.add_subparsers(dest="design", metavar="DESIGN", required=True)
    for name, help_text in (
        ("proportions", "two proportions (normal, normal-cc, arcsine)"),
        ("logrank", "the log-rank test of a hazard ratio (Schoenfeld, Freedman)"),
        ("rmst", "the RMST difference to tau (exponential times, everyone followed to tau)"),
    ):
        q = power_sub.add_parser(name, help=help_text, description=help_text)
        if name == "proportions":
            q.add_argument(
                "--p-control", type=float, required=True, help="proportion with the outcome, control"
            )
            q.add_argument(
                "--p-treatment", type=float, default=None, help="the same, treatment (solved if left out)"
            )
            q.add_argument("--method", default="normal", choices=("normal", "normal-cc", "arcsine"))
        elif name == "rmst":
            q.add_argument(
                "--hazard-ratio", type=float, default=None, help="treatment / control (solved if left out)"
            )
            q.add_argument("--median-control", type=float, required=True, help="median time, control arm")
            q.add_argument(
                "--tau", type=float, required=True, help="the restriction time (unit of the median)"
            )
        else:
            q.add_argument(
                "--hazard-ratio", type=float, default=None, help="treatment / control (solved if left out)"
            )
            q.add_argument(
                "--event-probability",
                type=float,
                required=True,
                help="probability of an event during follow-up, averaged over the arms",
            )
            q.add_argument("--method", default="schoenfeld", choices=("schoenfeld", "freedman"))
        q.add_argument("--n", type=int, default=None, help="participants per arm (solved if left out)")
        q.add_argument("--power", type=float, default=None, help="the power, e.g. 0.8 (solved if left out)")
        q.add_argument(
            "--alpha", type=float, default=0.05, help="two-sided level of the family (default 0.05)"
        )
        q.add_argument(
            "--comparisons",
            type=int,
            default=1,
            help="treatment arms each compared with the control, each at alpha / comparisons",
        )
        q.add_argument("--json", action="store_true", help="print machine-readable JSON")
        q.set_defaults(func=_cmd_power)
    q = power_sub.add_parser(
        "simulate",
        help="power or sample size by simulating the real analysis on synthetic trials",
        description="Simulate replicate trials of a scenario through one study estimator and count the "
        "trials whose test rejects: the power at --n-total, or the smallest trial size reaching --power "
        "(every size with the same seed). Failed analyses count as not rejecting.",
    )
    q.add_argument(
        "--scenario",
        default="inklusion",
        choices=_ScenarioNames(),
        metavar="NAME",
        help="a built-in scenario (see ipstrial validate --help; default inklusion)",
    )
    q.add_argument("--estimator", default="rd_newcombe", help="the study estimator whose test counts")
    q.add_argument("--contrast", default="IPS vs SAU", help="its contrast (default 'IPS vs SAU')")
    q.add_argument(
        "--n-total",
        type=_whole_type("--n-total", "651"),
        default=None,
        help="participants per trial (solved if left out)",
    )
    q.add_argument("--power", type=float, default=None, help="the target power (give it to solve for n)")
    q.add_argument(
        "--reps",
        type=_whole_type("--reps", "1000"),
        default=1000,
        help="replicate trials per size (default 1000)",
    )
    q.add_argument("--seed", type=_seed_type, default=1, help="the seed of every size (default 1)")
    q.add_argument("--alpha", type=float, default=0.05, help="two-sided level of the family (default 0.05)")
    q.add_argument(
        "--comparisons",
        type=_whole_type("--comparisons", "2"),
        default=1,
        help="tests sharing alpha (each at alpha / k)",
    )
    _backend_options(q)
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--json", action="store_true", help="print machine-readable JSON")
    q.set_defaults(func=_cmd_power)

    p = sub.add_parser(
        "validate",
        help="a Monte Carlo study of the estimators: bias, SEs, coverage, rejection rate",
        description="Run the estimators on replicate synthetic trials with known truths and print, per "
        "estimator and contrast: truth, bias, empirical SE, mean SE, coverage (and its Monte Carlo SE), "
        "rejection rate, replicates and failures. Replicates run in batches on local processes (--workers) "
        "or on a Dask cluster (--scheduler); the same seed gives the same table, to the last bit, whatever "
        "the backend and the number of workers. With --out-dir each finished batch is written to the folder "
        "and a rerun of the same command resumes an interrupted study.",
    )
    p.add_argument(
        "--scenario",
        default="inklusion",
        choices=_ScenarioNames(),
        metavar="NAME",
        help="a built-in scenario: %(choices)s (default %(default)s)",
    )
    p.add_argument(
        "--n", type=_n_type, default=None, help="participants per replicate trial (default: the scenario's)"
    )
    p.add_argument(
        "--reps",
        type=_whole_type("--reps", "1000"),
        default=1000,
        help="replicate trials, 2 to 10,000,000 (default 1000)",
    )
    p.add_argument("--seed", type=_seed_type, default=1, help="the study's seed (default 1)")
    _backend_options(p)
    p.add_argument(
        "--batch-size",
        type=_whole_type("--batch-size", "25"),
        default=25,
        help="replicates per task sent to a worker (default 25)",
    )
    p.add_argument(
        "--estimators",
        default=None,
        metavar="NAMES",
        help="comma-separated estimator names, default all: %(names)s",
    ).names = _EstimatorNames()
    p.add_argument("--out", default=None, help="CSV file for the table (default: standard output)")
    p.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        help="also draw the figure (coverage, SE ratio, rejection rate) to this .png, .svg or .pdf file",
    )
    p.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="study folder: finished batches are kept there, and the same command resumes from them",
    )
    p.add_argument("--force", action="store_true", help="delete the study in --out-dir and start over")
    p.add_argument(
        "--reference", action="store_true", help="public estimators only: no vectorised kernels (fast path)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_validate)
