# Export the public datasets that R's survival package ships, for the time-to-event references.
# Run from the repository root:  Rscript tests/reference/data/export.R
# lung: NCCTG lung cancer survival (Loprinzi et al. 1994); event 1 = death, 0 = censored; arm = sex.
# mgus2: monoclonal gammopathy (Kyle et al. 2002); competing risks as in the survival package's
#   "compete" vignette: event 1 = progression to plasma cell malignancy, 2 = death before it, 0 = censored.
suppressPackageStartupMessages(library(survival))
lung_out <- data.frame(participant_id = sprintf("L%03d", seq_len(nrow(lung))),
                       time = lung$time, event = lung$status - 1L,
                       arm = ifelse(lung$sex == 1, "male", "female"),
                       age = lung$age, ph_ecog = lung$ph.ecog, inst = lung$inst)
write.csv(lung_out, "tests/reference/data/lung.csv", row.names = FALSE, na = "")
etime <- with(mgus2, ifelse(pstat == 0, futime, ptime))
event <- with(mgus2, ifelse(pstat == 0, 2L * death, 1L))
mgus_out <- data.frame(participant_id = sprintf("M%04d", mgus2$id), time = etime, event = event,
                       arm = ifelse(mgus2$sex == "F", "female", "male"), age = mgus2$age,
                       hgb = mgus2$hgb, mspike = mgus2$mspike)
write.csv(mgus_out, "tests/reference/data/mgus2.csv", row.names = FALSE, na = "")
cat("survival", as.character(packageVersion("survival")), "\n")
