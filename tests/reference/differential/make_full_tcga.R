# DESeq2 on the whole TCGA-LIHC precursor table (1,046 precursors; every primary tumour "01"
# against every solid normal "11" aliquot, no pre-filter), DESeq() and results() defaults:
# the agreement that README.md's correctness table states is measured against this file by
# benchmarks/deseq2_agreement.py.
#
# Run from the repository root:  Rscript tests/reference/differential/make_full_tcga.R
suppressPackageStartupMessages(library(DESeq2))
data_dir <- Sys.getenv("EXOMIR_SHARED_DATA", "../shared/data")
out_dir <- "tests/reference/differential"
options(digits = 17)
counts <- read.csv(gzfile(file.path(data_dir, "tcga_lihc", "mirna_precursor_counts.csv.gz")),
                   check.names = FALSE, row.names = 1)
barcodes <- sort(colnames(counts), method = "radix")
type <- substr(barcodes, 14, 15)
samples <- barcodes[type %in% c("01", "11")]
m <- as.matrix(counts[, samples])
storage.mode(m) <- "integer"
col <- data.frame(row.names = samples,
                  condition = factor(ifelse(substr(samples, 14, 15) == "01", "tumour", "normal"),
                                     levels = c("normal", "tumour")))
dds <- DESeq(DESeqDataSetFromMatrix(m, col, design = ~ condition), quiet = TRUE)
r <- results(dds, contrast = c("condition", "tumour", "normal"))
r_nocooks <- results(dds, contrast = c("condition", "tumour", "normal"), cooksCutoff = FALSE,
                     independentFiltering = FALSE)
replaced <- if (!is.null(mcols(dds)$replace)) mcols(dds)$replace else rep(FALSE, nrow(m))
# the same without Cook's outlier replacement (no refit): isolates what the refit contributes
dds_nr <- DESeq(DESeqDataSetFromMatrix(m, col, design = ~ condition), quiet = TRUE,
                minReplicatesForReplace = Inf)
r_nr <- results(dds_nr, contrast = c("condition", "tumour", "normal"))
out <- data.frame(mirna = rownames(r), base_mean = r$baseMean, log2fc = r$log2FoldChange,
                  lfc_se = r$lfcSE, stat = r$stat, pvalue = r$pvalue, padj = r$padj,
                  pvalue_no_cooks_filter = r_nocooks$pvalue, padj_no_filters = r_nocooks$padj,
                  dispersion = dispersions(dds), replaced = replaced,
                  max_cooks = mcols(dds)$maxCooks, all_zero = rowSums(m) == 0,
                  log2fc_no_replace = r_nr$log2FoldChange, pvalue_no_replace = r_nr$pvalue,
                  padj_no_replace = r_nr$padj)
write.csv(out, file.path(out_dir, "deseq2_full_tcga.csv"), row.names = FALSE)
