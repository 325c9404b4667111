"""The headline effect (issue 19): model rule, interaction weighting, CR2, Hochberg family, CEM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvdid.config import RunConfig
from fvdid.estimators.hochberg import hochberg
from fvdid.pipeline import analyse, simulated_extract
from fvdid.stages import DataCondition
from fvdid.stages.estimate import STACKED_FE, estimate_outcome
from fvdid.stages.headline import THETA, cell_design, fv_estimand
from fvdid.stages.multiplicity import hochberg_family
from fvdid.stages.prepare import Prepared

LEAN = {"n_imputations": 1, "boot_B": 199, "parity_in_appendix": False, "progress": False,
        "extras": {"la_placebo": False}}


@pytest.fixture(scope="module")
def lean() -> tuple[RunConfig, object]:
    cfg = RunConfig(seed=4, n_children=25_000, **LEAN)
    ex, _ = simulated_extract(cfg)
    return cfg, ex


def _two_pairs(effects: dict[tuple[int, int], float], sizes: dict[int, int],
               go_live: dict[int, int] | None = None) -> pd.DataFrame:
    """A noiseless stacked design: pairs 1 and 2, each a treated and a comparison LA, 8 quarters,
    go-live at quarter ``go_live[pair]`` (default 4), effects by (pair, event year);
    y = LA effect + period effect + tau (+-0.01, mean zero within every cell)."""
    go_live = go_live or {1: 4, 2: 4}
    rows = []
    for pair, n in sizes.items():
        for la, treated in ((f"T{pair}", 1), (f"C{pair}", 0)):
            for q in range(8):
                for i in range(n):
                    post = q >= go_live[pair]
                    fv = int(treated and post)
                    e = q - go_live[pair] if fv else np.nan
                    tau = effects[(pair, int(e // 4))] if fv else 0.0
                    y = 0.3 * treated + 0.05 * q + 0.1 * pair + tau + (0.01 if i % 2 else -0.01)
                    rows.append({"pair_id": pair, "la_code": la, "treated_la": treated, "fv": fv,
                                 "event_time_q": e, "quarter": q, "y": y, "weight": 1.0,
                                 "child_id": f"{la}-{q}-{i}"})
    d = pd.DataFrame(rows)
    d["pair_la"] = d["pair_id"].astype(str) + ":" + d["la_code"]
    d["pair_time"] = d["pair_id"].astype(str) + ":" + d["quarter"].astype(str)
    return d


def test_interaction_weighted_estimate_is_the_fv_child_weighted_average() -> None:
    """Noiseless data, pair 1 (30 children a quarter, go-live at quarter 2, effect 0.1) and pair 2
    (10 a quarter, go-live at quarter 6, effect -0.2): the cell design recovers the FV-child-
    weighted mean (180 and 20 FV children) exactly; the pooled FV coefficient weights the pairs
    by the variance of FV (30 x 6/8 x 2/8 against 10 x 2/8 x 6/8: 0.75 / 0.25) and misses it."""
    from fvdid.estimators.ols import ols

    d = _two_pairs({(1, 0): 0.1, (1, 1): 0.1, (2, 0): -0.2}, {1: 30, 2: 10}, {1: 2, 2: 6})
    cd = cell_design(d.assign(cell=np.where(d["fv"] == 1, d["pair_id"].astype(str), "")), cell="cell")
    fit = ols(f"y ~ {' + '.join(cd.terms)} | pair_la + pair_time", cd.data, weights="weight",
              vcov="CR1", cluster="la_code")
    target = (180 * 0.1 + 20 * -0.2) / 200
    # closed form on exact data: only floating-point error (observed ~1e-15)
    assert fit.params[THETA] == pytest.approx(target, abs=1e-10)
    assert sorted(cd.cells["weight"].round(12)) == [0.1, 0.9]
    assert len(fv_estimand(d)) == 180 + 20
    prep = Prepared(outcome="y", analytic=d, flow=pd.DataFrame(), missing=pd.DataFrame(),
                    covariates=(), imputed=())
    e = estimate_outcome(prep, categorical=(), weights="weight", fixed_effects=STACKED_FE,
                         logit_check=False, cr2=False)
    assert e.linear_estimate == pytest.approx(target, abs=1e-10)
    assert e.headline_model == "linear" and e.estimate == e.linear_estimate
    # The pooled coefficient: 0.75 x 0.1 + 0.25 x -0.2 = 0.025 (variance weights), not 0.07.
    assert e.pooled_estimate == pytest.approx(0.025, abs=1e-10)


def test_effects_growing_within_a_year_are_averaged_over_fv_children() -> None:
    """Noiseless data, one pair, go-live at quarter 2, 30 FV children a quarter, effect -0.01 in
    event quarter 0 growing by -0.01 a quarter, and a comparison LA whose size changes by quarter
    (10 or 60 children). The headline's pair × event-quarter cells recover the FV-child-weighted
    mean effect exactly; cells of a year weight a year's quarters by the residual variance of FV
    (n_T n_C / (n_T + n_C)) and miss it, which is what attenuated the estimate on the simulator."""
    from fvdid.estimators.ols import ols
    from fvdid.stages.headline import CELL_QUARTERS, event_cells, event_year_cells

    assert CELL_QUARTERS == 1
    n_c = {0: 10, 1: 60, 2: 10, 3: 60, 4: 10, 5: 60, 6: 10, 7: 60}
    rows = []
    for la, treated in (("T1", 1), ("C1", 0)):
        for q in range(8):
            for i in range(30 if treated else n_c[q]):
                fv = int(treated and q >= 2)
                e = q - 2 if fv else np.nan
                tau = -0.01 * (e + 1) if fv else 0.0
                y = 0.3 * treated + 0.05 * q + tau + (0.01 if i % 2 else -0.01)
                rows.append({"pair_id": 1, "la_code": la, "treated_la": treated, "fv": fv,
                             "event_time_q": e, "quarter": q, "y": y, "weight": 1.0,
                             "child_id": f"{la}-{q}-{i}"})
    d = pd.DataFrame(rows)
    d["pair_la"] = d["pair_id"].astype(str) + ":" + d["la_code"]
    d["pair_time"] = d["pair_id"].astype(str) + ":" + d["quarter"].astype(str)
    target = float(np.mean([-0.01 * (e + 1) for e in range(6)]))  # 30 FV children each quarter
    prep = Prepared(outcome="y", analytic=d, flow=pd.DataFrame(), missing=pd.DataFrame(),
                    covariates=(), imputed=())
    est = estimate_outcome(prep, categorical=(), weights="weight", fixed_effects=STACKED_FE,
                           logit_check=False, cr2=False)
    # closed form on exact data: only floating-point error (observed ~1e-15)
    assert est.linear_estimate == pytest.approx(target, abs=1e-10)
    assert len(set(event_cells(d)["pair_event_cell"]) - {""}) == 6
    yc = cell_design(event_year_cells(d), cell="pair_event_year")
    year = ols(f"y ~ {' + '.join(yc.terms)} | pair_la + pair_time", yc.data, weights="weight",
               vcov="CR1", cluster="la_code").params[THETA]
    # Year cells: quarters weighted 30·10/40 = 7.5 or 30·60/90 = 20 within a year: a miss of
    # -0.0023 here (observed -0.00227), far above floating-point error.
    assert abs(year - target) > 1e-3


def test_unidentified_periods_leave_the_estimand() -> None:
    d = _two_pairs({(1, 0): 0.1, (2, 0): -0.2}, {1: 5, 2: 5})
    # Drop the comparison children of pair 2's last quarter: its FV rows identify nothing.
    d = d[~((d["pair_id"] == 2) & (d["treated_la"] == 0) & (d["quarter"] == 7))]
    cd = cell_design(d)
    assert cd.n_fv_unidentified == 5
    assert "2:7" not in set(cd.cells["cell"])
    assert fv_estimand(d).sum() == (5 + 5) * 4 - 5


def test_headline_follows_the_protocols_model_rule(lean: tuple[RunConfig, object]) -> None:
    cfg, ex = lean
    an = analyse(ex, cfg, secondary=False, sensitivity=False)
    p = an.primary
    assert p.baseline_rate < 0.05 and p.protocol_model == "logit"
    assert p.headline_model == "logit"
    assert p.estimate == p.logit_ame
    # The headline's inference is the pair-level t test of the logit's AME; its CR1 (delta
    # method, t(G-1)) stays beside it.
    assert p.headline_inference == "IM_pairs_tq-1"
    assert p.std_error == p.logit_ame_pairs_std_error and p.p_value == p.logit_ame_pairs_p_value
    assert p.df == p.n_pair_groups - 1
    assert p.headline_cr1_std_error == p.logit_ame_std_error
    assert p.headline_cr1_df == p.n_clusters - 1
    assert p.estimate_pp == pytest.approx(100 * p.estimate, rel=1e-12)
    # The pair effects reproduce the headline exactly (sum of W_p theta_p; rounding only).
    pe = p.pair_effects
    assert float((pe["weight"] * pe["estimate"]).sum()) == pytest.approx(p.estimate, rel=1e-12, abs=1e-15)
    res = an.results()["primary"]
    for key in ("headline_model", "estimate_pp", "cr2_std_error", "cr2_df"):
        assert key in res
    assert res["headline_model"] == "logit"
    # CR2 with Satterthwaite df is computed in every run (point 2), beside CR1.
    assert np.isfinite(p.cr2_std_error) and p.cr2_std_error > 0 and 0 < p.cr2_df < p.n_clusters
    # Both truths of the simulator: the matched FV children's and all FV children's.
    assert set(an.truth) == set(an.truth_all_fv) == {cfg.primary_outcome}
    assert an.truth[cfg.primary_outcome] != an.truth_all_fv[cfg.primary_outcome]


def test_headline_falls_back_visibly_when_the_logit_cannot_be_fitted(
        lean: tuple[RunConfig, object], monkeypatch: pytest.MonkeyPatch) -> None:
    import fvdid.stages.logit_ame as la

    def separated(*args: object, **kwargs: object) -> None:
        raise DataCondition("separation", "every FV row predicted")

    monkeypatch.setattr(la, "logit_ame", separated)
    monkeypatch.setattr(la, "logit_imputation_ame", separated)
    cfg, ex = lean
    an = analyse(ex, cfg, secondary=False, sensitivity=False)
    p = an.primary
    assert p.protocol_model == "logit" and p.headline_model == "linear"
    assert p.estimate == p.linear_estimate
    assert "falls back to the linear model" in p.headline_note
    assert any("logit not done (separation)" in n for n in p.notes)


def test_single_coefficient_logit_forms_no_pair_test_and_the_headline_falls_back(
        lean: tuple[RunConfig, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """When the logit's effects per FV child cannot be fitted but one FV coefficient can, the
    pairs' AMEs share that coefficient (their spread is only that of baseline risks: on the
    simulator the pair-level SE fell to 0.0004 against the linear model's 0.008 and the test
    rejected a true null 13-19 % of the time). No pair-level test is formed from them; the
    headline is the linear model and says why."""
    import fvdid.stages.logit_ame as la

    def imputation_fails(*args: object, **kwargs: object) -> object:
        raise DataCondition("singular_design", "the counterfactual model is rank deficient")

    monkeypatch.setattr(la, "logit_imputation_ame", imputation_fails)
    cfg, ex = lean
    p = analyse(ex, cfg, secondary=False, sensitivity=False, robustness=False).primary
    assert p.protocol_model == "logit" and np.isfinite(p.logit_ame)
    assert np.isnan(p.logit_ame_pairs_p_value) and np.isnan(p.logit_ame_pairs_std_error)
    assert p.headline_model == "linear" and p.estimate == p.linear_estimate
    assert "single-coefficient AME is a check" in p.headline_note
    assert p.pairs_p_value == p.linear_pairs_p_value


def test_hochberg_family_keeps_failed_outcomes_with_p_one() -> None:
    class E:
        def __init__(self, p: float) -> None:
            self.p_value, self.boot_p_value, self.headline_model = p, p, "linear"

    fam = ["a", "b", "c"]
    hb = hochberg_family({"a": E(0.01), "c": E(0.04)}, fam, {"b": "absent from the extract"})
    assert list(hb["outcome"]) == fam
    assert hb.set_index("outcome").loc["b", "status"] == "failed: absent from the extract"
    expected = hochberg(pd.Series([0.01, 1.0, 0.04], index=fam))
    got = hb.set_index("outcome")["Hochberg (headline)"]
    assert got.to_dict() == expected.to_dict()
    # Dropping the failed outcome would have given a smaller adjusted p for 'c'.
    assert got["c"] >= hochberg(pd.Series([0.01, 0.04], index=["a", "c"]))["c"]


def test_cem_data_condition_is_never_silently_unweighted(
        lean: tuple[RunConfig, object], monkeypatch: pytest.MonkeyPatch) -> None:
    import fvdid.stages.child_matching as cmod

    def no_support(*args: object, **kwargs: object) -> None:
        raise DataCondition("no_common_support", "no stratum holds both groups")

    monkeypatch.setattr(cmod, "match_children", no_support)
    cfg, ex = lean
    from fvdid.errors import FvdidInputError

    with pytest.raises(FvdidInputError, match="cannot be estimated"):
        analyse(ex, cfg, secondary=False, sensitivity=False)
    allow = cfg.replace(cem_allow_unweighted=True) if hasattr(cfg, "replace") else RunConfig(
        seed=4, n_children=25_000, cem_allow_unweighted=True, **LEAN)
    an = analyse(ex, allow, secondary=False, sensitivity=False)
    notes = an.outcomes[cfg.primary_outcome].notes
    assert any("WITHOUT CEM weights" in n for n in notes)
    assert an.outcomes[cfg.primary_outcome].cem_pairs is None


def test_logit_ame_screens_a_separating_level_as_the_linear_program_would() -> None:
    """A covariate level without any event separates the outcome: its rows are left out before
    the fit, with the note the logit's own separation path gives, and the AME equals the fit on
    the data without those rows."""
    from fvdid.stages.logit_ame import logit_ame

    rng = np.random.default_rng(3)
    n = 4000
    d = pd.DataFrame({"fv": rng.integers(0, 2, n), "g": rng.integers(0, 3, n),
                      "la": rng.integers(0, 8, n), "weight": 1.0})
    d.loc[:11, "g"] = 3  # a rare level
    eta = -1.5 + 0.4 * d["fv"] + 0.2 * d["g"]
    d["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    d.loc[d["g"] == 3, "y"] = 0.0  # no event in the rare level
    res = logit_ame(d, "y", ["fv", "C(g)"], weights="weight", cluster="la", n_clusters=8)
    assert any("12 rows predicted perfectly by ['C(g)[3]']" in n for n in res.notes)
    ref = logit_ame(d[d["g"] != 3], "y", ["fv", "C(g)"], weights="weight", cluster="la", n_clusters=8)
    # the same rows, the same fit: identical arithmetic
    assert res.ame == ref.ame and res.ame_std_error == ref.ame_std_error and res.nobs == n - 12


def test_the_studys_simulation_mdes_joins_the_mdes_table(lean: tuple[RunConfig, object],
                                                          tmp_path) -> None:
    """issue 20: the simulation MDES of the study's effect grid sits beside the analytic rows."""
    from fvdid.pipeline import with_study_mdes

    cfg, ex = lean
    an = analyse(ex, cfg, secondary=False, sensitivity=False, robustness=False)
    rows = [{"effect": e, "outcome": cfg.primary_outcome, "estimator": "headline",
             "method": "IM_pairs_tq-1", "effect_value": v, "n_reps": 100, "rejection_rate": r,
             "rejection_rate_mcse": 0.04, "alpha": 0.05}
            for e, v, r in (("null", 0.0, 0.05), ("-0.02", -0.02, 0.5), ("-0.04", -0.04, 0.9))]
    pd.DataFrame(rows).to_parquet(tmp_path / "summary.parquet", index=False)
    assert not (an.mdes["formula"] == "simulation").any()
    out = with_study_mdes(an, tmp_path)
    mc = out.mdes[out.mdes["formula"] == "simulation"]
    # |-0.02 + (0.3 / 0.4) * -0.02| = 0.035, in percentage points (a size): rounding only
    assert len(mc) == 1 and mc["MDES (pp)"].iloc[0] == pytest.approx(3.5, abs=1e-10)
    assert len(out.mdes) == len(an.mdes) + 1


def test_checks_off_leaves_out_the_specification_checks_only(lean: tuple[RunConfig, object]) -> None:
    """``analyse(checks=False)`` (the timed Monte Carlo study) fits neither the protocol-literal
    pooled specification nor the logit with the other period terms, nor ranks the unrestricted
    LA pool for the extract check, and every other number of the primary is the same, bit for
    bit: the checks feed nothing else."""
    cfg, ex = lean
    on = analyse(ex, cfg, secondary=False, sensitivity=False, robustness=False)
    off = analyse(ex, cfg, secondary=False, sensitivity=False, robustness=False, checks=False)
    p_on, p_off = on.primary, off.primary
    assert p_on.protocol_model == "logit" and np.isfinite(p_on.logit_ame_alt)
    assert np.isnan(p_off.logit_ame_alt) and p_off.logit_alt_period == ""
    a_on, a_off = on.outcomes[cfg.primary_outcome], off.outcomes[cfg.primary_outcome]
    assert a_on.protocol_literal is not None and a_off.protocol_literal is None
    assert on.la_matching.result_all_las is not None and len(on.la_matching.extract_check)
    assert off.la_matching.result_all_las is None and off.la_matching.extract_check.empty
    pd.testing.assert_frame_equal(on.la_matching.pairs, off.la_matching.pairs)
    r_on, r_off = on.records(), off.records()
    gone = {"pooled_la_fy", "logit_ame_pair_time"}
    assert gone <= set(r_on["estimator"]) and not gone & set(r_off["estimator"])
    key = ["outcome", "estimator", "method"]
    kept = r_on[~r_on["estimator"].isin(gone)].set_index(key).sort_index()
    pd.testing.assert_frame_equal(kept, r_off.set_index(key).sort_index())


def test_analysis_replication_repr_keeps_old_studies_resumable() -> None:
    # study.json identifies a study by the replication's repr: a study begun before the checks
    # switch (validation/montecarlo-100k-imp) must resume with every check on
    from fvdid.montecarlo.replication import AnalysisReplication

    on = AnalysisReplication(run_options=(("boot_B", 399),), secondary=False)
    assert repr(on) == ("AnalysisReplication(run_options=(('boot_B', 399),), secondary=False, "
                        "sensitivity=True, robustness=True)")
    assert repr(AnalysisReplication(checks=False)).endswith("robustness=True, checks=False)")
