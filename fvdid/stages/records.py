"""The analysis as tidy records: one row per outcome × estimator × inference method.

This is what the Monte Carlo study stores per replication (:mod:`fvdid.montecarlo`): estimate,
standard error, interval, p-value and the truth of the row's estimand (simulated extracts only).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from scipy import stats

from fvdid.stages.headline import t_inference

if TYPE_CHECKING:
    from fvdid.pipeline import Analysis

__all__ = ["RECORD_COLUMNS", "analysis_records"]

RECORD_COLUMNS = ["outcome", "estimator", "method", "estimate", "std_error", "conf_low",
                  "conf_high", "p_value", "truth"]

NAN = float("nan")


def _row(outcome: str, estimator: str, method: str, estimate: float, se: float, lo: float,
         hi: float, p: float, truth: float) -> dict[str, Any]:
    return dict(zip(RECORD_COLUMNS, (outcome, estimator, method, float(estimate), float(se),
                                     float(lo), float(hi), float(p), float(truth)), strict=True))


def _t_row(outcome: str, estimator: str, method: str, est: float, se: float, df: float, alpha: float,
           truth: float) -> dict[str, Any]:
    p, lo, hi = t_inference(est, se, df, alpha)
    return _row(outcome, estimator, method, est, se, lo, hi, p, truth)


def _estimate_rows(outcome: str, e: Any, alpha: float, truth: float) -> list[dict[str, Any]]:
    """Every estimator × method of one :class:`~fvdid.stages.estimate.OutcomeEstimate`."""
    g1 = float(e.n_clusters - 1)
    rows = [
        _row(outcome, "linear_iw", "CR1_tG-1", e.linear_estimate, e.linear_std_error,
             e.linear_conf_low, e.linear_conf_high, e.linear_p_value, truth),
        _row(outcome, "linear_iw", "IM_pairs_tq-1", e.linear_estimate, e.linear_pairs_std_error,
             e.linear_pairs_conf_low, e.linear_pairs_conf_high, e.linear_pairs_p_value, truth),
        # the test of no effect with the pairs weighted equally: its estimate is the unweighted
        # mean of the pairs' effects, another estimand (no truth, no interval)
        _row(outcome, "linear_iw", "IM_pairs_equal_tq-1", e.linear_pairs_equal_estimate,
             e.linear_pairs_equal_std_error, NAN, NAN, e.linear_pairs_equal_p_value, NAN),
        _row(outcome, "linear_iw", "CR1_cell_tG-1", e.linear_estimate, e.linear_cell_std_error,
             e.linear_cell_conf_low, e.linear_cell_conf_high, e.linear_cell_p_value, truth),
        _row(outcome, "linear_iw", "CR2_satterthwaite", e.linear_estimate, e.cr2_std_error,
             e.cr2_conf_low, e.cr2_conf_high, e.cr2_p_value, truth),
        _row(outcome, "linear_iw", "WCR_webb", e.linear_estimate, NAN, e.boot_conf_low,
             e.boot_conf_high, e.boot_p_value, truth),
        _row(outcome, "linear_iw", "WCU_webb", e.linear_estimate, NAN, e.wcu_conf_low,
             e.wcu_conf_high, e.wcu_p_value, truth),
        _row(outcome, "linear_iw", "WSCB_webb", e.linear_estimate, NAN, e.wscb_conf_low,
             e.wscb_conf_high, e.wscb_p_value, truth),
        _row(outcome, "pooled_fv", "CR1_tG-1", e.pooled_estimate, e.pooled_std_error,
             e.pooled_conf_low, e.pooled_conf_high, e.pooled_p_value, truth),
        _row(outcome, "logit_ame", "CR1_tG-1", e.logit_ame, e.logit_ame_std_error,
             e.logit_ame_conf_low, e.logit_ame_conf_high, e.logit_ame_p_value, truth),
        _row(outcome, "logit_ame", "IM_pairs_tq-1", e.logit_ame, e.logit_ame_pairs_std_error,
             e.logit_ame_pairs_conf_low, e.logit_ame_pairs_conf_high, e.logit_ame_pairs_p_value, truth),
        _row(outcome, "logit_ame", "IM_pairs_equal_tq-1", e.logit_ame_pairs_equal_estimate,
             e.logit_ame_pairs_equal_std_error, NAN, NAN, e.logit_ame_pairs_equal_p_value, NAN),
        _row(outcome, f"logit_ame_{e.logit_alt_period}", "CR1_tG-1", e.logit_ame_alt,
             e.logit_ame_alt_std_error, e.logit_ame_alt_conf_low, e.logit_ame_alt_conf_high,
             e.logit_ame_alt_p_value, truth),
        _row(outcome, f"logit_ame_{e.logit_alt_period}", "IM_pairs_tq-1", e.logit_ame_alt,
             e.logit_ame_alt_pairs_std_error, e.logit_ame_alt_pairs_conf_low,
             e.logit_ame_alt_pairs_conf_high, e.logit_ame_alt_pairs_p_value, truth),
        # log-odds: no simulated truth on that scale
        _t_row(outcome, "logit_log_odds", "CR1_tG-1", e.logit_estimate, e.logit_std_error, g1, alpha, NAN),
    ]
    return [r for r in rows if not math.isnan(r["estimate"]) and not (
        math.isnan(r["std_error"]) and math.isnan(r["p_value"]))]


def analysis_records(an: Analysis) -> pd.DataFrame:
    """The tidy records of an :class:`fvdid.pipeline.Analysis`.

    Columns :data:`RECORD_COLUMNS` and ``truth_all_fv`` (the true effect among all FV children
    of the outcome's sample, before CEM). ``truth`` is that of the headline's estimand, the
    matched FV children; estimators of other estimands are compared with it too.
    """
    cfg = an.config
    alpha = cfg.alpha
    rows: list[dict[str, Any]] = []
    for o, a in an.outcomes.items():
        truth = an.truth.get(o, NAN)
        e = a.estimate
        if e is None:
            continue
        if o == cfg.primary_outcome:
            rows.append(_row(o, "headline", "CR1_tG-1", e.estimate, e.headline_cr1_std_error,
                             e.headline_cr1_conf_low, e.headline_cr1_conf_high,
                             e.headline_cr1_p_value, truth))
            rows.append(_row(o, "headline", "IM_pairs_tq-1", e.estimate, e.pairs_std_error,
                             e.pairs_conf_low, e.pairs_conf_high, e.pairs_p_value, truth))
            rows.append(_row(o, "headline", "IM_pairs_equal_tq-1", e.pairs_equal_estimate,
                             e.pairs_equal_std_error, NAN, NAN, e.pairs_equal_p_value, NAN))
            pp = getattr(an, "placebo_pairs", None)
            if pp is not None:
                # the statistic is the pairs' linear interaction-weighted effect (placebo_pairs)
                rows.append(_row(o, "randomization", "RI_t_pairs", e.linear_estimate, NAN,
                                 pp.ri_conf_low, pp.ri_conf_high, pp.ri_p_value, truth))
                rows.append(_row(o, "conley_taber", "CT_pairs", e.linear_estimate, NAN,
                                 pp.ct.conf_low, pp.ct.conf_high, pp.ct.p_value, truth))
        rows += _estimate_rows(o, e, alpha, truth)
        if a.protocol_literal is not None:
            lit = a.protocol_literal
            rows.append(_row(o, "pooled_la_fy", "CR1_tG-1", lit.estimate, lit.std_error, lit.conf_low,
                             lit.conf_high, lit.p_value, truth))
        for c in a.checks.itertuples(index=False):
            # FGLS random effects estimates the FV effect on the outcome's own scale: its bias is
            # measured against the headline's truth; tobit / hurdle / LMM are on other scales.
            same_scale = "random effects" in str(c.model)
            rows.append(_row(o, f"robustness: {c.model}", "model", c.estimate, c.std_error, NAN, NAN,
                             c.p_value, truth if same_scale else NAN))
    if an.sensitivity is not None:
        po = cfg.primary_outcome
        for s in an.sensitivity.estimates.itertuples(index=False):
            rows.append(_row(po, f"sensitivity: {s.analysis}", "CR1_tG-1", s.estimate, s.std_error,
                             s.conf_low, s.conf_high, s.p_value, NAN))
        cs = an.sensitivity.cs_aggregations
        if cs is not None:
            for r in cs.itertuples(index=False):
                rows.append(_row(po, f"callaway_santanna_{r.aggregation}", "analytic", r.att, r.se,
                                 r.conf_low, r.conf_high,
                                 2 * stats.norm.sf(abs(r.att / r.se)) if r.se > 0 else NAN, NAN))
    out = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    out["truth_all_fv"] = out["outcome"].map(dict(an.truth_all_fv)).astype(float)
    models = {o: a.estimate.headline_model for o, a in an.outcomes.items() if a.estimate is not None}
    out["headline_model"] = out["outcome"].map(models)
    return out
