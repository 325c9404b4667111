# Time one R implementation of one benchmark workload, inside R.
#
#   Rscript bench/impl_r/run.R SCRIPT.R DATA_CSV PARAMS_JSON OUT_JSON
#
# SCRIPT.R defines `bench_packages` (character), `bench_prepare(path, params)` (untimed: read
# the data, fit what the timed call needs) and `bench_run(state, params)` (timed) and
# `bench_extract(obj, state, params)` (a named list of numbers). The timed call runs once; if it
# took less than 10 s it runs twice more and the minimum is kept (as bench/impl_python.py).
# R's start-up and the data reading are not timed. Peak memory: VmHWM of /proc/self/status.
# Writes {"status": "ok" | "absent" | "error", ...} as JSON (jsonlite, digits = NA).
args <- commandArgs(trailingOnly = TRUE)
script <- args[[1]]; data_path <- args[[2]]; params_json <- args[[3]]; out_path <- args[[4]]
FAST_S <- 10; FAST_REPEATS <- 3

vm <- function(field) {
  s <- tryCatch(readLines("/proc/self/status"), error = function(e) character(0))
  l <- grep(paste0("^", field, ":"), s, value = TRUE)
  if (length(l) == 0) return(NA_real_)
  as.numeric(strsplit(trimws(sub(paste0(field, ":"), "", l)), "\\s+")[[1]][1]) / 1024
}

write_out <- function(x) {
  x$peak_rss_mb <- round(vm("VmHWM"), 1)
  x$r_version <- paste(R.version$major, R.version$minor, sep = ".")
  if (requireNamespace("jsonlite", quietly = TRUE)) {
    writeLines(jsonlite::toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null"),
               out_path)
  } else {
    stop("jsonlite is required to report results")
  }
}

env <- new.env()
sys.source(script, envir = env)
missing <- env$bench_packages[!vapply(env$bench_packages, requireNamespace, logical(1),
                                        quietly = TRUE)]
if (length(missing) > 0) {
  write_out(list(status = "absent", reason = paste0(
    "R package not installed: ", paste(missing, collapse = ", "), " (R searched ",
    paste(.libPaths(), collapse = ", "), "; R_LIBS names more libraries)")))
  quit(status = 0)
}
versions <- vapply(env$bench_packages, function(p) as.character(utils::packageVersion(p)),
                   character(1))
params <- jsonlite::fromJSON(params_json, simplifyVector = TRUE)
res <- tryCatch({
  state <- env$bench_prepare(data_path, params)
  rss_before <- vm("VmRSS")
  times <- numeric(0)
  repeat {
    gc(verbose = FALSE)
    t0 <- proc.time()[["elapsed"]]
    obj <- env$bench_run(state, params)
    times <- c(times, proc.time()[["elapsed"]] - t0)
    if (times[1] >= FAST_S || length(times) >= FAST_REPEATS) break
  }
  est <- env$bench_extract(obj, state, params)
  list(status = "ok", seconds = min(times), all_seconds = as.list(times),
       n_repeats = length(times), rss_before_mb = round(rss_before, 1),
       estimate = lapply(est, as.numeric), version = paste(versions, collapse = ", "))
}, error = function(e) list(status = "error", reason = substr(conditionMessage(e), 1, 600),
                             version = paste(versions, collapse = ", ")))
write_out(res)
