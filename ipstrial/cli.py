"""The ``ipstrial`` command: ``--version``, ``simulate``, ``truth``, ``demo`` and ``budget``.

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

_SCENARIOS = ("inklusion", "inklusion-null")
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


def _check_output(out: str | None) -> None:
    """Refuse, before any computation, an ``--out`` file that cannot be written (``-`` is standard output)."""
    if out is None or out == "-":
        return
    if not out.strip():
        raise _UserError("--out is empty; give a file name, e.g. --out trial.csv, or - for standard output")
    path = Path(out)
    if path.is_dir():
        raise _UserError(
            f"--out '{out}' is a directory, not a file; give a file name in it, "
            f"e.g. --out '{path / 'out.csv'}'"
        )
    parent = path.parent
    if not parent.exists():
        raise _UserError(
            f"the directory '{parent}' of --out '{out}' does not exist; create it first "
            f"(mkdir -p '{parent}') or choose another path"
        )
    if not parent.is_dir():
        raise _UserError(
            f"'{parent}' in --out '{out}' is not a directory; choose a path inside an existing directory"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _UserError(
            f"cannot write to the directory '{parent}' of --out '{out}' (permission denied); "
            "choose a directory you can write to"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise _UserError(
            f"--out '{out}' exists and is not writable (permission denied); "
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
    from ipstrial.synthetic import INKLUSION

    return INKLUSION if name == "inklusion" else INKLUSION.null()


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


def _cmd_demo(args: argparse.Namespace) -> int:
    from ipstrial.report.summary import arm_summary
    from ipstrial.synthetic import simulate_trial

    if args.n is not None and args.n < _DEMO_MIN_N:
        raise _UserError(
            f"--n {args.n} is too few for the demo, which runs every analysis (each needs participants with "
            f"events and outcomes in every arm); give --n {_DEMO_MIN_N} or more, or leave it out for 720"
        )
    scenario = _scenario(args.scenario)
    trial = scenario.schema().validate(simulate_trial(scenario, n=args.n, seed=args.seed))
    print(f"ipstrial {__version__} demo: synthetic {scenario.description}")
    print(
        f"{len(trial)} participants randomised (seed {args.seed}); stratified permuted blocks of "
        f"{' or '.join(map(str, scenario.block_sizes))} within {' x '.join(scenario.strata)}"
    )
    print()
    print(arm_summary(trial).to_string())
    if trial.missing_by_arm:
        print()
        print("Missing outcomes by arm (kept, not dropped; choose a policy when estimating):")
        for column, counts in trial.missing_by_arm.items():
            parts = ", ".join(f"{arm} {counts.get(arm, 0)}" for arm in trial.arms)
            print(f"  {column}: {parts} (total {counts['total']})")
    truth = scenario.truth.set_index(["outcome", "estimand", "contrast"]).value
    print()
    print(_itt_headline(trial, truth))
    print()
    print(_survival_headline(trial, truth))
    print()
    print(_economics_headline(trial, truth))
    return 0


def _p_text(p: float) -> str:
    """A p-value of the demo's tables with four decimals (blank where there is none)."""
    from ipstrial.results import format_p

    return "" if p != p else format_p(p, digits=4)


def _headline_table(lines: list[dict], money: bool = False) -> str:
    import pandas as pd

    number = "{:,.3f}".format if money else "{:.3f}".format
    with pd.option_context(
        "display.width", 200, "display.max_colwidth", 60, "display.float_format", number
    ):
        return pd.DataFrame(lines).to_string(index=False)


def _itt_headline(trial, truth) -> str:  # noqa: ANN001 - a Trial and the truth values by key
    """The intention-to-treat headline of the demo: each estimate next to the scenario's truth."""
    from ipstrial import itt, missing

    covariates = list(trial.covariates)
    results = [
        ("unadjusted, Newcombe", itt.compare_proportions(trial, "employed_18m", adjust="holm")),
        (
            "adjusted g-computation, Ye variance with strata",
            itt.marginal_effect(trial, "employed_18m", covariates=covariates, strata=trial.strata),
        ),
        ("complete case", itt.compare_means(trial, "hours_18m", missing="complete-case", seed=1)),
        (
            "multiple imputation (m=20)",
            missing.multiple_imputation(
                trial, "hours_18m", covariates=covariates, kind="continuous", m=20, seed=1
            ),
        ),
        # arm only: the NB model then reproduces the arm means, so its rate ratio is the marginal one
        ("negative binomial, arm only", itt.rate_ratio(trial, "weeks_employed_18m")),
    ]
    wanted = {"risk_difference", "mean_difference", "rate_ratio"}
    lines = []
    for label, result in results:
        frame = result.to_frame()
        for row in frame[frame.estimand.isin(wanted)].itertuples():
            lines.append(
                {
                    "outcome": row.outcome,
                    "contrast": row.contrast,
                    "estimand": row.estimand,
                    "estimate": row.estimate,
                    "95% CI": f"({row.ci_low:.3f}, {row.ci_high:.3f})",
                    "p": _p_text(row.p_value),
                    "truth": truth.get((row.outcome, row.estimand, row.contrast), float("nan")),
                    "analysis": label + (f", {row.variant}" if row.variant else ""),
                }
            )
    return (
        "Intention-to-treat effects (estimate, its interval, and the scenario's true value; "
        "hours: complete case and multiple imputation, the truth refers to complete data):\n"
        + _headline_table(lines)
    )


def _survival_headline(trial, truth) -> str:  # noqa: ANN001 - a Trial and the truth values by key
    """Time to first employment: medians, log-rank, Cox, RMST and competing risks, beside the truths."""
    from ipstrial import survival
    from ipstrial.synthetic import DAYS_18M

    results = [
        ("Kaplan-Meier, competing exits censored", survival.kaplan_meier(trial, "days_to_job")),
        ("log-rank, stratified by site", survival.logrank(trial, "days_to_job", strata="site")),
        (
            "Cox, all generating covariates, stratified by site",
            survival.cox(trial, "days_to_job", covariates=list(trial.covariates), strata="site"),
        ),
        (f"RMST to day {DAYS_18M}", survival.rmst(trial, "days_to_job", tau=DAYS_18M)),
        (
            f"Aalen-Johansen at day {DAYS_18M}, Gray's test",
            survival.cumulative_incidence(trial, "days_to_job", times=DAYS_18M),
        ),
        ("Fine-Gray, arm only", survival.fine_gray(trial, "days_to_job")),
    ]
    wanted = {
        "median_time",
        "logrank",
        "hazard_ratio",
        "rmst_difference",
        "cumulative_incidence",
        "gray_test",
        "subdistribution_hazard_ratio",
    }
    lines = []
    for label, result in results:
        frame = result.to_frame()
        frame = frame[frame.estimand.isin(wanted)]
        if "model" in frame.columns:  # Fine-Gray's cause-specific companion rows are shown by the Cox line
            frame = frame[frame.model.fillna("") != "cause-specific"]
        for row in frame.itertuples():
            lines.append(
                {
                    "contrast": row.contrast,
                    "estimand": row.estimand,
                    "estimate": row.estimate,
                    "95% CI": "" if row.ci_low != row.ci_low else f"({row.ci_low:.3f}, {row.ci_high:.3f})",
                    "p": _p_text(row.p_value),
                    "truth": truth.get(("days_to_job", row.estimand, row.contrast), ""),
                    "analysis": label,
                }
            )
    return (
        "Time to first employment or education, days (the hazard-ratio truth is the conditional "
        "cause-specific one):\n" + _headline_table(lines)
    )


def _economics_headline(trial, truth) -> str:  # noqa: ANN001 - a Trial and the truth values by key
    """Cost-effectiveness over 18 months (bootstrap) and the Copenhagen 2017 business case."""
    from ipstrial import economics

    wtp = 200_000
    lines = []
    for treatment in trial.treatments:
        result = economics.cost_effectiveness(
            trial, "cost_total", "employed_18m", treatment=treatment, wtp=wtp, n_resamples=5000, seed=2012
        )
        frame = result.to_frame()
        frame = frame[frame.contrast.str.contains(" vs ")]
        for row in frame.itertuples():
            if row.estimand in ("delta_cost", "delta_effect", "inmb") and row.variant != "bootstrap":
                continue
            truth_value = ""
            if row.estimand == "delta_cost":
                truth_value = truth.get(("cost_total", "delta_cost", row.contrast), "")
            elif row.estimand == "delta_effect":
                truth_value = truth.get(("employed_18m", "risk_difference", row.contrast), "")
            interval = "" if row.ci_low != row.ci_low else f"({row.ci_low:,.3f}, {row.ci_high:,.3f})"
            lines.append(
                {
                    "contrast": row.contrast,
                    "estimand": row.estimand,
                    "estimate": row.estimate,
                    "95% CI": interval,
                    "truth": truth_value,
                    "note": f"quadrant {result.quadrant}" if row.estimand == "icer" else "",
                }
            )
    case = _business_case_summary()
    return (
        f"Cost-effectiveness over 18 months (cost_total DKK per participant; effect: in work or education; "
        f"bootstrap intervals, 5,000 replicates; willingness to pay {wtp:,} DKK per person):\n"
        + _headline_table(lines, money=True)
        + (f"\n\n{case}" if case else "")
    )


def _business_case_summary() -> str:
    """The Copenhagen 2017 business case, when the repository's analysis/ folder is at hand."""
    path = Path(__file__).resolve().parents[1] / "analysis" / "business_case_2017.toml"
    if not path.exists():
        return ""
    from ipstrial._columns import plural
    from ipstrial.budget import BusinessCase

    case = BusinessCase.from_toml(path)
    net = ", ".join(f"{year}: {value:,.0f}" for year, value in case.net.items())
    payback = case.payback_years
    return (
        f"Business case (analysis/business_case_2017.toml, 1,000 DKK): net {net}; "
        f"payback {'-' if payback is None else plural(payback, 'year')}"
    )


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
            choices=_SCENARIOS,
            default="inklusion",
            help="generating scenario (default: inklusion; inklusion-null has no arm effects)",
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
    p.set_defaults(func=_cmd_demo)

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
