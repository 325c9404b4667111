"""fvdid.cem and fvdid.l1_imbalance: hand-checked examples, invariants, bad input.

Parity with R cem 1.1.31 is in tests/test_parity.py (cases in parity/cases/cem.py); these tests
are pure Python. Tolerances: 1e-12 on sums of a few hundred weights (each a ratio of small
integers; the sums are exact up to a few ulps of double rounding).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import fvdid
from fvdid.cem import canonical_strata
from fvdid.errors import FvdidInputError

SUM_TOL = 1e-12  # sums of ratios of small integers: only double rounding


def small() -> pd.DataFrame:
    """Strata by ``c``: A (2 T, 1 C), B (1 T, 3 C), C (1 T only), D (2 C only)."""
    return pd.DataFrame(
        {
            "t": [1, 1, 0, 1, 0, 0, 0, 1, 0, 0],
            "c": ["A", "A", "A", "B", "B", "B", "B", "C", "D", "D"],
        },
        index=[f"u{i}" for i in range(10)],
    )


def random_data(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.binomial(1, 0.35, n)
    x = np.round(rng.normal(t * 0.5, 1, n), 3)
    x[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "treated": t,
            "x": x,
            "k": rng.poisson(3 + t, n),
            "cat": rng.choice(np.array(["a", "b", "c", None], dtype=object), n),
        }
    )


def test_hand_checked_weights_and_counts() -> None:
    res = fvdid.cem(small(), "t")
    # matched: A and B (both groups); C (treated only) and D (controls only) pruned
    assert res.matched.tolist() == [True] * 7 + [False] * 3
    assert res.counts.loc["All"].tolist() == [6, 4]
    assert res.counts.loc["Matched"].tolist() == [4, 3]
    assert res.counts.loc["Unmatched"].tolist() == [2, 1]
    assert res.n_strata == 4 and res.n_matched_strata == 2
    # controls: (m_T^s / m_C^s) * (M_C / M_T): A 2/1 * 4/3 = 8/3, B 1/3 * 4/3 = 4/9
    w = res.weights
    assert w[["u0", "u1", "u3"]].tolist() == [1.0, 1.0, 1.0]
    assert w["u2"] == pytest.approx(8 / 3, abs=1e-15)
    assert w[["u4", "u5", "u6"]].to_numpy() == pytest.approx([4 / 9] * 3, abs=1e-15)
    assert w[["u7", "u8", "u9"]].tolist() == [0.0, 0.0, 0.0]
    # ids: 1.. in order of first appearance, for matched and unmatched units alike
    assert res.strata.tolist() == [1, 1, 1, 2, 2, 2, 2, 3, 4, 4]


def test_baseline_zero_puts_weights_on_treated() -> None:
    res = fvdid.cem(small(), "t", baseline=0)
    w = res.weights
    assert w[["u2", "u4", "u5", "u6"]].tolist() == [1.0] * 4
    # treated: (m_C^s / m_T^s) * (M_T / M_C): A 1/2 * 3/4, B 3/1 * 3/4
    assert w[["u0", "u1"]].to_numpy() == pytest.approx([3 / 8, 3 / 8], abs=1e-15)
    assert w["u3"] == pytest.approx(9 / 4, abs=1e-15)


@pytest.mark.parametrize("baseline", [0, 1])
def test_weight_sums(baseline: int) -> None:
    d = random_data()
    res = fvdid.cem(d, "treated", baseline=baseline)
    w, t, m = res.weights, d["treated"] == 1, res.matched
    m_t, m_c = int((m & t).sum()), int((m & ~t).sum())
    assert m_t > 0 and m_c > 0
    # each group's weights sum to its matched count (cem normalises by M_C / M_T)
    assert w[t].sum() == pytest.approx(m_t, abs=SUM_TOL * m_t)
    assert w[~t].sum() == pytest.approx(m_c, abs=SUM_TOL * m_c)
    assert (w[~m] == 0).all() and (w[m] > 0).all()
    # within a stratum the weighted groups have the same share of their group total
    by = pd.DataFrame({"s": res.strata, "t": t, "w": w})[m]
    tot = by.groupby("t")["w"].sum()
    share = by.groupby(["s", "t"])["w"].sum().unstack() / tot
    np.testing.assert_allclose(share[True], share[False], atol=1e-14)


def test_permutation_invariance() -> None:
    d = random_data()
    res = fvdid.cem(d, "treated")
    perm = d.sample(frac=1.0, random_state=3)
    res_p = fvdid.cem(perm, "treated")
    pd.testing.assert_series_equal(res.weights, res_p.weights.reindex(d.index), atol=1e-14)
    pd.testing.assert_series_equal(res.matched, res_p.matched.reindex(d.index))
    # the ids change with the order, the partition does not
    assert res.partition() == res_p.partition()
    pd.testing.assert_series_equal(
        res.canonical_strata(), canonical_strata(res_p.strata).reindex(d.index)
    )
    assert res.breaks == res_p.breaks


def test_sturges_breaks_and_missing_level() -> None:
    # n = 10 -> ceiling(log2(10) + 1) = 5 cutpoints seq(1, 10, length = 5)
    d = pd.DataFrame({"t": [1, 0] * 5, "x": np.arange(1.0, 11.0)})
    res = fvdid.cem(d, "t")
    assert res.breaks["x"] == [1.0, 3.25, 5.5, 7.75, 10.0]
    # intervals [1, 3.25], (3.25, 5.5], (5.5, 7.75], (7.75, 10]
    assert res.strata.tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    # Sturges counts the missing values (n = 8 -> 4 cutpoints); NaN forms a level of its own
    d2 = pd.DataFrame({"t": [1, 0, 1, 0, 1, 0, 1, 0], "x": [0, 1, 2, 3, 4, 5, np.nan, np.nan]})
    res2 = fvdid.cem(d2, "t")
    assert len(res2.breaks["x"]) == 4
    assert res2.strata.iloc[6] == res2.strata.iloc[7]
    assert res2.matched.iloc[6] and res2.matched.iloc[7]
    assert res2.strata.iloc[6] not in set(res2.strata.iloc[:6])


def test_integer_count_explicit_cutpoints_and_grouping() -> None:
    d = pd.DataFrame(
        {
            "t": [1, 0, 1, 0, 1, 0],
            "age": [0, 3, 4, 12, 13, 17],
            "eth": ["White", "Mixed", "Other", "Mixed", None, None],
        }
    )
    res = fvdid.cem(
        d,
        "t",
        covariates=["age", "eth"],
        cutpoints={"age": [0, 3, 12, 17]},
        grouping={"eth": [["Mixed", "Other"], ["White"]]},
    )
    assert res.breaks == {"age": [0.0, 3.0, 12.0, 17.0], "eth": None}
    # [0,3]: ages 0, 3 (White vs Mixed: different) ; (3,12]: 4, 12 (Other ~ Mixed: same) ;
    # (12,17]: 13, 17 (both missing ethnicity: same)
    assert res.matched.tolist() == [False, False, True, True, True, True]
    # 2 cutpoints from the range = a single interval: every age together
    res2 = fvdid.cem(d, "t", covariates=["age"], cutpoints={"age": 2})
    assert res2.n_strata == 1 and res2.breaks["age"] == [0.0, 17.0]


def test_scott_rule_with_missing_values_is_noted() -> None:
    d = random_data()
    res = fvdid.cem(d, "treated", covariates=["x"], cutpoints={"x": "scott"})
    assert any("scott" in n for n in res.notes)


def test_k2k_keeps_min_per_stratum() -> None:
    d = random_data()
    full = fvdid.cem(d, "treated")
    res = fvdid.cem(d, "treated", k2k=True, seed=5)
    t = d["treated"] == 1
    kept = pd.crosstab(res.strata[res.matched], t[res.matched])
    assert (kept[True] == kept[False]).all()
    avail = pd.crosstab(full.strata[full.matched], t[full.matched])
    pd.testing.assert_series_equal(
        kept[True], avail.min(axis=1).rename(True).reindex(kept.index), check_names=False
    )
    assert set(res.weights.unique()) <= {0.0, 1.0}
    assert (res.weights == res.matched.astype(float)).all()
    assert res.counts.loc["Matched", "G0"] == res.counts.loc["Matched", "G1"]
    again = fvdid.cem(d, "treated", k2k=True, seed=5)
    pd.testing.assert_series_equal(res.matched, again.matched)
    pd.testing.assert_series_equal(res.strata, full.strata)


def test_result_is_frozen_and_serialisable() -> None:
    res = fvdid.cem(small(), "t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_strata = 3  # type: ignore[misc]
    json.dumps(res.to_dict())
    assert "Matched" in res.summary()
    tidy = res.tidy()
    assert list(tidy.columns) == ["status", "group", "n"] and len(tidy) == 6


@pytest.mark.parametrize(
    ("kwargs", "data_fix", "match"),
    [
        ({}, lambda d: d.assign(t=[1, 0, 2, 1, 0, 0, 0, 1, 0, 0]), "'t'"),
        ({}, lambda d: d.assign(t=1), "no unit with value 0"),
        ({}, lambda d: d.assign(t=0), "no unit with value 1"),
        ({}, lambda d: d.assign(c=np.nan), "'c' is missing in all"),
        ({"cutpoints": {"x": [1, 5]}}, lambda d: d.assign(x=range(10)), "'x'.*cover"),
        ({"cutpoints": {"x": "sturgess"}}, lambda d: d.assign(x=range(10)), "'x'"),
        ({"cutpoints": {"c": 3}}, lambda d: d, "'c'.*not numeric"),
        ({"grouping": {"c": [["Z"]]}}, lambda d: d, "'c' matches none"),
        ({"grouping": {"c": [["A"], ["A", "B"]]}}, lambda d: d, "repeats"),
        ({"covariates": ["nope"]}, lambda d: d, "nope"),
        ({"covariates": ["t"]}, lambda d: d, "treatment"),
        ({"baseline": 2}, lambda d: d, "baseline"),
    ],
)
def test_bad_input(kwargs: dict, data_fix, match: str) -> None:
    with pytest.raises(FvdidInputError, match=match):
        fvdid.cem(data_fix(small()), "t", **kwargs)


# ------------------------------------------------------------------------------------ L1


def test_l1_hand_checked() -> None:
    d = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "c": ["a", "a", "b", "a", "b", "b"]})
    res = fvdid.l1_imbalance(d, "t", ["c"])
    # f = (2/3, 1/3), g = (1/3, 2/3): L1 = (1/3 + 1/3) / 2
    assert res.l1 == pytest.approx(1 / 3, abs=1e-15)
    assert res.lcs == 100.0
    d2 = pd.concat([d, pd.DataFrame({"t": [1], "c": ["z"]})], ignore_index=True)
    res2 = fvdid.l1_imbalance(d2, "t", ["c"])
    assert res2.lcs == pytest.approx(100 * 2 / 3, abs=1e-12)  # percentage, as cem prints it
    assert res2.n_cells == 3 and res2.n_cells_common == 2
    # weights: 0 drops a unit (counted), others rescale the group's distribution
    res3 = fvdid.l1_imbalance(d, "t", ["c"], weights=[1, 1, 2, 2, 1, 1])
    # f = (1/2, 1/2), g = (1/2, 1/2)
    assert res3.l1 == pytest.approx(0.0, abs=1e-15)
    res4 = fvdid.l1_imbalance(d, "t", ["c"], weights=[1, 1, 0, 1, 1, 1])
    assert res4.n_dropped == 1 and res4.n_used == 5


def test_l1_after_cem_is_zero_on_the_matching_coarsening() -> None:
    d = random_data()
    res = fvdid.cem(d, "treated")
    after = fvdid.l1_imbalance(d, "treated", ["x", "k", "cat"], weights=res.weights, breaks=res.breaks)
    # the defining property of CEM: no imbalance left on its own coarsening
    assert after.l1 == pytest.approx(0.0, abs=1e-12)
    assert after.lcs == 100.0
    before = fvdid.l1_imbalance(d, "treated", ["x", "k", "cat"])
    assert 0 < before.l1 <= 1


def test_l1_default_breaks_are_scott_pretty() -> None:
    # R: pretty(c(0, 39570.68), n = 8, min.n = 1) -> 0, 5000, ..., 40000
    from fvdid.imbalance import default_l1_breaks

    rng = np.random.default_rng(0)
    x = np.r_[0.0, 39570.68, rng.uniform(0, 39570.68, 98)]
    b = default_l1_breaks(pd.DataFrame({"x": x}), ["x"])["x"]
    assert b[0] == 0.0 and b[-1] >= 39570.68
    assert np.allclose(np.diff(b), b[1] - b[0])


def test_l1_bad_input() -> None:
    d = pd.DataFrame({"t": [1, 0, 1], "c": ["a", "b", "a"]})
    with pytest.raises(FvdidInputError, match="weights"):
        fvdid.l1_imbalance(d, "t", ["c"], weights=[1, np.nan, 1])
    with pytest.raises(FvdidInputError, match="positive weight"):
        fvdid.l1_imbalance(d, "t", ["c"], weights=[1, 0, 1])
    with pytest.raises(FvdidInputError, match="'t'"):
        fvdid.l1_imbalance(d.assign(t=[1, 2, 0]), "t", ["c"])
