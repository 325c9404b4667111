"""Run parity cases in one of three modes: replay, live, record."""

from __future__ import annotations

import functools
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from parity.case import Case
from parity.compare import Comparison, Labelled, compare, normalise
from parity.golden import (
    StaleGolden,
    golden_path,
    load_golden,
    verify_provenance,
    write_golden,
)
from parity.paths import REPO_ROOT, resolve_dataset
from parity.rdata import locate, unavailable_reason
from parity.rrunner import RUnavailable, r_unavailable_reason, run_r

__all__ = ["CaseResult", "Mode", "load_dataset", "run_case"]

Mode = Literal["replay", "live", "record"]


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case in one mode."""

    case: str
    family: str
    mode: Mode
    status: Literal["pass", "fail", "skip"]
    comparisons: tuple[Comparison, ...] = ()
    drift: tuple[Comparison, ...] = ()
    message: str = ""
    r_version: str = ""
    r_packages: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def failure_text(self) -> str:
        lines = [f"{self.case} [{self.mode}]: {self.message}".rstrip(": ")]
        for c in (*self.comparisons, *self.drift):
            if not c.passed:
                lines.append(
                    f"  {c.quantity}: max|diff|={c.max_abs_diff:.3g} > tol {c.tolerance} ({c.detail})"
                )
        return "\n".join(lines)


@functools.cache
def _read_csv(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_csv(path)


def load_dataset(case: Case) -> pd.DataFrame:
    """Read the case's dataset (a fresh copy: fvdid callables may not mutate the cache)."""
    path = locate(case.dataset)
    return _read_csv(str(path), path.stat().st_mtime).copy()


def _fvdid_quantities(case: Case) -> dict[str, Labelled]:
    out = case.fvdid(load_dataset(case), dict(case.args))
    return {k: normalise(v) for k, v in out.items()}


def _compare_all(case: Case, ref: dict[str, Labelled], got: dict[str, Labelled]) -> tuple[Comparison, ...]:
    return tuple(compare(q, ref[q], got.get(q), case.tolerances[q]) for q in ref)


def _dataset_missing(case: Case) -> str | None:
    path: Path = locate(case.dataset)
    if path.exists():
        return None
    if case.dataset.startswith("shared:"):
        return unavailable_reason(case.dataset)
    return f"dataset {resolve_dataset(case.dataset).relative_to(REPO_ROOT)} is missing: run `python -m parity.datasets build`"


def run_case(case: Case, mode: Mode = "replay") -> CaseResult:
    """Run ``case`` in ``mode`` and return its result; never raises for a failing comparison."""
    base: dict[str, Any] = {"case": case.name, "family": case.family, "mode": mode}
    missing = _dataset_missing(case)
    if missing:
        status = "fail" if case.dataset.startswith("fixtures:") else "skip"
        return CaseResult(**base, status=status, message=missing)
    if mode in ("live", "record"):
        reason = r_unavailable_reason(case.r_packages)
        if reason:
            return CaseResult(**base, status="skip", message=reason)
    try:
        if mode == "record":
            r_out = run_r(case.family, locate(case.dataset), dict(case.args), case.r_packages)
            write_golden(case, r_out)
        golden = None
        golden_error = ""
        try:
            golden = load_golden(case)
            verify_provenance(case, golden)
        except StaleGolden as exc:
            golden_error = str(exc)
        if mode == "replay":
            if golden is None or golden_error:
                return CaseResult(**base, status="fail", message=golden_error)
            ref = golden.quantities
            drift: tuple[Comparison, ...] = ()
            r_version = golden.provenance["r_version"]
            r_packages = golden.provenance["r_packages"]
        else:
            if mode == "live":
                r_out = run_r(case.family, locate(case.dataset), dict(case.args), case.r_packages)
            ref = {k: Labelled.from_json(v) for k, v in r_out["quantities"].items()}
            r_version = r_out["r"]["version"]
            r_packages = r_out["r"]["packages"]
            if golden is None or golden_error:
                return CaseResult(
                    **base, status="fail", message=golden_error or f"no golden {golden_path(case)}",
                    r_version=r_version, r_packages=r_packages,
                )
            missing_tol = sorted(set(ref) - set(case.tolerances))
            if missing_tol:
                return CaseResult(**base, status="fail", message=f"no tolerance for {missing_tol}")
            # Drift: does R today still give the golden numbers?
            drift = tuple(
                compare(f"{q} (R vs golden)", golden.quantities[q], ref.get(q), case.tolerances[q])
                for q in golden.quantities
            )
        got = _fvdid_quantities(case)
        comps = _compare_all(case, ref, got)
        ok = all(c.passed for c in comps) and all(c.passed for c in drift)
        msg = "" if ok else "values differ"
        if any(not c.passed for c in drift):
            msg = "live R differs from the golden file: regenerate with `python -m parity record " + case.name + "`"
        return CaseResult(
            **base, status="pass" if ok else "fail", comparisons=comps, drift=drift, message=msg,
            r_version=r_version, r_packages=dict(r_packages),
        )
    except RUnavailable as exc:
        return CaseResult(**base, status="skip", message=str(exc))
    except Exception as exc:
        tb = traceback.format_exc(limit=6)
        return CaseResult(**base, status="fail", message=f"{type(exc).__name__}: {exc}\n{tb}")
