# Reference numbers for fvdid.logit (stats::glm + sandwich) and fvdid.clogit (survival::clogit).
#
# args (the case's literal arguments, shared with the Python side):
#   model    "logit" | "clogit"
#   formula  fvdid formula, "y ~ x1 + C(g)"; C(g) is R's factor(g), whose dummies R labels
#            "factor(g)L" and fv_label() renames "C(g)[L]" as fvdid does.
#   logit:   weights (column or absent), vcov "iid" | "HC1" | "CR1", cluster (column),
#            epsilon (glm.control's convergence tolerance; absent = R's default 1e-8). R computes
#            vcov and the sandwich from the working weights of its last IRLS iteration, so with
#            the default the SEs sit ~1e-7 from those at the converged estimate.
#   clogit:  strata (column), method "exact" | "efron" | "breslow" | "approximate"

fv_formula <- function(f) {
  stats::as.formula(gsub("C\\(([^)]+)\\)", "factor(\\1)", f))
}

fv_label <- function(x) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  if (identical(args$model, "logit")) {
    f <- fv_formula(args$formula)
    environment(f) <- environment()  # vcovCL(cluster = ~g) re-evaluates the data in it
    ctrl <- if (is.null(args$epsilon)) stats::glm.control() else stats::glm.control(epsilon = args$epsilon, maxit = 100)
    fit <- if (is.null(args$weights)) {
      stats::glm(f, family = stats::binomial(), data = d, control = ctrl)
    } else {
      d$.w <- d[[args$weights]]
      stats::glm(f, family = stats::binomial(), data = d, weights = .w, control = ctrl)
    }
    V <- switch(args$vcov,
      iid = stats::vcov(fit),
      HC1 = sandwich::vcovHC(fit, type = "HC1"),
      CR1 = sandwich::vcovCL(fit, cluster = stats::as.formula(paste0("~", args$cluster)),
                             type = "HC1", cadjust = TRUE)
    )
    b <- stats::coef(fit)
    return(list(
      coef = fv_q(unname(b), fv_label(names(b))),
      se = fv_q(unname(sqrt(diag(V))), fv_label(colnames(V))),
      deviance = fv_q(stats::deviance(fit)),
      nobs = fv_q(stats::nobs(fit)),
      n_dropped = fv_q(length(fit$na.action))
    ))
  }
  if (identical(args$model, "clogit")) {
    rhs <- gsub("C\\(([^)]+)\\)", "factor(\\1)", sub("^[^~]*~", "", args$formula))
    lhs <- trimws(sub("~.*$", "", args$formula))
    f <- stats::as.formula(paste0(lhs, " ~ ", rhs, " + strata(", args$strata, ")"))
    method <- if (is.null(args$method)) "exact" else args$method
    fit <- survival::clogit(f, data = d, method = method)
    b <- stats::coef(fit)
    V <- stats::vcov(fit)
    return(list(
      coef = fv_q(unname(b), fv_label(names(b))),
      se = fv_q(unname(sqrt(diag(V))), fv_label(colnames(V))),
      loglik = fv_q(fit$loglik[2]),
      nobs = fv_q(fit$n),
      nevent = fv_q(fit$nevent)
    ))
  }
  stop("unknown model ", args$model)
}
