# Reference numbers for fvdid.bacon: bacondecomp::bacon (Goodman-Bacon decomposition) and the
# two-way fixed-effects coefficient from stats::lm.
#
# args (the case's literal arguments, shared with the Python side):
#   y, treatment, unit, time   column names (bacon's formula LHS, first RHS term, id_var, time_var)
#   covariates                 list of column names (absent or empty: the uncontrolled decomposition)
#   subset                     optional {column: value or [values]}: keep the rows whose column is
#                              in the values (applied identically on the Python side)
#
# Quantities: every 2x2 labelled "treated:untreated" (bacondecomp's treat_time codes, never
# treated = 99999): estimate, weight; by comparison type: summary_weight (total weight),
# summary_estimate (weighted mean estimate, unrounded), n_by_type; twfe (lm coefficient);
# with covariates also omega, beta_within (bacondecomp's Omega, beta_hat_w) and beta_between
# (the weighted mean of the 2x2s, as the package vignette computes it).

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  if (!is.null(args$subset)) {
    for (col in names(args$subset)) {
      d <- d[d[[col]] %in% unlist(args$subset[[col]]), , drop = FALSE]
    }
  }
  covs <- as.character(unlist(args$covariates))
  rhs <- paste(c(args$treatment, covs), collapse = " + ")
  f <- stats::as.formula(paste(args$y, "~", rhs))
  res <- bacondecomp::bacon(f, data = d, id_var = args$unit, time_var = args$time, quietly = TRUE)
  tt <- if (length(covs) > 0) res$two_by_twos else res
  lab <- paste(as.character(tt$treated), as.character(tt$untreated), sep = ":")

  types <- sort(unique(tt$type))
  sw <- sapply(types, function(k) sum(tt$weight[tt$type == k]))
  se <- sapply(types, function(k) {
    i <- tt$type == k
    stats::weighted.mean(tt$estimate[i], tt$weight[i])
  })
  nt <- sapply(types, function(k) sum(tt$type == k))

  fe <- stats::as.formula(paste(args$y, "~", rhs, "+ factor(", args$unit, ") + factor(", args$time, ")"))
  twfe <- unname(stats::coef(stats::lm(fe, data = d))[args$treatment])

  out <- list(
    estimate = fv_q(tt$estimate, lab),
    weight = fv_q(tt$weight, lab),
    summary_weight = fv_q(unname(sw), types),
    summary_estimate = fv_q(unname(se), types),
    n_by_type = fv_q(unname(nt), types),
    twfe = fv_q(twfe)
  )
  if (length(covs) > 0) {
    out$omega <- fv_q(res$Omega)
    out$beta_within <- fv_q(res$beta_hat_w)
    out$beta_between <- fv_q(stats::weighted.mean(tt$estimate, tt$weight))
  }
  out
}
