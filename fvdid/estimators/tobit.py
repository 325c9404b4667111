"""Censored normal regression (tobit), as R's ``AER::tobit`` (``survival::survreg``, gaussian).

Reference: ``AER::tobit(y ~ x1 + x2, left = 0, right = Inf, data = d)``. The parameters are the
coefficients and ``log(sigma)`` (survreg's ``"Log(scale)"``); the covariance matrix is the inverse
of the observed information in ``(beta, log sigma)``, as survreg reports.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.special import log_ndtr

from fvdid._results import ResultMixin, wald_table
from fvdid.errors import FvdidInputError, require_columns
from fvdid.estimators._formula import design_matrix, parse_formula

__all__ = ["TobitResult", "tobit"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class TobitResult(ResultMixin):
    """Result of :func:`tobit`.

    ``params`` / ``std_errors`` / ``pvalues`` hold the regression coefficients (R's ``coef()``);
    ``vcov`` also has the row and column ``"Log(scale)"`` (R's ``vcov()``); ``scale`` is sigma,
    ``log_scale`` and ``log_scale_se`` its log and that log's standard error. ``n_left`` /
    ``n_right`` count censored rows; ``loglik`` is R's ``logLik()``.
    """

    params: pd.Series
    std_errors: pd.Series
    pvalues: pd.Series
    vcov: pd.DataFrame
    scale: float
    log_scale: float
    log_scale_se: float
    left: float
    right: float
    nobs: int
    n_left: int
    n_right: int
    n_dropped: int
    converged: bool
    n_iter: int
    loglik: float
    formula: str
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """Coefficient table with a final ``"Log(scale)"`` row, as ``summary(tobit_fit)``."""
        est = pd.concat([self.params, pd.Series({"Log(scale)": self.log_scale})])
        se = pd.concat([self.std_errors, pd.Series({"Log(scale)": self.log_scale_se})])
        return wald_table(est, se)


def _pieces(
    theta: np.ndarray, X: np.ndarray, y: np.ndarray, left: np.ndarray, right: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and Hessian in ``(beta, log sigma)``."""
    k = X.shape[1]
    beta, tau = theta[:k], theta[k]
    sigma = math.exp(tau)
    xb = X @ beta
    unc = ~(left | right)
    z = (y - xb) / sigma
    ll_i = np.empty_like(z)
    d1 = np.empty_like(z)  # d l / d z
    d2 = np.empty_like(z)  # d2 l / d z2
    ll_i[unc] = -tau - _LOG_SQRT_2PI - 0.5 * z[unc] ** 2
    d1[unc] = -z[unc]
    d2[unc] = -1.0
    if left.any():
        zl = z[left]  # l = log Phi(z)
        lam = np.exp(stats.norm.logpdf(zl) - log_ndtr(zl))
        ll_i[left] = log_ndtr(zl)
        d1[left] = lam
        d2[left] = -lam * (zl + lam)
    if right.any():
        zr = -z[right]  # l = log Phi(-z)
        lam = np.exp(stats.norm.logpdf(zr) - log_ndtr(zr))
        ll_i[right] = log_ndtr(zr)
        d1[right] = -lam
        d2[right] = -lam * (zr + lam)
    # z = (y - x'b) exp(-tau): dz/db = -x / sigma, dz/dtau = -z
    grad_b = X.T @ (-d1 / sigma)
    grad_t = float(np.sum(-d1 * z)) - float(unc.sum())
    h_bb = (X * (d2 / sigma**2)[:, None]).T @ X
    h_bt = X.T @ ((d2 * z + d1) / sigma)
    h_tt = float(np.sum(d2 * z**2 + d1 * z))
    grad = np.append(grad_b, grad_t)
    hess = np.zeros((k + 1, k + 1))
    hess[:k, :k] = h_bb
    hess[:k, k] = hess[k, :k] = h_bt
    hess[k, k] = h_tt
    return float(ll_i.sum()), grad, hess


def tobit(
    formula: str,
    data: pd.DataFrame,
    *,
    left: float = 0.0,
    right: float = np.inf,
    tol: float = 1e-12,
    maxit: int = 200,
) -> TobitResult:
    """Fit a tobit model: a normal linear model for ``y`` censored at ``left`` and/or ``right``.

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2 + C(g)"``.
    data
        The data; rows with a missing value in a used column are dropped and counted.
    left, right
        Censoring points (R: ``left``, ``right``): rows with ``y <= left`` are left-censored,
        rows with ``y >= right`` right-censored; ``-np.inf`` / ``np.inf`` for none.
    tol, maxit
        Newton-Raphson stops when a full step changes the log-likelihood by less than ``tol``
        (relative) or moves the parameters by less than ``tol``.

    Raises
    ------
    FvdidInputError
        Missing columns, ``left >= right``, or no uncensored row.
    """
    left = float(left)
    right = float(right)
    if not left < right:
        raise FvdidInputError(f"left ({left}) must be below right ({right})")
    if math.isinf(left) and math.isinf(right):
        warnings.warn("tobit with no censoring point is a normal linear model", stacklevel=2)
    parsed = parse_formula(formula)
    require_columns(data, parsed.columns, what="data")
    design = design_matrix(parsed, data)
    X, y = design.X, design.y.copy()
    names = list(design.names)
    is_left = y <= left
    is_right = y >= right
    y[is_left] = left
    y[is_right] = right
    n_unc = int((~(is_left | is_right)).sum())
    if n_unc == 0:
        raise FvdidInputError(
            f"every row of {parsed.response!r} is censored (left={left}, right={right}); "
            "the scale is not identified"
        )
    k = X.shape[1]
    # start: least squares on the uncensored rows (all rows when there are too few)
    rows = ~(is_left | is_right) if n_unc > k + 1 else np.ones(len(y), bool)
    b0 = linalg.lstsq(X[rows], y[rows])[0]
    resid = y[rows] - X[rows] @ b0
    s0 = max(float(np.sqrt(np.mean(resid**2))), 1e-3 * (float(np.std(y)) + 1e-12))
    theta = np.append(b0, math.log(s0))
    ll, grad, hess = _pieces(theta, X, y, is_left, is_right)
    converged = False
    n_iter = 0
    for n_iter in range(1, maxit + 1):  # noqa: B007
        try:
            c = linalg.cho_factor(-hess)
            step = linalg.cho_solve(c, grad)
        except linalg.LinAlgError:  # not concave here: a damped step
            lam = abs(np.min(linalg.eigvalsh(-hess))) + 1.0
            step = linalg.solve(-hess + lam * np.eye(k + 1), grad)
        t = 1.0
        new = _pieces(theta + step, X, y, is_left, is_right)
        while not new[0] >= ll - 1e-12 * abs(ll) and t > 1e-10:
            t *= 0.5
            new = _pieces(theta + t * step, X, y, is_left, is_right)
        theta = theta + t * step
        rel = abs(new[0] - ll) / (abs(new[0]) + 0.1)
        small = np.max(np.abs(t * step)) <= tol * (1 + np.max(np.abs(theta)))
        ll, grad, hess = new
        if t == 1.0 and (rel < tol or small):
            converged = True
            break
    notes: list[str] = []
    if design.n_dropped:
        notes.append(f"{design.n_dropped} rows with missing values dropped")
    if not converged:
        warnings.warn(f"tobit did not converge in {maxit} iterations", stacklevel=2)
        notes.append("did not converge")
    V = linalg.inv(-hess)
    V = (V + V.T) / 2
    all_names = [*names, "Log(scale)"]
    se_all = np.sqrt(np.diag(V))
    beta = theta[:k]
    se = se_all[:k]
    return TobitResult(
        params=pd.Series(beta, index=names, name="estimate"),
        std_errors=pd.Series(se, index=names, name="std_error"),
        pvalues=pd.Series(2 * stats.norm.sf(np.abs(beta / se)), index=names),
        vcov=pd.DataFrame(V, index=all_names, columns=all_names),
        scale=math.exp(theta[k]),
        log_scale=float(theta[k]),
        log_scale_se=float(se_all[k]),
        left=left,
        right=right,
        nobs=len(y),
        n_left=int(is_left.sum()),
        n_right=int(is_right.sum()),
        n_dropped=design.n_dropped,
        converged=converged,
        n_iter=n_iter,
        loglik=ll,
        formula=formula,
        notes=tuple(notes),
    )
