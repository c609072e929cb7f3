"""Shared pieces of :mod:`ipstrial.budget`: the input error, number checks, discounting and TOML loading
(the file, its ``kind`` and its keys)."""

from __future__ import annotations

import math
import numbers
import tomllib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ipstrial.errors import IpstrialError

__all__ = [
    "DANISH_SOCIAL_DISCOUNT_RATE",
    "MAX_YEARS",
    "BudgetInputError",
    "check_document",
    "check_rate",
    "discount_factors",
    "number",
    "read_toml",
    "refuse_unknown",
    "whole",
]

DANISH_SOCIAL_DISCOUNT_RATE = 0.035
"""The Danish social discount rate for years 0-35 (Finansministeriet, dokumentationsnotat 7 January 2021)."""


class BudgetInputError(IpstrialError, ValueError):
    """Bad input to a business case, a cohort projection or a target monitor (a :class:`ValueError`)."""


def number(value: object, where: str) -> float:
    """Return ``value`` as a finite float, or raise :class:`BudgetInputError` naming ``where``.

    Booleans, strings (also ``"1.000"`` with a Danish thousands separator), ``None``, NaN and
    infinities are refused.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        hint = ""
        if isinstance(value, str):
            hint = " (write a plain number without quotes or thousands separators, e.g. -5000 not '-5.000')"
        raise BudgetInputError(f"{where}: {value!r} is not a number{hint}")
    out = float(value)
    if not math.isfinite(out):
        raise BudgetInputError(f"{where}: {value!r} is not a finite number")
    return out


MAX_YEARS = 200
"""The most years a budget input may span (a horizon, years of operation, a stay in the programme, the
years of a business case): more is not a budget projection, and is refused before any array is sized
by it."""


def whole(value: object, name: str, minimum: int, maximum: int | None = None, why: str = "") -> int:
    """Return ``value`` as an int after checking that it is a whole number ``>= minimum`` (and
    ``<= maximum``; ``why`` then says what the bound is about)."""
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or not float(value).is_integer()
    ):
        raise BudgetInputError(f"{name}={value!r} must be a whole number")
    out = int(value)
    if out < minimum or (maximum is not None and out > maximum):
        allowed = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise BudgetInputError(f"{name}={out} must be {allowed}{f' ({why})' if why else ''}")
    return out


def check_rate(rate: object, name: str = "rate") -> float:
    """Return a discount rate as a float after checking ``0 <= rate < 1`` (e.g. 0.035 for 3.5 %)."""
    value = number(rate, name)
    if not 0.0 <= value < 1.0:
        raise BudgetInputError(
            f"{name}={value!r} must lie in [0, 1), e.g. 0.035 for the Danish social discount rate of 3.5 %"
        )
    return value


def discount_factors(years: np.ndarray, base_year: int, rate: float) -> np.ndarray:
    """The discount factors ``(1 + rate) ** -(year - base_year)``: the base year is not discounted.

    Every amount is treated as falling at the same point of its year (a yearly budget), so an amount
    ``t`` years after the base year is divided by ``(1 + rate) ** t``: the present value in the base
    year, with the constant rate of Finansministeriet's 2021 note (3.5 % for years 0-35; the note lowers
    the rate to 2.5 % for years 36-70, which no projection here reaches).
    """
    rate = check_rate(rate)
    offsets = np.asarray(years, dtype=float) - float(base_year)
    return (1.0 + rate) ** -offsets


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file with :mod:`tomllib`; a missing file or bad TOML is a :class:`BudgetInputError`."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise BudgetInputError(f"no such TOML file: {file}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BudgetInputError(f"{file} is not valid TOML: {exc}") from exc


def refuse_unknown(keys: Iterable[object], allowed: Collection[str], where: str = "") -> None:
    """Refuse keys outside ``allowed`` (so that a misspelt key is not silently ignored); ``where`` starts
    the message (e.g. ``"line 'IPS': "``)."""
    unknown = set(keys) - set(allowed)
    if unknown:
        raise BudgetInputError(
            f"{where}unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def check_document(data: object, kind: str, what: str, allowed: Collection[str]) -> None:
    """Check a document read from TOML: a mapping whose ``kind`` (default ``kind``) is ``kind`` and whose
    keys are ``allowed``; ``what`` names it in the messages (e.g. ``"a business case"``)."""
    if not isinstance(data, Mapping):
        raise BudgetInputError(f"{what} is a table of keys, got {type(data).__name__}")
    found = data.get("kind", kind)
    if found != kind:
        raise BudgetInputError(f"kind = {found!r}: this is not {what} (kind = {kind!r})")
    refuse_unknown(data, allowed)
