"""The ``ipstrial ledger`` sub-commands: init, allocate, withdraw, status, export, verify.

:func:`add_ledger_commands` adds them to the ``ipstrial`` parser. Every error of the ledger is a
:class:`~ipstrial.errors.LedgerError` (one line, exit status 2, by :func:`ipstrial.cli.main`); ``verify``
exits with status 1 when it finds the ledger broken, 0 when it is intact.
"""

from __future__ import annotations

import argparse

from ipstrial._cli_common import _shown, _UserError


def _pairs(flag: str, items: list[str] | None, example: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` arguments of a repeated flag, as pairs; a name given twice is refused."""
    out: list[tuple[str, str]] = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise _UserError(f"{flag} {_shown(item)} is not NAME=VALUE; write e.g. {flag} {example}")
        if name.strip() in {n for n, _ in out}:
            raise _UserError(f"{flag} {name.strip()!r} is given twice; give each factor once")
        out.append((name.strip(), value.strip()))
    return out


def _ints(flag: str, text: str | None) -> list[int] | None:
    """A comma-separated list of whole numbers (``None`` stays ``None``)."""
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise _UserError(
            f"{flag} {_shown(text)} must be comma-separated whole numbers, e.g. {flag} 3,6"
        ) from None


def _cmd_init(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger, LedgerDesign

    factors = [
        (n, [v.strip() for v in levels.split(",")])
        for n, levels in _pairs("--factor", args.factor, "site=A,B")
    ]
    arms = [a.strip() for a in args.arms.split(",")]
    design = LedgerDesign(
        args.trial_id, arms, _ints("--block-sizes", args.block_sizes), factors, _ints("--ratio", args.ratio)
    )
    with Ledger.init(args.db, design, args.key, by=args.by) as led:
        print(
            f"ledger '{args.db}' created for trial {led.trial_id!r}; key written to '{args.key}' (mode 0600)"
        )
        print(f"key commitment (SHA-256): {led.commitment}")
    return 0


def _cmd_allocate(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    strata = dict(_pairs("--set", args.set, "site=Odense"))
    with Ledger.open(args.db, args.key, trial_id=args.trial_id) as led:
        a = led.allocate(args.participant, strata, by=args.by)
    print(a.arm)
    return 0


def _cmd_withdraw(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    with Ledger.open(args.db, args.key, trial_id=args.trial_id) as led:
        seq = led.withdraw(args.participant, args.kind, args.reason, by=args.by)
    print(f"{args.kind} of {args.participant} recorded as seq {seq}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from ipstrial.ledger import Ledger

    with Ledger.open(args.db, trial_id=args.trial_id) as led:
        status = led.status()
        arms = led.design.arms
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    n = status["allocations"]
    print(f"trial {status['trial_id']}: {n} allocation{'' if n == 1 else 's'}")
    width = max([len("stratum")] + [len(s) for s in status["by_stratum"]])
    print("  ".join(["stratum".ljust(width), *(a.rjust(6) for a in arms)]))
    for stratum, counts in status["by_stratum"].items():
        print("  ".join([stratum.ljust(width), *(str(counts[a]).rjust(6) for a in arms)]))
    print(", ".join(f"{kind}s: {n}" for kind, n in status["events"].items()))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    with Ledger.open(args.db, trial_id=args.trial_id) as led:
        prov = led.export(args.out)
    print(
        f"{prov['rows']} rows exported to '{args.out}' "
        f"(last seq {prov['last_seq']}, last mac {prov['last_mac']})"
    )
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    with Ledger.open(args.db, trial_id=args.trial_id) as led:
        report = led.verify(args.key)
    print(report.summary())
    return 0 if report.ok else 1


def add_ledger_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``ledger`` and its sub-commands to the sub-commands ``sub`` of the ``ipstrial`` parser."""
    p = sub.add_parser(
        "ledger",
        help="concealed, tamper-evident allocation of participants one at a time (SQLite)",
        description="An allocation ledger: stratified permuted blocks drawn from a secret key that the "
        "database never holds, each allocation one transaction chained to the previous row by an HMAC.",
    )
    ledger_sub = p.add_subparsers(dest="ledger_command", metavar="LEDGER_COMMAND", required=True)

    def db(q: argparse.ArgumentParser, key: str | None) -> None:
        q.add_argument("--db", required=True, help="the ledger's SQLite file")
        if key == "required":
            q.add_argument("--key", required=True, help="the key file (mode 0600)")
        elif key == "optional":
            q.add_argument("--key", default=None, help="the key file: also check the chain and replay")
        q.add_argument("--trial-id", default=None, help="refuse a ledger of another trial")

    q = ledger_sub.add_parser("init", help="create a ledger and its key file", description="Create a ledger.")
    q.add_argument("--db", required=True, help="the new SQLite file (never overwritten)")
    q.add_argument("--key", required=True, help="the new key file, written with mode 0600")
    q.add_argument("--trial-id", required=True, help="the trial's identifier")
    q.add_argument("--arms", required=True, help="comma-separated arm labels, e.g. IPS,IPSE,SAU")
    q.add_argument("--block-sizes", required=True, help="comma-separated block sizes, e.g. 3,6")
    q.add_argument("--ratio", default=None, help="allocation ratio, e.g. 2,1 (default equal)")
    q.add_argument(
        "--factor",
        action="append",
        metavar="NAME=L1,L2",
        help="a stratification factor and its levels (repeat)",
    )
    q.add_argument("--by", default=None, help="who creates the ledger (default: the OS user)")
    q.set_defaults(func=_cmd_init)

    q = ledger_sub.add_parser("allocate", help="allocate a participant and print the arm")
    db(q, "required")
    q.add_argument("--participant", required=True, help="the participant's id (at most 64 characters)")
    q.add_argument("--set", action="append", metavar="NAME=LEVEL", help="a factor's value (one per factor)")
    q.add_argument("--by", default=None, help="who allocates (default: the OS user)")
    q.set_defaults(func=_cmd_allocate)

    q = ledger_sub.add_parser("withdraw", help="record a withdrawal or post-randomization exclusion")
    db(q, "required")
    q.add_argument("--participant", required=True, help="the participant's id")
    q.add_argument("--kind", choices=("withdrawal", "exclusion"), default="withdrawal", help="the event")
    q.add_argument("--reason", default="", help="why (free text)")
    q.add_argument("--by", default=None, help="who records it (default: the OS user)")
    q.set_defaults(func=_cmd_withdraw)

    q = ledger_sub.add_parser("status", help="allocations by stratum and arm (nothing about the next)")
    db(q, None)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=_cmd_status)

    q = ledger_sub.add_parser("export", help="the allocations as CSV with the provenance")
    db(q, None)
    q.add_argument("--out", required=True, help="the CSV file to write")
    q.set_defaults(func=_cmd_export)

    q = ledger_sub.add_parser("verify", help="check the ledger; with --key the chain and the allocations")
    db(q, "optional")
    q.set_defaults(func=_cmd_verify)
