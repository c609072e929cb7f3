"""Subgroup analyses of a binary outcome with interaction tests and a forest plot.

Within each level of each subgrouping factor, the risk difference of the treatment vs the
control with the interval of :func:`~ipstrial.itt.binary.compare_counts` (Newcombe's hybrid
score by default). For each factor, the test of interaction is the likelihood-ratio test of the
logistic models ``y ~ arm + g`` against ``y ~ arm * g`` (``L - 1`` degrees of freedom for ``L``
levels), i.e. heterogeneity on the odds-ratio scale; Wang et al. (NEJM 2007;357:2189) advise
reporting it rather than within-subgroup p-values. Age can be banded on the fly.

Levels in which an arm has no participant, or in which the interaction model cannot be fitted
(an arm-by-level cell with all or no events makes the model's MLE infinite), are reported, not
dropped: the level row carries a note, and the factor's interaction row a reason instead of a
p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._inputs import prepare
from ipstrial.errors import TrialDataError
from ipstrial.itt.binary import compare_counts
from ipstrial.results import Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["SubgroupResult", "age_bands", "subgroups"]


def age_bands(age: pd.Series, breaks: Sequence[float] = (30, 40)) -> pd.Series:
    """Whole-year age bands, ordered: ``breaks=(30, 40)`` gives ``"<30"``, ``"30-39"``, ``"40+"``."""
    edges = [-np.inf, *breaks, np.inf]
    labels = [f"<{breaks[0]:g}"] + [
        f"{lo:g}-{hi - 1:g}" for lo, hi in zip(breaks[:-1], breaks[1:], strict=True)
    ]
    labels.append(f"{breaks[-1]:g}+")
    return pd.cut(age, edges, right=False, labels=labels)


@dataclass(frozen=True, eq=False)
class SubgroupResult(Result):
    """Per-level effects (``levels``) and per-factor interaction tests (``interactions``)."""

    outcome: str
    contrast: str
    overall: tuple[float, float, float]
    levels: pd.DataFrame
    interactions: pd.DataFrame
    method: str
    alpha: float = 0.05
    analysis: str = "itt_subgroups"

    @property
    def title(self) -> str:
        return f"Subgroups of {self.outcome}: {self.contrast}"

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        out = []
        for factor in self.interactions.factor:
            for lv in self.levels[self.levels.factor == factor].itertuples():
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
                    Row(
                        self.analysis,
                        self.contrast,
                        "risk_difference",
                        lv.estimate,
                        ci_low=lv.low,
                        ci_high=lv.high,
                        method=self.method,
                        n=int(lv.n1 + lv.n0),
                        outcome=self.outcome,
                        conf_level=conf,
                        extra=extra,
                    )
                )
            it = self.interactions[self.interactions.factor == factor].iloc[0]
            extra = {"subgroup": factor, "df": int(it.df)}
            if it.note:
                extra["note"] = it.note
            out.append(
                Row(
                    self.analysis,
                    self.contrast,
                    "interaction",
                    it.statistic,
                    p_value=it.p_value,
                    method="likelihood-ratio test of arm x subgroup, logistic regression (odds-ratio scale)",
                    n=int(it.n),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Forest plot: one line per level with its interval, the overall effect dashed."""
        import matplotlib.pyplot as plt

        levels = self.levels
        n_rows = len(levels) + len(self.interactions)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.32 * n_rows + 1.2))
        y, ticks, labels = n_rows, [], []
        for factor in self.interactions.factor:
            it = self.interactions[self.interactions.factor == factor].iloc[0]
            y -= 1
            ticks.append(y)
            p = "interaction p " + ("n/a" if np.isnan(it.p_value) else f"{it.p_value:.3f}")
            labels.append(f"{factor} ({p})")
            for lv in levels[levels.factor == factor].itertuples():
                y -= 1
                ax.plot([lv.low, lv.high], [y, y], color="0.2", lw=1.2)
                ax.plot(
                    lv.estimate,
                    y,
                    "s",
                    color="0.2",
                    ms=4 + 4 * np.sqrt((lv.n1 + lv.n0) / levels.n1.add(levels.n0).max()),
                )
                ticks.append(y)
                labels.append(f"   {lv.level} ({int(lv.a)}/{int(lv.n1)} vs {int(lv.c)}/{int(lv.n0)})")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.axvline(self.overall[0], color="C0", ls="--", lw=0.8, label=f"overall {self.overall[0]:.3f}")
        ax.set_yticks(ticks, labels)
        ax.set_xlabel(f"risk difference, {self.contrast} ({int(round(100 * (1 - self.alpha)))}% CI)")
        ax.set_title(self.title)
        ax.legend(loc="lower right", frameon=False, fontsize="small")
        return ax


def _interaction_lrt(y: np.ndarray, treated: np.ndarray, level: pd.Series) -> tuple[float, float, int, str]:
    """Likelihood-ratio statistic, p-value and df of arm x level in logistic regression."""
    import statsmodels.api as sm
    from scipy import stats

    dummies = pd.get_dummies(level.astype("category"), drop_first=True, dtype=float).to_numpy()
    base = np.column_stack([np.ones(len(y)), treated, dummies])
    full = np.column_stack([base, dummies * treated[:, None]])
    df = dummies.shape[1]
    cells = pd.crosstab([level.to_numpy(), treated], y)
    if cells.shape[1] < 2 or (cells == 0).any(axis=None):
        return (
            np.nan,
            np.nan,
            df,
            (
                "an arm-by-level cell has all or no events: the interaction model's "
                "estimates are infinite and no likelihood-ratio test is reported"
            ),
        )
    fit0 = sm.GLM(y, base, family=sm.families.Binomial()).fit()
    fit1 = sm.GLM(y, full, family=sm.families.Binomial()).fit()
    statistic = float(max(2 * (fit1.llf - fit0.llf), 0.0))
    return statistic, float(stats.chi2.sf(statistic, df)), df, ""


def subgroups(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str = "IPS",
    control: str = "SAU",
    by: Sequence[str] = ("site", "sex", "diagnosis", "age_band"),
    *,
    age: str = "age",
    age_breaks: Sequence[float] = (30, 40),
    method: str = "newcombe",
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> SubgroupResult:
    """Risk difference within each level of each factor in ``by``, and the interaction tests.

    ``"age_band"``, when not a column, is made from ``age`` with :func:`age_bands`.
    """
    if not isinstance(treatment, str):
        raise TypeError("subgroups compares one treatment arm with the control; call it once per arm")
    derived = {}
    if "age_band" in by and "age_band" not in data.columns:
        if age not in data.columns:
            raise TrialDataError(f"'age_band' needs the age column {age!r}, which is not in the data")
        data = data.assign(age_band=age_bands(data[age], age_breaks))
        derived["age_band"] = age
    prepared = prepare(
        data, outcome, arm, treatment, control, kind="binary", missing=missing, id=id, extra=tuple(by)
    )
    label = contrast_label(treatment, control)
    y = prepared.y
    treated = (prepared.arms == treatment).astype(float)
    overall = compare_counts(
        int(y[treated == 1].sum()),
        int(treated.sum()),
        int(y[treated == 0].sum()),
        int((treated == 0).sum()),
        treatment=treatment,
        control=control,
        method=method,
        alpha=alpha,
    ).interval("risk_difference")
    level_rows, tests = [], []
    for factor in by:
        column = prepared.frame[factor]
        if isinstance(column.dtype, pd.CategoricalDtype):  # category order (age bands in age order)
            order = [c for c in column.cat.categories if (column == c).any()]
        else:
            order = sorted(pd.unique(column), key=str)
        for level in order:
            inside = (column == level).to_numpy()
            a, n1 = int(y[inside & (treated == 1)].sum()), int((inside & (treated == 1)).sum())
            c, n0 = int(y[inside & (treated == 0)].sum()), int((inside & (treated == 0)).sum())
            if n1 == 0 or n0 == 0:
                level_rows.append(
                    {
                        "factor": factor,
                        "level": str(level),
                        "a": a,
                        "n1": n1,
                        "c": c,
                        "n0": n0,
                        "estimate": np.nan,
                        "low": np.nan,
                        "high": np.nan,
                        "note": "an arm has no participant in this level: no contrast",
                    }
                )
                continue
            ci = compare_counts(
                a, n1, c, n0, treatment=treatment, control=control, method=method, alpha=alpha
            ).interval("risk_difference")
            level_rows.append(
                {
                    "factor": factor,
                    "level": str(level),
                    "a": a,
                    "n1": n1,
                    "c": c,
                    "n0": n0,
                    "estimate": ci.estimate,
                    "low": ci.low,
                    "high": ci.high,
                    "note": "",
                }
            )
        statistic, p, df, note = _interaction_lrt(y, treated, column.astype(str))
        tests.append(
            {"factor": factor, "statistic": statistic, "p_value": p, "df": df, "n": len(y), "note": note}
        )
    return SubgroupResult(
        outcome,
        label,
        (overall.estimate, overall.low, overall.high),
        pd.DataFrame(level_rows),
        pd.DataFrame(tests),
        f"{overall.method} within level",
        alpha,
    )
