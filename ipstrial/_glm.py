"""Point fits of the package's GLMs (logistic, gamma with log link) and the checks that their maximum
likelihood exists: used by :mod:`ipstrial.itt` and :mod:`ipstrial.economics`.

Fits (:func:`fit_glm`): statsmodels' IRLS (the reference path; default tolerance) gives the start,
which Newton's method of :func:`ipstrial._batched.newton_batch` with the derivatives of
:func:`ipstrial._batched.glm_derivatives` polishes until its step is below ``1e-10 (1 + max|β|)``, a
criterion floating point can meet (statsmodels' absolute criterion on the deviance cannot be met below
the rounding level of the deviance, which grows with the number of participants). Both work on the
design with its non-intercept columns centred (``x − x̄``): the fitted values, and so every
g-computation, are the same; the coefficients are mapped back exactly (``β_0 = β_0^c − x̄'β^c``), and
Newton's flag for coefficients above 50 in absolute value (a sign of separation) is not set off by a
large intercept (a covariate such as a calendar year).

Warnings that statsmodels is expected to give on awkward data (its model warnings, floating-point
runtime warnings) are recorded as notes, others are passed on; a ConvergenceWarning of the start is
dropped when Newton's method from it converged (the result is then the converged maximum), unless the
caller keeps it (``keep_convergence=True``, the economics models).

Existence of the maximum likelihood estimate:

* logistic (:func:`logistic_separation`) -- the MLE fails to exist exactly when the data are
  (quasi-)completely separated: some ``b ≠ 0`` has ``(2y_i − 1) x_i'b ≥ 0`` for every ``i`` (Albert &
  Anderson 1984, Biometrika 71:1-10). Found by the linear program of Konis (2007, DPhil thesis, Oxford;
  R package safeBinaryRegression).
* log-link counts (Poisson, negative binomial; :func:`count_separation`) -- the MLE fails to exist
  exactly when some ``b ≠ 0`` has ``x_i'b = 0`` for every ``y_i > 0`` and ``x_i'b ≤ 0`` for every
  ``y_i = 0`` (Santos Silva & Tenreyro 2010, Economics Letters 107:310-312): e.g. an arm or a covariate
  level in which every count is 0. Found by the analogous linear program.

The errors name the arm or the covariate and level (or, failing a single group, the model terms of the
separating direction) and say what to do; separation is named only when the linear program finds it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipstrial._batched import glm_derivatives, newton_batch
from ipstrial._inputs import Prepared, Sample
from ipstrial.errors import EstimationError

__all__ = [
    "Fitted",
    "centre",
    "count_separation",
    "fit_glm",
    "logistic_separation",
    "uncentre",
]

_FAMILY_NAMES = {"logistic": "binomial, logit link", "gamma-log": "gamma, log link"}


def _all_have(n: int) -> str:
    """``"all 5 participants have"``, or ``"the 1 participant has"``."""
    return "the 1 participant has" if n == 1 else f"all {n} participants have"


def centre(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` with every column but the first (the intercept) centred, and the means subtracted."""
    shift = X.mean(axis=0)
    shift[0] = 0.0
    return X - shift, shift


def uncentre(beta_c: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Coefficients of the uncentred design from those of the centred one (rows of a 2-d array too)."""
    beta = np.array(beta_c, dtype=float, copy=True)
    beta[..., 0] = beta_c[..., 0] - beta_c[..., 1:] @ shift[1:]
    return beta


@dataclass(frozen=True, eq=False)
class Fitted:
    """A point fit: coefficients of ``X`` (``beta``) and of the centred design (``beta_c``, ``shift``)."""

    beta: np.ndarray
    beta_c: np.ndarray
    shift: np.ndarray
    converged: bool
    notes: tuple[str, ...] = ()


def _statsmodels_start(Xc: np.ndarray, y: np.ndarray, family: str) -> tuple[np.ndarray | None, list]:
    """statsmodels' IRLS estimate (None if it failed) and the warnings it gave."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    model_family = (
        sm.families.Binomial() if family == "logistic" else sm.families.Gamma(sm.families.links.Log())
    )
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start = np.asarray(sm.GLM(y, Xc, family=model_family).fit(maxiter=100).params, dtype=float)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, PerfectSeparationError) as exc:
            start, failure = None, exc
    if start is not None and not np.all(np.isfinite(start)):
        start = None
    records = list(caught)
    if failure is not None:
        records.append(failure)
    return start, records


def fit_glm(
    X: np.ndarray, y: np.ndarray, family: str, what: str, *, keep_convergence: bool = False
) -> Fitted:
    """Maximum likelihood fit of a logistic or gamma (log link) GLM (module docstring).

    Parameters
    ----------
    X
        The design, its first column the intercept.
    y
        The outcome (0/1 for ``"logistic"``, positive for ``"gamma-log"``).
    family
        ``"logistic"`` or ``"gamma-log"``.
    what
        The model's name in notes (``"the logistic part"``).
    keep_convergence
        Keep a ConvergenceWarning of the start as a note even when Newton's method from it converged.
    """
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, ModelWarning

    Xc, shift = centre(X)
    start, records = _statsmodels_start(Xc, y, family)
    if start is None:
        start = np.zeros(X.shape[1])
        mean = float(np.mean(y))
        start[0] = np.log(mean / (1 - mean)) if family == "logistic" else np.log(mean)
    beta_c, ok = newton_batch(Xc, np.ones((1, len(y))), start, glm_derivatives(family, y), maxiter=100)
    converged = bool(ok[0])
    notes = []
    for record in records:
        if isinstance(record, BaseException):
            notes.append(
                f"{what}: statsmodels' IRLS failed ({type(record).__name__}: {record}); Newton's method "
                "started from the overall mean instead"
            )
            continue
        category = record.category
        if issubclass(category, ConvergenceWarning) and converged and not keep_convergence:
            continue  # superseded: Newton's method from the start converged
        if issubclass(category, ModelWarning | RuntimeWarning):
            notes.append(
                f"{what}: statsmodels warned while fitting the start ({category.__name__}: {record.message})"
            )
        else:
            warnings.warn_explicit(record.message, category, record.filename, record.lineno)
    beta_c = beta_c[0]
    return Fitted(uncentre(beta_c, shift), beta_c, shift, converged, tuple(dict.fromkeys(notes)))


# ----------------------------------------------------------------------------------------------------------
# existence of the MLE


def _scaled(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` with every column divided by its largest absolute value (1 for a column of zeros), and the
    divisors: the linear programs below work on columns of comparable size."""
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    return X / scale, scale


def _direction(
    A_ub: np.ndarray, objective: np.ndarray, A_eq: np.ndarray | None, scale: np.ndarray
) -> np.ndarray | None:
    """Maximise ``objective'b`` under ``A_ub b <= 0``, ``A_eq b = 0``, ``|b_j| <= 1``; b if > 0."""
    from scipy.optimize import linprog

    res = linprog(
        -objective,
        A_ub=A_ub if A_ub.size else None,
        b_ub=np.zeros(len(A_ub)) if A_ub.size else None,
        A_eq=A_eq if A_eq is not None and A_eq.size else None,
        b_eq=np.zeros(len(A_eq)) if A_eq is not None and A_eq.size else None,
        bounds=[(-1.0, 1.0)] * len(scale),
        method="highs",
    )
    n = len(A_ub) + (0 if A_eq is None else len(A_eq))
    if res.status != 0 or -res.fun <= 1e-7 * max(n, 1):
        return None
    return res.x / scale


def _terms(direction: np.ndarray, X: np.ndarray, names: Sequence[str]) -> list[str]:
    size = np.abs(direction) * np.max(np.abs(X), axis=0)
    return [str(names[j]) for j in np.flatnonzero(size > 1e-6) if names[j] != "(Intercept)"]


def _levels(series: pd.Series) -> list:
    """The levels of a covariate as plain Python values (``1``, ``'small'``), sorted as text."""
    return sorted((v.item() if isinstance(v, np.generic) else v for v in pd.unique(series)), key=str)


def _numeric(series: pd.Series) -> bool:
    return (
        pd.api.types.is_numeric_dtype(series)
        and not pd.api.types.is_bool_dtype(series)
        and not isinstance(series.dtype, pd.CategoricalDtype)
    )


def _by_arm(y: np.ndarray, sample: Prepared | Sample) -> Iterator[tuple[str, np.ndarray]]:
    """``(arm, y of its participants)`` for every arm of the sample with participants."""
    for a in sample.order:
        values = y[sample.arms == a]
        if values.size:
            yield a, values


def _by_level(y: np.ndarray, series: pd.Series) -> Iterator[tuple[object, np.ndarray]]:
    """``(level, y of its participants)`` for every level of a covariate (:func:`_levels`)."""
    for level in _levels(series):
        values = y[(series == level).to_numpy()]
        if values.size:
            yield level, values


def _spread(series: pd.Series) -> bool:
    """A numeric covariate with more than two values: it enters the model as a number, not by level."""
    return _numeric(series) and series.nunique() > 2


def logistic_separation(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    sample: Prepared | Sample,
    model: str,
    fix: str,
    *,
    terms: bool = False,
) -> None:
    """Raise an EstimationError naming the cause if the logistic MLE of ``y`` on ``X`` does not exist.

    The causes named in plain words: an arm or a covariate level whose participants all have the same
    outcome, or a numeric covariate whose values alone order the outcomes. ``X`` and ``y`` are those of
    the participants of ``sample`` (its arms and covariates are named); ``model`` names the model
    (``"the working logistic model of 'employed_18m'"``), ``fix`` what to do besides merging levels.
    ``terms=True`` names an arm or a level as a model term (``diagnosis:rare (all 6 participants have
    outcome 1)``), for a fit that did not converge: ``"<model> did not converge: (quasi-)complete
    separation by ..."`` (the economics models).
    """
    Xs, scale = _scaled(X)
    A = (2 * y - 1)[:, None] * Xs
    direction = _direction(-A, A.sum(axis=0), None, scale)
    if direction is None:
        return

    def group(column: str | None, level: object, values: np.ndarray) -> str:
        """An arm (``column`` None) or a covariate level whose participants all have one outcome."""
        everyone = f"{_all_have(values.size)} outcome {int(values[0])}"
        if terms:
            return f"{sample.arm if column is None else column}:{level} ({everyone})"
        return f"{'arm' if column is None else f'covariate {column!r} ='} {level!r}: {everyone}"

    by_arm = [group(None, a, values) for a, values in _by_arm(y, sample) if np.all(values == values[0])]
    by_covariate = []
    for column in sample.covariates:
        series = sample.frame[column]
        if _spread(series):
            x = series.to_numpy(dtype=float)
            x0, x1 = x[y == 0], x[y == 1]
            if x0.size and x1.size and (x0.max() <= x1.min() or x1.max() <= x0.min()):
                (lo, x_lo), (hi, x_hi) = ((0, x0), (1, x1)) if x0.max() <= x1.min() else ((1, x1), (0, x0))
                by_covariate.append(
                    f"covariate {column!r} alone separates the outcomes (every participant with outcome "
                    f"{lo} has {column} <= {x_lo.max():g}, every one with outcome {hi} has {column} >= "
                    f"{x_hi.min():g})"
                )
            continue
        by_covariate += [
            group(column, level, values)
            for level, values in _by_level(y, series)
            if np.all(values == values[0])
        ]
    if by_arm or by_covariate:
        where = "; ".join(by_arm + by_covariate)
    else:
        where = (
            f"a combination of the terms {_terms(direction, X, names)} predicts every outcome without error"
        )
    if by_arm:
        advice = f"an arm in which every outcome is the same cannot be modelled on the logit scale; {fix}"
    else:
        advice = (
            "drop the covariate named or merge its sparse levels with a neighbouring level (a numeric "
            f"covariate: drop it or use coarser bands), or {fix}"
        )
    if terms:
        lead = f"{model} did not converge: (quasi-)complete separation by"
    else:
        lead = f"(quasi-)complete separation in {model}:"
    raise EstimationError(
        f"{lead} {where}. The maximum likelihood estimate does not exist, so estimates from it would be "
        f"unreliable. Fix: {advice}"
    )


def count_separation(
    X: np.ndarray, y: np.ndarray, names: Sequence[str], sample: Prepared, model: str
) -> None:
    """Raise an EstimationError naming the cause if the log-link count MLE of ``y`` on ``X`` does not exist.

    Named in plain words: an arm or a covariate level in which every count is 0 (its coefficient would
    be minus infinity). ``X`` and ``y`` are those of the participants of ``sample``.
    """
    Xs, scale = _scaled(X)
    zero = y == 0
    if not zero.any():
        return
    direction = _direction(Xs[zero], -Xs[zero].sum(axis=0), Xs[~zero], scale)
    if direction is None:
        return
    groups = [
        f"arm {a!r}: {_all_have(values.size)} count 0"
        for a, values in _by_arm(y, sample)
        if np.all(values == 0)
    ]
    for column in sample.covariates:
        series = sample.frame[column]
        if not _spread(series):
            groups += [
                f"covariate {column!r} = {level!r}: {_all_have(values.size)} count 0"
                for level, values in _by_level(y, series)
                if np.all(values == 0)
            ]
    where = "; ".join(groups) or (
        f"a combination of the terms {_terms(direction, X, names)} is zero for every positive count and "
        "negative only where the count is 0"
    )
    raise EstimationError(
        f"{model} has no maximum likelihood estimate: {where} (the log rate there would be minus "
        "infinity; Santos Silva & Tenreyro 2010). Fix: drop the covariate named or merge its level with a "
        "neighbouring one; an arm without any event has no finite rate ratio (compare the proportions with "
        "any event, ipstrial.itt.compare_proportions, instead)"
    )
