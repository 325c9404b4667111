"""The peers' report: one row per peer x case x quantity, ``parity/PEERS.md`` and its JSON.

``fvdid parity --peers`` (all peers, all cases) rewrites ``parity/PEERS.md`` and
``parity/peers/results.json``; the appendix's parity section reads the JSON (never runs a peer).
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from parity.paths import REPO_ROOT
from parity.peers import PEERS
from parity.peers.departures import KNOWN_DEPARTURES
from parity.peers.runner import UNEXPLAINED, PeerResult

__all__ = [
    "GENERATOR",
    "PEERS_MD",
    "RESULTS_JSON",
    "load_results",
    "peers_frame",
    "peers_summary",
    "write_peers",
]

GENERATOR = "fvdid parity --peers"
PEERS_MD = REPO_ROOT / "parity" / "PEERS.md"
RESULTS_JSON = REPO_ROOT / "parity" / "peers" / "results.json"

_COLS = ["peer", "version", "case", "family", "estimator", "quantity", "label", "peer value",
         "R value", "|peer - R|", "tolerance", "pass", "explanation"]


def peers_frame(results: Sequence[PeerResult]) -> pd.DataFrame:
    """Every comparison (and every skipped or failed run) as one row."""
    rows: list[dict[str, Any]] = []
    for r in results:
        base = {"peer": r.peer, "version": r.version, "case": r.case, "family": r.family,
                "estimator": r.estimator}
        if not r.comparisons:
            rows.append({**base, "quantity": "", "label": "", "peer value": math.nan,
                         "R value": math.nan, "|peer - R|": math.nan, "tolerance": "",
                         "pass": r.status, "explanation": r.message})
        for c in r.comparisons:
            rows.append({**base, "quantity": c.quantity, "label": c.label or "",
                         "peer value": c.peer_value, "R value": c.r_value,
                         "|peer - R|": c.abs_diff, "tolerance": c.tolerance,
                         "pass": "pass" if c.passed else "fail",
                         "explanation": c.explanation or c.detail})
    return pd.DataFrame(rows, columns=_COLS)


def peers_summary(results: Sequence[PeerResult]) -> pd.DataFrame:
    """Per peer and estimator: cases run, matched, the largest departure and its explanation."""
    rows = []
    keys = sorted({(r.peer, r.estimator) for r in results})
    for peer, est in keys:
        rs = [r for r in results if r.peer == peer and r.estimator == est]
        ran = [r for r in rs if r.status != "skip"]
        fails = [(r, c) for r in ran for c in r.comparisons if not c.passed]
        worst = max(fails, key=lambda rc: rc[1].abs_diff, default=None)
        whys = sorted({c.explanation.split(":")[0] for _, c in fails})
        if worst is None:
            largest = max((c.abs_diff for r in ran for c in r.comparisons), default=math.nan)
            where = f"{largest:.3g} (all within tolerance)" if ran else ""
        elif math.isinf(worst[1].abs_diff):
            where = f"labels differ ({worst[0].case} {worst[1].quantity})"
        else:
            where = f"{worst[1].abs_diff:.3g} ({worst[0].case} {worst[1].quantity})"
        rows.append({
            "peer": peer, "version": rs[0].version, "estimator": est,
            "cases run": len(ran), "cases matched": sum(r.status == "pass" for r in ran),
            "cannot run": len(rs) - len(ran), "largest departure": where,
            "explanation": "; ".join(whys),
        })
    return pd.DataFrame(rows)


def _unexplained(results: Sequence[PeerResult]) -> list[str]:
    out = []
    value_of: dict[tuple[str, str, str | None], list[tuple[str, float]]] = {}
    for r in results:
        for c in r.comparisons:
            if not c.passed:
                value_of.setdefault((r.case, c.quantity, c.label), []).append((r.peer, c.peer_value))
    for r in results:
        if r.status == "fail" and not r.comparisons:
            out.append(f"- {r.peer} / {r.case}: {r.message}")
        for c in r.comparisons:
            if c.passed or c.explanation != UNEXPLAINED:
                continue
            twin = [p for p, v in value_of[(r.case, c.quantity, c.label)]
                    if p != r.peer and abs(v - c.peer_value) <= 1e-9 * max(1.0, abs(v))]
            same = f"; the same value as {', '.join(twin)}" if twin else ""
            at = f"[{c.label}]" if c.label else ""
            out.append(f"- {r.peer} / {r.case} {c.quantity}{at}: peer {c.peer_value:.10g}, "
                       f"R {c.r_value:.10g}, |diff| {c.abs_diff:.3g} > {c.tolerance}{same}")
    return out


def _departure_lines(results: Sequence[PeerResult]) -> list[str]:
    lines = ["| id | peers | what | reproduced by (peer / case: quantities) | why |",
             "| --- | --- | --- | --- | --- |"]
    for d in KNOWN_DEPARTURES:
        hits: dict[str, list[str]] = {}
        for r in results:
            for c in r.comparisons:
                if c.explanation.startswith(f"known departure ({d.id})"):
                    hits.setdefault(f"{r.peer} / {r.case}", []).append(
                        f"{c.quantity} {c.abs_diff:.3g}" if math.isfinite(c.abs_diff)
                        else f"{c.quantity} (labels)")
        by = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(hits.items())) or "**not reproduced**"
        lines.append(f"| {d.id} | {', '.join(d.peers)} | {d.what} | {by} | {d.why} |")
    return lines


def write_peers(results: Sequence[PeerResult], skipped: Mapping[str, str],
                md_path: Path = PEERS_MD, json_path: Path = RESULTS_JSON) -> dict[str, Path]:
    """Write the generated PEERS.md and the results JSON."""
    summary = peers_summary(results)
    ran = [r for r in results if r.status != "skip"]
    n_cmp = sum(len(r.comparisons) for r in ran)
    versions = {p.name: next((r.version for r in results if r.peer == p.name), "")
                for p in PEERS}
    cannot = [f"- {r.peer} / {r.case}: {r.message.removeprefix('cannot run: ')}"
              for r in results if r.status == "skip"]
    md = [
        "# Peers: the Python packages against the R references",
        "",
        f"Generated by `{GENERATOR}` (do not edit by hand); results in "
        f"`{json_path.relative_to(REPO_ROOT)}`. R values are the golden files'; each quantity "
        "is compared by label under the case's own tolerance.",
        "",
        f"{len(ran)} case x peer comparisons ({n_cmp} quantities): "
        f"{sum(r.status == 'pass' for r in ran)} matched, "
        f"{sum(r.status == 'fail' for r in ran)} departed; {len(cannot)} cases a peer cannot run.",
        "",
        "## Per peer and estimator",
        "",
        summary.to_markdown(index=False) if len(summary) else "(no peer ran)",
        "",
        "## Known departures",
        "",
        *_departure_lines(results),
        "",
        "## Unexplained departures",
        "",
        *(_unexplained(results) or ["(none)"]),
        "",
        "## Not run",
        "",
        *[f"- {p}: {why}" for p, why in sorted(skipped.items())],
        *cannot,
        "",
        "## Versions",
        "",
        f"Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "",
    ]
    md_path.write_text("\n".join(md))
    doc = {
        "generator": GENERATOR,
        "python": platform.python_version(),
        "versions": versions,
        "skipped_peers": dict(skipped),
        "results": [r.to_dict() for r in results],
    }
    json_path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return {"md": md_path, "json": json_path}


def load_results(path: Path = RESULTS_JSON) -> dict[str, Any] | None:
    """The committed peers results (None when absent)."""
    if not path.exists():
        return None
    return json.loads(path.read_text())


def run_and_report(names: Sequence[str] = (), cases: Sequence[str] = (),
                   families: Sequence[str] = (), out: Path | None = None,
                   echo: Any = print) -> int:
    """Run the peers, print the comparisons and write the report; return the exit status.

    PEERS.md and the results JSON are rewritten only for a full run (every peer, every case);
    ``out`` receives ``peers.md`` / ``peers.json`` for any run. A departure is not a failure of
    fvdid: the status is 0 unless a peer raised.
    """
    from parity.peers.runner import run_peers

    results, skipped = run_peers(names, cases, families)
    frame = peers_frame(results)
    shown = frame.assign(**{c: frame[c].map(lambda x: f"{x:.10g}")
                            for c in ("peer value", "R value", "|peer - R|")})
    with pd.option_context("display.width", 250, "display.max_rows", 5000,
                           "display.max_colwidth", 90):
        echo(shown.drop(columns=["version", "family"]).to_string(index=False))
    for p, why in sorted(skipped.items()):
        echo(f"skipped peer {p}: {why}")
    if not names and not cases and not families:
        for k, p in write_peers(results, skipped).items():
            echo(f"wrote {k}: {p.relative_to(REPO_ROOT)}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_peers(results, skipped, out / "peers.md", out / "peers.json")
        echo(f"wrote {out / 'peers.md'}")
    ran = [r for r in results if r.status != "skip"]
    echo(f"peers: {len(ran)} case x peer comparisons, {sum(r.status == 'pass' for r in ran)} "
         f"matched, {sum(r.status == 'fail' for r in ran)} departed, "
         f"{len(results) - len(ran)} cannot run, {len(skipped)} peers not installed")
    raised = [r for r in ran if r.status == "fail" and not r.comparisons]
    return 1 if raised else 0
