"""Reading an extract (CSV, Parquet or Stata ``.dta``) with a column mapping and a schema check.

An extract is a folder with ``children``, ``las`` and ``la_quarter`` tables (and optionally
``absence_terms`` and ``shocks``, the common shocks of the common-shock test), each as ``NAME.parquet``, ``NAME.csv`` or ``NAME.dta`` — the layout that
``fvdid simulate --out DIR`` writes. A mapping file (JSON or TOML) renames the extract's columns to
fvdid's names::

    [children]
    child_id = "PupilMatchingRefAnonymous"
    la_code = "LA_code"

Every check names the table, the column, the rows (a CSV's data row ``i`` is line ``i + 2`` of the
file; other files and in-memory frames count rows from 1), the offending values as written and
what was expected; nothing is dropped here. :func:`validate_extract` checks each table and then
the tables against each other (every LA known, ``treated_la`` and ``fv`` as the LA table implies,
go-live dates inside the panel); :func:`load_extract` calls it, and so can anything that builds
an :class:`Extract` in memory.

The module is over 500 lines because the per-table schema checks and the cross-table checks share
one set of private helpers (parsing with the raw text kept, row naming) and one error style.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError, RowNames

__all__ = [
    "Extract",
    "derive_fv",
    "load_extract",
    "read_table",
    "validate_children",
    "validate_extract",
    "validate_la_quarter",
    "validate_las",
    "validate_shocks",
]

TABLES = ("children", "las", "la_quarter", "absence_terms", "shocks")
OPTIONAL_TABLES = ("absence_terms", "shocks")
SUFFIXES = (".parquet", ".csv", ".dta")
DAYS_MAX = 548
"""Days on plans are counted over 18 months from referral and censored there (protocol,
Secondary outcome 2): 18 x 365.25 / 12 = 547.9, so at most 548 days (the simulator's cap)."""


@dataclass(frozen=True)
class Extract:
    """The tables of one extract, validated, with where they came from."""

    children: pd.DataFrame
    las: pd.DataFrame
    la_quarter: pd.DataFrame
    absence_terms: pd.DataFrame | None
    source: str
    input_hash: str
    truth: pd.DataFrame | None = None
    """The simulator's true effect by outcome and event quarter (simulated extracts only)."""
    child_effects: pd.DataFrame | None = None
    """The simulator's true effect of each child (``child_id`` + one column per outcome)."""
    shocks: pd.DataFrame | None = None
    """Named common shocks, one row per (LA, shock): ``la_code, shock, date`` (a month) and
    optionally ``response`` (the LA's exposure to the shock), for the common-shock test."""


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, Parquet or Stata file; raise a clear error for anything else or an empty file."""
    if not path.exists():
        raise FvdidInputError(f"input file {path} does not exist")
    if path.stat().st_size == 0:
        raise FvdidInputError(f"input file {path} is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, low_memory=False)
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix == ".dta":
            df = pd.read_stata(path, convert_categoricals=False)
        else:
            raise FvdidInputError(
                f"input file {path}: expected .csv, .parquet or .dta, got {suffix!r}"
            )
    except pd.errors.EmptyDataError as exc:
        raise FvdidInputError(f"input file {path} has no rows or columns") from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        if isinstance(exc, FvdidInputError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FvdidInputError(f"input file {path} cannot be read: {first}") from exc
    if df.empty:
        raise FvdidInputError(f"input file {path} has no rows")
    return df


def _load_mapping(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    if not path.exists():
        raise FvdidInputError(f"column-mapping file {path} does not exist")
    text = path.read_text()
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FvdidInputError(f"column-mapping file {path} cannot be parsed: {exc}") from exc
    if not isinstance(raw, dict):
        raise FvdidInputError(f"column-mapping file {path} must hold one table per extract table")
    bad = sorted(set(raw) - set(TABLES))
    if bad:
        raise FvdidInputError(
            f"column-mapping file {path}: unknown table(s) {bad}; expected {list(TABLES)}"
        )
    out: dict[str, dict[str, str]] = {}
    for table, m in raw.items():
        if not isinstance(m, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in m.items()
        ):
            raise FvdidInputError(
                f"column-mapping file {path}: [{table}] must map fvdid's column names to the "
                f'extract\'s, e.g. child_id = "PupilRef"; got {m!r}'
            )
        out[table] = dict(m)
    return out


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _difference(a: pd.DataFrame, b: pd.DataFrame, rows: RowNames) -> str | None:
    """Describe the first difference between two copies of a table (None: same contents)."""
    if set(a.columns) != set(b.columns):
        only_a = sorted(set(a.columns) - set(b.columns))
        only_b = sorted(set(b.columns) - set(a.columns))
        return f"different columns (only in the first: {only_a}; only in the second: {only_b})"
    if len(a) != len(b):
        return f"{len(a):,} rows against {len(b):,}"
    for c in a.columns:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        num = all(pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) for s in (x, y))
        if num:
            fx, fy = x.astype("float64").to_numpy(), y.astype("float64").to_numpy()
            # CSV holds floats as text: allow the last-digit error of a text round trip.
            same = np.isclose(fx, fy, rtol=1e-12, atol=0.0) | (np.isnan(fx) & np.isnan(fy))
        else:
            sx = x.astype(str).where(x.notna(), "")
            sy = y.astype(str).where(y.notna(), "")
            same = (sx == sy).to_numpy()
        if not same.all():
            return f"column {c!r} differs in {rows.describe(np.flatnonzero(~same))}"
    return None


def _read_one(folder: Path, name: str, rename: dict[str, str]) -> tuple[pd.DataFrame, Path] | None:
    """Read table ``name`` from ``folder``; several copies must hold the same contents."""
    found = [folder / f"{name}{s}" for s in SUFFIXES if (folder / f"{name}{s}").exists()]
    if not found:
        return None
    frames = []
    for p in found:
        df = read_table(p)
        missing_src = sorted(set(rename) - set(df.columns))
        if missing_src:
            raise FvdidInputError(
                f"{p.name}: mapped column(s) {missing_src} not in the file; "
                f"its columns are {list(df.columns)}"
            )
        frames.append(df.rename(columns=rename))
    for p, df in zip(found[1:], frames[1:]):
        diff = _difference(frames[0], df, RowNames(p.name))
        if diff is not None:
            raise FvdidInputError(
                f"data folder {folder} holds both {found[0].name} and {p.name} with different "
                f"contents ({diff}); keep only the one to analyse"
            )
    return frames[0], found[0]


def load_extract(folder: Path, mapping: Path | None = None) -> Extract:
    """Read and validate an extract folder (see module docstring and :func:`validate_extract`)."""
    if not folder.exists():
        raise FvdidInputError(f"data folder {folder} does not exist")
    if folder.is_file():
        raise FvdidInputError(
            f"--data must be a folder holding children.*, las.* and la_quarter.* "
            f"(as written by `fvdid simulate --out DIR`), got the file {folder}"
        )
    maps = _load_mapping(mapping)
    frames: dict[str, pd.DataFrame | None] = {}
    rows: dict[str, RowNames] = {}
    used: list[Path] = []
    for name in TABLES:
        rename = {theirs: ours for ours, theirs in maps.get(name, {}).items()}
        got = _read_one(folder, name, rename)
        if got is None:
            if name in OPTIONAL_TABLES:
                frames[name] = None
                continue
            raise FvdidInputError(
                f"data folder {folder} has no {name} table (expected {name}.parquet, {name}.csv or {name}.dta)"
            )
        frames[name], p = got
        rows[name] = RowNames(p.name)
        used.append(p)
    raw = Extract(
        frames["children"],  # type: ignore[arg-type]
        frames["las"],  # type: ignore[arg-type]
        frames["la_quarter"],  # type: ignore[arg-type]
        frames["absence_terms"],
        str(folder),
        _hash_files(used),
        shocks=frames["shocks"],
    )
    return validate_extract(raw, rows=rows)


def validate_extract(extract: Extract, *, rows: Mapping[str, RowNames] | None = None) -> Extract:
    """Validate every table of ``extract`` and the tables against each other.

    Checks, beyond each table's schema (:func:`validate_children`, :func:`validate_las`,
    :func:`validate_la_quarter`):

    * every LA of the children table is in the LA table, and every treatment LA has children;
    * ``children.treated_la`` (and ``trailblazer_la`` when present) is the LA table's flag;
    * every go-live month lies inside the LA × quarter panel;
    * ``children.fv`` is the protocol's treatment (:func:`derive_fv`);
    * the shocks table, when present, names known LAs and parseable months (:func:`validate_shocks`).

    Parameters
    ----------
    extract
        The tables as read (or as simulated).
    rows
        Table name -> how its rows are named in errors (default: 1-based positions).

    Returns
    -------
    Extract
        The same extract with parsed tables (dates, Periods, booleans).
    """
    rows = dict(rows or {})
    rc, rl, rq = (rows.get(t, RowNames()) for t in ("children", "las", "la_quarter"))
    children = validate_children(extract.children, rows=rc)
    las = validate_las(extract.las, rows=rl)
    laq = validate_la_quarter(extract.la_quarter, rows=rq)
    _check_las_known(children, las, rc)
    _check_flags(children, las, rc)
    _check_go_live_in_panel(las, laq, rl)
    _check_fv(children, las, rc)
    shocks = extract.shocks
    if shocks is not None:
        shocks = validate_shocks(shocks, las, rows=rows.get("shocks", RowNames()))
    return dataclasses.replace(extract, children=children, las=las, la_quarter=laq, shocks=shocks)


# --- cross-table checks ---------------------------------------------------------------------------


def _check_las_known(children: pd.DataFrame, las: pd.DataFrame, rows: RowNames) -> None:
    known = set(las["la_code"].astype(str))
    code = children["la_code"].astype(str)
    absent = ~code.isin(known)
    if absent.any():
        parts = []
        for la in sorted(code[absent].unique()):
            pos = np.flatnonzero((code == la).to_numpy())
            parts.append(f"{la} ({rows.describe(pos)})")
        raise FvdidInputError(
            "children: column 'la_code' names LA(s) absent from the las table: "
            + "; ".join(parts[:10])
            + (" ..." if len(parts) > 10 else "")
            + "; expected every child's LA to have a row in las"
        )
    treated = las.loc[las["treated"], "la_code"].astype(str)
    without = sorted(set(treated) - set(code))
    if without:
        raise FvdidInputError(
            f"las: treatment LA(s) {without} have no children in the children table; expected "
            "child-level records for every treatment LA (or mark it treated = 0)"
        )


def _check_flags(children: pd.DataFrame, las: pd.DataFrame, rows: RowNames) -> None:
    for child_col, la_col in (("treated_la", "treated"), ("trailblazer_la", "trailblazer")):
        if child_col not in children.columns or la_col not in las.columns:
            continue
        flag = children["la_code"].astype(str).map(dict(zip(las["la_code"].astype(str), las[la_col])))
        bad = (children[child_col].astype(bool) != flag.astype(bool)).to_numpy()
        if bad.any():
            las_named = sorted(children.loc[bad, "la_code"].astype(str).unique())
            raise FvdidInputError(
                f"children: column {child_col!r} disagrees with las.{la_col} in "
                f"{rows.describe(np.flatnonzero(bad))}, LA(s) {las_named[:10]}; expected "
                f"{child_col} = las.{la_col} of the child's LA"
            )


def _check_go_live_in_panel(las: pd.DataFrame, laq: pd.DataFrame, rows: RowNames) -> None:
    q0, q1 = laq["quarter"].min(), laq["quarter"].max()
    go_q = las["go_live"].dt.asfreq("Q")
    bad = (las["go_live"].notna() & ((go_q < q0) | (go_q > q1))).to_numpy()
    if bad.any():
        shown = ", ".join(
            f"{la} {g}" for la, g in zip(las.loc[bad, "la_code"], las.loc[bad, "go_live"])
        )
        raise FvdidInputError(
            f"las: column 'go_live' lies outside the la_quarter panel ({q0}..{q1}) in "
            f"{rows.describe(np.flatnonzero(bad))}: {shown}; expected a go-live month within "
            "the panel"
        )


def derive_fv(children: pd.DataFrame, las: pd.DataFrame) -> pd.Series:
    """The protocol's treatment indicator of each child (0/1, int8, aligned with ``children``).

    Protocol (primary analysis and "Definition of treatment and comparison group"): FV = 1 if the
    child's first referral in the trial period started after its LA implemented Family Valued;
    0 if before, or if the LA never implements it. The go-live date is a month (``las.go_live``),
    so a child referred in the go-live month or later is FV, as in :mod:`fvdid.simulation`. An LA
    with a go-live date but ``treated = 0`` (the trailblazer) also has FV children.
    """
    go = children["la_code"].astype(str).map(dict(zip(las["la_code"].astype(str), las["go_live"])))
    go = pd.Series(pd.PeriodIndex(go, freq="M"), index=children.index)
    month = pd.to_datetime(children["referral_date"]).dt.to_period("M")
    return (go.notna() & (month >= go)).astype(np.int8)


def _check_fv(children: pd.DataFrame, las: pd.DataFrame, rows: RowNames) -> None:
    want = derive_fv(children, las).to_numpy()
    got = children["fv"].to_numpy()
    bad = got != want
    if bad.any():
        no_go = children["la_code"].astype(str).map(
            dict(zip(las["la_code"].astype(str), las["go_live"].isna()))
        ).to_numpy(dtype=bool)
        n_never = int((bad & no_go).sum())
        n_early = int((bad & ~no_go & (got == 1)).sum())
        n_late = int((bad & ~no_go & (got == 0)).sum())
        raise FvdidInputError(
            f"children: column 'fv' differs from the protocol's treatment in "
            f"{rows.describe(np.flatnonzero(bad))} ({n_never:,} with fv = 1 in an LA without a "
            f"go-live date, {n_early:,} with fv = 1 referred before go-live, {n_late:,} with "
            "fv = 0 referred in or after the go-live month); expected fv = 1 exactly when the "
            "child's LA has a go-live month (las.go_live) and the referral_date falls in or "
            "after it"
        )


# --- schema checks --------------------------------------------------------------------------------


def _fail(
    table: str,
    column: str,
    bad: pd.Series | np.ndarray,
    expected: str,
    values: pd.Series,
    rows: RowNames,
    who: pd.Series | None = None,
) -> None:
    mask = np.asarray(bad, dtype=bool)
    raw = values[mask].head(200)
    shown = list(dict.fromkeys("missing" if pd.isna(v) else repr(v) for v in raw.tolist()))[:5]
    named = ""
    if who is not None:
        names = list(dict.fromkeys(who[mask].astype(str).tolist()))
        named = f" (LA {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
    raise FvdidInputError(
        f"{table}: column {column!r} has unexpected values in {rows.describe(np.flatnonzero(mask))}"
        f"{named}: {', '.join(shown)}; expected {expected}"
    )


def _require(df: pd.DataFrame, table: str, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise FvdidInputError(
            f"{table}: missing required column(s) {missing}; present: {list(df.columns)[:30]}"
            " (use a column-mapping file to rename the extract's columns)"
        )


def _as_numbers(s: pd.Series) -> pd.Series:
    """Numbers from a column read as text (``"1"``, ``"true"``); unreadable text becomes NaN."""
    if s.dtype != object:
        return s
    txt = s.where(s.isna(), s.astype(str).str.strip().str.lower())
    txt = txt.replace({"true": "1", "false": "0"})
    return pd.to_numeric(txt, errors="coerce")


def _check_codes(
    df: pd.DataFrame, table: str, column: str, allowed: set, rows: RowNames, *, allow_na: bool = True
) -> None:
    """Check a coded column; numeric codes written as text are converted in ``df``."""
    raw = df[column]
    numeric = all(isinstance(a, int | float) for a in allowed)
    vals = _as_numbers(raw) if numeric else raw
    if numeric and isinstance(vals.dtype, np.dtype) and vals.dtype.kind in "biuf":
        # numbers against a handful of codes: one comparison per code (NaN matches none, as
        # in Series.isin), several times faster than hashing every row
        arr = vals.to_numpy()
        ok = np.zeros(len(arr), dtype=bool)
        for a in allowed:
            ok |= arr == a
        bad = pd.Series(~ok, index=vals.index)
    else:
        bad = ~vals.isin(allowed)
    if allow_na:
        bad &= raw.notna()
    if bad.any():
        expected = f"one of {sorted(allowed, key=str)}" + (" or missing" if allow_na else "")
        _fail(table, column, bad, expected, raw, rows)
    if vals is not raw:
        df[column] = vals


def _check_range(
    df: pd.DataFrame,
    table: str,
    column: str,
    low: float,
    high: float,
    expected: str,
    rows: RowNames,
    *,
    integer: bool = False,
) -> None:
    raw = df[column]
    vals = _as_numbers(raw)
    ok = vals.between(low, high)
    if integer:
        ok &= vals == np.round(vals)
    bad = raw.notna() & ~ok
    if bad.any():
        _fail(table, column, bad, expected, raw, rows)
    if vals is not raw:
        df[column] = vals


def _check(
    df: pd.DataFrame,
    table: str,
    column: str,
    ok: Callable[[pd.Series], pd.Series],
    expected: str,
    rows: RowNames,
) -> None:
    s = df[column]
    bad = ~ok(s)
    if bad.any():
        _fail(table, column, bad, expected, s, rows)


def _matches(s: pd.Series, pattern: str | re.Pattern[str]) -> pd.Series:
    """``s.astype(str).str.match(pattern)``, matched once per distinct value (missing: False)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    ok_u = pd.Series(uniques).astype(str).str.match(pattern).to_numpy(dtype=bool)
    ok = np.zeros(len(s), dtype=bool)
    m = codes >= 0
    ok[m] = ok_u[codes[m]]
    return pd.Series(ok, index=s.index)


def _parse_each(s: pd.Series, parse: Callable[[str], object]) -> tuple[list[object], np.ndarray]:
    """Parse each distinct non-missing value once: (parsed uniques, codes); failures are None."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed: list[object] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for u in uniques:
            try:
                parsed.append(parse(str(u).strip()))
            except (ValueError, TypeError, OverflowError):
                parsed.append(None)
    return parsed, codes


def _periods(
    df: pd.DataFrame, table: str, column: str, freq: str, expected: str, rows: RowNames,
    who: pd.Series | None = None,
) -> pd.Series:
    """Column ``column`` as Periods of ``freq``; text that is no period raises, showing it."""
    s = df[column]
    if isinstance(s.dtype, pd.PeriodDtype):
        return s if s.dt.freq.freqstr.startswith(freq) else s.dt.asfreq(freq)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.to_period(freq)
    parsed, codes = _parse_each(s, lambda v: pd.Period(v, freq=freq))
    nat = np.iinfo(np.int64).min
    ords = np.array([nat if p is None or pd.isna(p) else p.ordinal for p in parsed] + [nat])
    bad = (codes >= 0) & (ords[codes] == nat)
    if bad.any():
        _fail(table, column, bad, expected, s, rows, who)
    return pd.Series(pd.PeriodIndex.from_ordinals(ords[codes], freq=freq), index=s.index)


def _dates(df: pd.DataFrame, table: str, column: str, rows: RowNames) -> pd.Series:
    s = df[column]
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    parsed, codes = _parse_each(s, pd.Timestamp)
    nat = np.datetime64("NaT", "ns")
    vals = np.array(
        [nat if p is None or pd.isna(p) else p.tz_localize(None).to_datetime64() for p in parsed]
        + [nat],
        dtype="datetime64[ns]",
    )
    out = pd.Series(vals[codes], index=s.index)
    bad = out.isna()
    if bad.any():
        _fail(table, column, bad, "a date (YYYY-MM-DD)", s, rows)
    return out


LA_CODE = re.compile(r"^E(06|07|08|09|10)\d{6}$")
BINARY_CHILD = ("disabled", "fsm", "uasc", "prior_cpp")
BINARY_OUTCOMES = ("looked_after_18m", "cpp_12m", "kinship_first_placement", "reunified_18m")
CHILD_REQUIRED = [
    "child_id",
    "la_code",
    "referral_date",
    "financial_year",
    "fv",
    "treated_la",
    "age_at_referral",
    "gender",
    "ethnicity_major",
    "disabled",
    "fsm",
    "uasc",
    "main_need",
    "looked_after_18m",
]


def _check_la_code(df: pd.DataFrame, table: str, rows: RowNames) -> None:
    _check(df, table, "la_code", lambda s: _matches(s, LA_CODE),
           "an ONS LA code such as E08000026", rows)


def validate_children(df: pd.DataFrame, *, rows: RowNames | None = None) -> pd.DataFrame:
    """Check the child-level table; return it with dates and periods parsed.

    ``referral_month`` and ``referral_quarter`` are derived from ``referral_date`` when absent
    and must agree with it when present.
    """
    t, rows = "children", rows or RowNames()
    _require(df, t, CHILD_REQUIRED)
    df = df.copy()
    if df["child_id"].isna().any():
        _fail(t, "child_id", df["child_id"].isna(), "an identifier in every row", df["child_id"], rows)
    dup = df["child_id"].duplicated(keep=False)
    if dup.any():
        _fail(t, "child_id", dup, "one row per child (first referral in the trial period)",
              df["child_id"], rows)
    _check_la_code(df, t, rows)
    df["referral_date"] = _dates(df, t, "referral_date", rows)
    _check(df, t, "financial_year", lambda s: _matches(s, r"^\d{4}/\d{2}$"),
           "a financial year like '2021/22'", rows)
    _check_codes(df, t, "fv", {0, 1}, rows, allow_na=False)
    _check_codes(df, t, "treated_la", {0, 1}, rows, allow_na=False)
    df["treated_la"] = df["treated_la"].astype(bool)
    if "trailblazer_la" in df.columns:
        _check_codes(df, t, "trailblazer_la", {0, 1}, rows, allow_na=False)
        df["trailblazer_la"] = df["trailblazer_la"].astype(bool)
    _check_range(df, t, "age_at_referral", 0, 120, "a number of years", rows)
    _check_codes(df, t, "gender", {0, 1, 2, 3, 4}, rows)
    _check_codes(df, t, "ethnicity_major", {"White", "Mixed", "Asian", "Black", "Other"}, rows)
    _check_codes(df, t, "main_need", set(range(10)), rows)
    for c in (*BINARY_CHILD, *BINARY_OUTCOMES):
        if c in df.columns:
            _check_codes(df, t, c, {0, 1}, rows)
    if "days_cpp_cin_18m" in df.columns:
        _check_range(df, t, "days_cpp_cin_18m", 0, DAYS_MAX,
                     f"whole days between 0 and {DAYS_MAX} (18 months) or missing", rows,
                     integer=True)
    if "unauth_absence_rate" in df.columns:
        _check_range(df, t, "unauth_absence_rate", 0, 100, "a percentage 0-100 or missing", rows)
    for c, freq, example in (("referral_month", "M", "2021-07"), ("referral_quarter", "Q", "2021Q3")):
        derived = df["referral_date"].dt.to_period(freq)
        if c not in df.columns:
            df[c] = derived
            continue
        df[c] = _periods(df, t, c, freq, f"a period such as {example}", rows)
        _check(df, t, c, lambda s, d=derived: s == d,
               f"the {'month' if freq == 'M' else 'quarter'} of referral_date", rows)
    return df


def validate_las(df: pd.DataFrame, *, rows: RowNames | None = None) -> pd.DataFrame:
    """Check the LA table; return it with go-live months as Periods."""
    t, rows = "las", rows or RowNames()
    _require(df, t, ["la_code", "la_name", "treated", "go_live", "partners_in_practice"])
    df = df.copy()
    dup = df["la_code"].duplicated(keep=False)
    if dup.any():
        _fail(t, "la_code", dup, "one row per LA", df["la_code"], rows)
    _check_la_code(df, t, rows)
    for c in ("treated", "partners_in_practice", "trailblazer", "in_extract"):
        if c in df.columns:
            _check_codes(df, t, c, {0, 1}, rows, allow_na=False)
            df[c] = df[c].astype(bool)
    who = df["la_code"].astype(str)
    df["go_live"] = _periods(df, t, "go_live", "M", "a go-live month such as 2021-07 or missing",
                             rows, who)
    bad = df["treated"] & df["go_live"].isna()
    if bad.any():
        raise FvdidInputError(
            f"las: column 'go_live' is missing in {rows.describe(np.flatnonzero(bad.to_numpy()))}"
            f" (treatment LA {', '.join(who[bad])}); expected a go-live month for every "
            "treatment LA"
        )
    if "fgc_start" in df.columns:
        df["fgc_start"] = _periods(df, t, "fgc_start", "M", "a month such as 2021-03 or missing",
                                   rows, who)
    return df


def validate_shocks(df: pd.DataFrame, las: pd.DataFrame, *, rows: RowNames | None = None) -> pd.DataFrame:
    """Check the shocks table (``la_code, shock, date[, response]``); dates become months.

    Every LA must be in ``las``, every shock named, every date a month (``2022-10``, a date, or
    a Period), ``response`` (optional) a finite number, and (LA, shock) unique.
    """
    t, rows = "shocks", rows or RowNames()
    _require(df, t, ["la_code", "shock", "date"])
    df = df.copy()
    _check(df, t, "shock", lambda s: s.notna() & (s.astype(str).str.strip() != ""), "a shock name", rows)
    df["shock"] = df["shock"].astype(str).str.strip()
    known = set(las["la_code"].astype(str))
    _check(df, t, "la_code", lambda s: s.astype(str).isin(known), "an LA of the las table", rows)
    df["la_code"] = df["la_code"].astype(str)
    who = df["la_code"]
    _check(df, t, "date", lambda s: s.notna(), "a month such as 2022-10", rows)
    df["date"] = _periods(df, t, "date", "M", "a month such as 2022-10 (or a date)", rows, who)
    if "response" in df.columns:
        _check(df, t, "response", lambda s: np.isfinite(_as_numbers(s).astype(float)),
               "a finite number (the LA's response to the shock)", rows)
        df["response"] = _as_numbers(df["response"]).astype(float)
    dup = df.duplicated(["la_code", "shock"], keep=False)
    if dup.any():
        _fail(t, "la_code", dup, "one row per LA and shock", df["la_code"], rows, df["shock"])
    return df


def validate_la_quarter(df: pd.DataFrame, *, rows: RowNames | None = None) -> pd.DataFrame:
    """Check the LA × quarter panel; return it with quarters as Periods."""
    t, rows = "la_quarter", rows or RowNames()
    _require(df, t, ["la", "quarter"])
    df = df.copy()
    if df["quarter"].isna().any():
        _fail(t, "quarter", df["quarter"].isna(), "a quarter such as 2021Q3", df["quarter"], rows)
    df["quarter"] = _periods(df, t, "quarter", "Q", "a quarter such as 2021Q3", rows)
    dup = df.duplicated(["la", "quarter"], keep=False)
    if dup.any():
        _fail(t, "la", dup, "one row per (la, quarter)",
              df["la"].astype(str) + " " + df["quarter"].astype(str), rows)
    for c in BINARY_OUTCOMES:
        if c in df.columns:
            _check_range(df, t, c, 0, 1, "a rate between 0 and 1 or missing", rows)
    return df


def describe_mapping(mapping: Mapping[str, Mapping[str, str]]) -> str:
    """One line per renamed column, for the appendix."""
    return "; ".join(
        f"{t}.{theirs} -> {ours}" for t, m in mapping.items() for ours, theirs in m.items()
    )
