"""PyPI ``cem`` against the ``cem`` cases (R: cem::cem), the matching and weighting step.

PyPI cem's ``match(data, treatment)`` matches exactly on columns that are already coarsened and
returns the CEM weights; its own ``coarsen()`` searches cut points that minimise L1, which is not
R's rule (Sturges by default, or the case's ``cutpoints``). So the adapter hands it R's cut
points, the golden file's ``breaks`` (cells ``(b_i, b_i+1]``, the first closed, as R's ``cut(...,
include.lowest = TRUE)``), and categorical columns as they are: the comparison tests the strata,
matching and weights given the bins, not the binning. k2k (random pruning), a baseline group
other than the treated, a ``grouping`` that merges levels and missing covariates cannot run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from parity.case import Quantity
from parity.peers._common import require

__all__ = ["ADAPTERS"]


def _breaks(case_name: str) -> dict[str, np.ndarray]:
    from parity.golden import load_golden
    from parity.registry import get_case

    q = load_golden(get_case(case_name)).quantities["breaks"]
    out: dict[str, list[float]] = {}
    for lab, v in zip(q.labels or (), q.values):
        out.setdefault(lab.rsplit(":", 1)[0], []).append(float(v))
    return {k: np.asarray(v) for k, v in out.items()}


def _make(case_name: str) -> Callable[[pd.DataFrame, Mapping[str, Any]], dict[str, Quantity]]:
    def run(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
        from cem.match import match

        require(not args.get("k2k"), "PyPI cem has no k2k (one-to-one random pruning)")
        require(args.get("baseline") in (None, 1), "PyPI cem weights to the highest level only")
        for col, groups in (args.get("grouping") or {}).items():
            require(all(len(g) == 1 for g in groups), f"PyPI cem has no grouping of {col} levels")
        covs, treat = list(args["covariates"]), args["treatment"]
        require(not data[covs].isna().any().any(), "PyPI cem has no missing-value strata")
        breaks = _breaks(case_name)
        coarse = pd.DataFrame({treat: data[treat].to_numpy()})
        for c in covs:
            if c in breaks:
                coarse[c] = pd.cut(data[c].to_numpy(dtype=float), breaks[c], right=True,
                                   include_lowest=True, labels=False)
            else:
                coarse[c] = pd.factorize(data[c])[0]
        w = match(coarse, treat).sort_index().to_numpy(dtype=float)
        ids = (data[args["id"]] if args.get("id") else pd.Series(np.arange(1, len(data) + 1)))
        labels = [str(i) for i in ids]
        matched = w > 0
        t = data[treat].to_numpy() == 1
        strata = coarse[covs].astype(str).agg("|".join, axis=1)
        counts = {}
        for g, mask in (("G0", ~t), ("G1", t)):
            counts[f"All:{g}"] = float(mask.sum())
            counts[f"Matched:{g}"] = float((mask & matched).sum())
            counts[f"Unmatched:{g}"] = float((mask & ~matched).sum())
        return {
            "matched": pd.Series(matched.astype(float), index=labels),
            "weights": pd.Series(w, index=labels),
            "counts": counts,
            "n_matched_strata": float(strata[matched].nunique()),
        }

    return run


_CASES = ("cem_ll_default", "cem_llvspsid_default", "cem_dw_explicit", "cem_ll_rules",
          "cem_mixed_sturges", "cem_children_protocol", "cem_ll_baseline0", "cem_dw_k2k",
          "cem_lelonde_grouping")
ADAPTERS = {c: ("match (on R's bins)", _make(c)) for c in _CASES}
