# Reference values for ipstrial.itt.marginal (covariate-adjusted marginal effects, binary outcome).
#
# Independent implementation in R: stats::glm for the logistic working model, sandwich::sandwich
# (HC0) for the robust coefficient covariance, and the Ge et al. (2011) and Ye et al. (2023)
# variance formulas written here from the papers:
#   g-computation  theta_a = mean_i expit(x_i(a)' beta)
#   Ye (SR)        V_ab = 1{a=b} var_a(Y - mu_a)/pi_a + cov_a(Y, mu_b) + cov_b(mu_a, Y) - cov_all(mu_a, mu_b)
#   Ye (CAR)       V_CAR = V_SR - sum_z p_z [1{a=b} r_a(z)^2/pi_a - r_a(z) r_b(z)],
#                  r_a(z) = mean residual Y - mu_a(X) of arm a in stratum z (stratified permuted blocks)
#   Ge             D Sigma D', D_a = mean_i mu_a(1 - mu_a) x_i(a)'
# Sample moments use n - 1 denominators (var, cov); Var(theta) = V / n.
#
# Run from the repository root:  Rscript tests/reference/marginal_effects.R
# Writes tests/reference/marginal_effects.json.

library(sandwich)
library(jsonlite)

trial <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
covariates <- c("age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use")
# text covariates: factor levels sorted (reference = alphabetically first), as ipstrial's design_matrix
for (v in c("sex", "diagnosis", "education", "site")) {
  trial[[v]] <- factor(trial[[v]], levels = sort(unique(trial[[v]]), method = "radix"))
}

expit <- function(x) 1 / (1 + exp(-x))

# ipstrial's names for R's coefficient names
term_name <- function(r) {
  r <- sub("^\\(Intercept\\)$", "(Intercept)", r)
  r <- sub("^arm(IPS|IPSE)$", "arm:\\1", r)
  for (v in c("sex", "diagnosis", "education")) r <- sub(paste0("^", v, "(.+)$"), paste0(v, ":\\1"), r)
  r
}

analyse <- function(arms, control) {
  d <- trial[trial$arm %in% arms, ]
  d$arm <- factor(d$arm, levels = c(control, setdiff(arms, control)))
  f <- as.formula(paste("employed_18m ~ arm +", paste(covariates, collapse = " + ")))
  fit <- glm(f, family = binomial(), data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
  stopifnot(fit$converged)
  X <- model.matrix(fit)
  beta <- coef(fit)
  y <- d$employed_18m
  n <- nrow(d)
  levels_ <- levels(d$arm)
  treatments <- setdiff(levels_, control)
  compared <- c(treatments, control)
  arm_cols <- paste0("arm", treatments)
  Xcf <- lapply(compared, function(a) {
    Xa <- X
    for (t in treatments) Xa[, paste0("arm", t)] <- as.numeric(a == t)
    Xa
  })
  names(Xcf) <- compared
  preds <- sapply(Xcf, function(Xa) expit(drop(Xa %*% beta)))  # n x k
  theta <- colMeans(preds)
  k <- length(compared)
  arm_of <- as.character(d$arm)
  pi <- sapply(compared, function(a) mean(arm_of == a))

  ye_sr <- function() {
    V <- matrix(0, k, k, dimnames = list(compared, compared))
    for (a in seq_len(k)) for (b in seq_len(k)) {
      ia <- arm_of == compared[a]
      ib <- arm_of == compared[b]
      v <- cov(y[ia], preds[ia, b]) + cov(preds[ib, a], y[ib]) - cov(preds[, a], preds[, b])
      if (a == b) v <- v + var(y[ia] - preds[ia, a]) / pi[a]
      V[a, b] <- v
    }
    V
  }
  ye_car <- function(strata) {
    z <- interaction(d[, strata], drop = TRUE)
    M <- matrix(0, k, k)
    for (lev in levels(z)) {
      inz <- z == lev
      r <- sapply(seq_len(k), function(a) {
        cell <- inz & arm_of == compared[a]
        if (any(cell)) mean(y[cell] - preds[cell, a]) else 0
      })
      M <- M + mean(inz) * (diag(r^2 / pi, k) - outer(r, r))
    }
    ye_sr() - M
  }
  ge <- function(sigma) {
    D <- t(sapply(Xcf, function(Xa) {
      m <- expit(drop(Xa %*% beta))
      colMeans(m * (1 - m) * Xa)
    }))
    D %*% sigma %*% t(D)
  }
  covs <- list(
    ye = ye_sr() / n,
    ye_strata = ye_car(c("site", "employed_prev5y")) / n,
    ge = ge(sandwich(fit)),
    ge_model = ge(vcov(fit))
  )

  contrast <- function(V, estimand) {
    z <- qnorm(0.975)
    out <- list()
    for (t in treatments) {
      th_t <- theta[[t]]
      th_c <- theta[[control]]
      g <- setNames(rep(0, k), compared)
      if (estimand == "risk_difference") {
        est <- th_t - th_c
        g[t] <- 1
        g[control] <- -1
      } else if (estimand == "risk_ratio") {
        est <- log(th_t) - log(th_c)
        g[t] <- 1 / th_t
        g[control] <- -1 / th_c
      } else {
        est <- qlogis(th_t) - qlogis(th_c)
        g[t] <- 1 / (th_t * (1 - th_t))
        g[control] <- -1 / (th_c * (1 - th_c))
      }
      se <- sqrt(drop(t(g) %*% V %*% g))
      back <- if (estimand == "risk_difference") identity else exp
      out[[paste(t, "vs", control)]] <- list(
        estimate = back(est), se = se, ci_low = back(est - z * se), ci_high = back(est + z * se),
        p_value = 2 * pnorm(-abs(est / se))
      )
    }
    out
  }

  variances <- lapply(covs, function(V) {
    list(
      cov = unname(V),
      se = unname(sqrt(diag(V))),
      contrasts = lapply(setNames(nm = c("risk_difference", "risk_ratio", "odds_ratio")),
                         function(e) contrast(V, e))
    )
  })
  se_model <- sqrt(diag(vcov(fit)))
  se_hc0 <- sqrt(diag(sandwich(fit)))
  conditional <- lapply(setNames(treatments, paste(treatments, "vs", control)), function(t) {
    j <- paste0("arm", t)
    list(
      odds_ratio = unname(exp(beta[j])), log_or = unname(beta[j]), se = unname(se_model[j]),
      se_hc0 = unname(se_hc0[j]),
      ci_low = unname(exp(beta[j] - qnorm(0.975) * se_model[j])),
      ci_high = unname(exp(beta[j] + qnorm(0.975) * se_model[j])),
      p_value = unname(2 * pnorm(-abs(beta[j] / se_model[j])))
    )
  })
  list(
    arms = compared,
    n = n,
    theta = as.list(theta),
    coefficients = list(
      term = term_name(names(beta)), estimate = unname(beta), se = unname(se_model), se_hc0 = unname(se_hc0)
    ),
    variances = variances,
    conditional = conditional
  )
}

out <- list(
  source = "tests/reference/marginal_effects.R",
  r_version = R.version.string,
  sandwich_version = as.character(packageVersion("sandwich")),
  data = "data/synthetic/inklusion.csv",
  outcome = "employed_18m",
  covariates = covariates,
  strata = c("site", "employed_prev5y"),
  two_arm = analyse(c("IPS", "SAU"), "SAU"),
  three_arm = analyse(c("IPS", "IPSE", "SAU"), "SAU")
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/marginal_effects.json")
