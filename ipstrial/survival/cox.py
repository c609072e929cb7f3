"""Cox proportional hazards model for time to first employment, with the Schoenfeld-residual test.

The model (Cox 1972, JRSS B 34:187) for participant ``i`` in stratum ``s`` is
``h_i(t) = h_{0s}(t) exp(β' z_i)`` with ``z_i`` one 0/1 indicator per treatment arm (the control
arm is the reference) and the covariates of :func:`ipstrial._inputs.design_matrix` (numbers as
they are, text as 0/1 dummies, the first sorted level the reference). Each stratum has its own
baseline hazard ``h_{0s}``. ``β`` maximises the partial likelihood with Efron's (1977, JASA
72:557) handling of tied times: at a time with ``d`` tied events ``D`` in the risk set ``R``,

    S0_k = Σ_R w - (k/d) Σ_D w,  S1_k, S2_k likewise with w z and w z z'   (k = 0, …, d-1)
    score   U = Σ_D z - Σ_k S1_k / S0_k
    information  V = Σ_k (S2_k / S0_k - (S1_k / S0_k)(S1_k / S0_k)'),   w = exp(β' z).

The fit is lifelines' ``CoxPHFitter`` (Efron ties, Newton-Raphson, convergence tightened well
beyond R's ``coxph`` default). Wald intervals ``exp(β ± z_{1-α/2} se)`` and two-sided Wald
p-values ``2 Φ(-|β/se|)`` (Therneau & Grambsch 2000, Modeling Survival Data, ch. 3).

Competing events (event codes other than ``cause``) are censored at their time: the model
estimates the cause-specific hazard ratio (Prentice et al. 1978, Biometrics 34:541), which is not
a statement about the cumulative incidence (see :mod:`ipstrial.survival` competing-risk tools).

Proportional hazards: the score test of Grambsch & Therneau (1994, Biometrika 81:515) as
computed by R's ``survival::cox.zph`` (survival 3.x, ``transform = "km"``, ``terms = TRUE``;
Therneau, "The survival package" documentation of ``cox.zph``). Each covariate column ``z_j`` is
extended with the time-varying column ``z_j g(t)``, where ``g(t) = 1 - Ŝ(t-)`` is one minus the
left-continuous Kaplan-Meier estimate of the pooled data (all strata, competing events censored),
centred by its mean over the events. At ``(β̂, γ = 0)`` the score of ``γ`` and the information of
the extended model are, summing over the event times ``t`` (within strata),

    U_γ = Σ_t g(t) U_t,    I = Σ_t [[1, g(t)], [g(t), g(t)²]] ⊗ V_t,

with ``U_t`` and ``V_t`` the Efron score and information at time ``t`` above. The score of ``β``
is set to 0 (it is 0 at ``β̂``). For a term with columns ``J`` (one column for a number, the
dummies of a categorical covariate, all treatment indicators for the arm term) the statistic is
``u' I_{KK}^{-1} u`` with ``K = (all β, γ_J)`` and ``u = (0, U_γJ)``, chi-square with ``|J|``
degrees of freedom; the global test uses every ``γ``. This differs from lifelines'
``proportional_hazard_test`` (a residual-regression form of the older survival 2.x test).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._inputs import as_labels, design_matrix
from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.results import Result, Row, contrast_label, format_p
from ipstrial.survival._inputs import SurvivalData, check_cause, prepare_survival

__all__ = ["CoxResult", "cox", "schoenfeld_test"]


@dataclass(frozen=True, eq=False)
class CoxResult(Result):
    """A Cox model: hazard ratios of each treatment arm vs the control, and the PH test.

    ``coefficients``: one row per model column (``term`` as ``column:level`` for dummies and
    ``arm:label`` for the treatment indicators) with ``coef`` (log hazard ratio), ``se``,
    ``hazard_ratio``, ``ci_low``, ``ci_high``, ``z``, ``p_value``.
    ``ph_test``: the Schoenfeld-residual score test per term and ``GLOBAL`` (``term, chisq, df,
    p``), as R's ``cox.zph`` (``transform = "km"``).
    ``events``: per arm ``arm, n, events, competing`` (competing events censored in the model).
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
    alpha: float = 0.05
    unit: str = "days"
    analysis: str = "survival_cox"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Cox model for {self.outcome} (cause-specific hazard of event {self.cause})"

    def hazard_ratio(self, treatment: str | None = None) -> float:
        """The hazard ratio of one treatment arm (the first when ``None``) vs the control."""
        label = self.treatments[0] if treatment is None else treatment
        row = self.coefficients.loc[self.coefficients.term == f"{self.arm}:{label}"]
        if row.empty:
            raise KeyError(f"{label!r} is not a treatment arm of this model; arms: {self.treatments}")
        return float(row.hazard_ratio.iloc[0])

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        counts = self.events.set_index("arm")
        ph = self.ph_test.set_index("term")
        adjusted = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            "Cox proportional hazards, Efron ties (lifelines CoxPHFitter); cause-specific hazard of "
            f"event {self.cause}, competing events censored; covariates: {adjusted}"
        )
        if self.strata:
            method += f"; stratified by {' x '.join(self.strata)} (separate baseline hazards)"
        method += "; Wald interval and p"
        out = []
        for label in self.treatments:
            c = self.coefficients.loc[self.coefficients.term == f"{self.arm}:{label}"].iloc[0]
            extra: dict[str, object] = {
                "log_hr": float(c.coef),
                "se_log_hr": float(c.se),
                "events_treatment": int(counts.events[label]),
                "events_control": int(counts.events[self.control]),
                "competing_censored": int(counts.competing[label] + counts.competing[self.control]),
                "cause": self.cause,
                "unit": self.unit,
                "n_model": self.n,
                "ph_test_arm_p": float(ph.p[self.arm]),
                "ph_test_global_p": float(ph.p["GLOBAL"]),
            }
            if self.strata:
                extra["strata"] = " x ".join(self.strata)
            out.append(
                Row(
                    self.analysis,
                    contrast_label(label, self.control),
                    "hazard_ratio",
                    float(c.hazard_ratio),
                    se=math.nan,
                    ci_low=float(c.ci_low),
                    ci_high=float(c.ci_high),
                    p_value=float(c.p_value),
                    method=method,
                    n=int(counts.n[label] + counts.n[self.control]),
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=extra,
                )
            )
        return tuple(out)

    def _display_table(self, digits: int) -> tuple[list[str], list[list[str]], list[bool], list[str]]:
        headers, body, right, notes = super()._display_table(digits)
        return headers, body, right, [*notes, *self.notes]


def _efron_by_time(
    time: np.ndarray, status: np.ndarray, x: np.ndarray, eta: np.ndarray, strata: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Efron score ``U_t`` and information ``V_t`` at every distinct event time within strata.

    Returns ``times`` (m,), ``deaths`` (m,), ``U`` (m, p) and ``V`` (m, p, p), one entry per
    (stratum, event time) with at least one event.
    """
    p = x.shape[1]
    out_t, out_d, out_u, out_v = [], [], [], []
    for s in pd.unique(strata):
        keep = strata == s
        t, e, z = time[keep], status[keep], x[keep]
        z = z - z.mean(axis=0)
        lp = eta[keep]
        w = np.exp(lp - lp.max())
        times, idx = np.unique(t, return_inverse=True)
        m = len(times)
        we = w * e

        def by_time(values: np.ndarray, idx: np.ndarray = idx, m: int = m) -> np.ndarray:
            return np.bincount(idx, weights=values, minlength=m)

        r0 = by_time(w)
        d0 = by_time(we)
        d = by_time(e.astype(float))
        r1 = np.column_stack([by_time(w * z[:, a]) for a in range(p)]) if p else np.zeros((m, 0))
        d1 = np.column_stack([by_time(we * z[:, a]) for a in range(p)]) if p else np.zeros((m, 0))
        xd = np.column_stack([by_time(e * z[:, a]) for a in range(p)]) if p else np.zeros((m, 0))
        r2 = np.zeros((m, p, p))
        d2 = np.zeros((m, p, p))
        for a in range(p):
            for b in range(a, p):
                r2[:, a, b] = r2[:, b, a] = by_time(w * z[:, a] * z[:, b])
                d2[:, a, b] = d2[:, b, a] = by_time(we * z[:, a] * z[:, b])
        # risk sets: everyone with time >= t (reverse cumulative sums)
        r0 = np.cumsum(r0[::-1])[::-1]
        r1 = np.cumsum(r1[::-1], axis=0)[::-1]
        r2 = np.cumsum(r2[::-1], axis=0)[::-1]
        has = d > 0
        counts = d[has].astype(np.int64)
        j = np.repeat(np.flatnonzero(has), counts)  # one entry per event: its time index
        starts = np.cumsum(counts) - counts
        k = np.arange(counts.sum()) - np.repeat(starts, counts)
        frac = k / d[j]
        s0 = r0[j] - frac * d0[j]
        s1 = r1[j] - frac[:, None] * d1[j]
        s2 = r2[j] - frac[:, None, None] * d2[j]
        mean = s1 / s0[:, None]
        var = s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]
        group = np.repeat(np.arange(len(counts)), counts)
        u = xd[has] - np.stack([np.bincount(group, weights=mean[:, a]) for a in range(p)], axis=1)
        v = np.zeros((len(counts), p, p))
        np.add.at(v, group, var)
        out_t.append(times[has])
        out_d.append(counts)
        out_u.append(u)
        out_v.append(v)
    return (
        np.concatenate(out_t),
        np.concatenate(out_d),
        np.concatenate(out_u, axis=0),
        np.concatenate(out_v, axis=0),
    )


def _km_left(time: np.ndarray, status: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Left-continuous Kaplan-Meier estimate ``Ŝ(t-)`` of the pooled data at the times ``at``."""
    times, idx = np.unique(time, return_inverse=True)
    d = np.bincount(idx, weights=status.astype(float), minlength=len(times))
    at_risk = np.cumsum(np.bincount(idx, minlength=len(times))[::-1])[::-1]
    surv = np.cumprod(1.0 - d / at_risk)
    before = np.searchsorted(times, at, side="left")  # number of distinct times strictly before
    return np.concatenate([[1.0], surv])[before]


def schoenfeld_test(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    terms: dict[str, list[int]],
    strata: np.ndarray | None = None,
) -> pd.DataFrame:
    """The proportional-hazards score test of R's ``survival::cox.zph`` (survival 3.x, transform "km").

    ``time``, ``status`` (1 event, 0 censored), model matrix ``x`` (n, p), fitted ``beta`` (p,),
    ``terms`` mapping a term name to its column indices, ``strata`` one label per row (or None).
    Returns a frame ``term, chisq, df, p`` with one row per term and a last row ``GLOBAL``.
    The formulas are in the module docstring (Grambsch & Therneau 1994, Biometrika 81:515).
    """
    from scipy import stats

    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    x = np.asarray(x, dtype=float)
    beta = np.asarray(beta, dtype=float)
    strata = np.zeros(len(time), dtype=np.int64) if strata is None else np.asarray(strata)
    p = x.shape[1]
    eta = (x - x.mean(axis=0)) @ beta
    t_ev, _, u_t, v_t = _efron_by_time(time, status, x, eta, strata)
    # g(t) = 1 - S(t-), centred by its mean over the events (each event counted once)
    centre = np.mean(1.0 - _km_left(time, status, time[status == 1]))
    g = 1.0 - _km_left(time, status, t_ev) - centre
    u_gamma = (g[:, None] * u_t).sum(axis=0)
    info = np.zeros((2 * p, 2 * p))
    info[:p, :p] = v_t.sum(axis=0)
    info[:p, p:] = info[p:, :p] = (g[:, None, None] * v_t).sum(axis=0)
    info[p:, p:] = (g[:, None, None] ** 2 * v_t).sum(axis=0)
    records = []
    for name, cols in terms.items():
        keep = [*range(p), *(p + c for c in cols)]
        u = np.concatenate([np.zeros(p), u_gamma[cols]])
        chisq = float(u @ np.linalg.solve(info[np.ix_(keep, keep)], u))
        records.append((name, chisq, len(cols)))
    u = np.concatenate([np.zeros(p), u_gamma])
    records.append(("GLOBAL", float(u @ np.linalg.solve(info, u)), p))
    frame = pd.DataFrame.from_records(records, columns=["term", "chisq", "df"])
    frame["p"] = stats.chi2.sf(frame.chisq, frame.df)
    return frame


def _no_event_error(sd: SurvivalData, cause: int, empty: list[str]) -> EstimationError:
    """The error for arms without any event of interest."""
    last = sd.last_follow_up()
    parts = ", ".join(
        f"{a!r} ({int(np.sum(sd.arms == a))} participants, followed up to {last[a]:g} {sd.unit})"
        for a in empty
    )
    return EstimationError(
        f"no events (event code {cause} in column {sd.event_column!r}) in arm(s) {parts}: the hazard "
        "ratio is undefined (its estimate is 0 or infinite and the partial likelihood has no maximum). "
        "Compare the arms with the log-rank test or the restricted mean survival time "
        "(ipstrial.survival.rmst), which remain defined"
    )


def cox(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    covariates: Sequence[str] = (),
    strata: str | Sequence[str] | None = None,
    *,
    cause: int = 1,
    alpha: float = 0.05,
    unit: str = "days",
    event_codes: Sequence[int] = (0, 1, 2),
    id: str | None = "participant_id",
    analysis: str = "survival_cox",
) -> CoxResult:
    """Cox proportional hazards model: the cause-specific hazard ratio of each treatment arm vs control.

    The partial likelihood with Efron ties (Cox 1972, JRSS B 34:187; Efron 1977, JASA 72:557),
    fitted by lifelines' ``CoxPHFitter``; ``h_i(t) = h_{0s}(t) exp(Σ_a β_a [arm_i = a] + γ' x_i)``
    with a separate baseline hazard per stratum ``s`` when ``strata`` is given. Hazard ratio
    ``exp(β_a)``, Wald interval ``exp(β_a ± z_{1-α/2} se)``, Wald p ``2 Φ(-|β_a / se|)``.
    Events with codes other than ``cause`` are censored, so the hazard ratio is that of the
    cause-specific hazard (Prentice et al. 1978, Biometrics 34:541). The proportional-hazards
    test is that of R's ``cox.zph`` (Grambsch & Therneau 1994, Biometrika 81:515; see the module
    docstring), stored in ``ph_test``; a global p-value below ``alpha`` is noted in the summary.

    Parameters
    ----------
    data : one row per participant.
    duration, event, arm : columns of the follow-up time, the event code (0 censored, 1 event,
        2+ competing) and the randomised arm.
    treatment, control : the compared arms; ``treatment`` may be a list (one indicator each).
    covariates : baseline columns adjusted for (numbers as they are, text as dummies with the
        first sorted level as the reference).
    strata : column(s) whose combinations get separate baseline hazards (e.g. the
        randomisation strata).
    cause : the event code of interest. alpha : 1 - confidence level. unit : time-unit label.
    event_codes : the codes allowed in ``event``. id : participant-id column for messages.

    Raises
    ------
    TrialDataError : bad input (see :func:`ipstrial.survival._inputs.prepare_survival`).
    EstimationError : an arm without events (the hazard ratio is 0 or infinite), or a model
        that cannot be fitted (collinear covariates, separation).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning
    from scipy import stats

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    codes = tuple(int(c) for c in event_codes)
    check_cause(cause, codes)
    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment=treatment,
        control=control,
        strata=strata,
        covariates=covariates,
        event_codes=codes,
        min_groups=2,
        unit=unit,
        id=id,
    )
    treatments = as_labels(treatment)
    strata_cols = () if strata is None else ((strata,) if isinstance(strata, str) else tuple(strata))
    both = [c for c in covariates if c in strata_cols]
    if both:
        raise TrialDataError(
            f"column(s) {both} given both as covariates and as strata: a stratum's effect is absorbed by "
            "its own baseline hazard and cannot be estimated; drop them from covariates="
        )
    status = (sd.event == cause).astype(np.int64)
    competing = (sd.event != cause) & (sd.event != 0)
    events = pd.DataFrame(
        {
            "arm": list(sd.groups),
            "n": [int(np.sum(sd.arms == a)) for a in sd.groups],
            "events": [int(np.sum(status[sd.arms == a])) for a in sd.groups],
            "competing": [int(np.sum(competing[sd.arms == a])) for a in sd.groups],
        }
    )
    empty = [a for a, k in zip(events.arm, events.events, strict=True) if k == 0]
    if empty:
        raise _no_event_error(sd, cause, empty)

    indicators = pd.DataFrame(
        {f"{arm}:{a}": (sd.arms == a).astype(float) for a in treatments}, index=sd.frame.index
    )
    design = design_matrix(sd.frame, tuple(covariates), sd.ids)
    x = pd.concat([indicators, design], axis=1)
    names = list(x.columns)
    terms: dict[str, list[int]] = {arm: list(range(len(treatments)))}
    for column in covariates:
        terms[column] = [i for i, nm in enumerate(names) if nm == column or nm.startswith(f"{column}:")]
    safe = [f"x{i}" for i in range(len(names))]
    frame = pd.DataFrame(x.to_numpy(dtype=float), columns=safe)
    frame["__time"] = sd.time
    frame["__status"] = status
    strata_labels = sd.strata if sd.strata is not None else None
    if strata_labels is not None:
        frame["__stratum"] = strata_labels
    rank = np.linalg.matrix_rank(np.column_stack([np.ones(len(frame)), frame[safe].to_numpy()]))
    if rank < len(safe) + 1:
        raise TrialDataError(
            f"the model columns {names} are collinear (rank {rank - 1} of {len(safe)}): a covariate "
            "duplicates the arm indicators or another covariate; drop it from covariates="
        )
    fitter = CoxPHFitter(strata=["__stratum"] if strata_labels is not None else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fitter.fit(
                frame,
                duration_col="__time",
                event_col="__status",
                fit_options={"precision": 1e-12, "r_precision": 1e-15, "max_steps": 200},
            )
        except ConvergenceError as exc:
            reason = str(exc).split(" Please see")[0].strip()
            raise EstimationError(
                f"the Cox model did not converge ({reason}); check for covariates "
                "that separate events from non-events or that are collinear, and simplify covariates="
            ) from exc
    trouble = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    if trouble:
        raise EstimationError(
            f"the Cox model did not converge: {str(trouble[0].message).splitlines()[0]} "
            "(a covariate level or stratum in which all or no participants have the event can make "
            "an estimate infinite); simplify covariates= or strata="
        )
    beta = fitter.params_.loc[safe].to_numpy(dtype=float)
    se = np.sqrt(np.diag(fitter.variance_matrix_.loc[safe, safe].to_numpy(dtype=float)))
    zq = stats.norm.ppf(1 - alpha / 2)
    coefficients = pd.DataFrame(
        {
            "term": names,
            "coef": beta,
            "se": se,
            "hazard_ratio": np.exp(beta),
            "ci_low": np.exp(beta - zq * se),
            "ci_high": np.exp(beta + zq * se),
            "z": beta / se,
            "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
        }
    )
    ph = schoenfeld_test(sd.time, status, x.to_numpy(dtype=float), beta, terms, strata_labels)
    notes = [
        f"cause-specific hazard of event code {cause}: "
        f"{int(competing.sum())} competing events (other codes) censored at their time"
    ]
    glob = ph.loc[ph.term == "GLOBAL"].iloc[0]
    if glob.p < alpha:
        worst = ph.loc[ph.term != "GLOBAL"].sort_values("p").iloc[0]
        notes.append(
            f"proportional hazards questionable: global Schoenfeld-residual test chi-square "
            f"{glob.chisq:.2f} on {int(glob.df)} df, p {format_p(glob.p)} (smallest term p: {worst.term}, "
            f"p {format_p(worst.p)}); the hazard ratio is an average over follow-up - consider RMST"
        )
    return CoxResult(
        outcome=duration,
        arm=arm,
        treatments=treatments,
        control=control,
        coefficients=coefficients,
        ph_test=ph,
        events=events,
        covariates=tuple(covariates),
        strata=strata_cols,
        cause=int(cause),
        n=len(sd.time),
        log_likelihood=float(fitter.log_likelihood_),
        alpha=alpha,
        unit=unit,
        analysis=analysis,
        notes=tuple(notes),
    )
