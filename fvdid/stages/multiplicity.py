"""Stage ``multiplicity``: Hochberg's step-up adjustment across the secondary outcomes.

Protocol (Secondary analyses): the secondary outcomes are one family, adjusted by Hochberg's
procedure, for the t(G-1) p-values and (when every outcome has one) the wild bootstrap's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.estimators.hochberg import hochberg
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.release import estimate_rows

__all__ = ["hochberg_family", "secondary_section"]


def hochberg_family(secondary: Mapping[str, Any]) -> pd.DataFrame:
    """Hochberg-adjusted p-values of the secondary outcomes' estimates (one row per outcome)."""
    hb = pd.DataFrame({"outcome": list(secondary)})
    if secondary:
        hb["p (t(G-1))"] = [secondary[o].p_value for o in secondary]
        hb["Hochberg (t(G-1))"] = hochberg(pd.Series(hb["p (t(G-1))"].to_numpy(), index=hb["outcome"])).to_numpy()
        hb["p (wild bootstrap)"] = [secondary[o].boot_p_value for o in secondary]
        if hb["p (wild bootstrap)"].notna().all():
            hb["Hochberg (wild bootstrap)"] = hochberg(
                pd.Series(hb["p (wild bootstrap)"].to_numpy(), index=hb["outcome"])).to_numpy()
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
            tabs.append(AppendixTable(f"checks_{o}", f"Robustness models: {o} (unweighted, first imputation, financial-year dummies; LA dummies except in the random-effects model)", a.checks))
    notes = [n for a in analyses.values() for n in a.notes]
    return Section("Secondary analyses", tuple(notes), tuple(tabs))
