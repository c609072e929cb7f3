"""Kaplan-Meier curves of the time to first employment, per arm, with R's pointwise intervals and medians.

:func:`kaplan_meier` estimates, for each arm, the probability of still being without the event of
interest (code ``cause``, by default 1: first employment or education) at each time since
randomisation, as R's ``survfit(Surv(time, event == cause) ~ 1)`` does: Greenwood variances,
pointwise ``"log-log"`` (default), ``"log"`` or ``"plain"`` intervals, and the median with the
Brookmeyer-Crowley interval read off the confidence curves exactly as R's ``print.survfit`` reads it.

Competing events (codes other than 0 and ``cause``) are **censored** here: the curve then describes a
world in which the competing events could be removed, and ``1 - KM`` overstates the proportion who
ever get the event. The result says so in its notes and in every row's ``extra``; use a cumulative
incidence (Aalen-Johansen) estimator for the proportion employed in the presence of competing events.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial.results import Result, Row
from ipstrial.survival._inputs import SurvivalData, check_cause, prepare_survival

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["CONF_TYPES", "KaplanMeierResult", "kaplan_meier"]

CONF_TYPES = ("log-log", "log", "plain")
_TOLERANCE = math.sqrt(np.finfo(float).eps)
"""R's ``.Machine$double.eps^0.5``: survival values within it of 0.5 count as exactly 0.5 (survmean)."""

TABLE_COLUMNS = ("arm", "time", "n.risk", "n.event", "n.censor", "n.competing", "survival", "std.err")


# ---------------------------------------------------------------------------------------------
# computation
# ---------------------------------------------------------------------------------------------


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _check_times(times: Sequence[float] | float | np.ndarray, name: str = "times") -> np.ndarray:
    values = np.atleast_1d(np.asarray(times, dtype=float)).ravel()
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite numbers, got {list(values)}")
    return values


def _km_steps(time: np.ndarray, status: np.ndarray, competing: np.ndarray) -> dict[str, np.ndarray]:
    """Kaplan-Meier at every distinct time of one arm (events, censorings and competing events).

    ``S(t) = prod_{t_j <= t} (n_j - d_j) / n_j`` (Kaplan & Meier 1958, eq. 2); Greenwood's variance
    of ``log S`` (and of the cumulative hazard, as R's ``std.err``) ``sum_{t_j <= t} d_j / (n_j (n_j -
    d_j))`` (Greenwood 1926; Kalbfleisch & Prentice 2002, eq. 1.14), infinite once ``S`` reaches 0.
    """
    t, inv = np.unique(time, return_inverse=True)
    total = np.bincount(inv, minlength=t.size)
    d = np.bincount(inv, weights=status.astype(float), minlength=t.size)
    k = np.bincount(inv, weights=competing.astype(float), minlength=t.size)
    n = total[::-1].cumsum()[::-1].astype(float)
    surv = np.cumprod((n - d) / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n * (n - d)), 0.0)
        se_log = np.sqrt(np.cumsum(term))
        std_err = surv * se_log  # 0 * inf = NaN once S reaches 0, as R's summary.survfit
    return {
        "time": t,
        "n.risk": n.astype(np.int64),
        "n.event": d.astype(np.int64),
        "n.censor": (total - d).astype(np.int64),
        "n.competing": k.astype(np.int64),
        "survival": surv,
        "std.err": std_err,
        "se_log": se_log,
    }


def _confint(surv: np.ndarray, se_log: np.ndarray, conf_type: str, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits of ``S`` from ``se(log S)``, as R's ``survfit_confint`` (``logse = TRUE``).

    * ``plain``: ``S -/+ z S se`` (Klein & Moeschberger 2003, eq. 4.3.1), clipped to [0, 1];
    * ``log``: ``exp(log S -/+ z se)``, the upper limit capped at 1; undefined at ``S = 0``;
    * ``log-log``: ``exp(-exp(log(-log S) -/+ z se / log S))`` (Kalbfleisch & Prentice 2002, sec. 1.4;
      Borgan & Liestøl 1990), undefined (NaN, as R's NA) where ``S`` is 0 or 1.
    """
    p = np.asarray(surv, dtype=float)
    se = np.asarray(se_log, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se * p * z
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        half = z * se / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))


def _first_half(y: np.ndarray, x: np.ndarray) -> float:
    """The first time a curve reaches 0.5, with R's rule for a flat stretch at exactly 0.5.

    As R's ``survmean`` (``minmin``): keep the points with ``y < 0.5 + tol`` (NaN dropped); if the
    first kept value equals 0.5 within ``tol`` and a later kept value is lower, the median is the
    midpoint of the first kept time and the first time the curve drops below that value; otherwise
    the first kept time. NaN when the curve never reaches 0.5.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _TOLERANCE)
    if not keep.any():
        return math.nan
    xs, ys = x[keep], y[keep]
    if abs(ys[0] - 0.5) < _TOLERANCE:
        lower = np.flatnonzero(ys < ys[0])
        if lower.size:
            return float((xs[0] + xs[lower[0]]) / 2)
    return float(xs[0])


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class KaplanMeierResult(Result):
    """Per-arm Kaplan-Meier curves, their pointwise intervals and medians.

    ``table`` has one row per arm and distinct time (events, censorings and competing events):
    ``arm, time, n.risk, n.event, n.censor, n.competing, survival, std.err, lower, upper`` --
    ``n.censor`` counts everything that is not an event of interest (competing events included, as
    they are censored here; ``n.competing`` says how many of those were competing events) and
    ``std.err`` is the Greenwood standard error of ``S`` (R's ``summary.survfit``; ``se_log`` that of
    ``log S``, R's ``fit$std.err``). ``medians`` has
    one row per arm: ``arm, n, events, competing, median, lower, upper`` (``inf`` when not reached).
    """

    duration: str
    event_column: str
    cause: int
    groups: tuple[str, ...]
    table: pd.DataFrame
    medians: pd.DataFrame
    conf_type: str = "log-log"
    alpha: float = 0.05
    unit: str = "days"
    times: tuple[float, ...] = ()
    analysis: str = "survival_kaplan_meier"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Kaplan-Meier of {self.duration} (event: {self.event_column} == {self.cause}), by arm"

    # -- queries -------------------------------------------------------------------------------

    def _arm_table(self, arm: str) -> pd.DataFrame:
        if arm not in self.groups:
            raise KeyError(f"arm {arm!r} is not in this result; the arms are {list(self.groups)}")
        return self.table[self.table.arm == arm]

    def _at(self, arm: str, times: np.ndarray) -> dict[str, np.ndarray]:
        """Survival, its standard error and limits at ``times`` (right-continuous step function).

        Before the first recorded time ``S = 1``; after the last recorded time ``S`` is NaN (unknown)
        unless the curve has already reached 0.
        """
        tab = self._arm_table(arm)
        t = tab.time.to_numpy()
        idx = np.searchsorted(t, times, side="right") - 1
        surv = np.where(idx >= 0, tab.survival.to_numpy()[np.maximum(idx, 0)], 1.0)
        se_log = np.where(idx >= 0, tab.se_log.to_numpy()[np.maximum(idx, 0)], 0.0)
        beyond = (times > t[-1]) & (tab.survival.to_numpy()[-1] > 0)
        surv = np.where(beyond, np.nan, surv)
        se_log = np.where(beyond, np.nan, se_log)
        from scipy import stats

        lower, upper = _confint(surv, se_log, self.conf_type, float(stats.norm.ppf(1 - self.alpha / 2)))
        with np.errstate(invalid="ignore"):
            std_err = surv * se_log
        return {"survival": surv, "std.err": std_err, "lower": lower, "upper": upper}

    def survival_at(self, times: Sequence[float] | float) -> pd.DataFrame:
        """Kaplan-Meier survival at ``times``: one row per arm, one column per time.

        The curve is right-continuous: ``S(t)`` includes the events at ``t`` (as R's
        ``summary(fit, times = t)``). ``S = 1`` before the first recorded time; NaN after an arm's
        last follow-up time unless its curve has reached 0 (the curve is not estimable there).
        """
        values = _check_times(times)
        out = pd.DataFrame(
            [self._at(arm, values)["survival"] for arm in self.groups],
            index=list(self.groups),
            columns=values,
        )
        out.index.name = "arm"
        out.columns.name = f"time ({self.unit})"
        return out

    def at_risk(self, times: Sequence[float] | float) -> pd.DataFrame:
        """Number at risk (time ``>= t``) at ``times``: one row per arm, one column per time."""
        values = _check_times(times)
        rows = []
        for arm in self.groups:
            tab = self._arm_table(arm)
            idx = np.searchsorted(tab.time.to_numpy(), values, side="left")
            n_risk = np.append(tab["n.risk"].to_numpy(), 0)
            rows.append(n_risk[idx])
        out = pd.DataFrame(rows, index=list(self.groups), columns=values, dtype=np.int64)
        out.index.name = "arm"
        out.columns.name = f"time ({self.unit})"
        return out

    # -- rows ---------------------------------------------------------------------------------

    def rows(self) -> tuple[Row, ...]:
        conf = 1 - self.alpha
        out = []
        base_note = "; ".join(self.notes)
        for m in self.medians.itertuples(index=False):
            words = []
            if math.isinf(m.median):
                words.append("median not reached")
            if math.isinf(m.lower):
                words.append("lower limit not reached")
            if math.isinf(m.upper):
                words.append("upper limit not reached")
            note = "; ".join([*words, base_note] if base_note else words)
            out.append(
                Row(
                    self.analysis,
                    m.arm,
                    "median_time",
                    m.median,
                    ci_low=m.lower,
                    ci_high=m.upper,
                    method=(
                        f"Kaplan-Meier median, Brookmeyer-Crowley interval from the {self.conf_type} "
                        "pointwise limits (as R survfit)"
                    ),
                    n=int(m.n),
                    outcome=self.duration,
                    conf_level=conf,
                    extra={
                        "unit": self.unit,
                        "events": int(m.events),
                        "competing_censored": int(m.competing),
                        "note": note,
                    },
                )
            )
        if self.times:
            values = np.asarray(self.times, dtype=float)
            for m in self.medians.itertuples(index=False):
                at = self._at(m.arm, values)
                n_risk = self.at_risk(values).loc[m.arm].to_numpy()
                for j, t in enumerate(values):
                    out.append(
                        Row(
                            self.analysis,
                            m.arm,
                            "survival",
                            at["survival"][j],
                            se=at["std.err"][j],
                            ci_low=at["lower"][j],
                            ci_high=at["upper"][j],
                            method=f"Kaplan-Meier, Greenwood variance, {self.conf_type} pointwise interval",
                            n=int(m.n),
                            outcome=self.duration,
                            conf_level=conf,
                            extra={
                                "time": float(t),
                                "unit": self.unit,
                                "n_risk": int(n_risk[j]),
                                "competing_censored": int(m.competing),
                                "note": base_note,
                            },
                        )
                    )
        return tuple(out)

    # -- plot ---------------------------------------------------------------------------------

    def plot(
        self,
        ax: Axes | None = None,
        kind: str = "survival",
        at_risk: bool = True,
        ci: bool = False,
        ylabel: str | None = None,
    ) -> Axes:
        """Step curves per arm with censoring ticks and, under the axes, the number at risk.

        ``kind="survival"`` draws ``S(t)``; ``kind="incidence"`` draws ``1 - S(t)`` ("proportion
        employed"; with competing events censored this is not a cumulative incidence). ``ci=True``
        shades the pointwise intervals. The number-at-risk table gives :meth:`at_risk` at the x tick
        marks inside the axes. Lines carry ``gid`` ``"km:<arm>"`` and ``"censor:<arm>"``, the table's
        texts ``"at_risk:<arm>:<time>"``.
        """
        if kind not in ("survival", "incidence"):
            raise ValueError(f"kind must be 'survival' or 'incidence', got {kind!r}")
        import matplotlib.pyplot as plt
        from matplotlib.transforms import blended_transform_factory

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.6 + (0.28 * len(self.groups) if at_risk else 0)))
        flip = kind == "incidence"
        last = float(self.table.time.max()) if len(self.table) else 1.0
        colors = {}
        for arm in self.groups:
            tab = self._arm_table(arm)
            x = np.concatenate([[0.0], tab.time.to_numpy()])
            y = np.concatenate([[1.0], tab.survival.to_numpy()])
            if flip:
                y = 1 - y
            (line,) = ax.step(x, y, where="post", label=arm, gid=f"km:{arm}")
            color = colors[arm] = line.get_color()
            if ci:
                low = np.concatenate([[1.0], tab.lower.to_numpy()])
                high = np.concatenate([[1.0], tab.upper.to_numpy()])
                if flip:
                    low, high = 1 - high, 1 - low
                ax.fill_between(x, low, high, step="post", color=color, alpha=0.15, lw=0)
            cens = tab[tab["n.censor"] > 0]
            yc = cens.survival.to_numpy()
            ax.plot(
                cens.time.to_numpy(),
                1 - yc if flip else yc,
                linestyle="none",
                marker="|",
                markersize=6,
                color=color,
                gid=f"censor:{arm}",
            )
        ax.set_xlim(0, last * 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"time since randomisation ({self.unit})")
        if ylabel is None:
            ylabel = "proportion employed (1 - Kaplan-Meier)" if flip else "proportion not yet employed"
        ax.set_ylabel(ylabel)
        ax.set_title(self.title, fontsize="medium")
        ax.legend(loc="lower right" if flip else "upper right", frameon=False, fontsize="small")
        if at_risk:
            ticks = [float(t) for t in ax.get_xticks() if 0 <= t <= last * 1.02]
            counts = self.at_risk(ticks)
            transform = blended_transform_factory(ax.transData, ax.transAxes)
            label_transform = ax.transAxes
            top = -0.2
            ax.text(-0.02, top, "Number at risk", transform=label_transform, ha="right", va="center")
            for k, arm in enumerate(self.groups):
                ypos = top - 0.075 * (k + 1)
                ax.text(
                    -0.02, ypos, arm, transform=label_transform, ha="right", va="center", color=colors[arm]
                )
                for t in ticks:
                    ax.text(
                        t,
                        ypos,
                        f"{int(counts.loc[arm, t])}",
                        transform=transform,
                        ha="center",
                        va="center",
                        fontsize="small",
                        gid=f"at_risk:{arm}:{t:g}",
                    )
            ax.figure.subplots_adjust(bottom=min(0.5, 0.2 + 0.06 * (len(self.groups) + 1)))
        return ax


# ---------------------------------------------------------------------------------------------
# kaplan_meier
# ---------------------------------------------------------------------------------------------


def _competing_note(data: SurvivalData, cause: int, competing: int) -> str:
    others = [c for c in data.event_codes if c not in (0, cause)]
    codes = ", ".join(str(c) for c in others) or "none declared"
    return (
        f"competing events (codes {codes}) are censored: {competing} participant(s) in all arms; the "
        f"curve is the survival free of event {cause} had competing events been removable, and 1 - KM "
        "overstates the proportion with the event when competing events occur (use cumulative "
        "incidence for that)"
    )


def kaplan_meier(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    arms: Sequence[str] | None = None,
    conf_type: str = "log-log",
    alpha: float = 0.05,
    cause: int = 1,
    unit: str = "days",
    id: str | None = "participant_id",
    times: Sequence[float] = (),
    event_codes: Sequence[int] = (0, 1, 2),
) -> KaplanMeierResult:
    """Kaplan-Meier estimate of the time to event ``cause`` in each arm, as R's ``survfit``.

    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` over the distinct times ``t_j`` with ``d_j`` events of
    interest among the ``n_j`` at risk (time ``>= t_j``) (Kaplan & Meier 1958, eq. 2). Competing
    events (codes other than 0 and ``cause``) are censored at their times (said in the notes and in
    every row's ``extra``). Greenwood variance ``Var(log S(t)) = sum_{t_j <= t} d_j / (n_j (n_j -
    d_j))`` (Greenwood 1926). Pointwise ``1 - alpha`` intervals: ``conf_type="log-log"`` (R's
    ``conf.type="log-log"``: ``S^exp(∓ z se / log S)``, Kalbfleisch & Prentice 2002, eq. 1.16),
    ``"log"`` (``S exp(∓ z se)``, capped at 1) or ``"plain"`` (``S ∓ z S se``, clipped to [0, 1]).

    Median: the first time the curve is at or below 0.5; its interval (Brookmeyer & Crowley 1982,
    Biometrics 38:29-41) runs from the first time the lower confidence curve reaches 0.5 to the
    first time the upper one does. As R's ``print.survfit``, a value within ``sqrt(eps)`` of 0.5
    counts as 0.5, and when the curve is exactly 0.5 over a stretch the median is the midpoint of
    the stretch. A median or limit that is never reached is ``inf`` with the note "not reached".

    Rows: ``median_time`` per arm (contrast = arm); with ``times``, also ``survival`` per arm and
    time (``extra``: ``time``, ``n_risk``). ``unit`` labels the durations in rows and plots.

    Raises
    ------
    TrialDataError
        Bad durations, event codes or arms (from :func:`~ipstrial.survival._inputs.prepare_survival`).
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    alpha = _check_alpha(alpha)
    cause = check_cause(cause, event_codes)
    time_points = tuple(float(t) for t in _check_times(times)) if len(np.atleast_1d(times)) else ()
    from scipy import stats

    sd = prepare_survival(data, duration, event, arm, arms=arms, event_codes=event_codes, unit=unit, id=id)
    z = float(stats.norm.ppf(1 - alpha / 2))
    tables, medians = [], []
    competing_total = 0
    for label in sd.groups:
        t, codes = sd.of(label)
        status = codes == cause
        competing = (codes != 0) & ~status
        steps = _km_steps(t, status, competing)
        lower, upper = _confint(steps["survival"], steps["se_log"], conf_type, z)
        frame = pd.DataFrame({"arm": label, **steps, "lower": lower, "upper": upper})
        tables.append(frame)
        x = steps["time"]
        values = [_first_half(steps["survival"], x), _first_half(lower, x), _first_half(upper, x)]
        median, low, high = (math.inf if math.isnan(v) else v for v in values)
        competing_total += int(competing.sum())
        medians.append(
            dict(
                arm=label,
                n=int(t.size),
                events=int(status.sum()),
                competing=int(competing.sum()),
                median=median,
                lower=low,
                upper=high,
            )
        )
    table = pd.concat(tables, ignore_index=True)
    table = table[[*TABLE_COLUMNS, "lower", "upper", "se_log"]]
    notes = (_competing_note(sd, cause, competing_total),)
    return KaplanMeierResult(
        duration,
        event,
        cause,
        sd.groups,
        table,
        pd.DataFrame(medians),
        conf_type,
        alpha,
        unit,
        time_points,
        notes=notes,
    )
