"""Feasible GLS random-effects regression (Swamy–Arora), as ``plm(model = "random")``.

Reference: ``plm::plm(formula, data, index = c(unit, time), model = "random",
random.method = "swar", effect = "individual")``; for balanced panels plm's ``dfcor = c(2, 2)``
quadratic forms, for unbalanced panels its ``dfcor = c(3, 3)`` unbalanced Swamy–Arora variant.
The cluster-robust covariance is ``plm::vcovHC(fit, method = "arellano", type = "sss",
cluster = "group")``: ``G/(G-1) * (n-1)/(n-k)`` times the sandwich of the quasi-demeaned
regressors with cluster sums of the GLS residuals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from fvdid._results import ResultMixin, coef_table, t_intervals
from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._design import (
    clearly_full_rank,
    group_indicator,
    independent_columns,
    qr_r,
)
from fvdid.estimators._formula import build_columns, numeric_column, parse_formula
from fvdid.estimators._sandwich import cluster_codes, cluster_meat, small_sample_factor

__all__ = ["RandomEffectsResult", "random_effects"]

# A column is treated as time-invariant (dropped from the within model, as plm does with
# cstcovar.rm = "all") when its within-unit variation is below this share of its norm.
_CONST_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class RandomEffectsResult(ResultMixin):
    """Result of :func:`random_effects`. Series are indexed by term label."""

    params: pd.Series
    std_errors: pd.Series
    tstats: pd.Series
    pvalues: pd.Series
    vcov: pd.DataFrame
    theta: pd.Series  # per unit (constant for a balanced panel)
    sigma2_idios: float
    sigma2_unit: float
    nobs: int
    n_units: int
    n_clusters: int | None
    df_resid: int
    balanced: bool
    n_dropped: int
    vcov_type: str
    cluster: str | None
    alpha: float
    formula: str
    resid: pd.Series
    notes: tuple[str, ...]

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Normal-theory intervals as plm's ``confint`` (``qnorm``)."""
        return t_intervals(self.params, self.std_errors, np.inf, self.alpha if alpha is None else alpha)

    def tidy(self) -> pd.DataFrame:
        return coef_table(self.params, self.std_errors, self.tstats, self.pvalues, self.conf_int())


def _r_factor(M: np.ndarray) -> np.ndarray:
    """The R factor of a QR of ``M`` by TSQR over row blocks of 1,024 rows (:func:`qr_r`; used
    while a block has at least 4 times as many rows as columns)."""
    return qr_r(M, block_rows=1024, max_cols=256, min_blocks=2)


def _lstsq_ssr(X: np.ndarray, y: np.ndarray) -> float:
    """The residual sum of squares of ``lstsq(X, y)`` (minimum norm, lstsq's default cutoff
    ``eps * max(n, k)``), from the R factor of ``[X, y]``: with ``[X, y] = Q [[R, r], [0, rho]]``
    it is ``rho^2 + min |r - R b|^2`` (``Q`` orthogonal), the small problem solved by lstsq
    with the same singular values and cutoff."""
    n, k = X.shape
    if k == 0 or n <= k:  # nothing to factorise, or no rho: lstsq itself
        e = _ols(X, y)[1]
        return float(e @ e)
    Rf = _r_factor(np.column_stack([X, y]))
    R, r, rho = Rf[:k, :k], Rf[:k, k], float(Rf[k, k])
    b = np.linalg.lstsq(R, r, rcond=np.finfo(float).eps * max(n, k))[0]
    return rho * rho + float(np.sum((r - R @ b) ** 2))


def _unit_means(M: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    sums = np.asarray(group_indicator(codes, len(counts)) @ M)  # = bincount column by column
    return sums / counts[:, None]


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta, y - X @ beta


def random_effects(
    formula: str,
    data: pd.DataFrame,
    *,
    unit: str,
    time: str | None = None,
    vcov: Literal["iid", "CR1"] = "iid",
    cluster: str | None = None,
    alpha: float = 0.05,
) -> RandomEffectsResult:
    """Swamy–Arora random-effects FGLS for balanced and unbalanced panels.

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2 + C(cat)"`` (same term syntax as :func:`fvdid.ols`, no ``|``); an
        intercept is always included.
    data
        Long panel; rows with a missing value in a used column are dropped and counted.
    unit, time
        R: ``index = c(unit, time)``. ``time`` is only used to check that (unit, time) pairs
        are unique.
    vcov
        ``"iid"``: ``vcov(fit)`` (``sigma^2 (X*'X*)^{-1}`` on the quasi-demeaned data);
        ``"CR1"``: ``plm::vcovHC(fit, method = "arellano", type = "sss", cluster = "group")``.
    cluster
        Cluster column for CR1; default ``unit`` (plm's ``cluster = "group"``). plm itself can
        only cluster by the unit or the time index; other columns use the same formula.
    alpha
        Level of the normal-theory intervals in ``tidy()`` (plm reports z intervals). R:
        ``confint(fit, level = 1 - alpha)``.

    Notes
    -----
    ``sigma2_idios = SSR_within / (n - N - K_w)``; ``sigma2_unit`` from the between regression
    on unit means (balanced: ``SSR_B/(N-r_B) - sigma2_idios/T``, ``r_B`` the rank of the
    between design, as plm: with time dummies in a balanced panel their unit means are constant
    and ``r_B < k``; unbalanced: plm's trace formula). Negative ``sigma2_unit`` is set to 0, as plm does. ``theta_i = 1 -
    sqrt(sigma2_idios / (T_i sigma2_unit + sigma2_idios))``. p-values use the t distribution
    with ``n - k`` df, as ``summary(plm)``.
    """
    if not isinstance(data, pd.DataFrame):
        raise FvdidInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if vcov not in ("iid", "CR1"):
        raise FvdidInputError(f"vcov must be 'iid' or 'CR1'; got {vcov!r}")
    if "|" in formula:
        raise FvdidInputError("random_effects takes no absorbed fixed effects ('|' in formula)")
    pf = parse_formula(formula)
    if not pf.intercept:
        raise FvdidInputError("random_effects needs the intercept (no '- 1')")
    if vcov == "CR1" and cluster is None:
        cluster = unit
    if vcov == "iid" and cluster is not None:
        raise FvdidInputError(f"cluster={cluster!r} was given but vcov='iid'; use vcov='CR1'")
    extra = [c for c in (unit, time, cluster) if c is not None]
    cols = list(dict.fromkeys([*pf.columns, *extra]))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise FvdidInputError(
            f"formula {formula!r} / arguments name column(s) {missing} that are not in the data; "
            f"available columns: {list(data.columns)}"
        )
    sub = data[cols]
    na = sub.isna().any(axis=1).to_numpy()
    if na.all():
        raise FvdidInputError(f"no complete rows: all {len(data)} rows have a missing value")
    notes: list[str] = []
    if na.any():
        notes.append(f"{int(na.sum())} rows with missing values dropped")
    d = sub.loc[~na]
    if time is not None:
        dup = d.duplicated([unit, time], keep=False).to_numpy()
        if dup.any():
            raise FvdidInputError(
                f"(unit, time) = ({unit!r}, {time!r}) pairs are not unique: "
                f"{describe_rows(d.index[dup])}"
            )
    n = len(d)
    y = numeric_column(d, pf.response)
    X, labels, bnotes = build_columns(pf, d, dummy_label="T.level")
    notes.extend(bnotes)
    # terms that are exact combinations of earlier ones are dropped and named (lm / plm report
    # them NA); the fit is then the one without them
    keep = list(range(X.shape[1])) if clearly_full_rank(X) else independent_columns(X, X)
    if len(keep) < X.shape[1]:
        gone = [labels[j] for j in range(X.shape[1]) if j not in keep]
        notes.append(f"term(s) {gone} are collinear with earlier terms; dropped")
        X = X[:, keep]
        labels = [labels[j] for j in keep]
    codes, uniq = pd.factorize(d[unit], sort=True)
    codes = codes.astype(np.int64)
    N = len(uniq)
    Ti = np.bincount(codes, minlength=N).astype(float)
    balanced = bool(np.all(Ti == Ti[0]))
    if time is not None and balanced:
        n_t = d[time].nunique()
        balanced = bool(Ti[0] == n_t)
    k = X.shape[1]  # includes the intercept

    # within model: columns that vary within units
    YX = np.column_stack([y, X])
    means = _unit_means(YX, codes, Ti)
    within = YX - means[codes]
    yw, Xw = within[:, 0], within[:, 1:]
    norm_w = np.sqrt(np.einsum("ij,ij->j", Xw, Xw))  # column norms, in one pass
    norm_x = np.sqrt(np.einsum("ij,ij->j", X, X))
    varying = [j for j in range(k) if norm_w[j] > _CONST_TOL * max(norm_x[j], 1.0)]
    Kw = len(varying)
    quad_w = _lstsq_ssr(Xw[:, varying], yw)

    # "Between" model: unit means expanded to every observation (OLS weights T_i per unit).
    # Its residual df come from the RANK of the between design, as in plm: in a balanced panel
    # the unit means of time dummies are constant, collinear with the intercept, and N - k
    # would overstate the parameters estimated.
    xb = means[:, 1:]
    rank_b = int(np.linalg.matrix_rank(np.sqrt(Ti)[:, None] * xb))
    if N <= rank_b:
        raise FvdidInputError(
            f"{N} units but {rank_b} estimable between-regression coefficients (incl. "
            "intercept): the between regression of the Swamy–Arora estimator is not estimable"
        )
    # The between regression of the unit means expanded to every row, solved on the N unit rows
    # weighted by sqrt(T_i): the expanded design is P (sqrt(T) xb) with P's columns orthonormal,
    # so both have the same singular values and the same minimum-norm solution (lstsq's cutoff
    # kept at eps * max(n, k), as on the expanded rows); the residuals are unique.
    sw = np.sqrt(Ti)
    beta_b = np.linalg.lstsq(sw[:, None] * xb, sw * means[:, 0],
                             rcond=np.finfo(float).eps * max(n, k))[0]
    u_b = means[:, 0] - xb @ beta_b  # per unit: ybar_i - xbar_i' beta_B
    quad_b = float(np.sum(Ti * u_b**2))
    m_w = n - N - Kw
    m_id_nu = N - rank_b
    if balanced:
        m_id_eta = Ti[0] * m_id_nu
    else:
        ZbZb = (Ti[:, None] * xb).T @ xb
        ZsZ = (Ti[:, None] ** 2 * xb).T @ xb
        if rank_b == k:
            m_id_eta = n - float(np.trace(np.linalg.solve(ZbZb, ZsZ)))
        else:  # generalised inverse on the estimable span
            m_id_eta = n - float(np.trace(np.linalg.pinv(ZbZb, hermitian=True) @ ZsZ))
    if m_w <= 0:
        raise FvdidInputError("no within-unit degrees of freedom for the idiosyncratic variance")
    s2_idios = quad_w / m_w
    s2_unit = (quad_b - m_id_nu * s2_idios) / m_id_eta
    if s2_unit < 0:
        notes.append("negative unit variance component set to 0 (as plm does)")
        s2_unit = 0.0
    theta_u = 1.0 - np.sqrt(s2_idios / (Ti * s2_unit + s2_idios))
    th = theta_u[codes]
    ys = y - th * means[codes, 0]
    Xs = X - th[:, None] * means[codes, 1:]
    # R and Q'ys from one QR of [Xs, ys], without forming Q
    Rf = _r_factor(np.column_stack([Xs, ys]))
    R = Rf[:k, :k]
    beta = np.linalg.solve(R, Rf[:k, k])
    Rinv = np.linalg.solve(R, np.eye(k))
    XtX_inv = Rinv @ Rinv.T
    e_s = ys - Xs @ beta
    df_resid = n - k
    n_clusters: int | None = None
    if vcov == "iid":
        V = XtX_inv * float(e_s @ e_s) / df_resid
    else:
        assert cluster is not None
        g = cluster_codes(d, cluster)
        n_clusters = int(g.max()) + 1
        meat = cluster_meat((Xs.T * e_s).T, g)  # column-major scores: contiguous cluster sums
        V = XtX_inv @ meat @ XtX_inv * small_sample_factor("CR1", n, k, n_clusters)
    se = np.sqrt(np.diag(V))
    t = beta / se
    p = 2 * stats.t.sf(np.abs(t), df_resid)
    idx = pd.Index(labels, name="term")
    unit_index = pd.Index(uniq, name=unit)
    return RandomEffectsResult(
        params=pd.Series(beta, index=idx, name="estimate"),
        std_errors=pd.Series(se, index=idx, name="std_error"),
        tstats=pd.Series(t, index=idx, name="statistic"),
        pvalues=pd.Series(p, index=idx, name="p_value"),
        vcov=pd.DataFrame(V, index=idx, columns=idx),
        theta=pd.Series(theta_u, index=unit_index, name="theta"),
        sigma2_idios=float(s2_idios),
        sigma2_unit=float(s2_unit),
        nobs=n,
        n_units=N,
        n_clusters=n_clusters,
        df_resid=int(df_resid),
        balanced=balanced,
        n_dropped=int(na.sum()),
        vcov_type=vcov,
        cluster=cluster,
        alpha=alpha,
        formula=formula,
        resid=pd.Series(y - X @ beta, index=d.index, name="resid"),
        notes=tuple(notes),
    )

