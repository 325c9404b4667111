"""The parity framework itself: label alignment, tolerances, stale goldens, the report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fvdid.cli import app
from parity import Tol
from parity.compare import Labelled, compare, normalise
from parity.registry import all_cases, get_case
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
    names = [c.name for c in all_cases()]
    assert len(names) == len(set(names))
    assert len(names) >= 100


def test_parity_cli_writes_the_report(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["parity", "--replay", "--family", "hochberg", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "parity.json").read_text())
    assert doc["counts"]["pass"] == 3 and doc["counts"]["fail"] == 0
    assert (tmp_path / "parity.md").read_text().startswith("# Parity report")
    assert "<table" in (tmp_path / "parity.html").read_text()
    assert any(r["quantity"] for r in doc["rows"]) and doc["versions"]["r_versions"]
