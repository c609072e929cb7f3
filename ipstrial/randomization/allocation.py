"""The allocation list: the output of every randomization scheme, and its export with provenance.

An :class:`AllocationList` can be handed to a trial unit as CSV or JSON. Both exports carry the
provenance needed to check and regenerate the list: the scheme and its parameters, the integer seed
(entropy) that regenerates it, the ipstrial version and the SHA-256 of the list. No creation time is
written, so the same inputs give byte-identical files.

The SHA-256 (:attr:`AllocationList.sha256`) is that of the UTF-8 bytes of the *canonical CSV* of
the list: the table part of :meth:`AllocationList.to_csv` (everything after the leading ``#``
lines), i.e. ``frame.to_csv(index=False, lineterminator="\\n")`` with the index written as the
first column when it is not the default ``0..n-1``. Anyone can check a CSV export with
``grep -v '^#' list.csv | sha256sum``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipstrial.errors import DesignError, TrialDataError

__all__ = ["AllocationList"]

_FORMAT = "ipstrial allocation list 1"
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


def _read_text(text_or_path: str | os.PathLike[str], looks_like_text: bool) -> str:
    if isinstance(text_or_path, os.PathLike) or not looks_like_text:
        return Path(text_or_path).read_text(encoding="utf-8")
    return text_or_path


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
    """

    frame: pd.DataFrame
    scheme: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

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

    def _canonical_csv(self) -> str:
        return self._table().to_csv(index=False, lineterminator="\n")

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical CSV of the list, without the provenance header.

        The canonical CSV is ``frame.to_csv(index=False, lineterminator="\\n")`` encoded as UTF-8, with
        a non-default index (e.g. participant ids) written as the first column (FIPS 180-4 SHA-256
        via :mod:`hashlib`).
        """
        return hashlib.sha256(self._canonical_csv().encode("utf-8")).hexdigest()

    def provenance(self) -> dict[str, Any]:
        """The provenance written with every export (no creation time, so exports are reproducible)."""
        table = self._table()
        record: dict[str, Any] = {
            "format": _FORMAT,
            "scheme": self.scheme,
            "parameters": _jsonable(self.parameters, "parameters"),
            "seed": None if self.seed is None else int(self.seed),
        }
        if self.seed is None:
            record["regenerable"] = False
            record["note"] = (
                "no integer seed was recorded (the list was drawn from a numpy Generator or a spawned "
                "SeedSequence); it cannot be regenerated from this record"
            )
        else:
            record["regenerable"] = True
            record["note"] = (
                f"ipstrial.randomization.{self.scheme} with these parameters and seed regenerates this list "
                "(AllocationList.regenerate)"
            )
        from ipstrial._version import __version__

        record["ipstrial_version"] = __version__
        record["n"] = len(self.frame)
        record["columns"] = [str(c) for c in table.columns]
        record["dtypes"] = {str(c): str(t) for c, t in table.dtypes.items()}
        record["index"] = self._index_record()
        record["sha256"] = self.sha256
        return record

    # ------------------------------------------------------------------ export
    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The list as CSV text preceded by ``# key: value`` provenance lines (values in JSON).

        Lines are separated by ``\\n``; the table part is the canonical CSV whose SHA-256 is
        recorded in the ``# sha256:`` line. Written to ``path`` (UTF-8) when given; the text is
        returned either way. The same list gives identical bytes.
        """
        header = "".join(f"# {key}: {_dump(value)}\n" for key, value in self.provenance().items())
        text = header + self._canonical_csv()
        _write(path, text)
        return text

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The list as JSON: ``{"provenance": {...}, "allocations": [{column: value, ...}, ...]}``.

        Missing values are written as ``null``. Written to ``path`` (UTF-8) when given; the text is
        returned either way. The same list gives identical bytes.
        """
        table = self._table()
        columns = [str(c) for c in table.columns]
        values = [[None if _is_missing(v) else v for v in table[c].tolist()] for c in table.columns]
        allocations = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
        # one provenance entry and one allocation per line: readable, diffable and valid JSON
        entries = ",\n".join(f"  {_dump(k)}: {_dump(v)}" for k, v in self.provenance().items())
        rows = ",\n".join(f"  {_dump(row)}" for row in allocations)
        text = f'{{\n "provenance": {{\n{entries}\n }},\n "allocations": [\n{rows}\n ]\n}}\n'
        _write(path, text)
        return text

    # ------------------------------------------------------------------ import
    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> AllocationList:
        """Read a :meth:`to_json` export (text or a file path) and verify its SHA-256.

        Raises :class:`~ipstrial.errors.TrialDataError` when the file is not an allocation-list
        export or when the allocations do not match the recorded hash (the list was altered).
        """
        looks_like_text = isinstance(text_or_path, str) and text_or_path.lstrip().startswith("{")
        text = _read_text(text_or_path, looks_like_text)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrialDataError(f"not an ipstrial allocation-list JSON export: {exc}") from exc
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
                "provenance; the list was altered"
            )
        if rows:
            table = pd.DataFrame.from_records(rows, columns=columns)
        else:
            table = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return _rebuild(table, provenance)

    @classmethod
    def from_csv(cls, text_or_path: str | os.PathLike[str]) -> AllocationList:
        """Read a :meth:`to_csv` export (text or a file path) and verify its SHA-256.

        Raises :class:`~ipstrial.errors.TrialDataError` when the provenance lines are missing or
        when the allocations do not match the recorded hash (the list was altered).
        """
        looks_like_text = isinstance(text_or_path, str) and text_or_path.startswith("#")
        text = _read_text(text_or_path, looks_like_text)
        lines = text.splitlines(keepends=True)
        provenance: dict[str, Any] = {}
        k = 0
        while k < len(lines) and lines[k].startswith("# "):
            key, sep, value = lines[k][2:].rstrip("\r\n").partition(": ")
            if not sep:
                raise TrialDataError(f"provenance line {k + 1} is not '# key: value': {lines[k]!r}")
            try:
                provenance[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise TrialDataError(f"provenance line {k + 1} ({key}) is not valid JSON: {exc}") from exc
            k += 1
        _check_provenance(provenance)
        table = pd.read_csv(StringIO("".join(lines[k:])), dtype=str, keep_default_na=False, na_values=[""])
        if [str(c) for c in table.columns] != provenance["columns"]:
            raise TrialDataError(
                f"the CSV columns {list(table.columns)} differ from those recorded in the provenance "
                f"{provenance['columns']}; the list was altered"
            )
        return _rebuild(table, provenance)

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


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_provenance(provenance: Any) -> None:
    required = ("format", "scheme", "parameters", "seed", "columns", "dtypes", "index", "sha256")
    if not isinstance(provenance, dict) or provenance.get("format") != _FORMAT:
        raise TrialDataError(
            f"not an ipstrial allocation-list export: the provenance must have format {_FORMAT!r} "
            "(written by AllocationList.to_csv / to_json)"
        )
    missing = [key for key in required if key not in provenance]
    if missing:
        raise TrialDataError(f"the provenance of the allocation list lacks {missing}; the file was altered")


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
    try:
        for column in table.columns:
            table[column] = _restore(table[column], provenance["dtypes"][column])
    except (KeyError, TypeError, ValueError) as exc:
        raise TrialDataError(
            f"the allocations do not match the column types recorded in the provenance ({exc}); "
            "the list was altered"
        ) from exc
    index = provenance["index"]
    frame = table
    if index is not None:
        frame = table.set_index(index["column"])
        frame.index = frame.index.astype(index["dtype"]).rename(index["name"])
    parameters = provenance["parameters"]
    arms = parameters.get("arms") if isinstance(parameters, dict) else None
    if "arm" in frame.columns and isinstance(arms, list) and len({str(a) for a in arms}) == len(arms):
        labels = {str(a): a for a in arms}
        frame["arm"] = frame["arm"].map(lambda v: labels.get(str(v), v)).astype(object)
    alloc = AllocationList(frame, provenance["scheme"], parameters, provenance["seed"])
    actual = alloc.sha256
    if actual != provenance["sha256"]:
        raise TrialDataError(
            f"the allocation list was altered: the SHA-256 of its allocations is {actual} but its provenance "
            f"records {provenance['sha256']}. Do not use this list: go back to the original export, or "
            "regenerate the list from its scheme, parameters and seed (AllocationList.regenerate)"
        )
    return alloc
