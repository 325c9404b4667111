"""Pure-Python tests of fvdid.boottest: brute force, analytic identities, invariances, bad input."""

from __future__ import annotations

import dataclasses
import itertools
import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from fvdid.boottest import BoottestResult, boottest
from fvdid.errors import FvdidInputError
from fvdid.ols import ols


def _panel(seed: int = 1, n_clusters: int = 6, per: int = 25) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), per)
    n = g.size
    year = rng.integers(2017, 2021, n)
    x = rng.normal(size=n) + 0.2 * g
    z = rng.normal(size=n)
    w = rng.uniform(0.3, 2.0, n)
    y = 0.2 * x - 0.1 * z + 0.2 * (year - 2017) + rng.normal(0.0, 0.7, n_clusters)[g]
    y = y + rng.normal(size=n)
    return pd.DataFrame(
        {"g": g, "half": rng.integers(0, 2, n), "year": year, "x": x, "z": z, "w": w, "y": y}
    ).set_index(pd.Index(np.arange(n) * 3 + 100))  # non-default labels: alignment by label


def _exceed_count(t0: float, tb: np.ndarray) -> float:
    # The all-plus and all-minus sign vectors reproduce +-t0 exactly in theory; refitted by
    # least squares they differ from t0 by rounding only, so ties are read with a relative
    # 1e-9 margin (strict exceedance, as fwildclusterboot: mean(|t| < |t*|)).
    return float(np.mean(np.abs(tb) > abs(t0) * (1 + 1e-9)))


# --------------------------------------------------------------------------------------------
# brute force and analytic identities
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize("weights", [None, "w"])
def test_full_enumeration_matches_brute_force_refits(
    impose_null: bool, weights: str | None
) -> None:
    d = _panel()
    r = 0.1
    fit = ols("y ~ x + z", d, weights=weights, vcov="CR1", cluster="g")
    res = boottest(fit, "x", "g", data=d, B=999, impose_null=impose_null, r=r, conf_int=False)
    assert res.full_enumeration and res.B == 2**6

    # explicit wild resamples, each refitted by fvdid.ols with its CR1 standard error
    if impose_null:  # restricted fit: y - r x on (1, z)
        d0 = d.assign(y0=d["y"] - r * d["x"])
        f0 = ols("y0 ~ z", d0, weights=weights)
        yhat = f0.fitted + r * d["x"]
    else:
        yhat = fit.fitted
    u = d["y"] - yhat
    clusters = np.sort(d["g"].unique())
    t_boot = []
    for signs in itertools.product([-1.0, 1.0], repeat=clusters.size):
        v = pd.Series(signs, index=clusters).reindex(d["g"]).to_numpy()
        fb = ols("y ~ x + z", d.assign(y=yhat + u * v), weights=weights, vcov="CR1", cluster="g")
        centre = r if impose_null else fit.params["x"]
        t_boot.append((fb.params["x"] - centre) / fb.std_errors["x"])
    t_boot = np.array(t_boot)
    t0 = (fit.params["x"] - r) / fit.std_errors["x"]
    # closed-form rounding only (cluster sums vs QR refits)
    assert res.t_stat == pytest.approx(t0, rel=1e-10)
    np.testing.assert_allclose(np.sort(res.t_boot), np.sort(t_boot), rtol=1e-9, atol=1e-10)
    assert res.p_value == _exceed_count(t0, t_boot)


def test_wcr_t_stat_is_cr1_t_stat_with_and_without_fe() -> None:
    d = _panel(seed=2)
    for formula, fixef_k in (("y ~ x + z", "none"), ("y ~ x + z | year", "full")):
        fit = ols(formula, d, weights="w", vcov="CR1", cluster="g")
        res = boottest(fit, "x", "g", data=d, B=999, r=0.05, fixef_k=fixef_k, conf_int=False)
        expected = (fit.params["x"] - 0.05) / fit.std_errors["x"]
        # same CR1 sandwich (G/(G-1) (n-1)/(n-k), k incl. FE); rounding only
        assert res.t_stat == pytest.approx(expected, rel=1e-10)


def test_absorbed_fe_equals_factor_dummies() -> None:
    # year crosses the clusters: the bootstrap residuals must be projected on the FE (P3 term)
    d = _panel(seed=3)
    fe = ols("y ~ x + z | year", d, weights="w", vcov="CR1", cluster="g")
    dummies = ols("y ~ x + z + C(year)", d, weights="w", vcov="CR1", cluster="g")
    kw = dict(data=d, B=999, bootcluster=("g", "half"), conf_int=True, seed=5)
    a = boottest(fe, "x", "g", fixef_k="full", **kw)
    b = boottest(dummies, "x", "g", **kw)
    assert not a.full_enumeration  # 12 bootstrap clusters: random draws, same seed both sides
    assert a.t_stat == pytest.approx(b.t_stat, rel=1e-10)
    np.testing.assert_allclose(a.t_boot, b.t_boot, rtol=1e-9, atol=1e-12)  # rounding only
    assert a.p_value == b.p_value
    np.testing.assert_allclose(a.conf_int, b.conf_int, rtol=1e-9)
    # fixest convention (fixef_k="none"): t scales by sqrt((N - k_lm)/(N - k_slopes))
    c = boottest(fe, "x", "g", fixef_k="none", **kw)
    n = fe.nobs
    ratio = np.sqrt((n - 2 - fe.design.n_fe) / (n - 2))
    assert c.t_stat == pytest.approx(a.t_stat / ratio, rel=1e-12)
    assert c.p_value == a.p_value  # p-values do not depend on the ssc
    # Nor does p(r); but the root finder starts from beta -/+ 2^(j/2) * |beta / t|, so its grid
    # and its 10 Brent steps on the step function differ: both stop near the same jumps, within
    # 1e-3 of the interval's width (uniroot does not reach tol = 1e-6 in maxiter = 10 here).
    width = a.conf_int[1] - a.conf_int[0]
    np.testing.assert_allclose(c.conf_int, a.conf_int, rtol=0, atol=1e-3 * width)


def test_confidence_interval_brackets_sign_level() -> None:
    d = _panel(seed=4, n_clusters=9)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    res = boottest(fit, "x", "g", data=d, B=9999)
    lo, hi = res.conf_int
    assert lo < res.point_estimate < hi
    for bound, step in ((lo, -1e-3), (hi, 1e-3)):
        inside = boottest(fit, "x", "g", data=d, B=9999, r=bound - step, conf_int=False)
        outside = boottest(fit, "x", "g", data=d, B=9999, r=bound + step, conf_int=False)
        assert inside.p_value > 0.05 >= outside.p_value


def test_alpha_and_its_alias_sign_level() -> None:
    d = _panel(seed=4, n_clusters=9)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    a = boottest(fit, "x", "g", data=d, B=999, seed=3, alpha=0.1)
    b = boottest(fit, "x", "g", data=d, B=999, seed=3, sign_level=0.1)
    c = boottest(fit, "x", "g", data=d, B=999, seed=3)
    assert a.alpha == b.alpha == 0.1 and c.alpha == 0.05
    assert a.conf_int == b.conf_int  # same draws (same seed), same level: the same interval
    assert a.conf_int != c.conf_int  # a 90% interval is not the 95% one
    with pytest.raises(FvdidInputError, match="not both"):
        boottest(fit, "x", "g", data=d, B=999, alpha=0.05, sign_level=0.05)
    with pytest.raises(FvdidInputError, match="alpha"):
        boottest(fit, "x", "g", data=d, B=999, sign_level=1.5)


# --------------------------------------------------------------------------------------------
# invariances
# --------------------------------------------------------------------------------------------


def test_invariant_to_row_order_cluster_labels_and_y_scale() -> None:
    d = _panel(seed=5)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    base = boottest(fit, "x", "g", data=d, B=9999)

    shuffled = d.sample(frac=1.0, random_state=3)
    shuffled = shuffled.assign(g=shuffled["g"].map(lambda v: f"cl{(7 * v) % 11}"))
    f2 = ols("y ~ x + z", shuffled, vcov="CR1", cluster="g")
    other = boottest(f2, "x", "g", data=shuffled, B=9999)
    assert other.t_stat == pytest.approx(base.t_stat, rel=1e-10)
    assert other.p_value == base.p_value
    np.testing.assert_allclose(np.sort(other.t_boot), np.sort(base.t_boot), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(other.conf_int, base.conf_int, rtol=1e-9)

    scaled = d.assign(y=3.0 * d["y"] + 2.0)
    f3 = ols("y ~ x + z", scaled, vcov="CR1", cluster="g")
    s = boottest(f3, "x", "g", data=scaled, B=9999)
    assert s.t_stat == pytest.approx(base.t_stat, rel=1e-10)
    assert s.p_value == base.p_value
    np.testing.assert_allclose(s.conf_int, 3.0 * np.array(base.conf_int), rtol=1e-8)


def test_seed_reproducible_and_cluster_inputs_equivalent() -> None:
    d = _panel(seed=6, n_clusters=20, per=10)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    a = boottest(fit, "x", "g", data=d, B=999, seed=11, weights_type="webb")
    b = boottest(fit, "x", d["g"], B=999, seed=11, weights_type="webb")  # Series, by label
    c = boottest(fit, "x", d["g"].to_numpy(), B=999, seed=11, weights_type="webb")
    np.testing.assert_array_equal(a.t_boot, b.t_boot)
    np.testing.assert_array_equal(a.t_boot, c.t_boot)
    assert a.conf_int == b.conf_int
    e = boottest(fit, "x", "g", data=d, B=999, seed=12, weights_type="webb")
    assert not np.array_equal(a.t_boot, e.t_boot)


def test_bootcluster_tuple_equals_intersection_array() -> None:
    d = _panel(seed=7)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    a = boottest(fit, "x", "g", data=d, B=9999, bootcluster=("g", "half"))
    inter = d["g"].astype(str) + "_" + d["half"].astype(str)
    b = boottest(fit, "x", "g", data=d, B=9999, bootcluster=inter)
    assert a.n_bootclusters == 12 and a.full_enumeration and a.B == 4096
    assert a.p_value == b.p_value and a.conf_int == pytest.approx(b.conf_int, rel=1e-12)


@pytest.mark.parametrize("weights_type", ["mammen", "webb", "norm"])
def test_only_rademacher_enumerates(weights_type: str) -> None:
    d = _panel(seed=8, n_clusters=3)
    fit = ols("y ~ x", d, vcov="CR1", cluster="g")
    res = boottest(fit, "x", "g", data=d, B=999, weights_type=weights_type, seed=1)
    assert not res.full_enumeration and res.B == 999 and res.t_boot.size <= 999
    rad = boottest(fit, "x", "g", data=d, B=999, seed=1)
    assert rad.full_enumeration and rad.B == 8  # 2^3 <= 999: B is reset to 2^G


def test_enumeration_threshold_is_two_to_g_at_most_b() -> None:
    d = _panel(seed=9, n_clusters=5)
    fit = ols("y ~ x", d, vcov="CR1", cluster="g")
    assert boottest(fit, "x", "g", data=d, B=32, conf_int=False).full_enumeration
    res = boottest(fit, "x", "g", data=d, B=31, conf_int=False, seed=1)
    assert not res.full_enumeration and res.B == 31


def test_p_value_types_relations() -> None:
    d = _panel(seed=10, n_clusters=10)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    kw = dict(data=d, B=9999, conf_int=False, r=0.1)
    two = boottest(fit, "x", "g", p_val_type="two-tailed", **kw)
    eq = boottest(fit, "x", "g", p_val_type="equal-tailed", **kw)
    gt = boottest(fit, "x", "g", p_val_type=">", **kw)
    lt = boottest(fit, "x", "g", p_val_type="<", **kw)
    tb, t = gt.t_boot, gt.t_stat
    assert gt.p_value == np.mean(t < tb) and lt.p_value == np.mean(t > tb)
    assert eq.p_value == 2 * min(gt.p_value, lt.p_value)
    assert two.p_value == np.mean(abs(t) < np.abs(tb))
    one_sided = boottest(fit, "x", "g", data=d, B=9999, p_val_type=">")
    assert one_sided.conf_int is None and any("one-sided" in n for n in one_sided.notes)


def test_memory_does_not_grow_with_b_times_n() -> None:
    d = _panel(seed=11, n_clusters=20, per=2000)  # N = 40,000
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    peaks = {}
    for B in (150_000, 300_000):  # both above one chunk of draws (2^20 / G = 52,428 draws)
        tracemalloc.start()
        boottest(fit, "x", "g", data=d, B=B, seed=1, conf_int=False)
        peaks[B] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # 150,000 more draws add O(B) numbers only (five float64 per draw kept, plus a few
    # temporaries of the p-value: < 16 arrays): < 150,000 * 8 * 16 bytes = 19 MB, whereas
    # keeping B x N numbers would need 150,000 * 40,000 * 8 bytes = 48 GB.
    assert peaks[300_000] - peaks[150_000] < 150_000 * 8 * 16


# --------------------------------------------------------------------------------------------
# result object and bad input
# --------------------------------------------------------------------------------------------


def test_result_object() -> None:
    d = _panel(seed=12)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    res = boottest(fit, "x", "g", data=d, B=999)
    assert isinstance(res, BoottestResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = 0.5  # type: ignore[misc]
    tidy = res.tidy()
    assert list(tidy.columns) == [
        "term",
        "estimate",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert tidy.loc[0, "term"] == "x"
    assert "full enumeration" in res.summary()
    plain = res.to_dict()
    json.dumps(plain)
    assert plain["B"] == 64 and plain["full_enumeration"] is True
    assert len(plain["t_boot"]) == res.t_boot.size


def test_bad_input() -> None:
    d = _panel(seed=13)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster="g")
    with pytest.raises(FvdidInputError, match="level"):
        boottest(fit, "x", np.zeros(len(d)), B=999)  # one cluster
    with pytest.raises(FvdidInputError, match="not a coefficient"):
        boottest(fit, "nope", "g", data=d, B=999)
    for bad_b in (0, -5, 2.5, True):
        with pytest.raises(FvdidInputError, match="B must be"):
            boottest(fit, "x", "g", data=d, B=bad_b)  # type: ignore[arg-type]
    with pytest.raises(FvdidInputError, match="weights_type"):
        boottest(fit, "x", "g", data=d, weights_type="gamma")  # type: ignore[arg-type]
    with pytest.raises(FvdidInputError, match="p_val_type"):
        boottest(fit, "x", "g", data=d, p_val_type="both")  # type: ignore[arg-type]
    bare = dataclasses.replace(fit, design=dataclasses.replace(fit.design, source=None))
    with pytest.raises(FvdidInputError, match="data="):
        boottest(bare, "x", "g", B=999)  # a design that carries no frame needs data=
    with pytest.raises(FvdidInputError, match="not in data"):
        boottest(fit, "x", "cluster_col", data=d, B=999)
    with pytest.raises(FvdidInputError, match="one entry per row"):
        boottest(fit, "x", np.arange(5), B=999)
    with pytest.raises(FvdidInputError, match="missing values"):
        boottest(fit, "x", d["g"].where(d["x"] > 0), B=999)
    with pytest.raises(FvdidInputError, match="B > 100"):
        boottest(fit, "x", "g", data=d, B=50)  # the interval needs B > 100 (as R)
    fe = ols("y ~ x | year", d, vcov="CR1", cluster="g")
    fe_bare = dataclasses.replace(fe, design=dataclasses.replace(fe.design, source=None))
    with pytest.raises(FvdidInputError, match="fixed effects"):
        boottest(fe_bare, "x", d["g"], B=999)  # FE crossing the clusters: frame needed
    shrunk = d.copy()
    fit2 = ols("y ~ x + z", shrunk, vcov="CR1", cluster="g")
    shrunk.drop(index=shrunk.index[:3], inplace=True)
    with pytest.raises(FvdidInputError, match="changed its rows"):
        boottest(fit2, "x", "g", B=999)


# --------------------------------------------------------------------------------------------
# the public contract boottest(fit, param, cluster) without data=
# --------------------------------------------------------------------------------------------


def test_cluster_column_name_without_data_reads_the_fitted_frame() -> None:
    d = _panel(seed=8, n_clusters=12, per=12)
    d.loc[d.index[:5], "z"] = np.nan  # rows dropped by the fit: positions must follow
    fit = ols("y ~ x + z | year", d, vcov="CR1", cluster="g")
    a = boottest(fit, "x", "g", B=999, seed=4)
    b = boottest(fit, "x", "g", data=d, B=999, seed=4)
    np.testing.assert_array_equal(a.t_boot, b.t_boot)
    assert a.conf_int == b.conf_int
    # the FE (year, not nested in g) are read from the fitted frame too
    c = boottest(fit, "x", ("g", "half"), B=999, seed=4)
    e = boottest(fit, "x", ("g", "half"), data=d, B=999, seed=4)
    np.testing.assert_array_equal(c.t_boot, e.t_boot)
    with pytest.raises(FvdidInputError, match="nope"):
        boottest(fit, "x", "nope", B=999)


def test_two_way_clusters_are_multiway_not_the_intersection() -> None:
    d = _panel(seed=9, n_clusters=10, per=16)
    fit = ols("y ~ x + z", d, vcov="CR1", cluster=("g", "year"))
    res = boottest(fit, "x", ("g", "year"), B=999, seed=2)
    # the original t-statistic is the two-way CR1 t of sandwich::vcovCL(~ g + year) (no FE, so
    # fixef_k does not matter): closed form on both sides, rounding only
    assert res.t_stat == pytest.approx(fit.tstats["x"], rel=1e-10)
    assert res.n_clusters == 4  # min(G): 10 clusters, 4 years
    assert res.n_bootclusters == d.groupby(["g", "year"]).ngroups  # bootstrap on the intersection
    inter = d["g"].astype(str) + "_" + d["year"].astype(str)
    one = boottest(fit, "x", inter, B=999, seed=2)
    assert abs(one.t_stat - res.t_stat) > 1e-3  # the intersection is a different clustering
