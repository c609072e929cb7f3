"""Every scheme of the randomization module in the ledger, on SQLite and PostgreSQL; the export replayed.

Each scheme is checked against something other than the ledger's own code: the minimization rule against a
plain transcription of Pocock & Simon's, the biased coin against Efron's rule written out, simple
randomization and blocks against their known distributions; and the export is read back and replayed by the
re-randomization test as the design actually used.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import LedgerBackend

from ipstrial.errors import LedgerError
from ipstrial.ledger import Ledger, LedgerDesign, read_export
from ipstrial.ledger._key import read_key_file
from ipstrial.ledger._schemes import keyed_generator

FACTORS = {"site": ["Copenhagen", "Odense", "Aarhus"], "sex": ["F", "M"]}
ARMS = ["IPS", "IPSE", "SAU"]


def _participants(n: int, seed: int = 5) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    site = rng.choice(FACTORS["site"], n, p=[0.5, 0.3, 0.2])
    sex = rng.choice(FACTORS["sex"], n)
    return [{"site": str(a), "sex": str(b)} for a, b in zip(site, sex, strict=True)]


def _run(backend: LedgerBackend, design: LedgerDesign, n: int) -> tuple[list[dict], list[str]]:
    people = _participants(n)
    with Ledger.init(backend.db, design, backend.key) as led:
        arms = [led.allocate(f"P{i:04d}", people[i]).arm for i in range(n)]
        report = led.verify(backend.key)
        assert report.ok, report.summary()
    return people, arms


DESIGNS = {
    "simple": LedgerDesign("T", ARMS, scheme="simple", ratio=[2, 1, 1], factors=FACTORS),
    "biased_coin": LedgerDesign("T", ["IPS", "SAU"], scheme="biased_coin", p=2 / 3, factors=FACTORS),
    "permuted_blocks": LedgerDesign("T", ARMS, [3, 6], factors=FACTORS, scheme="permuted_blocks"),
    "stratified_blocks": LedgerDesign("T", ARMS, [3, 6], FACTORS),
    "minimization": LedgerDesign("T", ARMS, scheme="minimization", factors=FACTORS, weights=[2, 1], p=0.8),
}


@pytest.mark.parametrize("scheme", list(DESIGNS))
def test_every_scheme_allocates_verifies_and_finds_an_edited_arm(backend: LedgerBackend, scheme: str) -> None:
    design = DESIGNS[scheme]
    _run(backend, design, 60)
    rows = backend.sql("SELECT seq, arm FROM entries ORDER BY seq")
    seq, arm = rows[29]
    other = next(a for a in design.arms if a != arm)
    backend.sql(f"UPDATE entries SET arm = '{other}' WHERE seq = {seq}")
    with Ledger.open(backend.db) as led:
        report = led.verify(backend.key)
    assert report.first_broken_seq == seq, report.summary()
    with Ledger.open(backend.db, backend.key) as led:  # and nothing is drawn from an edited history
        with pytest.raises(LedgerError, match=f"fails its check at seq {seq} "):
            led.allocate("P9999", {"site": "Odense", "sex": "F"})
    assert len(backend.sql("SELECT seq FROM entries")) == 60


def test_simple_randomization_follows_the_ratio(backend: LedgerBackend) -> None:
    _, arms = _run(backend, DESIGNS["simple"], 400)
    counts = Counter(arms)
    # P(IPS) = 1/2 with ratio 2:1:1: 400 draws, 4.5 binomial SDs (10) of room
    assert abs(counts["IPS"] - 200) < 45 and abs(counts["IPSE"] - 100) < 39 and abs(counts["SAU"] - 100) < 39
    assert len(set(arms[:20])) > 1


def _efron(arms: list[str], us: list[float], p: float) -> list[str]:
    """Efron's rule written out for two arms: the under-represented arm with probability p, 1/2 at a tie."""
    out: list[str] = []
    for u in us:
        d = out.count("IPS") - out.count("SAU")
        if d == 0:
            out.append("IPS" if u < 0.5 else "SAU")
        else:
            behind = "IPS" if d < 0 else "SAU"
            ahead = "SAU" if behind == "IPS" else "IPS"
            out.append(behind if u < p else ahead)
    return out


def test_the_biased_coin_is_efrons_rule_with_keyed_uniforms(backend: LedgerBackend) -> None:
    _, arms = _run(backend, DESIGNS["biased_coin"], 120)
    key = read_key_file(backend.key)
    us = [float(keyed_generator(key, f"biased_coin|{j}").random(1)[0]) for j in range(1, 121)]
    assert arms == _efron(["IPS", "SAU"], us, 2 / 3)
    d = np.cumsum([1 if a == "IPS" else -1 for a in arms])
    assert np.abs(d).max() <= 8  # P(|D| > 8 within 120) is below 1e-3 for p = 2/3


def _pocock_simon(people: list[dict], keyed: list[np.ndarray], design: LedgerDesign) -> list[str]:
    """Pocock & Simon (1975) minimization with the range, transcribed from the paper's description.

    For each arm c: add the participant to c, take for each factor the range of the counts (divided by the
    ratio) of the participant's level over the arms, sum with the weights; the arm(s) with the smallest sum
    are preferred (ties: the largest tie-breaking uniform), taken with probability p, else one of the others.
    The first participant: arm by the cumulative ratio.
    """
    k = len(design.arms)
    ratio = np.array(design.ratio, dtype=float)
    weights = dict(zip(design.factor_names, design.weights or (), strict=True))
    out: list[int] = []
    for j, person in enumerate(people):
        u = keyed[j][:, 0]
        if j == 0:
            out.append(int(np.searchsorted(np.cumsum(ratio) / ratio.sum(), u[k], side="right")))
            continue
        totals = []
        for c in range(k):
            g = 0.0
            for f in design.factor_names:
                x = np.array([sum(1 for i, a in enumerate(out) if a == arm and people[i][f] == person[f])
                              for arm in range(k)], dtype=float)  # fmt: skip
                x[c] += 1
                y = x / ratio
                g += weights[f] * (y.max() - y.min())
            totals.append(g)
        best = min(totals)
        tied = [c for c in range(k) if totals[c] <= best + 1e-9]
        preferred = max(tied, key=lambda c: u[c])
        if u[k] < design.p:
            out.append(preferred)
        else:
            others = [c for c in range(k) if c != preferred]
            out.append(others[min(int((u[k] - design.p) / (1 - design.p) * (k - 1)), k - 2)])
    return [design.arms[a] for a in out]


@pytest.mark.parametrize("ratio", [None, [2, 1, 1]])
def test_minimization_is_pocock_simon_with_keyed_uniforms(backend: LedgerBackend, ratio: list | None) -> None:
    design = LedgerDesign(
        "T", ARMS, scheme="minimization", factors=FACTORS, weights=[2, 1], p=0.8, ratio=ratio
    )
    people, arms = _run(backend, design, 90)
    key = read_key_file(backend.key)
    keyed = [keyed_generator(key, f"minimization|{j}").random((4, 1)) for j in range(1, 91)]
    assert arms == _pocock_simon(people, keyed, design)
    if ratio is None:  # and it balances the margins far better than chance would
        ranges = []
        for f in FACTORS:
            for level in FACTORS[f]:
                got = Counter(a for a, p in zip(arms, people, strict=True) if p[f] == level)
                ranges.append(max(got.values()) - min(got.get(a, 0) for a in ARMS))
        # simple randomization: a range of about 6 per level of 18-45 participants (sum 29 on average over the
        # five levels, at most 12 in 0.9 % of trials); minimization with p = 0.8 keeps each within a few
        assert sum(ranges) <= 12, ranges


def test_blocks_are_uniform_over_their_orders() -> None:
    """The keyed blocks of 2 arms x 2: each of the 6 orders about equally often."""
    from ipstrial.ledger._schemes import Allocator

    alloc = Allocator(LedgerDesign("T", ["A", "B"], [4]), b"k" * 32)
    orders = Counter(tuple(alloc.block("-", k)) for k in range(1, 3001))
    assert len(orders) == 6
    expected = 3000 / 6
    chi2 = sum((n - expected) ** 2 / expected for n in orders.values())
    assert chi2 < 20.5  # the 0.999 quantile of chi-square with 5 degrees of freedom


# -- the export, read back and replayed -------------------------------------------------------------------


def _outcomes(participants: pd.Series) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"participant": participants, "employed": rng.integers(0, 2, len(participants))})


@pytest.mark.parametrize("scheme", list(DESIGNS))
def test_the_export_is_replayed_by_the_rerandomization_test(
    backend: LedgerBackend, scheme: str, tmp_path: Path
) -> None:
    from ipstrial.randomization import rerandomization_test

    design = DESIGNS[scheme]
    n = 60
    _run(backend, design, n)
    with Ledger.open(backend.db, backend.key) as led:
        led.withdraw("P0007", "withdrawal", "moved")
        led.export(tmp_path / "alloc.csv")
    export = read_export(tmp_path / "alloc.csv")
    assert export.design == design.replay_design() and export.design["scheme"] == scheme
    assert export.ledger_design == design
    frame = export.frame
    assert len(frame) == n and list(frame["seq"]) == list(range(1, n + 1))
    assert frame.loc[frame.participant == "P0007", "withdrawn"].item() == 1  # flagged, not dropped
    data = export.with_outcomes(_outcomes(frame["participant"]).iloc[:50])  # 10 without outcomes: kept
    assert len(data) == n
    control = design.arms[-1]
    result = rerandomization_test(
        data, "employed", arm="arm", control=control, design=export.design, order="seq", id="participant",
        n_resamples=200, seed=1, missing="complete-case",
    )  # fmt: skip
    assert all(0 < p <= 1 for p in result.p_value)
    # every allocated participant is replayed, the withdrawn one too, and the 50 with outcomes compared:
    # each contrast compares its treatment arm with the control, whose participants count once per contrast
    with_y = data.dropna(subset=["employed"])
    n_control = int((with_y["arm"] == control).sum())
    assert sum(result.n_compared) == 50 + (len(design.arms) - 2) * n_control


def test_an_edited_export_is_refused(backend: LedgerBackend, tmp_path: Path) -> None:
    _run(backend, DESIGNS["stratified_blocks"], 10)
    with Ledger.open(backend.db) as led:
        led.export(tmp_path / "alloc.csv")
    text = (tmp_path / "alloc.csv").read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    arm = last.split(",")[5]
    other = next(a for a in ARMS if a != arm)
    (tmp_path / "edited.csv").write_text(text.replace(last, last.replace(f",{arm},", f",{other},")))
    with pytest.raises(LedgerError, match="changed after export"):
        read_export(tmp_path / "edited.csv")
    (tmp_path / "plain.csv").write_text("seq,participant,arm\n1,P1,IPS\n")
    with pytest.raises(LedgerError, match="is not a ledger export"):
        read_export(tmp_path / "plain.csv")
    with pytest.raises(LedgerError, match="cannot read the export"):
        read_export(tmp_path / "absent.csv")


def test_the_export_provenance(backend: LedgerBackend, tmp_path: Path) -> None:
    _run(backend, DESIGNS["minimization"], 12)
    with Ledger.open(backend.db) as led:
        prov = led.export(tmp_path / "out.csv")
        rows = led.rows()
        commitment = led.commitment
    lines = (tmp_path / "out.csv").read_text().splitlines()
    header = {ln[2:].split(": ", 1)[0]: ln[2:].split(": ", 1)[1] for ln in lines if ln.startswith("# ")}
    assert header["trial_id"] == "T" and header["rows"] == "12" and header["key_commitment"] == commitment
    assert json.loads(header["last_mac"]) == rows[-1]["mac"] and prov["last_seq"] == 12
    assert json.loads(header["replay_design"])["weights"] == [2.0, 1.0]
    frame = read_export(tmp_path / "out.csv").frame
    assert list(frame["arm"]) == [r["arm"] for r in rows]
    assert list(frame.columns) == [
        "seq", "participant", "site", "sex", "stratum", "arm", "at", "by", "withdrawn", "excluded"
    ]  # fmt: skip


def _min_count_coin(us: list[float], k: int, p: float) -> list[int]:
    """Efron's rule for k arms as the docstring words it: the arms with the fewest so far share p, the
    others share 1 - p, each group in arm order; all tied: 1/k each."""
    counts = [0] * k
    out = []
    for u in us:
        low = [a for a in range(k) if counts[a] == min(counts)]
        high = [a for a in range(k) if a not in low]
        if not high:
            arm = min(int(u * k), k - 1)
        elif u < p:
            arm = low[min(int(u / p * len(low)), len(low) - 1)]
        else:
            arm = high[min(int((u - p) / (1 - p) * len(high)), len(high) - 1)]
        counts[arm] += 1
        out.append(arm)
    return out


def test_the_three_arm_biased_coin_is_the_minimum_count_rule(backend: LedgerBackend) -> None:
    design = LedgerDesign("T", ARMS, scheme="biased_coin", p=0.75, factors=FACTORS)
    _, arms = _run(backend, design, 90)
    key = read_key_file(backend.key)
    us = [float(keyed_generator(key, f"biased_coin|{j}").random(1)[0]) for j in range(1, 91)]
    assert [ARMS.index(a) for a in arms] == _min_count_coin(us, 3, 0.75)
