"""Binary logit by Newton-Raphson (= IRLS for the canonical link), as R's ``glm(family = binomial)``.

Reference: ``stats::glm(y ~ x, family = binomial, weights = w)`` with
``sandwich::vcovHC(fit, type = "HC1")`` and ``sandwich::vcovCL(fit, cluster = ~g, type = "HC1")``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from fvdid._results import ResultMixin, wald_table
from fvdid.errors import FvdidInputError, check_binary, describe_rows, require_columns
from fvdid.estimators._formula import design_matrix, parse_formula
from fvdid.estimators._mle import (
    case_weights,
    check_vcov_args,
    fit_notes,
    robust_vcov,
    wald_fields,
)

__all__ = ["LogitResult", "SeparationError", "logit"]

VcovType = Literal["iid", "HC1", "CR1"]


@dataclass(frozen=True)
class LogitResult(ResultMixin):
    """Result of :func:`logit`.

    ``params``, ``std_errors``, ``pvalues`` are labelled by term (R's coefficient names; factor
    dummies as ``"C(g)[L]"``); ``vcov`` is the labelled covariance matrix of ``vcov_type``.
    ``loglik`` is ``sum(w * (y log p + (1 - y) log(1 - p)))`` and ``deviance = -2 * loglik``
    (R's ``deviance()``; R's ``logLik()`` agrees when the weights are integers).
    """

    params: pd.Series
    std_errors: pd.Series
    pvalues: pd.Series
    vcov: pd.DataFrame
    vcov_type: str
    nobs: int
    n_dropped: int
    n_clusters: int | None
    converged: bool
    n_iter: int
    loglik: float
    deviance: float
    formula: str
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """Coefficient table: term, estimate, std_error, statistic (z), p_value, conf_low/high."""
        return wald_table(self.params, self.std_errors)


def _log_expit(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``log p`` and ``log(1 - p)`` for ``p = expit(eta)``, stable for large ``|eta|``."""
    return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)


def fit_binary_logit(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    tol: float = 1e-12,
    maxit: int = 100,
    gram: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, bool, int]:
    """Maximise the weighted binary logit likelihood by Newton-Raphson with step halving.

    Convergence: relative change of the deviance ``|dev - dev_old| / (|dev| + 0.1) < tol``
    (R's ``glm.control`` rule, with ``tol = 1e-12`` instead of R's ``1e-8``) after a full
    Newton step below ``1e-6`` (relative), or a step below ``tol`` relative to the coefficients.
    Returns ``(beta, converged, iterations)``. ``gram(v)``, when given, computes the information
    ``X' diag(v) X`` of the Newton steps (e.g. a sparse-aware product; the same sums up to rounding).
    """

    def loglik(beta: np.ndarray) -> float:
        lp, lq = _log_expit(X @ beta)
        return float(np.sum(w * (y * lp + (1 - y) * lq)))

    beta = np.zeros(X.shape[1])
    ll = loglik(beta)
    for it in range(1, maxit + 1):
        eta = X @ beta
        p = 0.5 * (1.0 + np.tanh(0.5 * eta))
        grad = X.T @ (w * (y - p))
        info = (X * (w * p * (1 - p))[:, None]).T @ X if gram is None else gram(w * p * (1 - p))
        try:
            with warnings.catch_warnings():  # ill-conditioned along a separating direction
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                step = linalg.solve(info, grad, assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            step = linalg.lstsq(info, grad)[0]
        t = 1.0
        new_ll = loglik(beta + step)
        while not new_ll >= ll - 1e-12 * (abs(ll) + 0.1) and t > 1e-10:
            t *= 0.5
            new_ll = loglik(beta + t * step)
        beta = beta + t * step
        small_step = np.max(np.abs(t * step)) <= tol * (1.0 + np.max(np.abs(beta)))
        rel = abs(new_ll - ll) / (abs(2 * new_ll) + 0.1) * 2
        ll = new_ll
        # the deviance alone would also "converge" along a separating direction, where it
        # flattens while the coefficients keep growing by O(1) a step: ask for a settled step too
        settled = np.max(np.abs(step)) <= 1e-6 * (1.0 + np.max(np.abs(beta)))
        if t == 1.0 and ((rel < tol and settled) or small_step):
            return beta, True, it
    return beta, False, maxit


class SeparationError(FvdidInputError):
    """The logit MLE does not exist: ``terms`` separate the outcome on the index labels ``rows``."""

    def __init__(self, terms: list[str], rows: pd.Index, message: str) -> None:
        super().__init__(message)
        self.terms = terms
        self.rows = rows


def separation_direction(X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Return a direction ``b`` with ``(2y-1) * X b >= 0`` for every row and ``> 0`` for some.

    Such a direction exists exactly when the data are (quasi-)completely separated and the
    logit MLE does not exist (Konis 2007's linear program). Returns ``None`` otherwise.
    """
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    sx = (2 * y - 1)[:, None] * (X / scale)
    res = optimize.linprog(
        c=-sx.sum(axis=0),
        A_ub=-sx,
        b_ub=np.zeros(len(y)),
        bounds=[(-1.0, 1.0)] * X.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-7 * len(y):
        return None
    margin = sx @ res.x
    if margin.max() <= 1e-7:
        return None
    return res.x / scale


def logit(
    formula: str,
    data: pd.DataFrame,
    *,
    weights: str | None = None,
    vcov: VcovType = "iid",
    cluster: str | None = None,
) -> LogitResult:
    """Fit a binary logit model by maximum likelihood.

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2 + C(g)"``: ``y`` is 0/1 (or boolean); ``C(g)`` adds treatment-coded
        dummies (fixed effects), labelled ``"C(g)[L]"`` (R: ``factor(g)L``).
    data
        The data; rows with a missing value in a used column (or the weights) are dropped and
        counted in ``n_dropped``.
    weights
        Column of positive prior weights (R: ``glm(weights = w)``).
    vcov
        ``"iid"``: inverse Fisher information (R: ``vcov(fit)``); ``"HC1"``: sandwich with
        ``n/(n-k)`` (R: ``sandwich::vcovHC(fit, type = "HC1")``); ``"CR1"``: cluster sandwich with
        ``G/(G-1) * (n-1)/(n-k)`` (R: ``sandwich::vcovCL(fit, cluster = ~g, type = "HC1")``).
    cluster
        Cluster column for ``vcov="CR1"`` (R: ``cluster = ~g``).

    Raises
    ------
    FvdidInputError
        Missing columns, a non-binary outcome (naming the rows), non-positive weights, a
        rank-deficient design, or (quasi-)complete separation (the MLE does not exist).
    """
    check_vcov_args(vcov, cluster, ("iid", "HC1", "CR1"))
    parsed = parse_formula(formula)
    require_columns(data, parsed.columns + [c for c in (weights, cluster) if c], what="data")
    design = design_matrix(parsed, data, extra=[weights] if weights else [])
    frame = design.frame
    y = check_binary(frame, parsed.response).astype(float)
    w = case_weights(frame, weights, frame.index, " (drop zero-weight rows explicitly)")
    X = design.X
    names = list(design.names)
    n = X.shape[0]

    beta, converged, n_iter = fit_binary_logit(X, y, w)
    eta = X @ beta
    if not converged or np.max(np.abs(eta)) > 20:
        direction = separation_direction(X, y)
        if direction is not None:
            involved = [names[j] for j in np.flatnonzero(np.abs(direction) > 1e-8)]
            perfect = frame.index[((2 * y - 1) * (X @ direction)) > 1e-8]
            raise SeparationError(
                involved,
                perfect,
                f"outcome {parsed.response!r} is (quasi-)completely separated by {involved}: "
                f"{describe_rows(perfect)} are predicted perfectly, so the maximum likelihood "
                "estimate does not exist (R's glm warns 'fitted probabilities numerically 0 or 1 "
                "occurred' and reports diverging coefficients); drop or merge those terms"
            )
    notes = fit_notes(
        design.n_dropped, converged, f"logit did not converge in {n_iter} iterations"
    )
    p = 0.5 * (1.0 + np.tanh(0.5 * eta))
    info = (X * (w * p * (1 - p))[:, None]).T @ X
    bread = linalg.inv(info)
    bread = (bread + bread.T) / 2
    n_clusters = None
    if vcov == "iid":
        V = bread
    else:
        scores = X * (w * (y - p))[:, None]
        V, n_clusters = robust_vcov(
            bread, scores, vcov, data.iloc[design.positions], cluster, symmetrise=False
        )
    lp, lq = _log_expit(eta)
    loglik = float(np.sum(w * (y * lp + (1 - y) * lq)))
    return LogitResult(
        **wald_fields(beta, np.sqrt(np.diag(V)), V, names),
        vcov_type=vcov,
        nobs=n,
        n_dropped=design.n_dropped,
        n_clusters=n_clusters,
        converged=converged,
        n_iter=n_iter,
        loglik=loglik,
        deviance=-2.0 * loglik,
        formula=formula,
        notes=tuple(notes),
    )
