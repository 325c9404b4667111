"""Errors raised by fvdid and helpers that make input problems easy to read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "FvdidInputError",
    "RowNames",
    "check_binary",
    "describe_rows",
    "require_columns",
]


class FvdidInputError(ValueError):
    """Bad input: the message names the column, the rows and what was expected."""


def describe_rows(index: Iterable[object], limit: int = 5) -> str:
    """Return a short description such as ``"3 rows (e.g. 4, 17, 20)"``."""
    labels = list(index)
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in labels[:limit])
    more = "" if len(labels) <= limit else ", ..."
    noun = "row" if len(labels) == 1 else "rows"
    return f"{len(labels)} {noun} (e.g. {shown}{more})"


def require_columns(data: pd.DataFrame, columns: Sequence[str], *, what: str = "data") -> None:
    """Raise :class:`FvdidInputError` when any of ``columns`` is absent from ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise FvdidInputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise FvdidInputError(
            f"{what} has no column(s) {missing}; available columns: {list(data.columns)}"
        )


def check_binary(data: pd.DataFrame, column: str, *, what: str = "data") -> np.ndarray:
    """Return ``data[column]`` as a 0/1 integer array, or raise naming the offending rows."""
    require_columns(data, [column], what=what)
    s = data[column]
    if s.dtype == bool:
        return s.to_numpy(dtype=np.int8)
    bad = s.isna() | ~s.isin([0, 1])
    if bad.any():
        vals = sorted({repr(v) for v in s[bad].tolist()})[:5]
        raise FvdidInputError(
            f"column {column!r} of {what} must be binary 0/1; "
            f"{describe_rows(s.index[bad])} hold {', '.join(vals)}"
        )
    return s.to_numpy(dtype=np.int8)


class RowNames:
    """How the rows of one table are named in error messages.

    A CSV file's data row ``i`` (0-based position) is line ``i + 2`` of the file (line 1 is the
    header), so rows read from a CSV are named by their line; rows of a Parquet or Stata file, or
    of a frame built in memory, by their 1-based position.

    Parameters
    ----------
    file
        The file name (``"children.csv"``), or None for a frame built in memory.
    """

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.lines = file is not None and file.lower().endswith(".csv")

    def describe(self, positions: Iterable[int], limit: int = 5) -> str:
        """``"2 rows (lines 5, 9 of children.csv)"`` for the 0-based ``positions``."""
        pos = [int(p) for p in positions]
        noun = "row" if len(pos) == 1 else "rows"
        first = [p + 2 if self.lines else p + 1 for p in pos[:limit]]
        shown = ", ".join(str(x) for x in first) + (", ..." if len(pos) > limit else "")
        where = "line" if self.lines else "row"
        where += "" if len(first) == 1 else "s"
        if self.file is None:
            return f"{len(pos):,} {noun} ({where} {shown}, counting from 1)"
        if self.lines:
            return f"{len(pos):,} {noun} ({where} {shown} of {self.file})"
        return f"{len(pos):,} {noun} ({where} {shown} of {self.file}, counting from 1)"
