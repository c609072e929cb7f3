"""Sample size and power (ipstrial.power) against R (power.prop.test, pwr.2p.test; tests/reference/power.R),
the Schoenfeld and Freedman closed forms, and the exact power of the continuity-corrected chi-square test."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import REFERENCE
from scipy import stats

from ipstrial.errors import ParameterError
from ipstrial.power import logrank, two_proportions

R = json.loads((REFERENCE / "power.json").read_text())


def _cases(table):
    for key, value in table.items():
        p0, p1, alpha = map(float, key.split("_"))
        yield p0, p1, alpha, value


def test_the_projekt_inklusion_headline_needs_217_per_arm():
    """46.5 % vs 59.9 %, 80 % power, two-sided 5 %: pwr.2p.test n = 216.33, power.prop.test n = 216.48."""
    normal = two_proportions(0.465, 0.599, power=0.8)
    arcsine = two_proportions(0.465, 0.599, power=0.8, method="arcsine")
    assert normal.n_per_arm == arcsine.n_per_arm == 217
    assert normal.n_exact == pytest.approx(R["prop_n"]["0.465_0.599_0.05"], rel=1e-9)
    assert arcsine.n_exact == pytest.approx(R["pwr_n_headline"], abs=1e-3)  # as R prints it (uniroot's 1e-4)
    assert normal.power_at_n >= 0.8 and normal.n_total == 434


@pytest.mark.parametrize(("p0", "p1", "alpha", "n"), list(_cases(R["prop_n"])))
def test_normal_sample_size_equals_power_prop_test(p0, p1, alpha, n):
    assert two_proportions(p0, p1, power=0.8, alpha=alpha).n_exact == pytest.approx(n, rel=1e-9)


@pytest.mark.parametrize(("p0", "p1", "alpha", "power"), list(_cases(R["prop_power"])))
def test_normal_power_equals_power_prop_test(p0, p1, alpha, power):
    assert two_proportions(p0, p1, n=150, alpha=alpha).power == pytest.approx(power, rel=1e-12)


@pytest.mark.parametrize(("p0", "p1", "alpha", "n"), list(_cases(R["arcsine_n"])))
def test_arcsine_sample_size_equals_pwr(p0, p1, alpha, n):
    assert two_proportions(p0, p1, power=0.8, alpha=alpha, method="arcsine").n_exact == pytest.approx(
        n, rel=1e-9
    )


@pytest.mark.parametrize(("p0", "p1", "alpha", "power"), list(_cases(R["arcsine_power"])))
def test_arcsine_power_equals_pwr(p0, p1, alpha, power):
    assert two_proportions(p0, p1, n=150, alpha=alpha, method="arcsine").power == pytest.approx(
        power, rel=1e-12
    )


def test_detectable_effects_equal_r():
    assert two_proportions(0.465, n=240, power=0.8).effect["p_treatment"] == pytest.approx(
        R["prop_p2"], abs=1e-9
    )
    p1 = two_proportions(0.465, n=240, power=0.8, method="arcsine").effect["p_treatment"]
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(0.465))
    assert h == pytest.approx(R["arcsine_h"], abs=1e-9)


def test_two_comparisons_with_the_control_are_each_at_half_alpha():
    """IPS and IPSE each against SAU: Bonferroni, so the R value at alpha 0.025; three arms in all."""
    both = two_proportions(0.465, 0.591, power=0.8, comparisons=2)
    assert both.n_exact == pytest.approx(R["prop_n"]["0.465_0.591_0.025"], rel=1e-9)
    assert both.arms == 3 and both.n_total == 3 * both.n_per_arm


def _exact_power_yates(p0: float, p1: float, n: int, alpha: float) -> float:
    """The exact rejection probability of the two-sided Yates-corrected chi-square test, n per arm, by
    enumerating every pair of binomial outcomes (independent of the formulas under test)."""
    x = np.arange(n + 1)
    a, c = np.meshgrid(x, x, indexing="ij")  # events in control, treatment
    b, d = n - a, n - c
    total = 2 * n
    events, non = a + c, b + d
    diff = np.abs(a * d - b * c) - total / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(diff > 0, total * diff**2 / (n * n * events * non), 0.0)
    chi2 = np.nan_to_num(chi2)
    reject = chi2 > stats.chi2.ppf(1 - alpha, 1)
    prob = np.outer(stats.binom.pmf(x, n, p0), stats.binom.pmf(x, n, p1))
    return float(prob[reject].sum())


@pytest.mark.parametrize(("p0", "p1"), [(0.465, 0.599), (0.2, 0.35), (0.05, 0.12)])
def test_continuity_corrected_size_gives_the_corrected_test_its_power(p0, p1):
    """Fleiss-Tytun-Ury n_cc: the exact power of the Yates-corrected test at n_cc is near 80 %, and at the
    uncorrected n it falls short."""
    cc = two_proportions(p0, p1, power=0.8, method="normal-cc")
    plain = two_proportions(p0, p1, power=0.8)
    assert cc.n_per_arm > plain.n_per_arm
    assert _exact_power_yates(p0, p1, cc.n_per_arm, 0.05) == pytest.approx(0.8, abs=0.015)
    assert _exact_power_yates(p0, p1, plain.n_per_arm, 0.05) < 0.8 - 0.01
    # the corrected formula's power at n_cc is the target (the solution is exact for the Fleiss form)
    assert (
        cc.power_at_n >= 0.8 and two_proportions(p0, p1, n=cc.n_per_arm - 1, method="normal-cc").power < 0.8
    )


@pytest.mark.parametrize("method", ["schoenfeld", "freedman"])
@pytest.mark.parametrize("key", ["1.55_0.8", "1.55_0.9", "0.7_0.8", "0.7_0.9"])
def test_logrank_events_equal_the_closed_forms(method, key):
    hr, power = map(float, key.split("_"))
    result = logrank(hr, event_probability=0.6, power=power, method=method)
    assert result.events_exact == pytest.approx(R[method][key], rel=1e-12)
    assert result.n_exact == pytest.approx(R[method][key] / (2 * 0.6), rel=1e-12)
    back = logrank(hr, event_probability=0.6, n=result.n_per_arm, method=method)
    assert (
        back.power >= power
        and logrank(hr, event_probability=0.6, n=result.n_per_arm - 1, method=method).power < power
    )
    detectable = logrank(event_probability=0.6, n=result.n_per_arm, power=power, method=method).effect[
        "hazard_ratio"
    ]
    assert logrank(
        detectable, event_probability=0.6, n=result.n_per_arm, method=method
    ).power == pytest.approx(power, abs=1e-9)
    if hr > 1:  # n was rounded up: the detectable hazard ratio is a little closer to 1
        assert 1 < detectable <= hr


def test_round_trips_between_n_power_and_effect():
    n = two_proportions(0.3, 0.45, power=0.9, method="arcsine").n_exact
    assert two_proportions(0.3, 0.45, n=math.ceil(n), method="arcsine").power >= 0.9
    p1 = two_proportions(0.3, n=math.ceil(n), power=0.9, method="arcsine").effect["p_treatment"]
    assert 0.44 < p1 <= 0.45


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: two_proportions(0.4, 0.5), "give exactly two of n, power and p_treatment"),
        (lambda: two_proportions(0.4, 0.5, n=100, power=0.8), "give exactly two"),
        (lambda: two_proportions(0.4, 0.4, power=0.8), "equals p_control"),
        (lambda: two_proportions(1.2, 0.5, power=0.8), "p_control must be a number strictly between 0 and 1"),
        (lambda: two_proportions(0.4, 0.5, power=0.8, method="exact"), "method"),
        (lambda: two_proportions(0.4, n=10, power=0.99), "no p_treatment above p_control"),
        (lambda: logrank(1.0, event_probability=0.5, power=0.8), "hazard_ratio 1 is no effect"),
        (lambda: logrank(1.5, event_probability=0, power=0.8), "event_probability must be greater than 0"),
    ],
)
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_the_power_command_prints_the_solution_and_json(capsys):
    from ipstrial.cli import main

    assert (
        main(["power", "proportions", "--p-control", "0.465", "--p-treatment", "0.599", "--power", "0.8"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("Sample size, two proportions (normal)") and "n per arm 217 (216.48" in out
    assert (
        main(
            [
                "power",
                "logrank",
                "--hazard-ratio",
                "1.55",
                "--event-probability",
                "0.6",
                "--n",
                "150",
                "--json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["solved"] == "power"
    assert document["power"] == pytest.approx(logrank(1.55, event_probability=0.6, n=150).power, rel=1e-15)
    assert main(["power", "proportions", "--p-control", "0.465", "--power", "0.8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give exactly two of n, power and p_treatment" in err[0]


def test_rmst_moments_equal_numerical_integration_and_a_simulated_trial():
    """The restricted mean and variance of an exponential against quadrature (E min(T,τ) = ∫_0^τ S, E min² =
    ∫_0^τ 2t S), and the power formula against 4,000 simulated trials analysed by the Wald test."""
    from scipy import integrate

    from ipstrial.power import rmst_difference
    from ipstrial.power._closed_form import _exponential_restricted_moments

    rate, tau = math.log(2) / 400, 548
    mean, var = _exponential_restricted_moments(rate, tau)
    m1 = integrate.quad(lambda t: math.exp(-rate * t), 0, tau, epsabs=1e-12)[0]
    m2 = integrate.quad(lambda t: 2 * t * math.exp(-rate * t), 0, tau, epsabs=1e-12)[0]
    assert mean == pytest.approx(m1, rel=1e-10) and var == pytest.approx(m2 - m1**2, rel=1e-10)

    design = rmst_difference(400, 1.4, tau=548, power=0.8)
    n = design.n_per_arm
    rng = np.random.default_rng(20261201)
    reps = 4000
    t0 = np.minimum(rng.exponential(400 / math.log(2), size=(reps, n)), tau)
    t1 = np.minimum(rng.exponential(400 / math.log(2) / 1.4, size=(reps, n)), tau)
    z = (t1.mean(1) - t0.mean(1)) / np.sqrt(t1.var(1, ddof=1) / n + t0.var(1, ddof=1) / n)
    rejected = float(np.mean(np.abs(z) > stats.norm.ppf(0.975)))
    mcse = math.sqrt(0.8 * 0.2 / reps)
    assert abs(rejected - design.power_at_n) < 4 * mcse
    assert rmst_difference(400, 1.4, tau=548, n=n).power == pytest.approx(design.power_at_n, rel=1e-15)
    detectable = rmst_difference(400, tau=548, n=n, power=0.8).effect["hazard_ratio"]
    assert 1 < detectable <= 1.4


def test_the_rmst_command(capsys):
    from ipstrial.cli import main
    from ipstrial.power import rmst_difference

    assert (
        main(
            [
                "power",
                "rmst",
                "--median-control",
                "400",
                "--hazard-ratio",
                "1.4",
                "--tau",
                "548",
                "--power",
                "0.8",
            ]
        )
        == 0
    )
    n = rmst_difference(400, 1.4, tau=548, power=0.8).n_per_arm
    assert f"n per arm {n} " in capsys.readouterr().out
