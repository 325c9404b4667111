"""Local-authority matching on pre-period trends (protocol: "Matching on parallel trends").

For every treatment local authority (LA) and every outcome, :func:`match_las` ranks the eligible
comparator LAs by how closely their quarter-to-quarter changes in the (standardised) outcome
followed the treatment LA's before Family Valued went live; :func:`trend_plot` draws the series
for the visual inspection the protocol asks for (footnote 8); :func:`placebo_tests` re-estimates
the difference-in-differences on the matched pairs with fake go-live dates inside the
pre-period, which should give null effects.

There is no R reference package for this step: it is the protocol's own procedure, implemented
here from the protocol's text (see :func:`match_las` for every decision the text leaves open).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, describe_rows, require_columns

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = [
    "EXCLUSION_REASONS",
    "LAMatchResult",
    "PlaceboResult",
    "match_las",
    "placebo_tests",
    "standardised_changes",
    "trend_plot",
]

Metric = Literal["rmse", "mae"]
QuarterLike = pd.Period | str | pd.Timestamp | _dt.date

REASON_FV = "FV LA"
REASON_PIP = "Partners in Practice"
REASON_USER = "user exclusion"
REASON_SHORT = "< 2 years of pre-period data"
REASON_WINDOW = "incomplete matching window"
REASON_POOL = "outside the comparator pool"

#: Reasons an LA can be left out of the comparator pool, in the order they are checked.
EXCLUSION_REASONS: tuple[str, ...] = (
    REASON_FV,
    REASON_PIP,
    REASON_USER,
    REASON_POOL,
    REASON_SHORT,
    REASON_WINDOW,
)

#: Boolean columns of ``la_quarter`` that mark an LA as a Family Valued LA (any True row).
FV_FLAG_COLUMNS: tuple[str, ...] = ("treated", "fv", "fv_la", "trailblazer")

# Distances are compared after rounding to this many decimals so that distances equal in exact
# arithmetic but different in the last floating-point bit tie, and the tie is then broken by the
# LA code (deterministic across platforms and summation orders).
_TIE_DECIMALS = 12


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


@dataclass(frozen=True)
class PlaceboResult(ResultMixin):
    """Result of :func:`placebo_tests`.

    Attributes
    ----------
    table
        One row per outcome × matched pair: ``outcome``, ``treated_la``, ``comparator_la``,
        ``real_estimate``, ``n_placebo``, ``placebo_mean``, ``placebo_sd`` (ddof = 1),
        ``p_value`` (share of placebo estimates with ``|placebo| >= |real|``).
    overall
        One row per outcome, pairs pooled: the real estimate is the mean over pairs, each placebo
        the mean over pairs of the placebo estimates at the same distance before go-live.
    estimates
        Every estimate: ``outcome``, ``treated_la``, ``comparator_la``, ``kind`` ("placebo" or
        "real"), ``go_live`` (the fake or real date), ``quarters_before_go_live`` (0 for real),
        ``n_pre``, ``n_post``, ``estimate``.
    """

    table: pd.DataFrame
    overall: pd.DataFrame
    estimates: pd.DataFrame
    outcomes: tuple[str, ...]
    horizon: int | None
    scale: str
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """The per-pair table."""
        return self.table

    def plot(self) -> Figure:
        """Strip plot per outcome: placebo estimates (grey) and the real estimate (red) per pair."""
        from matplotlib.figure import Figure

        outcomes = list(self.outcomes)
        n_rows = [max(1, int((self.table["outcome"] == o).sum())) + 1 for o in outcomes]
        fig = Figure(figsize=(8, 1.0 + 0.45 * sum(n_rows) + 0.6 * len(outcomes)),
                     layout="constrained")
        axes = fig.subplots(len(outcomes), 1, squeeze=False, height_ratios=n_rows)[:, 0]
        for ax, o in zip(axes, outcomes):
            tab = self.table[self.table["outcome"] == o]
            est = self.estimates[self.estimates["outcome"] == o]
            labels = [f"{t} vs {c}" for t, c in zip(tab["treated_la"], tab["comparator_la"])]
            for y, (t, c) in enumerate(zip(tab["treated_la"], tab["comparator_la"])):
                e = est[(est["treated_la"] == t) & (est["comparator_la"] == c)]
                pl = e.loc[e["kind"] == "placebo", "estimate"].to_numpy(dtype=float)
                jitter = np.linspace(-0.15, 0.15, len(pl)) if len(pl) > 1 else np.zeros(len(pl))
                ax.scatter(pl, y + jitter, s=14, color="0.55", label="placebo" if y == 0 else None)
                real = e.loc[e["kind"] == "real", "estimate"].to_numpy(dtype=float)
                ax.scatter(real, np.full(len(real), y), s=60, marker="D", color="tab:red",
                           label="real" if y == 0 else None, zorder=3)
            ov = self.overall[self.overall["outcome"] == o]
            y_all = len(labels)
            if len(ov):
                pooled = ov["placebo_estimates"].iloc[0]
                ax.scatter(pooled, np.full(len(pooled), y_all), s=14, color="0.3")
                ax.scatter([ov["real_estimate"].iloc[0]], [y_all], s=60, marker="D",
                           color="darkred", zorder=3)
            ax.set_yticks(range(len(labels) + 1), [*labels, "mean over pairs"])
            ax.axvline(0.0, color="black", lw=0.8)
            ax.set_title(f"placebo tests: {o}", fontsize=10)
            ax.set_xlabel(f"DiD estimate ({self.scale} scale)")
            if len(labels):
                ax.legend(loc="best", fontsize=8)
        return fig


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _quarter_freq(data: pd.DataFrame, time: str) -> tuple[pd.Series, Any]:
    """Return the time column as quarterly Periods and the frequency string."""
    s = data[time]
    if isinstance(s.dtype, pd.PeriodDtype):
        if not s.dtype.name.startswith("period[Q"):
            raise FvdidInputError(
                f"column {time!r} must hold quarterly pandas Periods (freq 'Q'); it holds "
                f"{s.dtype.name}"
            )
        return s, s.dtype.freq
    try:
        conv = pd.Series(pd.PeriodIndex(s.astype(str), freq="Q"), index=s.index)
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(
            f"column {time!r} must hold quarterly pandas Periods (or strings such as '2021Q3'); "
            f"conversion failed: {exc}"
        ) from exc
    return conv, conv.dtype.freq


def _to_quarter(value: object, freq: Any, la: str) -> pd.Period:
    """Convert a go-live date (Period of any frequency, 'YYYYQn' / date string, date) to a quarter."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        raise FvdidInputError(f"go_live for treatment LA {la!r} is missing; expected a quarter")
    try:
        if isinstance(value, pd.Period):
            return pd.Period(value.start_time, freq=freq)
        if isinstance(value, str):
            return pd.Period(value.strip(), freq=freq)
        return pd.Period(pd.Timestamp(value), freq=freq)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(
            f"go_live for treatment LA {la!r} is {value!r}; expected a pandas Period ('Q' or "
            f"'M'), a date, or a string such as '2021Q3'"
        ) from exc


def _as_str_set(values: Iterable[object] | str | None, what: str) -> set[str]:
    if values is None:
        return set()
    if isinstance(values, str):
        return {values}
    try:
        return {str(v) for v in values}
    except TypeError as exc:
        raise FvdidInputError(f"{what} must be an iterable of LA codes, got {values!r}") from exc


def _flag_las(data: pd.DataFrame, unit: str, column: str) -> set[str]:
    """LAs with any True value of the boolean flag ``column`` (missing counts as False)."""
    s = data[column]
    if s.dtype != bool:
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & ~num.isin([0, 1])
        if bad.any():
            raise FvdidInputError(
                f"column {column!r} of la_quarter must be boolean (or 0/1); "
                f"{describe_rows(s.index[bad])} hold {sorted({repr(v) for v in s[bad]})[:5]}"
            )
        s = num.fillna(0).astype(bool)
    return set(data.loc[s.to_numpy(), unit].astype(str))


def _prepare(
    la_quarter: pd.DataFrame, outcomes: Sequence[str], unit: str, time: str
) -> tuple[pd.DataFrame, Any]:
    """Validate the long panel; return a copy with ``unit`` as str and ``time`` as quarters."""
    require_columns(la_quarter, [unit, time, *outcomes], what="la_quarter")
    keep = [unit, time, *outcomes]
    keep += [c for c in (*FV_FLAG_COLUMNS, "partners_in_practice")
             if c in la_quarter.columns and c not in keep]
    data = la_quarter.loc[:, keep].copy()
    if data[unit].isna().any():
        rows = data.index[data[unit].isna()]
        raise FvdidInputError(f"column {unit!r} of la_quarter is missing in {describe_rows(rows)}")
    data[unit] = data[unit].astype(str)
    data[time], freq = _quarter_freq(data, time)
    if data[time].isna().any():
        rows = data.index[data[time].isna()]
        raise FvdidInputError(f"column {time!r} of la_quarter is missing in {describe_rows(rows)}")
    dup = data.duplicated([unit, time], keep=False)
    if dup.any():
        first = data.loc[dup, [unit, time]].drop_duplicates().head(3)
        pairs = ", ".join(f"({u}, {q})" for u, q in zip(first[unit], first[time]))
        raise FvdidInputError(
            f"la_quarter must have one row per ({unit}, {time}); {describe_rows(data.index[dup])} "
            f"duplicate the pairs {pairs}"
        )
    for o in outcomes:
        col = data[o]
        if col.dtype == bool:
            data[o] = col.astype(float)
            continue
        if not pd.api.types.is_numeric_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            bad = col.notna() & num.isna()
            if bad.any():
                raise FvdidInputError(
                    f"outcome column {o!r} must be numeric; {describe_rows(data.index[bad])} hold "
                    f"{sorted({repr(v) for v in col[bad]})[:5]}"
                )
            data[o] = num
        vals = data[o].to_numpy(dtype=float)
        inf = np.isinf(vals)
        if inf.any():
            raise FvdidInputError(
                f"outcome column {o!r} must be finite; {describe_rows(data.index[inf])} are infinite"
            )
        data[o] = vals
    return data, freq


def _wide(data: pd.DataFrame, outcome: str, unit: str, time: str, freq: Any) -> pd.DataFrame:
    """LA × quarter matrix over the full, gap-free range of quarters of the data."""
    wide = data.pivot(index=unit, columns=time, values=outcome)
    quarters = pd.period_range(data[time].min(), data[time].max(), freq=freq)
    return wide.reindex(columns=quarters).sort_index()


def _standardise(wide: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.Period]]:
    """z-score every quarter (column) across the LAs observed in it (ddof = 1).

    Quarters with fewer than two LAs observed stay missing; quarters where every observed LA has
    the same value (standard deviation 0) get z = 0 and are returned in the second element.
    """
    mean = wide.mean(axis=0, skipna=True)
    sd = wide.std(axis=0, ddof=1, skipna=True)
    flat = [q for q in wide.columns if sd[q] == 0]
    safe = sd.where(sd > 0)
    z = (wide - mean) / safe
    for q in flat:
        z[q] = np.where(wide[q].notna(), 0.0, np.nan)
    return z, flat


def standardised_changes(
    la_quarter: pd.DataFrame,
    outcome: str,
    *,
    unit: str = "la",
    time: str = "quarter",
) -> pd.DataFrame:
    """Long frame of the matching data for one outcome: ``la``, ``quarter``, ``value`` (raw),
    ``z`` (z-score across LAs within the quarter, ddof = 1) and ``dz`` (``z`` minus the previous
    quarter's ``z`` of the same LA; missing when either is missing).
    """
    data, freq = _prepare(la_quarter, [outcome], unit, time)
    wide = _wide(data, outcome, unit, time, freq)
    z, _ = _standardise(wide)
    dz = z.diff(axis=1)
    out = pd.DataFrame(
        {
            "la": np.repeat(wide.index.to_numpy(), wide.shape[1]),
            "quarter": np.tile(wide.columns.to_numpy(), wide.shape[0]),
            "value": wide.to_numpy().ravel(),
            "z": z.to_numpy().ravel(),
            "dz": dz.to_numpy().ravel(),
        }
    )
    out["quarter"] = pd.PeriodIndex(out["quarter"], freq=freq)
    return out


# --------------------------------------------------------------------------------------------
# match_las
# --------------------------------------------------------------------------------------------


def _selection_for(
    selections: Mapping[object, Sequence[str]] | None, treated: str, outcome: str
) -> list[str] | None:
    if not selections:
        return None
    if (treated, outcome) in selections:
        return [str(x) for x in selections[(treated, outcome)]]
    if treated in selections:
        return [str(x) for x in selections[treated]]
    return None


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
    outcomes = [outcome] if isinstance(outcome, str) else [str(o) for o in outcome]
    if not outcomes:
        raise FvdidInputError("outcome must name at least one outcome column")
    if len(set(outcomes)) != len(outcomes):
        raise FvdidInputError(f"outcome lists a column twice: {outcomes}")
    for name, value, low in (
        ("window", window, 2),
        ("k", k, 1),
        ("entry_lag", entry_lag, 0),
        ("min_pre_quarters", min_pre_quarters, 0),
        ("n_comparators", n_comparators, 1),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise FvdidInputError(f"{name} must be an integer >= {low}, got {value!r}")
    if min_overlap is not None and (not isinstance(min_overlap, int) or min_overlap < 1):
        raise FvdidInputError(f"min_overlap must be None or an integer >= 1, got {min_overlap!r}")
    if metric not in ("rmse", "mae"):
        raise FvdidInputError(f"metric must be 'rmse' or 'mae', got {metric!r}")
    if max_distance is not None and not (max_distance >= 0):
        raise FvdidInputError(f"max_distance must be None or >= 0, got {max_distance!r}")
    if isinstance(go_live, pd.Series):
        go_live = go_live.to_dict()
    if not isinstance(go_live, Mapping) or not go_live:
        raise FvdidInputError(
            "go_live must be a non-empty mapping treatment LA -> go-live quarter, got "
            f"{go_live!r}"
        )

    data, freq = _prepare(la_quarter, outcomes, unit, time)
    all_las = sorted(data[unit].unique())
    present = set(all_las)
    q_first, q_last = data[time].min(), data[time].max()
    notes: list[str] = []

    # --- treatment LAs and their windows -----------------------------------------------------
    gl: dict[str, pd.Period] = {}
    for la, when in go_live.items():
        la = str(la)
        if la not in present:
            raise FvdidInputError(
                f"treatment LA {la!r} (in go_live) has no rows in la_quarter; expected one of "
                f"the {len(all_las)} LA codes in column {unit!r} (e.g. {all_las[:5]})"
            )
        g = _to_quarter(when, freq, la)
        if g < q_first or g > q_last:
            raise FvdidInputError(
                f"go-live quarter {g} of treatment LA {la!r} is outside the data, which cover "
                f"{q_first}–{q_last}; expected a go-live quarter within that range"
            )
        start = g - (entry_lag + window)
        if start < q_first:
            raise FvdidInputError(
                f"treatment LA {la!r} goes live in {g}: the matching window of {window} quarters "
                f"ending {entry_lag} quarters before go-live starts in {start}, but the data "
                f"start in {q_first}; expected at least {window + entry_lag} quarters before "
                f"go-live, got {(g - q_first).n}"
            )
        gl[la] = g
    treated_las = sorted(gl)
    window_quarters = {
        la: list(pd.period_range(gl[la] - (entry_lag + window), periods=window, freq=freq))
        for la in treated_las
    }
    lag_quarters = {
        la: list(pd.period_range(gl[la] - entry_lag, periods=entry_lag, freq=freq))
        if entry_lag
        else []
        for la in treated_las
    }

    # --- categorical exclusions ----------------------------------------------------------------
    fv = set(treated_las) | _as_str_set(fv_las, "fv_las")
    for col in FV_FLAG_COLUMNS:
        if col in data.columns:
            fv |= _flag_las(data, unit, col)
    if partners_in_practice is not None:
        pip = _as_str_set(partners_in_practice, "partners_in_practice")
    elif "partners_in_practice" in data.columns:
        pip = _flag_las(data, unit, "partners_in_practice")
    else:
        pip = set()
    user = _as_str_set(exclude, "exclude")
    pool = None if restrict_to is None else _as_str_set(restrict_to, "restrict_to")
    for what, codes in (("fv_las", fv - set(treated_las)), ("partners_in_practice", pip),
                        ("exclude", user), ("restrict_to", pool or set())):
        absent = sorted(codes - present)
        if absent:
            notes.append(f"{what} names LAs with no rows in la_quarter: {absent}")

    categorical: dict[str, list[str]] = {}
    for la in all_las:
        reasons = []
        if la in fv:
            reasons.append(REASON_FV)
        if la in pip:
            reasons.append(REASON_PIP)
        if la in user:
            reasons.append(REASON_USER)
        if pool is not None and la not in pool:
            reasons.append(restrict_reason)
        categorical[la] = reasons

    # --- per outcome: standardise, difference, distances -----------------------------------------
    cand_rows: list[dict[str, Any]] = []
    for o in outcomes:
        wide = _wide(data, o, unit, time, freq)
        z, flat = _standardise(wide)
        if flat:
            notes.append(
                f"outcome {o!r}: every LA has the same value in {[str(q) for q in flat]}; z set "
                "to 0 there"
            )
        dz = z.diff(axis=1)
        observed = wide.notna()
        for t in treated_las:
            g = gl[t]
            wq = window_quarters[t]
            change_q = wq[1:]  # dz at these quarters = change from the previous window quarter
            d_all = dz.loc[:, change_q].to_numpy(dtype=float)
            d_t = dz.loc[t, change_q].to_numpy(dtype=float)
            ok_t = ~np.isnan(d_t)
            n_t = int(ok_t.sum())
            if n_t < 2:
                miss = [str(q) for q in wq if pd.isna(wide.at[t, q])]
                raise FvdidInputError(
                    f"treatment LA {t!r}, outcome {o!r}: only {n_t} quarter-to-quarter change(s) "
                    f"in the matching window {wq[0]}–{wq[-1]} (missing in {miss}); expected at "
                    "least 2"
                )
            need = n_t if min_overlap is None else min(min_overlap, n_t)
            pre_cols = [q for q in wide.columns if q < g]
            n_pre = observed.loc[:, pre_cols].sum(axis=1)
            if int(n_pre[t]) < min_pre_quarters:
                notes.append(
                    f"treatment LA {t!r}, outcome {o!r}: only {int(n_pre[t])} pre-period quarters "
                    f"with data (fewer than {min_pre_quarters})"
                )
            diff = d_all - d_t[None, :]
            both = ~np.isnan(diff)
            n_both = both.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                if metric == "rmse":
                    dist = np.sqrt(np.nansum(diff**2, axis=1) / n_both)
                else:
                    dist = np.nansum(np.abs(diff), axis=1) / n_both
            for i, la in enumerate(wide.index):
                if la == t:
                    continue
                reasons = list(categorical[la])
                detail = ""
                if not reasons:
                    if int(n_pre[la]) < min_pre_quarters:
                        reasons.append(REASON_SHORT)
                        detail = (
                            f"{t} (go-live {g}), {o}: {int(n_pre[la])} quarters with data before "
                            f"go-live, {min_pre_quarters} needed"
                        )
                    elif int(n_both[i]) < need:
                        reasons.append(REASON_WINDOW)
                        detail = (
                            f"{t} (window {wq[0]}–{wq[-1]}), {o}: {int(n_both[i])} of "
                            f"{n_t} changes observed, {need} needed"
                        )
                cand_rows.append(
                    {
                        "treated_la": t,
                        "outcome": o,
                        "comparator_la": la,
                        "eligible": not reasons,
                        "reason": "; ".join(reasons),
                        "detail": detail,
                        "n_pre_quarters": int(n_pre[la]),
                        "n_changes": int(n_both[i]),
                        "distance": float(dist[i]) if not reasons else math.nan,
                    }
                )

    candidates = pd.DataFrame(
        cand_rows,
        columns=[
            "treated_la", "outcome", "comparator_la", "eligible", "reason", "detail",
            "n_pre_quarters", "n_changes", "distance",
        ],
    )
    candidates["_key"] = candidates["distance"].round(_TIE_DECIMALS)
    candidates = candidates.sort_values(
        ["outcome", "treated_la", "eligible", "_key", "comparator_la"],
        ascending=[True, True, False, True, True],
        kind="mergesort",
    ).drop(columns="_key")
    candidates["rank"] = pd.array([pd.NA] * len(candidates), dtype="Int64")
    elig = candidates["eligible"].to_numpy(dtype=bool)
    candidates.loc[elig, "rank"] = (
        candidates[elig].groupby(["treated_la", "outcome"], sort=False).cumcount() + 1
    ).to_numpy()
    candidates = candidates.reset_index(drop=True)
    order = {o: i for i, o in enumerate(outcomes)}
    candidates = candidates.sort_values(
        ["outcome", "treated_la"], key=lambda s: s.map(order) if s.name == "outcome" else s,
        kind="mergesort",
    ).reset_index(drop=True)

    ranking = candidates.loc[
        candidates["eligible"] & (candidates["rank"] <= k),
        ["treated_la", "outcome", "comparator_la", "distance", "rank", "n_changes"],
    ].reset_index(drop=True)
    ranking["rank"] = ranking["rank"].astype(int)

    for t in treated_las:
        for o in outcomes:
            n_el = int(((candidates["treated_la"] == t) & (candidates["outcome"] == o)
                        & candidates["eligible"]).sum())
            if n_el < k:
                notes.append(
                    f"treatment LA {t!r}, outcome {o!r}: {n_el} eligible comparators, fewer than "
                    f"k = {k}"
                )

    excluded = _excluded_table(candidates, categorical)

    # --- choice ----------------------------------------------------------------------------------
    chosen_rows: list[dict[str, Any]] = []
    dropped_rows: list[dict[str, Any]] = []
    for t in treated_las:
        for o in outcomes:
            r = ranking[(ranking["treated_la"] == t) & (ranking["outcome"] == o)]
            sel = _selection_for(selections, t, o)
            if r.empty:
                dropped_rows.append({"treated_la": t, "outcome": o,
                                     "reason": "no eligible comparator"})
                continue
            if sel is not None:
                unknown = [c for c in sel if c not in set(r["comparator_la"])]
                if unknown:
                    raise FvdidInputError(
                        f"selections for treatment LA {t!r}, outcome {o!r} name {unknown}, which "
                        f"are not among its {len(r)} ranked comparators "
                        f"{list(r['comparator_la'])}"
                    )
                pick = r[r["comparator_la"].isin(sel)]
                if pick.empty:
                    dropped_rows.append({
                        "treated_la": t, "outcome": o,
                        "reason": f"no adequate visual match among the {len(r)} nearest",
                    })
                    continue
            else:
                pick = r
                if max_distance is not None:
                    pick = pick[pick["distance"] <= max_distance]
                    if pick.empty:
                        dropped_rows.append({
                            "treated_la": t, "outcome": o,
                            "reason": f"no comparator within max_distance = {max_distance:g} "
                                      f"(nearest: {r['distance'].iloc[0]:.4g})",
                        })
                        continue
                pick = pick.head(n_comparators)
            for _, row in pick.iterrows():
                chosen_rows.append({
                    "treated_la": t, "outcome": o, "comparator_la": row["comparator_la"],
                    "rank": int(row["rank"]), "distance": float(row["distance"]),
                })
    chosen = pd.DataFrame(
        chosen_rows, columns=["treated_la", "outcome", "comparator_la", "rank", "distance"]
    )
    chosen["rank"] = chosen["rank"].astype(int)
    chosen["distance"] = chosen["distance"].astype(float)
    dropped = pd.DataFrame(dropped_rows, columns=["treated_la", "outcome", "reason"])

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


def _excluded_table(candidates: pd.DataFrame, categorical: dict[str, list[str]]) -> pd.DataFrame:
    """One row per LA and reason; data-driven reasons carry the treatment LAs / outcomes."""
    rows: list[dict[str, str]] = []
    for la, reasons in categorical.items():
        rows.extend({"la": la, "reason": r, "detail": ""} for r in reasons)
    data_driven = candidates[candidates["reason"].isin([REASON_SHORT, REASON_WINDOW])]
    for (la, reason), grp in data_driven.groupby(["comparator_la", "reason"], sort=True):
        rows.append({"la": la, "reason": reason, "detail": "; ".join(grp["detail"])})
    order = {r: i for i, r in enumerate(EXCLUSION_REASONS)}
    out = pd.DataFrame(rows, columns=["la", "reason", "detail"])
    out["_o"] = out["reason"].map(lambda r: order.get(r, len(order)))
    return out.sort_values(["_o", "la"], kind="mergesort").drop(columns="_o").reset_index(
        drop=True
    )


# --------------------------------------------------------------------------------------------
# trend plot
# --------------------------------------------------------------------------------------------


def _qx(q: pd.Period) -> float:
    """x coordinate of the start of a quarter in calendar years (plain floats draw fast)."""
    ts = q.start_time
    return ts.year + (ts.month - 1) / 12.0


def _year_fraction(quarters: pd.Series) -> np.ndarray:
    ts = quarters.dt.start_time
    return (ts.dt.year + (ts.dt.month - 1) / 12.0).to_numpy(dtype=float)


def trend_plot(
    result: LAMatchResult,
    la_quarter: pd.DataFrame,
    outcome: str,
    *,
    top: int = 3,
    standardised: bool = True,
    unit: str = "la",
    time: str = "quarter",
) -> Figure:
    """Trend-matching figure for one outcome, for the visual inspection of protocol footnote 8.

    A row of panels per treatment LA: the raw LA × quarter series of the treatment LA (black)
    and of its ``top`` nearest comparators (rank and distance in the legend; chosen comparators
    drawn solid, the others dashed), pre and post go-live, and, when ``standardised``, the same
    series z-scored per quarter across LAs (the scale the distance is measured on). The matching
    window is shaded, the left-out entry-lag quarters hatched, go-live marked by a red line.
    """
    from matplotlib.figure import Figure

    if outcome not in result.outcomes:
        raise FvdidInputError(
            f"outcome {outcome!r} was not matched; the result holds {list(result.outcomes)}"
        )
    if top < 1:
        raise FvdidInputError(f"top must be >= 1, got {top!r}")
    long = standardised_changes(la_quarter, outcome, unit=unit, time=time)
    long["x"] = _year_fraction(long["quarter"])
    treated = list(result.window_quarters)
    ncol = 2 if standardised else 1
    fig = Figure(figsize=(6.0 * ncol, 2.8 * len(treated) + 0.6), layout="constrained")
    axes = fig.subplots(len(treated), ncol, squeeze=False)
    chosen = set(
        result.chosen.loc[result.chosen["outcome"] == outcome, ["treated_la", "comparator_la"]]
        .itertuples(index=False, name=None)
    )
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
               "tab:olive", "tab:cyan", "tab:gray"]
    for row, t in enumerate(treated):
        rk = result.ranking[(result.ranking["treated_la"] == t)
                            & (result.ranking["outcome"] == outcome)].head(top)
        wq = result.window_quarters[t]
        lag = result.entry_lag_quarters[t]
        g = result.go_live[t]
        for col, (var, label) in enumerate([("value", outcome), ("z", f"{outcome} (z)")][:ncol]):
            ax = axes[row, col]
            s = long[long["la"] == t]
            ax.plot(s["x"], s[var], color="black", lw=2.2, label=f"{t} (FV)")
            for j, (c, r, d) in enumerate(zip(rk["comparator_la"], rk["rank"], rk["distance"])):
                s = long[long["la"] == c]
                ax.plot(s["x"], s[var], color=colours[j % len(colours)],
                        lw=1.3, ls="-" if (t, c) in chosen else "--",
                        label=f"{c} (rank {r}, d = {d:.3g})")
            ax.axvspan(_qx(wq[0]), _qx(wq[-1] + 1), color="tab:blue", alpha=0.08,
                       label="matching window")
            if lag:
                ax.axvspan(_qx(lag[0]), _qx(lag[-1] + 1), facecolor="none",
                           edgecolor="0.6", hatch="//", lw=0, label="entry lag (left out)")
            ax.axvline(_qx(g), color="tab:red", lw=1.2, label=f"go-live {g}")
            ax.set_title(f"{t}: {label}", fontsize=10)
            ax.tick_params(labelsize=8)
            if col == 0:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Pre-period trends and nearest comparators: {outcome}", fontsize=11)
    return fig


# --------------------------------------------------------------------------------------------
# placebo tests
# --------------------------------------------------------------------------------------------


def _did(y_t: np.ndarray, y_c: np.ndarray, post: np.ndarray) -> float:
    """2 × T DiD: (post − pre mean change of treated) − (same of comparator)."""
    return float(
        (y_t[post].mean() - y_t[~post].mean()) - (y_c[post].mean() - y_c[~post].mean())
    )


def placebo_tests(
    result: LAMatchResult,
    la_quarter: pd.DataFrame,
    *,
    outcome: str | Sequence[str],
    n_placebo: int | None = None,
    horizon: int | None = None,
    first_fake: int | None = None,
    min_pre: int = 2,
    end: Literal["go_live", "entry_lag"] = "go_live",
    use: Literal["chosen", "ranking"] = "chosen",
    scale: Literal["raw", "standardised"] = "raw",
    unit: str = "la",
    time: str = "quarter",
) -> PlaceboResult:
    """Placebo tests: fake go-live dates in the pre-period should give null DiD estimates.

    For every matched pair (treatment LA ``T``, comparator ``C``; ``use="chosen"`` the chosen
    pairs, ``"ranking"`` all ``k`` ranked pairs) with real go-live ``g``:

    - the data are the quarters where both LAs have the outcome (``scale="raw"``: the LA × quarter
      rates; ``"standardised"``: the z-scores used for matching);
    - the **placebo** estimates use only quarters before ``g`` (``end="go_live"``; with
      ``end="entry_lag"`` only quarters before ``g - entry_lag``, so that cohorts possibly touched
      by the programme stay out). Each fake go-live ``f`` runs over the quarters
      ``g - first_fake`` ... (last usable quarter) (default ``first_fake = window + entry_lag``,
      i.e. from the start of the matching window) that leave at least ``min_pre`` (2) quarters
      before ``f`` and at least one at or after ``f``. The estimate is the 2 × T DiD
      ``(mean post − mean pre of T) − (mean post − mean pre of C)`` with pre = quarters before
      ``f``, post = quarters from ``f``, all within the placebo data; ``n_placebo`` keeps that
      many fake dates evenly spread over the eligible ones (deterministic);
    - the **real** estimate is the same formula with the real go-live: pre = the same quarters the
      placebo data use, post = ``g`` ... ``g + horizon - 1`` (all quarters from ``g`` when
      ``horizon`` is None);
    - ``p_value`` is the share of placebo estimates with ``|placebo| >= |real|``.

    ``overall`` pools the pairs of an outcome: the mean over pairs of the real estimates against
    the means over pairs of the placebo estimates at the same number of quarters before go-live.
    """
    outcomes = [outcome] if isinstance(outcome, str) else [str(o) for o in outcome]
    for o in outcomes:
        if o not in result.outcomes:
            raise FvdidInputError(
                f"outcome {o!r} was not matched; the result holds {list(result.outcomes)}"
            )
    if n_placebo is not None and (not isinstance(n_placebo, int) or n_placebo < 1):
        raise FvdidInputError(f"n_placebo must be None or an integer >= 1, got {n_placebo!r}")
    if horizon is not None and (not isinstance(horizon, int) or horizon < 1):
        raise FvdidInputError(f"horizon must be None or an integer >= 1, got {horizon!r}")
    if min_pre < 1:
        raise FvdidInputError(f"min_pre must be >= 1, got {min_pre!r}")
    if end not in ("go_live", "entry_lag"):
        raise FvdidInputError(f"end must be 'go_live' or 'entry_lag', got {end!r}")
    if use not in ("chosen", "ranking"):
        raise FvdidInputError(f"use must be 'chosen' or 'ranking', got {use!r}")
    if scale not in ("raw", "standardised"):
        raise FvdidInputError(f"scale must be 'raw' or 'standardised', got {scale!r}")
    first = result.window + result.entry_lag if first_fake is None else int(first_fake)
    notes: list[str] = []

    est_rows: list[dict[str, Any]] = []
    for o in outcomes:
        long = standardised_changes(la_quarter, o, unit=unit, time=time)
        var = "value" if scale == "raw" else "z"
        wide = long.pivot(index="la", columns="quarter", values=var)
        src = result.chosen if use == "chosen" else result.ranking
        pairs = src.loc[src["outcome"] == o, ["treated_la", "comparator_la"]]
        for t, c in pairs.itertuples(index=False, name=None):
            g = result.go_live[t]
            stop = g if end == "go_live" else g - result.entry_lag
            both = wide.loc[[t, c]].notna().all(axis=0)
            qs = [q for q in wide.columns if both[q]]
            pre_q = [q for q in qs if q < stop]
            post_q = [q for q in qs if q >= g and (horizon is None or q < g + horizon)]
            yt, yc = wide.loc[t], wide.loc[c]
            if pre_q and post_q:
                sel = pre_q + post_q
                post = np.array([q >= g for q in sel])
                real = _did(yt[sel].to_numpy(float), yc[sel].to_numpy(float), post)
                est_rows.append({
                    "outcome": o, "treated_la": t, "comparator_la": c, "kind": "real",
                    "go_live": g, "quarters_before_go_live": 0, "n_pre": len(pre_q),
                    "n_post": len(post_q), "estimate": real,
                })
            else:
                notes.append(f"{o}: pair {t}–{c} has no post-period (or pre-period) data; "
                             "no real estimate")
            fakes = [
                f for f in pre_q
                if f >= g - first
                and sum(q < f for q in pre_q) >= min_pre
                and sum(q >= f for q in pre_q) >= 1
            ]
            if n_placebo is not None and len(fakes) > n_placebo:
                idx = np.unique(np.round(np.linspace(0, len(fakes) - 1, n_placebo)).astype(int))
                fakes = [fakes[i] for i in idx]
            if not fakes:
                notes.append(f"{o}: pair {t}–{c} has no eligible fake go-live quarter")
            y_t = yt[pre_q].to_numpy(float)
            y_c = yc[pre_q].to_numpy(float)
            for f in fakes:
                post = np.array([q >= f for q in pre_q])
                est_rows.append({
                    "outcome": o, "treated_la": t, "comparator_la": c, "kind": "placebo",
                    "go_live": f, "quarters_before_go_live": (g - f).n,
                    "n_pre": int((~post).sum()), "n_post": int(post.sum()),
                    "estimate": _did(y_t, y_c, post),
                })
    estimates = pd.DataFrame(
        est_rows,
        columns=["outcome", "treated_la", "comparator_la", "kind", "go_live",
                 "quarters_before_go_live", "n_pre", "n_post", "estimate"],
    )

    def _summ(real: float, pl: np.ndarray) -> dict[str, Any]:
        n = len(pl)
        return {
            "real_estimate": real,
            "n_placebo": n,
            "placebo_mean": float(pl.mean()) if n else math.nan,
            "placebo_sd": float(pl.std(ddof=1)) if n > 1 else math.nan,
            "p_value": float(np.mean(np.abs(pl) >= abs(real))) if n and not math.isnan(real)
            else math.nan,
        }

    table_rows = []
    overall_rows = []
    for o in outcomes:
        e = estimates[estimates["outcome"] == o]
        src = result.chosen if use == "chosen" else result.ranking
        pairs = src.loc[src["outcome"] == o, ["treated_la", "comparator_la"]]
        reals = []
        for t, c in pairs.itertuples(index=False, name=None):
            ep = e[(e["treated_la"] == t) & (e["comparator_la"] == c)]
            r = ep.loc[ep["kind"] == "real", "estimate"]
            real = float(r.iloc[0]) if len(r) else math.nan
            if not math.isnan(real):
                reals.append(real)
            pl = ep.loc[ep["kind"] == "placebo", "estimate"].to_numpy(float)
            table_rows.append({"outcome": o, "treated_la": t, "comparator_la": c,
                               **_summ(real, pl)})
        pl_e = e[e["kind"] == "placebo"]
        pooled = pl_e.groupby("quarters_before_go_live")["estimate"].mean().to_numpy(float)
        real_mean = float(np.mean(reals)) if reals else math.nan
        overall_rows.append({"outcome": o, "n_pairs": len(pairs), **_summ(real_mean, pooled),
                             "placebo_estimates": [float(x) for x in pooled]})
    table = pd.DataFrame(
        table_rows,
        columns=["outcome", "treated_la", "comparator_la", "real_estimate", "n_placebo",
                 "placebo_mean", "placebo_sd", "p_value"],
    )
    overall = pd.DataFrame(
        overall_rows,
        columns=["outcome", "n_pairs", "real_estimate", "n_placebo", "placebo_mean",
                 "placebo_sd", "p_value", "placebo_estimates"],
    )
    return PlaceboResult(
        table=table,
        overall=overall,
        estimates=estimates,
        outcomes=tuple(outcomes),
        horizon=horizon,
        scale=scale,
        notes=tuple(notes),
    )

