"""Parity cases of fvdid.boottest against fwildclusterboot::boottest() (r_reference/boottest.R).

fixest is not in Debian, so the R side fits ``lm()`` with the fixed effects as ``factor()``
dummies; fvdid absorbs them (``ols("... | la + year")``) and counts them in the small-sample
factor with ``fixef_k="full"`` (``k = len(params) + design.n_fe``, the column count of the dummy
``lm``). fwildclusterboot on a fixest/felm model counts only the non-FE coefficients
(``fixef_k="none"``, fvdid's default): the t-statistics then differ by the constant factor
``sqrt((N - k_lm) / (N - k_slopes))`` while p-values and intervals are unchanged.

Exactness: with few bootstrap clusters (``2^G* <= B``) both sides enumerate all ``2^G*`` Rademacher
sign vectors, so everything is deterministic: the sorted bootstrap t-statistics (labelled by rank
"r0001", ... -- alignment by order statistic, the only meaningful label), the p-value and the
interval (same grid, same Brent iterations) agree to rounding. Random draws (dqrng in R, numpy
here) cannot agree draw by draw: their p-values are compared within the Monte Carlo band
``4 sqrt(p(1-p)/B)``; their t-statistic is deterministic and compared exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from fvdid.boottest import boottest
from fvdid.ols import ols
from parity import Case, Quantity, Tol

FEW = "fixtures:boottest/few_clusters.csv"
TWFE = "fixtures:boottest/twfe_panel.csv"
VOTERS = "shared:fwildclusterboot__voters.csv"
SEED = 20240611


def _fvdid_boottest(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    # a list of cluster columns is multi-way clustering (R: clustid = c("a", "b"))
    cl = tuple(args["cluster"]) if isinstance(args["cluster"], list) else args["cluster"]
    fit = ols(args["formula"], data, weights=args.get("weights"), vcov="CR1", cluster=cl)
    # bootcluster_fvdid: the same bootstrap clusters under the column fvdid is given, where R's
    # own check limits bootcluster to model variables (see the observation-level cases)
    bc = args.get("bootcluster_fvdid", args.get("bootcluster"))
    res = boottest(
        fit,
        args["param"],
        cl,
        data=data,
        B=int(args["B"]),
        weights_type=args["type"],
        impose_null=bool(args["impose_null"]),
        r=float(args["r"]),
        bootcluster=tuple(bc) if isinstance(bc, list) else bc,
        p_val_type=args["p_val_type"],
        conf_int=bool(args["conf_int"]),
        sign_level=float(args["sign_level"]),
        seed=int(args["seed"]),
        fixef_k=args.get("fixef_k", "none"),
    )
    out: dict[str, Quantity] = {
        "t_stat": res.t_stat,
        "p_value": res.p_value,
        "B": res.B,
        "n_clusters": res.n_clusters,
    }
    if args["conf_int"] and args["p_val_type"] in ("two-tailed", "equal-tailed"):
        assert res.conf_int is not None
        lo, hi = res.conf_int
        if args.get("enumerated"):
            out["conf_int"] = {"lower": lo, "upper": hi}
        else:
            se = (res.point_estimate - res.r) / res.t_stat
            b = res.point_estimate
            out["conf_int_se"] = {"lower": (lo - b) / se, "upper": (hi - b) / se}
    if args.get("enumerated"):
        tb = np.sort(res.t_boot)
        out["t_boot_sorted"] = pd.Series(tb, index=[f"r{i:04d}" for i in range(1, tb.size + 1)])
    return out


_T = Tol(1e-10, "closed form: (R beta - r) / CR1 se from cluster sums; summation order only")
_COUNT = Tol.exact("integer counts (draws after enumeration, clusters)")
_ENUM_P = Tol(
    1e-12,
    "full enumeration: the same 2^G sign vectors on both sides, so the p-value is the same count "
    "over the same draws (a multiple of 1/2^G; any difference would be a whole draw)",
)
_ENUM_TB = Tol(
    1e-9,
    "full enumeration: sorted bootstrap t-statistics (alignment by order statistic) from the same "
    "sign vectors; cluster-level sums only, rounding of O(G k) products",
)
_ENUM_CI = Tol(
    2e-4,
    "test inversion of the same step function p(r) (same 2^G sign vectors): fvdid bisects each end "
    "to the jump of p across alpha within 1e-6 se, while R's uniroot stops after maxiter = 10 "
    "iterations, before its tol = 1e-6; 10 halvings of R's 26-point grid cell (0.03-0.07 here) "
    "leave ~cell/2^10 = 3e-5..7e-5, Brent on a step is not always faster than bisection: "
    "observed <= 7.7e-5",
)


def _conf_int_se_tol(B: int, alpha: float = 0.05, observed: str = "0.054") -> Tol:
    """4 sd of the difference of two independent Monte Carlo interval ends, in se units.

    An end at ``alpha/2`` is a quantile of the bootstrap t; from ``B`` draws it has sd
    ``sqrt(q(1-q)/B) / f(t_q)`` with ``q = alpha/2`` (the density ``f`` taken as the normal's at
    its quantile); the two sides' estimates are independent, so the difference has sqrt(2) that.
    """
    q = alpha / 2.0
    z = float(NormalDist().inv_cdf(1.0 - q))
    sd = math.sqrt(2.0) * math.sqrt(q * (1.0 - q) / B) / NormalDist().pdf(z)
    return Tol(
        4.0 * sd,
        f"random draws (B = {B}): the ends in se units, (ci - estimate)/se, are Monte Carlo "
        f"quantiles of the bootstrap t at {q:g}; sd of one sqrt(q(1-q)/B)/phi(z_q), of the "
        f"difference of two independent runs sqrt(2) that = {sd:.3f}; 4 sd (the project's rule) "
        "= {:.3f}; observed <= {}".format(4.0 * sd, observed),
    )


def _mc(B: int) -> Tol:
    return Tol.mc_pvalue(
        B,
        f"random wild draws ({B}): dqrng (R) and numpy streams differ, so the p-values are two "
        "independent Monte Carlo estimates of the same bootstrap p-value; 4 sd band",
    )


def _case(
    name: str,
    dataset: str,
    description: str,
    *,
    enumerated: bool,
    r_packages: tuple[str, ...] = ("fwildclusterboot",),
    ci_observed: str = "0.054",
    **args: Any,
) -> Case:
    full = {
        "bootcluster": None,
        "weights": None,
        "B": 9999,
        "type": "rademacher",
        "impose_null": True,
        "r": 0.0,
        "p_val_type": "two-tailed",
        "conf_int": True,
        "sign_level": 0.05,
        "seed": SEED,
        "fixef_k": "none",
        **args,
        "enumerated": enumerated,
    }
    tols: dict[str, Tol] = {"t_stat": _T, "B": _COUNT, "n_clusters": _COUNT}
    if enumerated:
        tols.update({"p_value": _ENUM_P, "t_boot_sorted": _ENUM_TB})
        if full["conf_int"] and full["p_val_type"] in ("two-tailed", "equal-tailed"):
            tols["conf_int"] = _ENUM_CI
    else:
        tols["p_value"] = _mc(int(full["B"]))
        if full["conf_int"] and full["p_val_type"] in ("two-tailed", "equal-tailed"):
            tols["conf_int_se"] = _conf_int_se_tol(
                int(full["B"]), float(full["sign_level"]), ci_observed
            )
    return Case(
        name=name,
        family="boottest",
        dataset=dataset,
        args=full,
        fvdid=_fvdid_boottest,
        key="quantity (t_boot_sorted: rank r0001...)",
        tolerances=tols,
        r_packages=r_packages,
        description=description,
    )


FEW_F = "y ~ treat + x + female"
TWFE_F = "y ~ fv + x + age | la + year"
TWFE_R = "y ~ fv + x + age + factor(la) + factor(year)"
VOTERS_F = "proposition_vote ~ treatment + ideology1 + log_income + C(Q1_immigration)"
VOTERS_R = "proposition_vote ~ treatment + ideology1 + log_income + factor(Q1_immigration)"

CASES = [
    _case(
        "boottest_enum_wcr",
        FEW,
        "G = 8: full enumeration (256 Rademacher draws), WCR, two-tailed, interval",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster="state",
    ),
    _case(
        "boottest_enum_wcu",
        FEW,
        "G = 8: full enumeration, WCU (impose_null = FALSE), two-tailed, interval",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster="state",
        impose_null=False,
    ),
    _case(
        "boottest_enum_cem_weights",
        FEW,
        "G = 8, CEM-like analytic weights (some 0), WCR, full enumeration, interval",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster="state",
        weights="w",
    ),
    _case(
        "boottest_enum_equal_tailed",
        FEW,
        "G = 8, equal-tailed p-value, H0: x = 0.3 (r != 0), weights, interval",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="x",
        cluster="state",
        weights="w",
        p_val_type="equal-tailed",
        r=0.3,
    ),
    _case(
        "boottest_enum_greater",
        FEW,
        "G = 8, one-sided p-value '>' (no interval for one-sided tests)",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster="state",
        p_val_type=">",
        conf_int=False,
    ),
    _case(
        "boottest_enum_less",
        FEW,
        "G = 8, one-sided p-value '<', WCU, H0: treat = 0.5",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster="state",
        p_val_type="<",
        impose_null=False,
        r=0.5,
        conf_int=False,
    ),
    _case(
        "boottest_enum_bootcluster",
        FEW,
        "error clusters: 4 regions; bootstrap clusters: region x half (8, crossing the states)",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster="region",
        bootcluster=["region", "half"],
        weights="w",
    ),
    _case(
        "boottest_enum_twfe_wcr",
        TWFE,
        "LA + year FE (absorbed vs factor dummies; year crosses the LA clusters), CEM-like "
        "weights, G = 10 LAs: full enumeration (1024), WCR, interval",
        enumerated=True,
        formula=TWFE_F,
        formula_r=TWFE_R,
        param="fv",
        cluster="la",
        weights="w",
        fixef_k="full",
    ),
    _case(
        "boottest_enum_twfe_wcu",
        TWFE,
        "LA + year FE, weights, G = 10: full enumeration, WCU, interval",
        enumerated=True,
        formula=TWFE_F,
        formula_r=TWFE_R,
        param="fv",
        cluster="la",
        weights="w",
        fixef_k="full",
        impose_null=False,
    ),
    _case(
        "boottest_voters_rademacher",
        VOTERS,
        "fwildclusterboot's voters data, G = 40: random Rademacher draws, WCR, interval",
        enumerated=False,
        formula=VOTERS_F,
        formula_r=VOTERS_R,
        param="treatment",
        cluster="group_id1",
    ),
    _case(
        "boottest_voters_webb_wcu",
        VOTERS,
        "voters, Webb weights, WCU, analytic weights",
        enumerated=False,
        formula=VOTERS_F,
        formula_r=VOTERS_R,
        param="log_income",
        cluster="group_id1",
        type="webb",
        impose_null=False,
        weights="weights",
    ),
    _case(
        "boottest_voters_mammen",
        VOTERS,
        "voters, Mammen weights, WCR, equal-tailed, H0: log_income = 0",
        enumerated=False,
        formula=VOTERS_F,
        formula_r=VOTERS_R,
        param="log_income",
        cluster="group_id1",
        type="mammen",
        p_val_type="equal-tailed",
    ),
    _case(
        "boottest_voters_norm",
        VOTERS,
        "voters, standard normal weights, WCR, clusters group_id2 (G = 20)",
        enumerated=False,
        formula=VOTERS_F,
        formula_r=VOTERS_R,
        param="log_income",
        cluster="group_id2",
        type="norm",
    ),
    # multi-way clustering (R: clustid = c("a", "b"); bootstrap clusters = the intersection).
    # n_clusters: fvdid reports min(G), R its first dimension's G; the cases list the smaller
    # dimension first so that both report the same count.
    _case(
        "boottest_enum_twoway",
        FEW,
        "two-way clustering half (2) x region (4), bootstrap clusters = intersection (8, full "
        "enumeration), WCR, interval",
        enumerated=True,
        formula=FEW_F,
        formula_r=FEW_F,
        param="treat",
        cluster=["half", "region"],
    ),
    _case(
        "boottest_voters_twoway",
        VOTERS,
        "voters, two-way clustering group_id2 (20) x group_id1 (40) as fwildclusterboot's own "
        "example, random Rademacher draws, WCR, interval",
        enumerated=False,
        formula=VOTERS_F,
        formula_r=VOTERS_R,
        param="treatment",
        cluster=["group_id2", "group_id1"],
    ),
]

# --------------------------------------------------------------------------------------------
# wild subcluster bootstrap (MacKinnon & Webb 2018): the wild weights are drawn at a level
# nested in the error clusters (LA x period, or each observation) while the CR1 errors stay
# clustered by LA; R: boottest(..., clustid = "la", bootcluster = c("la", "year") or "id").
# --------------------------------------------------------------------------------------------

SUB_SMALL = "fixtures:boottest/subcluster_small.csv"
SUB_PANEL = "fixtures:boottest/subcluster_panel.csv"
SMALL_F = "y ~ fv + x + female + period + treated"
SMALL_FE = "y ~ fv + x + female | la + period"
SMALL_FE_R = "y ~ fv + x + female + factor(la) + factor(period)"
PANEL_FE = "y ~ fv + x + age | la + year"
PANEL_FE_R = "y ~ fv + x + age + factor(la) + factor(year)"

_SUB_ENUM = dict(enumerated=True, param="fv", cluster="la", bootcluster=["la", "period"])
_SUB_FE = dict(formula=SMALL_FE, formula_r=SMALL_FE_R, weights="w", fixef_k="full")
_SUB_PANEL = dict(
    enumerated=False,
    ci_observed="0.064 (subcluster cases)",
    formula=PANEL_FE,
    formula_r=PANEL_FE_R,
    param="fv",
    cluster="la",
    weights="w",
    fixef_k="full",
)

CASES += [
    _case(
        "boottest_enum_subcluster_wcr",
        SUB_SMALL,
        "subcluster: errors by LA (G = 4), weights by LA x period (G* = 8): full enumeration "
        "(256 draws), WCR, interval",
        formula=SMALL_F,
        formula_r=SMALL_F,
        **_SUB_ENUM,
    ),
    _case(
        "boottest_enum_subcluster_wcu",
        SUB_SMALL,
        "subcluster LA x period within LA (G = 4, G* = 8), full enumeration, WCU, interval",
        formula=SMALL_F,
        formula_r=SMALL_F,
        impose_null=False,
        **_SUB_ENUM,
    ),
    _case(
        "boottest_enum_subcluster_fe_wcr",
        SUB_SMALL,
        "subcluster LA x period, LA + period FE (period crosses the LAs), analytic weights, "
        "2 treated LAs of 4: full enumeration, WCR, interval",
        **_SUB_FE,
        **_SUB_ENUM,
    ),
    _case(
        "boottest_enum_subcluster_fe_wcu",
        SUB_SMALL,
        "subcluster LA x period, LA + period FE, analytic weights: full enumeration, WCU, interval",
        impose_null=False,
        **_SUB_FE,
        **_SUB_ENUM,
    ),
    _case(
        "boottest_subcluster_rademacher_wcr",
        SUB_PANEL,
        "12 LAs, 3 treated (few treated clusters), LA + year FE, analytic weights; subcluster "
        "LA x year (G* = 60): random Rademacher draws, WCR, interval",
        bootcluster=["la", "year"],
        **_SUB_PANEL,
    ),
    _case(
        "boottest_subcluster_rademacher_wcu",
        SUB_PANEL,
        "12 LAs, 3 treated, LA + year FE, weights; subcluster LA x year: Rademacher, WCU",
        bootcluster=["la", "year"],
        impose_null=False,
        **_SUB_PANEL,
    ),
    _case(
        "boottest_subcluster_webb_wcr",
        SUB_PANEL,
        "12 LAs, 3 treated, LA + year FE, weights; subcluster LA x year: Webb weights, WCR",
        bootcluster=["la", "year"],
        type="webb",
        **_SUB_PANEL,
    ),
    _case(
        "boottest_subcluster_webb_wcu",
        SUB_PANEL,
        "12 LAs, 3 treated, LA + year FE, weights; subcluster LA x year: Webb weights, WCU",
        bootcluster=["la", "year"],
        type="webb",
        impose_null=False,
        **_SUB_PANEL,
    ),
    # Each observation its own bootstrap cluster. fwildclusterboot 0.13.0 accepts a bootcluster
    # only among the cluster variables and the model's variables ("A bootcluster variable is
    # neither contained in the cluster variables nor in the model coefficients"), so R is given
    # the regressor x, whose 600 values are all distinct (asserted by the dataset generator):
    # the same partition as fvdid's row id column.
    _case(
        "boottest_subcluster_obs_wcr",
        SUB_PANEL,
        "12 LAs, 3 treated, LA + year FE, weights; weights drawn per observation (bootcluster = "
        "id, G* = 600) with errors by LA: Rademacher, WCR",
        bootcluster="x",
        bootcluster_fvdid="id",
        **_SUB_PANEL,
    ),
    _case(
        "boottest_subcluster_obs_wcu",
        SUB_PANEL,
        "12 LAs, 3 treated, LA + year FE, weights; bootcluster = id (G* = 600): Webb, WCU",
        bootcluster="x",
        bootcluster_fvdid="id",
        type="webb",
        impose_null=False,
        **_SUB_PANEL,
    ),
    # Webb weights when 2^G is small: G = 4 LAs give only 2^4 = 16 Rademacher sign vectors (R
    # warns "consider using webb weights instead"); Webb's six points give 6^4 = 1296, so
    # neither side enumerates: B stays 9999 (quantity B) and the p-values agree in the MC band.
    _case(
        "boottest_small_g_webb_wcr",
        SUB_SMALL,
        "G = 4 LAs (2^4 = 16 Rademacher draws only): Webb weights, B = 9999 random draws, LA + "
        "period FE, weights, WCR (p-value only: see below)",
        enumerated=False,
        # No interval: with G = 4 the WCR p(r) stays within 0.046-0.054 from 2.75 to 5 se
        # below the estimate, so where it crosses 0.05 is decided by Monte Carlo noise of one
        # B = 9999 run (+-0.002), not by the data; two independent runs put the lower end 0.9 se
        # apart. The WCU p(r) falls steadily through 0.05, and its case keeps the interval.
        conf_int=False,
        param="fv",
        cluster="la",
        type="webb",
        **_SUB_FE,
    ),
    _case(
        "boottest_small_g_webb_wcu",
        SUB_SMALL,
        "G = 4 LAs: Webb weights, B = 9999, LA + period FE, weights, WCU, interval",
        enumerated=False,
        ci_observed="0.002 (this case)",
        param="fv",
        cluster="la",
        type="webb",
        impose_null=False,
        **_SUB_FE,
    ),
]
