# Reference for fvdid.rubin: stats::lm fitted on each of the m completed datasets stored in one
# long CSV (column ".imp" = 1..m, generated in Python: R draws no random numbers), pooled with
#   mice::pool(mice::as.mira(fits))            (rule "rubin1987", dfcom = df.residual(fit 1))
# args: formula (fvdid syntax; C(x) -> factor(x)), optional dfcom.

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  f <- stats::as.formula(gsub("C\\(\\s*([A-Za-z_.][A-Za-z0-9_.]*)\\s*\\)", "factor(\\1)", args$formula))
  imps <- sort(unique(d[[".imp"]]))
  fits <- lapply(imps, function(i) stats::lm(f, data = d[d[[".imp"]] == i, , drop = FALSE]))
  pooled <- if (is.null(args$dfcom)) {
    mice::pool(mice::as.mira(fits))
  } else {
    mice::pool(mice::as.mira(fits), dfcom = args$dfcom)
  }
  p <- pooled$pooled
  lab <- as.character(p$term)
  cats <- regmatches(args$formula, gregexpr("C\\(\\s*[A-Za-z_.][A-Za-z0-9_.]*\\s*\\)", args$formula))[[1]]
  for (v in unique(gsub("^C\\(\\s*|\\s*\\)$", "", cats))) {
    lab <- gsub(paste0("factor\\(", v, "\\)([^:]*)"), paste0("C(", v, ")[T.\\1]"), lab)
  }
  q <- function(col) fv_q(p[[col]], lab)
  list(
    qbar = q("estimate"), ubar = q("ubar"), b = q("b"), t = q("t"), riv = q("riv"),
    lambda = q("lambda"), fmi = q("fmi"), df = q("df"),
    dfcom = fv_q(p$dfcom[1]), m = fv_q(pooled$m)
  )
}
