# Reference numbers for fvdid.hurdle: pscl::hurdle.
#
# args: formula ("y ~ x1 + C(g)" or "y ~ x1 | z1"; C(g) is factor(g), relabelled "C(g)[L]"),
#       dist "poisson" | "negbin", zero_dist "binomial", link "logit",
#       reltol (optional: optim's relative tolerance; absent = pscl's default
#       .Machine$double.eps^(1/1.6) ~ 1.5e-10).

fv_label <- function(x) sub("^(count_|zero_)?factor\\(([^)]+)\\)(.*)$", "\\1C(\\2)[\\3]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  f <- stats::as.formula(gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula), env = environment())
  ctrl <- if (is.null(args$reltol)) pscl::hurdle.control() else pscl::hurdle.control(reltol = args$reltol)
  fit <- pscl::hurdle(f, data = d, dist = args$dist,
                      zero.dist = if (is.null(args$zero_dist)) "binomial" else args$zero_dist,
                      link = if (is.null(args$link)) "logit" else args$link,
                      control = ctrl)
  b <- stats::coef(fit)
  V <- stats::vcov(fit)
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
  out
}
