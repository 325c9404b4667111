"""Callaway & Sant'Anna (2021) group-time average treatment effects, ATT(g,t).

Semantics of R ``did::att_gt`` 2.1.2 with the 2×2 estimators of ``DRDID`` 1.2.3 (see
:mod:`fvdid._drdid`); the aggregations live in :mod:`fvdid.aggte`. :func:`att_gt` runs three
steps, each in a private module: validation and did's preprocessing
(:mod:`fvdid.estimators._att_gt_prep`), the per-(g,t) 2x2 comparisons
(:mod:`fvdid.estimators._att_gt_cells`), and the influence-function inference: standard errors,
multiplier bootstrap, Wald pre-test (:mod:`fvdid.estimators._att_gt_inference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin, seal
from fvdid.errors import FvdidInputError
from fvdid.estimators._att_gt_cells import _cells, _estimate_cells, _unit_arrays
from fvdid.estimators._att_gt_inference import (
    _SE_FLOOR,
    _standard_errors,
    _table,
    _wald_pretest,
    multiplier_bootstrap,
)
from fvdid.estimators._att_gt_prep import (
    _check_design,
    _check_options,
    _design,
    _fmt,
    _preprocess,
    resolve_alias,
)
from fvdid.estimators._formula import ParsedFormula, build_columns, parse_formula

__all__ = ["AttGtResult", "att_gt"]

# re-exported for the aggregations and for code that imported them from here
_REEXPORTED = (_SE_FLOOR, _fmt, multiplier_bootstrap)

Control = Literal["never_treated", "not_yet_treated"]
Method = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]


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
    B
        Number of multiplier-bootstrap draws (``n_boot`` is its old name, kept as a read-only
        alias).
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
    B: int
    cband: bool
    alpha: float
    seed: int | None
    n_dropped: int = 0
    _boot_draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def n_boot(self) -> int:
        """Old name of ``B`` (number of bootstrap draws), kept as an alias."""
        return self.B

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
# the estimator
# --------------------------------------------------------------------------------------------


def _xformla(covariates: Any, y: str) -> ParsedFormula | None:
    """Parse a covariate formula string (``"~ x1 + C(g)"``), or ``None`` for a column tuple."""
    if not isinstance(covariates, str):
        return None
    text = covariates.strip()
    if not text.startswith("~"):
        return None  # a single bare column name
    pf = parse_formula(f"{y} {text}")
    if not pf.intercept:
        raise FvdidInputError(
            f"covariates {covariates!r} removes the intercept; did's outcome regressions and "
            "propensity scores need it"
        )
    return pf


def _clustervars(cluster: Any, unit: str | None) -> str | None:
    """did's ``clustervars``: a column, or a tuple/list of the unit and at most one column."""
    if cluster is None or isinstance(cluster, str):
        return cluster
    cols = [c for c in cluster if c != unit]
    if not all(isinstance(c, str) for c in cluster) or len(cols) > 1:
        raise FvdidInputError(
            f"cluster={cluster!r}: did clusters on the unit and at most one other column "
            "(clustervars = c(idname, 'other'))"
        )
    return cols[0] if cols else None


def att_gt(
    data: pd.DataFrame,
    *,
    y: str,
    time: str,
    cohort: str,
    unit: str | None = None,
    covariates: tuple[str, ...] | list[str] | str = (),
    panel: bool = True,
    control: Control = "never_treated",
    anticipation: float = 0,
    method: Method = "dr",
    base_period: BasePeriod = "varying",
    weights: str | None = None,
    cluster: str | tuple[str, ...] | list[str] | None = None,
    allow_unbalanced_panel: bool = False,
    bootstrap: bool = False,
    B: int | None = None,
    cband: bool = False,
    alpha: float = 0.05,
    seed: int | None = None,
    n_boot: int | None = None,
) -> AttGtResult:
    """Group-time average treatment effects of Callaway & Sant'Anna (2021).

    fvdid -> R (``did::att_gt`` 2.1.2): ``y`` = ``yname``, ``time`` = ``tname``, ``unit`` =
    ``idname``, ``cohort`` = ``gname``, ``covariates`` = ``xformla``, ``weights`` =
    ``weightsname``, ``cluster`` = ``clustervars``, ``B`` = ``biters``, ``alpha`` = ``alp``.

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
        [``xformla = ~ x1 + x2``; empty = ``~1``], or a formula string in fvdid's grammar
        (:mod:`fvdid.estimators._formula`): ``"~ x1 + C(region) + x1:x2 + x1*x3"``, i.e.
        numeric columns, treatment-coded factors ``C(col)`` (R: ``factor(col)``) and
        products of columns ``a:b`` / ``a*b``. R's ``I(x^2)`` and other inline functions
        are not in the grammar: build the column (``x_sq = x**2``) and use ``x_sq``; an
        intercept is always included (``- 1`` is an error, as did needs it). For panels, did
        uses each unit's covariates in the earlier of the two periods of each 2×2
        comparison; so does fvdid.
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
        [``clustervars``]; ignored, with a warning as in did, when ``bootstrap=False``. As in
        did, a tuple/list holding the unit column and one other column is accepted
        (``clustervars = c("id", "state")``): the unit is implied and dropped; more than one
        column besides the unit is an error (did clusters on at most two variables).
    allow_unbalanced_panel
        Keep units not observed in every period [``allow_unbalanced_panel``]; the panel is then
        handled as repeated cross-sections with the influence function summed within units.
    bootstrap, B, cband, alpha, seed
        Multiplier bootstrap [``bstrap``], number of bootstrap draws (default 1000)
        [``biters``], uniform bands [``cband``], level [``alp``], and the seed of numpy's
        generator (R's stream differs; results agree within Monte Carlo error).
    n_boot
        Old name of ``B``, kept as an alias (passing both raises ``FvdidInputError``).

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
    Defaults that differ from R, and why: ``bootstrap=False`` and ``cband=False`` (R:
    ``bstrap = TRUE``, ``cband = TRUE``). fvdid's defaults give the analytic influence-function
    standard errors and pointwise intervals, which are deterministic (no seed needed to
    reproduce a number in the appendix) and agree with R to rounding; the multiplier bootstrap
    and its sup-t band are one argument away (``bootstrap=True, cband=True``, and then
    ``aggte`` follows the fit) and agree with R within Monte Carlo error only.

    Rows dropped or recoded by did's preprocessing (incomplete rows, cohorts after the last
    period treated as never treated, units treated in the first period, units outside the
    balanced panel) are announced in ``notes`` and by ``warnings.warn``.
    """
    B = int(resolve_alias("B", B, "n_boot", n_boot, 1000))
    xformla = _xformla(covariates, y)
    covariates = (
        tuple(c for c in xformla.columns if c != xformla.response)
        if xformla is not None
        else ((covariates,) if isinstance(covariates, str) else tuple(covariates))
    )
    cluster = _clustervars(cluster, unit)
    _check_options(
        control=control, method=method, base_period=base_period, anticipation=anticipation,
        alpha=alpha, bootstrap=bootstrap, B=B,
    )

    # step 1: validation and did's preprocessing
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
    if xformla is not None:
        X_all, xnames, fnotes = build_columns(xformla, prep.data, dummy_label="level")
        notes.extend(fnotes)
    else:
        X_all, xnames = _design(prep.data, covariates)
    _check_design(X_all, xnames, covariates)
    arr = _unit_arrays(
        prep, X_all, y=y, time=time, cohort=cohort, unit=unit, weights=weights,
        cluster=cluster, bootstrap=bootstrap,
    )

    # step 2: the 2x2 comparison of every (g, t)
    universal = base_period == "universal"
    cells = _cells(prep.glist, prep.tlist, anticipation=anticipation, universal=universal)
    att, inf, post_flag = _estimate_cells(
        prep, arr, cells, method=method, control=control, anticipation=anticipation,
        universal=universal, weighted=weights is not None,
    )

    # step 3: inference from the influence functions
    n = prep.n
    V, se, zero_na, crit, boot_draws = _standard_errors(
        inf, n=n, bootstrap=bootstrap, B=B, alpha=alpha, cband=cband, seed=seed,
        unit_cluster=arr.unit_cluster, notes=notes,
    )
    wald_stat, wald_p, wald_df = _wald_pretest(cells, att, V, zero_na, n=n, notes=notes)
    table = _table(cells, att, se, crit, post_flag)

    labels = tuple(f"{_fmt(g)}:{_fmt(tt)}" for g, tt, _, _ in cells)
    glist, tlist = prep.glist, prep.tlist
    pg = pd.Series(
        [float(np.mean(arr.unit_w * (arr.unit_coh == g))) for g in glist],
        index=[int(g) if float(g).is_integer() else g for g in glist],
        name="group_prob",
    )
    seal(inf)  # built here and held by nothing else: the result keeps it without a copy
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
        unit_weights=arr.unit_w,
        unit_cohort=arr.unit_coh,
        unit_cluster=arr.unit_cluster,
        group_probs=pg,
        method=method,
        control=control,
        anticipation=anticipation,
        base_period=base_period,
        panel=bool(panel),
        bootstrap=bool(bootstrap),
        B=int(B),
        cband=bool(cband),
        alpha=float(alpha),
        seed=seed,
        n_dropped=prep.n_dropped,
        _boot_draws=boot_draws,
    )
