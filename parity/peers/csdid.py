"""csdid against the ``did`` cases (R: did::att_gt + did::aggte).

``csdid.att_gt.ATTgt(yname, tname, idname, gname, data, control_group, xformla, panel,
weights_name, anticipation).fit(est_method, base_period, bstrap=False)`` and ``aggte(typec,
balance_e, min_e, max_e, bstrap=False)``: the analytic standard errors. The cases with the
multiplier bootstrap (random draws) or clustering are not run (csdid draws other random numbers).
Repeated cross sections get a row id as ``idname``. Labels: ``"g:t"``, event time, group, period.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from parity.case import Quantity
from parity.compare import label_str
from parity.peers._common import require

__all__ = ["ADAPTERS"]

_CONTROL = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}


def _csdid(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    from csdid.att_gt import ATTgt

    require(not args.get("bootstrap"), "csdid's multiplier bootstrap draws other random numbers")
    require(not args.get("cluster"), "clustered case: bootstrap only")
    panel = bool(args.get("panel", True))
    d = data.copy()
    idname = args.get("unit")
    if not panel or idname is None:
        d["_row"] = np.arange(len(d))
        idname = "_row"
    covs = list(args.get("covariates") or [])
    xformla = "~ " + " + ".join(covs) if covs else None
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        m = ATTgt(yname=args["y"], tname=args["time"], idname=idname, gname=args["cohort"],
                  data=d, control_group=[_CONTROL[args.get("control", "never_treated")]],
                  xformla=xformla, panel=panel,
                  allow_unbalanced_panel=bool(args.get("allow_unbalanced_panel", False)),
                  weights_name=args.get("weights"), anticipation=int(args.get("anticipation", 0)))
        m.fit(est_method=args["method"], base_period=args.get("base_period", "varying"),
              bstrap=False)
        r = m.results
        labels = [label_str((g, t)) for g, t in zip(r["group"], r["year"])]
        out: dict[str, Quantity] = {
            "att": pd.Series(np.asarray(r["att"], dtype=float), index=labels),
            "se": pd.Series(np.asarray(r["se"], dtype=float), index=labels),
        }
        for agg in args.get("aggregations", ()):
            kw: dict[str, Any] = {"balance_e": agg.get("balance_e")}
            if "min_e" in agg:
                kw["min_e"] = agg["min_e"]
            if "max_e" in agg:
                kw["max_e"] = agg["max_e"]
            m.aggte(typec=agg["type"], bstrap=False, **kw)
            a, name = m.atte, agg["name"]
            out[f"{name}_overall_att"] = float(a["overall_att"])
            out[f"{name}_overall_se"] = float(a["overall_se"])
            if agg["type"] != "simple" and a.get("egt") is not None:
                keys = [label_str(e) for e in np.asarray(a["egt"]).tolist()]
                out[f"{name}_att"] = pd.Series(np.asarray(a["att_egt"], dtype=float), index=keys)
                out[f"{name}_se"] = pd.Series(np.asarray(a["se_egt"], dtype=float), index=keys)
    return out


_CASES = (
    "did_mpdta_nocov_dr_never", "did_mpdta_nocov_dr_notyet", "did_mpdta_nocov_ipw_never",
    "did_mpdta_nocov_reg_never", "did_mpdta_lpop_dr_never", "did_mpdta_lpop_dr_notyet",
    "did_mpdta_lpop_ipw_notyet", "did_mpdta_lpop_reg_never", "did_mpdta_anticipation1",
    "did_mpdta_universal", "did_mpdta_aggregation_windows", "did_rc_dr", "did_rc_ipw",
    "did_rc_reg", "did_rc_weights_notyet_dr", "did_panel_weights_dr",
    "did_panel_unbalanced_allow", "did_panel_no_never_notyet", "did_mpdta_bootstrap_cband",
)
ADAPTERS = {c: ("ATTgt + aggte", _csdid) for c in _CASES}
