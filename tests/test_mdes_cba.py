"""MDES of the clustered design and the protocol's cost-benefit sums, checked by hand."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from fvdid.cba import cba
from fvdid.errors import FvdidInputError
from fvdid.mdes import mdes


def test_mdes_matches_the_formula_by_hand() -> None:
    r = mdes(n_clusters=10, cluster_size=1000, icc=0.02, baseline=0.04, design="cross_section")
    m = stats.t.ppf(0.975, 8) + stats.t.ppf(0.8, 8)
    var = 0.02 / (0.25 * 10) + 0.98 / (0.25 * 10 * 1000)
    # Closed form on both sides: only floating-point rounding differs.
    assert r.mdes_d == pytest.approx(m * math.sqrt(var), rel=1e-12)
    assert r.mdes_pp == pytest.approx(100 * r.mdes_d * math.sqrt(0.04 * 0.96), rel=1e-12)


def test_mdes_large_sample_multiplier_is_2_8() -> None:
    r = mdes(n_clusters=40, cluster_size=100, icc=0.05, normal=True)
    assert r.multiplier == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), rel=1e-12)
    assert round(r.multiplier, 2) == 2.80


def test_mdes_shrinks_with_more_clusters_and_rejects_bad_input() -> None:
    a = mdes(n_clusters=6, cluster_size=5000, icc=0.01566, shock_icc=0.005)
    b = mdes(n_clusters=20, cluster_size=5000, icc=0.01566, shock_icc=0.005)
    assert b.mdes_d < a.mdes_d
    with pytest.raises(FvdidInputError, match="icc"):
        mdes(n_clusters=6, cluster_size=10, icc=1.5)
    with pytest.raises(FvdidInputError, match="n_clusters"):
        mdes(n_clusters=2, cluster_size=10, icc=0.1)


def test_cba_discounted_sums_by_hand() -> None:
    r = cba(ate=-0.02, p_value=0.01, children_per_la_year=1000, benefit_per_child=50_000,
            years=3, discount_rate=0.1, costs_per_la=[300_000, 100_000, 100_000])
    unmon = 20.0  # 0.02 x 1000 children not entering care per LA per year
    pv_b = sum(unmon * 50_000 / 1.1**i for i in range(3))
    pv_c = 300_000 + 100_000 / 1.1 + 100_000 / 1.21
    assert r.computed and r.unmonetised_per_la_year == pytest.approx(unmon)
    # Sums of three terms: exact up to floating-point rounding.
    assert r.pv_benefit_per_la == pytest.approx(pv_b, rel=1e-12)
    assert r.bcr == pytest.approx(pv_b / pv_c, rel=1e-12)
    assert r.npsv_per_la == pytest.approx(pv_b - pv_c, rel=1e-12)


def test_cba_only_when_significant() -> None:
    r = cba(ate=-0.02, p_value=0.2, children_per_la_year=1000, benefit_per_child=50_000)
    assert not r.computed and "not statistically significant" in r.reason
    assert math.isnan(r.pv_benefit_per_la)
    with pytest.raises(FvdidInputError, match="one cost per year"):
        cba(ate=-0.02, p_value=0.01, children_per_la_year=10, benefit_per_child=1.0, years=2,
            costs_per_la=[1.0])


def test_did_mdes_matches_the_formula_by_hand() -> None:
    r = mdes(n_clusters=10, n_treated=4, cluster_size=2000, cluster_size_post=3000, icc=0.02,
             shock_icc=0.005, baseline=0.04)
    var = (1 / 4 + 1 / 6) * (2 * 0.005 + (1 - 0.02 - 0.005) * (1 / 2000 + 1 / 3000))
    m = stats.t.ppf(0.975, 8) + stats.t.ppf(0.8, 8)
    # Closed form on both sides: only floating-point rounding differs.
    assert r.mdes_d == pytest.approx(m * math.sqrt(var), rel=1e-12)
    assert r.variance == pytest.approx(var, rel=1e-12)
    # Units: mdes_pp is in percentage points, 100 times the proportion.
    assert r.mdes_proportion == pytest.approx(r.mdes_d * math.sqrt(0.04 * 0.96), rel=1e-12)
    assert r.mdes_pp == pytest.approx(100 * r.mdes_proportion, rel=1e-12)
    g1 = mdes(n_clusters=10, n_treated=4, cluster_size=2000, icc=0.02, df_rule="G-1")
    assert g1.df == 9
    # The static LA ICC is differenced out: with tau = 0, raising it only lowers child noise.
    lo = mdes(n_clusters=10, cluster_size=2000, icc=0.01)
    hi = mdes(n_clusters=10, cluster_size=2000, icc=0.2)
    assert hi.mdes_d < lo.mdes_d
    with pytest.raises(FvdidInputError, match="shock_icc"):
        mdes(n_clusters=10, cluster_size=10, icc=0.5, shock_icc=0.6)


def test_protocol_rows_and_units() -> None:
    import numpy as np
    import pandas as pd

    from fvdid.config import RunConfig
    from fvdid.stages.power import mdes_table, power_section

    cfg = RunConfig()
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"la_code": rng.choice(list("abcdefghij"), 20_000),
                      "financial_year": rng.choice(["2021/22", "2022/23"], 20_000)})
    d["treated_la"] = d["la_code"].isin(list("abcde"))
    d["looked_after_18m"] = (rng.random(20_000) < 0.035).astype(float)
    t = mdes_table(d, 0.035, cfg, simulation_mdes=0.012).set_index("design")
    printed = t.loc[t.index.str.startswith("protocol's table")].iloc[0]
    assert printed["MDES (d)"] == 0.116 and printed["MDES (pp)"] == pytest.approx(2.3)
    assert printed["baseline"] == 0.04 and printed["LA ICC"] == 0.01566
    cs = t.loc["protocol inputs: 5 LAs of 15,600, half treated"]
    # Hand computation of the cluster-trial formula on the stated inputs, baseline 4 %.
    var = 0.01566 / (0.25 * 5) + (1 - 0.01566) / (0.25 * 5 * 15_600)
    d_cs = (stats.t.ppf(0.975, 3) + stats.t.ppf(0.8, 3)) * math.sqrt(var)
    assert cs["MDES (d)"] == pytest.approx(d_cs, rel=1e-12) and round(cs["MDES (d)"], 3) == 0.467
    assert cs["MDES (pp)"] == pytest.approx(100 * d_cs * math.sqrt(0.04 * 0.96), rel=1e-12)
    assert cs["baseline"] == 0.04
    did = t.loc[t["formula"].str.startswith("DiD") & t.index.str.startswith("protocol inputs")]
    assert len(did) == 2 and set(did["treated LAs"]) == {5} and set(did["comparison LAs"]) == {5}
    assert t.loc[t.index.str.startswith("Monte Carlo"), "MDES (pp)"].item() == pytest.approx(1.2)
    assert t.index.str.startswith("analysed sample: 5 treated + 5 comparison").any()
    text = " ".join(power_section(t.reset_index(), 0.035, cfg).paragraphs)
    assert "0.467" in text and "0.116" in text and "37 clusters" in text
