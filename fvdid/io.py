"""Reading an extract (CSV, Parquet or Stata ``.dta``) with a column mapping and a schema check.

An extract is a folder with ``children``, ``las`` and ``la_quarter`` tables (and optionally
``absence_terms``), each as ``NAME.parquet``, ``NAME.csv`` or ``NAME.dta`` — the layout that
``fvdid simulate --out DIR`` writes. A mapping file (JSON or TOML) renames the extract's columns to
fvdid's names::

    [children]
    child_id = "PupilMatchingRefAnonymous"
    la_code = "LA_code"

Every check names the column, the rows and what was expected; nothing is dropped here.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fvdid.errors import FvdidInputError, describe_rows

__all__ = [
    "Extract",
    "load_extract",
    "read_table",
    "validate_children",
    "validate_la_quarter",
    "validate_las",
]

TABLES = ("children", "las", "la_quarter", "absence_terms")
SUFFIXES = (".parquet", ".csv", ".dta")


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
    if df.empty:
        raise FvdidInputError(f"input file {path} has no rows")
    return df


def _load_mapping(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    if not path.exists():
        raise FvdidInputError(f"column-mapping file {path} does not exist")
    text = path.read_text()
    raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    bad = sorted(set(raw) - set(TABLES))
    if bad:
        raise FvdidInputError(
            f"column-mapping file {path}: unknown table(s) {bad}; expected {list(TABLES)}"
        )
    return {k: dict(v) for k, v in raw.items()}


def _find(folder: Path, name: str) -> Path | None:
    for s in SUFFIXES:
        p = folder / f"{name}{s}"
        if p.exists():
            return p
    return None


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def load_extract(folder: Path, mapping: Path | None = None) -> Extract:
    """Read and validate an extract folder (see module docstring)."""
    if not folder.exists():
        raise FvdidInputError(f"data folder {folder} does not exist")
    if folder.is_file():
        raise FvdidInputError(
            f"--data must be a folder holding children.*, las.* and la_quarter.* "
            f"(as written by `fvdid simulate --out DIR`), got the file {folder}"
        )
    maps = _load_mapping(mapping)
    frames: dict[str, pd.DataFrame | None] = {}
    used: list[Path] = []
    for name in TABLES:
        p = _find(folder, name)
        if p is None:
            if name == "absence_terms":
                frames[name] = None
                continue
            raise FvdidInputError(
                f"data folder {folder} has no {name} table (expected {name}.parquet, {name}.csv or {name}.dta)"
            )
        used.append(p)
        df = read_table(p)
        rename = {theirs: ours for ours, theirs in maps.get(name, {}).items()}
        missing_src = sorted(set(rename) - set(df.columns))
        if missing_src:
            raise FvdidInputError(f"{p.name}: mapped column(s) {missing_src} not in the file")
        frames[name] = df.rename(columns=rename)
    children = validate_children(frames["children"])  # type: ignore[arg-type]
    las = validate_las(frames["las"])  # type: ignore[arg-type]
    laq = validate_la_quarter(frames["la_quarter"])  # type: ignore[arg-type]
    return Extract(children, las, laq, frames["absence_terms"], str(folder), _hash_files(used))


# --- schema checks --------------------------------------------------------------------------------


def _fail(table: str, column: str, bad: pd.Series, expected: str, values: pd.Series) -> None:
    shown = sorted({repr(v) for v in values[bad].head(50).tolist()})[:5]
    raise FvdidInputError(
        f"{table}: column {column!r} has unexpected values in {describe_rows(values.index[bad])}: "
        f"{', '.join(shown)}; expected {expected}"
    )


def _require(df: pd.DataFrame, table: str, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise FvdidInputError(
            f"{table}: missing required column(s) {missing}; present: {list(df.columns)[:30]}"
            " (use a column-mapping file to rename the extract's columns)"
        )


def _check_codes(
    df: pd.DataFrame, table: str, column: str, allowed: set, *, allow_na: bool = True
) -> None:
    s = df[column]
    bad = ~s.isin(allowed)
    if allow_na:
        bad &= s.notna()
    if bad.any():
        _fail(
            table,
            column,
            bad,
            f"one of {sorted(allowed, key=str)}" + (" or missing" if allow_na else ""),
            s,
        )


def _check(
    df: pd.DataFrame, table: str, column: str, ok: Callable[[pd.Series], pd.Series], expected: str
) -> None:
    s = df[column]
    bad = ~ok(s)
    if bad.any():
        _fail(table, column, bad, expected, s)


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


def _to_period(s: pd.Series, freq: str) -> pd.Series:
    if isinstance(s.dtype, pd.PeriodDtype):
        return s if s.dt.freq.freqstr.startswith(freq) else s.dt.asfreq(freq)
    out = pd.Series(pd.NaT, index=s.index, dtype=f"period[{freq}]")
    ok = s.notna()
    try:
        out[ok] = pd.PeriodIndex(s[ok].astype(str), freq=freq)
    except (ValueError, TypeError):
        parsed = pd.to_datetime(s[ok].astype(str), errors="coerce")
        out[ok] = parsed.dt.to_period(freq)
    return out


def validate_children(df: pd.DataFrame) -> pd.DataFrame:
    """Check the child-level table; return it with dates parsed."""
    t = "children"
    _require(df, t, CHILD_REQUIRED)
    df = df.copy()
    if df["child_id"].isna().any():
        _fail(t, "child_id", df["child_id"].isna(), "an identifier in every row", df["child_id"])
    dup = df["child_id"].duplicated(keep=False)
    if dup.any():
        _fail(
            t,
            "child_id",
            dup,
            "one row per child (first referral in the trial period)",
            df["child_id"],
        )
    _check(
        df,
        t,
        "la_code",
        lambda s: s.astype(str).str.match(LA_CODE),
        "an ONS LA code such as E08000026",
    )
    dates = pd.to_datetime(df["referral_date"], errors="coerce")
    bad = dates.isna()
    if bad.any():
        _fail(t, "referral_date", bad, "a date (YYYY-MM-DD)", df["referral_date"])
    df["referral_date"] = dates
    _check(
        df,
        t,
        "financial_year",
        lambda s: s.astype(str).str.match(r"^\d{4}/\d{2}$"),
        "a financial year like '2021/22'",
    )
    _check_codes(df, t, "fv", {0, 1}, allow_na=False)
    _check_codes(df, t, "treated_la", {0, 1}, allow_na=False)
    df["treated_la"] = df["treated_la"].astype(bool)
    _check(
        df,
        t,
        "age_at_referral",
        lambda s: pd.to_numeric(s, errors="coerce").notna() | s.isna(),
        "a number of years",
    )
    _check_codes(df, t, "gender", {0, 1, 2, 3, 4})
    _check_codes(df, t, "ethnicity_major", {"White", "Mixed", "Asian", "Black", "Other"})
    _check_codes(df, t, "main_need", set(range(10)))
    for c in BINARY_CHILD:
        if c in df.columns:
            _check_codes(df, t, c, {0, 1})
    for c in BINARY_OUTCOMES:
        if c in df.columns:
            _check_codes(df, t, c, {0, 1})
    if "days_cpp_cin_18m" in df.columns:
        _check(
            df,
            t,
            "days_cpp_cin_18m",
            lambda s: s.isna() | s.between(0, 549),
            "days between 0 and 548",
        )
    if "unauth_absence_rate" in df.columns:
        _check(
            df,
            t,
            "unauth_absence_rate",
            lambda s: s.isna() | s.between(0, 100),
            "a percentage 0-100",
        )
    for c in ("referral_month",):
        if c in df.columns:
            df[c] = _to_period(df[c], "M")
    if "referral_quarter" in df.columns:
        df["referral_quarter"] = _to_period(df["referral_quarter"], "Q")
    return df


def validate_las(df: pd.DataFrame) -> pd.DataFrame:
    """Check the LA table; return it with go-live months as Periods."""
    t = "las"
    _require(df, t, ["la_code", "la_name", "treated", "go_live", "partners_in_practice"])
    df = df.copy()
    dup = df["la_code"].duplicated(keep=False)
    if dup.any():
        _fail(t, "la_code", dup, "one row per LA", df["la_code"])
    _check(
        df,
        t,
        "la_code",
        lambda s: s.astype(str).str.match(LA_CODE),
        "an ONS LA code such as E08000026",
    )
    for c in ("treated", "partners_in_practice", "trailblazer", "in_extract"):
        if c in df.columns:
            _check_codes(df, t, c, {0, 1}, allow_na=False)
            df[c] = df[c].astype(bool)
    df["go_live"] = _to_period(df["go_live"], "M")
    bad = df["treated"] & df["go_live"].isna()
    if bad.any():
        _fail(t, "go_live", bad, "a go-live month for every treatment LA", df["la_code"])
    if "fgc_start" in df.columns:
        df["fgc_start"] = _to_period(df["fgc_start"], "M")
    return df


def validate_la_quarter(df: pd.DataFrame) -> pd.DataFrame:
    """Check the LA × quarter panel; return it with quarters as Periods."""
    t = "la_quarter"
    _require(df, t, ["la", "quarter"])
    df = df.copy()
    df["quarter"] = _to_period(df["quarter"], "Q")
    bad = df["quarter"].isna()
    if bad.any():
        _fail(t, "quarter", bad, "a quarter such as 2021Q3", df["quarter"])
    dup = df.duplicated(["la", "quarter"], keep=False)
    if dup.any():
        _fail(
            t,
            "la",
            dup,
            "one row per (la, quarter)",
            df["la"].astype(str) + " " + df["quarter"].astype(str),
        )
    for c in BINARY_OUTCOMES:
        if c in df.columns:
            _check(df, t, c, lambda s: s.isna() | s.between(0, 1), "a rate between 0 and 1")
    return df


def describe_mapping(mapping: Mapping[str, Mapping[str, str]]) -> str:
    """One line per renamed column, for the appendix."""
    return "; ".join(
        f"{t}.{theirs} -> {ours}" for t, m in mapping.items() for ours, theirs in m.items()
    )
