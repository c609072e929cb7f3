"""The ``ipstrial ledger`` sub-commands: init, allocate, withdraw, status, export, verify.

:func:`add_ledger_commands` adds them to the ``ipstrial`` parser. Every error of the ledger is a
:class:`~ipstrial.errors.LedgerError` (one line, exit status 2, by :func:`ipstrial.cli.main`); ``verify``
exits with status 1 when it finds the ledger broken, 0 when it is intact.
"""

from __future__ import annotations

import argparse
import sys

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


_DESIGN_FLAGS = ("arms", "block_sizes", "ratio", "factor", "scheme", "p", "weights", "imbalance")


def _design_from_flags(args: argparse.Namespace):  # noqa: ANN202 - a LedgerDesign (imported lazily)
    from ipstrial.ledger import LedgerDesign

    if args.design is not None:
        given = [f"--{f.replace('_', '-')}" for f in _DESIGN_FLAGS if getattr(args, f) is not None]
        if given:
            raise _UserError(
                f"--design {args.design} is the whole design: remove {', '.join(given)} (or drop --design)"
            )
        return LedgerDesign.from_toml(args.design, trial_id=args.trial_id)
    missing = [
        flag for flag, value in (("--trial-id", args.trial_id), ("--arms", args.arms)) if value is None
    ]
    if missing:
        raise _UserError(
            f"give {' and '.join(missing)}, or the whole design in a TOML file with --design FILE"
        )
    factors = [
        (n, [v.strip() for v in levels.split(",")])
        for n, levels in _pairs("--factor", args.factor, "site=A,B")
    ]
    weights = None
    if args.weights is not None:
        try:
            weights = [float(x) for x in args.weights.split(",")]
        except ValueError:
            raise _UserError(
                f"--weights {_shown(args.weights)} must be comma-separated numbers, one per factor, e.g. 2,1"
            ) from None
    p = None
    if args.p is not None:
        try:
            p = float(args.p)
        except ValueError:
            raise _UserError(f"--p {_shown(args.p)} must be a number, e.g. --p 0.8") from None
    return LedgerDesign(
        args.trial_id,
        [a.strip() for a in args.arms.split(",")],
        _ints("--block-sizes", args.block_sizes),
        factors,
        _ints("--ratio", args.ratio),
        scheme=args.scheme,
        weights=weights,
        p=p,
        imbalance=args.imbalance,
    )


def _cmd_init(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    design = _design_from_flags(args)
    with Ledger.init(args.db, design, args.key, by=args.by) as led:
        print(
            f"ledger '{led.db}' created for trial {led.trial_id!r} ({led.design.scheme}); "
            f"key written to '{args.key}' (mode 0600)"
        )
        print(f"key commitment (SHA-256): {led.commitment}")
    return 0


def _factor_flags(extra: list[str]) -> list[tuple[str, str]]:
    """``--NAME VALUE`` or ``--NAME=VALUE`` pairs of the ledger's own factors (allocate's extra flags)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(extra):
        item = extra[i]
        if not item.startswith("--") or len(item) == 2:
            raise _UserError(f"unexpected argument {_shown(item)}; give factor values as --NAME VALUE")
        name, sep, value = item[2:].partition("=")
        if not sep:
            if i + 1 >= len(extra) or extra[i + 1].startswith("--"):
                raise _UserError(f"--{name} needs a value, e.g. --{name} Odense")
            value = extra[i + 1]
            i += 1
        out.append((name, value))
        i += 1
    return out


def _cmd_allocate(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    pairs = _pairs("--set", args.set, "site=Odense") + _factor_flags(getattr(args, "extra", []))
    strata: dict[str, str] = {}
    for name, value in pairs:
        if name in strata:
            raise _UserError(f"the value of factor {name!r} is given twice; give each factor once")
        strata[name] = value
    with Ledger.open(args.db, args.key, trial_id=args.trial_id) as led:
        a = led.allocate(args.participant, strata, by=args.by)
    print(a.arm)
    # on stderr, so that stdout holds the arm alone: to be written down with the allocation
    print(f"receipt {a.receipt} (seq {a.seq}{'' if a.new else ', allocated before'})", file=sys.stderr)
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
        prov = led.export(args.out, overwrite=args.force)
    print(
        f"{prov['rows']} rows exported to '{args.out}' "
        f"(last seq {prov['last_seq']}, last mac {prov['last_mac']})"
    )
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from ipstrial.ledger import Ledger

    with Ledger.open(args.db, trial_id=args.trial_id) as led:
        report = led.verify(args.key, args.receipt or (), args.against or ())
    print(report.summary())
    return 0 if report.ok else 1


def add_ledger_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``ledger`` and its sub-commands to the sub-commands ``sub`` of the ``ipstrial`` parser."""
    p = sub.add_parser(
        "ledger",
        help="concealed, tamper-evident allocation of participants one at a time (SQLite, PostgreSQL)",
        description="An allocation ledger: any scheme of the randomization module, drawn from a secret key "
        "that the database never holds, each allocation one transaction chained to the previous row by an "
        "HMAC. --db is an SQLite file or a postgresql://user@host:port/dbname URL.",
    )
    ledger_sub = p.add_subparsers(dest="ledger_command", metavar="LEDGER_COMMAND", required=True)

    def db(q: argparse.ArgumentParser, key: str | None) -> None:
        q.add_argument("--db", required=True, help="the ledger: an SQLite file or a postgresql:// URL")
        if key == "required":
            q.add_argument("--key", required=True, help="the key file (mode 0600)")
        elif key == "optional":
            q.add_argument("--key", default=None, help="the key file: also check the chain and replay")
        q.add_argument("--trial-id", default=None, help="refuse a ledger of another trial")

    q = ledger_sub.add_parser("init", help="create a ledger and its key file", description="Create a ledger.")
    q.add_argument(
        "--db",
        required=True,
        help="the new SQLite file, or a postgresql:// URL of a database without a ledger",
    )
    q.add_argument("--key", required=True, help="the new key file, written with mode 0600")
    q.add_argument("--design", default=None, metavar="FILE.toml", help="the whole design in a TOML file")
    q.add_argument("--trial-id", default=None, help="the trial's identifier (overrides the design file's)")
    q.add_argument("--arms", default=None, help="comma-separated arm labels, e.g. IPS,IPSE,SAU")
    q.add_argument(
        "--scheme",
        default=None,
        choices=("simple", "biased_coin", "permuted_blocks", "stratified_blocks", "minimization"),
        help="the allocation scheme (default: stratified_blocks with --factor, else permuted_blocks)",
    )
    q.add_argument("--block-sizes", default=None, help="block schemes: comma-separated block sizes, e.g. 3,6")
    q.add_argument("--ratio", default=None, help="allocation ratio, e.g. 2,1 (default equal)")
    q.add_argument(
        "--factor",
        action="append",
        metavar="NAME=L1,L2",
        help="a factor and its levels (repeat): stratifies blocks, is minimized on, or is recorded",
    )
    q.add_argument("--p", default=None, help="biased coin (default 2/3) or minimization (default 0.8)")
    q.add_argument("--weights", default=None, help="minimization: one weight per factor, e.g. 2,1")
    q.add_argument("--imbalance", default=None, choices=("range", "variance"), help="minimization's measure")
    q.add_argument("--by", default=None, help="who creates the ledger (default: the OS user)")
    q.set_defaults(func=_cmd_init)

    q = ledger_sub.add_parser(
        "allocate",
        help="allocate a participant and print the arm",
        description="Allocate a participant; give each factor's value as --NAME VALUE (e.g. --site Odense) "
        "or --set NAME=VALUE (needed for a factor named like one of this command's flags).",
        allow_abbrev=False,  # else --part (a factor) would be taken for --participant
    )
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
    q.add_argument("--out", required=True, help="the CSV file to write (mode 0600; not the ledger or a key)")
    q.add_argument("--force", action="store_true", help="replace an existing --out file")
    q.set_defaults(func=_cmd_export)

    q = ledger_sub.add_parser("verify", help="check the ledger; with --key the chain and the allocations")
    db(q, "optional")
    q.add_argument(
        "--receipt", action="append", metavar="SEQ:MAC", help="a receipt printed by allocate (repeat)"
    )
    q.add_argument("--against", action="append", metavar="EXPORT.csv", help="an earlier export (repeat)")
    q.set_defaults(func=_cmd_verify)
