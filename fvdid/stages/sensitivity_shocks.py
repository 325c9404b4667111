"""The protocol's common-shock test (Matching on parallel trends; sensitivity analysis).

"Using only data from when Family Valued was already implemented ... we control for the common
shock and its interaction with the presence of Family Valued. A significant coefficient of the
interaction effect will indicate a potential violation of the common shock assumption."

For each named shock, on the children of each matched pair referred on or after its treatment
LA's go-live month (both LAs of the pair), with the stacked pair design of the primary:

    y ~ fv + shock + fv × shock + fv × quarters-since-go-live bins + covariates
        | pair-specific LA + pair-specific time fixed effects,

CR1 standard errors clustered by LA and t(G − 1) p-values. ``shock`` is the post-shock
indicator (referral month on or after the LA's shock date), or the LA's ``response`` times the
indicator when the shocks table gives a response (an exposure measure). In this sample ``fv`` is
the treatment-LA indicator, absorbed by the pair-specific LA effects, and a shock indicator
common to the LAs is absorbed by the pair-specific time effects; the interaction is identified
from treatment-LA children referred before and after the shock. The event-time bins (0, 1, and 2 or
more quarters since go-live, :data:`SHOCK_EVENT_BINS`) keep an FV effect that grows with time
since go-live from being read as an interaction with a later shock: without them, the test
rejected in two of five null simulations; with the six bins of the differential-time-effects
analysis, they absorb most of the within-LA variation the interaction is identified from (with
five pairs), and the test rejected a 0.8 logit-scale differential in one of five.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fvdid.stages.estimate import STACKED_FE, stack_pairs

__all__ = ["SHOCK_COLUMNS", "SHOCK_EVENT_BINS", "shock_tests"]

#: FV × quarters-since-go-live bins of the shock regression: 0, 1, 2 or more.
SHOCK_EVENT_BINS = 3

SHOCK_COLUMNS = ["shock", "date", "exposure", "estimate", "std_error", "p_value", "df",
                 "children", "LAs", "result"]


def _bins(d: pd.DataFrame, event_bins: int) -> list[str]:
    names = []
    if "event_time_q" not in d.columns:
        return names
    e = d["event_time_q"]
    for k in range(event_bins):
        name = f"fv_e{k}" if k < event_bins - 1 else f"fv_e{k}plus"
        d[name] = ((d["fv"] == 1) & ((e == k) if k < event_bins - 1 else (e >= k))).astype(int)
        names.append(name)
    return names


def shock_tests(
    data: pd.DataFrame,
    las: pd.DataFrame,
    shocks: pd.DataFrame | None,
    *,
    outcome: str,
    pairs: pd.DataFrame,
    terms: Sequence[str],
    time_fe: str = "referral_quarter",
    alpha: float = 0.05,
    event_bins: int = SHOCK_EVENT_BINS,
) -> tuple[pd.DataFrame, list[str]]:
    """The common-shock test of each shock: (one row per shock, notes).

    Parameters
    ----------
    data
        One completed copy of the outcome's analytic sample (child rows).
    las
        The LA table (``la_code``, ``go_live`` months).
    shocks
        ``la_code, shock, date`` (months) and optionally ``response``; None or empty: no rows.
    outcome, pairs, terms, time_fe, alpha, event_bins
        Outcome, matched pairs (``treated_la, comparator_la``), covariate terms of the primary's
        formula, time column of the fixed effects, level, number of event-time bins.

    Returns
    -------
    The table (columns :data:`SHOCK_COLUMNS`; ``result`` says "tested" or why not) and notes.
    """
    from fvdid.estimators.ols import ols

    notes: list[str] = []
    if shocks is None or len(shocks) == 0:
        return pd.DataFrame(columns=SHOCK_COLUMNS), notes
    go = dict(zip(las["la_code"].astype(str), las["go_live"]))
    st = stack_pairs(data, pairs, time=time_fe)
    pair_go = {i + 1: go.get(str(t)) for i, t in enumerate(
        pairs[["treated_la", "comparator_la"]].drop_duplicates()["treated_la"])}
    month = pd.PeriodIndex(st["referral_date"].dt.to_period("M")) if "referral_date" in st.columns else \
        pd.PeriodIndex(st["referral_month"].astype(str), freq="M")
    gl = pd.PeriodIndex(st["pair_id"].map(pair_go), freq="M")
    post_go = np.asarray(month >= gl)
    st = st.loc[post_go].copy()
    month = month[post_go]
    bins = _bins(st, event_bins)
    design_las = sorted(set(st["la_code"].astype(str)))
    rows = []
    for name, sh in shocks.groupby("shock", sort=False):
        base = {"shock": name, "date": ", ".join(sorted({str(x) for x in sh["date"]}))}
        missing = sorted(set(design_las) - set(sh["la_code"].astype(str)))
        if missing:
            rows.append({**base, "result": "not tested: no date for LA(s) " + ", ".join(missing)})
            continue
        date = pd.PeriodIndex(st["la_code"].astype(str).map(dict(zip(sh["la_code"].astype(str), sh["date"]))), freq="M")
        post = np.asarray(month >= date).astype(float)
        resp = None
        if "response" in sh.columns and sh["response"].notna().all():
            resp = st["la_code"].astype(str).map(dict(zip(sh["la_code"].astype(str), sh["response"]))).to_numpy(float)
        base["exposure"] = "LA response × post-shock" if resp is not None else "post-shock indicator"
        treated_post = post[st["fv"].to_numpy() == 1]
        if treated_post.size == 0 or treated_post.min() == treated_post.max():
            why = ("the shock precedes every go-live" if treated_post.size and treated_post.min() == 1
                   else "the shock comes after the last referral")
            rows.append({**base, "result": f"not tested: {why}, so no FV children are referred on "
                         "both sides of it"})
            continue
        d = st.assign(shock_x=post * (resp if resp is not None else 1.0))
        d["fv_x_shock"] = d["fv"] * d["shock_x"]
        fml = f"{outcome} ~ {' + '.join(['fv', 'shock_x', 'fv_x_shock', *bins, *terms])} | {' + '.join(STACKED_FE)}"
        f = ols(fml, d, vcov="CR1", cluster="la_code", alpha=alpha)
        if "fv_x_shock" not in f.params.index or not np.isfinite(f.std_errors.get("fv_x_shock", np.nan)):
            rows.append({**base, "result": "not tested: the interaction is collinear with the fixed effects"})
            continue
        rows.append({**base, "estimate": float(f.params["fv_x_shock"]),
                     "std_error": float(f.std_errors["fv_x_shock"]),
                     "p_value": float(f.pvalues["fv_x_shock"]), "df": float(f.df["fv_x_shock"]),
                     "children": int(f.nobs), "LAs": int(f.n_clusters or 0), "result": "tested"})
    return pd.DataFrame(rows).reindex(columns=SHOCK_COLUMNS), notes
