"""The estimators a validation study runs on each replicate trial, each with the truth it estimates.

Each :class:`StudyEstimator` calls one public estimator of the package on a replicate's data frame and picks
its rows of one estimand; its truth is the scenario's exact value of that estimand
(:attr:`ipstrial.synthetic.Scenario.truth`, keyed by outcome, estimand and contrast). Nothing here
estimates: the study measures the package's own functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ESTIMATORS", "StudyEstimator"]

_ARGS: dict[str, Any] = {"arm": "arm", "treatment": ["IPS", "IPSE"], "control": "SAU", "id": "participant_id"}
_COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
_TAU = 548.0


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
        ``run(data) -> Result``: the public call.
    variant
        The rows' variant ("" for the primary rows).
    has_truth
        False for a test without an estimand (log-rank): only its rejection rate is reported.
    """

    name: str
    outcome: str
    estimand: str
    run: Callable[[pd.DataFrame], Any]
    variant: str = ""
    has_truth: bool = True


def _proportions(method: str) -> Callable[[pd.DataFrame], Any]:
    def run(data: pd.DataFrame) -> Any:
        from ipstrial import itt

        return itt.compare_proportions(data, "employed_18m", method=method, **_ARGS)

    return run


def _marginal(data: pd.DataFrame) -> Any:
    from ipstrial import itt

    return itt.marginal_effect(
        data, "employed_18m", covariates=_COVARIATES, strata=["site", "employed_prev5y"], **_ARGS
    )


def _hours(data: pd.DataFrame) -> Any:
    from ipstrial import itt

    return itt.adjusted_mean_difference(data, "hours_18m", covariates=[], missing="complete-case", **_ARGS)


def _weeks(data: pd.DataFrame) -> Any:
    from ipstrial import itt

    return itt.rate_ratio(data, "weeks_employed_18m", **_ARGS)


def _logrank(data: pd.DataFrame) -> Any:
    from ipstrial import survival

    args = dict(_ARGS, treatment="IPS")
    return survival.logrank(data, "days_to_job", "event", **args)


def _cox(data: pd.DataFrame) -> Any:
    from ipstrial import survival

    return survival.cox(data, "days_to_job", "event", covariates=_COVARIATES, strata="site", **_ARGS)


def _rmst(data: pd.DataFrame) -> Any:
    from ipstrial import survival

    return survival.rmst(data, "days_to_job", "event", tau=_TAU, **_ARGS)


def _incidence(data: pd.DataFrame) -> Any:
    from ipstrial import survival

    return survival.cumulative_incidence(data, "days_to_job", "event", times=_TAU, test=False, **_ARGS)


def _costs(data: pd.DataFrame) -> Any:
    from ipstrial import economics

    return economics.costs_by_category(data, ["cost_total"], total="total_of_categories", **_ARGS)


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
        StudyEstimator("hours_mean_difference_cc", "hours_18m", "mean_difference", _hours),
        StudyEstimator("weeks_rate_ratio", "weeks_employed_18m", "rate_ratio", _weeks),
        StudyEstimator("logrank", "days_to_job", "logrank", _logrank, has_truth=False),
        StudyEstimator("cox_hazard_ratio", "days_to_job", "hazard_ratio", _cox),
        StudyEstimator("rmst_difference", "days_to_job", "rmst_difference", _rmst),
        StudyEstimator(
            "cumulative_incidence", "days_to_job", "cumulative_incidence", _incidence, variant="t=548"
        ),
        StudyEstimator("delta_cost", "cost_total", "delta_cost", _costs),
    )
}
"""The estimators of :func:`ipstrial.validation.run_study`, by name."""
