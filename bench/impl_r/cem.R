# Coarsened exact matching: cem::cem with the protocol's coarsening.
bench_packages <- c("cem")
bench_prepare <- function(path, p) {
  suppressPackageStartupMessages(library(cem))
  d <- read.csv(path, stringsAsFactors = TRUE)
  d
}
bench_run <- function(d, p) {
  sink(nullfile())  # cem prints a summary on every call
  on.exit(sink())
  cem::cem(treatment = "treated", data = d,
           cutpoints = list(age_at_referral = c(0, 3, 12, 17)),
           grouping = list(gender = list(0, 1, 2, 3)))
}
bench_extract <- function(m, d, p) list(n_matched = sum(m$matched), n_strata = m$n.strata)
