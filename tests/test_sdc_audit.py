"""Automated disclosure audit (issue 18): the pipeline's outputs leave no small count, no
boundable suppressed cell and no absolute path; the audit fails when a small count is injected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from fvdid.reporting.sdc import bounds, release_count
from fvdid.reporting.sdc_audit import audit_outputs


def test_bounds_recovers_the_subtraction_of_issue_18() -> None:
    # a row total 12 (exact, base 1) with one other cell 10: the suppressed cell is exactly 2
    tab = pd.DataFrame({"treatment": ["[c]"], "comparison": ["10"]}, index=["kinship"])
    b = bounds(tab, {"rows": pd.Series({"kinship": "12"})}, base=1)
    assert (b["low"].iloc[0], b["high"].iloc[0]) == (2.0, 2.0)
    # rounded to base 5: 10 -> [8, 12], 15 -> [13, 17]: the cell is within [1, 9]
    b5 = bounds(tab, {"rows": pd.Series({"kinship": "15"})}, base=5)
    assert (b5["low"].iloc[0], b5["high"].iloc[0]) == (1.0, 9.0)


def test_release_count() -> None:
    assert release_count(7) == "[c]"
    assert release_count(7261) == "7,260"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fvdid.config import RunConfig
    from fvdid.pipeline import run

    out = tmp_path_factory.mktemp("sdc_audit")
    cfg = RunConfig(n_imputations=1, boot_B=199, parity_in_appendix=False, n_children=20000, seed=3)
    run(cfg, out_dir=out)
    return out


def test_default_run_passes_the_audit(run_dir: Path) -> None:
    assert audit_outputs(run_dir) == []
    assert list((run_dir / "figures").glob("*.csv")), "every figure writes its data"


@pytest.mark.parametrize("where", ["note", "figure", "table", "path", "bounded"])
def test_audit_fails_on_an_injected_disclosure(run_dir: Path, tmp_path: Path, where: str) -> None:
    out = tmp_path / "out"
    shutil.copytree(run_dir, out)
    if where == "note":
        md = out / "appendix.md"
        md.write_text(md.read_text() + "\nA note: 3 children were excluded.\n")
    elif where == "figure":
        f = next((out / "figures").glob("la_trends_*.csv"))
        d = pd.read_csv(f)
        d.loc[0, "denominator"] = 4
        d.to_csv(f, index=False)
    elif where == "table":
        f = out / "tables" / "children_by_year.csv"
        d = pd.read_csv(f, dtype=str)
        d.iloc[0, 1] = "7"
        d.to_csv(f, index=False)
    elif where == "path":
        j = out / "results.json"
        j.write_text(j.read_text().replace("{", '{"where": "/home/analyst/extract",', 1))
    else:  # a suppressed remaining count recoverable from all = treatment + comparison
        f = next((out / "tables").glob("flow_*.csv"))
        d = pd.read_csv(f, dtype=str)
        d.loc[1, "remaining_comparison"] = "[c]"
        d.to_csv(f, index=False)
    assert audit_outputs(out), where


def test_acro_sees_regressions(tmp_path: Path) -> None:
    pytest.importorskip("acro")
    import numpy as np

    from fvdid.reporting.sdc import acro_check

    rng = np.random.default_rng(1)
    d = pd.DataFrame({"g": rng.integers(0, 2, 200), "yr": rng.integers(0, 2, 200), "x": rng.normal(size=200)})
    d["y"] = d["x"] + rng.normal(size=200)
    d["b"] = (d["y"] > 0).astype(int)
    small = d.head(8)  # 8 rows, 2 parameters: 6 residual df, below the threshold
    rep = acro_check(d, tmp_path / "acro", index="yr", columns="g",
                     regressions=[("ols", "y ~ x", d), ("logit", "b ~ x", d), ("ols", "y ~ x", small)])
    assert rep is not None and rep["folder"] == "acro"
    statuses = list(rep["outputs"].values())
    assert len(statuses) == 4, rep  # the crosstab and three regressions
    assert statuses[-1] == "fail" and statuses[1] == "pass", rep
