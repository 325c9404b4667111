# Reference for fvdid.random_effects:
#   fit <- plm::plm(formula, data, index = c(unit, time), model = "random",
#                   random.method = "swar", effect = "individual")
#   iid : vcov(fit)
#   CR1 : plm::vcovHC(fit, method = "arellano", type = "sss", cluster = "group")
# Variance components from plm::ercomp(fit); theta reported per unit (a balanced panel's scalar
# theta repeated for every unit). fvdid formula syntax C(x) is mapped to factor(x).

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  f <- gsub("C\\(\\s*([A-Za-z_.][A-Za-z0-9_.]*)\\s*\\)", "factor(\\1)", args$formula)
  form <- stats::as.formula(f)
  used <- unique(c(all.vars(form), args$unit, args$time))
  ok <- stats::complete.cases(d[, used, drop = FALSE])
  n_dropped <- sum(!ok)
  d <- d[ok, , drop = FALSE]
  idx <- if (is.null(args$time)) args$unit else c(args$unit, args$time)
  fit <- plm::plm(form, data = d, index = idx, model = "random", random.method = "swar",
                  effect = "individual")
  V <- if (args$vcov == "CR1") {
    plm::vcovHC(fit, method = "arellano", type = "sss", cluster = "group")
  } else {
    stats::vcov(fit)
  }
  b <- stats::coef(fit)
  se <- sqrt(diag(V))[names(b)]
  dfr <- stats::df.residual(fit)
  pval <- 2 * stats::pt(abs(b / se), df = dfr, lower.tail = FALSE)
  lab <- names(b)
  for (v in unique(regmatches(args$formula, gregexpr("C\\(\\s*[A-Za-z_.][A-Za-z0-9_.]*\\s*\\)", args$formula))[[1]])) {
    v <- gsub("^C\\(\\s*|\\s*\\)$", "", v)
    lab <- gsub(paste0("factor\\(", v, "\\)([^:]*)"), paste0("C(", v, ")[T.\\1]"), lab)
  }
  ec <- plm::ercomp(fit)
  th <- ec$theta
  ids <- as.character(plm::index(fit)[[1]])
  if (length(th) == 1L) {
    uid <- sort(unique(d[[args$unit]]))
    theta <- stats::setNames(rep(unname(th), length(uid)), as.character(uid))
  } else {
    theta <- tapply(unname(th), ids, function(x) x[1])
  }
  list(
    coef = fv_q(unname(b), lab),
    se = fv_q(unname(se), lab),
    pvalue = fv_q(unname(pval), lab),
    theta = fv_q(unname(theta), names(theta)),
    sigma2_idios = fv_q(unname(ec$sigma2[["idios"]])),
    sigma2_unit = fv_q(unname(ec$sigma2[["id"]])),
    nobs = fv_q(stats::nobs(fit)),
    n_dropped = fv_q(n_dropped)
  )
}
