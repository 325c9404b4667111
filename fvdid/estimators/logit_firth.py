"""Firth's (1993) penalised-likelihood binary logit, with case weights as R's ``logistf``.

The penalised log-likelihood is ``l(β) + ½ log det I(β)`` with ``I(β) = X' diag(w p (1 − p)) X``
(Jeffreys' prior). Its score is ``X' (w (y − p) + h (½ − p))`` with ``h_i = w_i p_i (1 − p_i)
x_i' I⁻¹ x_i`` (the diagonal of the weighted hat matrix), which removes the O(1/n) bias of the
maximum likelihood estimator (Firth 1993, *Biometrika* 80(1), 27–38) and is finite under
separation (Heinze & Schemper 2002, *Statistics in Medicine* 21, 2409–2419). Weights enter as
case weights, as in ``logistf::logistf(weights = w)``: each row's contribution to the likelihood,
to the information and to the hat diagonal is multiplied by ``w_i``.

Private to fvdid: the headline logit's counterfactual model (:mod:`fvdid.stages.logit_ame`)
uses it as its bias reduction when asked (``bias_correction="firth"``).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = ["fit_firth_logit"]


def _penalised_loglik(X: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(penalised log-likelihood, p, Cholesky factor of I) at ``beta`` (-inf if I is singular)."""
    eta = X @ beta
    lp, lq = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    p = np.exp(lp)
    v = w * p * np.exp(lq)
    info = (X * v[:, None]).T @ X
    try:
        c = linalg.cholesky(info, lower=True)
    except linalg.LinAlgError:
        return -np.inf, p, np.empty((0, 0))
    ll = float(np.sum(w * (y * lp + (1 - y) * lq)))
    return ll + float(np.sum(np.log(np.diag(c)))), p, c


def fit_firth_logit(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    tol: float = 1e-10,
    maxit: int = 500,
    maxstep: float = 5.0,
) -> tuple[np.ndarray, bool, int]:
    """Maximise Firth's penalised weighted logit likelihood (modified-score Newton steps).

    Each step solves ``I(β) δ = U*(β)`` (the modified score over the information, as
    ``logistf``'s default Newton–Raphson), scaled so that no coefficient moves by more than
    ``maxstep`` (``logistf.control(maxstep = 5)``) and halved until the penalised
    log-likelihood does not decrease. Converged when a full step's largest element is below
    ``tol`` relative to the coefficients (the step is ``I⁻¹ U*``: the modified score is then zero
    to that precision).
    Returns ``(beta, converged, iterations)``.

    Parameters
    ----------
    X
        The design (n × k, full column rank on the rows with positive weight).
    y
        The 0/1 outcome (or a probability: the quasi-likelihood's score is the same).
    w
        Case weights (≥ 0).
    tol, maxit, maxstep
        Convergence tolerance, the most Newton steps and the largest change of a coefficient in
        one step.
    """
    beta = np.zeros(X.shape[1])
    pll, p, c = _penalised_loglik(X, y, w, beta)
    if not np.isfinite(pll):
        raise linalg.LinAlgError("the information X'WX of the Firth logit is singular at 0")
    for it in range(1, maxit + 1):
        # h_i = w_i p_i (1 - p_i) ||C^{-1} x_i||^2 with I = C C'
        z = linalg.solve_triangular(c, X.T, lower=True, check_finite=False)
        v = w * p * (1 - p)
        h = v * np.einsum("ij,ij->j", z, z)
        score = X.T @ (w * (y - p) + h * (0.5 - p))
        step = linalg.cho_solve((c, True), score, check_finite=False)
        big = np.max(np.abs(step))
        if big > maxstep:  # logistf's maxstep: no coefficient moves by more than 5 a step
            step = step * (maxstep / big)
        t = 1.0
        while True:
            new_pll, new_p, new_c = _penalised_loglik(X, y, w, beta + t * step)
            if new_pll >= pll - 1e-12 * (abs(pll) + 0.1):
                break
            t *= 0.5
            if t < 1e-10:  # no ascent along the step: not converged (never a worse estimate)
                return beta, False, it
        beta = beta + t * step
        pll, p, c = new_pll, new_p, new_c
        small_step = np.max(np.abs(t * step)) <= tol * (1.0 + np.max(np.abs(beta)))
        if t == 1.0 and small_step:
            return beta, True, it
    return beta, False, maxit
