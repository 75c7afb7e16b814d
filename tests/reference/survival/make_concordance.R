# Harrell's C of a risk marker (higher = earlier event) with the infinitesimal-jackknife variance,
# on the simulated tied data: integer times with many ties, and age as a heavily tied marker.
#
# Run from the repository root:  Rscript tests/reference/survival/make_concordance.R
suppressPackageStartupMessages(library(survival))
out_dir <- "tests/reference/survival"
d <- read.csv(file.path(out_dir, "simulated_ties.csv"))
rows <- list()
for (m in c("x", "age")) {
  cc <- concordance(Surv(time, event) ~ d[[m]], data = d, reverse = TRUE)
  k <- cc$count
  rows[[m]] <- data.frame(marker = m, concordance = cc$concordance, var = cc$var,
                          concordant = k[["concordant"]], discordant = k[["discordant"]],
                          tied_x = k[["tied.x"]], tied_y = k[["tied.y"]])
}
write.csv(format(do.call(rbind, rows), digits = 17), file.path(out_dir, "simulated_concordance.csv"),
          row.names = FALSE, quote = FALSE)
