"""The figure of a validation study: coverage, the ratio of the estimated to the empirical SE, and rejection.

One row per estimator and contrast of the study's table, three panels sharing the rows (Morris, White &
Crowther, Stat Med 2019;38:2074, sec. 6, on presenting simulation results with their Monte Carlo error):

* coverage of the 95 % interval with its Clopper-Pearson 95 % interval (exact for a binomial count, unlike
  ``± 1.96 MCSE`` near 0 or 100 % and at few replicates), the nominal 95 % line and the 94-96 % band;
* ``mean SE / empirical SE``: below 1, the estimator's own SE is too small and its interval under-covers;
  its Monte Carlo interval is ``ratio x (1 ± 1.96 / sqrt(2 (R - 1)))``, the relative MCSE of an empirical SE
  (Morris et al., table 6);
* the rejection rate with its Clopper-Pearson 95 % interval: the power, or under the null the type I error,
  with a line at ``alpha``.

A row without a truth (the log-rank test) has only its rejection rate; one without an SE of the
estimate's scale (Newcombe, Miettinen-Nurminen) has no SE ratio.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["study_figure", "study_plot"]

_Z = 1.959963984540054


def _binomial(shares: Any, reps: Any) -> tuple[Any, Any]:
    """Percentages and their Clopper-Pearson 95 % error bars ``(below, above)`` (NaN rows: no bar)."""
    import numpy as np

    from ipstrial.stats.proportions import clopper_pearson

    errors = np.full((2, len(shares)), np.nan)
    for i, (share, r) in enumerate(zip(shares, reps, strict=True)):
        if np.isfinite(share) and r >= 1:
            ci = clopper_pearson(round(share * r), int(r))
            errors[:, i] = (share - ci.low) * 100, (ci.high - share) * 100
    return shares * 100, errors


def study_figure(table: pd.DataFrame, *, title: str, alpha: float = 0.05) -> Figure:
    """The three-panel figure of a study's table (see the module docstring).

    Parameters
    ----------
    table
        A study's table (:data:`ipstrial.validation.COLUMNS`).
    title
        The figure's title (the scenario and the replicates).
    alpha
        The level of the rejection rate (its reference line).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from ipstrial.report.palette import figure_style

    rows = table.reset_index(drop=True)
    labels = [f"{e}  {c}" for e, c in zip(rows.estimator, rows.contrast, strict=True)]
    y = np.arange(len(rows))[::-1]
    reps = rows.reps.to_numpy(dtype=float)
    with figure_style():
        fig, axes = plt.subplots(
            1, 3, figsize=(10.5, 0.8 + 0.24 * len(rows)), sharey=True, gridspec_kw={"wspace": 0.08}
        )
        cov, ratio, reject = axes
        c, c_err = _binomial(rows.coverage.to_numpy(dtype=float), reps)
        cov.axvspan(94, 96, color="0.9", zorder=0)
        cov.axvline(95, color="0.4", linewidth=0.8)
        cov.errorbar(c, y, xerr=c_err, fmt="o", color="C0", markersize=3.5, capsize=0, linewidth=1)
        cov.set_xlabel("coverage of the 95 % interval (%)")
        low = np.nanmin(np.append(c - c_err[0], 94.0))
        cov.set_xlim(math.floor(min(low, 94.0)) - 0.5, 100.5)

        r = (rows.mean_se / rows.empirical_se).to_numpy(dtype=float)
        spread = _Z / np.sqrt(2 * np.maximum(reps - 1, 1))
        ratio.axvline(1, color="0.4", linewidth=0.8)
        ratio.errorbar(r, y, xerr=r * spread, fmt="o", color="C1", markersize=3.5, capsize=0, linewidth=1)
        ratio.set_xlabel("mean SE / empirical SE")

        p, p_err = _binomial(rows.rejection_rate.to_numpy(dtype=float), reps)
        reject.axvline(alpha * 100, color="0.4", linewidth=0.8, linestyle="--")
        reject.errorbar(p, y, xerr=p_err, fmt="o", color="C2", markersize=3.5, capsize=0, linewidth=1)
        reject.set_xlabel(f"rejection rate at {alpha:g} (%)")
        top = np.nanmax(np.append(p + p_err[1], alpha * 100))
        reject.set_xlim(0, 20 if top <= 18 else 103)  # the null's type I errors readable, else 0-100 %

        cov.set_yticks(y, labels)
        cov.set_ylim(-0.7, len(rows) - 0.3)
        height = fig.get_figheight()
        fig.subplots_adjust(top=1 - 0.5 / height, bottom=0.55 / height)  # the title half an inch above
        fig.suptitle(title, x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontsize=11)
    return fig


def study_plot(study: Any, path: Any = None) -> Figure:
    """:func:`study_figure` of a :class:`~ipstrial.validation.Study`, saved to ``path`` if given."""
    fig = study_figure(
        study.table,
        title=f"Validation study: scenario {study.scenario}, {study.reps:,} replicate trials, "
        f"seed {study.seed}",
        alpha=study.alpha,
    )
    if path is not None:
        fig.savefig(path, bbox_inches="tight", dpi=100)
    return fig
