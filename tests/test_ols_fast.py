"""The fast paths of fvdid.ols: cell-level absorption, TSQR, counting factorisation, reuse.

Each fast path is checked against the slow definition it replaces (dense dummy projection,
LAPACK QR on the whole matrix, ``pd.factorize(sort=True)``, statsmodels on explicit dummies).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from fvdid.estimators._design import Absorber, coded_counts, qr_r, sorted_codes
from fvdid.ols import ols


@pytest.mark.parametrize(
    "values",
    [
        np.array([5, 3, 3, 9, 5, 7]),  # gaps: codes by rank, not by offset
        np.array([-4, 2, -4, 0, 2]),  # negative integers
        np.array([1, 2, 3, 1, 2, 3], dtype=np.uint8),  # every value of the range present
        np.array([10**12, 7, 10**12]),  # range far beyond the length: the pandas path
        np.array(["b", "a", "c", "a"], dtype=object),
        np.array([True, False, True]),
        np.array([2.5, 1.0, 2.5, -3.0]),
    ],
)
def test_sorted_codes_are_pandas_sorted_factorize(values: np.ndarray) -> None:
    ref, uniques = pd.factorize(pd.Series(values), sort=True)
    codes, n_levels = sorted_codes(pd.Series(values))
    np.testing.assert_array_equal(codes, ref)
    assert n_levels == len(uniques)
    codes2, counts = coded_counts(values)
    np.testing.assert_array_equal(codes2, ref)
    np.testing.assert_array_equal(counts, np.bincount(ref))


def _dense_projection(codes: list[np.ndarray], w: np.ndarray, M: np.ndarray) -> np.ndarray:
    D = np.column_stack([(c[:, None] == np.arange(c.max() + 1)).astype(float) for c in codes])
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(sw[:, None] * D, sw[:, None] * M, rcond=None)[0]
    return M - D @ coef


@pytest.mark.parametrize("n_fe", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_cell_absorption_is_the_dense_projection(n_fe: int, weighted: bool) -> None:
    rng = np.random.default_rng(n_fe + 10 * weighted)
    n = 600
    codes = [rng.integers(0, L, n) for L in (30, 7, 4)[:n_fe]]
    codes[0][:3] = 29  # a rare level; some level combinations never occur
    codes = [pd.factorize(c, sort=True)[0].astype(np.intp) for c in codes]
    w = rng.uniform(0.2, 4.0, n)
    M = rng.normal(size=(n, 3)) + 5.0 * codes[0][:, None]
    ab = Absorber(codes, w if weighted else None)
    got = ab.project(M)
    ref = _dense_projection(codes, w if weighted else np.ones(n), M)
    # 1e-10: both are exact least-squares projections; they differ only in rounding
    np.testing.assert_allclose(got, ref, atol=1e-10)
    # rank of the dummies: levels minus one redundancy per extra (connected) fixed effect
    D = np.column_stack([(c[:, None] == np.arange(c.max() + 1)).astype(float) for c in codes])
    assert ab.n_fe == np.linalg.matrix_rank(D)


@pytest.mark.parametrize("p", [1, 3, 6])
def test_tsqr_r_factor_is_the_householder_one(p: int) -> None:
    rng = np.random.default_rng(p)
    M = rng.normal(size=(40_000 + 123, p))  # tall enough for TSQR; a ragged last block
    M[:, -1] = M[:, 0] * 2.0 + 1e-9 * rng.normal(size=len(M))  # nearly collinear (p = 1: scaled)
    R = qr_r(M)
    ref = np.linalg.qr(M, mode="r")
    # both are backward-stable Householder factorisations of the same matrix: entries agree to
    # rounding relative to |R| (1e-10); the tiny last pivot of the nearly collinear column
    # (~1e-9 of the others) to 1e-6 of itself, i.e. still ~1e-15 of |R|
    np.testing.assert_allclose(np.abs(np.diag(R)), np.abs(np.diag(ref)),
                               rtol=1e-6 if p > 1 else 1e-12)
    np.testing.assert_allclose(np.abs(R), np.abs(ref), atol=1e-10 * np.abs(ref).max())


def _big(seed: int = 3, n: int = 60_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    la = rng.integers(1, 21, n)
    q = rng.integers(1, 9, n)
    x1 = rng.normal(size=n) + 0.3 * la
    x2 = (rng.uniform(size=n) < 0.4).astype(float)
    y = 0.4 * x1 - 0.3 * x2 + 0.1 * la + 0.05 * q + rng.normal(size=n)
    return pd.DataFrame({"la": la, "quarter": q, "x1": x1, "x2": x2, "y": y,
                         "w": rng.uniform(0.5, 2.0, n), "x3": 2.0 * x1 - x2})


@pytest.mark.parametrize("weights", [None, "w"])
def test_large_two_way_fit_matches_dense_dummies(weights: str | None) -> None:
    """n large enough for the TSQR path; CR1 by a fixed-effect column (codes reused)."""
    df = _big()
    fit = ols("y ~ x1 + x2 + x3 | la + quarter", df, weights=weights, vcov="CR1", cluster="la")
    assert list(fit.params.index) == ["x1", "x2"]  # x3 = 2 x1 - x2 dropped, as lm's NA
    assert any("'x3'" in n for n in fit.notes)
    X = pd.concat([df[["x1", "x2"]], pd.Series(1.0, index=df.index, name="const"),
                   pd.get_dummies(df["la"], prefix="la", drop_first=True, dtype=float),
                   pd.get_dummies(df["quarter"], prefix="q", drop_first=True, dtype=float)], axis=1)
    ref = sm.WLS(df["y"], X, weights=df["w"] if weights else 1.0).fit(
        cov_type="cluster", cov_kwds={"groups": df["la"]}
    )
    # 1e-10: exact least squares both ways, only rounding differs
    np.testing.assert_allclose(fit.params[["x1", "x2"]], ref.params[["x1", "x2"]], rtol=1e-10)
    # statsmodels' cluster factor is G/(G-1) (n-1)/(n-k) with k = all parameters, as CR1 here
    np.testing.assert_allclose(fit.std_errors[["x1", "x2"]], ref.bse[["x1", "x2"]], rtol=1e-8)
    np.testing.assert_allclose(fit.resid.loc[df.index], ref.resid.loc[df.index], atol=1e-9)


def test_cluster_on_a_fixed_effect_equals_cluster_on_its_copy() -> None:
    df = _big(n=5_000)
    df["la_copy"] = df["la"].map(lambda v: f"LA{v:02d}")  # another dtype: pandas factorisation
    a = ols("y ~ x1 + x2 | la + quarter", df, vcov="CR1", cluster="la")
    b = ols("y ~ x1 + x2 | la + quarter", df, vcov="CR1", cluster="la_copy")
    # identical code paths after the cluster codes: equal to rounding (in fact bit for bit)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-14)
    assert a.n_clusters == b.n_clusters == 20


def test_no_copy_path_leaves_the_frame_alone_and_keeps_its_labels() -> None:
    df = _big(n=3_000)
    df.index = [f"r{i}" for i in range(len(df))]
    before = df.copy()
    fit = ols("y ~ x1 + x2 | la + quarter", df, vcov="CR1", cluster="la")
    pd.testing.assert_frame_equal(df, before)
    assert fit.resid.index.equals(df.index) and fit.n_dropped == 0
    assert fit.design.column("w").equals(df["w"])
    # the same fit on a frame with a dropped row, compared by label on the common rows
    df2 = df.copy()
    df2.loc["r5", "x1"] = np.nan
    fit2 = ols("y ~ x1 + x2 | la + quarter", df2, vcov="CR1", cluster="la")
    assert fit2.n_dropped == 1 and "r5" not in fit2.resid.index
    assert fit2.design.column("w").equals(df["w"].drop("r5"))
