"""Stage ``multiplicity``: Hochberg's step-up adjustment across the secondary outcomes.

Protocol (Secondary analyses): the five secondary outcomes are one pre-registered family,
adjusted by Hochberg's procedure, for the headline p-values and (when every estimated outcome
has one) the linear model's wild bootstrap p-values. A missing or failed outcome stays in the
family with p = 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fvdid.estimators.hochberg import hochberg
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.release import estimate_rows
from fvdid.stages.robustness import CHECKS_CAPTION

__all__ = ["hochberg_family", "secondary_section"]


def hochberg_family(secondary: Mapping[str, Any], family: Sequence[str] | None = None,
                    reasons: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Hochberg-adjusted p-values over the pre-registered family of secondary outcomes.

    The family is fixed in advance (``family``, default the estimated outcomes): an outcome
    absent from the extract or whose estimate failed stays in it, shown as failed, and enters
    the adjustment with p = 1, so the family cannot shrink silently and the others' adjusted
    p-values are never smaller than they would be with it. ``reasons`` gives, per outcome, why
    it was not estimated.
    """
    fam = list(secondary) if family is None else list(family)
    reasons = dict(reasons or {})
    rows = []
    for o in fam:
        e = secondary.get(o)
        rows.append({
            "outcome": o,
            "status": "estimated" if e is not None else f"failed: {reasons.get(o, 'not estimated')}",
            "headline model": e.headline_model if e is not None else "",
            "p (headline, t(G-1))": e.p_value if e is not None else np.nan,
            "p (wild bootstrap, linear)": e.boot_p_value if e is not None else np.nan,
        })
    hb = pd.DataFrame(rows, columns=["outcome", "status", "headline model", "p (headline, t(G-1))",
                                     "p (wild bootstrap, linear)"])
    if hb.empty:
        return hb
    for col, adj in (("p (headline, t(G-1))", "Hochberg (headline)"),
                     ("p (wild bootstrap, linear)", "Hochberg (wild bootstrap)")):
        est = hb["status"] == "estimated"
        if est.any() and hb.loc[est, col].isna().any():
            continue  # the bootstrap was not run for every estimated outcome
        used = hb[col].where(est & hb[col].notna(), 1.0)
        hb[adj] = hochberg(pd.Series(used.to_numpy(), index=hb["outcome"])).to_numpy()
    return hb


def secondary_section(secondary: Mapping[str, Any], hb: pd.DataFrame, analyses: Mapping[str, Any],
                      cfg: Any) -> Section:
    """The appendix section of the secondary outcomes, their family and the robustness models."""
    tabs = [AppendixTable("secondary", "Secondary outcomes (same specification)",
                          estimate_rows(secondary, cfg.sdc_threshold))]
    if not hb.empty:
        tabs.append(AppendixTable("hochberg", "Hochberg adjustment across the secondary outcomes", hb))
    for o, a in analyses.items():
        if not a.checks.empty:
            tabs.append(AppendixTable(f"checks_{o}", f"Robustness models: {o} ({CHECKS_CAPTION})", a.checks))
    notes = [n for a in analyses.values() for n in a.notes]
    return Section("Secondary analyses", tuple(notes), tuple(tabs))
