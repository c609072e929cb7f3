"""The register engines against the rules of ``ipstrial.registers._rules``, and against each other.

Part (a): small hand-made panels for the pandas engine, each with its facts worked out by hand from the rules
(in the comments: which rule gives which number). Part (b): the DuckDB and the pandas engine, two independent
implementations, give identical facts and reports on seeded random panels.

Unless a test says otherwise the participants are randomised in ISO week 2015-W10, so relative week ``r``
is ISO week ``2015-W(9 + r)`` (2015 has 53 ISO weeks: up to r = 44), and a person ``zz`` outside the cohort
has rows in 2014-W01 and 2017-W01 so that the panel's coverage does not limit follow-up.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipstrial.registers
from ipstrial.registers._codes import Code, CodeMap
from ipstrial.registers._pandas import facts, parse_weeks
from ipstrial.registers._rules import FACT_COLUMNS, MAX_LISTED, outcomes_from_facts

BENEFITS = ("wage", "cash", "sick", "pension")


def codemap(no_code: str = "work") -> CodeMap:
    """The code map of the hand-made cases. Priority (rule 3): X, Y (end), D (competing), W (work), S
    (education), B, K (benefit)."""
    return CodeMap(
        [
            Code("W", "work", benefit="wage", weekly_rate=100),
            Code("S", "education"),
            Code("B", "benefit", benefit="cash", weekly_rate=10),
            Code("K", "benefit", benefit="sick", weekly_rate=1000),
            Code("D", "competing", benefit="pension", weekly_rate=5),
            Code("X", "end"),
            Code("Y", "end"),
        ],
        no_code=no_code,
    )


def index(year: int, week: int) -> int:
    """Rule 1's week index of ISO week ``year-Wweek``."""
    return (date.fromisocalendar(year, week, 1) - date(1970, 1, 5)).days // 7


W10 = index(2015, 10)


def w(r: int) -> str:
    """ISO week of relative week ``r`` for a participant randomised in 2015-W10."""
    assert -8 <= r <= 44
    return f"2015-W{9 + r:02d}"


FILLER = [("zz", "2014-W01", "B"), ("zz", "2017-W01", "B")]


def run(rows, cohort, *, horizon: int, no_code: str = "work", duplicates: str = "priority", filler=True):
    """The pandas engine on ``rows`` ``(person, week, code)`` and ``cohort`` ``(person, week0)``."""
    panel = pd.DataFrame(list(rows) + (FILLER if filler else []), columns=["person", "week", "code"])
    coh = pd.DataFrame(
        {"person": [p for p, _ in cohort], "week0": np.array([k for _, k in cohort], dtype=np.int64)}
    )
    return facts(panel, coh, codemap(no_code), horizon, duplicates)


def fact(ef, person: str) -> dict:
    """One participant's facts as plain values (``None`` for a missing week)."""
    rows = ef.facts[ef.facts["person"] == person]
    assert len(rows) == 1
    return {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def expect(
    ef,
    person,
    *,
    panel_rows,
    T,
    weeks_work,
    coded,
    E=None,
    C=None,
    F=None,
    wage=0.0,
    cash=0.0,
    sick=0.0,
    pension=0.0,
):
    assert fact(ef, person) == {
        "person": person,
        "panel_rows": panel_rows,
        "first_end": E,
        "first_competing": C,
        "first_work": F,
        "followup_weeks": T,
        "weeks_work": weeks_work,
        "coded_weeks": coded,
        "transfers_wage": wage,
        "transfers_cash": cash,
        "transfers_sick": sick,
        "transfers_pension": pension,
    }


# -- (a) hand-made cases ------------------------------------------------------------------------------------


def test_week_index_and_dtypes():
    # rule 1: 1970-W02's Monday is the epoch; 2015-W01 starts on Monday 2014-12-29
    idx, ok = parse_weeks(pd.Series(["1970-W02", "1970-W01", "2015-W01", "2015-W02"]))
    assert ok.all()
    assert idx.tolist() == [0, -1, (date(2014, 12, 29) - date(1970, 1, 5)).days // 7, index(2015, 2)]
    ef = run([("b", w(1), "B"), ("a", w(1), "W")], [("b", W10), ("nobody", W10), ("a", W10)], horizon=4)
    f = ef.facts
    assert list(f.columns) == list(FACT_COLUMNS) + [f"transfers_{b}" for b in BENEFITS]
    assert f["person"].tolist() == ["b", "nobody", "a"]  # the cohort's order
    assert f.index.tolist() == [0, 1, 2]
    assert all(isinstance(p, str) for p in f["person"])
    for c in ("panel_rows", "followup_weeks", "weeks_work", "coded_weeks"):
        assert f[c].dtype == np.int64
    for c in ("first_end", "first_competing", "first_work"):
        assert f[c].dtype == pd.Int64Dtype()
    for b in BENEFITS:
        assert f[f"transfers_{b}"].dtype == np.float64


@pytest.mark.parametrize("no_code", ["work", "none"])
def test_person_without_rows(no_code):
    # rule 9: kept, every week of 1..H without a code; T = H = 8 (coverage 2014-W01..2017-W01)
    ef = run([], [("nobody", W10)], horizon=8, no_code=no_code)
    if no_code == "work":  # rule 5: week 1 has no code, so it is work; all 8 weeks are (rule 7)
        expect(ef, "nobody", panel_rows=0, T=8, weeks_work=8, coded=0, F=1)
    else:  # neither work nor benefit: no first week in work
        expect(ef, "nobody", panel_rows=0, T=8, weeks_work=0, coded=0)


def test_no_code_work_versus_none_and_gaps():
    # weeks: 1 B, 2 missing code, 3 empty code, 4 S (education), 5 B, 6 no row (a gap)
    rows = [("a", w(1), "B"), ("a", w(2), None), ("a", w(3), ""), ("a", w(4), "S"), ("a", w(5), "B")]
    # "g": 1 B, 2 B, 3 no row, 4 B
    rows += [("g", w(1), "B"), ("g", w(2), "B"), ("g", w(4), "B")]
    cohort = [("a", W10), ("g", W10)]
    work = run(rows, cohort, horizon=6, no_code="work")
    # work: weeks 2, 3, 4, 6 are work; first is 2; coded weeks 1, 4, 5; cash 2 x 10
    expect(work, "a", panel_rows=5, T=6, weeks_work=4, coded=3, F=2, cash=20.0)
    # the gap (week 3) is the first week in work; weeks 5, 6 too (no rows, horizon 6)
    expect(work, "g", panel_rows=3, T=6, weeks_work=3, coded=3, F=3, cash=30.0)
    none = run(rows, cohort, horizon=6, no_code="none")
    # none: only week 4 (education) is work or education
    expect(none, "a", panel_rows=5, T=6, weeks_work=1, coded=3, F=4, cash=20.0)
    expect(none, "g", panel_rows=3, T=6, weeks_work=0, coded=3, cash=30.0)
    # with horizon 4 the gap is the only work week of "g"
    expect(run(rows, cohort, horizon=4), "g", panel_rows=3, T=4, weeks_work=1, coded=3, F=3, cash=30.0)


@pytest.mark.parametrize("no_code", ["work", "none"])
def test_end_code_cuts_follow_up(no_code):
    # "e": 1 B, 2 B, 3 X (end), 4 W, 5 W, 6 Y: E = 3, T = E - 1 = 2; the work after E does not count
    rows = [("e", w(1), "B"), ("e", w(2), "B"), ("e", w(3), "X"), ("e", w(4), "W")]
    rows += [("e", w(5), "W"), ("e", w(6), "Y")]
    # "e1": an end code in week 1: T = 0, nothing is observed
    rows += [("e1", w(1), "X"), ("e1", w(2), "W")]
    ef = run(rows, [("e", W10), ("e1", W10)], horizon=10, no_code=no_code)
    expect(ef, "e", panel_rows=6, T=2, weeks_work=0, coded=2, E=3, cash=20.0)
    expect(ef, "e1", panel_rows=2, T=0, weeks_work=0, coded=0, E=1)


def test_competing_exit_before_and_after_first_work():
    # "c1": 1 B, 2 D (competing), 3 W, 4..10 D: C = 2 before F = 3
    rows = [("c1", w(1), "B"), ("c1", w(2), "D"), ("c1", w(3), "W")] + [
        ("c1", w(r), "D") for r in range(4, 11)
    ]
    # "c2": 1 B, 2 W, 3 D, 4 D: F = 2 before C = 3
    rows += [("c2", w(1), "B"), ("c2", w(2), "W"), ("c2", w(3), "D"), ("c2", w(4), "D")]
    ef = run(rows, [("c1", W10), ("c2", W10)], horizon=10)
    # c1: pension in weeks 2, 4..10 (8 x 5); the work week after C still counts in weeks_work (rule 7)
    expect(
        ef, "c1", panel_rows=10, T=10, weeks_work=1, coded=10, C=2, F=3, wage=100.0, cash=10.0, pension=40.0
    )
    # c2: horizon 10 but the weeks 5..10 have no rows: work (no_code = "work")
    expect(ef, "c2", panel_rows=4, T=10, weeks_work=7, coded=4, C=3, F=2, wage=100.0, cash=10.0, pension=10.0)
    out = outcomes_from_facts(ef.facts, BENEFITS).set_index(ef.facts["person"])
    assert out.loc["c1", ["event", "weeks_to_event", "in_work_or_education"]].tolist() == [2, 2, 0]
    assert out.loc["c2", ["event", "weeks_to_event", "in_work_or_education"]].tolist() == [1, 2, 1]


def test_weeks_before_randomisation_and_after_horizon_ignored():
    # 2015-W08 X (week -1) and 2015-W09 D (week 0) are before week 1; weeks 4 (D) and 5 (X) after H = 3
    rows = [("x", "2015-W08", "X"), ("x", "2015-W09", "D"), ("x", w(1), "B"), ("x", w(2), "B")]
    rows += [("x", w(3), "B"), ("x", w(4), "D"), ("x", w(5), "X")]
    ef = run(rows, [("x", W10)], horizon=3)
    expect(ef, "x", panel_rows=7, T=3, weeks_work=0, coded=3, cash=30.0)


def test_panel_ending_before_horizon():
    # coverage 2015-W03 (person m) .. 2015-W14: L = 5 for a participant of 2015-W10, so T = min(20, 5) = 5
    rows = [("m", "2015-W03", "B"), ("l", w(1), "B"), ("l", w(5), "B")]
    cohort = [("l", W10), ("late", index(2015, 12))]
    ef = run(rows, cohort, horizon=20, filler=False)
    assert (ef.first_week, ef.last_week) == ("2015-W03", "2015-W14")
    # l: weeks 2, 3, 4 without a code are work, the first is 2
    expect(ef, "l", panel_rows=2, T=5, weeks_work=3, coded=2, F=2, cash=20.0)
    # late (no rows, randomised 2015-W12): L = 3
    expect(ef, "late", panel_rows=0, T=3, weeks_work=3, coded=0, F=1)


def test_exact_duplicates_collapsed():
    # week 1: B three times (2 dropped), week 2: W twice (1 dropped), week 3: missing and empty (both no code,
    # 1 dropped)
    rows = [("d", w(1), "B")] * 3 + [("d", w(2), "W")] * 2 + [("d", w(3), None), ("d", w(3), "")]
    ef = run(rows, [("d", W10)], horizon=3, duplicates="error")
    assert ef.collapsed == 4
    assert (ef.n_conflicts, ef.conflicts) == (0, [])
    # panel_rows counts the rows as given; weeks 2 and 3 are work
    expect(ef, "d", panel_rows=7, T=3, weeks_work=2, coded=2, F=2, wage=100.0, cash=10.0)


def _conflict_rows():
    # k: 1 B+K (B: map order), 2 W+D (D: competing first), 3 S+W (W: work before education), 4 B+B (collapsed)
    rows = [("k", w(1), "B"), ("k", w(1), "K"), ("k", w(2), "W"), ("k", w(2), "D")]
    rows += [("k", w(3), "S"), ("k", w(3), "W"), ("k", w(4), "B"), ("k", w(4), "B")]
    # k2: 1 B, 2 B+X (X: end first)
    rows += [("k2", w(1), "B"), ("k2", w(2), "B"), ("k2", w(2), "X")]
    return rows


@pytest.mark.parametrize("duplicates", ["error", "priority"])
def test_conflicting_duplicates(duplicates):
    ef = run(_conflict_rows(), [("k2", W10), ("k", W10)], horizon=4, duplicates=duplicates)
    # reported in both modes, by person and week, codes sorted
    assert ef.n_conflicts == 4
    assert ef.conflicts == [
        ("k", w(1), ("B", "K")),
        ("k", w(2), ("D", "W")),
        ("k", w(3), ("S", "W")),
        ("k2", w(2), ("B", "X")),
    ]
    assert ef.collapsed == 1
    if duplicates == "priority":
        # k: 1 B, 2 D (C = 2), 3 W (F = 3), 4 B
        expect(
            ef, "k", panel_rows=8, T=4, weeks_work=1, coded=4, C=2, F=3, wage=100.0, cash=20.0, pension=5.0
        )
        # k2: E = 2, T = 1: week 1 B only
        expect(ef, "k2", panel_rows=3, T=1, weeks_work=0, coded=1, E=2, cash=10.0)


def test_conflict_between_no_code_and_a_code():
    # a row without a code and a row with one for the same week: different codes (rule 3); the code wins
    rows = [("n", w(1), None), ("n", w(1), "B"), ("n", w(2), ""), ("n", w(2), "W")]
    ef = run(rows, [("n", W10)], horizon=2)
    assert ef.n_conflicts == 2
    assert ef.conflicts == [("n", w(1), ("", "B")), ("n", w(2), ("", "W"))]
    expect(ef, "n", panel_rows=4, T=2, weeks_work=1, coded=2, F=2, wage=100.0, cash=10.0)


def test_conflicts_listed_up_to_max():
    rows = [(f"c{i:02d}", w(1), code) for i in range(25) for code in ("B", "K")]
    cohort = [(f"c{i:02d}", W10) for i in reversed(range(25))]
    ef = run(rows, cohort, horizon=2, duplicates="error")
    assert ef.n_conflicts == 25
    assert [c[0] for c in ef.conflicts] == [f"c{i:02d}" for i in range(MAX_LISTED)]  # by person


def test_duplicates_counted_in_the_cohorts_weeks_1_to_h():
    # rule 3 is checked where it matters: the cohort's rows in weeks 1..H (as unknown codes, rule 9)
    rows = [("k", w(1), "B"), ("k", w(1), "K"), ("k", w(2), "B"), ("k", w(2), "B")]  # counted
    rows += [("k", w(0), "B"), ("k", w(0), "K"), ("k", w(4), "B"), ("k", w(4), "K")]  # weeks 0 and 4 > H
    rows += [("k", w(0), "W"), ("k", w(4), "W")]  # exact duplicates outside 1..H
    rows += [
        ("out", w(1), "B"),
        ("out", w(1), "K"),
        ("out", w(2), "B"),
        ("out", w(2), "B"),
    ]  # not a participant
    ef = run(rows, [("k", W10)], horizon=3, duplicates="error")
    assert (ef.n_conflicts, ef.conflicts, ef.collapsed) == (1, [("k", w(1), ("B", "K"))], 1)
    # week 1 B (B before K), week 2 B, week 3 no row: work
    expect(ef, "k", panel_rows=10, T=3, weeks_work=1, coded=2, F=3, cash=20.0)


def test_unknown_codes_counted_in_weeks_1_to_h():
    # u: 1 ZZZ, 2 ZZZ, 3 X (end), 4 ZZZ, 5 ZZZ (after H = 4), 0 QQ (before week 1)
    rows = [("u", w(1), "ZZZ"), ("u", w(2), "ZZZ"), ("u", w(3), "X"), ("u", w(4), "ZZZ")]
    rows += [("u", w(5), "ZZZ"), ("u", w(0), "QQ")]
    # outside the cohort, and a participant randomised in 2015-W20 (2015-W10 is its week -9)
    rows += [("other", w(2), "ZZZ"), ("u2", w(1), "QQ")]
    ef = run(rows, [("u", W10), ("u2", index(2015, 20))], horizon=4)
    # counted over weeks 1..H, not 1..T: weeks 1, 2, 4
    assert ef.unknown_codes == {"ZZZ": 3}
    # an unknown code is a code of no kind: not work, no transfer; T = E - 1 = 2
    expect(ef, "u", panel_rows=6, T=2, weeks_work=0, coded=2, E=3)
    expect(ef, "u2", panel_rows=1, T=4, weeks_work=4, coded=0, F=1)


def test_bad_week_strings():
    rows = [("bw", "2015-W54", "B"), ("bw", "2015-W5", "B"), ("bw", "2021-W53", "B"), ("bw", "2015-W00", "B")]
    # 2020 has 53 ISO weeks (it starts on a Wednesday of a leap year): 2020-W53 is valid
    rows += [("bw", "2020-W52", "K"), ("bw", "2020-W53", "B"), ("bw", "2021-W01", "D")]
    rows += [("other", "2015-W54", "B"), ("zz", "2021-W10", "B")]  # other is not in the cohort: not reported
    ef = run(rows, [("bw", index(2020, 52))], horizon=3, filler=False)
    assert ef.n_bad_weeks == 4
    assert ef.bad_weeks == [("bw", "2015-W00"), ("bw", "2015-W5"), ("bw", "2015-W54"), ("bw", "2021-W53")]
    # bad weeks are not in the coverage (2015-W54 of "other" would be its first week)
    assert (ef.first_week, ef.last_week) == ("2020-W52", "2021-W10")
    # weeks 1 K (2020-W52), 2 B (2020-W53), 3 D (2021-W01); panel_rows counts every row of the person
    expect(ef, "bw", panel_rows=7, T=3, weeks_work=0, coded=3, C=3, cash=10.0, sick=1000.0, pension=5.0)


def test_transfers_by_benefit_within_follow_up():
    # 1 B, 2 K, 3 W, 4 K, 5 D, 6 X (E = 6, T = 5), 7 K (after E, not counted); H = 8
    rows = [("t", w(r), code) for r, code in enumerate(["B", "K", "W", "K", "D", "X", "K"], start=1)]
    ef = run(rows, [("t", W10)], horizon=8)
    expect(
        ef, "t", panel_rows=7, T=5, weeks_work=1, coded=5, E=6, C=5, F=3,
        wage=100.0, cash=10.0, sick=2000.0, pension=5.0,
    )  # fmt: skip
    assert outcomes_from_facts(ef.facts, BENEFITS)["transfers_total"].tolist() == [2115.0]


def test_iso_year_boundaries():
    # p1 randomised on Monday 2014-12-29: ISO week 2015-W01 is its week 1, 2014-W52 its week 0
    p1 = (date(2014, 12, 29) - date(1970, 1, 5)).days // 7
    # p2 randomised on Sunday 2016-01-03: the last day of 2015-W53, its week 1
    p2 = (date(2016, 1, 3) - date(1970, 1, 5)).days // 7
    rows = [
        ("p1", "2014-W52", "B"),
        ("p1", "2015-W01", "K"),
        ("p1", "2015-W53", "D"),
        ("p1", "2016-W01", "X"),
    ]
    rows += [("p2", "2015-W53", "B"), ("p2", "2016-W01", "K"), ("zz", "2016-W30", "B")]
    ef = run(rows, [("p1", p1), ("p2", p2)], horizon=60, filler=False)
    # p1: 2015 has 53 weeks, so 2015-W53 is week 53 and 2016-W01 week 54 (E); T = 53; weeks 1 and 53 coded
    expect(ef, "p1", panel_rows=4, T=53, weeks_work=51, coded=2, E=54, C=53, F=2, sick=1000.0, pension=5.0)
    # p2: 2015-W53 week 1, 2016-W01 week 2, the panel's last week 2016-W30 week 31 = L = T
    expect(ef, "p2", panel_rows=2, T=31, weeks_work=29, coded=2, F=3, cash=10.0, sick=1000.0)


def test_a_few_million_rows_in_seconds():
    rng = np.random.default_rng(1)
    n_persons, n_weeks = 10_000, 200
    weeks = np.array([f"{y:04d}-W{k:02d}" for y, k, _ in _isoweeks(index(2014, 40), n_weeks)], dtype=object)
    codes = np.array([None, "W", "S", "B", "K", "D", "X"], dtype=object)
    panel = pd.DataFrame(
        {
            "person": np.repeat(np.arange(n_persons), n_weeks).astype(str),
            "week": np.tile(weeks, n_persons),
            "code": codes[rng.choice(7, n_persons * n_weeks, p=[0.5, 0.1, 0.05, 0.2, 0.1, 0.04, 0.01])],
        }
    )
    cohort = pd.DataFrame(
        {"person": np.arange(0, n_persons, 2).astype(str), "week0": np.full(n_persons // 2, index(2015, 10))}
    )
    start = time.perf_counter()
    ef = facts(panel, cohort, codemap(), 78, "priority")
    assert time.perf_counter() - start < 30  # about 1 s here; a loop over persons would take minutes
    assert len(ef.facts) == n_persons // 2 and (ef.facts["panel_rows"] == n_weeks).all()


def _isoweeks(first: int, n: int):
    return [(date(1970, 1, 5) + timedelta(weeks=first + i)).isocalendar() for i in range(n)]


# -- (b) the two engines agree ------------------------------------------------------------------------------


def _duckdb_facts():
    from ipstrial.registers import _duckdb

    return _duckdb.facts


SYNTHETIC = Path(ipstrial.registers.__file__).parent / "codes" / "synthetic.toml"


def random_case(seed: int, reports: bool = False):
    """A seeded random panel, cohort, code map, horizon and duplicates mode.

    Several hundred persons over 20..140 weeks starting anywhere from 2014-W40 to about 2021 (so across the
    53-week years 2015 and 2020), gaps, missing and empty codes, end and competing codes, exact and
    conflicting duplicates, persons of the cohort without rows and persons of the panel outside the cohort,
    participants randomised anywhere in the coverage. With ``reports``: also codes the map does not have,
    bad week strings and ``duplicates="error"``."""
    rng = np.random.default_rng(seed)
    if seed % 2:
        codes = CodeMap.from_toml(SYNTHETIC)
        if seed % 4 == 1:
            codes = CodeMap(codes.codes, no_code="none")
    else:
        codes = codemap("work" if seed % 4 == 0 else "none")
    known = [c.code for c in codes.codes]
    kinds = {c.code: c.kind for c in codes.codes}
    weights = np.array(
        [
            {"end": 0.3, "competing": 1.0, "work": 3.0, "education": 2.0, "benefit": 5.0}[kinds[c]]
            for c in known
        ]
    )
    first = index(2014, 40) + int(rng.integers(0, 330))
    n_weeks = int(rng.integers(20, 140))
    n_persons = int(rng.integers(200, 500))
    persons = np.array([f"p{i:04d}" for i in range(n_persons)], dtype=object)
    keep = rng.random((n_persons, n_weeks)) < rng.uniform(0.3, 1.0, size=(n_persons, 1))
    pi, wi = np.nonzero(keep)
    wi = wi + first
    vocabulary = np.array([None, ""] + known, dtype=object)
    p_code = np.concatenate([[0.25, 0.05], 0.7 * weights / weights.sum()])
    code = vocabulary[rng.choice(len(vocabulary), size=len(pi), p=p_code)]
    # exact duplicates and (priority mode) conflicting ones
    dup = rng.random(len(pi)) < 0.04
    clash = rng.random(len(pi)) < 0.03
    other = vocabulary[rng.choice(len(vocabulary), size=int(clash.sum()), p=p_code)]
    pi = np.concatenate([pi, pi[dup], pi[clash]])
    wi = np.concatenate([wi, wi[dup], wi[clash]])
    code = np.concatenate([code, code[dup], other])
    labels = [f"{y:04d}-W{n:02d}" for y, n, _ in _isoweeks(first, n_weeks)]
    week = np.array(labels, dtype=object)[wi - first]
    person = persons[pi]
    if reports:
        unknown = rng.random(len(pi)) < 0.01
        code = code.copy()
        code[unknown] = rng.choice(np.array(["ZZ1", "ZZ2", "777"], dtype=object), size=int(unknown.sum()))
        bad = rng.random(len(pi)) < 0.005
        week = week.copy()
        week[bad] = rng.choice(
            np.array(["2015-W54", "2021-W53", "2015-W5", "15-W01", "2016-W00"], dtype=object),
            size=int(bad.sum()),
        )
    order = rng.permutation(len(pi))
    panel = pd.DataFrame({"person": person[order], "week": week[order], "code": code[order]})
    # the cohort: most of the panel's persons and some without rows, in random order
    in_cohort = rng.random(n_persons) < 0.8
    cohort_persons = np.concatenate(
        [persons[in_cohort], np.array([f"q{i:03d}" for i in range(int(rng.integers(0, 10)))], dtype=object)]
    )
    cohort_persons = cohort_persons[rng.permutation(len(cohort_persons))]
    week0 = first + rng.integers(0, n_weeks, size=len(cohort_persons))
    cohort = pd.DataFrame({"person": cohort_persons, "week0": week0.astype(np.int64)})
    horizon = int(rng.choice([1, 4, 13, 26, 52, 78, 104]))
    duplicates = "error" if reports else "priority"
    return panel, cohort, codes, horizon, duplicates


def _normalised(ef, benefits) -> pd.DataFrame:
    f = ef.facts
    columns = list(FACT_COLUMNS) + [f"transfers_{b}" for b in benefits]
    assert list(f.columns) == columns
    dtypes = {"person": object}
    dtypes.update({c: np.int64 for c in ("panel_rows", "followup_weeks", "weeks_work", "coded_weeks")})
    dtypes.update({c: "Int64" for c in ("first_end", "first_competing", "first_work")})
    dtypes.update({f"transfers_{b}": np.float64 for b in benefits})
    out = f.astype(dtypes)
    out["person"] = out["person"].astype(str).astype(object)
    return out


def _reports(ef) -> dict:
    return {
        "first_week": ef.first_week,
        "last_week": ef.last_week,
        "bad_weeks": [tuple(b) for b in ef.bad_weeks],
        "n_bad_weeks": int(ef.n_bad_weeks),
        "unknown_codes": {str(k): int(v) for k, v in ef.unknown_codes.items()},
        "conflicts": [(p, wk, tuple(c)) for p, wk, c in ef.conflicts],
        "n_conflicts": int(ef.n_conflicts),
        "collapsed": int(ef.collapsed),
        "empty_weeks": list(ef.empty_weeks),
        "n_empty_weeks": int(ef.n_empty_weeks),
        "ended_before": list(ef.ended_before),
        "n_ended_before": int(ef.n_ended_before),
    }


def _same(panel, cohort, codes, horizon, duplicates):
    duck = _duckdb_facts()
    a = facts(panel.copy(), cohort.copy(), codes, horizon, duplicates)
    b = duck(panel.copy(), cohort.copy(), codes, horizon, duplicates)
    pd.testing.assert_frame_equal(
        _normalised(a, codes.benefits), _normalised(b, codes.benefits), check_exact=True
    )
    ra, rb = _reports(a), _reports(b)
    for field in ra:  # the listings too: the first MAX_LISTED by person and week, each (person, week) once
        assert ra[field] == rb[field], f"{field}: pandas {ra[field]!r} != duckdb {rb[field]!r}"
    return a


@pytest.mark.parametrize("seed", range(30))
def test_engines_agree_on_random_panels(seed):
    panel, cohort, codes, horizon, duplicates = random_case(seed)
    a = _same(panel, cohort, codes, horizon, duplicates)
    assert a.n_conflicts > 0 and a.collapsed > 0  # the cases exercise rule 3


@pytest.mark.parametrize("seed", range(8))
def test_engines_agree_on_reports(seed):
    # unknown codes, bad weeks and unresolved conflicts: the same reports (the facts are compared too)
    _same(*random_case(seed, reports=True))


def test_engines_agree_on_the_hand_made_cases():
    duck = _duckdb_facts()
    panel = pd.DataFrame(_conflict_rows() + FILLER, columns=["person", "week", "code"])
    cohort = pd.DataFrame({"person": ["k", "k2", "nobody"], "week0": np.full(3, W10, dtype=np.int64)})
    for no_code in ("work", "none"):
        a = facts(panel, cohort, codemap(no_code), 4, "priority")
        b = duck(panel, cohort, codemap(no_code), 4, "priority")
        pd.testing.assert_frame_equal(_normalised(a, BENEFITS), _normalised(b, BENEFITS), check_exact=True)
        assert _reports(a) == _reports(b)
