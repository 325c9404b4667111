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
from scipy import stats

__all__ = ["ResultMixin", "coef_table", "t_intervals", "to_plain", "wald_table"]


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


def t_intervals(params: pd.Series, std_errors: pd.Series, df: pd.Series | float, alpha: float) -> pd.DataFrame:
    """``estimate ± t_{1-alpha/2, df} * se`` per term (``df=inf`` gives normal intervals)."""
    dfs = df.to_numpy(dtype=float) if isinstance(df, pd.Series) else np.full(len(params), float(df))
    q = pd.Series(stats.t.ppf(1 - alpha / 2, dfs), index=params.index)
    return pd.DataFrame({"lower": params - q * std_errors, "upper": params + q * std_errors})


def coef_table(
    params: pd.Series,
    std_errors: pd.Series,
    statistic: pd.Series,
    p_values: pd.Series,
    intervals: pd.DataFrame,
    **extra: pd.Series,
) -> pd.DataFrame:
    """The ``tidy()`` table every estimator shares: term, estimate, std_error, statistic,
    p_value, conf_low, conf_high, then any ``extra`` columns (e.g. ``df``)."""
    out = pd.DataFrame(
        {
            "term": list(params.index),
            "estimate": params.to_numpy(),
            "std_error": std_errors.to_numpy(),
            "statistic": statistic.to_numpy(),
            "p_value": p_values.to_numpy(),
            "conf_low": intervals["lower"].to_numpy(),
            "conf_high": intervals["upper"].to_numpy(),
        }
    )
    for name, col in extra.items():
        out[name] = col.to_numpy()
    return out


def wald_table(params: pd.Series, std_errors: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """``tidy()`` with z statistics, normal p-values and intervals, as R's ``summary()`` z tests
    and ``confint.default()`` (the maximum-likelihood estimators)."""
    z = params / std_errors
    p = pd.Series(2 * stats.norm.sf(np.abs(z.to_numpy())), index=params.index)
    return coef_table(params, std_errors, z, p, t_intervals(params, std_errors, np.inf, 1 - level))
