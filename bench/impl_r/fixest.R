# OLS with two fixed effects and CR1 by LA: fixest::feols (the R package a user would pick).
# Small-sample factor: ssc(K.adj = TRUE, K.fixef = "full", G.adj = TRUE), i.e. G/(G-1) (N-1)/(N-K)
# with K counting every fixed-effect parameter, as sandwich::vcovCL(type = "HC1") on the dummy
# lm and fvdid's default; fixest's own default (K.fixef = "nonnested") leaves out of K the FE
# nested in the clusters (here the LA effects). Threads: fixest's default.
bench_packages <- c("fixest")
bench_prepare <- function(path, p) {
  suppressPackageStartupMessages(library(fixest))
  as.data.frame(data.table::fread(path))
}
bench_run <- function(d, p) {
  fit <- fixest::feols(y ~ x1 + x2 | la + quarter, data = d, cluster = ~la,
                       ssc = fixest::ssc(K.adj = TRUE, K.fixef = "full", G.adj = TRUE))
  list(coef = stats::coef(fit)[["x1"]], se = fixest::se(fit)[["x1"]])
}
bench_extract <- function(r, d, p) {
  list(coef_x1 = r$coef, se_x1 = r$se, nthreads = fixest::getFixest_nthreads())
}
