"""Competing risks, part 1: the cumulative incidence (Aalen-Johansen) per arm and Gray's test.

Time to first employment ends in one of several ways: the job (event code ``cause``, usually 1),
a competing exit that makes the job impossible or irrelevant (codes 2+, e.g. death, emigration,
disability pension), or censoring (0). With competing exits, one minus the Kaplan-Meier estimate
(competing exits censored) over-states the probability of a job; the cumulative incidence
``F(t) = P(T <= t, cause)`` is the quantity a participant experiences.

* :func:`cumulative_incidence` - the Aalen-Johansen estimate per arm with the variance of Aalen
  (1978) as R's ``cmprsk::cuminc`` computes it, pointwise log(-log) intervals, and Gray's test;
* :func:`gray_test` - Gray's (1988) K-sample test of equal cumulative incidence (``cuminc``'s
  ``Tests``), optionally stratified, for any finite weight power ``rho``.

The Fine-Gray model is in :mod:`ipstrial.survival.fine_gray`. Everything is computed here in numpy
from the published formulas; the reference values in ``tests/reference/survival_competing.json`` and
``survival_robustness.json`` come from R (cmprsk, survival).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_flag, check_number, column_names
from ipstrial._docs import shared_params
from ipstrial.errors import EstimationError, ParameterError
from ipstrial.results import Result, format_p
from ipstrial.stats.normal import z_critical
from ipstrial.survival._inputs import (
    SurvivalData,
    arm_codes,
    arms_label,
    prepare_survival,
    time_label,
    time_values,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Mapping

    from matplotlib.axes import Axes

    from ipstrial.results import Row
    from ipstrial.trial import Trial

__all__ = [
    "CumulativeIncidenceResult",
    "GrayTestResult",
    "cumulative_incidence",
    "gray_test",
]


# ---------------------------------------------------------------------------------------------
# Aalen-Johansen estimate and its variance
# ---------------------------------------------------------------------------------------------


def _aalen_johansen(time: np.ndarray, event: np.ndarray, cause: int) -> pd.DataFrame:
    """The cumulative incidence of ``cause`` at each distinct event time (any cause) of one group.

    Columns ``time, n_risk, n_event, n_competing, survival_before, estimate, variance`` and the
    incidence of the competing causes together (``competing_estimate, competing_variance``).
    """
    is_event = event > 0
    times = np.unique(time[is_event])
    if len(times) == 0:
        empty = np.zeros(0)
        return pd.DataFrame(
            {
                "time": empty,
                "n_risk": np.zeros(0, dtype=np.int64),
                "n_event": np.zeros(0, dtype=np.int64),
                "n_competing": np.zeros(0, dtype=np.int64),
                "survival_before": empty,
                "estimate": empty,
                "variance": empty,
                "competing_estimate": empty,
                "competing_variance": empty,
            }
        )
    ordered = np.sort(time)
    n = (len(time) - np.searchsorted(ordered, times, side="left")).astype(float)
    d1 = np.bincount(np.searchsorted(times, time[event == cause]), minlength=len(times)).astype(float)
    d_all = np.bincount(np.searchsorted(times, time[is_event]), minlength=len(times)).astype(float)
    d2 = d_all - d1
    surv = np.cumprod(1.0 - d_all / n)
    before = np.concatenate([[1.0], surv[:-1]])
    est1, var1 = _incidence_and_variance(n, d_all, d1, d2, before)
    est2, var2 = _incidence_and_variance(n, d_all, d2, d1, before)
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": n.astype(np.int64),
            "n_event": d1.astype(np.int64),
            "n_competing": d2.astype(np.int64),
            "survival_before": before,
            "estimate": est1,
            "variance": var1,
            "competing_estimate": est2,
            "competing_variance": var2,
        }
    )


def _incidence_and_variance(
    n: np.ndarray, d: np.ndarray, d1: np.ndarray, d2: np.ndarray, before: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``F(t_k)`` and its Aalen-type variance at the distinct event times ``t_k``.

    ``F(t_k) = Σ_{j<=k} S(t_j-) d1_j / n_j``; with ``a_j = F(t_k) - F(t_j)``,
    ``Var F(t_k) = Σ_{j<=k} a_j² c2_j + S(t_j-)² c0_j - 2 a_j S(t_j-) c1_j`` where
    ``c2 = (d (n-d) + 2 d1 d2) / ((n-1)(n-d)²)``, ``c0 = d1 (n-d1) / (n² (n-1))`` (``d1 / n²`` when
    ``n = 1``), ``c1 = d1 (n-d1) / (n (n-d)(n-1))``. Sums are expanded in cumulative sums (O(k)).
    """
    dF = before * d1 / n
    F = np.cumsum(dF)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (n - d > 0) & (n > 1)
        c2 = np.where(ok, (d * (n - d) + 2.0 * d1 * d2) / ((n - 1.0) * (n - d) ** 2), 0.0)
        c1 = np.where(ok, d1 * (n - d1) / (n * (n - d) * (n - 1.0)), 0.0)
        c0 = np.where(n > 1, d1 * (n - d1) / (n**2 * (n - 1.0)), d1 / n**2)
    s = before
    var = (
        F**2 * np.cumsum(c2)
        - 2.0 * F * np.cumsum(F * c2)
        + np.cumsum(F**2 * c2)
        + np.cumsum(s**2 * c0)
        - 2.0 * F * np.cumsum(s * c1)
        + 2.0 * np.cumsum(F * s * c1)
    )
    return F, np.maximum(var, 0.0)


def _log_log_interval(est: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval ``F^exp(±z se / (F log F))`` (Pintilie 2006, section 4.2.3); NaN at 0 and 1."""
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (est > 0) & (est < 1) & np.isfinite(se)
        shift = np.where(ok, z * se / (est * np.log(np.where(ok, est, 0.5))), 0.0)
        a = np.where(ok, est ** np.exp(shift), np.nan)
        b = np.where(ok, est ** np.exp(-shift), np.nan)
    return np.fmin(a, b), np.fmax(a, b)


# ---------------------------------------------------------------------------------------------
# Gray's test
# ---------------------------------------------------------------------------------------------


def _gray_stratum(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, k: int, cause: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """Score vector (length ``k``) and its ``k x k`` covariance for one stratum (Gray 1988, sec. 2)."""
    is_event = event > 0
    times = np.unique(time[is_event])
    m = len(times)
    if m == 0:
        return np.zeros(k), np.zeros((k, k))
    y = np.zeros((k, m))
    d1 = np.zeros((k, m))
    d2 = np.zeros((k, m))
    for g in range(k):
        tg = np.sort(time[group == g])
        y[g] = len(tg) - np.searchsorted(tg, times, side="left")
        eg = event[group == g]
        tgu = time[group == g]
        d1[g] = np.bincount(np.searchsorted(times, tgu[eg == cause]), minlength=m)
        d2[g] = np.bincount(np.searchsorted(times, tgu[(eg > 0) & (eg != cause)]), minlength=m)
    risk = y > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(risk, 1.0 - (d1 + d2) / np.where(risk, y, 1.0), 1.0), axis=1)
        s_before = np.concatenate([np.ones((k, 1)), surv[:, :-1]], axis=1)
        f = np.cumsum(np.where(risk, s_before * d1 / np.where(risk, y, 1.0), 0.0), axis=1)
        f_before = np.concatenate([np.zeros((k, 1)), f[:, :-1]], axis=1)
        h = np.where(risk, y / s_before, 0.0)  # ĥ_r = Y_r / S_r(t-)
        big_h = h.sum(axis=0)
        r = np.where(risk, y * (1.0 - f_before) / s_before, 0.0)  # R_r = Y_r (1 - F_r(t-)) / S_r(t-)
        big_d1 = d1.sum(axis=0)
        f0 = np.cumsum(big_d1 / big_h)  # pooled cumulative incidence under H0
        f0_before = np.concatenate([[0.0], f0[:-1]])
        w = (1.0 - f0_before) ** rho
        score = np.sum(np.where(risk, w * (d1 - big_d1 * r / r.sum(axis=0)), 0.0), axis=1)
        # a_kr(t) = W ĥ_k (δ_kr - ĥ_r / Σĥ); c_kr(t) = Σ_{u<=t} a_kr dΓ̂0(u); tail = c(τ) - c(t)
        eye = np.eye(k)[:, :, None]
        a = w * h[:, None, :] * (eye - h[None, :, :] / big_h)
        a = np.where(risk[:, None, :] & risk[None, :, :], a, 0.0)
        gamma = np.where(1.0 - f0_before > 0, big_d1 / (big_h * (1.0 - f0_before)), 0.0)
        c = np.cumsum(a * gamma, axis=2)
        tail = c[:, :, -1:] - c
        # cause-of-interest events: pooled hazard under H0, tie factor t5
        t4 = np.where(surv > 0, 1.0 - (1.0 - f0) / np.where(surv > 0, surv, 1.0), 1.0)
        t5 = np.where(big_d1 > 1, 1.0 - (big_d1 - 1.0) / (big_h * s_before - 1.0), 1.0)
        t3 = np.where(risk & (big_d1 > 0), t5 * s_before * big_d1 / (big_h * np.where(risk, y, 1.0)), 0.0)
        alpha = a + t4[None, :, :] * tail
        cov = np.einsum("ikt,jkt,kt->ij", alpha, alpha, t3)
        # competing events: group-specific, tie factor (1 - (d2 - 1)/(Y - 1))
        alive = surv > 0
        t4c = np.where(alive, (1.0 - f0) / np.where(alive, surv, 1.0), 0.0)
        t5c = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (y - 1.0), 1.0)
        t3c = np.where(alive & (d2 > 0), t5c * s_before**2 * d2 / np.where(risk, y, 1.0) ** 2, 0.0)
        beta = t4c[None, :, :] * tail
        cov = cov + np.einsum("ikt,jkt,kt->ij", beta, beta, t3c)
    return score, cov


def _gray(sd: SurvivalData, rho: float) -> tuple[float, int, float, np.ndarray, np.ndarray]:
    """Gray's statistic, df, p-value, score and covariance (first ``K-1`` groups), summed over strata."""
    from scipy import stats

    cause = sd.cause
    k = len(sd.groups)
    group = arm_codes(sd)
    strata, _ = sd.strata_codes()
    if not np.any(sd.event == cause):
        raise EstimationError(
            f"no events of cause {cause} in any arm: the cumulative incidences are all 0 and Gray's test "
            "is undefined; check the event codes (cause=)"
        )
    score = np.zeros(k)
    cov = np.zeros((k, k))
    with np.errstate(over="ignore", invalid="ignore"):
        for level in pd.unique(strata):  # strata in the order of their first row
            keep = strata == level
            s, v = _gray_stratum(sd.time[keep], sd.event[keep], group[keep], k, cause, rho)
            score += s
            cov += v
    u = score[:-1]
    v = cov[:-1, :-1]
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        raise EstimationError(
            f"Gray's test with rho = {rho:g} overflows: the weight (1 - F(t-))^rho and its square in the "
            "variance exceed the floating-point range for these data (cmprsk::cuminc fails too); use a rho "
            "closer to 0 (rho = 0 is the usual log-rank-type weight, rho = 1 emphasises early differences)"
        )
    scale = max(float(np.max(np.abs(np.diag(v)))), 1e-300)
    if np.linalg.matrix_rank(v / scale, tol=1e-10) < k - 1:
        raise EstimationError(
            f"the covariance of Gray's score is singular (cause {cause}): an arm has no participant at "
            "risk at any event time; Gray's test is undefined for these data"
        )
    stat = float(u @ np.linalg.solve(v, u))
    df = k - 1
    return stat, df, float(stats.chi2.sf(stat, df)), score, cov


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GrayTestResult(Result):
    """Gray's K-sample test of equal cumulative incidence of ``cause`` across ``arms``.

    ``statistic`` is chi-square with ``df = K - 1``; ``score`` and ``covariance`` are the score
    vector of the first ``K - 1`` arms and its estimated covariance (Gray 1988, section 2).
    """

    outcome: str
    arms: tuple[str, ...]
    cause: int
    statistic: float
    df: int
    p_value: float
    score: np.ndarray
    covariance: np.ndarray
    n: int
    rho: float = 0.0
    control: str | None = None
    strata: tuple[str, ...] = ()
    unit: str = "days"
    analysis: str = "survival_gray_test"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        outcome = display_label(self.outcome)
        return f"Gray's test for the cumulative incidence of event {self.cause} in {outcome}"

    def rows(self) -> tuple[Row, ...]:
        method = (
            f"Gray (1988) K-sample test of equal cumulative incidence of event {self.cause}, "
            f"weight (1 - F0(t-))^rho with rho = {self.rho:g}, chi-square on {self.df} df (as cmprsk::cuminc)"
        )
        extra: dict[str, object] = {"df": self.df, "cause": self.cause, "rho": self.rho, "unit": self.unit}
        if self.strata:
            method += f"; stratified by {' x '.join(self.strata)}"
            extra["strata"] = " x ".join(self.strata)
        return (
            self._row(
                arms_label(self.arms, self.control),
                "gray_test",
                self.statistic,
                p_value=self.p_value,
                method=method,
                n=self.n,
                extra=extra,
            ),
        )


@dataclass(frozen=True, eq=False)
class CumulativeIncidenceResult(Result):
    """Aalen-Johansen cumulative incidence of ``cause`` per arm, with Gray's test when K >= 2.

    ``curves``: one row per arm and distinct event time (any cause) with ``arm, time, n_risk,
    n_event, n_competing, survival_before`` (all-cause Kaplan-Meier just before ``time``),
    ``estimate, variance`` (cause of interest) and ``competing_estimate, competing_variance`` (all
    other causes together). ``times``: the times reported in :meth:`rows`. ``test``: Gray's test,
    or ``None`` with one arm (or when it is undefined; see ``notes``).
    """

    outcome: str
    arms: tuple[str, ...]
    cause: int
    curves: pd.DataFrame
    times: tuple[float, ...]
    n_by_arm: dict[str, int]
    last_follow_up: dict[str, float]
    test: GrayTestResult | None = None
    alpha: float = 0.05
    unit: str = "days"
    analysis: str = "survival_cumulative_incidence"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        return f"Cumulative incidence of event {self.cause} in {display_label(self.outcome)} (Aalen-Johansen)"

    def _values(self, times: Sequence[float] | float, column: str) -> pd.DataFrame:
        grid = time_values(times, nonnegative=True)
        out = {}
        for label in self.arms:
            tab = self.curves.loc[self.curves.arm == label]
            idx = np.searchsorted(tab.time.to_numpy(), grid, side="right") - 1
            values = np.concatenate([[0.0], tab[column].to_numpy()])[idx + 1]
            values = np.where(grid > self.last_follow_up[label], np.nan, values)
            out[label] = values
        frame = pd.DataFrame.from_dict(out, orient="index", columns=list(grid))
        frame.index.name = "arm"
        frame.columns.name = "time"
        return frame

    def at(self, times: Sequence[float] | float, competing: bool = False) -> pd.DataFrame:
        """The step function's value at each time: one row per arm, one column per time.

        ``F(t)`` is the estimate at the last event time ``<= t`` (0 before the first); times after an
        arm's last follow-up give NaN (not estimable), as ``cmprsk::timepoints``. ``competing=True``
        gives the incidence of the competing causes instead.
        """
        return self._values(times, "competing_estimate" if competing else "estimate")

    def variance_at(self, times: Sequence[float] | float, competing: bool = False) -> pd.DataFrame:
        """The variance of :meth:`at` (Aalen 1978, as ``cmprsk::cuminc``), same layout."""
        return self._values(times, "competing_variance" if competing else "variance")

    def table(self, times: Sequence[float] | float) -> pd.DataFrame:
        """Long table ``arm, time, estimate, variance, se, ci_low, ci_high`` at the given times."""
        est = self.at(times)
        var = self.variance_at(times)
        z = z_critical(self.alpha)
        records = []
        for label in self.arms:
            for t in est.columns:
                e = float(est.loc[label, t])
                v = float(var.loc[label, t])
                lo, hi = _log_log_interval(np.array([e]), np.array([math.sqrt(v) if v >= 0 else np.nan]), z)
                records.append(
                    {
                        "arm": label,
                        "time": float(t),
                        "estimate": e,
                        "variance": v,
                        "se": math.sqrt(v) if v >= 0 else math.nan,
                        "ci_low": float(lo[0]),
                        "ci_high": float(hi[0]),
                    }
                )
        return pd.DataFrame.from_records(records)

    def rows(self) -> tuple[Row, ...]:
        tab = self.table(self.times)
        method = (
            f"Aalen-Johansen cumulative incidence of event {self.cause} (other events competing), "
            f"Aalen (1978) variance as cmprsk::cuminc, log(-log) pointwise interval"
        )
        out = []
        for rec in tab.itertuples(index=False):
            extra: dict[str, object] = {"time": rec.time, "unit": self.unit, "cause": self.cause}
            if rec.time > self.last_follow_up[rec.arm]:
                extra["note"] = (
                    f"beyond the last follow-up of arm {rec.arm} ({self.last_follow_up[rec.arm]:g})"
                )
            elif rec.estimate == 0:
                extra["note"] = "no events of this cause by this time: incidence 0, interval undefined"
            out.append(
                self._row(
                    str(rec.arm),
                    "cumulative_incidence",
                    rec.estimate,
                    se=rec.se,
                    ci_low=rec.ci_low,
                    ci_high=rec.ci_high,
                    method=method,
                    n=self.n_by_arm[rec.arm],
                    variant=f"t={time_label(rec.time)}",
                    extra=extra,
                )
            )
        if self.test is not None:
            out.extend(self.test.rows())
        return tuple(out)

    def _plot_at_risk(self, label: str, ticks: Sequence[float]) -> list[int | None]:
        """Numbers at risk (time ``>= t``) of arm ``label`` at ``ticks``, from the risk sets in curves.

        ``n_risk`` is known at each event time ``t_j``. For ``t_{j-1} < t <= t_j`` the number at risk lies
        between ``n_risk(t_j)`` and ``n_risk(t_{j-1}) - d(t_{j-1})`` (the censorings between the two times
        are not stored); it is given when the two agree (no censoring in between) and None ("–") otherwise.
        At ``t = 0`` it is the arm's size; after the last follow-up it is 0.
        """
        tab = self.curves.loc[self.curves.arm == label]
        times = tab.time.to_numpy()
        n_risk = tab.n_risk.to_numpy()
        leaving = n_risk - tab.n_event.to_numpy() - tab.n_competing.to_numpy()
        out: list[int | None] = []
        for t in ticks:
            if t <= 0:
                out.append(int(self.n_by_arm[label]))
                continue
            if t > self.last_follow_up[label]:
                out.append(0)
                continue
            j = int(np.searchsorted(times, t, side="left"))
            if j < len(times) and times[j] == t:
                out.append(int(n_risk[j]))
                continue
            lower = int(n_risk[j]) if j < len(times) else None
            upper = int(leaving[j - 1]) if j > 0 else int(self.n_by_arm[label])
            out.append(lower if lower is not None and lower == upper else None)
        return out

    def plot(
        self,
        ax: Axes | None = None,
        competing: bool = False,
        *,
        ci: bool = True,
        at_risk: bool = True,
        colors: Mapping[str, str] | None = None,
        time_unit: str | None = None,
    ) -> Axes:
        """Step curves of the cumulative incidence per arm, their intervals and the numbers at risk.

        ``ci=True`` shades the pointwise log(-log) interval (Aalen 1978 variance, as :meth:`table`);
        ``competing=True`` adds the competing causes' incidence dashed in the arm's colour. The numbers at
        risk under the axis are those of the result's risk sets (:meth:`_plot_at_risk`). ``time_unit``
        and ``colors`` as for :meth:`ipstrial.survival.KaplanMeierResult.plot` (``"months"``: months =
        days / (365.25 / 12), ticks 0, 6, 12, ...). Lines carry ``gid`` ``"cif:<arm>"`` and
        ``"competing:<arm>"``; each curve runs to the arm's last follow-up.
        """
        import matplotlib.pyplot as plt

        from ipstrial.report.figures import at_risk_table, column_label, percent_axis, time_axis
        from ipstrial.report.palette import figure_style, resolve_colors

        z = z_critical(self.alpha)
        with figure_style():
            palette = resolve_colors(colors, self.arms)
            if ax is None:
                rows = len(self.arms) + 1 if at_risk else 0
                _, ax = plt.subplots(figsize=(6.5, 3.6 + 0.23 * rows), layout="constrained")
            top = 0.0
            for label in self.arms:
                tab = self.curves.loc[self.curves.arm == label]
                color = palette[label]
                end = self.last_follow_up[label]
                x = np.concatenate([[0.0], tab.time.to_numpy(), [end]])
                est = tab.estimate.to_numpy()
                y = np.concatenate([[0.0], est, [est[-1] if len(est) else 0.0]])
                ax.plot(x, y, drawstyle="steps-post", label=f"{label}", gid=f"cif:{label}", color=color)
                if ci and len(est):
                    se = np.sqrt(np.clip(tab.variance.to_numpy(), 0, None))
                    lo, hi = _log_log_interval(est, se, z)
                    lo = np.where(np.isfinite(lo), lo, est)
                    hi = np.where(np.isfinite(hi), hi, est)
                    ax.fill_between(
                        x,
                        np.concatenate([[0.0], lo, lo[-1:]]),
                        np.concatenate([[0.0], hi, hi[-1:]]),
                        step="post",
                        color=color,
                        alpha=0.15,
                        lw=0,
                    )
                    top = max(top, float(np.nanmax(hi)))
                top = max(top, float(y.max()))
                if competing:
                    yc = tab.competing_estimate.to_numpy()
                    yc = np.concatenate([[0.0], yc, [yc[-1] if len(yc) else 0.0]])
                    ax.plot(
                        x,
                        yc,
                        drawstyle="steps-post",
                        linestyle="--",
                        color=color,
                        label=f"{label} (competing)",
                        gid=f"competing:{label}",
                    )
            last = max(self.last_follow_up.values()) if self.last_follow_up else 1.0
            ticks = time_axis(ax, self.unit, time_unit, last)
            ax.set_ylim(0, 1)
            percent_axis(ax.yaxis)
            ax.set_ylabel(f"Cumulative incidence of event {self.cause}, %")
            title = f"Cumulative incidence: {column_label(self.outcome)}"
            if self.test is not None:
                title += (
                    f"\nGray's test: chi-square {self.test.statistic:.2f} on {self.test.df} df, "
                    f"p {format_p(self.test.p_value)}"
                )
            ax.set_title(title, loc="left")
            ax.legend(loc="upper left" if top < 0.75 else "lower right", frameon=False)
            if at_risk:
                counts = {label: self._plot_at_risk(label, ticks) for label in self.arms}
                at_risk_table(ax, ticks, counts, palette)
        return ax


# ---------------------------------------------------------------------------------------------
# Public functions: cumulative incidence and Gray's test
# ---------------------------------------------------------------------------------------------


def _refuse_test_options(strata: object, rho: float, why: str) -> None:
    """A ParameterError when ``strata`` or ``rho`` (options of Gray's test only) are set but ``why``
    there is no test: an option with no effect is refused, never silently ignored."""
    given = []
    if strata is not None and column_names(strata, "strata"):
        given.append(f"strata={strata!r}")
    if rho != 0:
        given.append(f"rho={rho:g}")
    if given:
        several = len(given) > 1
        raise ParameterError(
            f"{' and '.join(given)} {'are options' if several else 'is an option'} of Gray's test only, but "
            f"{why}: drop {'them' if several else 'it'} (the cumulative incidences are never stratified or "
            "weighted)"
        )


def _gray_result(sd: SurvivalData, rho: float, analysis: str) -> GrayTestResult:
    stat, df, p, score, cov = _gray(sd, rho)
    return GrayTestResult(
        outcome=sd.duration,
        arms=sd.groups,
        cause=sd.cause,
        statistic=stat,
        df=df,
        p_value=p,
        score=score[:-1],
        covariance=cov[:-1, :-1],
        n=len(sd.time),
        rho=rho,
        control=sd.control,
        strata=sd.strata_columns,
        unit=sd.unit,
        analysis=analysis,
        notes=sd.notes,
        inputs=sd.inputs,
    )


@shared_params
def gray_test(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    cause: int = 1,
    strata: str | Sequence[str] | None = None,
    rho: float = 0.0,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_gray_test",
) -> GrayTestResult:
    """Gray's K-sample test that the cumulative incidence of ``cause`` is the same in every arm.

    Gray (1988, Ann Stat 16:1141, section 2), as ``cmprsk::cuminc``'s ``Tests``. With ``Y_r`` at
    risk, ``S_r`` the all-cause Kaplan-Meier and ``F_r`` the cumulative incidence of arm ``r``, the
    subdistribution risk set is ``R_r(t) = Y_r(t) (1 - F_r(t-)) / S_r(t-)`` and the score of arm ``k``

        z_k = Σ_t W(t) [d1_k(t) - d1(t) R_k(t) / Σ_r R_r(t)],   W(t) = (1 - F0(t-))^rho,

    compares the observed events of ``cause`` with those expected under a common subdistribution
    hazard (``F0`` the pooled estimate under the null). Its covariance is Gray's estimator
    ``Σ_r ∫ a_kr a_k'r`` (cause of interest, pooled hazard) ``+ Σ_r ∫ b_kr b_k'r`` (competing
    causes), with ``a_kr = W ĥ_k (δ_kr - ĥ_r/Σĥ) + (1 - (1-F0)/S_r) (c_kr(τ) - c_kr(t))``,
    ``ĥ_r = Y_r / S_r(t-)``, ``c_kr(t) = ∫_0^t a⁰_kr dF0 / (1 - F0)``, and the tie corrections
    ``1 - (d - 1)/(n - 1)`` of cmprsk. The statistic ``z' V⁻¹ z`` over the first ``K - 1`` arms is
    chi-square with ``K - 1`` df. ``strata`` sums scores and covariances over strata (cuminc's
    ``strata`` argument); the estimates themselves are never stratified.

    Parameters
    ----------
    @params data duration arms
    @params cause strata
    rho
        The weight power: any finite number, as cmprsk accepts (0: the usual weight; positive values
        emphasise early differences, negative ones late differences). A weight that overflows the
        floating-point range (very negative ``rho``) is an EstimationError.
    @params event_codes unit timefix id analysis

    Raises
    ------
    TrialDataError
        Bad input, or a single arm (there is nothing to compare).
    ParameterError
        A rho that is not a finite number, or other bad options.
    EstimationError
        No event of ``cause`` at all, or a weight that overflows (the test is undefined).
    """
    rho = check_number(rho, "rho")
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
        need_control=False,
        min_arms=2,
        unit=unit,
        timefix=timefix,
    )
    return _gray_result(sd, rho, analysis)


@shared_params
def cumulative_incidence(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    times: Sequence[float] | float | None = None,
    cause: int = 1,
    alpha: float = 0.05,
    strata: str | Sequence[str] | None = None,
    rho: float = 0.0,
    test: bool = True,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_cumulative_incidence",
) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence of ``cause`` in each arm, with Gray's test.

    At the distinct event times ``t_j`` of an arm, with ``n_j`` at risk, ``d1_j`` events of ``cause``,
    ``d2_j`` competing events (codes 2+ other than ``cause``), ``d_j = d1_j + d2_j`` and ``S`` the
    all-cause Kaplan-Meier estimate,

        F(t) = Σ_{t_j <= t} S(t_j-) d1_j / n_j            (Kalbfleisch & Prentice 1980, p. 168-9)

    (the Aalen-Johansen estimator; without competing events it equals ``1 - KM``). Its variance
    is Aalen's (1978, Ann Stat 6:534) estimator as ``cmprsk::cuminc`` computes it: with
    ``a_j = F(t) - F(t_j)``,

        Var F(t) = Σ_{t_j <= t} a_j² (d_j (n_j - d_j) + 2 d1_j d2_j) / ((n_j - 1)(n_j - d_j)²)
                   + S(t_j-)² d1_j (n_j - d1_j) / (n_j² (n_j - 1))
                   - 2 a_j S(t_j-) d1_j (n_j - d1_j) / (n_j (n_j - d_j)(n_j - 1)),

    where the middle term is ``d1_j / n_j²`` when ``n_j = 1`` and a term carrying ``a_j`` is 0 when
    ``n_j = d_j``. Pointwise ``1 - alpha`` intervals use the log(-log) transform,
    ``F^exp(±z se / (F log F))`` (Pintilie 2006, Competing Risks, section 4.2.3; as tidycmprsk);
    undefined (NaN, with a note) where ``F`` is 0.

    Parameters
    ----------
    @params data duration arms
    times
        The times reported as rows (variant ``"t=<time>"``; default: the last time every arm is still
        followed). Use :meth:`CumulativeIncidenceResult.at` for the curves at any times.
    @params cause alpha
    strata, rho, test
        Gray's test (:func:`gray_test`, stratified by ``strata``, weight power ``rho``) is added as a
        ``gray_test`` row with two or more arms; ``test=False`` leaves it out. Without a test
        (``test=False`` or one arm) ``strata`` and a non-zero ``rho`` have no effect and are refused.
    @params event_codes unit timefix id analysis
    """
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    rho = check_number(rho, "rho")
    test = check_flag(test, "test")
    if not test:
        _refuse_test_options(strata, rho, "test=False leaves the test out")
    grid_given = None if times is None else time_values(times, nonnegative=True, once=True)
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
        need_control=False,
        min_arms=1,
        unit=unit,
        timefix=timefix,
    )
    cause = sd.cause
    if test and len(sd.groups) < 2:
        _refuse_test_options(strata, rho, f"with one arm ({sd.groups[0]!r}) there is no test")
    parts = []
    for label in sd.groups:
        t, e = sd.of(label)
        tab = _aalen_johansen(t, e, cause)
        tab.insert(0, "arm", label)
        parts.append(tab)
    curves = pd.concat(parts, ignore_index=True)
    last = sd.last_follow_up()
    grid = (min(last.values()),) if grid_given is None else tuple(grid_given.tolist())
    notes: list[str] = []
    other = np.unique(sd.event[sd.competing]).tolist()
    if other:
        notes.append(f"competing events: codes {other} ({int(sd.competing.sum())})")
    else:
        notes.append("no competing events in the data: the cumulative incidence equals 1 - Kaplan-Meier")
    notes.extend(sd.notes)
    result_test = None
    if test and len(sd.groups) >= 2:
        try:
            result_test = _gray_result(sd, rho, analysis)
        except EstimationError as exc:
            notes.append(f"Gray's test not computed: {exc}")
    return CumulativeIncidenceResult(
        outcome=sd.duration,
        arms=sd.groups,
        cause=cause,
        curves=curves,
        times=grid,
        n_by_arm={g: sd.n_by_arm[g] for g in sd.groups},
        last_follow_up=last,
        test=result_test,
        alpha=alpha,
        unit=sd.unit,
        analysis=analysis,
        notes=tuple(notes),
        inputs=sd.inputs,
    )
