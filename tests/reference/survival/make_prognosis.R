# Reference values for exomir's prognosis screen on TCGA-LIHC tumours, made with R survival:
# overall survival and recurrence, each miRNA alone and adjusted for early (I-II) versus late
# (III-IV) stage: coxph (Efron ties) hazard ratios with Wald intervals and p-values,
# concordance() of each fit (Harrell's C with its infinitesimal-jackknife variance), and survdiff
# at the median split.
#
# Data: ../shared/data/tcga_lihc. Primary tumour aliquots (barcode characters 14-15 == "01"), the
# first per patient in byte order, joined on the patient with clinical_survival.csv.
# Recurrence: the first new tumour event (new_tumor_event_days), censored at the last follow-up
# (OS_days) when none is recorded. Expression: log2(RPM + 1). A precursor is tested for an
# endpoint when it has reads in at least half of the patients with that endpoint (exomir's
# detection rule); the median split is tested when each side keeps at least 10 % of them.
#
# Run from the repository root:  Rscript tests/reference/survival/make_prognosis.R
suppressPackageStartupMessages(library(survival))
data_dir <- Sys.getenv("EXOMIR_SHARED_DATA", "../shared/data")
out_dir <- "tests/reference/survival"

clin <- read.csv(file.path(data_dir, "tcga_lihc", "clinical_survival.csv"), stringsAsFactors = FALSE)
rpm <- read.csv(gzfile(file.path(data_dir, "tcga_lihc", "mirna_precursor_rpm.csv.gz")),
                check.names = FALSE, row.names = 1)
barcodes <- sort(colnames(rpm), method = "radix")
tumour <- barcodes[substr(barcodes, 14, 15) == "01"]
tumour <- tumour[!duplicated(substr(tumour, 1, 12))]
rpm <- as.matrix(rpm[, tumour])
patients <- substr(tumour, 1, 12)
clin <- clin[match(patients, clin$patient), ]
clin$recurrence_event <- as.integer(!is.na(clin$new_tumor_event_days))
clin$recurrence_days <- ifelse(is.na(clin$new_tumor_event_days), clin$OS_days, clin$new_tumor_event_days)
stage <- clin$pathologic_stage
clin$stage_group <- factor(ifelse(is.na(stage) | stage == "", NA,
                                  ifelse(grepl("^stage (iii|iv)", stage), "late", "early")),
                           levels = c("early", "late"))

endpoints <- list(OS = c("OS_days", "OS_event"), recurrence = c("recurrence_days", "recurrence_event"))
rows <- list()
for (ep in names(endpoints)) {
  time <- clin[[endpoints[[ep]][1]]]
  status <- clin[[endpoints[[ep]][2]]]
  ok <- !is.na(time) & !is.na(status)
  detected <- rowMeans(rpm[, ok] > 0)
  for (p in sort(rownames(rpm)[detected >= 0.5], method = "radix")) {
    x <- log2(rpm[p, ] + 1)
    d <- data.frame(time = time, status = status, x = x, stage_group = clin$stage_group)[ok, ]
    fit <- coxph(Surv(time, status) ~ x, data = d, ties = "efron",
                 control = coxph.control(eps = 1e-10, iter.max = 100))
    s <- summary(fit)
    cc <- concordance(fit)
    high <- as.integer(d$x > median(d$x))
    least <- ceiling(0.1 * nrow(d))
    lr_chisq <- NA
    if (sum(high) >= least && sum(high) <= nrow(d) - least)
      lr_chisq <- survdiff(Surv(time, status) ~ high, data = d)$chisq
    da <- d[!is.na(d$stage_group), ]
    fa <- coxph(Surv(time, status) ~ x + stage_group, data = da, ties = "efron",
                control = coxph.control(eps = 1e-10, iter.max = 100))
    sa <- summary(fa)
    rows[[length(rows) + 1]] <- data.frame(
      endpoint = ep, mirna = p, n = fit$n, events = fit$nevent, detected = unname(detected[p]),
      coef = s$coefficients[1, "coef"], se = s$coefficients[1, "se(coef)"],
      hr = s$conf.int[1, "exp(coef)"], hr_ci_low = s$conf.int[1, "lower .95"],
      hr_ci_high = s$conf.int[1, "upper .95"], pvalue = s$coefficients[1, "Pr(>|z|)"],
      c_index = cc$concordance, c_index_se = sqrt(cc$var),
      median = median(d$x), logrank_chisq = lr_chisq,
      logrank_p = pchisq(lr_chisq, df = 1, lower.tail = FALSE),
      n_adj = fa$n, events_adj = fa$nevent,
      coef_adj = sa$coefficients[1, "coef"], se_adj = sa$coefficients[1, "se(coef)"],
      hr_adj = sa$conf.int[1, "exp(coef)"], hr_adj_ci_low = sa$conf.int[1, "lower .95"],
      hr_adj_ci_high = sa$conf.int[1, "upper .95"], pvalue_adj = sa$coefficients[1, "Pr(>|z|)"],
      c_index_adj = concordance(fa)$concordance)
  }
}
out <- do.call(rbind, rows)
write.csv(format(out, digits = 15), file.path(out_dir, "tcga_prognosis.csv"), row.names = FALSE, quote = FALSE)
cat("rows:", nrow(out), "\n")
