"""A synthetic Projekt Inklusion-like trial with known truths.

:class:`Scenario` holds every generating parameter; :data:`INKLUSION` is calibrated to the
published facts of Projekt Inklusion (Christensen et al., JAMA Psychiatry 2019;76:1232-1240;
protocol Trials 2015;16:280; health economics Christensen et al., Eur Psychiatry 2020/21) and
:func:`simulate_trial` draws a participant-level dataset from it. ``scenario.truth`` gives the
true value of every estimand the package reports, computed exactly (a finite sum over the
discrete covariate distribution and Gauss-Legendre quadrature in time), so every estimator can
be checked against it.

The generating model, for a participant with covariates ``x`` in arm ``a``
-----------------------------------------------------------------------
Covariates, drawn independently: site (Copenhagen / Frederiksberg / Odense, 50 / 20 / 30 %),
whole-year age 18-64 (``floor`` of a truncated normal whose parameters are solved so that the
recorded age has mean 32.8 and SD 9.9), sex (38.3 % women), diagnosis (assumed mix:
schizophrenia spectrum 55 %, bipolar 20 %, recurrent depression 25 %), education (compulsory
40 %, upper secondary or vocational 45 %, higher 15 %), employment in the previous 5 years
(45 %), substance use (25 %). ``η(x) = Σ β_j x_j`` is a linear predictor over the terms
``age_per_10y = (age - 32.8)/10``, ``female``, level indicators ``site:…``, ``diagnosis:…``,
``education:…``, ``employed_prev5y``, ``substance_use``; each outcome has its own ``β``.

Allocation: stratified permuted blocks of size 3 or 6 (1:1:1) within site x previous employment,
through :func:`ipstrial.randomization.stratified_blocks`.

Time to first employment or education (three independent latent times given ``x``):
    job        cause-specific Weibull hazard  h1(t) = λ_a k_a t^(k_a-1) exp(η1(x))
    competing  exit (disability pension, death): exponential, h2 = μ2 exp(η2(x))
    loss       to follow-up (emigration): exponential, rate c, independent of x and arm
    administrative censoring at ``follow_up_days`` (913 = 30 months of register follow-up).
``days_to_job = ceil(min of the four)``; ``event`` 1 job, 2 competing exit, 0 censored. The scale
``λ_a`` of each arm is solved so that the marginal probability of an observed first job within
548 days equals ``p_employed_18m[a]``, and ``employed_18m = 1`` exactly when ``event == 1`` and
``days_to_job <= 548``. Participants lost to follow-up before a job count as not employed, as a
register outcome counts them. The shape ``k_a = job_shape`` is the same in every arm by default, so the
hazards are proportional: the hazard ratio of arm ``a`` given ``x`` is ``λ_a / λ_control`` at every
time. With one shape per arm (:meth:`Scenario.nonph`) it is ``(λ_a k_a)/(λ_c k_c) t^(k_a - k_c)``, which
changes over follow-up (non-proportional hazards).

Weeks and hours: an employed participant has ``m = floor((548 - days_to_job)/7) + 1`` weeks
from the first job to day 548; ``weeks_employed_18m = 1 + Binomial(m - 1, q)``, with
``logit q = logit(week_share[a]) + η_w(x)``; zero when not employed. ``hours_18m = weeks x w``
with ``w ~ Gamma(shape, mean hours_per_week[a] exp(η_h(x)))`` hours a week, rounded to 0.1 h.
Interview non-response makes ``hours_18m`` missing at random given covariates and arm:
``logit P(missing) = logit(hours_missing[a]) + η_m(x) + η_m,a(x)``, with ``η_m,a`` the arm's own
terms ``missing_arm_effects`` (none by default; :meth:`Scenario.mar` makes the non-response strongly
selective and different by arm).

Costs over 18 months (DKK), for each category ``c`` (IPS service, jobcentre, social services,
psychiatric inpatient, outpatient, emergency): ``cost = M[c, a] x v(x, y) / E_a[v] x B / π_c x G``
with ``v(x, y) = exp(η_c(x)) ρ_c^y`` (``y`` = employed_18m), ``B ~ Bernoulli(π_c)`` any use and
``G ~ Gamma(shape, mean 1)``, so the arm mean of category ``c`` is exactly ``M[c, a]``.
``cost_total`` is the sum of the categories; the true mean differences are -72,000 DKK (IPS vs
SAU) and -55,000 DKK (IPSE vs SAU), the published figures. The split over categories is an
assumption (the publication gives only the direction). Transfer payments (not part of
``cost_total``): ``transfers_18m = b x (78 - offset x weeks_employed_18m)`` with a weekly benefit
``b ~ Gamma(shape, mean benefit_per_week)``.

EQ-5D index ``u = 1 - (1 - u_min) D`` with ``D ~ Beta`` of mean ``d`` and precision ``φ``:
``logit d0 = logit(d_ref) + η_u(x)`` at baseline and ``logit d18 = logit d0 - shift[a] -
employed_shift x y`` at 18 months. The two Beta draws share a gamma component (Beta as a ratio
of gammas), which correlates them without changing their exact marginal laws.

Rounding (days to whole days, hours to 0.1 h, costs to whole DKK, utilities to 0.001) moves the
means by far less than their Monte Carlo error; the truths refer to the unrounded quantities,
except time to event, whose truths refer to the recorded whole days.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipstrial._model import (
    _LEVEL_TERMS,
    _PLAIN_TERMS,
    DAYS_18M,
    Effects,
    _expit,
    _logit,
    _rates,
    age_distribution,
    calibrate,
    linear_predictor,
    missing_predictor,
)
from ipstrial._random import SeedLike, streams
from ipstrial.schema import TrialSchema

__all__ = [
    "COST_CATEGORIES",
    "DAYS_18M",
    "INKLUSION",
    "REFERENCE_WTP",
    "Scenario",
    "simulate_trial",
]


WEEKS_18M = 78
"""Whole weeks in 18 months, the benefit period of ``transfers_18m``."""

REFERENCE_WTP = 200_000.0
"""The willingness to pay (DKK per QALY) of the net monetary benefit truth (``inmb`` in the truth
table): a reference value, not an official Danish threshold (Denmark has none); it lies within NICE's
£20,000-30,000 per QALY (NICE, *Guide to the methods of technology appraisal*, 2013, sec. 6.3) at
8-9 DKK per pound."""

COST_CATEGORIES = (
    "cost_ips",
    "cost_jobcentre",
    "cost_social",
    "cost_psych_inpatient",
    "cost_psych_outpatient",
    "cost_emergency",
)

BASELINE_COLUMNS = ("site", "age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use")
"""The baseline covariate columns of a simulated trial (any of them may stratify the allocation)."""


NONPH_SHAPE = 1.4
"""The treatment arms' Weibull shape of the time to first job in :meth:`Scenario.nonph` (the control
keeps 0.8)."""

MAR_TREATMENT_RATE, MAR_CONTROL_RATE = 0.10, 0.35
"""Interview non-response at reference in :meth:`Scenario.mar`: treatment arms, control arm."""

MAR_TREATMENT_EFFECTS: Effects = (("employed_prev5y", 1.0), ("substance_use", -0.5))
"""The log-odds terms of interview non-response in the treatment arms of :meth:`Scenario.mar`."""

MAR_CONTROL_EFFECTS: Effects = (("employed_prev5y", -2.0), ("substance_use", 1.5), ("education:higher", -1.0))
"""The log-odds terms of interview non-response in the control arm of :meth:`Scenario.mar`."""


def _pairs(value: Mapping | tuple) -> tuple:
    """Normalise a mapping or sequence of pairs into a tuple of pairs (hashable)."""
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in items)


@dataclass(frozen=True)
class Scenario:
    """Every parameter of the generating model (see the module docstring for the equations).

    Per-arm tuples follow the order of ``arms``. Probabilities ``at reference`` refer to a
    participant with all indicator terms 0 and age equal to ``age_mean``.

    ``job_shape`` is the Weibull shape of the time to first job: one number for every arm (proportional
    hazards), or one per arm (non-proportional hazards; a tuple of equal values is stored as the one
    number). ``missing_arm_effects`` maps an arm to extra covariate terms of its interview non-response
    (arms not named have none).
    """

    name: str = "inklusion"
    n: int = 720
    arms: tuple[str, ...] = ("IPS", "IPSE", "SAU")
    control: str = "SAU"
    ratio: tuple[int, ...] = (1, 1, 1)
    block_sizes: tuple[int, ...] = (3, 6)
    strata: tuple[str, ...] = ("site", "employed_prev5y")
    # baseline covariates
    sites: tuple[str, ...] = ("Copenhagen", "Frederiksberg", "Odense")
    site_probs: tuple[float, ...] = (0.50, 0.20, 0.30)
    age_mean: float = 32.8
    age_sd: float = 9.9
    age_range: tuple[int, int] = (18, 64)
    p_female: float = 0.383
    diagnoses: tuple[str, ...] = ("schizophrenia", "bipolar", "depression")
    diagnosis_probs: tuple[float, ...] = (0.55, 0.20, 0.25)
    educations: tuple[str, ...] = ("compulsory", "upper_secondary", "higher")
    education_probs: tuple[float, ...] = (0.40, 0.45, 0.15)
    p_employed_prev5y: float = 0.45
    p_substance_use: float = 0.25
    # time to first employment or education
    p_employed_18m: tuple[float, ...] = (0.599, 0.591, 0.465)
    job_shape: float | tuple[float, ...] = 0.8
    job_effects: Effects = (
        ("age_per_10y", -0.20),
        ("female", 0.05),
        ("site:Frederiksberg", 0.10),
        ("site:Odense", -0.10),
        ("diagnosis:bipolar", 0.25),
        ("diagnosis:depression", 0.35),
        ("education:upper_secondary", 0.25),
        ("education:higher", 0.50),
        ("employed_prev5y", 0.90),
        ("substance_use", -0.45),
    )
    competing_18m: float = 0.06
    competing_effects: Effects = (
        ("age_per_10y", 0.30),
        ("diagnosis:bipolar", -0.20),
        ("diagnosis:depression", -0.30),
        ("substance_use", 0.30),
    )
    loss_18m: float = 0.03
    follow_up_days: int = 913
    # weeks and hours in employment or education
    week_share: tuple[float, ...] = (0.60, 0.57, 0.50)
    week_effects: Effects = (
        ("age_per_10y", -0.10),
        ("education:higher", 0.20),
        ("employed_prev5y", 0.40),
        ("substance_use", -0.30),
    )
    hours_per_week: tuple[float, ...] = (14.0, 13.5, 12.0)
    hours_effects: Effects = (("female", -0.10), ("education:higher", 0.10), ("diagnosis:depression", 0.05))
    hours_shape: float = 4.0
    hours_missing: tuple[float, ...] = (0.11, 0.11, 0.15)
    missing_effects: Effects = (("age_per_10y", -0.15), ("substance_use", 0.50), ("site:Odense", 0.30))
    missing_arm_effects: tuple[tuple[str, Effects], ...] = ()
    # costs over 18 months, DKK (2017 prices assumed)
    cost_means: tuple[tuple[str, tuple[float, ...]], ...] = (
        ("cost_ips", (28_000.0, 38_000.0, 0.0)),
        ("cost_jobcentre", (60_000.0, 63_000.0, 95_000.0)),
        ("cost_social", (95_000.0, 100_000.0, 120_000.0)),
        ("cost_psych_inpatient", (75_000.0, 75_000.0, 110_000.0)),
        ("cost_psych_outpatient", (36_000.0, 36_000.0, 40_000.0)),
        ("cost_emergency", (5_000.0, 4_000.0, 6_000.0)),
    )
    cost_effects: tuple[tuple[str, Effects], ...] = (
        ("cost_ips", ()),
        ("cost_jobcentre", (("employed_prev5y", -0.20), ("substance_use", 0.20))),
        ("cost_social", (("substance_use", 0.40), ("age_per_10y", 0.10))),
        (
            "cost_psych_inpatient",
            (("diagnosis:bipolar", -0.20), ("diagnosis:depression", -0.50), ("substance_use", 0.40)),
        ),
        ("cost_psych_outpatient", (("diagnosis:depression", -0.10),)),
        ("cost_emergency", (("substance_use", 0.60),)),
    )
    cost_employed_ratio: tuple[tuple[str, float], ...] = (
        ("cost_ips", 1.0),
        ("cost_jobcentre", 0.7),
        ("cost_social", 0.8),
        ("cost_psych_inpatient", 0.7),
        ("cost_psych_outpatient", 0.9),
        ("cost_emergency", 0.8),
    )
    cost_any: tuple[tuple[str, float], ...] = (
        ("cost_ips", 1.0),
        ("cost_jobcentre", 0.95),
        ("cost_social", 0.70),
        ("cost_psych_inpatient", 0.30),
        ("cost_psych_outpatient", 0.90),
        ("cost_emergency", 0.35),
    )
    cost_shape: float = 1.5
    benefit_per_week: float = 3_300.0
    benefit_shape: float = 25.0
    benefit_offset: float = 0.6
    # EQ-5D index
    utility_min: float = -0.757
    utility_baseline: float = 0.68
    utility_effects: Effects = (
        ("age_per_10y", 0.10),
        ("substance_use", 0.20),
        ("diagnosis:depression", 0.15),
    )
    utility_arm_shift: tuple[float, ...] = (0.10, 0.10, 0.0)
    utility_employed_shift: float = 0.25
    utility_precision: float = 8.0
    utility_shared: float = 0.5
    description: str = field(
        default="Projekt Inklusion-like trial (calibrated to published facts)", compare=False
    )

    def __post_init__(self) -> None:
        for name in (
            "job_effects",
            "competing_effects",
            "week_effects",
            "hours_effects",
            "missing_effects",
            "utility_effects",
            "cost_means",
            "cost_effects",
            "cost_employed_ratio",
            "cost_any",
        ):
            object.__setattr__(self, name, _pairs(getattr(self, name)))
        object.__setattr__(self, "cost_effects", tuple((c, _pairs(e)) for c, e in self.cost_effects))
        object.__setattr__(
            self, "missing_arm_effects", tuple((a, _pairs(e)) for a, e in _pairs(self.missing_arm_effects))
        )
        shape = self.job_shape
        if isinstance(shape, list | tuple | np.ndarray):
            shape = tuple(float(v) for v in shape)
            if shape and all(v == shape[0] for v in shape):
                shape = shape[0]  # one shape for every arm: the proportional-hazards model
        elif isinstance(shape, int | float | np.number) and not isinstance(shape, bool):
            shape = float(shape)
        object.__setattr__(self, "job_shape", shape)
        for name in (
            "arms",
            "ratio",
            "block_sizes",
            "strata",
            "p_employed_18m",
            "week_share",
            "hours_per_week",
            "hours_missing",
            "utility_arm_shift",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self._check()

    def _check(self) -> None:
        k = len(self.arms)
        problems = []
        if self.control not in self.arms:
            problems.append(f"control {self.control!r} is not one of the arms {list(self.arms)}")
        for name in (
            "ratio",
            "p_employed_18m",
            "week_share",
            "hours_per_week",
            "hours_missing",
            "utility_arm_shift",
        ):
            if len(getattr(self, name)) != k:
                problems.append(f"{name} has {len(getattr(self, name))} entries for {k} arms")
        shapes = self.job_shape if isinstance(self.job_shape, tuple) else (self.job_shape,)
        if isinstance(self.job_shape, tuple) and len(shapes) != k:
            problems.append(
                f"job_shape has {len(shapes)} entries for {k} arms (give one number or one per arm)"
            )
        if not all(isinstance(v, float) and np.isfinite(v) and v > 0 for v in shapes):
            problems.append(f"job_shape must be a positive number or one per arm, got {self.job_shape!r}")
        for arm, _ in self.missing_arm_effects:
            if arm not in self.arms:
                problems.append(
                    f"missing_arm_effects names {arm!r}, which is not one of the arms {list(self.arms)}"
                )
        for name, probs in (
            ("site_probs", self.site_probs),
            ("diagnosis_probs", self.diagnosis_probs),
            ("education_probs", self.education_probs),
        ):
            if abs(sum(probs) - 1) > 1e-12 or min(probs) < 0:
                problems.append(f"{name} {probs} must be non-negative and sum to 1")
        unknown = [f for f in self.strata if f not in BASELINE_COLUMNS]
        if unknown or not self.strata:
            problems.append(f"strata {list(self.strata)} must be one or more of {list(BASELINE_COLUMNS)}")
        for category in COST_CATEGORIES:
            for table in ("cost_means", "cost_effects", "cost_employed_ratio", "cost_any"):
                if category not in dict(getattr(self, table)):
                    problems.append(f"{table} has no entry for {category}")
        for category, means in self.cost_means:
            if len(means) != k:
                problems.append(f"cost_means[{category}] has {len(means)} entries for {k} arms")
        effect_sets = (
            [
                self.job_effects,
                self.competing_effects,
                self.week_effects,
                self.hours_effects,
                self.missing_effects,
                self.utility_effects,
            ]
            + [e for _, e in self.cost_effects]
            + [e for _, e in self.missing_arm_effects]
        )
        for effects in effect_sets:
            for term, _ in effects:
                if not self._known_term(term):
                    problems.append(f"unknown covariate term {term!r}")
        for name in ("p_employed_18m", "week_share", "hours_missing"):
            if not all(0 < p < 1 for p in getattr(self, name)):
                problems.append(f"{name} must lie strictly between 0 and 1")
        if problems:
            raise ValueError("invalid Scenario: " + "; ".join(problems))

    def _known_term(self, term: str) -> bool:
        if term in _PLAIN_TERMS:
            return True
        factor, _, level = term.partition(":")
        return factor in _LEVEL_TERMS and level in getattr(self, _LEVEL_TERMS[factor])[1:]

    # ------------------------------------------------------------------ derived
    @property
    def treatments(self) -> tuple[str, ...]:
        """The arms other than the control, in order."""
        return tuple(a for a in self.arms if a != self.control)

    @property
    def job_shapes(self) -> tuple[float, ...]:
        """The Weibull shape ``k_a`` of the time to first job of each arm, in the order of ``arms``."""
        k = self.job_shape
        return k if isinstance(k, tuple) else (k,) * len(self.arms)

    def null(self) -> Scenario:
        """The same trial with no arm effects: every arm gets the control arm's parameters."""
        c = self.arms.index(self.control)
        control_missing = dict(self.missing_arm_effects).get(self.control, ())
        per_arm = {
            name: tuple(getattr(self, name)[c] for _ in self.arms)
            for name in (
                "p_employed_18m",
                "week_share",
                "hours_per_week",
                "hours_missing",
                "utility_arm_shift",
            )
        }
        costs = tuple((cat, tuple(means[c] for _ in self.arms)) for cat, means in self.cost_means)
        return dataclasses.replace(
            self,
            name=f"{self.name}-null",
            cost_means=costs,
            job_shape=self.job_shapes[c],
            missing_arm_effects=tuple((a, control_missing) for a in self.arms) if control_missing else (),
            description=f"{self.description}, no arm effects",
            **per_arm,
        )

    def nonph(self, shape: float = NONPH_SHAPE) -> Scenario:
        """The same trial with non-proportional hazards: every treatment arm's job time has Weibull shape
        ``shape``, the control keeps its own.

        Each arm's scale ``λ_a`` is solved as before, so every 18-month proportion ``p_employed_18m``
        is unchanged; what changes is when the jobs come. With ``shape`` above the control's 0.8 the
        conditional hazard ratio ``(λ_a k_a)/(λ_c k_c) t^(k_a - k_c)`` rises over follow-up: the
        treatment arms' hazard starts below the control's (job search and placement take months) and
        ends above it. The hazards cross on the same day for every covariate pattern, day
        ``((λ_c k_c)/(λ_a k_a))^(1/(k_a - k_c))``: in :data:`INKLUSION` with the default 1.4, day 100
        for IPS and 104 for IPSE vs SAU, the IPS hazard ratio 0.49 on day 30 and 2.8 on day 548. The
        restricted mean time to the first job by day 548 is then only 12 days shorter with IPS (58 with
        proportional hazards), the 18-month proportions unchanged. A Cox model's hazard ratio is an
        average over follow-up with no single true value, while the restricted mean time to the first
        job is still exact; the truth table has no ``hazard_ratio`` row for a contrast whose shapes
        differ.
        """
        shapes = tuple(
            k if a == self.control else float(shape) for a, k in zip(self.arms, self.job_shapes, strict=True)
        )
        return dataclasses.replace(
            self,
            name=f"{self.name}-nonph",
            job_shape=shapes,
            description=f"{self.description}, non-proportional hazards (treatment arms' job shape {shape:g})",
        )

    def mar(self) -> Scenario:
        """The same trial with ``hours_18m`` missing at random given covariates and arm: strongly
        selective, and differently so in each arm.

        In the control arm non-response is frequent (``hours_missing`` 0.35 at reference) and falls on
        the participants with the poorest prognosis, those without previous employment, with substance
        use and without higher education (:data:`MAR_CONTROL_EFFECTS`); in the treatment arms it is rare
        (0.10) and falls rather on the previously employed (:data:`MAR_TREATMENT_EFFECTS`: those who
        return to work quickly leave the service and are harder to reach). The control arm's
        respondents are then better off than the arm and the treatment arms' respondents worse off, so
        the complete-case mean difference of ``hours_18m`` is biased downwards (a large-sample limit of
        -28 hours of a true +132 for IPS vs SAU in :data:`INKLUSION`; -30 at n = 720), while multiple
        imputation by arm on these covariates removes most of the bias (its imputation model, linear in the
        covariates, leaves a few hours: ``reports/validation.md``). Everything else, the truths included
        (they refer to the complete data), is that of the scenario it came from.
        """
        rates = tuple(MAR_CONTROL_RATE if a == self.control else MAR_TREATMENT_RATE for a in self.arms)
        effects = tuple(
            (a, MAR_CONTROL_EFFECTS if a == self.control else MAR_TREATMENT_EFFECTS) for a in self.arms
        )
        return dataclasses.replace(
            self,
            name=f"{self.name}-mar",
            hours_missing=rates,
            missing_effects=(),
            missing_arm_effects=effects,
            description=f"{self.description}, hours missing at random (selective, different by arm)",
        )

    def schema(self) -> TrialSchema:
        """The data contract that :func:`simulate_trial` output satisfies."""
        return TrialSchema(
            id="participant_id",
            arm="arm",
            arms=self.arms,
            control=self.control,
            strata=self.strata,
            covariates=("age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"),
            binary=("employed_18m",),
            durations=(("days_to_job", "event"),),
            event_codes=(0, 1, 2),
            hours=("hours_18m",),
            weeks=("weeks_employed_18m",),
            costs=(*COST_CATEGORIES, "cost_total", "transfers_18m"),
            utilities=("eq5d_0", "eq5d_18m"),
        )

    @property
    def truth(self) -> pd.DataFrame:
        """True values: columns ``outcome, estimand, contrast, value, method, definition``.

        Per-arm rows carry the arm's label as ``contrast``; contrasts read ``"IPS vs SAU"``. Computed once
        per scenario; every access returns a fresh copy, so changing it cannot change the cached truths.
        """
        return self._truth_table.copy()

    @functools.cached_property
    def _truth_table(self) -> pd.DataFrame:
        from ipstrial._truth import scenario_truth

        return scenario_truth(self)


_BYTES_PER_PARTICIPANT = 1500
"""About what simulating one participant holds at its peak (the frame takes about 540 bytes, the
intermediate draws the rest; measured: 334 MB of resident memory for 200,000 participants)."""

INKLUSION = Scenario()
"""The default scenario, calibrated to the published Projekt Inklusion facts."""


# ------------------------------------------------------------------ simulation
_STREAMS = (
    "covariates",
    "allocation",
    "job",
    "competing",
    "loss",
    "weeks",
    "hours",
    "missing",
    "costs",
    "benefit",
    "utility",
)


def _draw_covariates(scenario: Scenario, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    ages, age_p = age_distribution(scenario.age_mean, scenario.age_sd, *scenario.age_range)
    return {
        "site": rng.choice(len(scenario.sites), size=n, p=scenario.site_probs),
        "age": ages[rng.choice(len(ages), size=n, p=age_p)],
        "female": (rng.random(n) < scenario.p_female).astype(np.int64),
        "diagnosis": rng.choice(len(scenario.diagnoses), size=n, p=scenario.diagnosis_probs),
        "education": rng.choice(len(scenario.educations), size=n, p=scenario.education_probs),
        "employed_prev5y": (rng.random(n) < scenario.p_employed_prev5y).astype(np.int64),
        "substance_use": (rng.random(n) < scenario.p_substance_use).astype(np.int64),
    }


def _baseline_columns(scenario: Scenario, cov: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The recorded baseline columns, from covariate codes."""
    return {
        "site": np.asarray(scenario.sites, dtype=object)[cov["site"]],
        "age": cov["age"].astype(np.int64),
        "sex": np.where(cov["female"] == 1, "female", "male").astype(object),
        "diagnosis": np.asarray(scenario.diagnoses, dtype=object)[cov["diagnosis"]],
        "education": np.asarray(scenario.educations, dtype=object)[cov["education"]],
        "employed_prev5y": cov["employed_prev5y"],
        "substance_use": cov["substance_use"],
    }


def _participant_ids(n: int) -> np.ndarray:
    width = max(4, len(str(n)))
    return np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


def simulate_trial(
    scenario: Scenario = INKLUSION,
    n: int | None = None,
    seed: SeedLike = 2012,
    *,
    complete: bool = False,
) -> pd.DataFrame:
    """Draw one participant-level trial dataset from ``scenario``.

    Parameters
    ----------
    scenario : the generating model; :data:`INKLUSION` by default.
    n : number of participants (default ``scenario.n``, 720).
    seed : int, SeedSequence, Generator or None. The same int gives identical bytes.
    complete : if True, skip the interview non-response, so ``hours_18m`` is observed for all
        (for checking the truths, which refer to the complete outcome).

    Returns
    -------
    DataFrame, one row per participant in order of enrolment, that passes
    ``scenario.schema().validate``. Columns are described in ``data/synthetic/README.md``.
    """
    from ipstrial._checks import check_count
    from ipstrial._memory import check_memory
    from ipstrial.randomization.blocks import stratified_arm_indices

    n = check_count(scenario.n if n is None else n, "n")
    check_memory(
        _BYTES_PER_PARTICIPANT * n,
        f"simulating {n:,} participants",
        "simulate fewer participants (a few million at most on a machine with a few GiB), in several "
        "calls with different seeds if needed",
    )
    rng = dict(zip(_STREAMS, streams(seed, len(_STREAMS)), strict=True))
    cal = calibrate(scenario)
    cov = _draw_covariates(scenario, rng["covariates"], n)

    baseline = _baseline_columns(scenario, cov)

    # allocation: stratified permuted blocks in order of enrolment (as stratified_blocks, without its list)
    arm = stratified_arm_indices(
        [baseline[factor] for factor in scenario.strata],
        len(scenario.arms),
        scenario.block_sizes,
        scenario.ratio,
        rng["allocation"],
    )
    arm_label = np.asarray(scenario.arms, dtype=object)[arm]

    # time to first employment or education, competing exit, loss to follow-up; with one shape for every
    # arm the power stays a scalar one (the proportional-hazards default keeps its bits)
    k = (
        scenario.job_shape
        if not isinstance(scenario.job_shape, tuple)
        else np.asarray(scenario.job_shapes)[arm]
    )
    mu2, c = _rates(scenario)
    r1 = cal.lam[arm] * np.exp(linear_predictor(scenario, scenario.job_effects, cov))
    r2 = mu2 * np.exp(linear_predictor(scenario, scenario.competing_effects, cov))
    t_job = (rng["job"].standard_exponential(n) / r1) ** (1.0 / k)
    t_exit = rng["competing"].standard_exponential(n) / r2
    t_loss = rng["loss"].standard_exponential(n) / c
    first = np.minimum(np.minimum(t_job, t_exit), t_loss)
    observed = first <= scenario.follow_up_days
    event = np.where(~observed, 0, np.where(first == t_job, 1, np.where(first == t_exit, 2, 0)))
    days = np.where(observed, np.ceil(first), scenario.follow_up_days).astype(np.int64)
    employed = ((event == 1) & (days <= DAYS_18M)).astype(np.int64)

    # weeks and hours in employment or education within 18 months
    available = np.where(employed == 1, (DAYS_18M - days) // 7 + 1, 1)
    logit_q = np.log(np.asarray(scenario.week_share) / (1 - np.asarray(scenario.week_share)))[arm]
    q = _expit(logit_q + linear_predictor(scenario, scenario.week_effects, cov))
    weeks = employed * (1 + rng["weeks"].binomial(available - 1, q))
    per_week_mean = np.asarray(scenario.hours_per_week)[arm] * np.exp(
        linear_predictor(scenario, scenario.hours_effects, cov)
    )
    per_week = rng["hours"].gamma(scenario.hours_shape, per_week_mean / scenario.hours_shape)
    hours = np.round(weeks * per_week, 1)
    logit_m = np.log(np.asarray(scenario.hours_missing) / (1 - np.asarray(scenario.hours_missing)))[arm]
    p_missing = _expit(logit_m + missing_predictor(scenario, cov, arm))
    missing = rng["missing"].random(n) < p_missing
    if not complete:
        hours = np.where(missing, np.nan, hours)

    # costs by category, transfers
    columns: dict[str, np.ndarray] = {}
    cost_rng = rng["costs"]
    any_use = dict(scenario.cost_any)
    rho = dict(scenario.cost_employed_ratio)
    for (category, means), (_, effects) in zip(scenario.cost_means, scenario.cost_effects, strict=True):
        v = np.exp(linear_predictor(scenario, effects, cov)) * np.where(employed == 1, rho[category], 1.0)
        scale = np.asarray(means)[arm] * v / cal.cost_norm[category][arm]
        use = cost_rng.random(n) < any_use[category]
        amount = cost_rng.gamma(scenario.cost_shape, 1.0 / scenario.cost_shape, size=n)
        columns[category] = np.round(scale * use / any_use[category] * amount)
    total = np.sum([columns[cat] for cat in COST_CATEGORIES], axis=0)
    benefit = rng["benefit"].gamma(
        scenario.benefit_shape, scenario.benefit_per_week / scenario.benefit_shape, n
    )
    transfers = np.round(benefit * (WEEKS_18M - scenario.benefit_offset * weeks))

    # EQ-5D index at baseline and 18 months
    eq5d_0, eq5d_18 = _utilities(scenario, cov, arm, employed, rng["utility"])

    frame = pd.DataFrame(
        {
            "participant_id": _participant_ids(n),
            "enrolment": np.arange(1, n + 1),
            **baseline,
            "arm": arm_label,
            "employed_18m": employed,
            "days_to_job": days,
            "event": event.astype(np.int64),
            "hours_18m": hours,
            "weeks_employed_18m": weeks.astype(np.int64),
            **{cat: columns[cat].astype(np.int64) for cat in COST_CATEGORIES},
            "cost_total": total.astype(np.int64),
            "transfers_18m": transfers.astype(np.int64),
            "eq5d_0": eq5d_0,
            "eq5d_18m": eq5d_18,
        }
    )
    return frame


def utility_means(scenario: Scenario, cov: Mapping[str, np.ndarray]) -> np.ndarray:
    """Mean of the baseline utility loss share ``d0(x)`` (a Beta mean in (0, 1))."""
    d_ref = (1.0 - scenario.utility_baseline) / (1.0 - scenario.utility_min)
    return _expit(_logit(d_ref) + linear_predictor(scenario, scenario.utility_effects, cov))


def utility_means_18m(
    scenario: Scenario, d0: np.ndarray, arm: np.ndarray, employed: np.ndarray
) -> np.ndarray:
    """Mean loss share at 18 months, ``logit d18 = logit d0 - shift[a] - employed_shift x y``."""
    shift = np.asarray(scenario.utility_arm_shift)[arm] + scenario.utility_employed_shift * employed
    return _expit(np.log(d0 / (1 - d0)) - shift)


def _utilities(
    scenario: Scenario,
    cov: Mapping[str, np.ndarray],
    arm: np.ndarray,
    employed: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Beta draws through a shared gamma component.

    ``D = (G_a + G_s) / (G_a + G_s + G_b)`` with independent ``G_a ~ Γ(α - σ)``, ``G_s ~ Γ(σ)``,
    ``G_b ~ Γ(β)`` is exactly ``Beta(α, β)``; sharing ``G_s`` between the two time points (σ a
    fraction of the smaller α) correlates them and leaves both marginal laws exact.
    """
    phi = scenario.utility_precision
    d0 = utility_means(scenario, cov)
    d18 = utility_means_18m(scenario, d0, arm, employed)
    a0, b0 = d0 * phi, (1 - d0) * phi
    a18, b18 = d18 * phi, (1 - d18) * phi
    shared_shape = scenario.utility_shared * np.minimum(a0, a18)
    n = len(d0)
    g_shared = rng.gamma(shared_shape, size=n)
    g0 = rng.gamma(a0 - shared_shape, size=n) + g_shared
    g18 = rng.gamma(a18 - shared_shape, size=n) + g_shared
    loss0 = g0 / (g0 + rng.gamma(b0, size=n))
    loss18 = g18 / (g18 + rng.gamma(b18, size=n))
    span = 1.0 - scenario.utility_min
    return np.round(1.0 - span * loss0, 3), np.round(1.0 - span * loss18, 3)
