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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ipstrial.errors import LedgerError
from ipstrial.ledger import _key, _store
from ipstrial.ledger._design import LedgerDesign, canonical_json, hidden_characters
from ipstrial.ledger._schemes import Allocator, History

MAX_PARTICIPANT = 64
MAX_REASON = 500
RECEIPT_HEX = 16  # a receipt's mac digits: 64 bits, which cannot be forged without the key
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
    mac: str = ""

    @property
    def receipt(self) -> str:
        """``seq:mac`` (the first 16 hex digits of the row's mac): give it to whoever records the allocation
        (the case report form); ``verify(receipts=[...])`` later finds the ledger cut back behind it."""
        return f"{self.seq}:{self.mac[:RECEIPT_HEX]}"


def check_participant(participant: object) -> str:
    """A participant id: a non-empty string of at most 64 characters without leading/trailing spaces."""
    if not isinstance(participant, str) or not participant.strip():
        raise LedgerError(f"participant id {participant!r} is empty; give the participant's id, e.g. 'P0001'")
    hidden = hidden_characters(participant)
    if participant != participant.strip() or hidden:
        what = (
            f"characters that cannot be seen ({', '.join(hidden[:5])})"
            if hidden
            else "leading/trailing spaces"
        )
        raise LedgerError(
            f"participant id {participant!r} has {what}; remove them (two ids that look the same must be "
            "the same)"
        )
    if len(participant) > MAX_PARTICIPANT:
        raise LedgerError(
            f"participant id {participant[:20]!r}... has {len(participant)} characters, more than "
            f"{MAX_PARTICIPANT}; use a shorter id"
        )
    return participant


def _user(by: str | None) -> str:
    """Who records a row: ``by``, else the OS user; under ``sudo`` (the allocation account running the
    command for a recruiter, README) the recruiter who ran sudo, as ``recruiter (as account)``."""
    if by is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            raise LedgerError("cannot tell the OS user name; give by='NAME' (--by NAME)") from None
        caller = os.environ.get("SUDO_USER")
        return f"{caller} (as {user})" if caller and caller != user else user
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_PARTICIPANT or hidden_characters(by):
        raise LedgerError(
            f"by {by!r} must be a non-empty name of at most {MAX_PARTICIPANT} visible characters"
        )
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
    the key; ``status``, ``export`` and ``verify`` without a key do not. Whoever reads the key can compute
    the next allocation: only the allocation account may (the README shows recruiters allocating through it
    with sudo). Each write first checks, with the key, the rows this object has not seen (the first write
    all of them) and refuses a ledger that was changed; :attr:`Allocation.receipt` lets ``verify`` find a
    ledger cut back to an earlier copy.
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
        self._forget()

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
            ledger._forget()
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
        """Insert ``row`` (without seq, prev_mac, mac) after the last row, inside the caller's transaction,
        after :meth:`_check_tail` has checked the rows before it."""
        seq, prev = self._checked
        row = {**row, "seq": seq + 1, "prev_mac": prev}
        row["mac"] = row_mac(key, row)
        self._store.execute(
            f"INSERT INTO entries ({_store.COLUMN_LIST}) VALUES ({', '.join('?' * len(_store.COLUMNS))})",
            [row[c] for c in _store.COLUMNS],
        )
        self._store.execute(
            "UPDATE meta SET value = ? WHERE key = 'head'", (head_value(key, row["seq"], row["mac"]),)
        )
        return row

    def _damaged(self, seq: int | None, what: str) -> LedgerError:
        self._forget()
        where = f" at seq {seq}" if seq is not None else ""
        return LedgerError(
            f"ledger '{self.db}' fails its check{where} ({what}); nothing was recorded: stop allocating and "
            "run 'ipstrial ledger verify --key' to see what was changed"
        )

    def _forget(self) -> None:
        """Drop what this process checked: the next write checks the whole chain again."""
        self._checked = (0, genesis(self._key, self.meta["design"])) if self._key is not None else (0, "")
        self._history = History(self.design)

    def _check_tail(self, key: bytes) -> None:
        """Inside the writing transaction: check the rows appended since this process last looked.

        Each row's ``prev_mac`` and ``mac`` (with the key), its seq, its stratum values and arm; the last row
        this process checked is still there, unchanged (else the ledger was edited or rolled back); and the
        head names the last row with a valid HMAC. The allocations are counted into the history the next
        draw uses, so an edited count cannot steer it. The first write of a process checks the whole chain.
        """
        seq, prev = self._checked
        if seq:
            kept = self._store.one("SELECT mac FROM entries WHERE seq = ?", (seq,))
            if kept is None or kept["mac"] != prev:
                raise self._damaged(seq, "a row this process checked was removed or changed")
        for r in self._store.query(
            f"SELECT {_store.COLUMN_LIST} FROM entries WHERE seq > ? ORDER BY seq", (seq,)
        ):
            if r["seq"] != seq + 1:
                raise self._damaged(seq + 1, f"row seq {seq + 1} is missing")
            if r["prev_mac"] != prev or r["mac"] != row_mac(key, r):
                raise self._damaged(r["seq"], "its mac does not match the chain")
            if r["kind"] == "allocation":
                try:
                    values = self.design.check_strata(json.loads(r["strata"]))
                    if r["arm"] not in self.design.arms:
                        raise ValueError(f"arm {r['arm']!r} is not an arm of the design")
                except (LedgerError, TypeError, ValueError) as exc:
                    raise self._damaged(
                        r["seq"], f"its row is not an allocation of this design: {exc}"
                    ) from None
                self._history.add(values, self.design.stratum_label(values), r["arm"])
            seq, prev = r["seq"], r["mac"]
        stored = self._store.one("SELECT value FROM meta WHERE key = 'head'")
        if stored is None or stored["value"] != head_value(key, seq, prev):
            raise self._damaged(None, f"the head record does not name the last row, seq {seq}")
        self._checked = (seq, prev)

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
            mac=row["mac"],
        )

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
        row = self._write(key, lambda: self._allocate_row(key, participant, values, stratum, by))
        if row.get("_old"):
            return self._allocation(row, new=False)
        self._history.add(values, stratum, row["arm"])
        return self._allocation(row, new=True)

    def _write(self, key: bytes, make_row: Callable[[], dict]) -> dict:
        """One write transaction: the unseen rows checked (:meth:`_check_tail`), then ``make_row()`` (which
        appends, or returns an existing row marked ``_old``); on success this object has seen the new row,
        on any failure it forgets what it checked, since the transaction did not happen."""
        try:
            with self._store.transaction():
                self._check_tail(key)
                row = make_row()
        except BaseException:
            self._forget()
            raise
        if not row.get("_old"):
            self._checked = (row["seq"], row["mac"])
        return row

    def _allocate_row(self, key: bytes, participant: str, values: dict, stratum: str, by: str) -> dict:
        """The allocation row of ``participant``: the recorded one (marked ``_old``), else a new one."""
        assert self._allocator is not None
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
            return {**old, "_old": True}
        arm = self._allocator.next_arm(self._history, values, stratum)
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
        return self._append(key, row)

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
        if not isinstance(reason, str) or len(reason) > MAX_REASON or hidden_characters(reason):
            raise LedgerError(
                f"reason {str(reason)[:40]!r} must be text of at most {MAX_REASON} visible characters, "
                "on one line"
            )
        by = _user(by)
        return self._write(key, lambda: self._event_row(key, participant, kind, reason, by))["seq"]

    def _event_row(self, key: bytes, participant: str, kind: str, reason: str, by: str) -> dict:
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
        return self._append(key, row)

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

    def export(self, path: str | os.PathLike, overwrite: bool = False) -> dict:
        """Write the allocations as CSV with their provenance; see :func:`ipstrial.ledger._export.export`."""
        from ipstrial.ledger._export import export

        return export(self, path, overwrite)

    def verify(  # noqa: ANN201 - a VerifyReport
        self,
        key_file: str | os.PathLike | None = None,
        receipts: Sequence[str] = (),
        against: Sequence[str | os.PathLike] = (),
    ):
        """Check the ledger; see :func:`ipstrial.ledger._verify.verify`."""
        from ipstrial.ledger._verify import verify

        return verify(self, key_file, receipts, against)
