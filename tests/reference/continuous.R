# Reference values for ipstrial.itt.continuous (tests/test_continuous.py).
#
# Run from the repository root:  Rscript tests/reference/continuous.R
# Writes tests/reference/continuous.json. Needs R >= 4.2 with MASS, sandwich and jsonlite.
# Data: data/synthetic/inklusion.csv (the committed 720-participant synthetic trial).
#
# Hours (hours_18m) are analysed on complete cases (participants with hours_18m observed); weeks
# (weeks_employed_18m) have no missing values and are analysed on all 720 participants.
# Covariates: age, sex, diagnosis, education, employed_prev5y, substance_use; text covariates are
# factors with the alphabetically first level as reference (as ipstrial's design_matrix does), arm
# has SAU as reference. Models named "all" are fitted to the three arms together (one model, arm
# coefficients IPS and IPSE vs SAU, as ipstrial does for treatment=["IPS", "IPSE"]); models named
# "pair" to IPS and SAU only (treatment="IPS").

suppressPackageStartupMessages({
  library(MASS)
  library(sandwich)
  library(jsonlite)
})

d <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c("SAU", "IPS", "IPSE"))
for (v in c("sex", "diagnosis", "education")) d[[v]] <- factor(d[[v]], levels = sort(unique(d[[v]])))
covs <- "age + sex + diagnosis + education + employed_prev5y + substance_use"
h <- d[!is.na(d$hours_18m), ]
tight <- glm.control(epsilon = 1e-12, maxit = 100)
# glm's convergence test is on the relative change of the deviance, which is quadratic in the error of
# the coefficients: at the default 1e-8 the Gamma(log) coefficients are still off by about 1e-5 (the
# g-computation means by about 1e-6 relative). The two-part reference is therefore iterated until the
# deviance no longer changes in double precision; the largest remaining score component is recorded.
converged <- glm.control(epsilon = 1e-16, maxit = 1000)

out <- list(
  r_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")),
                  sandwich = as.character(packageVersion("sandwich"))),
  n_hours = nrow(h), n_weeks = nrow(d)
)

# ---- Welch t test and Wilcoxon rank-sum / Hodges-Lehmann, hours, each treatment vs SAU ----------
for (tr in c("IPS", "IPSE")) {
  x <- h$hours_18m[h$arm == tr]
  y <- h$hours_18m[h$arm == "SAU"]
  tt <- t.test(x, y, var.equal = FALSE)
  wt <- wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE)
  out[[paste0("welch_", tr)]] <- list(
    difference = unname(tt$estimate[1] - tt$estimate[2]), se = tt$stderr, df = unname(tt$parameter),
    ci = unname(as.numeric(tt$conf.int)), p = tt$p.value, n_treatment = length(x), n_control = length(y)
  )
  out[[paste0("wilcox_", tr)]] <- list(
    estimate = unname(wt$estimate), ci = unname(as.numeric(wt$conf.int)), p = wt$p.value,
    W = unname(wt$statistic)
  )
}
for (a in levels(d$arm)) {
  tt <- t.test(h$hours_18m[h$arm == a])
  out[[paste0("mean_", a)]] <- list(mean = unname(tt$estimate), se = tt$stderr,
                                    ci = unname(as.numeric(tt$conf.int)), n = sum(h$arm == a))
}

# ---- covariate-adjusted mean difference: OLS with HC0 and HC3 sandwich SEs ------------------------
lm_ref <- function(data, arms) {
  fit <- lm(as.formula(paste("hours_18m ~ arm +", covs)), data = data)
  res <- list(df_residual = fit$df.residual)
  for (tr in arms) {
    k <- paste0("arm", tr)
    se0 <- sqrt(vcovHC(fit, type = "HC0")[k, k])
    se3 <- sqrt(vcovHC(fit, type = "HC3")[k, k])
    b <- unname(coef(fit)[k])
    res[[tr]] <- list(estimate = b, se_model = summary(fit)$coefficients[k, 2], se_HC0 = se0,
                      se_HC3 = se3, p_HC3 = 2 * pt(abs(b / se3), fit$df.residual, lower.tail = FALSE))
  }
  res
}
out$lm_all <- lm_ref(h, c("IPS", "IPSE"))
hp <- droplevels(h[h$arm %in% c("SAU", "IPS"), ])
out$lm_pair <- lm_ref(hp, "IPS")

# ---- negative binomial (NB2) for weeks: theta by maximum likelihood, HC0 sandwich ------------------
# MASS::glm.nb alternates a glm fit for fixed theta with theta.ml (Newton's method for theta given
# the fitted means, started at the moment estimate). On weeks_employed_18m of this data set (47 %
# zeros, the others mostly 20-60 weeks) that Newton iteration leaves the admissible range (theta < 0
# at the first steps, moment start 0.53, maximum likelihood 0.233), and glm.nb ends near theta = 1e5,
# i.e. close to a Poisson fit, with "iteration limit reached" warnings. The reference for the full data
# is therefore the same maximum likelihood estimate found safely: the root of the profile score
#   sum(digamma(theta + y) - digamma(theta) + log(theta) + 1 - log(theta + mu) - (y + theta)/(theta + mu))
# with mu the glm fit for fixed theta (negative.binomial(theta), log link; by the envelope theorem the
# profile score is the partial score at the fitted means), found by uniroot on log(theta); then the
# glm with that theta fixed and sandwich::vcovHC(type = "HC0") on it, as on a glm.nb fit. glm.nb's
# failed result is recorded too (nb_glmnb_all). glm.nb itself is the reference on the participants with
# weeks > 0 (nb_glmnb_positive), where its iteration converges.
fnb <- as.formula(paste("weeks_employed_18m ~ arm +", covs))
nb_summary <- function(fit, theta, arms = c("IPS", "IPSE")) {
  v <- vcovHC(fit, type = "HC0")
  res <- list(theta = theta, loglik = as.numeric(logLik(fit)), coefficients = as.list(coef(fit)),
              se_HC0_all = as.list(sqrt(diag(v))), n = nobs(fit))
  for (tr in arms) {
    k <- paste0("arm", tr)
    res[[tr]] <- list(estimate = unname(coef(fit)[k]), se_HC0 = sqrt(v[k, k]),
                      se_model = summary(fit, dispersion = 1)$coefficients[k, 2])
  }
  res
}
fixed_theta_fit <- function(theta, data) {
  glm(fnb, family = negative.binomial(theta), data = data, control = glm.control(epsilon = 1e-13, maxit = 100))
}
profile_score <- function(log_theta, data) {
  th <- exp(log_theta)
  mu <- fitted(fixed_theta_fit(th, data))
  y <- data$weeks_employed_18m
  sum(digamma(th + y) - digamma(th) + log(th) + 1 - log(th + mu) - (y + th) / (th + mu))
}
root <- uniroot(profile_score, log(c(0.1, 2)), data = d, tol = 1e-13)
theta_all <- exp(root$root)
out$nb_profile_all <- nb_summary(fixed_theta_fit(theta_all, d), theta_all)
out$nb_profile_all$uniroot_estim_prec <- root$estim.prec
failed <- withCallingHandlers(glm.nb(fnb, data = d), warning = function(w) invokeRestart("muffleWarning"))
out$nb_glmnb_all <- list(theta = failed$theta, loglik = as.numeric(logLik(failed)),
                         note = "glm.nb did not reach the maximum (theta.ml iteration limit reached)")
pos <- d[d$weeks_employed_18m > 0, ]
for (ctl in c("default", "tight")) {
  fit <- glm.nb(fnb, data = pos, control = if (ctl == "tight") tight else glm.control())
  out[[paste0("nb_glmnb_positive_", ctl)]] <- c(nb_summary(fit, fit$theta), list(se_theta = fit$SE.theta))
}

# ---- two-part model for hours: logistic P(hours > 0), Gamma(log) among positives, g-computation ----
two_part_ref <- function(control) {
  h$positive <- as.numeric(h$hours_18m > 0)
  p1 <- glm(as.formula(paste("positive ~ arm +", covs)), family = binomial, data = h, control = control)
  p2 <- glm(as.formula(paste("hours_18m ~ arm +", covs)), family = Gamma(link = "log"),
            data = h[h$positive == 1, ], control = control)
  means <- list()
  for (a in levels(h$arm)) {
    nd <- h
    nd$arm <- factor(a, levels = levels(h$arm))
    means[[a]] <- mean(predict(p1, nd, type = "response") * predict(p2, nd, type = "response"))
  }
  score1 <- max(abs(crossprod(model.matrix(p1), h$positive - fitted(p1))))
  score2 <- max(abs(crossprod(model.matrix(p2), h$hours_18m[h$positive == 1] / fitted(p2) - 1)))
  list(logit = as.list(coef(p1)), gamma = as.list(coef(p2)), means = means, max_score_logit = score1,
       max_score_gamma = score2,
       difference_IPS = means$IPS - means$SAU, difference_IPSE = means$IPSE - means$SAU,
       n = nrow(h), n_positive = sum(h$positive))
}
out$two_part_default <- two_part_ref(glm.control())
out$two_part_converged <- two_part_ref(converged)

# ---- Hodges-Lehmann at the edge of definability: one participant against two, and one against one --------
tiny <- wilcox.test(3, c(5, 6), conf.int = TRUE, exact = FALSE, correct = TRUE)
out$wilcox_one_vs_two <- list(x = 3, y = c(5, 6), estimate = unname(tiny$estimate),
                              ci = unname(as.numeric(tiny$conf.int)), p = tiny$p.value, W = unname(tiny$statistic))
one <- tryCatch(wilcox.test(541.4, 0, conf.int = TRUE, exact = FALSE), error = function(e) conditionMessage(e))
out$wilcox_one_vs_one_error <- if (is.character(one)) one else "no error"

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/continuous.json")
