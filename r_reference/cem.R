# Reference numbers for the "cem" family: cem::cem (1.1.31) and cem::L1.meas.
#
# args (JSON, shared verbatim with parity/cases/cem.py):
#   treatment   name of the 0/1 treatment column
#   covariates  columns to match on (the data handed to cem() holds treatment + covariates only)
#   id          column labelling the rows; null = the row number in the file (1, 2, ...)
#   cutpoints   named list: rule name, number of cutpoints or vector of cutpoints
#   grouping    named list of lists of values (a JSON array of equal-length arrays arrives as a
#               matrix: each row is one group)
#   baseline    baseline group (default 1)
#   k2k         TRUE: k-to-k matching (cem's default method = NULL, random; seeded with args$seed)
#
# Character columns become factors first (cem codes a character column with as.numeric(), which
# turns every value into NA: an analyst passes factors). Strata are compared as a partition:
# "strata" is every row's stratum renumbered 1, 2, ... in order of first appearance along the
# sorted row labels, so the integer ids cem chooses do not matter.

fv_cem_grouping <- function(g) {
  if (is.null(g) || length(g) == 0L) return(NULL)
  out <- lapply(g, function(groups) {
    if (is.matrix(groups)) return(lapply(seq_len(nrow(groups)), function(i) groups[i, ]))
    if (is.list(groups)) return(lapply(groups, function(x) unlist(x)))
    as.list(groups)
  })
  names(out) <- names(g)
  out
}

fv_cem_canonical <- function(strata, id) {
  ord <- order(id)
  canon <- integer(length(strata))
  canon[ord] <- match(strata[ord], unique(strata[ord]))
  canon
}

fvdid_case <- function(path, args) {
  d <- fv_read(path)
  for (nm in names(d)) if (is.character(d[[nm]])) d[[nm]] <- factor(d[[nm]])
  treat <- args$treatment
  covs <- as.character(unlist(args$covariates))
  id <- if (is.null(args$id)) seq_len(nrow(d)) else d[[args$id]]
  X <- d[, c(treat, covs), drop = FALSE]
  cutpoints <- if (length(args$cutpoints)) args$cutpoints else NULL
  grouping <- fv_cem_grouping(args$grouping)
  baseline <- if (is.null(args$baseline)) "1" else as.character(args$baseline)
  k2k <- isTRUE(args$k2k)
  if (k2k) set.seed(if (is.null(args$seed)) 1L else args$seed)
  utils::capture.output(
    mat <- cem::cem(
      treatment = treat, data = X, cutpoints = cutpoints, grouping = grouping,
      k2k = k2k, baseline.group = baseline, verbose = 0
    )
  )
  canon <- fv_cem_canonical(mat$strata, id)
  tab <- mat$tab
  count_labels <- as.vector(outer(rownames(tab), colnames(tab), paste, sep = ":"))
  br_labels <- character(0)
  br_values <- numeric(0)
  for (v in covs) {
    b <- mat$breaks[[v]]
    if (is.numeric(d[[v]]) && length(b) > 1L && !(v %in% names(grouping))) {
      br_labels <- c(br_labels, paste(v, seq_along(b), sep = ":"))
      br_values <- c(br_values, b)
    }
  }
  group <- d[[treat]]
  l1_before <- cem::L1.meas(group, d[covs])
  out <- list(
    strata = fv_q(canon, id),
    counts = fv_q(as.vector(tab), count_labels),
    n_strata = fv_q(mat$n.strata),
    n_matched_strata = fv_q(length(mat$mstrataID)),
    breaks = fv_q(br_values, br_labels)
  )
  if (k2k) {
    # which units k2k keeps depends on R's random numbers; the kept counts per stratum do not
    m <- mat$matched
    kept <- table(factor(canon[m]), factor(group[m], levels = c(0, 1)))
    out$k2k_kept <- fv_q(
      as.vector(kept), as.vector(outer(rownames(kept), c("G0", "G1"), paste, sep = ":"))
    )
    out$l1 <- fv_q(c(before = l1_before$L1))
    out$lcs <- fv_q(c(before = l1_before$LCS))
  } else {
    l1_after <- cem::L1.meas(group, d[covs], weights = mat$w)
    out$matched <- fv_q(as.numeric(mat$matched), id)
    out$weights <- fv_q(mat$w, id)
    out$l1 <- fv_q(c(before = l1_before$L1, after = l1_after$L1))
    out$lcs <- fv_q(c(before = l1_before$LCS, after = l1_after$LCS))
  }
  out
}
