"""Smoke test of the benchmark harness (``python -m bench``): a tiny workload, fvdid only.

R and the Python peers are made unavailable on purpose (``FVDID_RSCRIPT`` and
``FVDID_PEERS_PYTHON`` pointing at nothing), so the test is fast and checks that a missing
implementation is reported as ``absent`` with its reason, never as a time of zero.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.workloads import ALL, DEFAULT, FVDID, Quantity, Target, Workload  # noqa: E402


@pytest.fixture()
def no_references(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FVDID_PEERS_PYTHON", str(tmp_path / "no-such-venv" / "python"))
    monkeypatch.setenv("FVDID_RSCRIPT", str(tmp_path / "no-such-R" / "Rscript"))


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("bench")
    mp.setenv("FVDID_PEERS_PYTHON", str(tmp / "no-such-venv" / "python"))
    mp.setenv("FVDID_RSCRIPT", str(tmp / "no-such-R" / "Rscript"))
    try:
        report = harness.run(["tiny_cem"], data_dir=tmp / "data", timeout=120, log=lambda s: None)
    finally:
        mp.undo()
    return report, tmp


def test_report_shape(tiny_report: tuple[dict, Path]) -> None:
    report, _ = tiny_report
    assert report["schema"] == harness.SCHEMA
    assert report["complete"] is True
    for key in ("cpu", "logical_cpus", "memory_gb", "python", "load_average_start"):
        assert key in report["machine"]
    (w,) = report["workloads"]
    assert w["name"] == "tiny_cem"
    assert w["key"] == "n_matched"
    assert Path(w["dataset"]["path"]).exists()
    assert w["dataset"]["rows"] == 2_000 and len(w["dataset"]["sha256"]) == 64
    impls = {r["implementation"]: r for r in w["implementations"]}
    assert set(impls) == {i.name for i in ALL["tiny_cem"].impls}

    f = impls[FVDID]
    assert f["status"] == "ok", f
    assert f["seconds"] > 0 and f["n_repeats"] == 3  # fast run: minimum of 3
    assert f["seconds"] == min(f["all_seconds"])
    assert f["peak_rss_mb"] > 0
    assert f["version"]
    assert f["estimate"]["n_matched"] > 0 and f["estimate"]["n_strata"] > 0


def test_absent_is_reported_as_absent(tiny_report: tuple[dict, Path]) -> None:
    report, _ = tiny_report
    impls = {r["implementation"]: r for r in report["workloads"][0]["implementations"]}
    for name in ("R cem", "cem (PyPI)"):
        r = impls[name]
        assert r["status"] == "absent"
        assert "does not exist" in r["reason"]
        assert "seconds" not in r
        assert r["ratio_vs_fvdid"] is None
        assert r["agreement"]["agrees"] is None
    (t,) = report["workloads"][0]["targets"]
    assert t["met"] is True  # fvdid's own time target is judged without the references


def test_written_json_and_markdown(tiny_report: tuple[dict, Path]) -> None:
    report, tmp = tiny_report
    before = harness.README_TABLE.read_text() if harness.README_TABLE.exists() else None
    paths = harness.write(report, tmp / "out")
    assert [p.name for p in paths] == ["latest.json", "latest.md"]  # partial run: no README table
    assert (harness.README_TABLE.read_text() if harness.README_TABLE.exists() else None) == before
    again = json.loads(paths[0].read_text())
    assert again["workloads"][0]["name"] == "tiny_cem"
    md = paths[1].read_text()
    rows = [line for line in md.splitlines() if line.startswith("|") and "cem (PyPI)" in line]
    assert rows and "absent" in rows[0] and "0.000" not in rows[0]
    assert "| tiny_cem | cem tiny < 5 s |" in md


def test_dataset_written_once(tiny_report: tuple[dict, Path]) -> None:
    report, tmp = tiny_report
    meta = harness.dataset(ALL["tiny_cem"], tmp / "data", log=lambda s: None)
    assert meta["reused"] is True
    assert meta["sha256"] == report["workloads"][0]["dataset"]["sha256"]


def test_kinds_filter_skips(no_references: None, tmp_path: Path) -> None:
    w = ALL["tiny_cem"]
    out = harness.run_workload(w, data_dir=tmp_path, timeout=120, kinds=["r"], log=lambda s: None)
    impls = {r["implementation"]: r for r in out["implementations"]}
    assert impls[FVDID]["status"] == "skipped"
    assert impls["R cem"]["status"] == "absent"
    assert out["targets"][0]["met"] is None  # unknown, not "met", when fvdid did not run


def test_agreement_and_targets_logic() -> None:
    w = Workload(name="x", title="x", params={}, impls=(), key="a",
                 quantities=(Quantity("a", 1e-8, "r"), Quantity("p", 0.0, "r", mc_B=10_000)))
    ref = {"status": "ok", "seconds": 2.0, "peak_rss_mb": 100.0, "estimate": {"a": 1.0, "p": 0.5}}
    near = {"status": "ok", "seconds": 30.0, "estimate": {"a": 1.0 + 1e-10, "p": 0.51}}
    far = {"status": "ok", "seconds": 1.0, "estimate": {"a": 1.1, "p": 0.5}}
    assert harness.agreement(w, ref, near)["agrees"] is True  # 0.01 < 4 sqrt(.25 / 1e4) = 0.02
    assert harness.agreement(w, ref, far)["agrees"] is False
    assert harness.agreement(w, ref, {"status": "absent"})["agrees"] is None
    impls = {FVDID: ref, "R": near, "peer": far, "gone": {"status": "absent"},
             "slow": {"status": "timeout", "wall_seconds": 900.0}}
    ev = harness.evaluate_target
    assert ev(Target("t", "min_speedup", 10.0, other="R"), impls)["met"] is True
    assert ev(Target("t", "min_speedup", 20.0, other="R"), impls)["met"] is False
    assert ev(Target("t", "min_speedup", 10.0, other="gone"), impls)["met"] is None
    assert ev(Target("t", "min_speedup", 10.0, other="slow"), impls)["met"] is True  # >= 450x
    assert ev(Target("t", "no_slower", others=("R", "peer")), impls)["met"] is False
    assert ev(Target("t", "no_slower", others=("R", "gone")), impls)["met"] is True
    assert ev(Target("t", "no_slower", others=("gone",)), impls)["met"] is None
    assert ev(Target("t", "max_seconds", 1.0), impls)["met"] is False


def test_default_workloads_cover_the_issue() -> None:
    names = set(DEFAULT)
    for n in ("did_panel_200k", "did_panel_1m", "did_rc_1m", "cem_100k", "cem_1m",
              "bacon_152x28", "bacon_1000x40", "boottest_100k_g10", "boottest_1m_g20",
              "ols_twfe_1m", "fvdid_run_default", "simulate_100k", "simulate_1m"):
        assert n in names
    for n in DEFAULT:
        w = ALL[n]
        assert w.impls[0].name == FVDID
        assert any(q.name == w.key for q in w.quantities)
        for impl in w.impls:
            if impl.kind == "r":
                assert (harness.IMPL_R / f"{impl.runner}.R").exists()
