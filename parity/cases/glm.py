"""Parity cases: fvdid.logit vs stats::glm + sandwich; fvdid.clogit vs survival::clogit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.clogit import clogit
from fvdid.logit import logit
from parity import Case, Quantity, Tol

__all__ = ["CASES"]


def _fvdid_logit(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = logit(
        args["formula"],
        data,
        weights=args.get("weights"),
        vcov=args["vcov"],
        cluster=args.get("cluster"),
    )
    return {
        "coef": fit.params,
        "se": fit.std_errors,
        "deviance": fit.deviance,
        "nobs": fit.nobs,
        "n_dropped": fit.n_dropped,
    }


def _fvdid_clogit(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = clogit(args["formula"], data, strata=args["strata"], method=args.get("method", "exact"))
    return {
        "coef": fit.params,
        "se": fit.std_errors,
        "loglik": fit.loglik,
        "nobs": fit.nobs,
        "nevent": fit.n_events,
    }


_COUNTS = Tol.exact("row counts after dropping incomplete rows")

# glm stops when the deviance changes by less than epsilon (relative); the deviance is flat at the
# optimum, so R's default 1e-8 stops one IRLS step early: coefficients still agree to ~1e-12, but
# vcov() and sandwich use the working weights of R's last iteration, ~1e-7 away from those at the
# estimate. The tight cases run glm with epsilon = 1e-14 (fvdid iterates to 1e-12 and a step below
# 1e-12), so both sides sit at the same optimum.
_TIGHT = {
    "coef": Tol(
        1e-9,
        "Newton/IRLS converged on both sides (R epsilon 1e-14, fvdid 1e-12); "
        "1e-9 covers the last step's size and summation order",
    ),
    "se": Tol(1e-9, "information / sandwich evaluated at the same converged estimate"),
    "deviance": Tol(1e-8, "deviance at the converged estimate; a sum of ~600 terms of size ~1"),
    "nobs": _COUNTS,
    "n_dropped": _COUNTS,
}

_CLOGIT = {
    "coef": Tol(
        1e-8,
        "Newton-Raphson on both sides (coxph eps 1e-9 on the log-likelihood, "
        "fvdid 1e-12); quadratic convergence leaves the coefficients ~1e-12 apart",
    ),
    "se": Tol(1e-8, "inverse observed information at the same estimate"),
    "loglik": Tol(1e-8, "log-likelihood at the estimate (~1e3), summation order differs"),
    "nobs": _COUNTS,
    "nevent": _COUNTS,
}

CASES = [
    Case(
        name="logit_iid_fe",
        family="glm",
        dataset="fixtures:glm/logit_panel.csv",
        args={"model": "logit", "formula": "y ~ x1 + x2 + C(la)", "vcov": "iid", "epsilon": 1e-14},
        fvdid=_fvdid_logit,
        key="term",
        tolerances=_TIGHT,
        r_packages=("sandwich",),
        description="logit with 8 fixed-effect dummies, model-based vcov; 7 rows with NA dropped",
    ),
    Case(
        name="logit_iid_rdefault",
        family="glm",
        dataset="fixtures:glm/logit_panel.csv",
        args={"model": "logit", "formula": "y ~ x1 + x2 + C(la)", "vcov": "iid"},
        fvdid=_fvdid_logit,
        key="term",
        tolerances={
            **_TIGHT,
            "coef": Tol(
                1e-9,
                "R's default epsilon 1e-8 still leaves coefficients ~1e-12 apart "
                "(IRLS converges quadratically)",
            ),
            "se": Tol(
                1e-6,
                "R's default epsilon 1e-8 stops one IRLS step early and vcov() uses "
                "that step's working weights: SEs ~1e-7 from the converged information",
            ),
        },
        r_packages=("sandwich",),
        description="as logit_iid_fe with glm's default convergence tolerance",
    ),
    Case(
        name="logit_hc1_weights",
        family="glm",
        dataset="fixtures:glm/logit_panel.csv",
        args={
            "model": "logit",
            "formula": "y ~ x1 + x2 + C(la)",
            "vcov": "HC1",
            "weights": "w",
            "epsilon": 1e-14,
        },
        fvdid=_fvdid_logit,
        key="term",
        tolerances=_TIGHT,
        r_packages=("sandwich",),
        description="weighted logit (non-integer prior weights), sandwich::vcovHC HC1",
    ),
    Case(
        name="logit_cr1_g6_weights",
        family="glm",
        dataset="fixtures:glm/logit_panel.csv",
        args={
            "model": "logit",
            "formula": "y ~ x1 + x2 + C(la)",
            "vcov": "CR1",
            "cluster": "g",
            "weights": "w",
            "epsilon": 1e-14,
        },
        fvdid=_fvdid_logit,
        key="term",
        tolerances=_TIGHT,
        r_packages=("sandwich",),
        description="weighted logit, 6 clusters, sandwich::vcovCL type HC1 (G/(G-1)(n-1)/(n-k))",
    ),
    Case(
        name="clogit_exact",
        family="glm",
        dataset="fixtures:glm/clogit_strata.csv",
        args={"model": "clogit", "formula": "y ~ x1 + x2 + C(k)", "strata": "stratum"},
        fvdid=_fvdid_clogit,
        key="term",
        tolerances=_CLOGIT,
        r_packages=("survival",),
        description="exact conditional logit: 1:1 pairs, 1:4 sets, strata of 10-60 rows with "
        "several cases, 6 uninformative strata",
    ),
    Case(
        name="clogit_efron",
        family="glm",
        dataset="fixtures:glm/clogit_strata.csv",
        args={
            "model": "clogit",
            "formula": "y ~ x1 + x2 + C(k)",
            "strata": "stratum",
            "method": "efron",
        },
        fvdid=_fvdid_clogit,
        key="term",
        tolerances=_CLOGIT,
        r_packages=("survival",),
        description="clogit with Efron's approximation for tied rows",
    ),
    Case(
        name="clogit_breslow",
        family="glm",
        dataset="fixtures:glm/clogit_strata.csv",
        args={
            "model": "clogit",
            "formula": "y ~ x1 + x2 + C(k)",
            "strata": "stratum",
            "method": "breslow",
        },
        fvdid=_fvdid_clogit,
        key="term",
        tolerances=_CLOGIT,
        r_packages=("survival",),
        description="clogit with Breslow's approximation (R: method = 'approximate'/'breslow')",
    ),
]
