"""Shared behaviour of fvdid's frozen result objects.

Every estimator returns a frozen dataclass that inherits :class:`ResultMixin`. The mixin supplies
``to_dict()`` (plain JSON-serialisable data) and a default ``summary()`` built from ``tidy()``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ResultMixin", "to_plain"]


def to_plain(value: Any) -> Any:
    """Convert pandas / numpy values to JSON-serialisable Python objects (NaN -> None)."""
    if isinstance(value, pd.DataFrame):
        return [{str(k): to_plain(v) for k, v in row.items()} for row in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Period, pd.Timestamp)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class ResultMixin:
    """Mixin for frozen result dataclasses: ``to_dict`` and a default ``summary``."""

    def tidy(self) -> pd.DataFrame:  # pragma: no cover - overridden by every estimator
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Return every public field as plain, JSON-serialisable data."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name.startswith("_"):
                continue
            out[f.name] = to_plain(getattr(self, f.name))
        return out

    def summary(self) -> str:
        """Return a plain-text table of ``tidy()`` with the result's class name as title."""
        table = self.tidy()
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            return f"{type(self).__name__}\n{table.to_string(index=False)}"
