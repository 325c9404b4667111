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

``logit_within_year.csv`` holds replications 2-201 with every variant and 202-401 with ``fy`` and
``fypq`` only, on ``y`` and ``p`` (code at commit 5868792, OpenBLAS on one thread; 35 replications
run twice by mistake gave identical rows). Its summary (error against the matched truth, MCSE in
brackets, SD; RMSE)::

    400 replications         fy|y   +0.00115 (0.00046) SD 0.0092 RMSE 0.0093   fy|p   +0.00050 (0.00038) SD 0.0076
                             fypq|y +0.00068 (0.00054) SD 0.0108 RMSE 0.0108   fypq|p -0.00054 (0.00035) SD 0.0069
                             linear +0.00070 (0.00039) SD 0.0077 RMSE 0.0077
    paired over the 400      fypq|y - fy|y -0.00048 (0.00041); fypq|p - fy|p -0.00104 (0.00030);
                             fy|y - fy|p +0.00065 (0.00031) (finite-sample error left by the correction)
    2-201 only               fy|y +0.00125 (0.00069) SD 0.0098; fypq|y +0.00005 (0.00092) SD 0.0130;
                             fytrx|y +0.00014 (0.00078) SD 0.0111, fytrx|p -0.00052 (0.00061);
                             paired fypq|y - fy|y -0.00120 (0.00066), fytrx|y - fy|y -0.00111 (0.00057)
    202-401 only             fy|y +0.00105 (0.00061) SD 0.0086; fypq|y +0.00130 (0.00056) SD 0.0080;
                             paired fypq|y - fy|y +0.00025 (0.00048)

The first 200 replications suggested that pair × quarter-of-year dummies remove the years' mean
error; the next 200 did not (paired +0.00025 (0.00048)), and over the 400 the difference is
-0.0005 (0.0004). On the noise-free probabilities they reduce the misspecification by -0.0010
(0.0003) and overshoot (-0.0005 (0.0004)); on the observed outcomes their SD is larger over the 400
(0.0108 against 0.0092). The years' error over the 400 is more finite-sample (+0.0007 (0.0003),
what the second-order correction leaves) than misspecification (+0.0005 (0.0004)).

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
