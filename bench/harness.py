"""The benchmark harness: every implementation of a workload, on one data file, side by side.

For each workload the dataset is generated once (fixed seed) and written to a CSV file (kept in
the data folder and reused while its parameters are unchanged); then each implementation runs in
its own process (fvdid and the Python peers through :mod:`bench.impl_python`, R through
``bench/impl_r/run.R``), reads that file, times the estimator call only and reports its own peak
resident set. Nothing is imputed for an implementation that is not on the machine: it is
reported as ``absent`` with the reason (or ``timeout`` / ``error``), never as a zero.

R finds CRAN-only packages (did, cem, fixest, ...) through the environment the harness passes on
unchanged: ``R_LIBS=/opt/rlib python -m bench`` (``Rscript --vanilla`` skips the Renviron files
but still reads ``R_LIBS``); the library paths R searched are in the report.

Load: the 1-min load average is sampled when each implementation starts. At the end of the run,
every row (status ok or timeout) whose start load per logical CPU exceeded ``remeasure_above``
(default 1.0: more runnable processes than cores) is run once more; the table keeps the run made
under the lower start load (a run that finished beats one that did not), marks the row and the
JSON keeps both (:func:`needs_remeasure`, :func:`pick_measurement`).

A little over 500 lines: running, judging and re-measuring share the row format and stay
together; rendering is in :mod:`bench.report`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import README_TABLE, RESULTS, _finite, _fmt_est, compare_runs, markdown, write
from bench.workloads import ALL, DEFAULT, FVDID, MC_STUDY_REPS, Impl, Quantity, Target, Workload
from parity.golden import sha256_file

__all__ = ["README_TABLE", "RESULTS", "compare_runs", "markdown", "run", "run_impl",
           "run_workload", "write"]

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
IMPL_PY = BENCH / "impl_python.py"
IMPL_R = BENCH / "impl_r"
DEFAULT_PEERS_VENV = Path("/opt/fvdid-peers")
DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "fvdid-bench-data"
DEFAULT_TIMEOUT = 900.0
REMEASURE_ABOVE = 1.0  # 1-min load average per logical CPU at the start of a row
SCHEMA = "fvdid-bench/1"
GENERATOR_VERSION = "1"  # bump when a generator in bench/workloads.py changes


# ------------------------------------------------------------------------------------------
# Environment: interpreters, machine
# ------------------------------------------------------------------------------------------
def peers_python() -> tuple[str | None, str]:
    """The interpreter of the Python peers and where it came from (or None and why not)."""
    env = os.environ.get("FVDID_PEERS_PYTHON")
    if env:
        return (env, "FVDID_PEERS_PYTHON") if Path(env).exists() else (
            None, f"FVDID_PEERS_PYTHON={env} does not exist")
    venv = Path(os.environ.get("FVDID_PEERS_VENV", str(DEFAULT_PEERS_VENV)))
    py = venv / "bin" / "python"
    if py.exists():
        return str(py), str(venv)
    return None, f"no peers venv at {venv} (create it with `bash bench/setup_peers.sh`)"


def rscript() -> tuple[str | None, str]:
    env = os.environ.get("FVDID_RSCRIPT")
    if env:
        return (env, "FVDID_RSCRIPT") if Path(env).exists() else (
            None, f"FVDID_RSCRIPT={env} does not exist")
    found = shutil.which("Rscript")
    return (found, "PATH") if found else (None, "Rscript not found on PATH")


def _read_first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _cmd(args: Sequence[str], timeout: float = 30.0) -> str | None:
    try:
        p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        return (p.stdout or p.stderr).strip() if p.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(with_r: bool = True) -> dict[str, Any]:
    mem_kb = _read_first("/proc/meminfo", "MemTotal")
    import numpy as np
    import pandas as pd

    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _read_first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "logical_cpus": os.cpu_count(),
        "memory_gb": round(int(mem_kb.split()[0]) / 2**20, 1) if mem_kb else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "fvdid_commit": _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
    }
    try:
        import fvdid

        info["fvdid"] = fvdid.__version__
    except Exception as exc:  # reported, not fatal: the fvdid rows say why
        info["fvdid"] = f"not importable: {exc}"
    rs, _ = rscript()
    if with_r and rs:
        out = _cmd([rs, "-e", "cat(R.version.string)"])
        info["r"] = out.splitlines()[-1] if out else "unknown"
        libs = _cmd([rs, "--vanilla", "-e", "cat(.libPaths(), sep = '\\n')"])
        info["r_lib_paths"] = libs.splitlines() if libs else None
    else:
        info["r"] = None
    info["r_libs_env"] = os.environ.get("R_LIBS")
    py, where = peers_python()
    info["peers_python"] = py
    info["peers_python_source"] = where
    return info


# ------------------------------------------------------------------------------------------
# Datasets
# ------------------------------------------------------------------------------------------
def dataset(w: Workload, data_dir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the workload's dataset once (reused while its parameters are unchanged)."""
    if w.generate is None:
        return {"path": None, "note": "no input file: the workload generates its own data"}
    data_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(
        json.dumps({"g": w.generate.__name__, "p": dict(w.params), "v": GENERATOR_VERSION},
                   sort_keys=True).encode()
    ).hexdigest()[:12]
    path = data_dir / f"{w.name}-{key}.csv"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["reused"] = True
        return meta
    log(f"  generating {path.name} ...")
    t0 = time.perf_counter()
    df = w.generate(w.params)
    tmp = path.with_suffix(".csv.part")
    df.to_csv(tmp, index=False, float_format="%.17g")
    tmp.replace(path)
    meta = {
        "path": str(path),
        "rows": len(df),
        "columns": [str(c) for c in df.columns],
        "generator": f"bench.workloads.{w.generate.__name__}",
        "params": dict(w.params),
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    meta["reused"] = False
    return meta


# ------------------------------------------------------------------------------------------
# Running one implementation
# ------------------------------------------------------------------------------------------
def _command(impl: Impl, data: str, params: dict, out: Path) -> tuple[list[str] | None, dict, str]:
    """(argv or None when absent, extra environment, reason when absent)."""
    pj = json.dumps(params)
    env: dict[str, str] = {}
    if impl.kind == "r":
        rs, why = rscript()
        if rs is None:
            return None, env, why
        script = IMPL_R / f"{impl.runner}.R"
        return [rs, "--vanilla", str(IMPL_R / "run.R"), str(script), data, pj, str(out)], env, ""
    if impl.kind == "peer":
        py, why = peers_python()
        if py is None:
            return None, env, why
        return [py, str(IMPL_PY), impl.runner, data, pj, str(out)], env, ""
    # fvdid: this interpreter, with the project root importable
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return [sys.executable, str(IMPL_PY), impl.runner, data, pj, str(out)], env, ""


def impl_params(impl: Impl, w: Workload) -> dict[str, Any]:
    """The workload's parameters with the implementation's overrides (e.g. a probe's B)."""
    return {**dict(w.params), **dict(impl.params)}


def run_impl(impl: Impl, w: Workload, data: str | None, timeout: float,
             params: dict | None = None) -> dict[str, Any]:
    """Run one implementation in its own process; the result always has a ``status``.

    ``timeout`` is raised to the workload's ``min_timeout``; ``params`` default to
    :func:`impl_params`.
    """
    p = impl_params(impl, w) if params is None else dict(params)
    timeout = max(float(timeout), float(w.min_timeout))
    base: dict[str, Any] = {"implementation": impl.name, "kind": impl.kind, "package": impl.package,
                            "runner": impl.runner, "note": impl.note, "compared": impl.compare}
    with tempfile.TemporaryDirectory(prefix="fvdid-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv, extra_env, why = _command(impl, data or "", p, out)
        if argv is None:
            return {**base, "status": "absent", "reason": why}
        env = {**os.environ, **extra_env, "PYTHONWARNINGS": "ignore"}
        base["load_start"] = round(os.getloadavg()[0], 2)
        base["logical_cpus"] = os.cpu_count() or 1
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the process group this call started
            except ProcessLookupError:
                pass
            proc.communicate()
            return {**base, "status": "timeout", "reason": f"no result within {timeout:g} s",
                    "wall_seconds": round(time.perf_counter() - t0, 1),
                    "load_end": round(os.getloadavg()[0], 2)}
        wall = time.perf_counter() - t0
        base["load_end"] = round(os.getloadavg()[0], 2)
        if not out.exists():
            tail = (stderr or stdout or "").strip().splitlines()[-3:]
            return {**base, "status": "error", "wall_seconds": round(wall, 2),
                    "reason": f"exit {proc.returncode}, no result: " + " | ".join(tail)[:600]}
        res = json.loads(out.read_text())
    res.setdefault("status", "error")
    res["wall_seconds"] = round(wall, 2)
    if impl.kind == "r" and res.get("status") == "ok" and "all_seconds" in res:
        res["all_seconds"] = [float(x) for x in res["all_seconds"]]
    return {**base, **res}


# ------------------------------------------------------------------------------------------
# Agreement, ratios, targets
# ------------------------------------------------------------------------------------------
def tolerance(q: Quantity, ref: float) -> float:
    tol = q.atol + q.rtol * abs(ref)
    if q.mc_B:
        p = min(max(ref, 0.0), 1.0)
        tol += 4.0 * math.sqrt(max(p * (1.0 - p), 1.0 / q.mc_B) / q.mc_B)
    return tol


def agreement(w: Workload, ref: dict[str, Any] | None, other: dict[str, Any]) -> dict[str, Any]:
    """Compare the other implementation's quantities with fvdid's: per quantity and overall.

    ``agrees`` is True when every quantity both report agrees within its tolerance, False when
    one does not, None when nothing could be compared (fvdid failed, or no common quantity).
    """
    if ref is None or ref.get("status") != "ok" or other.get("status") != "ok" or not other.get("compared", True):
        return {"agrees": None, "details": {}}
    details: dict[str, Any] = {}
    verdicts: list[bool] = []
    for q in w.quantities:
        a = ref.get("estimate", {}).get(q.name)
        b = other.get("estimate", {}).get(q.name)
        if not (_finite(a) and _finite(b)):
            details[q.name] = {"compared": False, "reason": "not reported by both"}
            continue
        diff = abs(b - a)
        tol = tolerance(q, a)
        ok = diff <= tol
        verdicts.append(ok)
        details[q.name] = {"fvdid": a, "other": b, "abs_diff": diff, "tolerance": tol, "agrees": ok,
                           "reason": q.reason}
    return {"agrees": (all(verdicts) if verdicts else None), "details": details}


def evaluate_target(t: Target, impls: dict[str, dict[str, Any]], key: str = "") -> dict[str, Any]:
    """Judge a target honestly: met, not met, or unknown (with why).

    ``key`` is the workload's key quantity (the throughput of ``min_parallel_speedup``).
    """
    f = impls.get(FVDID, {})
    out: dict[str, Any] = {"target": t.text, "kind": t.kind, "value": t.value}

    def unknown(why: str) -> dict[str, Any]:
        return {**out, "met": None, "measured": why}

    if f.get("status") != "ok":
        return unknown(f"fvdid {f.get('status', 'not run')}")
    fs = float(f["seconds"])
    if t.kind == "max_seconds":
        return {**out, "met": fs <= t.value, "measured": f"{fs:.3g} s"}
    if t.kind == "max_rss_mb":
        m = float(f.get("peak_rss_mb", float("nan")))
        return {**out, "met": m <= t.value, "measured": f"{m:,.0f} MB"}
    if t.kind == "min_speedup":
        o = impls.get(t.other, {})
        if o.get("status") == "timeout":
            # the other did not finish within the timeout: its time is at least that
            lower = float(o.get("wall_seconds", 0.0)) / fs
            return {**out, "met": True if lower >= t.value else None,
                    "measured": f">= {lower:.1f}x ({t.other} timed out)"}
        if o.get("status") != "ok":
            return unknown(f"{t.other} {o.get('status', 'not run')}")
        ratio = float(o["seconds"]) / fs
        return {**out, "met": ratio >= t.value, "measured": f"{ratio:.1f}x"}
    if t.kind == "no_slower":
        avail = [(n, float(impls[n]["seconds"])) for n in t.others
                 if impls.get(n, {}).get("status") == "ok"]
        if not avail:
            return unknown("no other implementation ran: " + ", ".join(
                f"{n} {impls.get(n, {}).get('status', 'not run')}" for n in t.others))
        name, best = min(avail, key=lambda kv: kv[1])
        return {**out, "met": fs <= best,
                "measured": f"fvdid {fs:.3g} s vs {name} {best:.3g} s ({best / fs:.2f}x)"}
    if t.kind == "identical":
        o = impls.get(t.other, {})
        ag = o.get("agreement", {}).get("agrees")
        if ag is None:
            return unknown(f"{t.other} {o.get('status', 'not run')}")
        diffs = [f"{k} abs diff {v['abs_diff']:.2g}" for k, v in o["agreement"]["details"].items()
                 if v.get("compared", True) and "abs_diff" in v]
        return {**out, "met": bool(ag), "measured": "; ".join(diffs)}
    if t.kind == "rss_flat":
        o = impls.get(t.other, {})
        if o.get("status") != "ok":
            return unknown(f"{t.other} {o.get('status', 'not run')}")
        grow = float(f["peak_rss_mb"]) - float(o["peak_rss_mb"])
        return {**out, "met": grow <= t.value,
                "measured": f"{f['peak_rss_mb']:,.0f} MB vs {o['peak_rss_mb']:,.0f} MB ({grow:+,.0f} MB)"}
    if t.kind == "min_parallel_speedup":
        o = impls.get(t.other, {})
        if o.get("status") != "ok":
            return unknown(f"{t.other} {o.get('status', 'not run')}")
        r1, r2 = f.get("estimate", {}).get(key), o.get("estimate", {}).get(key)
        if not (_finite(r1) and _finite(r2)) or r1 <= 0:
            return unknown(f"{key} not reported by both")
        gain = float(r2) / float(r1)
        minutes = MC_STUDY_REPS / float(r2) / 60.0 if r2 > 0 else float("inf")
        return {**out, "met": gain >= t.value,
                "measured": f"{gain:.2f}x ({r1:.3g} -> {r2:.3g} {key}); {MC_STUDY_REPS:,} "
                            f"replications at the faster rate: {minutes:,.1f} min"}
    return unknown(f"unknown target kind {t.kind}")


# ------------------------------------------------------------------------------------------
# Running workloads
# ------------------------------------------------------------------------------------------
def run_workload(w: Workload, *, data_dir: Path, timeout: float, kinds: Iterable[str] | None = None,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    kinds = set(kinds) if kinds else {"fvdid", "r", "peer"}
    log(f"== {w.name}: {w.title}")
    meta = dataset(w, data_dir, log)
    results: dict[str, dict[str, Any]] = {}
    for impl in w.impls:
        if impl.kind not in kinds:
            results[impl.name] = {"implementation": impl.name, "kind": impl.kind,
                                  "package": impl.package, "status": "skipped",
                                  "reason": "not selected (--kinds)", "compared": impl.compare}
            log(f"  {impl.name:22s} skipped")
            continue
        r = run_impl(impl, w, meta.get("path"), timeout)
        results[impl.name] = r
        log("  " + _log_line(w, r))
    return finish_workload(w, meta, results, log)


def finish_workload(w: Workload, meta: dict[str, Any], results: dict[str, dict[str, Any]],
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Agreement with fvdid, ratios and targets from the rows; the workload's report entry."""
    ref = results.get(FVDID)
    fs = ref.get("seconds") if ref and ref.get("status") == "ok" else None
    for name, r in results.items():
        if name == FVDID:
            continue
        r["agreement"] = agreement(w, ref, r)
        r["ratio_vs_fvdid"] = (float(r["seconds"]) / float(fs)
                               if fs and r.get("status") == "ok" and r.get("compared", True) else None)
    targets = [evaluate_target(t, results, w.key) for t in w.targets]
    for t in targets:
        mark = {True: "MET", False: "NOT MET", None: "unknown"}[t["met"]]
        log(f"  target: {t['target']}: {mark} ({t['measured']})")
    return {
        "name": w.name,
        "title": w.title,
        "params": dict(w.params),
        "key": w.key,
        "quantities": [asdict(q) for q in w.quantities],
        "notes": list(w.notes),
        "dataset": meta,
        "implementations": list(results.values()),
        "targets": targets,
    }


# ------------------------------------------------------------------------------------------
# Load: re-measuring rows that started on a busy machine
# ------------------------------------------------------------------------------------------
def load_per_cpu(r: dict[str, Any]) -> float | None:
    """The row's 1-min load average at its start, per logical CPU (None: not run)."""
    load = r.get("load_start")
    return float(load) / max(int(r.get("logical_cpus") or 1), 1) if _finite(load) else None


def needs_remeasure(r: dict[str, Any], above: float = REMEASURE_ABOVE) -> bool:
    """A row that ran (ok or timeout), not yet re-measured, whose start load per CPU > ``above``."""
    lpc = load_per_cpu(r)
    return (r.get("status") in ("ok", "timeout") and "remeasured" not in r and lpc is not None
            and lpc > above)


def pick_measurement(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The row to keep after a re-measurement; both runs are kept in ``remeasured``.

    A run that finished (``ok``) beats one that did not; between two of the same standing, the
    one that started under the lower load; a tie keeps the first.
    """
    def summary(r: dict[str, Any]) -> dict[str, Any]:
        return {k: r.get(k) for k in ("status", "seconds", "all_seconds", "wall_seconds", "peak_rss_mb",
                                       "load_start", "load_end", "estimate", "reason")
                if k in r}

    ok1, ok2 = first.get("status") == "ok", second.get("status") == "ok"
    if ok1 != ok2:
        keep_second = ok2
    else:
        l1, l2 = load_per_cpu(first), load_per_cpu(second)
        keep_second = l1 is not None and l2 is not None and l2 < l1
    kept = dict(second if keep_second else first)
    kept["remeasured"] = {"first": summary(first), "second": summary(second),
                          "kept": "second" if keep_second else "first"}
    return kept


def remeasure(reports: list[dict[str, Any]], *, timeout: float, above: float = REMEASURE_ABOVE,
              log: Callable[[str], None] = print) -> int:
    """Re-run, once, every row of ``reports`` that :func:`needs_remeasure`; returns how many."""
    n = 0
    for i, wr in enumerate(reports):
        w = ALL[wr["name"]]
        rows = {r["implementation"]: r for r in wr["implementations"]}
        redo = [impl for impl in w.impls if impl.name in rows and needs_remeasure(rows[impl.name], above)]
        if not redo:
            continue
        log(f"== re-measuring {w.name} (start load above {above:g} per CPU): "
            + ", ".join(impl.name for impl in redo))
        for impl in redo:
            first = rows[impl.name]
            second = run_impl(impl, w, wr["dataset"].get("path"), timeout)
            rows[impl.name] = pick_measurement(first, second)
            log("  " + _log_line(w, second) + f"  (kept the {rows[impl.name]['remeasured']['kept']})")
            n += 1
        for r in rows.values():  # derived fields are recomputed from the kept rows
            r.pop("agreement", None)
            r.pop("ratio_vs_fvdid", None)
        reports[i] = finish_workload(w, wr["dataset"], rows, log)
    return n


def _log_line(w: Workload, r: dict[str, Any]) -> str:
    load = f"  load {r['load_start']:.2f}" if _finite(r.get("load_start")) else ""
    if r.get("status") != "ok":
        return f"{r['implementation']:22s} {r['status']}: {r.get('reason', '')}{load}"
    est = r.get("estimate", {}).get(w.key)
    return (f"{r['implementation']:22s} {r['seconds']:10.3f} s (min of {r['n_repeats']})  "
            f"peak {r.get('peak_rss_mb', float('nan')):8.0f} MB  {w.key} = {_fmt_est(est)}{load}")


def run(names: Sequence[str] | None = None, *, data_dir: Path = DEFAULT_DATA_DIR,
        timeout: float = DEFAULT_TIMEOUT, kinds: Iterable[str] | None = None,
        log: Callable[[str], None] = print,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        remeasure_above: float | None = REMEASURE_ABOVE) -> dict[str, Any]:
    """Run the named workloads (default: all of :data:`bench.workloads.DEFAULT`).

    ``on_progress`` is called with the report so far after each workload (partial results are
    then on disk if a long run is stopped). ``remeasure_above``: after the last workload, rows
    that started with a 1-min load average per logical CPU above it are run once more
    (:func:`remeasure`); None: never.
    """
    names = list(names or DEFAULT)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)}; see `python -m bench --list`")
    machine = machine_info(with_r=(not kinds or "r" in set(kinds)))
    t0 = time.perf_counter()
    workloads: list[dict[str, Any]] = []
    n_remeasured = 0

    def report() -> dict[str, Any]:
        machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        return {
            "schema": SCHEMA,
            "machine": machine,
            "settings": {
                "timeout_seconds": timeout,
                "repeats": "timed call run once; if < 10 s, run 3 times and the minimum kept",
                "ratio": "seconds of the implementation / seconds of fvdid (> 1: fvdid is faster)",
                "timing": "inside each process around the estimator call only (data already loaded); "
                          "R with proc.time() inside R",
                "peak_rss": "the process's own peak resident set (VmHWM of /proc/self/status), data "
                            "and interpreter included",
                "kinds": sorted(kinds) if kinds else ["fvdid", "peer", "r"],
                "load": "1-min load average when each implementation starts (and ends)",
                "remeasure_above": remeasure_above,
                "remeasure_rule": (
                    "never" if remeasure_above is None else
                    f"once, at the end of the run, every row (ok or timeout) whose start load "
                    f"per logical CPU exceeded {remeasure_above:g}; the table keeps the run that "
                    "finished, else the one started under the lower load; the JSON keeps both"),
                "remeasured_rows": n_remeasured,
            },
            "total_seconds": round(time.perf_counter() - t0, 1),
            "complete": len(workloads) == len(names),
            "workloads": list(workloads),
        }

    for n in names:
        workloads.append(run_workload(ALL[n], data_dir=data_dir, timeout=timeout, kinds=kinds,
                                      log=log))
        if on_progress is not None:
            on_progress(report())
    if remeasure_above is not None:
        n_remeasured = remeasure(workloads, timeout=timeout, above=remeasure_above, log=log)
    return report()


