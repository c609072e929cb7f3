"""Shared pieces of :mod:`ipstrial.budget`: the input error, number checks, discounting and TOML loading."""

from __future__ import annotations

import math
import numbers
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from ipstrial.errors import IpstrialError

__all__ = [
    "DANISH_SOCIAL_DISCOUNT_RATE",
    "BudgetInputError",
    "check_rate",
    "discount_factors",
    "number",
    "read_toml",
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
