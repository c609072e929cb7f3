"""Tests of ipstrial.economics.incremental and ipstrial.economics.costs.

References
----------
* Incremental analysis: a hand-made four-arm example with one strictly and one extendedly dominated
  arm, and a five-arm example needing two passes (both verified by hand in the comments); the
  published C. difficile example of the dampack vignette (Rajasingham et al., Clin Infect Dis
  2020;70:754; statuses and ICERs as printed by dampack's calculate_icers in
  DARTH-git/dampack, vignettes/cdiff_icers.csv, commit 0430fee8); the HIV screening example of
  Paltiel et al., Ann Intern Med 2006;145:797, Table 4 (high-risk population, as in the dampack
  vignette; ICERs computed by hand); and, for random sets of options, the definition itself
  (an option is off the frontier exactly when one other option or a mixture of two options costs
  no more and is at least as effective).
* Acceptability frontier: the decision rule (highest expected net benefit; at wtp 0 the cheapest,
  at very high wtp the most effective arm), the normal approximation of the two-arm acceptability
  curve, the incremental analysis of the means (the optimal arm between two frontier ICERs).
* Costs by category: R 4.2 t.test output in tests/reference/incremental_costs.json, made by
  tests/reference/incremental_costs.R; exact sums; the synthetic truths (INKLUSION.truth).
* Discounting and price indexing: closed forms.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from ipstrial.economics import costs as ec
from ipstrial.economics import incremental as inc
from ipstrial.errors import EstimationError, ParameterError, TrialDataError
from ipstrial.synthetic import COST_CATEGORIES, INKLUSION, simulate_trial

REF = json.loads((REFERENCE / "incremental_costs.json").read_text())
REL = 1e-9


def means(arms, costs, effects) -> pd.DataFrame:
    return pd.DataFrame({"arm": list(arms), "cost": list(costs), "effect": list(effects)})


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel)


# ------------------------------------------------------------------------------ incremental analysis


def test_hand_made_four_arms_one_dominated_one_extendedly_dominated():
    # A: cost 1000, effect 1.0;  B: 3000, 1.5;  C: 4000, 2.5;  D: 5000, 2.0.
    # Strict dominance: D costs more than C (5000 > 4000) and is less effective (2.0 < 2.5) -> D dominated.
    # Remaining by effect: A, B, C. ICER(B vs A) = 2000 / 0.5 = 4000; ICER(C vs B) = 1000 / 1.0 = 1000.
    # 4000 > 1000 -> B extendedly dominated (the A-C chord at effect 1.5 costs 1000 + 2000 * 0.5 = 2000,
    # less than B's 3000).
    # Frontier A -> C with ICER(C vs A) = 3000 / 1.5 = 2000.
    result = inc.incremental_analysis(means("ABCD", [1000, 3000, 4000, 5000], [1.0, 1.5, 2.5, 2.0]))
    assert result.frontier == ("A", "C")
    assert result.status == {"A": "frontier", "B": "extendedly dominated", "C": "frontier", "D": "dominated"}
    table = result.table.set_index("arm")
    assert list(result.table.arm) == ["A", "B", "D", "C"]  # ordered by effect
    assert table.loc["C", "icer"] == pytest.approx(2000.0, rel=1e-12)
    assert table.loc["C", "compared_with"] == "A"
    assert table.loc["C", "delta_cost"] == 3000.0 and table.loc["C", "delta_effect"] == 1.5
    assert table.loc["B", "icer"] == pytest.approx(4000.0, rel=1e-12)  # vs the previous frontier arm A
    assert table.loc["B", "dominated_by"] == ("A", "C")
    assert table.loc["D", "compared_with"] == "C" and math.isnan(table.loc["D", "icer"])
    assert table.loc["D", "delta_cost"] == 1000.0 and table.loc["D", "delta_effect"] == -0.5
    assert math.isnan(table.loc["A", "icer"]) and table.loc["A", "compared_with"] is None
    frame = result.to_frame()
    icer = frame[frame.estimand == "icer"].set_index("contrast")
    assert set(icer.index) == {"B vs A", "C vs A", "D vs C"}
    assert icer.loc["C vs A", "estimate"] == pytest.approx(2000.0, rel=1e-12)
    assert icer.loc["C vs A", "status"] == "frontier"
    assert icer.loc["B vs A", "status"] == "extendedly dominated"
    assert icer.loc["D vs C", "status"] == "dominated" and math.isnan(icer.loc["D vs C", "estimate"])


def test_extended_dominance_needs_a_second_pass():
    # A(0, 0), B(1, 1), C(2, 10), D(3, 12), E(4, 14) as (effect, cost); nothing strictly dominated.
    # Pass 1: ICERs 1, 9, 2, 2 -> only C (9 > 2) extendedly dominated.
    # Pass 2: A, B, D, E: ICERs 1, (12 - 1)/2 = 5.5, 2 -> D (5.5 > 2) extendedly dominated.
    # Pass 3: A, B, E: ICERs 1, 13/3 -> increasing. Frontier A, B, E.
    result = inc.incremental_analysis(means("ABCDE", [0, 1, 10, 12, 14], [0, 1, 2, 3, 4]))
    assert result.frontier == ("A", "B", "E")
    assert result.status["C"] == result.status["D"] == "extendedly dominated"
    table = result.table.set_index("arm")
    assert table.loc["E", "icer"] == pytest.approx(13 / 3, rel=1e-12)
    assert table.loc["B", "icer"] == pytest.approx(1.0, rel=1e-12)
    assert table.loc["D", "icer"] == pytest.approx(11 / 2, rel=1e-12)  # vs B, the previous frontier arm
    assert table.loc["C", "dominated_by"] == ("B", "E")


def test_collinear_options_stay_on_the_frontier():
    result = inc.incremental_analysis(means("ABC", [0.0, 10.0, 20.0], [0.0, 1.0, 2.0]))
    assert result.frontier == ("A", "B", "C")


def test_published_cdiff_example_dampack():
    # Rajasingham et al. 2020, 11 strategies; dampack vignettes/cdiff_icers.csv (commit 0430fee8).
    rows = [
        ("s3", 57336.0059896538, 12.9399639202408, "ND", math.nan),
        ("s27", 57541.2526373815, 13.0140640696275, "ND", 2769.85470915263),
        ("s33", 57642.2587507842, 13.0389116321918, "ND", 4065.03105249231),
        ("s31", 57934.0743411241, 13.0966257932217, "ND", 5056.2216470406),
        ("s43", 58072.1137208494, 13.11285766912, "ND", 8504.2160616553),
        ("s44", 58665.7823044647, 13.1283328397025, "ND", 38362.6519947134),
        ("s39", 57814.6470919581, 13.0462790163185, "ED", math.nan),
        ("s4", 57887.481549326, 12.9970657153765, "D", math.nan),
        ("s13", 58018.6252420203, 13.0650412387992, "D", math.nan),
        ("s37", 58081.7947984323, 13.1029711156978, "D", math.nan),
        ("s20", 58634.2026441398, 13.1100568867995, "D", math.nan),
    ]
    result = inc.incremental_analysis(means([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))
    words = {"ND": "frontier", "ED": "extendedly dominated", "D": "dominated"}
    assert result.status == {r[0]: words[r[3]] for r in rows}
    assert result.frontier == ("s3", "s27", "s33", "s31", "s43", "s44")
    table = result.table.set_index("arm")
    for name, _, _, status, icer in rows:
        if status == "ND" and not math.isnan(icer):
            # the published values carry 15 significant digits
            assert table.loc[name, "icer"] == pytest.approx(icer, rel=1e-9)


def test_published_hiv_screening_example_paltiel():
    # Paltiel et al. 2006 Table 4 (high-risk population): costs in USD, quality-adjusted life months / 12.
    # By hand: one time vs status quo 1000 / (0.32/12) = 37,500; 5yr vs one time 1020 / (0.21/12) =
    # 58,285.71; 3yr vs 5yr 420 / (0.05/12) = 100,800; annual costs more than 3yr and is less
    # effective (277.76 < 277.83): dominated.
    names = ["status quo", "one time", "5yr", "3yr", "annual"]
    qalys = [q / 12 for q in (277.25, 277.57, 277.78, 277.83, 277.76)]
    result = inc.incremental_analysis(means(names, [26000, 27000, 28020, 28440, 29440], qalys))
    assert result.frontier == ("status quo", "one time", "5yr", "3yr")
    assert result.status["annual"] == "dominated"
    icers = result.table.set_index("arm").icer
    assert icers["one time"] == pytest.approx(37500.0, rel=1e-9)
    assert icers["5yr"] == pytest.approx(1020 / (0.21 / 12), rel=1e-9)
    assert icers["3yr"] == pytest.approx(100800.0, rel=1e-9)


def _frontier_by_definition(cost: np.ndarray, effect: np.ndarray) -> dict[int, str]:
    """Brute force: dominated by one option, or (otherwise) by a mixture of two options."""
    k = len(cost)
    status = {}
    for i in range(k):
        if any(
            j != i
            and cost[j] <= cost[i]
            and effect[j] >= effect[i]
            and (cost[j] < cost[i] or effect[j] > effect[i])
            for j in range(k)
        ):
            status[i] = "dominated"
            continue
        mixed = False
        for j in range(k):
            for m in range(k):
                if effect[j] < effect[i] < effect[m]:
                    w = (effect[i] - effect[j]) / (effect[m] - effect[j])
                    if (1 - w) * cost[j] + w * cost[m] < cost[i]:
                        mixed = True
        status[i] = "extendedly dominated" if mixed else "frontier"
    return status


def test_frontier_matches_the_definition_on_random_option_sets():
    rng = np.random.default_rng(20240901)
    for _ in range(300):
        k = int(rng.integers(2, 9))
        cost = rng.normal(0, 100, k).round(1)
        effect = rng.normal(0, 1, k).round(2)
        if len(set(zip(cost, effect, strict=True))) < k:
            continue
        names = [f"o{i}" for i in range(k)]
        result = inc.incremental_analysis(means(names, cost, effect))
        expected = _frontier_by_definition(cost, effect)
        got = result.status
        # collinear mixtures (equal ICERs) are on the frontier in both; rounding makes them possible
        assert got == {names[i]: s for i, s in expected.items()}
        front = result.table[result.table.status == "frontier"]
        icers = front.icer.to_numpy()[1:]
        assert np.all(np.diff(icers) >= -1e-9 * np.abs(icers[1:]))


def test_incremental_bad_input():
    with pytest.raises(EstimationError, match="identical mean cost and effect"):
        inc.incremental_analysis(means("AB", [1.0, 1.0], [2.0, 2.0]))
    with pytest.raises(TrialDataError, match="lacks column"):
        inc.incremental_analysis(pd.DataFrame({"arm": ["A", "B"], "cost": [1, 2]}))
    with pytest.raises(TrialDataError, match="more than once"):
        inc.incremental_analysis(means("AA", [1.0, 2.0], [1.0, 2.0]))
    with pytest.raises(TrialDataError, match="finite"):
        inc.incremental_analysis(means("AB", [1.0, math.nan], [1.0, 2.0]))


def test_incremental_from_data_uses_arm_means(frame, trial):
    result = inc.incremental_from_data(frame, "cost_total", "employed_18m", "arm")
    trial_result = inc.incremental_from_data(trial, "cost_total", "employed_18m")
    pd.testing.assert_frame_equal(result.to_frame(), trial_result.to_frame())
    grouped = frame.groupby("arm")[["cost_total", "employed_18m"]].mean()
    table = result.table.set_index("arm")
    for a in ("IPS", "IPSE", "SAU"):
        assert close(table.loc[a, "cost"], grouped.loc[a, "cost_total"])
        assert close(table.loc[a, "effect"], grouped.loc[a, "employed_18m"])
        sd = frame.loc[frame.arm == a, "cost_total"].std(ddof=1)
        assert close(table.loc[a, "cost_se"], sd / math.sqrt((frame.arm == a).sum()))
    # in this sample IPS is cheapest and most effective: it dominates IPSE and SAU
    assert result.frontier == ("IPS",)
    assert result.status == {"IPS": "frontier", "IPSE": "dominated", "SAU": "dominated"}
    ard = result.to_frame()
    assert set(ard.estimand) == {"mean", "icer"}
    icer = ard[ard.estimand == "icer"].set_index("contrast")
    assert icer.loc["IPSE vs IPS", "n"] == 241 + 239 and icer.loc["SAU vs IPS", "n"] == 240 + 239


def test_incremental_from_data_missing(data):
    data.loc[[0, 1, 5], "eq5d_18m"] = np.nan
    with pytest.raises(TrialDataError, match="missing outcome values"):
        inc.incremental_from_data(data, "cost_total", "eq5d_18m", "arm")
    result = inc.incremental_from_data(data, "cost_total", "eq5d_18m", "arm", missing="complete-case")
    kept = data.dropna(subset=["eq5d_18m"])
    table = result.table.set_index("arm")
    for a in ("IPS", "IPSE", "SAU"):
        assert close(table.loc[a, "cost"], kept.loc[kept.arm == a, "cost_total"].mean())
    expected = data.loc[[0, 1, 5]].arm.value_counts().to_dict()
    assert {a: k for a, k in result.inputs.excluded.items() if k} == expected
    assert "3 participants with missing eq5d_18m" in result.summary()


# ------------------------------------------------------------------------------ acceptability frontier


def three_arms(seed: int = 7, n: int = 300) -> pd.DataFrame:
    """A cheap, a middle and an expensive but most effective arm (true ICERs 5,000 and 30,000)."""
    rng = np.random.default_rng(seed)
    spec = {"A": (1000.0, 0.40), "B": (1500.0, 0.50), "C": (3000.0, 0.55)}
    frames = []
    for a, (c, e) in spec.items():
        frames.append(
            pd.DataFrame({"arm": a, "cost": rng.normal(c, 300.0, n), "effect": rng.normal(e, 0.1, n)})
        )
    data = pd.concat(frames, ignore_index=True)
    data["participant_id"] = [f"P{i}" for i in range(len(data))]
    return data


def test_ceaf_extremes_and_sums():
    data = three_arms()
    result = inc.acceptability_frontier(
        data, "cost", "effect", "arm", wtp_grid=[0.0, 1e4, 1e9], n_resamples=2000, seed=11
    )
    sample = data.groupby("arm")[["cost", "effect"]].mean()
    assert result.optimal[0] == sample.cost.idxmin() == "A"
    assert result.optimal[-1] == sample.effect.idxmax() == "C"
    assert np.allclose(result.ceac.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all((result.probability >= 0) & (result.probability <= 1))
    for w, arm in enumerate(result.optimal):
        assert result.probability[w] == result.ceac[arm].iloc[w]
    frame = result.to_frame()
    assert len(frame) == 3 * 3 and set(frame.estimand) == {"prob_cost_effective"}
    assert frame.groupby("wtp").optimal.sum().eq(1).all()


def test_ceaf_same_seed_same_bits_different_seed_differs():
    data = three_arms()
    a = inc.acceptability_frontier(
        data, "cost", "effect", "arm", wtp_grid=[1e4, 2e4], n_resamples=500, seed=3
    )
    b = inc.acceptability_frontier(
        data, "cost", "effect", "arm", wtp_grid=[1e4, 2e4], n_resamples=500, seed=3
    )
    c = inc.acceptability_frontier(
        data, "cost", "effect", "arm", wtp_grid=[1e4, 2e4], n_resamples=500, seed=4
    )
    assert a.replicate_costs.tobytes() == b.replicate_costs.tobytes()
    assert a.ceac.to_numpy().tobytes() == b.ceac.to_numpy().tobytes()
    assert a.replicate_costs.tobytes() != c.replicate_costs.tobytes()
    assert a.seed_entropy == 3


def test_ceaf_optimal_arm_follows_the_frontier_icers():
    # Between successive frontier ICERs of the sample means, the arm with the highest expected net
    # benefit is the frontier arm whose ICER was last passed (Fenwick et al. 2001, sec. 3).
    data = three_arms()
    incremental = inc.incremental_from_data(data, "cost", "effect", "arm")
    assert incremental.frontier == ("A", "B", "C")
    icers = incremental.table.set_index("arm").icer
    grid = [
        0.5 * icers["B"],
        0.8 * icers["B"],
        1.25 * icers["B"],
        0.8 * icers["C"],
        1.25 * icers["C"],
        3 * icers["C"],
    ]
    result = inc.acceptability_frontier(
        data, "cost", "effect", "arm", wtp_grid=grid, n_resamples=4000, seed=5
    )
    assert result.optimal == ("A", "A", "B", "B", "C", "C")


def test_two_arm_ceac_matches_the_normal_approximation():
    # The bootstrap mean of n values has variance (n - 1)/n * s^2 / n; for normal data and n = 400 the
    # replicate net-benefit difference is close to normal, so P(NB_C > NB_A) = Phi(mean / sd).
    from scipy import stats

    data = three_arms(seed=9, n=400)
    data = data[data.arm.isin(["A", "C"])]
    sample = data.groupby("arm")[["cost", "effect"]].mean()
    icer = (sample.cost["C"] - sample.cost["A"]) / (sample.effect["C"] - sample.effect["A"])
    grid = icer + np.array([-600.0, 0.0, 600.0])  # about -1, 0 and +1 SD of the net-benefit difference
    result = inc.acceptability_frontier(
        data, "cost", "effect", "arm", ["A", "C"], wtp_grid=grid, n_resamples=5000, seed=1
    )
    for w, lam in enumerate(grid):
        nb = {a: lam * data.effect[data.arm == a] - data.cost[data.arm == a] for a in ("A", "C")}
        mean = nb["C"].mean() - nb["A"].mean()
        var = sum((len(v) - 1) / len(v) * v.var(ddof=1) / len(v) for v in nb.values())
        expected = stats.norm.cdf(mean / math.sqrt(var))
        assert 0.05 < expected < 0.95
        # Monte Carlo SD <= 0.5 / sqrt(5000) = 0.007
        assert result.ceac["C"].iloc[w] == pytest.approx(expected, abs=0.03)


def test_ceaf_default_grid_and_bad_input(trial):
    result = inc.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=200, seed=2)
    assert result.wtp[0] == 0 and len(result.wtp) == 101
    assert result.arms == ("IPS", "IPSE", "SAU")  # the Trial's arms, in their order
    with pytest.raises(ParameterError, match=">= 0"):
        inc.acceptability_frontier(
            trial, "cost_total", "employed_18m", wtp_grid=[-1.0], n_resamples=10, seed=1
        )
    with pytest.raises(ParameterError, match="n_resamples"):
        inc.acceptability_frontier(trial, "cost_total", "employed_18m", n_resamples=1, seed=1)
    with pytest.raises(ParameterError, match="not arms of the Trial"):
        inc.acceptability_frontier(
            trial, "cost_total", "employed_18m", treatment=["IPS", "XYZ"], n_resamples=10
        )
    with pytest.raises(TrialDataError, match="not an arm label"):
        inc.acceptability_frontier(
            trial.data, "cost_total", "employed_18m", "arm", ["IPS", "XYZ"], n_resamples=10
        )


def test_plots(frame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = inc.incremental_analysis(means("ABCD", [1000, 3000, 4000, 5000], [1.0, 1.5, 2.5, 2.0]))
    ax = result.plot()
    gids = {line.get_gid() for line in ax.get_lines()}
    assert {"frontier", "arm:A", "arm:B", "arm:C", "arm:D"} <= gids
    frontier_line = next(line for line in ax.get_lines() if line.get_gid() == "frontier")
    assert list(frontier_line.get_xdata()) == [1.0, 2.5]
    ceaf = inc.acceptability_frontier(three_arms(), "cost", "effect", "arm", n_resamples=200, seed=1)
    ax = ceaf.plot()
    assert {"ceac:A", "ceac:B", "ceac:C", "ceaf"} <= {line.get_gid() for line in ax.get_lines()}
    costs = ec.costs_by_category(frame, COST_CATEGORIES, "arm", ["IPS", "IPSE"], "SAU")
    ax = costs.plot()
    plt.close("all")


# ------------------------------------------------------------------------------ costs by category


def test_costs_by_category_matches_r_t_test(trial):
    result = ec.costs_by_category(trial, COST_CATEGORIES, total="cost_total")
    frame = result.to_frame()
    for outcome in [*COST_CATEGORIES, "cost_total"]:
        ref = REF[outcome]
        for a in ("IPS", "IPSE", "SAU"):
            row = frame[(frame.outcome == outcome) & (frame.contrast == a) & (frame.estimand == "mean")].iloc[
                0
            ]
            r = ref[f"mean_{a}"]
            assert row.n == r["n"]
            assert row.estimate == pytest.approx(r["mean"], rel=REL, abs=1e-9)
            assert row.se == pytest.approx(r["se"], rel=REL, abs=1e-9)
            if r["ci"][0] == "NaN":
                assert math.isnan(row.ci_low) and math.isnan(row.ci_high)
            else:
                assert row.ci_low == pytest.approx(r["ci"][0], rel=REL)
                assert row.ci_high == pytest.approx(r["ci"][1], rel=REL)
        for t in ("IPS", "IPSE"):
            row = frame[(frame.outcome == outcome) & (frame.contrast == f"{t} vs SAU")].iloc[0]
            r = ref[f"welch_{t}"]
            assert row.estimand == "delta_cost"
            assert row.estimate == pytest.approx(r["difference"], rel=REL)
            assert row.se == pytest.approx(r["se"], rel=REL)
            assert row.df == pytest.approx(r["df"], rel=1e-8)
            assert row.ci_low == pytest.approx(r["ci"][0], rel=1e-8)
            assert row.ci_high == pytest.approx(r["ci"][1], rel=1e-8)
            assert row.p_value == pytest.approx(r["p"], rel=1e-6)
            assert row.n == r["n"]


def test_total_difference_is_the_sum_of_category_differences(frame):
    result = ec.costs_by_category(frame, COST_CATEGORIES, "arm", ["IPS", "IPSE"], "SAU")
    d = result.differences
    for contrast in ("IPS vs SAU", "IPSE vs SAU"):
        parts = d[(d.contrast == contrast) & (d.outcome != "total")].estimate.sum()
        total = d[(d.contrast == contrast) & (d.outcome == "total")].estimate.iloc[0]
        assert total == pytest.approx(parts, rel=1e-12)
        t = contrast.split(" vs ")[0]
        direct = frame.cost_total[frame.arm == t].mean() - frame.cost_total[frame.arm == "SAU"].mean()
        assert total == pytest.approx(direct, rel=1e-12)


def test_costs_by_category_recover_the_synthetic_truths():
    large = simulate_trial(n=50_000, seed=20240902)
    result = ec.costs_by_category(large, COST_CATEGORIES, "arm", ["IPS", "IPSE"], "SAU", total="cost_total")
    frame = result.to_frame()
    truth = INKLUSION.truth
    checked = 0
    for outcome in [*COST_CATEGORIES, "cost_total"]:
        for estimand in ("delta_cost", "mean"):
            for r in truth[(truth.outcome == outcome) & (truth.estimand == estimand)].itertuples():
                row = frame[
                    (frame.outcome == outcome) & (frame.contrast == r.contrast) & (frame.estimand == estimand)
                ]
                row = row.iloc[0]
                if row.se == 0:  # IPS service cost in SAU: exactly 0 for everybody
                    assert row.estimate == r.value == 0
                else:
                    assert abs(row.estimate - r.value) < 4 * row.se, (outcome, r.contrast, estimand)
                checked += 1
    assert checked == 7 * 5


def test_costs_by_category_missing_and_bad_input(frame, data):
    rows = [frame.index[frame.arm == "IPS"][0], frame.index[frame.arm == "SAU"][1]]
    data.loc[rows, "cost_social"] = np.nan
    with pytest.raises(TrialDataError, match="missing outcome values"):
        ec.costs_by_category(data, COST_CATEGORIES, "arm", "IPS", "SAU")
    result = ec.costs_by_category(data, COST_CATEGORIES, "arm", "IPS", "SAU", missing="complete-case")
    d = result.differences
    assert d[d.outcome == "total"].estimate.iloc[0] == pytest.approx(
        d[d.outcome != "total"].estimate.sum(), rel=1e-12
    )
    assert result.excluded == {"IPS": 1, "SAU": 1}
    assert result.inputs.excluded == {"IPS": 1, "SAU": 1}
    assert "2 participants with missing cost_social (IPS 1, SAU 1)" in result.summary()
    assert result.arms.n.sum() == (frame.arm != "IPSE").sum() * 7 - 2 * 7
    bad = frame.copy()
    bad.loc[[0, 7], "cost_jobcentre"] = -5
    with pytest.raises(TrialDataError) as error:
        ec.costs_by_category(bad, COST_CATEGORIES, "arm", ["IPS", "IPSE"], "SAU", id="participant_id")
    message = str(error.value)
    assert "cost_jobcentre" in message and "negative" in message
    assert frame.participant_id[0] in message and frame.participant_id[7] in message
    with pytest.raises(TrialDataError, match="not found"):
        ec.costs_by_category(frame, ["cost_ips", "cost_nothing"], "arm", "IPS", "SAU")
    with pytest.raises(ParameterError, match="also a category"):
        ec.costs_by_category(frame, ["cost_ips", "cost_social"], "arm", "IPS", "SAU", total="cost_ips")


# ------------------------------------------------------------------------------ perspectives


def test_perspectives_follow_the_payer_convention(frame, trial):
    assert ec.perspective_cost(trial, ec.INKLUSION_PAYERS, "societal").equals(
        ec.perspective_cost(frame, ec.INKLUSION_PAYERS, "societal")
    )
    societal = ec.perspective_cost(frame, ec.INKLUSION_PAYERS, "societal")
    assert (societal == frame.cost_total).all()
    assert societal.name == "cost_societal"
    municipal = ec.perspective_cost(frame, ec.INKLUSION_PAYERS, "municipal")
    expected = frame.cost_ips + frame.cost_jobcentre + frame.cost_social + frame.transfers_18m
    assert (municipal == expected).all()
    regional = ec.perspective_cost(frame, ec.INKLUSION_PAYERS, "regional")
    expected = frame.cost_psych_inpatient + frame.cost_psych_outpatient + frame.cost_emergency
    assert (regional == expected).all()
    # the payer -> categories form gives the same
    by_payer = {"municipality": ["cost_jobcentre", "cost_social"], "transfer": ["transfers_18m"]}
    assert ec.perspective_categories(by_payer, "municipal") == (
        "cost_jobcentre",
        "cost_social",
        "transfers_18m",
    )
    assert ec.perspective_categories(by_payer, "societal") == ("cost_jobcentre", "cost_social")


def test_perspective_bad_input(frame):
    with pytest.raises(ValueError, match="unknown perspective 'health'"):
        ec.perspective_cost(frame, ec.INKLUSION_PAYERS, "health")
    with pytest.raises(ValueError, match="unknown payer"):
        ec.perspective_cost(frame, {"cost_ips": "kommune"}, "municipal")
    with pytest.raises(ValueError, match="nothing counts"):
        ec.perspective_cost(frame, {"cost_ips": "municipality"}, "regional")
    bad = frame.copy()
    bad.loc[2, "cost_emergency"] = -100
    with pytest.raises(TrialDataError) as error:
        ec.perspective_cost(bad, ec.INKLUSION_PAYERS, "regional", id="participant_id")
    assert "cost_emergency" in str(error.value) and frame.participant_id[2] in str(error.value)
    gone = frame.copy()
    gone.loc[4, "cost_social"] = np.nan
    with pytest.raises(TrialDataError, match="missing costs"):
        ec.perspective_cost(gone, ec.INKLUSION_PAYERS, "societal")


# ------------------------------------------------------------------------------ discounting, indexing


def test_discount_closed_forms():
    r = 0.035
    annuity = 100 * (1 - (1 + r) ** -3) / r  # 100 at times 1, 2, 3 = 280.1637...
    assert annuity == pytest.approx(100 / 1.035 + 100 / 1.035**2 + 100 / 1.035**3, rel=1e-14)
    years = {1: 100.0, 2: 100.0, 3: 100.0}
    assert ec.discount(years, rate=r, convention="end") == pytest.approx(annuity, rel=1e-12)
    assert ec.discount(years, rate=r, convention="start") == pytest.approx(
        100 + 100 / 1.035 + 100 / 1.035**2, rel=1e-12
    )
    assert ec.discount(years, rate=r, convention="mid") == pytest.approx(annuity * 1.035**0.5, rel=1e-12)
    # a plain list is years base, base + 1, ...: under "end" the base year has factor 1
    assert ec.discount([100, 100, 100], rate=r) == pytest.approx(
        100 + 100 / 1.035 + 100 / 1.035**2, rel=1e-12
    )
    assert ec.discount([100, 100, 100], rate=0.0) == 300.0
    # calendar years, base 2021
    assert ec.discount({2021: 50.0, 2023: 50.0}, rate=r, base_year=2021) == pytest.approx(
        50 + 50 / 1.035**2, rel=1e-12
    )
    frame = pd.DataFrame({"IPS": [100.0, 100.0], "SAU": [0.0, 10.0]}, index=[0, 1])
    pv = ec.discount(frame, rate=r)
    assert pv["IPS"] == pytest.approx(100 + 100 / 1.035, rel=1e-12)
    assert pv["SAU"] == pytest.approx(10 / 1.035, rel=1e-12)
    factors = ec.discount_factors([0, 1, 2], rate=r, convention="start")
    assert factors == pytest.approx([1.035, 1.0, 1 / 1.035], rel=1e-12)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, math.nan])
def test_discount_rate_outside_unit_interval(rate):
    with pytest.raises(ValueError, match=f"discount rate {rate!r}"):
        ec.discount([100.0, 100.0], rate=rate)
    with pytest.raises(ValueError, match="outside"):
        ec.discount_factors([0, 1], rate=rate)


def test_discount_other_bad_input():
    with pytest.raises(ValueError, match="convention"):
        ec.discount([1.0], convention="begin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"year\(s\) \[1.0\]"):
        ec.discount({0: 1.0, 1: math.nan})


@pytest.mark.parametrize(
    ("amounts", "options", "message"),
    [
        ("x", {}, r"amounts_by_year must be a mapping \{year: amount\}, .* got 'x' \(str\)"),
        (5, {}, r"amounts_by_year must be a mapping .* got 5 \(int\)"),
        ({"a": 1}, {}, r"amounts_by_year: the years \(the keys\) must be numbers, got 'a'"),
        ({0: "x"}, {}, r"amounts_by_year: the amounts \(the values\) must be numbers, got 'x'"),
        ([100, "y"], {}, r"amounts_by_year: the amounts must be numbers, got 'y'"),
        (
            pd.Series([1.0, 2.0], index=["a", "b"]),
            {},
            r"the years \(the index\) must be numbers, got 'a', 'b'",
        ),
        ([100], {"base_year": "x"}, r"base_year must be a finite number, got 'x'"),
        ([100], {"base_year": math.inf}, r"base_year must be a finite number, got inf"),
    ],
)
def test_discount_refuses_text_naming_the_argument(amounts, options, message):
    with pytest.raises(ParameterError, match=message):
        ec.discount(amounts, **options)


def test_discount_factors_refuse_text_naming_the_argument():
    with pytest.raises(ParameterError, match="years must be a sequence of year numbers, got 'x'"):
        ec.discount_factors("x")
    with pytest.raises(ParameterError, match="years: the year labels must be numbers, got 'y'"):
        ec.discount_factors([0, "y"])
    with pytest.raises(ParameterError, match="base_year must be a finite number, got 'x'"):
        ec.discount_factors([0, 1], base_year="x")


def test_index_prices_counts_in_words():
    index = {2017: 100.0, 2021: 108.0}
    with pytest.raises(ParameterError, match=r"from_year has 1 year for amounts of shape \(2,\)"):
        ec.index_prices([100.0, 100.0], [2017], 2021, index)
    with pytest.raises(ParameterError, match="from_year has 1 year for 2 amounts"):
        ec.index_prices(pd.Series([100.0, 100.0]), [2017], 2021, index)
    with pytest.raises(ParameterError, match="from_year has 2 years for 1 row of amounts"):
        ec.index_prices(pd.DataFrame({"a": [100.0]}), [2017, 2021], 2021, index)


def test_index_prices_closed_forms():
    index = {2017: 100.0, 2019: 102.0, 2021: 108.0}
    assert ec.index_prices(100.0, 2017, 2021, index) == pytest.approx(108.0, rel=1e-14)
    assert ec.index_prices(108.0, 2021, 2017, index) == pytest.approx(100.0, rel=1e-14)
    out = ec.index_prices([100.0, 100.0], [2017, 2019], 2021, index)
    assert out == pytest.approx([108.0, 100 * 108 / 102], rel=1e-14)
    series = pd.Series([10.0, 20.0], index=["a", "b"])
    assert ec.index_prices(series, 2019, 2021, index).tolist() == pytest.approx(
        [10 * 108 / 102, 20 * 108 / 102]
    )
    table = pd.DataFrame({"year": [2017, 2021], "index": [95.0, 104.5]})
    assert ec.index_prices(100.0, 2017, 2021, table) == pytest.approx(110.0, rel=1e-14)


def test_index_prices_missing_year():
    with pytest.raises(ValueError, match=r"no value for year\(s\) \[2018\]"):
        ec.index_prices(100.0, 2018, 2021, {2017: 100.0, 2021: 108.0})
    with pytest.raises(ValueError, match=r"\[2030\]"):
        ec.index_prices(100.0, 2017, 2030, {2017: 100.0, 2021: 108.0})
    with pytest.raises(ValueError, match="positive"):
        ec.index_prices(100.0, 2017, 2021, {2017: 0.0, 2021: 108.0})
