"""Formulas shared by the estimation areas (they never import each other; they import these).

* :mod:`ipstrial.stats.proportions` -- one proportion and the 2x2 table: Wilson, Clopper-Pearson,
  risk difference (Wald, Newcombe, Miettinen-Nurminen, Agresti-Caffo), risk and odds ratios, tests, NNT.
* :mod:`ipstrial.stats.normal` -- normal quantiles, Wald intervals and two-sided p-values.
* :mod:`ipstrial.stats.means` -- Welch's two-sample comparison of means and the Wald risk difference of
  two samples of 0/1 values.
"""
