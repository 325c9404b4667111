"""Stage ``outcome``: one outcome from LA pairs to its effect (prepare -> CEM -> estimate -> robustness).

Protocol (Individual-level matching; Primary analysis; Secondary analyses): the analytic sample of
the outcome (missing-data rules of :mod:`fvdid.stages.prepare`), CEM within matched pairs
(:mod:`fvdid.stages.child_matching`), the stacked matched-pair regression
(:mod:`fvdid.stages.estimate`), the protocol-literal pooled specification beside it, and the
outcome's robustness models (:mod:`fvdid.stages.robustness`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fvdid.config import RunConfig
from fvdid.stages import DataCondition, as_data_condition, attempt
from fvdid.stages.child_matching import ChildMatchResult
from fvdid.stages.estimate import STACKED_FE, OutcomeEstimate, estimate_outcome, stack_pairs
from fvdid.stages.headline import fv_estimand
from fvdid.stages.prepare import Prepared, flow_row, prepare
from fvdid.stages.robustness import CHECK_COLUMNS, robustness_models

__all__ = ["OutcomeAnalysis", "analyse_outcome", "true_att", "true_effect"]


@dataclass(frozen=True)
class OutcomeAnalysis:
    """Everything computed for one outcome (plain data).

    Attributes
    ----------
    outcome
        The outcome.
    pairs
        The LA pairs (treated_la, comparator_la) it was estimated on.
    prepared
        The analytic sample (with ``cem_weight`` when CEM ran) and its imputations.
    flow
        The flow of children, every exclusion counted (unreleased: see :mod:`fvdid.reporting.release`).
    cem_pairs
        CEM per pair (counts, shares, L1), or None when CEM did not run.
    estimate
        The stacked matched-pair regression, or None when it could not be estimated (see ``notes``).
    checks
        The robustness models (model, estimate, std_error, p_value).
    notes
        What could not be done and why, and the estimators' announcements.
    balance_figure
        The CEM balance plot (only when figures were asked for).
    protocol_literal
        The protocol's literal pooled LA + financial-year specification (primary outcome only).
    estimand
        The FV children the headline averages over (child_id -> weight), first completed set.
    """

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
    estimand: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)


def _with_weights(prep: Prepared, weights: pd.Series, name: str = "cem_weight") -> Prepared:
    """Attach CEM weights (0 for unmatched children) to the analytic sample and its imputations."""

    def add(d: pd.DataFrame) -> pd.DataFrame:
        return d.assign(**{name: d["child_id"].map(weights).fillna(0.0).to_numpy()})

    return dataclasses.replace(
        prep, analytic=add(prep.analytic), imputed=tuple(add(d) for d in prep.imputed)
    )


def _flow_append(flow: pd.DataFrame, step: str, before: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    return pd.concat([flow, pd.DataFrame([flow_row(step, before, before[keep])])], ignore_index=True)


def _cem(prep: Prepared, completed: pd.DataFrame, pairs: pd.DataFrame, las: pd.DataFrame,
         cfg: RunConfig) -> ChildMatchResult:
    """CEM of one completed data set; no matched FV child is a data condition."""
    from fvdid.stages.child_matching import match_children

    try:
        cm = match_children(completed, pairs[["treated_la", "comparator_la"]], by=cfg.cem_by,
                            fallback_loss=cfg.cem_fallback_loss, go_live=las[["la_code", "go_live"]])
    except Exception as exc:
        cond = as_data_condition(exc)
        if cond is None:
            raise
        raise cond from exc
    m = cm.matches
    if not (m["weight"] > 0).any():
        raise DataCondition("no_common_support", f"{prep.outcome}: no CEM stratum holds both groups")
    return cm


def analyse_outcome(
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
    robustness: bool = True,
    logit_alt_check: bool = True,
) -> OutcomeAnalysis:
    """LA pairs -> analytic sample -> CEM weights -> the protocol's regression (and checks).

    CEM runs on the first completed data set, so a child with a missing covariate is matched on
    an imputed value rather than coarsened into a 'missing' level of its own that rarely finds a
    comparison child (that pruning dropped 15 % of FV children, the high-risk ones); its weights
    carry to every completed data set, so the estimand (the matched FV children) is the same in
    each and the estimates are pooled by Rubin's rules. When CEM meets a data condition the outcome is not estimated (and
    without a primary estimate the run stops), unless the option ``cem_allow_unweighted`` lets
    it be estimated without CEM weights (said in its notes and sections); a CEM that fails for
    any other reason (an option, an inconsistent extract) fails the run.

    Parameters
    ----------
    outcome
        Outcome column of ``children``.
    children, las
        The extract's child-level records and LA table.
    pairs
        The outcome's LA pairs from LA matching (``treated_la``, ``comparator_la``).
    cfg
        Run options.
    bootstrap
        Run the wild cluster bootstraps (``cfg.boot_B`` draws).
    absence_terms
        Term-level absence records (the absence outcome's mixed model).
    make_figure
        Draw the CEM balance plot.
    literal
        Also fit the protocol's literal pooled specification.
    robustness
        Fit the robustness models (:func:`fvdid.stages.robustness.robustness_models`); False
        leaves ``checks`` empty (a Monte Carlo study of the headline's inference alone).
    logit_alt_check
        Fit the logit's check with the other period terms (:func:`estimate_outcome`).
    """
    from fvdid.stages.child_matching import balance_plot

    notes: list[str] = []
    units = sorted(set(pairs["treated_la"]) | set(pairs["comparator_la"]))
    covs = (*cfg.child_covariates, *cfg.la_covariates)
    prep = prepare(
        children, outcome=outcome, covariates=covs, las_in_analysis=units,
        max_missing_share=cfg.max_missing_share, n_imputations=cfg.n_imputations, seed=cfg.seed,
        categorical=cfg.categorical_covariates,
    )
    completed = list(prep.imputed) if prep.imputed else [prep.analytic]
    flow, fig, cem_pairs, pooled = prep.flow, None, None, None
    try:
        cm = _cem(prep, completed[0], pairs, las, cfg)
    except DataCondition as cond:
        if not cfg.cem_allow_unweighted:
            notes.append(f"{outcome}: CEM not done ({cond.kind}): {cond}; the outcome is not "
                         "estimated (the option cem_allow_unweighted = true would estimate it "
                         "without CEM weights)")
            return OutcomeAnalysis(outcome, pairs, prep, flow, None, None,
                                   pd.DataFrame(columns=CHECK_COLUMNS), tuple(notes))
        notes.append(f"{outcome}: CEM not done ({cond.kind}): {cond}; estimated WITHOUT CEM "
                     "weights (cem_allow_unweighted)")
        cm = None
    if cm is not None:
        if make_figure:
            fig = balance_plot(cm, threshold=cfg.sdc_threshold)
        pooled = _with_weights(prep, cm.matches.groupby("child_id")["weight"].sum())
        flow = _flow_append(flow, "not matched by CEM (weight 0)", pooled.analytic,
                            pooled.analytic["cem_weight"] > 0)
        cem_pairs = cm.pairs
        pw = cm.matches[["pair_id", "child_id", "weight"]]
        pw = pw[pw["weight"] > 0]
        stacked_sets = [stack_pairs(d, pairs, time=cfg.time_fe, weights=pw) for d in completed]
    else:
        stacked_sets = [stack_pairs(d, pairs, time=cfg.time_fe) for d in completed]
    stacked = dataclasses.replace(prep, analytic=stacked_sets[0],
                                  imputed=tuple(stacked_sets) if prep.imputed else ())
    est = attempt(notes, f"regression of {outcome}", lambda: estimate_outcome(
        stacked, categorical=cfg.categorical_covariates, weights="weight", alpha=cfg.alpha,
        fixed_effects=STACKED_FE, wild_bootstrap_B=cfg.boot_B if bootstrap else 0,
        logit_alt_check=logit_alt_check, logit_period=cfg.logit_period, seed=cfg.seed))
    protocol_literal = None
    if pooled is not None and literal:
        protocol_literal = attempt(notes, "protocol-literal specification", lambda: estimate_outcome(
            pooled, categorical=cfg.categorical_covariates, weights="cem_weight", alpha=cfg.alpha,
            fixed_effects=("la_code", "financial_year"), logit_check=False, cr2=False, seed=cfg.seed))
    prep = pooled if pooled is not None else prep
    checks = (robustness_models(outcome, stacked, cfg, absence_terms, notes,
                                primary=None if est is None else est.estimate, weighted=cm is not None)
              if robustness else pd.DataFrame(columns=CHECK_COLUMNS))
    return OutcomeAnalysis(outcome, pairs, prep, flow, cem_pairs, est, checks, tuple(notes), fig,
                           protocol_literal, fv_estimand(stacked_sets[0]))


def true_effect(child_effects: pd.DataFrame, children: pd.Series | pd.Index, outcome: str,
                weights: pd.Series | None = None) -> float:
    """The (weighted) mean true effect of ``children`` (child ids) under the simulator's DGP."""
    ce = child_effects.set_index("child_id")[outcome]
    ids = pd.Index(children)
    v = ce.reindex(ids).to_numpy(dtype=float)
    w = np.ones(len(ids)) if weights is None else weights.reindex(ids).to_numpy(dtype=float)
    ok = ~np.isnan(v)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else float("nan")


def true_att(truth: pd.DataFrame, data: pd.DataFrame, outcome: str) -> float:
    """The true average effect among FV children of ``data`` under the simulator's DGP.

    ``truth`` is the simulator's effect by event quarter (``outcome``, ``event_time_q``,
    ``effect``); effects beyond its last event quarter are held at that quarter's.
    """
    t = truth[truth["outcome"] == outcome].set_index("event_time_q")["effect"]
    treated = data[data["fv"] == 1]
    if treated.empty or t.empty:
        return float("nan")
    e = treated["event_time_q"].astype(int).clip(upper=int(t.index.max()))
    return float(t.reindex(e.to_numpy()).fillna(0.0).mean())
