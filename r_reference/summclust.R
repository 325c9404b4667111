# Reference numbers for fvdid.cluster_diagnostics: summclust::summclust() (0.7.2).
#
# args (from parity/cases/summclust.py):
#   engine     "lm" (stats::lm, no fixed effects) or "feols" (fixest::feols with the cluster
#              variable among the fixed effects: summclust projects it out,
#              absorb_cluster_fixef = TRUE, and enters the other fixed effects as dummies)
#   formula_r  the R formula of that engine
#   cluster    cluster column; param: the coefficient (summclust's `params`)
#   weights    column of analytic weights or NULL (rows with weight 0 are dropped first, as
#              fvdid.ols drops and counts them)
# Quantities: leverage_g and partial_leverage (for `param`), labelled by cluster.

fvdid_case <- function(path, args) {
  suppressPackageStartupMessages(library(summclust))
  d <- fv_read(path)
  if (!is.null(args$weights)) d <- d[d[[args$weights]] > 0, , drop = FALSE]
  d$.w <- if (is.null(args$weights)) 1 else d[[args$weights]]
  fml <- stats::as.formula(args$formula_r)
  # summclust re-evaluates the model call (update(), expand.model.frame()) outside this
  # function, so the data must be reachable by name from the global environment
  assign(".fv_summclust_data", d, envir = globalenv())
  on.exit(rm(".fv_summclust_data", envir = globalenv()), add = TRUE)
  w_arg <- if (is.null(args$weights)) NULL else quote(.w)
  fit <- if (args$engine == "feols") {
    suppressPackageStartupMessages(library(fixest))
    w_f <- if (is.null(args$weights)) NULL else ~.w
    eval(bquote(fixest::feols(.(fml), data = .fv_summclust_data, weights = .(w_f))),
         envir = globalenv())
  } else {
    eval(bquote(stats::lm(.(fml), data = .fv_summclust_data, weights = .(w_arg))),
         envir = globalenv())
  }
  sc <- summclust::summclust(fit, cluster = stats::reformulate(args$cluster), params = args$param)
  pl <- sc$partial_leverage[args$param, ]
  list(
    leverage = fv_q(sc$leverage_g, names(sc$leverage_g)),
    partial_leverage = fv_q(as.numeric(pl), colnames(sc$partial_leverage)),
    n_clusters = fv_q(length(sc$leverage_g))
  )
}
