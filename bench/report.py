"""Rendering a benchmark report: the markdown table, the files, two runs side by side.

:func:`markdown` turns the report of :func:`bench.harness.run` into the README's table (one row
per implementation, with its 1-min load average at start, rows re-measured under load marked);
:func:`write` writes ``latest.json`` / ``latest.md`` and, after a complete default run, the
README table; :func:`compare_runs` shows the ratios of two saved runs side by side.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.workloads import DEFAULT, FVDID

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
README_TABLE = BENCH / "README_TABLE.md"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


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


def _fmt_load(x: Any) -> str:
    return f"{x:.2f}" if _finite(x) else ""


def _load_rule(report: dict[str, Any]) -> str:
    st = report.get("settings", {})
    if "remeasure_rule" not in st:
        return "Load at the start of each row: not recorded (a report of an older harness)."
    above = st.get("remeasure_above")
    cpus = report["machine"].get("logical_cpus")
    rule = ("No row was re-measured (re-measuring switched off)." if above is None else
            f"Rows whose load at start exceeded {above:g} per logical CPU ({above * (cpus or 1):g} "
            "here) were run once more at the end of the run; the table keeps the run that "
            "finished, else the one that started under the lower load, and marks the row "
            f"*(re-measured)*; {st.get('remeasured_rows', 0)} row(s) re-measured.")
    return "Load = the 1-min load average when the implementation started. " + rule


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
        _load_rule(report),
        "",
        "| workload | implementation | version | seconds | runs | load | peak RSS MB | estimate "
        "| agrees | ratio |",
        "|---|---|---|---:|---:|---:|---:|---:|:---:|---:|",
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
            rm = r.get("remeasured")
            if rm:
                a, b = rm["first"], rm["second"]
                footnotes.append(
                    f"{w['name']} / {r['implementation']}: re-measured (start load "
                    f"{_fmt_load(a.get('load_start'))} -> {_fmt_load(b.get('load_start'))}; "
                    f"{_status_cell(a)} s then {_status_cell(b)} s); the table shows the "
                    f"{rm['kept']} run")
            lines.append(
                "| {wl} | {impl} | {ver} | {sec} | {n} | {load} | {rss} | {est} | {ag} | {ratio} |".format(
                    wl=f"**{w['name']}**" if first else "",
                    impl=r["implementation"],
                    ver=r.get("version") or "",
                    sec=_status_cell(r) + (" (re-measured)" if rm else ""),
                    n=r.get("n_repeats", "") if ok else "",
                    load=_fmt_load(r.get("load_start")),
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
        lines += ["", "#### Disagreements, errors and re-measured rows", ""] + [f"- {f}" for f in footnotes]
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
