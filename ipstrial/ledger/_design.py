"""The design of a ledger: the trial id, the arms, the scheme and its parameters, the recorded factors.

The scheme is one of the randomization module's (:mod:`ipstrial.randomization`): ``simple``,
``biased_coin``, ``permuted_blocks``, ``stratified_blocks`` or ``minimization``, with the same parameters
and the same checks; how the ledger draws each allocation with its secret key is in
:mod:`ipstrial.ledger._schemes`. A design is given in Python, by command-line flags, or in a TOML file
(:meth:`LedgerDesign.from_toml`), and is stored in the ledger as canonical JSON
(:meth:`LedgerDesign.to_json`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ipstrial.errors import DesignError, LedgerError

SCHEMES = ("simple", "biased_coin", "permuted_blocks", "stratified_blocks", "minimization")
"""The schemes a ledger allocates by (the randomization module's names)."""
BLOCK_SCHEMES = ("permuted_blocks", "stratified_blocks")
_MAX_LABEL = 64  # the longest factor name, level, arm label or trial id accepted
MAX_BLOCK = 1000  # the largest block size accepted (blocks are small: 2-12 in practice)
RESERVED_FACTORS = ("by", "db", "h", "help", "key", "participant", "set", "trial-id", "trial_id")
"""Names a factor may not have: flags of ``ipstrial ledger allocate``, which takes factor values as flags."""
_FORBIDDEN = ("=", "|", "\n", "\r")  # characters that would make the stratum label ambiguous
_TOML_KEYS = ("trial_id", "scheme", "arms", "ratio", "block_sizes", "factors", "weights", "p", "imbalance")


def canonical_json(value: object) -> str:
    """The canonical JSON of ``value``: sorted keys, no spaces, ASCII only (same value, same bytes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def hidden_characters(text: str) -> list[str]:
    """The characters of ``text`` a reader cannot see or that would make two equal-looking texts differ:
    control, format (zero-width, bidirectional), private-use, unassigned and line or paragraph separators;
    and, when ``text`` is not in Unicode normal form C, a note that it is not (``e`` + combining accent
    against ``é``). Each as its code point."""
    import unicodedata

    out = [
        f"U+{ord(c):04X}"
        for c in text
        if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
    ]
    if not out and unicodedata.normalize("NFC", text) != text:
        out.append("not in Unicode normal form C (write accented letters as one character)")
    return out


def _check_label(what: str, value: object) -> str:
    """A name or level: a non-empty string of at most 64 characters without ``= | newline``."""
    hidden = hidden_characters(value) if isinstance(value, str) else []
    if hidden:
        raise DesignError(
            f"{what} {value!r} has characters that cannot be seen ({', '.join(hidden[:5])}); remove them"
        )
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


def _check_factors(
    factors: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The factors as ``((name, levels), ...)``: distinct plain names, each with distinct plain levels."""
    pairs = list(factors.items()) if isinstance(factors, Mapping) else list(factors)
    checked: list[tuple[str, tuple[str, ...]]] = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise DesignError(f"factors must map each factor name to its levels; got the entry {pair!r}")
        name, levels = pair
        _check_label("factor name", name)
        if name.lower() in RESERVED_FACTORS:
            raise DesignError(
                f"factor name {name!r} is a flag of 'ipstrial ledger allocate' "
                f"({', '.join(RESERVED_FACTORS)}); "
                "rename the factor, e.g. 'site_by'"
            )
        if isinstance(levels, str) or not isinstance(levels, Sequence) or len(levels) == 0:
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
    return tuple(checked)


@dataclass(frozen=True)
class LedgerDesign:
    """The committed design of an allocation ledger.

    Parameters
    ----------
    trial_id
        The trial's identifier (e.g. ``"INKLUSION-2"``); a ledger refuses to be used as another trial's.
    arms
        The arm labels, e.g. ``("IPS", "IPSE", "SAU")``.
    block_sizes
        The block schemes' allowed block sizes, each a multiple of the ratio total; each block's size is
        drawn uniformly from them. Given without ``scheme``, the scheme is ``stratified_blocks`` (with
        ``factors``) or ``permuted_blocks`` (without).
    factors
        The factors recorded at allocation, in order, each with its allowed levels, e.g.
        ``{"site": ("Copenhagen", "Odense"), "sex": ("F", "M")}``. ``stratified_blocks`` stratifies by all of
        them (one stratum per combination), ``minimization`` balances over each of them; the other schemes
        only record them.
    ratio
        The allocation ratio, one positive integer per arm (default 1:1:...; the biased coin is 1:1:... only).
    scheme
        ``"simple"``, ``"biased_coin"``, ``"permuted_blocks"``, ``"stratified_blocks"`` or
        ``"minimization"`` (see :mod:`ipstrial.ledger._schemes` for how each allocation is drawn).
    weights
        Minimization: one non-negative weight per factor (a sequence in factor order or a dict); default 1.
    p
        Biased coin: the probability of the under-represented arm(s), in (0.5, 1] (default 2/3).
        Minimization: the probability of the preferred arm, in (1/k, 1] (default 0.8).
    imbalance
        Minimization: ``"range"`` (default) or ``"variance"``.

    Notes
    -----
    The stratum of a participant is the combination of its factor levels, written canonically as
    ``site=Odense|sex=F`` (factors in the design's order; ``-`` without factors). Checks are those of the
    randomization module's schemes (:func:`ipstrial.randomization.stratified_blocks`,
    :func:`~ipstrial.randomization.minimization`, :func:`~ipstrial.randomization.biased_coin`).
    """

    trial_id: str
    arms: tuple[str, ...]
    scheme: str
    ratio: tuple[int, ...]
    block_sizes: tuple[int, ...] = ()
    factors: tuple[tuple[str, tuple[str, ...]], ...] = ()
    weights: tuple[float, ...] | None = None
    p: float | None = None
    imbalance: str | None = None

    def __init__(
        self,
        trial_id: str,
        arms: Sequence[str],
        block_sizes: Sequence[int] | None = None,
        factors: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]] = (),
        ratio: Sequence[int] | None = None,
        *,
        scheme: str | None = None,
        weights: Sequence[float] | Mapping[str, float] | None = None,
        p: float | None = None,
        imbalance: str | None = None,
    ) -> None:
        from ipstrial.randomization.blocks import _check_arms_ratio, _check_design
        from ipstrial.randomization.minimization import check_minimization
        from ipstrial.randomization.simple import _check_coin_p

        _check_label("trial_id", trial_id)
        if isinstance(arms, str) or not isinstance(arms, Sequence):
            raise DesignError(f"arms must be a sequence of arm labels such as ['IPS', 'SAU']; got {arms!r}")
        arms = tuple(_check_label("arm", a) for a in arms)
        checked = _check_factors(factors)
        names = [n for n, _ in checked]
        if scheme is None:
            if block_sizes is None:
                raise DesignError(
                    f"give the scheme (one of {list(SCHEMES)}) or the block sizes of a block scheme"
                )
            scheme = "stratified_blocks" if checked else "permuted_blocks"
        if scheme not in SCHEMES:
            raise DesignError(
                f"scheme {scheme!r} is not one a ledger allocates by; give one of {list(SCHEMES)}"
            )
        given = {"block_sizes": block_sizes, "weights": weights, "imbalance": imbalance, "p": p}
        applies = {
            "block_sizes": BLOCK_SCHEMES,
            "weights": ("minimization",),
            "imbalance": ("minimization",),
            "p": ("biased_coin", "minimization"),
        }
        wrong = [name for name, value in given.items() if value is not None and scheme not in applies[name]]
        if wrong:
            raise DesignError(
                f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to scheme {scheme!r}; "
                f"remove {'it' if len(wrong) == 1 else 'them'}"
            )
        if scheme in ("stratified_blocks", "minimization") and not checked:
            raise DesignError(f"a {scheme} design needs factors with their levels, e.g. site=Odense,Aarhus")
        sizes: tuple[int, ...] = ()
        w = pr = imb = None
        if scheme in BLOCK_SCHEMES:
            if block_sizes is None or isinstance(block_sizes, str):
                raise DesignError(f"a {scheme} design needs block_sizes, e.g. [3, 6]")
            r = _check_design(arms, list(block_sizes), ratio)
            sizes = tuple(int(b) for b in block_sizes)
            if max(sizes) > MAX_BLOCK:
                raise DesignError(
                    f"block size {max(sizes)} is larger than {MAX_BLOCK}; permuted blocks are small, "
                    "e.g. [3, 6]"
                )
        elif scheme == "biased_coin":
            r = _check_arms_ratio(arms, ratio)
            if len(set(r.tolist())) != 1:
                raise DesignError(
                    f"the biased coin allocates equally; ratio {r.tolist()} is not 1:1: use minimization "
                    "or a block scheme for an unequal ratio"
                )
            r = r // r[0]
            pr = _check_coin_p(2 / 3 if p is None else p)
        elif scheme == "minimization":
            m = check_minimization(names, arms, weights, 0.8 if p is None else p, imbalance or "range", ratio)
            r, w, pr, imb = m.ratio, tuple(float(x) for x in m.weights), m.p, m.imbalance
        else:
            r = _check_arms_ratio(arms, ratio)
        object.__setattr__(self, "trial_id", trial_id)
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "ratio", tuple(int(x) for x in r))
        object.__setattr__(self, "block_sizes", sizes)
        object.__setattr__(self, "factors", checked)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "p", pr)
        object.__setattr__(self, "imbalance", imb)

    @property
    def factor_names(self) -> tuple[str, ...]:
        """The names of the factors, in order."""
        return tuple(name for name, _ in self.factors)

    def to_dict(self) -> dict:
        """The design as plain JSON-able data (the form stored in the ledger): only the scheme's keys."""
        out: dict = {
            "trial_id": self.trial_id,
            "scheme": self.scheme,
            "arms": list(self.arms),
            "ratio": list(self.ratio),
            "factors": [[name, list(levels)] for name, levels in self.factors],
        }
        if self.scheme in BLOCK_SCHEMES:
            out["block_sizes"] = list(self.block_sizes)
        if self.p is not None:
            out["p"] = self.p
        if self.scheme == "minimization":
            out["weights"] = list(self.weights or ())
            out["imbalance"] = self.imbalance
        return out

    def to_json(self) -> str:
        """The design as canonical JSON (:func:`canonical_json`)."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: Mapping) -> LedgerDesign:
        """The design of :meth:`to_dict`'s data (checked again)."""
        return cls(
            d["trial_id"],
            d["arms"],
            d.get("block_sizes"),
            [tuple(f) for f in d.get("factors", ())],
            d.get("ratio"),
            scheme=d["scheme"],
            weights=d.get("weights"),
            p=d.get("p"),
            imbalance=d.get("imbalance"),
        )

    @classmethod
    def from_json(cls, text: str) -> LedgerDesign:
        """Read a design written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_toml(cls, path: str | os.PathLike, **overrides: object) -> LedgerDesign:
        """Read a design from the TOML file ``path``; ``overrides`` (e.g. ``trial_id=``) take precedence.

        Keys: ``trial_id``, ``scheme``, ``arms``, ``ratio``, ``block_sizes``, ``p``, ``weights`` and
        ``imbalance`` as for the constructor, and a ``[factors]`` table whose keys are the factor names, in
        order, and whose values are the lists of their levels::

            trial_id = "INKLUSION-2"
            scheme = "minimization"
            arms = ["IPS", "IPSE", "SAU"]
            p = 0.8
            weights = { site = 2.0, sex = 1.0 }

            [factors]
            site = ["Copenhagen", "Odense"]
            sex = ["F", "M"]
        """
        import tomllib

        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise DesignError(
                f"cannot read the design file '{path}': {exc.strerror}; check the path"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DesignError(
                f"the design file '{path}' is not valid TOML ({exc}); fix the line named"
            ) from None
        data.update({k: v for k, v in overrides.items() if v is not None})
        unknown = sorted(set(data) - set(_TOML_KEYS))
        if unknown:
            raise DesignError(
                f"the design file '{path}' has unknown keys {unknown}; allowed: {list(_TOML_KEYS)}"
            )
        missing = [k for k in ("trial_id", "arms") if k not in data]
        if missing:
            raise DesignError(
                f'the design file \'{path}\' needs {missing}, e.g. trial_id = "T1", arms = ["A", "B"]'
            )
        factors = data.get("factors", {})
        if not isinstance(factors, Mapping):
            raise DesignError(
                f'in \'{path}\', factors must be a table such as [factors] site = ["A", "B"]; got {factors!r}'
            )
        try:
            return cls(
                data["trial_id"],
                data["arms"],
                data.get("block_sizes"),
                factors,
                data.get("ratio"),
                scheme=data.get("scheme"),
                weights=data.get("weights"),
                p=data.get("p"),
                imbalance=data.get("imbalance"),
            )
        except DesignError as exc:
            raise DesignError(f"the design file '{path}': {exc}") from None

    def replay_design(self) -> dict:
        """The design as :func:`ipstrial.randomization.rerandomization_test` replays it (``design=``).

        Only the scheme's own parameters: the factors of ``simple``, ``biased_coin`` and ``permuted_blocks``
        were recorded, not used, so they are not part of the replayed design.
        """
        out: dict = {"scheme": self.scheme, "arms": list(self.arms)}
        if self.scheme != "biased_coin":
            out["ratio"] = list(self.ratio)
        if self.scheme in BLOCK_SCHEMES:
            out["block_sizes"] = list(self.block_sizes)
        if self.scheme in ("stratified_blocks", "minimization"):
            out["factors"] = list(self.factor_names)
        if self.scheme == "biased_coin":
            out["p"] = self.p
        if self.scheme == "minimization":
            out.update(weights=list(self.weights or ()), p=self.p, imbalance=self.imbalance)
        return out

    def check_strata(self, strata: Mapping[str, object]) -> dict[str, str]:
        """Check a participant's factor values against the design; return them in the design's order.

        Every factor needs one of its allowed levels; an unknown factor is refused.
        """
        if not isinstance(strata, Mapping):
            raise LedgerError(f"strata must be a mapping such as {{'site': 'Odense'}}; got {strata!r}")
        names = list(self.factor_names)
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
