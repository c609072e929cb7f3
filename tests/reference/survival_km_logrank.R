# Reference values for tests/test_survival_km_logrank.py (ipstrial.survival.kaplan_meier and
# ipstrial.survival.logrank). Needs R >= 4.2 with survival and jsonlite.
#
# Run from the repository root:   Rscript tests/reference/survival_km_logrank.R
# It writes tests/reference/survival_km_logrank.json; the tests read that file, so CI needs no R.
#
# Data (read with read.csv so that R and Python see identical values):
#   * tests/reference/data/lung.csv (time, event 0/1, arm = male/female, ph_ecog and inst each with one
#     missing value: the stratified tests drop that one row here, and the Python test drops the same row);
#   * data/synthetic/inklusion.csv: days_to_job, event 1 = first job (codes 0 and 2 are censored here, as
#     the Python code censors competing events), arm IPS/IPSE/SAU, site; "weekly" is floor(days_to_job / 7)
#     (heavy ties, durations of zero);
#   * small hand-made data sets written out below (durations of zero, a curve that reaches 0, a survival
#     curve exactly 0.5 over a stretch, then lower (arm A: median 2.5) or to the end (arm C: median 3));
#     they are stored in the JSON so that Python reads the same numbers.
#
# Recorded:
#   * survfit(Surv(time, event == 1) ~ 1) per arm with conf.type "log-log", "log" and "plain": every row
#     of summary(fit, censored = TRUE) (time, n.risk, n.event, n.censor, surv, std.err, lower, upper),
#     the median and its limits from summary(fit)$table, and summary(fit, times = ...) at chosen times;
#   * survdiff (rho = 0 and rho = 1; with and without strata): chisq, df, p-value, observed and expected
#     (summed over strata) and the variance matrix;
#   * Fleming-Harrington G(p, q) tests from this script's own code (fh_test below, a loop over the
#     distinct event times written from Fleming & Harrington 1991, sec. 7.3 and Harrington & Fleming 1982),
#     because survdiff has only q = 0; the same code with q = 0 is checked here against survdiff.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

lung <- read.csv("tests/reference/data/lung.csv")
ink <- read.csv("data/synthetic/inklusion.csv")
ink$weeks <- floor(ink$days_to_job / 7)

small <- list(
  zeros = data.frame(
    time = c(0, 0, 1, 2, 2, 3, 4, 5, 0, 1, 1, 3, 6, 7, 7, 8),
    event = c(1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 2, 0, 1, 1, 0, 0),
    arm = rep(c("A", "B"), each = 8)
  ),
  half = data.frame(
    time = c(1, 2, 3, 4, 1, 2, 2, 5, 6, 6, 1, 3, 4, 4),
    event = c(1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0),
    arm = c(rep("A", 4), rep("B", 6), rep("C", 4))
  )
)

num <- function(x) as.numeric(x)

km_arm <- function(time, status, conf_type, times) {
  fit <- survfit(Surv(time, status) ~ 1, conf.type = conf_type)
  s <- summary(fit, censored = TRUE)
  tab <- summary(fit)$table
  out <- list(
    time = num(s$time), n_risk = num(s$n.risk), n_event = num(s$n.event), n_censor = num(s$n.censor),
    surv = num(s$surv), std_err = num(s$std.err), lower = num(s$lower), upper = num(s$upper),
    median = num(tab["median"]), lcl = num(tab["0.95LCL"]), ucl = num(tab["0.95UCL"])
  )
  if (length(times)) {
    st <- summary(fit, times = times)
    out$at <- list(
      time = num(st$time), n_risk = num(st$n.risk), surv = num(st$surv), std_err = num(st$std.err),
      lower = num(st$lower), upper = num(st$upper)
    )
  }
  out
}

km_case <- function(name, d, tcol, ecol, conf_type, times = numeric(0)) {
  arms <- unique(d$arm)
  res <- lapply(arms, function(a) {
    sub <- d[d$arm == a, ]
    km_arm(sub[[tcol]], sub[[ecol]] == 1, conf_type, times)
  })
  names(res) <- arms
  list(name = name, conf_type = conf_type, arms = res)
}

km <- list()
for (ct in c("log-log", "log", "plain")) {
  km[[length(km) + 1]] <- km_case("lung", lung, "time", "event", ct, c(100, 365, 500, 730))
  km[[length(km) + 1]] <- km_case("inklusion", ink, "days_to_job", "event", ct, c(91, 182, 365, 548, 730, 913))
  km[[length(km) + 1]] <- km_case("inklusion_weekly", ink, "weeks", "event", ct, c(0, 13, 26, 52, 78, 130))
  km[[length(km) + 1]] <- km_case("zeros", small$zeros, "time", "event", ct, c(0, 0.5, 2, 4.5))
  km[[length(km) + 1]] <- km_case("half", small$half, "time", "event", ct, c(1, 2, 2.5))
}

# ------------------------------------------------------------------------------------------------
# log-rank tests

sd_case <- function(name, d, tcol, ecol, group, strata = NULL, rho = 0) {
  rhs <- if (is.null(strata)) group else paste0(group, " + strata(", strata, ")")
  f <- as.formula(paste0("Surv(", tcol, ", ", ecol, " == 1) ~ ", rhs))
  s <- survdiff(f, data = d, rho = rho)
  obs <- if (is.matrix(s$obs)) rowSums(s$obs) else s$obs
  ex <- if (is.matrix(s$exp)) rowSums(s$exp) else s$exp
  groups <- sub(paste0("^", group, "="), "", names(s$n))
  list(
    name = name, strata = if (is.null(strata)) NA else strata, rho = rho, groups = groups,
    n = num(s$n), chisq = num(s$chisq), df = length(groups) - 1,
    p = pchisq(s$chisq, length(groups) - 1, lower.tail = FALSE),
    observed = num(obs), expected = num(ex), var = unname(s$var)
  )
}

lung_inst <- lung[!is.na(lung$inst), ]
lung_ecog <- lung[!is.na(lung$ph_ecog), ]
ips_sau <- ink[ink$arm %in% c("IPS", "SAU"), ]
ips_ipse <- ink[ink$arm %in% c("IPS", "IPSE"), ]

logrank <- list(
  sd_case("lung", lung, "time", "event", "arm"),
  sd_case("lung_rho1", lung, "time", "event", "arm", rho = 1),
  sd_case("lung_rho05", lung, "time", "event", "arm", rho = 0.5),
  sd_case("lung_inst", lung_inst, "time", "event", "arm", "inst"),
  sd_case("lung_ecog", lung_ecog, "time", "event", "arm", "ph_ecog"),
  sd_case("lung_ecog_rho1", lung_ecog, "time", "event", "arm", "ph_ecog", rho = 1),
  sd_case("inklusion_3arm", ink, "days_to_job", "event", "arm"),
  sd_case("inklusion_3arm_site", ink, "days_to_job", "event", "arm", "site"),
  sd_case("inklusion_3arm_rho1", ink, "days_to_job", "event", "arm", rho = 1),
  sd_case("inklusion_ips_sau", ips_sau, "days_to_job", "event", "arm"),
  sd_case("inklusion_ips_sau_site", ips_sau, "days_to_job", "event", "arm", "site"),
  sd_case("inklusion_ips_sau_site_rho1", ips_sau, "days_to_job", "event", "arm", "site", rho = 1),
  sd_case("inklusion_ips_ipse", ips_ipse, "days_to_job", "event", "arm"),
  sd_case("inklusion_weekly_3arm", ink, "weeks", "event", "arm"),
  sd_case("inklusion_weekly_3arm_site", ink, "weeks", "event", "arm", "site"),
  sd_case("zeros", small$zeros, "time", "event", "arm")
)

# Fleming-Harrington G(p, q): own code, one pass over the distinct event times of each stratum.
# w(t) = S(t-)^p (1 - S(t-))^q, S the Kaplan-Meier of all groups pooled within the stratum (left
# continuous: the product over event times strictly before t).
# O_k - E_k = sum_t w(t) (d_kt - d_t n_kt / n_t);
# V_kl = sum_t w(t)^2 d_t (n_t - d_t) / (n_t - 1) * (n_kt / n_t) * (delta_kl - n_lt / n_t).
fh_test <- function(time, status, group, strata, p, q) {
  groups <- sort(unique(group))
  K <- length(groups)
  O <- E <- numeric(K)
  V <- matrix(0, K, K)
  for (s in unique(strata)) {
    ts <- time[strata == s]
    ds <- status[strata == s]
    gs <- group[strata == s]
    S <- 1
    for (t in sort(unique(ts[ds == 1]))) {
      at_risk <- ts >= t
      dead <- ts == t & ds == 1
      n <- sum(at_risk)
      d <- sum(dead)
      w <- S^p * (1 - S)^q
      nk <- sapply(groups, function(g) sum(at_risk & gs == g))
      dk <- sapply(groups, function(g) sum(dead & gs == g))
      O <- O + w * dk
      E <- E + w * d * nk / n
      if (n > 1) {
        f <- w^2 * d * (n - d) / (n - 1)
        V <- V + f * (diag(nk / n, K) - outer(nk / n, nk / n))
      }
      S <- S * (1 - d / n)
    }
  }
  u <- (O - E)[-1]
  chisq <- sum(solve(V[-1, -1, drop = FALSE], u) * u)
  list(groups = groups, observed = O, expected = E, var = V, chisq = chisq, df = K - 1,
       p = pchisq(chisq, K - 1, lower.tail = FALSE))
}

fh_case <- function(name, d, tcol, ecol, group, strata, p, q) {
  st <- if (is.null(strata)) rep(1, nrow(d)) else d[[strata]]
  r <- fh_test(d[[tcol]], as.numeric(d[[ecol]] == 1), d[[group]], st, p, q)
  c(list(name = name, strata = if (is.null(strata)) NA else strata, p_weight = p, q_weight = q), r)
}

# check the own code against survdiff where survdiff applies (q = 0)
for (chk in list(list(lung, "time", NULL, 1), list(ink, "days_to_job", "site", 1), list(ink, "days_to_job", NULL, 0))) {
  d <- chk[[1]]
  own <- fh_case("check", d, chk[[2]], "event", "arm", chk[[3]], chk[[4]], 0)
  ref <- sd_case("check", d, chk[[2]], "event", "arm", chk[[3]], rho = chk[[4]])
  stopifnot(isTRUE(all.equal(own$chisq, ref$chisq, tolerance = 1e-12)))
  stopifnot(isTRUE(all.equal(unname(own$observed), ref$observed, tolerance = 1e-12)))
  stopifnot(isTRUE(all.equal(unname(own$var), ref$var, tolerance = 1e-12)))
}

fh <- list(
  fh_case("lung_fh11", lung, "time", "event", "arm", NULL, 1, 1),
  fh_case("lung_fh01", lung, "time", "event", "arm", NULL, 0, 1),
  fh_case("lung_fh05_2", lung, "time", "event", "arm", NULL, 0.5, 2),
  fh_case("inklusion_3arm_site_fh01", ink, "days_to_job", "event", "arm", "site", 0, 1),
  fh_case("inklusion_ips_sau_fh11", ips_sau, "days_to_job", "event", "arm", NULL, 1, 1),
  fh_case("inklusion_weekly_3arm_fh01", ink, "weeks", "event", "arm", NULL, 0, 1)
)

out <- list(
  generated_by = "tests/reference/survival_km_logrank.R",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  small = small,
  km = km,
  logrank = logrank,
  fh = fh
)
writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE, dataframe = "columns"),
  "tests/reference/survival_km_logrank.json"
)
