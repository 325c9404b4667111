"""differences against the ``did`` cases (R: did::att_gt + did::aggte).

``differences.ATTgt(data indexed by (unit, time), cohort_column, base_period, anticipation)``,
``fit(formula="y ~ x1 + x2", est_method, control_group, weights_column,
as_repeated_cross_section)`` and ``aggregate("simple" | "event" | "cohort" | "time",
overall=...)``, the analytic standard errors. The never-treated cohort is NaN in differences (0 in
R's did). did's ``ipw`` is the normalised (standardised) IPW: differences' ``"std_ipw"``. Repeated
cross sections get a row id as entity. The bootstrap cases draw random numbers: not run.
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

_METHOD = {"dr": "dr", "reg": "reg", "ipw": "std_ipw"}
_AGG = {"simple": "simple", "dynamic": "event", "group": "cohort", "calendar": "time"}


def _col(frame: pd.DataFrame, last: str) -> pd.Series:
    return frame[next(c for c in frame.columns if c[-1] == last)]


def _differences(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    from differences import ATTgt

    require(not args.get("bootstrap"), "the multiplier bootstrap draws other random numbers")
    require(not args.get("cluster"), "clustered case: bootstrap only")
    for agg in args.get("aggregations", ()):
        require(not ({"min_e", "max_e", "balance_e"} & set(agg)),
                "differences' aggregate() has no min_e / max_e / balance_e")
    panel = bool(args.get("panel", True))
    require(not args.get("allow_unbalanced_panel"),
            "differences has no allow_unbalanced_panel (it balances or treats as RC)")
    d = data.copy()
    unit = args.get("unit")
    if not panel or unit is None:
        d["peer_row"] = np.arange(len(d))
        unit = "peer_row"
    cohort = args["cohort"]
    d["peer_cohort"] = d[cohort].where(d[cohort] > 0)
    covs = list(args.get("covariates") or [])
    formula = args["y"] + (" ~ " + " + ".join(covs) if covs else "")
    att = ATTgt(data=d.set_index([unit, args["time"]]), cohort_column="peer_cohort",
                base_period=args.get("base_period", "varying"),
                anticipation=int(args.get("anticipation", 0)))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        att.fit(formula=formula, est_method=_METHOD[args["method"]],
                control_group=args.get("control", "never_treated"),
                weights_column=args.get("weights"),
                as_repeated_cross_section=not panel, progress_bar=False)
        r = att.results()
        labels = [label_str((g, t)) for g, _, t in r.index]
        out: dict[str, Quantity] = {
            "att": pd.Series(_col(r, "ATT").to_numpy(dtype=float), index=labels),
            "se": pd.Series(_col(r, "std_error").to_numpy(dtype=float), index=labels),
        }
        for agg in args.get("aggregations", ()):
            kind, name = _AGG[agg["type"]], agg["name"]
            if kind != "simple":
                a = att.aggregate(kind)
                keys = [label_str(k) for k in a.index]
                out[f"{name}_att"] = pd.Series(_col(a, "ATT").to_numpy(dtype=float), index=keys)
                out[f"{name}_se"] = pd.Series(_col(a, "std_error").to_numpy(dtype=float),
                                              index=keys)
            o = att.aggregate(kind, overall=kind != "simple")
            out[f"{name}_overall_att"] = float(_col(o, "ATT").iloc[0])
            out[f"{name}_overall_se"] = float(_col(o, "std_error").iloc[0])
    return out


_CASES = (
    "did_mpdta_nocov_dr_never", "did_mpdta_nocov_dr_notyet", "did_mpdta_nocov_ipw_never",
    "did_mpdta_nocov_reg_never", "did_mpdta_nocov_reg_notyet", "did_mpdta_lpop_dr_never",
    "did_mpdta_lpop_ipw_never", "did_mpdta_lpop_reg_notyet", "did_mpdta_anticipation1",
    "did_mpdta_universal", "did_rc_dr", "did_rc_reg", "did_panel_weights_dr",
    "did_mpdta_aggregation_windows",
)
ADAPTERS = {c: ("ATTgt + aggregate", _differences) for c in _CASES}
