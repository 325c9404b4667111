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
