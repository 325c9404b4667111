"""Pure-Python tests of fvdid.aggte: aggregation invariants, windows, bad input.

Each aggregate is a weighted average of ATT(g,t) with weights P(G=g) among the cells it uses;
these tests rebuild the averages from the public AttGtResult and check fvdid against them.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from fvdid.aggte import aggte
from fvdid.att_gt import AttGtResult, att_gt
from fvdid.errors import FvdidInputError

matplotlib.use("Agg")

# weighted averages recomputed here in another summation order: rounding only
CLOSED = 1e-12


def _panel(n: int = 600, periods=(1, 2, 3, 4, 5), cohorts=(0, 3, 4, 5), seed: int = 0):
    rng = np.random.default_rng(seed)
    coh = rng.choice(np.array(cohorts), size=n)
    x = rng.normal(size=n)
    rows = []
    for t in periods:
        eff = np.where((coh > 0) & (t >= coh), 1.0 + 0.5 * (t - coh), 0.0)
        yv = 0.3 * t + 0.2 * t * x + eff + rng.normal(size=n)
        rows.append(pd.DataFrame({"id": np.arange(n), "t": t, "g": coh, "y": yv, "x": x}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def res() -> AttGtResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return att_gt(_panel(), y="y", time="t", cohort="g", unit="id", covariates=("x",))


def _cells(res: AttGtResult) -> pd.DataFrame:
    t = res.table.copy()
    t["pg"] = t["group"].map(res.group_probs)
    t["e"] = t["time"] - t["group"]
    return t


def test_simple_is_pg_weighted_average_of_post_cells(res: AttGtResult) -> None:
    t = _cells(res)
    post = t[t["group"] <= t["time"]]
    expected = np.sum(post["att"] * post["pg"]) / post["pg"].sum()
    ag = aggte(res, "simple")
    assert ag.overall_att == pytest.approx(expected, abs=CLOSED)
    assert ag.table.empty
    # the SE is the root mean square of the aggregated influence function over n
    se = np.sqrt(np.mean(ag.overall_influence**2) / res.n_units)
    assert ag.overall_se == pytest.approx(se, rel=CLOSED)


def test_dynamic_event_times_and_overall(res: AttGtResult) -> None:
    t = _cells(res)
    ag = aggte(res, "dynamic")
    assert list(ag.table["event_time"]) == sorted(t["e"].unique())
    for _, row in ag.table.iterrows():
        c = t[t["e"] == row["event_time"]]
        assert row["att"] == pytest.approx(np.sum(c["att"] * c["pg"]) / c["pg"].sum(), abs=CLOSED)
    pos = ag.table[ag.table["event_time"] >= 0]
    assert ag.overall_att == pytest.approx(pos["att"].mean(), abs=CLOSED)
    se = np.sqrt(np.mean(ag.influence**2, axis=0) / res.n_units)
    np.testing.assert_allclose(ag.table["se"], se, rtol=CLOSED)


def test_group_and_calendar(res: AttGtResult) -> None:
    t = _cells(res)
    ag = aggte(res, "group")
    for _, row in ag.table.iterrows():
        c = t[(t["group"] == row["group"]) & (t["time"] >= row["group"])]
        assert row["att"] == pytest.approx(c["att"].mean(), abs=CLOSED)
    pg = res.group_probs.to_numpy()
    assert ag.overall_att == pytest.approx(np.sum(ag.table["att"] * pg) / pg.sum(), abs=CLOSED)
    cal = aggte(res, "calendar")
    assert list(cal.table["period"]) == [3, 4, 5]
    for _, row in cal.table.iterrows():
        c = t[(t["time"] == row["period"]) & (t["group"] <= row["period"])]
        assert row["att"] == pytest.approx(np.sum(c["att"] * c["pg"]) / c["pg"].sum(), abs=CLOSED)
    assert cal.overall_att == pytest.approx(cal.table["att"].mean(), abs=CLOSED)


def test_single_group_weight_term_vanishes() -> None:
    # with one treated group every aggregation weight is 1/K: the weight-estimation term is zero
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = att_gt(_panel(cohorts=(0, 3)), y="y", time="t", cohort="g", unit="id")
    ag = aggte(r, "simple")
    post = r.table["post"].to_numpy()
    phi = r.influence[:, post].mean(axis=1)
    assert ag.overall_se == pytest.approx(np.sqrt(np.mean(phi**2) / r.n_units), rel=1e-10)
    grp = aggte(r, "group")
    assert grp.overall_att == pytest.approx(
        grp.table.set_index("group").loc[3, "att"], abs=CLOSED
    )


def test_windows_and_balance(res: AttGtResult) -> None:
    ag = aggte(res, "dynamic", min_e=-1, max_e=1)
    assert list(ag.table["event_time"]) == [-1, 0, 1]
    full = aggte(res, "dynamic")
    # the window only selects event times: the kept estimates are unchanged
    f = full.table.set_index("event_time")
    for _, row in ag.table.iterrows():
        assert row["att"] == pytest.approx(f.loc[row["event_time"], "att"], abs=CLOSED)
    bal = aggte(res, "dynamic", balance_e=1)
    # only groups observed at least one period after treatment (3 and 4; period 5 is last)
    t = _cells(res)
    c = t[(t["e"] == 0) & (t["group"] <= 4)]
    row0 = bal.table.set_index("event_time").loc[0]
    assert row0["att"] == pytest.approx(np.sum(c["att"] * c["pg"]) / c["pg"].sum(), abs=CLOSED)
    assert bal.table["event_time"].max() == 1
    s = aggte(res, "simple", max_e=0)
    c = t[t["e"] == 0]
    assert s.overall_att == pytest.approx(np.sum(c["att"] * c["pg"]) / c["pg"].sum(), abs=CLOSED)


def test_bootstrap_bands(res: AttGtResult) -> None:
    ag = aggte(res, "dynamic", bootstrap=True, cband=True, seed=4)
    assert ag.cband and ag.crit_val >= 1.959963984540054
    width = ag.table["conf_high"] - ag.table["att"]
    np.testing.assert_allclose(width, ag.crit_val * ag.table["se"], rtol=CLOSED)
    an = aggte(res, "dynamic")
    # B = 1000 (att_gt default B): IQR-based SE relative sd about 3.7%; 20% band
    np.testing.assert_allclose(ag.table["se"], an.table["se"], rtol=0.2)


def test_missing_cells_and_bad_type(res: AttGtResult) -> None:
    with pytest.raises(FvdidInputError, match="type"):
        aggte(res, "weird")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = att_gt(_panel(), y="y", time="t", cohort="g", unit="id", base_period="universal")
    # universal base: the normalised cells have no SE but an ATT of 0: aggregation works
    ag = aggte(r, "dynamic")
    assert ag.table.set_index("event_time").loc[-1, "att"] == 0.0


def test_outputs(res: AttGtResult) -> None:
    ag = aggte(res, "dynamic")
    assert list(ag.table.columns) == ["event_time", "att", "se", "conf_low", "conf_high"]
    assert ag.tidy()["term"].iloc[0] == "overall"
    assert "dynamic" in ag.summary()
    assert ag.params.index[0] == "overall"
    fig = ag.plot()
    assert fig.axes
    assert ag.to_dict()["type"] == "dynamic"
    with pytest.raises(FvdidInputError):
        aggte(res, "simple").plot()


@pytest.mark.parametrize(
    ("typ", "window"),
    [
        ("simple", {"max_e": -1}),
        ("dynamic", {"max_e": -1}),
        ("dynamic", {"min_e": 50}),
        ("group", {"max_e": -1}),
    ],
)
def test_impossible_window_raises(res: AttGtResult, typ: str, window: dict) -> None:
    with pytest.raises(FvdidInputError, match=r"max_e|min_e"):
        aggte(res, typ, **window)  # type: ignore[arg-type]


def _group_overall_if(res: AttGtResult, ag, *, by_group: bool) -> np.ndarray:
    # overall = sum_g p_g att_g / sum_g p_g with p_g = mean(w 1{G=g}); its influence function is
    # sum_g (p_g/S) IF_g + sum_g (att_g - overall) (w 1{G=g} - p_g) / S. did 2.1.2 used the
    # cohort of the k-th ATT(g,t) cell instead of the k-th group in the indicator.
    glist = np.array(res.groups, dtype=float)
    pg = np.array([np.mean(res.unit_weights * (res.unit_cohort == g)) for g in glist])
    s = pg.sum()
    att_g = ag.table.set_index("group").loc[glist, "att"].to_numpy()
    overall = float(np.sum(pg * att_g) / s)
    cohorts = glist if by_group else res.table["group"].to_numpy(dtype=float)[: glist.size]
    phi = ag.influence @ (pg / s)
    for k in range(glist.size):
        ind = res.unit_weights * (res.unit_cohort == cohorts[k]) - pg[k]
        phi = phi + (att_g[k] - overall) * ind / s
    return phi


def test_group_overall_se_uses_the_group_indicator(res: AttGtResult) -> None:
    new = aggte(res, "group")
    old = aggte(res, "group", compat="did-2.1.2")
    for ag, by_group in ((new, True), (old, False)):
        phi = _group_overall_if(res, ag, by_group=by_group)
        assert ag.overall_se == pytest.approx(np.sqrt(np.mean(phi**2) / res.n_units), rel=CLOSED)
    assert new.overall_att == old.overall_att
    assert abs(new.overall_se / old.overall_se - 1) > 1e-4  # the two terms really differ here
    pd.testing.assert_frame_equal(new.table, old.table)
    with pytest.raises(FvdidInputError, match="compat"):
        aggte(res, "group", compat="did-2.0")  # type: ignore[arg-type]
