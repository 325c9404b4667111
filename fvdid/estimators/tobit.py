"""Censored normal regression (tobit), as R's ``AER::tobit`` (``survival::survreg``, gaussian).

Reference: ``AER::tobit(y ~ x1 + x2, left = 0, right = Inf, data = d)``. The parameters are the
coefficients and ``log(sigma)`` (survreg's ``"Log(scale)"``); the covariance matrix is the inverse
of the observed information in ``(beta, log sigma)``, as survreg reports.

Robust covariance (``vcov="HC0" | "HC1" | "CR0" | "CR1"``) follows R's
``sandwich::vcovCL(fit, cluster = ~g, ...)``: ``CR1`` is ``type = "HC1", cadjust = TRUE``,
``CR0`` the unadjusted Liang-Zeger sum ``type = "HC0", cadjust = FALSE`` (vcovCL's ``"HC0"``
with its default ``cadjust = TRUE`` is ``G/(G-1)`` times it) on the survreg fit
(``HC*``: every row its own cluster): bread = the model covariance above, meat =
``sum_g s_g s_g'`` with ``s_g`` the summed per-row scores of all ``k + 1`` parameters, including
``Log(scale)``; ``HC1``/``CR1`` multiply by ``G/(G-1) * (n-1)/(n-(k+1))`` (``n`` rows, ``k + 1``
parameters, as vcovCL counts the columns of ``estfun``). With weights the score of every
parameter is weighted. sandwich 3.0-2's ``estfun.survreg`` weights the coefficient scores but
not the ``Log(scale)`` score (whose weighted sum, not the plain one, is zero at the optimum);
fvdid weights both, and the parity case builds R's reference with the weighted column.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import log_ndtr

from fvdid._results import ResultMixin, wald_table
from fvdid.errors import FvdidInputError, require_columns
from fvdid.estimators._formula import Design, design_matrix, parse_formula
from fvdid.estimators._mle import (
    SANDWICH_VCOVS,
    SandwichVcov,
    WeightedGram,
    case_weights,
    check_vcov_args,
    fit_notes,
    newton_maximise,
    robust_vcov,
    wald_fields,
)

__all__ = ["TobitResult", "VcovType", "tobit"]

VcovType = SandwichVcov

# log sqrt(2 pi): the same float as scipy.stats.norm.logpdf's constant
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class TobitResult(ResultMixin):
    """Result of :func:`tobit`.

    ``params`` / ``std_errors`` / ``pvalues`` hold the regression coefficients (R's ``coef()``);
    ``vcov`` also has the row and column ``"Log(scale)"`` (R's ``vcov()``); ``scale`` is sigma,
    ``log_scale`` and ``log_scale_se`` its log and that log's standard error. ``n_left`` /
    ``n_right`` count censored rows; ``loglik`` is R's ``logLik()`` (the weighted sum with
    weights). ``vcov_type`` says which covariance ``vcov`` holds (see :func:`tobit`);
    ``n_clusters`` is the number of clusters for ``"CR0"``/``"CR1"``.
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
    vcov_type: str = "model"
    n_clusters: int | None = None
    weights: str | None = None

    def tidy(self) -> pd.DataFrame:
        """Coefficient table with a final ``"Log(scale)"`` row, as ``summary(tobit_fit)``."""
        est = pd.concat([self.params, pd.Series({"Log(scale)": self.log_scale})])
        se = pd.concat([self.std_errors, pd.Series({"Log(scale)": self.log_scale_se})])
        return wald_table(est, se)


def _pieces(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    w: np.ndarray,
    scores: bool = False,
    gram: WeightedGram | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted log-likelihood, gradient and Hessian in ``(beta, log sigma)``.

    With ``scores=True`` the second element is the ``n x (k+1)`` matrix of weighted per-row
    scores (whose column sums are the gradient; Fortran order, column sums by cluster are
    contiguous) instead of the gradient. ``gram``: the :class:`WeightedGram` of ``X``.
    """
    k = X.shape[1]
    beta, tau = theta[:k], theta[k]
    sigma = math.exp(tau)
    xb = X @ beta if gram is None else gram.xb(beta)
    unc = ~(left | right)
    z = (y - xb) / sigma
    # the uncensored rows' values on every row, then the censored rows overwritten
    ll_i = -tau - _LOG_SQRT_2PI - 0.5 * z**2
    d1 = -z  # d l / d z
    d2 = np.full_like(z, -1.0)  # d2 l / d z2
    li = np.flatnonzero(left)
    if len(li):
        zl = z[li]  # l = log Phi(z)
        lnd = log_ndtr(zl)
        lam = np.exp((-(zl**2) / 2.0 - _LOG_SQRT_2PI) - lnd)  # stats.norm.logpdf, inlined
        ll_i[li] = lnd
        d1[li] = lam
        d2[li] = -lam * (zl + lam)
    ri = np.flatnonzero(right)
    if len(ri):
        zr = -z[ri]  # l = log Phi(-z)
        lnd = log_ndtr(zr)
        lam = np.exp((-(zr**2) / 2.0 - _LOG_SQRT_2PI) - lnd)
        ll_i[ri] = lnd
        d1[ri] = -lam
        d2[ri] = -lam * (zr + lam)
    # z = (y - x'b) exp(-tau): dz/db = -x / sigma, dz/dtau = -z
    s_b = w * (-d1 / sigma)
    s_t = w * (-d1 * z - unc)
    v_bb = w * d2 / sigma**2
    h_bb = (X * v_bb[:, None]).T @ X if gram is None else gram(v_bb)
    v_bt = w * (d2 * z + d1) / sigma
    h_bt = X.T @ v_bt if gram is None else gram.xtv(v_bt)
    h_tt = float(np.sum(w * (d2 * z**2 + d1 * z)))
    if scores:
        grad = np.empty((len(z), k + 1), order="F")
        np.multiply(X, s_b[:, None], out=grad[:, :k])
        grad[:, k] = s_t
    else:
        grad = np.append(X.T @ s_b if gram is None else gram.xtv(s_b), float(np.sum(s_t)))
    hess = np.zeros((k + 1, k + 1))
    hess[:k, :k] = h_bb
    hess[:k, k] = hess[k, :k] = h_bt
    hess[k, k] = h_tt
    return float(np.sum(w * ll_i)), grad, hess


def tobit(
    formula: str,
    data: pd.DataFrame,
    *,
    left: float = 0.0,
    right: float = np.inf,
    weights: str | None = None,
    vcov: VcovType = "model",
    cluster: str | None = None,
    tol: float = 1e-12,
    maxit: int = 200,
    design: Design | None = None,
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
    weights
        Column of positive case weights (R: ``weights = w``, survreg's case weights): each row's
        log-likelihood counts ``w`` times. Rows with a missing weight are dropped and counted.
    vcov
        ``"model"``: inverse observed information (R: ``vcov(fit)``). ``"HC0"``/``"HC1"``:
        heteroskedasticity-robust sandwich, each row its own cluster (R:
        ``sandwich::sandwich(fit)``; HC1 multiplies it by ``n/(n-k-1)``, which is
        ``sandwich::vcovCL(fit, type = "HC1")`` without a cluster. vcovCL's ``"HC0"`` without a
        cluster keeps its ``G/(G-1) = n/(n-1)`` factor and is not fvdid's ``"HC0"``).
        ``"CR0"``/``"CR1"``: cluster-robust (R: ``sandwich::vcovCL(fit, cluster = ~g,
        type = "HC0", cadjust = FALSE)`` for CR0, ``type = "HC1", cadjust = TRUE`` for CR1,
        which multiplies the CR0 sum by
        ``G/(G-1) * (n-1)/(n-k-1)``). ``k + 1`` counts ``Log(scale)``, whose variance is made
        robust too.
    cluster
        Cluster column for ``"CR0"``/``"CR1"`` (R: ``cluster = ~g``); it must have no missing
        value on the rows used.
    tol, maxit
        Newton-Raphson stops when a full step changes the log-likelihood by less than ``tol``
        (relative) or moves the parameters by less than ``tol``.
    design
        The model frame and design of ``formula`` on ``data`` when the caller already holds it
        (``design_matrix(formula, data, extra=[weights])``, or one with the same rows, columns
        and checks): it is used instead of being built again. No R argument corresponds.

    Raises
    ------
    FvdidInputError
        Missing columns, ``left >= right``, no uncensored row, non-positive weights, or
        inconsistent ``vcov`` / ``cluster``.
    """
    check_vcov_args(vcov, cluster, SANDWICH_VCOVS)
    left = float(left)
    right = float(right)
    if not left < right:
        raise FvdidInputError(f"left ({left}) must be below right ({right})")
    if math.isinf(left) and math.isinf(right):
        warnings.warn("tobit with no censoring point is a normal linear model", stacklevel=2)
    parsed = parse_formula(formula)
    require_columns(data, parsed.columns + [c for c in (weights, cluster) if c], what="data")
    if design is None:
        design = design_matrix(parsed, data, extra=[weights] if weights else [])
    X, y = design.X, design.y.copy()
    w = case_weights(design.frame, weights, design.index)
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
    sw = np.sqrt(w[rows])
    b0 = linalg.lstsq(X[rows] * sw[:, None], y[rows] * sw)[0]
    resid = y[rows] - X[rows] @ b0
    s0 = max(float(np.sqrt(np.mean(resid**2))), 1e-3 * (float(np.std(y)) + 1e-12))
    theta = np.append(b0, math.log(s0))
    gram = WeightedGram(X)
    fit = newton_maximise(
        lambda t: _pieces(t, X, y, is_left, is_right, w, gram=gram), theta, tol, maxit
    )
    theta, ll, converged = fit.x, fit.loglik, fit.converged
    notes = fit_notes(
        design.n_dropped, converged, f"tobit did not converge in {maxit} iterations"
    )
    # the covariance from the dense Hessian at the optimum (the iterations' sparse products
    # differ from it in rounding only, and the inverse of an ill-conditioned one magnifies that)
    _, scores, hess = _pieces(theta, X, y, is_left, is_right, w, scores=vcov != "model")
    V = linalg.inv(-hess)
    V = (V + V.T) / 2
    n_clusters = None
    if vcov != "model":
        used = data[[cluster] if cluster else []].iloc[design.positions]  # not every column
        V, n_clusters = robust_vcov(V, scores, vcov, used, cluster)
    all_names = [*names, "Log(scale)"]
    se_all = np.sqrt(np.diag(V))
    beta = theta[:k]
    se = se_all[:k]
    return TobitResult(
        **wald_fields(beta, se, V, names, all_names),
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
        n_iter=fit.n_iter,
        loglik=ll,
        formula=formula,
        notes=tuple(notes),
        vcov_type=vcov,
        n_clusters=n_clusters,
        weights=weights,
    )
