"""Input handling and standardisation for :mod:`fvdid.estimators.match_las` (private).

Validates the long LA × quarter panel, converts quarters and go-live dates, and builds the
z-scored matching data (:func:`standardised_changes`) that :func:`~fvdid.match_las`,
:func:`~fvdid.placebo_tests` and :func:`~fvdid.trend_plot` share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows, require_columns

__all__ = ["FV_FLAG_COLUMNS", "standardised_changes"]

#: Boolean columns of ``la_quarter`` that mark an LA as a Family Valued LA (any True row).
FV_FLAG_COLUMNS: tuple[str, ...] = ("treated", "fv", "fv_la", "trailblazer")


def _quarter_freq(data: pd.DataFrame, time: str) -> tuple[pd.Series, Any]:
    """Return the time column as quarterly Periods and the frequency string."""
    s = data[time]
    if isinstance(s.dtype, pd.PeriodDtype):
        if not s.dtype.name.startswith("period[Q"):
            raise FvdidInputError(
                f"column {time!r} must hold quarterly pandas Periods (freq 'Q'); it holds "
                f"{s.dtype.name}"
            )
        return s, s.dtype.freq
    try:
        conv = pd.Series(pd.PeriodIndex(s.astype(str), freq="Q"), index=s.index)
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(
            f"column {time!r} must hold quarterly pandas Periods (or strings such as '2021Q3'); "
            f"conversion failed: {exc}"
        ) from exc
    return conv, conv.dtype.freq


def _to_quarter(value: object, freq: Any, la: str) -> pd.Period:
    """Convert a go-live date (Period of any frequency, 'YYYYQn' / date string, date) to a quarter."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        raise FvdidInputError(f"go_live for treatment LA {la!r} is missing; expected a quarter")
    try:
        if isinstance(value, pd.Period):
            return pd.Period(value.start_time, freq=freq)
        if isinstance(value, str):
            return pd.Period(value.strip(), freq=freq)
        return pd.Period(pd.Timestamp(value), freq=freq)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(
            f"go_live for treatment LA {la!r} is {value!r}; expected a pandas Period ('Q' or "
            f"'M'), a date, or a string such as '2021Q3'"
        ) from exc


def _as_str_set(values: Iterable[object] | str | None, what: str) -> set[str]:
    if values is None:
        return set()
    if isinstance(values, str):
        return {values}
    try:
        return {str(v) for v in values}
    except TypeError as exc:
        raise FvdidInputError(f"{what} must be an iterable of LA codes, got {values!r}") from exc


def _flag_las(data: pd.DataFrame, unit: str, column: str) -> set[str]:
    """LAs with any True value of the boolean flag ``column`` (missing counts as False)."""
    s = data[column]
    if s.dtype != bool:
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & ~num.isin([0, 1])
        if bad.any():
            raise FvdidInputError(
                f"column {column!r} of la_quarter must be boolean (or 0/1); "
                f"{describe_rows(s.index[bad])} hold {sorted({repr(v) for v in s[bad]})[:5]}"
            )
        s = num.fillna(0).astype(bool)
    return set(data.loc[s.to_numpy(), unit].astype(str))


def _prepare(
    la_quarter: pd.DataFrame, outcomes: Sequence[str], unit: str, time: str
) -> tuple[pd.DataFrame, Any]:
    """Validate the long panel; return a copy with ``unit`` as str and ``time`` as quarters."""
    require_columns(la_quarter, [unit, time, *outcomes], what="la_quarter")
    keep = [unit, time, *outcomes]
    keep += [c for c in (*FV_FLAG_COLUMNS, "partners_in_practice")
             if c in la_quarter.columns and c not in keep]
    data = la_quarter.loc[:, keep].copy()
    if data[unit].isna().any():
        rows = data.index[data[unit].isna()]
        raise FvdidInputError(f"column {unit!r} of la_quarter is missing in {describe_rows(rows)}")
    data[unit] = data[unit].astype(str)
    data[time], freq = _quarter_freq(data, time)
    if data[time].isna().any():
        rows = data.index[data[time].isna()]
        raise FvdidInputError(f"column {time!r} of la_quarter is missing in {describe_rows(rows)}")
    dup = data.duplicated([unit, time], keep=False)
    if dup.any():
        first = data.loc[dup, [unit, time]].drop_duplicates().head(3)
        pairs = ", ".join(f"({u}, {q})" for u, q in zip(first[unit], first[time]))
        raise FvdidInputError(
            f"la_quarter must have one row per ({unit}, {time}); {describe_rows(data.index[dup])} "
            f"duplicate the pairs {pairs}"
        )
    for o in outcomes:
        col = data[o]
        if col.dtype == bool:
            data[o] = col.astype(float)
            continue
        if not pd.api.types.is_numeric_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            bad = col.notna() & num.isna()
            if bad.any():
                raise FvdidInputError(
                    f"outcome column {o!r} must be numeric; {describe_rows(data.index[bad])} hold "
                    f"{sorted({repr(v) for v in col[bad]})[:5]}"
                )
            data[o] = num
        vals = data[o].to_numpy(dtype=float)
        inf = np.isinf(vals)
        if inf.any():
            raise FvdidInputError(
                f"outcome column {o!r} must be finite; {describe_rows(data.index[inf])} are infinite"
            )
        data[o] = vals
    return data, freq


def _wide(data: pd.DataFrame, outcome: str, unit: str, time: str, freq: Any) -> pd.DataFrame:
    """LA × quarter matrix over the full, gap-free range of quarters of the data."""
    wide = data.pivot(index=unit, columns=time, values=outcome)
    quarters = pd.period_range(data[time].min(), data[time].max(), freq=freq)
    return wide.reindex(columns=quarters).sort_index()


def _standardise(wide: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.Period]]:
    """z-score every quarter (column) across the LAs observed in it (ddof = 1).

    Quarters with fewer than two LAs observed stay missing; quarters where every observed LA has
    the same value (standard deviation 0) get z = 0 and are returned in the second element.
    """
    mean = wide.mean(axis=0, skipna=True)
    sd = wide.std(axis=0, ddof=1, skipna=True)
    flat = [q for q in wide.columns if sd[q] == 0]
    safe = sd.where(sd > 0)
    z = (wide - mean) / safe
    for q in flat:
        z[q] = np.where(wide[q].notna(), 0.0, np.nan)
    return z, flat


def standardised_changes(
    la_quarter: pd.DataFrame,
    outcome: str,
    *,
    unit: str = "la",
    time: str = "quarter",
) -> pd.DataFrame:
    """Long frame of the matching data for one outcome: ``la``, ``quarter``, ``value`` (raw),
    ``z`` (z-score across LAs within the quarter, ddof = 1) and ``dz`` (``z`` minus the previous
    quarter's ``z`` of the same LA; missing when either is missing).
    """
    data, freq = _prepare(la_quarter, [outcome], unit, time)
    wide = _wide(data, outcome, unit, time, freq)
    z, _ = _standardise(wide)
    dz = z.diff(axis=1)
    out = pd.DataFrame(
        {
            "la": np.repeat(wide.index.to_numpy(), wide.shape[1]),
            "quarter": np.tile(wide.columns.to_numpy(), wide.shape[0]),
            "value": wide.to_numpy().ravel(),
            "z": z.to_numpy().ravel(),
            "dz": dz.to_numpy().ravel(),
        }
    )
    out["quarter"] = pd.PeriodIndex(out["quarter"], freq=freq)
    return out
