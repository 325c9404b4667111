"""Parity cases of the "did" family: fvdid.att_gt / fvdid.aggte against R did 2.1.2 + DRDID 1.2.3.

Quantities: ``att`` and ``se`` labelled ``"g:t"``; ``wald_stat`` / ``wald_pvalue``; ``n_units``;
``crit_val`` (bootstrap bands); per aggregation ``<name>_att`` / ``<name>_se`` labelled by event
time, group or period, and ``<name>_overall_att`` / ``<name>_overall_se``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from fvdid.aggte import aggte
from fvdid.att_gt import _fmt, att_gt
from parity import Case, Tol

__all__ = ["CASES"]

# The reference every golden file of this family was recorded with (r_reference/install.R pins
# it). did fixed the group aggregation's weight-estimation term after 2.1.2 (commit 9229716,
# 2025-03-23); fvdid computes the corrected SE by default, so these cases ask for did 2.1.2's.
REFERENCE = "did 2.1.2 + DRDID 1.2.3 + BMisc 1.4.6"
AGGTE_COMPAT = "did-2.1.2"


def _fit(data: Any, args: Mapping[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return att_gt(
            data,
            y=args["y"],
            time=args["time"],
            cohort=args["cohort"],
            unit=args.get("unit"),
            covariates=tuple(args.get("covariates", ())),
            panel=args.get("panel", True),
            control=args.get("control", "never_treated"),
            anticipation=args.get("anticipation", 0),
            method=args.get("method", "dr"),
            base_period=args.get("base_period", "varying"),
            weights=args.get("weights"),
            cluster=args.get("cluster"),
            allow_unbalanced_panel=args.get("allow_unbalanced_panel", False),
            bootstrap=args.get("bootstrap", False),
            n_boot=args.get("n_boot", 1000),
            cband=args.get("cband", False),
            alpha=args.get("alpha", 0.05),
            seed=args.get("seed"),
        )


def _fvdid_did(data: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    res = _fit(data, args)
    out: dict[str, Any] = {
        "att": dict(zip(res.labels, res.table["att"])),
        "se": dict(zip(res.labels, res.table["se"])),
        "n_units": res.n_units,
    }
    if res.wald_stat is not None:
        out["wald_stat"] = res.wald_stat
        out["wald_pvalue"] = res.wald_pvalue
    if res.bootstrap and res.cband:
        out["crit_val"] = res.crit_val
    for a in args.get("aggregations", []):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ag = aggte(
                res,
                a["type"],
                min_e=a.get("min_e"),
                max_e=a.get("max_e"),
                balance_e=a.get("balance_e"),
                na_rm=a.get("na_rm", False),
                compat=AGGTE_COMPAT,
            )
        p = a["name"]
        out[f"{p}_overall_att"] = ag.overall_att
        out[f"{p}_overall_se"] = ag.overall_se
        if a["type"] != "simple":
            key = ag.table.columns[0]
            labels = [_fmt(v) for v in ag.table[key]]
            out[f"{p}_att"] = dict(zip(labels, ag.table["att"]))
            out[f"{p}_se"] = dict(zip(labels, ag.table["se"]))
            if res.bootstrap and res.cband:
                out[f"{p}_crit_val"] = ag.crit_val
    return out


# ---------------------------------------------------------------------------------------------
# tolerances (each with its reason)
# ---------------------------------------------------------------------------------------------

ATT_TOL = Tol(
    1e-10,
    "closed-form Hajek means and WLS; with covariates the logit follows fastglm's IRLS path (same "
    "start, same stopping rule, tol 1e-8) so only floating-point summation order differs "
    "(observed <= 2e-15)",
)
SE_TOL = Tol(
    1e-10,
    "analytic SE sqrt(mean(IF^2)/n) from the same linear representations; summation order only "
    "(observed <= 3e-16)",
)
WALD_TOL = Tol(
    1e-10,
    "quadratic form n a'V^-1 a of the pre-period ATTs, a solve() of a small well-conditioned matrix "
    "on identical inputs: rounding only (observed <= 4.4e-14 on statistics up to O(10))",
    rtol=1e-10,
)
PVAL_TOL = Tol(5.1e-6, "did rounds the Wald p-value to 5 decimals; fvdid reports it unrounded")
N_TOL = Tol.exact("count of units after did's preprocessing")
AGG_ATT_TOL = Tol(
    1e-10, "weighted sums of ATT(g,t) with group probabilities (closed form; observed <= 2e-15)"
)
AGG_SE_TOL = Tol(
    1e-10,
    "aggregated influence function incl. did's weight-estimation term (wif); closed form "
    "(observed <= 2e-16)",
)
B_BIG = 20000
BOOT_SE_TOL = Tol(
    0.0,
    f"multiplier bootstrap, B={B_BIG} in both R and fvdid (different random streams): the IQR-based "
    "SE has relative sd about 1.17/sqrt(B) = 0.8% per side, 1.2% for the difference; band = 4 sd, "
    "rounded up to 5%",
    rtol=0.05,
)
BOOT_CRIT_TOL = Tol(
    0.0,
    f"sup-t critical value from the multiplier bootstrap, B={B_BIG} per side: 95% quantile of "
    "max|t| (sd about 0.5%) plus the error of the IQR scale (about 0.8%); band 5% relative",
    rtol=0.05,
)

AGGS_ALL = [
    {"name": "simple", "type": "simple"},
    {"name": "dynamic", "type": "dynamic"},
    {"name": "group", "type": "group"},
    {"name": "calendar", "type": "calendar"},
]


def _tols(args: Mapping[str, Any], *, boot: bool = False) -> dict[str, Tol]:
    t = {
        "att": ATT_TOL,
        "se": BOOT_SE_TOL if boot else SE_TOL,
        "n_units": N_TOL,
        "wald_stat": WALD_TOL,
        "wald_pvalue": PVAL_TOL,
    }
    if boot and args.get("cband"):
        t["crit_val"] = BOOT_CRIT_TOL
    for a in args.get("aggregations", []):
        p = a["name"]
        t[f"{p}_overall_att"] = AGG_ATT_TOL
        t[f"{p}_overall_se"] = BOOT_SE_TOL if boot else AGG_SE_TOL
        if a["type"] != "simple":
            t[f"{p}_att"] = AGG_ATT_TOL
            t[f"{p}_se"] = BOOT_SE_TOL if boot else AGG_SE_TOL
            if boot and args.get("cband"):
                t[f"{p}_crit_val"] = BOOT_CRIT_TOL
    return t


def _case(
    name: str, dataset: str, args: dict[str, Any], description: str, *, boot: bool = False
) -> Case:
    return Case(
        name=name,
        family="did",
        dataset=dataset,
        args=args,
        fvdid=_fvdid_did,
        tolerances=_tols(args, boot=boot),
        key="group:time (ATT), event time / group / period (aggregations)",
        r_packages=("did", "DRDID", "BMisc"),
        description=f"{description} [reference: {REFERENCE}; aggte compat={AGGTE_COMPAT!r}]",
    )


MPDTA = "shared:did__mpdta.csv"
MP_BASE = {"y": "lemp", "time": "year", "cohort": "first.treat", "unit": "countyreal"}

CASES: list[Case] = []

# mpdta: xformla ~1 and ~lpop × est_method × control group (12 cases), all four aggregations
for cov_name, covs in (("nocov", []), ("lpop", ["lpop"])):
    for method in ("dr", "ipw", "reg"):
        for control, cname in (("never_treated", "never"), ("not_yet_treated", "notyet")):
            args = {
                **MP_BASE,
                "covariates": covs,
                "method": method,
                "control": control,
                "aggregations": AGGS_ALL,
            }
            CASES.append(
                _case(
                    f"did_mpdta_{cov_name}_{method}_{cname}",
                    MPDTA,
                    args,
                    f"mpdta, xformla ~{'lpop' if covs else '1'}, est_method {method}, "
                    f"{control.replace('_', ' ')} controls",
                )
            )

CASES += [
    _case(
        "did_mpdta_anticipation1",
        MPDTA,
        {
            **MP_BASE,
            "covariates": ["lpop"],
            "method": "dr",
            "control": "not_yet_treated",
            "anticipation": 1,
            "aggregations": [
                {"name": "dynamic", "type": "dynamic"},
                {"name": "group", "type": "group"},
            ],
        },
        "mpdta, dr, not-yet-treated, anticipation = 1",
    ),
    _case(
        "did_mpdta_universal",
        MPDTA,
        {
            **MP_BASE,
            "covariates": ["lpop"],
            "method": "dr",
            "base_period": "universal",
            "aggregations": [
                {"name": "dynamic", "type": "dynamic"},
                {"name": "calendar", "type": "calendar"},
            ],
        },
        "mpdta, dr, never-treated, universal base period",
    ),
    _case(
        "did_mpdta_universal_notyet_reg",
        MPDTA,
        {
            **MP_BASE,
            "covariates": ["lpop"],
            "method": "reg",
            "control": "not_yet_treated",
            "base_period": "universal",
            "aggregations": [{"name": "dynamic", "type": "dynamic"}],
        },
        "mpdta, reg, not-yet-treated, universal base period",
    ),
    _case(
        "did_mpdta_aggregation_windows",
        MPDTA,
        {
            **MP_BASE,
            "covariates": ["lpop"],
            "method": "dr",
            "aggregations": [
                {"name": "dyn_window", "type": "dynamic", "min_e": -2, "max_e": 2},
                {"name": "dyn_balance1", "type": "dynamic", "balance_e": 1},
                {"name": "dyn_balance0_min", "type": "dynamic", "balance_e": 0, "min_e": -1},
                {"name": "group_max1", "type": "group", "max_e": 1},
                {"name": "simple_max0", "type": "simple", "max_e": 0},
                {"name": "calendar", "type": "calendar"},
            ],
        },
        "mpdta, dr: aggregations with min_e / max_e / balance_e",
    ),
]

RC = "fixtures:did/rc_covariates.csv"
RC_BASE = {"y": "y", "time": "year", "cohort": "cohort", "panel": False, "covariates": ["x1", "x2"]}
for method in ("dr", "ipw", "reg"):
    CASES.append(
        _case(
            f"did_rc_{method}",
            RC,
            {**RC_BASE, "method": method, "aggregations": AGGS_ALL},
            f"simulated repeated cross-sections with covariates, est_method {method}",
        )
    )
CASES.append(
    _case(
        "did_rc_weights_notyet_dr",
        RC,
        {
            **RC_BASE,
            "method": "dr",
            "control": "not_yet_treated",
            "weights": "w",
            "aggregations": AGGS_ALL,
        },
        "simulated repeated cross-sections, sampling weights, not-yet-treated, dr",
    )
)

PW = "fixtures:did/panel_weights.csv"
P_BASE = {"y": "y", "time": "year", "cohort": "cohort", "unit": "id"}
CASES += [
    _case(
        "did_panel_weights_dr",
        PW,
        {
            **P_BASE,
            "covariates": ["x1", "z"],
            "weights": "w",
            "method": "dr",
            "aggregations": AGGS_ALL,
        },
        "simulated panel: sampling weights, time-varying covariate, units treated in the first "
        "period (dropped) and cohorts after the last period (never treated)",
    ),
    _case(
        "did_panel_weights_ipw_notyet",
        PW,
        {
            **P_BASE,
            "covariates": ["x1", "x2"],
            "weights": "w",
            "method": "ipw",
            "control": "not_yet_treated",
            "aggregations": AGGS_ALL,
        },
        "simulated panel: sampling weights, ipw, not-yet-treated",
    ),
    _case(
        "did_panel_unbalanced_allow",
        "fixtures:did/panel_unbalanced.csv",
        {
            **P_BASE,
            "covariates": ["x1", "x2"],
            "method": "dr",
            "allow_unbalanced_panel": True,
            "aggregations": AGGS_ALL,
        },
        "unbalanced panel with allow_unbalanced_panel = TRUE (RC path, unit-clustered IF)",
    ),
    _case(
        "did_panel_unbalanced_balanced",
        "fixtures:did/panel_unbalanced.csv",
        {**P_BASE, "covariates": ["x1"], "method": "reg", "aggregations": AGGS_ALL},
        "unbalanced panel coerced to a balanced one (units with gaps dropped)",
    ),
    _case(
        "did_panel_no_never_notyet",
        "fixtures:did/panel_no_never.csv",
        {
            **P_BASE,
            "covariates": ["x1"],
            "method": "dr",
            "control": "not_yet_treated",
            "aggregations": AGGS_ALL,
        },
        "no never-treated units: last cohort only as comparison, later periods dropped",
    ),
    _case(
        "did_mpdta_bootstrap_cband",
        MPDTA,
        {
            **MP_BASE,
            "covariates": ["lpop"],
            "method": "dr",
            "bootstrap": True,
            "n_boot": B_BIG,
            "cband": True,
            "seed": 20240601,
            "aggregations": [
                {"name": "dynamic", "type": "dynamic"},
                {"name": "group", "type": "group"},
            ],
        },
        "mpdta, dr, multiplier bootstrap SEs and uniform bands (Monte Carlo tolerance)",
        boot=True,
    ),
    _case(
        "did_panel_cluster_bootstrap",
        PW,
        {
            **P_BASE,
            "covariates": ["x1"],
            "method": "dr",
            "cluster": "state",
            "bootstrap": True,
            "n_boot": B_BIG,
            "cband": True,
            "seed": 20240602,
            "aggregations": [{"name": "dynamic", "type": "dynamic"}],
        },
        "simulated panel, multiplier bootstrap clustered on state (20 clusters), uniform bands",
        boot=True,
    ),
]
