# Reference values for ipstrial.survival.cox and ipstrial.survival.rmst.
# Run from the repository root:  Rscript tests/reference/survival_cox_rmst.R
# Writes tests/reference/survival_cox_rmst.json. Uses R's survival package only (coxph with Efron
# ties, cox.zph with its default transform = "km", survfit's restricted mean and its standard
# error), implementations independent of ipstrial.
suppressPackageStartupMessages(library(survival))
out <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

lung <- read.csv("tests/reference/data/lung.csv", stringsAsFactors = FALSE)
lung$arm <- factor(lung$arm, levels = c("male", "female"))  # control first: the reference level
d <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
d$job <- as.integer(d$event == 1)  # competing exits (event 2) censored: the cause-specific hazard
# whole weeks since randomisation: heavy ties, and durations of zero (jobs in the first week)
d$weeks <- floor(d$days_to_job / 7)

cox_ref <- function(name, formula, data, treatment) {
  fit <- coxph(formula, data = data, ties = "efron", x = TRUE, y = TRUE, model = TRUE)
  s <- summary(fit, conf.int = 0.95)$coefficients
  ci <- exp(confint(fit, level = 0.95))
  z <- cox.zph(fit)  # transform = "km", terms = TRUE, global = TRUE
  # I(): keep length-one vectors as JSON arrays
  list(name = name, n = fit$n, nevent = fit$nevent, treatment = I(treatment),
       term = I(rownames(s)), coef = I(unname(s[, "coef"])), se = I(unname(s[, "se(coef)"])),
       hr = I(unname(s[, "exp(coef)"])), ci_low = I(unname(ci[, 1])), ci_high = I(unname(ci[, 2])),
       p = I(unname(s[, "Pr(>|z|)"])), loglik = fit$loglik[2],
       zph_term = rownames(z$table), zph_chisq = unname(z$table[, "chisq"]),
       zph_df = unname(z$table[, "df"]), zph_p = unname(z$table[, "p"]))
}

lung_ecog <- lung[!is.na(lung$ph_ecog), ]
ips <- d[d$arm %in% c("IPS", "SAU"), ]
ips$arm <- factor(ips$arm, levels = c("SAU", "IPS"))
three <- d
three$arm <- factor(three$arm, levels = c("SAU", "IPS", "IPSE"))
adjusted <- Surv(days_to_job, job) ~ arm + age + sex + diagnosis + education + employed_prev5y +
  substance_use + strata(site)
out$cox <- list(
  cox_ref("lung_age", Surv(time, event) ~ arm + age, lung, "female"),
  cox_ref("lung_ecog_strata", Surv(time, event) ~ arm + age + strata(ph_ecog), lung_ecog, "female"),
  cox_ref("inklusion_ips", Surv(days_to_job, job) ~ arm, ips, "IPS"),
  cox_ref("inklusion_ips_adjusted", adjusted, ips, "IPS"),
  cox_ref("inklusion_three_adjusted", adjusted, three, c("IPS", "IPSE")),
  cox_ref("inklusion_weeks", Surv(weeks, job) ~ arm + age + employed_prev5y, ips, "IPS")
)

rmst_ref <- function(name, formula, data, tau) {
  fit <- survfit(formula, data = data)
  tab <- summary(fit, rmean = tau)$table
  list(name = name, tau = tau, arm = sub("^arm=", "", rownames(tab)),
       rmean = unname(tab[, "rmean"]), se = unname(tab[, "se(rmean)"]),
       events = unname(tab[, "events"]), n = unname(tab[, "records"]))
}
out$rmst <- list(
  rmst_ref("lung_365", Surv(time, event) ~ arm, lung, 365),
  rmst_ref("lung_700", Surv(time, event) ~ arm, lung, 700),
  # 965 days is the last follow-up of the female arm: tau equal to the last follow-up
  rmst_ref("lung_965", Surv(time, event) ~ arm, lung, 965),
  rmst_ref("inklusion_548", Surv(days_to_job, job) ~ arm, d, 548),
  rmst_ref("inklusion_weeks_78", Surv(weeks, job) ~ arm, d, 78)
)
out$lung_last_follow_up <- as.list(tapply(lung$time, lung$arm, max))
out$lung_last_female_event <- lung$event[lung$arm == "female" & lung$time == 965]
jsonlite::write_json(out, "tests/reference/survival_cox_rmst.json", digits = NA, auto_unbox = TRUE,
                     pretty = TRUE)
