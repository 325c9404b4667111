"""Tests of LA matching on pre-period trends (fvdid.match_las), its plots, placebo tests and stage.

The panels are built so that the right answer is known. The key construction (``_z_panel``)
makes the per-quarter z-scores exact: see its docstring for why a comparator that differs from
the treatment LA by a constant is a perfect match only on the standardised scale.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

import fvdid
from fvdid.errors import FvdidInputError
from fvdid.match_las import (
    EXCLUSION_REASONS,
    LAMatchResult,
    PlaceboResult,
    placebo_tests,
    standardised_changes,
    trend_plot,
)
from fvdid.stages.la_matching import LAMatchingOptions, LAMatchingStage, run_la_matching

QUARTERS = pd.period_range("2016Q1", "2023Q4", freq="Q")
GO_LIVE = pd.Period("2021Q3", freq="Q")
# go-live 2021Q3, entry_lag 6, window 8: window 2018Q1-2019Q4, left out 2020Q1-2021Q2.
WINDOW_2021Q3 = list(pd.period_range("2018Q1", "2019Q4", freq="Q"))
LAG_2021Q3 = list(pd.period_range("2020Q1", "2021Q2", freq="Q"))

HAS_SIMULATE = importlib.util.find_spec("fvdid.simulate") is not None


def _codes(n: int) -> list[str]:
    return [f"E{9000 + i:05d}" for i in range(n)]


def _z_panel(
    fixed: dict[str, np.ndarray],
    n_las: int = 40,
    *,
    seed: int = 0,
    quarters: pd.PeriodIndex = QUARTERS,
    spread: np.ndarray | None = None,
    outcome: str = "y",
) -> pd.DataFrame:
    """Long LA × quarter panel whose per-quarter z-scores are known exactly.

    Why this construction: the matching z-scores every quarter across LAs, z = (y - m_t) / s_t.
    A comparator with y_C = y_T + c (a constant offset on the raw scale) has
    z_C - z_T = c / s_t, which is constant over quarters only if the cross-LA standard deviation
    s_t is; its first differences then differ from the treatment LA's by c (1/s_t - 1/s_{t-1}),
    not 0. The offset that the standardised, differenced series ignores is an offset on the
    z scale. So the panel is built on the z scale: the ``fixed`` LAs get the given z series, the
    other LAs are drawn at random and then shifted and scaled (as a group) so that every quarter
    has mean 0 and standard deviation 1 (ddof = 1) exactly. The raw outcome is
    y = m_t + s_t * z with a level m_t and a spread s_t that change over time (a change in how
    the outcome is measured). Standardising y per quarter gives back z exactly (up to rounding),
    so a comparator with z_C = z_T + c has the same first differences as the treatment LA.
    """
    rng = np.random.default_rng(seed)
    T = len(quarters)
    fixed_codes = list(fixed)
    others = [c for c in _codes(n_las) if c not in fixed]
    Z = np.empty((n_las, T))
    F = np.array([np.asarray(fixed[c], dtype=float) for c in fixed_codes]).reshape(len(fixed), T)
    m = n_las - len(fixed)
    for t in range(T):
        f = F[:, t]
        e = rng.normal(size=m)
        e = (e - e.mean()) / np.sqrt(np.sum((e - e.mean()) ** 2))  # mean 0, sum of squares 1
        mo = -f.sum() / m  # the others' mean so that the column mean is 0
        ss = (n_las - 1) - np.sum(f**2) - m * mo**2  # their remaining sum of squares
        assert ss > 0, "fixed series too extreme for this panel size"
        Z[: len(fixed), t] = f
        Z[len(fixed):, t] = mo + np.sqrt(ss) * e
    level = 0.3 + 0.02 * np.sin(np.arange(T) / 3.0)
    s_t = 0.02 * (1.0 + 0.5 * np.arange(T) / T) if spread is None else spread
    Y = level[None, :] + s_t[None, :] * Z
    codes = fixed_codes + others
    return pd.DataFrame({
        "la": np.repeat(codes, T),
        "quarter": pd.PeriodIndex(np.tile(quarters, n_las), freq="Q"),
        outcome: Y.ravel(),
    })


def _walk(seed: int, T: int = len(QUARTERS), scale: float = 0.3) -> np.ndarray:
    """A smooth random z path kept within about +-1.2 (so _z_panel can balance it)."""
    rng = np.random.default_rng(seed)
    return np.clip(np.cumsum(rng.normal(0.0, scale, T)) * 0.4, -1.2, 1.2)


def _random_panel(n_las: int = 30, *, seed: int = 1, outcome: str = "y") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = len(QUARTERS)
    rows = []
    for la in _codes(n_las):
        y = 0.3 + np.cumsum(rng.normal(0.0, 0.01, T))
        rows.append(pd.DataFrame({"la": la, "quarter": QUARTERS, outcome: y}))
    return pd.concat(rows, ignore_index=True)


T_LA, TWIN = "E09000", "E09001"


# --------------------------------------------------------------------------------------------
# the right answer is known
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["rmse", "mae"])
def test_z_offset_twin_ranks_first_with_zero_distance(metric: str) -> None:
    z_t = _walk(11)
    panel = _z_panel({T_LA: z_t, TWIN: z_t + 0.5})
    res = fvdid.match_las(panel, outcome="y", go_live={T_LA: GO_LIVE}, metric=metric)
    top = res.ranking.sort_values("rank").iloc[0]
    assert top["comparator_la"] == TWIN
    assert top["rank"] == 1
    # Exact in real arithmetic (same first differences of z); the only error is floating-point
    # rounding of the affine map y = m + s z and back, ~1e-16 per value.
    assert top["distance"] < 1e-10
    # Nothing else comes close: the other LAs are random; a margin of 0.05 z units per quarter
    # is far below their typical distance (~1) and far above rounding error.
    assert res.ranking.sort_values("rank").iloc[1]["distance"] > 0.05
    assert res.chosen["comparator_la"].tolist() == [TWIN]


def test_raw_offset_twin_is_exact_only_when_the_spread_is_constant() -> None:
    """A constant raw offset c is a z offset c / s_t: exact twin iff s_t is constant."""
    z_t = _walk(12)
    c_raw = 0.01
    varying = 0.02 * (1.0 + np.arange(len(QUARTERS)) / len(QUARTERS))
    constant = np.full(len(QUARTERS), 0.02)
    dist = {}
    for name, s_t in (("varying", varying), ("constant", constant)):
        panel = _z_panel({T_LA: z_t, TWIN: z_t + c_raw / s_t}, spread=s_t)
        wide = panel.pivot(index="la", columns="quarter", values="y")
        # The twin's raw series is the treatment LA's plus the constant c_raw.
        np.testing.assert_allclose(wide.loc[TWIN] - wide.loc[T_LA], c_raw, atol=1e-12)
        res = fvdid.match_las(panel, outcome="y", go_live={T_LA: GO_LIVE})
        cand = res.candidates.set_index(["treated_la", "comparator_la"])
        dist[name] = cand.loc[(T_LA, TWIN), "distance"]
    assert dist["constant"] < 1e-10  # rounding only, as above
    # With a spread growing 1.5 % a quarter, c / s_t changes by ~0.5 % of 0.5 = 0.004 z a
    # quarter: clearly non-zero, far above rounding.
    assert dist["varying"] > 1e-3


def test_standardised_changes_are_per_quarter_z_scores() -> None:
    panel = _random_panel(12)
    long = standardised_changes(panel, "y")
    for q in (QUARTERS[0], QUARTERS[10]):
        v = panel.loc[panel["quarter"] == q, "y"]
        z = long.loc[long["quarter"] == q, "z"]
        # closed form: mean and ddof=1 standard deviation of the standardised values
        assert abs(z.mean()) < 1e-12
        assert abs(z.std(ddof=1) - 1.0) < 1e-12
        assert len(z) == len(v)
    la = _codes(12)[3]
    s = long[long["la"] == la].set_index("quarter")
    np.testing.assert_allclose(
        s["dz"].iloc[1:].to_numpy(), np.diff(s["z"].to_numpy()), atol=1e-14
    )  # dz is the first difference of z, computed the same way: rounding only


def test_the_window_quarters_are_exactly_those_documented() -> None:
    z_t = _walk(13)
    panel = _z_panel({T_LA: z_t, TWIN: z_t + 0.3})
    res = fvdid.match_las(panel, outcome="y", go_live={T_LA: "2021Q3"})
    assert res.window_quarters[T_LA] == WINDOW_2021Q3
    assert res.entry_lag_quarters[T_LA] == LAG_2021Q3
    assert res.go_live[T_LA] == GO_LIVE
    assert set(res.ranking["n_changes"]) == {7}  # window - 1 changes between window quarters
    base = res.candidates.set_index("comparator_la")["distance"]

    def perturbed(q: pd.Period) -> pd.Series:
        p = panel.copy()
        sel = (p["la"] == T_LA) & (p["quarter"] == q)
        p.loc[sel, "y"] += 0.05
        r = fvdid.match_las(p, outcome="y", go_live={T_LA: "2021Q3"})
        return r.candidates.set_index("comparator_la")["distance"]

    # Quarters outside the window (the quarter before it, the left-out entry-lag quarters, the
    # go-live quarter, post-period) do not enter any distance: identical up to rounding.
    for q in [WINDOW_2021Q3[0] - 1, *LAG_2021Q3, GO_LIVE, GO_LIVE + 3]:
        pd.testing.assert_series_equal(perturbed(q), base, atol=1e-12, check_exact=False)
    # The first and last window quarters do.
    for q in (WINDOW_2021Q3[0], WINDOW_2021Q3[-1]):
        assert (perturbed(q) - base).abs().max() > 1e-3


def test_window_follows_window_and_entry_lag() -> None:
    panel = _random_panel(15)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": "2021Q3"}, window=4,
                          entry_lag=2)
    assert res.window_quarters["E09000"] == list(pd.period_range("2020Q1", "2020Q4", freq="Q"))
    assert res.entry_lag_quarters["E09000"] == [pd.Period("2021Q1", "Q"), pd.Period("2021Q2", "Q")]
    res0 = fvdid.match_las(panel, outcome="y", go_live={"E09000": "2021Q3"}, entry_lag=0)
    assert res0.window_quarters["E09000"] == list(pd.period_range("2019Q3", "2021Q2", freq="Q"))
    assert res0.entry_lag_quarters["E09000"] == []


@pytest.mark.parametrize(
    "when",
    [
        pd.Period("2021Q3", freq="Q"),
        pd.Period("2021-07", freq="M"),
        pd.Period("2021-09", freq="M"),
        "2021Q3",
        "2021-08",
        pd.Timestamp("2021-08-15"),
    ],
)
def test_go_live_formats(when: object) -> None:
    panel = _random_panel(15)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": when})
    assert res.go_live["E09000"] == GO_LIVE
    assert res.window_quarters["E09000"] == WINDOW_2021Q3


def test_go_live_as_a_series_of_months() -> None:
    panel = _random_panel(15)
    gl = pd.Series(pd.PeriodIndex(["2021-07", "2022-03"], freq="M"), index=["E09000", "E09001"])
    res = fvdid.match_las(panel, outcome="y", go_live=gl)
    assert res.go_live == {"E09000": GO_LIVE, "E09001": pd.Period("2022Q1", "Q")}


def test_mid_quarter_go_live_month_maps_to_its_quarter() -> None:
    panel = _random_panel(15)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": pd.Period("2021-11", "M")})
    assert res.go_live["E09000"] == pd.Period("2021Q4", "Q")
    assert res.window_quarters["E09000"][-1] == pd.Period("2020Q1", "Q")


def test_ranking_has_k_rows_consecutive_ranks_and_nondecreasing_distances() -> None:
    panel = _random_panel(30)
    gl = {"E09000": "2021Q3", "E09001": "2022Q1", "E09002": "2022Q3"}
    res = fvdid.match_las(panel, outcome="y", go_live=gl, k=7)
    assert isinstance(res, LAMatchResult)
    for t in gl:
        r = res.ranking[res.ranking["treated_la"] == t]
        assert r["rank"].tolist() == list(range(1, 8))
        assert r["distance"].is_monotonic_increasing
        assert r["comparator_la"].is_unique
    # the full audit table ranks every eligible LA, and its first k agree with the ranking
    c = res.candidates[(res.candidates["treated_la"] == "E09000") & res.candidates["eligible"]]
    assert len(c) == 30 - 3
    assert c.sort_values("rank")["comparator_la"].head(7).tolist() == \
        res.ranking.loc[res.ranking["treated_la"] == "E09000", "comparator_la"].tolist()


def test_ties_are_broken_by_la_code() -> None:
    z_t = _walk(14)
    # Two comparators with the same z series (so exactly equal distances), listed in reverse
    # code order; the lower code must rank first.
    panel = _z_panel({T_LA: z_t, "E09005": z_t + 0.2, "E09004": z_t + 0.2})
    res = fvdid.match_las(panel, outcome="y", go_live={T_LA: GO_LIVE})
    top2 = res.ranking.sort_values("rank").head(2)
    assert top2["comparator_la"].tolist() == ["E09004", "E09005"]
    assert top2["rank"].tolist() == [1, 2]


def test_matching_with_replacement_one_comparator_serves_two_treated() -> None:
    z1 = _walk(15)
    t1, t2, shared = "E09000", "E09001", "E09002"
    # t2 is t1 shifted on the z scale, and `shared` is both of theirs: it is the exact twin of
    # both treatment LAs. t1 and t2 are each other's twins too, but FV LAs are not comparators.
    panel = _z_panel({t1: z1, t2: z1 + 0.4, shared: z1 + 0.2})
    res = fvdid.match_las(panel, outcome="y", go_live={t1: "2021Q3", t2: "2021Q3"})
    ch = res.chosen.set_index("treated_la")["comparator_la"]
    assert ch[t1] == shared and ch[t2] == shared
    assert not res.ranking["comparator_la"].isin([t1, t2]).any()
    pairs = res.pairs()
    assert list(pairs.columns) == ["treated_la", "comparator_la", "outcome"]
    assert (pairs["comparator_la"] == shared).sum() == 2


def test_per_outcome_ranking_finds_each_outcomes_twin() -> None:
    za, zb = _walk(16), _walk(17)
    pa = _z_panel({T_LA: za, "E09001": za + 0.3}, seed=1, outcome="a")
    pb = _z_panel({T_LA: zb, "E09002": zb - 0.3}, seed=2, outcome="b")
    panel = pa.merge(pb, on=["la", "quarter"])
    res = fvdid.match_las(panel, outcome=["a", "b"], go_live={T_LA: GO_LIVE}, k=5)
    ch = res.chosen.set_index("outcome")["comparator_la"]
    assert ch["a"] == "E09001" and ch["b"] == "E09002"
    assert res.ranking.groupby("outcome").size().to_dict() == {"a": 5, "b": 5}
    assert res.outcomes == ("a", "b")


# --------------------------------------------------------------------------------------------
# exclusions
# --------------------------------------------------------------------------------------------


def test_excluded_fv_and_pip_las_never_appear_even_if_perfect_twins() -> None:
    z_t = _walk(18)
    user_x, pip_kw, pip_col, trail, flagged = "E09001", "E09002", "E09003", "E09004", "E09005"
    fixed = {T_LA: z_t}
    for i, c in enumerate([user_x, pip_kw, pip_col, trail, flagged]):
        fixed[c] = z_t + 0.1 * (i + 1)  # every one of them is an exact twin
    panel = _z_panel(fixed, n_las=40)
    panel["partners_in_practice"] = panel["la"] == pip_col
    panel["fv"] = panel["la"] == flagged
    res = fvdid.match_las(
        panel, outcome="y", go_live={T_LA: GO_LIVE}, exclude=[user_x], fv_las=[trail],
        partners_in_practice=None, k=10,
    )
    out = {user_x, pip_col, trail, flagged, T_LA}
    assert not res.ranking["comparator_la"].isin(out).any()
    assert not res.chosen["comparator_la"].isin(out).any()
    ex = res.excluded
    reasons = dict(zip(ex["la"], ex["reason"]))
    assert reasons[user_x] == "user exclusion"
    assert reasons[pip_col] == "Partners in Practice"
    assert reasons[trail] == "FV LA" and reasons[flagged] == "FV LA" and reasons[T_LA] == "FV LA"
    # pip_kw was not named (column only), so it is eligible and, as an exact twin, ranks first
    assert res.chosen["comparator_la"].tolist() == [pip_kw]
    assert set(ex["reason"]) <= set(EXCLUSION_REASONS)
    assert not ex.duplicated(["la", "reason"]).any()

    # The keyword takes precedence over the column.
    res2 = fvdid.match_las(panel, outcome="y", go_live={T_LA: GO_LIVE}, exclude=[user_x],
                           fv_las=[trail], partners_in_practice=[pip_kw])
    assert not res2.ranking["comparator_la"].isin([pip_kw]).any()
    assert "Partners in Practice" in set(res2.excluded.loc[res2.excluded["la"] == pip_kw, "reason"])


def test_an_la_with_two_reasons_gets_two_rows() -> None:
    panel = _random_panel(15)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": GO_LIVE},
                          exclude=["E09003"], partners_in_practice=["E09003"])
    rows = res.excluded[res.excluded["la"] == "E09003"]
    assert sorted(rows["reason"]) == ["Partners in Practice", "user exclusion"]


def test_las_with_less_than_two_years_of_pre_data_are_excluded() -> None:
    panel = _random_panel(20)
    g = GO_LIVE
    short, exact8, gappy = "E09005", "E09006", "E09007"
    # short: data from g-7 (7 pre quarters); exact8: from g-8 (8 pre quarters, exactly two
    # years); gappy: full coverage but outcome missing in all but 6 pre quarters.
    panel = panel[~((panel["la"] == short) & (panel["quarter"] < g - 7))]
    panel = panel[~((panel["la"] == exact8) & (panel["quarter"] < g - 8))]
    panel.loc[(panel["la"] == gappy) & (panel["quarter"] < g - 6), "y"] = np.nan
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": g}, entry_lag=0)
    reasons = res.excluded.groupby("la")["reason"].apply(set).to_dict()
    assert reasons[short] == {"< 2 years of pre-period data"}
    assert reasons[gappy] == {"< 2 years of pre-period data"}
    # exactly 8 pre quarters is two years: not excluded (with entry_lag 0 the window is g-8..g-1)
    assert exact8 not in reasons
    assert exact8 in set(res.candidates.loc[res.candidates["eligible"], "comparator_la"])
    assert not res.ranking["comparator_la"].isin([short, gappy]).any()
    detail = res.excluded.set_index("la").loc[short, "detail"]
    assert "7 quarters" in detail and "E09000" in detail

    # With the default entry lag the 8-quarter LA has two years of data but none in the window.
    res6 = fvdid.match_las(panel, outcome="y", go_live={"E09000": g})
    r6 = res6.excluded.groupby("la")["reason"].apply(set).to_dict()
    assert r6[exact8] == {"incomplete matching window"}


def test_restrict_to_limits_the_pool_with_its_reason() -> None:
    z_t = _walk(19)
    panel = _z_panel({T_LA: z_t, TWIN: z_t + 0.2})
    pool = [c for c in _codes(40) if c != TWIN]
    res = fvdid.match_las(panel, outcome="y", go_live={T_LA: GO_LIVE}, restrict_to=pool,
                          restrict_reason="no child-level records")
    assert TWIN not in set(res.ranking["comparator_la"])
    assert res.excluded.set_index("la").loc[TWIN, "reason"] == "no child-level records"


# --------------------------------------------------------------------------------------------
# choice: n_comparators, max_distance, selections
# --------------------------------------------------------------------------------------------


def test_n_comparators_max_distance_and_dropped() -> None:
    z_t = _walk(20)
    z2 = _walk(21)
    t2 = "E09009"
    panel = _z_panel({T_LA: z_t, TWIN: z_t + 0.2, t2: z2})
    gl = {T_LA: GO_LIVE, t2: GO_LIVE}
    res3 = fvdid.match_las(panel, outcome="y", go_live=gl, n_comparators=3)
    assert res3.chosen.groupby("treated_la").size().to_dict() == {T_LA: 3, t2: 3}
    assert res3.chosen.groupby("treated_la")["rank"].apply(list).to_dict()[T_LA] == [1, 2, 3]

    # Only the exact twin is within 0.01; t2 has no comparator that close and is dropped.
    res = fvdid.match_las(panel, outcome="y", go_live=gl, n_comparators=3, max_distance=0.01)
    assert res.chosen[["treated_la", "comparator_la"]].values.tolist() == [[T_LA, TWIN]]
    assert res.dropped["treated_la"].tolist() == [t2]
    assert res.dropped["outcome"].tolist() == ["y"]
    assert "max_distance" in res.dropped["reason"].iloc[0]
    assert t2 not in set(res.pairs()["treated_la"])


def test_selections_record_the_visual_inspection() -> None:
    panel = _random_panel(20)
    gl = {"E09000": GO_LIVE, "E09001": GO_LIVE}
    base = fvdid.match_las(panel, outcome="y", go_live=gl)
    r = base.ranking[base.ranking["treated_la"] == "E09000"]
    accept = r["comparator_la"].iloc[[1, 3]].tolist()
    res = fvdid.match_las(panel, outcome="y", go_live=gl,
                          selections={("E09000", "y"): accept, "E09001": []})
    assert res.chosen["comparator_la"].tolist() == accept
    assert res.chosen["rank"].tolist() == [2, 4]
    assert res.dropped["treated_la"].tolist() == ["E09001"]
    with pytest.raises(FvdidInputError, match="not among"):
        fvdid.match_las(panel, outcome="y", go_live=gl, k=3,
                        selections={"E09000": [r["comparator_la"].iloc[5]]})


# --------------------------------------------------------------------------------------------
# result object, plots
# --------------------------------------------------------------------------------------------


def test_result_is_frozen_and_serialisable() -> None:
    panel = _random_panel(15)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": GO_LIVE}, exclude=["E09004"])
    with pytest.raises(AttributeError):
        res.k = 3  # type: ignore[misc]
    d = res.to_dict()
    json.dumps(d)
    assert d["window_quarters"]["E09000"][0] == "2018Q1"
    tidy = res.tidy()
    assert {"treated_la", "outcome", "comparator_la", "distance", "rank", "chosen"} <= set(tidy)
    assert tidy["chosen"].sum() == 1
    text = res.summary()
    assert "E09000" in text and "user exclusion: 1" in text


def test_trend_plot_has_a_panel_per_treatment_la() -> None:
    from matplotlib.figure import Figure

    panel = _random_panel(15)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": "2021Q3", "E09001": "2022Q1"})
    fig = trend_plot(res, panel, "y", top=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # 2 treatment LAs × (raw, standardised)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels[0] == "E09000 (FV)"
    assert sum("rank" in lab for lab in labels) == 3
    assert any("go-live 2021Q3" in lab for lab in labels)
    assert len(trend_plot(res, panel, "y", standardised=False).axes) == 2
    with pytest.raises(FvdidInputError, match="not matched"):
        trend_plot(res, panel, "nope")


# --------------------------------------------------------------------------------------------
# placebo tests
# --------------------------------------------------------------------------------------------


def _parallel_panel(n_las: int, *, seed: int, effect: float = 0.0,
                    treated: tuple[str, ...] = (), sigma: float = 0.004) -> pd.DataFrame:
    """y = LA effect + common quarter effect + iid noise: parallel trends hold exactly in
    expectation; ``effect`` is added to the treated LAs from GO_LIVE on."""
    rng = np.random.default_rng(seed)
    T = len(QUARTERS)
    common = 0.3 + np.cumsum(rng.normal(0, 0.01, T))
    rows = []
    for la in _codes(n_las):
        y = common + rng.normal(0, 0.03) + rng.normal(0, sigma, T)
        if la in treated:
            y = y + effect * (QUARTERS >= GO_LIVE)
        rows.append(pd.DataFrame({"la": la, "quarter": QUARTERS, "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_placebo_estimates_centre_on_zero_without_an_effect() -> None:
    treated = tuple(_codes(10))
    panel = _parallel_panel(60, seed=3, treated=treated)
    res = fvdid.match_las(panel, outcome="y", go_live=dict.fromkeys(treated, GO_LIVE))
    pl = placebo_tests(res, panel, outcome="y")
    assert isinstance(pl, PlaceboResult)
    est = pl.estimates[pl.estimates["kind"] == "placebo"]["estimate"]
    sigma = 0.004
    # Each placebo estimate is a difference of means of iid N(0, sigma) noise of 2 LAs:
    # sd <= sigma * sqrt(2) * sqrt(1/2 + 1/1) ~ 1.73 sigma (at the smallest pre/post sizes).
    # Estimates of one pair are correlated, so count pairs (10) as the independent units: the
    # mean's sd <= 1.73 sigma / sqrt(10) ~ 0.55 sigma; 4 sd of that is the bound.
    assert abs(est.mean()) < 4 * 1.73 * sigma / np.sqrt(10)
    assert (pl.table["n_placebo"] > 0).all()
    # real effect is zero too: same bound for the mean of the 10 real estimates
    assert abs(pl.overall["real_estimate"].iloc[0]) < 4 * 1.73 * sigma / np.sqrt(10)


def test_placebo_p_values_small_when_there_is_an_effect() -> None:
    treated = tuple(_codes(5))
    sigma = 0.004
    panel = _parallel_panel(40, seed=4, treated=treated, effect=25 * sigma, sigma=sigma)
    res = fvdid.match_las(panel, outcome="y", go_live=dict.fromkeys(treated, GO_LIVE))
    pl = placebo_tests(res, panel, outcome="y", horizon=8)
    # real estimates = 25 sigma + noise of sd <= 1.73 sigma; placebos are noise only, so no
    # placebo reaches the real one's size: |25 - 4*1.73| > 4*1.73 with a wide margin.
    # ... so each p-value is its smallest possible value 1 / (1 + n_placebo), never 0.
    assert (pl.table["p_value"] == 1 / (1 + pl.table["n_placebo"])).all()
    assert (pl.table["p_value"] > 0).all()
    np.testing.assert_allclose(pl.table["real_estimate"], 25 * sigma, atol=4 * 1.73 * sigma)
    assert (pl.estimates.loc[pl.estimates["kind"] == "real", "n_post"] == 8).all()


def test_placebo_estimate_equals_the_2xT_did_regression() -> None:
    panel = _random_panel(12)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": GO_LIVE}, k=3)
    pl = placebo_tests(res, panel, outcome="y")
    e = pl.estimates[pl.estimates["kind"] == "placebo"].iloc[3]
    t, c, f = e["treated_la"], e["comparator_la"], e["go_live"]
    sub = panel[panel["la"].isin([t, c]) & (panel["quarter"] < GO_LIVE)]
    # OLS y ~ 1 + treated + post + treated:post on the balanced 2 × T panel: the interaction is
    # the DiD of means (closed form; only rounding differs).
    X = np.column_stack([
        np.ones(len(sub)),
        (sub["la"] == t).to_numpy(float),
        (sub["quarter"] >= f).to_numpy(float),
        ((sub["la"] == t) & (sub["quarter"] >= f)).to_numpy(float),
    ])
    beta = np.linalg.lstsq(X, sub["y"].to_numpy(), rcond=None)[0]
    assert abs(beta[3] - e["estimate"]) < 1e-12
    # fake dates: from the window start (g - 14) to g - 1, each with >= 2 pre quarters
    fakes = sorted(pl.estimates.loc[pl.estimates["kind"] == "placebo", "go_live"])
    assert fakes[0] == GO_LIVE - 14 and fakes[-1] == GO_LIVE - 1
    assert len(fakes) == 14
    assert pl.estimates["quarters_before_go_live"].max() == 14


def test_placebo_options_and_plot() -> None:
    from matplotlib.figure import Figure

    panel = _random_panel(12)
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": GO_LIVE}, n_comparators=2)
    pl = placebo_tests(res, panel, outcome="y", n_placebo=4, end="entry_lag")
    pe = pl.estimates[pl.estimates["kind"] == "placebo"]
    assert pe.groupby("comparator_la").size().tolist() == [4, 4]
    # end="entry_lag": no placebo uses quarters of the entry lag
    assert (pe["go_live"] < GO_LIVE - 6).all()
    assert len(pl.table) == 2
    assert isinstance(pl.plot(), Figure)
    json.dumps(pl.to_dict())
    # first_fake far back with min_pre 2: the earliest fake date leaves exactly 2 pre quarters
    pl2 = placebo_tests(res, panel, outcome="y", first_fake=40)
    assert pl2.estimates.loc[pl2.estimates["kind"] == "placebo", "n_pre"].min() == 2


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


def test_treatment_la_absent() -> None:
    panel = _random_panel(10)
    with pytest.raises(FvdidInputError, match="E08000999"):
        fvdid.match_las(panel, outcome="y", go_live={"E08000999": GO_LIVE})


@pytest.mark.parametrize("when", ["2024Q2", "2015Q4"])
def test_go_live_outside_the_data(when: str) -> None:
    panel = _random_panel(10)
    with pytest.raises(FvdidInputError, match=f"{when}.*outside the data.*2016Q1.*2023Q4"):
        fvdid.match_las(panel, outcome="y", go_live={"E09000": when})


def test_too_few_pre_quarters_for_window_and_entry_lag() -> None:
    panel = _random_panel(10)
    # data start 2016Q1; go-live 2019Q2 leaves 13 quarters before it, 14 are needed
    with pytest.raises(FvdidInputError, match=r"E09000.*2019Q2.*14 quarters.*got 13"):
        fvdid.match_las(panel, outcome="y", go_live={"E09000": "2019Q2"})
    # exactly 14 is enough
    res = fvdid.match_las(panel, outcome="y", go_live={"E09000": "2019Q3"})
    assert res.window_quarters["E09000"][0] == pd.Period("2016Q1", "Q")


def test_duplicate_rows() -> None:
    panel = _random_panel(10)
    dup = pd.concat([panel, panel.iloc[[5]]], ignore_index=True)
    with pytest.raises(FvdidInputError, match=r"duplicate.*E09000, 2017Q2"):
        fvdid.match_las(dup, outcome="y", go_live={"E09001": GO_LIVE})


def test_other_bad_input() -> None:
    panel = _random_panel(10)
    with pytest.raises(FvdidInputError, match="no column"):
        fvdid.match_las(panel, outcome="z", go_live={"E09000": GO_LIVE})
    monthly = panel.assign(quarter=panel["quarter"].dt.asfreq("M"))
    with pytest.raises(FvdidInputError, match="quarterly"):
        fvdid.match_las(monthly, outcome="y", go_live={"E09000": GO_LIVE})
    with pytest.raises(FvdidInputError, match="metric"):
        fvdid.match_las(panel, outcome="y", go_live={"E09000": GO_LIVE}, metric="cosine")  # type: ignore[arg-type]
    with pytest.raises(FvdidInputError, match="go_live for treatment LA 'E09000'"):
        fvdid.match_las(panel, outcome="y", go_live={"E09000": "not a date"})
    gaps = panel.copy()
    gaps.loc[(gaps["la"] == "E09000") & gaps["quarter"].isin(WINDOW_2021Q3[1:]), "y"] = np.nan
    with pytest.raises(FvdidInputError, match=r"E09000.*matching window"):
        fvdid.match_las(gaps, outcome="y", go_live={"E09000": GO_LIVE})
    text = panel.assign(quarter=panel["quarter"].astype(str))  # strings are converted
    assert fvdid.match_las(text, outcome="y", go_live={"E09000": GO_LIVE}).go_live["E09000"] \
        == GO_LIVE


# --------------------------------------------------------------------------------------------
# pipeline stage
# --------------------------------------------------------------------------------------------


def _las_table(codes: list[str], treated: dict[str, str], *, trailblazer: str | None = None,
               pip: tuple[str, ...] = (), not_in_extract: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame({
        "la_code": codes,
        "la_name": [f"LA {c}" for c in codes],
        "treated": [c in treated for c in codes],
        "trailblazer": [c == trailblazer for c in codes],
        "go_live": pd.PeriodIndex(
            [pd.Period(treated[c], "M") if c in treated
             else (pd.Period("2020-01", "M") if c == trailblazer else pd.NaT) for c in codes],
            freq="M",
        ),
        "partners_in_practice": [c in pip for c in codes],
        "first_data_quarter": pd.Period("2016Q1", "Q"),
        "in_extract": [c not in not_in_extract for c in codes],
    })


def test_stage_restricts_comparators_to_the_extract_and_ranks_all_for_the_appendix() -> None:
    z_t = _walk(22)
    trail, pip, twin_out, twin_in = "E09001", "E09002", "E09003", "E09004"
    # twin_out (not in the extract) is an exact twin, twin_in a near one; trailblazer and PiP
    # LAs are exact twins too, and must never be chosen.
    panel = _z_panel({T_LA: z_t, trail: z_t + 0.1, pip: z_t + 0.2, twin_out: z_t + 0.3,
                      twin_in: z_t + 0.4 + 0.02 * np.sin(np.arange(len(QUARTERS)))})
    las = _las_table(_codes(40), {T_LA: "2021-07"}, trailblazer=trail, pip=(pip,),
                     not_in_extract=(twin_out,))
    st = run_la_matching(panel, las, outcomes=["y"], config=None)
    assert isinstance(st, LAMatchingStage)
    assert st.pairs.values.tolist() == [[T_LA, twin_in, "y"]]
    reasons = st.excluded.groupby("la")["reason"].apply(set).to_dict()
    assert reasons[trail] == {"FV LA"} and reasons[pip] == {"Partners in Practice"}
    assert reasons[twin_out] == {"no child-level records (in_extract = False)"}
    assert st.result_all_las is not None
    assert st.result_all_las.chosen["comparator_la"].tolist() == [twin_out]
    chk = st.extract_check.iloc[0]
    assert chk["nearest_any"] == twin_out and not chk["nearest_any_in_extract"]
    assert chk["nearest_in_extract"] == twin_in and chk["rank_in_extract_among_all"] == 2
    assert set(st.figures) == {"la_trends_y", "la_placebo_y"}
    assert set(st.placebo) == {"y"}
    assert st.go_live == {T_LA: GO_LIVE}

    off = run_la_matching(panel, las, outcomes="y",
                          config={"la_require_extract": False, "la_figures": False,
                                  "la_placebo": False})
    assert off.pairs["comparator_la"].tolist() == [twin_out]
    assert off.result_all_las is None and off.figures == {} and off.placebo == {}


def test_stage_without_the_extract_check_chooses_the_same_pairs_and_says_so() -> None:
    z_t = _walk(22)
    twin_out, twin_in = "E09003", "E09004"
    panel = _z_panel({T_LA: z_t, twin_out: z_t + 0.3,
                      twin_in: z_t + 0.4 + 0.02 * np.sin(np.arange(len(QUARTERS)))})
    las = _las_table(_codes(40), {T_LA: "2021-07"}, not_in_extract=(twin_out,))
    opts = {"la_figures": False, "la_placebo": False}
    full = run_la_matching(panel, las, outcomes="y", config=opts)
    lean = run_la_matching(panel, las, outcomes="y", config=opts, extract_check=False)
    pd.testing.assert_frame_equal(lean.pairs, full.pairs)
    pd.testing.assert_frame_equal(lean.result.ranking, full.result.ranking)
    assert full.result_all_las is not None and len(full.extract_check) == 1
    assert lean.result_all_las is None and lean.extract_check.empty
    assert any("extract check was not computed" in n for n in lean.notes)
    assert not any("extract check was not computed" in n for n in full.notes)


def test_stage_reads_run_config_and_rejects_unknown_options() -> None:
    from fvdid.config import RunConfig

    panel = _random_panel(20)
    las = _las_table(_codes(20), {"E09000": "2021-07", "E09001": "2022-03"})
    cfg = RunConfig(la_k=4, la_window=6, extras={"la_n_comparators": 2, "la_figures": False})
    st = run_la_matching(panel, las, outcomes=["y"], config=cfg)
    assert st.options == LAMatchingOptions(la_k=4, la_window=6, la_n_comparators=2,
                                           la_figures=False)
    assert st.result.ranking.groupby("treated_la").size().tolist() == [4, 4]
    assert len(st.pairs) == 4
    assert len(st.result.window_quarters["E09001"]) == 6
    with pytest.raises(FvdidInputError, match="la_nope"):
        run_la_matching(panel, las, outcomes=["y"], config={"la_nope": 1})
    bad = las.copy()
    bad.loc[0, "go_live"] = pd.NaT
    with pytest.raises(FvdidInputError, match="E09000"):
        run_la_matching(panel, bad, outcomes=["y"])


# --------------------------------------------------------------------------------------------
# the simulator's data
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_SIMULATE, reason="fvdid.simulate is not written yet")
def test_simulated_default_data_every_treatment_la_and_outcome_has_k_ranked() -> None:
    from fvdid.config import OUTCOMES
    from fvdid.simulate import simulate

    sim = simulate(seed=0, n_children=5_000)
    outcomes = [o for o in OUTCOMES if o in sim.la_quarter.columns]
    assert outcomes, "the simulator's la_quarter has none of the protocol's outcomes"
    st = run_la_matching(sim.la_quarter, sim.las, outcomes=outcomes,
                         config={"la_figures": False})
    treated = set(st.go_live)
    assert len(treated) == 5
    size = st.result.ranking.groupby(["treated_la", "outcome"]).size()
    assert len(size) == len(treated) * len(outcomes)
    assert (size == 10).all()
    fv = set(sim.las.loc[sim.las["treated"].astype(bool), "la_code"])
    if "trailblazer" in sim.las.columns:
        fv |= set(sim.las.loc[sim.las["trailblazer"].astype(bool), "la_code"])
    assert not st.result.ranking["comparator_la"].isin(fv).any()
    pip = set(sim.las.loc[sim.las["partners_in_practice"].astype(bool), "la_code"])
    assert not st.result.ranking["comparator_la"].isin(pip).any()


@pytest.mark.skipif(not HAS_SIMULATE, reason="fvdid.simulate is not written yet")
def test_simulated_twins_are_found_and_decoys_never_appear() -> None:
    from fvdid.simulate import simulate

    sim = simulate(seed=0, n_children=5_000)
    las = sim.las
    if "dgp_twin_of" not in las.columns:
        pytest.skip("the simulator records no designed twins (las.dgp_twin_of)")
    treated = las[las["treated"].astype(bool)]
    res = fvdid.match_las(
        sim.la_quarter,
        outcome="looked_after_18m",
        go_live=dict(zip(treated["la_code"], treated["go_live"])),
        fv_las=las.loc[las["trailblazer"].astype(bool), "la_code"],
        partners_in_practice=las.loc[las["partners_in_practice"].astype(bool), "la_code"],
    )
    twin_of = dict(zip(las["la_code"], las["dgp_twin_of"]))
    # The designed twins copy the treatment LA's trend, COVID shock and quarterly cycle (plus
    # jitter), while sampling noise of the panel's rates is small at national volumes: at least
    # one designed twin must be among the 10 nearest of every treatment LA. (Rank 1 is not
    # asserted: jitter and sampling noise can let another LA edge ahead by chance.)
    for t, grp in res.ranking.groupby("treated_la"):
        assert any(twin_of.get(c) == t for c in grp["comparator_la"]), t
    if "dgp_decoy" in las.columns:
        decoys = set(las.loc[las["dgp_decoy"].astype(bool), "la_code"])
        assert not res.ranking["comparator_la"].isin(decoys).any()
        # every decoy is excluded with a reason (PiP, or too little pre-period data)
        assert decoys <= set(res.excluded["la"])


# --------------------------------------------------------------------------------------------
# module layout (issue 12): one verb a module, old import paths kept
# --------------------------------------------------------------------------------------------


def test_verbs_live_in_their_modules_and_old_imports_still_work() -> None:
    # importlib: ``import fvdid.match_las as m`` would bind the function fvdid.match_las
    old = importlib.import_module("fvdid.match_las")
    placebo_mod = importlib.import_module("fvdid.estimators.placebo")
    trend_mod = importlib.import_module("fvdid.reporting.trend_plot")

    assert old.placebo_tests is placebo_mod.placebo_tests is fvdid.placebo_tests
    assert old.PlaceboResult is placebo_mod.PlaceboResult is fvdid.PlaceboResult
    assert old.trend_plot is trend_mod.trend_plot is fvdid.trend_plot
    assert old.match_las is fvdid.match_las
    assert placebo_tests.__module__ == "fvdid.estimators.placebo"
    assert trend_plot.__module__ == "fvdid.reporting.trend_plot"


@pytest.mark.parametrize(
    "module", ["fvdid.estimators.placebo", "fvdid.reporting.trend_plot", "fvdid.match_las"]
)
def test_each_module_imports_first_without_a_cycle(module: str) -> None:
    import subprocess
    import sys

    code = f"import {module}; from fvdid.match_las import trend_plot, placebo_tests, PlaceboResult"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------------------------
# the placebo pairs' shared standardisation (_NearestPretrend) = one match_las call each
# --------------------------------------------------------------------------------------------


def _nearest_by_match_las(panel: pd.DataFrame, la: str, g: object, pool: list[str],
                          **opts: object) -> str | None:
    """The straightforward answer: match_las restricted to the pool, or None where it gives none."""
    cands = [p for p in pool if p != la]
    if not cands:
        return None
    try:
        res = fvdid.match_las(panel, outcome="y", go_live={la: g}, n_comparators=1,
                              restrict_to=cands, **opts)  # type: ignore[arg-type]
    except FvdidInputError:
        return None
    ch = res.chosen
    return None if ch.empty else str(ch.sort_values("rank").iloc[0]["comparator_la"])


def test_nearest_pretrend_names_match_las_choice() -> None:
    from fvdid.estimators.match_las import _NearestPretrend

    z_t = _walk(14)
    # exact ties (two z twins, codes in reverse order), LAs short of pre-period data or with a
    # gappy window, a go-live too early for the window and one outside the data
    panel = _z_panel({T_LA: z_t, "E09005": z_t + 0.2, "E09004": z_t + 0.2}, n_las=24)
    g = GO_LIVE
    panel = panel[~((panel["la"] == "E09007") & (panel["quarter"] < g - 7))]
    panel.loc[(panel["la"] == "E09008") & (panel["quarter"] < g - 6), "y"] = np.nan
    panel.loc[(panel["la"] == "E09009") & (panel["quarter"] == g - 9), "y"] = np.nan
    las = sorted(panel["la"].unique())
    pools = [las, las[:6], [la for la in las if la not in ("E09004",)], ["E09000"]]
    dates = [g, g - 3, pd.Period("2021-11", freq="M"), QUARTERS[0] + 10, QUARTERS[0] + 2,
             pd.Period("2030Q1", freq="Q")]
    n_some = 0
    for opts in ({}, {"max_distance": 0.5, "k": 3}, {"metric": "mae", "k": 1, "max_distance": 0.05}):
        near = _NearestPretrend(panel, "y", **opts)  # type: ignore[arg-type]
        for la in (T_LA, "E09004", "E09007", "E09008", "E09010"):
            for when in dates:
                for pool in pools:
                    want = _nearest_by_match_las(panel, la, when, pool, **opts)
                    assert near.nearest(la, when, pool) == want, (opts, la, when, pool)
                    n_some += want is not None
    assert n_some > 50  # most combinations have a comparator: the comparison is not vacuous
