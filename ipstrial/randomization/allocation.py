r"""The allocation list: the output of every randomization scheme, and its export with provenance.

An :class:`AllocationList` can be handed to a trial unit as CSV or JSON. Both exports carry the
provenance needed to check and regenerate the list: the scheme and its parameters, the integer seed
(entropy) that regenerates it, a note, the ipstrial version, the number of allocations, the columns
and their types, and the SHA-256 of it all. No creation time is written, so the same inputs give
byte-identical files.

The SHA-256 (:attr:`AllocationList.sha256`) covers the provenance as well as the allocations: it is
the hash of the UTF-8 bytes of the *canonical text* (defined once, in :func:`_canonical`), which is
the CSV export without its ``# sha256:`` line, i.e. every other ``# key: value`` provenance line
(values in JSON, in the order written) followed by the table, ``frame.to_csv(index=False,
lineterminator="\n")`` with a non-default index (e.g. participant ids) as the first column. Any edit
of a provenance value (scheme, a parameter, the seed, the note, the version, ...) or of an allocation
changes the hash, and :meth:`AllocationList.from_csv` / :meth:`AllocationList.from_json` refuse the
export. The JSON export of a list has the same hash as its CSV export. To check an export with
standard tools (the output must equal the recorded ``sha256``)::

    grep -v '^# sha256: ' list.csv | sha256sum

    python3 - list.json <<'EOF'
    import csv, hashlib, io, json, sys
    export = json.load(open(sys.argv[1], encoding="utf-8"))
    p, text = export["provenance"], io.StringIO()
    text.writelines(f"# {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in p.items() if k != "sha256")
    table = csv.writer(text, lineterminator="\n")
    table.writerow(p["columns"])
    table.writerows([row[c] for c in p["columns"]] for row in export["allocations"])
    print(hashlib.sha256(text.getvalue().encode("utf-8")).hexdigest())
    EOF

The readers take the text of an export or the path of a file. A ``str`` is read as *text* when it is
empty or blank, contains a line break, or starts (after white space) with ``{`` or ``#``; any other
``str``, and any :class:`os.PathLike`, is a path (pass a :class:`pathlib.Path` to force a path). A
UTF-8 byte-order mark and CRLF line ends are not part of the content and are ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipstrial._columns import plural
from ipstrial.errors import DesignError, TrialDataError

__all__ = ["AllocationList"]

_FORMAT = "ipstrial allocation list 2"
_OLD_FORMATS = ("ipstrial allocation list 1",)  # its SHA-256 covered the rows only
# the type of every provenance field (in the order written); sha256 comes last
_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "scheme": (str,),
    "parameters": (dict,),
    "seed": (int, type(None)),
    "regenerable": (bool,),
    "note": (str,),
    "ipstrial_version": (str,),
    "n": (int,),
    "columns": (list,),
    "dtypes": (dict,),
    "index": (dict, type(None)),
    "sha256": (str,),
}
_DO_NOT_USE = (
    "Do not use this list: go back to the original export, or regenerate the list from its scheme, "
    "parameters and seed (AllocationList.regenerate)"
)
_SCHEMES = ("simple", "biased_coin", "permuted_blocks", "stratified_blocks", "minimization")


def _jsonable(value: Any, where: str) -> Any:
    """``value`` with numpy scalars/arrays and tuples turned into JSON types (dict keys as str)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_jsonable(v, where) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"{where} holds {value!r} of type {type(value).__name__}, which cannot be written to the provenance; "
        "scheme parameters must be numbers, strings, lists or dicts of them"
    )


def _is_default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None


def _looks_like_text(value: str) -> bool:
    """True when ``value`` is taken as the text of an export rather than a path (see the module docstring)."""
    return not value.strip() or "\n" in value or "\r" in value or value.lstrip().startswith(("{", "#"))


def _read_text(text_or_path: str | os.PathLike[str], kind: str) -> str:
    """The text of an export: ``text_or_path`` itself when it looks like text, else the file it names.

    ``kind`` ("CSV" or "JSON") is used in the messages. A missing file, a directory, an unreadable file
    and a file that is not UTF-8 text are :class:`TrialDataError` saying so. A leading byte-order mark
    is dropped and CRLF line ends become LF.
    """
    writer = f"AllocationList.to_{kind.lower()}"
    if isinstance(text_or_path, str) and _looks_like_text(text_or_path):
        text = text_or_path
    elif isinstance(text_or_path, str | os.PathLike):
        path = Path(text_or_path)
        if path.is_dir():
            raise TrialDataError(
                f"{str(path)!r} is a directory, not an allocation-list export; give the path of the {kind} "
                f"file written by {writer}"
            )
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise TrialDataError(
                f"the allocation-list file {str(path)!r} was not found (a string without a line break that "
                "does not start with '{' or '#' is read as a path); check the path, or pass the text of "
                "the export"
            ) from exc
        except PermissionError as exc:
            raise TrialDataError(
                f"cannot read the allocation-list file {str(path)!r} (permission denied); make it readable "
                "or copy it somewhere you can read"
            ) from exc
        except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
            reason = getattr(exc, "strerror", None) or exc
            raise TrialDataError(
                f"cannot read the allocation-list file {str(path)!r} ({reason}); check the path"
            ) from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TrialDataError(
                f"the file {str(path)!r} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                f"{exc.start}), so it is not an allocation-list export; give the {kind} file written by "
                f"{writer}"
            ) from exc
    else:
        raise TypeError(
            f"expected the text of an allocation-list export or a path, got {type(text_or_path).__name__}"
        )
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        raise TrialDataError(
            f"the allocation-list {kind} text is empty (or only white space); pass the text or the path of "
            f"an export written by {writer}"
        )
    return text


def _write(path: str | os.PathLike[str] | None, text: str) -> None:
    if path is not None:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)


@dataclass(frozen=True, eq=False)
class AllocationList:
    """A generated allocation sequence.

    ``frame`` has one row per allocation, in order of arrival: ``sequence`` (1-based),
    ``stratum`` (label, ``"all"`` when unstratified), ``block_id`` (1-based, unique in the
    list), ``block_size``, ``position`` (1-based place in the block) and ``arm``. Schemes without
    blocks (simple, biased coin) set ``block_id``, ``block_size`` and ``position`` to 0.

    ``seed`` is the integer entropy that regenerates the list with the recorded ``scheme`` and
    ``parameters`` (:meth:`regenerate`); it is ``None`` when the list was drawn from a numpy
    Generator (or a spawned SeedSequence) passed by the caller, and then the list cannot be
    regenerated from the record.

    ``recorded`` is set on a list read from an export (:meth:`from_csv`, :meth:`from_json`): the
    ``ipstrial_version`` and ``note`` written there, kept so that the list's provenance, and hence
    its :attr:`sha256`, stay those of the export. For a new list it is ``None``: the provenance
    records the running version and the standard note.
    """

    frame: pd.DataFrame
    scheme: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    recorded: dict[str, str] | None = field(default=None, repr=False)

    @property
    def arms(self) -> np.ndarray:
        """The allocated arm labels in order of arrival."""
        return self.frame["arm"].to_numpy()

    def __len__(self) -> int:
        return len(self.frame)

    # ------------------------------------------------------------------ canonical form and hash
    def _index_record(self) -> dict[str, Any] | None:
        index = self.frame.index
        if _is_default_index(index):
            return None
        name = index.name
        column = str(name) if name is not None and str(name) not in self.frame.columns else "index"
        if column in self.frame.columns:
            raise DesignError(
                "the frame has a column named 'index' and an unnamed index; rename one before export"
            )
        return {"column": column, "name": _jsonable(name, "the index name"), "dtype": str(index.dtype)}

    def _table(self) -> pd.DataFrame:
        record = self._index_record()
        table = self.frame.copy()
        if record is not None:
            table.index = table.index.rename(record["column"])
            table = table.reset_index()
        else:
            table = table.reset_index(drop=True)
        return table

    def _canonical_csv(self, table: pd.DataFrame | None = None) -> str:
        """The allocations as CSV: the table part of the CSV export, and of the hashed text."""
        return (self._table() if table is None else table).to_csv(index=False, lineterminator="\n")

    def _record(self, table: pd.DataFrame | None = None) -> dict[str, Any]:
        """The provenance without the hash, in the order written."""
        table = self._table() if table is None else table
        record: dict[str, Any] = {
            "format": _FORMAT,
            "scheme": self.scheme,
            "parameters": _jsonable(self.parameters, "parameters"),
            "seed": None if self.seed is None else int(self.seed),
        }
        if self.seed is None:
            record["regenerable"] = False
            note = (
                "no integer seed was recorded (the list was drawn from a numpy Generator or a spawned "
                "SeedSequence); it cannot be regenerated from this record"
            )
        else:
            record["regenerable"] = True
            note = (
                f"ipstrial.randomization.{self.scheme} with these parameters and seed regenerates this list "
                "(AllocationList.regenerate)"
            )
        from ipstrial._version import __version__

        recorded = self.recorded or {}
        record["note"] = str(recorded.get("note", note))
        record["ipstrial_version"] = str(recorded.get("ipstrial_version", __version__))
        record["n"] = len(self.frame)
        record["columns"] = [str(c) for c in table.columns]
        record["dtypes"] = {str(c): str(t) for c, t in table.dtypes.items()}
        record["index"] = self._index_record()
        return record

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical text: the provenance (without the hash) and the allocations.

        The canonical text is the CSV export without its ``# sha256:`` line (see the module docstring
        and :func:`_canonical`), encoded as UTF-8 (FIPS 180-4 SHA-256 via :mod:`hashlib`), so any
        change of the scheme, parameters, seed, note, version or of an allocation changes it.
        """
        table = self._table()
        return _digest(_canonical(self._record(table), self._canonical_csv(table)))

    def provenance(self) -> dict[str, Any]:
        """The provenance written with every export (no creation time, so exports are reproducible)."""
        return self._export()[0]

    def _export(self) -> tuple[dict[str, Any], pd.DataFrame, str]:
        """What an export writes, each built once: the provenance with its hash, the table and its CSV."""
        table = self._table()
        table_csv = self._canonical_csv(table)
        record = self._record(table)
        record["sha256"] = _digest(_canonical(record, table_csv))
        return record, table, table_csv

    def _json_rows(self, table: pd.DataFrame | None = None) -> list[dict[str, Any]]:
        """The allocations as JSON records (missing values as ``None``), as :meth:`to_json` writes them."""
        table = self._table() if table is None else table
        columns = [str(c) for c in table.columns]
        values = [[None if _is_missing(v) else v for v in table[c].tolist()] for c in table.columns]
        return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]

    # ------------------------------------------------------------------ export
    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The list as CSV text preceded by ``# key: value`` provenance lines (values in JSON).

        Lines are separated by ``\\n``; the ``# sha256:`` line (the last provenance line) records the
        SHA-256 of all the other lines (:attr:`sha256`). Written to ``path`` (UTF-8) when given; the
        text is returned either way. The same list gives identical bytes.
        """
        record, _, table_csv = self._export()
        text = _header(record) + table_csv
        _write(path, text)
        return text

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The list as JSON: ``{"provenance": {...}, "allocations": [{column: value, ...}, ...]}``.

        Missing values are written as ``null``. Written to ``path`` (UTF-8) when given; the text is
        returned either way. The same list gives identical bytes.
        """
        # one provenance entry and one allocation per line: readable, diffable and valid JSON
        record, table, _ = self._export()
        entries = ",\n".join(f"  {_dump(k)}: {_dump(v)}" for k, v in record.items())
        rows = ",\n".join(f"  {_dump(row)}" for row in self._json_rows(table))
        text = f'{{\n "provenance": {{\n{entries}\n }},\n "allocations": [\n{rows}\n ]\n}}\n'
        _write(path, text)
        return text

    # ------------------------------------------------------------------ import
    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> AllocationList:
        """Read a :meth:`to_json` export (its text or a file path, see the module docstring) and verify it.

        Raises :class:`~ipstrial.errors.TrialDataError` when the text is not an allocation-list JSON
        export (empty, CSV, truncated, a missing file, ...) or when the provenance or the allocations do
        not match the recorded SHA-256 (the export was altered).
        """
        text = _read_text(text_or_path, "JSON")
        if text.lstrip().startswith("#"):
            raise TrialDataError(
                "this is CSV text (it starts with '#', as AllocationList.to_csv writes), not a JSON export; "
                "read it with AllocationList.from_csv"
            )
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            if text.lstrip().startswith("{"):
                raise TrialDataError(
                    f"the allocation-list JSON is incomplete or malformed ({where}): it was truncated or "
                    f"altered. {_DO_NOT_USE}"
                ) from exc
            raise TrialDataError(
                f"not an ipstrial allocation-list JSON export: the text is not JSON ({where}); pass the text "
                "or the path of a file written by AllocationList.to_json"
            ) from exc
        if not isinstance(document, dict) or "provenance" not in document or "allocations" not in document:
            raise TrialDataError(
                "not an ipstrial allocation-list JSON export: expected an object with keys "
                "'provenance' and 'allocations' (written by AllocationList.to_json)"
            )
        provenance = document["provenance"]
        _check_provenance(provenance)
        rows, columns = document["allocations"], provenance["columns"]
        if not isinstance(rows, list) or any(
            not isinstance(row, dict) or list(row) != columns for row in rows
        ):
            raise TrialDataError(
                f"the allocations are not a list of records with the columns {columns} recorded in the "
                f"provenance; the list was altered. {_DO_NOT_USE}"
            )
        _check_count(len(rows), provenance)
        if rows:
            table = pd.DataFrame.from_records(rows, columns=columns)
        else:
            table = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        alloc = _rebuild(table, provenance)
        record, table, table_csv = alloc._export()
        _check_hash(_canonical(provenance, table_csv), provenance)
        written = [(f"provenance {key!r}", value) for key, value in provenance.items()]
        written += [(f"allocation {k + 1}", row) for k, row in enumerate(rows)]
        expected = [(f"provenance {key!r}", value) for key, value in record.items()]
        expected += [(f"allocation {k + 1}", row) for k, row in enumerate(alloc._json_rows(table))]
        _check_consistent(((w, _dump(a)), (e, _dump(b))) for (w, a), (e, b) in _pairs(written, expected))
        return alloc

    @classmethod
    def from_csv(cls, text_or_path: str | os.PathLike[str]) -> AllocationList:
        """Read a :meth:`to_csv` export (its text or a file path, see the module docstring) and verify it.

        Raises :class:`~ipstrial.errors.TrialDataError` when the text is not an allocation-list CSV
        export (empty, JSON, without the ``#`` provenance lines or the table, a missing file, ...) or
        when the provenance or the allocations do not match the recorded SHA-256 (the export was
        altered).
        """
        text = _read_text(text_or_path, "CSV")
        if text.lstrip().startswith("{"):
            raise TrialDataError(
                "this is JSON text (it starts with '{'), not a CSV export; read it with "
                "AllocationList.from_json"
            )
        lines = text.splitlines(keepends=True)
        provenance: dict[str, Any] = {}
        hashed: list[str] = []  # the lines the SHA-256 covers: all but the '# sha256:' line
        k = 0
        while k < len(lines) and lines[k].startswith("# "):
            key, sep, value = lines[k][2:].rstrip("\r\n").partition(": ")
            if not sep:
                raise TrialDataError(
                    f"provenance line {k + 1} is not '# key: value': {lines[k]!r}; the export was truncated "
                    f"or altered. {_DO_NOT_USE}"
                )
            try:
                provenance[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise TrialDataError(
                    f"provenance line {k + 1} ({key}) is not valid JSON (column {exc.colno + len(key) + 4}: "
                    f"{exc.msg}); the export was truncated or altered. {_DO_NOT_USE}"
                ) from exc
            if key != "sha256":
                hashed.append(lines[k])
            k += 1
        if not provenance:
            raise TrialDataError(
                "not an ipstrial allocation-list CSV export: it does not start with the '# key: value' "
                "provenance lines that AllocationList.to_csv writes (a plain CSV cannot be verified); use "
                "the original export"
            )
        _check_provenance(provenance)
        body = "".join(lines[k:])
        if not body.strip():
            raise TrialDataError(
                f"the CSV export has its provenance lines but no table after them (it records "
                f"n = {provenance['n']} allocations): it was truncated; use the original export"
            )
        try:
            table = pd.read_csv(StringIO(body), dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise TrialDataError(
                f"the table of the CSV export cannot be read ({str(exc).strip()}); the export was altered. "
                f"{_DO_NOT_USE}"
            ) from exc
        if [str(c) for c in table.columns] != provenance["columns"]:
            raise TrialDataError(
                f"the CSV columns {list(table.columns)} differ from those recorded in the provenance "
                f"{provenance['columns']}; the list was altered. {_DO_NOT_USE}"
            )
        _check_count(len(table), provenance)
        _check_hash("".join(hashed) + body, provenance)
        alloc = _rebuild(table, provenance)
        exported = alloc.to_csv()
        if text != exported:  # name the first line that differs
            written = list(enumerate(lines, start=1))
            expected = list(enumerate(exported.splitlines(keepends=True), start=1))
            _check_consistent(
                ((f"line {i}", a), (f"line {j}", b)) for (i, a), (j, b) in _pairs(written, expected)
            )
        return alloc

    # ------------------------------------------------------------------ regeneration
    def regenerate(self, strata: pd.DataFrame | None = None) -> AllocationList:
        """Call the scheme again with the recorded parameters and seed and return the new list.

        For a list that was not altered, ``regenerate().frame`` equals ``frame`` and the hashes
        agree (``regenerate().sha256 == sha256``): this proves the list is the one the seed gives.
        ``stratified_blocks`` and ``minimization`` need the participants' factor columns in order of
        arrival (the ``strata`` / ``factors`` frame given to the scheme): pass it as ``strata``.

        Raises :class:`~ipstrial.errors.DesignError` when the list has no seed (drawn from a
        caller's Generator), the scheme is unknown, or ``strata`` is needed but missing.
        """
        if self.seed is None:
            raise DesignError(
                f"this {self.scheme} list has no recorded seed (it was drawn from a numpy Generator or a "
                "spawned SeedSequence), so it cannot be regenerated; generate lists with an integer seed to "
                "make them reproducible"
            )
        p = self.parameters
        seed = int(self.seed)
        if self.scheme == "simple":
            from ipstrial.randomization.simple import simple

            return simple(p["n"], p["arms"], ratio=p.get("ratio"), seed=seed)
        if self.scheme == "biased_coin":
            from ipstrial.randomization.simple import biased_coin

            return biased_coin(p["n"], p["arms"], p=p["p"], seed=seed)
        if self.scheme == "permuted_blocks":
            from ipstrial.randomization.blocks import permuted_blocks

            return permuted_blocks(p["n"], p["arms"], p["block_sizes"], ratio=p.get("ratio"), seed=seed)
        if self.scheme in ("stratified_blocks", "minimization"):
            factors = self._factor_frame(strata)
            if self.scheme == "stratified_blocks":
                from ipstrial.randomization.blocks import stratified_blocks

                return stratified_blocks(
                    factors, p["arms"], p["block_sizes"], ratio=p.get("ratio"), seed=seed
                )
            from ipstrial.randomization.minimization import minimization

            options = {key: p[key] for key in ("weights", "p", "imbalance", "ratio") if key in p}
            return minimization(factors, p["arms"], **options, seed=seed)
        raise DesignError(
            f"cannot regenerate a list of unknown scheme {self.scheme!r}; "
            f"known schemes: {', '.join(_SCHEMES)}"
        )

    def _factor_frame(self, strata: pd.DataFrame | None) -> pd.DataFrame:
        names = self.parameters.get("factors")
        if not isinstance(strata, pd.DataFrame):
            wanted = f" with columns {names}" if names else ""
            raise DesignError(
                f"regenerating a {self.scheme} list needs the participants' factor columns in order of "
                f"arrival: pass regenerate(strata=<DataFrame{wanted}>), the frame given to the scheme"
            )
        if not names:
            return strata
        missing = [c for c in names if c not in strata.columns]
        if missing:
            raise DesignError(
                f"strata lacks the factor columns {missing} recorded for this {self.scheme} list "
                f"(recorded factors: {names}); pass the frame given to the scheme"
            )
        return strata[list(names)]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _header(provenance: dict[str, Any]) -> str:
    """The ``# key: value`` provenance lines of a CSV export (values in JSON), in the order given."""
    return "".join(f"# {key}: {_dump(value)}\n" for key, value in provenance.items())


def _canonical(provenance: dict[str, Any], table_csv: str) -> str:
    """THE text whose UTF-8 bytes :attr:`AllocationList.sha256` hashes: the one definition.

    It is the provenance lines of the CSV export without the ``sha256`` entry, followed by the
    canonical CSV of the allocations (``table_csv``), i.e. the CSV export without its
    ``# sha256:`` line.
    """
    return _header({key: value for key, value in provenance.items() if key != "sha256"}) + table_csv


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_hash(canonical: str, provenance: dict[str, Any]) -> None:
    """Refuse an export whose canonical text does not have the recorded SHA-256."""
    actual = _digest(canonical)
    if actual != provenance["sha256"]:
        raise TrialDataError(
            f"the allocation list was altered: the SHA-256 of its provenance and allocations is {actual} "
            f"but the export records {provenance['sha256']}. {_DO_NOT_USE}"
        )


def _check_count(rows: int, provenance: dict[str, Any]) -> None:
    if rows != provenance["n"]:
        raise TrialDataError(
            f"the export has {plural(rows, 'allocation')} but its provenance records "
            f"n = {provenance['n']}: it was truncated or altered. {_DO_NOT_USE}"
        )


def _pairs(written: list[Any], expected: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Pairs of ``written`` and ``expected`` items, padded with ``(label, None)`` to the longer one."""
    for k in range(max(len(written), len(expected))):
        yield (
            written[k] if k < len(written) else (f"item {k + 1}", None),
            expected[k] if k < len(expected) else (f"item {k + 1}", None),
        )


def _check_consistent(pairs: Iterator[tuple[tuple[str, Any], tuple[str, Any]]]) -> None:
    """Refuse an export whose hash matches but that differs from what ipstrial writes for the list read.

    That happens only when the SHA-256 was recomputed after an edit, or the file was not written by
    :meth:`AllocationList.to_csv` / :meth:`AllocationList.to_json`.
    """
    for (where, written), (_, expected) in pairs:
        if written != expected:
            shown, wanted = (
                "nothing" if text is None else repr(text if len(text) <= 80 else text[:80] + "...")
                for text in (written, expected)
            )
            raise TrialDataError(
                f"the export is not the one ipstrial writes for these allocations: {where} is {shown} where "
                f"it should be {wanted}; the list was altered (its SHA-256 recomputed after an edit) or not "
                f"written by ipstrial. {_DO_NOT_USE}"
            )


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_provenance(provenance: Any) -> None:
    """Refuse a provenance that is not of the current format or lacks a field or has one of a wrong type."""
    if isinstance(provenance, dict) and provenance.get("format") in _OLD_FORMATS:
        raise TrialDataError(
            f"this export has the format {provenance['format']!r} of an earlier development version of "
            "ipstrial, whose SHA-256 covered the allocations only, so it cannot be verified; regenerate the "
            "list from its recorded scheme, parameters and seed (AllocationList.regenerate) and export it "
            "again"
        )
    if not isinstance(provenance, dict) or provenance.get("format") != _FORMAT:
        raise TrialDataError(
            f"not an ipstrial allocation-list export: the provenance must have format {_FORMAT!r} "
            "(written by AllocationList.to_csv / to_json)"
        )
    missing = [key for key in _FIELDS if key not in provenance]
    if missing:
        raise TrialDataError(
            f"the provenance of the allocation list lacks {missing}; the file was altered. {_DO_NOT_USE}"
        )
    for key, types in _FIELDS.items():
        value = provenance[key]
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if not wrong and key == "columns":
            wrong = not all(isinstance(c, str) for c in value)
        if not wrong and key == "index" and value is not None:
            wrong = not {"column", "name", "dtype"} <= set(value)
        if wrong:
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise TrialDataError(
                f"the provenance field {key!r} is {value!r}, not a {kinds}; the file was altered. "
                f"{_DO_NOT_USE}"
            )


def _restore(column: pd.Series, dtype: str) -> pd.Series:
    """``column`` (strings from CSV or JSON values) converted back to the recorded ``dtype``."""
    if dtype == "object":
        return column.astype(object).where(column.notna(), np.nan)
    if dtype in ("bool", "boolean"):
        flags = {"True": True, "False": False, True: True, False: False}
        return column.map(lambda v: flags[v] if not _is_missing(v) else pd.NA).astype(dtype)
    if dtype[:1] in ("I", "U", "F"):  # pandas nullable Int64, UInt8, Float64, ...
        return pd.to_numeric(column).astype(dtype)
    return column.astype(dtype)


def _rebuild(table: pd.DataFrame, provenance: dict[str, Any]) -> AllocationList:
    """The list described by an export's table and provenance (not yet verified against its hash)."""
    try:
        for column in table.columns:
            table[column] = _restore(table[column], provenance["dtypes"][column])
        index = provenance["index"]
        frame = table
        if index is not None:
            frame = table.set_index(index["column"])
            frame.index = frame.index.astype(index["dtype"]).rename(index["name"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TrialDataError(
            f"the allocations do not match the column types recorded in the provenance ({exc}); "
            f"the list was altered. {_DO_NOT_USE}"
        ) from exc
    parameters = provenance["parameters"]
    arms = parameters.get("arms")
    if "arm" in frame.columns and isinstance(arms, list) and len({str(a) for a in arms}) == len(arms):
        labels = {str(a): a for a in arms}
        frame["arm"] = frame["arm"].map(lambda v: labels.get(str(v), v)).astype(object)
    recorded = {"ipstrial_version": provenance["ipstrial_version"], "note": provenance["note"]}
    return AllocationList(frame, provenance["scheme"], parameters, provenance["seed"], recorded)
