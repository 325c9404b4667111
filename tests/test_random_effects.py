"""Pure-Python tests of fvdid.random_effects (Swamy–Arora FGLS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from fvdid.errors import FvdidInputError
from fvdid.random_effects import random_effects


def _panel(seed: int = 0, n: int = 30, t: int = 5, drop: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), t)
    time = np.tile(np.arange(t), n)
    u = rng.normal(0, 1.0, n)[unit]
    x1 = rng.normal(size=unit.size) + 0.3 * u
    z = rng.normal(size=n)[unit]
    y = 1 + 0.5 * x1 + 0.3 * z + u + rng.normal(size=unit.size)
    df = pd.DataFrame(dict(id=unit, t=time, y=y, x1=x1, z=z))
    if drop:
        df = df.loc[rng.uniform(size=len(df)) > drop]
        df = df.loc[df.groupby("id")["t"].transform("size") >= 2]
    return df


def test_balanced_variance_components_by_hand() -> None:
    df = _panel()
    fit = random_effects("y ~ x1 + z", df, unit="id", time="t")
    assert fit.balanced
    T, N = 5, 30
    g = df.groupby("id")
    yw = df["y"] - g["y"].transform("mean")
    xw = df["x1"] - g["x1"].transform("mean")
    e_w = yw - xw * (xw @ yw) / (xw @ xw)
    s2e = (e_w @ e_w) / (len(df) - N - 1)  # z is time-invariant: K_w = 1
    m = g[["y", "x1", "z"]].mean()
    bres = sm.OLS(m["y"], sm.add_constant(m[["x1", "z"]])).fit().resid
    s2u = (bres @ bres) / (N - 3) - s2e / T
    # 1e-12: the same closed-form quadratic forms, summed in a different order
    assert fit.sigma2_idios == pytest.approx(s2e, abs=1e-12)
    assert fit.sigma2_unit == pytest.approx(s2u, abs=1e-12)
    theta = 1 - np.sqrt(s2e / (T * s2u + s2e))
    np.testing.assert_allclose(fit.theta.to_numpy(), theta, atol=1e-12)
    # GLS = OLS on quasi-demeaned data
    ys = df["y"] - theta * g["y"].transform("mean")
    Xs = pd.DataFrame({"(Intercept)": 1 - theta, "x1": df["x1"] - theta * g["x1"].transform("mean"),
                       "z": df["z"] - theta * g["z"].transform("mean")})
    ref = sm.OLS(ys, Xs).fit()
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), ref.bse.to_numpy(), atol=1e-10)


def test_unbalanced_theta_varies_with_ti_and_cr1_by_hand() -> None:
    df = _panel(seed=1, drop=0.3)
    fit = random_effects("y ~ x1 + z", df, unit="id", time="t", vcov="CR1")
    assert not fit.balanced
    Ti = df.groupby("id").size()
    th = 1 - np.sqrt(fit.sigma2_idios / (Ti * fit.sigma2_unit + fit.sigma2_idios))
    # 1e-12: identical closed form
    np.testing.assert_allclose(fit.theta.loc[Ti.index].to_numpy(), th.to_numpy(), atol=1e-12)
    assert fit.theta.nunique() > 1
    tt = th.loc[df["id"]].to_numpy()
    g = df.groupby("id")
    Xs = np.column_stack([1 - tt] + [df[c] - tt * g[c].transform("mean") for c in ("x1", "z")])
    ys = df["y"] - tt * g["y"].transform("mean")
    ref = sm.OLS(ys.to_numpy(), Xs).fit(cov_type="cluster", cov_kwds={"groups": df["id"].to_numpy()})
    # statsmodels' cluster correction G/(G-1)(n-1)/(n-k) = plm's "sss"; 1e-10 closed form
    np.testing.assert_allclose(fit.std_errors.to_numpy(), ref.bse, atol=1e-10)
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params, atol=1e-10)


def test_row_order_invariance_and_missing_counted() -> None:
    df = _panel(seed=2, drop=0.2)
    df.loc[df.index[3], "x1"] = np.nan
    a = random_effects("y ~ x1", df, unit="id", time="t", vcov="CR1")
    b = random_effects("y ~ x1", df.sample(frac=1, random_state=1), unit="id", time="t", vcov="CR1")
    assert a.n_dropped == 1 and a.nobs == len(df) - 1
    # 1e-10: same estimator, different summation order
    pd.testing.assert_series_equal(a.params, b.params, atol=1e-10, rtol=0)
    pd.testing.assert_series_equal(a.std_errors, b.std_errors, atol=1e-10, rtol=0)
    assert list(a.tidy().columns)[:3] == ["term", "estimate", "std_error"]
    assert isinstance(a.to_dict()["theta"], dict)


def test_bad_input() -> None:
    df = _panel()
    with pytest.raises(FvdidInputError, match="nope"):
        random_effects("y ~ nope", df, unit="id")
    with pytest.raises(FvdidInputError, match="not unique"):
        random_effects("y ~ x1", pd.concat([df, df.iloc[:2]]), unit="id", time="t")
    with pytest.raises(FvdidInputError, match="fixed effects"):
        random_effects("y ~ x1 | id", df, unit="id")
    with pytest.raises(FvdidInputError, match="missing"):
        random_effects("y ~ x1", df.assign(y=np.nan), unit="id")


def test_balanced_time_dummies_use_the_rank_of_the_between_design() -> None:
    # In a balanced panel the unit means of time dummies are all 1/T: they add nothing to the
    # between regression, so its residual sum of squares and (with plm's rank-based df) its
    # df are those of the model without them. Hence sigma2_unit + sigma2_idios / T, which is
    # SSR_B / (T (N - rank)), must be the same with and without C(t). With N - k df instead
    # (the old count) it differs by the factor (N - k) / (N - k - T + 1).
    rng = np.random.default_rng(5)
    N, T = 30, 5
    d = pd.DataFrame({"id": np.repeat(np.arange(N), T), "t": np.tile(np.arange(T), N)})
    u = rng.normal(0, 1.0, N)
    d["x"] = rng.normal(size=len(d)) + 0.5 * u[d["id"]]
    d["y"] = 1.0 + 0.7 * d["x"] + 0.3 * d["t"] + u[d["id"]] + rng.normal(0, 1.0, len(d))
    plain = random_effects("y ~ x", d, unit="id", time="t")
    timefe = random_effects("y ~ x + C(t)", d, unit="id", time="t")
    assert plain.sigma2_unit > 0 and timefe.sigma2_unit > 0  # not truncated at 0
    lhs = timefe.sigma2_unit + timefe.sigma2_idios / T
    rhs = plain.sigma2_unit + plain.sigma2_idios / T
    # Identical quadratic form and df; only floating-point summation order differs.
    assert lhs == pytest.approx(rhs, rel=1e-12)
