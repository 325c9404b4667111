"""Inference for :func:`fvdid.estimators.att_gt.att_gt` (private).

did's multiplier bootstrap (:func:`multiplier_bootstrap`, as ``did::mboot`` with
``BMisc::multiplier_bootstrap``), the standard errors and critical value from the influence
functions (:func:`_standard_errors`), the Wald pre-test of parallel trends (:func:`_wald_pretest`)
and the ATT(g,t) table (:func:`_table`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fvdid.errors import FvdidInputError
from fvdid.estimators import _drdid
from fvdid.estimators._att_gt_cells import Cell
from fvdid.estimators._att_gt_prep import _EPS, _announce, resolve_alias

_SE_FLOOR = math.sqrt(np.finfo(float).eps) * 10  # did: se <= sqrt(eps)*10 is reported as NA


def _quantile_type1(x: np.ndarray, p: float) -> float:
    """R's ``quantile(x, p, type = 1)`` (inverse empirical cdf with R's fuzz)."""
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    if n == 0:
        return float("nan")
    nppm = n * p
    j = math.floor(nppm + 4 * _EPS)
    h = 1 if nppm > j else 0
    idx = min(max(j + h, 1), n)
    return float(x[idx - 1])


def multiplier_bootstrap(
    inf: np.ndarray,
    *,
    B: int | None = None,
    alpha: float,
    rng: np.random.Generator,
    cluster: np.ndarray | None = None,
    n_boot: int | None = None,
) -> dict[str, Any]:
    """did's multiplier bootstrap: Rademacher multipliers, IQR-based SEs, sup-t critical value.

    ``inf``: ``n × K`` influence functions; ``B``: bootstrap draws (``n_boot`` is its old name,
    kept as an alias; R ``biters``); ``cluster``: integer codes per row (multipliers drawn per
    cluster on the cluster means of the influence function), or ``None`` (per row).
    Returns ``draws`` (``B × K``, NaN for degenerate columns), ``se`` (NaN for degenerate
    columns), ``crit_val`` and ``bsigma``.
    """
    n_boot = resolve_alias("B", B, "n_boot", n_boot, None)
    if n_boot is None:
        raise FvdidInputError("multiplier_bootstrap needs B= (the number of bootstrap draws)")
    inf = np.asarray(inf, dtype=float)
    if inf.ndim == 1:
        inf = inf[:, None]
    n, k = inf.shape
    if cluster is None:
        psi = inf
        m = n
    else:
        codes, cl = np.unique(cluster, return_inverse=True)
        m = codes.size
        counts = np.bincount(cl, minlength=m).astype(float)
        psi = np.zeros((m, k))
        np.add.at(psi, cl, inf)
        psi /= counts[:, None]
    finite_cols = np.all(np.isfinite(psi), axis=0)
    psi_f = np.where(np.isfinite(psi), psi, 0.0)
    draws = np.empty((n_boot, k))
    chunk = max(1, min(n_boot, int(4_000_000 // max(m, 1))))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        u = rng.integers(0, 2, size=(b, m), dtype=np.int8).astype(float) * 2.0 - 1.0
        draws[start : start + b] = (u @ psi_f) / m
    draws *= math.sqrt(m)
    draws[:, ~finite_cols] = np.nan
    ok = finite_cols & (np.nansum(draws**2, axis=0) > _SE_FLOOR)
    q = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)
    bsigma = np.full(k, np.nan)
    for j in np.flatnonzero(ok):
        col = draws[:, j]
        bsigma[j] = (_quantile_type1(col, 0.75) - _quantile_type1(col, 0.25)) / q
    se = bsigma / math.sqrt(m)
    crit = float("nan")
    if ok.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.abs(draws[:, ok] / bsigma[ok])
        t = np.where(np.isfinite(t), t, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bt = np.nanmax(t, axis=1)
        bt = bt[np.isfinite(bt)]
        crit = _quantile_type1(bt, 1 - alpha)
    return {"draws": draws, "se": se, "crit_val": crit, "bsigma": bsigma, "ok": ok, "n": m}


def _standard_errors(
    inf: np.ndarray,
    *,
    n: int,
    bootstrap: bool,
    B: int,
    alpha: float,
    cband: bool,
    seed: int | None,
    unit_cluster: np.ndarray | None,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Variance matrix ``IF'IF / n``, SEs, missing-SE flags, critical value, bootstrap draws."""
    V = inf.T @ inf / n
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(V) / n)
    se[~(se > _SE_FLOOR)] = np.nan
    zero_na = np.isnan(se)

    rng = np.random.default_rng(seed)
    crit = float(stats.norm.ppf(1 - alpha / 2))
    boot_draws = None
    if bootstrap:
        bo = multiplier_bootstrap(inf, B=B, alpha=alpha, rng=rng, cluster=unit_cluster)
        boot_draws = bo["draws"]
        se = np.where(zero_na, np.nan, bo["se"])
        se[~(se > _SE_FLOOR)] = np.nan
        if cband:
            crit = bo["crit_val"]
            if crit >= 7:
                _announce(
                    notes,
                    "simultaneous critical value is arguably too large to be reliable "
                    f"({crit:.2f}); usually small groups or little outcome variation",
                )
    return V, se, zero_na, crit, boot_draws


def _wald_pretest(
    cells: list[Cell],
    att: np.ndarray,
    V: np.ndarray,
    zero_na: np.ndarray,
    *,
    n: int,
    notes: list[str],
) -> tuple[float | None, float | None, int | None]:
    """Wald pre-test of parallel trends from the pre-treatment ATT(g,t): (W, p-value, df)."""
    gvec = np.array([c[0] for c in cells])
    tvec = np.array([c[1] for c in cells])
    pre = np.flatnonzero((gvec > tvec) & ~zero_na)
    wald_stat = wald_p = None
    wald_df = None
    if pre.size == 0:
        notes.append("no pre-treatment periods to test")
    else:
        preV = V[np.ix_(pre, pre)]
        pa = att[pre]
        if np.isnan(preV).any() or np.isnan(pa).any():
            _announce(notes, "Wald pre-test not returned: missing pre-treatment values")
        elif _drdid._rcond(preV) <= _EPS:
            _announce(notes, "Wald pre-test not returned: singular covariance matrix")
        else:
            wald_stat = float(n * pa @ np.linalg.solve(preV, pa))
            wald_df = int(pre.size)
            wald_p = float(stats.chi2.sf(wald_stat, wald_df))
    return wald_stat, wald_p, wald_df


def _table(
    cells: list[Cell], att: np.ndarray, se: np.ndarray, crit: float, post_flag: np.ndarray
) -> pd.DataFrame:
    """The ATT(g,t) table in did's order (integral groups and periods as integers)."""
    gvec = np.array([c[0] for c in cells])
    tvec = np.array([c[1] for c in cells])
    table = pd.DataFrame(
        {
            "group": gvec,
            "time": tvec,
            "att": att,
            "se": se,
            "conf_low": att - crit * se,
            "conf_high": att + crit * se,
            "post": post_flag,
        }
    )
    for col in ("group", "time"):
        if np.all(np.mod(table[col], 1) == 0):
            table[col] = table[col].astype(np.int64)
    return table
