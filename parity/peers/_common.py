"""Helpers shared by the adapters: the case formula syntax and the rows R uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parity.peers import PeerCannotRun

__all__ = ["Formula", "complete_rows", "parse_formula", "require", "rhs_terms"]

_C = re.compile(r"C\(\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*\)")


@dataclass(frozen=True)
class Formula:
    """A case formula ``"y ~ x1 + C(cat) + a:b | fe1 + fe2"``, split into its parts."""

    y: str
    rhs: str
    fe: tuple[str, ...]
    variables: tuple[str, ...]


def rhs_terms(rhs: str) -> list[str]:
    return [t.strip() for t in rhs.split("+") if t.strip()]


def parse_formula(formula: str) -> Formula:
    """Split a case formula into outcome, regressors (formula text) and fixed effects."""
    lhs, _, rest = formula.partition("~")
    rhs, _, fe = rest.partition("|")
    fes = tuple(f.strip() for f in fe.split("+") if f.strip() and f.strip() != "0")
    names: list[str] = [lhs.strip()]
    for term in rhs_terms(rhs):
        for part in term.split(":"):
            m = _C.fullmatch(part.strip())
            names.append(m.group(1) if m else part.strip())
    names.extend(fes)
    return Formula(lhs.strip(), rhs.strip(), fes, tuple(dict.fromkeys(n for n in names if n != "1")))


def complete_rows(data: pd.DataFrame, args: Mapping[str, Any], used: list[str]) -> pd.DataFrame:
    """The rows R uses: no missing value in a used column, and a positive weight when weighted.

    The same rule as the R scripts (``complete.cases`` and ``weights > 0``); the peers are handed
    these rows, so that a difference is the peer's estimator, not its handling of missing rows.
    """
    cl = args.get("cluster")
    cols = [*used, *([cl] if isinstance(cl, str) else (cl or []))]
    if args.get("weights"):
        cols.append(args["weights"])
    cols = list(dict.fromkeys(cols))
    ok = data[cols].notna().all(axis=1)
    if args.get("weights"):
        ok &= data[args["weights"]] > 0
    return data.loc[ok].reset_index(drop=True)


def require(condition: bool, why: str) -> None:
    """Raise :class:`PeerCannotRun` with ``why`` unless ``condition``."""
    if not condition:
        raise PeerCannotRun(why)
