"""Covariates spanned by the fixed effects are detected, dropped and named (issue 15, item 2).

A covariate equal to a unit constant plus a common linear trend is an exact combination of the
unit and period effects. Every estimator must drop it (as fixest does), say so in its notes, and
return the fit without it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import fvdid

# the fits with and without the spanned covariate differ by rounding only
ROUND = 1e-9


def _staggered(seed: int = 3, n_units: int = 40, n_t: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_t)
    time = np.tile(np.arange(1, n_t + 1), n_units)
    start = np.array([3, 5, 7, 99])[np.arange(n_units) % 4]
    d = (time >= start[unit]).astype(float)
    x1 = rng.normal(size=unit.size) + 0.2 * time
    la_const = rng.normal(size=n_units)[unit] * 5.0
    spanned = la_const + 0.37 * time  # unit constant + common trend: spanned by the two FE
    y = 1.0 * d + 0.5 * x1 + rng.normal(size=n_units)[unit] + 0.1 * time + rng.normal(size=unit.size)
    return pd.DataFrame(
        {"unit": unit, "time": time, "d": d, "x1": x1, "spanned": spanned, "y": y,
         "cohort": np.where(start[unit] == 99, 0, start[unit])}
    )


def test_bacon_drops_a_covariate_spanned_by_the_fixed_effects() -> None:
    df = _staggered()
    base = fvdid.bacon(df, y="y", treatment="d", unit="unit", time="time", covariates=["x1"])
    both = fvdid.bacon(
        df, y="y", treatment="d", unit="unit", time="time", covariates=["x1", "spanned"]
    )
    assert any("spanned" in n and "collinear" in n for n in both.notes)
    assert both.covariates == ("x1",)
    assert both.twfe == pytest.approx(base.twfe, abs=ROUND)
    assert both.beta_within == pytest.approx(base.beta_within, abs=ROUND)
    key = ["treated", "untreated"]
    a = base.two_by_twos.set_index(key).sort_index()
    b = both.two_by_twos.set_index(key).sort_index()
    np.testing.assert_allclose(b["estimate"], a["estimate"], atol=ROUND)
    np.testing.assert_allclose(b["weight"], a["weight"], atol=ROUND)
    # alone, the spanned covariate leaves the decomposition without covariates
    alone = fvdid.bacon(df, y="y", treatment="d", unit="unit", time="time", covariates=["spanned"])
    plain = fvdid.bacon(df, y="y", treatment="d", unit="unit", time="time")
    assert alone.covariates == ()
    assert alone.twfe == pytest.approx(plain.twfe, abs=ROUND)


def test_bacon_pair_level_collinearity_is_dropped_in_that_2x2() -> None:
    # a covariate that varies over time only for the never-treated units: within any pair of
    # treated groups it is a unit constant (spanned by that pair's unit effects)
    df = _staggered(seed=4)
    rng = np.random.default_rng(0)
    df["pairwise"] = np.where(df["cohort"] == 0, rng.normal(size=len(df)), df["unit"] * 0.5)
    res = fvdid.bacon(
        df, y="y", treatment="d", unit="unit", time="time", covariates=["x1", "pairwise"]
    )
    pair_notes = [n for n in res.notes if n.startswith("2x2 of timing groups")]
    assert pair_notes and all("pairwise" in n for n in pair_notes)
    assert np.isfinite(res.two_by_twos["estimate"]).all()


def test_ols_drops_the_spanned_covariate() -> None:
    df = _staggered()
    a = fvdid.ols("y ~ d + x1 | unit + time", df, vcov="CR1", cluster="unit")
    b = fvdid.ols("y ~ d + x1 + spanned | unit + time", df, vcov="CR1", cluster="unit")
    assert "spanned" not in b.params.index
    assert any("spanned" in n for n in b.notes)
    np.testing.assert_allclose(b.params[a.params.index], a.params, atol=ROUND)
    np.testing.assert_allclose(b.std_errors[a.params.index], a.std_errors, rtol=ROUND)


def test_random_effects_drops_the_spanned_covariate() -> None:
    df = _staggered()
    # a unit constant is collinear with nothing in a random-effects model, but a covariate equal
    # to an exact combination of the others is: x2 = 2 x1 - d
    df["combo"] = 2 * df["x1"] - df["d"]
    a = fvdid.random_effects("y ~ d + x1", df, unit="unit")
    try:
        b = fvdid.random_effects("y ~ d + x1 + combo", df, unit="unit")
    except fvdid.errors.FvdidInputError as err:  # an error naming the term is also acceptable
        assert "combo" in str(err)
        return
    assert "combo" not in b.params.index
    np.testing.assert_allclose(b.params[a.params.index], a.params, atol=ROUND)


def test_att_gt_names_a_collinear_covariate() -> None:
    df = _staggered()
    # a time-invariant covariate plus its exact multiple: the second is collinear
    df["z"] = df.groupby("unit")["x1"].transform("first")
    df["z2"] = 3.0 * df["z"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(fvdid.errors.FvdidInputError, match="z2"):
            fvdid.att_gt(df, y="y", time="time", cohort="cohort", unit="unit",
                         covariates=("z", "z2"))


def test_logit_names_a_collinear_term() -> None:
    df = _staggered()
    df["yb"] = (df["y"] > df["y"].median()).astype(float)
    df["combo"] = 2 * df["x1"] - df["d"]
    with pytest.raises(fvdid.errors.FvdidInputError, match="combo"):
        fvdid.logit("yb ~ d + x1 + combo", df)
