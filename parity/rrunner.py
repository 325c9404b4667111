"""Run a case's R script now: through rpy2 (embedded R) or, failing that, ``Rscript``.

Live parity means R computes the reference in this run. rpy2 is the primary route; the ``Rscript``
route (``FVDID_R_BACKEND=rscript``) is for machines where rpy2 will not load.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from parity.paths import R_DIR

__all__ = ["RUnavailable", "backend", "missing_packages", "r_unavailable_reason", "run_r"]

COMMON = R_DIR / "_common.R"


class RUnavailable(RuntimeError):
    """R, rpy2 or an R package needed by a case is not available here."""


@functools.cache
def _rpy2() -> Any:
    os.environ.setdefault("RPY2_CFFI_MODE", "ABI")
    ld_before = os.environ.get("LD_LIBRARY_PATH")
    import rpy2.rinterface_lib.callbacks as callbacks
    import rpy2.robjects as ro

    # Embedding R exports R's environment, including an LD_LIBRARY_PATH with the system's
    # library folder; a Python subprocess started afterwards (a test, a dask worker) would load
    # the system libpython instead of this interpreter's and lose its site-packages. R is
    # already loaded in this process, so the variable is put back as it was.
    if ld_before is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = ld_before

    callbacks.consolewrite_warnerror = lambda s: None  # keep R's chatter off the test output
    callbacks.consolewrite_print = lambda s: None
    ro.r["source"](str(COMMON))
    return ro


def backend() -> str | None:
    """Return ``"rpy2"``, ``"rscript"`` or None when no R can be reached."""
    wanted = os.environ.get("FVDID_R_BACKEND", "").lower()
    if wanted != "rscript":
        try:
            _rpy2()
            return "rpy2"
        except Exception:  # rpy2 absent or R will not embed
            if wanted == "rpy2":
                return None
    return "rscript" if shutil.which("Rscript") else None


@functools.cache
def _installed_packages() -> frozenset[str]:
    be = backend()
    if be == "rpy2":
        ro = _rpy2()
        names = ro.r("rownames(installed.packages())")
        return frozenset(str(x) for x in names)
    if be == "rscript":
        out = subprocess.run(
            ["Rscript", "-e", "cat(rownames(installed.packages()), sep='\\n')"],
            capture_output=True,
            text=True,
            check=True,
        )
        return frozenset(out.stdout.split())
    return frozenset()


def missing_packages(packages: tuple[str, ...]) -> list[str]:
    """Return the R packages among ``packages`` (and jsonlite) that are not installed."""
    have = _installed_packages()
    return [p for p in ("jsonlite", *packages) if p not in have]


def r_unavailable_reason(packages: tuple[str, ...]) -> str | None:
    """Return why a live run cannot happen here, or None when it can."""
    be = backend()
    if be is None:
        return "R is not available (neither rpy2 nor Rscript could be used)"
    miss = missing_packages(packages)
    if miss:
        return (
            f"R package(s) {', '.join(miss)} not installed "
            "(users with CRAN: Rscript r_reference/install.R)"
        )
    return None


def run_r(family: str, dataset: Path, args: dict[str, Any], packages: tuple[str, ...]) -> dict:
    """Run ``r_reference/<family>.R`` on ``dataset`` with ``args``; return the parsed JSON.

    The JSON has ``quantities`` (name -> {labels, values as %.17g strings}) and ``r`` (version,
    platform, package versions).
    """
    reason = r_unavailable_reason(packages)
    if reason:
        raise RUnavailable(reason)
    script = R_DIR / f"{family}.R"
    args_json = json.dumps(args)
    pk_json = json.dumps(list(packages))
    if backend() == "rpy2":
        ro = _rpy2()
        try:
            res = ro.r["fv_run_case"](str(script), str(dataset), args_json, pk_json)
        except Exception as exc:  # an R error: surface R's message
            raise RuntimeError(f"R failed on {script.name}: {exc}") from exc
        return json.loads(str(res[0]))
    with tempfile.TemporaryDirectory() as tmp:
        a = Path(tmp) / "args.json"
        o = Path(tmp) / "out.json"
        a.write_text(args_json)
        proc = subprocess.run(
            ["Rscript", str(COMMON), str(script), str(dataset), str(a), pk_json, str(o)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"R failed on {script.name}:\n{proc.stderr[-3000:]}")
        return json.loads(o.read_text())
