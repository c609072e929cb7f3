"""The :class:`Ledger`: create, allocate, record withdrawals and exclusions, status, export, verify.

Rules
-----
* Each row of the one ``entries`` chain carries ``mac = HMAC-SHA256(key, canonical JSON of the row without
  mac)``; its content includes ``seq`` and ``prev_mac`` (the previous row's mac; for seq 1 the genesis
  ``HMAC(key, "genesis|" + design JSON)``), so a row cannot be edited, removed, inserted or moved without the
  key going unnoticed (a keyed hash chain, cf. Schneier & Kelsey, ACM TISSEC 1999;2:159-176).
* A participant's arm is entry ``position`` of block ``block`` of its stratum (see
  :mod:`ipstrial.ledger._design`): the stratum's allocations fill its blocks in order of seq.
* Allocating an allocated participant returns the original allocation and draws nothing.
* Nothing is updated or deleted; a withdrawal or exclusion is a new row.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ipstrial.errors import LedgerError
from ipstrial.ledger import _key, _store
from ipstrial.ledger._design import LedgerDesign, canonical_json

MAX_PARTICIPANT = 64
EVENT_KINDS = ("withdrawal", "exclusion")


@dataclass(frozen=True)
class Allocation:
    """One allocation as recorded: ``seq`` in the chain, ``block`` (1, 2, ... within the stratum) and
    ``position`` (1..block size); ``new`` is False when the participant had been allocated before."""

    seq: int
    participant: str
    strata: dict
    stratum: str
    arm: str
    block: int
    position: int
    at: str
    by: str
    new: bool


def check_participant(participant: object) -> str:
    """A participant id: a non-empty string of at most 64 characters without leading/trailing spaces."""
    if not isinstance(participant, str) or not participant.strip():
        raise LedgerError(f"participant id {participant!r} is empty; give the participant's id, e.g. 'P0001'")
    if participant != participant.strip() or any(c in participant for c in "\n\r\t"):
        raise LedgerError(
            f"participant id {participant!r} has leading/trailing spaces or control characters; remove them"
        )
    if len(participant) > MAX_PARTICIPANT:
        raise LedgerError(
            f"participant id {participant[:20]!r}... has {len(participant)} characters, more than "
            f"{MAX_PARTICIPANT}; use a shorter id"
        )
    return participant


def _user(by: str | None) -> str:
    if by is None:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            raise LedgerError("cannot tell the OS user name; give by='NAME' (--by NAME)") from None
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_PARTICIPANT:
        raise LedgerError(f"by {by!r} must be a non-empty name of at most {MAX_PARTICIPANT} characters")
    return by


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def row_mac(key: bytes, row: dict) -> str:
    """The mac of a row: HMAC-SHA256 over the canonical JSON of every column but ``mac``."""
    return _key.mac(key, canonical_json({c: row[c] for c in _store.COLUMNS if c != "mac"}))


def genesis(key: bytes, design_json: str) -> str:
    """The ``prev_mac`` of seq 1: ``HMAC(key, "genesis|" + design JSON)`` (binds the chain to the design)."""
    return _key.mac(key, "genesis|" + design_json)


def head_value(key: bytes, seq: int, last_mac: str) -> str:
    """The ``head`` meta value: the last seq and mac, with their HMAC (found if rows are cut off the end)."""
    return canonical_json({"seq": seq, "mac": last_mac, "head_mac": _key.mac(key, f"head|{seq}|{last_mac}")})


class Ledger:
    """A concealed, tamper-evident allocation ledger in one SQLite file.

    Create one with :meth:`init`, open one with :meth:`open`. ``allocate`` and ``withdraw`` need the key
    (the allocation server holds it); ``status``, ``export`` and ``verify`` without a key do not.
    """

    def __init__(self, con: sqlite3.Connection, path: Path, key: bytes | None) -> None:
        self._con = con
        self.path = path
        meta = _store.read_meta(con)
        version = meta.get("format_version")
        if version != str(_store.FORMAT_VERSION):
            con.close()
            raise LedgerError(
                f"ledger '{path}' has format version {version!r}, this ipstrial reads version "
                f"{_store.FORMAT_VERSION}; use the ipstrial version that made it"
            )
        try:
            design = LedgerDesign.from_json(meta["design"])
            trial_id, commitment = meta["trial_id"], meta["key_commitment"]
            if design.trial_id != trial_id or len(commitment) != 64:
                raise ValueError("the trial id or the key commitment does not match the design")
        except (KeyError, TypeError, ValueError) as exc:  # DesignError is a ValueError
            con.close()
            raise LedgerError(
                f"ledger '{path}' has an unreadable or inconsistent design record ({exc}); the ledger was "
                "damaged or edited: restore it from a backup"
            ) from None
        self.meta = meta
        self.design = design
        self.trial_id = trial_id
        self.commitment = commitment
        self._key = key

    # -- creating and opening -------------------------------------------------------------------------
    @classmethod
    def init(
        cls, db: str | os.PathLike, design: LedgerDesign, key_file: str | os.PathLike, by: str | None = None
    ) -> Ledger:
        """Create the ledger ``db`` for ``design`` and write a new secret key to ``key_file`` (mode 0600).

        The database stores only ``SHA-256(key)``; neither file may exist already.
        """
        if not isinstance(design, LedgerDesign):
            raise LedgerError(f"design must be a LedgerDesign; got {type(design).__name__}")
        if Path(db).exists():
            raise LedgerError(f"'{db}' already exists; a ledger is never overwritten: choose another file")
        if Path(key_file).exists():
            raise LedgerError(f"key file '{key_file}' already exists; choose another key file name")
        key = _key.new_key_file(key_file)
        design_json = design.to_json()
        meta = {
            "format_version": str(_store.FORMAT_VERSION),
            "trial_id": design.trial_id,
            "design": design_json,
            "key_commitment": _key.commitment(key),
            "created_at": _now(),
            "created_by": _user(by),
            "head": head_value(key, 0, genesis(key, design_json)),
        }
        con = _store.create(db, meta)
        return cls(con, Path(db), key)

    @classmethod
    def open(
        cls, db: str | os.PathLike, key_file: str | os.PathLike | None = None, trial_id: str | None = None
    ) -> Ledger:
        """Open the ledger ``db``; with ``key_file`` check the key against the commitment; with ``trial_id``
        refuse a ledger of another trial."""
        con = _store.open_existing(db)
        ledger = cls(con, Path(db), None)
        if trial_id is not None and trial_id != ledger.trial_id:
            ledger.close()
            raise LedgerError(
                f"ledger '{db}' belongs to trial {ledger.trial_id!r}, not {trial_id!r}; "
                "give this trial's ledger"
            )
        if key_file is not None:
            try:
                ledger._key = _key.read_key_file(key_file, ledger.commitment)
            except LedgerError:
                ledger.close()
                raise
        return ledger

    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _need_key(self, what: str) -> bytes:
        if self._key is None:
            raise LedgerError(f"{what} needs the allocation key; open the ledger with key_file= (--key FILE)")
        return self._key

    # -- writing ---------------------------------------------------------------------------------------
    def _append(self, key: bytes, row: dict) -> dict:
        """Insert ``row`` (without seq, prev_mac, mac) after the last row, inside the caller's transaction."""
        head = json.loads(self._con.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()["value"])
        last = self._con.execute("SELECT seq, mac FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (0, genesis(key, self.meta["design"])) if last is None else (last["seq"], last["mac"])
        if head["seq"] != seq or head["mac"] != prev:
            raise LedgerError(
                f"ledger '{self.path}' is inconsistent: its head says seq {head['seq']} but the last row is "
                f"seq {seq}; run 'ipstrial ledger verify' and stop allocating"
            )
        row = {**row, "seq": seq + 1, "prev_mac": prev}
        row["mac"] = row_mac(key, row)
        self._con.execute(
            f"INSERT INTO entries ({', '.join(_store.COLUMNS)}) VALUES ({', '.join('?' * len(row))})",
            [row[c] for c in _store.COLUMNS],
        )
        self._con.execute(
            "UPDATE meta SET value = ? WHERE key = 'head'", (head_value(key, row["seq"], row["mac"]),)
        )
        return row

    @staticmethod
    def _allocation(row: dict, new: bool) -> Allocation:
        return Allocation(
            seq=row["seq"],
            participant=row["participant"],
            strata=json.loads(row["strata"]),
            stratum=row["stratum"],
            arm=row["arm"],
            block=row["block"],
            position=row["position"],
            at=row["at"],
            by=row["by"],
            new=new,
        )

    def allocate(self, participant: str, strata: dict | None = None, by: str | None = None) -> Allocation:
        """Allocate ``participant`` with factor values ``strata``; one ``BEGIN IMMEDIATE`` transaction.

        Already allocated: the original allocation is returned (``new=False``) and nothing is drawn; a
        different stratum than the recorded one is refused. Otherwise the stratum's next block entry is
        recorded: if the stratum's last allocation filled position ``p`` of block ``k`` of size ``b``, the new
        one takes position ``p + 1`` of block ``k`` when ``p < b``, else position 1 of block ``k + 1``.
        """
        key = self._need_key("allocate")
        participant = check_participant(participant)
        values = self.design.check_strata(strata or {})
        stratum = self.design.stratum_label(values)
        by = _user(by)
        with _store.transaction(self._con) as con:
            old = con.execute(
                f"SELECT {', '.join(_store.COLUMNS)} FROM entries "
                "WHERE participant = ? AND kind = 'allocation'",
                (participant,),
            ).fetchone()
            if old is not None:
                if old["stratum"] != stratum:
                    raise LedgerError(
                        f"participant {participant!r} was allocated (seq {old['seq']}) in stratum "
                        f"{old['stratum']!r}, not {stratum!r}; an allocation never changes: check the values"
                    )
                return self._allocation(dict(old), new=False)
            last = con.execute(
                "SELECT block, position FROM entries WHERE kind = 'allocation' AND stratum = ? "
                "ORDER BY seq DESC LIMIT 1",
                (stratum,),
            ).fetchone()
            block, position = (1, 1) if last is None else (last["block"], last["position"] + 1)
            arms = self.design.block(key, stratum, block)
            if position > len(arms):
                block, position = block + 1, 1
                arms = self.design.block(key, stratum, block)
            row = {
                "kind": "allocation",
                "participant": participant,
                "stratum": stratum,
                "strata": canonical_json(values),
                "arm": arms[position - 1],
                "block": block,
                "position": position,
                "reason": None,
                "at": _now(),
                "by": by,
            }
            row = self._append(key, row)
        return self._allocation(row, new=True)

    def withdraw(
        self, participant: str, kind: str = "withdrawal", reason: str = "", by: str | None = None
    ) -> int:
        """Append a ``withdrawal`` or ``exclusion`` event for an allocated participant; return its seq.

        The allocation itself is never changed; each kind of event is recorded at most once per participant.
        """
        key = self._need_key("withdraw")
        participant = check_participant(participant)
        if kind not in EVENT_KINDS:
            raise LedgerError(f"kind {kind!r} is not an event kind; give one of {list(EVENT_KINDS)}")
        if not isinstance(reason, str):
            raise LedgerError(f"reason must be a string; got {reason!r}")
        by = _user(by)
        with _store.transaction(self._con) as con:
            kinds = {
                r["kind"]
                for r in con.execute("SELECT kind FROM entries WHERE participant = ?", (participant,))
            }
            if "allocation" not in kinds:
                raise LedgerError(
                    f"participant {participant!r} has not been allocated; only an allocated participant can "
                    f"have a {kind}"
                )
            if kind in kinds:
                raise LedgerError(f"participant {participant!r} already has a {kind} recorded; nothing to do")
            row = {
                "kind": kind,
                "participant": participant,
                "stratum": None,
                "strata": None,
                "arm": None,
                "block": None,
                "position": None,
                "reason": reason,
                "at": _now(),
                "by": by,
            }
            row = self._append(key, row)
        return row["seq"]

    # -- reading ---------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """Every entry of the chain, in seq order."""
        return _store.rows(self._con)

    def status(self) -> dict:
        """Counts of allocations by stratum and arm, and of events by kind (nothing about what comes next).

        Returns ``{"trial_id", "allocations", "by_stratum": {stratum: {arm: n}}, "events": {kind: n}}``.
        """
        by_stratum: dict[str, dict[str, int]] = {}
        for r in self._con.execute(
            "SELECT stratum, arm, count(*) AS n FROM entries WHERE kind = 'allocation' GROUP BY stratum, arm"
        ):
            by_stratum.setdefault(r["stratum"], dict.fromkeys(self.design.arms, 0))[r["arm"]] = r["n"]
        events = dict.fromkeys(EVENT_KINDS, 0)
        for r in self._con.execute(
            "SELECT kind, count(*) AS n FROM entries WHERE kind != 'allocation' GROUP BY kind"
        ):
            events[r["kind"]] = r["n"]
        total = sum(sum(v.values()) for v in by_stratum.values())
        return {
            "trial_id": self.trial_id,
            "allocations": total,
            "by_stratum": dict(sorted(by_stratum.items())),
            "events": events,
        }

    def export(self, path: str | os.PathLike) -> dict:
        """Write the allocations as CSV to ``path`` with the provenance as leading ``# `` comment lines.

        Columns: seq, participant, one per factor, stratum, arm, block, position, at, by, withdrawn, excluded.
        The provenance (trial id, format version, design, key commitment, row count, last seq and mac) is
        returned and written first; comparing the last mac with an earlier export finds a truncated ledger.
        """
        import csv

        all_rows = self.rows()
        events = {(r["participant"], r["kind"]) for r in all_rows if r["kind"] != "allocation"}
        provenance = {
            "trial_id": self.trial_id,
            "format_version": self.meta["format_version"],
            "design": json.loads(self.meta["design"]),
            "key_commitment": self.commitment,
            "rows": len(all_rows),
            "last_seq": all_rows[-1]["seq"] if all_rows else 0,
            "last_mac": all_rows[-1]["mac"] if all_rows else None,
            "exported_at": _now(),
        }
        factors = [name for name, _ in self.design.factors]
        with open(path, "w", newline="") as f:
            for name, value in provenance.items():
                f.write(f"# {name}: {canonical_json(value) if not isinstance(value, str) else value}\n")
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["seq", "participant", *factors, "stratum", "arm", "block", "position", "at", "by",
                        "withdrawn", "excluded"])  # fmt: skip
            for r in all_rows:
                if r["kind"] != "allocation":
                    continue
                values = json.loads(r["strata"])
                w.writerow(
                    [r["seq"], r["participant"], *(values[n] for n in factors), r["stratum"], r["arm"],
                     r["block"], r["position"], r["at"], r["by"],
                     int((r["participant"], "withdrawal") in events),
                     int((r["participant"], "exclusion") in events)]
                )  # fmt: skip
        return provenance

    def verify(self, key_file: str | os.PathLike | None = None):  # noqa: ANN201 - a VerifyReport
        """Check the ledger; see :func:`ipstrial.ledger._verify.verify`."""
        from ipstrial.ledger._verify import verify

        return verify(self, key_file)
