# Reference for fvdid.ols: stats::lm with the fixed effects as factor() dummies, and
#   iid : vcov(fit)
#   HC1 : sandwich::vcovHC(fit, type = "HC1")
#   CR1 : sandwich::vcovCL(fit, cluster = <cluster vector>, type = "HC1")
#   CR2 : clubSandwich::vcovCR(fit, cluster = <cluster vector>, type = "CR2") and
#         clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
#   HC0 / HC2 / HC3 : sandwich::vcovHC(fit, type = <vcov>)
#   CR0 / CR1S / CR3 : clubSandwich::vcovCR(fit, cluster = , type = <vcov>)
#   cluster = c("a", "b") (multi-way, CR0 / CR1): sandwich::vcovCL(fit, cluster = d[, c("a",
#         "b")], type = "HC0" with cadjust = FALSE / "HC1", multi0 = args$multi0); df min(G) - 1
#
# args: formula (fvdid syntax "y ~ x1 + C(cat) + a:b | fe1 + fe2"), vcov, and optionally
# weights, cluster. Rows with a missing value in any used column, or weight 0, are dropped
# first (fvdid drops and counts them the same way). Coefficient labels are mapped to fvdid's:
# factor(cat)b -> C(cat)[T.b]; the intercept and the fixed-effect dummies are not reported
# when fixed effects are present.

fv_ols_parse <- function(formula) {
  sides <- strsplit(formula, "~", fixed = TRUE)[[1]]
  y <- trimws(sides[1])
  rhs <- strsplit(sides[2], "|", fixed = TRUE)[[1]]
  regs <- trimws(rhs[1])
  fe <- if (length(rhs) > 1) trimws(strsplit(rhs[2], "+", fixed = TRUE)[[1]]) else character(0)
  fe <- fe[nzchar(fe) & fe != "0"]
  cats <- regmatches(regs, gregexpr("C\\(\\s*[A-Za-z_.][A-Za-z0-9_.]*\\s*\\)", regs))[[1]]
  cats <- unique(gsub("^C\\(\\s*|\\s*\\)$", "", cats))
  regs_r <- gsub("C\\(\\s*([A-Za-z_.][A-Za-z0-9_.]*)\\s*\\)", "factor(\\1)", regs)
  rhs_r <- paste(c(regs_r, if (length(fe)) paste0("factor(", fe, ")")), collapse = " + ")
  rf <- stats::as.formula(paste(y, "~", rhs_r))
  vars <- unique(c(all.vars(rf)))
  list(y = y, fe = fe, cats = cats, formula = rf, vars = vars)
}

fv_ols_labels <- function(nm, cats) {
  for (v in cats) {
    nm <- gsub(paste0("factor\\(", v, "\\)([^:]*)"), paste0("C(", v, ")[T.\\1]"), nm)
  }
  nm
}

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  p <- fv_ols_parse(args$formula)
  used <- unique(c(p$vars, args$weights, unlist(args$cluster)))
  ok <- stats::complete.cases(d[, used, drop = FALSE])
  if (!is.null(args$weights)) ok <- ok & d[[args$weights]] > 0
  n_dropped <- sum(!ok)
  d <- d[ok, , drop = FALSE]
  fit <- if (is.null(args$weights)) {
    stats::lm(p$formula, data = d)
  } else {
    d$.w <- d[[args$weights]]
    stats::lm(p$formula, data = d, weights = .w)
  }
  b <- stats::coef(fit)
  b <- b[!is.na(b)]
  vc <- args$vcov
  df <- NULL
  if (vc == "iid") {
    V <- stats::vcov(fit)
    df <- rep(stats::df.residual(fit), length(b))
  } else if (vc == "HC1") {
    V <- sandwich::vcovHC(fit, type = "HC1")
    df <- rep(stats::df.residual(fit), length(b))
  } else if (vc %in% c("HC0", "HC2", "HC3")) {
    V <- sandwich::vcovHC(fit, type = vc)
    df <- rep(stats::df.residual(fit), length(b))
  } else if (length(args$cluster) > 1) {
    cl <- d[, unlist(args$cluster), drop = FALSE]
    m0 <- isTRUE(args$multi0)
    V <- if (vc == "CR0") {
      sandwich::vcovCL(fit, cluster = cl, type = "HC0", cadjust = FALSE, multi0 = m0)
    } else {
      sandwich::vcovCL(fit, cluster = cl, type = "HC1", multi0 = m0)
    }
    df <- rep(min(sapply(cl, function(v) length(unique(v)))) - 1, length(b))
  } else if (vc %in% c("CR0", "CR1S", "CR3")) {
    cl <- d[[args$cluster]]
    V <- clubSandwich::vcovCR(fit, cluster = cl, type = vc)
    df <- rep(length(unique(cl)) - 1, length(b))
  } else if (vc == "CR1") {
    cl <- d[[args$cluster]]
    V <- sandwich::vcovCL(fit, cluster = cl, type = "HC1")
    df <- rep(length(unique(cl)) - 1, length(b))
  } else if (vc == "CR2") {
    cl <- d[[args$cluster]]
    V <- clubSandwich::vcovCR(fit, cluster = cl, type = "CR2")
    ct <- clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
    df <- ct$df_Satt
  } else {
    stop("unknown vcov ", vc)
  }
  se <- sqrt(diag(as.matrix(V)))[names(b)]
  names(df) <- names(b)
  tstat <- b / se
  pval <- 2 * stats::pt(abs(tstat), df = df, lower.tail = FALSE)
  keep <- !grepl(paste0("^factor\\((", paste(p$fe, collapse = "|"), ")\\)"), names(b))
  if (!length(p$fe)) keep <- rep(TRUE, length(b))
  if (length(p$fe)) keep <- keep & names(b) != "(Intercept)"
  lab <- fv_ols_labels(names(b)[keep], p$cats)
  list(
    coef = fv_q(unname(b[keep]), lab),
    se = fv_q(unname(se[keep]), lab),
    df = fv_q(unname(df[keep]), lab),
    pvalue = fv_q(unname(pval[keep]), lab),
    nobs = fv_q(stats::nobs(fit)),
    n_dropped = fv_q(n_dropped)
  )
}
