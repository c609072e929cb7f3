"""Tests for :mod:`ipstrial.results`."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from ipstrial.results import (
    ARD_COLUMNS,
    ESTIMANDS,
    Result,
    Row,
    Table,
    collect,
    contrast_label,
    format_number,
    format_p,
    json_safe,
)


@dataclasses.dataclass(frozen=True)
class _Prop(Result):
    """A tiny two-row result used throughout the tests."""

    events: int
    n: int
    p: float

    def rows(self) -> tuple[Row, ...]:
        """One proportion row and one risk-difference row."""
        return (
            Row(
                analysis="primary",
                contrast="IPS",
                estimand="proportion",
                estimate=self.events / self.n,
                se=0.05,
                ci_low=0.2,
                ci_high=0.4,
                method="Wilson",
                n=self.n,
                outcome="employed",
            ),
            Row(
                analysis="primary",
                contrast=contrast_label("IPS", "SAU"),
                estimand="risk_difference",
                estimate=0.15,
                se=float("nan"),
                ci_low=0.05,
                ci_high=0.25,
                p_value=self.p,
                method="Newcombe",
                n=None,
                outcome="employed",
                extra={"z": 2.5, "arm_n": 40},
            ),
        )


@dataclasses.dataclass(frozen=True)
class _Arrays(Result):
    """A result with numpy attributes, for to_dict."""

    count: np.int64
    value: np.float64
    values: np.ndarray
    missing: float
    frame: pd.DataFrame

    def rows(self) -> tuple[Row, ...]:
        """A single mean row."""
        return (Row("primary", "IPS", "mean", self.value, n=self.count),)


@dataclasses.dataclass(frozen=True)
class _NoRows(Result):
    """A subclass that forgets to implement rows()."""

    x: int = 1


def _prop() -> _Prop:
    return _Prop(events=12, n=40, p=1e-5)


# ---------------------------------------------------------------------------
# to_frame
# ---------------------------------------------------------------------------


def test_to_frame_columns_ard_first_then_sorted_extras() -> None:
    frame = _prop().to_frame()
    assert list(frame.columns) == [*ARD_COLUMNS, "arm_n", "z"]
    assert ARD_COLUMNS == (
        "analysis",
        "outcome",
        "contrast",
        "estimand",
        "variant",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "method",
        "n",
        "conf_level",
    )


def test_to_frame_values_exact() -> None:
    frame = _prop().to_frame()
    assert len(frame) == 2
    assert frame["contrast"].tolist() == ["IPS", "IPS vs SAU"]
    assert frame["estimand"].tolist() == ["proportion", "risk_difference"]
    assert frame["analysis"].tolist() == ["primary", "primary"]
    assert frame["outcome"].tolist() == ["employed", "employed"]
    assert frame["method"].tolist() == ["Wilson", "Newcombe"]
    assert frame.loc[0, "estimate"] == 0.3
    assert frame.loc[1, "estimate"] == 0.15
    assert frame.loc[0, "se"] == 0.05
    assert math.isnan(frame.loc[1, "se"])
    assert frame["ci_low"].tolist() == [0.2, 0.05]
    assert frame["ci_high"].tolist() == [0.4, 0.25]
    assert math.isnan(frame.loc[0, "p_value"])
    assert frame.loc[1, "p_value"] == 1e-5
    assert frame["conf_level"].tolist() == [0.95, 0.95]
    for column in ("estimate", "se", "ci_low", "ci_high", "p_value", "conf_level"):
        assert frame[column].dtype == np.float64, column


def test_to_frame_n_is_nullable_int64() -> None:
    frame = _prop().to_frame()
    assert str(frame["n"].dtype) == "Int64"
    assert frame.loc[0, "n"] == 40
    assert frame.loc[1, "n"] is pd.NA


def test_extras_become_columns() -> None:
    frame = _prop().to_frame()
    assert math.isnan(frame.loc[0, "z"])
    assert frame.loc[1, "z"] == 2.5
    assert frame.loc[1, "arm_n"] == 40
    assert pd.isna(frame.loc[0, "arm_n"])


def test_row_extra_dict_normalised_to_sorted_pairs() -> None:
    row = Row("primary", "IPS", "mean", 1.0, extra={"b": 2, "a": np.int64(1)})
    assert row.extra == (("a", 1), ("b", 2))
    assert type(row.extra[0][1]) is int
    assert Row("primary", "IPS", "mean", 1.0, extra=(("b", 2), ("a", 1))).extra == (("a", 1), ("b", 2))


def test_row_converts_numpy_scalars_and_none() -> None:
    row = Row("primary", "IPS", "mean", np.float64(1.5), se=None, n=np.int64(7))
    assert type(row.estimate) is float
    assert row.estimate == 1.5
    assert type(row.se) is float
    assert math.isnan(row.se)
    assert type(row.n) is int
    assert row.n == 7


# ---------------------------------------------------------------------------
# summary and HTML
# ---------------------------------------------------------------------------


def test_summary_contents() -> None:
    result = _prop()
    text = result.summary()
    lines = text.splitlines()
    assert lines[0] == "Risk difference in employed: IPS vs SAU"
    assert "<0.001" in text
    assert "—" in text  # the NaN standard error
    assert "20.0 to 40.0" in text  # the proportion's interval 0.2 to 0.4, in percent
    assert "30.0%" in text  # 12 / 40
    assert "Wilson" in text and "Newcombe" in text
    assert " 40" in text
    assert str(result) == text


def test_summary_digits() -> None:
    assert "20.00 to 40.00" in _prop().summary(digits=2)


def test_default_title_from_class_name() -> None:
    @dataclasses.dataclass(frozen=True)
    class ProportionResult(_Prop):
        pass

    result = ProportionResult(events=1, n=2, p=0.5)
    assert result.title == "Risk difference in employed: IPS vs SAU"  # estimand, outcome, contrast
    assert result.summary().splitlines()[0] == "Risk difference in employed: IPS vs SAU"

    @dataclasses.dataclass(frozen=True)
    class EmptyResult(Result):
        def rows(self) -> tuple[Row, ...]:
            return ()

    assert EmptyResult().title == "Empty result"  # no rows: the class name in words


def test_format_helpers() -> None:
    assert format_p(1e-5) == "<0.001"
    assert format_p(0.001) == "0.0010"  # two significant figures between 0.001 and 0.01
    assert format_p(0.04567) == "0.046"
    assert format_p(float("nan")) == "—"
    assert format_p(None) == "—"
    assert format_number(float("nan"), 3) == "—"
    assert format_number(1.23456, 2) == "1.23"
    assert format_number(np.int64(40), 3) == "40"
    assert format_number(-0.0001, 3) == "-0.0001"


def test_repr_html_escapes_text() -> None:
    row = Row("primary", "A<B vs C", "mean", 1.0, method="x & y")
    out = Table([row], name="T<1>")._repr_html_()
    assert out.startswith("<table")
    assert "<caption>T&lt;1&gt;</caption>" in out
    assert "A&lt;B vs C" in out
    assert "A<B" not in out
    assert "x &amp; y" in out


def test_repr_html_formats_like_summary() -> None:
    out = _prop()._repr_html_()
    assert "&lt;0.001" in out
    assert "20.0 to 40.0" in out
    assert "—" in out
    assert "<caption>Risk difference in employed: IPS vs SAU</caption>" in out


# ---------------------------------------------------------------------------
# to_dict / json_safe
# ---------------------------------------------------------------------------


def test_to_dict_round_trips_through_json() -> None:
    result = _Arrays(
        count=np.int64(5),
        value=np.float64(2.5),
        values=np.array([1.0, np.nan, 3.0]),
        missing=float("nan"),
        frame=pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]}),
    )
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["type"] == "_Arrays"
    assert payload["title"] == "Mean: IPS"  # estimand and arm of its one row
    attributes = payload["attributes"]
    assert attributes["count"] == 5
    assert attributes["value"] == 2.5
    assert attributes["values"] == [1.0, None, 3.0]
    assert attributes["missing"] is None
    assert attributes["frame"] == [{"a": 1, "b": 0.5}, {"a": 2, "b": None}]
    assert len(payload["rows"]) == 1
    assert payload["rows"][0]["estimand"] == "mean"
    assert payload["rows"][0]["n"] == 5
    assert payload["rows"][0]["se"] is None


def test_to_dict_prop_rows_and_attributes() -> None:
    payload = json.loads(json.dumps(_prop().to_dict(), allow_nan=False))
    assert payload["attributes"] == {"events": 12, "n": 40, "p": 1e-5, "inputs": None}
    assert [row["contrast"] for row in payload["rows"]] == ["IPS", "IPS vs SAU"]
    assert payload["rows"][1]["z"] == 2.5
    assert payload["rows"][1]["se"] is None


def test_json_safe_conversions() -> None:
    converted = json_safe(
        {
            "i": np.int32(3),
            "f": np.float32(0.5),
            "b": np.bool_(True),
            "inf": float("inf"),
            "t": (1, 2),
            "s": pd.Series([1.0, np.nan], index=["x", "y"]),
            "nested": Table([Row("a", "IPS", "mean", 1.0)]),
            "row": Row("a", "IPS", "mean", 1.0),
            "other": object,
        }
    )
    json.dumps(converted, allow_nan=False)
    assert converted["i"] == 3 and type(converted["i"]) is int
    assert converted["f"] == 0.5 and type(converted["f"]) is float
    assert converted["b"] is True
    assert converted["inf"] is None
    assert converted["t"] == [1, 2]
    assert converted["s"] == {"x": 1.0, "y": None}
    assert converted["nested"]["type"] == "Table"
    assert converted["row"]["estimand"] == "mean"
    assert converted["other"] == str(object)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def test_unknown_estimand_lists_allowed_words() -> None:
    with pytest.raises(ValueError, match="unknown estimand 'relative_risk'") as info:
        Row("primary", "IPS vs SAU", "relative_risk", 1.0)
    for word in ("risk_ratio", "hazard_ratio", "evpi", "rmst_difference"):
        assert word in str(info.value)


def test_estimands_vocabulary() -> None:
    # the fixed words of DESIGN.md; later issues may add words, never remove these
    design_words = set(
        "proportion risk_difference risk_ratio odds_ratio mean_difference rate_ratio median_time survival "
        "hazard_ratio logrank rmst rmst_difference cumulative_incidence subdistribution_hazard_ratio "
        "delta_cost delta_effect icer inmb prob_cost_effective evpi".split()
    )
    assert design_words <= ESTIMANDS
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", word) for word in ESTIMANDS)
    assert {"proportion", "icer", "gray_test", "subdistribution_hazard_ratio"} <= ESTIMANDS


def test_ci_low_above_ci_high_raises() -> None:
    with pytest.raises(ValueError, match="ci_low"):
        Row("primary", "IPS vs SAU", "risk_ratio", 1.0, ci_low=2.0, ci_high=1.0)
    # a one-sided (half-missing) interval is allowed
    assert Row("primary", "IPS vs SAU", "risk_ratio", 1.0, ci_low=2.0).ci_low == 2.0


def test_empty_contrast_raises() -> None:
    with pytest.raises(ValueError, match="contrast"):
        Row("primary", "", "mean", 1.0)


@pytest.mark.parametrize("level", [0.0, 1.0, 95.0, float("nan")])
def test_bad_conf_level_raises(level: float) -> None:
    with pytest.raises(ValueError, match="conf_level"):
        Row("primary", "IPS", "mean", 1.0, conf_level=level)


def test_result_is_frozen() -> None:
    result = _prop()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.events = 3  # type: ignore[misc]
    row = result.rows()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.estimate = 0.0  # type: ignore[misc]


def test_base_rows_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="_NoRows"):
        _NoRows().rows()
    with pytest.raises(NotImplementedError, match="Result"):
        Result().rows()


def test_plot_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="_Prop has no plot"):
        _prop().plot()


def test_contrast_label() -> None:
    assert contrast_label("IPS", "SAU") == "IPS vs SAU"


# ---------------------------------------------------------------------------
# Table and collect
# ---------------------------------------------------------------------------


def test_table_accepts_list_and_uses_name_as_title() -> None:
    rows = [Row("primary", "IPS", "mean", 1.0), Row("primary", "SAU", "mean", 2.0)]
    table = Table(rows, name="Means")
    assert isinstance(table.rows_, tuple)
    assert table.rows() == tuple(rows)
    assert table.title == "Means"
    assert table.to_frame()["estimate"].tolist() == [1.0, 2.0]


def test_collect_stacks_results() -> None:
    other = Table([Row("sensitivity", "IPS vs SAU", "risk_ratio", 1.4, ci_low=1.1, ci_high=1.8, n=80)])
    stacked = collect(_prop(), [other])
    assert list(stacked.columns) == [*ARD_COLUMNS, "arm_n", "z"]
    assert len(stacked) == 3
    assert list(stacked.index) == [0, 1, 2]
    assert stacked["analysis"].tolist() == ["primary", "primary", "sensitivity"]
    assert stacked["estimand"].tolist() == ["proportion", "risk_difference", "risk_ratio"]
    assert stacked["estimate"].tolist() == [0.3, 0.15, 1.4]
    assert str(stacked["n"].dtype) == "Int64"
    assert stacked["n"].tolist() == [40, pd.NA, 80]
    assert math.isnan(stacked.loc[2, "z"])


def test_collect_of_nothing_has_ard_columns() -> None:
    empty = collect()
    assert list(empty.columns) == list(ARD_COLUMNS)
    assert len(empty) == 0


# ---------------------------------------------------------------------------
# the row factory, the row key, the input summary
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Twins(Result):
    """A normal-theory row and its bootstrap twin, built with the row factory."""

    outcome: str = "hours"
    alpha: float = 0.1
    analysis: str = "itt_test"
    notes: tuple[str, ...] = ("a note of the estimator",)

    def rows(self) -> tuple[Row, ...]:
        return (
            self._row(1, "mean", 2.0),
            self._row(contrast_label(1, 0), "mean_difference", 0.5, se=0.2),
            self._row(contrast_label(1, 0), "mean_difference", 0.4, se=0.25, variant="bootstrap"),
        )


def test_row_factory_fills_analysis_outcome_and_level_from_the_result():
    frame = _Twins().to_frame()
    assert frame["analysis"].tolist() == ["itt_test"] * 3
    assert frame["outcome"].tolist() == ["hours"] * 3
    assert frame["conf_level"].tolist() == pytest.approx([0.9] * 3)
    assert frame["contrast"].tolist() == ["1", "1 vs 0", "1 vs 0"]  # arms coded as numbers read as labels
    assert frame["variant"].tolist() == ["", "", "bootstrap"]


def test_row_key_is_unique_and_collect_refuses_a_repeated_key():
    once = collect(_Twins())
    assert not once.duplicated(["analysis", "outcome", "contrast", "estimand", "variant"]).any()
    with pytest.raises(ValueError, match="give each its own analysis= name"):
        collect(_Twins(), _Twins())
    both = collect(_Twins(), _Twins(analysis="itt_sensitivity"))
    assert len(both) == 6


def test_the_summary_shows_the_estimators_notes_and_what_was_left_out():
    from ipstrial.results import InputSummary

    inputs = InputSummary(
        n_rows=720,
        arm="arm",
        arms=("IPS", "SAU"),
        n_by_arm={"IPS": 200, "SAU": 190},
        outside={"IPSE": 241},
        excluded={"IPS": 39, "SAU": 50},
        policy="complete-case",
        reason="missing hours",
        id="participant_id",
    )
    result = _Twins(inputs=inputs)
    text = result.summary()
    assert "a note of the estimator" in text
    assert "Not in this analysis: 241 rows of other arms (IPSE 241)." in text
    assert "Excluded (complete-case): 89 participants with missing hours (IPS 39, SAU 50)." in text
    assert "Not in this analysis" in result._repr_html_()
    assert result.to_dict()["attributes"]["inputs"]["outside"] == {"IPSE": 241}
    assert inputs.n == 390
    assert "duplicated participants could not be checked" in " ".join(
        dataclasses.replace(inputs, id=None).notes()
    )
