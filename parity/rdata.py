"""The R packages' datasets of ``shared:`` cases: the shared folder, or a cache exported from R.

A ``shared:<package>__<name>.csv`` dataset is looked up in the shared data folder
(:func:`parity.paths.shared_data_dir`), then in a cache outside the repository
(``$FVDID_R_DATA_CACHE``, default ``~/.cache/fvdid/r-data``). When neither has it and R with the
package is installed, it is exported from the package itself (``data(<name>, package =
<package>)`` written by ``write.csv(row.names = FALSE)``, the way the shared files were made: the
bytes, hence the golden files' dataset hashes, are the same). Messages never print absolute paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from parity.paths import resolve_dataset

__all__ = ["cache_dir", "locate", "package_of", "unavailable_reason"]


def cache_dir() -> Path:
    env = os.environ.get("FVDID_R_DATA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "fvdid" / "r-data"


def package_of(spec: str) -> tuple[str, str] | None:
    """``("did", "mpdta")`` for ``"shared:did__mpdta.csv"``; None for other specs."""
    kind, _, rel = spec.partition(":")
    if kind != "shared" or "__" not in rel or not rel.endswith(".csv"):
        return None
    pkg, _, name = rel[: -len(".csv")].partition("__")
    return pkg, name


def _export(pkg: str, name: str, dest: Path) -> str | None:
    """Write the dataset with Rscript; return None on success or why it failed."""
    if shutil.which("Rscript") is None:
        return "R is not installed (no Rscript on the PATH) to export it"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    code = (
        f'if (!requireNamespace("{pkg}", quietly = TRUE)) quit(status = 3); '
        f'e <- new.env(); data(list = "{name}", package = "{pkg}", envir = e); '
        f'write.csv(get("{name}", envir = e), commandArgs(TRUE)[1], row.names = FALSE)'
    )
    proc = subprocess.run(
        ["Rscript", "-e", code, str(tmp)], capture_output=True, text=True, timeout=300
    )
    if proc.returncode == 3:
        return f"R package {pkg} is not installed to export it"
    if proc.returncode != 0 or not tmp.exists():
        return f"R could not export data set {name} of package {pkg}"
    tmp.replace(dest)
    return None


_FAILED: dict[str, str] = {}


def locate(spec: str) -> Path:
    """The file of a dataset spec: shared folder, else the cache (exported on first use)."""
    path = resolve_dataset(spec)
    pn = package_of(spec)
    if path.exists() or pn is None:
        return path
    cached = cache_dir() / path.name
    if cached.exists():
        return cached
    if spec not in _FAILED and os.environ.get("FVDID_NO_R_EXPORT") != "1":
        why = _export(*pn, cached)
        if why is None:
            return cached
        _FAILED[spec] = why
    return path


def unavailable_reason(spec: str) -> str:
    """Why a ``shared:`` dataset could not be found or exported (no absolute paths)."""
    pn = package_of(spec)
    rel = spec.partition(":")[2]
    where = "not in the shared data folder ($FVDID_SHARED_DATA or ../shared/data/r-packages)"
    if pn is None:
        return f"shared dataset {rel} is absent: {where}"
    pkg, name = pn
    why = _FAILED.get(spec) or "R export disabled (FVDID_NO_R_EXPORT=1)"
    return (
        f"data set {name} of R package {pkg} is absent: {where}, nor in the cache "
        f"(~/.cache/fvdid/r-data or $FVDID_R_DATA_CACHE), and {why}"
    )
