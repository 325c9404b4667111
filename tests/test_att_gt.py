"""Pure-Python tests of fvdid.att_gt: hand-checkable 2×2s, invariants, announcements, bad input.

Parity with R did lives in tests/test_parity.py (cases in parity/cases/did.py).
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from fvdid.att_gt import AttGtResult, att_gt
from fvdid.errors import FvdidInputError

matplotlib.use("Agg")

# Closed-form quantities (differences of means, their ML variances) are computed along different
# summation orders here and in fvdid; 1e-12 leaves room for that rounding only.
CLOSED = 1e-12


def _panel(n: int = 400, periods=(1, 2, 3, 4), cohorts=(0, 3, 4), seed: int = 0, covariate=True):
    rng = np.random.default_rng(seed)
    coh = rng.choice(np.array(cohorts), size=n)
    x = rng.normal(size=n)
    alpha = rng.normal(size=n)
    rows = []
    for t in periods:
        eff = np.where((coh > 0) & (t >= coh), 1.0 + 0.5 * (t - coh), 0.0)
        yv = alpha + 0.3 * t + 0.2 * t * x + eff + rng.normal(size=n)
        rows.append(pd.DataFrame({"id": np.arange(n), "t": t, "g": coh, "y": yv, "x": x}))
    return pd.concat(rows, ignore_index=True)


def _fit(d, **kw) -> AttGtResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return att_gt(d, y="y", time="t", cohort="g", unit="id", **kw)


def test_two_by_two_equals_difference_of_means() -> None:
    d = _panel(periods=(1, 2), cohorts=(0, 2), covariate=False)
    res = _fit(d)
    assert list(res.labels) == ["2:2"]
    wide = d.pivot(index="id", columns="t", values="y")
    dy = wide[2] - wide[1]
    g = d.groupby("id")["g"].first()
    dt, dc = dy[g == 2], dy[g == 0]
    expected = dt.mean() - dc.mean()
    cell = res.table.set_index(["group", "time"]).loc[(2, 2)]
    assert cell["att"] == pytest.approx(expected, abs=CLOSED)
    # analytic SE: sqrt(s1^2/n1 + s0^2/n0) with ML (1/n) variances
    se = np.sqrt(dt.var(ddof=0) / len(dt) + dc.var(ddof=0) / len(dc))
    assert cell["se"] == pytest.approx(se, abs=CLOSED)
    assert cell["post"]


def test_repeated_cross_section_two_by_two() -> None:
    rng = np.random.default_rng(3)
    n = 1000
    d = pd.DataFrame(
        {"t": rng.choice([1, 2], n), "g": rng.choice([0, 2], n), "y": rng.normal(size=n)}
    )
    res = att_gt(d, y="y", time="t", cohort="g", panel=False)
    m = d.groupby(["g", "t"])["y"].mean()
    expected = (m[(2, 2)] - m[(2, 1)]) - (m[(0, 2)] - m[(0, 1)])
    assert res.table.set_index(["group", "time"]).loc[(2, 2), "att"] == pytest.approx(
        expected, abs=CLOSED
    )
    assert res.n_units == n


@pytest.mark.parametrize("panel", [True, False])
def test_methods_coincide_without_covariates(panel: bool) -> None:
    d = _panel()
    kw = {} if panel else {"panel": False}
    atts = {}
    ses = {}
    for m in ("dr", "ipw", "reg"):
        r = _fit(d, method=m, **kw)
        atts[m] = r.table["att"].to_numpy()
        ses[m] = r.table["se"].to_numpy()
    # without covariates all three reduce to the same difference of (Hajek) means
    np.testing.assert_allclose(atts["dr"], atts["ipw"], rtol=0, atol=CLOSED)
    np.testing.assert_allclose(atts["dr"], atts["reg"], rtol=0, atol=CLOSED)
    np.testing.assert_allclose(ses["dr"], ses["ipw"], rtol=0, atol=CLOSED)
    np.testing.assert_allclose(ses["dr"], ses["reg"], rtol=0, atol=CLOSED)


def test_table_layout_and_influence() -> None:
    d = _panel()
    res = _fit(d, covariates=("x",))
    assert list(res.table.columns) == [
        "group",
        "time",
        "att",
        "se",
        "conf_low",
        "conf_high",
        "post",
    ]
    assert list(res.labels) == ["3:2", "3:3", "3:4", "4:2", "4:3", "4:4"]
    assert res.influence.shape == (res.n_units, len(res.labels))
    # analytic SE is sqrt(mean(IF^2)/n) and equals sqrt(diag(vcov)) (same numbers, 1e-12)
    se_if = np.sqrt(np.mean(res.influence**2, axis=0) / res.n_units)
    np.testing.assert_allclose(res.table["se"], se_if, rtol=CLOSED)
    np.testing.assert_allclose(res.table["se"], np.sqrt(np.diag(res.vcov)), rtol=CLOSED)
    assert list(res.vcov.index) == list(res.labels)
    assert res.table["post"].tolist() == [False, True, True, False, False, True]
    z = 1.959963984540054
    np.testing.assert_allclose(res.table["conf_high"] - res.table["att"], z * res.table["se"])
    # the group probabilities sum to the treated share
    share = (d.groupby("id")["g"].first() > 0).mean()
    assert res.group_probs.sum() == pytest.approx(share, abs=CLOSED)


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("panel", [True, False])
def test_influence_functions_have_mean_zero(method: str, panel: bool) -> None:
    d = _panel()
    res = _fit(d, covariates=("x",), method=method, panel=panel)
    # Hajek means, OLS normal equations and the logit score all average to zero in sample;
    # the logit stops at glm's tolerance (relative deviance change 1e-8), hence 1e-8
    np.testing.assert_allclose(res.influence.mean(axis=0), 0.0, atol=1e-8)


def test_estimates_recover_the_true_effect() -> None:
    # 20 000 units; each ATT(g,t) has SE near 0.03, so 0.15 is a 5-sigma band
    d = _panel(n=20000, seed=5)
    res = _fit(d, covariates=("x",))
    truth = {"3:3": 1.0, "3:4": 1.5, "4:4": 1.0, "3:2": 0.0, "4:2": 0.0, "4:3": 0.0}
    for lab, v in truth.items():
        assert res.params[lab] == pytest.approx(v, abs=0.15)


def test_weights_scale_invariance() -> None:
    d = _panel()
    d["w"] = np.repeat(np.random.default_rng(1).uniform(0.5, 2, 400)[None, :], 4, 0).ravel()
    a = _fit(d, covariates=("x",), weights="w")
    d["w"] = d["w"] * 7.5
    b = _fit(d, covariates=("x",), weights="w")
    # weights are normalised within every 2x2 and in the group probabilities: only rounding
    np.testing.assert_allclose(a.table["att"], b.table["att"], atol=1e-10)
    np.testing.assert_allclose(a.table["se"], b.table["se"], atol=1e-10)


def test_wald_pretest_single_pre_period() -> None:
    d = _panel(periods=(1, 2, 3), cohorts=(0, 3))
    res = _fit(d)
    pre = res.table[~res.table["post"]]
    assert len(pre) == 1
    # one restriction: W = (att/se)^2 with the analytic se
    cell = pre.set_index(["group", "time"]).loc[(3, 2)]
    w = (cell["att"] / cell["se"]) ** 2
    assert res.wald_stat == pytest.approx(w, rel=1e-10)
    assert res.wald_df == 1
    assert 0.0 <= res.wald_pvalue <= 1.0


def test_universal_base_period() -> None:
    d = _panel()
    res = _fit(d, base_period="universal")
    t = res.table.set_index(["group", "time"])
    # the base period (g - 1) is normalised to zero with a missing SE
    assert t.loc[(3, 2), "att"] == 0.0 and np.isnan(t.loc[(3, 2), "se"])
    assert t.loc[(4, 3), "att"] == 0.0
    # post-treatment cells are the same as with the varying base period
    v = _fit(d).table.set_index(["group", "time"])
    assert t.loc[(3, 4), "att"] == pytest.approx(v.loc[(3, 4), "att"], abs=CLOSED)


def test_not_yet_treated_uses_later_cohorts() -> None:
    d = _panel()
    never = _fit(d)
    notyet = _fit(d, control="not_yet_treated")
    # 3:3 can use cohort 4 as controls under not-yet-treated: estimate changes
    assert never.params["3:3"] != pytest.approx(notyet.params["3:3"], abs=1e-6)
    # 4:4: no later cohort, both use only the never treated
    assert never.params["4:4"] == pytest.approx(notyet.params["4:4"], abs=CLOSED)


def test_announcements() -> None:
    d = _panel()
    d.loc[d["id"] < 5, "g"] = 1  # treated in the first period
    d.loc[(d["id"] >= 5) & (d["id"] < 8), "g"] = 9  # after the last period
    d = d[~((d["id"] == 20) & (d["t"] == 2))]  # unbalanced unit
    with pytest.warns(UserWarning) as rec:
        res = att_gt(d, y="y", time="t", cohort="g", unit="id")
    text = " ".join(res.notes)
    assert "already treated in the first period" in text
    assert "after the last period" in text
    assert "balance the panel" in text
    assert len(rec) >= 3
    assert res.n_units == 400 - 5 - 1


def test_unbalanced_panel_allowed() -> None:
    d = _panel()
    d = d.drop(d.sample(frac=0.1, random_state=1).index)
    res = _fit(d, allow_unbalanced_panel=True)
    assert res.n_units == d["id"].nunique()
    assert np.all(np.isfinite(res.table["se"]))


def test_bootstrap_reproducible_and_close_to_analytic() -> None:
    d = _panel()
    a = _fit(d, bootstrap=True, B=2000, cband=True, seed=11)
    b = _fit(d, bootstrap=True, B=2000, cband=True, seed=11)
    pd.testing.assert_frame_equal(a.table, b.table)
    an = _fit(d)
    # IQR-based SE with B=2000 has relative sd about 1.17/sqrt(2000) = 2.6%; 15% is a wide band
    np.testing.assert_allclose(a.table["se"], an.table["se"], rtol=0.15)
    assert a.crit_val > 1.959963984540054


def test_cluster_bootstrap() -> None:
    d = _panel()
    d["cl"] = d["id"] % 25
    res = _fit(d, bootstrap=True, B=500, cluster="cl", seed=2)
    assert np.all(np.isfinite(res.table["se"]))
    with pytest.warns(UserWarning, match="clustering"):
        att_gt(d, y="y", time="t", cohort="g", unit="id", cluster="cl")


def test_outputs_tidy_summary_dict_plot() -> None:
    res = _fit(_panel(), covariates=("x",))
    assert list(res.tidy()["term"]) == list(res.labels)
    assert "Wald" in res.summary()
    dct = res.to_dict()
    assert dct["n_units"] == res.n_units
    fig = res.plot()
    assert len(fig.axes) == 2
    with pytest.raises(AttributeError):
        res.n_units = 3  # type: ignore[misc]


# ------------------------------------------------------------------------------------ bad input


def test_cohort_not_a_period() -> None:
    d = _panel()
    d["g"] = d["g"].astype(float)
    d.loc[d["g"] == 3, "g"] = 2.5
    with pytest.raises(FvdidInputError, match="not periods"):
        _fit(d)


def test_cohort_changes_within_unit() -> None:
    d = _panel()
    d.loc[(d["id"] == 3) & (d["t"] == 4), "g"] = 4 if d.loc[d["id"] == 3, "g"].iloc[0] != 4 else 3
    with pytest.raises(FvdidInputError, match="constant within each unit"):
        _fit(d)


def test_constant_covariate() -> None:
    d = _panel()
    d["c"] = 1.0
    with pytest.raises(FvdidInputError, match="constant"):
        _fit(d, covariates=("c",))


def test_no_never_treated() -> None:
    d = _panel(cohorts=(2, 3, 4))
    with pytest.raises(FvdidInputError, match="never-treated"):
        _fit(d)
    # with not-yet-treated controls, did drops the periods from the last cohort on
    with pytest.warns(UserWarning, match="no never-treated"):
        res = att_gt(d, y="y", time="t", cohort="g", unit="id", control="not_yet_treated")
    assert set(res.table["group"]) == {2, 3}
    assert res.table["time"].max() == 3


def test_missing_column_and_bad_options() -> None:
    d = _panel()
    with pytest.raises(FvdidInputError, match="no column"):
        att_gt(d, y="nope", time="t", cohort="g", unit="id")
    with pytest.raises(FvdidInputError, match="control"):
        att_gt(d, y="y", time="t", cohort="g", unit="id", control="never")  # type: ignore[arg-type]
    with pytest.raises(FvdidInputError, match="unit"):
        att_gt(d, y="y", time="t", cohort="g")


# --------------------------------------------------------------------------------------------
# keyword aliases (issue 12): ``n_boot`` is the old name of ``B``
# --------------------------------------------------------------------------------------------


def test_n_boot_alias_gives_the_same_result_as_B() -> None:
    d = _panel(n=200)
    new = _fit(d, bootstrap=True, B=300, cband=True, seed=4)
    old = _fit(d, bootstrap=True, n_boot=300, cband=True, seed=4)
    # same seed and same number of draws: the two calls must be bit-identical
    pd.testing.assert_series_equal(new.params, old.params, check_exact=True)
    pd.testing.assert_series_equal(new.std_errors, old.std_errors, check_exact=True)
    assert new.crit_val == old.crit_val
    assert new.B == old.B == old.n_boot == 300
    # B changes the result (the alias is not ignored): fewer draws give other bootstrap SEs
    other = _fit(d, bootstrap=True, B=50, cband=True, seed=4)
    assert not other.std_errors.equals(new.std_errors)


def test_default_B_is_1000() -> None:
    assert _fit(_panel(n=100)).B == 1000


def test_B_and_n_boot_together_raise() -> None:
    with pytest.raises(FvdidInputError, match=r"B= and its alias n_boot="):
        _fit(_panel(n=100), bootstrap=True, B=100, n_boot=100)


def test_B_below_two_is_rejected_under_either_name() -> None:
    d = _panel(n=100)
    with pytest.raises(FvdidInputError, match="B must be >= 2"):
        _fit(d, bootstrap=True, B=1)
    with pytest.raises(FvdidInputError, match="B must be >= 2"):
        _fit(d, bootstrap=True, n_boot=1)


def test_multiplier_bootstrap_alias() -> None:
    from fvdid.att_gt import multiplier_bootstrap

    inf = np.random.default_rng(0).normal(size=(50, 3))
    a = multiplier_bootstrap(inf, B=99, alpha=0.05, rng=np.random.default_rng(1))
    b = multiplier_bootstrap(inf, n_boot=99, alpha=0.05, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a["draws"], b["draws"])
    assert a["draws"].shape == (99, 3)
    with pytest.raises(FvdidInputError, match="alias"):
        multiplier_bootstrap(inf, B=99, n_boot=99, alpha=0.05, rng=np.random.default_rng(1))
    with pytest.raises(FvdidInputError, match="needs B="):
        multiplier_bootstrap(inf, alpha=0.05, rng=np.random.default_rng(1))


# --------------------------------------------------------------------------------------------
# issue 15: xformla expressions and clustervars spelled as in did
# --------------------------------------------------------------------------------------------


def _fx_panel() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n, periods = 400, (1, 2, 3, 4)
    coh = rng.choice(np.array([0, 3, 4]), size=n)
    x = rng.normal(size=n)
    z = rng.uniform(size=n)
    region = rng.choice(np.array(["n", "s", "w"]), size=n)
    rows = []
    for t in periods:
        eff = np.where((coh > 0) & (t >= coh), 1.0, 0.0)
        yv = 0.2 * t * x + 0.3 * t * z + eff + rng.normal(size=n)
        rows.append(pd.DataFrame({"id": np.arange(n), "t": t, "g": coh, "y": yv, "x": x,
                                  "z": z, "region": region, "state": np.arange(n) % 20}))
    return pd.concat(rows, ignore_index=True)


def test_covariate_formula_equals_the_built_columns() -> None:
    d = _fx_panel()
    d["xz"] = d["x"] * d["z"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(y="y", time="t", cohort="g", unit="id")
        a = att_gt(d, covariates="~ x + z + x:z + C(region)", **kw)
        b = att_gt(d, covariates=("x", "z", "xz", "region"), **kw)
        one = att_gt(d, covariates="x", **kw)  # a bare column name, not its characters
        ref = att_gt(d, covariates=("x",), **kw)
    # same design columns in another construction order: rounding only
    np.testing.assert_allclose(a.table["att"], b.table["att"], atol=1e-10)
    np.testing.assert_allclose(a.table["se"], b.table["se"], atol=1e-10)
    np.testing.assert_array_equal(one.table["att"], ref.table["att"])
    with pytest.raises(FvdidInputError, match="intercept"):
        att_gt(d, covariates="~ x - 1", **kw)


def test_clustervars_with_the_unit_as_in_did() -> None:
    d = _fx_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(y="y", time="t", cohort="g", unit="id", bootstrap=True, B=199, seed=1)
        a = att_gt(d, cluster=("id", "state"), **kw)
        b = att_gt(d, cluster="state", **kw)
    np.testing.assert_array_equal(a.table["se"], b.table["se"])
    with pytest.raises(FvdidInputError, match="at most one"):
        att_gt(d, cluster=["id", "state", "region"], **kw)
