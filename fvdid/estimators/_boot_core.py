"""The wild cluster bootstrap on arrays, for :func:`fvdid.boottest` (private).

One pass over the data collapses everything to bootstrap-cluster level; every draw then costs
``O(G k)``. See :mod:`fvdid.estimators.boottest` for the mathematics and the fwildclusterboot
conventions reproduced.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, sparse
from scipy.sparse import linalg as splinalg

from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._boot_ci import invert_pvalue

__all__ = ["WEIGHT_TYPES", "BootStats", "check_bootcluster_nesting", "group_codes", "wild_core"]

WEIGHT_TYPES = ("rademacher", "mammen", "webb", "norm")

# Elements of one chunk of draws (draws x clusters); bounds the working memory at ~8 MB per array.
_CHUNK_ELEMENTS = 1 << 20
# Dense solve of the fixed-effect normal equations up to this many FE levels, sparse CG above.
_DENSE_FE_LEVELS = 4000


@dataclass(frozen=True)
class BootStats:
    """Per-draw affine pieces; index 0 is the original sample (``v = 1``)."""

    a: np.ndarray
    b: np.ndarray
    cc: np.ndarray
    cd: np.ndarray
    dd: np.ndarray
    ssc: float
    impose_null: bool
    point: float

    def t_all(self, r: float) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(t, denominator)`` for every draw at the null value ``r``."""
        numer = self.a + self.b * r
        jj = self.ssc * (self.cc + 2.0 * self.cd * r + self.dd * (r * r))
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = np.sqrt(jj)
            return numer / denom, denom

    def evaluate(self, r: float, p_val_type: str) -> tuple[float, np.ndarray, float, int]:
        """Return ``(t_stat, t_boot, p_value, n_invalid)`` at the null value ``r``."""
        t, denom = self.t_all(r)
        t_boot = t[1:]
        ok = ~np.isnan(t_boot)
        n_invalid = int(t_boot.size - ok.sum())
        if n_invalid:
            t_boot = t_boot[ok]
        if self.impose_null:
            t_stat = float(t[0])
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                t_stat = float((self.point - r) / denom[0])
        return t_stat, t_boot, _pvalue(p_val_type, t_stat, t_boot), n_invalid

    def pvalue(self, r: float, p_val_type: str) -> float:
        return self.evaluate(r, p_val_type)[2]


def _pvalue(p_val_type: str, t_stat: float, t_boot: np.ndarray) -> float:
    if t_boot.size == 0:
        return math.nan
    if p_val_type == "two-tailed":
        return float(np.mean(abs(t_stat) < np.abs(t_boot)))
    lower = float(np.mean(t_stat < t_boot))
    if p_val_type == ">":
        return lower
    upper = float(np.mean(t_stat > t_boot))
    if p_val_type == "<":
        return upper
    return 2.0 * min(lower, upper)


@dataclass(frozen=True)
class _CoreResult:
    t_stat: float
    p_value: float
    conf_int: tuple[float, float] | None
    t_boot: np.ndarray
    B: int
    full_enumeration: bool
    point_estimate: float
    n_obs: int
    n_clusters: int
    n_bootclusters: int
    ssc: float
    n_invalid: int
    notes: tuple[str, ...]


def group_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def _label(value: Any) -> str:
    """How an argument is named in a message: the column name(s), else its kind."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        return "the intersection of " + ", ".join(repr(v) for v in value)
    if isinstance(value, pd.Series) and value.name is not None:
        return f"(Series {value.name!r})"
    return f"(a {type(value).__name__})"


def check_bootcluster_nesting(
    c_vals: np.ndarray, g_vals: np.ndarray, bootcluster: Any, cluster: Any, index: pd.Index
) -> None:
    """One-way clustering: the bootstrap clusters must nest in the error clusters or contain them.

    Nested (each bootstrap cluster within one error cluster) is the wild *subcluster* bootstrap
    (MacKinnon & Webb 2018); containing (each error cluster within one bootstrap cluster) is the
    coarser bootstrap. A partition that is neither cuts error clusters apart *and* joins pieces
    of different ones: no wild cluster bootstrap is defined on it, so it is refused (R's
    fwildclusterboot does not check) with the rows of the first bootstrap cluster that straddles.
    """
    c_codes, _ = group_codes(c_vals)
    g_codes, _ = group_codes(g_vals)
    pairs = pd.DataFrame({"c": c_codes, "g": g_codes})
    c_per_g = pairs.groupby("g")["c"].nunique()
    if not (c_per_g > 1).any():
        return  # nested: the subcluster bootstrap
    if not (pairs.groupby("c")["g"].nunique() > 1).any():
        return  # coarser: each error cluster lies in one bootstrap cluster
    bad = int(c_per_g.index[np.argmax(c_per_g.to_numpy() > 1)])
    rows = g_codes == bad
    g_value = pd.Series(g_vals)[rows].iloc[0]
    g_value = g_value.item() if isinstance(g_value, np.generic) else g_value
    which = "a bootstrap cluster" if isinstance(bootcluster, tuple) else f"the bootstrap cluster {g_value!r}"
    c_values = sorted(pd.unique(pd.Series(c_vals)[rows]).tolist())
    shown = ", ".join(repr(v) for v in c_values[:5]) + (", ..." if len(c_values) > 5 else "")
    raise FvdidInputError(
        f"bootcluster {_label(bootcluster)}: {which} straddles "
        f"{len(c_values)} error clusters of cluster {_label(cluster)} ({shown}) in "
        f"{describe_rows(index[rows])}, while other error clusters are split across bootstrap "
        "clusters; expected bootstrap clusters nested in the error clusters (the wild subcluster "
        "bootstrap, e.g. bootcluster=(cluster, 'year')) or each containing whole error clusters"
    )


def _group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray,
               scale: np.ndarray | None = None) -> np.ndarray:
    """Sum the rows of ``values`` (1-d or 2-d), times ``scale`` when given, within groups.

    Returns ``n_groups x ...``. The 2-d sums are one sparse product ``S @ values`` with
    ``S[g, i] = scale_i 1(codes_i = g)``: each group's rows are added in row order, the order
    ``np.bincount`` adds them in, so the sums are the same to the last bit, without the
    ``n x k`` temporary of ``scale[:, None] * values`` or a pass over the rows per column.
    """
    if values.ndim == 1:
        v = values if scale is None else scale * values
        return np.bincount(codes, weights=v, minlength=n_groups)
    n = len(codes)
    data = np.ones(n) if scale is None else np.asarray(scale, dtype=np.float64)
    S = sparse.csr_matrix((data, (codes, np.arange(n))), shape=(n_groups, n))
    return np.asarray(S @ values).reshape(n_groups, values.shape[1])


def _crosstab(
    row: np.ndarray, n_row: int, col: np.ndarray, n_col: int, values: np.ndarray
) -> sparse.csr_matrix:
    """Sparse ``n_row x n_col`` matrix of ``sum(values)`` over the cells ``(row, col)``."""
    return sparse.csr_matrix((values, (row, col)), shape=(n_row, n_col))  # duplicates are summed


class _FEProjector:
    """``CT_a' (D'WD)^+ CT_b`` for absorbed fixed effects ``D`` (one-hot blocks, any number).

    ``(D'WD)^+`` is exact for one factor (diagonal) and for moderate numbers of levels (dense
    pseudo-inverse); with many levels the normal equations are solved by conjugate gradients
    (the right-hand sides lie in the range of ``D'W``, so any solution gives the same product).
    """

    def __init__(self, fe_codes: Sequence[np.ndarray], weights: np.ndarray) -> None:
        n = weights.size
        blocks = []
        self.offsets = []
        total = 0
        for codes in fe_codes:
            c, n_lev = group_codes(np.asarray(codes))
            blocks.append(c + total)
            self.offsets.append(total)
            total += n_lev
        self.n_levels = total
        self.n_factors = len(blocks)
        cols = np.concatenate(blocks)
        rows = np.tile(np.arange(n), self.n_factors)
        self.D = sparse.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(n, total))
        self.level = np.column_stack(blocks) if blocks else np.empty((n, 0), dtype=np.int64)
        dwd = (self.D.T @ sparse.diags(weights) @ self.D).tocsr()
        self.dwd = dwd
        if self.n_factors == 1:
            diag = dwd.diagonal()
            with np.errstate(divide="ignore"):
                self._diag_inv = np.where(diag > 0, 1.0 / diag, 0.0)
            self._dense_inv = None
        elif total <= _DENSE_FE_LEVELS:
            self._diag_inv = None
            self._dense_inv = linalg.pinvh(dwd.toarray())
        else:
            self._diag_inv = None
            self._dense_inv = None

    def crosstab(self, group: np.ndarray, n_group: int, values: np.ndarray) -> np.ndarray:
        """``D' diag(values) 1_group``: levels x groups (dense)."""
        out = np.zeros((self.n_levels, n_group))
        for j in range(self.n_factors):
            ct = _crosstab(self.level[:, j], self.n_levels, group, n_group, values)
            out += ct.toarray()
        return out

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        if self._diag_inv is not None:
            return self._diag_inv[:, None] * rhs
        if self._dense_inv is not None:
            return self._dense_inv @ rhs
        out = np.empty_like(rhs)
        for j in range(rhs.shape[1]):
            sol, _info = splinalg.cg(self.dwd, rhs[:, j], rtol=1e-13, atol=0.0, maxiter=10_000)
            out[:, j] = sol
        return out


def _draw_chunk(rng: np.random.Generator, weights_type: str, m: int, g: int) -> np.ndarray:
    """``m x g`` auxiliary weights."""
    if weights_type == "rademacher":
        return rng.integers(0, 2, size=(m, g), dtype=np.int8).astype(np.float64) * 2.0 - 1.0
    if weights_type == "webb":
        values = np.array(
            [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
        )
        return values[rng.integers(0, 6, size=(m, g))]
    if weights_type == "mammen":
        s5 = math.sqrt(5.0)
        lo, hi = (1.0 - s5) / 2.0, (1.0 + s5) / 2.0
        p_lo = (s5 + 1.0) / (2.0 * s5)
        return np.where(rng.random(size=(m, g)) < p_lo, lo, hi)
    if weights_type == "norm":
        return rng.standard_normal(size=(m, g))
    raise FvdidInputError(f"weights_type must be one of {WEIGHT_TYPES}, got {weights_type!r}")


def _enumeration_chunk(start: int, stop: int, g: int) -> np.ndarray:
    """Rows ``start..stop-1`` of all ``2^g`` sign vectors in lexicographic order (-1 before +1,
    first cluster most significant)."""
    ints = np.arange(start, stop, dtype=np.int64)
    shifts = np.arange(g - 1, -1, -1, dtype=np.int64)
    bits = (ints[:, None] >> shifts[None, :]) & 1
    return bits.astype(np.float64) * 2.0 - 1.0


def wild_core(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    cluster_codes: np.ndarray | Sequence[np.ndarray],
    bootcluster_codes: np.ndarray,
    R_vector: np.ndarray,
    r: float,
    *,
    B: int = 9999,
    weights_type: str = "rademacher",
    impose_null: bool = True,
    p_val_type: str = "two-tailed",
    conf_int: bool = True,
    alpha: float = 0.05,
    seed: int | np.random.Generator | None = None,
    ssc_k: int | None = None,
    fe_codes: Sequence[np.ndarray] | None = None,
    tol: float = 1e-6,
    maxiter: int = 10,
) -> _CoreResult:
    """Wild cluster bootstrap of ``H0: R beta = r`` on arrays.

    ``X`` (n x k) and ``y`` are the design and response, already within-transformed when
    ``fe_codes`` (the absorbed fixed effects, one integer/label array per factor) is given;
    ``weights`` are analytic (WLS) weights or ``None``. ``ssc_k`` is the ``k`` of the
    small-sample factor (default: ``X.shape[1]``).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, k = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    R_vector = np.asarray(R_vector, dtype=np.float64).ravel()
    if R_vector.size != k:
        raise FvdidInputError(f"R has {R_vector.size} entries but the design has {k} columns")
    # one-way: one array; multi-way: a list of arrays, combined by inclusion-exclusion
    multi = isinstance(cluster_codes, (list, tuple))
    dims = [np.asarray(c) for c in cluster_codes] if multi else [np.asarray(cluster_codes)]
    g_codes, n_g = group_codes(np.asarray(bootcluster_codes))
    single = [group_codes(c) for c in dims]
    for _, n_c_j in single:
        if n_c_j < 2:
            raise FvdidInputError(
                f"the cluster variable has {n_c_j} level(s); at least 2 are needed"
            )
    if n_g < 2:
        raise FvdidInputError(f"the bootcluster variable has {n_g} level(s); at least 2 are needed")
    n_obs = int(np.count_nonzero(w))
    k_ssc = k if ssc_k is None else int(ssc_k)
    if n_obs <= k_ssc:
        raise FvdidInputError(f"{n_obs} observations cannot support {k_ssc} parameters")
    # error clusterings: every non-empty subset of the dimensions (their intersection), with
    # sign (-1)^(|S|+1) and its own G_S/(G_S-1) (fwildclusterboot's conventional cluster df)
    terms: list[tuple[np.ndarray, int, float]] = []
    for size in range(1, len(dims) + 1):
        for subset in itertools.combinations(range(len(dims)), size):
            if size == 1:
                cc_codes, n_cc = single[subset[0]]
            else:
                inter = pd.MultiIndex.from_arrays([single[i][0] for i in subset]).factorize()[0]
                cc_codes, n_cc = group_codes(inter)
            sign = 1.0 if size % 2 else -1.0
            terms.append((cc_codes, n_cc, sign * n_cc / (n_cc - 1.0)))
    n_c = single[0][1] if not multi else min(nc for _, nc in single)
    ssc_n = (n_obs - 1.0) / (n_obs - k_ssc)
    ssc = terms[0][2] * ssc_n if not multi else ssc_n
    notes: list[str] = []
    if multi:
        notes.append(
            f"multi-way clustering over {len(dims)} dimensions ({len(terms)} inclusion-exclusion "
            "terms, each with its own G/(G-1)); ssc reports the common (N-1)/(N-k)"
        )

    # ---- one pass over the data ------------------------------------------------------------
    wx = w[:, None] * X
    xtwx = X.T @ wx
    try:
        A = linalg.inv(xtwx, check_finite=True)
    except linalg.LinAlgError as err:
        raise FvdidInputError("X'WX is singular: the design is collinear") from err
    beta = A @ (wx.T @ y)
    uhat = y - X @ beta
    AR = A @ R_vector
    h = X @ AR  # n
    rar = float(R_vector @ AR)
    point = float(R_vector @ beta)
    if impose_null:
        P = uhat + h * (point / rar)
        Q = -h / rar
    else:
        P = uhat
        Q = np.zeros(n)
    a = w * h  # n

    numer_p = np.bincount(g_codes, weights=a * P, minlength=n_g)
    numer_q = np.bincount(g_codes, weights=a * Q, minlength=n_g)
    P1 = _group_sum(g_codes, n_g, wx, P)  # G* x k
    Q1 = _group_sum(g_codes, n_g, wx, Q)
    proj = (
        _FEProjector([np.asarray(f) for f in fe_codes], w)
        if fe_codes is not None and len(fe_codes) > 0
        else None
    )
    pieces = []
    for c_codes, n_cc, factor in terms:
        SXA = _group_sum(c_codes, n_cc, X, a) @ A  # G x k
        same = n_cc == n_g and np.array_equal(c_codes, g_codes)
        if same:
            p2 = np.bincount(c_codes, weights=a * P, minlength=n_cc)
            q2 = np.bincount(c_codes, weights=a * Q, minlength=n_cc)
        else:
            p2 = _crosstab(c_codes, n_cc, g_codes, n_g, a * P)
            q2 = _crosstab(c_codes, n_cc, g_codes, n_g, a * Q)
        P3 = Q3 = None
        if proj is not None:
            # P3[c, g] = sum_i w_i [P_D(h 1_c)]_i u~_i 1_g(i) = CT_h' (D'WD)^+ CT_u
            left = proj.solve(proj.crosstab(c_codes, n_cc, a)).T  # G x levels
            P3 = left @ proj.crosstab(g_codes, n_g, w * P)
            Q3 = left @ proj.crosstab(g_codes, n_g, w * Q)
        # one-way: ssc multiplies the whole variance; multi-way: each term carries its G factor
        pieces.append((same, p2, q2, SXA, P3, Q3, 1.0 if not multi else factor))

    # ---- draws -----------------------------------------------------------------------------
    full_enumeration = weights_type == "rademacher" and 2.0**n_g <= B
    B_eff = int(2**n_g) if full_enumeration else int(B)
    if full_enumeration:
        notes.append(
            f"full enumeration: {n_g} bootstrap clusters give only {B_eff} distinct Rademacher "
            f"draws, so B = {B_eff} (as fwildclusterboot); Webb weights "
            f"(weights_type='webb') give 6^{n_g} distinct draws"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    total = B_eff + 1
    out_a = np.empty(total)
    out_b = np.empty(total)
    out_cc = np.empty(total)
    out_cd = np.empty(total)
    out_dd = np.empty(total)
    chunk = max(1, _CHUNK_ELEMENTS // max(n_g, max(t[1] for t in terms)))

    def _stats(V: np.ndarray, sl: slice) -> None:
        out_a[sl] = V @ numer_p
        out_b[sl] = V @ numer_q
        out_cc[sl] = 0.0
        out_cd[sl] = 0.0
        out_dd[sl] = 0.0
        VP1, VQ1 = V @ P1, V @ Q1
        for same, p2, q2, SXA, P3, Q3, factor in pieces:
            if same:
                C = V * p2 - VP1 @ SXA.T
                D = V * q2 - VQ1 @ SXA.T
            else:
                C = (p2 @ V.T).T - VP1 @ SXA.T
                D = (q2 @ V.T).T - VQ1 @ SXA.T
            if P3 is not None:
                C -= V @ P3.T
                D -= V @ Q3.T
            out_cc[sl] += factor * np.einsum("ij,ij->i", C, C)
            out_cd[sl] += factor * np.einsum("ij,ij->i", C, D)
            out_dd[sl] += factor * np.einsum("ij,ij->i", D, D)
        # A draw constant across clusters (v = c 1) gives t* = sign(c) t exactly in theory (the
        # t-statistic is scale invariant); copy the original's numbers so that the tie with the
        # original t-statistic is exact and not decided by rounding (p-values count strict
        # exceedances, so such a draw never counts, whatever the BLAS kernel's summation order).
        if sl.start > 0:
            const = V.max(axis=1) == V.min(axis=1)
            if const.any():
                rows = np.flatnonzero(const) + sl.start
                sign = np.sign(V[const, 0])
                out_a[rows] = sign * out_a[0]
                out_b[rows] = sign * out_b[0]
                out_cc[rows] = out_cc[0]
                out_cd[rows] = out_cd[0]
                out_dd[rows] = out_dd[0]

    _stats(np.ones((1, n_g)), slice(0, 1))
    start = 0
    while start < B_eff:
        m = min(chunk, B_eff - start)
        if full_enumeration:
            V = _enumeration_chunk(start, start + m, n_g)
        else:
            V = _draw_chunk(rng, weights_type, m, n_g)
        _stats(V, slice(start + 1, start + 1 + m))
        start += m

    stats = BootStats(out_a, out_b, out_cc, out_cd, out_dd, ssc, impose_null, point)
    t_stat, t_boot, p_value, n_invalid = stats.evaluate(r, p_val_type)
    if n_invalid:
        notes.append(f"{n_invalid} bootstrap t-statistics were not finite and were dropped")

    ci: tuple[float, float] | None = None
    if conf_int:
        if p_val_type in (">", "<"):
            notes.append(
                "no confidence interval for a one-sided test (as fwildclusterboot's R engine)"
            )
        else:
            if impose_null:
                se_guess = abs(point / t_stat)
            else:
                se_guess = abs((point - r) / t_stat)
            ci, ci_note = invert_pvalue(
                stats, p_val_type, point, se_guess, alpha, tol, maxiter
            )
            if ci_note:
                notes.append(ci_note)
            if ci is not None:
                ci = (float(ci[0]), float(ci[1]))

    return _CoreResult(
        t_stat=t_stat,
        p_value=p_value,
        conf_int=ci,
        t_boot=t_boot,
        B=B_eff,
        full_enumeration=full_enumeration,
        point_estimate=point,
        n_obs=n_obs,
        n_clusters=n_c,
        n_bootclusters=n_g,
        ssc=ssc,
        n_invalid=n_invalid,
        notes=tuple(notes),
    )
