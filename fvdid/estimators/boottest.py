"""Wild cluster bootstrap test of one coefficient, as R's ``fwildclusterboot::boottest()``.

The algorithm is the "fast and wild" one of Roodman, MacKinnon, Nielsen & Webb (2019, *Stata
Journal* 19(1), section 5) with the notation of MacKinnon, Nielsen & Webb (2023, *Journal of
Econometrics* 232(2)): one pass over the data collapses everything to bootstrap-cluster level, and
then every draw costs ``O(G k)`` (``O(G* G)`` when the bootstrap clusters cross the error clusters),
never ``O(N)``. Draws are processed in chunks, so memory grows with neither ``B`` nor ``B x N``.

Mathematics (one restriction ``R beta = r``, ``R`` a unit vector on ``param``)
------------------------------------------------------------------------------
With ``A = (X'WX)^{-1}``, ``h = X A R'`` and the restricted (WCR) residuals
``u~(r) = P + Q r`` (``P = u^ + h R beta^ / (R A R')``, ``Q = -h / (R A R')``; for the
unrestricted bootstrap (WCU) ``P = u^``, ``Q = 0``), a wild draw ``v`` (one value per bootstrap
cluster ``g``) gives

* numerator ``R beta* - r = sum_g v_g sum_{i in g} w_i h_i u~_i`` (affine in ``r``),
* the score of error cluster ``c`` under the bootstrap residuals ``M (u~ * v)``:
  ``S_c(v) = sum_g v_g [P2 - (S_X A) P1' - P3]_{cg}`` with ``P2_{cg} = sum_{c and g} w h u~``,
  ``S_X = sum_{i in c} w_i h_i X_i``, ``P1_g = sum_{i in g} w_i X_i u~_i`` and ``P3`` the part of
  the residual that projects on absorbed fixed effects (zero when they are nested in ``c``),
* ``t*(r) = (a + b r) / sqrt(ssc * (CC + 2 CD r + DD r^2))``: five numbers per draw, so the
  p-value at any ``r`` (the confidence interval by test inversion) costs ``O(B)``.

Conventions of fwildclusterboot 0.13.0 that are reproduced
-----------------------------------------------------------
* Small-sample factor ``ssc = G/(G-1) * (N-1)/(N-k)`` (``boot_ssc(adj = TRUE, fixef.K = "none",
  cluster.adj = TRUE, cluster.df = "conventional")``), ``G`` the number of error clusters, ``N``
  the number of observations with non-zero weight (R's ``nobs()``), and ``k`` counted as R counts
  it: for ``lm()`` every column of the model matrix (factor dummies included); for a fixest/felm
  model with absorbed fixed effects only the non-FE coefficients (``length(coef(object))``).
  ``fixef_k="none"`` (default) is the fixest/felm convention, ``fixef_k="full"`` adds the absorbed
  FE parameters (``design.n_fe``) and reproduces ``lm()`` with factor dummies.
* Rademacher weights with ``2^G* <= B`` switch to full enumeration of all ``2^G*`` sign vectors
  (all-plus and all-minus included) and ``B`` becomes ``2^G*``; no other weight type enumerates.
  The note then suggests Webb weights (six points: ``6^G*`` distinct draws), as R's warning does;
  neither side switches on its own.
* Bootstrap clusters finer than the error clusters (the wild subcluster bootstrap) enter only
  through the crosstab ``P2_{cg}`` and ``P1_g`` above: nothing else changes, and with
  ``bootcluster == cluster`` the computation is the ordinary one, draw for draw.
* The bootstrap t-statistics that are not finite (zero bootstrap variance) are dropped before the
  p-value is computed; p-values use strict inequalities: ``mean(|t| < |t*|)`` (two-tailed),
  ``2 min(mean(t < t*), mean(t > t*))`` (equal-tailed), ``mean(t < t*)`` (``">"``),
  ``mean(t > t*)`` (``"<"``).
* The confidence interval inverts the p-value (Roodman et al. 2019, section 3.5): each end is
  bracketed by stepping out from the estimate until ``p < alpha``, located on a 25-cell scan and
  bisected to the jump of the step function ``p(r)`` across ``alpha`` (``alpha`` is R's
  ``sign_level``); see ``fvdid.estimators._boot_ci``. fwildclusterboot's ``uniroot`` (``maxiter =
  10``) may stop up to ~1e-4 short of that jump. One-sided p-values give no interval (as the R
  engine).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._boot_core import (
    WEIGHT_TYPES,
    check_bootcluster_nesting,
    group_codes,
    wild_core,
)

__all__ = ["BoottestResult", "boottest"]

WeightsType = Literal["rademacher", "mammen", "webb", "norm"]
PValType = Literal["two-tailed", "equal-tailed", ">", "<"]
FixefK = Literal["none", "full"]

_PVAL_TYPES = ("two-tailed", "equal-tailed", ">", "<")


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoottestResult(ResultMixin):
    """Result of :func:`boottest`.

    Attributes
    ----------
    param
        The tested coefficient.
    r
        The hypothesised value (``H0: param = r``).
    point_estimate
        The coefficient estimate.
    t_stat
        The t-statistic ``(beta - r) / se`` with the CR1 standard error of fwildclusterboot's
        small-sample factor (see the module docstring).
    p_value
        The bootstrap p-value of type ``p_val_type``.
    conf_int
        ``(lower, upper)`` by test inversion, or ``None`` (``conf_int=False`` or one-sided test).
    t_boot
        The bootstrap t-statistics (in draw order; non-finite ones dropped).
    B
        The effective number of draws (``2^G*`` under full enumeration).
    weights_type, impose_null, p_val_type, alpha, full_enumeration
        The settings as used (``alpha`` is R's ``sign_level``).
    n_obs, n_clusters, n_bootclusters
        Observations (non-zero weight), error clusters ``G`` and bootstrap clusters ``G*``.
    ssc
        The small-sample factor applied to the bootstrap variance.
    n_invalid
        Number of bootstrap t-statistics dropped as non-finite.
    notes
        Announcements (e.g. "full enumeration", "no interval for a one-sided test").
    """

    param: str
    r: float
    point_estimate: float
    t_stat: float
    p_value: float
    conf_int: tuple[float, float] | None
    t_boot: np.ndarray = field(repr=False)
    B: int
    weights_type: str
    impose_null: bool
    p_val_type: str
    alpha: float
    full_enumeration: bool
    n_obs: int
    n_clusters: int
    n_bootclusters: int
    ssc: float
    n_invalid: int = 0
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row: term, estimate, statistic, p_value, conf_low, conf_high."""
        lo, hi = self.conf_int if self.conf_int is not None else (math.nan, math.nan)
        return pd.DataFrame(
            {
                "term": [self.param],
                "estimate": [self.point_estimate],
                "statistic": [self.t_stat],
                "p_value": [self.p_value],
                "conf_low": [lo],
                "conf_high": [hi],
            }
        )

    def summary(self) -> str:
        """Plain-text summary in the spirit of ``summary.boottest``."""
        kind = "WCR" if self.impose_null else "WCU"
        enum = ", full enumeration" if self.full_enumeration else ""
        head = (
            f"BoottestResult: wild cluster bootstrap ({kind}, {self.weights_type} weights{enum})\n"
            f"H0: {self.param} = {self.r:g}; B = {self.B}; p-value type: {self.p_val_type}\n"
            f"N = {self.n_obs}, clusters G = {self.n_clusters}, bootstrap clusters "
            f"G* = {self.n_bootclusters}, ssc = {self.ssc:.6g}\n"
        )
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.tidy().to_string(index=False)
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return head + body + notes


# --------------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------------


class _DesignLike(Protocol):
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    terms: list[str]
    index: pd.Index
    n_fe: int
    fe: Sequence[str]


def _aligned(
    value: Any, what: str, data: pd.DataFrame | None, index: pd.Index, design: Any = None
) -> np.ndarray:
    """Return ``value`` for the rows the fit used.

    ``value`` is a column name of ``data``, a tuple of column names (their intersection, as R's
    ``bootcluster = c("a", "b")``), a Series aligned by label, or an array with one entry per row.
    """
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        parts = [_aligned(v, what, data, index, design) for v in value]
        codes = [pd.factorize(pd.Series(p), sort=True)[0] for p in parts]
        combined = pd.MultiIndex.from_arrays(codes).factorize(sort=True)[0]
        return np.asarray(combined, dtype=np.int64)
    if isinstance(value, str) and data is None and hasattr(design, "column"):
        s = design.column(value)
    elif isinstance(value, str):
        if data is None:
            raise FvdidInputError(
                f"{what}={value!r} names a column, so pass the data frame the model was fitted "
                f"on as boottest(..., data=df), or pass {what} as an array aligned to the rows used"
            )
        if value not in data.columns:
            raise FvdidInputError(
                f"{what} column {value!r} is not in data; available columns: {list(data.columns)}"
            )
        missing = index.difference(data.index)
        if len(missing):
            raise FvdidInputError(
                f"data lacks {describe_rows(missing)} that the model used; pass the data frame "
                f"the model was fitted on"
            )
        s = data.loc[index, value]
    elif isinstance(value, pd.Series):
        missing = index.difference(value.index)
        if len(missing):
            raise FvdidInputError(
                f"{what} (a Series) lacks {describe_rows(missing)} the model used"
            )
        s = value.loc[index]
    else:
        arr = np.asarray(value)
        if arr.ndim != 1 or arr.size != len(index):
            raise FvdidInputError(
                f"{what} must be a column name, a Series, or a 1-d array with one entry per row "
                f"used by the model ({len(index)}), got shape {arr.shape}"
            )
        s = pd.Series(arr, index=index)
    na = s.isna().to_numpy()
    if na.any():
        raise FvdidInputError(f"{what} has missing values in {describe_rows(index[na])}")
    return s.to_numpy()


def boottest(
    fit: Any,
    param: str,
    cluster: str | tuple[str, ...] | Sequence[Any] | np.ndarray | pd.Series,
    *,
    data: pd.DataFrame | None = None,
    B: int = 9999,
    weights_type: WeightsType = "rademacher",
    impose_null: bool = True,
    r: float = 0.0,
    bootcluster: str | tuple[str, ...] | Sequence[Any] | np.ndarray | pd.Series | None = None,
    p_val_type: PValType = "two-tailed",
    conf_int: bool = True,
    alpha: float | None = None,
    sign_level: float | None = None,
    seed: int | np.random.Generator | None = None,
    fixef_k: FixefK = "none",
    tol: float = 1e-6,
    maxiter: int = 10,
) -> BoottestResult:
    """Wild cluster bootstrap test of ``H0: param = r`` after :func:`fvdid.ols`.

    Parameters
    ----------
    fit
        An :func:`fvdid.ols` result (absorbed fixed effects and analytic weights included). Its
        ``design`` (the FE-projected design, response, weights, terms, rows used) is what is
        bootstrapped; the data are not re-read except for the cluster columns.
    param
        The coefficient tested (a term of ``fit.params``). R: ``param``.
    cluster
        Error clusters of the CR1 variance: a column name (read from ``data=`` when given,
        otherwise from the frame the fit carries, ``fit.design.column``), a Series indexed like
        ``data`` (aligned by label to the rows the fit used), or an array with one entry per
        row used. R: ``clustid``. A tuple or list of two or more column names is *multi-way*
        clustering, R's ``clustid = c("a", "b")``: the bootstrap variance is the
        Cameron–Gelbach–Miller sum over every non-empty subset of the dimensions (their
        intersection), with sign ``(-1)^(|S|+1)`` and each term's own ``G_S/(G_S-1)`` times the
        common ``(N-1)/(N-k)`` (fwildclusterboot's ``cluster.df = "conventional"``); the
        bootstrap clusters default to the intersection of all dimensions (R's
        ``bootcluster = "max"``). One-way clustering on an intersection is a column you build.
    data
        Optional: the data frame the model was fitted on. Without it, column names (and the
        absorbed fixed effects) are read from the frame the :func:`fvdid.ols` fit carries.
    B
        Bootstrap draws. R: ``B``. Under full enumeration (Rademacher, ``2^G* <= B``) the
        effective ``B`` is ``2^G*``.
    weights_type
        ``"rademacher"``, ``"mammen"``, ``"webb"`` or ``"norm"``. R: ``type``.
    impose_null
        ``True``: restricted wild cluster bootstrap (WCR); ``False``: WCU. R: ``impose_null``.
    r
        Hypothesised value. R: ``r``.
    bootcluster
        Level at which the wild weights are drawn: a column name, a tuple of column names (the
        intersection of their levels, R's ``bootcluster = c("a", "b")``), a Series or an array
        as for ``cluster``; default the error clusters, for multi-way clustering their
        intersection (R's ``bootcluster = "max"``). R: ``bootcluster``. Finer than ``cluster``
        (e.g. ``("la", "year")``, or a row id for one weight per observation) is the wild
        *subcluster* bootstrap of MacKinnon & Webb (2018): the weights vary within an LA while
        the CR1 variance stays clustered by LA. With one-way clustering the bootstrap clusters
        must either nest in the error clusters or contain whole ones.
    p_val_type
        ``"two-tailed"``, ``"equal-tailed"``, ``">"``, ``"<"``. R: ``p_val_type``.
    conf_int
        Compute the confidence interval by test inversion (two-tailed and equal-tailed only).
        R: ``conf_int``.
    alpha
        Significance level of the interval (a ``1 - alpha`` interval); default 0.05.
        R: ``sign_level``.
    sign_level
        Alias of ``alpha`` under R's name, kept for callers written against fwildclusterboot;
        give one of the two, not both.
    seed
        Seed (or ``numpy.random.Generator``) for the draws. R's dqrng stream differs, so only
        full enumeration reproduces R draw for draw.
    fixef_k
        ``k`` of the small-sample factor ``(N-1)/(N-k)``: ``"none"`` counts the non-FE
        coefficients only (fwildclusterboot on a fixest/felm model with absorbed fixed
        effects); ``"full"`` adds the absorbed FE parameters ``fit.design.n_fe``
        (fwildclusterboot on ``lm()`` with factor dummies). Without absorbed FE both agree.
    tol, maxiter
        The interval's ends are bisected until their cell is narrower than ``tol`` times the
        standard error, in at most ``max(maxiter, 100)`` halvings. R: ``tol``, ``maxiter``
        (there the settings of ``uniroot``).

    Returns
    -------
    BoottestResult

    Raises
    ------
    FvdidInputError
        A single cluster, ``param`` not in the model, ``B < 1``, unknown option values,
        cluster values missing or misaligned, a ``bootcluster`` column absent, or (one-way
        clustering) a bootstrap cluster that straddles error clusters while other error
        clusters are split (neither nested nor coarser).
    """
    if not isinstance(B, (int, np.integer)) or isinstance(B, bool) or B < 1:
        raise FvdidInputError(f"B must be a positive integer, got {B!r}")
    if weights_type not in WEIGHT_TYPES:
        raise FvdidInputError(f"weights_type must be one of {WEIGHT_TYPES}, got {weights_type!r}")
    if p_val_type not in _PVAL_TYPES:
        raise FvdidInputError(f"p_val_type must be one of {_PVAL_TYPES}, got {p_val_type!r}")
    if fixef_k not in ("none", "full"):
        raise FvdidInputError(f"fixef_k must be 'none' or 'full', got {fixef_k!r}")
    if alpha is not None and sign_level is not None:
        raise FvdidInputError(
            f"give alpha or its alias sign_level, not both (alpha={alpha!r}, "
            f"sign_level={sign_level!r})"
        )
    alpha = 0.05 if alpha is None and sign_level is None else (alpha if alpha is not None else sign_level)
    if not isinstance(alpha, (int, float)) or not 0.0 < float(alpha) < 1.0:
        raise FvdidInputError(f"alpha (R: sign_level) must lie in (0, 1), got {alpha!r}")
    if not math.isfinite(float(r)):
        raise FvdidInputError(f"r must be a finite number, got {r!r}")
    design = getattr(fit, "design", None)
    if design is None:
        raise FvdidInputError("fit must be an fvdid.ols result (it has no `design`)")
    terms = [str(t) for t in design.terms]
    if param not in terms:
        raise FvdidInputError(f"param {param!r} is not a coefficient of the model; terms: {terms}")
    if conf_int and p_val_type in ("two-tailed", "equal-tailed") and B <= 100:
        raise FvdidInputError(
            f"B = {B}: the confidence interval by test inversion needs B > 100 "
            "(as fwildclusterboot); set conf_int=False or raise B"
        )

    index = pd.Index(design.index)
    X = np.asarray(design.X, dtype=np.float64)
    y = np.asarray(design.y, dtype=np.float64)
    weights = None if design.weights is None else np.asarray(design.weights, dtype=np.float64)
    multiway = (
        isinstance(cluster, (tuple, list))
        and len(cluster) > 1
        and all(isinstance(v, str) for v in cluster)
    )
    c_list: list[np.ndarray] | None = None
    if multiway:
        c_list = [_aligned(c, "cluster", data, index, design) for c in cluster]
        c_vals = _aligned(tuple(cluster), "cluster", data, index, design)  # the intersection
    else:
        c_vals = _aligned(cluster, "cluster", data, index, design)
    g_vals = (
        c_vals if bootcluster is None else _aligned(bootcluster, "bootcluster", data, index, design)
    )
    if bootcluster is not None and not multiway:
        check_bootcluster_nesting(c_vals, g_vals, bootcluster, cluster, index)
    R_vector = np.zeros(X.shape[1])
    R_vector[terms.index(param)] = 1.0

    fe_cols = [str(c) for c in (getattr(design, "fe", None) or [])]
    n_fe = int(getattr(design, "n_fe", 0) or 0)
    fe_codes = None
    if fe_cols:
        fe_codes = _fe_codes_if_needed(fe_cols, data, index, c_vals, design)
    ssc_k = X.shape[1] + (n_fe if fixef_k == "full" else 0)

    core = wild_core(
        X,
        y,
        weights,
        c_list if c_list is not None else c_vals,
        g_vals,
        R_vector,
        float(r),
        B=int(B),
        weights_type=weights_type,
        impose_null=bool(impose_null),
        p_val_type=p_val_type,
        conf_int=bool(conf_int),
        alpha=float(alpha),
        seed=seed,
        ssc_k=ssc_k,
        fe_codes=fe_codes,
        tol=tol,
        maxiter=maxiter,
    )
    return BoottestResult(
        param=param,
        r=float(r),
        point_estimate=core.point_estimate,
        t_stat=core.t_stat,
        p_value=core.p_value,
        conf_int=core.conf_int,
        t_boot=core.t_boot,
        B=core.B,
        weights_type=weights_type,
        impose_null=bool(impose_null),
        p_val_type=p_val_type,
        alpha=float(alpha),
        full_enumeration=core.full_enumeration,
        n_obs=core.n_obs,
        n_clusters=core.n_clusters,
        n_bootclusters=core.n_bootclusters,
        ssc=core.ssc,
        n_invalid=core.n_invalid,
        notes=core.notes,
    )


def _fe_codes_if_needed(
    fe_cols: list[str],
    data: pd.DataFrame | None,
    index: pd.Index,
    c_vals: np.ndarray,
    design: Any = None,
) -> list[np.ndarray] | None:
    """FE level arrays for the projection term, or ``None`` when it vanishes for sure.

    The term is zero when every absorbed factor is nested in the error clusters (each FE level
    lies in one cluster); that needs the FE columns of ``data``.
    """
    if data is None and hasattr(design, "column") and getattr(design, "source", None) is not None:
        codes = [design.column(c).to_numpy() for c in fe_cols]
    elif data is None:
        raise FvdidInputError(
            f"the fit absorbs fixed effects {fe_cols}; pass the data frame it was fitted on as "
            "boottest(..., data=df) so that the bootstrap residuals can be projected on them"
        )
    else:
        missing = [c for c in fe_cols if c not in data.columns]
        if missing:
            raise FvdidInputError(f"data has no fixed-effect column(s) {missing}")
        codes = [data.loc[index, c].to_numpy() for c in fe_cols]
    c_codes, _ = group_codes(c_vals)
    nested = True
    for fc in codes:
        f_codes, _ = group_codes(fc)
        per_level = pd.Series(c_codes).groupby(f_codes).nunique()
        if (per_level > 1).any():
            nested = False
            break
    return None if nested else codes
