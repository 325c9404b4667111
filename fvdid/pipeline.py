"""The main job: extract -> LA matching -> CEM -> estimation -> sensitivity -> appendix.

One stage a module under :mod:`fvdid.stages`; this module only connects them with plain data and
reports progress. ``run()`` returns a :class:`RunResult` and writes the appendix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fvdid import __version__
from fvdid._results import to_plain
from fvdid.config import RunConfig
from fvdid.io import Extract, load_extract
from fvdid.reporting.appendix import AppendixTable, Section, write_appendix
from fvdid.reporting.sdc import acro_check, dof_ok, release_table
from fvdid.stages import attempt
from fvdid.stages.descriptives import describe_groups
from fvdid.stages.estimate import STACKED_FE, OutcomeEstimate, estimate_outcome, stack_pairs
from fvdid.stages.prepare import Prepared, flow_row, group_labels, prepare

__all__ = ["STAGES", "RunResult", "run", "simulated_extract"]

STAGES = (
    "load extract",
    "match LAs on pre-period trends",
    "match children (CEM) and estimate the primary outcome",
    "secondary outcomes",
    "sensitivity analyses",
    "parity report",
    "write the appendix",
)
"""The progress labels, in order (the CLI's bar has one step per label)."""


@dataclass(frozen=True)
class OutcomeAnalysis:
    """Everything the pipeline computed for one outcome (plain data)."""

    outcome: str
    pairs: pd.DataFrame
    prepared: Prepared
    flow: pd.DataFrame
    cem_pairs: pd.DataFrame | None
    estimate: OutcomeEstimate | None
    checks: pd.DataFrame
    notes: tuple[str, ...]
    balance_figure: Any = field(default=None, repr=False)
    protocol_literal: OutcomeEstimate | None = None


@dataclass(frozen=True)
class RunResult:
    """What the main job produced and where it wrote it."""

    config: RunConfig
    extract_source: str
    input_hash: str
    flow: pd.DataFrame
    primary: OutcomeEstimate
    secondary: dict[str, OutcomeEstimate]
    hochberg: pd.DataFrame
    paths: dict[str, Path]
    truth: dict[str, float] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()


def _frame_hash(frames: Sequence[pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes())
    return h.hexdigest()


def simulated_extract(config: RunConfig) -> tuple[Extract, Any]:
    """Simulate the embedded default extract; return it with the simulator's result (for truth)."""
    from fvdid.simulation import simulate

    sim = simulate(seed=config.seed, n_children=config.n_children)
    ex = Extract(
        children=sim.children,
        las=sim.las,
        la_quarter=sim.la_quarter,
        absence_terms=getattr(sim, "absence_terms", None),
        source=f"fvdid.simulate(seed={config.seed}, n_children={config.n_children})",
        input_hash=_frame_hash([sim.children, sim.las]),
    )
    return ex, sim


def _true_att(sim: Any, data: pd.DataFrame, outcome: str) -> float:
    """The true average effect among FV children of ``data`` under the simulator's DGP."""
    truth = sim.truth
    t = truth[truth["outcome"] == outcome].set_index("event_time_q")["effect"]
    treated = data[data["fv"] == 1]
    if treated.empty or t.empty:
        return float("nan")
    e = treated["event_time_q"].astype(int).clip(upper=int(t.index.max()))
    return float(t.reindex(e.to_numpy()).fillna(0.0).mean())


def _provenance(config: RunConfig, ex: Extract) -> dict[str, Any]:
    import importlib.metadata as md

    pk = {}
    for name in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyarrow"):
        try:
            pk[name] = md.version(name)
        except md.PackageNotFoundError:
            pk[name] = "absent"
    return {
        "fvdid": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": pk,
        "seed": config.seed,
        "input": ex.source,
        "input_sha256": ex.input_hash,
        "run_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _with_weights(prep: Prepared, weights: pd.Series, name: str = "cem_weight") -> Prepared:
    """Attach CEM weights (0 for unmatched children) to the analytic sample and its imputations."""

    def add(d: pd.DataFrame) -> pd.DataFrame:
        return d.assign(**{name: d["child_id"].map(weights).fillna(0.0).to_numpy()})

    return dataclasses.replace(
        prep, analytic=add(prep.analytic), imputed=tuple(add(d) for d in prep.imputed)
    )


def _flow_append(flow: pd.DataFrame, step: str, before: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    return pd.concat([flow, pd.DataFrame([flow_row(step, before, before[keep])])], ignore_index=True)


def _analyse_outcome(
    outcome: str,
    children: pd.DataFrame,
    las: pd.DataFrame,
    pairs: pd.DataFrame,
    cfg: RunConfig,
    *,
    bootstrap: bool,
    absence_terms: pd.DataFrame | None = None,
    make_figure: bool = False,
    literal: bool = False,
) -> OutcomeAnalysis:
    """LA pairs -> analytic sample -> CEM weights -> the protocol's regression (and checks)."""
    from fvdid.stages.child_matching import match_children

    notes: list[str] = []
    units = sorted(set(pairs["treated_la"]) | set(pairs["comparator_la"]))
    covs = (*cfg.child_covariates, *cfg.la_covariates)
    prep = prepare(
        children, outcome=outcome, covariates=covs, las_in_analysis=units,
        max_missing_share=cfg.max_missing_share, n_imputations=cfg.n_imputations, seed=cfg.seed,
    )
    flow = prep.flow
    cm = attempt(notes, "CEM", lambda: match_children(
        prep.analytic, pairs[["treated_la", "comparator_la"]], by=cfg.cem_by,
        fallback_loss=cfg.cem_fallback_loss, go_live=las[["la_code", "go_live"]]))
    cem_pairs = None
    fig = None
    stacked = None
    pooled = None
    if cm is not None:
        if make_figure:
            from fvdid.stages.child_matching import balance_plot

            fig = attempt(notes, "balance plot", lambda: balance_plot(cm))
        w = cm.matches.groupby("child_id")["weight"].sum()
        pooled = _with_weights(prep, w)
        flow = _flow_append(flow, "not matched by CEM (weight 0)", pooled.analytic, pooled.analytic["cem_weight"] > 0)
        cem_pairs = cm.pairs
        pw = cm.matches[["pair_id", "child_id", "weight"]]
        pw = pw[pw["weight"] > 0]
        stacked = dataclasses.replace(
            prep,
            analytic=stack_pairs(prep.analytic, pairs, time=cfg.time_fe, weights=pw),
            imputed=tuple(stack_pairs(d, pairs, time=cfg.time_fe, weights=pw) for d in prep.imputed),
        )
    if stacked is None:  # no CEM: stack the pairs unweighted and say so
        notes.append(f"{outcome}: estimated without CEM weights")
        stacked = dataclasses.replace(
            prep,
            analytic=stack_pairs(prep.analytic, pairs, time=cfg.time_fe),
            imputed=tuple(stack_pairs(d, pairs, time=cfg.time_fe) for d in prep.imputed),
        )
    est = attempt(notes, f"regression of {outcome}", lambda: estimate_outcome(
        stacked, categorical=cfg.categorical_covariates, weights="weight", alpha=cfg.alpha,
        fixed_effects=STACKED_FE, wild_bootstrap_B=cfg.boot_B if bootstrap else 0, seed=cfg.seed))
    protocol_literal = None
    if pooled is not None and literal:
        protocol_literal = attempt(notes, "protocol-literal specification", lambda: estimate_outcome(
            pooled, categorical=cfg.categorical_covariates, weights="cem_weight", alpha=cfg.alpha,
            fixed_effects=("la_code", "financial_year"), logit_check=False, seed=cfg.seed))
    prep = pooled if pooled is not None else prep
    checks = _outcome_checks(outcome, prep, cfg, absence_terms, notes)
    return OutcomeAnalysis(outcome, pairs, prep, flow, cem_pairs, est, checks, tuple(notes), fig,
                           protocol_literal)


def _outcome_checks(
    outcome: str, prep: Prepared, cfg: RunConfig, absence_terms: pd.DataFrame | None, notes: list[str],
) -> pd.DataFrame:
    """The protocol's robustness models: tobit/hurdle for days on plans, LMM for absence.

    They are fitted unweighted on the first completed data set of the LAs in the matched pairs,
    with LA and financial-year dummies (the pooled specification): they check the model form
    (censoring, zeros, repeated terms), not the matching.
    """
    rows: list[dict[str, Any]] = []
    if outcome not in ("days_cpp_cin_18m", "unauth_absence_rate", cfg.primary_outcome):
        return pd.DataFrame(rows, columns=["model", "estimate", "std_error", "p_value"])
    d0 = prep.imputed[0] if prep.imputed else prep.analytic
    # With LA dummies in the formula, a covariate constant within every LA is collinear with
    # them; leave it out of these checks (the absorbed-FE regression drops it with a note).
    covs = [c for c in prep.covariates
            if c not in cfg.la_covariates or d0.groupby("la_code")[c].nunique().max() > 1]
    left_out = sorted(set(prep.covariates) - set(covs))
    if left_out:
        notes.append(f"{outcome}: covariates constant within LA left out of the robustness models: {left_out}")
    terms = ["fv"] + [f"C({c})" if c in cfg.categorical_covariates else c for c in covs]
    rhs = " + ".join([*terms, "C(la_code)", "C(financial_year)"])
    if outcome == cfg.primary_outcome:
        # The protocol's FGLS random-effects estimator (LA random effect, Swamy-Arora), with a
        # cluster-robust vcov; financial-year dummies as the time effects.
        from fvdid.estimators.random_effects import random_effects

        # Swamy-Arora's between regression needs more LAs than coefficients: with few LAs the
        # child covariates are left out (said in the row's label).
        n_fy = d0["financial_year"].nunique()
        re_terms = terms if d0["la_code"].nunique() > len(terms) + n_fy + 1 else ["fv"]
        label = "FGLS random effects (LA, Swamy-Arora), CR1 by LA"
        if re_terms == ["fv"]:
            label += f"; covariates left out: only {d0['la_code'].nunique()} LAs for the between regression"
        re_rhs = " + ".join([*re_terms, "C(financial_year)"])
        r = attempt(notes, "FGLS random effects", lambda: random_effects(
            f"{outcome} ~ {re_rhs}", d0, unit="la_code", vcov="CR1", cluster="la_code"))
        if r is not None:
            rows.append({"model": label,
                         "estimate": float(r.params["fv"]), "std_error": float(r.std_errors["fv"]),
                         "p_value": float(r.pvalues["fv"])})
    if outcome == "days_cpp_cin_18m":
        from fvdid.estimators.hurdle import hurdle
        from fvdid.estimators.tobit import tobit

        t = attempt(notes, "tobit check", lambda: tobit(f"{outcome} ~ {rhs}", d0, left=0.0, right=548.0))
        if t is not None:
            rows.append({"model": "tobit (censored at 0 and 548 days)", "estimate": float(t.params["fv"]),
                         "std_error": float(t.std_errors["fv"]), "p_value": float(t.pvalues["fv"])})
        dd = d0.assign(**{outcome: d0[outcome].round().astype(int)})
        h = attempt(notes, "hurdle check", lambda: hurdle(f"{outcome} ~ {rhs}", dd, dist="negbin"))
        if h is not None:
            for part in ("count", "zero"):
                rows.append({"model": f"hurdle negbin, {part} part", "estimate": float(h.params[f"{part}_fv"]),
                             "std_error": float(h.std_errors[f"{part}_fv"]), "p_value": float(h.pvalues[f"{part}_fv"])})
    if outcome == "unauth_absence_rate" and absence_terms is not None:
        from fvdid.estimators.lmer import lmer

        keep = prep.analytic[["child_id", "fv", "la_code", "financial_year", *covs]]
        if prep.imputed:
            keep = prep.imputed[0][keep.columns]
        a = absence_terms.drop(columns=[c for c in ("la_code",) if c in absence_terms.columns]).merge(
            keep, on="child_id", how="inner")
        if "rate" in a.columns:
            f = f"rate ~ {rhs} + C(term) + months_since_referral"
            m = attempt(notes, "individual random-effects model", lambda: lmer(f, a, group="child_id"))
            if m is not None:
                rows.append({"model": "LMM, child random intercept, term dummies (REML)",
                             "estimate": float(m.params["fv"]), "std_error": float(m.std_errors["fv"]),
                             "p_value": float(m.pvalues["fv"])})
    return pd.DataFrame(rows, columns=["model", "estimate", "std_error", "p_value"])


def _estimate_rows(ests: dict[str, OutcomeEstimate], threshold: int) -> pd.DataFrame:
    rows = []
    for name, e in ests.items():
        ok = dof_ok(e.df_resid, threshold) and e.n_clusters >= 2
        rows.append({
            "outcome": name, "model (protocol rule)": e.protocol_model, "baseline": e.baseline_rate,
            "estimate": e.estimate if ok else np.nan, "std_error (CR1)": e.std_error if ok else np.nan,
            "df": e.df, "p (t(G-1))": e.p_value if ok else np.nan,
            "p (wild bootstrap)": e.boot_p_value if ok else np.nan,
            "conf_low": e.conf_low if ok else np.nan, "conf_high": e.conf_high if ok else np.nan,
            "LAs": e.n_clusters,
        })
    return pd.DataFrame(rows)


def _sdc_flow(flow: pd.DataFrame, cfg: RunConfig) -> pd.DataFrame:
    """The flow table as released: small counts suppressed, others rounded; the first row's
    exclusions are structural zeros."""
    counts = [c for c in flow.columns if c != "step"]
    structural = pd.DataFrame(False, index=flow.index, columns=counts)
    structural.loc[flow.index[0], [c for c in counts if c.startswith("excluded")]] = True
    return release_table(flow, counts, threshold=cfg.sdc_threshold, round_base=cfg.sdc_round_base,
                         structural=structural)


def _sdc_cem(pairs: pd.DataFrame, cfg: RunConfig) -> pd.DataFrame:
    """The CEM table per pair as released (counts and the shares derived from them)."""
    counts = [c for c in ("n_treated", "n_control", "n_treated_matched", "n_control_matched") if c in pairs]
    shares = {
        "share_treated_matched": ("n_treated_matched", "n_treated"),
        "share_matched": ("n_treated_matched", "n_control_matched", "n_treated", "n_control"),
        "loss_by_year": ("n_treated",),
    }
    shares = {k: v for k, v in shares.items() if k in pairs and all(p in pairs for p in v)}
    return release_table(pairs, counts, shares=shares, threshold=cfg.sdc_threshold,
                         round_base=cfg.sdc_round_base)


def run(
    config: RunConfig | None = None,
    *,
    data: Path | None = None,
    mapping: Path | None = None,
    out_dir: Path = Path("fvdid-output"),
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the analysis end to end and write the appendix into ``out_dir``.

    Parameters
    ----------
    config
        Options (defaults: the protocol's numbers).
    data
        An extract folder (see :mod:`fvdid.io`); None simulates the embedded default.
    mapping
        Column-mapping file for a real extract.
    out_dir
        Where ``appendix.html``, ``appendix.md``, ``results.json``, tables and figures go.
    progress
        Called with each label of :data:`STAGES` as the stage starts (the CLI draws a bar).
    """
    from fvdid.estimators.hochberg import hochberg
    from fvdid.stages.la_matching import run_la_matching
    from fvdid.stages.sensitivity import run_sensitivity

    cfg = config or RunConfig()
    step = progress or (lambda label: None)
    sim = None
    step(STAGES[0])
    if data is None:
        ex, sim = simulated_extract(cfg)
    else:
        ex = load_extract(Path(data), mapping)
    children, las = ex.children, ex.las
    outcomes = [cfg.primary_outcome, *[o for o in cfg.secondary_outcomes if o != cfg.primary_outcome]]
    outcomes = [o for o in outcomes if o in children.columns and o in ex.la_quarter.columns]
    sections: list[Section] = []
    run_notes: list[str] = []

    step(STAGES[1])
    lam = run_la_matching(ex.la_quarter, las, outcomes=outcomes, config=cfg)
    pairs_all = lam.pairs

    step(STAGES[2])
    analyses: dict[str, OutcomeAnalysis] = {}
    p_pairs = pairs_all[pairs_all["outcome"] == cfg.primary_outcome]
    analyses[cfg.primary_outcome] = _analyse_outcome(
        cfg.primary_outcome, children, las, p_pairs, cfg, bootstrap=True, make_figure=True,
        literal=True)
    primary_an = analyses[cfg.primary_outcome]
    if primary_an.estimate is None:
        raise RuntimeError("the primary regression failed: " + "; ".join(primary_an.notes))
    primary = primary_an.estimate

    step(STAGES[3])
    for o in outcomes[1:]:
        analyses[o] = _analyse_outcome(
            o, children, las, pairs_all[pairs_all["outcome"] == o], cfg, bootstrap=True,
            absence_terms=ex.absence_terms)
    secondary = {o: a.estimate for o, a in analyses.items() if o != cfg.primary_outcome and a.estimate is not None}
    hb = pd.DataFrame({"outcome": list(secondary)})
    if secondary:
        hb["p (t(G-1))"] = [secondary[o].p_value for o in secondary]
        hb["Hochberg (t(G-1))"] = hochberg(pd.Series(hb["p (t(G-1))"].to_numpy(), index=hb["outcome"])).to_numpy()
        hb["p (wild bootstrap)"] = [secondary[o].boot_p_value for o in secondary]
        if hb["p (wild bootstrap)"].notna().all():
            hb["Hochberg (wild bootstrap)"] = hochberg(
                pd.Series(hb["p (wild bootstrap)"].to_numpy(), index=hb["outcome"])).to_numpy()

    step(STAGES[4])
    sens = attempt(run_notes, "sensitivity analyses", lambda: run_sensitivity(
        children, ex.la_quarter, las, outcome=cfg.primary_outcome, pairs=p_pairs, time_fe=cfg.time_fe,
        covariates=(*cfg.child_covariates, *cfg.la_covariates), categorical=cfg.categorical_covariates,
        max_missing_share=cfg.max_missing_share, seed=cfg.seed, alpha=cfg.alpha))

    step(STAGES[5])
    parity_frame = None
    if cfg.parity_in_appendix:
        parity_frame = attempt(run_notes, "parity report", _parity_summary)

    truth: dict[str, float] = {}
    if sim is not None:
        for o, a in analyses.items():
            truth[o] = _true_att(sim, a.prepared.analytic, o)

    step(STAGES[6])
    prov = _provenance(cfg, ex)
    sections += _sections(cfg, ex, prov, lam, analyses, primary, secondary, hb, sens, parity_frame,
                          truth, run_notes)
    results = {
        "provenance": prov,
        "config": to_plain(cfg),
        "flow": {o: to_plain(_sdc_flow(a.flow, cfg)) for o, a in analyses.items()},
        "la_pairs": to_plain(pairs_all),
        "primary": {k: v for k, v in to_plain(primary).items() if k != "table"},
        "secondary": {o: {k: v for k, v in to_plain(e).items() if k != "table"} for o, e in secondary.items()},
        "hochberg": to_plain(hb),
        "sensitivity": None if sens is None else {
            "estimates": to_plain(sens.estimates),
            "bacon_twfe": sens.bacon_twfe,
            "bacon_summary": to_plain(sens.bacon_summary),
            "cs_aggregations": to_plain(sens.cs_aggregations),
            "notes": list(sens.notes),
        },
        "truth": truth,
        "notes": run_notes,
    }
    step_acro = attempt(run_notes, "ACRO output check", lambda: acro_check(
        analyses[cfg.primary_outcome].prepared.analytic.assign(
            group=group_labels),
        Path(out_dir) / "acro", index="financial_year", columns="group",
        means=["age_at_referral", cfg.primary_outcome, "days_cpp_cin_18m", "unauth_absence_rate"]))
    if step_acro is not None:
        results["acro"] = step_acro
        sections.insert(-1, Section(
            "Output checking (ACRO)",
            ("The descriptive tables were also produced through ACRO (SACRO's output-checking "
             "library, suppression on); its outputs, checks and session summary are in acro/ for "
             "the output checkers.",),
            (AppendixTable("acro", "ACRO outputs and their status", pd.DataFrame(
                list(step_acro["outputs"].items()), columns=["output", "status"])),)))
    paths = write_appendix(sections, Path(out_dir), results=results)
    return RunResult(cfg, ex.source, ex.input_hash, primary_an.flow, primary, secondary, hb, paths,
                     truth, tuple(sections))


def _parity_summary() -> pd.DataFrame:
    from parity.report import report_frame, run_all

    frame = report_frame(run_all("replay"))
    return frame


def _sections(
    cfg: RunConfig, ex: Extract, prov: dict[str, Any], lam: Any, analyses: dict[str, OutcomeAnalysis],
    primary: OutcomeEstimate, secondary: dict[str, OutcomeEstimate], hb: pd.DataFrame,
    sens: Any, parity_frame: pd.DataFrame | None, truth: dict[str, float], run_notes: list[str],
) -> list[Section]:
    thr = cfg.sdc_threshold
    treated = ex.las.loc[ex.las["treated"].astype(bool), "la_code"].tolist()
    pa = analyses[cfg.primary_outcome]
    out: list[Section] = []
    out.append(Section(
        "Data and flow of children",
        (f"Input: {ex.source} (sha256 {ex.input_hash[:16]}…).",
         f"Treatment LAs: {', '.join(treated)}.",
         f"Every exclusion is counted by group; counts below {thr} are suppressed and shown as [c], "
         f"the others rounded to the nearest {cfg.sdc_round_base} so that differences of published "
         "counts do not reveal a small cell (ONS SRS output rules); '-' marks a structural zero."),
        (*(AppendixTable(f"flow_{o}", f"Flow of children: {o}", _sdc_flow(a.flow, cfg))
           for o, a in analyses.items()),
         AppendixTable("missing", "Covariate missingness (primary sample) and the protocol's rule",
                         pa.prepared.missing.assign(missing_share=pa.prepared.missing["missing_share"].map(
                             lambda v: "" if pd.isna(v) else f"{v:.1%}")))),
    ))
    # LA matching.
    rk = lam.result.ranking
    top = rk[rk["rank"] <= 3] if "rank" in rk.columns else rk
    figs = tuple((name, name.replace("_", " "), fig) for name, fig in lam.figures.items())
    plac = []
    for o, pr in lam.placebo.items():
        plac.append(AppendixTable(f"placebo_{o}", f"Placebo tests (fake go-live dates): {o}", pr.table))
    out.append(Section(
        "Matching local authorities on pre-period trends",
        (f"Window: {cfg.la_window} quarters ending {cfg.la_entry_lag} quarters before go-live; "
         f"the {cfg.la_k} nearest comparators ranked per treatment LA and outcome; matching with replacement.",
         *lam.notes),
        (AppendixTable("la_chosen", "Chosen comparators", lam.result.chosen),
         AppendixTable("la_ranking_top3", "Nearest three comparators per treatment LA and outcome", top),
         AppendixTable("la_excluded", "LAs excluded as comparators", lam.excluded),
         AppendixTable("la_dropped", "Treatment LAs dropped for an outcome (no acceptable match)", lam.dropped),
         *plac),
        figs,
    ))
    # CEM.
    if pa.cem_pairs is not None:
        cem_tabs = tuple(AppendixTable(f"cem_{o}", f"CEM within matched pairs: {o}", _sdc_cem(a.cem_pairs, cfg))
                         for o, a in analyses.items() if a.cem_pairs is not None)
        out.append(Section(
            "Individual-level matching (CEM)",
            ("Coarsening: gender (4 codes), age 0–3 / 4–12 / 13+, major ethnic group, disability, FSM, "
             "UASC, prior CPP; exact on matched pair × financial year, falling back to pair × period "
             f"when more than {cfg.cem_fallback_loss:.0%} of treated children would be lost.",),
            cem_tabs, _balance_figure(analyses[cfg.primary_outcome], cfg)))
    # Descriptives.
    desc = describe_groups(
        pa.prepared.analytic,
        binary=["disabled", "fsm", "uasc", "prior_cpp", "looked_after_18m", "cpp_12m"],
        continuous=["age_at_referral", "days_cpp_cin_18m", "unauth_absence_rate"],
        categorical=["gender", "ethnicity_major"], threshold=thr,
        dominance_n=cfg.sdc_dominance_n, dominance_k=cfg.sdc_dominance_k)
    out.append(Section(
        "Descriptive statistics",
        ("Treatment LAs against their matched comparison LAs, analytic sample of the primary outcome.",),
        (AppendixTable("children_by_year", "Children by financial year and group", desc.counts.display().reset_index()),
         AppendixTable("shares", "Share of children (%)", desc.shares.display("{:.1f}").reset_index()),
         AppendixTable("means", "Means of continuous variables", desc.means.display("{:.2f}").reset_index())),
    ))
    paras = [f"Model (stacked matched pairs; pair_la = LA within pair, pair_time = {cfg.time_fe} within "
             f"pair): {primary.formula}; CEM-weighted: {primary.weighted}; errors clustered by LA "
             f"(G = {primary.n_clusters}); {primary.n_imputations} imputations pooled by Rubin's rules.",
             f"Baseline rate among comparison observations: {primary.baseline_rate:.2%}; the protocol's "
             f"5–95 % rule selects the {primary.protocol_model} model (the logit is reported as well)."]
    if cfg.primary_outcome in truth:
        paras.append(f"Simulated data: the true average effect among FV children is "
                     f"{truth[cfg.primary_outcome]:+.4f}.")
    if not dof_ok(primary.df_resid, thr):
        paras.append("Residual degrees of freedom below the disclosure threshold: estimates withheld.")
    prim_tabs = [AppendixTable("primary", f"Effect of FV on {cfg.primary_outcome}", primary.tidy())]
    if pa.protocol_literal is not None:
        prim_tabs.append(AppendixTable(
            "primary_pooled_fy",
            "The protocol's literal specification: pooled LA and financial-year fixed effects, CEM weights",
            pa.protocol_literal.tidy()))
    out.append(Section("Primary analysis", tuple(paras), tuple(prim_tabs)))
    sec_tabs = [AppendixTable("secondary", "Secondary outcomes (same specification)",
                              _estimate_rows(secondary, thr))]
    if not hb.empty:
        sec_tabs.append(AppendixTable("hochberg", "Hochberg adjustment across the secondary outcomes", hb))
    for o, a in analyses.items():
        if not a.checks.empty:
            sec_tabs.append(AppendixTable(f"checks_{o}", f"Robustness models: {o} (unweighted, first imputation, financial-year dummies; LA dummies except in the random-effects model)", a.checks))
    sec_notes = [n for a in analyses.values() for n in a.notes]
    out.append(Section("Secondary analyses", tuple(sec_notes), tuple(sec_tabs)))
    if sens is not None:
        st = [AppendixTable("sensitivity", "Sensitivity analyses of the primary outcome", sens.estimates)]
        if sens.event_time is not None:
            st.append(AppendixTable("event_time", "Differential time effects (FV × quarters since go-live)", sens.event_time))
        if sens.bacon_summary is not None:
            st.append(AppendixTable("bacon", f"Goodman-Bacon decomposition (LA × quarter panel; TWFE = {sens.bacon_twfe:.5f})", sens.bacon_summary))
        if sens.cs_aggregations is not None:
            st.append(AppendixTable("cs_aggte", f"Callaway–Sant'Anna aggregations (pre-trend Wald p = {sens.cs_pretest_pvalue:.3g})", sens.cs_aggregations))
        if sens.cs_dynamic is not None:
            st.append(AppendixTable("cs_dynamic", "Callaway–Sant'Anna event study", sens.cs_dynamic))
        figs2 = tuple((k, k.replace("_", " "), v) for k, v in sens.figures.items())
        out.append(Section("Sensitivity analyses", (*sens.panel_notes, *sens.notes), tuple(st), figs2))
    if parity_frame is not None:
        n_fail = int((parity_frame["pass"] == "fail").sum())
        out.append(Section(
            "Parity with the R references",
            (f"Replay of every parity case against its golden file: {len(parity_frame)} comparisons, "
             f"{n_fail} failing. `fvdid parity --live` re-runs them against R.",),
            (AppendixTable("parity", "Parity report (replay)", parity_frame),)))
    out += _mdes_cba_sections(cfg, pa, primary)
    out.append(Section("Provenance", tuple(run_notes),
                       (AppendixTable("provenance", "Provenance", pd.DataFrame(
                           list(_flat(prov).items()), columns=["item", "value"])),)))
    return out


def _mdes_cba_sections(cfg: RunConfig, pa: OutcomeAnalysis, primary: OutcomeEstimate) -> list[Section]:
    """The protocol's MDES table (its inputs and the analysed sample) and the cost-benefit sums."""
    from fvdid.stages.cost_benefit import cba
    from fvdid.stages.power import mdes

    d = pa.prepared.analytic
    d = d[d.get("cem_weight", pd.Series(1.0, index=d.index)) > 0]
    n_la = d["la_code"].nunique()
    years = max(d["financial_year"].nunique(), 1)
    base = float(primary.baseline_rate)
    rows = []
    for label, j, n in (
        ("protocol inputs: 5 LAs of 15,600 children", 5, 15_600.0),
        ("5 treatment + 5 comparison LAs of 15,600 children", 10, 15_600.0),
        (f"analysed sample: {n_la} LAs, mean children per LA", n_la, len(d) / max(n_la, 1)),
    ):
        if j < 3:
            continue
        r = mdes(n_clusters=j, cluster_size=n, icc=cfg.mdes_icc, power=cfg.mdes_power,
                 alpha=cfg.alpha, baseline=base if 0 < base < 1 else None)
        rows.append({"design": label, "clusters": j, "cluster size": round(n),
                     "MDES (d)": r.mdes_d, "MDES (pp)": r.mdes_pp, "multiplier": r.multiplier})
    mdes_sec = Section(
        "Sample size / MDES",
        (f"Two-level cluster formula, ICC {cfg.mdes_icc}, power {cfg.mdes_power:.0%}, two-sided alpha "
         f"{cfg.alpha}, t(J - 2) multiplier, baseline {base:.2%}. The protocol's table reports an MDES of "
         "0.116 SD (2.3 pp) for 5 LAs; the standard formula gives the numbers below for the same inputs, "
         "and neither accounts for the staggered roll-out (the protocol's footnote 15).",),
        (AppendixTable("mdes", "Minimum detectable effect sizes", pd.DataFrame(rows)),),
    )
    treated = d[d["treated_la"].astype(bool)]
    per_la_year = len(treated) / max(treated["la_code"].nunique(), 1) / years
    c = cba(ate=primary.estimate, p_value=primary.p_value, children_per_la_year=per_la_year,
            benefit_per_child=cfg.cba_benefit_per_child, years=cfg.cba_years,
            discount_rate=cfg.cba_discount_rate, costs_per_la=cfg.cba_costs_per_la, alpha=cfg.alpha)
    cba_sec = Section(
        "Cost-benefit analysis",
        ("Un-monetised benefit per LA = ATE × children in the sample per treatment LA per year; "
         "monetised with the benefit per child not entering care and a discount factor per year; "
         "computed only when the primary effect is statistically significant."
         + (f" Not computed: {c.reason}." if not c.computed else ""),),
        (AppendixTable("cba", "Cost-benefit analysis", c.tidy().assign(value=lambda t: t["value"].map(
            lambda v: f"{v:,.4g}" if isinstance(v, float) else str(v)))),),
    )
    return [mdes_sec, cba_sec]


def _balance_figure(a: OutcomeAnalysis, cfg: RunConfig) -> tuple[tuple[str, str, Any], ...]:
    if a.balance_figure is None:
        return ()
    return (("cem_balance", f"Covariate balance before and after CEM ({a.outcome})", a.balance_figure),)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(v)
    return out


