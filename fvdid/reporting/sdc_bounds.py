"""Disclosure by subtraction: the tightest interval of every suppressed cell, by linear programming.

A released table publishes three kinds of cell: exact values (structural zeros), counts rounded
to a base ``b`` (the true value lies in ``[v - b/2, v + b/2)``) and suppressed cells (``[c]``, any
non-negative value). Additive structures (rows and columns summing to published totals, the
flow of exclusions ``remaining[i-1] = excluded[i] + remaining[i]``, totals published in another
table) are linear equations between the cells. :func:`interval_bounds` minimises and maximises
every suppressed cell subject to them (``scipy.optimize.linprog``); :func:`protect` adds
secondary suppressions until every suppressed cell's interval is at least ``threshold`` wide.

Cells are keyed by any hashable (``(table, row, column)`` in practice); an equation is a mapping
``key -> coefficient`` whose weighted sum is zero.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["bounds", "flow_equations", "interval_bounds", "parse_cell", "protect", "unsafe_cells"]

Equation = Mapping[Hashable, float]


def parse_cell(v: Any) -> tuple[str, float]:
    """A released cell as ``(status, value)``: "suppressed", "exact" (``-``) or "rounded"."""
    if isinstance(v, str):
        s = v.strip()
        if s == "[c]":
            return "suppressed", math.nan
        if s in ("-", "–"):
            return "exact", 0.0
        try:
            return "rounded", float(s.replace(",", ""))
        except ValueError:
            return "unknown", math.nan
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "suppressed", math.nan
    return "rounded", float(v)


def _published_interval(status: str, v: float, base: int) -> tuple[float, float | None]:
    if status == "exact":
        return v, v
    if status == "rounded":
        if base <= 1:
            return v, v
        # round half up: x -> v iff v - b/2 <= x < v + b/2; integer x
        return max(0.0, math.ceil(v - base / 2)), math.ceil(v + base / 2) - 1
    return 0.0, None


def interval_bounds(
    cells: Mapping[Hashable, tuple[str, float]],
    equations: Sequence[Equation],
    *,
    base: int = 5,
) -> dict[Hashable, tuple[float, float]]:
    """The tightest interval ``(low, high)`` of every suppressed cell given the published cells.

    ``high`` is ``inf`` when nothing bounds the cell from above. Integer bounds: the LP optimum
    rounded inwards (``ceil(low)``, ``floor(high)``).
    """
    from scipy.optimize import linprog

    keys = list(cells)
    pos = {k: i for i, k in enumerate(keys)}
    eqs = [e for e in equations if all(k in pos for k in e)]
    a_eq = np.zeros((len(eqs), len(keys)))
    for r, e in enumerate(eqs):
        for k, c in e.items():
            a_eq[r, pos[k]] += c
    bnds = [_published_interval(*cells[k], base) for k in keys]
    out: dict[Hashable, tuple[float, float]] = {}
    for k in keys:
        if cells[k][0] != "suppressed":
            continue
        touched = a_eq[:, pos[k]] != 0
        if not touched.any():
            out[k] = (0.0, math.inf)
            continue
        c = np.zeros(len(keys))
        c[pos[k]] = 1.0
        kw: dict[str, Any] = {"A_eq": a_eq if len(eqs) else None, "b_eq": np.zeros(len(eqs)) if len(eqs) else None,
                              "bounds": bnds, "method": "highs"}
        lo = linprog(c, **kw)
        hi = linprog(-c, **kw)
        low = math.ceil(lo.fun - 1e-7) if lo.status == 0 else 0.0
        high = math.floor(-hi.fun + 1e-7) if hi.status == 0 else math.inf
        out[k] = (float(low), float(high))
    return out


def unsafe_cells(
    cells: Mapping[Hashable, tuple[str, float]],
    equations: Sequence[Equation],
    *,
    threshold: int = 10,
    base: int = 5,
) -> dict[Hashable, tuple[float, float]]:
    """Suppressed cells whose interval is narrower than ``threshold`` (``high - low < threshold``)."""
    return {k: b for k, b in interval_bounds(cells, equations, base=base).items()
            if b[1] - b[0] < threshold}


def protect(
    cells: dict[Hashable, tuple[str, float]],
    equations: Sequence[Equation],
    *,
    threshold: int = 10,
    base: int = 5,
    candidates: Iterable[Hashable] | None = None,
    max_rounds: int = 200,
) -> tuple[dict[Hashable, tuple[str, float]], list[Hashable]]:
    """Secondary suppression to a fixed point: while a suppressed cell is boundable to an interval
    narrower than ``threshold``, suppress the smallest published cell sharing an equation with it.

    Returns the cells after protection and the keys suppressed here (in order). ``candidates``
    restricts which cells may be suppressed (cells of other tables, whose totals are published
    elsewhere, are not candidates).
    """
    cells = dict(cells)
    allowed = set(cells) if candidates is None else set(candidates)
    added: list[Hashable] = []
    for _ in range(max_rounds):
        bad = unsafe_cells(cells, equations, threshold=threshold, base=base)
        if not bad:
            break
        k = next(iter(bad))
        near = {j for e in equations if k in e for j in e}
        pick = [j for j in near if j in allowed and cells[j][0] == "rounded"]
        if not pick:
            break
        j = min(pick, key=lambda x: (cells[x][1], str(x)))
        cells[j] = ("suppressed", math.nan)
        added.append(j)
    return cells, added


def bounds(
    table: pd.DataFrame,
    totals: Mapping[str, Any] | None = None,
    *,
    base: int = 5,
) -> pd.DataFrame:
    """The interval of every suppressed cell of a released two-way table given its totals.

    Parameters
    ----------
    table
        Released cells: "[c]" (or NaN) suppressed, "-" exact zero, numbers (or "1,234") rounded to
        ``base``.
    totals
        Published totals, from this or any other table: ``"rows"`` (a Series by row label),
        ``"columns"`` (a Series by column label) and ``"total"`` (the grand total), each released
        the same way. Without totals, nothing bounds a cell from above.

    Returns
    -------
    DataFrame
        One row per suppressed cell: ``row, column, low, high``.
    """
    totals = totals or {}
    cells: dict[Hashable, tuple[str, float]] = {}
    for r in table.index:
        for c in table.columns:
            cells[("cell", r, c)] = parse_cell(table.at[r, c])
    eqs: list[dict[Hashable, float]] = []
    rows = totals.get("rows")
    cols = totals.get("columns")
    if rows is not None:
        for r, v in pd.Series(rows).items():
            if r in table.index:
                cells[("row", r)] = parse_cell(v)
                eqs.append({**{("cell", r, c): 1.0 for c in table.columns}, ("row", r): -1.0})
    if cols is not None:
        for c, v in pd.Series(cols).items():
            if c in table.columns:
                cells[("col", c)] = parse_cell(v)
                eqs.append({**{("cell", r, c): 1.0 for r in table.index}, ("col", c): -1.0})
    if "total" in totals:
        cells[("total",)] = parse_cell(totals["total"])
        eqs.append({**{("cell", r, c): 1.0 for r in table.index for c in table.columns}, ("total",): -1.0})
    b = interval_bounds(cells, eqs, base=base)
    return pd.DataFrame([(k[1], k[2], lo, hi) for k, (lo, hi) in b.items() if k[0] == "cell"],
                        columns=["row", "column", "low", "high"])


FLOW_GROUPS = (("excluded", "remaining"), ("excluded_treatment", "remaining_treatment"),
               ("excluded_comparison", "remaining_comparison"))
"""The (excluded, remaining) column pairs of a flow table: all children, treatment, comparison."""


def flow_equations(flow: pd.DataFrame, table: str = "flow") -> list[dict[Hashable, float]]:
    """The additive structure of a flow table (rows by position, keys ``(table, i, column)``).

    ``remaining[i-1] = excluded[i] + remaining[i]`` for each group, and all children = treatment +
    comparison for both columns of every row.
    """
    eqs: list[dict[Hashable, float]] = []
    n = len(flow)
    groups = [g for g in FLOW_GROUPS if all(c in flow.columns for c in g)]
    for i in range(n):
        for exc, rem in groups:
            if i > 0:
                eqs.append({(table, i - 1, rem): 1.0, (table, i, exc): -1.0, (table, i, rem): -1.0})
        if len(groups) == 3:
            for k in (0, 1):
                eqs.append({(table, i, groups[0][k]): 1.0, (table, i, groups[1][k]): -1.0,
                            (table, i, groups[2][k]): -1.0})
    return eqs
