"""What the two models with one indicator per treatment arm share: :func:`ipstrial.survival.cox` and
:func:`ipstrial.survival.fine_gray`.

* :func:`model_matrix` -- the treatment indicators (``arm:label``, the control the reference) and the
  covariates' design columns (:func:`ipstrial._inputs.design_matrix`), refusing collinear columns
  (:func:`ipstrial._batched.check_rank`);
* :func:`arm_events` and :func:`no_events_error` -- participants, events of interest, competing events
  and censorings per arm, and the error for arms without an event of interest;
* :func:`check_separation` and :func:`separation_candidates` -- the monotone-likelihood check run before
  either model is fitted (the rule is in the docstring of :mod:`ipstrial.survival.cox`; Bryson & Johnson
  1981, Biometrika 68:419; Heinze & Schemper 2001, Biometrics 57:114);
* :func:`newton_ascent` -- Newton-Raphson with step halving on a log partial likelihood (R's ``coxph``
  algorithm), for the Cox and the Fine-Gray fits;
* :func:`coefficient_table` -- Wald intervals and p-values of the coefficients, as hazard ratios;
* :class:`ArmModelResult` -- what both results read off their coefficient tables per treatment arm.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._batched import check_rank
from ipstrial._columns import is_numeric_dtype, plural
from ipstrial._inputs import design_matrix
from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.results import Result, contrast_label
from ipstrial.stats.normal import p_two_sided, wald_interval
from ipstrial.survival._inputs import SurvivalData

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ipstrial.results import Row

__all__ = [
    "ArmModelResult",
    "NotConverged",
    "SingularInformation",
    "arm_events",
    "check_separation",
    "coefficient_table",
    "model_matrix",
    "newton_ascent",
    "no_events_error",
    "separation_candidates",
]


# ---------------------------------------------------------------------------------------------
# the model columns and the counts per arm
# ---------------------------------------------------------------------------------------------


def model_matrix(sd: SurvivalData, model: str) -> tuple[np.ndarray, list[str], dict[str, list[int]]]:
    """The model matrix (treatment indicators ``arm:label``, then the covariates' design columns), its
    column names and each term's columns.

    Collinear columns (with an intercept) are a TrialDataError with the message of
    :func:`ipstrial._batched.check_rank` naming the redundant terms (``model`` names the model): a
    covariate that duplicates the arm indicators or another covariate is a fault of the data given.
    """
    indicators = pd.DataFrame(
        {f"{sd.arm}:{a}": (sd.arms == a).astype(float) for a in sd.treatments}, index=sd.frame.index
    )
    design = design_matrix(sd.frame, sd.covariates)
    x = pd.concat([indicators, design], axis=1)
    names = [str(nm) for nm in x.columns]
    terms: dict[str, list[int]] = {sd.arm: list(range(len(sd.treatments)))}
    for column in sd.covariates:
        terms[column] = [i for i, nm in enumerate(names) if nm == column or nm.startswith(f"{column}:")]
    matrix = x.to_numpy(dtype=float)
    try:
        check_rank(np.column_stack([np.ones(len(matrix)), matrix]), ["(intercept)", *names], model)
    except EstimationError as exc:
        raise TrialDataError(str(exc)) from None
    return matrix, names, terms


def arm_events(sd: SurvivalData) -> pd.DataFrame:
    """Per arm: ``arm, n, events, competing, censored``."""
    status, competing = sd.status, sd.competing
    return pd.DataFrame(
        {
            "arm": list(sd.groups),
            "n": [sd.n_by_arm[a] for a in sd.groups],
            "events": [int(np.sum(status[sd.arms == a])) for a in sd.groups],
            "competing": [int(np.sum(competing[sd.arms == a])) for a in sd.groups],
            "censored": [int(np.sum((sd.event == 0) & (sd.arms == a))) for a in sd.groups],
        }
    )


def no_events_error(sd: SurvivalData, events: pd.DataFrame, why: str, instead: str) -> EstimationError | None:
    """The error for the arms of ``events`` (:func:`arm_events`) without an event of interest, or None.

    The message names each such arm with its participants and follow-up, then says ``why`` the
    estimate is undefined and what to report ``instead``.
    """
    empty = [a for a, k in zip(events.arm, events.events, strict=True) if k == 0]
    if not empty:
        return None
    last = sd.last_follow_up()
    parts = ", ".join(
        f"{a!r} ({plural(sd.n_by_arm[a], 'participant')}, followed up to {last[a]:g} {sd.unit})"
        for a in empty
    )
    return EstimationError(
        f"no events (event code {sd.cause} in column {sd.event_column!r}) in arm(s) {parts}: {why}. {instead}"
    )


def coefficient_table(names: Sequence[str], beta: np.ndarray, se: np.ndarray, alpha: float) -> pd.DataFrame:
    """``term, coef, se, hazard_ratio, ci_low, ci_high, z, p_value``: Wald intervals ``exp(β ± z se)`` and
    p-values ``2 Φ(-|β/se|)`` (:mod:`ipstrial.stats.normal`)."""
    low, high = wald_interval(beta, se, alpha)
    return pd.DataFrame(
        {
            "term": list(names),
            "coef": beta,
            "se": se,
            "hazard_ratio": np.exp(beta),
            "ci_low": np.exp(low),
            "ci_high": np.exp(high),
            "z": beta / se,
            "p_value": p_two_sided(beta, se),
        }
    )


# ---------------------------------------------------------------------------------------------
# Newton-Raphson with step halving
# ---------------------------------------------------------------------------------------------


class NotConverged(Exception):
    """A fit that did not reach a maximum (the reason is the message; ``beta`` where it stopped)."""

    def __init__(self, message: str, beta: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.beta = beta


class SingularInformation(NotConverged):
    """A Newton step that cannot be computed: the information matrix is singular."""


def newton_ascent(
    evaluate: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray, Any]],
    p: int,
    converged: Callable[[np.ndarray, np.ndarray], bool],
    max_iter: int = 100,
    initial: tuple[float, np.ndarray, np.ndarray, Any] | None = None,
) -> tuple[np.ndarray, float, np.ndarray, Any, int]:
    """Maximise a log partial likelihood by Newton-Raphson with step halving, as R's ``coxph`` (agfit).

    ``evaluate(β)`` returns ``(loglik, score, information, extra)`` (``extra`` whatever the caller needs
    at the estimate; ``initial`` is ``evaluate(0)`` when the caller has it already). From ``β = 0``:
    ``β_new = β + V⁻¹ U``; a step that does not increase the log-likelihood (by more than
    ``-1e-12 max(1, |loglik|)``) or gives a non-finite one is halved, up to 40 times. Stops when
    ``converged(step, β_new)`` for the step taken; every likelihood is evaluated once. Returns
    ``(β, loglik, information, extra, iterations)`` at the estimate.

    Raises
    ------
    NotConverged
        A singular information matrix (:class:`SingularInformation`), a non-finite step, a step that
        halving cannot make increase the log-likelihood, or no convergence in ``max_iter`` steps (the
        message says which).
    """
    beta = np.zeros(p)
    ll, u, info, extra = evaluate(beta) if initial is None else initial
    for iteration in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError as exc:
            raise SingularInformation("the information matrix is singular", beta) from exc
        if not np.all(np.isfinite(step)):
            raise NotConverged("the Newton step is not finite", beta)
        for _ in range(40):
            new = beta + step
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                trial = evaluate(new)
            if math.isfinite(trial[0]) and trial[0] >= ll - 1e-12 * max(1.0, abs(ll)):
                break
            step = step / 2
        else:
            raise NotConverged("step halving could not increase the partial likelihood", beta)
        beta, (ll, u, info, extra) = new, trial
        if converged(step, beta):
            return beta, ll, info, extra, iteration
    raise NotConverged(f"no convergence in {max_iter} Newton-Raphson iterations", beta)


class ArmModelResult(Result):
    """The per-arm reading of a model result whose ``coefficients`` hold one ``arm:label`` term per
    treatment (the columns of :func:`coefficient_table`): its ratio and its row vs the control."""

    arm: str
    treatments: tuple[str, ...]
    control: str
    coefficients: pd.DataFrame

    def _arm_coefficient(self, label: str, table: pd.DataFrame | None = None) -> pd.Series:
        """The row of treatment ``label`` (term ``arm:label``) in ``table`` (the coefficients when None)."""
        table = self.coefficients if table is None else table
        row = table.loc[table.term == f"{self.arm}:{label}"]
        if row.empty:
            raise KeyError(f"{label!r} is not a treatment arm of this model; arms: {self.treatments}")
        return row.iloc[0]

    def _arm_ratio(self, treatment: str | None) -> float:
        """The ratio of one treatment arm (the first when ``None``) vs the control."""
        label = self.treatments[0] if treatment is None else treatment
        return float(self._arm_coefficient(label).hazard_ratio)

    def _ratio_row(self, label: str, estimand: str, c: pd.Series, **fields: Any) -> Row:
        """The row of treatment ``label`` vs the control: the ratio of coefficient row ``c``, its Wald
        interval and p-value."""
        return self._row(
            contrast_label(label, self.control),
            estimand,
            float(c.hazard_ratio),
            ci_low=float(c.ci_low),
            ci_high=float(c.ci_high),
            p_value=float(c.p_value),
            **fields,
        )


# ---------------------------------------------------------------------------------------------
# separation
# ---------------------------------------------------------------------------------------------


def _monotone(
    time: np.ndarray, status: np.ndarray, v: np.ndarray, strata: np.ndarray, stay: np.ndarray | None = None
) -> tuple[bool, bool]:
    """Whether the partial likelihood increases without bound as the coefficient of ``v`` goes to +inf
    (first) or -inf (second): at every event time the participant with the event has the largest (the
    smallest) ``v`` among those at risk, within strata, and for some event someone at risk differs.

    ``stay`` flags participants who stay in the risk set after their time (the competing events of the
    Fine-Gray model, whose weights are positive); None for the Cox model.
    """
    up = down = True
    up_strict = down_strict = False
    for s in np.unique(strata):
        keep = strata == s
        t, e, z = time[keep], status[keep] > 0, v[keep]
        if not e.any():
            continue
        times, idx = np.unique(t, return_inverse=True)
        high = np.full(times.size, -np.inf)
        low = np.full(times.size, np.inf)
        np.maximum.at(high, idx, z)
        np.minimum.at(low, idx, z)
        high = np.maximum.accumulate(high[::-1])[::-1][idx[e]]
        low = np.minimum.accumulate(low[::-1])[::-1][idx[e]]
        if stay is not None and stay[keep].any():
            # those who left before the event time but stay in the risk set: prefix extremes by time
            kept = stay[keep]
            order = np.argsort(t[kept], kind="stable")
            t_stay, z_stay = t[kept][order], z[kept][order]
            before = np.searchsorted(t_stay, t[e], side="left")  # how many stayers left strictly before
            prefix_high = np.concatenate([[-np.inf], np.maximum.accumulate(z_stay)])[before]
            prefix_low = np.concatenate([[np.inf], np.minimum.accumulate(z_stay)])[before]
            high = np.maximum(high, prefix_high)
            low = np.minimum(low, prefix_low)
        ze = z[e]
        up &= bool(np.all(ze >= high))
        down &= bool(np.all(ze <= low))
        up_strict |= bool(np.any(ze > low))
        down_strict |= bool(np.any(ze < high))
    return up and up_strict, down and down_strict


def check_separation(
    time: np.ndarray,
    status: np.ndarray,
    candidates: Sequence[tuple[str, str | None, np.ndarray]],
    strata: np.ndarray | None = None,
    model: str = "the Cox model",
    stay: np.ndarray | None = None,
) -> None:
    """Raise an EstimationError naming the first candidate in which the partial likelihood is monotone.

    ``candidates`` are ``(column, level, values)``: ``level`` None for a numeric column, else the
    values are the 0/1 indicator of that level of ``column`` (the rule: :mod:`ipstrial.survival.cox`).
    ``stay`` flags participants who stay at risk after their time (Fine-Gray's competing events).
    """
    codes = (
        np.zeros(len(time), dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
    )
    for column, level, values in candidates:
        v = np.asarray(values, dtype=float)
        up, down = _monotone(time, status, v, codes, stay)
        if not (up or down):
            continue
        within = " within every stratum" if strata is not None else ""
        if level is None:
            how = "largest" if up else "smallest"
            what = (
                f"{column}: at every event time{within} the participant with the event has the {how} "
                f"{column} of those at risk, so the hazard ratio per unit of {column} is "
                + ("infinite" if up else "0")
            )
        else:
            member = v > 0
            if up:
                all_events = bool(np.all(status[member] > 0))
                what = (
                    f"{column} = {level}: every participant of this level has the event"
                    + ("" if all_events else " or is censored")
                    + f" before any participant of another level has one{within}, so its hazard ratio is "
                    "infinite"
                )
            else:
                none = not bool(np.any(status[member] > 0))
                what = (
                    f"{column} = {level}: "
                    + (
                        "no participant of this level has the event"
                        if none
                        else f"no participant of this level has the event while participants of other levels "
                        f"are at risk{within}"
                    )
                    + ", so its hazard ratio is 0"
                )
        r_says = (
            "R's coxph would warn that the coefficient may be infinite"
            if stay is None
            else "cmprsk::crr would not converge"
        )
        raise EstimationError(
            f"{model} has no finite estimate (separation: the partial likelihood increases without bound): "
            f"{what}. {r_says}. Merge the level with another, drop the covariate, or compare the arms with "
            "the log-rank test or RMST"
        )


def separation_candidates(sd: SurvivalData) -> list[tuple[str, str | None, np.ndarray]]:
    """Each arm, each level of each categorical covariate and each numeric covariate (check_separation)."""
    out: list[tuple[str, str | None, np.ndarray]] = [
        (sd.arm, a, (sd.arms == a).astype(float)) for a in sd.compared
    ]
    for column in sd.covariates:
        series = sd.frame[column]
        if pd.api.types.is_bool_dtype(series) or is_numeric_dtype(series.dtype):
            out.append((column, None, series.to_numpy(dtype=float)))
        else:
            for level in sorted(pd.unique(series.dropna()), key=str):
                out.append((column, str(level), (series == level).to_numpy(dtype=float)))
    return out
