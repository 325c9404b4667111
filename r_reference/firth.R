# Reference numbers for fvdid's Firth logit (fvdid.estimators.logit_firth): brglm2::brglmFit.
#
# Firth's (1993) penalised likelihood for the canonical logit link is the mean-bias-reducing
# adjusted score of Kosmidis & Firth (2009): brglm2's type = "AS_mean". Weights are glm's prior
# weights, which brglm2 carries into the likelihood, the information and the hat values (the
# case-weight convention of logistf and of fvdid).
#
# args: formula (fvdid formula, "y ~ x1 + C(g)"; C(g) is factor(g), relabelled "C(g)[L]"),
#       weights (column or absent).

fv_label <- function(x) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  f <- stats::as.formula(gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula), env = environment())
  d$.w <- if (is.null(args$weights)) rep(1, nrow(d)) else d[[args$weights]]
  fit <- suppressWarnings(  # "non-integer #successes" with non-integer prior weights
    stats::glm(f, family = stats::binomial(), data = d, weights = .w,
               method = brglm2::brglmFit, type = "AS_mean", epsilon = 1e-12, maxit = 500))
  if (!isTRUE(fit$converged)) stop("brglmFit did not converge")
  b <- stats::coef(fit)
  list(
    coef = fv_q(unname(b), fv_label(names(b))),
    fitted_mean = fv_q(stats::weighted.mean(stats::fitted(fit), d$.w)),
    nobs = fv_q(nrow(d))
  )
}
