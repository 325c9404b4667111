"""statsmodels against the ``ols``, ``glm``, ``lmer`` and ``hochberg`` cases.

- ``ols``: ``smf.wls`` with the case's fixed effects as ``C()`` dummies (as R's ``lm`` with
  ``factor()``); ``vcov``: iid -> ``nonrobust``, HC0-HC3 -> ``HC0``-``HC3``, CR1 -> ``cluster``
  (``use_correction``: G/(G-1) (n-1)/(n-k), sandwich's HC1 for clusters), CR0 -> ``cluster``
  without correction. CR1S / CR2 / CR3 have no statsmodels equivalent.
- ``glm`` logit: ``smf.glm(family=Binomial)``, R's prior weights as ``var_weights``;
  ``clogit`` (exact conditional likelihood): ``ConditionalLogit``.
- ``lmer``: ``smf.mixedlm`` (random intercept; ``reml`` as the case).
- ``hochberg``: ``multipletests(method="simes-hochberg")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from parity.case import Quantity
from parity.peers._common import complete_rows, parse_formula, require

__all__ = ["ADAPTERS"]


def _cov(vcov: str, d: pd.DataFrame, cluster: Any) -> dict[str, Any]:
    if vcov == "iid":
        return {"cov_type": "nonrobust"}
    if vcov in ("HC0", "HC1", "HC2", "HC3"):
        return {"cov_type": vcov}
    require(vcov in ("CR0", "CR1"), f"statsmodels has no {vcov} covariance")
    cols = [cluster] if isinstance(cluster, str) else list(cluster)
    groups = np.column_stack([pd.factorize(d[c])[0] for c in cols])
    return {"cov_type": "cluster", "cov_kwds": {
        "groups": groups[:, 0] if len(cols) == 1 else groups,
        "use_correction": vcov == "CR1", "df_correction": vcov == "CR1"}}


def _keep(names: pd.Index, fe: tuple[str, ...]) -> list[str]:
    drop = {"Intercept"} if fe else set()
    return [n for n in names if n not in drop and not any(n.startswith(f"C({f})[") for f in fe)]


def _ols(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import statsmodels.formula.api as smf

    require(not args.get("multi0"), "statsmodels has no multi0 option")
    f = parse_formula(args["formula"])
    d = complete_rows(data, args, list(f.variables))
    rhs = " + ".join([f.rhs, *(f"C({c})" for c in f.fe)])
    w = d[args["weights"]] if args.get("weights") else np.ones(len(d))
    res = smf.wls(f"{f.y} ~ {rhs}", d, weights=w).fit(**_cov(args["vcov"], d, args.get("cluster")))
    keep = _keep(res.params.index, f.fe)
    ren = {"Intercept": "(Intercept)"}
    return {"coef": res.params[keep].rename(index=ren), "se": res.bse[keep].rename(index=ren),
            "nobs": int(res.nobs)}


def _logit(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    f = parse_formula(args["formula"])
    d = complete_rows(data, args, list(f.variables))
    require(args["vcov"] in ("iid", "HC0", "CR1"),
            f"statsmodels GLM has no {args['vcov']} with R's n/(n-k) scaling")
    w = d[args["weights"]] if args.get("weights") else None
    mod = smf.glm(args["formula"], d, family=sm.families.Binomial(), var_weights=w)
    kw = _cov(args["vcov"], d, args.get("cluster"))
    res = mod.fit(tol=args.get("epsilon", 1e-8), **kw)
    def ren(n: str) -> str:  # R's glm labels factor levels C(la)[2], without patsy's "T."
        return "(Intercept)" if n == "Intercept" else n.replace("[T.", "[")

    return {"coef": res.params.rename(index=ren), "se": res.bse.rename(index=ren),
            "deviance": float(res.deviance), "nobs": int(res.nobs)}


def _clogit(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import formulaic
    from statsmodels.discrete.conditional_models import ConditionalLogit

    require(args.get("method", "exact") == "exact",
            f"ConditionalLogit is the exact likelihood; no {args.get('method')} approximation")
    f = parse_formula(args["formula"])
    d = complete_rows(data, args, [*f.variables, args["strata"]])
    # with an intercept (then dropped) so that C(k) is coded by contrasts, as R's clogit does
    x = pd.DataFrame(formulaic.model_matrix(f.rhs, d)).drop(columns="Intercept")
    x.columns = [c.replace("[T.", "[") for c in x.columns]
    res = ConditionalLogit(d[f.y], x, groups=d[args["strata"]]).fit(
        disp=False, method="newton", tol=1e-12, maxiter=200
    )
    # nobs left out: ConditionalLogit drops the strata whose outcome does not vary (R keeps them)
    return {"coef": res.params, "se": res.bse, "loglik": float(res.llf)}


def _mixedlm(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import statsmodels.formula.api as smf

    require(args.get("vcov") in (None, "iid"), "MixedLM has no cluster-robust covariance")
    f = parse_formula(args["formula"])
    d = complete_rows(data, {}, [*f.variables, args["group"]])
    reml = bool(args.get("reml", True))
    res = smf.mixedlm(args["formula"], d, groups=d[args["group"]]).fit(
        reml=reml, method="bfgs", maxiter=2000, gtol=1e-12
    )
    fe = res.fe_params.index
    ren = {"Intercept": "(Intercept)"}
    s2 = float(res.scale)
    return {
        "coef": res.fe_params.rename(index=ren),
        "se": res.bse[fe].rename(index=ren),
        "varcomp": {args["group"]: float(res.cov_re.iloc[0, 0]) * 1.0, "Residual": s2},
        "criterion": -2.0 * float(res.llf),
        "nobs": int(res.nobs),
        "ngroups": int(d[args["group"]].nunique()),
    }


def _hochberg(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    from statsmodels.stats.multitest import multipletests

    p = pd.Series(data[args["p"]].to_numpy(), index=data[args["label"]].astype(str))
    if args.get("subset"):
        p = p.loc[list(args["subset"])]
    p = p.dropna()
    adj = multipletests(p.to_numpy(), method="simes-hochberg")[1]
    return {"adjusted": pd.Series(adj, index=p.index)}


_OLS = (
    "ols_iid_nofe", "ols_iid_twfe", "ols_iid_twfe_w", "ols_hc1_twfe", "ols_hc1_twfe_w",
    "ols_cr1_twfe", "ols_cr1_twfe_w", "ols_cr1_few_w", "ols_hc0_twfe", "ols_hc2_twfe_w",
    "ols_hc3_twfe", "ols_hc3_onefe", "ols_hc2_nofe", "ols_cr0_twfe", "ols_cr1_2way",
)
ADAPTERS = {
    **{c: ("smf.wls", _ols) for c in _OLS},
    **{c: ("smf.glm Binomial", _logit)
       for c in ("logit_iid_fe", "logit_iid_rdefault", "logit_cr1_g6_weights")},
    **{c: ("ConditionalLogit", _clogit) for c in ("clogit_exact", "clogit_efron")},
    **{c: ("smf.mixedlm", _mixedlm)
       for c in ("lmer_balanced_reml", "lmer_unbalanced_reml", "lmer_unbalanced_ml")},
    **{c: ("multipletests simes-hochberg", _hochberg)
       for c in ("hochberg_ties_na", "hochberg_secondary", "hochberg_small_p")},
}
