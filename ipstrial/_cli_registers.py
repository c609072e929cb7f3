"""The ``ipstrial registers`` sub-command: ``derive`` outcomes from a weekly register panel.

:func:`add_registers_commands` adds it to the ``ipstrial`` parser; errors are one line (exit status 2) by
:func:`ipstrial.cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ipstrial._cli_common import _UserError


def _cmd_derive(args: argparse.Namespace) -> int:
    import pandas as pd

    from ipstrial.registers import CodeMap, derive_outcomes

    out = Path(args.out)
    if out.exists() and not args.force:
        raise _UserError(f"--out '{out}' exists; give another file name, or add --force to overwrite it")
    try:
        randomisation = pd.read_csv(args.randomisation, dtype={args.id: str})
    except (OSError, ValueError) as exc:
        raise _UserError(f"--randomisation '{args.randomisation}' cannot be read as CSV ({exc})") from None
    codes = CodeMap.from_toml(args.codes)
    derived = derive_outcomes(
        args.panel if len(args.panel) > 1 else args.panel[0],
        randomisation,
        codes,
        args.horizon_weeks,
        id=args.id,
        date=args.date,
        person=args.person,
        week=args.week,
        code=args.code,
        duplicates=args.duplicates,
        first_week=args.first_week,
        allow_no_register_rows=args.allow_no_register_rows,
        allow_empty_weeks=args.allow_empty_weeks,
        threads=args.threads,
        memory_limit=args.memory_limit,
    )
    import hashlib
    import json

    derived.frame.to_csv(out, index=False)
    record = {
        **derived.provenance,
        "outcomes": {"file": out.name, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()},
    }
    side = out.with_name(out.name + ".provenance.json")
    side.write_text(json.dumps(record, indent=2) + "\n")
    print(derived.summary(), file=sys.stderr)
    print(f"outcomes: {out}\nprovenance: {side}")
    return 0


def add_registers_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``registers`` and ``registers derive`` to the sub-commands ``sub`` of the ``ipstrial`` parser."""
    p = sub.add_parser(
        "registers",
        help="trial outcomes from weekly register panels (DREAM-like), on DuckDB",
        description="Derive one row of outcomes per participant from a weekly register panel; the rules are "
        "in the docstring of ipstrial.registers._rules.",
    )
    reg_sub = p.add_subparsers(dest="registers_command", metavar="REGISTERS_COMMAND", required=True)
    q = reg_sub.add_parser("derive", help="outcomes per participant from a panel, randomisation dates, codes")
    q.add_argument("--panel", required=True, action="append", help="Parquet or CSV files, or a glob (repeat)")
    q.add_argument("--randomisation", required=True, help="CSV: participant id and randomisation date")
    q.add_argument("--codes", required=True, help="the code map (TOML)")
    q.add_argument("--out", required=True, help="the outcomes CSV to write")
    q.add_argument("--horizon-weeks", type=int, default=78, help="weeks from the randomisation week (78)")
    q.add_argument("--duplicates", choices=("error", "priority"), default="error", help="conflicting codes")
    q.add_argument("--id", default="participant_id", help="the randomisation's id column")
    q.add_argument("--date", default="randomisation_date", help="the randomisation's date column")
    q.add_argument("--person", default="person", help="the panel's person column")
    q.add_argument("--week", default="week", help="the panel's ISO week column (YYYY-Www)")
    q.add_argument("--code", default="code", help="the panel's code column")
    q.add_argument(
        "--first-week",
        choices=("containing", "next"),
        default="containing",
        help="week 1: the ISO week of the randomisation date (containing) or the week after it (next)",
    )
    q.add_argument(
        "--allow-no-register-rows",
        action="store_true",
        help="allow more than 5%% of participants without any panel row (usually ids that do not match)",
    )
    q.add_argument(
        "--allow-empty-weeks", action="store_true", help="allow weeks of the coverage without any panel row"
    )
    q.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: every core)")
    q.add_argument("--memory-limit", default=None, help="DuckDB memory limit, e.g. 3GB")
    q.add_argument("--force", action="store_true", help="overwrite --out")
    q.set_defaults(func=_cmd_derive)
