"""Tests for :mod:`ipstrial.economics.cea` and :mod:`ipstrial.economics.plane` (ICER, INMB, CEAC, EVPI).

QALYs (:func:`ipstrial.economics.qaly_auc`) are tested here too.

References: closed forms computed here from the data (arm means, variances, covariances, Fieller's
quadratic solved by hand, net benefit, EVPI on hand-made draws); ``tests/reference/cea.json`` made
by ``tests/reference/cea.R`` (R's lm/glm and sandwich::estfun/bread for the adjusted contrasts and
their joint sandwich variance); statsmodels fits on the resampled data for the batched bootstrap
refits; an independent index-resampling bootstrap with 50,000 replicates for the Monte Carlo
checks; the exact truths of the synthetic trial.
"""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from conftest import COVARIATES, REFERENCE

from ipstrial.economics import (
    ceac_from_draws,
    cost_effectiveness,
    evpi_from_draws,
    fieller_interval,
    qaly_auc,
    quadrant,
)
from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.resampling import bootstrap_counts, counts_in_data_order
from ipstrial.synthetic import INKLUSION, simulate_trial

R_REFERENCE = json.loads((REFERENCE / "cea.json").read_text())
Z = NormalDist().inv_cdf(0.975)
EQ5D = (
    ("eq5d_0", "eq5d_18m"),
    (0, 1.5),
)  # the utility columns of the synthetic trial and their times (years)


@pytest.fixture(scope="module")
def trial(frame) -> pd.DataFrame:
    """The synthetic trial (a copy of the shared frame) with a QALY column (0.75 (u_0 + u_18))."""
    return frame.assign(qaly=0.75 * (frame.eq5d_0 + frame.eq5d_18m))


def _ce(data, effect="employed_18m", treatment="IPS", control="SAU", **kwargs):
    options = {"wtp": 200_000.0, "n_resamples": 2000, "seed": 1, "id": "participant_id"} | kwargs
    return cost_effectiveness(data, "cost_total", effect, "arm", treatment, control, **options)


def _row(result, estimand, contrast="IPS vs SAU", variant=""):
    frame = result.to_frame()
    rows = frame[(frame.estimand == estimand) & (frame.contrast == contrast) & (frame.variant == variant)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _moments(data, effect, treatment="IPS", control="SAU"):
    """Closed-form ΔC, ΔE, Var(ΔC), Var(ΔE), Cov from the arm samples (n - 1 denominators)."""
    t = data[data.arm == treatment]
    c = data[data.arm == control]
    dc = t.cost_total.mean() - c.cost_total.mean()
    de = t[effect].mean() - c[effect].mean()
    vc = t.cost_total.var() / len(t) + c.cost_total.var() / len(c)
    ve = t[effect].var() / len(t) + c[effect].var() / len(c)
    cov = t.cost_total.cov(t[effect]) / len(t) + c.cost_total.cov(c[effect]) / len(c)
    return dc, de, vc, ve, cov


def _fieller_by_hand(dc, de, vc, ve, cov):
    """Roots of (ΔE² − z²vE) R² − 2 (ΔEΔC − z²cov) R + (ΔC² − z²vC) = 0 by the quadratic formula."""
    a = de**2 - Z**2 * ve
    b = -2 * (de * dc - Z**2 * cov)
    c = dc**2 - Z**2 * vc
    disc = b * b - 4 * a * c
    if disc < 0:
        return a, disc, None
    roots = sorted([(-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)])
    return a, disc, roots


# ------------------------------------------------------------------------------ closed forms


def test_unadjusted_point_estimates_and_normal_theory_match_closed_forms(trial):
    wtp = 200_000.0
    result = _ce(trial, wtp=wtp)
    dc, de, vc, ve, cov = _moments(trial, "employed_18m")
    row = _row(result, "delta_cost")
    assert row.estimate == pytest.approx(dc, rel=1e-12)
    assert row.se == pytest.approx(math.sqrt(vc), rel=1e-12)
    assert row.ci_low == pytest.approx(dc - Z * math.sqrt(vc), rel=1e-12)
    assert row.p_value == pytest.approx(math.erfc(abs(dc) / math.sqrt(vc) / math.sqrt(2)), rel=1e-9)
    row = _row(result, "delta_effect")
    assert row.estimate == pytest.approx(de, rel=1e-12)
    assert row.se == pytest.approx(math.sqrt(ve), rel=1e-12)
    assert result.estimates.cov_cost_effect.iloc[0] == pytest.approx(cov, rel=1e-10)

    icer = _row(result, "icer")
    assert icer.estimate == pytest.approx(dc / de, rel=1e-12)
    assert dc < 0 < de and result.quadrant == "dominant" and icer.quadrant == "dominant"
    assert "dominant" in icer.method  # a negative ICER is never shown without its quadrant
    a, disc, (low, high) = _fieller_by_hand(dc, de, vc, ve, cov)
    assert a > 0  # ΔE is significant: the interval is bounded
    assert (icer.ci_low, icer.ci_high) == pytest.approx((low, high), rel=1e-9)

    inmb = _row(result, "inmb")
    se_inmb = math.sqrt(wtp**2 * ve + vc - 2 * wtp * cov)
    assert inmb.estimate == pytest.approx(wtp * de - dc, rel=1e-12)
    assert inmb.se == pytest.approx(se_inmb, rel=1e-10)
    assert inmb.ci_high == pytest.approx(wtp * de - dc + Z * se_inmb, rel=1e-10)
    # the bootstrap interval of the net benefit is always there
    boot = _row(result, "inmb", variant="bootstrap")
    assert boot.estimate == inmb.estimate and boot.ci_low < boot.estimate < boot.ci_high

    arm_rows = result.to_frame().query("estimand == 'mean' and outcome == 'cost_total'")
    assert arm_rows.set_index("contrast").estimate.to_dict() == pytest.approx(
        trial[trial.arm.isin(["IPS", "SAU"])].groupby("arm").cost_total.mean().to_dict(), rel=1e-12
    )


def test_fieller_exclusive_set_when_effect_not_significant(trial):
    # unadjusted QALYs: the baseline imbalance makes ΔE small and not significant
    result = _ce(trial, effect="qaly", wtp=350_000.0)
    dc, de, vc, ve, cov = _moments(trial, "qaly")
    a, disc, (r1, r2) = _fieller_by_hand(dc, de, vc, ve, cov)
    assert a < 0 < disc
    icer = _row(result, "icer")
    assert math.isnan(icer.ci_low) and math.isnan(icer.ci_high)
    assert "half-lines" in icer.fieller and "undefined" in icer.fieller
    assert (icer.fieller_low, icer.fieller_high) == pytest.approx((r1, r2), rel=1e-9)
    assert icer.quadrant == quadrant(dc, de) == "south-west"


def test_fieller_interval_cases_by_hand():
    # bounded: both limits solve (ΔC − RΔE)² = z² (vC − 2R cov + R² vE)
    dc, de, vc, ve, cov = 10.0, 2.0, 4.0, 0.25, 0.3
    f = fieller_interval(dc, de, vc, ve, cov)
    assert f.kind == "bounded"
    for r in (f.low, f.high):
        assert (dc - r * de) ** 2 == pytest.approx(Z**2 * (vc - 2 * r * cov + r**2 * ve), rel=1e-10)
    assert f.low < dc / de < f.high
    # whole line: a < 0 and negative discriminant (ΔC and ΔE both indistinguishable from 0)
    f = fieller_interval(0.1, 0.1, 1.0, 1.0, 0.0)
    assert f.kind == "unbounded" and math.isnan(f.low) and "whole real line" in f.note


def test_quadrants_and_axes():
    assert quadrant(-1, 1) == "dominant"
    assert quadrant(1, -1) == "dominated"
    assert quadrant(1, 1) == "north-east"
    assert quadrant(-1, -1) == "south-west"
    assert quadrant(0, 1) == "dominant" and quadrant(-1, 0) == "dominant"
    assert quadrant(0, -1) == "dominated" and quadrant(1, 0) == "dominated"
    assert quadrant(0, 0) == "origin"


def test_evpi_on_hand_made_draws():
    # INMB at λ = 2: [3, -2, -1, -2]; E[max(INMB, 0)] = 3/4; E[INMB] = -1/2 -> EVPI = 0.75
    dc = [-1.0, 2.0, 3.0, 0.0]
    de = [1.0, 0.0, 1.0, -1.0]
    assert evpi_from_draws(dc, de, 2.0) == pytest.approx(0.75, abs=1e-15)
    # a grid: λ = 0 gives INMB = -ΔC = [1, -2, -3, 0]: E[max] = 1/4, E = -1 -> 0.25
    assert evpi_from_draws(dc, de, [0.0, 2.0]) == pytest.approx([0.25, 0.75], abs=1e-15)
    # two treatments drawn jointly, λ = 1: INMB_1 = [1, -2, 1, 1], INMB_2 = [-1, 3, 1, -2]
    # E[max(0, INMB_1, INMB_2)] = (1 + 3 + 1 + 1)/4 = 1.5; max(0, E INMB_1, E INMB_2) = 0.25 -> 1.25
    dc2 = [[0.0, 1.0], [2.0, -1.0], [1.0, 0.0], [-1.0, 3.0]]
    de2 = [[1.0, 0.0], [0.0, 2.0], [2.0, 1.0], [0.0, 1.0]]
    assert evpi_from_draws(dc2, de2, 1.0) == pytest.approx(1.25, abs=1e-15)
    # pairwise (treatment 1 alone): E[max(0, INMB_1)] = 0.75, E[INMB_1] = 0.25 -> 0.5
    assert evpi_from_draws([r[0] for r in dc2], [r[0] for r in de2], 1.0) == pytest.approx(0.5, abs=1e-15)
    # the CEAC of the same draws: P(INMB > 0) at λ = 1 is 3/4 and 2/4
    assert ceac_from_draws(dc2, de2, [1.0])[0] == pytest.approx([0.75, 0.5])


def test_result_evpi_and_prob_match_the_draws(trial):
    wtp = 300_000.0
    result = _ce(trial, treatment=["IPS", "IPSE"], wtp=wtp, n_resamples=1000)
    draws = result.draws
    inmb = {
        c: wtp * g.sort_values("replicate").delta_effect.to_numpy()
        - g.sort_values("replicate").delta_cost.to_numpy()
        for c, g in draws.groupby("contrast")
    }
    for contrast, values in inmb.items():
        assert _row(result, "prob_cost_effective", contrast).estimate == np.mean(values > 0)
        expected = np.mean(np.maximum(values, 0)) - max(np.mean(values), 0)
        assert _row(result, "evpi", contrast).estimate == pytest.approx(expected, abs=1e-9)
    stacked = np.column_stack(list(inmb.values()))
    overall = np.mean(np.maximum(stacked.max(axis=1), 0)) - max(stacked.mean(axis=0).max(), 0)
    assert _row(result, "evpi", "IPS, IPSE, SAU").estimate == pytest.approx(overall, abs=1e-9)
    assert result.evpi_curve.columns.tolist() == ["wtp", "IPS vs SAU", "IPSE vs SAU", "all arms"]


# --------------------------------------------------------------------- covariate adjustment (R)

R_CASES = {
    "ols_logistic_two_arm": dict(effect="employed_18m", treatment="IPS", covariates=COVARIATES),
    "gamma_logistic_two_arm": dict(
        effect="employed_18m", treatment="IPSE", covariates=COVARIATES, cost_model="gamma"
    ),
    "gamma_qaly_three_arm": dict(
        effect="qaly",
        treatment=["IPS", "IPSE"],
        covariates=COVARIATES,
        cost_model="gamma",
        baseline_utility="eq5d_0",
    ),
    "ols_qaly_baseline_only": dict(effect="qaly", treatment="IPS", baseline_utility="eq5d_0"),
}


@pytest.mark.parametrize("case", sorted(R_CASES))
def test_adjusted_contrasts_and_sandwich_covariance_match_R(trial, case):
    result = _ce(trial, n_resamples=200, **R_CASES[case])
    assert result.failed_replicates == 0
    for e in result.estimates.itertuples(index=False):
        ref = R_REFERENCE[case][e.contrast]
        assert e.delta_cost == pytest.approx(ref["delta_cost"], rel=1e-6)
        assert e.delta_effect == pytest.approx(ref["delta_effect"], rel=1e-6)
        assert e.se_cost**2 == pytest.approx(ref["var_cost"], rel=1e-6)
        assert e.se_effect**2 == pytest.approx(ref["var_effect"], rel=1e-6)
        assert e.cov_cost_effect == pytest.approx(ref["cov"], rel=1e-6)
        a, disc, roots = _fieller_by_hand(
            *(ref[k] for k in ("delta_cost", "delta_effect", "var_cost", "var_effect", "cov"))
        )
        assert e.fieller_kind == ("bounded" if a > 0 else "exclusive" if disc > 0 else "unbounded")
        if e.fieller_kind != "unbounded":
            assert (e.fieller_low, e.fieller_high) == pytest.approx(roots, rel=1e-5)


def test_baseline_utility_removes_the_qaly_imbalance(trial):
    # Manca et al. (2005): IPS had lower baseline EQ-5D by chance; the unadjusted QALY difference is
    # negative, the adjusted one positive, as the true difference (0.75 x the 18-month difference)
    plain = _ce(trial, effect="qaly", wtp=350_000.0, n_resamples=200).estimates.iloc[0]
    adjusted = _ce(
        trial, effect="qaly", wtp=350_000.0, n_resamples=200, baseline_utility="eq5d_0"
    ).estimates.iloc[0]
    assert plain.delta_effect < 0 < adjusted.delta_effect
    assert adjusted.se_effect < plain.se_effect


def test_bootstrap_refits_equal_fits_on_the_resampled_data(trial):
    """Replicate b = the models refitted on the resample; counts as documented (treatments, control)."""
    import statsmodels.api as sm

    from ipstrial._inputs import design_matrix

    n_boot, seed = 12, 5
    result = _ce(
        trial,
        effect="employed_18m",
        treatment="IPS",
        covariates=COVARIATES,
        cost_model="gamma",
        n_resamples=n_boot,
        seed=seed,
    )
    sub = trial[trial.arm.isin(["IPS", "SAU"])]
    codes = np.where(sub.arm.to_numpy() == "IPS", 0, 1)
    counts = bootstrap_counts([int(np.sum(codes == 0)), int(np.sum(codes == 1))], n_boot, seed)
    W = counts_in_data_order(counts, codes)
    dm = design_matrix(sub, COVARIATES).to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(sub)), (codes == 0).astype(float), dm])
    X_ips, X_sau = X.copy(), X.copy()
    X_ips[:, 1], X_sau[:, 1] = 1.0, 0.0
    draws = result.draws.set_index("replicate")
    for b in range(4):
        rows = np.repeat(np.arange(len(sub)), W[b])  # the resampled participants
        Xb = X[rows]
        cost = sm.GLM(
            sub.cost_total.to_numpy(float)[rows], Xb, family=sm.families.Gamma(sm.families.links.Log())
        )
        bc = cost.fit(tol=1e-12, maxiter=200).params
        eff = sm.GLM(sub.employed_18m.to_numpy(float)[rows], Xb, family=sm.families.Binomial())
        be = eff.fit(tol=1e-12, maxiter=200).params
        dc = np.mean(np.exp(X_ips[rows] @ bc) - np.exp(X_sau[rows] @ bc))
        expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        de = np.mean(expit(X_ips[rows] @ be) - expit(X_sau[rows] @ be))
        assert draws.loc[b, "delta_cost"] == pytest.approx(dc, rel=1e-6)
        assert draws.loc[b, "delta_effect"] == pytest.approx(de, rel=1e-6)


# ------------------------------------------------------------------------- Monte Carlo error


def _reference_bootstrap(data, treatment, control, wtp, n_boot, seed):
    """Independent bootstrap: resample row indices within arm (not counts), means of the resample."""
    rng = np.random.default_rng(seed)
    out = {"dc": [], "de": []}
    arms = {
        a: data.loc[data.arm == a, ["cost_total", "employed_18m"]].to_numpy(float)
        for a in (treatment, control)
    }
    for start in range(0, n_boot, 5000):
        size = min(5000, n_boot - start)
        means = {}
        for a, values in arms.items():
            idx = rng.integers(0, len(values), size=(size, len(values)))
            means[a] = values[idx].mean(axis=1)  # (size, 2)
        out["dc"].append(means[treatment][:, 0] - means[control][:, 0])
        out["de"].append(means[treatment][:, 1] - means[control][:, 1])
    dc, de = np.concatenate(out["dc"]), np.concatenate(out["de"])
    return dc, de, wtp * de - dc


def test_bootstrap_intervals_within_monte_carlo_error_of_a_large_reference_run(trial):
    # IPSE vs IPS: a contrast whose INMB straddles 0 at λ = 500,000, so the probability is not near 0/1
    wtp, small, large = 500_000.0, 2000, 50_000
    result = _ce(trial, treatment="IPSE", control="IPS", wtp=wtp, n_resamples=small, seed=11)
    dc, de, inmb = _reference_bootstrap(trial, "IPSE", "IPS", wtp, large, seed=20240601)
    contrast = "IPSE vs IPS"
    for estimand, ref in (("delta_cost", dc), ("delta_effect", de), ("inmb", inmb)):
        row = _row(result, estimand, contrast, variant="bootstrap")
        sigma = np.std(ref, ddof=1)
        # Monte Carlo SE of a sample p-quantile from B draws: sqrt(p(1-p)/B) / f(q_p) (asymptotic
        # normality of sample quantiles; Serfling 1980, sec. 2.3.3), with the density f(q_p) of the
        # bootstrap distribution estimated from the 50,000 reference draws by the slope of their
        # quantile function over p ± 0.005. Both runs carry MC error, so the SEs combine. A tolerance
        # of 4 combined SEs makes a false alarm unlikely (|Z| > 4: p = 6e-5 per check, 6 limits),
        # while a wrong resampling scheme (e.g. not within arm: a different spread) moves the limits
        # by several times that.
        for p, limit in ((0.025, row.ci_low), (0.975, row.ci_high)):
            density = 0.01 / np.diff(np.quantile(ref, [p - 0.005, p + 0.005]))[0]
            mc = math.sqrt(p * (1 - p)) / density
            tol = 4 * mc * math.sqrt(1 / small + 1 / large)
            assert abs(limit - np.quantile(ref, p)) < tol, (estimand, p, limit, tol)
        # SE of a sample SD of near-normal draws: σ / sqrt(2B)
        assert abs(row.se - sigma) < 4 * sigma * math.sqrt(1 / (2 * small) + 1 / (2 * large))
    prob = _row(result, "prob_cost_effective", contrast).estimate
    p_ref = np.mean(inmb > 0)
    assert 0.1 < p_ref < 0.9
    assert abs(prob - p_ref) < 4 * math.sqrt(p_ref * (1 - p_ref) * (1 / small + 1 / large))
    # EVPI = mean(max(-INMB, 0)) when E[INMB] > 0, mean(max(INMB, 0)) when E[INMB] < 0: a mean of B draws
    tail = np.maximum(np.sign(-inmb.mean()) * inmb, 0)
    evpi = _row(result, "evpi", contrast).estimate
    assert abs(evpi - tail.mean()) < 4 * np.std(tail) * math.sqrt(1 / small + 1 / large)


# ------------------------------------------------------------------------------ the CEAC


def test_ceac_facts(trial):
    wtp = 300_000.0
    result = _ce(trial, treatment="IPSE", control="IPS", wtp=wtp, n_resamples=1000)
    curve = result.ceac
    draws = result.draws
    assert len(curve) == 201 and curve.wtp.iloc[0] == 0 and curve.wtp.iloc[-1] == 2 * wtp
    assert curve.wtp.iloc[100] == wtp
    column = curve["IPSE vs IPS"]
    assert column.iloc[0] == np.mean(draws.delta_cost < 0)  # λ = 0: P(ΔC < 0)
    assert column.iloc[100] == _row(result, "prob_cost_effective", "IPSE vs IPS").estimate
    for k in (37, 150, 200):
        lam = curve.wtp.iloc[k]
        assert column.iloc[k] == np.mean(lam * draws.delta_effect - draws.delta_cost > 0)


def test_ceac_monotone_when_every_draw_gains_effect():
    # effect 1 for every treated participant, 0 for every control: ΔE = 1 in every replicate, so the
    # CEAC is P(ΔC < λ), non-decreasing in λ; with the arms swapped (ΔE = -1) it is non-increasing
    rng = np.random.default_rng(3)
    n = 40
    data = pd.DataFrame(
        {
            "participant_id": np.arange(2 * n),
            "arm": ["A"] * n + ["B"] * n,
            "cost_total": rng.gamma(2.0, 5000.0, 2 * n),
            "effect": [1.0] * n + [0.0] * n,
        }
    )
    grid = np.linspace(0, 20_000, 41)
    up = cost_effectiveness(
        data, "cost_total", "effect", "arm", "A", "B", wtp=5000, n_resamples=500, seed=2, wtp_grid=grid
    )
    ceac = up.ceac["A vs B"].to_numpy()
    assert np.all(np.diff(ceac) >= 0)
    assert np.array_equal(ceac, [np.mean(up.draws.delta_cost < lam) for lam in grid])
    down = cost_effectiveness(
        data, "cost_total", "effect", "arm", "B", "A", wtp=5000, n_resamples=500, seed=2, wtp_grid=grid
    )
    assert np.all(np.diff(down.ceac["B vs A"].to_numpy()) <= 0)


# ---------------------------------------------------------------------- the synthetic trial


def test_synthetic_trial_delta_cost_near_truth_and_ips_dominant():
    data = simulate_trial()
    truth = INKLUSION.truth
    true_dc = truth.query(
        "outcome == 'cost_total' and estimand == 'delta_cost' and contrast == 'IPS vs SAU'"
    ).value.item()
    assert true_dc == -72_000
    result = _ce(data, wtp=200_000.0, n_resamples=2000)
    row = _row(result, "delta_cost")
    assert abs(row.estimate - true_dc) < 3 * row.se
    assert result.quadrant == "dominant"
    assert result.estimates.p_dominant.iloc[0] > 0.5
    share = np.mean((result.draws.delta_cost < 0) & (result.draws.delta_effect > 0))
    assert share == result.estimates.p_dominant.iloc[0]
    # QALYs adjusted for baseline utility: the true difference is 0.75 x the 18-month difference
    data["qaly"] = qaly_auc(data, *EQ5D)
    true_de = (
        0.75
        * truth.query(
            "outcome == 'eq5d_18m' and estimand == 'mean_difference' and contrast == 'IPS vs SAU'"
        ).value.item()
    )
    qaly = _ce(data, effect="qaly", wtp=350_000.0, n_resamples=500, baseline_utility="eq5d_0")
    row = _row(qaly, "delta_effect")
    assert abs(row.estimate - true_de) < 3 * row.se


def test_same_seed_same_bits(trial):
    first = _ce(trial, treatment=["IPS", "IPSE"], n_resamples=300, seed=7)
    second = _ce(trial, treatment=["IPS", "IPSE"], n_resamples=300, seed=7)
    other = _ce(trial, treatment=["IPS", "IPSE"], n_resamples=300, seed=8)
    assert first.draws.equals(second.draws)
    pd.testing.assert_frame_equal(first.to_frame(), second.to_frame())
    assert not first.draws.equals(other.draws)
    adjusted = [
        _ce(trial, effect="qaly", n_resamples=100, seed=9, covariates=COVARIATES, cost_model="gamma").draws
        for _ in range(2)
    ]
    assert adjusted[0].equals(adjusted[1])


def test_result_serialises_and_plots(trial):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = _ce(trial, treatment=["IPS", "IPSE"], n_resamples=200)
    json.dumps(result.to_dict(), allow_nan=False)
    assert "dominant" in result.summary()
    ax = result.plot(kind="plane")
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(result.draws) + 2
    assert {t.get_text() for t in ax.texts} >= {"dominant", "dominated", "north-east", "south-west"}
    ax = result.plot(kind="ceac")
    assert len(ax.lines) == 3  # two curves and the reference λ
    with pytest.raises(ValueError, match="kind"):
        result.plot(kind="pie")
    plt.close("all")


# -------------------------------------------------------------------------------- bad input


def test_negative_costs_are_an_error_naming_ids(trial):
    data = trial.copy()
    pid = data.participant_id[data.arm == "IPS"].iloc[3]
    data.loc[data.participant_id == pid, "cost_total"] = -10.0
    with pytest.raises(TrialDataError, match="1 negative value") as info:
        _ce(data)
    assert str(pid) in str(info.value)


def test_missing_costs_need_a_policy(trial):
    data = trial.copy()
    ids = data.participant_id[data.arm == "SAU"].iloc[:2].tolist()
    data.loc[data.participant_id.isin(ids), "cost_total"] = np.nan
    with pytest.raises(TrialDataError, match="missing") as info:
        _ce(data)
    assert all(str(i) in str(info.value) for i in ids)
    result = _ce(data, missing="complete-case", n_resamples=200)
    assert result.excluded == {"IPS": 0, "SAU": 2}
    assert result.inputs.excluded == {"IPS": 0, "SAU": 2}
    row = _row(result, "delta_cost")
    assert row.excluded == 2 and "complete case" in row.method


def test_missing_effect_complete_case_counts_per_arm(trial):
    with pytest.raises(TrialDataError, match="hours_18m"):
        _ce(trial, effect="hours_18m", wtp=500.0)
    result = _ce(trial, effect="hours_18m", wtp=500.0, n_resamples=200, missing="complete-case")
    sub = trial[trial.arm.isin(["IPS", "SAU"])]
    expected = sub.hours_18m.isna().groupby(sub.arm).sum().to_dict()
    assert result.excluded == expected and sum(expected.values()) > 0
    kept = sub.dropna(subset=["hours_18m"])
    dc, de, vc, ve, cov = _moments(kept, "hours_18m")
    assert result.estimates.delta_effect.iloc[0] == pytest.approx(de, rel=1e-12)
    assert result.estimates.delta_cost.iloc[0] == pytest.approx(dc, rel=1e-12)


def test_non_numeric_costs_are_an_error(trial):
    data = trial.astype({"cost_total": object})
    data.loc[data.index[data.arm == "SAU"][0], "cost_total"] = "lots"
    with pytest.raises(TrialDataError, match="non-numeric"):
        _ce(data)


def test_effect_without_variation_is_an_estimation_error(trial):
    data = trial.assign(employed_18m=1)
    with pytest.raises(EstimationError, match="no variation"):
        _ce(data)


def test_zero_effect_difference_is_reported_not_a_crash():
    data = pd.DataFrame(
        {
            "participant_id": range(8),
            "arm": ["T"] * 4 + ["C"] * 4,
            "cost_total": [10.0, 12.0, 11.0, 13.0, 20.0, 22.0, 21.0, 19.0],
            "effect": [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
        }
    )
    result = cost_effectiveness(
        data, "cost_total", "effect", "arm", "T", "C", wtp=100.0, n_resamples=200, seed=1
    )
    icer = _row(result, "icer", "T vs C")
    assert math.isnan(icer.estimate)
    assert "undefined" in icer.icer_note and "ΔE = 0" in icer.icer_note
    assert result.quadrant == "dominant"  # equally effective and cheaper
    # INMB = λ·0 − ΔC = −(11.5 − 20.5)
    assert _row(result, "inmb", "T vs C").estimate == pytest.approx(9.0, rel=1e-12)


@pytest.mark.parametrize(
    ("wtp", "shown"), [(-5.0, "-5.0"), (0.0, "0.0"), ("abc", "'abc'"), (float("nan"), "nan"), (True, "True")]
)
def test_bad_willingness_to_pay_is_a_parameter_error_naming_it(trial, wtp, shown):
    with pytest.raises(ParameterError, match="wtp must be a positive") as info:
        _ce(trial, wtp=wtp)
    assert f"got {shown}" in str(info.value) or f"value {shown}" in str(info.value)


def test_bad_wtp_grid(trial):
    with pytest.raises(ParameterError, match="-1"):
        _ce(trial, wtp_grid=[0, -1, 5])
    with pytest.raises(ParameterError, match="wtp_grid"):
        _ce(trial, wtp_grid="0:100")
    with pytest.raises(ParameterError, match="more than once"):
        _ce(trial, wtp_grid=[0, 5, 5])


def test_gamma_cost_model_needs_positive_costs(trial):
    data = trial.copy()
    data.loc[data.index[data.arm == "IPS"][0], "cost_total"] = 0
    with pytest.raises(EstimationError, match="positive costs") as info:
        _ce(data, covariates=COVARIATES, cost_model="gamma")
    assert str(data.loc[data.index[data.arm == "IPS"][0], "participant_id"]) in str(info.value)


# ---------------------------------------------------------------------------------- QALYs


def test_qaly_auc_trapezium_rule(trial):
    assert np.allclose(qaly_auc(trial, *EQ5D), 0.75 * (trial.eq5d_0 + trial.eq5d_18m), rtol=0, atol=1e-14)
    small = pd.DataFrame({"u0": [0.5, 1.0], "u1": [0.7, 0.0], "u2": [0.9, -0.2]})
    # 0.5 (0.5 + 0.7)/2 + 1.0 (0.7 + 0.9)/2 = 0.3 + 0.8; 0.5 (1 + 0)/2 + 1.0 (0 - 0.2)/2 = 0.25 - 0.1
    got = qaly_auc(small, ("u0", "u1", "u2"), (0, 0.5, 1.5), id=None)
    assert got.tolist() == pytest.approx([1.1, 0.15], abs=1e-15)


def test_qaly_auc_missing_and_bad_utilities(trial):
    data = trial.copy()
    pid = data.participant_id.iloc[5]
    data.loc[data.index[5], "eq5d_18m"] = np.nan
    with pytest.raises(TrialDataError, match="missing utility") as info:
        qaly_auc(data, *EQ5D, id="participant_id")
    assert str(pid) in str(info.value)
    values = qaly_auc(data, *EQ5D, missing="complete-case")
    assert values.isna().sum() == 1 and np.isnan(values.iloc[5])
    data.loc[data.index[6], "eq5d_0"] = 1.2
    with pytest.raises(TrialDataError, match="greater than 1"):
        qaly_auc(data, *EQ5D, missing="complete-case")
    with pytest.raises(ParameterError, match="increasing"):
        qaly_auc(trial, EQ5D[0], (1.5, 0))
    with pytest.raises(TypeError):
        qaly_auc(trial)  # the utility columns and their times are required: no domain defaults


def test_qaly_auc_missing_utilities_name_each_column_and_count_in_words(trial):
    data = trial.copy()
    data.loc[data.index[5], "eq5d_18m"] = np.nan
    data.loc[data.index[[7, 9]], "eq5d_0"] = np.nan
    with pytest.raises(TrialDataError) as info:
        qaly_auc(data, *EQ5D, id="participant_id")
    text = str(info.value)
    assert "column 'eq5d_0': 2 participants with a missing utility" in text
    assert "column 'eq5d_18m': 1 participant with a missing utility" in text
    assert "'eq5d_0, eq5d_18m'" not in text and "1 participants" not in text
    assert text.count("missing='complete-case'") == 2  # once per problem, not twice in one fix


def test_fieller_refuses_a_covariance_impossible_for_the_variances():
    # |cov| <= sqrt(var_cost var_effect) (Cauchy-Schwarz): 10 / sqrt(1 * 0.001) is a correlation of 316
    with pytest.raises(ParameterError, match=r"cov=10.0 is impossible .* implied correlation is 316") as info:
        fieller_interval(-100.0, 0.1, 1.0, 0.001, 10.0)
    assert "sqrt(var_cost * var_effect) = 0.0316228" in str(info.value)
    with pytest.raises(ParameterError, match="implied correlation is infinite"):
        fieller_interval(-100.0, 0.1, 0.0, 0.001, -0.5)
    # a correlation of exactly +-1 is possible
    bound = math.sqrt(1.0 * 0.001)
    assert fieller_interval(-100.0, 0.1, 1.0, 0.001, bound).kind == "bounded"
    assert fieller_interval(-100.0, 0.1, 1.0, 0.001, -bound).kind == "bounded"


def test_evpi_is_exactly_zero_when_every_draw_favours_one_arm():
    # INMB > 0 in every draw: E[max(0, INMB)] - max(0, E[INMB]) = 0 exactly (no negative rounding residue)
    rng = np.random.default_rng(3)
    delta_cost = -90_000 + 1_000 * rng.standard_normal(5000)
    delta_effect = 0.15 + 0.01 * rng.standard_normal(5000)
    values = evpi_from_draws(delta_cost, delta_effect, np.linspace(0, 400_000, 201))
    assert np.all(values == 0.0)
