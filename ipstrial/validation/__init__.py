"""Monte Carlo validation of the package's estimators on synthetic trials with known truths.

:func:`run_study` draws replicate trials of a scenario (a built-in name of :data:`SCENARIOS` or your own
:class:`~ipstrial.synthetic.Scenario`), runs the estimators of :data:`ESTIMATORS` on each and reports, per
estimator and contrast, the truth, bias, empirical and mean estimated SE, the coverage of the 95 % interval
with its Monte Carlo SE, the rejection rate and the failures (``ipstrial validate`` on the command line);
:meth:`Study.plot` draws them.

Replicate streams are spawned from one ``SeedSequence`` by replicate index, so the table is the same bits
serially, on any number of local processes and on a Dask cluster (``scheduler=`` / ``client=``). Replicates
go out in batches; the core estimators have vectorised kernels for a whole batch (``fast=True``, pinned to
the public estimators to rounding error); finished batches kept in ``out_dir`` let an interrupted study
resume. :func:`ipstrial.power.simulated_power` uses the same engine for power and sample size.
"""

from ipstrial.validation._engine import COLUMNS, MAX_REPS, Study, run_study
from ipstrial.validation._estimators import ESTIMATORS, StudyEstimator
from ipstrial.validation._scenarios import SCENARIOS

__all__ = ["COLUMNS", "ESTIMATORS", "MAX_REPS", "SCENARIOS", "Study", "StudyEstimator", "run_study"]
