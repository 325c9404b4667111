# Callaway-Sant'Anna: did::att_gt (est_method = "dr", analytic SEs) + aggte(type = "dynamic").
bench_packages <- c("did")
bench_prepare <- function(path, p) {
  suppressPackageStartupMessages(library(did))
  d <- as.data.frame(data.table::fread(path))
  list(d = d, xformla = as.formula(paste("~", paste(p$covariates, collapse = " + "))))
}
bench_run <- function(s, p) {
  panel <- isTRUE(p$panel)
  r <- suppressWarnings(did::att_gt(
    yname = "y", tname = "year", gname = "g", idname = if (panel) "id" else NULL,
    xformla = s$xformla, data = s$d, panel = panel, est_method = "dr",
    control_group = "nevertreated", bstrap = FALSE, cband = FALSE))
  did::aggte(r, type = "dynamic", bstrap = FALSE, cband = FALSE)
}
bench_extract <- function(a, s, p) list(dynamic_att = a$overall.att, dynamic_se = a$overall.se)
