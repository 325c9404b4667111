"""Linear regression with absorbed fixed effects and iid / HC0-HC3 / CR0-CR3 inference.

The numbers reproduce R's ``stats::lm`` fitted with the fixed effects as ``factor()`` dummies,
``sandwich::vcovHC`` / ``sandwich::vcovCL`` for HC1 / CR1 and ``clubSandwich::vcovCR`` /
``clubSandwich::coef_test`` for CR2 with Satterthwaite degrees of freedom. The fixed effects are
never materialised as dense dummies: they are absorbed by an exact (weighted) within
transformation, and the CR2 adjustment matrices, which involve the hat matrix of the *full*
model including the dummies, are assembled per cluster block through the Frisch–Waugh–Lovell
identity ``H = P_D + P_{M_D X}``.

The module is a little over 500 lines: the fit, its collinearity rule and every variance type
share one design and one set of residuals, and splitting them would pass those around.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg as sla
from scipy import stats

from fvdid._results import ResultMixin, coef_table, seal, t_intervals
from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._cr2 import cr2
from fvdid.estimators._design import Absorber, _independent, coded_counts
from fvdid.estimators._formula import column_list, numeric_column, parse_formula
from fvdid.estimators._sandwich import (
    FullHat,
    cluster_codes,
    cluster_meat,
    cluster_score_sums,
    cr3_meat,
    leverage_scores,
    multiway_meat,
    small_sample_factor,
)

__all__ = ["OLSDesign", "OLSResult", "cr2_of", "ols"]

VcovType = Literal["iid", "HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR1S", "CR2", "CR3"]
_VCOV_TYPES = ("iid", "HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR1S", "CR2", "CR3")
_HC = ("HC0", "HC1", "HC2", "HC3")
_MULTIWAY_OK = ("CR0", "CR1", "CR1S")

# lm()'s rank detection (qr tolerance 1e-7) applied to the within-transformed regressors.
_COLLINEAR_TOL = 1e-7


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

    ``source`` is a *reference* to the data frame the model was fitted on (no copy) and
    ``positions`` the integer positions of the rows used, so that :func:`fvdid.boottest` can
    read a cluster column by name without ``data=``; :meth:`column` does that lookup. The frame
    is not copied, so memory does not grow with the fit; a frame changed in place after the fit
    is detected by :meth:`column` only when its length changed.

    ``bread`` is ``(X'WX)^{-1}`` as the fit computed it (from the R of its QR), so that a
    variance of another type can be formed later without refitting (:func:`cr2_of`).
    """

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    terms: list[str]
    index: pd.Index
    n_fe: int
    fe: list[str]
    source: pd.DataFrame | None = None
    positions: np.ndarray | None = None
    bread: np.ndarray | None = None

    def column(self, name: str) -> pd.Series:
        """Values of column ``name`` of the fitted frame at the rows the fit used.

        Raises
        ------
        FvdidInputError
            The design carries no frame, the frame has no such column, or its rows changed.
        """
        if self.source is None or self.positions is None:
            raise FvdidInputError(
                f"column {name!r} was asked for, but this design carries no data frame; pass "
                "data= (the frame the model was fitted on)"
            )
        if name not in self.source.columns:
            raise FvdidInputError(
                f"column {name!r} is not in the data frame the model was fitted on; available "
                f"columns: {list(self.source.columns)}"
            )
        if len(self.source) <= int(self.positions.max(initial=-1)) or not self.source.index[
            self.positions
        ].equals(self.index):
            raise FvdidInputError(
                "the data frame the model was fitted on has changed its rows since the fit; "
                "pass the frame as data="
            )
        return self.source[name].iloc[self.positions]


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
    cluster: str | tuple[str, ...] | None
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


def _or_missing(na: np.ndarray, col: pd.Series | pd.DataFrame) -> None:
    """``na |= col.isna()`` row-wise, in place: a numpy integer or boolean column holds no missing
    value and is skipped, a float one is tested with ``np.isnan`` (what ``isna`` tests there);
    anything else (object, categorical, extension dtypes, a frame of duplicate names) goes to
    pandas."""
    if isinstance(col, pd.Series) and isinstance(col.dtype, np.dtype) and col.dtype.kind in "fbiu":
        if col.dtype.kind == "f":
            na |= np.isnan(col.to_numpy())
        return
    na |= col.isna().to_numpy().reshape(len(na), -1).any(axis=1)


def ols(
    formula: str,
    data: pd.DataFrame,
    *,
    weights: str | None = None,
    vcov: VcovType = "iid",
    cluster: str | tuple[str, ...] | list[str] | None = None,
    alpha: float = 0.05,
    ssc_k: Literal["all", "nonfe"] = "all",
    multi0: bool = False,
) -> OLSResult:
    """Weighted least squares with absorbed fixed effects.

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2 + C(cat) + a:b | fe1 + fe2"``. Terms: numeric columns, ``C(col)`` for
        treatment-coded dummies (reference = first sorted level; labels ``"C(col)[T.level]"``,
        where R's ``lm`` says ``"factor(col)level"``), interactions ``a:b`` (products of the
        columns; with a ``C()`` factor the product with each of its dummies) and ``a*b``
        (``a + b + a:b``). ``- 1`` or ``+ 0`` drops the intercept (without ``|`` the first
        ``C()`` main effect then keeps all its levels, as in ``lm``). The grammar is the one
        of every estimator, :mod:`fvdid.estimators._formula`. Columns after ``|`` are
        absorbed fixed effects (no intercept is then reported). ``"y ~ 1 | fe"`` fits the
        fixed effects only.
    data
        The data frame. Rows with a missing value in any used column (outcome, regressors,
        fixed effects, weights, cluster) are dropped and counted in ``n_dropped``; rows with
        weight 0 are dropped and counted too (R's ``lm`` keeps them but ignores them).
    weights
        Column of analytic weights, as ``lm(weights = )``. Negative weights are an error.
    vcov
        ``k`` below counts *all* estimated parameters including the fixed-effect dummies, as
        on an ``lm`` with ``factor()`` dummies; leverages ``h_ii`` and hat blocks ``H_jj`` are
        those of that ``lm`` (R's ``hatvalues``).

        * ``"iid"``: ``vcov(lm)``.
        * ``"HC0"`` / ``"HC1"`` / ``"HC2"`` / ``"HC3"``: ``sandwich::vcovHC(fit, type = )``:
          no factor, ``n/(n-k)``, scores over ``sqrt(1-h_ii)``, scores over ``1-h_ii``.
        * ``"CR0"``: no small-sample factor (clubSandwich ``"CR0"``; sandwich
          ``vcovCL(type = "HC0", cadjust = FALSE)``).
        * ``"CR1"``: ``G/(G-1) * (n-1)/(n-k)``: sandwich ``vcovCL(type = "HC1")`` (its
          default for ``lm``), Stata's ``vce(cluster)``. clubSandwich calls this ``"CR1S"``;
          clubSandwich's own ``"CR1"`` is ``G/(G-1)`` alone, i.e. ``vcovCL(type = "HC0")``
          (fvdid keeps sandwich's meaning for ``"CR1"``, the one its headline uses).
        * ``"CR1S"``: the same number as ``"CR1"``, under clubSandwich's name.
        * ``"CR2"``: ``clubSandwich::vcovCR(fit, cluster = , type = "CR2")``, Bell–McCaffrey,
          with ``coef_test(..., test = "Satterthwaite")`` degrees of freedom. With weights,
          clubSandwich's ``lm`` treatment applies (working model: identity target, weights as
          ``W``, ``inverse_var = FALSE``).
        * ``"CR3"``: clubSandwich ``"CR3"``, adjustment ``(I - H_jj)^{-1}`` per cluster, no
          factor (equal to sandwich ``vcovCL(type = "HC3")``, whose ``G/(G-1)`` cancels).
    cluster
        Cluster column (R: ``cluster = ~cluster``), required for the CR types and an error
        otherwise. A tuple or list of two or more columns is *multi-way* clustering (R:
        ``sandwich::vcovCL(cluster = ~ a + b)``, Cameron–Gelbach–Miller: ``V_a + V_b -
        V_{a∩b}``, each term with its own ``G/(G-1)`` and the common ``(n-1)/(n-k)`` for
        ``"CR1"``); supported for CR0 / CR1 / CR1S. One-way clustering on the intersection of
        several columns is a column you build (e.g. ``df["a"].astype(str) + "_" +
        df["b"].astype(str)``). Multi-way degrees of freedom are ``min(G) - 1`` (as fixest).
    multi0
        Multi-way only: replace the last inclusion–exclusion term (the full intersection) by
        the heteroskedasticity-robust meat without small-sample factor (R: ``multi0 = TRUE``).
    alpha
        Level of the confidence intervals in ``tidy()``. R: ``confint(fit, level = 1 - alpha)``
        (``clubSandwich::conf_int(..., level = 1 - alpha)`` for CR2).
    ssc_k
        No R argument (it chooses between two R conventions): ``"all"`` (default, as ``vcovCL`` on the dummy ``lm``): ``k`` in the HC1/CR1 factor
        counts the absorbed fixed-effect parameters; ``"nonfe"``: only the reported
        coefficients (closer to fixest when the FE are nested in the clusters).

    Notes
    -----
    p-values use t(n-k) for iid / HC0-HC3, t(G-1) for CR0 / CR1 / CR1S / CR3 (t(min G - 1)
    multi-way) and the Satterthwaite df for CR2.
    Singleton fixed-effect levels are kept (as ``lm`` with factor dummies does) and counted in
    ``n_singletons``; fixest drops them, which changes ``n`` and hence the small-sample factor.
    Regressors collinear with earlier ones (or with the fixed effects) are dropped and
    announced in ``notes``, as ``lm`` reports them ``NA``.
    """
    if not isinstance(data, pd.DataFrame):
        raise FvdidInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if vcov not in _VCOV_TYPES:
        raise FvdidInputError(f"vcov must be one of {_VCOV_TYPES}; got {vcov!r}")
    if isinstance(cluster, list):
        cluster = tuple(cluster)
    if isinstance(cluster, tuple):
        if len(cluster) == 1:
            cluster = cluster[0]
        elif len(cluster) == 0 or not all(isinstance(c, str) for c in cluster):
            raise FvdidInputError(
                f"cluster must be a column name or a tuple of column names; got {cluster!r}"
            )
    cl_cols: list[str] = (
        [] if cluster is None else ([cluster] if isinstance(cluster, str) else list(cluster))
    )
    multiway = len(cl_cols) > 1
    if multiway and vcov not in _MULTIWAY_OK:
        raise FvdidInputError(
            f"multi-way clustering on {cl_cols} is available for vcov in {_MULTIWAY_OK}, not "
            f"{vcov!r}; for one-way clustering on the intersection build that column yourself"
        )
    if multi0 not in (True, False):
        raise FvdidInputError(f"multi0 must be True or False; got {multi0!r}")
    if ssc_k not in ("all", "nonfe"):
        raise FvdidInputError(f"ssc_k must be 'all' or 'nonfe'; got {ssc_k!r}")
    pf = parse_formula(formula, allow_fe=True)
    used = pf.columns
    extra = [c for c in (weights, *cl_cols) if c is not None]
    missing = [c for c in [*used, *extra] if c not in data.columns]
    if missing:
        raise FvdidInputError(
            f"formula {formula!r} / arguments name column(s) {missing} that are not in the data; "
            f"available columns: {list(data.columns)}"
        )
    if vcov.startswith("CR") and cluster is None:
        raise FvdidInputError(f"vcov={vcov!r} needs a cluster column (cluster=...)")
    if not vcov.startswith("CR") and cluster is not None:
        raise FvdidInputError(
            f"cluster={cluster!r} was given but vcov={vcov!r} ignores it; use a CR type "
            "(CR0, CR1, CR1S, CR2, CR3)"
        )
    notes: list[str] = []
    cols = list(dict.fromkeys([*used, *extra]))
    # missing values column by column (no copy of the used columns when no row is dropped)
    na = np.zeros(len(data), dtype=bool)
    for c in cols:
        _or_missing(na, data[c])
    if na.all():
        allna = [c for c in cols if data[c].isna().to_numpy().all()]
        raise FvdidInputError(
            f"no complete rows: every one of the {len(data)} rows has a missing value"
            + (f"; column(s) {allna} are entirely missing" if allna else "")
        )
    if weights is not None:
        wraw = data[weights]
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
    # the functions below read columns by name: the frame itself serves when no row is dropped
    d = data.loc[~drop, cols] if n_dropped else data
    if len(d) == 0:
        raise FvdidInputError("no rows left after dropping missing values and zero weights")
    n = len(d)
    y = numeric_column(d, pf.response)
    xcols, labels, bnotes = column_list(pf, d, dummy_label="T.level")
    notes.extend(bnotes)
    unit = weights is None  # unit weights: no multiplication by w or sqrt(w) on the rows
    w = np.ones(n) if unit else d[weights].to_numpy(dtype=float)
    p_x = len(xcols)
    # [X, y] in one C-contiguous block: absorbed together, and (unit weights, no collinear
    # term) the very matrix whose QR gives the rank decisions and the fit
    XY = np.empty((n, p_x + 1))
    for j, col in enumerate(xcols):
        XY[:, j] = col
    XY[:, p_x] = y
    X = XY[:, :p_x]

    # fixed effects
    fe_codes: list[np.ndarray] = []
    fe_levels: list[int] = []
    n_singletons = 0
    if pf.fe:
        single = np.zeros(n, dtype=bool)
        for f in pf.fe:
            codes, counts = coded_counts(d[f])
            fe_codes.append(codes)
            fe_levels.append(len(counts))
            if counts.min() == 1:
                single |= counts[codes] == 1
        n_singletons = int(single.sum())
        if n_singletons:
            notes.append(
                f"{n_singletons} observations are singletons of a fixed effect; kept (as lm with "
                "factor dummies does; fixest would drop them)"
            )
        absorber = Absorber(fe_codes, None if unit else w, fe_levels)
        XYt = absorber.project(XY)
        n_fe = absorber.n_fe
    else:
        XYt = XY
        n_fe = 0
    Xt, yt = XYt[:, :p_x], XYt[:, p_x]

    # collinearity (lm-style: a column is dropped when it is explained by the earlier ones): the
    # diagonal of a Householder QR of [sqrt(w) Xt, sqrt(w) yt] gives each column's residual norm on
    # the columns before it; the same R gives the fit (beta = R^-1 Q'y without forming Q).
    if unit:
        scale = np.sqrt(np.einsum("ij,ij->j", X, X))  # the columns' norms: thresholds only
        keep, R_aug = _independent(XYt, scale, _COLLINEAR_TOL, last_is_extra=True)
    else:
        # [sqrt(w) Xt, sqrt(w) yt] built in one block (the products _independent would copy)
        sw = np.sqrt(w)
        scale = np.sqrt(np.einsum("i,ij,ij->j", w, X, X))  # norms of sqrt(w) X: thresholds only
        SXY = np.empty((n, p_x + 1))
        np.multiply(sw[:, None], Xt, out=SXY[:, :p_x])
        np.multiply(sw, yt, out=SXY[:, p_x])
        keep, R_aug = _independent(SXY, scale, _COLLINEAR_TOL, last_is_extra=True)
        del SXY
    for j in range(p_x):
        if j not in keep:
            notes.append(f"term {labels[j]!r} is collinear with earlier terms or the fixed effects; dropped")
    if len(keep) < p_x:
        # a copy of the kept columns; y copied too, so that the design does not hold [Xt, yt]
        # (a view of it) beside the copy: twice the n x k memory of every such fit otherwise
        Xt, yt = Xt[:, keep], yt.copy()
    labels = [labels[j] for j in keep]
    k = Xt.shape[1]

    if k:
        R = R_aug[:k, :k]
        beta = sla.solve_triangular(R, R_aug[:k, k])
        Rinv = sla.solve_triangular(R, np.eye(k))
        Minv = Rinv @ Rinv.T
    else:
        beta = np.zeros(0)
        Minv = np.zeros((0, 0))
    if len(keep) == p_x and XYt.flags.c_contiguous:  # one matrix-vector product on [Xt, yt]
        resid = XYt @ np.append(-beta, 1.0)
    else:
        resid = yt - Xt @ beta
    k_all = k + n_fe
    df_resid = n - k_all
    if df_resid <= 0:
        raise FvdidInputError(
            f"{n} observations but {k_all} parameters (incl. {n_fe} absorbed fixed effects): "
            "no residual degrees of freedom"
        )
    # (sums of squares by numpy's pairwise summation rather than BLAS dot products: the same
    # numbers as the weighted formula with unit weights, and no thread start-up on a loaded host)
    ssr = float(np.sum(resid**2 if unit else w * resid**2))
    if pf.fe:
        tss = float(np.sum(yt**2 if unit else w * yt**2))
    elif pf.intercept:
        ybar = np.sum(w * y) / np.sum(w)
        tss = float(np.sum(w * (y - ybar) ** 2))
    else:
        tss = float(np.sum(w * y**2))
    r2 = 1.0 - ssr / tss if tss > 0 else float("nan")

    n_clusters: int | None = None
    k_ssc = k_all if ssc_k == "all" else k
    e = resid if unit else w * resid  # the scores are e_i x_i
    if vcov == "iid":
        V = Minv * ssr / df_resid
        dfs = np.full(k, float(df_resid))
    elif vcov in _HC:
        scores = e[:, None] * Xt
        if vcov in ("HC2", "HC3"):
            scores = leverage_scores(scores, FullHat(Xt, w, Minv, fe_codes), vcov)
        factor = small_sample_factor("HC1", n, k_ssc) if vcov == "HC1" else 1.0
        V = Minv @ cluster_meat(scores, None) @ Minv * factor
        dfs = np.full(k, float(df_resid))
    elif multiway:
        codes_list = [cluster_codes(d, c) for c in cl_cols]
        meat, hc0, gs = multiway_meat(
            e[:, None] * Xt, codes_list, cadjust=vcov != "CR0", multi0=multi0
        )
        factor = (n - 1) / (n - k_ssc) if vcov != "CR0" else 1.0
        V = Minv @ (factor * meat + hc0) @ Minv
        n_clusters = min(gs)
        dfs = np.full(k, float(n_clusters - 1))
        notes.append(
            f"multi-way clustering on {cl_cols} (clusters: "
            + ", ".join(f"{c}={g}" for c, g in zip(cl_cols, gs))
            + f"); df = min(G) - 1 = {n_clusters - 1}"
        )
    else:
        assert cluster is not None
        if cluster in pf.fe and fe_levels[pf.fe.index(cluster)] >= 2:
            gcodes = fe_codes[pf.fe.index(cluster)]  # already coded, and complete
        else:
            gcodes = cluster_codes(d, cluster)
        n_clusters = int(gcodes.max()) + 1
        if vcov in ("CR0", "CR1", "CR1S"):
            factor = (
                1.0 if vcov == "CR0" else small_sample_factor("CR1", n, k_ssc, n_clusters)
            )
            sums = cluster_score_sums(e, Xt, gcodes)
            V = Minv @ (sums.T @ sums) @ Minv * factor
            dfs = np.full(k, float(n_clusters - 1))
        elif vcov == "CR3":
            meat = cr3_meat(Xt, w, resid, FullHat(Xt, w, Minv, fe_codes), gcodes) if k else None
            V = Minv @ meat @ Minv if k else np.zeros((0, 0))
            dfs = np.full(k, float(n_clusters - 1))
        else:
            if k:
                V, dfs = cr2(Xt, w, resid, Minv, gcodes, fe_codes)
            else:
                V, dfs = np.zeros((0, 0)), np.zeros(0)
    se = np.sqrt(np.diag(V))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    p = 2 * stats.t.sf(np.abs(t), dfs)
    idx = pd.Index(labels, name="term")
    rows = d.index
    fitted = y - resid
    w_out = w.copy() if weights is not None else None
    # fresh arrays no one else holds: the result keeps them read-only without a copy
    seal(*(a for a in (Xt, yt, w_out, resid, fitted, Minv) if a is not None))
    design = OLSDesign(
        X=Xt,
        y=yt,
        weights=w_out,
        terms=list(labels),
        index=rows,
        n_fe=n_fe,
        fe=list(pf.fe),
        source=data,
        positions=np.flatnonzero(~drop) if n_dropped else np.arange(n),
        bread=Minv,
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


def cr2_of(fit: OLSResult, terms: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """CR2 standard errors and Satterthwaite df of ``terms`` of a fit, without refitting.

    The same numbers as ``ols(fit.formula, data, vcov="CR2", cluster=fit.cluster, ...)`` on the
    frame the fit was made on (clubSandwich ``vcovCR(type = "CR2")`` and ``coef_test``), formed
    from the fit's within-transformed design, residuals and ``(X'WX)^{-1}``; the Satterthwaite
    df is computed for ``terms`` only (each coefficient's df is its own computation).

    Parameters
    ----------
    fit
        A result of :func:`ols` clustered by one column (any ``vcov`` of the CR family).
    terms
        Coefficient labels.

    Raises
    ------
    FvdidInputError
        The fit is not clustered by one column, a term is not a coefficient of the fit, or the
        design carries no frame.
    """
    cl = fit.cluster
    if not isinstance(cl, str):
        raise FvdidInputError(f"cr2_of needs a fit clustered by one column; this one has cluster={cl!r}")
    des = fit.design
    missing = [t for t in terms if t not in des.terms]
    if missing:
        raise FvdidInputError(f"term(s) {missing} are not coefficients of the fit; it has {des.terms}")
    if des.bread is None:
        raise FvdidInputError("this fit's design carries no (X'WX)^{-1}; refit with vcov='CR2'")
    d = pd.DataFrame({c: des.column(c) for c in dict.fromkeys([*des.fe, cl])})
    fe_codes, fe_levels = [], []
    for f in des.fe:  # coded exactly as ols() codes them
        codes, counts = coded_counts(d[f])
        fe_codes.append(codes)
        fe_levels.append(len(counts))
    if cl in des.fe and fe_levels[des.fe.index(cl)] >= 2:
        gcodes = fe_codes[des.fe.index(cl)]
    else:
        gcodes = cluster_codes(d, cl)
    w = np.ones(len(des.y)) if des.weights is None else des.weights
    resid = fit.resid.to_numpy()
    pos = [des.terms.index(t) for t in terms]
    V, dfs = cr2(des.X, w, resid, des.bread, gcodes, fe_codes, terms=np.asarray(pos))
    idx = pd.Index(list(terms), name="term")
    return (pd.Series(np.sqrt(np.diag(V)[pos]), index=idx, name="std_error"),
            pd.Series(dfs[pos], index=idx, name="df"))
