"""The Monte Carlo engine on a real dask.distributed cluster (issue 20).

A scheduler and two worker processes are started by the tests on 127.0.0.1; the study submits
to the scheduler's address like ``fvdid montecarlo --scheduler tcp://...`` does.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

import fvdid
from fvdid.montecarlo.engine import load_replications
from fvdid.montecarlo.replication import TextbookReplication

distributed = pytest.importorskip("distributed")

TEXTBOOK = TextbookReplication(n=8, slope=1.0)


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as c:
        yield c


def _run(out: Path, scheduler: str, replicate=TEXTBOOK, reps: int = 15, **kw):
    return fvdid.montecarlo(out, reps=reps, replicate=replicate, scheduler=scheduler, seed=9,
                            effect_grid="0.5:1:2", progress=False, report=False, **kw)


def test_cluster_gives_the_numbers_of_a_local_run(cluster, tmp_path: Path) -> None:
    local = _run(tmp_path / "local", "sync")
    remote = _run(tmp_path / "remote", cluster.scheduler_address)
    assert remote.run.workers == 2 and remote.run.n_run == 60
    pd.testing.assert_frame_equal(remote.table, local.table)
    a, _ = load_replications(tmp_path / "local")
    b, _ = load_replications(tmp_path / "remote")
    pd.testing.assert_frame_equal(a, b)


class CrashOnce:
    """The textbook replication, except that the worker running replication ``rep`` of ``null``
    dies (``os._exit``) the first time: the scheduler must give it to another worker."""

    def __init__(self, marker: str, seed: int) -> None:
        self.marker, self.seed = marker, seed

    def __repr__(self) -> str:
        return "CrashOnce()"

    def __call__(self, seed, scenario, design):
        if seed == self.seed and not os.path.exists(self.marker):
            Path(self.marker).write_text("died once")
            os._exit(1)
        return TEXTBOOK(seed, scenario, design)


def test_a_dying_worker_loses_only_its_replication(cluster, tmp_path: Path) -> None:
    from fvdid.montecarlo.engine import replication_seed

    marker = tmp_path / "died"
    rep = CrashOnce(str(marker), replication_seed(9, "null", 4))
    res = _run(tmp_path / "crash", cluster.scheduler_address, replicate=rep, reps=8)
    assert marker.exists()  # the worker did die
    assert res.complete and res.run.n_failed == 0 and res.run.n_run == 32
    ref = _run(tmp_path / "ref", "sync", reps=8)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_default_local_cluster_runs(tmp_path: Path) -> None:
    res = fvdid.montecarlo(tmp_path / "s", reps=4, replicate=TEXTBOOK, workers=2, seed=1,
                           effects="null", progress=False, report=False)
    ref = fvdid.montecarlo(tmp_path / "r", reps=4, replicate=TEXTBOOK, scheduler="sync", seed=1,
                           effects="null", progress=False, report=False)
    assert res.run.workers == 2
    pd.testing.assert_frame_equal(res.table, ref.table)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_local_cluster_workers_start_with_one_blas_thread_one_malloc_arena_quiet_monitors() -> None:
    """The environment is the worker process's own from its start (glibc reads MALLOC_ARENA_MAX
    when the process starts, so setting it later inside the worker would do nothing); the
    workers run with the study's dask settings, and this process's settings are left as they
    were."""
    import dask
    from dask.distributed import Client

    from fvdid.montecarlo.engine import WORKER_CONFIG, WORKER_ENV, local_cluster

    def start_environment() -> dict[str, str]:
        raw = Path(f"/proc/{os.getpid()}/environ").read_bytes().split(b"\0")
        return dict(kv.decode().split("=", 1) for kv in raw if b"=" in kv)

    def settings() -> dict[str, object]:
        import dask

        return {k: dask.config.get(k) for k in WORKER_CONFIG}

    before = {k: dask.config.get(k) for k in [*WORKER_CONFIG, "distributed.nanny.pre-spawn-environ"]}
    with local_cluster(1) as lc, Client(lc) as client:
        env = next(iter(client.run(start_environment).values()))
        worker_settings = next(iter(client.run(settings).values()))
    assert all(env.get(k) == v for k, v in WORKER_ENV.items()), env
    assert env.get("MALLOC_ARENA_MAX") == "1", env.get("MALLOC_ARENA_MAX")
    assert env.get("OPENBLAS_NUM_THREADS") == "1"
    assert worker_settings == WORKER_CONFIG
    assert worker_settings["distributed.worker.profile.enabled"] is False
    assert {k: dask.config.get(k) for k in before} == before


@pytest.mark.slow
def test_recovery_on_the_cluster(cluster, tmp_path: Path) -> None:
    """500 replications per scenario on two workers: the slope is recovered and the t interval
    is correctly sized, within Monte Carlo error."""
    R = 500
    res = fvdid.montecarlo(tmp_path / "s", reps=R, replicate=TEXTBOOK,
                           scheduler=cluster.scheduler_address, seed=2, progress=False,
                           report=False)
    s = res.table[res.table["method"] == "t"].set_index("effect")
    for eff in ("null", "design"):
        # 4 MCSE: a false failure has probability below 1e-4 per check
        assert abs(s.loc[eff, "bias"]) < 4 * s.loc[eff, "bias_mcse"], s.loc[eff]
        assert abs(s.loc[eff, "coverage"] - 0.95) < 4 * math.sqrt(0.95 * 0.05 / R), s.loc[eff]
    assert abs(s.loc["null", "rejection_rate"] - 0.05) < 4 * math.sqrt(0.05 * 0.95 / R)
    assert s.loc["design", "rejection_rate"] > s.loc["null", "rejection_rate"]
