# Reference normalization factors for exomir.preprocess.normalize.
# Run from the repository root:  Rscript tests/reference/normalize/normalize_reference.R
suppressPackageStartupMessages({library(DESeq2); library(edgeR)})
here <- "tests/reference/normalize"
out <- list()
for (name in c("counts", "counts_sparse")) {
  counts <- as.matrix(read.csv(file.path(here, paste0(name, ".csv")), row.names = 1, check.names = FALSE))
  type <- if (any(apply(counts, 1, function(r) all(r > 0)))) "ratio" else "poscounts"
  # the DESeqDataSet route, as DESeq() runs it (it scales poscounts factors to geometric mean 1)
  dds <- DESeqDataSetFromMatrix(counts, data.frame(row.names = colnames(counts), one = rep(1, ncol(counts))), ~1)
  sf <- sizeFactors(estimateSizeFactors(dds, type = type))
  tmm <- calcNormFactors(counts, method = "TMM")
  cpm_log <- cpm(counts, log = FALSE)
  out[[name]] <- data.frame(sample = colnames(counts), size_factor = sf, size_factor_type = type,
                            tmm = tmm, lib_size = colSums(counts))
  write.csv(out[[name]], file.path(here, paste0(name, "_factors.csv")), row.names = FALSE)
}
writeLines(c(paste("DESeq2", packageVersion("DESeq2")), paste("edgeR", packageVersion("edgeR")),
             R.version.string), file.path(here, "versions.txt"))
