"""Costs by category, payer perspectives, price-year indexing and discounting.

* :func:`costs_by_category` -- per-arm mean costs and Welch mean differences for each cost
  category and for their sum, so the total difference is exactly the sum of the category
  differences (one set of participants for every category).
* :data:`PERSPECTIVES`, :func:`perspective_categories`, :func:`perspective_cost` -- which cost
  categories count from the municipal, the regional and the societal perspective, given who pays
  for each category, and the per-participant total from a perspective.
* :func:`index_prices` -- move amounts from one price year to another with a price index.
* :func:`discount`, :func:`discount_factors` -- present values at a constant annual rate (Danish
  Finance Ministry 2021: 3.5 % a year for years 0-35).

The Danish payer convention assumed (Projekt Inklusion; Christensen et al., Eur Psychiatry 2020/21)
---------------------------------------------------------------------------------------------
Payers are ``"municipality"``, ``"region"``, ``"state"``, ``"other"`` (e.g. private or
out-of-pocket) and ``"transfer"`` (income transfers to citizens: social assistance, sickness and
unemployment benefits, disability pension).

* Municipalities pay the jobcentre services (employment measures), the social services and the IPS
  service itself; they also pay out most income transfers (with a partial state refund, not
  separated here: transfers are counted gross).
* Regions pay hospital care: psychiatric inpatient, outpatient and emergency care.
* ``"municipal"`` (the municipal budget perspective) counts the municipal services **and** the
  transfers, because transfer payments are spending in a municipal budget.
* ``"regional"`` counts the regional (health care) costs.
* ``"societal"`` counts every service cost whoever pays (municipality, region, state, other) and
  **excludes** transfers: they move money between citizens and the state without using resources
  (Drummond et al. 2015, the chapter on cost analysis; Danish Finance Ministry 2017 guidance on socio-economic
  assessments), so counting them would double count.

:data:`INKLUSION_PAYERS` maps the cost columns of the synthetic trial
(:mod:`ipstrial.synthetic`) to their payers under this convention.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._checks import check_alpha, check_analysis, check_number, column_names
from ipstrial._docs import shared_params
from ipstrial._inputs import gate, participants, source
from ipstrial.errors import EstimationError, ParameterError, Problem, TrialDataError
from ipstrial.results import Result, Row, contrast_extra, contrast_label, excluded_extra

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "CONVENTIONS",
    "INKLUSION_PAYERS",
    "PAYERS",
    "PERSPECTIVES",
    "CostsByCategory",
    "costs_by_category",
    "discount",
    "discount_factors",
    "index_prices",
    "perspective_categories",
    "perspective_cost",
]

PAYERS: tuple[str, ...] = ("municipality", "region", "state", "other", "transfer")
"""Who pays for a cost category (``"transfer"``: income transfers to citizens)."""

PERSPECTIVES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "municipal": frozenset({"municipality", "transfer"}),
        "regional": frozenset({"region"}),
        "societal": frozenset({"municipality", "region", "state", "other"}),
    }
)
"""Perspective -> the payers whose categories count (see the module docstring for the convention)."""

INKLUSION_PAYERS: Mapping[str, str] = MappingProxyType(
    {
        "cost_ips": "municipality",
        "cost_jobcentre": "municipality",
        "cost_social": "municipality",
        "cost_psych_inpatient": "region",
        "cost_psych_outpatient": "region",
        "cost_emergency": "region",
        "transfers_18m": "transfer",
    }
)
"""Category -> payer for the cost columns of the synthetic Projekt Inklusion trial."""

CONVENTIONS: Mapping[str, float] = MappingProxyType({"end": 0.0, "mid": 0.5, "start": 1.0})
"""Timing convention -> how many years before the label's time point the year's amounts fall."""


# ---------------------------------------------------------------------------------------------
# costs by category
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CostsByCategory(Result):
    """Per-arm mean costs and mean differences for each category and their total.

    ``arms`` has one row per (``outcome``, ``arm``): ``n, mean, sd, se, ci_low, ci_high`` (arms in the
    declared order); ``differences`` one row per (``outcome``, ``contrast``): ``estimate, se, df,
    ci_low, ci_high, p_value, n`` (contrasts in the order of the treatments). ``outcome`` runs over the
    categories and then ``total`` (their sum).
    """

    categories: tuple[str, ...]
    total: str
    treatments: tuple[str, ...]
    control: str
    arms: pd.DataFrame
    differences: pd.DataFrame
    alpha: float = 0.05
    analysis: str = "economics_costs_by_category"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Costs by category: " + ", ".join(contrast_label(t, self.control) for t in self.treatments)

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The categories, then the total."""
        return (*self.categories, self.total)

    @property
    def excluded(self) -> dict[str, int]:
        """Participants excluded per arm by ``missing="complete-case"`` (0 where none)."""
        return self.inputs.excluded_per_arm(tuple(pd.unique(self.arms.arm)))  # type: ignore[union-attr]

    def rows(self) -> tuple[Row, ...]:
        out = []
        for outcome in self.outcomes:
            component = "total" if outcome == self.total else "category"
            for r in self.arms[self.arms.outcome == outcome].itertuples(index=False):
                extra = {"component": component, "sd": r.sd} | excluded_extra(self.inputs, r.arm)
                out.append(
                    self._row(
                        r.arm,
                        "mean",
                        r.mean,
                        se=r.se,
                        ci_low=r.ci_low,
                        ci_high=r.ci_high,
                        method="mean, t interval (n - 1 df)",
                        n=int(r.n),
                        outcome=outcome,
                        extra=extra,
                    )
                )
            for r in self.differences[self.differences.outcome == outcome].itertuples(index=False):
                extra = {"component": component, "df": r.df} | contrast_extra(
                    self.inputs, r.treatment, self.control
                )
                method = "Welch" if math.isfinite(r.se) else "difference of means; no variation, no interval"
                out.append(
                    self._row(
                        r.contrast,
                        "delta_cost",
                        r.estimate,
                        se=r.se,
                        ci_low=r.ci_low,
                        ci_high=r.ci_high,
                        p_value=r.p_value,
                        method=method,
                        n=int(r.n),
                        outcome=outcome,
                        extra=extra,
                    )
                )
        return tuple(out)

    def plot(self, ax: Axes | None = None, *, colors: Mapping[str, str] | None = None) -> Axes:
        """Mean differences (treatment - control) with their intervals, one line per category and the total.

        Each treatment arm has its colour of the trial's palette (:func:`ipstrial.report.palette.arm_colors`
        over the treatments and the control, unless ``colors`` is given); categories read by their labels
        (:func:`ipstrial.report.format.current_labels`); amounts have thousands separators and the currency
        of the categories' unit. Each contrast's points carry ``gid="delta:<contrast>"``.

        Parameters
        ----------
        ax
            The axes to draw on (a new figure when None).
        colors
            ``{arm: colour}`` covering the treatment arms.
        """
        import matplotlib.pyplot as plt

        from ipstrial.report.figures import money_axis
        from ipstrial.report.format import current_labels
        from ipstrial.report.palette import figure_style, resolve_colors

        labels = current_labels()
        outcomes = list(self.outcomes)
        contrasts = list(pd.unique(self.differences.contrast))
        arms = [*self.treatments, self.control]
        palette = resolve_colors(colors, [str(a) for a in arms])
        units = {labels.unit(c) for c in self.categories} - {None}
        currency = next(iter(units)) if len(units) == 1 else ""
        with figure_style():
            if ax is None:
                _, ax = plt.subplots(
                    figsize=(7, 0.45 * len(outcomes) * max(1, len(contrasts)) + 1.6), layout="constrained"
                )
            height = 0.8 / max(1, len(contrasts))
            for c, contrast in enumerate(contrasts):
                d = self.differences[self.differences.contrast == contrast].set_index("outcome").loc[outcomes]
                y = np.arange(len(outcomes)) + (c - (len(contrasts) - 1) / 2) * height
                treatment = str(contrast).split(" vs ")[0]
                ax.errorbar(
                    d.estimate,
                    y,
                    xerr=[d.estimate - d.ci_low, d.ci_high - d.estimate],
                    fmt="o",
                    capsize=3,
                    color=palette.get(treatment),
                    label=contrast,
                    gid=f"delta:{contrast}",
                )
            ax.axvline(0, color="0.5", lw=0.8)
            names = ["Total" if o == self.total else labels.label(o) for o in outcomes]
            ax.set_yticks(np.arange(len(outcomes)), names)
            ax.invert_yaxis()
            money_axis(ax.xaxis)
            ax.tick_params(axis="x", labelrotation=30)
            level = int(round((1 - self.alpha) * 100))
            unit = f", {currency}" if currency else ""
            ax.set_xlabel(f"Difference in mean cost per participant{unit} ({level}% CI)")
            ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return ax


@shared_params
def costs_by_category(
    data: Any,
    categories: str | Sequence[str],
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    total: str = "total",
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "economics_costs_by_category",
) -> CostsByCategory:
    """Per-arm mean costs and mean differences (treatment - control) by category and in total.

    For each category ``k`` and arm ``a``: ``ȳ_ka ± t_{n_a-1,1-α/2} s_ka/√n_a``; for each contrast the
    Welch (1947) difference ``Δ_k = ȳ_k1 - ȳ_k0`` with ``se = √(s_k1²/n_1 + s_k0²/n_0)``,
    Welch-Satterthwaite degrees of freedom, a t interval and p-value (as R's
    ``t.test(var.equal=FALSE)``). The total is the per-participant sum of the categories
    ``T = Σ_k y_k``, analysed the same way, so ``Δ_T = Σ_k Δ_k`` exactly (the means are linear; the
    standard error of the total accounts for the correlation between categories, which the
    category standard errors do not). An arm in which a category does not vary gets SE 0 and no
    interval (as R's ``t.test``); a contrast in which neither arm varies (e.g. an IPS service
    cost that is 0 for everybody in both arms) gets the exact difference with no SE, interval or
    p-value.

    Parameters
    ----------
    @params data
    categories
        The cost columns (e.g. :data:`ipstrial.synthetic.COST_CATEGORIES`); finite non-negative numbers.
    @params arm
    total
        The outcome name, in the rows, of the sum of the categories (a label of the result, not a
        column; it must not be a category).
    @params alpha
    missing
        ``None``: a missing value in any category is an error naming the participants;
        ``"complete-case"``: participants missing any category are excluded from every category
        and the total (so the categories still add up to the total), counted per arm.
    @params id analysis

    Raises
    ------
    TrialDataError
        Unknown columns or arms, duplicated ids, non-numeric or negative costs (naming the
        participants), missing values without ``missing="complete-case"``.
    EstimationError
        An arm with fewer than two participants analysed.
    ParameterError
        Bad ``alpha``, ``total``, ``analysis`` or an empty list of categories.
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    names = column_names(categories, "categories", allow_empty=False)
    if not isinstance(total, str) or not total:
        raise ParameterError(f"total must be a non-empty name (str), got {total!r}")
    if total in names:
        raise ParameterError(f"total={total!r} is also a category; give the total another name")
    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        outcomes={c: "costs" for c in names},
        missing=missing,
    )
    values = np.column_stack([sample.values[c] for c in names])
    group = sample.arms
    treatments, control_label, order = sample.treatments, sample.control, sample.order
    small = [a for a in order if np.sum(group == a) < 2]
    if small:
        raise EstimationError(
            f"arm(s) {small} have fewer than 2 participants with every category known: no SD or interval"
        )
    from scipy import stats

    outcomes = (*names, total)
    matrix = np.column_stack([values, values.sum(axis=1)])
    arm_rows = []
    diff_rows = []
    for j, outcome in enumerate(outcomes):
        by_arm = {a: matrix[group == a, j] for a in order}
        for a in order:
            v = by_arm[a]
            n, mean, sd = v.size, float(np.mean(v)), float(np.std(v, ddof=1))
            se = sd / math.sqrt(n)
            # no variation in the arm: SE 0 and no interval, as R's t.test
            q = float(stats.t.ppf(1 - alpha / 2, n - 1)) if sd > 0 else math.nan
            arm_rows.append(
                dict(
                    outcome=outcome,
                    arm=a,
                    n=n,
                    mean=mean,
                    sd=sd,
                    se=se,
                    ci_low=mean - q * se,
                    ci_high=mean + q * se,
                )
            )
        v0 = by_arm[control_label]
        for t in treatments:
            v1 = by_arm[t]
            diff_rows.append(
                {
                    "outcome": outcome,
                    "contrast": contrast_label(t, control_label),
                    "treatment": t,
                    **_welch(v1, v0, alpha),
                }
            )
    return CostsByCategory(
        names,
        total,
        treatments,
        control_label,  # type: ignore[arg-type]
        pd.DataFrame(arm_rows),
        pd.DataFrame(diff_rows),
        alpha,
        analysis,
        inputs=sample.inputs,
    )


def _welch(v1: np.ndarray, v0: np.ndarray, alpha: float) -> dict[str, float]:
    """Welch's difference of means ``v1 - v0`` with its t interval and p-value."""
    from scipy import stats

    diff = float(np.mean(v1) - np.mean(v0))
    a1, a0 = np.var(v1, ddof=1) / v1.size, np.var(v0, ddof=1) / v0.size
    n = int(v1.size + v0.size)
    if a1 + a0 == 0:
        nan = math.nan
        return dict(estimate=diff, se=nan, df=nan, ci_low=nan, ci_high=nan, p_value=nan, n=n)
    se = math.sqrt(a1 + a0)
    df = (a1 + a0) ** 2 / (a1**2 / (v1.size - 1) + a0**2 / (v0.size - 1))
    q = float(stats.t.ppf(1 - alpha / 2, df))
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return dict(
        estimate=diff, se=se, df=float(df), ci_low=diff - q * se, ci_high=diff + q * se, p_value=p, n=n
    )


# ---------------------------------------------------------------------------------------------
# perspectives
# ---------------------------------------------------------------------------------------------


def _payer_of(categories_by_payer: Mapping[str, object]) -> dict[str, str]:
    """Normalise the payer mapping to category -> payer.

    Accepted: ``{category: payer}`` (every value a string) or ``{payer: [categories]}`` (every
    value a list or tuple of column names).
    """
    if not isinstance(categories_by_payer, Mapping) or not categories_by_payer:
        raise ParameterError(
            "categories_by_payer must be a non-empty mapping, either {category: payer} or "
            "{payer: [categories]}; "
            f"payers are {list(PAYERS)} (e.g. ipstrial.economics.costs.INKLUSION_PAYERS)"
        )
    values = list(categories_by_payer.values())
    if all(isinstance(v, str) for v in values):
        payer_of = {str(k): str(v) for k, v in categories_by_payer.items()}
    elif all(isinstance(v, Sequence) and not isinstance(v, str) for v in values):
        payer_of = {}
        for payer, columns in categories_by_payer.items():
            for column in columns:  # type: ignore[union-attr]
                if column in payer_of:
                    raise ParameterError(
                        f"category {column!r} is listed under two payers: {payer_of[column]!r} and {payer!r}"
                    )
                payer_of[str(column)] = str(payer)
    else:
        raise ParameterError(
            "categories_by_payer mixes forms: give either {category: payer} (strings) or "
            "{payer: [categories]} (lists)"
        )
    unknown = {c: p for c, p in payer_of.items() if p not in PAYERS}
    if unknown:
        raise ParameterError(
            f"unknown payer(s) {unknown} (category: payer); payers are {list(PAYERS)}. If you meant "
            "{payer: category}, give each payer a list of categories"
        )
    return payer_of


def perspective_categories(categories_by_payer: Mapping[str, object], perspective: str) -> tuple[str, ...]:
    """The cost categories that count from ``perspective``, in the order given.

    ``perspective`` is a key of :data:`PERSPECTIVES` (``"municipal"``, ``"regional"``,
    ``"societal"``); a category counts when its payer is one of the perspective's payers (see the
    module docstring for the Danish convention: transfers count for the municipal budget, not for
    society).

    Raises
    ------
    ParameterError
        An unknown perspective or payer, or no category counting from the perspective.
    """
    if perspective not in PERSPECTIVES:
        raise ParameterError(f"unknown perspective {perspective!r}; choose one of {list(PERSPECTIVES)}")
    payer_of = _payer_of(categories_by_payer)
    counted = tuple(c for c, p in payer_of.items() if p in PERSPECTIVES[perspective])
    if not counted:
        raise ParameterError(
            f"no category is paid by {sorted(PERSPECTIVES[perspective])}, so nothing counts from the "
            f"{perspective!r} perspective; the payers given are {payer_of}"
        )
    return counted


@shared_params
def perspective_cost(
    data: Any,
    categories_by_payer: Mapping[str, object],
    perspective: str,
    *,
    id: str | None = None,
) -> pd.Series:
    """The per-participant cost from a perspective: ``Σ_{k counted} y_k``.

    The categories counted are :func:`perspective_categories` (e.g. with
    :data:`INKLUSION_PAYERS`: municipal = IPS service + jobcentre + social services + transfers;
    regional = psychiatric inpatient + outpatient + emergency care; societal = all six service
    categories, no transfers).

    Parameters
    ----------
    data
        One row per participant (a DataFrame or an :class:`ipstrial.Trial`).
    categories_by_payer
        ``{category: payer}`` or ``{payer: [categories]}`` (payers in :data:`PAYERS`).
    perspective
        A key of :data:`PERSPECTIVES`.
    @params id

    Returns
    -------
    pandas.Series
        Named ``cost_<perspective>``, on ``data``'s index, with ``attrs["categories"]`` the columns summed.

    Raises
    ------
    ParameterError
        An unknown perspective or payer.
    TrialDataError
        A counted column that is absent, repeated, non-numeric, negative, infinite or missing (naming the
        participants; impute or exclude them first -- nothing is dropped silently); duplicated ids.
    """
    counted = perspective_categories(categories_by_payer, perspective)
    frame, id = source(data, id)
    problems, who = participants(frame, {c: "cost" for c in counted}, id)
    columns = []
    for column in counted:
        values, gone, found = columns_.numbers_of(frame[column], "costs", who)
        problems += found
        if gone.any():
            problems.append(
                Problem(
                    column,
                    f"{int(gone.sum())} missing costs",
                    "impute the missing costs (e.g. ipstrial.missing) or restrict the data to the "
                    "participants to analyse; a perspective total is not computed from part of the "
                    "categories",
                    **who.offending(gone),
                )
            )
        columns.append(values)
    if problems:
        raise TrialDataError(problems)
    result = pd.Series(
        np.sum(np.column_stack(columns), axis=1), index=frame.index, name=f"cost_{perspective}"
    )
    result.attrs["categories"] = counted
    result.attrs["perspective"] = perspective
    return result


# ---------------------------------------------------------------------------------------------
# price-year indexing
# ---------------------------------------------------------------------------------------------


def _year(value: object, what: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{what} must be a whole year, got {value!r}")
    if not float(value).is_integer():
        raise ParameterError(f"{what} must be a whole year, got {value!r}")
    return int(value)


def _index_table(index: Mapping[int, float] | pd.Series | pd.DataFrame) -> dict[int, float]:
    """The price index as ``{year: level}`` from a mapping, a Series or a DataFrame."""
    if isinstance(index, pd.DataFrame):
        if "year" in index.columns:
            others = [c for c in index.columns if c != "year"]
            column = "index" if "index" in others else (others[0] if len(others) == 1 else None)
            if column is None:
                raise ParameterError(
                    f"the index table has columns {list(index.columns)}: give 'year' and one value column "
                    "(or a column named 'index')"
                )
            pairs = zip(index["year"], index[column], strict=True)
        elif index.shape[1] == 1:
            pairs = zip(index.index, index.iloc[:, 0], strict=True)
        else:
            raise ParameterError(
                f"the index table has columns {list(index.columns)}: give a 'year' column and one value "
                "column"
            )
    elif isinstance(index, pd.Series):
        pairs = zip(index.index, index.to_numpy(), strict=True)
    elif isinstance(index, Mapping):
        pairs = iter(index.items())
    else:
        raise ParameterError(
            f"index must be a mapping year -> level, a Series or a DataFrame, got {type(index).__name__}"
        )
    table: dict[int, float] = {}
    for year, level in pairs:
        y = _year(year, "an index year")
        if y in table:
            raise ParameterError(f"the index table lists year {y} twice")
        value = float(level)
        if not math.isfinite(value) or value <= 0:
            raise ParameterError(
                f"the price index for {y} is {level!r}; index levels must be positive numbers"
            )
        table[y] = value
    if not table:
        raise ParameterError("the index table is empty")
    return table


def index_prices(
    amounts: float | Sequence[float] | np.ndarray | pd.Series | pd.DataFrame,
    from_year: int | Sequence[int] | np.ndarray,
    to_year: int,
    index: Mapping[int, float] | pd.Series | pd.DataFrame,
) -> float | np.ndarray | pd.Series | pd.DataFrame:
    """Move amounts from the prices of ``from_year`` to those of ``to_year``: ``x · I(to) / I(from)``.

    Drummond et al. (2015), the chapter on cost analysis: costs measured in different years are
    brought to one price year with a price index ``I`` (in Denmark e.g. Statistics Denmark's consumer
    price index, or a public-sector price and wage index for service costs).

    Parameters
    ----------
    amounts
        A number, a sequence or array, a Series or a DataFrame; the result has the same form.
    from_year
        The price year of the amounts: one year, or one per element of a 1-D ``amounts`` (e.g. each
        participant's cost recorded in the year it arose).
    to_year
        The target price year.
    index
        The index levels: a mapping ``{year: level}``, a Series indexed by year, or a DataFrame with
        a ``year`` column and one value column (or a column named ``index``).

    Raises
    ------
    ParameterError
        A year missing from the index table (naming it and the years available), non-positive
        index levels, non-whole years.
    """
    table = _index_table(index)
    target = _year(to_year, "to_year")
    if isinstance(from_year, Sequence | np.ndarray | pd.Series) and not isinstance(from_year, str):
        years = [_year(y, "from_year") for y in np.asarray(from_year, dtype=object).ravel()]
    else:
        years = [_year(from_year, "from_year")]
    missing_years = sorted({y for y in [*years, target] if y not in table})
    if missing_years:
        raise ParameterError(
            f"the price index has no value for year(s) {missing_years}; it covers {min(table)}-{max(table)} "
            f"({columns_.plural(len(table), 'year')}): extend the index table"
        )
    factors = np.array([table[target] / table[y] for y in years])
    factor: float | np.ndarray = float(factors[0]) if len(years) == 1 and np.ndim(from_year) == 0 else factors
    if isinstance(amounts, pd.DataFrame):
        if np.ndim(factor):
            if len(factors) != len(amounts):
                raise ParameterError(
                    f"from_year has {columns_.plural(len(factors), 'year')} for "
                    f"{columns_.plural(len(amounts), 'row')} of amounts"
                )
            return amounts.mul(factors, axis=0)
        return amounts * factor
    if isinstance(amounts, pd.Series):
        if np.ndim(factor) and len(factors) != len(amounts):
            raise ParameterError(
                f"from_year has {columns_.plural(len(factors), 'year')} for "
                f"{columns_.plural(len(amounts), 'amount')}"
            )
        return amounts * factor
    values = np.asarray(amounts, dtype=float)
    if np.ndim(factor) and (values.ndim != 1 or values.size != len(factors)):
        raise ParameterError(
            f"from_year has {columns_.plural(len(factors), 'year')} for amounts of shape {values.shape}"
        )
    out = values * factor
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------
# discounting
# ---------------------------------------------------------------------------------------------


def _check_rate(rate: float) -> float:
    if isinstance(rate, bool | np.bool_) or not isinstance(rate, numbers.Real):
        raise ParameterError(f"rate must be a number in [0, 1) (e.g. 0.035 for 3.5 %), got {rate!r}")
    value = float(rate)
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise ParameterError(
            f"discount rate {rate!r} is outside [0, 1): give an annual rate as a fraction, e.g. 0.035 "
            "for the Danish 3.5 %"
        )
    return value


def _floats(values: Any, name: str, what: str) -> np.ndarray:
    """``values`` as a float array, or a ParameterError naming the argument and the first bad entries."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        pass
    flat = np.asarray(values, dtype=object).ravel()
    bad = []
    for v in flat:
        try:
            float(v)
        except (TypeError, ValueError):
            bad.append(v)
    shown = columns_.fmt_values(bad) if bad else repr(values)[:60]
    raise ParameterError(f"{name}: {what} must be numbers, got {shown}")


def discount_factors(
    years: Sequence[float] | np.ndarray,
    *,
    rate: float = 0.035,
    base_year: float = 0,
    convention: Literal["end", "start", "mid"] = "end",
) -> np.ndarray:
    """Discount factors ``(1 + r)^-(t - base - s)`` for the years ``t``.

    Timing: a year's amounts are valued at one point in time. Years are labelled so that year ``t``
    ends at time ``t`` (the interval ``(t - 1, t]``) and values are discounted to time ``base_year``;
    the convention sets where in its year an amount falls, ``s`` years before the end: ``"end"``
    ``s = 0``, ``"mid"`` ``s = 0.5``, ``"start"`` ``s = 1``. Hence the factor is 1 for year
    ``base_year`` under ``"end"`` (the default: the standard present value
    ``Σ_t c_t / (1 + r)^(t - base)``, in which year 0 -- now -- is not discounted, as in the Danish
    Finance Ministry's "years 0-35"), for year ``base_year + 1`` under ``"start"`` (the first year
    after the base is not discounted) and for no whole year under ``"mid"``. Years before the
    valuation time get factors above 1 (amounts are compounded forward).

    The Danish Finance Ministry (2021, documentation note on the social discount rate) recommends
    3.5 % a year for years 0-35, 2.5 % for years 36-70 and 1.5 % thereafter; this function applies
    one constant rate, right for horizons up to 35 years.

    Parameters
    ----------
    years
        The year labels ``t`` (finite numbers).
    rate
        Annual discount rate as a fraction in ``[0, 1)``; default 0.035 (the Danish rate for years 0-35).
    base_year
        The time values are discounted to.
    convention
        Where in its year an amount falls: ``"end"``, ``"mid"`` or ``"start"``.

    Raises
    ------
    ParameterError
        A rate outside ``[0, 1)`` (naming it), an unknown convention, non-finite years.
    """
    r = _check_rate(rate)
    if convention not in CONVENTIONS:
        raise ParameterError(f"unknown convention {convention!r}; choose one of {list(CONVENTIONS)}")
    if isinstance(years, str | bytes):
        raise ParameterError(f"years must be a sequence of year numbers, got {years!r}")
    t = _floats(years, "years", "the year labels")
    if not np.all(np.isfinite(t)):
        raise ParameterError(f"years must be finite numbers, got {t[~np.isfinite(t)][:5].tolist()}")
    base = check_number(base_year, "base_year")
    return (1.0 + r) ** -(t - base - CONVENTIONS[convention])


def discount(
    amounts_by_year: Mapping[float, float] | Sequence[float] | np.ndarray | pd.Series | pd.DataFrame,
    *,
    rate: float = 0.035,
    base_year: float = 0,
    convention: Literal["end", "start", "mid"] = "end",
) -> float | pd.Series:
    """The present value ``PV = Σ_t c_t (1 + r)^-(t - base - s)`` of amounts by year.

    See :func:`discount_factors` for the timing convention (default ``"end"``: year ``base_year``
    has factor 1, year ``base_year + k`` is divided by ``(1 + r)^k``) and the Danish rate (Finance
    Ministry 2021: 3.5 % a year for years 0-35). Drummond et al. (2015), ch. 4 (discounting).

    Parameters
    ----------
    amounts_by_year
        A mapping ``{year: amount}``; a Series indexed by year; a DataFrame with the years as its
        index (each column is discounted, e.g. one column per arm or participant); or a plain
        sequence / 1-D array, taken as years ``base_year, base_year + 1, ...``.
    rate
        Annual discount rate as a fraction in ``[0, 1)``; default 0.035.
    base_year, convention
        As in :func:`discount_factors`.

    Returns
    -------
    float, or a Series (one present value per column) for a DataFrame.

    Raises
    ------
    ParameterError
        A rate outside ``[0, 1)`` (naming it), an unknown convention, missing amounts (naming the
        years).
    """
    base = check_number(base_year, "base_year")
    name = "amounts_by_year"
    if isinstance(amounts_by_year, pd.DataFrame | pd.Series):
        years = _floats(amounts_by_year.index, name, "the years (the index)")
        values = _floats(amounts_by_year.to_numpy(), name, "the amounts")
    elif isinstance(amounts_by_year, Mapping):
        years = _floats(list(amounts_by_year.keys()), name, "the years (the keys)")
        values = _floats(list(amounts_by_year.values()), name, "the amounts (the values)")
        if values.ndim != 1:
            raise ParameterError(
                f"{name}: each year maps to one amount (a number), got {amounts_by_year!r:.60}"
            )
    elif isinstance(amounts_by_year, str | bytes) or not isinstance(amounts_by_year, Sequence | np.ndarray):
        raise ParameterError(
            f"{name} must be a mapping {{year: amount}}, a Series or DataFrame indexed by year, or a "
            f"sequence of amounts (one a year from base_year), got {amounts_by_year!r:.60} "
            f"({type(amounts_by_year).__name__})"
        )
    else:
        values = _floats(amounts_by_year, name, "the amounts")
        if values.ndim != 1:
            raise ParameterError(
                "amounts_by_year as an array must be one-dimensional (one amount a year), got shape "
                f"{values.shape}; use a DataFrame with the years as index for several series"
            )
        years = base + np.arange(values.size, dtype=float)
    if len(np.unique(years)) != len(years):
        raise ParameterError("amounts_by_year lists a year more than once")
    factors = discount_factors(years, rate=rate, base_year=base_year, convention=convention)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = bad.any(axis=1) if values.ndim == 2 else bad
        raise ParameterError(f"amounts missing or not finite in year(s) {years[rows][:10].tolist()}")
    if values.ndim == 2:
        return pd.Series(factors @ values, index=amounts_by_year.columns, name="present_value")  # type: ignore[union-attr]
    return float(factors @ values)
