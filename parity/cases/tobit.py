"""Parity cases: fvdid.tobit vs AER::tobit (survival::survreg, gaussian)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fvdid.tobit import tobit
from parity import Case, Quantity, Tol

__all__ = ["CASES"]


def _bound(args: Mapping[str, Any], name: str, default: float) -> float:
    # JSON has no infinity: an absent bound takes R's default, null means no censoring there.
    if name not in args:
        return default
    value = args[name]
    if value is None:
        return -np.inf if name == "left" else np.inf
    return float(value)


def _fvdid_tobit(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = tobit(
        args["formula"],
        data,
        left=_bound(args, "left", 0.0),
        right=_bound(args, "right", np.inf),
        weights=args.get("weights"),
        vcov=args.get("vcov", "model"),
        cluster=args.get("cluster"),
    )
    se = pd.concat([fit.std_errors, pd.Series({"Log(scale)": fit.log_scale_se})])
    out: dict[str, Quantity] = {
        "coef": fit.params,
        "se": se,
        "scale": fit.scale,
        "loglik": fit.loglik,
        "nobs": fit.nobs,
        "n_left": fit.n_left,
        "n_right": fit.n_right,
    }
    if fit.n_clusters is not None:
        out["n_clusters"] = fit.n_clusters
    return out


_COUNTS = Tol.exact("counts of rows and of censored rows")
_TOL = {
    "coef": Tol(
        1e-8,
        "Newton-Raphson on both sides; survreg's default rel.tolerance 1e-9 on the "
        "log-likelihood stops one step early (observed ~2e-9; with 1e-14 it agrees with "
        "fvdid's 1e-12 fit to 1e-13)",
    ),
    "se": Tol(
        1e-8,
        "inverse observed information in (beta, log sigma), including Log(scale), "
        "at estimates ~2e-9 apart",
    ),
    "scale": Tol(1e-8, "exp(log sigma) at the same estimate"),
    "loglik": Tol(1e-8, "log-likelihood (~1e3) at the same estimate"),
    "nobs": _COUNTS,
    "n_left": _COUNTS,
    "n_right": _COUNTS,
}
_TOL_ROBUST = {
    **_TOL,
    "se": Tol(
        1e-8,
        "sandwich::vcovCL from the same scores and bread, evaluated at estimates up to "
        "~1.4e-9 apart (survreg's stopping rule); observed max 2.3e-10, 1e-8 a ~40x margin",
    ),
    "n_clusters": Tol.exact("number of clusters"),
}

CASES = [
    Case(
        name="tobit_left0",
        family="tobit",
        dataset="fixtures:glm/tobit_censored.csv",
        args={"formula": "y ~ x1 + x2", "left": 0},
        fvdid=_fvdid_tobit,
        key="term",
        tolerances=_TOL,
        r_packages=("AER", "survival"),
        description="tobit left-censored at 0 (~35% censored)",
    ),
    Case(
        name="tobit_two_sided",
        family="tobit",
        dataset="fixtures:glm/tobit_censored.csv",
        args={"formula": "y2 ~ x1 + x2", "left": 0, "right": 4},
        fvdid=_fvdid_tobit,
        key="term",
        tolerances=_TOL,
        r_packages=("AER", "survival"),
        description="tobit censored at 0 and at 4 (survreg interval censoring)",
    ),
    Case(
        name="tobit_right_only",
        family="tobit",
        dataset="fixtures:glm/tobit_censored.csv",
        args={"formula": "y2 ~ x1 + x2", "left": None, "right": 4},
        fvdid=_fvdid_tobit,
        key="term",
        tolerances=_TOL,
        r_packages=("AER", "survival"),
        description="right-censoring only (left = -Inf): rows at 0 are treated as observed",
    ),
    Case(
        name="tobit_cr1_clustered",
        family="tobit",
        dataset="fixtures:robust/tobit_clustered.csv",
        args={"formula": "y ~ x1 + x2", "left": 0, "vcov": "CR1", "cluster": "g"},
        fvdid=_fvdid_tobit,
        key="term",
        tolerances=_TOL_ROBUST,
        r_packages=("AER", "survival", "sandwich"),
        description="tobit, 30 unequal clusters: sandwich::vcovCL(type = 'HC1'), Log(scale) "
        "included",
    ),
    Case(
        name="tobit_cr1_weighted",
        family="tobit",
        dataset="fixtures:robust/tobit_clustered.csv",
        args={"formula": "y ~ x1 + x2", "left": 0, "weights": "w", "vcov": "CR1", "cluster": "g"},
        fvdid=_fvdid_tobit,
        key="term",
        tolerances=_TOL_ROBUST,
        r_packages=("AER", "survival", "sandwich"),
        description="weighted tobit, clustered (R's Log(scale) score weighted, see tobit.R)",
    ),
]
