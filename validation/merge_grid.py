"""Combine a null + design study and an effect-grid study of the same design into one folder.

The two were run by the same code, with the same design, master seed and run options, as two
``fvdid montecarlo`` commands (one with ``--effects null,design``, one with ``--effect-grid``) so
that the grid could run beside the main study. Their replication rows are concatenated (the
scenarios are disjoint), the summary is recomputed with :func:`fvdid.montecarlo.summary.summarise`
and the report rewritten, power curves and simulation MDES included.

    python3 validation/merge_grid.py MAIN_STUDY GRID_STUDY OUT
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from fvdid.montecarlo.report import write_report
from fvdid.montecarlo.summary import summarise
from fvdid.simulation import SimConfig


def _rows(study: Path) -> pd.DataFrame:
    files = sorted((study / "replications").glob("*.parquet"))
    if not files:
        raise SystemExit(f"{study}: no replication files")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def main(main_dir: Path, grid_dir: Path, out: Path) -> None:
    m_manifest = json.loads((main_dir / "study.json").read_text())
    g_manifest = json.loads((grid_dir / "study.json").read_text())
    for key in ("design", "seed", "replication", "methods"):
        if m_manifest.get(key) != g_manifest.get(key):
            raise SystemExit(f"the two studies differ in {key!r}: {m_manifest.get(key)!r} "
                             f"against {g_manifest.get(key)!r}")
    main_rows, grid_rows = _rows(main_dir), _rows(grid_dir)
    if set(main_rows["effect"]) & set(grid_rows["effect"]):
        raise SystemExit("the two studies share effect scenarios; expected disjoint ones")
    rows = pd.concat([main_rows, grid_rows], ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    rows.to_parquet(out / "replications.parquet", index=False)
    summary.to_parquet(out / "summary.parquet", index=False)
    shutil.copyfile(main_dir / "study.json", out / "study.json")
    reps = rows.drop_duplicates(["effect", "replication"]).groupby("effect").size().to_dict()
    notes = [f"design: {m_manifest['design']}; master seed {m_manifest['seed']}; replications per "
             f"scenario: {reps}",
             "the null / design scenarios and the effect grid were run as two commands of the same "
             "code and merged by validation/merge_grid.py"]
    write_report(out, summary, rows, pd.DataFrame(columns=["effect", "replication"]),
                 primary_outcome="looked_after_18m",
                 baseline=float(SimConfig().base_looked_after_18m), notes=notes)
    print(f"{len(rows)} rows ({reps}) -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
