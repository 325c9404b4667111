"""Tests of fvdid.simulate: margins, determinism, panel shape, consistency, truth, config errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fvdid.errors import FvdidInputError
from fvdid.simulate import OUTCOMES, SimConfig, SimulatedData, simulate

N = 20_000
GO_LIVE = {
    "E10000031": "2021-07",  # Warwickshire
    "E08000021": "2021-11",  # Newcastle upon Tyne
    "E08000026": "2022-03",  # Coventry
    "E08000029": "2022-07",  # Solihull
    "E08000014": "2022-11",  # Sefton
}
BINARY = ("looked_after_18m", "cpp_12m", "kinship_first_placement", "reunified_18m")


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    return simulate(seed=0, n_children=N)


# ------------------------------------------------------------------------------ structure
def test_shapes_and_public_api(sim: SimulatedData) -> None:
    assert isinstance(sim.config, SimConfig)
    assert len(sim.children) == N
    assert sim.children["child_id"].is_unique
    assert len(sim.las) >= 150
    assert sim.las["la_code"].is_unique
    assert sim.las["la_code"].str.match(r"^E(06|08|09|10)\d{6}$").all()
    summary = sim.to_dict()
    assert summary["frames"]["children"]["rows"] == N
    assert set(summary["frames"]) >= {"children", "la_quarter", "las", "truth", "absence_terms"}
    assert "SimulatedData" in sim.summary()


def test_children_dtypes_are_fixed(sim: SimulatedData) -> None:
    expected = {
        "referral_date": "datetime64[ns]", "referral_month": "period[M]",
        "referral_quarter": "period[Q-DEC]", "in_trial_period": "bool", "treated_la": "bool",
        "trailblazer_la": "bool", "fv": "int8", "event_time_q": "float64",
        "days_open_trial": "int32", "days_open_under_fv": "int32", "in_embedding_period": "bool",
        "gender": "int8", "age_at_referral": "int8", "disabled": "float64", "fsm": "float64",
        "uasc": "int8", "n_prev_cpp": "float64", "prior_cpp": "float64", "main_need": "int8",
        "la_share_fsm": "float64", "la_share_white_british": "float64",
        "la_other_innovation": "int8", **dict.fromkeys(OUTCOMES, "float64"),
    }  # fmt: skip
    strings = ("child_id", "la_code", "la_name", "financial_year", "ethnicity", "ethnicity_major")
    assert list(sim.children.columns) == [
        "child_id", "la_code", "la_name", "referral_date", "referral_month", "referral_quarter",
        "financial_year", "in_trial_period", "treated_la", "trailblazer_la", "fv", "event_time_q",
        "days_open_trial", "days_open_under_fv", "in_embedding_period", "gender", "ethnicity",
        "ethnicity_major", "age_at_referral", "disabled", "fsm", "uasc", "n_prev_cpp", "prior_cpp",
        "main_need", "la_share_fsm", "la_share_white_british", "la_other_innovation", *OUTCOMES,
    ]  # fmt: skip
    for col, dtype in expected.items():
        assert str(sim.children[col].dtype) == dtype, col
    for col in strings:
        assert pd.api.types.is_object_dtype(sim.children[col]) or pd.api.types.is_string_dtype(
            sim.children[col]
        ), col
    other = simulate(seed=3, n_children=3_000)
    assert other.children.dtypes.to_dict() == sim.children.dtypes.to_dict()
    assert other.la_quarter.dtypes.to_dict() == sim.la_quarter.dtypes.to_dict()


# ------------------------------------------------------------------------------ LAs and dates
def test_go_live_dates_exact(sim: SimulatedData) -> None:
    las = sim.las.set_index("la_code")
    treated = las.index[las["treated"]]
    assert sorted(treated) == sorted(GO_LIVE)
    for code, month in GO_LIVE.items():
        assert las.at[code, "go_live"] == pd.Period(month, freq="M")
        assert las.at[code, "fgc_start"] < las.at[code, "go_live"]
    assert las.at["E10000031", "la_name"] == "Warwickshire"
    assert las.at["E06000005", "la_name"] == "Darlington"
    assert bool(las.at["E06000005", "trailblazer"])
    assert las.at["E06000005", "go_live"] == pd.Period("2020-04", freq="M")
    assert las.loc[~las["treated"] & ~las["trailblazer"], "go_live"].isna().all()


def test_exclusion_flags(sim: SimulatedData) -> None:
    las = sim.las
    assert 6 <= las["partners_in_practice"].sum() <= 10
    assert not (las["partners_in_practice"] & las["treated"]).any()
    late = las["first_data_quarter"] > pd.Period("2017Q2", freq="Q")
    assert late.sum() == 5
    # fewer than 2 years (8 quarters) of data before the first go-live quarter (2021Q3)
    first_go = pd.Period("2021Q3", freq="Q")
    assert ((first_go - las.loc[late, "first_data_quarter"]).apply(lambda d: d.n) < 8).all()
    assert las.loc[las["treated"] | las["trailblazer"], "in_extract"].all()
    assert not las.loc[las["partners_in_practice"] | late, "in_extract"].any()
    in_children = set(sim.children["la_code"])
    assert in_children == set(las.loc[las["in_extract"], "la_code"])
    # every designed (non-decoy) twin is an eligible comparator
    twins = las[las["dgp_twin_of"].notna() & ~las["dgp_decoy"]]
    assert len(twins) == 5 * SimConfig().twins_per_treated
    assert not (twins["treated"] | twins["partners_in_practice"] | twins["trailblazer"]).any()


def test_trial_period_and_treatment_coding(sim: SimulatedData) -> None:
    c = sim.children
    in_trial = c["in_trial_period"]
    assert c.loc[in_trial, "referral_month"].min() == pd.Period("2021-01", freq="M")
    assert c.loc[in_trial, "referral_month"].max() == pd.Period("2023-05", freq="M")
    outside = c.loc[~in_trial, "referral_month"].astype(str)
    assert set(outside) <= {"2020-12", "2023-06"}
    # ~1% outside: binomial sd at 20,000 rows is 0.0007, so 0.004 is > 5 sd
    assert abs((~in_trial).mean() - 0.01) < 0.004
    go = c["la_code"].map(pd.Series(GO_LIVE)).map(lambda m: pd.Period(m, freq="M") if isinstance(m, str) else pd.NaT)
    t = c["treated_la"]
    assert (c.loc[t, "fv"] == (c.loc[t, "referral_month"] >= go[t]).astype(int)).all()
    assert (c.loc[~t & ~c["trailblazer_la"], "fv"] == 0).all()
    assert c.loc[~t & ~c["trailblazer_la"], "event_time_q"].isna().all()
    assert (c.loc[c["trailblazer_la"] & in_trial, "fv"] == 1).all()
    assert not (c["in_embedding_period"] & ~t).any()
    assert (c.loc[c["in_embedding_period"], "fv"] == 0).all()
    assert (c["days_open_under_fv"] <= c["days_open_trial"]).all()
    assert (c.loc[~t & ~c["trailblazer_la"], "days_open_under_fv"] == 0).all()
    fy = c["referral_date"].dt.year - (c["referral_date"].dt.month < 4)
    assert (c["financial_year"] == fy.astype(str) + "/" + ((fy + 1) % 100).map("{:02d}".format)).all()
    assert (c["referral_quarter"] == c["referral_month"].dt.asfreq("Q")).all()
    # sorted output: by LA code, then referral date
    assert c[["la_code", "referral_date"]].apply(tuple, axis=1).is_monotonic_increasing


def test_half_of_children_in_treatment_las(sim: SimulatedData) -> None:
    # the split is a deterministic largest-remainder allocation of round(0.5 * n)
    assert sim.children["treated_la"].sum() == round(0.5 * N)
    sizes = sim.children[sim.children["treated_la"]].groupby("la_code").size()
    assert len(sizes) == 5 and (sizes > 0.05 * N).all()


def test_cohort_sizes(sim: SimulatedData) -> None:
    las = sim.las
    # treatment LAs: 5,200 children a year on average (MDES table), exactly by construction
    assert las.loc[las["treated"], "dgp_referrals_per_year"].mean() == pytest.approx(5_200, rel=1e-9)
    assert las["dgp_referrals_per_year"].sum() == pytest.approx(650_000, rel=1e-9)
    # realised volume in the pre-COVID FY 2018/19 of the LAs with data then: LA volume trends
    # (sd 2 %/yr, mean 0, centred on 2019-10) average out to < 0.5 %, Poisson noise < 0.2 %
    lq = sim.la_quarter
    fy = lq["quarter"].between(pd.Period("2018Q2", freq="Q"), pd.Period("2019Q1", freq="Q"))
    with_data = las.loc[las["first_data_quarter"] <= pd.Period("2018Q2", freq="Q"), "dgp_referrals_per_year"]
    assert lq.loc[fy, "n_referrals"].sum() == pytest.approx(with_data.sum(), rel=0.02)
    assert with_data.sum() > 0.9 * 650_000
    # 18-year-olds (data errors): exactly round(age_error_share * n)
    assert (sim.children["age_at_referral"] == 18).sum() == round(0.0003 * N)
    assert sim.children["age_at_referral"].between(0, 18).all()


# ------------------------------------------------------------------------------ missingness
def test_missingness_shares(sim: SimulatedData) -> None:
    c = sim.children
    share = c.isna().mean()
    # LA-specific share of missing n_prev_cpp is drawn within [0.31, 0.41]; binomial noise at
    # 20,000 rows is < 0.004
    assert 0.30 < share["n_prev_cpp"] < 0.45
    assert (c["prior_cpp"].isna() == c["n_prev_cpp"].isna()).all()
    assert (c["prior_cpp"].dropna() == (c["n_prev_cpp"].dropna() > 0)).all()
    # configured small shares; binomial sd at 20,000 rows is <= 0.0014, tolerance 0.006
    for col, expected in (("disabled", 0.03), ("fsm", 0.04), ("ethnicity", 0.015)):
        assert abs(share[col] - expected) < 0.006, col
    for col in ("looked_after_18m", "cpp_12m", "days_cpp_cin_18m"):
        assert abs(share[col] - 0.01) < 0.004, col
    for col in ("gender", "age_at_referral", "uasc", "main_need", "la_code", "referral_date"):
        assert share[col] == 0, col
    assert c["ethnicity_major"].isna().sum() >= c["ethnicity"].isin(["REFU", "NOBT"]).sum()
    assert set(c["ethnicity_major"].dropna()) == {"White", "Mixed", "Asian", "Black", "Other"}


def test_covariate_codes(sim: SimulatedData) -> None:
    c = sim.children
    assert set(c["gender"]) <= {0, 1, 2, 3, 4}
    assert set(c["main_need"]) <= set(range(10))
    assert set(c["disabled"].dropna()) <= {0.0, 1.0}
    assert set(c["fsm"].dropna()) <= {0.0, 1.0}
    assert set(c["uasc"]) == {0, 1}
    codes = {"WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND",
             "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"}  # fmt: skip
    assert set(c["ethnicity"].dropna()) <= codes
    assert c["la_share_fsm"].between(0, 1).all() and c["la_share_white_british"].between(0, 1).all()


# ------------------------------------------------------------------------------ outcomes
def test_outcome_ranges_and_samples(sim: SimulatedData) -> None:
    c = sim.children
    for col in BINARY:
        assert set(c[col].dropna()) <= {0.0, 1.0}, col
    days = c["days_cpp_cin_18m"].dropna()
    assert days.between(0, 548).all() and (days == np.round(days)).all()
    assert (days == 0).mean() > 0.5  # most children are never on a plan
    assert 0 < (days == 548).mean() < 0.05  # a few censored at 18 months
    both = c["cpp_12m"].notna() & c["days_cpp_cin_18m"].notna()
    assert (c.loc[both & (c["cpp_12m"] == 1), "days_cpp_cin_18m"] > 0).all()
    la = c["looked_after_18m"]
    assert c.loc[la != 1, "kinship_first_placement"].isna().all()
    assert c.loc[la != 1, "reunified_18m"].isna().all()
    absr = c["unauth_absence_rate"]
    assert absr.dropna().between(0, 100).all()
    school = c["age_at_referral"].between(5, 15)
    adult_error = c["age_at_referral"] == 18  # data errors: the recorded age is wrong, not the NPD link
    assert absr[~school & ~adult_error].isna().all()
    assert absr[school].notna().mean() > 0.95
    assert 2.0 < absr.mean() < 7.0  # configured national mean 4 %, LAs selected for the extract
    assert absr.skew() > 1  # skewed: individual random effect on the logit scale


def test_national_base_rates_in_panel(sim: SimulatedData) -> None:
    lq = sim.la_quarter
    n = lq["n_referrals"].astype(float)
    n_la = lq["n_looked_after"].astype(float)
    # Intercepts are calibrated to the volume-weighted counterfactual panel mean. Binomial SE
    # over ~4 million referrals is ~1e-4; the effect in the six FV LAs (~5 % of volume, <= 2.5
    # pp) moves the national rate by < 6e-4; tolerance 1.5e-3.
    rate = float(np.nansum(lq["looked_after_18m"] * n) / np.nansum(n))
    assert rate == pytest.approx(0.04, abs=1.5e-3)
    assert float(np.nansum(lq["cpp_12m"] * n) / np.nansum(n)) == pytest.approx(0.13, abs=2e-3)
    # among ~170,000 looked-after children: SE ~ 1e-3; effect +2 pp in ~5 % of them
    kin = float(np.nansum(lq["kinship_first_placement"] * n_la) / np.nansum(n_la))
    assert kin == pytest.approx(0.17, abs=6e-3)
    reu = float(np.nansum(lq["reunified_18m"] * n_la) / np.nansum(n_la))
    assert reu == pytest.approx(0.27, abs=6e-3)
    ns = lq["n_school_age"].astype(float)
    # absence: the calibration and the panel use the same normal approximation; SE tiny
    assert float(np.nansum(lq["unauth_absence_rate"] * ns) / np.nansum(ns)) == pytest.approx(4.0, abs=0.05)


def test_child_rates_match_panel_latent_rates(sim: SimulatedData) -> None:
    """Children and the panel are independent draws from the same latent LA-quarter rates."""
    c = sim.children[sim.children["in_trial_period"] & ~sim.children["treated_la"]]
    counts = c.groupby(["la_code", "referral_quarter"]).size().rename("w").reset_index()
    lq = sim.la_quarter.rename(columns={"la": "la_code", "quarter": "referral_quarter"})
    m = counts.merge(lq, on=["la_code", "referral_quarter"], how="left")
    for col in ("looked_after_18m", "cpp_12m"):
        child_rate = c[col].mean()
        panel_rate = np.average(m[col], weights=m["w"])
        # binomial SE of the child mean (~10,000 children) dominates; 4 SE
        se = math.sqrt(child_rate * (1 - child_rate) / c[col].notna().sum())
        assert abs(child_rate - panel_rate) < 4 * se + 1e-3, col


def test_absence_terms_consistent(sim: SimulatedData) -> None:
    t = sim.absence_terms
    assert list(t.columns) == [
        "child_id", "la_code", "term", "term_label", "months_since_referral", "sessions_possible",
        "sessions_unauth", "rate",
    ]  # fmt: skip
    assert (t.groupby("child_id")["term"].apply(list) == pd.Series([[1, 2, 3]] * t["child_id"].nunique(), index=sorted(t["child_id"].unique()))).all()
    assert (t["sessions_unauth"] <= t["sessions_possible"]).all() and (t["sessions_possible"] > 0).all()
    assert (t["months_since_referral"] > 0).all()
    assert t.groupby("child_id")["months_since_referral"].apply(lambda s: s.is_monotonic_increasing).all()
    assert t["term_label"].str.match(r"^\d{4}/\d{2} (autumn|spring|summer)$").all()
    agg = t.groupby("child_id")[["sessions_unauth", "sessions_possible"]].sum()
    rate = 100 * agg["sessions_unauth"] / agg["sessions_possible"]
    child = sim.children.set_index("child_id")["unauth_absence_rate"].dropna()
    assert set(child.index) == set(rate.index)
    # identical arithmetic on identical integers
    np.testing.assert_allclose(rate.loc[child.index].to_numpy(), child.to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(t["rate"], 100 * t["sessions_unauth"] / t["sessions_possible"])


def test_la_quarter_panel(sim: SimulatedData) -> None:
    lq = sim.la_quarter
    quarters = pd.period_range("2017Q2", "2024Q1", freq="Q")
    assert len(quarters) == 28
    assert len(lq) == len(sim.las) * 28
    assert not lq.duplicated(["la", "quarter"]).any()
    assert set(lq["la"]) == set(sim.las["la_code"])
    assert set(lq["quarter"]) == set(quarters)
    for col in BINARY:
        vals = lq[col].dropna()
        assert vals.between(0, 1).all(), col
    assert lq["unauth_absence_rate"].dropna().between(0, 100).all()
    assert lq["days_cpp_cin_18m"].dropna().between(0, 548).all()
    # national volumes: about 1,000 referrals per LA-quarter on average
    assert 900 < lq["n_referrals"].mean() < 1_200
    # quarters before an LA's first data quarter have no data, all others do
    first = lq["la"].map(sim.las.set_index("la_code")["first_data_quarter"])
    before = lq["quarter"] < first
    assert lq.loc[before, "n_referrals"].isna().all() and lq.loc[before, "looked_after_18m"].isna().all()
    assert lq.loc[~before, "n_referrals"].notna().all()
    assert (lq.loc[~before, "n_looked_after"] <= lq.loc[~before, "n_referrals"]).all()
    treated = set(sim.las.loc[sim.las["treated"], "la_code"])
    assert set(lq.loc[lq["treated"], "la"]) == treated
    war = lq[lq["la"] == "E10000031"].set_index("quarter")
    assert war.at[pd.Period("2021Q2", freq="Q"), "fv"] == 0
    assert war.at[pd.Period("2021Q3", freq="Q"), "fv"] == 1
    assert war.at[pd.Period("2021Q3", freq="Q"), "fv_share"] == 1.0


# ------------------------------------------------------------------------------ truth
def test_truth_schedule(sim: SimulatedData) -> None:
    tr = sim.truth
    assert list(tr.columns) == ["outcome", "event_time_q", "effect", "scale"]
    assert set(tr["outcome"]) == set(OUTCOMES)
    assert (tr.loc[tr["event_time_q"] < 0, "effect"] == 0).all()
    la = tr[tr["outcome"] == "looked_after_18m"].set_index("event_time_q")["effect"]
    assert la[0] == pytest.approx(-0.010, abs=1e-12)
    assert la[2] == pytest.approx(-0.015, abs=1e-12)
    assert la[6] == pytest.approx(-0.025, abs=1e-12)
    assert la[la.index.max()] == pytest.approx(-0.025, abs=1e-12)
    kin = tr[tr["outcome"] == "kinship_first_placement"].set_index("event_time_q")["effect"]
    assert (kin[kin.index >= 0] == 0.02).all()
    assert (tr.loc[tr["outcome"] == "cpp_12m", "effect"] == 0).all()


def test_truth_att_matches_schedule(sim: SimulatedData) -> None:
    c = sim.children
    sel = c["treated_la"] & c["in_trial_period"] & (c["fv"] == 1) & c["looked_after_18m"].notna()
    sel &= c["age_at_referral"] <= 17
    sched = sim.truth[sim.truth["outcome"] == "looked_after_18m"].set_index("event_time_q")["effect"]
    nominal = c.loc[sel, "event_time_q"].astype(int).map(sched).mean()
    att = sim.truth_att("looked_after_18m")
    # per-child effects are proportional to risk p0 / R0 (mean 1 in each cell); with ~6,000
    # treated children the sample mean of p0 / R0 is within a few per cent of 1
    assert att == pytest.approx(nominal, rel=0.08)
    assert sim.truth_att("cpp_12m") == 0.0
    assert sim.truth_att("kinship_first_placement") == pytest.approx(0.02, rel=0.15)
    assert sim.truth_att("looked_after_18m", include_trailblazer=True) < 0
    with pytest.raises(FvdidInputError, match="unknown outcome"):
        sim.truth_att("nope")


def test_zero_effect_config() -> None:
    d = simulate(seed=1, n_children=2_000, effect_la=0.0, effect_growth=0.0, effect_max=0.0,
                 effect_kinship_first_placement=0.0, effect_reunified_18m=0.0)  # fmt: skip
    assert (d.truth["effect"] == 0).all()
    assert (d.child_effects[list(OUTCOMES)].fillna(0) == 0).all().all()


# ------------------------------------------------------------------------------ determinism
def test_same_seed_same_frames(sim: SimulatedData) -> None:
    again = simulate(seed=0, n_children=N)
    for name, df in sim.frames().items():
        pd.testing.assert_frame_equal(df, again.frames()[name], check_exact=True, obj=name)


def test_different_seed_different_frames(sim: SimulatedData) -> None:
    other = simulate(seed=1, n_children=N)
    assert not sim.children["looked_after_18m"].equals(other.children["looked_after_18m"])
    assert not sim.la_quarter["looked_after_18m"].equals(other.la_quarter["looked_after_18m"])


def test_panel_does_not_depend_on_n_children(sim: SimulatedData) -> None:
    small = simulate(seed=0, n_children=1_000)
    pd.testing.assert_frame_equal(sim.la_quarter, small.la_quarter)
    pd.testing.assert_frame_equal(sim.las, small.las)


# ------------------------------------------------------------------------------ configuration
def test_unknown_config_key_raises() -> None:
    with pytest.raises(FvdidInputError, match="effect_lla") as info:
        simulate(seed=0, n_children=100, effect_lla=-0.02)
    assert "effect_la" in str(info.value)  # lists the valid keys
    with pytest.raises(FvdidInputError, match="bogus"):
        SimConfig.from_mapping({"bogus": 1})


def test_bad_config_values_raise() -> None:
    with pytest.raises(FvdidInputError, match="treated_share"):
        SimConfig.from_mapping({"treated_share": 1.5})
    with pytest.raises(FvdidInputError, match="go_live"):
        SimConfig.from_mapping({"go_live": {"E10000031": "July 2021x"}})
    with pytest.raises(FvdidInputError, match="not an English LA code"):
        simulate(seed=0, n_children=100, go_live=[("E99999999", "2021-07")], fgc_lead_months=[3])
    with pytest.raises(FvdidInputError, match="n_children"):
        simulate(seed=0, n_children=0)
    with pytest.raises(FvdidInputError, match="seed"):
        simulate(seed=-1)


def test_config_round_trip_and_overrides() -> None:
    cfg = SimConfig()
    assert SimConfig.from_mapping(cfg.to_dict()) == cfg
    moved = dict(GO_LIVE, E10000031="2021-09")
    d = simulate(seed=0, n_children=2_000, go_live=moved, trailblazer_go_live="2020-06")
    las = d.las.set_index("la_code")
    assert las.at["E10000031", "go_live"] == pd.Period("2021-09", freq="M")
    assert las.at["E06000005", "go_live"] == pd.Period("2020-06", freq="M")
    # trial period follows the go-live dates: six months before the first go-live (2021-09)
    trial = d.children[d.children["in_trial_period"]]
    assert trial["referral_month"].min() == pd.Period("2021-03", freq="M")
    d2 = simulate(seed=0, n_children=2_000, config={"go_live": moved, "trailblazer_go_live": "2020-06"})
    pd.testing.assert_frame_equal(d.children, d2.children)


def test_write_round_trip(tmp_path) -> None:
    d = simulate(seed=2, n_children=1_500)
    paths = d.write(tmp_path, formats=("parquet", "csv"))
    for name in ("children", "la_quarter", "las", "truth", "absence_terms"):
        assert (tmp_path / f"{name}.parquet").exists() and (tmp_path / f"{name}.csv").exists()
        assert name in paths
    back = pd.read_parquet(tmp_path / "children.parquet")
    strings = ["ethnicity", "ethnicity_major"]  # parquet gives None for missing strings, pandas NaN
    pd.testing.assert_frame_equal(back.drop(columns=strings), d.children.drop(columns=strings))
    pd.testing.assert_frame_equal(back[strings].fillna("NA"), d.children[strings].fillna("NA"))
    lq = pd.read_parquet(tmp_path / "la_quarter.parquet")
    pd.testing.assert_frame_equal(lq, d.la_quarter)
    csv = pd.read_csv(tmp_path / "children.csv")
    assert len(csv) == 1_500 and list(csv.columns) == list(d.children.columns)
    with pytest.raises(FvdidInputError, match="format"):
        d.write(tmp_path, formats=("xlsx",))  # type: ignore[arg-type]
