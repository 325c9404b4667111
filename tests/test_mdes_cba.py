"""MDES of the clustered design and the protocol's cost-benefit sums, checked by hand."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from fvdid.cba import cba
from fvdid.errors import FvdidInputError
from fvdid.mdes import mdes


def test_mdes_matches_the_formula_by_hand() -> None:
    r = mdes(n_clusters=10, cluster_size=1000, icc=0.02, baseline=0.04)
    m = stats.t.ppf(0.975, 8) + stats.t.ppf(0.8, 8)
    var = 0.02 / (0.25 * 10) + 0.98 / (0.25 * 10 * 1000)
    # Closed form on both sides: only floating-point rounding differs.
    assert r.mdes_d == pytest.approx(m * math.sqrt(var), rel=1e-12)
    assert r.mdes_pp == pytest.approx(r.mdes_d * math.sqrt(0.04 * 0.96), rel=1e-12)


def test_mdes_large_sample_multiplier_is_2_8() -> None:
    r = mdes(n_clusters=40, cluster_size=100, icc=0.05, normal=True)
    assert r.multiplier == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), rel=1e-12)
    assert round(r.multiplier, 2) == 2.80


def test_mdes_shrinks_with_more_clusters_and_rejects_bad_input() -> None:
    a = mdes(n_clusters=6, cluster_size=5000, icc=0.01566)
    b = mdes(n_clusters=20, cluster_size=5000, icc=0.01566)
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
