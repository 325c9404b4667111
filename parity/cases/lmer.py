"""Parity cases: fvdid.lmer vs lme4::lmer (random intercept)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.lmer import lmer
from parity import Case, Quantity, Tol

__all__ = ["CASES"]


def _fvdid_lmer(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = lmer(
        args["formula"],
        data,
        group=args["group"],
        reml=args.get("reml", True),
        vcov=args.get("vcov", "model"),
        cluster=args.get("cluster"),
    )
    out: dict[str, Quantity] = {
        "coef": fit.params,
        "se": fit.std_errors,
        "varcomp": {args["group"]: fit.group_var, "Residual": fit.sigma2},
        "theta": fit.theta,
        "criterion": fit.criterion,
        "nobs": fit.nobs,
        "ngroups": fit.n_groups,
    }
    if fit.n_clusters is not None:
        out["n_clusters"] = fit.n_clusters
    return out


_COUNTS = Tol.exact("rows and groups used")
# lme4 minimises the profiled deviance over theta with a derivative-free optimiser (nloptwrap /
# BOBYQA), which locates a flat minimum from function values only to ~1e-8 in theta; fvdid
# polishes Brent's minimum by root-finding on the analytic derivative (theta to ~1e-12).
_TOL = {
    "coef": Tol(
        1e-8,
        "GLS given theta; theta differs by ~1e-8 (lme4's derivative-free "
        "stopping), which moves the fixed effects by ~1e-10",
    ),
    "se": Tol(1e-8, "sigma2 (X'V^-1 X)^-1 given theta; ~1e-9 from the theta difference"),
    "varcomp": Tol(
        1e-7,
        "variances are first-order in theta: lme4's theta is ~1e-8 off the exact "
        "minimum (BOBYQA on function values), observed differences ~3e-8",
    ),
    "theta": Tol(
        1e-7,
        "lme4 stops BOBYQA on function values; observed ~1e-8 from the root of "
        "the analytic derivative",
    ),
    "criterion": Tol(
        1e-9, "the deviance is flat at its minimum: a theta difference of 1e-8 changes it by ~1e-14"
    ),
    "nobs": _COUNTS,
    "ngroups": _COUNTS,
}
_ROBUST = {
    **_TOL,
    "se": Tol(
        1e-8,
        "closed-form GLS sandwich given theta; theta ~2e-8 apart (lme4's BOBYQA stop) moves "
        "it by observed max 1.8e-10, 1e-8 a ~50x margin",
    ),
    "n_clusters": _COUNTS,
}

CASES = [
    Case(
        name="lmer_balanced_reml",
        family="lmer",
        dataset="fixtures:glm/lmer_balanced.csv",
        args={"formula": "y ~ x1 + x2", "group": "group"},
        fvdid=_fvdid_lmer,
        key="term",
        tolerances=_TOL,
        r_packages=("lme4",),
        description="30 groups of 8, REML",
    ),
    Case(
        name="lmer_unbalanced_reml",
        family="lmer",
        dataset="fixtures:glm/lmer_unbalanced.csv",
        args={"formula": "y ~ x1 + z", "group": "group"},
        fvdid=_fvdid_lmer,
        key="term",
        tolerances=_TOL,
        r_packages=("lme4",),
        description="45 groups of 1-25 rows (string labels), group-level covariate, 5 NA rows",
    ),
    Case(
        name="lmer_unbalanced_ml",
        family="lmer",
        dataset="fixtures:glm/lmer_unbalanced.csv",
        args={"formula": "y ~ x1 + z", "group": "group", "reml": False},
        fvdid=_fvdid_lmer,
        key="term",
        tolerances=_TOL,
        r_packages=("lme4",),
        description="as lmer_unbalanced_reml by maximum likelihood (REML = FALSE)",
    ),
    Case(
        name="lmer_cr1_region",
        family="lmer",
        dataset="fixtures:robust/lmer_nested.csv",
        args={"formula": "y ~ x1 + z", "group": "school", "vcov": "CR1", "cluster": "region"},
        fvdid=_fvdid_lmer,
        key="term",
        tolerances=_ROBUST,
        r_packages=("lme4", "clubSandwich"),
        description="schools nested in 12 regions, clustered by region: clubSandwich::vcovCR CR1",
    ),
    Case(
        name="lmer_cr0_group",
        family="lmer",
        dataset="fixtures:robust/lmer_nested.csv",
        args={"formula": "y ~ x1 + z", "group": "school", "vcov": "CR0"},
        fvdid=_fvdid_lmer,
        key="term",
        tolerances=_ROBUST,
        r_packages=("lme4", "clubSandwich"),
        description="clustered by the random-intercept group (clubSandwich's default), CR0",
    ),
]
