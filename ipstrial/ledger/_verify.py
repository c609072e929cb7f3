"""``verify``: is the ledger the untouched record of the committed design and key?

Without the key: the format version and design are readable, seq runs 1, 2, ..., n without gaps, each
participant is allocated at most once, each event follows its participant's allocation.
With the key (at unblinding): the key matches the commitment; every ``prev_mac`` is the previous row's mac
(seq 1: the genesis mac of the design) and every ``mac`` is the HMAC of its row; the ``head`` names the last
row; and replaying the allocations in seq order through the design's scheme with the key
(:mod:`ipstrial.ledger._schemes`) gives, row by row, the recorded arm. The report names the FIRST broken
row by seq and what is wrong with it.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ipstrial.errors import LedgerError
from ipstrial.ledger import _key
from ipstrial.ledger._design import BLOCK_SCHEMES
from ipstrial.ledger._ledger import EVENT_KINDS, Ledger, genesis, head_value, row_mac
from ipstrial.ledger._schemes import Allocator, History


@dataclass
class VerifyReport:
    """The result of :func:`verify`: ``ok``, the rows checked, whether the key was used, and the problems
    as ``(seq, what)`` in seq order (seq ``None``: about the ledger as a whole). With the key and a block
    scheme, ``blocks`` gives each allocation's ``(block, position)`` within its stratum, as the replay found
    them (unblinded information: the ledger itself stores neither)."""

    rows: int
    keyed: bool
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    blocks: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def first_broken_seq(self) -> int | None:
        """The seq of the first broken row (``None`` if none)."""
        seqs = [s for s, _ in self.problems if s is not None]
        return min(seqs) if seqs else None

    def summary(self) -> str:
        """One line when ok; else the first broken row, then every problem."""
        mode = "with the key" if self.keyed else "without the key (chain and replay not checked)"
        if self.ok:
            return f"ledger verified {mode}: {self.rows} rows, no problem"
        first = self.first_broken_seq
        head = f"ledger BROKEN ({mode}): first broken row seq {first}" if first else "ledger BROKEN"
        return "\n".join([head + f"; {len(self.problems)} problem(s):"] + [
            f"  seq {s}: {w}" if s is not None else f"  {w}" for s, w in self.problems
        ])  # fmt: skip


def verify(
    ledger: Ledger,
    key_file: str | os.PathLike | None = None,
    receipts: Sequence[str] = (),
    against: Sequence[str | os.PathLike] = (),
) -> VerifyReport:
    """Check ``ledger`` (see the module docstring); with ``key_file`` also the chain and the replay.

    A ledger cut back to an earlier state, its head record restored from a copy, is a consistent chain: only
    something kept outside the ledger can show it. ``receipts`` (``"seq:mac"`` of
    :attr:`~ipstrial.ledger.Allocation.receipt`, as printed by ``ledger allocate``) and ``against`` (earlier
    exports: their last seq and mac) must each name a row of the ledger with that mac.

    Parameters
    ----------
    ledger
        The open ledger.
    key_file
        The key file (at unblinding): also check every mac, the head and the replay of every allocation.
    receipts
        Receipts ``"seq:mac"`` given out by earlier allocations.
    against
        Earlier exports of this ledger (``ledger export``).

    A wrong key or an unsafe key file raises :class:`~ipstrial.errors.LedgerError`; every finding about
    the rows is a problem in the returned :class:`VerifyReport`.
    """
    key = None if key_file is None else _key.read_key_file(key_file, ledger.commitment)
    rows = ledger.rows()
    report = VerifyReport(rows=len(rows), keyed=key is not None)
    problems = report.problems
    allocated: dict[str, int] = {}
    seen_events: set[tuple[str, str]] = set()
    odd = next((r["seq"] for r in rows if not isinstance(r["seq"], int)), None)
    if odd is not None:  # SQLite keeps what it is given: a seq edited to text
        report.problems.append((None, f"a row has seq {odd!r}, not a whole number: the ledger was edited"))
        return report
    for expected_seq, r in enumerate(rows, start=1):
        seq = r["seq"]
        if seq != expected_seq:
            problems.append((expected_seq, f"row seq {expected_seq} is missing (next row is seq {seq})"))
            break  # later seqs are all shifted; the first gap is what matters
    for r in rows:
        seq, who, kind = r["seq"], r["participant"], r["kind"]
        if kind == "allocation":
            if who in allocated:
                problems.append((seq, f"participant {who!r} allocated again (first at seq {allocated[who]})"))
            allocated.setdefault(who, seq)
        elif kind in EVENT_KINDS:
            if who not in allocated:
                problems.append((seq, f"{kind} of participant {who!r} who has no earlier allocation"))
            if (who, kind) in seen_events:
                problems.append((seq, f"second {kind} of participant {who!r}"))
            seen_events.add((who, kind))
        else:
            problems.append((seq, f"unknown kind {kind!r}"))
    _check_outside_records(ledger, rows, receipts, against, problems)
    if key is not None:
        _check_chain(ledger, key, rows, problems)
        _check_replay(ledger, key, rows, report)
    problems.sort(key=lambda p: (p[0] is not None, p[0] or 0))
    return report


def _check_outside_records(
    ledger: Ledger, rows: list[dict], receipts: Sequence[str], against: Sequence, problems: list
) -> None:
    """Each receipt and each earlier export's last row must be a row of the ledger, with the same mac."""
    from ipstrial.ledger._export import read_export

    by_seq = {r["seq"]: r["mac"] for r in rows}
    claims: list[tuple[int, str, str]] = []
    for receipt in receipts:
        seq, sep, mac = str(receipt).strip().partition(":")
        if not sep or not seq.isdigit() or len(mac) < 8 or any(c not in "0123456789abcdef" for c in mac):
            raise LedgerError(
                f"receipt {receipt!r} is not SEQ:MAC as 'ledger allocate' prints it, e.g. 17:3fa4c2d19b0e7a65"
            )
        claims.append((int(seq), mac, f"receipt {receipt}"))
    for path in against:
        provenance = read_export(path).provenance
        if (
            provenance.get("trial_id") != ledger.trial_id
            or provenance.get("key_commitment") != ledger.commitment
        ):
            raise LedgerError(
                f"the export '{path}' is of another ledger (trial id or key commitment differs)"
            )
        if provenance.get("last_seq"):
            claims.append((int(provenance["last_seq"]), provenance["last_mac"], f"the export '{path}'"))
    for seq, mac, what in claims:
        if seq not in by_seq:
            gone = f"{what} names seq {seq}, which the ledger no longer has (rows removed: it was cut back)"
            problems.append((seq, gone))
        elif not by_seq[seq].startswith(mac):
            problems.append((seq, f"{what} does not match the row's mac (the row was replaced)"))


def _check_chain(ledger: Ledger, key: bytes, rows: list[dict], problems: list) -> None:
    """Every prev_mac and mac, in order, and the head."""
    prev = genesis(key, ledger.meta["design"])
    for r in rows:
        if not hmac.compare_digest(r["prev_mac"], prev):
            problems.append(
                (r["seq"], "prev_mac is not the mac of the previous row (a row removed or inserted)")
            )
        if not hmac.compare_digest(r["mac"], row_mac(key, r)):
            problems.append((r["seq"], "mac does not match the row's content (the row was edited or forged)"))
        prev = r["mac"]
    last_seq = rows[-1]["seq"] if rows else 0
    stored = ledger.read_meta().get("head", "")  # read now: the head moves with every row
    try:
        head = json.loads(stored)
        valid = hmac.compare_digest(stored, head_value(key, head["seq"], head["mac"]))
    except (KeyError, TypeError, ValueError):
        head, valid = {"seq": None}, False
    if not valid:
        problems.append((None, "the head record (last seq and mac) is missing or was edited"))
    elif head["seq"] != last_seq or head["mac"] != prev:
        first = min(head["seq"], last_seq) + 1
        problems.append(
            (first, f"the head names seq {head['seq']} as the last row but the ledger ends at seq {last_seq} "
                    "(rows removed from or added at the end)")
        )  # fmt: skip


def _check_replay(ledger: Ledger, key: bytes, rows: list[dict], report: VerifyReport) -> None:
    """Replay the allocations in seq order: each must be the arm the design's scheme draws with the key from
    the recorded allocations before it (so an edited arm is found at its own row only)."""
    design = ledger.design
    allocator = Allocator(design, key)
    history = History(design)
    for r in rows:
        if r["kind"] != "allocation":
            continue
        seq = r["seq"]
        try:
            values = design.check_strata(json.loads(r["strata"]))
        except (LedgerError, TypeError, ValueError) as exc:
            report.problems.append((seq, f"stratum values not allowed by the design: {exc}"))
            continue
        stratum = design.stratum_label(values)
        if stratum != r["stratum"]:
            report.problems.append(
                (seq, f"stratum label {r['stratum']!r} differs from its values ({stratum!r})")
            )
        expected = design.arms[allocator.next_arm(history, values, stratum)]
        if design.scheme in BLOCK_SCHEMES:
            report.blocks[seq] = allocator.block_place(history, stratum)[:2]
        if r["arm"] != expected:
            report.problems.append(
                (seq, f"allocation is arm {r['arm']!r}; the design and key give arm {expected!r}")
            )
        if r["arm"] in design.arms:
            history.add(values, stratum, r["arm"])
        else:
            report.problems.append((seq, f"arm {r['arm']!r} is not an arm of the design {list(design.arms)}"))
