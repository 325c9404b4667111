"""Benchmark: fvdid.bacon against R bacondecomp::bacon, side by side.

Panels: the simulated LA x quarter panel (152 LAs x 28 quarters, never- and always-treated LAs,
9 cohorts) and a larger one (1,000 units x 40 periods, 12 cohorts), each without and with two
covariates. Both sides read the same CSV. R's time is measured inside R (``proc.time`` around
``bacon()`` only, the package loaded beforehand; median of ``--r-repeat`` runs, repeats stop once
20 s are spent); fvdid's with ``time.perf_counter`` around ``bacon()`` (median of ``--repeat``
runs after a warm-up call). The ratio is R / fvdid.

    python bench/bench_bacon.py [--repeat 5] [--r-repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from fvdid.bacon import bacon
from parity.datasets.bacon import la_quarter, la_quarter_panel

ARGS = {"y": "referral_rate", "treatment": "fv", "unit": "la", "time": "quarter"}
COVS = ["log_child_pop", "deprivation"]

R_CODE = r"""
suppressPackageStartupMessages(library(bacondecomp))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[[1]], stringsAsFactors = FALSE)
reps <- as.integer(a[[2]])
covs <- if (nchar(a[[3]]) > 0) strsplit(a[[3]], ",")[[1]] else character(0)
f <- as.formula(paste("referral_rate ~", paste(c("fv", covs), collapse = " + ")))
times <- numeric(0)
for (i in seq_len(reps)) {  # the package is loaded before timing; stop repeating after 20 s
  t0 <- proc.time()[["elapsed"]]
  invisible(bacon(f, data = d, id_var = "la", time_var = "quarter", quietly = TRUE))
  times <- c(times, proc.time()[["elapsed"]] - t0)
  if (sum(times) > 20) break
}
cat(sprintf("%.6f", median(times)), "\n")
"""


def large_panel() -> pd.DataFrame:
    """1,000 units x 40 periods: 150 never, 50 always treated, 12 cohorts of 50-100 units."""
    cohorts = {
        3: 60,
        6: 70,
        9: 80,
        12: 90,
        15: 100,
        18: 50,
        21: 60,
        24: 70,
        27: 80,
        30: 90,
        34: 50,
        38: 50,
    }
    return la_quarter_panel(cohorts, n_never=150, n_always=50, seed=99, n_quarters=40)


def time_fvdid(df: pd.DataFrame, covs: list[str], repeat: int) -> float:
    bacon(df, **ARGS, covariates=covs)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        bacon(df, **ARGS, covariates=covs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_r(csv: Path, covs: list[str], repeat: int, script: Path) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    proc = subprocess.run(
        ["Rscript", str(script), str(csv), str(repeat), ",".join(covs)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"  R failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return float(proc.stdout.split()[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="fvdid runs per panel (median)")
    p.add_argument("--r-repeat", type=int, default=3, help="R runs per panel (median)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = p.parse_args()
    panels = {"152 LAs x 28 quarters": la_quarter(), "1,000 units x 40 periods": large_panel()}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench_bacon.R"
        script.write_text(R_CODE)
        for name, df in panels.items():
            csv = Path(tmp) / "panel.csv"
            df.to_csv(csv, index=False, float_format="%.17g")
            for covs in ([], COVS):
                label = f"{name}, {'2 covariates' if covs else 'no covariates'}"
                t_py = time_fvdid(df, covs, a.repeat)
                t_r = time_r(csv, covs, a.r_repeat, script)
                ratio = None if t_r is None else t_r / t_py
                rows.append({"panel": label, "fvdid_s": t_py, "R_s": t_r, "ratio": ratio})
                r_txt = "n/a" if t_r is None else f"{t_r:9.4f}"
                x_txt = "n/a" if ratio is None else f"{ratio:8.1f}x"
                print(
                    f"{label:45s} fvdid {t_py:8.4f} s   R {r_txt} s   R/fvdid {x_txt}", flush=True
                )
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
