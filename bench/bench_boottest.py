"""Benchmark: fvdid.boottest vs fwildclusterboot::boottest (R engine), side by side.

    python bench/bench_boottest.py            # N = 1M, G = 20 and N = 100k, G = 10; B = 99,999
    python bench/bench_boottest.py --no-r     # fvdid only
    python bench/bench_boottest.py --quick    # N = 100k only

Both sides time the bootstrap call only (the regression is fitted beforehand): fvdid with
``time.perf_counter`` around ``boottest(fit, ...)``, R with ``system.time()`` around
``boottest(lm_fit, ...)`` inside the same ``Rscript`` process that read the data. Settings are the
defaults of both: WCR, Rademacher, two-tailed p-value and the confidence interval by test
inversion, one thread. The peak memory of fvdid (``tracemalloc``, numpy allocations included) is
measured in separate runs at B = 9,999 and B = 99,999: it must not grow with B x N (draws are
processed in chunks; only five numbers per draw are kept).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from fvdid.boottest import boottest
from fvdid.ols import ols

R_SCRIPT = r"""
suppressPackageStartupMessages({library(fwildclusterboot); library(data.table)})
a <- commandArgs(trailingOnly = TRUE)
d <- as.data.frame(data.table::fread(a[[1]]))
B <- as.integer(a[[2]])
fit <- lm(y ~ treat + x1 + x2, data = d)
set.seed(1); dqrng::dqset.seed(1)
tm <- system.time(bt <- suppressWarnings(suppressMessages(
  boottest(fit, param = "treat", clustid = "g", B = B, nthreads = 1))))
cat(sprintf('{"seconds": %.6f, "p_value": %.17g, "t_stat": %.17g, "B": %d, "lower": %.17g, "upper": %.17g}\n',
            tm[["elapsed"]], bt$p_val, bt$t_stat, bt$boot_iter, bt$conf_int[1], bt$conf_int[2]))
"""


def make_data(n: int, g: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, g, n)
    treat = (rng.uniform(size=g) < 0.5)[cl].astype(float)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    y = 0.05 * treat + 0.3 * x1 - 0.2 * x2 + rng.normal(0, 0.5, g)[cl] + rng.normal(size=n)
    return pd.DataFrame({"g": cl, "treat": treat, "x1": x1, "x2": x2, "y": y})


def run_fvdid(d: pd.DataFrame, B: int) -> dict[str, float]:
    fit = ols("y ~ treat + x1 + x2", d, vcov="CR1", cluster="g")
    t0 = time.perf_counter()
    res = boottest(fit, "treat", d["g"], B=B, seed=1)
    sec = time.perf_counter() - t0
    lo, hi = res.conf_int if res.conf_int else (float("nan"), float("nan"))
    return {
        "seconds": sec,
        "p_value": res.p_value,
        "t_stat": res.t_stat,
        "B": res.B,
        "lower": lo,
        "upper": hi,
    }


def peak_fvdid(d: pd.DataFrame, B: int) -> float:
    fit = ols("y ~ treat + x1 + x2", d, vcov="CR1", cluster="g")
    g = d["g"].to_numpy()
    tracemalloc.start()
    boottest(fit, "treat", g, B=B, seed=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def run_r(d: pd.DataFrame, B: int, tmp: Path) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    path = tmp / "bench.csv"
    d.to_csv(path, index=False)
    script = tmp / "bench.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(script), str(path), str(B)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        print(f"  R failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--no-r", action="store_true", help="skip fwildclusterboot")
    p.add_argument("--quick", action="store_true", help="only N = 100k, G = 10")
    p.add_argument("--B", type=int, default=99_999)
    a = p.parse_args(argv)
    settings = [(100_000, 10)] if a.quick else [(1_000_000, 20), (100_000, 10)]
    print(
        f"{'N':>9} {'G':>3} {'B':>7} | {'fvdid s':>8} {'R s':>8} {'R/fvdid':>8} | "
        f"{'p fvdid':>8} {'p R':>8} | {'t fvdid':>10} {'t R':>10}"
    )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n, g in settings:
            d = make_data(n, g)
            run_fvdid(d.iloc[:1000], 999)  # warm-up (imports, BLAS threads)
            f = run_fvdid(d, a.B)
            r = None if a.no_r else run_r(d, a.B, tmp)
            rs = f"{r['seconds']:8.2f}" if r else f"{'-':>8}"
            ratio = f"{r['seconds'] / f['seconds']:8.1f}" if r else f"{'-':>8}"
            pr = f"{r['p_value']:8.4f}" if r else f"{'-':>8}"
            tr = f"{r['t_stat']:10.5f}" if r else f"{'-':>10}"
            print(
                f"{n:>9} {g:>3} {f['B']:>7} | {f['seconds']:8.2f} {rs} {ratio} | "
                f"{f['p_value']:8.4f} {pr} | {f['t_stat']:10.5f} {tr}"
            )
            if r:
                print(
                    f"{'':>23} interval fvdid ({f['lower']:.5f}, {f['upper']:.5f})  "
                    f"R ({r['lower']:.5f}, {r['upper']:.5f})"
                )
        print("\npeak memory of fvdid.boottest (tracemalloc, MiB):")
        for n, g in settings:
            d = make_data(n, g)
            small, big = peak_fvdid(d, 9_999), peak_fvdid(d, 99_999)
            data_mb = n * 5 * 8 / 2**20
            print(
                f"  N = {n:>9}, G = {g:>2}: B = 9,999 -> {small:7.1f}   B = 99,999 -> {big:7.1f}"
                f"   (one N-vector = {n * 8 / 2**20:.1f} MiB, the data {data_mb:.1f} MiB; "
                f"B x N doubles at B = 99,999 would be {99_999 * n * 8 / 2**30:.0f} GiB)"
            )
    print("ratio R/fvdid > 1: fvdid is faster. Timing covers the bootstrap call only.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
