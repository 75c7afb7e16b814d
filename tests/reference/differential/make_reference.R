# Reference values for exomir.tools.differential (and exomir.stats.differential), made with DESeq2 and limma on TCGA-LIHC.
#
# Samples: the first 40 primary-tumour ("01") and the first 40 solid-normal ("11") aliquots in
# byte order of the barcode, among patients present in clinical_survival.csv (for the sex
# covariate). Precursors: at least 10 reads in at least 20 of these 80 samples (with this filter the
# parametric dispersion trend of DESeq2 fits; with only high-count precursors it falls back to a
# local fit that PyDESeq2 does not have).
# DESeq2: DESeq() defaults, design ~ condition and ~ male + condition; results() for tumour vs
# normal, log2FoldChange unshrunk. limma: lmFit + eBayes (defaults) on log2(RPM + 1).
#
# Run from the repository root:  Rscript tests/reference/differential/make_reference.R
suppressPackageStartupMessages({ library(DESeq2); library(limma) })
data_dir <- Sys.getenv("EXOMIR_SHARED_DATA", "../shared/data")
out_dir <- "tests/reference/differential"
options(digits = 17)

clin <- read.csv(file.path(data_dir, "tcga_lihc", "clinical_survival.csv"), stringsAsFactors = FALSE)
counts <- read.csv(gzfile(file.path(data_dir, "tcga_lihc", "mirna_precursor_counts.csv.gz")),
                   check.names = FALSE, row.names = 1)
rpm <- read.csv(gzfile(file.path(data_dir, "tcga_lihc", "mirna_precursor_rpm.csv.gz")),
                check.names = FALSE, row.names = 1)
barcodes <- sort(colnames(counts), method = "radix")
barcodes <- barcodes[substr(barcodes, 1, 12) %in% clin$patient]
type <- substr(barcodes, 14, 15)
samples <- c(head(barcodes[type == "01"], 40), head(barcodes[type == "11"], 40))
m <- as.matrix(counts[, samples])
keep <- rowSums(m >= 10) >= 20
m <- m[keep, ]
storage.mode(m) <- "integer"
col <- data.frame(row.names = samples,
                  condition = factor(ifelse(substr(samples, 14, 15) == "01", "tumour", "normal"),
                                     levels = c("normal", "tumour")),
                  male = factor(clin$gender[match(substr(samples, 1, 12), clin$patient)] == "male"))
cat("precursors:", nrow(m), " samples:", ncol(m), "\n")
writeLines(samples, file.path(out_dir, "samples.txt"))

one <- function(design, label) {
  dds <- DESeqDataSetFromMatrix(m, col, design = design)
  dds <- DESeq(dds, quiet = TRUE)
  r <- results(dds, contrast = c("condition", "tumour", "normal"))
  replaced <- if (!is.null(mcols(dds)$replace)) mcols(dds)$replace else rep(FALSE, nrow(m))
  data.frame(design = label, mirna = rownames(r), base_mean = r$baseMean,
             log2fc = r$log2FoldChange, lfc_se = r$lfcSE, stat = r$stat, pvalue = r$pvalue,
             padj = r$padj, dispersion = dispersions(dds), replaced = replaced)
}
de <- rbind(one(~ condition, "condition"), one(~ male + condition, "male+condition"))
write.csv(de, file.path(out_dir, "deseq2.csv"), row.names = FALSE)
dds <- estimateSizeFactors(DESeqDataSetFromMatrix(m, col, design = ~ condition))
write.csv(data.frame(sample = samples, size_factor = sizeFactors(dds)),
          file.path(out_dir, "deseq2_size_factors.csv"), row.names = FALSE)

logx <- log2(as.matrix(rpm[rownames(m), samples]) + 1)
lim <- function(design, label) {
  fit <- eBayes(lmFit(logx, design))
  k <- "conditiontumour"
  tt <- topTable(fit, coef = k, number = Inf, sort.by = "none")
  data.frame(design = label, mirna = rownames(fit), log2fc = fit$coefficients[, k],
             t = fit$t[, k], pvalue = fit$p.value[, k], padj = tt$adj.P.Val,
             s2_post = fit$s2.post, df_total = fit$df.total,
             df_prior = fit$df.prior, s2_prior = fit$s2.prior)
}
li <- rbind(lim(model.matrix(~ condition, col), "condition"),
            lim(model.matrix(~ male + condition, col), "male+condition"))
write.csv(li, file.path(out_dir, "limma.csv"), row.names = FALSE)
writeLines(c(paste("R", R.version$major, R.version$minor),
             paste("DESeq2", packageVersion("DESeq2")), paste("limma", packageVersion("limma"))),
           file.path(out_dir, "versions.txt"))
