# Reference numbers for fvdid.lmer: lme4::lmer(y ~ x + (1 | group)).
#
# args: formula (fixed part, "y ~ x1 + C(k)"; C(k) is factor(k), relabelled "C(k)[L]"),
#       group (column), reml (TRUE/FALSE; absent = TRUE). lme4's default control throughout.

fv_label <- function(x) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", x)

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  fixed <- gsub("C\\(([^)]+)\\)", "factor(\\1)", args$formula)
  f <- stats::as.formula(paste0(fixed, " + (1 | ", args$group, ")"), env = environment())
  reml <- if (is.null(args$reml)) TRUE else isTRUE(args$reml)
  fit <- lme4::lmer(f, data = d, REML = reml)
  b <- lme4::fixef(fit)
  V <- as.matrix(stats::vcov(fit))
  vc <- as.data.frame(lme4::VarCorr(fit))
  list(
    coef = fv_q(unname(b), fv_label(names(b))),
    se = fv_q(unname(sqrt(diag(V))), fv_label(names(b))),
    varcomp = fv_q(vc$vcov, ifelse(vc$grp == "Residual", "Residual", vc$grp)),
    theta = fv_q(unname(lme4::getME(fit, "theta"))),
    criterion = fv_q(if (reml) lme4::REMLcrit(fit) else stats::deviance(fit)),
    nobs = fv_q(stats::nobs(fit)),
    ngroups = fv_q(unname(lme4::ngrps(fit)))
  )
}
