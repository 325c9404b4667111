"""Pure-Python tests of fvdid.ols: FWL vs explicit dummies, sandwich variants, invariances, input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from fvdid.errors import FvdidInputError
from fvdid.ols import ols


def _panel(seed: int = 1, n_units: int = 25, n_t: int = 8, drop: float = 0.15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_t)
    time = np.tile(np.arange(n_t), n_units)
    a = rng.normal(size=n_units)[unit]
    x1 = rng.normal(size=unit.size) + a
    x2 = rng.uniform(size=unit.size)
    treat = ((time >= 4) & (unit % 3 == 0)).astype(float)
    cat = rng.choice(["p", "q", "r"], unit.size)
    w = rng.uniform(0.3, 3.0, unit.size)
    y = 0.5 * treat + x1 - 0.7 * x2 + a + 0.1 * time + rng.normal(size=unit.size) * (1 + unit % 2)
    df = pd.DataFrame(
        dict(unit=unit, time=time, region=unit % 5, y=y, x1=x1, x2=x2, treat=treat, cat=cat, w=w)
    )
    keep = rng.uniform(size=len(df)) > drop
    df = df.loc[keep]
    df.index = [f"r{i}" for i in range(len(df))]  # non-default labels: results must keep them
    return df


def _dummies(df: pd.DataFrame, fe: list[str], regs: list[str]) -> pd.DataFrame:
    parts = [df[regs].astype(float), pd.Series(1.0, index=df.index, name="const")]
    for f in fe:
        parts.append(pd.get_dummies(df[f], prefix=f, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


REGS = ["treat", "x1", "x2"]
TWFE = "y ~ treat + x1 + x2 | unit + time"


@pytest.mark.parametrize("weighted", [False, True])
def test_fwl_matches_explicit_dummies_iid(weighted: bool) -> None:
    df = _panel()
    fit = ols(TWFE, df, weights="w" if weighted else None)
    X = _dummies(df, ["unit", "time"], REGS)
    ref = sm.WLS(df["y"], X, weights=df["w"] if weighted else 1.0).fit()
    # 1e-10: both are exact least squares; the within transformation and the dummy QR differ
    # only in floating-point rounding
    np.testing.assert_allclose(fit.params[REGS], ref.params[REGS], atol=1e-10)
    np.testing.assert_allclose(fit.std_errors[REGS], ref.bse[REGS], atol=1e-10)
    assert fit.df_resid == int(ref.df_resid)
    # residuals and fitted values of the full model, labelled by the data's rows
    np.testing.assert_allclose(fit.resid.loc[df.index], ref.resid.loc[df.index], atol=1e-10)
    np.testing.assert_allclose(fit.fitted.loc[df.index], ref.fittedvalues.loc[df.index], atol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_cr1_and_hc1_match_statsmodels_with_dummies(weighted: bool) -> None:
    df = _panel(seed=2)
    X = _dummies(df, ["unit", "time"], REGS)
    wts = df["w"] if weighted else 1.0
    g = pd.factorize(df["unit"])[0]
    ref_cl = sm.WLS(df["y"], X, weights=wts).fit(cov_type="cluster", cov_kwds={"groups": g})
    ref_hc = sm.WLS(df["y"], X, weights=wts).fit(cov_type="HC1")
    w = "w" if weighted else None
    cr1 = ols(TWFE, df, weights=w, vcov="CR1", cluster="unit")
    hc1 = ols(TWFE, df, weights=w, vcov="HC1")
    # 1e-10: closed-form sandwiches with the same small-sample factor
    # (statsmodels: G/(G-1) (n-1)/(n-k), k incl. the dummies; HC1: n/(n-k))
    np.testing.assert_allclose(cr1.std_errors[REGS], ref_cl.bse[REGS], atol=1e-10)
    np.testing.assert_allclose(hc1.std_errors[REGS], ref_hc.bse[REGS], atol=1e-10)
    assert cr1.n_clusters == df["unit"].nunique()
    assert (cr1.df == cr1.n_clusters - 1).all()


def _cr2_dense(y, X, w, g):  # clubSandwich's CR2 on an explicit design (reference in the test)
    n, p = X.shape
    W = np.diag(w)
    M = np.linalg.pinv(X.T @ W @ X)
    H = X @ M @ X.T @ W
    beta = M @ X.T @ W @ y
    e = y - X @ beta
    IH = np.eye(n) - H
    comps = []
    A = {}
    for j in np.unique(g):
        ix = np.flatnonzero(g == j)
        Gj = (IH @ IH.T)[np.ix_(ix, ix)]
        lam, V = np.linalg.eigh((Gj + Gj.T) / 2)
        f = np.where(lam > 1e-12, np.abs(lam) ** -0.5, 0.0)
        A[j] = (V * f) @ V.T
        comps.append(X[ix].T @ W[np.ix_(ix, ix)] @ A[j] @ e[ix])
    C = np.column_stack(comps)
    vc = M @ C @ C.T @ M
    dfs = []
    groups = list(np.unique(g))
    for i in range(p):
        vs = []
        for j in groups:
            ix = np.flatnonzero(g == j)
            v = np.zeros(n)
            v[ix] = A[j] @ (W[np.ix_(ix, ix)] @ X[ix] @ M[:, i])
            vs.append(v)
        Vm = np.column_stack(vs)
        P = Vm.T @ (IH @ IH.T) @ Vm
        dfs.append(np.trace(P) ** 2 / np.sum(P**2))
    return beta, vc, np.array(dfs)


@pytest.mark.parametrize("weighted", [False, True])
def test_cr2_fwl_blocks_match_dense_dummy_model(weighted: bool) -> None:
    df = _panel(seed=3, n_units=12, n_t=6)
    X = _dummies(df, ["unit", "time"], REGS)
    w = df["w"].to_numpy() if weighted else np.ones(len(df))
    g = df["region"].to_numpy()
    beta, vc, dfs = _cr2_dense(df["y"].to_numpy(), X.to_numpy(), w, g)
    fit = ols(TWFE, df, weights="w" if weighted else None, vcov="CR2", cluster="region")
    pos = [list(X.columns).index(r) for r in REGS]
    # 1e-9: same algebra; eigendecompositions of differently assembled (but equal) matrices
    np.testing.assert_allclose(fit.params[REGS], beta[pos], atol=1e-10)
    np.testing.assert_allclose(fit.std_errors[REGS], np.sqrt(np.diag(vc))[pos], atol=1e-9)
    # 1e-7 relative: Satterthwaite df is a ratio of sums of squares of the same matrices
    np.testing.assert_allclose(fit.df[REGS], dfs[pos], rtol=1e-7)


def _few_large_clusters(seed: int, constant_weights: tuple[int, ...] = ()) -> pd.DataFrame:
    """600 rows in 4 clusters ``g`` (about 150 rows each) with a factor ``t``; the clusters in
    ``constant_weights`` get one weight each (0.7 + g), the others uniform weights."""
    rng = np.random.default_rng(seed)
    n = 600
    df = pd.DataFrame(
        dict(g=rng.integers(0, 4, n), t=rng.integers(0, 3, n), x=rng.normal(size=n),
             w=rng.uniform(0.5, 2, n))
    )
    df["w"] = np.where(df["g"].isin(constant_weights), 0.7 + df["g"], df["w"])
    df["y"] = df["x"] + 0.2 * df["t"] + rng.normal(size=n) * (1 + df["g"])
    return df


def test_cr2_large_cluster_low_rank_path_matches_dense() -> None:
    # few clusters with many rows each exercise the low-rank (1 + Z K Z') inverse square root
    df = _few_large_clusters(5)
    X = _dummies(df, ["g", "t"], ["x"])
    _beta, vc, dfs = _cr2_dense(df["y"].to_numpy(), X.to_numpy(), df["w"].to_numpy(),
                                df["g"].to_numpy())
    fit = ols("y ~ x | g + t", df, weights="w", vcov="CR2", cluster="g")
    # 1e-9 / 1e-7: as above (eigen-solver rounding)
    np.testing.assert_allclose(fit.std_errors["x"], np.sqrt(vc[0, 0]), atol=1e-9)
    np.testing.assert_allclose(fit.df["x"], dfs[0], rtol=1e-7)


@pytest.mark.parametrize("vcov", ["iid", "HC1", "CR1", "CR2"])
def test_invariant_to_weight_scale_and_row_order(vcov: str) -> None:
    df = _panel(seed=4)
    cl = "unit" if vcov in ("CR1", "CR2") else None
    base = ols(TWFE, df, weights="w", vcov=vcov, cluster=cl)
    scaled = df.assign(w=df["w"] * 37.5)
    perm = df.sample(frac=1.0, random_state=0)
    for other in (ols(TWFE, scaled, weights="w", vcov=vcov, cluster=cl),
                  ols(TWFE, perm, weights="w", vcov=vcov, cluster=cl)):
        # 1e-10: same estimator; only the order/scale of floating-point sums differs
        pd.testing.assert_series_equal(other.params, base.params, atol=1e-10, rtol=0)
        pd.testing.assert_series_equal(other.std_errors, base.std_errors, atol=1e-10, rtol=0)
        pd.testing.assert_series_equal(other.df, base.df, atol=1e-7, rtol=0)


def test_formula_terms_labels_and_no_fe_intercept() -> None:
    df = _panel(seed=6)
    fit = ols("y ~ x1 + C(cat) + x1:x2", df)
    assert list(fit.params.index) == ["(Intercept)", "x1", "C(cat)[T.q]", "C(cat)[T.r]", "x1:x2"]
    X = pd.DataFrame({"const": 1.0, "x1": df["x1"], "q": (df["cat"] == "q") * 1.0,
                      "r": (df["cat"] == "r") * 1.0, "x1x2": df["x1"] * df["x2"]})
    ref = sm.OLS(df["y"], X).fit()
    # 1e-10: exact least squares both sides
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=1e-10)
    assert fit.n_fe == 0
    star = ols("y ~ x1*x2", df)
    assert list(star.params.index) == ["(Intercept)", "x1", "x2", "x1:x2"]


def test_fe_only_and_one_fe() -> None:
    df = _panel(seed=7)
    empty = ols("y ~ 1 | unit", df, vcov="HC1")
    assert len(empty.params) == 0 and empty.n_fe == df["unit"].nunique()
    one = ols("y ~ x1 | unit", df)
    X = _dummies(df, ["unit"], ["x1"])
    ref = sm.OLS(df["y"], X).fit()
    np.testing.assert_allclose(one.params["x1"], ref.params["x1"], atol=1e-10)  # exact LS


def test_design_reproduces_params_and_keeps_labels() -> None:
    df = _panel(seed=8)
    fit = ols(TWFE, df, weights="w", vcov="CR1", cluster="unit")
    d = fit.design
    assert d.terms == list(fit.params.index) and d.fe == ["unit", "time"]
    assert d.X.shape == (fit.nobs, 3) and d.index.equals(fit.resid.index)
    assert d.n_fe == fit.n_fe == df["unit"].nunique() + df["time"].nunique() - 1
    WX = d.X * d.weights[:, None]
    beta = np.linalg.solve(WX.T @ d.X, WX.T @ d.y)
    np.testing.assert_allclose(beta, fit.params.to_numpy(), atol=1e-12)  # same normal equations
    # FE-demeaned columns are W-orthogonal to every FE level (to machine precision)
    for f in d.fe:
        codes = pd.factorize(df.loc[d.index, f])[0]
        sums = np.bincount(codes, weights=d.weights * d.X[:, 0])
        assert np.abs(sums).max() < 1e-12 * np.abs(d.X[:, 0]).sum()
    assert set(df.loc[d.index, "unit"]) == set(df["unit"])


def test_missing_rows_counted_singletons_counted_and_reported() -> None:
    df = _panel(seed=9)
    df.loc[df.index[:3], "x2"] = np.nan
    df.loc[df.index[5], "w"] = np.nan
    extra = pd.DataFrame(dict(unit=[900], time=[0], region=[0], y=[0.3], x1=[0.1], x2=[0.2],
                              treat=[0.0], cat=["p"], w=[1.0]), index=["single"])
    df = pd.concat([df, extra])
    fit = ols(TWFE, df, weights="w")
    assert fit.n_dropped == 4
    assert fit.nobs == len(df) - 4
    assert fit.n_singletons == 1
    assert "single" in fit.resid.index and abs(fit.resid["single"]) < 1e-10  # own FE level
    assert any("singleton" in n for n in fit.notes)
    out = fit.tidy()
    assert list(out.columns) == ["term", "estimate", "std_error", "statistic", "p_value",
                                 "conf_low", "conf_high", "df"]
    assert "OLSResult" in fit.summary()
    d = fit.to_dict()
    assert "design" not in d and d["n_dropped"] == 4


def test_collinear_term_dropped_with_note() -> None:
    df = _panel(seed=10).assign(z=lambda d: d["unit"] * 2.0)
    fit = ols("y ~ x1 + z | unit", df)
    assert list(fit.params.index) == ["x1"]
    assert any("'z'" in n for n in fit.notes)


# ---- bad input -------------------------------------------------------------------------------


def test_missing_column_is_named() -> None:
    with pytest.raises(FvdidInputError, match="nope"):
        ols("y ~ x1 + nope | unit", _panel())
    with pytest.raises(FvdidInputError, match="clu"):
        ols("y ~ x1", _panel(), vcov="CR1", cluster="clu")


def test_cluster_with_one_level() -> None:
    df = _panel().assign(one=1)
    with pytest.raises(FvdidInputError, match="1 level"):
        ols("y ~ x1", df, vcov="CR1", cluster="one")


def test_negative_weights_name_the_rows() -> None:
    df = _panel()
    df.loc[df.index[[2, 7]], "w"] = -1.0
    with pytest.raises(FvdidInputError, match=rf"{df.index[2]}.*{df.index[7]}"):
        ols("y ~ x1", df, weights="w")


def test_all_nan_outcome() -> None:
    df = _panel().assign(y=np.nan)
    with pytest.raises(FvdidInputError, match="'y'"):
        ols("y ~ x1 | unit", df)


def test_cluster_needed_and_bad_vcov() -> None:
    with pytest.raises(FvdidInputError, match="cluster"):
        ols("y ~ x1", _panel(), vcov="CR2")
    with pytest.raises(FvdidInputError, match="vcov"):
        ols("y ~ x1", _panel(), vcov="HC4")  # type: ignore[arg-type]
    with pytest.raises(FvdidInputError, match="C\\(cat\\)"):
        ols("y ~ cat", _panel())


def test_one_million_rows_two_fe_cr1_is_fast() -> None:
    import time

    rng = np.random.default_rng(0)
    n = 1_000_000
    df = pd.DataFrame(dict(la=rng.integers(0, 150, n), q=rng.integers(0, 28, n),
                           x=rng.normal(size=n)))
    df["y"] = df["x"] + 0.01 * df["la"] + rng.normal(size=n)
    t0 = time.perf_counter()
    fit = ols("y ~ x | la + q", df, vcov="CR1", cluster="la")
    elapsed = time.perf_counter() - t0
    assert abs(fit.params["x"] - 1) < 0.01
    assert elapsed < 30  # generous: "a few seconds" on an idle machine, CI runners are shared


def test_without_intercept_the_first_factor_keeps_every_level() -> None:
    # As lm(y ~ factor(cat) - 1): one dummy per level, each coefficient the level's mean.
    df = _panel()
    fit = ols("y ~ C(cat) - 1", df)
    assert list(fit.params.index) == ["C(cat)[T.p]", "C(cat)[T.q]", "C(cat)[T.r]"]
    means = df.groupby("cat")["y"].mean()
    for lev in ("p", "q", "r"):
        # A mean computed two ways (QR least squares vs a sum): rounding only.
        assert fit.params[f"C(cat)[T.{lev}]"] == pytest.approx(means[lev], abs=1e-12)
    # With absorbed fixed effects the factor stays treatment coded (the FE hold the level).
    fe = ols("y ~ x1 + C(cat) | unit", df)
    assert "C(cat)[T.p]" not in fe.params.index and "C(cat)[T.q]" in fe.params.index


def test_the_grammar_is_shared_with_the_likelihood_estimators() -> None:
    # logit reads interactions and a*b as ols does, and rejects absorbed fixed effects.
    from fvdid.logit import logit

    df = _panel().assign(b=lambda d: (d["y"] > d["y"].median()).astype(float))
    lg = logit("b ~ x1*x2", df)
    assert list(lg.params.index) == ["(Intercept)", "x1", "x2", "x1:x2"]
    assert list(ols("y ~ x1*x2", df).params.index) == list(lg.params.index)
    with pytest.raises(FvdidInputError, match="fixed effects"):
        logit("b ~ x1 | unit", df)


# --------------------------------------------------------------------------------------------
# issue 15: HC0-HC3, CR0 / CR1S / CR3, multi-way clustering
# --------------------------------------------------------------------------------------------

# the brute-force dummy regressions below differ from the FWL path by rounding only
BRUTE = 1e-9


@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize("kind", ["HC0", "HC2", "HC3"])
def test_hc_types_match_dense_dummy_regression(kind: str, weights: str | None) -> None:
    df = _panel(seed=4).dropna()
    fit = ols("y ~ treat + x1 + x2 | unit + time", df, vcov=kind, weights=weights)  # type: ignore[arg-type]
    X = _dummies(df, ["unit", "time"], ["treat", "x1", "x2"]).to_numpy()
    w = np.ones(len(df)) if weights is None else df[weights].to_numpy()
    y = df["y"].to_numpy()
    M = np.linalg.inv(X.T @ (w[:, None] * X))
    e = y - X @ (M @ X.T @ (w * y))
    h = np.einsum("ij,jk,ik->i", X, M, X) * w
    power = {"HC0": 0.0, "HC2": 1.0, "HC3": 2.0}[kind]
    omega = (w * e) ** 2 / (1 - h) ** power
    V = M @ (X.T @ (omega[:, None] * X)) @ M
    np.testing.assert_allclose(fit.std_errors.to_numpy(), np.sqrt(np.diag(V))[:3], rtol=BRUTE)


def test_cr0_cr1s_cr3_conventions() -> None:
    df = _panel(seed=5).dropna()
    f = "y ~ treat + x1 + x2 | time"
    cr0 = ols(f, df, vcov="CR0", cluster="unit")
    cr1 = ols(f, df, vcov="CR1", cluster="unit")
    cr1s = ols(f, df, vcov="CR1S", cluster="unit")
    n, g, k = cr1.nobs, cr1.n_clusters, 3 + cr1.n_fe
    assert g is not None
    ratio = g / (g - 1) * (n - 1) / (n - k)
    np.testing.assert_allclose(cr1.vcov, cr0.vcov * ratio, rtol=1e-12)  # a scalar factor
    pd.testing.assert_frame_equal(cr1s.vcov, cr1.vcov)  # clubSandwich's name of the same number
    # CR3 = sum_j X_j' (I - H_jj)^-1 e_j (...)' with H from the dense dummy model
    cr3 = ols(f, df, vcov="CR3", cluster="unit")
    X = _dummies(df, ["time"], ["treat", "x1", "x2"]).to_numpy()
    y = df["y"].to_numpy()
    M = np.linalg.inv(X.T @ X)
    e = y - X @ (M @ X.T @ y)
    meat = np.zeros((X.shape[1], X.shape[1]))
    for u in df["unit"].unique():
        ix = np.flatnonzero(df["unit"].to_numpy() == u)
        Xj = X[ix]
        s = Xj.T @ np.linalg.solve(np.eye(len(ix)) - Xj @ M @ Xj.T, e[ix])
        meat += np.outer(s, s)
    V = M @ meat @ M
    np.testing.assert_allclose(cr3.std_errors.to_numpy(), np.sqrt(np.diag(V))[:3], rtol=BRUTE)
    with pytest.raises(FvdidInputError, match="singular"):
        ols("y ~ treat + x1 | unit", df, vcov="CR3", cluster="unit")  # FE nested in clusters


@pytest.mark.parametrize("weights", [None, "w"])
def test_two_way_clustering_is_inclusion_exclusion(weights: str | None) -> None:
    df = _panel(seed=6).dropna()
    df = df.assign(ut=df["unit"].astype(str) + "_" + df["time"].astype(str))
    f = "y ~ treat + x1 + x2"
    two = ols(f, df, vcov="CR0", cluster=("region", "time"), weights=weights)
    parts = {
        c: ols(f, df, vcov="CR0", cluster=c, weights=weights).vcov
        for c in ("region", "time")
    }
    inter = df["region"].astype(str) + "_" + df["time"].astype(str)
    parts["both"] = ols(f, df.assign(rt=inter), vcov="CR0", cluster="rt", weights=weights).vcov
    np.testing.assert_allclose(
        two.vcov, parts["region"] + parts["time"] - parts["both"], rtol=1e-10, atol=1e-14
    )
    assert two.n_clusters == 5  # min(G): 5 regions, 8 periods
    assert set(two.df) == {4.0}
    # the intersection is still available as a column one builds (one-way on it)
    one = ols(f, df, vcov="CR1", cluster="ut", weights=weights)
    assert one.n_clusters == df["ut"].nunique()
    with pytest.raises(FvdidInputError, match="multi-way"):
        ols(f, df, vcov="CR2", cluster=("region", "time"))


@pytest.mark.parametrize("cluster", ["region", "unit"])
@pytest.mark.parametrize("weights", [None, "w", "w_const"])
def test_cr2_of_equals_a_cr2_refit(cluster: str, weights: str | None) -> None:
    # cr2_of forms CR2 from a CR1 fit's design: it must give the refit's numbers, on a frame with
    # rows dropped for a missing value, with the cluster nested in a fixed effect or not, and
    # with weights constant within some clusters (the exact shortcut of cr2's constant-weight
    # branch) but not others
    from fvdid.estimators.ols import cr2_of

    df = _panel(seed=6, n_units=15, n_t=6)
    df.loc[df.index[[3, 17]], "x1"] = np.nan
    const = df["region"].isin([0, 2])
    df["w_const"] = np.where(const, 1.0 + df["region"], df["w"])
    fit1 = ols(TWFE, df, weights=weights, vcov="CR1", cluster=cluster)
    fit2 = ols(TWFE, df, weights=weights, vcov="CR2", cluster=cluster)
    se, dof = cr2_of(fit1, ["x2", "treat"])
    assert list(se.index) == ["x2", "treat"] and list(dof.index) == ["x2", "treat"]
    # 1e-12 relative: the same matrices; the refit only repeats the absorption and the QR
    np.testing.assert_allclose(se.to_numpy(), fit2.std_errors[["x2", "treat"]], rtol=1e-12)
    np.testing.assert_allclose(dof.to_numpy(), fit2.df[["x2", "treat"]], rtol=1e-12)


def test_cr2_constant_weight_clusters_match_dense_reference() -> None:
    # the low-rank branch of clusters whose weights are one constant (Z = U_j) against the
    # explicit-design reference: 4 clusters of about 150 rows, two of them with constant weights
    df = _few_large_clusters(8, constant_weights=(0, 1))
    X = _dummies(df, ["g", "t"], ["x"])
    _b, vc, dfs = _cr2_dense(df["y"].to_numpy(), X.to_numpy(), df["w"].to_numpy(),
                             df["g"].to_numpy())
    fit = ols("y ~ x | g + t", df, weights="w", vcov="CR2", cluster="g")
    # 1e-9 / 1e-7: as in the dense comparison above (eigen-solver rounding)
    np.testing.assert_allclose(fit.std_errors["x"], np.sqrt(vc[0, 0]), atol=1e-9)
    np.testing.assert_allclose(fit.df["x"], dfs[0], rtol=1e-7)
    # and cr2_of on a CR1 fit of the same model gives the same (same matrices: 1e-12)
    from fvdid.estimators.ols import cr2_of

    se, dof = cr2_of(ols("y ~ x | g + t", df, weights="w", vcov="CR1", cluster="g"), ["x"])
    np.testing.assert_allclose([se["x"], dof["x"]], [fit.std_errors["x"], fit.df["x"]], rtol=1e-12)


def test_cr2_of_errors_name_what_is_wrong() -> None:
    from fvdid.estimators.ols import cr2_of

    df = _panel()
    with pytest.raises(FvdidInputError, match="clustered by one column"):
        cr2_of(ols(TWFE, df, vcov="HC1"), ["treat"])
    with pytest.raises(FvdidInputError, match=r"\['nope'\]"):
        cr2_of(ols(TWFE, df, vcov="CR1", cluster="unit"), ["treat", "nope"])
