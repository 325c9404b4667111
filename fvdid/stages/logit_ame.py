"""The protocol's logit for a rare binary outcome, and its average marginal effect among FV children.

Protocol footnote 21: the linear model when the baseline rate lies within 5–95 %, otherwise the
logit. The logit's coefficient is a log-odds ratio; to be comparable with the linear model and
monetisable it is reported as the average marginal effect (AME) of FV among the FV children,
``mean_i [Λ(η_i) − Λ(η_i − β_fv)]`` over the FV rows (CEM-weighted): the effect on their
probability, in percentage points. Its standard error is the delta method on the logit's
cluster-robust (CR1, by LA) covariance, referred to t(G − 1) like the linear model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from fvdid._results import ResultMixin
from fvdid.stages import DataCondition
from fvdid.stages.headline import t_inference

__all__ = ["LogitAME", "logit_ame"]


@dataclass(frozen=True)
class LogitAME(ResultMixin):
    """The logit's FV log-odds ratio and its AME among FV children (proportion scale)."""

    log_odds: float
    log_odds_std_error: float
    log_odds_p_value: float
    ame: float
    ame_std_error: float
    df: float
    p_value: float
    conf_low: float
    conf_high: float
    nobs: int
    formula: str
    notes: tuple[str, ...] = ()
    groups: pd.DataFrame | None = None
    """Per group (``group=``): ``pair``, ``weight`` (share of the FV children) and ``estimate``
    (the AME among the group's FV children); the weighted mean of the estimates is ``ame``."""

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"quantity": "AME among FV children", "estimate": self.ame, "std_error": self.ame_std_error,
             "df": self.df, "p_value": self.p_value, "conf_low": self.conf_low, "conf_high": self.conf_high},
            {"quantity": "log-odds ratio", "estimate": self.log_odds, "std_error": self.log_odds_std_error,
             "df": self.df, "p_value": self.log_odds_p_value, "conf_low": np.nan, "conf_high": np.nan},
        ])


def logit_ame(
    data: pd.DataFrame,
    outcome: str,
    rhs: Sequence[str],
    *,
    treatment: str = "fv",
    weights: str | None = "weight",
    cluster: str = "la_code",
    n_clusters: int,
    alpha: float = 0.05,
    max_separation_rounds: int = 3,
    effect_terms: Sequence[str] | None = None,
    group: str | None = None,
) -> LogitAME:
    """Fit the logit ``outcome ~ rhs`` (CR1 by ``cluster``) and the AME of ``treatment``.

    Parameters
    ----------
    data
        The completed, stacked sample.
    outcome
        The 0/1 outcome.
    rhs
        Right-hand-side terms, ``treatment`` first (fixed effects as ``C(...)`` dummies).
    treatment, weights, cluster
        Columns of the FV indicator, the CEM weights and the LA.
    n_clusters
        G, for the t(G − 1) reference.
    alpha
        Level of the interval.
    max_separation_rounds
        Rounds of leaving out rows that a term predicts perfectly (as Stata's logit) before the
        quasi-separation is reported as a data condition.
    effect_terms
        The 0/1 columns that carry the effect of FV (default: ``treatment`` alone). With one
        column per pair × year-since-go-live cell (each FV row in exactly one), the logit lets
        the effect differ by cell, as the linear model's interaction weighting does, and the AME
        averages each FV child's own cell effect; ``log_odds`` is then the FV-child-weighted
        mean of the cell log-odds ratios.
    group
        A column (the pair): the AME is also given per group (``groups``), for the pair-level
        t test of :func:`fvdid.stages.headline.pairs_test`.
    """
    from fvdid.estimators._formula import design_matrix
    from fvdid.estimators.logit import SeparationError, logit

    formula = f"{outcome} ~ {' + '.join(rhs)}"
    notes: list[str] = []
    d = _screen_dummies(data, formula, outcome, weights, notes)
    fit = None
    for _ in range(max_separation_rounds):
        try:
            fit = logit(formula, d, weights=weights, vcov="CR1", cluster=cluster)
            break
        except SeparationError as sep:
            d = d.drop(index=sep.rows)
            notes.append(f"logit: {len(sep.rows)} rows predicted perfectly by {sep.terms} "
                         "left out (quasi-separation)")
    if fit is None:
        raise DataCondition("separation", "quasi-separation persists after leaving out perfectly "
                            f"predicted rows {max_separation_rounds} times")
    des = design_matrix(formula, d, extra=[c for c in (weights, cluster, group) if c])
    names = list(des.names)
    beta = fit.params.reindex(names).to_numpy(dtype=float)
    if np.isnan(beta).any():
        raise DataCondition("singular_design", "the logit dropped terms of its design")
    V = fit.vcov.loc[names, names].to_numpy(dtype=float)
    js = [names.index(t) for t in (effect_terms or (treatment,)) if t in names]
    if not js:
        raise DataCondition("singular_design", "the logit estimated no FV effect term")
    w = des.frame[weights].to_numpy(dtype=float) if weights else np.ones(len(des.frame))
    fv = (des.X[:, js] == 1).any(axis=1) & (w > 0)
    if not fv.any():
        raise DataCondition("insufficient_data", "no FV child with positive weight in the logit's sample")
    X1 = des.X[fv]
    wf = w[fv] / w[fv].sum()
    eta = X1 @ beta
    X0 = X1.copy()
    X0[:, js] = 0.0
    p1, p0 = expit(eta), expit(X0 @ beta)
    ame = float(wf @ (p1 - p0))
    grad = (wf * p1 * (1 - p1)) @ X1 - (wf * p0 * (1 - p0)) @ X0
    se = float(np.sqrt(max(grad @ V @ grad, 0.0)))
    df = float(n_clusters - 1)
    p, lo, hi = t_inference(ame, se, df, alpha)
    share = wf @ X1[:, js]  # FV-child share of each effect term
    a = np.zeros(len(names))
    a[js] = share / share.sum()
    b, bse = float(a @ beta), float(np.sqrt(max(a @ V @ a, 0.0)))
    bp = t_inference(b, bse, df, alpha)[0]
    groups = None
    if group is not None:
        gl = des.frame[group].astype(str).to_numpy()[fv]
        frame = pd.DataFrame({"pair": gl, "w": wf, "wd": wf * (p1 - p0)}).groupby("pair", sort=True).sum()
        groups = pd.DataFrame({"pair": frame.index.to_numpy(), "weight": frame["w"].to_numpy(),
                               "estimate": (frame["wd"] / frame["w"]).to_numpy()})
    return LogitAME(b, bse, bp, ame, se, df, p, lo, hi, int(fit.nobs), formula, (*notes, *fit.notes),
                    groups)


def _screen_dummies(data: pd.DataFrame, formula: str, outcome: str, weights: str | None,
                    notes: list[str]) -> pd.DataFrame:
    """Leave out, before fitting, the rows of 0/1 terms whose rows all share one outcome value.

    Such a term separates the outcome on its own (a covariate level or a pair × year cell without
    any event): the logit's MLE does not exist, and :func:`fvdid.logit` would find it only after
    Newton steps diverging along that direction and a linear program (Konis 2007). The rows are
    those the linear program's direction predicts perfectly, so the result is the same; the note
    has the same form. Separation by combinations of terms is still found by the logit.
    """
    from fvdid.estimators._formula import design_matrix

    des = design_matrix(formula, data, extra=[weights] if weights else [])
    X = np.asarray(des.X)
    y = des.frame[outcome].to_numpy(dtype=float)
    w = des.frame[weights].to_numpy(dtype=float) if weights else np.ones(len(y))
    pos = w > 0
    binary = ((X == 0) | (X == 1)).all(axis=0) & (X != 1).any(axis=0)  # 0/1, not the intercept
    if not binary.any():
        return data
    B = X[:, binary]
    ones = B.T @ (pos & (y == 1)).astype(float)
    zeros = B.T @ (pos & (y == 0)).astype(float)
    sep = ((ones == 0) & (zeros > 0)) | ((zeros == 0) & (ones > 0))
    if not sep.any():
        return data
    names = [n for n, b in zip(des.names, binary, strict=True) if b]
    terms = [names[j] for j in np.flatnonzero(sep)]
    rows = des.frame.index[(B[:, sep] == 1).any(axis=1)]
    notes.append(f"logit: {len(rows)} rows predicted perfectly by {terms} left out (quasi-separation)")
    return data.drop(index=rows)
