"""Hours and weeks outcomes: mean differences, covariate adjustment, two-part model, counts, ranks.

The primary outcome of Projekt Inklusion is hours in employment or education over 18 months: zero
for many participants, right-skewed otherwise. The estimators here:

* :func:`compare_means` -- arm means (t intervals), the Welch mean difference and a bootstrap
  percentile interval of the same difference (resampling participants within arm, vectorised
  through :mod:`ipstrial.resampling`);
* :func:`adjusted_mean_difference` -- OLS on arm indicators and baseline covariates with a
  heteroskedasticity-robust (HC0-HC3) standard error (FDA 2023 guidance on covariate adjustment);
* :func:`two_part` -- logistic model of any hours, gamma GLM (log link) of the hours among those
  with any, combined into marginal arm means by g-computation; bootstrap interval;
* :func:`rate_ratio` -- negative binomial (NB2) regression of weeks employed, dispersion by
  maximum likelihood as MASS::glm.nb, HC0 sandwich standard error;
* :func:`hodges_lehmann` -- the Hodges-Lehmann shift with the Wilcoxon rank-sum test, defined as
  R's ``wilcox.test(conf.int=TRUE, exact=FALSE, correct=TRUE)`` (a sensitivity analysis).

Missing outcomes are an error unless ``missing="complete-case"``; the participants excluded are then
counted per arm in every row (``extra``: ``excluded`` on arm rows, ``excluded_treatment`` and
``excluded_control`` on contrast rows). An outcome with no variation at all (every analysed value
identical) is an :class:`~ipstrial.errors.EstimationError` in every function: no interval or test
is defined (the t statistic is 0/0, the rank test has zero variance).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipstrial._batched import check_rank as _check_rank
from ipstrial._batched import newton_batch as _newton_batch
from ipstrial._inputs import Prepared, design_matrix, prepare
from ipstrial._random import SeedLike, seed_sequence
from ipstrial.errors import EstimationError, Problem, TrialDataError, offending_ids
from ipstrial.resampling import bootstrap_counts, bootstrap_means, counts_in_data_order, percentile_interval
from ipstrial.results import Result, Row, contrast_label

__all__ = [
    "AdjustedMeanDifference",
    "HodgesLehmann",
    "MeanComparison",
    "RateRatio",
    "TwoPart",
    "adjusted_mean_difference",
    "compare_means",
    "hodges_lehmann",
    "rate_ratio",
    "two_part",
]

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")
_EPS = float(np.finfo(float).eps)


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _check_n_boot(n_boot: int, minimum: int = 2) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or int(n_boot) < minimum:
        raise ValueError(f"n_boot must be a whole number >= {minimum}, got {n_boot!r}")
    return int(n_boot)


def _check_variation(prepared: Prepared) -> None:
    """Every analysed outcome identical: no test or interval is defined (documented error)."""
    values = np.unique(prepared.y)
    if values.size < 2:
        raise EstimationError(
            f"every analysed value of {prepared.outcome!r} is {values[0]:g} in arms "
            f"{list(prepared.compared)}: with no variation no standard error, interval or test is "
            "defined; report the common value descriptively instead"
        )


def _seed_and_entropy(seed: SeedLike) -> tuple[SeedLike, int | None]:
    """A reusable seed and the integer that regenerates it (None for a Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed, None
    sequence = seed_sequence(seed)
    entropy = sequence.entropy
    return sequence, int(entropy) if isinstance(entropy, numbers.Integral) else None


def _contrast_extra(prepared: Prepared, treatment: str) -> dict[str, object]:
    """Excluded counts (complete case) of a contrast's two arms, when any were excluded."""
    if not any(prepared.excluded.values()):
        return {}
    return {
        "excluded_treatment": int(prepared.excluded.get(treatment, 0)),
        "excluded_control": int(prepared.excluded.get(prepared.control, 0)),
    }


def _arm_extra(prepared: Prepared, arm: str) -> dict[str, object]:
    k = int(prepared.excluded.get(arm, 0))
    return {"excluded": k} if k else {}


def _model_matrix(prepared: Prepared) -> tuple[np.ndarray, list[str], list[int]]:
    """Intercept, one indicator per treatment arm (control is the reference), covariates.

    Returns the matrix, the column names and the positions of the arm indicators. Covariates go
    through :func:`~ipstrial._inputs.design_matrix` (text: dummies, first sorted level reference).
    """
    columns = {"(Intercept)": np.ones(len(prepared.y))}
    for t in prepared.treatments:
        columns[f"{prepared.arm}:{t}"] = (prepared.arms == t).astype(float)
    covariates = design_matrix(prepared.frame, prepared.covariates, prepared.ids)
    for name in covariates.columns:
        columns[str(name)] = covariates[name].to_numpy(dtype=float)
    names = list(columns)
    X = np.column_stack(list(columns.values()))
    _check_rank(X, names, "the model")
    return X, names, list(range(1, 1 + len(prepared.treatments)))


# ---------------------------------------------------------------------------------------------
# compare_means
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MeanComparison(Result):
    """Arm means, the Welch mean difference and its bootstrap percentile interval.

    ``arms`` has one row per arm (``arm, n, mean, sd, se, ci_low, ci_high, excluded``); ``welch``
    and ``bootstrap`` one row per contrast; ``replicates`` holds the bootstrap replicate means,
    shape ``(n_boot, arms)`` in the order of ``arms``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    arms: pd.DataFrame
    welch: pd.DataFrame
    bootstrap: pd.DataFrame
    replicates: np.ndarray
    n_boot: int
    alpha: float = 0.05
    seed_entropy: int | None = None
    analysis: str = "itt_continuous"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Mean of {self.outcome}: " + ", ".join(self.welch.contrast)

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        out = []
        for r in self.arms.itertuples(index=False):
            extra = {"sd": r.sd} | ({"excluded": int(r.excluded)} if r.excluded else {})
            out.append(
                Row(
                    self.analysis,
                    r.arm,
                    "mean",
                    r.mean,
                    se=r.se,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    method="mean, t interval (n - 1 df)",
                    n=int(r.n),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        for w, b in zip(
            self.welch.itertuples(index=False), self.bootstrap.itertuples(index=False), strict=True
        ):
            extra = {"df": w.df, "t": w.t} | dict(w.extra)
            out.append(
                Row(
                    self.analysis,
                    w.contrast,
                    "mean_difference",
                    w.estimate,
                    se=w.se,
                    ci_low=w.ci_low,
                    ci_high=w.ci_high,
                    p_value=w.p_value,
                    method="Welch",
                    n=int(w.n),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
            extra = {"n_boot": self.n_boot} | dict(b.extra)
            if self.seed_entropy is not None:
                extra["seed_entropy"] = str(self.seed_entropy)
            out.append(
                Row(
                    self.analysis,
                    b.contrast,
                    "mean_difference",
                    b.estimate,
                    se=b.se,
                    ci_low=b.ci_low,
                    ci_high=b.ci_high,
                    method=f"bootstrap percentile, {self.n_boot} resamples within arm",
                    n=int(b.n),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        return tuple(out)


def compare_means(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str | Sequence[str] = "IPS",
    control: str = "SAU",
    n_boot: int = 10_000,
    seed: SeedLike = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> MeanComparison:
    """Arm means and the mean difference (treatment - control) with Welch and bootstrap intervals.

    Arm means: ``ȳ ± t_{n-1, 1-α/2} s/√n``. Welch (1947): ``Δ = ȳ_1 - ȳ_0``,
    ``se = √(s_1²/n_1 + s_0²/n_0)``, Welch-Satterthwaite
    ``ν = se⁴ / [(s_1²/n_1)²/(n_1 - 1) + (s_0²/n_0)²/(n_0 - 1)]``, interval ``Δ ± t_{ν,1-α/2} se``
    and p-value ``2 P(T_ν > |Δ|/se)`` (as R's ``t.test(var.equal=FALSE)``).

    Bootstrap (Efron & Tibshirani 1993, eq. 6.1 and 13.5): ``n_boot`` replicates resampling
    participants within arm (:func:`ipstrial.resampling.bootstrap_means`, all replicates at once);
    the second ``mean_difference`` row carries the observed ``Δ``, the SD of the replicate
    differences as ``se`` and the percentile interval. With several treatments the replicates share
    the control arm's resamples. The seed's entropy is reported so a ``seed=None`` run can be
    repeated.

    Raises
    ------
    TrialDataError
        Missing outcomes without ``missing="complete-case"`` (counts per arm), bad values.
    EstimationError
        Fewer than two participants in an arm, or no variation in both arms of a contrast.
    """
    alpha = _check_alpha(alpha)
    n_boot = _check_n_boot(n_boot)
    from scipy import stats

    prepared = prepare(data, outcome, arm, treatment, control, kind="continuous", missing=missing, id=id)
    _check_variation(prepared)
    labels = prepared.compared
    values = [prepared.arm_values(a) for a in labels]
    small = [a for a, v in zip(labels, values, strict=True) if v.size < 2]
    if small:
        raise EstimationError(f"arm(s) {small} have fewer than 2 participants with {outcome!r}: no SD")
    rows = []
    for a, v in zip(labels, values, strict=True):
        n, mean, sd = v.size, float(np.mean(v)), float(np.std(v, ddof=1))
        se = sd / math.sqrt(n)
        q = float(stats.t.ppf(1 - alpha / 2, n - 1))
        rows.append(
            dict(
                arm=a,
                n=n,
                mean=mean,
                sd=sd,
                se=se,
                ci_low=mean - q * se,
                ci_high=mean + q * se,
                excluded=int(prepared.excluded.get(a, 0)),
            )
        )
    arms = pd.DataFrame(rows)
    control_values = values[-1]
    welch = []
    for t, v in zip(prepared.treatments, values, strict=False):
        v1, v0 = np.var(v, ddof=1) / v.size, np.var(control_values, ddof=1) / control_values.size
        se = math.sqrt(v1 + v0)
        if se == 0:
            raise EstimationError(
                f"{outcome!r} has no variation within arms {t!r} and {control!r}: the Welch test is undefined"
            )
        df = (v1 + v0) ** 2 / (v1**2 / (v.size - 1) + v0**2 / (control_values.size - 1))
        diff = float(np.mean(v) - np.mean(control_values))
        q = float(stats.t.ppf(1 - alpha / 2, df))
        tstat = diff / se
        welch.append(
            dict(
                contrast=contrast_label(t, control),
                estimate=diff,
                se=se,
                df=float(df),
                t=tstat,
                ci_low=diff - q * se,
                ci_high=diff + q * se,
                p_value=float(2 * stats.t.sf(abs(tstat), df)),
                n=v.size + control_values.size,
                extra=_contrast_extra(prepared, t),
            )
        )
    seed_used, entropy = _seed_and_entropy(seed)
    replicates = bootstrap_means(values, n_boot, seed_used)
    boot = []
    for j, (t, w) in enumerate(zip(prepared.treatments, welch, strict=True)):
        diffs = replicates[:, j] - replicates[:, -1]
        low, high = percentile_interval(diffs, alpha)
        boot.append(
            dict(
                contrast=w["contrast"],
                estimate=w["estimate"],
                se=float(np.std(diffs, ddof=1)),
                ci_low=low,
                ci_high=high,
                n=w["n"],
                extra=_contrast_extra(prepared, t),
            )
        )
    notes = (prepared.missing_note,) if prepared.missing_note else ()
    return MeanComparison(
        outcome,
        prepared.treatments,
        control,
        arms,
        pd.DataFrame(welch),
        pd.DataFrame(boot),
        replicates,
        n_boot,
        alpha,
        entropy,
        notes=notes,
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

    @property
    def title(self) -> str:
        return f"Adjusted mean difference in {self.outcome}: " + ", ".join(self.table.contrast)

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        covs = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"OLS on arm and covariates ({covs}), {self.hc} robust SE, t interval ({self.df_residual:g} df)"
        )
        return tuple(
            Row(
                self.analysis,
                r.contrast,
                "mean_difference",
                r.estimate,
                se=r.se,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                p_value=r.p_value,
                method=method,
                n=int(r.n),
                outcome=self.outcome,
                conf_level=conf,
                extra={"n_model": self.n, **dict(r.extra)},
            )
            for r in self.table.itertuples(index=False)
        )


def adjusted_mean_difference(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str | Sequence[str] = "IPS",
    control: str = "SAU",
    covariates: Sequence[str] = (),
    hc: str = "HC3",
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> AdjustedMeanDifference:
    """Covariate-adjusted mean difference: OLS of the outcome on arm indicators and covariates.

    Model ``y = β_0 + Σ_a β_a 1[arm = a] + γ'x + ε`` fitted to all compared arms (statsmodels OLS).
    In a linear model without arm-by-covariate interactions, ``β_a`` is the marginal (population
    average) mean difference of arm ``a`` vs the control, and the heteroskedasticity-robust
    sandwich standard error keeps it valid under misspecification (FDA 2023, *Adjusting for
    Covariates in Randomized Clinical Trials for Drugs and Biological Products*; Ye, Shao, Yi & Zhao
    2023 JASA 118:2876). Sandwich ``(X'X)⁻¹ X' diag(ω_i e_i²) X (X'X)⁻¹`` with ``ω_i = 1`` (HC0,
    White 1980), ``n/(n-p)`` (HC1), ``1/(1-h_ii)`` (HC2) or ``1/(1-h_ii)²`` (HC3, MacKinnon & White
    1985; the default, as ``sandwich::vcovHC``). Interval and p-value use the t distribution with
    the residual degrees of freedom (as ``lmtest::coeftest`` on an ``lm``).
    """
    alpha = _check_alpha(alpha)
    if hc not in HC_TYPES:
        raise ValueError(f"hc={hc!r}: choose one of {list(HC_TYPES)}")
    import statsmodels.api as sm
    from scipy import stats

    prepared = prepare(
        data, outcome, arm, treatment, control, covariates, kind="continuous", missing=missing, id=id
    )
    _check_variation(prepared)
    X, names, arm_cols = _model_matrix(prepared)
    if X.shape[0] <= X.shape[1]:
        raise EstimationError(f"{X.shape[0]} participants for {X.shape[1]} model coefficients: too few")
    if hc in ("HC2", "HC3"):
        leverage = np.einsum("ij,ji->i", X, np.linalg.pinv(X))
        if np.any(leverage > 1 - 1e-10):
            shown, count = offending_ids(prepared.ids, leverage > 1 - 1e-10)
            raise EstimationError(
                f"{count} participants have leverage 1 ({', '.join(shown)}), so {hc} is undefined: a "
                "covariate level is unique to them; merge rare levels or use hc='HC0'"
            )
    fit = sm.OLS(prepared.y, X).fit(cov_type=hc)
    se_all = np.sqrt(np.diag(np.asarray(fit.cov_params())))
    df_resid = float(fit.df_resid)
    q = float(stats.t.ppf(1 - alpha / 2, df_resid))
    n_by = prepared.n_by_arm
    table = []
    for t, k in zip(prepared.treatments, arm_cols, strict=True):
        b, se = float(fit.params[k]), float(se_all[k])
        if se == 0:
            raise EstimationError(
                f"the {hc} standard error of {t!r} vs {control!r} is 0: the outcome has no residual variation"
            )
        table.append(
            dict(
                contrast=contrast_label(t, control),
                estimate=b,
                se=se,
                ci_low=b - q * se,
                ci_high=b + q * se,
                p_value=float(2 * stats.t.sf(abs(b / se), df_resid)),
                n=n_by[t] + n_by[control],
                extra=_contrast_extra(prepared, t),
            )
        )
    coefficients = pd.DataFrame({"coef": np.asarray(fit.params), "se": se_all}, index=names)
    notes = (prepared.missing_note,) if prepared.missing_note else ()
    return AdjustedMeanDifference(
        outcome,
        prepared.treatments,
        control,
        prepared.covariates,
        hc,
        pd.DataFrame(table),
        coefficients,
        df_resid,
        len(prepared.y),
        alpha,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# GLM kernels (vectorised over bootstrap replicates)
# ---------------------------------------------------------------------------------------------


def _expit(z: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(z)


def _logistic_batch(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression for every weight row: ``ℓ' = y - p``, ``-ℓ'' = p(1 - p)`` (= IRLS)."""

    def derivatives(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prob = _expit(eta)
        return y - prob, prob * (1.0 - prob)

    return _newton_batch(X, W, start, derivatives)


def _gamma_log_batch(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gamma GLM with log link for every weight row (``y > 0``), Newton with the observed information.

    Per unit dispersion ``ℓ(η) = -y e^{-η} - η`` (McCullagh & Nelder 1989, sec. 8.3; the estimate
    does not depend on the dispersion), so ``ℓ' = y/μ - 1`` and ``-ℓ'' = y/μ > 0``: the
    log-likelihood is concave and Newton converges quadratically from the point estimate.
    """

    def derivatives(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ratio = y * np.exp(-eta)
        return ratio - 1.0, ratio

    return _newton_batch(X, W, start, derivatives)


def _g_means(
    X: np.ndarray, arm_cols: list[int], beta1: np.ndarray, beta2: np.ndarray, W: np.ndarray
) -> np.ndarray:
    """Standardised means ``Σ_i w_i P(y>0|x_i,a) E(y|y>0,x_i,a) / Σ_i w_i`` for every arm.

    Columns: the control (all arm indicators 0), then each treatment in order. ``beta1``/``beta2``
    are ``(B, p)``, ``W`` is ``(B, n)``; returns ``(B, 1 + treatments)``.
    """
    keep = [j for j in range(X.shape[1]) if j not in arm_cols]
    base1 = beta1[:, keep] @ X[:, keep].T
    base2 = beta2[:, keep] @ X[:, keep].T
    total = W.sum(axis=1)
    out = np.empty((W.shape[0], 1 + len(arm_cols)))
    out[:, 0] = np.sum(W * _expit(base1) * np.exp(base2), axis=1) / total
    for j, k in enumerate(arm_cols, start=1):
        shifted = _expit(base1 + beta1[:, [k]]) * np.exp(base2 + beta2[:, [k]])
        out[:, j] = np.sum(W * shifted, axis=1) / total
    return out


# ---------------------------------------------------------------------------------------------
# two_part
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TwoPart(Result):
    """Marginal arm means and differences from a two-part (hurdle) model with bootstrap intervals.

    ``means`` and ``differences`` hold ``estimate, se, ci_low, ci_high`` (se = SD of the bootstrap
    replicates); ``logit`` and ``gamma`` the coefficients of the two parts; ``replicates`` the
    replicate means ``(n_boot_ok, arms)`` in the order of ``means``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    means: pd.DataFrame
    differences: pd.DataFrame
    logit: pd.Series
    gamma: pd.Series
    replicates: np.ndarray
    n_boot: int
    failed: int
    n: int
    n_positive: int
    alpha: float = 0.05
    seed_entropy: int | None = None
    analysis: str = "itt_two_part"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Two-part model of {self.outcome}: " + ", ".join(self.differences.contrast)

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        covs = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"two-part model (logistic P(>0), gamma log-link GLM of positives; arm and covariates: {covs}), "
            f"g-computation; bootstrap percentile, {self.n_boot} resamples within arm"
        )
        common: dict[str, object] = {"n_boot": self.n_boot, "n_positive": self.n_positive}
        if self.failed:
            common["failed_replicates"] = self.failed
        if self.seed_entropy is not None:
            common["seed_entropy"] = str(self.seed_entropy)
        out = []
        for r in self.means.itertuples(index=False):
            out.append(
                Row(
                    self.analysis,
                    r.arm,
                    "mean",
                    r.estimate,
                    se=r.se,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    method=method,
                    n=int(r.n),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=common | dict(r.extra),
                )
            )
        for r in self.differences.itertuples(index=False):
            out.append(
                Row(
                    self.analysis,
                    r.contrast,
                    "mean_difference",
                    r.estimate,
                    se=r.se,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    method=method,
                    n=int(r.n),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=common | {"n_model": self.n} | dict(r.extra),
                )
            )
        return tuple(out)


def _fit_two_part_reference(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point estimates of both parts through statsmodels (the reference path)."""
    import statsmodels.api as sm

    positive = y > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part1 = sm.GLM(positive.astype(float), X, family=sm.families.Binomial()).fit(tol=1e-13, maxiter=200)
        part2 = sm.GLM(y[positive], X[positive], family=sm.families.Gamma(sm.families.links.Log())).fit(
            tol=1e-13, maxiter=200
        )
    beta1, beta2 = np.asarray(part1.params), np.asarray(part2.params)
    if not (part1.converged and np.all(np.abs(beta1) < 50)):
        raise EstimationError(
            "the logistic part did not converge (a covariate level or arm where every participant has a "
            "positive outcome, or none: separation); merge rare covariate levels or drop the covariate"
        )
    if not part2.converged:
        raise EstimationError("the gamma part (positive outcomes) did not converge")
    return beta1, beta2


def two_part(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str | Sequence[str] = "IPS",
    control: str = "SAU",
    covariates: Sequence[str] = (),
    n_boot: int = 2000,
    seed: SeedLike = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> TwoPart:
    """Marginal mean per arm and mean differences from a two-part model, bootstrap intervals.

    Part 1: logistic regression of ``1[y > 0]`` on arm indicators and covariates; part 2: gamma
    GLM with log link of ``y`` among those with ``y > 0`` on the same terms (Duan, Manning, Morris &
    Newhouse 1983, J Bus Econ Stat 1:115, the two-part model; Mihaylova, Briggs, O'Hagan & Thompson
    2011, Health Econ 20:897, sec. 3.3, for costs). Both are fitted to all compared arms. The mean of
    arm ``a`` is standardised over everyone analysed (g-computation):

        ``μ_a = (1/n) Σ_i P(y > 0 | x_i, a) · E(y | y > 0, x_i, a)``,

    and ``μ_a - μ_control`` is the mean difference. Interval: ``n_boot`` bootstrap replicates
    resampling participants within arm and refitting both parts (frequency weights from
    :func:`ipstrial.resampling.bootstrap_counts`, all replicates fitted together by vectorised
    Newton / Fisher scoring started at the point estimate); percentile interval, se = SD of the
    replicates. Point estimates come from statsmodels GLM. A replicate in which a part cannot be
    fitted (a covariate level without participants, separation) is dropped and counted in
    ``failed_replicates``; more than 5 % failures is an error.

    Raises
    ------
    TrialDataError
        Negative outcomes (ids named); missing outcomes without a policy.
    EstimationError
        An arm without any zero or without any positive outcome (part 1 is not identified), too
        few positives for part 2, or a part that does not converge.
    """
    alpha = _check_alpha(alpha)
    n_boot = _check_n_boot(n_boot)
    prepared = prepare(
        data, outcome, arm, treatment, control, covariates, kind="continuous", missing=missing, id=id
    )
    y = prepared.y
    negative = y < 0
    if negative.any():
        shown, count = offending_ids(prepared.ids, negative)
        raise TrialDataError(
            [
                Problem(
                    outcome, f"{count} negative values", "a two-part model needs outcomes >= 0", shown, count
                )
            ]
        )
    _check_variation(prepared)
    for a in prepared.compared:
        v = prepared.arm_values(a)
        if not (np.any(v == 0) and np.any(v > 0)):
            what = "no zero" if not np.any(v == 0) else "no positive"
            raise EstimationError(
                f"arm {a!r} has {what} {outcome!r}: the logistic part is not identified (separation); "
                "use adjusted_mean_difference or a model for positive outcomes"
            )
    X, names, arm_cols = _model_matrix(prepared)
    positive = y > 0
    if positive.sum() <= X.shape[1]:
        raise EstimationError(
            f"{int(positive.sum())} positive outcomes for {X.shape[1]} coefficients: too few"
        )
    _check_rank(X[positive], names, "the gamma part (participants with a positive outcome)")
    beta1, beta2 = _fit_two_part_reference(X, y)
    point = _g_means(X, arm_cols, beta1[None], beta2[None], np.ones((1, len(y))))[0]

    labels = prepared.compared
    codes = pd.Index(labels).get_indexer(prepared.arms)
    seed_used, entropy = _seed_and_entropy(seed)
    W = counts_in_data_order(
        bootstrap_counts([int(np.sum(codes == g)) for g in range(len(labels))], n_boot, seed_used), codes
    ).astype(float)
    draws = np.empty((n_boot, 1 + len(arm_cols)))
    ok = np.zeros(n_boot, dtype=bool)
    chunk = max(1, 1_000_000 // len(y))
    for start in range(0, n_boot, chunk):
        part = slice(start, min(n_boot, start + chunk))
        b1, c1 = _logistic_batch(X, positive.astype(float), W[part], beta1)
        b2, c2 = _gamma_log_batch(X[positive], y[positive], W[part][:, positive], beta2)
        draws[part] = _g_means(X, arm_cols, b1, b2, W[part])
        ok[part] = c1 & c2 & np.all(np.isfinite(draws[part]), axis=1)
    failed = int(n_boot - ok.sum())
    if failed > 0.05 * n_boot or ok.sum() < 2:
        raise EstimationError(
            f"{failed} of {n_boot} bootstrap replicates could not be fitted (covariate levels or arms "
            "without zero or positive outcomes in the resample); merge rare covariate levels or drop "
            "covariates"
        )
    draws = draws[ok]
    # columns of draws: control first, then the treatments; report treatments first (data labels order)
    order = [*range(1, 1 + len(arm_cols)), 0]
    n_by = prepared.n_by_arm
    means = []
    for a, j in zip(labels, order, strict=True):
        low, high = percentile_interval(draws[:, j], alpha)
        means.append(
            dict(
                arm=a,
                estimate=float(point[j]),
                se=float(np.std(draws[:, j], ddof=1)),
                ci_low=low,
                ci_high=high,
                n=n_by[a],
                extra=_arm_extra(prepared, a),
            )
        )
    differences = []
    for t, j in zip(prepared.treatments, order, strict=False):
        diff = draws[:, j] - draws[:, 0]
        low, high = percentile_interval(diff, alpha)
        differences.append(
            dict(
                contrast=contrast_label(t, control),
                estimate=float(point[j] - point[0]),
                se=float(np.std(diff, ddof=1)),
                ci_low=low,
                ci_high=high,
                n=n_by[t] + n_by[control],
                extra=_contrast_extra(prepared, t),
            )
        )
    notes = (prepared.missing_note,) if prepared.missing_note else ()
    return TwoPart(
        outcome,
        prepared.treatments,
        control,
        prepared.covariates,
        pd.DataFrame(means),
        pd.DataFrame(differences),
        pd.Series(beta1, index=names),
        pd.Series(beta2, index=names),
        draws[:, order],
        n_boot,
        failed,
        len(y),
        int(positive.sum()),
        alpha,
        entropy,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# rate_ratio (negative binomial)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RateRatio(Result):
    """Rate ratios from a negative binomial (NB2) regression with an HC0 sandwich standard error.

    ``table`` has one row per contrast (``log_rr, se, estimate, ci_low, ci_high, p_value``);
    ``coefficients`` all coefficients with HC0 and model-based standard errors; ``theta`` the
    dispersion (variance ``μ + μ²/θ``) and ``theta_se`` its standard error as MASS::glm.nb reports.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    covariates: tuple[str, ...]
    table: pd.DataFrame
    coefficients: pd.DataFrame
    theta: float
    theta_se: float
    loglik: float
    n: int
    exposure: str | None = None
    alpha: float = 0.05
    analysis: str = "itt_rate_ratio"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Rate ratio of {self.outcome}: " + ", ".join(self.table.contrast)

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        covs = ", ".join(self.covariates) if self.covariates else "none"
        offset = f", offset log({self.exposure})" if self.exposure else ""
        method = (
            f"negative binomial (NB2) regression on arm and covariates ({covs}){offset}, theta by maximum "
            "likelihood; HC0 sandwich SE on the log scale, Wald interval exp(log RR ± z se)"
        )
        return tuple(
            Row(
                self.analysis,
                r.contrast,
                "rate_ratio",
                r.estimate,
                se=r.se,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                p_value=r.p_value,
                method=method,
                n=int(r.n),
                outcome=self.outcome,
                conf_level=conf,
                extra={
                    "log_rate_ratio": r.log_rr,
                    "se_scale": "log",
                    "se_model": r.se_model,
                    "theta": self.theta,
                    "theta_se": self.theta_se,
                    "n_model": self.n,
                    **dict(r.extra),
                },
            )
            for r in self.table.itertuples(index=False)
        )


def _nb_loglik(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    from scipy.special import gammaln

    return float(
        np.sum(
            gammaln(theta + y)
            - gammaln(theta)
            - gammaln(y + 1)
            + theta * np.log(theta)
            + y * np.log(np.where(y > 0, mu, 1.0))
            - (theta + y) * np.log(theta + mu)
        )
    )


def _theta_score(theta: float, y: np.ndarray, mu: np.ndarray) -> float:
    """``∂ℓ/∂θ = Σ ψ(θ+y) - ψ(θ) + log θ + 1 - log(θ+μ) - (y+θ)/(θ+μ)`` (Lawless 1987, eq. 2.4)."""
    from scipy.special import digamma

    return float(
        np.sum(
            digamma(theta + y)
            - digamma(theta)
            + np.log(theta)
            + 1
            - np.log(theta + mu)
            - (y + theta) / (theta + mu)
        )
    )


def _theta_ml(y: np.ndarray, mu: np.ndarray, start: float) -> float:
    """Maximum likelihood θ for fixed means: the root of the score, bracketed then Brent's method.

    MASS::theta.ml solves the same equation by Newton's method from the moment estimate; the
    bracketed root is the same number when Newton converges and is also found when it does not.
    """
    from scipy import optimize

    def score(log_theta: float) -> float:
        return _theta_score(math.exp(log_theta), y, mu)

    low = high = math.log(min(max(start, 1e-6), 1e6))
    f_low = f_high = score(low)
    step = 1.0
    while f_low < 0 and low > math.log(1e-8):
        low -= step
        f_low = score(low)
        step *= 2
    step = 1.0
    while f_high > 0 and high < math.log(1e8):
        high += step
        f_high = score(high)
        step *= 2
    if f_high > 0:
        raise EstimationError(
            "no overdispersion: the negative binomial likelihood increases up to theta = 1e8 (the Poisson "
            "limit); use a Poisson model with a robust standard error"
        )
    if f_low < 0:
        raise EstimationError(
            "the maximum likelihood theta is below 1e-8: the counts are too dispersed to model"
        )
    if low == high:
        return math.exp(low)
    return math.exp(optimize.brentq(score, low, high, xtol=1e-14, rtol=4 * _EPS, maxiter=500))


def _nb_irls(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray, theta: float | None, beta: np.ndarray | None
) -> np.ndarray:
    """IRLS (Fisher scoring) of a log-link GLM: Poisson (``theta=None``) or NB2 with ``theta`` fixed.

    Working weights ``μ/(1 + μ/θ)``, working response ``η - offset + (y - μ)/μ``; step halving if the
    log-likelihood decreases. Iterates until every coefficient changes by < 1e-12 (1 + abs(coefficient)).
    """
    if beta is None:
        eta = np.log(y + 0.1) - offset
        beta = np.linalg.lstsq(X, eta, rcond=None)[0]
    inv_theta = 0.0 if theta is None else 1.0 / theta

    def loglik(b: np.ndarray) -> float:
        mu = np.exp(X @ b + offset)
        if theta is None:
            return float(np.sum(y * np.log(np.where(y > 0, mu, 1.0)) - mu))
        return _nb_loglik(y, mu, theta)

    current = loglik(beta)
    for _ in range(200):
        mu = np.exp(X @ beta + offset)
        w = mu / (1.0 + mu * inv_theta)
        z = (X @ beta) + (y - mu) / mu
        new = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * z))
        value = loglik(new)
        halvings = 0
        while not (math.isfinite(value) and value >= current - 1e-12 * abs(current)) and halvings < 30:
            new = (new + beta) / 2
            value = loglik(new)
            halvings += 1
        change = np.max(np.abs(new - beta) / (np.abs(beta) + 1.0))
        beta, current = new, value
        if change < 1e-12:
            return beta
    raise EstimationError("the negative binomial regression (IRLS) did not converge in 200 iterations")


def rate_ratio(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str | Sequence[str] = "IPS",
    control: str = "SAU",
    covariates: Sequence[str] = (),
    exposure: str | None = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> RateRatio:
    """Rate ratio of a count (e.g. weeks employed) from a negative binomial (NB2) regression.

    Model ``y ~ NB(μ, θ)``, ``Var y = μ + μ²/θ``, ``log μ = log(exposure) + β_0 + Σ_a β_a 1[arm=a]
    + γ'x`` (Lawless 1987, Can J Stat 15:209; Venables & Ripley 2002, MASS 4th ed., sec. 7.4). θ is
    estimated by maximum likelihood exactly as MASS::glm.nb defines it: alternate the GLM fit for
    fixed θ (IRLS) with the maximum likelihood θ given the fitted means, until both are stable --
    the joint maximum likelihood estimate. (glm.nb solves the θ equation by Newton's method from the
    moment estimate, which can fail on zero-heavy data such as weeks employed; here the root of the
    θ score is bracketed first, so the same maximum is found; see tests/reference/continuous.R.)
    Then the GLM with that θ fixed gives ``rate ratio = exp(β_a)`` with the HC0 sandwich
    ``(X'WX)⁻¹ [Σ_i ((y_i - μ_i)/(1 + μ_i/θ))² x_i x_i'] (X'WX)⁻¹``, ``W = diag(μ/(1 + μ/θ))``, as
    ``sandwich::vcovHC(type="HC0")`` on a glm.nb fit (Zeileis 2006, J Stat Softw 16(9)); Wald
    interval ``exp(β_a ± z_{1-α/2} se)`` and p-value ``2Φ(-|β_a|/se)``. The model-based SE (θ
    treated as known, as ``summary.negbin``) is in ``extra["se_model"]``; ``theta_se`` is
    ``1/√(observed information of θ)`` as glm.nb's ``SE.theta``.

    Raises
    ------
    TrialDataError
        Negative or non-integer counts (ids named), non-positive exposure, missing values.
    EstimationError
        All counts zero or identical, no overdispersion (θ → ∞: use Poisson), non-convergence.
    """
    alpha = _check_alpha(alpha)
    from scipy import stats

    extra_columns = (exposure,) if exposure is not None else ()
    prepared = prepare(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates,
        kind="count",
        missing=missing,
        id=id,
        extra=extra_columns,
    )
    _check_variation(prepared)
    offset = np.zeros(len(prepared.y))
    if exposure is not None:
        t = pd.to_numeric(prepared.frame[exposure], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(t) | (t <= 0)
        if bad.any():
            shown, count = offending_ids(prepared.ids, bad)
            raise TrialDataError(
                [
                    Problem(
                        exposure,
                        f"{count} exposures that are not positive numbers",
                        "exposure (time at risk) must be > 0; drop participants without follow-up",
                        shown,
                        count,
                    )
                ]
            )
        offset = np.log(t)
    y = prepared.y
    X, names, arm_cols = _model_matrix(prepared)
    beta = _nb_irls(X, y, offset, None, None)
    mu = np.exp(X @ beta + offset)
    theta = _theta_ml(y, mu, len(y) / np.sum((y / mu - 1.0) ** 2))
    for _ in range(200):
        beta = _nb_irls(X, y, offset, theta, beta)
        mu = np.exp(X @ beta + offset)
        new_theta = _theta_ml(y, mu, theta)
        moved = abs(math.log(new_theta / theta))
        theta = new_theta
        if moved < 1e-12:
            break
    else:
        raise EstimationError("the negative binomial alternation of beta and theta did not converge")
    beta = _nb_irls(X, y, offset, theta, beta)
    mu = np.exp(X @ beta + offset)
    from scipy.special import polygamma

    info = float(
        np.sum(
            -polygamma(1, theta + y)
            + polygamma(1, theta)
            - 1 / theta
            + 2 / (mu + theta)
            - (y + theta) / (mu + theta) ** 2
        )
    )
    theta_se = 1 / math.sqrt(info) if info > 0 else math.nan
    bread = np.linalg.inv(X.T @ ((mu / (1 + mu / theta))[:, None] * X))
    score = ((y - mu) / (1 + mu / theta))[:, None] * X
    vcov = bread @ (score.T @ score) @ bread
    se_all = np.sqrt(np.diag(vcov))
    z = float(stats.norm.ppf(1 - alpha / 2))
    n_by = prepared.n_by_arm
    table = []
    for t_arm, k in zip(prepared.treatments, arm_cols, strict=True):
        b, se = float(beta[k]), float(se_all[k])
        table.append(
            dict(
                contrast=contrast_label(t_arm, control),
                log_rr=b,
                se=se,
                estimate=math.exp(b),
                ci_low=math.exp(b - z * se),
                ci_high=math.exp(b + z * se),
                p_value=float(2 * stats.norm.sf(abs(b / se))),
                se_model=float(math.sqrt(bread[k, k])),
                n=n_by[t_arm] + n_by[control],
                extra=_contrast_extra(prepared, t_arm),
            )
        )
    coefficients = pd.DataFrame(
        {"coef": beta, "se_HC0": se_all, "se_model": np.sqrt(np.diag(bread))}, index=names
    )
    notes = (prepared.missing_note,) if prepared.missing_note else ()
    return RateRatio(
        outcome,
        prepared.treatments,
        control,
        prepared.covariates,
        pd.DataFrame(table),
        coefficients,
        float(theta),
        float(theta_se),
        _nb_loglik(y, mu, theta),
        len(y),
        exposure,
        alpha,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# hodges_lehmann
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HodgesLehmann(Result):
    """Hodges-Lehmann location shift with its interval and the Wilcoxon rank-sum test, per contrast.

    ``table`` has ``contrast, estimate, ci_low, ci_high, p_value, W, z, n``.
    """

    outcome: str
    treatments: tuple[str, ...]
    control: str
    table: pd.DataFrame
    alpha: float = 0.05
    analysis: str = "itt_hodges_lehmann"
    notes: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return f"Hodges-Lehmann shift in {self.outcome}: " + ", ".join(self.table.contrast)

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        method = (
            "Hodges-Lehmann shift and interval by inverting the Wilcoxon rank-sum test (normal "
            "approximation with tie correction, continuity-corrected interval), as R "
            "wilcox.test(exact=FALSE, correct=TRUE); p: Wilcoxon-Mann-Whitney test"
        )
        return tuple(
            Row(
                self.analysis,
                r.contrast,
                "median_difference",
                r.estimate,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                p_value=r.p_value,
                method=method,
                n=int(r.n),
                outcome=self.outcome,
                conf_level=conf,
                extra={"W": r.W, "z": r.z, **dict(r.extra)},
            )
            for r in self.table.itertuples(index=False)
        )


def _zeroin(
    f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float, maxiter: int = 1000
) -> float:
    """Brent's (1973, ch. 4) root finder as in R's ``uniroot``: bisection, secant and inverse quadratic
    interpolation, stopping when the bracket is below ``2 eps |b| + tol/2`` (Forsythe, Malcolm & Moler
    1977, *Computer Methods for Mathematical Computations*, zeroin). Given the same function values
    it visits the same points as R, so step functions give R's root to the last bit.
    """
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # b is the best approximation, c the other end of the bracket
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise EstimationError("the Hodges-Lehmann root search did not converge")


def _rank_statistic(x: np.ndarray, y: np.ndarray, d: float, correct: bool) -> float:
    """Standardised rank-sum statistic of ``x - d`` against ``y`` (R's ``W(d)`` in wilcox.test).

    ``(U(d) - n_x n_y / 2 - c) / σ(d)`` with ``U`` the rank sum of ``x - d`` minus ``n_x(n_x+1)/2``
    (mid-ranks for ties), ``c = sign(·)/2`` when ``correct`` and the tie-corrected
    ``σ² = (n_x n_y / 12)((n_x + n_y + 1) - Σ(t³ - t)/((n_x + n_y)(n_x + n_y - 1)))``.
    """
    from scipy.stats import rankdata

    nx, ny = float(x.size), float(y.size)
    pooled = np.concatenate([x - d, y])
    ranks = rankdata(pooled)
    dz = float(np.sum(ranks[: x.size])) - nx * (nx + 1) / 2 - nx * ny / 2
    _, ties = np.unique(pooled, return_counts=True)
    ties = ties.astype(float)
    sigma = math.sqrt(
        (nx * ny / 12) * ((nx + ny + 1) - float(np.sum(ties**3 - ties)) / ((nx + ny) * (nx + ny - 1)))
    )
    correction = 0.5 * float(np.sign(dz)) if correct else 0.0
    return (dz - correction) / sigma


def _hodges_lehmann_pair(x: np.ndarray, y: np.ndarray, alpha: float) -> dict[str, float]:
    from scipy.stats import norm, rankdata

    nx = float(x.size)
    pooled = np.concatenate([x, y])
    w_stat = float(np.sum(rankdata(pooled)[: x.size])) - nx * (nx + 1) / 2
    z = _rank_statistic(x, y, 0.0, correct=True)
    p_value = 2 * min(float(norm.cdf(z)), float(norm.sf(z)))
    mumin, mumax = float(np.min(x) - np.max(y)), float(np.max(x) - np.min(y))
    tol = 1e-4  # R's tol.root default

    def corrected(d: float) -> float:
        return _rank_statistic(x, y, d, correct=True)

    w_min, w_max = corrected(mumin), corrected(mumax)

    def bound(zq: float) -> float:
        if w_min - zq <= 0:
            return mumin
        if w_max - zq >= 0:
            return mumax
        return _zeroin(lambda d: corrected(d) - zq, mumin, mumax, w_min - zq, w_max - zq, tol)

    ci_low, ci_high = bound(float(norm.isf(alpha / 2))), bound(float(norm.ppf(alpha / 2)))

    def plain(d: float) -> float:
        return _rank_statistic(x, y, d, correct=False)

    estimate = _zeroin(plain, mumin, mumax, plain(mumin), plain(mumax), tol)
    return dict(estimate=estimate, ci_low=ci_low, ci_high=ci_high, p_value=p_value, W=w_stat, z=z)


def hodges_lehmann(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str | Sequence[str] = "IPS",
    control: str = "SAU",
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = "participant_id",
) -> HodgesLehmann:
    """Hodges-Lehmann shift (treatment - control), its interval and the Wilcoxon rank-sum p-value.

    Defined exactly as R's ``wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE)`` (x the
    treatment arm), i.e. the normal approximation with the tie correction. With ``W(d)`` the
    standardised rank-sum statistic of ``x - d`` against ``y`` (mid-ranks, tie-corrected variance;
    Hollander & Wolfe 1999, sec. 4.1-4.3; Bauer 1972, JASA 67:687):

    * p-value: ``2 min(Φ(z), 1 - Φ(z))``, ``z = (U - n_x n_y/2 - sign(·)/2)/σ`` at ``d = 0``;
    * interval: the shifts ``d`` where the continuity-corrected ``W(d)`` equals ``z_{1-α/2}`` (lower)
      and ``z_{α/2}`` (upper), clipped to ``[min x - max y, max x - min y]``;
    * estimate: the root of ``W(d) = 0`` **without** continuity correction (R turns the correction
      off before the estimate).

    The roots are found, as in R, by Brent's method with tolerance 1e-4 on the step function
    ``W(d)`` (:func:`_zeroin` visits the same points as R's ``uniroot``). The estimate is therefore
    **not** the median of the pairwise differences ``x_i - y_j`` (Hodges & Lehmann 1963): it is a
    point within 1e-4 of where ``W`` changes sign, which is that median up to the tolerance (for an
    even number of pairs, any point between the two middle differences). With many zeros in both
    arms (hours) the shift is often exactly 0 and R reports a number within 1e-4 of 0.
    """
    alpha = _check_alpha(alpha)
    prepared = prepare(data, outcome, arm, treatment, control, kind="continuous", missing=missing, id=id)
    _check_variation(prepared)
    y0 = prepared.arm_values(control)
    n_by = prepared.n_by_arm
    table = []
    for t in prepared.treatments:
        x = prepared.arm_values(t)
        if np.unique(np.concatenate([x, y0])).size < 2:
            raise EstimationError(
                f"{outcome!r} is identical for everyone in {t!r} and {control!r}: no rank test"
            )
        result = _hodges_lehmann_pair(x, y0, alpha)
        table.append(
            dict(
                contrast=contrast_label(t, control),
                **result,
                n=n_by[t] + n_by[control],
                extra=_contrast_extra(prepared, t),
            )
        )
    notes = (prepared.missing_note,) if prepared.missing_note else ()
    return HodgesLehmann(outcome, prepared.treatments, control, pd.DataFrame(table), alpha, notes=notes)
