"""Few-cluster diagnostics of one coefficient: G*, cluster leverage and partial leverage.

* **Effective number of clusters** ``G*(rho)`` (Carter, Schnepel & Steigerwald 2017,
  "Asymptotic behavior of a t-test robust to cluster heterogeneity", REStat 99(4)). For the
  coefficient selected by ``a`` (a unit vector), with ``M = X'WX``,
  ``gamma_g = a' M^{-1} X_g' W_g Omega_g W_g X_g M^{-1} a`` under the working covariance
  ``Omega_g(rho) = (1 - rho) I + rho 1 1'`` (unit variances, intra-cluster correlation
  ``rho``), ``Gamma = (1/G) sum_g (gamma_g - gbar)^2 / gbar^2`` and ``G* = G / (1 + Gamma)``.
  ``G* = G`` exactly when every cluster contributes the same ``gamma_g``; it falls towards 1
  when one cluster dominates the variance of the coefficient (e.g. few treated clusters).
  Reported for ``rho = 0`` and ``rho = 1`` (the two ends CSS and Stata's ``summclust`` show) by
  default. With fixed effects nested in the clusters (LA fixed effects, LA clusters) the
  within-transformed scores sum to zero in each cluster: ``G*(1)`` is then undefined (NaN, with
  a note) and ``G*(rho) = G*(0)``. summclust 0.7.2 for R does not compute ``G*``: there is no R reference for it.
* **Cluster leverage** ``L_g = tr(X_g' W_g X_g M^{-1})``, the trace of cluster ``g``'s diagonal
  block of the hat matrix, as ``summclust::summclust()`` (``leverage_g``, on ``sqrt(w) X``);
  ``sum_g L_g = k``.
* **Partial leverage** of the coefficient: with ``x~`` the residual of its column on the other
  regressors (weighted), ``PL_g = x~_g' W_g x~_g / x~' W x~`` (``partial_leverage``);
  ``sum_g PL_g = 1``.

Fixed effects: the fit's design is the *within-transformed* design (``OLSResult.design.X``:
the fixed effects partialled out, Frisch–Waugh–Lovell). Partial leverage is invariant to that.
Leverage is the leverage of the reported regressors after partialling out the fixed effects: it
equals summclust's on a ``fixest::feols`` fit whose fixed effect is the cluster variable (which
summclust projects out, ``absorb_cluster_fixef = TRUE``) with any other fixed effect entered as
regressors, and summclust's on ``lm`` without fixed effects. On an ``lm`` with ``factor()``
dummies summclust's ``L_g`` adds the dummies' own leverage in cluster ``g`` (for fixed effects
nested in the clusters: the number of their levels in ``g``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin, to_plain
from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators.ols import OLSResult

__all__ = ["ClusterDiagnosticsResult", "cluster_diagnostics"]

# |sum_g z|^2 <= this * n_g * sum_g z^2 in every cluster: the scores sum to zero by construction
# (Cauchy-Schwarz bounds the ratio by 1; fixed effects nested in the clusters make it ~1e-30)
_NESTED_RTOL = 1e-20


@dataclass(frozen=True)
class ClusterDiagnosticsResult(ResultMixin):
    """Result of :func:`cluster_diagnostics`.

    Attributes
    ----------
    param
        The coefficient examined.
    n_clusters
        ``G``.
    n_treated_clusters, n_untreated_clusters
        Clusters where the treatment column is non-zero in some row / in no row (``None`` when
        no treatment column was available; then ``notes`` says so).
    gstar
        ``{rho: G*(rho)}``.
    clusters
        One row per cluster (index: cluster label as a string): ``n_obs``, ``leverage``,
        ``partial_leverage``, ``gamma_rho0`` / ``gamma_rho1`` (each ``rho`` asked for:
        ``gamma_rho{rho}``), ``treated`` (bool, or missing).
    k
        Number of regressors of the (within-transformed) design; ``clusters.leverage`` sums to it.
    notes
        Announcements.
    """

    param: str
    n_clusters: int
    n_treated_clusters: int | None
    n_untreated_clusters: int | None
    gstar: dict[float, float]
    clusters: pd.DataFrame
    k: int
    nobs: int
    notes: tuple[str, ...]

    @property
    def leverage(self) -> pd.Series:
        """Cluster leverage by cluster label."""
        return self.clusters["leverage"]

    @property
    def partial_leverage(self) -> pd.Series:
        """Partial leverage of ``param`` by cluster label."""
        return self.clusters["partial_leverage"]

    def tidy(self) -> pd.DataFrame:
        rows: list[dict[str, Any]] = [
            {"quantity": "n_clusters", "value": float(self.n_clusters)},
            {"quantity": "n_treated_clusters", "value": _num(self.n_treated_clusters)},
            {"quantity": "n_untreated_clusters", "value": _num(self.n_untreated_clusters)},
        ]
        rows += [{"quantity": f"gstar_rho{_rho_label(r)}", "value": g} for r, g in self.gstar.items()]
        lev = self.clusters["leverage"]
        pl = self.clusters["partial_leverage"]
        rows += [
            {"quantity": "leverage_max", "value": float(lev.max())},
            {"quantity": "leverage_mean", "value": float(lev.mean())},
            {"quantity": "partial_leverage_max", "value": float(pl.max())},
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Every public field as plain data; ``clusters`` keeps its cluster labels."""
        d = super().to_dict()
        d["clusters"] = to_plain(self.clusters.reset_index())
        return d

    def summary(self) -> str:
        head = (
            f"ClusterDiagnosticsResult: {self.param}  G={self.n_clusters}"
            f"  treated={self.n_treated_clusters}  untreated={self.n_untreated_clusters}  "
            + "  ".join(f"G*({_rho_label(r)})={g:.2f}" for r, g in self.gstar.items())
        )
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.clusters.to_string()
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return f"{head}\n{body}{notes}"


def _num(v: int | None) -> float:
    return float("nan") if v is None else float(v)


def _rho_label(rho: float) -> str:
    return f"{rho:g}"


def _aligned(
    values: str | pd.Series | np.ndarray | Sequence[Any],
    fit: OLSResult,
    data: pd.DataFrame | None,
    what: str,
) -> pd.Series:
    """Return ``values`` on the rows used by ``fit`` (in the order of ``fit.design.index``)."""
    index = fit.design.index
    if isinstance(values, str):
        if data is None:
            raise FvdidInputError(f"{what}={values!r} names a column: pass data= as well")
        if values not in data.columns:
            raise FvdidInputError(
                f"{what} column {values!r} is not in data; available columns: {list(data.columns)}"
            )
        values = data[values]
    if isinstance(values, pd.Series):
        missing = index.difference(values.index)
        if len(missing):
            raise FvdidInputError(
                f"{what} has no value for {describe_rows(missing)} used by the fit "
                "(a Series is matched to the fit's rows by index label)"
            )
        s = values.loc[index]
    else:
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.shape[0] != len(index):
            raise FvdidInputError(
                f"{what} as an array must have one value per row used by the fit "
                f"({len(index)}, in the order of fit.design.index); got shape {arr.shape}"
            )
        s = pd.Series(arr, index=index)
    na = s.isna().to_numpy()
    if na.any():
        raise FvdidInputError(f"{what} has missing values in {describe_rows(index[na])}")
    return s


def cluster_diagnostics(
    fit: OLSResult,
    param: str,
    cluster: str | pd.Series | np.ndarray | Sequence[Any],
    *,
    data: pd.DataFrame | None = None,
    treatment: str | pd.Series | np.ndarray | None = None,
    rho: Sequence[float] = (0.0, 1.0),
) -> ClusterDiagnosticsResult:
    """Effective number of clusters, cluster leverage and partial leverage for ``param``.

    Parameters
    ----------
    fit
        An :func:`fvdid.ols` result; its public ``design`` (within-transformed ``X``,
        ``weights``, ``index`` of the rows used) is all that is read.
    param
        Coefficient label (a term of ``fit.params``). R: ``params`` of ``summclust()``.
    cluster
        Cluster of each row: a column name (with ``data``), a Series indexed like the data
        (matched to ``fit.design.index`` by label) or an array in the order of
        ``fit.design.index``. R: ``cluster``.
    data
        The data the fit used (only to look up columns named by ``cluster`` / ``treatment``).
    treatment
        Raw treatment indicator (same forms as ``cluster``) used to count treated clusters
        (non-zero in some row). Default: the column named ``param`` in ``data`` when there is
        one; otherwise the counts are ``None`` and a note says so.
    rho
        Intra-cluster correlations of the working covariance for ``G*``.

    Returns
    -------
    ClusterDiagnosticsResult
    """
    if not isinstance(fit, OLSResult):
        raise FvdidInputError(f"fit must be an fvdid.ols result, got {type(fit).__name__}")
    terms = list(fit.design.terms)
    if param not in terms:
        raise FvdidInputError(f"param {param!r} is not a coefficient of the fit; terms: {terms}")
    rhos = [float(r) for r in rho]
    bad_rho = [r for r in rhos if not 0.0 <= r <= 1.0]
    if not rhos or bad_rho:
        raise FvdidInputError(f"rho must be a non-empty sequence of values in [0, 1]; got {rho!r}")
    notes: list[str] = []
    X = np.asarray(fit.design.X, dtype=float)
    n, k = X.shape
    w = np.ones(n) if fit.design.weights is None else np.asarray(fit.design.weights, dtype=float)
    cl = _aligned(cluster, fit, data, "cluster")
    codes, labels = pd.factorize(cl, sort=True)
    G = len(labels)
    if G < 2:
        raise FvdidInputError(f"cluster has {G} level(s) among the fit's rows; at least 2 needed")
    j = terms.index(param)

    M = X.T @ (w[:, None] * X)
    Minv = np.linalg.pinv(M)
    # leverage: tr(X_g' W_g X_g M^{-1}) = sum over the cluster's rows of w_i x_i' M^{-1} x_i
    h = w * np.einsum("ij,jk,ik->i", X, Minv, X)
    leverage = np.bincount(codes, weights=h, minlength=G)
    # partial leverage: residual of column j on the others (weighted)
    others = [i for i in range(k) if i != j]
    xj = X[:, j]
    if others:
        Xo = X[:, others]
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(sw[:, None] * Xo, sw * xj, rcond=None)
        xt = xj - Xo @ coef
    else:
        xt = xj
    pl_num = np.bincount(codes, weights=w * xt**2, minlength=G)
    partial = pl_num / pl_num.sum()
    # G*: z = X M^{-1} a (score weights of the coefficient), gamma_g under Omega_g(rho)
    z = w * (X @ Minv[:, j])
    s_sq = np.bincount(codes, weights=z**2, minlength=G)
    s_sum = np.bincount(codes, weights=z, minlength=G)
    table = pd.DataFrame(
        {
            "n_obs": np.bincount(codes, minlength=G),
            "leverage": leverage,
            "partial_leverage": partial,
        },
        index=pd.Index([_label(v) for v in labels], name="cluster"),
    )
    n_g = np.bincount(codes, minlength=G)
    if np.all(s_sum**2 <= _NESTED_RTOL * n_g * s_sq):
        # fixed effects nested in the clusters: the within-transformed scores sum to zero in
        # each cluster, so a common within-cluster error (the rho part) does not reach the
        # coefficient; only the rounding noise of those sums would be left
        s_sum = np.zeros(G)
        notes.append(
            "fixed effects nested in the clusters absorb a common within-cluster error: "
            "G*(rho) equals G*(0) for rho < 1 and is undefined (NaN) at rho = 1"
        )
    gstar: dict[float, float] = {}
    for r in rhos:
        gamma = (1.0 - r) * s_sq + r * s_sum**2
        gbar = gamma.mean()
        if gbar > 0:
            gstar[r] = G / (1.0 + float(np.mean((gamma - gbar) ** 2) / gbar**2))
        else:
            gstar[r] = float("nan")
        table[f"gamma_rho{_rho_label(r)}"] = gamma

    if treatment is None and data is not None and param in data.columns:
        treatment = param
    n_tr: int | None
    n_un: int | None
    if treatment is None:
        n_tr = n_un = None
        table["treated"] = pd.NA
        notes.append(
            f"no treatment column (param {param!r} is not a column of data): treated clusters "
            "not counted; pass treatment="
        )
    else:
        tr = _aligned(treatment, fit, data, "treatment")
        if not pd.api.types.is_numeric_dtype(tr) and tr.dtype != bool:
            raise FvdidInputError(f"treatment must be numeric or boolean, got dtype {tr.dtype}")
        nz = np.bincount(codes, weights=(tr.to_numpy(dtype=float) != 0).astype(float), minlength=G)
        treated = nz > 0
        table["treated"] = treated
        n_tr = int(treated.sum())
        n_un = G - n_tr
    return ClusterDiagnosticsResult(
        param=param,
        n_clusters=G,
        n_treated_clusters=n_tr,
        n_untreated_clusters=n_un,
        gstar=gstar,
        clusters=table,
        k=k,
        nobs=n,
        notes=tuple(notes),
    )


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)
