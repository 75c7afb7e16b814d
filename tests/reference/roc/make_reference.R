# Reference values for exomir.stats.roc, made with pROC.
#
# Run from the repository root:  Rscript tests/reference/roc/make_reference.R
# Reads the real TCGA-LIHC precursor counts from ../shared/data (never copied into the repo)
# and writes small CSV files of pROC results beside this script. The simulated data set is
# written here too, so the tests can rebuild every input.

suppressPackageStartupMessages(library(pROC))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
shared <- Sys.getenv("EXOMIR_SHARED_DATA", file.path(here, "..", "..", "..", "..", "shared", "data"))

# ---- real data: log2(CPM + 1) of precursors, primary tumour (01) vs solid normal (11) ----
counts <- read.csv(gzfile(file.path(shared, "tcga_lihc", "mirna_precursor_counts.csv.gz")),
                   row.names = 1, check.names = FALSE)
barcodes <- colnames(counts)
type <- substr(barcodes, 14, 15)
keep <- type %in% c("01", "11")
lib <- colSums(counts)                       # library size over every precursor, all aliquots
logcpm <- log2(t(t(as.matrix(counts)) / lib) * 1e6 + 1)
logcpm <- logcpm[, keep]
status <- ifelse(type[keep] == "01", "tumour", "normal")

markers <- c("hsa-mir-21", "hsa-mir-122", "hsa-mir-139", "hsa-mir-150", "hsa-mir-182",
             "hsa-mir-183", "hsa-mir-199a-1", "hsa-mir-214", "hsa-mir-221", "hsa-mir-222",
             "hsa-mir-224", "hsa-mir-375", "hsa-mir-96", "hsa-mir-101-1")

# One row per marker: AUC (direction chosen by pROC from the medians), DeLong interval,
# partial AUCs, and the Youden point(s).
describe <- function(values, response, name, dataset) {
  r <- roc(response = response, predictor = values, levels = c("control", "case"),
           direction = "auto", quiet = TRUE)
  ci <- ci.auc(r, method = "delong", conf.level = 0.95)
  v <- var(r, method = "delong")
  p_sp <- auc(r, partial.auc = c(1, 0.9), partial.auc.focus = "specificity")
  p_sp_c <- auc(r, partial.auc = c(1, 0.9), partial.auc.focus = "specificity",
                partial.auc.correct = TRUE)
  p_se <- auc(r, partial.auc = c(1, 0.9), partial.auc.focus = "sensitivity")
  p_se_c <- auc(r, partial.auc = c(1, 0.9), partial.auc.focus = "sensitivity",
                partial.auc.correct = TRUE)
  p_mid <- auc(r, partial.auc = c(0.8, 0.6), partial.auc.focus = "specificity")
  best <- coords(r, "best", best.method = "youden", ret = c("sensitivity", "specificity"),
                 transpose = FALSE)
  data.frame(dataset = dataset, marker = name,
             n_case = length(r$cases), n_control = length(r$controls),
             direction = ifelse(r$direction == "<", "higher_in_case", "lower_in_case"),
             auc = as.numeric(auc(r)), auc_var = as.numeric(v),
             ci_low = ci[1], ci_high = ci[3],
             pauc_sp90 = as.numeric(p_sp), pauc_sp90_corrected = as.numeric(p_sp_c),
             pauc_se90 = as.numeric(p_se), pauc_se90_corrected = as.numeric(p_se_c),
             pauc_sp60_80 = as.numeric(p_mid),
             youden = max(best$sensitivity + best$specificity - 1),
             youden_sensitivity = paste(sprintf("%.12f", best$sensitivity), collapse = ";"),
             youden_specificity = paste(sprintf("%.12f", best$specificity), collapse = ";"))
}

paired <- function(a, b, response, name_a, name_b, dataset, direction_a, direction_b) {
  ra <- roc(response = response, predictor = a, levels = c("control", "case"),
            direction = direction_a, quiet = TRUE)
  rb <- roc(response = response, predictor = b, levels = c("control", "case"),
            direction = direction_b, quiet = TRUE)
  t <- roc.test(ra, rb, method = "delong", paired = TRUE)
  data.frame(dataset = dataset, marker_a = name_a, marker_b = name_b,
             direction_a = ifelse(direction_a == "<", "higher_in_case", "lower_in_case"),
             direction_b = ifelse(direction_b == "<", "higher_in_case", "lower_in_case"),
             auc_a = as.numeric(auc(ra)), auc_b = as.numeric(auc(rb)),
             z = unname(t$statistic), p_value = t$p.value,
             diff_ci_low = t$conf.int[1], diff_ci_high = t$conf.int[2])
}

tcga_response <- ifelse(status == "tumour", "case", "control")
rows <- do.call(rbind, lapply(markers, function(m) describe(logcpm[m, ], tcga_response, m, "tcga_lihc")))
dir_of <- function(d) ifelse(d == "higher_in_case", "<", ">")
tcga_dir <- setNames(rows$direction, rows$marker)
pairs <- list(c("hsa-mir-21", "hsa-mir-221"), c("hsa-mir-224", "hsa-mir-139"),
              c("hsa-mir-182", "hsa-mir-183"), c("hsa-mir-122", "hsa-mir-199a-1"))
tests <- do.call(rbind, lapply(pairs, function(p)
  paired(logcpm[p[1], ], logcpm[p[2], ], tcga_response, p[1], p[2], "tcga_lihc",
         dir_of(tcga_dir[[p[1]]]), dir_of(tcga_dir[[p[2]]]))))

# ---- simulated data: small, with ties, one marker lower in cases ----
set.seed(20240611)
n_case <- 45; n_control <- 60
sim <- data.frame(
  sample = sprintf("S%03d", seq_len(n_case + n_control)),
  group = c(rep("case", n_case), rep("control", n_control)),
  m_up = round(c(rnorm(n_case, 1.0), rnorm(n_control, 0)), 1),           # rounded: ties
  m_down = c(rnorm(n_case, -0.6), rnorm(n_control, 0)),
  m_weak = round(c(rnorm(n_case, 0.25), rnorm(n_control, 0)) * 4) / 4,  # many ties
  m_null = c(rnorm(n_case), rnorm(n_control)))
write.csv(sim, file.path(here, "simulated_markers.csv"), row.names = FALSE)
sim_markers <- c("m_up", "m_down", "m_weak", "m_null")
sim_rows <- do.call(rbind, lapply(sim_markers, function(m) describe(sim[[m]], sim$group, m, "simulated")))
sim_dir <- setNames(sim_rows$direction, sim_rows$marker)
sim_pairs <- list(c("m_up", "m_down"), c("m_up", "m_weak"), c("m_weak", "m_null"))
sim_tests <- do.call(rbind, lapply(sim_pairs, function(p)
  paired(sim[[p[1]]], sim[[p[2]]], sim$group, p[1], p[2], "simulated",
         dir_of(sim_dir[[p[1]]]), dir_of(sim_dir[[p[2]]]))))

# ---- every precursor of the real data: checks the vectorized screen, zeros and ties included ----
screen <- do.call(rbind, lapply(rownames(logcpm), function(m) {
  r <- roc(response = tcga_response, predictor = logcpm[m, ], levels = c("control", "case"),
           direction = "auto", quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  data.frame(marker = m, direction = ifelse(r$direction == "<", "higher_in_case", "lower_in_case"),
             auc = as.numeric(auc(r)), ci_low = ci[1], ci_high = ci[3])
}))
write.csv(screen, file.path(here, "proc_screen_all_precursors.csv"), row.names = FALSE)

# ---- stratified bootstrap intervals (Monte Carlo: compared loosely) ----
set.seed(7)
boot <- do.call(rbind, lapply(c("hsa-mir-21", "hsa-mir-122"), function(m) {
  r <- roc(response = tcga_response, predictor = logcpm[m, ], levels = c("control", "case"),
           direction = "auto", quiet = TRUE)
  ci <- ci.auc(r, method = "bootstrap", boot.n = 4000, boot.stratified = TRUE, progress = "none")
  data.frame(marker = m, auc = as.numeric(auc(r)), ci_low = ci[1], ci_high = ci[3], boot_n = 4000)
}))
write.csv(boot, file.path(here, "proc_bootstrap.csv"), row.names = FALSE)

# ---- calibration of predicted probabilities (glm), for the panel module ----
set.seed(11)
lp <- rnorm(400, 0, 1.3)
y <- rbinom(400, 1, plogis(0.8 * lp - 0.3))
prob <- plogis(lp)
slope_fit <- glm(y ~ qlogis(prob), family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
large_fit <- glm(y ~ 1 + offset(qlogis(prob)), family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
write.csv(data.frame(y = y, prob = sprintf("%.17g", prob)), file.path(here, "calibration_input.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(data.frame(calibration_slope = coef(slope_fit)[2], calibration_slope_se = sqrt(diag(vcov(slope_fit)))[2],
                     calibration_intercept = coef(large_fit)[1],
                     calibration_intercept_se = sqrt(diag(vcov(large_fit)))[1],
                     brier = mean((prob - y)^2)),
          file.path(here, "calibration_glm.csv"), row.names = FALSE)

out_auc <- rbind(rows, sim_rows)
out_test <- rbind(tests, sim_tests)
write.csv(out_auc, file.path(here, "proc_auc.csv"), row.names = FALSE)
write.csv(out_test, file.path(here, "proc_paired.csv"), row.names = FALSE)
writeLines(c(sprintf("pROC %s", as.character(packageVersion("pROC"))),
             R.version.string), file.path(here, "versions.txt"))
cat("wrote", nrow(out_auc), "AUC rows and", nrow(out_test), "paired tests\n")
