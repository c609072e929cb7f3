"""Argument checks shared by every public function: one wording for each kind of parameter.

Data are checked by :mod:`ipstrial._columns` and :mod:`ipstrial._inputs`; this module checks the
arguments that are not data: ``alpha``, counts such as ``n_resamples`` and ``m``, choices among fixed
words, column-name lists (``covariates``, ``strata``), the ``analysis`` name and finite numbers. Every
failure is a :class:`~ipstrial.errors.ParameterError` (both a ValueError and a TypeError) that names the
argument, shows the value received and says what is allowed.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ipstrial.errors import ParameterError

__all__ = [
    "check_alpha",
    "check_analysis",
    "check_choice",
    "check_count",
    "check_flag",
    "check_number",
    "check_probability",
    "column_name",
    "column_names",
]


def _shown(value: object) -> str:
    """The value received, for a message: its repr and, when that is not obvious, its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, str | bool | type(None)) or type(value) in (int, float):
        return text
    return f"{text} ({type(value).__name__})"


def _is_real(value: object) -> bool:
    """A real number that is not a bool (numpy scalars included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_alpha(alpha: object, name: str = "alpha") -> float:
    """``alpha`` (1 - confidence level) as a float strictly between 0 and 1.

    A string, None, a bool, NaN or a value outside (0, 1) is a ParameterError, e.g.
    ``alpha must be a number between 0 and 1 (0.05 for 95 % intervals), got '0.05'``.
    """
    if not _is_real(alpha) or not (0.0 < float(alpha) < 1.0):  # type: ignore[arg-type]
        raise ParameterError(
            f"{name} must be a number between 0 and 1 (0.05 for 95 % intervals), got {_shown(alpha)}"
        )
    return float(alpha)  # type: ignore[arg-type]


def check_probability(value: object, name: str, *, open_interval: bool = True) -> float:
    """A probability: a number in (0, 1) (or [0, 1] with ``open_interval=False``)."""
    ok = _is_real(value) and math.isfinite(float(value))  # type: ignore[arg-type]
    if ok:
        x = float(value)  # type: ignore[arg-type]
        ok = 0.0 < x < 1.0 if open_interval else 0.0 <= x <= 1.0
    if not ok:
        where = "strictly between 0 and 1" if open_interval else "between 0 and 1"
        raise ParameterError(f"{name} must be a number {where}, got {_shown(value)}")
    return float(value)  # type: ignore[arg-type]


def check_count(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number ``>= minimum`` (and ``<= maximum``): ``n_resamples``, ``m``, ``n_iter`` ...

    Floats that are whole (``1e4``) are accepted; bools, strings, NaN and fractions are not.
    """
    whole = (isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)) or (
        _is_real(value) and math.isfinite(float(value)) and float(value).is_integer()
    )  # type: ignore[arg-type]
    if not whole or int(value) < minimum or (maximum is not None and int(value) > maximum):  # type: ignore[call-overload]
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ParameterError(f"{name} must be a whole number {bound}, got {_shown(value)}")
    return int(value)  # type: ignore[call-overload]


def check_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    finite: bool = True,
) -> float:
    """A real number, optionally bounded (``strict`` excludes the bounds) and finite."""
    ok = _is_real(value) and not math.isnan(float(value))  # type: ignore[arg-type]
    if ok and finite:
        ok = math.isfinite(float(value))  # type: ignore[arg-type]
    if ok:
        x = float(value)  # type: ignore[arg-type]
        if minimum is not None:
            ok = x > minimum if strict else x >= minimum
        if ok and maximum is not None:
            ok = x < maximum if strict else x <= maximum
    if not ok:
        parts = []
        if minimum is not None:
            parts.append(f"{'above' if strict else 'at least'} {minimum:g}")
        if maximum is not None:
            parts.append(f"{'below' if strict else 'at most'} {maximum:g}")
        bound = (" " + " and ".join(parts)) if parts else ""
        kind = "a finite number" if finite else "a number"
        raise ParameterError(f"{name} must be {kind}{bound}, got {_shown(value)}")
    return float(value)  # type: ignore[arg-type]


def check_choice(value: object, name: str, allowed: Iterable[Any]) -> Any:
    """``value`` if it is one of ``allowed`` (compared with ``==``), else a ParameterError listing them."""
    options = list(allowed)
    if isinstance(value, str | bool | int | float | type(None)) and value in options:
        return value
    listed = ", ".join(repr(o) for o in options)
    raise ParameterError(f"{name} must be one of {listed}; got {_shown(value)}")


def column_names(value: object, name: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    """Column names given as ``None``, one name (a string) or a sequence of names, as a tuple.

    A string is ONE column (``strata="site"`` is the column ``site``, never the letters s, i, t, e).
    Names must be strings without repeats.
    """
    if value is None:
        names: tuple[object, ...] = ()
    elif isinstance(value, str):
        names = (value,)
    elif isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise ParameterError(f"{name} must be a column name or a list of column names, got {_shown(value)}")
    else:
        names = tuple(value)
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise ParameterError(f"{name} must hold column names (non-empty strings); got {bad[0]!r}")
    repeated = sorted({n for n in names if names.count(n) > 1})  # type: ignore[type-var]
    if repeated:
        raise ParameterError(f"{name} lists {repeated} more than once; list each column once")
    if not names and not allow_empty:
        raise ParameterError(f"{name} must name at least one column")
    return names  # type: ignore[return-value]


_ANALYSIS = re.compile(r"^[a-z][a-z0-9_]*$")


def check_analysis(value: object) -> str:
    """The ARD ``analysis`` name: snake case (letters, digits, underscores; a letter first)."""
    if not isinstance(value, str) or not _ANALYSIS.match(value):
        raise ParameterError(
            f"analysis must be a snake_case name such as 'itt_primary' (lower-case letters, digits and "
            f"underscores, a letter first), got {_shown(value)}"
        )
    return value


def check_sequence(value: object, name: str) -> Sequence[Any]:
    """A list-like of values (not a string, not a mapping)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ParameterError(f"{name} must be a list of values, got {_shown(value)}")
    return list(value)


def check_flag(value: object, name: str) -> bool:
    """``True`` or ``False`` (numpy booleans too); anything else, ``1`` and ``"yes"`` included, is refused."""
    if not isinstance(value, bool | np.bool_):
        raise ParameterError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def column_name(value: object, name: str) -> str:
    """One column name: a non-empty string (a list or a number is refused: one column is meant)."""
    if not isinstance(value, str) or not value:
        raise ParameterError(f"{name} must be a column name (str), got {_shown(value)}")
    return value
