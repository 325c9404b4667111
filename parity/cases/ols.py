"""Parity cases of fvdid.ols against stats::lm + sandwich + clubSandwich (r_reference/ols.R)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.ols import ols
from parity import Case, Quantity, Tol

PANEL = "fixtures:regression/panel_twfe.csv"
CHILDREN = "fixtures:regression/la_children.csv"


def _fvdid_ols(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = ols(
        args["formula"],
        data,
        weights=args.get("weights"),
        vcov=args["vcov"],
        cluster=args.get("cluster"),
    )
    return {
        "coef": fit.params,
        "se": fit.std_errors,
        "df": fit.df,
        "pvalue": fit.pvalues,
        "nobs": fit.nobs,
        "n_dropped": fit.n_dropped,
    }


_CLOSED = "closed form (QR least squares, within transformation); only floating-point summation order differs"
_SANDWICH = "closed-form sandwich; only floating-point summation order differs"
_COUNTS = "row counts are integers"


def _tols(vcov: str) -> dict[str, Tol]:
    se_tol = {
        "iid": Tol(1e-10, "sigma^2 (X'WX)^-1: " + _CLOSED),
        "HC1": Tol(1e-10, "HC1 " + _SANDWICH),
        "CR1": Tol(1e-10, "CR1 " + _SANDWICH),
        "CR2": Tol(
            1e-9,
            "CR2: (I-H)_jj^(-1/2) by eigendecomposition per cluster (R: dense eigen on the dummy "
            "model, fvdid: FWL blocks); eigen-solver rounding on top of the sandwich",
        ),
    }[vcov]
    df_tol = (
        Tol(1e-8, "Satterthwaite df: ratio of traces of products of the CR2 adjustment matrices; "
            "eigen-solver rounding amplified by the ratio")
        if vcov == "CR2"
        else Tol.exact("integer df (n-k or G-1)")
    )
    return {
        "coef": Tol(1e-10, _CLOSED),
        "se": se_tol,
        "df": df_tol,
        "pvalue": Tol(1e-9, "t tail probability of the statistics above (same df)"),
        "nobs": Tol.exact(_COUNTS),
        "n_dropped": Tol.exact(_COUNTS),
    }


def _case(name: str, dataset: str, description: str, **args: Any) -> Case:
    pk: tuple[str, ...] = ("sandwich",) if args["vcov"] in ("HC1", "CR1") else ("stats",)
    if args["vcov"] == "CR2":
        pk = ("clubSandwich",)
    return Case(
        name=name,
        family="ols",
        dataset=dataset,
        args=args,
        fvdid=_fvdid_ols,
        key="term",
        tolerances=_tols(args["vcov"]),
        r_packages=pk,
        description=description,
    )


TWFE = "y ~ treat + x1 + x2 | unit + time"
KIDS = "y ~ fv + age + female | la + year"

CASES = [
    _case(
        "ols_iid_nofe",
        PANEL,
        "lm without FE: C() dummies, interaction, intercept; rows with missing x2 dropped",
        formula="y ~ treat + x1 + x2 + C(cat) + x1:x2",
        vcov="iid",
    ),
    _case("ols_iid_twfe", PANEL, "two-way FE (unbalanced), iid", formula=TWFE, vcov="iid"),
    _case(
        "ols_iid_twfe_w", PANEL, "two-way FE, analytic weights, iid", formula=TWFE, vcov="iid",
        weights="w",
    ),
    _case("ols_hc1_twfe", PANEL, "two-way FE, HC1", formula=TWFE, vcov="HC1"),
    _case(
        "ols_hc1_twfe_w", PANEL, "two-way FE, weights, HC1", formula=TWFE + "", vcov="HC1",
        weights="w",
    ),
    _case(
        "ols_cr1_twfe", PANEL, "two-way FE, CR1 by unit (k counts the FE dummies)",
        formula=TWFE, vcov="CR1", cluster="unit",
    ),
    _case(
        "ols_cr1_twfe_w", PANEL, "two-way FE, weights, CR1 by unit", formula=TWFE, vcov="CR1",
        cluster="unit", weights="w",
    ),
    _case(
        "ols_cr1_few_w", CHILDREN, "G = 6 LAs, LA + year FE, CEM-like weights, CR1",
        formula=KIDS, vcov="CR1", cluster="la", weights="w",
    ),
    _case(
        "ols_cr1_singletons", CHILDREN, "three FE incl. singleton school levels (kept), CR1",
        formula="y ~ fv + age | la + year + school", vcov="CR1", cluster="la",
    ),
    _case(
        "ols_cr2_nofe", PANEL, "no FE, C() dummies, CR2 by region (G = 6)",
        formula="y ~ treat + x1 + C(cat)", vcov="CR2", cluster="region",
    ),
    _case(
        "ols_cr2_twfe", PANEL, "two-way FE, CR2 by unit (Satterthwaite df)", formula=TWFE,
        vcov="CR2", cluster="unit",
    ),
    _case(
        "ols_cr2_twfe_w", PANEL, "two-way FE, weights, CR2 by unit", formula=TWFE, vcov="CR2",
        cluster="unit", weights="w",
    ),
    _case(
        "ols_cr2_region_w", PANEL, "two-way FE, weights, CR2 by region (G = 6, units nested)",
        formula=TWFE, vcov="CR2", cluster="region", weights="w",
    ),
    _case(
        "ols_cr2_few", CHILDREN, "G = 6 LAs, LA + year FE, CR2", formula=KIDS, vcov="CR2",
        cluster="la",
    ),
    _case(
        "ols_cr2_few_w", CHILDREN, "G = 6 LAs, LA + year FE, weights, CR2", formula=KIDS,
        vcov="CR2", cluster="la", weights="w",
    ),
    _case(
        "ols_cr2_singletons_w", CHILDREN,
        "three FE incl. singleton school levels, weights, CR2 (h_ii = 1 rows)",
        formula="y ~ fv + age | la + year + school", vcov="CR2", cluster="la", weights="w",
    ),
    _case(
        "ols_hc1_fe_only", CHILDREN, "intercept-only model with one absorbed FE (k = 0 + FE)",
        formula="y ~ age | la", vcov="HC1",
    ),
]
