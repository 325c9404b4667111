"""Validation and preprocessing of :func:`fvdid.estimators.att_gt.att_gt` (private).

did's preprocessing rules, each a small step that announces what it changes: the columns
(:func:`_columns`), incomplete rows (:func:`_complete_rows`), the cohorts (:func:`_cohorts`), the
unit structure (:func:`_check_units`), the groups (:func:`_groups`,
:func:`_drop_first_treated`), the balanced panel (:func:`_units`) and small groups
(:func:`_small_groups`); :func:`_preprocess` runs them in did's order. Also the design matrix of
the covariates and the keyword aliases of issue 12.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows, require_columns

_EPS = float(np.finfo(float).eps)


def resolve_alias(new: str, new_value: Any, old: str, old_value: Any, default: Any) -> Any:
    """The value of keyword ``new`` given its documented old alias ``old``.

    ``None`` means "not given"; passing both raises :class:`~fvdid.errors.FvdidInputError`.
    """
    if new_value is not None and old_value is not None:
        raise FvdidInputError(
            f"{new}= and its alias {old}= were both given ({new}={new_value!r}, "
            f"{old}={old_value!r}); pass only {new}="
        )
    if new_value is not None:
        return new_value
    if old_value is not None:
        return old_value
    return default


def _check_options(
    *,
    control: str,
    method: str,
    base_period: str,
    anticipation: float,
    alpha: float,
    bootstrap: bool,
    B: int,
) -> None:
    """Validate the options of :func:`att_gt` that do not depend on the data."""
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
    if bootstrap and B < 2:
        raise FvdidInputError(f"B must be >= 2, got {B}")


def _announce(notes: list[str], msg: str) -> None:
    notes.append(msg)
    warnings.warn(msg, UserWarning, stacklevel=4)


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


def _columns(
    data: pd.DataFrame,
    *,
    y: str,
    time: str,
    cohort: str,
    unit: str | None,
    covariates: tuple[str, ...],
    panel: bool,
    weights: str | None,
    cluster: str | None,
    allow_unbalanced_panel: bool,
) -> pd.DataFrame:
    """The columns att_gt uses, checked for presence and type."""
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
    return d


def _complete_rows(d: pd.DataFrame, *, weights: str | None, notes: list[str]) -> pd.DataFrame:
    """Drop incomplete rows (announced) and check the weights."""
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
    return d


def _cohorts(
    d: pd.DataFrame, *, cohort: str, time: str, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Check the cohort codes; cohorts after the last period become never treated."""
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
    return d, tlist


def _check_units(
    d: pd.DataFrame, *, unit: str, time: str, cohort: str, cluster: str | None
) -> None:
    """Panels: cohort and cluster constant within units, one row per unit and period."""
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


def _groups(
    d: pd.DataFrame,
    tlist: np.ndarray,
    *,
    cohort: str,
    time: str,
    control: str,
    anticipation: float,
    notes: list[str],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The treated groups; without never-treated units the last cohort becomes the control."""
    coh = d[cohort].to_numpy(dtype=float)
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
    return d, tlist, glist


def _drop_first_treated(
    d: pd.DataFrame,
    tlist: np.ndarray,
    glist: np.ndarray,
    *,
    cohort: str,
    time: str,
    unit: str | None,
    panel: bool,
    anticipation: float,
    notes: list[str],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Drop units already treated in the first period (announced)."""
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
    return d, tlist, glist


def _units(
    d: pd.DataFrame,
    tlist: np.ndarray,
    *,
    unit: str | None,
    time: str,
    panel: bool,
    allow_unbalanced_panel: bool,
    notes: list[str],
) -> tuple[pd.DataFrame, bool, np.ndarray | None, int]:
    """Balance the panel (or code the units of the repeated cross-section path)."""
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
    return d, use_panel, unit_codes, n


def _small_groups(
    d: pd.DataFrame,
    tlist: np.ndarray,
    *,
    cohort: str,
    time: str,
    covariates: tuple[str, ...],
    control: str,
    notes: list[str],
) -> None:
    """Warn about small groups (did: fewer than (number of covariates + 5) units)."""
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
    """did's preprocessing, step by step; every change is announced in ``notes``."""
    notes: list[str] = []
    n_input = len(data)
    d = _columns(
        data, y=y, time=time, cohort=cohort, unit=unit, covariates=covariates, panel=panel,
        weights=weights, cluster=cluster, allow_unbalanced_panel=allow_unbalanced_panel,
    )
    d = _complete_rows(d, weights=weights, notes=notes)
    d, tlist = _cohorts(d, cohort=cohort, time=time, notes=notes)
    if unit is not None and (panel or allow_unbalanced_panel):
        _check_units(d, unit=unit, time=time, cohort=cohort, cluster=cluster)
    d, tlist, glist = _groups(
        d, tlist, cohort=cohort, time=time, control=control, anticipation=anticipation,
        notes=notes,
    )
    d, tlist, glist = _drop_first_treated(
        d, tlist, glist, cohort=cohort, time=time, unit=unit, panel=panel,
        anticipation=anticipation, notes=notes,
    )
    d, use_panel, unit_codes, n = _units(
        d, tlist, unit=unit, time=time, panel=panel,
        allow_unbalanced_panel=allow_unbalanced_panel, notes=notes,
    )
    if glist.size == 0:
        raise FvdidInputError(
            f"no valid groups: column {cohort!r} should hold the period a unit is first treated "
            "(0 if never treated), with at least one cohort after the first period (+ anticipation)"
        )

    if len(tlist) == 2 and cband:
        cband = False
        notes.append("only two periods: uniform bands equal pointwise intervals (cband off)")
    _small_groups(
        d, tlist, cohort=cohort, time=time, covariates=covariates, control=control, notes=notes
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

