"""The parity report: case × quantity × |diff| × tolerance × pass, with versions."""

from __future__ import annotations

import html
import json
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from parity.case import Case
from parity.registry import all_cases
from parity.runner import CaseResult, Mode, run_case

__all__ = ["report_frame", "run_all", "summary_counts", "write_report"]


def run_all(
    mode: Mode = "replay",
    names: Sequence[str] = (),
    families: Sequence[str] = (),
    progress: bool = False,
) -> list[CaseResult]:
    cases: list[Case] = [
        c
        for c in all_cases()
        if (not names or c.name in names) and (not families or c.family in families)
    ]
    unknown = sorted(set(names) - {c.name for c in all_cases()})
    if unknown:
        raise KeyError(f"unknown parity case(s): {unknown}")
    results = []
    if progress:
        from rich.progress import track

        it: Iterable[Case] = track(cases, description=f"parity ({mode})")
    else:
        it = cases
    for c in it:
        results.append(run_case(c, mode))
    return results


def report_frame(results: Sequence[CaseResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        if not r.comparisons and not r.drift:
            rows.append(
                {"case": r.case, "family": r.family, "mode": r.mode, "quantity": "",
                 "n": 0, "max_abs_diff": float("nan"), "tolerance": "", "pass": r.status,
                 "reason": r.message.splitlines()[0] if r.message else ""}
            )
        for c in (*r.comparisons, *r.drift):
            rows.append(
                {"case": r.case, "family": r.family, "mode": r.mode, "quantity": c.quantity,
                 "n": c.n, "max_abs_diff": c.max_abs_diff, "tolerance": c.tolerance,
                 "pass": "pass" if c.passed else "fail", "reason": c.reason}
            )
    return pd.DataFrame(
        rows,
        columns=["case", "family", "mode", "quantity", "n", "max_abs_diff", "tolerance", "pass", "reason"],
    )


def summary_counts(results: Sequence[CaseResult]) -> dict[str, int]:
    out = {"pass": 0, "fail": 0, "skip": 0}
    for r in results:
        out[r.status] += 1
    return out


def _versions(results: Sequence[CaseResult]) -> dict[str, object]:
    r_versions = sorted({r.r_version for r in results if r.r_version})
    pk: dict[str, set[str]] = {}
    for r in results:
        for k, v in r.r_packages.items():
            pk.setdefault(k, set()).add(v)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "r_versions": r_versions,
        "r_packages": {k: sorted(v) for k, v in sorted(pk.items())},
    }


def write_report(results: Sequence[CaseResult], out_dir: Path) -> dict[str, Path]:
    """Write ``parity.json``, ``parity.md`` and ``parity.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = report_frame(results)
    versions = _versions(results)
    counts = summary_counts(results)
    paths = {k: out_dir / f"parity.{k}" for k in ("json", "md", "html")}
    paths["json"].write_text(
        json.dumps(
            {
                "counts": counts,
                "versions": versions,
                "rows": json.loads(frame.to_json(orient="records", double_precision=15)),
                "failures": [r.failure_text() for r in results if r.status == "fail"],
                "skips": {r.case: r.message for r in results if r.status == "skip"},
            },
            indent=1,
        )
    )
    shown = frame.assign(max_abs_diff=frame["max_abs_diff"].map(lambda x: f"{x:.3g}"))
    md = [
        "# Parity report",
        "",
        f"Cases: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped.",
        "",
        shown.to_markdown(index=False),
        "",
        "## Versions",
        "",
        "```",
        json.dumps(versions, indent=1),
        "```",
    ]
    paths["md"].write_text("\n".join(md) + "\n")
    table = shown.to_html(index=False, escape=True, classes="parity")
    paths["html"].write_text(
        "<!doctype html><meta charset='utf-8'><title>fvdid parity report</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 6px;font-size:12px}</style>"
        f"<h1>Parity report</h1><p>{html.escape(str(counts))}</p>{table}"
        f"<h2>Versions</h2><pre>{html.escape(json.dumps(versions, indent=1))}</pre>"
    )
    return paths

