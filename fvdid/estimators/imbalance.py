"""Multivariate L1 imbalance (Iacus, King and Porro 2011), as R's ``cem::L1.meas`` computes it.

The covariates are coarsened into cells (numeric columns cut at ``breaks``, other columns taken
as they are, a missing value being a level of its own); ``f`` and ``g`` are the (weighted)
relative frequencies of the treated and the control units over the cells, and

    L1 = (1/2) * sum over cells |f - g|,

0 for identical distributions, 1 for disjoint ones. ``lcs`` ("local common support") is the
percentage (0–100, the scale ``cem`` prints) of the non-empty cells that hold both groups.

Conventions of ``cem`` 1.1.31 that fvdid follows:

* Default breaks (``breaks=None``): for each numeric column ``pretty(range(x), n =
  nclass.scott(x), min.n = 1)`` on the non-missing values of the *whole* data (zero-weight rows
  included); the cells are right-closed with the lowest break included.
* With ``breaks`` given, a numeric column that it does not list is cut with Sturges' rule (this
  is what ``cem`` does, not Scott's rule). A value may be a list of cutpoints, a count or a rule
  name, as in :func:`fvdid.cem`.
* Units with weight ``<= 0`` are left out (``cem``'s ``weights <= 0``); ``n_dropped`` counts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, check_binary, describe_rows, require_columns
from fvdid.estimators._cem_coarsen import (
    as_float,
    check_options,
    coarsen,
    combine,
    is_numeric,
    nclass_scott,
    r_pretty,
)

__all__ = ["ImbalanceResult", "default_l1_breaks", "l1_imbalance"]


@dataclass(frozen=True)
class ImbalanceResult(ResultMixin):
    """Result of :func:`l1_imbalance`.

    Attributes
    ----------
    l1 : float
        Multivariate L1 distance in [0, 1] (R ``L1.meas(...)$L1``).
    lcs : float
        Percentage of non-empty cells holding both groups, 0–100 (R ``$LCS``).
    breaks : dict
        Column -> cutpoints used (``None`` for columns taken as they are).
    n_cells, n_cells_common : int
        Non-empty cells, and those holding both groups.
    n_used, n_dropped : int
        Units used, and units left out because their weight is ``<= 0``.
    """

    l1: float
    lcs: float
    breaks: dict[str, list[float] | None]
    n_cells: int
    n_cells_common: int
    n_used: int
    n_dropped: int
    covariates: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def params(self) -> pd.Series:
        return pd.Series({"L1": self.l1, "LCS": self.lcs})

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "statistic": ["L1", "LCS", "n_cells", "n_cells_common", "n_used", "n_dropped"],
                "value": [
                    self.l1,
                    self.lcs,
                    float(self.n_cells),
                    float(self.n_cells_common),
                    float(self.n_used),
                    float(self.n_dropped),
                ],
            }
        )


def default_l1_breaks(data: pd.DataFrame, covariates: Sequence[str]) -> dict[str, list[float]]:
    """``cem``'s default L1 cutpoints: Scott's number of classes made ``pretty``."""
    out: dict[str, list[float]] = {}
    for col in covariates:
        s = data[col]
        if not is_numeric(s):
            continue
        x = as_float(s)
        x = x[~np.isnan(x)]
        if x.size == 0:
            raise FvdidInputError(
                f"covariate {col!r} is missing in all {len(s)} rows; expected at least one value"
            )
        out[col] = [float(b) for b in r_pretty(float(x.min()), float(x.max()), nclass_scott(x), 1)]
    return out


def l1_imbalance(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    breaks: Mapping[str, Any] | None = None,
    grouping: Mapping[str, Sequence[Sequence[Any]]] | None = None,
) -> ImbalanceResult:
    """Multivariate L1 imbalance between the treated and control units (R ``cem::L1.meas``).

    Parameters
    ----------
    data : pd.DataFrame
        One row per unit (R ``data``).
    treatment : str
        Binary 0/1 column (R ``group``).
    covariates : list of str
        Columns over which the joint distributions are compared (R: the columns of ``data``).
    weights : array-like, optional
        Unit weights, e.g. CEM weights (R ``weights``); units with weight ``<= 0`` are left out.
        Aligned by position, or by index when a Series.
    breaks : dict, optional
        Column -> cutpoints (list, count or rule name) (R ``breaks``); default Scott + ``pretty``.
    grouping : dict, optional
        Column -> list of lists of values merged into one level (R ``grouping``).
    """
    require_columns(data, [treatment])
    g = check_binary(data, treatment)
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise FvdidInputError("no covariates given; expected at least one column")
    require_columns(data, covariates)
    check_options(data, treatment, covariates, breaks, grouping)
    n = len(data)
    if weights is None:
        w = np.ones(n)
    else:
        if isinstance(weights, pd.Series):
            if not weights.index.equals(data.index):
                weights = weights.reindex(data.index)
            w = weights.to_numpy(dtype=float, na_value=np.nan)
        else:
            w = np.asarray(weights, dtype=float)
        if w.shape != (n,):
            raise FvdidInputError(f"weights must hold one value per row ({n}); got shape {w.shape}")
        bad = ~np.isfinite(w)
        if bad.any():
            raise FvdidInputError(
                f"weights must be finite numbers; {describe_rows(data.index[bad])} are missing "
                "or infinite"
            )
    notes: list[str] = []
    used_breaks: Mapping[str, Any] | None = breaks
    if breaks is None:
        used_breaks = default_l1_breaks(data, covariates)
    keep = w > 0
    sub = data.loc[keep] if not keep.all() else data
    gk, wk = g[keep], w[keep]
    for lev in (0, 1):
        if not (gk == lev).any():
            raise FvdidInputError(
                f"column {treatment!r} has no unit with value {lev} and positive weight; "
                "expected both groups"
            )
    codes, used = coarsen(sub, covariates, used_breaks, grouping, notes, what="breaks")
    cells = combine(codes, len(sub))
    n_cells = int(cells.max()) + 1
    present = np.bincount(cells * 2 + gk, minlength=2 * n_cells).reshape(n_cells, 2) > 0
    common = int(present.all(axis=1).sum())
    wn = wk / np.array([wk[gk == 0].sum(), wk[gk == 1].sum()])[gk]
    f = np.bincount(cells * 2 + gk, weights=wn, minlength=2 * n_cells).reshape(n_cells, 2)
    l1 = float(np.abs(f[:, 1] - f[:, 0]).sum() / 2)
    return ImbalanceResult(
        l1=l1,
        lcs=100.0 * common / n_cells,
        breaks=used,
        n_cells=n_cells,
        n_cells_common=common,
        n_used=int(keep.sum()),
        n_dropped=int((~keep).sum()),
        covariates=tuple(covariates),
        notes=tuple(notes),
    )
