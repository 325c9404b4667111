"""The per-(g,t) 2x2 comparisons of :func:`fvdid.estimators.att_gt.att_gt` (private).

:func:`_unit_arrays` lays the preprocessed data out per unit (wide arrays for balanced panels,
row indices per period for repeated cross-sections and unbalanced panels); :func:`_cells` lists
the (group, period, current index, base index) comparisons in did's order; :func:`_estimate_cells`
runs the 2x2 estimator of :mod:`fvdid.estimators._drdid` on each (:func:`_cell_panel`,
:func:`_cell_rc`) and returns the ATT(g,t) and their influence functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid.estimators import _drdid
from fvdid.estimators._att_gt_prep import _EPS, _announce, _fmt, _Prepared

Cell = tuple[float, float, int, int]  # (g, t, current period index, base period index)


@dataclass
class _Arrays:
    """The preprocessed data as arrays, and the per-unit weight, cohort and cluster."""

    X_all: np.ndarray
    w_all: np.ndarray
    y_all: np.ndarray
    g_all: np.ndarray
    tidx_all: np.ndarray
    unit_w: np.ndarray
    unit_coh: np.ndarray
    unit_cluster: np.ndarray | None
    # balanced panel: units × periods (× covariates)
    Yw: np.ndarray | None = None
    Ww: np.ndarray | None = None
    Xw: np.ndarray | None = None
    # repeated cross-sections / unbalanced panels: row indices per period
    rows_by_t: list[np.ndarray] | None = None


def _unit_arrays(
    prep: _Prepared,
    X_all: np.ndarray,
    *,
    y: str,
    time: str,
    cohort: str,
    unit: str | None,
    weights: str | None,
    cluster: str | None,
    bootstrap: bool,
) -> _Arrays:
    """Arrays of the preprocessed data; announces a cluster variable without the bootstrap."""
    d, tlist, n = prep.data, prep.tlist, prep.n
    nT = len(tlist)
    k = X_all.shape[1]
    w_all = d[weights].to_numpy(dtype=float) if weights is not None else np.ones(len(d))
    y_all = d[y].to_numpy(dtype=float)
    t_all = d[time].to_numpy(dtype=float)
    g_all = d[cohort].to_numpy(dtype=float)
    tidx_all = np.searchsorted(tlist, t_all)
    Yw = Ww = Xw = None
    rows_by_t = None
    if prep.panel:
        # wide arrays: units in id order, periods in time order (rows are sorted by unit, time)
        Yw = y_all.reshape(n, nT)
        Ww = w_all.reshape(n, nT)
        Xw = X_all.reshape(n, nT, k)
        unit_w = Ww[:, 0]
        unit_coh = g_all.reshape(n, nT)[:, 0]
        cl_rows = (
            d[cluster].to_numpy().reshape(n, nT)[:, 0] if cluster not in (None, unit) else None
        )
    else:
        codes = prep.unit_codes
        assert codes is not None
        rows_by_t = [np.flatnonzero(tidx_all == j) for j in range(nT)]
        cnt = np.bincount(codes, minlength=n).astype(float)
        unit_w = np.bincount(codes, weights=w_all, minlength=n) / cnt
        unit_coh = np.bincount(codes, weights=g_all, minlength=n) / cnt
        cl_rows = None
        if cluster not in (None, unit):
            first_row = np.unique(codes, return_index=True)[1]
            cl_rows = d[cluster].to_numpy()[first_row]
    unit_cluster = None
    if cl_rows is not None:
        unit_cluster = pd.factorize(pd.Series(cl_rows), sort=True)[0]
    if cluster is not None and not bootstrap and cluster != unit:
        _announce(
            prep.notes,
            "clustering the standard errors requires the bootstrap: the analytic standard errors "
            f"do NOT account for clustering on {cluster!r} (as in did)",
        )
    return _Arrays(
        X_all=X_all, w_all=w_all, y_all=y_all, g_all=g_all, tidx_all=tidx_all, unit_w=unit_w,
        unit_coh=unit_coh, unit_cluster=unit_cluster, Yw=Yw, Ww=Ww, Xw=Xw, rows_by_t=rows_by_t,
    )


def _cells(
    glist: np.ndarray, tlist: np.ndarray, *, anticipation: float, universal: bool
) -> list[Cell]:
    """The (g, t, current index, base index) comparisons in did's order."""
    nT = len(tlist)
    cells: list[Cell] = []
    for g in glist:
        base_univ = int(np.flatnonzero(tlist + anticipation < g)[-1])
        for c in range(0 if universal else 1, nT):
            if universal:
                b = base_univ
            else:
                b = base_univ if g <= tlist[c] else c - 1
            cells.append((g, tlist[c], c, b))
    return cells


def _cell_panel(
    arr: _Arrays,
    g: float,
    tt: float,
    c: int,
    b: int,
    thresh: float,
    *,
    n: int,
    method: str,
    never: bool,
    weighted: bool,
    cache: dict[tuple[Any, ...], Any] | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None, str | None]:
    """One 2x2 on the balanced panel: (att, selected units, their IF, or the problem).

    ``cache`` (one dict per call of :func:`_estimate_cells`) keeps what cells of one cohort
    share: the selected units (the same for every period with never-treated controls, held as
    their positions) and, per earlier period, their covariates, weights and control-rank check
    and the screening logit, which depend only on the units and that period (the same for all
    post-treatment cells of a cohort). A hit returns the very arrays computed for the first
    such cell, so the numbers are those of computing them again. The selected units are
    returned as their positions.
    """
    assert arr.Yw is not None and arr.Ww is not None and arr.Xw is not None
    cache = {} if cache is None else cache
    coh_u = arr.unit_coh
    k = arr.Xw.shape[2]
    early = min(c, b)
    skey = ("sel", g) if never else ("sel", g, thresh)
    hit = cache.get(skey)
    if hit is None:
        G = coh_u == g
        C = (coh_u == 0) if never else ((coh_u == 0) | ((coh_u > thresh) & (coh_u != g)))
        idx = np.flatnonzero(G | C)  # the selected units, in order: the boolean mask's elements
        D = G[idx].astype(float)
        for a in (idx, D):
            a.flags.writeable = False  # shared by the cohort's cells: never written
        hit = cache[skey] = (idx, D)
    idx, D = hit
    n1 = len(idx)
    dy = arr.Yw[idx, c] - arr.Yw[idx, b]
    pkey = (*skey, "period", early)
    per = cache.get(pkey)
    if per is None:
        X, wc = arr.Xw[idx, early, :], arr.Ww[idx, early]
        for a in (X, wc):
            a.flags.writeable = False
        per = cache[pkey] = (X, wc)
    X, wc = per
    ps_fit = None
    problem = None
    if method in ("dr", "ipw"):
        # did's screening logit (unweighted glm): overlap violated when max ps >= 0.999
        if k == 1:
            pmax = D.mean()
            if not weighted:
                ps_fit = np.full(n1, pmax)
        else:
            lkey = (*skey, "logit", early)
            if lkey not in cache:
                fitted = _drdid.logit_irls(X, D, np.ones(n1))[1]
                fitted.flags.writeable = False  # shared by the cohort's cells: never written
                cache[lkey] = fitted
            ps0 = cache[lkey]
            pmax = ps0.max()
            if not weighted:
                ps_fit = ps0
        if pmax >= 0.999:
            problem = f"overlap condition violated for group {_fmt(g)} in period {_fmt(tt)}"
    if problem is None and method in ("dr", "reg"):
        ckey = (*pkey, "controls")  # depends on the units and the period only
        if ckey not in cache:
            Xc = X[D == 0]
            cache[ckey] = not (Xc.shape[0] == 0 or _drdid._rcond(Xc.T @ Xc) < _EPS)
        if not cache[ckey]:
            problem = (
                f"not enough control units for group {_fmt(g)} in period {_fmt(tt)} to "
                "run the outcome regression"
            )
    if problem is not None:
        return np.nan, None, None, problem
    estimator = {"dr": _drdid.dr_panel, "ipw": _drdid.ipw_panel, "reg": _drdid.reg_panel}[method]
    if ps_fit is not None:
        est, phi = estimator(dy, D, X, wc, ps_fitted=ps_fit)
    else:
        est, phi = estimator(dy, D, X, wc)
    return est, idx, phi * (n / n1), None


def _cell_rc(
    arr: _Arrays,
    g: float,
    tt: float,
    c: int,
    b: int,
    thresh: float,
    *,
    tlist: np.ndarray,
    n: int,
    codes: np.ndarray,
    method: str,
    never: bool,
    unique_codes: bool = False,
) -> tuple[float, np.ndarray | None, np.ndarray | None, str | None]:
    """One 2x2 on repeated cross-sections: (att, units, the IF summed within them, or the problem).

    With ``unique_codes`` (every row its own unit: ``panel=False``) the IF is returned for the
    selected rows' units (``units``) as it is, which a sum within units would leave unchanged;
    otherwise ``units`` is None and the IF is summed within units over all ``n``.
    """
    assert arr.rows_by_t is not None
    rows = np.concatenate([arr.rows_by_t[c], arr.rows_by_t[b]])
    gr = arr.g_all[rows]
    G = gr == g
    C = (gr == 0) if never else ((gr == 0) | ((gr > thresh) & (gr != g)))
    rows = rows[G | C]
    G = G[G | C]
    D = G.astype(float)
    post = (arr.tidx_all[rows] == c).astype(float)
    n1 = rows.size
    problem = None
    if (D * post).sum() == 0:
        problem = f"no units in group {_fmt(g)} in period {_fmt(tt)}"
    elif (D * (1 - post)).sum() == 0:
        problem = f"no units in group {_fmt(g)} in period {_fmt(tlist[b])}"
    elif ((1 - D) * post).sum() == 0:
        problem = f"no available control units for group {_fmt(g)} in period {_fmt(tt)}"
    elif ((1 - D) * (1 - post)).sum() == 0:
        problem = f"no available control units for group {_fmt(g)} in period {_fmt(tlist[b])}"
    if problem is not None:
        return np.nan, None, None, problem
    estimator = {"dr": _drdid.dr_rc, "ipw": _drdid.ipw_rc, "reg": _drdid.reg_rc}[method]
    est, phi = estimator(arr.y_all[rows], post, D, arr.X_all[rows], arr.w_all[rows])
    if np.isnan(est):
        return np.nan, None, None, None
    phi *= n / n1
    if unique_codes:
        return est, codes[rows], phi, None
    return est, None, np.bincount(codes[rows], weights=phi, minlength=n), None


def _estimate_cells(
    prep: _Prepared,
    arr: _Arrays,
    cells: list[Cell],
    *,
    method: str,
    control: str,
    anticipation: float,
    universal: bool,
    weighted: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ATT(g,t), its influence function (``n × n_gt``) and the post flags.

    Comparisons that cannot be estimated are reported as missing, announced as did does.
    """
    tlist, n = prep.tlist, prep.n
    n_gt = len(cells)
    inf = np.zeros((n, n_gt), order="F")  # column writes are contiguous
    att = np.full(n_gt, np.nan)
    post_flag = np.zeros(n_gt, dtype=bool)
    never = control == "never_treated"
    skipped: list[str] = []
    shared: dict[tuple[Any, ...], Any] = {}  # what the cells of a cohort share (_cell_panel)
    codes = prep.unit_codes
    unique_codes = (
        not prep.panel and codes is not None and np.array_equal(codes, np.arange(codes.size))
    )
    for j, (g, tt, c, b) in enumerate(cells):
        post_flag[j] = g <= tt
        if universal and b == c:
            att[j] = 0.0
            post_flag[j] = False
            continue
        thresh = tlist[max(c, b)] + anticipation
        if prep.panel:
            est, sel, phi, problem = _cell_panel(
                arr, g, tt, c, b, thresh, n=n, method=method, never=never, weighted=weighted,
                cache=shared,
            )
        else:
            assert codes is not None
            est, sel, phi, problem = _cell_rc(
                arr, g, tt, c, b, thresh, tlist=tlist, n=n, codes=codes,
                method=method, never=never, unique_codes=unique_codes,
            )
        if problem is not None:
            skipped.append(f"{_fmt(g)}:{_fmt(tt)}: {problem}")
            inf[:, j] = np.nan
            continue
        att[j] = est
        if phi is None:  # the RC estimator returned NaN: ATT missing, IF left at zero
            continue
        if sel is not None:
            inf[sel, j] = phi
        else:
            inf[:, j] = phi
    for s in skipped:
        _announce(prep.notes, f"ATT({s}); reported as missing, as did does")
    return att, inf, post_flag
