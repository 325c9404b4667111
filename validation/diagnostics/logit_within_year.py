"""Within-year time terms for the logit: pair × quarter-of-year dummies, or a within-pair trend.

A follow-up of ``logit_golive_year.py`` on the same replications (2-201 of the default study's
design scenario, ``replication_seed(0, "design", r)``; the analysis as in the study, the logit
refitted on the first imputation). Variants of the headline logit's time terms: pair ×
financial-year dummies (``fy``, the default); those plus pair × quarter-of-year dummies (``fypq``,
three per pair: each pair's average within-year profile, estimated from every year of both of
its LAs; ``LOGIT_PERIOD = "pair_fy_season"``); those plus a linear trend in quarters within each
pair that is zero in the COVID financial year 2020/21 (``fytrx``: the plain trend of
``logit_time_terms.py`` failed on replication 65, where the COVID year's within-year profile set
the slope). Suffixes as in ``logit_golive_year.py``: ``|y`` observed outcome with the
second-order correction, ``|ync`` without it, ``|p`` the noise-free probabilities.

    PYTHONPATH=. python validation/diagnostics/logit_within_year.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_within_year.py --summary FILE.csv ...

``logit_within_year.csv`` holds replications 2-201 (code at commit 5868792, OpenBLAS on one
thread). Its summary (error against the matched truth, MCSE in brackets, SD; median; RMSE)::

    fy|y    +0.00125 (0.00069) SD 0.0098  median +0.0025  RMSE 0.0099   fy|p    +0.00076 (0.00057) SD 0.0081
    fypq|y  +0.00005 (0.00092) SD 0.0130  median +0.0014  RMSE 0.0129   fypq|p  -0.00033 (0.00057) SD 0.0080
    fytrx|y +0.00014 (0.00078) SD 0.0111  median +0.0012  RMSE 0.0110   fytrx|p -0.00052 (0.00061) SD 0.0086
    linear  -0.00005 (0.00053) SD 0.0076  median -0.0005  RMSE 0.0075
    paired: fypq|y - fy|y -0.00120 (0.00066); fytrx|y - fy|y -0.00111 (0.00057)

The within-year terms remove the year dummies' mean error (on the noise-free probabilities the
median error falls from +0.0009 to 0.0000 / -0.0006, its MAD from 0.0046 to 0.0028 / 0.0033) at
the cost of a 13-33 % larger SD on the observed outcomes, hence a larger RMSE; the linear
interaction-weighted estimate beats all of them on bias and RMSE alike.

The replication loop and the summary are ``_logit_harness.py``'s (shared by the logit diagnostics).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _logit_harness import main


def variants(dl: pd.DataFrame, fe: list[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Years; years + pair × quarter-of-year dummies; years + a within-pair trend outside 2020/21."""
    t = pd.PeriodIndex(dl["referral_quarter"], freq="Q")
    tq = (t.year * 4 + t.quarter).to_numpy(float)
    covid = dl["financial_year"].astype(str).str.startswith("2020").to_numpy()
    pid = dl["pair_id"].to_numpy()
    qv = np.asarray(t.quarter)
    trx = {f"_trx_{p}": np.where((pid == p) & ~covid, tq - tq.mean(), 0.0) for p in np.unique(pid)}
    pqd = {f"_pq_{p}_{q}": ((pid == p) & (qv == q)).astype(float) for p in np.unique(pid) for q in (2, 3, 4)}
    return dl.assign(**pqd, **trx), {"fy": ["C(pair_fy)"], "fypq": ["C(pair_fy)", *pqd],
                                     "fytrx": ["C(pair_fy)", *trx]}


if __name__ == "__main__":
    main(sys.argv[1:], variants)
