"""Concealment: without the key, the ledger tells an observer no more about the next arm than the design does.

The observer has the database (every row, mac and time, the head and the commitment) and every past
allocation, and knows the design and each new participant's factors. Its guesses of the next arm must succeed
no more often than the same guesses on the same scheme driven by a true random generator (the randomization
module's own implementation, many sequences), whose convergence-strategy rate is the scheme's Blackwell-Hodges
figure (Blackwell & Hodges, Ann Math Stat 1957;28:449-460; :func:`ipstrial.randomization.simulate_scheme`;
17/24 for blocks of 4). Positive control: an observer who holds the key predicts every arm, one who
guesses a key does not.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import LedgerBackend

from ipstrial.ledger import Ledger, LedgerDesign
from ipstrial.ledger._schemes import Allocator, History
from ipstrial.randomization import minimization, permuted_blocks, simulate_scheme

ARMS = ("A", "B")
FACTORS = {"site": ["x", "y", "z"], "sex": ["F", "M"]}
N_LEDGER = 700
Z = 3.5  # one-sided: P(a correct ledger fails) < 3e-4 per comparison


def _people(n: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"site": rng.choice(FACTORS["site"], n), "sex": rng.choice(FACTORS["sex"], n)})


# -- the observer's strategies: each sees the past arms, the new participant's factors and a public bit ----
STRATEGIES = ("convergence", "preferred", "bit")
"""``convergence``: Blackwell & Hodges' strategy, the arm with fewer allocations so far; ``preferred``:
minimization's preferred arm for the new participant (range over the arms at the participant's levels,
weights 1); ``bit``: the public bit alone (on the ledger a bit of the previous row's mac). Ties go by the
bit."""


def _rates(arms: list[int], people: pd.DataFrame, bits: list[int]) -> dict[str, float]:
    """Each strategy's proportion of correct guesses over the sequence ``arms`` (0/1), in one pass."""
    totals = [0, 0]
    by_level: dict[tuple[str, str], list[int]] = {}
    correct = dict.fromkeys(STRATEGIES, 0)
    columns = {f: people[f].tolist() for f in FACTORS}
    for j, arm in enumerate(arms):
        bit = bits[j]
        a, b = totals
        guesses = {"convergence": bit if a == b else int(a > b), "bit": bit}
        score = [0, 0]
        for c in (0, 1):
            for f in FACTORS:
                x = list(by_level.get((f, columns[f][j]), [0, 0]))
                x[c] += 1
                score[c] += max(x) - min(x)
        guesses["preferred"] = bit if score[0] == score[1] else int(score[1] < score[0])
        for name, guess in guesses.items():
            correct[name] += guess == arm
        totals[arm] += 1
        for f in FACTORS:
            by_level.setdefault((f, columns[f][j]), [0, 0])[arm] += 1
    return {name: correct[name] / len(arms) for name in STRATEGIES}


def _reference(scheme: str, people: pd.DataFrame, n_seq: int) -> dict[str, float]:
    """Each strategy's success on ``n_seq`` sequences of the randomization module's scheme (true randomness;
    the public bit a fair coin)."""
    rng = np.random.default_rng(99)
    out: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    for s in range(n_seq):
        if scheme == "permuted_blocks":
            lst = permuted_blocks(len(people), list(ARMS), block_sizes=[2, 4], seed=1000 + s)
        else:
            lst = minimization(people, list(ARMS), p=0.8, seed=1000 + s)
        arms = [ARMS.index(a) for a in lst.frame["arm"]]
        bits = rng.integers(0, 2, len(arms)).tolist()
        for name, rate in _rates(arms, people, bits).items():
            out[name].append(rate)
    return {name: float(np.mean(v)) for name, v in out.items()}


def _design(scheme: str) -> LedgerDesign:
    if scheme == "permuted_blocks":
        return LedgerDesign("T", ARMS, [2, 4], factors=FACTORS, scheme="permuted_blocks")
    return LedgerDesign("T", ARMS, scheme="minimization", factors=FACTORS, p=0.8)


@pytest.mark.parametrize("scheme", ["permuted_blocks", "minimization"])
def test_an_observer_of_the_database_predicts_no_better_than_the_design(
    backend: LedgerBackend, scheme: str
) -> None:
    people = _people(N_LEDGER)
    with Ledger.init(backend.db, _design(scheme), backend.key) as led:
        for j in range(N_LEDGER):
            led.allocate(f"P{j:04d}", {"site": people.site.iat[j], "sex": people.sex.iat[j]})
    # the observer: a read-only view of the database, without the key
    with Ledger.open(backend.db) as observer:
        rows = observer.rows()
        meta = observer.read_meta()
    assert backend.key.read_text().strip() not in json.dumps([meta, rows])  # the key is not in it
    arms = [ARMS.index(r["arm"]) for r in rows]
    genesis_bit = int(meta["key_commitment"][-1], 16) % 2  # the first guess: a bit of the commitment
    bits = [genesis_bit] + [int(r["mac"][-1], 16) % 2 for r in rows[:-1]]  # the previous row's mac
    reference = _reference(scheme, people, n_seq=30)
    for name, got in _rates(arms, people, bits).items():
        p = reference[name]
        se = math.sqrt(p * (1 - p) / N_LEDGER)
        assert got <= p + Z * se, (name, got, p)  # no better than the design's own predictability
        assert got >= p - Z * se, (name, got, p)  # and not another design
    # the database holds nothing else: every column of every row is what the design and the past allow
    _check_nothing_else_is_stored(backend, _design(scheme), rows, meta, people)
    # and no key the observer can derive from it draws the ledger's arms: each predicts no better
    for candidate in _candidate_keys(meta, rows):
        allocator, history = Allocator(_design(scheme), candidate), History(_design(scheme))
        hits = 0
        for j, r in enumerate(rows):
            values = {"site": people.site.iat[j], "sex": people.sex.iat[j]}
            stratum = _design(scheme).stratum_label(values)
            hits += allocator.next_arm(history, values, stratum) == arms[j]
            history.add(values, stratum, r["arm"])
        p = max(reference.values())  # a wrong key still runs the scheme's rule: at best the design's own
        assert hits / N_LEDGER <= p + Z * math.sqrt(p * (1 - p) / N_LEDGER), (candidate, hits)
    # the reference's convergence rate is the scheme's Blackwell-Hodges figure
    params = {"block_sizes": [2, 4]} if scheme == "permuted_blocks" else {"p": 0.8}
    figure = simulate_scheme(scheme, N_LEDGER, n_sim=400, seed=5, strata=people, arms=list(ARMS), **params)
    assert reference["convergence"] == pytest.approx(figure.p_guess, abs=0.01)


def _candidate_keys(meta: dict[str, str], rows: list[dict]) -> list[bytes]:
    """Keys an observer could try from what the database holds: empty, zeros, the commitment itself, and
    the SHA-256 of every meta value and of the first row's mac."""
    import hashlib

    texts = [*meta.values(), rows[0]["mac"], rows[0]["prev_mac"]]
    return [b"", bytes(32), bytes.fromhex(meta["key_commitment"])] + [
        hashlib.sha256(t.encode()).digest() for t in texts
    ]


def _check_nothing_else_is_stored(
    backend: LedgerBackend, design: LedgerDesign, rows: list[dict], meta: dict, people: pd.DataFrame
) -> None:
    """Every stored value is one the design, the participant, the time or the chain requires (a block
    place, a size or a hint in any column would fail here), and the key is nowhere in the files."""
    import base64
    import re
    from datetime import datetime

    from ipstrial.ledger._design import canonical_json

    assert set(meta) == {
        "format_version", "trial_id", "design", "key_commitment", "created_at", "created_by", "head"
    }  # fmt: skip
    assert meta["design"] == design.to_json() and json.loads(meta["head"]).keys() == {
        "seq",
        "mac",
        "head_mac",
    }
    hexes = re.compile("[0-9a-f]{64}")
    for j, r in enumerate(rows):
        values = {"site": people.site.iat[j], "sex": people.sex.iat[j]}
        assert set(r) == {"seq", "kind", "participant", "stratum", "strata", "arm", "reason", "at", "by",
                          "prev_mac", "mac"}  # fmt: skip
        assert (r["seq"], r["kind"], r["participant"]) == (j + 1, "allocation", f"P{j:04d}")
        assert r["strata"] == canonical_json(values) and r["stratum"] == design.stratum_label(values)
        assert r["arm"] in design.arms and r["reason"] is None and r["by"] == meta["created_by"]
        assert datetime.fromisoformat(r["at"]).tzinfo is not None
        assert hexes.fullmatch(r["mac"]) and hexes.fullmatch(r["prev_mac"])
    key = bytes.fromhex(backend.key.read_text().strip())
    secrets = [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key)]
    if backend.name == "sqlite":
        for file in Path(backend.db).parent.glob(Path(backend.db).name + "*"):  # the file, any journal
            raw = file.read_bytes()
            assert not any(s in raw for s in secrets), file
    dump = json.dumps(backend.sql("SELECT * FROM meta")) + json.dumps(backend.sql("SELECT * FROM entries"))
    assert not any(s.decode("latin-1") in dump for s in secrets)


def _scheme_sequence(design: LedgerDesign, key: bytes, n: int) -> tuple[list[int], list[tuple[int, int]]]:
    """The ledger's allocations by its own allocation rule (no database), with each one's block place."""
    allocator, history = Allocator(design, key), History(design)
    arms, places = [], []
    for _ in range(n):
        block, position, arm = allocator.block_place(history, "-")
        arms.append(arm)
        places.append((block, position))
        history.add({}, "-", design.arms[arm])
    return arms, places


def test_fixed_blocks_of_four_are_guessed_at_the_blackwell_hodges_rate() -> None:
    """17/24 correct guesses by the convergence strategy (Blackwell & Hodges 1957) in 24,000 allocations."""
    design = LedgerDesign("T", ARMS, [4])
    arms, _ = _scheme_sequence(design, bytes(range(32)), 24_000)
    bits = np.random.default_rng(1).integers(0, 2, len(arms)).tolist()
    correct = 0
    for j in range(len(arms)):  # the convergence strategy within the (known) block of four
        block = arms[j - j % 4 : j]
        guess = bits[j] if block.count(0) == block.count(1) else int(block.count(0) > block.count(1))
        correct += guess == arms[j]
    se = math.sqrt((17 / 24) * (7 / 24) / len(arms))
    assert abs(correct / len(arms) - 17 / 24) < 4 * se


def test_concealment_rests_on_the_key_alone() -> None:
    """Positive control: an observer holding the key file predicts every arm; one who guesses a key (here a
    fixed one) does no better than the design (blocks of 2 or 4, convergence figure from simulate_scheme)."""
    design = LedgerDesign("T", ARMS, [2, 4])
    n = 4000
    arms, _ = _scheme_sequence(design, bytes(range(32)), n)
    holder, _ = _scheme_sequence(design, bytes(range(32)), n)
    assert holder == arms  # the key file reproduces every allocation
    guessed, _ = _scheme_sequence(design, bytes(32), n)  # an all-zero key
    figure = simulate_scheme(
        "permuted_blocks", n, n_sim=50, seed=2, arms=list(ARMS), block_sizes=[2, 4]
    ).p_guess
    # the wrong key's sequence as a guess: right only as often as an independent sequence of the design
    agree = float(np.mean(np.array(guessed) == np.array(arms)))
    assert abs(agree - 0.5) < 4 * math.sqrt(0.25 / n) and figure > 0.6
