# Reference values for covariate-adjusted marginal risks in a THREE-arm trial, computed the way
# RobinCar2 (openpharma/RobinCar2, robin_glm with vcov = "vcovG") does it: the logistic working
# model y ~ arm + covariates is fitted on ALL randomised arms, every participant is predicted under
# every arm, theta_a is the mean of those predictions over ALL participants, and contrasts are
# taken from theta with the delta method. For comparison the same is done with the working model
# restricted to the two compared arms (theta averaged over those two arms' participants only).
#
# Run from the repository root:  Rscript tests/reference/marginal_multiarm.R
# Writes tests/reference/marginal_multiarm.json and the simulated dataset
# tests/reference/data/multiarm_binary.csv. Reads data/synthetic/inklusion.csv.
#
# Requires RobinCar2, which is not packaged by Debian: it was installed from its GitHub source,
#   git archive of openpharma/RobinCar2 at commit 43ba7c1659061a68cc23c0689ce65dba757c821e
#   (DESCRIPTION version 0.2.3.9000), then  R CMD INSTALL RobinCar2
# with its dependencies (checkmate, numDeriv, MASS, sandwich, survival) from Debian r-cran-*.
# The script calls RobinCar2::robin_glm and records ITS output; in addition it recomputes every
# number with its own base-R implementation of the formulas below (predict.glm for the
# counterfactual predictions, own variance and delta-method code) and stops unless the two agree
# to 1e-10. Nothing of ipstrial is used.
#
# ---------------------------------------------------------------------------------------------
# The variance (RobinCar2 R/variance_anhecova.R, vcovG and h_get_erb; R/predict_couterfactual.R),
# in my own words. n participants, arms a = 1..K, A_i the arm of i, n_a, pi_a = n_a / n.
#   mu_a(X_i)  prediction of the fitted working model for participant i set to arm a (all i).
#   Bias correction: mu~_a(X_i) = mu_a(X_i) + rbar_a, rbar_a = mean over arm a of (Y - fitted);
#     for the randomization schema "ps" (Pocock-Simon) rbar_a is taken within the stratum of i.
#     (For a canonical-link GLM with intercept and arm terms rbar_a = 0 up to convergence.)
#   theta_a = mean_i mu~_a(X_i);  e_i = Y_i - mu~_{A_i}(X_i).
#   Sample moments with n - 1 denominators (stats::var / stats::cov):
#     S2_a      = var of Y over arm a
#     C_a(b)    = cov over arm a of (Y_i, mu~_b(X_i))
#     Sigma_ab  = cov over ALL n participants of (mu~_a(X_i), mu~_b(X_i))
#     R2_a      = var over arm a of e_i
#   decompose = TRUE  (default):  d_a = [S2_a + Sigma_aa - 2 C_a(a)] / pi_a
#   decompose = FALSE:            d_a = R2_a / pi_a
#     (the two differ only in the variance of the predictions: over all participants vs within
#      arm a, since R2_a = S2_a + var_a(mu~_a) - 2 C_a(a))
#   V_ab = 1{a = b} d_a + C_b(a) + C_a(b) - Sigma_ab
#   Var(theta) = (V - M) / n, with M = 0 for schemas "sr" (simple) and "ps" and when there is a
#   single stratum, and for "pb" (stratified permuted blocks), strata z (all combinations of the
#   strata variables), p_z = n_z / n, r_a(z) = mean of e_i over arm a in stratum z:
#     M_ab = sum_z p_z [1{a = b} r_a(z)^2 / pi_a - r_a(z) r_b(z)]
#   (RobinCar2 writes this as (sum_z p_z r(z) r(z)' / (pi pi')) * (diag(pi) - pi pi'), elementwise.)
#   A stratum lacking an arm gives r_a(z) = NaN in RobinCar2 (mean of nothing), not 0.
# Contrasts (R/treatment_effect.R): estimate f(theta_t, theta_c), Jacobian J, Var = J Var(theta) J',
#   Wald z = (f - f0) / se, p two-sided normal, CI f +- z_{0.975} se:
#   difference t - c; risk_ratio theta_t / theta_c (delta method on the ratio scale, f0 = 1);
#   odds_ratio on the ratio scale; log_risk_ratio and log_odds_ratio on the log scale (f0 = 0),
#   their CIs exponentiated (confint's default transform).
# ---------------------------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(jsonlite)
})
stopifnot(requireNamespace("RobinCar2", quietly = TRUE))
z975 <- qnorm(0.975)
tight <- glm.control(epsilon = 1e-14, maxit = 100)

# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
trial <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
for (v in c("sex", "diagnosis", "education", "site")) {  # reference = first sorted level
  trial[[v]] <- factor(trial[[v]], levels = sort(unique(trial[[v]]), method = "radix"))
}

# simulated three-arm trial: arms A, B, C (control C) allocated 85:65:50 within each of two strata
# (one permuted block per stratum), numeric x1, three-level x2, binary y
set.seed(20240612)
n_sim <- 400
stratum <- rep(c("s1", "s2"), each = n_sim / 2)
arm <- unlist(lapply(1:2, function(s) sample(rep(c("A", "B", "C"), c(85, 65, 50)))))
x1 <- round(rnorm(n_sim, 50, 10), 1)
x2 <- sample(c("u", "v", "w"), n_sim, replace = TRUE, prob = c(0.5, 0.3, 0.2))
lp <- -1 + 0.5 * (arm == "A") + 0.2 * (arm == "B") + 0.04 * (x1 - 50) + 0.6 * (x2 == "v") -
  0.4 * (x2 == "w") + 0.5 * (stratum == "s2")
y <- rbinom(n_sim, 1, plogis(lp))
sim <- data.frame(participant_id = sprintf("B%03d", seq_len(n_sim)), stratum = stratum, arm = arm,
                  x1 = x1, x2 = x2, y = y, stringsAsFactors = FALSE)
write.csv(sim, "tests/reference/data/multiarm_binary.csv", row.names = FALSE)
sim <- read.csv("tests/reference/data/multiarm_binary.csv", stringsAsFactors = FALSE)
for (v in c("x2", "stratum")) sim[[v]] <- factor(sim[[v]], levels = sort(unique(sim[[v]]), method = "radix"))

# R coefficient names -> ipstrial-style names (arm:IPS, sex:male, ...)
term_name <- function(r, factors) {
  r <- sub("^arm(.+)$", "arm:\\1", r)
  for (v in factors) r <- sub(paste0("^", v, "(.+)$"), paste0(v, ":\\1"), r)
  r
}

# ---------------------------------------------------------------------------------------------
# own implementation (base R), used to check RobinCar2's numbers
# ---------------------------------------------------------------------------------------------
own_theta_vcov <- function(fit, d, outcome, levels_, schema, strata, decompose) {
  yv <- d[[outcome]]
  arm_of <- as.character(d$arm)
  n <- nrow(d)
  P <- sapply(levels_, function(a) {
    nd <- d
    nd$arm <- factor(rep(a, n), levels = levels_)
    unname(predict(fit, newdata = nd, type = "response"))
  })
  res_raw <- yv - fitted(fit)
  z <- if (length(strata)) interaction(d[strata], drop = TRUE) else factor(rep("all", n))
  # bias correction: arm means of the raw residuals (within strata for Pocock-Simon)
  corr_groups <- if (schema == "ps") z else factor(rep("all", n))
  for (g in levels(corr_groups)) {
    ig <- corr_groups == g
    for (a in levels_) P[ig, a] <- P[ig, a] + mean(res_raw[ig & arm_of == a])
  }
  theta <- colMeans(P)
  e <- yv - P[cbind(seq_len(n), match(arm_of, levels_))]
  K <- length(levels_)
  pi_a <- sapply(levels_, function(a) mean(arm_of == a))
  C <- matrix(0, K, K)  # C[a, b] = cov over arm a of (Y, mu_b)
  for (a in seq_len(K)) for (b in seq_len(K)) {
    ia <- arm_of == levels_[a]
    C[a, b] <- cov(yv[ia], P[ia, b])
  }
  Sigma <- cov(P)
  dgl <- sapply(seq_len(K), function(a) {
    ia <- arm_of == levels_[a]
    if (decompose) (var(yv[ia]) + Sigma[a, a] - 2 * C[a, a]) / pi_a[a] else var(e[ia]) / pi_a[a]
  })
  V <- diag(dgl, K) + t(C) + C - Sigma
  M <- matrix(0, K, K)
  if (schema == "pb" && nlevels(z) > 1) {
    for (g in levels(z)) {
      ig <- z == g
      r <- sapply(levels_, function(a) mean(e[ig & arm_of == a]))
      M <- M + mean(ig) * (diag(r^2 / pi_a, K) - outer(r, r))
    }
  }
  Vt <- (V - M) / n
  dimnames(Vt) <- list(levels_, levels_)
  list(theta = theta, vcov = Vt)
}
own_contrast <- function(theta, V, t, c, type) {
  th_t <- theta[[t]]
  th_c <- theta[[c]]
  g <- setNames(rep(0, length(theta)), names(theta))
  switch(type,
    difference = { est <- th_t - th_c; g[t] <- 1; g[c] <- -1 },
    risk_ratio = { est <- th_t / th_c; g[t] <- 1 / th_c; g[c] <- -th_t / th_c^2 },
    odds_ratio = { est <- (th_t / (1 - th_t)) / (th_c / (1 - th_c))
                   g[t] <- 1 / (1 - th_t)^2 * (1 - th_c) / th_c
                   g[c] <- -th_t / (1 - th_t) / th_c^2 },
    log_risk_ratio = { est <- log(th_t) - log(th_c); g[t] <- 1 / th_t; g[c] <- -1 / th_c },
    log_odds_ratio = { est <- qlogis(th_t) - qlogis(th_c)
                       g[t] <- 1 / (th_t * (1 - th_t)); g[c] <- -1 / (th_c * (1 - th_c)) })
  c(estimate = est, se = sqrt(drop(t(g) %*% V %*% g)))
}

# ---------------------------------------------------------------------------------------------
# one analysis: RobinCar2 call(s), own check, JSON-ready list
# ---------------------------------------------------------------------------------------------
contrast_types <- c("difference", "risk_ratio", "odds_ratio", "log_risk_ratio", "log_odds_ratio")
analyse <- function(name, data, outcome, covariates, factors, arms, control,
                    schema = "sr", strata = character(0)) {
  d <- data[data$arm %in% arms, ]
  levels_ <- c(control, setdiff(arms, control))
  d$arm <- factor(d$arm, levels = levels_)
  rownames(d) <- NULL
  f <- as.formula(paste(outcome, "~", paste(c("arm", covariates), collapse = " + ")))
  treat <- if (length(strata)) {
    as.formula(sprintf("arm ~ %s(%s)", schema, paste(strata, collapse = ", ")))
  } else {
    arm ~ 1
  }
  treatments <- setdiff(levels_, control)
  pair <- RobinCar2::against_ref(levels_, ref = control, x = treatments)
  run <- function(contrast, decompose) {
    suppressWarnings(RobinCar2::robin_glm(
      f, data = d, treatment = treat, contrast = contrast, family = binomial(),
      vcov = "vcovG", vcov_args = list(decompose = decompose), pair = pair, control = tight))
  }
  fit <- glm(f, family = binomial(), data = d, control = tight)
  stopifnot(fit$converged)
  beta <- coef(fit)
  se_beta <- sqrt(diag(vcov(fit)))
  variances <- list()
  max_diff <- 0
  for (dec in c(TRUE, FALSE)) {
    key <- if (dec) "decompose_true" else "decompose_false"
    own <- own_theta_vcov(fit, d, outcome, levels_, schema, strata, dec)
    contrasts <- list()
    for (ct in contrast_types) {
      res <- run(ct, dec)
      mm <- res$marginal_mean
      stopifnot(identical(names(mm$estimate), levels_))
      if (ct == "difference") {
        theta <- mm$estimate
        V <- mm$variance
        stopifnot(max(abs(coef(mm$fit) - beta)) < 1e-10)
        max_diff <- max(max_diff, abs(theta - own$theta), abs(V - own$vcov))
      }
      cm <- res$contrast$contrast_mat
      ci <- suppressMessages(confint(res$contrast, level = 0.95))  # exponentiated for log contrasts
      contrasts[[ct]] <- lapply(seq_along(treatments), function(j) {
        o <- own_contrast(own$theta, own$vcov, treatments[j], control, ct)
        max_diff <<- max(max_diff, abs(o - cm[j, c("Estimate", "Std.Err")]))
        entry <- list(contrast = paste(treatments[j], "vs", control), label = rownames(cm)[j],
                      estimate = unname(cm[j, "Estimate"]), se = unname(cm[j, "Std.Err"]),
                      z = unname(cm[j, "Z Value"]), p_value = unname(cm[j, "Pr(>|z|)"]),
                      ci_low = unname(ci[j, 2]), ci_high = unname(ci[j, 3]), ci_scale = "estimate")
        if (startsWith(ct, "log_")) {  # estimate/se on the log scale, the CI exponentiated
          entry$ci_scale <- "ratio (exp of the log-scale Wald limits)"
          entry$ratio <- exp(entry$estimate)
        }
        entry
      })
    }
    variances[[key]] <- list(vcov = unname(V), se = unname(sqrt(diag(V))),
                             ci_low = unname(theta - z975 * sqrt(diag(V))),
                             ci_high = unname(theta + z975 * sqrt(diag(V))),
                             contrasts = contrasts)
  }
  stopifnot(max_diff < 1e-10)
  list(
    name = name, outcome = outcome, covariates = covariates,
    working_model_arms = levels_, control = control, treatments = I(treatments),
    randomization = list(schema = schema, strata = I(strata),
                         treatment_formula = paste(deparse(treat), collapse = "")),
    n = nrow(d), n_per_arm = as.list(table(d$arm)),
    glm = list(term = term_name(names(beta), factors), r_term = names(beta),
               estimate = unname(beta), se = unname(se_beta), deviance = fit$deviance,
               iterations = fit$iter),
    arms = levels_, theta = as.list(theta),
    variances = variances,
    own_implementation_max_abs_diff = max_diff
  )
}

ik_cov <- c("age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use")
ik_fac <- c("sex", "diagnosis", "education")
sim_cov <- c("x1", "x2")
three_ik <- c("IPS", "IPSE", "SAU")
three_sim <- c("A", "B", "C")
out <- list(
  source = "tests/reference/marginal_multiarm.R",
  r_version = R.version.string,
  robincar2_version = as.character(packageVersion("RobinCar2")),
  robincar2_commit = "43ba7c1659061a68cc23c0689ce65dba757c821e",
  robincar2_call = paste("RobinCar2::robin_glm(y ~ arm + covariates, data, treatment = arm ~ 1",
                         "(or arm ~ pb(strata) / ps(strata)), contrast, family = binomial(), vcov = 'vcovG',",
                         "vcov_args = list(decompose = TRUE/FALSE), pair = against_ref(levels, control),",
                         "control = glm.control(epsilon = 1e-14, maxit = 100))"),
  note = paste("theta per arm; variances$decompose_*$vcov is Var(theta) with rows/columns in the order of",
               "'arms' (control first); contrasts vs control; risk_ratio / odds_ratio on the ratio scale,",
               "log_* on the log scale with exponentiated CIs"),
  inklusion = list(
    data = "data/synthetic/inklusion.csv",
    three_arm = analyse("inklusion_three_arm", trial, "employed_18m", ik_cov, ik_fac, three_ik, "SAU"),
    two_arm_ips = analyse("inklusion_two_arm_IPS_SAU", trial, "employed_18m", ik_cov, ik_fac,
                          c("IPS", "SAU"), "SAU"),
    two_arm_ipse = analyse("inklusion_two_arm_IPSE_SAU", trial, "employed_18m", ik_cov, ik_fac,
                           c("IPSE", "SAU"), "SAU"),
    three_arm_pb_site = analyse("inklusion_three_arm_pb_site", trial, "employed_18m", ik_cov, ik_fac,
                                three_ik, "SAU", schema = "pb", strata = "site"),
    three_arm_ps_site = analyse("inklusion_three_arm_ps_site", trial, "employed_18m", ik_cov, ik_fac,
                                three_ik, "SAU", schema = "ps", strata = "site"),
    # two randomisation strata variables (all 6 site x employed_prev5y cells occupied); with
    # decompose = FALSE this is the "ye_strata" variance of tests/reference/marginal_effects.R
    three_arm_pb_site_prev5y = analyse("inklusion_three_arm_pb_site_prev5y", trial, "employed_18m",
                                       ik_cov, ik_fac, three_ik, "SAU", schema = "pb",
                                       strata = c("site", "employed_prev5y")),
    two_arm_ips_pb_site = analyse("inklusion_two_arm_IPS_SAU_pb_site", trial, "employed_18m", ik_cov,
                                  ik_fac, c("IPS", "SAU"), "SAU", schema = "pb", strata = "site")
  ),
  simulated = list(
    data = "tests/reference/data/multiarm_binary.csv",
    three_arm = analyse("sim_three_arm", sim, "y", sim_cov, "x2", three_sim, "C"),
    two_arm_a = analyse("sim_two_arm_A_C", sim, "y", sim_cov, "x2", c("A", "C"), "C"),
    two_arm_b = analyse("sim_two_arm_B_C", sim, "y", sim_cov, "x2", c("B", "C"), "C"),
    three_arm_pb_stratum = analyse("sim_three_arm_pb_stratum", sim, "y", sim_cov, "x2", three_sim, "C",
                                   schema = "pb", strata = "stratum")
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "tests/reference/marginal_multiarm.json")
