"""How a run uses the machine: work shared with forked workers (fvdid._parallel) and glibc malloc tuning (fvdid._memory); the same results, failures not hidden."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from fvdid._parallel import Background, default_workers, share_work

fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")


def _draw(seed: int) -> float:
    return float(np.random.default_rng(seed).standard_normal(1000).sum())


@fork_only
def test_results_come_back_in_task_order_and_equal_the_sequential_ones() -> None:
    # Unequal task lengths, so the caller and the worker each take some of the tasks.
    tasks = [(lambda s=s: (time.sleep(0.05 * (s % 3)), os.getpid(), _draw(s))) for s in range(8)]
    first, par = share_work(lambda: (time.sleep(0.1), os.getpid())[1], tasks, workers=2)
    _, seq = share_work(lambda: os.getpid(), tasks, workers=1)
    assert [r[2] for r in par] == [r[2] for r in seq]  # bit-identical: same seeds, same code
    assert first == os.getpid()
    pids = {r[1] for r in par}
    assert len(pids) == 2 and os.getpid() in pids, pids  # the work was shared


@fork_only
def test_a_task_error_is_raised_in_the_caller() -> None:
    def bad() -> None:
        raise ValueError("column 'x', rows [3]: expected a number")

    tasks = [lambda: 1, bad, lambda: 3]
    with pytest.raises(ValueError, match="column 'x'"):
        share_work(lambda: time.sleep(0.3), tasks, workers=2)  # the worker meets `bad` first
    with pytest.raises(ValueError, match="column 'x'"):
        share_work(lambda: None, tasks, workers=1)


@fork_only
def test_a_worker_that_dies_fails_the_call() -> None:
    # The caller is busy long enough for the worker to take the fatal task.
    tasks = [lambda: os._exit(3), lambda: 2]
    with pytest.raises(RuntimeError, match="exit code 3"):
        share_work(lambda: time.sleep(0.5), tasks, workers=2)


@fork_only
def test_an_error_in_the_callers_own_work_stops_the_workers() -> None:
    def boom() -> None:
        raise KeyError("primary")

    start = time.monotonic()
    with pytest.raises(KeyError, match="primary"):
        share_work(boom, [lambda: time.sleep(30)], workers=2)
    assert time.monotonic() - start < 10  # the sleeping worker was terminated, not awaited


@fork_only
def test_background_work_comes_back_or_raises() -> None:
    bg = Background(lambda: (os.getpid(), _draw(7)), workers=2)
    pid, value = bg.result()
    assert pid != os.getpid() and value == _draw(7)  # computed elsewhere, the same number

    def bad() -> None:
        raise ValueError("golden file 'x.json': expected a mapping")

    with pytest.raises(ValueError, match="golden file"):
        Background(bad, workers=2).result()
    with pytest.raises(ValueError, match="golden file"):  # in this process: raised by result()
        Background(bad, workers=1).result()
    with pytest.raises(RuntimeError, match="exit code 4"):
        Background(lambda: os._exit(4), workers=2).result()


def test_workers_option() -> None:
    old = os.environ.get("FVDID_WORKERS")
    try:
        os.environ["FVDID_WORKERS"] = "1"
        assert default_workers() == 1
        os.environ["FVDID_WORKERS"] = "two"
        with pytest.raises(ValueError, match="FVDID_WORKERS"):
            default_workers()
    finally:
        if old is None:
            os.environ.pop("FVDID_WORKERS", None)
        else:
            os.environ["FVDID_WORKERS"] = old


@fork_only
def test_the_analysis_is_the_same_on_one_process_and_two() -> None:
    from fvdid.config import RunConfig
    from fvdid.pipeline import analyse, simulated_extract

    cfg = RunConfig(seed=5, n_children=20_000, n_imputations=2, boot_B=199, ri_pool_max=0,
                    extras={"la_figures": False, "la_placebo": False})
    ex, _ = simulated_extract(cfg)
    one = analyse(ex, cfg, sensitivity=False, robustness=False, workers=1).records()
    two = analyse(ex, cfg, sensitivity=False, robustness=False, workers=2).records()
    assert one["outcome"].nunique() > 1  # the secondary outcomes were analysed
    # Bit-identical: the same code on the same inputs, OpenBLAS on one thread in both.
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_malloc_tuning_is_idempotent_and_can_be_switched_off() -> None:
    import subprocess
    import sys

    code = ("import fvdid._memory as m; a = m.tune_malloc(); b = m.tune_malloc(); "
            "print(a, b)")
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = on.stdout.split()
    assert first == second  # once per process: the second call reports the first's outcome
    if sys.platform.startswith("linux") and os.path.exists("/lib/x86_64-linux-gnu/libc.so.6"):
        assert first == "True"  # glibc: both thresholds set
    env = {**os.environ, "FVDID_MALLOC_TUNE": "0"}
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    assert off.stdout.split() == ["False", "False"]


def test_workers_are_capped_by_the_memory_available(monkeypatch: pytest.MonkeyPatch) -> None:
    import fvdid._parallel as par

    monkeypatch.setattr(par, "available_memory", lambda: 20 * 2**30)
    assert par.memory_capped(2, 9 * 2**30) == 2  # two 9 GiB analyses fit in 20 GiB
    assert par.memory_capped(2, 12 * 2**30) == 1  # two 12 GiB ones do not
    assert par.memory_capped(2, 40 * 2**30) == 1  # never below one: the task fails as it would alone
    monkeypatch.setattr(par, "available_memory", lambda: None)
    assert par.memory_capped(2, 40 * 2**30) == 2  # unknown: unchanged


def test_memory_limit_caps_the_memory_available(monkeypatch: pytest.MonkeyPatch) -> None:
    """FVDID_MEMORY_LIMIT: the budget minus what the process holds, never more than MemAvailable."""
    import fvdid._parallel as par

    monkeypatch.delenv("FVDID_MEMORY_LIMIT", raising=False)
    assert par.memory_limit() is None
    for text, expected in (("8G", 8 * 2**30), ("7500m", 7500 * 2**20), ("1.5T", int(1.5 * 2**40)),
                           ("123456789", 123456789)):
        monkeypatch.setenv("FVDID_MEMORY_LIMIT", text)
        assert par.memory_limit() == expected
    monkeypatch.setattr(par, "_resident", lambda: 3 * 2**30)
    monkeypatch.setattr(par, "_mem_available", lambda: 20 * 2**30)
    monkeypatch.setenv("FVDID_MEMORY_LIMIT", "8G")
    assert par.available_memory() == 5 * 2**30  # 8 GiB budget, 3 GiB held
    assert par.memory_capped(2, 4.5 * 2**30) == 1  # one 4.5 GiB analysis in the 5 GiB left
    monkeypatch.setenv("FVDID_MEMORY_LIMIT", "64G")  # above MemAvailable: the kernel's figure wins
    assert par.available_memory() == 20 * 2**30
    monkeypatch.setattr(par, "_mem_available", lambda: None)  # no /proc/meminfo: the budget alone
    assert par.available_memory() == 61 * 2**30
    monkeypatch.setenv("FVDID_MEMORY_LIMIT", "2G")  # less than held: nothing left, one worker
    assert par.available_memory() == 0 and par.memory_capped(2, 1.0) == 1
    for bad in ("eight", "8Q", "-1G", "0"):
        monkeypatch.setenv("FVDID_MEMORY_LIMIT", bad)
        with pytest.raises(ValueError, match="FVDID_MEMORY_LIMIT"):
            par.memory_limit()
