"""Tests of fvdid.cluster_diagnostics: G*, leverage and partial leverage against brute force."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fvdid import cluster_diagnostics, ols
from fvdid.errors import FvdidInputError

TOL = 1e-10  # dense linear algebra on small designs: rounding only


def _panel(seed: int = 0, n_la: int = 8, T: int = 5, per: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for la in range(n_la):
        size = per + la % 3  # unequal cluster sizes
        for t in range(T):
            for _ in range(size):
                treat = int(la < 2 and t >= 2)
                rows.append((f"L{la}", t, treat, rng.normal(), rng.uniform(0.5, 2.0)))
    d = pd.DataFrame(rows, columns=["la", "t", "treat", "x", "w"])
    d["y"] = 0.5 * d["treat"] + 0.3 * d["x"] + rng.normal(size=len(d))
    return d.set_index(pd.Index(np.arange(len(d)) * 2 + 7))  # non-default labels


def test_gstar_equals_G_for_balanced_equal_clusters() -> None:
    # 6 clusters of 10, a cluster-level regressor +1 / -1 (three each) and an intercept: every
    # cluster contributes the same gamma_g, so Gamma = 0 and G* = G for every rho
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(6), 10)
    x = np.where(g < 3, 1.0, -1.0)
    d = pd.DataFrame({"g": g, "x": x, "y": rng.normal(size=60)})
    fit = ols("y ~ x", d, vcov="CR1", cluster="g")
    res = cluster_diagnostics(fit, "x", "g", data=d, rho=(0.0, 0.5, 1.0))
    for r in (0.0, 0.5, 1.0):
        assert res.gstar[r] == pytest.approx(6.0, abs=TOL)
    assert res.n_clusters == 6 and res.k == 2


def test_gstar_brute_force_and_few_treated_clusters() -> None:
    d = _panel()
    # no LA fixed effects: with them the scores sum to zero per LA and rho = 1 is degenerate
    fit = ols("y ~ treat + x | t", d, vcov="CR1", cluster="la")
    res = cluster_diagnostics(fit, "treat", "la", data=d, rho=(0.0, 0.3, 1.0))
    assert not res.notes
    X = fit.design.X
    a = np.zeros(X.shape[1])
    a[fit.design.terms.index("treat")] = 1.0
    Minv = np.linalg.inv(X.T @ X)
    cl = d.loc[fit.design.index, "la"].to_numpy()
    for rho in (0.0, 0.3, 1.0):
        gam = []
        for g in sorted(set(cl)):
            Xg = X[cl == g]
            ng = Xg.shape[0]
            omega = (1 - rho) * np.eye(ng) + rho * np.ones((ng, ng))
            gam.append(a @ Minv @ Xg.T @ omega @ Xg @ Minv @ a)
        gam = np.array(gam)
        big = np.mean((gam - gam.mean()) ** 2) / gam.mean() ** 2
        assert res.gstar[rho] == pytest.approx(len(gam) / (1 + big), rel=TOL)
    # two treated LAs out of eight: G* is far below G
    assert res.gstar[1.0] < 4.0
    assert res.n_treated_clusters == 2 and res.n_untreated_clusters == 6
    assert res.gstar[0.0] < 8.0
    assert bool(res.clusters.loc["L0", "treated"]) and not bool(res.clusters.loc["L5", "treated"])


def test_gstar_with_la_fixed_effects_nested_in_clusters() -> None:
    d = _panel()
    fit = ols("y ~ treat + x | la + t", d, vcov="CR1", cluster="la")
    res = cluster_diagnostics(fit, "treat", "la", data=d, rho=(0.0, 0.5, 1.0))
    assert np.isnan(res.gstar[1.0])
    assert res.gstar[0.5] == pytest.approx(res.gstar[0.0], rel=TOL)
    assert any("nested" in n for n in res.notes)


def test_leverage_sums_to_k_and_matches_explicit_dummies() -> None:
    d = _panel(seed=2)
    fit = ols("y ~ treat + x + C(t) | la", d, vcov="CR1", cluster="la", weights="w")
    res = cluster_diagnostics(fit, "treat", "la", data=d)
    k = len(fit.params)
    assert res.clusters["leverage"].sum() == pytest.approx(k, abs=TOL)
    assert res.clusters["partial_leverage"].sum() == pytest.approx(1.0, abs=TOL)
    # the explicit dummy regression (as lm with factor(la)): its hat-matrix trace per cluster
    # is the within leverage plus 1 (the LA's own dummy, nested in the cluster)
    dd = d.loc[fit.design.index]
    Xf = np.column_stack(
        [dd["treat"], dd["x"], pd.get_dummies(dd["t"]).to_numpy(float)[:, 1:],
         pd.get_dummies(dd["la"]).to_numpy(float)]
    )
    sw = np.sqrt(dd["w"].to_numpy())
    Xs = sw[:, None] * Xf
    h = np.einsum("ij,jk,ik->i", Xs, np.linalg.inv(Xs.T @ Xs), Xs)
    full = pd.Series(h, index=dd["la"].to_numpy()).groupby(level=0).sum()
    for la, lev in res.clusters["leverage"].items():
        assert lev + 1.0 == pytest.approx(full[la], abs=TOL)
    # partial leverage: residualise treat on every other column (dummies included), weighted
    others = np.delete(Xs, 0, axis=1)
    xt = Xs[:, 0] - others @ np.linalg.lstsq(others, Xs[:, 0], rcond=None)[0]
    pl = pd.Series(xt**2, index=dd["la"].to_numpy()).groupby(level=0).sum() / (xt**2).sum()
    for la, v in res.clusters["partial_leverage"].items():
        assert v == pytest.approx(pl[la], abs=TOL)


def test_cluster_as_series_or_array_and_notes() -> None:
    d = _panel(seed=3)
    fit = ols("y ~ treat + x | la + t", d, vcov="CR1", cluster="la")
    by_name = cluster_diagnostics(fit, "treat", "la", data=d)
    by_series = cluster_diagnostics(fit, "treat", d["la"], treatment=d["treat"])
    by_array = cluster_diagnostics(fit, "x", d.loc[fit.design.index, "la"].to_numpy())
    pd.testing.assert_frame_equal(by_name.clusters, by_series.clusters)
    assert by_array.n_treated_clusters is None and by_array.notes
    pd.testing.assert_series_equal(by_name.leverage, by_array.leverage)
    d_out = by_name.to_dict()
    json.dumps(d_out)
    assert [r["cluster"] for r in d_out["clusters"]] == list(by_name.clusters.index)
    assert "G*(0)" in by_name.summary()
    assert set(by_name.tidy()["quantity"]) >= {"gstar_rho0", "gstar_rho1", "n_treated_clusters"}


def test_bad_input() -> None:
    d = _panel(seed=4)
    fit = ols("y ~ treat + x | la + t", d, vcov="CR1", cluster="la")
    with pytest.raises(FvdidInputError, match="not a coefficient"):
        cluster_diagnostics(fit, "nope", "la", data=d)
    with pytest.raises(FvdidInputError, match="pass data="):
        cluster_diagnostics(fit, "treat", "la")
    with pytest.raises(FvdidInputError, match="one value per row"):
        cluster_diagnostics(fit, "treat", np.zeros(3))
    with pytest.raises(FvdidInputError, match="no value for"):
        cluster_diagnostics(fit, "treat", d["la"].iloc[5:])
    with pytest.raises(FvdidInputError, match="rho"):
        cluster_diagnostics(fit, "treat", "la", data=d, rho=(2.0,))
