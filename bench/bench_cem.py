"""Benchmark: fvdid.cem against R cem::cem (1.1.31), side by side, with the protocol coarsening.

Data: simulated children (treated share 40 %, gender codes 0-4, integer age 0-17, major ethnic
group with missing values, disability, FSM, UASC, prior CPP with missing values, financial year)
at 100,000 and 1,000,000 rows, written to one CSV that both sides read. Coarsening: age cut at
0-3 / 4-12 / 13+ (explicit cutpoints), gender's four codes grouped (4 = missing stays its own
level), everything else exact (the year and ethnicity as factors in R).

Both sides time the matching only (data already in memory): fvdid with ``time.perf_counter``
around ``cem()`` (median of ``--repeat`` runs); R with ``system.time`` around ``cem()`` (median of
``--r-repeat`` runs, which read the same CSV). The ratio is R / fvdid. Without Rscript or the cem
package the R column is skipped with a message.

    python bench/bench_cem.py [--sizes 100000 1000000] [--repeat 3] [--r-repeat 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fvdid.cem import cem

CUTPOINTS = {"age_at_referral": [0, 3, 12, 17]}
GROUPING = {"gender": [[0], [1], [2], [3]]}

R_CODE = r"""
suppressPackageStartupMessages(library(cem))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[[1]], stringsAsFactors = TRUE)
reps <- as.integer(a[[2]])
times <- sapply(seq_len(reps), function(i) {
  sink(nullfile())  # cem prints a message on every call
  st <- system.time(
    m <<- cem(treatment = "treated", data = d,
              cutpoints = list(age_at_referral = c(0, 3, 12, 17)),
              grouping = list(gender = list(0, 1, 2, 3)))
  )
  sink()
  st[["elapsed"]]
})
cat(sprintf("%.6f %d %d", median(times), m$n.strata, sum(m$matched)), "\n")
"""


def children(n: int, seed: int = 20240703) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.binomial(1, 0.4, n)
    eth = rng.choice(np.array(["White", "Mixed", "Asian", "Black", "Other"], dtype=object), n,
                     p=[0.72, 0.07, 0.1, 0.07, 0.04])
    eth[rng.random(n) < 0.03] = None
    prior = rng.binomial(1, 0.12, n).astype(float)
    prior[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "treated": treated,
            "financial_year": rng.choice(np.array(["2019/20", "2020/21", "2021/22"], dtype=object), n),
            "gender": rng.choice([0, 1, 2, 3, 4], n, p=[0.02, 0.48, 0.46, 0.01, 0.03]),
            "age_at_referral": np.clip(np.round(rng.gamma(2.2 + 0.6 * treated, 3.0)), 0, 17).astype(int),
            "ethnicity_major": eth,
            "disabled": rng.binomial(1, 0.06, n),
            "fsm": rng.binomial(1, 0.25 + 0.1 * treated, n),
            "uasc": rng.binomial(1, 0.02, n),
            "prior_cpp": prior,
        }
    )


def time_fvdid(d: pd.DataFrame, repeat: int) -> tuple[float, int, int]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = cem(d, "treated", cutpoints=CUTPOINTS, grouping=GROUPING)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res.n_strata, int(res.matched.sum())


def r_available() -> str | None:
    if not shutil.which("Rscript"):
        return "Rscript not found"
    ok = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('cem', quietly = TRUE))"],
        capture_output=True,
    )
    return None if ok.returncode == 0 else "R package cem not installed"


def time_r(csv: Path, repeat: int, tmp: Path) -> tuple[float, int, int]:
    script = tmp / "bench_cem.R"
    script.write_text(R_CODE)
    out = subprocess.run(
        ["Rscript", str(script), str(csv), str(repeat)], capture_output=True, text=True, check=True
    )
    t, ns, nm = out.stdout.split()
    return float(t), int(ns), int(nm)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--r-repeat", type=int, default=1)
    a = p.parse_args()
    why = r_available()
    if why:
        print(f"R side skipped: {why}")
    print(f"{'rows':>10} {'fvdid s':>9} {'R s':>9} {'R/fvdid':>8}  strata  matched  agree")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in a.sizes:
            d = children(n)
            csv = tmp / f"children_{n}.csv"
            d.to_csv(csv, index=False)
            d = pd.read_csv(csv)  # the very values R reads
            tf, ns, nm = time_fvdid(d, a.repeat)
            if why:
                print(f"{n:>10} {tf:9.3f} {'-':>9} {'-':>8}  {ns:6d} {nm:8d}")
                continue
            tr, ns_r, nm_r = time_r(csv, a.r_repeat, tmp)
            agree = "yes" if (ns, nm) == (ns_r, nm_r) else f"NO (R: {ns_r}, {nm_r})"
            print(f"{n:>10} {tf:9.3f} {tr:9.3f} {tr / tf:8.1f}  {ns:6d} {nm:8d}  {agree}")


if __name__ == "__main__":
    main()
