"""Conditional logit for matched sets, as R's ``survival::clogit``.

Reference: ``survival::clogit(y ~ x1 + x2 + strata(s), method = "exact")`` (the default method).
``method="exact"`` maximises the exact conditional likelihood: in a stratum with ``m`` rows and
``d`` cases, ``exp(sum_cases eta) / sum_{|S| = d} exp(sum_S eta)``. The denominator, its gradient
and Hessian come from the Gail–Lubin–Rubinstein (1981) recursion over rows, kept in log scale
with normalised derivatives, so it is stable for strata of hundreds of rows. ``"efron"`` and
``"breslow"`` (``"approximate"`` in clogit) are Cox partial likelihoods with all rows tied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import expit

from fvdid._results import ResultMixin, wald_table
from fvdid.errors import FvdidInputError, check_binary, require_columns
from fvdid.estimators._formula import design_matrix, parse_formula
from fvdid.estimators._mle import fit_notes, newton_maximise, wald_fields

__all__ = ["ClogitResult", "clogit"]

Method = Literal["exact", "efron", "breslow"]


@dataclass(frozen=True)
class ClogitResult(ResultMixin):
    """Result of :func:`clogit`.

    ``nobs`` and ``n_events`` count every complete row and case (R's ``fit$n``, ``fit$nevent``);
    strata that carry no information (exact: without both a case and a control; efron/breslow:
    a single row or no case) are counted in
    ``n_uninformative_strata`` / ``n_uninformative_rows`` (and announced in ``notes``).
    ``loglik`` is the (conditional or partial) log-likelihood at the estimate (R's
    ``fit$loglik[2]``).
    """

    params: pd.Series
    std_errors: pd.Series
    pvalues: pd.Series
    vcov: pd.DataFrame
    method: str
    nobs: int
    n_events: int
    n_strata: int
    n_uninformative_strata: int
    n_uninformative_rows: int
    n_dropped: int
    converged: bool
    n_iter: int
    loglik: float
    loglik_null: float
    formula: str
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """Coefficient table: term, estimate, std_error, statistic (z), p_value, conf_low/high."""
        return wald_table(self.params, self.std_errors)


def _exact_stratum(
    X: np.ndarray, y: np.ndarray, eta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log conditional likelihood, gradient and Hessian of one stratum (exact method)."""
    m, p = X.shape
    d = int(y.sum())
    if 2 * d > m:  # choose the complement: same likelihood with the sign of eta flipped
        X, y, eta = -X, 1 - y, -eta
        d = m - d
    # logB[k] = log of the sum over subsets of size k (of the rows seen so far) of exp(sum eta);
    # g[k], H[k] = first / second derivative of B[k] divided by B[k].
    logB = np.full(d + 1, -np.inf)
    logB[0] = 0.0
    g = np.zeros((d + 1, p))
    H = np.zeros((d + 1, p, p))
    for i in range(m):
        x = X[i]
        top = min(i + 1, d)
        prev_logB = logB[0:top]
        cur_logB = logB[1 : top + 1]
        omega = expit(eta[i] + prev_logB - cur_logB)  # share of the new subsets (through row i)
        omega = np.where(np.isneginf(cur_logB), 1.0, omega)
        gp = g[0:top]
        Hp = H[0:top]
        new_g = (1 - omega)[:, None] * g[1 : top + 1] + omega[:, None] * (x + gp)
        xg = x[None, :, None] * gp[:, None, :]
        new_H = (1 - omega)[:, None, None] * H[1 : top + 1] + omega[:, None, None] * (
            np.outer(x, x)[None] + xg + xg.transpose(0, 2, 1) + Hp
        )
        logB[1 : top + 1] = np.logaddexp(cur_logB, eta[i] + prev_logB)
        g[1 : top + 1] = new_g
        H[1 : top + 1] = new_H
    cases = y == 1
    ll = float(eta[cases].sum() - logB[d])
    grad = X[cases].sum(axis=0) - g[d]
    hess = -(H[d] - np.outer(g[d], g[d]))
    return ll, grad, hess


def _tied_stratum(
    X: np.ndarray, y: np.ndarray, eta: np.ndarray, method: str
) -> tuple[float, np.ndarray, np.ndarray]:
    """Partial log-likelihood, gradient, Hessian of one stratum with all rows tied."""
    d = int(y.sum())
    cases = y == 1
    shift = eta.max()
    r = np.exp(eta - shift)
    ll = float(eta[cases].sum())
    grad = X[cases].sum(axis=0)
    hess = np.zeros((X.shape[1], X.shape[1]))
    for j in range(d):
        c = np.ones_like(r) if method == "breslow" else 1.0 - (j / d) * cases
        cr = c * r
        s = cr.sum()
        mean = cr @ X / s
        ll -= np.log(s) + shift
        grad = grad - mean
        hess = hess - ((X * cr[:, None]).T @ X / s - np.outer(mean, mean))
    return ll, grad, hess


def clogit(
    formula: str,
    data: pd.DataFrame,
    *,
    strata: str,
    method: Method = "exact",
    tol: float = 1e-12,
    maxit: int = 100,
) -> ClogitResult:
    """Fit a conditional logit model for 0/1 outcomes within strata (matched sets).

    Parameters
    ----------
    formula
        ``"y ~ x1 + x2 + C(k)"``; no intercept is estimated (it is conditioned away); ``C(k)``
        dummies are treatment coded as in R (``factor(k)``).
    data
        The data; rows with a missing value in a used column or ``strata`` are dropped and
        counted in ``n_dropped``.
    strata
        Matched-set column (R: ``+ strata(s)`` in the formula; the name is R's, since a
        stratum is a grouping structure, not a unit).
    method
        ``"exact"`` (R's default), ``"efron"`` or ``"breslow"`` (R: ``"approximate"`` /
        ``"breslow"``) — R's ``method`` argument.
    tol, maxit
        Newton-Raphson stops when the relative change of the log-likelihood is below ``tol``
        after a full step, at most ``maxit`` iterations. R: ``clogit(..., control =
        coxph.control(eps = tol, iter.max = maxit))``.

    Raises
    ------
    FvdidInputError
        Missing columns, a non-binary outcome (naming the rows), or no stratum with both a case
        and a control.
    """
    if method not in ("exact", "efron", "breslow"):
        raise FvdidInputError(f"method must be 'exact', 'efron' or 'breslow', got {method!r}")
    parsed = parse_formula(formula)
    require_columns(data, [*parsed.columns, strata], what="data")
    design = design_matrix(parsed, data, extra=[strata], intercept=True)
    names = list(design.names[1:])
    X = design.X[:, 1:]
    if X.shape[1] == 0:
        raise FvdidInputError(f"formula {formula!r} has no regressors for a conditional logit")
    frame = design.frame
    y = check_binary(frame, parsed.response).astype(float)
    codes, _ = pd.factorize(frame[strata], sort=True)
    n_strata = int(codes.max()) + 1
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    groups = np.split(order, bounds)
    if method == "exact":
        informative = [gr for gr in groups if 0 < y[gr].sum() < len(gr)]
    else:  # with tied rows, a stratum of cases only still enters the partial likelihood (as in R)
        informative = [gr for gr in groups if y[gr].sum() > 0 and len(gr) > 1]
    n_uninf = n_strata - len(informative)
    n_uninf_rows = int(sum(len(gr) for gr in groups)) - int(sum(len(gr) for gr in informative))
    if not informative:
        raise FvdidInputError(
            f"no stratum of {strata!r} has both a case and a control ({n_strata} strata, e.g. "
            f"one row each); the conditional likelihood carries no information"
        )
    uninformative = (
        f"{n_uninf} of {n_strata} strata ({n_uninf_rows} rows) carry no information for "
        f"method {method!r} (a single row, no case{' or no control' if method == 'exact' else ''})"
    )
    _check_within_variation(X, informative, names)

    stratum_fn = _exact_stratum if method == "exact" else None

    def evaluate(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta_all = X @ beta
        ll, grad, hess = 0.0, np.zeros(len(beta)), np.zeros((len(beta), len(beta)))
        for gr in informative:
            if stratum_fn is not None:
                li, gi, hi = stratum_fn(X[gr], y[gr], eta_all[gr])
            else:
                li, gi, hi = _tied_stratum(X[gr], y[gr], eta_all[gr], method)
            ll += li
            grad += gi
            hess += hi
        return ll, grad, hess

    fit = newton_maximise(
        evaluate,
        np.zeros(X.shape[1]),
        tol,
        maxit,
        step=lambda hess, grad: linalg.solve(-hess, grad, assume_a="sym"),
        rel_offset=1e-300,
    )
    beta, converged = fit.x, fit.converged
    notes = fit_notes(
        design.n_dropped,
        converged,
        f"clogit did not converge in {maxit} iterations",
        (uninformative,) if n_uninf else (),
    )
    V = linalg.inv(-fit.hess)
    V = (V + V.T) / 2
    se = np.sqrt(np.diag(V))
    return ClogitResult(
        **wald_fields(beta, se, V, names),
        method=method,
        nobs=len(y),
        n_events=int(y.sum()),
        n_strata=n_strata,
        n_uninformative_strata=n_uninf,
        n_uninformative_rows=n_uninf_rows,
        n_dropped=design.n_dropped,
        converged=converged,
        n_iter=fit.n_iter,
        loglik=float(fit.loglik),
        loglik_null=float(fit.loglik_start),
        formula=formula,
        notes=tuple(notes),
    )


def _check_within_variation(X: np.ndarray, groups: list[np.ndarray], names: list[str]) -> None:
    """Raise when a regressor is constant within every informative stratum (not identified)."""
    within = np.zeros(X.shape[1])
    for gr in groups:
        xs = X[gr]
        within += ((xs - xs.mean(axis=0)) ** 2).sum(axis=0)
    scale = (X**2).sum(axis=0) + 1.0
    flat = [names[j] for j in np.flatnonzero(within <= 1e-20 * scale)]
    if flat:
        raise FvdidInputError(
            f"{flat} do not vary within any informative stratum; their coefficients are not "
            "identified in a conditional logit (R reports NA); remove them"
        )
