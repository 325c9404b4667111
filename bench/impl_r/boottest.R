# Wild cluster bootstrap: fwildclusterboot::boottest (R engine, nthreads = 1, its default) after lm.
bench_packages <- c("fwildclusterboot", "dqrng")
bench_prepare <- function(path, p) {
  suppressPackageStartupMessages(library(fwildclusterboot))
  d <- as.data.frame(data.table::fread(path))
  list(d = d, fit = lm(y ~ treat + x1 + x2, data = d))
}
bench_run <- function(s, p) {
  set.seed(1); dqrng::dqset.seed(1)
  suppressWarnings(suppressMessages(fwildclusterboot::boottest(
    s$fit, param = "treat", clustid = "g", B = as.integer(p$B), nthreads = 1)))
}
bench_extract <- function(bt, s, p) {
  list(p_value = bt$p_val, t_stat = bt$t_stat, ci_low = bt$conf_int[1], ci_high = bt$conf_int[2],
       B = bt$boot_iter)
}
