"""Power and sample size by simulation: the real analysis on replicate synthetic trials.

The power of an analysis at a trial size is the share of replicate trials in which it rejects its null
hypothesis. :func:`simulated_power` draws ``reps`` trials of a :class:`~ipstrial.synthetic.Scenario` through
the validation engine (:func:`ipstrial.validation.run_study`, the same streams, backends and kernels) and
counts, for one estimator and contrast, the replicates with ``p < alpha / comparisons``. A replicate whose
analysis fails counts as not rejecting (the power of the analysis as it would be run) and is reported.

* Given ``n``: the power at ``n`` participants, its Monte Carlo SE ``sqrt(P (1 - P) / R)`` and the
  Clopper-Pearson 95 % interval of the rejection count (Morris, White & Crowther, Stat Med 2019;38:2074,
  table 6).
* Given ``power``: the trial size at which the simulated power curve reaches the target. The trials of
  different sizes are not nested (a trial of 603 is not a trial of 600 with three more participants), so the
  powers at neighbouring sizes are estimated almost independently and the estimated curve wobbles by its
  Monte Carlo error: bisecting it to one allocation cycle would be spurious precision. Instead, after
  bracketing the target (sizes doubling from 8 allocation cycles), the power is simulated at
  :data:`GRID` sizes across the bracket and the binomial probit model ``P(reject | n) = Φ(a + b √n)`` is
  fitted to all rejection counts of the bracket by maximum likelihood (Fisher scoring). The model is the form
  of the z-test's power, ``Φ((δ √n - z σ0) / σ1)``, exact for it and close for the other tests of a
  difference. The answer is ``n* = ((Φ⁻¹(target) - a) / b)²`` rounded up to whole allocation cycles
  (``sum(scenario.ratio)`` participants), with a delta-method 95 % interval for ``n*`` from the fit's
  information matrix; the power at the answer is then simulated and reported (Burton et al., Stat Med
  2006;25:4279; Landau & Stahl, Stat Methods Med Res 2013;22:324, on simulation-based sample size). Every
  size tried, with its fitted power, is kept in :attr:`SimulatedPower.curve`.
* Given ``n`` and ``power`` with ``scenario`` a function ``effect -> Scenario``: the smallest effect in
  ``effect_range`` whose power reaches the target, by bisection on the effect. Here the trials share their
  random numbers (same size, same seed: only the effect changes, and each trial's outcomes move with it), so
  the estimated power changes smoothly with the effect and bisection is sound.

Each design point uses the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipstrial._checks import ParameterError, check_alpha, check_count, check_probability

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.synthetic import Scenario

__all__ = ["SimulatedPower", "simulated_power"]

_MAX_TOTAL = 200_000
"""The largest trial size a search for ``n`` tries (participants)."""

GRID = 5
"""Sizes simulated inside the bracket of the target power, besides its two ends, for the probit fit."""

_ENGINE_KEYS = frozenset({"workers", "scheduler", "client", "connect_timeout", "batch_size", "fast", "quiet"})


@dataclass(frozen=True)
class SimulatedPower:
    """Power by simulation at one design point, and the search that found it.

    Attributes
    ----------
    scenario, estimator, contrast
        What was simulated and which analysis's test counts.
    solved
        ``"power"``, ``"n"`` or ``"effect"``.
    n_total
        Participants per trial (``n_per_arm`` when the arms are of equal size, else None).
    power, mcse, ci_low, ci_high
        The share of replicates rejecting, its Monte Carlo SE and Clopper-Pearson 95 % interval.
    target
        The power asked for (None when solving for the power).
    n_ci_low, n_ci_high
        When solving for ``n``: the delta-method 95 % interval of the trial size at which the fitted power
        curve reaches the target (participants, before rounding up): the Monte Carlo uncertainty of ``n``.
    effect
        The effect solved for (None unless ``solved == "effect"``).
    reps, failed, seed
        Replicates per size, of them failed (counted as not rejecting), and the seed.
    alpha, comparisons
        The family's two-sided level and the comparisons sharing it (each test at ``alpha / comparisons``).
    curve
        Every design point simulated: ``n_total``, ``effect``, ``power``, ``mcse``, ``failed``, and when
        solving for ``n`` the ``fitted`` power of the probit curve (NaN outside the bracket it was fitted to).
    """

    scenario: str
    estimator: str
    contrast: str
    solved: str
    n_total: int
    n_per_arm: int | None
    power: float
    mcse: float
    ci_low: float
    ci_high: float
    target: float | None
    effect: float | None
    n_ci_low: float | None
    n_ci_high: float | None
    reps: int
    failed: int
    seed: int
    alpha: float
    comparisons: int
    curve: pd.DataFrame = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-safe dictionary (the curve as a list of rows)."""
        from ipstrial.results import json_safe

        out = {k: json_safe(getattr(self, k)) for k in self.__dataclass_fields__ if k != "curve"}
        out["curve"] = [{k: json_safe(v) for k, v in row.items()} for row in self.curve.to_dict("records")]
        return out

    def summary(self) -> str:
        """A few lines for humans."""
        level = f"p < {self.alpha / self.comparisons:.4g}" + (
            f" (alpha {self.alpha:g} over {self.comparisons} comparisons)" if self.comparisons > 1 else ""
        )
        size = f"n = {self.n_total}" + (f" ({self.n_per_arm} per arm)" if self.n_per_arm else "")
        head = {
            "power": "Power by simulation",
            "n": f"Sample size by simulation for power {self.target:g}" if self.target else "",
            "effect": f"Detectable effect by simulation for power {self.target:g}" if self.target else "",
        }[self.solved]
        lines = [
            f"{head}: {self.estimator}, {self.contrast}, scenario {self.scenario}, {level}",
            *(
                [
                    f"  fitted power curve Phi(a + b sqrt(n)) reaches {self.target:g} at n = "
                    f"{self.n_ci_low:.0f} to {self.n_ci_high:.0f} (95 % CI), rounded up to whole allocation "
                    "cycles:"
                ]
                if self.solved == "n" and self.n_ci_low is not None
                else []
            ),
            f"  {size}"
            + (f", effect {self.effect:.4g}" if self.effect is not None else "")
            + f": power {self.power:.3f} (MCSE {self.mcse:.3f}; 95 % CI {self.ci_low:.3f} to "
            f"{self.ci_high:.3f}), {self.reps} replicate trials, seed {self.seed}"
            + (f", {self.failed} failed (counted as not rejecting)" if self.failed else ""),
        ]
        if len(self.curve) > 1:
            lines.append(
                "  sizes tried: "
                + ", ".join(
                    f"{int(r.n_total)}"
                    + (f" / {r.effect:.4g}" if self.solved == "effect" else "")
                    + f": {r.power:.3f}"
                    for r in self.curve.itertuples()
                )
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _rejections(
    scenario: Any, n: int, estimator: str, contrast: str, level: float, reps: int, seed: int, engine: dict
) -> tuple[int, int]:
    """Replicates (of ``reps``) whose ``estimator`` rejects for ``contrast`` at ``level``, and failures."""
    from ipstrial.validation import run_study

    study = run_study(scenario, n=n, reps=reps, seed=seed, estimators=[estimator], **engine)
    records = study.records
    known = sorted(set(records.contrast) - {""})
    if known and contrast not in known:
        raise ParameterError(f"estimator {estimator!r} has no contrast {contrast!r}; it has {known}")
    rows = records[(records.error == "") & (records.contrast == contrast)]
    if len(rows) and rows.p_value.isna().all():
        raise ParameterError(f"estimator {estimator!r} gives no p-value for {contrast!r}: it has no test")
    rejected = int((rows.p_value < level).sum())
    # failed for this contrast: the call raised (no contrast) or its record had no finite result
    failed = int(records.loc[(records.error != "") & records.contrast.isin(["", contrast]), "rep"].nunique())
    return rejected, failed


def probit_power_curve(
    sizes: Any, rejections: Any, reps: int, target: float
) -> tuple[float, float, float, tuple[float, float]]:
    """Fit ``P(reject | n) = Φ(a + b √n)`` to rejection counts and solve it for the target power.

    Binomial maximum likelihood by Fisher scoring: with ``η = a + b √n``, ``p = Φ(η)``, the score is
    ``Σ (y - R p) φ(η) / (p (1 - p)) (1, √n)`` and the information ``Σ R φ(η)² / (p (1 - p)) (1, √n)(1, √n)ᵀ``
    (McCullagh & Nelder 1989, sec. 4.4). The size reaching ``target`` is ``n* = ((Φ⁻¹(target) - a) / b)²``,
    with the delta-method variance ``∇n*ᵀ I⁻¹ ∇n*``, ``∇n* = -2 (z - a) / b² (1, (z - a) / b)``.

    Parameters
    ----------
    sizes, rejections
        The trial sizes simulated and the replicates (of ``reps``) rejecting at each.
    reps
        Replicates per size.
    target
        The power to reach.

    Returns
    -------
    tuple
        ``(a, b, n*, (low, high))``: the fit, the size and its 95 % interval.
    """
    import numpy as np
    from scipy.special import ndtr, ndtri

    x = np.sqrt(np.asarray(sizes, dtype=float))
    y = np.asarray(rejections, dtype=float)
    design = np.column_stack([np.ones_like(x), x])
    share = np.clip((y + 0.5) / (reps + 1.0), 1e-6, 1 - 1e-6)  # the start: least squares on the probits
    beta = np.linalg.lstsq(design, ndtri(share), rcond=None)[0]
    info = np.eye(2)
    for _ in range(100):
        eta = design @ beta
        p = np.clip(ndtr(eta), 1e-12, 1 - 1e-12)
        density = np.exp(-0.5 * eta**2) / math.sqrt(2 * math.pi)
        weight = reps * density**2 / (p * (1 - p))
        score = design.T @ ((y - reps * p) * density / (p * (1 - p)))
        info = design.T @ (design * weight[:, None])
        step = np.linalg.solve(info, score)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
            break
    a, b = float(beta[0]), float(beta[1])
    if not b > 0:
        raise ParameterError(
            "the simulated power does not increase with the trial size over the sizes tried; give more reps "
            "or an n_range around the answer"
        )
    z = float(ndtri(target))
    root = (z - a) / b
    size = root**2
    gradient = -2 * (z - a) / b**2 * np.array([1.0, root])
    half = 1.959963984540054 * math.sqrt(float(gradient @ np.linalg.solve(info, gradient)))
    return a, b, size, (max(size - half, 0.0), size + half)


def _bisect(
    power_at: Callable[[Any], float], low: Any, high: Any, target: float, step: Callable[[Any, Any], Any]
) -> Any:
    """The point next to the crossing of ``target``, on the side of ``high``, by bisection.

    ``power_at(low) < target <= power_at(high)`` is given (``low`` is never evaluated); ``step(low, high)``
    is a point between the two, or None when they are as close as asked.
    """
    while (middle := step(low, high)) is not None:
        if power_at(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def simulated_power(
    scenario: str | Scenario | Callable[[float], Scenario] = "inklusion",
    *,
    estimator: str = "rd_newcombe",
    contrast: str = "IPS vs SAU",
    n: int | None = None,
    power: float | None = None,
    effect_range: tuple[float, float] | None = None,
    reps: int = 1000,
    seed: int = 1,
    alpha: float = 0.05,
    comparisons: int = 1,
    n_range: tuple[int, int] | None = None,
    **engine: Any,
) -> SimulatedPower:
    """Power, sample size or detectable effect by simulating the real analysis (see the module docstring).

    Parameters
    ----------
    scenario
        A built-in scenario name (:data:`ipstrial.validation.SCENARIOS`), a
        :class:`~ipstrial.synthetic.Scenario`, or, to solve for the effect, a function of the effect
        returning a Scenario.
    estimator, contrast
        The study estimator (:data:`ipstrial.validation.ESTIMATORS`) whose test counts, and its contrast.
    n
        Participants per trial (all arms). Give ``n`` for the power; ``power`` for ``n``; both, with a
        function ``scenario``, for the effect.
    power
        The target power when solving for ``n`` or the effect.
    effect_range
        ``(low, high)`` of the effect when solving for it: the power must be below the target at ``low`` and
        reach it at ``high`` (``low`` may be the larger number, e.g. hazard ratios ``(1.0, 0.5)``).
    reps
        Replicate trials per design point (the MCSE of a power near 0.8 is 0.013 with 1,000).
    seed
        The seed of every design point (common random numbers).
    alpha, comparisons
        The two-sided level of the family and the comparisons sharing it (Bonferroni: each at
        ``alpha / comparisons``).
    n_range
        ``(low, high)`` trial sizes bracketing the answer when solving for ``n``; by default the search starts
        at 8 allocation cycles (24 participants for 1:1:1) and doubles (up to 200,000 participants).
    **engine
        ``workers``, ``scheduler``, ``client``, ``batch_size``, ``fast``: see
        :func:`ipstrial.validation.run_study`.

    Returns
    -------
    SimulatedPower
    """
    import numpy as np
    import pandas as pd

    from ipstrial.stats.proportions import clopper_pearson
    from ipstrial.synthetic import Scenario
    from ipstrial.validation import MAX_REPS
    from ipstrial.validation._engine import check_study_seed
    from ipstrial.validation._scenarios import scenario_of

    unknown = sorted(set(engine) - _ENGINE_KEYS)
    if unknown:
        raise ParameterError(
            f"simulated_power got unknown arguments {unknown}; the engine takes {sorted(_ENGINE_KEYS)} "
            "(the study's own arguments -- scenario, n, reps, seed, estimator -- are set by simulated_power)"
        )
    reps = check_count(reps, "reps", minimum=2, maximum=MAX_REPS)
    alpha = check_alpha(alpha)
    comparisons = check_count(comparisons, "comparisons", minimum=1)
    seed = check_study_seed(seed)
    if power is not None:
        power = check_probability(power, "power")
        if not 0 < power < 1:
            raise ParameterError(f"power must lie strictly between 0 and 1, got {power}")
    family = callable(scenario) and not isinstance(scenario, Scenario)
    if family:
        if n is None or power is None or effect_range is None:
            raise ParameterError(
                "a scenario given as a function of the effect solves for the effect: give n, power and "
                "effect_range=(low, high)"
            )
        solved = "effect"
    elif n is not None and power is None:
        solved = "power"
    elif n is None and power is not None:
        solved = "n"
    else:
        raise ParameterError("give n (to get the power) or power (to get n), not both and not neither")
    if n is not None:
        n = check_count(n, "n", minimum=2, maximum=_MAX_TOTAL)
    level = alpha / comparisons
    points: dict[tuple[int, float | None], tuple[int, int]] = {}

    def scenario_at(effect: float | None) -> Any:
        if family:
            made = scenario(effect)  # type: ignore[operator]
            if not isinstance(made, Scenario):
                raise ParameterError(f"the scenario function returned {type(made).__name__}, not a Scenario")
            return made
        return scenario

    def simulate(size: int, effect: float | None = None) -> float:
        key = (size, effect)
        if key not in points:
            points[key] = _rejections(
                scenario_at(effect), size, estimator, contrast, level, reps, seed, engine
            )
        return points[key][0] / reps

    base = scenario_at(effect_range[0]) if family else scenario
    model = scenario_of(base)[0] if isinstance(base, str) else base
    cycle = sum(model.ratio)
    effect = None
    n_ci: tuple[float, float] | None = None
    fitted: list[int] = []
    fit: tuple[float, float, float, tuple[float, float]] | None = None
    if solved == "power":
        size = n
        simulate(size)
    elif solved == "n":
        if n_range is not None:
            low, high = (check_count(v, "n_range", minimum=2, maximum=_MAX_TOTAL) for v in n_range)
            low, high = -(-low // cycle), high // cycle
            if simulate(low * cycle) >= power or simulate(high * cycle) < power:
                raise ParameterError(
                    f"n_range {tuple(n_range)} does not bracket power {power}: the simulated power is "
                    f"{simulate(low * cycle):.3f} at {low * cycle} and {simulate(high * cycle):.3f} at "
                    f"{high * cycle}; widen it"
                )
        else:  # from 8 allocation cycles, doubling until the power reaches the target
            low, high = 0, 8
            while simulate(high * cycle) < power:
                low, high = high, 2 * high
                if high * cycle > _MAX_TOTAL:
                    raise ParameterError(
                        f"the simulated power stays below {power} up to {low * cycle} participants "
                        f"({simulate(low * cycle):.3f}); is there an effect?"
                    )
        # the power at GRID sizes across the bracket, then the probit curve through all the bracket's points
        low = max(low, 1)
        for k in np.unique(np.linspace(low, high, GRID + 2).round().astype(int)):
            simulate(int(k) * cycle)
        fitted = sorted(key[0] for key in points if low * cycle <= key[0] <= high * cycle)
        fit = probit_power_curve(fitted, [points[(m, None)][0] for m in fitted], reps, power)
        n_ci = fit[3]
        size = cycle * max(1, math.ceil(fit[2] / cycle - 1e-9))
        simulate(size)
    else:
        low_e, high_e = (float(v) for v in effect_range)  # type: ignore[union-attr]
        size = n
        if simulate(size, low_e) >= power or simulate(size, high_e) < power:
            raise ParameterError(
                f"effect_range {effect_range} does not bracket power {power}: the simulated power is "
                f"{simulate(size, low_e):.3f} at {low_e:g} and {simulate(size, high_e):.3f} at {high_e:g}"
            )
        tolerance = abs(high_e - low_e) / 256  # eight halvings: the effect to 0.4 % of the range
        effect = _bisect(
            lambda e: simulate(size, e),
            low_e,
            high_e,
            power,
            lambda lo, hi: None if abs(hi - lo) <= tolerance else (lo + hi) / 2,
        )
    rejected, failed = points[(size, effect)]
    ci = clopper_pearson(rejected, reps)
    estimate = rejected / reps

    def fitted_power(size: int) -> float:
        from scipy.special import ndtr

        if fit is None or not fitted[0] <= size <= fitted[-1]:
            return math.nan
        return float(ndtr(fit[0] + fit[1] * math.sqrt(size)))

    curve = pd.DataFrame(
        [
            {
                "n_total": k[0],
                "effect": k[1],
                "power": v[0] / reps,
                "mcse": math.sqrt(v[0] / reps * (1 - v[0] / reps) / reps),
                "failed": v[1],
                "fitted": fitted_power(k[0]),
            }
            for k, v in sorted(points.items(), key=lambda kv: (kv[0][1] or 0.0, kv[0][0]))
        ]
    )
    equal = len(set(model.ratio)) == 1 and size % len(model.arms) == 0
    return SimulatedPower(
        scenario=base if isinstance(base, str) else model.name,
        estimator=estimator,
        contrast=contrast,
        solved=solved,
        n_total=size,
        n_per_arm=size // len(model.arms) if equal else None,
        power=estimate,
        mcse=math.sqrt(estimate * (1 - estimate) / reps),
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        target=power,
        effect=effect,
        n_ci_low=None if n_ci is None else n_ci[0],
        n_ci_high=None if n_ci is None else n_ci[1],
        reps=reps,
        failed=failed,
        seed=seed,
        alpha=alpha,
        comparisons=comparisons,
        curve=curve,
    )
