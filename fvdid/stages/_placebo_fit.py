"""Placebo pairs: the pool, the placebo comparators, the children and the pair-level fits.

Private helpers of :mod:`fvdid.stages.placebo_pairs` (its module docstring states the design).
Everything here reuses fvdid's own stages: LA matching (:func:`fvdid.match_las`), the analytic
sample and its imputations (:func:`fvdid.stages.prepare.prepare`), CEM within pair
(:func:`fvdid.stages.child_matching.match_children`), the stacked pair frame
(:func:`fvdid.stages.estimate.stack_pairs`) and the headline's cell regression
(:mod:`fvdid.stages.headline`) or its logit AME (:mod:`fvdid.stages.logit_ame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid.config import RunConfig
from fvdid.stages import DataCondition, as_data_condition

__all__ = ["PairFit", "eligible_pool", "fit_pairs", "placebo_comparator"]


@dataclass(frozen=True)
class PairFit:
    """One pair's estimate by the headline's pair-level procedure."""

    la: str
    go_live: pd.Period
    comparator: str
    theta: float
    n_fv: float
    delta: float


def eligible_pool(lam: Any, outcome: str, treated: Sequence[str]) -> list[str]:
    """LAs eligible as comparators (for at least one treatment LA) for ``outcome``, minus the treated.

    The LA-level exclusion rules (other FV LAs, Partners in Practice, user exclusions, no
    child-level records) hold for every treatment LA; the data-driven ones (pre-period length,
    matching window) depend on the date and are applied again at each placebo date by
    :func:`placebo_comparator`.
    """
    c = lam.result.candidates
    c = c[(c["outcome"] == outcome) & c["eligible"].astype(bool)]
    return sorted(set(c["comparator_la"].astype(str)) - {str(t) for t in treated})


def placebo_comparator(lam: Any, la_quarter: pd.DataFrame, outcome: str, la: str,
                       go_live: pd.Period, pool: Sequence[str]) -> str | None:
    """The nearest pre-trend comparator of ``la`` going live at ``go_live``, within ``pool``.

    :func:`fvdid.match_las` with the run's options (window, entry lag, ``k``, metric, maximum
    distance) and the pool minus ``la`` as the only possible comparators; None when it finds no
    acceptable one (the LA is then dropped from the placebo pool).
    """
    from fvdid.estimators.match_las import match_las

    opts = lam.options
    cands = [p for p in pool if p != la]
    if not cands:
        return None
    panel = la_quarter.loc[:, ["la", "quarter", outcome]]
    try:
        res = match_las(panel, outcome=outcome, go_live={la: go_live}, window=opts.la_window,
                        k=opts.la_k, entry_lag=opts.la_entry_lag, metric=opts.la_metric,
                        n_comparators=1, max_distance=opts.la_max_distance, restrict_to=cands)
    except Exception as exc:
        if as_data_condition(exc) is None and not _is_input_error(exc):
            raise
        return None
    ch = res.chosen
    if ch.empty:
        return None
    return str(ch.sort_values("rank").iloc[0]["comparator_la"])


def _is_input_error(exc: BaseException) -> bool:
    from fvdid.errors import FvdidInputError

    # match_las rejects a placebo LA without enough pre-period data for the window (a data
    # condition of that LA, not a bad option: the options passed the real matching)
    return isinstance(exc, FvdidInputError)


def _placebo_columns(d: pd.DataFrame, la_of_pair: pd.Series, go_live: pd.Period) -> pd.DataFrame:
    """FV, event time and ``treated_la`` re-derived for the placebo treatment LA of each pair.

    FV as :func:`fvdid.io.derive_fv` defines it (referred in or after the go-live month); event
    time ``floor((referral month - go-live month) / 3)`` for the treatment LA's children, NaN for
    the comparator's (as the simulator codes it).
    """
    month = pd.to_datetime(d["referral_date"]).dt.to_period("M")
    is_t = (d["la_code"].astype(str).to_numpy() == la_of_pair.to_numpy())
    g = pd.Period(go_live, freq="M")
    since = (month.dt.year.to_numpy() - g.year) * 12 + (month.dt.month.to_numpy() - g.month)
    fv = (is_t & (since >= 0)).astype(np.int8)
    e = np.where(is_t, np.floor_divide(since, 3), np.nan).astype(float)
    return d.assign(fv_actual=d["fv"].to_numpy(), fv=fv, event_time_q=e, treated_la=is_t)


def _cell_theta(sets: Sequence[pd.DataFrame], outcome: str, covariates: Sequence[str],
                categorical: Sequence[str], alpha: float) -> tuple[float, float, list[Any], list[Any]]:
    """The linear cell regression of one pair on each completed set: θ (mean over sets), n_fv.

    The straightforward refit (:func:`fvdid.ols` and :func:`~fvdid.stages.headline.pair_estimates`
    per set), kept as the reference of :func:`_cell_thetas` (tests/test_placebo_fast.py).
    """
    from fvdid.estimators.ols import ols
    from fvdid.stages.estimate import STACKED_FE, regression_formula
    from fvdid.stages.headline import CELL, THETA, cell_design, event_cells, pair_estimates

    cats = [c for c in categorical if c in covariates]
    thetas, fits, designs = [], [], []
    for d in sets:
        cd = cell_design(event_cells(d, treatment="fv"), cell=CELL,
                         treatment="fv", weights="weight")
        f = regression_formula(outcome, covariates, cats, treatment=" + ".join(cd.terms),
                               fixed_effects=STACKED_FE)
        fit = ols(f, cd.data, weights="weight", vcov="iid", alpha=alpha)
        if THETA not in fit.params.index:
            raise DataCondition("singular_design", "the pair's effect is collinear with its fixed "
                                "effects and covariates")
        pe = pair_estimates(fit, cd)
        thetas.append(float(pe["estimate"].iloc[0]))
        fits.append(fit)
        designs.append(cd)
    return float(np.mean(thetas)), float(designs[0].cells["n_fv"].sum()), fits, designs


def _pair_theta(fit: Any, cells: pd.DataFrame, j: int) -> float:
    """θ of one pair from the reparametrised coefficients, as :func:`pair_estimates` forms it."""
    from fvdid.stages.headline import THETA

    w = cells["weight"].to_numpy(dtype=float)
    r = int(w.argmax())
    beta = np.array([fit.coef(f"fvcell_{k}", j) if k != r else 0.0 for k in range(len(w))])
    others = np.arange(len(w)) != r
    beta[r] = (fit.coef(THETA, j) - float(w[others] @ beta[others])) / w[r]
    if not np.isfinite(beta).all():
        raise DataCondition("singular_design", "a cell effect of the interaction-weighted model is not identified")
    return float((w * beta).sum() / w.sum())


def _cell_thetas(sets: Sequence[pd.DataFrame], outcome: str, covariates: Sequence[str],
                 categorical: Sequence[str], delta: bool) -> tuple[float, float, float]:
    """θ, n_fv and δ of one pair (:func:`_cell_theta` of the outcome and, if ``delta``, of FV).

    The cell design of each completed set is built once and both outcomes (``outcome`` and the
    real FV indicator ``fv_actual``) are fitted on it as two right-hand sides of one QR
    (:func:`fvdid.estimators._ols_lean.wls_coefficients`: the coefficients of :func:`fvdid.ols`,
    without its variances); δ = 0 when not ``delta``. The same numbers as :func:`_cell_theta`
    called once per outcome, to rounding.
    """
    from fvdid.estimators._ols_lean import wls_coefficients
    from fvdid.stages.estimate import STACKED_FE, regression_formula
    from fvdid.stages.headline import CELL, THETA, cell_design, event_cells

    cats = [c for c in categorical if c in covariates]
    thetas, deltas, n_fv = [], [], float("nan")
    for m, d in enumerate(sets):
        if delta:
            d = d.assign(_fv_actual_y=d["fv_actual"].astype(float))
        cd = cell_design(event_cells(d, treatment="fv"), cell=CELL, treatment="fv", weights="weight")
        f = regression_formula(outcome, covariates, cats, treatment=" + ".join(cd.terms),
                               fixed_effects=STACKED_FE)
        fit = wls_coefficients(f, cd.data, weights="weight",
                               outcomes=("_fv_actual_y",) if delta else ())
        if THETA not in fit.terms:
            raise DataCondition("singular_design", "the pair's effect is collinear with its fixed "
                                "effects and covariates")
        thetas.append(_pair_theta(fit, cd.cells, 0))
        if delta:
            deltas.append(_pair_theta(fit, cd.cells, 1))
        if m == 0:
            n_fv = float(cd.cells["n_fv"].sum())
    return float(np.mean(thetas)), n_fv, float(np.mean(deltas)) if delta else 0.0


def fit_pairs(sets: Sequence[pd.DataFrame], pairs: pd.DataFrame, go_live: pd.Period,
              outcome: str, covariates: Sequence[str], cfg: RunConfig, delta_for: set[str],
              notes: list[str]) -> list[PairFit]:
    """CEM within each pair (``treated_la``, ``comparator_la``) going live at ``go_live``, then θ.

    ``sets`` are the completed data sets (children of every LA involved, real ``fv``). CEM runs
    on the first, as the primary does, and its weights carry to every set. ``delta_for``: the
    treatment LAs whose real FV children fall in the pair (a treated LA at another slot's date):
    for them ``delta`` is the same cell regression with the real FV indicator as the outcome
    (the shift of θ per unit of a sharp null effect); 0 otherwise. A pair that meets a data
    condition is left out and said in ``notes``.
    """
    from fvdid.stages.child_matching import match_children
    from fvdid.stages.estimate import stack_pairs

    if pairs.empty:
        return []
    pr = pairs[["treated_la", "comparator_la"]].reset_index(drop=True).assign(go_live=go_live)
    cm = match_children(sets[0], pr, by=cfg.cem_by, fallback_loss=cfg.cem_fallback_loss)
    pw = cm.matches[["pair_id", "child_id", "weight"]]
    pw = pw[pw["weight"] > 0]
    la_of = dict(zip(pr.index + 1, pr["treated_la"].astype(str)))
    stacked = []
    for d in sets:
        s = stack_pairs(d, pr, time=cfg.time_fe, weights=pw)
        stacked.append(_placebo_columns(s, s["pair_id"].map(la_of), go_live))
    out: list[PairFit] = []
    cats = cfg.categorical_covariates
    for k, (la, comp) in enumerate(zip(pr["treated_la"].astype(str), pr["comparator_la"].astype(str)),
                                   start=1):
        sub = [s[s["pair_id"] == k] for s in stacked]
        try:
            theta, n_fv, delta = _cell_thetas(sub, outcome, covariates, cats, la in delta_for)
        except Exception as exc:
            cond = as_data_condition(exc)
            if cond is None:
                raise
            notes.append(f"placebo pair {la} (go-live {go_live}) with {comp} left out ({cond.kind}): {exc}")
            continue
        if not (np.isfinite(theta) and n_fv > 0):
            notes.append(f"placebo pair {la} (go-live {go_live}) with {comp} left out: no identified effect")
            continue
        out.append(PairFit(la, go_live, comp, theta, n_fv, delta))
    return out
