# Reference numbers for fvdid.boottest: fwildclusterboot::boottest() on stats::lm().
#
# args (from parity/cases/boottest.py):
#   formula_r    lm formula (fixed effects as factor() dummies: fixest is not in Debian)
#   weights      column of analytic weights or NULL
#   param        tested coefficient (R name)
#   cluster      error-cluster column (one-way)
#   bootcluster  NULL (= cluster, R's "max") or a vector of columns (their intersection)
#   B, type, impose_null, r, p_val_type, conf_int, sign_level, seed
#   conf_int     must be FALSE for one-sided p-values (the R engine would fail in invert_p_val)
#   enumerated   TRUE when full enumeration makes the draws deterministic: the sorted bootstrap
#                t-statistics are returned, labelled by rank "r0001", ...
#
# Engine: R (the default, "fnw11"), ssc = boot_ssc() defaults, tol = 1e-6, maxiter = 10.

fvdid_case <- function(path, args) {
  suppressPackageStartupMessages(library(fwildclusterboot))
  d <- fv_read(path)
  if (!is.null(args$weights)) {
    # fwildclusterboot 0.13.0 aborts on zero weights in lm ("The number of observations in
    # 'cluster' and 'nobs()' do not match": nobs() skips them, the cluster frame does not);
    # they carry no information, so drop them here, as fvdid.ols does (and counts).
    d <- d[d[[args$weights]] != 0, , drop = FALSE]
  }
  w <- if (is.null(args$weights)) NULL else d[[args$weights]]
  d$.w <- if (is.null(w)) 1 else w
  fit <- if (is.null(args$weights)) {
    stats::lm(stats::as.formula(args$formula_r), data = d)
  } else {
    stats::lm(stats::as.formula(args$formula_r), data = d, weights = .w)
  }
  bootcluster <- if (is.null(args$bootcluster)) "max" else as.character(args$bootcluster)
  set.seed(args$seed)
  dqrng::dqset.seed(args$seed)
  bt <- suppressWarnings(suppressMessages(fwildclusterboot::boottest(
    fit,
    param = args$param,
    B = as.integer(args$B),
    clustid = args$cluster,
    bootcluster = bootcluster,
    type = args$type,
    impose_null = isTRUE(args$impose_null),
    r = as.numeric(args$r),
    p_val_type = args$p_val_type,
    conf_int = isTRUE(args$conf_int),
    sign_level = as.numeric(args$sign_level)
  )))
  out <- list(
    t_stat = fv_q(as.numeric(bt$t_stat)),
    p_value = fv_q(as.numeric(bt$p_val)),
    B = fv_q(as.numeric(bt$boot_iter)),
    n_clusters = fv_q(as.numeric(bt$N_G[1]))
  )
  if (isTRUE(args$conf_int) && args$p_val_type %in% c("two-tailed", "equal-tailed")) {
    ci <- as.numeric(bt$conf_int)
    if (isTRUE(args$enumerated)) {
      out$conf_int <- fv_q(ci, c("lower", "upper"))
    } else {
      # random draws: the interval in standard-error units, (ci - estimate) / se with
      # se = (estimate - r) / t_stat, i.e. the Monte Carlo quantiles of the bootstrap t
      se <- (bt$point_estimate - as.numeric(args$r)) / as.numeric(bt$t_stat)
      out$conf_int_se <- fv_q((ci - bt$point_estimate) / se, c("lower", "upper"))
    }
  }
  if (isTRUE(args$enumerated)) {
    tb <- sort(as.numeric(bt$t_boot))
    out$t_boot_sorted <- fv_q(tb, sprintf("r%04d", seq_along(tb)))
  }
  out
}
