"""The coefficients of a weighted :func:`fvdid.ols` fit for several outcomes at once, nothing else.

Private to fvdid. The placebo-pair stage (:mod:`fvdid.stages._placebo_fit`) fits the same cell
design to two outcomes (the outcome and the real FV indicator) for ~100 pairs × 5 imputations
and reads one coefficient of each fit: :func:`fvdid.ols` would build the whole result (variances,
residuals, fitted values, read-only copies of every array) each time. This is the part of
:func:`fvdid.ols` up to the coefficients, step for step with the same helpers (the formula's
columns, the exact fixed-effect absorption, lm's collinearity rule on the same Householder QR),
with the outcomes as several right-hand sides of one QR: the same numbers as one
:func:`fvdid.ols` call per outcome to rounding (tests/test_ols_lean.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.linalg as sla

from fvdid.errors import FvdidInputError
from fvdid.estimators._design import Absorber, _independent, coded_counts
from fvdid.estimators._formula import column_list, numeric_column, parse_formula
from fvdid.estimators.ols import _COLLINEAR_TOL  # the rank tolerance of fvdid.ols (lm's)

__all__ = ["LeanFit", "solve_weighted", "wls_coefficients"]


class LeanFit:
    """Coefficients by term (one column per outcome) and the terms dropped as collinear."""

    __slots__ = ("dropped", "params", "terms")

    def __init__(self, terms: list[str], params: np.ndarray, dropped: list[str]):
        self.terms = terms
        self.params = params
        self.dropped = dropped

    def coef(self, term: str, j: int = 0) -> float:
        """The coefficient of ``term`` for outcome ``j`` (NaN when dropped)."""
        try:
            return float(self.params[self.terms.index(term), j])
        except ValueError:
            return float("nan")


def wls_coefficients(formula: str, data: pd.DataFrame, *, weights: str,
                     outcomes: Sequence[str] = ()) -> LeanFit:
    """``ols(formula, data, weights=weights).params`` for the formula's outcome and ``outcomes``.

    ``outcomes`` are further outcome columns fitted on the same design; each must be missing on
    exactly the rows where the formula's outcome is (the fits then share their rows), else
    :class:`~fvdid.errors.FvdidInputError`. Rows with a missing value or weight 0 are dropped
    as :func:`fvdid.ols` drops them; weights must be non-negative (not checked here).
    """
    pf = parse_formula(formula, allow_fe=True)
    ys = [pf.response, *outcomes]
    cols = list(dict.fromkeys([*pf.columns, weights, *outcomes]))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise FvdidInputError(f"formula {formula!r} / outcomes name column(s) {missing} that are "
                              "not in the data")
    y_na = data[pf.response].isna().to_numpy()
    for o in outcomes:
        if not np.array_equal(data[o].isna().to_numpy(), y_na):
            raise FvdidInputError(f"outcome column {o!r} is missing on other rows than "
                                  f"{pf.response!r}; expected the same rows (fit them apart)")
    na = np.zeros(len(data), dtype=bool)
    for c in cols:
        na |= data[c].isna().to_numpy().reshape(len(data), -1).any(axis=1)
    drop = na | ((data[weights] == 0).to_numpy() & ~na)
    d = data.loc[~drop, cols] if drop.any() else data
    if len(d) == 0:
        raise FvdidInputError("no rows left after dropping missing values and zero weights")
    n = len(d)
    xcols, labels, _ = column_list(pf, d, dummy_label="T.level")
    w = d[weights].to_numpy(dtype=float)
    p_x, m = len(xcols), len(ys)
    XY = np.empty((n, p_x + m))
    for j, col in enumerate(xcols):
        XY[:, j] = col
    for j, c in enumerate(ys):
        XY[:, p_x + j] = numeric_column(d, c)
    absorber = None
    if pf.fe:
        codes, levels = [], []
        for f in pf.fe:
            c, counts = coded_counts(d[f])
            codes.append(c)
            levels.append(len(counts))
        absorber = Absorber(codes, w, levels)
    return solve_weighted(XY, p_x, w, labels, absorber)


def solve_weighted(XY: np.ndarray, p_x: int, w: np.ndarray, labels: Sequence[str],
                   absorber: Absorber | None = None) -> LeanFit:
    """The coefficients of ``XY``'s last columns (outcomes) on its first ``p_x`` (regressors).

    ``XY`` (n × (p_x + m), no missing value, weights ``w`` > 0) is absorbed by ``absorber``
    when given, then fitted by :func:`fvdid.ols`'s steps: lm's collinearity rule on the
    Householder QR of the weighted columns and one triangular solve for the ``m`` outcomes.
    ``labels`` name the regressors. Shared by :func:`wls_coefficients` and the placebo pairs'
    array path (:mod:`fvdid.stages._placebo_fit`), which builds ``XY`` itself.
    """
    m = XY.shape[1] - p_x
    X = XY[:, :p_x]
    XYt = XY if absorber is None else absorber.project(XY)
    sw = np.sqrt(w)
    scale = np.linalg.norm(sw[:, None] * X, axis=0)
    Z = sw[:, None] * XYt
    if m == 1:  # the one outcome as Z's last column: the same matrix, no copy
        keep, R_aug = _independent(Z, scale, _COLLINEAR_TOL, last_is_extra=True)
    else:
        keep, R_aug = _independent(Z[:, :p_x], scale, _COLLINEAR_TOL, extra=Z[:, p_x:])
    k = len(keep)
    beta = (sla.solve_triangular(R_aug[:k, :k], R_aug[:k, k:k + m]) if k
            else np.zeros((0, m)))
    dropped = [labels[j] for j in range(p_x) if j not in keep]
    return LeanFit([labels[j] for j in keep], beta.reshape(k, m), dropped)
