"""Recovery of the analysis's effect on a reduced design (issue 20), on the lean analysis path.

Each replication runs the whole lean analysis (minutes on a shared 2-core machine), so this test
runs only when asked: ``FVDID_MC_RECOVERY=200 python3 -m pytest tests/test_montecarlo_recovery.py``
(the value is the number of replications per scenario; the study folder is kept in
``FVDID_MC_DIR`` when given, so an interrupted run resumes).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

import fvdid
from fvdid import pipeline
from fvdid.montecarlo import size_table
from fvdid.montecarlo.replication import AnalysisReplication

REPS = int(os.environ.get("FVDID_MC_RECOVERY", "0") or 0)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REPS < 1, reason="set FVDID_MC_RECOVERY=<reps> (hours of CPU)"),
    pytest.mark.skipif(not hasattr(pipeline, "analyse"), reason="fvdid.pipeline.analyse not merged"),
]


def test_headline_recovers_the_effect_and_holds_its_size(tmp_path: Path) -> None:
    out = Path(os.environ.get("FVDID_MC_DIR", tmp_path / "study"))
    res = fvdid.montecarlo(out, reps=REPS, design={"n_children": 40_000}, seed=2026,
                           replicate=AnalysisReplication(run_options=(("boot_B", 999),
                                                                      ("n_imputations", 2))),
                           progress=False)
    s = res.table
    h = s[(s["outcome"] == "looked_after_18m") & (s["estimator"] == "headline")]
    design = h[h["effect"] == "design"].set_index("method")
    null = size_table(s).set_index(["outcome", "estimator", "method"])
    # 4 MCSE either side: a correct estimator fails one check with probability below 1e-4
    for method, row in design.iterrows():
        assert abs(row["bias"]) < 4 * row["bias_mcse"], (method, row.to_dict())
        band = 4 * math.sqrt(0.95 * 0.05 / row["n_reps"])
        assert abs(row["coverage"] - 0.95) < band, (method, row.to_dict())
    # at least one inference method of the headline holds its size on this design
    assert null.loc[("looked_after_18m", "headline")]["holds_size"].any()
