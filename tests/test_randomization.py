"""Tests of fvdid.randomization_test: brute-force enumeration, sampling, test inversion, FP."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from fvdid import ols, randomization_test
from fvdid.errors import FvdidInputError

LAS = [f"LA{i}" for i in range(1, 9)]
T = 6


def _panel(las: list[str], go: dict[str, int], effect: float = 0.5, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(las)
    size = rng.integers(20, 400, n)
    y = rng.normal(0, 1, n)[:, None] + 0.1 * np.arange(T)[None, :]
    y = y + rng.normal(size=(n, T)) / np.sqrt(size)[:, None] * 5
    out = pd.DataFrame(y, index=pd.Index(las, name="la"), columns=range(1, T + 1))
    for la, g in go.items():
        out.loc[la, g:] += effect
    out.attrs["size"] = dict(zip(las, size.tolist()))
    return out


def _D(las: list[str], go: dict[str, int], assignment: object) -> np.ndarray:
    D = np.zeros((len(las), T))
    pairs = assignment.items() if isinstance(assignment, dict) else ((s, s) for s in assignment)
    for slot, la in pairs:
        D[las.index(la), go[slot] - 1 :] = 1.0
    return D


def _twfe(Y: np.ndarray, D: np.ndarray) -> tuple[float, float]:
    """Balanced two-way FE DiD with a cluster-by-LA standard error (closed form)."""

    def dm(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()

    yt, dt = dm(Y), dm(D)
    sxx = float((dt**2).sum())
    b = float((yt * dt).sum()) / sxx
    u = yt - b * dt
    se = math.sqrt(float((((dt * u).sum(axis=1)) ** 2).sum())) / sxx
    return b, se


def _stat_factory(panel: pd.DataFrame, go: dict[str, int], sets: bool = False):
    las = list(panel.index)
    Y = panel.to_numpy()
    D_act = _D(las, go, {s: s for s in go} if not sets else frozenset(go))

    def stat(assignment: object, r: float) -> tuple[float, float]:
        Da = _D(las, go, assignment)
        return _twfe(Y - r * D_act + r * Da, Da)

    return stat


def _brute_p(t0: float, ts: list[float]) -> float:
    # independent restatement of the convention: share of all assignments with |t*| >= |t|
    return sum(abs(t) >= abs(t0) * (1 - 1e-12) for t in ts) / len(ts)


def test_full_enumeration_matches_brute_force_distinct_dates() -> None:
    go = {"LA1": 3, "LA2": 5}
    panel = _panel(LAS, go)
    stat = _stat_factory(panel, go)
    res = randomization_test(stat, list(go), LAS, go_live=go, conf_int=False)
    ts = {}
    for a, b in itertools.permutations(LAS, 2):  # distinct dates: ordered pairs are distinct
        e, s = stat({"LA1": a, "LA2": b}, 0.0)
        ts[f"LA1->{a}; LA2->{b}"] = e / s
    t0 = ts["LA1->LA1; LA2->LA2"]
    assert res.enumerated and res.n_assignments == 56 and res.n_evaluated == 56
    assert res.p_value == _brute_p(t0, list(ts.values()))  # exact: the same count over 56
    assert res.statistic == t0
    got = res.statistics["statistic"]
    assert set(got.index) == set(ts)
    for lab, t in ts.items():
        assert got[lab] == t  # the same computation, to the last digit
    assert bool(res.statistics.loc["LA1->LA1; LA2->LA2", "actual"])


def test_full_enumeration_shared_dates_counts_each_assignment_once() -> None:
    go = {"LA1": 3, "LA2": 3, "LA3": 5}
    panel = _panel(LAS, go, seed=5)
    stat = _stat_factory(panel, go)
    res = randomization_test(stat, list(go), LAS, go_live=go, conf_int=False)
    seen: dict[tuple[frozenset[str], str], float] = {}
    for a, b, c in itertools.permutations(LAS, 3):
        key = (frozenset((a, b)), c)  # LA1 and LA2 share a date: order within is irrelevant
        if key not in seen:
            e, s = stat({"LA1": a, "LA2": b, "LA3": c}, 0.0)
            seen[key] = e / s
    t0 = seen[(frozenset(("LA1", "LA2")), "LA3")]
    assert res.n_assignments == len(seen) == math.comb(8, 2) * 6
    # the same statistic up to rounding: the dict may list the shared-date pair the other way
    assert res.statistic == pytest.approx(t0, rel=1e-12)  # summation order of symmetric slots
    assert res.p_value == _brute_p(t0, list(seen.values()))


def test_full_enumeration_sets_without_dates() -> None:
    go = {"LA2": 4, "LA5": 4}
    panel = _panel(LAS, go, seed=7)
    las, Y = list(panel.index), panel.to_numpy()
    D_act = _D(las, go, frozenset(go))

    def stat(assignment: object, r: float) -> tuple[float, float]:
        assert isinstance(assignment, frozenset)
        Da = np.zeros_like(Y)
        for la in assignment:
            Da[las.index(la), 3:] = 1.0
        return _twfe(Y - r * D_act + r * Da, Da)

    res = randomization_test(stat, ["LA2", "LA5"], LAS, conf_int=False)
    ts = [stat(frozenset(c), 0.0) for c in itertools.combinations(LAS, 2)]
    t0 = stat(frozenset(go), 0.0)
    assert res.n_assignments == 28 and res.enumerated
    assert res.p_value == _brute_p(t0[0] / t0[1], [e / s for e, s in ts])
    assert "LA2+LA5" in res.statistics.index


def test_random_sampling_reproducible_and_without_duplicates() -> None:
    las = [f"LA{i}" for i in range(1, 15)]
    go = {"LA1": 2, "LA2": 4, "LA3": 5}
    panel = _panel(las, go, seed=11)
    stat = _stat_factory(panel, go)
    kw = dict(go_live=go, B=300, conf_int=False)
    r1 = randomization_test(stat, list(go), las, seed=42, **kw)
    r2 = randomization_test(stat, list(go), las, seed=42, **kw)
    r3 = randomization_test(stat, list(go), las, seed=43, **kw)
    assert not r1.enumerated and r1.n_assignments == 14 * 13 * 12 and r1.n_evaluated == 301
    pd.testing.assert_frame_equal(r1.statistics, r2.statistics)
    assert r1.p_value == r2.p_value
    assert list(r1.statistics.index) != list(r3.statistics.index)
    assert r1.statistics.index.is_unique
    assert int(r1.statistics["actual"].sum()) == 1
    s = r1.statistics["statistic"]
    others = s[~r1.statistics["actual"]]
    expect = (1 + int((others.abs() >= abs(r1.statistic) * (1 - 1e-12)).sum())) / (1 + 300)
    assert r1.p_value == expect


def test_enumerates_when_B_covers_every_assignment() -> None:
    go = {"LA1": 3, "LA2": 5}
    stat = _stat_factory(_panel(LAS, go), go)
    res = randomization_test(stat, list(go), LAS, go_live=go, B=100, enumerate_max=10,
                             conf_int=False)
    assert res.enumerated and res.n_evaluated == 56
    assert any("enumerated" in n for n in res.notes)


def test_conf_int_inversion_consistent_with_p_values() -> None:
    go = {"LA1": 3, "LA2": 5}
    panel = _panel(LAS, go, effect=1.0)
    stat = _stat_factory(panel, go)
    res = randomization_test(stat, list(go), LAS, go_live=go, alpha=0.1)
    assert res.conf_int is not None
    lo, hi = res.conf_int
    assert lo < res.estimate < hi
    grid = res.ci_grid.set_index("r")["p_value"]
    accepted = grid[grid > 0.1]
    assert accepted.index.min() == lo and accepted.index.max() == hi
    # just outside each end (the last bisection bracket) the null is rejected
    below = grid[grid.index < lo]
    above = grid[grid.index > hi]
    assert below.iloc[-1] <= 0.1 and above.iloc[0] <= 0.1
    width = hi - lo
    assert lo - below.index[-1] < 1e-3 * width and above.index[0] - hi < 1e-3 * width
    # a fresh test at the interval's end gives the p-value the inversion recorded
    at_lo = randomization_test(stat, list(go), LAS, go_live=go, null=lo, conf_int=False)
    assert at_lo.p_value == grid[lo] and at_lo.p_value > 0.1


def test_assume_linear_equals_direct_evaluation() -> None:
    go = {"LA1": 3, "LA2": 5}
    stat = _stat_factory(_panel(LAS, go, effect=0.7), go)
    direct = randomization_test(stat, list(go), LAS, go_live=go)
    fast = randomization_test(stat, list(go), LAS, go_live=go, assume_linear=True)
    assert direct.p_value == fast.p_value
    assert direct.conf_int is not None and fast.conf_int is not None
    # interpolated statistics differ from direct ones by rounding only (1e-15 relative); the
    # bisection takes the same branches, so the ends agree to rounding
    assert fast.conf_int == pytest.approx(direct.conf_int, rel=1e-12)


def test_with_fvdid_ols_statistic() -> None:
    go = {"LA1": 3, "LA2": 5}
    panel = _panel(LAS, go, effect=0.7)
    long = panel.stack().rename("y").reset_index().rename(columns={"level_1": "period"})
    long.columns = ["la", "period", "y"]
    go_d = go

    def D(assign: dict[str, str]) -> np.ndarray:
        out = np.zeros(len(long))
        for slot, la in assign.items():
            out += ((long["la"] == la) & (long["period"] >= go_d[slot])).to_numpy()
        return out

    d_act = D({k: k for k in go})

    def stat(a: dict[str, str], r: float) -> tuple[float, float]:
        da = D(a)
        f = ols("yr ~ d | la + period", long.assign(d=da, yr=long["y"] - r * d_act + r * da),
                vcov="CR1", cluster="la")
        return float(f.params["d"]), float(f.std_errors["d"])

    res = randomization_test(stat, list(go), LAS, go_live=go, assume_linear=True)
    fit = ols("y ~ d | la + period", long.assign(d=d_act), vcov="CR1", cluster="la")
    assert res.estimate == pytest.approx(float(fit.params["d"]), rel=1e-12)  # same fit
    assert res.statistic == pytest.approx(float(fit.tstats["d"]), rel=1e-12)  # same fit
    assert res.conf_int is not None and res.conf_int[0] < res.estimate < res.conf_int[1]


def test_method_coef_and_to_dict() -> None:
    go = {"LA1": 3, "LA2": 5}
    stat = _stat_factory(_panel(LAS, go), go)
    res = randomization_test(stat, list(go), LAS, go_live=go, method="coef", null=0.2,
                             conf_int=False)
    s = res.statistics
    np.testing.assert_array_equal(s["statistic"].to_numpy(), s["estimate"].to_numpy() - 0.2)
    d = res.to_dict()
    json.dumps(d)
    assert {r["assignment"] for r in d["statistics"]} == set(s.index)
    assert "randomization-coef" in res.summary()


def test_ferman_pinto_statistic_by_hand() -> None:
    go = {"LA1": 3, "LA2": 5}
    panel = _panel(LAS, go, seed=9)
    sizes = panel.attrs["size"]
    stat = _stat_factory(panel, go)
    rng = np.random.default_rng(0)
    resid = {la: rng.normal() / math.sqrt(sizes[la]) * 3 for la in LAS}
    res = randomization_test(stat, list(go), LAS, go_live=go, ferman_pinto=True, sizes=sizes,
                             la_residuals=resid, conf_int=False)
    ctrl = LAS[2:]
    Z = np.column_stack([np.ones(6), [1 / sizes[u] for u in ctrl]])
    A, Bc = optimize.nnls(Z, np.array([resid[u] ** 2 for u in ctrl]))[0]
    assert res.fp_variance == pytest.approx({"A": A, "B": Bc}, rel=1e-12)  # same solver
    assert A >= 0 and Bc >= 0
    v = {u: A + Bc / sizes[u] for u in LAS}
    lab = "LA1->LA4; LA2->LA7"
    tr = ["LA4", "LA7"]
    sd = math.sqrt(sum(v[u] for u in tr) / 4 + sum(v[u] for u in LAS if u not in tr) / 36)
    est = res.statistics.loc[lab, "estimate"]
    assert res.statistics.loc[lab, "statistic"] == pytest.approx(est / sd, rel=1e-12)  # rounding


def test_bad_input() -> None:
    go = {"LA1": 3, "LA2": 5}
    stat = _stat_factory(_panel(LAS, go), go)
    with pytest.raises(FvdidInputError, match="go_live has no date"):
        randomization_test(stat, ["LA1", "LA3"], LAS, go_live=go)
    with pytest.raises(FvdidInputError, match="nothing to reassign"):
        randomization_test(stat, ["LA1", "LA2"], ["LA1", "LA2"], go_live=go)
    with pytest.raises(FvdidInputError, match="positive finite standard error"):
        randomization_test(lambda a, r: (1.0, 0.0), ["LA1"], LAS)
    with pytest.raises(FvdidInputError, match="needs sizes"):
        randomization_test(stat, list(go), LAS, go_live=go, ferman_pinto=True)
    with pytest.raises(FvdidInputError, match="method"):
        randomization_test(stat, list(go), LAS, go_live=go, method="z")  # type: ignore[arg-type]
