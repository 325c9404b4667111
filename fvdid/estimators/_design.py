"""Fixed-effect absorption and the small linear-algebra helpers of the linear models.

Shared by :func:`fvdid.ols` (absorbing the ``|`` fixed effects, CR2's generalised inverse) and
:func:`fvdid.random_effects`; private to ``fvdid.estimators``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "COLLINEAR_TOL",
    "Absorber",
    "clearly_full_rank",
    "coded_counts",
    "dummy_matrix",
    "group_indicator",
    "independent_columns",
    "pinv_psd",
    "qr_r",
    "sorted_codes",
]

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


# Tall-skinny QR: row blocks of this many rows are factorised as one stacked (batched) LAPACK
# call and their R factors stacked and factorised again. Used when the matrix is at least
# _TSQR_MIN_BLOCKS blocks tall and at most _TSQR_MAX_COLS wide. On one OpenBLAS thread (as
# qr_r runs) TSQR was measured faster than LAPACK's blocked QR of the whole matrix at every
# width tried: 55,726 rows x 26 / 52 / 100 / 256 columns 14 / 38 / 132 / 726 ms against
# 28 / 82 / 366 / 959 ms, 40,000 x 400 940 against 1,096 ms, 1M x 40 0.66 against 2.2 s
# (2 cores, AMD EPYC). Past 512 columns a block is less than 8 times as tall as wide.
_TSQR_ROWS = 4096
_TSQR_MIN_BLOCKS = 8
_TSQR_MAX_COLS = 512


def qr_r(M: np.ndarray, *, block_rows: int = _TSQR_ROWS, max_cols: int = _TSQR_MAX_COLS,
         min_blocks: int = _TSQR_MIN_BLOCKS) -> np.ndarray:
    """The R factor of a Householder QR of ``M`` (n x p), without forming Q.

    Tall and skinny matrices are factorised by TSQR (the R factors of row blocks, stacked and
    factorised again): ``M = Q R`` with the same ``|diag(R)|`` (each column's residual norm on the
    columns before it) and the same backward stability as one Householder QR, but each block fits
    in cache, several times faster than LAPACK on the whole n x p matrix when p is small. Rows of
    R may differ in sign from ``np.linalg.qr(M, mode="r")``. ``block_rows``, ``max_cols`` and
    ``min_blocks`` set the blocks and when TSQR is used (the defaults are the OLS design's;
    FGLS random effects uses blocks of 1,024 rows).
    """
    from fvdid._blas import single_threaded_blas

    n, p = M.shape
    m = n // block_rows
    # one thread: the Householder steps are level-2 calls on a few columns, which OpenBLAS
    # splits over its threads at a cost (and far worse on a loaded machine: fvdid._blas)
    with single_threaded_blas():
        if p == 0 or p > max_cols or m < min_blocks:
            return np.linalg.qr(M, mode="r")
        M = np.ascontiguousarray(M, dtype=float)
        head = M[: m * block_rows].reshape(m, block_rows, p)
        parts = [np.linalg.qr(head, mode="r").reshape(m * p, p), M[m * block_rows :]]
        return np.linalg.qr(np.vstack(parts), mode="r")


def clearly_full_rank(X: np.ndarray, gram: np.ndarray | None = None) -> bool:
    """Whether ``X`` has full column rank by a margin that the QR rank checks pass.

    The smallest eigenvalue of the Gram matrix of the unit-norm columns is the squared smallest
    singular value ``s`` of the column-scaled design, and every column's residual on the others
    is at least ``s`` times its norm. True when that eigenvalue exceeds
    ``max(1e-8, 10 k n eps, (1e3 tol)^2)``, ``tol = 1e3 max(n, k) eps`` (the relative pivot
    tolerance of ``design_matrix``'s check): then ``s`` exceeds ~1e-4 even after the Gram
    matrix's worst-case rounding (``k n eps``), three orders of magnitude above both that
    tolerance and :data:`fvdid.estimators._design.COLLINEAR_TOL` (1e-7), so a pivoted QR keeps
    every column and ``independent_columns`` drops none. False means "not shown here", not "rank
    deficient": the caller then runs its exact check. Costs one ``X'X`` instead of a QR;
    ``gram`` is that product when the caller has it (any summation order).
    """
    n, k = X.shape
    if k == 0:
        return True
    if n < k:
        return False
    G = X.T @ X if gram is None else gram
    scale = np.sqrt(np.diag(G))
    if not (np.all(np.isfinite(G)) and np.all(scale > 0)):
        return False
    G = G / np.outer(scale, scale)
    eps = np.finfo(float).eps
    tol = max(n, k) * eps * 1e3
    floor = max(1e-8, 10.0 * k * n * eps, (1e3 * tol) ** 2)
    return bool(np.linalg.eigvalsh(G)[0] > floor)


def group_indicator(codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """The ``n_groups x n`` indicator matrix of integer ``codes`` (0..n_groups-1).

    Row ``g`` holds a 1 at every row of group ``g``, in row order, so ``A @ M`` sums each
    group's rows of ``M`` in row order, one addition after another: the same floats as
    ``np.bincount(codes, weights=M[:, j])`` column by column, in one pass over ``M``'s rows.
    """
    order = np.argsort(codes, kind="stable")
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_groups), out=indptr[1:])
    return sp.csr_matrix((np.ones(len(codes)), order, indptr), shape=(n_groups, len(codes)))


def _independent(Z: np.ndarray, scale: np.ndarray, tol: float, extra: np.ndarray | None = None,
                 *, last_is_extra: bool = False) -> tuple[list[int], np.ndarray]:
    """Kept columns of ``Z`` and the R factor of ``[Z[:, kept], extra]`` (Householder QR).

    The diagonal of the R factor of an unpivoted QR is, column by column, the norm of the
    column's residual on the columns before it. The columns whose residual falls below
    ``tol * scale`` are dropped and the QR is redone on the rest until every kept column clears
    the threshold (a dropped column lies within ``tol`` of the span of the kept ones before it, so
    one pass almost always suffices). Householder QR (:func:`qr_r`) instead of a column-by-column
    Gram–Schmidt: the same decisions, an order of magnitude faster on wide designs.
    ``last_is_extra``: the last column of ``Z`` is ``extra`` (no copy of ``Z`` when every column
    is a candidate). ``extra`` may be n x m (several right-hand sides: the last m columns of R
    are their ``Q'`` products, each as with that column alone).
    """
    if last_is_extra:
        if extra is not None:
            raise ValueError("extra is the last column of Z with last_is_extra")
        p = Z.shape[1] - 1
    else:
        p = Z.shape[1]
    keep = [j for j in range(p) if scale[j] > 0]
    if last_is_extra:
        M = Z if len(keep) == p else Z[:, [*keep, p]]
    elif extra is None:
        M = Z if len(keep) == p else Z[:, keep]
    else:
        ex = extra.reshape(Z.shape[0], -1)
        M = np.empty((Z.shape[0], len(keep) + ex.shape[1]))
        M[:, : len(keep)] = Z if len(keep) == p else Z[:, keep]
        M[:, len(keep):] = ex
    if M.shape[1] == 0:
        return keep, np.zeros((0, 0))
    R = qr_r(M)
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


def sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes ``0..L-1`` of ``values`` in the sorted order of its distinct values.

    The codes of ``pd.factorize(values, sort=True)`` (``values`` without missing values), as
    ``intp``, and the number of levels ``L``. Integer columns whose range is at most a few times
    their length are coded by counting (no hashing, no sort); anything else goes to pandas.
    """
    codes, counts = coded_counts(values)
    return codes, len(counts)


def coded_counts(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sorted_codes` with the number of rows of each level instead of the count."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if isinstance(arr.dtype, np.dtype) and arr.dtype.kind in "iu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        span = hi - lo + 1
        if span <= max(4 * arr.size, 1 << 16):
            off = (arr - arr.dtype.type(lo)).astype(np.intp, copy=False)
            counts = np.bincount(off, minlength=span)
            present = counts > 0
            if present.all():  # every value in lo..hi occurs: the offsets are the codes
                return off, counts
            lookup = np.cumsum(present, dtype=np.intp) - 1
            return lookup[off], counts[present]
    codes, _ = pd.factorize(values, sort=True)
    codes = np.asarray(codes, dtype=np.intp)
    return codes, np.bincount(codes)


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


def _cells(
    codes: list[np.ndarray], levels: list[int]
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The cells (distinct level combinations) of several codings of the same rows.

    Returns each row's cell code ``0..G-1``, for each coding the level of every cell, and the
    number of rows of every cell. Pairs are combined by counting when their product of levels is
    small (no hashing, no sort) and by pandas' hash factorisation otherwise.
    """
    n = len(codes[0])
    cell = codes[0]
    per_cell = [np.arange(levels[0], dtype=np.intp)]
    counts: np.ndarray | None = None
    G = levels[0]
    for c, L in zip(codes[1:], levels[1:]):
        comb = cell * L + c
        if G * L <= max(4 * n, 1 << 20):
            counts = np.bincount(comb, minlength=G * L)
            present = counts > 0
            if present.all():  # every combination occurs: the combined code is the cell
                cell = comb
                vals = np.arange(G * L, dtype=np.intp)
            else:
                lookup = np.cumsum(present, dtype=np.intp) - 1
                cell = lookup[comb]
                vals = np.flatnonzero(present)
                counts = counts[present]
        else:
            cell_codes, vals = pd.factorize(comb)
            cell = np.asarray(cell_codes, dtype=np.intp)
            vals = np.asarray(vals, dtype=np.intp)
            counts = None
        per_cell = [pc[vals // L] for pc in per_cell] + [vals % L]
        G = len(vals)
    if counts is None:
        counts = np.bincount(cell, minlength=G)
    return cell, per_cell, counts


class Absorber:
    """Exact W-orthogonal projection off the span of the fixed-effect dummies.

    The projection of a column on the dummies depends on the rows only through the weighted sums
    of the column in the *cells* (distinct combinations of the fixed-effect levels) and returns
    one value per cell. The rows are therefore read once per column (a weighted sum by cell) and
    written once (minus the cell's fitted value); the normal equations ``D'WD a = D'WM`` are
    formed and solved on the cells: directly (one fixed effect), through the Schur complement of
    the leading (largest) fixed effect, inverted once (several, at most
    :data:`_SCHUR_MAX_LEVELS` non-leading levels; exact, no iteration to a tolerance), or by
    alternating projections on the rows (more levels). ``w=None`` means unit weights.
    """

    def __init__(
        self, codes: list[np.ndarray], w: np.ndarray | None, levels: list[int] | None = None
    ):
        n = len(codes[0])
        self.n = n
        self.w = w
        if levels is None:
            levels = [int(c.max()) + 1 for c in codes]
        # FE with the most levels is the "diagonal" block; the rest go into the Schur complement
        lead = int(np.argmax(levels))
        rest = [i for i in range(len(codes)) if i != lead]
        self.codes = codes
        self.levels = levels
        self.lead = lead
        self.rest = rest
        self.L_rest = int(sum(levels[i] for i in rest))
        self.method = "within" if not rest else "schur"
        if rest and self.L_rest > _SCHUR_MAX_LEVELS:
            self.method = "alternating"
        if self.method == "alternating":
            self.n_fe = self._rank_alternating()
            return
        order = [lead, *rest]
        self.cell, per_cell, counts = _cells(
            [codes[i] for i in order], [levels[i] for i in order]
        )
        G = len(per_cell[0])
        self.G = G
        # weight of each cell
        self.Wc = counts.astype(float) if w is None else self.cell_sum(w)
        c1 = per_cell[0]
        self.c1 = c1
        L1 = levels[lead]
        self.A = np.bincount(c1, weights=self.Wc, minlength=L1)
        # cell -> level of the leading FE (unweighted: the cell sums carry the weights)
        self.D1t = sp.csr_matrix((np.ones(G), (c1, np.arange(G))), shape=(L1, G))
        if self.method == "within":
            self.n_fe = L1
            return
        DR = dummy_matrix(per_cell[1:], [levels[i] for i in rest], G)  # G x L_rest
        self.DR = DR
        self.DRt = DR.T.tocsr()
        WDR = sp.diags(self.Wc) @ DR
        self.C = (self.D1t @ WDR).toarray()  # L1 x L_rest
        DRtWDR = (self.DRt @ WDR).toarray()
        S = DRtWDR - self.C.T @ (self.C / self.A[:, None])
        S = (S + S.T) / 2
        self.Sinv, rank = pinv_psd(S)
        self.n_fe = L1 + rank

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

    def cell_sum(self, v: np.ndarray) -> np.ndarray:
        """Sum of ``v`` (length n) over the rows of each cell."""
        return np.bincount(self.cell, weights=v, minlength=self.G)

    def _solve(self, S: np.ndarray) -> np.ndarray:
        """Fitted values per cell ``D_c a`` of ``D'WD a = D'S`` for cell sums ``S`` (G x p)."""
        b1 = self.D1t @ S
        if self.method == "within":
            return np.take(b1 / self.A[:, None], self.c1, axis=0)
        bR = self.DRt @ S
        aR = self.Sinv @ (bR - self.C.T @ (b1 / self.A[:, None]))
        a1 = (b1 - self.C @ aR) / self.A[:, None]
        return a1[self.c1] + self.DR @ aR

    def project(self, M: np.ndarray) -> np.ndarray:
        """Return ``M - D (D'WD)^- D'W M`` to machine precision (with iterative refinement).

        The solve on the cells is refined (up to three times) until the correction of the fitted
        values is at most ``1e-15 * max(max|M_j|, 1)`` in every column ``j``: the residual of the
        normal equations is formed on the cells (``D'(S - W_c F)``), so a refinement reads no row.
        The result is C-contiguous.
        """
        if M.shape[1] == 0:
            return M.copy()
        if self.method == "alternating":
            return self._alternate(M)
        p = M.shape[1]
        w = self.w
        S = np.empty((self.G, p))
        for j in range(p):
            S[:, j] = self.cell_sum(M[:, j] if w is None else w * M[:, j])
        F = self._solve(S)
        if self.method == "schur":
            # max|M_j| is at least the largest |cell mean| of column j: a lower bound of the
            # tolerance that decides without reading the rows; the rows only when it does not
            low = np.maximum(np.abs(S / self.Wc[:, None]).max(axis=0), 1.0)
            scale: np.ndarray | None = None
            for _ in range(3):
                dF = self._solve(S - self.Wc[:, None] * F)
                F = F + dF
                corr = np.abs(dF).max(axis=0)
                if np.all(corr <= 1e-15 * low):
                    break
                if scale is None:
                    scale = np.maximum(
                        [max(M[:, j].max(), -M[:, j].min()) for j in range(p)], 1.0
                    )
                if np.all(corr <= 1e-15 * scale):
                    break
        out = np.take(F, self.cell, axis=0)  # several times faster than F[self.cell]
        np.subtract(M, out, out=out)
        return out

    def _alternate(self, M: np.ndarray) -> np.ndarray:
        w = np.ones(self.n) if self.w is None else self.w
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
