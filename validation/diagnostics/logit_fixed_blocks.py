"""Which estimated block carries the headline logit's finite-sample error? Blocks fixed in turn.

The headline's logit (:func:`fvdid.stages.logit_ame.logit_imputation_ame`) predicts each FV
child's counterfactual ``Λ(α̂_pair,period + δ̂_pair + x'γ̂)`` from the rows not under FV. Its error
splits into misspecification (the fit to the simulator's noise-free probabilities, ``|p``) and
the finite-sample error of the fit to the observed outcomes (``|ync − |p``, before any
correction). This script asks which block's estimation noise the finite-sample error comes
from: the fit to the observed outcomes is repeated with one block held at its noise-free value
(the coefficients of the same model fitted to the noise-free probabilities, the working model's
pseudo-true values), the other blocks estimated as usual:

* ``|fixd``: the treatment-LA-within-pair terms ``δ`` (``C(pair_tla)``), estimated in the study
  from the treatment LA's pre-period against its comparator;
* ``|fixa``: the pair × period terms ``α``, estimated for the post-period from the comparator's
  events alone;
* ``|fixg``: the covariates' coefficients ``γ`` (and the intercept).

A block whose fixing removes the finite-sample error (``|fix* − |p`` near 0) is where it is.
The fits are this script's own Newton iterations on the design
:func:`fvdid.estimators._formula.build_columns` makes, with the study's screening (columns
without untreated rows, 0/1 columns that separate the untreated rows: their rows left out of the
fit and their FV rows out of the AME, as the study's logit does); ``|ync`` is the study's
uncorrected logit and ``|own`` this script's free fit, which must equal it (a check).

For each replication ``r`` of the default study's design scenario (``_logit_harness``), with
pair × financial-year (``fy``, the headline's) and pair × quarter (``q``) period terms.

    PYTHONPATH=. python validation/diagnostics/logit_fixed_blocks.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_fixed_blocks.py --summary FILE.csv ...

``logit_fixed_blocks.csv`` holds replications 2-201 (code at commit 2f0e288 plus this script
before its ``penalised`` and ``ridge`` arguments were added; their defaults leave the fits as
they were; OpenBLAS on one thread). Some fits failed: 6 with year terms and 8 with quarter
terms, singular or not converged in this script's plain Newton steps; they are recorded as
``|err``. ``|own`` equals the study's ``|ync`` to 1e-9 on 179 of 199 replications (year terms)
and 160 of 198 (quarters); elsewhere the study's logit leaves out more separated rows in further
rounds. So every comparison below is between this script's own fits. Error against the matched
truth (MCSE in brackets), then each fit's error minus the noise-free fit's (paired)::

    200 replications (167 where the rule selected the logit)
                 year terms (fy)                  quarter terms (q)
    |ync         -0.00029 (0.00071) SD 0.0100     -0.00436 (0.00106) SD 0.0150
    |p           +0.00075 (0.00058)               -0.00006 (0.00016)
    |own - |p    -0.00099 (0.00048)               -0.00434 (0.00106)
    |fixd - |p   -0.00051 (0.00038)               -0.00134 (0.00050)
    |fixa - |p   -0.00014 (0.00017)               -0.00024 (0.00018)
    |fixg - |p   -0.00095 (0.00042)               -0.00373 (0.00103)

The finite-sample error is in the period terms. Held at their noise-free values, the error
drops from -0.0010 to -0.0001 with year terms, and from -0.0043 to -0.0002 with quarter
terms. Their estimation noise is also most of the AME's spread: the SD falls from 0.0150 to
0.0033. Holding the treatment-LA terms removes part of the error (a half with years, 70 % with
quarters): they are estimated against the pre-period's period terms. The covariates' noise
contributes none. So the thin comparison cells behind the period terms push the counterfactual
up. The more cells the time is cut into, the more they push: 0.0010 with years, 0.0043 with
quarters. A remedy must estimate the period terms from more events. That means thicker cells
(which misspecify: the years' |p is +0.00075), shrinkage (``logit_ridge_quarters.py``), or
more comparison LAs per pair; a correction of the treatment-LA or covariate terms alone would
not do it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from _logit_harness import Y, cli, error_table, logit_inputs, print_table, read_rows, record
from scipy.special import expit

PERIODS = {"fy": ["C(pair_fy)"], "q": ["C(pair_time)"]}


@dataclass(frozen=True)
class Design:
    """The screened design of the counterfactual logit: columns, rows and blocks."""

    X: np.ndarray  # active columns, every row
    U: np.ndarray  # rows fitted (untreated, positive weight, not separated)
    F: np.ndarray  # FV rows in the AME
    w: np.ndarray
    block: np.ndarray  # per active column: "d" (treatment LA), "a" (period), "g" (the rest)
    complete: np.ndarray  # rows of the data in the design (no missing value in its terms)


def screened_design(data: pd.DataFrame, rhs: Sequence[str], periods: Sequence[str],
                    penalised: Sequence[str] = ()) -> Design:
    """The study's screening of the counterfactual model's columns and rows (one pass).

    Columns of the ``penalised`` terms (block ``"r"``) are kept whole, dependent or not: a ridge
    penalty on them (:func:`fit`'s ``ridge``) makes the model identified.
    """
    from fvdid.estimators._formula import build_columns, parse_formula
    from fvdid.stages.logit_ame import _dependent_columns, _separating_columns

    parsed = parse_formula(f"{Y} ~ {' + '.join(rhs)}")
    cols = list(dict.fromkeys([*parsed.columns, "fv", "weight"]))
    complete = data[cols].notna().all(axis=1).to_numpy()
    frame = data.loc[complete, cols]
    X, names, _ = build_columns(parsed, frame)
    X = np.asarray(X, dtype=float)
    y = frame[Y].to_numpy(float)
    w = frame["weight"].to_numpy(float)
    fv = frame["fv"].to_numpy() == 1
    U = ~fv & (w > 0)
    fe = [*periods, "C(pair_tla)"]
    protected = np.array([n == "(Intercept)" or any(n.startswith(f"{t}[") for t in fe) for n in names])
    active = (X[U] != 0).any(axis=0)
    if ((y == 0) | (y == 1)).all():
        sep = _separating_columns(X[U], y[U], active)
        U &= ~(X[:, sep] != 0).any(axis=1)
        active &= ~sep
    active &= (X[U] != 0).any(axis=0)
    pen = np.array([any(n.startswith(f"{t}[") for t in penalised) for n in names], dtype=bool)
    active &= ~(_dependent_columns(X[U], active & ~pen, protected) & ~pen)
    F = fv & (w > 0) & ~(X[:, ~active] != 0).any(axis=1)
    blk = np.array(["r" if p_ else "d" if n.startswith("C(pair_tla)[") else
                    "a" if any(n.startswith(f"{t}[") for t in periods) else "g" for n, p_ in zip(names, pen, strict=True)])
    return Design(X[:, active], U, F, w, blk[active], complete)


def fit(d: Design, y: np.ndarray, fixed: np.ndarray | None = None,
        at: np.ndarray | None = None, max_iter: int = 100, ridge: float = 0.0) -> np.ndarray:
    """Weighted logit on ``d.U`` by Newton from ``at`` (or 0); columns ``fixed`` held at ``at``;
    ``ridge``: the penalty ``½ ridge Σ β_j²`` over the block ``"r"`` columns."""
    X, yU, wU = d.X[d.U], y[d.U], d.w[d.U]
    free = np.ones(X.shape[1], bool) if fixed is None else ~fixed
    beta = np.zeros(X.shape[1]) if at is None else at.copy()  # free ones start there too
    off = X[:, ~free] @ beta[~free]
    Xf = X[:, free]
    b = beta[free]
    lam = ridge * (d.block[free] == "r")
    for _ in range(max_iter):
        p = expit(off + Xf @ b)
        step = np.linalg.solve((Xf * (wU * p * (1 - p))[:, None]).T @ Xf + np.diag(lam),
                               Xf.T @ (wU * (yU - p)) - lam * b)
        b = b + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        raise RuntimeError(f"logit did not converge in {max_iter} iterations")
    beta[free] = b
    return beta


def ame(d: Design, y: np.ndarray, beta: np.ndarray) -> float:
    """``ȳ_F − p̄0_F`` (CEM-weighted) at ``beta``."""
    wF = d.w[d.F]
    return float(wF @ y[d.F] / wF.sum() - wF @ expit(d.X[d.F] @ beta) / wF.sum())


def run(out: str, reps: Sequence[int]) -> None:
    """Each replication's AMEs with each block fixed at its noise-free value; a row each to ``out``."""
    from fvdid.stages.logit_ame import logit_imputation_ame

    rows: list[dict[str, object]] = []
    for rep in reps:
        p, r, dl, covs, _, pc = logit_inputs(rep, lambda dd, fe: (dd, PERIODS))
        y = dl[Y].to_numpy(float)
        for name, per in PERIODS.items():
            terms = [*covs, *per, "C(pair_tla)"]
            try:
                r[f"{name}|ync"] = logit_imputation_ame(dl, Y, terms, n_clusters=p.n_clusters,
                                                        fixed_effects=[*per, "C(pair_tla)"],
                                                        bias_correction=False).ame
                d = screened_design(dl, terms, per)
                yy, pp = y[d.complete], pc[d.complete]
                b_p = fit(d, pp)
                r[f"{name}|p"] = ame(d, pp, b_p)
                r[f"{name}|own"] = ame(d, yy, fit(d, yy))
                for k in ("d", "a", "g"):
                    r[f"{name}|fix{k}"] = ame(d, yy, fit(d, yy, d.block == k, b_p))
                r[f"{name}|nF"] = int(d.F.sum())
            except Exception as exc:  # a failed variant is recorded, not fatal
                r[f"{name}|err"] = str(exc)[:80]
        record(rows, r, out)


def summary(files: Sequence[str]) -> None:
    """Errors against the matched truth, and each variant's difference from the noise-free fit."""
    d = read_rows(files)
    for name in PERIODS:
        cols = [f"{name}|{k}" for k in ("ync", "own", "p", "fixd", "fixa", "fixg")]
        t = error_table(d, cols, f"{name}|p")
        print_table(t)


if __name__ == "__main__":
    cli(sys.argv[1:], run, summary)
