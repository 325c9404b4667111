"""The LA x quarter aggregate panel (``la_quarter``), drawn from the expected rates.

Counts are drawn at the aggregate level (Poisson referrals, binomial outcomes; days and absence
means by normal approximations with the DGP's variances); treated cells add the effect weighted
by the share of the quarter's volume under FV. It is a separate draw from the child extract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fvdid.config import OUTCOMES
from fvdid.simulation.config import SimConfig
from fvdid.simulation.constants import CAP_DAYS
from fvdid.simulation.las import LAs
from fvdid.simulation.outcomes import tau
from fvdid.simulation.rates import Rates

__all__ = ["draw_panel", "fv_share_and_tau"]


def fv_share_and_tau(
    cfg: SimConfig, las: LAs, qi: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Share of each (LA, panel quarter)'s expected volume under FV, and the volume-weighted tau.

    ``qi`` are the positions of the panel quarters among the latent quarters.
    """
    g, cal = las.go_live, las.cal
    n_la = las.n_la
    months = cal.months.reshape(len(cal.q), 3)[qi]  # (nq, 3)
    since = months[None, :, :] - np.where(g.has_go, g.go, 0)[:, None, None]
    fv_m = g.has_go[:, None, None] & (since >= 0)
    w_m = las.volumes.vol_m.reshape(n_la, len(cal.q), 3)[:, qi, :]
    fv_share = (w_m * fv_m).sum(2) / w_m.sum(2)
    e_m = np.floor_divide(since, 3)
    taus = {o: (w_m * fv_m * tau(cfg, o, e_m)).sum(2) / w_m.sum(2) for o in OUTCOMES}
    return fv_share, taus


def draw_panel(rng: np.random.Generator, cfg: SimConfig, las: LAs, rates: Rates) -> pd.DataFrame:
    """Draw the ``la_quarter`` frame (every LA x panel quarter; counts NaN before first data)."""
    g, cal = las.go_live, las.cal
    qi = np.flatnonzero(np.isin(cal.q, cal.panel_q))
    nq = len(qi)
    n_la = las.n_la
    vol_q = las.volumes.vol_q[:, qi]
    fv_share, tau_ = fv_share_and_tau(cfg, las, qi)
    R = {o: rates.R[o][:, qi] for o in OUTCOMES}
    n = rng.poisson(vol_q)
    p_la = np.clip(R["looked_after_18m"] + tau_["looked_after_18m"], 0, 1)
    n_la_ = rng.binomial(n, p_la)
    cpp = rng.binomial(n, np.clip(R["cpp_12m"] + tau_["cpp_12m"], 0, 1))
    kin = rng.binomial(n_la_, np.clip(R["kinship_first_placement"] + tau_["kinship_first_placement"], 0, 1))
    reu = rng.binomial(n_la_, np.clip(R["reunified_18m"] + tau_["reunified_18m"], 0, 1))
    n_sch = rng.binomial(n, rates.p_school)
    with np.errstate(divide="ignore", invalid="ignore"):
        days = R["days_cpp_cin_18m"] + tau_["days_cpp_cin_18m"] + rng.normal(0, 1, (n_la, nq)) * np.sqrt(
            rates.V_days[:, qi] / n
        )
        absr = R["unauth_absence_rate"] + tau_["unauth_absence_rate"] + rng.normal(0, 1, (n_la, nq)) * np.sqrt(
            rates.V_abs[:, qi] / n_sch
        )
        nf = n.astype(float)
        out = {
            "looked_after_18m": n_la_ / nf,
            "cpp_12m": cpp / nf,
            "days_cpp_cin_18m": np.where(n > 0, np.clip(days, 0, CAP_DAYS), np.nan),
            "kinship_first_placement": kin / n_la_.astype(float),
            "reunified_18m": reu / n_la_.astype(float),
            "unauth_absence_rate": np.where(n_sch > 0, np.clip(absr, 0, 100), np.nan),
        }
    panel_q = cal.panel_q
    nodata = panel_q[None, :] < las.first_q[:, None]
    df = pd.DataFrame(
        {
            "la": np.repeat(g.codes, nq).astype(object),
            "quarter": pd.PeriodIndex.from_ordinals(np.tile(panel_q, n_la), freq="Q-DEC"),
            "n_referrals": pd.array(np.where(nodata, -1, n).ravel(), dtype="Int64"),
        }
    )
    df.loc[nodata.ravel(), "n_referrals"] = pd.NA
    for o in ("looked_after_18m", "cpp_12m", "days_cpp_cin_18m"):
        df[o] = np.where(nodata, np.nan, out[o]).ravel()
    df["n_looked_after"] = pd.array(n_la_.ravel(), dtype="Int64")
    df.loc[nodata.ravel(), "n_looked_after"] = pd.NA
    for o in ("kinship_first_placement", "reunified_18m"):
        df[o] = np.where(nodata, np.nan, out[o]).ravel()
    df["n_school_age"] = pd.array(n_sch.ravel(), dtype="Int64")
    df.loc[nodata.ravel(), "n_school_age"] = pd.NA
    df["unauth_absence_rate"] = np.where(nodata, np.nan, out["unauth_absence_rate"]).ravel()
    df["la_share_fsm"] = las.share_fsm[:, qi].ravel()
    df["la_share_white_british"] = las.share_wb[:, qi].ravel()
    df["la_other_innovation"] = las.innov[:, qi].ravel().astype(np.int8)
    df["treated"] = np.repeat(g.treated, nq)
    go_q = np.where(g.has_go, np.floor_divide(g.go, 3), np.iinfo(np.int64).max)
    df["fv"] = (panel_q[None, :] >= go_q[:, None]).ravel().astype(np.int8)
    df["fv_share"] = fv_share.ravel()
    return df
