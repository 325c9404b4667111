"""The analytic sample: every exclusion counted; the 30 % rule; hot-deck multiple imputation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fvdid.stages.prepare import impute_hot_deck, prepare


def _data(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "child_id": np.arange(n),
            "la_code": rng.choice(["E08000026", "E08000021", "E08000014"], n),
            "financial_year": rng.choice(["2021/22", "2022/23"], n),
            "treated_la": rng.integers(0, 2, n).astype(bool),
            "in_trial_period": rng.random(n) > 0.02,
            "age_at_referral": rng.integers(0, 19, n),
            "fsm": rng.integers(0, 2, n).astype(float),
            "n_prev_cpp": rng.poisson(0.3, n).astype(float),
            "looked_after_18m": rng.integers(0, 2, n).astype(float),
        }
    )
    d.loc[rng.random(n) < 0.1, "fsm"] = np.nan
    d.loc[rng.random(n) < 0.4, "n_prev_cpp"] = np.nan
    d.loc[rng.random(n) < 0.03, "looked_after_18m"] = np.nan
    return d


def test_flow_counts_every_exclusion() -> None:
    d = _data()
    p = prepare(d, outcome="looked_after_18m", covariates=["fsm", "n_prev_cpp"], n_imputations=3)
    flow = p.flow
    assert flow["excluded"].sum() + len(p.analytic) == len(d)
    assert flow["remaining"].iloc[-1] == len(p.analytic)
    by_group = flow["excluded_treatment"].sum() + flow["excluded_comparison"].sum()
    assert by_group == flow["excluded"].sum()
    age_step = flow[flow["step"].str.startswith("age")]["excluded"].item()
    in_trial = d[d["in_trial_period"]]
    assert age_step == int((in_trial["age_at_referral"] > 17).sum())
    assert p.analytic["looked_after_18m"].notna().all()


def test_thirty_percent_rule_and_imputation() -> None:
    p = prepare(_data(), outcome="looked_after_18m", covariates=["fsm", "n_prev_cpp", "absent"], n_imputations=4)
    dec = p.missing.set_index("covariate")["decision"]
    assert dec["n_prev_cpp"].startswith("dropped")
    assert dec["fsm"] == "imputed"
    assert dec["absent"] == "absent from extract"
    assert p.covariates == ("fsm",)
    assert len(p.imputed) == 4
    for d in p.imputed:
        assert d["fsm"].notna().all()
        # Observed values are never changed by imputation.
        obs = p.analytic["fsm"].notna()
        assert (d.loc[obs, "fsm"] == p.analytic.loc[obs, "fsm"]).all()
    # Imputations differ from each other (they carry the imputation uncertainty).
    assert not p.imputed[0]["fsm"].equals(p.imputed[1]["fsm"])


def test_hot_deck_draws_within_cells() -> None:
    d = pd.DataFrame(
        {"la_code": ["a"] * 50 + ["b"] * 50, "financial_year": "2021/22", "x": [1.0] * 50 + [0.0] * 50}
    )
    d.loc[[0, 1, 60, 61], "x"] = np.nan
    out = impute_hot_deck(d, ["x"], m=3, seed=1)
    for o in out:
        assert (o.loc[[0, 1], "x"] == 1.0).all() and (o.loc[[60, 61], "x"] == 0.0).all()


def test_deterministic_for_seed() -> None:
    d = _data()
    a = prepare(d, outcome="looked_after_18m", covariates=["fsm"], n_imputations=2, seed=5)
    b = prepare(d, outcome="looked_after_18m", covariates=["fsm"], n_imputations=2, seed=5)
    pd.testing.assert_frame_equal(a.imputed[1], b.imputed[1])
