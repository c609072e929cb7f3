"""Policies for missing outcomes: Rubin's rules, multiple imputation, bounds, tipping points.

Independent references: R's mice::pool.scalar (tests/reference/missing.R -> missing.json), closed
forms computed by hand (fractions), the exact truths of the synthetic trial (INKLUSION.truth) on
large samples, and hand-computed extreme-case analyses.
"""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipstrial.errors import ParameterError, TrialDataError
from ipstrial.missing import bounds, multiple_imputation, rubin, tipping_point
from ipstrial.synthetic import INKLUSION, simulate_trial

REFERENCE = json.loads((Path(__file__).parent / "reference" / "missing.json").read_text())
ID = "participant_id"


def _truth(outcome: str, estimand: str, contrast: str) -> float:
    t = INKLUSION.truth
    return float(
        t.loc[(t.outcome == outcome) & (t.estimand == estimand) & (t.contrast == contrast), "value"].item()
    )


# ----------------------------------------------------------------------------- Rubin's rules
def test_rubin_closed_form_rubin_1987_df():
    # Q = (1, 2, 3), U = (1, 1, 1): Q̄ = 2, W̄ = 1, B = 1, T = 1 + 4/3 = 7/3, r = 4/3,
    # λ = 4/7, ν = (m - 1)/λ² = 49/8, γ = (r + 2/(ν + 3))/(r + 1) = 340/511.
    r = rubin([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    assert r.m == 3
    assert r.estimate == pytest.approx(2.0, abs=1e-15)
    assert r.within == pytest.approx(1.0, abs=1e-15)
    assert r.between == pytest.approx(1.0, abs=1e-15)
    assert r.total == pytest.approx(7 / 3, rel=1e-14)
    assert r.se == pytest.approx(math.sqrt(7 / 3), rel=1e-14)
    assert r.riv == pytest.approx(4 / 3, rel=1e-14)
    assert r.lambda_ == pytest.approx(4 / 7, rel=1e-14)
    assert r.df == pytest.approx(49 / 8, rel=1e-14)
    assert r.fmi == pytest.approx(340 / 511, rel=1e-14)
    crit = stats.t.ppf(0.975, 49 / 8)
    assert r.ci_low == pytest.approx(2 - crit * math.sqrt(7 / 3), rel=1e-12)
    assert r.ci_high == pytest.approx(2 + crit * math.sqrt(7 / 3), rel=1e-12)
    assert r.p_value == pytest.approx(2 * stats.t.sf(2 / math.sqrt(7 / 3), 49 / 8), rel=1e-12)


def test_rubin_closed_form_barnard_rubin_df():
    # same data, n = 11, k = 1: ν_com = 10, ν_obs = (11/13)·10·(1 - 4/7) = 330/91,
    # ν = ν_old ν_obs / (ν_old + ν_obs) with ν_old = 49/8.
    nu_old, nu_obs = Fraction(49, 8), Fraction(11, 13) * 10 * (1 - Fraction(4, 7))
    nu = nu_old * nu_obs / (nu_old + nu_obs)
    r = rubin([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], n_obs=11)
    assert r.df == pytest.approx(float(nu), rel=1e-14)
    r_riv = Fraction(4, 3)
    assert r.fmi == pytest.approx(float((r_riv + 2 / (nu + 3)) / (r_riv + 1)), rel=1e-14)
    assert r.dfcom == 10


def test_rubin_without_between_variance_is_the_complete_data_analysis():
    r = rubin([0.3, 0.3, 0.3, 0.3], [0.01, 0.02, 0.03, 0.02])
    assert r.between == 0.0 and r.total == pytest.approx(0.02, rel=1e-14)
    assert r.df == math.inf and r.fmi == 0.0 and r.riv == 0.0
    z = stats.norm.ppf(0.975)
    assert r.ci_low == pytest.approx(0.3 - z * math.sqrt(0.02), rel=1e-12)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(0.3 / math.sqrt(0.02)), rel=1e-12)


@pytest.mark.parametrize(
    "case", REFERENCE["cases"], ids=[f"{c['name']}-n{c['n']}-k{c['k']}" for c in REFERENCE["cases"]]
)
def test_rubin_matches_mice_pool_scalar(case):
    r = rubin(case["estimates"], case["variances"], case["n"], k=case["k"])
    pairs = {
        "estimate": "qbar",
        "within": "ubar",
        "between": "b",
        "total": "t",
        "riv": "r",
        "df": "df",
        "fmi": "fmi",
        "ci_low": "ci_low",
        "ci_high": "ci_high",
        "p_value": "p_value",
    }
    for ours, theirs in pairs.items():
        assert getattr(r, ours) == pytest.approx(case[theirs], rel=1e-8), ours


def test_rubin_rejects_bad_input():
    with pytest.raises(ParameterError, match="at least 2 imputations"):
        rubin([1.0], [0.1])
    with pytest.raises(ParameterError, match="non-negative"):
        rubin([1.0, 2.0], [0.1, -0.1])
    with pytest.raises(ParameterError, match="same length"):
        rubin([1.0, 2.0], [0.1])
    with pytest.raises(ParameterError, match="n_obs - k"):
        rubin([1.0, 2.0], [0.1, 0.1], n_obs=1)
    with pytest.raises(ParameterError, match="finite"):
        rubin([1.0, np.nan], [0.1, 0.1])
    with pytest.raises(ParameterError, match="alpha"):
        rubin([1.0, 2.0], [0.1, 0.1], alpha="0.05")
    with pytest.raises(ParameterError, match="estimand"):
        rubin([1.0, 2.0], [0.1, 0.1], estimand="average")
    with pytest.raises(TypeError):
        rubin([1.0, 2.0], [0.1, 0.1], 10, 1)  # k is keyword-only


def test_rubin_row():
    row = rubin([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], estimand="mean_difference", contrast="A vs B").rows()[0]
    assert row.estimand == "mean_difference" and row.contrast == "A vs B"
    assert row.analysis == "missing_rubin" and row.variant == ""
    assert dict(row.extra)["m"] == 3
    renamed = rubin([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], analysis="sensitivity_pooled", alpha=0.1).rows()[0]
    assert renamed.analysis == "sensitivity_pooled" and renamed.conf_level == pytest.approx(0.9)


# ----------------------------------------------------------------------------- multiple imputation
def test_mi_recovers_the_hours_truth(covariates):
    """Default scenario: hours_18m is missing at random given covariates and arm (about 15 %)."""
    data = simulate_trial(n=40_000, seed=7)
    assert data["hours_18m"].isna().mean() > 0.1
    result = multiple_imputation(
        data, "hours_18m", "arm", "IPS", "SAU", covariates=covariates, kind="continuous", m=5, seed=1, id=ID
    )
    pooled = result.contrasts["IPS vs SAU"]
    truth = _truth("hours_18m", "mean_difference", "IPS vs SAU")
    assert abs(pooled.estimate - truth) < 4 * pooled.se
    for arm in ("IPS", "SAU"):
        assert abs(result.arms[arm].estimate - _truth("hours_18m", "mean", arm)) < 4 * result.arms[arm].se
    assert result.n_iter == 1  # only the outcome is missing: one sweep is exact
    assert result.missing == {
        a: int(data.loc[data.arm == a, "hours_18m"].isna().sum()) for a in ("IPS", "SAU")
    }
    frame = result.to_frame()
    assert list(frame.estimand) == ["mean", "mean", "mean_difference"]  # the arms first, then the contrast
    assert frame.loc[2, "missing_control"] == result.missing["SAU"]
    assert 0 < frame.loc[2, "fmi"] < 1
    assert frame.p_value[:2].isna().all() and 0 <= frame.loc[2, "p_value"] <= 1


def test_mi_removes_the_complete_case_bias(covariates):
    """Strong MAR: the same trial with interview non-response much more selective and arm-dependent.

    Non-response changes only which hours are recorded, so the truths (complete-data means,
    before non-response) are those of INKLUSION.
    """
    scenario = dataclasses.replace(
        INKLUSION,
        hours_missing=(0.05, 0.05, 0.30),
        missing_effects=(
            ("age_per_10y", 0.8),
            ("substance_use", 1.5),
            ("employed_prev5y", -2.0),
            ("education:higher", -1.0),
        ),
    )
    data = simulate_trial(scenario, n=40_000, seed=7)
    truth = _truth("hours_18m", "mean_difference", "IPS vs SAU")
    result = multiple_imputation(
        data, "hours_18m", "arm", "IPS", "SAU", covariates=covariates, kind="continuous", m=5, seed=3, id=ID
    )
    pooled = result.contrasts["IPS vs SAU"]
    mi_bias = abs(pooled.estimate - truth)
    hours = data.groupby("arm")["hours_18m"].mean()
    cc_bias = abs(hours["IPS"] - hours["SAU"] - truth)
    assert mi_bias < 4 * pooled.se
    assert cc_bias > 3 * pooled.se  # complete case is clearly biased here ...
    assert cc_bias > mi_bias  # ... and more than multiple imputation


def test_mi_recovers_the_employment_truth_under_own_mar(covariates):
    data = simulate_trial(n=40_000, seed=4)
    rng = np.random.default_rng(4)
    ips = (data.arm == "IPS").to_numpy()
    eta = np.where(
        ips,
        -2.0 + 2.0 * data.employed_prev5y - 0.03 * (data.age - 33),
        -1.0 - 1.5 * data.employed_prev5y + 1.0 * data.substance_use,
    )
    gone = rng.random(len(data)) < 1 / (1 + np.exp(-eta))
    data["employed_18m"] = data["employed_18m"].astype(float).where(~gone)
    result = multiple_imputation(
        data, "employed_18m", "arm", "IPS", "SAU", covariates=covariates, m=5, seed=2, id=ID
    )
    pooled = result.contrasts["IPS vs SAU"]
    truth = _truth("employed_18m", "risk_difference", "IPS vs SAU")
    assert abs(pooled.estimate - truth) < 4 * pooled.se
    observed = data.groupby("arm")["employed_18m"].mean()
    cc_bias = abs(observed["IPS"] - observed["SAU"] - truth)
    assert cc_bias > abs(pooled.estimate - truth)
    assert pooled.estimand == "risk_difference" and math.isinf(pooled.dfcom)


def _small_binary(seed: int = 0, n: int = 100) -> pd.DataFrame:
    """Two arms, a numeric and a text covariate, 10 missing outcomes per arm."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=2 * n)
    group = np.where(rng.random(2 * n) < 0.5, "a", "b")
    arm = np.repeat(["T", "C"], n)
    p = 1 / (1 + np.exp(-(np.where(arm == "T", 0.5, -0.3) + 0.8 * x)))
    y = (rng.random(2 * n) < p).astype(float)
    y[np.r_[0:10, n : n + 10]] = np.nan
    return pd.DataFrame(
        {"participant_id": [f"P{i:03d}" for i in range(2 * n)], "arm": arm, "y": y, "x": x, "group": group}
    )


def test_mi_same_seed_same_bits():
    data = _small_binary()
    first = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x", "group"], m=4, seed=11, id=ID)
    again = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x", "group"], m=4, seed=11, id=ID)
    other = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x", "group"], m=4, seed=12, id=ID)
    pd.testing.assert_frame_equal(first.estimates, again.estimates, check_exact=True)
    pd.testing.assert_frame_equal(first.to_frame(), again.to_frame(), check_exact=True)
    assert not first.estimates["estimate"].equals(other.estimates["estimate"])
    assert first.seed_entropy == 11
    # the first k imputations do not depend on m
    more = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x", "group"], m=6, seed=11, id=ID)
    head = more.estimates.groupby("contrast", sort=False).head(4).reset_index(drop=True)
    pd.testing.assert_frame_equal(head, first.estimates, check_exact=True)
    # seed=None records the entropy it used: passing it back regenerates the same bits
    fresh = multiple_imputation(data, "y", "arm", "T", "C", covariates="x", m=3, id=ID)
    assert isinstance(fresh.seed_entropy, int)
    repeat = multiple_imputation(
        data, "y", "arm", "T", "C", covariates="x", m=3, seed=fresh.seed_entropy, id=ID
    )
    pd.testing.assert_frame_equal(fresh.estimates, repeat.estimates, check_exact=True)
    assert fresh.to_frame().seed_entropy.eq(str(fresh.seed_entropy)).all()


def test_mi_without_missing_values_is_the_complete_data_analysis():
    data = _small_binary().dropna(subset=["y"])
    t, c = data.loc[data.arm == "T", "y"].to_numpy(), data.loc[data.arm == "C", "y"].to_numpy()
    result = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x"], m=3, seed=1)
    pooled = result.contrasts["T vs C"]
    pt, pc = t.mean(), c.mean()
    var = pt * (1 - pt) / len(t) + pc * (1 - pc) / len(c)
    assert pooled.between == 0.0
    assert pooled.estimate == pytest.approx(pt - pc, abs=1e-15)
    assert pooled.within == pytest.approx(var, rel=1e-13)
    assert pooled.total == pytest.approx(var, rel=1e-13)
    assert pooled.df == math.inf and pooled.fmi == 0.0
    assert pooled.ci_low == pytest.approx(pt - pc - stats.norm.ppf(0.975) * math.sqrt(var), rel=1e-12)

    data = data.assign(h=np.abs(data["x"]) * 10)
    t, c = data.loc[data.arm == "T", "h"].to_numpy(), data.loc[data.arm == "C", "h"].to_numpy()
    result = multiple_imputation(data, "h", "arm", "T", "C", covariates=["x"], kind="continuous", m=2, seed=1)
    pooled = result.contrasts["T vs C"]
    welch = t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c)
    nu = len(t) + len(c) - 2  # Barnard-Rubin with λ = 0: ν = (ν_com + 1)/(ν_com + 3) ν_com
    assert pooled.between == 0.0 and pooled.estimate == pytest.approx(t.mean() - c.mean(), rel=1e-13)
    assert pooled.se == pytest.approx(math.sqrt(welch), rel=1e-13)
    assert pooled.df == pytest.approx((nu + 1) / (nu + 3) * nu, rel=1e-13)


def test_mi_imputes_missing_numeric_covariates():
    data = _small_binary()
    data.loc[[3, 15, 120, 150], "x"] = np.nan
    result = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x", "group"], m=3, seed=5, n_iter=3)
    assert result.imputed_covariates == ("x",) and result.n_iter == 3
    assert "covariates x by PMM" in result.method
    assert np.isfinite(result.contrasts["T vs C"].estimate)


def test_bad_inputs_are_clear_errors():
    data = _small_binary()
    data.loc[[4, 130], "group"] = None
    with pytest.raises(TrialDataError, match=r"'group'.*not numeric.*participant ids P004, P130"):
        multiple_imputation(data, "y", "arm", "T", "C", covariates=["x", "group"], m=3, seed=1, id=ID)
    with pytest.raises(TrialDataError, match="not numeric"):
        tipping_point(data, "y", "arm", "T", "C", covariates="group", m=3, seed=1, id=ID)
    clean = _small_binary()
    for bad_m in (1, 0, 2.5, "20"):
        with pytest.raises(ParameterError, match="m must be a whole number at least 2"):
            multiple_imputation(clean, "y", "arm", "T", "C", covariates=["x"], m=bad_m, seed=1)
        with pytest.raises(ParameterError, match="m must be a whole number at least 2"):
            tipping_point(clean, "y", "arm", "T", "C", m=bad_m, seed=1)
    with pytest.raises(ParameterError, match="n_iter"):
        multiple_imputation(clean, "y", "arm", "T", "C", m=3, n_iter=0)
    with pytest.raises(ParameterError, match="kind"):
        multiple_imputation(clean, "y", "arm", "T", "C", m=3, kind="ordinal")
    with pytest.raises(ParameterError, match="alpha"):
        bounds(clean, "y", "arm", "T", "C", alpha=1.5)
    with pytest.raises(ParameterError, match="deltas"):
        tipping_point(clean, "y", "arm", "T", "C", deltas=[0.0, np.inf], m=3)
    with pytest.raises(ParameterError, match="deltas_control"):
        tipping_point(clean, "y", "arm", "T", "C", deltas_control=[], m=3)
    with pytest.raises(ParameterError, match="low= is only for continuous"):
        bounds(clean, "y", "arm", "T", "C", low=0)
    with pytest.raises(TrialDataError, match="not found"):
        multiple_imputation(clean, "y", "arm", "T", "C", covariates=["nope"], m=3)
    with pytest.raises(TrialDataError, match="other than 0/1"):
        multiple_imputation(clean.assign(y=clean["y"] * 2), "y", "arm", "T", "C", m=3)
    empty_arm = clean.assign(y=np.where(clean.arm == "C", np.nan, clean["y"]))
    with pytest.raises(TrialDataError, match="no participant with a known outcome in arm 'C'"):
        multiple_imputation(empty_arm, "y", "arm", "T", "C", m=3)
    with pytest.raises(ParameterError, match="one treatment arm"):
        tipping_point(
            clean.assign(arm=np.where(np.arange(200) < 50, "U", clean.arm)), "y", "arm", ["T", "U"], "C"
        )
    with pytest.raises(TypeError):
        multiple_imputation(clean, "y", "arm", "T", "C", ["x"])  # covariates are keyword-only


# ----------------------------------------------------------------------------- bounds
def test_binary_bounds_by_hand():
    data = pd.DataFrame(
        {
            "arm": ["T"] * 5 + ["C"] * 6,
            "y": [1, 1, 0, np.nan, 1, 0, 1, 0, np.nan, np.nan, 0],
        }
    )
    result = bounds(data, "y", "arm", "T", "C")
    z = stats.norm.ppf(0.975)
    # worst: T 3/5, C (1 + 2)/6; best: T 4/5, C 1/6
    for scenario, pt, pc in (("worst", 3 / 5, 3 / 6), ("best", 4 / 5, 1 / 6)):
        line = result.table.set_index("scenario").loc[scenario]
        se = math.sqrt(pt * (1 - pt) / 5 + pc * (1 - pc) / 6)
        assert line.estimate == pytest.approx(pt - pc, abs=1e-15)
        assert line.se == pytest.approx(se, rel=1e-14)
        assert line.ci_low == pytest.approx(pt - pc - z * se, rel=1e-12)
        assert line.ci_high == pytest.approx(pt - pc + z * se, rel=1e-12)
        assert line.p_value == pytest.approx(2 * stats.norm.sf(abs(pt - pc) / se), rel=1e-12)
    frame = result.to_frame()
    assert list(frame.variant) == ["worst", "best"]
    assert list(frame.missing_treatment) == [1, 1] and list(frame.missing_control) == [2, 2]
    assert (frame.n == 11).all() and "Wald" in frame.method[0]


def test_continuous_bounds_by_hand():
    data = pd.DataFrame({"arm": ["T"] * 4 + ["C"] * 4, "h": [2, 5, np.nan, 3, 1, np.nan, 4, 0]})
    result = bounds(data, "h", "arm", "T", "C", kind="continuous")
    table = result.table.set_index("scenario")
    # observed range 0..5; worst: T (2, 5, 0, 3), C (1, 5, 4, 0): both means 2.5
    assert table.loc["worst", "estimate"] == pytest.approx(0.0, abs=1e-15)
    # best: T (2, 5, 5, 3) mean 3.75, variance 6.75/3; C (1, 0, 4, 0) mean 1.25, variance 10.75/3
    vt, vc = 6.75 / 3 / 4, 10.75 / 3 / 4
    se = math.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / 3 + vc**2 / 3)
    crit = stats.t.ppf(0.975, df)
    assert table.loc["best", "estimate"] == pytest.approx(2.5, rel=1e-14)
    assert table.loc["best", "se"] == pytest.approx(se, rel=1e-14)
    assert table.loc["best", "df"] == pytest.approx(df, rel=1e-12)
    assert table.loc["best", "ci_low"] == pytest.approx(2.5 - crit * se, rel=1e-12)
    assert table.loc["best", "p_value"] == pytest.approx(2 * stats.t.sf(2.5 / se, df), rel=1e-12)
    assert table.loc["worst", "imputed_treatment"] == 0 and table.loc["worst", "imputed_control"] == 5
    wide = bounds(data, "h", "arm", "T", "C", kind="continuous", low=-1, high=10).table.set_index("scenario")
    # worst: T (2, 5, -1, 3) mean 2.25, C (1, 10, 4, 0) mean 3.75
    assert wide.loc["worst", "estimate"] == pytest.approx(-1.5, rel=1e-14)


def test_bounds_with_an_arm_entirely_missing_and_without_missing_values():
    data = pd.DataFrame({"arm": ["T"] * 3 + ["C"] * 3, "y": [1, 0, 1, np.nan, np.nan, np.nan]})
    table = bounds(data, "y", "arm", "T", "C").table.set_index("scenario")
    assert table.loc["worst", "estimate"] == pytest.approx(2 / 3 - 1)
    assert table.loc["best", "estimate"] == pytest.approx(2 / 3)
    full = pd.DataFrame({"arm": ["T"] * 3 + ["C"] * 3, "y": [1, 0, 1, 0, 0, 1]})
    table = bounds(full, "y", "arm", "T", "C").table
    assert table.estimate.tolist() == pytest.approx([1 / 3, 1 / 3])


# ----------------------------------------------------------------------------- tipping point
def _tipping_frame() -> pd.DataFrame:
    """T: 55 of 90 observed succeed, C: 40 of 90; 10 missing per arm; a covariate x."""
    rng = np.random.default_rng(2013)
    y_t = np.r_[np.ones(55), np.zeros(35), np.full(10, np.nan)]
    y_c = np.r_[np.ones(40), np.zeros(50), np.full(10, np.nan)]
    y = np.r_[y_t, y_c]
    x = rng.normal(size=200) + 0.5 * np.nan_to_num(y, nan=0.5)
    return pd.DataFrame(
        {
            "participant_id": [f"P{i:03d}" for i in range(200)],
            "arm": np.repeat(["T", "C"], 100),
            "y": y,
            "x": x,
        }
    )


def test_tipping_point_at_zero_is_mar_multiple_imputation():
    data = _tipping_frame()
    tp = tipping_point(data, "y", "arm", "T", "C", covariates=["x"], m=10, seed=3, id=ID)
    mi = multiple_imputation(data, "y", "arm", "T", "C", covariates=["x"], m=10, seed=3, id=ID)
    pooled = mi.contrasts["T vs C"]
    for name in ("estimate", "se", "df", "ci_low", "ci_high", "p_value", "between", "within"):
        assert getattr(tp.mar, name) == getattr(pooled, name), name
    cell = tp.grid.query("delta_treatment == 0 and delta_control == 0").iloc[0]
    assert cell.estimate == pooled.estimate and cell.p_value == pooled.p_value
    assert not cell.flipped


def test_tipping_point_grid_is_monotone_and_reproducible():
    data = _tipping_frame()
    tp = tipping_point(data, "y", "arm", "T", "C", covariates=["x"], m=10, seed=3, id=ID)
    surface = tp.grid.pivot(index="delta_treatment", columns="delta_control", values="estimate").to_numpy()
    assert surface.shape == (13, 13)
    assert np.all(np.diff(surface, axis=0) >= 0) and np.all(np.diff(surface, axis=1) <= 0)
    assert surface[-1, 6] > surface[0, 6]
    assert tp.flips.shape == (13, 13) and tp.flips.dtype == bool
    np.testing.assert_array_equal(tp.line["estimate"].to_numpy(), surface[:, 6])
    again = tipping_point(data, "y", "arm", "T", "C", covariates=["x"], m=10, seed=3, id=ID)
    pd.testing.assert_frame_equal(tp.grid, again.grid, check_exact=True)
    assert tp.tipping_point_low == again.tipping_point_low
    other = tipping_point(data, "y", "arm", "T", "C", covariates=["x"], m=10, seed=4, id=ID)
    assert not tp.grid["estimate"].equals(other.grid["estimate"])


def test_tipping_point_is_where_the_p_value_crosses_alpha():
    data = _tipping_frame()
    tp = tipping_point(data, "y", "arm", "T", "C", covariates=["x"], m=10, seed=3, id=ID)
    assert tp.mar.p_value < 0.05 and tp.mar.estimate > 0  # significant benefit under MAR
    low = tp.tipping_point_low
    assert -3 < low < 0 and tp.tipping_point == low
    # the grid line agrees: not flipped at the grid points >= low, flipped below
    line = tp.line.set_index("delta_treatment")
    assert not line.loc[line.index >= low, "flipped"].any()
    assert line.loc[line.index < low, "flipped"].all()
    # the same draws on a fine grid around the tipping point (common random numbers)
    near = tipping_point(
        data,
        "y",
        "arm",
        "T",
        "C",
        covariates=["x"],
        deltas=[low - 1e-9, low],
        deltas_control=[0.0],
        m=10,
        seed=3,
    )
    below, at = near.line.iloc[0], near.line.iloc[1]
    assert below.p_value >= 0.05 > at.p_value
    assert below.flipped and not at.flipped
    rows = tp.to_frame()
    assert len(rows) == 13 and rows.tipping_point_low.eq(low).all()


def test_extreme_deltas_reproduce_the_best_case_bound():
    """δ_T = +60 and δ_C = -60 make every imputed value 1 in T and 0 in C: the best-case bound."""
    data = _tipping_frame()
    tp = tipping_point(
        data, "y", "arm", "T", "C", covariates=["x"], deltas=[60.0], deltas_control=[-60.0], m=5, seed=9
    )
    cell = tp.grid.iloc[0]
    pt, pc = 65 / 100, 40 / 100  # by hand: T 55 + 10, C 40 + 0
    assert cell.estimate == pytest.approx(pt - pc, abs=1e-14)
    assert cell.se == pytest.approx(math.sqrt(pt * (1 - pt) / 100 + pc * (1 - pc) / 100), rel=1e-13)
    best = bounds(data, "y", "arm", "T", "C").table.set_index("scenario").loc["best"]
    assert cell.estimate == pytest.approx(best.estimate, abs=1e-14)


def test_tipping_point_without_missing_values_and_plot():
    data = _tipping_frame().dropna(subset=["y"])
    tp = tipping_point(data, "y", "arm", "T", "C", m=3, seed=1)
    assert tp.grid["estimate"].nunique() == 1 and not tp.flips.any()
    assert math.isnan(tp.tipping_point) and tp.mar.between == 0.0
    assert tp.mar.estimate == pytest.approx(55 / 90 - 40 / 90, abs=1e-15)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flipped = tipping_point(_tipping_frame(), "y", "arm", "T", "C", covariates=["x"], m=5, seed=3)
    ax = flipped.plot()
    assert ax.get_xlabel().startswith("δ control") and len(ax.collections) >= 2
    plt.close(ax.figure)
