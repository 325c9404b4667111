"""Stage ``descriptives``: characteristics of children in treatment and comparison LAs.

Shares of binary covariates and outcomes, means of continuous ones, and counts, each passed
through statistical disclosure control (:mod:`fvdid.sdc`) before it can reach the appendix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fvdid._results import ResultMixin
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.sdc import SDCTable, magnitude_table, share_table, suppress_counts
from fvdid.stages.prepare import GROUPS, group_labels

__all__ = ["Descriptives", "describe_groups", "descriptives_section"]



@dataclass(frozen=True)
class Descriptives(ResultMixin):
    """Disclosure-controlled descriptive tables.

    Attributes
    ----------
    counts
        Children by group and financial year (SDC applied).
    shares
        Percent of children with each binary characteristic / outcome, by group (SDC applied).
    means
        Means of continuous variables by group (threshold and dominance applied).
    """

    counts: SDCTable
    shares: SDCTable
    means: SDCTable

    def tidy(self) -> pd.DataFrame:
        return pd.concat(
            [self.shares.display("{:.1f}"), self.means.display("{:.2f}")], keys=["share (%)", "mean"]
        ).reset_index()

    @property
    def n_suppressed(self) -> int:
        return sum(t.n_primary + t.n_secondary for t in (self.counts, self.shares, self.means))


def describe_groups(
    data: pd.DataFrame,
    *,
    binary: Sequence[str],
    continuous: Sequence[str],
    categorical: Sequence[str] = (),
    threshold: int = 10,
    dominance_n: int = 2,
    dominance_k: float = 90.0,
) -> Descriptives:
    """Tabulate treatment vs comparison LAs, with disclosure control.

    Categorical columns are expanded into one binary row per level ("gender=2").
    """
    d = data.assign(group=group_labels(data))
    counts = pd.crosstab(d["financial_year"], d["group"]).reindex(columns=list(GROUPS), fill_value=0)
    blocks: list[SDCTable] = []

    def block(items: list[tuple[str, pd.Series]], additive: bool) -> SDCTable | None:
        num_rows, den_rows = {}, {}
        for name, s in items:
            s = pd.to_numeric(s, errors="coerce")
            num_rows[name] = s.groupby(d["group"]).sum().reindex(GROUPS, fill_value=0)
            den_rows[name] = s.notna().groupby(d["group"]).sum().reindex(GROUPS, fill_value=0)
        if not num_rows:
            return None
        return share_table(
            pd.DataFrame(num_rows).T, pd.DataFrame(den_rows).T, threshold=threshold, secondary=additive
        )

    # Binary characteristics are separate rows (not additive): no secondary suppression across them.
    b = block([(c, d[c]) for c in binary if c in d.columns], additive=False)
    if b is not None:
        blocks.append(b)
    # The levels of one categorical variable sum to 100 %: secondary suppression within the block.
    for c in categorical:
        if c not in d.columns:
            continue
        items = []
        for lev in sorted(d[c].dropna().unique(), key=str):
            lev_s = int(lev) if isinstance(lev, float) and float(lev).is_integer() else lev
            items.append((f"{c}={lev_s}", (d[c] == lev).where(d[c].notna())))
        cb = block(items, additive=True)
        if cb is not None:
            blocks.append(cb)
    shares = SDCTable(
        pd.concat([x.table for x in blocks]),
        pd.concat([x.raw for x in blocks]),
        pd.concat([x.reasons for x in blocks]),
    )
    long = d.melt(
        id_vars=["group"], value_vars=[c for c in continuous if c in d.columns], var_name="variable"
    )
    means = magnitude_table(
        long, "variable", "group", "value", threshold=threshold,
        dominance_n=dominance_n, dominance_k=dominance_k, secondary=False,
    )
    return Descriptives(suppress_counts(counts, threshold), shares, means)


def released_by_year(counts: pd.DataFrame, cfg: Any) -> pd.DataFrame:
    """Children by financial year and group as released: rounded like the flow table (whose
    sample totals they add up to), small cells suppressed, and secondary suppression so that no
    suppressed cell is bounded from the group totals the flow table publishes."""
    from fvdid.reporting.sdc import SUPPRESSED, release_table, round_to_base
    from fvdid.reporting.sdc_bounds import parse_cell, protect

    thr, base = int(cfg.sdc_threshold), int(cfg.sdc_round_base)
    frame = counts.reset_index()
    cols = [c for c in counts.columns]
    out = release_table(frame, cols, threshold=thr, round_base=base)
    cells = {("y", i, c): parse_cell(out.at[i, c]) for i in out.index for c in cols}
    eqs = []
    for c in cols:
        cells[("total", c)] = ("rounded", float(round_to_base(float(counts[c].sum()), base)))
        eqs.append({**{("y", i, c): 1.0 for i in out.index}, ("total", c): -1.0})
    cells, added = protect(cells, eqs, threshold=thr, base=base,
                           candidates=[k for k in cells if k[0] == "y"])
    for _, i, c in added:
        out.at[i, c] = SUPPRESSED
    out.columns = [str(c) for c in out.columns]
    out.attrs["sdc"] = [{"output": "children by year", "action": "rounded and suppressed",
                         "what": "counts", "why": f"below {thr} suppressed, others rounded to base "
                         f"{base} as in the flow table" + (f"; {len(added)} secondary" if added else "")}]
    return out


def descriptives_section(analytic: pd.DataFrame, cfg: Any) -> Section:
    """The appendix section of descriptive statistics (primary outcome's analytic sample)."""
    desc = describe_groups(
        analytic,
        binary=["disabled", "fsm", "uasc", "prior_cpp", "looked_after_18m", "cpp_12m"],
        continuous=["age_at_referral", "days_cpp_cin_18m", "unauth_absence_rate"],
        categorical=["gender", "ethnicity_major"], threshold=cfg.sdc_threshold,
        dominance_n=cfg.sdc_dominance_n, dominance_k=cfg.sdc_dominance_k)
    return Section(
        "Descriptive statistics",
        ("Treatment LAs against their matched comparison LAs, analytic sample of the primary outcome.",),
        (AppendixTable("children_by_year", "Children by financial year and group",
                       released_by_year(desc.counts.raw, cfg)),
         AppendixTable("shares", "Share of children (%)", desc.shares.display("{:.1f}").reset_index()),
         AppendixTable("means", "Means of continuous variables", desc.means.display("{:.2f}").reset_index())),
    )
