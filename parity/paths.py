"""Where the parity framework finds the repository's fixtures, R scripts and shared data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATA_DIR",
    "GOLDEN_DIR",
    "REPO_ROOT",
    "R_DIR",
    "resolve_dataset",
    "shared_data_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT / "fixtures"
DATA_DIR = FIXTURES_DIR / "data"
GOLDEN_DIR = FIXTURES_DIR / "golden"
R_DIR = REPO_ROOT / "r_reference"


def shared_data_dir() -> Path:
    """Return the folder with the R packages' datasets as CSV.

    ``$FVDID_SHARED_DATA`` wins; otherwise ``<repo>/../shared/data/r-packages``. The folder may be
    absent: cases that read it are then skipped, never failed.
    """
    env = os.environ.get("FVDID_SHARED_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "r-packages"


def resolve_dataset(spec: str) -> Path:
    """Turn a case's dataset spec into a path.

    ``"fixtures:<family>/<file>"`` is a file under ``fixtures/data``; ``"shared:<file>"`` is a file
    of the shared R-package datasets folder.
    """
    kind, _, rel = spec.partition(":")
    if kind == "fixtures":
        return DATA_DIR / rel
    if kind == "shared":
        return shared_data_dir() / rel
    raise ValueError(f"dataset spec {spec!r} must start with 'fixtures:' or 'shared:'")
