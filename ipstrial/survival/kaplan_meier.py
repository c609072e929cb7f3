"""Kaplan-Meier curves of the time to first employment, per arm, with R's pointwise intervals and quantiles.

:func:`kaplan_meier` estimates, for each arm, the probability of still being without the event of
interest (code ``cause``, by default 1: first employment or education) at each time since
randomisation, as R's ``survfit(Surv(time, event == cause) ~ arm)`` does: Greenwood variances,
pointwise ``"log-log"`` (default), ``"log"`` or ``"plain"`` intervals, and the median and other quantiles
with their Brookmeyer-Crowley intervals read off the confidence curves by survfit's quantile rule
(``quantile.survfit``, survival 3.5).

The quantile rule (R's ``quantile.survfit``; Therneau, survival package). For probability ``p`` take
the points ``(0, 1), (t_1, S(t_1)), ...`` at every recorded time (events and censorings), drop the
points where the curve is undefined (NaN, R's NA), and keep the first time of each distinct value:

* the quantile is the first time ``t_j`` with ``1 - S(t_j) >= p - tol``, ``tol = sqrt(machine eps)``;
* if ``1 - S(t_j)`` equals ``p`` within ``tol`` the curve is flat at ``p`` from ``t_j`` to ``t_{j+1}``,
  the next time it moves, and the quantile is ``(t_j + t_{j+1}) / 2``; if the curve never moves again
  it is ``(t_j + t_max) / 2`` with ``t_max`` the arm's last recorded time;
* a curve that never reaches ``p`` gives no quantile (R's NA).

The interval (Brookmeyer & Crowley 1982, Biometrics 38:29-41) applies the same rule to the lower
confidence curve (the lower limit) and to the upper one (the upper limit). Where R gives NA, ipstrial
reports:

* a quantile or an upper limit that is not reached within follow-up: ``inf`` ("not reached");
* a lower limit that is NA while the quantile is not reached either: ``inf`` ("not reached": neither
  the curve nor its lower confidence curve reach ``p`` within follow-up);
* a lower limit that is NA although the quantile is reached: NaN ("undefined"). This happens when the
  curve drops to 0 at the quantile (a final block of tied events): the ``log`` and ``log-log``
  confidence curves are undefined at ``S = 0`` (``plain`` too, its standard error being infinite), and
  they stay above ``1 - p`` before. The limit is not estimable, as in R; it is never ``inf``, so the
  interval never excludes the quantile.

Competing events (codes other than 0 and ``cause``) are **censored** here: the curve then describes a
world in which the competing events could be removed, and ``1 - KM`` overstates the proportion who
ever get the event. The result says so in its notes and in every row's ``extra``; use a cumulative
incidence (Aalen-Johansen) estimator for the proportion employed in the presence of competing events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._checks import check_alpha, check_analysis, check_choice, check_probability
from ipstrial._docs import shared_params
from ipstrial.results import Result, Row
from ipstrial.stats.normal import z_critical
from ipstrial.survival._inputs import (
    competing_censored_note,
    prepare_survival,
    time_label,
    time_values,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Mapping

    from matplotlib.axes import Axes

    from ipstrial.trial import Trial

__all__ = ["CONF_TYPES", "KaplanMeierResult", "kaplan_meier", "survfit_quantile"]

CONF_TYPES = ("log-log", "log", "plain")
_TOLERANCE = math.sqrt(np.finfo(float).eps)
"""R's ``.Machine$double.eps^0.5``: a curve within it of ``1 - p`` counts as exactly ``1 - p``."""

TABLE_COLUMNS = ("arm", "time", "n.risk", "n.event", "n.censor", "n.competing", "survival", "std.err")


# ---------------------------------------------------------------------------------------------
# computation
# ---------------------------------------------------------------------------------------------


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


def survfit_quantile(time: np.ndarray, curve: np.ndarray, p: float, start: float = 0.0) -> float:
    """The time a survival-type curve reaches ``1 - S = p`` by R's ``quantile.survfit`` rule, or NaN.

    ``time`` are the recorded times of the curve (events and censorings, increasing) and ``curve`` its
    values there (NaN where undefined); the curve is 1 at ``start`` (module docstring for the rule).
    NaN when the curve never reaches ``p`` where it is defined (R's NA).
    """
    x = np.concatenate([[float(start)], np.asarray(time, dtype=float)])
    y = np.concatenate([[1.0], np.asarray(curve, dtype=float)])
    last = float(x[-1])
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    _, first = np.unique(y, return_index=True)
    first.sort()
    x, y = x[first], y[first]
    reached = np.flatnonzero(1.0 - y >= p - _TOLERANCE)
    if reached.size == 0:
        return math.nan
    j = int(reached[0])
    if abs((1.0 - y[j]) - p) < _TOLERANCE:
        following = float(x[j + 1]) if j + 1 < x.size else last
        return (float(x[j]) + following) / 2
    return float(x[j])


def _quantile_with_limits(
    time: np.ndarray, surv: np.ndarray, lower: np.ndarray, upper: np.ndarray, p: float
) -> tuple[float, float, float, list[str]]:
    """The quantile and its limits with R's NA read as in the module docstring, and the words for NA."""
    q = survfit_quantile(time, surv, p)
    lo = survfit_quantile(time, lower, p)
    hi = survfit_quantile(time, upper, p)
    words = []
    what = "median" if p == 0.5 else f"{p:g} quantile"
    if math.isnan(q):
        q = math.inf
        words.append(f"{what} not reached")
    if math.isnan(lo):
        if math.isinf(q):
            lo = math.inf
            words.append("lower limit not reached")
        else:
            words.append(
                "lower limit undefined (the curve drops to 0 where it reaches the quantile, and the "
                "lower confidence curve is undefined there, as R's NA)"
            )
    if math.isnan(hi):
        hi = math.inf
        words.append("upper limit not reached")
    return q, lo, hi, words


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
    ``log S``, R's ``fit$std.err``). ``medians`` has one row per arm: ``arm, n, events, competing,
    median, lower, upper`` by survfit's quantile rule (module docstring: ``inf`` when not reached, NaN
    for an undefined lower limit). :meth:`quantiles` gives other quantiles the same way.
    """

    outcome: str
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
        from ipstrial.results import display_label

        outcome = display_label(self.outcome)
        return f"Kaplan-Meier median of {outcome} (event: {self.event_column} == {self.cause}), by arm"

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
        lower, upper = _confint(surv, se_log, self.conf_type, z_critical(self.alpha))
        with np.errstate(invalid="ignore"):
            std_err = surv * se_log
        return {"survival": surv, "std.err": std_err, "lower": lower, "upper": upper}

    def survival_at(self, times: Sequence[float] | float) -> pd.DataFrame:
        """Kaplan-Meier survival at ``times``: one row per arm, one column per time.

        The curve is right-continuous: ``S(t)`` includes the events at ``t`` (as R's
        ``summary(fit, times = t)``). ``S = 1`` before the first recorded time; NaN after an arm's
        last follow-up time unless its curve has reached 0 (the curve is not estimable there).
        """
        values = time_values(times)
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
        values = time_values(times)
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

    def quantiles(self, probs: Sequence[float] | float = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Times by which a proportion ``p`` has had the event, with their intervals (R's ``quantile``).

        One row per arm and probability: ``arm, probability, quantile, lower, upper, note``, by
        survfit's quantile rule on the curve and on its confidence curves (module docstring): ``inf``
        when not reached, NaN for a lower limit that is undefined although the quantile is reached.
        """
        values = np.atleast_1d(np.asarray(probs, dtype=object)).ravel()
        ps = [check_probability(p, "probs") for p in values]
        records = []
        for arm in self.groups:
            tab = self._arm_table(arm)
            t = tab.time.to_numpy()
            for p in ps:
                q, lo, hi, words = _quantile_with_limits(
                    t, tab.survival.to_numpy(), tab.lower.to_numpy(), tab.upper.to_numpy(), p
                )
                records.append(
                    {
                        "arm": arm,
                        "probability": p,
                        "quantile": q,
                        "lower": lo,
                        "upper": hi,
                        "note": "; ".join(words),
                    }
                )
        return pd.DataFrame.from_records(
            records, columns=["arm", "probability", "quantile", "lower", "upper", "note"]
        )

    # -- rows ---------------------------------------------------------------------------------

    def rows(self) -> tuple[Row, ...]:
        out = []
        base_note = "; ".join(self.notes)
        for m in self.medians.itertuples(index=False):
            note = "; ".join(part for part in (m.note, base_note) if part)
            out.append(
                self._row(
                    m.arm,
                    "median_time",
                    m.median,
                    ci_low=m.lower,
                    ci_high=m.upper,
                    method=(
                        f"Kaplan-Meier median, Brookmeyer-Crowley interval from the {self.conf_type} "
                        "pointwise limits (R survfit's quantile rule)"
                    ),
                    n=int(m.n),
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
            risk = self.at_risk(values)
            for m in self.medians.itertuples(index=False):
                at = self._at(m.arm, values)
                n_risk = risk.loc[m.arm].to_numpy()
                for j, t in enumerate(values):
                    out.append(
                        self._row(
                            m.arm,
                            "survival",
                            at["survival"][j],
                            se=at["std.err"][j],
                            ci_low=at["lower"][j],
                            ci_high=at["upper"][j],
                            method=f"Kaplan-Meier, Greenwood variance, {self.conf_type} pointwise interval",
                            n=int(m.n),
                            variant=f"t={time_label(t)}",
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
        ci: bool = True,
        ylabel: str | None = None,
        *,
        colors: Mapping[str, str] | None = None,
        time_unit: str | None = None,
    ) -> Axes:
        """Step curves per arm with their pointwise intervals, censoring ticks and the numbers at risk.

        ``kind="survival"`` draws ``S(t)``; ``kind="incidence"`` draws ``1 - S(t)`` ("proportion
        employed"; with competing events censored this is not a cumulative incidence). ``ci=True``
        shades the pointwise intervals (:attr:`conf_type`). The number-at-risk table under the axis gives
        :meth:`at_risk` (participants with time ``>= t``) at the x ticks, one row per arm in its colour
        (:func:`ipstrial.report.figures.at_risk_table`). ``time_unit="months"`` shows the durations (in
        :attr:`unit`, e.g. days) as months since randomisation, ``months = days / (365.25 / 12)``, ticked
        0, 6, 12, ...; None keeps the recorded unit. ``colors`` maps each arm to its colour (default
        :func:`ipstrial.report.palette.arm_colors` of :attr:`groups`; pass ``arm_colors(trial.arms)``).
        Lines carry ``gid`` ``"km:<arm>"`` and ``"censor:<arm>"``, the table's texts
        ``"at_risk:<arm>:<time>"`` (time in :attr:`unit`).
        """
        kind = check_choice(kind, "kind", ("survival", "incidence"))
        import matplotlib.pyplot as plt

        from ipstrial.report.figures import at_risk_table, column_label, percent_axis, time_axis
        from ipstrial.report.palette import figure_style, resolve_colors

        with figure_style():
            palette = resolve_colors(colors, self.groups)
            if ax is None:
                rows = len(self.groups) + 1 if at_risk else 0
                _, ax = plt.subplots(figsize=(6.5, 3.6 + 0.23 * rows), layout="constrained")
            flip = kind == "incidence"
            last = float(self.table.time.max()) if len(self.table) else 1.0
            for arm in self.groups:
                tab = self._arm_table(arm)
                color = palette[arm]
                x = np.concatenate([[0.0], tab.time.to_numpy()])
                y = np.concatenate([[1.0], tab.survival.to_numpy()])
                if flip:
                    y = 1 - y
                ax.step(x, y, where="post", label=arm, gid=f"km:{arm}", color=color)
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
                    markersize=5,
                    markeredgewidth=0.8,
                    color=color,
                    gid=f"censor:{arm}",
                )
            ticks = time_axis(ax, self.unit, time_unit, last)
            ax.set_ylim(-0.02, 1.02)
            percent_axis(ax.yaxis)
            if ylabel is None:
                ylabel = (
                    "Proportion employed, % (1 - Kaplan-Meier)" if flip else "Proportion not yet employed, %"
                )
            ax.set_ylabel(ylabel)
            ax.set_title(f"Kaplan-Meier estimate: {column_label(self.outcome)}", loc="left")
            ax.legend(loc="lower right" if flip else "upper right", frameon=False)
            if at_risk:
                counts = self.at_risk(ticks)
                at_risk_table(
                    ax,
                    ticks,
                    {arm: [int(counts.loc[arm, t]) for t in ticks] for arm in self.groups},
                    palette,
                )
        return ax


# ---------------------------------------------------------------------------------------------
# kaplan_meier
# ---------------------------------------------------------------------------------------------


@shared_params
def kaplan_meier(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    times: Sequence[float] | float | None = None,
    conf_type: str = "log-log",
    alpha: float = 0.05,
    cause: int = 1,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_kaplan_meier",
) -> KaplanMeierResult:
    """Kaplan-Meier estimate of the time to event ``cause`` in each arm, as R's ``survfit``.

    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` over the distinct times ``t_j`` with ``d_j`` events of
    interest among the ``n_j`` at risk (time ``>= t_j``) (Kaplan & Meier 1958, JASA 53:457, eq. 2).
    Competing events (codes other than 0 and ``cause``) are censored at their times (said in the notes
    and in every row's ``extra``). Greenwood variance ``Var(log S(t)) = sum_{t_j <= t} d_j / (n_j (n_j -
    d_j))`` (Greenwood 1926). Pointwise ``1 - alpha`` intervals: ``conf_type="log-log"`` (R's
    ``conf.type="log-log"``: ``S^exp(∓ z se / log S)``, Kalbfleisch & Prentice 2002, eq. 1.16),
    ``"log"`` (``S exp(∓ z se)``, capped at 1) or ``"plain"`` (``S ∓ z S se``, clipped to [0, 1]).

    Median and quantiles: R's ``quantile.survfit`` rule on the curve and on its confidence curves
    (Brookmeyer & Crowley 1982, Biometrics 38:29-41); see the module docstring for the rule and for how
    R's NA is reported (``inf`` = not reached; NaN = a lower limit undefined where the curve drops to 0).

    Parameters
    ----------
    @params data duration arms
    times
        Times at which ``survival`` rows are reported (variant ``"t=<time>"``).
    conf_type
        ``"log-log"``, ``"log"`` or ``"plain"``.
    @params alpha cause event_codes unit timefix id analysis

    Rows: ``median_time`` per arm (contrast = arm); with ``times``, also ``survival`` per arm and time
    (variant ``"t=<time>"``, ``extra``: ``time``, ``n_risk``).

    Raises
    ------
    TrialDataError
        Bad durations, event codes, ids or arms (from :func:`~ipstrial.survival._inputs.prepare_survival`).
    ParameterError
        Bad options.
    """
    conf_type = check_choice(conf_type, "conf_type", CONF_TYPES)
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    time_points: tuple[float, ...] = ()
    if times is not None:
        time_points = tuple(time_values(times, nonnegative=True, once=True).tolist())
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
        need_control=False,
        min_arms=1,
        unit=unit,
        timefix=timefix,
    )
    z = z_critical(alpha)
    tables, medians = [], []
    for label in sd.groups:
        keep = sd.arms == label
        t, status, competing = sd.time[keep], sd.status[keep], sd.competing[keep]
        steps = _km_steps(t, status, competing)
        lower, upper = _confint(steps["survival"], steps["se_log"], conf_type, z)
        frame = pd.DataFrame({"arm": label, **steps, "lower": lower, "upper": upper})
        tables.append(frame)
        median, low, high, words = _quantile_with_limits(steps["time"], steps["survival"], lower, upper, 0.5)
        medians.append(
            dict(
                arm=label,
                n=int(t.size),
                events=int(status.sum()),
                competing=int(competing.sum()),
                median=median,
                lower=low,
                upper=high,
                note="; ".join(words),
            )
        )
    table = pd.concat(tables, ignore_index=True)
    table = table[[*TABLE_COLUMNS, "lower", "upper", "se_log"]]
    meaning = (
        f"the curve is the survival free of event {sd.cause} had competing events been removable, and 1 - KM "
        "overstates the proportion with the event when competing events occur (use cumulative incidence "
        "for that)"
    )
    notes = (competing_censored_note(sd, "all arms", meaning), *sd.notes)
    return KaplanMeierResult(
        outcome=sd.duration,
        event_column=sd.event_column,
        cause=sd.cause,
        groups=sd.groups,
        table=table,
        medians=pd.DataFrame(medians),
        conf_type=conf_type,
        alpha=alpha,
        unit=unit,
        times=time_points,
        analysis=analysis,
        notes=notes,
        inputs=sd.inputs,
    )
