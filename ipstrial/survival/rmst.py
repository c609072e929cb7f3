"""Restricted mean survival time (RMST): the mean time to the event up to a horizon ``tau``.

For one arm with distinct event times ``t_1 < … < t_k <= tau``, ``d_j`` events and ``Y_j`` at risk
at ``t_j``, and the Kaplan-Meier estimate ``Ŝ`` (Kaplan & Meier 1958, JASA 53:457), the RMST is
the area under the curve (Irwin 1949; Royston & Parmar 2013, BMC Med Res Methodol 13:152)

    RMST(tau) = ∫_0^tau Ŝ(u) du = Σ_{j=0}^{k} Ŝ(t_j) (t_{j+1} - t_j),  t_0 = 0, Ŝ(t_0) = 1, t_{k+1} = tau,

with the Greenwood-type variance (Klein & Moeschberger 2003, Survival Analysis, eq. 4.5.1)

    Var = Σ_{j=1}^{k} A_j² d_j / (Y_j (Y_j - d_j)),   A_j = ∫_{t_j}^{tau} Ŝ(u) du,

a term being 0 when ``Y_j = d_j``. This is the standard error R's survival package prints
(``print(survfit(...), rmean = tau)``, ``summary(fit, rmean = tau)$table[, "se(rmean)"]``) and the
one of survRM2's ``rmst2`` (Uno et al. 2014, J Clin Oncol 32:2380): neither applies an
``n/(n-1)`` or ``d/(d-1)`` correction (SAS PROC LIFETEST's RMST option and Stata's ``strmst2``
also use it uncorrected), so the standard errors here equal R's exactly.

Contrasts (Uno et al. 2014; Royston & Parmar 2013): the difference ``RMST_1 - RMST_0`` with
``se = sqrt(se_1² + se_0²)`` (independent arms), Wald interval and two-sided p; the ratio
``RMST_1 / RMST_0`` by the delta method on the log scale, ``se(log ratio) = sqrt(se_1²/RMST_1² +
se_0²/RMST_0²)``. The restricted mean time lost ``RMTL = tau - RMST`` (Andersen 2013, Stat Med
32:5048; the time without a first job during the horizon) has the same standard error; its value
and interval are in the ``extra`` columns ``rmtl``, ``rmtl_ci_low``, ``rmtl_ci_high`` of each
``rmst`` row and ``rmtl_difference`` (``= -(RMST difference)``), ``rmtl_difference_ci_low``,
``rmtl_difference_ci_high`` of each ``rmst_difference`` row; the RMTL ratio (treatment / control,
log scale, as survRM2's "RMTL (arm=1)/(arm=0)") in ``rmtl_ratio``, ``rmtl_ratio_ci_low``,
``rmtl_ratio_ci_high``, ``rmtl_ratio_p_value`` of each ``rmst_ratio`` row.

Competing events (codes other than ``cause``) are censored, as in R's ``survfit(Surv(time,
event == cause) ~ arm)``: the RMST then refers to the hypothetical world without competing exits.

The horizon: ``tau`` may not exceed the last follow-up time (event or censoring) of any compared
arm, where the Kaplan-Meier curve stops being defined (R's ``survfit`` silently extends the last
value; survRM2 also accepts it when that arm's curve has dropped to 0; here it is always an error,
naming each arm's last follow-up). ``tau`` equal to an arm's last follow-up is allowed: the curve
is defined up to and including that time (if the last observation is censored the curve is flat
up to it; if it is an event at ``tau`` that event contributes nothing, its ``A_j`` being 0).
Durations of zero are allowed: an event at time 0 lowers ``Ŝ`` from the start and adds no area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_number
from ipstrial._docs import shared_params
from ipstrial.errors import EstimationError
from ipstrial.results import Result, contrast_label, format_number
from ipstrial.stats.normal import p_two_sided, wald_interval
from ipstrial.survival._inputs import competing_censored_note, prepare_survival

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

    from ipstrial.results import Row
    from ipstrial.trial import Trial

__all__ = ["RMSTResult", "restricted_mean", "rmst"]


def restricted_mean(time: np.ndarray, status: np.ndarray, tau: float) -> tuple[float, float, pd.DataFrame]:
    """RMST up to ``tau`` of one sample, its standard error and the Kaplan-Meier curve up to ``tau``.

    ``time`` non-negative durations, ``status`` 1 for an event and 0 for a censoring. Returns
    ``(rmst, se, curve)`` with ``curve`` a frame ``time, n_risk, n_event, survival`` at the distinct
    event times up to ``tau`` (formulas in the module docstring; no check that ``tau`` lies within
    the follow-up, which :func:`rmst` does).
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    times, idx = np.unique(time, return_inverse=True)
    d = np.bincount(idx, weights=status, minlength=len(times))
    at_risk = np.cumsum(np.bincount(idx, minlength=len(times))[::-1])[::-1].astype(float)
    keep = (d > 0) & (times <= tau)
    t, d, y = times[keep], d[keep], at_risk[keep]
    surv = np.cumprod(1.0 - d / y)
    edges = np.concatenate([t, [tau]])
    heights = surv  # Ŝ on [t_j, t_{j+1})
    pieces = heights * np.diff(edges)
    first = t[0] if len(t) else tau  # Ŝ = 1 on [0, t_1)
    area_after = np.cumsum(pieces[::-1])[::-1]  # A_j = ∫_{t_j}^{tau} Ŝ
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(y - d > 0, d / (y * (y - d)), 0.0)
    variance = float(np.sum(area_after**2 * h))
    curve = pd.DataFrame(
        {"time": t, "n_risk": y.astype(np.int64), "n_event": d.astype(np.int64), "survival": surv}
    )
    return float(first + pieces.sum()), math.sqrt(variance), curve


@dataclass(frozen=True, eq=False)
class RMSTResult(Result):
    """Restricted mean time to the event up to ``tau`` per arm, and contrasts vs the control.

    ``arms``: one row per arm with ``arm, n, events, events_by_tau, competing, last_follow_up, rmst,
    se, ci_low, ci_high, rmtl``. ``contrasts``: one row per treatment with ``contrast, difference, se, ci_low,
    ci_high, p_value, ratio, se_log_ratio, ratio_ci_low, ratio_ci_high, ratio_p_value, rmtl_ratio,
    rmtl_ratio_ci_low, rmtl_ratio_ci_high, rmtl_ratio_p_value, note, ratio_note``.
    ``curves``: the Kaplan-Meier curves up to ``tau`` (``arm, time, n_risk, n_event, survival``).
    """

    outcome: str
    tau: float
    treatments: tuple[str, ...]
    control: str
    arms: pd.DataFrame
    contrasts: pd.DataFrame
    curves: pd.DataFrame
    cause: int = 1
    alpha: float = 0.05
    unit: str = "days"
    analysis: str = "survival_rmst"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        return f"Restricted mean {display_label(self.outcome)} up to {self.tau:g} {self.unit}"

    def rows(self) -> tuple[Row, ...]:
        base = {"tau": self.tau, "unit": self.unit, "cause": self.cause}
        censored = "" if not self.arms.competing.any() else ", competing events censored"
        out = []
        for a in self.arms.itertuples():
            extra = base | {
                "events": int(a.events),
                "events_by_tau": int(a.events_by_tau),
                "last_follow_up": float(a.last_follow_up),
                "rmtl": float(a.rmtl),
                "rmtl_ci_low": self.tau - float(a.ci_high),
                "rmtl_ci_high": self.tau - float(a.ci_low),
            }
            out.append(
                self._row(
                    str(a.arm),
                    "rmst",
                    float(a.rmst),
                    se=float(a.se),
                    ci_low=float(a.ci_low),
                    ci_high=float(a.ci_high),
                    method=f"area under the Kaplan-Meier curve up to tau{censored}; Greenwood-type SE "
                    "(as R survival and survRM2), Wald interval",
                    n=int(a.n),
                    extra=extra,
                )
            )
        n = dict(zip(self.arms.arm, self.arms.n, strict=True))
        for label, c in zip(self.treatments, self.contrasts.itertuples(), strict=True):
            size = int(n[label] + n[self.control])
            difference = {
                "rmtl_difference": -float(c.difference),
                "rmtl_difference_ci_low": -float(c.ci_high),
                "rmtl_difference_ci_high": -float(c.ci_low),
            }
            out.append(
                self._noted_row(
                    c.contrast,
                    "rmst_difference",
                    float(c.difference),
                    c.note,
                    se=float(c.se),
                    ci_low=float(c.ci_low),
                    ci_high=float(c.ci_high),
                    p_value=float(c.p_value),
                    method="difference of RMST (treatment - control), SE sqrt(se_1² + se_0²), Wald "
                    "interval and z test",
                    n=size,
                    extra=base | difference,
                )
            )
            ratio = {
                "se_log_ratio": float(c.se_log_ratio),
                "rmtl_ratio": float(c.rmtl_ratio),
                "rmtl_ratio_ci_low": float(c.rmtl_ratio_ci_low),
                "rmtl_ratio_ci_high": float(c.rmtl_ratio_ci_high),
                "rmtl_ratio_p_value": float(c.rmtl_ratio_p_value),
            }
            out.append(
                self._noted_row(
                    c.contrast,
                    "rmst_ratio",
                    float(c.ratio),
                    c.ratio_note,
                    ci_low=float(c.ratio_ci_low),
                    ci_high=float(c.ratio_ci_high),
                    p_value=float(c.ratio_p_value),
                    method="ratio of RMST (treatment / control), delta method on the log scale, Wald "
                    "interval and z test",
                    n=size,
                    extra=base | ratio,
                )
            )
        return tuple(out)

    def _noted_row(self, contrast: str, estimand: str, estimate: float, note: object, **fields: Any) -> Row:
        """A contrast row whose ``extra`` ends with the contrast's note, when it has one."""
        if isinstance(note, str) and note:
            fields["extra"] = fields["extra"] | {"note": note}
        return self._row(contrast, estimand, estimate, **fields)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Kaplan-Meier curves up to ``tau`` with the area of each arm's RMST shaded."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for a in self.arms.arm:
            c = self.curves.loc[self.curves.arm == a]
            x = np.concatenate([[0.0], c.time.to_numpy(dtype=float), [self.tau]])
            y = np.concatenate(
                [[1.0], c.survival.to_numpy(dtype=float), [c.survival.iloc[-1] if len(c) else 1.0]]
            )
            rmst_a = float(self.arms.loc[self.arms.arm == a, "rmst"].iloc[0])
            (line,) = ax.step(x, y, where="post", label=f"{a} (RMST {format_number(rmst_a, 1)})")
            ax.fill_between(x, y, step="post", alpha=0.12, color=line.get_color())
        ax.set_xlim(0, self.tau)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"{self.outcome} ({self.unit})")
        ax.set_ylabel("probability without the event")
        ax.set_title(f"RMST up to {self.tau:g} {self.unit}")
        ax.legend(frameon=False)
        return ax


def _log_ratio(r1: float, s1: float, r0: float, s0: float, alpha: float) -> tuple[float, ...]:
    """Ratio ``r1 / r0``, its Wald interval and p on the log scale, and ``se(log ratio)``."""
    if not (r1 > 0 and r0 > 0):
        return (math.nan,) * 5
    ratio = r1 / r0
    se_log = math.sqrt((s1 / r1) ** 2 + (s0 / r0) ** 2)
    low, high = wald_interval(ratio, se_log, alpha, log=True)
    return ratio, low, high, p_two_sided(math.log(ratio), se_log), se_log


@shared_params
def rmst(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    tau: float,
    alpha: float = 0.05,
    cause: int = 1,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_rmst",
) -> RMSTResult:
    """Restricted mean time to the event up to ``tau`` per arm, its difference and ratio vs the control.

    ``RMST = ∫_0^tau Ŝ(u) du`` from the Kaplan-Meier curve of each arm, with variance
    ``Σ_j A_j² d_j / (Y_j (Y_j - d_j))``, ``A_j = ∫_{t_j}^tau Ŝ`` (Klein & Moeschberger 2003, eq.
    4.5.1; the SE of R's ``survfit`` ``rmean`` and of survRM2, Uno et al. 2014, J Clin Oncol
    32:2380); difference with ``se = sqrt(se_1² + se_0²)``, ratio by the delta method on the log
    scale; restricted mean time lost ``tau - RMST`` in the extra columns (see the module docstring).
    Competing events (codes other than 0 and ``cause``) are censored at their times (said in the notes).
    For time to first employment a smaller RMST is better: it is the mean number of days without
    a job during the first ``tau`` days.

    Parameters
    ----------
    @params data duration arm
    tau
        The horizon, in the units of ``duration``; positive and not beyond the last follow-up of any
        compared arm (equal is allowed).
    @params alpha cause event_codes unit timefix id analysis

    Raises
    ------
    TrialDataError
        Bad input (see :func:`ipstrial.survival._inputs.prepare_survival`).
    ParameterError
        ``tau`` not a positive finite number.
    EstimationError
        ``tau`` beyond the last follow-up of an arm (the message lists each arm's).
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    tau = check_number(tau, "tau", minimum=0, strict=True)
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
        need_control=True,
        min_arms=2,
        unit=unit,
        timefix=timefix,
    )
    treatments = sd.treatments
    control = sd.control
    cause = sd.cause
    last = sd.last_follow_up()
    beyond = [a for a in sd.groups if tau > last[a]]
    if beyond:
        listed = ", ".join(f"{a} {last[a]:g}" for a in sd.groups)
        raise EstimationError(
            f"tau = {tau:g} {unit} is beyond the last follow-up of arm(s) {beyond} in column "
            f"{duration!r}; the last follow-up per arm is: {listed} {unit}. The Kaplan-Meier curve is "
            f"not defined after an arm's last follow-up: choose tau <= {min(last.values()):g} {unit}"
        )
    arm_rows, curves = [], []
    for a in sd.groups:
        keep = sd.arms == a
        t, status = sd.time[keep], sd.status[keep].astype(float)
        value, se, curve = restricted_mean(t, status, tau)
        low, high = wald_interval(value, se, alpha)
        arm_rows.append(
            {
                "arm": a,
                "n": len(t),
                "events": int(status.sum()),
                "events_by_tau": int(np.sum(status[t <= tau])),
                "competing": int(np.sum(sd.competing[keep])),
                "last_follow_up": last[a],
                "rmst": value,
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "rmtl": tau - value,
            }
        )
        curves.append(curve.assign(arm=a))
    arms = pd.DataFrame(arm_rows)
    by = arms.set_index("arm")
    contrast_rows = []
    for label in treatments:
        r1, s1 = by.rmst[label], by.se[label]
        r0, s0 = by.rmst[control], by.se[control]
        diff, se = r1 - r0, math.hypot(s1, s0)
        note = ratio_note = ""
        if se == 0:
            note = "standard error 0 (no events before tau in either arm): no test"
        low, high = wald_interval(diff, se, alpha)
        ratio, ratio_low, ratio_high, ratio_p, se_log = _log_ratio(r1, s1, r0, s0, alpha)
        if math.isnan(ratio):
            ratio_note = "ratio undefined: an RMST of 0 (every participant had the event at time 0)"
        rmtl_ratio = _log_ratio(tau - r1, s1, tau - r0, s0, alpha)
        contrast_rows.append(
            {
                "contrast": contrast_label(label, control),
                "difference": diff,
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_two_sided(diff, se),
                "ratio": ratio,
                "se_log_ratio": se_log,
                "ratio_ci_low": ratio_low,
                "ratio_ci_high": ratio_high,
                "ratio_p_value": ratio_p,
                "rmtl_ratio": rmtl_ratio[0],
                "rmtl_ratio_ci_low": rmtl_ratio[1],
                "rmtl_ratio_ci_high": rmtl_ratio[2],
                "rmtl_ratio_p_value": rmtl_ratio[3],
                "note": note,
                "ratio_note": ratio_note,
            }
        )
    notes = []
    if sd.competing.any():
        notes.append(
            competing_censored_note(
                sd,
                "the arms compared",
                f"the RMST is the mean time free of event {cause} up to tau had competing events been "
                "removable",
            )
        )
    quiet = [a for a, k in zip(arms.arm, arms.events_by_tau, strict=True) if k == 0]
    if quiet:
        notes.append(f"no events up to tau in arm(s) {quiet}: their RMST is tau with standard error 0")
    notes.extend(sd.notes)
    return RMSTResult(
        outcome=sd.duration,
        tau=tau,
        treatments=treatments,
        control=control,
        arms=arms,
        contrasts=pd.DataFrame(contrast_rows),
        curves=pd.concat(curves, ignore_index=True)[["arm", "time", "n_risk", "n_event", "survival"]],
        cause=int(cause),
        alpha=alpha,
        unit=unit,
        analysis=analysis,
        notes=tuple(notes),
        inputs=sd.inputs,
    )
