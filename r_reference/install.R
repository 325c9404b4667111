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

# Pinned: the golden files were recorded with these versions.
pinned <- c(did = "2.1.2", DRDID = "1.2.3", bacondecomp = "0.1.1", cem = "1.1.31",
            fwildclusterboot = "0.13.0")
if (!requireNamespace("remotes", quietly = TRUE)) install.packages("remotes", repos = repos)
for (p in names(pinned)) {
  have <- if (requireNamespace(p, quietly = TRUE)) as.character(packageVersion(p)) else ""
  if (!identical(have, pinned[[p]])) {
    remotes::install_version(p, version = pinned[[p]], repos = repos, upgrade = "never")
  }
}
for (p in c(live_in_ci, names(pinned))) cat(sprintf("%-18s %s\n", p, as.character(packageVersion(p))))
