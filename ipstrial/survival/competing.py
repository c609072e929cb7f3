"""Competing risks: cumulative incidence, Gray's test and the Fine-Gray model.

Time to first employment ends in one of several ways: the job (event code ``cause``, usually 1),
a competing exit that makes the job impossible or irrelevant (codes 2+, e.g. death, emigration,
disability pension), or censoring (0). With competing exits, one minus the Kaplan-Meier estimate
(competing exits censored) over-states the probability of a job; the cumulative incidence
``F(t) = P(T <= t, cause)`` is the quantity a participant experiences.

* :func:`cumulative_incidence` - the Aalen-Johansen estimate per arm with the variance of Aalen
  (1978) as R's ``cmprsk::cuminc`` computes it, pointwise log(-log) intervals, and Gray's test;
* :func:`gray_test` - Gray's (1988) K-sample test of equal cumulative incidence (``cuminc``'s
  ``Tests``), optionally stratified;
* :func:`fine_gray` - the proportional subdistribution hazards model of Fine & Gray (1999) as
  ``cmprsk::crr`` fits it, with the cause-specific Cox hazard ratio as its companion.

Everything is computed here in numpy from the published formulas; the reference values in
``tests/reference/survival_competing.json`` come from R (cmprsk, survival).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._inputs import as_labels, design_matrix
from ipstrial.errors import EstimationError, TrialDataError
from ipstrial.results import Result, Row, contrast_label, format_p
from ipstrial.survival._inputs import SurvivalData, check_cause, prepare_survival

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "GrayTestResult",
    "cumulative_incidence",
    "fine_gray",
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


def _gray(sd: SurvivalData, cause: int, rho: float) -> tuple[float, int, float, np.ndarray, np.ndarray]:
    """Gray's statistic, df, p-value, score and covariance (first ``K-1`` groups), summed over strata."""
    from scipy import stats

    k = len(sd.groups)
    group = np.full(len(sd.arms), -1)
    for i, label in enumerate(sd.groups):
        group[sd.arms == label] = i
    strata = sd.strata if sd.strata is not None else np.zeros(len(group), dtype=object)
    score = np.zeros(k)
    cov = np.zeros((k, k))
    for level in pd.unique(strata):
        keep = strata == level
        s, v = _gray_stratum(sd.time[keep], sd.event[keep], group[keep], k, cause, rho)
        score += s
        cov += v
    u = score[:-1]
    v = cov[:-1, :-1]
    if not np.any(sd.event == cause):
        raise EstimationError(
            f"no events of cause {cause} in any arm: the cumulative incidences are all 0 and Gray's test "
            "is undefined; check the event codes (cause=)"
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


def _arms_label(groups: Sequence[str]) -> str:
    if len(groups) == 2:
        return contrast_label(groups[0], groups[1])
    return " vs ".join(str(g) for g in groups)


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
    strata: tuple[str, ...] = ()
    unit: str = "days"
    analysis: str = "survival_gray_test"

    @property
    def title(self) -> str:
        return f"Gray's test for the cumulative incidence of event {self.cause} in {self.outcome}"

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
            Row(
                self.analysis,
                _arms_label(self.arms),
                "gray_test",
                self.statistic,
                p_value=self.p_value,
                method=method,
                n=self.n,
                outcome=self.outcome,
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
        return f"Cumulative incidence of event {self.cause} in {self.outcome} (Aalen-Johansen)"

    def _values(self, times: Sequence[float] | float, column: str) -> pd.DataFrame:
        grid = np.atleast_1d(np.asarray(times, dtype=float))
        if np.any(np.isnan(grid)) or np.any(grid < 0):
            raise ValueError("times must be non-negative numbers")
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
        from scipy import stats

        est = self.at(times)
        var = self.variance_at(times)
        z = float(stats.norm.ppf(1 - self.alpha / 2))
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
                Row(
                    self.analysis,
                    str(rec.arm),
                    "cumulative_incidence",
                    rec.estimate,
                    se=rec.se,
                    ci_low=rec.ci_low,
                    ci_high=rec.ci_high,
                    method=method,
                    n=self.n_by_arm[rec.arm],
                    outcome=self.outcome,
                    conf_level=1 - self.alpha,
                    extra=extra,
                )
            )
        if self.test is not None:
            out.extend(self.test.rows())
        return tuple(out)

    def plot(self, ax: Axes | None = None, competing: bool = False) -> Axes:
        """Step curves of the cumulative incidence per arm; ``competing=True`` adds the competing
        causes' incidence dashed in the arm's colour. Lines carry ``gid`` ``"cif:<arm>"`` and
        ``"competing:<arm>"``; each curve runs to the arm's last follow-up."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.6))
        for label in self.arms:
            tab = self.curves.loc[self.curves.arm == label]
            end = self.last_follow_up[label]
            x = np.concatenate([[0.0], tab.time.to_numpy(), [end]])
            y = np.concatenate([[0.0], tab.estimate.to_numpy(), [tab.estimate.iloc[-1] if len(tab) else 0.0]])
            (line,) = ax.plot(x, y, drawstyle="steps-post", label=f"{label}", gid=f"cif:{label}")
            if competing:
                yc = tab.competing_estimate.to_numpy()
                yc = np.concatenate([[0.0], yc, [yc[-1] if len(yc) else 0.0]])
                ax.plot(
                    x,
                    yc,
                    drawstyle="steps-post",
                    linestyle="--",
                    color=line.get_color(),
                    label=f"{label} (competing)",
                    gid=f"competing:{label}",
                )
        ax.set_xlabel(f"Time since randomisation ({self.unit})")
        ax.set_ylabel(f"Cumulative incidence of event {self.cause}")
        ax.set_ylim(0, 1)
        ax.set_xlim(left=0)
        if self.test is not None:
            ax.set_title(
                f"Gray's test: chi-square {self.test.statistic:.2f} on {self.test.df} df, "
                f"p {format_p(self.test.p_value)}",
                fontsize="medium",
            )
        ax.legend(frameon=False)
        return ax


# ---------------------------------------------------------------------------------------------
# Public functions: cumulative incidence and Gray's test
# ---------------------------------------------------------------------------------------------


def _check_rho(rho: float) -> float:
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not math.isfinite(rho) or rho < 0:
        raise ValueError(f"rho must be a non-negative number, got {rho!r}")
    return float(rho)


def gray_test(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    arms: Sequence[str] | None = None,
    cause: int = 1,
    strata: str | Sequence[str] | None = None,
    rho: float = 0.0,
    *,
    unit: str = "days",
    event_codes: Sequence[int] = (0, 1, 2),
    id: str | None = "participant_id",
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

    Raises
    ------
    TrialDataError : bad input, or a single arm (there is nothing to compare).
    EstimationError : no event of ``cause`` at all (the test is undefined).
    """
    check_cause(cause, event_codes)
    codes = tuple(int(c) for c in event_codes)
    rho = _check_rho(rho)
    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        arms=arms,
        strata=strata,
        event_codes=codes,
        min_groups=2,
        unit=unit,
        id=id,
    )
    stat, df, p, score, cov = _gray(sd, cause, rho)
    strata_cols = () if strata is None else ((strata,) if isinstance(strata, str) else tuple(strata))
    return GrayTestResult(
        outcome=duration,
        arms=sd.groups,
        cause=cause,
        statistic=stat,
        df=df,
        p_value=p,
        score=score[:-1],
        covariance=cov[:-1, :-1],
        n=len(sd.time),
        rho=rho,
        strata=strata_cols,
        unit=unit,
        analysis=analysis,
    )


def cumulative_incidence(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    arms: Sequence[str] | None = None,
    cause: int = 1,
    alpha: float = 0.05,
    unit: str = "days",
    *,
    times: Sequence[float] | float | None = None,
    strata: str | Sequence[str] | None = None,
    rho: float = 0.0,
    test: bool = True,
    event_codes: Sequence[int] = (0, 1, 2),
    id: str | None = "participant_id",
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

    ``times``: the times reported as rows (default: the last time every arm is still followed).
    With two or more arms, Gray's test (:func:`gray_test`, optionally stratified by ``strata``
    with weight power ``rho``) is added as a ``gray_test`` row; ``test=False`` leaves it out. Use
    :meth:`CumulativeIncidenceResult.at` for the curves at any times.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    check_cause(cause, event_codes)
    codes = tuple(int(c) for c in event_codes)
    rho = _check_rho(rho)
    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        arms=arms,
        strata=strata,
        event_codes=codes,
        min_groups=1,
        unit=unit,
        id=id,
    )
    parts = []
    for label in sd.groups:
        t, e = sd.of(label)
        tab = _aalen_johansen(t, e, cause)
        tab.insert(0, "arm", label)
        parts.append(tab)
    curves = pd.concat(parts, ignore_index=True)
    last = sd.last_follow_up()
    if times is None:
        grid: tuple[float, ...] = (min(last.values()),)
    else:
        grid = tuple(float(t) for t in np.atleast_1d(np.asarray(times, dtype=float)))
        if any(not math.isfinite(t) or t < 0 for t in grid):
            raise ValueError(f"times must be non-negative finite numbers, got {times!r}")
    notes: list[str] = []
    other = sorted({int(c) for c in sd.event if c not in (0, cause)})
    if other:
        notes.append(
            f"competing events: codes {other} ({int(np.sum((sd.event != 0) & (sd.event != cause)))})"
        )
    else:
        notes.append("no competing events in the data: the cumulative incidence equals 1 - Kaplan-Meier")
    result_test = None
    strata_cols = () if strata is None else ((strata,) if isinstance(strata, str) else tuple(strata))
    if test and len(sd.groups) >= 2:
        try:
            stat, df, p, score, cov = _gray(sd, cause, rho)
        except EstimationError as exc:
            notes.append(f"Gray's test not computed: {exc}")
        else:
            result_test = GrayTestResult(
                outcome=duration,
                arms=sd.groups,
                cause=cause,
                statistic=stat,
                df=df,
                p_value=p,
                score=score[:-1],
                covariance=cov[:-1, :-1],
                n=len(sd.time),
                rho=rho,
                strata=strata_cols,
                unit=unit,
                analysis=analysis,
            )
    return CumulativeIncidenceResult(
        outcome=duration,
        arms=sd.groups,
        cause=cause,
        curves=curves,
        times=grid,
        n_by_arm={g: int(np.sum(sd.arms == g)) for g in sd.groups},
        last_follow_up=last,
        test=result_test,
        alpha=alpha,
        unit=unit,
        analysis=analysis,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# Fine-Gray model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _FineGrayFit:
    coef: np.ndarray
    variance: np.ndarray
    information: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int


def _fine_gray_fit(time: np.ndarray, status: np.ndarray, z: np.ndarray, max_iter: int = 100) -> _FineGrayFit:
    """Maximise the Fine-Gray weighted partial likelihood (Breslow ties) and its sandwich variance.

    ``status`` 1 = cause of interest, 2 = competing, 0 = censored. Weights ``w_j(s) = G(s-)/G(T_j-)``
    for competing events before ``s`` (``G`` the Kaplan-Meier estimate of the censoring
    distribution, all participants), 1 while ``T_j >= s``, 0 after censoring.
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

    def sums(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        e = np.exp(zz @ beta)
        parts = []
        for x in (e, zz * e[:, None], outer * e[:, None, None]):
            tail = np.concatenate([np.cumsum(x[::-1], axis=0)[::-1], np.zeros((1, *x.shape[1:]))])
            wx = x * (comp / g_before).reshape((-1,) + (1,) * (x.ndim - 1))
            head = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(wx, axis=0)])
            gs = g_s.reshape((-1,) + (1,) * (x.ndim - 1))
            parts.append(tail[pos] + gs * head[pos])
        return parts[0], parts[1], parts[2], e

    def loglik(beta: np.ndarray) -> float:
        s0 = sums(beta)[0]
        return float(z_fail_sum @ beta - np.sum(d * np.log(s0)))

    beta = np.zeros(p)
    ll0 = loglik(beta)
    ll = ll0
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        s0, s1, s2, _ = sums(beta)
        zbar = s1 / s0[:, None]
        score = z_fail_sum - np.sum(d[:, None] * zbar, axis=0)
        info = np.sum(
            d[:, None, None] * (s2 / s0[:, None, None] - zbar[:, :, None] * zbar[:, None, :]), axis=0
        )
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as exc:
            raise EstimationError(
                "the Fine-Gray information matrix is singular: a covariate is constant among the "
                "participants at risk or collinear with others; simplify covariates="
            ) from exc
        if np.max(np.abs(step)) < 1e-10:
            beta = beta + step
            converged = True
            break
        new = beta + step
        ll_new = loglik(new)
        halvings = 0
        while not (ll_new >= ll - 1e-12 * max(1.0, abs(ll))) and halvings < 40:
            step = step / 2
            new = beta + step
            ll_new = loglik(new)
            halvings += 1
        beta, ll = new, ll_new
    if not converged or not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 30:
        raise EstimationError(
            f"the Fine-Gray model did not converge in {max_iter} Newton steps (coefficients "
            f"{np.round(beta, 3).tolist()}): a covariate level in which no participant has the event makes "
            "an estimate infinite; simplify covariates="
        )
    # sandwich variance (Fine & Gray 1999, section 3: Ω⁻¹ Σ (η_i + ψ_i)^⊗2 Ω⁻¹)
    s0, s1, s2, e = sums(beta)
    zbar = s1 / s0[:, None]
    info = np.sum(d[:, None, None] * (s2 / s0[:, None, None] - zbar[:, :, None] * zbar[:, None, :]), axis=0)
    ll = loglik(beta)
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
        information=info,
        loglik=ll,
        loglik_null=ll0,
        iterations=iterations,
    )


def _cause_specific_cox(time: np.ndarray, status: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cause-specific Cox coefficients and standard errors (lifelines CoxPHFitter, Efron ties)."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    safe = [f"x{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=safe)
    frame["__time"] = time
    frame["__status"] = status
    fitter = CoxPHFitter()
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
            raise EstimationError(f"the cause-specific Cox model did not converge: {exc}") from exc
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        raise EstimationError("the cause-specific Cox model did not converge; simplify covariates=")
    beta = fitter.params_.loc[safe].to_numpy(dtype=float)
    se = np.sqrt(np.diag(fitter.variance_matrix_.loc[safe, safe].to_numpy(dtype=float)))
    return beta, se


def _coefficient_table(names: list[str], beta: np.ndarray, se: np.ndarray, z: float) -> pd.DataFrame:
    from scipy import stats

    return pd.DataFrame(
        {
            "term": names,
            "coef": beta,
            "se": se,
            "hazard_ratio": np.exp(beta),
            "ci_low": np.exp(beta - z * se),
            "ci_high": np.exp(beta + z * se),
            "z": beta / se,
            "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
        }
    )


@dataclass(frozen=True, eq=False)
class FineGrayResult(Result):
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
    alpha: float = 0.05
    unit: str = "days"
    analysis: str = "survival_fine_gray"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Fine-Gray model for {self.outcome} (subdistribution hazard of event {self.cause})"

    def subdistribution_hazard_ratio(self, treatment: str | None = None) -> float:
        """The subdistribution hazard ratio of one treatment arm (the first when ``None``)."""
        label = self.treatments[0] if treatment is None else treatment
        row = self.coefficients.loc[self.coefficients.term == f"{self.arm}:{label}"]
        if row.empty:
            raise KeyError(f"{label!r} is not a treatment arm of this model; arms: {self.treatments}")
        return float(row.hazard_ratio.iloc[0])

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        counts = self.events.set_index("arm")
        adjusted = ", ".join(self.covariates) if self.covariates else "none"
        method = (
            f"Fine-Gray proportional subdistribution hazards for event {self.cause} (as cmprsk::crr): "
            "Kaplan-Meier censoring weights over all participants, Breslow ties, sandwich variance; "
            f"covariates: {adjusted}; Wald interval and p"
        )
        cs_method = (
            f"Cox proportional hazards, Efron ties (lifelines CoxPHFitter); cause-specific hazard of event "
            f"{self.cause}, competing events censored; covariates: {adjusted}; Wald interval and p"
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
            c = self.coefficients.loc[self.coefficients.term == f"{self.arm}:{label}"].iloc[0]
            out.append(
                Row(
                    self.analysis,
                    contrast_label(label, self.control),
                    "subdistribution_hazard_ratio",
                    float(c.hazard_ratio),
                    ci_low=float(c.ci_low),
                    ci_high=float(c.ci_high),
                    p_value=float(c.p_value),
                    method=method,
                    n=n,
                    outcome=self.outcome,
                    conf_level=conf,
                    extra=base | {"log_shr": float(c.coef), "se_log_shr": float(c.se), "model": "Fine-Gray"},
                )
            )
            if self.cause_specific is not None:
                k = self.cause_specific.loc[self.cause_specific.term == f"{self.arm}:{label}"].iloc[0]
                out.append(
                    Row(
                        self.analysis,
                        contrast_label(label, self.control),
                        "hazard_ratio",
                        float(k.hazard_ratio),
                        ci_low=float(k.ci_low),
                        ci_high=float(k.ci_high),
                        p_value=float(k.p_value),
                        method=cs_method,
                        n=n,
                        outcome=self.outcome,
                        conf_level=conf,
                        extra=base
                        | {"log_hr": float(k.coef), "se_log_hr": float(k.se), "model": "cause-specific"},
                    )
                )
        return tuple(out)


def fine_gray(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treatment: str | Sequence[str],
    control: str,
    cause: int = 1,
    covariates: Sequence[str] = (),
    alpha: float = 0.05,
    *,
    unit: str = "days",
    cause_specific: bool = True,
    event_codes: Sequence[int] = (0, 1, 2),
    id: str | None = "participant_id",
    max_iter: int = 100,
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

    The companion ``hazard_ratio`` rows (extra ``model = "cause-specific"``) are the cause-specific
    Cox model on the same columns (lifelines ``CoxPHFitter``, Efron ties, other causes censored;
    Prentice et al. 1978, Biometrics 34:541); ``cause_specific=False`` leaves them out.

    Raises
    ------
    TrialDataError : bad input, or a single arm (via ``prepare_survival(min_groups=2)``).
    EstimationError : an arm without events of ``cause`` (the subdistribution hazard ratio is 0 or
        infinite, i.e. undefined), or a model that cannot be fitted.
    """
    from scipy import stats

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    check_cause(cause, event_codes)
    codes = tuple(int(c) for c in event_codes)
    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment=treatment,
        control=control,
        covariates=covariates,
        event_codes=codes,
        min_groups=2,
        unit=unit,
        id=id,
    )
    treatments = as_labels(treatment)
    status = np.where(sd.event == cause, 1, np.where(sd.event == 0, 0, 2))
    events = pd.DataFrame(
        {
            "arm": list(sd.groups),
            "n": [int(np.sum(sd.arms == a)) for a in sd.groups],
            "events": [int(np.sum((status == 1) & (sd.arms == a))) for a in sd.groups],
            "competing": [int(np.sum((status == 2) & (sd.arms == a))) for a in sd.groups],
            "censored": [int(np.sum((status == 0) & (sd.arms == a))) for a in sd.groups],
        }
    )
    empty = [a for a, k in zip(events.arm, events.events, strict=True) if k == 0]
    if empty:
        raise EstimationError(
            f"arm(s) {empty} have no events of cause {cause} (column {event!r}): their cumulative incidence "
            "is 0 throughout, so the subdistribution hazard ratio is undefined (0 or infinite); report the "
            "cumulative incidences (ipstrial.survival.competing.cumulative_incidence) and Gray's test instead"
        )
    indicators = pd.DataFrame(
        {f"{arm}:{a}": (sd.arms == a).astype(float) for a in treatments}, index=sd.frame.index
    )
    design = design_matrix(sd.frame, tuple(covariates), sd.ids)
    x = pd.concat([indicators, design], axis=1)
    names = list(x.columns)
    xm = x.to_numpy(dtype=float)
    rank = np.linalg.matrix_rank(np.column_stack([np.ones(len(xm)), xm]))
    if rank < xm.shape[1] + 1:
        raise TrialDataError(
            f"the model columns {names} are collinear (rank {rank - 1} of {xm.shape[1]}): a covariate "
            "duplicates the arm indicators or another covariate; drop it from covariates="
        )
    fit = _fine_gray_fit(sd.time, status, xm, max_iter=max_iter)
    zq = float(stats.norm.ppf(1 - alpha / 2))
    coefficients = _coefficient_table(names, fit.coef, np.sqrt(np.diag(fit.variance)), zq)
    cs = None
    if cause_specific:
        beta, se = _cause_specific_cox(sd.time, (status == 1).astype(int), xm)
        cs = _coefficient_table(names, beta, se, zq)
    notes = [
        f"{int(np.sum(status == 2))} competing events (codes other than {cause}) stay in the risk set "
        "with inverse-probability-of-censoring weights"
    ]
    return FineGrayResult(
        outcome=duration,
        arm=arm,
        treatments=treatments,
        control=control,
        cause=cause,
        coefficients=coefficients,
        variance=fit.variance,
        events=events,
        covariates=tuple(covariates),
        n=len(sd.time),
        log_likelihood=fit.loglik,
        log_likelihood_null=fit.loglik_null,
        iterations=fit.iterations,
        cause_specific=cs,
        alpha=alpha,
        unit=unit,
        analysis=analysis,
        notes=tuple(notes),
    )
