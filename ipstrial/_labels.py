"""Arm labels: how a value of the arm column is shown, and which labels are near-misses of an arm.

Arms may be coded as text, whole numbers, booleans or a pandas categorical. Inside ipstrial every arm is
known by its *label*, the text :func:`label_of` gives (``1`` -> ``"1"``, ``True`` -> ``"True"``, ``2.0``
-> ``"2"``), so that contrasts read ``"1 vs 0"`` in every summary, table and JSON export.

A *near-miss* is a label that is almost, but not exactly, an arm the analysis names or the trial
declares: a different case or spacing (``"IPS "``, ``"ips"``, ``"I.P.S"``), an invisible character or a
look-alike letter of another script (``"IPS\u200b"``, ``"IРS"`` with a Cyrillic Р), a slip of one letter in
a longer word (``"treatmnet"`` for ``"treatment"``, ``"contrl"`` for ``"control"``), or in a short label
two neighbouring letters swapped or one typed twice (``"SUA"``, ``"IPSS"``). Rows with such labels
are never dropped or made into an extra arm: :func:`near_misses` finds them so that the input gate can
refuse them with the label probably meant. Labels that differ in a whole short token or in digits
(``"IPSE"`` and ``"IPS"``, ``"Arm A"`` and ``"Arm B"``, ``"group 1"`` and ``"group 2"``) are different
arms, not slips.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["label_counts", "label_of", "labels_of", "near_miss", "near_misses", "normalise"]

_SEPARATORS = re.compile(r"[\s_\-.,;:/]+")
_MIN_TYPO_LENGTH = 5


def label_of(value: object) -> str:
    """The text label of an arm value: ``str`` of it, whole floats without ``.0``, numpy scalars unwrapped."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def labels_of(values: pd.Series | np.ndarray) -> np.ndarray:
    """The label of every value (an object array of str, ``None`` where the value is missing).

    Computed once per distinct value, so a million rows cost a factorisation, not a million calls.
    """
    codes, uniques = pd.factorize(pd.Series(values, copy=False), sort=False)
    table = np.array([label_of(u) for u in uniques] + [None], dtype=object)
    return table[codes]  # code -1 (missing) takes the trailing None


#: Letters of other scripts that look like Latin ones (Cyrillic and Greek capitals and small letters):
#: a label typed with one of them (``"IРS"`` with a Cyrillic Р) reads like the Latin label but is another.
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТХаеорсухіјѕΑΒΕΖΗΙΚΜΝΟΡΤΥΧοκνρτυχ",
    "ABEKMHOPCTXaeopcyxijsABEZHIKMNOPTYXokvptux",
)


def label_counts(labels: np.ndarray) -> pd.Series:
    """How many rows have each label (missing labels left out), in order of first appearance."""
    codes, uniques = pd.factorize(labels)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return pd.Series(counts, index=pd.Index(uniques, dtype=object), dtype="int64")


@functools.lru_cache(maxsize=4096)
def normalise(label: str) -> str:
    """The text of a label as a reader sees it: Unicode-normalised (NFKC), invisible format characters
    (zero-width spaces, joiners, byte-order marks) removed, look-alike Cyrillic and Greek letters read as
    Latin, case-folded, runs of spaces and punctuation made one space, trimmed."""
    text = unicodedata.normalize("NFKC", label)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    text = text.translate(_LOOKALIKES).casefold()
    return _SEPARATORS.sub(" ", text).strip()


def _short_slip(a: str, b: str) -> bool:
    """A slip in a short label: two neighbouring letters swapped (``"SUA"`` for ``"SAU"``), or a letter
    typed twice (``"IPSS"`` for ``"IPS"``). Labels differing in another way (``"IPSE"``, ``"SA"``) are other
    arms: short labels are too close to each other for a one-letter rule."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1
        return swapped and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    if len(longer) != len(shorter) + 1:
        return False
    return any(
        longer[i] == longer[i - 1] and longer[:i] + longer[i + 1 :] == shorter for i in range(1, len(longer))
    )


def _damerau(a: str, b: str) -> int:
    """Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent transpositions)."""
    if a == b:
        return 0
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


@functools.lru_cache(maxsize=4096)
def near_miss(label: str, arm: str) -> bool:
    """True when ``label`` is probably a mistyped ``arm`` (see the module docstring); False if equal."""
    if label == arm:
        return False
    a, b = normalise(label), normalise(arm)
    if a == b or a.replace(" ", "") == b.replace(" ", ""):
        return True
    if re.sub(r"\d", "", a) == re.sub(r"\d", "", b):
        return False  # they differ only in digits: numbered arms
    tokens_a, tokens_b = a.split(), b.split()
    if len(tokens_a) == len(tokens_b) > 1:
        differ = [(x, y) for x, y in zip(tokens_a, tokens_b, strict=True) if x != y]
        if len(differ) == 1 and max(len(differ[0][0]), len(differ[0][1])) <= 2:
            return False  # "arm a" / "arm b": one short token differs, an enumeration of arms
    compact_a, compact_b = a.replace(" ", ""), b.replace(" ", "")
    if min(len(compact_a), len(compact_b)) < _MIN_TYPO_LENGTH:
        return min(len(compact_a), len(compact_b)) >= 3 and _short_slip(compact_a, compact_b)
    return _damerau(compact_a, compact_b) <= 1


def near_misses(labels: Iterable[str], arms: Iterable[str]) -> dict[str, str]:
    """Each label that is a near-miss of one of ``arms`` (other than itself), mapped to the arm meant."""
    arms = list(dict.fromkeys(arms))
    found: dict[str, str] = {}
    for label in labels:
        if label in found:
            continue
        for arm in arms:
            if arm != label and near_miss(label, arm):
                found[label] = arm
                break
    return found
