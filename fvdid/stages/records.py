"""The analysis as tidy records: one row per outcome × estimator × inference method.

This is what the Monte Carlo study stores per replication (:mod:`fvdid.montecarlo`): estimate,
standard error, interval, p-value and the truth of the row's estimand (simulated extracts only).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from scipy import stats

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
    if not (se > 0 and df > 0):
        return _row(outcome, estimator, method, est, se, NAN, NAN, NAN, truth)
    q = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(abs(est / se), df)
    return _row(outcome, estimator, method, est, se, est - q * se, est + q * se, p, truth)


def _estimate_rows(outcome: str, estimator: str, e: Any, alpha: float, truth: float) -> list[dict[str, Any]]:
    rows = [_row(outcome, estimator, "CR1_tG-1", e.estimate, e.std_error, e.conf_low, e.conf_high,
                 e.p_value, truth)]
    if not math.isnan(e.cr2_std_error):
        rows.append(_t_row(outcome, estimator, "CR2_satterthwaite", e.estimate, e.cr2_std_error,
                           e.cr2_df, alpha, truth))
    if not math.isnan(e.boot_p_value):
        rows.append(_row(outcome, estimator, "WCR_webb", e.estimate, NAN, e.boot_conf_low,
                         e.boot_conf_high, e.boot_p_value, truth))
    return rows


def analysis_records(an: Analysis) -> pd.DataFrame:
    """The tidy records of an :class:`fvdid.pipeline.Analysis` (columns :data:`RECORD_COLUMNS`)."""
    cfg = an.config
    alpha = cfg.alpha
    rows: list[dict[str, Any]] = []
    for o, a in an.outcomes.items():
        truth = an.truth.get(o, NAN)
        e = a.estimate
        if e is None:
            continue
        if o == cfg.primary_outcome:
            rows += _estimate_rows(o, "headline", e, alpha, truth)
        rows += _estimate_rows(o, "stacked_linear", e, alpha, truth)
        if not math.isnan(e.logit_estimate):  # log-odds: no simulated truth on that scale
            rows.append(_t_row(o, "logit_log_odds", "CR1_tG-1", e.logit_estimate, e.logit_std_error,
                               e.n_clusters - 1, alpha, NAN))
        if a.protocol_literal is not None:
            rows += _estimate_rows(o, "pooled_la_fy", a.protocol_literal, alpha, truth)
        for c in a.checks.itertuples(index=False):
            rows.append(_row(o, f"robustness: {c.model}", "model", c.estimate, c.std_error, NAN, NAN,
                             c.p_value, NAN))
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
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)
