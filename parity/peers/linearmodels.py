"""linearmodels against the ``ols`` and ``random_effects`` cases.

- ``ols``: ``linearmodels.iv.absorbing.AbsorbingLS`` (the case's fixed effects absorbed as
  categoricals) or, without fixed effects, ``linearmodels.iv.IV2SLS`` with no endogenous
  regressor. ``vcov``: iid -> ``"unadjusted"``, HC0 / HC1 -> ``"robust"`` (``debiased`` for HC1),
  CR0 / CR1 -> ``"clustered"`` (CR1: ``debiased``, which is sandwich's G/(G-1) (n-1)/(n-k)). HC2 / HC3 / CR1S / CR2 / CR3 have no linearmodels equivalent.
- ``random_effects``: ``linearmodels.panel.RandomEffects`` (Swamy-Arora variance components, as
  plm's default ``random.method = "swar"``); CR1 -> ``"clustered"`` by entity, debiased.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from parity.case import Quantity
from parity.peers._common import complete_rows, parse_formula, require

__all__ = ["ADAPTERS"]

_COV = {
    "iid": ("unadjusted", {"debiased": True}),
    "HC0": ("robust", {"debiased": False}),
    "HC1": ("robust", {"debiased": True}),
    "CR0": ("clustered", {"debiased": False}),
    "CR1": ("clustered", {"debiased": True}),
}


def _fit_kwargs(vcov: str, d: pd.DataFrame, cluster: Any) -> tuple[str, dict[str, Any]]:
    require(vcov in _COV, f"linearmodels has no {vcov} covariance (only {sorted(_COV)})")
    cov_type, kw = _COV[vcov]
    kw = dict(kw)
    if cov_type == "clustered":
        cols = [cluster] if isinstance(cluster, str) else list(cluster)
        require(len(cols) <= 2, "linearmodels clusters on at most two dimensions")
        kw["clusters"] = pd.DataFrame({c: pd.factorize(d[c])[0] for c in cols}, index=d.index)
    return cov_type, kw


def _ols(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    from linearmodels.iv import IV2SLS
    from linearmodels.iv.absorbing import AbsorbingLS

    require(not args.get("multi0"), "linearmodels has no multi0 option")
    f = parse_formula(args["formula"])
    d = complete_rows(data, args, list(f.variables))
    cov_type, kw = _fit_kwargs(args["vcov"], d, args.get("cluster"))
    w = d[args["weights"]] if args.get("weights") else None
    if f.fe:
        import formulaic

        x = formulaic.model_matrix(f.rhs + " - 1", d)
        absorb = pd.DataFrame({c: pd.Categorical(d[c]) for c in f.fe}, index=d.index)
        mod = AbsorbingLS(d[f.y], pd.DataFrame(x), absorb=absorb, weights=w, drop_absorbed=True)
        res = mod.fit(cov_type=cov_type, method="lsmr",
                      absorb_options={"atol": 1e-14, "btol": 1e-14}, **kw)
    else:
        res = IV2SLS.from_formula(f"{f.y} ~ 1 + {f.rhs}", d, weights=w).fit(cov_type=cov_type, **kw)
    params = res.params.rename(index={"Intercept": "(Intercept)"})
    se = res.std_errors.rename(index={"Intercept": "(Intercept)"})
    return {"coef": params, "se": se, "nobs": int(res.nobs)}


def _re(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    from linearmodels.panel import RandomEffects

    f = parse_formula(args["formula"])
    require(not f.fe, "the random-effects cases have no absorbed fixed effects")
    unit, t = args["unit"], args["time"]
    d = complete_rows(data, {}, [*f.variables, unit, t]).set_index([unit, t], drop=False)
    mod = RandomEffects.from_formula(f"{f.y} ~ 1 + {f.rhs}", d)
    if args["vcov"] == "CR1":
        res = mod.fit(cov_type="clustered", cluster_entity=True, debiased=True)
    else:
        require(args["vcov"] == "iid", f"no {args['vcov']} mapping")
        res = mod.fit(cov_type="unadjusted", debiased=True)
    ren = {"Intercept": "(Intercept)"}
    vd = res.variance_decomposition
    theta = res.theta.iloc[:, 0] if isinstance(res.theta, pd.DataFrame) else res.theta
    theta = theta.groupby(level=0).first()
    return {
        "coef": res.params.rename(index=ren),
        "se": res.std_errors.rename(index=ren),
        "theta": theta,
        "sigma2_idios": float(vd["Residual"]),
        "sigma2_unit": float(vd["Effects"]),
        "nobs": int(res.nobs),
    }


_OLS_CASES = (
    "ols_iid_nofe", "ols_iid_twfe", "ols_iid_twfe_w", "ols_hc1_twfe", "ols_hc1_twfe_w",
    "ols_cr1_twfe", "ols_cr1_twfe_w", "ols_cr1_few_w", "ols_hc1_fe_only", "ols_hc0_twfe",
    "ols_cr0_twfe", "ols_cr1_2way", "ols_cr1_2way_w", "ols_hc2_nofe",
)
_RE_CASES = (
    "re_swar_balanced", "re_swar_unbalanced", "re_swar_balanced_cr1", "re_swar_unbalanced_cr1",
    "re_swar_balanced_timefe",
)

ADAPTERS = {
    **{c: ("AbsorbingLS / IV2SLS", _ols) for c in _OLS_CASES},
    **{c: ("RandomEffects", _re) for c in _RE_CASES},
}
