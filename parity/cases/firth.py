"""Parity cases: fvdid's Firth logit (fvdid.estimators.logit_firth) vs brglm2::brglmFit (AS_mean)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from fvdid.estimators._formula import build_columns, parse_formula
from fvdid.estimators.logit_firth import fit_firth_logit
from parity import Case, Quantity, Tol

__all__ = ["CASES"]


def _fvdid_firth(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    parsed = parse_formula(args["formula"])
    X, names, _ = build_columns(parsed, data)
    X = np.asarray(X, dtype=float)
    y = data[parsed.response].to_numpy(dtype=float)
    w = data[args["weights"]].to_numpy(dtype=float) if args.get("weights") else np.ones(len(y))
    beta, converged, n_iter = fit_firth_logit(X, y, w)
    if not converged:
        raise RuntimeError(f"fit_firth_logit did not converge in {n_iter} iterations")
    p = expit(X @ beta)
    return {
        "coef": pd.Series(beta, index=names),
        "fitted_mean": float(np.average(p, weights=w)),
        "nobs": len(y),
    }


_TOL = {
    "coef": Tol(
        1e-9,
        "both sides iterate the same adjusted score to a root (brglm2 epsilon 1e-12 on the "
        "scores, fvdid steps below 1e-10 relative); measured 1.7e-11 at most, in the flattest "
        "direction (the cell without events)",
    ),
    "fitted_mean": Tol(1e-11, "weighted mean of the fitted probabilities at the same estimate "
                       "(measured 1.7e-13)"),
    "nobs": Tol.exact("row counts: the whole data set on both sides"),
}

CASES = [
    Case(
        name="firth_sparse",
        family="firth",
        dataset="fixtures:glm/firth_sparse.csv",
        args={"formula": "y ~ x1 + x2 + C(cell)"},
        fvdid=_fvdid_firth,
        key="term",
        tolerances=_TOL,
        r_packages=("brglm2",),
        description="Firth logit, 6 % events, a cell without events (no MLE), unit weights",
    ),
    Case(
        name="firth_sparse_weights",
        family="firth",
        dataset="fixtures:glm/firth_sparse.csv",
        args={"formula": "y ~ x1 + x2 + C(cell)", "weights": "w"},
        fvdid=_fvdid_firth,
        key="term",
        tolerances=_TOL,
        r_packages=("brglm2",),
        description="as firth_sparse with non-integer case weights (brglm2's prior weights)",
    ),
]
