"""The pair-level t test of the headline (Ibragimov & Müller 2010): known answers, size, pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fvdid.errors import FvdidInputError
from fvdid.estimators.group_t import group_t_test, independent_groups


def test_equal_weights_is_the_one_sample_t_test() -> None:
    est = pd.Series({"a": 1.0, "b": 2.0, "c": 3.5, "d": -0.5})
    res = group_t_test(est, pd.Series(1.0, index=est.index))
    ref = stats.ttest_1samp(est.to_numpy(), 0.0)
    # the same formula evaluated two ways: rounding only
    assert res.estimate == pytest.approx(est.mean(), rel=1e-14)
    assert res.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)
    assert res.std_error == pytest.approx(est.std(ddof=1) / 2, rel=1e-14)
    assert res.df == 3 and res.n_groups == 4
    q = stats.t.ppf(0.975, 3)
    assert (res.conf_low, res.conf_high) == pytest.approx((est.mean() - q * res.std_error,
                                                           est.mean() + q * res.std_error), rel=1e-12)


def test_weighted_mean_is_the_mean_of_the_scaled_terms() -> None:
    est = pd.Series({"p1": 0.02, "p2": -0.01, "p3": 0.005})
    w = pd.Series({"p3": 1.0, "p1": 6.0, "p2": 3.0})  # labels out of order: matched by label
    res = group_t_test(est, w)
    x = 3 * (w / w.sum()).reindex(est.index) * est
    ref = stats.ttest_1samp(x.to_numpy(), 0.0)
    # x_g = q W_g theta_g; the weighted mean is their mean (rounding only)
    assert res.estimate == pytest.approx(float((w / w.sum()).reindex(est.index) @ est), rel=1e-13)
    assert res.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)
    got = res.groups.set_index("group")
    assert got.loc["p1", "x"] == pytest.approx(3 * 0.6 * 0.02, rel=1e-13)


def test_size_is_at_most_alpha_for_any_group_variances() -> None:
    """Bakirov & Székely (2006): independent centred normals with unequal variances — the t(q-1)
    test does not over-reject. 40,000 draws of 5 groups with SDs 1..10 and unequal weights."""
    rng = np.random.default_rng(11)
    sd = np.array([1.0, 2.0, 3.0, 5.0, 10.0])
    w = np.array([0.42, 0.2, 0.15, 0.13, 0.1])
    reps = 40_000
    theta = rng.standard_normal((reps, 5)) * sd
    x = 5 * w * theta
    t = x.mean(axis=1) / (x.std(axis=1, ddof=1) / np.sqrt(5))
    size = float(np.mean(np.abs(t) > stats.t.ppf(0.975, 4)))
    mcse = np.sqrt(0.05 * 0.95 / reps)
    assert size <= 0.05 + 3 * mcse  # conservative by the theorem; 3 MCSE of Monte Carlo noise
    # the function itself on a handful of those draws gives the same decisions
    for r in range(20):
        res = group_t_test(pd.Series(theta[r], index=list("abcde")), pd.Series(w, index=list("abcde")))
        assert (res.p_value < 0.05) == (abs(t[r]) > stats.t.ppf(0.975, 4))


def test_pairs_sharing_an_la_are_one_group() -> None:
    groups = independent_groups({"1": ["T1", "C1"], "2": ["T2", "C1"], "3": ["T3", "C3"],
                                 "4": ["T4", "C4"], "5": ["T5", "C3"]})
    assert groups == {"1": "1+2", "2": "1+2", "3": "3+5", "4": "4", "5": "3+5"}


def test_bad_input_is_named() -> None:
    with pytest.raises(FvdidInputError, match="only in estimates: \\['b'\\]"):
        group_t_test(pd.Series({"a": 1.0, "b": 2.0}), pd.Series({"a": 1.0}))
    with pytest.raises(FvdidInputError, match="groups \\['b'\\]"):
        group_t_test(pd.Series({"a": 1.0, "b": np.nan}), pd.Series({"a": 1.0, "b": 1.0}))


def test_one_group_gives_no_interval() -> None:
    res = group_t_test(pd.Series({"a": 0.3}), pd.Series({"a": 2.0}))
    assert res.estimate == 0.3 and np.isnan(res.p_value) and np.isnan(res.conf_low)


def test_pair_estimates_recover_each_pairs_effect() -> None:
    """Noiseless two-pair design: the pairs' own effects are 0.1 and -0.2 exactly, their weights
    the FV-child shares 0.9 / 0.1, and the weighted sum is the headline."""
    from fvdid.estimators.ols import ols
    from fvdid.stages.headline import THETA, cell_design, pair_estimates
    from tests.test_headline import _two_pairs

    d = _two_pairs({(1, 0): 0.1, (1, 1): 0.1, (2, 0): -0.2}, {1: 30, 2: 10}, {1: 2, 2: 6})
    d["cell"] = np.where(d["fv"] == 1, d["pair_id"].astype(str) + ":" + d["quarter"].astype(str), "")
    cd = cell_design(d, cell="cell")
    fit = ols(f"y ~ {' + '.join(cd.terms)} | pair_la + pair_time", cd.data, weights="weight",
              vcov="CR1", cluster="la_code")
    pe = pair_estimates(fit, cd).set_index("pair")
    # exact data: floating-point error only (observed ~1e-15)
    assert pe.loc["1", "estimate"] == pytest.approx(0.1, abs=1e-10)
    assert pe.loc["2", "estimate"] == pytest.approx(-0.2, abs=1e-10)
    assert pe.loc["1", "weight"] == pytest.approx(0.9, abs=1e-12)
    assert float((pe["weight"] * pe["estimate"]).sum()) == pytest.approx(float(fit.params[THETA]), abs=1e-12)



def test_pairs_test_with_equal_weights_has_no_power_bound() -> None:
    """pairs_test(weighting="equal") is the one-sample t test of the pairs' effects; the
    FV-weighted test of the same effects is bounded when the FV shares differ (every pair's
    effect exactly -1: the weighted |t| is sqrt(q) mean(qW) / sd(qW), whatever the effect)."""
    from fvdid.stages.headline import pairs_test

    shares = np.array([0.50, 0.20, 0.15, 0.10, 0.05])
    eff = np.array([-1.0, -1.2, -0.9, -1.1, -0.8])
    table = pd.DataFrame({"pair": list("abcde"), "weight": shares, "estimate": eff})
    data = pd.DataFrame({"pair_id": list("abcde"), "la_code": ["A", "B", "C", "D", "E"]})
    eq = pairs_test([table], data, weighting="equal")
    ref = stats.ttest_1samp(eff, 0.0)
    assert eq.estimate == pytest.approx(eff.mean(), rel=1e-12)
    assert eq.p_value == pytest.approx(ref.pvalue, rel=1e-10)  # same statistic, t(q - 1)
    same = table.assign(estimate=-1.0 + 1e-9 * np.arange(5))  # equal effects (a tiny spread)
    fv = pairs_test([same], data)
    x = 5 * shares
    assert abs(fv.estimate / fv.std_error) == pytest.approx(np.sqrt(5) * x.mean() / x.std(ddof=1), rel=1e-6)
    assert fv.p_value > 0.05  # the bound (2.53) is below t(4)'s 2.78: no effect size rejects
    assert pairs_test([same], data, weighting="equal").p_value < 1e-6
    with pytest.raises(FvdidInputError, match="weighting"):
        pairs_test([table], data, weighting="pairs")
