"""Every public estimator applies the one input gate: the same bad data give the same clear error everywhere.

For each estimator a minimal call on the synthetic trial is run on a DataFrame and on the Trial, then on
data with one defect each: a duplicated participant id, a missing arm, a near-miss arm label, arms coded as
whole numbers, a repeated column name, a bad alpha, a treatment equal to the control, an explicit control.
The defects come from the issue's list of inputs that gave silently wrong analyses or raw tracebacks.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ipstrial import economics, itt, missing, randomization, survival
from ipstrial.errors import IpstrialError, ParameterError, TrialDataError

COVS = ["age", "sex"]
ROLE = {"arm": "arm", "id": "participant_id"}

#: estimator name -> (call taking data and keyword arguments, does it compare arms with a control?)
CALLS = {
    "itt.compare_proportions": (lambda d, **k: itt.compare_proportions(d, "employed_18m", **k), True),
    "itt.compare_means": (
        lambda d, **k: itt.compare_means(d, "weeks_employed_18m", n_resamples=50, seed=1, **k),
        True,
    ),
    "itt.adjusted_mean_difference": (
        lambda d, **k: itt.adjusted_mean_difference(d, "weeks_employed_18m", covariates=COVS, **k),
        True,
    ),
    "itt.two_part": (
        lambda d, **k: itt.two_part(d, "weeks_employed_18m", n_resamples=20, seed=1, **k),
        True,
    ),
    "itt.rate_ratio": (lambda d, **k: itt.rate_ratio(d, "weeks_employed_18m", **k), True),
    "itt.hodges_lehmann": (lambda d, **k: itt.hodges_lehmann(d, "weeks_employed_18m", **k), True),
    "itt.mantel_haenszel": (lambda d, **k: itt.mantel_haenszel(d, "employed_18m", strata="site", **k), True),
    "itt.marginal_effect": (
        lambda d, **k: itt.marginal_effect(d, "employed_18m", covariates=COVS, **k),
        True,
    ),
    "itt.subgroups": (lambda d, **k: itt.subgroups(d, "employed_18m", by="sex", **k), True),
    "missing.multiple_imputation": (
        lambda d, **k: missing.multiple_imputation(d, "hours_18m", kind="continuous", m=3, seed=1, **k),
        True,
    ),
    "missing.bounds": (
        lambda d, **k: missing.bounds(d, "hours_18m", kind="continuous", low=0, high=2000, **k),
        True,
    ),
    "survival.kaplan_meier": (lambda d, **k: survival.kaplan_meier(d, "days_to_job", "event", **k), False),
    "survival.logrank": (lambda d, **k: survival.logrank(d, "days_to_job", "event", **k), False),
    "survival.logrank_permutation": (
        lambda d, **k: survival.logrank_permutation(d, "days_to_job", "event", n_resamples=50, seed=1, **k),
        True,
    ),
    "survival.cox": (lambda d, **k: survival.cox(d, "days_to_job", "event", **k), True),
    "survival.rmst": (lambda d, **k: survival.rmst(d, "days_to_job", "event", tau=548, **k), True),
    "survival.cumulative_incidence": (
        lambda d, **k: survival.cumulative_incidence(d, "days_to_job", "event", times=548, **k),
        False,
    ),
    "survival.gray_test": (lambda d, **k: survival.gray_test(d, "days_to_job", "event", **k), False),
    "survival.fine_gray": (lambda d, **k: survival.fine_gray(d, "days_to_job", "event", **k), True),
    "economics.cost_effectiveness": (
        lambda d, **k: economics.cost_effectiveness(
            d, "cost_total", "employed_18m", wtp=200_000, n_resamples=50, seed=1, **k
        ),
        True,
    ),
    "economics.incremental_from_data": (
        lambda d, **k: economics.incremental_from_data(d, "cost_total", "employed_18m", **k),
        False,
    ),
    "economics.acceptability_frontier": (
        lambda d, **k: economics.acceptability_frontier(
            d, "cost_total", "employed_18m", n_resamples=50, seed=1, **k
        ),
        False,
    ),
    "economics.costs_by_category": (
        lambda d, **k: economics.costs_by_category(d, ["cost_jobcentre", "cost_social"], **k),
        True,
    ),
    "randomization.balance": (lambda d, **k: randomization.balance(d, ["age", "sex"], **k), False),
    "randomization.rerandomization_test": (
        lambda d, **k: randomization.rerandomization_test(
            d, "employed_18m", design={"scheme": "permutation"}, n_resamples=50, seed=1, **k
        ),
        True,
    ),
}


def kwargs(contrast: bool, **extra):
    base = dict(ROLE)
    if contrast:
        base |= {"treatment": "IPS", "control": "SAU"}
    return base | extra


@pytest.fixture(scope="module")
def base(frame) -> pd.DataFrame:
    return frame


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_trial_gives_the_same_numbers_as_the_data_frame(name, base, trial):
    call, contrast = CALLS[name]
    options = kwargs(contrast, treatment=["IPS", "IPSE"]) if contrast else kwargs(False)
    from_frame = call(base, **options)
    from_trial = call(trial)
    columns = ["contrast", "estimand", "variant", "estimate", "se"]
    pd.testing.assert_frame_equal(from_frame.to_frame()[columns], from_trial.to_frame()[columns])
    b = from_trial.to_frame()
    key = ["analysis", "outcome", "contrast", "estimand", "variant"]
    assert not b.duplicated(key).any(), b[b.duplicated(key, keep=False)][key]
    assert from_trial.inputs is not None and from_trial.inputs.n > 0


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_duplicated_participant_id_is_an_error(name, base):
    call, contrast = CALLS[name]
    data = base.copy()
    data.loc[5, "participant_id"] = data.loc[2, "participant_id"]
    with pytest.raises(TrialDataError, match=r"duplicated participant id.*P0003"):
        call(data, **kwargs(contrast))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_missing_arm_is_an_error(name, base):
    call, contrast = CALLS[name]
    data = base.copy()
    data.loc[3, "arm"] = np.nan
    with pytest.raises(TrialDataError, match=r"without an arm.*P0004"):
        call(data, **kwargs(contrast))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_near_miss_arm_label_is_an_error(name, base):
    call, contrast = CALLS[name]
    data = base.copy()
    first_ips = data.index[data.arm == "IPS"][:2]
    data.loc[first_ips, "arm"] = "IPS "
    with pytest.raises(TrialDataError, match=r"'IPS ' \(2\), probably 'IPS'"):
        call(data, **kwargs(contrast))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_arms_coded_as_numbers_display_as_labels(name, base):
    call, contrast = CALLS[name]
    data = base.copy()
    data["arm"] = data["arm"].map({"IPS": 1, "IPSE": 2, "SAU": 0})
    options = kwargs(contrast, treatment=1, control=0) if contrast else kwargs(False)
    result = call(data, **options)
    frame = result.to_frame()
    labels = set(frame["contrast"])
    words = {word for label in labels for word in label.split(" vs ")}
    assert words <= {"0", "1", "2"} or labels & {"1 vs 0", "1", "0", "2"}, labels
    assert not {"IPS", "SAU", "IPSE"} & words
    assert "1" in result.summary() and result._repr_html_()
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_rows_of_another_arm_are_counted_as_outside(name, base):
    call, contrast = CALLS[name]
    if not contrast:
        options = kwargs(False, treatment="IPS", control="SAU")
    else:
        options = kwargs(True)
    if name == "itt.marginal_effect":  # the working model uses every randomised arm (RobinCar2) ...
        assert dict(call(base, **options).inputs.outside) == {}
        options["model_arms"] = "compared"  # ... unless restricted to the compared arms
    result = call(base, **options)
    assert dict(result.inputs.outside) == {"IPSE": int((base.arm == "IPSE").sum())}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_repeated_column_name_is_an_error(name, base):
    call, contrast = CALLS[name]
    data = pd.concat([base, base[["arm"]]], axis=1)
    with pytest.raises(TrialDataError, match="occurs 2 times"):
        call(data, **kwargs(contrast))


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("alpha", ["0.05", None, 1.5])
def test_a_bad_alpha_is_a_clear_parameter_error(name, alpha, base):
    call, contrast = CALLS[name]
    try:
        call(base, **kwargs(contrast, alpha=alpha))
    except ParameterError as exc:
        assert "alpha must be a number between 0 and 1" in str(exc)
    except TypeError as exc:  # an estimator without intervals takes no alpha
        if "unexpected keyword argument 'alpha'" in str(exc):
            pytest.skip("no alpha")
        raise AssertionError(f"raw TypeError: {exc}") from exc
    else:
        raise AssertionError("alpha accepted")


@pytest.mark.parametrize("name", sorted(n for n, (_, c) in CALLS.items() if c))
def test_treatment_equal_to_control_is_a_parameter_error(name, base):
    call, _ = CALLS[name]
    with pytest.raises(ParameterError, match="same arm 'SAU'"):
        call(base, **kwargs(True, treatment="SAU"))


@pytest.mark.parametrize("name", sorted(n for n, (_, c) in CALLS.items() if c))
def test_an_explicit_control_is_used(name, trial):
    call, _ = CALLS[name]
    result = call(trial, control="IPSE")
    contrasts = {c for c in result.to_frame().contrast if " vs " in c}
    assert contrasts and all(c.endswith(" vs IPSE") for c in contrasts), contrasts
    assert set(result.inputs.arms) == {"IPS", "IPSE", "SAU"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_errors_name_rows_by_position_without_an_id_column(name, base):
    call, contrast = CALLS[name]
    data = base.copy()
    data.loc[3, "arm"] = np.nan
    options = kwargs(contrast)
    options.pop("id")
    with pytest.raises(TrialDataError, match=r"row at position 3"):
        call(data, **options)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_list_or_tuple_is_not_a_data_frame(name):
    call, contrast = CALLS[name]
    with pytest.raises(IpstrialError, match="expected a pandas DataFrame or an ipstrial.Trial"):
        call([1, 2, 3], **kwargs(contrast))


def _with_gaps(trial) -> pd.DataFrame:
    """The trial's data with every tenth binary outcome missing (for the tipping-point analysis)."""
    data = trial.data.copy()
    data.loc[data.index[::10], "employed_18m"] = np.nan
    return data


#: replicating estimators and a call asking for far more replicates than memory allows
HUGE = {
    "itt.compare_means": lambda d: itt.compare_means(d, "weeks_employed_18m", n_resamples=10**9, seed=1),
    "itt.two_part": lambda d: itt.two_part(d, "weeks_employed_18m", n_resamples=10**9, seed=1),
    "itt.marginal_effect": lambda d: itt.marginal_effect(
        d, "employed_18m", covariates=COVS, variance="bootstrap", n_resamples=10**9, seed=1
    ),
    "missing.multiple_imputation": lambda d: missing.multiple_imputation(
        d, "hours_18m", kind="continuous", m=10**7, seed=1
    ),
    "missing.tipping_point": lambda d: missing.tipping_point(
        _with_gaps(d), "employed_18m", "arm", "IPS", "SAU", m=10**7, seed=1
    ),
    "survival.logrank_permutation": lambda d: survival.logrank_permutation(
        d, "days_to_job", n_resamples=10**10, seed=1
    ),
    "economics.cost_effectiveness": lambda d: economics.cost_effectiveness(
        d, "cost_total", "employed_18m", wtp=200_000, n_resamples=10**9, seed=1
    ),
    "economics.acceptability_frontier": lambda d: economics.acceptability_frontier(
        d, "cost_total", "employed_18m", n_resamples=10**9, seed=1
    ),
    "randomization.rerandomization_test": lambda d: randomization.rerandomization_test(
        d, "employed_18m", treatment="IPS", design={"scheme": "permutation"}, n_resamples=10**10, seed=1
    ),
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_replication_over_the_memory_budget_is_refused_before_it_starts(name, trial):
    from ipstrial.errors import MemoryBudgetError

    with pytest.raises(MemoryBudgetError, match=r"would need about .* over the budget of 2 GiB"):
        HUGE[name](trial)
