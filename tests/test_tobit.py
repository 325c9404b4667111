"""fvdid.tobit: limits, symmetry, an independent likelihood maximisation, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from fvdid.errors import FvdidInputError
from fvdid.tobit import tobit


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 300
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 2, n)
    ystar = 0.4 + 1.0 * x1 - 0.7 * x2 + 1.3 * rng.normal(size=n)
    return pd.DataFrame({"ystar": ystar, "y": np.maximum(ystar, 0), "x1": x1, "x2": x2})


def test_no_censoring_is_ols_with_ml_scale(data: pd.DataFrame) -> None:
    with pytest.warns(UserWarning, match="no censoring point"):
        fit = tobit("ystar ~ x1 + x2", data, left=-np.inf)
    X = np.column_stack([np.ones(len(data)), data.x1, data.x2])
    beta, rss = np.linalg.lstsq(X, data.ystar, rcond=None)[:2]
    # closed form on both sides once Newton has converged (to 1e-12)
    np.testing.assert_allclose(fit.params.to_numpy(), beta, atol=1e-10)
    assert fit.scale == pytest.approx(np.sqrt(rss[0] / len(data)), abs=1e-10)
    assert fit.n_left == 0 and fit.n_right == 0
    # the information of (beta, log sigma) is block diagonal at the normal MLE:
    # var(beta) = sigma^2 (X'X)^-1 and var(log sigma) = 1 / (2n)
    V = fit.scale**2 * np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), np.sqrt(np.diag(V)), atol=1e-10)
    assert fit.log_scale_se == pytest.approx(np.sqrt(1 / (2 * len(data))), abs=1e-10)


def test_matches_independent_maximisation(data: pd.DataFrame) -> None:
    fit = tobit("y ~ x1 + x2", data, left=0.0)
    X = np.column_stack([np.ones(len(data)), data.x1, data.x2])
    y = data.y.to_numpy()
    cens = y <= 0

    def negll(p: np.ndarray) -> float:
        xb, s = X @ p[:3], np.exp(p[3])
        return -(
            stats.norm.logcdf(-xb[cens] / s).sum() + stats.norm.logpdf(y[~cens], xb[~cens], s).sum()
        )

    res = optimize.minimize(negll, np.zeros(4), method="BFGS", options={"gtol": 1e-9})
    # BFGS with gtol 1e-9 on a log-likelihood ~ -500 pins the parameters to ~1e-7
    np.testing.assert_allclose(fit.params.to_numpy(), res.x[:3], atol=1e-6)
    assert fit.log_scale == pytest.approx(res.x[3], abs=1e-6)
    assert fit.loglik == pytest.approx(-res.fun, abs=1e-8)
    assert fit.n_left == int(cens.sum())


def test_left_and_right_censoring_are_mirror_images(data: pd.DataFrame) -> None:
    left = tobit("y ~ x1 + x2", data, left=0.0)
    right = tobit("my ~ x1 + x2", data.assign(my=-data.y), left=-np.inf, right=0.0)
    # y -> -y swaps the censoring side and negates the coefficients; same Newton path
    pd.testing.assert_series_equal(-left.params, right.params, atol=1e-10, rtol=0)
    pd.testing.assert_series_equal(left.std_errors, right.std_errors, atol=1e-10, rtol=0)
    assert left.scale == pytest.approx(right.scale, abs=1e-10)


def test_two_sided_counts_and_tidy(data: pd.DataFrame) -> None:
    fit = tobit("y ~ x1 + x2", data, left=0.0, right=2.0)
    assert fit.n_left == int((data.y <= 0).sum()) and fit.n_right == int((data.y >= 2).sum())
    t = fit.tidy()
    assert list(t["term"]) == ["(Intercept)", "x1", "x2", "Log(scale)"]
    assert list(fit.vcov.index) == ["(Intercept)", "x1", "x2", "Log(scale)"]


def test_missing_values_dropped_and_counted(data: pd.DataFrame) -> None:
    d = data.copy()
    d.loc[[1, 2], "x1"] = np.nan
    fit = tobit("y ~ x1 + x2", d)
    assert fit.n_dropped == 2 and fit.nobs == len(d) - 2


def test_bad_input(data: pd.DataFrame) -> None:
    with pytest.raises(FvdidInputError, match="below"):
        tobit("y ~ x1", data, left=1.0, right=0.0)
    with pytest.raises(FvdidInputError, match="every row"):
        tobit("y ~ x1", data.assign(y=0.0))
    with pytest.raises(FvdidInputError, match="'x9'"):
        tobit("y ~ x9", data)
