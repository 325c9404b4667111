"""The common-shock test (issue 19 point 13): the shocks table of an extract, and the test's
direction, size and power on the simulator's named shocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fvdid.config import RunConfig
from fvdid.errors import FvdidInputError
from fvdid.io import load_extract, validate_shocks
from fvdid.pipeline import simulated_extract
from fvdid.simulation import simulate
from fvdid.stages.la_matching import run_la_matching
from fvdid.stages.sensitivity_shocks import SHOCK_COLUMNS, shock_tests

COVID = {"name": "covid", "start": "2020-04", "mean": -0.05, "sd": None}


def _reform(diff: float) -> dict:
    # A shock after the first go-lives, inside the trial period, hitting the primary outcome.
    return {"name": "reform", "start": "2022-10", "mean": 0.0, "sd": 0.1, "treated_differential": diff}


def _interaction(seed: int, diff: float, n: int, pairs: pd.DataFrame | None = None) -> tuple[pd.Series, pd.DataFrame]:
    cfg = RunConfig(seed=seed, n_children=n)
    sim = simulate(seed=seed, n_children=n, shocks=[COVID, _reform(diff)])
    ex, _ = simulated_extract(cfg, sim)
    o = cfg.primary_outcome
    if pairs is None:
        lam = run_la_matching(ex.la_quarter, ex.las, outcomes=[o], config=cfg, figures=False)
        pairs = lam.pairs[lam.pairs["outcome"] == o]
    c = ex.children
    data = c[c["in_trial_period"].astype(bool) & c[o].notna()]
    tab, _ = shock_tests(data, ex.las, sim.shocks[["la_code", "shock", "date"]], outcome=o,
                         pairs=pairs, terms=[])
    return tab.set_index("shock").loc["reform"], pairs


def test_differential_shock_gives_larger_interaction() -> None:
    """Same seed, same draws (the shock stream is separate): only the treatment LAs' extra
    response differs, and the FV × shock interaction grows with it."""
    null, pairs = _interaction(1, 0.0, 20_000)
    alt, _ = _interaction(1, 0.8, 20_000, pairs)
    assert null["result"] == "tested" and alt["result"] == "tested"
    assert alt["estimate"] > null["estimate"]
    assert alt["estimate"] > 0  # the extra response raises the treatment LAs' looked-after rate
    assert alt["LAs"] == null["LAs"] == len(set(pairs["treated_la"]) | set(pairs["comparator_la"]))
    assert alt["df"] == alt["LAs"] - 1  # t(G - 1)


def test_shock_tests_empty_without_table() -> None:
    tab, notes = shock_tests(pd.DataFrame(), pd.DataFrame(), None, outcome="y",
                             pairs=pd.DataFrame(), terms=[])
    assert list(tab.columns) == SHOCK_COLUMNS and tab.empty and notes == []


@pytest.mark.slow
def test_shock_test_size_and_power() -> None:
    """Five seeds: without a differential the test rejects at most once at the 5 % level
    (P(two or more of five) = 0.023 for a correctly sized test); with a large differential
    (1.5 on the logit scale) it rejects at least four times (five of five seen when written;
    with 0.8 it rejected two of five: five pairs give the test little power)."""
    p_null, p_alt = [], []
    for seed in range(5):
        null, pairs = _interaction(seed, 0.0, 20_000)
        alt, _ = _interaction(seed, 1.5, 20_000, pairs)
        p_null.append(null["p_value"])
        p_alt.append(alt["p_value"])
    assert sum(p < 0.05 for p in p_null) <= 1, p_null
    assert sum(p < 0.05 for p in p_alt) >= 4, p_alt


# --- the shocks table of an extract --------------------------------------------------------------


@pytest.fixture(scope="module")
def las() -> pd.DataFrame:
    ex, _ = simulated_extract(RunConfig(seed=0, n_children=5_000))
    return ex.las


def test_validate_shocks_parses_months(las: pd.DataFrame) -> None:
    codes = las["la_code"].iloc[:2].tolist()
    out = validate_shocks(pd.DataFrame({"la_code": codes, "shock": ["scr", "scr"],
                                        "date": ["2022-10", "2022-11-15"], "response": ["0.5", 1]}), las)
    assert [str(p) for p in out["date"]] == ["2022-10", "2022-11"]
    assert out["response"].tolist() == [0.5, 1.0]


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("la_code", "E09999999", "an LA of the las table"),
    ("date", "soon", "a month such as 2022-10"),
    ("response", "big", "a finite number"),
    ("shock", None, "a shock name"),
])
def test_validate_shocks_names_rows(las: pd.DataFrame, column: str, value: object, expected: str) -> None:
    codes = las["la_code"].iloc[:3].tolist()
    df = pd.DataFrame({"la_code": codes, "shock": ["scr"] * 3, "date": ["2022-10"] * 3, "response": [0.1] * 3})
    df[column] = df[column].astype(object)
    df.loc[1, column] = value
    with pytest.raises(FvdidInputError, match=rf"shocks: column '{column}'.*row 2.*{expected}"):
        validate_shocks(df, las)


def test_validate_shocks_duplicates_and_columns(las: pd.DataFrame) -> None:
    code = las["la_code"].iloc[0]
    with pytest.raises(FvdidInputError, match="one row per LA and shock"):
        validate_shocks(pd.DataFrame({"la_code": [code, code], "shock": ["a", "a"],
                                      "date": ["2022-10", "2022-11"]}), las)
    with pytest.raises(FvdidInputError, match=r"missing required column\(s\) \['date'\]"):
        validate_shocks(pd.DataFrame({"la_code": [code], "shock": ["a"]}), las)


def test_load_extract_reads_optional_shocks(tmp_path: Path) -> None:
    sim = simulate(seed=0, n_children=3_000)
    sim.write(tmp_path, formats=("csv",))
    assert load_extract(tmp_path).shocks is None
    bad = sim.shocks[["la_code", "shock", "date"]].astype(str)
    bad.loc[2, "date"] = "not a month"
    bad.to_csv(tmp_path / "shocks.csv", index=False)
    with pytest.raises(FvdidInputError, match=r"shocks: column 'date'.*line 4 of shocks\.csv"):
        load_extract(tmp_path)
    sim.shocks[["la_code", "shock", "date"]].astype(str).to_csv(tmp_path / "shocks.csv", index=False)
    got = load_extract(tmp_path).shocks
    assert got is not None and len(got) == len(sim.shocks)
    assert isinstance(got["date"].dtype, pd.PeriodDtype)
    assert np.all(got["date"].astype(str).to_numpy() == sim.shocks["date"].astype(str).to_numpy())
