"""Every parity case in replay (always) and live (where R and its packages are here)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parity.datasets import families, manifest_path
from parity.golden import sha256_file
from parity.paths import DATA_DIR
from parity.registry import all_cases
from parity.rrunner import backend
from parity.runner import run_case

CASES = all_cases()
IDS = [c.name for c in CASES]


def _check(mode: str, case) -> None:
    res = run_case(case, mode)  # type: ignore[arg-type]
    pytest.parity_results.append(res)  # type: ignore[attr-defined]
    if res.status == "skip":
        pytest.skip(res.message)
    assert res.passed, res.failure_text()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_replay(case) -> None:
    _check("replay", case)


@pytest.mark.live
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_live(case) -> None:
    _check("live", case)


def test_manifest_matches_files() -> None:
    """Every generated dataset is in the MANIFEST with the sha256 of the file on disk."""
    doc = json.loads(manifest_path().read_text())
    listed = {e["path"]: e for e in doc["datasets"]}
    expected = {f"{fam}/{stem}.csv" for fam, gens in families().items() for stem in gens}
    assert set(listed) == expected
    for rel, entry in listed.items():
        assert sha256_file(DATA_DIR / rel) == entry["sha256"], f"{rel}: regenerate the MANIFEST"


def test_every_case_names_a_tolerance_reason() -> None:
    for case in CASES:
        for q, tol in case.tolerances.items():
            assert len(tol.reason.split()) >= 3, f"{case.name}.{q}: give the tolerance a reason"


def test_live_skip_reason_names_what_is_missing() -> None:
    """A live run that cannot happen names the missing R package (or R itself)."""
    # a case on a committed fixture: a shared R dataset absent from a fresh clone would be the
    # skip reason instead
    base = next(c for c in CASES if c.dataset.startswith("fixtures:"))
    case = dataclasses.replace(base, r_packages=("fvdidNoSuchPackage",))
    res = run_case(case, "live")
    assert res.status == "skip"
    if backend() is None:
        assert res.message.startswith("R is not available"), res.message
    else:
        assert "R package(s) fvdidNoSuchPackage not installed" in res.message, res.message
