"""Fixed-effect absorption and the small linear-algebra helpers of the linear models.

Shared by :func:`fvdid.ols` (absorbing the ``|`` fixed effects, CR2's generalised inverse) and
:func:`fvdid.random_effects`; private to ``fvdid.estimators``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["COLLINEAR_TOL", "Absorber", "dummy_matrix", "independent_columns", "pinv_psd"]

# Largest number of non-leading fixed-effect levels for which the projection is solved exactly
# through a dense Schur complement; beyond it alternating projections are used.
_SCHUR_MAX_LEVELS = 2000


# lm's QR rank tolerance: a column whose residual on the fixed effects and the earlier columns is
# below this fraction of its own (centred) norm is collinear and dropped, as fixest drops it.
COLLINEAR_TOL = 1e-7


def independent_columns(Z: np.ndarray, ref: np.ndarray, tol: float = COLLINEAR_TOL) -> list[int]:
    """Indices of the columns of ``Z`` (n x p) not explained by the earlier kept ones.

    ``ref`` (n x p) are the same columns before the fixed effects were partialled out (centred),
    the scale against which a residual counts as zero: column j is kept when its residual on the
    kept columns before it exceeds ``tol`` times ``||ref_j||`` (lm's rule, in the column order).
    """
    return _independent(Z, np.linalg.norm(ref, axis=0), tol)[0]


def _independent(Z: np.ndarray, scale: np.ndarray, tol: float, extra: np.ndarray | None = None
                 ) -> tuple[list[int], np.ndarray]:
    """Kept columns of ``Z`` and the R factor of ``[Z[:, kept], extra]`` (Householder QR).

    The diagonal of the R factor of an unpivoted QR is, column by column, the norm of the
    column's residual on the columns before it. The columns whose residual falls below
    ``tol * scale`` are dropped and the QR is redone on the rest until every kept column clears
    the threshold (a dropped column lies within ``tol`` of the span of the kept ones before it, so
    one pass almost always suffices). Blocked Householder QR (LAPACK) instead of a column-by-column
    Gram–Schmidt: the same decisions, an order of magnitude faster on wide designs.
    """
    p = Z.shape[1]
    keep = [j for j in range(p) if scale[j] > 0]
    M = Z[:, keep] if extra is None else np.column_stack([Z[:, keep], extra])
    if M.shape[1] == 0:
        return keep, np.zeros((0, 0))
    R = np.linalg.qr(M, mode="r")
    while True:
        d = np.abs(np.diag(R))[: len(keep)]
        if len(d) < len(keep):  # fewer rows than columns: the trailing columns have no pivot
            d = np.concatenate([d, np.zeros(len(keep) - len(d))])
        bad = [i for i in range(len(keep)) if d[i] <= tol * scale[keep[i]]]
        if not bad:
            return keep, R
        # Z[:, kept] = Q R[:, kept]: the R factor of the kept columns is that of the small matrix
        # R[:, kept] (exact, and cheap: no second pass over the n rows).
        good = [i for i in range(R.shape[1]) if i not in bad]
        keep = [keep[i] for i in good if i < len(keep)]
        R = np.linalg.qr(R[:, good], mode="r")


def dummy_matrix(codes: list[np.ndarray], levels: list[int], n: int) -> sp.csr_matrix:
    blocks = [
        sp.csr_matrix((np.ones(n), (np.arange(n), c)), shape=(n, L))
        for c, L in zip(codes, levels)
    ]
    return sp.hstack(blocks, format="csr")


def pinv_psd(S: np.ndarray) -> tuple[np.ndarray, int]:
    """Moore–Penrose inverse of a symmetric PSD matrix and its numerical rank."""
    if S.size == 0:
        return S.copy(), 0
    lam, V = np.linalg.eigh(S)
    tol = max(lam.max(), 0.0) * 1e-10
    keep = lam > tol
    inv = (V[:, keep] / lam[keep]) @ V[:, keep].T
    return inv, int(keep.sum())


class Absorber:
    """Exact W-orthogonal projection off the span of the fixed-effect dummies."""

    def __init__(self, codes: list[np.ndarray], w: np.ndarray):
        n = len(w)
        self.n = n
        self.w = w
        levels = [int(c.max()) + 1 for c in codes]
        # FE with the most levels is the "diagonal" block; the rest go into the Schur complement
        lead = int(np.argmax(levels))
        rest = [i for i in range(len(codes)) if i != lead]
        self.codes = codes
        self.levels = levels
        self.lead = lead
        self.rest = rest
        self.c1 = codes[lead]
        self.A = np.bincount(self.c1, weights=w, minlength=levels[lead])
        self.L_rest = int(sum(levels[i] for i in rest))
        self.method = "within" if not rest else "schur"
        if rest and self.L_rest > _SCHUR_MAX_LEVELS:
            self.method = "alternating"
        # weighted group sums of every column at once: one sparse product instead of a bincount
        # per column
        D1t_w = sp.csr_matrix((w, (self.c1, np.arange(n))), shape=(levels[lead], n))
        self.D1t_w = D1t_w
        if self.method == "schur":
            DR = dummy_matrix([codes[i] for i in rest], [levels[i] for i in rest], n)
            self.DR = DR
            self.DRt_w = (DR.T @ sp.diags(w)).tocsr()
            C = (D1t_w @ DR).tocsr()  # L1 x L_rest
            self.C = C
            DRtWDR = (DR.T @ sp.diags(w) @ DR).toarray()
            CtAinvC = (C.T @ sp.diags(1.0 / self.A) @ C).toarray()
            S = DRtWDR - CtAinvC
            S = (S + S.T) / 2
            self.Sinv, rank = pinv_psd(S)
            self.n_fe = levels[lead] + rank
        elif self.method == "within":
            self.n_fe = levels[lead]
        else:
            self.n_fe = self._rank_alternating()

    def _rank_alternating(self) -> int:
        # rank of D = sum of levels minus redundancies; for two FE the redundancies are the
        # connected components of the bipartite level graph. For more FE this is a lower bound
        # of the redundancies (documented).
        from scipy.sparse.csgraph import connected_components

        total = sum(self.levels)
        if len(self.levels) == 2:
            a, b = self.codes
            g = sp.csr_matrix(
                (np.ones(self.n), (a, b)), shape=(self.levels[0], self.levels[1])
            )
            big = sp.bmat([[None, g], [g.T, None]])
            ncomp, _ = connected_components(big, directed=False)
            return total - ncomp
        return total - (len(self.levels) - 1)

    def _project_once(self, M: np.ndarray) -> np.ndarray:
        w = self.w
        if self.method == "within":
            sums = np.asarray(self.D1t_w @ M)
            return M - (sums / self.A[:, None])[self.c1]
        if self.method == "schur":
            b1 = np.asarray(self.D1t_w @ M)
            bR = np.asarray(self.DRt_w @ M)
            aR = self.Sinv @ (bR - self.C.T @ (b1 / self.A[:, None]))
            a1 = (b1 - self.C @ aR) / self.A[:, None]
            return M - a1[self.c1] - np.asarray(self.DR @ aR)
        # alternating projections
        out = M.copy()
        scale = np.maximum(np.abs(M).max(axis=0), 1.0)
        sums_w = [np.bincount(c, weights=w, minlength=L) for c, L in zip(self.codes, self.levels)]
        for _ in range(100_000):
            prev = out.copy()
            for c, L, sw in zip(self.codes, self.levels, sums_w):
                s = np.column_stack(
                    [np.bincount(c, weights=w * out[:, j], minlength=L) for j in range(out.shape[1])]
                )
                out -= (s / sw[:, None])[c]
            if np.all(np.abs(out - prev).max(axis=0) <= 1e-14 * scale):
                return out
        raise RuntimeError("alternating projections did not converge")  # pragma: no cover

    def project(self, M: np.ndarray) -> np.ndarray:
        """Return ``M - D (D'WD)^- D'W M`` to machine precision (with iterative refinement)."""
        if M.shape[1] == 0:
            return M.copy()
        out = self._project_once(M)
        if self.method != "schur":
            return out
        scale = np.maximum(np.abs(M).max(axis=0), 1.0)
        for _ in range(3):
            again = self._project_once(out)
            corr = np.abs(out - again).max(axis=0)
            out = again
            if np.all(corr <= 1e-15 * scale):
                break
        return out
