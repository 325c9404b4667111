"""The parity framework itself: label alignment, tolerances, stale goldens, the report."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fvdid.cli import app
from fvdid.stages.parity_report import parity_section
from parity import Tol
from parity.compare import Labelled, compare, normalise
from parity.golden import StaleGolden, load_golden, pinned_versions, verify_provenance
from parity.paths import GOLDEN_DIR, R_DIR, REPO_ROOT
from parity.registry import all_cases, get_case
from parity.report import report_frame, write_report
from parity.runner import run_case


def test_compare_aligns_by_label_not_position() -> None:
    ref = Labelled(("a", "b", "c"), np.array([1.0, 2.0, 3.0]))
    got = normalise(pd.Series([3.0, 1.0, 2.0], index=["c", "a", "b"]))
    assert compare("q", ref, got, Tol(1e-12, "exact arithmetic on both sides")).passed
    # Same values in the same positions but with swapped labels must fail.
    swapped = normalise(pd.Series([1.0, 2.0, 3.0], index=["b", "a", "c"]))
    assert not compare("q", ref, swapped, Tol(1e-12, "exact arithmetic on both sides")).passed


def test_compare_reports_missing_labels_and_nan() -> None:
    ref = Labelled(("a", "b"), np.array([1.0, np.nan]))
    c = compare("q", ref, normalise({"a": 1.0}), Tol(1.0, "any value would do here"))
    assert not c.passed and "missing in fvdid ['b']" in c.detail
    both_nan = compare("q", ref, normalise({"a": 1.0, "b": float("nan")}), Tol.exact("NaN equals NaN"))
    assert both_nan.passed
    one_nan = compare("q", ref, normalise({"a": 1.0, "b": 0.0}), Tol(1e9, "huge, yet NaN vs 0 fails"))
    assert not one_nan.passed


def test_mc_pvalue_band() -> None:
    tol = Tol.mc_pvalue(9999, "Monte Carlo error of a bootstrap p-value")
    p = 0.05
    band = 4 * np.sqrt(p * (1 - p) / 9999)
    assert tol.bound(np.array([p]))[0] == pytest.approx(band)
    ref = Labelled(None, np.array([p]))
    assert compare("p", ref, normalise(p + 0.9 * band), tol).passed
    assert not compare("p", ref, normalise(p + 1.1 * band), tol).passed


def test_labels_print_integers_without_decimals() -> None:
    q = normalise(pd.Series([1.0], index=pd.MultiIndex.from_tuples([(2004.0, 2006)])))
    assert q.labels == ("2004:2006",)


def test_every_tolerance_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        Tol(1e-8, "  ")


def test_stale_golden_fails_and_says_regenerate() -> None:
    case = get_case("hochberg_secondary")
    changed = dataclasses.replace(case, args={**case.args, "extra": 1})
    res = run_case(changed, "replay")
    assert res.status == "fail" and "regenerate" in res.message
    assert run_case(case, "replay").passed


def test_case_names_unique_and_goldens_present() -> None:
    cases = all_cases()
    names = [c.name for c in cases]
    assert len(names) == len(set(names))
    # every case has its golden file and every golden file belongs to a case, by name
    expected = {f"{c.family}/{c.name}" for c in cases}
    on_disk = {f"{p.parent.name}/{p.stem}" for p in GOLDEN_DIR.glob("*/*.json")}
    assert sorted(expected - on_disk) == [], "cases without a golden file"
    assert sorted(on_disk - expected) == [], "golden files without a case"


def test_golden_recorded_with_another_pinned_version_is_stale() -> None:
    pins = pinned_versions()
    assert pins["did"] == "2.1.2" and pins["BMisc"] == "1.4.5"
    case = get_case("did_mpdta_bootstrap_cband")
    golden = load_golden(case)
    try:
        verify_provenance(case, golden)  # as recorded: current
    except FileNotFoundError as exc:  # mpdta (a shared R dataset) absent on this machine
        pytest.skip(f"shared dataset absent: {Path(str(exc.filename)).name}")
    other = {**golden.provenance, "r_packages": {**golden.provenance["r_packages"], "did": "2.2.0"}}
    with pytest.raises(StaleGolden, match=r"did 2\.2\.0 \(pinned 2\.1\.2\)"):
        verify_provenance(case, dataclasses.replace(golden, provenance=other))
    unrecorded = {k: v for k, v in golden.provenance["r_packages"].items() if k != "did"}
    with pytest.raises(StaleGolden, match="no version recorded for did"):
        verify_provenance(
            case, dataclasses.replace(golden, provenance={**golden.provenance, "r_packages": unrecorded})
        )


def test_install_script_takes_archived_fwildclusterboot_from_the_cran_archive() -> None:
    text = (R_DIR / "install.R").read_text()
    assert pinned_versions()["fwildclusterboot"] == "0.13.0"
    assert "src/contrib/Archive/" in text and "install_version" in text
    readme = (REPO_ROOT / "README.md").read_text()
    assert "archived" in readme and "CRAN archive" in readme


def _fresh_clone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FVDID_SHARED_DATA", str(tmp_path / "no-shared-data"))
    monkeypatch.setenv("FVDID_R_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FVDID_NO_R_EXPORT", "1")


def test_fresh_clone_skips_say_why_without_absolute_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fresh_clone(monkeypatch, tmp_path)
    res = run_case(get_case("cem_ll_default"), "replay")
    assert res.status == "skip"
    assert "data set LL of R package cem" in res.message
    for root in (str(REPO_ROOT), str(tmp_path), str(Path.home())):
        assert root not in res.message
    # the report files, the appendix section and the CLI table all state the skip and its reason
    out = tmp_path / "report"
    write_report([res], out)
    md = (out / "parity.md").read_text()
    assert "## Skipped" in md and "R package cem" in md and "cem_ll_default" in md
    assert str(tmp_path) not in md and str(REPO_ROOT) not in md
    section = parity_section(report_frame([res, run_case(get_case("hochberg_secondary"))]))
    assert "1 cases were skipped" in section.paragraphs[0] and "R package cem" in section.paragraphs[0]
    cli = CliRunner().invoke(app, ["parity", "--replay", "--case", "cem_ll_default"])
    assert cli.exit_code == 0, cli.output
    assert "skipped 1: data set LL of R package cem" in cli.output
    assert str(REPO_ROOT) not in cli.output and str(tmp_path) not in cli.output


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript (R) is not installed")
def test_fresh_clone_exports_the_dataset_from_the_r_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fresh_clone(monkeypatch, tmp_path)
    monkeypatch.delenv("FVDID_NO_R_EXPORT")
    res = run_case(get_case("did_mpdta_universal"), "replay")
    if res.status == "skip":
        assert "R package did" in res.message  # R without did: the reason names it
        pytest.skip(res.message)
    # exported into the cache outside the repository, byte for byte the recorded dataset
    assert res.status == "pass", res.failure_text()
    assert (tmp_path / "cache" / "did__mpdta.csv").exists()


def test_parity_cli_writes_the_report(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["parity", "--replay", "--family", "hochberg", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "parity.json").read_text())
    assert doc["counts"]["pass"] == 3 and doc["counts"]["fail"] == 0
    assert (tmp_path / "parity.md").read_text().startswith("# Parity report")
    assert "<table" in (tmp_path / "parity.html").read_text()
    assert any(r["quantity"] for r in doc["rows"]) and doc["versions"]["r_versions"]
