"""Disclosure rules (ipstrial.report.disclosure): small-count suppression and CPR detection."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ipstrial._checks import ParameterError
from ipstrial.errors import TrialDataError
from ipstrial.report.disclosure import (
    COMPLEMENT,
    DEFAULT_MIN_COUNT,
    SMALL,
    check_min_count,
    check_no_cpr,
    cpr_columns,
    looks_like_cpr,
    suppress_counts,
)


def _compositions(total: int, parts: int):
    if parts == 0:
        if total == 0:
            yield ()
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def _recoverable(counts: np.ndarray, hidden: np.ndarray, total_col: int | None) -> set[tuple[int, int]]:
    """Independent brute-force check: the hidden cells whose value is the same in every non-negative integer
    table that agrees with the published cells and margins (column sums; with a total column, row sums)."""
    rows, cols = counts.shape
    per_column = []
    for j in range(cols):
        cells = [(i, j) for i in range(rows) if hidden[i, j]]
        rest = int(counts[:, j].sum() - sum(counts[i, j] for i in range(rows) if not hidden[i, j]))
        per_column.append([dict(zip(cells, comp, strict=True)) for comp in _compositions(rest, len(cells))])
    seen: dict[tuple[int, int], set[int]] = {tuple(c): set() for c in np.argwhere(hidden)}
    for choice in itertools.product(*per_column):
        table = counts.copy()
        for assignment in choice:
            for (i, j), v in assignment.items():
                table[i, j] = v
        if total_col is not None:
            others = [j for j in range(cols) if j != total_col]
            if (table[:, others].sum(axis=1) != table[:, total_col]).any():
                continue
        for c in seen:
            seen[c].add(int(table[c]))
    return {c for c, vals in seen.items() if len(vals) == 1}


@pytest.mark.parametrize(
    "counts",
    [
        [[3, 9, 12], [7, 6, 13]],
        [[2, 8, 10], [8, 2, 10]],
        [[1, 0, 1], [4, 9, 13], [5, 1, 6]],
        [[6, 7, 13], [3, 8, 11], [1, 5, 6]],
    ],
)
def test_no_small_count_is_recoverable_by_subtraction(counts):
    values = np.array(counts)
    frame = pd.DataFrame(values, columns=["A", "B", "Total"])
    status = suppress_counts(frame, total="Total")
    hidden = status.isin([SMALL, COMPLEMENT]).to_numpy()
    small = (values > 0) & (values < DEFAULT_MIN_COUNT)
    assert (status.to_numpy()[small] == SMALL).all()
    assert not (status.to_numpy()[~small] == SMALL).any()
    exposed = _recoverable(values, hidden, total_col=2)
    assert not exposed & {tuple(c) for c in np.argwhere(small)}


def test_hidden_row_small_count_is_protected():
    # a 0/1 variable shown as its count of 1s: n - shown would give the hidden 0 count (2)
    frame = pd.DataFrame({"A": [2, 98], "B": [50, 50], "Total": [52, 148]}, index=["0", "1"])
    status = suppress_counts(frame, total="Total", hidden=["0"])
    assert status.loc["1", "A"] == COMPLEMENT
    assert COMPLEMENT in (status.loc["1", "B"], status.loc["1", "Total"])


def test_nothing_to_suppress_and_switched_off():
    frame = pd.DataFrame({"A": [10, 20], "B": [0, 30]})
    assert (suppress_counts(frame) == "").all().all()  # zeros are shown
    small = pd.DataFrame({"A": [1, 20], "B": [3, 30]})
    assert (suppress_counts(small, min_count=None) == "").all().all()
    assert (suppress_counts(small, min_count=0) == "").all().all()
    assert check_min_count(None) == 0 and check_min_count(10) == 10
    for bad in (-1, 2.5, True, "5"):
        with pytest.raises(ParameterError, match="min_count"):
            check_min_count(bad)


@pytest.mark.parametrize(
    "values",
    [
        ["010190-1234", "311299-4321", "150575-0001"],
        ["0101901234", "3112994321", " 1505750001 "],
        [101901234, 3112994321, 1505750001],  # int: the leading zero of day 01 is lost
        [101901234.0, 3112994321.0, np.nan],
        ["290200-1234", "010190-1234", None],  # 29 February exists (century unknown)
    ],
)
def test_cpr_positive(values):
    assert looks_like_cpr(pd.Series(values))


@pytest.mark.parametrize(
    "values",
    [
        ["P0001", "P0002", "P0003"],  # participant ids
        ["1990-01-01", "2001-12-31", "1985-06-15"],  # dates
        ["01-01-1990", "31.12.2001", "150685"],
        [12345678, 87654321, 23456789],  # 8-digit numbers (Danish phone numbers)
        ["+45 12 34 56 78", "+4587654321", "4512345678"],  # phone numbers (day 45)
        ["321390-1234", "000190-1234", "011390-1234"],  # invalid day or month
        ["300290-1234", "310490-1234", "310690-1234"],  # 30 Feb, 31 Apr, 31 Jun
        [1.5, 2.5, 3.5],
        [True, False, True],
        [None, None],
    ],
)
def test_cpr_negative(values):
    assert not looks_like_cpr(pd.Series(values, dtype=object if values[0] is None else None))


def test_cpr_needs_most_values():
    assert not looks_like_cpr(pd.Series(["010190-1234", "P2", "P3"]))
    assert looks_like_cpr(pd.Series(["010190-1234", "020290-1234", "P3"]))


def test_check_no_cpr_names_columns_never_values():
    secret = "241285-1357"
    frame = pd.DataFrame(
        {"id": ["P1", "P2", "P3"], "cpr": [secret, "010190-1234", "020391-4321"], "age": [30, 40, 50]}
    )
    assert cpr_columns(frame) == ["cpr"]
    with pytest.raises(TrialDataError) as err:
        check_no_cpr(frame)
    text = str(err.value)
    assert "'cpr'" in text and "allow_cpr=True" in text and "drop the column" in text
    assert secret not in text and "010190" not in text
    assert check_no_cpr(frame, allow=True) == ["cpr"]
    assert check_no_cpr(frame[["id", "age"]]) == []
