"""The shortcuts of the robustness models (issue 16) compute what the plain paths compute.

Designs built once and updated for the imputed columns, the Gram-matrix proof of full rank, the
sparse-aware Hessian products, the sparse group sums, the TSQR residual sum of squares and the
term rows merged once: each against the plain computation it replaces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvdid.errors import FvdidInputError
from fvdid.estimators._formula import design_matrix
from fvdid.estimators.random_effects import _lstsq_ssr, clearly_full_rank, group_indicator
from fvdid.estimators.tobit import WeightedGram
from fvdid.stages.robustness import _Designs, _TermRows

FORMULA = "y ~ fv + x + C(g) + C(period)"


def _sets(seed: int = 0, n: int = 3000, m: int = 3) -> list[pd.DataFrame]:
    """``m`` completed data sets differing in the imputed ``x`` and ``g`` of a tenth of the rows."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "y": rng.normal(size=n), "fv": rng.integers(0, 2, n), "x": rng.normal(size=n),
        "g": rng.choice(["a", "b", "c"], n), "period": rng.integers(0, 40, n).astype(str),
        "weight": rng.uniform(0.5, 1.5, n), "child_id": [f"c{i}" for i in range(n)],
    })
    miss = rng.uniform(size=n) < 0.1
    return [d.assign(x=np.where(miss, rng.normal(size=n), d["x"]),
                     g=np.where(miss, rng.choice(["a", "b", "c"], n), d["g"])) for _ in range(m)]


def _same_design(a, b) -> None:
    assert a.names == b.names
    np.testing.assert_array_equal(a.X, b.X)  # the same columns: the same floats
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert a.index.equals(b.index) and a.n_dropped == b.n_dropped and a.notes == b.notes
    pd.testing.assert_frame_equal(a.frame, b.frame, check_like=True)


def test_designs_of_the_imputations_are_design_matrix_exactly() -> None:
    sets = _sets()
    build = _Designs(FORMULA, ["weight"])
    for d in sets:
        _same_design(build(d), design_matrix(FORMULA, d, extra=["weight"]))


def test_designs_with_missing_rows_or_a_new_level_are_built_in_full() -> None:
    sets = _sets(1)
    sets[1] = sets[1].assign(x=sets[1]["x"].where(sets[1].index % 97 != 0))  # rows dropped
    sets[2] = sets[2].assign(g=np.where(sets[2].index == 5, "z", sets[2]["g"]))  # a new level
    build = _Designs(FORMULA, ["weight"])
    for d in sets:
        _same_design(build(d), design_matrix(FORMULA, d, extra=["weight"]))


def test_a_rank_deficient_imputation_raises_as_design_matrix() -> None:
    sets = _sets(2)
    sets[1] = sets[1].assign(x=sets[1]["fv"] * 2.0)  # x collinear with fv in this data set only
    build = _Designs(FORMULA, ["weight"])
    build(sets[0])
    with pytest.raises(FvdidInputError) as fast:
        build(sets[1])
    with pytest.raises(FvdidInputError) as plain:
        design_matrix(FORMULA, sets[1], extra=["weight"])
    assert str(fast.value) == str(plain.value)


def test_full_rank_is_shown_only_with_a_margin() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 6))
    assert clearly_full_rank(X)
    near = X.copy()
    near[:, 5] = near[:, 4] + 1e-9 * rng.normal(size=500)  # near collinear: not shown here
    assert not clearly_full_rank(near)
    assert not clearly_full_rank(np.column_stack([X, np.zeros(500)]))
    assert not clearly_full_rank(X[:4])  # fewer rows than columns


def test_weighted_gram_is_the_dense_product() -> None:
    sets = _sets(4)
    X = design_matrix(FORMULA, sets[0]).X
    g = WeightedGram(X)
    assert g.split  # the period dummies are held sparse
    v = np.random.default_rng(4).uniform(-2, 1, len(X))
    b = np.random.default_rng(5).normal(size=X.shape[1])
    # other summation orders of the same sums: equal to rounding (1e-12 relative is 1e3 eps
    # times the largest entry, far below any difference a wrong entry would make)
    dense = (X * v[:, None]).T @ X
    np.testing.assert_allclose(g(v), dense, rtol=0, atol=1e-12 * np.abs(dense).max())
    np.testing.assert_allclose(g.xtv(v), X.T @ v, rtol=0, atol=1e-12 * np.abs(X.T @ v).max())
    np.testing.assert_allclose(g.xb(b), X @ b, rtol=0, atol=1e-12 * np.abs(X @ b).max())


def test_group_indicator_sums_are_bincounts_exactly() -> None:
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 50, 2000)
    M = rng.normal(size=(2000, 4)) * 10.0 ** rng.uniform(-6, 6, size=(2000, 4))
    S = group_indicator(codes, 50) @ M
    want = np.column_stack([np.bincount(codes, weights=M[:, j], minlength=50) for j in range(4)])
    np.testing.assert_array_equal(S, want)  # the same additions in the same order


def test_tsqr_residual_sum_of_squares_is_lstsq() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5000, 12))
    y = X @ rng.normal(size=12) + rng.normal(size=5000)
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    assert _lstsq_ssr(X, y) == pytest.approx(float(e @ e), rel=1e-12)  # rounding only
    Xd = np.column_stack([X, X[:, 0] + X[:, 1]])  # rank deficient: lstsq's minimum-norm fit
    e = y - Xd @ np.linalg.lstsq(Xd, y, rcond=None)[0]
    assert _lstsq_ssr(Xd, y) == pytest.approx(float(e @ e), rel=1e-10)  # rounding only


def test_term_rows_merged_once_are_the_merge() -> None:
    sets = [d.assign(pair_id=1) for d in _sets(8, n=300)]
    terms = pd.DataFrame({"child_id": np.repeat(sets[0]["child_id"].to_numpy()[::2], 3),
                          "term": np.tile([1, 2, 3], 150)})
    keep = ["pair_id", "child_id", "fv", "x", "g"]
    rows = _TermRows(sets[0], keep, terms)
    for d in sets:
        want = d[keep].merge(terms, on="child_id", how="inner")
        want["pair_child"] = want["pair_id"].astype(str) + ":" + want["child_id"].astype(str)
        pd.testing.assert_frame_equal(rows.merged(d), want)
