"""Cox proportional hazards model for time to first employment, with the Schoenfeld-residual test.

The model (Cox 1972, JRSS B 34:187) for participant ``i`` in stratum ``s`` is
``h_i(t) = h_{0s}(t) exp(β' z_i)`` with ``z_i`` one 0/1 indicator per treatment arm (the control
arm is the reference) and the covariates of :func:`ipstrial._inputs.design_matrix` (numbers as
they are, text as 0/1 dummies, the first sorted level the reference). Each stratum has its own
baseline hazard ``h_{0s}``. ``β`` maximises the partial likelihood; at a time with ``d`` tied events
``D`` in the risk set ``R`` (``w = exp(β' z)``, ``k = 0, …, d-1``):

    S0_k = Σ_R w - f_k Σ_D w,  S1_k, S2_k likewise with w z and w z z'
    log-likelihood  Σ_D β' z - Σ_k log S0_k
    score   U = Σ_D z - Σ_k S1_k / S0_k
    information  V = Σ_k (S2_k / S0_k - (S1_k / S0_k)(S1_k / S0_k)')

with ``f_k = k / d`` for Efron's (1977, JASA 72:557) handling of ties (``ties="efron"``, the default,
as R's ``coxph``) and ``f_k = 0`` for Breslow's (1974, Biometrics 30:89; ``ties="breslow"``).

Fitting. Efron: lifelines' ``CoxPHFitter`` (Newton-Raphson, convergence tightened well beyond R's
``coxph`` default). Near separation its first Newton steps can overflow (``delta contains nan
value(s)``, ``matrix inversion problems``): the fit is then retried with smaller steps
(``step_size`` 0.5, then 0.25) and, failing those, by ipstrial's own Newton-Raphson with step halving
(R's ``coxph`` algorithm: a step that lowers the log-likelihood is halved); the result notes which fit
was used and why. Breslow: ipstrial's Newton-Raphson (lifelines has only Efron's method), validated
against R's ``coxph(ties = "breslow")``. Wald intervals ``exp(β ± z_{1-α/2} se)`` and two-sided Wald
p-values ``2 Φ(-|β/se|)`` (Therneau & Grambsch 2000, Modeling Survival Data, ch. 3).

Separation (monotone likelihood; Bryson & Johnson 1981, Biometrika 68:419; Heinze & Schemper 2001,
Biometrics 57:114): before fitting, each arm, each level of a categorical covariate and each numeric
covariate is checked for a direction in which the partial likelihood keeps increasing whatever the
other coefficients: at every event time (within strata) the participant with the event has the
largest (or the smallest) value among those at risk. For a level this means every participant of the
level has the event (or is censored) before any participant of another level has the event, or no
participant of the level has the event while others are at risk. Its hazard ratio is then infinite
(or 0), R's ``coxph`` warns "coefficient may be infinite", and ipstrial raises an
:class:`~ipstrial.errors.EstimationError` naming the covariate and the level. A fit that fails
without such a column is an EstimationError that does not claim separation.

Competing events (event codes other than ``cause``) are censored at their time: the model
estimates the cause-specific hazard ratio (Prentice et al. 1978, Biometrics 34:541), which is not
a statement about the cumulative incidence (see :mod:`ipstrial.survival` competing-risk tools).

Proportional hazards: the score test of Grambsch & Therneau (1994, Biometrika 81:515) as
computed by R's ``survival::cox.zph`` (survival 3.x, ``transform = "km"``, ``terms = TRUE``;
Therneau, "The survival package" documentation of ``cox.zph``), with the ties of the fit. Each
covariate column ``z_j`` is extended with the time-varying column ``z_j g(t)``, where ``g(t) = 1 -
Ŝ(t-)`` is one minus the left-continuous Kaplan-Meier estimate of the pooled data (all strata,
competing events censored), centred by its mean over the events. At ``(β̂, γ = 0)`` the score of ``γ``
and the information of the extended model are, summing over the event times ``t`` (within strata),

    U_γ = Σ_t g(t) U_t,    I = Σ_t [[1, g(t)], [g(t), g(t)²]] ⊗ V_t,

with ``U_t`` and ``V_t`` the score and information at time ``t`` above. The score of ``β`` is set to
0 (it is 0 at ``β̂``). For a term with columns ``J`` (one column for a number, the dummies of a
categorical covariate, all treatment indicators for the arm term) the statistic is ``u' I_{KK}^{-1} u``
with ``K = (all β, γ_J)`` and ``u = (0, U_γJ)``, chi-square with ``|J|`` degrees of freedom; the global
test uses every ``γ``. This differs from lifelines' ``proportional_hazard_test`` (a residual-regression
form of the older survival 2.x test).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_choice
from ipstrial._docs import shared_params
from ipstrial.errors import EstimationError
from ipstrial.results import format_p
from ipstrial.survival._arm_models import (
    ArmModelResult,
    arm_events,
    check_separation,
    coefficient_table,
    model_matrix,
    newton_ascent,
    no_events_error,
    separation_candidates,
)
from ipstrial.survival._arm_models import NotConverged as _NotConverged
from ipstrial.survival._inputs import competing_censored_note, prepare_survival

if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Mapping

    from matplotlib.axes import Axes

    from ipstrial.results import Row
    from ipstrial.trial import Trial

__all__ = ["TIES", "CoxFit", "CoxResult", "cox", "fit_cox", "schoenfeld_test"]

TIES = ("efron", "breslow")
_STEP_SIZES = (None, 0.5, 0.25)
"""lifelines' default Newton step (0.95), then smaller steps, before ipstrial's step-halving Newton."""
_LIFELINES_OPTIONS = {"precision": 1e-12, "r_precision": 1e-15, "max_steps": 200}


# ---------------------------------------------------------------------------------------------
# the partial likelihood, its score and information, by event time
# ---------------------------------------------------------------------------------------------


def cox_terms(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray | None = None,
    ties: str = "efron",
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Log partial likelihood, and the score ``U_t`` and information ``V_t`` at every event time.

    Formulas in the module docstring (``f_k = k/d`` Efron, 0 Breslow). Returns ``(loglik, times (m,),
    U (m, p), V (m, p, p))`` with one entry per (stratum, event time) with at least one event. The
    sums over the tied events are expanded per time (``Σ_k S1_k/S0_k = R1 Σ_k 1/S0_k - D1 Σ_k f_k/S0_k``
    and likewise), so no array of events x p x p is formed. Covariates are centred within each
    stratum and ``exp`` is taken of ``β' z - max β' z``; neither changes the likelihood.
    """
    x = np.asarray(x, dtype=float)
    p = x.shape[1]
    beta = np.asarray(beta, dtype=float)
    strata = np.zeros(len(time), dtype=np.int64) if strata is None else np.asarray(strata)
    efron = ties == "efron"
    loglik = 0.0
    out_t, out_u, out_v = [], [], []
    for s in pd.unique(strata):
        keep = strata == s
        t, e, z = time[keep], status[keep].astype(float), x[keep]
        z = z - z.mean(axis=0)
        eta = z @ beta
        top = float(eta.max())
        w = np.exp(eta - top)
        times, idx = np.unique(t, return_inverse=True)
        m = len(times)
        we = w * e

        def by_time(values: np.ndarray, idx: np.ndarray = idx, m: int = m) -> np.ndarray:
            return np.bincount(idx, weights=values, minlength=m)

        d = by_time(e)
        has = d > 0
        if not has.any():
            continue
        r0 = np.cumsum(by_time(w)[::-1])[::-1][has]
        d0 = by_time(we)[has]
        r1 = np.zeros((m, p))
        d1 = np.zeros((m, p))
        xd = np.zeros((m, p))
        for a in range(p):
            r1[:, a] = by_time(w * z[:, a])
            d1[:, a] = by_time(we * z[:, a])
            xd[:, a] = by_time(e * z[:, a])
        r1 = np.cumsum(r1[::-1], axis=0)[::-1][has]
        d1, xd = d1[has], xd[has]
        r2 = np.zeros((m, p, p))
        d2 = np.zeros((m, p, p))
        for a in range(p):
            for b in range(a, p):
                r2[:, a, b] = r2[:, b, a] = by_time(w * z[:, a] * z[:, b])
                d2[:, a, b] = d2[:, b, a] = by_time(we * z[:, a] * z[:, b])
        r2 = np.cumsum(r2[::-1], axis=0)[::-1][has]
        d2 = d2[has]
        counts = d[has].astype(np.int64)
        group = np.repeat(np.arange(counts.size), counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        frac = k / counts[group] if efron else np.zeros(group.size)
        s0 = r0[group] - frac * d0[group]

        def per_time(values: np.ndarray, group: np.ndarray = group, size: int = counts.size) -> np.ndarray:
            return np.bincount(group, weights=values, minlength=size)

        a0 = per_time(1.0 / s0)
        b0 = per_time(frac / s0)
        c0 = per_time(1.0 / s0**2)
        c1 = per_time(frac / s0**2)
        c2 = per_time(frac**2 / s0**2)
        loglik += float(np.sum(by_time(e * eta)) - np.sum(np.log(s0)) - top * counts.sum())
        u = xd - (r1 * a0[:, None] - d1 * b0[:, None])
        outer = r1[:, :, None] * r1[:, None, :]
        cross = r1[:, :, None] * d1[:, None, :]
        v = (
            r2 * a0[:, None, None]
            - d2 * b0[:, None, None]
            - outer * c0[:, None, None]
            + (cross + cross.transpose(0, 2, 1)) * c1[:, None, None]
            - d1[:, :, None] * d1[:, None, :] * c2[:, None, None]
        )
        out_t.append(times[has])
        out_u.append(u)
        out_v.append(v)
    if not out_t:
        return loglik, np.zeros(0), np.zeros((0, p)), np.zeros((0, p, p))
    return loglik, np.concatenate(out_t), np.concatenate(out_u, axis=0), np.concatenate(out_v, axis=0)


def _totals(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    strata: np.ndarray | None,
    ties: str,
) -> tuple[float, np.ndarray, np.ndarray]:
    loglik, _, u, v = cox_terms(time, status, x, beta, strata, ties)
    return loglik, u.sum(axis=0), v.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CoxFit:
    """A fitted Cox partial likelihood: coefficients, their covariance (inverse information), the log
    partial likelihood at the estimate and at 0, the fitter used and notes."""

    coef: np.ndarray
    variance: np.ndarray
    loglik: float
    loglik_null: float
    fitter: str
    notes: tuple[str, ...] = ()


def _newton(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    strata: np.ndarray | None,
    ties: str,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Newton-Raphson with step halving on the partial likelihood, as R's ``coxph`` (agfit/coxfit6).

    From ``β = 0``: ``β_new = β + V⁻¹ U``; a step that does not increase the log-likelihood (or gives a
    non-finite one) is halved, up to 40 times (:func:`ipstrial.survival._arm_models.newton_ascent`).
    Converged when the step is below ``1e-10 (1 + |β|)`` (R's default ``eps = 1e-9`` on the relative
    change of the log-likelihood is looser). Returns ``(β, V(β), loglik(β), iterations)``.
    """

    def evaluate(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, None]:
        return (*_totals(time, status, x, beta, strata, ties), None)

    def converged(step: np.ndarray, beta: np.ndarray) -> bool:
        return bool(np.max(np.abs(step), initial=0.0) <= 1e-10 * (1.0 + np.max(np.abs(beta), initial=0.0)))

    beta, loglik, info, _, iterations = newton_ascent(evaluate, x.shape[1], converged, max_iter)
    return beta, info, loglik, iterations


def _first_line(message: object) -> str:
    return str(message).strip().split("\n")[0].split(" Please see")[0].strip()


def _lifelines_efron(
    time: np.ndarray, status: np.ndarray, x: np.ndarray, strata: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, float, float | None, list[str], list[str]]:
    """lifelines' Efron fit, retried with smaller Newton steps; raises _NotConverged with the reasons.

    Returns ``(β, covariance, loglik, step_size used or None for the default, failures of the earlier
    attempts, numerical warnings of the successful one)``.
    Expected warnings (lifelines' ConvergenceWarning, numpy's RuntimeWarning from overflow, scipy's
    LinAlgWarning) are recorded, never silenced; others are passed on.
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning
    from scipy.linalg import LinAlgWarning

    expected = (ConvergenceWarning, RuntimeWarning, LinAlgWarning)
    names = [f"x{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=names)
    frame["__time"] = time
    frame["__status"] = status
    if strata is not None:
        frame["__stratum"] = strata
    failures: list[str] = []
    for step in _STEP_SIZES:
        options = dict(_LIFELINES_OPTIONS)
        if step is not None:
            options["step_size"] = step
        label = "the default step" if step is None else f"step_size={step:g}"
        fitter = CoxPHFitter(strata=["__stratum"] if strata is not None else None)
        problem = ""
        with warnings.catch_warnings(record=True) as caught:
            for category in expected:
                warnings.simplefilter("always", category)
            try:
                fitter.fit(frame, duration_col="__time", event_col="__status", fit_options=options)
            except ConvergenceError as exc:
                problem = _first_line(exc)
        for w in caught:
            if not issubclass(w.category, expected):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if not problem:
            trouble = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
            if trouble:
                problem = _first_line(trouble[0].message)
        if not problem:
            beta = fitter.params_.loc[names].to_numpy(dtype=float)
            cov = fitter.variance_matrix_.loc[names, names].to_numpy(dtype=float)
            if np.all(np.isfinite(beta)) and np.all(np.isfinite(cov)):
                warned = [  # numerical warnings of a fit that converged all the same: noted
                    f"{w.category.__name__}: {_first_line(w.message)}"
                    for w in caught
                    if issubclass(w.category, RuntimeWarning | LinAlgWarning)
                ]
                return beta, cov, float(fitter.log_likelihood_), step, failures, warned[:1]
            problem = "non-finite estimates"
        overflow = [w for w in caught if issubclass(w.category, RuntimeWarning | LinAlgWarning)]
        if overflow:
            problem += f" (preceded by {overflow[0].category.__name__}: {_first_line(overflow[0].message)})"
        failures.append(f"{label}: {problem}")
    raise _NotConverged("; ".join(failures))


def fit_cox(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    strata: np.ndarray | None = None,
    ties: str = "efron",
) -> CoxFit:
    """Maximise the Cox partial likelihood (module docstring: which fitter, retries, notes).

    ``time`` durations, ``status`` 1 for an event and 0 otherwise, ``x`` the model matrix (n, p),
    ``strata`` one label per row or None, ``ties`` ``"efron"`` or ``"breslow"``.

    Raises
    ------
    EstimationError
        When no fit converges (the message gives each fitter's reason; it does not claim separation:
        :func:`check_separation` does that before fitting).
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    x = np.asarray(x, dtype=float)
    loglik_null = _totals(time, status, x, np.zeros(x.shape[1]), strata, ties)[0]
    notes: list[str] = []
    if ties == "efron":
        try:
            beta, cov, loglik, step, failures, warned = _lifelines_efron(time, status, x, strata)
        except _NotConverged as exc:
            lifelines_reason = str(exc)
        else:
            if failures:
                notes.append(
                    f"lifelines' Newton-Raphson failed with {'; '.join(failures)}; refitted with "
                    f"step_size={step:g}"
                )
            notes.extend(f"lifelines' fit converged after a {w}" for w in warned)
            return CoxFit(beta, cov, loglik, loglik_null, "lifelines CoxPHFitter", tuple(notes))
    else:
        lifelines_reason = ""
    try:
        beta, info, loglik, _ = _newton(time, status, x, strata, ties)
        cov = np.linalg.inv(info)
    except (_NotConverged, np.linalg.LinAlgError) as exc:
        reason = f"lifelines: {lifelines_reason}; " if lifelines_reason else ""
        raise EstimationError(
            f"the Cox model did not converge ({reason}ipstrial's Newton-Raphson: {exc}); no arm or covariate "
            "level separates events from non-events, so check for collinear or extreme covariates "
            "(rescale numbers, merge rare levels) and simplify covariates= or strata="
        ) from exc
    if lifelines_reason:
        notes.append(
            f"lifelines' Newton-Raphson failed ({lifelines_reason}); fitted by ipstrial's Newton-Raphson "
            "with step halving (as R coxph)"
        )
    return CoxFit(beta, cov, loglik, loglik_null, "ipstrial Newton-Raphson", tuple(notes))


# ---------------------------------------------------------------------------------------------
# proportional hazards test
# ---------------------------------------------------------------------------------------------


def _km_left(time: np.ndarray, status: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Left-continuous Kaplan-Meier estimate ``Ŝ(t-)`` of the pooled data at the times ``at``."""
    times, idx = np.unique(time, return_inverse=True)
    d = np.bincount(idx, weights=status.astype(float), minlength=len(times))
    at_risk = np.cumsum(np.bincount(idx, minlength=len(times))[::-1])[::-1]
    surv = np.cumprod(1.0 - d / at_risk)
    before = np.searchsorted(times, at, side="left")  # number of distinct times strictly before
    return np.concatenate([[1.0], surv])[before]


def _quadratic_form(info: np.ndarray, u: np.ndarray) -> float:
    """``u' info^{-1} u``, or NaN when ``info`` is singular (R's ``cox.zph`` stops there: "system is
    exactly singular"), e.g. when every event is at one time and ``g(t)`` is 0 at all of them."""
    # R's solve() refuses a reciprocal condition number (1-norm) below the machine epsilon
    with np.errstate(divide="ignore", invalid="ignore"):
        condition = np.linalg.cond(info, 1)
    if not np.isfinite(condition) or condition * np.finfo(float).eps > 1.0:
        return math.nan
    try:
        return float(u @ np.linalg.solve(info, u))
    except np.linalg.LinAlgError:
        return math.nan


def ph_test_not_computable(time: np.ndarray, status: np.ndarray, ph: pd.DataFrame, unit: str) -> str | None:
    """The note for a proportional-hazards test that could not be computed, or None when it was."""
    failed = ph.term[ph.chisq.isna()].tolist()
    if not failed:
        return None
    event_times = np.unique(np.asarray(time, dtype=float)[np.asarray(status) == 1])
    if len(event_times) == 1:
        why = (
            f"every event is at one time ({event_times[0]:g} {unit}), so a hazard ratio changing over "
            "follow-up cannot be tested"
        )
    else:
        why = "the information matrix of the model with time-varying effects is singular"
    terms = ", ".join(failed)
    return (
        f"proportional-hazards test not computable for {terms}: {why} (R's cox.zph stops with "
        "'system is exactly singular'); its chi-square and p are NaN. Check the durations (are they "
        "follow-up times since randomisation?); the hazard ratio itself is defined"
    )


def schoenfeld_test(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    terms: dict[str, list[int]],
    strata: np.ndarray | None = None,
    ties: str = "efron",
) -> pd.DataFrame:
    """The proportional-hazards score test of R's ``survival::cox.zph`` (survival 3.x, transform "km").

    ``time``, ``status`` (1 event, 0 censored), model matrix ``x`` (n, p), fitted ``beta`` (p,),
    ``terms`` mapping a term name to its column indices, ``strata`` one label per row (or None),
    ``ties`` those of the fit. Returns a frame ``term, chisq, df, p`` with one row per term and a last
    row ``GLOBAL``. The formulas are in the module docstring (Grambsch & Therneau 1994, Biometrika 81:515).
    """
    from scipy import stats

    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    x = np.asarray(x, dtype=float)
    beta = np.asarray(beta, dtype=float)
    p = x.shape[1]
    _, t_ev, u_t, v_t = cox_terms(time, status, x, beta, strata, ties)
    # g(t) = 1 - S(t-), centred by its mean over the events (each event counted once)
    centre = np.mean(1.0 - _km_left(time, status, time[status == 1]))
    g = 1.0 - _km_left(time, status, t_ev) - centre
    u_gamma = (g[:, None] * u_t).sum(axis=0)
    info = np.zeros((2 * p, 2 * p))
    info[:p, :p] = v_t.sum(axis=0)
    info[:p, p:] = info[p:, :p] = (g[:, None, None] * v_t).sum(axis=0)
    info[p:, p:] = (g[:, None, None] ** 2 * v_t).sum(axis=0)
    records = []
    for name, cols in [*terms.items(), ("GLOBAL", list(range(p)))]:
        keep = [*range(p), *(p + c for c in cols)]
        u = np.concatenate([np.zeros(p), u_gamma[cols]])
        records.append((name, _quadratic_form(info[np.ix_(keep, keep)], u), len(cols)))
    frame = pd.DataFrame.from_records(records, columns=["term", "chisq", "df"])
    frame["p"] = stats.chi2.sf(frame.chisq, frame.df)
    return frame


# ---------------------------------------------------------------------------------------------
# result and the public function
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CoxResult(ArmModelResult):
    """A Cox model: hazard ratios of each treatment arm vs the control, and the PH test.

    ``coefficients``: one row per model column (``term`` as ``column:level`` for dummies and
    ``arm:label`` for the treatment indicators) with ``coef`` (log hazard ratio), ``se``,
    ``hazard_ratio``, ``ci_low``, ``ci_high``, ``z``, ``p_value``.
    ``ph_test``: the Schoenfeld-residual score test per term and ``GLOBAL`` (``term, chisq, df,
    p``), as R's ``cox.zph`` (``transform = "km"``) with the ties of the fit.
    ``events``: per arm ``arm, n, events, competing`` (competing events censored in the model).
    ``log_likelihood`` and ``log_likelihood_null`` are the log partial likelihoods at the estimate and
    at 0 (R's ``fit$loglik``); ``fitter`` says which algorithm produced the estimate.
    """

    outcome: str
    arm: str
    treatments: tuple[str, ...]
    control: str
    coefficients: pd.DataFrame
    ph_test: pd.DataFrame
    events: pd.DataFrame
    covariates: tuple[str, ...]
    strata: tuple[str, ...]
    cause: int
    n: int
    log_likelihood: float
    log_likelihood_null: float = math.nan
    ties: str = "efron"
    fitter: str = "lifelines CoxPHFitter"
    alpha: float = 0.05
    unit: str = "days"
    analysis: str = "survival_cox"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import contrast_label, display_label

        return (
            f"Hazard ratio for {display_label(self.outcome)} "
            f"(Cox, cause-specific hazard of event {self.cause}): "
            + ", ".join(contrast_label(t, self.control) for t in self.treatments)
        )

    def hazard_ratio(self, treatment: str | None = None) -> float:
        """The hazard ratio of one treatment arm (the first when ``None``) vs the control."""
        return self._arm_ratio(treatment)

    def rows(self) -> tuple[Row, ...]:
        counts = self.events.set_index("arm")
        ph = self.ph_test.set_index("term")
        adjusted = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"Cox proportional hazards, {self.ties.capitalize()} ties ({self.fitter}); cause-specific hazard "
            f"of event {self.cause}, competing events censored; covariates: {adjusted}"
        )
        if self.strata:
            method += f"; stratified by {' x '.join(self.strata)} (separate baseline hazards)"
        method += "; Wald interval and p"
        out = []
        for label in self.treatments:
            c = self._arm_coefficient(label)
            extra: dict[str, object] = {
                "log_hr": float(c.coef),
                "se_log_hr": float(c.se),
                "events_treatment": int(counts.events[label]),
                "events_control": int(counts.events[self.control]),
                "competing_censored": int(counts.competing[label] + counts.competing[self.control]),
                "cause": self.cause,
                "unit": self.unit,
                "ties": self.ties,
                "n_model": self.n,
                "ph_test_arm_p": float(ph.p[self.arm]),
                "ph_test_global_p": float(ph.p["GLOBAL"]),
            }
            if self.strata:
                extra["strata"] = " x ".join(self.strata)
            out.append(
                self._ratio_row(
                    label,
                    "hazard_ratio",
                    c,
                    method=method,
                    n=int(counts.n[label] + counts.n[self.control]),
                    extra=extra,
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None, *, colors: Mapping[str, str] | None = None) -> Axes:
        """Hazard ratios of each treatment vs the control with their Wald intervals, on a log axis.

        One line per treatment (its colour from ``colors``, default
        :func:`ipstrial.report.palette.arm_colors` of the arms), the text "HR (low to high)", events/n per
        arm (:attr:`events`), a line at 1 and "favours" labels (a hazard ratio above 1: the event, a first
        job, comes sooner with the treatment).
        """
        from ipstrial.report.figures import column_label
        from ipstrial.report.forest import ForestRow, estimate_text, forest_axes
        from ipstrial.report.palette import figure_style, resolve_colors

        counts = self.events.set_index("arm")
        arms = [*self.treatments, self.control]
        with figure_style():
            palette = resolve_colors(colors, arms)
            rows = []
            for label in self.treatments:
                c = self._arm_coefficient(label)
                hr, lo, hi = float(c.hazard_ratio), float(c.ci_low), float(c.ci_high)
                rows.append(
                    ForestRow(
                        f"{label} vs {self.control}",
                        estimate=hr,
                        low=lo,
                        high=hi,
                        text=estimate_text(hr, lo, hi, "hazard_ratio"),
                        treatment_text=f"{int(counts.events[label])}/{int(counts.n[label])}",
                        control_text=f"{int(counts.events[self.control])}/{int(counts.n[self.control])}",
                        color=palette[label],
                        weight=float(counts.n[label] + counts.n[self.control]),
                        gid=f"cox:{label}",
                    )
                )
            one = len(self.treatments) == 1
            level = f"{100 * (1 - self.alpha):.10g}%"
            ax = forest_axes(
                rows,
                estimand="hazard_ratio",
                conf_level=1 - self.alpha,
                headers=(
                    "",
                    f"{self.treatments[0]} events/n" if one else "Treatment events/n",
                    f"{self.control} events/n",
                    f"Hazard ratio ({level} CI)",
                ),
                favours=(f"favours {self.control}", f"favours {' / '.join(self.treatments)}"),
                title=f"Cox model: {column_label(self.outcome)}",
                ax=ax,
            )
        return ax


@shared_params
def cox(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    covariates: str | Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    ties: str = "efron",
    cause: int = 1,
    alpha: float = 0.05,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_cox",
) -> CoxResult:
    """Cox proportional hazards model: the cause-specific hazard ratio of each treatment arm vs control.

    The partial likelihood (Cox 1972, JRSS B 34:187) with Efron (1977, JASA 72:557) or Breslow (1974,
    Biometrics 30:89) handling of tied times; ``h_i(t) = h_{0s}(t) exp(Σ_a β_a [arm_i = a] + γ' x_i)``
    with a separate baseline hazard per stratum ``s`` when ``strata`` is given. Hazard ratio
    ``exp(β_a)``, Wald interval ``exp(β_a ± z_{1-α/2} se)``, Wald p ``2 Φ(-|β_a / se|)``.
    Events with codes other than ``cause`` are censored, so the hazard ratio is that of the
    cause-specific hazard (Prentice et al. 1978, Biometrics 34:541). The proportional-hazards
    test is that of R's ``cox.zph`` (Grambsch & Therneau 1994, Biometrika 81:515; see the module
    docstring), stored in ``ph_test``; a global p-value below ``alpha`` is noted in the summary.

    Parameters
    ----------
    @params data duration arm covariates
    strata
        Column(s) whose combinations get separate baseline hazards (e.g. the randomisation strata).
    ties
        ``"efron"`` (default, as R's coxph; lifelines) or ``"breslow"`` (ipstrial's Newton-Raphson).
    @params cause alpha event_codes unit timefix id analysis

    Raises
    ------
    TrialDataError
        Bad input (see :func:`ipstrial.survival._inputs.prepare_survival`), collinear model columns.
    EstimationError
        An arm without events (the hazard ratio is 0 or infinite), separation (naming the covariate
        and level), or a model that cannot be fitted.
    """
    alpha = check_alpha(alpha)
    ties = check_choice(ties, "ties", TIES)
    analysis = check_analysis(analysis)
    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment,
        control,
        id=id,
        cause=cause,
        event_codes=event_codes,
        strata=strata,
        covariates=covariates,
        need_control=True,
        min_arms=2,
        unit=unit,
        timefix=timefix,
    )
    treatments = sd.treatments
    covariate_cols = sd.covariates
    status = sd.status.astype(np.int64)
    events = arm_events(sd)[["arm", "n", "events", "competing"]]
    empty = no_events_error(
        sd,
        events,
        "the hazard ratio is undefined (its estimate is 0 or infinite and the partial likelihood has no "
        "maximum)",
        "Compare the arms with the log-rank test or the restricted mean survival time "
        "(ipstrial.survival.rmst), which remain defined",
    )
    if empty is not None:
        raise empty
    matrix, names, terms = model_matrix(sd, "the Cox model")
    strata = sd.strata
    check_separation(sd.time, status, separation_candidates(sd), strata)
    fit = fit_cox(sd.time, status, matrix, strata, ties)
    se = np.sqrt(np.diag(fit.variance))
    coefficients = coefficient_table(names, fit.coef, se, alpha)
    ph = schoenfeld_test(sd.time, status, matrix, fit.coef, terms, strata, ties)
    notes = [
        competing_censored_note(
            sd,
            "the arms compared",
            f"the model estimates the cause-specific hazard ratio of event {sd.cause}, not a ratio of "
            "cumulative incidences (the Fine-Gray model does that)",
        ),
        *fit.notes,
        *sd.notes,
    ]
    untestable = ph_test_not_computable(sd.time, status, ph, sd.unit)
    if untestable:
        notes.append(untestable)
    glob = ph.loc[ph.term == "GLOBAL"].iloc[0]
    if glob.p < alpha:
        worst = ph.loc[ph.term != "GLOBAL"].sort_values("p").iloc[0]
        notes.append(
            f"proportional hazards questionable: global Schoenfeld-residual test chi-square "
            f"{glob.chisq:.2f} on {int(glob.df)} df, p {format_p(glob.p)} (smallest term p: {worst.term}, "
            f"p {format_p(worst.p)}); the hazard ratio is an average over follow-up - consider RMST"
        )
    return CoxResult(
        outcome=sd.duration,
        arm=sd.arm,
        treatments=treatments,
        control=sd.control,  # type: ignore[arg-type]
        coefficients=coefficients,
        ph_test=ph,
        events=events,
        covariates=covariate_cols,
        strata=sd.strata_columns,
        cause=sd.cause,
        n=len(sd.time),
        log_likelihood=fit.loglik,
        log_likelihood_null=fit.loglik_null,
        ties=ties,
        fitter=fit.fitter,
        alpha=alpha,
        unit=sd.unit,
        analysis=analysis,
        notes=tuple(notes),
        inputs=sd.inputs,
    )
