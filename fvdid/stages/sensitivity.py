"""Stage ``sensitivity``: the protocol's sensitivity analyses.

* the Goodman-Bacon decomposition of the TWFE estimate on the LA × quarter panel;
* Callaway–Sant'Anna group-time ATTs on the child-level repeated cross-sections of the matched
  design, clustered by LA, with the simple, dynamic, group and calendar aggregations, a
  randomization p-value and the event-study plot (:mod:`fvdid.stages.sensitivity_cs`);
* differential time effects: FV × quarters-since-go-live interactions in the child-level model;
* alternative treatment definitions (at least half of open-referral days under FV; at least
  28 days under FV): exposure contrasts, not effects of FV, since how long a referral stays open
  is itself an outcome;
* inclusion of the trailblazer LA; exclusion of an embedding period;
* the common-shock test of each named shock (:mod:`fvdid.stages.sensitivity_shocks`).

Each analysis is independent: a failure is recorded in ``notes`` (and shown in the appendix), never
hidden, and the others still run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fvdid._blas import single_threaded_blas
from fvdid._results import ResultMixin
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.sdc import release_count
from fvdid.stages import attempt
from fvdid.stages.estimate import STACKED_FE, OutcomeEstimate, estimate_outcome, stack_pairs
from fvdid.stages.prepare import Prepared, prepare
from fvdid.stages.sensitivity_cs import cs_child_level, cs_data
from fvdid.stages.sensitivity_shocks import SHOCK_COLUMNS, shock_tests

__all__ = ["SensitivityResult", "la_panel", "run_sensitivity", "sensitivity_section"]

FIGURE_CAPTIONS = {
    "bacon_scatter": "Goodman-Bacon decomposition of the LA × quarter two-way fixed-effects "
                     "estimate: each 2×2 comparison's estimate against its weight",
    "event_study": "Callaway–Sant'Anna event study on the child-level data of the matched "
                   "design, with 95 % intervals from the multiplier bootstrap clustered by LA",
}

ESTIMANDS = {
    "fv": "effect of FV on FV children",
    "fv_half": "exposure contrast: at least half of open-referral days under FV (not the effect of FV)",
    "fv_28": "exposure contrast: at least 28 open-referral days under FV (not the effect of FV)",
}


def and_list(items: Sequence[object]) -> str:
    """``"a, b and c"`` (prose, not a Python list)."""
    xs = [str(x) for x in items]
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1] if xs else "none"


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
    cs_pretest_text: str = ""
    """The pre-trend test in words (randomization p-value; why no Wald test, when singular)."""
    cs_n_clusters: int = 0
    """LAs (clusters) of the Callaway–Sant'Anna analysis."""
    cs_ri_pvalue: float = float("nan")
    """Randomization p-value of the simple aggregation (go-live quarters reassigned)."""
    cs_ri_draws: int = 0
    shock_tests: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SHOCK_COLUMNS))
    """The common-shock test per shock: interaction estimate, SE, p (t(G − 1)), or why not."""

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
        notes.append(f"{len(dropped)} LA(s) with incomplete quarterly series left out of the panel: {and_list(dropped)}")
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


def _row(label: str, e: OutcomeEstimate, estimand: str, truth: float) -> dict[str, Any]:
    return {"analysis": label, "estimand": estimand, "estimate": e.estimate, "std_error": e.std_error,
            "p_value": e.p_value, "conf_low": e.conf_low, "conf_high": e.conf_high, "truth": truth,
            # released: a count of people, suppressed below the threshold or rounded (SRS rules)
            "children": release_count(e.nobs), "LAs": e.n_clusters}


def exposed_truth(analytic: pd.DataFrame, treatment: str, outcome: str,
                  child_effects: pd.DataFrame | None) -> float:
    """Mean true effect among the children ``treatment`` marks as exposed (NaN without truth)."""
    if child_effects is None or outcome not in child_effects.columns:
        return float("nan")
    ids = analytic.loc[analytic[treatment].astype(int) == 1, "child_id"]
    eff = child_effects.set_index("child_id")[outcome]
    return float(eff.reindex(ids).fillna(0.0).mean()) if len(ids) else float("nan")


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
    child_effects: pd.DataFrame | None = None,
    shocks: pd.DataFrame | None = None,
) -> SensitivityResult:
    """Run the protocol's sensitivity analyses of ``outcome``.

    Child-level re-estimates use the stacked matched-pair design of the primary analysis (pairs
    from LA matching; pair-specific LA and time fixed effects) without CEM weights, and a single
    imputation (``n_imputations`` > 1 pools more), made once for the matched design and reused
    by every analysis on it, to keep the many re-fits cheap; the first row re-estimates the
    primary specification the same way, as the reference for the others. ``child_effects`` (simulated extracts: ``child_id`` + the true effect per outcome)
    gives each row's truth: the mean true effect among the children its treatment marks as
    exposed. ``shocks`` (``la_code, shock, date[, response]``) feeds the common-shock test.
    """
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    figures_out: dict[str, Any] = {}
    trail = las.loc[las.get("trailblazer", pd.Series(False, index=las.index)).astype(bool), "la_code"].tolist()
    m = max(n_imputations, 1)

    def prep_of(data: pd.DataFrame, units: Sequence[str]) -> Prepared:
        return prepare(data, outcome=outcome, covariates=covariates, las_in_analysis=units,
                       max_missing_share=max_missing_share, n_imputations=m, seed=seed,
                       categorical=categorical)

    def fit(prep: Prepared, label: str, treatment: str = "fv", stacked: bool = True) -> None:
        truth = exposed_truth(prep.analytic, treatment, outcome, child_effects)
        if stacked:
            prep = dataclasses.replace(
                prep, analytic=stack_pairs(prep.analytic, pairs, time=time_fe),
                imputed=tuple(stack_pairs(d, pairs, time=time_fe) for d in prep.imputed))
        fe = STACKED_FE if stacked else ("la_code", "financial_year")
        with single_threaded_blas():  # many small fits (fvdid._blas); the imputations stay outside
            e = attempt(notes, label, lambda: estimate_outcome(
                prep, categorical=categorical, treatment=treatment, alpha=alpha, logit_check=False,
                cr2=False, fixed_effects=fe))
        if e is not None:
            rows.append(_row(label, e, ESTIMANDS[treatment] + ("" if treatment != "fv" or stacked
                                                               else " (pooled LA + financial-year design)"), truth))

    comparators = sorted(set(pairs["comparator_la"]))
    base_units = sorted(set(pairs["treated_la"]) | set(comparators))
    has_days = {"days_open_trial", "days_open_under_fv"} <= set(children.columns)
    base = children
    if has_days:
        # The alternative definitions' columns ride along: the imputation model's predictors
        # are fixed (prepare.imputation_predictors), so extra columns change no imputed value,
        # and one imputation of the matched design serves the reference, the alternative
        # definitions, the embedding-period subset, the event-time model, Callaway–Sant'Anna
        # and the common-shock test.
        base = children.assign(
            fv_half=(children["days_open_under_fv"] >= 0.5 * children["days_open_trial"]).astype(int)
            & children["treated_la"].astype(int),
            fv_28=(children["days_open_under_fv"] >= 28).astype(int) & children["treated_la"].astype(int),
        )
    base_prep = prep_of(base, base_units)
    fit(base_prep, "reference: primary specification without CEM weights")
    # Alternative treatment definitions.
    if has_days:
        fit(base_prep, "treatment: at least half of open-referral days under FV", "fv_half")
        fit(base_prep, "treatment: at least 28 days under FV", "fv_28")
        notes.append(
            "The alternative treatment definitions count a child as treated by the days its "
            "referral stayed open under FV. How long a referral stays open is itself an outcome of "
            "the service, so these rows estimate an exposure contrast among children with long-open "
            "referrals (including children referred before go-live whose referral stayed open "
            "after it), not the causal effect of FV; their truth, where simulated, is the mean "
            "true effect among the children each definition marks as exposed.")
    else:
        notes.append("open-referral days absent: alternative treatment definitions not run")
    # Trailblazer.
    if trail:
        tb = children.assign(treated_la=children["treated_la"] | children["la_code"].isin(trail))
        n_pre = int((tb["la_code"].isin(trail) & (tb["fv"] == 0)).sum())
        variation = ("no DiD variation: all its children are FV children, absorbed by its LA fixed "
                     "effect" if n_pre == 0 else f"DiD variation from {release_count(n_pre)} children referred before its go-live")
        notes.append(
            f"trailblazer ({and_list(trail)}): pooled LA + financial-year specification (it has no LA "
            f"match); it adds {variation}")
        fit(prep_of(tb, [*base_units, *trail]), "including the trailblazer LA (pooled specification)",
            stacked=False)
    # Embedding period.
    if "in_embedding_period" in children.columns:
        def out_of_embedding(d: pd.DataFrame) -> pd.DataFrame:
            return d[~d["in_embedding_period"].astype(bool)]

        emb = dataclasses.replace(base_prep, analytic=out_of_embedding(base_prep.analytic),
                                  imputed=tuple(out_of_embedding(d) for d in base_prep.imputed))
        n_out = len(base_prep.analytic) - len(emb.analytic)
        notes.append(f"embedding period: {release_count(n_out)} children of the analytic sample referred between FGC "
                     "start and go-live excluded (the imputations of the full sample are kept)")
        fit(emb, "excluding the embedding period")

    # Differential time effects: FV × event-quarter bins.
    event_tab = None
    if "event_time_q" in children.columns:

        def event_fit() -> pd.DataFrame:
            from fvdid.estimators.ols import ols

            prep = base_prep
            d0 = (prep.imputed[0] if prep.imputed else prep.analytic).copy()
            e = d0["event_time_q"]
            names = []
            for k in range(event_bins):
                name = f"fv_e{k}" if k < event_bins - 1 else f"fv_e{k}plus"
                d0[name] = ((d0["fv"] == 1) & ((e == k) if k < event_bins - 1 else (e >= k))).astype(int)
                names.append(name)
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
    bacon_summary_note = (
        "The Goodman-Bacon decomposition decomposes the two-way fixed-effects estimate on the "
        "LA × quarter panel of rates (LA and quarter fixed effects, LAs unweighted). That "
        "estimate is neither the primary (stacked matched pairs, CEM-weighted, child level) nor "
        "the pooled child-level estimate; the decomposition shows which 2×2 comparisons of "
        "early, late and never-treated LAs it leans on.")
    if res_b is not None:
        notes.append(bacon_summary_note)

    # Callaway–Sant'Anna on the child-level repeated cross-sections of the matched design.
    cs_res = attempt(notes, "Callaway–Sant'Anna", lambda: cs_child_level(
        cs_data(base_prep.analytic, las, outcome=outcome, units=base_units,
                treated=sorted(set(pairs["treated_la"]))), alpha=alpha, seed=seed, figures=figures))
    if cs_res is not None:
        notes.append(cs_design_note(cs_res))
        if cs_res.figure is not None:
            figures_out["event_study"] = cs_res.figure

    # The common-shock test.
    def shocks_fit() -> pd.DataFrame:
        d0 = base_prep.imputed[0] if base_prep.imputed else base_prep.analytic
        terms = [f"C({c})" if c in categorical else c for c in base_prep.covariates]
        tab, extra = shock_tests(d0, las, shocks, outcome=outcome, pairs=pairs, terms=terms,
                                 time_fe=time_fe, alpha=alpha)
        notes.extend(extra)
        return tab

    shock_tab = attempt(notes, "common-shock test", shocks_fit) if shocks is not None and len(shocks) else None
    if shock_tab is None:
        shock_tab = pd.DataFrame(columns=SHOCK_COLUMNS)
        if shocks is None or not len(shocks):
            notes.append("common-shock test not run: the extract has no shocks table")
    return SensitivityResult(
        estimates=pd.DataFrame(rows), bacon_summary=bacon_summary, bacon_twfe=bacon_twfe,
        cs_aggregations=None if cs_res is None else cs_res.aggregations,
        cs_dynamic=None if cs_res is None else cs_res.dynamic,
        cs_pretest_pvalue=float("nan") if cs_res is None else cs_res.pretest_pvalue,
        event_time=event_tab, panel_notes=tuple(panel_notes), notes=tuple(notes), figures=figures_out,
        cs_pretest_text="" if cs_res is None else cs_res.pretest_text,
        cs_n_clusters=0 if cs_res is None else cs_res.n_clusters,
        cs_ri_pvalue=float("nan") if cs_res is None else cs_res.ri_pvalue,
        cs_ri_draws=0 if cs_res is None else cs_res.ri_draws,
        shock_tests=shock_tab,
    )


def cs_design_note(r: Any) -> str:
    """The Callaway–Sant'Anna design and its inference, in words."""
    return (
        f"Callaway–Sant'Anna runs on the child-level repeated cross-sections of the matched design "
        f"({r.n_children:,} children in {r.n_clusters} LAs: cohort = the LA's go-live quarter, "
        "time = the referral quarter), with the comparator LAs, which never go live, as the "
        "control group: each treatment LA is compared with the LAs it was matched to, as in the "
        "primary, rather than with other treatment LAs' children referred while those were "
        "embedding the programme. Standard errors come from the multiplier bootstrap clustered "
        f"by LA, with {r.n_clusters} clusters: a cohort holds a single LA, so its estimate "
        "carries that LA's own shocks, which no clustered standard error can estimate, and "
        f"{r.n_clusters} Rademacher weights give only {2 ** r.n_clusters:,} distinct bootstrap "
        f"draws. The simple aggregation therefore also has a randomization p-value "
        f"({r.ri_pvalue:.3g}): the go-live quarters were reassigned at random among the "
        f"{r.n_clusters} matched LAs {r.ri_draws:,} times, the others becoming never-treated, "
        "and p is the share of reassignments (counting the observed one) whose simple "
        "aggregation is at least as far from zero. " + r.pretest_text)


def _shock_sentence(tab: pd.DataFrame, alpha: float = 0.05) -> str:
    if tab is None or tab.empty:
        return ""
    parts = []
    for r in tab.itertuples(index=False):
        if r.result != "tested":
            parts.append(f"{r.shock} ({r.date}): {r.result}")
        else:
            verdict = "flags a possible violation of the common-shock assumption" if r.p_value < alpha \
                else "does not flag a violation"
            parts.append(f"{r.shock} ({r.date}, {r.exposure}): FV × shock interaction "
                         f"{r.estimate:.4f} (SE {r.std_error:.4f}, p = {r.p_value:.3g} on "
                         f"t({r.df:.0f})), which {verdict}")
    return ("Common-shock test (protocol, Matching on parallel trends): on the children referred "
            "after their pair's go-live, the outcome is regressed on FV, the shock and FV × "
            "shock, with FV × quarters-since-go-live terms (0, 1, 2 or more), the covariates and the pair fixed "
            "effects, CR1 by LA. " + "; ".join(parts) + ".")


def sensitivity_section(sens: SensitivityResult) -> Section:
    """The appendix section of the sensitivity analyses."""
    st = [AppendixTable("sensitivity", "Sensitivity analyses of the primary outcome (estimand: "
                        "what each row estimates; truth: the simulator's mean true effect among "
                        "the children the row's treatment marks as exposed)", sens.estimates)]
    if sens.event_time is not None:
        st.append(AppendixTable("event_time", "Differential time effects (FV × quarters since go-live)", sens.event_time))
    if sens.bacon_summary is not None:
        st.append(AppendixTable("bacon", "Goodman-Bacon decomposition of the LA × quarter two-way "
                                f"fixed-effects estimate ({sens.bacon_twfe:.5f})", sens.bacon_summary))
    if sens.cs_aggregations is not None:
        st.append(AppendixTable(
            "cs_aggte", f"Callaway–Sant'Anna aggregations on the child-level data, {sens.cs_n_clusters} "
            "LA clusters (standard errors and p_bootstrap from the multiplier bootstrap clustered by "
            "LA; p_randomization from reassigning go-live quarters)", sens.cs_aggregations))
    if sens.cs_dynamic is not None:
        st.append(AppendixTable("cs_dynamic", "Callaway–Sant'Anna event study (child-level, clustered by LA)",
                                sens.cs_dynamic))
    if sens.shock_tests is not None and not sens.shock_tests.empty:
        st.append(AppendixTable("shock_tests", "Common-shock test: FV × shock interaction per shock "
                                "(post-go-live children, pair fixed effects, CR1 by LA, t(G − 1))",
                                sens.shock_tests))
    figs = tuple((k, FIGURE_CAPTIONS.get(k, k.replace("_", " ").capitalize()), v) for k, v in sens.figures.items())
    text = [*sens.panel_notes, *sens.notes]
    shock = _shock_sentence(sens.shock_tests)
    if shock:
        text.append(shock)
    return Section("Sensitivity analyses", tuple(text), tuple(st), figs)
