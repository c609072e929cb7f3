"""Timing helpers and the data shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "inklusion.csv"
"""The committed 720-participant synthetic trial most benchmarks run on."""


def clock(fn: Callable[[], object]) -> float:
    """One wall-clock timing of ``fn()``, in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    return min(clock(fn) for _ in range(repeat))


def warm_best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """``best_of(fn, repeat)`` after one untimed call of ``fn()`` (imports and caches warmed up)."""
    fn()
    return best_of(fn, repeat)


def plain_time(
    plain: Callable[[int], object],
    total: int,
    part: int,
    full: bool,
    what: str,
    limit: float | None = None,
) -> tuple[float, str]:
    """The time of ``plain(total)`` and the line's note saying how it was taken.

    With ``full`` all ``total`` repetitions are timed; otherwise ``plain(part)`` is timed and multiplied by
    ``total // part``, as the note says. With ``limit`` (seconds) all ``total`` are timed as well when that
    estimate is at most ``limit``.
    """
    everything = f"plain timed on all {total:,} {what}"
    if full:
        return clock(lambda: plain(total)), everything
    factor = total // part
    estimate = factor * clock(lambda: plain(part))
    if limit is not None and estimate <= limit:
        return clock(lambda: plain(total)), everything
    longer = "" if limit is None else f", which would take over {limit:g} s"
    return estimate, f"plain timed on {part:,} {what} x {factor} (all {total:,} with --full{longer})"


def line(name: str, ours: float, plain: float | None, note: str = "") -> str:
    """``NAME ipstrial=…s plain=…s ratio=…x`` (plain ``n/a`` when it was not timed)."""
    if plain is None:
        text = f"{name} ipstrial={ours:.3f}s plain=n/a"
    else:
        text = f"{name} ipstrial={ours:.3f}s plain={plain:.3f}s ratio={plain / ours:.1f}x"
    return f"{text}  {note}".rstrip()
