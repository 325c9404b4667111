"""Placebo pairs: the pool, the placebo comparators, the children and the pair-level fits.

Private helpers of :mod:`fvdid.stages.placebo_pairs` (its module docstring states the design).
Everything here reuses fvdid's own stages: LA matching (:func:`fvdid.match_las`), the analytic
sample and its imputations (:func:`fvdid.stages.prepare.prepare`), CEM within pair
(:func:`fvdid.stages.child_matching.match_children`), the stacked pair frame
(:func:`fvdid.stages.estimate.stack_pairs`) and the headline's cell regression
(:mod:`fvdid.stages.headline`) or its logit AME (:mod:`fvdid.stages.logit_ame`).

Speed (issue #16): ~100 pairs x 5 completed sets are fitted, each a small regression, so the
fits run on arrays (:class:`_SlotFits`): what the imputations do not change (the stack, the cell
design, the fixed-effect absorber) is built once per pair, and each set's fit repeats
:func:`fvdid.estimators._ols_lean.wls_coefficients`' arithmetic on the same matrix, so the
numbers are those of :func:`_cell_thetas` on the stacked frames bit for bit (kept as the
reference and the fallback; tests/test_placebo_pairs.py). Comparators: one standardised panel
for every (LA, date) (:func:`placebo_comparators`). The module is over 500 lines because the
reference path and the array path are kept side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid.config import RunConfig
from fvdid.stages import DataCondition, as_data_condition

__all__ = ["PairFit", "eligible_pool", "fit_pairs", "placebo_comparator", "placebo_comparators", "shared_sets"]


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


def placebo_comparators(lam: Any, la_quarter: pd.DataFrame, outcome: str,
                        combos: Sequence[tuple[str, pd.Period]], pool: Sequence[str]) -> list[str | None]:
    """:func:`placebo_comparator` of every (LA, go-live) in ``combos``, the panel standardised once.

    The same comparators (:class:`fvdid.estimators.match_las._NearestPretrend` applies the rules
    of :func:`fvdid.match_las` to the shared z-scored changes; tests/test_placebo_pairs.py).
    """
    from fvdid.estimators.match_las import _NearestPretrend

    opts = lam.options
    near = _NearestPretrend(la_quarter.loc[:, ["la", "quarter", outcome]], outcome,
                            window=opts.la_window, k=opts.la_k, entry_lag=opts.la_entry_lag,
                            metric=opts.la_metric, max_distance=opts.la_max_distance)
    return [near.nearest(la, g, pool) for la, g in combos]


def shared_sets(sets: Sequence[pd.DataFrame], outcome: str, covariates: Sequence[str],
                cfg: RunConfig) -> Any:
    """What :func:`fit_pairs` reads of the completed sets, built once for every go-live date."""
    return _Sets(sets, outcome, covariates, cfg.categorical_covariates, cfg.time_fe)


def fit_pairs(sets: Sequence[pd.DataFrame], pairs: pd.DataFrame, go_live: pd.Period,
              outcome: str, covariates: Sequence[str], cfg: RunConfig, delta_for: set[str],
              notes: list[str], shared: Any = None) -> list[PairFit]:
    """CEM within each pair (``treated_la``, ``comparator_la``) going live at ``go_live``, then θ.

    ``sets`` are the completed data sets (children of every LA involved, real ``fv``). CEM runs
    on the first, as the primary does, and its weights carry to every set. ``delta_for``: the
    treatment LAs whose real FV children fall in the pair (a treated LA at another slot's date):
    for them ``delta`` is the same cell regression with the real FV indicator as the outcome
    (the shift of θ per unit of a sharp null effect); 0 otherwise. A pair that meets a data
    condition is left out and said in ``notes``. ``shared``: :func:`shared_sets` of ``sets``
    (built here when None), to share across the go-live dates of one stage.

    The fits are :func:`_cell_thetas` of each pair's rows of the stacked sets, computed on arrays
    (:class:`_SlotFits`: the stack, the cell design and the fixed-effect absorption built once
    where the sets share them); a pair its fast path does not cover is fitted by
    :func:`_cell_thetas` itself.
    """
    from fvdid.stages.child_matching import match_children

    if pairs.empty:
        return []
    pr = pairs[["treated_la", "comparator_la"]].reset_index(drop=True).assign(go_live=go_live)
    cm = match_children(sets[0], pr, by=cfg.cem_by, fallback_loss=cfg.cem_fallback_loss)
    pw = cm.matches[["pair_id", "child_id", "weight"]]
    pw = pw[pw["weight"] > 0]
    la_of = dict(zip(pr.index + 1, pr["treated_la"].astype(str)))
    if shared is None:
        shared = _Sets(sets, outcome, covariates, cfg.categorical_covariates, cfg.time_fe)
    fits = _SlotFits(shared, pr, pw, la_of, go_live, outcome, covariates, cfg.categorical_covariates)
    out: list[PairFit] = []
    for k, (la, comp) in enumerate(zip(pr["treated_la"].astype(str), pr["comparator_la"].astype(str)),
                                   start=1):
        try:
            theta, n_fv, delta = fits.thetas(k, la in delta_for)
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


class _Fallback(Exception):
    """A pair the array path does not cover (rows to drop, a non-numeric or infinite column)."""


def _same(a: pd.Series, b: pd.Series) -> bool:
    """The same values in the same places (a missing value matches a missing value)."""
    return a is b or (a.dtype == b.dtype and len(a) == len(b)
                      and a.reset_index(drop=True).equals(b.reset_index(drop=True)))


class _SetColumns:
    """One completed set's columns the fits read, as arrays (categorical ones coded once)."""

    def __init__(self, d: pd.DataFrame, outcome: str, covariates: Sequence[str], cats: Sequence[str]):
        self.ok = True
        na = d[outcome].isna().to_numpy() | d["fv"].isna().to_numpy()
        self.y = self._numeric(d[outcome])
        self.fv_actual = d["fv"].to_numpy().astype(float)  # _placebo_columns' fv_actual, as float
        self.cols: list[tuple[str, Any]] = []  # ("num", column of .num) or ("cat", (codes, levels))
        nums = []
        for c in covariates:
            na |= d[c].isna().to_numpy()
            if c in cats:
                codes, uniq = pd.factorize(d[c].to_numpy())
                self.cols.append(("cat", (codes, np.asarray(uniq, dtype=object))))
            else:
                self.cols.append(("num", len(nums)))
                nums.append(self._numeric(d[c]))
        self.num = np.column_stack(nums) if nums else np.zeros((len(d), 0))
        self.na = na

    def _numeric(self, s: pd.Series) -> np.ndarray:
        if s.dtype != bool and not pd.api.types.is_numeric_dtype(s):
            self.ok = False  # numeric_column's error, raised by the reference path
            return np.zeros(len(s))
        return s.to_numpy(dtype=float, na_value=np.nan)


def _cell_terms(pid: int, fv: np.ndarray, e: np.ndarray, w: np.ndarray,
                ptc: np.ndarray) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """``cell_design(event_cells(pair))`` on one pair's arrays: its cells, terms and columns.

    ``pid`` the pair, ``fv`` its 0/1 FV, ``e`` event quarters, ``w`` weights and ``ptc`` the
    integer codes of its ``pair_time`` (one code per distinct value). The steps of
    :func:`fvdid.stages.headline.cell_design` with integer codes for its string labels: the
    identified rows, the cells in the order of their labels ``"<pair>:e<k>"`` (as strings), each
    cell's FV children summed by pandas' groupby in row order as there, the reference cell and
    the reparametrised columns (the same floating-point operations), the dummies of unidentified
    periods in order of appearance. ValueError when an FV row has no finite event time (the
    caller then runs cell_design itself).
    """
    from fvdid.stages.headline import THETA

    fvb = fv == 1
    pos_w = w > 0
    ident = fvb & pos_w & np.isin(ptc, np.unique(ptc[pos_w & ~fvb]))
    ey = np.floor(e)  # event_cells' blocks of CELL_QUARTERS = 1 quarter
    if not np.isfinite(ey[fvb]).all():
        raise ValueError("an FV row without an event time")
    uv = np.unique(ey[ident])
    if uv.size == 0:
        raise DataCondition("insufficient_data", "no period within a pair holds both FV and comparison children")
    labels = [f"{pid}:e{int(v)}" for v in uv]
    order = sorted(range(len(uv)), key=labels.__getitem__)
    rank = np.empty(len(uv), dtype=np.intp)
    rank[order] = np.arange(len(uv))
    cell_of = rank[np.searchsorted(uv, ey[ident])]
    n_fv = pd.Series(w[ident]).groupby(cell_of).sum()
    cells = pd.DataFrame({"cell": [labels[i] for i in order], "n_fv": n_fv.to_numpy()})
    cells["weight"] = cells["n_fv"] / cells["n_fv"].sum()
    cells["pair"] = str(pid)
    r = int(cells["weight"].to_numpy().argmax())
    w_r = float(cells.loc[r, "weight"])
    code = np.full(len(fv), -1, dtype=np.intp)
    code[ident] = cell_of
    in_ref = (code == r).astype(float)
    cols, terms = [in_ref / w_r], [THETA]
    for k, cw in enumerate(cells["weight"].to_numpy()):
        if k != r:
            cols.append((code == k).astype(float) - (float(cw) / w_r) * in_ref)
            terms.append(f"fvcell_{k}")
    un = fvb & pos_w & ~ident
    if un.any():
        for k, c in enumerate(pd.unique(ptc[un])):
            cols.append((un & (ptc == c)).astype(float))
            terms.append(f"fvcell_u{k}")
    return cells, terms, np.column_stack(cols)


class _Sets:
    """The completed sets as the pair fits of every go-live date read them (built once).

    Their columns (:class:`_SetColumns`) and which sets share ``child_id``, ``la_code``, the
    time column and the referral date (imputation leaves them alone): those share one stack.
    """

    def __init__(self, sets: Sequence[pd.DataFrame], outcome: str, covariates: Sequence[str],
                 categorical: Sequence[str], time: str):
        self.sets, self.time = list(sets), time
        cats = [c for c in categorical if c in covariates]
        self.columns = [_SetColumns(d, outcome, list(covariates), cats) for d in sets]
        self.group: list[int] = []  # set -> its representative set
        keys: list[tuple[int, list[pd.Series]]] = []
        for m, d in enumerate(sets):
            key = [d[c] for c in ("child_id", "la_code", time, "referral_date")]
            for i, other in keys:
                if all(_same(a, b) for a, b in zip(key, other)):
                    self.group.append(i)
                    break
            else:
                keys.append((m, key))
                self.group.append(m)
        self.rep: dict[int, dict[str, Any]] = {}
        for m in sorted(set(self.group)):
            d = sets[m]
            month = pd.to_datetime(d["referral_date"]).dt.to_period("M")
            self.rep[m] = {"slim": d[["child_id", "la_code", time]].assign(_pos=np.arange(len(d))),
                           "year": month.dt.year.to_numpy(), "month": month.dt.month.to_numpy(),
                           "la": d["la_code"].astype(str).to_numpy()}


class _SlotFits:
    """The pair fits of one go-live date on arrays: :func:`_cell_thetas` of each pair's rows.

    The stacked sets (:func:`fvdid.stages.estimate.stack_pairs` then :func:`_placebo_columns`)
    are formed as positions into the completed sets: the stack, FV, event time and the CEM
    weights depend on the sets only through ``child_id``, ``la_code``, the time column and the
    referral date, which imputation leaves alone, so sets that share them (:class:`_Sets`) share
    the stack, each pair's cell design (:func:`_cell_terms`) and its fixed-effect absorber. Each
    set's fit is then the arithmetic of :func:`fvdid.estimators._ols_lean.wls_coefficients` on
    the same matrix (the same columns in the same order, the same absorption, rank rule and
    triangular solve): the same numbers as :func:`_cell_thetas`, bit for bit
    (tests/test_placebo_pairs.py). A pair with rows :func:`fvdid.ols` would drop, or a column it
    would reject, goes to :func:`_cell_thetas` on the stacked frames themselves.
    """

    def __init__(self, shared: _Sets, pr: pd.DataFrame, pw: pd.DataFrame, la_of: dict[int, str],
                 go_live: pd.Period, outcome: str, covariates: Sequence[str],
                 categorical: Sequence[str]):
        self.shared, self.pr, self.pw, self.la_of, self.go_live = shared, pr, pw, la_of, go_live
        self.outcome, self.covariates, self.categorical = outcome, list(covariates), categorical
        self._frames: list[pd.DataFrame] | None = None
        self.columns = shared.columns
        self.stacks = {m: self._stack(rep) for m, rep in shared.rep.items()}

    def _stack(self, rep: dict[str, Any]) -> dict[str, Any]:
        """stack_pairs + _placebo_columns of a set as positions and the design's arrays."""
        from fvdid.stages.estimate import stack_pairs

        s = stack_pairs(rep["slim"], self.pr, time=self.shared.time, weights=self.pw)
        pos = s["_pos"].to_numpy()
        pair_id = s["pair_id"].to_numpy()
        g = pd.Period(self.go_live, freq="M")
        since = (rep["year"][pos] - g.year) * 12 + (rep["month"][pos] - g.month)
        is_t = rep["la"][pos] == s["pair_id"].map(self.la_of).to_numpy()
        return {"pos": pos, "pair_id": pair_id, "weight": s["weight"].to_numpy(dtype=float),
                "pair_la": s["pair_la"].to_numpy(), "pair_time": s["pair_time"].to_numpy(),
                "fv": (is_t & (since >= 0)).astype(np.int8),
                "e": np.where(is_t, np.floor_divide(since, 3), np.nan).astype(float),
                "designs": {}}

    def _design(self, st: dict[str, Any], k: int) -> dict[str, Any]:
        """Pair ``k``'s rows, cell design and absorber in one stack (built once)."""
        from fvdid.estimators._design import Absorber, coded_counts
        from fvdid.stages.headline import CELL, cell_design, event_cells

        if k not in st["designs"]:
            r = np.flatnonzero(st["pair_id"] == k)
            w = st["weight"][r]
            codes, levels = [], []
            for f in ("pair_la", "pair_time"):  # estimate.STACKED_FE
                c, counts = coded_counts(st[f][r])
                codes.append(c)
                levels.append(len(counts))
            try:
                try:
                    cells, terms, T = _cell_terms(k, st["fv"][r], st["e"][r], w, codes[1])
                except ValueError:
                    slim = pd.DataFrame({"pair_id": st["pair_id"][r], "fv": st["fv"][r],
                                         "event_time_q": st["e"][r], "weight": w,
                                         "pair_time": st["pair_time"][r]})
                    cd = cell_design(event_cells(slim, treatment="fv"), cell=CELL,
                                     treatment="fv", weights="weight")
                    cells, terms = cd.cells, list(cd.terms)
                    T = np.column_stack([cd.data[t].to_numpy(dtype=float) for t in terms])
            except DataCondition as exc:
                st["designs"][k] = exc
                raise
            st["designs"][k] = {
                "rows": st["pos"][r], "w": w, "cells": cells, "terms": terms, "T": T,
                "n_fv": float(cells["n_fv"].sum()), "absorber": Absorber(codes, w, levels)}
        got = st["designs"][k]
        if isinstance(got, Exception):
            raise got
        return got

    def thetas(self, k: int, delta: bool) -> tuple[float, float, float]:
        """θ, n_fv and δ of pair ``k`` (:func:`_cell_thetas` of its rows of every set)."""
        try:
            return self._thetas(k, delta)
        except _Fallback:
            if self._frames is None:
                from fvdid.stages.estimate import stack_pairs

                self._frames = []
                for d in self.shared.sets:
                    s = stack_pairs(d, self.pr, time=self.shared.time, weights=self.pw)
                    self._frames.append(_placebo_columns(s, s["pair_id"].map(self.la_of), self.go_live))
            sub = [s[s["pair_id"] == k] for s in self._frames]
            return _cell_thetas(sub, self.outcome, self.covariates, self.categorical, delta)

    def _thetas(self, k: int, delta: bool) -> tuple[float, float, float]:
        from fvdid.stages.headline import THETA

        thetas, deltas, n_fv = [], [], float("nan")
        for m, cols in enumerate(self.columns):
            des = self._design(self.stacks[self.shared.group[m]], k)
            if not cols.ok:
                raise _Fallback
            fit = self._fit(cols, des, delta)
            if THETA not in fit.terms:
                raise DataCondition("singular_design", "the pair's effect is collinear with its fixed "
                                    "effects and covariates")
            thetas.append(_pair_theta(fit, des["cells"], 0))
            if delta:
                deltas.append(_pair_theta(fit, des["cells"], 1))
            if m == 0:
                n_fv = des["n_fv"]
        return float(np.mean(thetas)), n_fv, float(np.mean(deltas)) if delta else 0.0

    @staticmethod
    def _fit(cols: _SetColumns, des: dict[str, Any], delta: bool) -> Any:
        """wls_coefficients of the cell formula on one set's rows of the pair (no row dropped)."""
        from fvdid.estimators._ols_lean import solve_weighted

        rows, w = des["rows"], des["w"]
        if cols.na[rows].any() or not (w > 0).all():
            raise _Fallback
        V = cols.num[rows]
        if not np.isfinite(np.add.reduce(V, axis=0)).all():
            raise _Fallback  # (an overflowing sum too: the reference path decides)
        xs: list[np.ndarray] = [des["T"]]
        for kind, col in cols.cols:
            if kind == "num":
                xs.append(V[:, col:col + 1])
                continue
            codes, uniq = col
            cs = codes[rows]
            u = pd.unique(cs)  # the subset's levels in order of appearance, as sorted_levels
            vals = uniq[u]
            try:
                order = sorted(range(len(u)), key=lambda i: vals[i])
            except TypeError:
                order = sorted(range(len(u)), key=lambda i: str(vals[i]))
            if len(order) > 1:
                xs.append(np.column_stack([(cs == u[i]).astype(float) for i in order[1:]]))
        ys = [cols.y[rows], *([cols.fv_actual[rows]] if delta else [])]
        for y in ys:
            if not np.isfinite(np.add.reduce(y)):
                raise _Fallback
        n, nt = len(rows), des["T"].shape[1]
        p_x = sum(x.shape[1] for x in xs)
        XY = np.empty((n, p_x + len(ys)))
        j = 0
        for x in xs:
            XY[:, j:j + x.shape[1]] = x
            j += x.shape[1]
        for y in ys:
            XY[:, j] = y
            j += 1
        labels = [*des["terms"], *(f"_x{i}" for i in range(p_x - nt))]
        return solve_weighted(XY, p_x, w, labels, des["absorber"])
