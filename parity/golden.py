"""Golden files: write, load and verify their provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.case import Case
from parity.compare import Labelled
from parity.paths import GOLDEN_DIR, R_DIR, REPO_ROOT

__all__ = [
    "Golden",
    "StaleGolden",
    "current_provenance",
    "dataset_hash",
    "golden_path",
    "load_golden",
    "pinned_versions",
    "script_hash",
    "verify_provenance",
    "write_golden",
]

FORMAT_VERSION = 1


class StaleGolden(AssertionError):
    """The golden file no longer matches its case, script or dataset: regenerate it."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def script_hash(family: str) -> str:
    """Hash of ``r_reference/_common.R`` plus ``r_reference/<family>.R``."""
    h = hashlib.sha256()
    for p in (R_DIR / "_common.R", R_DIR / f"{family}.R"):
        h.update(p.read_bytes())
    return h.hexdigest()


_PIN_BLOCK = re.compile(r"^pinned\s*<-\s*c\((?P<body>[^)]*)\)", re.MULTILINE)
_PIN_ITEM = re.compile(r"([A-Za-z][A-Za-z0-9.]*)\s*=\s*\"([^\"]+)\"")


def pinned_versions(install_script: Path | None = None) -> dict[str, str]:
    """The package versions pinned in ``r_reference/install.R`` (``pinned <- c(pkg = "x.y.z")``).

    A golden file recorded with another version of a pinned package is stale.
    """
    text = (install_script or R_DIR / "install.R").read_text()
    m = _PIN_BLOCK.search(text)
    if m is None:
        raise ValueError("r_reference/install.R has no `pinned <- c(...)` list")
    return dict(_PIN_ITEM.findall(m.group("body")))


def dataset_hash(case: Case) -> str:
    from parity.rdata import locate

    return sha256_file(locate(case.dataset))


def golden_path(case: Case) -> Path:
    return GOLDEN_DIR / case.family / f"{case.name}.json"


@dataclass(frozen=True)
class Golden:
    """A loaded golden file."""

    case: str
    provenance: dict[str, Any]
    quantities: dict[str, Labelled]


def current_provenance(case: Case) -> dict[str, str]:
    """The hashes a golden file must carry to be current for ``case``."""
    return {
        "case_hash": case.case_hash,
        "r_script_hash": script_hash(case.family),
        "dataset_hash": dataset_hash(case),
    }


def write_golden(case: Case, r_output: dict[str, Any]) -> Path:
    """Write the golden file of ``case`` from the runner's R output."""
    quantities = {k: Labelled.from_json(v) for k, v in r_output["quantities"].items()}
    missing_tol = sorted(set(quantities) - set(case.tolerances))
    if missing_tol:
        raise ValueError(f"case {case.name}: R returned quantities without tolerance {missing_tol}")
    r = r_output["r"]
    prov = {
        **current_provenance(case),
        "format": FORMAT_VERSION,
        "case": case.name,
        "family": case.family,
        "dataset": case.dataset,
        "args": case.args,
        "r_script": f"r_reference/{case.family}.R",
        "r_version": r["version"],
        "r_platform": r["platform"],
        "os": r.get("os", ""),
        "blas": r.get("blas", ""),
        "r_packages": r["packages"],
        "python_platform": platform.platform(),
        "recorded": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": f"python -m parity record {case.name}",
    }
    path = golden_path(case)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "provenance": prov,
        "quantities": {k: v.to_json() for k, v in quantities.items()},
    }
    path.write_text(json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n")
    return path


def load_golden(case: Case) -> Golden:
    path = golden_path(case)
    if not path.exists():
        raise StaleGolden(
            f"no golden file {path.relative_to(REPO_ROOT)}; regenerate with "
            f"`python -m parity record {case.name}` (needs R and {', '.join(case.r_packages) or 'base R'})"
        )
    doc = json.loads(path.read_text())
    q = {k: Labelled.from_json(v) for k, v in doc["quantities"].items()}
    return Golden(case.name, doc["provenance"], q)


def verify_provenance(case: Case, golden: Golden) -> None:
    """Raise :class:`StaleGolden` unless the golden file's hashes match the case today."""
    now = current_provenance(case)
    stale = [k for k, v in now.items() if golden.provenance.get(k) != v]
    if stale:
        what = {
            "case_hash": "the case's arguments",
            "r_script_hash": "the R script",
            "dataset_hash": "the dataset",
        }
        raise StaleGolden(
            f"golden file of {case.name} is stale ({', '.join(what[k] for k in stale)} changed since "
            f"it was recorded): regenerate with `python -m parity record {case.name}`"
        )
    recorded = golden.provenance.get("r_packages") or {}
    pins = pinned_versions()
    off = sorted(
        f"{pkg} {recorded[pkg]} (pinned {want})"
        for pkg, want in pins.items()
        if pkg in recorded and recorded[pkg] != want
    )
    unrecorded = sorted(p for p in case.r_packages if p in pins and p not in recorded)
    if off or unrecorded:
        what = "; ".join(
            [f"recorded with {', '.join(off)}"] * bool(off)
            + [f"no version recorded for {', '.join(unrecorded)}"] * bool(unrecorded)
        )
        raise StaleGolden(
            f"golden file of {case.name} is stale against r_reference/install.R ({what}): install "
            f"the pinned versions and regenerate with `python -m parity record {case.name}`"
        )
    missing_tol = sorted(set(golden.quantities) - set(case.tolerances))
    if missing_tol:
        raise StaleGolden(f"case {case.name}: quantities without tolerance {missing_tol}")
    need = {"r_version", "r_packages", "r_platform", "recorded"}
    if not need <= set(golden.provenance):
        raise StaleGolden(f"golden file of {case.name} lacks provenance {sorted(need - set(golden.provenance))}")
