"""The within-arm bootstrap of the estimators that refit a model in every replicate.

:func:`ipstrial.itt.two_part`, :func:`ipstrial.itt.marginal_effect` (``variance="bootstrap"``) and the
covariate-adjusted :func:`ipstrial.economics.cost_effectiveness` resample participants with replacement
within arm (arm sizes fixed; Efron & Tibshirani 1993, ch. 6 and 13) and
refit their model to every replicate:

* :func:`refitted_replicates` -- the replicates, chunk by chunk: the resampling counts of
  :func:`ipstrial.resampling.bootstrap_count_chunks` as frequency weights in data order
  (:func:`ipstrial.resampling.counts_in_data_order`), each chunk refitted at once by the estimator's
  ``refit`` (:func:`ipstrial._batched.newton_batch`), so memory does not grow with replicates x
  participants. A replicate whose fit does not converge, or gives a non-finite statistic, is left out;
  more than :data:`MAX_FAILED` of them (or fewer than two left) is an error.
* :func:`replicate_summary` -- the bootstrap standard error (SD of the replicates) and the percentile
  interval (Efron & Tibshirani 1993, eq. 13.5);
* :func:`bootstrap_extra` -- the ARD extra columns of a bootstrap row (replicates, failures, seed entropy).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ipstrial._memory import check_memory
from ipstrial._random import SeedLike, resolved_seed, resolved_streams
from ipstrial.errors import EstimationError
from ipstrial.resampling import bootstrap_count_chunks, counts_in_data_order, percentile_interval

__all__ = ["MAX_FAILED", "bootstrap_extra", "refitted_replicates", "replicate_summary"]

MAX_FAILED = 0.05
"""The largest share of replicates that may fail to fit before the bootstrap is refused."""


def refitted_replicates(
    codes: np.ndarray,
    n_groups: int,
    n_resamples: int,
    seed: SeedLike,
    width: int,
    refit: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    *,
    kept_bytes: float,
    estimator: str,
    what: str,
    why_fix: str,
    group_streams: bool = False,
    with_index: bool = False,
) -> tuple[np.ndarray, int, int | None] | tuple[np.ndarray, int, int | None, np.ndarray]:
    """The replicates of a statistic refitted on within-arm resamples (module docstring).

    Parameters
    ----------
    codes
        The group (arm) of every participant, ``0 .. n_groups - 1``, in data order.
    n_groups
        The number of groups.
    n_resamples
        The number of replicates.
    seed
        int, numpy Generator or None; resolved once (:func:`ipstrial._random.resolved_streams`: the
        counts are drawn from one stream spawned from it).
    width
        The length of the statistic.
    refit
        ``W -> (statistics, converged)`` for a chunk's frequency weights ``W`` (replicates x
        participants): the ``(replicates, width)`` statistics and whether each fit converged.
    kept_bytes
        What the estimator keeps of the replicates, checked against the memory budget first.
    estimator, what, why_fix
        The words of the errors: the estimator's name (memory), what could not be fitted
        (``"bootstrap replicates"``) and why with what to do (``"(...); merge rare covariate levels"``).
    group_streams
        Draw the counts from ``seed`` itself (resolved once by :func:`ipstrial._random.resolved_seed`), so
        that they are those of ``bootstrap_counts(sizes, n_resamples, seed)`` with the groups' sizes in
        code order (the draws :func:`ipstrial.economics.cost_effectiveness` documents).
    with_index
        Also return the numbers (0-based, increasing) of the replicates that were fitted.

    Returns
    -------
    tuple
        The replicates that were fitted (``(n_resamples - failed, width)``), the number that failed and the
        seed's entropy; with ``with_index`` also the replicates' numbers.
    """
    check_memory(
        kept_bytes,
        f"{estimator} with n_resamples={n_resamples}",
        "use fewer replicates (2000 are plenty for a percentile interval)",
    )
    if group_streams:
        source, entropy = resolved_seed(seed)
    else:
        (source,), entropy = resolved_streams(seed, 1)
    sizes = [int(np.sum(codes == g)) for g in range(n_groups)]
    draws = np.empty((n_resamples, width))
    ok = np.zeros(n_resamples, dtype=bool)
    for rows, counts in bootstrap_count_chunks(sizes, n_resamples, source):
        W = counts_in_data_order(counts, codes).astype(float)
        draws[rows], converged = refit(W)
        ok[rows] = converged & np.all(np.isfinite(draws[rows]), axis=1)
    failed = int(n_resamples - ok.sum())
    if failed > MAX_FAILED * n_resamples or ok.sum() < 2:
        raise EstimationError(f"{failed} of {n_resamples} {what} could not be fitted {why_fix}")
    if with_index:
        return draws[ok], failed, entropy, np.flatnonzero(ok)
    return draws[ok], failed, entropy


def replicate_summary(draws: np.ndarray, alpha: float) -> dict[str, float]:
    """``se`` (the SD of the replicates) and the percentile interval ``ci_low, ci_high`` of one statistic."""
    low, high = percentile_interval(draws, alpha)
    return {"se": float(np.std(draws, ddof=1)), "ci_low": low, "ci_high": high}


def bootstrap_extra(n_resamples: int, seed_entropy: int | None, failed: int = 0) -> dict[str, object]:
    """The extra columns of a bootstrap row: ``n_resamples``, ``failed_replicates`` (when any) and
    ``seed_entropy`` (when recorded, as text)."""
    extra: dict[str, object] = {"n_resamples": n_resamples}
    if failed:
        extra["failed_replicates"] = failed
    if seed_entropy is not None:
        extra["seed_entropy"] = str(seed_entropy)
    return extra
