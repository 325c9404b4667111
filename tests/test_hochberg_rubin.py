"""Pure-Python tests of fvdid.hochberg and fvdid.rubin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from fvdid.errors import FvdidInputError
from fvdid.hochberg import hochberg
from fvdid.ols import ols
from fvdid.rubin import rubin


def test_hochberg_matches_statsmodels_simes_hochberg_and_keeps_labels() -> None:
    p = pd.Series([0.01, 0.04, 0.01, 0.2, 0.04, 0.0005, 0.5, 1.0],
                  index=[f"o{i}" for i in range(8)])
    adj = hochberg(p)
    ref = multipletests(p.to_numpy(), method="simes-hochberg")[1]
    assert list(adj.index) == list(p.index)
    # 1e-15: the same products and running minimum
    np.testing.assert_allclose(adj.to_numpy(), ref, atol=1e-15)
    assert adj["o0"] == adj["o2"]  # ties get the same adjusted value
    assert (adj >= p).all() and (adj <= 1).all()


def test_hochberg_by_hand_dict_array_and_nan() -> None:
    # sorted decreasing: 0.04 (x1), 0.03 (x2), 0.01 (x3): cummin -> 0.04, 0.04, 0.03
    out = hochberg({"a": 0.01, "b": 0.03, "c": 0.04, "d": np.nan})
    assert out["a"] == pytest.approx(0.03) and out["b"] == pytest.approx(0.04)
    assert out["c"] == pytest.approx(0.04) and math.isnan(out["d"])
    arr = hochberg(np.array([0.01, 0.03, 0.04]))
    assert list(arr.index) == [0, 1, 2]
    np.testing.assert_allclose(arr.to_numpy(), [0.03, 0.04, 0.04])


def test_hochberg_rejects_out_of_range() -> None:
    with pytest.raises(FvdidInputError, match="'x'"):
        hochberg(pd.Series([0.1, 1.2], index=["ok", "x"]))


def _imputed_fits(m: int = 5) -> list:
    rng = np.random.default_rng(3)
    n = 60
    x1 = rng.normal(size=n)
    y = 1 + 0.5 * x1 + rng.normal(size=n)
    fits = []
    for _ in range(m):
        x2 = x1 + rng.normal(size=n)
        fits.append(ols("y ~ x1 + x2", pd.DataFrame(dict(y=y, x1=x1, x2=x2))))
    return fits


def test_rubin_rules_by_hand() -> None:
    fits = _imputed_fits()
    res = rubin(fits)
    Q = pd.concat([f.params for f in fits], axis=1)
    U = pd.concat([f.std_errors**2 for f in fits], axis=1)
    m = 5
    qbar, ubar, b = Q.mean(axis=1), U.mean(axis=1), Q.var(axis=1, ddof=1)
    t = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    dfcom = fits[0].df_resid
    dfold = (m - 1) / lam**2
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    df = dfold * dfobs / (dfold + dfobs)
    riv = (1 + 1 / m) * b / ubar
    # 1e-12: identical closed forms
    for got, want in [(res.params, qbar), (res.ubar, ubar), (res.b, b), (res.t, t),
                      (res.lambda_, lam), (res.riv, riv),
                      (res.fmi, (riv + 2 / (df + 3)) / (riv + 1))]:
        np.testing.assert_allclose(got.loc[qbar.index].to_numpy(), want.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(res.df.to_numpy(), df.to_numpy(), rtol=1e-12)
    assert res.dfcom == dfcom and res.m == 5
    assert {"fmi", "lambda", "df"} <= set(res.tidy().columns)


def test_rubin_pairs_order_and_errors() -> None:
    fits = _imputed_fits()
    pairs = [(f.params, f.vcov) for f in fits]
    a = rubin(fits)
    b = rubin(pairs[::-1], dfcom=fits[0].df_resid)
    # 1e-12: order of the imputations only changes summation order
    pd.testing.assert_series_equal(a.params, b.params, atol=1e-12, rtol=0)
    pd.testing.assert_series_equal(a.df, b.df, atol=1e-9, rtol=0)
    c = rubin(pairs)
    assert math.isinf(c.dfcom) and c.notes
    with pytest.raises(FvdidInputError, match="at least 2"):
        rubin(fits[:1])
    bad = [(fits[0].params, fits[0].vcov), (fits[1].params.rename({"x2": "zz"}), fits[1].vcov)]
    with pytest.raises(FvdidInputError, match="same terms"):
        rubin(bad)
