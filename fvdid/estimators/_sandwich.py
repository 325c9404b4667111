"""Sandwich building blocks shared by the regression estimators.

The conventions follow R's ``sandwich`` package: ``vcovCL(type = "HC1", cadjust = TRUE)`` for CR1,
that is ``G/(G-1) * (n-1)/(n-k)`` times the bread-meat-bread product; ``vcovHC(type = "HC1")``
for HC1, ``n/(n-k)``; ``vcovHC(type = "HC2"/"HC3")`` rescale each score by the leverage of the
model with the fixed-effect dummies; clubSandwich's CR3 uses ``(I - H_jj)^{-1}`` per cluster;
multi-way clustering is the Cameron–Gelbach–Miller inclusion–exclusion sum of ``vcovCL``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows
from fvdid.estimators._design import sorted_codes

__all__ = [
    "FullHat",
    "cluster_codes",
    "cluster_meat",
    "cluster_score_sums",
    "cr3_meat",
    "leverage_scores",
    "multiway_meat",
    "small_sample_factor",
]


def cluster_codes(data: pd.DataFrame, cluster: str | list[str] | tuple[str, ...]) -> np.ndarray:
    """Return integer codes 0..G-1 for the cluster column(s) of ``data``.

    Raises
    ------
    FvdidInputError
        When a cluster column is missing, has missing values, or has a single level.
    """
    cols = [cluster] if isinstance(cluster, str) else list(cluster)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise FvdidInputError(f"cluster column(s) {missing} not in the data")
    for c in cols:
        na = data[c].isna()
        if na.any():
            raise FvdidInputError(
                f"cluster column {c!r} has missing values in {describe_rows(data.index[na])}"
            )
    if len(cols) == 1:
        codes, n_levels = sorted_codes(data[cols[0]])
    else:
        codes = data.groupby(cols, sort=True, observed=True).ngroup().to_numpy()
        n_levels = len(np.unique(codes))
    if n_levels < 2:
        raise FvdidInputError(
            f"cluster variable {cols} has {n_levels} level(s); at least 2 clusters are needed"
        )
    return np.asarray(codes, dtype=np.int64)


def cluster_score_sums(e: np.ndarray, X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Return the cluster sums ``s_g = sum_{i in g} e_i x_i`` (G x k) without forming the scores.

    The same numbers as summing the rows of ``e[:, None] * X`` by cluster (same products, same
    order of summation), one column at a time.
    """
    n_groups = int(codes.max()) + 1
    out = np.empty((n_groups, X.shape[1]))
    for j in range(X.shape[1]):
        out[:, j] = np.bincount(codes, weights=e * X[:, j], minlength=n_groups)
    return out


def cluster_meat(scores: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Return ``sum_g s_g s_g'`` where ``s_g`` sums the rows of ``scores`` in cluster ``g``.

    With ``codes=None`` each row is its own cluster (the heteroskedasticity-robust meat).
    """
    scores = np.asarray(scores, dtype=float)
    if codes is None:
        return scores.T @ scores
    n_groups = int(codes.max()) + 1
    summed = np.column_stack(
        [
            np.bincount(codes, weights=scores[:, j], minlength=n_groups)
            for j in range(scores.shape[1])
        ]
    )
    return summed.T @ summed


def small_sample_factor(
    kind: Literal["HC0", "HC1", "CR0", "CR1"], n: int, k: int, n_clusters: int | None = None
) -> float:
    """Return the finite-sample multiplier of the sandwich.

    ``HC1``: ``n/(n-k)``; ``CR1``: ``G/(G-1) * (n-1)/(n-k)`` (Stata / ``sandwich::vcovCL``
    with ``type = "HC1"``); ``HC0``/``CR0``: 1.
    """
    if kind in ("HC0", "CR0"):
        return 1.0
    if kind == "HC1":
        return n / (n - k)
    if kind == "CR1":
        if n_clusters is None:
            raise ValueError("CR1 needs the number of clusters")
        return n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
    raise ValueError(f"unknown small-sample kind {kind!r}")


# --------------------------------------------------------------------------------------------
# hat-matrix blocks of the full model (HC2 / HC3 / CR3) and multi-way clustering
# --------------------------------------------------------------------------------------------

# The hat blocks need a dense generalised inverse of D'WD when several fixed effects are absorbed.
HAT_MAX_FE_LEVELS = 5000


class FullHat:
    """Blocks ``H_jj = U_j (U'WU)^- U_j' W_j`` of the hat matrix of ``U = [X, D]``.

    ``Xt`` are the regressors after absorbing the fixed-effect dummies ``D`` (Frisch–Waugh–Lovell:
    ``H = P_{M_D X} + P_D``) and ``Minv = (Xt' W Xt)^{-1}``. With one absorbed factor ``P_D`` is
    closed form (``1/sum of weights`` within a level); with several, a dense generalised inverse
    of ``D'WD`` is formed (at most :data:`HAT_MAX_FE_LEVELS` levels).
    """

    def __init__(
        self, Xt: np.ndarray, w: np.ndarray, Minv: np.ndarray, fe_codes: list[np.ndarray]
    ) -> None:
        from fvdid.estimators._design import dummy_matrix, pinv_psd

        self.Xt, self.w, self.Minv = Xt, w, Minv
        self.fe_codes = fe_codes
        self.GD: np.ndarray | None = None
        self.offsets: list[int] = []
        if len(fe_codes) == 1:
            c = fe_codes[0]
            self.level_w = np.bincount(c, weights=w)
        elif len(fe_codes) > 1:
            levels = [int(c.max()) + 1 for c in fe_codes]
            if sum(levels) > HAT_MAX_FE_LEVELS:
                raise FvdidInputError(
                    f"HC2/HC3/CR3 with {sum(levels)} levels of several absorbed fixed effects is "
                    f"not supported (limit {HAT_MAX_FE_LEVELS}); use HC1/CR1 or fewer levels"
                )
            import scipy.sparse as sp

            D = dummy_matrix(fe_codes, levels, len(w))
            DtWD = (D.T @ sp.diags(w) @ D).toarray()
            self.GD, _ = pinv_psd((DtWD + DtWD.T) / 2)
            self.offsets = list(np.cumsum([0, *levels[:-1]]))

    def _fe_part(self, idx: np.ndarray) -> np.ndarray:
        m = len(idx)
        if not self.fe_codes:
            return np.zeros((m, m))
        if self.GD is None:
            c = self.fe_codes[0][idx]
            return (c[:, None] == c[None, :]) / self.level_w[c][None, :]
        cols = [off + f[idx] for off, f in zip(self.offsets, self.fe_codes)]
        out = np.zeros((m, m))
        for a in cols:
            for b in cols:
                out += self.GD[np.ix_(a, b)]
        return out

    def block(self, idx: np.ndarray) -> np.ndarray:
        """``H_jj`` for the rows ``idx`` (``len(idx) x len(idx)``)."""
        Xj = self.Xt[idx]
        return (Xj @ self.Minv @ Xj.T + self._fe_part(idx)) * self.w[idx][None, :]

    def diagonal(self) -> np.ndarray:
        """The leverages ``h_ii`` (R's ``hatvalues`` of the model with the dummies)."""
        h = np.einsum("ij,jk,ik->i", self.Xt, self.Minv, self.Xt)
        if self.fe_codes:
            if self.GD is None:
                c = self.fe_codes[0]
                h = h + 1.0 / self.level_w[c]
            else:
                cols = [off + f for off, f in zip(self.offsets, self.fe_codes)]
                for a in cols:
                    for b in cols:
                        h = h + self.GD[a, b]
        return h * self.w


def leverage_scores(
    scores: np.ndarray, hat: FullHat, kind: Literal["HC2", "HC3"]
) -> np.ndarray:
    """Scores ``w_i e_i x_i`` rescaled by ``(1-h_ii)^{-1/2}`` (HC2) or ``(1-h_ii)^{-1}`` (HC3)."""
    one_minus = 1.0 - hat.diagonal()
    if np.any(one_minus <= 1e-12):
        raise FvdidInputError(
            f"{int(np.sum(one_minus <= 1e-12))} observation(s) have leverage 1 (h_ii = 1); "
            f"{kind} is undefined for them (R's vcovHC returns NaN / Inf)"
        )
    power = 0.5 if kind == "HC2" else 1.0
    return scores / one_minus[:, None] ** power


def cr3_meat(
    X: np.ndarray, w: np.ndarray, resid: np.ndarray, hat: FullHat, codes: np.ndarray
) -> np.ndarray:
    """clubSandwich's CR3 meat ``sum_j X_j' W_j (I - H_jj)^{-1} e_j (...)'``."""
    G = int(codes.max()) + 1
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(G + 1))
    comps = np.zeros((G, X.shape[1]))
    for j in range(G):
        idx = order[bounds[j] : bounds[j + 1]]
        IH = np.eye(len(idx)) - hat.block(idx)
        if np.linalg.cond(IH) > 1e12:
            raise FvdidInputError(
                f"CR3: I - H_jj is singular for cluster {j} (e.g. a fixed effect nested in the "
                "clusters, or a cluster fitted exactly); the jackknife is undefined (R's "
                "clubSandwich stops too)"
            )
        adj = np.linalg.solve(IH, resid[idx])
        comps[j] = X[idx].T @ (w[idx] * adj)
    return comps.T @ comps


def multiway_meat(
    scores: np.ndarray,
    codes: list[np.ndarray],
    *,
    cadjust: bool,
    multi0: bool,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Cameron–Gelbach–Miller meat over every non-empty subset of the cluster dimensions.

    As ``sandwich::vcovCL(cluster = ~ a + b)``: the meat of each subset ``S`` (clusters = the
    intersection of its dimensions) enters with sign ``(-1)^(|S|+1)`` and, with ``cadjust``,
    its own factor ``G_S/(G_S-1)``; ``multi0`` replaces the last (full intersection) term by
    the heteroskedasticity-robust meat without cluster adjustment. Returns the meat (not
    divided by ``n``), the ``multi0`` term separately (sandwich applies no small-sample factor
    to it) and the number of clusters of each single dimension.
    """
    from itertools import combinations

    p = len(codes)
    n = scores.shape[0]
    total = np.zeros((scores.shape[1], scores.shape[1]))
    hc0 = np.zeros_like(total)
    for size in range(1, p + 1):
        for subset in combinations(range(p), size):
            sign = 1.0 if size % 2 == 1 else -1.0
            last = size == p
            if multi0 and last:
                hc0 += sign * cluster_meat(scores, None)
                continue
            if size == 1:
                c = codes[subset[0]]
            else:
                c = pd.MultiIndex.from_arrays([codes[i] for i in subset]).factorize()[0]
            c = np.asarray(c, dtype=np.int64)
            g = int(c.max()) + 1
            adj = g / (g - 1.0) if cadjust else 1.0
            meat = cluster_meat(scores, c) if g < n else cluster_meat(scores, None)
            total += sign * adj * meat
    return total, hc0, [int(c.max()) + 1 for c in codes]
