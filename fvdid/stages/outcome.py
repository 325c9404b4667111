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

import pandas as pd

from fvdid.config import RunConfig
from fvdid.stages import attempt
from fvdid.stages.estimate import STACKED_FE, OutcomeEstimate, estimate_outcome, stack_pairs
from fvdid.stages.prepare import Prepared, flow_row, prepare
from fvdid.stages.robustness import robustness_models

__all__ = ["OutcomeAnalysis", "analyse_outcome", "true_att"]


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


def _with_weights(prep: Prepared, weights: pd.Series, name: str = "cem_weight") -> Prepared:
    """Attach CEM weights (0 for unmatched children) to the analytic sample and its imputations."""

    def add(d: pd.DataFrame) -> pd.DataFrame:
        return d.assign(**{name: d["child_id"].map(weights).fillna(0.0).to_numpy()})

    return dataclasses.replace(
        prep, analytic=add(prep.analytic), imputed=tuple(add(d) for d in prep.imputed)
    )


def _flow_append(flow: pd.DataFrame, step: str, before: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    return pd.concat([flow, pd.DataFrame([flow_row(step, before, before[keep])])], ignore_index=True)


def _stacked(prep: Prepared, pairs: pd.DataFrame, time: str, weights: pd.DataFrame | None) -> Prepared:
    return dataclasses.replace(
        prep,
        analytic=stack_pairs(prep.analytic, pairs, time=time, weights=weights),
        imputed=tuple(stack_pairs(d, pairs, time=time, weights=weights) for d in prep.imputed),
    )


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
) -> OutcomeAnalysis:
    """LA pairs -> analytic sample -> CEM weights -> the protocol's regression (and checks).

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
        Run the wild cluster bootstrap (``cfg.boot_B`` draws).
    absence_terms
        Term-level absence records (the absence outcome's mixed model).
    make_figure
        Draw the CEM balance plot.
    literal
        Also fit the protocol's literal pooled specification.
    """
    from fvdid.stages.child_matching import balance_plot, match_children

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
    fig = None
    pooled = None
    if cm is not None:
        if make_figure:
            fig = balance_plot(cm)
        pooled = _with_weights(prep, cm.matches.groupby("child_id")["weight"].sum())
        flow = _flow_append(flow, "not matched by CEM (weight 0)", pooled.analytic,
                            pooled.analytic["cem_weight"] > 0)
        pw = cm.matches[["pair_id", "child_id", "weight"]]
        stacked = _stacked(prep, pairs, cfg.time_fe, pw[pw["weight"] > 0])
    else:  # no CEM stratum with both groups: stack the pairs unweighted and say so
        notes.append(f"{outcome}: estimated without CEM weights")
        stacked = _stacked(prep, pairs, cfg.time_fe, None)
    est = attempt(notes, f"regression of {outcome}", lambda: estimate_outcome(
        stacked, categorical=cfg.categorical_covariates, weights="weight", alpha=cfg.alpha,
        fixed_effects=STACKED_FE, wild_bootstrap_B=cfg.boot_B if bootstrap else 0, seed=cfg.seed))
    protocol_literal = None
    if pooled is not None and literal:
        protocol_literal = attempt(notes, "protocol-literal specification", lambda: estimate_outcome(
            pooled, categorical=cfg.categorical_covariates, weights="cem_weight", alpha=cfg.alpha,
            fixed_effects=("la_code", "financial_year"), logit_check=False, seed=cfg.seed))
    prep = pooled if pooled is not None else prep
    checks = robustness_models(outcome, prep, cfg, absence_terms, notes)
    return OutcomeAnalysis(outcome, pairs, prep, flow, None if cm is None else cm.pairs, est,
                           checks, tuple(notes), fig, protocol_literal)


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
