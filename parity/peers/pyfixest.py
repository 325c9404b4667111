"""pyfixest against the ``ols`` and ``boottest`` cases.

- ``ols``: ``pyfixest.feols`` with the case's formula (the same ``y ~ x | fe1 + fe2`` syntax),
  its default small-sample correction (``ssc()``: fixest's, ``k_fixef="nonnested"``), and
  ``fixef_rm="none"`` (R's ``lm`` keeps singletons). ``vcov``: iid -> ``"iid"``, HC1 ->
  ``"hetero"``, CR1 -> ``{"CRV1": cluster}`` (``"a+b"`` for two-way). The R reference is ``lm`` +
  sandwich, whose CR1 counts every fixed-effect dummy in k: when the cluster is also a fixed
  effect the two differ (KNOWN_DEPARTURES "d", checked against a fixest reference).
- ``boottest``: ``Feols.wildboottest`` (the wildboottest package as engine), same options as
  :mod:`parity.peers.wildboottest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from parity.case import Quantity
from parity.peers._common import complete_rows, parse_formula, require
from parity.peers.wildboottest import check_boottest_args

__all__ = ["ADAPTERS", "feols_vcov"]


def feols_vcov(vcov: str, cluster: Any) -> Any:
    """The pyfixest ``vcov`` argument of a case's ``vcov`` / ``cluster``."""
    if vcov == "iid":
        return "iid"
    if vcov == "HC1":
        return "hetero"
    require(vcov == "CR1", f"pyfixest has no {vcov} covariance with fixed effects")
    require(isinstance(cluster, str) or len(cluster) <= 2, "pyfixest clusters on two ways at most")
    return {"CRV1": cluster if isinstance(cluster, str) else "+".join(cluster)}


def _feols(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import pyfixest as pf

    require(not args.get("multi0"), "pyfixest has no multi0 option")
    f = parse_formula(args["formula"])
    d = complete_rows(data, args, list(f.variables))
    fit = pf.feols(args["formula"], d, vcov=feols_vcov(args["vcov"], args.get("cluster")),
                   weights=args.get("weights"), fixef_rm="none", fixef_tol=1e-12)
    ren = {"Intercept": "(Intercept)"}
    return {"coef": fit.coef().rename(index=ren), "se": fit.se().rename(index=ren),
            "nobs": int(fit._N)}


def _boottest(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import pyfixest as pf

    check_boottest_args(args, "pyfixest's wildboottest")
    f = parse_formula(args["formula"])
    d = complete_rows(data, args, list(f.variables))
    require(not f.fe or args.get("fixef_k") == "full",
            "pyfixest's wildboottest projects out fixed effects only as dummies")
    rhs = " + ".join([f.rhs, *(f"C({c})" for c in f.fe)])
    fit = pf.feols(f"{f.y} ~ {rhs}", d, vcov={"CRV1": args["cluster"]})
    out = fit.wildboottest(reps=int(args["B"]), param=args["param"], cluster=args["cluster"],
                           weights_type=args["type"], impose_null=bool(args["impose_null"]),
                           bootstrap_type="11", seed=int(args["seed"]))
    return {"t_stat": float(out["t value"]), "p_value": float(out["Pr(>|t|)"]),
            "n_clusters": float(np.unique(d[args["cluster"]]).size)}


_OLS = (
    "ols_iid_nofe", "ols_iid_twfe", "ols_iid_twfe_w", "ols_hc1_twfe", "ols_hc1_twfe_w",
    "ols_cr1_twfe", "ols_cr1_twfe_w", "ols_cr1_few_w", "ols_cr1_singletons", "ols_hc1_fe_only",
    "ols_cr1_2way", "ols_cr1_2way_w", "ols_cr1_3way", "ols_cr2_twfe",
)
_BOOT = ("boottest_enum_wcr", "boottest_enum_wcu", "boottest_voters_rademacher",
         "boottest_voters_norm", "boottest_enum_less")
ADAPTERS = {
    **{c: ("feols", _feols) for c in _OLS},
    **{c: ("Feols.wildboottest", _boottest) for c in _BOOT},
}
