"""``python -m parity [replay|live|record] [CASE ...] [--family F] [--out DIR]``.

``python -m parity peers [PEER ...] [--family F] [--out DIR]``: the Python peers against R.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fvdid.errors import FvdidInputError
from parity.report import run_all, summary_counts, write_report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m parity", description=__doc__)
    p.add_argument("mode", choices=["replay", "live", "record", "peers"])
    p.add_argument("cases", nargs="*", help="case names (default: all); peer names for `peers`")
    p.add_argument("--family", action="append", default=[], help="only these families")
    p.add_argument("--out", type=Path, default=None, help="write the report here")
    a = p.parse_args(argv)
    if a.mode == "peers":
        from parity.peers.report import run_and_report

        try:
            return run_and_report(tuple(a.cases), (), tuple(a.family), a.out)
        except FvdidInputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        results = run_all(a.mode, a.cases, a.family, progress=False)
    except FvdidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in results:
        line = f"{r.status:4s} {r.mode:6s} {r.case}"
        if r.status != "pass":
            line += "  " + r.failure_text().splitlines()[0]
        print(line)
        if r.status == "fail":
            for extra in r.failure_text().splitlines()[1:]:
                print("     " + extra)
    c = summary_counts(results)
    if a.out:
        write_report(results, a.out)
    print(f"parity {a.mode}: {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped")
    return 1 if c["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
