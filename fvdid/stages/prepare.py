"""Stage ``prepare``: the analytic sample, the flow table and the missing-data rules.

Protocol (Handling missing data): rows with a missing outcome are dropped; covariates missing in
more than 30 % of the rows are dropped; the remaining covariates are multiply imputed and the
estimates pooled by Rubin's rules. Every exclusion is counted, by comparison group, in the flow
table.

Imputation (default ``imputation="mice"``) is by chained equations (:mod:`fvdid.stages._mice`):
each incomplete covariate is imputed from a model that includes the outcome, the treatment
indicators (``fv``, ``treated_la``), the period (financial-year dummies), the LA (dummies, when
at most :data:`MAX_LA_DUMMIES` LAs), the complete covariates and the other imputed covariates;
proper predictive mean matching for numeric covariates, multivariate PMM on the predicted level
dummies for unordered categorical ones; ``maxit`` sweeps per imputation, ``m`` independent seeded
chains. Leaving the outcome out of the imputation model biases the covariates' coefficients
towards zero (van Buuren 2018, section 6.2), which is what the older hot deck did.

``imputation="hot_deck"`` keeps that hot deck (approximate Bayesian bootstrap, Rubin & Schenker
1986, within LA × financial-year cells, from neither the outcome nor ``fv``) as a comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.release import released_flow
from fvdid.reporting.sdc import public_source, release_share
from fvdid.stages._mice import impute_mice

__all__ = [
    "GROUPS",
    "MAX_LA_DUMMIES",
    "Prepared",
    "data_section",
    "flow_row",
    "group_labels",
    "imputation_predictors",
    "impute_hot_deck",
    "prepare",
]

MAX_LA_DUMMIES = 60
"""LA dummies enter the imputation model only up to this many LAs (their cost grows with the square)."""

TREATMENT_PREDICTORS = ("fv", "treated_la")
PERIOD_PREDICTORS = ("financial_year",)

OUTCOME_SAMPLE = {
    # outcome -> (column that must be 1 for the child to be in the outcome's sample, description)
    "kinship_first_placement": ("looked_after_18m", "not looked after within 18 months"),
    "reunified_18m": ("looked_after_18m", "not looked after within 18 months"),
}


@dataclass(frozen=True)
class Prepared(ResultMixin):
    """The analytic sample of one outcome, its flow table and the covariate decisions.

    Attributes
    ----------
    outcome
        The outcome this sample is for.
    analytic
        The rows kept (all columns of the extract).
    flow
        One row per step: step, excluded and remaining, in total and by group.
    missing
        Covariate, missing share in the analytic sample, decision ("kept", "imputed", "dropped").
    covariates
        The covariates kept for the regressions.
    imputed
        ``m`` completed copies of ``analytic`` (empty tuple when nothing needed imputing or
        ``n_imputations=0``).
    imputation_method
        How ``imputed`` was made: ``"mice"``, ``"hot_deck"``, ``"complete cases"`` or ``"none"``
        (nothing to impute).
    imputation_notes
        The imputation model in words: predictors used, predictors absent, iterations.
    """

    outcome: str
    analytic: pd.DataFrame
    flow: pd.DataFrame
    missing: pd.DataFrame
    covariates: tuple[str, ...]
    imputed: tuple[pd.DataFrame, ...]
    imputation_method: str = "none"
    imputation_notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        return self.flow


GROUPS: tuple[str, str] = ("treatment", "comparison")


def _treated(df: pd.DataFrame) -> np.ndarray:
    """True for the children of a treatment LA (the rule of :func:`group_labels`)."""
    return df["treated_la"].astype(bool).to_numpy()


def group_labels(df: pd.DataFrame) -> pd.Series:
    """"treatment" for children of a treatment LA, else "comparison" (aligned to ``df``)."""
    return pd.Series(np.where(_treated(df), *GROUPS), index=df.index)


def flow_row(step: str, before: pd.DataFrame, after: pd.DataFrame) -> dict[str, object]:
    """One row of the flow table: what ``step`` excluded, in total and by group."""
    tb, ta = int(_treated(before).sum()), int(_treated(after).sum())  # not on string labels
    counts = {"treatment": (tb, ta), "comparison": (len(before) - tb, len(after) - ta)}
    row: dict[str, object] = {
        "step": step,
        "excluded": len(before) - len(after),
        "remaining": len(after),
    }
    for g in GROUPS:
        b, a = counts[g]
        row[f"excluded_{g}"] = b - a
        row[f"remaining_{g}"] = a
    return row


def prepare(
    children: pd.DataFrame,
    *,
    outcome: str,
    covariates: Sequence[str],
    las_in_analysis: Sequence[str] | None = None,
    max_missing_share: float = 0.30,
    n_imputations: int = 5,
    seed: int = 0,
    imputation: Literal["mice", "hot_deck"] = "mice",
    categorical: Sequence[str] | None = None,
    maxit: int = 10,
) -> Prepared:
    """Build the analytic sample of ``outcome`` and apply the protocol's missing-data rules.

    Parameters
    ----------
    children
        The child-level extract (validated by :func:`fvdid.io.validate_children`).
    outcome
        Outcome column.
    covariates
        Candidate child and LA covariates for the regression.
    las_in_analysis
        LA codes kept (treatment LAs and their matched comparators); None keeps all.
    max_missing_share
        Covariates missing in more than this share of the analytic sample are dropped.
    n_imputations
        Number of imputations for covariates below the threshold (0: complete cases).
    seed
        Seed of the imputations.
    imputation
        ``"mice"`` (chained equations with the outcome, treatment, period and covariates in the
        model) or ``"hot_deck"`` (the older hot deck within LA × financial year, kept for
        comparison: it ignores the outcome and attenuates the covariates' coefficients).
    categorical
        Covariates to treat as unordered categorical in the imputation model; None: the
        non-numeric ones.
    maxit
        Sweeps of the chained equations per imputation.
    """
    if imputation not in ("mice", "hot_deck"):
        raise FvdidInputError(f"imputation must be 'mice' or 'hot_deck', got {imputation!r}")
    rows = []
    start = children
    cur = children
    rows.append({**flow_row("records in the extract", cur, cur), "excluded": 0})
    if "in_trial_period" in cur.columns:
        nxt = cur[cur["in_trial_period"].astype(bool)]
        rows.append(flow_row("referral outside the trial period", cur, nxt))
        cur = nxt
    age = pd.to_numeric(cur["age_at_referral"], errors="coerce")
    nxt = cur[age.between(0, 17)]
    rows.append(flow_row("age at referral missing or outside 0-17", cur, nxt))
    cur = nxt
    if las_in_analysis is not None:
        nxt = cur[cur["la_code"].isin(set(las_in_analysis))]
        rows.append(flow_row("LA neither a treatment LA nor a matched comparator", cur, nxt))
        cur = nxt
    if outcome in OUTCOME_SAMPLE:
        col, why = OUTCOME_SAMPLE[outcome]
        nxt = cur[cur[col] == 1]
        rows.append(flow_row(f"outside the outcome's sample ({why})", cur, nxt))
        cur = nxt
    if outcome not in cur.columns:
        raise FvdidInputError(f"outcome column {outcome!r} is not in the extract")
    nxt = cur[cur[outcome].notna()]
    rows.append(flow_row(f"missing outcome ({outcome})", cur, nxt))
    cur = nxt
    flow = pd.DataFrame(rows)
    assert int(flow["excluded"].sum()) + len(cur) == len(start)

    miss_rows = []
    kept: list[str] = []
    to_impute: list[str] = []
    for c in covariates:
        if c not in cur.columns:
            miss_rows.append({"covariate": c, "missing_share": np.nan, "decision": "absent from extract"})
            continue
        share = float(cur[c].isna().mean())
        if share > max_missing_share:
            decision = f"dropped (> {max_missing_share:.0%} missing)"
        elif share > 0:
            decision = "imputed" if n_imputations > 0 else "complete cases"
            kept.append(c)
            to_impute.append(c)
        else:
            decision = "complete"
            kept.append(c)
        miss_rows.append({"covariate": c, "missing_share": share, "decision": decision})
    missing = pd.DataFrame(miss_rows)
    analytic = cur
    imputed: tuple[pd.DataFrame, ...] = ()
    method, notes = "none", ()
    if to_impute and n_imputations > 0 and imputation == "hot_deck":
        imputed = tuple(impute_hot_deck(analytic, to_impute, m=n_imputations, seed=seed))
        method = "hot_deck"
        notes = ("hot deck (approximate Bayesian bootstrap) within LA x financial year; the "
                 "outcome and fv are not in the imputation model",)
    elif to_impute and n_imputations > 0:
        preds, notes = imputation_predictors(analytic, outcome, [c for c in kept if c not in to_impute])
        imputed = tuple(impute_mice(analytic, to_impute, preds, m=n_imputations, seed=seed, maxit=maxit,
                                    categorical=() if categorical is None else categorical))
        method = "mice"
        notes = (f"chained equations: {n_imputations} imputations x {maxit} sweeps, seed {seed}; "
                 f"imputed {', '.join(to_impute)} (PMM with 5 donors; categorical ones by "
                 "multivariate PMM)", *notes)
    elif to_impute:
        method = "complete cases"
        nxt = analytic.dropna(subset=to_impute)
        flow = pd.concat(
            [flow, pd.DataFrame([flow_row("missing covariate (complete cases)", analytic, nxt)])],
            ignore_index=True,
        )
        analytic = nxt
    return Prepared(outcome, analytic, flow, missing, tuple(kept), imputed, method, tuple(notes))


def imputation_predictors(data: pd.DataFrame, outcome: str,
                          complete: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """The complete predictors of the imputation model and a note of what went in and what did not.

    The outcome, ``fv`` and ``treated_la``, the financial year, the LA (at most
    :data:`MAX_LA_DUMMIES` of them) and the complete covariates; the imputed covariates predict
    each other inside :func:`fvdid.stages._mice.impute_mice`.
    """
    preds = [outcome]
    absent = []
    for c in (*TREATMENT_PREDICTORS, *PERIOD_PREDICTORS):
        (preds if c in data.columns else absent).append(c)
    notes = []
    if "la_code" in data.columns:
        k = data["la_code"].nunique()
        if k <= MAX_LA_DUMMIES:
            preds.append("la_code")
        else:
            notes.append(f"LA dummies left out of the imputation model ({k} LAs > {MAX_LA_DUMMIES})")
    preds += [c for c in complete if c not in preds]
    notes.insert(0, "imputation model predictors: " + ", ".join(preds) + " and the other imputed covariates")
    if absent:
        notes.append("not in the data, so not in the imputation model: " + ", ".join(absent))
    return preds, tuple(notes)


def impute_hot_deck(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    m: int = 5,
    seed: int = 0,
    cells: Sequence[str] = ("la_code", "financial_year"),
) -> list[pd.DataFrame]:
    """Return ``m`` completed copies of ``data`` (approximate Bayesian bootstrap hot deck).

    Cells without any observed value borrow from the whole column (counted in ``attrs``).
    """
    rng = np.random.default_rng(seed)
    cell = data.groupby(list(cells), sort=True, observed=True).ngroup().to_numpy()
    out = [data.copy() for _ in range(m)]
    for c in columns:
        vals = data[c].to_numpy()
        obs = ~pd.isna(vals)
        if obs.all():
            continue
        # Observed rows sorted by cell; start and size of each cell's block.
        n_cells = int(cell.max()) + 1
        obs_idx = np.flatnonzero(obs)
        order = obs_idx[np.argsort(cell[obs_idx], kind="stable")]
        size = np.bincount(cell[obs_idx], minlength=n_cells)
        start = np.concatenate([[0], np.cumsum(size)[:-1]])
        miss_idx = np.flatnonzero(~obs)
        mc = cell[miss_idx]
        empty = size[mc] == 0
        for k in range(m):
            # ABB: a bootstrap pool per cell (same size as the observed block) ...
            pool_cell = cell[order]
            pool = order[start[pool_cell] + np.floor(rng.random(len(order)) * size[pool_cell]).astype(np.int64)]
            # ... then each missing value drawn from its cell's pool.
            draw = np.empty(len(miss_idx), dtype=np.int64)
            ok = ~empty
            draw[ok] = pool[start[mc[ok]] + np.floor(rng.random(ok.sum()) * size[mc[ok]]).astype(np.int64)]
            draw[empty] = obs_idx[rng.integers(0, len(obs_idx), empty.sum())]
            col = out[k][c].to_numpy(copy=True)
            col[miss_idx] = vals[draw]
            out[k][c] = col
            out[k].attrs.setdefault("imputed_from_whole_column", {})[c] = int(empty.sum())
    return out


def _released_missing(missing: pd.DataFrame, flow: pd.DataFrame, outcome: str, cfg: Any) -> pd.DataFrame:
    """Missingness as released: a percentage of the sample, derived from the rounded counts and
    suppressed when the missing or the observed children number fewer than the threshold."""
    rows = flow[flow["step"].astype(str) == f"missing outcome ({outcome})"]
    n = float(rows["remaining"].iloc[0]) if len(rows) else float("nan")
    out = missing.copy()
    out["missing_share"] = [
        "" if pd.isna(v) else ("0.0%" if v == 0 else release_share(round(v * n), n, cfg))
        for v in missing["missing_share"]]
    return out


def data_section(source: str, input_hash: str, treated: Sequence[str], analyses: Mapping[str, Any],
                 primary_outcome: str, cfg: Any) -> Section:
    """The appendix section of the data: input, treatment LAs, flow of children, missingness.

    ``source`` is shown as its last path component (the extract's folder name): no path of the
    analyst's machine leaves.
    """
    thr = cfg.sdc_threshold
    pa = analyses[primary_outcome]
    missing = pa.prepared.missing
    return Section(
        "Data and flow of children",
        (f"Input: {public_source(source)} (sha256 {input_hash[:16]}…).",
         f"Treatment LAs: {', '.join(treated)}.",
         f"Every exclusion is counted by group; counts below {thr} are suppressed and shown as [c], "
         f"the others rounded to the nearest {cfg.sdc_round_base}; a step that excludes fewer than "
         f"{thr} children of a group is pooled with the step before it, and further counts are "
         "suppressed where a suppressed count could otherwise be bounded by subtraction (ONS SRS "
         "output rules); '-' marks a structural zero. Missingness is a percentage of the rounded "
         "counts, suppressed when the missing or observed children are fewer than the threshold."),
        (*(AppendixTable(f"flow_{o}", f"Flow of children: {o}", released_flow(a.flow, cfg))
           for o, a in analyses.items()),
         AppendixTable("missing", "Covariate missingness (primary sample) and the protocol's rule",
                       _released_missing(missing, pa.flow, primary_outcome, cfg))),
    )
