"""Closed-form 2x2 decompositions of :func:`fvdid.estimators.bacon.bacon` (private).

Linear algebra on balanced panels (within transformations, group-by-period means, population
moments) and the two decompositions: every 2x2 without covariates (:func:`_uncontrolled`) and the
within/between split with covariates (:func:`_controlled`).
"""

from __future__ import annotations

import numpy as np

from fvdid.estimators._bacon_panel import _Panel
from fvdid.estimators._design import independent_columns

# --------------------------------------------------------------------------------------------
# Linear algebra on balanced panels
# --------------------------------------------------------------------------------------------


def _within(a: np.ndarray) -> np.ndarray:
    """Two-way within transformation of a balanced (N, T, ...) array (unit and period FE)."""
    return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean(axis=(0, 1))


def _group_time_means(a: np.ndarray, gidx: np.ndarray, n_g: np.ndarray) -> np.ndarray:
    """(G, T, ...) means of an (N, T, ...) array within timing group and period."""
    n, t_n = a.shape[:2]
    g_n = len(n_g)
    flat = a.reshape(n, t_n, -1)
    out = np.empty((g_n, t_n, flat.shape[2]))
    idx = (gidx[:, None] * t_n + np.arange(t_n)[None, :]).ravel()
    for j in range(flat.shape[2]):
        out[:, :, j] = np.bincount(idx, weights=flat[:, :, j].ravel(), minlength=g_n * t_n).reshape(
            g_n, t_n
        )
    out /= n_g[:, None, None]
    return out.reshape((g_n, t_n, *a.shape[2:]))


def _pop_var(a: np.ndarray) -> float:
    return float(np.mean((a - a.mean()) ** 2))


def _pop_cov(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - a.mean()) * (b - b.mean())))


# --------------------------------------------------------------------------------------------
# The decompositions
# --------------------------------------------------------------------------------------------


def _uncontrolled(
    ybar: np.ndarray, n_g: np.ndarray, start: np.ndarray, t_n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ordered 2x2s between timing groups (Goodman-Bacon 2021, eqs. 10a-10c).

    ``ybar`` (G, T) are group-by-period mean outcomes, ``n_g`` the units per group and ``start``
    the index of each group's first treated period (``T`` for never treated, 0 for always
    treated). For the ordered pair (k treated, u comparison) the 2x2 uses the window where only k
    changes treatment status: ``[0, s_u)`` when k is treated first (k vs a later or never-treated
    group) and ``[s_u, T)`` when k is treated later (k vs an earlier or always-treated group).
    The DiD is ``(post_k - pre_k) - (post_u - pre_u)`` of mean outcomes split at ``s_k``; its
    unnormalised weight is ``n_k n_u L_pre L_post``: the squared subsample size times the
    variance of the two-way demeaned treatment in the subsample, up to a factor common to all
    pairs.
    """
    g_n = len(n_g)
    k, u = np.meshgrid(np.arange(g_n), np.arange(g_n), indexing="ij")
    k, u = k.ravel(), u.ravel()
    keep = (k != u) & (start[k] > 0) & (start[k] < t_n)
    k, u = k[keep], u[keep]
    s_k, s_u = start[k], start[u]
    early = s_k < s_u
    lo = np.where(early, 0, s_u)
    hi = np.where(early, s_u, t_n)
    mid = s_k
    csum = np.concatenate([np.zeros((g_n, 1)), np.cumsum(ybar, axis=1)], axis=1)

    def window_mean(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (csum[g, b] - csum[g, a]) / (b - a)

    est = (window_mean(k, mid, hi) - window_mean(k, lo, mid)) - (
        window_mean(u, mid, hi) - window_mean(u, lo, mid)
    )
    raw_w = n_g[k] * n_g[u] * (mid - lo).astype(float) * (hi - mid).astype(float)
    return k, u, est, raw_w, early


def _controlled(
    panel: _Panel, gidx: np.ndarray, n_g: np.ndarray
) -> tuple[float, float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, list[int]]]]:
    """Within/between decomposition with time-varying covariates (Goodman-Bacon 2021, sec. 5).

    Let ``d`` be the residual of the treatment on the covariates and the unit and period fixed
    effects (Frisch-Waugh-Lovell), so that ``twfe = Cov(y, d) / Var(d)``. Split ``d`` into its
    timing-group-by-period mean and the deviation from it; the deviation's share of Var(d) is
    Omega and its coefficient the within estimate. The between part is a weighted average over
    unordered pairs (k, l) of timing groups of ``beta_kl = (C_r + C_q) / (V_r + V_q)`` with
    weight proportional to ``N_kl (V_r + V_q)`` (``N_kl`` the pair's observations), where, on
    the pair's observations with its own unit and period effects partialled out:

    * ``r`` is the treatment purged of the group-by-period means of the covariates, so
      ``V_r = (1 - R^2_kl) V^D_kl`` and ``C_r / V_r`` is the covariate-adjusted 2x2 DiD;
    * ``q`` is the fitted part of that purge minus the purged group-by-period mean of the
      predicted treatment (``p_kt``): the between-group variation due to the covariates;
    * ``C_x = mean(x * y)`` and ``V_x = mean(x**2)``.

    The covariates are assumed free of collinearity with the full-sample fixed effects (bacon()
    drops such ones first). Within a pair, covariate means that the pair's own unit and period
    effects span are dropped from that pair's purge (as fixest would drop them from the pair's
    regression); the last value returned lists ``(k, l, dropped covariate indices)``.
    """
    Y, D, X = panel.Y, panel.D, panel.X
    n, t_n, p = X.shape
    g_n = len(n_g)

    # Full-sample FWL: d = residual of D on X and both sets of fixed effects; p_hat = D - d.
    Yw, Dw, Xw = _within(Y), _within(D), _within(X)
    xf = Xw.reshape(n * t_n, p)
    gamma = np.linalg.lstsq(xf, Dw.ravel(), rcond=None)[0]
    dres = Dw - (xf @ gamma).reshape(n, t_n)
    coef = np.linalg.lstsq(np.column_stack([Dw.ravel(), xf]), Yw.ravel(), rcond=None)[0]
    twfe = float(coef[0])

    # Omega and the within estimate.
    d_it_til = (
        dres - dres.mean(axis=1, keepdims=True) - dres.mean(axis=0, keepdims=True) + dres.mean()
    )
    d_kt = _group_time_means(dres, gidx, n_g)  # (G, T)
    d_k = np.bincount(gidx, weights=dres.sum(axis=1), minlength=g_n) / (n_g * t_n)
    d_ikt_til = dres - dres.mean(axis=1, keepdims=True) - (d_kt[gidx] - d_k[gidx, None])
    v_w = _pop_var(d_ikt_til)
    omega = v_w / _pop_var(d_it_til)
    beta_w = _pop_cov(Y, d_ikt_til) / v_w

    # Group-by-period means of the outcome, treatment, covariates and predicted treatment.
    ybar = _group_time_means(Y, gidx, n_g)
    dbar = _group_time_means(D, gidx, n_g)
    xbar = _group_time_means(X, gidx, n_g)  # (G, T, p)
    pbar = _group_time_means(D - dres, gidx, n_g)

    # Unordered pairs of groups; groups are sorted by first treated period (never last).
    ka, kb = np.triu_indices(g_n, k=1)
    m = len(ka)
    wa = n_g[ka].astype(float)[:, None]
    wb = n_g[kb].astype(float)[:, None]
    wsum = wa + wb

    def pair_within(z: np.ndarray) -> np.ndarray:
        """Two-way demeaning within each pair: (G, T, ...) -> (M, 2, T, ...)."""
        za, zb = z[ka], z[kb]
        extra = (None,) * (z.ndim - 2)
        wa_, wb_, ws_ = (w[(slice(None), slice(None), *extra)] for w in (wa, wb, wsum))
        zt = (wa_ * za + wb_ * zb) / ws_  # period means over the pair's units
        zall = zt.mean(axis=1, keepdims=True)
        za_w = za - za.mean(axis=1, keepdims=True) - zt + zall
        zb_w = zb - zb.mean(axis=1, keepdims=True) - zt + zall
        return np.stack([za_w, zb_w], axis=1)

    yt = pair_within(ybar)  # (M, 2, T)
    dt = pair_within(dbar)
    xt = pair_within(xbar)  # (M, 2, T, p)
    pt = pair_within(pbar)
    wts = np.stack([wa, wb], axis=1).repeat(t_n, axis=2)  # (M, 2, T): units per cell
    sw = np.sqrt(wts).reshape(m, 2 * t_n)
    a_mat = xt.reshape(m, 2 * t_n, p) * sw[:, :, None]
    b_vec = dt.reshape(m, 2 * t_n) * sw
    # the pair's covariate means before the pair's effects are partialled out (centred): the scale
    # against which a purged column counts as zero
    xraw = np.stack([xbar[ka], xbar[kb]], axis=1).reshape(m, 2 * t_n, p)
    w2 = wts.reshape(m, 2 * t_n)
    xraw = xraw - (w2[:, :, None] * xraw).sum(axis=1, keepdims=True) / w2.sum(axis=1)[:, None, None]
    proj = np.zeros((m, 2 * t_n))
    dropped: list[tuple[int, int, list[int]]] = []
    for i in range(m):
        keep = independent_columns(a_mat[i], xraw[i] * sw[i][:, None])
        if len(keep) < p:
            dropped.append((int(ka[i]), int(kb[i]), [j for j in range(p) if j not in keep]))
        if keep:
            A = a_mat[i][:, keep]
            coef_i = np.linalg.lstsq(A, b_vec[i], rcond=None)[0]
            proj[i] = A @ coef_i
    fitted = proj / sw  # fitted D-tilde from the purged group means of the covariates
    r = dt.reshape(m, 2 * t_n) - fitted
    q = fitted - pt.reshape(m, 2 * t_n)
    q = q - (w2 * q).sum(axis=1, keepdims=True) / w2.sum(axis=1, keepdims=True)
    y2 = yt.reshape(m, 2 * t_n)
    n_obs = w2.sum(axis=1)
    v_r = (w2 * r * r).sum(axis=1) / n_obs
    v_q = (w2 * q * q).sum(axis=1) / n_obs
    c_r = (w2 * r * y2).sum(axis=1) / n_obs
    c_q = (w2 * q * y2).sum(axis=1) / n_obs
    est = (c_r + c_q) / (v_r + v_q)
    raw_w = n_obs**2 * (v_r + v_q)
    return twfe, omega, beta_w, ka, kb, est, raw_w, dropped
