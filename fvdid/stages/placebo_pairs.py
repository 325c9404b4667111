"""Stage ``placebo_pairs``: randomization inference and Conley–Taber over placebo matched pairs.

Why. Five LAs are treated, each in its own matched pair, and the headline is the FV-child-weighted
mean of the pair effects, θ̂ = Σ_p W_p θ̂_p. Cluster-robust and pair-level t tests rest on
assumptions about the treated LAs' own shocks that five LAs cannot check; randomization inference
(Fisher; Conley & Taber 2011; MacKinnon & Webb 2020) and the Conley–Taber interval learn the
distribution of a pair's effect under the null from *placebo pairs* built from untreated LAs.

The placebo pairs. The eligible pool is the set of LAs LA matching found eligible as comparators
of the primary outcome (its exclusion rules: other FV LAs, Partners in Practice, user exclusions,
no child-level records), minus the treated LAs; at most ``ri_pool_max`` of them (sampled with the
run seed) serve as placebo treatment LAs. For an LA ``L`` and the go-live date ``g`` of a treated
slot: ``L`` goes live at ``g`` (FV re-derived for its children as :func:`fvdid.io.derive_fv`
defines it, event time ``floor((month − g)/3)``), its comparator is the nearest pre-trend LA by
:func:`fvdid.match_las` with the run's options within the whole eligible pool minus ``L`` (the
same rule as the real matching), CEM within the pair as the primary does
(:func:`fvdid.stages.child_matching.match_children` on the first completed set, weights carried
to every set), and the pair's effect θ(L, g) is the headline's own pair-level estimate: the cell
regression of :func:`fvdid.stages.estimate.estimate_outcome` (pair × quarter-since-go-live cells,
LA-within-pair and period-within-pair effects, the covariates, CEM weights) restricted to that
pair, averaged over the completed sets, for every headline (one pair cannot
carry the logit's cell effects; the sharp-null test is valid for any statistic). Its weight is the pair's (CEM-weighted) FV
children n_fv(L, g). The analytic sample and its imputations are built once
(:func:`fvdid.stages.prepare.prepare` over every LA of any pair, with the real FV), not per pair:
the placebo FV is not in the imputation model. The *actual* pairs are refitted by exactly the
same procedure on the same completed sets, so actual and placebo statistics are comparable (the
refitted Σ W_p θ_p differs slightly from the headline, whose stacked regression shares the
covariates' slopes across pairs; both are reported).

Randomization inference. :func:`fvdid.randomization_test` reassigns the slots (the treated LAs
with their go-live dates) to distinct LAs of treated ∪ pool, so a treated LA can receive another
slot's date: θ(T_k, g_j) is fitted too. The statistic of an assignment ``a`` (slot j → LA L_j)
is the Ibragimov–Müller t of {θ(L_j, g_j)} with weights n_fv(L_j, g_j)
(:func:`fvdid.estimators.group_t.group_t_test`), pairs sharing an LA merged into one group
(:func:`~fvdid.estimators.group_t.independent_groups`) as the headline does. Sharp null
``H0: every FV child's effect is r``: under it the untreated outcome is ``y − r·FV_actual``, so a
pair's estimate would be θ(L_j, g_j) − r·δ(L_j, g_j) + r, where δ is the same pair procedure with
the real FV indicator as outcome (δ = 1 for an actual pair, exactly; 0 for a pair of pool LAs,
which hold no FV child; fitted for a treated LA at another slot's date). The statistic is the IM
t of the pair values θ − r·δ with the same weights: for the actual assignment θ̂_p − r on each
pair. The callable returns ``(r + mean, se)`` of those values (the contract of
:func:`~fvdid.randomization_test`), whose estimate is linear and squared standard error
quadratic in ``r``, so ``assume_linear=True`` is exact. For the logit AME headline δ is the
linear procedure's (a first-order approximation of the null on the probability scale). An
assignment whose pairs merge into fewer than two independent groups (or whose pair values are all
equal) has no t statistic: it is counted as at least as extreme as the actual one (conservative)
and counted in ``ri_degenerate``.

Conley–Taber. θ̂ − θ is distributed as Σ_p W_p η_p, η_p the error of pair p, drawn from the
placebo estimates at pair p's date, {θ(L, g_p) : L in the pool} (Conley & Taber, REStat 93(1),
2011: the treated groups' errors learnt from the controls'), all tuples with replacement
enumerated up to :data:`CT_ENUMERATE_MAX`, else :data:`CT_DRAWS` seeded draws. Ferman & Pinto
(REStat 101(3), 2019): pairs of different sizes have errors of different variance, modelled as
var(θ(L, g)) = A + B / n_fv(L, g) (non-negative least squares of θ² on (1, 1/n_fv) over the
placebo estimates); each placebo estimate is rescaled to the size of the pair it stands in for,
η_p = θ(L, g_p) · sqrt(v(n_p) / v(n_fv(L, g_p))). The interval and p-value follow
:mod:`fvdid.estimators.conley_taber` (whose API takes an LA × period panel and has no size
correction, hence computed here): [θ̂ − Q_hi, θ̂ − Q_lo], p = min(1, 2 min(Γ(θ̂), 1 − Γ(θ̂−))).
The pairs enter the CT sum as independent even when two share a comparator.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from fvdid._blas import single_threaded_blas
from fvdid._results import ResultMixin
from fvdid.config import RunConfig
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.stages import DataCondition

__all__ = ["CT_DRAWS", "CT_ENUMERATE_MAX", "MIN_POOL", "ConleyTaberPairs", "PlaceboPairs",
           "conley_taber_pairs", "placebo_pairs", "placebo_pairs_section", "ri_pairs",
           "ri_statistic"]

MIN_POOL = 3
"""Fewest pool LAs (with an estimate at every date) for the stage to run."""
CT_ENUMERATE_MAX = 1_000_000
CT_DRAWS = 99_999
_TINY_SE = 1e-100
CACHE_COLUMNS = ["la", "go_live", "comparator", "theta", "n_fv", "delta"]


def _key(la: Hashable, date: Any) -> tuple[str, str]:
    return str(la), str(date)


def ri_statistic(cache: pd.DataFrame, slots: Mapping[str, Any], *, alpha: float = 0.05,
                 degenerate: list[str] | None = None) -> Any:
    """The statistic callable of :func:`fvdid.randomization_test` built on the cache.

    ``cache``: columns :data:`CACHE_COLUMNS`, one row per (LA, go-live date); ``slots``: treated
    LA -> its go-live date. ``statistic(assignment, r)`` returns ``(r + m, s)``, ``m`` and ``s``
    the Ibragimov–Müller estimate and standard error of the pair values θ − r·δ (module
    docstring); the degenerate labels are appended to ``degenerate``.
    """
    from fvdid.estimators.group_t import independent_groups

    tab = {_key(r.la, r.go_live): r for r in cache.itertuples(index=False)}
    # the groups of an assignment do not depend on r (randomization_test evaluates each at
    # several r): rows of the assignment's pairs and, per group, their positions
    structure: dict[tuple[tuple[str, str], ...], tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}

    def groups_of(assignment: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        key = tuple(sorted((str(s), str(la)) for s, la in assignment.items()))
        if key not in structure:
            rows = [tab[_key(la, slots[slot])] for slot, la in assignment.items()]
            labs = [str(slot) for slot in assignment]
            grp = independent_groups({s: [str(r.la), str(r.comparator)] for s, r in zip(labs, rows)})
            gl = list(dict.fromkeys(grp[s] for s in labs))
            structure[key] = (np.array([float(r.theta) for r in rows]),
                              np.array([float(r.delta) for r in rows]),
                              np.array([gl.index(grp[s]) for s in labs]), len(gl))
        return structure[key]

    weights: dict[tuple[tuple[str, str], ...], np.ndarray] = {}  # by the assignment, in its order

    def statistic(assignment: Mapping[str, str], r: float) -> tuple[float, float]:
        theta, delta, g, q = groups_of(assignment)
        vals = theta - r * delta
        order = tuple(assignment.items())
        if order not in weights:
            weights[order] = np.array([float(tab[_key(la, slots[slot])].n_fv) for slot, la in order])
        wts = weights[order]
        gw = np.bincount(g, weights=wts, minlength=q)
        est = np.bincount(g, weights=wts * vals, minlength=q) / gw
        se = _im_se(est, gw)
        if not (math.isfinite(se) and se > 0):
            if degenerate is not None and r == 0.0:
                degenerate.append("; ".join(f"{k}->{v}" for k, v in sorted(assignment.items())))
            return r + 1.0, _TINY_SE  # |t| = 1e100: counted as extreme (conservative)
        w = gw / gw.sum()
        return r + float((q * w * est).mean()), se

    return statistic


def _im_se(est: np.ndarray, gw: np.ndarray) -> float:
    """The Ibragimov–Müller standard error of :func:`fvdid.estimators.group_t.group_t_test`.

    s / √q with s the sample standard deviation of x_g = q W_g θ̂_g (NaN for q < 2); the
    numbers of ``group_t_test(est, gw).std_error`` to rounding, without its frames.
    """
    q = len(est)
    if q < 2 or not (np.isfinite(est).all() and np.isfinite(gw).all() and (gw >= 0).all()):
        if q >= 2:  # let group_t_test say what is wrong with the input
            from fvdid.estimators.group_t import group_t_test

            group_t_test(dict(enumerate(est)), dict(enumerate(gw)))
        return float("nan")
    x = q * (gw / gw.sum()) * est
    return float(x.std(ddof=1) / np.sqrt(q))


def ri_pairs(cache: pd.DataFrame, slots: Mapping[str, Any], pool: Sequence[str], *, B: int,
             seed: int | None, alpha: float = 0.05) -> tuple[Any, int]:
    """Randomization test over the placebo-pair cache; returns the result and the degenerate count."""
    from fvdid.estimators.randomization import randomization_test

    degenerate: list[str] = []
    stat = ri_statistic(cache, slots, alpha=alpha, degenerate=degenerate)
    res = randomization_test(stat, list(slots), list(pool), go_live=dict(slots), method="t", B=B,
                             seed=seed, alpha=alpha, assume_linear=True)
    return res, len(set(degenerate))


@dataclass(frozen=True)
class ConleyTaberPairs(ResultMixin):
    """The Conley–Taber interval over placebo pairs (module docstring)."""

    estimate: float
    conf_low: float
    conf_high: float
    p_value: float
    n_combinations: int
    n_draws: int
    enumerated: bool
    ferman_pinto: dict[str, float]
    notes: tuple[str, ...] = ()
    draws: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain data, except ``draws``."""
        from fvdid._results import to_plain

        return {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name != "draws"}

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([{"estimate": self.estimate, "p_value": self.p_value,
                              "conf_low": self.conf_low, "conf_high": self.conf_high,
                              "n_draws": self.n_draws, "enumerated": self.enumerated}])


def conley_taber_pairs(actual: pd.DataFrame, placebo: pd.DataFrame, *, alpha: float = 0.05,
                       seed: int | None = None, ferman_pinto: bool = True) -> ConleyTaberPairs:
    """Conley–Taber interval of θ = Σ_p W_p θ_p from placebo pair estimates.

    Parameters
    ----------
    actual
        One row per actual pair: ``go_live``, ``theta``, ``n_fv`` (W_p = n_fv / Σ n_fv).
    placebo
        Placebo pairs of pool LAs: ``go_live``, ``theta``, ``n_fv``.
    ferman_pinto
        Rescale each placebo estimate to the size of the pair it stands in for.
    """
    from fvdid.estimators.conley_taber import _pvalue

    w = actual["n_fv"].to_numpy(float)
    w = w / w.sum()
    est = float(w @ actual["theta"].to_numpy(float))
    th = placebo["theta"].to_numpy(float)
    n = placebo["n_fv"].to_numpy(float)
    A, Bc = 0.0, 0.0
    if ferman_pinto:
        Z = np.column_stack([np.ones(len(n)), 1.0 / n])
        (A, Bc), _ = optimize.nnls(Z, th**2)
        if not (A > 0 or Bc > 0):
            raise DataCondition("insufficient_data", "every placebo pair estimate is 0: the "
                                "Ferman–Pinto variance model is zero")
    rows = []
    for (g, n_p), wp in zip(zip(actual["go_live"].astype(str), actual["n_fv"].to_numpy(float)), w):
        sel = (placebo["go_live"].astype(str) == g).to_numpy()
        if not sel.any():
            raise DataCondition("too_few_clusters", f"no placebo pair at the go-live date {g}")
        eta = th[sel]
        if ferman_pinto:
            eta = eta * np.sqrt((A + Bc / n_p) / (A + Bc / n[sel]))
        rows.append(wp * eta)
    n_comb = math.prod(len(r) for r in rows)
    if n_comb <= CT_ENUMERATE_MAX:
        draws = rows[0]
        for r in rows[1:]:
            draws = (draws[:, None] + r[None, :]).ravel()
        enumerated = True
    else:
        rng = np.random.default_rng(seed)
        draws = sum(r[rng.integers(0, len(r), size=CT_DRAWS)] for r in rows)
        enumerated = False
    draws = np.sort(np.asarray(draws, dtype=float))
    q_lo = float(np.quantile(draws, alpha / 2, method="inverted_cdf"))
    q_hi = -float(np.quantile(-draws, alpha / 2, method="inverted_cdf"))
    notes = []
    if n_comb * alpha / 2 < 1:
        notes.append(f"only {n_comb} placebo tuples: the interval cannot reach its nominal level")
    return ConleyTaberPairs(est, est - q_hi, est - q_lo, _pvalue(draws, est), int(n_comb),
                            int(draws.size), enumerated, {"A": float(A), "B": float(Bc)},
                            tuple(notes), draws)


@dataclass(frozen=True)
class PlaceboPairs(ResultMixin):
    """Randomization inference and Conley–Taber over placebo pairs (module docstring).

    Attributes
    ----------
    n_pool_eligible, pool
        LAs eligible for the pool; those used as placebo treatment LAs (after sampling and
        after dropping LAs without an estimate at every date).
    cache
        Every pair fitted: ``la, go_live, comparator, theta, n_fv, delta``, ``kind`` (actual,
        treated at another slot's date, pool).
    estimate_refit
        Σ W_p θ_p of the actual pairs refitted one by one (the statistics' scale).
    ri_*
        Randomization test: p-value of θ = 0, confidence set, assignments evaluated and there
        are, enumerated or sampled, degenerate assignments.
    ct
        The Conley–Taber interval.
    seconds
        Wall time of the stage.
    """

    outcome: str
    headline_estimate: float
    headline_model: str
    estimate_refit: float
    n_pool_eligible: int
    pool: tuple[str, ...]
    ri_p_value: float
    ri_conf_low: float
    ri_conf_high: float
    ri_n_evaluated: int
    ri_n_assignments: int
    ri_enumerated: bool
    ri_degenerate: int
    ri_t: float
    alpha: float
    ct: ConleyTaberPairs
    seconds: float
    B: int
    notes: tuple[str, ...] = ()
    cache: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def released(self) -> dict[str, Any]:
        """The numbers for results.json: every field but the per-LA cache and the CT draws."""
        from fvdid._results import to_plain

        out = {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)
               if f.name not in ("cache", "ct")}
        out["ct"] = to_plain(self.ct.to_dict())
        return out

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"method": "randomization inference, IM t over placebo pairs", "estimate": self.headline_estimate,
             "p_value": self.ri_p_value, "conf_low": self.ri_conf_low, "conf_high": self.ri_conf_high,
             "draws": self.ri_n_evaluated, "enumerated": self.ri_enumerated},
            {"method": "Conley–Taber over placebo pairs (Ferman–Pinto)", "estimate": self.headline_estimate,
             "p_value": self.ct.p_value, "conf_low": self.ct.conf_low, "conf_high": self.ct.conf_high,
             "draws": self.ct.n_draws, "enumerated": self.ct.enumerated},
        ])


# The pair-level estimate of every placebo and actual pair is the linear interaction-weighted
# one: a single pair's matched sample is too small for the logit's cell effects (constant
# covariates, separated cells: on the simulator most placebo pairs could not be fitted), and the
# randomization test of the sharp null of no effect is valid for any statistic, so a logit
# headline is tested with it too; the interval is on the same (probability) scale.


def _options(cfg: RunConfig) -> tuple[int, int]:
    return int(getattr(cfg, "ri_pool_max", 0)), int(getattr(cfg, "ri_B", 999))


def placebo_pairs(extract: Any, lam: Any, primary: Any | None, cfg: RunConfig) -> PlaceboPairs:
    """RI and Conley–Taber of the primary outcome's headline over placebo pairs.

    Parameters
    ----------
    extract
        The run's :class:`fvdid.io.Extract` (children, las, la_quarter).
    lam
        LA matching (:class:`fvdid.stages.la_matching.LAMatchingStage`).
    primary
        The primary outcome's :class:`~fvdid.stages.estimate.OutcomeEstimate` (its headline
        estimate and model, reported beside the refit), or None: nothing else depends on it, so
        the pipeline computes the stage while the primary is estimated and attaches the headline
        afterwards (:func:`with_headline`).
    cfg
        Run options (``ri_pool_max``, ``ri_B``, the seed and the primary's options).

    Raises
    ------
    DataCondition
        ``too_few_clusters`` when fewer than :data:`MIN_POOL` pool LAs have an estimate at every
        date; ``insufficient_data`` when an actual pair cannot be refitted.
    """
    from fvdid.stages._placebo_fit import eligible_pool
    from fvdid.stages.prepare import prepare

    t0 = time.perf_counter()
    pool_max = _options(cfg)[0]
    outcome = cfg.primary_outcome
    notes: list[str] = []
    pr = lam.pairs[lam.pairs["outcome"] == outcome]
    if pr.groupby("treated_la").size().max() > 1:
        raise DataCondition("insufficient_data", "placebo pairs need one comparator per treatment LA")
    real = dict(zip(pr["treated_la"].astype(str), pr["comparator_la"].astype(str)))
    las = extract.las.assign(la_code=extract.las["la_code"].astype(str))
    go = dict(zip(las["la_code"], las["go_live"]))
    slots = {t: go[t] for t in sorted(real)}
    pool_all = eligible_pool(lam, outcome, list(slots))
    if len(pool_all) < MIN_POOL:
        raise DataCondition("too_few_clusters", f"{len(pool_all)} eligible pool LA(s) besides the "
                            f"treated; placebo pairs need at least {MIN_POOL}")
    used = list(pool_all)
    if len(used) > pool_max:
        rng = np.random.default_rng(cfg.seed)
        used = sorted(rng.choice(np.array(used), size=pool_max, replace=False).tolist())
        notes.append(f"{pool_max} of the {len(pool_all)} eligible pool LAs sampled (seed {cfg.seed})")
    # comparators: the real ones for the actual pairs, the matching rule for the others
    with single_threaded_blas():
        comps = _comparators(lam, extract.la_quarter, outcome, slots, real, used, pool_all, notes)
    las_used = sorted({*slots, *used, *comps.values()})
    covs = (*cfg.child_covariates, *cfg.la_covariates)
    # the imputations with BLAS's own threads: their donors depend on its last bits (fvdid._blas)
    prep = prepare(extract.children, outcome=outcome, covariates=covs, las_in_analysis=las_used,
                   max_missing_share=cfg.max_missing_share, n_imputations=cfg.n_imputations,
                   seed=cfg.seed, categorical=cfg.categorical_covariates)
    sets = list(prep.imputed) if prep.imputed else [prep.analytic]
    with single_threaded_blas():  # ~500 small fits: no thread hand-offs (the same numbers)
        return _fit_and_test(primary, cfg, slots, comps, sets, prep.covariates, used, pool_all,
                             notes, t0)


def _comparators(lam: Any, la_quarter: pd.DataFrame, outcome: str, slots: Mapping[str, Any],
                 real: Mapping[str, str], used: Sequence[str], pool_all: Sequence[str],
                 notes: list[str]) -> dict[tuple[str, str], str]:
    """(LA, slot) -> comparator: the real one for an actual pair, the matching rule otherwise.

    :func:`~fvdid.stages._placebo_fit.placebo_comparators` (the panel standardised once), in
    the order and with the notes of one :func:`~fvdid.stages._placebo_fit.placebo_comparator`
    call per combination.
    """
    from fvdid.stages._placebo_fit import placebo_comparators

    combos = [(la, slot) for slot in slots for la in [*slots, *used] if la != slot]
    found = dict(zip(combos, placebo_comparators(lam, la_quarter, outcome,
                                                 [(la, slots[s]) for la, s in combos], pool_all)))
    comps: dict[tuple[str, str], str] = {}
    for slot, g in slots.items():
        for la in [*slots, *used]:
            if la == slot:
                comps[(la, slot)] = real[slot]
                continue
            c = found[(la, slot)]
            if c is None:
                notes.append(f"{la} at go-live {g}: no acceptable comparator")
            else:
                comps[(la, slot)] = c
    return comps


def _fit_and_test(primary: Any | None, cfg: RunConfig, slots: Mapping[str, Any],
                  comps: Mapping[tuple[str, str], str], sets: Sequence[pd.DataFrame],
                  covariates: Sequence[str], used: Sequence[str], pool_all: Sequence[str],
                  notes: list[str], t0: float) -> PlaceboPairs:
    """Every pair's fit, then randomization inference and Conley–Taber (:func:`placebo_pairs`)."""
    from fvdid.stages._placebo_fit import fit_pairs, shared_sets

    outcome, B = cfg.primary_outcome, _options(cfg)[1]
    shared = shared_sets(sets, outcome, covariates, cfg)
    rows = []
    for slot, g in slots.items():
        prs = pd.DataFrame([(la, c) for (la, s), c in comps.items() if s == slot],
                           columns=["treated_la", "comparator_la"])
        fits = fit_pairs(sets, prs, g, outcome, covariates, cfg,
                         delta_for=set(slots) - {slot}, notes=notes, shared=shared)
        for f in fits:
            kind = "actual" if f.la == slot else ("treated" if f.la in slots else "pool")
            rows.append({"la": f.la, "go_live": str(g), "comparator": f.comparator, "theta": f.theta,
                         "n_fv": f.n_fv, "delta": 1.0 if kind == "actual" else f.delta, "kind": kind})
    cache = pd.DataFrame(rows, columns=[*CACHE_COLUMNS, "kind"])
    n_dates = len(set(map(str, slots.values())))
    have = cache.groupby("la")["go_live"].nunique()
    full = set(have[have == n_dates].index)
    missing_actual = [s for s in slots if not ((cache["la"] == s) & (cache["kind"] == "actual")).any()]
    if missing_actual:
        raise DataCondition("insufficient_data", f"the actual pair(s) of {missing_actual} cannot be refitted")
    pool = [la for la in used if la in full]
    if len(pool) < len(used):
        notes.append(f"{len(used) - len(pool)} pool LA(s) without an estimate at every date left out")
    if len(pool) < MIN_POOL:
        raise DataCondition("too_few_clusters", f"{len(pool)} pool LA(s) with a placebo estimate at "
                            f"every date; at least {MIN_POOL} are needed")
    ri_units = [s for s in slots if s in full]
    if len(ri_units) < len(slots):
        # a treated LA lacking a pair at another slot's date cannot be reassigned: RI over the pool
        # alone would leave out assignments, so the stage stops
        raise DataCondition("insufficient_data", "treated LA(s) "
                            f"{sorted(set(slots) - set(ri_units))} have no placebo pair at some date")
    cache = cache[cache["la"].isin([*slots, *pool])].reset_index(drop=True)
    ri, n_deg = ri_pairs(cache, {s: str(g) for s, g in slots.items()}, pool, B=B, seed=cfg.seed,
                         alpha=cfg.alpha)
    notes.extend(ri.notes)
    if n_deg:
        notes.append(f"{n_deg} assignment(s) merge into fewer than two independent groups: counted as extreme")
    actual = cache[cache["kind"] == "actual"]
    ct = conley_taber_pairs(actual, cache[cache["kind"] == "pool"], alpha=cfg.alpha, seed=cfg.seed)
    lo, hi = ri.conf_int if ri.conf_int is not None else (math.nan, math.nan)
    return PlaceboPairs(
        outcome=outcome,
        headline_estimate=math.nan if primary is None else float(primary.estimate),
        headline_model="" if primary is None else str(primary.headline_model),
        estimate_refit=ct.estimate, n_pool_eligible=len(pool_all), pool=tuple(pool),
        ri_p_value=float(ri.p_value), ri_conf_low=float(lo), ri_conf_high=float(hi),
        ri_n_evaluated=int(ri.n_evaluated), ri_n_assignments=int(ri.n_assignments),
        ri_enumerated=bool(ri.enumerated), ri_degenerate=n_deg, ri_t=float(ri.statistic), alpha=float(cfg.alpha),
        ct=ct, seconds=time.perf_counter() - t0, B=B, notes=tuple(notes), cache=cache)


def with_headline(res: PlaceboPairs, primary: Any) -> PlaceboPairs:
    """``res`` with the primary's headline estimate and model (computed without them)."""
    return dataclasses.replace(res, headline_estimate=float(primary.estimate),
                               headline_model=str(primary.headline_model))


def placebo_pairs_section(res: PlaceboPairs | None, not_done: str = "") -> Section:
    """The appendix section: what was done (pool, assignments, p, intervals) and why."""
    why = ("Why: only five LAs are treated, each in its own matched pair, so every variance "
           "estimate of the headline rests on five treated LAs' shocks. Randomization inference "
           "(Fisher; MacKinnon & Webb 2020) and the Conley–Taber interval (Conley & Taber 2011, "
           "with Ferman & Pinto's 2019 correction for pairs of different sizes) learn the null "
           "distribution of a pair's effect from placebo pairs of untreated LAs instead.")
    if res is None:
        return Section("Randomization inference over placebo pairs",
                       (why, not_done or "Not done (switched off: ri_pool_max = 0)."))
    how = "every assignment enumerated" if res.ri_enumerated else (
        f"{res.ri_n_evaluated - 1:,} assignments sampled (seeded) besides the actual one")
    paras = (
        why,
        f"Pool: {len(res.pool)} placebo LAs (of {res.n_pool_eligible} eligible: LAs that passed LA "
        "matching's exclusion rules, without the treated LAs). Each went live at each treated LA's "
        "go-live date with its nearest pre-trend comparator, CEM within the pair, and the "
        "pair's linear interaction-weighted effect (one pair is too small a sample for the logit's "
        "cell effects; the randomization test of the sharp null of no effect holds for any "
        f"statistic, so it tests the {res.headline_model} headline too); the actual pairs were "
        f"refitted the same way (Σ W_p θ_p = {res.estimate_refit:+.4g}; headline "
        f"{res.headline_estimate:+.4g}).",
        f"Randomization inference on the pair-level t statistic (Ibragimov–Müller): {how} of "
        f"{res.ri_n_assignments:,}; p = {res.ri_p_value:.3f}; {1 - res.alpha:.0%} confidence set by "
        f"test inversion {res.ri_conf_low:+.4g} to {res.ri_conf_high:+.4g}.",
        f"Conley–Taber (Ferman–Pinto rescaled): {res.ct.n_draws:,} placebo tuples"
        f" ({'enumerated' if res.ct.enumerated else 'sampled'}); p = {res.ct.p_value:.3f}; "
        f"interval {res.ct.conf_low:+.4g} to {res.ct.conf_high:+.4g}.",
        *res.notes,
    )
    return Section("Randomization inference over placebo pairs", paras,
                   (AppendixTable("placebo_pairs", "Randomization inference and Conley–Taber over "
                                  "placebo pairs", res.tidy()),))

