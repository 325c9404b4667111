"""The declarative parity case and its tolerances."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["Case", "Quantity", "Tol"]

Quantity = pd.Series | Mapping[Any, float] | float | int
"""What a case's fvdid callable returns per quantity: labelled values or a scalar."""


@dataclass(frozen=True)
class Tol:
    """A tolerance for one quantity, with the reason it is as wide as it is.

    ``kind="abs"``: ``|fvdid - R| <= atol + rtol * |R|`` for every label.
    ``kind="exact"``: identical values (NaN equals NaN).
    ``kind="mc_pvalue"``: ``|p - p_R| <= 4 * sqrt(p_R (1 - p_R) / B)`` (floored at ``4/B``): the
    Monte Carlo band of a bootstrap p-value from ``B`` independent draws.
    """

    atol: float
    reason: str
    rtol: float = 0.0
    kind: Literal["abs", "exact", "mc_pvalue"] = "abs"
    B: int | None = None

    def __post_init__(self) -> None:
        if not self.reason or not self.reason.strip():
            raise ValueError("every tolerance needs a reason")
        if self.kind == "mc_pvalue" and not self.B:
            raise ValueError("a Monte Carlo tolerance needs B")

    @classmethod
    def exact(cls, reason: str) -> Tol:
        """Identical values: counts, strata, integer results."""
        return cls(0.0, reason, kind="exact")

    @classmethod
    def mc_pvalue(cls, B: int, reason: str) -> Tol:
        """The Monte Carlo band ``4 * sqrt(p(1-p)/B)`` of a bootstrap p-value."""
        return cls(0.0, reason, kind="mc_pvalue", B=B)

    def bound(self, ref: np.ndarray) -> np.ndarray:
        """Return the allowed absolute difference for each reference value."""
        ref = np.asarray(ref, dtype=float)
        if self.kind == "exact":
            return np.zeros_like(ref)
        if self.kind == "mc_pvalue":
            assert self.B is not None
            p = np.clip(ref, 0.0, 1.0)
            return np.maximum(4.0 * np.sqrt(p * (1.0 - p) / self.B), 4.0 / self.B)
        return self.atol + self.rtol * np.abs(ref)

    def describe(self) -> str:
        """Return a short human description (for the report)."""
        if self.kind == "exact":
            return "exact"
        if self.kind == "mc_pvalue":
            return f"4*sqrt(p(1-p)/{self.B})"
        if self.rtol:
            return f"{self.atol:g} + {self.rtol:g}*|R|"
        return f"{self.atol:g}"


@dataclass(frozen=True)
class Case:
    """One parity case: dataset, literal arguments, the fvdid call, tolerances.

    Parameters
    ----------
    name
        Unique name; the golden file is ``fixtures/golden/<family>/<name>.json``.
    family
        Estimator family; the R script is ``r_reference/<family>.R``.
    dataset
        ``"fixtures:<family>/<file>.csv"`` or ``"shared:<file>.csv"``.
    args
        Literal arguments, passed verbatim (as JSON) to the R script and to ``fvdid``.
    fvdid
        ``fvdid(data, args) -> {quantity: labelled values or scalar}``.
    tolerances
        Tolerance per quantity; every quantity in the golden file needs one.
    key
        What labels align rows (e.g. ``"term"``, ``"group:time"``); documentation for the report.
    r_packages
        R packages the case needs (absent ones skip the live test) and whose versions are recorded.
    description
        One line for the report.
    """

    name: str
    family: str
    dataset: str
    args: Mapping[str, Any]
    fvdid: Callable[[pd.DataFrame, Mapping[str, Any]], Mapping[str, Quantity]]
    tolerances: Mapping[str, Tol]
    key: str
    r_packages: tuple[str, ...] = ()
    description: str = ""
    peers: Mapping[str, Callable[[pd.DataFrame, Mapping[str, Any]], Mapping[str, Quantity]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        if not self.tolerances:
            raise ValueError(f"case {self.name}: no tolerances")
        json.dumps(dict(self.args))  # args must be literal JSON

    @property
    def case_hash(self) -> str:
        """Hash of what determines the R output: name, family, dataset, args, packages."""
        payload = json.dumps(
            {
                "name": self.name,
                "family": self.family,
                "dataset": self.dataset,
                "args": self.args,
                "r_packages": sorted(self.r_packages),
            },
            sort_keys=True,
            default=_json_default,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def _json_default(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    raise TypeError(f"not JSON serialisable: {obj!r}")
