"""The two-part (hurdle) model of a zero-heavy non-negative outcome (hours, costs), with bootstrap intervals.

Part 1: logistic regression of ``1[y > 0]`` on arm indicators and covariates; part 2: gamma GLM with
log link of ``y`` among those with ``y > 0`` on the same terms (Duan, Manning, Morris & Newhouse 1983,
J Bus Econ Stat 1:115, the two-part model; Mihaylova, Briggs, O'Hagan & Thompson 2011, Health Econ
20:897, sec. 3.3, for costs). Both are fitted to the compared arms. The mean of arm ``a`` is
standardised over everyone analysed (g-computation)::

    μ_a = (1/n) Σ_i P(y > 0 | x_i, a) · E(y | y > 0, x_i, a),

and ``μ_a - μ_control`` is the mean difference. Point fits: :func:`ipstrial._glm.fit_glm`
(statsmodels' IRLS polished by Newton's method). Intervals: ``n_resamples`` bootstrap replicates
resampling participants within arm and refitting both parts (frequency weights from
:func:`ipstrial.resampling.bootstrap_count_chunks`, chunk by chunk, each chunk's replicates fitted
together by :func:`ipstrial._batched.newton_batch` started at the point estimate); percentile interval,
se = SD of the replicates (rows of variant ``"bootstrap"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._batched import check_rank, glm_derivatives, newton_batch, products
from ipstrial._bootstrap import bootstrap_extra, refitted_replicates, replicate_summary
from ipstrial._checks import check_count
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._glm import fit_glm, logistic_separation, uncentre
from ipstrial._random import SeedLike, check_seed
from ipstrial.errors import EstimationError
from ipstrial.itt._common import contrast_row, model_matrix, prepare_checked, table_rows
from ipstrial.results import Result, Row, excluded_extra

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["TwoPart", "two_part"]


def _expit(z: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(z)


def _g_means(
    X: np.ndarray, indicators: Sequence[int | None], beta1: np.ndarray, beta2: np.ndarray, W: np.ndarray
) -> np.ndarray:
    """Standardised means ``Σ_i w_i P(y>0|x_i,a) E(y|y>0,x_i,a) / Σ_i w_i`` for every arm.

    One column per arm, in the order of ``indicators``: the column of ``X`` that is the arm's indicator,
    None for the control (every arm indicator 0). ``beta1``/``beta2`` are ``(B, p)``, ``W`` is
    ``(B, n)``; returns ``(B, arms)``.
    """
    keep = [j for j in range(X.shape[1]) if j not in indicators]
    base1 = beta1[:, keep] @ X[:, keep].T
    base2 = beta2[:, keep] @ X[:, keep].T
    total = W.sum(axis=1)
    out = np.empty((W.shape[0], len(indicators)))
    for j, k in enumerate(indicators):
        if k is None:
            weighted = W * _expit(base1) * np.exp(base2)
        else:
            weighted = W * (_expit(base1 + beta1[:, [k]]) * np.exp(base2 + beta2[:, [k]]))
        out[:, j] = np.sum(weighted, axis=1) / total
    return out


@dataclass(frozen=True, eq=False)
class TwoPart(Result):
    """Marginal arm means and differences from a two-part (hurdle) model with bootstrap intervals.

    ``means`` (one row per arm, in the order results list them) and ``differences`` hold ``estimate,
    se, ci_low, ci_high`` (se = SD of the bootstrap replicates); ``logit`` and ``gamma`` the
    coefficients of the two parts; ``replicates`` the replicate means ``(n_resamples - failed, arms)``
    in the order of ``means``.
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
    n_resamples: int
    failed: int
    n: int
    n_positive: int
    alpha: float = 0.05
    seed_entropy: int | None = None
    analysis: str = "itt_two_part"
    notes: tuple[str, ...] = ()

    title_template = "Two-part model of {outcome}: {contrasts}"

    def rows(self) -> tuple[Row, ...]:
        covs = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"two-part model (logistic P(>0), gamma log-link GLM of positives; arm and covariates: {covs}), "
            f"g-computation; bootstrap percentile, {self.n_resamples} resamples within arm"
        )
        common = bootstrap_extra(self.n_resamples, self.seed_entropy, self.failed) | {
            "n_positive": self.n_positive
        }
        means = table_rows(self, self.means, "mean", method, common, label="arm", variant="bootstrap")
        differences = table_rows(
            self,
            self.differences,
            "mean_difference",
            method,
            common | {"n_model": self.n},
            variant="bootstrap",
        )
        return tuple(means + differences)


@shared_params
def two_part(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    covariates: str | Sequence[str] = (),
    n_resamples: int = 2000,
    seed: SeedLike = None,
    alpha: float = 0.05,
    missing: str | None = None,
    id: str | None = None,
    analysis: str = "itt_two_part",
) -> TwoPart:
    """Marginal means per arm and their differences from a two-part model (module docstring).

    A replicate in which a part cannot be fitted (a covariate level without participants, separation)
    is dropped and counted in ``failed_replicates``; more than 5 % failures is an error. Memory: the
    replicates are drawn and fitted chunk by chunk (:data:`ipstrial._memory.CHUNK_BYTES` of counts);
    what is kept, ``n_resamples x arms`` replicate means, is checked against the memory budget.

    Parameters
    ----------
    @params data
    outcome
        The non-negative outcome column.
    @params arm covariates
    n_resamples
        Bootstrap replicates (at least 2).
    @params seed alpha missing id analysis

    Raises
    ------
    TrialDataError
        Negative outcomes (participants named); missing outcomes without a policy.
    EstimationError
        An arm without any zero or without any positive outcome (part 1 is not identified), separation
        in the logistic part (the covariate and level named), too few positives for part 2, a part that
        does not converge, or more than 5 % failed replicates.
    """
    n_resamples = check_count(n_resamples, "n_resamples", minimum=2)
    seed = check_seed(seed)
    alpha, prepared = prepare_checked(
        data,
        outcome,
        arm,
        treatment,
        control,
        covariates,
        kind="nonnegative",
        alpha=alpha,
        analysis=analysis,
        missing=missing,
        id=id,
    )
    y = prepared.y
    labels = prepared.order
    for a in labels:
        v = prepared.arm_values(a)
        if not (np.any(v == 0) and np.any(v > 0)):
            what = "no zero" if not np.any(v == 0) else "no positive"
            raise EstimationError(
                f"arm {a!r} has {what} {outcome!r}: the logistic part is not identified (separation); "
                "use adjusted_mean_difference or a model for positive outcomes"
            )
    X, names, arm_cols = model_matrix(prepared, where="the two-part model")
    positive = y > 0
    if positive.sum() <= X.shape[1]:
        raise EstimationError(
            f"{plural(int(positive.sum()), 'positive outcome')} for {plural(X.shape[1], 'coefficient')}: "
            "too few"
        )
    check_rank(X[positive], names, "the gamma part (participants with a positive outcome)")
    any_positive = positive.astype(float)
    part1 = fit_glm(X, any_positive, "logistic", "the logistic part")
    if not part1.converged:
        logistic_separation(
            X,
            any_positive,
            names,
            prepared,
            f"the logistic part (any positive {outcome}) of the two-part model",
            "use adjusted_mean_difference",
        )
        raise EstimationError(
            "the logistic part of the two-part model did not converge in 100 Newton iterations (the data are "
            "not separated); rescale numeric covariates or drop some"
        )
    part2 = fit_glm(X[positive], y[positive], "gamma-log", "the gamma part")
    if not part2.converged:
        raise EstimationError(
            "the gamma part (log link, participants with a positive outcome) did not converge in 100 Newton "
            "iterations; rescale numeric covariates, merge rare covariate levels or drop covariates"
        )
    # the arm indicator of each arm, in the order of the arms (None: the control)
    column = dict(zip(prepared.treatments, arm_cols, strict=True))
    indicators = [column.get(a) for a in labels]
    point = _g_means(X, indicators, part1.beta[None], part2.beta[None], np.ones((1, len(y))))[0]

    # the bootstrap: both parts refitted to every replicate, from the point estimates
    X1c = X - part1.shift
    X2c = X[positive] - part2.shift
    logistic = glm_derivatives("logistic", any_positive)
    gamma = glm_derivatives("gamma-log", y[positive])
    Q1, Q2 = products(X1c), products(X2c)

    def refit(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b1, c1 = newton_batch(X1c, W, part1.beta_c, logistic, Q=Q1)
        b2, c2 = newton_batch(X2c, W[:, positive], part2.beta_c, gamma, Q=Q2)
        return _g_means(X, indicators, uncentre(b1, part1.shift), uncentre(b2, part2.shift), W), c1 & c2

    draws, failed, entropy = refitted_replicates(
        pd.Index(labels).get_indexer(prepared.arms),
        len(labels),
        n_resamples,
        seed,
        len(labels),
        refit,
        kept_bytes=8.0 * n_resamples * (2 + len(labels)),
        estimator="two_part",
        what="bootstrap replicates",
        why_fix="(covariate levels or arms without zero or positive outcomes in the resample); merge rare "
        "covariate levels or drop covariates",
    )
    n_by = prepared.n_by_arm
    means = []
    for i, a in enumerate(labels):
        means.append(
            dict(
                arm=a,
                estimate=float(point[i]),
                **replicate_summary(draws[:, i], alpha),
                n=n_by[a],
                extra=excluded_extra(prepared.inputs, a),
            )
        )
    c = labels.index(prepared.control)
    differences = []
    for t in prepared.treatments:
        i = labels.index(t)
        differences.append(
            contrast_row(
                prepared,
                t,
                estimate=float(point[i] - point[c]),
                **replicate_summary(draws[:, i] - draws[:, c], alpha),
            )
        )
    return TwoPart(
        outcome=outcome,
        treatments=prepared.treatments,
        control=prepared.control,
        covariates=prepared.covariates,
        means=pd.DataFrame(means),
        differences=pd.DataFrame(differences),
        logit=pd.Series(part1.beta, index=names),
        gamma=pd.Series(part2.beta, index=names),
        replicates=draws,
        n_resamples=n_resamples,
        failed=failed,
        n=len(y),
        n_positive=int(positive.sum()),
        alpha=alpha,
        seed_entropy=entropy,
        analysis=analysis,
        notes=part1.notes + part2.notes,
        inputs=prepared.inputs,
    )
