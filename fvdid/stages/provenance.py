"""Stage ``provenance``: versions, seed and input hash of the run, for the appendix."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import platform
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fvdid import __version__
from fvdid.reporting.appendix import AppendixTable, Section

__all__ = ["provenance", "provenance_section"]


def provenance(config: Any, source: str, input_hash: str) -> dict[str, Any]:
    """Versions of fvdid and its numerical dependencies, the seed, the input and its hash."""
    pk = {}
    for name in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyarrow"):
        try:
            pk[name] = md.version(name)
        except md.PackageNotFoundError:
            pk[name] = "absent"
    return {
        "fvdid": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": pk,
        "seed": config.seed,
        "input": source,
        "input_sha256": input_hash,
        "run_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(v)
    return out


def provenance_section(prov: dict[str, Any], run_notes: Sequence[str]) -> Section:
    """The appendix section of the provenance (and the run's notes)."""
    return Section("Provenance", tuple(run_notes),
                   (AppendixTable("provenance", "Provenance", pd.DataFrame(
                       list(_flat(prov).items()), columns=["item", "value"])),))
