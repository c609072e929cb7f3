"""The design of a ledger (arms, ratio, block sizes, stratification factors, trial id) and its blocks.

Scheme (Rosenberger & Lachin, *Randomization in Clinical Trials*, 2nd ed. 2016, ch. 3.3; Schulz & Grimes,
Lancet 2002;359:515-519): stratified permuted blocks of random size. Arms ``A_1..A_k`` at ratio
``r_1:...:r_k`` (total ``R``). The ``k``-th block (``k = 1, 2, ...``) of stratum ``s`` is drawn by a numpy
``Generator`` seeded with

    ``seed(s, k) = int.from_bytes(HMAC-SHA256(key, "block|<s>|<k>"), "big")``

(the stratum ``s`` written as its canonical label, :meth:`LedgerDesign.stratum_label`): its size ``b`` is
one of ``block_sizes`` with equal probability (``rng.integers``), and its content, arm ``i`` repeated
``r_i b / R`` times, is put in random order by ``rng.permutation``. Without the key the seeds, and so the
blocks, cannot be computed (HMAC is a pseudo-random function, Bellare, Canetti & Krawczyk, CRYPTO 1996).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ipstrial.errors import DesignError, LedgerError

_MAX_LABEL = 64  # the longest factor name, level, arm label or trial id accepted
_FORBIDDEN = ("=", "|", "\n", "\r")  # characters that would make the stratum label ambiguous


def canonical_json(value: object) -> str:
    """The canonical JSON of ``value``: sorted keys, no spaces, ASCII only (same value, same bytes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _check_label(what: str, value: object) -> str:
    """A name or level: a non-empty string of at most 64 characters without ``= | newline``."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise DesignError(
            f"{what} {value!r} must be a non-empty string without leading or trailing spaces; e.g. 'Odense'"
        )
    if len(value) > _MAX_LABEL or any(c in value for c in _FORBIDDEN):
        raise DesignError(
            f"{what} {value!r} must have at most {_MAX_LABEL} characters and none of '=', '|' or a newline; "
            "choose a shorter, plain label"
        )
    return value


@dataclass(frozen=True)
class LedgerDesign:
    """The committed design of an allocation ledger.

    Parameters
    ----------
    trial_id:
        The trial's identifier (e.g. ``"INKLUSION-2"``); a ledger refuses to be used as another trial's.
    arms:
        The arm labels, e.g. ``("IPS", "IPSE", "SAU")``.
    block_sizes:
        The allowed block sizes, each a multiple of the ratio total; each block's size is drawn uniformly.
    factors:
        The stratification factors in order, each with its allowed levels, e.g.
        ``{"site": ("Copenhagen", "Odense"), "sex": ("F", "M")}``; empty for an unstratified ledger.
    ratio:
        The allocation ratio, one positive integer per arm (default 1:1:...).

    Notes
    -----
    The stratum of a participant is the combination of its factor levels, written canonically as
    ``site=Odense|sex=F`` (factors in the design's order; ``-`` without factors).
    """

    trial_id: str
    arms: tuple[str, ...]
    block_sizes: tuple[int, ...]
    factors: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ratio: tuple[int, ...] | None = None

    def __init__(
        self,
        trial_id: str,
        arms: Sequence[str],
        block_sizes: Sequence[int],
        factors: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]] = (),
        ratio: Sequence[int] | None = None,
    ) -> None:
        from ipstrial.randomization.blocks import _check_design

        _check_label("trial_id", trial_id)
        arms = tuple(_check_label("arm", a) if isinstance(a, str) else a for a in arms)
        r = _check_design(arms, list(block_sizes), ratio)
        pairs = list(factors.items()) if isinstance(factors, Mapping) else list(factors)
        checked: list[tuple[str, tuple[str, ...]]] = []
        for name, levels in pairs:
            _check_label("factor name", name)
            if isinstance(levels, str) or len(levels) == 0:
                raise DesignError(
                    f"factor {name!r} needs a sequence of allowed levels such as ['F', 'M']; got {levels!r}"
                )
            levels = tuple(_check_label(f"level of factor {name!r}", v) for v in levels)
            if len(set(levels)) != len(levels):
                raise DesignError(f"factor {name!r} lists a level twice {list(levels)}; list each level once")
            checked.append((name, levels))
        names = [n for n, _ in checked]
        if len(set(names)) != len(names):
            raise DesignError(f"a factor is named twice in {names}; give each factor one distinct name")
        object.__setattr__(self, "trial_id", trial_id)
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "block_sizes", tuple(int(b) for b in block_sizes))
        object.__setattr__(self, "factors", tuple(checked))
        object.__setattr__(self, "ratio", tuple(int(x) for x in r))

    def to_dict(self) -> dict:
        """The design as plain JSON-able data (the form stored in the ledger)."""
        return {
            "trial_id": self.trial_id,
            "arms": list(self.arms),
            "ratio": list(self.ratio or ()),
            "block_sizes": list(self.block_sizes),
            "factors": [[name, list(levels)] for name, levels in self.factors],
            "scheme": "stratified permuted blocks of random size, HMAC-SHA256 seeded",
        }

    def to_json(self) -> str:
        """The design as canonical JSON (:func:`canonical_json`)."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> LedgerDesign:
        """Read a design written by :meth:`to_json`."""
        d = json.loads(text)
        return cls(d["trial_id"], d["arms"], d["block_sizes"], [tuple(f) for f in d["factors"]], d["ratio"])

    def check_strata(self, strata: Mapping[str, object]) -> dict[str, str]:
        """Check a participant's factor values against the design; return them in the design's order.

        Every factor needs one of its allowed levels; an unknown factor is refused.
        """
        if not isinstance(strata, Mapping):
            raise LedgerError(f"strata must be a mapping such as {{'site': 'Odense'}}; got {strata!r}")
        names = [n for n, _ in self.factors]
        unknown = sorted(str(k) for k in strata if k not in names)
        if unknown:
            raise LedgerError(
                f"unknown stratification factor(s) {unknown}; this ledger's factors are {names}"
            )
        out: dict[str, str] = {}
        for name, levels in self.factors:
            if name not in strata:
                raise LedgerError(
                    f"missing value of stratification factor {name!r}; give one of {list(levels)}"
                )
            value = strata[name]
            if value not in levels:
                raise LedgerError(
                    f"unknown value {value!r} of stratification factor {name!r}; give one of {list(levels)}"
                )
            out[name] = str(value)
        return out

    def stratum_label(self, strata: Mapping[str, str]) -> str:
        """The canonical label of checked factor values: ``name=level`` joined by ``|`` (``-`` if none)."""
        return "|".join(f"{name}={strata[name]}" for name, _ in self.factors) or "-"

    def block(self, key: bytes, stratum: str, k: int) -> list[str]:
        """The ``k``-th block (``k >= 1``) of stratum ``stratum``: its arms in allocation order.

        Seeded by ``int.from_bytes(HMAC-SHA256(key, f"block|{stratum}|{k}"), "big")``; size uniform over
        ``block_sizes``; the arms repeated by ratio and block multiple, then ``rng.permutation``.
        """
        digest = hmac.new(key, f"block|{stratum}|{k}".encode(), "sha256").digest()
        rng = np.random.default_rng(int.from_bytes(digest, "big"))
        size = self.block_sizes[int(rng.integers(len(self.block_sizes)))]
        ratio = np.asarray(self.ratio, dtype=np.int64)
        content = np.repeat(np.arange(len(self.arms)), ratio * (size // int(ratio.sum())))
        return [self.arms[i] for i in rng.permutation(content)]
