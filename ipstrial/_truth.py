"""The true value of every estimand of a :class:`~ipstrial.synthetic.Scenario`, computed exactly.

Expectations over participants are finite sums over the discrete covariate law
(:func:`~ipstrial._model.covariate_grid`: site x sex x diagnosis x education x previous
employment x substance use x whole-year age, 10,152 cells for the default scenario); integrals
over time use Gauss-Legendre quadrature in ``s = t^k``, where the Weibull integrands are smooth.
Numerical error is below 1e-8 relative (tests compare with adaptive quadrature and with large
simulated samples).

Time-to-event truths are limits of the estimators on the recorded whole-day scale:

* Kaplan-Meier with competing exits and losses censored converges to
  ``S*(t) = exp(-Λ(t))`` with the population cause-specific cumulative hazard
  ``Λ(t) = ∫_0^t E_x[h1(u|x) S12(u|x)] / E_x[S12(u|x)] du``, ``S12 = exp(-H1 - H2)``; losses to
  follow-up are independent of ``x`` and cancel (Kalbfleisch & Prentice 2002, sec. 8.2).
* Restricted mean time to the first job up to ``τ`` whole days: with events recorded on day
  ``ceil(T)``, the Kaplan-Meier step function equals ``S*(d)`` on ``[d, d+1)``, so the estimand is
  ``Σ_{d=0}^{τ-1} S*(d)``, about ``(1 - S*(τ))/2`` days above the continuous-time integral.
* Aalen-Johansen cumulative incidence of the first job: ``F1(t) = E_x ∫_0^t h1 S12 du``.
* Hazard ratio: the cause-specific hazard ratio conditional on all generating covariates,
  ``λ_a / λ_control`` (what a correctly specified Cox model estimates; marginal hazard ratios are
  not constant in time under this model and have no single true value). Only for a contrast whose
  arms share the job shape ``k``: with shapes ``k_a != k_c`` (:meth:`~ipstrial.synthetic.Scenario.nonph`)
  the conditional hazard ratio ``(λ_a k_a)/(λ_c k_c) t^(k_a - k_c)`` changes over time, a Cox model
  estimates a follow-up-dependent average of it (Struthers & Kalbfleisch 1986, Biometrika 73:363) and
  there is no true value to compare with, so the table has no ``hazard_ratio`` row for that contrast.

Weeks and hours need ``P(job recorded by day d | x)`` only at the 79 weekly days ``d = 548 - 7j`` and
only through sums over ``x`` with known weights, so :func:`time_truths` returns those weighted sums
(``moments``), never a cells-by-days table; cells with the same job and competing rates are merged
before the quadrature (an exact regrouping of the sums).

Net monetary benefit: ``INMB = λ ΔQALY - Δcost_total`` at ``λ =``
:data:`~ipstrial.synthetic.REFERENCE_WTP` (200,000 DKK per QALY), from the exact QALY and cost truths
(Stinnett & Mullahy 1998, Med Decis Making 18:S68); its outcome label is that of the rows of
:func:`ipstrial.economics.cost_effectiveness`, ``"cost_total, qaly_18m"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial import _model
from ipstrial.results import contrast_label

if TYPE_CHECKING:
    from ipstrial.synthetic import Scenario

_EXACT = "exact: sum over the covariate law, Gauss-Legendre quadrature in time"
_DESIGN = "exact: fixed by the scenario's parameters"


@dataclass(frozen=True, eq=False)
class TimeTruths:
    """Time-to-event quantities of one arm (see the module docstring)."""

    survival: np.ndarray  # S*(d), d = 0..days: the Kaplan-Meier limit
    incidence: float  # Aalen-Johansen limit F1(days), no losses to follow-up
    recorded: np.ndarray  # recorded[r, j] = Σ_x moments[r, x] P(job recorded by day record_days[j] | x)


_CHUNK = 256
"""Rate pairs per block of the quadrature (a block of 256 x 2,192 nodes is 4.5 MB, in cache)."""


def time_truths(
    scenario: Scenario,
    lam: float,
    r1: np.ndarray,
    r2: np.ndarray,
    weights: np.ndarray,
    loss_rate: float,
    days: int,
    *,
    shape: float | None = None,
    moments: np.ndarray | Sequence[np.ndarray] = (),
    record_days: Sequence[int] = (),
) -> TimeTruths:
    """One pass over whole-day panels ``[(d-1)^k, d^k]`` in ``s = u^k`` (4-node Gauss-Legendre each).

    With ``a = λ r1(x)`` and ``E(x, s) = exp(-a s - r2(x) s^(1/k))`` (job and competing exit):
    the Kaplan-Meier limit has hazard increments ``Σ_x P(x) a E / Σ_x P(x) E ds``; the
    Aalen-Johansen limit is ``Σ_x P(x) ∫ a E ds``; the recorded job by day ``d`` adds the loss
    factor ``exp(-c s^(1/k))``, the same for every ``x``:
    ``recorded[r, j] = ∫_0^{d_j^k} Σ_x moments[r, x] a E exp(-c s^(1/k)) ds`` with ``d_j = record_days[j]``.
    Accurate to about 2e-10 (tested against adaptive quadrature).

    Every sum over ``x`` is a matrix product ``(weights, weights a, moments a) @ E``; cells with the same
    ``(r1, r2)`` are merged first (their columns summed), and ``E`` is formed block by block in one
    buffer, so the work is ``pairs x 4 days`` exponentials and nothing of that size is kept.
    ``shape`` is the arm's Weibull shape (default: the scenario's one shape).
    """
    from ipstrial._model import _shape

    k = _shape(scenario, shape)
    x, wq = np.polynomial.legendre.leggauss(4)
    edges = np.arange(days + 1, dtype=float) ** k
    lo, hi = edges[:-1], edges[1:]
    s = (lo[:, None] + (x + 1.0) * (hi - lo)[:, None] / 2.0).ravel()
    ds = (wq[None, :] * (hi - lo)[:, None] / 2.0).ravel()
    t = s ** (1.0 / k)
    loss = np.exp(-loss_rate * t)
    a_cell = lam * r1
    rows = np.vstack([weights, weights * a_cell, *[np.asarray(m, dtype=float) * a_cell for m in moments]])
    pairs, inverse = np.unique(np.column_stack([r1, r2]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    merged = np.vstack([np.bincount(inverse, weights=row, minlength=len(pairs)) for row in rows])
    a, b = lam * pairs[:, 0], pairs[:, 1]
    sums = np.zeros((len(rows), len(s)))
    block, scratch = np.empty((_CHUNK, len(s))), np.empty((_CHUNK, len(s)))
    for start in range(0, len(pairs), _CHUNK):
        stop = min(start + _CHUNK, len(pairs))
        e, other = block[: stop - start], scratch[: stop - start]
        np.multiply(a[start:stop, None], s[None, :], out=e)
        np.multiply(b[start:stop, None], t[None, :], out=other)
        e += other
        np.exp(np.negative(e, out=e), out=e)
        sums += merged[:, start:stop] @ e
    denominator, numerator = sums[0], sums[1]
    hazard = (numerator / denominator * ds).reshape(days, 4).sum(axis=1)
    survival = np.exp(-np.concatenate([[0.0], np.cumsum(hazard)]))
    density = (sums[2:] * (loss * ds)[None, :]).reshape(len(rows) - 2, days, 4).sum(axis=2)
    recorded = np.cumsum(density, axis=1)[:, np.asarray(record_days, dtype=np.int64) - 1]
    return TimeTruths(survival, float(numerator @ ds), recorded)


def scenario_truth(scenario: Scenario) -> pd.DataFrame:
    """Rows ``outcome, estimand, contrast, value, method, definition`` for ``scenario``."""
    from ipstrial import synthetic as syn

    cal = _model.calibrate(scenario)
    grid, w = cal.grid, cal.weights
    arms = scenario.arms
    ctrl = arms.index(scenario.control)
    treated = [i for i in range(len(arms)) if i != ctrl]
    mu2, c = _model._rates(scenario)
    r1 = np.exp(_model.linear_predictor(scenario, scenario.job_effects, grid))
    r2 = mu2 * np.exp(_model.linear_predictor(scenario, scenario.competing_effects, grid))
    tau = syn.DAYS_18M
    rows: list[tuple[str, str, str, float, str, str]] = []

    def per_arm(outcome: str, estimand: str, values: np.ndarray, method: str, definition: str) -> None:
        rows.extend(
            (outcome, estimand, arm, float(v), method, definition)
            for arm, v in zip(arms, values, strict=True)
        )

    def contrasts(
        outcome: str, estimand: str, values: np.ndarray, kind: str, method: str, definition: str
    ) -> None:
        for i, arm in enumerate(arms):
            if i == ctrl:
                continue
            value = values[i] - values[ctrl] if kind == "difference" else values[i] / values[ctrl]
            rows.append(
                (outcome, estimand, contrast_label(arm, scenario.control), float(value), method, definition)
            )

    # baseline covariates
    ages = grid["age"]
    rows.append(("age", "mean", "all", float(w @ ages), _EXACT, "mean whole-year age at randomisation"))
    rows.append(("sex", "proportion", "all", float(w @ grid["female"]), _DESIGN, "proportion of women"))

    # employment or education within 18 months
    p = np.array([row @ w for row in cal.employed])  # arm by arm: equal arms give equal bits (the null)
    per_arm("employed_18m", "proportion", p, _EXACT, "P(first employment or education recorded by day 548)")
    contrasts(
        "employed_18m", "risk_difference", p, "difference", _EXACT, "difference of marginal proportions"
    )
    contrasts("employed_18m", "risk_ratio", p, "ratio", _EXACT, "ratio of marginal proportions")
    odds = p / (1 - p)
    contrasts("employed_18m", "odds_ratio", odds, "ratio", _EXACT, "ratio of marginal odds")

    # time to first employment or education; weeks and hours need P(job recorded by day d | x) at the
    # weekly days d = 548 - 7j, j = 0..78 (m = floor((548 - d)/7) + 1 = #{j >= 0 : d <= 548 - 7j}), only
    # through Σ_x P(x) q(x) (·) and Σ_x P(x) q(x) w(x) (·): the moments of time_truths
    record_days = [tau - 7 * j for j in range(tau // 7 + 1)]
    shares, per_weeks = [], []
    for i in range(len(arms)):
        shares.append(
            _model._expit(
                _model._logit(scenario.week_share[i])
                + _model.linear_predictor(scenario, scenario.week_effects, grid)
            )
        )
        per_weeks.append(
            scenario.hours_per_week[i]
            * np.exp(_model.linear_predictor(scenario, scenario.hours_effects, grid))
        )
    times = [
        time_truths(
            scenario,
            lam,
            r1,
            r2,
            w,
            c,
            tau,
            shape=k,
            moments=(w * shares[i], w * shares[i] * per_weeks[i]),
            record_days=record_days,
        )
        for i, (lam, k) in enumerate(zip(cal.lam, scenario.job_shapes, strict=True))
    ]
    survival = np.array([tt.survival[tau] for tt in times])
    restricted = np.array([tt.survival[:tau].sum() for tt in times])
    incidence = np.array([tt.incidence for tt in times])
    per_arm(
        "days_to_job",
        "survival",
        survival,
        _EXACT,
        "Kaplan-Meier limit at day 548, competing exits and losses censored",
    )
    per_arm(
        "days_to_job",
        "rmst",
        restricted,
        _EXACT,
        "restricted mean whole days to first job up to day 548 (Kaplan-Meier limit)",
    )
    contrasts(
        "days_to_job", "rmst_difference", restricted, "difference", _EXACT, "difference of RMST at day 548"
    )
    per_arm(
        "days_to_job",
        "cumulative_incidence",
        incidence,
        _EXACT,
        "Aalen-Johansen limit at day 548, competing exit as competing event",
    )
    # a conditional hazard ratio is constant in time only between arms with the same job shape
    shapes = scenario.job_shapes
    for i in treated:
        if shapes[i] == shapes[ctrl]:
            rows.append(
                (
                    "days_to_job",
                    "hazard_ratio",
                    contrast_label(arms[i], scenario.control),
                    float(cal.lam[i] / cal.lam[ctrl]),
                    _DESIGN,
                    "cause-specific hazard ratio conditional on all generating covariates",
                )
            )

    # weeks and hours: with y(x) = P(employed by 548 | x) and available(x) = Σ_j P(job recorded by d_j | x),
    # E[weeks | x] = y + q (available - y) and E[hours | x] = w(x) E[weeks | x]
    weeks = np.empty(len(arms))
    hours = np.empty(len(arms))
    missing = np.empty(len(arms))
    for i in range(len(arms)):
        employed = cal.employed[i]
        stay = w * employed * (1.0 - shares[i])
        available_share, available_hours = times[i].recorded.sum(axis=1)
        weeks[i] = stay.sum() + available_share
        hours[i] = stay @ per_weeks[i] + available_hours
        missing[i] = w @ _model._expit(
            _model._logit(scenario.hours_missing[i])
            + _model.missing_predictor(scenario, grid, np.full(len(w), i))
        )
    per_arm(
        "weeks_employed_18m", "mean", weeks, _EXACT, "mean weeks in employment or education within 18 months"
    )
    contrasts("weeks_employed_18m", "mean_difference", weeks, "difference", _EXACT, "difference of means")
    contrasts("weeks_employed_18m", "rate_ratio", weeks, "ratio", _EXACT, "ratio of mean weeks")
    per_arm(
        "hours_18m",
        "mean",
        hours,
        _EXACT,
        "mean hours in employment or education within 18 months, "
        "complete data (before interview non-response)",
    )
    contrasts(
        "hours_18m", "mean_difference", hours, "difference", _EXACT, "difference of complete-data means"
    )
    per_arm(
        "hours_18m_missing", "proportion", missing, _EXACT, "P(hours_18m missing: interview non-response)"
    )

    # costs and transfers
    total = np.zeros(len(arms))
    for category, means in scenario.cost_means:
        values = np.asarray(means, dtype=float)
        total += values
        per_arm(category, "mean", values, _DESIGN, "mean cost over 18 months, DKK")
        contrasts(category, "delta_cost", values, "difference", _DESIGN, "difference of mean costs, DKK")
    per_arm("cost_total", "mean", total, _DESIGN, "mean total cost over 18 months (sum of categories), DKK")
    contrasts("cost_total", "delta_cost", total, "difference", _DESIGN, "difference of mean total costs, DKK")
    transfers = scenario.benefit_per_week * (syn.WEEKS_18M - scenario.benefit_offset * weeks)
    per_arm("transfers_18m", "mean", transfers, _EXACT, "mean transfer payments over 18 months, DKK")
    contrasts(
        "transfers_18m", "delta_cost", transfers, "difference", _EXACT, "difference of mean transfers, DKK"
    )

    # EQ-5D index and QALYs
    span = 1.0 - scenario.utility_min
    d0 = syn.utility_means(scenario, grid)
    u0 = 1.0 - span * float(w @ d0)
    u18 = np.empty(len(arms))
    for i in range(len(arms)):
        arm_index = np.full(len(d0), i)
        loss = cal.employed[i] * syn.utility_means_18m(scenario, d0, arm_index, np.ones(len(d0))) + (
            1 - cal.employed[i]
        ) * syn.utility_means_18m(scenario, d0, arm_index, np.zeros(len(d0)))
        u18[i] = 1.0 - span * float(w @ loss)
    per_arm("eq5d_0", "mean", np.full(len(arms), u0), _EXACT, "mean EQ-5D index at baseline")
    per_arm("eq5d_18m", "mean", u18, _EXACT, "mean EQ-5D index at 18 months")
    contrasts(
        "eq5d_18m", "mean_difference", u18, "difference", _EXACT, "difference of mean EQ-5D at 18 months"
    )
    qaly = 1.5 * (u0 + u18) / 2.0
    per_arm(
        "qaly_18m",
        "mean",
        qaly,
        _EXACT,
        "QALYs over 18 months: area under the straight line from "
        "baseline to 18-month EQ-5D, 1.5 x (u0 + u18) / 2",
    )
    contrasts(
        "qaly_18m", "delta_effect", qaly, "difference", _EXACT, "difference of mean QALYs over 18 months"
    )

    # incremental net monetary benefit at the reference willingness to pay
    lam_wtp = syn.REFERENCE_WTP
    for i in treated:
        rows.append(
            (
                "cost_total, qaly_18m",
                "inmb",
                contrast_label(arms[i], scenario.control),
                float(lam_wtp * (qaly[i] - qaly[ctrl]) - (total[i] - total[ctrl])),
                _EXACT,
                f"incremental net monetary benefit λ ΔQALY - Δcost_total at λ = {lam_wtp:,.0f} DKK per QALY",
            )
        )

    return pd.DataFrame(rows, columns=["outcome", "estimand", "contrast", "value", "method", "definition"])
