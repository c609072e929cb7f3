# Reference values for ipstrial.economics.cea (covariate-adjusted cost-effectiveness).
#
# Independent implementation in R: stats::lm / stats::glm (Gamma with log link, binomial) for the cost
# and effect models, g-computation of the arm contrasts, and the joint M-estimation (sandwich)
# variance of the two contrasts built from sandwich::estfun and sandwich::bread:
#   influence of beta        IF_beta = estfun(fit) %*% bread(fit)          (Var(beta) = IF'IF / n^2)
#   g-computation            Delta_t = mean_i [g(x_i(t)'beta) - g(x_i(c)'beta)]
#   influence of Delta_t     psi_i = g(x_i(t)'beta) - g(x_i(c)'beta) - Delta_t + IF_beta,i (D_t - D_c)
#                            D_a = mean_i g'(x_i(a)'beta) x_i(a)
#   Var(Delta_C) = sum psi_C^2 / n^2,  Var(Delta_E) = sum psi_E^2 / n^2,  Cov = sum psi_C psi_E / n^2
# (for lm this is the HC0 sandwich of the arm coefficient). The QALY is 0.75 (eq5d_0 + eq5d_18m)
# (trapezium rule over 0 and 1.5 years); baseline utility eq5d_0 enters the QALY model only.
#
# Run from the repository root:  Rscript tests/reference/cea.R
# Writes tests/reference/cea.json.

library(sandwich)
library(jsonlite)

trial <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
trial$qaly <- 0.75 * (trial$eq5d_0 + trial$eq5d_18m)
covariates <- c("age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use")
for (v in c("sex", "diagnosis", "education")) {
  trial[[v]] <- factor(trial[[v]], levels = sort(unique(trial[[v]]), method = "radix"))
}

gcomp <- function(fit, d, treatments, control) {
  X <- model.matrix(fit)
  beta <- coef(fit)
  fam <- if (inherits(fit, "glm")) family(fit) else gaussian()
  IFb <- estfun(fit) %*% bread(fit)
  at <- function(a) {
    Xa <- X
    for (t in treatments) Xa[, paste0("arm", t)] <- as.numeric(a == t)
    eta <- drop(Xa %*% beta)
    list(m = fam$linkinv(eta), D = colMeans(fam$mu.eta(eta) * Xa))
  }
  ctrl <- at(control)
  out <- list()
  for (t in treatments) {
    tr <- at(t)
    delta <- mean(tr$m - ctrl$m)
    psi <- tr$m - ctrl$m - delta + drop(IFb %*% (tr$D - ctrl$D))
    out[[t]] <- list(delta = delta, psi = psi)
  }
  out
}

analyse <- function(treatments, control, cost_family, effect, effect_family, baseline = NULL,
                    covs = covariates) {
  d <- trial[trial$arm %in% c(treatments, control), ]
  d$arm <- factor(d$arm, levels = c(control, treatments))
  rhs <- paste(c("arm", covs), collapse = " + ")
  f_cost <- as.formula(paste("cost_total ~", rhs))
  f_eff <- as.formula(paste(effect, "~", paste(c(rhs, baseline), collapse = " + ")))
  ctl <- glm.control(epsilon = 1e-14, maxit = 100)
  fit_c <- if (cost_family == "ols") lm(f_cost, data = d) else
    glm(f_cost, family = Gamma(link = "log"), data = d, control = ctl)
  fit_e <- if (effect_family == "ols") lm(f_eff, data = d) else
    glm(f_eff, family = binomial(), data = d, control = ctl)
  if (inherits(fit_c, "glm")) stopifnot(fit_c$converged)
  if (inherits(fit_e, "glm")) stopifnot(fit_e$converged)
  gc <- gcomp(fit_c, d, treatments, control)
  ge <- gcomp(fit_e, d, treatments, control)
  n <- nrow(d)
  res <- list()
  for (t in treatments) {
    res[[paste(t, "vs", control)]] <- list(
      delta_cost = gc[[t]]$delta,
      delta_effect = ge[[t]]$delta,
      var_cost = sum(gc[[t]]$psi^2) / n^2,
      var_effect = sum(ge[[t]]$psi^2) / n^2,
      cov = sum(gc[[t]]$psi * ge[[t]]$psi) / n^2
    )
  }
  res
}

out <- list(
  ols_logistic_two_arm = analyse("IPS", "SAU", "ols", "employed_18m", "logistic"),
  gamma_logistic_two_arm = analyse("IPSE", "SAU", "gamma", "employed_18m", "logistic"),
  gamma_qaly_three_arm = analyse(c("IPS", "IPSE"), "SAU", "gamma", "qaly", "ols", baseline = "eq5d_0"),
  # adjusted for baseline utility only (no other covariates): the cost model is lm(cost ~ arm)
  ols_qaly_baseline_only = analyse("IPS", "SAU", "ols", "qaly", "ols", baseline = "eq5d_0", covs = NULL)
)
out$meta <- list(
  r_version = R.version.string,
  sandwich = as.character(packageVersion("sandwich")),
  covariates = covariates
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/cea.json")
