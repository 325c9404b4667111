"""Input checks and the balanced panel of :func:`fvdid.estimators.bacon.bacon` (private)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, require_columns

NEVER_TREATED = 99999
"""Timing-group code of the never-treated units (bacondecomp's ``treat_time`` for them)."""

_MAX_LISTED = 5


@dataclass(frozen=True)
class _Panel:
    units: np.ndarray  # (N,) unit labels
    times: np.ndarray  # (T,) sorted period values
    Y: np.ndarray  # (N, T)
    D: np.ndarray  # (N, T) 0/1 floats
    X: np.ndarray  # (N, T, p)


def _pairs_text(units: Sequence[Any], times: Sequence[Any]) -> str:
    pairs = [f"({u!r}, {t!r})" for u, t in zip(units, times)]
    more = "" if len(pairs) <= _MAX_LISTED else ", ..."
    return f"{len(pairs)} unit-period(s) (unit, period): {', '.join(pairs[:_MAX_LISTED])}{more}"


def _as_python(values: np.ndarray) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _build_panel(
    data: pd.DataFrame, y: str, treatment: str, unit: str, time: str, covariates: tuple[str, ...]
) -> _Panel:
    require_columns(data, [y, treatment, unit, time, *covariates], what="data")
    cols = [y, treatment, *covariates]
    if len(set([unit, time, *cols])) != len([unit, time, *cols]):
        raise FvdidInputError(
            f"y, treatment, unit, time and covariates must be distinct columns; got "
            f"y={y!r}, treatment={treatment!r}, unit={unit!r}, time={time!r}, "
            f"covariates={list(covariates)!r}"
        )

    # Missing values: name the units and periods.
    for col in [unit, time, *cols]:
        miss = data[col].isna().to_numpy()
        if miss.any():
            rows = data.loc[miss]
            raise FvdidInputError(
                f"column {col!r} has missing values in {_pairs_text(_as_python(rows[unit].to_numpy()), _as_python(rows[time].to_numpy()))}; "
                "bacon() needs a complete balanced panel (bacondecomp stops with 'NA observations')"
            )

    tcol = data[time]
    if not pd.api.types.is_numeric_dtype(tcol) or pd.api.types.is_bool_dtype(tcol):
        raise FvdidInputError(
            f"column {time!r} (time) must be numeric (e.g. year or quarter index) so that "
            f"treatment timing is ordered; got dtype {tcol.dtype}"
        )
    if np.any(tcol.to_numpy(dtype=float) == NEVER_TREATED):
        raise FvdidInputError(
            f"column {time!r} (time) holds the value {NEVER_TREATED}, the code of the never-treated "
            "group; recode the periods (e.g. 1, 2, ...)"
        )
    for col in [y, *covariates]:
        s = data[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            raise FvdidInputError(
                f"column {col!r} must be numeric; got dtype {s.dtype} "
                "(code categorical covariates as 0/1 columns)"
            )
        bad = ~np.isfinite(s.to_numpy(dtype=float))
        if bad.any():
            rows = data.loc[bad]
            raise FvdidInputError(
                f"column {col!r} has non-finite values in "
                f"{_pairs_text(_as_python(rows[unit].to_numpy()), _as_python(rows[time].to_numpy()))}"
            )

    d = data[treatment]
    if pd.api.types.is_bool_dtype(d):
        dvals = d.to_numpy(dtype=float)
    else:
        ok = d.isin([0, 1]).to_numpy()
        if not ok.all():
            rows = data.loc[~ok]
            vals = sorted({repr(v) for v in rows[treatment].tolist()})[:_MAX_LISTED]
            raise FvdidInputError(
                f"column {treatment!r} (treatment) must be 0/1; it holds {', '.join(vals)} in "
                f"{_pairs_text(_as_python(rows[unit].to_numpy()), _as_python(rows[time].to_numpy()))}"
            )
        dvals = d.to_numpy(dtype=float)

    units, ui = np.unique(data[unit].to_numpy(), return_inverse=True)
    times, ti = np.unique(tcol.to_numpy(), return_inverse=True)
    n, t_n = len(units), len(times)
    cell = ui * t_n + ti
    counts = np.bincount(cell, minlength=n * t_n)
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)
        raise FvdidInputError(
            f"the panel has duplicate rows for {_pairs_text(_as_python(units[dup // t_n]), _as_python(times[dup % t_n]))}; "
            f"bacon() needs one row per {unit!r} and {time!r}"
        )
    if (counts == 0).any():
        gap = np.flatnonzero(counts == 0)
        bad_units = np.unique(gap // t_n)
        raise FvdidInputError(
            f"unbalanced panel: {len(bad_units)} unit(s) of {unit!r} lack periods of {time!r}: "
            f"{_pairs_text(_as_python(units[gap // t_n]), _as_python(times[gap % t_n]))} are missing "
            "(bacondecomp stops with 'Unbalanced Panel')"
        )

    order = np.argsort(cell, kind="stable")
    Y = data[y].to_numpy(dtype=float)[order].reshape(n, t_n)
    D = dvals[order].reshape(n, t_n)
    X = np.empty((n, t_n, len(covariates)))
    for j, c in enumerate(covariates):
        X[:, :, j] = data[c].to_numpy(dtype=float)[order].reshape(n, t_n)

    off = np.argwhere(np.diff(D, axis=1) < 0)
    if off.size:
        raise FvdidInputError(
            f"treatment {treatment!r} switches off (1 then 0) in "
            f"{_pairs_text(_as_python(units[off[:, 0]]), _as_python(times[off[:, 1] + 1]))}; "
            "the decomposition needs a treatment that stays on once it starts "
            "(bacondecomp: 'Treatment not weakly increasing with time')"
        )
    return _Panel(units=units, times=times, Y=Y, D=D, X=X)
