"""Share independent analyses between this process and forked workers (the run's own cores).

Why. ``fvdid run`` analyses six outcomes, and the primary's placebo pairs, one after the other,
although the secondary outcomes depend on nothing the primary computes. On a machine with two
cores half of it sat idle. :func:`share_work` runs a callable of the caller's (the primary and
its placebo pairs) while forked workers start on a list of independent tasks (the secondary
outcomes); when the caller's own work is done it takes the tasks no worker has started yet. Each
task is pulled from one shared counter, so the cores stay busy whatever the tasks' lengths.

What stays the same. A task computes exactly what it computes in this process: the workers are
forks (the tasks' inputs are inherited, not pickled), every task draws its random numbers from
its own seeded generator, and OpenBLAS runs on one thread in every process while work is shared
(:func:`fvdid._blas.single_threaded_blas`; two processes on two threads each would oversubscribe
the cores, and a reduction split over threads can differ in its last bits), and on one thread
too when the work is not shared, so the numbers do not depend on the number of workers. Results come back
pickled, in task order. An exception in a task is raised in the caller as it would have been
raised sequentially (the first one by task order that the caller meets); a worker that dies
without reporting (killed, out of memory) raises :class:`RuntimeError`: a failed step fails the
run, it is never skipped.

Where fork is unavailable (not Linux/macOS), with ``workers <= 1``, in a daemonic process (a
Dask or multiprocessing worker cannot have children) or with fewer than two tasks, everything
runs in this process, in order: the same numbers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue as queue_mod
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fvdid._blas import single_threaded_blas

__all__ = ["Background", "available_memory", "default_workers", "flush_streams", "memory_capped", "memory_limit",
           "share_work"]

R = TypeVar("R")

_ENV = "FVDID_WORKERS"
_POLL_S = 0.5


def default_workers() -> int:
    """Processes an analysis may use: ``FVDID_WORKERS`` if set, else the usable cores (at most 2).

    Two because the run's parallel part is a handful of outcome analyses whose lengths differ by
    a factor of four: a third process rarely finds work. A daemonic process gets 1.
    """
    if mp.current_process().daemon:
        return 1
    env = os.environ.get(_ENV)
    if env:
        try:
            return max(1, int(env))
        except ValueError as exc:
            raise ValueError(f"{_ENV}={env!r}: expected a positive integer") from exc
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


_LIMIT_ENV = "FVDID_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def memory_limit() -> int | None:
    """The memory budget of the run in bytes from ``FVDID_MEMORY_LIMIT`` (``8G``, ``7500M``,
    ``8589934592``; K/M/G/T are powers of 1024), None where it is not set.

    For a machine shared with other work (a secure research environment's virtual machine): the
    run then plans its workers as if the machine had that much memory.
    """
    env = os.environ.get(_LIMIT_ENV, "").strip()
    if not env:
        return None
    unit = env[-1].upper() if env[-1].isalpha() else ""
    try:
        value = float(env[:-1] if unit else env) * _UNITS[unit]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{_LIMIT_ENV}={env!r}: expected bytes, optionally with K, M, G or T "
                         "(e.g. 8G)") from exc
    if not value > 0:
        raise ValueError(f"{_LIMIT_ENV}={env!r}: expected a positive size")
    return int(value)


def _proc_bytes(path: str, key: str) -> int | None:
    """The ``key:`` line of a /proc file in bytes (its value is in kB), None where unknown."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _resident() -> int:
    """This process's resident set in bytes (0 where unknown)."""
    return _proc_bytes("/proc/self/status", "VmRSS:") or 0


def _mem_available() -> int | None:
    """The kernel's ``MemAvailable`` in bytes, None where unknown."""
    return _proc_bytes("/proc/meminfo", "MemAvailable:")


def available_memory() -> int | None:
    """Bytes the run can still use: the kernel's ``MemAvailable`` (what it can give without
    swapping), or, when ``FVDID_MEMORY_LIMIT`` is set, at most that budget minus what this
    process holds already; None where neither is known."""
    avail = _mem_available()
    limit = memory_limit()
    if limit is not None:
        left = max(0, limit - _resident())
        avail = left if avail is None else min(avail, left)
    return avail


def memory_capped(workers: int, bytes_per_worker: float) -> int:
    """``workers``, fewer when that many concurrent tasks of ``bytes_per_worker`` would not fit.

    Each worker's task holds its own transient copies (completed data sets, stacked designs), so
    memory grows with the number of processes working at once. The cap keeps
    ``workers × bytes_per_worker`` within the memory available now; at least 1 (a task that
    does not fit alone fails as it would sequentially). Where the available memory is unknown,
    ``workers`` is returned unchanged.
    """
    avail = available_memory()
    if avail is None or bytes_per_worker <= 0:
        return workers
    return max(1, min(workers, int(avail // bytes_per_worker)))


def _can_fork() -> bool:
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it pickles, else a RuntimeError carrying its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _next(counter: Any) -> int:
    """The next task's index from the shared counter (every process pulls from it)."""
    with counter.get_lock():
        i = int(counter.value)
        counter.value += 1
    return i


def flush_streams() -> None:
    """Flush stdout and stderr before a fork, so no buffered text is written twice."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()


def _worker(tasks: Sequence[Callable[[], Any]], counter: Any, out: Any) -> None:
    with single_threaded_blas():
        while True:
            i = _next(counter)
            if i >= len(tasks):
                break
            try:
                out.put(("ok", i, tasks[i]()))
            except Exception as exc:
                out.put(("error", i, _portable(exc), traceback.format_exc()))
                break
    out.put(("done", -1, None))


class _RemoteTraceback(Exception):
    """The worker's traceback, attached as the cause of the re-raised exception."""


def share_work(
    main: Callable[[], R],
    tasks: Sequence[Callable[[], Any]],
    *,
    workers: int | None = None,
) -> tuple[R, list[Any]]:
    """Run ``main()`` here while forked workers run ``tasks``; return both results.

    Parameters
    ----------
    main
        The caller's own work, run first in this process.
    tasks
        Independent callables (closures are fine: the workers are forks). The caller takes the
        ones no worker has started once ``main`` returns.
    workers
        Processes in all, this one included (default :func:`default_workers`).

    Returns
    -------
    (main's result, the tasks' results in task order)
    """
    n = default_workers() if workers is None else int(workers)
    if n <= 1 or len(tasks) < 1 or not _can_fork():
        with single_threaded_blas():  # as in the workers: the numbers do not depend on ``n``
            first = main()
            return first, [t() for t in tasks]
    ctx = mp.get_context("fork")
    counter = ctx.Value("i", 0)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(tasks, counter, out), daemon=True)
             for _ in range(min(n - 1, len(tasks)))]
    results: dict[int, Any] = {}
    errors: dict[int, tuple[BaseException, str]] = {}
    try:
        with single_threaded_blas():
            flush_streams()
            for p in procs:
                p.start()
            first = main()
            while True:  # the tasks no worker has started
                i = _next(counter)
                if i >= len(tasks):
                    break
                try:
                    results[i] = tasks[i]()
                except Exception as exc:
                    errors[i] = (exc, "")
                    with counter.get_lock():  # the workers start nothing more
                        counter.value = len(tasks)
                    break
        done = 0
        while done < len(procs):
            try:
                kind, i, *rest = out.get(timeout=_POLL_S)
            except queue_mod.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                    raise RuntimeError(f"an analysis worker died (exit code {dead[0]}) before "
                                       "reporting its results") from None
                continue
            if kind == "ok":
                results[i] = rest[0]
            elif kind == "error":
                errors[i] = (rest[0], rest[1])
            else:
                done += 1
    finally:
        for p in procs:
            if p.is_alive() and (errors or p.exitcode is None):
                p.join(timeout=0.1)
            if p.is_alive():
                p.terminate()
            p.join()
    if errors:
        i = min(errors)
        exc, tb = errors[i]
        if tb:
            raise exc from _RemoteTraceback(tb)
        raise exc
    missing = [i for i in range(len(tasks)) if i not in results]
    if missing:  # pragma: no cover - a worker that reported done without its task
        raise RuntimeError(f"tasks {missing} returned no result")
    return first, [results[i] for i in range(len(tasks))]


class Background:
    """``fn()`` computed in a forked process while this one goes on; :meth:`result` waits for it.

    For work that needs nothing of what follows it (the parity report's replay of the golden
    files). Without fork, or with ``workers <= 1``, ``fn`` runs at once in this process. The
    result comes back pickled; an exception in ``fn`` is raised by :meth:`result`, and a process
    that dies without reporting raises :class:`RuntimeError`.
    """

    def __init__(self, fn: Callable[[], Any], *, workers: int | None = None) -> None:
        n = default_workers() if workers is None else int(workers)
        self._value: tuple[str, Any, str] | None = None
        self._proc: Any = None
        if n <= 1 or not _can_fork():
            try:
                self._value = ("ok", fn(), "")
            except Exception as exc:
                self._value = ("error", exc, "")
            return
        ctx = mp.get_context("fork")
        self._out = ctx.Queue()
        flush_streams()
        self._proc = ctx.Process(target=self._run, args=(fn, self._out), daemon=True)
        self._proc.start()

    @staticmethod
    def _run(fn: Callable[[], Any], out: Any) -> None:
        with single_threaded_blas():
            try:
                out.put(("ok", fn(), ""))
            except Exception as exc:
                out.put(("error", _portable(exc), traceback.format_exc()))

    def result(self) -> Any:
        """The value of ``fn()`` (waits for the process)."""
        if self._value is None:
            while True:
                try:
                    self._value = self._out.get(timeout=_POLL_S)
                    break
                except queue_mod.Empty:
                    if self._proc.exitcode not in (None, 0):
                        raise RuntimeError(f"a background worker died (exit code "
                                           f"{self._proc.exitcode}) before reporting its result"
                                           ) from None
                    if self._proc.exitcode == 0:  # exited: its result is in the pipe, or lost
                        try:
                            self._value = self._out.get(timeout=5.0)
                            break
                        except queue_mod.Empty:  # pragma: no cover - no result was sent
                            raise RuntimeError("a background worker exited without its "
                                               "result") from None
            self._proc.join()
        kind, value, tb = self._value
        if kind == "error":
            if tb:
                raise value from _RemoteTraceback(tb)
            raise value
        return value

    def cancel(self) -> None:
        """Stop the process (the run failed elsewhere); :meth:`result` must not be called after."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()
