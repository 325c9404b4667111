"""Coarsening for :func:`fvdid.cem` and :func:`fvdid.l1_imbalance` (private).

R-compatible numerical building blocks and the coarsening of covariates into strata codes.
Sources: ``seq``, ``quantile(type = 7)``, ``signif``, ``var`` and the ``nclass.Sturges`` /
``nclass.scott`` / ``nclass.FD`` rules follow R's help pages (the formulas they state);
``pretty`` is written from ``?pretty`` (see :func:`r_pretty`, where the documentation leaves
the unit rule open), ``hist``'s counts from ``?hist`` (:func:`_hist_counts`) and cem's ``"ss"``
rule from Shimazaki and Shinomoto (2007) (:func:`_nclass_ss`). No R source code was ported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows

__all__ = [
    "CutSpec",
    "Rule",
    "as_float",
    "check_options",
    "coarsen",
    "combine",
    "is_numeric",
    "nclass_scott",
    "r_pretty",
]

Rule = Literal["sturges", "scott", "fd", "ss"]
CutSpec = Rule | int | Sequence[float]

_RULES = ("sturges", "scott", "fd", "ss")
_DBL_EPS = float(np.finfo(float).eps)
_DBL_MIN = float(np.finfo(float).tiny)

# --------------------------------------------------------------------------------------------
# R-compatible numerical building blocks (from R's help pages and the papers they cite)
# --------------------------------------------------------------------------------------------


def _r_seq(lo: float, hi: float, length: int) -> np.ndarray:
    """``seq(lo, hi, length.out = length)`` as R's ``seq.default`` computes it."""
    if length <= 0:
        return np.empty(0)
    if length == 1:
        return np.array([lo], dtype=float)
    if length == 2:
        return np.array([lo, hi], dtype=float)
    if lo == hi:
        return np.full(length, float(lo))
    n1 = length - 1
    inner = float(lo) + np.arange(1, length - 1, dtype=float) * ((float(hi) - float(lo)) / n1)
    return np.concatenate(([float(lo)], inner, [float(hi)]))


def _r_seq_int(lo: float, hi: float, length: int) -> np.ndarray:
    """``seq.int(lo, hi, length.out = length)``: ``lo + i * by``, the last point exactly ``hi``."""
    out = np.empty(length, dtype=float)
    if length > 0:
        out[0] = lo
    if length > 1:
        out[-1] = hi
    if length > 2:
        by = (hi - lo) / (length - 1)
        out[1:-1] = lo + np.arange(1, length - 1, dtype=float) * by
    return out


#: Candidate units of :func:`r_pretty`, as multiples of the power of ten ``b`` (R's ?pretty).
_UNIT_STEPS = (1.0, 2.0, 5.0, 10.0)


def _unit_for(cell: float, high_u_bias: float, u5_bias: float) -> float:
    """The "nice" unit ``{1, 2, 5, 10} * b`` for a target cell width (R's ?pretty, Details).

    ``b = 10^floor(log10(cell))``. The documentation names the candidates and says that a larger
    ``high.u.bias`` favours larger units and that ``u5.bias`` favours 5 over 2, without giving the
    rule. fvdid's rule: moving from a candidate ``s_i b`` to the next one ``s_{i+1} b`` pays when
    the shortfall of the larger unit, ``s_{i+1} b - cell``, is smaller than ``w`` times the
    excess of the cell over the smaller unit, ``cell - s_i b``; ``w`` is ``u5_bias`` for the
    step 2 -> 5 and ``high_u_bias`` for the others. The candidates are tried in increasing
    order. Checked against R's ``pretty()`` on 3,000 random ranges: same unit and number of
    breaks every time (``tests/test_parity_cleanroom.py``); a break may differ from R's in the
    last bit of its spacing, which changes a count only for a value within rounding of a break.
    """
    base = 10.0 ** math.floor(math.log10(cell))
    chosen = _UNIT_STEPS[0]
    for nxt in _UNIT_STEPS[1:]:
        weight = u5_bias if nxt == 5.0 else high_u_bias
        if nxt * base - cell < weight * (cell - chosen * base):
            chosen = nxt
        else:
            break
    return chosen * base


def r_pretty(lo: float, hi: float, n: int, min_n: int) -> np.ndarray:
    """Breaks like R's ``pretty(c(lo, hi), n, min.n)`` with its default biases.

    Written from R's documentation of ``pretty()`` (``?pretty``): about ``n`` equal intervals
    whose width, the *unit*, is 1, 2 or 5 times a power of ten, covering ``[lo, hi]``
    (``bounds = TRUE``).

    1. Target cell: ``(hi - lo) / n``; when the range is (nearly) zero, ``max(|lo|, |hi|) *
       shrink.sml / min.n`` (``shrink.sml = 0.75``), or 1 at zero. "Nearly zero" is fvdid's
       choice (below ``1e-12 max(|lo|, |hi|)``); it only affects constant columns, whose L1
       bin is the same whatever the breaks.
    2. Unit: :func:`_unit_for` (``high.u.bias = 1.5``, ``u5.bias = 0.5 + 1.5 * 1.5``).
    3. Grid: the multiples ``k * unit`` from the largest one at or below ``lo`` to the smallest at
       or above ``hi`` (a quotient within ``1e-10`` of an integer counts as that integer, so that
       rounding does not add an interval); with fewer than ``min_n`` intervals, intervals are added
       alternately above and below.
    4. The outer breaks are moved out to ``lo`` / ``hi`` if the grid, through that allowance, does
       not reach them (``bounds = TRUE``: the breaks always cover the range); the breaks are then
       equally spaced between the outer ones (R's ``seq(length.out =)``), the multiple
       ``0 * unit`` exactly zero.
    """
    high_u_bias = 1.5
    u5_bias = 0.5 + 1.5 * high_u_bias
    shrink_sml = 0.75
    span = hi - lo
    scale = max(abs(lo), abs(hi))
    if scale == 0.0:
        cell = 1.0
    elif span <= 1e-12 * scale:
        cell = scale * shrink_sml / max(min_n, 1)
    else:
        cell = span / max(int(n), 1)
    cell = max(cell, 2.0**-20 * _DBL_MIN)  # R's f.min floor on the cell
    unit = _unit_for(cell, high_u_bias, u5_bias)

    def _snap(q: float) -> float:
        near = round(q)
        return float(near) if abs(q - near) < 1e-10 else q

    k_lo = math.floor(_snap(lo / unit))
    k_hi = math.ceil(_snap(hi / unit))
    add_above = True
    while k_hi - k_lo < min_n:
        if add_above:
            k_hi += 1
        else:
            k_lo -= 1
        add_above = not add_above
    first = min(k_lo * unit, lo)
    last = max(k_hi * unit, hi)
    # equally spaced from the first to the last break, as ``seq(first, last, length.out)``;
    # the multiple 0 * unit is exactly zero (not a rounding residue of the spacing)
    breaks = _r_seq_int(first, last, k_hi - k_lo + 1)
    if k_lo < 0 < k_hi:
        breaks[-k_lo] = 0.0
    return breaks


def _r_quantile7(sorted_x: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """R's ``quantile(type = 7)`` on sorted finite values."""
    n = sorted_x.size
    out = []
    for p in probs:
        index = 1 + max(n - 1, 0) * p
        lo_i = math.floor(index)
        hi_i = math.ceil(index)
        q = sorted_x[lo_i - 1]
        frac = index - lo_i
        if index > lo_i and sorted_x[hi_i - 1] != q:
            q = (1 - frac) * q + frac * sorted_x[hi_i - 1]
        out.append(q)
    return np.asarray(out, dtype=float)


def _r_signif(x: np.ndarray, digits: int) -> np.ndarray:
    """R's ``signif(x, digits)`` (rounding half to even on the scaled value)."""
    out = np.array(x, dtype=float)
    nz = (out != 0) & np.isfinite(out)
    ax = np.abs(out[nz])
    e10 = (digits - 1 - np.floor(np.log10(ax))).astype(int)
    res = np.empty_like(ax)
    pos = e10 > 0
    p = 10.0 ** e10[pos].astype(float)
    res[pos] = np.rint(ax[pos] * p) / p
    p = 10.0 ** (-e10[~pos]).astype(float)
    res[~pos] = np.rint(ax[~pos] / p) * p
    out[nz] = np.sign(out[nz]) * res
    return out


def _r_var(x: np.ndarray) -> float:
    """Sample variance accumulated in extended precision (as R's ``var``)."""
    if x.size < 2:
        return float("nan")
    xl = x.astype(np.longdouble)
    m = xl.sum() / x.size
    m = m + (xl - m).sum() / x.size
    return float(((xl - m) ** 2).sum() / (x.size - 1))


def _nclass_sturges(n: int) -> int:
    return math.ceil(math.log2(n) + 1)


def nclass_scott(x: np.ndarray) -> int:
    h = 3.5 * math.sqrt(_r_var(x)) * x.size ** (-1 / 3)
    if h > 0:
        return max(1, math.ceil((x.max() - x.min()) / h))
    return 1


def _nclass_fd(x: np.ndarray) -> int:
    xs = np.sort(_r_signif(x, 5))
    q = _r_quantile7(xs, (0.25, 0.75))
    h = 2 * (q[1] - q[0])
    al = 1 / 4
    while h == 0 and (al := al / 2) >= 1 / 512:
        q = _r_quantile7(xs, (al, 1 - al))
        h = (q[1] - q[0]) / (1 - 2 * al)
    if h == 0:
        h = 3.5 * math.sqrt(_r_var(x))
    if h > 0:
        return math.ceil((x.max() - x.min()) / h * x.size ** (1 / 3))
    return 1


def _hist_counts(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Counts of ``hist(x, breaks, plot = FALSE)``, written from R's ``?hist``.

    Cells are right-closed, ``(b_i, b_{i+1}]``, the first one closed on the left as well
    (``right = TRUE, include.lowest = TRUE``). As ``?hist`` documents, a tolerance of ``1e-7``
    times the median cell width is applied when counting values on the edges: here every edge is
    moved outwards-right by it (the lowest one down), so that a value a rounding error above an
    edge is counted in the cell the edge closes. (``?hist`` substitutes something else for the
    median with four cells or fewer without saying what; fvdid keeps the median, identical for
    the equal cells of :func:`_nclass_ss`.)
    """
    widths = np.diff(breaks)
    fuzz = 1e-7 * float(np.median(widths)) if widths.size else 0.0
    edges = breaks + fuzz
    edges[0] = breaks[0] - fuzz
    # cell i holds edges[i] < x <= edges[i + 1]; searchsorted(side="left") gives the first edge
    # at or above x, so the cell is that position minus one
    cell = np.searchsorted(edges, x, side="left") - 1
    inside = (cell >= 0) & (cell < widths.size)
    return np.bincount(cell[inside], minlength=widths.size)


def _nclass_ss(x: np.ndarray) -> int:
    """Number of cutpoints by the Shimazaki–Shinomoto (2007) rule (cem's ``"ss"``).

    Shimazaki and Shinomoto ("A method for selecting the bin size of a time histogram", *Neural
    Computation* 19, 2007) choose the bin width ``D`` of a histogram with equal bins that
    minimises ``C(D) = (2 k - v) / D^2``, where ``k`` is the mean and ``v`` the (biased, divided
    by the number of bins) variance of the bin counts. The candidates are ``m = 1..99`` bins of
    ``[min, max]`` (2 to 100 cutpoints, cem's search range); the result is the number of
    cutpoints, ``m + 1``, of the cheapest candidate (the first one on ties). cem's own
    implementation is not followed; on the parity data both choose the same number.
    """
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return 1
    costs = []
    for bins in range(1, 100):
        counts = _hist_counts(x, _r_seq(lo, hi, bins + 1)).astype(float)
        width = (hi - lo) / bins
        mean = counts.mean()
        var = float(np.mean((counts - mean) ** 2))
        costs.append((2.0 * mean - var) / width**2)
    return int(np.argmin(costs)) + 2


def _bincode(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """``cut(x, breaks, include.lowest = TRUE, labels = FALSE)`` as 0-based codes, -1 outside/NA."""
    idx = np.searchsorted(breaks, x, side="left") - 1
    idx[x == breaks[0]] = 0
    bad = ~((idx >= 0) & (idx < breaks.size - 1)) | np.isnan(x)
    idx[bad] = -1
    return idx.astype(np.int64)


# --------------------------------------------------------------------------------------------
# coarsening
# --------------------------------------------------------------------------------------------


def is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s.dtype)) and not pd.api.types.is_bool_dtype(s.dtype)


def as_float(s: pd.Series) -> np.ndarray:
    return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _resolve_breaks(
    x: np.ndarray,
    spec: Any,
    column: str,
    notes: list[str],
    *,
    what: str = "cutpoints",
    index: pd.Index | None = None,
) -> np.ndarray | None:
    """Cutpoints actually used for a numeric column (``None``: the column is not coarsened)."""
    if spec is None:
        spec = "sturges"
    finite = x[~np.isnan(x)]
    if isinstance(spec, str):
        rule = spec.lower()
        if rule not in _RULES:
            raise FvdidInputError(
                f"{what} for column {column!r} is {spec!r}; expected one of {list(_RULES)}, "
                "an integer number of cutpoints or a list of cutpoints"
            )
        if rule != "sturges" and finite.size < x.size:
            notes.append(
                f"{column}: the {rule!r} rule was computed on the {finite.size} non-missing values "
                "(R's cem stops with an error on missing values here)"
            )
        if rule == "sturges":
            spec = _nclass_sturges(x.size)
        elif rule == "scott":
            spec = nclass_scott(finite)
        elif rule == "fd":
            spec = _nclass_fd(finite)
        else:
            spec = _nclass_ss(finite)
    if isinstance(spec, (bool, np.bool_)):
        raise FvdidInputError(f"{what} for column {column!r} must not be a boolean")
    if isinstance(spec, (int, np.integer)) or (
        isinstance(spec, (float, np.floating)) and not isinstance(spec, bool)
    ):
        count = math.ceil(float(spec))
        if count < 0:
            raise FvdidInputError(
                f"{what} for column {column!r} is {spec}; expected a non-negative number of cutpoints"
            )
        breaks = _r_seq(float(finite.min()), float(finite.max()), count)
        breaks = pd.unique(breaks)
        return breaks if breaks.size > 1 else None
    try:
        breaks = np.asarray(list(spec), dtype=float)
    except (TypeError, ValueError) as exc:
        raise FvdidInputError(
            f"{what} for column {column!r} must be a rule name, a number of cutpoints or a list "
            f"of numbers; got {spec!r}"
        ) from exc
    if breaks.size < 2 or np.isnan(breaks).any():
        raise FvdidInputError(
            f"{what} for column {column!r} must hold at least two non-missing cutpoints; "
            f"got {list(spec)!r}"
        )
    breaks = np.sort(pd.unique(breaks))
    outside = ~np.isnan(x) & ((x < breaks[0]) | (x > breaks[-1]))
    if outside.any():
        raise FvdidInputError(
            f"{what} for column {column!r} span [{breaks[0]:g}, {breaks[-1]:g}] but the column "
            f"ranges over [{finite.min():g}, {finite.max():g}]; cutpoints must cover every "
            "non-missing value; outside: "
            + describe_rows(index[outside] if index is not None else np.flatnonzero(outside))
        )
    return breaks


def _exact_codes(s: pd.Series) -> np.ndarray:
    """Codes of an exactly matched column; missing values get a level of their own."""
    if is_numeric(s):
        # R pastes the coarsened values with 15 significant digits before comparing them.
        v = as_float(s)
        uniq, inv = np.unique(v, return_inverse=True)
        labels = np.array([f"{u:.15g}" for u in uniq], dtype=object)
        codes, _ = pd.factorize(labels[inv.ravel()], use_na_sentinel=True)
    else:
        codes, _ = pd.factorize(s, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    codes[codes < 0] = codes.max() + 1 if codes.size else 0
    return codes


def _group_codes(s: pd.Series, groups: Sequence[Sequence[Any]], column: str) -> np.ndarray:
    """Codes after merging the values of each group (``cem``'s ``grouping``)."""
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence):
        raise FvdidInputError(
            f"grouping for column {column!r} must be a list of lists of values; got {groups!r}"
        )
    out = np.full(len(s), -1, dtype=np.int64)
    taken = np.zeros(len(s), dtype=bool)
    numeric = is_numeric(s)
    for gi, group in enumerate(groups):
        if isinstance(group, (str, bytes)) or not isinstance(group, Sequence):
            group = [group]
        values = list(group)
        want_na = any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)
        plain = [v for v in values if not (v is None or (isinstance(v, float) and math.isnan(v)))]
        hit = s.isin(plain).to_numpy(dtype=bool, copy=True)
        if not numeric:
            hit |= s.astype(str).isin([str(v) for v in plain]).to_numpy(dtype=bool) & s.notna().to_numpy()
        if want_na:
            hit |= s.isna().to_numpy()
        if (hit & taken).any():
            raise FvdidInputError(
                f"grouping for column {column!r}: group {gi + 1} ({values!r}) repeats values "
                "already listed in an earlier group"
            )
        taken |= hit
        out[hit] = gi
    if not taken.any():
        raise FvdidInputError(
            f"grouping for column {column!r} matches none of its values; "
            f"values present: {sorted(map(str, s.dropna().unique()))[:10]}"
        )
    rest = ~taken
    if rest.any():
        out[rest] = len(groups) + _exact_codes(s[rest])
    return out


def combine(codes: list[np.ndarray], n: int) -> np.ndarray:
    """First-appearance ids (0-based) of the rows' code tuples (mixed radix, re-densified)."""
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for c in codes:
        k = int(c.max()) + 1 if c.size else 1
        if size * k >= 2**62:
            key, uniq = pd.factorize(key)
            key = np.asarray(key, dtype=np.int64)
            size = len(uniq)
        key = key * k + c
        size *= k
    ids, _ = pd.factorize(key)
    return np.asarray(ids, dtype=np.int64)


def coarsen(
    data: pd.DataFrame,
    covariates: Sequence[str],
    cutpoints: Mapping[str, Any] | None,
    grouping: Mapping[str, Sequence[Sequence[Any]]] | None,
    notes: list[str],
    *,
    what: str = "cutpoints",
) -> tuple[list[np.ndarray], dict[str, list[float] | None]]:
    """Integer codes per covariate (missing = own level) and the cutpoints used."""
    cutpoints = dict(cutpoints or {})
    grouping = dict(grouping or {})
    codes: list[np.ndarray] = []
    used: dict[str, list[float] | None] = {}
    for col in covariates:
        s = data[col]
        if s.isna().all():
            raise FvdidInputError(
                f"covariate {col!r} is missing in all {len(s)} rows; expected at least one value"
            )
        if col in grouping:
            codes.append(_group_codes(s, grouping[col], col))
            used[col] = None
            continue
        if is_numeric(s):
            x = as_float(s)
            br = _resolve_breaks(x, cutpoints.get(col), col, notes, what=what, index=s.index)
            if br is None:
                codes.append(_exact_codes(s))
                used[col] = None
            else:
                c = _bincode(x, br)
                c[c < 0] = br.size - 1  # missing values: a level of their own
                codes.append(c)
                used[col] = [float(b) for b in br]
        else:
            codes.append(_exact_codes(s))
            used[col] = None
    return codes, used


def check_options(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    cutpoints: Mapping[str, Any] | None,
    grouping: Mapping[str, Any] | None,
) -> None:
    if treatment in covariates:
        raise FvdidInputError(f"the treatment column {treatment!r} cannot also be a covariate")
    for name, opt in (("cutpoints", cutpoints), ("grouping", grouping)):
        if opt is None:
            continue
        if not isinstance(opt, Mapping):
            raise FvdidInputError(f"{name} must be a dict column -> specification; got {opt!r}")
        extra = [c for c in opt if c not in covariates]
        if extra:
            raise FvdidInputError(
                f"{name} names column(s) {extra} that are not covariates; covariates: {list(covariates)}"
            )
    if cutpoints:
        for col, spec in cutpoints.items():
            if spec is None or (grouping and col in grouping):
                continue
            if not is_numeric(data[col]):
                raise FvdidInputError(
                    f"cutpoints given for column {col!r}, which is not numeric "
                    f"(dtype {data[col].dtype}); expected a numeric column (use grouping instead)"
                )
