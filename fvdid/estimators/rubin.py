"""Rubin's rules for pooling multiply imputed fits, as ``mice::pool`` (rule "rubin1987").

Per term: ``qbar = mean(Q_l)``, ``ubar = mean(U_l)`` with ``U_l`` the squared standard error of
fit ``l``, ``b = var(Q_l)`` (denominator ``m - 1``), ``t = ubar + (1 + 1/m) b``,
``riv = (1 + 1/m) b / ubar``, ``lambda = (1 + 1/m) b / t``, the Barnard–Rubin degrees of
freedom ``df = dfold * dfobs / (dfold + dfobs)`` with ``dfold = (m - 1) / lambda^2`` (lambda
floored at 1e-4), ``dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lambda)``, and
``fmi = (riv + 2 / (df + 3)) / (riv + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fvdid._results import ResultMixin, coef_table, t_intervals
from fvdid.errors import FvdidInputError

__all__ = ["RubinResult", "rubin"]


@dataclass(frozen=True, eq=False)
class RubinResult(ResultMixin):
    """Pooled estimates; every Series is indexed by term (as the columns of ``mice::pool``)."""

    params: pd.Series  # qbar
    std_errors: pd.Series  # sqrt(t)
    tstats: pd.Series
    pvalues: pd.Series
    ubar: pd.Series
    b: pd.Series
    t: pd.Series
    riv: pd.Series
    lambda_: pd.Series  # mice's "lambda"
    fmi: pd.Series
    df: pd.Series
    dfcom: float
    m: int
    alpha: float
    notes: tuple[str, ...]

    @property
    def qbar(self) -> pd.Series:
        """The pooled estimate (alias of ``params``)."""
        return self.params

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """``qbar ± t_{1-alpha/2, df} * sqrt(t)`` (as ``summary(pool(...), conf.int = TRUE)``)."""
        return t_intervals(self.params, self.std_errors, self.df, self.alpha if alpha is None else alpha)

    def tidy(self) -> pd.DataFrame:
        return coef_table(
            self.params, self.std_errors, self.tstats, self.pvalues, self.conf_int(),
            df=self.df, ubar=self.ubar, b=self.b, t=self.t, riv=self.riv,
            **{"lambda": self.lambda_}, fmi=self.fmi,
        )


def _barnard_rubin(m: int, b: np.ndarray, t: np.ndarray, dfcom: float) -> np.ndarray:
    lam = (1 + 1 / m) * b / t
    lam = np.where(lam < 1e-4, 1e-4, lam)
    dfold = (m - 1) / lam**2
    if math.isinf(dfcom):
        return dfold
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return dfold * dfobs / (dfold + dfobs)


def _as_variances(v: Any, index: pd.Index) -> pd.Series:
    if isinstance(v, pd.DataFrame):
        return pd.Series(np.diag(v.loc[index, index].to_numpy(dtype=float)), index=index)
    if isinstance(v, pd.Series):
        return v.loc[index].astype(float)
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 2:
        arr = np.diag(arr)
    if arr.shape != (len(index),):
        raise FvdidInputError(
            f"vcov of shape {np.shape(v)} does not match {len(index)} estimates"
        )
    return pd.Series(arr, index=index)


def _check_terms(q: pd.Series, Q: list[pd.Series], i: int) -> None:
    if Q and list(q.index) != list(Q[0].index):
        raise FvdidInputError(
            f"fit {i} has terms {list(q.index)}, fit 0 has {list(Q[0].index)}; "
            "every imputed fit must estimate the same terms"
        )


def rubin(
    fits_or_estimates: Sequence[Any],
    *,
    dfcom: float | None = None,
    alpha: float = 0.05,
) -> RubinResult:
    """Pool ``m`` fits on multiply imputed data by Rubin's rules, as ``mice::pool``.

    Parameters
    ----------
    fits_or_estimates
        Either fitted results with ``params`` and ``std_errors`` (e.g. :class:`fvdid.ols.OLSResult`;
        their ``df_resid`` gives ``dfcom``), or ``(params, vcov)`` pairs where ``params`` is a
        labelled Series (or array) and ``vcov`` a covariance DataFrame / 2-D array (its
        diagonal is used, as mice uses squared standard errors) or a Series of variances.
        R: ``mice::pool(as.mira(list_of_fits))``.
    dfcom
        Complete-data degrees of freedom (R: ``pool(dfcom = )``). Default: ``df_resid`` of the
        first fit (mice takes ``df.residual`` of the first model); for ``(params, vcov)``
        pairs without ``dfcom``, infinity (mice then warns "Infinite sample size assumed").
    alpha
        Level of the intervals in ``tidy()``. R: ``summary(pool(fit), conf.int = TRUE,
        conf.level = 1 - alpha)``.

    Notes
    -----
    The standard errors of each fit are used as given: ``mice::pool`` on ``lm`` fits uses the
    iid ones, so fit with ``vcov="iid"`` to reproduce it.
    """
    items = list(fits_or_estimates)
    m = len(items)
    if m < 2:
        raise FvdidInputError(f"Rubin's rules need at least 2 imputed fits; got {m}")
    notes: list[str] = []
    Q: list[pd.Series] = []
    U: list[pd.Series] = []
    first_df: float | None = None
    for i, it in enumerate(items):
        if hasattr(it, "params") and hasattr(it, "std_errors"):
            q = pd.Series(it.params, dtype=float)
            u = pd.Series(it.std_errors, dtype=float) ** 2
            if i == 0 and hasattr(it, "df_resid"):
                first_df = float(it.df_resid)
        elif isinstance(it, (tuple, list)) and len(it) == 2:
            params, vc = it
            if isinstance(params, (pd.Series, Mapping)):
                q = pd.Series(params, dtype=float)
            else:
                arr = np.asarray(params, dtype=float).ravel()
                q = pd.Series(arr, index=pd.RangeIndex(len(arr)).astype(str))
            _check_terms(q, Q, i)
            u = _as_variances(vc, q.index)
        else:
            raise FvdidInputError(
                f"item {i} is neither a fitted result (params, std_errors) nor a (params, vcov) pair"
            )
        _check_terms(q, Q, i)
        Q.append(q)
        U.append(u)
    if dfcom is None:
        if first_df is None:
            dfcom = math.inf
            notes.append("complete-data df unknown: infinite sample size assumed (as mice)")
        else:
            dfcom = first_df
    else:
        dfcom = max(float(dfcom), 1.0)
    idx = Q[0].index
    Qm = np.column_stack([q.to_numpy() for q in Q])
    Um = np.column_stack([u.to_numpy() for u in U])
    qbar = Qm.mean(axis=1)
    ubar = Um.mean(axis=1)
    b = Qm.var(axis=1, ddof=1)
    t = ubar + (1 + 1 / m) * b
    df = _barnard_rubin(m, b, t, dfcom)
    riv = (1 + 1 / m) * b / ubar
    lam = (1 + 1 / m) * b / t
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    se = np.sqrt(t)
    tst = qbar / se
    p = 2 * stats.t.sf(np.abs(tst), df)

    def S(x: np.ndarray, name: str) -> pd.Series:
        return pd.Series(x, index=pd.Index(idx, name="term"), name=name)

    return RubinResult(
        params=S(qbar, "estimate"),
        std_errors=S(se, "std_error"),
        tstats=S(tst, "statistic"),
        pvalues=S(p, "p_value"),
        ubar=S(ubar, "ubar"),
        b=S(b, "b"),
        t=S(t, "t"),
        riv=S(riv, "riv"),
        lambda_=S(lam, "lambda"),
        fmi=S(fmi, "fmi"),
        df=S(df, "df"),
        dfcom=float(dfcom),
        m=m,
        alpha=alpha,
        notes=tuple(notes),
    )
