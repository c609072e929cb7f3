"""Subgroup analyses of a binary outcome with interaction tests and a forest plot.

Within each level of each subgrouping column in ``by``, the risk difference of the treatment vs the
control with the interval of :func:`~ipstrial.itt.binary.compare_counts` (Newcombe's hybrid score by
default). For each column, the test of interaction is the likelihood-ratio test of the logistic models
``y ~ arm + g`` against ``y ~ arm * g`` (``L - 1`` degrees of freedom for ``L`` levels), fitted to the
participants of the treatment and the control, i.e. heterogeneity on the odds-ratio scale; Wang et al.
(NEJM 2007;357:2189) advise reporting it rather than within-subgroup p-values. A numeric column is cut
into ordered bands with ``bands={"age": (30, 40)}`` (``"<30"``, ``"30-39"``, ``"40+"``; see
:func:`numeric_bands`).

Levels in which an arm has no participant, or in which the interaction model cannot be fitted
(an arm-by-level cell with all or no events makes the model's MLE infinite), are reported, not
dropped: the level row carries a note, and the column's interaction row a reason instead of a
p-value.

Rows: ``risk_difference`` per contrast and level, with the subgroup column and the level as the extra
ARD columns ``subgroup`` and ``level`` and the variant ``"<subgroup>=<level>"`` (``"sex=female"``); an
``interaction`` row per contrast and subgroup column with the variant ``"<subgroup>"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_choice, column_names
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial.errors import ParameterError, Problem, TrialDataError
from ipstrial.itt._common import prepare_checked
from ipstrial.results import Result, Row, contrast_label
from ipstrial.stats import proportions as iv

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ipstrial.trial import Trial

__all__ = ["SubgroupResult", "numeric_bands", "subgroups"]


def _check_breaks(breaks: object, column: str) -> tuple[float, ...]:
    values = list(breaks) if isinstance(breaks, list | tuple | np.ndarray) else None
    if not values or not all(
        isinstance(b, int | float | np.number) and not isinstance(b, bool) and np.isfinite(b) for b in values
    ):
        raise ParameterError(
            f"bands[{column!r}] must be a non-empty list of finite break points such as (30, 40), "
            f"got {breaks!r}"
        )
    if any(b >= c for b, c in zip(values[:-1], values[1:], strict=True)):
        raise ParameterError(f"bands[{column!r}] must be strictly increasing, got {list(values)!r}")
    return tuple(float(b) for b in values)


def numeric_bands(values: pd.Series, breaks: Sequence[float]) -> pd.Series:
    """Cut a numeric column into ordered bands ``[-inf, b_1), [b_1, b_2), ..., [b_k, inf)``.

    Labels: with whole-number values and breaks, ``"<30"``, ``"30-39"``, ``"40+"`` for ``(30, 40)``;
    otherwise ``"<2.5"``, ``"2.5 to <4"``, ``">=4"``. The result is an ordered categorical (the bands in
    order, so tables and plots list them in order, not alphabetically).

    Parameters
    ----------
    values
        The numeric values (finite).
    breaks
        Strictly increasing finite break points; each band includes its lower break.
    """
    edges = _check_breaks(breaks, str(values.name))
    x = values.to_numpy(dtype=float)
    whole = all(b.is_integer() for b in edges) and bool(np.all(np.mod(x[np.isfinite(x)], 1) == 0))
    if whole:
        labels = [f"<{edges[0]:g}"] + [
            f"{lo:g}-{hi - 1:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
        labels.append(f"{edges[-1]:g}+")
    else:
        labels = [f"<{edges[0]:g}"] + [
            f"{lo:g} to <{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
        labels.append(f">={edges[-1]:g}")
    return pd.cut(values, [-np.inf, *edges, np.inf], right=False, labels=labels, ordered=True)


@dataclass(frozen=True, eq=False)
class SubgroupResult(Result):
    """Per-level effects (``levels``) and per-column interaction tests (``interactions``), per contrast.

    ``levels`` has ``contrast, factor, level, a, n1, c, n0, estimate, low, high, note`` (``a`` of ``n1``
    events in the treatment arm, ``c`` of ``n0`` in the control arm); ``interactions`` has
    ``contrast, factor, statistic, p_value, df, n, note``; ``overall`` maps each contrast to the
    risk difference over everyone (estimate, low, high).
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    by: tuple[str, ...]
    overall: dict[str, tuple[float, float, float]]
    levels: pd.DataFrame
    interactions: pd.DataFrame
    method: str
    bands: dict[str, tuple[float, ...]]
    alpha: float = 0.05
    analysis: str = "itt_subgroups"

    @property
    def contrasts(self) -> tuple[str, ...]:
        """The contrast labels, in the order of the treatments."""
        return tuple(contrast_label(t, self.control) for t in self.treatments)

    title_template = "Risk difference in {outcome} by subgroup: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        out = []
        for contrast in self.contrasts:
            levels = self.levels[self.levels.contrast == contrast]
            tests = self.interactions[self.interactions.contrast == contrast]
            for factor in self.by:
                for lv in levels[levels.factor == factor].itertuples():
                    extra = {
                        "subgroup": factor,
                        "level": lv.level,
                        "events_treatment": int(lv.a),
                        "n_treatment": int(lv.n1),
                        "events_control": int(lv.c),
                        "n_control": int(lv.n0),
                    }
                    if lv.note:
                        extra["note"] = lv.note
                    out.append(
                        self._row(
                            contrast,
                            "risk_difference",
                            lv.estimate,
                            ci_low=lv.low,
                            ci_high=lv.high,
                            method=self.method,
                            n=int(lv.n1 + lv.n0),
                            extra=extra,
                            variant=f"{factor}={lv.level}",
                        )
                    )
                it = tests[tests.factor == factor].iloc[0]
                extra = {"subgroup": factor, "df": int(it.df)}
                if it.note:
                    extra["note"] = it.note
                out.append(
                    self._row(
                        contrast,
                        "interaction",
                        it.statistic,
                        p_value=it.p_value,
                        method="likelihood-ratio test of arm x subgroup, logistic regression "
                        "(odds-ratio scale)",
                        n=int(it.n),
                        extra=extra,
                        variant=factor,
                    )
                )
        return tuple(out)

    def plot(
        self,
        ax: Axes | None = None,
        contrast: str | None = None,
        *,
        colors: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Axes:
        """Forest plot of one contrast (the first by default): a heading per subgroup column with its
        interaction p-value, a line per level with n/N per arm and "estimate (low to high)" in percentage
        points, the null line, the overall effect dashed and "favours" labels
        (:func:`ipstrial.report.forest.forest_figure` draws every contrast with the overall results)."""
        from ipstrial.report.figures import column_label
        from ipstrial.report.forest import _subgroup_rows, forest_axes
        from ipstrial.report.palette import figure_style, resolve_colors

        contrast = contrast or self.contrasts[0]
        if contrast not in self.contrasts:
            raise ParameterError(f"contrast must be one of {list(self.contrasts)}, got {contrast!r}")
        treatment = self.treatments[self.contrasts.index(contrast)]
        level = f"{100 * (1 - self.alpha):.10g}%"
        with figure_style():
            palette = resolve_colors(colors, [*self.treatments, self.control])
            rows = _subgroup_rows(self, [contrast], palette, labels, with_contrast=False)
            ax = forest_axes(
                rows,
                estimand="risk_difference",
                conf_level=1 - self.alpha,
                headers=("", f"{treatment} n/N", f"{self.control} n/N", f"Difference, pp ({level} CI)"),
                favours=(f"favours {self.control}", f"favours {treatment}"),
                title=f"Subgroups of {column_label(self.outcome)}: {contrast}",
                ax=ax,
                reference=self.overall[contrast][0],
            )
        return ax


def _interaction_lrt(y: np.ndarray, treated: np.ndarray, level: np.ndarray) -> tuple[float, float, int, str]:
    """Likelihood-ratio statistic, p-value and df of arm x level in logistic regression."""
    import statsmodels.api as sm
    from scipy import stats

    dummies = pd.get_dummies(pd.Categorical(level), drop_first=True, dtype=float).to_numpy()
    base = np.column_stack([np.ones(len(y)), treated, dummies])
    full = np.column_stack([base, dummies * treated[:, None]])
    df = dummies.shape[1]
    cells = pd.crosstab([level, treated], y)
    if cells.shape[1] < 2 or (cells == 0).any(axis=None):
        return (
            np.nan,
            np.nan,
            df,
            "an arm-by-level cell has all or no events: the interaction model's estimates are infinite "
            "and no likelihood-ratio test is reported",
        )
    fit0 = sm.GLM(y, base, family=sm.families.Binomial()).fit()
    fit1 = sm.GLM(y, full, family=sm.families.Binomial()).fit()
    statistic = float(max(2 * (fit1.llf - fit0.llf), 0.0))
    return statistic, float(stats.chi2.sf(statistic, df)), df, ""


def _banded(frame: pd.DataFrame, bands: dict[str, tuple[float, ...]], who: Any) -> dict[str, pd.Series]:
    """The subgroup columns cut into bands (the columns of ``bands``), with a problem for non-numbers."""
    out = {}
    problems = []
    for column, breaks in bands.items():
        series = frame[column]
        numbers = pd.to_numeric(series, errors="coerce") if not pd.api.types.is_bool_dtype(series) else None
        bad = (
            np.ones(len(series), dtype=bool)
            if numbers is None
            else ~np.isfinite(numbers.to_numpy(dtype=float))
        )
        if bad.any():
            problems.append(
                Problem(
                    column,
                    plural(int(bad.sum()), "value is not a finite number", "values are not finite numbers")
                    + ", so the column cannot be cut into bands",
                    "pass the numeric column (e.g. age in years), or leave it out of bands= to use its "
                    "values as levels",
                    **who.offending(bad),
                )
            )
            continue
        out[column] = numeric_bands(numbers.rename(column), breaks)  # type: ignore[union-attr]
    if problems:
        raise TrialDataError(problems)
    return out


@shared_params
def subgroups(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    by: str | Sequence[str],
    bands: Mapping[str, Sequence[float]] | None = None,
    method: str = "newcombe",
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_subgroups",
) -> SubgroupResult:
    """Risk difference within each level of each column in ``by``, and interaction tests (module docstring).

    Parameters
    ----------
    @params data
    outcome
        The 0/1 outcome column.
    @params arm
    by
        The subgrouping columns (a name or a list; required). Their values are the levels (categories in
        their order, other values sorted), unless the column is cut into bands.
    bands
        Numeric columns of ``by`` to cut into ordered bands, with their break points:
        ``bands={"age": (30, 40)}`` gives the levels ``"<30"``, ``"30-39"``, ``"40+"`` of the subgroup
        ``age`` (:func:`numeric_bands`).
    method
        The risk-difference interval within a level (as :func:`~ipstrial.itt.compare_proportions`).
    @params alpha missing id analysis
    """
    check_choice(method, "method", tuple(iv.RISK_DIFFERENCE_METHODS))
    by = column_names(by, "by", allow_empty=False)
    if bands is None:
        bands = {}
    if not isinstance(bands, Mapping):
        raise ParameterError(
            f"bands must map columns of by= to break points, e.g. {{'age': (30, 40)}}; got {bands!r}"
        )
    stray = [c for c in bands if c not in by]
    if stray:
        raise ParameterError(f"bands names {stray}, which are not in by={list(by)}; list them in by= too")
    breaks = {str(c): _check_breaks(b, str(c)) for c, b in bands.items()}
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        kind="binary",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
        vary=False,
        extra={c: "subgroup" for c in by},
    )
    columns = {c: prepared.frame[c] for c in by} | _banded(prepared.frame, breaks, prepared.who)

    def interval(a: int, n1: int, c: int, n0: int) -> iv.Interval:
        return iv.RISK_DIFFERENCE_METHODS[method](a, n1, c, n0, 1 - alpha)

    control_label = prepared.control
    y_all = prepared.y
    level_rows, tests, overall = [], [], {}
    for t in prepared.treatments:
        label = contrast_label(t, control_label)
        pair = (prepared.arms == t) | (prepared.arms == control_label)
        y = y_all[pair]
        treated = (prepared.arms[pair] == t).astype(float)
        ci = interval(
            int(y[treated == 1].sum()),
            int(treated.sum()),
            int(y[treated == 0].sum()),
            int((treated == 0).sum()),
        )
        overall[label] = (ci.estimate, ci.low, ci.high)
        method_text = f"{ci.method} within level"
        for factor in by:
            column = columns[factor][pair]
            if isinstance(column.dtype, pd.CategoricalDtype):  # category order (bands in order)
                order = [c for c in column.cat.categories if (column == c).any()]
            else:
                order = sorted(pd.unique(column), key=str)
            for level in order:
                inside = (column == level).to_numpy()
                a, n1 = int(y[inside & (treated == 1)].sum()), int((inside & (treated == 1)).sum())
                c, n0 = int(y[inside & (treated == 0)].sum()), int((inside & (treated == 0)).sum())
                row = {
                    "contrast": label,
                    "factor": factor,
                    "level": str(level),
                    "a": a,
                    "n1": n1,
                    "c": c,
                    "n0": n0,
                }
                if n1 == 0 or n0 == 0:
                    row |= {"estimate": np.nan, "low": np.nan, "high": np.nan}
                    row["note"] = "an arm has no participant in this level: no contrast"
                else:
                    ci = interval(a, n1, c, n0)
                    row |= {"estimate": ci.estimate, "low": ci.low, "high": ci.high, "note": ""}
                level_rows.append(row)
            statistic, p, df, note = _interaction_lrt(y, treated, column.astype(str).to_numpy())
            tests.append(
                {
                    "contrast": label,
                    "factor": factor,
                    "statistic": statistic,
                    "p_value": p,
                    "df": df,
                    "n": len(y),
                    "note": note,
                }
            )
    return SubgroupResult(
        outcome=outcome,
        treatments=prepared.treatments,
        control=control_label,
        by=by,
        overall=overall,
        levels=pd.DataFrame(level_rows),
        interactions=pd.DataFrame(tests),
        method=method_text,
        bands=breaks,
        alpha=alpha,
        analysis=analysis,
        inputs=prepared.inputs,
    )
