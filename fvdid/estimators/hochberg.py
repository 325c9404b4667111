"""Hochberg's step-up adjustment of p-values, as ``stats::p.adjust(p, method = "hochberg")``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows

__all__ = ["hochberg"]


def hochberg(pvalues: pd.Series | Mapping[object, float] | Sequence[float] | np.ndarray) -> pd.Series:
    """Hochberg-adjusted p-values, preserving labels and order.

    Parameters
    ----------
    pvalues
        A labelled ``pd.Series`` or dict (labels are kept), or an array / sequence (labels
        ``0..m-1``). R: ``p.adjust(p, method = "hochberg")``.

    Returns
    -------
    pd.Series
        ``min(1, cummin((m - i + 1) * p_(i)))`` over the p-values in decreasing order, where
        ``m`` counts the non-missing p-values. Missing values stay missing (as in R, where
        ``n = length(p[!is.na(p)])``). Ties need no special treatment: the cumulative minimum
        gives tied p-values the same adjusted value, whatever order they are visited in.

    Raises
    ------
    FvdidInputError
        When a p-value is outside [0, 1] or not numeric.
    """
    if isinstance(pvalues, pd.Series):
        s = pvalues.copy()
    elif isinstance(pvalues, Mapping):
        s = pd.Series(dict(pvalues))
    else:
        s = pd.Series(np.asarray(pvalues, dtype=float).ravel())
    try:
        p = s.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise FvdidInputError(f"p-values must be numeric: {exc}") from exc
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise FvdidInputError(
            f"p-values must lie in [0, 1]; {describe_rows(s.index[bad])} do not"
        )
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m:
        order = np.argsort(-q, kind="stable")  # decreasing, as order(p, decreasing = TRUE)
        i = np.arange(m, 0, -1)  # m, m-1, ..., 1
        adj = np.minimum(1.0, np.minimum.accumulate((m - i + 1) * q[order]))
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    return pd.Series(out, index=s.index, name="p_hochberg")
