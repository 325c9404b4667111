"""Sandwich building blocks shared by the regression estimators.

The conventions follow R's ``sandwich`` package: ``vcovCL(type = "HC1", cadjust = TRUE)`` for CR1,
that is ``G/(G-1) * (n-1)/(n-k)`` times the bread-meat-bread product; ``vcovHC(type = "HC1")``
for HC1, ``n/(n-k)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows

__all__ = ["cluster_codes", "cluster_meat", "small_sample_factor"]


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
        codes, uniques = pd.factorize(data[cols[0]], sort=True)
    else:
        codes = data.groupby(cols, sort=True, observed=True).ngroup().to_numpy()
        uniques = np.unique(codes)
    if len(uniques) < 2:
        raise FvdidInputError(
            f"cluster variable {cols} has {len(uniques)} level(s); at least 2 clusters are needed"
        )
    return np.asarray(codes, dtype=np.int64)


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
