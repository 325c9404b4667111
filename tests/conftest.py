from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config: pytest.Config) -> None:
    pytest.parity_results = []  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    results = getattr(pytest, "parity_results", [])
    if not results:
        return
    counts: dict[tuple[str, str], int] = {}
    for r in results:
        counts[(r.mode, r.status)] = counts.get((r.mode, r.status), 0) + 1
    tr = terminalreporter
    tr.section("parity cases")
    for mode in ("live", "replay"):
        tr.write_line(
            f"{mode:6s}: {counts.get((mode, 'pass'), 0)} passed, "
            f"{counts.get((mode, 'fail'), 0)} failed, {counts.get((mode, 'skip'), 0)} skipped"
        )
    reasons: dict[str, int] = {}
    for r in results:
        if r.status == "skip":
            reasons[r.message] = reasons.get(r.message, 0) + 1
    for msg, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        tr.write_line(f"  skipped x{n}: {msg}")
