# Reference numbers for fvdid.lmer: lme4::lmer(y ~ x + (1 | group)).
#
# args: formula (fixed part, "y ~ x1 + C(k)"; C(k) is factor(k), relabelled "C(k)[L]"),
#       group (column), reml (TRUE/FALSE; absent = TRUE). lme4's default control throughout.
#       vcov (optional: "CR0" | "CR1"; absent = vcov(fit)): clubSandwich::vcovCR(fit, cluster,
#       type) with its default working model (inverse_var = TRUE); cluster (column; absent =
#       the group, clubSandwich's default).

fv_label <- function(x) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  fixed <- gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula)
  f <- stats::as.formula(paste0(fixed, " + (1 | ", args$group, ")"), env = environment())
  reml <- if (is.null(args$reml)) TRUE else isTRUE(args$reml)
  fit <- lme4::lmer(f, data = d, REML = reml)
  b <- lme4::fixef(fit)
  V <- if (is.null(args$vcov)) as.matrix(stats::vcov(fit)) else {
    cl <- if (is.null(args$cluster)) args$group else args$cluster
    used <- stats::complete.cases(d[, all.vars(f), drop = FALSE])
    as.matrix(clubSandwich::vcovCR(fit, cluster = d[used, cl], type = args$vcov))
  }
  vc <- as.data.frame(lme4::VarCorr(fit))
  out <- list(
    coef = fv_q(unname(b), fv_label(names(b))),
    se = fv_q(unname(sqrt(diag(V))), fv_label(names(b))),
    varcomp = fv_q(vc$vcov, ifelse(vc$grp == "Residual", "Residual", vc$grp)),
    theta = fv_q(unname(lme4::getME(fit, "theta"))),
    criterion = fv_q(if (reml) lme4::REMLcrit(fit) else stats::deviance(fit)),
    nobs = fv_q(stats::nobs(fit)),
    ngroups = fv_q(unname(lme4::ngrps(fit)))
  )
  if (!is.null(args$vcov)) {
    cl <- if (is.null(args$cluster)) args$group else args$cluster
    out$n_clusters <- fv_q(length(unique(d[stats::complete.cases(d[, all.vars(f), drop = FALSE]), cl])))
  }
  out
}
