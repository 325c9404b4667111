# Shared helpers for the fvdid parity scripts. Sourced before every r_reference/<family>.R.
#
# A family script defines `fvdid_case(path, args)` returning a named list of quantities, each made
# with fv_q(). The runner fv_run_case() sources the family script into its own environment, calls
# it, and returns JSON with the quantities and the R-side provenance.
#
# Numbers travel as "%.17g" strings: jsonlite's `digits = NA` stops at 15 significant digits, and
# golden files must round-trip doubles exactly. The Python side parses them and writes the golden
# file at full precision.

suppressPackageStartupMessages(library(jsonlite))

fv_read <- function(path, ...) {
  utils::read.csv(path, stringsAsFactors = FALSE, check.names = FALSE, ...)
}

fv_num <- function(x) {
  x <- as.numeric(x)
  out <- sprintf("%.17g", x)
  out[is.na(x) & !is.nan(x)] <- "NA"
  out
}

# A quantity: labelled values (labels default to names(values)) or, without names, a scalar/vector.
fv_q <- function(values, labels = names(values)) {
  list(
    labels = if (is.null(labels)) NULL else I(as.character(labels)),
    values = I(fv_num(unname(values)))
  )
}

fv_versions <- function(packages) {
  pk <- unique(c(as.character(unlist(packages)), setdiff(loadedNamespaces(), c(
    "base", "stats", "utils", "methods", "graphics", "grDevices", "datasets", "tools",
    "compiler", "grid", "parallel", "splines", "stats4", "tcltk"
  ))))
  pk <- sort(pk)
  stats::setNames(lapply(pk, function(p) as.character(utils::packageVersion(p))), pk)
}

fv_run_case <- function(script, path, args_json, packages_json) {
  args <- jsonlite::fromJSON(args_json, simplifyVector = TRUE, simplifyDataFrame = FALSE)
  packages <- jsonlite::fromJSON(packages_json)
  for (p in packages) suppressPackageStartupMessages(library(p, character.only = TRUE))
  env <- new.env(parent = globalenv())
  sys.source(script, envir = env)
  quantities <- env$fvdid_case(path, args)
  out <- list(
    quantities = quantities,
    r = list(
      version = R.version$version.string,
      platform = R.version$platform,
      os = utils::sessionInfo()$running,
      blas = tryCatch(extSoftVersion()[["BLAS"]], error = function(e) ""),
      packages = fv_versions(packages)
    )
  )
  as.character(jsonlite::toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA))
}

# Command-line use: Rscript r_reference/_common.R SCRIPT DATA ARGS_JSON_FILE PACKAGES_JSON OUT
if (sys.nframe() == 0L && length(commandArgs(trailingOnly = TRUE)) == 5L) {
  a <- commandArgs(trailingOnly = TRUE)
  json <- fv_run_case(a[[1]], a[[2]], paste(readLines(a[[3]], warn = FALSE), collapse = "\n"), a[[4]])
  writeLines(json, a[[5]])
}
