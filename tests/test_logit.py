"""fvdid.logit: agreement with statsmodels, invariances, separation, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from fvdid.errors import FvdidInputError
from fvdid.logit import SeparationError, logit


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    d = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "g": rng.integers(0, 6, n),
            "la": rng.choice(["a", "b", "c", "d"], n),
            "w": rng.uniform(0.5, 2.0, n),
        }
    )
    eta = 0.2 + 0.8 * d.x1 - 0.5 * d.x2 + 0.3 * (d.la == "b")
    d["y"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    return d


def _sm_exog(d: pd.DataFrame) -> pd.DataFrame:
    dummies = pd.get_dummies(d["la"], prefix="la", drop_first=True).astype(float)
    return sm.add_constant(pd.concat([d[["x1", "x2"]], dummies], axis=1))


# Both sides run Newton-Raphson to (near) machine precision on the same concave likelihood;
# 1e-8 leaves room for their different stopping rules.
NEWTON_TOL = 1e-8


def test_matches_statsmodels_logit(data: pd.DataFrame) -> None:
    fit = logit("y ~ x1 + x2 + C(la)", data)
    ref = sm.Logit(data["y"], _sm_exog(data)).fit(method="newton", tol=1e-14, disp=0)
    assert list(fit.params.index) == ["(Intercept)", "x1", "x2", "C(la)[b]", "C(la)[c]", "C(la)[d]"]
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=NEWTON_TOL)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), ref.bse.to_numpy(), atol=NEWTON_TOL)
    assert fit.loglik == pytest.approx(ref.llf, abs=1e-8)  # same likelihood at the same optimum
    assert fit.converged and fit.nobs == len(data) and fit.n_dropped == 0


def test_hc1_and_cr1_match_statsmodels(data: pd.DataFrame) -> None:
    model = sm.Logit(data["y"], _sm_exog(data))
    # statsmodels' discrete models apply no n/(n-k) to "HC1" (they treat it as HC0): scale by hand
    hc0 = model.fit(method="newton", tol=1e-14, disp=0, cov_type="HC0")
    cr1 = model.fit(
        method="newton", tol=1e-14, disp=0, cov_type="cluster", cov_kwds={"groups": data["g"]}
    )
    fit_hc1 = logit("y ~ x1 + x2 + C(la)", data, vcov="HC1")
    fit_cr1 = logit("y ~ x1 + x2 + C(la)", data, vcov="CR1", cluster="g")
    # same sandwich at the same optimum: n/(n-k) and G/(G-1)(n-1)/(n-k) on both sides
    n, k = len(data), 6
    hc1_se = hc0.bse.to_numpy() * np.sqrt(n / (n - k))
    np.testing.assert_allclose(fit_hc1.std_errors.to_numpy(), hc1_se, atol=NEWTON_TOL)
    np.testing.assert_allclose(fit_cr1.std_errors.to_numpy(), cr1.bse.to_numpy(), atol=NEWTON_TOL)
    assert fit_cr1.n_clusters == 6


def test_weights_match_statsmodels_glm(data: pd.DataFrame) -> None:
    fit = logit("y ~ x1 + x2 + C(la)", data, weights="w")
    ref = sm.GLM(
        data["y"], _sm_exog(data), family=sm.families.Binomial(), var_weights=data["w"]
    ).fit(tol=1e-14)
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=NEWTON_TOL)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), ref.bse.to_numpy(), atol=NEWTON_TOL)


def test_integer_weights_equal_duplicated_rows(data: pd.DataFrame) -> None:
    d = data.assign(k=np.where(np.arange(len(data)) % 3 == 0, 2, 1))
    weighted = logit("y ~ x1 + x2", d, weights="k")
    duplicated = logit("y ~ x1 + x2", d.loc[d.index.repeat(d["k"])].reset_index(drop=True))
    # identical likelihoods: only summation order differs
    pd.testing.assert_series_equal(weighted.params, duplicated.params, atol=1e-10, rtol=0)
    pd.testing.assert_series_equal(weighted.std_errors, duplicated.std_errors, atol=1e-10, rtol=0)


def test_invariances(data: pd.DataFrame) -> None:
    base = logit("y ~ x1 + x2", data)
    scaled = logit("y ~ x1 + x2", data.assign(x1=data.x1 * 10))
    # rescaling a regressor rescales its coefficient and SE exactly (up to rounding)
    assert scaled.params["x1"] * 10 == pytest.approx(base.params["x1"], abs=1e-10)
    assert scaled.std_errors["x1"] * 10 == pytest.approx(base.std_errors["x1"], abs=1e-10)
    shuffled = logit("y ~ x1 + x2", data.sample(frac=1.0, random_state=3))
    pd.testing.assert_series_equal(base.params, shuffled.params, atol=1e-10, rtol=0)
    flipped = logit("y ~ x1 + x2", data.assign(y=1 - data.y))
    pd.testing.assert_series_equal(-base.params, flipped.params, atol=1e-10, rtol=0)


def test_missing_values_are_dropped_and_counted(data: pd.DataFrame) -> None:
    d = data.copy()
    d.loc[[3, 10, 50], "x2"] = np.nan
    d.loc[[70], "w"] = np.nan
    fit = logit("y ~ x1 + x2", d, weights="w")
    assert fit.n_dropped == 4 and fit.nobs == len(d) - 4
    assert any("4 rows" in note for note in fit.notes)


def test_tidy_columns(data: pd.DataFrame) -> None:
    t = logit("y ~ x1", data).tidy()
    assert list(t.columns) == [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert (t["conf_low"] < t["estimate"]).all() and (t["estimate"] < t["conf_high"]).all()


def test_complete_separation_raises_naming_term() -> None:
    d = pd.DataFrame({"x": np.arange(20.0), "z": np.random.default_rng(1).normal(size=20)})
    d["y"] = (d.x > 9.5).astype(int)
    with pytest.raises(FvdidInputError, match=r"separated by \['(\(Intercept\)', ')?x'"):
        logit("y ~ x + z", d)


def test_quasi_separation_by_fixed_effect_raises(data: pd.DataFrame) -> None:
    d = data.copy()
    d.loc[d.la == "c", "y"] = 0  # every row of level c fails: its dummy diverges
    with pytest.raises(FvdidInputError, match=r"C\(la\)\[c\]") as err:
        logit("y ~ x1 + C(la)", d)
    # The error carries the rows predicted perfectly: exactly the rows of level c.
    assert isinstance(err.value, SeparationError)
    assert set(err.value.rows) == set(d.index[d.la == "c"])
    # Leaving them out (as Stata's logit does) gives an estimable model.
    assert logit("y ~ x1 + C(la)", d.drop(index=err.value.rows)).converged


def test_bad_input(data: pd.DataFrame) -> None:
    with pytest.raises(FvdidInputError, match="'nope'"):
        logit("y ~ x1 + nope", data)
    bad = data.assign(y=data.y.astype(float))
    bad.loc[[5, 8], "y"] = 2.0
    with pytest.raises(FvdidInputError, match=r"'y'.*2 rows \(e\.g\. 5, 8\)"):
        logit("y ~ x1", bad)
    with pytest.raises(FvdidInputError, match="needs a cluster"):
        logit("y ~ x1", data, vcov="CR1")
    with pytest.raises(FvdidInputError, match="positive"):
        logit("y ~ x1", data.assign(w=data.w - 1.0), weights="w")
    with pytest.raises(FvdidInputError, match="rank deficient"):
        logit("y ~ x1 + x3", data.assign(x3=2 * data.x1))
    with pytest.raises(FvdidInputError, match="not numeric"):
        logit("y ~ la", data)
