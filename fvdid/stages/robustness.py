"""Stage ``robustness``: the protocol's robustness models of an outcome, in the primary's design.

Protocol (Primary analysis; Secondary analyses): FGLS random effects (LA random effect,
Swamy-Arora) for the primary outcome; tobit and hurdle checks for days on CPP/CIN plans; a child
random-intercept model over the three school terms for unauthorised absence.

Every model is fitted on the primary's design (issue 19, points 6 and 7): the stacked matched
pairs, on every completed data set, pooled by Rubin's rules with complete-data df G − 1 and a
t(G − 1) reference (:func:`fvdid.stages.headline.pool_term`), standard errors clustered by LA
(CR1). The primary's fixed effects (LA within pair, period within pair) enter as dummies:
period-within-pair dummies and a treated-LA-within-pair indicator, which together span exactly
the LA-within-pair and period-within-pair effects (each pair holds two LAs). Tobit and hurdle
take the CEM weights; lme4-style mixed models and plm's random effects take none, so those are
fitted unweighted on the children with a positive CEM weight (the matched sample).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fvdid.config import RunConfig
from fvdid.estimators._design import clearly_full_rank
from fvdid.estimators._formula import Design, build_columns, design_matrix, parse_formula
from fvdid.stages import attempt
from fvdid.stages.prepare import Prepared

__all__ = ["CHECKS_CAPTION", "CHECK_COLUMNS", "ROBUSTNESS_OUTCOMES", "robustness_models"]

CHECK_COLUMNS = ["model", "estimate", "std_error", "p_value", "df", "n_imputations", "vcov",
                 "design", "sign_vs_primary"]

CHECKS_CAPTION = ("stacked matched pairs, period-within-pair and treated-LA-within-pair dummies, "
                  "every imputation pooled by Rubin's rules, CR1 by LA with t(G−1); CEM-weighted "
                  "where the model takes weights (see the design column)")
"""Caption of the robustness tables (the design of every row is also in its ``design`` column)."""

VCOV = "CR1 by LA, t(G−1)"
ROBUSTNESS_OUTCOMES: tuple[str, ...] = ("days_cpp_cin_18m", "unauth_absence_rate")
"""The secondary outcomes with robustness models (tobit and hurdle; the child random-intercept
model); the primary outcome has FGLS random effects."""
FE_DUMMIES = "period-within-pair + treated-LA-within-pair dummies"
PAIR_TLA = "pair_tla"

#: Why a model can disagree in sign with the primary (linear) estimate.
REASONS = {
    "tobit": ("tobit estimates the effect on the latent (uncensored) index of days, which "
              "extrapolates below 0 days for the majority with none; a shift of who has any days "
              "moves it differently from the mean of observed days"),
    "hurdle_count": ("the hurdle's count part is the effect on the (log) number of days among "
                     "children with any days, not on the mean over all children"),
    "hurdle_zero": ("the hurdle's zero part is the effect on the log-odds of having any days, not "
                    "on the mean number of days"),
    "lmm": ("the mixed model weights each child by the precision of their mean over the three "
            "school terms (GLS with child random intercepts) and takes no CEM weights, while the "
            "primary is the CEM-weighted regression of the child-level rate"),
    "re": ("random effects mixes the within-LA comparison with the between-LA comparison of FV "
           "shares among treated LAs, fitted without CEM weights, while the primary is the "
           "CEM-weighted within-pair comparison"),
}


def _sets(stacked: Prepared) -> list[pd.DataFrame]:
    return list(stacked.imputed) if stacked.imputed else [stacked.analytic]


def _with_pair_tla(d: pd.DataFrame) -> pd.DataFrame:
    """``d`` with the treatment-LA-within-pair column, sharing ``d``'s columns (a shallow copy:
    the robustness models only read their sets; ``assign`` copied every column of every
    completed set)."""
    pid = d["pair_id"].astype(str)
    out = d.copy(deep=False)
    out[PAIR_TLA] = np.where(d["treated_la"].astype(bool), pid, "0")
    return out


def _estimable(d: pd.DataFrame, covariates: Sequence[str], notes: list[str], outcome: str) -> list[str]:
    """Covariates that vary within some LA-within-pair (the others are collinear with the FE)."""
    keep = [c for c in covariates if d.groupby("pair_la")[c].nunique().max() > 1]
    out = sorted(set(covariates) - set(keep))
    if out:
        notes.append(f"{outcome}: covariates constant within LA (collinear with the LA-within-pair "
                     f"effects) left out of the robustness models: {out}")
    return keep


def _terms(covs: Sequence[str], categorical: Sequence[str]) -> list[str]:
    cat = set(categorical)
    return [f"C({c})" if c in cat else c for c in covs]


def _row(model: str, term: str, fits: list[Any], alpha: float, design: str, primary: float | None,
         reason: str) -> dict[str, Any]:
    from fvdid.stages.headline import pool_term

    G = int(fits[0].n_clusters)
    p = pool_term(fits, term, G, alpha)
    sign = ""
    if primary is not None and np.isfinite(primary) and np.isfinite(p.estimate):
        if np.sign(p.estimate) == np.sign(primary):
            sign = "agrees"
        else:
            sign = f"differs ({p.estimate:+.4g} against the primary's {primary:+.4g}): {reason}"
            if np.isfinite(p.conf_low) and p.conf_low <= primary <= p.conf_high:
                sign += (f"; the primary estimate lies inside this model's {1 - alpha:.0%} interval "
                         f"({p.conf_low:+.4g} to {p.conf_high:+.4g}), so the two are not in conflict")
    return {"model": model, "estimate": p.estimate, "std_error": p.std_error, "p_value": p.p_value,
            "df": p.df, "n_imputations": len(fits), "vcov": VCOV, "design": design,
            "sign_vs_primary": sign}


def _fit_all(notes: list[str], label: str, sets: list[pd.DataFrame],
             fit: Callable[[pd.DataFrame, int], Any]) -> list[Any] | None:
    """``fit(d, i)`` on every completed data set ``d`` (``i``: its position); None if one fails."""
    fits = []
    for i, d in enumerate(sets):
        f = attempt(notes, f"{label} (completed data set {i + 1})", lambda d=d, i=i: fit(d, i))
        if f is None:
            return None
        fits.append(f)
    return fits


class _Designs:
    """``design_matrix(formula, d, extra=extra)`` of every completed data set, built cheaply.

    ``design_matrix`` proves full rank by a pivoted QR of the whole ``n x k`` design, which cost
    a third of the robustness models' time (a design per model and completed data set). Here the
    same frame and columns are built (:func:`~fvdid.estimators._formula.build_columns`) and full
    rank is shown by :func:`~fvdid.estimators._design.clearly_full_rank` (the Gram
    matrix of the columns). A later data set with the same rows as the first, differing only in
    covariates without missing values (the imputed ones), takes the first's design with the
    columns of the terms of those covariates rebuilt, and its Gram matrix updated in those rows
    and columns. Whatever is not shown, and any input that ``design_matrix`` would reject (a
    missing column, no complete row, a response that is not numeric), goes to ``design_matrix``
    itself, which decides and raises exactly as before.
    """

    def __init__(self, formula: str, extra: Sequence[str]) -> None:
        self.parsed = parse_formula(formula)
        self.extra = list(extra)
        self.cols = self.parsed.columns + [c for c in extra if c not in self.parsed.columns]
        self.first: tuple[pd.DataFrame, Design, np.ndarray] | None = None

    def __call__(self, d: pd.DataFrame) -> Design:
        """The design of data set ``d``."""
        if self.first is not None:
            des = self._replaced(d, *self.first)
            if des is not None:
                return des
        des, gram = self._built(d)
        if self.first is None and gram is not None:
            self.first = (d, des, gram)
        return des

    def _built(self, d: pd.DataFrame) -> tuple[Design, np.ndarray | None]:
        parsed = self.parsed
        if parsed.fe or any(c not in d.columns for c in self.cols):
            return design_matrix(parsed, d, extra=self.extra), None
        frame = d[self.cols]
        complete = frame.notna().all(axis=1).to_numpy()
        n_dropped = int((~complete).sum())
        ys = frame[parsed.response]
        if n_dropped == len(frame) or not (ys.dtype == bool or pd.api.types.is_numeric_dtype(ys)):
            return design_matrix(parsed, d, extra=self.extra), None
        if n_dropped:
            frame = frame.loc[complete]
            ys = frame[parsed.response]
        X, names, notes = build_columns(parsed, frame)
        gram = X.T @ X
        if not clearly_full_rank(X, gram):
            return design_matrix(parsed, d, extra=self.extra), None
        return Design(ys.to_numpy(dtype=float), X, tuple(names), frame.index,
                      np.flatnonzero(complete), n_dropped, frame, tuple(notes)), gram

    def _replaced(self, d: pd.DataFrame, d0: pd.DataFrame, des0: Design,
                  gram0: np.ndarray) -> Design | None:
        """The first design with the columns of ``d``'s changed covariates (None: build it)."""
        if d is d0:
            return des0
        parsed = self.parsed
        if (des0.n_dropped or not parsed.intercept or not d.index.equals(d0.index)
                or any(c not in d.columns for c in self.cols)):
            return None
        changed = [c for c in self.cols if not d[c].equals(d0[c])]
        if (parsed.response in changed or any(c in self.extra for c in changed)
                or any(d[c].dtype != d0[c].dtype for c in changed)
                or bool(d[changed].isna().to_numpy().any())):
            return None
        frame = d[self.cols]
        if not changed:
            return dataclasses.replace(des0, frame=frame)
        # the terms of the changed columns, treatment coded as in the full design (intercept)
        sub = dataclasses.replace(parsed, terms=tuple(
            t for t in parsed.terms if set(t.columns) & set(changed)))
        X1, names1, notes1 = build_columns(sub, frame)
        _, names0, notes0 = build_columns(sub, d0[self.cols])
        at = {name: j for j, name in enumerate(des0.names)}
        if (names1 != names0 or notes1 != notes0 or len(at) != len(des0.names)
                or names1[:1] != ["(Intercept)"]):
            return None
        pos = np.array([at[name] for name in names1[1:]], dtype=np.int64)
        X = des0.X.copy()
        X[:, pos] = X1[:, 1:]
        gram = gram0.copy()
        cross = X[:, pos].T @ X
        gram[pos, :] = cross
        gram[:, pos] = cross.T
        if not clearly_full_rank(X, gram):
            return None
        return Design(des0.y, X, des0.names, frame.index, des0.positions, 0, frame, des0.notes)


class _TermRows:
    """The children's columns ``keep`` joined to their term rows, merged once for every data set.

    ``d[keep].merge(terms, on="child_id", how="inner")`` with ``pair_child`` (pair : child). The
    join depends on the key column alone: for a completed data set with the same rows, key and
    dtypes as the first, the merged rows are the first's, with the other columns taken from the
    data set by row position (the same frame the merge builds); any other data set is merged.
    """

    def __init__(self, first: pd.DataFrame, keep: Sequence[str], terms: pd.DataFrame) -> None:
        self.first, self.keep, self.terms = first, list(keep), terms
        pos = "__robustness_row__"
        a = first[self.keep].assign(**{pos: np.arange(len(first))}).merge(terms, on="child_id",
                                                                          how="inner")
        self.rows = a.pop(pos).to_numpy()
        self.base = self._with_pair_child(a)
        self.dtypes = first[self.keep].dtypes

    @staticmethod
    def _with_pair_child(a: pd.DataFrame) -> pd.DataFrame:
        a["pair_child"] = a["pair_id"].astype(str) + ":" + a["child_id"].astype(str)
        return a

    def merged(self, d: pd.DataFrame) -> pd.DataFrame:
        """The term rows of data set ``d`` (as the merge builds them)."""
        same = (d is self.first) or (
            d.index.equals(self.first.index)
            and all(d[c].equals(self.first[c]) for c in ("child_id", "pair_id"))
            and d[self.keep].dtypes.equals(self.dtypes)
            and all(isinstance(t, np.dtype) for t in self.dtypes))
        if not same:
            return self._with_pair_child(d[self.keep].merge(self.terms, on="child_id", how="inner"))
        a = self.base.copy()
        for c in self.keep:
            if c != "child_id" and not d[c].equals(self.first[c]):
                a[c] = d[c].to_numpy()[self.rows]
        return a


def _centred_columns(d: pd.DataFrame, cols: Sequence[str], categorical: set[str], unit: str,
                     per_pair: bool) -> pd.DataFrame:
    """The columns of ``cols`` (dummies if categorical) that vary, as deviations from unit means."""
    parts = []
    for c in cols:
        if per_pair:
            # period within pair: one reference period per pair (the pair's dummies sum to the
            # pair indicator, whose deviation from the LA-within-pair mean is zero)
            D = pd.get_dummies(d[c].astype(str), prefix=c, dtype=float)
            pair = pd.Series([n.split("_", 1)[1].split(":", 1)[0] for n in D.columns])
            parts.append(D.loc[:, pair.duplicated().to_numpy()])
        elif c in categorical:
            parts.append(pd.get_dummies(d[c].astype(str), prefix=c, drop_first=True, dtype=float))
        else:
            parts.append(d[[c]].astype(float))
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=d.index)
    X = X.loc[:, X.std() > 0]
    if X.shape[1] == 0:
        return X
    X = X - X.groupby(d[unit].to_numpy()).transform("mean")
    return X.loc[:, (X.abs() > 1e-12).any()]  # constant within every unit: nothing left to fit


def _centred(d: pd.DataFrame, cols: Sequence[str], categorical: Sequence[str], unit: str,
             extra_dummies: Sequence[str],
             cache: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
             ) -> tuple[pd.DataFrame, list[str]]:
    """Numeric columns of ``cols`` (dummies for categorical ones) as deviations from unit means.

    Each step is column by column (a column's result does not depend on the others), so the
    columns are centred in runs: the covariates between two ``extra_dummies`` together, each
    ``extra_dummies`` column on its own. ``cache`` keeps the centred ``extra_dummies`` of a data
    set: a later data set with the same rows, column and units (the imputations change
    covariates, not the periods) reuses them.
    """
    cat = set(categorical)
    blocks = []
    run: list[str] = []
    for c in [*cols, None]:
        if c is not None and c not in extra_dummies:
            run.append(c)
            continue
        if run:
            blocks.append(_centred_columns(d, run, cat, unit, per_pair=False))
            run = []
        if c is None:
            break
        hit = cache.get(c) if cache is not None else None
        if hit is not None and (hit[0] is d or (hit[0].index.equals(d.index) and all(
                hit[0][k].equals(d[k]) for k in (c, unit)))):
            blocks.append(hit[1])
            continue
        X = _centred_columns(d, [c], cat, unit, per_pair=True)
        if cache is not None:
            cache[c] = (d, X)
        blocks.append(X)
    X = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=d.index)
    names = [f"w{i}" for i in range(X.shape[1])]
    X.columns = names
    return X, names


def _random_effects(outcome: str, sets: list[pd.DataFrame], covs: list[str], cfg: RunConfig,
                    notes: list[str], primary: float | None, weighted: bool) -> dict[str, Any] | None:
    """FGLS random effects (Swamy-Arora) with an LA-within-pair random effect, CR1 by LA."""
    from fvdid.estimators.random_effects import random_effects

    unit = "pair_la"

    cache: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def fit(d: pd.DataFrame, i: int) -> Any:
        X, names = _centred(d, [*covs, "pair_time"], cfg.categorical_covariates, unit, ["pair_time"],
                            cache)
        dd = pd.concat([d[[outcome, "fv", "treated_la", unit, "la_code"]].reset_index(drop=True),
                        X.reset_index(drop=True)], axis=1)
        dd["treated_la"] = dd["treated_la"].astype(float)
        f = f"{outcome} ~ fv + treated_la + {' + '.join(names)}" if names else f"{outcome} ~ fv + treated_la"
        return random_effects(f, dd, unit=unit, vcov="CR1", cluster="la_code", alpha=cfg.alpha)

    fits = _fit_all(notes, "FGLS random effects", sets, fit)
    if fits is None:
        return None
    w = "unweighted (plm's random effects takes no weights) on the CEM-matched children" if weighted \
        else "unweighted (no CEM weights in this run)"
    design = (f"stacked pairs, LA-within-pair random effect (N = {fits[0].n_units}), fv + treated_la, "
              "covariates and period-within-pair dummies as deviations from their LA-within-pair "
              "means (Swamy–Arora's between regression has only N units); " + w)
    return _row("FGLS random effects (LA within pair, Swamy–Arora)", "fv", fits, cfg.alpha, design,
                primary, REASONS["re"])


def robustness_models(
    outcome: str,
    stacked: Prepared,
    cfg: RunConfig,
    absence_terms: pd.DataFrame | None,
    notes: list[str],
    *,
    primary: float | None = None,
    weighted: bool = True,
) -> pd.DataFrame:
    """The protocol's robustness models in the primary's design, pooled over the imputations.

    Parameters
    ----------
    outcome
        The outcome.
    stacked
        The stacked matched-pair sample (``analytic``: the first completed data set stacked by
        pair; ``imputed``: every completed data set stacked), with ``pair_id``, ``pair_la``,
        ``pair_time``, ``treated_la`` and the CEM weights in ``weight`` (children with weight 0
        are not in it).
    cfg
        Run options (categorical covariates, alpha).
    absence_terms
        Term-level absence records (``child_id``, ``term``, ``months_since_referral``, ``rate``).
    notes
        Announcements are appended here, including a sentence for every model whose sign differs
        from the primary's.
    primary
        The outcome's primary (headline) estimate, to compare signs with (None: no comparison).
    weighted
        Whether ``weight`` holds CEM weights (False: CEM did not run; all weights are 1).

    Returns
    -------
    pandas.DataFrame
        One row per model (and hurdle part): :data:`CHECK_COLUMNS`.
    """
    if outcome not in (*ROBUSTNESS_OUTCOMES, cfg.primary_outcome):
        return pd.DataFrame([], columns=CHECK_COLUMNS)
    from fvdid._blas import single_threaded_blas

    with single_threaded_blas():  # iterative fits of small matrices (fvdid._blas): the same numbers
        return _robustness_rows(outcome, stacked, cfg, absence_terms, notes, primary, weighted)


def _robustness_rows(outcome: str, stacked: Prepared, cfg: RunConfig,
                     absence_terms: pd.DataFrame | None, notes: list[str], primary: float | None,
                     weighted: bool) -> pd.DataFrame:
    """The body of :func:`robustness_models` (same arguments)."""
    rows: list[dict[str, Any]] = []
    sets = [_with_pair_tla(d) for d in _sets(stacked)]
    covs = _estimable(sets[0], stacked.covariates, notes, outcome)
    cat = [c for c in cfg.categorical_covariates if c in covs]
    rhs = " + ".join(["fv", *_terms(covs, cat), "C(pair_time)", f"C({PAIR_TLA})"])
    wdesign = "CEM weights" if weighted else "no CEM weights in this run"
    if outcome == cfg.primary_outcome:
        r = _random_effects(outcome, sets, covs, cfg, notes, primary, weighted)
        if r is not None:
            rows.append(r)
    if outcome == "days_cpp_cin_18m":
        from fvdid.estimators.hurdle import hurdle
        from fvdid.estimators.tobit import tobit

        design = f"stacked pairs, {FE_DUMMIES}, {wdesign}"
        formula = f"{outcome} ~ {rhs}"
        # one design per completed data set for both models (the same formula, rows and weights)
        designs: dict[int, Design] = {}
        build = _Designs(formula, ["weight"])

        def shared(i: int, d: pd.DataFrame) -> Design:
            if i not in designs:
                designs[i] = build(d)
            return designs[i]

        t = _fit_all(notes, "tobit check", sets, lambda d, i: tobit(
            formula, d, left=0.0, right=548.0, weights="weight", vcov="CR1", cluster="la_code",
            design=shared(i, d)))
        if t is not None:
            rows.append(_row("tobit (censored at 0 and 548 days)", "fv", t, cfg.alpha, design,
                             primary, REASONS["tobit"]))

        def hurdle_fit(d: pd.DataFrame, i: int) -> Any:
            counts = d[outcome].round().astype(int)  # raises on a missing count, as before
            dh = d.assign(**{outcome: counts})
            base = shared(i, d)
            # the counts' design: the shared one with the rounded response on its rows
            des = dataclasses.replace(base, y=counts.to_numpy(dtype=float)[base.positions])
            return hurdle(formula, dh, dist="negbin", weights="weight", vcov="CR1",
                          cluster="la_code", design=des)

        h = _fit_all(notes, "hurdle check", sets, hurdle_fit)
        if h is not None:
            for part, label in (("count", "count part (log days, if any)"),
                                ("zero", "zero part (log-odds of any days)")):
                rows.append(_row(f"hurdle negbin, {label}", f"{part}_fv", h, cfg.alpha, design,
                                 primary, REASONS[f"hurdle_{part}"]))
    if outcome == "unauth_absence_rate" and absence_terms is not None and "rate" in absence_terms.columns:
        from fvdid.estimators.lmer import lmer

        at = absence_terms[["child_id", "term", "months_since_referral", "rate"]]
        keep = ["pair_id", "child_id", "fv", "la_code", "pair_la", "pair_time", PAIR_TLA, *covs]

        formula = f"rate ~ {rhs} + C(term) + months_since_referral"
        terms = _TermRows(sets[0], keep, at)
        build = _Designs(formula, ["pair_child"])

        def lmm(d: pd.DataFrame, i: int) -> Any:
            a = terms.merged(d)
            return lmer(formula, a, group="pair_child", vcov="CR1", cluster="la_code",
                        design=build(a))

        m = _fit_all(notes, "individual random-effects model", sets, lmm)
        if m is not None:
            w = ("unweighted (lme4's lmer takes no CEM weights with a robust vcov) on the "
                 "CEM-matched children" if weighted else "unweighted (no CEM weights in this run)")
            rows.append(_row("LMM, child random intercept, term dummies, months since referral (REML)",
                             "fv", m, cfg.alpha, f"stacked pairs × school terms, {FE_DUMMIES}; {w}",
                             primary, REASONS["lmm"]))
    for r in rows:
        if r["sign_vs_primary"].startswith("differs"):
            notes.append(f"{outcome}: the robustness model '{r['model']}' differs in sign from the "
                         f"primary estimate: {r['sign_vs_primary']}.")
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)
