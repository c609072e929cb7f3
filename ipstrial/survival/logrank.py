"""Log-rank tests of the time to first employment: K-sample, stratified, weighted, and by permutation.

* :func:`logrank` -- the K-sample log-rank test as R's ``survdiff``: the observed-minus-expected
  vector and its hypergeometric variance matrix, summed over strata when ``strata`` are given, and
  Fleming-Harrington ``G(p, q)`` weights ``w(t) = S(t-)^p (1 - S(t-))^q``;
* :func:`logrank_permutation` -- the randomisation distribution of the two-sample log-rank
  statistic, permuting arm labels (within strata when given) with the package's one permutation
  generator (:func:`ipstrial.resampling.permutation_chunks`), all permutations of a chunk at once.

Competing events (codes other than 0 and ``cause``) are censored at their times in both tests: the
tests compare the cause-specific hazards of event ``cause`` (the result says so). Gray's test of the
cumulative incidence is the alternative when competing events matter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._checks import check_analysis, check_count, check_flag
from ipstrial._columns import plural
from ipstrial._docs import shared_params
from ipstrial._memory import CHUNK_BYTES, check_memory, format_bytes
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import EstimationError, ParameterError
from ipstrial.resampling import permutation_chunks
from ipstrial.results import Result, contrast_label
from ipstrial.survival._inputs import (
    SurvivalData,
    arm_codes,
    arms_label,
    competing_censored_note,
    prepare_survival,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ipstrial.results import Row
    from ipstrial.trial import Trial

__all__ = [
    "LogrankPermutationResult",
    "LogrankResult",
    "logrank",
    "logrank_permutation",
]

_TIE_TOLERANCE = 1e-9
"""Permuted statistics within this relative distance of the observed one count as ties (``>=``)."""


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _check_weights(weights: object) -> tuple[float, float]:
    """``None`` / ``"logrank"`` -> (0, 0); ``("fh", p, q)`` -> (p, q) with p, q >= 0."""
    if weights is None or (isinstance(weights, str) and weights == "logrank"):
        return 0.0, 0.0
    ok = (
        isinstance(weights, tuple | list)
        and len(weights) == 3
        and weights[0] == "fh"
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in weights[1:])
    )
    if not ok or not all(math.isfinite(float(v)) and float(v) >= 0 for v in weights[1:]):  # type: ignore[index]
        raise ParameterError(
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


def _competing_note(sd: SurvivalData) -> str:
    return competing_censored_note(
        sd,
        "the arms compared",
        f"the test compares the cause-specific hazards of event {sd.cause}, not the cumulative incidence "
        "(Gray's test does that)",
    )


def _no_events(sd: SurvivalData, arms: Sequence[str]) -> EstimationError:
    return EstimationError(
        f"no events with code {sd.cause} in column {sd.event_column!r} among arms {list(arms)}: the "
        "log-rank test is undefined"
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
    participants per arm. ``control`` is the control arm when there is one (it is listed last in the
    contrast); the statistic does not depend on it.
    """

    outcome: str
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
    control: str | None = None
    strata: tuple[str, ...] = ()
    n_strata: int = 1
    unit: str = "days"
    analysis: str = "survival_logrank"
    notes: tuple[str, ...] = ()

    @property
    def contrast(self) -> str:
        return arms_label(self.groups, self.control)

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        return f"{_weights_label(*self.weights)} test: {display_label(self.outcome)}, {self.contrast}"

    def rows(self) -> tuple[Row, ...]:
        method = f"{_weights_label(*self.weights)} test, chi-square with {self.df} df (as R survdiff)"
        if self.strata:
            method += (
                f", stratified by {', '.join(self.strata)} ({plural(self.n_strata, 'stratum', 'strata')})"
            )
        extra: dict[str, object] = {"df": self.df, "unit": self.unit, "note": "; ".join(self.notes)}
        for g, o, e, ev in zip(self.groups, self.observed, self.expected, self.events, strict=True):
            extra[f"observed_{g}"] = float(o)
            extra[f"expected_{g}"] = float(e)
            extra[f"events_{g}"] = int(ev)
        extra["weights"] = f"fh({self.weights[0]:g}, {self.weights[1]:g})"
        return (
            self._row(
                self.contrast,
                "logrank",
                self.statistic,
                p_value=self.p_value,
                method=method,
                n=int(self.n.sum()),
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


@shared_params
def logrank(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    strata: str | Sequence[str] | None = None,
    weights: tuple[str, float, float] | str | None = None,
    cause: int = 1,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_logrank",
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

    Parameters
    ----------
    @params data duration arms strata
    weights
        ``None`` or ``("fh", p, q)``.
    @params cause event_codes unit timefix id analysis

    Competing events (codes other than 0 and ``cause``) are censored (said in the row's ``note``).

    Raises
    ------
    TrialDataError
        Bad input (from :func:`~ipstrial.survival._inputs.prepare_survival`), or a single arm.
    EstimationError
        No events of interest, or fewer than two arms at risk at an event time.
    """
    p, q = _check_weights(weights)
    analysis = check_analysis(analysis)
    from scipy import stats

    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment,
        control,
        id=id,
        cause=cause,
        event_codes=event_codes,
        strata=strata,
        need_control=False,
        min_arms=2,
        unit=unit,
        timefix=timefix,
    )
    status = sd.status
    if not status.any():
        raise _no_events(sd, sd.groups)
    k = len(sd.groups)
    group = arm_codes(sd)
    codes, n_strata = sd.strata_codes()
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
    return LogrankResult(
        outcome=sd.duration,
        event_column=sd.event_column,
        cause=sd.cause,
        groups=sd.groups,
        observed=observed,
        expected=expected,
        variance=variance,
        events=events.astype(np.int64),
        n=np.array([sd.n_by_arm[g] for g in sd.groups]),
        statistic=statistic,
        df=df,
        p_value=float(stats.chi2.sf(statistic, df)),
        weights=(p, q),
        control=sd.control,
        strata=sd.strata_columns,
        n_strata=n_strata,
        unit=sd.unit,
        analysis=analysis,
        notes=(_competing_note(sd), *sd.notes),
        inputs=sd.inputs,
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
    strata: np.ndarray
    start: np.ndarray
    end: np.ndarray
    stop: np.ndarray
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
    return _PermutationDesign(order, e.astype(np.int32), s, start, end, stop, d / n, v, n)


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


@dataclass(frozen=True, eq=False)
class LogrankPermutationResult(Result):
    """Permutation (randomisation) log-rank test of each treatment arm against the control.

    One two-sample test per treatment (in treatment order), each permuting the arm labels of that
    treatment's and the control's participants only. ``statistic`` holds the observed log-rank
    chi-square of each contrast (stratified when ``strata`` are given), ``statistics`` the
    ``n_resamples`` permuted values of each, shape ``(n_resamples, k)``, in the order drawn, ``p_value``
    the permutation p-values ``(1 + #{X²_b >= X²_obs}) / (n_resamples + 1)`` with Monte Carlo standard
    errors ``mc_se``, ``p_asymptotic`` the chi-square (1 df) p-values, ``n`` the participants of each
    contrast. With ``keep_assignments=True`` (one treatment), ``assignments`` holds the permuted arm
    indicators (``True`` = treatment), shape ``(n_resamples, n)``, participants in the order of the
    analysed rows (the data's order, rows of other arms left out). ``seed_entropy`` regenerates the
    permutations (``seed=seed_entropy``).
    """

    outcome: str
    event_column: str
    cause: int
    treatments: tuple[str, ...]
    control: str
    statistic: np.ndarray
    p_asymptotic: np.ndarray
    p_value: np.ndarray
    mc_se: np.ndarray
    statistics: np.ndarray
    n_resamples: int
    n: np.ndarray
    strata: tuple[str, ...] = ()
    n_strata: int = 1
    seed_entropy: int | None = None
    assignments: np.ndarray | None = None
    unit: str = "days"
    analysis: str = "survival_logrank_permutation"
    notes: tuple[str, ...] = ()

    @property
    def contrasts(self) -> tuple[str, ...]:
        """``"IPS vs SAU"`` for each treatment, in order."""
        return tuple(contrast_label(t, self.control) for t in self.treatments)

    @property
    def title(self) -> str:
        from ipstrial.results import display_label

        return f"Permutation log-rank test: {display_label(self.outcome)}, {', '.join(self.contrasts)}"

    def rows(self) -> tuple[Row, ...]:
        where = (
            f" within {plural(self.n_strata, 'stratum', 'strata')} of {', '.join(self.strata)}"
            if self.strata
            else ""
        )
        kind = "stratified log-rank" if self.strata else "log-rank"
        method = (
            f"permutation test of the {kind} chi-square, {self.n_resamples} random permutations of the arm "
            f"labels of the two arms{where}; p = (1 + #{{X2 >= observed}}) / (n + 1)"
        )
        out = []
        for j, label in enumerate(self.contrasts):
            extra: dict[str, object] = {
                "n_resamples": self.n_resamples,
                "p_mc_se": float(self.mc_se[j]),
                "p_asymptotic": float(self.p_asymptotic[j]),
                "unit": self.unit,
                "note": "; ".join(self.notes),
            }
            if self.seed_entropy is not None:
                extra["seed_entropy"] = str(self.seed_entropy)
            out.append(
                self._row(
                    label,
                    "logrank",
                    float(self.statistic[j]),
                    p_value=float(self.p_value[j]),
                    method=method,
                    n=int(self.n[j]),
                    extra=extra,
                )
            )
        return tuple(out)


@shared_params
def logrank_permutation(
    data: pd.DataFrame | Trial,
    duration: str,
    event: str | None = None,
    arm: str | None = None,
    treatment: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    n_resamples: int = 10_000,
    seed: SeedLike = None,
    strata: str | Sequence[str] | None = None,
    cause: int = 1,
    keep_assignments: bool = False,
    event_codes: Sequence[int] | None = None,
    unit: str = "days",
    timefix: bool = True,
    id: str | None = None,
    analysis: str = "survival_logrank_permutation",
) -> LogrankPermutationResult:
    """Permutation log-rank test of each treatment vs the control: the randomisation distribution.

    For each treatment arm, the two-sample log-rank statistic ``X² = U² / V`` with ``U = sum_j (d1_j -
    d_j n1_j / n_j)`` and ``V = sum_j d_j (n_j - d_j) / (n_j - 1) (n1_j / n_j) (1 - n1_j / n_j)`` over the
    distinct event times of the treatment's and the control's participants (summed over strata: the
    stratified log-rank statistic when ``strata`` are given) is recomputed for ``n_resamples`` random
    permutations of their arm labels (within strata when given, as the randomisation was stratified),
    and ``p = (1 + #{X²_b >= X²_obs}) / (n_resamples + 1)`` (Phipson & Smyth 2010, Stat Appl Genet Mol
    Biol 9:39, eq. 2; ties within a relative 1e-9 count), with Monte Carlo standard error
    ``sqrt(p (1 - p) / n_resamples)``. Under the null hypothesis that arm does not change anyone's time
    to event, the test is exact whatever the censoring pattern or ties (Edgington & Onghena 2007, ch. 3).

    Computation: the participants are sorted by (stratum, time) once; the pooled risk sets ``n_j``,
    ``d_j`` do not change under permutation, so for a chunk of permutations the numbers of treated
    at risk and treated events at every event time come from cumulative sums along a
    ``(chunk × n)`` 0/1 matrix of permuted arm indicators, and ``U`` and ``V`` from two matrix
    products. The permutations come from :func:`ipstrial.resampling.permutation_chunks` (within the
    strata via ``groups=``; chunks whose int32 cumulative sums take :data:`ipstrial._memory.CHUNK_BYTES`,
    which keeps them in cache), from one stream per contrast spawned once from ``seed`` (same seed, same
    bits; ``seed_entropy`` records it). What the result keeps (the ``n_resamples x k`` statistics, and
    with ``keep_assignments=True`` an ``n_resamples x n`` boolean matrix) is checked against the memory
    budget before anything is allocated.

    Parameters
    ----------
    @params data duration arm
    n_resamples
        Number of random permutations (>= 1).
    @params seed
    strata
        Column(s) within which the labels are permuted (the randomisation strata).
    @params cause
    keep_assignments
        Keep the permuted assignments (one treatment only: each contrast permutes other rows).
    @params event_codes unit timefix id analysis

    Competing events are censored (said in the row's ``note``).

    Raises
    ------
    TrialDataError
        Bad input (from :func:`~ipstrial.survival._inputs.prepare_survival`).
    ParameterError
        ``keep_assignments=True`` with several treatments, or bad options.
    EstimationError
        No events of interest in a compared pair of arms.
    MemoryBudgetError
        The kept statistics (and assignments) would exceed the memory budget.
    """
    n_resamples = check_count(n_resamples, "n_resamples")
    analysis = check_analysis(analysis)
    keep_assignments = check_flag(keep_assignments, "keep_assignments")
    from scipy import stats

    sd = prepare_survival(
        data,
        duration,
        event,
        arm,
        treatment,
        control,
        id=id,
        cause=cause,
        event_codes=event_codes,
        strata=strata,
        need_control=True,
        min_arms=2,
        unit=unit,
        timefix=timefix,
    )
    treatments = sd.treatments
    k = len(treatments)
    if keep_assignments and k != 1:
        raise ParameterError(
            f"keep_assignments=True needs one treatment (each of the {k} contrasts {list(treatments)} vs "
            f"{sd.control!r} permutes other participants); give treatment= one arm"
        )
    status = sd.status
    for label in treatments:
        pair = (sd.arms == label) | (sd.arms == sd.control)
        if not status[pair].any():
            raise _no_events(sd, [label, sd.control])
    n_total = int(sd.time.size)
    kept = 8.0 * n_resamples * k + (float(n_resamples) * n_total if keep_assignments else 0.0)
    check_memory(
        kept,
        f"logrank_permutation with n_resamples={n_resamples}, {plural(k, 'contrast')} and "
        f"{plural(n_total, 'participant')}" + (" keeping the assignments" if keep_assignments else ""),
        "use fewer permutations"
        + (
            f" or keep_assignments=False (the assignments take {format_bytes(float(n_resamples) * n_total)})"
            if keep_assignments
            else ""
        ),
    )
    codes, n_strata = sd.strata_codes()
    roots, entropy = resolved_streams(seed, k)
    # a chunk's largest working arrays are the int32 cumulative sums of its labels (4 bytes per int8
    # label): size the chunks so that those, not the labels, take CHUNK_BYTES
    chunk_bytes = CHUNK_BYTES // np.dtype(np.int32).itemsize
    observed = np.empty(k)
    values = np.empty((n_resamples, k))
    sizes = np.empty(k, dtype=np.int64)
    assignments = np.empty((n_resamples, n_total), dtype=bool) if keep_assignments else None
    for j, (label, root) in enumerate(zip(treatments, roots, strict=True)):
        pair = (sd.arms == label) | (sd.arms == sd.control)
        design = _design(sd.time[pair], status[pair], codes[pair])
        base = (sd.arms[pair] == label).astype(np.int8)[design.order]
        observed[j] = float(_statistics(design, base[None, :])[0])
        sizes[j] = int(pair.sum())
        groups = design.strata if n_strata > 1 else None
        for rows, block in permutation_chunks(
            base, n_resamples, root, groups=groups, chunk_bytes=chunk_bytes
        ):
            values[rows, j] = _statistics(design, block)
            if assignments is not None:
                assignments[rows][:, design.order] = block.astype(bool)
    exceed = np.sum(values >= observed - _TIE_TOLERANCE * np.maximum(1.0, observed), axis=0)
    p_value = (1 + exceed) / (n_resamples + 1)
    mc_se = np.sqrt(p_value * (1 - p_value) / n_resamples)
    return LogrankPermutationResult(
        outcome=sd.duration,
        event_column=sd.event_column,
        cause=sd.cause,
        treatments=treatments,
        control=sd.control,  # type: ignore[arg-type]
        statistic=observed,
        p_asymptotic=stats.chi2.sf(observed, 1),
        p_value=p_value,
        mc_se=mc_se,
        statistics=values,
        n_resamples=n_resamples,
        n=sizes,
        strata=sd.strata_columns,
        n_strata=n_strata,
        seed_entropy=entropy,
        assignments=assignments,
        unit=sd.unit,
        analysis=analysis,
        notes=(_competing_note(sd), *sd.notes),
        inputs=sd.inputs,
    )
