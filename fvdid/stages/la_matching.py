"""Stage ``la_matching``: match every treatment LA to comparator LAs on pre-period trends.

Protocol (Local Authority Level Matching; Exclusion Criteria; Matching on parallel trends):
:func:`fvdid.match_las` ranks the comparators per treatment LA and outcome; this stage reads the
LA table (treatment LAs and their go-live months, the trailblazer, Partners in Practice, which LAs
have child-level records), runs the matching for every outcome, draws the trend plots, runs the
placebo tests and hands the matched pairs to the individual-level (CEM) stage.

Child-level extract (``require_extract``)
-----------------------------------------
In the SRS only the LAs requested have child-level records (``las.in_extract``). A comparator
without them cannot enter the analysis, so with ``require_extract=True`` (default) the eligible
pool is restricted to LAs with ``in_extract=True`` — the ranking, the ``k`` nearest and the choice
are all made within that pool, and the other LAs are listed in ``excluded`` with the reason
"no child-level records (in_extract = False)". For the appendix the stage also ranks the
unrestricted pool (``result_all_las``) and reports, per treatment LA and outcome, the nearest LA
overall beside the nearest LA with records (``extract_check``): when they differ, the request for
child-level data missed a better-matching LA. With ``require_extract=False`` the pool is not
restricted (for a run on aggregate data only) and ``result_all_las`` is None.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows, require_columns
from fvdid.estimators.match_las import (
    LAMatchResult,
    PlaceboResult,
    match_las,
    placebo_tests,
    trend_plot,
)
from fvdid.reporting.appendix import AppendixTable, Section

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["LAMatchingOptions", "LAMatchingStage", "la_matching_section", "not_matched", "run_la_matching"]

REASON_NO_EXTRACT = "no child-level records (in_extract = False)"


@dataclass(frozen=True)
class LAMatchingOptions:
    """Options of the stage.

    Read from a :class:`fvdid.config.RunConfig` (``la_window``, ``la_k``, ``la_entry_lag`` and,
    in its ``extras``, the other ``la_*`` keys below) or from a plain mapping with the same keys.

    Parameters
    ----------
    la_window, la_k, la_entry_lag
        Quarters in the matching window, neighbours ranked, quarters left out before go-live.
    la_metric
        "rmse" (default) or "mae".
    la_require_extract
        Restrict comparators to LAs with child-level records (see the module docstring).
    la_n_comparators, la_max_distance, la_selections
        The choice among the ranked comparators (see :func:`fvdid.match_las`).
    la_exclude
        LA codes excluded by the analyst.
    la_include_trailblazer
        Match the trailblazer as a treatment LA too (sensitivity analysis); otherwise it is only
        excluded from the comparators.
    la_trend_top
        Comparators drawn per treatment LA in the trend plots.
    la_placebo, la_placebo_horizon, la_placebo_end
        Run the placebo tests; post-period quarters of the real estimate; which pre-period
        quarters the placebos use (see :func:`fvdid.match_las.placebo_tests`).
    la_figures
        Draw the figures (turn off for quick runs).
    """

    la_window: int = 8
    la_k: int = 10
    la_entry_lag: int = 6
    la_metric: Literal["rmse", "mae"] = "rmse"
    la_require_extract: bool = True
    la_n_comparators: int = 1
    la_max_distance: float | None = None
    la_selections: Mapping[object, Sequence[str]] | None = None
    la_exclude: tuple[str, ...] = ()
    la_include_trailblazer: bool = False
    la_trend_top: int = 3
    la_placebo: bool = True
    la_placebo_horizon: int | None = None
    la_placebo_end: Literal["go_live", "entry_lag"] = "go_live"
    la_figures: bool = True

    @classmethod
    def from_config(cls, config: Any) -> LAMatchingOptions:
        """Build the options from a RunConfig, a mapping of ``la_*`` keys, or None (defaults)."""
        if config is None:
            return cls()
        if isinstance(config, LAMatchingOptions):
            return config
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        if isinstance(config, Mapping):
            source: Mapping[str, Any] = config
            unknown = sorted(k for k in source if str(k).startswith("la_") and k not in names)
        else:
            source = {n: getattr(config, n) for n in names if hasattr(config, n)}
            extras = getattr(config, "extras", None) or {}
            unknown = sorted(k for k in extras if str(k).startswith("la_") and k not in names)
            source = {**source, **{k: v for k, v in extras.items() if k in names}}
        if unknown:
            raise FvdidInputError(
                f"unknown LA-matching option(s) {unknown}; valid options: {sorted(names)}"
            )
        for n in names:
            if n in source:
                v = source[n]
                values[n] = tuple(v) if n == "la_exclude" and not isinstance(v, str) else v
        return cls(**values)


@dataclass(frozen=True)
class LAMatchingStage:
    """What the stage hands on (plain data).

    Attributes
    ----------
    result
        :class:`fvdid.match_las.LAMatchResult` over all outcomes (the pool used for the pairs).
    result_all_las
        The same ranking without the child-level-records restriction (appendix), or None.
    pairs
        treated_la, comparator_la, outcome: the input of the CEM stage.
    dropped
        Treatment LA × outcome combinations without an acceptable comparator.
    excluded
        One row per LA and reason.
    extract_check
        Per treatment LA and outcome: the nearest comparator overall and the nearest with
        child-level records (empty when ``require_extract`` is off, or the check was not asked
        for).
    placebo
        Outcome -> :class:`fvdid.match_las.PlaceboResult` (empty when placebos are off).
    figures
        Name -> matplotlib Figure: ``la_trends_<outcome>`` and ``la_placebo_<outcome>``.
    go_live
        Treatment LA -> go-live quarter.
    options
        The options used.
    notes
        Announcements (LAs of the LA table absent from the panel, missing columns, ...).
    """

    result: LAMatchResult
    result_all_las: LAMatchResult | None
    pairs: pd.DataFrame
    dropped: pd.DataFrame
    excluded: pd.DataFrame
    extract_check: pd.DataFrame
    placebo: dict[str, PlaceboResult]
    figures: dict[str, Figure] = field(repr=False)
    go_live: dict[str, pd.Period]
    options: LAMatchingOptions
    notes: tuple[str, ...] = ()


def _bool_col(las: pd.DataFrame, col: str) -> pd.Series:
    s = las[col]
    if s.dtype == bool:
        return s
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & ~num.isin([0, 1])
    if bad.any():
        raise FvdidInputError(
            f"column {col!r} of las must be boolean (or 0/1); {describe_rows(las.index[bad])} "
            f"hold {sorted({repr(v) for v in s[bad]})[:5]}"
        )
    return num.fillna(0).astype(bool)


def run_la_matching(
    la_quarter: pd.DataFrame,
    las: pd.DataFrame,
    *,
    outcomes: str | Sequence[str],
    config: Any = None,
    figures: bool | None = None,
    extract_check: bool = True,
) -> LAMatchingStage:
    """Run LA matching, trend plots and placebo tests for ``outcomes``.

    Parameters
    ----------
    la_quarter
        LA × quarter panel: ``la``, ``quarter`` (quarterly Period) and the outcome columns.
    las
        LA table: ``la_code``, ``treated``, ``go_live`` (monthly Period, NaT for non-treated);
        optional ``trailblazer``, ``partners_in_practice``, ``in_extract``, ``la_name``.
    outcomes
        Outcome column(s) of ``la_quarter`` to match on (each separately).
    config
        A :class:`fvdid.config.RunConfig`, a mapping of ``la_*`` options, an
        :class:`LAMatchingOptions`, or None (protocol defaults).
    figures
        Draw the trend and placebo plots (None: the ``la_figures`` option decides).
    extract_check
        Also rank the unrestricted pool for the appendix's ``extract_check`` (default). A Monte
        Carlo replication of the headline's inference alone leaves it out (the pairs do not
        depend on it); ``result_all_las`` is then None, ``extract_check`` empty and a note says so.
    """
    opts = LAMatchingOptions.from_config(config)
    if figures is not None:
        opts = dataclasses.replace(opts, la_figures=figures)
    outs = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    require_columns(las, ["la_code", "treated", "go_live"], what="las")
    require_columns(la_quarter, ["la", "quarter", *outs], what="la_quarter")
    las = las.copy()
    las["la_code"] = las["la_code"].astype(str)
    notes: list[str] = []

    treated = _bool_col(las, "treated")
    trail = _bool_col(las, "trailblazer") if "trailblazer" in las.columns else treated & False
    is_treatment = treated & ~trail
    if opts.la_include_trailblazer:
        is_treatment = is_treatment | trail
    missing_gl = is_treatment & las["go_live"].isna()
    if missing_gl.any():
        raise FvdidInputError(
            f"column 'go_live' of las is missing for treatment LA(s) "
            f"{las.loc[missing_gl, 'la_code'].tolist()}; expected a go-live month for each"
        )
    if not is_treatment.any():
        raise FvdidInputError("las marks no treatment LA (column 'treated'); nothing to match")
    go_live = dict(zip(las.loc[is_treatment, "la_code"], las.loc[is_treatment, "go_live"]))
    fv_las = set(las.loc[treated | trail, "la_code"])

    pip: list[str] | None = None
    if "partners_in_practice" in las.columns:
        pip = las.loc[_bool_col(las, "partners_in_practice"), "la_code"].tolist()

    panel_las = set(la_quarter["la"].astype(str))
    absent = sorted(set(las["la_code"]) - panel_las - set(go_live))
    if absent:
        notes.append(
            f"{len(absent)} LA(s) of the LA table have no rows in la_quarter and cannot be "
            f"comparators: {absent[:10]}{' ...' if len(absent) > 10 else ''}"
        )

    restrict: list[str] | None = None
    if opts.la_require_extract:
        if "in_extract" in las.columns:
            restrict = las.loc[_bool_col(las, "in_extract"), "la_code"].tolist()
        else:
            notes.append(
                "las has no column 'in_extract': every LA is taken to have child-level records"
            )

    common: dict[str, Any] = {
        "outcome": outs,
        "go_live": go_live,
        "window": opts.la_window,
        "k": opts.la_k,
        "entry_lag": opts.la_entry_lag,
        "exclude": opts.la_exclude,
        "fv_las": fv_las,
        "partners_in_practice": pip,
        "metric": opts.la_metric,
        "n_comparators": opts.la_n_comparators,
        "max_distance": opts.la_max_distance,
    }
    # Columns of la_quarter that would re-flag LAs (e.g. a time-varying `treated`) are ignored:
    # the LA table is the authority here.
    from fvdid.reporting.trend_plot import DENOMINATORS

    dens = sorted({DENOMINATORS[o] for o in outs if DENOMINATORS.get(o) in la_quarter.columns})
    # the denominators ride along for the figures' disclosure control (matching ignores them)
    panel = la_quarter.loc[:, ["la", "quarter", *outs, *[d for d in dens if d not in outs]]]
    result = match_las(
        panel, **common, restrict_to=restrict, restrict_reason=REASON_NO_EXTRACT,
        selections=opts.la_selections,
    )
    result_all: LAMatchResult | None = None
    check = pd.DataFrame(
        columns=["treated_la", "outcome", "nearest_any", "distance_any", "nearest_any_in_extract",
                 "nearest_in_extract", "distance_in_extract", "rank_in_extract_among_all"]
    )
    if restrict is not None and extract_check:
        result_all = match_las(panel, **common)
        check = _extract_check(result, result_all, set(restrict))
    elif restrict is not None:
        notes.append("the unrestricted ranking of the extract check was not computed "
                     "(extract_check=False)")

    figures: dict[str, Figure] = {}
    placebo: dict[str, PlaceboResult] = {}
    for o in outs:
        if opts.la_figures:
            figures[f"la_trends_{o}"] = trend_plot(result, panel, o, top=opts.la_trend_top,
                                                   threshold=int(getattr(config, "sdc_threshold", 10)))
        if opts.la_placebo:
            pr = placebo_tests(result, panel, outcome=o, horizon=opts.la_placebo_horizon,
                               end=opts.la_placebo_end)
            placebo[o] = pr
            if opts.la_figures:
                figures[f"la_placebo_{o}"] = pr.plot()
                figures[f"la_placebo_{o}"]._fvdid_sdc = [_placebo_check(result, panel, o, config)]

    return LAMatchingStage(
        result=result,
        result_all_las=result_all,
        pairs=result.pairs(),
        dropped=result.dropped,
        excluded=result.excluded,
        extract_check=check,
        placebo=placebo,
        figures=figures,
        go_live=dict(result.go_live),
        options=opts,
        notes=tuple(notes) + result.notes,
    )


def _placebo_check(result: LAMatchResult, panel: pd.DataFrame, outcome: str, config: Any) -> dict[str, str]:
    """The SDC record of a placebo figure: its points are DiD estimates of the pairs' LA-quarter
    means; how many of those LA-quarters rest on fewer children than the threshold."""
    from fvdid.reporting.trend_plot import suppress_small_cells

    thr = int(getattr(config, "sdc_threshold", 10))
    ch = result.chosen[result.chosen["outcome"] == outcome]
    las = set(ch["treated_la"]) | set(ch["comparator_la"])
    _, n_small, den = suppress_small_cells(panel[panel["la"].isin(las)], outcome, thr)
    why = ("estimates (differences of LA × quarter means over many quarters), no counts plotted; "
           + (f"{n_small} of the pairs' LA-quarters have fewer than {thr} children in {den}: each "
              "enters only through a mean over quarters and LAs, never on its own" if den else
              "the panel has no denominator column to check"))
    return {"output": f"figure la_placebo_{outcome}", "action": "checked",
            "what": "DiD estimates of each matched pair", "why": why}


def _extract_check(
    restricted: LAMatchResult, unrestricted: LAMatchResult, in_extract: set[str]
) -> pd.DataFrame:
    """Nearest comparator overall vs nearest with child-level records, per treated LA × outcome."""
    rows = []
    cand = unrestricted.candidates
    for (t, o), grp in restricted.ranking.groupby(["treated_la", "outcome"], sort=False):
        best = grp.sort_values("rank").iloc[0]
        allr = cand[(cand["treated_la"] == t) & (cand["outcome"] == o) & cand["eligible"]]
        allr = allr.sort_values("rank")
        top = allr.iloc[0] if len(allr) else None
        pos = allr.loc[allr["comparator_la"] == best["comparator_la"], "rank"]
        rows.append({
            "treated_la": t,
            "outcome": o,
            "nearest_any": None if top is None else top["comparator_la"],
            "distance_any": float("nan") if top is None else float(top["distance"]),
            "nearest_any_in_extract": None if top is None else top["comparator_la"] in in_extract,
            "nearest_in_extract": best["comparator_la"],
            "distance_in_extract": float(best["distance"]),
            "rank_in_extract_among_all": int(pos.iloc[0]) if len(pos) else None,
        })
    return pd.DataFrame(rows, columns=[
        "treated_la", "outcome", "nearest_any", "distance_any", "nearest_any_in_extract",
        "nearest_in_extract", "distance_in_extract", "rank_in_extract_among_all",
    ])


def not_matched(lam: LAMatchingStage) -> tuple[str, ...]:
    """One sentence per treatment LA × outcome left out for want of an acceptable comparator."""
    return tuple(
        f"Not done (no_acceptable_match): {r.outcome} for treatment LA {r.treated_la}: {r.reason}; "
        "that LA is left out of the outcome's analysis."
        for r in lam.dropped.itertuples(index=False))


def la_matching_section(lam: LAMatchingStage, cfg: Any) -> Section:
    """The appendix section of LA matching: chosen comparators, rankings, exclusions, placebos."""
    rk = lam.result.ranking
    top = rk[rk["rank"] <= 3] if "rank" in rk.columns else rk
    figs = tuple((name, name.replace("_", " "), fig) for name, fig in lam.figures.items())
    plac = [AppendixTable(f"placebo_{o}", f"Placebo tests (fake go-live dates): {o}", pr.table)
            for o, pr in lam.placebo.items()]
    return Section(
        "Matching local authorities on pre-period trends",
        (f"Window: {cfg.la_window} quarters ending {cfg.la_entry_lag} quarters before go-live; "
         f"the {cfg.la_k} nearest comparators ranked per treatment LA and outcome; matching with replacement.",
         *not_matched(lam), *lam.notes),
        (AppendixTable("la_chosen", "Chosen comparators", lam.result.chosen),
         AppendixTable("la_ranking_top3", "Nearest three comparators per treatment LA and outcome", top),
         AppendixTable("la_excluded", "LAs excluded as comparators", lam.excluded),
         AppendixTable("la_dropped", "Treatment LAs dropped for an outcome (no acceptable match)", lam.dropped),
         *plac),
        figs,
    )
