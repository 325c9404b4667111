"""Run the peers' adapters on the parity cases and compare them with the R golden values.

For every ``(peer, case)`` of the registry (:func:`parity.peers.adapters`): read the case's
dataset, call the adapter with the case's literal ``args``, and compare each quantity it returns
with the golden file's R value, by label, under the case's own tolerance. A failing quantity is
matched against :data:`parity.peers.departures.KNOWN_DEPARTURES`: the known reason, or
"unexplained".
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from parity.case import Case
from parity.compare import Labelled, normalise
from parity.golden import StaleGolden, load_golden
from parity.peers import PEERS, PeerCannotRun, adapters, peer_unavailable, peer_version
from parity.peers.departures import explain
from parity.registry import get_case
from parity.runner import _dataset_missing, load_dataset

__all__ = ["PeerComparison", "PeerResult", "compare_peer", "run_peers"]

UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class PeerComparison:
    """One quantity of one case for one peer: its value, |peer - R|, and the verdict.

    ``label`` is the worst label (None for a scalar); ``peer_value`` and ``r_value`` are the
    values there. ``explanation`` is the known departure's id and reason, "unexplained", or ''.
    """

    quantity: str
    n: int
    label: str | None
    peer_value: float
    r_value: float
    abs_diff: float
    tolerance: str
    passed: bool
    detail: str = ""
    explanation: str = ""


@dataclass(frozen=True)
class PeerResult:
    """The outcome of one peer on one case."""

    peer: str
    version: str
    case: str
    family: str
    estimator: str
    status: Literal["pass", "fail", "skip"]
    comparisons: tuple[PeerComparison, ...] = ()
    message: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer, "version": self.version, "case": self.case, "family": self.family,
            "estimator": self.estimator, "status": self.status, "message": self.message,
            "comparisons": [
                {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in c.__dict__.items()}
                for c in self.comparisons
            ],
        }


def compare_peer(quantity: str, ref: Labelled, got: Labelled, case: Case) -> PeerComparison:
    """Compare one peer quantity with R by label under the case's tolerance."""
    tol = case.tolerances[quantity]
    n = len(ref.values)

    def fail(detail: str) -> PeerComparison:
        return PeerComparison(quantity, n, None, math.nan, math.nan, math.inf, tol.describe(),
                              False, detail)

    if (ref.labels is None) != (got.labels is None):
        return fail("one side is a scalar, the other labelled")
    if ref.labels is None or got.labels is None:
        if ref.values.shape != got.values.shape:
            return fail(f"shape {got.values.shape} vs R {ref.values.shape}")
        labels: list[str | None] = [None] * n
        r_vals, g_vals = ref.values, got.values
    else:
        missing = sorted(set(ref.labels) - set(got.labels))
        extra = sorted(set(got.labels) - set(ref.labels))
        if missing or extra:
            return fail(f"labels differ: missing in peer {missing[:6]} ({len(missing)}), "
                        f"extra in peer {extra[:6]} ({len(extra)})")
        pos = {lab: i for i, lab in enumerate(got.labels)}
        labels = list(ref.labels)
        r_vals = ref.values
        g_vals = got.values[[pos[lab] for lab in ref.labels]]
    both_nan = np.isnan(r_vals) & np.isnan(g_vals)
    diff = np.where(both_nan, 0.0, np.abs(g_vals - r_vals))
    diff = np.where(np.isnan(r_vals) ^ np.isnan(g_vals), np.inf, diff)
    bound = tol.bound(np.where(np.isfinite(r_vals), r_vals, 0.0))
    ok = diff <= bound
    # the label of the largest excess over the tolerance (of the largest |diff| when all pass)
    worst = (int(np.argmax(diff - bound)) if not ok.all() else int(np.argmax(diff))) if n else 0
    return PeerComparison(
        quantity, n, labels[worst] if n else None,
        float(g_vals[worst]) if n else math.nan, float(r_vals[worst]) if n else math.nan,
        float(diff.max()) if n else 0.0, tol.describe(), bool(ok.all()),
    )


def _run_one(adapter: Any, case: Case, version: str) -> PeerResult:
    base = {"peer": adapter.peer, "version": version, "case": case.name, "family": case.family,
            "estimator": adapter.estimator}
    missing = _dataset_missing(case)
    if missing:
        return PeerResult(**base, status="skip", message=missing)
    try:
        golden = load_golden(case)
    except StaleGolden as exc:
        return PeerResult(**base, status="skip", message=str(exc))
    t0 = time.perf_counter()
    try:
        out = adapter.fn(load_dataset(case), dict(case.args))
    except PeerCannotRun as exc:
        return PeerResult(**base, status="skip", message=f"cannot run: {exc}")
    except Exception as exc:
        tb = traceback.format_exc(limit=4).strip().splitlines()[-1]
        return PeerResult(**base, status="fail", seconds=time.perf_counter() - t0,
                          message=f"peer raised {type(exc).__name__}: {exc} ({tb})"[:400])
    seconds = time.perf_counter() - t0
    comps = []
    for q, val in out.items():
        if q not in golden.quantities:
            raise KeyError(f"adapter {adapter.peer}/{case.name} returned {q!r}, not in the golden file")
        got = normalise(val)
        c = compare_peer(q, golden.quantities[q], got, case)
        if not c.passed:
            why = explain(adapter.peer, case, q, golden.quantities, got)
            c = PeerComparison(**{**c.__dict__, "explanation": why or UNEXPLAINED})
        comps.append(c)
    ok = all(c.passed for c in comps)
    return PeerResult(**base, status="pass" if ok else "fail", comparisons=tuple(comps),
                      seconds=seconds, message="" if ok else "values differ")


def run_peers(names: Sequence[str] = (), cases: Sequence[str] = (),
              families: Sequence[str] = ()) -> tuple[list[PeerResult], dict[str, str]]:
    """Run every adapter of the peers named (all when none) on the cases selected.

    Returns the results and, per peer not installed, the reason it was skipped.
    """
    reg = adapters(tuple(names))
    skipped: dict[str, str] = {}
    results: list[PeerResult] = []
    for p in PEERS:
        if names and p.name not in names:
            continue
        why = peer_unavailable(p)
        if why:
            skipped[p.name] = why
            continue
        version = peer_version(p)
        for (peer, case_name), ad in reg.items():
            if peer != p.name:
                continue
            case = get_case(case_name)
            if (cases and case.name not in cases) or (families and case.family not in families):
                continue
            results.append(_run_one(ad, case, version))
    return results, skipped
