# Reference values for exomir.tools.survival (and exomir.stats.survival), made with R survival and maxstat on TCGA-LIHC.
#
# Data: ../shared/data/tcga_lihc (see its README). Primary tumour aliquots (barcode characters
# 14-15 == "01"), patient = first 12 characters, joined with clinical_survival.csv (OS_days,
# OS_event; patients without OS_days are left out). Expression: log2(RPM + 1) of a few precursors.
# When a patient had several tumour aliquots the first in byte order would be used (none do).
#
# Run from the repository root:  Rscript tests/reference/survival/make_reference.R
suppressPackageStartupMessages({ library(survival); library(maxstat) })
data_dir <- Sys.getenv("EXOMIR_SHARED_DATA", "../shared/data")
out_dir <- "tests/reference/survival"
options(digits = 17)

clin <- read.csv(file.path(data_dir, "tcga_lihc", "clinical_survival.csv"), stringsAsFactors = FALSE)
rpm <- read.csv(gzfile(file.path(data_dir, "tcga_lihc", "mirna_precursor_rpm.csv.gz")),
                check.names = FALSE, row.names = 1)
barcodes <- sort(colnames(rpm), method = "radix")
tumour <- barcodes[substr(barcodes, 14, 15) == "01"]
tumour <- tumour[!duplicated(substr(tumour, 1, 12))]
precursors <- c("hsa-mir-21", "hsa-mir-10b", "hsa-mir-122", "hsa-mir-221", "hsa-mir-224")
expr <- t(log2(as.matrix(rpm[precursors, tumour]) + 1))
d <- data.frame(patient = substr(tumour, 1, 12), expr, check.names = FALSE)
d <- merge(d, clin, by = "patient")
d <- d[!is.na(d$OS_days) & !is.na(d$OS_event), ]
d <- d[order(d$patient, method = "radix"), ]
d$stage_advanced <- ifelse(d$pathologic_stage == "", NA,
                           as.integer(grepl("^stage (iii|iv)", d$pathologic_stage)))
d$male <- as.integer(d$gender == "male")
cat("patients:", nrow(d), "events:", sum(d$OS_event), "\n")

rows <- list()
for (p in precursors) {
  x <- d[[p]]
  fit <- coxph(Surv(OS_days, OS_event) ~ x, data = d, ties = "efron",
               control = coxph.control(eps = 1e-10, iter.max = 100))
  s <- summary(fit)$coefficients
  ci <- summary(fit)$conf.int
  zph <- cox.zph(fit, transform = "km")
  high <- as.integer(x > median(x))
  sd <- survdiff(Surv(OS_days, OS_event) ~ high, data = d)
  ms <- maxstat.test(Surv(OS_days, OS_event) ~ x, data = data.frame(d, x = x),
                     smethod = "LogRank", pmethod = "Lau94", minprop = 0.1, maxprop = 0.9)
  rows[[p]] <- data.frame(
    mirna = p, n = fit$n, events = fit$nevent,
    coef = s[1, "coef"], se = s[1, "se(coef)"], z = s[1, "z"], wald_p = s[1, "Pr(>|z|)"],
    hr = ci[1, "exp(coef)"], hr_ci_low = ci[1, "lower .95"], hr_ci_high = ci[1, "upper .95"],
    loglik = fit$loglik[2],
    zph_chisq = zph$table[1, "chisq"], zph_p = zph$table[1, "p"],
    median = median(x), logrank_chisq = sd$chisq,
    logrank_p = pchisq(sd$chisq, df = 1, lower.tail = FALSE),
    maxstat_cutpoint = unname(ms$estimate), maxstat_statistic = unname(ms$statistic),
    maxstat_p = ms$p.value)
}
write.csv(do.call(rbind, rows), file.path(out_dir, "univariable.csv"), row.names = FALSE)

# Cox with clinical covariates (complete cases), and the per-term Schoenfeld test.
dd <- d[!is.na(d$stage_advanced), ]
mv <- list()
for (p in c("hsa-mir-21", "hsa-mir-122")) {
  dd$x <- dd[[p]]
  fit <- coxph(Surv(OS_days, OS_event) ~ x + stage_advanced + male, data = dd, ties = "efron",
               control = coxph.control(eps = 1e-10, iter.max = 100))
  s <- summary(fit)$coefficients
  zph <- cox.zph(fit, transform = "km")
  mv[[p]] <- data.frame(mirna = p, term = rownames(s), n = fit$n, events = fit$nevent,
                        coef = s[, "coef"], se = s[, "se(coef)"], wald_p = s[, "Pr(>|z|)"],
                        zph_chisq = zph$table[rownames(s), "chisq"],
                        zph_p = zph$table[rownames(s), "p"],
                        zph_global_chisq = zph$table["GLOBAL", "chisq"],
                        zph_global_p = zph$table["GLOBAL", "p"])
}
write.csv(do.call(rbind, mv), file.path(out_dir, "multivariable.csv"), row.names = FALSE)

# Kaplan-Meier by the median split of hsa-mir-21, with both usual interval types.
x <- d[["hsa-mir-21"]]
d$high <- as.integer(x > median(x))
km <- list()
for (ct in c("log", "log-log", "plain")) {
  f <- survfit(Surv(OS_days, OS_event) ~ high, data = d, conf.type = ct)
  sm <- summary(f, censored = FALSE)
  km[[ct]] <- data.frame(conf_type = ct, group = as.integer(sub("high=", "", as.character(sm$strata))),
                         time = sm$time, n_risk = sm$n.risk, n_event = sm$n.event,
                         surv = sm$surv, std_err = sm$std.err, lower = sm$lower, upper = sm$upper)
}
write.csv(do.call(rbind, km), file.path(out_dir, "km_mir21_median.csv"), row.names = FALSE)
# numbers at risk at fixed times
f <- survfit(Surv(OS_days, OS_event) ~ high, data = d)
sm <- summary(f, times = c(0, 365, 730, 1095, 1825), extend = TRUE)
write.csv(data.frame(group = as.integer(sub("high=", "", as.character(sm$strata))), time = sm$time,
                     n_risk = sm$n.risk, surv = sm$surv),
          file.path(out_dir, "km_at_risk.csv"), row.names = FALSE)
writeLines(c(paste("R", R.version$major, R.version$minor),
             paste("survival", packageVersion("survival")),
             paste("maxstat", packageVersion("maxstat"))),
           file.path(out_dir, "versions.txt"))
