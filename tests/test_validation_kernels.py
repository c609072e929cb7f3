"""The vectorised kernels of the validation study (ipstrial.validation._kernels) against the reference path.

For each of the six kernels, on 20 replicate trials of each of the inklusion, null and small scenarios, the
records equal those of the public estimator the study calls (its rows picked as the engine picks them);
the kernels handle (nearly) every replicate, so the comparison is not vacuous; a frame the public
estimator refuses gets None (the engine then runs the estimator, which raises); a frame's records do not
depend on the other frames of its batch, to the bit; the separation screen of the Cox kernel is the
package's rule.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from ipstrial.errors import EstimationError
from ipstrial.synthetic import simulate_trial
from ipstrial.validation import ESTIMATORS
from ipstrial.validation._kernels import KERNELS
from ipstrial.validation._scenarios import scenario_of

SIX = ("rd_newcombe", "rd_adjusted_ye", "logrank", "cox_hazard_ratio", "rmst_difference", "delta_cost")
SCENARIOS = ("inklusion", "null", "small")
REPS = 20
SEED = 2024
FIELDS = ("estimate", "se", "ci_low", "ci_high", "p_value")
# Tolerance. The kernels evaluate the reference's formulas with the sums in another order, and their fits
# reach the reference's point by the same iteration (the logistic fit: Newton's method to the maximum
# likelihood, which it reaches to rounding; the Cox fit: lifelines' Newton-Raphson step for step, to the
# step where lifelines stops), so the two paths differ by floating-point rounding only: at most 4e-13
# relative on these replicates. RTOL = 1e-9 leaves room for other CPUs and BLAS builds and is far below
# anything a study can see (Monte Carlo errors of 1e-3 of an SE). It still catches a kernel that computes
# something else: e.g. a Cox fit iterated to the exact maximum instead of where lifelines stops misses by
# up to 2e-7 at n = 60. The relative error is taken against max(|reference|, scale), scale the unit of
# the estimator's numbers, so that an estimate near 0 is compared on the scale of its measurement.
# p-values are compared relative to themselves (a p of 1e-12 is as exact as one of 0.3).
RTOL = 1e-9
SCALE = {
    "rd_newcombe": 1.0,  # risk difference
    "rd_adjusted_ye": 1.0,
    "logrank": 1.0,  # chi-square statistic
    "cox_hazard_ratio": 1.0,  # hazard ratio, log-scale SE
    "rmst_difference": 548.0,  # days (tau)
    "delta_cost": 100_000.0,  # DKK, the order of a participant's costs
}
# The Newcombe kernel calls the reference's own functions of the same integer counts: equal to the bit.
EXACT = {"rd_newcombe"}


@functools.cache
def _frames(scenario: str) -> tuple:
    sc, n = scenario_of(scenario)
    return tuple(
        simulate_trial(sc, n=n, seed=np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(r,))))
        for r in range(REPS)
    )


def reference(key: str, data) -> list[dict] | Exception:
    """The public estimator's records of one trial (its rows of the study's estimand, picked as the engine
    does; the hazard ratio's SE on the log scale), or the exception it raised."""
    est = ESTIMATORS[key]
    try:
        result = est.run(data)
    except Exception as exc:  # noqa: BLE001 - a refused trial is a case of its own
        return exc
    rows = [
        r
        for r in result.rows()
        if (r.estimand, r.variant, r.outcome) == (est.estimand, est.variant, est.outcome)
    ]
    out = []
    for r in rows:
        se = r.extras["se_log_hr"] if est.estimand == "hazard_ratio" else r.se
        out.append(
            {"contrast": r.contrast, "estimate": r.estimate, "se": se, "ci_low": r.ci_low}
            | {"ci_high": r.ci_high, "p_value": r.p_value}
        )
    return out


@functools.cache
def _references(key: str, scenario: str) -> tuple:
    return tuple(reference(key, f) for f in _frames(scenario))


def _agrees(key: str, field: str, mine: float, theirs: float) -> bool:
    if math.isnan(theirs) or math.isnan(mine):
        return math.isnan(theirs) and math.isnan(mine)
    if key in EXACT:
        return mine == theirs
    if field == "p_value":
        return abs(mine - theirs) <= RTOL * theirs
    return abs(mine - theirs) <= RTOL * max(abs(theirs), SCALE[key])


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("key", SIX)
def test_the_kernel_gives_the_public_estimators_records(key, scenario):
    frames = _frames(scenario)
    got = KERNELS[key](list(frames))
    assert len(got) == len(frames)
    handled = 0
    for rep, (records, expected) in enumerate(zip(got, _references(key, scenario), strict=True)):
        if records is None:  # left to the public estimator by the engine
            continue
        assert not isinstance(expected, Exception), f"replicate {rep}: records where the estimator raises"
        assert [r["contrast"] for r in records] == [r["contrast"] for r in expected]
        for mine, theirs in zip(records, expected, strict=True):
            for field in FIELDS:
                assert _agrees(key, field, mine[field], theirs[field]), (
                    rep,
                    mine["contrast"],
                    field,
                    mine,
                    theirs,
                )
        handled += 1
    # these replicates have nothing unusual: the kernel must do the work (a kernel returning None would pass
    # the comparison vacuously); 2 of 20 are allowed to the Ye kernel's caution (fitted probabilities within
    # 1e-7 of 0 or 1 at n = 60, where the reference looks for separation before going on)
    assert handled >= REPS - 2


def _duplicated_id(f):
    f.loc[1, "participant_id"] = f.loc[0, "participant_id"]


def _near_miss_arm(f):
    f.loc[3, "arm"] = "IPS "


def _not_binary(f):
    f.loc[3, "employed_18m"] = 2


def _nobody_employed(f):
    f["employed_18m"] = 0


def _separated_level(f):  # every participant with higher education employed
    f.loc[f.education == "higher", "employed_18m"] = 1


def _no_events(f):
    f["event"] = 0


def _arm_without_events(f):
    f.loc[f.arm == "IPSE", "event"] = 0


def _level_without_events(f):  # separation in the Cox model: a diagnosis whose hazard ratio is 0
    f.loc[f.diagnosis == "bipolar", "event"] = 0


def _tau_beyond_follow_up(f):  # SAU followed up to day 500 at most, tau is 548
    sau = f.arm == "SAU"
    f.loc[sau, "days_to_job"] = np.minimum(f.loc[sau, "days_to_job"], 500)


def _negative_cost(f):
    f.loc[3, "cost_total"] = -1


EDGES = [
    *((key, _duplicated_id) for key in SIX),
    *((key, _near_miss_arm) for key in SIX),
    ("rd_newcombe", _not_binary),
    ("rd_adjusted_ye", _nobody_employed),
    ("rd_adjusted_ye", _separated_level),
    ("logrank", _no_events),
    ("cox_hazard_ratio", _no_events),
    ("cox_hazard_ratio", _arm_without_events),
    ("cox_hazard_ratio", _level_without_events),
    ("rmst_difference", _tau_beyond_follow_up),
    ("delta_cost", _negative_cost),
]


@pytest.mark.parametrize(("key", "edge"), EDGES, ids=[f"{k}-{e.__name__[1:]}" for k, e in EDGES])
def test_a_trial_the_public_estimator_refuses_gets_none(key, edge):
    good = list(_frames("inklusion")[:2])
    bad = good[0].copy()
    edge(bad)
    assert isinstance(reference(key, bad), Exception), "the edge is not one: the public estimator accepts it"
    got = KERNELS[key]([good[0], bad, good[1]])
    assert got[1] is None
    assert got[0] is not None and got[2] is not None  # its batch-mates are computed as ever


def test_an_arm_of_one_participant_is_left_to_the_public_estimator():
    data = _frames("inklusion")[0]
    ipse = np.flatnonzero(data.arm == "IPSE")
    lonely = data.drop(index=data.index[ipse[1:]]).reset_index(drop=True)
    with pytest.raises(EstimationError, match="fewer than 2 participants"):
        ESTIMATORS["delta_cost"].run(lonely)
    assert KERNELS["delta_cost"]([lonely]) == [None]


def _bits(records: list) -> list:
    """Records with every float as its exact hexadecimal text (NaN included): equal text, equal bits."""
    return [
        None if rows is None else [(r["contrast"], *(float(r[f]).hex() for f in FIELDS)) for r in rows]
        for rows in records
    ]


@pytest.mark.parametrize("key", SIX)
def test_a_trials_records_do_not_depend_on_its_batch(key):
    """The engine promises the same bits whatever the batch size: a frame's records are the same alone, in
    a batch, in another order and beside trials of another size or a refused one."""
    broken = _frames("inklusion")[5].copy()
    _duplicated_id(broken)
    frames = [*_frames("inklusion")[:6], *_frames("small")[:4], broken]
    kernel = KERNELS[key]
    together = _bits(kernel(frames))
    assert together[-1] is None and sum(r is None for r in together) <= 2
    assert together == _bits([kernel([f])[0] for f in frames])
    assert together == _bits(kernel(frames[::-1]))[::-1]


def test_the_cox_separation_screen_is_the_packages_rule():
    """``separated`` against :func:`ipstrial.survival._arm_models.check_separation` on small random data
    (within two strata, a 0/1 level or a number with few values), where monotone likelihoods are common."""
    from ipstrial.survival._arm_models import check_separation
    from ipstrial.validation._kernels_cox import separated
    from ipstrial.validation._kernels_survival import risk_runs

    rng = np.random.default_rng(3)
    found = {True: 0, False: 0}
    for case in range(300):
        n = 10
        strata = rng.integers(0, 2, n)
        time = rng.integers(1, 5, n).astype(float)
        status = (rng.random(n) < 0.5).astype(float)
        values = rng.integers(0, 2 if case % 2 else 4, n).astype(float)
        level = "1" if case % 2 else None
        try:
            check_separation(time, status.astype(np.int64), [("x", level, values)], strata)
            expected = False
        except EstimationError:
            expected = True
        runs = risk_runs(time, status, strata)
        assert separated(runs, values[None, :, None], status[None, :], 2)[0] == expected, case
        found[expected] += 1
    assert min(found.values()) > 30  # both kinds of case were met
