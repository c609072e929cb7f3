"""Cohort projection of a programme's public-budget consequences, in the manner of SØM.

SØM (Den Socialøkonomiske Investeringsmodel, Socialstyrelsen; "Sådan regner SØM", 2019) computes the
budget-economic net result of a social programme for the public purse: the programme's costs against
the economic consequences of its effect, year by year, split by payer (municipality, region, state).
:func:`cohort_projection` does this for cohorts that start a programme, stay in it for one or more
years, leave it, and then carry an effect on the share in employment or education that may fade.
``analysis/som_ips_2021.toml`` sets up Socialstyrelsen's 2021 SØM example calculation for IPS;
:func:`projection_from_toml` reads it.

Sign convention (SØM's): costs and gains are positive amounts; the *net benefit* is gains minus costs,
so a positive net benefit means the public purse is better off (the opposite sign of a municipal
business case, :class:`~ipstrial.budget.BusinessCase`, where savings are negative).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_analysis
from ipstrial._columns import plural
from ipstrial.budget._common import (
    DANISH_SOCIAL_DISCOUNT_RATE,
    MAX_YEARS,
    BudgetInputError,
    check_document,
    check_rate,
    discount_factors,
    number,
    read_toml,
    whole,
)
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["PAYERS", "ProjectionResult", "cohort_projection", "projection_from_dict", "projection_from_toml"]

PAYERS: tuple[str, ...] = ("municipality", "region", "state")
"""The public payers of SØM: kommune, region and stat."""

_SHARE_TOLERANCE = 1e-9


# ----------------------------------------------------------------------------------------------------------
# input checks


_YEARS_WHY = f"more than {MAX_YEARS} years is not a budget projection; SØM counts up to 10"


def _intake(intake: object) -> np.ndarray:
    if isinstance(intake, str | Mapping) or not isinstance(intake, Iterable):
        raise BudgetInputError("intake must be a list with the number of starts in each year of operation")
    if isinstance(intake, Sized) and len(intake) > MAX_YEARS:
        raise BudgetInputError(
            f"intake lists {len(intake):,} years of operation; give at most {MAX_YEARS} (one number of "
            "starts a year of operation)"
        )
    values = np.array([number(v, f"intake, year {i + 1}") for i, v in enumerate(intake)], dtype=float)
    if values.size == 0:
        raise BudgetInputError("intake is empty; give the number of starts in each year of operation")
    if np.any(values < 0):
        bad = [i + 1 for i in np.flatnonzero(values < 0)]
        raise BudgetInputError(f"intake is negative in year(s) {bad} of operation")
    if not np.any(values > 0):
        raise BudgetInputError("intake has no starts in any year")
    return values


def _duration(duration: object) -> dict[int, float]:
    """Years in the programme: a whole number, or a distribution ``{years: probability}`` summing to 1."""
    if isinstance(duration, Mapping):
        out: dict[int, float] = {}
        for key, p in duration.items():
            years = int(key) if not isinstance(key, bool) and str(key).strip().isdigit() else None
            if years is None or years < 1:
                raise BudgetInputError(f"duration: {key!r} is not a whole number of years >= 1")
            if years > MAX_YEARS:
                raise BudgetInputError(
                    f"duration: {key!r} years in the programme; a stay must be between 1 and {MAX_YEARS} "
                    "years"
                )
            prob = number(p, f"duration, probability of {plural(years, 'year')}")
            if prob < 0:
                raise BudgetInputError(
                    f"duration: the probability of {plural(years, 'year')} is negative ({prob})"
                )
            out[years] = out.get(years, 0.0) + prob
        total = sum(out.values())
        if not out or abs(total - 1.0) > _SHARE_TOLERANCE:
            raise BudgetInputError(f"duration probabilities must sum to 1, they sum to {total!r}")
        return {d: p for d, p in sorted(out.items()) if p > 0}
    return {whole(duration, "duration", 1, MAX_YEARS, "years in the programme"): 1.0}


def _payer_amounts(mapping: object, payers: Sequence[str], where: str) -> dict[str, float]:
    if not isinstance(mapping, Mapping) or not mapping:
        raise BudgetInputError(f"{where} must map payers ({', '.join(payers)}) to amounts")
    out = dict.fromkeys(payers, 0.0)
    for payer, amount in mapping.items():
        if payer not in payers:
            raise BudgetInputError(f"{where}: unknown payer {payer!r}; the payers are {', '.join(payers)}")
        out[payer] = number(amount, f"{where}, {payer}")
    return out


def _values(values: object, payers: Sequence[str]) -> list[dict[str, Any]]:
    """Normalise the consequence items to ``[{"name", "kind", "by_payer"}]``."""
    items: list[dict[str, Any]] = []
    if isinstance(values, Mapping):
        for name, by_payer in values.items():
            items.append({"name": str(name), "kind": "", "by_payer": by_payer})
    elif isinstance(values, Iterable) and not isinstance(values, str):
        for i, item in enumerate(values):
            if not isinstance(item, Mapping) or "name" not in item or "by_payer" not in item:
                raise BudgetInputError(f"values item {i + 1} must be a table with name and by_payer")
            unknown = set(item) - {"name", "kind", "by_payer", "description"}
            if unknown:
                raise BudgetInputError(f"values item {item['name']!r}: unknown key(s) {sorted(unknown)}")
            items.append(dict(item))
    else:
        raise BudgetInputError(
            "values must be a list of {name, kind, by_payer} items or a mapping name -> by_payer"
        )
    if not items:
        raise BudgetInputError("values is empty; give the yearly value of the employment/education state")
    out = []
    for item in items:
        name = item["name"]
        if not isinstance(name, str) or not name.strip():
            raise BudgetInputError(f"a values item has no name: {item!r}")
        out.append(
            {
                "name": name.strip(),
                "kind": str(item.get("kind", "") or ""),
                "description": str(item.get("description", "") or ""),
                "by_payer": _payer_amounts(item["by_payer"], payers, f"values item {name!r}"),
            }
        )
    return out


# ----------------------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True, eq=False)
class ProjectionResult(Result):
    """The yearly public-budget consequences of a cohort projection (see :func:`cohort_projection`).

    Attributes
    ----------
    yearly
        The yearly table (also returned by :meth:`table`), indexed by ``year``.
    payers
        The payers, in column order.
    break_even_year
        The first year whose cumulative discounted net benefit (all payers) is >= 0, or ``None`` when
        that does not happen within the projection.
    npv, npv_by_payer
        The discounted net benefit (gains minus costs) over the whole projection, in total and by payer.
    participants
        The number of participants (the sum of ``intake``).
    cost_total
        The undiscounted programme cost of all participants.
    extra_person_years
        The undiscounted extra person-years in employment or education.
    parameters
        The inputs, as given after checking.
    """

    yearly: pd.DataFrame
    payers: tuple[str, ...]
    break_even_year: int | None
    npv: float
    npv_by_payer: Mapping[str, float]
    participants: float
    cost_total: float
    extra_person_years: float
    parameters: Mapping[str, Any]
    name: str = "cohort projection"
    intervention: str = "programme"
    comparator: str = "base alternative"
    unit: str = "DKK"
    analysis: str = "budget_projection"

    @property
    def title(self) -> str:
        """The projection's name."""
        return self.name

    def table(self) -> pd.DataFrame:
        """The yearly table (a copy), indexed by ``year``.

        Columns: ``starts``, ``in_programme`` (expected participants in the programme during the year),
        ``exits``, ``extra_in_work_or_education`` (expected extra persons in employment or education
        thanks to the programme), ``cost_<payer>`` and ``cost``, ``gain_<payer>`` and ``gain``,
        ``net_<payer>`` and ``net`` (gain minus cost), ``discount_factor``, ``net_discounted``,
        ``cumulative_net`` and ``cumulative_discounted`` (all payers), and
        ``cumulative_discounted_<payer>``.
        """
        return self.yearly.copy()

    def rows(self) -> tuple[Row, ...]:
        """ARD rows.

        * ``delta_cost`` per payer and for all payers: the discounted net *cost* over the projection
          (``-npv``; negative = the programme saves that payer money), with ``extra``: ``payer``,
          ``undiscounted``, ``per_participant`` (discounted), ``break_even_year`` (all-payer row),
          ``discount_rate``, ``horizon``;
        * ``delta_cost`` for the programme cost per participant (undiscounted, as SØM states it);
        * ``delta_effect``: the extra person-years in employment or education (undiscounted), with the
          effect in percentage points and per participant in ``extra``.
        """
        contrast = contrast_label(self.intervention, self.comparator)
        rate = self.parameters["discount_rate"]
        horizon = self.parameters["horizon"]
        method = (
            f"SØM-style cohort projection, {horizon}-year horizon from programme exit, "
            f"discounted at {100 * rate:g} % a year to the first year"
        )
        rows = []
        for payer in (*self.payers, "all payers"):
            if payer == "all payers":
                npv, undiscounted = self.npv, float(self.yearly["net"].sum())
            else:
                npv, undiscounted = self.npv_by_payer[payer], float(self.yearly[f"net_{payer}"].sum())
            rows.append(
                self._row(
                    contrast,
                    "delta_cost",
                    -npv,
                    outcome=f"public budget, {payer} ({self.unit})",
                    method=method + " (net cost: cost minus gains; negative = saving)",
                    n=None,
                    extra={
                        "payer": payer,
                        "undiscounted": -undiscounted,
                        "per_participant": -npv / self.participants,
                        "break_even_year": self.break_even_year if payer == "all payers" else None,
                        "discount_rate": rate,
                        "horizon": horizon,
                    },
                )
            )
        rows.append(
            self._row(
                contrast,
                "delta_cost",
                self.cost_total / self.participants,
                outcome=f"programme cost per participant ({self.unit})",
                method="net programme cost per participant against the comparator, undiscounted",
                extra={
                    "payer": "all payers",
                    "undiscounted": self.cost_total,
                    "per_participant": self.cost_total / self.participants,
                    "break_even_year": None,
                    "discount_rate": None,
                    "horizon": horizon,
                },
            )
        )
        rows.append(
            self._row(
                contrast,
                "delta_effect",
                self.extra_person_years,
                outcome="person-years in employment or education",
                method=(
                    f"effect {100 * self.parameters['effect']:g} percentage points at exit, kept at "
                    f"{self.parameters['retention']:g} a year, over {plural(horizon, 'year')} from exit; "
                    "undiscounted"
                ),
                extra={
                    "payer": None,
                    "undiscounted": self.extra_person_years,
                    "per_participant": self.extra_person_years / self.participants,
                    "break_even_year": None,
                    "discount_rate": None,
                    "horizon": horizon,
                },
            )
        )
        return tuple(rows)

    def report_text(self) -> str:
        """The yearly table as text, with the totals, the NPV by payer and the break-even year."""
        frame = self.yearly
        shown = pd.DataFrame(index=frame.index)
        shown["starts"] = frame["starts"].map(lambda v: f"{v:g}")
        shown["in prog."] = frame["in_programme"].map(lambda v: f"{v:g}")
        shown["extra in work/edu"] = frame["extra_in_work_or_education"].map(lambda v: f"{v:.2f}")
        shown["cost"] = frame["cost"].map(lambda v: f"{v:,.0f}")
        for payer in self.payers:
            shown[f"gain {payer}"] = frame[f"gain_{payer}"].map(lambda v: f"{v:,.0f}")
        shown["net"] = frame["net"].map(lambda v: f"{v:,.0f}")
        shown["cum. discounted"] = frame["cumulative_discounted"].map(lambda v: f"{v:,.0f}")
        rate = self.parameters["discount_rate"]
        heading = f"{self.name} ({self.unit}; net = gains minus costs, positive = the public purse gains)"
        with pd.option_context("display.width", 220):
            body = shown.to_string()
        by_payer = ", ".join(f"{p} {self.npv_by_payer[p]:,.0f}" for p in self.payers)
        lines = [
            heading,
            "=" * len(heading),
            body,
            "",
            f"participants {self.participants:g}; programme cost {self.cost_total:,.0f} "
            f"({self.cost_total / self.participants:,.0f} per participant, undiscounted)",
            f"extra person-years in employment or education: {self.extra_person_years:.2f}",
            f"net present value at {100 * rate:g} % (first year undiscounted): {self.npv:,.0f} ({by_payer})",
            "break-even year (cumulative discounted net benefit >= 0): "
            + (
                str(self.break_even_year) if self.break_even_year is not None else "not within the projection"
            ),
        ]
        return "\n".join(lines)

    def to_budget_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary: ``years``, the yearly consequences by payer, ``net``, ``cumulative``
        (discounted), ``break_even_year``, ``npv`` and ``npv_by_payer``."""
        from ipstrial.results import json_safe

        frame = self.yearly
        return json_safe(
            {
                "kind": "projection",
                "title": self.name,
                "unit": self.unit,
                "years": frame.index.tolist(),
                "payers": list(self.payers),
                "cost": {p: frame[f"cost_{p}"].tolist() for p in self.payers},
                "gain": {p: frame[f"gain_{p}"].tolist() for p in self.payers},
                "net_by_payer": {p: frame[f"net_{p}"].tolist() for p in self.payers},
                "net": frame["net"].tolist(),
                "net_discounted": frame["net_discounted"].tolist(),
                "cumulative": frame["cumulative_discounted"].tolist(),
                "cumulative_undiscounted": frame["cumulative_net"].tolist(),
                "break_even_year": self.break_even_year,
                "discount_rate": self.parameters["discount_rate"],
                "npv": self.npv,
                "npv_by_payer": dict(self.npv_by_payer),
                "participants": self.participants,
                "cost_per_participant": self.cost_total / self.participants,
                "extra_person_years": self.extra_person_years,
            }
        )

    def plot(self, ax: Axes | None = None, kind: str = "cumulative") -> Axes:
        """Draw the projection: ``kind="cumulative"`` (cumulative net benefit, discounted and not, with
        the break-even year) or ``kind="payers"`` (yearly net benefit by payer, side by side)."""
        if kind not in ("cumulative", "payers"):
            raise BudgetInputError(f"kind={kind!r}: use 'cumulative' or 'payers'")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, 4.5))
        frame = self.yearly
        years = frame.index.to_numpy(dtype=float)
        if kind == "cumulative":
            ax.plot(years, frame["cumulative_discounted"], marker="o", color="black", label="discounted")
            ax.plot(years, frame["cumulative_net"], linestyle="--", color="0.5", label="undiscounted")
            if self.break_even_year is not None:
                ax.axvline(self.break_even_year, color="tab:green", linestyle=":", label="break-even")
            ax.set_ylabel(f"cumulative net benefit ({self.unit})")
        else:
            width = 0.8 / len(self.payers)
            for i, payer in enumerate(self.payers):
                ax.bar(years - 0.4 + width * (i + 0.5), frame[f"net_{payer}"], width=width, label=payer)
            ax.set_ylabel(f"net benefit ({self.unit})")
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        ax.set_xlabel("year")
        ax.set_title(self.name)
        ax.legend(fontsize="small")
        return ax


# ----------------------------------------------------------------------------------------------------------
# the projection


def cohort_projection(
    intake: Sequence[float],
    duration: int | Mapping[int, float],
    cost_per_participant: float,
    effect: float,
    values: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, float]],
    *,
    retention: float = 1.0,
    horizon: int = 10,
    discount_rate: float = DANISH_SOCIAL_DISCOUNT_RATE,
    cost_payers: Mapping[str, float] | None = None,
    payers: Sequence[str] = PAYERS,
    start_year: int = 1,
    intervention: str = "programme",
    comparator: str = "base alternative",
    title: str = "cohort projection",
    unit: str = "DKK",
    analysis: str = "budget_projection",
) -> ProjectionResult:
    """Project a programme's yearly public-budget consequences for its cohorts, in the manner of SØM.

    Model (expected values; year index ``t = 0, 1, ...`` is calendar year ``start_year + t``).  In year
    ``s`` ``N_s = intake[s]`` participants start; a share ``pi_d`` of them stays ``d`` years
    (``duration``), i.e. is in the programme in years ``s .. s + d - 1`` and leaves in year
    ``e = s + d - 1``.  With ``c = cost_per_participant`` (the net cost of one participant's whole course
    against the comparator) and effect ``delta`` (percentage points / 100 on the share in employment or
    education), retention ``rho`` and horizon ``H``:

    * cost in year t:  ``C_t = sum_{s,d} N_s pi_d (c / d) [s <= t <= s + d - 1]`` (spread evenly over the
      years in the programme), split over payers by ``cost_payers``;
    * extra persons in employment or education in year t (consequences counted, as in SØM, for ``H``
      years from the year of exit, the exit year being the first):
      ``E_t = sum_{s,d} N_s pi_d delta rho^(t - e) [0 <= t - e <= H - 1]``;
    * gain to payer j:  ``G_jt = E_t v_j`` where ``v_j`` is the sum over the ``values`` items of payer
      j's yearly amount per person-year in employment or education (instead of the base state: benefits
      saved, taxes gained, services avoided; positive = good for the payer);
    * net benefit ``B_t = sum_j (G_jt - C_jt)``, discounted ``B_t (1 + r)^-t`` (the first year is not
      discounted), cumulative discounted net benefit ``K_t``;
    * break-even year: the first year ``t`` with ``K_t >= 0``, counted from the first year with
      participants in the programme; ``None`` when ``K_t < 0`` throughout the projection (then the
      programme does not pay for itself within the horizon).

    The projection ends ``H`` years after the last exit (year ``max e + H - 1``), so every cohort
    contributes exactly ``H`` years of consequences.  SØM calls the net benefit the budget-economic net
    result (*budgetøkonomisk nettoresultat*); see Socialstyrelsen, "Sådan regner SØM" (2019), and for
    budget impact analysis in general Sullivan SD et al., Value Health 2014;17:5-14.

    Parameters
    ----------
    intake
        Starts in each year of operation (the list's length is the number of years of operation; write
        0 for years without starts).  Everyone must have left by the last year of operation.
    duration
        Years in the programme: a whole number, or a distribution ``{years: probability}`` (e.g.
        ``{1: 0.5, 2: 0.5}``; TOML keys ``"1"``, ``"2"`` are accepted) summing to 1.
    cost_per_participant
        Net cost of one participant's course against the comparator (any sign).
    effect
        Effect on the share in employment or education, as a proportion (0.134 for 13.4 percentage
        points), in ``[-1, 1]``.
    values
        Consequence items: a list of ``{"name", "kind", "by_payer": {payer: amount}}`` or a mapping
        ``name -> {payer: amount}``; each amount is per person-year in employment or education.
    retention
        Share of the effect kept from one year after exit to the next, in ``[0, 1]`` (1 = no fading).
    horizon
        Years of consequences from the exit year (SØM: up to 10).
    discount_rate
        Yearly rate in ``[0, 1)``; default 3.5 %, the Danish social discount rate (Finansministeriet 2021).
    cost_payers
        Shares of the programme cost by payer, summing to 1; default all on the municipality.
    payers
        The payers (default municipality, region, state).
    start_year
        Calendar label of the first year of operation.
    intervention, comparator, title, unit
        Labels: the rows' contrast is ``"<intervention> vs <comparator>"`` (the SØM IPS example sets
        ``intervention = "IPS"``), the title and the currency unit.
    analysis
        The ARD ``analysis`` name of the rows.

    The SØM IPS example (``analysis/som_ips_2021.toml``) takes from Socialstyrelsen's 2021 example
    calculation: 4 years of operation, 50 starts in each of the first 3, 1-2 years in the programme, a
    10-year horizon from the exit year, a net cost of about 5,300 DKK per participant and +13.4
    percentage points in employment or education.  Everything else there is an assumption stated in the
    file: half of each cohort stays 1 year and half 2; the cost falls on the municipality, spread evenly
    over the years in the programme; no consequences are counted while participants are in the
    programme; the effect is kept at 0.9 a year after exit (Projekt Inklusion: 13.4 pp at 18 months, 12
    pp at 30 months, 12/13.4 = 0.90); a person in employment or education is off benefits and working
    0.3 of a year (Inklusion: 25 weeks of competitive work in 30 months, 65 % ever employed: 38 of 130
    weeks); benefit: kontanthjælp for people over 30, 11,698 DKK a month (2021, the lowest rate), 20 %
    reimbursed by the state (the refund rate after 52 weeks on benefits); wage 20,000 DKK a month worked;
    taxes: labour-market contribution 8 % (state), municipal income tax 23.5 % (Copenhagen 2021) and the
    state bottom-bracket tax 12.11 % on the change in taxable income, with the personal allowance,
    deductions, top-bracket tax and indirect taxes ignored; no regional consequence (the source documents
    give no per-person figure for psychiatric services); prices are 2021 DKK.
    """
    analysis = check_analysis(analysis)
    payers = tuple(payers)
    if not payers or len(set(payers)) != len(payers) or not all(isinstance(p, str) and p for p in payers):
        raise BudgetInputError(f"payers must be distinct non-empty names, got {payers!r}")
    starts = _intake(intake)
    stay = _duration(duration)
    cost = number(cost_per_participant, "cost_per_participant")
    delta = number(effect, "effect")
    if not -1.0 <= delta <= 1.0:
        raise BudgetInputError(
            f"effect={delta!r} must be a proportion in [-1, 1] (0.134 for 13.4 percentage points)"
        )
    rho = number(retention, "retention")
    if not 0.0 <= rho <= 1.0:
        raise BudgetInputError(
            f"retention={rho!r} must lie in [0, 1] (the share of the effect kept each year)"
        )
    h = whole(horizon, "horizon", 1, MAX_YEARS, _YEARS_WHY)
    rate = check_rate(discount_rate, "discount_rate")
    first = whole(start_year, "start_year", -(10**6), 10**6, "a calendar year, or 1 for the first year")
    shares = _payer_amounts(cost_payers or {payers[0]: 1.0}, payers, "cost_payers")
    if any(v < 0 for v in shares.values()) or abs(sum(shares.values()) - 1.0) > _SHARE_TOLERANCE:
        raise BudgetInputError(f"cost_payers shares must be >= 0 and sum to 1, got {shares}")
    items = _values(values, payers)
    value_per_year = {p: sum(item["by_payer"][p] for item in items) for p in payers}

    operation = len(starts)
    longest = max(stay)
    late = [s + 1 for s in np.flatnonzero(starts > 0) if s + longest > operation]
    if late:
        raise BudgetInputError(
            f"participants starting in year(s) {late} of operation can stay {plural(longest, 'year')}, "
            f"beyond the {plural(operation, 'year')} of operation given by intake; append zeros to intake "
            "for the years the programme keeps running"
        )
    last_exit = max(s + d - 1 for s in np.flatnonzero(starts > 0) for d in stay)
    n_years = last_exit + h
    in_programme = np.zeros(n_years)
    exits = np.zeros(n_years)
    cost_t = np.zeros(n_years)
    extra = np.zeros(n_years)
    decay = delta * rho ** np.arange(h)
    for s in np.flatnonzero(starts > 0):
        for d, p in stay.items():
            group = starts[s] * p
            in_programme[s : s + d] += group
            cost_t[s : s + d] += group * cost / d
            e = s + d - 1
            exits[e] += group
            extra[e : e + h] += group * decay
    full_starts = np.zeros(n_years)
    full_starts[:operation] = starts
    years = np.arange(n_years) + first
    frame = pd.DataFrame(
        {
            "starts": full_starts,
            "in_programme": in_programme,
            "exits": exits,
            "extra_in_work_or_education": extra,
        },
        index=pd.Index(years, name="year"),
    )
    for p in payers:
        frame[f"cost_{p}"] = cost_t * shares[p]
    frame["cost"] = cost_t
    for p in payers:
        frame[f"gain_{p}"] = extra * value_per_year[p]
    frame["gain"] = frame[[f"gain_{p}" for p in payers]].sum(axis=1)
    for p in payers:
        frame[f"net_{p}"] = frame[f"gain_{p}"] - frame[f"cost_{p}"]
    frame["net"] = frame["gain"] - frame["cost"]
    factors = discount_factors(years, first, rate)
    frame["discount_factor"] = factors
    frame["net_discounted"] = frame["net"] * factors
    frame["cumulative_net"] = frame["net"].cumsum()
    frame["cumulative_discounted"] = frame["net_discounted"].cumsum()
    for p in payers:
        frame[f"cumulative_discounted_{p}"] = (frame[f"net_{p}"] * factors).cumsum()

    active_from = int(np.flatnonzero(in_programme > 0)[0])
    cumulative = frame["cumulative_discounted"].to_numpy()
    hits = [t for t in range(active_from, n_years) if cumulative[t] >= 0]
    break_even = int(years[hits[0]]) if hits else None
    npv_by_payer = {p: float((frame[f"net_{p}"] * factors).sum()) for p in payers}
    parameters = {
        "intake": starts.tolist(),
        "duration": stay,
        "cost_per_participant": cost,
        "effect": delta,
        "retention": rho,
        "horizon": h,
        "discount_rate": rate,
        "cost_payers": shares,
        "values": items,
        "value_per_person_year": value_per_year,
        "start_year": first,
    }
    return ProjectionResult(
        yearly=frame,
        payers=payers,
        break_even_year=break_even,
        npv=float(frame["net_discounted"].sum()),
        npv_by_payer=npv_by_payer,
        participants=float(starts.sum()),
        cost_total=float(cost_t.sum()),
        extra_person_years=float(extra.sum()),
        parameters=parameters,
        name=str(title),
        intervention=str(intervention),
        comparator=str(comparator),
        unit=str(unit),
        analysis=analysis,
    )


_PROJECTION_KEYS = {
    "intake",
    "duration",
    "cost_per_participant",
    "effect",
    "values",
    "retention",
    "horizon",
    "discount_rate",
    "cost_payers",
    "payers",
    "start_year",
    "intervention",
    "comparator",
    "title",
    "unit",
    "analysis",
}
_METADATA_KEYS = {"kind", "source", "price_year", "notes"}


def projection_from_dict(data: Mapping[str, Any]) -> ProjectionResult:
    """Run :func:`cohort_projection` with the keys of a mapping (the TOML layout of
    :func:`projection_from_toml`); ``kind``, ``source``, ``price_year`` and ``notes`` are metadata."""
    check_document(data, "projection", "a projection", _PROJECTION_KEYS | _METADATA_KEYS)
    missing = [k for k in ("intake", "duration", "cost_per_participant", "effect", "values") if k not in data]
    if missing:
        raise BudgetInputError(f"a projection needs {', '.join(missing)}")
    args = {key: data[key] for key in _PROJECTION_KEYS if key in data}
    positional = [args.pop(k) for k in ("intake", "duration", "cost_per_participant", "effect", "values")]
    return cohort_projection(*positional, **args)


def projection_from_toml(path: str | Path) -> ProjectionResult:
    """Read a projection from a TOML file and run it.

    Keys: ``kind = "projection"``, the arguments of :func:`cohort_projection` by name (``intake`` as a
    list, ``duration`` as a whole number or an inline table such as ``{1 = 0.5, 2 = 0.5}``,
    ``cost_payers`` as an inline table, ``[[values]]`` tables with ``name``, ``kind``, ``by_payer`` and an
    optional ``description``), and the metadata ``source``, ``price_year``, ``notes``.
    """
    return projection_from_dict(read_toml(path))
