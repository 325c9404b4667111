"""Benchmark of fvdid.simulate against its targets (not a test).

Targets (SPEC / brief): 100,000 children in < 5 s; 1,000,000 children in < 40 s with peak memory
< 4 GB. Times are wall-clock (min of 3 repeats at 100k, one run at 1M); memory is reported two
ways: the process's peak resident set size (``resource.getrusage``, includes the interpreter and
libraries, monotone over the process) and the peak of Python-tracked allocations during one call
(``tracemalloc``, NumPy buffers included; tracemalloc slows the call, so that run is not timed).

Run: ``python bench/bench_simulate.py [--quick]`` (``--quick`` skips the 1M row).
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc

from fvdid.simulate import simulate

TARGETS = {100_000: (5.0, None), 1_000_000: (40.0, 4.0)}


def _peak_rss_gb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS
    scale = 1024**3 if sys.platform == "darwin" else 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def _time(n: int, repeats: int) -> float:
    best = float("inf")
    for i in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        simulate(seed=i, n_children=n)
        best = min(best, time.perf_counter() - t0)
    return best


def _traced_peak_gb(n: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        simulate(seed=0, n_children=n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024**3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-children row")
    args = parser.parse_args(argv)
    simulate(seed=0, n_children=1_000)  # warm-up: imports, first-call overheads

    rows = []
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    for n in sizes:
        repeats = 3 if n <= 100_000 else 1
        secs = _time(n, repeats)
        rss = _peak_rss_gb()
        traced = _traced_peak_gb(n)
        t_target, m_target = TARGETS[n]
        rows.append((n, repeats, secs, t_target, rss, traced, m_target))

    print(f"{'children':>10} {'runs':>4} {'seconds':>8} {'target':>7} {'ok':>3} "
          f"{'peak RSS GB':>11} {'traced GB':>9} {'target':>7} {'ok':>3}")  # fmt: skip
    failed = False
    for n, repeats, secs, t_target, rss, traced, m_target in rows:
        t_ok = secs < t_target
        m_ok = True if m_target is None else rss < m_target
        failed |= not (t_ok and m_ok)
        m_txt = "-" if m_target is None else f"< {m_target:g}"
        print(f"{n:>10,} {repeats:>4} {secs:>8.2f} {'< ' + format(t_target, 'g'):>7} "
              f"{'yes' if t_ok else 'NO':>3} {rss:>11.2f} {traced:>9.2f} {m_txt:>7} "
              f"{'yes' if m_ok else 'NO':>3}")  # fmt: skip
    print("(peak RSS is the process maximum so far: the 1M row includes the 100k runs before it)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
