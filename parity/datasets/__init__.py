"""Fixture dataset generators: ``parity/datasets/<family>.py`` exports ``DATASETS``.

``DATASETS`` maps a file stem to a zero-argument callable returning a DataFrame; the build writes
``fixtures/data/<family>/<stem>.csv`` and records it in ``fixtures/data/MANIFEST.json`` with its
sha256, shape and generating command. Generators must be deterministic (fixed numpy seeds).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from parity.golden import sha256_file
from parity.paths import DATA_DIR

__all__ = ["build", "families", "manifest_path", "write_manifest"]

Generator = Callable[[], pd.DataFrame]


def manifest_path() -> Path:
    return DATA_DIR / "MANIFEST.json"


def families() -> dict[str, dict[str, Generator]]:
    import parity.datasets as pkg

    out: dict[str, dict[str, Generator]] = {}
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"parity.datasets.{mod.name}")
        out[mod.name] = dict(module.DATASETS)
    return out


def build(selected: Sequence[str] = ()) -> list[Path]:
    """Regenerate the datasets of the ``selected`` families (all by default) and the MANIFEST."""
    written = []
    for fam, gens in families().items():
        if selected and fam not in selected:
            continue
        for stem, gen in gens.items():
            path = DATA_DIR / fam / f"{stem}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            gen().to_csv(path, index=False, float_format="%.17g", lineterminator="\n")
            written.append(path)
    write_manifest()
    return written


def write_manifest() -> Path:
    """Rewrite MANIFEST.json from the generator registry and the files on disk."""
    entries = []
    for fam, gens in families().items():
        for stem in gens:
            path = DATA_DIR / fam / f"{stem}.csv"
            if not path.exists():
                continue
            with path.open() as fh:
                header = fh.readline().rstrip("\n").split(",")
                n_rows = sum(1 for _ in fh)
            entries.append(
                {
                    "path": f"{fam}/{stem}.csv",
                    "sha256": sha256_file(path),
                    "rows": n_rows,
                    "columns": header,
                    "command": f"python -m parity.datasets build {fam}",
                    "generator": f"parity/datasets/{fam}.py:DATASETS[{stem!r}]",
                }
            )
    manifest_path().parent.mkdir(parents=True, exist_ok=True)
    manifest_path().write_text(json.dumps({"datasets": entries}, indent=1) + "\n")
    return manifest_path()
