"""The parity report: case × quantity × |diff| × tolerance × pass, with versions."""

from __future__ import annotations

import difflib
import html
import json
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from fvdid.errors import FvdidInputError
from parity.case import Case
from parity.registry import all_cases
from parity.runner import CaseResult, Mode, run_case

__all__ = [
    "report_frame",
    "run_all",
    "scrub_paths",
    "select_cases",
    "skip_summary",
    "summary_counts",
    "write_report",
]


def scrub_paths(text: str) -> str:
    """Replace absolute paths of the repository, its parent and the home folder by relative ones."""
    from parity.paths import REPO_ROOT

    for root, short in ((REPO_ROOT, "."), (REPO_ROOT.parent, ".."), (Path.home(), "~")):
        text = text.replace(str(root) + "/", short + "/").replace(str(root), short)
    return text


def skip_summary(results: Sequence[CaseResult]) -> list[tuple[str, list[str]]]:
    """The skipped cases grouped by their reason: ``[(reason, [case, ...]), ...]``."""
    by: dict[str, list[str]] = {}
    for r in results:
        if r.status == "skip":
            by.setdefault(scrub_paths(r.message.splitlines()[0] if r.message else "skipped"), []).append(r.case)
    return sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def select_cases(names: Sequence[str] = (), families: Sequence[str] = ()) -> list[Case]:
    """The cases named (all when none) within the families named (all when none).

    An unknown case or family raises :class:`fvdid.errors.FvdidInputError` listing the families
    (and, for a case, the closest names).
    """
    everything = all_cases()
    known_families = sorted({c.family for c in everything})
    bad_families = sorted(set(families) - set(known_families))
    if bad_families:
        raise FvdidInputError(
            f"unknown parity famil{'y' if len(bad_families) == 1 else 'ies'} {bad_families}; "
            f"the families are {known_families}"
        )
    known_names = [c.name for c in everything]
    unknown = sorted(set(names) - set(known_names))
    if unknown:
        close = sorted({m for n in unknown for m in difflib.get_close_matches(n, known_names, n=3)})
        hint = f"; close matches: {close}" if close else ""
        raise FvdidInputError(
            f"unknown parity case(s) {unknown}{hint}; {len(known_names)} cases in the families "
            f"{known_families} (see parity/cases/<family>.py)"
        )
    cases = [
        c
        for c in everything
        if (not names or c.name in names) and (not families or c.family in families)
    ]
    if not cases:
        raise FvdidInputError(
            f"no parity case is named {sorted(names)} within the famil(ies) {sorted(families)}"
        )
    return cases


def run_all(
    mode: Mode = "replay",
    names: Sequence[str] = (),
    families: Sequence[str] = (),
    progress: bool = False,
) -> list[CaseResult]:
    cases = select_cases(names, families)
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
                 "reason": scrub_paths(r.message.splitlines()[0]) if r.message else ""}
            )
        for c in (*r.comparisons, *r.drift):
            rows.append(
                {"case": r.case, "family": r.family, "mode": r.mode, "quantity": c.quantity,
                 "n": c.n, "max_abs_diff": c.max_abs_diff, "tolerance": c.tolerance,
                 "pass": "pass" if c.passed else "fail", "reason": scrub_paths(c.reason)}
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
                "failures": [scrub_paths(r.failure_text()) for r in results if r.status == "fail"],
                "skips": {r.case: scrub_paths(r.message) for r in results if r.status == "skip"},
            },
            indent=1,
        )
    )
    shown = frame.assign(max_abs_diff=frame["max_abs_diff"].map(lambda x: f"{x:.3g}"))
    skips = skip_summary(results)
    skip_lines = []
    if skips:
        skip_lines = ["## Skipped", ""]
        skip_lines += [f"- {len(cs)} case(s): {why} ({', '.join(cs)})" for why, cs in skips]
        skip_lines.append("")
    md = [
        "# Parity report",
        "",
        f"Cases: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped.",
        "",
        *skip_lines,
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
        f"<h1>Parity report</h1><p>{html.escape(str(counts))}</p>"
        + "".join(
            f"<p>Skipped, {len(cs)} case(s): {html.escape(why)} ({html.escape(', '.join(cs))})</p>"
            for why, cs in skips
        )
        + f"{table}"
        f"<h2>Versions</h2><pre>{html.escape(json.dumps(versions, indent=1))}</pre>"
    )
    return paths

