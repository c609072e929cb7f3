"""The ``ipstrial`` command: ``--version``, ``simulate``, ``truth``, ``demo``, ``plan``, ``run``, ``verify``,
``power`` and ``budget``.

Every command has ``--help``. Output goes to standard output unless ``--out`` names a file.

A user error never shows a traceback: it is one line on standard error,
``ipstrial <command>: error: <what is wrong>; <what to do>``, and the exit status is 2 (a
:class:`~ipstrial.errors.TrialDataError` adds its numbered problems on the following lines). Bad
arguments (``--seed -1``, ``--n 0``) are refused by argparse before anything runs; an unusable
``--out`` is refused before any computation; any :class:`~ipstrial.errors.IpstrialError` raised by a
command (a budget input file that is missing, unreadable or not valid TOML among them) and a file-system
error are reported by :func:`main`. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from ipstrial._version import __version__

_ALIASES = {"inklusion-null": "null"}
"""Earlier names of built-in scenarios, still accepted."""
_SEED_MAX = 2**63 - 1  # a seed must fit a signed 64-bit integer (numpy, CSV readers, the provenance)
_DEMO_MIN_N = 100  # the demo's analyses need participants with outcomes and events in every arm


class _UserError(Exception):
    """A user error found by the command line itself; :func:`main` prints it on one line, exit status 2.

    The message has the form ``<what is wrong>; <what to do>``.
    """


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, ``<prog>: error: <message>; <what to do>``."""

    def error(self, message: str) -> NoReturn:
        """Print the error on one line (with a pointer to ``--help`` unless it says what to do) and exit 2."""
        hint = "" if "; " in message else f"; see '{self.prog} --help'"
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut after 30 characters."""
    return repr(text) if len(text) <= 30 else repr(text[:30]) + "..."


def _seed_type(text: str) -> int:
    """argparse type of ``--seed``: a whole number from 0 to 2**63 - 1 (written in decimal digits)."""
    value = text.strip()
    allowed = f"give a whole number from 0 to 2**63 - 1 ({_SEED_MAX}), e.g. --seed 2012"
    if re.fullmatch(r"-[0-9]+", value):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is negative; {allowed}")
    if not re.fullmatch(r"[0-9]+", value):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number; {allowed}")
    # compare the digits before int(): Python refuses to convert strings of more than 4300 digits
    if len(value.lstrip("0")) > len(str(_SEED_MAX)) or int(value) > _SEED_MAX:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is larger than 2**63 - 1; {allowed}")
    return int(value)


def _n_type(text: str) -> int:
    """argparse type of ``--n``: a positive whole number of participants."""
    value = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a whole number; --n is the number of participants, e.g. --n 720"
        )
    digits = value.lstrip("+-").lstrip("0")
    if not digits or value.startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a positive number of participants; give 1 or more, e.g. --n 720"
        )
    if len(digits) > 18:  # beyond any trial (and int() refuses strings of more than 4300 digits)
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is too large; --n is the number of participants, e.g. --n 720"
        )
    return int(value)


def _check_output(out: str | None, flag: str = "--out") -> None:
    """Refuse, before any computation, an ``--out`` (or ``flag``) file that cannot be written (``-``: standard
    output)."""
    if out is None or out == "-":
        return
    if not out.strip():
        raise _UserError(f"{flag} is empty; give a file name, e.g. --out trial.csv, or - for standard output")
    path = Path(out)
    if path.is_dir():
        raise _UserError(
            f"{flag} '{out}' is a directory, not a file; give a file name in it, "
            f"e.g. {flag} '{path / 'out.csv'}'"
        )
    parent = path.parent
    if not parent.exists():
        raise _UserError(
            f"the directory '{parent}' of {flag} '{out}' does not exist; create it first "
            f"(mkdir -p '{parent}') or choose another path"
        )
    if not parent.is_dir():
        raise _UserError(
            f"'{parent}' in {flag} '{out}' is not a directory; choose a path inside an existing directory"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _UserError(
            f"cannot write to the directory '{parent}' of {flag} '{out}' (permission denied); "
            "choose a directory you can write to"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise _UserError(
            f"{flag} '{out}' exists and is not writable (permission denied); "
            "make it writable or choose another file name"
        )


def _os_error_text(exc: OSError) -> str:
    """One line for a file-system error that got past the up-front checks (e.g. a full disk)."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    where = f"'{exc.filename}': " if exc.filename is not None else ""
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        fix = "check the path"
    elif isinstance(exc, PermissionError):
        fix = "check the permissions, or choose another path"
    elif isinstance(exc, IsADirectoryError):
        fix = "give the path of a file, not a directory"
    else:
        fix = "check the path and the disk (e.g. free space), or choose another path"
    return f"{where}{reason}; {fix}"


def _error_text(exc: BaseException) -> str:
    """The message of a user error, without the ``ipstrial <command>: error:`` prefix."""
    if isinstance(exc, OSError):
        return _os_error_text(exc)
    from ipstrial.errors import TrialDataError

    if isinstance(exc, TrialDataError) and len(exc.problems) == 1 and str(exc).startswith("1 problem"):
        return str(exc.problems[0])  # one problem: one line, without the "1 problem in the data:" header
    # _UserError and every IpstrialError: their messages say what is wrong and what to do; a
    # TrialDataError with several problems lists them numbered after its header line
    return str(exc).rstrip()


def _scenario(name: str):  # noqa: ANN202 - returns a Scenario; imported lazily to keep --help fast
    from ipstrial.validation._scenarios import builtin_scenario

    return builtin_scenario(_ALIASES.get(name, name))


def write_csv(frame, out: str | None) -> None:  # noqa: ANN001 - a pandas DataFrame
    """Write ``frame`` as CSV with fixed conventions (LF line ends, empty cells for missing)."""
    text = frame.to_csv(index=False, lineterminator="\n", na_rep="")
    if out is None or out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8", newline="")


def _cmd_simulate(args: argparse.Namespace) -> int:
    _check_output(args.out)
    from ipstrial.synthetic import simulate_trial

    frame = simulate_trial(_scenario(args.scenario), n=args.n, seed=args.seed)
    write_csv(frame, args.out)
    if args.out not in (None, "-"):
        print(f"wrote {len(frame)} participants to {args.out} (scenario {args.scenario}, seed {args.seed})")
    return 0


def _cmd_truth(args: argparse.Namespace) -> int:
    _check_output(args.out)
    truth = _scenario(args.scenario).truth
    if args.out is not None:
        write_csv(truth, args.out)
        return 0
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_rows", None, "display.max_colwidth", 60):
        print(truth[["outcome", "estimand", "contrast", "value"]].to_string(index=False))
    return 0


_DEMO_PLAN = Path(__file__).resolve().parents[1] / "analysis" / "inklusion.toml"
_DEMO_LINES = (  # (outcome, estimand, variant) of the rows the demo prints beside their truths
    ("employed_18m", "proportion", ""),
    ("employed_18m", "risk_difference", ""),
    ("days_to_job", "hazard_ratio", ""),
    ("days_to_job", "rmst_difference", ""),
    ("cost_societal", "delta_cost", "bootstrap"),
)


def _cmd_demo(args: argparse.Namespace) -> int:
    """Simulate the trial, run analysis/inklusion.toml on it into a folder, print the headline and path."""
    from ipstrial.synthetic import simulate_trial

    if args.n is not None and args.n < _DEMO_MIN_N:
        raise _UserError(
            f"--n {args.n} is too few for the demo, which runs every analysis (each needs participants with "
            f"events and outcomes in every arm); give --n {_DEMO_MIN_N} or more, or leave it out for 720"
        )
    if not _DEMO_PLAN.is_file():
        raise _UserError(
            f"the demo runs the plan {_DEMO_PLAN}, which is not there; run it from a clone of the repository "
            "(pip install -e .), or run your own plan with `ipstrial run PLAN --out DIR`"
        )
    from ipstrial.plan import check_out_dir, run_plan

    check_out_dir(args.out)
    scenario = _scenario(args.scenario)
    data = simulate_trial(scenario, n=args.n, seed=args.seed)
    n = len(data)
    note = f"simulated by `ipstrial demo --scenario {args.scenario} --seed {args.seed} --n {n}`"
    output = run_plan(_DEMO_PLAN, args.out, data=data, data_note=note, quiet=args.quiet)
    print(f"ipstrial {__version__} demo: synthetic {scenario.description}")
    print(
        f"{n} participants randomised (seed {args.seed}); stratified permuted blocks of "
        f"{' or '.join(map(str, scenario.block_sizes))} within {' x '.join(scenario.strata)}; "
        f"analysed by the plan analysis/inklusion.toml"
    )
    print()
    print(_demo_headline(output, scenario.truth))
    print()
    print(f"results: {output.files['results']}")
    print(f"report:  {output.files['report']}")
    return 0


def _demo_headline(output, truth) -> str:  # noqa: ANN001 - a RunOutput and the scenario's truth table
    """The demo's key estimates, each beside the scenario's true value (ipstrial.report.format)."""
    import pandas as pd

    from ipstrial.report.format import describe, estimand_label, format_estimate

    ard = output.ard
    values = truth.set_index(["outcome", "estimand", "contrast"]).value
    lines = []
    for outcome, estimand, variant in _DEMO_LINES:
        rows = ard[
            (ard.outcome == outcome) & (ard.estimand == estimand) & (ard.variant.fillna("") == variant)
        ]
        if rows.empty:
            continue
        rows = rows.drop_duplicates("contrast")  # each contrast from the first analysis that estimates it
        unit = "DKK" if estimand == "delta_cost" else None
        # the derived societal cost is the sum of the six service categories: the truth of cost_total
        truth_outcome = "cost_total" if outcome == "cost_societal" else outcome
        for row in rows.to_dict(orient="records"):
            shown = (
                describe(row)
                if unit is None
                else {
                    "estimate": format_estimate(row["estimate"], estimand, unit),
                    "interval": describe(row | {"unit": unit})["interval"],
                }
            )
            true = values.get((truth_outcome, estimand, row["contrast"]))
            lines.append(
                {
                    "outcome": outcome,
                    "estimand": estimand_label(estimand),
                    "contrast": row["contrast"],
                    "estimate": shown["estimate"],
                    "95% CI": shown["interval"] if row["ci_low"] == row["ci_low"] else "",
                    # the truth with the decimals of the estimate beside it (those of its interval)
                    "truth": ""
                    if true is None
                    else describe(row | {"estimate": true, "unit": unit or row.get("unit")})["estimate"],
                    "analysis": row["analysis"],
                }
            )
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        table = pd.DataFrame(lines).to_string(index=False)
    return "Key estimates beside the scenario's true values:\n" + table


def _cmd_plan_template(args: argparse.Namespace) -> int:
    """Write a commented plan for a CSV file (to standard output or ``--out``)."""
    from ipstrial.plan import plan_template

    _check_output(args.out)
    if args.out not in (None, "-") and Path(args.out).exists() and not args.force:
        raise _UserError(f"--out '{args.out}' exists; give another file name, or add --force to overwrite it")
    text = plan_template(args.data, out=None if args.out in (None, "-") else args.out)
    if args.out is None or args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.out}: check every line marked CHECK, then: ipstrial run {args.out} --out results")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """Run a plan into an output folder and print where the results and the report are."""
    from ipstrial._columns import plural
    from ipstrial.plan import run_plan

    output = run_plan(args.plan, args.out, quiet=args.quiet)
    if not args.quiet:
        analyses = plural(len(output.results), "analysis", "analyses")
        print(f"{len(output.document['results'])} estimates from {analyses}")
    print(f"results: {output.files['results']}")
    print(f"report:  {output.files['report']}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    """Compare results.json with an expected file: 0 reproduced, 1 moved, 2 a user error."""
    from ipstrial.reproduce import expected_from_results, read_json, verify, write_json

    if args.update:
        results = read_json(args.results, "results file")
        old = read_json(args.expected, "expected file") if Path(args.expected).exists() else {}
        if old and old.get("plan", {}).get("name") != results.get("provenance", {}).get("plan", {}).get(
            "name"
        ):
            raise _UserError(
                f"--expected '{args.expected}' belongs to the plan {old.get('plan', {}).get('name')!r}, not "
                f"to the results' plan; give the expected file of this plan, or a new file name"
            )
        _check_output(args.expected)
        write_json(expected_from_results(results, old.get("tolerances")), args.expected)
        print(f"wrote {args.expected}: {len(results.get('results', []))} rows")
        return 0
    outcome = verify(args.results, args.expected)
    print(outcome.report())
    return 0 if outcome.ok else 1


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


class _ScenarioNames:
    """The built-in scenario names (:data:`ipstrial.validation.SCENARIOS`) as the choices of ``--scenario``.

    Read on first use (a value to check, a help text to print), so that building the parser for ``--help`` or
    ``--version`` does not import numpy and pandas.
    """

    def _names(self) -> tuple[str, ...]:
        from ipstrial.validation._scenarios import SCENARIOS

        return tuple(SCENARIOS)

    def __contains__(self, name: object) -> bool:
        return name in self._names() or name in _ALIASES

    def __iter__(self):  # noqa: ANN204 - an iterator of str
        return iter(self._names())


def _whole_type(flag: str, example: str):  # noqa: ANN202 - an argparse type: str -> int
    """argparse type of a count such as ``--reps``: a whole number (its range is checked by the API)."""

    def parse(text: str) -> int:
        value = text.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number; e.g. {flag} {example}")
        return int(value)

    return parse


def _cores() -> int:
    """The cores this process may run on (the default of ``--workers``)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1  # pragma: no cover - platforms without sched_getaffinity


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


def _cmd_budget(args: argparse.Namespace) -> int:
    """Print a budget TOML file's table (business case or projection), or its JSON with ``--json``."""
    import json

    from ipstrial.budget import load

    result = load(args.file)  # a BudgetInputError (also a missing or unreadable file) is reported by main()
    if args.json:
        print(json.dumps(result.to_budget_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(result.report_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ipstrial`` command."""
    parser = _Parser(
        prog="ipstrial",
        description="Analysis of randomised trials of employment interventions such as IPS.",
    )
    parser.add_argument("--version", action="version", version=f"ipstrial {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser, seed: bool = True, min_n: int = 1) -> None:
        p.add_argument(
            "--scenario",
            choices=_ScenarioNames(),
            default="inklusion",
            metavar="NAME",
            help="a built-in scenario: inklusion (default), null (no arm effects), small (60), nonph, mar; "
            "see ipstrial validate --help",
        )
        if seed:
            p.add_argument(
                "--seed", type=_seed_type, default=2012, help="random seed, 0 to 2**63 - 1 (default: 2012)"
            )
            p.add_argument(
                "--n",
                type=_n_type,
                default=None,
                help=f"participants, {min_n} or more (default: the scenario's 720)",
            )

    p = sub.add_parser(
        "simulate",
        help="simulate a synthetic trial and write it as CSV",
        description="Simulate a Projekt Inklusion-like trial; the same seed gives identical bytes.",
    )
    common(p)
    p.add_argument("--out", default=None, help="output CSV file (default: standard output)")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "truth",
        help="print the true values of a scenario's estimands",
        description="Print the exact true values of every estimand of a scenario.",
    )
    common(p, seed=False)
    p.add_argument("--out", default=None, help="write the full truth table as CSV to this file")
    p.set_defaults(func=_cmd_truth)

    p = sub.add_parser(
        "demo",
        help="simulate the default trial and run the analyses beside the true values",
        description="The main job: simulate the built-in synthetic trial, validate it against the data "
        "contract, print a per-arm summary, and run the intention-to-treat, time-to-employment and "
        "cost-effectiveness analyses, each estimate beside the scenario's true value.",
    )
    common(p, min_n=_DEMO_MIN_N)
    p.add_argument("--out", default="ipstrial-demo", help="the folder of the report (default: ipstrial-demo)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "plan",
        help="analysis plans: `plan template DATA.csv` writes a commented plan for a CSV file",
        description="Analysis plans (TOML; the format is in analysis/README.md).",
    )
    plan_sub = p.add_subparsers(dest="plan_command", metavar="PLAN_COMMAND", required=True)
    t = plan_sub.add_parser(
        "template",
        help="write a commented plan with the columns of a CSV file",
        description="Write a commented analysis plan for a CSV file: the columns found and guesses of their "
        "roles, each to check.",
    )
    t.add_argument("data", metavar="DATA.csv", help="the participant-level CSV file")
    t.add_argument("--out", default=None, help="the plan file to write (default: standard output)")
    t.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    t.set_defaults(func=_cmd_plan_template)

    p = sub.add_parser(
        "run",
        help="run an analysis plan: results.json, tables, figures and an HTML report",
        description="Run a pre-specified analysis plan and write results.json, tables (CSV, Markdown), "
        "figures (PNG, SVG) and a self-contained HTML report into a folder.",
    )
    p.add_argument("plan", metavar="PLAN.toml", help="the plan, e.g. analysis/inklusion.toml")
    p.add_argument("--out", required=True, help="the output folder (created if needed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "verify",
        help="check that results.json reproduces an expected file (exit 1 if a number moved)",
        description="Compare every estimate of results.json with an expected file, within the tolerances it "
        "stores per estimand; exit 0 when all reproduce, 1 with a table of what moved.",
    )
    p.add_argument("results", metavar="results.json", help="the results of `ipstrial run`")
    p.add_argument(
        "--expected", required=True, help="the expected file, e.g. analysis/inklusion_expected.json"
    )
    p.add_argument("--update", action="store_true", help="write the expected file from the results instead")
    p.set_defaults(func=_cmd_verify)

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

    p = sub.add_parser(
        "budget",
        help="print a business case or a cohort projection from a TOML file",
        description='Read a budget TOML file (its top-level key kind = "business_case" or '
        '"projection" chooses which) and print its yearly table, payback or break-even year and NPV.',
    )
    p.add_argument("file", metavar="FILE.toml", help="the TOML file, e.g. analysis/business_case_2017.toml")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of the table")
    p.set_defaults(func=_cmd_budget)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ipstrial`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)  # bad arguments: one line on stderr and SystemExit(2)
    if args.command is None:
        parser.print_help()
        return 0
    from ipstrial.errors import IpstrialError  # imported here so that --help and --version stay fast

    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    # the one place where user errors become a message and exit status 2; anything else is a bug
    # and keeps its traceback
    except (_UserError, IpstrialError, OSError) as exc:
        print(f"ipstrial {args.command}: error: {_error_text(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
