"""fvdid.lmer: ANOVA identities, statsmodels MixedLM, singular fits, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from fvdid.errors import FvdidInputError
from fvdid.lmer import lmer


def _balanced(G: int, m: int, sd_u: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), m)
    return pd.DataFrame(
        {
            "y": 1.0 + sd_u * rng.normal(size=G)[g] + rng.normal(size=G * m),
            "g": g,
            "x": rng.normal(size=G * m),
        }
    )


def test_balanced_reml_equals_anova_estimators() -> None:
    G, m = 25, 6
    d = _balanced(G, m, 0.9, seed=1)
    fit = lmer("y ~ 1", d, group="g")
    means = d.groupby("g").y.mean()
    msw = ((d.y - d.g.map(means)) ** 2).sum() / (G * m - G)
    msb = m * ((means - d.y.mean()) ** 2).sum() / (G - 1)
    # balanced one-way layout, interior optimum: REML = ANOVA moment estimators (closed form);
    # theta comes from root-finding to ~1e-12, so the variances agree to ~1e-10
    assert fit.sigma2 == pytest.approx(msw, abs=1e-10)
    assert fit.group_var == pytest.approx((msb - msw) / m, abs=1e-10)
    assert fit.params["(Intercept)"] == pytest.approx(d.y.mean(), abs=1e-12)
    assert fit.std_errors["(Intercept)"] == pytest.approx(np.sqrt(msb / (G * m)), abs=1e-10)
    assert fit.converged and not fit.singular


def test_singular_fit_is_ols() -> None:
    d = _balanced(20, 5, 0.0, seed=3)
    means = d.groupby("g").y.mean()
    msw = ((d.y - d.g.map(means)) ** 2).sum() / (100 - 20)
    msb = 5 * ((means - d.y.mean()) ** 2).sum() / 19
    assert msb < msw  # this seed has less between-group spread than chance: boundary
    fit = lmer("y ~ x", d, group="g")
    assert fit.singular and fit.theta == 0.0 and fit.group_var == 0.0
    ols = smf.ols("y ~ x", d).fit()
    # theta = 0: GLS is OLS and sigma2 the OLS residual variance (closed form)
    np.testing.assert_allclose(fit.params.to_numpy(), ols.params.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), ols.bse.to_numpy(), atol=1e-12)


def test_matches_statsmodels_mixedlm() -> None:
    rng = np.random.default_rng(4)
    sizes = rng.integers(2, 15, 40)
    g = np.repeat(np.arange(40), sizes)
    n = len(g)
    d = pd.DataFrame({"g": g, "x": rng.normal(size=n)})
    d["y"] = 0.5 + 0.8 * d.x + 0.7 * rng.normal(size=40)[g] + rng.normal(size=n)
    for reml in (True, False):
        fit = lmer("y ~ x", d, group="g", reml=reml)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = smf.mixedlm("y ~ x", d, groups=d["g"]).fit(reml=reml)
        # statsmodels' default quasi-Newton stopping rule leaves its variance components ~1e-6
        # from the optimum (fvdid's log-likelihood is the higher): 1e-5 on variances, 1e-6 on
        # the fixed effects, which move little with the variance ratio
        np.testing.assert_allclose(fit.params.to_numpy(), ref.fe_params.to_numpy(), atol=1e-6)
        # (statsmodels' bse_fe come from its joint Hessian, not lme4's sigma2 (X'V^-1 X)^-1:
        # they differ by ~5e-4; test_vcov_is_dense_gls_covariance checks lme4's definition)
        assert fit.sigma2 == pytest.approx(ref.scale, abs=1e-5)
        assert fit.group_var == pytest.approx(float(ref.cov_re.iloc[0, 0]), abs=1e-5)
        assert fit.loglik == pytest.approx(ref.llf, abs=1e-8)  # flat at the optimum
        assert fit.loglik >= ref.llf - 1e-10


def test_vcov_is_dense_gls_covariance() -> None:
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(12), rng.integers(1, 8, 12))
    d = pd.DataFrame({"g": g, "x": rng.normal(size=len(g))})
    d["y"] = d.x + rng.normal(size=12)[g] + rng.normal(size=len(g))
    fit = lmer("y ~ x", d, group="g")
    Z = (g[:, None] == np.arange(12)[None, :]).astype(float)
    V = fit.sigma2 * np.eye(len(g)) + fit.group_var * Z @ Z.T
    X = np.column_stack([np.ones(len(g)), d.x])
    Vi = np.linalg.inv(V)
    cov = np.linalg.inv(X.T @ Vi @ X)
    beta = cov @ X.T @ Vi @ d.y.to_numpy()
    # lme4's vcov: sigma2 (X' V(theta)^-1 X)^-1 at the estimate; dense algebra, rounding only
    np.testing.assert_allclose(fit.vcov.to_numpy(), cov, atol=1e-12)
    np.testing.assert_allclose(fit.params.to_numpy(), beta, atol=1e-12)


def test_shift_and_scale_invariance() -> None:
    d = _balanced(15, 4, 0.8, seed=5)
    base = lmer("y ~ x", d, group="g")
    moved = lmer("y ~ x", d.assign(y=3 * d.y + 10), group="g")
    # y -> 3y + 10: intercept 3b0 + 10, slope 3b1, variances x9, same theta (exact algebra)
    assert moved.params["(Intercept)"] == pytest.approx(
        3 * base.params["(Intercept)"] + 10, abs=1e-9
    )
    assert moved.params["x"] == pytest.approx(3 * base.params["x"], abs=1e-9)
    assert moved.theta == pytest.approx(base.theta, abs=1e-9)
    assert moved.sigma2 == pytest.approx(9 * base.sigma2, abs=1e-9)


def test_missing_rows_dropped_and_varcomp_table() -> None:
    d = _balanced(10, 5, 1.0, seed=6).astype({"g": float})
    d.loc[[0, 7], "y"] = np.nan
    d.loc[[11], "g"] = np.nan
    fit = lmer("y ~ x", d, group="g")
    assert fit.n_dropped == 3 and fit.nobs == len(d) - 3 and fit.n_groups == 10
    vc = fit.varcomp()
    assert list(vc["grp"]) == ["g", "Residual"]
    assert vc["variance"].iloc[1] == pytest.approx(fit.sigma2)


def test_bad_input() -> None:
    d = _balanced(5, 3, 1.0, seed=7)
    with pytest.raises(FvdidInputError, match="'grp'"):
        lmer("y ~ x", d, group="grp")
    with pytest.raises(FvdidInputError, match="at least 2"):
        lmer("y ~ x", d.assign(g=1), group="g")
    with pytest.raises(FvdidInputError, match="not identified"):
        lmer("y ~ x", d.assign(g=np.arange(len(d))), group="g")


# --- cluster-robust covariance ---------------------------------------------------------


def _nested(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 12, 30)
    g = np.repeat(np.arange(30), sizes)
    n = len(g)
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + 0.6 * rng.normal(size=30)[g] + (0.5 + 0.5 * np.abs(x)) * rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "g": g, "region": g // 5})


def test_cr_matches_dense_gls_sandwich() -> None:
    d = _nested(4)
    fit = lmer("y ~ x", d, group="g", vcov="CR0", cluster="region")
    model = lmer("y ~ x", d, group="g")
    X = np.column_stack([np.ones(len(d)), d.x])
    Zm = (d.g.to_numpy()[:, None] == np.arange(30)[None, :]).astype(float)
    Vinv = np.linalg.inv(np.eye(len(d)) + model.theta**2 * Zm @ Zm.T)  # dense, independent
    B = np.linalg.inv(X.T @ Vinv @ X)
    e = d.y.to_numpy() - X @ model.params.to_numpy()
    u = X * (Vinv @ e)[:, None]  # rows of X' V^-1 e (V^-1 is block diagonal within regions)
    U = np.vstack([u[d.region.to_numpy() == r].sum(axis=0) for r in range(6)])
    # a dense inverse of a 200 x 200 matrix vs the closed form: rounding only
    np.testing.assert_allclose(fit.vcov.to_numpy(), B @ U.T @ U @ B, atol=1e-12, rtol=1e-9)
    pd.testing.assert_series_equal(fit.params, model.params, atol=0, rtol=0)
    assert fit.n_clusters == 6 and fit.cluster == "region"


def test_cr1_factor_default_cluster_and_bad_input() -> None:
    d = _nested(5)
    cr0 = lmer("y ~ x", d, group="g", vcov="CR0")
    cr1 = lmer("y ~ x", d, group="g", vcov="CR1", cluster="g")
    # clubSandwich's CR1 is G/(G-1) times CR0 (no (n-1)/(n-p)); same matrix times a scalar
    pd.testing.assert_frame_equal(cr1.vcov, cr0.vcov * 30 / 29, atol=1e-14, rtol=1e-12)
    assert cr0.cluster == "g" and cr0.n_clusters == 30
    with pytest.raises(FvdidInputError, match="nested within the clusters"):
        lmer("y ~ x", d.assign(half=np.arange(len(d)) % 2), group="g", vcov="CR1", cluster="half")
    with pytest.raises(FvdidInputError, match="only used with"):
        lmer("y ~ x", d, group="g", cluster="region")
    with pytest.raises(FvdidInputError, match="vcov must be"):
        lmer("y ~ x", d, group="g", vcov="HC1")  # type: ignore[arg-type]
