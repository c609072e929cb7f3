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
from pathlib import Path
from typing import TYPE_CHECKING

from ipstrial.errors import LedgerError
from ipstrial.ledger._design import LedgerDesign, canonical_json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.ledger._ledger import Ledger

_JSON_FIELDS = ("design", "replay_design", "rows", "allocations", "last_seq", "last_mac")


def _table(ledger: Ledger, rows: list[dict]) -> str:
    events = {(r["participant"], r["kind"]) for r in rows if r["kind"] != "allocation"}
    factors = list(ledger.design.factor_names)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["seq", "participant", *factors, "stratum", "arm", "at", "by", "withdrawn", "excluded"])
    for r in rows:
        if r["kind"] != "allocation":
            continue
        try:
            values = json.loads(r["strata"])
            [values[n] for n in factors]  # noqa: B018 - every factor present
        except (TypeError, ValueError, KeyError):
            raise LedgerError(
                f"ledger '{ledger.db}' row seq {r['seq']} is damaged (its stratum values {r['strata']!r}); "
                "run 'ipstrial ledger verify' before exporting"
            ) from None
        w.writerow(
            [r["seq"], r["participant"], *(values[n] for n in factors), r["stratum"], r["arm"], r["at"],
             r["by"], int((r["participant"], "withdrawal") in events),
             int((r["participant"], "exclusion") in events)]
        )  # fmt: skip
    return out.getvalue()


def export(ledger: Ledger, path: str | os.PathLike, overwrite: bool = False) -> dict:
    """Write the allocations of ``ledger`` as CSV to ``path``, the provenance first (module docstring).

    Returns the provenance. Comparing ``last_mac`` with an earlier export finds a ledger cut short; the
    ``sha256`` of the table lets :func:`read_export` find an edited file. The file is written with mode 0600
    (it holds every allocation) to a temporary name and then renamed, so a reader never sees half a file.

    Parameters
    ----------
    ledger
        An open :class:`~ipstrial.ledger.Ledger` (no key needed).
    path
        The CSV file to write. An existing file is refused unless ``overwrite``; the ledger's own database
        and a key file are refused always.
    overwrite
        Replace an existing file (``--force``).
    """
    from ipstrial.ledger._ledger import _now

    _check_target(ledger, Path(path), overwrite)
    rows = ledger.rows()
    table = _table(ledger, rows)
    provenance = {
        "trial_id": ledger.trial_id,
        "format_version": ledger.meta["format_version"],
        "design": json.loads(ledger.meta["design"]),
        "replay_design": ledger.design.replay_design(),
        "key_commitment": ledger.commitment,
        "rows": len(rows),
        "allocations": sum(r["kind"] == "allocation" for r in rows),
        "last_seq": rows[-1]["seq"] if rows else 0,
        "last_mac": rows[-1]["mac"] if rows else None,
        "exported_at": _now(),
        "sha256": hashlib.sha256(table.encode()).hexdigest(),
    }
    head = "".join(
        f"# {name}: {canonical_json(value) if name in _JSON_FIELDS else value}\n"
        for name, value in provenance.items()
    )
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", newline="") as f:
            f.write(head + table)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise LedgerError(f"cannot write the export '{path}': {exc.strerror}; check the path") from None
    return provenance


def _check_target(ledger: Ledger, target: Path, overwrite: bool) -> None:
    """Refuse to write the export over the ledger, a key file, or (without ``overwrite``) any file."""
    if not target.exists():
        return
    db = ledger.path
    if target.is_dir():
        raise LedgerError(f"the export '{target}' is a folder; give a file name such as allocations.csv")
    if db is not None and db.exists() and os.path.samefile(target, db):
        raise LedgerError(f"the export '{target}' is the ledger's own database; give another file name")
    try:
        text = target.read_bytes().strip()
        looks_like_key = len(text) == 64 and bool(bytes.fromhex(text.decode("ascii")))
    except (OSError, ValueError, UnicodeDecodeError):
        looks_like_key = False
    if looks_like_key:
        raise LedgerError(f"the export '{target}' holds an allocation key; give another file name")
    if not overwrite:
        raise LedgerError(
            f"the export '{target}' already exists; give another name, or --force to replace it"
        )


@dataclass(frozen=True)
class LedgerExport:
    """An export read back: ``frame`` (one row per allocation, in seq order), ``design`` (the dict that
    :func:`ipstrial.randomization.rerandomization_test` replays), ``ledger_design`` and ``provenance``."""

    frame: pd.DataFrame
    design: dict
    ledger_design: LedgerDesign
    provenance: dict

    def with_outcomes(self, outcomes: pd.DataFrame, on: str = "participant") -> pd.DataFrame:
        """Every allocated participant with their outcomes: the export joined to ``outcomes`` on ``on``.

        All allocations are kept (a participant without outcomes has missing values, for the analysis's
        missing-data policy, e.g. ``missing="complete-case"``): the re-randomization test replays the design
        that allocated everyone, so the data must hold everyone. Outcomes of an id that was never allocated,
        or of an id twice, are an error naming the ids.

        Parameters
        ----------
        outcomes
            One row per participant, with the id column ``on``.
        on
            The id column of ``outcomes`` (the export's ``participant``).
        """
        import pandas as pd

        if not isinstance(outcomes, pd.DataFrame) or on not in outcomes.columns:
            raise LedgerError(f"outcomes must be a DataFrame with the id column {on!r}")
        ids = outcomes[on].astype(str)
        twice = sorted(ids[ids.duplicated()].unique())
        unknown = sorted(set(ids) - set(self.frame["participant"]))
        for what, bad in (("appear twice", twice), ("were never allocated in this ledger", unknown)):
            if bad:
                raise LedgerError(
                    f"outcomes: the {on} values {bad[:5]}{' ...' if len(bad) > 5 else ''} {what}; give one "
                    "row per allocated participant"
                )
        clash = sorted(set(outcomes.columns) & set(self.frame.columns) - {on})
        if clash:
            raise LedgerError(f"outcomes has columns of the export {clash}; rename them")
        right = outcomes.assign(**{on: ids}).rename(columns={on: "participant"})
        return self.frame.merge(right, on="participant", how="left", validate="one_to_one")


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
