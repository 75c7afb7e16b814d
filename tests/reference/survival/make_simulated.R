# Simulated survival data with many tied times (integer months), for the Efron tie handling,
# the k-group log-rank test and maxstat; writes the data and R's results.
#
# Run from the repository root:  Rscript tests/reference/survival/make_simulated.R
suppressPackageStartupMessages({ library(survival); library(maxstat) })
out_dir <- "tests/reference/survival"
options(digits = 17)
set.seed(20240611)
n <- 200
x <- round(rnorm(n), 3)
age <- round(rnorm(n, 60, 8))
stage <- sample(c("I", "II", "III"), n, replace = TRUE)
rate <- 0.03 * exp(0.6 * x + 0.02 * (age - 60) + 0.5 * (stage == "III"))
t_event <- rexp(n, rate)
t_cens <- runif(n, 5, 60)
d <- data.frame(x = x, age = age, stage = stage,
                time = pmax(1, ceiling(pmin(t_event, t_cens))),
                event = as.integer(t_event <= t_cens))
write.csv(d, file.path(out_dir, "simulated_ties.csv"), row.names = FALSE)

ctl <- coxph.control(eps = 1e-10, iter.max = 100)
fit <- coxph(Surv(time, event) ~ x + age + stage, data = d, ties = "efron", control = ctl)
s <- summary(fit)$coefficients
zph <- cox.zph(fit, terms = FALSE)  # one test per coefficient, as exomir reports them
sd3 <- survdiff(Surv(time, event) ~ stage, data = d)
ms <- maxstat.test(Surv(time, event) ~ x, data = d, smethod = "LogRank", pmethod = "Lau94")
write.csv(data.frame(term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"],
                     zph_chisq = zph$table[rownames(s), "chisq"]),
          file.path(out_dir, "simulated_cox.csv"), row.names = FALSE)
write.csv(data.frame(
  statistic = c("n_distinct_times", "events", "loglik", "zph_global_chisq", "logrank3_chisq",
                "maxstat_cutpoint", "maxstat_statistic", "maxstat_p"),
  value = c(length(unique(d$time)), sum(d$event), fit$loglik[2], zph$table["GLOBAL", "chisq"],
            sd3$chisq, unname(ms$estimate), unname(ms$statistic), ms$p.value)),
  file.path(out_dir, "simulated_stats.csv"), row.names = FALSE)
