"""The peers' known departures from R: what differs, why, and a check that it is that.

A peer's failing quantity is "explained" only when a departure's ``check`` confirms, with the
numbers of this run, that the difference is of the known kind and size (e.g. exactly 2/2^G);
otherwise the report says "unexplained". Every departure is reproduced by a parity case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from parity.case import Case
from parity.compare import Labelled

__all__ = ["KNOWN_DEPARTURES", "Departure", "explain"]

Check = Callable[[Case, str, Mapping[str, Labelled], Labelled], bool]


@dataclass(frozen=True)
class Departure:
    """A known, explained difference between a peer and the R reference."""

    id: str
    peers: tuple[str, ...]
    families: tuple[str, ...]
    what: str
    why: str
    check: Check


def _scalar(q: Labelled) -> float:
    return float(q.values[0])


def _ties(case: Case, quantity: str, ref: Mapping[str, Labelled], got: Labelled) -> bool:
    """p differs by exactly 2/2^G under full enumeration of the 2^G Rademacher sign vectors."""
    if quantity != "p_value" or not case.args.get("enumerated") or case.args["type"] != "rademacher":
        return False
    g = _scalar(ref["n_clusters"])
    return bool(abs(abs(_scalar(got) - _scalar(ref["p_value"])) - 2.0 / 2.0**g) < 1e-12)


def _csdid_rc(case: Case, quantity: str, ref: Mapping[str, Labelled], got: Labelled) -> bool:
    """A repeated-cross-section standard error within 0.2 % (relative) of R's, not equal."""
    if case.args.get("panel", True) or not quantity.endswith("se"):
        return False
    r = ref[quantity].values
    if ref[quantity].labels is not None and got.labels is not None:
        pos = {lab: i for i, lab in enumerate(got.labels)}
        if set(pos) != set(ref[quantity].labels):
            return False
        g = got.values[[pos[lab] for lab in ref[quantity].labels]]
    else:
        g = got.values
    ok = np.isfinite(r) & (r != 0)
    rel = np.abs(g[ok] / r[ok] - 1.0)
    return bool(ok.any() and rel.max() < 2e-3)


def _bacon_always(case: Case, quantity: str, ref: Mapping[str, Labelled], got: Labelled) -> bool:
    """R's decomposition has 'Later vs Always Treated' 2x2s, which the peer does not return."""
    types = ref["n_by_type"].labels or ()
    if "Later vs Always Treated" not in types:
        return False
    if quantity in ("n_by_type", "summary_weight", "summary_estimate"):
        return got.labels is not None and "Later vs Always Treated" not in got.labels
    return quantity in ("estimate", "weight", "twfe")


def _fixest_df(case: Case, quantity: str, ref: Mapping[str, Labelled], got: Labelled) -> bool:
    """pyfixest's CR1 standard errors equal R fixest's (recorded), not sandwich's."""
    from parity.peers.fixest_reference import load_reference

    doc = load_reference()
    if quantity != "se" or doc is None or case.name not in doc["cases"] or got.labels is None:
        return False
    fx = doc["cases"][case.name]["se"]
    fx_map = dict(zip(fx["labels"], fx["values"]))
    g = dict(zip(got.labels, got.values))
    if set(fx_map) != set(g):
        return False
    rel = max(abs(g[k] / fx_map[k] - 1.0) for k in g)
    return rel < 1e-8


KNOWN_DEPARTURES: tuple[Departure, ...] = (
    Departure(
        "a", ("wildboottest", "pyfixest"), ("boottest",),
        "wild cluster bootstrap p-value under full enumeration differs by exactly 2/2^G",
        "With Rademacher weights and 2^G <= B both sides enumerate the 2^G sign vectors. The "
        "bootstrap t* of the sign vector +1 (and of -1 under the null) equals |t| up to "
        "rounding; fwildclusterboot and the wildboottest engine (which pyfixest calls) count "
        "these ties on opposite sides of |t|, so the two-tailed p differs by exactly 2/2^G.",
        _ties,
    ),
    Departure(
        "b", ("csdid",), ("did",),
        "repeated-cross-section ATT(g,t) standard errors ~0.05 % off R did's",
        "csdid's repeated-cross-section influence functions (its drdid port) differ from R "
        "DRDID's in a finite-sample normalisation; the point estimates agree, the standard "
        "errors differ by a near-constant relative amount of a few 1e-4.",
        _csdid_rc,
    ),
    Departure(
        "c", ("diff_diff",), ("bacon",),
        "Goodman-Bacon decomposition without the always-treated comparisons",
        "diff-diff remaps units treated in the first period into the untreated bucket U "
        "(n_always_treated_remapped) instead of keeping bacondecomp's 'Later vs Always "
        "Treated' 2x2s, so those comparisons are missing and the other weights are rescaled.",
        _bacon_always,
    ),
    Departure(
        "d", ("pyfixest",), ("ols",),
        "CR1 standard errors when the cluster is also a fixed effect (or nests one)",
        "fixest's small-sample factor (n-1)/(n-K) leaves out of K the fixed effects nested in "
        "a cluster (ssc fixef.K = 'nested'; pyfixest k_fixef = 'nonnested'); sandwich on lm "
        "counts every dummy. pyfixest equals R fixest (parity/peers/fixest_reference.json).",
        _fixest_df,
    ),
)


def explain(peer: str, case: Case, quantity: str, ref: Mapping[str, Labelled],
            got: Labelled) -> str | None:
    """The known departure that accounts for ``peer``'s failing ``quantity``, or None."""
    for d in KNOWN_DEPARTURES:
        if peer in d.peers and case.family in d.families and d.check(case, quantity, ref, got):
            return f"known departure ({d.id}): {d.what}"
    return None
