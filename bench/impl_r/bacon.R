# Goodman-Bacon decomposition: bacondecomp::bacon, no covariates.
bench_packages <- c("bacondecomp")
bench_prepare <- function(path, p) {
  suppressPackageStartupMessages(library(bacondecomp))
  read.csv(path, stringsAsFactors = FALSE)
}
bench_run <- function(d, p) {
  bacondecomp::bacon(referral_rate ~ fv, data = d, id_var = "la", time_var = "quarter",
                     quietly = TRUE)
}
bench_extract <- function(b, d, p) {
  list(twfe = sum(b$estimate * b$weight), n_2x2 = nrow(b))
}
