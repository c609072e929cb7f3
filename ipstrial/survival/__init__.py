"""Time to first employment: Kaplan-Meier, log-rank, Cox, restricted mean survival time, competing risks.

Every estimator has the package's one signature, ``f(data, duration, event=None, arm=None,
treatment=None, control=None, *, ...)``: ``data`` is a DataFrame or an :class:`ipstrial.Trial` (whose
arm column, arms, control, id and duration-event pairs are then used), and the data pass the one input
gate (:func:`ipstrial.survival._inputs.prepare_survival`). Estimators of every arm (Kaplan-Meier,
log-rank, cumulative incidence, Gray's test) analyse every arm unless ``treatment``/``control`` say
otherwise; results list arms in the declared order.

Event codes: 0 censored, 1 the event of interest (first employment or education), 2+ competing
events (e.g. disability pension, death). Durations are in days unless ``unit=`` says otherwise; times
that differ only by floating-point noise are tied, as R's survival package does (``timefix=True``).

Modules: :mod:`~ipstrial.survival.kaplan_meier`, :mod:`~ipstrial.survival.logrank`,
:mod:`~ipstrial.survival.cox`, :mod:`~ipstrial.survival.rmst`, :mod:`~ipstrial.survival.incidence`
(cumulative incidence and Gray's test) and :mod:`~ipstrial.survival.fine_gray`.
"""

from ipstrial.survival.cox import CoxResult, cox
from ipstrial.survival.fine_gray import FineGrayResult, fine_gray
from ipstrial.survival.incidence import (
    CumulativeIncidenceResult,
    GrayTestResult,
    cumulative_incidence,
    gray_test,
)
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
