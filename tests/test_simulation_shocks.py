"""Tests of the named common shocks (SimConfig.shocks, SimulatedData.shocks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from fvdid.errors import FvdidInputError
from fvdid.simulation import SimConfig, SimulatedData, simulate
from fvdid.simulation.config import COVID_SHOCK, Shock

N = 1_000  # the shocks act on the LA level; the child extract only needs to exist
NO_EFFECT = {"effect_la": 0.0, "effect_growth": 0.0, "effect_max": 0.0}
LA_DRAWS = ("dgp_referrals_per_year", "dgp_twin_of", "dgp_decoy", "dgp_duration_mult",
            "in_extract", "dgp_trend_looked_after_18m", "dgp_trend_cpp_12m")  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    return simulate(seed=1, n_children=N)


def _by_la(df: pd.DataFrame, col: str, key: str = "la_code") -> pd.Series:
    return df.set_index(key)[col]


def test_default_shock_table_is_covid(sim: SimulatedData) -> None:
    s = sim.shocks
    assert list(s.columns) == ["la_code", "shock", "date", "response", "outcome"]
    assert set(s["shock"]) == {"covid"}
    assert len(s) == len(sim.las) and s["la_code"].is_unique
    assert s["date"].dtype == sim.las["go_live"].dtype  # period[M], like the go-live dates
    assert (s["date"] == pd.Period("2020-04", freq="M")).all()
    pd.testing.assert_series_equal(
        _by_la(s, "response"), _by_la(sim.las, "dgp_covid_looked_after_18m"),
        check_names=False, check_exact=True,
    )  # fmt: skip
    assert "shocks" not in sim.frames()  # kept out: the pinned frame hashes stay valid


def test_default_config_is_the_covid_shock_and_explicit_covid_changes_nothing(sim: SimulatedData) -> None:
    assert SimConfig().shocks == (COVID_SHOCK,)
    again = simulate(seed=1, n_children=N, shocks=[COVID_SHOCK])
    for name, df in sim.frames().items():
        pd.testing.assert_frame_equal(df, again.frames()[name], check_exact=True, obj=name)


def test_extra_shock_leaves_every_la_draw_unchanged(sim: SimulatedData) -> None:
    other = simulate(seed=1, n_children=N, shocks=[COVID_SHOCK, Shock("reform", "2022-01", 0.2, 0.1)])
    for col in LA_DRAWS:
        pd.testing.assert_series_equal(_by_la(other.las, col), _by_la(sim.las, col), check_exact=True)
    pd.testing.assert_frame_equal(
        other.shocks[other.shocks["shock"] == "covid"].reset_index(drop=True), sim.shocks
    )
    reform = other.shocks[other.shocks["shock"] == "reform"]
    assert len(reform) == len(sim.las)
    # 151 draws of N(0.2, 0.1): sd of the mean 0.008; 5 sd
    assert abs(reform["response"].mean() - 0.2) < 0.04
    assert not other.la_quarter["n_looked_after"].equals(sim.la_quarter["n_looked_after"])


def _did_logit(sim: SimulatedData, start: str) -> float:
    """(treated post - pre) - (others post - pre) in the logit of the pooled looked-after rate."""
    p = sim.la_quarter.dropna(subset=["n_referrals"])
    post = (p["quarter"] >= pd.Period(start, freq="M").asfreq("Q-DEC")).to_numpy()
    treated = p["treated"].to_numpy()
    cell = {}
    for tr in (True, False):
        for po in (True, False):
            c = p[(treated == tr) & (post == po)]
            cell[tr, po] = logit(c["n_looked_after"].sum() / c["n_referrals"].sum())
    return (cell[True, True] - cell[True, False]) - (cell[False, True] - cell[False, False])


@pytest.mark.parametrize("seed", [2, 4])
def test_treated_differential_shifts_treated_las_by_about_that_amount(seed: int) -> None:
    base = simulate(seed=seed, n_children=N, **NO_EFFECT)
    shocked = simulate(
        seed=seed, n_children=N, shocks=[COVID_SHOCK, Shock("reform", "2022-01", 0.2, 0.1, 0.5)],
        **NO_EFFECT,
    )  # fmt: skip
    shift = _did_logit(shocked, "2022-01") - _did_logit(base, "2022-01")
    # 0.5 on each child's logit; the pooled rate's logit moves a little less (non-collapsibility,
    # ~0.5 (1 - p) with p ~ 0.06: ~0.47), plus binomial noise (~3,000 looked-after children per
    # treated period: sd ~0.03) and the comparators' mean response (sd 0.1 / sqrt(146) ~ 0.01)
    assert abs(shift - 0.5) < 0.15
    # and the treated LAs' true responses carry the differential exactly
    resp = shocked.shocks[shocked.shocks["shock"] == "reform"].set_index("la_code")["response"]
    treated = shocked.las.set_index("la_code")["treated"]
    gap = resp[treated].mean() - resp[~treated].mean()
    # 0.5 plus the difference of two sample means of N(0, 0.1): sd ~0.045 (5 treated LAs); 5 sd
    assert abs(gap - 0.5) < 0.23


def test_common_shock_without_differential_does_not_move_the_did() -> None:
    base = simulate(seed=4, n_children=N, **NO_EFFECT)
    shocked = simulate(seed=4, n_children=N, shocks=[COVID_SHOCK, Shock("reform", "2022-01", 0.5, 0.0)],
                       **NO_EFFECT)  # fmt: skip
    # every LA moves by 0.5 on the logit scale: the DiD moves only by the non-collapsibility
    # difference between treated (higher rates) and other LAs and binomial noise (sd ~0.03)
    assert abs(_did_logit(shocked, "2022-01") - _did_logit(base, "2022-01")) < 0.12


def test_no_covid_and_covid_differential(sim: SimulatedData) -> None:
    off = simulate(seed=1, n_children=N, shocks=[])
    cols = [c for c in off.las.columns if c.startswith("dgp_covid_")]
    assert (off.las[cols] == 0).all().all()
    assert off.shocks.empty and list(off.shocks.columns) == list(sim.shocks.columns)
    for col in LA_DRAWS:
        pd.testing.assert_series_equal(_by_la(off.las, col), _by_la(sim.las, col), check_exact=True)
    d = 0.3
    more = simulate(seed=1, n_children=N, shocks=[Shock("covid", "2020-04", -0.05, None, d)])
    gap = _by_la(more.las, "dgp_covid_looked_after_18m") - _by_la(sim.las, "dgp_covid_looked_after_18m")
    treated = _by_la(sim.las, "treated")
    np.testing.assert_allclose(gap[treated], d, atol=1e-12)  # one addition: rounding only
    assert (gap[~treated] == 0).all()


def test_shock_config_round_trip_and_forms() -> None:
    cfg = SimConfig.from_mapping(
        {"shocks": [{"name": "covid", "start": "2020-04", "mean": -0.05, "sd": None},
                    ["reform", "2022-01", 0.1, 0.05, 0.2, "cpp_12m"]]}
    )  # fmt: skip
    assert cfg.shocks[1] == Shock("reform", "2022-01", 0.1, 0.05, 0.2, "cpp_12m")
    assert SimConfig.from_mapping(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("shocks", "match"),
    [
        ([COVID_SHOCK, COVID_SHOCK], "unique"),
        ([Shock("a", "2022-13", 0.1, 0.1)], "month"),
        ([Shock("a", "2022-01", 0.1, 0.1, 0.0, "nonsense")], "outcome"),
        ([Shock("a", "2022-01", 0.1, None)], "sd"),
        ([Shock("a", "2022-01", 0.1, -1.0)], "non-negative"),
        ([Shock("covid", "2021-04", -0.05, None)], "fixed"),
        ([{"name": "a", "start": "2022-01", "mean": 0.1, "sd": 0.1, "size": 2}], "unknown key"),
        ([{"name": "a", "start": "2022-01", "mean": 0.1}], "lacks"),
        ([["a", "2022-01", "big", 0.1]], "finite number"),
        ("covid", "list of shocks"),
    ],
)
def test_bad_shocks_raise(shocks: object, match: str) -> None:
    with pytest.raises(FvdidInputError, match=match):
        SimConfig(shocks=shocks)  # type: ignore[arg-type]


def test_covid_sd_and_covid_shock_sd_conflict() -> None:
    assert SimConfig(covid_sd=0.3).shocks == (COVID_SHOCK,)  # sd None: covid_sd governs
    with pytest.raises(FvdidInputError, match="covid_sd"):
        SimConfig(covid_sd=0.3, shocks=[Shock("covid", "2020-04", -0.05, 0.2)])
