"""Linear regression with absorbed fixed effects and iid / HC1 / CR1 / CR2 inference.

The numbers reproduce R's ``stats::lm`` fitted with the fixed effects as ``factor()`` dummies,
``sandwich::vcovHC`` / ``sandwich::vcovCL`` for HC1 / CR1 and ``clubSandwich::vcovCR`` /
``clubSandwich::coef_test`` for CR2 with Satterthwaite degrees of freedom. The fixed effects are
never materialised as dense dummies: they are absorbed by an exact (weighted) within
transformation, and the CR2 adjustment matrices, which involve the hat matrix of the *full*
model including the dummies, are assembled per cluster block through the Frisch–Waugh–Lovell
identity ``H = P_D + P_{M_D X}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import stats

from fvdid._results import ResultMixin, coef_table, t_intervals
from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._sandwich import cluster_codes, cluster_meat, small_sample_factor

__all__ = ["OLSDesign", "OLSResult", "ols"]

VcovType = Literal["iid", "HC1", "CR1", "CR2"]

# Largest number of non-leading fixed-effect levels for which the projection is solved exactly
# through a dense Schur complement; beyond it alternating projections are used.
_SCHUR_MAX_LEVELS = 2000
# CR2 needs a dense generalised inverse of D'WD over all fixed-effect levels.
_CR2_MAX_FE_LEVELS = 5000
# clubSandwich::matrix_power sets eigenvalues <= 1e-12 to zero before taking powers.
_CLUBSANDWICH_EIG_TOL = 1e-12
# lm()'s rank detection (qr tolerance 1e-7) applied to the within-transformed regressors.
_COLLINEAR_TOL = 1e-7


# --------------------------------------------------------------------------------------------
# formula parsing
# --------------------------------------------------------------------------------------------

_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_CAT_RE = re.compile(rf"^C\(\s*({_NAME})\s*\)$")
_NAME_RE = re.compile(rf"^{_NAME}$")


@dataclass(frozen=True)
class _Factor:
    column: str
    categorical: bool


@dataclass(frozen=True)
class _Formula:
    y: str
    terms: tuple[tuple[_Factor, ...], ...]
    intercept: bool
    fe: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        cols = [self.y]
        for term in self.terms:
            cols.extend(f.column for f in term)
        cols.extend(self.fe)
        return list(dict.fromkeys(cols))


def _parse_factor(text: str, formula: str) -> _Factor:
    text = text.strip()
    m = _CAT_RE.match(text)
    if m:
        return _Factor(m.group(1), True)
    if _NAME_RE.match(text):
        return _Factor(text, False)
    raise FvdidInputError(
        f"formula {formula!r}: cannot read the term {text!r}; expected a column name, "
        "C(column) or an interaction a:b"
    )


def _parse_formula(formula: str) -> _Formula:
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise FvdidInputError(f"formula must look like 'y ~ x1 + x2 | fe1 + fe2', got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not _NAME_RE.match(lhs):
        raise FvdidInputError(f"formula {formula!r}: the outcome {lhs!r} must be a column name")
    parts = rhs.split("|")
    if len(parts) > 2:
        raise FvdidInputError(f"formula {formula!r}: at most one '|' (before the fixed effects)")
    reg = parts[0].strip()
    fe: list[str] = []
    if len(parts) == 2:
        for f in parts[1].split("+"):
            f = f.strip()
            if f in ("", "0"):
                continue
            if not _NAME_RE.match(f):
                raise FvdidInputError(
                    f"formula {formula!r}: fixed effect {f!r} must be a plain column name"
                )
            fe.append(f)
    intercept = True
    terms: list[tuple[_Factor, ...]] = []
    # "- 1" / "-1" removes the intercept
    reg_clean = re.sub(r"-\s*1\b", "+ 0", reg)
    if "-" in reg_clean:
        raise FvdidInputError(f"formula {formula!r}: only '- 1' may be subtracted")
    for raw in reg_clean.split("+"):
        raw = raw.strip()
        if raw == "":
            raise FvdidInputError(f"formula {formula!r}: empty term")
        if raw == "1":
            continue
        if raw == "0":
            intercept = False
            continue
        if "*" in raw:  # a*b -> a + b + a:b (two or more factors: all sub-interactions)
            facs = [_parse_factor(t, formula) for t in raw.split("*")]
            n = len(facs)
            for mask in range(1, 2**n):
                sub = tuple(facs[i] for i in range(n) if mask >> i & 1)
                if sub not in terms:
                    terms.append(sub)
            continue
        term = tuple(_parse_factor(t, formula) for t in raw.split(":"))
        if term not in terms:
            terms.append(term)
    # order terms by interaction order, as R does (main effects first), stable otherwise
    terms.sort(key=len)
    if fe:
        intercept = False  # absorbed by the fixed effects
    return _Formula(lhs, tuple(terms), intercept, tuple(fe))


def _level_label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _sorted_levels(values: pd.Series) -> list[Any]:
    uniq = pd.unique(values)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


# --------------------------------------------------------------------------------------------
# fixed-effect absorption
# --------------------------------------------------------------------------------------------


def _dummy_matrix(codes: list[np.ndarray], levels: list[int], n: int) -> sp.csr_matrix:
    blocks = [
        sp.csr_matrix((np.ones(n), (np.arange(n), c)), shape=(n, L))
        for c, L in zip(codes, levels)
    ]
    return sp.hstack(blocks, format="csr")


def _pinv_psd(S: np.ndarray) -> tuple[np.ndarray, int]:
    """Moore–Penrose inverse of a symmetric PSD matrix and its numerical rank."""
    if S.size == 0:
        return S.copy(), 0
    lam, V = np.linalg.eigh(S)
    tol = max(lam.max(), 0.0) * 1e-10
    keep = lam > tol
    inv = (V[:, keep] / lam[keep]) @ V[:, keep].T
    return inv, int(keep.sum())


class _Absorber:
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
        if self.method == "schur":
            DR = _dummy_matrix([codes[i] for i in rest], [levels[i] for i in rest], n)
            self.DR = DR
            D1t_w = sp.csr_matrix((w, (self.c1, np.arange(n))), shape=(levels[lead], n))
            C = (D1t_w @ DR).tocsr()  # L1 x L_rest
            self.C = C
            DRtWDR = (DR.T @ sp.diags(w) @ DR).toarray()
            CtAinvC = (C.T @ sp.diags(1.0 / self.A) @ C).toarray()
            S = DRtWDR - CtAinvC
            S = (S + S.T) / 2
            self.Sinv, rank = _pinv_psd(S)
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
        L1 = self.levels[self.lead]
        if self.method == "within":
            sums = np.column_stack(
                [np.bincount(self.c1, weights=w * M[:, j], minlength=L1) for j in range(M.shape[1])]
            )
            return M - (sums / self.A[:, None])[self.c1]
        if self.method == "schur":
            WM = w[:, None] * M
            b1 = np.column_stack(
                [np.bincount(self.c1, weights=WM[:, j], minlength=L1) for j in range(M.shape[1])]
            )
            bR = np.asarray(self.DR.T @ WM)
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


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OLSDesign:
    """The design after absorbing the fixed effects (for the wild cluster bootstrap).

    ``X`` and ``y`` are the *within-transformed* regressors and outcome: each column minus its
    projection on the fixed-effect dummies in the metric of the analytic weights (weighted group
    demeaning, iterated exactly for several fixed effects). They are NOT multiplied by
    ``sqrt(weights)``: the weighted least-squares fit is ``beta = (X'WX)^{-1} X'Wy`` with
    ``W = diag(weights)``. Without fixed effects ``X`` is the raw design (with the intercept).
    ``index`` holds the labels of the rows of ``data`` that were used, so cluster columns can be
    looked up with ``data.loc[design.index]``. ``n_fe`` is the rank of the fixed-effect dummy
    matrix (levels minus redundancies).
    """

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    terms: list[str]
    index: pd.Index
    n_fe: int
    fe: list[str]


@dataclass(frozen=True, eq=False)
class OLSResult(ResultMixin):
    """Result of :func:`ols`. Series are indexed by term label."""

    params: pd.Series
    std_errors: pd.Series
    tstats: pd.Series
    pvalues: pd.Series
    df: pd.Series
    vcov: pd.DataFrame
    nobs: int
    n_clusters: int | None
    df_resid: int
    resid: pd.Series
    fitted: pd.Series
    r2_within: float
    n_dropped: int
    n_singletons: int
    n_fe: int
    vcov_type: str
    cluster: str | None
    alpha: float
    formula: str
    notes: tuple[str, ...]
    design: OLSDesign = field(repr=False)

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Confidence intervals ``estimate ± t_{1-alpha/2, df} * se`` (df per term)."""
        return t_intervals(self.params, self.std_errors, self.df, self.alpha if alpha is None else alpha)

    def tidy(self) -> pd.DataFrame:
        return coef_table(
            self.params, self.std_errors, self.tstats, self.pvalues, self.conf_int(), df=self.df
        )

    def summary(self) -> str:
        head = (
            f"OLSResult: {self.formula}\n"
            f"vcov={self.vcov_type}"
            + (f" (cluster={self.cluster}, G={self.n_clusters})" if self.cluster else "")
            + f"  nobs={self.nobs}  dropped={self.n_dropped}  absorbed FE={self.n_fe}"
            f"  singletons={self.n_singletons}  R2 within={self.r2_within:.4f}"
        )
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.tidy().to_string(index=False)
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return f"{head}\n{body}{notes}"

    def to_dict(self) -> dict[str, Any]:
        """Every public field as plain data, except ``design`` (arrays for the bootstrap)."""
        d = super().to_dict()
        d.pop("design", None)
        return d


# --------------------------------------------------------------------------------------------
# main entry point
# --------------------------------------------------------------------------------------------


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    s = data[col]
    if s.dtype == bool:
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s):
        raise FvdidInputError(
            f"column {col!r} is used as a numeric regressor but has dtype {s.dtype}; "
            f"wrap it in C({col}) to treat it as categorical"
        )
    arr = s.to_numpy(dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise FvdidInputError(
            f"column {col!r} has infinite values in {describe_rows(data.index[bad])}"
        )
    return arr


def _build_design(pf: _Formula, data: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str]]:
    cols: list[np.ndarray] = []
    labels: list[str] = []
    notes: list[str] = []
    n = len(data)
    if pf.intercept:
        cols.append(np.ones(n))
        labels.append("(Intercept)")
    cache: dict[_Factor, list[tuple[str, np.ndarray]]] = {}
    for term in pf.terms:
        parts: list[list[tuple[str, np.ndarray]]] = []
        for f in term:
            if f not in cache:
                if f.categorical:
                    s = data[f.column]
                    lv = _sorted_levels(s)
                    if len(lv) < 2:
                        notes.append(f"C({f.column}) has a single level; it adds no column")
                    vals = s.to_numpy()
                    cache[f] = [
                        (f"C({f.column})[T.{_level_label(v)}]", (vals == v).astype(float))
                        for v in lv[1:]
                    ]
                else:
                    cache[f] = [(f.column, _numeric(data, f.column))]
            parts.append(cache[f])
        combos: list[tuple[str, np.ndarray]] = [("", np.ones(n))]
        for part in parts:
            combos = [
                (f"{lab}:{pl}" if lab else pl, col * pc) for lab, col in combos for pl, pc in part
            ]
        for lab, col in combos:
            cols.append(col)
            labels.append(lab)
    X = np.column_stack(cols) if cols else np.empty((n, 0))
    return X, labels, notes


def _cr2(
    Xt: np.ndarray,
    w: np.ndarray,
    resid: np.ndarray,
    Minv: np.ndarray,
    gcodes: np.ndarray,
    fe_codes: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """clubSandwich CR2 vcov and Satterthwaite df for the coefficients of ``Xt``.

    ``Xt`` holds the within-transformed regressors; ``Minv = (Xt' W Xt)^{-1}``. The full model is
    ``U = [X, D]``; with ``F = Xt Minv Xt' + D (D'WD)^+ D'`` the hat matrix is ``H = F W`` and
    clubSandwich's adjustment for cluster j is ``A_j = [(I-H)(I-H)']_{jj}^{-1/2}`` (which reduces
    to ``(I - H_jj)^{-1/2}`` without weights, the ``inverse_var`` branch).
    """
    n, k = Xt.shape
    levels = [int(c.max()) + 1 for c in fe_codes]
    L = int(sum(levels))
    if L > _CR2_MAX_FE_LEVELS:
        raise FvdidInputError(
            f"CR2 with {L} fixed-effect levels is not supported (limit {_CR2_MAX_FE_LEVELS}); "
            "use vcov='CR1' or fewer absorbed levels"
        )
    if L:
        D = _dummy_matrix(fe_codes, levels, n)
        DtWD = (D.T @ sp.diags(w) @ D).toarray()
        GD, _ = _pinv_psd((DtWD + DtWD.T) / 2)
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
        # v_j for every coefficient: A_j W_j X_j Minv (n_j x k)
        Vlist.append(apply_A(wj[:, None] * (Xj @ Minv)))
    vcov = Minv @ (comps.T @ comps) @ Minv

    # Satterthwaite degrees of freedom (clubSandwich get_GH / get_P_array / Satterthwaite)
    Amat = np.zeros((k, K, G))  # per coefficient: Ut_j' v_j
    Bmat = np.zeros((k, K, G))  # per coefficient: Ut_j' W_j v_j
    vnorm = np.zeros((k, G))
    for j in range(G):
        idx = idx_list[j]
        Vj = Vlist[j]
        wj = w[idx]
        Xj = Xt[idx]
        a_x = Xj.T @ Vj  # k x k
        b_x = Xj.T @ (wj[:, None] * Vj)
        Amat[:, :k, j] = a_x.T
        Bmat[:, :k, j] = b_x.T
        if L:
            Dj = D[idx]
            Amat[:, k:, j] = np.asarray(Dj.T @ Vj).T
            Bmat[:, k:, j] = np.asarray(Dj.T @ (wj[:, None] * Vj)).T
        vnorm[:, j] = (Vj**2).sum(axis=0)
    df = np.empty(k)
    for i in range(k):
        A_i = Amat[i]
        B_i = Bmat[i]
        MA = Mfull @ A_i
        cross = B_i.T @ MA
        P = A_i.T @ N @ A_i - cross - cross.T
        P[np.diag_indices(G)] += vnorm[i]
        df[i] = np.trace(P) ** 2 / np.sum(P**2)
    return vcov, df


def ols(
    formula: str,
    data: pd.DataFrame,
    *,
    weights: str | None = None,
    vcov: VcovType = "iid",
    cluster: str | None = None,
    alpha: float = 0.05,
    ssc_k: Literal["all", "nonfe"] = "all",
) -> OLSResult:
    """Weighted least squares with absorbed fixed effects.

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2 + C(cat) + a:b | fe1 + fe2"``. Terms: numeric columns, ``C(col)`` for
        treatment-coded dummies (reference = first sorted level; labels ``"C(col)[T.level]"``,
        where R's ``lm`` says ``"factor(col)level"``), interactions ``a:b`` (products of the
        columns; with a ``C()`` factor the product with each of its dummies) and ``a*b``
        (``a + b + a:b``). ``- 1`` or ``+ 0`` drops the intercept. Columns after ``|`` are
        absorbed fixed effects (no intercept is then reported). ``"y ~ 1 | fe"`` fits the
        fixed effects only.
    data
        The data frame. Rows with a missing value in any used column (outcome, regressors,
        fixed effects, weights, cluster) are dropped and counted in ``n_dropped``; rows with
        weight 0 are dropped and counted too (R's ``lm`` keeps them but ignores them).
    weights
        Column of analytic weights, as ``lm(weights = )``. Negative weights are an error.
    vcov
        ``"iid"`` (``vcov(lm)``), ``"HC1"`` (``sandwich::vcovHC(fit, type = "HC1")``),
        ``"CR1"`` (``sandwich::vcovCL(fit, cluster = ~cluster, type = "HC1")``, i.e.
        ``G/(G-1) * (n-1)/(n-k)`` with ``k`` counting *all* estimated parameters including
        the fixed-effect dummies, as on an ``lm`` with ``factor()`` dummies) or ``"CR2"``
        (``clubSandwich::vcovCR(fit, cluster = , type = "CR2")`` on that ``lm``, Bell–McCaffrey,
        with ``coef_test(..., test = "Satterthwaite")`` degrees of freedom). With weights,
        clubSandwich's ``lm`` treatment applies (working model: identity target, weights as
        ``W``, ``inverse_var = FALSE``).
    cluster
        Cluster column (R: ``cluster = ~cluster`` / ``cluster = data$cluster``). Required for
        CR1/CR2; an error otherwise.
    alpha
        Level of the confidence intervals in ``tidy()``.
    ssc_k
        ``"all"`` (default, as ``vcovCL`` on the dummy ``lm``): ``k`` in the HC1/CR1 factor
        counts the absorbed fixed-effect parameters; ``"nonfe"``: only the reported
        coefficients (closer to fixest when the FE are nested in the clusters).

    Notes
    -----
    p-values use t(n-k) for iid / HC1, t(G-1) for CR1 and the Satterthwaite df for CR2.
    Singleton fixed-effect levels are kept (as ``lm`` with factor dummies does) and counted in
    ``n_singletons``; fixest drops them, which changes ``n`` and hence the small-sample factor.
    Regressors collinear with earlier ones (or with the fixed effects) are dropped and
    announced in ``notes``, as ``lm`` reports them ``NA``.
    """
    if not isinstance(data, pd.DataFrame):
        raise FvdidInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if vcov not in ("iid", "HC1", "CR1", "CR2"):
        raise FvdidInputError(f"vcov must be one of 'iid', 'HC1', 'CR1', 'CR2'; got {vcov!r}")
    if ssc_k not in ("all", "nonfe"):
        raise FvdidInputError(f"ssc_k must be 'all' or 'nonfe'; got {ssc_k!r}")
    pf = _parse_formula(formula)
    used = pf.columns
    extra = [c for c in (weights, cluster) if c is not None]
    missing = [c for c in [*used, *extra] if c not in data.columns]
    if missing:
        raise FvdidInputError(
            f"formula {formula!r} / arguments name column(s) {missing} that are not in the data; "
            f"available columns: {list(data.columns)}"
        )
    if vcov in ("CR1", "CR2") and cluster is None:
        raise FvdidInputError(f"vcov={vcov!r} needs a cluster column (cluster=...)")
    if vcov in ("iid", "HC1") and cluster is not None:
        raise FvdidInputError(
            f"cluster={cluster!r} was given but vcov={vcov!r} ignores it; use vcov='CR1' or 'CR2'"
        )
    notes: list[str] = []
    cols = list(dict.fromkeys([*used, *extra]))
    sub = data[cols]
    na = sub.isna().any(axis=1).to_numpy()
    if na.all():
        allna = [c for c in cols if sub[c].isna().all()]
        raise FvdidInputError(
            f"no complete rows: every one of the {len(data)} rows has a missing value"
            + (f"; column(s) {allna} are entirely missing" if allna else "")
        )
    if weights is not None:
        wraw = sub[weights]
        if not pd.api.types.is_numeric_dtype(wraw):
            raise FvdidInputError(f"weights column {weights!r} must be numeric, got {wraw.dtype}")
        neg = (wraw < 0).to_numpy()
        if neg.any():
            raise FvdidInputError(
                f"weights column {weights!r} must be non-negative; "
                f"{describe_rows(data.index[neg])} are negative"
            )
        zero = (wraw == 0).to_numpy() & ~na
        if zero.any():
            notes.append(f"{int(zero.sum())} rows with weight 0 dropped")
        drop = na | zero
    else:
        drop = na
    if na.any():
        notes.append(f"{int(na.sum())} rows with missing values dropped")
    n_dropped = int(drop.sum())
    d = sub.loc[~drop]
    if len(d) == 0:
        raise FvdidInputError("no rows left after dropping missing values and zero weights")
    n = len(d)
    y = _numeric(d, pf.y)
    X, labels, bnotes = _build_design(pf, d)
    notes.extend(bnotes)
    w = d[weights].to_numpy(dtype=float) if weights is not None else np.ones(n)

    # fixed effects
    fe_codes: list[np.ndarray] = []
    n_singletons = 0
    if pf.fe:
        single = np.zeros(n, dtype=bool)
        for f in pf.fe:
            codes, _ = pd.factorize(d[f], sort=True)
            codes = codes.astype(np.int64)
            fe_codes.append(codes)
            counts = np.bincount(codes)
            single |= counts[codes] == 1
        n_singletons = int(single.sum())
        if n_singletons:
            notes.append(
                f"{n_singletons} observations are singletons of a fixed effect; kept (as lm with "
                "factor dummies does; fixest would drop them)"
            )
        absorber = _Absorber(fe_codes, w)
        YX = absorber.project(np.column_stack([y, X]))
        yt, Xt = YX[:, 0], YX[:, 1:]
        n_fe = absorber.n_fe
    else:
        yt, Xt = y, X
        n_fe = 0

    # collinearity (lm-style: a column is dropped when it is explained by the earlier ones)
    # Incremental Gram-Schmidt with re-orthogonalisation (CGS2): the residual of each column on
    # the kept ones costs O(n k) instead of a least-squares solve per column.
    sw = np.sqrt(w)
    keep: list[int] = []
    Q = np.empty((Xt.shape[0], Xt.shape[1]))
    for j in range(Xt.shape[1]):
        col = sw * Xt[:, j]
        ref = np.linalg.norm(sw * X[:, j])
        res = col
        if keep:
            Qk = Q[:, : len(keep)]
            res = col - Qk @ (Qk.T @ col)
            res = res - Qk @ (Qk.T @ res)
        nres = np.linalg.norm(res)
        if ref == 0 or nres <= _COLLINEAR_TOL * ref:
            notes.append(f"term {labels[j]!r} is collinear with earlier terms or the fixed effects; dropped")
        else:
            Q[:, len(keep)] = res / nres
            keep.append(j)
    Xt = Xt[:, keep]
    X = X[:, keep]
    labels = [labels[j] for j in keep]
    k = Xt.shape[1]

    if k:
        Qm, R = np.linalg.qr(sw[:, None] * Xt)
        beta = sla.solve_triangular(R, Qm.T @ (sw * yt))
        Rinv = sla.solve_triangular(R, np.eye(k))
        Minv = Rinv @ Rinv.T
    else:
        beta = np.zeros(0)
        Minv = np.zeros((0, 0))
    resid = yt - Xt @ beta
    k_all = k + n_fe
    df_resid = n - k_all
    if df_resid <= 0:
        raise FvdidInputError(
            f"{n} observations but {k_all} parameters (incl. {n_fe} absorbed fixed effects): "
            "no residual degrees of freedom"
        )
    ssr = float(np.sum(w * resid**2))
    if pf.fe:
        tss = float(np.sum(w * yt**2))
    elif pf.intercept:
        ybar = np.sum(w * y) / np.sum(w)
        tss = float(np.sum(w * (y - ybar) ** 2))
    else:
        tss = float(np.sum(w * y**2))
    r2 = 1.0 - ssr / tss if tss > 0 else float("nan")

    n_clusters: int | None = None
    k_ssc = k_all if ssc_k == "all" else k
    if vcov == "iid":
        V = Minv * ssr / df_resid
        dfs = np.full(k, float(df_resid))
    elif vcov == "HC1":
        scores = (w * resid)[:, None] * Xt
        V = Minv @ cluster_meat(scores, None) @ Minv * small_sample_factor("HC1", n, k_ssc)
        dfs = np.full(k, float(df_resid))
    else:
        assert cluster is not None
        gcodes = cluster_codes(d, cluster)
        n_clusters = int(gcodes.max()) + 1
        if vcov == "CR1":
            scores = (w * resid)[:, None] * Xt
            V = (
                Minv
                @ cluster_meat(scores, gcodes)
                @ Minv
                * small_sample_factor("CR1", n, k_ssc, n_clusters)
            )
            dfs = np.full(k, float(n_clusters - 1))
        else:
            if k:
                V, dfs = _cr2(Xt, w, resid, Minv, gcodes, fe_codes)
            else:
                V, dfs = np.zeros((0, 0)), np.zeros(0)
    se = np.sqrt(np.diag(V))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    p = 2 * stats.t.sf(np.abs(t), dfs)
    idx = pd.Index(labels, name="term")
    rows = d.index
    fitted = y - resid
    design = OLSDesign(
        X=Xt,
        y=yt,
        weights=w.copy() if weights is not None else None,
        terms=list(labels),
        index=rows,
        n_fe=n_fe,
        fe=list(pf.fe),
    )
    return OLSResult(
        params=pd.Series(beta, index=idx, name="estimate"),
        std_errors=pd.Series(se, index=idx, name="std_error"),
        tstats=pd.Series(t, index=idx, name="statistic"),
        pvalues=pd.Series(p, index=idx, name="p_value"),
        df=pd.Series(dfs, index=idx, name="df"),
        vcov=pd.DataFrame(V, index=idx, columns=idx),
        nobs=n,
        n_clusters=n_clusters,
        df_resid=int(df_resid),
        resid=pd.Series(resid, index=rows, name="resid"),
        fitted=pd.Series(fitted, index=rows, name="fitted"),
        r2_within=r2,
        n_dropped=n_dropped,
        n_singletons=n_singletons,
        n_fe=int(n_fe),
        vcov_type=vcov,
        cluster=cluster,
        alpha=alpha,
        formula=formula,
        notes=tuple(notes),
        design=design,
    )

