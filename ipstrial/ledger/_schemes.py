"""How a ledger draws each allocation: the randomization module's schemes, with keyed randomness.

Every random number comes from a numpy ``Generator`` seeded with ``int.from_bytes(HMAC-SHA256(key, tag),
"big")``; without the key the seeds cannot be computed (HMAC is a pseudo-random function, Bellare, Canetti &
Krawczyk, CRYPTO 1996), so neither can the next allocation. Each allocation depends only on the design, the
key and the allocations before it (the *history*), never on the order writers reach the database, so
``verify`` can replay the ledger with the key. ``j`` is the allocation's number (1, 2, ...) in the ledger.

* ``simple`` (Rosenberger & Lachin, *Randomization in Clinical Trials*, 2nd ed. 2016, sec. 3.2): tag
  ``simple|j``; arm by :func:`ipstrial.randomization.simple._simple_batch`'s map of ``integers(0, R)``.
* ``biased_coin`` (Efron, Biometrika 1971;58:403-417): tag ``biased_coin|j``; one ``random()`` and the arm
  counts so far through :func:`ipstrial.randomization.simple._biased_coin_step`.
* ``permuted_blocks`` and ``stratified_blocks`` (Rosenberger & Lachin sec. 3.3; Schulz & Grimes, Lancet
  2002;359:515-519): block ``k`` of stratum ``s`` (``-`` unstratified) has tag ``block|s|k``; its size is
  uniform over ``block_sizes`` (``integers``), its content arm ``i`` repeated ``r_i b / R`` times in the order
  of ``permutation``. The stratum's ``n``-th allocation is the next place of its blocks in turn: the ledger
  stores no block number or position, only the count ``n`` (a stored position would tell an observer where
  the blocks end, and so more about the next arm than the past allocations do).
* ``minimization`` (Pocock & Simon, Biometrics 1975;31:103-115): tag ``minimization|j``; ``random(k + 1)``
  and the counts of the participant's levels by arm through
  :func:`ipstrial.randomization.minimization._minimize_step`, the step of the module's own kernel.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Mapping

import numpy as np

from ipstrial.ledger._design import BLOCK_SCHEMES, LedgerDesign


def keyed_generator(key: bytes, tag: str) -> np.random.Generator:
    """The generator of ``tag``: seeded by ``int.from_bytes(HMAC-SHA256(key, tag), "big")``."""
    digest = hmac.new(key, tag.encode(), "sha256").digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


class History:
    """The allocations so far, as the rules need them: counts in all, by stratum, by arm, by level and arm.

    Grown one allocation at a time (:meth:`add`): from the rows a ledger has checked before it draws, and
    while ``verify`` replays the ledger.
    """

    def __init__(self, design: LedgerDesign) -> None:
        self._arm_index = {a: i for i, a in enumerate(design.arms)}
        self._k = len(design.arms)
        self.total = 0
        self.by_stratum: Counter[str] = Counter()
        self.by_arm = np.zeros(self._k, dtype=np.int64)
        self.by_level: dict[tuple[str, str], np.ndarray] = {}

    def add(self, values: Mapping[str, str], stratum: str, arm: str, n: int = 1) -> None:
        """Count ``n`` allocations of arm ``arm`` with factor values ``values`` in stratum ``stratum``."""
        a = self._arm_index[arm]
        self.total += n
        self.by_stratum[stratum] += n
        self.by_arm[a] += n
        for name, level in values.items():
            row = self.by_level.setdefault((name, level), np.zeros(self._k, dtype=np.int64))
            row[a] += n


class Allocator:
    """The next allocation of a ledger's design with its key, given the history (module docstring)."""

    def __init__(self, design: LedgerDesign, key: bytes) -> None:
        self.design = design
        self._key = key
        self._blocks: dict[str, list[list[int]]] = {}  # stratum -> its blocks so far (arm indices)
        self._cursor: dict[str, tuple[int, int]] = {}  # stratum -> (block, allocations before it) last used
        self._minimization = None
        if design.scheme == "minimization":
            from ipstrial.randomization.minimization import check_minimization

            self._minimization = check_minimization(
                design.factor_names, design.arms, design.weights, design.p, design.imbalance, design.ratio
            )

    def block(self, stratum: str, k: int) -> list[int]:
        """Block ``k`` (1, 2, ...) of ``stratum``: its arm indices in allocation order."""
        rng = keyed_generator(self._key, f"block|{stratum}|{k}")
        sizes = self.design.block_sizes
        size = sizes[int(rng.integers(len(sizes)))]
        ratio = np.asarray(self.design.ratio, dtype=np.int64)
        content = np.repeat(np.arange(len(ratio)), ratio * (size // int(ratio.sum())))
        return rng.permutation(content).tolist()

    def place(self, stratum: str, n: int) -> tuple[int, int, int]:
        """The block, the position in it and the arm index of the stratum's ``n``-th allocation (n >= 1).

        The blocks are walked from the first (their sizes are known only with the key); the walk resumes
        where the previous call of the same stratum ended, so allocating in turn costs one step each.
        """
        blocks = self._blocks.setdefault(stratum, [])
        k, start = self._cursor.get(stratum, (1, 0))  # block k begins after ``start`` allocations
        if n <= start:
            k, start = 1, 0
        while True:
            if len(blocks) < k:
                blocks.append(self.block(stratum, k))
            if n <= start + len(blocks[k - 1]):
                self._cursor[stratum] = (k, start)
                position = n - start
                return k, position, blocks[k - 1][position - 1]
            start += len(blocks[k - 1])
            k += 1

    def block_place(self, history: History, stratum: str) -> tuple[int, int, int]:
        """A block scheme's next place in ``stratum`` (all strata are one, ``-``, for permuted blocks)."""
        if self.design.scheme == "stratified_blocks":
            return self.place(stratum, history.by_stratum[stratum] + 1)
        return self.place("-", history.total + 1)

    def next_arm(self, history: History, values: Mapping[str, str], stratum: str) -> int:
        """The arm index of the next allocation, of a participant with ``values`` in ``stratum``."""
        d = self.design
        j = history.total + 1
        if d.scheme in BLOCK_SCHEMES:
            return self.block_place(history, stratum)[2]
        if d.scheme == "simple":
            from ipstrial.randomization.simple import _simple_batch

            rng = keyed_generator(self._key, f"simple|{j}")
            return int(_simple_batch(1, np.asarray(d.ratio, dtype=np.int64), rng)[0, 0])
        if d.scheme == "biased_coin":
            from ipstrial.randomization.simple import _biased_coin_step

            u = keyed_generator(self._key, f"biased_coin|{j}").random(1)
            assert d.p is not None
            return int(_biased_coin_step(history.by_arm[None, :], u, d.p)[0])
        from ipstrial.randomization.minimization import _minimize_step

        m = self._minimization
        assert m is not None
        k = len(d.arms)
        scale = np.lcm.reduce(m.ratio) // m.ratio
        zeros = np.zeros(k, dtype=np.int64)
        counts = np.array([history.by_level.get((name, values[name]), zeros) for name in d.factor_names])
        cols = [(counts[:, a] * scale[a])[:, None] for a in range(k)]  # (F, 1) scaled counts per arm
        u = keyed_generator(self._key, f"minimization|{j}").random((k + 1, 1))
        return int(_minimize_step(cols, u, j == 1, m)[0])
