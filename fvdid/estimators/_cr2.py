"""clubSandwich's CR2 (Bell–McCaffrey) covariance with Satterthwaite df, for :func:`fvdid.ols`.

The CR2 adjustment matrices involve the hat matrix of the *full* model including the absorbed
fixed-effect dummies; they are assembled per cluster block through the Frisch–Waugh–Lovell
identity ``H = P_D + P_{M_D X}``. Private to ``fvdid.estimators``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fvdid.errors import FvdidInputError
from fvdid.estimators._design import dummy_matrix, pinv_psd

__all__ = ["cr2"]

# CR2 needs a dense generalised inverse of D'WD over all fixed-effect levels.
CR2_MAX_FE_LEVELS = 5000
# clubSandwich::matrix_power sets eigenvalues <= 1e-12 to zero before taking powers.
_CLUBSANDWICH_EIG_TOL = 1e-12


def cr2(
    Xt: np.ndarray,
    w: np.ndarray,
    resid: np.ndarray,
    Minv: np.ndarray,
    gcodes: np.ndarray,
    fe_codes: list[np.ndarray],
    terms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """clubSandwich CR2 vcov and Satterthwaite df for the coefficients of ``Xt``.

    ``terms`` (column positions) limits the Satterthwaite df to those coefficients, the others'
    df are NaN: each coefficient's df is computed on its own, so those asked for are the same
    numbers either way. The vcov is always the full ``k x k`` matrix.

    ``Xt`` holds the within-transformed regressors; ``Minv = (Xt' W Xt)^{-1}``. The full model is
    ``U = [X, D]``; with ``F = Xt Minv Xt' + D (D'WD)^+ D'`` the hat matrix is ``H = F W`` and
    clubSandwich's adjustment for cluster j is ``A_j = [(I-H)(I-H)']_{jj}^{-1/2}`` (which reduces
    to ``(I - H_jj)^{-1/2}`` without weights, the ``inverse_var`` branch).

    ``G_j = I + Z K Z'`` with ``Z = [U_j, W_j U_j]``; in a cluster whose weights are one constant
    ``c`` (every cluster of an unweighted fit, a treated LA's CEM weights) ``W_j U_j = c U_j``, so
    ``G_j = I + U_j (N - 2c M) U_j'`` exactly, and the decomposition works on ``U_j`` alone (half
    the columns, a quarter of the QR's work).
    """
    n, k = Xt.shape
    sel = np.arange(k) if terms is None else np.asarray(terms, dtype=int)
    levels = [int(c.max()) + 1 for c in fe_codes]
    L = int(sum(levels))
    if L > CR2_MAX_FE_LEVELS:
        raise FvdidInputError(
            f"CR2 with {L} fixed-effect levels is not supported (limit {CR2_MAX_FE_LEVELS}); "
            "use vcov='CR1' or fewer absorbed levels"
        )
    if L:
        D = dummy_matrix(fe_codes, levels, n)
        DtWD = (D.T @ sp.diags(w) @ D).toarray()
        GD, _ = pinv_psd((DtWD + DtWD.T) / 2)
        DtW2D = (D.T @ sp.diags(w * w) @ D).toarray()
        DtW2X = np.asarray(D.T @ ((w * w)[:, None] * Xt))
    else:
        D = sp.csr_matrix((n, 0))
        GD = np.zeros((0, 0))
        DtW2D = np.zeros((0, 0))
        DtW2X = np.zeros((0, k))
    XtW2X = Xt.T @ ((w * w)[:, None] * Xt)
    # M = blockdiag(Minv, GD) is (U'WU)^- in the basis Ut = [Xt, D]; N = M (Ut'W^2 Ut) M
    K = k + L
    Mfull = np.zeros((K, K))
    Mfull[:k, :k] = Minv
    Mfull[k:, k:] = GD
    UW2U = np.zeros((K, K))
    UW2U[:k, :k] = XtW2X
    UW2U[k:, :k] = DtW2X
    UW2U[:k, k:] = DtW2X.T
    UW2U[k:, k:] = DtW2D
    N = Mfull @ UW2U @ Mfull

    G = int(gcodes.max()) + 1
    order = np.argsort(gcodes, kind="stable")
    bounds = np.searchsorted(gcodes[order], np.arange(G + 1))
    comps = np.zeros((G, k))
    Vlist: list[np.ndarray] = []
    idx_list: list[np.ndarray] = []
    for j in range(G):
        idx = order[bounds[j] : bounds[j + 1]]
        idx_list.append(idx)
        Xj = Xt[idx]
        wj = w[idx]
        Dj = D[idx]
        present = np.unique(Dj.indices) if L else np.zeros(0, dtype=int)
        cols = np.concatenate([np.arange(k), k + present])
        Uj = np.hstack([Xj, Dj[:, present].toarray()]) if L else Xj
        Mp = Mfull[np.ix_(cols, cols)]
        Np = N[np.ix_(cols, cols)]
        nj = len(idx)
        r = Uj.shape[1]
        if nj <= max(2 * r, 64):
            Hjj = (Uj @ Mp @ Uj.T) * wj[None, :]
            Gj = np.eye(nj) - Hjj - Hjj.T + Uj @ Np @ Uj.T
            Gj = (Gj + Gj.T) / 2
            lam, V = np.linalg.eigh(Gj)
            f = np.zeros_like(lam)
            pos = lam > _CLUBSANDWICH_EIG_TOL
            f[pos] = lam[pos] ** -0.5
            Aj = (V * f) @ V.T

            def apply_A(v: np.ndarray, Aj: np.ndarray = Aj) -> np.ndarray:
                return Aj @ v
        else:
            # G_j = I + Z Kmat Z' with Z = [U_j, W_j U_j]: invert the square root on span(Z)
            if wj.min() == wj.max():  # W_j = c I: Z Kmat Z' = U_j (N - 2c M) U_j'
                Z = Uj
                Kmat = Np - (2.0 * wj[0]) * Mp
            else:
                Z = np.hstack([Uj, wj[:, None] * Uj])
                Kmat = np.block([[Np, -Mp], [-Mp, np.zeros_like(Mp)]])
            Q, T = np.linalg.qr(Z)
            B = T @ Kmat @ T.T
            lam, V = np.linalg.eigh((B + B.T) / 2)
            ev = 1.0 + lam
            f = np.full_like(ev, -1.0)
            pos = ev > _CLUBSANDWICH_EIG_TOL
            f[pos] = ev[pos] ** -0.5 - 1.0
            QV = Q @ V

            def apply_A(v: np.ndarray, QV: np.ndarray = QV, f: np.ndarray = f) -> np.ndarray:
                return v + QV @ (f[:, None] * (QV.T @ v)) if v.ndim == 2 else v + QV @ (
                    f * (QV.T @ v)
                )

        comps[j] = Xj.T @ (wj * apply_A(resid[idx]))
        # v_j for every coefficient asked for: A_j W_j X_j Minv (n_j x len(sel))
        Vlist.append(apply_A(wj[:, None] * (Xj @ Minv[:, sel])))
    vcov = Minv @ (comps.T @ comps) @ Minv

    # Satterthwaite degrees of freedom (clubSandwich get_GH / get_P_array / Satterthwaite)
    m = len(sel)
    Amat = np.zeros((m, K, G))  # per coefficient: Ut_j' v_j
    Bmat = np.zeros((m, K, G))  # per coefficient: Ut_j' W_j v_j
    vnorm = np.zeros((m, G))
    for j in range(G):
        idx = idx_list[j]
        Vj = Vlist[j]
        wj = w[idx]
        Xj = Xt[idx]
        a_x = Xj.T @ Vj  # k x m
        b_x = Xj.T @ (wj[:, None] * Vj)
        Amat[:, :k, j] = a_x.T
        Bmat[:, :k, j] = b_x.T
        if L:
            Dj = D[idx]
            Amat[:, k:, j] = np.asarray(Dj.T @ Vj).T
            Bmat[:, k:, j] = np.asarray(Dj.T @ (wj[:, None] * Vj)).T
        vnorm[:, j] = (Vj**2).sum(axis=0)
    df = np.full(k, np.nan)
    for i in range(m):
        A_i = Amat[i]
        B_i = Bmat[i]
        MA = Mfull @ A_i
        cross = B_i.T @ MA
        P = A_i.T @ N @ A_i - cross - cross.T
        P[np.diag_indices(G)] += vnorm[i]
        df[sel[i]] = np.trace(P) ** 2 / np.sum(P**2)
    return vcov, df
