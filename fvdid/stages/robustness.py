"""Stage ``robustness``: the protocol's robustness models of an outcome.

Protocol (Primary analysis; Secondary analyses): FGLS random effects (LA random effect,
Swamy-Arora) for the primary outcome; tobit and hurdle checks for days on CPP/CIN plans; a child
random-intercept model over the three school terms for unauthorised absence.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fvdid.config import RunConfig
from fvdid.stages import attempt
from fvdid.stages.prepare import Prepared

__all__ = ["CHECK_COLUMNS", "robustness_models"]

CHECK_COLUMNS = ["model", "estimate", "std_error", "p_value"]


def robustness_models(
    outcome: str, prep: Prepared, cfg: RunConfig, absence_terms: pd.DataFrame | None, notes: list[str],
) -> pd.DataFrame:
    """The protocol's robustness models: tobit/hurdle for days on plans, LMM for absence.

    They are fitted unweighted on the first completed data set of the LAs in the matched pairs,
    with LA and financial-year dummies (the pooled specification): they check the model form
    (censoring, zeros, repeated terms), not the matching.
    """
    rows: list[dict[str, Any]] = []
    if outcome not in ("days_cpp_cin_18m", "unauth_absence_rate", cfg.primary_outcome):
        return pd.DataFrame(rows, columns=CHECK_COLUMNS)
    d0 = prep.imputed[0] if prep.imputed else prep.analytic
    # With LA dummies in the formula, a covariate constant within every LA is collinear with
    # them; leave it out of these checks (the absorbed-FE regression drops it with a note).
    covs = [c for c in prep.covariates
            if c not in cfg.la_covariates or d0.groupby("la_code")[c].nunique().max() > 1]
    left_out = sorted(set(prep.covariates) - set(covs))
    if left_out:
        notes.append(f"{outcome}: covariates constant within LA left out of the robustness models: {left_out}")
    terms = ["fv"] + [f"C({c})" if c in cfg.categorical_covariates else c for c in covs]
    rhs = " + ".join([*terms, "C(la_code)", "C(financial_year)"])
    if outcome == cfg.primary_outcome:
        # The protocol's FGLS random-effects estimator (LA random effect, Swamy-Arora), with a
        # cluster-robust vcov; financial-year dummies as the time effects.
        from fvdid.estimators.random_effects import random_effects

        # Swamy-Arora's between regression needs more LAs than coefficients: with few LAs the
        # child covariates are left out (said in the row's label).
        n_fy = d0["financial_year"].nunique()
        re_terms = terms if d0["la_code"].nunique() > len(terms) + n_fy + 1 else ["fv"]
        label = "FGLS random effects (LA, Swamy-Arora), CR1 by LA"
        if re_terms == ["fv"]:
            label += f"; covariates left out: only {d0['la_code'].nunique()} LAs for the between regression"
        re_rhs = " + ".join([*re_terms, "C(financial_year)"])
        r = attempt(notes, "FGLS random effects", lambda: random_effects(
            f"{outcome} ~ {re_rhs}", d0, unit="la_code", vcov="CR1", cluster="la_code"))
        if r is not None:
            rows.append({"model": label,
                         "estimate": float(r.params["fv"]), "std_error": float(r.std_errors["fv"]),
                         "p_value": float(r.pvalues["fv"])})
    if outcome == "days_cpp_cin_18m":
        from fvdid.estimators.hurdle import hurdle
        from fvdid.estimators.tobit import tobit

        t = attempt(notes, "tobit check", lambda: tobit(f"{outcome} ~ {rhs}", d0, left=0.0, right=548.0))
        if t is not None:
            rows.append({"model": "tobit (censored at 0 and 548 days)", "estimate": float(t.params["fv"]),
                         "std_error": float(t.std_errors["fv"]), "p_value": float(t.pvalues["fv"])})
        dd = d0.assign(**{outcome: d0[outcome].round().astype(int)})
        h = attempt(notes, "hurdle check", lambda: hurdle(f"{outcome} ~ {rhs}", dd, dist="negbin"))
        if h is not None:
            for part in ("count", "zero"):
                rows.append({"model": f"hurdle negbin, {part} part", "estimate": float(h.params[f"{part}_fv"]),
                             "std_error": float(h.std_errors[f"{part}_fv"]), "p_value": float(h.pvalues[f"{part}_fv"])})
    if outcome == "unauth_absence_rate" and absence_terms is not None:
        from fvdid.estimators.lmer import lmer

        keep = prep.analytic[["child_id", "fv", "la_code", "financial_year", *covs]]
        if prep.imputed:
            keep = prep.imputed[0][keep.columns]
        a = absence_terms.drop(columns=[c for c in ("la_code",) if c in absence_terms.columns]).merge(
            keep, on="child_id", how="inner")
        if "rate" in a.columns:
            f = f"rate ~ {rhs} + C(term) + months_since_referral"
            m = attempt(notes, "individual random-effects model", lambda: lmer(f, a, group="child_id"))
            if m is not None:
                rows.append({"model": "LMM, child random intercept, term dummies (REML)",
                             "estimate": float(m.params["fv"]), "std_error": float(m.std_errors["fv"]),
                             "p_value": float(m.pvalues["fv"])})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)
