"""The protocol's logit for a rare binary outcome, and its average marginal effect among FV children.

Protocol footnote 21: the linear model when the baseline rate lies within 5–95 %, otherwise the
logit. The logit's coefficient is a log-odds ratio; to be comparable with the linear model and
monetisable it is reported as the average marginal effect (AME) of FV among the FV children:
the effect on their probability, in percentage points, referred to t(G − 1) like the linear model.

* :func:`logit_imputation_ame`, the headline's logit in the stacked design: the logit with an
  effect for every FV child, fitted on the rows not under FV; the AME is the mean of ``y − p0``
  over the FV children, with the predictions' second-order bias removed; CR1 from the stacked
  estimating equations.
* :func:`logit_ame`: one FV coefficient (``effect_terms``: one per cell),
  ``mean_i [Λ(η_i) − Λ(η_i − β_fv)]`` over the FV rows, SE by the delta method on the logit's
  CR1; the check when the imputation logit cannot be fitted, and the logit of other designs.
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

__all__ = ["LogitAME", "logit_ame", "logit_imputation_ame"]


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
    method: str = "coefficient"
    """``"coefficient"`` (:func:`logit_ame`) or ``"imputation"`` (:func:`logit_imputation_ame`)."""
    n_fv_unidentified: int = 0
    """FV rows whose counterfactual the logit cannot predict (left out of the AME, counted)."""

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"quantity": "AME among FV children", "estimate": self.ame, "std_error": self.ame_std_error,
             "df": self.df, "p_value": self.p_value, "conf_low": self.conf_low, "conf_high": self.conf_high},
            {"quantity": "log-odds ratio" if self.method == "coefficient" else "marginal log-odds ratio",
             "estimate": self.log_odds, "std_error": self.log_odds_std_error,
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


def logit_imputation_ame(
    data: pd.DataFrame,
    outcome: str,
    rhs: Sequence[str],
    *,
    treatment: str = "fv",
    weights: str | None = "weight",
    cluster: str = "la_code",
    n_clusters: int,
    alpha: float = 0.05,
    group: str | None = "pair_id",
    fixed_effects: Sequence[str] = (),
    bias_correction: bool | str = True,
    max_separation_rounds: int = 3,
    calibrate: str | None = None,
) -> LogitAME:
    """The logit's AME among FV children with an effect for every FV child (imputation).

    The logit ``outcome ~ rhs`` (no FV term) is fitted on the rows not under FV; each FV child's
    counterfactual probability ``p0_i = Λ(x_i' β̂)`` is predicted from it, and the AME is the
    CEM-weighted mean of ``y_i − p0_i`` over the FV children. This is the limit of a logit with
    one FV dummy per FV child (their scores ``y_i − p_i`` vanish, so the other coefficients are
    the MLE on the untreated rows): the pooled logit with full treatment-effect heterogeneity of
    Wooldridge (2023, *Econometrics Journal* 26(3), C31–C66), which for the canonical link equals
    imputation. Every FV child counts once, so the AME weights pairs and event times by their FV
    children, whatever the heterogeneity of the effect (a logit with an FV coefficient per
    pair × year cell weights the quarters within a year by their information instead).

    Its standard error treats the AME and the logit's score equations as one M-estimator: the
    influence of FV row ``i`` is ``w_i (y_i − p0_i − AME) / W`` and that of untreated row ``j``
    is ``−w_j (y_j − p_j) x_j' H⁻¹ g`` (``H`` the weighted information on the untreated rows,
    ``g`` the FV-weighted mean of ``p0 (1 − p0) x``); the influences are summed by ``cluster``
    and scaled by ``G/(G−1)·(n−1)/(n−k)`` (CR1 as ``sandwich::vcovCL(type = "HC1")``), referred
    to t(G − 1). ``log_odds`` is the marginal log-odds ratio ``logit(ȳ_FV) − logit(p̄0_FV)`` with
    its delta-method SE.

    Parameters
    ----------
    data
        The completed, stacked sample (rows with zero weight are left out and counted).
    outcome
        The 0/1 outcome.
    rhs
        The counterfactual model's right-hand-side terms (fixed effects as ``C(...)``), without
        ``treatment``.
    treatment, weights, cluster
        Columns of the FV indicator, the CEM weights and the LA.
    n_clusters
        G, for the t(G − 1) reference.
    alpha
        Level of the interval.
    group
        A column (the pair): the AME is also given per group (``groups``), for the pair-level
        t test of :func:`fvdid.stages.headline.pairs_test`.
    fixed_effects
        The terms of ``rhs`` that define the comparisons (the pair × period and treatment-LA
        dummies). A covariate whose columns are linear combinations of them and of the other
        covariates on the untreated rows (an LA-level covariate that varies only where FV does)
        cannot be estimated without FV and is left out of the counterfactual model, with a note;
        a fixed-effect column without untreated rows makes its FV rows' counterfactual
        unidentified (left out of the AME and counted), and fixed effects that are otherwise
        collinear are a data condition.
    bias_correction
        ``True`` or ``"cox_snell"``: subtract the second-order bias of each predicted
        counterfactual (see :func:`_second_order_bias`). ``"firth"``: fit the counterfactual
        model by Firth's penalised likelihood (:mod:`fvdid.estimators.logit_firth`: the
        coefficients' O(1/n) bias removed, finite when a fixed-effect cell has no comparison
        events, so its FV children keep a counterfactual; a covariate's level that separates is
        left out as without Firth) and subtract the curvature term ``½ Λ''(η) x' V x`` of
        each predicted counterfactual. ``False``: neither. The influence functions are
        first-order and the same in every case.
    max_separation_rounds
        Rounds of leaving out untreated rows that the counterfactual model predicts perfectly.
    calibrate
        A column of finer cells than the model's period terms (the pair × quarter within a
        pair × financial-year model): each FV child's predicted counterfactual is multiplied by
        its cell's ratio of observed to predicted events on the untreated rows,
        ``r_c = Σ w y / Σ w p̂`` (the model's own fit sets these ratios to one on average over
        each of its periods). The ratio is linear in the outcome, whereas a logit dummy for a cell
        with few comparison events passes their noise through the logit's curvature. FV
        children whose cell has no untreated rows (or no predicted events) are left out and
        counted. The influence functions include the ratios' estimation. On 200 replications
        of the default design (``validation/diagnostics/logit_calibrated.py``) pair × quarter
        calibration of the year model cut the AME's SD by a tenth (0.0089 against 0.0098)
        without moving its mean (paired -0.00017, MCSE 0.00019): an option, not the default.

    Raises
    ------
    DataCondition
        The counterfactual model is rank deficient or separated beyond repair, or no FV child's
        counterfactual can be predicted.
    """
    from fvdid.errors import FvdidInputError, check_binary, require_columns
    from fvdid.estimators._formula import build_columns, parse_formula
    from fvdid.estimators._sandwich import cluster_codes, small_sample_factor
    from fvdid.estimators.logit import fit_binary_logit, separation_direction
    from fvdid.estimators.logit_firth import fit_firth_logit

    if bias_correction not in (True, False, "cox_snell", "firth"):
        raise FvdidInputError(f"bias_correction must be True, False, 'cox_snell' or 'firth', got {bias_correction!r}")
    firth = bias_correction == "firth"
    formula = f"{outcome} ~ {' + '.join(t for t in rhs if t != treatment)}"
    notes: list[str] = []
    # the columns without design_matrix's rank check of the full design: what must be of full
    # rank is the counterfactual model on the untreated rows (checked below)
    parsed = parse_formula(formula)
    cols = list(dict.fromkeys([*parsed.columns, *(c for c in (treatment, weights, cluster, group, calibrate) if c)]))
    require_columns(data, cols, what="data")
    complete = data[cols].notna().all(axis=1).to_numpy()
    if not complete.all():
        notes.append(f"logit: {int((~complete).sum())} rows with a missing value in its terms left out")
    frame = data.loc[complete, cols]
    X, names, _ = build_columns(parsed, frame)
    y = check_binary(frame, outcome).astype(float)
    w = frame[weights].to_numpy(dtype=float) if weights else np.ones(len(y))
    fv = frame[treatment].to_numpy() == 1
    if (w <= 0).any():
        notes.append(f"logit: {int((w <= 0).sum())} rows with zero weight left out")
    X = np.asarray(X, dtype=float)
    untreated = ~fv & (w > 0)
    protected = np.array([n == "(Intercept)" or any(n == t or n.startswith(f"{t}[") for t in fixed_effects)
                          for n in names], dtype=bool)
    active = np.ones(X.shape[1], dtype=bool)
    dropped = np.zeros(X.shape[1], dtype=bool)  # covariates not estimable without FV
    beta = np.zeros(0)
    for _ in range(max_separation_rounds + 1):
        active &= (X[untreated] != 0).any(axis=0)
        sep = _separating_columns(X[untreated], y[untreated], active)
        if firth:
            # the penalised likelihood is finite under separation: only a covariate's level that
            # separates is left out as without it (a row alone in its column would sit at the
            # prior's p = 1/(2 + 2w), h = 1, where Firth's scoring steps converge very slowly)
            sep &= ~protected
        if sep.any():
            rows = untreated & (X[:, sep] != 0).any(axis=1)
            notes.append(f"logit: {int(rows.sum())} untreated rows predicted perfectly by "
                         f"{[names[j] for j in np.flatnonzero(sep)]} left out (quasi-separation)")
            untreated &= ~rows
            active &= ~sep
            continue
        dep = _dependent_columns(X[untreated], active & ~dropped, protected)
        if (dep & protected).any():
            raise DataCondition("singular_design", "the logit's counterfactual model is rank deficient "
                                f"on the rows not under FV: {[names[j] for j in np.flatnonzero(dep & protected)]}")
        if dep.any():
            dropped |= dep
            notes.append(f"logit: {[names[j] for j in np.flatnonzero(dep)]} are linear combinations "
                         "of the other terms on the rows not under FV (they vary only where FV does) "
                         "and are left out of its counterfactual model")
        XU = X[untreated][:, active & ~dropped]
        if firth:
            beta, converged, n_iter = fit_firth_logit(XU, y[untreated], w[untreated])
            if not converged:
                raise DataCondition("no_convergence", f"the Firth logit did not converge in {n_iter} iterations")
            break
        beta, converged, n_iter = fit_binary_logit(XU, y[untreated], w[untreated])
        eta = XU @ beta
        if converged and np.max(np.abs(eta)) <= 20:
            break
        direction = separation_direction(XU, y[untreated])
        if direction is None:
            if not converged:
                notes.append(f"logit did not converge in {n_iter} iterations")
            break
        perfect = ((2 * y[untreated] - 1) * (XU @ direction)) > 1e-8
        idx = np.flatnonzero(untreated)[perfect]
        notes.append(f"logit: {len(idx)} untreated rows predicted perfectly left out (quasi-separation)")
        untreated[idx] = False
    else:
        raise DataCondition("separation", "quasi-separation of the logit's counterfactual model "
                            f"persists after leaving out perfectly predicted rows {max_separation_rounds} times")
    treated = fv & (w > 0)
    unknown = treated & (X[:, ~active & ~dropped] != 0).any(axis=1)
    n_unid = int(unknown.sum())
    if n_unid:
        notes.append(f"logit: {n_unid} FV rows whose counterfactual needs a term not estimable on "
                     "the untreated rows are left out of the AME")
    treated &= ~unknown
    if not treated.any():
        raise DataCondition("insufficient_data", "no FV child's counterfactual can be predicted")
    active &= ~dropped
    XU, XF = X[untreated][:, active], X[treated][:, active]
    wU, wF = w[untreated], w[treated]
    yU, yF = y[untreated], y[treated]
    pU, p0 = expit(XU @ beta), expit(XF @ beta)
    W = wF.sum()
    H = (XU * (wU * pU * (1 - pU))[:, None]).T @ XU
    if bias_correction:
        p0 = p0 - _second_order_bias(XU, wU, pU, XF, p0, H, mle_bias=not firth)
    dp0 = p0 * (1 - p0)  # d p0 / d eta, at the (corrected) prediction as before
    if calibrate is not None:
        cal = _calibration(frame[calibrate].to_numpy(), untreated, treated, wU, yU, pU)
        if cal.n_left_out:
            notes.append(f"logit: {cal.n_left_out} FV rows whose {calibrate} cell has no "
                         "untreated row or no predicted event are left out of the AME")
            keep = cal.ok
            n_unid += cal.n_left_out
            treated[np.flatnonzero(treated)[~keep]] = False
            XF, wF, yF, p0, dp0 = XF[keep], wF[keep], yF[keep], p0[keep], dp0[keep]
            W = wF.sum()
            if not treated.any():
                raise DataCondition("insufficient_data", "no FV child's counterfactual can be predicted")
        rF = cal.ratio_f[cal.ok]
        # the FV rows' uncalibrated sum per cell, S_c = Σ_F w p0 (before the ratio)
        s_raw = np.bincount(cal.codes_f[cal.ok], weights=wF * p0, minlength=cal.n_cells)
        p0, dp0 = p0 * rF, dp0 * rF
    ybar, p0bar = float(wF @ yF / W), float(wF @ p0 / W)
    ame = ybar - p0bar
    g = (wF * dp0) @ XF / W
    inf_cal = np.zeros(len(yU))
    if calibrate is not None:
        # p̄0 = Σ_c r_c S_c / W with r_c = O_c / E_c: δr_c = (δO_c − r_c δE_c) / E_c, so the
        # untreated rows of cell c move p̄0 by (S_c / E_c) w (y − r_c p̂) / W, and through β̂
        # by −(r_c S_c / E_c) ∂E_c/∂β / W, which joins g
        k = np.divide(s_raw, cal.expected, out=np.zeros(cal.n_cells), where=cal.expected > 0) / W
        cu = cal.codes_u
        inf_cal = k[cu] * wU * (yU - cal.ratio[cu] * pU)
        g = g - (k[cu] * cal.ratio[cu] * wU * pU * (1 - pU)) @ XU
    a = np.linalg.solve(H, g)
    # influence of each row on ȳ and on p̄0 (untreated rows move p̄0 through β̂ and the ratios)
    inf_y = np.concatenate([wF * (yF - ybar) / W, np.zeros(len(yU))])
    inf_p = np.concatenate([wF * (p0 - p0bar) / W, wU * (yU - pU) * (XU @ a) + inf_cal])
    used = np.concatenate([np.flatnonzero(treated), np.flatnonzero(untreated)])
    codes = cluster_codes(frame.iloc[used], cluster)
    G = int(codes.max()) + 1
    c = small_sample_factor("CR1", len(used), int(active.sum()), G)

    def cr1(infl: np.ndarray) -> float:
        return float(np.sqrt(c * np.sum(np.bincount(codes, weights=infl, minlength=G) ** 2)))

    se = cr1(inf_y - inf_p)
    df = float(n_clusters - 1)
    p, lo, hi = t_inference(ame, se, df, alpha)
    lor = (float(np.log(ybar / (1 - ybar)) - np.log(p0bar / (1 - p0bar)))
           if 0 < ybar < 1 and 0 < p0bar < 1 else np.nan)
    lor_se = cr1(inf_y / (ybar * (1 - ybar)) - inf_p / (p0bar * (1 - p0bar))) if np.isfinite(lor) else np.nan
    lor_p = t_inference(lor, lor_se, df, alpha)[0] if np.isfinite(lor) else np.nan
    groups = None
    if group is not None:
        frame_g = pd.DataFrame({"pair": frame[group].astype(str).to_numpy()[treated], "w": wF / W,
                                "wd": wF / W * (yF - p0)}).groupby("pair", sort=True).sum()
        groups = pd.DataFrame({"pair": frame_g.index.to_numpy(), "weight": frame_g["w"].to_numpy(),
                               "estimate": (frame_g["wd"] / frame_g["w"]).to_numpy()})
    return LogitAME(lor, lor_se, lor_p, ame, se, df, p, lo, hi, len(used),
                    f"{formula} (fitted on the rows not under FV)", tuple(notes), groups,
                    method="imputation", n_fv_unidentified=n_unid)


@dataclass(frozen=True)
class _Calibration:
    """Cells' observed / predicted ratios on the untreated rows (:func:`logit_imputation_ame`)."""

    codes_u: np.ndarray  # cell of each untreated row
    codes_f: np.ndarray  # cell of each FV row (-1: a cell without untreated rows)
    expected: np.ndarray  # E_c = Σ_U w p̂
    ratio: np.ndarray  # r_c = O_c / E_c (0 where E_c is 0)
    ratio_f: np.ndarray  # r of each FV row's cell
    ok: np.ndarray  # FV rows whose cell has a ratio
    n_cells: int

    @property
    def n_left_out(self) -> int:
        return int((~self.ok).sum())


def _calibration(cells: np.ndarray, untreated: np.ndarray, treated: np.ndarray, wU: np.ndarray,
                 yU: np.ndarray, pU: np.ndarray) -> _Calibration:
    """Per cell of ``cells`` (over the frame's rows), the weighted observed and predicted events of
    the ``untreated`` rows (``wU``, ``yU``, ``pU`` in their order) and their ratio; the ``treated``
    rows' cells and ratios."""
    codes, labels = pd.factorize(pd.Series(cells[untreated]).astype(str), sort=True)
    n = len(labels)
    cu = codes.astype(np.int64)
    observed = np.bincount(cu, weights=wU * yU, minlength=n)
    expected = np.bincount(cu, weights=wU * pU, minlength=n)
    ratio = np.divide(observed, expected, out=np.zeros(n), where=expected > 0)
    cf = pd.Index(labels).get_indexer(pd.Series(cells[treated]).astype(str))
    ok = cf >= 0
    ok[ok] = expected[cf[ok]] > 0
    rf = np.where(ok, ratio[np.where(cf >= 0, cf, 0)], np.nan)
    return _Calibration(cu, cf, expected, ratio, rf, ok, n)


def _second_order_bias(XU: np.ndarray, wU: np.ndarray, pU: np.ndarray, XF: np.ndarray,
                       p0: np.ndarray, H: np.ndarray, *, mle_bias: bool = True) -> np.ndarray:
    """The O(1/n) bias of each predicted counterfactual ``Λ(x_F' β̂)`` (Cox & Snell 1968).

    Two terms: the MLE's own bias ``b = −½ H⁻¹ Σ_j w_j p_j(1−p_j)(1−2p_j) (x_j' V x_j) x_j``
    (with unit weights, Firth's 1993 ``−H⁻¹ X' h (½ − p)``) and the curvature of ``Λ``,
    ``½ Λ''(η) x' V x``, where ``V = H⁻¹ (Σ w² p(1−p) x x') H⁻¹`` is the weighted estimator's
    variance under the Bernoulli model (CEM weights are not frequency weights). With a rare
    outcome and few comparison events in a period both push the counterfactual up: the
    treatment-LA odds ratio ``exp(δ̂)`` from a short pre-period with ``m`` comparison events is
    biased upwards by about ``1/m``, and the AME with it. ``mle_bias`` False leaves out the
    first term (coefficients from Firth's penalised likelihood, whose O(1/n) bias is removed).
    """
    Hi = np.linalg.inv(H)
    J = (XU * (wU**2 * pU * (1 - pU))[:, None]).T @ XU
    V = Hi @ J @ Hi
    qF = ((XF @ V) * XF).sum(axis=1)
    d1 = p0 * (1 - p0)
    curvature = 0.5 * d1 * (1 - 2 * p0) * qF
    if not mle_bias:
        return curvature
    qU = ((XU @ V) * XU).sum(axis=1)
    b = -0.5 * Hi @ ((wU * pU * (1 - pU) * (1 - 2 * pU) * qU) @ XU)
    return d1 * (XF @ b) + curvature


def _dependent_columns(X: np.ndarray, candidates: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Columns among ``candidates`` in the span of the preceding ones, ``first`` columns ordered first.

    Sequentially on the cross-product matrix: a column is dependent when its squared residual
    on the independent columns before it is below ``1e-10`` of its squared norm (exact
    collinearity leaves ~1e-14; the columns are dummies and covariates on their own scales).
    """
    cols = np.flatnonzero(candidates)
    order = np.concatenate([cols[first[cols]], cols[~first[cols]]])
    Xo = X[:, order]
    C = Xo.T @ Xo
    keep: list[int] = []
    out = np.zeros(X.shape[1], dtype=bool)
    for k in range(len(order)):
        if keep:
            b = np.linalg.lstsq(C[np.ix_(keep, keep)], C[keep, k], rcond=None)[0]
            resid = C[k, k] - C[k, keep] @ b
        else:
            resid = C[k, k]
        if resid <= 1e-10 * C[k, k]:
            out[order[k]] = True
        else:
            keep.append(k)
    return out


def _separating_columns(X: np.ndarray, y: np.ndarray, active: np.ndarray) -> np.ndarray:
    """0/1 columns (not the intercept) whose rows with a 1 all share one outcome value."""
    binary = active & ((X == 0) | (X == 1)).all(axis=0) & (X == 0).any(axis=0)
    ones = X[:, binary].T @ (y == 1).astype(float)
    zeros = X[:, binary].T @ (y == 0).astype(float)
    out = np.zeros(X.shape[1], dtype=bool)
    out[np.flatnonzero(binary)] = ((ones == 0) & (zeros > 0)) | ((zeros == 0) & (ones > 0))
    return out


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
