"""The code map: what each weekly register code means (TOML), and what a week without a code means.

A code map file (``codes/synthetic.toml`` is the one shipped for the synthetic trial)::

    name = "synthetic DREAM-like codes"
    price_year = 2012
    no_code = "work"          # a week without a code: "work" (DREAM's self-support) or "none"

    [[code]]
    code = "130"
    kind = "benefit"          # work | education | benefit | competing | end
    label = "cash benefit"
    benefit = "cash_benefit"  # the transfer type: a transfers_<benefit> column
    weekly_rate = 3300        # DKK per week, in the price year

Every code is listed once. ``benefit`` and ``weekly_rate`` go together and may be given for a code of any
kind (a disability pension is a competing exit and a transfer). Benefit type names are plain identifiers.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ipstrial.errors import DesignError

KINDS = ("end", "competing", "work", "education", "benefit")
"""The kinds of code, in the priority order of :mod:`._rules` rule 3."""
NO_CODE = ("work", "none")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CODE_KEYS = {"code", "kind", "label", "benefit", "weekly_rate"}
_MAP_KEYS = {"name", "price_year", "no_code", "code"}


@dataclass(frozen=True)
class Code:
    """One register code: its ``kind``, a ``label``, and optionally its ``benefit`` type and ``weekly_rate``
    (DKK per week in the map's price year)."""

    code: str
    kind: str
    label: str = ""
    benefit: str | None = None
    weekly_rate: float | None = None


@dataclass(frozen=True)
class CodeMap:
    """What the codes of a weekly register panel mean (module docstring).

    Parameters
    ----------
    codes
        The codes, each a :class:`Code` (or a dict with its fields).
    no_code
        What a person-week without a code means: ``"work"`` (self-support, as DREAM) or ``"none"``.
    price_year
        The price year of the weekly rates.
    name
        A name for messages and provenance.
    """

    codes: tuple[Code, ...]
    no_code: str = "work"
    price_year: int | None = None
    name: str = ""

    def __init__(
        self,
        codes: Sequence[Code | Mapping],
        no_code: str = "work",
        price_year: int | None = None,
        name: str = "",
    ) -> None:
        checked = tuple(_check_code(c) for c in codes)
        seen: dict[str, int] = {}
        for c in checked:
            seen[c.code] = seen.get(c.code, 0) + 1
        twice = sorted(k for k, n in seen.items() if n > 1)
        if twice:
            raise DesignError(f"the code map lists the codes {twice} more than once; list each code once")
        if not checked:
            raise DesignError("the code map has no codes; list every code of the panel with its kind")
        if no_code not in NO_CODE:
            raise DesignError(f"no_code = {no_code!r} must be one of {list(NO_CODE)}")
        if price_year is not None and (isinstance(price_year, bool) or not isinstance(price_year, int)):
            raise DesignError(f"price_year must be a year such as 2012; got {price_year!r}")
        object.__setattr__(self, "codes", checked)
        object.__setattr__(self, "no_code", no_code)
        object.__setattr__(self, "price_year", price_year)
        object.__setattr__(self, "name", str(name))

    @property
    def benefits(self) -> tuple[str, ...]:
        """The benefit types, in the order of their first code."""
        return tuple(dict.fromkeys(c.benefit for c in self.codes if c.benefit is not None))

    def priority(self) -> dict[str, int]:
        """Each code's rank for resolving conflicting rows (rule 3): by kind, then map order; 0 wins."""
        ordered = sorted(range(len(self.codes)), key=lambda i: (KINDS.index(self.codes[i].kind), i))
        return {self.codes[i].code: rank for rank, i in enumerate(ordered)}

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> CodeMap:
        """Read a code map file (module docstring); every error names the file and the fix."""
        import tomllib

        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise DesignError(f"cannot read the code map '{path}': {exc.strerror}; check the path") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DesignError(
                f"the code map '{path}' is not valid TOML ({exc}); fix the line named"
            ) from None
        unknown = sorted(set(data) - _MAP_KEYS)
        if unknown:
            raise DesignError(
                f"the code map '{path}' has unknown keys {unknown}; allowed: {sorted(_MAP_KEYS)}"
            )
        try:
            return cls(
                data.get("code", []),
                no_code=data.get("no_code", "work"),
                price_year=data.get("price_year"),
                name=data.get("name", Path(path).stem),
            )
        except DesignError as exc:
            raise DesignError(f"the code map '{path}': {exc}") from None


def _check_code(c: Code | Mapping) -> Code:
    if isinstance(c, Mapping):
        unknown = sorted(set(c) - _CODE_KEYS)
        if unknown:
            raise DesignError(
                f"code {c.get('code')!r} has unknown keys {unknown}; allowed: {sorted(_CODE_KEYS)}"
            )
        if "code" not in c or "kind" not in c:
            raise DesignError(f"every [[code]] needs a code and a kind; got {dict(c)}")
        c = Code(str(c["code"]), c["kind"], str(c.get("label", "")), c.get("benefit"), c.get("weekly_rate"))
    if not isinstance(c, Code):
        raise DesignError(f"a code must be a Code or a table with code and kind; got {c!r}")
    if not c.code.strip() or c.code != c.code.strip():
        raise DesignError(f"code {c.code!r} must be non-empty text without leading or trailing spaces")
    if c.kind not in KINDS:
        raise DesignError(f"code {c.code!r} has kind {c.kind!r}; give one of {list(KINDS)}")
    if (c.benefit is None) != (c.weekly_rate is None):
        raise DesignError(f"code {c.code!r}: give benefit and weekly_rate together, or neither")
    if c.benefit is not None:
        if not isinstance(c.benefit, str) or not _IDENTIFIER.fullmatch(c.benefit):
            raise DesignError(
                f"code {c.code!r}: benefit {c.benefit!r} must be a lower-case identifier, e.g. 'cash_benefit'"
            )
        rate = c.weekly_rate
        if (
            isinstance(rate, bool)
            or not isinstance(rate, numbers.Real)
            or not math.isfinite(rate)
            or rate < 0
        ):
            raise DesignError(f"code {c.code!r}: weekly_rate {rate!r} must be a non-negative number of DKK")
        c = Code(c.code, c.kind, c.label, c.benefit, float(rate))
    return c
