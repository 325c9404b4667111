"""Confidence interval of :func:`fvdid.boottest` by inverting the bootstrap p-value (private).

Source of the algorithm
-----------------------
Roodman, MacKinnon, Nielsen and Webb (2019), "Fast and wild: Bootstrap inference in Stata using
boottest", *Stata Journal* 19(1), section 3.5: a confidence set of level ``1 - alpha`` is the set of
null values ``r`` whose bootstrap test does not reject, ``{r : p(r) >= alpha}``; its ends are found
by bracketing each end between a value that is not rejected and one that is, and then searching
for the value where ``p(r)`` crosses ``alpha``. The implementation below is written from that
description (not from fwildclusterboot's or boottest's code); its search is our own.

The search
----------
``p(r)`` is a step function of ``r`` (a share of bootstrap draws), equal to one at the point
estimate, where the t-statistic is zero.

1. *Bracket.* On each side of the estimate ``beta^``, step outwards to
   ``beta^ -/+ c se`` with ``c = 1, sqrt(2), 2, 2 sqrt(2), ...`` (at most 100 steps) until the
   bootstrap test rejects (``p < alpha``). ``se`` is the standard error implied by the
   t-statistic.
2. *Scan.* Cut ``[beta^, beta^ +/- c se]`` into :data:`_SCAN_CELLS` equal cells and evaluate ``p``
   at their ends. The interval's end lies in the outermost cell that goes from not rejected to
   rejected (so the interval is the hull of the confidence set seen on the scan, should ``p`` not
   be monotone).
3. *Refine.* Bisect that cell, keeping one end not rejected and the other rejected, until it is
   narrower than ``tol * se`` (relative to the standard error, so the interval of a rescaled
   outcome is the rescaled interval); the end of the interval is the midpoint of the last cell.
   Bisection needs nothing but the sign of ``p(r) - alpha``, so it cannot be misled by the steps
   of ``p``: it converges to the jump of ``p`` across ``alpha``. At most ``max(maxiter, 100)``
   halvings.

fwildclusterboot instead runs ``uniroot`` for ``maxiter = 10`` iterations, which on a step
function often stops before its ``tol``: its ends then sit up to about ``1e-4`` from the jump
(the parity cases' tolerance says so).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from fvdid.estimators._boot_core import BootStats

__all__ = ["invert_pvalue"]

#: Number of equal cells of the scan between the estimate and the rejected bracket end.
_SCAN_CELLS = 25
#: Steps of the outward bracket search (``c`` grows by sqrt(2) per step).
_BRACKET_STEPS = 100


def _bracket(
    rejects: Callable[[float], bool], point: float, se: float, side: float
) -> float | None:
    """Return the first ``point + side * c * se`` (``c = 2^(j/2)``) that the test rejects."""
    for j in range(_BRACKET_STEPS + 1):
        r = point + side * math.sqrt(2.0) ** j * se
        if rejects(r):
            return r
    return None


def _scan(
    rejects: Callable[[float], bool], inner: float, outer: float
) -> tuple[float, float]:
    """Return the outermost cell ``(kept, rejected)`` of ``[inner, outer]`` where ``p`` crosses."""
    width = (outer - inner) / _SCAN_CELLS
    # walk inwards from the rejected end: the first kept point closes the outermost crossing
    rejected = outer
    for i in range(_SCAN_CELLS - 1, 0, -1):
        r = inner + i * width
        if not rejects(r):
            return r, rejected
        rejected = r
    return inner, rejected


def _bisect(
    rejects: Callable[[float], bool], kept: float, rejected: float, width: float, maxiter: int
) -> float:
    """Halve ``[kept, rejected]`` until it is narrower than ``width``; return its midpoint."""
    for _ in range(max(maxiter, 100)):
        if abs(rejected - kept) <= width:
            break
        mid = 0.5 * (kept + rejected)
        if mid in (kept, rejected):  # no representable point between them
            break
        if rejects(mid):
            rejected = mid
        else:
            kept = mid
    return 0.5 * (kept + rejected)


def invert_pvalue(
    stats: BootStats,
    p_val_type: str,
    point: float,
    se_guess: float,
    alpha: float,
    tol: float,
    maxiter: int,
) -> tuple[tuple[float, float] | None, str | None]:
    """Return ``((lower, upper), None)`` or ``(None, reason)`` (see the module docstring).

    Parameters
    ----------
    stats
        The bootstrap's affine pieces; ``stats.pvalue(r, p_val_type)`` is ``p(r)``.
    p_val_type
        ``"two-tailed"`` or ``"equal-tailed"``.
    point, se_guess
        The estimate and the standard error implied by its t-statistic.
    alpha
        One minus the confidence level (R's ``sign_level``).
    tol, maxiter
        Bisection stops when its cell is narrower than ``tol * se_guess``, or after
        ``max(maxiter, 100)`` halvings.
    """
    if not math.isfinite(se_guess) or se_guess == 0.0:
        return None, "no confidence interval: the t-statistic is zero or not finite"

    def rejects(r: float) -> bool:
        # NaN (no valid bootstrap draw) counts as not rejected: it never closes an interval
        return bool(stats.pvalue(r, p_val_type) < alpha)

    if rejects(point):
        return None, "no confidence interval: the test rejects at the point estimate itself"
    ends: list[float] = []
    for side in (-1.0, 1.0):
        outer = _bracket(rejects, point, se_guess, side)
        if outer is None:
            return None, (
                "no confidence interval: no value with p < alpha was found by inflating "
                "the standard error guess"
            )
        kept, rejected = _scan(rejects, point, outer)
        ends.append(_bisect(rejects, kept, rejected, tol * abs(se_guess), maxiter))
    return (ends[0], ends[1]), None
