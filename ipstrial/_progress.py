"""Progress bars for long steps: shown on a terminal, silent otherwise or when asked to be quiet.

A bar is drawn with tqdm on standard error when it is a terminal (``isatty``) and ``quiet`` is false; in a
pipe, a CI log or a notebook nothing is printed, so that logs and rendered reports stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["progress_for"]

T = TypeVar("T")


def progress_for(quiet: bool) -> Callable[[Iterable[T], int, str], Iterable[T]] | None:
    """``progress(iterable, total, description)`` wrapping a loop in a bar, or None when none is shown.

    Parameters
    ----------
    quiet
        True: never show a bar.
    """
    if quiet or not sys.stderr.isatty():
        return None

    def bar(iterable: Iterable[T], total: int, description: str) -> Iterable[T]:
        from tqdm import tqdm

        items: Any = tqdm(
            iterable, total=total, desc=description, file=sys.stderr, leave=False, dynamic_ncols=True
        )
        return items

    return bar
