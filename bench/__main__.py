"""``python -m bench [workload ...]``: time fvdid, the R references and the Python peers.

    python -m bench                          # every default workload (long: R at 1M rows)
    python -m bench cem_1m bacon_152x28      # some workloads
    python -m bench --list                   # the workloads and their implementations
    python -m bench --kinds fvdid r          # only fvdid and R (no Python peers)
    python -m bench fvdid_run_1m             # `fvdid run` on 1M children (not in the default run)
    python -m bench --remeasure-above 0.75   # re-measure rows started above 0.75 load per CPU
    python -m bench --compare A.json B.json  # ratios of two runs side by side (noise check)
    python -m bench --render R.json --readme # tables from a saved (e.g. partial) report
    python -m bench montecarlo [--help]      # Monte Carlo replications/s, 1 and 2 workers

Writes ``bench/results/latest.json`` and ``latest.md`` (or ``--out DIR``) and, when every default
workload ran into ``bench/results``, ``bench/README_TABLE.md``. Python peers run in the venv made
by ``bash bench/setup_peers.sh`` (``/opt/fvdid-peers``; ``FVDID_PEERS_PYTHON`` overrides); R via
``Rscript`` (``FVDID_RSCRIPT`` overrides), which finds the CRAN-only packages through ``R_LIBS``
(e.g. ``R_LIBS=/opt/rlib python -m bench``). Missing ones are reported as absent. The 1-min load
average is recorded as each implementation starts; rows started above ``--remeasure-above`` per
logical CPU are run once more at the end (the table keeps the run under the lower load).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import harness
from bench.workloads import ALL, DEFAULT


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["montecarlo"]:
        from bench.montecarlo import main as montecarlo_main

        return montecarlo_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workloads", nargs="*", help="workload names (default: all; see --list)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--kinds", nargs="+", choices=["fvdid", "r", "peer"], default=None,
                   help="implementations to run (default: all)")
    p.add_argument("--timeout", type=float, default=harness.DEFAULT_TIMEOUT,
                   help="seconds per implementation (default %(default)s)")
    p.add_argument("--data-dir", type=Path, default=harness.DEFAULT_DATA_DIR,
                   help="where the generated datasets are kept (default %(default)s)")
    p.add_argument("--out", type=Path, default=harness.RESULTS,
                   help="folder of latest.json / latest.md (default bench/results)")
    p.add_argument("--readme", action=argparse.BooleanOptionalAction, default=None,
                   help="(re)write bench/README_TABLE.md (default: when all workloads ran)")
    p.add_argument("--remeasure-above", type=float, default=harness.REMEASURE_ABOVE,
                   metavar="LOAD",
                   help="at the end, run once more every row whose 1-min load average at start "
                        "per logical CPU exceeded LOAD (default %(default)s)")
    p.add_argument("--no-remeasure", action="store_true", help="never re-measure a row")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"),
                   help="print the ratios of two result files side by side and exit")
    p.add_argument("--render", type=Path, metavar="REPORT.json",
                   help="re-write latest.md (and, with --readme, README_TABLE.md) from a saved "
                        "report, e.g. a partial run, and exit")
    a = p.parse_args(argv)
    if a.list:
        for name, w in ALL.items():
            tag = "" if name in DEFAULT else "  (not in the default run)"
            print(f"{name:20s} {w.title}{tag}")
            print(f"{'':20s}   " + ", ".join(f"{i.name} [{i.kind}]" for i in w.impls))
        return 0
    if a.compare:
        ra, rb = (json.loads(f.read_text()) for f in a.compare)
        print(harness.compare_runs(ra, rb), end="")
        return 0
    if a.render:
        rep = json.loads(a.render.read_text())
        paths = harness.write(rep, a.out, readme=bool(a.readme))
        print("written: " + ", ".join(str(x) for x in paths))
        return 0
    report = harness.run(a.workloads or None, data_dir=a.data_dir, timeout=a.timeout,
                         kinds=a.kinds, log=lambda s: print(s, flush=True),
                         on_progress=lambda rep: harness.write(rep, a.out, readme=False),
                         remeasure_above=None if a.no_remeasure else a.remeasure_above)
    paths = harness.write(report, a.out, readme=a.readme)
    print()
    print(harness.markdown(report))
    print("written: " + ", ".join(str(x) for x in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
