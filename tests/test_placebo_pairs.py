"""Randomization inference and Conley–Taber over placebo pairs (fvdid.stages.placebo_pairs)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from fvdid.estimators.group_t import group_t_test, independent_groups
from fvdid.stages.placebo_pairs import (
    conley_taber_pairs,
    ri_pairs,
    ri_statistic,
)

SLOTS = {"T1": "2021-07", "T2": "2022-03"}
POOL = ["P1", "P2", "P3"]


def _cache() -> pd.DataFrame:
    """θ(L, g), n_fv(L, g), comparators and δ for every LA of treated ∪ pool at both dates."""
    rng = np.random.default_rng(7)
    rows = []
    for la in [*SLOTS, *POOL]:
        for slot, g in SLOTS.items():
            kind = "actual" if la == slot else ("treated" if la in SLOTS else "pool")
            theta = {"actual": 0.08, "treated": 0.03}.get(kind, 0.0) + rng.normal(0, 0.02)
            # P3 is the comparator of P1 at the first date: those assignments merge two pairs
            comp = "P3" if (la == "P1" and g == "2021-07") else f"C_{la}_{g}"
            delta = {"actual": 1.0, "treated": 0.4}.get(kind, 0.0)
            rows.append({"la": la, "go_live": g, "comparator": comp, "theta": theta,
                         "n_fv": float(rng.integers(50, 400)), "delta": delta, "kind": kind})
    return pd.DataFrame(rows)


def _brute_t(cache: pd.DataFrame, assignment: dict[str, str], r: float) -> float:
    """The IM t of one assignment, from first principles (merging pairs that share an LA)."""
    tab = cache.set_index(["la", "go_live"])
    vals, wts, las = {}, {}, {}
    for slot, la in assignment.items():
        row = tab.loc[(la, SLOTS[slot])]
        vals[slot] = row["theta"] - r * row["delta"]
        wts[slot] = row["n_fv"]
        las[slot] = [la, row["comparator"]]
    grp = independent_groups(las)
    ge = pd.Series(vals).groupby(pd.Series(grp)).apply(lambda v: np.average(v, weights=[wts[s] for s in v.index]))
    gw = pd.Series(wts).groupby(pd.Series(grp)).sum()
    res = group_t_test(ge, gw)
    if not res.std_error > 0:
        return math.inf
    return (res.estimate) / res.std_error


def test_ri_full_enumeration_equals_brute_force() -> None:
    cache = _cache()
    units = [*SLOTS, *POOL]
    res, _ = ri_pairs(cache, SLOTS, POOL, B=10_000, seed=1)
    assert res.enumerated
    every = [dict(zip(SLOTS, p)) for p in itertools.permutations(units, len(SLOTS))]
    assert res.n_evaluated == len(every) == 20
    for r in (0.0, 0.05):
        t = np.array([abs(_brute_t(cache, a, r)) for a in every])
        t_act = abs(_brute_t(cache, dict(zip(SLOTS, SLOTS)), r))
        p_brute = float(np.mean(t >= t_act * (1 - 1e-12)))  # the ties convention of randomization_test
        if r == 0.0:
            assert res.p_value == p_brute  # exact: the same count over the same 20 assignments
        else:
            from fvdid.estimators.randomization import randomization_test

            stat = ri_statistic(cache, SLOTS)
            at_r = randomization_test(stat, list(SLOTS), POOL, go_live=SLOTS, null=r, B=10_000,
                                      conf_int=False, assume_linear=True)
            assert at_r.p_value == p_brute  # exact, also under a shifted sharp null


def test_ri_statistic_actual_is_pair_t_with_shift() -> None:
    cache = _cache()
    stat = ri_statistic(cache, SLOTS)
    act = cache[cache["kind"] == "actual"].set_index("la")
    for r in (0.0, 0.03):
        est, se = stat(dict(zip(SLOTS, SLOTS)), r)
        ref = group_t_test(act["theta"] - r, act["n_fv"])
        # floating point only: the same sums in a different order
        assert est - r == pytest.approx(ref.estimate, abs=1e-15)
        assert se == pytest.approx(ref.std_error, rel=1e-12)


def test_ri_confidence_set_contains_accepted_nulls() -> None:
    cache = _cache()
    res, _ = ri_pairs(cache, SLOTS, POOL, B=10_000, seed=1)
    lo, hi = res.conf_int
    stat = ri_statistic(cache, SLOTS)
    from fvdid.estimators.randomization import randomization_test

    mid = randomization_test(stat, list(SLOTS), POOL, go_live=SLOTS, null=(lo + hi) / 2, B=10_000,
                             conf_int=False)
    assert mid.p_value > 0.05


def test_conley_taber_known_answer() -> None:
    # two pairs of equal size; placebo errors {-1, 0, 1} at both dates: Σ W η over the 9 tuples is
    # {-1, -.5, -.5, 0, 0, 0, .5, .5, 1}
    actual = pd.DataFrame({"go_live": ["a", "b"], "theta": [0.5, 1.0], "n_fv": [100.0, 100.0]})
    plac = pd.DataFrame({"go_live": ["a"] * 3 + ["b"] * 3, "theta": [-1.0, 0.0, 1.0] * 2,
                         "n_fv": [100.0] * 6})
    ct = conley_taber_pairs(actual, plac, alpha=0.25, ferman_pinto=False)
    assert ct.enumerated and ct.n_draws == 9
    assert ct.estimate == 0.75
    # Γ(-1) = 1/9 < 0.125 <= Γ(-.5) = 3/9: Q_lo = -.5, Q_hi = .5 by symmetry (exact arithmetic)
    assert (ct.conf_low, ct.conf_high) == (0.25, 1.25)
    # #(W >= .75) = 1 of 9: p = 2/9
    assert ct.p_value == pytest.approx(2 / 9, abs=1e-15)  # floating point of 2 * (1/9)


def test_conley_taber_ferman_pinto_rescales_to_the_pairs_size() -> None:
    # placebo estimates whose squares lie exactly on 0 + 1/n: NNLS recovers A = 0, B = 1, and
    # an estimate of a pair of size n_L is rescaled by sqrt(n_L / n_p)
    n = np.array([25.0, 100.0, 400.0])
    plac = pd.DataFrame({"go_live": ["a"] * 3, "theta": 1 / np.sqrt(n) * np.array([1, -1, 1]), "n_fv": n})
    actual = pd.DataFrame({"go_live": ["a"], "theta": [0.0], "n_fv": [100.0]})
    ct = conley_taber_pairs(actual, plac, alpha=0.5)
    assert ct.ferman_pinto["A"] == pytest.approx(0.0, abs=1e-12)  # NNLS on an exact fit
    assert ct.ferman_pinto["B"] == pytest.approx(1.0, rel=1e-10)
    # every rescaled error is ±1/sqrt(100) = ±0.1 (floating point of the square roots)
    np.testing.assert_allclose(np.sort(ct.draws), [-0.1, 0.1, 0.1], rtol=1e-10)


# --- the stage in a run ---------------------------------------------------------------------

LEAN = {"n_imputations": 1, "boot_B": 199, "parity_in_appendix": False, "progress": False,
        "ri_pool_max": 6, "ri_B": 199}


@pytest.fixture(scope="module")
def small_analysis():  # type: ignore[no-untyped-def]
    from fvdid.config import RunConfig
    from fvdid.pipeline import analyse, simulated_extract

    cfg = RunConfig(seed=5, n_children=20_000, **LEAN)
    ex = simulated_extract(cfg)[0]
    return ex, analyse(ex, cfg, secondary=False, sensitivity=False)


def test_run_gives_finite_ri_and_ct_rows(small_analysis) -> None:  # type: ignore[no-untyped-def]
    from fvdid.stages.inference import inference_table

    _, an = small_analysis
    pp = an.placebo_pairs
    assert pp is not None, an.notes
    assert len(pp.pool) >= 3 and pp.ri_n_evaluated == 200 and not pp.ri_enumerated
    rec = an.records().set_index(["estimator", "method"])
    for key in (("randomization", "RI_t_pairs"), ("conley_taber", "CT_pairs")):
        row = rec.loc[key]
        assert np.isfinite([row["p_value"], row["conf_low"], row["conf_high"]]).all()
        assert row["conf_low"] < row["conf_high"]
        assert row["estimate"] == an.primary.linear_estimate  # the pairs' statistic is linear
        assert row["truth"] == an.truth[an.config.primary_outcome]
    # primary.inference of results.json is inference_table(...).records() (pipeline.run)
    inf = {r["method"]: r for r in inference_table(an).records()}
    for m in ("randomization/RI_t_pairs", "conley_taber/CT_pairs"):
        assert inf[m]["p_value"] is not None and 0 < inf[m]["p_value"] <= 1
        assert inf[m]["conf_low"] is not None and inf[m]["conf_high"] is not None
    assert an.results()["placebo_pairs"]["ri_p_value"] == pp.ri_p_value
    # the RI p-value has the resolution of its 200 assignments
    assert pp.ri_p_value * 200 == pytest.approx(round(pp.ri_p_value * 200), abs=1e-9)  # float of k/200


def test_actual_statistic_is_the_refitted_pairs(small_analysis) -> None:  # type: ignore[no-untyped-def]
    _, an = small_analysis
    pp = an.placebo_pairs
    act = pp.cache[pp.cache["kind"] == "actual"]
    assert sorted(act["la"]) == sorted(an.la_matching.pairs.query(
        "outcome == @an.config.primary_outcome")["treated_la"])
    assert (act["delta"] == 1.0).all()
    assert (pp.cache.loc[pp.cache["kind"] == "pool", "delta"] == 0.0).all()
    w = act["n_fv"] / act["n_fv"].sum()
    # floating point of a weighted sum
    assert pp.estimate_refit == pytest.approx(float((w * act["theta"]).sum()), abs=1e-14)


def test_too_small_a_pool_is_a_visible_not_done(small_analysis) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from fvdid.stages import attempt
    from fvdid.stages.placebo_pairs import placebo_pairs, placebo_pairs_section

    ex, an = small_analysis
    lam = an.la_matching
    cand = lam.result.candidates.copy()
    keep = sorted(set(cand.loc[cand["eligible"].astype(bool), "comparator_la"]))[:2]
    cand["eligible"] = cand["eligible"].astype(bool) & cand["comparator_la"].isin(keep)
    small = dataclasses.replace(lam, result=dataclasses.replace(lam.result, candidates=cand))
    notes: list[str] = []
    label = "randomization inference and Conley–Taber over placebo pairs"
    got = attempt(notes, label, lambda: placebo_pairs(ex, small, an.primary, an.config))
    assert got is None
    assert len(notes) == 1 and notes[0].startswith(f"{label} not done (too_few_clusters)")
    sec = placebo_pairs_section(None, notes[0])
    assert any("not done (too_few_clusters)" in p for p in sec.paragraphs)


def _reference_thetas(sets, outcome, covariates, categorical, delta):  # type: ignore[no-untyped-def]
    """The straightforward refit: fvdid.ols per set, the FV fit as its own regression."""
    from fvdid.stages._placebo_fit import _cell_theta

    theta, n_fv, _, _ = _cell_theta(sets, outcome, covariates, categorical, 0.05)
    d = 0.0
    if delta:
        d = _cell_theta([x.assign(**{outcome: x["fv_actual"].astype(float)}) for x in sets],
                        outcome, covariates, categorical, 0.05)[0]
    return theta, n_fv, d


def test_fast_pair_fits_equal_the_straightforward_refit(small_analysis, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The shared-design, two-right-hand-side fits give the refit's θ, n_fv, δ and statistics."""
    import fvdid.stages._placebo_fit as pf
    from fvdid.stages.placebo_pairs import placebo_pairs

    ex, an = small_analysis
    fast = an.placebo_pairs

    def frames_only(self, k, delta):  # type: ignore[no-untyped-def]
        raise pf._Fallback  # every pair by _cell_thetas on the stacked frames, here the reference

    monkeypatch.setattr(pf._SlotFits, "_thetas", frames_only)
    monkeypatch.setattr(pf, "_cell_thetas", _reference_thetas)
    ref = placebo_pairs(ex, an.la_matching, an.primary, an.config)
    key = ["la", "go_live"]
    a = fast.cache.set_index(key).sort_index()
    b = ref.cache.set_index(key).sort_index()
    assert a.index.equals(b.index) and (a["kind"] == b["kind"]).all()
    assert (a["comparator"] == b["comparator"]).all()
    assert (a.loc[a["kind"] == "treated", "delta"] != 0).any()  # the FV fits were exercised
    # the same QR of the same design; only the extra right-hand side and summation order differ
    for col in ("theta", "n_fv", "delta"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-10, atol=1e-13)
    assert fast.ri_p_value == ref.ri_p_value  # a count over the same assignments
    for f in ("estimate_refit", "ri_conf_low", "ri_conf_high", "ri_t"):
        assert getattr(fast, f) == pytest.approx(getattr(ref, f), rel=1e-10)  # rounding of θ only
    assert fast.ct.p_value == ref.ct.p_value
    assert fast.ct.conf_low == pytest.approx(ref.ct.conf_low, rel=1e-10)  # rounding of θ only
    assert fast.ct.conf_high == pytest.approx(ref.ct.conf_high, rel=1e-10)  # rounding of θ only


def test_array_pair_fits_are_bit_for_bit_the_frame_fits(small_analysis, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The array path (_SlotFits) gives _cell_thetas' numbers on the stacked frames exactly."""
    import fvdid.stages._placebo_fit as pf
    from fvdid.stages.placebo_pairs import placebo_pairs

    ex, an = small_analysis
    fast = an.placebo_pairs

    def frames_only(self, k, delta):  # type: ignore[no-untyped-def]
        raise pf._Fallback

    monkeypatch.setattr(pf._SlotFits, "_thetas", frames_only)
    ref = placebo_pairs(ex, an.la_matching, an.primary, an.config)
    a = fast.cache.set_index(["la", "go_live"]).sort_index()
    b = ref.cache.set_index(["la", "go_live"]).sort_index()
    assert a.index.equals(b.index) and (a["comparator"] == b["comparator"]).all()
    for col in ("theta", "n_fv", "delta"):  # the same floating-point operations: exact
        np.testing.assert_array_equal(a[col].to_numpy(float), b[col].to_numpy(float))
    assert dataclasses.replace(fast, seconds=0.0, cache=pd.DataFrame()).released() == \
        dataclasses.replace(ref, seconds=0.0, cache=pd.DataFrame()).released()


def test_placebo_comparators_are_one_match_las_each(small_analysis) -> None:  # type: ignore[no-untyped-def]
    from fvdid.stages._placebo_fit import eligible_pool, placebo_comparator, placebo_comparators

    ex, an = small_analysis
    lam, outcome = an.la_matching, an.config.primary_outcome
    treated = sorted(lam.pairs.loc[lam.pairs["outcome"] == outcome, "treated_la"].astype(str))
    pool = eligible_pool(lam, outcome, treated)
    go = dict(zip(ex.las["la_code"].astype(str), ex.las["go_live"]))
    combos = [(la, go[t]) for t in treated for la in [*treated, *pool[:8]]]
    combos += [(pool[0], pd.Period("2000-01", freq="M"))]  # before the data: no comparator
    got = placebo_comparators(lam, ex.la_quarter, outcome, combos, pool)
    want = [placebo_comparator(lam, ex.la_quarter, outcome, la, g, pool) for la, g in combos]
    assert got == want and sum(c is not None for c in got) > len(combos) // 2


def test_cell_terms_equal_cell_design() -> None:
    """The array cell design: cell_design's cells, terms and columns exactly."""
    from fvdid.stages._placebo_fit import _cell_terms
    from fvdid.stages.headline import CELL, cell_design, event_cells

    rng = np.random.default_rng(3)
    n = 600
    fv = (rng.random(n) < 0.4).astype(np.int8)
    e = np.where(fv == 1, rng.integers(0, 14, n), np.nan).astype(float)  # e10.. sort before e2
    w = np.where(fv == 1, 1.0, rng.choice([0.0, 0.37, 1.9, 2.25], n))
    t = rng.integers(0, 30, n)
    t[(fv == 0) & (t >= 27)] = 3  # periods 27-29 hold FV children only: unidentified
    frame = pd.DataFrame({"pair_id": 4, "fv": fv, "event_time_q": e, "weight": w,
                          "pair_time": [f"4:2020Q{q}" for q in t]})
    cd = cell_design(event_cells(frame, treatment="fv"), cell=CELL, treatment="fv", weights="weight")
    codes = pd.factorize(frame["pair_time"], sort=True)[0]
    cells, terms, cols = _cell_terms(4, fv, e, w, codes)
    assert any(x.startswith("fvcell_u") for x in terms)  # the unidentified periods are exercised
    assert terms == list(cd.terms)
    pd.testing.assert_frame_equal(cells, cd.cells, check_exact=True)
    np.testing.assert_array_equal(cols, cd.data[list(cd.terms)].to_numpy(float))
