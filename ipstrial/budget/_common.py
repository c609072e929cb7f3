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

from ipstrial._checks import check_count
from ipstrial.errors import IpstrialError, ParameterError

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
    ``<= maximum``; ``why`` then says what the bound is about).

    The number is checked by :func:`ipstrial._checks.check_count` (bools, text, NaN and fractions are
    refused); the messages name the value first (``horizon=201 must be between 1 and 200``)."""
    try:
        out = check_count(value, name, minimum=-math.inf)  # type: ignore[arg-type] - any whole number
    except ParameterError:
        raise BudgetInputError(f"{name}={value!r} must be a whole number") from None
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


_EXAMPLE_TOML = "analysis/business_case_2017.toml"


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a budget TOML file: its UTF-8 text parsed with :mod:`tomllib`.

    A missing file, a directory, an unreadable file, a file that is not UTF-8 text and text that is not
    TOML are a :class:`BudgetInputError` saying so and what to do (the one line ``ipstrial budget``
    prints).
    """
    file = Path(path)
    if file.is_dir():
        raise BudgetInputError(
            f"'{path}' is a directory, not a TOML file; give the path of a file, e.g. {_EXAMPLE_TOML}"
        )
    try:
        data = file.read_bytes()
    except FileNotFoundError as exc:
        raise BudgetInputError(
            f"no such TOML file: '{path}' was not found; check the path, e.g. {_EXAMPLE_TOML}"
        ) from exc
    except PermissionError as exc:
        raise BudgetInputError(
            f"cannot read '{path}' (permission denied); make it readable (chmod u+r '{path}') or copy it "
            "somewhere you can read"
        ) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BudgetInputError(
            f"'{path}' is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}), so not a "
            f"TOML file; give a budget TOML file saved as UTF-8, e.g. {_EXAMPLE_TOML}"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BudgetInputError(
            f"'{path}' is not valid TOML ({exc}); correct it there, or give a budget TOML file such as "
            f"{_EXAMPLE_TOML}"
        ) from exc


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
