"""The :class:`Ledger`: create, allocate, record withdrawals and exclusions, status, export, verify.

Rules
-----
* Each row of the one ``entries`` chain carries ``mac = HMAC-SHA256(key, canonical JSON of the row without
  mac)``; its content includes ``seq`` and ``prev_mac`` (the previous row's mac; for seq 1 the genesis
  ``HMAC(key, "genesis|" + design JSON)``), so a row cannot be edited, removed, inserted or moved without the
  key going unnoticed (a keyed hash chain, cf. Schneier & Kelsey, ACM TISSEC 1999;2:159-176).
* A participant's arm is drawn by the design's scheme with the key from the allocations before it
  (:mod:`ipstrial.ledger._schemes`); the rows hold no block number or position.
* Allocating an allocated participant returns the original allocation and draws nothing.
* Nothing is updated or deleted; a withdrawal or exclusion is a new row.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ipstrial.errors import LedgerError
from ipstrial.ledger import _key, _store
from ipstrial.ledger._design import LedgerDesign, canonical_json
from ipstrial.ledger._schemes import Allocator, History

MAX_PARTICIPANT = 64
EVENT_KINDS = ("withdrawal", "exclusion")


@dataclass(frozen=True)
class Allocation:
    """One allocation as recorded: ``seq`` in the chain, the factor values and their stratum label, the arm,
    when and by whom; ``new`` is False when the participant had been allocated before."""

    seq: int
    participant: str
    strata: dict
    stratum: str
    arm: str
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
    """A concealed, tamper-evident allocation ledger in an SQLite file or a PostgreSQL database.

    Create one with :meth:`init`, open one with :meth:`open`; ``db`` is a file path (SQLite) or a
    ``postgresql://user@host:port/dbname`` URL (the ``postgresql`` extra). ``allocate`` and ``withdraw`` need
    the key (the allocation server holds it); ``status``, ``export`` and ``verify`` without a key do not.
    """

    def __init__(self, store: _store.Store, key: bytes | None) -> None:
        self._store = store
        self.db = store.name
        meta = store.read_meta()
        version = meta.get("format_version")
        if version != str(_store.FORMAT_VERSION):
            store.close()
            raise LedgerError(
                f"ledger '{self.db}' has format version {version!r}, this ipstrial reads version "
                f"{_store.FORMAT_VERSION}; use the ipstrial version that made it"
            )
        try:
            design = LedgerDesign.from_json(meta["design"])
            trial_id, commitment = meta["trial_id"], meta["key_commitment"]
            if design.trial_id != trial_id or len(commitment) != 64:
                raise ValueError("the trial id or the key commitment does not match the design")
        except (KeyError, TypeError, ValueError) as exc:  # DesignError is a ValueError
            store.close()
            raise LedgerError(
                f"ledger '{self.db}' has an unreadable or inconsistent design record ({exc}); the ledger was "
                "damaged or edited: restore it from a backup"
            ) from None
        self.meta = meta
        self.design = design
        self.trial_id = trial_id
        self.commitment = commitment
        self._key = key
        self._allocator = None if key is None else Allocator(design, key)

    @property
    def path(self) -> Path | None:
        """The SQLite file of the ledger (``None`` on PostgreSQL)."""
        return None if _store.is_url(self.db) else Path(self.db)

    # -- creating and opening -------------------------------------------------------------------------
    @classmethod
    def init(
        cls, db: str | os.PathLike, design: LedgerDesign, key_file: str | os.PathLike, by: str | None = None
    ) -> Ledger:
        """Create the ledger ``db`` for ``design`` and write a new secret key to ``key_file`` (mode 0600).

        The database stores only ``SHA-256(key)``. A SQLite file must not exist; a PostgreSQL database must
        exist and hold no ledger. The key file must not exist.
        """
        if not isinstance(design, LedgerDesign):
            raise LedgerError(f"design must be a LedgerDesign; got {type(design).__name__}")
        if Path(key_file).exists():
            raise LedgerError(f"key file '{key_file}' already exists; choose another key file name")
        created_by = _user(by)
        store = _store.open_store(db, create=True)
        key_written = False
        try:
            store.check_no_ledger()
            key = _key.new_key_file(key_file)
            key_written = True
            design_json = design.to_json()
            store.initialise(
                {
                    "format_version": str(_store.FORMAT_VERSION),
                    "trial_id": design.trial_id,
                    "design": design_json,
                    "key_commitment": _key.commitment(key),
                    "created_at": _now(),
                    "created_by": created_by,
                    "head": head_value(key, 0, genesis(key, design_json)),
                }
            )
        except BaseException:
            store.discard()  # nothing is left behind: no empty database file, no key without its ledger
            if key_written:
                Path(key_file).unlink(missing_ok=True)
            raise
        return cls(store, key)

    @classmethod
    def open(
        cls, db: str | os.PathLike, key_file: str | os.PathLike | None = None, trial_id: str | None = None
    ) -> Ledger:
        """Open the ledger ``db``; with ``key_file`` check the key against the commitment; with ``trial_id``
        refuse a ledger of another trial."""
        store = _store.open_store(db)
        store.check_is_ledger()
        ledger = cls(store, None)
        if trial_id is not None and trial_id != ledger.trial_id:
            ledger.close()
            raise LedgerError(
                f"ledger '{ledger.db}' belongs to trial {ledger.trial_id!r}, not {trial_id!r}; "
                "give this trial's ledger"
            )
        if key_file is not None:
            try:
                ledger._key = _key.read_key_file(key_file, ledger.commitment)
            except LedgerError:
                ledger.close()
                raise
            ledger._allocator = Allocator(ledger.design, ledger._key)
        return ledger

    def close(self) -> None:
        """Close the database connection."""
        self._store.close()

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
        store = self._store
        head = json.loads(store.one("SELECT value FROM meta WHERE key = 'head'")["value"])
        last = store.one("SELECT seq, mac FROM entries ORDER BY seq DESC LIMIT 1")
        seq, prev = (0, genesis(key, self.meta["design"])) if last is None else (last["seq"], last["mac"])
        if head["seq"] != seq or head["mac"] != prev:
            raise LedgerError(
                f"ledger '{self.db}' is inconsistent: its head says seq {head['seq']} but the last row is "
                f"seq {seq}; run 'ipstrial ledger verify' and stop allocating"
            )
        row = {**row, "seq": seq + 1, "prev_mac": prev}
        row["mac"] = row_mac(key, row)
        store.execute(
            f"INSERT INTO entries ({_store.COLUMN_LIST}) VALUES ({', '.join('?' * len(_store.COLUMNS))})",
            [row[c] for c in _store.COLUMNS],
        )
        store.execute(
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
            at=row["at"],
            by=row["by"],
            new=new,
        )

    def _history(self) -> History:
        """The allocations so far, counted in the database (inside the allocating transaction)."""
        counts = self._store.query(
            "SELECT strata, stratum, arm, count(*) AS n FROM entries WHERE kind = 'allocation' "
            "GROUP BY strata, stratum, arm"
        )
        return History.from_counts(self.design, counts)

    def allocate(self, participant: str, strata: dict | None = None, by: str | None = None) -> Allocation:
        """Allocate ``participant`` with factor values ``strata``, in one transaction under the writer lock.

        Already allocated: the original allocation is returned (``new=False``) and nothing is drawn; a
        different stratum than the recorded one is refused. Otherwise the design's scheme draws the arm
        with the key from the allocations recorded so far (:mod:`ipstrial.ledger._schemes`), and the row is
        appended to the chain.
        """
        key = self._need_key("allocate")
        assert self._allocator is not None
        participant = check_participant(participant)
        values = self.design.check_strata(strata or {})
        stratum = self.design.stratum_label(values)
        by = _user(by)
        with self._store.transaction():
            old = self._store.one(
                f"SELECT {_store.COLUMN_LIST} FROM entries WHERE participant = ? AND kind = 'allocation'",
                (participant,),
            )
            if old is not None:
                if old["stratum"] != stratum:
                    raise LedgerError(
                        f"participant {participant!r} was allocated (seq {old['seq']}) in stratum "
                        f"{old['stratum']!r}, not {stratum!r}; an allocation never changes: check the values"
                    )
                return self._allocation(old, new=False)
            arm = self._allocator.next_arm(self._history(), values, stratum)
            row = {
                "kind": "allocation",
                "participant": participant,
                "stratum": stratum,
                "strata": canonical_json(values),
                "arm": self.design.arms[arm],
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
        with self._store.transaction():
            kinds = {
                r["kind"]
                for r in self._store.query("SELECT kind FROM entries WHERE participant = ?", (participant,))
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
                "reason": reason,
                "at": _now(),
                "by": by,
            }
            row = self._append(key, row)
        return row["seq"]

    # -- reading ---------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """Every entry of the chain, in seq order."""
        return self._store.rows()

    def read_meta(self) -> dict[str, str]:
        """The ``meta`` table as it is now (the head moves with every row)."""
        return self._store.read_meta()

    def status(self) -> dict:
        """Counts of allocations by stratum and arm, and of events by kind.

        Returns ``{"trial_id", "scheme", "allocations", "by_stratum": {stratum: {arm: n}}, "events": {kind:
        n}}``. Nothing about what comes next: the counts are what the past allocations show anyone who saw
        them (no block number, position or size is stored).
        """
        by_stratum: dict[str, dict[str, int]] = {}
        for r in self._store.query(
            "SELECT stratum, arm, count(*) AS n FROM entries WHERE kind = 'allocation' GROUP BY stratum, arm"
        ):
            by_stratum.setdefault(r["stratum"], dict.fromkeys(self.design.arms, 0))[r["arm"]] = int(r["n"])
        events = dict.fromkeys(EVENT_KINDS, 0)
        for r in self._store.query(
            "SELECT kind, count(*) AS n FROM entries WHERE kind != 'allocation' GROUP BY kind"
        ):
            events[r["kind"]] = int(r["n"])
        total = sum(sum(v.values()) for v in by_stratum.values())
        return {
            "trial_id": self.trial_id,
            "scheme": self.design.scheme,
            "allocations": total,
            "by_stratum": dict(sorted(by_stratum.items())),
            "events": events,
        }

    def export(self, path: str | os.PathLike) -> dict:
        """Write the allocations as CSV with their provenance; see :func:`ipstrial.ledger._export.export`."""
        from ipstrial.ledger._export import export

        return export(self, path)

    def verify(self, key_file: str | os.PathLike | None = None):  # noqa: ANN201 - a VerifyReport
        """Check the ledger; see :func:`ipstrial.ledger._verify.verify`."""
        from ipstrial.ledger._verify import verify

        return verify(self, key_file)
