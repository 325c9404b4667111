"""The 2×2 DiD building blocks of Sant'Anna & Zhao (2020): doubly robust, IPW and regression.

Each estimator takes one 2×2 comparison (a treated group ``D = 1`` and a comparison group
``D = 0``, observed before and after) and returns the ATT together with its influence function
(one value per observation, scaled so that ``sqrt(mean(IF**2) / n)`` is the standard error).

Conventions follow ``DRDID`` 1.2.3, which ``did::att_gt`` 2.1.2 calls for every ATT(g,t):

=============================  =====================================  ==========================
fvdid                          R (DRDID 1.2.3)                        data
=============================  =====================================  ==========================
:func:`dr_panel`               ``drdid_panel`` (locally efficient)     panel (outcome change)
:func:`ipw_panel`              ``std_ipw_did_panel`` (Hajek weights)   panel
:func:`reg_panel`              ``reg_did_panel``                       panel
:func:`dr_rc`                  ``drdid_rc`` (locally efficient)        repeated cross-sections
:func:`ipw_rc`                 ``std_ipw_did_rc``                      repeated cross-sections
:func:`reg_rc`                 ``reg_did_rc``                          repeated cross-sections
=============================  =====================================  ==========================

Arguments (arrays, not column names) map to DRDID's: ``dy`` = ``y1 - y0`` (panel), ``y`` =
``y`` and ``post`` = ``post`` (repeated cross-sections), ``D`` = ``D``, ``X`` = ``covariates``
(with the intercept), ``w`` = ``i.weights``; ``ps_fitted`` (panel) passes fitted propensity
scores of the same logit when the caller already has them.

Shared conventions (all documented in DRDID's reference manual):

* sampling weights are normalised to mean one within the 2×2 sample;
* the propensity score is a weighted logit fitted by IRLS from glm's starting values
  ``mu = (w*y + 1/2)/(w + 1)`` and stopped by glm's rule ``|dev - dev_old|/(|dev| + 0.1) < 1e-8``
  (the default tolerance of ``fastglm`` and ``glm``), so fitted scores agree with R's to rounding error; fitted
  scores are capped at ``1 - 1e-6`` and comparison units with a score at or above the trimming
  level ``0.995`` get weight zero;
* outcome regressions are weighted least squares on the comparison (and, for the locally
  efficient repeated cross-section estimator, also the treated) cells;
* influence functions of the nuisance estimates are the usual M-estimator linear
  representations with Hessians averaged over the full 2×2 sample (size ``n``).

Reproduced as DRDID has it: in the locally efficient repeated cross-section estimator the
pre-period outcome-regression corrections of the treated and comparison Hajek means enter with
the same sign as the post-period ones. Their difference vanishes asymptotically, so the estimator
remains first-order valid; fvdid keeps DRDID's convention so standard errors agree to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np

from fvdid.errors import FvdidInputError

__all__ = [
    "dr_panel",
    "dr_rc",
    "ipw_panel",
    "ipw_rc",
    "logit_irls",
    "reg_panel",
    "reg_rc",
    "wls",
]

TRIM_LEVEL = 0.995
PS_CAP = 1.0 - 1e-6
_EPS = float(np.finfo(float).eps)
_Vec = np.ndarray
_Opt = np.ndarray | None
_Est = tuple[float, np.ndarray]  # (ATT, influence function)
_THRESH = 30.0  # R's binomial linkinv clamps |eta| at 30
_MTHRESH = -30.0


# --------------------------------------------------------------------------------------------
# nuisance fits
# --------------------------------------------------------------------------------------------


def _expit(eta: np.ndarray) -> np.ndarray:
    """Logistic cdf with R's clamping (mu stays within [eps, 1-eps]).

    ``1 / (1 + exp(-clip(eta)))`` evaluated in one buffer: the same operations on the same
    floats as with a temporary per step.
    """
    e = np.clip(eta, _MTHRESH, _THRESH)
    np.negative(e, out=e)
    np.exp(e, out=e)
    e += 1.0
    return np.divide(1.0, e, out=e)


def _binomial_dev(events: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    """``-2 sum w log(mu if event else 1 - mu)``; ``events`` is ``y > 0.5``."""
    ll = 1.0 - mu
    np.copyto(ll, mu, where=events)
    with np.errstate(divide="ignore"):
        np.log(ll, out=ll)
    # elementwise product and sum, not np.dot: a threaded BLAS ddot can stall on busy machines
    ll *= w
    return float(-2.0 * np.sum(ll))


def logit_irls(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, *, tol: float = 1e-8, maxit: int = 100
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Weighted logit by iteratively reweighted least squares, as R's glm/fastglm run it.

    Returns ``(coef, fitted, converged)``. The path (starting values, step halving, stopping
    rule) is glm's, so the fitted values agree with R's to floating-point rounding.
    """
    events = y > 0.5
    mu = (w * y + 0.5) / (w + 1.0)
    eta = np.log(mu / (1.0 - mu))
    dev = _binomial_dev(events, mu, w)
    k = X.shape[1]
    beta = np.zeros(k)
    converged = False
    for it in range(maxit):
        # mu (1 - mu), floored; z = eta + (y - mu) / mu_eta: each in one buffer, the same floats
        mu_eta = 1.0 - mu
        mu_eta *= mu
        np.maximum(mu_eta, _EPS, out=mu_eta)
        z = y - mu
        z /= mu_eta
        z += eta
        mu_eta *= w  # ww = w * mu_eta**2 / var(mu) = w * mu_eta for the logit link
        ww = mu_eta
        XtW = X.T * ww
        A = XtW @ X
        try:
            beta_new = np.linalg.solve(A, XtW @ z)
        except np.linalg.LinAlgError:
            beta_new = np.linalg.lstsq(A, XtW @ z, rcond=None)[0]
        beta_prev = beta
        beta = beta_new
        eta = X @ beta
        mu = _expit(eta)
        devold = dev
        dev = _binomial_dev(events, mu, w)
        # step halving when the deviance is infinite or increases (glm / fastglm)
        halvings = 0
        while (not np.isfinite(dev) or (it > 0 and (dev - devold) / (0.1 + abs(dev)) >= tol)) and (
            halvings < maxit
        ):
            beta = 0.5 * (beta + beta_prev)
            eta = X @ beta
            mu = _expit(eta)
            dev = _binomial_dev(events, mu, w)
            halvings += 1
        if abs(dev - devold) / (0.1 + abs(dev)) < tol:
            converged = True
            break
    return beta, mu, converged


def wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares by the normal equations; NaN coefficients when X'WX is singular."""
    XtW = X.T * w
    A = XtW @ X
    if A.size == 0 or _rcond(A) < _EPS:
        return np.full(X.shape[1], np.nan)
    return np.linalg.solve(A, XtW @ y)


def _rcond(A: np.ndarray) -> float:
    """Reciprocal condition number in the 1-norm (what R's ``rcond`` estimates)."""
    if A.size == 0:
        return 0.0
    if A.shape == (1, 1):
        return 1.0 if A[0, 0] != 0 and np.isfinite(A[0, 0]) else 0.0
    try:
        inv = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return 0.0
    return float(1.0 / (np.linalg.norm(A, 1) * np.linalg.norm(inv, 1)))


def _normalise(w: np.ndarray | None, n: int) -> np.ndarray:
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype=float)
    if np.min(w) < 0:
        raise FvdidInputError("sampling weights must be non-negative")
    return w / w.mean()


class _LinRep:
    """An n×k linear representation ``scale[:, None] * X @ B`` kept in factored form.

    Only products with a k-vector are ever needed, ``lin @ m = scale * (X @ (B @ m))``, so the
    n×k matrix is never formed.
    """

    __slots__ = ("B", "X", "scale")

    def __init__(self, scale: np.ndarray, X: np.ndarray, B: np.ndarray) -> None:
        self.scale, self.X, self.B = scale, X, B

    def __matmul__(self, m: np.ndarray) -> np.ndarray:
        return self.scale * (self.X @ (self.B @ m))


def _ols_lin_rep(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, mask: np.ndarray, what: str
) -> tuple[np.ndarray, _LinRep]:
    """WLS of ``y`` on ``X`` in ``mask``; returns (coef, its linear representation)."""
    n = X.shape[0]
    wm = w * mask
    XtW = X.T * wm
    A = XtW @ X
    if _rcond(A) < _EPS:
        raise FvdidInputError(
            f"the outcome regression for the {what} is singular: the covariates are collinear "
            "(or constant) in that cell; remove some covariates"
        )
    beta = np.linalg.solve(A, XtW @ y)
    resid = y - X @ beta
    return beta, _LinRep(wm * resid, X, np.linalg.inv(A / n))


def _pscore(
    X: np.ndarray, D: np.ndarray, w: np.ndarray, ps_fitted: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, _LinRep]:
    """Propensity score: (capped fitted values, trimming indicator, linear representation).

    ``ps_fitted``: fitted values of the same weighted logit when the caller already has them.
    """
    n = X.shape[0]
    if ps_fitted is None:
        beta, ps, converged = logit_irls(X, D, w)
        if not converged:
            warnings.warn("propensity score estimation did not converge", stacklevel=3)
    else:
        beta, ps = np.zeros(1), np.asarray(ps_fitted, dtype=float)
    if np.any(~np.isfinite(beta)):
        raise FvdidInputError(
            "propensity score coefficients are not finite: the covariates are collinear or "
            "constant in a 2x2 cell"
        )
    ps = np.minimum(ps, PS_CAP)
    keep = np.where(D == 1, True, ps < TRIM_LEVEL)
    info = (X.T * (ps * (1.0 - ps) * w)) @ X
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError as exc:
        raise FvdidInputError(
            "the propensity score information matrix is singular: the covariates are collinear "
            "or constant in a 2x2 cell"
        ) from exc
    cinv = np.linalg.inv(chol)
    hess_inv = (cinv.T @ cinv) * n
    return ps, keep.astype(float), _LinRep(w * (D - ps), X, hess_inv)


def _colmean(v: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``colMeans(v * X)``."""
    return (v @ X) / X.shape[0]


def _hajek(weight: np.ndarray, value: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Weighted mean ``sum(w v)/sum(w)``: returns (mean, influence part, mean weight)."""
    mw = weight.mean()
    m = float(np.mean(weight * value) / mw)
    return m, weight * (value - m) / mw, mw


def _prep(D: _Vec, X: _Opt, w: _Opt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``D`` as floats, ``X`` as a matrix (the intercept alone when ``None``), ``w`` normalised."""
    D = np.asarray(D, dtype=float)
    n = D.shape[0]
    X = np.ones((n, 1)) if X is None else np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    return D, X, _normalise(w, n)


def _ipw_weights(
    ps: np.ndarray, keep: np.ndarray, w: np.ndarray, D: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hajek weights of the treated (``keep w D``) and of the comparison units (trimmed odds)."""
    return keep * w * D, keep * w * ps * (1.0 - D) / (1.0 - ps)


def _change(weight: np.ndarray, post: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Post minus pre Hajek mean of ``y`` under ``weight``, and its influence function."""
    a1, i1, _ = _hajek(weight * post, y)
    a0, i0, _ = _hajek(weight * (1.0 - post), y)
    return a1 - a0, i1 - i0


# --------------------------------------------------------------------------------------------
# panel data: outcome change dy = y_post - y_pre per unit
# --------------------------------------------------------------------------------------------


def dr_panel(dy: _Vec, D: _Vec, X: _Opt = None, w: _Opt = None, ps_fitted: _Opt = None) -> _Est:
    """Locally efficient doubly robust DiD for panel data (``DRDID::drdid_panel``)."""
    D, X, w = _prep(D, X, w)
    ps, keep, lin_ps = _pscore(X, D, w, ps_fitted)
    beta, lin_or = _ols_lin_rep(X, dy, w, D == 0, "comparison group")
    r = dy - X @ beta
    w1, w0 = _ipw_weights(ps, keep, w, D)
    m1, if1, mw1 = _hajek(w1, r)
    m0, if0, mw0 = _hajek(w0, r)
    if1 = if1 - lin_or @ (_colmean(w1, X) / mw1)
    if0 = if0 + lin_ps @ (_colmean(w0 * (r - m0), X) / mw0) - lin_or @ (_colmean(w0, X) / mw0)
    return m1 - m0, if1 - if0


def ipw_panel(dy: _Vec, D: _Vec, X: _Opt = None, w: _Opt = None, ps_fitted: _Opt = None) -> _Est:
    """Normalised (Hajek) IPW DiD for panel data (``DRDID::std_ipw_did_panel``)."""
    D, X, w = _prep(D, X, w)
    ps, keep, lin_ps = _pscore(X, D, w, ps_fitted)
    w1, w0 = _ipw_weights(ps, keep, w, D)
    m1, if1, _ = _hajek(w1, dy)
    m0, if0, mw0 = _hajek(w0, dy)
    if0 = if0 + lin_ps @ (_colmean(w0 * (dy - m0), X) / mw0)
    return m1 - m0, if1 - if0


def reg_panel(dy: _Vec, D: _Vec, X: _Opt = None, w: _Opt = None) -> _Est:
    """Outcome-regression DiD for panel data (``DRDID::reg_did_panel``)."""
    D, X, w = _prep(D, X, w)
    beta, lin_or = _ols_lin_rep(X, dy, w, D == 0, "comparison group")
    fit = X @ beta
    w1 = w * D
    m1, if1, mw1 = _hajek(w1, dy)
    m0, if0, _ = _hajek(w1, fit)
    if0 = if0 + lin_or @ (_colmean(w1, X) / mw1)
    return m1 - m0, if1 - if0


# --------------------------------------------------------------------------------------------
# repeated cross-sections: outcome y, post indicator per observation
# --------------------------------------------------------------------------------------------


def ipw_rc(y: _Vec, post: _Vec, D: _Vec, X: _Opt = None, w: _Opt = None) -> _Est:
    """Normalised IPW DiD for repeated cross-sections (``DRDID::std_ipw_did_rc``)."""
    D, X, w = _prep(D, X, w)
    post = np.asarray(post, dtype=float)
    ps, keep, lin_ps = _pscore(X, D, w)
    wd, odds = _ipw_weights(ps, keep, w, D)
    d_treat, i_treat = _change(wd, post, y)
    wc1 = odds * post
    wc0 = odds * (1.0 - post)
    a01, i01, mc1 = _hajek(wc1, y)
    a00, i00, mc0 = _hajek(wc0, y)
    mom = _colmean(wc1 * (y - a01), X) / mc1 - _colmean(wc0 * (y - a00), X) / mc0
    inf = i_treat - (i01 - i00 + lin_ps @ mom)
    return d_treat - (a01 - a00), inf


def reg_rc(y: _Vec, post: _Vec, D: _Vec, X: _Opt = None, w: _Opt = None) -> _Est:
    """Outcome-regression DiD for repeated cross-sections (``DRDID::reg_did_rc``)."""
    D, X, w = _prep(D, X, w)
    post = np.asarray(post, dtype=float)
    b0, lin0 = _ols_lin_rep(X, y, w, (D == 0) & (post == 0), "comparison group, pre-period")
    b1, lin1 = _ols_lin_rep(X, y, w, (D == 0) & (post == 1), "comparison group, post-period")
    wd = w * D
    d_treat, i_treat = _change(wd, post, y)
    mc, ic, mwd = _hajek(wd, X @ (b1 - b0))
    mom = _colmean(wd, X) / mwd
    ic = ic + lin1 @ mom - lin0 @ mom
    return d_treat - mc, i_treat - ic


def dr_rc(y: _Vec, post: _Vec, D: _Vec, X: _Opt = None, w: _Opt = None) -> _Est:
    """Locally efficient doubly robust DiD for repeated cross-sections (``DRDID::drdid_rc``)."""
    D, X, w = _prep(D, X, w)
    post = np.asarray(post, dtype=float)
    pre = 1.0 - post
    ps, keep, lin_ps = _pscore(X, D, w)
    # outcome regressions in the four cells (comparison: c0/c1; treated: t0/t1)
    bc0, lc0 = _ols_lin_rep(X, y, w, (D == 0) & (post == 0), "comparison group, pre-period")
    bc1, lc1 = _ols_lin_rep(X, y, w, (D == 0) & (post == 1), "comparison group, post-period")
    bt0, lt0 = _ols_lin_rep(X, y, w, (D == 1) & (post == 0), "treated group, pre-period")
    bt1, lt1 = _ols_lin_rep(X, y, w, (D == 1) & (post == 1), "treated group, post-period")
    fc0, fc1, ft0, ft1 = X @ bc0, X @ bc1, X @ bt0, X @ bt1
    resid = y - np.where(post == 1, fc1, fc0)

    wd, odds = _ipw_weights(ps, keep, w, D)
    wt1, wt0 = wd * post, wd * pre
    wc1, wc0 = odds * post, odds * pre

    a_t1, i_t1, m_t1 = _hajek(wt1, resid)
    a_t0, i_t0, m_t0 = _hajek(wt0, resid)
    a_c1, i_c1, m_c1 = _hajek(wc1, resid)
    a_c0, i_c0, m_c0 = _hajek(wc0, resid)
    e_d1, j_d1, m_d = _hajek(wd, ft1 - fc1)
    e_t1, j_t1, _ = _hajek(wt1, ft1 - fc1)
    e_d0, j_d0, _ = _hajek(wd, ft0 - fc0)
    e_t0, j_t0, _ = _hajek(wt0, ft0 - fc0)

    att = (a_t1 - a_t0) - (a_c1 - a_c0) + (e_d1 - e_t1) - (e_d0 - e_t0)

    def colmean(v: np.ndarray) -> np.ndarray:
        return _colmean(v, X)

    # the Hajek means of residuals depend on the comparison-group regressions
    g_t1, g_t0 = -colmean(wt1) / m_t1, -colmean(wt0) / m_t0
    g_c1, g_c0 = -colmean(wc1) / m_c1, -colmean(wc0) / m_c0
    # ... and, for the comparison means, on the propensity score
    ps_mom = colmean(wc1 * (resid - a_c1)) / m_c1 - colmean(wc0 * (resid - a_c0)) / m_c0
    # the efficiency terms depend on all four regressions
    mom1 = colmean(wd / m_d - wt1 / m_t1)
    mom0 = colmean(wd / m_d - wt0 / m_t0)

    inf_treat = i_t1 - i_t0 + lc1 @ g_t1 + lc0 @ g_t0
    inf_cont = i_c1 - i_c0 + lin_ps @ ps_mom + lc1 @ g_c1 + lc0 @ g_c0
    inf_eff = (j_d1 - j_t1) - (j_d0 - j_t0)
    inf_or = (lt1 @ mom1 - lc1 @ mom1) - (lt0 @ mom0 - lc0 @ mom0)
    return att, inf_treat - inf_cont + inf_eff + inf_or
