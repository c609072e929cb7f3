"""Means of hours and weeks outcomes: arm means, the Welch and bootstrap mean differences, and the
covariate-adjusted (OLS) mean difference with a robust standard error.

* :func:`compare_means` -- arm means (t intervals), the Welch mean difference
  (:func:`ipstrial.stats.means.welch`) and its bootstrap twin (participants resampled within arm,
  vectorised by :func:`ipstrial.resampling.bootstrap_means`);
* :func:`adjusted_mean_difference` -- OLS on arm indicators and baseline covariates with a
  heteroskedasticity-robust (HC0-HC3) standard error (FDA 2023 guidance on covariate adjustment).

Missing outcomes are an error unless ``missing="complete-case"``; the participants excluded are then
counted per arm in the result's inputs and on the rows (``excluded`` on arm rows, ``excluded_treatment``
and ``excluded_control`` on contrast rows). An outcome identical for everyone analysed is an
:class:`~ipstrial.errors.EstimationError` (the t statistic is 0/0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._bootstrap import bootstrap_extra, replicate_summary
from ipstrial._checks import check_choice, check_count
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._random import SeedLike, check_seed, resolved_streams
from ipstrial.errors import EstimationError, Problem
from ipstrial.itt._common import contrast_row, model_matrix, prepare_checked, table_rows
from ipstrial.resampling import bootstrap_means
from ipstrial.results import Result, Row, excluded_extra
from ipstrial.stats.means import t_interval, welch

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = [
    "HC_TYPES",
    "AdjustedMeanDifference",
    "MeanComparison",
    "adjusted_mean_difference",
    "compare_means",
]

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")


@dataclass(frozen=True, eq=False)
class MeanComparison(Result):
    """Arm means, the Welch mean difference and its bootstrap percentile interval.

    ``arms`` has one row per arm in the order results list them (``arm, n, mean, sd, se, ci_low,
    ci_high, excluded``); ``welch`` and ``bootstrap`` one row per contrast; ``replicates`` holds the
    bootstrap replicate means, shape ``(n_resamples, arms)`` in the order of ``arms``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    arms: pd.DataFrame
    welch: pd.DataFrame
    bootstrap: pd.DataFrame
    replicates: np.ndarray
    n_resamples: int
    alpha: float = 0.05
    seed_entropy: int | None = None
    analysis: str = "itt_continuous"
    notes: tuple[str, ...] = ()

    title_template = "Mean difference in {outcome}: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        out = []
        for r in self.arms.itertuples(index=False):
            extra = {"sd": r.sd} | excluded_extra(self.inputs, r.arm)
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
                    extra=extra,
                )
            )
        welch_rows = table_rows(
            self, self.welch, "mean_difference", "Welch", lambda w: {"df": w.df, "t": w.t}
        )
        boot_rows = table_rows(
            self,
            self.bootstrap,
            "mean_difference",
            f"bootstrap percentile, {self.n_resamples} resamples within arm",
            bootstrap_extra(self.n_resamples, self.seed_entropy),
            variant="bootstrap",
        )
        for w, b in zip(welch_rows, boot_rows, strict=True):
            out += [w, b]
        return tuple(out)


@shared_params
def compare_means(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    n_resamples: int = 10_000,
    seed: SeedLike = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_continuous",
) -> MeanComparison:
    """Arm means and the mean difference (treatment - control) with Welch and bootstrap intervals.

    Arm means: ``ȳ ± t_{n-1, 1-α/2} s/√n``. Welch (1947): ``Δ = ȳ_1 - ȳ_0``,
    ``se = √(s_1²/n_1 + s_0²/n_0)``, Welch-Satterthwaite
    ``ν = se⁴ / [(s_1²/n_1)²/(n_1 - 1) + (s_0²/n_0)²/(n_0 - 1)]``, interval ``Δ ± t_{ν,1-α/2} se``
    and p-value ``2 P(T_ν > |Δ|/se)`` (as R's ``t.test(var.equal=FALSE)``;
    :func:`ipstrial.stats.means.welch`).

    Bootstrap (Efron & Tibshirani 1993, eq. 6.1 and 13.5): ``n_resamples`` replicates resampling
    participants within arm (:func:`ipstrial.resampling.bootstrap_means`, all replicates at once);
    the second ``mean_difference`` row (variant ``"bootstrap"``) carries the observed ``Δ``, the SD of
    the replicate differences as ``se`` and the percentile interval. With several treatments the
    replicates share the control arm's resamples. The seed's entropy is recorded (``seed_entropy``) so
    a ``seed=None`` run can be repeated.

    Parameters
    ----------
    @params data
    outcome
        The numeric outcome column.
    @params arm
    n_resamples
        Bootstrap replicates (at least 2).
    @params seed alpha missing id analysis

    Raises
    ------
    TrialDataError
        Missing outcomes without ``missing="complete-case"`` (counts per arm), bad values.
    EstimationError
        Fewer than two participants in an arm, or no variation in both arms of a contrast.
    """
    n_resamples = check_count(n_resamples, "n_resamples", minimum=2)
    seed = check_seed(seed)
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        kind="continuous",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
    )
    labels = prepared.order
    values = [prepared.arm_values(a) for a in labels]
    small = [a for a, v in zip(labels, values, strict=True) if v.size < 2]
    if small:
        raise EstimationError(f"arm(s) {small} have fewer than 2 participants with {outcome!r}: no SD")
    rows = []
    excluded = prepared.inputs.excluded_per_arm(labels)
    for a, v in zip(labels, values, strict=True):
        n, mean, sd = v.size, float(np.mean(v)), float(np.std(v, ddof=1))
        se = sd / math.sqrt(n)
        low, high, _ = t_interval(mean, se, n - 1, alpha)
        rows.append(dict(arm=a, n=n, mean=mean, sd=sd, se=se, ci_low=low, ci_high=high, excluded=excluded[a]))
    control_label = prepared.control
    c = labels.index(control_label)
    welch_rows = []
    for t in prepared.treatments:
        w = welch(values[labels.index(t)], values[c], alpha)
        if w.se == 0:
            raise EstimationError(
                f"{outcome!r} has no variation within arms {t!r} and {control_label!r}: the Welch test is "
                "undefined"
            )
        welch_rows.append(
            contrast_row(
                prepared,
                t,
                estimate=w.estimate,
                se=w.se,
                df=float(w.df),
                t=w.estimate / w.se,
                ci_low=w.ci_low,
                ci_high=w.ci_high,
                p_value=w.p_value,
            )
        )
    (rng,), entropy = resolved_streams(seed, 1)
    replicates = bootstrap_means(values, n_resamples, rng)
    boot = []
    for t, w in zip(prepared.treatments, welch_rows, strict=True):
        diffs = replicates[:, labels.index(t)] - replicates[:, c]
        boot.append(contrast_row(prepared, t, estimate=w["estimate"], **replicate_summary(diffs, alpha)))
    return MeanComparison(
        outcome=outcome,
        treatments=prepared.treatments,
        control=control_label,
        arms=pd.DataFrame(rows),
        welch=pd.DataFrame(welch_rows),
        bootstrap=pd.DataFrame(boot),
        replicates=replicates,
        n_resamples=n_resamples,
        alpha=alpha,
        seed_entropy=entropy,
        analysis=analysis,
        inputs=prepared.inputs,
    )


# ---------------------------------------------------------------------------------------------
# adjusted_mean_difference
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AdjustedMeanDifference(Result):
    """Covariate-adjusted mean differences from OLS with a robust standard error.

    ``table`` has one row per contrast; ``coefficients`` all OLS coefficients with their robust
    standard errors (``coef, se``).
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    hc: str
    table: pd.DataFrame
    coefficients: pd.DataFrame
    df_residual: float
    n: int
    alpha: float = 0.05
    analysis: str = "itt_adjusted_mean"
    notes: tuple[str, ...] = ()

    title_template = "Adjusted mean difference in {outcome}: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        covs = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"OLS on arm and covariates ({covs}), {self.hc} robust SE, t interval ({self.df_residual:g} df)"
        )
        return tuple(table_rows(self, self.table, "mean_difference", method, {"n_model": self.n}))


@shared_params
def adjusted_mean_difference(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    covariates: str | Sequence[str] = (),
    hc: str = "HC3",
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_adjusted_mean",
) -> AdjustedMeanDifference:
    """Covariate-adjusted mean difference: OLS of the outcome on arm indicators and covariates.

    Model ``y = β_0 + Σ_a β_a 1[arm = a] + γ'x + ε`` fitted to the compared arms (statsmodels OLS).
    In a linear model without arm-by-covariate interactions, ``β_a`` is the marginal (population
    average) mean difference of arm ``a`` vs the control, and the heteroskedasticity-robust
    sandwich standard error keeps it valid under misspecification (FDA 2023, *Adjusting for
    Covariates in Randomized Clinical Trials for Drugs and Biological Products*; Ye, Shao, Yi & Zhao
    2023 JASA 118:2370). Sandwich ``(X'X)⁻¹ X' diag(ω_i e_i²) X (X'X)⁻¹`` with ``ω_i = 1`` (HC0,
    White 1980), ``n/(n-p)`` (HC1), ``1/(1-h_ii)`` (HC2) or ``1/(1-h_ii)²`` (HC3, MacKinnon & White
    1985; the default, as ``sandwich::vcovHC``). Interval and p-value use the t distribution with
    the residual degrees of freedom (as ``lmtest::coeftest`` on an ``lm``).

    Parameters
    ----------
    @params data
    outcome
        The numeric outcome column.
    @params arm
    covariates
        Baseline covariates (a name or a list; text columns become dummies, first sorted level the
        reference; numbers enter linearly). Without covariates the estimate is the difference of means.
    hc
        ``"HC0"``, ``"HC1"``, ``"HC2"`` or ``"HC3"``.
    @params alpha missing id analysis
    """
    check_choice(hc, "hc", HC_TYPES)
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates,
        kind="continuous",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
    )
    import statsmodels.api as sm

    X, names, arm_cols = model_matrix(prepared, where="the linear model")
    if X.shape[0] <= X.shape[1]:
        raise EstimationError(
            f"{plural(X.shape[0], 'participant')} for {plural(X.shape[1], 'model coefficient')}: too few"
        )
    if hc in ("HC2", "HC3"):
        leverage = np.einsum("ij,ji->i", X, np.linalg.pinv(X))
        one = leverage > 1 - 1e-10
        if one.any():
            problem = Problem(
                None,
                f"{plural(int(one.sum()), 'participant has', 'participants have')} leverage 1, so {hc} is "
                "undefined: a covariate level is unique to them",
                "merge rare levels or use hc='HC0'",
                **prepared.who.offending(one),
            )
            raise EstimationError(str(problem))
    fit = sm.OLS(prepared.y, X).fit(cov_type=hc)
    se_all = np.sqrt(np.diag(np.asarray(fit.cov_params())))
    df_resid = float(fit.df_resid)
    control_label = prepared.control
    table = []
    for t, k in zip(prepared.treatments, arm_cols, strict=True):
        b, se = float(fit.params[k]), float(se_all[k])
        if se == 0:
            raise EstimationError(
                f"the {hc} standard error of {t!r} vs {control_label!r} is 0: the outcome has no residual "
                "variation"
            )
        low, high, p = t_interval(b, se, df_resid, alpha)
        table.append(contrast_row(prepared, t, estimate=b, se=se, ci_low=low, ci_high=high, p_value=p))
    return AdjustedMeanDifference(
        outcome=outcome,
        treatments=prepared.treatments,
        control=control_label,
        covariates=prepared.covariates,
        hc=hc,
        table=pd.DataFrame(table),
        coefficients=pd.DataFrame({"coef": np.asarray(fit.params), "se": se_all}, index=names),
        df_residual=df_resid,
        n=len(prepared.y),
        alpha=alpha,
        analysis=analysis,
        inputs=prepared.inputs,
    )
