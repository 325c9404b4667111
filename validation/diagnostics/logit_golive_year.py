"""The logit's finite-sample and misspecification errors, and finer time terms in the go-live year.

For each replication ``r`` of the default study's design scenario (``replication_seed(0,
"design", r)``: the same simulated extract as the study's), the analysis runs as in the study;
then the headline's logit (:func:`fvdid.stages.logit_ame.logit_imputation_ame`) is refitted on
the first imputation with four sets of time terms: pair × financial-year dummies (``fy``, the
default); those with the go-live financial year of each pair split at go-live (its earliest FV
referral) into a before and an after period (``fysp``); ``fysp`` plus common quarter-of-year
dummies (``fysps``); ``fy`` plus common quarter-of-year dummies (``fys``). Each is fitted to the
observed outcome with the second-order correction (``|y``, the study's estimate for ``fy``)
and without it (``|ync``), and to the simulator's noise-free probabilities (``|p``: each child's
counterfactual probability plus, for FV children, the true effect; no correction, as there is
no sampling noise), whose error is the model's misspecification alone. ``|y`` minus ``|p`` is
then the finite-sample error left after the correction.

    PYTHONPATH=. python validation/diagnostics/logit_golive_year.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_golive_year.py --summary FILE.csv ...

``logit_golive_year.csv`` holds replications 2-201, run with OpenBLAS on one thread as the
study's workers (code at commit 5868792). ``fy|y`` equals the study's logit AME (``logit_study``)
to 1e-16 on 187 replications and differs on 13 (the refit keeps the covariates estimable in the
pooled model, the study those of the cell model: the likely source, not checked; ``logit_study``'s
mean error on the 200 is
+0.00111 (0.00066)); the variants are compared with ``fy|y``, paired. Its
summary (error against the matched truth, MCSE in brackets, SD across replications), quoted in
``fvdid.stages.estimate.LOGIT_PERIOD``::

    fy|y   +0.00125 (0.00069) SD 0.0098    fy|ync   -0.00048 (0.00076)   fy|p   +0.00076 (0.00057) SD 0.0081
    fysp|y +0.00422 (0.00235) SD 0.0333    fysp|ync -0.00470 (0.00112)   fysp|p -0.00052 (0.00035) SD 0.0050
    fysps|y +0.00372 (0.00236)             fysps|ync -0.00521 (0.00119)  fysps|p -0.00085 (0.00048)
    fys|y  -0.00033 (0.00079) SD 0.0112    fys|ync  -0.00231 (0.00081)   fys|p  -0.00069 (0.00064) SD 0.0091
    linear -0.00005 (0.00053) SD 0.0076;   paired: fy|p - fy|y -0.00049 (0.00049), fys|y - fy|y -0.0016 (0.0005)

The replication loop and the summary are ``_logit_harness.py``'s (shared by the logit diagnostics).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _logit_harness import main


def variants(dl: pd.DataFrame, fe: list[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Years; the go-live year split at go-live (its earliest FV referral), with and without
    common quarter-of-year dummies; years with them."""
    qn = pd.PeriodIndex(dl["referral_quarter"], freq="Q").quarter
    date = pd.to_datetime(dl["referral_date"])
    fvd = date[dl["fv"] == 1].groupby(dl.loc[dl["fv"] == 1, "pair_id"]).min()
    cut = dl["pair_id"].map(fvd)
    gofy = dl["pair_id"].map(dl.loc[date.index[date.eq(cut)], ["pair_id", "pair_fy"]]
                             .drop_duplicates("pair_id").set_index("pair_id")["pair_fy"])
    post = (dl["pair_fy"] == gofy) & (date >= cut)
    dl = dl.assign(pair_fysp=np.where(post, dl["pair_fy"].astype(str) + ":post", dl["pair_fy"].astype(str)),
                   qoy=qn.astype(str))
    return dl, {"fy": ["C(pair_fy)"], "fysp": ["C(pair_fysp)"], "fysps": ["C(pair_fysp)", "C(qoy)"],
                "fys": ["C(pair_fy)", "C(qoy)"]}


if __name__ == "__main__":
    main(sys.argv[1:], variants)
