"""Normalise quantities to (labels, values) and compare them by label."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parity.case import Quantity, Tol

__all__ = ["Comparison", "Labelled", "compare", "label_str", "normalise"]


@dataclass(frozen=True)
class Labelled:
    """A quantity as plain data: ``labels`` is None for a scalar."""

    labels: tuple[str, ...] | None
    values: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": None if self.labels is None else list(self.labels),
            "values": [None if math.isnan(v) else float(v) for v in self.values.tolist()],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Labelled:
        labels = obj.get("labels")
        raw = obj.get("values")
        if not isinstance(raw, list):
            raw = [raw]
        values = np.array([_num(v) for v in raw], dtype=float)
        if labels is not None and not isinstance(labels, list):
            labels = [labels]
        return cls(None if labels is None else tuple(str(x) for x in labels), values)


def _num(v: Any) -> float:
    """A JSON value as a float: null and R's "NA" are NaN; "Inf"/"-Inf"/"NaN" parse."""
    if v is None or v == "NA":
        return float("nan")
    return float(v)


def label_str(label: Any) -> str:
    """Return the canonical string of a label: integral floats print without decimals."""
    if isinstance(label, tuple):
        return ":".join(label_str(x) for x in label)
    if isinstance(label, (bool, np.bool_)):
        return "TRUE" if label else "FALSE"
    if isinstance(label, (int, np.integer)):
        return str(int(label))
    if isinstance(label, (float, np.floating)):
        f = float(label)
        if math.isfinite(f) and f.is_integer():
            return str(int(f))
        return repr(f)
    return str(label)


def normalise(q: Quantity | Labelled) -> Labelled:
    """Turn a Series, a mapping or a scalar into :class:`Labelled`."""
    if isinstance(q, Labelled):
        return q
    if isinstance(q, pd.Series):
        return Labelled(tuple(label_str(i) for i in q.index), q.to_numpy(dtype=float))
    if isinstance(q, Mapping):
        return Labelled(
            tuple(label_str(k) for k in q), np.array([float(v) for v in q.values()], dtype=float)
        )
    return Labelled(None, np.array([float(q)], dtype=float))


@dataclass(frozen=True)
class Comparison:
    """The comparison of one quantity: max |diff|, the tolerance, and whether it passed."""

    quantity: str
    n: int
    max_abs_diff: float
    tolerance: str
    reason: str
    passed: bool
    detail: str = ""


def compare(name: str, ref: Labelled, got: Labelled | None, tol: Tol) -> Comparison:
    """Compare ``got`` with ``ref`` by label under ``tol``."""

    def fail(detail: str) -> Comparison:
        return Comparison(name, len(ref.values), math.inf, tol.describe(), tol.reason, False, detail)

    if got is None:
        return fail("fvdid did not return this quantity")
    if ref.labels is None or got.labels is None:
        if (ref.labels is None) != (got.labels is None):
            return fail("one side is a scalar, the other labelled")
        r_vals, g_vals = ref.values, got.values
        if r_vals.shape != g_vals.shape:
            return fail(f"shape {g_vals.shape} vs R {r_vals.shape}")
    else:
        if len(set(ref.labels)) != len(ref.labels) or len(set(got.labels)) != len(got.labels):
            return fail("duplicate labels: labels must identify values uniquely")
        missing = sorted(set(ref.labels) - set(got.labels))
        extra = sorted(set(got.labels) - set(ref.labels))
        if missing or extra:
            return fail(f"labels differ: missing in fvdid {missing[:5]}, extra in fvdid {extra[:5]}")
        pos = {lab: i for i, lab in enumerate(got.labels)}
        r_vals = ref.values
        g_vals = got.values[[pos[lab] for lab in ref.labels]]
    both_nan = np.isnan(r_vals) & np.isnan(g_vals)
    one_nan = np.isnan(r_vals) ^ np.isnan(g_vals)
    diff = np.where(both_nan, 0.0, np.abs(g_vals - r_vals))
    diff = np.where(one_nan, np.inf, diff)
    # Infinite on both sides with the same sign count as equal.
    same_inf = np.isinf(r_vals) & np.isinf(g_vals) & (np.sign(r_vals) == np.sign(g_vals))
    diff = np.where(same_inf, 0.0, diff)
    bound = tol.bound(np.where(np.isfinite(r_vals), r_vals, 0.0))
    ok = diff <= bound
    max_diff = float(diff.max()) if diff.size else 0.0
    detail = ""
    if not ok.all():
        worst = int(np.argmax(np.where(ok, -np.inf, diff - bound)))
        lab = ref.labels[worst] if ref.labels is not None else "(scalar)"
        detail = f"worst at {lab}: fvdid {g_vals[worst]!r} vs R {r_vals[worst]!r}"
    return Comparison(name, len(r_vals), max_diff, tol.describe(), tol.reason, bool(ok.all()), detail)
