"""The pipeline as a list of stages: explicit failures, the lean path, one section per stage."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import fvdid.pipeline
from fvdid.cli import app
from fvdid.config import RunConfig
from fvdid.pipeline import analyse, simulated_extract
from fvdid.stages import DATA_CONDITIONS, DataCondition, attempt
from fvdid.stages.la_matching import run_la_matching
from fvdid.stages.records import RECORD_COLUMNS

runner = CliRunner()

LEAN = {"n_imputations": 1, "boot_B": 199, "parity_in_appendix": False, "progress": False}


@pytest.fixture(scope="module")
def small() -> tuple[RunConfig, object]:
    cfg = RunConfig(seed=5, n_children=20_000, **LEAN)
    return cfg, simulated_extract(cfg)[0]


def test_attempt_records_a_data_condition_and_propagates_anything_else() -> None:
    notes: list[str] = []
    assert attempt(notes, "CEM", lambda: (_ for _ in ()).throw(
        DataCondition("no_common_support", "pair 1"))) is None
    assert notes == [f"CEM not done (no_common_support): {DATA_CONDITIONS['no_common_support']}: pair 1"]
    with pytest.raises(ZeroDivisionError):
        attempt(notes, "x", lambda: 1 / 0)
    with pytest.raises(KeyError):
        attempt(notes, "x", lambda: {}["k"])
    with pytest.raises(ValueError, match="unknown data condition"):
        DataCondition("whatever", "")


def test_a_programming_error_in_a_stage_fails_the_run(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """A ZeroDivisionError inside the sensitivity stage (which catches data conditions) stops
    ``fvdid run`` with a non-zero exit and writes no appendix."""

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(fvdid.pipeline, "run_sensitivity", broken)
    cfg = tmp_path / "o.toml"
    cfg.write_text("n_imputations = 1\nboot_B = 199\nparity_in_appendix = false\nprogress = false\n")
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "out"), "--config", str(cfg),
                              "--n-children", "20000", "--quiet"])
    assert res.exit_code != 0, res.output
    assert isinstance(res.exception, ZeroDivisionError), res.output
    assert not (tmp_path / "out" / "appendix.html").exists()


def test_a_treatment_la_without_acceptable_comparator_is_reported(tmp_path: Path) -> None:
    """A data condition: with ``la_max_distance`` between the treatment LAs' nearest distances,
    one treatment LA has no acceptable comparator; the run completes and the appendix and
    results.json say what could not be done and why."""
    cfg0 = RunConfig(seed=5, n_children=20_000, **LEAN)
    ex, _ = simulated_extract(cfg0)
    lam = run_la_matching(ex.la_quarter, ex.las, outcomes=[cfg0.primary_outcome], config=cfg0,
                          figures=False)
    nearest = lam.result.chosen.groupby("treated_la")["distance"].min().sort_values()
    worst = nearest.index[-1]
    cut = (nearest.iloc[-1] + nearest.iloc[-2]) / 2
    opts = tmp_path / "o.toml"
    opts.write_text("".join(f"{k} = {str(v).lower()}\n" for k, v in LEAN.items())
                    + f"secondary_outcomes = []\n[extras]\nla_max_distance = {float(cut)!r}\n")
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "out"), "--config", str(opts),
                              "--n-children", "20000", "--seed", "5", "--quiet"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "out" / "appendix.html").read_text()
    assert f"Not done (no_acceptable_match): {cfg0.primary_outcome} for treatment LA {worst}" in html
    out = json.loads((tmp_path / "out" / "results.json").read_text())
    assert any(worst in n and "no_acceptable_match" in n for n in out["notes"])
    pairs = pd.DataFrame(out["la_pairs"])
    assert worst not in set(pairs["treated_la"])
    assert out["primary"]["n_clusters"] >= 2


def test_lean_path_returns_every_number_without_figures(small: tuple[RunConfig, object]) -> None:
    cfg, ex = small
    an = analyse(ex, cfg)
    assert an.la_matching.figures == {}
    assert all(a.balance_figure is None for a in an.outcomes.values())
    assert an.sensitivity is not None and an.sensitivity.figures == {}
    rec = an.records()
    assert list(rec.columns) == [*RECORD_COLUMNS, "truth_all_fv", "headline_model"]
    head = rec[rec["estimator"] == "headline"].set_index("method")
    assert head.loc["CR1_tG-1", "estimate"] == an.primary.estimate
    assert head.loc["CR1_tG-1", "headline_model"] == an.primary.headline_model
    assert head.loc["CR1_tG-1", "truth"] == an.truth[cfg.primary_outcome]
    assert set(rec["outcome"]) == set(an.outcomes)
    # The released numbers are the ones results.json holds.
    assert an.results()["primary"]["estimate"] == an.primary.estimate
