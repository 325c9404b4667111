"""Parity cases of the "bacon" family: fvdid.bacon against R bacondecomp::bacon 0.1.1.

Every 2x2 is labelled ``"treated:untreated"`` with bacondecomp's timing-group codes (the first
treated period; 99999 for never treated) on both sides, so rows align by label. The comparison
types are checked through the quantities labelled by type (total weight, weighted mean estimate,
count). The TWFE coefficient on the R side comes from ``stats::lm`` with unit and period dummies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.bacon import bacon
from parity import Case, Quantity, Tol, label_str

__all__ = ["CASES"]


def _subset(data: pd.DataFrame, args: Mapping[str, Any]) -> pd.DataFrame:
    for col, val in (args.get("subset") or {}).items():
        vals = val if isinstance(val, list) else [val]
        data = data[data[col].isin(vals)]
    return data


def _fvdid_bacon(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    data = _subset(data, args)
    covs = tuple(args.get("covariates", ()))
    spanned = args.get("fvdid_spanned_covariate")
    if spanned:
        # a unit constant plus a common linear trend: spanned by the unit and period effects.
        # Only fvdid gets it: R's lm keeps such a column as rounding noise (an ill-posed
        # reference), so R is run without it and fvdid must drop it and agree.
        codes = pd.factorize(data[args["unit"]], sort=True)[0]
        data = data.assign(
            **{spanned["name"]: 0.5 * codes + spanned["trend"] * data[args["time"]]}
        )
        covs = (*covs, spanned["name"])
    res = bacon(
        data,
        y=args["y"],
        treatment=args["treatment"],
        unit=args["unit"],
        time=args["time"],
        covariates=covs,
    )
    t = res.two_by_twos
    labels = [label_str((a, b)) for a, b in zip(t["treated"], t["untreated"])]
    summ = res.summary().set_index("type")
    out: dict[str, Quantity] = {
        "estimate": pd.Series(t["estimate"].to_numpy(), index=labels),
        "weight": pd.Series(t["weight"].to_numpy(), index=labels),
        "summary_weight": summ["weight"],
        "summary_estimate": summ["avg_est"],
        "n_by_type": summ["n"].astype(float),
        "twfe": res.twfe,
    }
    if res.has_covariates:
        out["omega"] = res.omega
        out["beta_within"] = res.beta_within
        out["beta_between"] = res.beta_between
    return out


_CLOSED = (
    "closed form (group-by-period means vs R's lm per 2x2); only floating-point rounding differs"
)
_COMMON = {
    "estimate": Tol(1e-10, _CLOSED),
    "weight": Tol(
        1e-10, "closed form: products of group sizes and window lengths, rescaled to sum 1"
    ),
    "summary_weight": Tol(1e-10, "sums of closed-form weights"),
    "summary_estimate": Tol(1e-10, "weighted means of closed-form 2x2s"),
    "n_by_type": Tol.exact("count of 2x2s per comparison type: the type labels must agree"),
    "twfe": Tol(1e-10, "closed-form OLS (within transformation vs lm with dummies)"),
}
_COV = {
    **_COMMON,
    "estimate": Tol(
        1e-10,
        "closed form (FWL residuals and projections on group-by-period means vs R's sequence of lm "
        "fits); only floating-point rounding differs",
    ),
    "omega": Tol(1e-10, "ratio of variances of closed-form FWL residuals"),
    "beta_within": Tol(1e-10, "closed-form covariance ratio of FWL residuals"),
    "beta_between": Tol(1e-10, "weighted mean of closed-form 2x2s"),
}


def _case(name: str, dataset: str, args: dict[str, Any], description: str) -> Case:
    return Case(
        name=name,
        family="bacon",
        dataset=dataset,
        args=args,
        fvdid=_fvdid_bacon,
        tolerances=_COV if args.get("covariates") else _COMMON,
        key="treated:untreated (2x2); type (summaries)",
        r_packages=("bacondecomp",),
        description=description,
    )


_CASTLE = {"y": "l_homicide", "treatment": "post", "unit": "state", "time": "year"}
_DIVORCE = {
    "y": "suicrt",
    "treatment": "unilateral",
    "unit": "stid",
    "time": "year",
    "subset": {"sex": 2},
}
_MATH = {"y": "incearn_ln", "treatment": "reform_math", "unit": "state", "time": "class"}
_LA = {"y": "referral_rate", "treatment": "fv", "unit": "la", "time": "quarter"}
_LA_COV = ["log_child_pop", "deprivation"]

CASES = [
    _case(
        "bacon_castle",
        "shared:bacondecomp__castle.csv",
        {**_CASTLE, "covariates": []},
        "Castle doctrine (Cheng & Hoekstra 2013), the bacondecomp vignette: l_homicide ~ post",
    ),
    _case(
        "bacon_castle_cov",
        "shared:bacondecomp__castle.csv",
        {**_CASTLE, "covariates": ["l_pop", "l_income"]},
        "Castle doctrine with covariates, as the vignette: l_homicide ~ post + l_pop + l_income",
    ),
    _case(
        "bacon_divorce",
        "shared:bacondecomp__divorce.csv",
        {**_DIVORCE, "covariates": []},
        "Unilateral divorce and female suicide (Stevenson & Wolfers 2006), women only: "
        "always-treated (reform before 1964) and never-treated states",
    ),
    _case(
        "bacon_divorce_cov",
        "shared:bacondecomp__divorce.csv",
        {**_DIVORCE, "covariates": ["lnpersinc", "stateur"]},
        "Divorce data with covariates (log personal income, unemployment rate), women only",
    ),
    _case(
        "bacon_math_reform",
        "shared:bacondecomp__math_reform.csv",
        {**_MATH, "covariates": []},
        "Math coursework reform and earnings (Goodman 2019): incearn_ln ~ reform_math",
    ),
    _case(
        "bacon_la_quarter",
        "fixtures:bacon/la_quarter.csv",
        {**_LA, "covariates": []},
        "Simulated 152 LAs x 28 quarters, never- and always-treated LAs, 9 cohorts",
    ),
    _case(
        "bacon_la_quarter_cov",
        "fixtures:bacon/la_quarter.csv",
        {**_LA, "covariates": _LA_COV},
        "Simulated 152 LAs x 28 quarters with two time-varying LA covariates",
    ),
    _case(
        "bacon_la_quarter_yq",
        "fixtures:bacon/la_quarter_yq.csv",
        {**_LA, "covariates": []},
        "Simulated 152 LAs x 28 quarters coded year*10+q, 40 always-treated LAs, a one-LA cohort",
    ),
    _case(
        "bacon_la_quarter_yq_cov",
        "fixtures:bacon/la_quarter_yq.csv",
        {**_LA, "covariates": _LA_COV},
        "As bacon_la_quarter_yq with two time-varying LA covariates",
    ),
    _case(
        "bacon_la_quarter_cov_spanned",
        "fixtures:bacon/la_quarter.csv",
        {
            **_LA,
            "covariates": _LA_COV,
            "fvdid_spanned_covariate": {"name": "la_trend", "trend": 0.37},
        },
        "As bacon_la_quarter_cov, fvdid also given an LA constant + common trend (spanned by the "
        "FE; R's lm would keep it as noise, an ill-posed reference, so R runs without it and "
        "fvdid must drop it)",
    ),
]
