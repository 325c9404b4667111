"""Confidence interval of :func:`fvdid.boottest` by inverting the bootstrap p-value (private).

Start values ``beta^ -/+ 2^(j/2) se`` until ``p < alpha``, a 26-point grid between them, the two
brackets where ``p`` crosses ``alpha``, then Brent's root finder (as R's ``uniroot``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fvdid.estimators._boot_core import BootStats

__all__ = ["invert_pvalue"]


def _brent_zeroin(
    f: Any, ax: float, bx: float, fa: float, fb: float, tol: float, maxiter: int
) -> float:
    """Brent's (1973) root finder as in R's ``uniroot`` (``maxiter`` iterations after the two
    end points; returns the last iterate when it does not converge, as ``uniroot``)."""
    eps = np.finfo(float).eps
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * eps * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _r_seq_by(start: float, stop: float, by: float) -> np.ndarray:
    """R's ``seq(from, to, by)`` for ``by > 0``."""
    n = int((stop - start) / by + 1e-10)
    return np.minimum(start + np.arange(n + 1) * by, stop)


def invert_pvalue(
    stats: BootStats,
    p_val_type: str,
    point: float,
    se_guess: float,
    alpha: float,
    tol: float,
    maxiter: int,
) -> tuple[tuple[float, float] | None, str | None]:
    def f(x: float) -> float:
        return stats.pvalue(x, p_val_type) - alpha

    if not math.isfinite(se_guess) or se_guess == 0.0:
        return None, "no confidence interval: the t-statistic is zero or not finite"

    # step 1: start values on each side with p < alpha
    starts: list[tuple[float, float]] = []
    for upper in (False, True):
        found = None
        x = p = math.nan
        for j in range(101):
            inflate = 2.0 ** (j / 2.0)
            x = point + inflate * se_guess if upper else point - inflate * se_guess
            p = f(x) + alpha
            if p < alpha:
                found = (p, x)
                break
        if found is None:
            return None, (
                "no confidence interval: no value with p < alpha was found by inflating "
                "the standard error guess"
            )
        starts.append(found)
    (p_lo, x_lo), (p_hi, x_hi) = starts

    # step 2: equally spaced grid of 26 points, p at the inner points
    grid = _r_seq_by(min(x_lo, x_hi), max(x_lo, x_hi), abs(x_hi - x_lo) / 25.0)
    pv = np.full(max(grid.size, 26), np.nan)
    for i in range(1, grid.size - 1):
        pv[i] = f(float(grid[i])) + alpha
    pv[0] = p_lo
    pv[25] = p_hi

    # step 3: points next to a crossing of alpha, then Brent between the two brackets
    cross = np.where(pv <= alpha, 1, -1)
    cross[np.isnan(pv)] = 0  # NaN never forms a crossing pair (R: NA)
    flagged = []
    for i in range(pv.size):
        nxt = i + 1 < pv.size and not np.isnan(pv[i + 1]) and cross[i] + cross[i + 1] == 0
        prv = i >= 1 and not np.isnan(pv[i - 1]) and cross[i] + cross[i - 1] == 0
        if not np.isnan(pv[i]) and (nxt or prv):
            flagged.append(i)
    if len(flagged) < 4 or flagged[3] >= grid.size:
        return (
            None,
            "no confidence interval: the p-value did not cross alpha twice on the grid",
        )
    roots = []
    for pair in ((flagged[0], flagged[1]), (flagged[2], flagged[3])):
        lo, hi = float(min(grid[list(pair)])), float(max(grid[list(pair)]))
        flo, fhi = f(lo), f(hi)
        if flo * fhi > 0:
            return None, "no confidence interval: a bracket does not change sign"
        roots.append(_brent_zeroin(f, lo, hi, flo, fhi, tol, maxiter))
    return (roots[0], roots[1]), None
