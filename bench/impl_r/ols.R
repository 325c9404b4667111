# OLS with two fixed effects (factor dummies) and CR1: stats::lm + sandwich::vcovCL(type = "HC1").
bench_packages <- c("sandwich")
bench_prepare <- function(path, p) {
  d <- as.data.frame(data.table::fread(path))
  d$la <- factor(d$la); d$quarter <- factor(d$quarter)
  d
}
bench_run <- function(d, p) {
  fit <- lm(y ~ x1 + x2 + la + quarter, data = d)
  V <- sandwich::vcovCL(fit, cluster = ~la, type = "HC1")
  list(coef = coef(fit)[["x1"]], se = sqrt(V["x1", "x1"]))
}
bench_extract <- function(r, d, p) list(coef_x1 = r$coef, se_x1 = r$se)
