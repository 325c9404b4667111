"""Tests of fvdid.bacon (pure Python): identities, hand-computed examples, bad input.

Tolerances: 1e-10 for identities that hold exactly in real arithmetic (the decomposition
reproduces the TWFE coefficient, the weights sum to 1); the numbers are O(1)-O(100) and the
computations closed form, so only floating-point rounding (~1e-13 at most) differs. Hand-computed
examples use 1e-12 (small integer inputs, a handful of operations).
"""

from __future__ import annotations

import dataclasses
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from fvdid.bacon import (
    NEVER_TREATED,
    TYPE_ALWAYS,
    TYPE_BOTH,
    TYPE_EARLIER,
    TYPE_LATER,
    TYPE_UNTREATED,
    BaconResult,
    bacon,
    bacon_plot,
)
from fvdid.errors import FvdidInputError
from parity.datasets.bacon import la_quarter_panel

IDENTITY_TOL = 1e-10  # exact identity; floating-point rounding only
HAND_TOL = 1e-12  # small integer examples


def _dummy_ols(df: pd.DataFrame, y: str, d: str, unit: str, time: str, covs=()) -> float:
    """TWFE coefficient by brute force: OLS with unit and period dummies (independent check)."""
    u = pd.get_dummies(df[unit], prefix="u", drop_first=False, dtype=float)
    t = pd.get_dummies(df[time], prefix="t", drop_first=True, dtype=float)
    X = np.column_stack([df[d].to_numpy(float), df[list(covs)].to_numpy(float), u, t])
    beta = np.linalg.lstsq(X, df[y].to_numpy(float), rcond=None)[0]
    return float(beta[0])


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """60 units x 16 periods: never, always, 4 cohorts (one of a single unit)."""
    return la_quarter_panel(
        {3: 10, 6: 12, 7: 1, 12: 15}, n_never=14, n_always=8, seed=7, n_quarters=16
    )


ARGS = {"y": "referral_rate", "treatment": "fv", "unit": "la", "time": "quarter"}
COVS = ("log_child_pop", "deprivation")


# ---------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------


def test_identity_without_covariates(panel: pd.DataFrame) -> None:
    res = bacon(panel, **ARGS)
    t = res.two_by_twos
    assert abs(float((t["weight"] * t["estimate"]).sum()) - res.twfe) < IDENTITY_TOL
    assert abs(res.twfe - _dummy_ols(panel, "referral_rate", "fv", "la", "quarter")) < IDENTITY_TOL
    assert abs(t["weight"].sum() - 1.0) < IDENTITY_TOL
    assert (t["weight"] > 0).all()
    assert np.isnan(res.omega) and np.isnan(res.beta_within) and np.isnan(res.beta_between)


def test_identity_with_covariates(panel: pd.DataFrame) -> None:
    res = bacon(panel, **ARGS, covariates=COVS)
    t = res.two_by_twos
    twfe = _dummy_ols(panel, "referral_rate", "fv", "la", "quarter", COVS)
    assert abs(res.twfe - twfe) < IDENTITY_TOL
    assert abs(t["weight"].sum() - 1.0) < IDENTITY_TOL
    assert abs(float((t["weight"] * t["estimate"]).sum()) - res.beta_between) < IDENTITY_TOL
    combined = res.omega * res.beta_within + (1 - res.omega) * res.beta_between
    assert abs(combined - twfe) < IDENTITY_TOL
    assert 0.0 < res.omega < 1.0


def test_every_pair_once_with_covariates_and_twice_without(panel: pd.DataFrame) -> None:
    plain = bacon(panel, **ARGS)
    cov = bacon(panel, **ARGS, covariates=COVS)
    g = plain.groups
    n_g = len(g)
    n_always = int((g["kind"] == "always").sum())
    n_never = int((g["kind"] == "never").sum())
    n_timing = n_g - n_always - n_never
    # ordered pairs with a timing group as treated: timing x (all other groups)
    assert len(plain.two_by_twos) == n_timing * (n_g - 1)
    assert len(cov.two_by_twos) == n_g * (n_g - 1) // 2
    assert set(plain.two_by_twos["type"]) == {TYPE_UNTREATED, TYPE_EARLIER, TYPE_LATER, TYPE_ALWAYS}
    assert set(cov.two_by_twos["type"]) == {TYPE_UNTREATED, TYPE_ALWAYS, TYPE_BOTH}
    assert plain.params.index.is_unique and cov.params.index.is_unique
    assert f"3:{NEVER_TREATED}" in plain.params.index


def test_row_order_does_not_matter(panel: pd.DataFrame) -> None:
    a = bacon(panel, **ARGS, covariates=COVS)
    b = bacon(panel.sample(frac=1.0, random_state=3), **ARGS, covariates=COVS)
    pd.testing.assert_series_equal(a.params, b.params.loc[a.params.index], atol=IDENTITY_TOL)
    pd.testing.assert_series_equal(a.weights, b.weights.loc[a.weights.index], atol=IDENTITY_TOL)
    assert abs(a.beta_within - b.beta_within) < IDENTITY_TOL


# ---------------------------------------------------------------------------------------------
# Hand-computed examples
# ---------------------------------------------------------------------------------------------


def _long(ys: dict[str, list[float]], first: dict[str, int | None]) -> pd.DataFrame:
    rows = []
    for u, series in ys.items():
        for t, v in enumerate(series, start=1):
            f = first[u]
            rows.append({"u": u, "t": t, "y": v, "d": int(f is not None and t >= f)})
    return pd.DataFrame(rows)


def test_hand_computed_three_groups() -> None:
    # U never treated, k treated from t=2, l from t=4 (periods 1..4).
    df = _long(
        {"U": [1, 2, 3, 4], "k": [2, 5, 6, 7], "l": [0, 1, 2, 8]},
        {"U": None, "k": 2, "l": 4},
    )
    res = bacon(df, y="y", treatment="d", unit="u", time="t")
    tab = res.tidy().set_index("label")
    # k vs U: (6 - 2) - (3 - 1) = 2, weight 1*1*1*3; l vs U: (8 - 1) - (4 - 2) = 5, weight 3*1
    # k vs l on t<4: (5.5 - 2) - (1.5 - 0) = 2, weight 1*2; l vs k on t>=2: (8 - 1.5) - (7 - 5.5)
    # = 5, weight 2*1; weights / 10.
    expected = {
        f"2:{NEVER_TREATED}": (2.0, 0.3, TYPE_UNTREATED),
        f"4:{NEVER_TREATED}": (5.0, 0.3, TYPE_UNTREATED),
        "2:4": (2.0, 0.2, TYPE_EARLIER),
        "4:2": (5.0, 0.2, TYPE_LATER),
    }
    assert set(tab.index) == set(expected)
    for lab, (est, w, typ) in expected.items():
        assert abs(tab.loc[lab, "estimate"] - est) < HAND_TOL
        assert abs(tab.loc[lab, "weight"] - w) < HAND_TOL
        assert tab.loc[lab, "type"] == typ
    assert abs(res.twfe - 3.5) < HAND_TOL
    assert abs(_dummy_ols(df, "y", "d", "u", "t") - 3.5) < HAND_TOL
    summ = res.summary().set_index("type")
    assert list(summ.index) == sorted(summ.index)
    assert abs(summ.loc[TYPE_UNTREATED, "weight"] - 0.6) < HAND_TOL
    assert abs(summ.loc[TYPE_UNTREATED, "avg_est"] - 3.5) < HAND_TOL
    assert abs(summ.loc[TYPE_LATER, "avg_est"] - 5.0) < HAND_TOL


def test_hand_computed_always_treated() -> None:
    # A treated throughout: only ever a comparison ("Later vs Always Treated").
    df = _long(
        {"A": [3, 3, 5, 4], "k": [2, 5, 6, 7], "l": [0, 1, 2, 8]},
        {"A": 1, "k": 2, "l": 4},
    )
    res = bacon(df, y="y", treatment="d", unit="u", time="t")
    tab = res.tidy().set_index("label")
    # k vs A on all t: (6 - 2) - (4 - 3) = 3, weight 1*3; l vs A: (8 - 1) - (4 - 11/3) = 20/3,
    # weight 3*1; k vs l: 2 (weight 2); l vs k: 5 (weight 2); total weight 10.
    assert set(tab.index) == {"2:1", "4:1", "2:4", "4:2"}
    assert (tab.loc[["2:1", "4:1"], "type"] == TYPE_ALWAYS).all()
    assert abs(tab.loc["2:1", "estimate"] - 3.0) < HAND_TOL
    assert abs(tab.loc["4:1", "estimate"] - 20.0 / 3.0) < HAND_TOL
    assert abs(tab.loc["2:1", "weight"] - 0.3) < HAND_TOL
    assert abs(tab.loc["2:4", "weight"] - 0.2) < HAND_TOL
    assert res.groups.set_index("group").loc[1, "kind"] == "always"
    assert abs(res.twfe - _dummy_ols(df, "y", "d", "u", "t")) < HAND_TOL
    assert res.notes  # the always-treated group is announced


def test_goodman_bacon_figure_2_weights() -> None:
    # Goodman-Bacon (2021), Figure 2: T = 100, k treated at 34, l at 85, one untreated unit:
    # weights .365 (k vs U), .222 (l vs U), .278 (k vs l), .135 (l vs k) to 3 decimals.
    rng = np.random.default_rng(1)
    first = {"U": None, "k": 34, "l": 85}
    df = _long({u: list(rng.normal(size=100)) for u in first}, first)
    w = bacon(df, y="y", treatment="d", unit="u", time="t").weights
    exact = {f"34:{NEVER_TREATED}": 2211, f"85:{NEVER_TREATED}": 1344, "34:85": 1683, "85:34": 816}
    for lab, raw in exact.items():
        assert abs(w[lab] - raw / 6054) < HAND_TOL
    assert [round(w[k], 3) for k in exact] == [0.365, 0.222, 0.278, 0.135]


# ---------------------------------------------------------------------------------------------
# Result object
# ---------------------------------------------------------------------------------------------


def test_result_is_frozen_and_serialisable(panel: pd.DataFrame) -> None:
    res = bacon(panel, **ARGS, covariates=COVS)
    assert isinstance(res, BaconResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.twfe = 0.0  # type: ignore[misc]
    d = res.to_dict()
    json.dumps(d)
    assert d["covariates"] == list(COVS)
    assert set(res.tidy().columns) >= {"treated", "untreated", "estimate", "weight", "type"}
    assert list(res.summary().columns[:3]) == ["type", "weight", "avg_est"]
    assert "Goodman-Bacon" in str(res)


def test_plot_returns_figure(panel: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    res = bacon(panel, **ARGS)
    fig = bacon_plot(res)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Weight"
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == len(res.two_by_twos)
    assert isinstance(res.plot(), Figure)
    matplotlib.pyplot.close("all")


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_unbalanced_panel_names_unit_and_period(panel: pd.DataFrame) -> None:
    bad = panel.drop(panel.index[(panel["la"] == "LA005") & (panel["quarter"] == 9)])
    with pytest.raises(FvdidInputError, match=r"unbalanced.*'LA005', 9"):
        bacon(bad, **ARGS)


def test_duplicate_rows(panel: pd.DataFrame) -> None:
    bad = pd.concat([panel, panel.iloc[[3]]])
    with pytest.raises(FvdidInputError, match="duplicate"):
        bacon(bad, **ARGS)


def test_missing_value_names_unit_and_period(panel: pd.DataFrame) -> None:
    bad = panel.copy()
    bad.loc[(bad["la"] == "LA010") & (bad["quarter"] == 4), "deprivation"] = np.nan
    bacon(bad, **ARGS)  # an unused column may be missing
    with pytest.raises(FvdidInputError, match=r"'deprivation'.*'LA010', 4"):
        bacon(bad, **ARGS, covariates=COVS)
    bad2 = panel.copy()
    bad2.loc[(bad2["la"] == "LA011") & (bad2["quarter"] == 2), "referral_rate"] = np.nan
    with pytest.raises(FvdidInputError, match=r"'referral_rate'.*'LA011', 2"):
        bacon(bad2, **ARGS)


def test_treatment_switching_off(panel: pd.DataFrame) -> None:
    bad = panel.copy()
    treated_late = bad.loc[(bad["fv"] == 1) & (bad["quarter"] == 10), "la"].iloc[0]
    bad.loc[(bad["la"] == treated_late) & (bad["quarter"] == 11), "fv"] = 0
    with pytest.raises(FvdidInputError, match=rf"switches off.*'{treated_late}', 11"):
        bacon(bad, **ARGS)


def test_treatment_not_binary(panel: pd.DataFrame) -> None:
    bad = panel.copy()
    bad.loc[(bad["la"] == "LA001") & (bad["quarter"] == 16), "fv"] = 2
    with pytest.raises(FvdidInputError, match=r"0/1.*'LA001', 16"):
        bacon(bad, **ARGS)


def test_other_bad_input(panel: pd.DataFrame) -> None:
    with pytest.raises(FvdidInputError, match="no column"):
        bacon(panel, **ARGS, covariates=["nope"])
    as_text = panel.assign(quarter=panel["quarter"].map(lambda q: f"Q{q:02d}"))
    with pytest.raises(FvdidInputError, match="numeric"):
        bacon(as_text, **ARGS)
    never = panel.assign(fv=0)
    with pytest.raises(FvdidInputError, match="no variation"):
        bacon(never, **ARGS)
    with pytest.raises(FvdidInputError, match="distinct"):
        bacon(panel, **ARGS, covariates=["fv"])
