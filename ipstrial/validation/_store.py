"""A study folder: the finished batches on disk, so that an interrupted study resumes where it stopped.

``out_dir`` holds ``manifest.json`` (the study's arguments: scenario and its parameters, trial size, reps,
seed, estimators, batch size, alpha, fast path, ipstrial version) and one ``batch-NNNNNN.csv`` per finished
batch with its records (:data:`~ipstrial.validation._engine.RECORD_COLUMNS`). A rerun with the same
arguments reads the batches there and runs the others; a folder holding a study with other arguments is
refused, naming them.

Floats are written with 17 significant digits (``%.17g``) and read back with
``float_precision="round_trip"``: 17 significant decimal digits identify every IEEE 754 binary64 number
(IEEE 754-2008, section 5.12.2), so a resumed study has the same bits as an uninterrupted one. Every file is
written under a temporary name, flushed to disk, then moved into place with :func:`os.replace` (atomic), so a
killed run leaves whole files or none.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipstrial._checks import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.synthetic import Scenario

__all__ = ["Store"]

MANIFEST = "manifest.json"
_FORMAT = 1
_BATCH = re.compile(r"batch-(\d{6,})\.csv")
_TEMPORARY = re.compile(r"\.(manifest\.json|batch-\d{6,}\.csv)\.tmp-\d+")
_FIX = "use another folder, or --force (overwrite=True in Python) to delete this study and start over"


def _plain(value: Any) -> Any:
    """A scenario parameter as JSON: tuples become lists (floats keep their repr, which round-trips)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value  # numpy scalars


def scenario_parameters(model: Scenario) -> dict[str, Any]:
    """Every field of the generating model but its free-text ``description`` (which changes no number)."""
    return {
        f.name: _plain(getattr(model, f.name)) for f in dataclasses.fields(model) if f.name != "description"
    }


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:  # interrupted (Ctrl-C) or failed: no half file left behind
        temporary.unlink(missing_ok=True)
        raise


def _differences(there: Mapping[str, Any], here: Mapping[str, Any]) -> list[str]:
    """The arguments that differ, each as ``name X there, Y here`` (scenario parameters by name)."""
    out = []
    for key in dict.fromkeys([*here, *there]):
        a, b = there.get(key), here.get(key)
        if a == b:
            continue
        if key == "scenario_parameters" and isinstance(a, dict) and isinstance(b, dict):
            fields = [k for k in dict.fromkeys([*b, *a]) if a.get(k) != b.get(k)]
            shown = ", ".join(fields[:8]) + (f" and {len(fields) - 8} more" if len(fields) > 8 else "")
            out.append(f"scenario parameters {shown}")
        else:
            out.append(f"{key} {json.dumps(a)} there, {json.dumps(b)} here")
    return out


class Store:
    """The study folder of one study (see the module docstring); made by :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(
        cls,
        out_dir: str | os.PathLike[str],
        arguments: Mapping[str, Any],
        model: Scenario,
        *,
        overwrite: bool,
    ) -> Store:
        """The folder ``out_dir`` for the study of ``arguments``, created or checked before any computation.

        A folder without study files gets the manifest; one with the same manifest is resumed; one with
        another manifest, an unreadable one, or batch files without one is refused unless ``overwrite``,
        which deletes the manifest and the batch files (nothing else).
        """
        if not isinstance(out_dir, str | os.PathLike) or not str(out_dir).strip():
            raise ParameterError(f"out_dir must be the path of a folder, got {out_dir!r}")
        path = Path(out_dir)
        if path.exists() and not path.is_dir():
            raise ParameterError(
                f"out_dir '{out_dir}' exists and is not a folder; give a folder for the study"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(
                f"cannot create out_dir '{out_dir}' ({exc.strerror or exc}); choose a folder you can write to"
            ) from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise ParameterError(
                f"cannot write to out_dir '{out_dir}' (permission denied); choose another folder"
            )
        store = cls(path)
        manifest = {
            "study": "ipstrial.validation",
            "format": _FORMAT,
            **arguments,
            "scenario_parameters": scenario_parameters(model),
        }
        for name in os.listdir(path):  # a half-written file of a killed run
            if _TEMPORARY.fullmatch(name):
                (path / name).unlink(missing_ok=True)
        if overwrite:
            for name in store._batch_files():
                (path / name).unlink()
            (path / MANIFEST).unlink(missing_ok=True)
        if (path / MANIFEST).exists():
            store._check(manifest)
        elif store._batch_files():
            raise ParameterError(
                f"out_dir '{out_dir}' holds batch files but no {MANIFEST}, so their study's arguments are "
                f"unknown; {_FIX}"
            )
        else:
            _write_atomically(path / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        return store

    def _batch_files(self) -> list[str]:
        return sorted(name for name in os.listdir(self.path) if _BATCH.fullmatch(name))

    def _check(self, manifest: Mapping[str, Any]) -> None:
        where = self.path / MANIFEST
        try:
            there = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParameterError(f"cannot read the study manifest '{where}' ({exc}); {_FIX}") from None
        # the manifest written now would read back as this (JSON has no tuples)
        here = json.loads(json.dumps(manifest))
        if not isinstance(there, dict) or there.get("study") != "ipstrial.validation":
            raise ParameterError(f"'{where}' is not the manifest of an ipstrial validation study; {_FIX}")
        differences = _differences(there, here)
        if differences:
            raise ParameterError(
                f"out_dir '{self.path}' holds a study with other arguments ({'; '.join(differences)}); {_FIX}"
            )

    def file(self, index: int) -> Path:
        """The batch file of batch ``index``."""
        return self.path / f"batch-{index:06d}.csv"

    def finished(self, batches: Mapping[int, Sequence[int]]) -> dict[int, pd.DataFrame]:
        """The records of the batches whose file is in the folder, by index (``batches``: index -> reps)."""
        import pandas as pd

        from ipstrial.validation._engine import RECORD_COLUMNS, records_frame

        numbers = ["estimate", "se", "ci_low", "ci_high", "p_value"]
        out = {}
        for index, reps in batches.items():
            path = self.file(index)
            if not path.exists():
                continue
            try:
                frame = pd.read_csv(
                    path,
                    dtype={"rep": "int64", "estimator": str, "contrast": str, "error": str},
                    keep_default_na=False,
                    na_values={c: [""] for c in numbers},
                    float_precision="round_trip",
                )
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                raise ParameterError(
                    f"cannot read the batch file '{path}' ({exc}); delete it to rerun it"
                ) from None
            if list(frame.columns) != list(RECORD_COLUMNS) or sorted(set(frame.rep)) != sorted(reps):
                raise ParameterError(
                    f"the batch file '{path}' does not hold the records of replicates {reps[0]} to "
                    f"{reps[-1]}; delete it to rerun that batch"
                )
            out[index] = records_frame(frame.to_dict("records"))
        return out

    def write(self, index: int, frame: pd.DataFrame) -> None:
        """Write the records of batch ``index`` (atomically)."""
        text = frame.to_csv(index=False, lineterminator="\n", float_format="%.17g")
        _write_atomically(self.file(index), text)
