"""Stage ``sensitivity``: the protocol's sensitivity analyses.

* the Goodman-Bacon decomposition of the TWFE estimate on the LA × quarter panel;
* Callaway–Sant'Anna group-time ATTs on the LA × quarter panel, with the simple, dynamic, group and
  calendar aggregations and the event-study plot;
* differential time effects: FV × quarters-since-go-live interactions in the child-level model;
* alternative treatment definitions (at least half of open-referral days under FV; at least
  28 days under FV);
* inclusion of the trailblazer LA; exclusion of an embedding period.

Each analysis is independent: a failure is recorded in ``notes`` (and shown in the appendix), never
hidden, and the others still run.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fvdid._results import ResultMixin
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.stages import attempt
from fvdid.stages.estimate import STACKED_FE, OutcomeEstimate, estimate_outcome, stack_pairs
from fvdid.stages.prepare import prepare

__all__ = ["SensitivityResult", "la_panel", "run_sensitivity", "sensitivity_section"]


@dataclass(frozen=True)
class SensitivityResult(ResultMixin):
    """Results of the sensitivity analyses (plain data and figures)."""

    estimates: pd.DataFrame
    bacon_summary: pd.DataFrame | None
    bacon_twfe: float
    cs_aggregations: pd.DataFrame | None
    cs_dynamic: pd.DataFrame | None
    cs_pretest_pvalue: float
    event_time: pd.DataFrame | None
    panel_notes: tuple[str, ...]
    notes: tuple[str, ...]
    figures: dict[str, Any] = field(default_factory=dict, repr=False)

    def tidy(self) -> pd.DataFrame:
        return self.estimates


def la_panel(
    la_quarter: pd.DataFrame, las: pd.DataFrame, *, outcome: str, units: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """The balanced LA × quarter panel of ``outcome`` for ``units``, with FV and cohort columns.

    Returns the panel (la, t (1..T), quarter, y, fv, cohort with 0 = never treated) and notes on
    the LAs left out because their series is incomplete.
    """
    notes = []
    d = la_quarter[la_quarter["la"].isin(set(units))][["la", "quarter", outcome]].copy()
    quarters = sorted(d["quarter"].unique())
    t_of = {q: i + 1 for i, q in enumerate(quarters)}
    d["t"] = d["quarter"].map(t_of).astype(int)
    complete = d.groupby("la")[outcome].apply(lambda s: s.notna().sum() == len(quarters))
    dropped = sorted(complete.index[~complete])
    if dropped:
        notes.append(f"{len(dropped)} LA(s) with incomplete quarterly series left out of the panel: {', '.join(dropped)}")
    d = d[d["la"].isin(complete.index[complete])]
    go = las.set_index("la_code")["go_live"]
    cohort = {}
    for la in d["la"].unique():
        g = go.get(la, pd.NaT)
        if pd.isna(g) or not bool(las.set_index("la_code").loc[la, "treated"]):
            cohort[la] = 0
        else:
            q = pd.Period(g, freq="M").asfreq("Q")
            cohort[la] = t_of.get(q, 0)
    d["cohort"] = d["la"].map(cohort).astype(int)
    d["fv"] = ((d["cohort"] > 0) & (d["t"] >= d["cohort"])).astype(int)
    return d.rename(columns={outcome: "y"}).sort_values(["la", "t"]).reset_index(drop=True), notes


def _row(label: str, e: OutcomeEstimate) -> dict[str, Any]:
    return {"analysis": label, "estimate": e.estimate, "std_error": e.std_error, "p_value": e.p_value,
            "conf_low": e.conf_low, "conf_high": e.conf_high, "children": e.nobs, "LAs": e.n_clusters}


def run_sensitivity(
    children: pd.DataFrame,
    la_quarter: pd.DataFrame,
    las: pd.DataFrame,
    *,
    outcome: str,
    pairs: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str],
    max_missing_share: float = 0.30,
    n_imputations: int = 0,
    seed: int = 0,
    alpha: float = 0.05,
    event_bins: int = 6,
    time_fe: str = "referral_quarter",
    figures: bool = True,
) -> SensitivityResult:
    """Run the protocol's sensitivity analyses of ``outcome``.

    Child-level re-estimates use the stacked matched-pair design of the primary analysis (pairs
    from LA matching; pair-specific LA and time fixed effects) without CEM weights, and a single
    hot-deck imputation (``n_imputations`` > 1 pools more) to keep the many re-fits cheap; the
    first row re-estimates the primary specification the same way, as the reference for the
    others.
    """
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    figures_out: dict[str, Any] = {}
    trail = las.loc[las.get("trailblazer", pd.Series(False, index=las.index)).astype(bool), "la_code"].tolist()
    m = max(n_imputations, 1)

    def fit(data: pd.DataFrame, units: Sequence[str], label: str, treatment: str = "fv",
            stacked: bool = True) -> None:
        prep = prepare(data, outcome=outcome, covariates=covariates, las_in_analysis=units,
                       max_missing_share=max_missing_share, n_imputations=m, seed=seed)
        if stacked:
            prep = dataclasses.replace(
                prep, analytic=stack_pairs(prep.analytic, pairs, time=time_fe),
                imputed=tuple(stack_pairs(d, pairs, time=time_fe) for d in prep.imputed))
        fe = STACKED_FE if stacked else ("la_code", "financial_year")
        e = attempt(notes, label, lambda: estimate_outcome(
            prep, categorical=categorical, treatment=treatment, alpha=alpha, logit_check=False, cr2=False,
            fixed_effects=fe))
        if e is not None:
            rows.append(_row(label, e))

    comparators = sorted(set(pairs["comparator_la"]))
    base_units = sorted(set(pairs["treated_la"]) | set(comparators))
    fit(children, base_units, "reference: primary specification without CEM weights")
    # Alternative treatment definitions.
    if {"days_open_trial", "days_open_under_fv"} <= set(children.columns):
        alt = children.assign(
            fv_half=(children["days_open_under_fv"] >= 0.5 * children["days_open_trial"]).astype(int)
            & children["treated_la"].astype(int),
            fv_28=(children["days_open_under_fv"] >= 28).astype(int) & children["treated_la"].astype(int),
        )
        fit(alt, base_units, "treatment: >= half of open-referral days under FV", "fv_half")
        fit(alt, base_units, "treatment: >= 28 days under FV", "fv_28")
    else:
        notes.append("open-referral days absent: alternative treatment definitions not run")
    # Trailblazer.
    if trail:
        tb = children.assign(treated_la=children["treated_la"] | children["la_code"].isin(trail))
        n_pre = int((tb["la_code"].isin(trail) & (tb["fv"] == 0)).sum())
        variation = ("no DiD variation: all its children are FV children, absorbed by its LA fixed "
                     "effect" if n_pre == 0 else f"DiD variation from {n_pre} children referred before its go-live")
        notes.append(
            f"trailblazer ({', '.join(trail)}): pooled LA + financial-year specification (it has no LA "
            f"match); it adds {variation}")
        fit(tb, [*base_units, *trail], "including the trailblazer LA (pooled specification)",
            stacked=False)
    # Embedding period.
    if "in_embedding_period" in children.columns:
        emb = children[~children["in_embedding_period"].astype(bool)]
        n_out = int(children["in_embedding_period"].astype(bool).sum())
        notes.append(f"embedding period: {n_out} children referred between FGC start and go-live excluded")
        fit(emb, base_units, "excluding the embedding period")

    # Differential time effects: FV × event-quarter bins.
    event_tab = None
    if "event_time_q" in children.columns:
        e = children["event_time_q"]
        ev = children.copy()
        names = []
        for k in range(event_bins):
            name = f"fv_e{k}" if k < event_bins - 1 else f"fv_e{k}plus"
            sel = (ev["fv"] == 1) & ((e == k) if k < event_bins - 1 else (e >= k))
            ev[name] = sel.astype(int)
            names.append(name)

        def event_fit() -> pd.DataFrame:
            from fvdid.estimators.ols import ols

            prep = prepare(ev, outcome=outcome, covariates=covariates, las_in_analysis=base_units,
                           max_missing_share=max_missing_share, n_imputations=m, seed=seed)
            d0 = prep.imputed[0] if prep.imputed else prep.analytic
            d0 = stack_pairs(d0, pairs, time=time_fe)
            terms = names + [f"C({c})" if c in categorical else c for c in prep.covariates]
            fml = f"{outcome} ~ {' + '.join(terms)} | {' + '.join(STACKED_FE)}"
            f = ols(fml, d0, vcov="CR1", cluster="la_code", alpha=alpha)
            t = f.tidy()
            return t[t["term"].isin(names)].reset_index(drop=True)

        event_tab = attempt(notes, "event-time regression", event_fit)

    # LA × quarter panel: Bacon and Callaway–Sant'Anna.
    panel, panel_notes = la_panel(la_quarter, las, outcome=outcome, units=base_units)
    bacon_summary = None
    bacon_twfe = float("nan")
    res_b = attempt(notes, "Goodman-Bacon decomposition",
                 lambda: __import__("fvdid.bacon", fromlist=["bacon"]).bacon(
                     panel, y="y", treatment="fv", unit="la", time="t"))
    if res_b is not None:
        tt = res_b.two_by_twos
        bacon_summary = (tt.assign(we=tt["weight"] * tt["estimate"]).groupby("type")
                         .agg(weight=("weight", "sum"), we=("we", "sum"), n=("weight", "size")))
        bacon_summary["avg_estimate"] = bacon_summary["we"] / bacon_summary["weight"]
        bacon_summary = bacon_summary.drop(columns="we").reset_index()
        bacon_twfe = float(res_b.twfe)
        from fvdid.estimators.bacon import bacon_plot

        if figures:
            figures_out["bacon_scatter"] = bacon_plot(res_b)
    cs_aggs = None
    cs_dyn = None
    pre_p = float("nan")

    def cs() -> tuple[pd.DataFrame, pd.DataFrame, float, Any]:
        from fvdid.estimators.aggte import aggte
        from fvdid.estimators.att_gt import att_gt

        r = att_gt(panel, y="y", time="t", cohort="cohort", unit="la", control="not_yet_treated",
                   method="reg", alpha=alpha)
        out = []
        dyn = None
        fig = None
        for typ in ("simple", "dynamic", "group", "calendar"):
            a = aggte(r, type=typ)
            out.append({"aggregation": typ, "att": a.overall_att, "se": a.overall_se,
                        "conf_low": a.overall_conf_low, "conf_high": a.overall_conf_high})
            if typ == "dynamic":
                dyn = a.table
                fig = a.plot() if figures and hasattr(a, "plot") else None
        return pd.DataFrame(out), dyn, float(r.wald_pvalue) if r.wald_pvalue is not None else float("nan"), fig

    # did's announcements (dropped units, small groups, a singular pre-test) go to the appendix's
    # notes rather than the console.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cs_out = attempt(notes, "Callaway–Sant'Anna", cs)
    notes.extend(f"Callaway–Sant'Anna: {w.message}" for w in caught)
    if cs_out is not None:
        cs_aggs, cs_dyn, pre_p, fig = cs_out
        if fig is not None:
            figures_out["event_study"] = fig
    return SensitivityResult(
        estimates=pd.DataFrame(rows), bacon_summary=bacon_summary, bacon_twfe=bacon_twfe,
        cs_aggregations=cs_aggs, cs_dynamic=cs_dyn, cs_pretest_pvalue=pre_p, event_time=event_tab,
        panel_notes=tuple(panel_notes), notes=tuple(notes), figures=figures_out,
    )


def sensitivity_section(sens: SensitivityResult) -> Section:
    """The appendix section of the sensitivity analyses."""
    st = [AppendixTable("sensitivity", "Sensitivity analyses of the primary outcome", sens.estimates)]
    if sens.event_time is not None:
        st.append(AppendixTable("event_time", "Differential time effects (FV × quarters since go-live)", sens.event_time))
    if sens.bacon_summary is not None:
        st.append(AppendixTable("bacon", f"Goodman-Bacon decomposition (LA × quarter panel; TWFE = {sens.bacon_twfe:.5f})", sens.bacon_summary))
    if sens.cs_aggregations is not None:
        st.append(AppendixTable("cs_aggte", f"Callaway–Sant'Anna aggregations (pre-trend Wald p = {sens.cs_pretest_pvalue:.3g})", sens.cs_aggregations))
    if sens.cs_dynamic is not None:
        st.append(AppendixTable("cs_dynamic", "Callaway–Sant'Anna event study", sens.cs_dynamic))
    figs = tuple((k, k.replace("_", " "), v) for k, v in sens.figures.items())
    return Section("Sensitivity analyses", (*sens.panel_notes, *sens.notes), tuple(st), figs)
