"""Competing risks, part 2: the Fine-Gray proportional subdistribution hazards model, as ``cmprsk::crr``.

The subdistribution hazard of ``cause`` (Fine & Gray 1999, JASA 94:496) is modelled with one 0/1
indicator per treatment arm (the control is the reference) and the baseline covariates; the
companion rows give the cause-specific Cox hazard ratio on the same columns, fitted by
:func:`ipstrial.survival.cox.fit_cox` (the machinery of :func:`ipstrial.survival.cox`). The cumulative
incidence and Gray's test are in :mod:`ipstrial.survival.incidence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_count, check_flag
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._memory import check_memory
from ipstrial.errors import EstimationError
from ipstrial.survival._arm_models import (
    ArmModelResult,
    NotConverged,
    SingularInformation,
    arm_events,
    check_separation,
    coefficient_table,
    model_matrix,
    newton_ascent,
    no_events_error,
    separation_candidates,
)
from ipstrial.survival._inputs import prepare_survival
from ipstrial.survival.cox import fit_cox

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ipstrial.results import Row
    from ipstrial.trial import Trial

__all__ = ["FineGrayResult", "fine_gray"]


# ---------------------------------------------------------------------------------------------
# Fine-Gray model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _FineGrayFit:
    """The Fine-Gray estimate: coefficients, their sandwich covariance, the model-based covariance
    (inverse information), the log-likelihoods at the estimate and at 0, and the Newton steps taken."""

    coef: np.ndarray
    variance: np.ndarray
    model_variance: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int


_FIT_ARRAYS = 8
"""About the most ``n x p x p`` float arrays the Fine-Gray fit holds at once (:func:`_fine_gray_fit`)."""


def _fine_gray_fit(time: np.ndarray, status: np.ndarray, z: np.ndarray, max_iter: int = 100) -> _FineGrayFit:
    """Maximise the Fine-Gray weighted partial likelihood (Breslow ties) and its sandwich variance.

    ``status`` 1 = cause of interest, 2 = competing, 0 = censored. Weights ``w_j(s) = G(s-)/G(T_j-)``
    for competing events before ``s`` (``G`` the Kaplan-Meier estimate of the censoring
    distribution, all participants), 1 while ``T_j >= s``, 0 after censoring. Newton-Raphson with step
    halving (:func:`ipstrial.survival._arm_models.newton_ascent`) until the step is below 1e-10.
    """
    n, p = z.shape
    order = np.argsort(time, kind="stable")
    t = time[order]
    st = status[order]
    zz = z[order]
    uniq, inv = np.unique(t, return_inverse=True)
    n_at = (n - np.searchsorted(t, uniq, side="left")).astype(float)
    cens = np.bincount(inv, weights=(st == 0).astype(float), minlength=len(uniq))
    g_after = np.cumprod(1.0 - cens / n_at)
    g_before_u = np.concatenate([[1.0], g_after[:-1]])
    g_before = g_before_u[inv]
    fail = st == 1
    comp = (st == 2).astype(float)
    d_u = np.bincount(inv, weights=fail.astype(float), minlength=len(uniq))
    has_fail = d_u > 0
    ft = uniq[has_fail]
    d = d_u[has_fail]
    g_s = g_before_u[has_fail]
    pos = np.searchsorted(t, ft, side="left")  # number of participants with T < s
    z_fail_sum = zz[fail].sum(axis=0)
    outer = zz[:, :, None] * zz[:, None, :]

    def evaluate(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """Log-likelihood, score and information at ``beta``, and ``(S0, Z̄, exp(β'z))`` for the variance."""
        e = np.exp(zz @ beta)
        parts = []
        for x in (e, zz * e[:, None], outer * e[:, None, None]):
            tail = np.concatenate([np.cumsum(x[::-1], axis=0)[::-1], np.zeros((1, *x.shape[1:]))])
            wx = x * (comp / g_before).reshape((-1,) + (1,) * (x.ndim - 1))
            head = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(wx, axis=0)])
            gs = g_s.reshape((-1,) + (1,) * (x.ndim - 1))
            parts.append(tail[pos] + gs * head[pos])
        s0, s1, s2 = parts
        ll = float(z_fail_sum @ beta - np.sum(d * np.log(s0)))
        zbar = s1 / s0[:, None]
        score = z_fail_sum - np.sum(d[:, None] * zbar, axis=0)
        info = np.sum(
            d[:, None, None] * (s2 / s0[:, None, None] - zbar[:, :, None] * zbar[:, None, :]), axis=0
        )
        return ll, score, info, (s0, zbar, e)

    def converged(step: np.ndarray, beta: np.ndarray) -> bool:
        return bool(np.max(np.abs(step)) < 1e-10)

    def not_converged(beta: np.ndarray | None) -> EstimationError:
        shown = np.round(np.zeros(p) if beta is None else beta, 3).tolist()
        return EstimationError(
            f"the Fine-Gray model did not converge in {max_iter} Newton steps (coefficients {shown}); no arm "
            "or covariate level separates the events from the others, so check for collinear or extreme "
            "covariates (rescale numbers, merge rare levels) and simplify covariates="
        )

    null = evaluate(np.zeros(p))
    try:
        beta, ll, info, (s0, zbar, e), iterations = newton_ascent(evaluate, p, converged, max_iter, null)
    except SingularInformation as exc:
        raise EstimationError(
            "the Fine-Gray information matrix is singular: a covariate is constant among the "
            "participants at risk or collinear with others; simplify covariates="
        ) from exc
    except NotConverged as exc:
        raise not_converged(exc.beta) from exc
    if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 30:
        raise not_converged(beta)
    # sandwich variance (Fine & Gray 1999, section 3: Ω⁻¹ Σ (η_i + ψ_i)^⊗2 Ω⁻¹)
    lam = d / s0
    k_le = np.searchsorted(ft, t, side="right")  # failure times <= T_i
    cum0 = np.concatenate([[0.0], np.cumsum(lam)])
    cum1 = np.concatenate([np.zeros((1, p)), np.cumsum(zbar * lam[:, None], axis=0)])
    glam = g_s * lam
    tail0 = np.concatenate([np.cumsum(glam[::-1])[::-1], [0.0]])
    tail1 = np.concatenate([np.cumsum((zbar * glam[:, None])[::-1], axis=0)[::-1], np.zeros((1, p))])
    eta = -e[:, None] * (zz * cum0[k_le][:, None] - cum1[k_le])
    eta -= (comp * e / g_before)[:, None] * (zz * tail0[k_le][:, None] - tail1[k_le])
    fidx = np.searchsorted(ft, t[fail])
    eta[fail] += zz[fail] - zbar[fidx]
    # q(u) at each distinct time u: Σ_{s>=u} Σ_{competing j, T_j<u} (Z_j - Z̄(s)) w_j(s) e_j dΛ(s)
    k_ge = np.searchsorted(ft, uniq, side="left")
    pos_u = np.searchsorted(t, uniq, side="left")
    cw = comp * e / g_before
    b0 = np.concatenate([[0.0], np.cumsum(cw)])[pos_u]
    b1 = np.concatenate([np.zeros((1, p)), np.cumsum(zz * cw[:, None], axis=0)])[pos_u]
    q = b1 * tail0[k_ge][:, None] - b0[:, None] * tail1[k_ge]
    drift = np.cumsum(q * (cens / n_at**2)[:, None], axis=0)
    psi = -drift[inv]
    censored = st == 0
    psi[censored] += q[inv[censored]] / n_at[inv[censored]][:, None]
    u = eta + psi
    sigma = u.T @ u
    inv_info = np.linalg.inv(info)
    return _FineGrayFit(
        coef=beta,
        variance=inv_info @ sigma @ inv_info,
        model_variance=inv_info,
        loglik=ll,
        loglik_null=null[0],
        iterations=iterations,
    )


def _check_variance(
    fit: _FineGrayFit, names: list[str], time: np.ndarray, status: np.ndarray, unit: str
) -> None:
    """An EstimationError when the sandwich variance of a coefficient is 0 (or not a number).

    It is 0 when the data carry no information on a ratio of subdistribution hazards, e.g. every
    participant has the event of interest at one and the same time (cmprsk::crr then reports a
    standard error of order 1e-16 and a confidence interval of width 0).
    """
    sandwich = np.diag(fit.variance)
    model = np.diag(fit.model_variance)
    bad = [
        n for n, v, m in zip(names, sandwich, model, strict=True) if not (np.isfinite(v) and v > 1e-12 * m)
    ]
    if not bad:
        return
    event_times = np.unique(time[status == 1])
    if len(event_times) == 1 and np.all(status == 1) and np.all(time == event_times[0]):
        why = (
            f"every participant has the event at the same time ({event_times[0]:g} {unit}), so nobody "
            "remains at risk after it and the data say nothing about a ratio of subdistribution hazards"
        )
    else:
        why = "the estimating equations have no variation across participants"
    raise EstimationError(
        f"the Fine-Gray sandwich variance of {', '.join(bad)} is 0: {why}. Check the durations and event "
        "codes (durations are follow-up times since randomisation); report the cumulative incidences "
        "(ipstrial.survival.cumulative_incidence) instead"
    )


@dataclass(frozen=True, eq=False)
class FineGrayResult(ArmModelResult):
    """The Fine-Gray model: subdistribution hazard ratios of each treatment arm vs the control.

    ``coefficients``: one row per model column (``arm:label`` for the treatment indicators,
    covariates as :func:`ipstrial._inputs.design_matrix` names them) with ``coef`` (log
    subdistribution hazard ratio), ``se`` (Fine-Gray sandwich), ``hazard_ratio``, ``ci_low``,
    ``ci_high``, ``z``, ``p_value``. ``cause_specific``: the same columns for the cause-specific
    Cox model (or ``None``). ``variance``: the sandwich covariance of ``coef``.
    ``events``: per arm ``arm, n, events, competing, censored``.
    """

    outcome: str
    arm: str
    treatments: tuple[str, ...]
    control: str
    cause: int
    coefficients: pd.DataFrame
    variance: np.ndarray
    events: pd.DataFrame
    covariates: tuple[str, ...]
    n: int
    log_likelihood: float
    log_likelihood_null: float
    iterations: int
    cause_specific: pd.DataFrame | None = None
    cause_specific_fitter: str = ""
    alpha: float = 0.05
    unit: str = "days"
    analysis: str = "survival_fine_gray"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import contrast_label, display_label

        return (
            f"Subdistribution hazard ratio for {display_label(self.outcome)} "
            f"(Fine-Gray, event {self.cause}): "
            + ", ".join(contrast_label(t, self.control) for t in self.treatments)
        )

    def subdistribution_hazard_ratio(self, treatment: str | None = None) -> float:
        """The subdistribution hazard ratio of one treatment arm (the first when ``None``)."""
        return self._arm_ratio(treatment)

    def rows(self) -> tuple[Row, ...]:
        counts = self.events.set_index("arm")
        adjusted = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"Fine-Gray proportional subdistribution hazards for event {self.cause} (as cmprsk::crr): "
            "Kaplan-Meier censoring weights over all participants, Breslow ties, sandwich variance; "
            f"covariates: {adjusted}; Wald interval and p"
        )
        cs_method = (
            f"Cox proportional hazards, Efron ties ({self.cause_specific_fitter}); cause-specific hazard of "
            f"event {self.cause}, competing events censored; covariates: {adjusted}; Wald interval and p"
        )
        out = []
        for label in self.treatments:
            n = int(counts.n[label] + counts.n[self.control])
            base = {
                "cause": self.cause,
                "unit": self.unit,
                "events_treatment": int(counts.events[label]),
                "events_control": int(counts.events[self.control]),
                "competing": int(counts.competing[label] + counts.competing[self.control]),
                "n_model": self.n,
            }
            c = self._arm_coefficient(label)
            out.append(
                self._ratio_row(
                    label,
                    "subdistribution_hazard_ratio",
                    c,
                    method=method,
                    n=n,
                    extra=base | {"log_shr": float(c.coef), "se_log_shr": float(c.se), "model": "Fine-Gray"},
                )
            )
            if self.cause_specific is not None:
                k = self._arm_coefficient(label, self.cause_specific)
                out.append(
                    self._ratio_row(
                        label,
                        "hazard_ratio",
                        k,
                        method=cs_method,
                        n=n,
                        variant="model=cause-specific",
                        extra=base
                        | {"log_hr": float(k.coef), "se_log_hr": float(k.se), "model": "cause-specific"},
                    )
                )
        return tuple(out)


@shared_params
def fine_gray(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    cause: int = 1,
    covariates: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    cause_specific: bool = True,
    max_iter: int = 100,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_fine_gray",
) -> FineGrayResult:
    """Fine & Gray's (1999, JASA 94:496) proportional subdistribution hazards model, as ``cmprsk::crr``.

    The subdistribution hazard of ``cause`` is ``λ_1(t; z) = λ_10(t) exp(β' z)`` with ``z`` one 0/1
    indicator per treatment arm (the control is the reference) and the covariates of
    :func:`ipstrial._inputs.design_matrix`. ``β`` maximises the weighted partial likelihood (Fine
    & Gray 1999, eq. 3.3, Breslow handling of ties) by Newton-Raphson with step halving,

        ℓ(β) = Σ_s [Σ_{i fails at s} β' z_i - d(s) log Σ_j w_j(s) exp(β' z_j)],

    where ``w_j(s) = 1`` while ``T_j >= s``, ``w_j(s) = Ĝ(s-) / Ĝ(T_j-)`` after a competing event at
    ``T_j < s`` and 0 after censoring; ``Ĝ`` is the Kaplan-Meier estimate of the censoring
    distribution over all participants (crr's default, no ``cengroup``). The variance is the
    sandwich ``Ω⁻¹ Σ_i (η_i + ψ_i)^⊗2 Ω⁻¹`` (section 3 of the paper): ``Ω`` the information, ``η_i``
    the weighted score residual and ``ψ_i = ∫ q(u)/π(u) dM_i^c(u)`` the term from estimating
    ``Ĝ`` (``π(u)`` number at risk, ``M^c`` the censoring martingale). Wald intervals
    ``exp(β ± z se)`` and p-values ``2 Φ(-|β/se|)``.

    ``crr`` stops at a relative score below ``gtol = 1e-6``; this fit iterates until the Newton step
    is below 1e-10, so it equals crr run with a small ``gtol`` (the difference from crr's default
    is in the sixth significant digit at most). At time 0, crr evaluates ``Ĝ`` at
    ``t (1 - 100 ε)`` = 0 and so uses ``Ĝ(0)`` rather than ``Ĝ(0-) = 1`` for a competing event at
    time 0; results differ from crr only when competing events and censorings both occur at time 0.

    The companion ``hazard_ratio`` rows (variant ``"model=cause-specific"``) are the cause-specific
    Cox model on the same columns, fitted as :func:`ipstrial.survival.cox` fits it (Efron ties, other
    causes censored, the same separation check; Prentice et al. 1978, Biometrics 34:541);
    ``cause_specific=False`` leaves them out.

    Parameters
    ----------
    @params data duration arm cause covariates alpha
    cause_specific, max_iter
        Add the cause-specific Cox rows; the most Newton steps of the Fine-Gray fit.
    @params event_codes unit timefix id analysis

    Raises
    ------
    TrialDataError
        Bad input, a single arm, or collinear model columns.
    EstimationError
        An arm without events of ``cause`` (the subdistribution hazard ratio is 0 or infinite, i.e.
        undefined), or a model that cannot be fitted.
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    max_iter = check_count(max_iter, "max_iter")
    cause_specific = check_flag(cause_specific, "cause_specific")
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
        covariates=covariates,
        need_control=True,
        min_arms=2,
        unit=unit,
        timefix=timefix,
    )
    treatments = sd.treatments
    cause = sd.cause
    status = sd.status + 2 * sd.competing  # 1 the cause, 2 competing, 0 censored
    events = arm_events(sd)
    empty = no_events_error(
        sd,
        events,
        f"the cumulative incidence of event {cause} is 0 throughout, so the subdistribution hazard ratio is "
        "undefined (0 or infinite)",
        "Report the cumulative incidences (ipstrial.survival.cumulative_incidence) and Gray's test instead",
    )
    if empty is not None:
        raise empty
    xm, names, _ = model_matrix(sd, "the Fine-Gray model")
    candidates = separation_candidates(sd)
    check_separation(sd.time, sd.status, candidates, model="the Fine-Gray model", stay=sd.competing)
    n, p = xm.shape
    check_memory(
        _FIT_ARRAYS * 8.0 * n * p * p,
        f"fine_gray with {plural(n, 'participant')} and {plural(p, 'model column')}",
        "use fewer covariates (each level of a categorical covariate but the first is a model column)",
    )
    fit = _fine_gray_fit(sd.time, status, xm, max_iter=max_iter)
    _check_variance(fit, names, sd.time, status, sd.unit)
    coefficients = coefficient_table(names, fit.coef, np.sqrt(np.diag(fit.variance)), alpha)
    cs = None
    cs_fitter = ""
    notes = [
        f"{int(sd.competing.sum())} competing events (codes other than {cause}) stay in the risk set "
        "with inverse-probability-of-censoring weights"
    ]
    if cause_specific:
        cs_status = sd.status.astype(np.int64)
        check_separation(
            sd.time,
            cs_status,
            candidates,
            model="the cause-specific Cox model (cause_specific=False leaves it out)",
        )
        cs_fit = fit_cox(sd.time, cs_status, xm, None, "efron")
        cs = coefficient_table(names, cs_fit.coef, np.sqrt(np.diag(cs_fit.variance)), alpha)
        cs_fitter = cs_fit.fitter
        notes.extend(f"cause-specific Cox model: {note}" for note in cs_fit.notes)
    notes.extend(sd.notes)
    return FineGrayResult(
        outcome=sd.duration,
        arm=sd.arm,
        treatments=treatments,
        control=sd.control,  # type: ignore[arg-type]
        cause=cause,
        coefficients=coefficients,
        variance=fit.variance,
        events=events,
        covariates=sd.covariates,
        n=len(sd.time),
        log_likelihood=fit.loglik,
        log_likelihood_null=fit.loglik_null,
        iterations=fit.iterations,
        cause_specific=cs,
        cause_specific_fitter=cs_fitter,
        alpha=alpha,
        unit=sd.unit,
        analysis=analysis,
        notes=tuple(notes),
        inputs=sd.inputs,
    )
