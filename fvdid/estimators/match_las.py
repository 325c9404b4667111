"""Local-authority matching on pre-period trends (protocol: "Matching on parallel trends").

For every treatment local authority (LA) and every outcome, :func:`match_las` ranks the eligible
comparator LAs by how closely their quarter-to-quarter changes in the (standardised) outcome
followed the treatment LA's before Family Valued went live. The other two verbs of this step live
in their own modules and are re-exported here: :func:`~fvdid.reporting.trend_plot.trend_plot`
draws the series for the visual inspection the protocol asks for (footnote 8);
:func:`~fvdid.estimators.placebo.placebo_tests` re-estimates the difference-in-differences on the
matched pairs with fake go-live dates inside the pre-period, which should give null effects.
Input handling and the standardisation are in :mod:`fvdid.estimators._match_las_data`.

There is no R reference package for this step: it is the protocol's own procedure, implemented
here from the protocol's text (see :func:`match_las` for every decision the text leaves open).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.estimators._match_las_data import FV_FLAG_COLUMNS, _prepare, standardised_changes
from fvdid.estimators._match_las_steps import (
    EXCLUSION_REASONS,
    REASON_POOL,
    QuarterLike,
    _candidate_rows,
    _categorical_exclusions,
    _check_options,
    _choose,
    _excluded_table,
    _rank,
    _treatment_windows,
)

__all__ = [
    "EXCLUSION_REASONS",
    "FV_FLAG_COLUMNS",
    "LAMatchResult",
    "PlaceboResult",
    "match_las",
    "placebo_tests",
    "standardised_changes",
    "trend_plot",
]

Metric = Literal["rmse", "mae"]


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LAMatchResult(ResultMixin):
    """Result of :func:`match_las`.

    Attributes
    ----------
    ranking
        The ``k`` nearest eligible comparators per treatment LA and outcome: ``treated_la``,
        ``outcome``, ``comparator_la``, ``distance``, ``rank`` (1 = nearest; ties broken by the
        comparator's LA code), ``n_changes`` (quarter-to-quarter changes the distance averages).
    excluded
        One row per LA and reason: ``la``, ``reason`` (one of :data:`EXCLUSION_REASONS`),
        ``detail`` (for the data-driven reasons: for which treatment LA / outcome and why).
    chosen
        The comparators chosen: ``treated_la``, ``outcome``, ``comparator_la``, ``rank``,
        ``distance``.
    dropped
        Treatment LA × outcome combinations with no acceptable comparator: ``treated_la``,
        ``outcome``, ``reason`` (for the appendix).
    candidates
        The audit table behind ``ranking`` and ``excluded``: every LA in the data × treatment LA
        × outcome, with ``eligible``, ``reason`` (empty when eligible), ``n_pre_quarters``,
        ``n_changes``, ``distance`` and ``rank`` (over all eligible comparators, not only ``k``).
    window_quarters
        Treatment LA -> the quarters of the matching window (their levels enter the distance).
    entry_lag_quarters
        Treatment LA -> the quarters between the window and go-live that are left out.
    go_live
        Treatment LA -> go-live quarter.
    """

    ranking: pd.DataFrame
    excluded: pd.DataFrame
    chosen: pd.DataFrame
    dropped: pd.DataFrame
    candidates: pd.DataFrame
    window_quarters: dict[str, list[pd.Period]]
    entry_lag_quarters: dict[str, list[pd.Period]]
    go_live: dict[str, pd.Period]
    outcomes: tuple[str, ...]
    window: int
    entry_lag: int
    k: int
    metric: str
    n_comparators: int
    max_distance: float | None
    min_pre_quarters: int
    notes: tuple[str, ...] = ()

    def pairs(self) -> pd.DataFrame:
        """Matched LA pairs for the individual-level (CEM) stage: treated_la, comparator_la, outcome."""
        cols = ["treated_la", "comparator_la", "outcome"]
        return self.chosen.loc[:, cols].reset_index(drop=True)

    def tidy(self) -> pd.DataFrame:
        """The ranking with a ``chosen`` flag (one row per treatment LA × outcome × comparator)."""
        out = self.ranking.copy()
        key = set(zip(self.chosen["treated_la"], self.chosen["outcome"], self.chosen["comparator_la"]))
        out["chosen"] = [
            (t, o, c) in key
            for t, o, c in zip(out["treated_la"], out["outcome"], out["comparator_la"])
        ]
        return out

    def summary(self) -> str:
        """Plain-text report: settings, windows, exclusions, choices, drops and notes."""
        lines = [
            "LAMatchResult",
            f"outcomes: {', '.join(self.outcomes)}; metric: {self.metric}; k = {self.k}; "
            f"window = {self.window} quarters ending {self.entry_lag} quarters before go-live",
        ]
        for la, qs in self.window_quarters.items():
            lines.append(f"  {la}: go-live {self.go_live[la]}, window {qs[0]}–{qs[-1]}")
        counts = self.excluded.groupby("reason", sort=False)["la"].nunique()
        lines.append(
            "excluded LAs: "
            + (", ".join(f"{r}: {n}" for r, n in counts.items()) if len(counts) else "none")
        )
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            lines.append("chosen comparators:")
            lines.append(self.chosen.to_string(index=False) if len(self.chosen) else "  none")
            if len(self.dropped):
                lines.append("dropped:")
                lines.append(self.dropped.to_string(index=False))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def match_las(
    la_quarter: pd.DataFrame,
    *,
    outcome: str | Sequence[str],
    go_live: Mapping[str, QuarterLike],
    window: int = 8,
    k: int = 10,
    exclude: Iterable[str] = (),
    entry_lag: int = 6,
    fv_las: Iterable[str] = (),
    partners_in_practice: Iterable[str] | None = None,
    restrict_to: Iterable[str] | None = None,
    restrict_reason: str = REASON_POOL,
    metric: Metric = "rmse",
    min_pre_quarters: int = 8,
    min_overlap: int | None = None,
    n_comparators: int = 1,
    max_distance: float | None = None,
    selections: Mapping[object, Sequence[str]] | None = None,
    unit: str = "la",
    time: str = "quarter",
) -> LAMatchResult:
    """Rank comparator LAs by the similarity of their pre-period outcome trends.

    The procedure, for every treatment LA ``T`` with go-live quarter ``g`` and every outcome:

    1. **Standardise.** The outcome is z-scored within each quarter across all LAs in
       ``la_quarter`` that have it (mean 0, standard deviation 1 with ddof = 1), so that changes
       in how the outcome is measured, common to all LAs, drop out. A quarter where every LA has
       the same value gets z = 0 (announced in ``notes``).
    2. **Difference.** ``dz[la, q] = z[la, q] - z[la, q-1]`` for consecutive quarters.
    3. **Window.** The window is the ``window`` quarters ``g - entry_lag - window`` ...
       ``g - entry_lag - 1``: the ``entry_lag`` quarters ``g - entry_lag`` ... ``g - 1``
       immediately before go-live are left out, because the cohorts that entered the sample
       then are observed for up to 18 months and may already carry treatment effects (protocol
       footnote 7; ``entry_lag = 6`` quarters = 18 months, whole quarters, so a go-live in the
       middle of a quarter leaves out slightly more than 18 months). The go-live quarter itself
       (the quarter containing the go-live month) is post-period. The distance uses the
       ``window - 1`` changes between consecutive window quarters, i.e. ``dz`` at the window
       quarters after the first; only the window's own levels enter, so the data must start by
       the first window quarter. ``window_quarters`` lists the window quarters.
    4. **Distance.** Over the changes observed for both LAs,
       ``rmse = sqrt(mean((dz_T - dz_C)**2))`` (default) or ``mae = mean(|dz_T - dz_C|)``: a
       distance normalised by the number of quarter-to-quarter changes, on the scale of the
       standardised outcome. A comparator whose outcome shifts by a constant on the z scale has
       distance 0.
    5. **Exclusions** (``excluded``, one row per LA and reason, and ``candidates`` per treatment
       LA and outcome): FV LAs (every key of ``go_live``, ``fv_las`` such as the trailblazer, and
       LAs flagged True in any of the columns ``treated``, ``fv``, ``fv_la``, ``trailblazer`` of
       ``la_quarter``); Partners in Practice (``partners_in_practice``, or else the column of
       that name); ``exclude`` ("user exclusion"); LAs outside ``restrict_to`` when it is given
       (reason ``restrict_reason``); then, per treatment LA and outcome, LAs with fewer than
       ``min_pre_quarters`` (8 = two years) quarters with a non-missing outcome before ``g``
       ("< 2 years of pre-period data"), and LAs with fewer than ``min_overlap`` changes in the
       window in common with the treatment LA ("incomplete matching window"; default: all the
       changes the treatment LA has).
    6. **Rank.** The ``k`` nearest eligible comparators, ``rank`` 1 = nearest; equal distances
       (to 12 decimals) are ordered by LA code. Matching is with replacement: every treatment LA
       is ranked against the full pool, so one comparator can serve several treatment LAs.
    7. **Choose.** By default the nearest comparator; ``n_comparators`` the several nearest;
       ``max_distance`` keeps only those within the threshold and drops the treatment LA for
       the outcome when none is (``dropped``). ``selections`` records the outcome of the visual
       inspection (footnote 8): ``{treated_la or (treated_la, outcome): [comparator, ...]}``
       names the accepted comparators among the ``k`` ranked; an empty list drops the
       treatment LA for that outcome.

    Parameters
    ----------
    la_quarter
        Long panel: ``unit`` (LA code), ``time`` (quarterly ``pandas.Period``; strings such as
        "2021Q3" are converted), one column per outcome (the rate among children who entered the
        sample that quarter). Missing (LA, quarter) rows and missing values are allowed.
    outcome
        One outcome column or a list (each ranked separately).
    go_live
        Treatment LA -> go-live date: a ``pandas.Period`` (quarterly, or monthly: converted to
        its quarter), a date, or a string such as "2021Q3" / "2021-07".
    window, entry_lag, k, metric, min_pre_quarters, min_overlap
        See the procedure above.
    exclude, fv_las, partners_in_practice, restrict_to, restrict_reason
        Exclusions, see above (LA codes).
    n_comparators, max_distance, selections
        The choice among the ranked comparators, see above.
    unit, time
        Column names of the LA code and the quarter.

    Returns
    -------
    LAMatchResult

    Notes
    -----
    R: no reference package; arguments follow fvdid's vocabulary (``unit`` = the LA identifier,
    ``time`` = the quarter).
    """
    outcomes, go_live = _check_options(
        outcome, go_live, window=window, k=k, entry_lag=entry_lag,
        min_pre_quarters=min_pre_quarters, n_comparators=n_comparators,
        min_overlap=min_overlap, metric=metric, max_distance=max_distance,
    )
    data, freq = _prepare(la_quarter, outcomes, unit, time)
    notes: list[str] = []
    gl, window_quarters, lag_quarters = _treatment_windows(
        data, go_live, window=window, entry_lag=entry_lag, unit=unit, time=time, freq=freq
    )
    treated_las = sorted(gl)
    categorical = _categorical_exclusions(
        data, treated_las, fv_las=fv_las, partners_in_practice=partners_in_practice,
        exclude=exclude, restrict_to=restrict_to, restrict_reason=restrict_reason, unit=unit,
        notes=notes,
    )
    cand_rows = _candidate_rows(
        data, outcomes, gl, window_quarters, categorical, unit=unit, time=time, freq=freq,
        metric=metric, min_pre_quarters=min_pre_quarters, min_overlap=min_overlap, notes=notes,
    )
    candidates, ranking = _rank(cand_rows, outcomes, treated_las, k=k, notes=notes)
    excluded = _excluded_table(candidates, categorical)
    chosen, dropped = _choose(
        ranking, treated_las, outcomes, selections=selections, max_distance=max_distance,
        n_comparators=n_comparators,
    )
    return LAMatchResult(
        ranking=ranking,
        excluded=excluded,
        chosen=chosen,
        dropped=dropped,
        candidates=candidates,
        window_quarters=window_quarters,
        entry_lag_quarters=lag_quarters,
        go_live=dict(gl),
        outcomes=tuple(outcomes),
        window=int(window),
        entry_lag=int(entry_lag),
        k=int(k),
        metric=str(metric),
        n_comparators=int(n_comparators),
        max_distance=None if max_distance is None else float(max_distance),
        min_pre_quarters=int(min_pre_quarters),
        notes=tuple(notes),
    )


class _NearestPretrend:
    """:func:`match_las` with ``n_comparators=1`` for many (treatment LA, go-live) on one panel.

    Private to fvdid (the placebo pairs, :func:`fvdid.stages._placebo_fit.placebo_comparator`,
    ask for the nearest comparator of ~100 (LA, date) combinations within a pool). The panel's
    validation and its standardisation (z within quarter over every LA of the panel, then the
    changes) do not depend on the treatment LA, its date or the pool, so they are done once;
    :meth:`nearest` then applies the rules of :func:`match_las` step by step on the same arrays
    (the window, the pre-period and overlap exclusions, the distance, the ranking by distance to
    12 decimals then LA code, the ``k`` nearest, ``max_distance``): the comparator
    ``match_las(..., go_live={la: go_live}, n_comparators=1, restrict_to=pool).chosen`` names, or
    None where that raises :class:`~fvdid.errors.FvdidInputError` or chooses none
    (tests/test_match_las.py compares the two). The panel must carry no FV or Partners-in-Practice
    flag columns (those would exclude LAs; the placebo caller passes the outcome alone).
    """

    def __init__(self, la_quarter: pd.DataFrame, outcome: str, *, window: int = 8, k: int = 10,
                 entry_lag: int = 6, metric: Metric = "rmse", min_pre_quarters: int = 8,
                 max_distance: float | None = None, unit: str = "la", time: str = "quarter"):
        from fvdid.errors import FvdidInputError
        from fvdid.estimators._match_las_data import _standardise, _wide
        from fvdid.estimators._match_las_steps import _TIE_DECIMALS

        self.window, self.k, self.entry_lag, self.metric = window, k, entry_lag, metric
        self.min_pre, self.max_distance, self._tie = min_pre_quarters, max_distance, _TIE_DECIMALS
        self.ok = True
        try:
            outcomes, _ = _check_options(
                outcome, {"_": "2000Q1"}, window=window, k=k, entry_lag=entry_lag,
                min_pre_quarters=min_pre_quarters, n_comparators=1, min_overlap=None,
                metric=metric, max_distance=max_distance)
            data, freq = _prepare(la_quarter, outcomes, unit, time)
        except FvdidInputError:
            self.ok = False  # every match_las call would raise: no comparator anywhere
            return
        flags = [c for c in (*FV_FLAG_COLUMNS, "partners_in_practice") if c in data.columns]
        if flags:
            raise ValueError(f"_NearestPretrend takes a panel without flag columns, got {flags}")
        self.freq = freq
        self.q_first, self.q_last = data[time].min(), data[time].max()
        wide = _wide(data, outcomes[0], unit, time, freq)
        z, _ = _standardise(wide)
        self.las = [str(x) for x in wide.index]
        self.pos = {la: i for i, la in enumerate(self.las)}
        self.quarters = list(wide.columns)
        self.col = {q: j for j, q in enumerate(self.quarters)}
        self.dz = z.diff(axis=1)
        self.notna = wide.notna().to_numpy()

    def nearest(self, la: str, go_live: QuarterLike, pool: Iterable[str]) -> str | None:
        """The comparator :func:`match_las` chooses for ``la`` going live at ``go_live`` within ``pool``."""
        from fvdid.errors import FvdidInputError
        from fvdid.estimators._match_las_data import _to_quarter

        if not self.ok:
            return None
        la = str(la)
        if la not in self.pos:
            return None
        try:
            g = _to_quarter(go_live, self.freq, la)
        except FvdidInputError:
            return None
        start = g - (self.entry_lag + self.window)
        if g < self.q_first or g > self.q_last or start < self.q_first:
            return None
        wq = list(pd.period_range(start, periods=self.window, freq=self.freq))
        change_q = wq[1:]
        # the arrays and expressions of _distances (the same rounding)
        d_all = self.dz.loc[:, change_q].to_numpy(dtype=float)
        t = self.pos[la]
        d_t = self.dz.loc[la, change_q].to_numpy(dtype=float)
        n_t = int((~np.isnan(d_t)).sum())
        if n_t < 2:
            return None
        pre = [j for j, q in enumerate(self.quarters) if q < g]
        n_pre = self.notna[:, pre].sum(axis=1)
        diff = d_all - d_t[None, :]
        n_both = (~np.isnan(diff)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.metric == "rmse":
                dist = np.sqrt(np.nansum(diff**2, axis=1) / n_both)
            else:
                dist = np.nansum(np.abs(diff), axis=1) / n_both
        allowed = {str(p) for p in pool}
        elig = [i for i, c in enumerate(self.las)
                if i != t and c in allowed and int(n_pre[i]) >= self.min_pre
                and int(n_both[i]) >= n_t]
        if not elig:
            return None
        key = np.round(dist[elig], self._tie)
        ranked = sorted(range(len(elig)), key=lambda j: (key[j], self.las[elig[j]]))[: self.k]
        for j in ranked:
            i = elig[j]
            if self.max_distance is None or float(dist[i]) <= self.max_distance:
                return self.las[i]
        return None


# The other verbs of the LA-matching step, re-exported so that ``from fvdid.match_las import
# trend_plot, placebo_tests, PlaceboResult`` keeps working (imported last: both modules import
# only the data helpers, not this module, so there is no import cycle).
from fvdid.estimators.placebo import PlaceboResult, placebo_tests  # noqa: E402
from fvdid.reporting.trend_plot import trend_plot  # noqa: E402
