# Reference values for ipstrial.itt.stratified (Mantel-Haenszel, CMH test) and
# ipstrial.itt.subgroups (interaction likelihood-ratio tests), on the committed synthetic trial.
# Run from the repository root:  Rscript tests/reference/stratified.R
# Writes tests/reference/stratified.json. Uses base R (mantelhaen.test, glm) and metafor (rma.mh),
# implementations independent of ipstrial.
suppressPackageStartupMessages(library(metafor))
d <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
out <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")))

mh <- function(treatment, strata_cols) {
  s <- d[d$arm %in% c(treatment, "SAU"), ]
  s$stratum <- do.call(paste, c(s[strata_cols], sep = ", "))
  levels_k <- sort(unique(s$stratum))
  a <- sapply(levels_k, function(k) sum(s$employed_18m[s$stratum == k & s$arm == treatment]))
  n1 <- sapply(levels_k, function(k) sum(s$stratum == k & s$arm == treatment))
  cc <- sapply(levels_k, function(k) sum(s$employed_18m[s$stratum == k & s$arm == "SAU"]))
  n0 <- sapply(levels_k, function(k) sum(s$stratum == k & s$arm == "SAU"))
  tab <- array(NA, dim = c(2, 2, length(levels_k)))
  tab[1, 1, ] <- a; tab[1, 2, ] <- n1 - a; tab[2, 1, ] <- cc; tab[2, 2, ] <- n0 - cc
  t0 <- mantelhaen.test(tab, correct = FALSE)
  t1 <- mantelhaen.test(tab, correct = TRUE)
  rd <- rma.mh(ai = a, bi = n1 - a, ci = cc, di = n0 - cc, measure = "RD")
  or <- rma.mh(ai = a, bi = n1 - a, ci = cc, di = n0 - cc, measure = "OR")
  list(treatment = treatment, strata = strata_cols, n_strata = length(levels_k),
       cmh = unname(t0$statistic), cmh_p = t0$p.value,
       cmh_correct = unname(t1$statistic), cmh_correct_p = t1$p.value,
       odds_ratio = unname(t0$estimate), or_low = t0$conf.int[1], or_high = t0$conf.int[2],
       log_or_se = or$se, rd = as.numeric(rd$beta), rd_se = rd$se)
}
out$mantel_haenszel <- list(
  mh("IPS", "site"), mh("IPSE", "site"), mh("IPS", c("site", "employed_prev5y"))
)

d$age_band <- as.character(cut(d$age, c(-Inf, 30, 40, Inf), right = FALSE,
                               labels = c("<30", "30-39", "40+")))
sub <- d[d$arm %in% c("IPS", "SAU"), ]
sub$treated <- as.numeric(sub$arm == "IPS")
lrt <- function(factor_name) {
  g <- factor(sub[[factor_name]])
  f0 <- glm(employed_18m ~ treated + g, family = binomial, data = sub)
  f1 <- glm(employed_18m ~ treated * g, family = binomial, data = sub)
  a <- anova(f0, f1, test = "LRT")
  list(factor = factor_name, statistic = a$Deviance[2], df = a$Df[2], p_value = a[["Pr(>Chi)"]][2])
}
out$interactions <- lapply(c("site", "sex", "diagnosis", "age_band"), lrt)
out$level_counts <- lapply(c("site", "sex", "diagnosis", "age_band"), function(f) {
  lv <- sort(unique(sub[[f]]))
  list(factor = f, level = lv,
       a = sapply(lv, function(l) sum(sub$employed_18m[sub[[f]] == l & sub$treated == 1])),
       n1 = sapply(lv, function(l) sum(sub[[f]] == l & sub$treated == 1)))
})
jsonlite::write_json(out, "tests/reference/stratified.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
