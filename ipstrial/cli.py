"""The ``ipstrial`` command: ``--version``, ``simulate``, ``truth``, ``demo``, ``plan``, ``run``, ``verify``,
``power``, ``validate`` and ``budget`` (``power`` and ``validate`` in :mod:`ipstrial._cli_study`, what the
commands share in :mod:`ipstrial._cli_common`).

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
import sys
from collections.abc import Sequence
from pathlib import Path

from ipstrial._cli_common import (
    _check_output,
    _n_type,
    _os_error_text,
    _Parser,
    _scenario,
    _ScenarioNames,
    _seed_type,
    _UserError,
)
from ipstrial._cli_ledger import add_ledger_commands
from ipstrial._cli_registers import add_registers_commands
from ipstrial._cli_study import add_study_commands
from ipstrial._version import __version__

_DEMO_MIN_N = 100  # the demo's analyses need participants with outcomes and events in every arm


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

    add_study_commands(sub)
    add_ledger_commands(sub)
    add_registers_commands(sub)

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
    # bad arguments: one line on stderr and SystemExit(2); only 'ledger allocate' takes further flags, the
    # values of the ledger's own factors (--site Odense), which it checks against the ledger's design
    args, extra = parser.parse_known_args(argv)
    if extra:
        if (args.command, getattr(args, "ledger_command", None)) != ("ledger", "allocate"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
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
