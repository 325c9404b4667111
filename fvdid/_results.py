"""Shared behaviour of fvdid's frozen result objects.

Every estimator returns a frozen dataclass that inherits :class:`ResultMixin`. The mixin supplies
``to_dict()`` (plain JSON-serialisable data), a default ``summary()`` built from ``tidy()``, and
makes the result immutable in substance, not only in its attributes:

* numpy arrays are stored as read-only copies (``fit.design.X[0] = 1`` raises), except arrays
  their producer built and :func:`seal`-ed (made read-only in place, no writable view left),
  which are stored as they are;
* Series / DataFrames are stored as copies whose numpy data are read-only, so writes into them
  (``fit.params["x"] = 99``, ``.iloc[0] = ...``, ``.values[0] = ...``, ``.loc[...] = ...``)
  raise ``ValueError: assignment destination is read-only``; reading such a field returns a
  shallow copy (same read-only data, own index and column labels), so structural changes
  (``fit.vcov["new"] = ...``, ``fit.params.index.name = ...``, ``inplace=True`` methods) change
  only the caller's copy. Extension-dtype data (categoricals, nullable integers, periods) cannot be
  made read-only; those fields are returned as deep copies instead;
* dicts and lists (e.g. ``breaks``) are returned as deep copies;
* nested frozen dataclasses (``OLSResult.design``) get read-only copies of their arrays.

Subclasses may define their own ``__post_init__``: :meth:`ResultMixin.__init_subclass__` wraps it
so the protection runs after it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import weakref
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


_SEALED: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def seal(*arrays: np.ndarray) -> None:
    """Make arrays a producer just built read-only in place, so results keep them without a copy.

    For an estimator's own fresh arrays (an n x k design, residuals) that it hands to a result
    and keeps no other reference to: every array of each one's ``base`` chain is made read-only
    too (no writable view of the data is left), and :class:`ResultMixin` then stores the array
    itself instead of a read-only copy (~20 % of an OLS call on 1M rows was that copy). Only
    arrays sealed here are trusted; anything else is still copied.
    """
    for a in arrays:
        x: Any = a
        while isinstance(x, np.ndarray):
            x.flags.writeable = False
            x = x.base
        _SEALED[id(a)] = a


def _readonly_array(a: np.ndarray) -> np.ndarray:
    if _SEALED.get(id(a)) is a and not a.flags.writeable:
        return a
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out


def _numpy_backed(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype)


def _protect_value(value: Any) -> tuple[Any, str | None]:
    """A protected copy of ``value`` and how to hand it out: ``"shallow"``, ``"deep"`` or None."""
    if isinstance(value, np.ndarray):
        return _readonly_array(value), None
    if isinstance(value, pd.Series):
        if not _numpy_backed(value.dtype):
            return value.copy(deep=True), "deep"
        return pd.Series(
            _readonly_array(value.to_numpy()), index=value.index.copy(), name=value.name, copy=False
        ), "shallow"
    if isinstance(value, pd.DataFrame):
        if not all(_numpy_backed(t) for t in value.dtypes):
            return value.copy(deep=True), "deep"
        cols = {i: _readonly_array(value.iloc[:, i].to_numpy()) for i in range(value.shape[1])}
        out = pd.DataFrame(cols, index=value.index.copy(), copy=False)
        out.columns = value.columns.copy()
        out.attrs = copy.deepcopy(value.attrs)
        return out, "shallow"
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value), "deep"
    if (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and not isinstance(value, ResultMixin)
    ):
        changes = {
            f.name: _readonly_array(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and isinstance(getattr(value, f.name), np.ndarray)
        }
        return (dataclasses.replace(value, **changes) if changes else value), None
    return value, None


def _hand_out(value: Any, how: str) -> Any:
    if how == "deep":
        return copy.deepcopy(value) if isinstance(value, (dict, list)) else value.copy(deep=True)
    out = value.copy(deep=False)
    out.index = value.index.copy()
    if isinstance(value, pd.DataFrame):
        out.columns = value.columns.copy()
    return out


class ResultMixin:
    """Mixin for frozen result dataclasses: ``to_dict``, a default ``summary``, immutability.

    See the module docstring for what is protected and how.
    """

    __fvdid_handout__: dict[str, str]

    def __post_init__(self) -> None:
        self._fvdid_protect()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__post_init__")
        if own is None or getattr(own, "_fvdid_protects", False):
            return

        @functools.wraps(own)
        def post_init(self: ResultMixin, *args: Any) -> None:
            own(self, *args)
            self._fvdid_protect()

        post_init._fvdid_protects = True  # type: ignore[attr-defined]
        cls.__post_init__ = post_init  # type: ignore[method-assign]

    def _fvdid_protect(self) -> None:
        handout: dict[str, str] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, how = _protect_value(object.__getattribute__(self, f.name))
            object.__setattr__(self, f.name, value)
            if how is not None:
                handout[f.name] = how
        object.__setattr__(self, "__fvdid_handout__", handout)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name.startswith("__"):
            return value
        try:
            how = object.__getattribute__(self, "__fvdid_handout__").get(name)
        except AttributeError:  # during __init__, before the protection ran
            return value
        return value if how is None else _hand_out(value, how)

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
