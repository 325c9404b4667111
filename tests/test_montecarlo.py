"""The Monte Carlo study (issue 20): design, seeds, summary known answers, resume, report, CLI.

The engine is exercised with the textbook replication (OLS with a known sampling distribution),
so these tests take seconds; the dask cluster tests are in ``test_montecarlo_cluster.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import fvdid
from fvdid.cli import app
from fvdid.errors import FvdidInputError
from fvdid.montecarlo import recommended_methods, simulation_mdes, size_table, summarise
from fvdid.montecarlo.design import Design, load_design, parse_effects, parse_grid, scenarios
from fvdid.montecarlo.engine import load_replications, replication_seed, run_study
from fvdid.montecarlo.replication import TextbookReplication

TEXTBOOK = TextbookReplication(n=8, slope=1.0)


# ---------------------------------------------------------------------------- design


def test_design_unknown_keys_are_named(tmp_path: Path) -> None:
    f = tmp_path / "d.toml"
    f.write_text("n_children = 20000\neffect_la = -0.02\nbogus_key = 1\nalso_bad = 2\n")
    with pytest.raises(FvdidInputError, match=r"\['also_bad', 'bogus_key'\]"):
        load_design(f)


def test_design_toml_and_scenarios(tmp_path: Path) -> None:
    f = tmp_path / "d.toml"
    f.write_text("n_children = 20000\neffect_la = -0.02\neffect_max = -0.03\n"
                 "effect_reunified_18m = 0.05\n")
    d = load_design(f)
    assert d.n_children == 20_000
    null, design, grid = scenarios(["null", "default"], [-0.015])
    assert (null.label, design.label, grid.label) == ("null", "design", "-0.015")
    cn, cd, cg = null.config(d), design.config(d), grid.config(d)
    effects = [k for k in fvdid.SimConfig.field_names() if k.startswith("effect_")]
    assert all(getattr(cn, k) == 0 for k in effects)
    assert (cd.effect_la, cd.effect_max, cd.effect_reunified_18m) == (-0.02, -0.03, 0.05)
    assert (cg.effect_la, cg.effect_max, cg.effect_growth) == (-0.015, -0.015, 0.0)
    assert cg.effect_reunified_18m == 0.05  # the grid sets the primary outcome's effect only


def test_design_bad_values_fail_early() -> None:
    with pytest.raises(FvdidInputError, match="n_children"):
        Design.from_mapping({"n_children": 0})
    with pytest.raises(FvdidInputError, match="base_cpp_12m"):
        Design.from_mapping({"base_cpp_12m": 2.0})


def test_effect_grid_and_effects_parsing() -> None:
    assert parse_grid("-0.03:0:7") == (-0.03, -0.025, -0.02, -0.015, -0.01, -0.005, 0.0)
    assert [s.label for s in scenarios((), parse_grid("-0.03:0:4"))] == ["-0.03", "-0.02", "-0.01", "0"]
    for bad in ("-0.03:0", "a:b:c", "0:1:1"):
        with pytest.raises(FvdidInputError, match="grid"):
            parse_grid(bad)
    assert parse_effects("null, default,design") == ("null", "design")
    with pytest.raises(FvdidInputError, match="'alt'"):
        parse_effects("null,alt")
    with pytest.raises(FvdidInputError, match="at least one"):
        scenarios((), ())


def test_seeds_are_spawned_and_independent_of_the_run() -> None:
    s = replication_seed(7, "null", 3)
    assert s == replication_seed(7, "null", 3) and s >= 0
    assert len({replication_seed(7, e, r) for e in ("null", "design") for r in range(50)}) == 100
    assert replication_seed(8, "null", 3) != s
    # the seed is the child SeedSequence(master).spawn() gives at that (scenario, replication) key
    import zlib
    key = zlib.crc32(b"null")
    child = np.random.SeedSequence(7, spawn_key=(key,)).spawn(4)[3]
    assert int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) == s


# ---------------------------------------------------------------------------- summary: known answers


def _rows(est, truth, lo, hi, p, method="m") -> pd.DataFrame:
    n = len(est)
    return pd.DataFrame({"replication": range(n), "effect": "null", "effect_value": 0.0,
                         "outcome": "y", "estimator": "headline", "method": method,
                         "estimate": est, "std_error": [0.5] * n, "conf_low": lo,
                         "conf_high": hi, "p_value": p, "truth": truth})


def test_summary_matches_hand_computation() -> None:
    rows = _rows([1.0, 2.0, 4.0], [1.0, 1.0, 1.0], [0.0, 1.5, 0.5], [2.0, 2.5, 4.5],
                 [0.01, 0.2, 0.04])
    s = summarise(rows).set_index("method").loc["m"]
    # errors e = (0, 1, 3): bias 4/3; sd(e) = sqrt(7/3); MSE = 10/3;
    # MCSE(MSE) = sqrt(sum((e^2 - MSE)^2) / (R )) = sqrt(438/9 / 6) = sqrt(73) / 3
    tol = 1e-12  # closed-form arithmetic on three numbers
    assert abs(s["bias"] - 4 / 3) < tol
    assert abs(s["bias_mcse"] - math.sqrt(7 / 3) / math.sqrt(3)) < tol
    assert abs(s["rmse"] - math.sqrt(10 / 3)) < tol
    assert abs(s["rmse_mcse"] - (math.sqrt(73) / 3) / (2 * math.sqrt(10 / 3))) < tol
    assert abs(s["coverage"] - 2 / 3) < tol  # the second interval (1.5, 2.5) misses 1
    assert abs(s["coverage_mcse"] - math.sqrt(2 / 9 / 3)) < tol
    assert abs(s["rejection_rate"] - 2 / 3) < tol  # p = 0.01 and 0.04 are below 5 %
    assert abs(s["rejection_rate_mcse"] - math.sqrt(2 / 9 / 3)) < tol
    assert abs(s["empirical_sd"] - math.sqrt(7 / 3)) < tol
    assert abs(s["se_ratio"] - 0.5 / math.sqrt(7 / 3)) < tol
    assert s["n_reps"] == 3 and s["n_missing_estimate"] == 0


def test_summary_counts_missing_values() -> None:
    rows = _rows([1.0, np.nan, 2.0], [1.0, 1.0, 1.0], [0.0, 0.0, np.nan], [2.0, 2.0, np.nan],
                 [0.5, np.nan, 0.01])
    s = summarise(rows).iloc[0]
    assert (s["n_reps"], s["n_missing_estimate"], s["n_missing_ci"], s["n_missing_p"]) == (3, 1, 2, 1)
    assert s["coverage"] == 1.0 and s["rejection_rate"] == 0.5


def test_summary_rejects_duplicate_replications() -> None:
    rows = _rows([1.0, 2.0], [1.0, 1.0], [0, 0], [3, 3], [0.5, 0.5])
    rows["replication"] = 0
    with pytest.raises(FvdidInputError, match="repeat"):
        summarise(rows)


def test_textbook_coverage_and_size_known_answers() -> None:
    """OLS on n = 8 normal observations: the t interval covers exactly 95 % and its test has
    size 5 %; the z interval covers P(|T_6| < 1.96) = 0.9025 and rejects 9.75 % under the null."""
    R = 2000
    null = scenarios(["null"])[0]
    frames = [TEXTBOOK(replication_seed(11, "null", r), null, Design()).assign(replication=r)
              for r in range(R)]
    rows = pd.concat(frames).assign(effect="null", effect_value=0.0)
    s = summarise(rows).set_index("method")
    z_cov = 2 * stats.t.cdf(stats.norm.ppf(0.975), 6) - 1
    for method, cov in (("t", 0.95), ("z", z_cov)):
        mcse = math.sqrt(cov * (1 - cov) / R)
        # 4 MCSE of the true proportion: a false failure has probability below 1e-4
        assert abs(s.loc[method, "coverage"] - cov) < 4 * mcse, (method, s.loc[method, "coverage"])
        assert abs(s.loc[method, "rejection_rate"] - (1 - cov)) < 4 * mcse
        assert abs(s.loc[method, "coverage_mcse"] - mcse) < 0.1 * mcse  # plug-in vs true p
    # the slope is unbiased: |bias| within 4 of its MCSE
    assert abs(s.loc["t", "bias"]) < 4 * s.loc["t", "bias_mcse"]
    # the size table tells the two apart: t holds its size (a 95 % event at this fixed seed),
    # z (9.75 %) is five band half-widths above 5 %
    t = size_table(summarise(rows)).set_index("method")
    assert bool(t.loc["t", "holds_size"]) and not bool(t.loc["z", "holds_size"])
    assert recommended_methods(summarise(rows), "y") == ["t"]


# ---------------------------------------------------------------------------- size table, MDES


def _summary(effect: str, method: str, rate: float, value: float = 0.0, r: int = 500) -> dict:
    return {"effect": effect, "outcome": "y", "estimator": "headline", "method": method,
            "effect_value": value, "n_reps": r, "rejection_rate": rate,
            "rejection_rate_mcse": math.sqrt(rate * (1 - rate) / r), "alpha": 0.05}


def test_size_table_band_and_recommendation() -> None:
    s = pd.DataFrame([_summary("null", "CR1", 0.12), _summary("null", "CR2", 0.046),
                      _summary("null", "wild", 0.07), _summary("null", "ri", 0.05)])
    t = size_table(s).set_index("method")
    half = 1.959963984540054 * math.sqrt(0.05 * 0.95 / 500)  # 0.0191
    assert abs(t.loc["CR1", "band_high"] - (0.05 + half)) < 1e-12  # closed form
    assert t["holds_size"].to_dict() == {"CR1": False, "CR2": True, "wild": False, "ri": True}
    assert recommended_methods(s, "y") == ["ri", "CR2"]
    with pytest.raises(FvdidInputError, match="estimator 'logit'"):
        recommended_methods(s, "y", estimator="logit")
    with pytest.raises(FvdidInputError, match="null"):
        size_table(pd.DataFrame([_summary("design", "CR1", 0.5)]))
    with pytest.raises(FvdidInputError, match="alpha"):
        size_table(s, alpha=0.1)
    # the band counts the replications with a p-value: 500 - 400 missing = 100
    few = pd.DataFrame([_summary("null", "CR1", 0.09)]).assign(n_missing_p=400)
    t = size_table(few).iloc[0]
    assert t["n_reps"] == 100 and bool(t["holds_size"])  # 0.09 < 0.05 + 1.96 * 0.0218


def test_simulation_mdes_interpolates_the_grid() -> None:
    s = pd.DataFrame([_summary("0", "CR1", 0.05, 0.0), _summary("-0.01", "CR1", 0.5, -0.01),
                      _summary("-0.02", "CR1", 0.9, -0.02), _summary("-0.03", "CR1", 0.99, -0.03),
                      _summary("-0.01", "CR2", 0.2, -0.01), _summary("-0.02", "CR2", 0.6, -0.02)])
    m = simulation_mdes(s, "y").set_index("method")
    assert abs(m.loc["CR1", "mdes"] - (-0.0175)) < 1e-12  # -0.01 + (0.3 / 0.4) * -0.01
    assert np.isnan(m.loc["CR2", "mdes"])  # power never reaches 80 % on the grid


def test_study_mdes_reads_the_headlines_pair_test_from_a_study(tmp_path: Path) -> None:
    """The appendix's Monte Carlo MDES row: the headline's pair-level test on the study's grid."""
    from fvdid.stages.inference import study_mdes

    s = pd.DataFrame([_summary("null", "IM_pairs_tq-1", 0.04, 0.0),
                      _summary("-0.01", "IM_pairs_tq-1", 0.4, -0.01),
                      _summary("-0.02", "IM_pairs_tq-1", 0.9, -0.02),
                      _summary("-0.01", "WCR_webb", 0.85, -0.01)])
    s.to_parquet(tmp_path / "summary.parquet", index=False)
    # -0.01 + (0.4 / 0.5) * -0.01: linear interpolation, rounding only
    assert study_mdes(tmp_path, "y") == pytest.approx(-0.018, abs=1e-12)
    s[s["effect"] == "null"].to_parquet(tmp_path / "summary.parquet", index=False)
    assert study_mdes(tmp_path, "y") is None  # no grid: no Monte Carlo row
    assert study_mdes(tmp_path / "absent", "y") is None


# ---------------------------------------------------------------------------- engine, resume


def _study(out: Path, **kw):
    return fvdid.montecarlo(out, reps=kw.pop("reps", 12), replicate=TEXTBOOK, scheduler="sync",
                            effect_grid=kw.pop("effect_grid", "0:1:3"),
                            progress=kw.pop("progress", False), seed=5, **kw)


def test_interrupted_study_resumes_to_the_same_table(tmp_path: Path) -> None:
    full = _study(tmp_path / "full")
    assert full.complete and full.run.n_run == 5 * 12
    part = _study(tmp_path / "part", stop_after=17)
    assert not part.complete and part.run.n_run == 17
    assert len(list((tmp_path / "part" / "replications").glob("*.parquet"))) == 17
    # a half-written temporary file (a crash mid-write) is ignored
    (tmp_path / "part" / "replications" / ".null__r000011.parquet.123.tmp").write_bytes(b"junk")
    again = _study(tmp_path / "part")
    assert again.complete and again.run.n_skipped == 17 and again.run.n_run == 60 - 17
    pd.testing.assert_frame_equal(again.table, full.table)
    a, _ = load_replications(tmp_path / "part")
    b, _ = load_replications(tmp_path / "full")
    pd.testing.assert_frame_equal(a, b)
    assert _study(tmp_path / "part").run.n_run == 0  # nothing left to do
    assert pd.read_parquet(tmp_path / "full" / "summary.parquet").equals(full.table)


def test_contract_columns_and_files(tmp_path: Path) -> None:
    res = _study(tmp_path / "s", reps=4, effect_grid=None)
    rows, _ = load_replications(tmp_path / "s")
    for c in ("replication", "effect", "outcome", "estimator", "method", "estimate",
              "std_error", "conf_low", "conf_high", "p_value", "truth"):
        assert c in rows.columns, c
    assert set(rows["effect"]) == {"null", "design"}
    assert (rows["estimator"] == "headline").any()
    s = pd.read_parquet(tmp_path / "s" / "summary.parquet")
    for c in ("bias", "rmse", "coverage", "rejection_rate", "n_reps"):
        assert c in s.columns and (c == "n_reps" or f"{c}_mcse" in s.columns), c
    assert len(s) == len(s.drop_duplicates(["effect", "outcome", "estimator", "method"])) == 4
    html = res.paths["html"].read_text()
    assert "data:image/png;base64," in html and "http" not in html.replace("http-equiv", "")
    assert "Which inference holds its size on this design" in res.paths["md"].read_text()


def test_methods_filter_and_resume_guard(tmp_path: Path) -> None:
    res = _study(tmp_path / "s", reps=3, effect_grid=None, methods=["t"])
    assert set(res.table["method"]) == {"t"}
    with pytest.raises(FvdidInputError, match="different study"):
        fvdid.montecarlo(tmp_path / "s", reps=3, replicate=TEXTBOOK, scheduler="sync", seed=6,
                         progress=False)
    with pytest.raises(FvdidInputError, match="never reported"):
        _study(tmp_path / "s2", reps=2, effect_grid=None, methods=["t", "CR9"])


class _Failing:
    def __call__(self, seed, scenario, design):
        if seed % 2:
            raise ValueError("singular design")
        return TEXTBOOK(seed, scenario, design)


def test_failed_replications_are_recorded_not_lost(tmp_path: Path) -> None:
    rep = _Failing()
    res = fvdid.montecarlo(tmp_path / "s", reps=10, effects="null", replicate=rep,
                           scheduler="sync", progress=False)
    _, failures = load_replications(tmp_path / "s")
    n_odd = sum(replication_seed(0, "null", r) % 2 for r in range(10))
    assert 0 < n_odd < 10  # the seeds of this test do split
    assert res.run.n_failed == len(failures) == n_odd
    assert int(res.table["n_failed"].iloc[0]) == n_odd
    assert (res.table["n_reps"] == 10 - n_odd).all()
    assert res.complete
    assert "singular design" in failures["error"].iloc[0]


def test_run_study_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(FvdidInputError, match="reps"):
        run_study(tmp_path, TEXTBOOK, Design(), scenarios(["null"]), 0)
    with pytest.raises(FvdidInputError, match="seed"):
        run_study(tmp_path, TEXTBOOK, Design(), scenarios(["null"]), 2, seed=-1)


def test_cli_montecarlo(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["montecarlo", "--replication", "textbook", "--reps", "6", "--effects", "null",
            "--effect-grid", "0:1:2", "--scheduler", "sync", "--seed", "3", "--out", str(out),
            "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "18 replications run" in res.output
    assert (out / "montecarlo.html").exists() and (out / "summary.parquet").exists()
    res = CliRunner().invoke(app, [*args[:-1], "--methods", "t,z", "--quiet"])
    assert res.exit_code != 0 and "different study" in res.output
    bad = tmp_path / "bad.toml"
    bad.write_text("nope = 1\n")
    res = CliRunner().invoke(app, ["montecarlo", "--design", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "'nope'" in res.output


def test_public_names() -> None:
    assert callable(fvdid.montecarlo) and fvdid.montecarlo.__module__ == "fvdid.montecarlo.study"
    from fvdid.montecarlo.engine import run_study as rs

    assert callable(rs)


def test_progress_lines_without_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _study(tmp_path / "p", reps=5, effect_grid=None, progress=True, progress_every=4)
    err = capsys.readouterr().err.strip().splitlines()
    # 10 replications, a line every 4 and one at the end: 4, 8, 10
    assert [line.split()[2] for line in err] == ["4/10", "8/10", "10/10"], err
    assert all("reps/s" in line and "ETA" in line for line in err)


def test_analysis_replication_calls_the_lean_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replication simulates the scenario's config and passes analyse its switches."""
    import fvdid.simulation
    from fvdid import pipeline
    from fvdid.montecarlo.replication import AnalysisReplication

    seen: dict = {}

    def fake_simulate(seed, n_children, config):
        seen.update(seed=seed, n=n_children, effect_la=config.effect_la)
        return "sim"

    class _Records:
        def records(self) -> pd.DataFrame:
            return pd.DataFrame([{"outcome": "o", "estimator": "headline", "method": "m",
                                  "estimate": 0.0, "std_error": 1.0, "conf_low": -2.0,
                                  "conf_high": 2.0, "p_value": 1.0, "truth": 0.0}])

    def fake_analyse(ex, cfg, *, secondary=True, sensitivity=True, figures=False):
        seen.update(ex=ex, cfg_seed=cfg.seed, secondary=secondary, sensitivity=sensitivity)
        return _Records()

    monkeypatch.setattr(fvdid.simulation, "simulate", fake_simulate)
    monkeypatch.setattr(pipeline, "simulated_extract", lambda cfg, sim=None: (("extract", sim), sim))
    monkeypatch.setattr(pipeline, "analyse", fake_analyse)
    rep = AnalysisReplication(run_options=(("boot_B", 99),), secondary=False, sensitivity=False)
    out = rep(42, scenarios((), [-0.02])[0], Design(n_children=5000))
    assert len(out) == 1
    assert seen == {"seed": 42, "n": 5000, "effect_la": -0.02, "ex": ("extract", "sim"),
                    "cfg_seed": 42, "secondary": False, "sensitivity": False}


def test_default_study_is_used_only_for_its_own_design(tmp_path: Path) -> None:
    import json

    from fvdid.config import RunConfig
    from fvdid.pipeline import default_study

    (tmp_path / "summary.parquet").write_bytes(b"")
    (tmp_path / "study.json").write_text(json.dumps({"design": {"n_children": 100_000}}))
    assert default_study(RunConfig(n_children=100_000), tmp_path) == tmp_path
    assert default_study(RunConfig(n_children=20_000), tmp_path) is None
    (tmp_path / "study.json").write_text(json.dumps({"design": {"n_children": 100_000, "n_las": 40}}))
    assert default_study(RunConfig(n_children=100_000), tmp_path) is None
    assert default_study(RunConfig(), tmp_path / "absent") is None


def test_size_table_marks_conservative_methods() -> None:
    """500 null replications: band 5 % ± 1.96·√(.05·.95/500) = 3.09–6.91 %; 1 % is below it
    (conservative), 5.4 % inside, 12 % above."""
    from fvdid.montecarlo.report import size_table

    s = pd.DataFrame({"effect": "null", "outcome": "y", "estimator": "headline",
                      "method": ["a", "b", "c"], "n_reps": 500, "n_missing_p": 0,
                      "rejection_rate": [0.01, 0.054, 0.12], "rejection_rate_mcse": 0.01})
    t = size_table(s).set_index("method")
    assert t.loc["a", "conservative"] and not t.loc["a", "holds_size"]
    assert t.loc["b", "holds_size"] and not t.loc["b", "conservative"]
    assert not t.loc["c", "holds_size"] and not t.loc["c", "conservative"]
    assert t.loc["a", "band_low"] == pytest.approx(0.05 - 1.959963984540054 * math.sqrt(0.05 * 0.95 / 500), rel=1e-12)


def test_size_is_not_judged_on_too_few_replications() -> None:
    """34 null replications: the band would be −2.3 %–12.3 %; no verdict either way."""
    from fvdid.montecarlo.report import MIN_REPS_VERDICT, size_table

    s = pd.DataFrame({"effect": "null", "outcome": "y", "estimator": "headline",
                      "method": ["few", "many"], "n_reps": [34, 500], "n_missing_p": 0,
                      "rejection_rate": [0.0, 0.05], "rejection_rate_mcse": 0.01})
    t = size_table(s).set_index("method")
    assert MIN_REPS_VERDICT > 34
    assert not t.loc["few", "judged"] and not t.loc["few", "holds_size"] and not t.loc["few", "conservative"]
    assert t.loc["many", "judged"] and t.loc["many", "holds_size"]
