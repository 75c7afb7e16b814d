# Reference values for exomir.stats.meta, made with metafor::rma on the small study table
# studies.csv (simulated per-study summaries: log hazard ratio and SE, AUC and SE, and a 2x2
# table per study). Log diagnostic odds ratios come from escalc(measure = "OR") with the
# default continuity correction (0.5 added to every cell of a study that has a zero cell).
#
# Run from the repository root:  Rscript tests/reference/meta/make_reference.R
suppressPackageStartupMessages(library(metafor))
out_dir <- "tests/reference/meta"
options(digits = 17)
s <- read.csv(file.path(out_dir, "studies.csv"), stringsAsFactors = FALSE)
dor <- escalc(measure = "OR", ai = tp, bi = fn, ci = fp, di = tn, data = s)
inputs <- list(
  log_hr = list(yi = s$log_hr, vi = s$se_log_hr^2),
  auc = list(yi = s$auc, vi = s$se_auc^2),
  log_dor = list(yi = as.numeric(dor$yi), vi = as.numeric(dor$vi)))
ctrl <- list(threshold = 1e-12, maxiter = 10000)
rows <- list()
for (name in names(inputs)) {
  for (method in c("DL", "REML")) {
    fit <- rma(yi = inputs[[name]]$yi, vi = inputs[[name]]$vi, method = method, control = ctrl)
    pr <- predict(fit)
    rows[[paste(name, method)]] <- data.frame(
      measure = name, method = method, k = fit$k, estimate = as.numeric(fit$beta), se = fit$se,
      zval = fit$zval, pval = fit$pval, ci_low = fit$ci.lb, ci_high = fit$ci.ub,
      tau2 = fit$tau2, se_tau2 = fit$se.tau2, i2 = fit$I2, h2 = fit$H2, q = fit$QE, q_p = fit$QEp,
      pi_low = pr$pi.lb, pi_high = pr$pi.ub)
  }
}
write.csv(do.call(rbind, rows), file.path(out_dir, "rma.csv"), row.names = FALSE)
# Hartung-Knapp(-Sidik-Jonkman) adjustment: t-based intervals for few studies
kn <- list()
for (name in names(inputs)) {
  for (method in c("DL", "REML")) {
    fit <- rma(yi = inputs[[name]]$yi, vi = inputs[[name]]$vi, method = method, test = "knha",
               control = ctrl)
    pr <- predict(fit)
    kn[[paste(name, method)]] <- data.frame(
      measure = name, method = method, estimate = as.numeric(fit$beta), se = fit$se,
      tval = fit$zval, df = fit$ddf, pval = fit$pval, ci_low = fit$ci.lb, ci_high = fit$ci.ub,
      pi_low = pr$pi.lb, pi_high = pr$pi.ub)
  }
}
write.csv(do.call(rbind, kn), file.path(out_dir, "rma_knha.csv"), row.names = FALSE)
write.csv(data.frame(study = s$study, yi = as.numeric(dor$yi), vi = as.numeric(dor$vi)),
          file.path(out_dir, "log_dor.csv"), row.names = FALSE)
# per-study weights (percent) of the REML fit of log HRs, for the forest plot
fit <- rma(yi = s$log_hr, vi = s$se_log_hr^2, method = "REML", control = ctrl)
write.csv(data.frame(study = s$study, weight = as.numeric(weights(fit))),
          file.path(out_dir, "weights_log_hr_reml.csv"), row.names = FALSE)
writeLines(c(paste("R", R.version$major, R.version$minor),
             paste("metafor", packageVersion("metafor"))), file.path(out_dir, "versions.txt"))
# AUCs pooled on the logit scale (exomir's measure "auc"): logit(AUC) with the delta-method
# variance var(AUC) / (AUC (1 - AUC))^2, pooled by rma with the z test and with Hartung-Knapp;
# estimate and intervals back-transformed with plogis.
lg <- list(yi = qlogis(s$auc), vi = s$se_auc^2 / (s$auc * (1 - s$auc))^2)
lrows <- list()
for (test in c("z", "knha")) {
  for (method in c("DL", "REML")) {
    fit <- rma(yi = lg$yi, vi = lg$vi, method = method, test = test, control = ctrl)
    pr <- predict(fit)
    lrows[[paste(test, method)]] <- data.frame(
      test = test, method = method, logit_estimate = as.numeric(fit$beta), se = fit$se, zval = fit$zval,
      pval = fit$pval, logit_ci_low = fit$ci.lb, logit_ci_high = fit$ci.ub, tau2 = fit$tau2,
      logit_pi_low = pr$pi.lb, logit_pi_high = pr$pi.ub, estimate = plogis(as.numeric(fit$beta)),
      ci_low = plogis(fit$ci.lb), ci_high = plogis(fit$ci.ub), pi_low = plogis(pr$pi.lb),
      pi_high = plogis(pr$pi.ub), i2 = fit$I2, q = fit$QE)
  }
}
write.csv(do.call(rbind, lrows), file.path(out_dir, "rma_auc_logit.csv"), row.names = FALSE)
