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


# ------------------------------------------------------------------------------------------
# Issue #16: fixest, the lean path, Monte Carlo throughput, per-row load, fvdid run on 1M
# ------------------------------------------------------------------------------------------
def test_issue16_workloads_and_targets() -> None:
    ols = ALL["ols_twfe_1m"]
    fixest = next(i for i in ols.impls if i.name == "R fixest")
    assert fixest.kind == "r" and (harness.IMPL_R / f"{fixest.runner}.R").exists()
    nos = [t for t in ols.targets if t.kind == "no_slower"]
    assert [t.others for t in nos] == [("R fixest",)]
    assert "K.fixef" in next(q for q in ols.quantities if q.name == "se_x1").reason

    (run_t,) = ALL["fvdid_run_default"].targets
    assert (run_t.kind, run_t.value) == ("max_seconds", 20.0)

    big = ALL["fvdid_run_1m"]
    assert "fvdid_run_1m" not in DEFAULT
    assert [(t.kind, t.value) for t in big.targets] == [("max_rss_mb", 8192.0)]
    assert harness.impl_params(big.impls[0], big)["cli_args"] == ["--n-children", "1000000"]
    assert big.min_timeout > harness.DEFAULT_TIMEOUT  # a long run is not cut at the default

    lean = ALL["lean_analysis_100k"]
    assert "lean_analysis_100k" in DEFAULT and lean.key == "primary_estimate"
    # the lean path's options are the default study's (validation/montecarlo-100k-imp/run.toml)
    assert harness.impl_params(lean.impls[0], lean)["run_options"] == {
        "n_imputations": 2, "boot_B": 399, "ri_pool_max": 0,
        "extras": {"la_placebo": False, "la_figures": False}}

    mc = ALL["montecarlo_throughput"]
    assert "montecarlo_throughput" in DEFAULT
    workers = {i.name: harness.impl_params(i, mc)["workers"] for i in mc.impls}
    assert workers == {FVDID: 1, f"{FVDID}, 2 workers": 2}
    assert all(harness.impl_params(i, mc)["reps"] == 4 for i in mc.impls)

    probe = next(i for i in ALL["boottest_1m_g20"].impls if not i.compare)
    assert harness.impl_params(probe, ALL["boottest_1m_g20"])["B"] == 9_999


def test_parallel_speedup_target() -> None:
    t = Target("t", "min_parallel_speedup", 1.6, other="two")
    one = {"status": "ok", "seconds": 10.0, "estimate": {"rps": 0.4}}
    ev = harness.evaluate_target
    assert ev(t, {FVDID: one, "two": {"status": "ok", "estimate": {"rps": 0.7}}}, "rps")["met"]
    slow = ev(t, {FVDID: one, "two": {"status": "ok", "estimate": {"rps": 0.5}}}, "rps")
    assert slow["met"] is False and "1.25x" in slow["measured"]
    assert ev(t, {FVDID: one, "two": {"status": "error"}}, "rps")["met"] is None


def _row(status: str, load: float, cpus: int = 2, seconds: float = 1.0) -> dict:
    return {"implementation": "x", "status": status, "seconds": seconds, "load_start": load,
            "logical_cpus": cpus}


def test_remeasure_rule() -> None:
    assert harness.needs_remeasure(_row("ok", 2.5)) is True  # 1.25 per CPU > 1
    assert harness.needs_remeasure(_row("ok", 1.9)) is False  # 0.95 per CPU
    assert harness.needs_remeasure(_row("ok", 1.9), above=0.5) is True
    assert harness.needs_remeasure(_row("timeout", 5.0)) is True
    assert harness.needs_remeasure(_row("absent", 5.0)) is False  # nothing to re-measure
    assert harness.needs_remeasure(_row("error", 5.0)) is False
    assert harness.needs_remeasure({"status": "ok"}) is False  # no load recorded
    done = harness.pick_measurement(_row("ok", 4.0), _row("ok", 3.0))
    assert harness.needs_remeasure(done) is False  # once only

    pick = harness.pick_measurement
    low_second = pick(_row("ok", 4.0, seconds=2.0), _row("ok", 1.0, seconds=3.0))
    assert low_second["remeasured"]["kept"] == "second" and low_second["seconds"] == 3.0
    high_second = pick(_row("ok", 4.0, seconds=2.0), _row("ok", 5.0, seconds=1.0))
    assert high_second["remeasured"]["kept"] == "first" and high_second["seconds"] == 2.0
    finished = pick(_row("timeout", 1.0), _row("ok", 6.0))
    assert finished["remeasured"]["kept"] == "second" and finished["status"] == "ok"
    assert low_second["remeasured"]["first"]["seconds"] == 2.0  # both runs are kept


def test_remeasure_reruns_busy_rows(no_references: None, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cpus = harness.os.cpu_count() or 1
    load = {"now": 3.0 * cpus}
    monkeypatch.setattr(harness.os, "getloadavg", lambda: (load["now"], 0.0, 0.0))
    w = ALL["tiny_cem"]
    first = harness.run_workload(w, data_dir=tmp_path, timeout=120, kinds=["fvdid", "r"],
                                 log=lambda s: None)
    f1 = next(r for r in first["implementations"] if r["implementation"] == FVDID)
    assert f1["load_start"] == round(3.0 * cpus, 2) and harness.needs_remeasure(f1)
    load["now"] = 0.1 * cpus  # the machine went quiet
    reports = [first]
    assert harness.remeasure(reports, timeout=120, log=lambda s: None) == 1  # R cem is absent
    rows = {r["implementation"]: r for r in reports[0]["implementations"]}
    f = rows[FVDID]
    assert f["remeasured"]["kept"] == "second" and f["load_start"] == round(0.1 * cpus, 2)
    assert f["remeasured"]["first"]["load_start"] == round(3.0 * cpus, 2)
    assert "remeasured" not in rows["R cem"] and rows["R cem"]["status"] == "absent"
    assert reports[0]["targets"][0]["met"] is True  # judged again on the kept row
    assert harness.remeasure(reports, timeout=120, log=lambda s: None) == 0  # once only
    rep = {"machine": {**harness.machine_info(with_r=False), "load_average_end": [0.0]},
           "settings": {"timeout_seconds": 120, "remeasure_above": 1.0,
                        "remeasure_rule": "x", "remeasured_rows": 1},
           "workloads": reports}
    md = harness.markdown(rep)
    row = next(line for line in md.splitlines() if line.startswith("| **tiny_cem** | fvdid |"))
    assert "(re-measured)" in row and f"| {0.1 * cpus:.2f} |" in row
    assert "tiny_cem / fvdid: re-measured (start load" in md


def test_load_recorded_per_row(tiny_report: tuple[dict, Path]) -> None:
    report, _ = tiny_report
    assert "remeasure_rule" in report["settings"]
    impls = {r["implementation"]: r for r in report["workloads"][0]["implementations"]}
    f = impls[FVDID]
    assert f["load_start"] >= 0 and f["load_end"] >= 0 and f["logical_cpus"] >= 1


def _r_with_fixest() -> bool:
    rs, _ = harness.rscript()
    if rs is None:
        return False
    out = harness._cmd([rs, "--vanilla", "-e", "cat(requireNamespace('fixest', quietly = TRUE))"])
    return bool(out) and out.strip().endswith("TRUE")


def test_fixest_absent_without_its_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R_LIBS", str(tmp_path / "empty-library"))
    monkeypatch.delenv("R_LIBS_USER", raising=False)
    if harness.rscript()[0] is None:
        pytest.skip("Rscript not on this machine")
    if _r_with_fixest():
        pytest.skip("fixest is installed in R's own libraries: it cannot be made absent")
    w = ALL["tiny_ols_twfe"]
    meta = harness.dataset(w, tmp_path, log=lambda s: None)
    fixest = next(i for i in w.impls if i.name == "R fixest")
    r = harness.run_impl(fixest, w, meta["path"], timeout=120)
    assert r["status"] == "absent" and "fixest" in r["reason"] and "R searched" in r["reason"]
    assert "seconds" not in r


def test_fixest_agrees_with_fvdid_on_tiny(tmp_path: Path) -> None:
    if not _r_with_fixest():
        pytest.skip("R or fixest not installed (R_LIBS names the library that holds fixest)")
    w = ALL["tiny_ols_twfe"]
    out = harness.run_workload(w, data_dir=tmp_path, timeout=300, kinds=["fvdid", "r"],
                               log=lambda s: None)
    rows = {r["implementation"]: r for r in out["implementations"]}
    fx = rows["R fixest"]
    assert fx["status"] == "ok", fx
    assert fx["agreement"]["agrees"] is True, fx["agreement"]  # coefficient and CR1 SE
    assert fx["version"] and fx["estimate"]["nthreads"] >= 1
    assert next(t for t in out["targets"] if t["kind"] == "identical")["met"] is True


def test_montecarlo_runner_tiny(tmp_path: Path) -> None:
    w = ALL["tiny_montecarlo"]
    one = w.impls[0]
    r = harness.run_impl(one, w, None, timeout=300)
    assert r["status"] == "ok", r
    est = r["estimate"]
    assert est["reps"] == 2 and est["workers"] == 1
    assert est["reps_per_second"] > 0 and est["worker_peak_rss_mb"] > 0


def test_run_timeline_names_the_analysis_tasks() -> None:
    """``python -m bench.run_timeline`` labels a secondary outcome's task by the outcome its
    closure holds, and a named task by its function's name."""
    from bench.run_timeline import task_label

    def secondary_task(o: str):  # as fvdid.pipeline.analyse builds them
        return lambda: o.upper()

    def placebo_task() -> None:
        return None

    assert task_label(secondary_task("cpp_12m")) == "outcome cpp_12m"
    assert task_label(placebo_task) == "placebo_task"
