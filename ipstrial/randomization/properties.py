"""Properties of a randomization scheme by simulation: imbalance and predictability.

:func:`simulate_scheme` draws ``n_sim`` allocation sequences of ``n`` participants from a scheme
(through the package's own implementation of the scheme) and summarises

* the **imbalance** ``D = max_i N_i / r_i - min_i N_i / r_i`` of the arm counts ``N_i`` scaled by
  the allocation ratio ``r`` (for 1:1 this is ``|N_A - N_B|``, for several arms at equal ratio the
  range of the counts; it is 0 exactly when the counts are in the ratio): its expected absolute value
  at the end, overall, within strata and within each level of each stratification factor
  (marginal), and as a curve over the enrolment sequence; the distribution of the imbalance at the
  end of the realised sequence of each stratum (where the last, incomplete block of a block scheme
  leaves its trace) and, for block schemes, the imbalance at every completed block end (0 by
  construction);
* the **predictability**: the probability that a recruiter who knows the past allocations guesses
  the next one under the *convergence strategy* of Blackwell & Hodges (Ann Math Stat 1957;28:449-460):
  guess the arm that is furthest behind its target, i.e. with the smallest ``N_i / r_i`` (for equal
  ratios, the fewest allocations so far), ties broken at random. The expected number of correct
  guesses is computed exactly given the sequence (a tie among ``m`` arms counts ``1/m`` if the
  allocated arm is among them), which removes the noise of the random tie-break from the
  simulation. Two states of knowledge are reported: the recruiter knows *all* past allocations
  (``guess_overall``, e.g. a central trial unit), or only the past allocations *within the
  participant's stratum* (``guess_stratum``, e.g. a site recruiter when sites are strata). The
  recruiter does not know block sizes or block boundaries. With blocks of one fixed size the
  completed blocks are balanced, so the strategy then coincides with guessing within the current
  block and gives Blackwell & Hodges' value (17/24 for blocks of 4 with two arms, Matts & Lachin,
  Control Clin Trials 1988;9:327-344). For minimization the convergence strategy on the arm totals
  understates predictability: a recruiter who also knows the marginal counts of the participant's
  factor levels can name the preferred arm, which is allocated with probability ``p``.

:func:`compare_schemes` puts several schemes side by side, one row per scheme, to help choose one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import check_count
from ipstrial._docs import shared_params
from ipstrial._random import SeedLike, resolved_streams
from ipstrial.errors import DesignError
from ipstrial.randomization._sequences import _generate, _resolve_strata
from ipstrial.randomization.blocks import _check_arms_ratio, _check_design, _check_n
from ipstrial.results import Result, Row
from ipstrial.stats.normal import wald_interval

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["COMPARE_COLUMNS", "SCHEMES", "SchemeProperties", "compare_schemes", "simulate_scheme"]

SCHEMES: dict[str, tuple[str, ...]] = {
    "simple": ("arms", "ratio"),
    "permuted_blocks": ("arms", "block_sizes", "ratio"),
    "stratified_blocks": ("arms", "block_sizes", "ratio"),
    "biased_coin": ("arms", "p"),
    "minimization": ("arms", "weights", "p", "imbalance", "ratio"),
}
"""The schemes :func:`simulate_scheme` knows, with the parameters each accepts."""

_NEEDS_STRATA = ("stratified_blocks", "minimization")
_BLOCK_SCHEMES = ("permuted_blocks", "stratified_blocks")

COMPARE_COLUMNS: tuple[str, ...] = (
    "label",
    "scheme",
    "parameters",
    "n",
    "n_sim",
    "imbalance_mean",
    "imbalance_se",
    "imbalance_p95",
    "imbalance_max",
    "p_balanced",
    "within_strata_imbalance_mean",
    "within_strata_imbalance_se",
    "end_imbalance_p95",
    "marginal_imbalance_mean",
    "marginal_imbalance_se",
    "block_end_imbalance_max",
    "p_guess_overall",
    "p_guess_overall_se",
    "p_guess_within_stratum",
    "p_guess_within_stratum_se",
)
"""The columns of :func:`compare_schemes`, in order (see :meth:`SchemeProperties.summary_row`)."""


def _describe(params: Mapping[str, Any]) -> str:
    """``"block_sizes=[3, 6], p=0.6667"``: parameters as text, floats with four significant figures."""

    def text(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, list | tuple):
            return "[" + ", ".join(text(v) for v in value) + "]"
        if isinstance(value, Mapping):
            return "{" + ", ".join(f"{k}: {text(v)}" for k, v in value.items()) + "}"
        return str(value)

    return ", ".join(f"{k}={text(v)}" for k, v in params.items())


def _mc_se(values: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of ``values`` (one per simulation)."""
    if values.size < 2:
        return math.nan
    return float(values.std(ddof=1) / math.sqrt(values.size))


@dataclass(frozen=True, eq=False)
class SchemeProperties(Result):
    """Simulated properties of one randomization scheme (see :func:`simulate_scheme`).

    Attributes
    ----------
    scheme, label, parameters
        The scheme's name, a display label and the parameters it was run with.
    n, n_sim
        Participants per sequence and number of simulated sequences.
    arms, ratio
        The arms and the allocation ratio used to scale the imbalance.
    seed_entropy
        The integer that regenerates the simulation (None if a Generator was passed).
    factors, strata_labels
        The stratification factors (empty without strata) and the label of every stratum
        (combination of levels, ``"site=Odense, sex=female"``).
    allocations
        ``(n_sim, n)`` arm indices (into ``arms``) of the simulated sequences.
    strata_codes
        ``(n_sim, n)`` stratum indices (into ``strata_labels``), or None without strata.
    sim_seeds
        The biased coin: the integer seed of each simulated sequence (``biased_coin(...,
        seed=sim_seeds[i])`` regenerates sequence ``i``). None for the other schemes, whose sequences are
        drawn all at once (see :func:`simulate_scheme`).
    imbalance_final, imbalance_curve
        Overall imbalance at the end of each simulated sequence, ``(n_sim,)``, and ``E|D_t|`` after
        each of the ``t = 1..n`` participants, ``(n,)``.
    within_final, within_curve
        Mean of the within-stratum imbalance over the strata that hold participants in the sequence,
        at its end, and the expectation of the same mean after each participant (a stratum not yet
        reached counts 0); None without strata.
    marginal_final
        Mean over the levels of all factors (those present in the sequence) of the imbalance among
        the participants with the level, at the end; None without strata.
    strata_imbalance
        Per stratum that occurs: ``stratum``, ``mean_size``, ``imbalance_mean`` (final, over the
        sequences in which the stratum occurs), ``p_balanced``.
    end_imbalance
        Distribution of the imbalance at the end of the realised sequence in each stratum (pooled over
        simulations and non-empty strata; overall without strata): ``imbalance``, ``count``,
        ``probability``.
    block_end_imbalance_max
        For block schemes, the largest imbalance seen at any completed block end (within the block
        sequence's stratum) in any simulation -- 0 for a correct block scheme; None otherwise.
    guess_overall, guess_stratum
        Per simulation, the expected proportion of correct guesses under the convergence strategy
        knowing all past allocations, resp. only those within the participant's stratum (None
        without strata).
    guess_curve
        Probability of a correct guess (all past allocations known) for participant ``t = 1..n``.
    """

    scheme: str
    label: str
    parameters: dict[str, Any]
    n: int
    n_sim: int
    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    seed_entropy: int | None
    factors: tuple[str, ...]
    strata_labels: tuple[str, ...]
    allocations: np.ndarray
    strata_codes: np.ndarray | None
    sim_seeds: np.ndarray | None
    imbalance_final: np.ndarray
    imbalance_curve: np.ndarray
    within_final: np.ndarray | None
    within_curve: np.ndarray | None
    marginal_final: np.ndarray | None
    strata_imbalance: pd.DataFrame
    end_imbalance: pd.DataFrame
    block_end_imbalance_max: float | None
    guess_overall: np.ndarray
    guess_stratum: np.ndarray | None
    guess_curve: np.ndarray
    analysis: str = field(default="randomization_scheme_properties")

    @property
    def title(self) -> str:
        return f"Properties of {self.label}: n = {self.n}, {self.n_sim} simulated sequences"

    @property
    def expected_imbalance(self) -> float:
        """``E|D_n|``, the expected absolute imbalance at the end of the sequence."""
        return float(self.imbalance_final.mean())

    @property
    def p_guess(self) -> float:
        """Probability of a correct guess knowing all past allocations (convergence strategy)."""
        return float(self.guess_overall.mean())

    def summary_row(self) -> dict[str, object]:
        """The scheme's line of :func:`compare_schemes` (keys :data:`COMPARE_COLUMNS`)."""
        end = self.end_imbalance
        cum = end.probability.cumsum().to_numpy()
        p95 = float(end.imbalance.to_numpy()[np.searchsorted(cum, 0.95 - 1e-12)]) if len(end) else math.nan

        def mean_se(values: np.ndarray | None) -> tuple[float, float]:
            if values is None:
                return math.nan, math.nan
            return float(values.mean()), _mc_se(values)

        within, within_se = mean_se(self.within_final)
        marginal, marginal_se = mean_se(self.marginal_final)
        g_stratum, g_stratum_se = mean_se(self.guess_stratum)
        return {
            "label": self.label,
            "scheme": self.scheme,
            "parameters": _describe(self.parameters),
            "n": self.n,
            "n_sim": self.n_sim,
            "imbalance_mean": self.expected_imbalance,
            "imbalance_se": _mc_se(self.imbalance_final),
            "imbalance_p95": float(np.quantile(self.imbalance_final, 0.95)),
            "imbalance_max": float(self.imbalance_final.max()),
            "p_balanced": float(np.mean(self.imbalance_final == 0)),
            "within_strata_imbalance_mean": within,
            "within_strata_imbalance_se": within_se,
            "end_imbalance_p95": p95,
            "marginal_imbalance_mean": marginal,
            "marginal_imbalance_se": marginal_se,
            "block_end_imbalance_max": (
                math.nan if self.block_end_imbalance_max is None else self.block_end_imbalance_max
            ),
            "p_guess_overall": self.p_guess,
            "p_guess_overall_se": _mc_se(self.guess_overall),
            "p_guess_within_stratum": g_stratum,
            "p_guess_within_stratum_se": g_stratum_se,
        }

    def rows(self) -> tuple[Row, ...]:
        """ARD rows: expected absolute imbalance (estimand ``"mean"``) overall, within strata and
        marginal, and the probability of a correct guess (estimand ``"proportion"``); ``se`` and the
        interval (mean +- 1.96 se) are Monte Carlo error; extras ``quantity``, ``scope``, ``n_sim``.
        ``variant`` is ``""`` for the overall rows, ``"within strata"``, ``"marginal"`` and
        ``"within stratum"`` for the others."""
        method = (
            f"Monte Carlo, {self.n_sim} simulated sequences; imbalance D = max N_i/r_i - min N_i/r_i at the "
            "end of the sequence"
        )
        guess_method = (
            "Monte Carlo, convergence strategy (Blackwell & Hodges 1957): guess the arm with the smallest "
            "N_i/r_i so far, ties at random; block sizes unknown to the recruiter"
        )
        items: list[tuple[str, str, np.ndarray | None, str, str, str]] = [
            ("mean", "expected_abs_imbalance", self.imbalance_final, "overall", "", method),
            (
                "mean",
                "expected_abs_imbalance",
                self.within_final,
                "within strata (mean over strata)",
                "within strata",
                method,
            ),
            (
                "mean",
                "expected_abs_imbalance",
                self.marginal_final,
                "marginal (mean over factor levels)",
                "marginal",
                method,
            ),
            (
                "proportion",
                "p_correct_guess",
                self.guess_overall,
                "all past allocations known",
                "",
                guess_method,
            ),
            (
                "proportion",
                "p_correct_guess",
                self.guess_stratum,
                "past allocations in the participant's stratum known",
                "within stratum",
                guess_method,
            ),
        ]
        out = []
        for estimand, quantity, values, scope, variant, text in items:
            if values is None:
                continue
            mean, se = float(values.mean()), _mc_se(values)
            low, high = wald_interval(mean, se, 0.05)
            extra: dict[str, object] = {"quantity": quantity, "scope": scope, "n_sim": self.n_sim}
            extra["scheme"] = self.scheme
            if self.seed_entropy is not None:
                extra["seed_entropy"] = str(self.seed_entropy)
            out.append(
                self._row(
                    self.label,
                    estimand,
                    mean,
                    se=se,
                    ci_low=low,
                    ci_high=high,
                    method=text,
                    n=self.n,
                    outcome="allocation sequence",
                    variant=variant,
                    extra=extra,
                )
            )
        return tuple(out)

    def plot(self, ax: Axes | None = None, what: str = "imbalance") -> Axes:
        """Curves over the enrolment sequence: ``what="imbalance"`` draws ``E|D_t|`` overall (and the mean
        within strata); ``what="guess"`` the probability of a correct guess for participant ``t``."""
        import matplotlib.pyplot as plt

        if what not in ("imbalance", "guess"):
            raise ValueError(f"what={what!r}: choose 'imbalance' or 'guess'")
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
        t = np.arange(1, self.n + 1)
        if what == "imbalance":
            ax.plot(t, self.imbalance_curve, label="overall")
            if self.within_curve is not None:
                ax.plot(t, self.within_curve, label="within strata (mean over strata)")
            ax.set_ylabel("expected absolute imbalance")
        else:
            ax.plot(t, self.guess_curve, label="all past allocations known")
            ax.axhline(1 / len(self.arms), color="0.5", ls="--", lw=0.8, label="pure chance")
            ax.set_ylabel("P(correct guess), convergence strategy")
        ax.set_xlabel("participant (order of enrolment)")
        ax.set_title(self.label)
        ax.legend(loc="best", fontsize="small")
        return ax


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------


def _scaled(ratio: np.ndarray) -> np.ndarray:
    """Integer weights ``L / r_i`` (``L`` = lcm of the ratio): ``N_i w_i`` compares ``N_i / r_i`` exactly."""
    lcm = int(np.lcm.reduce(ratio))
    return (lcm // ratio).astype(np.int64)


def _imbalance_and_guess(onehot: np.ndarray, weights: np.ndarray, lcm: int) -> tuple[np.ndarray, np.ndarray]:
    """Imbalance after each allocation and probability of a correct convergence guess for each one.

    ``onehot`` is ``(k, n_sim, n)``, ``onehot[i, s, t] = 1`` if participant ``t`` of simulation ``s`` is
    in arm ``i`` and belongs to the sequence considered (all zero otherwise). The imbalance
    ``(n_sim, n)`` is ``max N_i/r_i - min N_i/r_i`` of the cumulative counts, and the guess probability
    ``(n_sim, n)`` is ``1/|T|`` if the allocated arm is in the tie set ``T`` of the arms with the smallest
    ``N_i/r_i`` before the allocation, else 0 (meaningful only where the participant is in the sequence).
    Arms are on the first axis so that the reductions over arms run over contiguous slices.
    """
    counts = np.cumsum(onehot, axis=2, dtype=np.int64)
    counts *= weights[:, None, None]
    imbalance = (counts.max(axis=0) - counts.min(axis=0)) / lcm
    prior = counts - onehot * weights[:, None, None]
    ties = prior == prior.min(axis=0)
    chosen = (ties & (onehot > 0)).any(axis=0)
    guess = chosen / ties.sum(axis=0)
    return imbalance, guess


def _final_imbalance(counts: np.ndarray, weights: np.ndarray, lcm: int) -> np.ndarray:
    """``max N_i/r_i - min N_i/r_i`` for counts ``(k, n_sim)``."""
    scaled = counts * weights[:, None]
    return (scaled.max(axis=0) - scaled.min(axis=0)) / lcm


@shared_params
def simulate_scheme(
    scheme: str,
    n: int,
    *,
    n_sim: int = 1000,
    seed: SeedLike = None,
    strata: pd.DataFrame | Mapping[str, Mapping[object, float] | Sequence[object]] | None = None,
    label: str | None = None,
    **params: Any,
) -> SchemeProperties:
    """Simulate ``n_sim`` allocation sequences of ``n`` participants: imbalance and predictability.

    Parameters
    ----------
    scheme
        ``"simple"``, ``"permuted_blocks"``, ``"stratified_blocks"``, ``"biased_coin"`` or
        ``"minimization"``; the sequences come from the package's implementation of the scheme: every
        scheme but the biased coin draws all ``n_sim`` sequences at once with the kernel behind its
        public function (the block generator behind :func:`permuted_blocks` and
        :func:`stratified_blocks`, the draws of :func:`simple`, the minimization of
        :func:`minimization` vectorised over sequences); the biased coin calls
        :func:`biased_coin` once per sequence, sequence ``i`` with ``seed=sim_seeds[i]``.
    n
        Participants per sequence.
    n_sim
        Number of simulated sequences.
    @params seed
    strata
        The participants' stratification factors: a DataFrame with ``n`` rows in order of arrival (the
        same participants in every simulation) or a mapping ``{factor: {level: probability}}`` (or
        ``{factor: [levels]}`` for equally likely levels) from which the factors of each simulated
        participant are drawn independently. Required by ``stratified_blocks`` (the strata are the
        combinations of the factors) and ``minimization`` (the factors to minimise over); for the
        unstratified schemes it defines the strata over which the within-stratum imbalance and the
        within-stratum guessing are reported, for comparison.
    label
        Display name (default: the scheme and its parameters).
    **params
        The scheme's parameters (:data:`SCHEMES`): ``arms`` (default ``("A", "B")``), ``ratio``,
        ``block_sizes`` (block schemes, required), ``p`` (biased coin, minimization), ``weights`` and
        ``imbalance`` (minimization).

    Returns
    -------
    SchemeProperties

    Notes
    -----
    Imbalance: ``D = max_i N_i/r_i - min_i N_i/r_i`` with ``N_i`` the arm counts and ``r`` the ratio
    (``|N_A - N_B|`` for 1:1). Within strata, ``D_s`` uses the counts in stratum ``s``; the
    within-strata summary is the mean of ``D_s`` over the strata (combinations of the factors' levels)
    that hold participants, and the marginal summary the mean over the levels of every factor of the
    imbalance among the participants with that level.

    Guessing: the convergence strategy of Blackwell & Hodges (Ann Math Stat 1957;28:449-460) -- guess
    an arm with the smallest ``N_i/r_i`` among the past allocations the recruiter knows, ties at
    random -- with the expected proportion of correct guesses over the ``n`` participants of each
    sequence. The recruiter knows all past allocations (``guess_overall``) or only those in the
    participant's stratum (``guess_stratum``), and neither block sizes nor block boundaries.

    Closed forms for checking: 1/k for simple randomization with k equal arms;
    ``[b/2 + 2^(b-1)/C(b, b/2) - 1/2] / b`` for two arms in blocks of one fixed size ``b``
    (Blackwell & Hodges 1957; Matts & Lachin, Control Clin Trials 1988;9:327-344), 17/24 for
    ``b = 4``; for Efron's biased coin (Biometrika 1971;58:403-417) with bias ``p`` and two arms,
    participant ``t`` is guessed with probability ``P(D_{t-1} = 0)/2 + (1 - P(D_{t-1} = 0)) p``,
    which averages to ``p - (2p - 1)^2/(4p)`` over a long sequence (from the limiting distribution
    of the reflecting random walk ``|D|``: ``P(|D| = 0)`` is ``(2p - 1)/p`` at even ``t``, 0 at odd).
    """
    if scheme not in SCHEMES:
        raise DesignError(f"unknown scheme {scheme!r}; choose one of {list(SCHEMES)}")
    n = _check_n(n)
    n_sim = check_count(n_sim, "n_sim")
    unknown = sorted(set(params) - set(SCHEMES[scheme]))
    if unknown:
        raise DesignError(f"{scheme} does not take {unknown}; its parameters are {list(SCHEMES[scheme])}")
    params = dict(params)
    params["arms"] = list(params.get("arms", ("A", "B")))
    arms = params["arms"]
    ratio_in = params.get("ratio")
    if scheme in _BLOCK_SCHEMES:
        if "block_sizes" not in params:
            raise DesignError(f"{scheme} needs block_sizes, e.g. block_sizes=(4, 6) for two arms at 1:1")
        ratio = _check_design(arms, params["block_sizes"], ratio_in)
        params["block_sizes"] = [int(b) for b in params["block_sizes"]]
    else:
        ratio = _check_arms_ratio(arms, ratio_in)
    if ratio_in is not None:
        params["ratio"] = ratio.tolist()
    st = _resolve_strata(strata, n)
    if scheme in _NEEDS_STRATA and st is None:
        raise DesignError(
            f"{scheme} needs strata: a DataFrame of the participants' factors (n rows) or a mapping "
            "{factor: {level: probability}}"
        )
    if label is None:
        shown = {k: v for k, v in params.items() if k != "arms"}
        label = f"{scheme}({_describe(shown)})" if shown else scheme

    (profile_rng, scheme_rng), recorded = resolved_streams(seed, 2)
    codes = st.draw(profile_rng, n_sim, n) if st is not None else None
    stratum_codes = None
    if st is not None:
        stratum_codes = np.zeros((n_sim, n), dtype=np.int64)
        for j, size in enumerate(st.sizes):
            stratum_codes = stratum_codes * size + codes[j]
    allocations, block_ends, sim_seeds = _generate(
        scheme, params, ratio, st, codes, stratum_codes, scheme_rng, n_sim, n
    )

    k = len(arms)
    weights = _scaled(ratio)
    lcm = int(np.lcm.reduce(ratio))
    onehot = (allocations[None] == np.arange(k)[:, None, None]).astype(np.int8)
    imbalance, guess = _imbalance_and_guess(onehot, weights, lcm)
    guess_overall = guess.mean(axis=1)
    block_max: float | None = None
    if scheme == "permuted_blocks":
        assert block_ends is not None
        block_max = float(imbalance[block_ends].max()) if block_ends.any() else 0.0

    within_final = within_curve = marginal_final = guess_stratum = None
    labels: tuple[str, ...] = ()
    strata_rows: list[dict[str, object]] = []
    end_values = imbalance[:, -1]
    if st is not None:
        assert stratum_codes is not None and codes is not None
        labels = st.labels
        within_sum = np.zeros((n_sim, n))
        reached = np.zeros(n_sim)
        guess_s = np.zeros((n_sim, n))
        ends_list = []
        for s, stratum in enumerate(labels):
            member = stratum_codes == s
            if not member.any():
                continue
            imb_s, guess_in_s = _imbalance_and_guess(onehot * member, weights, lcm)
            within_sum += imb_s
            guess_s[member] = guess_in_s[member]
            final_s = imb_s[:, -1]
            size_s = member.sum(axis=1)
            present = size_s > 0
            reached += present
            ends_list.append(final_s[present])
            if block_ends is not None and scheme == "stratified_blocks":
                at_end = block_ends & member
                block_max = max(block_max or 0.0, float(imb_s[at_end].max()) if at_end.any() else 0.0)
            strata_rows.append(
                {
                    "stratum": stratum,
                    "mean_size": float(size_s.mean()),
                    "imbalance_mean": float(final_s[present].mean()),
                    "p_balanced": float(np.mean(final_s[present] == 0)),
                }
            )
        within_final = within_sum[:, -1] / reached
        within_curve = (within_sum / reached[:, None]).mean(axis=0)
        guess_stratum = guess_s.mean(axis=1)
        end_values = np.concatenate(ends_list)
        marginal = []
        for j in range(len(st.factors)):
            for level in range(st.sizes[j]):
                member = codes[j] == level
                counts = (onehot * member).sum(axis=2, dtype=np.int64)
                level_imbalance = _final_imbalance(counts, weights, lcm)
                marginal.append(np.where(member.any(axis=1), level_imbalance, np.nan))
        marginal_final = np.nanmean(np.asarray(marginal), axis=0)
    else:
        strata_rows.append(
            {
                "stratum": "all",
                "mean_size": float(n),
                "imbalance_mean": float(end_values.mean()),
                "p_balanced": float(np.mean(end_values == 0)),
            }
        )
    values, counts_ = np.unique(np.round(end_values, 12), return_counts=True)
    end_imbalance = pd.DataFrame(
        {"imbalance": values, "count": counts_, "probability": counts_ / counts_.sum()}
    )
    return SchemeProperties(
        scheme=scheme,
        label=label,
        parameters=params,
        n=n,
        n_sim=n_sim,
        arms=tuple(map(str, arms)),
        ratio=tuple(ratio.tolist()),
        seed_entropy=recorded,
        factors=st.factors if st is not None else (),
        strata_labels=labels,
        allocations=allocations,
        strata_codes=stratum_codes,
        sim_seeds=sim_seeds,
        imbalance_final=imbalance[:, -1].copy(),
        imbalance_curve=imbalance.mean(axis=0),
        within_final=within_final,
        within_curve=within_curve,
        marginal_final=marginal_final,
        strata_imbalance=pd.DataFrame(strata_rows),
        end_imbalance=end_imbalance,
        block_end_imbalance_max=block_max,
        guess_overall=guess_overall,
        guess_stratum=guess_stratum,
        guess_curve=guess.mean(axis=0),
    )


def compare_schemes(
    specs: Sequence[Mapping[str, Any]],
    n: int,
    *,
    n_sim: int = 1000,
    seed: SeedLike = None,
    strata: pd.DataFrame | Mapping[str, Mapping[object, float] | Sequence[object]] | None = None,
) -> pd.DataFrame:
    """Simulate several schemes and return one row per scheme (columns :data:`COMPARE_COLUMNS`).

    Each spec is a dict with ``"scheme"``, optionally ``"label"`` and ``"strata"`` (overriding the
    common ``strata``), and the scheme's parameters, e.g.
    ``{"scheme": "permuted_blocks", "block_sizes": (4, 6)}``. Every scheme is simulated by
    :func:`simulate_scheme` with the *same* seed (common random numbers): with a mapping of ``strata``
    every scheme meets the same simulated participants, so differences between rows are not blurred
    by different draws. With an integer seed row ``i`` equals
    ``simulate_scheme(**specs[i], n=n, n_sim=n_sim, seed=seed, strata=...).summary_row()``.

    The columns (see :func:`simulate_scheme` for the definitions): ``imbalance_*`` -- the overall
    imbalance at the end (mean, Monte Carlo SE, 95th percentile, maximum, ``p_balanced`` = P(D = 0));
    ``within_strata_imbalance_*`` -- the mean over strata of the within-stratum imbalance at the end;
    ``end_imbalance_p95`` -- the 95th percentile of the imbalance at the end of each stratum's
    sequence; ``marginal_imbalance_*`` -- the mean over factor levels; ``block_end_imbalance_max`` --
    the largest imbalance at a completed block end (block schemes; 0 expected); ``p_guess_overall`` and
    ``p_guess_within_stratum`` -- the probability of a correct guess under the convergence strategy
    (Blackwell & Hodges 1957) knowing all past allocations, resp. those in the participant's stratum.
    Columns that do not apply (no strata, no blocks) are NaN.

    Parameters
    ----------
    specs
        One dict per scheme: ``"scheme"``, optionally ``"label"`` and ``"strata"``, and its parameters.
    n, n_sim
        Participants per sequence and simulated sequences, as in :func:`simulate_scheme`.
    seed
        int, SeedSequence, Generator or None: resolved once into the integer every scheme is simulated
        with (a Generator gives one draw).
    strata
        The common strata of the schemes (see :func:`simulate_scheme`).
    """
    if isinstance(specs, Mapping) or not isinstance(specs, Sequence) or not specs:
        raise DesignError("specs must be a non-empty list of dicts, each with a 'scheme' key")
    (rng,), recorded = resolved_streams(seed, 1)  # an int or None: the entropy; a Generator: one draw
    common: SeedLike = recorded if recorded is not None else int(rng.integers(0, 2**63 - 1))
    rows = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or "scheme" not in spec:
            raise DesignError(f"specs[{i}] must be a dict with a 'scheme' key; got {spec!r}")
        kwargs = dict(spec)
        scheme = kwargs.pop("scheme")
        spec_strata = kwargs.pop("strata", strata)
        result = simulate_scheme(scheme, n, n_sim=n_sim, seed=common, strata=spec_strata, **kwargs)
        rows.append(result.summary_row())
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
