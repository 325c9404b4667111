"""Hurdle count models, as R's ``pscl::hurdle``.

Reference: ``pscl::hurdle(y ~ x1 + x2 | z1, dist = "poisson" | "negbin", zero.dist = "binomial",
link = "logit")``. The likelihood separates: a binomial logit for ``y > 0`` (the hurdle) and a
zero-truncated Poisson / negative binomial for the positive counts. pscl maximises each part
with ``optim(method = "BFGS")`` and takes the covariance from ``optim``'s finite-difference
Hessian; fvdid maximises each part by Newton-Raphson with the analytic Hessian, so the estimate
is the same optimum reached more tightly, and the covariance is the exact inverse information.
Coefficients are labelled as pscl labels them: ``"count_x"``, ``"zero_x"``.

Robust covariance (``vcov="HC0" | "HC1" | "CR0" | "CR1"``) follows R's
``sandwich::vcovCL(fit, cluster = ~g, ...)``: ``CR1`` is ``type = "HC1", cadjust = TRUE``,
``CR0`` the unadjusted Liang-Zeger sum ``type = "HC0", cadjust = FALSE`` (vcovCL's ``"HC0"``
with its default ``cadjust = TRUE`` is ``G/(G-1)`` times it) with pscl's
``estfun.hurdle`` and ``bread.hurdle``: the scores are those of the count and zero coefficients
only (never ``log(theta)``), and the bread is ``vcov(fit)``, whose count block is the
coefficient block of the inverse Hessian in ``(beta, log theta)`` (so theta's estimation enters
through the bread, not the meat). The meat sums the weighted scores of both parts by cluster;
the factor for ``HC1``/``CR1`` is ``G/(G-1) * (n-1)/(n-k)`` with ``n`` all rows and ``k`` the
number of count plus zero coefficients. ``log_theta_se`` stays model-based (as
``fit$SE.logtheta``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import digamma, expit, gammaln, polygamma

from fvdid._results import ResultMixin, wald_table
from fvdid.errors import FvdidInputError, describe_rows, require_columns
from fvdid.estimators._formula import Design, ParsedFormula, design_matrix, parse_formula
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
from fvdid.estimators.logit import fit_binary_logit

__all__ = ["HurdleResult", "hurdle"]

Dist = Literal["poisson", "negbin"]
VcovType = SandwichVcov


@dataclass(frozen=True)
class HurdleResult(ResultMixin):
    """Result of :func:`hurdle`.

    ``params`` / ``std_errors`` / ``pvalues`` / ``vcov`` are labelled ``"count_<term>"`` then
    ``"zero_<term>"`` (R's ``coef(fit)``, ``vcov(fit)``: block diagonal, without log(theta)).
    For ``dist="negbin"``, ``theta`` is the count part's dispersion (R's ``fit$theta``) and
    ``log_theta_se`` the standard error of its log (R's ``fit$SE.logtheta``).
    ``loglik`` is the sum of both parts (R's ``logLik(fit)``). ``vcov_type`` says which
    covariance ``vcov`` holds (see :func:`hurdle`); ``n_clusters`` counts the clusters of
    ``"CR0"``/``"CR1"``.
    """

    params: pd.Series
    std_errors: pd.Series
    pvalues: pd.Series
    vcov: pd.DataFrame
    dist: str
    zero_dist: str
    link: str
    theta: float | None
    log_theta_se: float | None
    nobs: int
    n_zero: int
    n_dropped: int
    converged: bool
    n_iter: int
    loglik: float
    loglik_count: float
    loglik_zero: float
    formula: str
    notes: tuple[str, ...] = ()
    vcov_type: str = "model"
    n_clusters: int | None = None

    def tidy(self) -> pd.DataFrame:
        """Coefficient table; for negbin a ``"count_Log(theta)"`` row follows the count terms."""
        est, se = self.params, self.std_errors
        if self.theta is not None and self.log_theta_se is not None:
            count = [t for t in est.index if t.startswith("count_")]
            zero = [t for t in est.index if not t.startswith("count_")]
            extra_e = pd.Series({"count_Log(theta)": math.log(self.theta)})
            extra_s = pd.Series({"count_Log(theta)": self.log_theta_se})
            est = pd.concat([est[count], extra_e, est[zero]])
            se = pd.concat([se[count], extra_s, se[zero]])
        return wald_table(est, se)


def _truncated_count(
    params: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    dist: str,
    scores: bool = False,
    gram: WeightedGram | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient, Hessian of the zero-truncated count part (positive ``y``).

    With ``scores=True`` the second element is the matrix of weighted per-row scores of the
    coefficients ``beta`` (not of ``log theta``) instead of the gradient. ``gram``: the
    :class:`~fvdid.estimators._mle.WeightedGram` of ``X`` (the Hessian's ``X' diag(.) X``).

    Per row, ``l = A - log(1 - p0)`` with ``A`` the log pmf and ``q = log p0`` the log
    probability of zero. Parameters: ``beta`` (and ``a = log theta`` for negbin).
    """
    k = X.shape[1]
    eta = X @ params[:k]
    mu = np.exp(eta)
    if dist == "poisson":
        A = y * eta - mu - gammaln(y + 1)
        A_e = y - mu
        A_ee = -mu
        q = -mu
        q_e = -mu
        q_ee = -mu
    else:
        a = params[k]
        th = math.exp(a)
        tm = th + mu
        log_ratio = a - np.log(tm)  # log(theta / (theta + mu))
        A = gammaln(y + th) - gammaln(th) - gammaln(y + 1) + th * log_ratio + y * (eta - np.log(tm))
        A_e = th * (y - mu) / tm
        A_ee = -th * mu * (th + y) / tm**2
        A_t = digamma(y + th) - digamma(th) + log_ratio + 1 - (th + y) / tm
        A_tt = polygamma(1, y + th) - polygamma(1, th) + 1 / th - 1 / tm - (mu - y) / tm**2
        A_te = mu * (y - mu) / tm**2
        A_a = th * A_t
        A_aa = th * A_t + th**2 * A_tt
        A_ae = th * A_te
        q = th * log_ratio
        q_e = -th * mu / tm
        q_ee = -(th**2) * mu / tm**2
        q_t = log_ratio + mu / tm
        q_tt = mu**2 / (th * tm**2)
        q_te = -(mu**2) / tm**2
        q_a = th * q_t
        q_aa = th * q_t + th**2 * q_tt
        q_ae = th * q_te
    # B = -log(1 - exp(q)); dB = r dq, d2B = r d2q + r (1 + r) dq dq', r = 1 / expm1(-q)
    r = 1.0 / np.expm1(-q)
    ll = float(np.sum(w * (A - np.log(-np.expm1(q)))))
    g_e = w * (A_e + r * q_e)
    h_ee = w * (A_ee + r * q_ee + r * (1 + r) * q_e**2)
    grad = X * g_e[:, None] if scores else X.T @ g_e
    hess_bb = (X * h_ee[:, None]).T @ X if gram is None else gram(h_ee)
    if dist == "poisson" or scores:
        return ll, grad, hess_bb
    g_a = float(np.sum(w * (A_a + r * q_a)))
    h_aa = float(np.sum(w * (A_aa + r * q_aa + r * (1 + r) * q_a**2)))
    v_ae = w * (A_ae + r * q_ae + r * (1 + r) * q_a * q_e)
    h_ae = X.T @ v_ae if gram is None else gram.xtv(v_ae)
    grad = np.append(grad, g_a)
    hess = np.zeros((k + 1, k + 1))
    hess[:k, :k] = hess_bb
    hess[:k, k] = hess[k, :k] = h_ae
    hess[k, k] = h_aa
    return ll, grad, hess


def _split_formula(formula: str) -> tuple[ParsedFormula, ParsedFormula]:
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise FvdidInputError(f"formula must look like 'y ~ x1 + x2 | z1', got {formula!r}")
    lhs, rhs = formula.split("~")
    if rhs.count("|") > 1:
        raise FvdidInputError(f"formula {formula!r} has more than one '|'")
    count_rhs, _, zero_rhs = rhs.partition("|")
    count = parse_formula(f"{lhs}~{count_rhs}")
    zero = parse_formula(f"{lhs}~{zero_rhs if zero_rhs.strip() else count_rhs}")
    return count, zero


def hurdle(
    formula: str,
    data: pd.DataFrame,
    *,
    dist: Dist = "poisson",
    zero_dist: Literal["binomial"] = "binomial",
    link: Literal["logit"] = "logit",
    weights: str | None = None,
    vcov: VcovType = "model",
    cluster: str | None = None,
    tol: float = 1e-12,
    maxit: int = 200,
    design: Design | None = None,
) -> HurdleResult:
    """Fit a hurdle model for counts.

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2"`` (same regressors in both parts) or ``"y ~ x1 + x2 | z1 + z2"``
        (count regressors | zero-hurdle regressors), as pscl's two-part formula.
    data
        The data; rows with a missing value in a used column (or the weights) are dropped and
        counted in ``n_dropped``.
    dist
        Count distribution beyond the hurdle (R: ``dist``): ``"poisson"`` or ``"negbin"``.
    zero_dist, link
        The hurdle part (R: ``zero.dist``, ``link``); binomial with logit link.
    weights
        Column of positive case weights (R: ``weights``).
    vcov
        ``"model"``: inverse information of each part (R: ``vcov(fit)``). ``"HC0"``/``"HC1"``:
        sandwich with each row its own cluster (R: ``sandwich::sandwich(fit)``; HC1 multiplies
        it by ``n/(n-k)``, as ``sandwich::vcovCL(fit, type = "HC1")``). ``"CR0"``/``"CR1"``:
        cluster-robust (R: ``sandwich::vcovCL(fit, cluster = ~g, type = "HC0", cadjust =
        FALSE)`` for CR0, ``type = "HC1"`` (``cadjust = TRUE``) for CR1, which multiplies the CR0
        sum by ``G/(G-1) * (n-1)/(n-k)``). ``k`` counts the count and zero coefficients;
        see the module docstring for what the sandwich covers with ``dist="negbin"``.
    cluster
        Cluster column for ``"CR0"``/``"CR1"`` (R: ``cluster = ~g``); it must have no missing
        value on the rows used.
    tol, maxit
        Newton-Raphson stops when a full step changes the log-likelihood by less than ``tol``
        (relative) or moves the parameters by less than ``tol``.
    design
        With a formula without ``|``: the model frame and design of ``formula`` on ``data``
        when the caller already holds it (``design_matrix(formula, data, extra=[weights])``, or
        one with the same rows, columns and checks), used instead of being built again. No R
        argument corresponds.

    Raises
    ------
    FvdidInputError
        Missing columns, negative or non-integer counts (naming the rows), no zero or no
        positive count, a rank-deficient design, or inconsistent ``vcov`` / ``cluster``.
    """
    check_vcov_args(vcov, cluster, SANDWICH_VCOVS)
    if dist not in ("poisson", "negbin"):
        raise FvdidInputError(f"dist must be 'poisson' or 'negbin', got {dist!r}")
    if zero_dist != "binomial" or link != "logit":
        raise FvdidInputError("only zero_dist='binomial' with link='logit' is implemented")
    count_f, zero_f = _split_formula(formula)
    extra = [t.column for t in zero_f.terms] + ([weights] if weights else [])
    require_columns(data, count_f.columns + extra + ([cluster] if cluster else []), what="data")
    # one model frame for both parts: a row missing in either part is dropped from both (as R)
    if design is not None and zero_f != count_f:
        raise FvdidInputError("design= is only taken with the same regressors in both parts (no '|')")
    dc = design_matrix(count_f, data, extra=extra) if design is None else design
    # the same formula for both parts (no '|'): the same columns on the same rows, built once
    dz = dc if zero_f == count_f else design_matrix(
        zero_f, data, extra=[t.column for t in count_f.terms] + ([weights] if weights else [])
    )
    y = dc.y
    idx = dc.index
    bad = (y < 0) | (np.abs(y - np.round(y)) > 1e-8)
    if bad.any():
        kind = "negative" if (y < 0).any() else "non-integer"
        raise FvdidInputError(
            f"count column {count_f.response!r} must hold non-negative integers; "
            f"{describe_rows(idx[bad])} are {kind} (e.g. {y[bad][:3].tolist()})"
        )
    y = np.round(y)
    pos = y > 0
    if pos.all() or not pos.any():
        raise FvdidInputError(
            f"count column {count_f.response!r} needs both zeros and positive counts for a "
            f"hurdle model ({int((~pos).sum())} zeros, {int(pos.sum())} positive)"
        )
    w = case_weights(dc.frame, weights, idx)
    X, Z = dc.X, dz.X
    kx = X.shape[1]

    # zero hurdle: binomial logit of y > 0
    gamma, conv_z, it_z = fit_binary_logit(Z, pos.astype(float), w, tol=tol, gram=WeightedGram(Z))
    eta_z = Z @ gamma
    pz = expit(eta_z)
    ll_zero = float(np.sum(w * np.where(pos, -np.logaddexp(0, -eta_z), -np.logaddexp(0, eta_z))))
    info_z = (Z * (w * pz * (1 - pz))[:, None]).T @ Z
    V_zero = linalg.inv(info_z)

    # count part: zero-truncated on the positive rows; start from a Poisson fit of those rows
    Xp, yp, wp = X[pos], y[pos], w[pos]
    start = linalg.lstsq(Xp, np.log(yp))[0]
    gram = WeightedGram(Xp)
    b0 = newton_maximise(
        lambda p: _truncated_count(p, Xp, yp, wp, "poisson", gram=gram), start, tol, maxit
    ).x
    if dist == "negbin":
        b0 = np.append(b0, 0.0)
    par, ll_count, _, conv_c, it_c, _ = newton_maximise(
        lambda p: _truncated_count(p, Xp, yp, wp, dist, gram=gram), b0, tol, maxit
    )
    # the covariance from the dense Hessian at the optimum (the iterations' sparse products
    # differ from it in rounding only, and the inverse magnifies that)
    V_count = linalg.inv(-_truncated_count(par, Xp, yp, wp, dist)[2])
    V_count = (V_count + V_count.T) / 2
    theta = log_theta_se = None
    if dist == "negbin":
        theta = math.exp(par[kx])
        log_theta_se = float(math.sqrt(V_count[kx, kx]))
        if theta > 1e6:
            warnings.warn(
                f"theta = {theta:.3g}: no overdispersion; use dist='poisson'", stacklevel=2
            )
    names = [f"count_{t}" for t in dc.names] + [f"zero_{t}" for t in dz.names]
    kz = Z.shape[1]
    V = np.zeros((kx + kz, kx + kz))
    V[:kx, :kx] = V_count[:kx, :kx]
    V[kx:, kx:] = (V_zero + V_zero.T) / 2
    n_clusters = None
    if vcov != "model":
        scores = np.zeros((len(y), kx + kz), order="F")  # columns summed by cluster
        scores[pos, :kx] = _truncated_count(par, Xp, yp, wp, dist, scores=True, gram=gram)[1]
        # zero part: d/d gamma of w [pos log p + (1 - pos) log(1 - p)] = w (pos - p) z
        scores[:, kx:] = (Z.T * (w * (pos - pz))).T  # the same products, column-major
        used = data[[cluster] if cluster else []].iloc[dc.positions]  # not every column
        V, n_clusters = robust_vcov(V, scores, vcov, used, cluster)
    est = np.concatenate([par[:kx], gamma])
    se = np.sqrt(np.diag(V))
    converged = conv_z and conv_c
    notes = fit_notes(dc.n_dropped, converged, "hurdle did not converge")
    return HurdleResult(
        **wald_fields(est, se, V, names),
        dist=dist,
        zero_dist=zero_dist,
        link=link,
        theta=theta,
        log_theta_se=log_theta_se,
        nobs=len(y),
        n_zero=int((~pos).sum()),
        n_dropped=dc.n_dropped,
        converged=converged,
        n_iter=it_z + it_c,
        loglik=ll_zero + ll_count,
        loglik_count=ll_count,
        loglik_zero=ll_zero,
        formula=formula,
        notes=tuple(notes),
        vcov_type=vcov,
        n_clusters=n_clusters,
    )
