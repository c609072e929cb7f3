"""What the vectorised kernels of the validation study share: a batch's columns as arrays, the screen that
sends a frame back to the reference path, and the chunks.

A kernel computes the frames of a batch that have the same design together (:func:`by_chunks`: the same
number of rows and the same labels in each text column it uses), in chunks (:func:`size_chunks`) whose
largest working arrays take about :data:`ipstrial._memory.CHUNK_BYTES`, so its memory does not grow with
replicates x participants. :class:`Batch` turns one chunk's columns into ``(frames, participants)`` arrays
and keeps, per frame, whether it passed the screen: the checks of the input gate
(:func:`ipstrial._inputs.gate`) that a frame of :func:`ipstrial.synthetic.simulate_trial` always passes
(unique text ids, the study's arm labels and nothing else, every arm present, finite numbers, covariates
that vary). A frame that fails any of them gets ``None`` from the kernel, so that the engine runs the public
estimator on it and records the error that estimator raises, or its result.

A frame's records do not depend on the other frames of its batch, to the bit (the engine promises the same
bits whatever the batch size; tested): every sum runs over one frame's own values in an order fixed by that
frame alone (along its rows, or sequentially along zero-padded rows, where trailing zeros add exactly
nothing), and every matrix product and solve is one frame's.

The arguments of the study's calls come from :mod:`ipstrial.validation._estimators` (``_ARGS``,
``_COVARIATES``, ``_TAU``), so a kernel computes what those calls compute; the tests pin every kernel to
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ipstrial._memory import chunk_size
from ipstrial.validation._estimators import _ARGS

__all__ = [
    "ALPHA",
    "ARM",
    "ARMS",
    "CONTROL",
    "TREATMENTS",
    "Batch",
    "Records",
    "by_chunks",
    "record",
    "size_chunks",
    "total",
]

Records = list[list[dict] | None]
"""What a kernel returns: per frame its records, or None (the engine then runs the public estimator)."""
Factorized = tuple[np.ndarray, tuple[str, ...]] | None
"""A text column of one frame: each row's code into its distinct labels (in order of appearance), and
those labels; None when the column is missing, not text, or has a missing value."""

ARM: str = _ARGS["arm"]
ID: str = _ARGS["id"]
TREATMENTS: tuple[str, ...] = tuple(_ARGS["treatment"])
CONTROL: str = _ARGS["control"]
ARMS: tuple[str, ...] = (*TREATMENTS, CONTROL)
"""The arms of the study's calls in the order their results list them (treatments, then the control)."""
ALPHA = 0.05
"""The level of the study's intervals (every call uses the estimators' default)."""


def size_chunks(positions: Sequence[int], n: int, row_bytes: float) -> Iterator[list[int]]:
    """``positions`` (frames of ``n`` rows) in chunks whose working arrays take about ``CHUNK_BYTES``;
    ``row_bytes`` is what they hold per participant of one frame."""
    step = chunk_size(row_bytes * max(n, 1), len(positions))
    for start in range(0, len(positions), step):
        yield list(positions[start : start + step])


def _factorize(frame: Any, column: str) -> Factorized:
    import pandas as pd

    series = frame[column] if column in frame.columns else None
    if series is None or not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return None
    codes, uniques = pd.factorize(series.to_numpy(dtype=object))
    labels = tuple(uniques.tolist())
    if codes.min(initial=0) < 0 or not all(isinstance(v, str) for v in labels):
        return None
    return codes, labels


def by_chunks(
    frames: Sequence[Any],
    row_bytes: float,
    chunk: Callable[[Batch], Records],
    text: Sequence[str] = (),
) -> Records:
    """A kernel's records for every frame: ``chunk(batch)`` on each chunk of frames with the same design,
    put back in the frames' order; None for every frame that failed the screen (``batch.ok``).

    Frames are grouped by their number of rows and their distinct labels in the arm column and the
    ``text`` columns (frames of one group have the same design columns), then cut by :func:`size_chunks`.
    ``chunk`` runs with floating-point warnings off: the frames the screen refused carry placeholder values
    (zeros) whose arithmetic may divide by zero, and their results are dropped.
    """
    columns = tuple(dict.fromkeys((ARM, *text)))
    factorized = [{c: _factorize(frame, c) for c in columns} for frame in frames]
    groups: dict[tuple, list[int]] = {}
    for i, (frame, found) in enumerate(zip(frames, factorized, strict=True)):
        key = (len(frame), *(None if f is None else tuple(sorted(f[1])) for f in found.values()))
        groups.setdefault(key, []).append(i)
    out: Records = [None] * len(frames)
    for key, members in groups.items():
        for positions in size_chunks(members, key[0], row_bytes):
            batch = Batch([frames[i] for i in positions], [factorized[i] for i in positions])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                rows = chunk(batch)
            for position, ok, records in zip(positions, batch.ok, rows, strict=True):
                out[position] = records if ok else None
    return out


def record(contrast: str, estimate: float, se: float, ci_low: float, ci_high: float, p: float) -> dict:
    """One record of the contract: ``contrast, estimate, se, ci_low, ci_high, p_value`` as floats."""
    return {
        "contrast": contrast,
        "estimate": float(estimate),
        "se": float(se),
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": float(p),
    }


def contrast_records(
    diff: np.ndarray, se: np.ndarray, low: np.ndarray, high: np.ndarray, p: np.ndarray
) -> list[list[dict]]:
    """The records of every frame: row ``b`` of each ``(frames, treatments)`` array, one record per treatment
    against the control (in the order of :data:`TREATMENTS`)."""
    from ipstrial.results import contrast_label

    labels = [contrast_label(t, CONTROL) for t in TREATMENTS]
    return [
        [
            record(label, diff[b, j], se[b, j], low[b, j], high[b, j], p[b, j])
            for j, label in enumerate(labels)
        ]
        for b in range(diff.shape[0])
    ]


def wald_records(diff: np.ndarray, se: np.ndarray) -> list[list[dict]]:
    """:func:`contrast_records` of Wald intervals ``diff ± z se`` and two-sided normal p-values."""
    from ipstrial.stats.normal import p_two_sided, wald_interval

    low, high = wald_interval(diff, se, ALPHA)
    return contrast_records(diff, se, low, high, p_two_sided(diff, se))


def total(values: np.ndarray) -> np.ndarray:
    """Sums along the last axis added one after the other (``cumsum``), so that zeros padding a row add
    exactly nothing, whatever the row's length (a pairwise sum's grouping depends on the length)."""
    return np.cumsum(values, axis=-1)[..., -1]


class Batch:
    """The frames of one chunk (same number of rows) as arrays, and whether each passed the screen.

    Parameters
    ----------
    frames
        The replicate trials (data frames of :func:`ipstrial.synthetic.simulate_trial`).
    factorized
        Per frame, text columns already factorized (``column -> Factorized``), reused.
    """

    def __init__(
        self, frames: Sequence[Any], factorized: Sequence[dict[str, Factorized]] | None = None
    ) -> None:
        from pandas.api.types import infer_dtype

        self.frames = list(frames)
        self.size = len(self.frames)
        self.n = len(self.frames[0]) if self.frames else 0
        self.ok = np.ones(self.size, dtype=bool)
        self._factorized = [dict(f) for f in factorized] if factorized else [{} for _ in self.frames]
        for b, frame in enumerate(self.frames):
            ids = frame[ID].to_numpy() if ID in frame.columns else np.zeros(0)
            # every id a text and unique (the gate names a missing or duplicated id)
            if len(ids) != self.n or infer_dtype(ids, skipna=False) != "string" or len(set(ids)) != self.n:
                self.ok[b] = False

    def numbers(self, column: str) -> np.ndarray:
        """``(frames, n)`` float values of a numeric column; a frame with another type, a missing or an
        infinite value fails the screen (the gate refuses it)."""
        out = np.zeros((self.size, self.n))
        for b, frame in enumerate(self.frames):
            series = frame[column] if column in frame.columns else None
            if series is None or series.dtype.kind not in "iuf":
                self.ok[b] = False
                continue
            values = series.to_numpy(dtype=float)
            if not np.all(np.isfinite(values)):
                self.ok[b] = False
                continue
            out[b] = values
        return out

    def labels(self, column: str, levels: Sequence[str] | None = None) -> tuple[tuple[str, ...], np.ndarray]:
        """A text column as ``(levels, codes)``: ``codes[b, i]`` the position of row ``i``'s label in
        ``levels`` (default: the labels of the chunk, sorted as the dummies of
        :func:`ipstrial._inputs.design_matrix` are; :func:`by_chunks` puts only frames with the same labels
        in a chunk). A frame with a label outside ``levels``, a missing label, a non-text column or without
        one of the levels fails the screen."""
        found = []
        for b, frame in enumerate(self.frames):
            if column not in self._factorized[b]:
                self._factorized[b][column] = _factorize(frame, column)
            found.append(self._factorized[b][column])
        if levels is None:
            levels = sorted({v for f in found if f is not None for v in f[1]})
        levels = tuple(levels)
        position = {level: i for i, level in enumerate(levels)}
        out = np.zeros((self.size, self.n), dtype=np.int64)
        for b, f in enumerate(found):
            # every level present, no other label
            if f is None or len(f[1]) != len(levels) or not all(v in position for v in f[1]):
                self.ok[b] = False
                continue
            out[b] = np.array([position[v] for v in f[1]])[f[0]]
        return levels, out

    def arms(self, arms: Sequence[str] = ARMS) -> np.ndarray:
        """``(frames, n)`` arm codes, positions in ``arms``: a frame with another label, or without
        participants in one of the arms, fails the screen (the gate would name the label or the arm)."""
        return self.labels(ARM, tuple(arms))[1]

    def numeric(self, column: str) -> bool:
        """Whether a column enters a design as a number (numeric dtype), as in ``design_matrix``."""
        return (
            bool(self.frames)
            and column in self.frames[0].columns
            and self.frames[0][column].dtype.kind in "iuf"
        )

    def design(self, covariates: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The covariate columns of :func:`ipstrial._inputs.design_matrix`: numbers as they are, text as
        0/1 dummies of every level but the first sorted one; ``(names, (frames, n, columns))``.

        A frame whose covariate does not vary, or misses a level that other frames of the chunk have (its
        design would have other columns), fails the screen.
        """
        names: list[str] = []
        parts: list[np.ndarray] = []
        for column in covariates:
            if self.numeric(column):
                values = self.numbers(column)
                self.ok &= ~np.all(values == values[:, :1], axis=1)
                names.append(column)
                parts.append(values[:, :, None])
            else:
                levels, codes = self.labels(column)
                self.ok &= len(levels) >= 2
                names += [f"{column}:{level}" for level in levels[1:]]
                parts.append((codes[:, :, None] == np.arange(1, len(levels))).astype(float))
        if not parts:
            return names, np.zeros((self.size, self.n, 0))
        return names, np.concatenate(parts, axis=2)

    def strata(self, columns: Sequence[str]) -> tuple[np.ndarray, int]:
        """``(frames, n)`` codes of the joint levels of ``columns`` (the partition of
        :meth:`ipstrial._inputs.Sample.strata_codes`; the order of the codes does not matter to the
        kernels) and the number of codes; a numeric column is coded by each frame's own values."""
        joint = np.zeros((self.size, self.n), dtype=np.int64)
        radix = np.ones(self.size, dtype=np.int64)
        for column in columns:
            if self.numeric(column):
                values = self.numbers(column)
                codes = np.empty_like(joint)
                count = np.empty(self.size, dtype=np.int64)
                for b in range(self.size):
                    levels, codes[b] = np.unique(values[b], return_inverse=True)
                    count[b] = levels.size
            else:
                labels, codes = self.labels(column)
                count = np.full(self.size, len(labels))
            joint = joint * count[:, None] + codes
            radix *= count
        return joint, int(radix.max(initial=1))
