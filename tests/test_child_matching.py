"""The individual-level matching stage (fvdid.stages.child_matching): pure-Python checks.

Tolerances: 1e-9 relative on sums of a few thousand CEM weights (ratios of small integers; only
double rounding differs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import fvdid
from fvdid.errors import FvdidInputError
from fvdid.stages.child_matching import (
    PROTOCOL_COVARIATES,
    balance_plot,
    coarsen_children,
    match_children,
)

LAS = ["E08000001", "E08000002", "E08000003", "E08000004", "E08000005"]
GO_LIVE = {"E08000001": pd.Period("2021-07", "M"), "E08000002": pd.Period("2021-11", "M")}


def synthetic(n: int = 12000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    la = rng.choice(LAS, n)
    start = pd.Timestamp("2019-04-01")
    date = start + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    fy_start = np.where(date.month >= 4, date.year, date.year - 1)
    fy = [f"{y}/{(y + 1) % 100:02d}" for y in fy_start]
    treated_la = np.isin(la, list(GO_LIVE))
    return pd.DataFrame(
        {
            "child_id": [f"C{i:07d}" for i in range(n)],
            "la_code": la,
            "referral_date": date,
            "financial_year": fy,
            "treated_la": treated_la,
            "gender": rng.choice([0, 1, 2, 3, 4], n, p=[0.02, 0.48, 0.46, 0.01, 0.03]),
            "age_at_referral": np.clip(np.round(rng.gamma(2 + 0.5 * treated_la, 3)), 0, 17),
            "ethnicity_major": rng.choice(
                np.array(["White", "Mixed", "Asian", "Black", "Other", None], dtype=object),
                n,
                p=[0.7, 0.07, 0.1, 0.07, 0.04, 0.02],
            ),
            "disabled": rng.binomial(1, 0.06, n).astype(float),
            "fsm": rng.binomial(1, 0.3, n).astype(float),
            "uasc": rng.binomial(1, 0.02, n),
            "prior_cpp": np.where(rng.random(n) < 0.05, np.nan, rng.binomial(1, 0.1, n)),
        }
    )


PAIRS = pd.DataFrame(
    {
        # E08000003 serves both treatment LAs: matching with replacement
        "treated_la": ["E08000001", "E08000001", "E08000002"],
        "comparator_la": ["E08000003", "E08000004", "E08000003"],
    }
)


@pytest.fixture(scope="module")
def children() -> pd.DataFrame:
    return synthetic()


@pytest.fixture(scope="module")
def result(children: pd.DataFrame):
    return match_children(children, PAIRS, go_live=GO_LIVE)


def test_long_frame_and_pair_summary(children: pd.DataFrame, result) -> None:
    m = result.matches
    for col in ("pair_id", "treated_la", "comparator_la", "child_id", "treated", "stratum",
                "weight", "matched"):
        assert col in m.columns
    # one row per pair x child; the shared comparator's children appear in two pairs
    n_per_la = children["la_code"].value_counts()
    expected = sum(n_per_la[t] + n_per_la[c] for t, c in PAIRS.itertuples(index=False))
    assert len(m) == expected
    shared = children.loc[children["la_code"] == "E08000003", "child_id"]
    assert (m.loc[m["child_id"].isin(shared), "pair_id"].value_counts().sort_index().index.tolist()
            == [1, 3])
    p = result.pairs
    assert p["pair_id"].tolist() == [1, 2, 3]
    assert (p["level"] == "financial_year").all()  # default loss threshold not reached here
    assert ((p["l1_after"] >= 0) & (p["l1_after"] <= 1)).all()
    assert 0 < result.share_treated_matched <= 1
    assert 0 < result.share_matched <= 1
    assert "ChildMatchResult" in result.summary()


def test_weights_invariants(result) -> None:
    m = result.matches
    t = m["treated"] == 1
    assert (m.loc[t & m["matched"], "weight"] == 1).all()
    assert (m.loc[~m["matched"], "weight"] == 0).all()
    n_mc = int((~t & m["matched"]).sum())
    assert m.loc[~t, "weight"].sum() == pytest.approx(n_mc, rel=1e-9)
    # exact on pair and year: every stratum lies within one pair and one cell
    per = m[m["matched"]].groupby("stratum")[["pair_id", "cell"]].nunique()
    assert (per == 1).all().all()
    # within a stratum both groups are present
    both = m[m["matched"]].groupby("stratum")["treated"].nunique()
    assert (both == 2).all()


def test_fallback_to_period(children: pd.DataFrame) -> None:
    res = match_children(children, PAIRS, go_live=GO_LIVE, fallback_loss=0.0)
    assert (res.pairs["level"] == "period").all()
    assert set(res.matches["cell"]) == {"pre", "post"}
    assert any("period" in n for n in res.notes)
    base = match_children(children, PAIRS, go_live=GO_LIVE)
    # pre/post is coarser than the financial year: nobody matched by year is lost
    assert res.share_treated_matched >= base.share_treated_matched
    direct = match_children(children, PAIRS, go_live=GO_LIVE, by="period")
    pd.testing.assert_frame_equal(direct.matches, res.matches)


def test_period_needs_go_live(children: pd.DataFrame) -> None:
    with pytest.raises(FvdidInputError, match="go-live"):
        match_children(children, PAIRS, by="period")


def test_gender_missing_is_its_own_level() -> None:
    d = synthetic(400, seed=3)
    d["gender"] = np.where(d["la_code"].isin(list(GO_LIVE)), 4, 0)
    res = match_children(d, PAIRS.iloc[:1], go_live=GO_LIVE)
    assert res.share_matched == 0.0  # 4 (missing) is never merged with 0 (not recorded)
    coarse = coarsen_children(d)
    assert coarse["gender"].isna().sum() == (d["gender"] == 4).sum()


def test_age_bands() -> None:
    d = pd.DataFrame({c: [0] * 6 for c in PROTOCOL_COVARIATES})
    d["age_at_referral"] = [0, 3, 3.9, 4, 12.5, 13]
    assert coarsen_children(d)["age_at_referral"].tolist() == ["0-3", "0-3", "0-3", "4-12",
                                                               "4-12", "13+"]


def test_balance_plot(result) -> None:
    fig = balance_plot(result)
    assert isinstance(fig, Figure)
    b = result.balance
    assert set(b["covariate"]) == set(PROTOCOL_COVARIATES)
    # the protocol coarsening is categorical, so CEM balances every level exactly
    assert np.abs(b["smd_after"]).max() < 1e-9


def test_bad_input(children: pd.DataFrame) -> None:
    with pytest.raises(FvdidInputError, match="E09999999"):
        match_children(children, pd.DataFrame({"treated_la": ["E08000001"],
                                               "comparator_la": ["E09999999"]}))
    with pytest.raises(FvdidInputError, match="fsm"):
        match_children(children.drop(columns="fsm"), PAIRS)
    with pytest.raises(FvdidInputError, match="by"):
        match_children(children, PAIRS, by="year")  # type: ignore[arg-type]
    bad = children.copy()
    bad.loc[bad.index[:3], "gender"] = 7
    with pytest.raises(FvdidInputError, match="gender"):
        match_children(bad, PAIRS)


def test_on_simulated_data() -> None:
    sim = fvdid.simulate(seed=3, n_children=20000)
    las = sim.las
    treated = las.loc[las["treated"].astype(bool), "la_code"].tolist()
    have = set(sim.children["la_code"])
    rows = []
    for t in treated:
        twins = las.loc[las["dgp_twin_of"] == t, "la_code"]
        comps = [c for c in twins if c in have][:2]
        rows += [(t, c) for c in comps]
    pairs = pd.DataFrame(rows, columns=["treated_la", "comparator_la"])
    assert len(pairs) > 0
    res = match_children(sim.children, pairs, go_live=las[["la_code", "go_live"]])
    assert len(res.pairs) == len(pairs)
    assert res.matches["weight"].ge(0).all()
    assert 0 < res.share_treated_matched <= 1
    assert set(res.pairs["level"]) <= {"financial_year", "period"}
