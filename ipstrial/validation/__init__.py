"""Monte Carlo validation of the package's estimators on synthetic trials with known truths.

:func:`run_study` draws replicate trials of a built-in scenario, runs the estimators of :data:`ESTIMATORS`
on each and reports, per estimator and contrast, the truth, bias, empirical and mean estimated SE, the
coverage of the 95 % interval with its Monte Carlo SE, the rejection rate and the failures
(``ipstrial validate`` on the command line). Replicate streams are spawned from one ``SeedSequence`` by
replicate index, so the table is the same serially and on any number of local processes.
"""

from ipstrial.validation._engine import COLUMNS, Study, run_study
from ipstrial.validation._estimators import ESTIMATORS, StudyEstimator
from ipstrial.validation._scenarios import SCENARIOS

__all__ = ["COLUMNS", "ESTIMATORS", "SCENARIOS", "Study", "StudyEstimator", "run_study"]
