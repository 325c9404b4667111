"""Is the headline logit's residual bias the link's curvature? The same imputation with a log link.

The headline's logit (:func:`fvdid.stages.logit_ame.logit_imputation_ame`) predicts each FV
child's counterfactual as ``Λ(α̂_pair,period + δ̂_pair + x'γ̂)`` from the rows not under FV. The
period terms of the post-period rest on the comparison LA's events alone (a few dozen per
pair × year, a handful per pair × quarter), and ``Λ`` of a noisy sum is biased: the second-order
(Cox–Snell) correction removes the O(1/m) part and, on the study's replications, over-shoots.
With a log link the same imputation is nearly free of that bias by construction: the Poisson
quasi-likelihood's score for a period dummy sets ``exp(α̂)`` to a ratio of sums over the cell's
comparison rows, so the prediction ``exp(α̂ + δ̂ + x'γ̂)`` is a product of near-unbiased factors
from disjoint rows (Wooldridge 1999: the Poisson fixed-effects estimator has no incidental
parameter problem). At a 3 % baseline the log and logit links differ little in shape, so if the
log link's error is near zero with the same period terms, the logit's residual error is its
curvature in thin cells; if not, it is elsewhere (the design, the estimand).

For each replication ``r`` of the default study's design scenario (``_logit_harness``: the same
simulated extract as the study's, analysed as in the study, refitted on the first imputation),
with pair × financial-year (``fy``, the headline's) and pair × quarter (``q``) period terms:

* ``|y``: the headline logit with its second-order correction; ``|ync``: without it;
* ``|pois``: the log-link imputation (weighted Poisson quasi-likelihood on the rows not under
  FV, the same terms, the CEM weights; predictions capped at 1), uncorrected;
* ``|p``, ``|poisp``: both fitted to the simulator's noise-free probabilities (misspecification
  alone).

The log link is a diagnostic here, not an option of the analysis: the protocol's rule
(footnote 21) selects the logit.

    PYTHONPATH=. python validation/diagnostics/loglink_imputation.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/loglink_imputation.py --summary FILE.csv ...

``loglink_imputation.csv`` holds replications 2-201 (code at commit 2f0e288 plus this script,
OpenBLAS on one thread as the study's workers; the Poisson fit did not converge on replication
193 (both period terms) and 47 (quarters), recorded as ``|err``). Error against the matched
truth (MCSE in brackets, SD across replications)::

    200 replications (167 where the rule selected the logit)
    fy|y    +0.00114 (0.00067) SD 0.0095    (the study's: second-order correction)
    fy|ync  -0.00029 (0.00071) SD 0.0100    fy|pois -0.00014 (0.00071) SD 0.0100
    fy|p    +0.00076 (0.00057)              fy|poisp +0.00080 (0.00059)
    q|ync   -0.00436 (0.00106) SD 0.0150    q|pois  -0.00519 (0.00143) SD 0.0201
    q|p     -0.00005 (0.00017)              q|poisp +0.00004 (0.00017)
    linear  +0.00013 (0.00053) SD 0.0076
    paired: fy|pois - fy|ync -0.00002 (0.00006); q|pois - q|ync -0.00083 (0.00045)

The log link carries the same finite-sample error as the uncorrected logit: with year terms the
two differ by -0.00002 (0.00006), and with quarter terms (specified correctly on the noise-free
probabilities, -0.00005 (0.00017)) both put the counterfactual too high, by 0.0044 and 0.0052.
So that error is not the logit's curvature. A log link's fixed-effect predictions are ratios of
sums, and they carry it too. The error grows as the period cells get thinner, and it is
negative (the counterfactual too high), the direction the second-order correction works in.
The correction's +0.00144 (0.00013) with year terms is larger than the year model's
finite-sample error (fy|ync - fy|p, -0.00105), so the corrected estimate ends on the other side.
`logit_fixed_blocks.py` asks which estimated block the error comes from.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
from _logit_harness import (
    Y,
    cli,
    error_table,
    fractional_outcome,
    logit_inputs,
    print_table,
    read_rows,
    record,
)

PERIODS = {"fy": ["C(pair_fy)"], "q": ["C(pair_time)"]}


def poisson_imputation_ame(data: pd.DataFrame, outcome: str, rhs: Sequence[str],
                           fixed_effects: Sequence[str], *, treatment: str = "fv",
                           weights: str = "weight", max_iter: int = 100) -> tuple[float, int]:
    """AME among FV children, ``ȳ_F − mean min(exp(x_F'β̂), 1)``, β̂ the weighted Poisson
    quasi-MLE of ``outcome ~ rhs`` on the rows not under FV (and with positive weight).

    A 0/1 column whose untreated rows hold no event has ``α̂ = −∞``: its rows are left out of
    the fit and its FV rows out of the AME, as the logit leaves out the rows such a column
    separates and the FV rows whose counterfactual needs it. Returns ``(ame, number of FV rows
    left out)``.
    """
    from fvdid.estimators._formula import build_columns, parse_formula
    from fvdid.stages.logit_ame import _dependent_columns

    parsed = parse_formula(f"{outcome} ~ {' + '.join(rhs)}")
    cols = list(dict.fromkeys([*parsed.columns, treatment, weights]))
    frame = data.loc[data[cols].notna().all(axis=1), cols]
    X, names, _ = build_columns(parsed, frame)
    X = np.asarray(X, dtype=float)
    y = frame[outcome].to_numpy(float)
    w = frame[weights].to_numpy(float)
    fv = frame[treatment].to_numpy() == 1
    U, F = ~fv & (w > 0), fv & (w > 0)
    protected = np.array([n == "(Intercept)" or any(n.startswith(f"{t}[") for t in fixed_effects)
                          for n in names])
    active = (X[U] != 0).any(axis=0)
    binary = ((X == 0) | (X == 1)).all(axis=0) & (X == 0).any(axis=0)
    no_event = active & binary & ((X[U] * y[U, None]).sum(axis=0) == 0)
    zero_rows = (X[:, no_event] != 0).any(axis=1)  # their α̂ = −∞
    active &= ~no_event
    fit_rows = U & ~zero_rows
    active &= (X[fit_rows] != 0).any(axis=0)
    active &= ~_dependent_columns(X[fit_rows], active, protected)
    XU, yU, wU = X[fit_rows][:, active], y[fit_rows], w[fit_rows]
    beta = np.zeros(XU.shape[1])
    j0 = names.index("(Intercept)") if "(Intercept)" in names else None
    if j0 is not None and active[j0]:
        beta[int(np.flatnonzero(np.flatnonzero(active) == j0)[0])] = np.log(np.average(yU, weights=wU))
    for _ in range(max_iter):
        mu = np.exp(XU @ beta)
        grad = XU.T @ (wU * (yU - mu))
        H = (XU * (wU * mu)[:, None]).T @ XU
        step = np.linalg.solve(H, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        raise RuntimeError(f"Poisson quasi-MLE did not converge in {max_iter} iterations")
    n_left_out = int((F & zero_rows).sum())
    F &= ~zero_rows
    mu0 = np.minimum(np.exp(X[F][:, active] @ beta), 1.0)
    wF = w[F]
    return float(wF @ y[F] / wF.sum() - wF @ mu0 / wF.sum()), n_left_out


def run(out: str, reps: Sequence[int]) -> None:
    """Each replication's logit and log-link AMEs (observed and noise-free); a row each to ``out``."""
    from fvdid.stages.logit_ame import logit_imputation_ame

    rows: list[dict[str, object]] = []
    for rep in reps:
        p, r, dl, covs, _, pc = logit_inputs(rep, lambda d, fe: (d, PERIODS))
        for name, per in PERIODS.items():
            terms = [*covs, *per, "C(pair_tla)"]
            fe = [*per, "C(pair_tla)"]
            for kind, corr in (("y", True), ("ync", False)):
                try:
                    r[f"{name}|{kind}"] = logit_imputation_ame(dl, Y, terms, n_clusters=p.n_clusters,
                                                               fixed_effects=fe,
                                                               bias_correction=corr).ame
                except Exception as exc:  # a failed variant is recorded, not fatal
                    r[f"{name}|{kind}"], r[f"{name}|{kind}|err"] = np.nan, str(exc)[:80]
            d_p = dl.assign(**{Y: pc})
            try:
                with fractional_outcome():
                    r[f"{name}|p"] = logit_imputation_ame(d_p, Y, terms, n_clusters=p.n_clusters,
                                                          fixed_effects=fe, bias_correction=False).ame
            except Exception as exc:
                r[f"{name}|p"], r[f"{name}|p|err"] = np.nan, str(exc)[:80]
            for kind, d in (("pois", dl), ("poisp", d_p)):
                try:
                    r[f"{name}|{kind}"], r[f"{name}|{kind}|unid"] = poisson_imputation_ame(d, Y, terms, fe)
                except Exception as exc:
                    r[f"{name}|{kind}"], r[f"{name}|{kind}|err"] = np.nan, str(exc)[:80]
        record(rows, r, out)


def summary(files: Sequence[str]) -> None:
    """Error against the matched truth of every variant, and paired differences from ``fy|y``."""
    d = read_rows(files)
    cols = [c for c in d.columns if c.endswith(("|y", "|ync", "|p", "|pois", "|poisp"))]
    print_table(error_table(d, cols, "fy|y"))
    for name in PERIODS:
        t = error_table(d, [f"{name}|pois", f"{name}|ync"], f"{name}|ync")
        print_table(t[t["estimate"].str.contains(" - ")])


if __name__ == "__main__":
    cli(sys.argv[1:], run, summary)
