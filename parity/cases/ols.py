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
        cluster=tuple(c) if isinstance(c := args.get("cluster"), list) else c,
        multi0=args.get("multi0", False),
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
        "HC0": Tol(1e-10, "HC0 " + _SANDWICH),
        "HC1": Tol(1e-10, "HC1 " + _SANDWICH),
        "HC2": Tol(1e-10, "HC2: leverages of the dummy model by FWL; " + _SANDWICH),
        "HC3": Tol(1e-10, "HC3: leverages of the dummy model by FWL; " + _SANDWICH),
        "CR0": Tol(1e-10, "CR0 " + _SANDWICH),
        "CR1": Tol(1e-10, "CR1 " + _SANDWICH),
        "CR1S": Tol(1e-10, "CR1S " + _SANDWICH),
        "CR3": Tol(
            1e-10, "CR3: (I - H_jj)^-1 by a linear solve per cluster (R: solve() on the dummy "
            "model's blocks); " + _SANDWICH,
        ),
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
    sandwich_types = ("HC0", "HC1", "HC2", "HC3", "CR1")
    pk: tuple[str, ...] = ("sandwich",) if args["vcov"] in sandwich_types else ("stats",)
    if isinstance(args.get("cluster"), list):
        pk = ("sandwich",)
    elif args["vcov"] in ("CR0", "CR1S", "CR2", "CR3"):
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
    # issue 15: the sandwich / clubSandwich variance types and multi-way clustering
    _case("ols_hc0_twfe", PANEL, "two-way FE, HC0 (vcovHC)", formula=TWFE, vcov="HC0"),
    _case(
        "ols_hc2_twfe_w", PANEL, "two-way FE, weights, HC2 (leverages of the dummy lm)",
        formula=TWFE, vcov="HC2", weights="w",
    ),
    _case("ols_hc3_twfe", PANEL, "two-way FE, HC3", formula=TWFE, vcov="HC3"),
    _case(
        "ols_hc3_onefe", CHILDREN, "one absorbed FE (closed-form P_D), HC3",
        formula="y ~ fv + age | la", vcov="HC3",
    ),
    _case(
        "ols_hc2_nofe", PANEL, "no FE, C() dummies, HC2", formula="y ~ treat + x1 + C(cat)",
        vcov="HC2",
    ),
    _case(
        "ols_cr0_twfe", PANEL, "two-way FE, clubSandwich CR0 by unit", formula=TWFE,
        vcov="CR0", cluster="unit",
    ),
    _case(
        "ols_cr1s_twfe_w", PANEL, "two-way FE, weights, clubSandwich CR1S by unit (= sandwich "
        "HC1 = fvdid CR1)", formula=TWFE, vcov="CR1S", cluster="unit", weights="w",
    ),
    _case(
        "ols_cr3_twfe", PANEL, "time FE, clubSandwich CR3 by unit (a unit FE nested in the "
        "clusters makes I - H_jj singular: CR3 undefined, in R too)",
        formula="y ~ treat + x1 + x2 | time", vcov="CR3", cluster="unit",
    ),
    _case(
        "ols_cr3_few_w", CHILDREN, "G = 6 LAs, year FE, weights, clubSandwich CR3 (with LA FE "
        "nested in the clusters I - H_jj is singular and CR3 undefined, in R too)",
        formula="y ~ fv + age + female | year", vcov="CR3", cluster="la", weights="w",
    ),
    _case(
        "ols_cr1_2way", PANEL, "two-way FE, two-way clustering unit + time (vcovCL ~unit+time)",
        formula=TWFE, vcov="CR1", cluster=["unit", "time"],
    ),
    _case(
        "ols_cr1_2way_w", PANEL, "two-way FE, weights, two-way clustering region + time",
        formula=TWFE, vcov="CR1", cluster=["region", "time"], weights="w",
    ),
    _case(
        "ols_cr0_2way_multi0", PANEL, "no FE, CR0 two-way region + time with multi0 = TRUE",
        formula="y ~ treat + x1 + x2", vcov="CR0", cluster=["region", "time"], multi0=True,
    ),
    _case(
        "ols_cr1_3way", CHILDREN, "three-way clustering la + year + school (7 terms)",
        formula="y ~ fv + age + female", vcov="CR1", cluster=["la", "year", "school"],
    ),
]
