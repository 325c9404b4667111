# Reference numbers for fvdid.tobit: AER::tobit (survival::survreg, gaussian).
#
# args: formula ("y ~ x1 + C(g)"; C(g) is factor(g), relabelled "C(g)[L]"), left (absent = 0,
#       null = -Inf), right (absent or null = Inf). JSON has no infinity, hence null.
#       weights (optional column of case weights), vcov (optional: "CR0" | "CR1" | "HC0" | "HC1";
#       absent = vcov(fit)), cluster (column, for CR0/CR1).
# Robust covariance: sandwich::vcovCL; CR1/HC1 = type "HC1", cadjust = TRUE; CR0/HC0 = type
# "HC0", cadjust = FALSE (HC*: no cluster, every row its own). sandwich's estfun.survreg
# multiplies the coefficient scores by the weights but not the Log(scale) score; with weights
# the reference multiplies that column too (fv_wsurv below), so that every score is the
# derivative of the weighted log-likelihood (the columns then sum to zero at the optimum).

fv_estfun_weighted <- function(x, ...) {
  class(x) <- setdiff(class(x), "fv_wsurv")
  ef <- sandwich::estfun(x)
  ef[, "Log(scale)"] <- ef[, "Log(scale)"] * stats::model.weights(stats::model.frame(x))
  ef
}

fv_label <- function(x) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  lo <- if (!("left" %in% names(args))) 0 else if (is.null(args$left)) -Inf else args$left
  hi <- if (is.null(args$right)) Inf else args$right
  f <- stats::as.formula(gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula), env = environment())
  if (is.null(args$weights)) {
    fit <- AER::tobit(f, left = lo, right = hi, data = d)
  } else {
    d$.fv_w <- d[[args$weights]]
    fit <- AER::tobit(f, left = lo, right = hi, data = d, weights = .fv_w)
    registerS3method("estfun", "fv_wsurv", fv_estfun_weighted, envir = asNamespace("sandwich"))
    class(fit) <- c("fv_wsurv", class(fit))
  }
  b <- stats::coef(fit)
  V <- if (is.null(args$vcov)) stats::vcov(fit) else {
    hc1 <- args$vcov %in% c("CR1", "HC1")
    cl <- if (startsWith(args$vcov, "CR")) d[[args$cluster]] else NULL  # vcovCL drops na.action rows
    sandwich::vcovCL(fit, cluster = cl, type = if (hc1) "HC1" else "HC0", cadjust = hc1)
  }
  y <- d[[trimws(sub("~.*$", "", args$formula))]]
  y <- y[stats::complete.cases(d[, all.vars(f), drop = FALSE])]
  out <- list(
    coef = fv_q(unname(b), fv_label(names(b))),
    se = fv_q(unname(sqrt(diag(V))), fv_label(colnames(V))),
    scale = fv_q(fit$scale),
    loglik = fv_q(as.numeric(stats::logLik(fit))),
    nobs = fv_q(length(y)),
    n_left = fv_q(sum(y <= lo)),
    n_right = fv_q(sum(y >= hi))
  )
  if (!is.null(args$cluster)) {
    out$n_clusters <- fv_q(length(unique(d[stats::complete.cases(d[, all.vars(f), drop = FALSE]), args$cluster])))
  }
  out
}
