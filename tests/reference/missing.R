# Reference values for ipstrial.missing.rubin: mice::pool.scalar (Rubin's rules for a scalar).
#
# Run from the repository root:  Rscript tests/reference/missing.R
# Writes tests/reference/missing.json. pool.scalar(Q, U, n, k) returns the pooled estimate
# qbar, the within (ubar), between (b) and total (t) variances, the relative increase in
# variance r, the degrees of freedom (Rubin 1987 when n = Inf; Barnard & Rubin 1999 with
# complete-data df n - k otherwise) and the fraction of missing information fmi. The 95 %
# interval and two-sided p-value are computed here from qt/pt with those df.
suppressPackageStartupMessages({
  library(mice)
  library(jsonlite)
})

cases <- list(
  list(name = "small_m3", Q = c(1.2, 1.9, 1.4), U = c(0.30, 0.35, 0.28)),
  list(name = "m5_rd", Q = c(0.131, 0.118, 0.142, 0.125, 0.137),
       U = c(0.00081, 0.00079, 0.00083, 0.00080, 0.00082)),
  list(name = "m10_hours", Q = c(131.2, 127.9, 135.4, 129.8, 133.1, 130.5, 128.4, 134.7, 132.2, 126.9),
       U = c(41.3, 40.8, 42.1, 41.0, 41.7, 40.9, 41.2, 42.0, 41.5, 40.6)),
  list(name = "m20_large_b", Q = seq(-1, 1.5, length.out = 20) + sin(1:20),
       U = 0.2 + 0.01 * (1:20)),
  list(name = "negative_m4", Q = c(-0.52, -0.31, -0.77, -0.44), U = c(0.04, 0.05, 0.045, 0.06))
)
settings <- list(list(n = Inf, k = 1), list(n = 30, k = 1), list(n = 200, k = 2), list(n = 12, k = 3))

out <- list()
for (case in cases) {
  for (s in settings) {
    p <- pool.scalar(case$Q, case$U, n = s$n, k = s$k)
    se <- sqrt(p$t)
    q <- qt(0.975, p$df)
    out[[length(out) + 1]] <- list(
      name = case$name,
      estimates = case$Q,
      variances = case$U,
      n = if (is.infinite(s$n)) NULL else s$n,
      k = s$k,
      qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, r = p$r, df = p$df, fmi = p$fmi,
      ci_low = p$qbar - q * se, ci_high = p$qbar + q * se,
      p_value = 2 * pt(-abs(p$qbar / se), p$df)
    )
  }
}
meta <- list(
  generated_by = "tests/reference/missing.R",
  r_version = R.version.string,
  mice_version = as.character(packageVersion("mice")),
  cases = out
)
writeLines(toJSON(meta, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/reference/missing.json")
