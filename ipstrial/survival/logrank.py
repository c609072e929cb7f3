"""Log-rank tests of the time to first employment: K-sample, stratified, weighted, and by permutation.

* :func:`logrank` -- the K-sample log-rank test as R's ``survdiff``: the observed-minus-expected
  vector and its hypergeometric variance matrix, summed over strata when ``strata`` are given, and
  Fleming-Harrington ``G(p, q)`` weights ``w(t) = S(t-)^p (1 - S(t-))^q``;
* :func:`logrank_permutation` -- the randomisation distribution of the two-sample log-rank
  statistic, permuting arm labels (within strata when given), all permutations at once in numpy.

Competing events (codes other than 0 and ``cause``) are censored at their times in both tests: the
tests compare the cause-specific hazards of event ``cause`` (the result says so). Gray's test of the
cumulative incidence is the alternative when competing events matter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._random import SeedLike, seed_sequence, streams
from ipstrial.errors import EstimationError
from ipstrial.results import Result, Row, contrast_label
from ipstrial.survival._inputs import SurvivalData, check_cause, prepare_survival

__all__ = [
    "LogrankPermutationResult",
    "LogrankResult",
    "logrank",
    "logrank_permutation",
]

_BLOCK_CELLS = 1 << 20
"""Permutations are processed in blocks of about this many participant-permutation cells (a 1 MB
int8 indicator matrix and an 4 MB int32 cumulative sum), which bounds the memory at any ``n``."""

_TIE_TOLERANCE = 1e-9
"""Permuted statistics within this relative distance of the observed one count as ties (``>=``)."""


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _check_weights(weights: object) -> tuple[float, float]:
    """``None`` / ``"logrank"`` -> (0, 0); ``("fh", p, q)`` -> (p, q) with p, q >= 0."""
    if weights is None or weights == "logrank":
        return 0.0, 0.0
    ok = (
        isinstance(weights, tuple | list)
        and len(weights) == 3
        and weights[0] == "fh"
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in weights[1:])
    )
    if not ok or not all(math.isfinite(float(v)) and float(v) >= 0 for v in weights[1:]):  # type: ignore[index]
        raise ValueError(
            "weights must be None (log-rank) or ('fh', p, q) with p, q >= 0 (Fleming-Harrington), "
            f"got {weights!r}"
        )
    return float(weights[1]), float(weights[2])  # type: ignore[index]


def _weights_label(p: float, q: float) -> str:
    if p == 0 and q == 0:
        return "log-rank"
    if q == 0 and p == 1:
        return "Fleming-Harrington G(1, 0) (Peto-Peto / Prentice-Wilcoxon type, R survdiff rho = 1)"
    return f"Fleming-Harrington G({p:g}, {q:g})"


def _strata_codes(sd: SurvivalData) -> tuple[np.ndarray, int]:
    if sd.strata is None:
        return np.zeros(sd.time.size, dtype=np.int64), 1
    _, codes = np.unique(sd.strata, return_inverse=True)
    return codes.astype(np.int64), int(codes.max()) + 1


def _competing_note(sd: SurvivalData, cause: int, count: int) -> str:
    others = [c for c in sd.event_codes if c not in (0, cause)]
    codes = ", ".join(str(c) for c in others) or "none declared"
    return (
        f"competing events (codes {codes}) are censored: {count} participant(s) in the arms compared; the "
        f"test compares the cause-specific hazards of event {cause}, not the cumulative incidence "
        "(Gray's test does that)"
    )


def _observed_expected(
    time: np.ndarray,
    status: np.ndarray,
    group: np.ndarray,
    k: int,
    p: float = 0.0,
    q: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted O, E (length ``k``), the variance matrix of O - E (``k x k``) and raw events, one stratum.

    At each distinct event time ``t`` with ``n`` at risk, ``d`` events, ``n_g`` at risk and ``d_g``
    events in group ``g``: ``O_g += w d_g``, ``E_g += w d n_g / n``, ``V_gh += w^2 d (n - d) / (n - 1)
    (n_g / n) (delta_gh - n_h / n)`` (the hypergeometric variance; Mantel 1966; Peto & Peto 1972);
    ``w = S(t-)^p (1 - S(t-))^q`` with ``S`` the Kaplan-Meier of the pooled stratum (Harrington &
    Fleming 1982, Biometrika 69:553-566, eq. 2.1 with rho = p; Fleming & Harrington 1991, sec. 7.3).
    """
    t, inv = np.unique(time, return_inverse=True)
    m = t.size
    cell = inv * k + group
    total = np.bincount(cell, minlength=m * k).reshape(m, k).astype(float)
    dk = np.bincount(cell, weights=status.astype(float), minlength=m * k).reshape(m, k)
    nk = total[::-1].cumsum(axis=0)[::-1]
    n = nk.sum(axis=1)
    d = dk.sum(axis=1)
    after = np.cumprod((n - d) / n)
    before = np.concatenate([[1.0], after[:-1]])
    w = before**p * (1.0 - before) ** q
    keep = d > 0
    w, n, d, nk, dk = w[keep], n[keep], d[keep], nk[keep], dk[keep]
    share = nk / n[:, None]
    observed = w @ dk
    expected = (w * d) @ share
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, w**2 * d * (n - d) / (n - 1), 0.0)
    variance = np.diag(f @ share) - (share * f[:, None]).T @ share
    return observed, expected, variance, dk.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# logrank
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LogrankResult(Result):
    """K-sample (weighted, stratified) log-rank test.

    ``observed`` and ``expected`` are the (weighted) sums over strata per arm in the order of
    ``groups`` (R's ``rowSums(survdiff(...)$obs)`` and ``$exp``); ``variance`` the matrix of
    ``O - E`` (R's ``$var``); ``events`` the unweighted counts of events of interest; ``n`` the
    participants per arm.
    """

    duration: str
    event_column: str
    cause: int
    groups: tuple[str, ...]
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    events: np.ndarray
    n: np.ndarray
    statistic: float
    df: int
    p_value: float
    weights: tuple[float, float] = (0.0, 0.0)
    strata: tuple[str, ...] = ()
    n_strata: int = 1
    unit: str = "days"
    analysis: str = "survival_logrank"
    notes: tuple[str, ...] = ()

    @property
    def contrast(self) -> str:
        if len(self.groups) == 2:
            return contrast_label(self.groups[0], self.groups[1])
        return " vs ".join(self.groups)

    @property
    def title(self) -> str:
        return f"{_weights_label(*self.weights)} test: {self.duration}, {self.contrast}"

    def rows(self) -> tuple[Row, ...]:
        method = f"{_weights_label(*self.weights)} test, chi-square with {self.df} df (as R survdiff)"
        if self.strata:
            method += f", stratified by {', '.join(self.strata)} ({self.n_strata} strata)"
        extra: dict[str, object] = {"df": self.df, "unit": self.unit, "note": "; ".join(self.notes)}
        for g, o, e, ev in zip(self.groups, self.observed, self.expected, self.events, strict=True):
            extra[f"observed_{g}"] = float(o)
            extra[f"expected_{g}"] = float(e)
            extra[f"events_{g}"] = int(ev)
        extra["weights"] = f"fh({self.weights[0]:g}, {self.weights[1]:g})"
        return (
            Row(
                self.analysis,
                self.contrast,
                "logrank",
                self.statistic,
                p_value=self.p_value,
                method=method,
                n=int(self.n.sum()),
                outcome=self.duration,
                extra=extra,
            ),
        )


def _chi_square(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray) -> tuple[float, int]:
    """``(O - E)' V^- (O - E)`` over the groups with ``E > 0``, the first of them dropped (as survdiff)."""
    used = np.flatnonzero(expected > 0)
    if used.size < 2:
        raise EstimationError(
            "fewer than two arms have anyone at risk at an event time (expected events > 0): no log-rank "
            "test is defined; check the arms and the event codes"
        )
    u = (observed - expected)[used][1:]
    v = variance[np.ix_(used, used)][1:, 1:]
    try:
        statistic = float(u @ np.linalg.solve(v, u))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the variance matrix of observed minus expected events is singular (e.g. one event time "
            "only, or arms never at risk together): no log-rank test is defined"
        ) from exc
    return statistic, int(used.size - 1)


def logrank(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    arms: Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    weights: tuple[str, float, float] | str | None = None,
    cause: int = 1,
    *,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    unit: str = "days",
    id: str | None = "participant_id",
    event_codes: Sequence[int] = (0, 1, 2),
) -> LogrankResult:
    """K-sample log-rank test of the time to event ``cause`` (stratified, weighted), as R's ``survdiff``.

    Within each stratum and at each distinct time ``t`` with events, with ``n`` at risk and ``d``
    events of interest overall and ``n_g``, ``d_g`` in arm ``g``:
    ``O_g - E_g = sum_t w(t) (d_g - d n_g / n)`` and
    ``V_gh = sum_t w(t)^2 d (n - d) / (n - 1) (n_g / n) (delta_gh - n_h / n)`` (Mantel 1966; Peto &
    Peto 1972; Kalbfleisch & Prentice 2002, eq. 7.4). Stratified: ``O - E`` and ``V`` are summed over
    strata (Kalbfleisch & Prentice 2002, sec. 7.2.3). The statistic is ``(O - E)' V^- (O - E)``
    computed on all arms but the first (arms with ``E = 0`` left out, as survdiff), chi-square with
    ``K - 1`` df.

    ``weights=None`` is the log-rank test (``w = 1``); ``weights=("fh", p, q)`` the
    Fleming-Harrington ``G(p, q)`` test with ``w(t) = S(t-)^p (1 - S(t-))^q``, ``S`` the Kaplan-Meier
    of the pooled arms within the stratum, left-continuous (Harrington & Fleming 1982; Fleming &
    Harrington 1991, eq. 7.3.2). ``("fh", 1, 0)`` is R's ``survdiff(rho = 1)`` (Peto-Peto); ``q > 0``
    emphasises late differences. With weights, ``observed`` and ``expected`` are weighted sums, as
    in survdiff.

    Competing events (codes other than 0 and ``cause``) are censored (said in the row's ``note``).
    Choose arms with ``arms=`` (default: all, in order of appearance) or ``treatment=``/``control=``.

    Raises
    ------
    TrialDataError
        Bad input (from :func:`~ipstrial.survival._inputs.prepare_survival`), or a single arm.
    EstimationError
        No events of interest, or fewer than two arms at risk at an event time.
    """
    cause = check_cause(cause, event_codes)
    p, q = _check_weights(weights)
    from scipy import stats

    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment=treatment,
        control=control,
        arms=arms,
        strata=strata,
        event_codes=event_codes,
        min_groups=2,
        unit=unit,
        id=id,
    )
    status = sd.event == cause
    if not status.any():
        raise EstimationError(
            f"no events with code {cause} in column {event!r} among arms {list(sd.groups)}: the log-rank "
            "test is undefined"
        )
    k = len(sd.groups)
    group = pd.Categorical(sd.arms, categories=list(sd.groups)).codes.astype(np.int64)
    codes, n_strata = _strata_codes(sd)
    observed, expected = np.zeros(k), np.zeros(k)
    variance, events = np.zeros((k, k)), np.zeros(k)
    for s in range(n_strata):
        rows = codes == s
        o, e, v, ev = _observed_expected(sd.time[rows], status[rows], group[rows], k, p, q)
        observed += o
        expected += e
        variance += v
        events += ev
    statistic, df = _chi_square(observed, expected, variance)
    competing = int(((sd.event != 0) & ~status).sum())
    strata_cols = () if strata is None else ((strata,) if isinstance(strata, str) else tuple(strata))
    return LogrankResult(
        duration,
        event,
        cause,
        sd.groups,
        observed,
        expected,
        variance,
        events.astype(np.int64),
        np.array([int(np.sum(sd.arms == g)) for g in sd.groups]),
        statistic,
        df,
        float(stats.chi2.sf(statistic, df)),
        (p, q),
        strata_cols,
        n_strata,
        unit,
        notes=(_competing_note(sd, cause, competing),),
    )


# ---------------------------------------------------------------------------------------------
# logrank_permutation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _PermutationDesign:
    """The fixed part of the two-sample log-rank statistic under permutation of the arm labels.

    Participants are sorted by (stratum, time). For the ``J`` distinct (stratum, event time) pairs,
    ``start``/``end`` are the positions of the first and one past the last participant with that
    time in that stratum, ``stop`` one past the last participant of the stratum; ``d`` and ``n``
    the events and the number at risk of both arms pooled (invariant under permutation).
    """

    order: np.ndarray
    status: np.ndarray
    start: np.ndarray
    end: np.ndarray
    stop: np.ndarray
    segments: tuple[tuple[int, int], ...]
    d_over_n: np.ndarray
    v: np.ndarray
    n: np.ndarray


def _design(time: np.ndarray, status: np.ndarray, strata: np.ndarray) -> _PermutationDesign:
    order = np.lexsort((time, strata))
    t, s, e = time[order], strata[order], status[order]
    size = t.size
    new = np.ones(size, dtype=bool)
    new[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], size)
    seg_start = np.flatnonzero(np.append(True, s[1:] != s[:-1]))
    seg_end = np.append(seg_start[1:], size)
    stop_of_row = np.repeat(seg_end, seg_end - seg_start)
    cum = np.concatenate([[0], np.cumsum(e)])
    d = (cum[ends] - cum[starts]).astype(float)
    keep = d > 0
    start, end, d = starts[keep], ends[keep], d[keep]
    stop = stop_of_row[start]
    n = (stop - start).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, d * (n - d) / ((n - 1) * n * n), 0.0)
    return _PermutationDesign(
        order,
        e.astype(np.int32),
        start,
        end,
        stop,
        tuple((int(a), int(b)) for a, b in zip(seg_start, seg_end, strict=True)),
        d / n,
        v,
        n,
    )


def _statistics(design: _PermutationDesign, x: np.ndarray) -> np.ndarray:
    """Two-sample (stratified) log-rank chi-square of every row of ``x`` (0/1, sorted order).

    With ``C`` the cumulative sums of the treatment indicators along the sorted participants,
    ``n1_j = C[stop_j] - C[start_j]`` (treated at risk), ``d1_j = Ce[end_j] - Ce[start_j]`` (treated
    events); ``U = sum_j (d1_j - n1_j d_j / n_j)``, ``V = sum_j d_j (n_j - d_j) / (n_j - 1) n1_j (n_j
    - n1_j) / n_j^2`` and the statistic ``U^2 / V`` (0 where ``V = 0``, then ``U = 0`` too).
    """
    b = x.shape[0]
    c = np.zeros((b, x.shape[1] + 1), dtype=np.int32)
    np.cumsum(x, axis=1, dtype=np.int32, out=c[:, 1:])
    n1 = (c[:, design.stop] - c[:, design.start]).astype(float)
    ce = np.zeros_like(c)
    np.cumsum(x * design.status, axis=1, dtype=np.int32, out=ce[:, 1:])
    d1 = (ce[:, design.end] - ce[:, design.start]).astype(float)
    u = d1.sum(axis=1) - n1 @ design.d_over_n
    var = (n1 * (design.n - n1)) @ design.v
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, u * u / var, 0.0)


def _permutation_blocks(
    rng: np.random.Generator, base: np.ndarray, segments: tuple[tuple[int, int], ...], n_perm: int
) -> Iterator[tuple[slice, np.ndarray]]:
    """Blocks of permuted copies of ``base`` (shuffled within each segment), ``(rows, block)``."""
    size = base.size
    step = max(1, _BLOCK_CELLS // size)
    for first in range(0, n_perm, step):
        rows = min(step, n_perm - first)
        block = np.broadcast_to(base, (rows, size))
        if len(segments) == 1:
            block = rng.permuted(block, axis=1)
        else:
            block = block.copy()
            for a, z in segments:
                block[:, a:z] = rng.permuted(block[:, a:z], axis=1)
        yield slice(first, first + rows), block


@dataclass(frozen=True, eq=False)
class LogrankPermutationResult(Result):
    """Permutation (randomisation) log-rank test of two arms.

    ``statistic`` is the observed log-rank chi-square (stratified when ``strata`` are given),
    ``statistics`` the ``n_perm`` permuted values in the order drawn, ``p_value`` the permutation
    p-value ``(1 + #{X²_b >= X²_obs}) / (n_perm + 1)`` with Monte Carlo standard error ``mc_se``,
    ``p_asymptotic`` the chi-square (1 df) p-value. With ``keep_assignments=True``, ``assignments``
    holds the permuted arm indicators (``True`` = treatment), shape ``(n_perm, n)``, participants in
    data order.
    """

    duration: str
    event_column: str
    cause: int
    treatment: str
    control: str
    statistic: float
    p_asymptotic: float
    p_value: float
    mc_se: float
    statistics: np.ndarray
    n_perm: int
    n: int
    strata: tuple[str, ...] = ()
    n_strata: int = 1
    seed_entropy: int | None = None
    assignments: np.ndarray | None = None
    unit: str = "days"
    analysis: str = "survival_logrank_permutation"
    notes: tuple[str, ...] = ()

    @property
    def contrast(self) -> str:
        return contrast_label(self.treatment, self.control)

    @property
    def title(self) -> str:
        return f"Permutation log-rank test: {self.duration}, {self.contrast}"

    def rows(self) -> tuple[Row, ...]:
        where = f" within {self.n_strata} strata of {', '.join(self.strata)}" if self.strata else ""
        kind = "stratified log-rank" if self.strata else "log-rank"
        extra: dict[str, object] = {
            "n_permutations": self.n_perm,
            "p_mc_se": self.mc_se,
            "p_asymptotic": self.p_asymptotic,
            "unit": self.unit,
            "note": "; ".join(self.notes),
        }
        if self.seed_entropy is not None:
            extra["seed_entropy"] = str(self.seed_entropy)
        return (
            Row(
                self.analysis,
                self.contrast,
                "logrank",
                self.statistic,
                p_value=self.p_value,
                method=(
                    f"permutation test of the {kind} chi-square, {self.n_perm} random permutations of the "
                    f"arm labels{where}; p = (1 + #{{X2 >= observed}}) / (n + 1)"
                ),
                n=self.n,
                outcome=self.duration,
                extra=extra,
            ),
        )


def logrank_permutation(
    data: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    treatment: str,
    control: str,
    n: int = 10_000,
    seed: SeedLike = None,
    strata: str | Sequence[str] | None = None,
    cause: int = 1,
    *,
    keep_assignments: bool = False,
    unit: str = "days",
    id: str | None = "participant_id",
    event_codes: Sequence[int] = (0, 1, 2),
) -> LogrankPermutationResult:
    """Permutation log-rank test of ``treatment`` vs ``control``: the randomisation distribution.

    The two-sample log-rank statistic ``X² = U² / V`` with ``U = sum_j (d1_j - d_j n1_j / n_j)`` and
    ``V = sum_j d_j (n_j - d_j) / (n_j - 1) (n1_j / n_j) (1 - n1_j / n_j)`` over the distinct event
    times (summed over strata: the stratified log-rank statistic when ``strata`` are given) is
    recomputed for ``n`` random permutations of the arm labels (within strata when given, as the
    randomisation was stratified), and ``p = (1 + #{X²_b >= X²_obs}) / (n + 1)`` (Phipson & Smyth
    2010, Stat Appl Genet Mol Biol 9:39, eq. 2; ties within a relative 1e-9 count), with Monte Carlo
    standard error ``sqrt(p (1 - p) / n)``. Under the null hypothesis that arm does not change
    anyone's time to event, the test is exact whatever the censoring pattern or ties (Edgington &
    Onghena 2007, ch. 3).

    Computation: the participants are sorted by (stratum, time) once; the pooled risk sets ``n_j``,
    ``d_j`` do not change under permutation, so for a block of permutations the numbers of treated
    at risk and treated events at every event time come from cumulative sums along a
    ``(block × n)`` 0/1 matrix of permuted arm indicators, and ``U`` and ``V`` from two matrix
    products: all permutations at once, in blocks of about 2**20 cells to bound memory. The
    permutations are drawn with ``Generator.permuted`` from ``seed`` (same seed, same bits).

    Competing events are censored (say so in the row's ``note``).

    Raises
    ------
    TrialDataError
        Bad input (from :func:`~ipstrial.survival._inputs.prepare_survival`).
    EstimationError
        No events of interest in the two arms.
    """
    if not isinstance(treatment, str):
        raise TypeError("logrank_permutation compares two arms: give one treatment label (a str)")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    n_perm = int(n)
    cause = check_cause(cause, event_codes)
    from scipy import stats

    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment=treatment,
        control=control,
        strata=strata,
        event_codes=event_codes,
        min_groups=2,
        unit=unit,
        id=id,
    )
    status = sd.event == cause
    if not status.any():
        raise EstimationError(
            f"no events with code {cause} in column {event!r} among arms {[treatment, control]}: the "
            "log-rank test is undefined"
        )
    codes, n_strata = _strata_codes(sd)
    design = _design(sd.time, status, codes)
    base = (sd.arms == treatment).astype(np.int8)[design.order]
    observed = float(_statistics(design, base[None, :])[0])

    if isinstance(seed, np.random.Generator):
        rng, entropy = seed, None
    else:
        sequence = seed_sequence(seed)
        rng = streams(sequence, 1)[0]
        entropy = int(sequence.entropy) if isinstance(sequence.entropy, numbers.Integral) else None
    values = np.empty(n_perm)
    assignments = np.empty((n_perm, base.size), dtype=bool) if keep_assignments else None
    for rows, block in _permutation_blocks(rng, base, design.segments, n_perm):
        values[rows] = _statistics(design, block)
        if assignments is not None:
            assignments[rows][:, design.order] = block.astype(bool)
    exceed = int(np.sum(values >= observed - _TIE_TOLERANCE * max(1.0, observed)))
    p_value = (1 + exceed) / (n_perm + 1)
    mc_se = math.sqrt(p_value * (1 - p_value) / n_perm)
    competing = int(((sd.event != 0) & ~status).sum())
    strata_cols = () if strata is None else ((strata,) if isinstance(strata, str) else tuple(strata))
    return LogrankPermutationResult(
        duration,
        event,
        cause,
        treatment,
        control,
        observed,
        float(stats.chi2.sf(observed, 1)),
        p_value,
        mc_se,
        values,
        n_perm,
        int(sd.time.size),
        strata_cols,
        n_strata,
        entropy,
        assignments,
        unit,
        notes=(_competing_note(sd, cause, competing),),
    )
