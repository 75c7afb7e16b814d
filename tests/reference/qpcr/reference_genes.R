# Reference values for exomir's geNorm M and NormFinder stability (tests/test_reference_genes.py).
#
# Run from the repository root:  Rscript tests/reference/qpcr/reference_genes.R
#
# 1. Simulates a worked example (10 candidate miRNAs, 30 sera in 3 groups) with a fixed seed and
#    writes it to reference_genes_example.csv (samples in rows, Cq values).
# 2. Computes, written out here in plain base R straight from the published formulas:
#    - geNorm (Vandesompele et al. 2002, Genome Biol 3:research0034): M on the full set, the
#      stepwise exclusion with M at every step, and the pairwise variations V_n/n+1;
#    - NormFinder (Andersen et al. 2004, Cancer Res 64:5245) with and without groups.
# Outputs: genorm_m.csv, genorm_steps.csv, genorm_v.csv, normfinder_groups.csv,
# normfinder_nogroups.csv in this folder.

out_dir <- "tests/reference/qpcr"
set.seed(20041001)

groups <- rep(c("HCC", "LC", "healthy"), each = 10)
n <- length(groups)
genes <- c("miR-16-5p", "miR-93-5p", "miR-191-5p", "miR-103a-3p", "miR-423-5p",
           "miR-425-5p", "let-7a-5p", "miR-24-3p", "miR-451a", "RNU6")
base <- c(22.1, 25.3, 24.8, 26.0, 27.2, 28.4, 23.5, 24.0, 21.0, 26.5)
noise_sd <- c(0.25, 0.30, 0.18, 0.22, 0.40, 0.35, 0.55, 0.28, 0.90, 0.70)
group_shift <- rbind(  # per gene, per group (HCC, LC, healthy)
  c(0, 0, 0), c(0.3, 0.1, -0.2), c(0, 0, 0), c(0.1, -0.1, 0), c(0.5, 0.2, -0.4),
  c(0, 0.1, 0), c(0.8, 0.3, -0.6), c(-0.2, 0.1, 0.1), c(1.2, 0.5, -0.9), c(0.4, -0.3, 0))
sample_input <- rnorm(n, 0, 0.8)   # RNA input per sample, shared by all genes
gidx <- match(groups, c("HCC", "LC", "healthy"))
cq <- matrix(0, n, length(genes))
for (i in seq_len(n)) for (j in seq_along(genes)) {
  cq[i, j] <- round(base[j] + sample_input[i] + group_shift[j, gidx[i]] + rnorm(1, 0, noise_sd[j]), 3)
}
colnames(cq) <- genes
samples <- sprintf("S%02d", seq_len(n))
example <- data.frame(sample = samples, group = groups, cq, check.names = FALSE)
write.csv(example, file.path(out_dir, "reference_genes_example.csv"), row.names = FALSE, quote = FALSE)

# ---- geNorm ---------------------------------------------------------------------------------
genorm_M <- function(x) {
  k <- ncol(x)
  m <- numeric(k)
  for (j in seq_len(k)) {
    total <- 0
    for (l in seq_len(k)) if (l != j) total <- total + sd(log2(2^-x[, j] / 2^-x[, l]))
    m[j] <- total / (k - 1)
  }
  names(m) <- colnames(x)
  m
}

m_full <- genorm_M(cq)
write.csv(data.frame(mirna = names(m_full), M = sprintf("%.12f", m_full)),
          file.path(out_dir, "genorm_m.csv"), row.names = FALSE, quote = FALSE)

remaining <- colnames(cq)
removed <- character(0)
steps <- list()
while (length(remaining) >= 2) {
  m <- genorm_M(cq[, remaining, drop = FALSE])
  steps[[length(steps) + 1]] <- data.frame(n_candidates = length(remaining), mirna = names(m),
                                           M = sprintf("%.12f", m))
  if (length(remaining) == 2) break
  worst <- names(m)[which.max(m)]
  removed <- c(removed, worst)
  remaining <- setdiff(remaining, worst)
}
write.csv(do.call(rbind, steps), file.path(out_dir, "genorm_steps.csv"), row.names = FALSE, quote = FALSE)

ranking <- c(remaining, rev(removed))   # most stable first
v <- numeric(0)
for (nn in 2:(length(ranking) - 1)) {
  nf_n <- apply(2^-cq[, ranking[1:nn], drop = FALSE], 1, function(q) exp(mean(log(q))))
  nf_next <- apply(2^-cq[, ranking[1:(nn + 1)], drop = FALSE], 1, function(q) exp(mean(log(q))))
  v <- c(v, sd(log2(nf_n / nf_next)))
}
write.csv(data.frame(pair = sprintf("V%d/%d", 2:(length(ranking) - 1), 3:length(ranking)),
                     V = sprintf("%.12f", v), ranking_top = ranking[1:length(v)]),
          file.path(out_dir, "genorm_v.csv"), row.names = FALSE, quote = FALSE)

# ---- NormFinder -----------------------------------------------------------------------------
normfinder_R <- function(x, grp) {
  y <- t(x)                             # genes x samples
  k <- nrow(y)
  lev <- sort(unique(grp))
  G <- length(lev)
  ng <- sapply(lev, function(g) sum(grp == g))
  s_avg <- colMeans(y)
  gg <- sapply(lev, function(g) rowMeans(y[, grp == g, drop = FALSE]))
  if (is.null(dim(gg))) gg <- matrix(gg, ncol = 1)
  g_avg <- sapply(lev, function(g) mean(y[, grp == g]))
  sig2 <- matrix(0, k, G)
  for (h in seq_len(G)) {
    cols <- which(grp == lev[h])
    r2 <- numeric(k)
    for (i in seq_len(k)) {
      r <- y[i, cols] - gg[i, h] - s_avg[cols] + g_avg[h]
      r2[i] <- sum(r^2) / (ng[h] - 1)
    }
    est <- (r2 - sum(r2) / (k * (k - 1))) / (1 - 2 / k)
    for (i in seq_len(k)) if (est[i] < 0) {
      pv <- sapply(setdiff(seq_len(k), i), function(l) var(y[i, cols] - y[l, cols]))
      est[i] <- min(pv) / 4
    }
    sig2[, h] <- est
  }
  if (G == 1) return(sqrt(sig2[, 1]))
  d <- gg
  for (i in seq_len(k)) for (h in seq_len(G)) {
    d[i, h] <- gg[i, h] - mean(gg[i, ]) - mean(gg[, h]) + mean(gg)
  }
  vd <- sweep(sig2, 2, ng, "/")
  gamma2 <- sum(d^2) / ((G - 1) * (k - 1)) - sum(vd) / (k * G)
  if (gamma2 < 0) gamma2 <- 0
  dt <- d * gamma2 / (gamma2 + vd)
  vt <- vd + gamma2 * vd / (gamma2 + vd)
  rowMeans(abs(dt) + sqrt(vt))
}

nf_g <- normfinder_R(cq, groups)
nf_1 <- normfinder_R(cq, rep("all", n))
write.csv(data.frame(mirna = genes, stability = sprintf("%.12f", nf_g)),
          file.path(out_dir, "normfinder_groups.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(mirna = genes, stability = sprintf("%.12f", nf_1)),
          file.path(out_dir, "normfinder_nogroups.csv"), row.names = FALSE, quote = FALSE)
cat("geNorm ranking:", ranking, "\n")
cat("NormFinder (groups) best:", genes[order(nf_g)][1:3], "\n")
