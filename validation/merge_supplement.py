"""Merge the supplementary study's new methods into the default-design study's summary.

``montecarlo-100k-ri/`` analysed the same simulated extracts (same design, master seed and
replication numbers) with the code that added the wild subcluster bootstrap, randomization
inference and Conley–Taber over placebo pairs. Its rows for those methods (and only those) are
added to ``montecarlo-100k/``'s replications, the summary is recomputed with
:func:`fvdid.montecarlo.summary.summarise` and the report rewritten.

Run from the repository root: ``python3 validation/merge_supplement.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from fvdid.montecarlo.report import write_report
from fvdid.montecarlo.summary import summarise
from fvdid.simulation import SimConfig

HERE = Path(__file__).resolve().parent
MAIN, SUPP = HERE / "montecarlo-100k", HERE / "montecarlo-100k-ri"
NEW_METHODS = ("WSCB_webb", "RI_t_pairs", "CT_pairs")


def main() -> None:
    main_rows = pd.read_parquet(MAIN / "replications.parquet")
    supp = pd.read_parquet(SUPP / "replications.parquet")
    if json.loads((MAIN / "study.json").read_text())["design"] != json.loads(
            (SUPP / "study.json").read_text())["design"]:
        raise SystemExit("the two studies have different designs")
    main_rows = main_rows[~main_rows["method"].isin(NEW_METHODS)]
    add = supp[supp["method"].isin(NEW_METHODS)]
    rows = pd.concat([main_rows, add], ignore_index=True)
    summary = summarise(rows)
    summary.to_parquet(MAIN / "summary.parquet", index=False)
    n_supp = add.drop_duplicates(["effect", "replication"]).groupby("effect").size().to_dict()
    notes = ["design: n_children = 100000, 0 SimConfig override(s); master seed 0; 500 replications "
             "per scenario (null, design) for every method of the main study",
             f"{', '.join(NEW_METHODS)}: from the supplementary study on the same extracts "
             f"(replications per scenario: {n_supp})"]
    write_report(MAIN, summary, rows, pd.DataFrame(columns=["effect", "replication"]),
                 primary_outcome="looked_after_18m",
                 baseline=float(SimConfig().base_looked_after_18m), notes=notes)
    print(f"merged {len(add)} rows ({n_supp}) into {MAIN / 'summary.parquet'}")


if __name__ == "__main__":
    main()
