"""Time to first employment: Kaplan-Meier, log-rank, Cox, restricted mean survival time, competing risks.

Event codes: 0 censored, 1 the event of interest (first employment or education), 2+ competing
events (e.g. disability pension, death). Durations are in days unless ``unit=`` says otherwise.
"""

from ipstrial.survival.competing import (
    CumulativeIncidenceResult,
    FineGrayResult,
    GrayTestResult,
    cumulative_incidence,
    fine_gray,
    gray_test,
)
from ipstrial.survival.cox import CoxResult, cox
from ipstrial.survival.kaplan_meier import KaplanMeierResult, kaplan_meier
from ipstrial.survival.logrank import LogrankPermutationResult, LogrankResult, logrank, logrank_permutation
from ipstrial.survival.rmst import RMSTResult, rmst

__all__ = [
    "CoxResult",
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "GrayTestResult",
    "KaplanMeierResult",
    "LogrankPermutationResult",
    "LogrankResult",
    "RMSTResult",
    "cox",
    "cumulative_incidence",
    "fine_gray",
    "gray_test",
    "kaplan_meier",
    "logrank",
    "logrank_permutation",
    "rmst",
]
