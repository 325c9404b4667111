"""``python -m bench montecarlo``: replications per second of the Monte Carlo study, 1 and 2 workers.

    python -m bench montecarlo                         # the default design, the lean analysis path
    python -m bench montecarlo --reps 6 --n-children 20000
    python -m bench montecarlo --replication textbook  # the engine's own overhead

Each worker count gets its own ``LocalCluster`` (the study's,
:func:`fvdid.montecarlo.engine.local_cluster`: single-threaded worker processes on 127.0.0.1, one
BLAS thread and one malloc arena each, dask's monitors quietened), warmed up before the clock
starts (fvdid imported, and with ``--warm`` one replication of a seed outside the study run, on
every worker: the lazily imported modules loaded, as in the steady state of a long study), and a
fresh study folder; the rate counts replications saved per second of wall time. The analysis
replication is the issue's timed study: the primary outcome with every inference method, as
``fvdid montecarlo --primary-only --no-robustness --no-checks`` builds it (``--checks`` adds the
primary's specification checks), with the run options of the 1000-replication study
(``bench.workloads.LEAN_RUN_OPTIONS``, validation/montecarlo-100k-imp/run.toml). The projection is
the time of the issue's default study (500 replications under the null and 500 under the effect)
at the 2-worker rate; the target is 30 minutes on 2 cores.

``python -m bench montecarlo_throughput`` puts the same measurement (:func:`local_client`,
:func:`study`) in the benchmark table, with the lean path's run options.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TARGET_MINUTES = 30.0
DEFAULT_STUDY_REPS = 1000  # 500 null + 500 design


def worker_peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), MB; run on each worker by the bench."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


@contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A warmed-up ``Client`` of ``workers`` single-threaded local worker processes: the
    cluster ``fvdid montecarlo`` starts (:func:`fvdid.montecarlo.engine.local_cluster`)."""
    from dask.distributed import Client

    from fvdid.montecarlo.engine import local_cluster

    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(importlib.import_module, "fvdid.pipeline")
        yield client


def warm(client: Any, replicate: object, design: dict) -> None:
    """Run one replication under the null on every worker (a seed no study of the bench uses)."""
    from fvdid.montecarlo.design import Design, scenarios

    null = scenarios(("null",))[0]
    d = Design.from_mapping(design)
    client.run(lambda: (replicate(10**9 + 7, null, d), None)[1])


def study(client: Any, reps: int, replicate: object, design: dict, seed: int = 20) -> dict:
    """One timed study of ``reps`` replications under the null in a fresh folder."""
    import fvdid

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = fvdid.montecarlo(Path(tmp) / "study", reps=reps, effects="null", design=design,
                               replicate=replicate, client=client, progress=False,
                               report=False, seed=seed)
        dt = time.perf_counter() - t0
    return {"workers": len(client.scheduler_info()["workers"]), "reps": res.run.n_run,
            "failed": res.run.n_failed, "seconds": dt, "reps_per_second": res.run.n_run / dt}


def measure(workers: int, reps: int, replicate: object, design: dict, warm_up: bool = False) -> dict:
    """Start a local cluster of ``workers``, then time one study on it (cluster start untimed)."""
    with local_client(workers) as client:
        if warm_up:
            warm(client, replicate, design)
        r = study(client, reps, replicate, design)
    return {**r, "workers": workers}


def main(argv: list[str] | None = None) -> int:
    from fvdid.montecarlo.replication import AnalysisReplication, TextbookReplication

    p = argparse.ArgumentParser(prog="python -m bench montecarlo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=None,
                   help="replications per measurement (default: 4, textbook 400)")
    p.add_argument("--n-children", type=int, default=None, help="design n_children (default 100,000)")
    p.add_argument("--replication", choices=["analysis", "textbook"], default="analysis")
    p.add_argument("--all-outcomes", action="store_true",
                   help="also the secondary outcomes, sensitivity analyses and robustness models (default: the "
                        "issue's timed study, the primary outcome with every inference method)")
    p.add_argument("--checks", action="store_true",
                   help="also the primary's specification checks (protocol-literal pooled "
                        "specification, the logit with the other period terms)")
    p.add_argument("--warm", action="store_true",
                   help="run one replication on every worker before the clock starts")
    p.add_argument("--out", type=Path, default=None, help="also write the numbers as JSON here")
    a = p.parse_args(argv)
    from bench.workloads import LEAN_RUN_OPTIONS

    rep = (AnalysisReplication(run_options=tuple(sorted(LEAN_RUN_OPTIONS.items())),
                               secondary=a.all_outcomes, sensitivity=a.all_outcomes,
                               robustness=a.all_outcomes, checks=a.all_outcomes or a.checks)
           if a.replication == "analysis" else TextbookReplication())
    reps = a.reps or (4 if a.replication == "analysis" else 400)
    design = {} if a.n_children is None else {"n_children": a.n_children}
    print(f"montecarlo bench: {a.replication} replication, {reps} replications per run, "
          f"design {design or 'default'}, {os.cpu_count()} cores", flush=True)
    rows = []
    for w in (1, 2):
        r = measure(w, reps, rep, design, warm_up=a.warm)
        rows.append(r)
        print(f"  {w} worker(s): {r['reps']} reps in {r['seconds']:.1f} s = "
              f"{r['reps_per_second']:.3f} reps/s ({r['failed']} failed)", flush=True)
    speedup = rows[1]["reps_per_second"] / rows[0]["reps_per_second"]
    minutes = DEFAULT_STUDY_REPS / rows[1]["reps_per_second"] / 60
    print(f"  speed-up 1 -> 2 workers: {speedup:.2f}x")
    print(f"  default study ({DEFAULT_STUDY_REPS} replications) at the 2-worker rate: "
          f"{minutes:.1f} min (target {TARGET_MINUTES:.0f} min: "
          f"{'met' if minutes <= TARGET_MINUTES else 'NOT met'})")
    if a.out:
        a.out.write_text(json.dumps({"replication": a.replication, "design": design,
                                     "runs": rows, "speedup": speedup,
                                     "default_study_minutes": minutes}, indent=2))
    return 0
