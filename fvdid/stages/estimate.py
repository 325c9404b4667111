"""Stage ``estimate``: the protocol's regressions of an outcome on the FV indicator.

Protocol (Primary analysis)::

    Y_iat = b0 + b1 FV_iat + g X_iat + r Z_at + Year_t + LA_a + e_iat

CEM-weighted when matching weights are given, standard errors clustered by LA. With one treatment
LA per matched pair, the headline's inference is the pair-level t test of Ibragimov & Müller
(:mod:`fvdid.estimators.group_t`: t(q − 1) over the q independent pairs), whose variance contains
each treatment LA's own shocks; beside it CR1 with t(G-1), CR2 with Satterthwaite df and the wild
cluster bootstrap. The Monte Carlo study (``fvdid montecarlo``) measures each one's size on the
design. With missing covariates imputed, the m fits are pooled by Rubin's rules. The protocol's
model rule (footnote 21): the linear model when the baseline rate lies in 5-95 %, else logit;
both are reported and the rule's choice is flagged.

The module is over 500 lines because :class:`OutcomeEstimate` holds, field by field, every
estimator × inference method of the headline (the names ``results.json`` publishes); the
estimators themselves live in :mod:`fvdid.estimators` and :mod:`fvdid.stages.headline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.config import LOGIT_PERIODS
from fvdid.errors import FvdidInputError
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.sdc import dof_ok, release_count
from fvdid.stages.prepare import Prepared

__all__ = ["STACKED_FE", "OutcomeEstimate", "estimate_outcome", "headline_sentence", "primary_section", "regression_formula", "stack_pairs"]

BINARY = {"looked_after_18m", "cpp_12m", "kinship_first_placement", "reunified_18m"}

STACKED_FE: tuple[str, str] = ("pair_la", "pair_time")
"""Fixed effects of the stacked matched-pair design: LA within pair and period within pair."""

LOGIT_PERIOD: str = "pair_fy"
"""Time terms of the logit's counterfactual model in the stacked design: ``"pair_fy"``
(pair × financial-year dummies, the protocol's time effects), ``"pair_fy_trend"`` (those plus a
linear trend in quarters within each pair), ``"pair_fy_season"`` (those plus pair ×
quarter-of-year dummies) or ``"pair_time"`` (pair × quarter dummies, as the
linear model). Pair × quarter is fitted as a check (``logit_ame_alt_*``).

Measured on 73 replications of the default design (the study's design seeds 2-74, paired; with
the second-order correction), error against the matched truth, MCSE in brackets, SD across
replications: on the simulator's noise-free probabilities (misspecification alone) year dummies
+0.0009 (0.0010), SD 0.0087; with the within-pair trend -0.0008 (0.0013), SD 0.0107; half-year
dummies -0.0008 (0.0009), SD 0.0078; quarter dummies -0.0001 (0.0003), SD 0.0025. On the observed
outcomes: years +0.0012 (0.0011), SD 0.0095; trend -0.0009 (0.0013), SD 0.0111; half years
-0.0007 (0.0014), SD 0.0116; quarters +0.0016 (0.0012), SD 0.0102. The trend and half years
remove the years' small mean error on most replications but fail badly on some (replication 65: -0.079
and -0.053 noise-free, where years err by -0.035 and quarters by -0.003), so neither is the
default.

On 400 design replications (2-401, paired; ``validation/diagnostics/logit_golive_year.py`` and
``logit_within_year.py``) the years' error, +0.0012 (0.0005), is a misspecification (noise-free
+0.0005 (0.0004)) plus the finite-sample error the second-order correction leaves (+0.0007
(0.0003); the correction itself moves the AME by +0.0017 (0.0004) on 2-201). Splitting the
go-live year at go-live removes the misspecification (-0.0005 (0.0004), 2-201) but its
after-go-live period rests on one comparison LA's few events (SD 0.033; the correction fails
there). ``"pair_fy_season"`` (pair × financial-year dummies plus pair × quarter-of-year dummies:
each pair's within-year profile from every year of both LAs) reduces the misspecification by
-0.0010 (0.0003) and overshoots; on the observed outcomes its error is +0.0007 (0.0005), paired
-0.0005 (0.0004) against the years (the first 200 replications showed -0.0012 (0.0007), the next
200 +0.0003 (0.0005)), with SD 0.0108 against 0.0092: an option, not the default. The linear
interaction-weighted estimate: +0.0007 (0.0004) on these 400, SD 0.0077 (unbiased on the study's
1,000).

Not quarter dummies: with a 3 % outcome and small comparison LAs, a quarter's period effect
rests on a handful of comparison events and the treatment LA's odds ratio on a short
pre-period; the logit's nonlinearity turns that noise into bias (on 69 replications of the
default design the uncorrected AME with quarter periods lay 0.0035 (MCSE 0.0011) below the
linear estimate; the second-order correction over-shot, +0.0018 (0.0009), with a heavy tail
where a pair's pre-period held two comparison events).
"""

LOGIT_BIAS_CORRECTION: bool | str = True
"""Remove the second-order (Cox–Snell) bias of the logit's predicted counterfactuals (see
:func:`fvdid.stages.logit_ame.logit_imputation_ame`; ``"firth"`` uses Firth's penalised
likelihood instead). Firth was tried on 200 design replications
(``validation/diagnostics/logit_firth.py``). With the year terms it moved the AME by
+0.00045 (MCSE 0.00008) against Cox–Snell, away from the truth; with quarter terms it was
60 % noisier. So it is not the default."""


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
    out["pair_la"] = _joined(out["pair_id"], out["la_code"])
    out["pair_time"] = _joined(out["pair_id"], out[time])
    return out


def _joined(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a.astype(str) + ":" + b.astype(str)``, each distinct (a, b) formatted once."""
    def plain(s: pd.Series) -> bool:  # no missing value; an object column of strings only
        return not s.isna().any() and (s.dtype != object or pd.api.types.infer_dtype(s) == "string")

    if not (plain(a) and plain(b)):  # (1 and True would share a code; NA prints by its kind)
        return a.astype(str) + ":" + b.astype(str)
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    combo, inv = np.unique(ca.astype(np.int64) * max(len(ub), 1) + cb, return_inverse=True)
    sa = pd.Series(ua).astype(str).to_numpy(dtype=object)
    sb = pd.Series(ub).astype(str).to_numpy(dtype=object)
    lab = sa[combo // max(len(ub), 1)] + ":" + sb[combo % max(len(ub), 1)]
    return pd.Series(lab[inv.reshape(-1)], index=a.index, dtype=object)


NAN = float("nan")

#: Inference methods of the linear (interaction-weighted) estimate, as ``tidy()`` labels them.
METHODS = {
    "CR1_tG-1": "CR1, t(G−1)",
    "CR1_cell_tG-1": "CR1 of the cell model, t(G−1) (treated LAs' deviations absorbed)",
    "CR2_satterthwaite": "CR2 (Bell–McCaffrey), Satterthwaite df",
    "WCR_webb": "wild cluster bootstrap, restricted (WCR), Webb weights",
    "WCU_webb": "wild cluster bootstrap, unrestricted (WCU), Webb weights",
    "IM_pairs_tq-1": "pair-level t test (Ibragimov–Müller), t(q−1) over the independent pairs",
    "IM_pairs_equal_tq-1": "pair-level t test of no effect, pairs weighted equally, t(q−1) "
                           "(estimate: the unweighted mean of the pairs' effects)",
    "WSCB_webb": "wild subcluster bootstrap (weights by LA × financial year, errors by LA), restricted, Webb",
}


_PERIOD_LABEL = {"pair_time": "quarter", "pair_fy": "financial-year",
                 "pair_fy_trend": "financial-year", "pair_fy_season": "financial-year",
                 "tla_time": "quarter", "tla_fy": "financial-year"}
_PERIOD_TERMS_LABEL = {"pair_time": "pair × quarter dummies", "pair_fy": "pair × financial-year dummies",
                       "pair_fy_trend": "pair × financial-year dummies and a linear trend in "
                                        "quarters within each pair",
                       "pair_fy_season": "pair × financial-year and pair × quarter-of-year dummies",
                       "tla_time": "treatment LA × quarter dummies, shared by the stacks of the "
                                   "treatment LA's comparators",
                       "tla_fy": "treatment LA × financial-year dummies, shared by the stacks of "
                                 "the treatment LA's comparators"}
# fvdid.config.LOGIT_PERIODS: the logit's time terms estimate_outcome accepts (logit_period;
# see LOGIT_PERIOD). "tla_*" are the grouped design: the time terms are shared by every stack of
# one treatment LA, and LA-within-treatment-LA dummies replace the treatment LA's dummy within
# each pair, so with several comparators per treatment LA (LA matching's la_n_comparators) each
# period term rests on all of their comparison events.
if set(_PERIOD_LABEL) != set(LOGIT_PERIODS):  # pragma: no cover - the option's schema is wrong
    raise RuntimeError("fvdid.config.LOGIT_PERIODS and the logit's period labels disagree")

_ALT_PERIOD = {"pair_time": "pair_fy", "tla_time": "tla_fy", "tla_fy": "tla_time"}
"""The period terms of the logit's check (``logit_ame_alt_*``) for each headline choice (pair ×
quarter for any other)."""


def _period_unit(period: str) -> str:
    """``"pair"`` or ``"treatment LA"``: what the logit's time terms are crossed with."""
    return "treatment LA" if period.startswith("tla_") else "pair"


def grouped_terms(d0: pd.DataFrame) -> pd.DataFrame:
    """The grouped design's columns on a stacked frame (``pair_id``, ``la_code``, ``treated_la``,
    ``financial_year``, ``referral_quarter``).

    ``tla_fy`` and ``tla_time``: treatment LA × financial year and × referral quarter, shared by
    the stacks of that treatment LA's comparators; ``tla_la``: LA within treatment LA, with the
    treatment LA's first comparator by code as the reference level ``"-"`` (the time terms span
    each treatment LA's intercept). Raises when a pair has no treatment-LA row.
    """
    treated = d0["treated_la"].astype(bool)
    tla = d0.loc[treated].groupby("pair_id")["la_code"].first()
    g = d0["pair_id"].map(tla)
    if g.isna().any():
        bad = sorted(d0.loc[g.isna(), "pair_id"].unique().tolist())
        raise FvdidInputError(f"grouped logit time terms: pair(s) {bad[:10]} have no row of their "
                              "treatment LA (treated_la = 1), so their treatment LA is unknown")
    g = g.astype(str)
    la = d0["la_code"].astype(str)
    ref = la[~treated].groupby(g[~treated]).min()
    return d0.assign(tla_fy=g + "|" + d0["financial_year"].astype(str),
                     tla_time=g + "|" + d0["referral_quarter"].astype(str),
                     tla_la=np.where(la.to_numpy() == g.map(ref).to_numpy(), "-", g + "|" + la))


@dataclass(frozen=True)
class OutcomeEstimate(ResultMixin):
    """The effect of FV on one outcome, with every inference method side by side.

    The headline (``estimate``, ``std_error``, ``df``, ``p_value``, ``conf_low``,
    ``conf_high``) is the model the protocol's rule selects (footnote 21, ``headline_model``):
    for a binary outcome whose comparison baseline lies outside 5–95 %, the logit's average
    marginal effect among FV children (proportion scale; ``estimate_pp`` in percentage points);
    otherwise the linear model's interaction-weighted estimate (:mod:`fvdid.stages.headline`:
    pair × period cell effects averaged with the cells' shares of FV children), Rubin-pooled over
    the imputations. When the rule's logit cannot be fitted the headline falls back to the linear
    model and ``headline_note`` says why. Its inference (``headline_inference``) is the
    pair-level t test (``IM_pairs_tq-1``: the same estimate as Σ_p W_p θ_p, t(q − 1) over the
    independent pairs, ``pairs_*``) when the stacked design gives at least two pairs, else CR1
    with t(G−1); the headline's CR1 (delta method for the logit) stays in ``headline_cr1_*``.

    Beside it: the linear interaction-weighted estimate (``linear_*``: CR1 from the residuals of
    the common-effect model, :func:`fvdid.stages.headline.common_effect_cr1`; ``linear_cell_*``:
    the cell model's own CR1, which cannot see the treated LAs' deviations) with CR2 /
    Satterthwaite (``cr2_*``, cell model) and the wild cluster bootstrap (``boot_*``
    restricted, ``wcu_*`` unrestricted, ``wscb_*`` the restricted wild subcluster bootstrap with
    weights by LA-within-pair × financial year),
    the pooled single ``fv`` coefficient (``pooled_*``, a check: it weights pairs and periods by
    the variance of ``fv``), and the logit's log-odds ratio (``logit_*``) and AME
    (``logit_ame*``; ``logit_method`` ``"imputation"``: the logit with an effect for every FV
    child, whose log-odds ratio is the marginal one among FV children, or ``"coefficient"``: one
    FV coefficient, a check; ``logit_ame_alt*``: the same AME with the other period dummies,
    ``logit_alt_period``, a check). The pair-level t test of the linear estimate and of the logit's AME are in
    ``linear_pairs_*`` and ``logit_ame_pairs_*``; the same test with the pairs weighted equally
    (a test of no effect in any pair, without the FV-weighted test's power bound; its estimate is
    the unweighted mean of the pairs' effects) in ``pairs_equal_*`` (the headline's model),
    ``linear_pairs_equal_*`` and ``logit_ame_pairs_equal_*``; ``pair_effects`` holds the
    headline's pair (group) estimates and weights. CR2 and the bootstraps use the first completed
    data set.
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
    headline_model: str = "linear"
    headline_note: str = ""
    headline_inference: str = "CR1_tG-1"
    headline_cr1_std_error: float = NAN
    headline_cr1_df: float = NAN
    headline_cr1_p_value: float = NAN
    headline_cr1_conf_low: float = NAN
    headline_cr1_conf_high: float = NAN
    estimate_pp: float = NAN
    linear_estimate: float = NAN
    linear_std_error: float = NAN
    linear_df: float = NAN
    linear_p_value: float = NAN
    linear_conf_low: float = NAN
    linear_conf_high: float = NAN
    linear_cell_std_error: float = NAN
    linear_cell_df: float = NAN
    linear_cell_p_value: float = NAN
    linear_cell_conf_low: float = NAN
    linear_cell_conf_high: float = NAN
    pooled_estimate: float = NAN
    pooled_std_error: float = NAN
    pooled_df: float = NAN
    pooled_p_value: float = NAN
    pooled_conf_low: float = NAN
    pooled_conf_high: float = NAN
    boot_p_value: float = NAN
    boot_conf_low: float = NAN
    boot_conf_high: float = NAN
    wcu_p_value: float = NAN
    wcu_conf_low: float = NAN
    wcu_conf_high: float = NAN
    wscb_p_value: float = NAN
    wscb_conf_low: float = NAN
    wscb_conf_high: float = NAN
    cr2_std_error: float = NAN
    cr2_df: float = NAN
    cr2_p_value: float = NAN
    cr2_conf_low: float = NAN
    cr2_conf_high: float = NAN
    logit_estimate: float = NAN
    logit_std_error: float = NAN
    logit_p_value: float = NAN
    logit_ame: float = NAN
    logit_ame_std_error: float = NAN
    logit_ame_p_value: float = NAN
    logit_ame_conf_low: float = NAN
    logit_ame_conf_high: float = NAN
    pairs_std_error: float = NAN
    pairs_df: float = NAN
    pairs_p_value: float = NAN
    pairs_conf_low: float = NAN
    pairs_conf_high: float = NAN
    linear_pairs_std_error: float = NAN
    linear_pairs_df: float = NAN
    linear_pairs_p_value: float = NAN
    linear_pairs_conf_low: float = NAN
    linear_pairs_conf_high: float = NAN
    logit_ame_pairs_std_error: float = NAN
    logit_ame_pairs_df: float = NAN
    logit_method: str = ""
    logit_period: str = ""
    logit_alt_period: str = ""
    logit_ame_alt: float = NAN
    logit_ame_alt_std_error: float = NAN
    logit_ame_alt_p_value: float = NAN
    logit_ame_alt_conf_low: float = NAN
    logit_ame_alt_conf_high: float = NAN
    logit_ame_alt_pairs_std_error: float = NAN
    logit_ame_alt_pairs_df: float = NAN
    logit_ame_alt_pairs_p_value: float = NAN
    logit_ame_alt_pairs_conf_low: float = NAN
    logit_ame_alt_pairs_conf_high: float = NAN
    logit_ame_pairs_p_value: float = NAN
    logit_ame_pairs_conf_low: float = NAN
    logit_ame_pairs_conf_high: float = NAN
    pairs_equal_estimate: float = NAN
    pairs_equal_std_error: float = NAN
    pairs_equal_p_value: float = NAN
    linear_pairs_equal_estimate: float = NAN
    linear_pairs_equal_std_error: float = NAN
    linear_pairs_equal_p_value: float = NAN
    logit_ame_pairs_equal_estimate: float = NAN
    logit_ame_pairs_equal_std_error: float = NAN
    logit_ame_pairs_equal_p_value: float = NAN
    n_pair_groups: int = 0
    pair_effects: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    n_fv_estimand: float = NAN
    n_fv_unidentified: float = NAN
    df_resid: int = 0
    notes: tuple[str, ...] = ()
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def inference(self) -> pd.DataFrame:
        """Every estimator × inference method: estimate, std_error, df, p_value, interval."""
        rows = [
            ("headline", f"{self.headline_model}: CR1, t(G−1)", self.estimate,
             self.headline_cr1_std_error, self.headline_cr1_df, self.headline_cr1_p_value,
             self.headline_cr1_conf_low, self.headline_cr1_conf_high),
            ("headline", f"{self.headline_model}: " + METHODS["IM_pairs_tq-1"], self.estimate,
             self.pairs_std_error, self.pairs_df, self.pairs_p_value, self.pairs_conf_low,
             self.pairs_conf_high),
            ("headline", f"{self.headline_model}: " + METHODS["IM_pairs_equal_tq-1"],
             self.pairs_equal_estimate, self.pairs_equal_std_error, self.pairs_df,
             self.pairs_equal_p_value, NAN, NAN),
            ("linear, interaction-weighted", METHODS["IM_pairs_tq-1"], self.linear_estimate,
             self.linear_pairs_std_error, self.linear_pairs_df, self.linear_pairs_p_value,
             self.linear_pairs_conf_low, self.linear_pairs_conf_high),
            ("linear, interaction-weighted", METHODS["IM_pairs_equal_tq-1"],
             self.linear_pairs_equal_estimate, self.linear_pairs_equal_std_error,
             self.linear_pairs_df, self.linear_pairs_equal_p_value, NAN, NAN),
            ("linear, interaction-weighted", METHODS["CR1_tG-1"], self.linear_estimate,
             self.linear_std_error, self.linear_df, self.linear_p_value, self.linear_conf_low,
             self.linear_conf_high),
            ("linear, interaction-weighted", METHODS["CR1_cell_tG-1"], self.linear_estimate,
             self.linear_cell_std_error, self.linear_cell_df, self.linear_cell_p_value,
             self.linear_cell_conf_low, self.linear_cell_conf_high),
            ("linear, interaction-weighted", METHODS["CR2_satterthwaite"], self.linear_estimate,
             self.cr2_std_error, self.cr2_df, self.cr2_p_value, self.cr2_conf_low, self.cr2_conf_high),
            ("linear, interaction-weighted", METHODS["WCR_webb"], self.linear_estimate, NAN, NAN,
             self.boot_p_value, self.boot_conf_low, self.boot_conf_high),
            ("linear, interaction-weighted", METHODS["WCU_webb"], self.linear_estimate, NAN, NAN,
             self.wcu_p_value, self.wcu_conf_low, self.wcu_conf_high),
            ("linear, interaction-weighted", METHODS["WSCB_webb"], self.linear_estimate, NAN, NAN,
             self.wscb_p_value, self.wscb_conf_low, self.wscb_conf_high),
            ("linear, pooled fv coefficient", METHODS["CR1_tG-1"], self.pooled_estimate,
             self.pooled_std_error, self.pooled_df, self.pooled_p_value, self.pooled_conf_low,
             self.pooled_conf_high),
            ("logit, AME among FV children", METHODS["CR1_tG-1"] + " (delta method)", self.logit_ame,
             self.logit_ame_std_error, float(self.n_clusters - 1), self.logit_ame_p_value,
             self.logit_ame_conf_low, self.logit_ame_conf_high),
            ("logit, AME among FV children", METHODS["IM_pairs_tq-1"], self.logit_ame,
             self.logit_ame_pairs_std_error, self.logit_ame_pairs_df, self.logit_ame_pairs_p_value,
             self.logit_ame_pairs_conf_low, self.logit_ame_pairs_conf_high),
            (f"logit, AME among FV children, {_period_unit(self.logit_alt_period)} × "
             f"{_PERIOD_LABEL.get(self.logit_alt_period, '')} periods (check)", METHODS["IM_pairs_tq-1"], self.logit_ame_alt,
             self.logit_ame_alt_pairs_std_error, self.logit_ame_alt_pairs_df,
             self.logit_ame_alt_pairs_p_value, self.logit_ame_alt_pairs_conf_low,
             self.logit_ame_alt_pairs_conf_high),
            ("logit, log-odds ratio" if self.logit_method != "imputation" else
             "logit, marginal log-odds ratio among FV children", METHODS["CR1_tG-1"]
             + (" (delta method)" if self.logit_method == "imputation" else ""),
             self.logit_estimate, self.logit_std_error,
             float(self.n_clusters - 1), self.logit_p_value, NAN, NAN),
        ]
        cols = ["estimator", "inference", "estimate", "std_error", "df", "p_value", "conf_low", "conf_high"]
        out = pd.DataFrame(rows, columns=cols)
        return out[out["estimate"].notna() & (out["std_error"].notna() | out["p_value"].notna())].reset_index(drop=True)

    def tidy(self) -> pd.DataFrame:
        return self.inference()


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


def _pp(outcome: str, value: float) -> float:
    """The effect in percentage points: binary outcomes × 100; the absence rate is a percentage."""
    if outcome in BINARY:
        return 100.0 * value
    if outcome == "unauth_absence_rate":
        return value
    return NAN


def _pair_trends(d0: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add one column per pair: its rows' quarter (in years, centred), 0 on other pairs' rows."""
    q = pd.PeriodIndex(d0["referral_quarter"], freq="Q").asi8.astype(float)
    t = (q - q.mean()) / 4.0
    pid = d0["pair_id"].astype(str).to_numpy()
    names, cols = [], {}
    for i, p in enumerate(sorted(set(pid))):
        name = f"_pair_trend_{i}"
        cols[name] = np.where(pid == p, t, 0.0)
        names.append(name)
    return d0.assign(**cols), names


def _pair_seasons(d0: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add pair × quarter-of-year indicators: per pair, one column for each of the calendar quarters
    2-4 (quarter 1 the reference), 1 on that pair's rows referred in that quarter of the year.

    Beside pair × financial-year dummies they give each pair its own average within-year profile
    (seasonality, and the within-year part of the pair's trend), estimated from every year of both
    of its LAs rather than from one year's comparison LA alone.
    """
    qoy = pd.PeriodIndex(d0["referral_quarter"], freq="Q").quarter.to_numpy()
    pid = d0["pair_id"].astype(str).to_numpy()
    names, cols = [], {}
    for i, p in enumerate(sorted(set(pid))):
        for q in (2, 3, 4):
            name = f"_pair_season_{i}_q{q}"
            cols[name] = ((pid == p) & (qoy == q)).astype(float)
            names.append(name)
    return d0.assign(**cols), names


@dataclass(frozen=True)
class _Coefficients:
    """What :func:`fvdid.stages.headline.pool_term` reads of a fit: its coefficients and SEs."""

    params: pd.Series
    std_errors: pd.Series


def _outcome_of(fn: Any) -> tuple[bool, Any]:
    """``(True, fn())``, or ``(False, the exception)`` to be raised by :func:`_value` later."""
    try:
        return True, fn()
    except Exception as exc:  # re-raised where the value is used
        return False, exc


def _value(outcome: tuple[bool, Any]) -> Any:
    ok, value = outcome
    if not ok:
        raise value
    return value


def _logit_rhs(d0: pd.DataFrame, first: Any, covariates: Sequence[str], categorical: Sequence[str],
               treatment: str, fixed_effects: Sequence[str], period: str = "pair_fy"
               ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The logit's full-rank design: fixed effects as dummies, only estimable covariates.

    A covariate constant within LA is collinear with the LA effects; in the stacked design
    LA-within-pair enters as a treatment-LA-within-pair indicator (pair_la and the time dummies
    both span the pair intercepts) and time as ``period`` (pair × financial year by default, as
    the single-coefficient check uses it; the headline's logit passes its ``logit_period``).
    With a grouped ``period`` (``"tla_*"``, :func:`grouped_terms`) the time terms are the
    treatment LA's, shared by its stacks, and LA-within-treatment-LA dummies take the treatment
    LA's place. Returns the data, the right-hand side (treatment, covariates, then the
    fixed-effect terms) and the fixed-effect terms (the rhs's last ones: time terms, then the
    treatment LA's or the LAs' within treatment LA).
    """
    cat = set(categorical)
    kept = [c for c in covariates if any(t == c or t.startswith(f"C({c})[") for t in first.params.index)]
    rhs = [treatment, *(f"C({c})" if c in cat else c for c in kept)]
    if tuple(fixed_effects) == STACKED_FE:
        if period not in _PERIOD_LABEL:
            raise FvdidInputError(f"logit period must be one of {sorted(_PERIOD_LABEL)}, got {period!r}")
        if period.startswith("tla_"):
            fe = [f"C({period})", "C(tla_la)"]
            return grouped_terms(d0), [*rhs, *fe], fe
        pid = d0["pair_id"].astype(str)
        d0 = d0.assign(pair_tla=np.where(d0["treated_la"].astype(bool), pid, "-"),
                       pair_fy=_joined(d0["pair_id"], d0["financial_year"]))
        fe = [f"C({period.removesuffix('_trend').removesuffix('_season')})"]
        if period.endswith("_trend"):
            d0, trends = _pair_trends(d0)
            fe += trends
        elif period.endswith("_season"):
            d0, seasons = _pair_seasons(d0)
            fe += seasons
        fe.append("C(pair_tla)")
        return d0, [*rhs, *fe], fe
    fe = [f"C({c})" for c in fixed_effects]
    return d0, [*rhs, *fe], fe


def _equal_pairs(prefix: str, notes: list[str], test: Any) -> dict[str, float]:
    """The pair-level t test with the pairs weighted equally (``pairs_test(weighting="equal")``)."""
    from fvdid.stages import attempt

    eq = attempt(notes, "pair-level t test of no effect with the pairs weighted equally", test)
    if eq is None:
        return {}
    return {f"{prefix}equal_estimate": eq.estimate, f"{prefix}equal_std_error": eq.std_error,
            f"{prefix}equal_p_value": eq.p_value}


def _logit_alt_check(dl: pd.DataFrame, lrhs: list[str], lfe: list[str], outcome: str, *,
                     treatment: str, weights: str | None, cluster: str, n_clusters: int,
                     alpha: float, notes: list[str], period: str = LOGIT_PERIOD) -> dict[str, Any]:
    """The logit's AME with the other period dummies as its time terms (:data:`_ALT_PERIOD`:
    pair × quarter, or pair × financial year when the headline's ``period`` is pair × quarter;
    the other grouped terms for a grouped ``period``), as a check."""
    from fvdid.stages import attempt
    from fvdid.stages.headline import pairs_test
    from fvdid.stages.logit_ame import logit_imputation_ame

    alt = _ALT_PERIOD.get(period, "pair_time")
    fe = [f"C({alt})", lfe[-1]]
    rhs = [*lrhs[1:-len(lfe)], *fe]
    label = _PERIOD_LABEL[alt]
    fit = attempt(notes, f"logit check with {_period_unit(alt)} × {label} periods", lambda: logit_imputation_ame(
        dl, outcome, rhs, treatment=treatment, weights=weights, cluster=cluster,
        n_clusters=n_clusters, alpha=alpha, group="pair_id", fixed_effects=fe,
        bias_correction=LOGIT_BIAS_CORRECTION))
    if fit is None:
        return {}
    out: dict[str, Any] = {"logit_alt_period": alt, "logit_ame_alt": fit.ame,
                           "logit_ame_alt_std_error": fit.ame_std_error,
                           "logit_ame_alt_p_value": fit.p_value, "logit_ame_alt_conf_low": fit.conf_low,
                           "logit_ame_alt_conf_high": fit.conf_high}
    if fit.groups is not None:
        pt = attempt(notes, f"pair-level t test of the logit check with pair × {label} periods",
                     lambda: pairs_test([fit.groups], dl, alpha=alpha))
        if pt is not None:
            out.update({f"logit_ame_alt_pairs_{k}": getattr(pt, k)
                        for k in ("std_error", "df", "p_value", "conf_low", "conf_high")})
    return out


def estimate_outcome(
    prep: Prepared,
    *,
    categorical: Sequence[str],
    weights: str | None = None,
    cluster: str = "la_code",
    treatment: str = "fv",
    fixed_effects: Sequence[str] = ("la_code", "financial_year"),
    alpha: float = 0.05,
    cr2: bool = True,
    wild_bootstrap_B: int = 0,
    logit_check: bool | Literal["always"] = True,
    logit_alt_check: bool = True,
    logit_period: str = LOGIT_PERIOD,
    seed: int = 0,
) -> OutcomeEstimate:
    """Estimate the effect of FV on ``prep.outcome``: the headline and every check beside it.

    Parameters
    ----------
    prep
        The prepared analytic sample (and imputations). In the stacked matched-pair design
        (``fixed_effects == STACKED_FE``) the linear estimate is interaction-weighted over
        pair × period cells; otherwise it is the single ``treatment`` coefficient.
    categorical
        Covariates entered as dummies.
    weights
        Column of CEM weights (rows with weight 0 are dropped by :func:`fvdid.ols` and counted).
    cluster
        Cluster column (the LA).
    cr2
        Also compute CR2 / Satterthwaite on the first completed data set.
    wild_bootstrap_B
        Wild cluster bootstrap draws (WCR and WCU, Webb weights) on the first completed data set
        (0: none).
    logit_check
        Fit the logit for binary outcomes whose baseline rate lies outside 5-95 % (the
        protocol's rule, footnote 21); ``"always"`` fits it for every binary outcome.
    logit_alt_check
        Also fit the logit's check with the other period terms (``logit_ame_alt_*``); a Monte
        Carlo study of the headline's inference alone may leave it out.
    logit_period
        Time terms of the logit's counterfactual model in the stacked design, one of
        :data:`fvdid.config.LOGIT_PERIODS` (default :data:`LOGIT_PERIOD`; ``"tla_time"``: treatment LA ×
        quarter terms shared by the treatment LA's stacks, for several comparators per
        treatment LA).
    seed
        Seed of the bootstraps.
    """
    from fvdid.estimators.ols import cr2_of, ols
    from fvdid.stages import attempt
    from fvdid.stages.headline import (
        CELL,
        THETA,
        Pooled,
        cell_design,
        common_effect_cr1,
        event_cells,
        pair_estimates,
        pairs_test,
        pool_term,
        t_inference,
    )
    from fvdid.stages.logit_ame import logit_ame, logit_imputation_ame

    formula = regression_formula(
        prep.outcome,
        prep.covariates,
        [c for c in categorical if c in prep.covariates],
        treatment=treatment,
        fixed_effects=fixed_effects,
    )
    sets = _complete_sets(prep)
    fits = [ols(formula, d, weights=weights, vcov="CR1", cluster=cluster, alpha=alpha) for d in sets]
    first = fits[0]
    notes = list(first.notes)
    G = int(first.n_clusters or 0)
    pooled = pool_term(fits, treatment, G, alpha)
    kw: dict[str, Any] = {f"pooled_{k}": getattr(pooled, k)
                          for k in ("estimate", "std_error", "df", "p_value", "conf_low", "conf_high")}
    d0 = sets[0]
    baseline = float(d0.loc[d0[treatment] == 0, prep.outcome].mean())
    protocol_model = "linear" if 0.05 <= baseline <= 0.95 or prep.outcome not in BINARY else "logit"

    # The linear model: interaction-weighted over pair x period cells in the stacked design.
    lin_fit, lin_data, term = first, d0, treatment
    lin_pairs = lg_pairs = None
    linear = pooled
    if tuple(fixed_effects) == STACKED_FE:
        # One imputation at a time: its cell design, fit, common-effect CR1 and pair table; only
        # the first imputation's fit and design are kept whole (CR2, the bootstraps and the logit
        # read them), the others' coefficients alone (each design is the whole stacked sample
        # with its cell regressors: at 1M children holding every imputation's at once was most
        # of the analysis's memory). A failure of the common-effect CR1 or of a pair table is
        # raised where it was when every imputation was fitted first.
        cats = [c for c in categorical if c in prep.covariates]
        iw: list[Any] = []
        ses: list[Any] = []
        tables: list[Any] = []
        for i, (d, pf) in enumerate(zip(sets, fits, strict=True)):
            cd = cell_design(event_cells(d, treatment=treatment), cell=CELL,
                             treatment=treatment, weights=weights)
            f_iw = regression_formula(prep.outcome, prep.covariates, cats,
                                      treatment=" + ".join(cd.terms), fixed_effects=fixed_effects)
            fit = ols(f_iw, cd.data, weights=weights, vcov="CR1", cluster=cluster, alpha=alpha)
            ses.append(_outcome_of(lambda fit=fit, pf=pf, cd=cd: common_effect_cr1(fit, pf, cd.data, cluster)))
            tables.append(_outcome_of(lambda fit=fit, cd=cd: pair_estimates(fit, cd)))
            if i == 0:
                lin_fit, first_design = fit, cd
                iw.append(fit)
            else:
                iw.append(_Coefficients(fit.params, fit.std_errors))
            del cd, fit
        cell = pool_term(iw, THETA, G, alpha)
        kw.update({f"linear_cell_{k}": getattr(cell, k)
                   for k in ("std_error", "df", "p_value", "conf_low", "conf_high")})
        linear = pool_term(iw, THETA, G, alpha, std_errors=[_value(v) for v in ses])
        lin_data, term = first_design.data, THETA
        lin_label = "pair-level t test of the linear model"
        lin_tables = attempt(notes, lin_label, lambda: [_value(t) for t in tables])
        lin_pairs = None if lin_tables is None else attempt(notes, lin_label, lambda: pairs_test(
            lin_tables, d0, alpha=alpha))
        if lin_pairs is not None:
            kw.update({f"linear_pairs_{k}": getattr(lin_pairs, k)
                       for k in ("std_error", "df", "p_value", "conf_low", "conf_high")})
            kw.update(_equal_pairs("linear_pairs_", notes, lambda: pairs_test(
                lin_tables, d0, alpha=alpha, weighting="equal")))
        kw.update(n_fv_estimand=float(first_design.cells["n_fv"].sum()),
                  n_fv_unidentified=first_design.n_fv_unidentified)
        if first_design.n_fv_unidentified > 0:
            notes.append(f"{first_design.n_fv_unidentified:.0f} FV rows in periods without comparison "
                         "children identify no effect and are left out of the estimand")
    # from here on only the first imputation's pooled fit is read: the others' n x k designs
    # are released before the logit builds its own
    del fits[1:]
    kw.update({f"linear_{k}": getattr(linear, k)
               for k in ("estimate", "std_error", "df", "p_value", "conf_low", "conf_high")})
    if cr2:
        # from the first imputation's fit itself: the numbers of a CR2 refit of its model
        se_2, df_2 = cr2_of(lin_fit, [term])
        se2, df2 = float(se_2[term]), float(df_2[term])
        p2, lo2, hi2 = t_inference(linear.estimate, se2, df2, alpha)
        kw.update(cr2_std_error=se2, cr2_df=df2, cr2_p_value=p2, cr2_conf_low=lo2, cr2_conf_high=hi2)
    if wild_bootstrap_B > 0:
        from fvdid.estimators.boottest import boottest

        for prefix, impose in (("boot", True), ("wcu", False)):
            bt = boottest(lin_fit, term, cluster, data=lin_data, B=wild_bootstrap_B,
                          weights_type="webb", fixef_k="full", seed=seed, alpha=alpha,
                          impose_null=impose)
            kw[f"{prefix}_p_value"] = float(bt.p_value)
            if bt.conf_int is not None:
                kw[f"{prefix}_conf_low"], kw[f"{prefix}_conf_high"] = (float(bt.conf_int[0]),
                                                                     float(bt.conf_int[1]))
        if "financial_year" in lin_data and "pair_la" in lin_data:
            # The wild subcluster bootstrap (MacKinnon & Webb 2018): weights drawn per LA-within-
            # pair x financial year while the CR1 errors stay clustered by LA.
            sub = lin_data.assign(_subcluster=lin_data["pair_la"].astype(str) + "|"
                                  + lin_data["financial_year"].astype(str))
            bt = boottest(lin_fit, term, cluster, data=sub, B=wild_bootstrap_B, weights_type="webb",
                          fixef_k="full", seed=seed, alpha=alpha, impose_null=True,
                          bootcluster="_subcluster")
            kw["wscb_p_value"] = float(bt.p_value)
            if bt.conf_int is not None:
                kw["wscb_conf_low"], kw["wscb_conf_high"] = float(bt.conf_int[0]), float(bt.conf_int[1])

    # The protocol's logit, and its AME among FV children.
    lg = None
    cells_failed = False
    if logit_check and prep.outcome in BINARY and (protocol_model == "logit" or logit_check == "always"):
        if tuple(fixed_effects) == STACKED_FE:
            # The logit with an effect for every FV child: fitted on the rows not under FV, each
            # FV child's counterfactual predicted (covariates: those estimable beside the linear
            # cell model, whose fixed effects span the logit's).
            dl, lrhs, lfe = _logit_rhs(d0, lin_fit, prep.covariates, categorical, treatment,
                                       fixed_effects, period=logit_period)
            lg = attempt(notes, "logit with an effect for every FV child", lambda: logit_imputation_ame(
                dl, prep.outcome, lrhs[1:], treatment=treatment, weights=weights, cluster=cluster,
                n_clusters=G, alpha=alpha, group="pair_id", fixed_effects=lfe,
                bias_correction=LOGIT_BIAS_CORRECTION))
            if lg is None:
                # One FV log-odds ratio shared by every pair: its pairs' AMEs are not separate
                # estimates (their spread is the spread of baseline risks), so no pair-level
                # test is formed from them and the headline falls back to the linear model.
                cells_failed = True
                notes.append("the logit's AME uses a single FV coefficient instead (its effects "
                             "per FV child are not identified on these data); it is reported as a "
                             "check without a pair-level test")
                dl, lrhs, lfe = _logit_rhs(d0, first, prep.covariates, categorical, treatment,
                                           fixed_effects)
        else:
            dl, lrhs, lfe = _logit_rhs(d0, first, prep.covariates, categorical, treatment, fixed_effects)
        if lg is None:
            lg = attempt(notes, "logit", lambda: logit_ame(
                dl, prep.outcome, lrhs, treatment=treatment, weights=weights, cluster=cluster,
                n_clusters=G, alpha=alpha))
        if lg is not None:
            notes.extend(lg.notes)
            stacked_design = tuple(fixed_effects) == STACKED_FE
            kw.update(logit_method=lg.method,
                      logit_period=(logit_period if lg.method == "imputation" else "pair_fy")
                      if stacked_design else "",
                      logit_estimate=lg.log_odds, logit_std_error=lg.log_odds_std_error,
                      logit_p_value=lg.log_odds_p_value, logit_ame=lg.ame,
                      logit_ame_std_error=lg.ame_std_error, logit_ame_p_value=lg.p_value,
                      logit_ame_conf_low=lg.conf_low, logit_ame_conf_high=lg.conf_high)
            if lg.groups is not None:
                lg_pairs = attempt(notes, "pair-level t test of the logit's AME",
                                   lambda: pairs_test([lg.groups], dl, alpha=alpha))
                if lg_pairs is not None:
                    kw.update({f"logit_ame_pairs_{k}": getattr(lg_pairs, k)
                               for k in ("std_error", "df", "p_value", "conf_low", "conf_high")})
                    kw.update(_equal_pairs("logit_ame_pairs_", notes, lambda: pairs_test(
                        [lg.groups], dl, alpha=alpha, weighting="equal")))
            if lg.method == "imputation" and logit_alt_check:
                kw.update(_logit_alt_check(dl, lrhs, lfe, prep.outcome, treatment=treatment,
                                           weights=weights, cluster=cluster, n_clusters=G,
                                           alpha=alpha, notes=notes, period=logit_period))
    head = linear
    headline_model, headline_note = "linear", ""
    head_pairs = "linear_pairs_"
    if protocol_model == "logit":
        if lg is not None and cells_failed:
            headline_note = ("the protocol's rule selects the logit, whose effects per FV child "
                             "could not be fitted (see the notes); its single-coefficient AME is "
                             "a check and the headline falls back to the linear model")
            notes.append(headline_note)
        elif lg is not None:
            headline_model, head_pairs = "logit", "logit_ame_pairs_"
            head = Pooled(lg.ame, lg.ame_std_error, lg.df, lg.p_value, lg.conf_low, lg.conf_high)
        else:
            headline_note = ("the protocol's rule selects the logit, which could not be fitted "
                             "(see the notes); the headline falls back to the linear model")
            notes.append(headline_note)
    kw.update({f"pairs_{k}": kw.get(f"{head_pairs}{k}", NAN)
               for k in ("std_error", "df", "p_value", "conf_low", "conf_high")})
    kw.update({f"pairs_equal_{k}": kw.get(f"{head_pairs}equal_{k}", NAN)
               for k in ("estimate", "std_error", "p_value")})
    chosen = lg_pairs if head_pairs == "logit_ame_pairs_" else lin_pairs
    if chosen is not None:
        kw.update(n_pair_groups=int(chosen.n_groups), pair_effects=chosen.groups)
    # The headline's inference: the pair-level t test when the pairs give one (with one treatment
    # LA per pair, the cluster-robust variances of the cell models miss the treatment LAs' own
    # shocks; the Monte Carlo study measures both), CR1 with t(G-1) otherwise.
    kw.update(headline_cr1_std_error=float(head.std_error), headline_cr1_df=float(head.df),
              headline_cr1_p_value=float(head.p_value), headline_cr1_conf_low=float(head.conf_low),
              headline_cr1_conf_high=float(head.conf_high))
    headline_inference = "CR1_tG-1"
    if np.isfinite(kw["pairs_p_value"]):
        headline_inference = "IM_pairs_tq-1"
        head = Pooled(head.estimate, kw["pairs_std_error"], kw["pairs_df"], kw["pairs_p_value"],
                      kw["pairs_conf_low"], kw["pairs_conf_high"])
    elif tuple(fixed_effects) == STACKED_FE:
        notes.append("the pair-level t test needs at least two independent pairs with distinct "
                     "effects; the headline's inference is CR1 with t(G−1)")
    return OutcomeEstimate(
        outcome=prep.outcome,
        formula=formula,
        estimate=float(head.estimate),
        std_error=float(head.std_error),
        df=float(head.df),
        p_value=float(head.p_value),
        conf_low=float(head.conf_low),
        conf_high=float(head.conf_high),
        nobs=int(first.nobs),
        n_clusters=G,
        n_imputations=len(sets) if prep.imputed else 0,
        baseline_rate=baseline,
        protocol_model=protocol_model,
        weighted=weights is not None,
        headline_model=headline_model,
        headline_note=headline_note,
        headline_inference=headline_inference,
        estimate_pp=_pp(prep.outcome, float(head.estimate)),
        df_resid=int(first.df_resid),
        notes=tuple(notes),
        table=first.tidy(),
        **kw,
    )


def headline_sentence(e: OutcomeEstimate) -> str:
    """One sentence: what the headline is, in percentage points where that applies."""
    scale = (f"{e.estimate_pp:+.2f} percentage points" if np.isfinite(e.estimate_pp)
             else f"{e.estimate:+.4g}")
    if np.isfinite(e.estimate_pp) and np.isfinite(e.conf_low):
        k = 100.0 if e.outcome in BINARY else 1.0
        scale += f" (95 % interval {k * e.conf_low:+.2f} to {k * e.conf_high:+.2f}; p = {e.p_value:.3f})"
    model = ("the logit's average marginal effect among the matched FV children"
             if e.headline_model == "logit" else
             "the linear model's interaction-weighted effect on the matched FV children")
    how = (f"; inference: {METHODS['IM_pairs_tq-1']} (q = {e.n_pair_groups})"
           if e.headline_inference == "IM_pairs_tq-1" else f"; inference: {METHODS['CR1_tG-1']}")
    return f"Headline ({e.outcome}): {model}, {scale}{how}."


def _logit_paragraph(period: str = LOGIT_PERIOD) -> str:
    """How the logit's AME is formed (the logit with an effect for every FV child)."""
    la_terms = ("LA-within-treatment-LA dummies" if period.startswith("tla_")
                else "treatment-LA-within-pair dummies")
    return (f"The logit's AME: the logit is fitted to the rows not under FV "
            f"({_PERIOD_TERMS_LABEL[period]}, {la_terms} and the "
            "covariates) and predicts each FV child's "
            "probability without FV; the AME is the mean, over the FV children, of the outcome "
            "minus that prediction" + (", with the predictions' second-order (Cox–Snell) bias removed. "
                                       if LOGIT_BIAS_CORRECTION else ". ") +
            "This is the logit with an effect for every FV child (Wooldridge 2023), so, like the "
            "linear estimate, it weights pairs and quarters by their FV children; its log-odds "
            "ratio is the marginal one among the FV children. Its CR1 is the sandwich of the "
            "logit's score and the AME's estimating equation, clustered by LA.")


def primary_section(primary: OutcomeEstimate, protocol_literal: OutcomeEstimate | None,
                    truth: float | None, cfg: Any, *, truth_all_fv: float | None = None,
                    inference: pd.DataFrame | None = None, recommendation: str = "") -> Section:
    """The appendix section of the primary analysis: the headline, then every method beside it."""
    weighting = "CEM-weighted" if primary.weighted else "without CEM weights"
    paras = [
        headline_sentence(primary),
        f"Baseline rate among comparison observations: {primary.baseline_rate:.2%}; the protocol's "
        f"rule (footnote 21: the linear model for baselines within 5–95 %, otherwise the logit) selects "
        f"the {primary.protocol_model} model, and the headline is the {primary.headline_model} model."
        + (f" {primary.headline_note[0].upper()}{primary.headline_note[1:]}." if primary.headline_note else ""),
        f"Design: the matched pairs stacked, LA-within-pair and {cfg.time_fe}-within-pair fixed effects, "
        f"{weighting}, errors clustered by LA (G = {primary.n_clusters}), {primary.n_imputations} "
        "imputations pooled by Rubin's rules. The linear estimate averages the effects of pair × quarter-"
        "since-go-live cells with the cells' shares of FV children (an interaction-weighted "
        "estimator), so it is the effect on the matched FV children; the pooled single FV "
        "coefficient, reported as a check, weights pairs and periods by the variance of FV instead.",
        *([_logit_paragraph(primary.logit_period or LOGIT_PERIOD)]
          if primary.logit_method == "imputation" else []),
        "Inference for the headline: each matched pair holds one treatment LA, so a cluster-robust "
        "variance of the cell model cannot see the treatment LAs' own shocks (every cell effect is "
        "fitted from one treated cluster). The headline's p-value and interval therefore come from "
        "the pair-level t test of Ibragimov & Müller (2010): the headline equals Σ_p W_p θ_p over "
        "the pairs' own effects θ_p (W_p their shares of FV children), and the t test on the q "
        f"independent pair terms q·W_p·θ_p uses t(q − 1) = t({max(primary.n_pair_groups - 1, 0)}); "
        "Bakirov & Székely (2006) show it is conservative for any pair variances. Pairs sharing an "
        "LA are merged. CR1, CR2 and the wild bootstrap are shown beside it.",
        "The estimand is the average effect among the FV children that CEM matched "
        f"({release_count(primary.n_fv_estimand, cfg)} FV child-pair rows); children without a comparison child in "
        "their stratum are outside it.",
    ]
    if truth is not None:
        paras.append(f"Simulated data: the true effect on the matched FV children is {truth:+.4f}"
                     + (f", on all FV children {truth_all_fv:+.4f}." if truth_all_fv is not None else "."))
    if recommendation:
        paras.append(recommendation)
    if not dof_ok(primary.df_resid, cfg.sdc_threshold):
        paras.append("Residual degrees of freedom below the disclosure threshold: estimates withheld.")
    tabs = [AppendixTable("primary", f"Effect of FV on {cfg.primary_outcome}: every estimator and inference method",
                          primary.tidy() if inference is None else inference)]
    if protocol_literal is not None:
        tabs.append(AppendixTable(
            "primary_pooled_fy",
            "The protocol's literal specification: pooled LA and financial-year fixed effects, CEM weights",
            protocol_literal.tidy()))
    return Section("Primary analysis", tuple(paras), tuple(tabs))
