"""The logit with an effect for every FV child (issue 19, point 1): its AME, variance and bias correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from fvdid.errors import FvdidInputError
from fvdid.stages import DataCondition
from fvdid.stages.logit_ame import logit_imputation_ame


def _design(rng: np.random.Generator, n_la: int = 6, n: int = 300, pre: int = 2, post: int = 3,
            base: float = -2.0, effect: float = 0.0) -> pd.DataFrame:
    """Pairs of a treated and a comparison LA over ``pre + post`` quarters, a logit DGP with
    LA and pair × quarter effects on the index and a covariate; FV = treated LA after go-live."""
    rows = []
    for pair in range(n_la // 2):
        for treated in (1, 0):
            la = f"{'T' if treated else 'C'}{pair}"
            for q in range(pre + post):
                x = rng.standard_normal(n)
                eta = base + 0.3 * treated + 0.1 * q + 0.2 * pair + 0.5 * x
                fv = int(treated and q >= pre)
                p = expit(eta + effect * fv)
                rows.append(pd.DataFrame({
                    "pair_id": str(pair), "la_code": la, "fv": fv, "x": x, "weight": 1.0,
                    "pair_time": f"{pair}:{q}", "pair_tla": f"T{pair}" if treated else "-",
                    "y": (rng.random(n) < p).astype(float)}))
    return pd.concat(rows, ignore_index=True)


def test_two_by_two_without_covariates_is_the_odds_ratio_difference_in_differences() -> None:
    """One pair, two quarters, no covariates: the counterfactual model on the three untreated
    cells is saturated, so the prediction for the FV children is
    Λ(logit ȳ_C,post + logit ȳ_T,pre − logit ȳ_C,pre) in closed form."""
    d = _design(np.random.default_rng(0), n_la=2, n=2000, pre=1, post=1)
    res = logit_imputation_ame(d, "y", ["C(pair_time)", "C(pair_tla)"], cluster="la_code",
                               n_clusters=2, fixed_effects=["C(pair_time)", "C(pair_tla)"],
                               bias_correction=False)
    m = d.groupby(["la_code", "pair_time"])["y"].mean()
    p0 = expit(logit(m[("C0", "0:1")]) + logit(m[("T0", "0:0")]) - logit(m[("C0", "0:0")]))
    # closed form against Newton's solution (converged to 1e-12 relative deviance): rounding only
    assert res.ame == pytest.approx(m[("T0", "0:1")] - p0, abs=1e-10)
    assert res.method == "imputation" and res.n_fv_unidentified == 0
    assert res.log_odds == pytest.approx(logit(m[("T0", "0:1")]) - logit(p0), abs=1e-9)


def test_standard_error_is_the_stacked_m_estimator_sandwich() -> None:
    """The AME's CR1 equals the sandwich of the stacked estimating equations (β on the untreated
    rows, the AME on the FV rows), with the bread by numerical differentiation."""
    d = _design(np.random.default_rng(1), n_la=8, n=150)
    rhs = ["x", "C(pair_time)", "C(pair_tla)"]
    res = logit_imputation_ame(d, "y", rhs, cluster="la_code", n_clusters=8,
                               fixed_effects=["C(pair_time)", "C(pair_tla)"], bias_correction=False)
    from fvdid.estimators._formula import design_matrix
    from fvdid.estimators.logit import fit_binary_logit

    des = design_matrix("y ~ " + " + ".join(rhs), d)
    X, y = des.X, d["y"].to_numpy()
    fv = d["fv"].to_numpy() == 1
    beta = fit_binary_logit(X[~fv], y[~fv], np.ones((~fv).sum()))[0]
    theta = np.append(beta, res.ame)
    k = len(beta)

    def psi(t: np.ndarray) -> np.ndarray:  # per-row estimating functions, n x (k + 1)
        b, a = t[:k], t[k]
        out = np.zeros((len(y), k + 1))
        p = expit(X @ b)
        out[~fv, :k] = (y[~fv] - p[~fv])[:, None] * X[~fv]
        out[fv, k] = y[fv] - p[fv] - a
        return out

    step = 1e-6
    A = np.column_stack([(psi(theta + step * e).sum(0) - psi(theta - step * e).sum(0)) / (2 * step)
                         for e in np.eye(k + 1)])
    codes = pd.factorize(d["la_code"])[0]
    s = np.vstack([psi(theta)[codes == g].sum(0) for g in range(8)])
    Ai = np.linalg.inv(A)
    V = Ai @ (s.T @ s) @ Ai.T * (8 / 7) * (len(y) - 1) / (len(y) - k)
    assert psi(theta).sum(0)[k] == pytest.approx(0.0, abs=1e-9)  # the AME solves its equation
    # central differences of an analytic function (step 1e-6): agreement to ~1e-7 relative
    assert res.ame_std_error == pytest.approx(float(np.sqrt(V[k, k])), rel=1e-6)


def test_bias_correction_removes_the_small_comparison_bias() -> None:
    """A short pre-period with few comparison events: the uncorrected counterfactual is biased
    upwards (the treatment LA's odds ratio exp(δ̂) from m events is biased by about 1/m), so the
    AME of a null effect is biased downwards; the second-order correction removes it.
    500 replications (raw: about −4.4 Monte Carlo SEs; corrected: +0.4): the tolerance is 3
    Monte Carlo SEs of the mean."""
    rng = np.random.default_rng(7)
    raw, corrected = [], []
    for _ in range(500):
        d = _design(rng, n_la=2, n=100, pre=1, post=2, base=-2.8)
        kw = {"cluster": "la_code", "n_clusters": 2, "fixed_effects": ["C(pair_time)", "C(pair_tla)"]}
        try:
            r0 = logit_imputation_ame(d, "y", ["C(pair_time)", "C(pair_tla)"], bias_correction=False, **kw)
            r1 = logit_imputation_ame(d, "y", ["C(pair_time)", "C(pair_tla)"], **kw)
        except DataCondition:  # a cell without events: the counterfactual is not identified
            continue
        # the truth of a null effect among the FV children is 0: the estimate's mean is its bias
        raw.append(r0.ame)
        corrected.append(r1.ame)
    raw_a, cor_a = np.array(raw), np.array(corrected)
    assert len(raw_a) > 400
    mcse = cor_a.std(ddof=1) / np.sqrt(len(cor_a))
    assert raw_a.mean() < -3 * raw_a.std(ddof=1) / np.sqrt(len(raw_a))  # the bias is real
    assert abs(cor_a.mean()) < 3 * mcse


def test_a_pair_without_pre_period_leaves_its_fv_children_unidentified() -> None:
    """Pair 1's treatment LA has no rows before go-live: its treatment-LA effect has no untreated
    row, so its FV children's counterfactual is not identified; they are left out and counted."""
    d = _design(np.random.default_rng(2), n_la=4, n=200)
    drop = (d["la_code"] == "T1") & (d["fv"] == 0)
    res = logit_imputation_ame(d[~drop], "y", ["x", "C(pair_time)", "C(pair_tla)"], cluster="la_code",
                               n_clusters=4, fixed_effects=["C(pair_time)", "C(pair_tla)"])
    n_fv_t1 = int(((d["la_code"] == "T1") & (d["fv"] == 1)).sum())
    assert res.n_fv_unidentified == n_fv_t1
    assert list(res.groups["pair"]) == ["0"]
    assert any(f"{n_fv_t1} FV rows whose counterfactual needs a term" in n for n in res.notes)


def test_a_covariate_that_varies_only_under_fv_is_left_out_with_a_note() -> None:
    """An LA-level flag switched on in a treatment LA at go-live and constant elsewhere is a
    combination of the LA dummies on the untreated rows: it cannot be estimated without FV, so the
    counterfactual model leaves it out (the fixed effects are kept) and says so."""
    d = _design(np.random.default_rng(3), n_la=4, n=200)
    d["flag"] = ((d["la_code"] == "C0") | ((d["la_code"] == "T1") & (d["fv"] == 1))).astype(float)
    res = logit_imputation_ame(d, "y", ["x", "flag", "C(pair_time)", "C(pair_tla)"], cluster="la_code",
                               n_clusters=4, fixed_effects=["C(pair_time)", "C(pair_tla)"])
    ref = logit_imputation_ame(d, "y", ["x", "C(pair_time)", "C(pair_tla)"], cluster="la_code",
                               n_clusters=4, fixed_effects=["C(pair_time)", "C(pair_tla)"])
    assert any("['flag'] are linear combinations" in n for n in res.notes)
    # the same counterfactual model once the flag is left out: identical up to rounding
    assert res.ame == pytest.approx(ref.ame, abs=1e-12)


def test_logit_time_terms_options_and_the_within_pair_trends() -> None:
    """``_logit_rhs``'s time terms: year dummies, year dummies plus one centred linear trend per
    pair (zero on the other pairs' rows, in years), quarter dummies; anything else is an error."""
    from types import SimpleNamespace

    from fvdid.errors import FvdidInputError
    from fvdid.stages.estimate import STACKED_FE, _logit_rhs

    quarters = pd.period_range("2019Q1", "2020Q4", freq="Q")
    d0 = pd.DataFrame({
        "pair_id": np.repeat(["LA1", "LA2"], 8), "treated_la": np.tile([1, 0], 8),
        "financial_year": ["2019/20"] * 16, "referral_quarter": np.tile(quarters, 2),
        "fv": 0, "x": 1.0,
    })
    first = SimpleNamespace(params=pd.Series([0.0], index=["x"]))
    _, rhs, fe = _logit_rhs(d0, first, ["x"], [], "fv", STACKED_FE, period="pair_fy")
    assert fe == ["C(pair_fy)", "C(pair_tla)"] and rhs == ["fv", "x", *fe]
    d, rhs, fe = _logit_rhs(d0, first, ["x"], [], "fv", STACKED_FE, period="pair_fy_trend")
    assert fe == ["C(pair_fy)", "_pair_trend_0", "_pair_trend_1", "C(pair_tla)"]
    t = (np.tile(np.arange(8), 2) - 3.5) / 4.0  # quarters in years, centred on all rows
    np.testing.assert_allclose(d["_pair_trend_0"], np.where(d0["pair_id"] == "LA1", t, 0.0))
    np.testing.assert_allclose(d["_pair_trend_1"], np.where(d0["pair_id"] == "LA2", t, 0.0))
    assert _logit_rhs(d0, first, ["x"], [], "fv", STACKED_FE, period="pair_time")[2][0] == "C(pair_time)"
    d, rhs, fe = _logit_rhs(d0, first, ["x"], [], "fv", STACKED_FE, period="pair_fy_season")
    assert fe == ["C(pair_fy)", *(f"_pair_season_{i}_q{q}" for i in (0, 1) for q in (2, 3, 4)),
                  "C(pair_tla)"]
    qoy = np.tile([1, 2, 3, 4], 4)  # 2019Q1..2020Q4 on each pair's rows
    for i, pair in enumerate(["LA1", "LA2"]):
        for q in (2, 3, 4):
            np.testing.assert_array_equal(d[f"_pair_season_{i}_q{q}"],
                                          ((d0["pair_id"] == pair) & (qoy == q)).astype(float))
    with pytest.raises(FvdidInputError, match="pair_fy_trend"):
        _logit_rhs(d0, first, ["x"], [], "fv", STACKED_FE, period="pair_quarter")


def test_firth_option_in_closed_form_and_without_separation_losses() -> None:
    """``bias_correction="firth"``: in the saturated 2 × 2 the counterfactual is the odds-ratio
    DiD of the half-count cell means (s + ½)/(n + 1) minus the curvature term; a comparison cell
    without events is kept (finite estimate) where the MLE leaves its FV children out."""
    d = _design(np.random.default_rng(0), n_la=2, n=2000, pre=1, post=1)
    rhs = ["C(pair_time)", "C(pair_tla)"]
    res = logit_imputation_ame(d, "y", rhs, cluster="la_code", n_clusters=2, fixed_effects=rhs,
                               bias_correction="firth")
    g = d.groupby(["la_code", "pair_time"])["y"].agg(["sum", "count"])
    h = (g["sum"] + 0.5) / (g["count"] + 1)
    eta0 = logit(h[("C0", "0:1")]) + logit(h[("T0", "0:0")]) - logit(h[("C0", "0:0")])
    p0 = expit(eta0)
    # curvature: ½ Λ''(η) Var(η̂), Var of the sum of three independent cell log-odds (unit weights)
    var = sum(1 / (g.loc[c, "count"] * h[c] * (1 - h[c])) for c in [("C0", "0:1"), ("T0", "0:0"), ("C0", "0:0")])
    p0c = p0 - 0.5 * p0 * (1 - p0) * (1 - 2 * p0) * var
    fv = d["fv"] == 1
    # closed form against the penalised Newton solution (steps below 1e-10 relative): rounding
    assert res.ame == pytest.approx(d.loc[fv, "y"].mean() - p0c, abs=1e-9)

    e = _design(np.random.default_rng(2), n_la=4, n=200, pre=2, post=2, base=-4.0)
    cell = (e["la_code"] == "C1") & (e["pair_time"] == "1:3")
    e.loc[cell, "y"] = 0.0  # a comparison cell without events: no MLE for its period term
    mle = logit_imputation_ame(e, "y", ["x", *rhs], cluster="la_code", n_clusters=4,
                               fixed_effects=rhs)
    firth = logit_imputation_ame(e, "y", ["x", *rhs], cluster="la_code", n_clusters=4,
                                 fixed_effects=rhs, bias_correction="firth")
    assert mle.n_fv_unidentified == 200 and firth.n_fv_unidentified == 0
    assert any("quasi-separation" in n for n in mle.notes)
    assert not any("quasi-separation" in n for n in firth.notes)
    with pytest.raises(FvdidInputError, match="bias_correction"):
        logit_imputation_ame(e, "y", rhs, cluster="la_code", n_clusters=4, fixed_effects=rhs,
                             bias_correction="jackknife")


def _halves(d: pd.DataFrame) -> pd.DataFrame:
    """``pair_half``: pair × (quarters 0-1, quarters 2-4), coarser period terms than pair_time."""
    q = d["pair_time"].str.split(":").str[1].astype(int)
    return d.assign(pair_half=d["pair_id"] + ":" + np.where(q < 2, "a", "b"))


def test_calibration_by_the_models_own_period_cells_changes_nothing() -> None:
    """Calibrating by the cells of the model's own period dummies: the logit's score equations
    make every ratio of observed to predicted events 1, whatever the outcome, so the AME and its
    influence functions (hence the CR1) are those of the uncalibrated fit."""
    d = _halves(_design(np.random.default_rng(11), n_la=8, n=150))
    rhs, fe = ["x", "C(pair_half)", "C(pair_tla)"], ["C(pair_half)", "C(pair_tla)"]
    kw = {"cluster": "la_code", "n_clusters": 8, "fixed_effects": fe, "bias_correction": False}
    plain = logit_imputation_ame(d, "y", rhs, **kw)
    same = logit_imputation_ame(d, "y", rhs, calibrate="pair_half", **kw)
    # Newton's solution sets the cell scores to zero up to its tolerance: rounding only
    assert same.ame == pytest.approx(plain.ame, abs=1e-10)
    assert same.ame_std_error == pytest.approx(plain.ame_std_error, rel=1e-8)


def test_calibrated_standard_error_is_the_stacked_m_estimator_sandwich() -> None:
    """Pair × half-year period terms, calibrated by pair × quarter: the AME's CR1 equals the
    sandwich of the stacked estimating equations (β on the untreated rows, one ratio per
    quarter cell ``Σ_U (y − r_c p̂) = 0``, the AME on the FV rows), bread by numerical
    differentiation; and the AME is the FV children's mean of ``y − r_c p̂``."""
    d = _halves(_design(np.random.default_rng(12), n_la=8, n=150))
    rhs, fe = ["x", "C(pair_half)", "C(pair_tla)"], ["C(pair_half)", "C(pair_tla)"]
    res = logit_imputation_ame(d, "y", rhs, cluster="la_code", n_clusters=8, fixed_effects=fe,
                               bias_correction=False, calibrate="pair_time")
    from fvdid.estimators._formula import design_matrix
    from fvdid.estimators.logit import fit_binary_logit

    des = design_matrix("y ~ " + " + ".join(rhs), d)
    X, y = des.X, d["y"].to_numpy()
    fv = d["fv"].to_numpy() == 1
    cell, labels = pd.factorize(d["pair_time"], sort=True)
    beta = fit_binary_logit(X[~fv], y[~fv], np.ones((~fv).sum()))[0]
    p = expit(X @ beta)
    C = len(labels)
    r = np.bincount(cell[~fv], weights=y[~fv], minlength=C) / np.bincount(cell[~fv], weights=p[~fv], minlength=C)
    ame = float(np.mean(y[fv] - r[cell[fv]] * p[fv]))
    assert res.ame == pytest.approx(ame, abs=1e-10)
    k = len(beta)
    theta = np.concatenate([beta, r, [ame]])
    onehot = np.eye(C)[cell]

    def psi(t: np.ndarray) -> np.ndarray:  # per-row estimating functions, n x (k + C + 1)
        b, rr, a = t[:k], t[k:k + C], t[-1]
        out = np.zeros((len(y), k + C + 1))
        pp = expit(X @ b)
        out[~fv, :k] = (y[~fv] - pp[~fv])[:, None] * X[~fv]
        out[~fv, k:k + C] = (y[~fv] - rr[cell[~fv]] * pp[~fv])[:, None] * onehot[~fv]
        out[fv, -1] = y[fv] - rr[cell[fv]] * pp[fv] - a
        return out

    step = 1e-6
    m = k + C + 1
    A = np.column_stack([(psi(theta + step * e).sum(0) - psi(theta - step * e).sum(0)) / (2 * step)
                         for e in np.eye(m)])
    codes = pd.factorize(d["la_code"])[0]
    s = np.vstack([psi(theta)[codes == g].sum(0) for g in range(8)])
    Ai = np.linalg.inv(A)
    # CR1's small-sample factor counts the logit's k coefficients, as without calibration
    V = Ai @ (s.T @ s) @ Ai.T * (8 / 7) * (len(y) - 1) / (len(y) - k)
    # central differences of an analytic function (step 1e-6): agreement to ~1e-7 relative
    assert res.ame_std_error == pytest.approx(float(np.sqrt(V[-1, -1])), rel=1e-6)


def test_calibration_leaves_out_fv_rows_whose_cell_has_no_untreated_row() -> None:
    """FV rows in a calibration cell of their own have no observed / predicted ratio: they are
    left out of the AME and counted with the unidentified, and the AME is that of the others."""
    d = _halves(_design(np.random.default_rng(13), n_la=4, n=150))
    alone = (d["fv"] == 1) & (d["pair_id"] == "0")
    cells = d["pair_time"].where(~alone, "alone")
    d = d.assign(cell=cells)
    rhs, fe = ["x", "C(pair_half)", "C(pair_tla)"], ["C(pair_half)", "C(pair_tla)"]
    kw = {"cluster": "la_code", "n_clusters": 4, "fixed_effects": fe, "bias_correction": False}
    res = logit_imputation_ame(d, "y", rhs, calibrate="cell", **kw)
    assert res.n_fv_unidentified == int(alone.sum())
    assert list(res.groups["pair"]) == ["1"]
    assert any(f"{int(alone.sum())} FV rows whose cell cell has no untreated row" in n for n in res.notes)
    # FV rows enter neither the logit nor the ratios: leaving them out of the data instead gives
    # the same fit, AME and CR1 (only summation order differs)
    ref = logit_imputation_ame(d[~alone], "y", rhs, calibrate="cell", **kw)
    assert res.ame == pytest.approx(ref.ame, abs=1e-12)
    assert res.ame_std_error == pytest.approx(ref.ame_std_error, rel=1e-10)


def _grouped_stacks(rng: np.random.Generator, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One treatment LA ``T`` with three comparators, stacked as three pairs (``T``'s rows once
    per pair, as :func:`fvdid.stages.estimate.stack_pairs` stacks them), and the same children
    once each with ``T``'s rows weighted by its three stacks."""
    rows = []
    quarters = pd.period_range("2019Q1", "2020Q2", freq="Q")
    for la, shift in (("T", 0.3), ("C1", 0.0), ("C2", -0.2), ("C3", 0.1)):
        for q, quarter in enumerate(quarters):
            x = rng.standard_normal(n)
            fv = int(la == "T" and q >= 3)
            p = expit(-2.0 + shift + 0.15 * q + 0.5 * x - 0.4 * fv)
            rows.append(pd.DataFrame({
                "la_code": la, "treated_la": int(la == "T"), "fv": fv, "x": x,
                "referral_quarter": str(quarter), "financial_year": f"FY{q // 4}",
                "y": (rng.random(n) < p).astype(float)}))
    once = pd.concat(rows, ignore_index=True)
    stacks = [once[once["la_code"].isin(["T", c])].assign(pair_id=i + 1, weight=1.0)
              for i, c in enumerate(["C1", "C2", "C3"])]
    return pd.concat(stacks, ignore_index=True), once.assign(
        weight=np.where(once["la_code"] == "T", 3.0, 1.0))


def test_grouped_time_terms_share_the_treatment_las_periods_across_its_stacks() -> None:
    """``logit_period = "tla_time"``: treatment LA × quarter terms shared by the treatment LA's
    three stacks and LA-within-treatment-LA dummies. The stacked logit is then the DiD logit of
    one treatment LA against its three comparators, each comparison event counted once and the
    treatment LA's rows by their three stacks: its AME equals that model's fitted on the children
    once, with the treatment LA's rows weighted 3 (the same likelihood; 1e-8 covers the Newton
    steps' convergence). With pair × quarter terms each period rests on one comparator and the
    AME differs."""
    from types import SimpleNamespace

    from fvdid.stages.estimate import STACKED_FE, _logit_rhs, grouped_terms

    stacked, once = _grouped_stacks(np.random.default_rng(7))
    g = grouped_terms(stacked)
    assert set(g["tla_time"].str.split("|").str[0]) == {"T"}
    assert g.groupby("la_code")["tla_la"].unique().map(list).to_dict() == {
        "C1": ["-"], "C2": ["T|C2"], "C3": ["T|C3"], "T": ["T|T"]}
    first = SimpleNamespace(params=pd.Series([0.0], index=["x"]))
    dl, rhs, fe = _logit_rhs(stacked, first, ["x"], [], "fv", STACKED_FE, period="tla_time")
    assert fe == ["C(tla_time)", "C(tla_la)"] and rhs == ["fv", "x", *fe]
    grouped = logit_imputation_ame(dl, "y", rhs[1:], weights="weight", cluster="la_code",
                                   n_clusters=4, fixed_effects=fe, bias_correction=False)
    ref = logit_imputation_ame(once.assign(tla_time=once["referral_quarter"], tla_la=once["la_code"]),
                               "y", ["x", "C(tla_time)", "C(tla_la)"], weights="weight",
                               cluster="la_code", n_clusters=4, group=None,
                               fixed_effects=["C(tla_time)", "C(tla_la)"], bias_correction=False)
    assert grouped.ame == pytest.approx(ref.ame, rel=1e-8, abs=1e-12)
    assert grouped.log_odds == pytest.approx(ref.log_odds, rel=1e-8, abs=1e-12)
    stacked = stacked.assign(pair_time=stacked["pair_id"].astype(str) + ":" + stacked["referral_quarter"])
    dp, rp, fp = _logit_rhs(stacked, first, ["x"], [], "fv", STACKED_FE, period="pair_time")
    per_pair = logit_imputation_ame(dp, "y", rp[1:], weights="weight", cluster="la_code",
                                    n_clusters=4, fixed_effects=fp, bias_correction=False)
    assert abs(per_pair.ame - ref.ame) > 1e-4  # a different model, not a relabelling


def test_grouped_time_terms_name_a_pair_without_its_treatment_la() -> None:
    """A pair with no row of its treatment LA cannot be grouped: the error names the pair."""
    from fvdid.stages.estimate import grouped_terms

    stacked, _ = _grouped_stacks(np.random.default_rng(1), n=20)
    broken = stacked[~((stacked["pair_id"] == 2) & (stacked["treated_la"] == 1))]
    with pytest.raises(FvdidInputError, match=r"pair\(s\) \[2\]"):
        grouped_terms(broken)


def test_logit_period_is_a_validated_run_option() -> None:
    """``logit_period`` is a run option with the logit's time terms as its choices."""
    from fvdid.config import LOGIT_PERIODS, RunConfig

    assert RunConfig().logit_period == "pair_fy"
    assert RunConfig.from_mapping({"logit_period": "tla_time"}).logit_period == "tla_time"
    assert {"tla_time", "tla_fy", "pair_fy", "pair_time"} <= set(LOGIT_PERIODS)
    with pytest.raises(FvdidInputError, match="logit_period"):
        RunConfig.from_mapping({"logit_period": "pair_quarter"})
