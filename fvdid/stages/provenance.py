"""Stage ``provenance``: versions, seed, input hash, configuration and column mapping of the run.

What a referee needs to reproduce the numbers: fvdid and its numerical dependencies, the R bridge
(rpy2), ACRO, R itself (installed now, and the R and reference-package versions the parity golden
files were recorded with), the git commit of the code, the full configuration and the column
mapping that renamed the extract's columns.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fvdid import __version__
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.sdc import public_source

__all__ = ["git_commit", "golden_r_versions", "installed_r_version", "provenance",
           "provenance_section"]

_ROOT = Path(__file__).resolve().parents[2]
"""The checkout's root (fvdid/stages/provenance.py -> the repository), when run from a clone."""


def _version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "not installed"


def _run(cmd: Sequence[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(root: Path = _ROOT) -> str:
    """The commit of the checkout holding fvdid ("<sha> (uncommitted changes)" when dirty), or
    "not a git checkout"."""
    if shutil.which("git") is None or not (root / ".git").exists():
        return "not a git checkout"
    sha = _run(["git", "rev-parse", "HEAD"], root)
    if not sha:
        return "not a git checkout"
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], root)
    return f"{sha} (uncommitted changes)" if dirty else sha


def installed_r_version() -> str:
    """The first line of ``R --version``, or "R not installed"."""
    if shutil.which("R") is None:
        return "R not installed"
    out = _run(["R", "--version"])
    return out.splitlines()[0] if out else "R not installed"


def golden_r_versions(golden: Path = _ROOT / "fixtures" / "golden") -> dict[str, Any]:
    """R versions and reference-package versions the parity golden files were recorded with.

    Returns ``{"r": [...], "packages": {name: [versions]}}`` (empty lists outside a clone).
    """
    rv: set[str] = set()
    pk: dict[str, set[str]] = {}
    for f in sorted(golden.glob("*/*.json")) if golden.is_dir() else ():
        try:
            prov = json.loads(f.read_text()).get("provenance", {})
        except (OSError, ValueError):
            continue
        if prov.get("r_version"):
            rv.add(str(prov["r_version"]))
        for k, v in (prov.get("r_packages") or {}).items():
            pk.setdefault(k, set()).add(str(v))
    return {"r": sorted(rv), "packages": {k: sorted(v) for k, v in sorted(pk.items())}}


def _mapping(path: Path | None) -> dict[str, dict[str, str]] | str:
    """The mapping file's renames, or a sentence (file names only, never an absolute path)."""
    return _scrubbed(_mapping_raw(path))


def _scrubbed(v: dict[str, dict[str, str]] | str) -> dict[str, dict[str, str]] | str:
    from fvdid.reporting.sdc import scrub_paths

    return scrub_paths(v) if isinstance(v, str) else v


def _mapping_raw(path: Path | None) -> dict[str, dict[str, str]] | str:
    if path is None:
        return "none: the extract's own column names (or the simulator's)"
    from fvdid.io import _load_mapping  # the reader load_extract used

    return _load_mapping(Path(path))


def provenance(config: Any, source: str, input_hash: str, *, mapping: Path | None = None) -> dict[str, Any]:
    """Everything needed to reproduce the run.

    Parameters
    ----------
    config
        The run's :class:`fvdid.config.RunConfig` (recorded in full).
    source, input_hash
        Where the extract came from and its sha256.
    mapping
        The column-mapping file used to read the extract (None: no renaming).
    """
    from fvdid._results import to_plain

    pk = {name: _version(name) for name in
          ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyarrow", "rpy2", "acro")}
    golden = golden_r_versions()
    return {
        "fvdid": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": pk,
        "r_installed": installed_r_version(),
        "r_parity_goldens": ", ".join(golden["r"]) or "no golden files (not a clone)",
        "r_reference_packages": {k: ", ".join(v) for k, v in golden["packages"].items()},
        "seed": config.seed,
        "input": public_source(source),  # the extract's folder name: no path of the analyst's machine
        "input_sha256": input_hash,
        "run_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": to_plain(config),
        "column_mapping": _mapping(mapping),
    }


def _words(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(_words(x) for x in v) if v else "none"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_words(x)}" for k, x in v.items()) if v else "none"
    if isinstance(v, bool):
        return "Yes" if v else "No"
    return "none" if v is None else str(v)


def _flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", _words(v)))
    return out


def provenance_section(prov: dict[str, Any], run_notes: Sequence[str]) -> Section:
    """The appendix section of the provenance (and the run's notes)."""
    main = {k: v for k, v in prov.items() if k not in ("config", "column_mapping")}
    tabs = [AppendixTable("provenance", "Versions, code and input of the run",
                          pd.DataFrame(_flat(main), columns=["item", "value"]))]
    if "config" in prov:
        tabs.append(AppendixTable("configuration", "Configuration used (every option)",
                                  pd.DataFrame(_flat(prov["config"]), columns=["option", "value"])))
    cm = prov.get("column_mapping")
    if isinstance(cm, dict):
        rows = [(t, theirs, ours) for t, m in cm.items() for ours, theirs in m.items()]
        tabs.append(AppendixTable(
            "column_mapping", "Column mapping used (extract column -> fvdid column)",
            pd.DataFrame(rows, columns=["table", "extract column", "fvdid column"]),
            empty="The column-mapping file renamed no column."))
    paras = tuple(run_notes)
    if isinstance(cm, str):
        paras = (*paras, f"Column mapping: {cm}.")
    return Section("Provenance", paras, tuple(tabs))
