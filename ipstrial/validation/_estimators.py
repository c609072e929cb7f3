"""The estimators a validation study runs on each replicate trial, each with the truth it estimates.

Each :class:`StudyEstimator` calls one public estimator of the package on a replicate's data frame and picks
its rows of one estimand; its truth is the scenario's exact value of that estimand
(:attr:`ipstrial.synthetic.Scenario.truth`, keyed by outcome, estimand and contrast). Nothing here
estimates: the study measures the package's own functions.

An estimator that draws random numbers (multiple imputation) gets a seed derived from its replicate's data
(:func:`data_seed`), so each replicate has its own imputation draws and a study is reproducible. A fixed
seed would be reproducible too, but would give every replicate the same standard normal and uniform draws:
the imputation error (``β* - β̂ = L z`` with the same ``z``) would point the same way in every replicate
and would not average out over replicates, a spurious bias of order ``√(B/m)`` in the study's mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.synthetic import Scenario

__all__ = ["DEFAULT_DESIGN", "ESTIMATORS", "StudyDesign", "StudyEstimator", "design_of"]


class StudyDesign(NamedTuple):
    """What a study's calls take from the scenario: the arms compared and the randomisation strata."""

    treatments: tuple[str, ...]
    control: str
    strata: tuple[str, ...]


DEFAULT_DESIGN = StudyDesign(("IPS", "IPSE"), "SAU", ("site", "employed_prev5y"))
"""The design of :data:`ipstrial.synthetic.INKLUSION` and the built-in scenarios (the kernels' design)."""


def design_of(scenario: Scenario) -> StudyDesign:
    """The arms and strata of ``scenario``, as its study's estimators use them."""
    return StudyDesign(tuple(scenario.treatments), scenario.control, tuple(scenario.strata))


def _args(design: StudyDesign) -> dict[str, Any]:
    """The role arguments of every call: IPS and IPSE (or the scenario's treatments) against the control."""
    return {
        "arm": "arm",
        "treatment": list(design.treatments),
        "control": design.control,
        "id": "participant_id",
    }


_ARGS: dict[str, Any] = _args(DEFAULT_DESIGN)
_COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
_TAU = 548.0
_IMPUTATIONS = 20
"""``m`` of the multiple-imputation estimator: White, Royston & Wood's rule of thumb (Stat Med
2011;30:377-399, sec. 7) of ``m >= 100 f`` imputations for a fraction ``f`` of incomplete cases, about
0.19 in the ``mar`` scenario (0.15 / 0.27 by arm) and 0.13 in the default."""


@dataclass(frozen=True)
class StudyEstimator:
    """One estimator of a validation study.

    Attributes
    ----------
    name
        The estimator's name in the study's table.
    outcome, estimand
        The truth it estimates (its rows of the result have this estimand).
    run
        ``run(data, design) -> Result``: the public call, with the arms and strata of the scenario's
        :class:`StudyDesign`.
    variant
        The rows' variant ("" for the primary rows).
    has_truth
        False for a test without an estimand (log-rank): only its rejection rate is reported.
    """

    name: str
    outcome: str
    estimand: str
    run: Callable[[pd.DataFrame, StudyDesign], Any]
    variant: str = ""
    has_truth: bool = True


def _proportions(method: str) -> Callable[[pd.DataFrame, StudyDesign], Any]:
    def run(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
        from ipstrial import itt

        return itt.compare_proportions(data, "employed_18m", method=method, **_args(design))

    return run


def _marginal_with(variance: str) -> Callable[[pd.DataFrame, StudyDesign], Any]:
    """The covariate-adjusted marginal risk difference with the Ye (strata-corrected) or Ge variance."""

    def run(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
        from ipstrial import itt

        strata = {"strata": list(design.strata)} if variance == "ye" else {}
        return itt.marginal_effect(
            data, "employed_18m", covariates=_COVARIATES, variance=variance, **strata, **_args(design)
        )

    return run


_marginal = _marginal_with("ye")


def _hours(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import itt

    return itt.adjusted_mean_difference(
        data, "hours_18m", covariates=[], missing="complete-case", **_args(design)
    )


def _weeks(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import itt

    return itt.rate_ratio(data, "weeks_employed_18m", **_args(design))


def _logrank(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import survival

    args = dict(_args(design), treatment=design.treatments[0])
    return survival.logrank(data, "days_to_job", "event", **args)


def _cox(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import survival

    return survival.cox(data, "days_to_job", "event", covariates=_COVARIATES, strata="site", **_args(design))


def _rmst(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import survival

    return survival.rmst(data, "days_to_job", "event", tau=_TAU, **_args(design))


def _incidence(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import survival

    return survival.cumulative_incidence(
        data, "days_to_job", "event", times=_TAU, test=False, **_args(design)
    )


def data_seed(data: pd.DataFrame) -> int:
    """A seed determined by the data: the first 8 bytes of the SHA-256 of pandas' row hashes.

    ``pandas.util.hash_pandas_object`` uses a fixed key, so the seed is the same in every process and on
    every run; two replicates' data differ, so their seeds differ (up to a 2^-64 chance).
    """
    import hashlib

    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes()).digest()
    return int.from_bytes(digest[:8], "little")


def _hours_mi(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial.missing import multiple_imputation

    return multiple_imputation(
        data,
        "hours_18m",
        covariates=_COVARIATES,
        kind="continuous",
        m=_IMPUTATIONS,
        seed=data_seed(data),
        **_args(design),
    )


def _inmb(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    """INMB of cost_total against QALYs at the reference willingness to pay, baseline utility adjusted.

    ``QALY = 0.75 (eq5d_0 + eq5d_18m)`` (:func:`ipstrial.economics.qaly_auc`), analysed with the baseline
    EQ-5D in the effect model (Manca, Hawkins & Sculpher 2005, Health Econ 14:487), as the QALY docstring
    advises. The study reads the normal-theory row (sandwich variance, Wald interval): it does not use
    the bootstrap replicates, which the function always draws, so ``n_resamples`` is the minimum, 2.
    """
    from ipstrial import economics
    from ipstrial.synthetic import REFERENCE_WTP

    qaly = economics.qaly_auc(data, ["eq5d_0", "eq5d_18m"], (0.0, 1.5), id="participant_id", name="qaly_18m")
    return economics.cost_effectiveness(
        data.assign(qaly_18m=qaly),
        "cost_total",
        "qaly_18m",
        wtp=REFERENCE_WTP,
        wtp_grid=[REFERENCE_WTP],
        baseline_utility="eq5d_0",
        n_resamples=2,
        seed=0,
        **_args(design),
    )


def _costs(data: pd.DataFrame, design: StudyDesign = DEFAULT_DESIGN) -> Any:
    from ipstrial import economics

    return economics.costs_by_category(data, ["cost_total"], total="total_of_categories", **_args(design))


ESTIMATORS: dict[str, StudyEstimator] = {
    e.name: e
    for e in (
        StudyEstimator("rd_wald", "employed_18m", "risk_difference", _proportions("wald")),
        StudyEstimator("rd_newcombe", "employed_18m", "risk_difference", _proportions("newcombe")),
        StudyEstimator(
            "rd_miettinen_nurminen", "employed_18m", "risk_difference", _proportions("miettinen-nurminen")
        ),
        StudyEstimator("rd_agresti_caffo", "employed_18m", "risk_difference", _proportions("agresti-caffo")),
        StudyEstimator("rd_adjusted_ye", "employed_18m", "risk_difference", _marginal),
        StudyEstimator("rd_adjusted_ge", "employed_18m", "risk_difference", _marginal_with("ge")),
        StudyEstimator("hours_mean_difference_cc", "hours_18m", "mean_difference", _hours),
        StudyEstimator("hours_mean_difference_mi", "hours_18m", "mean_difference", _hours_mi),
        StudyEstimator("weeks_rate_ratio", "weeks_employed_18m", "rate_ratio", _weeks),
        StudyEstimator("logrank", "days_to_job", "logrank", _logrank, has_truth=False),
        StudyEstimator("cox_hazard_ratio", "days_to_job", "hazard_ratio", _cox),
        StudyEstimator("rmst_difference", "days_to_job", "rmst_difference", _rmst),
        StudyEstimator(
            "cumulative_incidence", "days_to_job", "cumulative_incidence", _incidence, variant="t=548"
        ),
        StudyEstimator("delta_cost", "cost_total", "delta_cost", _costs),
        StudyEstimator("inmb", "cost_total, qaly_18m", "inmb", _inmb),
    )
}
"""The estimators of :func:`ipstrial.validation.run_study`, by name."""
