# Reference values for ipstrial.survival.competing: Aalen-Johansen cumulative incidence and its
# variance (cmprsk::cuminc), Gray's K-sample test (cuminc's Tests), the Fine-Gray model
# (cmprsk::crr) and the cause-specific Cox model (survival::coxph, Efron ties).
# Run from the repository root:  Rscript tests/reference/survival_competing.R
# Writes tests/reference/survival_competing.json.
# Data: tests/reference/data/mgus2.csv (event 1 progression, 2 death; arm female/male) and the
# committed synthetic trial data/synthetic/inklusion.csv (days_to_job, event 0/1/2, arm IPS/IPSE/SAU).
suppressPackageStartupMessages({
  library(cmprsk)
  library(survival)
})
mg <- read.csv("tests/reference/data/mgus2.csv", stringsAsFactors = FALSE)
ik <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
out <- list(R = R.version.string, cmprsk = as.character(packageVersion("cmprsk")),
            survival = as.character(packageVersion("survival")))
z975 <- qnorm(0.975)

# every curve cuminc returns: all corners of the step function (time, est, var)
curves <- function(ci) {
  lapply(setdiff(names(ci), "Tests"), function(nm) {
    parts <- strsplit(nm, " ")[[1]]
    list(arm = paste(parts[-length(parts)], collapse = " "), cause = as.integer(parts[length(parts)]),
         time = ci[[nm]]$time, est = ci[[nm]]$est, var = ci[[nm]]$var)
  })
}
tests <- function(ci) {
  t <- ci$Tests
  lapply(seq_len(nrow(t)), function(i) list(cause = as.integer(rownames(t)[i]), stat = t[i, "stat"],
    p = t[i, "pv"], p_upper = pchisq(t[i, "stat"], t[i, "df"], lower.tail = FALSE), df = t[i, "df"]))
}
# values at chosen times (timepoints), with the log(-log) pointwise 95% interval of Pintilie (2006)
at_times <- function(ci, times) {
  tp <- timepoints(ci[setdiff(names(ci), "Tests")], times)
  est <- tp$est; v <- tp$var
  se <- sqrt(v)
  lo <- est^exp(z975 * se / (est * log(est)))
  hi <- est^exp(-z975 * se / (est * log(est)))
  lapply(seq_len(nrow(est)), function(i) {
    parts <- strsplit(rownames(est)[i], " ")[[1]]
    list(arm = paste(parts[-length(parts)], collapse = " "), cause = as.integer(parts[length(parts)]),
         time = times, est = unname(est[i, ]), var = unname(v[i, ]),
         ci_low = unname(pmin(lo[i, ], hi[i, ])), ci_high = unname(pmax(lo[i, ], hi[i, ])))
  })
}
grid <- c(0, 30, 91, 182, 365, 548, 730, 913)

cuminc_case <- function(name, d, time, event, arm, strata = NULL, rho = 0, times = NULL) {
  ci <- if (is.null(strata)) {
    cuminc(d[[time]], d[[event]], d[[arm]], rho = rho)
  } else {
    cuminc(d[[time]], d[[event]], d[[arm]], d[[strata]], rho = rho)
  }
  res <- list(name = name, time = time, arms = sort(unique(d[[arm]])), strata = strata, rho = rho,
              curves = curves(ci), tests = tests(ci))
  if (!is.null(times)) res$at <- at_times(ci, times)
  res
}

ik2 <- ik[ik$arm %in% c("IPS", "SAU"), ]
ik$weeks <- ceiling(ik$days_to_job / 7)
# zero durations: the first 8 participants (in file order) with each event code get duration 0
zero <- sort(unlist(lapply(0:2, function(k) which(ik$event == k)[1:8])))
ik0 <- ik
ik0$days_to_job[zero] <- 0
out$zero_ids <- ik$participant_id[zero]
# for crr, zero durations only for events (codes 1 and 2): with censorings also at time 0, crr
# evaluates the censoring Kaplan-Meier at 0 * (1 - 100 eps) = 0, i.e. G(0) instead of G(0-) = 1
zero_events <- sort(unlist(lapply(1:2, function(k) which(ik$event == k)[1:8])))
ik0e <- ik
ik0e$days_to_job[zero_events] <- 0
out$zero_event_ids <- ik$participant_id[zero_events]

out$cuminc <- list(
  cuminc_case("mgus2", mg, "time", "event", "arm", times = c(0, 12, 60, 120, 240, 360, 400)),
  cuminc_case("mgus2_rho1", mg, "time", "event", "arm", rho = 1),
  cuminc_case("inklusion_ips_sau", ik2, "days_to_job", "event", "arm", times = grid),
  cuminc_case("inklusion_3arm", ik, "days_to_job", "event", "arm", times = grid),
  cuminc_case("inklusion_3arm_site", ik, "days_to_job", "event", "arm", strata = "site"),
  cuminc_case("inklusion_ips_sau_site", ik2, "days_to_job", "event", "arm", strata = "site"),
  cuminc_case("inklusion_weekly", ik, "weeks", "event", "arm", times = c(0, 4, 13, 26, 52, 78, 131)),
  cuminc_case("inklusion_zero", ik0, "days_to_job", "event", "arm", times = c(0, 1, 30, 548))
)

# Fine-Gray (crr: KM censoring weights over all participants, no cengroup) and cause-specific Cox
crr_case <- function(name, d, time, event, arm, treatment, control, covariates = character(0),
                     cause = 1) {
  d <- d[d[[arm]] %in% c(treatment, control), ]
  x <- sapply(treatment, function(a) as.numeric(d[[arm]] == a))
  x <- matrix(x, ncol = length(treatment), dimnames = list(NULL, treatment))
  for (cv in covariates) x <- cbind(x, setNames(data.frame(d[[cv]]), cv))
  x <- as.matrix(x)
  fit <- crr(d[[time]], d[[event]], x, failcode = cause)
  # crr stops when a function of the score is below gtol = 1e-6 (at most 10 Newton steps);
  # the refined fit iterates to the maximum of the pseudo-likelihood
  ref <- crr(d[[time]], d[[event]], x, failcode = cause, gtol = 1e-13, maxiter = 100)
  se <- sqrt(diag(ref$var))
  cs <- coxph(Surv(d[[time]], d[[event]] == cause) ~ x, ties = "efron")
  cs_se <- sqrt(diag(cs$var))
  list(name = name, time = time, treatment = treatment, control = control, covariates = covariates,
       cause = cause, n = nrow(d), terms = colnames(x),
       coef_default = unname(fit$coef), se_default = unname(sqrt(diag(fit$var))),
       converged_default = fit$converged,
       coef = unname(ref$coef), se = unname(se), p = unname(2 * pnorm(-abs(ref$coef / se))),
       loglik = ref$loglik, loglik_null = ref$loglik.null, converged = ref$converged,
       information = unname(ref$inf),
       cs_coef = unname(coef(cs)), cs_se = unname(cs_se),
       cs_p = unname(2 * pnorm(-abs(coef(cs) / cs_se))))
}
out$crr <- list(
  crr_case("mgus2", mg, "time", "event", "arm", "male", "female", "age"),
  crr_case("mgus2_cause2", mg, "time", "event", "arm", "male", "female", "age", cause = 2),
  crr_case("inklusion_ips_sau", ik, "days_to_job", "event", "arm", "IPS", "SAU"),
  crr_case("inklusion_ips_sau_cov", ik, "days_to_job", "event", "arm", "IPS", "SAU",
           c("age", "employed_prev5y", "substance_use")),
  crr_case("inklusion_3arm", ik, "days_to_job", "event", "arm", c("IPS", "IPSE"), "SAU"),
  crr_case("inklusion_weekly_cov", ik, "weeks", "event", "arm", "IPS", "SAU",
           c("age", "employed_prev5y", "substance_use")),
  crr_case("inklusion_zero", ik0e, "days_to_job", "event", "arm", c("IPS", "IPSE"), "SAU", "age")
)
jsonlite::write_json(out, "tests/reference/survival_competing.json", digits = NA, auto_unbox = TRUE,
                     pretty = TRUE)
