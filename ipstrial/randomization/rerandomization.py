"""Re-randomization inference: replay the trial's own allocation scheme and recompute a statistic.

The test (Fisher 1935, *The Design of Experiments*, sec. 21; Rosenberger & Lachin, *Randomization in
Clinical Trials*, 2nd ed. 2016, ch. 6; Rosenberger, Uschner & Wang, Stat Med 2019;38:2169-2188).
Under the sharp null hypothesis that a participant's outcome does not depend on the arm, the
outcomes are fixed numbers and the only random element is the allocation. Replaying the *same*
scheme (the same strata, block sizes and ratio; Efron's biased coin with the same ``p``, or
minimization with the same factors, weights and ``p``, in the actual order of arrival) ``n``
(``n_resamples``) times gives draws ``A*_1..A*_n`` of the allocation, and
the statistic ``T(A*_b)`` computed with the observed outcomes gives the randomization distribution
of ``T``. With ``T`` the observed value,

    two-sided  p = (1 + #{b : |T(A*_b)| >= |T|}) / (1 + n)
    greater    p = (1 + #{b : T(A*_b) >= T}) / (1 + n)
    less       p = (1 + #{b : T(A*_b) <= T}) / (1 + n)

counting the observed allocation once among the ``n + 1`` (Davison & Hinkley 1997, *Bootstrap
Methods and their Application*, eq. 4.11; Phipson & Smyth, Stat Appl Genet Mol Biol 2010;9:39): the
p-value is then valid (never below its nominal level) for any ``n``. Comparisons allow a relative
rounding tolerance of ``1e-9``, so that replays giving the observed value up to rounding count as
ties. Its Monte Carlo standard error is ``sqrt(p (1 - p) / n)``. The two-sided version takes the
randomization distribution to be centred at zero, as it is for a difference between arms under the
null. Replays in which a compared arm is empty (possible only under simple randomization of few
participants) leave the statistic undefined; they are left out and counted, i.e. the test
conditions on both arms being non-empty, as the observed allocation is.

The statistic is the risk difference of a 0/1 outcome or the difference in means of a number; it is
chosen by ``statistic=``, else by a Trial's role of the outcome, else by the values, and a column that is
0/1 apart from a few values (a binary outcome with stray codes?) is an error asking for ``statistic=``
rather than silently a difference in means (:func:`rerandomization_test`, ``statistic``).

Participants whose outcome is missing (``missing="complete-case"``) are re-randomised with everyone
else, because the design allocated them, and then left out of the statistic: the test treats
missingness as unaffected by the allocation (the sharp null applied to the response indicator).

Interval by test inversion (Fisher 1935 sec. 62; Ernst, Stat Sci 2004;19:676-685, sec. 3.3;
Rosenbaum, *Observational Studies*, 2nd ed. 2002, sec. 2.4.2): under a constant additive effect
``Y_i(treatment) = Y_i(control) + delta`` the control outcomes are ``Y_i - delta x_i`` with
``x_i = 1`` for the observed treatment arm. For the difference in means ``T`` the replayed statistic
of the adjusted outcomes is ``U_b - delta V_b`` with ``U_b`` the replayed difference of the outcomes
and ``V_b`` that of ``x``, and the observed one ``T - delta``, so every ``delta`` is tested with the
same replays in ``O(n)``. The interval is ``{delta : p(delta) > alpha}``; its ends are found by
bracketing outward from ``T`` (steps doubling from the randomization SD) and bisection to a relative
``1e-10``, assuming the set of accepted ``delta`` is an interval, as it is for this statistic in
practice. With more than two arms the hypothesis must also say what a participant of a third arm
would have had in the compared arms; the third arms' effects are then fixed at their observed mean
differences from control (a plug-in for a nuisance parameter, so the interval is approximate).
A binary outcome cannot follow a constant additive effect (``Y + delta`` is 0/1 only for ``delta`` in
-1, 0, 1), so ``interval=True`` with a binary outcome is refused: use
:func:`ipstrial.itt.binary.compare_proportions` (Newcombe or Miettinen-Nurminen intervals) or
Rosenbaum's (2001, Biometrika 88:219-231) attributable effects, which are not implemented here.

Randomness and memory: the replays are those of :func:`ipstrial.randomization.replay.replay_design`
(:mod:`ipstrial.randomization.replay` says how they are drawn, one stream per stratum, chunk by chunk; the
same seed gives the same bits). The test evaluates its statistic on each chunk of replays as it is drawn,
so the working memory does not grow with ``n_resamples`` x participants; what it keeps (the
``n_resamples x contrasts`` replayed statistics) is checked against the memory budget first
(:func:`ipstrial._memory.check_memory`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial import _columns as columns_
from ipstrial._checks import check_alpha, check_analysis, check_choice, check_count
from ipstrial._docs import shared_params
from ipstrial._inputs import Sample
from ipstrial._labels import near_misses
from ipstrial._memory import CHUNK_BYTES, check_memory, chunks, format_bytes
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import EstimationError, ParameterError, Problem, TrialDataError
from ipstrial.randomization.allocation import AllocationList
from ipstrial.randomization.replay import (
    Replays,
    _check_order,
    _Design,
    _plan,
    _replays,
    design_sample,
    replay_design,
)
from ipstrial.results import ESTIMANDS, Result, Row, contrast_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ipstrial.trial import Trial

__all__ = ["Replays", "RerandomizationResult", "replay_design", "rerandomization_test"]

ALTERNATIVES = ("two-sided", "greater", "less")

_TOL = 1e-9
_STATISTIC_BYTES = 8
"""Working bytes per analysed participant and replay while the statistic is evaluated: the float64 arm
indicators whose products with the outcome give every replay's arm means (:func:`_differences`). The
replays are evaluated in pieces of :data:`ipstrial._memory.CHUNK_BYTES` of them."""


# --------------------------------------------------------------------------- the statistic
def _differences(
    codes: np.ndarray, values: np.ndarray | Sequence[np.ndarray], treatments: Sequence[int], control: int
) -> np.ndarray:
    """Difference in means ``mean(values | treatment) - mean(values | control)`` of every replay (row of
    ``codes``) and treatment: ``(n_rep, len(treatments))``, NaN where an arm is empty.

    With a sequence of ``m`` value arrays (the outcome, the adjusted outcomes and the treatment indicators
    of the interval), all at once: ``(n_rep, len(treatments), m)``. The float arm indicators are built once
    per arm, and each array takes one matrix-vector product with them, so every difference has the bits it
    has when computed alone."""
    several = not isinstance(values, np.ndarray)
    columns = list(values) if several else [values]
    means = {}
    for a in {*treatments, control}:
        member = (codes == a).astype(np.float64)
        size = member.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[a] = np.stack([np.where(size > 0, (member @ v) / size, np.nan) for v in columns], axis=-1)
    out = np.stack([means[t] - means[control] for t in treatments], axis=1)
    return out if several else out[..., 0]


def _count(draws: np.ndarray, observed: float, alternative: str) -> tuple[int, int]:
    """Replays as or more extreme than ``observed`` and replays with a defined statistic."""
    ok = np.isfinite(draws)
    d = draws[ok]
    tol = _TOL * max(1.0, abs(observed))
    if alternative == "two-sided":
        hits = np.abs(d) >= abs(observed) - tol
    elif alternative == "greater":
        hits = d >= observed - tol
    else:
        hits = d <= observed + tol
    return int(hits.sum()), int(ok.sum())


def _p_value(draws: np.ndarray, observed: float, alternative: str) -> tuple[float, float, int]:
    hits, defined = _count(draws, observed, alternative)
    if defined == 0:
        return math.nan, math.nan, 0
    p = (1 + hits) / (1 + defined)
    return p, math.sqrt(p * (1 - p) / defined), defined


def _invert(
    u: np.ndarray, v: np.ndarray, observed: float, alternative: str, alpha: float
) -> tuple[float, float]:
    """The set of constant additive effects ``delta`` not rejected at ``alpha`` (module docstring)."""
    ok = np.isfinite(u) & np.isfinite(v)
    u, v = u[ok], v[ok]
    if u.size == 0:
        return math.nan, math.nan

    def accepted(delta: float) -> bool:
        p, _, _ = _p_value(u - delta * v, observed - delta, alternative)
        return p > alpha

    if not accepted(observed):
        return math.nan, math.nan
    scale = float(np.std(u)) or max(1.0, abs(observed))

    def end(direction: float) -> float:
        inner, step = observed, scale
        for _ in range(200):
            outer = observed + direction * step
            if not accepted(outer):
                break
            inner, step = outer, 2 * step
        else:
            return direction * math.inf
        for _ in range(200):
            if abs(outer - inner) <= 1e-10 * (abs(observed) + scale):
                break
            middle = 0.5 * (inner + outer)
            if accepted(middle):
                inner = middle
            else:
                outer = middle
        return inner

    low = end(-1.0) if alternative in ("two-sided", "greater") else -math.inf
    high = end(1.0) if alternative in ("two-sided", "less") else math.inf
    return low, high


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class RerandomizationResult(Result):
    """The randomization distribution of a statistic under the replayed design, and the test.

    ``distribution[b, j]`` is the statistic of contrast ``j`` in replay ``b`` (NaN where undefined);
    ``observed[j]`` its value for the actual allocation; ``p_value``, ``mc_se`` (Monte Carlo SE of the
    p-value), ``n_defined`` (replays with a defined statistic), ``ci_low``/``ci_high`` (test inversion,
    NaN unless ``interval=True``) are per contrast. ``n_resamples`` is the number of replays and
    ``seed_entropy`` the integer that regenerates them (None for a Generator seed). ``arms_compared``
    holds, per contrast, the arms whose participants enter the statistic (the treatment and the control;
    every analysed arm for a callable statistic, which is called with all analysed outcomes), whose
    participants ``n_compared`` and exclusions ``excluded`` count (from ``inputs``). See the module
    docstring for the formulas.
    """

    outcome: str
    contrasts: tuple[str, ...]
    estimand: str
    statistic: str
    observed: np.ndarray
    distribution: np.ndarray
    p_value: np.ndarray
    mc_se: np.ndarray
    n_defined: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    alternative: str
    alpha: float
    n_resamples: int
    scheme: str
    design: str
    arms_compared: tuple[tuple[str, ...], ...]
    interval_method: str
    seed_entropy: int | None
    analysis: str = "randomization_rerandomization"

    @property
    def n_compared(self) -> tuple[int, ...]:
        """Participants whose outcome enters the statistic, per contrast (those of ``arms_compared``)."""
        assert self.inputs is not None
        return tuple(sum(int(self.inputs.n_by_arm[a]) for a in arms) for arms in self.arms_compared)

    @property
    def excluded(self) -> tuple[dict[str, int], ...]:
        """Participants of ``arms_compared`` left out of the statistic by the missing policy, per contrast."""
        assert self.inputs is not None
        return tuple(self.inputs.excluded_per_arm(arms) for arms in self.arms_compared)

    @property
    def null_sd(self) -> np.ndarray:
        """Standard deviation of the randomization distribution, per contrast."""
        return np.nanstd(self.distribution, axis=0)

    def _method(self, j: int) -> str:
        rule = {
            "two-sided": "|T*| >= |T|",
            "greater": "T* >= T",
            "less": "T* <= T",
        }[self.alternative]
        defined = int(self.n_defined[j])
        text = (
            f"re-randomization test: {self.n_resamples:,} replays of {self.design}; "
            f"statistic {self.statistic}; "
            f"{self.alternative} p = (1 + #{{{rule}}})/(1 + {defined:,}), the observed allocation counted "
            f"once; Monte Carlo SE {self.mc_se[j]:.2g}"
        )
        if defined < self.n_resamples:
            text += f"; {self.n_resamples - defined:,} replays with an empty arm left out"
        if self.interval_method:
            text += f"; {self.interval_method}"
        return text

    def rows(self) -> tuple[Row, ...]:
        """One row per contrast: the observed statistic, the randomization p-value and (optional) interval."""
        out = []
        for j, contrast in enumerate(self.contrasts):
            extra: dict[str, object] = {
                "p_value_mc_se": float(self.mc_se[j]),
                "n_resamples": int(self.n_resamples),
                "n_defined": int(self.n_defined[j]),
                "null_sd": float(self.null_sd[j]),
                "scheme": self.scheme,
                "alternative": self.alternative,
            }
            if self.seed_entropy is not None:
                extra["seed_entropy"] = str(self.seed_entropy)
            extra |= {f"excluded_{k}": int(v) for k, v in self.excluded[j].items() if v}
            out.append(
                self._row(
                    contrast,
                    self.estimand,
                    float(self.observed[j]),
                    ci_low=float(self.ci_low[j]),
                    ci_high=float(self.ci_high[j]),
                    p_value=float(self.p_value[j]),
                    method=self._method(j),
                    n=int(self.n_compared[j]),
                    extra=extra,
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histogram of the randomization distribution of each contrast, the observed value marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        for j, contrast in enumerate(self.contrasts):
            draws = self.distribution[:, j]
            draws = draws[np.isfinite(draws)]
            ax.hist(draws, bins=60, alpha=0.5, label=f"{contrast} (replays)")
            ax.axvline(self.observed[j], color=f"C{j}", linestyle="--", label=f"{contrast} observed")
        ax.set_xlabel(self.statistic)
        ax.set_ylabel("replays")
        ax.set_title(f"Randomization distribution, {self.n_resamples:,} replays of {self.scheme}")
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------- the test
def _looks_binary(data: Any, outcome: str) -> bool:
    """True for an outcome column of booleans (checked as binary by the gate; numbers are checked as
    continuous and then recognised as binary when every known value is 0 or 1)."""
    from ipstrial.trial import Trial

    frame = data.data if isinstance(data, Trial) else data
    if not isinstance(frame, pd.DataFrame) or outcome not in frame.columns:
        return False
    column = frame[outcome]
    # a repeated column name (a frame) is the gate's to name
    return isinstance(column, pd.Series) and columns_.is_bool_column(column)


_FEW_OTHERS = 0.1
"""With ``statistic=None`` and an outcome not declared by a Trial, a numeric outcome whose known values are
0/1 except for at most this share is ambiguous (a 0/1 outcome with stray values, or a number that is
mostly 0 or 1): an error asks for ``statistic=``, so that the statistic cannot switch silently."""


def _declared_kind(data: Any, outcome: str) -> str | None:
    """``"binary"`` for an outcome a Trial declares binary, ``"continuous"`` for one it declares as hours,
    weeks, costs or utilities, else None (a DataFrame, or a column without an outcome role)."""
    from ipstrial.trial import Trial

    if not isinstance(data, Trial):
        return None
    if outcome in data.binary:
        return "binary"
    if any(outcome in getattr(data, role) for role in ("hours", "weeks", "costs", "utilities")):
        return "continuous"
    return None


def _inferred_statistic(y: np.ndarray, outcome: str, who: Any) -> str:
    """The default statistic of a numeric outcome of a DataFrame (module docstring of the rule): the risk
    difference when every known value is 0 or 1, the difference in means when the values are clearly not
    0/1, and an error when they are 0/1 apart from a few."""
    off = ~np.isin(y, (0.0, 1.0))
    if not off.any():
        return "risk_difference"
    if off.sum() > _FEW_OTHERS * len(y):
        return "mean_difference"
    others = columns_.fmt_values(y[off])
    raise TrialDataError(
        [
            Problem(
                outcome,
                f"the outcome is 0/1 except for {columns_.plural(int(off.sum()), 'value')} ({others}) of "
                f"{len(y)} known values, so it is unclear whether it is a binary outcome with wrong values "
                "or a number",
                "a binary outcome: correct these values (1 = yes, 0 = no, NaN when unknown), or declare it "
                "with ipstrial.Trial(binary=...); a number: pass statistic='mean_difference'",
                **who,
            )
        ]
    )


def _check_estimand(estimand: str | None, statistic: str, outcome: str, binary: bool) -> None:
    """The estimand of a built-in statistic is its own word; another word would mislabel the number."""
    if estimand is None or estimand == statistic:
        return
    what = "a 0/1 outcome" if binary else "not a 0/1 outcome"
    word = "risk difference" if statistic == "risk_difference" else "difference in means"
    raise ParameterError(
        f"estimand={estimand!r} contradicts the statistic: {outcome!r} is {what}, so the statistic is the "
        f"{word} ({statistic!r}); leave estimand= out (it follows from statistic=), choose "
        "statistic='risk_difference' (0/1 outcome) or statistic='mean_difference', or pass a callable "
        "statistic with its estimand"
    )


def _compared(treatment: Any, control: str, sample: Sample, design: _Design) -> tuple[str, ...]:
    """The treatment arms of the contrasts: those named (arms of the design, not the control), or every
    other arm of the design with participants (in display order)."""
    if treatment is None:
        return tuple(a for a in sample.order if a != control)
    from ipstrial._inputs import _labels_argument

    named = _labels_argument(treatment, "treatment")
    if control in named:
        raise ParameterError(
            f"treatment and control are the same arm {control!r}; compare two different arms"
        )
    unknown = [a for a in named if a not in design.arms]
    if unknown:
        meant = near_misses(unknown, design.arms)
        hint = "".join(f"; {a!r} is probably {meant[a]!r}" for a in unknown if a in meant)
        raise ParameterError(f"treatment {unknown} are not arms of the design {list(design.arms)}{hint}")
    return named


@shared_params
def rerandomization_test(
    data: pd.DataFrame | Trial,
    outcome: str,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    design: AllocationList | Mapping[str, Any],
    statistic: str | Callable[[np.ndarray, np.ndarray], float] | None = None,
    n_resamples: int = 10_000,
    seed: SeedLike = None,
    alternative: str = "two-sided",
    interval: bool = False,
    order: str | None = None,
    missing: str | None = None,
    alpha: float = 0.05,
    estimand: str | None = None,
    analysis: str = "randomization_rerandomization",
    id: str | None = None,
) -> RerandomizationResult:
    """Re-randomization test that replays the trial's own allocation scheme ``n_resamples`` times.

    ``p = (1 + #{b : |T(A*_b)| >= |T|}) / (1 + n)`` (two-sided; ``T* >= T`` or ``T* <= T`` one-sided)
    with Monte Carlo SE ``sqrt(p (1 - p) / n)``, where ``A*_b`` are ``n = n_resamples`` replays of
    ``design`` and ``T`` the statistic (Rosenberger & Lachin 2016, ch. 6; Davison & Hinkley 1997,
    eq. 4.11 for counting the observed allocation once). Optional interval by inverting the test under
    a constant additive effect (Ernst 2004, sec. 3.3). Details, assumptions and references in the module
    docstring.

    Parameters
    ----------
    data
        One row per randomised participant (all of them: the design allocated everyone), in order of
        arrival unless ``order`` names an enrolment-order column; a DataFrame or an
        :class:`ipstrial.Trial` (its arm column, arms, control and id column are used). The data pass the
        input gate with the arms replayed (see ``design``): duplicated ids, missing arms, near-miss arm
        labels, missing design factors or order values are errors, and so is a participant whose arm is
        not an arm of a design that names its arms.
    outcome
        The outcome column: 0/1 (or True/False) for a risk difference, numbers for a difference in means.
    arm
        The column of allocated arms (required with a DataFrame; with a Trial, its own).
    treatment, control
        The compared arms, each treatment against ``control`` (one contrast per treatment). ``control``
        is required with a DataFrame (a Trial's control is the default); ``treatment`` defaults to every
        other arm of the design with participants.
    design
        The trial's :class:`AllocationList` (its scheme and parameters are replayed: stratified
        blocks with the same strata, block sizes and ratio; permuted blocks; simple; Efron's biased
        coin with the same ``p``; minimization with the same factors, weights, ``p`` and ratio; the
        biased coin and minimization in the actual order of arrival; levels or strata absent from the
        list are an error) or a dict with ``"scheme"`` (one of ``simple``, ``biased_coin``,
        ``permutation``, ``permuted_blocks``, ``stratified_blocks``, ``minimization``) and the
        parameters (``arms``, ``ratio``, ``block_sizes``, ``factors``, ``weights``, ``p``,
        ``imbalance``; a ``biased_coin`` dict takes ``arms`` and ``p``, default 2/3, and allocates
        equally). ``"permutation"`` permutes the observed labels (fixed arm sizes), within
        strata if ``factors`` are given. A dict without ``arms`` replays the compared arms only (the
        treatment(s) and the control, in a Trial's declared order, else sorted): participants of other
        arms are then left out of the test and counted in ``inputs.outside``; with ``arms`` (and with an
        AllocationList) every participant must carry one of the design's arms, and all are replayed.
    statistic
        ``"risk_difference"`` (a 0/1 outcome; other values are an error) or ``"mean_difference"``:
        ``mean(treatment) - mean(control)``, computed for all replays of a chunk at once from the
        assignment matrix. ``None`` (default) chooses by the outcome, and never silently: with a Trial by
        its role (``binary`` gives the risk difference, and a value other than 0/1 is an error; ``hours``,
        ``weeks``, ``costs``, ``utilities`` the difference in means); otherwise by the values: True/False
        or only 0 and 1 give the risk difference, values other than 0/1 in more than 10 % of the known
        outcomes the difference in means, and 0/1 apart from a few (at most 10 %) is an error naming those
        participants and asking for ``statistic=`` (or corrected values). Or
        any callable ``statistic(outcome_values, arm_labels) -> float`` called once per replay with the
        analysed outcomes and that replay's arm labels (give ``estimand=``, a word of
        :data:`ipstrial.results.ESTIMANDS`, and one ``treatment``: the contrast it is reported under).
    n_resamples
        Number of replays (>= 1).
    @params seed
    alternative
        ``"two-sided"``, ``"greater"`` (treatment higher) or ``"less"``.
    interval
        Also invert the test under a constant additive effect (continuous outcome, default
        statistic only; refused for binary outcomes, see the module docstring).
    order
        Enrolment-order column: participants arrive sorted by it (ties keep row order).
    missing
        ``None`` (missing outcomes are an error) or ``"complete-case"``: participants with a missing
        outcome are replayed with everyone and left out of the statistic (counted in ``inputs`` and in the
        rows' ``excluded_<arm>`` columns).
    @params alpha
    estimand
        The estimand word of a callable statistic (required there). The built-in statistics are their own
        estimands (``"risk_difference"``, ``"mean_difference"``); another word is a ParameterError.
    @params analysis id
    """
    n_resamples = check_count(n_resamples, "n_resamples")
    alternative = check_choice(alternative, "alternative", ALTERNATIVES)
    alpha = check_alpha(alpha)
    analysis = check_analysis(analysis)
    missing = check_choice(missing, "missing", (None, "complete-case"))
    interval = bool(check_choice(interval, "interval", (True, False)))
    order = _check_order(order)
    if not isinstance(outcome, str):
        raise ParameterError(f"outcome must be a column name (str), got {outcome!r}")
    if statistic is not None and not callable(statistic):
        check_choice(statistic, "statistic", ("risk_difference", "mean_difference"))
    if callable(statistic):
        if estimand is None:
            raise ParameterError(
                "a callable statistic needs estimand=, the word that names what it estimates, one of: "
                + ", ".join(sorted(ESTIMANDS))
            )
        if interval:
            raise EstimationError(
                "interval=True needs the default difference statistic (the interval inverts the test "
                "under a constant additive effect, computed from the replays in closed form); drop "
                "interval or the callable"
            )
    if estimand is not None and estimand not in ESTIMANDS:
        raise ParameterError(f"unknown estimand {estimand!r}; allowed: {', '.join(sorted(ESTIMANDS))}")

    # -- the design and the participants, through the input gate -----------------------------------------
    declared = _declared_kind(data, outcome)
    if statistic == "risk_difference" and declared == "continuous":
        raise ParameterError(
            f"statistic='risk_difference' needs a 0/1 outcome, but the Trial declares {outcome!r} as a "
            "number (hours, weeks, costs or utilities); use statistic='mean_difference' or leave "
            "statistic= out"
        )
    if statistic == "risk_difference":
        kind = "binary"
    elif declared is not None:
        kind = declared
    else:
        kind = "binary" if _looks_binary(data, outcome) else "continuous"
    sample, spec = design_sample(
        data,
        design,
        arm=arm,
        treatment=treatment,
        control=control,
        id=id,
        order=order,
        outcomes={outcome: kind},
        missing=missing,
    )
    control_label = sample.control
    assert control_label is not None
    if control_label not in spec.arms:
        raise ParameterError(f"control {control_label!r} is not an arm of the design {list(spec.arms)}")
    treatments = _compared(treatment, control_label, sample, spec)
    if callable(statistic) and len(treatments) != 1:
        raise ParameterError(
            f"a callable statistic gives one number per replay, but {len(treatments)} treatment arms "
            f"{list(treatments)} are compared with {control_label!r}; name the one it is reported for with "
            "treatment="
        )
    plan = _plan(sample.frame, sample.who, spec, order, sample.arms)
    assert plan.observed is not None

    # -- the outcome: the participants with a known one (the gate kept the others, counted as excluded) ---
    y_all = sample.values[outcome]
    inputs = sample.inputs
    if inputs.excluded:
        inputs = dataclasses.replace(
            inputs, reason=f"missing {outcome} (replayed with everyone, left out of the statistic)"
        )
    analysed = np.flatnonzero(~np.isnan(y_all))
    y = y_all[analysed]
    for label in (*treatments, control_label):
        if not np.any(sample.arms[analysed] == label):
            raise TrialDataError(
                [
                    Problem(
                        outcome,
                        f"no participant with a known outcome in arm(s) {[label]}",
                        "the arms compared need known outcomes; use ipstrial.missing.bounds (no model can "
                        "impute an arm without any observed outcome)",
                    )
                ]
            )
    binary = kind == "binary" or bool(np.isin(y, (0.0, 1.0)).all())
    if statistic is None:
        if kind == "binary" or declared is not None:
            statistic = "risk_difference" if kind == "binary" else "mean_difference"
        else:
            known = sample.who.take(analysed)
            off = ~np.isin(y, (0.0, 1.0))
            statistic = _inferred_statistic(y, outcome, known.offending(off))
    if isinstance(statistic, str):
        _check_estimand(estimand, statistic, outcome, binary)
        estimand = statistic
    observed_codes = plan.observed[analysed][None, :]
    t_idx = [spec.arms.index(t) for t in treatments]
    c_idx = spec.arms.index(control_label)
    arms_array = np.asarray(spec.arms, dtype=object)

    if callable(statistic):
        description = getattr(statistic, "__name__", "user statistic")
        contrasts = (contrast_label(treatments[0], control_label),)
        observed = np.array([float(statistic(y, arms_array[observed_codes[0]]))])
    else:
        if interval and binary:
            raise EstimationError(
                "interval=True with a binary outcome: a constant additive effect cannot hold for a 0/1 "
                "outcome (Y + delta is 0 or 1 only for delta = -1, 0, 1), so inverting the test gives no "
                "interval; use ipstrial.itt.binary.compare_proportions (Newcombe or Miettinen-Nurminen "
                "interval of the risk difference) for an interval, or Rosenbaum's (2001) attributable "
                "effects, which ipstrial does not implement"
            )
        word = "risk difference" if statistic == "risk_difference" else "difference in means"
        description = f"{word} of {outcome}, mean(treatment) - mean(control)"
        contrasts = tuple(contrast_label(t, control_label) for t in treatments)
        observed = _differences(observed_codes, y, t_idx, c_idx)[0]
    if not np.all(np.isfinite(observed)):
        raise EstimationError(f"the statistic is undefined for the observed allocation ({observed.tolist()})")

    # -- the replays, chunk by chunk ---------------------------------------------------------------------
    k = len(contrasts)
    kept = k * (3 if interval else 1)
    check_memory(
        8.0 * n_resamples * kept,
        f"rerandomization_test with n_resamples={n_resamples:,} ({format_bytes(8.0 * n_resamples * kept)} of "
        "replayed statistics are kept)",
        "use fewer replays (10,000 give a p-value with a Monte Carlo SE below 0.005)",
    )
    if interval:
        arms_obs = plan.observed[analysed]
        arm_range = np.arange(len(spec.arms))
        means = np.array([y[arms_obs == a].mean() if np.any(arms_obs == a) else 0.0 for a in arm_range])
        adjusted, indicators = [], []
        for t in t_idx:  # arms other than t and control moved to the control scale (plug-in effects)
            plug = np.where(np.isin(arm_range, [t, c_idx]), 0.0, means - means[c_idx])
            adjusted.append(y - plug[arms_obs])
            indicators.append((arms_obs == t).astype(np.float64))
        # the outcome, the k adjusted outcomes and the k treatment indicators, with one set of arm indicators
        stacked = [y, *adjusted, *indicators]
        u_draws = np.empty((n_resamples, k))
        v_draws = np.empty((n_resamples, k))

    (root,), recorded = resolved_streams(seed, 1)
    distribution = np.empty((n_resamples, k))
    whole = analysed.size == plan.n
    row_bytes = _STATISTIC_BYTES * max(len(y), 1)
    for rows, (chunk,) in _replays(plan, root, n_resamples):
        # the statistic in pieces of CHUNK_BYTES of indicators (minimization's chunks are larger)
        for piece in chunks(rows.stop - rows.start, row_bytes, CHUNK_BYTES):
            codes = chunk[piece] if whole else chunk[piece][:, analysed]
            target = slice(rows.start + piece.start, rows.start + piece.stop)
            if callable(statistic):
                labels = arms_array[codes]
                distribution[target, 0] = [float(statistic(y, labels[b])) for b in range(labels.shape[0])]
                continue
            if not interval:
                distribution[target] = _differences(codes, y, t_idx, c_idx)
                continue
            both = _differences(codes, stacked, t_idx, c_idx)  # (replays, k, 1 + 2k)
            contrast = np.arange(k)
            distribution[target] = both[:, :, 0]
            u_draws[target] = both[:, contrast, 1 + contrast]
            v_draws[target] = both[:, contrast, 1 + k + contrast]

    p_value, mc_se, n_defined = np.empty(k), np.empty(k), np.zeros(k, dtype=np.int64)
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):
        p_value[j], mc_se[j], n_defined[j] = _p_value(distribution[:, j], float(observed[j]), alternative)
        if interval:
            low[j], high[j] = _invert(u_draws[:, j], v_draws[:, j], float(observed[j]), alternative, alpha)
    interval_method = ""
    if interval:
        interval_method = (
            f"{1 - alpha:.0%} interval: the constant additive effects not rejected at {alpha:g} "
            "(test inversion, bisection)"
        )
        if len(spec.arms) > 2:
            interval_method += "; effects of the other arms fixed at their observed mean differences"
    if callable(statistic):  # called with every analysed outcome
        arms_compared: tuple[tuple[str, ...], ...] = (sample.order,)
    else:
        arms_compared = tuple((t, control_label) for t in treatments)
    return RerandomizationResult(
        outcome=outcome,
        contrasts=contrasts,
        estimand=str(estimand),
        statistic=description,
        observed=observed,
        distribution=distribution,
        p_value=p_value,
        mc_se=mc_se,
        n_defined=n_defined,
        ci_low=low,
        ci_high=high,
        alternative=alternative,
        alpha=alpha,
        n_resamples=n_resamples,
        scheme=spec.scheme,
        design=spec.describe()
        + (f" in order of arrival by {order}" if order else " in order of arrival (row order)"),
        arms_compared=arms_compared,
        interval_method=interval_method,
        seed_entropy=recorded,
        analysis=analysis,
        inputs=inputs,
    )
