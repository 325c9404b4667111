"""Disclosure audit of everything written: the data behind figures, the appendix's SDC table,
and :func:`audit_outputs`, the scanner of an output folder the automated audit test runs.

:func:`audit_outputs` checks three things in every html, md, csv, tex and json file written
(figure data included: ``figures/<name>.csv``):

* no released count of people below the threshold (count columns of tables and figure data,
  and numbers of "children" / "child" / "people" quoted in prose);
* no suppressed cell boundable to an interval narrower than the threshold using the published
  totals of its table (flow tables, CEM tables against their flow, children by year);
* no absolute path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fvdid.reporting.appendix import Section
from fvdid.reporting.sdc import PEOPLE_KEY

__all__ = ["audit_outputs", "figure_data", "sdc_audit_table"]


def figure_data(fig: Any) -> pd.DataFrame:
    """The data behind a figure: ``fig._fvdid_data`` when the figure function recorded it, else
    every plotted point read back from the figure (axes title, series label, x, y), so that the
    data of every figure that leaves can be checked."""
    rec = getattr(fig, "_fvdid_data", None)
    if isinstance(rec, pd.DataFrame):
        return rec
    rows: list[tuple[str, str, Any, Any]] = []
    for ax in fig.axes:
        title = ax.get_title()
        for ln in ax.get_lines():
            xs, ys = ln.get_xdata(), ln.get_ydata()
            if np.ndim(xs) and len(xs) == len(ys):
                rows += [(title, str(ln.get_label()), x, y) for x, y in zip(np.atleast_1d(xs), np.atleast_1d(ys))]
        for col in ax.collections:
            lab = str(col.get_label())
            off = getattr(col, "get_offsets", lambda: np.empty((0, 2)))()
            if len(off) and np.ndim(off) == 2:
                rows += [(title, lab, x, y) for x, y in np.asarray(off, dtype=float)]
            segs = getattr(col, "get_segments", None)
            if segs is not None:
                for sg in segs():
                    rows += [(title, lab, x, y) for x, y in np.asarray(sg, dtype=float)]
        for p in ax.patches:
            bb = p.get_bbox() if hasattr(p, "get_bbox") else None
            if bb is not None and type(p).__name__ == "Rectangle":
                rows.append((title, str(p.get_label()), bb.x0, bb.y1))
    return pd.DataFrame(rows, columns=["axes", "series", "x", "y"])


def sdc_audit_table(sections: Sequence[Section]) -> pd.DataFrame:
    """What was suppressed, rounded or pooled, and why: the ``attrs["sdc"]`` of every table and
    the ``_fvdid_sdc`` of every figure; figures without a record are listed as checked by the
    audit. Empty when no output carries a record (an appendix of other tables)."""
    rows: list[dict[str, str]] = []
    for s in sections:
        for t in s.tables:
            rec = t.frame.attrs.get("sdc")
            if rec:
                rows += [{"table or figure": t.name, **{k: str(v) for k, v in r.items() if k != "output"}}
                         for r in rec]
            elif t.name not in ("sdc_audit", "acro"):
                rows.append({"table or figure": t.name, "action": "checked by hand",
                             "what": "no ACRO function for this output",
                             "why": "same rules applied: no count of people below the threshold, "
                                    "estimates withheld below the residual-df threshold; it passes "
                                    "the automated disclosure audit"})
        for name, _, fig in s.figures:
            rec = getattr(fig, "_fvdid_sdc", None)
            if rec:
                rows += [{"table or figure": name, **{k: str(v) for k, v in r.items() if k != "output"}}
                         for r in rec]
            else:
                rows.append({"table or figure": name, "action": "checked", "what": "plotted estimates",
                             "why": "estimates, no counts of people; its data (figures/"
                                    f"{name}.csv) passes the automated disclosure audit"})
    recorded = any("passes the automated" not in r["why"] for r in rows)
    return pd.DataFrame(rows if recorded else [], columns=["table or figure", "action", "what", "why"])


PEOPLE = re.compile(PEOPLE_KEY.pattern + r"|^count")
"""Column names that hold counts of people."""

_ABS = re.compile(r"(?<![\w.:/])(?:/(?:home|root|tmp|Users|work|mnt|var|opt|srv|private|data)/|[A-Za-z]:\\\\)")
_PROSE = re.compile(r"(?<![\w.,])(\d[\d,]*)\s+(?:\w+[ -]){0,2}?(?:children|child|people|persons)\b")
_B64 = re.compile(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+")


def _num(v: Any) -> float:
    if isinstance(v, str):
        try:
            return float(v.replace(",", ""))
        except ValueError:
            return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _cells_small(frame: pd.DataFrame, name: str, thr: int) -> list[str]:
    out = []
    by_year = name.endswith("children_by_year.csv")
    for c in frame.columns:
        if not (PEOPLE.search(str(c).strip().lower()) or (by_year and c in ("treatment", "comparison"))):
            continue
        for i, v in frame[c].items():
            x = _num(v)
            if np.isfinite(x) and 0 <= x < thr:
                out.append(f"{name}: count {x:g} < {thr} in column {c!r}, row {i}")
    return out


def _json_small(text: str, name: str, thr: int) -> list[str]:
    import json

    out: list[str] = []

    def walk(x: Any, path: str, key: str) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if not (path == "" and k == "config"):
                    walk(v, f"{path}.{k}", str(k))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]", key)
        elif PEOPLE.search(key.lower()):
            v = _num(x) if not isinstance(x, bool) else float("nan")
            if np.isfinite(v) and 0 <= v < thr:
                out.append(f"{name}: count {v:g} < {thr} at {path}")

    try:
        walk(json.loads(text), "", "")
    except ValueError:
        pass
    return out


def _flow_problems(flow: pd.DataFrame, name: str, thr: int, base: int) -> list[str]:
    from fvdid.reporting.sdc_bounds import flow_equations, parse_cell, unsafe_cells

    counts = [c for c in flow.columns if c != "step"]
    cells = {("flow", i, c): parse_cell(flow.at[i, c]) for i in flow.index for c in counts}
    bad = unsafe_cells(cells, flow_equations(flow), threshold=thr, base=base)
    return [f"{name}: suppressed {k[2]} of row {k[1]} bounded to [{lo:g}, {hi:g}]"
            for k, (lo, hi) in bad.items()]


def _sum_problems(table: pd.DataFrame, totals: dict[str, Any], name: str, thr: int,
                  base: int) -> list[str]:
    from fvdid.reporting.sdc_bounds import parse_cell, unsafe_cells

    cols = [c for c in totals if c in table.columns]
    cells = {("t", i, c): parse_cell(table.at[i, c]) for i in table.index for c in cols}
    eqs = []
    for c in cols:
        cells[("total", c)] = parse_cell(totals[c])
        eqs.append({**{("t", i, c): 1.0 for i in table.index}, ("total", c): -1.0})
    bad = unsafe_cells(cells, eqs, threshold=thr, base=base)
    return [f"{name}: suppressed {k[2]} of row {k[1]} bounded to [{lo:g}, {hi:g}] by the totals"
            for k, (lo, hi) in bad.items() if k[0] == "t"]


def audit_outputs(out_dir: Path, *, threshold: int = 10, base: int = 5) -> list[str]:
    """Every disclosure problem found in the files under ``out_dir`` (empty: the folder may leave)."""
    out_dir = Path(out_dir)
    problems: list[str] = []
    roots = {str(out_dir.resolve()), str(Path.home())}
    read = lambda p: p.read_text(errors="replace")  # noqa: E731
    for p in sorted(out_dir.rglob("*")):
        if not p.is_file() or p.suffix not in (".html", ".md", ".csv", ".tex", ".json", ".txt"):
            continue
        rel = p.relative_to(out_dir)
        text = _B64.sub("", read(p))
        for r in roots:
            if len(r) > 1 and r in text:
                problems.append(f"{rel}: absolute path {r!r}")
        for m in _ABS.finditer(text):
            problems.append(f"{rel}: absolute path at {text[m.start():m.start() + 40]!r}")
        if p.suffix in (".md", ".html") and rel.parts[0] != "acro":
            plain = re.sub(r"<[^>]+>", " ", text)
            for m in _PROSE.finditer(plain):
                x = _num(m.group(1))
                if np.isfinite(x) and x < threshold:
                    problems.append(f"{rel}: prose quotes {m.group(0)!r}")
        if p.suffix == ".json" and rel.parts[0] != "acro":
            problems += _json_small(text, str(rel), threshold)
        if p.suffix == ".csv" and rel.parts[0] in ("tables", "figures"):
            try:
                frame = pd.read_csv(p, dtype=str, keep_default_na=False)
            except (pd.errors.EmptyDataError, pd.errors.ParserError):
                continue
            problems += _cells_small(frame, str(rel), threshold)
            if "denominator" in frame.columns and "value" in frame.columns:
                hid = frame["denominator"].map(_num)
                shown = frame["value"].map(_num)
                bad = (~np.isfinite(hid) | (hid < threshold)) & np.isfinite(shown)
                problems += [f"{rel}: plotted value with denominator under {threshold}, row {i}"
                             for i in frame.index[bad.to_numpy()]]
    tables = out_dir / "tables"
    flows = {p.stem[len("flow_"):]: pd.read_csv(p, dtype=str, keep_default_na=False)
             for p in sorted(tables.glob("flow_*.csv"))}
    for o, f in flows.items():
        problems += _flow_problems(f, f"tables/flow_{o}.csv", threshold, base)
        cem = tables / f"cem_{o}.csv"
        if cem.exists() and len(f) >= 2 and str(f["step"].iloc[-1]).startswith("not matched by CEM"):
            c = pd.read_csv(cem, dtype=str, keep_default_na=False)
            b, a = f.iloc[-2], f.iloc[-1]
            totals = {"n_treated": b["remaining_treatment"], "n_control": b["remaining_comparison"],
                      "n_treated_matched": a["remaining_treatment"],
                      "n_control_matched": a["remaining_comparison"]}
            if len(c) > 1:
                problems += _sum_problems(c, totals, f"tables/cem_{o}.csv", threshold, base)
    by_year = tables / "children_by_year.csv"
    if by_year.exists():
        y = pd.read_csv(by_year, dtype=str, keep_default_na=False)
        for o, f in flows.items():
            row = f.iloc[-2] if str(f["step"].iloc[-1]).startswith("not matched by CEM") else f.iloc[-1]
            tot = {"treatment": row["remaining_treatment"], "comparison": row["remaining_comparison"]}
            sums = [sum(_num(v) for v in y[c]) for c in tot if c in y]
            if all(np.isfinite(s) for s in sums) and all(
                    abs(s - _num(tot[c])) <= base * len(y) for s, c in zip(sums, tot)):
                problems += _sum_problems(y, tot, f"tables/children_by_year.csv (totals of flow_{o})",
                                          threshold, base)
    return problems
