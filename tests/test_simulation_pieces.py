"""Tests of the simulator's pieces called alone (fvdid.simulation.las, rates, panel, children...)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvdid.simulation import SimConfig, SimulatedData, simulate
from fvdid.simulation.absence import draw_absence, term_calendar
from fvdid.simulation.children import (
    draw_children,
    draw_covariates,
    draw_missingness,
    draw_referrals,
    largest_remainder,
)
from fvdid.simulation.las import NAT, LAs, calendar, draw_las, go_live_table, la_table
from fvdid.simulation.outcomes import tau
from fvdid.simulation.panel import draw_panel
from fvdid.simulation.rates import Rates, expected_rates, support

N = 5_000
CFG = SimConfig()


def _rngs(seed: int) -> tuple[np.random.Generator, ...]:
    """The three streams simulate() uses (LA level, panel, children)."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    return simulate(seed=4, n_children=N)


@pytest.fixture(scope="module")
def world() -> tuple[LAs, Rates]:
    rng_la, _, _ = _rngs(4)
    las = draw_las(rng_la, CFG)
    return las, expected_rates(CFG, las, support())


def test_la_table_is_the_151_authorities() -> None:
    t = la_table()
    assert len(t) == 151
    assert t["la_code"].is_unique and t["la_code"].is_monotonic_increasing
    assert t["region"].notna().all()
    assert (t["size"] > 0).all()


def test_go_live_table_has_the_five_real_months() -> None:
    g = go_live_table(CFG)
    months = {
        str(code): str(pd.Period(ordinal=int(m), freq="M"))
        for code, m in zip(g.codes, g.go)
        if m != NAT
    }
    assert months == {
        "E10000031": "2021-07", "E08000021": "2021-11", "E08000026": "2022-03",
        "E08000029": "2022-07", "E08000014": "2022-11", "E06000005": "2020-04",
    }  # fmt: skip
    assert list(g.codes[g.treated_idx]) == [c for c, _ in CFG.go_live]  # config order kept
    assert int(g.treated.sum()) == 5 and int(g.trail.sum()) == 1
    lead = dict(zip([c for c, _ in CFG.go_live], CFG.fgc_lead_months))
    for code, i in zip(g.codes[g.treated_idx], g.treated_idx):
        assert g.go[i] - g.fgc[i] == lead[code]
    assert not (g.pip & (g.treated | g.trail)).any()


def test_calendar_trial_period_is_six_months_either_side() -> None:
    cal = calendar(CFG, go_live_table(CFG))
    month = lambda o: str(pd.Period(ordinal=int(o), freq="M"))  # noqa: E731
    assert (month(cal.trial_m0), month(cal.trial_m1)) == ("2021-01", "2023-05")
    assert (month(cal.ext_m0), month(cal.ext_m1)) == ("2020-12", "2023-06")
    assert len(cal.panel_q) == 28  # 2017Q2..2024Q1
    assert len(cal.months) == 3 * len(cal.q)
    assert set(cal.panel_q) <= set(cal.q)


def test_support_weights_sum_to_one_at_any_fsm_share() -> None:
    sup = support()
    for s in (0.1, 0.42, 0.8):
        w = sup["w0"] + s * sup["w1"]
        assert (w >= 0).all()
        assert abs(w.sum() - 1.0) < 1e-12  # exact up to float summation


def test_expected_rates_hit_the_national_base_rate(world: tuple[LAs, Rates]) -> None:
    las, rates = world
    cal = las.cal
    qi = np.flatnonzero(np.isin(cal.q, cal.panel_q))
    vol = las.volumes.vol_q[:, qi]
    mean_la = float((rates.R["looked_after_18m"][:, qi] * vol).sum() / vol.sum())
    # calibration on binned sums: bin width 0.002 on the logit scale gives errors ~1e-7
    assert abs(mean_la - CFG.base_looked_after_18m) < 1e-5


def test_panel_function_alone_equals_simulates_panel(sim: SimulatedData, world: tuple[LAs, Rates]) -> None:
    las, rates = world
    _, rng_panel, _ = _rngs(4)
    pd.testing.assert_frame_equal(draw_panel(rng_panel, CFG, las, rates), sim.la_quarter)


def test_children_function_alone_equals_simulates_children(sim: SimulatedData, world: tuple[LAs, Rates]) -> None:
    las, rates = world
    _, _, rng_child = _rngs(4)
    children, terms, effects = draw_children(rng_child, CFG, las, rates, support()["a_band"], N)
    pd.testing.assert_frame_equal(children, sim.children)
    pd.testing.assert_frame_equal(terms, sim.absence_terms)
    pd.testing.assert_frame_equal(effects, sim.child_effects)


def test_referrals_split_and_sorted(world: tuple[LAs, Rates]) -> None:
    las, _ = world
    ref = draw_referrals(np.random.default_rng(1), CFG, las, N)
    assert len(ref.la_i) == N
    assert las.in_extract[ref.la_i].all()
    assert (np.diff(ref.la_i) >= 0).all()
    same_la = np.diff(ref.la_i) == 0
    assert (np.diff(ref.day)[same_la] >= 0).all()
    assert int(las.go_live.treated[ref.la_i].sum()) == round(CFG.treated_share * N)


def test_covariates_reproducible_for_an_rng() -> None:
    s = np.full(4_000, 0.4)
    s_wb = np.full(4_000, 0.7)
    a_band = support()["a_band"]
    a = draw_covariates(np.random.default_rng(11), s, s_wb, a_band)
    b = draw_covariates(np.random.default_rng(11), s, s_wb, a_band)
    c = draw_covariates(np.random.default_rng(12), s, s_wb, a_band)
    for name in ("age", "gender", "uasc", "disabled", "prior", "need", "fsm", "eth_idx"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.age, c.age)
    # WBRI share: binomial sd sqrt(.7 * .3 / 4000) ~ 0.007; 5 sd
    assert abs(np.mean(a.eth_idx == 0) - 0.7) < 0.035
    # FSM: E = s * E[a_band] = s = 0.4 (a_band has mean 1 over the age mix); 5 binomial sd
    assert abs(np.mean(a.fsm) - 0.4) < 0.04


def test_missingness_shares() -> None:
    la_i = np.repeat(np.arange(10), 2_000)
    m = draw_missingness(np.random.default_rng(3), CFG, la_i, 10)
    # 20,000 draws: binomial sd <= 0.0035; 5 sd, plus the LA-specific spread for n_prev_cpp
    assert abs(m.disabled.mean() - CFG.missing_disabled) < 0.018
    assert abs(m.n_prev_cpp.mean() - CFG.missing_n_prev_cpp) < 0.05
    assert set(m.outcome) == {"looked_after_18m", "cpp_12m", "days_cpp_cin_18m",
                              "kinship_first_placement", "reunified_18m"}  # fmt: skip


def test_absence_three_terms_after_referral() -> None:
    n = 3_000
    rng = np.random.default_rng(5)
    month = np.full(n, pd.Period("2021-10", freq="M").ordinal)
    day = pd.Timestamp("2021-10-15").to_datetime64().astype("datetime64[D]").astype(np.int64)
    ref_day = np.full(n, day)
    age = np.full(n, 10, dtype=np.int8)
    a = draw_absence(rng, CFG, age, month, ref_day, np.full(n, -3.2), np.full(n, 4.0),
                     np.zeros(n, bool), np.zeros(n))  # fmt: skip
    assert (a.months_since > 0).all()
    assert list(a.terms.label[a.tidx[0]]) == ["2021/22 spring", "2021/22 summer", "2022/23 autumn"]
    assert (a.eff_child == 0).all()  # nobody under FV
    assert ((a.unauth >= 0) & (a.unauth <= a.possible)).all()
    cal = term_calendar(month)
    assert (np.diff(cal.start) > 0).all()


def test_tau_schedule_capped() -> None:
    e = np.array([-2, -1, 0, 1, 6, 20])
    np.testing.assert_allclose(
        tau(CFG, "looked_after_18m", e), [0, 0, -0.010, -0.0125, -0.025, -0.025], atol=1e-15
    )  # exact arithmetic up to one rounding
    np.testing.assert_array_equal(tau(CFG, "cpp_12m", e), np.zeros(6))


def test_largest_remainder() -> None:
    out = largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert out.sum() == 10 and sorted(out) == [3, 3, 4]
    assert largest_remainder(0, np.array([1.0, 2.0])).sum() == 0
