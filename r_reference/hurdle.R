# Reference numbers for fvdid.hurdle: pscl::hurdle.
#
# args: formula ("y ~ x1 + C(g)" or "y ~ x1 | z1"; C(g) is factor(g), relabelled "C(g)[L]"),
#       dist "poisson" | "negbin", zero_dist "binomial", link "logit",
#       reltol (optional: optim's relative tolerance; absent = pscl's default
#       .Machine$double.eps^(1/1.6) ~ 1.5e-10), weights (optional column of case weights),
#       vcov (optional: "CR0" | "CR1" | "HC0" | "HC1"; absent = vcov(fit)), cluster (column).
# Robust covariance: sandwich::vcovCL with pscl's estfun/bread methods (scores of the count and
# zero coefficients; theta is not among them); CR1/HC1 = type "HC1", cadjust = TRUE; CR0/HC0 =
# type "HC0", cadjust = FALSE (HC*: no cluster).

fv_label <- function(x) sub("^(count_|zero_)?factor\\(([^)]+)\\)(.*)$", "\\1C(\\2)[\\3]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  f <- stats::as.formula(gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula), env = environment())
  ctrl <- if (is.null(args$reltol)) pscl::hurdle.control() else pscl::hurdle.control(reltol = args$reltol)
  zd <- if (is.null(args$zero_dist)) "binomial" else args$zero_dist
  lk <- if (is.null(args$link)) "logit" else args$link
  if (is.null(args$weights)) {
    fit <- pscl::hurdle(f, data = d, dist = args$dist, zero.dist = zd, link = lk, control = ctrl)
  } else {
    d$.fv_w <- d[[args$weights]]
    fit <- pscl::hurdle(f, data = d, dist = args$dist, zero.dist = zd, link = lk, control = ctrl,
                        weights = .fv_w)
  }
  b <- stats::coef(fit)
  V <- if (is.null(args$vcov)) stats::vcov(fit) else {
    hc1 <- args$vcov %in% c("CR1", "HC1")
    cl <- if (startsWith(args$vcov, "CR")) d[[args$cluster]] else NULL  # vcovCL drops na.action rows
    sandwich::vcovCL(fit, cluster = cl, type = if (hc1) "HC1" else "HC0", cadjust = hc1)
  }
  out <- list(
    coef = fv_q(unname(b), fv_label(names(b))),
    se = fv_q(unname(sqrt(diag(V))), fv_label(colnames(V))),
    loglik = fv_q(as.numeric(stats::logLik(fit))),
    nobs = fv_q(fit$n)
  )
  if (identical(args$dist, "negbin")) {
    out$theta <- fv_q(unname(fit$theta[["count"]]))
    out$se_logtheta <- fv_q(unname(fit$SE.logtheta[["count"]]))
  }
  if (!is.null(args$cluster)) {
    out$n_clusters <- fv_q(length(unique(d[stats::complete.cases(d[, all.vars(f), drop = FALSE]), args$cluster])))
  }
  out
}
