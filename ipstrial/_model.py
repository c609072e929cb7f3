"""The generating model of the synthetic trial: linear predictors, the covariate law and the calibration.

:func:`linear_predictor` evaluates a scenario's log-linear terms; :func:`covariate_grid` is the exact discrete
covariate law (every combination and its probability); :func:`job_by` the probability of a first job by a day
given the covariates (quadrature on the cumulative-hazard scale); :func:`calibrate` solves each arm's hazard
scale so that its 18-month proportion is the scenario's exactly. :mod:`ipstrial.synthetic` draws trials from
this model and :mod:`ipstrial._truth` computes its exact truths (the equations are in
:mod:`ipstrial.synthetic`'s docstring).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.synthetic import Scenario

DAYS_18M = 548
"""Days in 18 months (548 = round(18 x 365.25 / 12))."""

Effects = tuple[tuple[str, float], ...]
_PLAIN_TERMS = ("age_per_10y", "female", "employed_prev5y", "substance_use")
_LEVEL_TERMS = {"site": "sites", "diagnosis": "diagnoses", "education": "educations"}


def _read_only(values: np.ndarray) -> np.ndarray:
    """Mark an array held by a cache read-only (a caller cannot change what later calls get)."""
    values.flags.writeable = False
    return values


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def linear_predictor(scenario: Scenario, effects: Effects, cov: Mapping[str, np.ndarray]) -> np.ndarray:
    """``η(x) = Σ β_j x_j`` for covariates given as codes (see :func:`_draw_covariates`)."""
    eta = np.zeros(len(cov["age"]))
    for term, beta in effects:
        if term == "age_per_10y":
            eta += beta * (cov["age"] - scenario.age_mean) / 10.0
        elif term in _PLAIN_TERMS:
            eta += beta * cov[term]
        else:
            factor, _, level = term.partition(":")
            eta += beta * (cov[factor] == getattr(scenario, _LEVEL_TERMS[factor]).index(level))
    return eta


@functools.lru_cache(maxsize=16)
def age_distribution(mean: float, sd: float, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole-year ages ``low..high`` and their probabilities.

    Age is ``floor(A)`` for ``A`` normal(μ, σ) truncated to ``[low, high + 1)``; μ and σ are
    solved (Newton-type root finding) so that the recorded whole-year age has exactly the
    target ``mean`` and ``sd``.
    """
    from scipy import optimize, special

    ages = np.arange(low, high + 1, dtype=float)

    def pmf(mu: float, sigma: float) -> np.ndarray:
        cdf = special.ndtr((np.append(ages, high + 1.0) - mu) / sigma)
        p = np.diff(cdf)
        return p / p.sum()

    def moments(params: np.ndarray) -> np.ndarray:
        p = pmf(params[0], np.exp(params[1]))
        m = p @ ages
        return np.array([m - mean, np.sqrt(p @ (ages - m) ** 2) - sd])

    sol = optimize.root(moments, x0=np.array([mean + 0.5, np.log(sd)]), tol=1e-13)
    if not sol.success or np.max(np.abs(moments(sol.x))) > 1e-9:
        raise ValueError(
            f"no truncated normal gives whole-year ages {low}-{high} with mean {mean} and SD {sd}"
        )
    return _read_only(ages), _read_only(pmf(sol.x[0], np.exp(sol.x[1])))


def _rates(scenario: Scenario) -> tuple[float, float]:
    """Reference competing-exit rate μ2 and loss-to-follow-up rate c, per day."""
    mu2 = -np.log1p(-scenario.competing_18m) / DAYS_18M
    c = -np.log1p(-scenario.loss_18m) / DAYS_18M
    return float(mu2), float(c)


def covariate_grid(scenario: Scenario) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every covariate combination (as codes) and its probability: the exact covariate law."""
    ages, age_p = age_distribution(scenario.age_mean, scenario.age_sd, *scenario.age_range)
    factors = [
        ("site", np.arange(len(scenario.sites)), np.asarray(scenario.site_probs)),
        ("female", np.array([0, 1]), np.array([1 - scenario.p_female, scenario.p_female])),
        ("diagnosis", np.arange(len(scenario.diagnoses)), np.asarray(scenario.diagnosis_probs)),
        ("education", np.arange(len(scenario.educations)), np.asarray(scenario.education_probs)),
        (
            "employed_prev5y",
            np.array([0, 1]),
            np.array([1 - scenario.p_employed_prev5y, scenario.p_employed_prev5y]),
        ),
        (
            "substance_use",
            np.array([0, 1]),
            np.array([1 - scenario.p_substance_use, scenario.p_substance_use]),
        ),
        ("age", ages, age_p),
    ]
    mesh = np.meshgrid(*[v for _, v, _ in factors], indexing="ij")
    weights = np.ones_like(mesh[0], dtype=float)
    for i, (_, _, p) in enumerate(factors):
        shape = [1] * len(factors)
        shape[i] = len(p)
        weights = weights * p.reshape(shape)
    grid = {name: m.ravel() for (name, _, _), m in zip(factors, mesh, strict=True)}
    return grid, weights.ravel()


def job_by(
    scenario: Scenario,
    lam: float,
    r1: np.ndarray,
    r2: np.ndarray,
    c: float,
    t: float,
    *,
    shape: float | None = None,
) -> np.ndarray:
    """``P(first job observed by day t | x) = ∫_0^t h1(u) exp(-H1(u) - H2(u) - c u) du``.

    On the cumulative-hazard scale ``v = H1(u) = λ r1 u^k`` the integral is
    ``∫_0^{H1(t)} exp(-v - (r2 + c) (v / (λ r1))^(1/k)) dv``; the upper limit is capped at 40
    (the tail beyond is below 1e-17) and the range split into panels at 0.1 %, 2 % and 20 %
    with a 24-node Gauss-Legendre rule in each. For ``k > 1`` the term ``v^(1/k)`` has an unbounded
    derivative at 0, so three more panels grade the range towards 0 (at 1e-6, 1e-5 and 1e-4 of it).
    The error is below 1e-12 over hazard scales 1e-6 to 100 and shapes 0.5 to 3 (tests compare with
    adaptive quadrature). ``shape`` is the arm's Weibull shape ``k`` (default: the scenario's one shape;
    required when the arms have their own).
    """
    k = _shape(scenario, shape)
    a = lam * r1
    upper = np.minimum(a * float(t) ** k, 40.0)
    nodes, w = _PANEL_RULE if k <= 1.0 else _GRADED_RULE
    # (v / a)^(1/k) = (upper / a)^(1/k) * node^(1/k): no elementwise power on the full matrix
    time_scale = (upper / a) ** (1.0 / k)
    exponent = (
        upper[:, None] * nodes[None, :] + ((r2 + c) * time_scale)[:, None] * (nodes ** (1.0 / k))[None, :]
    )
    return np.exp(-exponent) @ w * upper


def _shape(scenario: Scenario, shape: float | None) -> float:
    """The Weibull shape to use: ``shape`` if given, else the scenario's one shape."""
    if shape is not None:
        return float(shape)
    if isinstance(scenario.job_shape, tuple):
        raise ValueError(
            f"scenario {scenario.name!r} has one job shape per arm {scenario.job_shape}; "
            "pass the arm's shape="
        )
    return scenario.job_shape


def missing_predictor(scenario: Scenario, cov: Mapping[str, np.ndarray], arm: np.ndarray) -> np.ndarray:
    """``η_m(x) + η_m,a(x)``: the covariate part of the log odds of interview non-response.

    ``arm`` holds arm indices (into ``scenario.arms``), one per row of ``cov`` or a single one.
    """
    eta = linear_predictor(scenario, scenario.missing_effects, cov)
    for label, effects in scenario.missing_arm_effects:
        mine = np.asarray(arm) == scenario.arms.index(label)
        eta = eta + np.where(mine, linear_predictor(scenario, effects, cov), 0.0)
    return eta


def _panel_rule(edges: tuple[float, ...] = (0.0, 0.001, 0.02, 0.2, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1]: 24-point Gauss-Legendre in each panel between ``edges``."""
    x, w = np.polynomial.legendre.leggauss(24)
    edges_ = np.asarray(edges)
    lo, hi = edges_[:-1, None], edges_[1:, None]
    return (lo + (x + 1.0) * (hi - lo) / 2.0).ravel(), (w * (hi - lo) / 2.0).ravel()


_PANEL_RULE = _panel_rule()
_GRADED_RULE = _panel_rule((0.0, 1e-6, 1e-5, 1e-4, 0.001, 0.02, 0.2, 1.0))


@dataclass(frozen=True, eq=False)
class Calibration:
    """Quantities solved from a scenario: the job-hazard scale per arm and cost normalisers."""

    lam: np.ndarray
    grid: dict[str, np.ndarray]
    weights: np.ndarray
    employed: np.ndarray  # P(employed_18m | x, a), shape (arms, grid)
    cost_norm: dict[str, np.ndarray]  # E_a[v_c], shape (arms,)


@functools.lru_cache(maxsize=16)
def calibrate(scenario: Scenario) -> Calibration:
    """Solve ``λ_a`` so that ``Σ_x P(x) P(job by 548 | x, a) = p_employed_18m[a]`` exactly.

    Each arm with its own Weibull shape ``k_a`` (:attr:`Scenario.job_shapes`), by Brent's method on
    ``log λ_a`` (scipy.optimize.brentq, to 1e-13) with :func:`job_by`.
    """
    from scipy import optimize

    grid, weights = covariate_grid(scenario)
    r1 = np.exp(linear_predictor(scenario, scenario.job_effects, grid))
    mu2, c = _rates(scenario)
    r2 = mu2 * np.exp(linear_predictor(scenario, scenario.competing_effects, grid))
    lam = np.empty(len(scenario.arms))
    employed = np.empty((len(scenario.arms), len(weights)))
    for i, (target, k) in enumerate(zip(scenario.p_employed_18m, scenario.job_shapes, strict=True)):

        def gap(log_lam: float, target: float = target, k: float = k) -> float:
            return float(weights @ job_by(scenario, np.exp(log_lam), r1, r2, c, DAYS_18M, shape=k)) - target

        log_lam = optimize.brentq(gap, -30.0, 5.0, xtol=1e-13, maxiter=500)
        lam[i] = np.exp(log_lam)
        employed[i] = job_by(scenario, lam[i], r1, r2, c, DAYS_18M, shape=k)
    cost_norm = {}
    for category, effects in scenario.cost_effects:
        v = np.exp(linear_predictor(scenario, effects, grid))
        rho = dict(scenario.cost_employed_ratio)[category]
        cost_norm[category] = (employed * v * rho + (1 - employed) * v) @ weights
    for values in (lam, weights, employed, *grid.values(), *cost_norm.values()):
        _read_only(values)
    return Calibration(lam, grid, weights, employed, cost_norm)
