"""Firth's penalised logit (fvdid.estimators.logit_firth): known answers.

In a saturated model (one dummy per cell) the hat values of a cell sum to one, so Firth's
modified score in cell ``c`` is ``s_c − n_c p_c + ½ − p_c`` and the estimate is
``p_c = (s_c + ½) / (n_c + 1)`` (Haldane–Anscombe's half-count), finite when a cell has no
events; with case weights ``s_c`` and ``n_c`` are the weighted sums.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from fvdid.estimators.logit import fit_binary_logit
from fvdid.estimators.logit_firth import fit_firth_logit

# Every comparison is with a closed form or another converged fit computed in double precision:
# 1e-9 allows for the Newton iterations' stopping rule (steps below 1e-10 relative).
TOL = 1e-9


def _cells(counts: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Cell-dummy design and outcome for cells of (events, non-events)."""
    rows, ys = [], []
    for j, (s, f) in enumerate(counts):
        e = np.zeros(len(counts))
        e[j] = 1.0
        rows += [e] * (s + f)
        ys += [1.0] * s + [0.0] * f
    return np.array(rows), np.array(ys)


def test_saturated_model_adds_half_an_event_to_each_cell() -> None:
    counts = [(3, 17), (0, 15), (1, 40), (12, 12)]  # cell 2: no event (separated)
    X, y = _cells(counts)
    beta, converged, _ = fit_firth_logit(X, y, np.ones(len(y)))
    assert converged
    want = [logit((s + 0.5) / (s + f + 1)) for s, f in counts]
    np.testing.assert_allclose(beta, want, rtol=0, atol=TOL)


def test_saturated_model_with_case_weights() -> None:
    rng = np.random.default_rng(3)
    X, y = _cells([(2, 30), (0, 25), (5, 50)])
    w = rng.uniform(0.2, 3.0, len(y))
    beta, converged, _ = fit_firth_logit(X, y, w)
    assert converged
    cell = X.argmax(axis=1)
    s = np.bincount(cell, weights=w * y)
    n = np.bincount(cell, weights=w)
    np.testing.assert_allclose(expit(beta), (s + 0.5) / (n + 1), rtol=0, atol=TOL)


def test_integer_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(7)
    n = 300
    X = np.column_stack([np.ones(n), rng.standard_normal(n), rng.integers(0, 2, n)])
    y = (rng.random(n) < expit(-2 + 0.8 * X[:, 1] + 0.5 * X[:, 2])).astype(float)
    w = rng.integers(1, 4, n).astype(float)
    rep = np.repeat(np.arange(n), w.astype(int))
    b_w, ok_w, _ = fit_firth_logit(X, y, w)
    b_r, ok_r, _ = fit_firth_logit(X[rep], y[rep], np.ones(len(rep)))
    assert ok_w and ok_r
    np.testing.assert_allclose(b_w, b_r, rtol=0, atol=TOL)


def test_shrinks_the_mle_towards_zero_by_its_first_order_bias() -> None:
    """Firth ≈ MLE − b(β̂) (Cox–Snell's bias) to O(n⁻²): checked on a large sample."""
    rng = np.random.default_rng(11)
    n = 20_000
    X = np.column_stack([np.ones(n), rng.standard_normal(n)])
    y = (rng.random(n) < expit(-3 + 0.7 * X[:, 1])).astype(float)
    w = np.ones(n)
    b_ml, ok, _ = fit_binary_logit(X, y, w)
    b_f, ok_f, _ = fit_firth_logit(X, y, w)
    assert ok and ok_f
    p = expit(X @ b_ml)
    v = p * (1 - p)
    Hi = np.linalg.inv((X * v[:, None]).T @ X)
    h = v * np.einsum("ij,jk,ik->i", X, Hi, X)
    bias = Hi @ (X.T @ (h * (p - 0.5)))  # Firth 1993: b = -(X'VX)^-1 X' h (1/2 - p)
    diff = b_ml - b_f
    # the difference equals the first-order bias up to a second-order remainder, relative
    # O(1/events) to the bias itself: 1,142 events here (1/1142 = 9e-4; measured 4e-4), so 3e-3
    np.testing.assert_allclose(diff, bias, rtol=3e-3)
    assert np.all(np.abs(diff) > 0)


def test_singular_information_is_an_error() -> None:
    X = np.column_stack([np.ones(10), np.ones(10)])
    with pytest.raises(np.linalg.LinAlgError):
        fit_firth_logit(X, np.r_[np.ones(3), np.zeros(7)], np.ones(10))
