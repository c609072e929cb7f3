"""Publication figures (issue 10): no overlapping labels, numbers at risk, month ticks, one colour per arm."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import ipstrial  # noqa: E402
from ipstrial import itt, survival  # noqa: E402
from ipstrial._checks import ParameterError  # noqa: E402
from ipstrial.budget import BusinessCase  # noqa: E402
from ipstrial.economics import cost_effectiveness  # noqa: E402
from ipstrial.report.figures import text_overlaps  # noqa: E402
from ipstrial.report.forest import forest_figure  # noqa: E402
from ipstrial.report.palette import arm_colors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("IPS", "IPSE", "SAU")
# seaborn 0.13's "colorblind" palette, first three colours (Wong 2011), typed in from its documentation
COLORBLIND = ("#0173b2", "#de8f05", "#029e73")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "synthetic" / "inklusion.csv")


@pytest.fixture(scope="module")
def trial(data):
    return ipstrial.Trial(
        data,
        id="participant_id",
        arm="arm",
        arms=list(ARMS),
        control="SAU",
        binary=["employed_18m"],
        durations={"days_to_job": "event"},
        costs=["cost_total"],
    )


@pytest.fixture(scope="module")
def km(trial):
    return survival.kaplan_meier(trial, "days_to_job")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _at_risk(ax) -> dict[tuple[str, float], str]:
    out = {}
    for t in ax.texts:
        gid = str(t.get_gid())
        if gid.startswith("at_risk:"):
            _, arm, when = gid.split(":")
            out[(arm, float(when))] = t.get_text()
    return out


def test_arm_colors_follow_the_declared_order():
    assert arm_colors(ARMS) == dict(zip(ARMS, COLORBLIND, strict=True))
    assert arm_colors(["SAU", "IPS"]) == {"SAU": COLORBLIND[0], "IPS": COLORBLIND[1]}
    with pytest.raises(ParameterError, match="repeat"):
        arm_colors(["IPS", "IPS"])
    with pytest.raises(ParameterError, match="sequence"):
        arm_colors("IPS")


def test_overlap_check_detects_an_overlap():
    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "first label")
    ax.text(0.5, 0.5, "second label")
    ax.text(0.1, 0.9, "apart")
    assert text_overlaps(fig) == [("first label", "second label")]


def test_kaplan_meier_months_at_risk_and_no_overlap(km, data):
    ax = km.plot(time_unit="months")
    assert ax.get_xlabel() == "Months since randomisation"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0", "6", "12", "18", "24", "30"]
    np.testing.assert_allclose(ax.get_xticks(), np.arange(0, 31, 6) * 365.25 / 12)
    shown = _at_risk(ax)
    assert len(shown) == 3 * 6
    for (arm, t), text in shown.items():
        direct = int((data.loc[data.arm == arm, "days_to_job"] >= t).sum())  # a direct count on the data
        assert int(text) == direct == km.at_risk([t]).loc[arm, t]
    assert shown[("SAU", 6 * 365.25 / 12)] == "186"
    assert text_overlaps(ax.figure) == []


def test_cumulative_incidence_at_risk_equals_direct_count(trial, data):
    result = survival.cumulative_incidence(trial, "days_to_job")
    ax = result.plot(time_unit="months")
    shown = _at_risk(ax)
    assert len(shown) == 18
    for (arm, t), text in shown.items():
        assert text == str(int((data.loc[data.arm == arm, "days_to_job"] >= t).sum()))
    assert len(ax.collections) == 3  # one interval band per arm
    assert text_overlaps(ax.figure) == []


def test_colour_of_each_arm_is_the_same_in_every_figure(trial, km):
    km_ax = km.plot()
    ci_ax = survival.cumulative_incidence(trial, "days_to_job").plot()
    fig = forest_figure(itt.compare_proportions(trial, "employed_18m"))
    expected = dict(zip(ARMS, COLORBLIND, strict=True))
    to_hex = matplotlib.colors.to_hex
    for prefix, ax in (("km:", km_ax), ("cif:", ci_ax)):
        lines = {str(line.get_gid())[len(prefix) :]: line for line in ax.get_lines()}
        assert {arm: to_hex(lines[arm].get_color()) for arm in ARMS} == expected
    forest = [line for line in fig.axes[0].get_lines() if str(line.get_gid()).startswith("forest:")]
    assert [to_hex(line.get_color()) for line in forest] == [expected["IPS"], expected["IPSE"]]


def test_forest_figure_contrasts_subgroups_texts(trial, data):
    binary = itt.compare_proportions(trial, "employed_18m")
    groups = itt.subgroups(trial, "employed_18m", by=["sex", "site"])
    fig = forest_figure([binary, groups])
    texts = [t.get_text() for t in fig.axes[0].texts]
    ips = data[data.arm == "IPS"].employed_18m
    sau = data[data.arm == "SAU"].employed_18m
    assert f"{int(ips.sum())}/{len(ips)}" in texts and f"{int(sau.sum())}/{len(sau)}" in texts
    rd = binary.interval("risk_difference", "IPS vs SAU")
    assert f"{100 * rd.estimate:.1f} ({100 * rd.low:.1f} to {100 * rd.high:.1f})" in texts
    assert "← favours SAU" in texts and "favours IPS / IPSE →" in texts
    levels = len(groups.levels)
    assert len(fig.axes[0].get_yticks()) == 2 + 1 + levels + len(groups.interactions)
    assert text_overlaps(fig) == []
    with pytest.raises(ParameterError, match="risk differences only"):
        forest_figure([groups], estimand="risk_ratio")


@pytest.mark.parametrize("which", ["binary", "cox", "subgroups"])
def test_forest_like_plots_do_not_overlap(trial, which):
    if which == "binary":
        ax = itt.compare_proportions(trial, "employed_18m").plot(estimand="risk_ratio")
        assert ax.get_xscale() == "log"
    elif which == "cox":
        ax = survival.cox(trial, "days_to_job").plot()
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()]  # plain numbers
    else:
        ax = itt.subgroups(trial, "employed_18m", by="site").plot()
    assert text_overlaps(ax.figure) == []


def test_cost_effectiveness_plane_and_ceac(trial):
    result = cost_effectiveness(trial, "cost_total", "employed_18m", wtp=200_000, n_resamples=200, seed=3)
    ax = result.plot(kind="plane", currency="DKK")
    assert "DKK" in ax.get_ylabel()
    fig = ax.figure
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any("," in t for t in ticks)
    line = next(line for line in ax.get_lines() if line.get_label().startswith("λ"))
    (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
    assert y0 == pytest.approx(200_000 * x0) and y1 == pytest.approx(200_000 * x1)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    on_edge = [
        np.isclose(x0, xlim[0]) or np.isclose(y0, ylim[0]),
        np.isclose(x1, xlim[1]) or np.isclose(y1, ylim[1]),
    ]
    assert all(on_edge)  # the line crosses the whole plane
    renderer = fig.canvas.get_renderer()
    points = np.vstack([c.get_offsets() for c in ax.collections])
    pixels = ax.transData.transform(points)
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        inside = (pixels[:, 0] >= box.x0) & (pixels[:, 0] <= box.x1) & (pixels[:, 1] >= box.y0)
        assert not (inside & (pixels[:, 1] <= box.y1)).any(), text.get_text()
    assert text_overlaps(fig) == []
    ax = result.plot(kind="ceac", currency="DKK")
    assert ax.get_xlim()[1] <= result.wtp_grid[-1] and ax.get_xlim()[1] >= result.wtp
    assert text_overlaps(ax.figure) == []


def test_business_case_legend_off_the_bars():
    case = BusinessCase.from_toml(ROOT / "analysis" / "business_case_2017.toml")
    for kind in ("lines", "cumulative"):
        ax = case.plot(kind=kind)
        fig = ax.figure
        fig.canvas.draw()
        legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
        assert legend.y1 < ax.get_window_extent().y0  # below the axes
        assert text_overlaps(fig) == []


def test_ratio_forest_draws_every_ratio_contrast_on_one_log_axis():
    """Risk, hazard and rate ratios of three analyses: one line per contrast with the result's own interval,
    in its arm's colour; no overlapping texts; a result without ratios is refused."""
    from ipstrial import itt, survival
    from ipstrial.report.figures import text_overlaps
    from ipstrial.report.forest import ratio_forest_figure
    from ipstrial.report.palette import arm_colors

    data = pd.read_csv(ROOT / "data" / "synthetic" / "inklusion.csv", dtype={"participant_id": str})
    args = dict(arm="arm", treatment=["IPS", "IPSE"], control="SAU", id="participant_id")
    binary = itt.compare_proportions(data, "employed_18m", **args)
    hr = survival.cox(data, "days_to_job", "event", **args)
    weeks = itt.rate_ratio(data, "weeks_employed_18m", **args)
    colors = arm_colors(["IPS", "IPSE", "SAU"])
    fig = ratio_forest_figure([binary, hr, weeks], colors=colors)
    texts = {t.get_text() for t in fig.findobj(matplotlib.text.Text)}
    for result, estimand in ((binary, "risk_ratio"), (hr, "hazard_ratio"), (weeks, "rate_ratio")):
        for row in result.rows():
            if row.estimand == estimand and not row.variant:
                assert f"{row.estimate:.2f} ({row.ci_low:.2f} to {row.ci_high:.2f})" in texts
    lines = [a for a in fig.axes[0].get_lines() if (a.get_gid() or "").startswith("forest:")]
    assert len(lines) == 6
    assert {matplotlib.colors.to_hex(a.get_color()) for a in lines} == {colors["IPS"], colors["IPSE"]}
    assert text_overlaps(fig) == []
    plt.close(fig)
    with pytest.raises(ParameterError, match="no result has a row"):
        ratio_forest_figure([itt.compare_means(data, "hours_18m", missing="complete-case", seed=1, **args)])


def test_costs_by_category_plot_has_the_trial_colours_and_no_overlapping_labels():
    from ipstrial.economics import costs_by_category

    data = pd.read_csv(ROOT / "data" / "synthetic" / "inklusion.csv", dtype={"participant_id": str})
    categories = ["cost_ips", "cost_jobcentre", "cost_social"]
    result = costs_by_category(data, categories, "arm", ["IPS", "IPSE"], "SAU", id="participant_id")
    colors = arm_colors(["IPS", "IPSE", "SAU"])
    ax = result.plot(colors=colors)
    fig = ax.figure
    drawn = {matplotlib.colors.to_hex(c.lines[0].get_color()) for c in ax.containers}
    assert drawn == {colors["IPS"], colors["IPSE"]}
    assert text_overlaps(fig) == []
    fig.canvas.draw()
    assert any("," in t.get_text() for t in ax.get_xticklabels())  # amounts with thousands separators
    plt.close(fig)
