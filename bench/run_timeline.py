"""Where the time of ``fvdid run`` on the embedded default goes: its stages and tasks on a timeline.

``python -m bench.run_timeline [--out DIR] [--workers N]`` runs the default analysis as ``fvdid run
--out DIR`` does (the same function, :func:`fvdid.pipeline.run`, in this process) and prints, in
seconds from the interpreter's start:

* when each stage of :data:`fvdid.pipeline.STAGES` started;
* every analysis that :func:`fvdid._parallel.share_work` ran (the primary outcome in the main
  process, the placebo pairs, the sensitivity analyses and each secondary outcome wherever they
  ran), the parity report's replay (a background process), the ACRO check and the appendix writer,
  each with its process, start, end and length;
* the CPU time of the process and of its waited-for children (user and kernel), the wall time,
  their ratio (the cores used on average), the 1-min load average before and after and the
  hypervisor's steal time over the run (``/proc/stat``; time the host gave to others).

It is a profiling aid for issue 16 (``fvdid run`` on the default in 20 s), not a benchmark: the
timed rows of ``bench/README_TABLE.md`` come from ``python -m bench fvdid_run_default``, which
times the command from outside. The numbers of the run are those of ``fvdid run`` (the wrappers
only read the clock).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

__all__ = ["main", "task_label"]


def _steal_ticks() -> int | None:
    """The hypervisor's steal time of all CPUs so far, in clock ticks (Linux), else None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8])
    except (OSError, IndexError, ValueError):
        return None


def task_label(fn: Callable[..., Any]) -> str:
    """A readable name of a task of :func:`fvdid.pipeline.analyse`: the outcome a secondary
    task's closure holds, else the function's name (``placebo_task``, ``sensitivity_task``)."""
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            v = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(v, str):
            return f"outcome {v}"
    return getattr(fn, "__name__", repr(fn))


def main(argv: list[str] | None = None) -> None:
    """Run the default analysis with the clock on its stages and tasks and print the timeline."""
    ap = argparse.ArgumentParser(prog="python -m bench.run_timeline", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    ap.add_argument("--workers", type=int, default=None, help="FVDID_WORKERS for the run")
    args = ap.parse_args(argv)
    if args.workers is not None:
        os.environ["FVDID_WORKERS"] = str(args.workers)
    load0, steal0 = os.getloadavg()[0], _steal_ticks()

    import fvdid.pipeline as pipeline

    t_import = time.perf_counter() - T0
    fd, name = tempfile.mkstemp(prefix="fvdid-timeline-", suffix=".tsv")
    os.close(fd)  # reopened in append mode by each record
    rows_file = Path(name)
    main_pid = os.getpid()

    def record(label: str, start: float, end: float) -> None:
        # one short line per write, appended: the forked processes share the file safely
        with rows_file.open("a") as f:
            f.write(f"{label}\t{os.getpid()}\t{start - T0:.3f}\t{end - T0:.3f}\n")

    def timed(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def run(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                record(label, t, time.perf_counter())
        return run

    originals = {name: getattr(pipeline, name)
                 for name in ("share_work", "parity_summary", "_acro", "write_appendix")}

    def timed_share_work(main_fn: Callable[[], Any], tasks: Any, **kw: Any) -> Any:
        return originals["share_work"](timed(main_fn, "primary outcome (+ ACRO)"),
                                       [timed(t, task_label(t)) for t in tasks], **kw)

    pipeline.share_work = timed_share_work
    pipeline.parity_summary = timed(originals["parity_summary"], "parity replay")
    pipeline._acro = timed(originals["_acro"], "ACRO check")
    pipeline.write_appendix = timed(originals["write_appendix"], "write the appendix")
    stages: list[tuple[float, str]] = []
    out = args.out or Path(tempfile.mkdtemp(prefix="fvdid-timeline-out-"))
    try:
        pipeline.run(out_dir=out, progress=lambda s: stages.append((time.perf_counter() - T0, s)))
    finally:  # the pipeline as it was (a second call would otherwise time the timers)
        for name, fn in originals.items():
            setattr(pipeline, name, fn)
    wall = time.perf_counter() - T0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    load1, steal1 = os.getloadavg()[0], _steal_ticks()
    rows = [line.split("\t") for line in rows_file.read_text().splitlines()]
    rows_file.unlink()

    print(f"fvdid run on the default -> {out}")
    print(f"{t_import:7.2f}  imported fvdid.pipeline")
    for t, s in stages:
        print(f"{t:7.2f}  stage: {s}")
    print(f"{wall:7.2f}  end\n")
    print(f"{'task':48s} {'process':>10s} {'start':>7s} {'end':>7s} {'seconds':>8s}")
    for label, pid, start, end in sorted(rows, key=lambda r: float(r[2])):
        who = "main" if int(pid) == main_pid else f"pid {pid}"
        print(f"{label:48s} {who:>10s} {float(start):7.2f} {float(end):7.2f} "
              f"{float(end) - float(start):8.2f}")
    user, sys_ = me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime
    print(f"\nwall {wall:.2f} s; CPU user {user:.2f} s + kernel {sys_:.2f} s "
          f"(this process {me.ru_utime:.2f} + {me.ru_stime:.2f}); "
          f"cores used on average {(user + sys_) / wall:.2f}")
    steal = "" if steal0 is None or steal1 is None else \
        f"; steal {(steal1 - steal0) / os.sysconf('SC_CLK_TCK'):.2f} CPU-s"
    print(f"load average (1 min) {load0:.2f} before, {load1:.2f} after{steal}")


if __name__ == "__main__":
    main()
