"""Summarise a Monte Carlo study stopped before its last replication, balanced across scenarios.

``fvdid montecarlo`` writes every finished replication at once, so a stopped study holds the
replications it finished; the same command resumes it. This script takes the first ``k``
replications of every effect scenario, ``k`` the largest number that every scenario has finished
without a gap (replications 0 .. k - 1), summarises them with
:func:`fvdid.montecarlo.summary.summarise`, writes the report, and copies the study's identity
(``study.json``) and the combined rows (``replications.parquet``) into the output folder.

Run from the repository root::

    python3 validation/summarise_partial.py STUDY_DIR OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from fvdid.montecarlo.engine import load_replications
from fvdid.montecarlo.report import write_report
from fvdid.montecarlo.summary import summarise
from fvdid.simulation import SimConfig


def complete_prefix(rows: pd.DataFrame, failures: pd.DataFrame) -> int:
    """The largest ``k`` such that every scenario has finished (or failed) replications 0..k-1."""
    ks = []
    for effect, g in rows.groupby("effect"):
        done = set(g["replication"].astype(int))
        done |= set(failures.loc[failures["effect"] == effect, "replication"].astype(int))
        k = 0
        while k in done:
            k += 1
        ks.append(k)
    return min(ks) if ks else 0


def main(study: Path, out: Path) -> None:
    rows, failures = load_replications(study)
    k = complete_prefix(rows, failures)
    if k == 0:
        raise SystemExit(f"{study}: no scenario has finished replication 0")
    rows = rows[rows["replication"].astype(int) < k].reset_index(drop=True)
    failures = failures[failures["replication"].astype(int) < k]
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    summary.to_parquet(out / "summary.parquet", index=False)
    rows.to_parquet(out / "replications.parquet", index=False)
    ident = json.loads((study / "study.json").read_text())
    shutil.copyfile(study / "study.json", out / "study.json")
    notes = [f"design: {ident['design']}; master seed {ident['seed']}; the study was stopped: its "
             f"first {k} replications of every scenario "
             f"({', '.join(sorted(rows['effect'].unique()))}) are summarised "
             f"({len(failures)} failed)"]
    write_report(out, summary, rows, failures, primary_outcome="looked_after_18m",
                 baseline=float(SimConfig().base_looked_after_18m), notes=notes)
    print(f"{out}: {k} replications per scenario summarised")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
