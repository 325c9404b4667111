"""The benchmark harness: every implementation of a workload, on one data file, side by side.

For each workload the dataset is generated once (fixed seed) and written to a CSV file (kept in
the data folder and reused while its parameters are unchanged); then each implementation runs in
its own process (fvdid and the Python peers through :mod:`bench.impl_python`, R through
``bench/impl_r/run.R``), reads that file, times the estimator call only and reports its own peak
resident set. Nothing is imputed for an implementation that is not on the machine: it is
reported as ``absent`` with the reason (or ``timeout`` / ``error``), never as a zero.
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

from bench.workloads import ALL, DEFAULT, FVDID, Impl, Quantity, Target, Workload
from parity.golden import sha256_file

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
IMPL_PY = BENCH / "impl_python.py"
IMPL_R = BENCH / "impl_r"
RESULTS = BENCH / "results"
README_TABLE = BENCH / "README_TABLE.md"
DEFAULT_PEERS_VENV = Path("/opt/fvdid-peers")
DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "fvdid-bench-data"
DEFAULT_TIMEOUT = 900.0
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
    else:
        info["r"] = None
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


def run_impl(impl: Impl, w: Workload, data: str | None, timeout: float,
             params: dict | None = None) -> dict[str, Any]:
    """Run one implementation in its own process; the result always has a ``status``."""
    p = dict(w.params if params is None else params)
    base: dict[str, Any] = {"implementation": impl.name, "kind": impl.kind, "package": impl.package,
                            "runner": impl.runner, "note": impl.note, "compared": impl.compare}
    with tempfile.TemporaryDirectory(prefix="fvdid-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv, extra_env, why = _command(impl, data or "", p, out)
        if argv is None:
            return {**base, "status": "absent", "reason": why}
        env = {**os.environ, **extra_env, "PYTHONWARNINGS": "ignore"}
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
                    "wall_seconds": round(time.perf_counter() - t0, 1)}
        wall = time.perf_counter() - t0
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
def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


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


def evaluate_target(t: Target, impls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Judge a target honestly: met, not met, or unknown (with why)."""
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
        params = dict(w.params)
        if not impl.compare and impl.runner == "fvdid_boottest":
            params["B"] = 9_999  # the memory probe
        r = run_impl(impl, w, meta.get("path"), timeout, params)
        results[impl.name] = r
        log("  " + _log_line(w, r))
    ref = results.get(FVDID)
    fs = ref.get("seconds") if ref and ref.get("status") == "ok" else None
    for name, r in results.items():
        if name == FVDID:
            continue
        r["agreement"] = agreement(w, ref, r)
        r["ratio_vs_fvdid"] = (float(r["seconds"]) / float(fs)
                               if fs and r.get("status") == "ok" and r.get("compared", True) else None)
    targets = [evaluate_target(t, results) for t in w.targets]
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


def _log_line(w: Workload, r: dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return f"{r['implementation']:22s} {r['status']}: {r.get('reason', '')}"
    est = r.get("estimate", {}).get(w.key)
    return (f"{r['implementation']:22s} {r['seconds']:10.3f} s (min of {r['n_repeats']})  "
            f"peak {r.get('peak_rss_mb', float('nan')):8.0f} MB  {w.key} = {_fmt_est(est)}")


def run(names: Sequence[str] | None = None, *, data_dir: Path = DEFAULT_DATA_DIR,
        timeout: float = DEFAULT_TIMEOUT, kinds: Iterable[str] | None = None,
        log: Callable[[str], None] = print,
        on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the named workloads (default: all of :data:`bench.workloads.DEFAULT`).

    ``on_progress`` is called with the report so far after each workload (partial results are
    then on disk if a long run is stopped).
    """
    names = list(names or DEFAULT)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)}; see `python -m bench --list`")
    machine = machine_info(with_r=(not kinds or "r" in set(kinds)))
    t0 = time.perf_counter()
    workloads: list[dict[str, Any]] = []

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
    return report()


# ------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------
def _fmt_est(x: Any) -> str:
    if not _finite(x):
        return "—"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.10g}"


def _fmt_s(x: Any) -> str:
    if not _finite(x):
        return "—"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:,.0f}"


def _status_cell(r: dict[str, Any]) -> str:
    st = r.get("status")
    if st == "ok":
        return _fmt_s(r["seconds"])
    if st == "timeout":
        return f"timeout (> {r.get('wall_seconds', 0):.0f} s)"
    return st or "?"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "### Benchmarks: fvdid against the R references and the Python peers",
        "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory_gb']} GB RAM, "
        f"{m['os']}; Python {m['python']} (numpy {m['numpy']}, pandas {m['pandas']}); "
        f"{m.get('r') or 'R absent'}; fvdid {m.get('fvdid')} ({m.get('fvdid_commit') or 'no git'}); "
        f"{m['date']}. Load average at start {m['load_average_start']}, at end "
        f"{m.get('load_average_end')} (a shared, noisy machine).",
        "",
        "Each implementation runs in its own process on the same data file; time is the estimator "
        "call only (data already loaded; R timed inside R), the minimum of 3 runs when a run takes "
        "< 10 s, else 1 run. Peak RSS is the process's own high-water mark. Ratio = other / fvdid "
        "(> 1: fvdid faster). *absent* = not installed on this machine (never counted as zero); "
        f"timeout = no result within {report['settings']['timeout_seconds']:g} s. "
        "`python -m bench` regenerates this table.",
        "",
        "| workload | implementation | version | seconds | runs | peak RSS MB | estimate | agrees | ratio |",
        "|---|---|---|---:|---:|---:|---:|:---:|---:|",
    ]
    footnotes: list[str] = []
    for w in report["workloads"]:
        first = True
        for r in w["implementations"]:
            st = r.get("status")
            ok = st == "ok"
            est = r.get("estimate", {}).get(w["key"]) if ok else None
            ag = r.get("agreement", {}).get("agrees")
            if r["implementation"] == FVDID:
                agc = "ref"
            elif not r.get("compared", True):
                agc = "probe"
            else:
                agc = {True: "yes", False: "**no**", None: "—"}[ag]
            if ag is False:
                bad = [f"{k}: {v['other']:.10g} vs fvdid {v['fvdid']:.10g}"
                       for k, v in r["agreement"]["details"].items() if v.get("agrees") is False]
                footnotes.append(f"{w['name']} / {r['implementation']}: " + "; ".join(bad)
                                 + (f" ({r['note']})" if r.get("note") else ""))
            if st in ("error",):
                footnotes.append(f"{w['name']} / {r['implementation']}: error: {r.get('reason', '')[:200]}")
            ratio = r.get("ratio_vs_fvdid")
            lines.append(
                "| {wl} | {impl} | {ver} | {sec} | {n} | {rss} | {est} | {ag} | {ratio} |".format(
                    wl=f"**{w['name']}**" if first else "",
                    impl=r["implementation"],
                    ver=r.get("version") or "",
                    sec=_status_cell(r),
                    n=r.get("n_repeats", "") if ok else "",
                    rss=f"{r['peak_rss_mb']:,.0f}" if ok and _finite(r.get("peak_rss_mb")) else "",
                    est=_fmt_est(est) if ok else "",
                    ag=agc if ok else "",
                    ratio=(f"{ratio:.1f}x" if _finite(ratio) else ""),
                )
            )
            first = False
    lines += ["", "Estimate: the key quantity of each workload — "
              + "; ".join(f"{w['name']}: `{w['key']}`" for w in report["workloads"]) + "."]
    lines += ["", "#### Targets of the estimator issues", "",
              "| workload | target | measured | met |", "|---|---|---|:---:|"]
    for w in report["workloads"]:
        for t in w["targets"]:
            met = {True: "met", False: "**not met**", None: "unknown"}[t["met"]]
            lines.append(f"| {w['name']} | {t['target']} | {t['measured']} | {met} |")
    if footnotes:
        lines += ["", "#### Disagreements and errors", ""] + [f"- {f}" for f in footnotes]
    notes = []
    for w in report["workloads"]:
        for n in w["notes"]:
            notes.append(f"- {w['name']}: {n}")
    if notes:
        lines += ["", "#### Workload notes", "", *notes]
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out_dir: Path, readme: bool | None = None) -> list[Path]:
    """Write ``latest.json`` and ``latest.md`` in ``out_dir``; the README table when complete."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "latest.json", out_dir / "latest.md"]
    paths[0].write_text(json.dumps(report, indent=1, allow_nan=True, default=str) + "\n")
    md = markdown(report)
    paths[1].write_text(md)
    ran = {w["name"] for w in report["workloads"]}
    if readme is None:
        readme = set(DEFAULT) <= ran and out_dir.resolve() == RESULTS.resolve()
    if readme:
        README_TABLE.write_text(md)
        paths.append(README_TABLE)
    return paths


def compare_runs(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Ratios of two runs side by side (is the second within the machine's noise?)."""
    def ratios(rep: dict[str, Any]) -> dict[tuple[str, str], tuple[float | None, float | None]]:
        out = {}
        for w in rep["workloads"]:
            for r in w["implementations"]:
                out[(w["name"], r["implementation"])] = (
                    r.get("seconds") if r.get("status") == "ok" else None, r.get("ratio_vs_fvdid"))
        return out

    ra, rb = ratios(a), ratios(b)
    lines = ["| workload | implementation | seconds A | seconds B | ratio A | ratio B | B/A of ratio |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for k in ra:
        if k not in rb:
            continue
        (sa, xa), (sb, xb) = ra[k], rb[k]
        rel = (xb / xa) if _finite(xa) and _finite(xb) and xa else None
        lines.append(f"| {k[0]} | {k[1]} | {_fmt_s(sa)} | {_fmt_s(sb)} | "
                     f"{'' if not _finite(xa) else f'{xa:.2f}x'} | {'' if not _finite(xb) else f'{xb:.2f}x'} | "
                     f"{'' if rel is None else f'{rel:.2f}'} |")
    return "\n".join(lines) + "\n"
