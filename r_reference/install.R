# Install every R package fvdid's parity cases call, from CRAN, pinned where numbers change
# between releases. For users whose machine reaches CRAN:
#   Rscript r_reference/install.R
# Debian users get the "live in CI" packages from apt instead (see README).

repos <- getOption("repos")
if (is.null(repos) || identical(unname(repos["CRAN"]), "@CRAN@")) repos <- c(CRAN = "https://cloud.r-project.org")

live_in_ci <- c("jsonlite", "data.table", "sandwich", "clubSandwich", "plm", "lme4", "AER",
                "pscl", "survival", "mice")
missing <- setdiff(live_in_ci, rownames(installed.packages()))
if (length(missing)) install.packages(missing, repos = repos)

# Pinned: the golden files were recorded with these versions; parity/golden.py reads this list and
# fails a golden file recorded with another version of a pinned package as stale. BMisc is pinned
# because 1.4.6 changed its Rademacher sampler: the did multiplier-bootstrap goldens
# (did_mpdta_bootstrap_cband, did_panel_cluster_bootstrap) are reproduced draw for draw by
# BMisc 1.4.5 only; with 1.4.6 they hold within their Monte Carlo tolerances, not exactly.
pinned <- c(did = "2.1.2", DRDID = "1.2.3", BMisc = "1.4.5", bacondecomp = "0.1.1",
            cem = "1.1.31", fwildclusterboot = "0.13.0")
if (!requireNamespace("remotes", quietly = TRUE)) install.packages("remotes", repos = repos)
# Every pinned version is installed from the CRAN archive (src/contrib/Archive/<pkg>/), which is
# where remotes::install_version looks for versions that are no longer current. fwildclusterboot
# has been archived on CRAN (it is no longer in the current index at all); its dependencies are
# resolved from the current CRAN index by install_version.
archive <- function(p, v) {
  sprintf("%s/src/contrib/Archive/%s/%s_%s.tar.gz", sub("/$", "", repos[["CRAN"]]), p, p, v)
}
for (p in names(pinned)) {
  have <- if (requireNamespace(p, quietly = TRUE)) as.character(packageVersion(p)) else ""
  if (!identical(have, pinned[[p]])) {
    ok <- tryCatch({
      remotes::install_version(p, version = pinned[[p]], repos = repos, upgrade = "never")
      TRUE
    }, error = function(e) FALSE)
    if (!ok) {
      # fallback: the archive tarball itself (its dependencies must then be installed already)
      install.packages(archive(p, pinned[[p]]), repos = NULL, type = "source")
    }
  }
}
for (p in c(live_in_ci, names(pinned))) cat(sprintf("%-18s %s\n", p, as.character(packageVersion(p))))
