"""A seeded 50-replicate validation study of every built-in scenario: each estimator's bias, coverage, size
fall in wide bands that an unbiased estimator with a valid interval passes, and that gross errors fail.

The bands (justified for 50 replicates; the seed is fixed, so the test is deterministic, and the bands are
what keeps it meaningful when the code changes):

* bias: ``|bias| < 4 MCSE`` with ``MCSE = empirical SE / sqrt(R)`` (Morris et al. 2019, table 6); for an
  unbiased estimator a row fails with probability 6e-5, so about 0.6 % for the study's ~140 rows together.
* coverage: 95 % must lie inside the 99.9 % Clopper-Pearson interval of the covered count (at 50 replicates:
  a coverage of 44/50 = 88 % passes, 40/50 = 80 % fails);
* rejection under the null (``null``): 5 % inside the 99.9 % Clopper-Pearson interval of the rejections.

Known failures, documented in ``reports/validation.md``, are excluded from the coverage band and checked for
what they are: at n = 60 (``small``) the covariate-adjusted risk differences (the working logistic model with
six covariates and 20 participants per arm) and the Cox model; in ``mar`` the complete-case hours difference,
whose bias (-30 h against an SE of 30 h: 4 MCSE of 4.2 h away from 0 at 50 replicates) must show.
"""

from __future__ import annotations

import math

import pytest

from ipstrial.stats.proportions import clopper_pearson
from ipstrial.validation import SCENARIOS, run_study

REPS = 50
KNOWN = {
    "small": {"rd_adjusted_ye", "rd_adjusted_ge", "cox_hazard_ratio"},
    "mar": {"hours_mean_difference_cc"},
}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def study(request):
    return run_study(request.param, reps=REPS, seed=20261202, quiet=True)


def _band(count: float, total: int) -> tuple[float, float]:
    ci = clopper_pearson(round(count), total, conf=0.999)
    return ci.low, ci.high


def test_every_estimator_is_unbiased_within_four_monte_carlo_se(study):
    rows = study.table[study.table.truth.notna()]
    for row in rows.itertuples():
        if row.estimator in KNOWN.get(study.scenario, ()):
            continue
        mcse = row.empirical_se / math.sqrt(row.reps)
        assert abs(row.bias) < 4 * mcse, (study.scenario, row.estimator, row.contrast, row.bias, mcse)


def test_every_interval_covers_within_the_binomial_band(study):
    rows = study.table[study.table.coverage.notna()]
    assert len(rows) >= 20  # every estimator with a truth has its coverage
    for row in rows.itertuples():
        if row.estimator in KNOWN.get(study.scenario, ()):
            continue
        low, high = _band(row.coverage * row.reps, row.reps)
        assert low <= 0.95 <= high, (study.scenario, row.estimator, row.contrast, row.coverage)


def test_the_known_failures_show(study):
    table = study.table.set_index(["estimator", "contrast"])
    if study.scenario == "mar":
        cc = table.loc["hours_mean_difference_cc"]
        assert (cc.bias < -15).all()  # about -30 h; 3.5 MCSE from both -30 and 0
        mi = table.loc["hours_mean_difference_mi"]
        assert (mi.bias.abs() < 4 * mi.empirical_se / math.sqrt(REPS)).all()
    if study.scenario == "nonph":  # no single hazard ratio: no truth, only the rejection rate
        assert table.loc["cox_hazard_ratio"].truth.isna().all()
        assert table.loc["rmst_difference"].truth.notna().all()


def test_the_tests_hold_their_size_under_the_null(study):
    if study.scenario != "null":
        pytest.skip("the size is the rejection rate under the null only")
    rows = study.table[study.table.rejection_rate.notna()]
    assert len(rows) >= 20
    for row in rows.itertuples():
        low, high = _band(row.rejection_rate * row.reps, row.reps)
        assert low <= 0.05 <= high, (row.estimator, row.contrast, row.rejection_rate)


def test_nothing_fails_in_the_large_scenarios(study):
    if study.scenario == "small":
        # the working logistic model separates in a few trials of 60: counted, never silent
        assert set(study.table.loc[study.table.failed > 0, "estimator"]) <= KNOWN["small"]
    else:
        assert (study.table.failed == 0).all() and (study.table.reps == REPS).all()
