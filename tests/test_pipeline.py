"""The main job end to end: CLI round trips, bad input, and recovery of the simulated effect."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fvdid.cli import app
from fvdid.config import RunConfig

runner = CliRunner()

SMALL = 'n_imputations = 2\nboot_B = 999\nparity_in_appendix = false\nprogress = false\n'


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    cfg = out / "options.toml"
    cfg.write_text(SMALL)
    res = runner.invoke(app, ["run", "--out", str(out / "appendix"), "--config", str(cfg),
                              "--n-children", "30000", "--seed", "3", "--quiet"])
    assert res.exit_code == 0, res.output
    return out / "appendix"


def test_run_writes_the_appendix(small_run: Path) -> None:
    for name in ("appendix.html", "appendix.md", "results.json"):
        assert (small_run / name).stat().st_size > 0
    html = (small_run / "appendix.html").read_text()
    # Self-contained: figures embedded, nothing fetched from elsewhere.
    assert "data:image/png;base64," in html and 'src="http' not in html and "src='http" not in html
    res = json.loads((small_run / "results.json").read_text())
    p = res["primary"]
    assert p["outcome"] == "looked_after_18m" and p["n_clusters"] >= 4
    # the interval is the estimate -/+ t(df, 0.975) * SE, df = q - 1 of the pair-level t test
    # (the headline's inference) or G - 1 for CR1, so a wrong SE, critical value or centre fails
    # here; 1e-9 relative: the JSON's 17 digits
    from scipy import stats as _st

    # (n_pair_groups is released through disclosure control; each pair holds two LAs, so q <= G/2)
    df = p["df"]
    if p["headline_inference"] == "IM_pairs_tq-1":
        assert 1 <= df <= p["n_clusters"] / 2 - 1 and df == int(df)
    else:
        assert df == p["n_clusters"] - 1
    half = (p["conf_high"] - p["conf_low"]) / 2
    assert (p["conf_high"] + p["conf_low"]) / 2 == pytest.approx(p["estimate"], rel=1e-9, abs=1e-12)
    assert half == pytest.approx(_st.t.ppf(0.975, df) * p["std_error"], rel=1e-9), p
    # the headline's CR1 stays beside it, with t(G - 1)
    h1 = (p["headline_cr1_conf_high"] - p["headline_cr1_conf_low"]) / 2
    assert h1 == pytest.approx(_st.t.ppf(0.975, p["n_clusters"] - 1) * p["headline_cr1_std_error"], rel=1e-9)
    if p["protocol_model"] == "logit":  # baseline below 5 %: the protocol's rule needs the logit
        assert p["logit_estimate"] is not None and p["logit_std_error"] > 0, p["notes"]
    assert set(res["secondary"]) <= set(RunConfig().secondary_outcomes)
    for section in ("Flow of children", "Matching local authorities", "CEM", "Primary analysis",
                    "Secondary analyses", "Sensitivity analyses", "Provenance"):
        assert section in html, section


def test_released_flow_is_disclosure_controlled(small_run: Path) -> None:
    """results.json leaves the secure environment: its flow counts are suppressed or rounded.

    (The exact arithmetic of the flow, every exclusion counted, is tested on ``prepare``.)
    """
    res = json.loads((small_run / "results.json").read_text())
    flow = pd.DataFrame(res["flow"]["looked_after_18m"])
    assert flow["remaining"].iloc[0] == "30,000"
    assert flow["excluded"].iloc[0] == "-"  # structural zero of the first row
    for col in flow.columns.drop("step"):
        for v in flow[col]:
            assert v in ("-", "[c]") or int(v.replace(",", "")) % 5 == 0, (col, v)


def test_small_cells_are_suppressed(small_run: Path) -> None:
    """No released count table shows a count below the threshold of 10."""
    tables = sorted((small_run / "tables").glob("*.csv"))
    assert tables, "tables are written as CSV too"
    counts = pd.read_csv(small_run / "tables" / "children_by_year.csv")
    for c in ("treatment", "comparison"):
        vals = pd.to_numeric(counts[c].astype(str).str.replace(",", ""), errors="coerce").dropna()
        assert (vals >= 10).all()
    checked = 0
    for t in tables:
        if not (t.name.startswith("flow_") or t.name.startswith("cem_")):
            continue
        frame = pd.read_csv(t, dtype=str)
        for col in [c for c in frame.columns if c == "excluded" or c == "remaining" or c.startswith(("excluded_", "remaining_", "n_"))]:
            for v in frame[col].dropna():
                if v not in ("-", "[c]"):
                    assert int(v.replace(",", "")) >= 10, (t.name, col, v)
                    checked += 1
    assert checked > 0


def test_simulate_then_run_on_the_files(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--n-children", "20000",
                              "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x" / "children.csv").exists()
    cfg = tmp_path / "o.toml"
    cfg.write_text(SMALL + "n_children = 20000\n")
    res = runner.invoke(app, ["run", "--data", str(tmp_path / "x"), "--out", str(tmp_path / "o"),
                              "--config", str(cfg), "--quiet"])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "o" / "results.json").read_text())
    assert out["provenance"]["input"] == "x"  # the folder name only: no absolute path leaves
    assert out["truth"] == {}  # a file extract has no known truth


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--out", "OUT", "--config", "CFG_UNKNOWN"], "unknown configuration option"),
        (["run", "--out", "OUT", "--data", "MISSING"], "does not exist"),
        (["run", "--out", "OUT", "--data", "EMPTYDIR"], "no children table"),
        (["run", "--out", "OUT", "--data", "BADCOL"], "missing required column"),
        (["run", "--out", "OUT", "--config", "CFG_EMPTY"], "empty"),
        (["run", "--out", "OUT", "--data", "EMPTYFILE"], "is empty"),
        (["simulate", "--out", "OUT", "--n-children", "0"], "n_children"),
        (["simulate", "--out", "OUT", "--format", "xlsx"], "--format"),
    ],
)
def test_bad_input_gives_clear_error_and_nonzero_exit(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "unknown.toml").write_text("boot_b = 3\n")
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "emptydir").mkdir()
    bad = tmp_path / "badcol"
    bad.mkdir()
    pd.DataFrame({"child_id": ["a"], "la_code": ["E08000026"]}).to_csv(bad / "children.csv", index=False)
    pd.DataFrame({"la_code": ["E08000026"]}).to_csv(bad / "las.csv", index=False)
    pd.DataFrame({"la": ["E08000026"], "quarter": ["2021Q1"]}).to_csv(bad / "la_quarter.csv", index=False)
    ef = tmp_path / "emptyfile"
    ef.mkdir()
    (ef / "children.csv").write_text("")
    subst = {"EMPTYFILE": str(ef), "OUT": str(tmp_path / "out"), "CFG_UNKNOWN": str(tmp_path / "unknown.toml"),
             "CFG_EMPTY": str(tmp_path / "empty.toml"), "MISSING": str(tmp_path / "nope"),
             "EMPTYDIR": str(tmp_path / "emptydir"), "BADCOL": str(bad)}
    res = runner.invoke(app, [subst.get(a, a) for a in args])
    assert res.exit_code != 0
    assert message in res.output, res.output


def test_unknown_cli_option_fails() -> None:
    res = runner.invoke(app, ["run", "--out", "x", "--bogus"])
    assert res.exit_code != 0


@pytest.mark.slow
def test_primary_regression_covers_the_truth_across_seeds() -> None:
    """Coverage of the 95 % interval for the true effect over several simulated extracts.

    Six seeds; with a correctly sized interval the number covering is Binomial(6, 0.95): five or
    more with probability 0.97. Requiring >= 4 (probability 0.998 under correct size) fails only
    if the interval is badly mis-sized or the estimator biased by about 2 SE or more. The mean
    estimate must also have the sign of the truth and lie within half of it, a check on bias that
    a wide interval cannot pass by itself.
    """
    from fvdid.pipeline import simulated_extract
    from fvdid.stages.la_matching import run_la_matching
    from fvdid.stages.outcome import analyse_outcome, true_att

    warnings.filterwarnings("ignore")
    covered, ests, truths = 0, [], []
    for seed in range(6):
        cfg = RunConfig(seed=seed, n_children=40_000, n_imputations=2,
                        extras={"la_figures": False, "la_placebo": False})
        ex, _ = simulated_extract(cfg)
        lam = run_la_matching(ex.la_quarter, ex.las, outcomes=[cfg.primary_outcome], config=cfg)
        a = analyse_outcome(cfg.primary_outcome, ex.children, ex.las, lam.pairs, cfg, bootstrap=False)
        assert a.estimate is not None, a.notes
        tr = true_att(ex.truth, a.prepared.analytic, cfg.primary_outcome)
        covered += a.estimate.conf_low <= tr <= a.estimate.conf_high
        ests.append(a.estimate.estimate)
        truths.append(tr)
    assert covered >= 4, (covered, ests, truths)
    mean_est, mean_truth = sum(ests) / len(ests), sum(truths) / len(truths)
    assert mean_est < 0 and abs(mean_est - mean_truth) < 0.5 * abs(mean_truth), (ests, truths)
