"""Exceptions raised by :mod:`ipstrial` and the :class:`Problem` record used to report bad input data.

Every error the package raises on purpose derives from :class:`IpstrialError`.  The errors that are about
the values a user passed in also derive from :class:`ValueError`, so code that already catches
``ValueError`` keeps working.

:class:`TrialDataError` carries *all* the problems found in a participant-level data set at once (one
:class:`Problem` per problem, each naming the column, some offending participant ids, how many rows
offend and what to do about it), so that a user can fix the data in one pass instead of meeting the
problems one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DesignError",
    "EstimationError",
    "IpstrialError",
    "LedgerError",
    "MemoryBudgetError",
    "ParameterError",
    "Participants",
    "PlanError",
    "Problem",
    "TrialDataError",
    "offending_ids",
]


class IpstrialError(Exception):
    """Base class of every error raised on purpose by :mod:`ipstrial`."""


@dataclass(frozen=True)
class Problem:
    """One problem found in the input data.

    Attributes
    ----------
    column:
        The column the problem is about, or ``None`` when it concerns the data set as a whole.
    message:
        What is wrong, e.g. ``"3 negative values"``.
    fix:
        What the user should do about it.
    ids:
        Up to five offending participant ids, as strings (values of the id column).
    count:
        How many rows offend in total (may exceed ``len(ids)``).
    positions:
        True when the data have no id column and ``ids`` are 0-based row positions (``df.iloc``);
        the message then says "rows at positions ..." instead of "participant ids ...".
    """

    column: str | None
    message: str
    fix: str
    ids: tuple[str, ...] = ()
    count: int = 0
    positions: bool = False

    def __post_init__(self) -> None:
        """Normalise ``ids`` to a tuple of strings and ``count`` to a plain int."""
        if isinstance(self.ids, str):
            object.__setattr__(self, "ids", (self.ids,))
        else:
            object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "positions", bool(self.positions))

    def __str__(self) -> str:
        """Render the problem on one line: column, message, offending ids and the fix."""
        text = self.message.rstrip().rstrip(".")
        if self.column is not None:
            text = f"column {self.column!r}: {text}"
        if self.ids:
            if self.positions:
                noun = "row at position" if len(self.ids) == 1 else "rows at positions"
            else:
                noun = "participant id" if len(self.ids) == 1 else "participant ids"
            listed = ", ".join(self.ids)
            more = max(self.count, len(self.ids)) - len(self.ids)
            if more > 0:
                text += f" (e.g. {noun} {listed}, and {more} more)"
            else:
                text += f" ({noun} {listed})"
        text += "."
        fix = self.fix.strip()
        if fix:
            if not fix.endswith((".", "!", "?")):
                fix += "."
            text += f" Fix: {fix}"
        return text


class TrialDataError(IpstrialError, ValueError):
    """The participant-level trial data break the data contract.

    Constructed from a sequence of :class:`Problem` (or a single one) or from a plain message.  The
    problems are available as ``.problems``; ``str()`` lists every one of them, numbered.
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: Sequence[Problem] | Iterable[Problem] | Problem | str) -> None:
        """Store the problems and build the numbered message listing all of them."""
        if isinstance(problems, str):
            self.problems = (Problem(column=None, message=problems, fix=""),)
            message = problems
        else:
            if isinstance(problems, Problem):
                problems = (problems,)
            self.problems = tuple(problems)
            for problem in self.problems:
                if not isinstance(problem, Problem):
                    raise TypeError(
                        f"TrialDataError expects Problem objects or a str, got {type(problem).__name__}"
                    )
            message = self._render(self.problems)
        super().__init__(message)

    @staticmethod
    def _render(problems: tuple[Problem, ...]) -> str:
        """Return the header line and one numbered line per problem."""
        n = len(problems)
        header = f"{n} problem{'' if n == 1 else 's'} in the trial data"
        if n == 0:
            return header + "."
        lines = [header + ":"]
        lines.extend(f"  {i}. {problem}" for i, problem in enumerate(problems, start=1))
        return "\n".join(lines)


class DesignError(IpstrialError, ValueError):
    """Bad design parameters, e.g. impossible randomisation block sizes."""


class LedgerError(IpstrialError, ValueError):
    """An allocation ledger (:mod:`ipstrial.ledger`) refused an operation: a bad participant id or stratum
    value, a wrong or unsafe key file, a ledger of another trial or format version, a database that cannot
    be opened, or a participant not yet allocated. The message names the value and the fix."""


class EstimationError(IpstrialError, ValueError):
    """An estimate is undefined for the data given (e.g. an arm without any events)."""


class ParameterError(IpstrialError, ValueError, TypeError):
    """An argument that is not data is out of range or of the wrong type (``alpha="0.05"``, ``m=1``).

    It is both a :class:`ValueError` and a :class:`TypeError`, so code that catches either keeps working.
    """


class PlanError(IpstrialError, ValueError):
    """A pre-specified analysis plan (``analysis/*.toml``), its data file or an expected-results file is
    unusable: an unknown or missing key, a value of the wrong type, a column not in the data, a data file
    whose SHA-256 differs from the plan's, an expected file written for another plan.

    The message names the file, where in it the mistake is (``[settings]``, ``[[analysis]] 3 'itt_primary'``),
    what is allowed and what to do.
    """


class MemoryBudgetError(IpstrialError, MemoryError):
    """A call would need more memory than the budget allows (:func:`ipstrial.set_memory_budget`).

    Raised before any large array is allocated; the message gives the estimate and the fix.
    """


@dataclass(frozen=True, eq=False)
class Participants:
    """Who the rows of a data set are, for messages: id values, or 0-based row positions.

    ``values`` holds one entry per row (the id column's values, or the row positions when the data have
    no id column); ``column`` is the id column, or ``None`` for positions. Only the ids a message shows
    are turned into text, so this costs nothing for large data.
    """

    values: np.ndarray
    column: str | None = None

    @classmethod
    def of(cls, data: pd.DataFrame, id: str | None) -> Participants:
        """The participants of ``data``: the values of column ``id``, or row positions when ``id`` is None."""
        if id is None:
            return cls(np.arange(len(data)), None)
        return cls(data[id].to_numpy(dtype=object), id)

    @property
    def positions(self) -> bool:
        """True when the rows are known by position (no id column)."""
        return self.column is None

    @property
    def labels(self) -> np.ndarray:
        """Every participant as text (for small data; messages use :meth:`offending`)."""
        return np.array([_id_text(v) for v in self.values], dtype=object)

    def __len__(self) -> int:
        return len(self.values)

    def take(self, rows: np.ndarray | pd.Series | Sequence[bool]) -> Participants:
        """The participants of a subset of rows (a boolean mask or integer positions)."""
        return Participants(self.values[np.asarray(rows)], self.column)

    def offending(self, mask: np.ndarray | pd.Series | Sequence[bool], limit: int = 5) -> dict[str, Any]:
        """``ids``, ``count`` and ``positions`` of the rows flagged by ``mask``, as keywords of a Problem."""
        shown, count = offending_ids(self.values, mask, limit)
        return {"ids": shown, "count": count, "positions": self.positions}


def _id_text(value: object) -> str:
    """An id value as text: whole floats without ``.0`` (ids read from a CSV with gaps become floats)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "<missing id>"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def offending_ids(
    ids: pd.Series, mask: pd.Series | np.ndarray | Sequence[bool], limit: int = 5
) -> tuple[tuple[str, ...], int]:
    """Return the first ``limit`` ids (as ``str``) where ``mask`` is true, and how many are true in total.

    ``mask`` is taken position by position (a boolean Series is not aligned on the index); missing
    values in a nullable boolean mask count as false.
    """
    if isinstance(mask, pd.Series):
        flags = mask.astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        flags = np.asarray(mask, dtype=bool)
    values = ids.to_numpy() if isinstance(ids, pd.Series) else np.asarray(ids)
    if flags.shape != (len(values),):
        raise ValueError(f"mask has shape {flags.shape}, expected ({len(values)},) to match the ids")
    selected = values[np.flatnonzero(flags)[: max(limit, 0)]]
    return tuple(_id_text(v) for v in selected), int(flags.sum())
