"""Randomization inference at the LA level for few treated LAs, with test inversion.

The assignment space lives in :mod:`fvdid.estimators._ri_assign`, the test inversion in
:mod:`fvdid.estimators._ri_invert`.

The treated LAs' treatment (with their go-live dates) is reassigned to other LAs of the eligible
pool, the *same* estimator is re-run on every assignment, and the actual statistic is compared
with its permutation distribution (Fisher's randomization test of a sharp null of a constant
effect ``r``). With few treated clusters this is the method whose size does not rest on many
treated clusters (Conley & Taber 2011; MacKinnon & Webb 2020).

The statistic callable (the contract)
-------------------------------------
``statistic(assignment, r) -> (estimate, std_error)``:

* ``assignment`` is, when ``go_live`` is given, a ``dict`` mapping each treated LA (a *slot*:
  the bearer of a go-live date) to the LA that receives that slot's go-live date; without
  ``go_live``, a ``frozenset`` of pseudo-treated LAs. The actual assignment maps every treated
  LA to itself (or is the set of the treated LAs).
* ``r`` is the null value of the effect. Under the sharp null ``H0: beta = r`` the untreated
  outcome is ``y0 = y - r * D_actual`` (the outcome of the *actually* treated rows shifted by
  ``r``), and under assignment ``a`` one would have observed ``y0 + r * D_a``. The callable
  fits its estimator (e.g. the stacked DiD) to that outcome with the pseudo-treatment ``D_a``
  and returns the coefficient on ``D_a`` and its standard error. For a regression with ``D_a``
  as a regressor, adding ``r * D_a`` shifts the estimate by ``r`` and leaves residuals and
  standard error unchanged, so the callable may equally fit ``y0`` and return ``estimate + r``.
  At ``r = 0`` it simply re-runs the estimator with the reassigned treatment.
* The test statistic is ``(estimate - r) / std_error`` (``method="t"``: randomization
  inference on the t statistic is more robust than on the coefficient when LAs differ in size,
  MacKinnon & Webb 2020), or ``estimate - r`` (``method="coef"``; ``std_error`` may be NaN).

Assignments and p-value
-----------------------
Assignments that give two treated LAs with the same go-live date to the same pair of LAs in
swapped order are the same assignment and counted once: the number of assignments is the
multinomial ``prod_d C(n_remaining, k_d)`` over go-live dates ``d`` (``C(n, k)`` without dates),
``n`` = treated LAs + pool. When that number is at most ``enumerate_max`` (default ``B + 1``,
so enumeration never costs more than sampling) every assignment is evaluated
(``enumerated=True``); otherwise ``B`` distinct assignments other than the actual one are drawn
without duplicates from a seeded ``numpy`` generator. Either way the actual assignment is part
of the distribution and the two-sided p-value is

    p = (1 + #{other assignments with |s*| >= |s|}) / (1 + n_other),

which under full enumeration is the exact proportion of all assignments whose statistic is at
least as extreme as the actual one. Ties are counted as extreme: ``|s*| >= |s| (1 - 1e-12)``
(a relative allowance for rounding of statistics that are equal by symmetry).

Confidence set
--------------
By test inversion: ``{r : p(r) > alpha}``, evaluated over a null grid (default: the estimate
``± grid_width`` standard errors in ``grid_points`` steps, widened while an end of the grid is
still accepted) and refined at both ends by bisection. ``ci_grid`` holds every ``(r, p)``
evaluated. Each ``r`` re-runs the estimator on every assignment; ``assume_linear=True`` (exact
for least-squares estimators with sandwich standard errors, where the estimate is linear and
the squared standard error quadratic in ``r``) evaluates the callable at ``r = -1, 0, 1`` only,
checks linearity at ``r = 2`` on the actual assignment, and interpolates exactly.

Ferman & Pinto (2019) correction
--------------------------------
With LAs of different sizes, the DiD residual of a small LA is more variable, so pseudo-treated
small LAs produce extreme statistics (over-rejection when the treated LAs are small, and
under-rejection when large). Ferman & Pinto ("Inference in differences-in-differences with few
treated groups and heteroskedasticity", REStat 101(3), 2019) model the variance of an LA's
DiD residual ``W_j`` (mean post-period residual minus mean pre-period residual) as a known
function of its size ``M_j``, ``var(W_j | M_j) = A + B / M_j``, estimated by least squares of
``W_j^2`` on ``(1, 1/M_j)`` over the control LAs, and rescale by it. Here the least squares are
non-negative (``A, B >= 0``, ``scipy.optimize.nnls``): with a handful of control LAs an
unconstrained fit can give a negative variance to a small LA. Here
(``ferman_pinto=True``, with ``sizes`` and ``la_residuals``) each assignment's estimate is
studentised by the model-implied standard deviation of the DiD contrast
``mean_{T_a} W - mean_{C_a} W``,

    sd_a = sqrt( sum_{j in T_a} v_j / |T_a|^2 + sum_{j in C_a} v_j / |C_a|^2 ),  v_j = A + B/M_j,

and the statistic is ``(estimate - r) / sd_a``: the randomization analogue of their residual
rescaling (their bootstrap draws control residuals normalised by ``sqrt(v_j)``); it weighs the
LAs equally in the contrast, as the aggregate DiD of the paper does. The correction is only as
good as the fitted variance model: in a check with 2 small treated LAs (M = 20) among 20 and
18 mostly large controls (300 replications, nominal 5 %), RI on the coefficient rejected 34 %,
on t 19 %, with this correction 16 %, and with the true variances 4 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize

from fvdid._results import ResultMixin, to_plain
from fvdid.errors import FvdidInputError
from fvdid.estimators._ri_assign import (
    AssignmentSpace,
    check_pair,
    choose_assignments,
    sort_unique,
)
from fvdid.estimators._ri_invert import invert, linear_in_r

__all__ = ["RandomizationResult", "randomization_test"]

Assignment = Mapping[Hashable, Hashable] | frozenset
StatisticFn = Callable[[Any, float], tuple[float, float]]

_TIE_RTOL = 1e-12


@dataclass(frozen=True)
class RandomizationResult(ResultMixin):
    """Result of :func:`randomization_test`.

    Attributes
    ----------
    estimate, std_error, statistic
        The actual assignment's estimate, standard error and test statistic at ``null``.
    p_value
        Two-sided randomization p-value of ``H0: beta = null`` (convention in the module
        docstring).
    conf_int
        ``(lower, upper)`` by test inversion, or ``None`` when not computed. An end equal to
        a grid end that was still accepted after widening is reported with a note.
    n_assignments
        Number of distinct assignments there are.
    n_evaluated
        Assignments in the distribution (the actual one included).
    enumerated
        True when every assignment was evaluated; False for a seeded random sample.
    statistics
        The permutation distribution at ``null``: index ``assignment`` (label such as
        ``"LA1->LA7; LA2->LA3"`` or ``"LA3+LA7"``), columns ``estimate``, ``std_error``,
        ``statistic``, ``actual`` (bool).
    ci_grid
        Every null value evaluated for the confidence set: columns ``r``, ``p_value``.
    fp_variance
        ``{"A": A, "B": B}`` of the Ferman–Pinto variance model, or ``None``.
    """

    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_int: tuple[float, float] | None
    null: float
    method: str
    ferman_pinto: bool
    alpha: float
    n_assignments: int
    n_evaluated: int
    enumerated: bool
    B: int
    seed: int | None
    n_treated: int
    n_pool: int
    statistics: pd.DataFrame
    ci_grid: pd.DataFrame
    fp_variance: dict[str, float] | None
    notes: tuple[str, ...]

    def tidy(self) -> pd.DataFrame:
        lo, hi = self.conf_int if self.conf_int is not None else (math.nan, math.nan)
        return pd.DataFrame(
            [
                {
                    "term": "treatment",
                    "estimate": self.estimate,
                    "std_error": self.std_error,
                    "statistic": self.statistic,
                    "p_value": self.p_value,
                    "conf_low": lo,
                    "conf_high": hi,
                    "method": "randomization-" + self.method + ("-fp" if self.ferman_pinto else ""),
                    "n_assignments": self.n_evaluated,
                    "enumerated": self.enumerated,
                }
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """Every public field as plain data; ``statistics`` keeps its assignment labels."""
        d = super().to_dict()
        d["statistics"] = to_plain(self.statistics.reset_index())
        return d

    def summary(self) -> str:
        how = "full enumeration" if self.enumerated else f"random sample (seed={self.seed})"
        head = (
            f"RandomizationResult: method={self.method}"
            + (" + Ferman-Pinto" if self.ferman_pinto else "")
            + f"  treated={self.n_treated}  pool={self.n_pool}  assignments={self.n_evaluated}"
            f" of {self.n_assignments} ({how})"
        )
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.tidy().to_string(index=False)
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return f"{head}\n{body}{notes}"


def randomization_test(
    statistic: StatisticFn,
    treated: Sequence[Hashable],
    pool: Sequence[Hashable],
    *,
    go_live: Mapping[Hashable, Any] | None = None,
    method: Literal["t", "coef"] = "t",
    null: float = 0.0,
    B: int = 9999,
    enumerate_max: int | None = None,
    ferman_pinto: bool = False,
    sizes: Mapping[Hashable, float] | None = None,
    la_residuals: Mapping[Hashable, float] | None = None,
    alpha: float = 0.05,
    conf_int: bool = True,
    null_grid: Sequence[float] | None = None,
    grid_points: int = 41,
    grid_width: float = 6.0,
    refine: int = 12,
    assume_linear: bool = False,
    seed: int | None = None,
) -> RandomizationResult:
    """Randomization test of ``H0: beta = null`` by reassigning treatment across LAs.

    Parameters
    ----------
    statistic
        ``statistic(assignment, r) -> (estimate, std_error)``; the contract is in the module
        docstring.
    treated
        The treated LAs (labels).
    pool
        The eligible comparator LAs (those that passed the exclusion rules). Treated LAs listed
        here too are ignored; the assignments draw from treated + pool.
    go_live
        ``{treated LA: go-live date}``. Given, each assignment hands each treated LA's date to
        one LA (``assignment`` is a dict slot -> receiving LA); omitted, assignments are sets of
        pseudo-treated LAs.
    method
        ``"t"`` (default) or ``"coef"``.
    null
        Null value of the p-value.
    B
        Random assignments (other than the actual one) when not enumerating.
    enumerate_max
        Enumerate every assignment when there are at most this many (default ``B + 1``).
    ferman_pinto, sizes, la_residuals
        Ferman–Pinto studentisation: ``sizes`` gives ``M_j`` for every LA (e.g. children or
        observations), ``la_residuals`` the DiD residual ``W_j`` of at least three pool LAs.
    alpha
        Level of the confidence set.
    conf_int, null_grid, grid_points, grid_width, refine
        Whether to invert the test; the grid of null values (default: estimate ± ``grid_width``
        se in ``grid_points`` steps, widened up to 4 times while an end is accepted); the
        bisection steps at each end.
    assume_linear
        Evaluate at ``r = -1, 0, 1`` only and interpolate (see the module docstring).
    seed
        Seed of the random sample (``numpy.random.default_rng``).

    Returns
    -------
    RandomizationResult
    """
    if not callable(statistic):
        raise FvdidInputError("statistic must be a callable (assignment, r) -> (estimate, se)")
    if method not in ("t", "coef"):
        raise FvdidInputError(f"method must be 't' or 'coef'; got {method!r}")
    if not 0 < alpha < 1:
        raise FvdidInputError(f"alpha must be in (0, 1); got {alpha!r}")
    if int(B) < 1:
        raise FvdidInputError(f"B must be a positive integer; got {B!r}")
    treated = list(treated)
    if not treated:
        raise FvdidInputError("treated is empty: at least one treated LA is needed")
    dup = [u for u in set(treated) if treated.count(u) > 1]
    if dup:
        raise FvdidInputError(f"treated lists LA(s) {dup} more than once")
    pool_list = list(dict.fromkeys(pool))
    comparators = [u for u in pool_list if u not in set(treated)]
    if not comparators:
        raise FvdidInputError("pool has no LA besides the treated ones: nothing to reassign to")
    units: list[Hashable] = [*treated, *comparators]
    notes: list[str] = []
    if go_live is not None:
        missing = [u for u in treated if u not in go_live]
        if missing:
            raise FvdidInputError(f"go_live has no date for treated LA(s) {missing}")
        dates = sort_unique([go_live[u] for u in treated])
        groups = [[i for i, u in enumerate(treated) if go_live[u] == d] for d in dates]
        space = AssignmentSpace(units, groups, dated=True)
    else:
        space = AssignmentSpace(units, [list(range(len(treated)))], dated=False)

    # Ferman-Pinto variance model
    fp_var: dict[str, float] | None = None
    v = np.zeros(0)
    if ferman_pinto:
        if sizes is None or la_residuals is None:
            raise FvdidInputError("ferman_pinto=True needs sizes= and la_residuals=")
        no_size = [u for u in units if u not in sizes]
        if no_size:
            raise FvdidInputError(f"sizes has no size for LA(s) {no_size[:5]}")
        m = np.array([float(sizes[u]) for u in units])
        if not np.all(np.isfinite(m) & (m > 0)):
            raise FvdidInputError("sizes must be positive and finite for every LA")
        ctrl = [u for u in comparators if u in la_residuals]
        if len(ctrl) < 3:
            raise FvdidInputError(
                f"la_residuals has residuals for {len(ctrl)} pool LAs; at least 3 are needed to fit "
                "var(W | M) = A + B / M"
            )
        wres = np.array([float(la_residuals[u]) for u in ctrl])
        mc = np.array([float(sizes[u]) for u in ctrl])
        Z = np.column_stack([np.ones(len(ctrl)), 1.0 / mc])
        if np.linalg.matrix_rank(Z) < 2:
            raise FvdidInputError("the pool LAs all have the same size: B in A + B/M is not identified")
        (a_hat, b_hat), _ = optimize.nnls(Z, wres**2)
        v = a_hat + b_hat / m
        if np.any(v <= 0):
            raise FvdidInputError(
                "the fitted Ferman-Pinto variance A + B/M is zero (every pool LA residual is 0)"
            )
        fp_var = {"A": float(a_hat), "B": float(b_hat)}
        if method == "coef":
            notes.append("ferman_pinto=True studentises the coefficient by the variance model")

    # which assignments
    B = int(B)
    keys, enumerated = choose_assignments(space, B, enumerate_max, seed, notes)
    labels = [space.label(k) for k in keys]
    user = [space.to_user(k) for k in keys]
    if ferman_pinto:
        n, kt = space.n, len(treated)
        sd_fp = np.empty(len(keys))
        for i, key in enumerate(keys):
            tmask = np.zeros(n, dtype=bool)
            tmask[space.treated_positions(key)] = True
            sd_fp[i] = math.sqrt(v[tmask].sum() / kt**2 + v[~tmask].sum() / (n - kt) ** 2)

    cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def raw(r: float) -> tuple[np.ndarray, np.ndarray]:
        if r not in cache:
            pairs = [check_pair(statistic(a, r), lab, method) for a, lab in zip(user, labels)]
            cache[r] = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
        return cache[r]

    evaluate = raw
    if assume_linear:
        evaluate = linear_in_r(
            raw, lambda r: check_pair(statistic(user[0], r), labels[0], method), method
        )

    def stat(r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        est, se = evaluate(r)
        if ferman_pinto:
            s = (est - r) / sd_fp
        elif method == "t":
            s = (est - r) / se
        else:
            s = est - r
        return est, se, s

    def pval(r: float) -> float:
        s = np.abs(stat(r)[2])
        return float(np.mean(s >= s[0] * (1 - _TIE_RTOL)))

    est, se, s = stat(float(null))
    p = pval(float(null))
    dist = pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "statistic": s,
            "actual": np.arange(len(keys)) == 0,
        },
        index=pd.Index(labels, name="assignment"),
    )

    grid_rows: dict[float, float] = {}
    ci: tuple[float, float] | None = None
    if conf_int:
        ci = invert(pval, grid_rows, null_grid, float(est[0]), float(se[0]) if method == "t" else
                     float(np.std(est)), alpha, grid_points, grid_width, refine, notes)
    grid = pd.DataFrame(sorted(grid_rows.items()), columns=["r", "p_value"])
    return RandomizationResult(
        estimate=float(est[0]),
        std_error=float(se[0]),
        statistic=float(s[0]),
        p_value=p,
        conf_int=ci,
        null=float(null),
        method=method,
        ferman_pinto=bool(ferman_pinto),
        alpha=float(alpha),
        n_assignments=int(space.count),
        n_evaluated=len(keys),
        enumerated=enumerated,
        B=B,
        seed=seed,
        n_treated=len(treated),
        n_pool=len(comparators),
        statistics=dist,
        ci_grid=grid,
        fp_variance=fp_var,
        notes=tuple(notes),
    )
