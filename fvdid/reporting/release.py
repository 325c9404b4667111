"""Tables as released: the flow of children, CEM per pair and the estimates, after disclosure control.

Everything here leaves the secure environment, so every count passes :mod:`fvdid.reporting.sdc`
(threshold, rounding, secondary suppression) and every estimate needs enough residual degrees of
freedom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fvdid.reporting.sdc import SUPPRESSED, dof_ok, release_sig, release_table
from fvdid.reporting.sdc_bounds import flow_equations, parse_cell, protect

__all__ = ["estimate_rows", "released_cem", "released_flow"]


STRUCTURAL_STEPS = {"LA neither a treatment LA nor a matched comparator": ("excluded_treatment",)}
"""Flow steps whose exclusion of a group is zero by definition (treatment LAs are never dropped
for not being a treatment LA): shown as the structural zero "-"."""


def _pool_flow(flow: pd.DataFrame, counts: list[str], thr: int) -> tuple[pd.DataFrame, list[str]]:
    """Pool a step whose exclusions include a count below ``thr`` with the step before it (the
    first step with the one after), until no step excludes a small non-zero-by-definition count:
    a small exclusion is otherwise the difference of two published remaining counts."""
    f = flow.reset_index(drop=True).copy()
    exc = [c for c in counts if c.startswith("excluded")]
    pooled: list[str] = []

    def small(i: int) -> bool:
        struct = STRUCTURAL_STEPS.get(str(f.at[i, "step"]), ())
        return any(float(f.at[i, c]) < thr and not (c in struct and float(f.at[i, c]) == 0) for c in exc)

    while len(f) > 2:
        bad = [i for i in range(1, len(f)) if small(i)]
        if not bad:
            break
        i = bad[0]
        j, k = (i - 1, i) if i > 1 else (i, i + 1)
        if k >= len(f):
            break
        name = f"{f.at[j, 'step']}; {f.at[k, 'step']}"
        pooled.append(f"{f.at[j, 'step']} + {f.at[k, 'step']}")
        row = f.loc[k].copy()
        row["step"] = name
        for c in exc:
            row[c] = float(f.at[j, c]) + float(f.at[k, c])
        f = pd.concat([f.iloc[:j], row.to_frame().T, f.iloc[k + 1:]], ignore_index=True)
    return f, pooled


def released_flow(flow: pd.DataFrame, cfg: Any) -> pd.DataFrame:
    """The flow table as released: steps with a small exclusion pooled with their neighbour, small
    counts suppressed, the others rounded, and secondary suppression until no suppressed count can
    be bounded to an interval narrower than the threshold from the table's additive structure
    (``remaining[i-1] = excluded[i] + remaining[i]``, all = treatment + comparison). The first
    row's exclusions, and exclusions zero by definition, are structural zeros ("-").

    The frame's ``attrs["sdc"]`` lists what was pooled or suppressed, for the appendix's SDC audit.
    """
    thr, base = int(cfg.sdc_threshold), int(cfg.sdc_round_base)
    counts = [c for c in flow.columns if c != "step"]
    f, pooled = _pool_flow(flow, counts, thr)
    structural = pd.DataFrame(False, index=f.index, columns=counts)
    structural.loc[f.index[0], [c for c in counts if c.startswith("excluded")]] = True
    for i in f.index:
        for c in STRUCTURAL_STEPS.get(str(f.at[i, "step"]).split("; ")[-1], ()):
            if c in counts and float(f.at[i, c]) == 0:
                structural.at[i, c] = True
    out = release_table(f, counts, threshold=thr, round_base=base, structural=structural)
    cells = {("flow", i, c): parse_cell(out.at[i, c]) for i in out.index for c in counts}
    cells, added = protect(cells, flow_equations(out[["step", *counts]]), threshold=thr, base=base)
    for _, i, c in added:  # type: ignore[misc]
        out.at[i, c] = SUPPRESSED
    audit = [{"output": "flow", "action": "pooled", "what": p,
              "why": f"a step excluded fewer than {thr} children of a group"} for p in pooled]
    n_primary = sum(1 for i in out.index for c in counts if out.at[i, c] == SUPPRESSED) - len(added)
    if n_primary:
        audit.append({"output": "flow", "action": "suppressed", "what": f"{n_primary} count(s)",
                      "why": f"below {thr}"})
    if added:
        audit.append({"output": "flow", "action": "secondary suppression",
                      "what": ", ".join(f"{out.at[i, 'step']}: {c}" for _, i, c in added),  # type: ignore[misc]
                      "why": "otherwise a suppressed count is bounded by subtraction"})
    audit.append({"output": "flow", "action": "rounded", "what": "every other count",
                  "why": f"to base {base}"})
    out.attrs["sdc"] = audit
    return out


CEM_COUNTS = ("n_treated", "n_control", "n_treated_matched", "n_control_matched")


def released_cem(pairs: pd.DataFrame, cfg: Any, flow: pd.DataFrame | None = None) -> pd.DataFrame:
    """The CEM table per pair as released.

    Counts are suppressed below the threshold and rounded; shares are derived from the released
    (rounded) counts, never from the exact ones, and suppressed with any count they use (or its
    complement) below the threshold. With ``flow`` (the outcome's released flow table), the
    column sums of the per-pair counts are tied to the flow's totals before and after CEM and
    secondary suppression protects every suppressed count against that subtraction too.
    """
    thr, base = int(cfg.sdc_threshold), int(cfg.sdc_round_base)
    counts = [c for c in CEM_COUNTS if c in pairs]
    out = release_table(pairs, counts, threshold=thr, round_base=base)
    cells = {("cem", i, c): parse_cell(out.at[i, c]) for i in out.index for c in counts}
    eqs: list[dict[Any, float]] = []
    if (flow is not None and len(flow) >= 2 and "remaining_treatment" in flow
            and str(flow["step"].iloc[-1]).startswith("not matched by CEM")):
        before, after = flow.iloc[-2], flow.iloc[-1]
        links = {"n_treated": before.get("remaining_treatment"), "n_control": before.get("remaining_comparison"),
                 "n_treated_matched": after.get("remaining_treatment"),
                 "n_control_matched": after.get("remaining_comparison")}
        for c, v in links.items():
            if c in counts and v is not None and len(out) > 1:
                cells[("total", c)] = parse_cell(v)
                eqs.append({**{("cem", i, c): 1.0 for i in out.index}, ("total", c): -1.0})
    cells, added = protect(cells, eqs, threshold=thr, base=base,
                           candidates=[k for k in cells if k[0] == "cem"])
    for _, i, c in added:  # type: ignore[misc]
        out.at[i, c] = SUPPRESSED

    def num(i: Any, c: str) -> float:
        st, v = parse_cell(out.at[i, c])
        return v if st == "rounded" else np.nan

    shares = {
        "share_treated_matched": (("n_treated_matched",), ("n_treated",)),
        "share_matched": (("n_treated_matched", "n_control_matched"), ("n_treated", "n_control")),
    }
    for s, (nu, de) in shares.items():
        if s in pairs and all(p in counts for p in (*nu, *de)):
            vals = []
            for i in out.index:
                a = sum(num(i, p) for p in nu)
                b = sum(num(i, p) for p in de)
                raw_rest = sum(float(pairs.at[i, p]) for p in de) - sum(float(pairs.at[i, p]) for p in nu)
                ok = np.isfinite(a) and np.isfinite(b) and b > 0 and raw_rest >= thr
                vals.append(f"{a / b:.3f}" if ok else SUPPRESSED)
            out[s] = vals
    if "loss_by_year" in pairs and "n_treated" in pairs:
        # the share of treated children a by-year match would lose: its lost and kept children
        # are counts; released at 2 decimals when both are at least the threshold.
        vals = []
        for i in out.index:
            n, loss = float(pairs.at[i, "n_treated"]), float(pairs.at[i, "loss_by_year"])
            ok = np.isfinite(loss) and n * loss >= thr and n * (1 - loss) >= thr
            vals.append(f"{loss:.2f}" if ok else SUPPRESSED)
        out["loss_by_year"] = vals
    out.attrs["sdc"] = [
        {"output": "CEM per pair", "action": "suppressed and rounded", "what": "counts",
         "why": f"below {thr} suppressed, others rounded to base {base}"},
        {"output": "CEM per pair", "action": "derived", "what": "shares",
         "why": "computed from the released rounded counts; suppressed with a small count or complement"},
        *([{"output": "CEM per pair", "action": "secondary suppression", "what": f"{len(added)} count(s)",
            "why": "column sums are published in the flow table"}] if added else []),
    ]
    return out


def estimate_rows(ests: Mapping[str, Any], threshold: int) -> pd.DataFrame:
    """One row per outcome's estimate; estimates with too few residual df are withheld."""
    rows = []
    for name, e in ests.items():
        ok = dof_ok(e.df_resid, threshold) and e.n_clusters >= 2
        rows.append({
            "outcome": name, "model (protocol rule)": e.protocol_model,
            "baseline": release_sig(e.baseline_rate),  # 3 significant digits: 23/87 not recoverable
            "estimate": e.estimate if ok else np.nan, "std_error (CR1)": e.std_error if ok else np.nan,
            "df": e.df, "p (t(G-1))": e.p_value if ok else np.nan,
            "p (wild bootstrap)": e.boot_p_value if ok else np.nan,
            "conf_low": e.conf_low if ok else np.nan, "conf_high": e.conf_high if ok else np.nan,
            "LAs": e.n_clusters,
        })
    return pd.DataFrame(rows)
