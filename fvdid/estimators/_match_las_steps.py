"""The steps of :func:`fvdid.estimators.match_las.match_las` (private).

Each step is a small function the public function calls in order: validate the options
(:func:`_check_options`), the treatment LAs' windows (:func:`_treatment_windows`), the
categorical exclusions (:func:`_categorical_exclusions`), the distances and the audit rows
(:func:`_distances`, :func:`_candidate_rows`), the ranking (:func:`_rank`), the choice among the
ranked comparators (:func:`_choose`) and the exclusion table (:func:`_excluded_table`).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError
from fvdid.estimators._match_las_data import (
    FV_FLAG_COLUMNS,
    _as_str_set,
    _flag_las,
    _standardise,
    _to_quarter,
    _wide,
)

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


# Distances are compared after rounding to this many decimals so that distances equal in exact
# arithmetic but different in the last floating-point bit tie, and the tie is then broken by the
# LA code (deterministic across platforms and summation orders).
_TIE_DECIMALS = 12


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



def _check_options(
    outcome: str | Sequence[str],
    go_live: Mapping[str, QuarterLike],
    *,
    window: int,
    k: int,
    entry_lag: int,
    min_pre_quarters: int,
    n_comparators: int,
    min_overlap: int | None,
    metric: str,
    max_distance: float | None,
) -> tuple[list[str], Mapping[str, QuarterLike]]:
    """Validate the options; return the outcome list and ``go_live`` as a mapping."""
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
    return outcomes, go_live


def _treatment_windows(
    data: pd.DataFrame,
    go_live: Mapping[str, QuarterLike],
    *,
    window: int,
    entry_lag: int,
    unit: str,
    time: str,
    freq: Any,
) -> tuple[dict[str, pd.Period], dict[str, list[pd.Period]], dict[str, list[pd.Period]]]:
    """Go-live quarter, matching-window quarters and entry-lag quarters per treatment LA."""
    all_las = sorted(data[unit].unique())
    present = set(all_las)
    q_first, q_last = data[time].min(), data[time].max()
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
    return gl, window_quarters, lag_quarters


def _categorical_exclusions(
    data: pd.DataFrame,
    treated_las: list[str],
    *,
    fv_las: Iterable[str],
    partners_in_practice: Iterable[str] | None,
    exclude: Iterable[str],
    restrict_to: Iterable[str] | None,
    restrict_reason: str,
    unit: str,
    notes: list[str],
) -> dict[str, list[str]]:
    """LA -> the reasons (FV, PiP, user, pool) it is left out of every comparator pool."""
    all_las = sorted(data[unit].unique())
    present = set(all_las)
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
    return categorical


def _distances(
    dz: pd.DataFrame,
    wide: pd.DataFrame,
    t: str,
    g: pd.Period,
    wq: list[pd.Period],
    o: str,
    *,
    metric: str,
    min_pre_quarters: int,
    min_overlap: int | None,
    notes: list[str],
) -> tuple[pd.Series, np.ndarray, np.ndarray, int, int]:
    """Distances of every LA to treatment LA ``t`` over the window changes.

    Returns the pre-period quarters with data per LA, the changes observed for both, the
    distances, the treatment LA's number of changes and the overlap needed.
    """
    change_q = wq[1:]  # dz at these quarters = change from the previous window quarter
    d_all = dz.loc[:, change_q].to_numpy(dtype=float)
    d_t = dz.loc[t, change_q].to_numpy(dtype=float)
    n_t = int((~np.isnan(d_t)).sum())
    if n_t < 2:
        miss = [str(q) for q in wq if pd.isna(wide.at[t, q])]
        raise FvdidInputError(
            f"treatment LA {t!r}, outcome {o!r}: only {n_t} quarter-to-quarter change(s) "
            f"in the matching window {wq[0]}–{wq[-1]} (missing in {miss}); expected at "
            "least 2"
        )
    need = n_t if min_overlap is None else min(min_overlap, n_t)
    pre_cols = [q for q in wide.columns if q < g]
    n_pre = wide.notna().loc[:, pre_cols].sum(axis=1)
    if int(n_pre[t]) < min_pre_quarters:
        notes.append(
            f"treatment LA {t!r}, outcome {o!r}: only {int(n_pre[t])} pre-period quarters "
            f"with data (fewer than {min_pre_quarters})"
        )
    diff = d_all - d_t[None, :]
    n_both = (~np.isnan(diff)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "rmse":
            dist = np.sqrt(np.nansum(diff**2, axis=1) / n_both)
        else:
            dist = np.nansum(np.abs(diff), axis=1) / n_both
    return n_pre, n_both, dist, n_t, need


def _candidate_rows(
    data: pd.DataFrame,
    outcomes: list[str],
    gl: dict[str, pd.Period],
    window_quarters: dict[str, list[pd.Period]],
    categorical: dict[str, list[str]],
    *,
    unit: str,
    time: str,
    freq: Any,
    metric: str,
    min_pre_quarters: int,
    min_overlap: int | None,
    notes: list[str],
) -> list[dict[str, Any]]:
    """Per outcome: standardise, difference, and one audit row per treatment LA × other LA."""
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
        for t in sorted(gl):
            g, wq = gl[t], window_quarters[t]
            n_pre, n_both, dist, n_t, need = _distances(
                dz, wide, t, g, wq, o, metric=metric, min_pre_quarters=min_pre_quarters,
                min_overlap=min_overlap, notes=notes,
            )
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
    return cand_rows


def _rank(
    cand_rows: list[dict[str, Any]],
    outcomes: list[str],
    treated_las: list[str],
    *,
    k: int,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ranked audit table (``candidates``) and its ``k`` nearest eligible rows (``ranking``)."""
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
    return candidates, ranking


def _pick(
    r: pd.DataFrame,
    sel: list[str] | None,
    t: str,
    o: str,
    *,
    max_distance: float | None,
    n_comparators: int,
) -> tuple[pd.DataFrame | None, str | None]:
    """The comparators chosen among the ranked ``r`` of one treatment LA × outcome, or the
    reason the combination is dropped."""
    if r.empty:
        return None, "no eligible comparator"
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
            return None, f"no adequate visual match among the {len(r)} nearest"
        return pick, None
    pick = r
    if max_distance is not None:
        pick = pick[pick["distance"] <= max_distance]
        if pick.empty:
            return None, (f"no comparator within max_distance = {max_distance:g} "
                          f"(nearest: {r['distance'].iloc[0]:.4g})")
    return pick.head(n_comparators), None


def _choose(
    ranking: pd.DataFrame,
    treated_las: list[str],
    outcomes: list[str],
    *,
    selections: Mapping[object, Sequence[str]] | None,
    max_distance: float | None,
    n_comparators: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``chosen`` comparators and the ``dropped`` treatment LA × outcome combinations."""
    chosen_rows: list[dict[str, Any]] = []
    dropped_rows: list[dict[str, Any]] = []
    for t in treated_las:
        for o in outcomes:
            r = ranking[(ranking["treated_la"] == t) & (ranking["outcome"] == o)]
            pick, reason = _pick(
                r, _selection_for(selections, t, o), t, o, max_distance=max_distance,
                n_comparators=n_comparators,
            )
            if pick is None:
                dropped_rows.append({"treated_la": t, "outcome": o, "reason": reason})
                continue
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
    return chosen, dropped


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
