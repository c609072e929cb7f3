"""Interval estimates for one proportion and for 2x2 tables (ipstrial.stats.proportions).

Checked against published values (Newcombe 1998; Burns et al. 2007), against R (tests/reference/
two_by_two.json, written by tests/reference/two_by_two.R -- read from the file, so no R is needed here)
and for definedness on every table of a grid of small arms.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipstrial.errors import EstimationError
from ipstrial.stats import proportions as iv

REFERENCE = Path(__file__).parent / "reference" / "two_by_two.json"

# Newcombe RG. Interval estimation for the difference between independent proportions: comparison of
# eleven methods. Stat Med 1998;17:873-890, Table II, 95% limits for the eight example tables.
NEWCOMBE_TABLES = {
    "a": (56, 70, 48, 80),
    "b": (9, 10, 3, 10),
    "c": (6, 7, 2, 7),
    "d": (5, 56, 0, 29),
    "e": (0, 10, 0, 20),
    "f": (0, 10, 0, 10),
    "g": (10, 10, 0, 20),
    "h": (10, 10, 0, 10),
}
# method 10: hybrid score (square-and-add of Wilson limits), no continuity correction
NEWCOMBE_METHOD_10 = {
    "a": (0.0524, 0.3339),
    "b": (0.1705, 0.8090),
    "c": (0.0582, 0.8062),
    "d": (-0.0381, 0.1926),
    "e": (-0.1611, 0.2775),
    "f": (-0.2775, 0.2775),
    "g": (0.6791, 1.0000),
    "h": (0.6075, 1.0000),
}
# method 6: Miettinen-Nurminen score interval
NEWCOMBE_METHOD_6 = {"a": (0.0528, 0.3382), "b": (0.1700, 0.8406), "g": (0.7156, 1.0000)}
# Agresti-Caffo (add one success and one failure to each arm), same tables
AGRESTI_CAFFO = {"a": (0.0525, 0.3358), "b": (0.1600, 0.8400), "g": (0.6922, 1.0000)}

ALL_METHODS = {
    **{f"rd-{k}": f for k, f in iv.RISK_DIFFERENCE_METHODS.items()},
    **{f"rr-{k}": f for k, f in iv.RISK_RATIO_METHODS.items()},
    **{f"or-{k}": f for k, f in iv.ODDS_RATIO_METHODS.items()},
}
GRID_SIZES = (1, 2, 5, 30)


def _number(value: object) -> float:
    """A number from the JSON file: "Inf"/"-Inf" strings for infinities, null for NaN."""
    if value is None:
        return math.nan
    if value == "Inf":
        return math.inf
    if value == "-Inf":
        return -math.inf
    return float(value)  # type: ignore[arg-type]


def _close(actual: float, expected: float, rel: float = 1e-6, abs_: float = 1e-12) -> bool:
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


with REFERENCE.open() as handle:
    R_REFERENCE = json.load(handle)
R_TABLES = R_REFERENCE["tables"]
R_IDS = [t["name"] for t in R_TABLES]


def _counts(table: dict) -> tuple[int, int, int, int]:
    return table["x1"], table["n1"], table["x0"], table["n0"]


# ---------------------------------------------------------------------------------------------------------
# published values


@pytest.mark.parametrize("key", sorted(NEWCOMBE_METHOD_10))
def test_newcombe_hybrid_score_matches_newcombe_1998_table_ii_method_10(key):
    ci = iv.rd_newcombe(*NEWCOMBE_TABLES[key])
    assert ci.low == pytest.approx(NEWCOMBE_METHOD_10[key][0], abs=5e-5)
    assert ci.high == pytest.approx(NEWCOMBE_METHOD_10[key][1], abs=5e-5)


@pytest.mark.parametrize("key", sorted(NEWCOMBE_METHOD_6))
def test_miettinen_nurminen_matches_newcombe_1998_table_ii_method_6(key):
    ci = iv.rd_miettinen_nurminen(*NEWCOMBE_TABLES[key])
    assert ci.low == pytest.approx(NEWCOMBE_METHOD_6[key][0], abs=5e-5)
    assert ci.high == pytest.approx(NEWCOMBE_METHOD_6[key][1], abs=5e-5)


@pytest.mark.parametrize("key", sorted(AGRESTI_CAFFO))
def test_agresti_caffo_matches_published_values(key):
    ci = iv.rd_agresti_caffo(*NEWCOMBE_TABLES[key])
    assert ci.low == pytest.approx(AGRESTI_CAFFO[key][0], abs=5e-5)
    assert ci.high == pytest.approx(AGRESTI_CAFFO[key][1], abs=5e-5)


def test_wald_matches_eqolise():
    # Burns T, et al. The effectiveness of supported employment for people with severe mental illness:
    # a randomised controlled trial (EQOLISE). Lancet 2007;370:1146-1152: 85/156 vs 43/156 in work,
    # difference 26.9% (95% CI 16.4% to 37.4%).
    ci = iv.rd_wald(85, 156, 43, 156)
    assert 100 * ci.estimate == pytest.approx(26.9, abs=0.05)
    assert 100 * ci.low == pytest.approx(16.4, abs=0.05)
    assert 100 * ci.high == pytest.approx(37.4, abs=0.05)
    assert ci.note == ""
    assert iv.rd_wald_se(85, 156, 43, 156) == pytest.approx(
        math.sqrt(85 / 156 * 71 / 156 / 156 + 43 / 156 * 113 / 156 / 156), rel=1e-12
    )


# ---------------------------------------------------------------------------------------------------------
# against R (tests/reference/two_by_two.json)


def test_reference_file_records_the_r_version():
    assert R_REFERENCE["r_version"].startswith("R version")
    assert R_REFERENCE["conf"] == pytest.approx(0.95)
    assert len(R_TABLES) >= 20


@pytest.mark.parametrize("table", R_TABLES, ids=R_IDS)
def test_fisher_p_value_matches_fisher_test(table):
    assert _close(iv.fisher_exact(*_counts(table)), _number(table["fisher"]["p"]))


@pytest.mark.parametrize("table", R_TABLES, ids=R_IDS)
def test_conditional_mle_and_exact_interval_match_r(table):
    ci = iv.or_exact_conditional(*_counts(table))
    refined, fisher = table["exact_refined"], table["fisher"]
    # the limits solved to full precision in R (same definition as fisher.test, uniroot tol 1e-13)
    assert _close(ci.low, _number(refined["low"]))
    assert _close(ci.high, _number(refined["high"]))
    # fisher.test itself solves with uniroot's default tolerance (about 1.2e-4 on its working scale),
    # which leaves its limits up to a few per cent away from the exact solution in small tables
    assert _close(ci.low, _number(fisher["low"]), rel=0.05)
    assert _close(ci.high, _number(fisher["high"]), rel=0.05)
    if refined["estimate"] is None:  # zero margin: flat likelihood, fisher.test reports 0, we report 1
        assert _number(fisher["estimate"]) == 0
        assert ci.estimate == 1 and "zero margin" in ci.note
    else:
        assert _close(ci.estimate, _number(refined["estimate"]))
        assert _close(ci.estimate, _number(fisher["estimate"]), rel=0.05)


@pytest.mark.parametrize("correct", [False, True], ids=["pearson", "yates"])
@pytest.mark.parametrize("table", R_TABLES, ids=R_IDS)
def test_chi_square_matches_prop_test(table, correct):
    statistic, p = iv.chi_square(*_counts(table), correct=correct)
    expected = table["prop_test"]["corrected" if correct else "uncorrected"]
    if expected["statistic"] is None:  # zero margin: prop.test gives NaN, we give 0 and 1
        assert (statistic, p) == (0.0, 1.0)
    else:
        assert _close(statistic, _number(expected["statistic"]))
        assert _close(p, _number(expected["p"]))


@pytest.mark.parametrize("table", R_TABLES, ids=R_IDS)
def test_miettinen_nurminen_matches_independent_r_implementation(table):
    ci = iv.rd_miettinen_nurminen(*_counts(table))
    expected = table["mn_rd"]
    assert ci.estimate == pytest.approx(_number(expected["estimate"]), abs=1e-15)
    assert _close(ci.low, _number(expected["low"]))
    assert _close(ci.high, _number(expected["high"]))


@pytest.mark.parametrize("variant", ["mn", "koopman"])
@pytest.mark.parametrize("table", R_TABLES, ids=R_IDS)
def test_risk_ratio_score_matches_independent_r_implementation(table, variant):
    ci = iv.rr_score(*_counts(table), mn_factor=variant == "mn")
    expected = table[f"rr_score_{variant}"]
    assert _close(ci.low, _number(expected["low"]))
    assert _close(ci.high, _number(expected["high"]))
    if expected["estimate"] is None:  # no events in either arm
        assert ci.estimate == 1 and "not estimable" in ci.note
    else:
        assert _close(ci.estimate, _number(expected["estimate"]))


@pytest.mark.parametrize("table", R_TABLES, ids=R_IDS)
def test_one_proportion_intervals_match_prop_test_and_binom_test(table):
    x1, n1, x0, n0 = _counts(table)
    for arm, (x, n) in {"treatment": (x1, n1), "control": (x0, n0)}.items():
        wilson, exact = iv.wilson(x, n), iv.clopper_pearson(x, n)
        assert wilson.low == pytest.approx(_number(table["wilson"][arm]["low"]), abs=1e-12)
        assert wilson.high == pytest.approx(_number(table["wilson"][arm]["high"]), abs=1e-12)
        assert exact.low == pytest.approx(_number(table["clopper_pearson"][arm]["low"]), abs=1e-12)
        assert exact.high == pytest.approx(_number(table["clopper_pearson"][arm]["high"]), abs=1e-12)


# ---------------------------------------------------------------------------------------------------------
# every method is defined on every table


def _check_interval(name: str, ci: iv.Interval, table: tuple[int, int, int, int]) -> None:
    values = (ci.estimate, ci.low, ci.high)
    assert not any(math.isnan(v) for v in values), (name, table, ci)
    assert ci.low <= ci.high, (name, table, ci)
    if name == "rd-agresti-caffo" and ci.conf < 0.95 and not ci.low <= ci.estimate <= ci.high:
        # the adjusted interval is centred away from p1 - p0; in tiny arms at 90% it can miss it
        assert "outside the interval" in ci.note and min(table[1], table[3]) <= 2, (table, ci)
    elif math.isfinite(ci.estimate):
        assert ci.low <= ci.estimate <= ci.high, (name, table, ci)
    if name.startswith("rd-"):
        assert -1 <= ci.low and ci.high <= 1, (name, table, ci)
        assert all(math.isfinite(v) for v in values), (name, table, ci)
    else:  # ratios: finite, or exactly 0 / inf at the ends of (0, inf)
        assert 0 <= ci.low < math.inf and 0 < ci.high <= math.inf, (name, table, ci)
        assert 0 <= ci.estimate <= math.inf, (name, table, ci)


GRID = [(n1, n0, 0.95) for n1 in GRID_SIZES for n0 in GRID_SIZES]
GRID += [(n1, n0, conf) for n1 in (1, 2, 5, 9) for n0 in (1, 2, 5, 9) for conf in (0.9, 0.99)]


@pytest.mark.parametrize(("n1", "n0", "conf"), GRID)
def test_every_method_is_defined_and_ordered_on_every_table(n1, n0, conf):
    for x1 in range(n1 + 1):
        for x0 in range(n0 + 1):
            table = (x1, n1, x0, n0)
            for name, method in ALL_METHODS.items():
                _check_interval(name, method(*table, conf), table)
            for correct in (False, True):
                statistic, p = iv.chi_square(*table, correct=correct)
                assert math.isfinite(statistic) and statistic >= 0 and 0 <= p <= 1
            assert 0 < iv.fisher_exact(*table) <= 1
            nnt = iv.number_needed_to_treat(iv.rd_newcombe(*table, conf))
            assert not any(math.isnan(nnt[k]) for k in ("estimate", "low", "high"))


@pytest.mark.parametrize("n", GRID_SIZES)
def test_one_proportion_is_defined_on_every_count(n):
    for x in range(n + 1):
        for ci in (iv.wilson(x, n), iv.clopper_pearson(x, n)):
            assert 0 <= ci.low <= x / n <= ci.high <= 1
        assert (iv.wilson(x, n).low == 0) == (x == 0) and (iv.wilson(x, n).high == 1) == (x == n)


@settings(max_examples=60, deadline=None)
@given(
    n1=st.integers(1, 400),
    n0=st.integers(1, 400),
    f1=st.floats(0, 1),
    f0=st.floats(0, 1),
    conf=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_every_method_is_defined_on_random_tables(n1, n0, f1, f0, conf):
    table = (round(f1 * n1), n1, round(f0 * n0), n0)
    for name, method in ALL_METHODS.items():
        _check_interval(name, method(*table, conf), table)


def test_boundaries_are_exact():
    assert iv.rd_miettinen_nurminen(10, 10, 0, 20).high == 1.0
    assert iv.rd_miettinen_nurminen(0, 5, 5, 5).low == -1.0
    zero_treated = iv.rr_score(0, 10, 4, 10)
    assert zero_treated.estimate == 0.0 and zero_treated.low == 0.0 and 0 < zero_treated.high < math.inf
    zero_control = iv.rr_score(4, 10, 0, 10)
    assert zero_control.estimate == math.inf and zero_control.high == math.inf and zero_control.low > 0
    exact_low = iv.or_exact_conditional(0, 10, 4, 10)
    assert exact_low.estimate == 0.0 and exact_low.low == 0.0 and 0 < exact_low.high < math.inf
    exact_high = iv.or_exact_conditional(10, 10, 4, 10)
    assert exact_high.estimate == math.inf and exact_high.high == math.inf and exact_high.low > 0


def test_corrections_are_noted():
    assert iv.rr_log(5, 10, 3, 10).note == ""
    katz = iv.rr_log(0, 10, 3, 10)
    assert "0.5 added to each cell" in katz.note
    assert katz.estimate == pytest.approx((0.5 / 11) / (3.5 / 11))
    both_zero = iv.rr_log(0, 10, 0, 20)
    assert "0.5 added" in both_zero.note and both_zero.estimate == pytest.approx(21 / 11)
    woolf = iv.or_woolf(10, 10, 3, 10)
    assert "Haldane" in woolf.note
    assert woolf.estimate == pytest.approx(10.5 * 7.5 / (0.5 * 3.5))
    assert iv.or_woolf(5, 10, 3, 10).note == ""
    assert "zero margin" in iv.or_exact_conditional(0, 10, 0, 20).note
    assert "truncated" in iv.rd_agresti_caffo(10, 10, 0, 20).note


def test_katz_and_woolf_closed_forms():
    katz = iv.rr_log(20, 50, 10, 50)
    se = math.sqrt(1 / 20 - 1 / 50 + 1 / 10 - 1 / 50)
    assert katz.estimate == pytest.approx(2.0)
    assert katz.low == pytest.approx(2 * math.exp(-1.959963984540054 * se), rel=1e-12)
    woolf = iv.or_woolf(20, 50, 10, 50)
    se = math.sqrt(1 / 20 + 1 / 30 + 1 / 10 + 1 / 40)
    assert woolf.estimate == pytest.approx(20 * 40 / (30 * 10))
    assert woolf.high == pytest.approx(woolf.estimate * math.exp(1.959963984540054 * se), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# one proportion


@pytest.mark.parametrize("n", [1, 7, 30, 243])
@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_wilson_closed_form_at_zero_and_all(n, conf):
    z = iv._z(conf)
    none = iv.wilson(0, n, conf)
    assert none.low == 0 and none.estimate == 0
    assert none.high == pytest.approx(z * z / (n + z * z), rel=1e-12)
    everyone = iv.wilson(n, n, conf)
    assert everyone.high == 1 and everyone.low == pytest.approx(n / (n + z * z), rel=1e-12)


def _coverage(intervals: list[iv.Interval], n: int, p: np.ndarray) -> np.ndarray:
    """Exact coverage probability of a set of intervals (one per x = 0..n) at each true p."""
    from scipy.stats import binom

    x = np.arange(n + 1)
    low = np.array([ci.low for ci in intervals])
    high = np.array([ci.high for ci in intervals])
    pmf = binom.pmf(x[:, None], n, p[None, :])
    covers = (low[:, None] <= p[None, :]) & (p[None, :] <= high[:, None])
    return (pmf * covers).sum(axis=0)


@pytest.mark.parametrize("n", [10, 30])
def test_clopper_pearson_covers_at_least_the_nominal_level(n):
    exact = [iv.clopper_pearson(x, n) for x in range(n + 1)]
    wilson = [iv.wilson(x, n) for x in range(n + 1)]
    for ci, score in zip(exact, wilson, strict=True):
        assert ci.low <= score.estimate <= ci.high  # the exact interval contains the Wilson estimate x/n
    p = np.arange(1, 400) / 400
    assert _coverage(exact, n, p).min() >= 0.95 - 1e-12
    # Wilson's coverage is near, not always above, the nominal level; averaged over p it is close to it
    assert 0.93 < _coverage(wilson, n, p).mean() < 0.97


# ---------------------------------------------------------------------------------------------------------
# tests of no difference


def test_chi_square_formulas_and_zero_margin():
    statistic, p = iv.chi_square(56, 70, 48, 80)
    n, a, b, c, d = 150, 56, 14, 48, 32
    assert statistic == pytest.approx(n * (a * d - b * c) ** 2 / (70 * 80 * 104 * 46), rel=1e-12)
    corrected, _ = iv.chi_square(56, 70, 48, 80, correct=True)
    assert corrected == pytest.approx(n * (abs(a * d - b * c) - n / 2) ** 2 / (70 * 80 * 104 * 46), rel=1e-12)
    assert iv.chi_square(0, 10, 0, 20) == (0.0, 1.0)
    assert iv.chi_square(10, 10, 20, 20, correct=True) == (0.0, 1.0)
    assert iv.chi_square(5, 10, 5, 10, correct=True) == (0.0, 1.0)  # Yates never over-corrects


def test_fisher_exact_is_symmetric_in_the_arms():
    for table in [(3, 9, 7, 11), (0, 4, 3, 9), (5, 5, 2, 12)]:
        x1, n1, x0, n0 = table
        assert iv.fisher_exact(x1, n1, x0, n0) == pytest.approx(iv.fisher_exact(x0, n0, x1, n1), rel=1e-12)
    assert iv.fisher_exact(1, 2, 1, 2) == 1.0


# ---------------------------------------------------------------------------------------------------------
# number needed to treat (Altman, BMJ 1998;317:1309)


def test_nnt_label_when_the_interval_excludes_zero():
    nnt = iv.number_needed_to_treat(iv.Interval(1 / 7.5, 1 / 17.2, 1 / 4.8, "test"))
    assert nnt["label"] == "NNTB 7.5 (95% CI 4.8 to 17.2)"
    assert nnt["estimate"] == pytest.approx(7.5)
    assert (nnt["low"], nnt["high"]) == (pytest.approx(4.8), pytest.approx(17.2))


def test_nnt_label_when_the_interval_includes_zero():
    nnt = iv.number_needed_to_treat(iv.Interval(1 / 7.5, -1 / 20.1, 1 / 3.2, "test"))
    assert nnt["label"] == "NNTB 7.5 (95% CI NNTH 20.1 to ∞ to NNTB 3.2)"
    # the confidence set runs through infinity: NNT >= low (benefit) or NNT <= high (harm)
    assert nnt["low"] == pytest.approx(3.2) and nnt["high"] == pytest.approx(-20.1)


def test_nnt_for_harm_for_no_difference_and_at_other_levels():
    harm = iv.number_needed_to_treat(iv.Interval(-0.2, -0.3, -0.1, "test"))
    assert harm["label"] == "NNTH 5.0 (95% CI 3.3 to 10.0)"
    assert harm["low"] == pytest.approx(-10) and harm["high"] == pytest.approx(-1 / 0.3)
    none = iv.number_needed_to_treat(iv.Interval(0.0, -0.25, 0.5, "test", conf=0.9))
    assert none["estimate"] == math.inf
    assert none["label"] == "NNT ∞ (90% CI NNTH 4.0 to ∞ to NNTB 2.0)"
    edge = iv.number_needed_to_treat(iv.Interval(0.1, 0.0, 0.2, "test"))
    assert edge["label"] == "NNTB 10.0 (95% CI ∞ to NNTB 5.0)" and edge["high"] == math.inf
    flat = iv.number_needed_to_treat(iv.rd_wald(0, 10, 0, 20))
    assert flat["label"] == "NNT ∞ (95% CI ∞)" and flat["low"] == flat["high"] == math.inf
    eqolise = iv.number_needed_to_treat(iv.rd_wald(85, 156, 43, 156))
    assert eqolise["label"] == "NNTB 3.7 (95% CI 2.7 to 6.1)"


# ---------------------------------------------------------------------------------------------------------
# input checks and registries


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: iv.wilson(5, 3), ["x=5", "n=3"]),
        (lambda: iv.clopper_pearson(-1, 4), ["x=-1", "n=4"]),
        (lambda: iv.wilson(0, 0), ["n=0"]),
        (lambda: iv.rd_newcombe(1, 0, 0, 5), ["x1=1", "n1=0"]),
        (lambda: iv.rd_miettinen_nurminen(1, 5, 7, 6), ["x0=7", "n0=6"]),
        (lambda: iv.rr_score(-2, 5, 1, 6), ["x1=-2"]),
        (lambda: iv.or_exact_conditional(1, 5, 1, -6), ["n0=-6"]),
        (lambda: iv.chi_square(3, 2, 1, 4), ["x1=3", "n1=2"]),
        (lambda: iv.fisher_exact(1, 2, 5, 4), ["x0=5", "n0=4"]),
        (lambda: iv.or_woolf(2.5, 5, 1, 4), ["x1=2.5"]),
        (lambda: iv.rd_wald(1, 5, 1, 4, 1.5), ["conf=1.5"]),
    ],
)
def test_bad_input_raises_estimation_error_naming_the_values(call, names):
    with pytest.raises(EstimationError) as info:
        call()
    for name in names:
        assert name in str(info.value)


def test_whole_floats_and_numpy_integers_are_accepted():
    assert iv.rd_newcombe(np.int64(56), np.int32(70), 48.0, 80) == iv.rd_newcombe(56, 70, 48, 80)


def test_method_registries():
    assert iv.RISK_DIFFERENCE_METHODS == {
        "wald": iv.rd_wald,
        "newcombe": iv.rd_newcombe,
        "miettinen-nurminen": iv.rd_miettinen_nurminen,
        "agresti-caffo": iv.rd_agresti_caffo,
    }
    assert iv.RISK_RATIO_METHODS == {"log": iv.rr_log, "score": iv.rr_score}
    assert iv.ODDS_RATIO_METHODS == {"woolf": iv.or_woolf, "exact": iv.or_exact_conditional}


def test_interval_is_frozen():
    ci = iv.wilson(3, 10)
    with pytest.raises(AttributeError):
        ci.low = 0.0  # type: ignore[misc]
