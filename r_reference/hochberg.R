# Reference for fvdid.hochberg: stats::p.adjust(p, method = "hochberg").
# args: label (column of labels), p (column of p-values; NA allowed), optional subset (labels).

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  p <- stats::setNames(d[[args$p]], as.character(d[[args$label]]))
  if (!is.null(args$subset)) p <- p[as.character(args$subset)]
  adj <- stats::p.adjust(p, method = "hochberg")
  # NA p-values stay NA in both; they are left out of the quantity (their presence still
  # matters: the number of tests m counts only non-missing p-values).
  list(adjusted = fv_q(adj[!is.na(adj)]))
}
