"""The memory budget of replication, and the one chunk-size policy of the vectorised kernels.

Replication (bootstrap, permutation, re-randomization, imputation, Monte Carlo) is done in chunks of
replicates, so the working memory of a kernel is one chunk, whatever the number of replicates times
participants. What a call keeps (the replicate statistics it returns, e.g. ``n_resamples x arms``
floats) still grows with the replicates: before allocating anything, the kernel estimates what it will
need and :func:`check_memory` refuses a call over the budget with the figure and the fix, instead of
failing half way or swapping the machine to a halt.

The budget is 2 GiB by default; change it with :func:`set_memory_budget` (``"8GiB"``, a number of
bytes, or None for the default), for a block of code with :func:`memory_budget_of`, or for a process
with the environment variable ``IPSTRIAL_MEMORY_BUDGET``.

Chunks: :data:`CHUNK_BYTES` (2 MiB) is the size of one chunk's largest working array; it keeps the work
in the processor's cache (about three times faster than one large array in the bootstrap kernels) and
bounds memory. :func:`chunk_size` turns it into a number of replicates for a given row size, and
:func:`chunks` yields the slices.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ipstrial.errors import MemoryBudgetError, ParameterError

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_BUDGET",
    "check_memory",
    "chunk_size",
    "chunks",
    "format_bytes",
    "memory_budget",
    "memory_budget_of",
    "parse_bytes",
    "set_memory_budget",
]

DEFAULT_BUDGET = 2 * 1024**3
"""The default memory budget of one call: 2 GiB."""

CHUNK_BYTES = 2 * 1024**2
"""The size of one chunk's largest working array (2 MiB)."""

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_bytes(value: int | float | str) -> int:
    """A number of bytes from ``2147483648``, ``"2GiB"``, ``"500 MB"`` (binary and decimal units)."""
    if isinstance(value, bool):
        raise ParameterError(f"a memory size must be a number of bytes or a text like '2GiB', got {value!r}")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", value)
        if not match or match.group(2).lower() not in _UNITS:
            raise ParameterError(
                f"cannot read the memory size {value!r}; write it like '2GiB', '500MB' or a number of bytes"
            )
        number, unit = float(match.group(1)), match.group(2).lower()
    else:
        raise ParameterError(f"a memory size must be a number of bytes or a text like '2GiB', got {value!r}")
    size = number * _UNITS[unit]
    if not math.isfinite(size) or size <= 0:
        raise ParameterError(f"a memory size must be positive, got {value!r}")
    return int(size)


def format_bytes(n: float) -> str:
    """``19971597926 -> '18.6 GiB'``: binary units with three significant figures."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} PiB"  # pragma: no cover


def _initial_budget() -> int:
    text = os.environ.get("IPSTRIAL_MEMORY_BUDGET")
    return DEFAULT_BUDGET if not text else parse_bytes(text)


_budget = [_initial_budget()]


def memory_budget() -> int:
    """The memory budget of one call, in bytes."""
    return _budget[0]


def set_memory_budget(budget: int | float | str | None) -> int:
    """Set the memory budget of one call (``"8GiB"``, bytes, or None for the 2 GiB default).

    Returns the previous budget, in bytes.

    Parameters
    ----------
    budget
        The new budget.
    """
    previous = _budget[0]
    _budget[0] = DEFAULT_BUDGET if budget is None else parse_bytes(budget)
    return previous


@contextmanager
def memory_budget_of(budget: int | float | str | None) -> Iterator[int]:
    """Use another memory budget inside a ``with`` block (restored afterwards)."""
    previous = set_memory_budget(budget)
    try:
        yield _budget[0]
    finally:
        _budget[0] = previous


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse a call that would need more than the budget.

    Parameters
    ----------
    nbytes
        The estimate of what the call will hold at once.
    what
        What needs it, e.g. ``"cost_effectiveness with n_resamples=10**9 and 720 participants"``.
    fix
        What to do instead, e.g. ``"use fewer replicates (n_resamples=5000 is plenty for a CEAC)"``.
    """
    budget = _budget[0]
    if nbytes > budget:
        raise MemoryBudgetError(
            f"{what} would need about {format_bytes(nbytes)} of memory, over the budget of "
            f"{format_bytes(budget)}; {fix}, or raise the budget with ipstrial.set_memory_budget('8GiB') "
            "if the machine has the memory"
        )


def chunk_size(row_bytes: float, total: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """How many replicates (rows of ``row_bytes``) make one chunk: at least 1, at most ``total``."""
    rows = int(chunk_bytes // max(float(row_bytes), 1.0))
    return max(1, min(int(total), rows)) if total > 0 else 1


def chunks(total: int, row_bytes: float, chunk_bytes: int = CHUNK_BYTES) -> Iterator[slice]:
    """The slices ``[start, stop)`` of ``range(total)`` in chunks of :func:`chunk_size` replicates."""
    step = chunk_size(row_bytes, total, chunk_bytes)
    for start in range(0, int(total), step):
        yield slice(start, min(start + step, int(total)))
