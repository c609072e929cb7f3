"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def line(name: str, ours: float, plain: float | None, note: str = "") -> str:
    """``NAME ipstrial=…s plain=…s ratio=…x`` (plain ``n/a`` when it was not timed)."""
    if plain is None:
        text = f"{name} ipstrial={ours:.3f}s plain=n/a"
    else:
        text = f"{name} ipstrial={ours:.3f}s plain={plain:.3f}s ratio={plain / ours:.1f}x"
    return f"{text}  {note}".rstrip()
