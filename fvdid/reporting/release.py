"""Tables as released: the flow of children, CEM per pair and the estimates, after disclosure control.

Everything here leaves the secure environment, so every count passes :mod:`fvdid.reporting.sdc`
(threshold, rounding, secondary suppression) and every estimate needs enough residual degrees of
freedom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fvdid.reporting.sdc import dof_ok, release_table

__all__ = ["estimate_rows", "released_cem", "released_flow"]


def released_flow(flow: pd.DataFrame, cfg: Any) -> pd.DataFrame:
    """The flow table as released: small counts suppressed, others rounded; the first row's
    exclusions are structural zeros."""
    counts = [c for c in flow.columns if c != "step"]
    structural = pd.DataFrame(False, index=flow.index, columns=counts)
    structural.loc[flow.index[0], [c for c in counts if c.startswith("excluded")]] = True
    return release_table(flow, counts, threshold=cfg.sdc_threshold, round_base=cfg.sdc_round_base,
                         structural=structural)


def released_cem(pairs: pd.DataFrame, cfg: Any) -> pd.DataFrame:
    """The CEM table per pair as released (counts and the shares derived from them)."""
    counts = [c for c in ("n_treated", "n_control", "n_treated_matched", "n_control_matched") if c in pairs]
    shares = {
        "share_treated_matched": ("n_treated_matched", "n_treated"),
        "share_matched": ("n_treated_matched", "n_control_matched", "n_treated", "n_control"),
        "loss_by_year": ("n_treated",),
    }
    shares = {k: v for k, v in shares.items() if k in pairs and all(p in pairs for p in v)}
    return release_table(pairs, counts, shares=shares, threshold=cfg.sdc_threshold,
                         round_base=cfg.sdc_round_base)


def estimate_rows(ests: Mapping[str, Any], threshold: int) -> pd.DataFrame:
    """One row per outcome's estimate; estimates with too few residual df are withheld."""
    rows = []
    for name, e in ests.items():
        ok = dof_ok(e.df_resid, threshold) and e.n_clusters >= 2
        rows.append({
            "outcome": name, "model (protocol rule)": e.protocol_model, "baseline": e.baseline_rate,
            "estimate": e.estimate if ok else np.nan, "std_error (CR1)": e.std_error if ok else np.nan,
            "df": e.df, "p (t(G-1))": e.p_value if ok else np.nan,
            "p (wild bootstrap)": e.boot_p_value if ok else np.nan,
            "conf_low": e.conf_low if ok else np.nan, "conf_high": e.conf_high if ok else np.nan,
            "LAs": e.n_clusters,
        })
    return pd.DataFrame(rows)
