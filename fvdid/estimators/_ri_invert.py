"""Randomization inference: the confidence set by test inversion, and exact interpolation in r.

:func:`invert` finds ``{r : p(r) > alpha}`` on a grid of null values, widened while an end is
still accepted and refined at both ends by bisection. :func:`linear_in_r` replaces evaluations
of the statistic at every ``r`` by exact interpolation when the estimate is linear and the
squared standard error quadratic in ``r`` (least squares with sandwich standard errors), after
checking it. The conventions are in the docstring of :mod:`fvdid.estimators.randomization`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from fvdid.errors import FvdidInputError

__all__ = ["LINEAR_RTOL", "MAX_WIDEN", "invert", "linear_in_r"]

MAX_WIDEN = 4
LINEAR_RTOL = 1e-8

Evaluator = Callable[[float], tuple[np.ndarray, np.ndarray]]


def linear_in_r(
    raw: Evaluator, actual_at: Callable[[float], tuple[float, float]], method: str
) -> Evaluator:
    """Interpolate ``raw`` (estimates, std errors over assignments, at null ``r``) exactly.

    ``raw`` is evaluated at ``r = -1, 0, 1``; ``actual_at(2.0)`` (the actual assignment's
    ``(estimate, std_error)`` at ``r = 2``) checks the linearity. Raises
    :class:`FvdidInputError` when the estimates are not linear (or, for ``method="t"``, the
    squared standard errors not quadratic) in ``r``.
    """
    e0, s0 = raw(0.0)
    e1, s1 = raw(1.0)
    em, sm = raw(-1.0)
    slope = (e1 - em) / 2
    scale = np.maximum(np.abs(e0) + np.abs(slope), 1e-300)
    if np.any(np.abs(e0 - (e1 + em) / 2) > LINEAR_RTOL * scale):
        raise FvdidInputError("assume_linear=True but the estimates are not linear in r")
    q0, q1, qm = s0**2, s1**2, sm**2
    qb, qc = (q1 - qm) / 2, (q1 + qm) / 2 - q0
    e2, s2 = actual_at(2.0)
    if abs(e2 - (e0[0] + 2 * slope[0])) > LINEAR_RTOL * scale[0] or (
        method == "t" and abs(s2**2 - (q0[0] + 2 * qb[0] + 4 * qc[0])) > LINEAR_RTOL * q0[0]
    ):
        raise FvdidInputError(
            "assume_linear=True but the actual assignment's estimate is not linear (or its "
            "squared standard error not quadratic) in r: checked at r = 2"
        )

    def evaluate(r: float) -> tuple[np.ndarray, np.ndarray]:
        return e0 + slope * r, np.sqrt(np.maximum(q0 + qb * r + qc * r * r, 0.0))

    return evaluate


def invert(
    pval: Callable[[float], float],
    rows: dict[float, float],
    null_grid: Sequence[float] | None,
    centre: float,
    scale: float,
    alpha: float,
    grid_points: int,
    grid_width: float,
    refine: int,
    notes: list[str],
) -> tuple[float, float] | None:
    """``{r : p(r) > alpha}`` on a grid, widened and refined at the ends by bisection."""

    def p_at(r: float) -> float:
        if r not in rows:
            rows[r] = pval(r)
        return rows[r]

    if not (math.isfinite(scale) and scale > 0):
        scale = max(abs(centre), 1.0)
    if null_grid is not None:
        grid = np.unique(np.asarray(list(null_grid), dtype=float))
        widen = 0
    else:
        grid = centre + scale * np.linspace(-grid_width, grid_width, int(grid_points))
        widen = MAX_WIDEN
    for attempt in range(widen + 1):
        acc = np.array([p_at(float(r)) > alpha for r in grid])
        if not acc.any() or not (acc[0] or acc[-1]) or attempt == widen:
            break
        half = (grid[-1] - grid[0]) / 2
        lo = grid[0] - (half if acc[0] else 0.0)
        hi = grid[-1] + (half if acc[-1] else 0.0)
        grid = np.unique(np.concatenate([grid, np.linspace(lo, hi, int(grid_points))]))
    if not acc.any():
        notes.append("no null value on the grid is accepted: the confidence set is empty there")
        return None
    idx = np.flatnonzero(acc)
    if len(idx) != idx[-1] - idx[0] + 1:
        notes.append("the accepted null values are not contiguous on the grid: the confidence "
                     "set is reported as its hull")
    ends = []
    for i_in, i_out in ((idx[0], idx[0] - 1), (idx[-1], idx[-1] + 1)):
        if i_out < 0 or i_out >= len(grid):
            notes.append(f"the confidence set reaches the grid end {grid[i_in]:.6g}")
            ends.append(float(grid[i_in]))
            continue
        r_in, r_out = float(grid[i_in]), float(grid[i_out])
        for _ in range(int(refine)):
            mid = (r_in + r_out) / 2
            if p_at(mid) > alpha:
                r_in = mid
            else:
                r_out = mid
        ends.append(r_in)
    return ends[0], ends[1]
