"""Barnard-Rubin (1999) small-sample df of fvdid.rubin with dfcom given, as mice::pool(dfcom=)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fvdid.rubin import rubin


def _pairs(qs: list[float], ses: list[float]) -> list[tuple[pd.Series, pd.Series]]:
    return [(pd.Series({"fv": q}), pd.Series({"fv": s**2})) for q, s in zip(qs, ses, strict=True)]


def test_barnard_rubin_df_by_hand_with_few_clusters() -> None:
    qs, ses, dfcom, m = [-0.010, -0.012, -0.011, -0.014, -0.009], [0.004, 0.0042, 0.0039, 0.0041, 0.004], 9, 5
    res = rubin(_pairs(qs, ses), dfcom=dfcom)
    b = np.var(qs, ddof=1)
    ubar = np.mean(np.square(ses))
    t = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    dfold = (m - 1) / lam**2
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    want = dfold * dfobs / (dfold + dfobs)
    # Closed form on both sides: rounding only.
    assert res.df["fv"] == pytest.approx(want, rel=1e-12)
    assert res.std_errors["fv"] == pytest.approx(math.sqrt(t), rel=1e-12)
    # Barnard-Rubin never gives more df than the complete data have (Rubin 1987's can).
    assert res.df["fv"] < dfcom < dfold


def test_no_between_variance_floors_lambda_as_mice() -> None:
    res = rubin(_pairs([0.5] * 4, [0.1] * 4), dfcom=20)
    lam = 1e-4  # mice floors lambda at 1e-4 before computing dfold
    dfold = 3 / lam**2
    dfobs = 21 / 23 * 20 * (1 - lam)
    assert res.b["fv"] == 0.0
    assert res.df["fv"] == pytest.approx(dfold * dfobs / (dfold + dfobs), rel=1e-12)
