"""Stage ``estimate``: the protocol's regressions of an outcome on the FV indicator.

Protocol (Primary analysis)::

    Y_iat = b0 + b1 FV_iat + g X_iat + r Z_at + Year_t + LA_a + e_iat

CEM-weighted when matching weights are given, standard errors clustered by LA. Inference that is
correctly sized with few clusters: CR1 with t(G-1), and (optionally) CR2 with Satterthwaite df
and the wild cluster bootstrap. With missing covariates imputed, the m fits are pooled by Rubin's
rules. The protocol's model rule (footnote 21): the linear model when the baseline rate lies in
5-95 %, else logit; both are reported and the rule's choice is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from fvdid._results import ResultMixin
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.sdc import dof_ok
from fvdid.stages.prepare import Prepared

__all__ = ["STACKED_FE", "OutcomeEstimate", "estimate_outcome", "primary_section", "regression_formula", "stack_pairs"]

BINARY = {"looked_after_18m", "cpp_12m", "kinship_first_placement", "reunified_18m"}

STACKED_FE: tuple[str, str] = ("pair_la", "pair_time")
"""Fixed effects of the stacked matched-pair design: LA within pair and period within pair."""


def stack_pairs(
    data: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    time: str = "referral_quarter",
    weights: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Stack the children of each matched pair (treatment LA + its comparator) into one frame.

    Each pair is its own small DiD experiment (Cengiz et al. 2019's stacked design): a
    comparator LA that serves several treatment LAs (matching with replacement) appears once per
    pair. Adds ``pair_id``, ``pair_la`` (LA within pair) and ``pair_time`` (``time`` within pair),
    so that LA and time fixed effects are specific to each pair. With ``weights`` (a frame of
    ``pair_id, child_id, weight``, e.g. CEM weights), only those (pair, child) rows are kept and
    carry their weight in ``weight``; without, every child of the pair's two LAs gets weight 1.

    Parameters
    ----------
    data
        Child-level rows with ``child_id``, ``la_code`` and ``time``.
    pairs
        ``treated_la, comparator_la`` (one row per pair).
    time
        Period column for the time fixed effects (default the referral quarter).
    weights
        Per-(pair, child) weights.
    """
    if weights is not None:
        out = weights[["pair_id", "child_id", "weight"]].merge(data, on="child_id", how="inner")
    else:
        parts = []
        for i, (t, c) in enumerate(pairs[["treated_la", "comparator_la"]].drop_duplicates().itertuples(index=False)):
            sel = data[data["la_code"].isin([t, c])]
            parts.append(sel.assign(pair_id=i + 1, weight=1.0))
        out = pd.concat(parts, ignore_index=True) if parts else data.iloc[:0].assign(pair_id=0, weight=1.0)
    pid = out["pair_id"].astype(str)
    out["pair_la"] = pid + ":" + out["la_code"].astype(str)
    out["pair_time"] = pid + ":" + out[time].astype(str)
    return out


@dataclass(frozen=True)
class OutcomeEstimate(ResultMixin):
    """The FV coefficient of one outcome's regression, with its inference.

    ``estimate`` is the linear model's coefficient on ``fv`` (percentage points / 100 for binary
    outcomes), pooled over imputations; ``p_value`` uses t(G-1) with the CR1 standard error.
    """

    outcome: str
    formula: str
    estimate: float
    std_error: float
    df: float
    p_value: float
    conf_low: float
    conf_high: float
    nobs: int
    n_clusters: int
    n_imputations: int
    baseline_rate: float
    protocol_model: str
    weighted: bool
    boot_p_value: float = float("nan")
    boot_conf_low: float = float("nan")
    boot_conf_high: float = float("nan")
    cr2_std_error: float = float("nan")
    cr2_df: float = float("nan")
    cr2_p_value: float = float("nan")
    logit_estimate: float = float("nan")
    logit_std_error: float = float("nan")
    logit_p_value: float = float("nan")
    df_resid: int = 0
    notes: tuple[str, ...] = ()
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def tidy(self) -> pd.DataFrame:
        rows: list[dict[str, Any]] = [
            {
                "inference": "CR1, t(G-1)" + (", Rubin-pooled" if self.n_imputations > 1 else ""),
                "estimate": self.estimate,
                "std_error": self.std_error,
                "df": self.df,
                "p_value": self.p_value,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
            },
        ]
        if np.isfinite(self.cr2_std_error):
            rows.append(
                {
                    "inference": "CR2, Satterthwaite df",
                    "estimate": self.estimate,
                    "std_error": self.cr2_std_error,
                    "df": self.cr2_df,
                    "p_value": self.cr2_p_value,
                    "conf_low": np.nan,
                    "conf_high": np.nan,
                }
            )
        if np.isfinite(self.boot_p_value):
            rows.append(
                {
                    "inference": "wild cluster bootstrap (WCR, Webb)",
                    "estimate": self.estimate,
                    "std_error": np.nan,
                    "df": np.nan,
                    "p_value": self.boot_p_value,
                    "conf_low": self.boot_conf_low,
                    "conf_high": self.boot_conf_high,
                }
            )
        if np.isfinite(self.logit_estimate):
            rows.append(
                {
                    "inference": "logit (log-odds), CR1, t(G-1); pair x year dummies",
                    "estimate": self.logit_estimate,
                    "std_error": self.logit_std_error,
                    "df": float(self.n_clusters - 1),
                    "p_value": self.logit_p_value,
                    "conf_low": np.nan,
                    "conf_high": np.nan,
                }
            )
        return pd.DataFrame(rows)


def regression_formula(
    outcome: str,
    covariates: Sequence[str],
    categorical: Sequence[str],
    *,
    treatment: str = "fv",
    fixed_effects: Sequence[str] = ("la_code", "financial_year"),
) -> str:
    """The protocol's specification as an :func:`fvdid.ols` formula."""
    terms = [treatment] + [f"C({c})" if c in categorical else c for c in covariates]
    fe = " + ".join(fixed_effects)
    return f"{outcome} ~ {' + '.join(terms)}" + (f" | {fe}" if fe else "")


def _complete_sets(prep: Prepared) -> list[pd.DataFrame]:
    return list(prep.imputed) if prep.imputed else [prep.analytic]


def estimate_outcome(
    prep: Prepared,
    *,
    categorical: Sequence[str],
    weights: str | None = None,
    cluster: str = "la_code",
    treatment: str = "fv",
    fixed_effects: Sequence[str] = ("la_code", "financial_year"),
    alpha: float = 0.05,
    cr2: bool = False,
    wild_bootstrap_B: int = 0,
    logit_check: bool | Literal["always"] = True,
    seed: int = 0,
) -> OutcomeEstimate:
    """Fit the protocol's regression of ``prep.outcome`` and return the FV effect.

    Parameters
    ----------
    prep
        The prepared analytic sample (and imputations).
    categorical
        Covariates entered as dummies.
    weights
        Column of CEM weights (rows with weight 0 are dropped by :func:`fvdid.ols` and counted).
    cluster
        Cluster column (the LA).
    cr2
        Also compute CR2 / Satterthwaite on the first completed data set.
    wild_bootstrap_B
        Wild cluster bootstrap draws on the first completed data set (0: none).
    logit_check
        Fit the logit for binary outcomes whose baseline rate lies outside 5-95 % (the
        protocol's rule, footnote 21); ``"always"`` fits it for every binary outcome.
    """
    from fvdid.estimators.ols import ols
    from fvdid.estimators.rubin import rubin

    formula = regression_formula(
        prep.outcome,
        prep.covariates,
        [c for c in categorical if c in prep.covariates],
        treatment=treatment,
        fixed_effects=fixed_effects,
    )
    sets = _complete_sets(prep)
    fits = [
        ols(formula, d, weights=weights, vcov="CR1", cluster=cluster, alpha=alpha) for d in sets
    ]
    first = fits[0]
    notes = list(first.notes)
    G = int(first.n_clusters or 0)
    if len(fits) > 1:
        # Rubin's rules on the FV coefficient alone: imputations of a small outcome sample can
        # leave a covariate level empty in one completed data set, so the full coefficient
        # vectors need not match; the FV coefficient is always estimated. The complete-data
        # df is G - 1, the reference of the cluster-robust t test.
        pooled = rubin(
            [(f.params[[treatment]], f.vcov.loc[[treatment], [treatment]]) for f in fits],
            dfcom=G - 1,
        )
        est = float(pooled.params[treatment])
        se = float(pooled.std_errors[treatment])
        df = float(min(float(pooled.df[treatment]), G - 1))
    else:
        est = float(first.params[treatment])
        se = float(first.std_errors[treatment])
        df = float(G - 1)
    tq = stats.t.ppf(1 - alpha / 2, df)
    p = float(2 * stats.t.sf(abs(est / se), df))
    d0 = sets[0]
    ctrl = d0[(d0[treatment] == 0)]
    baseline = float(ctrl[prep.outcome].mean())
    protocol_model = "linear" if 0.05 <= baseline <= 0.95 or prep.outcome not in BINARY else "logit"
    kw: dict[str, Any] = {}
    if cr2:
        f2 = ols(formula, d0, weights=weights, vcov="CR2", cluster=cluster, alpha=alpha)
        kw.update(
            cr2_std_error=float(f2.std_errors[treatment]),
            cr2_df=float(f2.df[treatment]),
            cr2_p_value=float(f2.pvalues[treatment]),
        )
    if wild_bootstrap_B > 0:
        from fvdid.estimators.boottest import boottest

        bt = boottest(
            first,
            treatment,
            cluster,
            data=d0,
            B=wild_bootstrap_B,
            weights_type="webb",
            fixef_k="full",
            seed=seed,
            sign_level=alpha,
        )
        kw.update(boot_p_value=float(bt.p_value))
        if bt.conf_int is not None:
            kw.update(boot_conf_low=float(bt.conf_int[0]), boot_conf_high=float(bt.conf_int[1]))
    if logit_check and prep.outcome in BINARY and (protocol_model == "logit" or logit_check == "always"):
        try:
            from fvdid.estimators.logit import SeparationError, logit

            # The logit takes the fixed effects as dummies, so it needs a full-rank design:
            # only the covariates the linear fit could estimate (a covariate constant within LA
            # is collinear with the LA effects), and, in the stacked design, LA-within-pair as
            # a treatment-LA-within-pair indicator (pair_la and the time dummies both span the
            # pair intercepts). Time enters as pair x financial year: with a rare outcome,
            # pair x quarter cells without any event separate and the incidental parameters
            # multiply.
            cat = set(categorical)
            kept = [c for c in prep.covariates
                    if any(t == c or t.startswith(f"C({c})[") for t in first.params.index)]
            rhs = [treatment, *(f"C({c})" if c in cat else c for c in kept)]
            dl = d0
            if tuple(fixed_effects) == STACKED_FE:
                pid = d0["pair_id"].astype(str)
                dl = d0.assign(pair_tla=np.where(d0["treated_la"].astype(bool), pid, "0"),
                               pair_fy=pid + ":" + d0["financial_year"].astype(str))
                rhs += ["C(pair_fy)", "C(pair_tla)"]
            else:
                rhs += [f"C({c})" for c in fixed_effects]
            lr = None
            for _ in range(3):
                try:
                    lr = logit(f"{prep.outcome} ~ {' + '.join(rhs)}", dl, weights=weights,
                               vcov="CR1", cluster=cluster)
                    break
                except SeparationError as sep:
                    # As Stata's logit: rows whose outcome a term predicts perfectly carry no
                    # information for the other coefficients; leave them out and say so.
                    dl = dl.drop(index=sep.rows)
                    notes.append(f"logit: {len(sep.rows)} rows predicted perfectly by {sep.terms} "
                                 "left out (quasi-separation)")
            if lr is None:
                raise RuntimeError("quasi-separation persists after leaving out perfectly predicted rows")
            le, ls = float(lr.params[treatment]), float(lr.std_errors[treatment])
            # Same few-cluster reference as the linear model: t(G-1), not glm's normal.
            kw.update(logit_estimate=le, logit_std_error=ls,
                      logit_p_value=float(2 * stats.t.sf(abs(le / ls), G - 1)))
        except Exception as exc:  # report, never hide: a logit that fails is a finding
            notes.append(f"logit check failed: {type(exc).__name__}: {exc}")
    return OutcomeEstimate(
        outcome=prep.outcome,
        formula=formula,
        estimate=est,
        std_error=se,
        df=df,
        p_value=p,
        conf_low=est - tq * se,
        conf_high=est + tq * se,
        nobs=int(first.nobs),
        n_clusters=G,
        n_imputations=len(sets) if prep.imputed else 0,
        baseline_rate=baseline,
        protocol_model=protocol_model,
        weighted=weights is not None,
        df_resid=int(first.df_resid),
        notes=tuple(notes),
        table=first.tidy(),
        **kw,
    )


def primary_section(primary: OutcomeEstimate, protocol_literal: OutcomeEstimate | None,
                    truth: float | None, cfg: Any) -> Section:
    """The appendix section of the primary analysis."""
    paras = [f"Model (stacked matched pairs; pair_la = LA within pair, pair_time = {cfg.time_fe} within "
             f"pair): {primary.formula}; CEM-weighted: {primary.weighted}; errors clustered by LA "
             f"(G = {primary.n_clusters}); {primary.n_imputations} imputations pooled by Rubin's rules.",
             f"Baseline rate among comparison observations: {primary.baseline_rate:.2%}; the protocol's "
             f"5–95 % rule selects the {primary.protocol_model} model (the logit is reported as well)."]
    if truth is not None:
        paras.append(f"Simulated data: the true average effect among FV children is {truth:+.4f}.")
    if not dof_ok(primary.df_resid, cfg.sdc_threshold):
        paras.append("Residual degrees of freedom below the disclosure threshold: estimates withheld.")
    tabs = [AppendixTable("primary", f"Effect of FV on {cfg.primary_outcome}", primary.tidy())]
    if protocol_literal is not None:
        tabs.append(AppendixTable(
            "primary_pooled_fy",
            "The protocol's literal specification: pooled LA and financial-year fixed effects, CEM weights",
            protocol_literal.tidy()))
    return Section("Primary analysis", tuple(paras), tuple(tabs))
