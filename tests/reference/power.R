# Reference values for ipstrial.power (tests/test_power.py). Run: Rscript tests/reference/power.R
# R's stats::power.prop.test (normal approximation, strict = FALSE) and pwr::pwr.2p.test (arcsine h);
# the log-rank event counts are the closed forms of Schoenfeld (1983) and Freedman (1982), written here in R.
library(pwr)
library(jsonlite)
out <- list()
cases <- list(c(0.465, 0.599), c(0.465, 0.591), c(0.20, 0.35), c(0.50, 0.40), c(0.05, 0.12))
for (i in seq_along(cases)) {
  p0 <- cases[[i]][1]; p1 <- cases[[i]][2]
  for (a in c(0.05, 0.025)) {
    key <- sprintf("%g_%g_%g", p0, p1, a)
    out$prop_n[[key]] <- power.prop.test(p1 = p0, p2 = p1, power = 0.8, sig.level = a, tol = 1e-12)$n
    out$prop_power[[key]] <- power.prop.test(p1 = p0, p2 = p1, n = 150, sig.level = a)$power
    # pwr.2p.test solves with uniroot's default tolerance (1e-4): solve its own power function to 1e-12
    out$arcsine_n[[key]] <- uniroot(function(n) pwr.2p.test(h = ES.h(p1, p0), n = n, sig.level = a)$power - 0.8,
                                    c(2, 1e9), tol = 1e-12)$root
    out$arcsine_power[[key]] <- pwr.2p.test(h = ES.h(p1, p0), n = 150, sig.level = a)$power
  }
}
# detectable p_treatment with 240 per arm, 80 % power (power.prop.test solves p2 > p1)
out$prop_p2 <- power.prop.test(p1 = 0.465, n = 240, power = 0.8, tol = 1e-12)$p2
out$arcsine_h <- uniroot(function(h) pwr.2p.test(h = h, n = 240)$power - 0.8, c(1e-6, 3), tol = 1e-12)$root
out$pwr_n_headline <- pwr.2p.test(h = ES.h(0.599, 0.465), power = 0.8)$n  # as R prints it: 216.33
# log-rank: events for HR 1.55 and 0.7, 80 % and 90 % power, two-sided 5 %
for (hr in c(1.55, 0.7)) for (pw in c(0.8, 0.9)) {
  z <- qnorm(0.975) + qnorm(pw)
  key <- sprintf("%g_%g", hr, pw)
  out$schoenfeld[[key]] <- 4 * z^2 / log(hr)^2
  out$freedman[[key]] <- z^2 * (1 + hr)^2 / (1 - hr)^2
}
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/power.json")
