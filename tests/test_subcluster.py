"""The wild subcluster bootstrap of fvdid.boottest: identities, brute force and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from fvdid.boottest import boottest
from fvdid.errors import FvdidInputError
from fvdid.ols import ols


def _panel(seed: int = 11, n_la: int = 6, per: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    la = np.repeat(np.arange(1, n_la + 1), per)
    n = la.size
    year = rng.integers(2019, 2022, n)
    fv = ((la <= 2) & (year >= 2020)).astype(int)
    x = rng.normal(size=n)
    w = rng.uniform(0.3, 2.0, n)
    shock = rng.normal(0.0, 0.4, (n_la, 3))[la - 1, year - 2019]
    y = 0.3 * fv + 0.2 * x + 0.1 * (year - 2019) + shock + rng.normal(size=n)
    return pd.DataFrame(
        {"la": la, "year": year, "half": rng.integers(0, 2, n), "id": np.arange(n),
         "fv": fv, "x": x, "w": w, "y": y},
        index=pd.Index(np.arange(n) * 7 + 3),  # non-default labels: alignment by label
    )


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize("weights_type", ["rademacher", "webb"])
def test_bootcluster_equal_to_cluster_is_the_ordinary_bootstrap(
    impose_null: bool, weights_type: str
) -> None:
    d = _panel()
    fit = ols("y ~ fv + x | la + year", d, weights="w", vcov="CR1", cluster="la")
    kw = dict(data=d, B=999, weights_type=weights_type, impose_null=impose_null, seed=3,
              fixef_k="full")
    base = boottest(fit, "fv", "la", **kw)
    relabelled = d["la"].map(lambda g: f"LA-{g}")  # same partition under other labels
    for bc in ("la", ("la",), relabelled, d["la"].to_numpy()):
        sub = boottest(fit, "fv", "la", bootcluster=bc, **kw)
        # the same partition takes the same code path: equal to the last bit, not approximately
        np.testing.assert_array_equal(sub.t_boot, base.t_boot)
        assert sub.t_stat == base.t_stat
        assert sub.p_value == base.p_value
        assert sub.conf_int == base.conf_int
        assert (sub.B, sub.n_bootclusters) == (base.B, base.n_bootclusters)


@pytest.mark.parametrize("impose_null", [True, False])
def test_subcluster_enumeration_matches_brute_force_refits(impose_null: bool) -> None:
    # errors by LA (3), weights by LA x half (6 bootstrap clusters: 64 sign vectors), year FE
    # crossing the LAs, analytic weights: every draw refitted by fvdid.ols with its CR1 se
    d = _panel(seed=12, n_la=3, per=30)
    formula = "y ~ fv + x | year"
    fit = ols(formula, d, weights="w", vcov="CR1", cluster="la")
    r = 0.1
    res = boottest(fit, "fv", "la", data=d, bootcluster=("la", "half"), B=999, r=r,
                   impose_null=impose_null, conf_int=False, fixef_k="full")
    assert res.full_enumeration and res.B == 64 and res.n_bootclusters == 6
    assert res.n_clusters == 3
    if impose_null:
        d0 = d.assign(y0=d["y"] - r * d["fv"])
        yhat = ols("y0 ~ x | year", d0, weights="w").fitted + r * d["fv"]
    else:
        yhat = fit.fitted
    u = d["y"] - yhat
    cells = pd.MultiIndex.from_frame(d[["la", "half"]])
    keys = cells.unique().sort_values()
    t_boot = []
    for signs in itertools.product([-1.0, 1.0], repeat=len(keys)):
        v = pd.Series(signs, index=keys).reindex(cells).to_numpy()
        fb = ols(formula, d.assign(y=yhat + u * v), weights="w", vcov="CR1", cluster="la")
        centre = r if impose_null else fit.params["fv"]
        t_boot.append((fb.params["fv"] - centre) / fb.std_errors["fv"])
    # cluster-level sums against QR refits: rounding only
    np.testing.assert_allclose(np.sort(res.t_boot), np.sort(t_boot), rtol=1e-8, atol=1e-10)


def test_observation_level_bootcluster_gives_one_weight_per_row() -> None:
    d = _panel(seed=13)
    fit = ols("y ~ fv + x | la + year", d, weights="w", vcov="CR1", cluster="la")
    res = boottest(fit, "fv", "la", data=d, bootcluster="id", B=499, seed=1, conf_int=False)
    assert res.n_bootclusters == len(d) and res.n_clusters == 6 and not res.full_enumeration
    ordinary = boottest(fit, "fv", "la", data=d, B=499, seed=1, conf_int=False)
    # the original t does not depend on the bootcluster; its sums run over the crosstab
    # instead of the clusters, so they agree to rounding only
    assert res.t_stat == pytest.approx(ordinary.t_stat, rel=1e-12)


def test_small_g_rademacher_note_suggests_webb() -> None:
    d = _panel(seed=14, n_la=4)
    fit = ols("y ~ fv + x", d, vcov="CR1", cluster="la")
    rad = boottest(fit, "fv", "la", data=d, B=9999, conf_int=False)
    assert rad.full_enumeration and rad.B == 16
    assert any("weights_type='webb'" in n for n in rad.notes)
    webb = boottest(fit, "fv", "la", data=d, B=9999, conf_int=False, weights_type="webb", seed=2)
    assert not webb.full_enumeration and webb.B == 9999  # Webb never enumerates (as R)


def test_absent_bootcluster_column_is_named() -> None:
    d = _panel()
    fit = ols("y ~ fv + x", d, vcov="CR1", cluster="la")
    with pytest.raises(FvdidInputError, match="bootcluster column 'period'"):
        boottest(fit, "fv", "la", data=d, bootcluster="period", B=99, conf_int=False)
    with pytest.raises(FvdidInputError, match="period"):
        boottest(fit, "fv", "la", data=d, bootcluster=("la", "period"), B=99, conf_int=False)
    with pytest.raises(FvdidInputError, match="period"):  # read from the fitted frame
        boottest(fit, "fv", "la", bootcluster="period", B=99, conf_int=False)


def test_straddling_subcluster_names_column_and_rows() -> None:
    d = _panel()
    # 'half' straddles every LA and every LA is split by it: neither nested nor coarser
    fit = ols("y ~ fv + x", d, vcov="CR1", cluster="la")
    with pytest.raises(FvdidInputError, match=r"bootcluster 'half'.*straddles 6 error clusters"
                       r" of cluster 'la'.*row") as err:
        boottest(fit, "fv", "la", data=d, bootcluster="half", B=99, conf_int=False)
    first = d.index[d["half"] == d["half"].min()][0]
    assert str(first) in str(err.value)  # the rows of the straddling bootstrap cluster
    with pytest.raises(FvdidInputError, match=r"intersection of 'half', 'year': a bootstrap "
                       r"cluster straddles 6 error clusters of cluster 'la'"):
        boottest(fit, "fv", "la", data=d, bootcluster=("half", "year"), B=99, conf_int=False)
    # one subcluster that joins two LAs (rows relabelled into the other LA's cell) is refused
    bc = d["la"].astype(str) + "_" + d["year"].astype(str)
    moved = d.index[(d["la"] == 2) & (d["year"] == 2019)][:2]
    bc.loc[moved] = "1_2019"
    with pytest.raises(FvdidInputError, match=r"'1_2019' straddles 2 error clusters"):
        boottest(fit, "fv", "la", data=d, bootcluster=bc, B=99, conf_int=False)


def test_coarser_bootcluster_is_still_accepted() -> None:
    d = _panel().assign(region=lambda f: (f["la"] + 1) // 2)
    fit = ols("y ~ fv + x", d, vcov="CR1", cluster="la")
    res = boottest(fit, "fv", "la", data=d, bootcluster="region", B=999, conf_int=False)
    assert res.n_bootclusters == 3 and res.n_clusters == 6
