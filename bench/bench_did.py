"""Benchmark: fvdid.att_gt (+ aggte) against R did 2.1.2 and, where installed, Python peers.

Two workloads (sizes configurable):

* balanced panel, 200 000 rows (20 000 units × 10 periods, 4 cohorts, one covariate);
* repeated cross-sections, 1 000 000 rows (10 periods × 100 000 observations, two covariates).

Each runs ``att_gt`` with ``method="dr"``, never-treated controls, analytic standard errors, and
the dynamic aggregation. R is timed inside R (``system.time`` around ``att_gt`` + ``aggte``; the CSV
read is excluded), fvdid in-process (best of ``--repeat`` runs). Peers (diff-diff, csdid,
differences) run in their own venv (``bash bench/setup_peers.sh``; ``$FVDID_PEERS_PYTHON``) and are
timed inside their process (CSV read excluded); a peer that is absent or fails is reported as such.

    python bench/bench_did.py                 # both workloads, R when available
    python bench/bench_did.py --quick         # 1/10 of the sizes
    python bench/bench_did.py --no-r          # fvdid (and peers) only
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fvdid.aggte import aggte
from fvdid.att_gt import att_gt

PERIODS = np.arange(2001, 2011)
COHORTS = np.array([0, 2004, 2006, 2008])


def make_panel(n_units: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_units)
    g = np.where(
        rng.uniform(size=n_units) < 0.5 + 0.1 * np.tanh(x), rng.choice(COHORTS[1:], n_units), 0
    )
    a = rng.normal(size=n_units)
    T = PERIODS.size
    rep = np.repeat(np.arange(n_units), T)
    t = np.tile(PERIODS, n_units)
    eff = np.where((g[rep] > 0) & (t >= g[rep]), 1.0, 0.0)
    y = a[rep] + 0.1 * (t - 2000) * (1 + 0.3 * x[rep]) + eff + rng.normal(size=rep.size)
    return pd.DataFrame(
        {"id": rep + 1, "year": t, "g": g[rep], "y": np.round(y, 6), "x": np.round(x[rep], 6)}
    )


def make_rc(n_rows: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.choice(PERIODS, n_rows)
    x1 = rng.normal(size=n_rows)
    x2 = (rng.uniform(size=n_rows) < 0.4).astype(float)
    g = np.where(
        rng.uniform(size=n_rows) < 0.5 + 0.1 * np.tanh(x1), rng.choice(COHORTS[1:], n_rows), 0
    )
    eff = np.where((g > 0) & (t >= g), 1.0, 0.0)
    y = 0.1 * (t - 2000) * (1 + 0.3 * x1 - 0.2 * x2) + eff + rng.normal(size=n_rows)
    return pd.DataFrame({"year": t, "g": g, "y": np.round(y, 6), "x1": np.round(x1, 6), "x2": x2})


def time_fvdid(
    d: pd.DataFrame, panel: bool, covs: tuple[str, ...], repeat: int
) -> tuple[float, float]:
    best = np.inf
    att = np.nan
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = att_gt(
                d,
                y="y",
                time="year",
                cohort="g",
                unit="id" if panel else None,
                covariates=covs,
                panel=panel,
                method="dr",
            )
            ag = aggte(r, "dynamic")
        best = min(best, time.perf_counter() - t0)
        att = ag.overall_att
    return best, att


R_CODE = r"""
suppressPackageStartupMessages(library(did))
d <- read.csv("{path}")
tm <- system.time({{
  r <- suppressWarnings(att_gt(yname = "y", tname = "year", gname = "g", {idarg}
                               xformla = {xformla}, data = d, panel = {panel},
                               est_method = "dr", bstrap = FALSE, cband = FALSE))
  a <- aggte(r, type = "dynamic")
}})[["elapsed"]]
cat(sprintf("%.6f %.12g\n", tm, a$overall.att))
"""


def time_r(d: pd.DataFrame, panel: bool, covs: tuple[str, ...]) -> tuple[float, float] | None:
    if not shutil.which("Rscript"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        d.to_csv(path, index=False)
        code = R_CODE.format(
            path=path,
            idarg='idname = "id",' if panel else "",
            xformla="~" + "+".join(covs) if covs else "~1",
            panel="TRUE" if panel else "FALSE",
        )
        proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
        if proc.returncode != 0:
            print("  R failed:", proc.stderr.strip().splitlines()[-1:])
            return None
        secs, att = proc.stdout.split()
        return float(secs), float(att)


PEER_CODE = {
    "diff-diff": """
import time, warnings, pandas as pd, diff_diff
warnings.simplefilter("ignore")
d = pd.read_csv({path!r})
t0 = time.perf_counter()
r = diff_diff.CallawaySantAnna(estimation_method="dr", panel={panel}).fit(
    d, outcome="y", unit="id", time="year", first_treat="g", covariates={covs!r}, aggregate="event_study")
print(time.perf_counter() - t0)
""",
    "csdid": """
import time, warnings, pandas as pd
from csdid.att_gt import ATTgt
warnings.simplefilter("ignore")
d = pd.read_csv({path!r})
t0 = time.perf_counter()
m = ATTgt(yname="y", tname="year", idname="id", gname="g", data=d, xformla="y~" + "+".join({covs!r}),
          panel={panel}, control_group=["nevertreated"]).fit(est_method="dr", bstrap=False)
m.aggte(typec="dynamic", bstrap=False)
print(time.perf_counter() - t0)
""",
    "differences": """
import time, warnings, numpy as np, pandas as pd
from differences import ATTgt
warnings.simplefilter("ignore")
d = pd.read_csv({path!r})
d["g"] = d["g"].where(d["g"] > 0, np.nan)
d = d.set_index(["id", "year"])
t0 = time.perf_counter()
a = ATTgt(data=d, cohort_column="g")
a.fit(formula="y ~ " + "+".join({covs!r}), est_method="dr", as_repeated_cross_section={rc},
      progress_bar=False)
a.aggregate("event")
print(time.perf_counter() - t0)
""",
}


def peers_python() -> str | None:
    """The interpreter of the peers' venv (bench/setup_peers.sh), or None."""
    cand = os.environ.get("FVDID_PEERS_PYTHON") or str(
        Path(os.environ.get("FVDID_PEERS_VENV", "/opt/fvdid-peers")) / "bin" / "python"
    )
    return cand if Path(cand).exists() else None


def time_peer(peer: str, d: pd.DataFrame, panel: bool, covs: tuple[str, ...]) -> str:
    py = peers_python()
    if py is None:
        return "not installed (bash bench/setup_peers.sh)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        dd = d if panel else d.assign(id=np.arange(1, len(d) + 1))
        dd.to_csv(path, index=False)
        code = PEER_CODE[peer].format(path=str(path), panel=panel, covs=list(covs), rc=not panel)
        try:
            proc = subprocess.run(
                [py, "-c", code], capture_output=True, text=True, timeout=args_timeout()
            )
        except subprocess.TimeoutExpired:
            return f"timed out after {args_timeout()} s"
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return f"failed: {last[:120]}"
        return proc.stdout.strip().splitlines()[-1]


_TIMEOUT = [1800]


def args_timeout() -> int:
    return _TIMEOUT[0]


PEERS = ("diff-diff", "csdid", "differences")


def run(
    name: str, d: pd.DataFrame, panel: bool, covs: tuple[str, ...], args: argparse.Namespace
) -> None:
    print(
        f"\n== {name}: {len(d):,} rows, covariates {list(covs)}, method dr, analytic SEs + dynamic aggte"
    )
    f_secs, f_att = time_fvdid(d, panel, covs, args.repeat)
    print(f"  fvdid       {f_secs:9.3f} s   overall dynamic ATT {f_att:.10f}")
    if not args.no_r:
        r = time_r(d, panel, covs)
        if r is None:
            print("  R did       (unavailable)")
        else:
            r_secs, r_att = r
            print(
                f"  R did       {r_secs:9.3f} s   overall dynamic ATT {r_att:.10f}  "
                f"|diff| {abs(r_att - f_att):.2e}"
            )
            print(f"  ratio R / fvdid = {r_secs / f_secs:.1f}x")
    if args.no_peers:
        return
    for peer in PEERS:
        out = time_peer(peer, d, panel, covs)
        try:
            secs = float(out)
        except ValueError:
            print(f"  {peer:11s} {out}")
            continue
        print(f"  {peer:11s} {secs:9.3f} s   ratio {peer} / fvdid = {secs / f_secs:.1f}x")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="1/10 of the default sizes")
    p.add_argument("--no-r", action="store_true", help="skip R did")
    p.add_argument("--repeat", type=int, default=3, help="fvdid runs (best is reported)")
    p.add_argument("--only", choices=["panel", "rc"], default=None)
    p.add_argument("--no-peers", action="store_true", help="skip the Python peers")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per peer run")
    args = p.parse_args()
    _TIMEOUT[0] = args.timeout
    scale = 10 if args.quick else 1
    if args.only in (None, "panel"):
        run("balanced panel", make_panel(20_000 // scale), True, ("x",), args)
    if args.only in (None, "rc"):
        run("repeated cross-sections", make_rc(1_000_000 // scale), False, ("x1", "x2"), args)


if __name__ == "__main__":
    main()
