"""fvdid.hurdle: each part against statsmodels, labels, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.discrete.truncated_model import TruncatedLFNegativeBinomialP, TruncatedLFPoisson

from fvdid.errors import FvdidInputError
from fvdid.hurdle import hurdle


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 700
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.5, n)
    cross = rng.uniform(size=n) < 1 / (1 + np.exp(-(0.1 + 0.8 * x1)))
    mu = np.exp(0.5 + 0.3 * x1 + 0.2 * x2)
    yp = rng.poisson(mu)
    while (yp == 0).any():
        yp[yp == 0] = rng.poisson(mu)[yp == 0]
    theta = 2.0
    yn = rng.negative_binomial(theta, theta / (theta + mu))
    while (yn == 0).any():
        yn[yn == 0] = rng.negative_binomial(theta, theta / (theta + mu))[yn == 0]
    return pd.DataFrame(
        {"yp": np.where(cross, yp, 0), "yn": np.where(cross, yn, 0), "x1": x1, "x2": x2}
    )


def _count(fit, names: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    return fit.params[[f"count_{t}" for t in names]].to_numpy()


def test_labels_and_zero_part_is_a_logit(data: pd.DataFrame) -> None:
    fit = hurdle("yp ~ x1 + x2 | x1", data)
    assert list(fit.params.index) == [
        "count_(Intercept)",
        "count_x1",
        "count_x2",
        "zero_(Intercept)",
        "zero_x1",
    ]
    ref = sm.Logit((data.yp > 0).astype(int), sm.add_constant(data[["x1"]])).fit(
        method="newton", tol=1e-14, disp=0
    )
    # the zero hurdle is exactly a binomial logit of y > 0; both Newton fits to ~1e-14
    np.testing.assert_allclose(fit.params[["zero_(Intercept)", "zero_x1"]], ref.params, atol=1e-8)
    np.testing.assert_allclose(fit.std_errors[["zero_(Intercept)", "zero_x1"]], ref.bse, atol=1e-8)
    assert fit.loglik_zero == pytest.approx(ref.llf, abs=1e-8)
    assert fit.n_zero == int((data.yp == 0).sum())


def test_poisson_count_part_matches_statsmodels(data: pd.DataFrame) -> None:
    fit = hurdle("yp ~ x1 + x2", data)
    pos = data[data.yp > 0]
    ref = TruncatedLFPoisson(pos.yp, sm.add_constant(pos[["x1", "x2"]]), truncation=0).fit(
        method="newton", maxiter=200, disp=0
    )
    # statsmodels' Newton stops on its own tolerance (~1e-8 on the score); 1e-6 on the estimate
    np.testing.assert_allclose(_count(fit, ["(Intercept)", "x1", "x2"]), ref.params, atol=1e-6)
    se = fit.std_errors[["count_(Intercept)", "count_x1", "count_x2"]].to_numpy()
    np.testing.assert_allclose(se, ref.bse, atol=1e-6)
    assert fit.loglik_count == pytest.approx(ref.llf, abs=1e-6)


def test_negbin_count_part_matches_statsmodels(data: pd.DataFrame) -> None:
    fit = hurdle("yn ~ x1 + x2", data, dist="negbin")
    pos = data[data.yn > 0]
    ref = TruncatedLFNegativeBinomialP(
        pos.yn, sm.add_constant(pos[["x1", "x2"]]), truncation=0, p=2
    ).fit(method="newton", maxiter=200, disp=0)
    assert ref.mle_retvals["converged"]
    # NB2 with alpha = 1 / theta; statsmodels' Newton (numerical Hessian) stops at tol 1e-8
    np.testing.assert_allclose(_count(fit, ["(Intercept)", "x1", "x2"]), ref.params[:3], atol=1e-5)
    assert fit.theta == pytest.approx(1 / ref.params.iloc[3], rel=1e-5)
    assert fit.loglik_count == pytest.approx(ref.llf, abs=1e-6)
    tidy = fit.tidy()
    assert "count_Log(theta)" in set(tidy["term"])


def test_negbin_hessian_is_the_numerical_one(data: pd.DataFrame) -> None:
    """The analytic Hessian of the truncated NB part equals a finite-difference one."""
    fit = hurdle("yn ~ x1 + x2", data, dist="negbin")
    pos = data[data.yn > 0]
    ref_model = TruncatedLFNegativeBinomialP(
        pos.yn, sm.add_constant(pos[["x1", "x2"]]), truncation=0, p=2
    )
    # statsmodels parameterises alpha = 1/theta; SEs of the betas are invariant to that choice
    params = np.append(_count(fit, ["(Intercept)", "x1", "x2"]), 1 / fit.theta)
    hess = ref_model.hessian(params)  # numerical (finite differences) in statsmodels
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))[:3]
    got = fit.std_errors[["count_(Intercept)", "count_x1", "count_x2"]].to_numpy()
    np.testing.assert_allclose(got, se, rtol=1e-5)  # finite-difference error ~1e-6


def test_missing_values_dropped_and_counted(data: pd.DataFrame) -> None:
    d = data.copy()
    d.loc[[0, 4], "x2"] = np.nan
    fit = hurdle("yp ~ x1 | x2", d)
    assert fit.n_dropped == 2 and fit.nobs == len(d) - 2


def test_bad_input(data: pd.DataFrame) -> None:
    neg = data.copy()
    neg.loc[[3, 7], "yp"] = -1
    with pytest.raises(FvdidInputError, match=r"'yp'.*2 rows \(e\.g\. 3, 7\) are negative"):
        hurdle("yp ~ x1", neg)
    frac = data.assign(yp=data.yp.astype(float))
    frac.loc[[2], "yp"] = 1.5
    with pytest.raises(FvdidInputError, match="non-integer"):
        hurdle("yp ~ x1", frac)
    with pytest.raises(FvdidInputError, match="both zeros and positive"):
        hurdle("yp ~ x1", data.assign(yp=data.yp + 1))
    with pytest.raises(FvdidInputError, match="'nope'"):
        hurdle("yp ~ x1 | nope", data)
    with pytest.raises(FvdidInputError, match="dist"):
        hurdle("yp ~ x1", data, dist="geometric")  # type: ignore[arg-type]


# --- robust covariance -------------------------------------------------------------------


@pytest.fixture(scope="module")
def clustered(data: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = len(data)
    return data.assign(g=rng.integers(0, 25, n), fw=rng.integers(1, 4, n), id=np.arange(n))


def test_zero_block_is_the_clustered_logit(clustered: pd.DataFrame) -> None:
    from fvdid.logit import logit

    fit = hurdle("yp ~ x1 + x2 | x1", clustered, vcov="CR1", cluster="g")
    lg = logit(
        "pos ~ x1", clustered.assign(pos=(clustered.yp > 0).astype(int)), vcov="CR1", cluster="g"
    )
    n, k, kz = len(clustered), 5, 2
    zero = fit.vcov.loc[["zero_(Intercept)", "zero_x1"], ["zero_(Intercept)", "zero_x1"]]
    # both are G/(G-1) (n-1)/(n-k) times the same CR0 sum; k counts all coefficients of the
    # hurdle (vcovCL's columns of estfun) but only the logit's in logit(); Newton to 1e-12 on
    # both sides
    expected = lg.vcov.to_numpy() * (n - kz) / (n - k)
    np.testing.assert_allclose(zero.to_numpy(), expected, atol=1e-12, rtol=1e-9)


def test_negbin_sandwich_from_numerical_scores(clustered: pd.DataFrame) -> None:
    # meat: numerical per-row scores of the count coefficients at fixed theta (log theta is
    # not among the scores, as pscl's estfun) and analytic logit scores; bread: vcov(fit)
    from scipy import stats

    fit = hurdle("yn ~ x1 + x2 | x1", clustered, dist="negbin", vcov="CR0", cluster="g")
    model = hurdle("yn ~ x1 + x2 | x1", clustered, dist="negbin")
    y = clustered.yn.to_numpy()
    pos = y > 0
    X = np.column_stack([np.ones(len(y)), clustered.x1, clustered.x2])
    Z = np.column_stack([np.ones(len(y)), clustered.x1])
    th = model.theta
    b = model.params[["count_(Intercept)", "count_x1", "count_x2"]].to_numpy()
    gam = model.params[["zero_(Intercept)", "zero_x1"]].to_numpy()

    def ll_rows(beta: np.ndarray) -> np.ndarray:
        mu = np.exp(X[pos] @ beta)
        p = th / (th + mu)
        return stats.nbinom.logpmf(y[pos], th, p) - np.log1p(-(p**th))

    h = 1e-6
    S = np.zeros((len(y), 5))
    for j, e in enumerate(np.eye(3)):
        S[pos, j] = (ll_rows(b + h * e) - ll_rows(b - h * e)) / (2 * h)
    pz = 1 / (1 + np.exp(-(Z @ gam)))
    S[:, 3:] = Z * (pos - pz)[:, None]
    Sg = np.vstack([S[clustered.g.to_numpy() == c].sum(axis=0) for c in range(25)])
    V = model.vcov.to_numpy()
    # central differences with h = 1e-6: scores to ~1e-9
    np.testing.assert_allclose(fit.vcov.to_numpy(), V @ (Sg.T @ Sg) @ V, atol=1e-8)
    # the count-zero cross block is no longer zero; log_theta_se stays model-based
    assert abs(fit.vcov.loc["count_x1", "zero_x1"]) > 1e-6
    assert fit.log_theta_se == model.log_theta_se


def test_integer_weights_equal_replicated_rows(clustered: pd.DataFrame) -> None:
    w = hurdle("yn ~ x1 + x2", clustered, dist="negbin", weights="fw", vcov="CR0", cluster="g")
    long = clustered.loc[clustered.index.repeat(clustered.fw)].reset_index(drop=True)
    r = hurdle("yn ~ x1 + x2", long, dist="negbin", vcov="CR0", cluster="g")
    # same likelihood and cluster sums; both Newton runs converged to 1e-12
    pd.testing.assert_series_equal(w.params, r.params, atol=1e-9, rtol=0)
    pd.testing.assert_frame_equal(w.vcov, r.vcov, atol=1e-10, rtol=0)


def test_hc_factors_and_bad_input(clustered: pd.DataFrame) -> None:
    f = "yp ~ x1 + x2"
    hc0 = hurdle(f, clustered, vcov="HC0")
    hc1 = hurdle(f, clustered, vcov="HC1")
    own = hurdle(f, clustered, vcov="CR0", cluster="id")
    n, k = len(clustered), 6
    # the same matrix times a scalar: only rounding differs
    pd.testing.assert_frame_equal(hc1.vcov, hc0.vcov * n / (n - k), atol=1e-14, rtol=1e-12)
    pd.testing.assert_frame_equal(own.vcov, hc0.vcov, atol=1e-14, rtol=1e-12)
    assert own.n_clusters == n and hc0.vcov_type == "HC0"
    with pytest.raises(FvdidInputError, match="needs a cluster"):
        hurdle(f, clustered, vcov="CR0")
    with pytest.raises(FvdidInputError, match="only used with"):
        hurdle(f, clustered, vcov="HC1", cluster="g")
    with pytest.raises(FvdidInputError, match="nope"):
        hurdle(f, clustered, vcov="CR1", cluster="nope")
