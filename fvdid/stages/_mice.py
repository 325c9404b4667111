"""Multiple imputation by chained equations (MICE; van Buuren & Groothuis-Oudshoorn 2011).

Each incomplete column is imputed in turn from a model of it on every predictor column and on
the current values of the other incomplete columns; ``maxit`` sweeps make one chain, and the
``m`` imputations are ``m`` independent chains (each with its own child seed of ``seed``), as
``mice::mice``.

* Numeric columns (binary 0/1, counts, continuous): predictive mean matching (Rubin 1986; Little
  1988) with a *proper* draw of the model (van Buuren 2018, algorithm 3.3): the linear model is
  fitted on the rows where the column is observed, ``sigma*^2 = RSS / chi^2_{n - p}`` and
  ``beta* = beta_hat + sigma* L z`` with ``L L' = (X'X + ridge)^{-1}``; each missing value
  takes the observed value of one of the ``donors`` observed rows (chosen at random) whose
  prediction under ``beta_hat`` is closest to its own prediction under ``beta*`` (type-1
  matching). PMM imputes only values that occur, so 0/1 columns stay 0/1.
* Unordered categorical columns (``K`` levels): multivariate PMM (Little 1988): the ``K - 1``
  level dummies are regressed jointly on the predictors (``Sigma* ~ inverse Wishart``, ``B*``
  drawn given it), and each missing value takes the level of one of the ``donors`` observed rows
  nearest in Mahalanobis distance between predicted dummy vectors. Matching on the whole vector
  keeps non-monotone relations (a middle level most frequent at middling outcomes), which a
  sequence of binary steps on a linear index would lose.

Speed: the rows with no missing value in any imputed column never change, so their cross
product ``Z_C' Z_C`` is computed once; each fit only adds
the cross product of the rows that carry a missing value. Predictors are centred and scaled, and
``ridge`` (as mice's ``ridge = 1e-5``, relative to the diagonal) keeps collinear dummies (LA
dummies and ``treated_la``) solvable without changing predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import cKDTree

from fvdid._blas import single_threaded_blas
from fvdid.errors import FvdidInputError, describe_rows

__all__ = ["impute_mice"]


@dataclass
class _Target:
    name: str
    cols: np.ndarray  # indices of its design columns
    missing: np.ndarray  # bool over the R rows
    categorical: bool
    values_obs: np.ndarray  # numeric: values at R rows (nan where missing); categorical: codes (-1)
    levels: np.ndarray  # categorical levels in code order (most frequent first); numeric: empty
    c_values: np.ndarray  # numeric: values at C rows; categorical: codes at C rows
    scale: tuple[np.ndarray, np.ndarray]  # centre and scale of its design columns


def _encode(s: pd.Series, categorical: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(design columns before scaling, codes or values, levels)."""
    if categorical:
        counts = s.value_counts(dropna=True)
        counts = counts[counts > 0]
        # most frequent level first; ties by label, so the coding does not depend on row order
        levels = np.array(sorted(counts.index, key=lambda v: (-int(counts[v]), str(v))), dtype=object)
        codes = pd.Categorical(s, categories=levels).codes.astype(np.int64)
        k = len(levels)
        dummies = np.zeros((len(s), max(k - 1, 0)))
        ok = (codes >= 0) & (codes < k - 1)
        dummies[np.flatnonzero(ok), codes[ok]] = 1.0
        return dummies, codes, levels
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return vals[:, None], vals, np.array([], dtype=object)


def _centre_scale(block: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = block[observed]
    c = b.mean(axis=0) if len(b) else np.zeros(block.shape[1])
    s = b.std(axis=0) if len(b) else np.ones(block.shape[1])
    s = np.where(s > 0, s, 1.0)
    return c, s


def _pmm(yhat_don: np.ndarray, y_don: np.ndarray, yhat_rec: np.ndarray, k: int,
         rng: np.random.Generator) -> np.ndarray:
    """For each recipient, the value of one of the ``k`` donors with the closest prediction."""
    order = np.argsort(yhat_don)
    s = yhat_don[order]
    nd = len(s)
    k = max(1, min(k, nd))
    width = min(2 * k, nd)
    pos = np.searchsorted(s, yhat_rec)
    lo = np.clip(pos - k, 0, nd - width)
    idx = lo[:, None] + np.arange(width)[None, :]
    dist = np.abs(s[idx] - yhat_rec[:, None])
    near = np.argpartition(dist, k - 1, axis=1)[:, :k] if width > k else np.argsort(dist, axis=1)[:, :k]
    pick = near[np.arange(len(yhat_rec)), rng.integers(0, k, len(yhat_rec))]
    return y_don[order[idx[np.arange(len(yhat_rec)), pick]]]


def _put(t: _Target, cur: dict[str, np.ndarray], Z_R: np.ndarray, values: np.ndarray,
         rows: np.ndarray) -> None:
    """Store a target's new values at R rows ``rows`` and refresh its design columns."""
    cur[t.name][rows] = values
    cen, sc = t.scale
    if t.categorical:
        d = np.zeros((len(rows), len(t.cols)))
        ok = values < len(t.levels) - 1
        d[np.flatnonzero(ok), values[ok].astype(np.int64)] = 1.0
    else:
        d = values[:, None]
    Z_R[np.ix_(rows, t.cols)] = (d - cen) / sc


def _draw(gram: np.ndarray, sub: np.ndarray, yc: np.ndarray, n_obs: int, ridge: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B_hat, B*, whitening) of the linear model of columns ``yc`` on columns ``sub``.

    Bayesian multivariate regression: ``Sigma* ~ inverse Wishart(n - p, E)`` with ``E`` the
    residual cross product, ``B* = B_hat + L Z chol(Sigma*)'``; with one response this is
    ``sigma*^2 = RSS / chi^2_{n-p}``. ``whitening`` maps predictions to Mahalanobis distance.
    """
    xtx = gram[np.ix_(sub, sub)]
    xty = gram[np.ix_(sub, yc)]
    xtx_r = xtx + np.diag(np.diag(xtx) * ridge + 1e-12)
    v = np.linalg.inv(xtx_r)
    v = (v + v.T) / 2
    b = v @ xty
    e = gram[np.ix_(yc, yc)] - b.T @ xty - xty.T @ b + b.T @ xtx @ b
    q = len(yc)
    e = (e + e.T) / 2 + np.eye(q) * 1e-10 * max(float(np.trace(e)), 1e-12)
    df = max(n_obs - len(sub), q)
    w = stats.wishart(df=df, scale=np.linalg.inv(e)).rvs(random_state=rng)
    sigma_star = np.linalg.inv(np.atleast_2d(w))
    try:
        chol = np.linalg.cholesky(v)
    except np.linalg.LinAlgError:
        ev, qv = np.linalg.eigh(v)
        chol = qv * np.sqrt(np.clip(ev, 0, None))
    b_star = b + chol @ rng.standard_normal((len(sub), q)) @ np.linalg.cholesky(sigma_star).T
    whiten = np.linalg.cholesky(np.linalg.inv(e / df))
    return b, b_star, whiten


def _pmm_multi(yhat_don: np.ndarray, y_don: np.ndarray, yhat_rec: np.ndarray, k: int,
               rng: np.random.Generator) -> np.ndarray:
    """Multivariate PMM (Little 1988): one of the ``k`` donors nearest in (whitened) prediction."""
    k = max(1, min(k, len(yhat_don)))
    tree = cKDTree(yhat_don, balanced_tree=False, compact_nodes=False, leafsize=32)
    _, idx = tree.query(yhat_rec, k=k)
    idx = np.asarray(idx).reshape(len(yhat_rec), k)
    return y_don[idx[np.arange(len(yhat_rec)), rng.integers(0, k, len(yhat_rec))]]


def impute_mice(
    data: pd.DataFrame,
    columns: Sequence[str],
    predictors: Sequence[str],
    *,
    categorical: Sequence[str] = (),
    m: int = 5,
    maxit: int = 10,
    seed: int = 0,
    donors: int = 5,
    ridge: float = 1e-5,
) -> list[pd.DataFrame]:
    """Return ``m`` completed copies of ``data`` imputed by chained equations.

    Parameters
    ----------
    data
        The analytic sample.
    columns
        Incomplete columns to impute (each needs at least one observed value).
    predictors
        Complete columns used as predictors of every imputed column (the outcome, the treatment
        indicators, the period, complete covariates); the imputed columns predict each other.
    categorical
        Columns (imputed or predictors) treated as unordered categorical (dummy-coded); other
        non-numeric columns are categorical too.
    m, maxit
        Number of imputations (independent chains) and of sweeps per chain (R: ``mice(m, maxit)``).
    seed
        Seed; chain ``l`` uses child ``l`` of ``numpy.random.SeedSequence(seed)``.
    donors
        Donor pool of predictive mean matching (R: ``mice(donors = 5)``).
    ridge
        Ridge added to the diagonal of ``X'X``, relative to it (R: ``mice(ridge = 1e-5)``).

    Notes
    -----
    The linear algebra runs with OpenBLAS on one thread (:func:`fvdid._blas.single_threaded_blas`):
    a product split over several threads can differ in its last bits, and predictive mean
    matching turns such differences into other donors, so the imputations (and every number
    downstream) would depend on the machine's thread count. On one thread they do not: a run
    and a Monte Carlo replication (whose workers run one thread) of the same seed agree.
    """
    with single_threaded_blas():
        return _impute_mice(data, columns, predictors, categorical=categorical, m=m, maxit=maxit,
                            seed=seed, donors=donors, ridge=ridge)


def _impute_mice(data: pd.DataFrame, columns: Sequence[str], predictors: Sequence[str], *,
                 categorical: Sequence[str], m: int, maxit: int, seed: int, donors: int,
                 ridge: float) -> list[pd.DataFrame]:
    """:func:`impute_mice` (BLAS threads already set)."""
    n = len(data)
    cat = set(categorical)

    def is_cat(c: str) -> bool:
        s = data[c]
        return c in cat or not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))

    blocks: list[np.ndarray] = [np.ones((n, 1))]
    for c in predictors:
        s = data[c]
        if s.isna().any():
            bad = data.index[s.isna().to_numpy()]
            raise FvdidInputError(
                f"imputation predictor {c!r} is missing in rows {describe_rows(bad)}; "
                "predictors of the imputation model must be complete"
            )
        block, _, _ = _encode(s, is_cat(c))
        keep = block.std(axis=0) > 0  # a constant predictor carries no information
        block = block[:, keep]
        if block.shape[1]:
            cen, sc = _centre_scale(block, np.ones(n, bool))
            blocks.append((block - cen) / sc)
    miss_any = np.zeros(n, bool)
    raw: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = {}
    for c in columns:
        s = data[c]
        obs = s.notna().to_numpy()
        if not obs.any():
            raise FvdidInputError(f"column {c!r} has no observed value to impute from")
        miss_any |= ~obs
        raw[c] = (*_encode(s, is_cat(c)), is_cat(c))
    R = np.flatnonzero(miss_any)
    C = np.flatnonzero(~miss_any)
    start = sum(b.shape[1] for b in blocks)
    targets: list[_Target] = []
    for c in columns:
        block, vals, levels, iscat = raw[c]
        obs = data[c].notna().to_numpy()
        cen, sc = _centre_scale(block, obs)
        blocks.append(np.where(obs[:, None], (block - cen) / sc, 0.0))
        cols = np.arange(start, start + block.shape[1])
        start += block.shape[1]
        targets.append(_Target(c, cols, ~obs[R], iscat, vals[R], levels, vals[C], (cen, sc)))
    Z = np.hstack(blocks)
    Z_C = Z[C]
    Z_R0 = Z[R]
    zc_gram = Z_C.T @ Z_C  # rows without any missing value: the same in every fit

    out: list[pd.DataFrame] = []
    for child in np.random.SeedSequence(seed).spawn(m):
        rng = np.random.default_rng(child)
        Z_R = Z_R0.copy()
        cur: dict[str, np.ndarray] = {}

        for t in targets:  # start: random draws from the observed values (as mice)
            cur[t.name] = t.values_obs.copy()
            pool = np.concatenate([t.c_values, t.values_obs[~t.missing]])
            rows = np.flatnonzero(t.missing)
            _put(t, cur, Z_R, pool[rng.integers(0, len(pool), len(rows))], rows)
        for _ in range(maxit):
            for t in targets:
                if len(t.cols) == 0:  # a single observed level: the start already imputed it
                    continue
                sub = np.setdiff1d(np.arange(Z.shape[1]), t.cols)
                rec = np.flatnonzero(t.missing)
                don_r = ~t.missing
                a = Z_R[don_r]
                gram = zc_gram + a.T @ a
                n_obs = len(C) + int(don_r.sum())
                b_hat, b_star, whiten = _draw(gram, sub, t.cols, n_obs, ridge, rng)
                full_hat = np.zeros((Z.shape[1], len(t.cols)))
                full_hat[sub] = b_hat
                yhat_don = np.vstack([Z_C @ full_hat, a @ full_hat])
                y_don = np.concatenate([t.c_values, t.values_obs[don_r]])
                yhat_rec = Z_R[np.ix_(rec, sub)] @ b_star
                if yhat_don.shape[1] == 1:
                    new = _pmm(yhat_don[:, 0], y_don, yhat_rec[:, 0], donors, rng)
                else:
                    new = _pmm_multi(yhat_don @ whiten, y_don, yhat_rec @ whiten, donors, rng)
                _put(t, cur, Z_R, new.astype(np.int64) if t.categorical else new, rec)
        d = data.copy()
        for t in targets:
            col = d[t.name].to_numpy(copy=True)
            rows = R[t.missing]
            vals = cur[t.name][t.missing]
            col[rows] = t.levels[vals.astype(np.int64)] if t.categorical else vals
            d[t.name] = pd.Series(col, index=d.index).astype(data[t.name].dtype) \
                if isinstance(data[t.name].dtype, pd.CategoricalDtype) else col
        out.append(d)
    return out
