"""Linear mixed model with a random intercept per group, as R's ``lme4::lmer``.

Reference: ``lme4::lmer(y ~ x1 + x2 + (1 | group), REML = TRUE)``.

Model: ``y = X b + u[group] + e`` with ``u ~ N(0, sigma2_u)``, ``e ~ N(0, sigma2)``. With the
relative standard deviation ``theta = sigma_u / sigma`` (lme4's ``getME(fit, "theta")``), the
marginal covariance is ``sigma2 * V(theta)``, ``V = I + theta^2 Z Z'``, block diagonal with
``V_j^{-1} = I - theta^2 / (1 + n_j theta^2) 1 1'``. Given ``theta`` everything is closed form:
GLS ``b``, ``r2 = (y - X b)' V^{-1} (y - X b)`` (lme4's penalised residual sum of squares),
``sigma2 = r2 / (n - p)`` (REML) or ``r2 / n`` (ML), and the profiled deviance

    REML: log|V| + log|X' V^{-1} X| + (n - p) (1 + log(2 pi r2 / (n - p)))
    ML:   log|V| + n (1 + log(2 pi r2 / n))

with ``log|V| = sum_j log(1 + n_j theta^2)``. The deviance is minimised over ``theta >= 0`` with
``scipy.optimize.minimize_scalar`` (bounded Brent), then polished by root-finding on its
analytic derivative: function values alone locate a flat minimum only to ~sqrt(machine eps).

Cluster-robust covariance of the fixed effects (``vcov="CR0" | "CR1"``) follows R's
``clubSandwich::vcovCR(fit, cluster = g, type = "CR0" | "CR1")`` on the lmerMod fit, with the
fitted marginal covariance as working model (clubSandwich's default ``inverse_var = TRUE``):
``B = (X' V^{-1} X)^{-1}``, meat ``sum_c u_c u_c'`` with ``u_c = X_c' V_c^{-1} (y_c - X_c b)``
(the GLS score of cluster ``c``, marginal residuals), and ``B meat B``; CR1 multiplies by
``G/(G-1)`` only (clubSandwich's CR1; no ``(n-1)/(n-p)`` factor as in sandwich's HC1). The
grouping of the random intercept must be nested within the clusters (clubSandwich refuses
otherwise); ``cluster`` defaults to the group itself (clubSandwich's default). Variance
components are left model-based. clubSandwich does not support lmer models with prior weights,
so fvdid's lmer has no ``weights`` argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from fvdid._results import ResultMixin, wald_table
from fvdid.errors import FvdidInputError, describe_rows, require_columns
from fvdid.estimators._design import group_indicator
from fvdid.estimators._formula import Design, design_matrix, parse_formula
from fvdid.estimators._mle import wald_fields
from fvdid.estimators._sandwich import cluster_codes, cluster_meat

__all__ = ["LmerResult", "lmer"]

_LOG_2PI = math.log(2 * math.pi)
_MAX_CLASS_CELLS = 50_000_000  # cap on the per-size cross-products (floats) of _Profile


@dataclass(frozen=True)
class LmerResult(ResultMixin):
    """Result of :func:`lmer`.

    ``params`` / ``std_errors`` / ``vcov``: fixed effects (R's ``fixef()``, ``vcov()``).
    ``pvalues`` use the normal approximation to ``t = estimate / se`` (lme4 itself reports no
    p-values; lmerTest's Satterthwaite df would give slightly larger ones).
    ``sigma2`` and ``group_var`` are the residual and random-intercept variances (R's
    ``VarCorr()``), ``theta`` their standard-deviation ratio (``getME(fit, "theta")``).
    ``criterion`` is the REML criterion (``REMLcrit()``) or, with ``reml=False``, the deviance
    (``deviance()``); ``loglik = -criterion / 2`` (R's ``logLik()``).
    ``singular`` flags ``theta == 0`` (R's ``isSingular()``).
    ``vcov_type`` says which covariance ``vcov`` holds (``"model"``, ``"CR0"``, ``"CR1"``),
    ``cluster`` / ``n_clusters`` the clustering of a cluster-robust one.
    """

    params: pd.Series
    std_errors: pd.Series
    pvalues: pd.Series
    vcov: pd.DataFrame
    sigma2: float
    group_var: float
    theta: float
    criterion: float
    loglik: float
    reml: bool
    nobs: int
    n_groups: int
    n_dropped: int
    converged: bool
    singular: bool
    group: str
    formula: str
    notes: tuple[str, ...] = ()
    vcov_type: str = "model"
    cluster: str | None = None
    n_clusters: int | None = None

    def tidy(self) -> pd.DataFrame:
        """Fixed-effect table (z statistics, normal p-values and intervals)."""
        return wald_table(self.params, self.std_errors)

    def varcomp(self) -> pd.DataFrame:
        """Variance components as ``as.data.frame(VarCorr(fit))``: grp, variance, sd."""
        return pd.DataFrame(
            {
                "grp": [self.group, "Residual"],
                "variance": [self.group_var, self.sigma2],
                "sd": [math.sqrt(self.group_var), math.sqrt(self.sigma2)],
            }
        )


class _Profile:
    """Closed-form pieces of the profiled (RE)ML deviance for a given ``theta``.

    ``V_j^{-1}`` depends on group ``j`` only through its size ``n_j``, so the group sums enter
    the deviance through one cross-product per distinct group size (``S_m = sum s_j s_j'`` over
    the groups of size ``m``), formed once: each evaluation then costs ``O(m p^2)`` instead of
    ``O(G p^2)`` (the same sums, reassociated).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, codes: np.ndarray, reml: bool) -> None:
        self.X, self.y, self.reml = X, y, reml
        self.n, self.p = X.shape
        G = int(codes.max()) + 1
        self.nj = np.bincount(codes, minlength=G).astype(float)
        # per-group sums: s_j = X_j' 1, t_j = y_j' 1
        # group sums (bincount's floats, in one pass: group_indicator), in the column-major
        # layout of the per-column bincounts they replace
        self.ind = group_indicator(codes, G)
        self.sX = np.asfortranarray(self.ind @ X)
        self.sy = self.ind @ y
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)
        # the distinct group sizes and, per size, the cross-products of the group sums (every
        # group its own class when the sizes are too many for that to save work)
        self.sizes, size_of = np.unique(self.nj, return_inverse=True)
        if 2 * len(self.sizes) > G or len(self.sizes) * self.p**2 > _MAX_CLASS_CELLS:
            self.sizes, size_of = self.nj, np.arange(G)
        self.grouped = len(self.sizes) < G
        self.count = np.bincount(size_of, minlength=len(self.sizes)).astype(float)
        if not self.grouped:
            return
        self.S = np.empty((len(self.sizes), self.p, self.p))
        self.Sy = np.empty((len(self.sizes), self.p))
        self.syy = np.empty(len(self.sizes))
        for m in range(len(self.sizes)):
            sel = size_of == m
            sXm, sym = self.sX[sel], self.sy[sel]
            self.S[m] = sXm.T @ sXm
            self.Sy[m] = sXm.T @ sym
            self.syy[m] = float(sym @ sym)

    def solve(self, theta: float) -> dict[str, object]:
        t2 = theta * theta
        c_j = t2 / (1.0 + self.nj * t2)  # V_j^{-1} = I - c_j 1 1'
        if self.grouped:  # by group size
            c = t2 / (1.0 + self.sizes * t2)
            M = self.XtX - np.tensordot(c, self.S, axes=1)  # X' V^{-1} X
            b = self.Xty - c @ self.Sy  # X' V^{-1} y
            yvy = self.yty - float(c @ self.syy)
        else:
            M = self.XtX - (self.sX * c_j[:, None]).T @ self.sX
            b = self.Xty - self.sX.T @ (c_j * self.sy)
            yvy = self.yty - float(np.sum(c_j * self.sy**2))
        cf = linalg.cho_factor(M)
        beta = linalg.cho_solve(cf, b)
        r2 = yvy - float(b @ beta)
        logdetV = float(self.count @ np.log1p(self.sizes * t2))
        logdetM = 2.0 * float(np.sum(np.log(np.diag(cf[0]))))
        if self.reml:
            dof = self.n - self.p
            dev = logdetV + logdetM + dof * (1.0 + _LOG_2PI + math.log(r2 / dof))
        else:
            dof = self.n
            dev = logdetV + self.n * (1.0 + _LOG_2PI + math.log(r2 / self.n))
        return {"beta": beta, "M": M, "cf": cf, "r2": r2, "dev": dev, "dof": dof, "c": c_j}

    def deviance(self, theta: float) -> float:
        return float(self.solve(abs(theta))["dev"])  # type: ignore[arg-type]

    def slope(self, theta: float) -> float:
        """d deviance / d theta divided by 2 theta (finite at theta = 0)."""
        s = self.solve(theta)
        t2 = theta * theta
        a = 1.0 / (1.0 + self.nj * t2)
        beta = s["beta"]
        eg = self.sy - self.sX @ beta  # group sums of residuals
        out = float(np.sum(self.nj * a)) - float(s["dof"]) / float(s["r2"]) * float(
            np.sum((a * eg) ** 2)
        )
        if self.reml and not self.grouped:
            W = linalg.cho_solve(s["cf"], self.sX.T)  # M^{-1} s_j
            out -= float(np.sum(a**2 * np.einsum("jk,kj->j", self.sX, W)))
        elif self.reml:
            # sum_j a_j^2 s_j' M^{-1} s_j = sum_m a_m^2 tr(M^{-1} S_m)
            Minv = linalg.cho_solve(s["cf"], np.eye(self.p))
            am = 1.0 / (1.0 + self.sizes * t2)
            out -= float((am**2) @ np.einsum("mkl,lk->m", self.S, Minv))
        return out


def lmer(
    formula: str,
    data: pd.DataFrame,
    *,
    group: str,
    reml: bool = True,
    vcov: Literal["model", "CR0", "CR1"] = "model",
    cluster: str | None = None,
    tol: float = 1e-12,
    design: Design | None = None,
) -> LmerResult:
    """Fit a linear mixed model with a random intercept per ``group``.

    Parameters
    ----------
    formula
        Fixed part, ``"y ~ x1 + x2 + C(k)"`` (R: ``y ~ x1 + x2 + factor(k) + (1 | group)``).
    data
        The data; rows with a missing value in a used column or ``group`` are dropped and
        counted in ``n_dropped``.
    group
        Grouping column of the random intercept (R: ``(1 | group)``; the name is lme4's
        term, since the group is a grouping structure, not necessarily the panel unit).
    reml
        Restricted maximum likelihood (R: ``REML = TRUE``, the default) or ML.
    vcov
        Covariance of the fixed effects: ``"model"`` (R: ``vcov(fit)``) or cluster-robust
        ``"CR0"`` / ``"CR1"`` (R: ``clubSandwich::vcovCR(fit, cluster = d$g, type = "CR0" /
        "CR1")``; CR1 is ``G/(G-1)`` times CR0). See the module docstring.
    cluster
        Cluster column for ``"CR0"``/``"CR1"`` (R: ``cluster = d$g``); every ``group`` must lie
        within one cluster. ``None`` clusters by ``group``. It must have no missing value on the
        rows used.
    tol
        Tolerance on ``theta`` of the final root-finding step. No R argument corresponds
        (lme4's optimiser tolerances, ``lmerControl(optCtrl = )``, act on its own optimiser).
    design
        The model frame and design of ``formula`` on ``data`` when the caller already holds it
        (``design_matrix(formula, data, extra=[group])``, or one with the same rows, columns and
        checks), used instead of being built again. No R argument corresponds.

    Raises
    ------
    FvdidInputError
        Missing columns, fewer than two groups, or no more observations than groups
        (lme4: ``check.nobs.vs.nlev``), a bad ``vcov`` / ``cluster``, or groups that are not
        nested within the clusters.
    """
    if vcov not in ("model", "CR0", "CR1"):
        raise FvdidInputError(f"vcov must be 'model', 'CR0' or 'CR1', got {vcov!r}")
    if cluster is not None and vcov == "model":
        raise FvdidInputError(f"cluster={cluster!r} is only used with vcov='CR0' or 'CR1'")
    parsed = parse_formula(formula)
    require_columns(data, [*parsed.columns, group, *([cluster] if cluster else [])], what="data")
    if design is None:
        design = design_matrix(parsed, data, extra=[group])
    X, y = design.X, design.y
    codes, _ = pd.factorize(design.frame[group], sort=True)
    G = int(codes.max()) + 1
    n, p = X.shape
    if G < 2:
        raise FvdidInputError(
            f"group column {group!r} has {G} level(s); a random intercept needs at least 2"
        )
    if n <= G:
        raise FvdidInputError(
            f"{n} complete rows for {G} levels of {group!r}: the random-intercept and residual "
            "variances are not identified (lme4 stops: number of observations <= number of levels)"
        )
    if n - p <= 0:
        raise FvdidInputError(f"{n} complete rows for {p} fixed effects")
    prof = _Profile(X, y, codes, reml)

    # bracket: theta at the one-way ANOVA ratio, capped; widen until the minimum is inside
    upper = 10.0
    while True:
        res = optimize.minimize_scalar(
            prof.deviance,
            bounds=(0.0, upper),
            method="bounded",
            options={"xatol": 1e-10, "maxiter": 1000},
        )
        if res.x < 0.9 * upper or upper > 1e8:
            break
        upper *= 10.0
    theta = float(res.x)
    converged = bool(res.success)
    # polish: the deviance's derivative is 2 theta * slope(theta); an interior minimum is a root
    if prof.slope(0.0) >= 0.0 and prof.deviance(0.0) <= prof.deviance(theta):
        theta = 0.0
    else:
        lo, hi = theta * 0.5, theta * 2.0 + 1e-8
        lo = lo if prof.slope(lo) < 0 else 0.0
        k = 0
        while prof.slope(hi) <= 0 and k < 60:
            hi *= 2.0
            k += 1
        if prof.slope(lo) < 0 < prof.slope(hi):
            theta = optimize.brentq(
                prof.slope,
                lo,
                hi,
                xtol=tol * max(theta, 1e-3),
                rtol=4 * np.finfo(float).eps,
                maxiter=500,
            )
        else:
            converged = False
    s = prof.solve(theta)
    sigma2 = float(s["r2"]) / float(s["dof"])
    V = sigma2 * linalg.cho_solve(s["cf"], np.eye(p))
    V = (V + V.T) / 2
    beta = np.asarray(s["beta"])
    n_clusters = None
    if vcov != "model":
        clus = group if cluster is None else cluster
        ccodes = cluster_codes(data[[clus]].iloc[design.positions], clus)  # not every column
        n_clusters = int(ccodes.max()) + 1
        # cluster of each group; a group spread over several clusters is not nested
        per_group = pd.Series(ccodes).groupby(codes).nunique()
        if (per_group > 1).any():
            spread = per_group.index[per_group.to_numpy() > 1]
            rows = design.index[np.isin(codes, spread)]
            raise FvdidInputError(
                f"groups of {group!r} must be nested within the clusters of {clus!r}; "
                f"{len(spread)} group(s) span several clusters ({describe_rows(rows)})"
            )
        gclus = np.zeros(G, dtype=np.int64)
        gclus[codes] = ccodes
        # GLS score of group j: X_j' V_j^{-1} e_j = X_j' e_j - c_j s_j (1' e_j)
        e = y - X @ beta
        Xe = np.asfortranarray(prof.ind @ (X * e[:, None]))  # group sums, as bincount
        se_sum = prof.ind @ e
        U = Xe - prof.sX * (np.asarray(s["c"]) * se_sum)[:, None]
        B = linalg.cho_solve(s["cf"], np.eye(p))
        V = B @ cluster_meat(U, gclus) @ B
        if vcov == "CR1":
            V = V * n_clusters / (n_clusters - 1)
        V = (V + V.T) / 2
    names = list(design.names)
    se = np.sqrt(np.diag(V))
    crit = float(s["dev"])
    notes: list[str] = []
    if design.n_dropped:
        notes.append(f"{design.n_dropped} rows with missing values dropped")
    singular = theta == 0.0
    if singular:
        notes.append("boundary (singular) fit: the group variance is estimated as 0")
    return LmerResult(
        **wald_fields(beta, se, V, names),
        sigma2=sigma2,
        group_var=sigma2 * theta * theta,
        theta=theta,
        criterion=crit,
        loglik=-crit / 2.0,
        reml=reml,
        nobs=n,
        n_groups=G,
        n_dropped=design.n_dropped,
        converged=converged,
        singular=singular,
        group=group,
        formula=formula,
        notes=tuple(notes),
        vcov_type=vcov,
        cluster=None if vcov == "model" else (group if cluster is None else cluster),
        n_clusters=n_clusters,
    )
