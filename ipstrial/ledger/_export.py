"""The ledger's export: the allocations as CSV with their provenance, and reading it back for the analysis.

The file starts with ``# name: value`` provenance lines (trial id, format version, the ledger's design, the
design as the re-randomization test replays it, the key commitment, the row count, the last seq and mac, the
export time, and the SHA-256 of the table below them), then one CSV row per allocation in seq order:
``seq, participant, <one column per factor>, stratum, arm, at, by, withdrawn, excluded``. Withdrawals and
exclusions are flags: the participant stays in the table, as intention to treat requires.

:func:`read_export` checks the SHA-256 and gives the table and the design actually used, so that

>>> export = read_export("allocations.csv")  # doctest: +SKIP
>>> data = export.frame.merge(outcomes, on="participant")  # doctest: +SKIP
>>> rerandomization_test(data, "employed", arm="arm", control="SAU", design=export.design,
...                      order="seq", id="participant")  # doctest: +SKIP

replays the scheme that allocated the trial, in the order of allocation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ipstrial.errors import LedgerError
from ipstrial.ledger._design import LedgerDesign, canonical_json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.ledger._ledger import Ledger

_JSON_FIELDS = ("design", "replay_design", "rows", "last_seq", "last_mac")


def _table(ledger: Ledger, rows: list[dict]) -> str:
    events = {(r["participant"], r["kind"]) for r in rows if r["kind"] != "allocation"}
    factors = list(ledger.design.factor_names)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["seq", "participant", *factors, "stratum", "arm", "at", "by", "withdrawn", "excluded"])
    for r in rows:
        if r["kind"] != "allocation":
            continue
        values = json.loads(r["strata"])
        w.writerow(
            [r["seq"], r["participant"], *(values[n] for n in factors), r["stratum"], r["arm"], r["at"],
             r["by"], int((r["participant"], "withdrawal") in events),
             int((r["participant"], "exclusion") in events)]
        )  # fmt: skip
    return out.getvalue()


def export(ledger: Ledger, path: str | os.PathLike) -> dict:
    """Write the allocations of ``ledger`` as CSV to ``path``, the provenance first (module docstring).

    Returns the provenance. Comparing ``last_mac`` with an earlier export finds a ledger cut short; the
    ``sha256`` of the table lets :func:`read_export` find an edited file.

    Parameters
    ----------
    ledger
        An open :class:`~ipstrial.ledger.Ledger` (no key needed).
    path
        The CSV file to write (overwritten).
    """
    from ipstrial.ledger._ledger import _now

    rows = ledger.rows()
    table = _table(ledger, rows)
    provenance = {
        "trial_id": ledger.trial_id,
        "format_version": ledger.meta["format_version"],
        "design": json.loads(ledger.meta["design"]),
        "replay_design": ledger.design.replay_design(),
        "key_commitment": ledger.commitment,
        "rows": len(rows),
        "last_seq": rows[-1]["seq"] if rows else 0,
        "last_mac": rows[-1]["mac"] if rows else None,
        "exported_at": _now(),
        "sha256": hashlib.sha256(table.encode()).hexdigest(),
    }
    head = "".join(
        f"# {name}: {canonical_json(value) if name in _JSON_FIELDS else value}\n"
        for name, value in provenance.items()
    )
    try:
        with open(path, "w", newline="") as f:
            f.write(head + table)
    except OSError as exc:
        raise LedgerError(f"cannot write the export '{path}': {exc.strerror}; check the path") from None
    return provenance


@dataclass(frozen=True)
class LedgerExport:
    """An export read back: ``frame`` (one row per allocation, in seq order), ``design`` (the dict that
    :func:`ipstrial.randomization.rerandomization_test` replays), ``ledger_design`` and ``provenance``."""

    frame: pd.DataFrame
    design: dict
    ledger_design: LedgerDesign
    provenance: dict


def read_export(path: str | os.PathLike) -> LedgerExport:
    """Read an export written by ``ipstrial ledger export`` (:func:`export`), checking its SHA-256.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    LedgerExport
        The allocations (``seq`` int, the participant and factor columns as strings, ``withdrawn`` and
        ``excluded`` 0/1) and the design actually used. An edited table (its SHA-256 differs from the one
        recorded) or a file that is not an export is a :class:`~ipstrial.errors.LedgerError`.
    """
    import pandas as pd

    try:
        with open(path, newline="") as f:
            text = f.read()
    except OSError as exc:
        raise LedgerError(f"cannot read the export '{path}': {exc.strerror}; check the path") from None
    provenance: dict = {}
    lines = text.splitlines(keepends=True)
    n_head = 0
    for line in lines:
        if not line.startswith("# "):
            break
        name, sep, value = line[2:].rstrip("\n").partition(": ")
        if not sep:
            break
        provenance[name] = json.loads(value) if name in _JSON_FIELDS else value
        n_head += 1
    needed = {"trial_id", "design", "replay_design", "sha256"}
    if not needed <= set(provenance):
        raise LedgerError(
            f"'{path}' is not a ledger export (its provenance lines lack "
            f"{sorted(needed - set(provenance))}); "
            "give the file written by 'ipstrial ledger export'"
        )
    table = "".join(lines[n_head:])
    if hashlib.sha256(table.encode()).hexdigest() != provenance["sha256"]:
        raise LedgerError(
            f"the table of the export '{path}' was changed after export (its SHA-256 differs from the one "
            "recorded in its provenance); export the ledger again"
        )
    ledger_design = LedgerDesign.from_dict(provenance["design"])
    string_columns = ["participant", *ledger_design.factor_names, "stratum", "arm", "at", "by"]
    frame = pd.read_csv(
        io.StringIO(table), dtype={c: str for c in string_columns}, keep_default_na=False, na_values=[]
    )
    return LedgerExport(frame, provenance["replay_design"], ledger_design, provenance)
