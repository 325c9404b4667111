# Reference numbers for fvdid.tobit: AER::tobit (survival::survreg, gaussian).
#
# args: formula ("y ~ x1 + C(g)"; C(g) is factor(g), relabelled "C(g)[L]"), left (absent = 0,
#       null = -Inf), right (absent or null = Inf). JSON has no infinity, hence null.

fv_label <- function(x) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  lo <- if (!("left" %in% names(args))) 0 else if (is.null(args$left)) -Inf else args$left
  hi <- if (is.null(args$right)) Inf else args$right
  f <- stats::as.formula(gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula), env = environment())
  fit <- AER::tobit(f, left = lo, right = hi, data = d)
  b <- stats::coef(fit)
  V <- stats::vcov(fit)
  y <- d[[trimws(sub("~.*$", "", args$formula))]]
  y <- y[stats::complete.cases(d[, all.vars(f), drop = FALSE])]
  list(
    coef = fv_q(unname(b), fv_label(names(b))),
    se = fv_q(unname(sqrt(diag(V))), fv_label(colnames(V))),
    scale = fv_q(fit$scale),
    loglik = fv_q(as.numeric(stats::logLik(fit))),
    nobs = fv_q(length(y)),
    n_left = fv_q(sum(y <= lo)),
    n_right = fv_q(sum(y >= hi))
  )
}
