# Reference numbers for fvdid.att_gt / fvdid.aggte from R did (2.1.2, with DRDID 1.2.3).
#
# args use fvdid's vocabulary; this script maps them onto did's argument names:
#   y -> yname, time -> tname, cohort -> gname, unit -> idname, covariates -> xformla,
#   control ("never_treated"/"not_yet_treated") -> control_group ("nevertreated"/"notyettreated"),
#   method -> est_method, weights -> weightsname, cluster -> clustervars, bootstrap -> bstrap,
#   n_boot -> biters, alpha -> alp. `aggregations` is a list of aggte() calls, each with a `name`
#   that prefixes its quantities. `seed` (bootstrap cases only) goes to set.seed().

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  get <- function(key, default) if (is.null(args[[key]])) default else args[[key]]
  covs <- unlist(get("covariates", character(0)))
  xformla <- if (length(covs) == 0) ~1 else stats::as.formula(paste("~", paste(covs, collapse = " + ")))
  control <- c(never_treated = "nevertreated", not_yet_treated = "notyettreated")[[get("control", "never_treated")]]
  bstrap <- isTRUE(get("bootstrap", FALSE))
  if (!is.null(args$seed)) set.seed(args$seed)

  fit <- suppressWarnings(did::att_gt(
    yname = args$y, tname = args$time, gname = args$cohort, idname = get("unit", NULL),
    xformla = xformla, data = d, panel = get("panel", TRUE),
    allow_unbalanced_panel = get("allow_unbalanced_panel", FALSE),
    control_group = control, anticipation = get("anticipation", 0),
    weightsname = get("weights", NULL), alp = get("alpha", 0.05),
    bstrap = bstrap, cband = isTRUE(get("cband", FALSE)), biters = get("n_boot", 1000),
    clustervars = get("cluster", NULL), est_method = get("method", "dr"),
    base_period = get("base_period", "varying")
  ))

  lab <- paste0(fit$group, ":", fit$t)
  out <- list(
    att = fv_q(fit$att, lab),
    se = fv_q(fit$se, lab),
    n_units = fv_q(fit$n)
  )
  if (!is.null(fit$W)) {
    out$wald_stat <- fv_q(as.numeric(fit$W))
    out$wald_pvalue <- fv_q(as.numeric(fit$Wpval))
  }
  if (bstrap && isTRUE(get("cband", FALSE))) out$crit_val <- fv_q(as.numeric(fit$c))

  for (a in get("aggregations", list())) {
    ag <- suppressWarnings(did::aggte(
      fit, type = a$type,
      balance_e = a$balance_e,
      min_e = if (is.null(a$min_e)) -Inf else a$min_e,
      max_e = if (is.null(a$max_e)) Inf else a$max_e,
      na.rm = isTRUE(a$na_rm)
    ))
    p <- a$name
    out[[paste0(p, "_overall_att")]] <- fv_q(ag$overall.att)
    out[[paste0(p, "_overall_se")]] <- fv_q(ag$overall.se)
    if (a$type != "simple") {
      out[[paste0(p, "_att")]] <- fv_q(ag$att.egt, ag$egt)
      out[[paste0(p, "_se")]] <- fv_q(ag$se.egt, ag$egt)
      if (bstrap && isTRUE(get("cband", FALSE))) {
        out[[paste0(p, "_crit_val")]] <- fv_q(as.numeric(ag$crit.val.egt))
      }
    }
  }
  out
}
