"""The lean coefficients (fvdid.estimators._ols_lean) against fvdid.ols, and fvdid._blas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvdid import ols
from fvdid.errors import FvdidInputError
from fvdid.estimators._ols_lean import wls_coefficients


def _data(seed: int = 3, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "g": rng.integers(0, 2, n), "t": rng.integers(0, 9, n),
        "x1": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], n),
        "w": rng.uniform(0.2, 3.0, n),
    })
    d["x2"] = 2 * d["x1"] - 1  # collinear with x1 and the fixed effects: dropped
    d["y"] = 0.5 * d["x1"] + (d["c"] == "b") + rng.normal(size=n)
    d["z"] = rng.normal(size=n) + d["t"]
    d.loc[rng.choice(n, 20, replace=False), "w"] = 0.0  # dropped as ols drops them
    na = rng.choice(n, 15, replace=False)
    d.loc[na, "x1"] = np.nan  # dropped for both outcomes
    return d


@pytest.mark.parametrize("formula", ["y ~ x1 + x2 + C(c) | g + t", "y ~ x1 + C(c) | t", "y ~ x1 + C(c)"])
def test_coefficients_are_ols_for_every_outcome(formula: str) -> None:
    d = _data()
    lean = wls_coefficients(formula, d, weights="w", outcomes=("z",))
    for j, y in enumerate(("y", "z")):
        fit = ols(formula.replace("y ~", f"{y} ~", 1), d, weights="w")
        assert lean.terms == list(fit.params.index)  # same kept terms, same order
        got = pd.Series(lean.params[:, j], index=lean.terms)
        # the same Householder QR; the extra right-hand side changes rounding only
        np.testing.assert_allclose(got.reindex(fit.params.index), fit.params, rtol=1e-10, atol=1e-12)
    if "x2" in formula:
        assert lean.dropped == ["x2"] and np.isnan(lean.coef("x2"))


def test_outcomes_missing_on_other_rows_are_refused() -> None:
    d = _data()
    d.loc[d.index[:3], "z"] = np.nan
    with pytest.raises(FvdidInputError, match="'z'"):
        wls_coefficients("y ~ x1 | t", d, weights="w", outcomes=("z",))


def test_single_threaded_blas_sets_and_restores() -> None:
    from fvdid._blas import _libraries, single_threaded_blas

    libs = _libraries()
    if not libs:
        pytest.skip("no OpenBLAS found in /proc/self/maps: the context manager is a no-op here")
    before = [get() for get, _ in libs]
    with single_threaded_blas():
        assert [get() for get, _ in libs] == [1] * len(libs)
    assert [get() for get, _ in libs] == before


def test_im_standard_error_is_group_t_tests() -> None:
    from fvdid.estimators.group_t import group_t_test
    from fvdid.stages.placebo_pairs import _im_se

    rng = np.random.default_rng(1)
    est, w = rng.normal(size=6), rng.uniform(10, 300, 6)
    ref = group_t_test(dict(enumerate(est)), dict(enumerate(w))).std_error
    assert _im_se(est, w) == pytest.approx(ref, rel=1e-12)  # summation order only
    assert np.isnan(_im_se(est[:1], w[:1]))
