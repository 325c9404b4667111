"""Tests of fvdid.conley_taber: a hand-computed example, the formula, coverage, bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from fvdid import conley_taber, ols
from fvdid.errors import FvdidInputError


def test_hand_computed_two_periods() -> None:
    # 2 periods, 1 treated LA, 3 controls: the DiD is dy_1 - mean(dy_controls) and the control
    # residual contrasts are dy_j - mean(dy_controls): changes 7 (treated), 1, 2, 6 -> mean 3,
    # alpha_hat = 4, W = {-2, -1, 3}; the 2.5 % / 97.5 % quantiles of 3 draws are -2 and 3,
    # so the interval is [4 - 3, 4 + 2] = [1, 6]; no draw reaches 4, so p(0) = 0.
    d = pd.DataFrame(
        {
            "la": [1, 1, 2, 2, 3, 3, 4, 4],
            "t": [1, 2] * 4,
            "y": [0.0, 7.0, 0.0, 1.0, 5.0, 7.0, 1.0, 7.0],
            "d": [0, 1, 0, 0, 0, 0, 0, 0],
        }
    )
    r = conley_taber(d, y="y", unit="la", time="t", treat="d")
    assert r.estimate == pytest.approx(4.0, abs=1e-12)  # least squares rounding
    np.testing.assert_allclose(r.draws, [-2.0, -1.0, 3.0], atol=1e-12)  # rounding
    assert r.conf_int == pytest.approx((1.0, 6.0), abs=1e-12)  # rounding
    assert r.p_value == 0.0
    assert r.enumerated and r.n_combinations == 3
    assert r.contrasts.loc["1", "4"] == pytest.approx(3.0, abs=1e-12)  # rounding
    # at r = alpha_hat the statistic is 0: 2 of 3 draws <= 0, 1 of 3 >= 0 -> p = 2 * 1/3
    assert r.p_value_at(4.0) == 2 / 3
    d_out = r.to_dict()
    json.dumps(d_out)
    assert "draws" not in d_out and d_out["contrasts"][0]["treated"] == "1"


def _panel(n_ctrl: int, go: dict[int, int], T: int, effect: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_ctrl + len(go)
    rows = []
    fe = rng.normal(0, 1, n)
    for j in range(n):
        for t in range(T):
            d = int(j in go and t >= go[j])
            rows.append((j, t, fe[j] + 0.2 * t + effect * d + rng.normal(), d, rng.normal()))
    return pd.DataFrame(rows, columns=["la", "t", "y", "d", "x"])


def test_formula_two_staggered_treated_groups() -> None:
    go = {0: 3, 1: 5}
    d = _panel(6, go, 7, 0.5, seed=1)
    r = conley_taber(d, y="y", unit="la", time="t", treat="d", covariates=["x"])
    # independent fit: dense least squares with LA and period dummies
    X = np.column_stack(
        [d["d"], d["x"], pd.get_dummies(d["la"]).to_numpy(float),
         pd.get_dummies(d["t"]).to_numpy(float)[:, 1:]]
    )
    beta, *_ = np.linalg.lstsq(X, d["y"].to_numpy(), rcond=None)
    e = d["y"].to_numpy() - X @ beta
    E = pd.DataFrame({"la": d["la"], "t": d["t"], "e": e}).pivot(index="la", columns="t",
                                                                 values="e")
    Dm = d.pivot(index="la", columns="t", values="d").loc[[0, 1]].to_numpy(float)
    Dm = Dm - Dm.mean(axis=1, keepdims=True)
    den = (Dm**2).sum()
    W = [
        (Dm[0] @ E.loc[a].to_numpy() + Dm[1] @ E.loc[b].to_numpy()) / den
        for a, b in itertools.product(range(2, 8), repeat=2)
    ]
    assert r.estimate == pytest.approx(beta[0], rel=1e-10)  # two least-squares routes
    assert r.n_combinations == 36 and r.enumerated
    np.testing.assert_allclose(r.draws, np.sort(W), atol=1e-10)  # two least-squares routes
    Ws = np.sort(W)  # 36 draws: 0.025 * 36 = 0.9 -> the extreme draw in each tail
    assert r.conf_int == pytest.approx((beta[0] - Ws[-1], beta[0] - Ws[0]), abs=1e-10)  # same


def test_own_estimate_and_residuals_give_the_same_interval() -> None:
    d = _panel(8, {0: 3, 1: 5}, 6, 0.3, seed=8)
    fit = ols("y ~ d | la + t", d, vcov="iid")
    d2 = d.assign(e=fit.resid)
    a = conley_taber(d, y="y", unit="la", time="t", treat="d")
    b = conley_taber(d2, y="ignored", unit="la", time="t", treat="d",
                     estimate=float(fit.params["d"]), residual="e")
    assert a.conf_int == b.conf_int and a.p_value == b.p_value  # the same numbers, same path
    with pytest.raises(FvdidInputError, match="both"):
        conley_taber(d2, y="y", unit="la", time="t", treat="d", residual="e")


def test_p_values_consistent_with_interval_and_seeded_sampling() -> None:
    go = {0: 3, 1: 4, 2: 5}
    d = _panel(25, go, 7, 0.0, seed=4)
    r = conley_taber(d, y="y", unit="la", time="t", treat="d", enumerate_max=1000, B=4000,
                     seed=7)
    r2 = conley_taber(d, y="y", unit="la", time="t", treat="d", enumerate_max=1000, B=4000,
                      seed=7)
    assert not r.enumerated and r.n_draws == 4000 and r.n_combinations == 25**3
    np.testing.assert_array_equal(r.draws, r2.draws)
    lo, hi = r.conf_int
    span = hi - lo
    # the interval is {r : p(r) >= alpha} (inverted-cdf quantiles of a discrete distribution)
    assert r.p_value_at(lo + 1e-6 * span) >= 0.05
    assert r.p_value_at(hi - 1e-6 * span) >= 0.05
    assert r.p_value_at(lo - 1e-3 * span) < 0.05
    assert r.p_value_at(hi + 1e-3 * span) < 0.05


def test_no_effect_interval_covers_zero_mostly() -> None:
    covered = 0
    reps = 200
    for s in range(reps):
        d = _panel(30, {0: 3, 1: 5}, 6, 0.0, seed=100 + s)
        lo, hi = conley_taber(d, y="y", unit="la", time="t", treat="d").conf_int
        covered += lo <= 0.0 <= hi
    # nominal 95 %: with 200 replications the Monte Carlo sd is 1.5 points; 0.89 is 4 sd below
    assert covered / reps >= 0.89


def test_bad_input() -> None:
    d = _panel(4, {0: 2}, 4, 0.0, seed=2)
    with pytest.raises(FvdidInputError, match="unbalanced"):
        conley_taber(d.iloc[1:], y="y", unit="la", time="t", treat="d")
    with pytest.raises(FvdidInputError, match="more than one row"):
        conley_taber(pd.concat([d, d.iloc[:1]]), y="y", unit="la", time="t", treat="d")
    with pytest.raises(FvdidInputError, match="no treated group"):
        conley_taber(d.assign(d=0), y="y", unit="la", time="t", treat="d")
    with pytest.raises(FvdidInputError, match="binary"):
        conley_taber(d.assign(d=2), y="y", unit="la", time="t", treat="d")
    with pytest.raises(FvdidInputError, match="no column"):
        conley_taber(d, y="nope", unit="la", time="t", treat="d")
