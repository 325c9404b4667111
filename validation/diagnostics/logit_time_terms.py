"""The logit's time terms, paired on the default study's design seeds (observed and noise-free).

For each replication ``r`` of the default study's design scenario (``replication_seed(0,
"design", r)``: the same simulated extract as the study's), the analysis runs as in the study;
then the headline's logit (:func:`fvdid.stages.logit_ame.logit_imputation_ame`, second-order
correction) is refitted on the first imputation with four sets of time terms: pair ×
financial-year dummies (``fy``, the default), those plus a linear trend in quarters within each
pair (``fytr``), pair × half-year dummies (``hy``), pair × quarter dummies (``q``). Each is fitted
to the observed outcome (``|y``) and to the simulator's noise-free probabilities (``|p``: each
child's counterfactual probability plus, for FV children, the true effect; no correction, as
there is no sampling noise), whose error is the model's misspecification alone.

    PYTHONPATH=. python validation/diagnostics/logit_time_terms.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_time_terms.py --summary FILE.csv ...

``logit_time_terms.csv`` holds replications 2-74, run with OpenBLAS on one thread as the study's
workers (code at commit 04194f2, whose replication path gives the study's numbers; this script
at b70e2a0 reproduces its rows; rebuilt on ``_logit_harness.py``, it reproduces replication
2's row to 8e-14); the summary is quoted in
``fvdid.stages.estimate.LOGIT_PERIOD``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _logit_harness import main


def variants(dl: pd.DataFrame, fe: list[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Years; years + within-pair trends; half years; quarters."""
    trends = fe[1:-1]
    qn = pd.PeriodIndex(dl["referral_quarter"], freq="Q").quarter
    dl = dl.assign(pair_hy=dl["pair_fy"] + np.where(np.isin(qn, [2, 3]), "a", "b"))
    return dl, {"fy": ["C(pair_fy)"], "fytr": ["C(pair_fy)", *trends], "hy": ["C(pair_hy)"],
                "q": ["C(pair_time)"]}


if __name__ == "__main__":
    main(sys.argv[1:], variants, kinds=("y", "p"))
