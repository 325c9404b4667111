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


# --- robust covariance -------------------------------------------------------------------


@pytest.fixture(scope="module")
def clustered() -> pd.DataFrame:
    rng = np.random.default_rng(23)
    g = np.repeat(np.arange(20), rng.integers(5, 20, 20))
    n = len(g)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 2, n)
    ystar = 0.3 + x1 - 0.6 * x2 + rng.normal(0, 0.7, 20)[g] + (0.7 + 0.5 * x2) * rng.normal(size=n)
    fw = rng.integers(1, 4, n)
    return pd.DataFrame(
        {"y": np.maximum(ystar, 0), "x1": x1, "x2": x2, "g": g, "fw": fw, "id": np.arange(n)}
    )


def test_integer_weights_equal_replicated_rows(clustered: pd.DataFrame) -> None:
    # case weights: every parameter's score (including Log(scale)) counts w times, so the
    # weighted fit and its CR0 sandwich equal those of the data with each row repeated fw times
    # in its own cluster. An unweighted Log(scale) score (sandwich's estfun.survreg) fails this.
    weighted = tobit("y ~ x1 + x2", clustered, weights="fw", vcov="CR0", cluster="g")
    long = clustered.loc[clustered.index.repeat(clustered.fw)].reset_index(drop=True)
    repl = tobit("y ~ x1 + x2", long, vcov="CR0", cluster="g")
    # same likelihood, both Newton runs converged to 1e-12
    pd.testing.assert_series_equal(weighted.params, repl.params, atol=1e-9, rtol=0)
    pd.testing.assert_frame_equal(weighted.vcov, repl.vcov, atol=1e-10, rtol=0)
    assert weighted.loglik == pytest.approx(repl.loglik, abs=1e-8)  # sum of ~1e3 terms
    assert weighted.n_clusters == repl.n_clusters == 20


def test_small_sample_factors_and_hc_as_singleton_clusters(clustered: pd.DataFrame) -> None:
    f = "y ~ x1 + x2"
    cr0 = tobit(f, clustered, vcov="CR0", cluster="g")
    cr1 = tobit(f, clustered, vcov="CR1", cluster="g")
    hc0 = tobit(f, clustered, vcov="HC0")
    hc1 = tobit(f, clustered, vcov="HC1")
    own = tobit(f, clustered, vcov="CR0", cluster="id")
    n, k, G = len(clustered), 4, 20  # k counts Log(scale), as vcovCL counts estfun's columns
    # the same matrix times a scalar: only rounding differs
    pd.testing.assert_frame_equal(
        cr1.vcov, cr0.vcov * G / (G - 1) * (n - 1) / (n - k), atol=1e-14, rtol=1e-12
    )
    pd.testing.assert_frame_equal(hc1.vcov, hc0.vcov * n / (n - k), atol=1e-14, rtol=1e-12)
    pd.testing.assert_frame_equal(own.vcov, hc0.vcov, atol=1e-14, rtol=1e-12)
    # the point estimate does not depend on the covariance choice (identical computation)
    pd.testing.assert_series_equal(cr1.params, hc0.params, atol=0, rtol=0)
    assert cr1.vcov_type == "CR1" and cr1.n_clusters == G and hc0.n_clusters is None
    assert cr1.log_scale_se == pytest.approx(np.sqrt(cr1.vcov.loc["Log(scale)", "Log(scale)"]))


def test_hc0_meat_matches_numerical_scores(clustered: pd.DataFrame) -> None:
    # per-row scores by central differences of each row's log-likelihood, independently of the
    # analytic derivatives: sandwich = V (S'S) V with V the model covariance
    fit = tobit("y ~ x1 + x2", clustered, vcov="HC0")
    model = tobit("y ~ x1 + x2", clustered)
    X = np.column_stack([np.ones(len(clustered)), clustered.x1, clustered.x2])
    y = clustered.y.to_numpy()
    cens = y <= 0

    def ll_rows(p: np.ndarray) -> np.ndarray:
        xb, s = X @ p[:3], np.exp(p[3])
        return np.where(cens, stats.norm.logcdf(-xb / s), stats.norm.logpdf(y, xb, s))

    theta = np.append(model.params.to_numpy(), model.log_scale)
    h = 1e-6
    S = np.column_stack(
        [(ll_rows(theta + h * e) - ll_rows(theta - h * e)) / (2 * h) for e in np.eye(4)]
    )
    V = model.vcov.to_numpy()
    # central differences with h = 1e-6 are accurate to ~1e-9 per score
    np.testing.assert_allclose(fit.vcov.to_numpy(), V @ (S.T @ S) @ V, atol=1e-8)


def test_robust_bad_input(clustered: pd.DataFrame) -> None:
    with pytest.raises(FvdidInputError, match="needs a cluster"):
        tobit("y ~ x1 + x2", clustered, vcov="CR1")
    with pytest.raises(FvdidInputError, match="only used with"):
        tobit("y ~ x1 + x2", clustered, cluster="g")
    with pytest.raises(FvdidInputError, match="vcov must be"):
        tobit("y ~ x1 + x2", clustered, vcov="HC3")  # type: ignore[arg-type]
    d = clustered.assign(fw=clustered.fw.astype(float))
    d.loc[[3, 7], "fw"] = 0.0
    with pytest.raises(FvdidInputError, match="'fw' must be positive"):
        tobit("y ~ x1 + x2", d, weights="fw")
    d = clustered.assign(g=clustered.g.astype(float))
    d.loc[5, "g"] = np.nan
    with pytest.raises(FvdidInputError, match="cluster column 'g' has missing"):
        tobit("y ~ x1 + x2", d, vcov="CR1", cluster="g")
    with pytest.raises(FvdidInputError, match="nope"):
        tobit("y ~ x1 + x2", clustered, vcov="CR1", cluster="nope")
