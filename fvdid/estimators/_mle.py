"""Plumbing shared by the maximum-likelihood estimators (tobit, hurdle, logit, clogit, lmer).

One place for what those estimators do alike: the ``vcov`` / ``cluster`` argument check, the
case-weight column check, damped Newton-Raphson, the ``sandwich::vcovCL`` product from per-row
scores, the fit notes and the labelled Wald fields of the frozen results.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import linalg, stats

from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._sandwich import cluster_codes, cluster_meat, small_sample_factor

__all__ = [
    "SANDWICH_VCOVS",
    "NewtonFit",
    "SandwichVcov",
    "WeightedGram",
    "case_weights",
    "check_vcov_args",
    "damped_newton_step",
    "fit_notes",
    "newton_maximise",
    "robust_vcov",
    "score_sandwich",
    "wald_fields",
]

SandwichVcov = Literal["model", "HC0", "HC1", "CR0", "CR1"]
SANDWICH_VCOVS: tuple[str, ...] = get_args(SandwichVcov)
Objective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def check_vcov_args(vcov: str, cluster: str | None, allowed: tuple[str, ...]) -> None:
    """Raise :class:`FvdidInputError` unless ``vcov`` / ``cluster`` make a valid pair."""
    if vcov not in allowed:
        raise FvdidInputError(f"vcov must be one of {list(allowed)}, got {vcov!r}")
    if vcov.startswith("CR") and cluster is None:
        raise FvdidInputError(f"vcov={vcov!r} needs a cluster column (cluster=...)")
    if cluster is not None and not vcov.startswith("CR"):
        crs = " or ".join(repr(a) for a in allowed if a.startswith("CR"))
        raise FvdidInputError(f"cluster={cluster!r} is only used with vcov={crs}")


def case_weights(
    frame: pd.DataFrame, weights: str | None, index: pd.Index, hint: str = ""
) -> np.ndarray:
    """The positive, finite case weights of column ``weights`` (ones when ``None``).

    ``index`` labels the rows of ``frame`` for the error message; ``hint`` is appended to it.
    """
    if weights is None:
        return np.ones(len(frame))
    w = frame[weights].to_numpy(dtype=float)
    bad = ~(w > 0) | ~np.isfinite(w)
    if bad.any():
        raise FvdidInputError(
            f"weights column {weights!r} must be positive and finite; "
            f"{describe_rows(index[bad])} are not{hint}"
        )
    return w


def damped_newton_step(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Newton step ``(-H)^{-1} g``; where ``-H`` is not positive definite, a damped step."""
    try:
        return linalg.cho_solve(linalg.cho_factor(-hess), grad)
    except linalg.LinAlgError:
        lam = abs(float(np.min(linalg.eigvalsh(-hess)))) + 1.0
        return linalg.solve(-hess + lam * np.eye(len(grad)), grad)


class NewtonFit(NamedTuple):
    """What :func:`newton_maximise` returns; ``loglik_start`` is the value at the start."""

    x: np.ndarray
    loglik: float
    hess: np.ndarray
    converged: bool
    n_iter: int
    loglik_start: float


# a column with at most this share of non-zero entries is held sparse by WeightedGram
_SPARSE_SHARE = 0.3
# fewer sparse columns than this: the plain dense product (nothing worth splitting)
_MIN_SPARSE_COLS = 8


class WeightedGram:
    """``X' diag(v) X`` of a fixed design ``X`` for many weight vectors ``v``.

    The Hessians of the Newton fits (tobit, the hurdle's count part) are such products, and
    most columns of the robustness designs are dummies (period-within-pair, factor levels):
    the columns with few non-zero entries are held as a sparse matrix, so each product costs
    ``O(n (k_dense^2 + nnz per row * k))`` instead of ``O(n k^2)``. The sums are those of the
    dense product, summed in another order: the same numbers up to rounding (~1e-15 relative).
    ``xb`` / ``xtv`` split ``X b`` and ``X' v`` the same way. Only the Newton iterations use
    them: the covariance and the scores are computed from the dense products at the optimum,
    which moves by rounding only (the robustness rows of the default run change by < 1e-11).
    """

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        n = X.shape[0]
        share = np.count_nonzero(X, axis=0) / max(n, 1)
        thin = share <= _SPARSE_SHARE
        self.split = int(thin.sum()) >= _MIN_SPARSE_COLS
        if self.split:
            self.dense = np.flatnonzero(~thin)
            self.thin = np.flatnonzero(thin)
            self.Xd = np.ascontiguousarray(X[:, self.dense])
            XT = np.ascontiguousarray(X[:, self.thin].T)  # the thin columns as rows
            col, row = np.nonzero(XT)  # column by column, rows ascending: CSC order
            indptr = np.zeros(XT.shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(col, minlength=XT.shape[0]), out=indptr[1:])
            self.S = sp.csc_matrix((XT[col, row], row, indptr), shape=(n, XT.shape[0]))
            self.ST = self.S.T  # CSR, no copy
            self.S_csr = self.S.tocsr()  # for the sparse-sparse product

    def xb(self, b: np.ndarray) -> np.ndarray:
        """``X b`` (n), by the same split."""
        if not self.split:
            return self.X @ b
        return self.Xd @ b[self.dense] + self.S @ b[self.thin]

    def xtv(self, v: np.ndarray) -> np.ndarray:
        """``X' v`` (k), by the same split (for Hessian terms: other sums, the same up to rounding)."""
        if not self.split:
            return self.X.T @ v
        out = np.empty(self.X.shape[1])
        out[self.dense] = self.Xd.T @ v
        out[self.thin] = self.ST @ v
        return out

    def __call__(self, v: np.ndarray) -> np.ndarray:
        """``X' diag(v) X`` (k x k)."""
        if not self.split:
            return (self.X * v[:, None]).T @ self.X
        k = self.X.shape[1]
        XdV = self.Xd * v[:, None]
        H = np.empty((k, k))
        dd = XdV.T @ self.Xd
        sd = np.asarray(self.ST @ XdV)
        STv = sp.csr_matrix((self.ST.data * v[self.ST.indices], self.ST.indices, self.ST.indptr),
                            shape=self.ST.shape)  # = ST @ diag(v), the same products
        ss = (STv @ self.S_csr).toarray()
        H[np.ix_(self.dense, self.dense)] = dd
        H[np.ix_(self.thin, self.dense)] = sd
        H[np.ix_(self.dense, self.thin)] = sd.T
        H[np.ix_(self.thin, self.thin)] = ss
        return H


def newton_maximise(
    fun: Objective,
    start: np.ndarray,
    tol: float,
    maxit: int,
    *,
    step: Callable[[np.ndarray, np.ndarray], np.ndarray] = damped_newton_step,
    rel_offset: float = 0.1,
) -> NewtonFit:
    """Maximise ``fun`` (returning value, gradient, Hessian) by Newton-Raphson with halving.

    A step is halved until the value does not fall (by more than ``1e-12`` relative). Stops
    after a full step that changes the value by less than ``tol`` relative to
    ``|value| + rel_offset`` or moves the parameters by less than ``tol`` (relative).

    Trial points are evaluated without numpy's overflow / invalid-value warnings: a trial far
    out (a huge scale, an exponent beyond range) gives a non-finite value, which the halving
    rejects by design. A point that is accepted with a non-finite gradient or Hessian is
    warned about (RuntimeWarning), as numpy would have.
    """
    x = start.astype(float)
    ll, grad, hess = fun(x)
    ll_start = ll

    def trial(at: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return fun(at)

    for it in range(1, maxit + 1):
        s = step(hess, grad)
        t = 1.0
        new = trial(x + s)
        while not (np.isfinite(new[0]) and new[0] >= ll - 1e-12 * abs(ll)) and t > 1e-10:
            t *= 0.5
            new = trial(x + t * s)
        if not (np.all(np.isfinite(new[1])) and np.all(np.isfinite(new[2]))):
            warnings.warn("Newton-Raphson: non-finite gradient or Hessian at the accepted point",
                          RuntimeWarning, stacklevel=2)
        x = x + t * s
        rel = abs(new[0] - ll) / (abs(new[0]) + rel_offset)
        small = np.max(np.abs(t * s)) <= tol * (1 + np.max(np.abs(x)))
        ll, grad, hess = new
        if t == 1.0 and (rel < tol or small):
            return NewtonFit(x, ll, hess, True, it, ll_start)
    return NewtonFit(x, ll, hess, False, maxit, ll_start)


def score_sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    vcov: str,
    codes: np.ndarray | None,
    *,
    symmetrise: bool = True,
) -> np.ndarray:
    """``sandwich::vcovCL`` product ``c * bread @ meat @ bread`` from per-row ``scores``.

    ``bread`` is the model covariance (inverse information) of the parameters that the columns
    of ``scores`` belong to; ``codes`` are cluster codes (``None``: each row its own cluster).
    ``c`` is 1 (``HC0``/``CR0``) or ``G/(G-1) * (n-1)/(n-k)`` with ``k`` the number of score
    columns (``HC1``/``CR1``; ``n/(n-k)`` for ``HC1``). ``symmetrise``: return ``(V + V')/2``.
    """
    meat = cluster_meat(scores, codes)
    n, k = scores.shape
    n_clusters = None if codes is None else int(codes.max()) + 1
    V = small_sample_factor(vcov, n, k, n_clusters) * bread @ meat @ bread  # type: ignore[arg-type]
    return (V + V.T) / 2 if symmetrise else V


def robust_vcov(
    bread: np.ndarray,
    scores: np.ndarray,
    vcov: str,
    used: pd.DataFrame,
    cluster: str | None,
    *,
    symmetrise: bool = True,
) -> tuple[np.ndarray, int | None]:
    """:func:`score_sandwich` clustered by column ``cluster`` of the rows ``used`` (or by row).

    Returns the covariance and the number of clusters (``None`` without ``cluster``).
    """
    codes = None if cluster is None else cluster_codes(used, cluster)
    n_clusters = None if codes is None else int(codes.max()) + 1
    return score_sandwich(bread, scores, vcov, codes, symmetrise=symmetrise), n_clusters


def fit_notes(
    n_dropped: int, converged: bool, warning: str, extra: tuple[str, ...] = ()
) -> list[str]:
    """The notes of a fit: rows dropped, ``extra``, and (with a warning) non-convergence."""
    notes = [f"{n_dropped} rows with missing values dropped"] if n_dropped else []
    notes.extend(extra)
    if not converged:
        warnings.warn(warning, stacklevel=3)
        notes.append("did not converge")
    return notes


def wald_fields(
    est: np.ndarray,
    se: np.ndarray,
    V: np.ndarray,
    names: list[str],
    vcov_names: list[str] | None = None,
) -> dict[str, Any]:
    """The labelled ``params``, ``std_errors``, normal ``pvalues`` and ``vcov`` of a result.

    ``vcov_names`` labels ``V`` when it covers more parameters than ``names`` (default: ``names``).
    """
    labels = names if vcov_names is None else vcov_names
    return {
        "params": pd.Series(est, index=names, name="estimate"),
        "std_errors": pd.Series(se, index=names, name="std_error"),
        "pvalues": pd.Series(2 * stats.norm.sf(np.abs(est / se)), index=names),
        "vcov": pd.DataFrame(V, index=labels, columns=labels),
    }
