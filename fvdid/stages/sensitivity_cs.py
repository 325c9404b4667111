"""Callaway–Sant'Anna on the child-level repeated cross-sections of the matched design.

Sensitivity analysis of :mod:`fvdid.stages.sensitivity`. The data are the primary outcome's
analytic sample in the LAs of its matched pairs: one row per child, time = the referral quarter
(1, 2, ... over the quarters of the sample), cohort = the LA's go-live quarter (0 for the
comparators, which never go live). :func:`fvdid.att_gt` runs its repeated cross-section path
(``panel=False``; R ``did::att_gt(panel = FALSE)``) with the never-treated comparators as the
control group (``control="never_treated"``): each treatment LA is then compared with the LAs
the protocol matched it to, as in the primary, and not with other treatment LAs' children
referred in their embedding period between FGC start and go-live, who may already respond to
the programme.

Inference is clustered by LA: the multiplier bootstrap draws one Rademacher weight per LA
(``cluster="la_code"``, R ``clustervars``). With ``G`` LAs there are only ``2**G`` distinct
draws and the bootstrap rests on ``G`` clusters, each cohort on a single LA, so the
aggregations also get a randomization p-value (:func:`randomization_pvalue`): the observed
go-live quarters are reassigned at random to the matched LAs (each draw gives the observed
multiset of go-live quarters to a uniformly drawn set of as many LAs; the others become
never-treated), the simple aggregation is recomputed on each draw, and
``p = (1 + #{|ATT_draw| >= |ATT_observed|}) / (1 + R)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["CSResult", "cluster_wald", "cs_child_level", "cs_data", "event_times", "gt_cells", "la_totals",
           "randomization_pvalue", "simple_att"]

#: Bootstrap draws of the clustered multiplier bootstrap.
CS_BOOT = 999
#: Draws of the randomization test.
CS_PERMUTATIONS = 1999


@dataclass(frozen=True)
class CSResult:
    """Callaway–Sant'Anna on the child-level data: tables, pre-test, randomization p-value."""

    aggregations: pd.DataFrame
    dynamic: pd.DataFrame
    pretest_df: int
    pretest_pvalue: float
    pretest_text: str
    n_clusters: int
    n_children: int
    n_cells_pre: int
    ri_pvalue: float
    ri_draws: int
    figure: Any = None


def cs_data(analytic: pd.DataFrame, las: pd.DataFrame, *, outcome: str, units: Sequence[str],
            treated: Sequence[str]) -> pd.DataFrame:
    """The child-level rows of ``units`` with ``t`` (quarter index), ``cohort`` and ``y``."""
    d = analytic.loc[analytic["la_code"].isin(set(units)), ["la_code", "referral_quarter", outcome]]
    d = d[d[outcome].notna()]
    rq = d["referral_quarter"]
    q = pd.PeriodIndex(rq if isinstance(rq.dtype, pd.PeriodDtype) else rq.astype(str), freq="Q")
    quarters, t = np.unique(q.asi8, return_inverse=True)
    go = las.set_index(las["la_code"].astype(str))["go_live"]
    la = d["la_code"].astype(str)
    treated = set(treated)
    cohort = {}
    for code in la.unique():
        g = go.get(code, pd.NaT)
        if code not in treated or pd.isna(g):
            cohort[code] = 0
        else:
            # The first sample quarter on or after the go-live quarter (did treats a cohort
            # after the last quarter as never treated within the sample and announces it).
            cohort[code] = int(np.searchsorted(quarters, pd.Period(g, freq="M").asfreq("Q").ordinal)) + 1
    return pd.DataFrame({"la_code": la.to_numpy(), "t": t.astype(int) + 1,
                         "cohort": la.map(cohort).to_numpy(dtype=int),
                         "y": d[outcome].to_numpy(dtype=float)})


def _cells(sums: np.ndarray, counts: np.ndarray, cohort: np.ndarray) -> tuple[np.ndarray, ...]:
    T = sums.shape[1]
    never = cohort == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        yc = sums[never].sum(0) / counts[never].sum(0)
    total = counts.sum()
    t = np.arange(2, T + 1)
    gs, ts, atts, pgs = [], [], [], []
    for g in np.unique(cohort[cohort > 0]):
        if g < 2 or g > T:
            continue
        sel = cohort == g
        gn = counts[sel].sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = sums[sel].sum(0) / gn - yc
        base = np.where(t >= g, g - 1, t - 1)
        gs.append(np.full(t.size, g))
        ts.append(t)
        atts.append(d[t - 1] - d[base - 1])
        pgs.append(np.full(t.size, gn.sum() / total))
    if not gs:
        return tuple(np.zeros(0) for _ in range(4))
    return tuple(np.concatenate(x) for x in (gs, ts, atts, pgs))


def gt_cells(sums: np.ndarray, counts: np.ndarray, cohort: np.ndarray) -> pd.DataFrame:
    """did's ATT(g,t) cells (unconditional, never-treated control, varying base period).

    ``sums``, ``counts``: LA × period totals of the outcome and of children; ``cohort``: each
    LA's first treated period (1-based; 0 never treated). For ``t >= g`` ATT(g,t) is the change
    in the cohort's pooled mean from ``g - 1`` to ``t`` minus the same change among the
    never-treated; for ``t < g`` the change from ``t - 1`` to ``t``. Returns ``group, time,
    att, pg`` (``pg``: the cohort's share of children, did's aggregation weight).
    """
    g, t, att, pg = _cells(sums, counts, cohort)
    return pd.DataFrame({"group": g, "time": t, "att": att, "pg": pg})


def _simple(g: np.ndarray, t: np.ndarray, att: np.ndarray, pg: np.ndarray) -> float:
    post = t >= g
    return float((att[post] * pg[post]).sum() / pg[post].sum()) if post.any() else float("nan")


def _pre_stat(g: np.ndarray, t: np.ndarray, att: np.ndarray, pg: np.ndarray) -> float:
    """Sum of squares of the pre-treatment event-time estimates (did's dynamic aggregation)."""
    pre = t < g
    e = (t - g)[pre]
    out = 0.0
    for k in np.unique(e):
        s = e == k
        out += (float((att[pre][s] * pg[pre][s]).sum() / pg[pre][s].sum())) ** 2
    return out


def event_times(sums: np.ndarray, counts: np.ndarray, cohort: np.ndarray) -> pd.Series:
    """did's dynamic aggregation of :func:`gt_cells`: event time ``t - g`` -> ATT(e)."""
    c = gt_cells(sums, counts, cohort)
    c = c.assign(e=c["time"] - c["group"], w=c["att"] * c["pg"])
    by = c.groupby("e")
    return (by["w"].sum() / by["pg"].sum()).rename("att")


def simple_att(sums: np.ndarray, counts: np.ndarray, cohort: np.ndarray) -> float:
    """did's simple aggregation of :func:`gt_cells` (post cells weighted by ``pg``)."""
    return _simple(*_cells(sums, counts, cohort))


def la_totals(d: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(LAs, LA × period outcome sums, child counts, each LA's cohort) of :func:`cs_data` rows."""
    las = sorted(d["la_code"].unique())
    T = int(d["t"].max())
    li = pd.Categorical(d["la_code"], categories=las).codes
    ti = d["t"].to_numpy() - 1
    sums, counts = np.zeros((len(las), T)), np.zeros((len(las), T))
    np.add.at(sums, (li, ti), d["y"].to_numpy())
    np.add.at(counts, (li, ti), 1.0)
    coh = d.groupby("la_code")["cohort"].first().reindex(las).to_numpy(dtype=int)
    return las, sums, counts, coh


def randomization_pvalue(d: pd.DataFrame, *, draws: int = CS_PERMUTATIONS, seed: int = 0) -> tuple[float, float]:
    """(simple-aggregation p, pre-trend p) reassigning the go-live quarters among the LAs.

    Each draw gives the observed go-live quarters (as a multiset) to a uniformly drawn set of
    as many LAs of ``d``, in random order; the other LAs become never-treated. The simple
    aggregation's p-value is two-sided, ``(1 + #{|ATT_draw| >= |ATT_obs|}) / (1 + draws)``; the
    pre-trend p-value compares the sum of squares of the pre-treatment event-time estimates.
    """
    _, sums, counts, coh = la_totals(d)
    cells = _cells(sums, counts, coh)
    obs, obs_pre = abs(_simple(*cells)), _pre_stat(*cells)
    rng = np.random.default_rng([seed, 0xC5])
    dates = coh[coh > 0]
    hits = hits_pre = 0
    for _ in range(draws):
        perm = np.zeros_like(coh)
        perm[rng.choice(coh.size, size=dates.size, replace=False)] = rng.permutation(dates)
        c = _cells(sums, counts, perm)
        # ties within rounding count as at least as extreme
        hits += abs(_simple(*c)) >= obs * (1 - 1e-12)
        hits_pre += _pre_stat(*c) >= obs_pre * (1 - 1e-12)
    return (1 + hits) / (1 + draws), (1 + hits_pre) / (1 + draws)


def cluster_wald(est: np.ndarray, phi: np.ndarray, cluster: np.ndarray, n: int) -> tuple[float, int]:
    """(Wald statistic, rank): test of ``est = 0`` with the LA-clustered covariance of ``phi``.

    ``phi`` is did's ``n × k`` influence function (``est - truth ≈ mean(phi)``); the
    covariance is ``G/(G-1) Σ_c s_c s_c'`` with ``s_c`` the cluster sum of ``phi / n``. The
    statistic is NaN when the covariance is singular (rank below ``k``).
    """
    codes, cl = np.unique(cluster, return_inverse=True)
    G = codes.size
    s = np.zeros((G, phi.shape[1]))
    np.add.at(s, cl, phi / n)
    V = G / max(G - 1, 1) * (s.T @ s)
    rank = int(np.linalg.matrix_rank(V)) if est.size else 0
    if rank < est.size or not est.size:
        return float("nan"), rank
    return float(est @ np.linalg.solve(V, est)), rank


def cs_child_level(d: pd.DataFrame, *, alpha: float = 0.05, seed: int = 0, figures: bool = False,
                   boot: int = CS_BOOT, permutations: int = CS_PERMUTATIONS) -> CSResult:
    """Callaway–Sant'Anna (repeated cross-sections, clustered by LA) on :func:`cs_data`'s rows."""
    from fvdid.estimators._att_gt_inference import multiplier_bootstrap
    from fvdid.estimators.aggte import aggte
    from fvdid.estimators.att_gt import att_gt

    with warnings.catch_warnings():
        # The announcements (small groups, dropped rows) are in the result's notes.
        warnings.simplefilter("ignore")
        r = att_gt(d, y="y", time="t", cohort="cohort", panel=False, control="never_treated",
                   method="reg", cluster="la_code", bootstrap=True, B=boot, alpha=alpha, seed=seed)
        G = int(np.unique(r.unit_cluster).size)
        rows, dyn, fig = [], None, None
        rng = np.random.default_rng([seed, 0xB0])
        for typ in ("simple", "dynamic", "group", "calendar"):
            a = aggte(r, type=typ)
            bo = multiplier_bootstrap(a.overall_influence, B=boot, alpha=alpha, rng=rng,
                                      cluster=r.unit_cluster)
            centred = bo["draws"][:, 0] / np.sqrt(bo["n"])
            p_boot = float((1 + np.sum(np.abs(centred) >= abs(a.overall_att))) / (1 + boot))
            rows.append({"aggregation": typ, "att": a.overall_att, "se": a.overall_se,
                         "conf_low": a.overall_conf_low, "conf_high": a.overall_conf_high,
                         "p_bootstrap": p_boot})
            if typ == "dynamic":
                dyn = a.table
                if figures:
                    fig = a.plot()
    aggs = pd.DataFrame(rows)
    ri_p, ri_pre = randomization_pvalue(d, draws=permutations, seed=seed)
    aggs["p_randomization"] = [ri_p if t == "simple" else float("nan") for t in aggs["aggregation"]]
    n_pre = int((r.table["group"] > r.table["time"]).sum())
    k = int((dyn["event_time"] < 0).sum()) if dyn is not None else 0
    if k == 0:
        text = "There are no pre-treatment event times, so there is no pre-trend test."
        ri_pre = float("nan")
    else:
        text = (f"Pre-trend test by randomization: the sum of squares of the {k} pre-treatment "
                f"event-time estimates is {'not ' if ri_pre >= alpha else ''}unusually large "
                f"among {permutations:,} reassignments of the go-live quarters (p = {ri_pre:.3g}).")
    pre_cells = (r.table["group"] > r.table["time"]).to_numpy()
    W, rank = cluster_wald(r.table["att"].to_numpy()[pre_cells], r.influence[:, pre_cells],
                           r.unit_cluster, r.n_units)
    if np.isnan(W):
        text += (f" The asymptotic Wald test of the {n_pre} pre-treatment ATT(g,t)s cannot be "
                 f"computed: their LA-clustered covariance has rank {rank}, below {n_pre} (with {G} "
                 f"LAs the rank is at most {G - 1}, and less when a cohort holds a single LA, "
                 "whose cluster sum of the influence function is zero).")
    else:
        text += (f" The asymptotic Wald test of the {n_pre} pre-treatment ATT(g,t)s, LA-clustered, "
                 f"gives p = {stats.chi2.sf(W, n_pre):.3g}; with {G} LAs it is unreliable.")
    text += (" With one LA per cohort, clustered standard errors omit the treatment LA's own "
             "LA-level noise, which the randomization test does not.")
    return CSResult(aggregations=aggs, dynamic=dyn, pretest_df=k,
                    pretest_pvalue=float(ri_pre), pretest_text=text, n_clusters=G, n_children=int(r.n_units),
                    n_cells_pre=n_pre, ri_pvalue=float(ri_p), ri_draws=int(permutations),
                    figure=fig)
