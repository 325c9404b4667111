"""Callaway & Sant'Anna (2021) group-time average treatment effects, ATT(g,t).

Semantics of R ``did::att_gt`` 2.1.2 with the 2×2 estimators of ``DRDID`` 1.2.3 (see
:mod:`fvdid._drdid`); the aggregations live in :mod:`fvdid.aggte`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, describe_rows, require_columns
from fvdid.estimators import _drdid

__all__ = ["AttGtResult", "att_gt"]

Control = Literal["never_treated", "not_yet_treated"]
Method = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]

_SE_FLOOR = math.sqrt(np.finfo(float).eps) * 10  # did: se <= sqrt(eps)*10 is reported as NA
_EPS = float(np.finfo(float).eps)


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttGtResult(ResultMixin):
    """Group-time average treatment effects.

    Attributes
    ----------
    table
        One row per ATT(g,t) in did's order (groups ascending, then periods): ``group``, ``time``,
        ``att``, ``se``, ``conf_low``, ``conf_high`` (uniform band when ``cband`` and
        ``bootstrap``, pointwise otherwise) and ``post`` (``group <= time``).
    influence
        ``n_units × n_gt`` influence functions (columns in table order, labels in ``labels``),
        scaled as in did: ``se = sqrt(mean(IF**2) / n_units)``.
    labels
        ``"g:t"`` column labels of ``influence`` and ``vcov``.
    vcov
        Analytic variance matrix of the ATT(g,t) estimates, ``IF'IF / n**2`` (labelled).
    wald_stat, wald_pvalue
        Wald pre-test of parallel trends from the pre-treatment ATT(g,t)s (``None`` when there
        are none, when one is missing, or when their variance matrix is singular, as in did).
        did rounds the p-value to 5 decimals; fvdid reports it unrounded.
    crit_val
        Critical value of the bands in ``table`` (sup-t from the multiplier bootstrap, or the
        normal quantile).
    n_units
        Number of cross-sectional units (units for panels, observations for repeated
        cross-sections, distinct units for unbalanced panels).
    notes
        Every preprocessing rule that changed the data or the output, announced.
    unit_weights, unit_cohort, unit_cluster
        Per-unit sampling weight (as did's aggregation uses it), cohort, and cluster code
        (``None`` without a cluster variable), in the row order of ``influence``.
    group_probs
        ``P(G = g)`` estimated with the sampling weights, per group.
    """

    table: pd.DataFrame
    influence: np.ndarray
    labels: tuple[str, ...]
    vcov: pd.DataFrame
    wald_stat: float | None
    wald_pvalue: float | None
    wald_df: int | None
    crit_val: float
    n_units: int
    notes: tuple[str, ...]
    groups: tuple[int | float, ...]
    periods: tuple[int | float, ...]
    unit_weights: np.ndarray
    unit_cohort: np.ndarray
    unit_cluster: np.ndarray | None
    group_probs: pd.Series
    method: str
    control: str
    anticipation: float
    base_period: str
    panel: bool
    bootstrap: bool
    n_boot: int
    cband: bool
    alpha: float
    seed: int | None
    n_dropped: int = 0
    _boot_draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def params(self) -> pd.Series:
        """ATT(g,t) labelled ``"g:t"``."""
        return pd.Series(self.table["att"].to_numpy(), index=list(self.labels), name="att")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors labelled ``"g:t"`` (bootstrap when ``bootstrap=True``)."""
        return pd.Series(self.table["se"].to_numpy(), index=list(self.labels), name="se")

    def tidy(self) -> pd.DataFrame:
        """The table with a ``term`` column (``"g:t"``)."""
        out = self.table.copy()
        out.insert(0, "term", list(self.labels))
        return out

    def summary(self) -> str:
        """Plain-text summary: the ATT(g,t) table, the pre-test, the notes."""
        band = "simultaneous" if (self.cband and self.bootstrap) else "pointwise"
        lines = [
            "AttGtResult: group-time average treatment effects (Callaway & Sant'Anna 2021)",
            f"method={self.method} control={self.control} base_period={self.base_period} "
            f"anticipation={self.anticipation:g} panel={self.panel} n_units={self.n_units}",
            f"{round((1 - self.alpha) * 100)}% {band} confidence bands "
            f"(critical value {self.crit_val:.4f}; "
            f"{'multiplier bootstrap SEs' if self.bootstrap else 'analytic SEs'})",
        ]
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            lines.append(self.table.to_string(index=False))
        if self.wald_stat is None:
            lines.append("Wald pre-test of parallel trends: not available")
        else:
            lines.append(
                f"Wald pre-test of parallel trends: W = {self.wald_stat:.4f} "
                f"(df = {self.wald_df}), p = {self.wald_pvalue:.5f}"
            )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def plot(self, *, ax: Any = None, title: str | None = None) -> Any:
        """Event-study style figure of the ATT(g,t): one panel per group, CIs by period.

        Returns the matplotlib ``Figure``. Pre-treatment estimates are drawn in grey, post in
        blue, with the bands of ``table``.
        """
        import matplotlib.pyplot as plt

        groups = list(self.groups)
        if ax is None:
            fig, axes = plt.subplots(
                len(groups), 1, figsize=(7, 2.2 * len(groups) + 0.6), sharex=True, squeeze=False
            )
            axes = axes[:, 0]
        else:
            axes = np.atleast_1d(ax)
            fig = axes[0].figure
        for a, g in zip(axes, groups):
            sub = self.table[self.table["group"] == g]
            for is_post, colour in ((False, "0.45"), (True, "tab:blue")):
                s = sub[sub["post"] == is_post]
                if s.empty:
                    continue
                yerr = np.vstack([s["att"] - s["conf_low"], s["conf_high"] - s["att"]])
                a.errorbar(
                    s["time"],
                    s["att"],
                    yerr=yerr,
                    fmt="o",
                    color=colour,
                    capsize=3,
                    label="post" if is_post else "pre",
                )
            a.axhline(0.0, color="black", lw=0.8)
            a.set_ylabel("ATT")
            a.set_title(f"group {g:g}", fontsize=9, loc="left")
        axes[-1].set_xlabel("period")
        axes[0].legend(loc="best", fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig


# --------------------------------------------------------------------------------------------
# multiplier bootstrap (did::mboot with BMisc::multiplier_bootstrap)
# --------------------------------------------------------------------------------------------


def _quantile_type1(x: np.ndarray, p: float) -> float:
    """R's ``quantile(x, p, type = 1)`` (inverse empirical cdf with R's fuzz)."""
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    if n == 0:
        return float("nan")
    nppm = n * p
    j = math.floor(nppm + 4 * _EPS)
    h = 1 if nppm > j else 0
    idx = min(max(j + h, 1), n)
    return float(x[idx - 1])


def multiplier_bootstrap(
    inf: np.ndarray,
    *,
    n_boot: int,
    alpha: float,
    rng: np.random.Generator,
    cluster: np.ndarray | None = None,
) -> dict[str, Any]:
    """did's multiplier bootstrap: Rademacher multipliers, IQR-based SEs, sup-t critical value.

    ``inf``: ``n × K`` influence functions; ``cluster``: integer codes per row (multipliers drawn
    per cluster on the cluster means of the influence function), or ``None`` (per row).
    Returns ``draws`` (``n_boot × K``, NaN for degenerate columns), ``se`` (NaN for degenerate
    columns), ``crit_val`` and ``bsigma``.
    """
    inf = np.asarray(inf, dtype=float)
    if inf.ndim == 1:
        inf = inf[:, None]
    n, k = inf.shape
    if cluster is None:
        psi = inf
        m = n
    else:
        codes, cl = np.unique(cluster, return_inverse=True)
        m = codes.size
        counts = np.bincount(cl, minlength=m).astype(float)
        psi = np.zeros((m, k))
        np.add.at(psi, cl, inf)
        psi /= counts[:, None]
    finite_cols = np.all(np.isfinite(psi), axis=0)
    psi_f = np.where(np.isfinite(psi), psi, 0.0)
    draws = np.empty((n_boot, k))
    chunk = max(1, min(n_boot, int(4_000_000 // max(m, 1))))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        u = rng.integers(0, 2, size=(b, m), dtype=np.int8).astype(float) * 2.0 - 1.0
        draws[start : start + b] = (u @ psi_f) / m
    draws *= math.sqrt(m)
    draws[:, ~finite_cols] = np.nan
    ok = finite_cols & (np.nansum(draws**2, axis=0) > _SE_FLOOR)
    q = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)
    bsigma = np.full(k, np.nan)
    for j in np.flatnonzero(ok):
        col = draws[:, j]
        bsigma[j] = (_quantile_type1(col, 0.75) - _quantile_type1(col, 0.25)) / q
    se = bsigma / math.sqrt(m)
    crit = float("nan")
    if ok.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.abs(draws[:, ok] / bsigma[ok])
        t = np.where(np.isfinite(t), t, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bt = np.nanmax(t, axis=1)
        bt = bt[np.isfinite(bt)]
        crit = _quantile_type1(bt, 1 - alpha)
    return {"draws": draws, "se": se, "crit_val": crit, "bsigma": bsigma, "ok": ok, "n": m}


# --------------------------------------------------------------------------------------------
# preprocessing
# --------------------------------------------------------------------------------------------


def _announce(notes: list[str], msg: str) -> None:
    notes.append(msg)
    warnings.warn(msg, UserWarning, stacklevel=3)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _design(frame: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Intercept plus covariates; non-numeric columns expand to treatment-coded dummies."""
    cols = [np.ones(len(frame))]
    names = ["(Intercept)"]
    for c in covariates:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
        else:
            levels = sorted(pd.unique(s))
            for lev in levels[1:]:
                cols.append((s == lev).to_numpy(dtype=float))
                names.append(f"{c}{lev}")
    return np.column_stack(cols), names


def _check_design(X: np.ndarray, names: list[str], covariates: tuple[str, ...]) -> None:
    for j, name in enumerate(names[1:], start=1):
        col = X[:, j]
        if np.all(col == col[0]):
            raise FvdidInputError(
                f"covariate {name!r} is constant ({col[0]:g}) in the estimation sample; did's "
                "2x2 regressions and propensity scores cannot be estimated with it (DRDID stops "
                "with 'lack of variation of covariates'): remove it from covariates"
            )
    if X.shape[1] > 1:
        rank = np.linalg.matrix_rank(X)
        if rank < X.shape[1]:
            raise FvdidInputError(
                f"covariates {list(covariates)} are collinear with each other or the intercept "
                f"(design rank {rank} < {X.shape[1]} columns)"
            )


@dataclass
class _Prepared:
    data: pd.DataFrame
    tlist: np.ndarray
    glist: np.ndarray
    n: int
    panel: bool  # balanced-panel path
    unit_codes: np.ndarray | None  # per row: unit index 0..n-1 (RC / unbalanced)
    notes: list[str]
    n_dropped: int
    cband: bool


def _preprocess(
    data: pd.DataFrame,
    *,
    y: str,
    time: str,
    cohort: str,
    unit: str | None,
    covariates: tuple[str, ...],
    panel: bool,
    control: str,
    anticipation: float,
    weights: str | None,
    cluster: str | None,
    allow_unbalanced_panel: bool,
    cband: bool,
) -> _Prepared:
    notes: list[str] = []
    n_input = len(data)
    needed = [y, time, cohort, *covariates]
    if panel or allow_unbalanced_panel:
        if unit is None:
            raise FvdidInputError("panel=True needs unit= (the unit identifier column)")
    for c in (unit, weights, cluster):
        if c is not None:
            needed.append(c)
    require_columns(data, list(dict.fromkeys(needed)), what="att_gt data")
    d = data[list(dict.fromkeys(needed))].copy()

    for c in (time, cohort):
        if not pd.api.types.is_numeric_dtype(d[c]):
            raise FvdidInputError(
                f"column {c!r} must be numeric (did: 'data[, {'tname' if c == time else 'gname'}] "
                f"must be numeric'); got dtype {d[c].dtype}"
            )
    if not pd.api.types.is_numeric_dtype(d[y]):
        raise FvdidInputError(f"outcome column {y!r} must be numeric; got dtype {d[y].dtype}")

    miss = d.isna().any(axis=1)
    if miss.any():
        _announce(
            notes,
            f"dropped {int(miss.sum())} rows with missing values in "
            f"{[c for c in d.columns if d[c].isna().any()]} "
            f"({describe_rows(d.index[miss])}) (did drops incomplete rows)",
        )
        d = d[~miss]
    if d.empty:
        raise FvdidInputError("no complete rows left in the data")

    if weights is not None:
        wv = d[weights].to_numpy(dtype=float)
        if np.any(wv < 0) or not np.all(np.isfinite(wv)):
            bad = d.index[(wv < 0) | ~np.isfinite(wv)]
            raise FvdidInputError(
                f"weights column {weights!r} must be finite and non-negative; "
                f"{describe_rows(bad)} are not"
            )

    coh = d[cohort].to_numpy(dtype=float)
    if np.any(coh < 0):
        raise FvdidInputError(
            f"column {cohort!r} must hold the first treated period (0 = never treated); "
            f"{describe_rows(d.index[coh < 0])} hold negative values"
        )
    tlist = np.sort(d[time].unique().astype(float))

    # cohorts that are first treated after the last period are never treated within the sample
    late = coh > tlist[-1]
    if late.any():
        _announce(
            notes,
            f"{int(late.sum())} rows have {cohort!r} after the last period "
            f"({_fmt(tlist[-1])}): treated as never treated (cohort 0), as did does",
        )
        d.loc[late, cohort] = 0
        coh = d[cohort].to_numpy(dtype=float)

    # a cohort must be one of the periods of the data
    inside = (coh > tlist[0]) & ~np.isin(coh, tlist)
    if inside.any():
        vals = sorted(set(coh[inside].tolist()))
        raise FvdidInputError(
            f"column {cohort!r} holds cohort(s) {[_fmt(v) for v in vals]} that are not periods "
            f"of column {time!r} (periods: {[_fmt(v) for v in tlist]}); "
            f"{describe_rows(d.index[inside])}; recode the cohort as the first treated period"
        )

    if unit is not None and (panel or allow_unbalanced_panel):
        per_unit = d.groupby(unit, sort=False)[cohort].nunique()
        changing = per_unit.index[per_unit > 1]
        if len(changing):
            rows = d.index[d[unit].isin(changing)]
            raise FvdidInputError(
                f"column {cohort!r} must be constant within each unit of {unit!r}; "
                f"{len(changing)} units change cohort over time (e.g. {list(changing[:5])}); "
                f"{describe_rows(rows)}"
            )
        dup = d.duplicated([unit, time], keep=False)
        if dup.any():
            raise FvdidInputError(
                f"({unit!r}, {time!r}) must identify rows; {describe_rows(d.index[dup])} repeat a "
                "unit-period pair"
            )
        if cluster is not None and cluster != unit:
            cl_n = d.groupby(unit, sort=False)[cluster].nunique()
            if (cl_n > 1).any():
                raise FvdidInputError(
                    f"cluster column {cluster!r} varies within units of {unit!r} "
                    f"(e.g. {list(cl_n.index[cl_n > 1][:5])}); did cannot handle time-varying "
                    "cluster variables"
                )

    glist = np.sort(np.unique(coh))
    if not np.any(glist == 0):
        if control == "never_treated":
            raise FvdidInputError(
                f"no never-treated units (cohort 0 in {cohort!r}) but control='never_treated'; "
                "use control='not_yet_treated' (did: 'There is no available never-treated group')"
            )
        gmax = glist.max()
        keep = d[time].to_numpy(dtype=float) < gmax - anticipation
        _announce(
            notes,
            f"no never-treated units: periods >= {_fmt(gmax - anticipation)} dropped "
            f"({int((~keep).sum())} rows) and cohort {_fmt(gmax)} only serves as a comparison "
            "group, as did does",
        )
        d = d[keep]
        tlist = np.sort(d[time].unique().astype(float))
        glist = np.sort(d[cohort].unique().astype(float))
        glist = glist[glist < glist.max()]

    glist = glist[glist > 0]
    glist = glist[glist > tlist[0] + anticipation]

    coh = d[cohort].to_numpy(dtype=float)
    first = (coh <= tlist[0]) & (coh != 0)
    if first.any():
        nfirst = d.loc[first, unit].nunique() if panel else int(first.sum())
        keep = np.isin(coh, np.concatenate([[0.0], glist]))
        what = "units" if panel else "observations"
        _announce(
            notes,
            f"dropped {nfirst} {what} already treated in the first period "
            f"({_fmt(tlist[0])}); {int((~keep).sum())} rows removed, as did does",
        )
        d = d[keep]
        tlist = np.sort(d[time].unique().astype(float))
        glist = np.sort(d[cohort].unique().astype(float))
        glist = glist[glist > 0]
        glist = glist[glist > tlist[0] + anticipation]

    use_panel = panel
    unit_codes = None
    if panel and not allow_unbalanced_panel:
        counts = d.groupby(unit, sort=False)[time].transform("size").to_numpy()
        full = counts == len(tlist)
        if not full.all():
            n_old = d[unit].nunique()
            d = d[full]
            n_new = d[unit].nunique()
            _announce(
                notes,
                f"dropped {n_old - n_new} units ({int((~full).sum())} rows) not observed in all "
                f"{len(tlist)} periods to balance the panel, as did does "
                "(allow_unbalanced_panel=True keeps them)",
            )
        if d.empty:
            raise FvdidInputError(
                "all observations dropped when balancing the panel; consider panel=False "
                "or allow_unbalanced_panel=True"
            )
        d = d.sort_values([unit, time], kind="mergesort")
        n = int(d[unit].nunique())
    else:
        use_panel = False
        if panel:  # unbalanced panel: repeated cross-section path, unit-clustered IF
            d = d.sort_values([unit, time], kind="mergesort")
            unit_codes = pd.factorize(d[unit], sort=True)[0]
        else:
            unit_codes = np.arange(len(d))
        n = int(unit_codes.max()) + 1 if len(d) else 0

    if glist.size == 0:
        raise FvdidInputError(
            f"no valid groups: column {cohort!r} should hold the period a unit is first treated "
            "(0 if never treated), with at least one cohort after the first period (+ anticipation)"
        )

    if len(tlist) == 2 and cband:
        cband = False
        notes.append("only two periods: uniform bands equal pointwise intervals (cband off)")

    # warn about small groups (did: fewer than (number of covariates + 5) units)
    nt = len(tlist)
    gsize = d.groupby(cohort)[time].size() / nt
    req = len(covariates) + 5
    small = gsize[gsize < req]
    if len(small):
        _announce(
            notes,
            f"small groups (fewer than {req} units): cohorts {[_fmt(g) for g in small.index]}",
        )
        if 0 in small.index and control == "never_treated":
            raise FvdidInputError(
                "the never-treated group is too small; try control='not_yet_treated'"
            )

    return _Prepared(
        data=d,
        tlist=tlist,
        glist=glist,
        n=n,
        panel=use_panel,
        unit_codes=unit_codes,
        notes=notes,
        n_dropped=n_input - len(d),
        cband=cband,
    )


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------


def att_gt(
    data: pd.DataFrame,
    *,
    y: str,
    time: str,
    cohort: str,
    unit: str | None = None,
    covariates: tuple[str, ...] | list[str] = (),
    panel: bool = True,
    control: Control = "never_treated",
    anticipation: float = 0,
    method: Method = "dr",
    base_period: BasePeriod = "varying",
    weights: str | None = None,
    cluster: str | None = None,
    allow_unbalanced_panel: bool = False,
    bootstrap: bool = False,
    n_boot: int = 1000,
    cband: bool = False,
    alpha: float = 0.05,
    seed: int | None = None,
) -> AttGtResult:
    """Group-time average treatment effects of Callaway & Sant'Anna (2021).

    Parameters (R ``did::att_gt`` 2.1.2 argument in brackets)
    ----------
    data
        Long data: one row per unit and period (panel) or per observation (repeated
        cross-sections) [``data``].
    y, time, cohort, unit
        Outcome [``yname``], period [``tname``], first treated period with 0 = never treated
        [``gname``], unit identifier [``idname``].
    covariates
        Column names entering the propensity score and the outcome regressions with an intercept
        [``xformla = ~ x1 + x2``; empty = ``~1``]. For panels, did uses each unit's covariates
        in the earlier of the two periods of each 2×2 comparison; so does fvdid.
    panel
        Panel data [``panel``]; ``False`` for repeated cross-sections.
    control
        ``"never_treated"`` / ``"not_yet_treated"`` [``control_group = "nevertreated"`` /
        ``"notyettreated"``].
    anticipation
        Periods of anticipation [``anticipation``].
    method
        ``"dr"`` (locally efficient doubly robust: ``DRDID::drdid_panel`` / ``drdid_rc``),
        ``"ipw"`` (``std_ipw_did_panel`` / ``std_ipw_did_rc``), ``"reg"`` (``reg_did_panel`` /
        ``reg_did_rc``) [``est_method``].
    base_period
        ``"varying"`` or ``"universal"`` [``base_period``].
    weights
        Sampling weights column [``weightsname``]; normalised to mean one within each 2×2
        comparison (DRDID) and used raw in the group probabilities of the aggregations (did).
        For panels, did takes a unit's weight from the earlier period of each comparison.
    cluster
        A second clustering variable for the multiplier bootstrap (units are always clusters)
        [``clustervars``]; ignored, with a warning as in did, when ``bootstrap=False``.
    allow_unbalanced_panel
        Keep units not observed in every period [``allow_unbalanced_panel``]; the panel is then
        handled as repeated cross-sections with the influence function summed within units.
    bootstrap, n_boot, cband, alpha, seed
        Multiplier bootstrap [``bstrap``, ``biters``], uniform bands [``cband``], level
        [``alp``], and the seed of numpy's generator (R's stream differs; results agree within
        Monte Carlo error).

    Returns
    -------
    AttGtResult

    Raises
    ------
    FvdidInputError
        Missing columns, non-numeric periods or cohorts, a cohort that is not a period of the
        data, a unit whose cohort changes over time, a constant or collinear covariate, no
        never-treated units with ``control="never_treated"``, no valid groups.

    Notes
    -----
    Rows dropped or recoded by did's preprocessing (incomplete rows, cohorts after the last
    period treated as never treated, units treated in the first period, units outside the
    balanced panel) are announced in ``notes`` and by ``warnings.warn``.
    """
    covariates = tuple(covariates)
    if control not in ("never_treated", "not_yet_treated"):
        raise FvdidInputError(
            f"control must be 'never_treated' or 'not_yet_treated', got {control!r}"
        )
    if method not in ("dr", "ipw", "reg"):
        raise FvdidInputError(f"method must be 'dr', 'ipw' or 'reg', got {method!r}")
    if base_period not in ("varying", "universal"):
        raise FvdidInputError(f"base_period must be 'varying' or 'universal', got {base_period!r}")
    if anticipation < 0:
        raise FvdidInputError(f"anticipation must be >= 0, got {anticipation}")
    if not 0 < alpha < 1:
        raise FvdidInputError(f"alpha must be in (0, 1), got {alpha}")
    if bootstrap and n_boot < 2:
        raise FvdidInputError(f"n_boot must be >= 2, got {n_boot}")

    prep = _preprocess(
        data,
        y=y,
        time=time,
        cohort=cohort,
        unit=unit,
        covariates=covariates,
        panel=panel,
        control=control,
        anticipation=anticipation,
        weights=weights,
        cluster=cluster,
        allow_unbalanced_panel=allow_unbalanced_panel,
        cband=cband,
    )
    notes = prep.notes
    cband = prep.cband
    d = prep.data
    tlist, glist, n = prep.tlist, prep.glist, prep.n
    nT = len(tlist)

    X_all, xnames = _design(d, covariates)
    _check_design(X_all, xnames, covariates)
    k = X_all.shape[1]
    w_all = d[weights].to_numpy(dtype=float) if weights is not None else np.ones(len(d))
    y_all = d[y].to_numpy(dtype=float)
    t_all = d[time].to_numpy(dtype=float)
    g_all = d[cohort].to_numpy(dtype=float)
    tidx_all = np.searchsorted(tlist, t_all)

    if prep.panel:
        # wide arrays: units in id order, periods in time order (rows are sorted by unit, time)
        Yw = y_all.reshape(n, nT)
        Ww = w_all.reshape(n, nT)
        Xw = X_all.reshape(n, nT, k)
        coh_u = g_all.reshape(n, nT)[:, 0]
        unit_w = Ww[:, 0]
        unit_coh = coh_u
        cl_rows = (
            d[cluster].to_numpy().reshape(n, nT)[:, 0] if cluster not in (None, unit) else None
        )
    else:
        codes = prep.unit_codes
        assert codes is not None
        rows_by_t = [np.flatnonzero(tidx_all == j) for j in range(nT)]
        cnt = np.bincount(codes, minlength=n).astype(float)
        unit_w = np.bincount(codes, weights=w_all, minlength=n) / cnt
        unit_coh = np.bincount(codes, weights=g_all, minlength=n) / cnt
        cl_rows = None
        if cluster not in (None, unit):
            first_row = np.unique(codes, return_index=True)[1]
            cl_rows = d[cluster].to_numpy()[first_row]
    unit_cluster = None
    if cl_rows is not None:
        unit_cluster = pd.factorize(pd.Series(cl_rows), sort=True)[0]
    if cluster is not None and not bootstrap and cluster != unit:
        _announce(
            notes,
            "clustering the standard errors requires the bootstrap: the analytic standard errors "
            f"do NOT account for clustering on {cluster!r} (as in did)",
        )

    universal = base_period == "universal"
    cells: list[tuple[float, float, int, int]] = []  # (g, t, cur index, base index or -1)
    for g in glist:
        base_univ = int(np.flatnonzero(tlist + anticipation < g)[-1])
        for c in range(0 if universal else 1, nT):
            if universal:
                b = base_univ
            else:
                b = base_univ if g <= tlist[c] else c - 1
            cells.append((g, tlist[c], c, b))

    n_gt = len(cells)
    inf = np.zeros((n, n_gt), order="F")  # column writes are contiguous
    att = np.full(n_gt, np.nan)
    post_flag = np.zeros(n_gt, dtype=bool)
    estimator_panel = {"dr": _drdid.dr_panel, "ipw": _drdid.ipw_panel, "reg": _drdid.reg_panel}[
        method
    ]
    estimator_rc = {"dr": _drdid.dr_rc, "ipw": _drdid.ipw_rc, "reg": _drdid.reg_rc}[method]
    never = control == "never_treated"
    skipped: list[str] = []

    for j, (g, tt, c, b) in enumerate(cells):
        post_flag[j] = g <= tt
        if universal and b == c:
            att[j] = 0.0
            post_flag[j] = False
            continue
        lab = f"{_fmt(g)}:{_fmt(tt)}"
        thresh = tlist[max(c, b)] + anticipation
        early = min(c, b)
        if prep.panel:
            G = coh_u == g
            C = (coh_u == 0) if never else ((coh_u == 0) | ((coh_u > thresh) & (coh_u != g)))
            sel = G | C
            n1 = int(sel.sum())
            dy = Yw[sel, c] - Yw[sel, b]
            D = G[sel].astype(float)
            X = Xw[sel, early, :]
            wc = Ww[sel, early]
            ps_fit = None
            problem = None
            if method in ("dr", "ipw"):
                # did's screening logit (unweighted glm): overlap violated when max ps >= 0.999
                if k == 1:
                    pmax = D.mean()
                    if weights is None:
                        ps_fit = np.full(n1, pmax)
                else:
                    _, ps0, _ = _drdid.logit_irls(X, D, np.ones(n1))
                    pmax = ps0.max()
                    if weights is None:
                        ps_fit = ps0
                if pmax >= 0.999:
                    problem = f"overlap condition violated for group {_fmt(g)} in period {_fmt(tt)}"
            if problem is None and method in ("dr", "reg"):
                Xc = X[D == 0]
                if Xc.shape[0] == 0 or _drdid._rcond(Xc.T @ Xc) < _EPS:
                    problem = (
                        f"not enough control units for group {_fmt(g)} in period {_fmt(tt)} to "
                        "run the outcome regression"
                    )
            if problem is not None:
                skipped.append(f"{lab}: {problem}")
                inf[:, j] = np.nan
                continue
            if ps_fit is not None:
                est, phi = estimator_panel(dy, D, X, wc, ps_fitted=ps_fit)
            else:
                est, phi = estimator_panel(dy, D, X, wc)
            att[j] = est
            inf[sel, j] = phi * (n / n1)
        else:
            rows = np.concatenate([rows_by_t[c], rows_by_t[b]])
            gr = g_all[rows]
            G = gr == g
            C = (gr == 0) if never else ((gr == 0) | ((gr > thresh) & (gr != g)))
            rows = rows[G | C]
            G = G[G | C]
            D = G.astype(float)
            post = (tidx_all[rows] == c).astype(float)
            n1 = rows.size
            problem = None
            if (D * post).sum() == 0:
                problem = f"no units in group {_fmt(g)} in period {_fmt(tt)}"
            elif (D * (1 - post)).sum() == 0:
                problem = f"no units in group {_fmt(g)} in period {_fmt(tlist[b])}"
            elif ((1 - D) * post).sum() == 0:
                problem = f"no available control units for group {_fmt(g)} in period {_fmt(tt)}"
            elif ((1 - D) * (1 - post)).sum() == 0:
                problem = (
                    f"no available control units for group {_fmt(g)} in period {_fmt(tlist[b])}"
                )
            if problem is not None:
                skipped.append(f"{lab}: {problem}")
                inf[:, j] = np.nan
                continue
            est, phi = estimator_rc(y_all[rows], post, D, X_all[rows], w_all[rows])
            if np.isnan(est):
                att[j] = np.nan
                continue
            att[j] = est
            inf[:, j] = np.bincount(codes[rows], weights=phi * (n / n1), minlength=n)

    for s in skipped:
        _announce(notes, f"ATT({s}); reported as missing, as did does")

    labels = tuple(f"{_fmt(g)}:{_fmt(tt)}" for g, tt, _, _ in cells)
    V = inf.T @ inf / n
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(V) / n)
    se[~(se > _SE_FLOOR)] = np.nan
    zero_na = np.isnan(se)

    rng = np.random.default_rng(seed)
    crit = float(stats.norm.ppf(1 - alpha / 2))
    boot_draws = None
    if bootstrap:
        bo = multiplier_bootstrap(inf, n_boot=n_boot, alpha=alpha, rng=rng, cluster=unit_cluster)
        boot_draws = bo["draws"]
        se = np.where(zero_na, np.nan, bo["se"])
        se[~(se > _SE_FLOOR)] = np.nan
        if cband:
            crit = bo["crit_val"]
            if crit >= 7:
                _announce(
                    notes,
                    "simultaneous critical value is arguably too large to be reliable "
                    f"({crit:.2f}); usually small groups or little outcome variation",
                )

    # Wald pre-test of parallel trends
    gvec = np.array([c[0] for c in cells])
    tvec = np.array([c[1] for c in cells])
    pre = np.flatnonzero((gvec > tvec) & ~zero_na)
    wald_stat = wald_p = None
    wald_df = None
    if pre.size == 0:
        notes.append("no pre-treatment periods to test")
    else:
        preV = V[np.ix_(pre, pre)]
        pa = att[pre]
        if np.isnan(preV).any() or np.isnan(pa).any():
            _announce(notes, "Wald pre-test not returned: missing pre-treatment values")
        elif _drdid._rcond(preV) <= _EPS:
            _announce(notes, "Wald pre-test not returned: singular covariance matrix")
        else:
            wald_stat = float(n * pa @ np.linalg.solve(preV, pa))
            wald_df = int(pre.size)
            wald_p = float(stats.chi2.sf(wald_stat, wald_df))

    table = pd.DataFrame(
        {
            "group": gvec,
            "time": tvec,
            "att": att,
            "se": se,
            "conf_low": att - crit * se,
            "conf_high": att + crit * se,
            "post": post_flag,
        }
    )
    for col in ("group", "time"):
        if np.all(np.mod(table[col], 1) == 0):
            table[col] = table[col].astype(np.int64)

    pg = pd.Series(
        [float(np.mean(unit_w * (unit_coh == g))) for g in glist],
        index=[int(g) if float(g).is_integer() else g for g in glist],
        name="group_prob",
    )
    return AttGtResult(
        table=table,
        influence=inf,
        labels=labels,
        vcov=pd.DataFrame(V / n, index=list(labels), columns=list(labels)),
        wald_stat=wald_stat,
        wald_pvalue=wald_p,
        wald_df=wald_df,
        crit_val=float(crit),
        n_units=n,
        notes=tuple(notes),
        groups=tuple(int(g) if float(g).is_integer() else float(g) for g in glist),
        periods=tuple(int(t) if float(t).is_integer() else float(t) for t in tlist),
        unit_weights=unit_w,
        unit_cohort=unit_coh,
        unit_cluster=unit_cluster,
        group_probs=pg,
        method=method,
        control=control,
        anticipation=anticipation,
        base_period=base_period,
        panel=bool(panel),
        bootstrap=bool(bootstrap),
        n_boot=int(n_boot),
        cband=bool(cband),
        alpha=float(alpha),
        seed=seed,
        n_dropped=prep.n_dropped,
        _boot_draws=boot_draws,
    )
