"""The engine of a Monte Carlo study: replications on ``dask.distributed``, each saved at once.

Seeds
    The replication ``r`` of the effect scenario labelled ``e`` is seeded by
    ``SeedSequence(master, spawn_key=(crc32(e), r))``: the ``r``-th child that
    ``SeedSequence(master).spawn(...)`` gives to the scenario's own child ``crc32(e)``, built
    directly, so it depends neither on the number of workers, nor on the order in which they
    finish, nor on which other scenarios or how many replications a run asks for. The simulator
    and the analysis of that replication are seeded from it.
Nothing is lost
    Every finished replication is written as soon as it arrives, by the client, as
    ``DIR/replications/<effect>__r<rep>.parquet`` (a temporary file renamed into place, so a file
    that exists is complete). Running the same study again skips every replication whose file
    exists. A worker that dies loses only the replication it was running: the scheduler gives it
    to another worker (and ``retries`` covers transient errors). A replication whose analysis
    raises is recorded as ``<effect>__r<rep>.error.json`` (counted in the summary, not retried).
Where it runs
    By default a ``LocalCluster`` with one single-threaded worker process per core; with
    ``scheduler="tcp://host:port"`` an existing cluster (its workers need fvdid installed);
    ``scheduler="sync"`` runs in this process without dask (debugging, reference runs).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError
from fvdid.montecarlo.design import Design, EffectScenario
from fvdid.montecarlo.replication import check_records

__all__ = ["StudyRun", "load_replications", "replication_path", "replication_seed", "run_study"]

Replicate = Callable[[int, EffectScenario, Design], pd.DataFrame]
SCHEMA = "fvdid-montecarlo/1"

#: Environment of the local cluster's worker processes, set before they start (:func:`local_cluster`);
#: workers of a cluster started elsewhere (``--scheduler``) are best started with it too.
WORKER_ENV = {"MALLOC_ARENA_MAX": "1"}

#: Dask settings of the local cluster (:func:`local_cluster`): the monitors a long study does not
#: need run less often or not at all. The statistical profiler (it samples every thread's stack
#: every 10 ms, for the dashboard) is off; the event-loop tick (a check that the loop is not
#: blocked, every 20 ms), the memory monitor (every 100 ms) and the system monitor (every 0.5 s)
#: run every 1, 1 and 5 s. Measured on 2 cores, 16 replications of the timed study, 2 workers:
#: 0.566 against 0.523 replications per second (two runs each, alternated).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.tick.interval": "1s",
                 "distributed.worker.memory.monitor-interval": "1s",
                 "distributed.admin.system-monitor.interval": "5s"}


def replication_seed(master: int, label: str, rep: int) -> int:
    """The integer seed of replication ``rep`` of the effect scenario ``label``."""
    ss = np.random.SeedSequence(int(master), spawn_key=(zlib.crc32(label.encode()), int(rep)))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))  # non-negative int64


def replication_path(out_dir: Path, scenario: EffectScenario, rep: int, error: bool = False) -> Path:
    """Where replication ``rep`` of ``scenario`` is (or will be) saved."""
    suffix = ".error.json" if error else ".parquet"
    return Path(out_dir) / "replications" / f"{scenario.slug}__r{int(rep):06d}{suffix}"


def _run_task(replicate: Replicate, seed: int, scenario: EffectScenario, design: Design, rep: int,
              methods: tuple[str, ...] | None) -> tuple[pd.DataFrame | None, str]:
    """Run one replication (on a worker); return its rows, or ``None`` and the error."""
    try:
        raw = replicate(seed, scenario, design)
        rows = check_records(raw, f"replication {rep} of effect {scenario.label!r}")
    except Exception:  # recorded, not retried: the same seed would fail the same way
        return None, traceback.format_exc()
    if methods is not None:
        rows = rows[rows["method"].isin(methods)]
    rows.insert(0, "effect_value", float(scenario.value))
    rows.insert(0, "effect", scenario.label)
    rows.insert(0, "replication", int(rep))
    rows.insert(3, "seed", np.int64(seed))
    return rows.reset_index(drop=True), ""


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _save(out_dir: Path, scenario: EffectScenario, rep: int, result: tuple[pd.DataFrame | None, str]) -> bool:
    frame, err = result
    if frame is None:
        text = json.dumps({"effect": scenario.label, "replication": int(rep), "error": err})
        _write_atomic(replication_path(out_dir, scenario, rep, error=True),
                      lambda p: p.write_text(text))
        return False
    _write_atomic(replication_path(out_dir, scenario, rep),
                  lambda p: frame.to_parquet(p, index=False))
    return True


class _Progress:
    """Replications done, replications per second and time left: a rich bar on a terminal, else a
    line every ``every`` replications."""

    def __init__(self, total: int, done: int, show: bool | None, every: int = 10) -> None:
        self.total, self.done, self.new = total, done, 0
        self.t0 = time.perf_counter()
        self.show = True if show is None else bool(show)
        self.every = max(int(every), 1)
        self.bar: Any = None
        if self.show and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("[bold]fvdid montecarlo[/bold]"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                                TextColumn("ETA"), TimeRemainingColumn(), transient=False)
            self.bar.start()
            self.task = self.bar.add_task("reps", total=total, completed=done, rate="")

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return self.new / dt if dt > 0 else float("nan")

    def advance(self) -> None:
        self.done += 1
        self.new += 1
        if not self.show:
            return
        r = self.rate()
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, rate=f"{r:.2f} reps/s")
        elif self.new % self.every == 0 or self.done == self.total:
            eta = (self.total - self.done) / r if r > 0 else float("nan")
            print(f"fvdid montecarlo: {self.done}/{self.total} reps, {r:.2f} reps/s, "
                  f"ETA {eta:.0f} s", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@dataclass(frozen=True)
class StudyRun:
    """What one call of :func:`run_study` did."""

    out_dir: Path
    n_total: int
    n_skipped: int
    n_run: int
    n_failed: int
    seconds: float
    workers: int

    @property
    def reps_per_second(self) -> float:
        return self.n_run / self.seconds if self.seconds > 0 else float("nan")


def _manifest(out_dir: Path, master: int, design: Design, replicate: Replicate,
              methods: tuple[str, ...] | None) -> None:
    """Write ``study.json``, or check that a resumed study is the same study."""
    ident = {"schema": SCHEMA, "seed": int(master), "design": design.to_dict(),
             "replication": repr(replicate), "methods": None if methods is None else list(methods)}
    path = out_dir / "study.json"
    if path.exists():
        old = json.loads(path.read_text())
        diff = sorted(k for k in ident if old.get(k) != json.loads(json.dumps(ident[k])))
        if diff:
            raise FvdidInputError(
                f"{out_dir} holds a different study (differs in {diff}): resume with the same "
                "seed, design, replication and methods, or choose another --out"
            )
        return
    _write_atomic(path, lambda p: p.write_text(json.dumps(ident, indent=2)))


def run_study(out_dir: str | Path, replicate: Replicate, design: Design,
              scenarios: Sequence[EffectScenario], reps: int, *, seed: int = 0,
              methods: Iterable[str] | None = None, scheduler: str | None = None,
              workers: int | None = None, client: Any = None, progress: bool | None = None,
              progress_every: int = 10, stop_after: int | None = None,
              retries: int = 2) -> StudyRun:
    """Run (or resume) every replication of a study and save each one as it finishes.

    Parameters
    ----------
    out_dir
        The study's folder; replications go to ``out_dir/replications``.
    replicate
        Picklable callable ``(seed, scenario, design) -> DataFrame`` (see
        :mod:`fvdid.montecarlo.replication`).
    design, scenarios, reps
        The simulated world, the effect scenarios and the replications per scenario.
    seed
        The master seed.
    methods
        Keep only these inference methods (``None``: all the replication reports).
    scheduler
        ``None``: a ``LocalCluster`` of ``workers`` processes (default: the machine's cores);
        ``"tcp://host:port"``: an existing cluster; ``"sync"``: in this process, no dask.
    client
        An existing ``distributed.Client`` (overrides ``scheduler``; not closed).
    progress, progress_every
        Show progress (default yes; ``False``: silent): a bar on a terminal, else a line on
        stderr every ``progress_every`` replications.
    stop_after
        Stop after this many replications have been saved (the rest are cancelled): an
        interrupted study, for tests.
    retries
        Retries of a replication lost to a transient error.
    """
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise FvdidInputError(f"reps must be a positive integer, got {reps!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FvdidInputError(f"seed must be a non-negative integer, got {seed!r}")
    meths = None if methods is None else tuple(dict.fromkeys(str(m) for m in methods))
    out = Path(out_dir)
    (out / "replications").mkdir(parents=True, exist_ok=True)
    _manifest(out, int(seed), design, replicate, meths)
    # Replication-major order: a study stopped early holds the same replications of every
    # scenario (seeds do not depend on the order).
    todo = [(sc, r) for r in range(int(reps)) for sc in scenarios
            if not (replication_path(out, sc, r).exists()
                    or replication_path(out, sc, r, error=True).exists())]
    total = len(scenarios) * int(reps)
    t0 = time.perf_counter()
    bar = _Progress(total, total - len(todo), progress, progress_every)
    n_run = n_failed = 0
    n_workers = 1
    try:
        if todo and scheduler == "sync" and client is None:
            for sc, r in todo:
                ok = _save(out, sc, r, _run_task(replicate, replication_seed(seed, sc.label, r),
                                                 sc, design, r, meths))
                n_run += 1
                n_failed += not ok
                bar.advance()
                if stop_after is not None and n_run >= stop_after:
                    break
        elif todo:
            n_run, n_failed, n_workers = _run_dask(out, replicate, design, todo, int(seed), meths,
                                                   scheduler, workers, client, bar, stop_after,
                                                   retries)
    finally:
        bar.close()
    return StudyRun(out, total, total - len(todo), n_run, n_failed, time.perf_counter() - t0,
                    n_workers)


def local_cluster(n_workers: int) -> Any:
    """The study's ``dask.distributed.LocalCluster``: ``n_workers`` single-threaded worker
    processes on 127.0.0.1, each with one BLAS thread and one malloc arena, monitors quietened.

    One BLAS thread per worker: the workers already use every core, and OpenBLAS's own threads
    on top of them oversubscribe the machine (measured: 9x slower). It is also what makes a
    replication's numbers those of a run (:func:`fvdid.stages._mice.impute_mice`'s notes).

    One malloc arena (:data:`WORKER_ENV`, set before the worker process starts, as glibc reads
    it): a dask worker runs its tasks in a thread of its own, and glibc gives a thread other than
    the main one a secondary arena, whose heaps are mapped and unmapped in 64 MB pieces, so the
    arrays of a replication are faulted in again and again (measured: 116,000 minor page faults
    for four replications in a thread against 67,000 in the main thread, 3.53 s against 3.39 s a
    replication; with one arena 68,000 and 3.45 s). Numbers are not affected (allocation only).
    The workers' monitors are quietened (:data:`WORKER_CONFIG`): the dashboard's profiler
    off, the other monitors less often.

    ``python -m bench montecarlo`` times studies on this same cluster.
    """
    import dask
    from dask.distributed import LocalCluster

    one = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    pre_spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_ENV}
    with dask.config.set({**WORKER_CONFIG, "distributed.nanny.pre-spawn-environ": pre_spawn}):
        return LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address=":0", env=one)


def _run_dask(out: Path, replicate: Replicate, design: Design, todo: list, seed: int,
              methods: tuple[str, ...] | None, scheduler: str | None, workers: int | None,
              client: Any, bar: _Progress, stop_after: int | None,
              retries: int) -> tuple[int, int, int]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise FvdidInputError(
            "the Monte Carlo engine needs dask.distributed: pip install 'dask[distributed]' "
            "(or scheduler='sync')"
        ) from None
    own: list[Any] = []
    if client is None:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = local_cluster(int(workers) if workers else (os.cpu_count() or 1))
            own.append(cluster)
            client = Client(cluster)
        own.insert(0, client)
    n_run = n_failed = 0
    try:
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        futures = {}
        for sc, r in todo:
            f = client.submit(_run_task, replicate, replication_seed(seed, sc.label, r), sc, design, r,
                              methods, key=f"fvdid-mc-{seed}-{sc.slug}-{r}", retries=retries,
                              pure=False)
            futures[f.key] = (f, sc, r)
        done = as_completed([f for f, _, _ in futures.values()])
        for fut in done:
            _, sc, r = futures[fut.key]
            ok = _save(out, sc, r, fut.result())
            fut.release()
            n_run += 1
            n_failed += not ok
            bar.advance()
            if stop_after is not None and n_run >= stop_after:
                client.cancel([f for f, _, _ in futures.values()])
                break
    finally:
        for obj in own:
            obj.close()
    return n_run, n_failed, n_workers


def load_replications(out_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every saved replication row of a study, and its failed replications (effect, replication,
    error), both sorted by effect and replication."""
    d = Path(out_dir) / "replications"
    files = sorted(d.glob("*.parquet")) if d.is_dir() else []
    if files:
        rows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    else:
        rows = pd.DataFrame(columns=["replication", "effect", "effect_value", "seed",
                                     "outcome", "estimator", "method", "estimate", "std_error",
                                     "conf_low", "conf_high", "p_value", "truth"])
    errs = []
    for f in sorted(d.glob("*.error.json")) if d.is_dir() else []:
        errs.append(json.loads(f.read_text()))
    failures = pd.DataFrame(errs, columns=["effect", "replication", "error"])
    rows = rows.sort_values(["effect", "replication", "outcome", "estimator", "method"],
                            kind="mergesort").reset_index(drop=True)
    return rows, failures
