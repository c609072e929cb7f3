# Reference values for ipstrial.economics.costs (tests/test_incremental_costs.py).
#
# Run from the repository root:  Rscript tests/reference/incremental_costs.R
# Writes tests/reference/incremental_costs.json. Needs R >= 4.2 with jsonlite.
# Data: data/synthetic/inklusion.csv (the committed 720-participant synthetic trial).
#
# For each cost category and for their per-participant sum (named cost_total, equal to the data's
# cost_total column): R's t.test per arm (mean, standard error, t interval) and Welch's two-sample
# t.test (var.equal = FALSE) of IPS vs SAU and IPSE vs SAU.

suppressPackageStartupMessages(library(jsonlite))

d <- read.csv("data/synthetic/inklusion.csv", stringsAsFactors = FALSE)
categories <- c("cost_ips", "cost_jobcentre", "cost_social", "cost_psych_inpatient",
                "cost_psych_outpatient", "cost_emergency")
d$sum_of_categories <- rowSums(d[, categories])
stopifnot(all(d$sum_of_categories == d$cost_total))

out <- list(r_version = R.version.string, n = nrow(d), categories = categories)
for (outcome in c(categories, "cost_total")) {
  y <- if (outcome == "cost_total") d$sum_of_categories else d[[outcome]]
  res <- list()
  for (a in c("IPS", "IPSE", "SAU")) {
    tt <- t.test(y[d$arm == a])
    res[[paste0("mean_", a)]] <- list(mean = unname(tt$estimate), se = tt$stderr,
                                      ci = unname(as.numeric(tt$conf.int)), n = sum(d$arm == a))
  }
  for (tr in c("IPS", "IPSE")) {
    x <- y[d$arm == tr]
    z <- y[d$arm == "SAU"]
    tt <- t.test(x, z, var.equal = FALSE)
    res[[paste0("welch_", tr)]] <- list(
      difference = unname(tt$estimate[1] - tt$estimate[2]), se = tt$stderr, df = unname(tt$parameter),
      ci = unname(as.numeric(tt$conf.int)), p = tt$p.value, n = length(x) + length(z)
    )
  }
  out[[outcome]] <- res
}

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/incremental_costs.json")
