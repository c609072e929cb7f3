"""A municipal business case: yearly budget lines, their net impact, payback time and present value.

A Danish municipal business case (e.g. Københavns Kommune's *Smarte investeringer i kernevelfærden*
template) lists, per year, the investments a proposal needs and the savings it is expected to bring,
each on a steering area (*styringsområde*: service, overførsler (transfers), anlæg, ...).  The sign
convention is the budget's: a positive amount is an expense, a negative amount a saving, so a negative
net impact is a net saving.

:class:`BusinessCase` holds such a table, checks it (contiguous years, a value for every line in every
year, numbers only), and computes the net impact per year, its cumulative sum, the payback time and
the present value.  ``analysis/business_case_2017.toml`` holds the Copenhagen 2017 IPS case.
"""

from __future__ import annotations

import numbers
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._columns import fmt_values, plural
from ipstrial.budget._common import (
    DANISH_SOCIAL_DISCOUNT_RATE,
    MAX_YEARS,
    BudgetInputError,
    check_document,
    check_rate,
    discount_factors,
    number,
    read_toml,
    refuse_unknown,
)
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["BudgetLine", "BusinessCase"]

_CASE_KEYS = {
    "kind",
    "title",
    "municipality",
    "price_year",
    "unit",
    "source",
    "years",
    "intervention",
    "comparator",
    "discount_rate",
    "notes",
    "lines",
}
_LINE_KEYS = {"name", "kind", "steering_area", "group", "description", "values"}


def _year(key: object, where: str) -> int:
    """A year key (an int, or a string of digits as TOML keys are) as an int."""
    if isinstance(key, bool):
        raise BudgetInputError(f"{where}: {key!r} is not a year")
    if isinstance(key, numbers.Integral):
        return int(key)
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key.strip())
    raise BudgetInputError(f"{where}: {key!r} is not a year; use whole years such as 2017 as keys")


def _text(value: object, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BudgetInputError(f"{where} must be a non-empty string, got {value!r}")
    return value.strip()


@dataclass(frozen=True, eq=False)
class BudgetLine:
    """One line of a business case.

    Attributes
    ----------
    name
        The line's name as in the source document (e.g. "Virksomhedsopsøgende arbejde").
    kind
        What the line is, e.g. ``"investment"``, ``"operation"``, ``"service_saving"``,
        ``"transfer_saving"`` or ``"revenue"`` (free text, not checked against a list).
    steering_area
        The Danish *styringsområde* the line is budgeted on, e.g. ``"Service"`` or ``"Overførsler"``.
    values
        Amount per year (budget sign: expense positive, saving negative); keys are years (ints, or
        strings of digits as TOML writes them), values finite numbers.  Stored read-only, sorted by year.
    group
        Optional heading the line sits under in the document (e.g. "Varige ændringer"); lines of one
        group get a subtotal in :meth:`BusinessCase.table` with ``subtotals=True``.
    description
        Optional English gloss of the name.
    """

    name: str
    kind: str
    steering_area: str
    values: Mapping[int, float]
    group: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        """Check the text fields and turn every value into a finite float keyed by an int year."""
        name = _text(self.name, "a budget line's name")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", _text(self.kind, f"line {name!r}: kind"))
        object.__setattr__(self, "steering_area", _text(self.steering_area, f"line {name!r}: steering_area"))
        object.__setattr__(self, "group", _text(self.group, f"line {name!r}: group", required=False))
        object.__setattr__(
            self, "description", _text(self.description, f"line {name!r}: description", required=False)
        )
        if not isinstance(self.values, Mapping):
            raise BudgetInputError(
                f"line {name!r}: values must map years to amounts, e.g. {{2017 = 1000, 2018 = 0}}; "
                f"got {type(self.values).__name__}"
            )
        parsed: dict[int, float] = {}
        for key, value in self.values.items():
            year = _year(key, f"line {name!r}")
            if year in parsed:
                raise BudgetInputError(f"line {name!r}: year {year} is given twice")
            parsed[year] = number(value, f"line {name!r}, year {year}")
        if not parsed:
            raise BudgetInputError(f"line {name!r} has no values; give an amount for every year")
        object.__setattr__(self, "values", types.MappingProxyType(dict(sorted(parsed.items()))))

    @property
    def series(self) -> pd.Series:
        """The values as a Series indexed by year."""
        return pd.Series(dict(self.values), name=self.name, dtype=float).rename_axis("year")


def _as_line(item: object, position: int) -> BudgetLine:
    if isinstance(item, BudgetLine):
        return item
    if not isinstance(item, Mapping):
        raise BudgetInputError(f"line {position + 1} must be a table of name, kind, steering_area and values")
    label = item.get("name", f"number {position + 1}")
    refuse_unknown(item, _LINE_KEYS, f"line {label!r}: ")
    missing = [key for key in ("name", "kind", "steering_area", "values") if key not in item]
    if missing:
        raise BudgetInputError(f"line {label!r} lacks {', '.join(missing)}")
    return BudgetLine(
        name=item["name"],
        kind=item["kind"],
        steering_area=item["steering_area"],
        values=item["values"],
        group=item.get("group", ""),
        description=item.get("description", ""),
    )


def _gaps(years: Sequence[int], where: str = "the lines") -> list[int]:
    """The years missing between the smallest and the largest of ``years``; a span of more than
    :data:`MAX_YEARS` years is an error (before any list is sized by it)."""
    present = set(years)
    first, last = min(present), max(present)
    if last - first + 1 > MAX_YEARS:
        raise BudgetInputError(
            f"the years of {where} run from {first} to {last}, {last - first + 1:,} years; a business case "
            f"covers at most {MAX_YEARS} contiguous years: check the years for a typo (e.g. 20177 for 2017)"
        )
    return [y for y in range(first, last + 1) if y not in present]


@dataclass(frozen=True, eq=False)
class BusinessCase(Result):
    """A business case: budget lines by year, with net impact, payback time and present value.

    Construct it with :meth:`from_toml` (a TOML file read with :mod:`tomllib`), :meth:`from_dict`, or
    directly from :class:`BudgetLine` objects (mappings with the same keys are accepted as lines).

    Checks: the years (given as ``years``, or else the union of the lines' years) must be contiguous,
    and every line must give a finite number for every one of them -- a blank cell in a document is
    written as 0.  A gap, a missing or an extra year, or a value that is not a number is a
    :class:`~ipstrial.budget.BudgetInputError` (a :class:`ValueError`) naming the line and the years.

    Sign convention (the municipal budget's): expenses positive, savings negative; a negative
    :attr:`net` is a net saving.

    Attributes
    ----------
    name, municipality, price_year, unit, source, notes
        Metadata (``name`` is the title, ``title`` in the TOML file and the :attr:`title` property);
        ``unit`` is the unit of every amount (e.g. ``"1,000 DKK"``), ``price_year`` the
        price level (e.g. 2017 for "2017 p/l").
    lines
        The budget lines, in the document's order.
    years
        The contiguous years of the table (filled in from the lines when not given).
    intervention, comparator
        What is compared, used as the rows' contrast (``"IPS vs normal indsats"``).
    discount_rate
        The rate :meth:`npv` uses by default and the rows report (default 3.5 %, the Danish social
        discount rate of 2021).
    """

    name: str
    lines: tuple[BudgetLine, ...]
    municipality: str = ""
    price_year: int | None = None
    unit: str = ""
    source: str = ""
    years: tuple[int, ...] | None = None
    intervention: str = "proposal"
    comparator: str = "current practice"
    discount_rate: float = DANISH_SOCIAL_DISCOUNT_RATE
    notes: str = ""

    def __post_init__(self) -> None:
        """Validate the metadata and the lines; fill in ``years``; build the lines-by-years matrix."""
        object.__setattr__(self, "name", _text(self.name, "title (name)"))
        for name in ("municipality", "unit", "source", "notes"):
            object.__setattr__(self, name, _text(getattr(self, name), name, required=False))
        object.__setattr__(self, "intervention", _text(self.intervention, "intervention"))
        object.__setattr__(self, "comparator", _text(self.comparator, "comparator"))
        if self.price_year is not None:
            object.__setattr__(self, "price_year", _year(self.price_year, "price_year"))
        object.__setattr__(self, "discount_rate", check_rate(self.discount_rate, "discount_rate"))

        if isinstance(self.lines, Mapping | str) or not isinstance(self.lines, Iterable):
            raise BudgetInputError("lines must be a list of budget lines")
        lines = tuple(_as_line(item, i) for i, item in enumerate(self.lines))
        if not lines:
            raise BudgetInputError("a business case needs at least one line")
        names = [line.name for line in lines]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise BudgetInputError(f"line names must be unique; given more than once: {', '.join(doubled)}")
        object.__setattr__(self, "lines", lines)

        if self.years is not None:
            if isinstance(self.years, str | Mapping) or not isinstance(self.years, Iterable):
                raise BudgetInputError(f"years must be a list of years, got {self.years!r}")
            years = [_year(y, "years") for y in self.years]
            if not years:
                raise BudgetInputError("years is empty")
            if len(set(years)) != len(years) or years != sorted(years):
                raise BudgetInputError(f"years must be increasing and distinct, got {years}")
            gaps = _gaps(years, "years")
            if gaps:
                raise BudgetInputError(
                    f"years must be contiguous: the declared years {years} lack {fmt_values(gaps, limit=10)}"
                )
        else:
            years = sorted({y for line in lines for y in line.values})
            gaps = _gaps(years)
            if gaps:
                raise BudgetInputError(
                    f"years must be contiguous: no line gives {fmt_values(gaps, limit=10)} "
                    f"(between {years[0]} and {years[-1]}); lines: {', '.join(repr(n) for n in names)}. Give "
                    "every line a value (0 for a blank cell) for every year"
                )
        wanted = set(years)
        problems = []
        for line in lines:
            missing = sorted(wanted - set(line.values))
            extra = sorted(set(line.values) - wanted)
            if missing:
                problems.append(f"line {line.name!r} has no value for {fmt_values(missing, limit=10)}")
            if extra:
                shown = fmt_values(extra, limit=10)
                problems.append(f"line {line.name!r} gives {shown}, outside the years {_span(years)}")
        if problems:
            raise BudgetInputError(
                "every line must give a value for every year (write 0 for a blank cell): "
                + "; ".join(problems)
            )
        object.__setattr__(self, "years", tuple(years))

    @property
    def _matrix(self) -> np.ndarray:
        """The amounts as a (lines x years) array."""
        return np.array([[line.values[y] for y in self.years] for line in self.lines], dtype=float)  # type: ignore[union-attr]

    @property
    def title(self) -> str:
        """The case's title (the field :attr:`name`; ``title`` in the TOML file)."""
        return self.name

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCase:
        """Build a case from a mapping with the keys of the TOML file (see :meth:`from_toml`)."""
        check_document(data, "business_case", "a business case", _CASE_KEYS)
        if "title" not in data or "lines" not in data:
            raise BudgetInputError("a business case needs a title and [[lines]]")
        keys = _CASE_KEYS - {"kind", "title"}
        return cls(name=data["title"], **{key: data[key] for key in keys if key in data})

    @classmethod
    def from_toml(cls, path: str | Path) -> BusinessCase:
        """Read a business case from a TOML file (Python's :mod:`tomllib`).

        Top-level keys: ``kind = "business_case"`` (optional), ``title``, and optionally
        ``municipality``, ``price_year``, ``unit``, ``source``, ``years`` (a list), ``intervention``,
        ``comparator``, ``discount_rate``, ``notes``.  Each ``[[lines]]`` table has ``name``, ``kind``,
        ``steering_area``, ``values`` (an inline table keyed by year, e.g.
        ``{2017 = 1000, 2018 = 1000, 2019 = 0, 2020 = 0}``) and optionally ``group`` and
        ``description``.  Unknown keys are refused, so that a misspelt key is not silently ignored.
        """
        return cls.from_dict(read_toml(path))

    # -- figures ----------------------------------------------------------------------------------

    @property
    def n_years(self) -> int:
        """The number of years in the table."""
        return len(self.years)  # type: ignore[arg-type]

    @property
    def net(self) -> pd.Series:
        """The net impact per year: the sum of all lines in each year (negative = net saving)."""
        return pd.Series(self._matrix.sum(axis=0), index=pd.Index(self.years, name="year"), name="net")

    @property
    def cumulative(self) -> pd.Series:
        """The cumulative net impact: ``C_k = net_1 + ... + net_k`` for the k-th year of the table."""
        return self.net.cumsum().rename("cumulative")

    def payback(self, areas: str | Iterable[str] | None = None) -> int | None:
        """The payback time in years, over all lines or only the lines on the given steering areas.

        ``payback = min{k >= 1 : C_k <= 0}``, where ``C_k`` is the cumulative net impact of the first
        ``k`` years of the table (the first year counts as year 1); ``None`` when the cumulative net
        impact stays above 0 throughout the table (shown as "-" in a business case).  It is the first
        crossing: if a later expense pushes ``C_k`` above 0 again, :attr:`cumulative` shows it.

        The Copenhagen 2017 template states "Tilbagebetalingstid baseret på totaløkonomi" (payback
        based on the total economy: all lines) as a whole number of years and explains its value 1 in
        words: "omkostningen til IPS-projektet [vil] allerede være finansieret fra første år" (the cost
        is already financed from the first year) -- the number of budget years, counting the first as
        1, after which the accumulated savings have covered the accumulated costs, which is the
        definition above.  The template's "Tilbagebetalingstid baseret på serviceeffektivisering"
        (payback from service efficiencies) is read here as the same rule applied to the lines on the
        service area only (``areas="Service"``); in that case these hold costs only, so the result is
        ``None``, which the document shows as "-".

        Parameters
        ----------
        areas
            A steering area or several (compared case-insensitively with each line's
            ``steering_area``); ``None`` uses every line.
        """
        if areas is None:
            net = self._matrix.sum(axis=0)
        else:
            wanted = {areas.casefold()} if isinstance(areas, str) else {str(a).casefold() for a in areas}
            keep = [line.steering_area.casefold() in wanted for line in self.lines]
            if not any(keep):
                known = sorted({line.steering_area for line in self.lines})
                raise BudgetInputError(
                    f"no line is on steering area(s) {sorted(wanted)}; the lines use {known}"
                )
            net = self._matrix[np.array(keep)].sum(axis=0)
        hits = np.flatnonzero(np.cumsum(net) <= 0)
        return int(hits[0]) + 1 if hits.size else None

    @property
    def payback_years(self) -> int | None:
        """The payback time over all lines (see :meth:`payback` for the definition)."""
        return self.payback()

    def npv(self, rate: float | None = None, base_year: int | None = None) -> float:
        """The net present value of the net impact (budget sign: negative = a net saving).

        ``NPV = sum_t net_t / (1 + rate) ** (t - base_year)``: every year's amount is treated as
        falling at the same point of its year, and the base year (by default the first year of the
        table) is not discounted.  The default rate is :attr:`discount_rate` (3.5 %, the Danish social
        discount rate for years 0-35, Finansministeriet 2021).

        Parameters
        ----------
        rate
            Yearly discount rate in ``[0, 1)``; ``None`` uses :attr:`discount_rate`.
        base_year
            The year discounted to; ``None`` is the first year of the table.
        """
        rate = self.discount_rate if rate is None else check_rate(rate)
        base = self.years[0] if base_year is None else _year(base_year, "base_year")  # type: ignore[index]
        factors = discount_factors(np.asarray(self.years), base, rate)
        return float(np.dot(self._matrix.sum(axis=0), factors))

    def table(self, subtotals: bool = False) -> pd.DataFrame:
        """The table: one row per line and one column per year, then the rows ``net`` and ``cumulative``.

        With ``subtotals=True`` a row ``"total: <group>"`` follows the last line of each group (the
        document's "Samlet varig ændring" and "Samlede implementeringsomkostninger").
        """
        frame = pd.DataFrame(self._matrix, index=[line.name for line in self.lines], columns=list(self.years))
        frame.columns.name = "year"
        pieces: list[pd.DataFrame] = []
        if subtotals and any(line.group for line in self.lines):
            start = 0
            for i, line in enumerate(self.lines):
                last_of_group = i + 1 == len(self.lines) or self.lines[i + 1].group != line.group
                if last_of_group:
                    block = frame.iloc[start : i + 1]
                    pieces.append(block)
                    if line.group:
                        pieces.append(block.sum().to_frame(f"total: {line.group}").T)
                    start = i + 1
        else:
            pieces.append(frame)
        pieces.append(self.net.to_frame().T)
        pieces.append(self.cumulative.to_frame().T)
        out = pd.concat(pieces)
        out.columns = pd.Index(list(self.years), name="year")
        return out

    def lines_frame(self) -> pd.DataFrame:
        """One row per line with its kind, steering area, group and description."""
        return pd.DataFrame(
            {
                "kind": [line.kind for line in self.lines],
                "steering_area": [line.steering_area for line in self.lines],
                "group": [line.group for line in self.lines],
                "description": [line.description for line in self.lines],
            },
            index=pd.Index([line.name for line in self.lines], name="line"),
        )

    # -- output -----------------------------------------------------------------------------------

    @property
    def title_text(self) -> str:
        """A one-line heading: title, municipality, unit and price year."""
        parts = [self.title]
        if self.municipality:
            parts.append(self.municipality)
        unit = self.unit or "amounts"
        if self.price_year is not None:
            unit += f", {self.price_year} prices"
        parts.append(unit)
        return " — ".join(parts)

    def report_text(self, rate: float | None = None) -> str:
        """The table as text (with group subtotals), followed by the payback time and the NPV."""
        rate = self.discount_rate if rate is None else check_rate(rate)
        table = self.table(subtotals=True)
        shown = table.map(lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")
        payback = self.payback_years
        with pd.option_context("display.width", 200, "display.max_colwidth", 70):
            body = shown.to_string()
        lines = [
            self.title_text,
            "=" * len(self.title_text),
            body,
            "",
            f"payback time (all lines): {'-' if payback is None else plural(payback, 'year')} "
            "(years until the cumulative net impact is <= 0; the first year counts as 1)",
        ]
        if any(line.steering_area.casefold() == "service" for line in self.lines):
            service = self.payback("Service")
            shown_service = "-" if service is None else plural(service, "year")
            lines.append(f"payback time (lines on the service area only): {shown_service}")
        lines += [
            f"net present value at {100 * rate:g} % to {self.years[0]}: {self.npv(rate):,.1f} "  # type: ignore[index]
            f"{self.unit} (first year undiscounted; negative = net saving)",
        ]
        if self.source:
            lines.append(f"source: {self.source}")
        return "\n".join(lines)

    def to_budget_dict(self, rate: float | None = None) -> dict[str, Any]:
        """A JSON-safe dictionary: metadata, ``years``, ``lines``, ``net``, ``cumulative``,
        ``payback_years`` and ``npv`` (with its ``discount_rate``)."""
        rate = self.discount_rate if rate is None else check_rate(rate)
        return {
            "kind": "business_case",
            "title": self.title,
            "municipality": self.municipality,
            "price_year": self.price_year,
            "unit": self.unit,
            "source": self.source,
            "years": list(self.years),  # type: ignore[arg-type]
            "lines": [
                {
                    "name": line.name,
                    "kind": line.kind,
                    "steering_area": line.steering_area,
                    "group": line.group,
                    "description": line.description,
                    "values": [line.values[y] for y in self.years],  # type: ignore[union-attr]
                }
                for line in self.lines
            ],
            "net": self.net.tolist(),
            "cumulative": self.cumulative.tolist(),
            "payback_years": self.payback_years,
            "discount_rate": rate,
            "npv": self.npv(rate),
        }

    def rows(self) -> tuple[Row, ...]:
        """ARD rows: one ``delta_cost`` row per year (the net impact, ``variant="year=<year>"``) and one for
        the NPV (``variant="npv"``).

        No estimand word of :data:`~ipstrial.results.ESTIMANDS` names a budget impact, so the rows use
        ``delta_cost`` (the incremental cost of the proposal against the comparator, budget sign:
        negative = net saving).  The figures of the business case are in ``extra``: ``year`` (missing
        on the NPV row), ``period`` (the year, or the span of years for the NPV), ``figure`` (``"net"``
        or ``"npv"``), ``cumulative``, ``payback_years``, ``discount_rate`` (NPV row), ``unit``,
        ``price_year`` and one column ``line: <name>`` per line.
        """
        contrast = contrast_label(self.intervention, self.comparator)
        unit = self.unit or "budget amounts"
        outcome = f"net budget impact ({unit}" + (f", {self.price_year} prices)" if self.price_year else ")")
        payback = self.payback_years
        common = {"unit": self.unit, "price_year": self.price_year, "payback_years": payback}
        rows = []
        cumulative = self.cumulative
        matrix = self._matrix
        for j, year in enumerate(self.years):  # type: ignore[arg-type]
            extra: dict[str, object] = {
                **common,
                "year": year,
                "period": str(year),
                "figure": "net",
                "cumulative": float(cumulative.iloc[j]),
                "discount_rate": None,
            }
            extra.update({f"line: {line.name}": float(matrix[i, j]) for i, line in enumerate(self.lines)})
            rows.append(
                self._row(
                    contrast,
                    "delta_cost",
                    float(matrix[:, j].sum()),
                    analysis="budget_business_case",
                    outcome=outcome,
                    method=f"sum of the lines in {year} (negative = net saving)",
                    variant=f"year={year}",
                    extra=extra,
                )
            )
        span = _span(self.years)  # type: ignore[arg-type]
        extra = {
            **common,
            "year": None,
            "period": span,
            "figure": "npv",
            "cumulative": float(cumulative.iloc[-1]),
            "discount_rate": self.discount_rate,
        }
        extra.update({f"line: {line.name}": None for line in self.lines})
        rows.append(
            self._row(
                contrast,
                "delta_cost",
                self.npv(),
                analysis="budget_business_case",
                outcome=outcome,
                variant="npv",
                method=(
                    f"NPV of the yearly net {span} at {100 * self.discount_rate:g} % a year to "
                    f"{self.years[0]} (first year undiscounted)"  # type: ignore[index]
                ),
                extra=extra,
            )
        )
        return tuple(rows)

    def plot(
        self,
        ax: Axes | None = None,
        kind: str = "lines",
        *,
        colors: Mapping[str, str] | None = None,
    ) -> Axes:
        """Draw the case: ``kind="lines"`` (bars per line and year, the net as a line) or
        ``kind="cumulative"`` (bars of the net per year and the cumulative net, with the payback year).

        Amounts on a currency axis with thousands separators (:attr:`unit`, e.g. "1,000 DKK"); the legend
        sits under the axes, never over the bars. ``colors`` maps line names to colours (default:
        seaborn's "colorblind" palette in the order of :attr:`lines`, as
        :func:`ipstrial.report.palette.arm_colors`).
        """
        if kind not in ("lines", "cumulative"):
            raise BudgetInputError(f"kind={kind!r}: use 'lines' or 'cumulative'")
        import matplotlib.pyplot as plt

        from ipstrial.report.figures import money_axis
        from ipstrial.report.palette import figure_style, resolve_colors

        names = [line.name for line in self.lines]
        with figure_style():
            palette = resolve_colors(colors, names, what="line") if kind == "lines" else {}
            if ax is None:
                _, ax = plt.subplots(figsize=(7.5, 4.2 + 0.2 * len(names)), layout="constrained")
            years = np.asarray(self.years, dtype=float)
            if kind == "lines":
                k = len(self.lines)
                matrix = self._matrix
                width = 0.8 / k
                for i, line in enumerate(self.lines):
                    offsets = years - 0.4 + width * (i + 0.5)
                    ax.bar(offsets, matrix[i], width=width, label=line.name, color=palette[line.name])
                ax.plot(years, self.net.to_numpy(), color="black", marker="o", label="net")
            else:
                ax.bar(years, self.net.to_numpy(), width=0.6, color="0.7", label="net")
                ax.plot(years, self.cumulative.to_numpy(), color="black", marker="o", label="cumulative net")
                payback = self.payback_years
                if payback is not None:
                    ax.axvline(self.years[payback - 1], color="#029e73", linestyle=":", label="payback")  # type: ignore[index]
            ax.axhline(0.0, color="0.3", linewidth=0.8)
            ax.set_xticks(years)
            ax.set_xticklabels([str(y) for y in self.years])  # type: ignore[union-attr]
            money_axis(ax.yaxis)
            ax.set_xlabel("Year")
            ax.set_ylabel(f"Amount ({self.unit})" if self.unit else "Amount")
            ax.set_title(self.title, loc="left", wrap=True)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
        return ax


def _span(years: Sequence[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
