"""Baseline balance between randomised arms: arm x factor tables, standardised differences, tests.

For every baseline factor, :func:`balance` tabulates the arms (counts and column percentages for
a categorical factor, mean (SD) for a numeric one), computes the standardised mean difference
(SMD) between every pair of arms (Austin, Stat Med 2009;28:3083-3107, eqs. 1 and 2) and a test of
no difference across all arms (Pearson chi-square for categorical factors, one-way ANOVA F for
numeric ones). A missing factor value is never dropped: it is counted and shown as its own level
``"missing"`` (for a numeric factor, next to the mean (SD) of the known values).

Significance tests of baseline differences answer a narrow question. CONSORT 2010 (Moher et al.,
BMJ 2010;340:c869, explanation of item 15) and Altman (The Statistician 1985;34:125-136) point out
that in a properly randomised trial every baseline difference arises by chance, so such a test
assesses the randomisation process (was the allocation followed, was it subverted?), not whether
the arms are comparable on prognostic factors. Judge balance by the size of the differences
(|SMD| above 0.1 is a common flag, Austin 2009) and by how strongly a factor predicts the outcome.

ARD rows (``BalanceResult.rows()``), all with ``analysis="randomization_balance"`` (or the ``analysis=``
given), ``outcome`` the factor's name, ``variant`` ``"<factor>=<level>"`` for the rows of one level
(``""`` for the test of the factor) and an extra column ``quantity`` that says what the row holds:

* ``quantity="count"``: estimand ``"proportion"``, contrast the arm, estimate the column proportion
  of a level (extras ``level`` and ``count``; ``n`` = participants in the arm);
* ``quantity="mean"``: estimand ``"mean"``, contrast the arm, estimate the mean of the known values,
  ``se`` = SD/sqrt(n), extra ``sd`` (``n`` = known values in the arm);
* ``quantity="smd"``: estimand ``"mean_difference"`` with extra ``scale="standardised"``, contrast
  ``"A vs B"``, estimate the signed SMD of A minus B (extra ``level``: the level of a categorical
  factor, ``"mean (SD)"`` for a numeric one, ``"missing"`` for the share of missing values);
* ``quantity="test"``: for categorical factors estimand ``"chi_square"`` with the Pearson statistic
  as estimate and extra ``df``; for numeric factors estimand ``"mean_difference"`` (the null
  hypothesis: no difference in means between the arms) with estimate NaN, the F statistic in the
  extra ``statistic`` and the degrees of freedom in ``df1`` and ``df2``. The contrast names all arms,
  ``"A vs B vs C"``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_analysis, check_choice, column_names
from ipstrial._columns import floats_of
from ipstrial._docs import shared_params
from ipstrial._inputs import gate
from ipstrial.errors import ParameterError, Problem, TrialDataError
from ipstrial.results import Result, Row, contrast_label, format_number, format_p

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ipstrial.trial import Trial

__all__ = ["BASELINE_TEST_CAUTION", "BalanceResult", "balance"]

MISSING_LEVEL = "missing"
NUMERIC_LEVEL = "mean (SD)"
SMD_THRESHOLD = 0.1

BASELINE_TEST_CAUTION = (
    "Caution (CONSORT 2010, item 15; Altman 1985): baseline significance tests assess the randomization "
    "process, not the prognostic balance of the arms; in a properly randomised trial every baseline "
    "difference is due to chance. Judge balance by the size of the differences (e.g. |SMD| > 0.1) and "
    "the prognostic strength of each factor."
)


def _smd_means(m1: float, s1: float, m2: float, s2: float) -> float:
    """(m1 - m2) / sqrt((s1^2 + s2^2) / 2) (Austin 2009, eq. 1); 0 when both are equal and SDs are zero."""
    diff = m1 - m2
    pooled = math.sqrt((s1 * s1 + s2 * s2) / 2.0)
    if not math.isfinite(pooled):
        return math.nan
    if pooled == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / pooled


def _smd_proportions(p1: float, p2: float) -> float:
    """(p1 - p2) / sqrt((p1(1-p1) + p2(1-p2)) / 2) (Austin 2009, eq. 2)."""
    return _smd_means(p1, math.sqrt(p1 * (1 - p1)), p2, math.sqrt(p2 * (1 - p2)))


def _pearson_chi_square(table: np.ndarray) -> tuple[float, int, float, float]:
    """Pearson's X^2 = sum (O - E)^2 / E with E = row total x column total / N; df = (r-1)(c-1).

    Returns the statistic, df, p-value (chi-square upper tail) and the smallest expected count.
    """
    from scipy import stats

    observed = np.asarray(table, dtype=float)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    df = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return statistic, df, float(stats.chi2.sf(statistic, df)), float(expected.min())


def _anova_f(groups: Sequence[np.ndarray]) -> tuple[float, int, int, float]:
    """One-way ANOVA: F = [SSB / (k - 1)] / [SSW / (N - k)] with an F(k - 1, N - k) p-value."""
    from scipy import stats

    k = len(groups)
    total_n = sum(len(g) for g in groups)
    grand = sum(float(g.sum()) for g in groups) / total_n
    ssb = sum(len(g) * (float(g.mean()) - grand) ** 2 for g in groups)
    ssw = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    df1, df2 = k - 1, total_n - k
    if ssw == 0.0:
        statistic = math.nan if ssb == 0.0 else math.inf
        p = math.nan if ssb == 0.0 else 0.0
        return statistic, df1, df2, p
    statistic = (ssb / df1) / (ssw / df2)
    return statistic, df1, df2, float(stats.f.sf(statistic, df1, df2))


def _digits(sds: pd.Series) -> int:
    """Decimals that show two significant figures of the smallest positive SD (0 to 6)."""
    positive = sds[(sds > 0) & np.isfinite(sds)]
    if positive.empty:
        return 1
    return int(min(6, max(0, 1 - math.floor(math.log10(float(positive.min()))))))


def _sorted_levels(values: pd.Series) -> list[object]:
    """The observed levels: category order for a categorical, else sorted (by text if unorderable)."""
    known = values.dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        seen = set(known.unique())
        return [c for c in values.cat.categories if c in seen]
    uniques = list(pd.unique(known))
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=str)


def _kind(series: pd.Series, requested: str | None, column: str) -> str:
    """``"numeric"`` or ``"categorical"`` for a factor (see :func:`balance`)."""
    if requested is not None:  # checked by balance(): "numeric" or "categorical"
        if requested == "numeric" and (
            pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)
        ):
            raise TrialDataError(
                [
                    Problem(
                        column,
                        f"declared numeric but holds {series.dtype} values",
                        "declare it 'categorical' or convert it to numbers",
                    )
                ]
            )
        return requested
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "categorical"
    return "numeric" if series.dropna().nunique() > 2 else "categorical"


@dataclass(frozen=True, eq=False)
class BalanceResult(Result):
    """Baseline balance of ``factors`` across ``arms`` (see :func:`balance`).

    Attributes
    ----------
    arm
        The arm column.
    arms
        The arms compared (their labels), in display order; SMDs are for every pair ``arms[i] vs arms[j]``,
        i < j.
    factors
        The factor columns, each with its kind in ``kinds`` (``"numeric"`` or ``"categorical"``).
    table
        Long table, one row per factor, level and arm: ``factor``, ``kind``, ``level``, ``arm``,
        ``count`` (participants with the level; known values for the ``"mean (SD)"`` level of a
        numeric factor), ``n_arm``, ``percent`` (of ``n_arm``), ``mean`` and ``sd`` (numeric factors).
    smd
        One row per factor, level and pair of arms: ``factor``, ``level``, ``contrast``, ``arm_1``,
        ``arm_2``, ``smd`` (signed, ``arm_1`` minus ``arm_2``), ``abs_smd``, ``note``.
    tests
        One row per factor: ``factor``, ``test``, ``statistic``, ``df1``, ``df2`` (0 for chi-square),
        ``p_value``, ``n``, ``min_expected`` (chi-square), ``note``.
    n_by_arm
        Participants per arm.
    inputs
        The rows analysed and those of other arms left out (``inputs.outside``), see
        :class:`~ipstrial.results.InputSummary`.
    """

    arm: str
    arms: tuple[str, ...]
    factors: tuple[str, ...]
    kinds: dict[str, str]
    table: pd.DataFrame
    smd: pd.DataFrame
    tests: pd.DataFrame
    analysis: str = "randomization_balance"
    caution: str = field(default=BASELINE_TEST_CAUTION)

    @property
    def n_by_arm(self) -> dict[str, int]:
        """Participants per arm (those of ``inputs``)."""
        assert self.inputs is not None
        return dict(self.inputs.n_by_arm)

    @property
    def title(self) -> str:
        arms = ", ".join(f"{a} (n={self.n_by_arm[a]})" for a in self.arms)
        return f"Baseline balance: {arms}"

    @property
    def max_abs_smd(self) -> pd.Series:
        """The largest |SMD| of each factor over its levels and pairs of arms."""
        return self.smd.groupby("factor", sort=False)["abs_smd"].max().reindex(list(self.factors))

    def rows(self) -> tuple[Row, ...]:
        """ARD rows: counts or means per arm, SMDs per pair of arms, a test per factor (module docstring).

        The rows of one factor and level carry ``variant="<factor>=<level>"`` (``"age=mean (SD)"``,
        ``"sex=female"``, ``"age=missing"``), the test of a factor ``variant=""``, so the key
        ``(analysis, outcome, contrast, estimand, variant)`` is unique.
        """
        out: list[Row] = []
        all_arms = " vs ".join(self.arms)
        for factor in self.factors:
            kind = self.kinds[factor]
            for rec in self.table[self.table.factor == factor].itertuples(index=False):
                variant = f"{factor}={rec.level}"
                if kind == "numeric" and rec.level == NUMERIC_LEVEL:
                    se = rec.sd / math.sqrt(rec.count) if rec.count > 0 else math.nan
                    out.append(
                        self._row(
                            str(rec.arm),
                            "mean",
                            rec.mean,
                            se=se,
                            method="mean of the known values (SD in extra 'sd', se = SD/sqrt(n))",
                            n=int(rec.count),
                            outcome=factor,
                            variant=variant,
                            extra={"quantity": "mean", "level": NUMERIC_LEVEL, "sd": rec.sd},
                        )
                    )
                else:
                    out.append(
                        self._row(
                            str(rec.arm),
                            "proportion",
                            rec.count / rec.n_arm if rec.n_arm else math.nan,
                            method="column proportion of the level within the arm",
                            n=int(rec.n_arm),
                            outcome=factor,
                            variant=variant,
                            extra={"quantity": "count", "level": str(rec.level), "count": int(rec.count)},
                        )
                    )
            for rec in self.smd[self.smd.factor == factor].itertuples(index=False):
                numeric = kind == "numeric" and rec.level == NUMERIC_LEVEL
                method = (
                    "standardised mean difference (m1 - m2)/sqrt((s1^2 + s2^2)/2), Austin 2009 eq. 1"
                    if numeric
                    else "standardised difference in proportions (p1 - p2)/sqrt((p1(1-p1) + p2(1-p2))/2), "
                    "Austin 2009 eq. 2"
                )
                extra: dict[str, object] = {
                    "quantity": "smd",
                    "scale": "standardised",
                    "level": str(rec.level),
                }
                if rec.note:
                    extra["note"] = rec.note
                out.append(
                    self._row(
                        rec.contrast,
                        "mean_difference",
                        rec.smd,
                        method=method,
                        n=int(rec.n),
                        outcome=factor,
                        variant=f"{factor}={rec.level}",
                        extra=extra,
                    )
                )
            test = self.tests[self.tests.factor == factor].iloc[0]
            extra = {"quantity": "test", "test": test.test}
            if test.note:
                extra["note"] = test.note
            if kind == "numeric":
                extra |= {"statistic": test.statistic, "df1": int(test.df1), "df2": int(test.df2)}
                estimand, estimate = "mean_difference", math.nan
                method = "one-way ANOVA F test of equal means (known values)"
            else:
                extra |= {"df": int(test.df1), "min_expected": test.min_expected}
                estimand, estimate = "chi_square", test.statistic
                method = (
                    "Pearson chi-square test of the arm x level table ('missing' is a level), no "
                    "continuity correction"
                )
            out.append(
                self._row(
                    all_arms,
                    estimand,
                    estimate,
                    p_value=test.p_value,
                    method=f"{method}; assesses the randomization process, not prognostic balance",
                    n=int(test.n),
                    outcome=factor,
                    extra=extra,
                )
            )
        return tuple(out)

    def table_one(self, digits: int | None = None) -> pd.DataFrame:
        """A wide baseline table: one line per factor level, one column per arm, then max |SMD| and p.

        Cells are ``"n (%)"`` (percent with one decimal) for levels and ``"mean (SD)"`` for numeric
        factors, with ``digits`` decimals (default: enough to show two significant figures of the SD);
        ``max |SMD|`` is over the pairs of arms and ``p`` (the test of the factor) is shown on the
        factor's first line.
        """
        lines = []
        for factor in self.factors:
            sub = self.table[self.table.factor == factor]
            test = self.tests[self.tests.factor == factor].iloc[0]
            for i, level in enumerate(pd.unique(sub.level)):
                cells: dict[str, object] = {"factor": factor if i == 0 else "", "level": level}
                for rec in sub[sub.level == level].itertuples(index=False):
                    if self.kinds[factor] == "numeric" and level == NUMERIC_LEVEL:
                        d = _digits(sub.sd) if digits is None else digits
                        cells[rec.arm] = f"{format_number(rec.mean, d)} ({format_number(rec.sd, d)})"
                    else:
                        cells[rec.arm] = f"{int(rec.count)} ({format_number(rec.percent, 1)}%)"
                level_smd = self.smd[(self.smd.factor == factor) & (self.smd.level == level)]["abs_smd"]
                cells["max |SMD|"] = format_number(level_smd.max(), 3) if len(level_smd) else ""
                cells["p"] = format_p(test.p_value) if i == 0 else ""
                lines.append(cells)
        return pd.DataFrame(lines, columns=["factor", "level", *self.arms, "max |SMD|", "p"])

    def summary(self, digits: int | None = None) -> str:
        """The wide baseline table (:meth:`table_one`) as text, followed by the tests' caution."""
        wide = self.table_one(digits)
        headers = list(wide.columns)
        body = [[str(v) for v in row] for row in wide.itertuples(index=False)]
        widths = [max(len(h), *(len(r[j]) for r in body)) if body else len(h) for j, h in enumerate(headers)]

        def fmt(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if j < 2 else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        title = self.title
        lines = [title, "=" * len(title), fmt(headers), "  ".join("-" * w for w in widths)]
        lines += [fmt(r) for r in body]
        lines.append("")
        lines.append(
            "SMD: standardised difference, Austin 2009 (numeric: difference of means / "
            "sqrt((s1^2 + s2^2)/2); levels: (p1 - p2)/sqrt((p1(1-p1) + p2(1-p2))/2)). "
            "p: Pearson chi-square (categorical, "
            "'missing' counted as a level) or one-way ANOVA F (numeric, known values)."
        )
        if self.inputs is not None:
            lines += list(self.inputs.notes())
        lines.append(self.caution)
        return "\n".join(lines)

    def _display_table(self, digits: int) -> tuple[list[str], list[list[str]], list[bool], list[str]]:
        headers, body, right, notes = super()._display_table(digits)
        return headers, body, right, [*notes, self.caution]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Love plot: the absolute SMD of every factor (level) for each pair of arms, with a line at 0.1.

        For a factor with exactly two levels both levels have the same |SMD|; only the second is drawn.
        """
        import matplotlib.pyplot as plt

        labels: list[tuple[str, str]] = []
        for factor in self.factors:
            levels = list(pd.unique(self.smd[self.smd.factor == factor].level))
            if self.kinds[factor] == "categorical" and len(levels) == 2:
                levels = levels[1:]
            labels += [(factor, level) for level in levels]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.3 * len(labels) + 1.5), layout="constrained")
        y = {key: len(labels) - 1 - i for i, key in enumerate(labels)}
        markers = "osD^v<>px*"
        for j, contrast in enumerate(pd.unique(self.smd.contrast)):
            sub = self.smd[self.smd.contrast == contrast]
            keep = [(f, lv) in y for f, lv in zip(sub.factor, sub.level, strict=True)]
            sub = sub[keep]
            ax.scatter(
                sub.abs_smd.clip(upper=1e6),
                [y[(f, lv)] for f, lv in zip(sub.factor, sub.level, strict=True)],
                marker=markers[j % len(markers)],
                label=contrast,
                zorder=3,
            )
        ax.axvline(SMD_THRESHOLD, color="0.4", ls="--", lw=0.9, label=f"|SMD| = {SMD_THRESHOLD:g}")
        ax.axvline(0.0, color="0.75", lw=0.6)
        names = [
            f if self.kinds[f] == "numeric" and lv == NUMERIC_LEVEL else f"{f}: {lv}" for f, lv in labels
        ]
        ax.set_yticks([y[key] for key in labels], names)
        ax.set_xlabel("absolute standardised mean difference")
        ax.set_xlim(left=0)
        ax.set_title("Baseline balance (Love plot)")
        ax.legend(loc="best", fontsize="small")
        return ax


@shared_params
def balance(
    data: pd.DataFrame | Trial,
    factors: str | Sequence[str] | Mapping[str, str],
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    id: str | None = None,
    analysis: str = "randomization_balance",
) -> BalanceResult:
    """Baseline balance of ``factors`` between the randomised arms.

    Parameters
    ----------
    @params data
    factors
        The baseline factor columns (one name or a list). A factor is categorical if it is text,
        categorical, boolean or numeric with at most two distinct values (e.g. 0/1), numeric otherwise;
        pass a mapping ``{"education_years": "categorical", ...}`` to choose the kind (``"numeric"`` or
        ``"categorical"``) yourself. Missing factor values are kept and shown as the level ``"missing"``;
        stray text in a numeric column, infinities and dates are errors (the input gate's covariate
        checks).
    @params arms id analysis

    Returns
    -------
    BalanceResult
        With the long ``table``, ``smd`` and ``tests`` frames, :meth:`~BalanceResult.table_one`,
        ARD rows, a text summary and a Love plot (:meth:`~BalanceResult.plot`).

    Notes
    -----
    Standardised differences between arms 1 and 2 (Austin, Stat Med 2009;28:3083-3107):

    * numeric factor, eq. 1: ``d = (m1 - m2) / sqrt((s1^2 + s2^2) / 2)`` with the sample means and
      SDs (divisor n - 1) of the known values;
    * each level of a categorical factor (and the share of missing values), eq. 2:
      ``d = (p1 - p2) / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)`` with the column proportions.

    ``d`` is 0 when both arms are identical with zero spread and infinite when they differ with zero
    spread. Tests across all arms: Pearson's chi-square ``X^2 = sum (O - E)^2 / E`` of the arm x level
    table with ``"missing"`` as a level and levels that occur, df = (levels - 1)(arms - 1), no
    continuity correction (Pearson 1900); for numeric factors the one-way ANOVA
    ``F = [SSB/(k - 1)] / [SSW/(N - k)]`` on the known values (Fisher 1925).

    Caution (CONSORT 2010, Moher et al. BMJ 2010;340:c869, item 15; Altman, The Statistician
    1985;34:125-136): in a properly randomised trial every baseline difference is due to chance, so the
    baseline significance tests assess the randomization process (e.g. subversion of the allocation),
    not the prognostic balance of the arms. Judge balance by the size of the differences (the SMDs,
    |SMD| > 0.1 being a common flag) and by the prognostic strength of each factor.
    """
    from ipstrial.trial import Trial

    analysis = check_analysis(analysis)
    requested: dict[str, str | None]
    if isinstance(factors, Mapping):
        requested = {}
        for name in column_names(list(factors), "factors", allow_empty=False):
            requested[name] = check_choice(
                factors[name], f"the kind of factor {name!r}", ("numeric", "categorical", None)
            )
    else:
        requested = dict.fromkeys(column_names(factors, "factors", allow_empty=False))
    arm_column = data.arm if isinstance(data, Trial) else arm
    if isinstance(arm_column, str) and arm_column in requested:
        raise ParameterError(
            f"the arm column {arm_column!r} is also listed in factors; balance tabulates factors by arm, so "
            "remove it from factors"
        )
    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        covariates=list(requested),
        covariates_may_be_missing=True,
        need_control=False,
    )
    frame = sample.frame
    arms_s = sample.order
    masks = {a: sample.mask(a) for a in arms_s}
    n_by_arm = dict(sample.n_by_arm)
    kinds = {f: _kind(frame[f], requested[f], f) for f in requested}

    table_rows: list[dict[str, object]] = []
    smd_rows: list[dict[str, object]] = []
    test_rows: list[dict[str, object]] = []
    pairs = list(itertools.combinations(range(len(arms_s)), 2))

    def add_level_smd(factor: str, level: str, counts: list[int], note: str = "") -> None:
        for i, j in pairs:
            ni, nj = n_by_arm[arms_s[i]], n_by_arm[arms_s[j]]
            d = _smd_proportions(counts[i] / ni, counts[j] / nj)
            smd_rows.append(
                {
                    "factor": factor,
                    "level": level,
                    "contrast": contrast_label(arms_s[i], arms_s[j]),
                    "arm_1": arms_s[i],
                    "arm_2": arms_s[j],
                    "smd": d,
                    "abs_smd": abs(d),
                    "n": ni + nj,
                    "note": note,
                }
            )

    for f, kind in kinds.items():
        series = frame[f]
        missing = series.isna().to_numpy()
        if kind == "categorical":
            levels = _sorted_levels(series)
            names = [str(lv) for lv in levels]
            missing_name = MISSING_LEVEL if MISSING_LEVEL not in names else f"{MISSING_LEVEL} (NA)"
            columns = [series.eq(lv).fillna(False).to_numpy(dtype=bool) & ~missing for lv in levels]
            if missing.any():
                names.append(missing_name)
                columns.append(missing)
            counts = np.array([[int((c & masks[a]).sum()) for a in arms_s] for c in columns])
            for name, row in zip(names, counts, strict=True):
                for a, count in zip(arms_s, row, strict=True):
                    table_rows.append(
                        {
                            "factor": f,
                            "kind": kind,
                            "level": name,
                            "arm": a,
                            "count": int(count),
                            "n_arm": n_by_arm[a],
                            "percent": 100.0 * count / n_by_arm[a],
                            "mean": math.nan,
                            "sd": math.nan,
                        }
                    )
                add_level_smd(f, name, list(row))
            if counts.shape[0] >= 2:
                statistic, df, p, min_expected = _pearson_chi_square(counts.T)
                note = (
                    f"smallest expected count {min_expected:.2f} < 5: the chi-square approximation may be "
                    "poor"
                    if min_expected < 5
                    else ""
                )
            else:
                statistic, df, p, min_expected = math.nan, 0, math.nan, math.nan
                note = "a single level: no test"
            test_rows.append(
                {
                    "factor": f,
                    "test": "Pearson chi-square",
                    "statistic": statistic,
                    "df1": df,
                    "df2": 0,
                    "p_value": p,
                    "n": int(counts.sum()),
                    "min_expected": min_expected,
                    "note": note,
                }
            )
        else:
            values = floats_of(series)
            groups = [values[masks[a] & ~missing] for a in arms_s]
            stats_ = [
                (float(g.mean()) if len(g) else math.nan, float(g.std(ddof=1)) if len(g) > 1 else math.nan)
                for g in groups
            ]
            for a, g, (m, s) in zip(arms_s, groups, stats_, strict=True):
                table_rows.append(
                    {
                        "factor": f,
                        "kind": kind,
                        "level": NUMERIC_LEVEL,
                        "arm": a,
                        "count": len(g),
                        "n_arm": n_by_arm[a],
                        "percent": 100.0 * len(g) / n_by_arm[a],
                        "mean": m,
                        "sd": s,
                    }
                )
            for i, j in pairs:
                (mi, si), (mj, sj) = stats_[i], stats_[j]
                d = _smd_means(mi, si, mj, sj)
                smd_rows.append(
                    {
                        "factor": f,
                        "level": NUMERIC_LEVEL,
                        "contrast": contrast_label(arms_s[i], arms_s[j]),
                        "arm_1": arms_s[i],
                        "arm_2": arms_s[j],
                        "smd": d,
                        "abs_smd": abs(d),
                        "n": len(groups[i]) + len(groups[j]),
                        "note": "" if math.isfinite(d) else "fewer than two known values in an arm",
                    }
                )
            if missing.any():
                miss = [int((missing & masks[a]).sum()) for a in arms_s]
                for a, count in zip(arms_s, miss, strict=True):
                    table_rows.append(
                        {
                            "factor": f,
                            "kind": kind,
                            "level": MISSING_LEVEL,
                            "arm": a,
                            "count": count,
                            "n_arm": n_by_arm[a],
                            "percent": 100.0 * count / n_by_arm[a],
                            "mean": math.nan,
                            "sd": math.nan,
                        }
                    )
                add_level_smd(f, MISSING_LEVEL, miss, note="share of missing values")
            if all(len(g) >= 2 for g in groups):
                statistic, df1, df2, p = _anova_f(groups)
                note = f"{int(missing.sum())} missing values not in the test" if missing.any() else ""
            else:
                statistic, df1, df2, p = math.nan, len(groups) - 1, 0, math.nan
                note = "an arm has fewer than two known values: no test"
            test_rows.append(
                {
                    "factor": f,
                    "test": "one-way ANOVA F",
                    "statistic": statistic,
                    "df1": df1,
                    "df2": df2,
                    "p_value": p,
                    "n": int(sum(len(g) for g in groups)),
                    "min_expected": math.nan,
                    "note": note,
                }
            )
    return BalanceResult(
        arm=sample.arm,
        arms=arms_s,
        factors=tuple(kinds),
        kinds=kinds,
        table=pd.DataFrame(table_rows),
        smd=pd.DataFrame(smd_rows),
        tests=pd.DataFrame(test_rows),
        analysis=analysis,
        inputs=sample.inputs,
    )
