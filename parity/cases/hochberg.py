"""Parity cases of fvdid.hochberg against stats::p.adjust (r_reference/hochberg.R)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.hochberg import hochberg
from parity import Case, Quantity, Tol

_TOL = {
    "adjusted": Tol(
        1e-15,
        "products of p by small integers and a running minimum: identical operations, "
        "at most one rounding of the product",
    )
}


def _fvdid_hochberg(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    p = pd.Series(data[args["p"]].to_numpy(), index=data[args["label"]].astype(str))
    if args.get("subset"):
        p = p.loc[list(args["subset"])]
    # NA p-values stay NA on both sides and are left out of the compared quantity; the others
    # still check that m counts only the non-missing p-values.
    return {"adjusted": hochberg(p).dropna()}


def _case(name: str, description: str, **args: Any) -> Case:
    return Case(
        name=name,
        family="hochberg",
        dataset="fixtures:regression/pvalues_ties.csv",
        args=args,
        fvdid=_fvdid_hochberg,
        key="outcome",
        tolerances=_TOL,
        r_packages=("stats",),
        description=description,
    )


CASES = [
    _case("hochberg_ties_na", "eleven p-values with ties, a 1 and an NA", label="outcome", p="p"),
    _case(
        "hochberg_secondary",
        "the protocol's five secondary outcomes (subset, ties at 0.01)",
        label="outcome",
        p="p",
        subset=["o01", "o03", "o04", "o07", "o10"],
    ),
    _case(
        "hochberg_small_p",
        "subset with p < 0.05 only: every adjusted value below 1",
        label="outcome",
        p="p",
        subset=["o01", "o02", "o05", "o06", "o10"],
    ),
]
