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

import numpy as np
import pandas as pd

__all__ = [
    "DesignError",
    "EstimationError",
    "IpstrialError",
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
        Up to five offending participant ids, as strings.
    count:
        How many rows offend in total (may exceed ``len(ids)``).
    """

    column: str | None
    message: str
    fix: str
    ids: tuple[str, ...] = ()
    count: int = 0

    def __post_init__(self) -> None:
        """Normalise ``ids`` to a tuple of strings and ``count`` to a plain int."""
        if isinstance(self.ids, str):
            object.__setattr__(self, "ids", (self.ids,))
        else:
            object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "count", int(self.count))

    def __str__(self) -> str:
        """Render the problem on one line: column, message, offending ids and the fix."""
        text = self.message.rstrip().rstrip(".")
        if self.column is not None:
            text = f"column {self.column!r}: {text}"
        if self.ids:
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


class EstimationError(IpstrialError, ValueError):
    """An estimate is undefined for the data given (e.g. an arm without any events)."""


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
    selected = values[flags]
    return tuple(str(v) for v in selected[: max(limit, 0)]), int(flags.sum())
