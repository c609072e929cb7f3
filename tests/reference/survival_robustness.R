# Reference values for the numerical-robustness features of ipstrial.survival: Cox models near
# (and at) separation, Breslow ties beside Efron, the Kaplan-Meier median / quantiles and their
# confidence limits (survfit's quantile rule), merging of times that differ by floating-point
# noise (survival's timefix / aeqSurv), and Gray's test for several weight powers rho.
#
# Run from the repository root:  Rscript tests/reference/survival_robustness.R
# Writes tests/reference/survival_robustness.json and the datasets it builds:
#   tests/reference/data/cox_separation.csv     (section a)
#   tests/reference/data/km_quantile_cases.csv  (section c)
#   tests/reference/data/timefix_ties.csv       (section d)
# Other data: tests/reference/data/lung.csv, tests/reference/data/mgus2.csv (from
# tests/reference/data/export.R) and the committed synthetic trial data/synthetic/inklusion.csv.
#
# Independence: every number comes from R's survival (coxph, survfit, quantile.survfit,
# survdiff, aeqSurv) and cmprsk (cuminc); nothing of ipstrial is used or re-implemented here.
#
# JSON conventions: written by jsonlite with digits = NA (15 significant digits) and na = "null",
# so R's NA -- and also NaN, Inf and -Inf -- appear as JSON null. In the quantile/median output
# (section c) a null limit is R's NA: the confidence curve never reaches 1 - p where it is defined
# (ipstrial reports that as "not reached" / infinity for an upper limit; see case tie_to_zero for a
# lower limit that is NA although the median itself is reached). Times of section d are stored
# both as numbers and as offsets from 10 (time_minus_10), because 15 digits do not resolve 1e-13.
#
# ---------------------------------------------------------------------------------------------
# (c) survfit's quantile rule (survival 3.5-3, quantile.survfit -> doquant -> findq), restated:
#   For probability p take the curve F(t) = 1 - S(t) as the points (x, y) = (c(0, time),
#   c(0, 1 - surv)) over ALL rows of the survfit object (event and censoring times), keep only the
#   first x of each distinct y, tol = sqrt(.Machine$double.eps) ~ 1.49e-8.
#   * quantile = first time with 1 - S(t) >= p - tol; if 1 - S equals p within tol on a stretch
#     [t_j, t_{j+1}) (t_{j+1} the next time the curve moves), the quantile is (t_j + t_{j+1}) / 2;
#     if that flat stretch is the END of the curve (no later drop; the last row may be a censoring),
#     the quantile is (t_j + t_max) / 2 with t_max the last time in the survfit object.
#   * never reaching p (max(1 - S) < p)  ->  NA.
#   * confidence limits: the SAME rule applied to the lower confidence curve (gives the lower limit)
#     and to the upper confidence curve (gives the upper limit). Rows where a curve is NA (log and
#     log-log at S = 0; plain gives NaN there because std.err is Inf) are skipped, so a limit is NA
#     when the curve never reaches 1 - p where it is defined.
#   summary(fit)$table median / 0.95LCL / 0.95UCL use a DIFFERENT helper (survmean's minmin):
#   keep rows with S < 0.5 + tol (NA rows dropped); the median is the first such time, except that
#   if that first S is 0.5 within tol AND the curve later drops below it, it is the midpoint of that
#   time and the time of the drop. With S = 0.5 to the end of the curve (case flat_half_to_end) the
#   table gives t_j while quantile() gives (t_j + t_max) / 2 -- both are recorded.
#   survfit's default conf.type is "log"; the cases record "log-log", "log" and "plain".
#
# (d) aeqSurv (survival 3.5-3; used by survfit, survdiff and coxph when timefix = TRUE), restated:
#   y = sorted unique finite values of the time column(s) of the Surv object (for (start, stop]
#   data both columns), dy = diff(y), tol = sqrt(.Machine$double.eps) ~ 1.49e-8. Neighbours are
#   tied if dy <= tol (ABSOLUTE) or dy / mean(abs(y)) <= tol (RELATIVE to the mean absolute unique
#   time -- not to the range). cuts = y[c(TRUE, !tied)] (the first value of each run of tied
#   neighbours; runs chain, so a run may span more than tol in total) and every time is replaced by
#   cuts[findInterval(time, cuts)], i.e. the SMALLEST value of its run. Status is untouched.
#   survdiff(timefix = FALSE) fails in survival 3.5-3 ("variable lengths differ (found for
#   '(timefix)')": survdiff hands timefix on to model.frame), so the unmerged log-rank test is
#   computed with survival:::survdiff.fit on the raw Surv object (what survdiff would do without
#   the aeqSurv call). coxph's score test (ties = "breslow") is recorded too: it equals the
#   log-rank statistic only without ties (timefix = FALSE here: 16.60 both); with the merged tie
#   of 80 events it is 0.27 against survdiff's 1.80, since the log-rank variance has the
#   hypergeometric tie correction (n - d) / (n - 1) and the Cox score variance has not.
#   In this dataset Efron and Breslow give the same coefficient under timefix = TRUE (the tied
#   deaths are 40 + 40 of a risk set of 45 + 45, so Efron's reduced risk sets are proportional to
#   the full one); their log-likelihoods differ.
#
# (e) Gray's test weight (cmprsk src/crstm.f): at each time the score increment is multiplied by
#   (1 - F(t-))^rho, F the pooled (all groups) cumulative incidence of the tested cause, left
#   continuous. cuminc() does not check rho: any finite value is passed on; NA / Inf stop in the
#   Fortran call, and very negative rho overflows the weight ((1 - F)^rho = Inf) so that qr() stops
#   ("NA/NaN/Inf in foreign function call (arg 1)"); where that happens depends on the data (the
#   variance carries the squared weight): mgus2 fails for rho below about -237, the synthetic
#   trial below about -339 (found by bisection). Large positive rho (even 1e6) is accepted. The
#   probes are recorded under gray_rho_probe.
# ---------------------------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
out <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
            cmprsk = as.character(packageVersion("cmprsk")),
            jsonlite = as.character(packageVersion("jsonlite")))

# run an expression, collecting its warnings (muffled) and an error message (if any)
capture <- function(expr) {
  warn <- character(0)
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(conditionMessage(e), class = "captured_error")),
    warning = function(w) {
      warn <<- c(warn, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(value = value, warnings = trimws(warn), error = inherits(value, "captured_error"))
}

# one coxph fit: coefficients, 95% Wald intervals of exp(coef), log partial likelihoods,
# iterations and the warnings coxph gave
cox_ref <- function(name, formula, data, ties, timefix = TRUE, tight = FALSE) {
  control <- if (tight) {
    coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 200, timefix = timefix)
  } else {
    coxph.control(timefix = timefix)
  }
  res <- capture(coxph(formula, data = data, ties = ties, control = control))
  fit <- res$value
  s <- summary(fit, conf.int = 0.95)
  cf <- s$coefficients
  ci <- s$conf.int
  list(name = name, ties = ties, timefix = timefix, control = if (tight) "tight" else "default",
       eps = control$eps, iter_max = control$iter.max, n = fit$n, nevent = fit$nevent,
       iter = fit$iter, warnings = I(res$warnings),
       term = I(rownames(cf)), coef = I(unname(cf[, "coef"])), se = I(unname(cf[, "se(coef)"])),
       hr = I(unname(cf[, "exp(coef)"])), ci_low = I(unname(ci[, "lower .95"])),
       ci_high = I(unname(ci[, "upper .95"])), z = I(unname(cf[, "z"])),
       p = I(unname(cf[, "Pr(>|z|)"])),
       loglik_null = fit$loglik[1], loglik = fit$loglik[2],
       score_test = unname(fit$score), wald_test = unname(fit$wald.test))
}

# =============================================================================================
# (a) Cox near separation, and true separation
# ---------------------------------------------------------------------------------------------
# 200 participants, arms T / C alternating, covariate grp: 180 participants in a, b (a, a, b, b,
# ...) and 20 in level c. Levels a, b: exponential times after a common delay of 10 (nobody in a or
# b has an event before time 10), log-hazard 0.4 [T] + 0.3 [b], uniform censoring on (60, 310).
# Level c: 19 events at early times on a half-unit grid in (0, 10] (ties among them), the 20th
# participant censored at 10.5 -- just after the early events, so level c's coefficient is large
# but finite. near_k: additionally participants 1..k (level a) have an event at 10 j / (k + 1),
# j = 1..k, among level c's events; each such interleaved event pulls the coefficient down.
# separated: no interleaved events and the 20th participant of level c has an event too (at its
# drawn early time), so all 20 of level c fail before anybody else: the partial likelihood
# increases monotonically in grp c's coefficient (its maximum is at +infinity).
# lifelines 0.30.3 (checked in Python, not by this script): near_1 converges; near_2 and near_3 stop
# with ConvergenceError "delta contains nan value(s)" (exp overflow in the first Newton steps),
# near_4 with ConvergenceError "matrix inversion problems"; step_size=0.5 fixes all three. See the
# JSON field lifelines_check. fits: coxph's default control (eps 1e-9, iter.max 20; near_2 with Efron
# ties needs all 20 iterations); fits_tight: eps 1e-12, iter.max 200 -- the values to compare at
# 1e-8 or better (the default fits differ from them by up to 6e-10 in the coefficients).
gen_separation <- function(config) {
  set.seed(20240611)
  n <- 200
  nc <- 20
  arm <- rep(c("T", "C"), length.out = n)
  grp <- c(rep(c("a", "a", "b", "b"), length.out = n - nc), rep("c", nc))
  lp <- 0.4 * (arm == "T") + 0.3 * (grp == "b")
  time <- 10 + rexp(n, 0.01 * exp(lp))
  cens <- runif(n, 60, 310)
  event <- as.integer(time <= cens)
  time <- round(pmin(time, cens), 3)
  ic <- which(grp == "c")
  early <- sort(ceiling(2 * runif(nc, 0, 10)) / 2)
  if (config == "separated") {
    time[ic] <- early
    event[ic] <- 1L
  } else {
    time[ic] <- c(early[1:(nc - 1)], 10.5)
    event[ic] <- c(rep(1L, nc - 1), 0L)
    k <- as.integer(sub("near_", "", config))
    if (k > 0) {
      j <- seq_len(k)
      time[j] <- round(10 * j / (k + 1), 3)
      event[j] <- 1L
    }
  }
  data.frame(config = config, participant_id = sprintf("S%03d", seq_len(n)), arm = arm, grp = grp,
             time = time, event = event, stringsAsFactors = FALSE)
}
sep_configs <- c("near_1", "near_2", "near_3", "near_4", "separated")
sep_data <- do.call(rbind, lapply(sep_configs, gen_separation))
write.csv(sep_data, "tests/reference/data/cox_separation.csv", row.names = FALSE)
sep_data <- read.csv("tests/reference/data/cox_separation.csv", stringsAsFactors = FALSE)
sep_data$arm <- factor(sep_data$arm, levels = c("C", "T"))
sep_data$grp <- factor(sep_data$grp, levels = c("a", "b", "c"))
out$separation <- lapply(sep_configs, function(cfg) {
  d <- sep_data[sep_data$config == cfg, ]
  ic <- d$grp == "c"
  list(config = cfg, n = nrow(d), grp_c_n = sum(ic), grp_c_events = sum(d$event[ic]),
       first_event_outside_c = min(d$time[!ic & d$event == 1]),
       fits = lapply(c("efron", "breslow"), function(ties)
         cox_ref(cfg, Surv(time, event) ~ arm + grp, d, ties)),
       fits_tight = lapply(c("efron", "breslow"), function(ties)
         cox_ref(cfg, Surv(time, event) ~ arm + grp, d, ties, tight = TRUE)))
})
# lifelines' behaviour on these data, observed OUTSIDE this script (lifelines 0.30.3, numpy 2.4.6,
# the repository's Python venv): CoxPHFitter().fit(df, "time", "event") on the columns armT, grpb,
# grpc (0/1 dummies), time, event of each configuration; Efron ties (lifelines has no Breslow).
# Recorded here as plain text for the Python tests; R's coxph converges for every near_k.
lifelines_step <- paste("fit_options step_size = 0.5 converges (grpc coefficient within 1e-4 of R's Efron fit;",
              "within 5e-9 when also given the ipstrial options)")
out$lifelines_check <- list(
  version = "0.30.3",
  how = paste("CoxPHFitter().fit(df[['armT','grpb','grpc','time','event']], 'time', 'event');",
              "'ipstrial options' = fit_options={'precision': 1e-12, 'r_precision': 1e-15, 'max_steps': 200}"),
  results = list(
    list(config = "near_1", default = "converges (grpc coefficient within about 1e-5 of R's Efron fit)",
         ipstrial_options = "converges (matches R Efron to about 1e-8)", step_size_0.5 = "converges"),
    list(config = "near_2",
         default = "ConvergenceError: delta contains nan value(s). Convergence halted.",
         default_warnings = "RuntimeWarning overflow encountered in exp; LinAlgWarning ill-conditioned matrix",
         ipstrial_options = "same ConvergenceError", step_size_0.5 = lifelines_step),
    list(config = "near_3",
         default = "ConvergenceError: delta contains nan value(s). Convergence halted.",
         ipstrial_options = "same ConvergenceError", step_size_0.5 = lifelines_step),
    list(config = "near_4",
         default = paste("ConvergenceError: Convergence halted due to matrix inversion problems.",
                         "Suspicion is high collinearity. ... A singular matrix detected: slice(s) [0] are singular."),
         ipstrial_options = "same ConvergenceError", step_size_0.5 = lifelines_step),
    list(config = "separated",
         default = paste("no exception; grpc coefficient 22.03 (se 2152); ConvergenceWarning 'Column grpc have very",
                         "low variance when conditioned on death event present or not. ... complete separation'",
                         "and ConvergenceWarning 'Newton-Raphson convergence completed successfully but",
                         "norm(delta) is still high, 0.301. ...'"),
         ipstrial_options = "no exception; grpc coefficient 34.27 (se 9.8e5); the same two ConvergenceWarnings")))

# =============================================================================================
# (b) Breslow ties beside Efron
# ---------------------------------------------------------------------------------------------
lung <- read.csv("tests/reference/data/lung.csv", stringsAsFactors = FALSE)
lung$arm <- factor(lung$arm, levels = c("male", "female"))
ik <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
ikw <- ik[ik$arm %in% c("IPS", "SAU"), ]
ikw$arm <- factor(ikw$arm, levels = c("SAU", "IPS"))
ikw$weeks <- floor(ikw$days_to_job / 7)  # whole weeks: heavy ties, zeros in the first week
ikw$job <- as.integer(ikw$event == 1)    # competing exits censored (cause-specific hazard)
out$ties <- unlist(lapply(c("breslow", "efron"), function(ties) list(
  cox_ref("lung_age", Surv(time, event) ~ arm + age, lung, ties),
  cox_ref("inklusion_weeks", Surv(weeks, job) ~ arm + age + employed_prev5y, ikw, ties),
  cox_ref("inklusion_weeks_site", Surv(weeks, job) ~ arm + age + strata(site), ikw, ties)
)), recursive = FALSE)
# The proportional-hazards test of the same six fits: cox.zph (transform = "km", terms, global) uses
# the ties of the fit (its Schoenfeld residuals and information); fitted with the tight control so
# that the comparison is not limited by coxph's default stopping rule.
zph_ref <- function(name, formula, data, ties) {
  control <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 200)
  z <- cox.zph(coxph(formula, data = data, ties = ties, control = control, x = TRUE, y = TRUE, model = TRUE))
  list(name = name, ties = ties, term = I(rownames(z$table)), chisq = I(unname(z$table[, "chisq"])),
       df = I(unname(z$table[, "df"])), p = I(unname(z$table[, "p"])))
}
out$ties_zph <- unlist(lapply(c("breslow", "efron"), function(ties) list(
  zph_ref("lung_age", Surv(time, event) ~ arm + age, lung, ties),
  zph_ref("inklusion_weeks", Surv(weeks, job) ~ arm + age + employed_prev5y, ikw, ties),
  zph_ref("inklusion_weeks_site", Surv(weeks, job) ~ arm + age + strata(site), ikw, ties)
)), recursive = FALSE)

# =============================================================================================
# (c) Kaplan-Meier median and quantiles with their confidence limits
# ---------------------------------------------------------------------------------------------
# Each case is a small two-arm dataset (arms A, B); every time is listed with its status.
km_case <- function(case, arm, time, status) {
  data.frame(case = case, arm = arm, time = time, status = status, stringsAsFactors = FALSE)
}
km_data <- rbind(
  # (i) last observation an event: the curve reaches 0. A: 1..10 all events, S = 0.5 exactly on
  # [5, 6) so the median is 5.5 by the midpoint rule. B: censorings before a final event.
  km_case("reaches_zero", "A", 1:10, rep(1, 10)),
  km_case("reaches_zero", "B", c(2, 3, 3, 5, 6, 7, 8, 9, 11, 12), c(1, 0, 1, 1, 0, 1, 1, 0, 1, 1)),
  # (i) S = 0.5 from an event to the END of the curve (the rest censored): quantile() gives the
  # midpoint of that event time and the last time, summary()$table gives the event time.
  km_case("flat_half_to_end", "A", 1:6, c(1, 1, 1, 0, 0, 0)),
  km_case("flat_half_to_end", "B", c(2, 2, 4, 4, 6, 6, 8, 8), c(1, 1, 1, 1, 0, 0, 0, 0)),
  # (i) S is 0.5 only up to rounding: A = 1..12 all events, the product-limit S(6) is
  # 0.49999999999999989 in floating point, treated as 0.5 (tolerance) -> median 6.5.
  # B: 1..9 with censorings at 4, 5, 8, 9: S(6) = 6/9 * 3/4, likewise 0.49999999999999989.
  km_case("half_by_rounding", "A", 1:12, rep(1, 12)),
  km_case("half_by_rounding", "B", 1:9, c(1, 1, 1, 0, 0, 1, 1, 0, 0)),
  # (ii) small arms: confidence limits NA (upper limits not reached; median not reached in B)
  km_case("small_arms", "A", c(3, 5, 7, 9), c(1, 0, 1, 0)),
  km_case("small_arms", "B", c(2, 4, 6), c(1, 0, 0)),
  # (iii) a final block of tied events takes S from 0.9 to 0: the median is the last time, but
  # with conf.type log / log-log the confidence curves are NA at S = 0 and stay above 0.5 before,
  # so BOTH limits are NA. Reading an NA lower limit as "not reached" (infinity) would give an
  # interval [inf, inf] that excludes the median 10. B: the same with a smaller block.
  km_case("tie_to_zero", "A", c(1, 2, rep(10, 18)), rep(1, 20)),
  km_case("tie_to_zero", "B", c(1, 3, 4, rep(8, 5)), rep(1, 8))
)
write.csv(km_data, "tests/reference/data/km_quantile_cases.csv", row.names = FALSE)
km_data <- read.csv("tests/reference/data/km_quantile_cases.csv", stringsAsFactors = FALSE)
probs <- c(0.25, 0.5, 0.75)
out$km_quantile <- lapply(unique(km_data$case), function(case) {
  d <- km_data[km_data$case == case, ]
  list(case = case, probs = probs, conf_types = lapply(c("log-log", "log", "plain"), function(ct) {
    fit <- survfit(Surv(time, status) ~ arm, data = d, conf.type = ct)
    q <- quantile(fit, probs = probs, conf.int = TRUE)
    tab <- summary(fit)$table
    arms <- sub("^arm=", "", names(fit$strata))
    list(conf_type = ct, arms = lapply(seq_along(arms), function(i) {
      fi <- fit[i]
      list(arm = arms[i],
           quantile = unname(q$quantile[i, ]), lower = unname(q$lower[i, ]),
           upper = unname(q$upper[i, ]),
           table_median = unname(tab[i, "median"]), table_lcl = unname(tab[i, "0.95LCL"]),
           table_ucl = unname(tab[i, "0.95UCL"]),
           curve = list(time = fi$time, n_risk = fi$n.risk, n_event = fi$n.event,
                        n_censor = fi$n.censor, surv = fi$surv, std_err = fi$std.err,
                        lower = fi$lower, upper = fi$upper))
    }))
  }))
})
# the floating-point value of the "0.5" plateaus of case half_by_rounding (S - 0.5)
hb <- survfit(Surv(time, status) ~ arm, data = km_data[km_data$case == "half_by_rounding", ])
out$half_by_rounding_surv_minus_half <- lapply(seq_along(hb$strata), function(i) {
  s <- hb[i]$surv
  j <- which(abs(s - 0.5) < 1e-12)[1]
  list(arm = sub("^arm=", "", names(hb$strata)[i]), time = hb[i]$time[j], surv_minus_half = s[j] - 0.5)
})

# =============================================================================================
# (d) Times that differ only by floating-point noise (timefix / aeqSurv)
# ---------------------------------------------------------------------------------------------
# Arms A, B: 40 events each at 10 + k * 1e-13 -- arm A k = 1..40, arm B k = 41..80 -- so that,
# unmerged, every early event of A precedes every early event of B; then arm A has 5 censorings at
# 100 and arm B 4 later events (25, 30, 35, 40) and 1 censoring at 100. Merged (timefix = TRUE)
# the 80 early events are one tied time and the arms differ only by B's later events.
m <- 40
tf <- data.frame(
  arm = c(rep("A", m + 5), rep("B", m + 5)),
  k = c(1:m, rep(NA, 5), m + (1:m), rep(NA, 5)),
  time = c(10 + (1:m) * 1e-13, rep(100, 5), 10 + (m + (1:m)) * 1e-13, c(25, 30, 35, 40), 100),
  status = c(rep(1, m), rep(0, 5), rep(1, m), c(1, 1, 1, 1), 0),
  stringsAsFactors = FALSE)
# 17 significant digits so that the CSV holds the very same doubles (k kept to rebuild them)
tf_csv <- data.frame(participant_id = sprintf("F%03d", seq_len(nrow(tf))), arm = tf$arm,
                     k = ifelse(is.na(tf$k), "", as.character(tf$k)),
                     time = sprintf("%.17g", tf$time), status = tf$status)
write.csv(tf_csv, "tests/reference/data/timefix_ties.csv", row.names = FALSE, quote = FALSE)
back <- read.csv("tests/reference/data/timefix_ties.csv", stringsAsFactors = FALSE)
stopifnot(identical(back$time, tf$time))
tf$arm <- factor(tf$arm, levels = c("A", "B"))

y <- Surv(tf$time, tf$status)
merged <- survival:::aeqSurv(y)
sd_true <- survdiff(Surv(time, status) ~ arm, data = tf)
sd_false_call <- capture(survdiff(Surv(time, status) ~ arm, data = tf, timefix = FALSE))
logrank_raw <- function(yy, g) {  # the body of survdiff after its aeqSurv step
  fit <- survival:::survdiff.fit(yy, g, rep(1, length(g)), 0)
  oe <- fit$observed - fit$expected
  chisq <- unname(oe[2]^2 / fit$var[2, 2])
  list(observed = unname(fit$observed), expected = unname(fit$expected), chisq = chisq,
       df = 1, p = pchisq(chisq, 1, lower.tail = FALSE))
}
lr_false <- logrank_raw(y, tf$arm)
lr_true_check <- logrank_raw(merged, tf$arm)
stopifnot(abs(lr_true_check$chisq - sd_true$chisq) < 1e-12)
score_true <- coxph(Surv(time, status) ~ arm, data = tf, ties = "breslow")$score
score_false <- coxph(Surv(time, status) ~ arm, data = tf, ties = "breslow",
                     control = coxph.control(timefix = FALSE))$score
km_tf <- function(timefix) {
  fit <- survfit(Surv(time, status) ~ arm, data = tf, timefix = timefix)
  lapply(seq_along(fit$strata), function(i) {
    fi <- fit[i]
    list(arm = sub("^arm=", "", names(fit$strata)[i]), time = fi$time, time_minus_10 = fi$time - 10,
         n_risk = fi$n.risk, n_event = fi$n.event, surv = fi$surv, std_err = fi$std.err)
  })
}
out$timefix <- list(
  data = "tests/reference/data/timefix_ties.csv",
  tolerance = sqrt(.Machine$double.eps),
  mean_abs_unique_time = mean(abs(sort(unique(tf$time)))),
  aeqsurv = list(
    time_minus_10 = c(merged[, 1]) - 10,
    unique_time = sort(unique(c(merged[, 1]))),
    unique_time_minus_10 = sort(unique(c(merged[, 1]))) - 10,
    n_unique_before = length(unique(tf$time)), n_unique_after = length(unique(c(merged[, 1])))),
  survdiff_timefix_true = list(observed = unname(sd_true$obs), expected = unname(sd_true$exp),
                               chisq = sd_true$chisq, df = 1, p = sd_true$pvalue),
  survdiff_timefix_false_error = if (sd_false_call$error) unclass(sd_false_call$value) else NULL,
  logrank_timefix_false = lr_false,
  coxph_breslow_score_test = list(timefix_true = unname(score_true), timefix_false = unname(score_false)),
  survfit_timefix_true = km_tf(TRUE),
  survfit_timefix_false = km_tf(FALSE),
  coxph = list(cox_ref("timefix_true", Surv(time, status) ~ arm, tf, "efron", timefix = TRUE),
               cox_ref("timefix_false", Surv(time, status) ~ arm, tf, "efron", timefix = FALSE),
               cox_ref("timefix_true", Surv(time, status) ~ arm, tf, "breslow", timefix = TRUE),
               cox_ref("timefix_false", Surv(time, status) ~ arm, tf, "breslow", timefix = FALSE))
)

# =============================================================================================
# (e) Gray's test for several rho
# ---------------------------------------------------------------------------------------------
mg <- read.csv("tests/reference/data/mgus2.csv", stringsAsFactors = FALSE)  # as survival_competing.R
rhos <- c(-1, -0.5, 0, 0.25, 0.5, 1, 2, 3.5)
gray <- function(d, time, event, arm, strata, rho) {
  ci <- if (is.null(strata)) cuminc(d[[time]], d[[event]], d[[arm]], rho = rho)
        else cuminc(d[[time]], d[[event]], d[[arm]], d[[strata]], rho = rho)
  t <- ci$Tests
  lapply(seq_len(nrow(t)), function(i) list(cause = as.integer(rownames(t)[i]), stat = t[i, "stat"],
    p = t[i, "pv"], p_upper = pchisq(t[i, "stat"], t[i, "df"], lower.tail = FALSE), df = t[i, "df"]))
}
gray_case <- function(name, d, time, event, arm, strata = NULL) {
  list(name = name, time = time, arms = sort(unique(d[[arm]])),
       strata = if (is.null(strata)) NA else strata,
       results = lapply(rhos, function(r) list(rho = r, tests = gray(d, time, event, arm, strata, r))))
}
out$gray <- list(
  gray_case("mgus2", mg, "time", "event", "arm"),
  gray_case("inklusion_3arm", ik, "days_to_job", "event", "arm"),
  gray_case("inklusion_3arm_site", ik, "days_to_job", "event", "arm", strata = "site")
)
# which rho cuminc refuses: nothing is checked in R; the Fortran/qr calls stop on NA, Inf and on a
# weight that overflows. Each probe: both datasets, unstratified.
probe <- c(-1000, -400, -300, -200, -100, -50, -10, -5, 5, 10, 50, 100, 1000, 1e6, NA, Inf, -Inf)
out$gray_rho_probe <- lapply(probe, function(r) {
  one <- function(d, time) {
    res <- capture(cuminc(d[[time]], d$event, d$arm, rho = r)$Tests)
    if (res$error) list(accepted = FALSE, error = unclass(res$value), warnings = I(res$warnings))
    else list(accepted = TRUE, stat = unname(res$value[, "stat"]), p = unname(res$value[, "pv"]),
              warnings = I(res$warnings))
  }
  list(rho = if (is.finite(r)) r else if (is.na(r)) "NA" else as.character(r), mgus2 = one(mg, "time"),
       inklusion_3arm = one(ik, "days_to_job"))
})

# =============================================================================================
# (f) every duration 0: one tied event time
# ---------------------------------------------------------------------------------------------
# The synthetic trial with days_to_job set to 0: every event (first job; competing exits censored for
# coxph and survdiff, competing for crr) at one time. coxph fits (Efron), cox.zph refuses ("system is
# exactly singular": one event time leaves no time trend to test), survdiff works; crr with a tight
# gtol (its default stops early, at 0.250286, 0.217418).
ik0 <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
ik0$days_to_job <- 0
ik0$arm <- relevel(factor(ik0$arm), ref = "SAU")
ik0$st <- as.integer(ik0$event == 1)
fit0 <- coxph(Surv(days_to_job, st) ~ arm, data = ik0, x = TRUE, y = TRUE, model = TRUE)
zph0 <- capture(cox.zph(fit0))
X0 <- model.matrix(~ arm, ik0)[, -1]
crr0 <- crr(ik0$days_to_job, ik0$event, X0, failcode = 1, cencode = 0, gtol = 1e-12, maxiter = 100)
out$zero_durations <- list(
  cox_term = I(names(coef(fit0))), cox_coef = I(unname(coef(fit0))),
  cox_se = I(unname(sqrt(diag(vcov(fit0))))), cox_loglik_null = fit0$loglik[1], cox_loglik = fit0$loglik[2],
  zph_error = if (zph0$error) unclass(zph0$value) else NULL,
  survdiff_chisq = survdiff(Surv(days_to_job, st) ~ arm, data = ik0)$chisq,
  crr_coef = I(unname(crr0$coef)), crr_se = I(unname(sqrt(diag(crr0$var))))
)

jsonlite::write_json(out, "tests/reference/survival_robustness.json", digits = NA, auto_unbox = TRUE,
                     pretty = TRUE, na = "null")
