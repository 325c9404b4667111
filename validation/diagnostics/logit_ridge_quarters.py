"""Pair × quarter terms shrunk towards the year terms: a ridge penalty on the within-year deviations.

``logit_fixed_blocks.py`` finds the headline logit's finite-sample error in its period terms:
held at their noise-free values, the error goes. Quarter terms are specified correctly but thin
(a handful of comparison events each), and their error is four times the years'; year terms are
thicker but misspecified (``fy|p``). Between the two: pair × financial-year dummies plus every
pair × quarter dummy, the latter penalised by ``½ λ Σ β²`` (``λ`` on the scale of a cell's
information, ``Σ w p(1 − p)``, about its expected events), so each quarter's deviation from its
year is shrunk by about ``λ / (λ + m)``. ``λ = 0`` is the quarter model, ``λ → ∞`` the year model.
No second-order correction (a penalised fit's bias is not Cox–Snell's); ``|p`` is each fit to
the noise-free probabilities (misspecification alone).

For each replication ``r`` of the default study's design scenario (``_logit_harness``), refitted
on the first imputation, with this directory's ``logit_fixed_blocks`` fitting code.

    PYTHONPATH=. python validation/diagnostics/logit_ridge_quarters.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_ridge_quarters.py --summary FILE.csv ...

``logit_ridge_quarters.csv`` holds replications 2-201 (code at commit 2f0e288 plus this
directory's scripts, OpenBLAS on one thread; 1 fit did not converge, recorded as ``err``).
Error against the matched truth (MCSE in brackets), SD and RMSE, with the unpenalised fits of
``logit_fixed_blocks.csv`` on the same replications; ``y − p`` is the finite-sample error::

    λ          |y                   |p                   y − p                SD      RMSE
    0 (q)      -0.00440 (0.00109)   -0.00006 (0.00016)   -0.00434 (0.00106)   0.0154  0.0160
    1          -0.00384 (0.00099)   +0.00000 (0.00022)   -0.00384 (0.00094)   0.0139  0.0144
    3          -0.00265 (0.00079)   +0.00030 (0.00024)   -0.00295 (0.00074)   0.0112  0.0115
    10         -0.00127 (0.00066)   +0.00072 (0.00030)   -0.00198 (0.00058)   0.0092  0.0093
    30         -0.00043 (0.00061)   +0.00097 (0.00039)   -0.00140 (0.00050)   0.0087  0.0086
    100        -0.00012 (0.00064)   +0.00101 (0.00048)   -0.00113 (0.00048)   0.0090  0.0090
    ∞ (fy)     -0.00029 (0.00071)   +0.00075 (0.00058)   -0.00104 (0.00048)   0.0100  0.0100
    the study's (fy, second-order correction; the logit is computed where the rule selected it,
    167 replications) +0.00122, RMSE 0.0093, where λ = 30 has RMSE 0.0086;
    linear +0.00013 (0.00053), RMSE 0.0075

Shrinking the quarters' deviations trades one error for the other. Each step towards the years
adds misspecification (|p rises from 0 to +0.0010) and removes finite-sample error. That error
only falls to the years' -0.0011, not to zero, because even a year's comparison events behind
a pair's period term are few. Near λ = 30 the two cancel on this design (-0.0004 (0.0006)), and
the RMSE is the lowest of the path (0.0086, against 0.0093 for the study's logit on the same 167
replications). That is a cancellation of two errors of opposite sign that happen to be of a
size here. It is not an estimator without bias, and it needs no correction only because of that
cancellation. On another design the two sizes differ, so it is not adopted. The linear
interaction-weighted estimate is still the more precise (RMSE 0.0075).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from _logit_harness import Y, cli, error_table, logit_inputs, print_table, read_rows, record
from logit_fixed_blocks import ame, fit, screened_design

LAMBDAS = (1.0, 3.0, 10.0, 30.0, 100.0)


def run(out: str, reps: Sequence[int]) -> None:
    """Each replication's AMEs over the ridge path (observed and noise-free); a row each to ``out``."""
    rows: list[dict[str, object]] = []
    for rep in reps:
        _, r, dl, covs, _, pc = logit_inputs(rep, lambda dd, fe: (dd, {}))
        y = dl[Y].to_numpy(float)
        try:
            d = screened_design(dl, [*covs, "C(pair_fy)", "C(pair_time)", "C(pair_tla)"],
                                ["C(pair_fy)"], penalised=["C(pair_time)"])
            yy, pp = y[d.complete], pc[d.complete]
            for lam in LAMBDAS:
                b = fit(d, yy, ridge=lam)
                r[f"r{lam:g}|y"] = ame(d, yy, b)
                r[f"r{lam:g}|p"] = ame(d, pp, fit(d, pp, ridge=lam))
            r["nF"] = int(d.F.sum())
        except Exception as exc:  # a failed replication is recorded, not fatal
            r["err"] = str(exc)[:80]
        record(rows, r, out)


def summary(files: Sequence[str]) -> None:
    """Error against the matched truth over the ridge path, and paired against the study's."""
    d = read_rows(files)
    cols = [f"r{lam:g}|{k}" for lam in LAMBDAS for k in ("y", "p")]
    d["study"] = d["logit_study"]
    print_table(error_table(d, [*cols, "study"], "study"))


if __name__ == "__main__":
    cli(sys.argv[1:], run, summary)
