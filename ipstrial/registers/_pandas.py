"""The pandas engine: the rules of :mod:`._rules` on an in-memory panel, vectorised with pandas and numpy.

Written from the rules alone, independently of the DuckDB engine; the two must give the same facts. Every
step is a whole-column operation (factorize, sort, ``bincount``, ``ufunc.at``): there is no Python loop over
persons or weeks, so a panel of a few million rows takes seconds.

How the rules become arrays:

* Week strings are parsed once per distinct string (rule 1; a string that is not exactly ``YYYY-Www`` with a
  week of that ISO year is a bad week, rule 9). Bad-week rows count in ``panel_rows`` (every row of the
  person) and in ``bad_weeks`` (cohort persons' rows: all counted, the first :data:`MAX_LISTED` distinct
  ``(person, week)`` by person and week text listed), and nowhere else.
* Codes are factorized; a missing or empty code is "no code" (rule 2). Each distinct code gets its kind,
  its rank for rule 3 (``CodeMap.priority()``; codes the map does not have rank after every known code, in
  text order, and "no code" last) and its benefit type and weekly rate.
* Coverage (rule 2) is over every valid row of the panel. Everything else is over the rows that matter:
  each cohort row takes its person's valid rows with ``rel = week - week0 + 1`` (rule 1) in 1..H. Unknown
  codes are counted on them as given (rule 9).
* Rule 3 on those rows: identical (participant, week, code) rows collapse to one (``collapsed`` counts the
  rows dropped); participant-weeks left with more than one code are conflicts (a row without a code and a
  row with one included; counted, the first :data:`MAX_LISTED` by person and week listed with their sorted
  codes, "no code" as ``""``), resolved by rank whatever ``duplicates`` says (with ``"error"`` the caller
  raises on them).
* ``E`` (rule 4) from the resolved rows; ``T = min(H, E - 1, L)`` with ``L`` the panel's last week relative
  to the participant, never below 0; in 1..T: ``C``, ``F``, weeks in work, coded weeks and transfers (rules
  5, 7, 8).
* With ``no_code = "work"`` every week of 1..T is work except those whose code is of another kind (benefit,
  competing, or a code the map does not have; ``end`` cannot occur before ``E``): ``weeks_work = T -``
  their number, and ``F`` is the first week of 1..T not among them (found from their sorted ranks: the
  first ``k`` whose ``k``-th such week is not ``k``).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from ipstrial.registers._codes import KINDS, CodeMap
from ipstrial.registers._rules import EPOCH_MONDAY, FACT_COLUMNS, MAX_LISTED, EngineFacts, iso_week

_EPOCH = _dt.date.fromisoformat(EPOCH_MONDAY)
_EPOCH_DAY = (_EPOCH - _dt.date(1970, 1, 1)).days  # 4: the epoch Monday as days since 1970-01-01
_UNKNOWN = len(KINDS)  # kind number of a code the map does not have
_NONE = len(KINDS) + 1  # kind number of "no code"
_K_END, _K_COMPETING, _K_WORK, _K_EDUCATION = (
    KINDS.index(k) for k in ("end", "competing", "work", "education")
)


def _week1_monday(years: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the Monday of ISO week 1 of each year (the Monday on or before 4 January)."""
    jan1 = (years - 1970).astype("timedelta64[Y]") + np.datetime64("1970", "Y")
    jan4 = jan1.astype("datetime64[D]").astype(np.int64) + 3
    return jan4 - (jan4 + 3) % 7  # 1970-01-01 was a Thursday: weekday (Monday 0) of day d is (d + 3) % 7


def parse_weeks(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The week index of rule 1 of each value, and whether it is a valid ISO week ``YYYY-Www`` (rule 9).

    Parsed once per distinct value; an invalid value has index 0 and ``False``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    is_str = u.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    text = u.where(is_str, "")
    ok = is_str & text.str.fullmatch(r"[0-9]{4}-W[0-9]{2}").fillna(False).to_numpy(dtype=bool)
    year = np.where(ok, pd.to_numeric(text.str[0:4].where(ok, "1970")), 1970).astype(np.int64)
    week = np.where(ok, pd.to_numeric(text.str[6:8].where(ok, "01")), 1).astype(np.int64)
    ok &= year >= 1  # date.fromisocalendar has no year 0
    safe_year = np.where(ok, year, 1970)
    monday1 = _week1_monday(safe_year)
    n_weeks = (_week1_monday(safe_year + 1) - monday1) // 7
    ok &= (week >= 1) & (week <= n_weeks)
    index_u = np.where(ok, (monday1 - _EPOCH_DAY) // 7 + week - 1, 0).astype(np.int64)
    valid_u = ok
    found = codes >= 0
    index = np.zeros(len(codes), dtype=np.int64)
    valid = np.zeros(len(codes), dtype=bool)
    index[found] = index_u[codes[found]]
    valid[found] = valid_u[codes[found]]
    return index, valid


def _code_table(values: pd.Series, codes: CodeMap):
    """Factorize the codes: per row a code number; per code number its text, kind, rank, benefit and rate."""
    ids, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [v if isinstance(v, str) else str(v) for v in np.asarray(uniques, dtype=object)]
    # one number per distinct text (the factorized values may differ in type but not in text), "" = no code
    text_ids, text_uniques = pd.factorize(pd.Series(texts + [""], dtype=object))
    n_text = len(text_uniques)
    row = np.full(len(ids), text_ids[-1], dtype=np.int64)
    found = ids >= 0
    row[found] = text_ids[:-1][ids[found]]
    text_uniques = [str(t) for t in text_uniques]
    by_code = {c.code: c for c in codes.codes}
    priority = codes.priority()
    benefits = codes.benefits
    kind = np.empty(n_text, dtype=np.int64)
    rank = np.empty(n_text, dtype=np.int64)
    benefit = np.full(n_text, -1, dtype=np.int64)
    rate = np.zeros(n_text, dtype=np.float64)
    unknown_sorted = sorted(t for t in text_uniques if t != "" and t not in by_code)
    unknown_rank = {t: len(priority) + i for i, t in enumerate(unknown_sorted)}
    for i, t in enumerate(text_uniques):  # one step per distinct code
        if t == "":
            kind[i], rank[i] = _NONE, len(priority) + len(unknown_sorted)
        elif t in by_code:
            c = by_code[t]
            kind[i], rank[i] = KINDS.index(c.kind), priority[t]
            if c.benefit is not None:
                benefit[i], rate[i] = benefits.index(c.benefit), c.weekly_rate
        else:
            kind[i], rank[i] = _UNKNOWN, unknown_rank[t]
    return row, np.array(text_uniques, dtype=object), kind, rank, benefit, rate


def _first_per_group(group: np.ndarray, value: np.ndarray, n: int, fill: int) -> np.ndarray:
    """The smallest ``value`` per group number in ``0..n-1`` (``fill`` where a group has none)."""
    out = np.full(n, fill, dtype=np.int64)
    np.minimum.at(out, group, value)
    return out


def facts(
    panel: pd.DataFrame, cohort: pd.DataFrame, codes: CodeMap, horizon: int, duplicates: str
) -> EngineFacts:
    """The per-participant facts of :mod:`._rules` (engine contract) from an in-memory ``panel``."""
    if duplicates not in ("error", "priority"):
        raise ValueError(f"duplicates must be 'error' or 'priority'; got {duplicates!r}")
    horizon = int(horizon)
    n_coh = len(cohort)
    benefits = codes.benefits
    coh_person = cohort["person"].astype(str).to_numpy(dtype=object)
    week0 = cohort["week0"].to_numpy(dtype=np.int64)

    # persons: one number per distinct person of the panel and the cohort
    panel_person = panel["person"].astype(str).to_numpy(dtype=object)
    pid_all, persons = pd.factorize(np.concatenate([panel_person, coh_person]))
    pid = pid_all[: len(panel)].astype(np.int64)
    coh_pid = pid_all[len(panel) :].astype(np.int64)
    n_persons = len(persons)
    in_cohort = np.zeros(n_persons, dtype=bool)
    in_cohort[coh_pid] = True

    rows_per_person = np.bincount(pid, minlength=n_persons)
    panel_rows = rows_per_person[coh_pid].astype(np.int64)

    widx, valid = parse_weeks(panel["week"])
    cid, code_text, code_kind, code_rank, code_benefit, code_rate = _code_table(panel["code"], codes)

    # rule 9: bad weeks of the cohort's rows
    bad = ~valid & in_cohort[pid]
    n_bad_weeks = int(bad.sum())
    bad_weeks: list[tuple[str, str]] = []
    if n_bad_weeks:
        shown = pd.DataFrame({"person": panel_person[bad], "week": panel["week"].to_numpy(dtype=object)[bad]})
        shown["week"] = shown["week"].map(
            lambda v: v if isinstance(v, str) else ("" if pd.isna(v) else str(v))
        )
        shown = shown.drop_duplicates().sort_values(["person", "week"]).head(MAX_LISTED)
        bad_weeks = list(zip(shown["person"], shown["week"], strict=True))

    # coverage (rule 2): every valid row of the panel
    empty_weeks: list[str] = []
    n_empty_weeks = 0
    if valid.any():
        last_idx = int(widx[valid].max())
        first_week, last_week = iso_week(int(widx[valid].min())), iso_week(last_idx)
        present = np.unique(widx[valid])
        n_empty_weeks = int(present[-1] - present[0] + 1 - len(present))
        if n_empty_weeks:
            missing = np.setdiff1d(np.arange(present[0], present[-1] + 1), present)[:MAX_LISTED]
            empty_weeks = [iso_week(int(i)) for i in missing]
    else:
        last_idx = None
        first_week = last_week = None

    # each cohort row takes its person's valid rows (a person listed twice in the cohort: each row), and
    # keeps those of its weeks 1..H (rule 1): every later step, rules 3-9, works on them
    if len(np.unique(coh_pid)) == n_coh:
        slot = np.full(n_persons, -1, dtype=np.int64)
        slot[coh_pid] = np.arange(n_coh, dtype=np.int64)
        row_coh = slot[pid]
        take = valid & (row_coh >= 0)
        c, week, code = row_coh[take], widx[take], cid[take]
    else:
        pairs = pd.DataFrame({"pid": coh_pid, "c": np.arange(n_coh, dtype=np.int64)})
        joined = pd.DataFrame({"pid": pid[valid], "week": widx[valid], "code": cid[valid]}).merge(
            pairs, on="pid"
        )
        c, week, code = (joined[k].to_numpy(dtype=np.int64) for k in ("c", "week", "code"))
    rel = week - week0[c] + 1
    in_h = (rel >= 1) & (rel <= horizon)
    # rule 9: the last week with rows before week 1 has an end code, and nothing in weeks 1..H
    before = rel <= 0
    last_before = np.full(n_coh, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_before, c[before], rel[before])
    at_last = before & (rel == last_before[c]) & (code_kind[code] == _K_END)
    seen_in_h = np.zeros(n_coh, dtype=bool)
    seen_in_h[c[in_h]] = True
    ended = np.zeros(n_coh, dtype=bool)
    ended[c[at_last]] = True
    ended &= ~seen_in_h
    n_ended_before = int(ended.sum())
    ended_before = sorted({str(p) for p in coh_person[ended]})[:MAX_LISTED]
    c, rel, code = c[in_h], rel[in_h], code[in_h]

    # rule 9: codes the map does not have, over these rows as given
    unknown_codes: dict[str, int] = {}
    unknown_kind = code_kind == _UNKNOWN
    if unknown_kind.any():
        counts = np.bincount(code[unknown_kind[code]], minlength=len(code_text))
        unknown_codes = {str(code_text[i]): int(counts[i]) for i in np.flatnonzero(counts)}
        unknown_codes = dict(sorted(unknown_codes.items()))

    # rule 3: collapse identical rows, find conflicts and resolve them by rank
    order = np.lexsort((code_rank[code], rel, c))
    c, rel, code = c[order], rel[order], code[order]
    n_rows = len(c)
    same_pw = np.zeros(n_rows, dtype=bool)
    same_pw[1:] = (c[1:] == c[:-1]) & (rel[1:] == rel[:-1])
    same_row = same_pw.copy()
    same_row[1:] &= code[1:] == code[:-1]
    collapsed = int(same_row.sum())
    keep = ~same_row  # distinct (participant, week, code), by rank within a participant-week
    c, rel, code, same_pw = c[keep], rel[keep], code[keep], same_pw[keep]
    pw_start = np.flatnonzero(~same_pw)  # the first (best-ranked) row of each participant-week
    pw_of_row = np.cumsum(~same_pw) - 1  # participant-week number of each row
    conflicted = np.unique(pw_of_row[same_pw])  # participant-weeks with a second code
    n_conflicts = len(conflicted)
    conflicts: list[tuple[str, str, tuple[str, ...]]] = []
    if n_conflicts:
        starts = pw_start[conflicted]
        listing = pd.DataFrame(
            {"g": conflicted, "person": coh_person[c[starts]], "rel": rel[starts], "c": c[starts]}
        )
        listing["week"] = week0[listing["c"].to_numpy()] + listing["rel"].to_numpy() - 1
        listing = listing.sort_values(["person", "week"], kind="stable").head(MAX_LISTED)
        member = np.isin(pw_of_row, listing["g"].to_numpy())
        member_codes = pd.DataFrame({"g": pw_of_row[member], "code": code_text[code[member]]})
        grouped = member_codes.groupby("g")["code"].agg(lambda s: tuple(sorted(s)))
        conflicts = [
            (str(p), iso_week(k), grouped[g])
            for g, p, k in zip(listing["g"], listing["person"], listing["week"], strict=True)
        ]
    c, rel, code = c[pw_start], rel[pw_start], code[pw_start]

    # rule 4: E in 1..H, T = min(H, E - 1, L)
    kind = code_kind[code]
    big = np.iinfo(np.int64).max
    first_end = _first_per_group(c[kind == _K_END], rel[kind == _K_END], n_coh, big)
    followup = np.minimum(horizon, np.where(first_end < big, first_end - 1, horizon))
    if last_idx is not None:
        followup = np.minimum(followup, last_idx - week0 + 1)
    followup = np.maximum(followup, 0).astype(np.int64)

    # rules 5, 7, 8 in 1..T
    in_t = rel <= followup[c]
    c, rel, code, kind = c[in_t], rel[in_t], code[in_t], kind[in_t]
    is_competing = kind == _K_COMPETING
    first_competing = _first_per_group(c[is_competing], rel[is_competing], n_coh, big)
    is_work = (kind == _K_WORK) | (kind == _K_EDUCATION)
    coded = np.bincount(c[kind != _NONE], minlength=n_coh).astype(np.int64)
    if codes.no_code == "work":
        other = ~is_work & (kind != _NONE)
        oc, orel = c[other], rel[other]
        o = np.lexsort((orel, oc))
        oc, orel = oc[o], orel[o]
        n_other = np.bincount(oc, minlength=n_coh).astype(np.int64)
        start = np.cumsum(n_other) - n_other
        k = np.arange(len(oc), dtype=np.int64) - start[oc] + 1  # rank of each such week in its cohort row
        miss = orel != k
        first_work = _first_per_group(oc[miss], k[miss], n_coh, big)
        first_work = np.where(first_work < big, first_work, n_other + 1)
        weeks_work = followup - n_other
    else:
        first_work = _first_per_group(c[is_work], rel[is_work], n_coh, big)
        weeks_work = np.bincount(c[is_work], minlength=n_coh).astype(np.int64)
    first_work = np.where(first_work <= followup, first_work, big)

    def nullable(values: np.ndarray) -> pd.Series:
        out = pd.Series(np.where(values < big, values, 0), dtype="Int64")
        out[values >= big] = pd.NA
        return out

    out = pd.DataFrame(
        {
            "person": pd.Series(coh_person, dtype=object),
            "panel_rows": panel_rows,
            "first_end": nullable(first_end),
            "first_competing": nullable(first_competing),
            "first_work": nullable(first_work),
            "followup_weeks": followup,
            "weeks_work": weeks_work.astype(np.int64),
            "coded_weeks": coded,
        },
        index=pd.RangeIndex(n_coh),
    )
    assert tuple(out.columns) == FACT_COLUMNS
    b = code_benefit[code]
    has_b = b >= 0
    sums = np.bincount(
        c[has_b] * max(len(benefits), 1) + b[has_b],
        weights=code_rate[code[has_b]],
        minlength=n_coh * max(len(benefits), 1),
    ).reshape(n_coh, max(len(benefits), 1))
    for j, name in enumerate(benefits):
        out[f"transfers_{name}"] = sums[:, j].astype(np.float64)
    return EngineFacts(
        facts=out,
        first_week=first_week,
        last_week=last_week,
        bad_weeks=bad_weeks,
        n_bad_weeks=n_bad_weeks,
        unknown_codes=unknown_codes,
        conflicts=conflicts,
        n_conflicts=n_conflicts,
        collapsed=collapsed,
        empty_weeks=empty_weeks,
        n_empty_weeks=n_empty_weeks,
        ended_before=ended_before,
        n_ended_before=n_ended_before,
    )
