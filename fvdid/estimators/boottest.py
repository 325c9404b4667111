"""Wild cluster bootstrap test of one coefficient, as R's ``fwildclusterboot::boottest()``.

The algorithm is the "fast and wild" one of Roodman, MacKinnon, Nielsen & Webb (2019, *Stata
Journal* 19(1), section 5) with the notation of MacKinnon, Nielsen & Webb (2023, *Journal of
Econometrics* 232(2)): one pass over the data collapses everything to bootstrap-cluster level, and
then every draw costs ``O(G k)`` (``O(G* G)`` when the bootstrap clusters cross the error clusters),
never ``O(N)``. Draws are processed in chunks, so memory grows with neither ``B`` nor ``B x N``.

Mathematics (one restriction ``R beta = r``, ``R`` a unit vector on ``param``)
------------------------------------------------------------------------------
With ``A = (X'WX)^{-1}``, ``h = X A R'`` and the restricted (WCR) residuals
``u~(r) = P + Q r`` (``P = u^ + h R beta^ / (R A R')``, ``Q = -h / (R A R')``; for the
unrestricted bootstrap (WCU) ``P = u^``, ``Q = 0``), a wild draw ``v`` (one value per bootstrap
cluster ``g``) gives

* numerator ``R beta* - r = sum_g v_g sum_{i in g} w_i h_i u~_i`` (affine in ``r``),
* the score of error cluster ``c`` under the bootstrap residuals ``M (u~ * v)``:
  ``S_c(v) = sum_g v_g [P2 - (S_X A) P1' - P3]_{cg}`` with ``P2_{cg} = sum_{c and g} w h u~``,
  ``S_X = sum_{i in c} w_i h_i X_i``, ``P1_g = sum_{i in g} w_i X_i u~_i`` and ``P3`` the part of
  the residual that projects on absorbed fixed effects (zero when they are nested in ``c``),
* ``t*(r) = (a + b r) / sqrt(ssc * (CC + 2 CD r + DD r^2))``: five numbers per draw, so the
  p-value at any ``r`` (the confidence interval by test inversion) costs ``O(B)``.

Conventions of fwildclusterboot 0.13.0 that are reproduced
-----------------------------------------------------------
* Small-sample factor ``ssc = G/(G-1) * (N-1)/(N-k)`` (``boot_ssc(adj = TRUE, fixef.K = "none",
  cluster.adj = TRUE, cluster.df = "conventional")``), ``G`` the number of error clusters, ``N``
  the number of observations with non-zero weight (R's ``nobs()``), and ``k`` counted as R counts
  it: for ``lm()`` every column of the model matrix (factor dummies included); for a fixest/felm
  model with absorbed fixed effects only the non-FE coefficients (``length(coef(object))``).
  ``fixef_k="none"`` (default) is the fixest/felm convention, ``fixef_k="full"`` adds the absorbed
  FE parameters (``design.n_fe``) and reproduces ``lm()`` with factor dummies.
* Rademacher weights with ``2^G* <= B`` switch to full enumeration of all ``2^G*`` sign vectors
  (all-plus and all-minus included) and ``B`` becomes ``2^G*``; no other weight type enumerates.
* The bootstrap t-statistics that are not finite (zero bootstrap variance) are dropped before the
  p-value is computed; p-values use strict inequalities: ``mean(|t| < |t*|)`` (two-tailed),
  ``2 min(mean(t < t*), mean(t > t*))`` (equal-tailed), ``mean(t < t*)`` (``">"``),
  ``mean(t > t*)`` (``"<"``).
* The confidence interval inverts the p-value: start values ``beta^ -/+ 2^(j/2) se`` until
  ``p < sign_level``, a 26-point grid between them, the two brackets where ``p`` crosses
  ``sign_level``, then Brent's root finder (R's ``uniroot``) with ``tol = 1e-6`` and ``maxiter = 10``
  on the step function ``p(r) - sign_level``. One-sided p-values give no interval (as the R engine).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from scipy import linalg, sparse
from scipy.sparse import linalg as splinalg

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, describe_rows

__all__ = ["BoottestResult", "boottest"]

WeightsType = Literal["rademacher", "mammen", "webb", "norm"]
PValType = Literal["two-tailed", "equal-tailed", ">", "<"]
FixefK = Literal["none", "full"]

_WEIGHT_TYPES = ("rademacher", "mammen", "webb", "norm")
_PVAL_TYPES = ("two-tailed", "equal-tailed", ">", "<")
# Elements of one chunk of draws (draws x clusters); bounds the working memory at ~8 MB per array.
_CHUNK_ELEMENTS = 1 << 20
# Dense solve of the fixed-effect normal equations up to this many FE levels, sparse CG above.
_DENSE_FE_LEVELS = 4000


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoottestResult(ResultMixin):
    """Result of :func:`boottest`.

    Attributes
    ----------
    param
        The tested coefficient.
    r
        The hypothesised value (``H0: param = r``).
    point_estimate
        The coefficient estimate.
    t_stat
        The t-statistic ``(beta - r) / se`` with the CR1 standard error of fwildclusterboot's
        small-sample factor (see the module docstring).
    p_value
        The bootstrap p-value of type ``p_val_type``.
    conf_int
        ``(lower, upper)`` by test inversion, or ``None`` (``conf_int=False`` or one-sided test).
    t_boot
        The bootstrap t-statistics (in draw order; non-finite ones dropped).
    B
        The effective number of draws (``2^G*`` under full enumeration).
    weights_type, impose_null, p_val_type, sign_level, full_enumeration
        The settings as used.
    n_obs, n_clusters, n_bootclusters
        Observations (non-zero weight), error clusters ``G`` and bootstrap clusters ``G*``.
    ssc
        The small-sample factor applied to the bootstrap variance.
    n_invalid
        Number of bootstrap t-statistics dropped as non-finite.
    notes
        Announcements (e.g. "full enumeration", "no interval for a one-sided test").
    """

    param: str
    r: float
    point_estimate: float
    t_stat: float
    p_value: float
    conf_int: tuple[float, float] | None
    t_boot: np.ndarray = field(repr=False)
    B: int
    weights_type: str
    impose_null: bool
    p_val_type: str
    sign_level: float
    full_enumeration: bool
    n_obs: int
    n_clusters: int
    n_bootclusters: int
    ssc: float
    n_invalid: int = 0
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row: term, estimate, statistic, p_value, conf_low, conf_high."""
        lo, hi = self.conf_int if self.conf_int is not None else (math.nan, math.nan)
        return pd.DataFrame(
            {
                "term": [self.param],
                "estimate": [self.point_estimate],
                "statistic": [self.t_stat],
                "p_value": [self.p_value],
                "conf_low": [lo],
                "conf_high": [hi],
            }
        )

    def summary(self) -> str:
        """Plain-text summary in the spirit of ``summary.boottest``."""
        kind = "WCR" if self.impose_null else "WCU"
        enum = ", full enumeration" if self.full_enumeration else ""
        head = (
            f"BoottestResult: wild cluster bootstrap ({kind}, {self.weights_type} weights{enum})\n"
            f"H0: {self.param} = {self.r:g}; B = {self.B}; p-value type: {self.p_val_type}\n"
            f"N = {self.n_obs}, clusters G = {self.n_clusters}, bootstrap clusters "
            f"G* = {self.n_bootclusters}, ssc = {self.ssc:.6g}\n"
        )
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.tidy().to_string(index=False)
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return head + body + notes


# --------------------------------------------------------------------------------------------
# the core on arrays
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BootStats:
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


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def _group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` (1-d or 2-d) within groups; returns ``n_groups x ...``."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)
    return np.column_stack(
        [
            np.bincount(codes, weights=values[:, j], minlength=n_groups)
            for j in range(values.shape[1])
        ]
    ).reshape(n_groups, values.shape[1])


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
            c, n_lev = _codes(np.asarray(codes))
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
    raise FvdidInputError(f"weights_type must be one of {_WEIGHT_TYPES}, got {weights_type!r}")


def _enumeration_chunk(start: int, stop: int, g: int) -> np.ndarray:
    """Rows ``start..stop-1`` of all ``2^g`` sign vectors in lexicographic order (-1 before +1,
    first cluster most significant)."""
    ints = np.arange(start, stop, dtype=np.int64)
    shifts = np.arange(g - 1, -1, -1, dtype=np.int64)
    bits = (ints[:, None] >> shifts[None, :]) & 1
    return bits.astype(np.float64) * 2.0 - 1.0


def _wild_core(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    cluster_codes: np.ndarray,
    bootcluster_codes: np.ndarray,
    R_vector: np.ndarray,
    r: float,
    *,
    B: int = 9999,
    weights_type: str = "rademacher",
    impose_null: bool = True,
    p_val_type: str = "two-tailed",
    conf_int: bool = True,
    sign_level: float = 0.05,
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
    c_codes, n_c = _codes(np.asarray(cluster_codes))
    g_codes, n_g = _codes(np.asarray(bootcluster_codes))
    if n_c < 2:
        raise FvdidInputError(f"the cluster variable has {n_c} level(s); at least 2 are needed")
    if n_g < 2:
        raise FvdidInputError(f"the bootcluster variable has {n_g} level(s); at least 2 are needed")
    n_obs = int(np.count_nonzero(w))
    k_ssc = k if ssc_k is None else int(ssc_k)
    if n_obs <= k_ssc:
        raise FvdidInputError(f"{n_obs} observations cannot support {k_ssc} parameters")
    ssc = (n_c / (n_c - 1.0)) * ((n_obs - 1.0) / (n_obs - k_ssc))
    notes: list[str] = []

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
    P1 = _group_sum(g_codes, n_g, wx * P[:, None])  # G* x k
    Q1 = _group_sum(g_codes, n_g, wx * Q[:, None])
    SXA = _group_sum(c_codes, n_c, a[:, None] * X) @ A  # G x k

    same = n_c == n_g and np.array_equal(c_codes, g_codes)
    if same:
        p2_diag = np.bincount(c_codes, weights=a * P, minlength=n_c)
        q2_diag = np.bincount(c_codes, weights=a * Q, minlength=n_c)
        P2 = Q2 = None
    else:
        p2_diag = q2_diag = None
        P2 = _crosstab(c_codes, n_c, g_codes, n_g, a * P)
        Q2 = _crosstab(c_codes, n_c, g_codes, n_g, a * Q)

    P3 = Q3 = None
    if fe_codes is not None and len(fe_codes) > 0:
        proj = _FEProjector([np.asarray(f) for f in fe_codes], w)
        # P3[c, g] = sum_i w_i [P_D(h 1_c)]_i u~_i 1_g(i) = CT_h' (D'WD)^+ CT_u
        ct_h = proj.crosstab(c_codes, n_c, a)  # levels x G
        left = proj.solve(ct_h).T  # G x levels
        P3 = left @ proj.crosstab(g_codes, n_g, w * P)
        Q3 = left @ proj.crosstab(g_codes, n_g, w * Q)

    # ---- draws -----------------------------------------------------------------------------
    full_enumeration = weights_type == "rademacher" and 2.0**n_g <= B
    B_eff = int(2**n_g) if full_enumeration else int(B)
    if full_enumeration:
        notes.append(
            f"full enumeration: {n_g} bootstrap clusters give only {B_eff} distinct Rademacher "
            f"draws, so B = {B_eff} (as fwildclusterboot)"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    total = B_eff + 1
    out_a = np.empty(total)
    out_b = np.empty(total)
    out_cc = np.empty(total)
    out_cd = np.empty(total)
    out_dd = np.empty(total)
    chunk = max(1, _CHUNK_ELEMENTS // max(n_g, n_c))

    def _stats(V: np.ndarray, sl: slice) -> None:
        out_a[sl] = V @ numer_p
        out_b[sl] = V @ numer_q
        if same:
            C = V * p2_diag - (V @ P1) @ SXA.T
            D = V * q2_diag - (V @ Q1) @ SXA.T
        else:
            C = (P2 @ V.T).T - (V @ P1) @ SXA.T
            D = (Q2 @ V.T).T - (V @ Q1) @ SXA.T
        if P3 is not None:
            C -= V @ P3.T
            D -= V @ Q3.T
        out_cc[sl] = np.einsum("ij,ij->i", C, C)
        out_cd[sl] = np.einsum("ij,ij->i", C, D)
        out_dd[sl] = np.einsum("ij,ij->i", D, D)
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

    stats = _BootStats(out_a, out_b, out_cc, out_cd, out_dd, ssc, impose_null, point)
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
            ci, ci_note = _invert_pvalue(
                stats, p_val_type, point, se_guess, sign_level, tol, maxiter
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


# --------------------------------------------------------------------------------------------
# confidence interval by test inversion
# --------------------------------------------------------------------------------------------


def _brent_zeroin(
    f: Any, ax: float, bx: float, fa: float, fb: float, tol: float, maxiter: int
) -> float:
    """Brent's (1973) root finder as in R's ``uniroot`` (``maxiter`` iterations after the two
    end points; returns the last iterate when it does not converge, as ``uniroot``)."""
    eps = np.finfo(float).eps
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * eps * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _r_seq_by(start: float, stop: float, by: float) -> np.ndarray:
    """R's ``seq(from, to, by)`` for ``by > 0``."""
    n = int((stop - start) / by + 1e-10)
    return np.minimum(start + np.arange(n + 1) * by, stop)


def _invert_pvalue(
    stats: _BootStats,
    p_val_type: str,
    point: float,
    se_guess: float,
    sign_level: float,
    tol: float,
    maxiter: int,
) -> tuple[tuple[float, float] | None, str | None]:
    def f(x: float) -> float:
        return stats.pvalue(x, p_val_type) - sign_level

    if not math.isfinite(se_guess) or se_guess == 0.0:
        return None, "no confidence interval: the t-statistic is zero or not finite"

    # step 1: start values on each side with p < sign_level
    starts: list[tuple[float, float]] = []
    for upper in (False, True):
        found = None
        x = p = math.nan
        for j in range(101):
            inflate = 2.0 ** (j / 2.0)
            x = point + inflate * se_guess if upper else point - inflate * se_guess
            p = f(x) + sign_level
            if p < sign_level:
                found = (p, x)
                break
        if found is None:
            return None, (
                "no confidence interval: no value with p < sign_level was found by inflating "
                "the standard error guess"
            )
        starts.append(found)
    (p_lo, x_lo), (p_hi, x_hi) = starts

    # step 2: equally spaced grid of 26 points, p at the inner points
    grid = _r_seq_by(min(x_lo, x_hi), max(x_lo, x_hi), abs(x_hi - x_lo) / 25.0)
    pv = np.full(max(grid.size, 26), np.nan)
    for i in range(1, grid.size - 1):
        pv[i] = f(float(grid[i])) + sign_level
    pv[0] = p_lo
    pv[25] = p_hi

    # step 3: points next to a crossing of sign_level, then Brent between the two brackets
    cross = np.where(pv <= sign_level, 1, -1)
    cross[np.isnan(pv)] = 0  # NaN never forms a crossing pair (R: NA)
    flagged = []
    for i in range(pv.size):
        nxt = i + 1 < pv.size and not np.isnan(pv[i + 1]) and cross[i] + cross[i + 1] == 0
        prv = i >= 1 and not np.isnan(pv[i - 1]) and cross[i] + cross[i - 1] == 0
        if not np.isnan(pv[i]) and (nxt or prv):
            flagged.append(i)
    if len(flagged) < 4 or flagged[3] >= grid.size:
        return (
            None,
            "no confidence interval: the p-value did not cross sign_level twice on the grid",
        )
    roots = []
    for pair in ((flagged[0], flagged[1]), (flagged[2], flagged[3])):
        lo, hi = float(min(grid[list(pair)])), float(max(grid[list(pair)]))
        flo, fhi = f(lo), f(hi)
        if flo * fhi > 0:
            return None, "no confidence interval: a bracket does not change sign"
        roots.append(_brent_zeroin(f, lo, hi, flo, fhi, tol, maxiter))
    return (roots[0], roots[1]), None


# --------------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------------


class _DesignLike(Protocol):
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    terms: list[str]
    index: pd.Index
    n_fe: int
    fe: Sequence[str]


def _aligned(value: Any, what: str, data: pd.DataFrame | None, index: pd.Index) -> np.ndarray:
    """Return ``value`` for the rows the fit used.

    ``value`` is a column name of ``data``, a tuple of column names (their intersection, as R's
    ``bootcluster = c("a", "b")``), a Series aligned by label, or an array with one entry per row.
    """
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        parts = [_aligned(v, what, data, index) for v in value]
        codes = [pd.factorize(pd.Series(p), sort=True)[0] for p in parts]
        combined = pd.MultiIndex.from_arrays(codes).factorize(sort=True)[0]
        return np.asarray(combined, dtype=np.int64)
    if isinstance(value, str):
        if data is None:
            raise FvdidInputError(
                f"{what}={value!r} names a column, so pass the data frame the model was fitted "
                f"on as boottest(..., data=df), or pass {what} as an array aligned to the rows used"
            )
        if value not in data.columns:
            raise FvdidInputError(
                f"{what} column {value!r} is not in data; available columns: {list(data.columns)}"
            )
        missing = index.difference(data.index)
        if len(missing):
            raise FvdidInputError(
                f"data lacks {describe_rows(missing)} that the model used; pass the data frame "
                f"the model was fitted on"
            )
        s = data.loc[index, value]
    elif isinstance(value, pd.Series):
        missing = index.difference(value.index)
        if len(missing):
            raise FvdidInputError(
                f"{what} (a Series) lacks {describe_rows(missing)} the model used"
            )
        s = value.loc[index]
    else:
        arr = np.asarray(value)
        if arr.ndim != 1 or arr.size != len(index):
            raise FvdidInputError(
                f"{what} must be a column name, a Series, or a 1-d array with one entry per row "
                f"used by the model ({len(index)}), got shape {arr.shape}"
            )
        s = pd.Series(arr, index=index)
    na = s.isna().to_numpy()
    if na.any():
        raise FvdidInputError(f"{what} has missing values in {describe_rows(index[na])}")
    return s.to_numpy()


def boottest(
    fit: Any,
    param: str,
    cluster: str | tuple[str, ...] | Sequence[Any] | np.ndarray | pd.Series,
    *,
    data: pd.DataFrame | None = None,
    B: int = 9999,
    weights_type: WeightsType = "rademacher",
    impose_null: bool = True,
    r: float = 0.0,
    bootcluster: str | tuple[str, ...] | Sequence[Any] | np.ndarray | pd.Series | None = None,
    p_val_type: PValType = "two-tailed",
    conf_int: bool = True,
    sign_level: float = 0.05,
    seed: int | np.random.Generator | None = None,
    fixef_k: FixefK = "none",
    tol: float = 1e-6,
    maxiter: int = 10,
) -> BoottestResult:
    """Wild cluster bootstrap test of ``H0: param = r`` after :func:`fvdid.ols`.

    Parameters
    ----------
    fit
        An :func:`fvdid.ols` result (absorbed fixed effects and analytic weights included). Its
        ``design`` (the FE-projected design, response, weights, terms, rows used) is what is
        bootstrapped; the data are not re-read except for the cluster columns.
    param
        The coefficient tested (a term of ``fit.params``). R: ``param``.
    cluster
        Error clusters of the CR1 variance: a column name of ``data`` (then ``data=`` is
        required), a tuple of column names (one-way clustering on the intersection of their
        levels), a Series indexed like ``data`` (aligned by label to the rows the fit used),
        or an array with one entry per row used. R: ``clustid`` (one-way only; R's
        multi-way ``clustid = c("a", "b")`` is not supported).
    data
        The data frame the model was fitted on; needed when ``cluster``/``bootcluster`` are
        column names and when the fit absorbs fixed effects that are not nested in the clusters.
    B
        Bootstrap draws. R: ``B``. Under full enumeration (Rademacher, ``2^G* <= B``) the
        effective ``B`` is ``2^G*``.
    weights_type
        ``"rademacher"``, ``"mammen"``, ``"webb"`` or ``"norm"``. R: ``type``.
    impose_null
        ``True``: restricted wild cluster bootstrap (WCR); ``False``: WCU. R: ``impose_null``.
    r
        Hypothesised value. R: ``r``.
    bootcluster
        Level at which the wild weights are drawn: a column name, a tuple of column names (the
        intersection of their levels, R's ``bootcluster = c("a", "b")``), a Series or an array
        as for ``cluster``; default the error clusters (R's ``bootcluster = "max"`` for one-way
        clustering). R: ``bootcluster``.
    p_val_type
        ``"two-tailed"``, ``"equal-tailed"``, ``">"``, ``"<"``. R: ``p_val_type``.
    conf_int
        Compute the confidence interval by test inversion (two-tailed and equal-tailed only).
        R: ``conf_int``.
    sign_level
        Significance level of the interval. R: ``sign_level``.
    seed
        Seed (or ``numpy.random.Generator``) for the draws. R's dqrng stream differs, so only
        full enumeration reproduces R draw for draw.
    fixef_k
        ``k`` of the small-sample factor ``(N-1)/(N-k)``: ``"none"`` counts the non-FE
        coefficients only (fwildclusterboot on a fixest/felm model with absorbed fixed
        effects); ``"full"`` adds the absorbed FE parameters ``fit.design.n_fe``
        (fwildclusterboot on ``lm()`` with factor dummies). Without absorbed FE both agree.
    tol, maxiter
        Root finder settings of the interval. R: ``tol``, ``maxiter``.

    Returns
    -------
    BoottestResult

    Raises
    ------
    FvdidInputError
        A single cluster, ``param`` not in the model, ``B < 1``, unknown option values,
        cluster values missing or misaligned.
    """
    if not isinstance(B, (int, np.integer)) or isinstance(B, bool) or B < 1:
        raise FvdidInputError(f"B must be a positive integer, got {B!r}")
    if weights_type not in _WEIGHT_TYPES:
        raise FvdidInputError(f"weights_type must be one of {_WEIGHT_TYPES}, got {weights_type!r}")
    if p_val_type not in _PVAL_TYPES:
        raise FvdidInputError(f"p_val_type must be one of {_PVAL_TYPES}, got {p_val_type!r}")
    if fixef_k not in ("none", "full"):
        raise FvdidInputError(f"fixef_k must be 'none' or 'full', got {fixef_k!r}")
    if not 0.0 < float(sign_level) < 1.0:
        raise FvdidInputError(f"sign_level must lie in (0, 1), got {sign_level!r}")
    if not math.isfinite(float(r)):
        raise FvdidInputError(f"r must be a finite number, got {r!r}")
    design = getattr(fit, "design", None)
    if design is None:
        raise FvdidInputError("fit must be an fvdid.ols result (it has no `design`)")
    terms = [str(t) for t in design.terms]
    if param not in terms:
        raise FvdidInputError(f"param {param!r} is not a coefficient of the model; terms: {terms}")
    if conf_int and p_val_type in ("two-tailed", "equal-tailed") and B <= 100:
        raise FvdidInputError(
            f"B = {B}: the confidence interval by test inversion needs B > 100 "
            "(as fwildclusterboot); set conf_int=False or raise B"
        )

    index = pd.Index(design.index)
    X = np.asarray(design.X, dtype=np.float64)
    y = np.asarray(design.y, dtype=np.float64)
    weights = None if design.weights is None else np.asarray(design.weights, dtype=np.float64)
    c_vals = _aligned(cluster, "cluster", data, index)
    g_vals = c_vals if bootcluster is None else _aligned(bootcluster, "bootcluster", data, index)
    R_vector = np.zeros(X.shape[1])
    R_vector[terms.index(param)] = 1.0

    fe_cols = [str(c) for c in (getattr(design, "fe", None) or [])]
    n_fe = int(getattr(design, "n_fe", 0) or 0)
    fe_codes = None
    if fe_cols:
        fe_codes = _fe_codes_if_needed(fe_cols, data, index, c_vals)
    ssc_k = X.shape[1] + (n_fe if fixef_k == "full" else 0)

    core = _wild_core(
        X,
        y,
        weights,
        c_vals,
        g_vals,
        R_vector,
        float(r),
        B=int(B),
        weights_type=weights_type,
        impose_null=bool(impose_null),
        p_val_type=p_val_type,
        conf_int=bool(conf_int),
        sign_level=float(sign_level),
        seed=seed,
        ssc_k=ssc_k,
        fe_codes=fe_codes,
        tol=tol,
        maxiter=maxiter,
    )
    return BoottestResult(
        param=param,
        r=float(r),
        point_estimate=core.point_estimate,
        t_stat=core.t_stat,
        p_value=core.p_value,
        conf_int=core.conf_int,
        t_boot=core.t_boot,
        B=core.B,
        weights_type=weights_type,
        impose_null=bool(impose_null),
        p_val_type=p_val_type,
        sign_level=float(sign_level),
        full_enumeration=core.full_enumeration,
        n_obs=core.n_obs,
        n_clusters=core.n_clusters,
        n_bootclusters=core.n_bootclusters,
        ssc=core.ssc,
        n_invalid=core.n_invalid,
        notes=core.notes,
    )


def _fe_codes_if_needed(
    fe_cols: list[str], data: pd.DataFrame | None, index: pd.Index, c_vals: np.ndarray
) -> list[np.ndarray] | None:
    """FE level arrays for the projection term, or ``None`` when it vanishes for sure.

    The term is zero when every absorbed factor is nested in the error clusters (each FE level
    lies in one cluster); that needs the FE columns of ``data``.
    """
    if data is None:
        raise FvdidInputError(
            f"the fit absorbs fixed effects {fe_cols}; pass the data frame it was fitted on as "
            "boottest(..., data=df) so that the bootstrap residuals can be projected on them"
        )
    missing = [c for c in fe_cols if c not in data.columns]
    if missing:
        raise FvdidInputError(f"data has no fixed-effect column(s) {missing}")
    codes = [data.loc[index, c].to_numpy() for c in fe_cols]
    c_codes, _ = _codes(c_vals)
    nested = True
    for fc in codes:
        f_codes, _ = _codes(fc)
        per_level = pd.Series(c_codes).groupby(f_codes).nunique()
        if (per_level > 1).any():
            nested = False
            break
    return None if nested else codes
