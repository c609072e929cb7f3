# Reference values for tests/test_intervals.py (ipstrial.stats.proportions), base R only.
#
# Run from the repository root:   Rscript tests/reference/two_by_two.R
# It writes tests/reference/two_by_two.json next to this script.  The tests read that file, so CI
# needs no R.
#
# For each 2x2 table (x1 events of n1 in the treatment arm, x0 of n0 in control) it records
#   * fisher.test: two-sided p-value, conditional MLE of the odds ratio and its 95% CI;
#   * "exact_refined": the same conditional MLE and Cornfield (1956) exact limits computed here with
#     uniroot(tol = 1e-13) -- fisher.test solves with uniroot's default tolerance
#     (.Machine$double.eps^0.25), so its estimate and limits carry only about 4-6 significant digits;
#   * prop.test: Pearson chi-square and p with correct = FALSE and correct = TRUE (NaN -> null);
#   * prop.test (one sample, correct = FALSE) Wilson limits and binom.test Clopper-Pearson limits per arm;
#   * this script's own implementations, written from the papers and independently of the Python code:
#       - Miettinen & Nurminen (Stat Med 1985;4:213-226) score interval for p1 - p0, variance factor N/(N-1);
#       - the score interval for p1/p0 with the factor N/(N-1) (Miettinen & Nurminen 1985) and without it
#         (Koopman, Biometrics 1984;40:513-517).
#     The restricted maximum likelihood estimates are found here from the roots of the score equation
#     (polyroot), compared by likelihood with the ends of the admissible range -- not from the
#     trigonometric closed form the Python code uses -- and the limits by scanning a grid for the sign
#     change and then uniroot.

conf <- 0.95
z <- qnorm(1 - (1 - conf) / 2)

tables <- list(
  list(name = "newcombe_a", x1 = 56, n1 = 70, x0 = 48, n0 = 80),
  list(name = "newcombe_b", x1 = 9, n1 = 10, x0 = 3, n0 = 10),
  list(name = "newcombe_c", x1 = 6, n1 = 7, x0 = 2, n0 = 7),
  list(name = "newcombe_d", x1 = 5, n1 = 56, x0 = 0, n0 = 29),
  list(name = "newcombe_e", x1 = 0, n1 = 10, x0 = 0, n0 = 20),
  list(name = "newcombe_f", x1 = 0, n1 = 10, x0 = 0, n0 = 10),
  list(name = "newcombe_g", x1 = 10, n1 = 10, x0 = 0, n0 = 20),
  list(name = "newcombe_h", x1 = 10, n1 = 10, x0 = 0, n0 = 10),
  list(name = "eqolise", x1 = 85, n1 = 156, x0 = 43, n0 = 156),
  list(name = "inklusion_like", x1 = 146, n1 = 243, x0 = 111, n0 = 239),
  list(name = "one_vs_one", x1 = 1, n1 = 1, x0 = 0, n0 = 1),
  list(name = "one_vs_one_reversed", x1 = 0, n1 = 1, x0 = 1, n0 = 1),
  list(name = "half_half", x1 = 1, n1 = 2, x0 = 1, n0 = 2),
  list(name = "small_unbalanced_1", x1 = 2, n1 = 3, x0 = 1, n0 = 7),
  list(name = "small_unbalanced_2", x1 = 0, n1 = 4, x0 = 3, n0 = 9),
  list(name = "small_unbalanced_3", x1 = 5, n1 = 5, x0 = 2, n0 = 12),
  list(name = "small_unbalanced_4", x1 = 1, n1 = 15, x0 = 4, n0 = 6),
  list(name = "equal_rare", x1 = 3, n1 = 30, x0 = 3, n0 = 30),
  list(name = "control_all_events", x1 = 7, n1 = 8, x0 = 8, n0 = 8),
  list(name = "all_events_both", x1 = 20, n1 = 20, x0 = 5, n0 = 5),
  list(name = "difference_minus_one", x1 = 0, n1 = 5, x0 = 5, n0 = 5),
  list(name = "near_all_vs_half", x1 = 29, n1 = 30, x0 = 1, n0 = 2)
)

# ---------------------------------------------------------------------------------------------------
# helpers

loglik <- function(x, n, p) {
  s <- 0
  if (x > 0) s <- s + x * log(p)
  if (n - x > 0) s <- s + (n - x) * log1p(-p)
  s
}

clip <- function(v, lo, hi) pmin(pmax(v, lo), hi)

# Newton polishing of a polynomial root (coefficients in increasing order, as for polyroot)
polish <- function(r, cf) {
  for (i in 1:3) {
    k <- seq_along(cf) - 1
    f <- sum(cf * r^k)
    df <- sum((cf * k)[-1] * r^(k[-1] - 1))
    if (!is.finite(df) || df == 0) break
    r <- r - f / df
  }
  r
}

best_of <- function(cand, ll) cand[which.max(vapply(cand, ll, 0))]

# ---------------------------------------------------------------------------------------------------
# Miettinen-Nurminen interval for the risk difference

# restricted MLE of (p1, p0) under p1 - p0 = d.  Score equation times p1(1-p1)p0(1-p0):
#   (x1 - n1 p1) p0 (1 - p0) + (x0 - n0 p0) p1 (1 - p1) = 0,  p1 = p0 + d: a cubic in p0
mle_rd <- function(x1, n1, x0, n0, d) {
  if (d >= 1) return(c(1, 0))
  if (d <= -1) return(c(0, 1))
  lo <- max(0, -d)
  hi <- min(1, 1 - d)
  cf <- c(x0 * (d - d^2),
          (x1 - n1 * d) + x0 * (1 - 2 * d) - n0 * (d - d^2),
          -x1 + n1 * d - n1 - x0 - n0 + 2 * n0 * d,
          n1 + n0)
  r <- Re(polyroot(cf))
  r <- c(r, vapply(r, polish, 0, cf = cf))
  cand <- c(lo, hi, clip(r[is.finite(r)], lo, hi))
  p0 <- best_of(cand, function(p) loglik(x1, n1, p + d) + loglik(x0, n0, p))
  c(p0 + d, p0)
}

mn_rd <- function(x1, n1, x0, n0) {
  N <- n1 + n0
  est <- x1 / n1 - x0 / n0
  sdv <- function(d) {
    q <- mle_rd(x1, n1, x0, n0, d)
    sqrt(max(0, (q[1] * (1 - q[1]) / n1 + q[2] * (1 - q[2]) / n0) * N / (N - 1)))
  }
  g <- function(d, dir) dir * (d - est) - z * sdv(d)
  if (est == -1) {
    low <- -1
  } else {
    grid <- seq(-1, est, length.out = 2001)
    gv <- vapply(grid, g, 0, dir = -1)
    i <- max(which(gv > 0))
    low <- uniroot(g, c(grid[i], grid[i + 1]), dir = -1, tol = 1e-14, maxiter = 1000)$root
  }
  if (est == 1) {
    high <- 1
  } else {
    grid <- seq(est, 1, length.out = 2001)
    gv <- vapply(grid, g, 0, dir = 1)
    i <- min(which(gv > 0))
    high <- uniroot(g, c(grid[i - 1], grid[i]), dir = 1, tol = 1e-14, maxiter = 1000)$root
  }
  list(estimate = est, low = low, high = high)
}

# ---------------------------------------------------------------------------------------------------
# score interval for the risk ratio

# restricted MLE under p1 = rho p0: the score equation in p0 is the quadratic
#   rho N p0^2 - (rho (n1 + x0) + x1 + n0) p0 + (x1 + x0) = 0
mle_rr <- function(x1, n1, x0, n0, rho) {
  hi <- min(1, 1 / rho)
  cf <- c(x1 + x0, -(rho * (n1 + x0) + x1 + n0), rho * (n1 + n0))
  r <- Re(polyroot(cf))
  r <- c(r, vapply(r, polish, 0, cf = cf))
  cand <- c(0, hi, clip(r[is.finite(r)], 0, hi))
  p0 <- best_of(cand, function(p) loglik(x1, n1, rho * p) + loglik(x0, n0, p))
  c(min(1, rho * p0), p0)
}

rr_score <- function(x1, n1, x0, n0, mn = TRUE) {
  if (x1 == 0 && x0 == 0) return(list(estimate = NA, low = 0, high = Inf))
  N <- n1 + n0
  f <- if (mn) N / (N - 1) else 1
  p1 <- x1 / n1
  p0 <- x0 / n0
  est <- p1 / p0  # 0 or Inf at the edges
  sdv <- function(rho) {
    q <- mle_rr(x1, n1, x0, n0, rho)
    sqrt(max(0, (q[1] * (1 - q[1]) / n1 + rho^2 * q[2] * (1 - q[2]) / n0) * f))
  }
  g <- function(t, dir) {
    rho <- exp(t)
    dir * (rho * p0 - p1) - z * sdv(rho)
  }
  t_hat <- log(est)
  if (x1 == 0) {
    low <- 0
  } else {
    grid <- seq(-40, if (is.finite(t_hat)) t_hat else 40, length.out = 2001)
    gv <- vapply(grid, g, 0, dir = -1)
    i <- max(which(gv > 0))
    low <- exp(uniroot(g, c(grid[i], grid[i + 1]), dir = -1, tol = 1e-14, maxiter = 1000)$root)
  }
  if (x0 == 0) {
    high <- Inf
  } else {
    grid <- seq(if (is.finite(t_hat)) t_hat else -40, 40, length.out = 2001)
    gv <- vapply(grid, g, 0, dir = 1)
    i <- min(which(gv > 0))
    high <- exp(uniroot(g, c(grid[i - 1], grid[i]), dir = 1, tol = 1e-14, maxiter = 1000)$root)
  }
  list(estimate = est, low = low, high = high)
}

# ---------------------------------------------------------------------------------------------------
# conditional MLE and Cornfield exact limits of the odds ratio, to full precision

lse <- function(v) {
  m <- max(v)
  m + log(sum(exp(v - m)))
}

exact_refined <- function(x1, n1, x0, n0) {
  m <- x1 + x0
  lo <- max(0, m - n0)
  hi <- min(n1, m)
  if (lo == hi) return(list(estimate = NA, low = 0, high = Inf))
  k <- lo:hi
  lw <- dhyper(k, n1, n0, m, log = TRUE)
  w <- function(t) lw + k * t
  mean_k <- function(t) {
    v <- w(t)
    p <- exp(v - max(v))
    sum(k * p) / sum(p)
  }
  a2 <- log((1 - conf) / 2)
  solve <- function(fun) uniroot(fun, c(-1, 1), extendInt = "upX", tol = 1e-13, maxiter = 2000)$root
  est <- if (x1 == lo) 0 else if (x1 == hi) Inf else exp(solve(function(t) mean_k(t) - x1))
  low <- if (x1 == lo) 0 else exp(solve(function(t) lse(w(t)[k >= x1]) - lse(w(t)) - a2))
  high <- if (x1 == hi) Inf else exp(solve(function(t) a2 - (lse(w(t)[k <= x1]) - lse(w(t)))))
  list(estimate = est, low = low, high = high)
}

# ---------------------------------------------------------------------------------------------------
# JSON output (numbers with 17 significant digits; Inf as the strings "Inf"/"-Inf", NA/NaN as null)

json_value <- function(v) {
  if (is.list(v)) {
    if (is.null(names(v))) {
      return(paste0("[", paste(vapply(v, json_value, ""), collapse = ", "), "]"))
    }
    items <- vapply(names(v), function(nm) paste0("\"", nm, "\": ", json_value(v[[nm]])), "")
    return(paste0("{", paste(items, collapse = ", "), "}"))
  }
  if (is.character(v)) return(paste0("\"", gsub("\"", "\\\\\"", v), "\""))
  if (is.logical(v) && !is.na(v)) return(if (v) "true" else "false")
  if (is.na(v)) return("null")
  if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
  if (v == round(v) && abs(v) < 1e15) return(format(v, scientific = FALSE))
  sprintf("%.17g", v)
}

limits <- function(ci) list(low = ci[1], high = ci[2])

results <- lapply(tables, function(tb) {
  x1 <- tb$x1; n1 <- tb$n1; x0 <- tb$x0; n0 <- tb$n0
  ft <- fisher.test(matrix(c(x1, n1 - x1, x0, n0 - x0), nrow = 2), conf.level = conf)
  pt <- function(correct) {
    r <- suppressWarnings(prop.test(c(x1, x0), c(n1, n0), correct = correct))
    list(statistic = unname(r$statistic), p = r$p.value)
  }
  wil <- function(x, n) limits(suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = conf))$conf.int)
  cp <- function(x, n) limits(binom.test(x, n, conf.level = conf)$conf.int)
  list(
    name = tb$name, x1 = x1, n1 = n1, x0 = x0, n0 = n0,
    fisher = list(p = ft$p.value, estimate = unname(ft$estimate),
                  low = ft$conf.int[1], high = ft$conf.int[2]),
    exact_refined = exact_refined(x1, n1, x0, n0),
    prop_test = list(uncorrected = pt(FALSE), corrected = pt(TRUE)),
    wilson = list(treatment = wil(x1, n1), control = wil(x0, n0)),
    clopper_pearson = list(treatment = cp(x1, n1), control = cp(x0, n0)),
    mn_rd = mn_rd(x1, n1, x0, n0),
    rr_score_mn = rr_score(x1, n1, x0, n0, mn = TRUE),
    rr_score_koopman = rr_score(x1, n1, x0, n0, mn = FALSE)
  )
})

out <- list(
  generated_by = "tests/reference/two_by_two.R",
  r_version = R.version.string,
  conf = conf,
  tables = results
)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg)) dirname(normalizePath(sub("^--file=", "", arg[1]))) else "tests/reference"
})
target <- file.path(script_dir, "two_by_two.json")
body <- vapply(results, json_value, "")
text <- paste0(
  "{\n",
  "  \"generated_by\": ", json_value(out$generated_by), ",\n",
  "  \"r_version\": ", json_value(out$r_version), ",\n",
  "  \"conf\": ", json_value(conf), ",\n",
  "  \"tables\": [\n    ", paste(body, collapse = ",\n    "), "\n  ]\n}\n"
)
writeLines(text, target, sep = "")
cat("wrote", target, "\n")
