"""Power and sample size by simulation: the real analysis on replicate synthetic trials.

The power of an analysis at a trial size is the share of replicate trials in which it rejects its null
hypothesis. :func:`simulated_power` draws ``reps`` trials of a :class:`~ipstrial.synthetic.Scenario` through
the validation engine (:func:`ipstrial.validation.run_study`, the same streams, backends and kernels) and
counts, for one estimator and contrast, the replicates with ``p < alpha / comparisons``. A replicate whose
analysis fails counts as not rejecting (the power of the analysis as it would be run) and is reported.

* Given ``n``: the power at ``n`` participants, its Monte Carlo SE ``sqrt(P (1 - P) / R)`` and the
  Clopper-Pearson 95 % interval of the rejection count (Morris, White & Crowther, Stat Med 2019;38:2074,
  table 6).
* Given ``power``: the smallest trial size, in whole allocation cycles (``sum(scenario.ratio)`` participants),
  whose estimated power reaches the target. Every size is simulated with the same seed (common random
  numbers: the replicate streams do not depend on the size), so the estimated power curve is smooth in ``n``
  and a bisection between a size below the target and one above it finds the crossing (Burton et al., Stat
  Med 2006;25:4279, on planning simulation studies). Every size tried is kept in :attr:`SimulatedPower.curve`.
* Given ``n`` and ``power`` with ``scenario`` a function ``effect -> Scenario``: the smallest effect in
  ``effect_range`` whose power reaches the target, by the same bisection on the effect.

The estimated ``n`` is itself a Monte Carlo estimate: its uncertainty is that of the power at the sizes near
the crossing, which the curve shows with its MCSE.
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
    effect
        The effect solved for (None unless ``solved == "effect"``).
    reps, failed, seed
        Replicates per size, of them failed (counted as not rejecting), and the seed.
    alpha, comparisons
        The family's two-sided level and the comparisons sharing it (each test at ``alpha / comparisons``).
    curve
        Every design point simulated: ``n_total``, ``effect``, ``power``, ``mcse``, ``failed``.
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
    rows = records[(records.error == "") & (records.contrast == contrast)]
    if rows.empty and (records.error == "").any():
        known = sorted(set(records.loc[records.error == "", "contrast"]))
        raise ParameterError(f"estimator {estimator!r} has no contrast {contrast!r}; it has {known}")
    if rows.p_value.isna().all() and len(rows):
        raise ParameterError(f"estimator {estimator!r} gives no p-value for {contrast!r}: it has no test")
    rejected = int((rows.p_value < level).sum())
    failed = int(records.loc[records.error != "", "rep"].nunique())
    return rejected, failed


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
    import pandas as pd

    from ipstrial.stats.proportions import clopper_pearson
    from ipstrial.synthetic import Scenario
    from ipstrial.validation._scenarios import scenario_of

    reps = check_count(reps, "reps", minimum=2, maximum=10**7)
    alpha = check_alpha(alpha)
    comparisons = check_count(comparisons, "comparisons", minimum=1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be a whole number >= 0, got {seed!r}")
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
        size = cycle * int(
            _bisect(
                lambda k: simulate(int(k) * cycle),
                low,
                high,
                power,
                lambda lo, hi: None if hi - lo <= 1 else (lo + hi) // 2,
            )
        )
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
    curve = pd.DataFrame(
        [
            {
                "n_total": k[0],
                "effect": k[1],
                "power": v[0] / reps,
                "mcse": math.sqrt(v[0] / reps * (1 - v[0] / reps) / reps),
                "failed": v[1],
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
        reps=reps,
        failed=failed,
        seed=seed,
        alpha=alpha,
        comparisons=comparisons,
        curve=curve,
    )
