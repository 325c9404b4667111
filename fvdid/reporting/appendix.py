"""Stage ``appendix``: the methods appendix as HTML (self-contained), Markdown, LaTeX and JSON.

Every stage hands the appendix plain data: :class:`Section` objects with text, tables and figures.
Tables that hold counts or statistics about children must already have passed disclosure control
(the stage that builds them applies :mod:`fvdid.sdc`); the appendix only renders.

Rendering is where raw values become words, in one place for every stage:

* numbers are formatted by what they are, judged from the column's name (:func:`column_kind`):
  counts with thousands separators, p-values as 0.012 / <0.001, shares as %, L1 and LCS to 3
  decimals, other estimates at 4 significant digits in fixed notation (a column of very large or
  very small numbers is in scientific notation throughout, never mixed);
* booleans are Yes/No, missing values "—", lists "a, b"; all-empty columns are dropped, an
  ``index`` header is blank and an empty table is a sentence ("No …");
* a figure whose caption is only its file name gets a caption in words (:func:`figure_caption`);
  figures pass :func:`fvdid.reporting.figures.legible` and are embedded as PNGs at twice the
  display resolution;
* every HTML table sits in a horizontally scrolling container, every ``.tex`` table is escaped
  for pdflatex + booktabs.

The module is a little over the house limit of ~500 lines because the HTML, Markdown, LaTeX and
CSV writers share the formatting rules and belong together.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from fvdid.reporting.sdc import scrub_paths

__all__ = [
    "AppendixTable",
    "Section",
    "column_kind",
    "figure_caption",
    "format_frame",
    "latex_escape",
    "latex_table",
    "write_appendix",
]

DASH = "—"
"""How a missing value is shown."""


@dataclass(frozen=True)
class AppendixTable:
    """A table for the appendix: strings or numbers, already disclosure-controlled.

    Attributes
    ----------
    name
        File stem of ``tables/<name>.tex|csv``.
    caption
        Caption in words.
    frame
        The table.
    note
        A note under the table.
    empty
        The sentence shown instead of an empty table (default "No <caption>.").
    collapsed
        Show the table collapsed (HTML ``<details>``), opened on request.
    page
        Also write the table to its own page ``<page>.html`` beside the appendix, linked.
    """

    name: str
    caption: str
    frame: pd.DataFrame
    note: str = ""
    empty: str = ""
    collapsed: bool = False
    page: str = ""


@dataclass(frozen=True)
class Section:
    """One section of the appendix.

    ``figures`` holds ``(name, caption, matplotlib Figure)``; a caption that merely repeats the
    name ("la trends cpp 12m") is replaced by words (:func:`figure_caption`).
    """

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[AppendixTable, ...] = ()
    figures: tuple[tuple[str, str, Any], ...] = ()  # (name, caption, matplotlib Figure)
    level: int = 2


# --- words ------------------------------------------------------------------------------------

OUTCOME_WORDS = {
    "looked_after_18m": "entry to care within 18 months",
    "cpp_12m": "child protection plan within 12 months",
    "days_cpp_cin_18m": "days on a child protection or child-in-need plan within 18 months",
    "kinship_first_placement": "kinship carer as first placement",
    "reunified_18m": "reunification within 18 months",
    "unauth_absence_rate": "unauthorised school absence rate",
}
"""Outcome variable -> words, for captions."""


def outcome_words(name: str) -> str:
    """The outcome in words (its variable name in brackets), or the name with spaces."""
    w = OUTCOME_WORDS.get(name)
    return f"{w} ({name})" if w else name.replace("_", " ")


_FIGURES: tuple[tuple[str, str], ...] = (
    ("la_trends_", "Quarterly {o} in each treatment LA (black, FV) and its three nearest "
                   "comparator LAs, on the raw scale (left) and standardised (right). Shaded: the "
                   "matching window; hatched: the entry lag left out of matching; red line: go-live. "
                   "Quarters after go-live are shown for context only: matching used the shaded "
                   "pre-period window."),
    ("la_placebo_", "Placebo tests for {o}: the real DiD estimate of each matched pair (red "
                    "diamond) against the estimates with fake go-live dates in the pre-period "
                    "(grey dots), and their mean over pairs."),
    ("cem_balance", "Covariate balance between FV and comparison children before and after "
                    "coarsened exact matching (standardised differences)."),
    ("bacon_scatter", "Goodman-Bacon decomposition of the two-way fixed-effects estimate: each "
                      "2×2 comparison's estimate against its weight, by type of comparison."),
    ("event_study", "Event study (Callaway–Sant'Anna): average effect by quarter relative to "
                    "go-live, with 95% confidence intervals; quarters before go-live test for "
                    "pre-trends."),
)


def _is_slug(name: str, caption: str) -> bool:
    norm = re.sub(r"[\s_\-]+", " ", caption.strip().lower())
    return not caption.strip() or norm == re.sub(r"[\s_\-]+", " ", name.strip().lower())


def figure_caption(name: str, caption: str) -> str:
    """The caption of figure ``name``: ``caption`` unless it merely repeats the name.

    A slug caption ("la trends kinship first placement") is replaced by a sentence describing
    the figure for the known figures (LA trends and placebos per outcome, CEM balance, Bacon
    decomposition, event study), else by the name in words.
    """
    if not _is_slug(name, caption):
        return caption
    for prefix, text in _FIGURES:
        if name == prefix or (prefix.endswith("_") and name.startswith(prefix)):
            return text.format(o=outcome_words(name[len(prefix):]))
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] + "."


_LIST = re.compile(r"\[((?:'[^'\[\]]*'|\"[^\"\[\]]*\"|-?\d+(?:\.\d+)?)(?:,\s*(?:'[^'\[\]]*'|\"[^\"\[\]]*\"|-?\d+(?:\.\d+)?))*)\]")


def prose(text: str) -> str:
    """Replace raw Python values in a sentence by words.

    ``['a', 'b']`` -> ``a, b``; ``: True``/``= False`` -> Yes/No; ``= nan``, ``: None`` ->
    "not available".
    """
    text = _LIST.sub(lambda m: ", ".join(x.strip().strip("'\"") for x in m.group(1).split(",")), text)
    text = re.sub(r"([:=]\s*)True\b", r"\1Yes", text)
    text = re.sub(r"([:=]\s*)False\b", r"\1No", text)
    text = re.sub(r"([:=]\s*)(?:nan|NaN|None)\b", r"\1not available", text)
    return text


# --- numbers ----------------------------------------------------------------------------------

Kind = Literal["p", "l1", "share", "count", "id", "bool", "number", "text"]

_P = re.compile(r"(^|[^a-z])p([^a-z]|$)|p_?value|pvalue|p-value|^p_|_p$")
_L1 = re.compile(r"(^|[^a-z0-9])(l1|lcs)([^a-z0-9]|$)")
_SHARE = re.compile(r"share|percent|pct|%|proportion|loss_by")
_ID = re.compile(r"year|quarter|cohort|rank|seed|period|event_time|^time$|_id$|^id$|code|^pair|^e$|^event")
_COUNT = re.compile(r"^n$|^n_|_n$|^n |count|children|nobs|clusters|^las$|las$|size|^df$|^B$|imputations|obs|placebo")


def column_kind(name: Any, values: pd.Series) -> Kind:
    """What a column holds, judged from its name first and its values second."""
    n = str(name).strip().lower()
    vals = values.dropna()
    if pd.api.types.is_bool_dtype(values) or (len(vals) and all(isinstance(v, bool | np.bool_) for v in vals)):
        return "bool"
    numeric = pd.api.types.is_numeric_dtype(values)
    if not numeric:
        return "text"
    if _P.search(n):
        return "p"
    if _L1.search(n):
        return "l1"
    if _SHARE.search(n):
        return "share"
    if _ID.search(n) and (pd.api.types.is_integer_dtype(values) or _integral(vals)):
        return "id"
    if pd.api.types.is_integer_dtype(values) or (_COUNT.search(n) and _integral(vals)):
        return "count"
    return "number"


def _integral(vals: pd.Series) -> bool:
    a = pd.to_numeric(vals, errors="coerce").to_numpy(dtype=float)
    a = a[np.isfinite(a)]
    return bool(len(a)) and bool(np.all(a == np.round(a))) and bool(np.all(np.abs(a) < 1e15))


def fmt_p(v: float) -> str:
    """A p-value: 0.012, <0.001."""
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def fmt_sig(v: float, sig: int = 4) -> str:
    """``v`` at ``sig`` significant digits in fixed notation (thousands separated when large)."""
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    if mag >= sig - 1:
        return f"{v:,.0f}"
    return f"{v:.{min(sig - 1 - mag, 12)}f}"


def _number_column(vals: np.ndarray) -> Any:
    """A formatter for a column of estimates: fixed notation, or scientific for the whole column
    when some of its numbers are very small (< 1e-4) or very large (>= 1e9)."""
    fin = np.abs(vals[np.isfinite(vals) & (vals != 0)])
    if len(fin) and (fin.min() < 1e-4 or fin.max() >= 1e9):
        return lambda v: "0" if v == 0 else f"{v:.3e}"
    return fmt_sig


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and v.strip() in ("", "nan", "NaN", "None", "<NA>"):
        return True
    return v is pd.NA or v is pd.NaT


def _text(v: Any) -> str:
    v = _scalar(v)
    if _missing(v):
        return DASH
    if isinstance(v, bool):
        return "Yes" if v else "No"
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(_text(x) for x in v) if v else DASH
    if isinstance(v, float):
        return fmt_sig(v) if math.isfinite(v) else DASH
    if isinstance(v, str):
        if v in ("True", "False"):
            return "Yes" if v == "True" else "No"
        return prose(v)
    return str(v)


def _fmt_value(v: Any, kind: Kind, number: Any, pct_scale: float) -> str:
    v = _scalar(v)
    if _missing(v):
        return DASH
    if kind in ("text", "bool") or not isinstance(v, int | float) or isinstance(v, bool):
        return _text(v)
    if not math.isfinite(v):
        return DASH
    if kind == "p":
        return fmt_p(v)
    if kind == "l1":
        return f"{v:.3f}"
    if kind == "share":
        return f"{v * pct_scale:.1f}%"
    if kind == "id":
        return str(int(v))
    if kind == "count":
        return f"{v:,.0f}" if float(v).is_integer() else fmt_sig(v)
    return number(v)


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    """No index, no all-empty column, no "index" header, no duplicate-free surprises."""
    out = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df.copy()
    out.columns = [("" if str(c) == "index" else c) if not isinstance(c, tuple)
                   else " ".join(str(x) for x in c if str(x)) for c in out.columns]
    keep = [i for i in range(out.shape[1]) if not out.iloc[:, i].map(_missing).all()]
    return out.iloc[:, keep] if len(out) else out


def _share_scale(vals: pd.Series, name: str) -> float:
    a = pd.to_numeric(vals, errors="coerce").dropna()
    explicit = "%" in name or "percent" in name or "pct" in name
    return 1.0 if explicit or (len(a) and a.abs().max() > 1.0) else 100.0


def format_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table as strings for the page: each column formatted by what it holds.

    Numeric-looking strings of share / L1 columns (released tables) are formatted as numbers.
    """
    out = _clean(df)
    cols = {}
    for i, c in enumerate(out.columns):
        s = out.iloc[:, i]
        name = str(c).lower()
        if s.dtype == object and (_L1.search(name) or _SHARE.search(name)):
            conv = pd.to_numeric(s, errors="coerce")
            if conv.notna().any() and (conv.notna() | s.map(_missing)).all():
                s = conv
        kind = column_kind(c, s)
        vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float) if kind == "number" else np.array([])
        number = _number_column(vals) if kind == "number" else fmt_sig
        scale = _share_scale(s, name) if kind == "share" else 1.0
        cols[i] = [_fmt_value(v, kind, number, scale) for v in s]
    res = pd.DataFrame({i: v for i, v in cols.items()}, index=range(len(out)))
    res.columns = list(out.columns)
    return res


_fmt_frame = format_frame  # the historical name


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table as written to CSV: numbers stay numbers, L1/LCS at 3 decimals, other floats at
    6 significant digits (no 16-digit noise in released files)."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s):
            if _L1.search(str(c).lower()):
                out[c] = s.round(3)
            else:
                out[c] = s.map(lambda v: v if not np.isfinite(v) or v == 0 else float(f"{v:.6g}"))
        elif s.dtype == object and s.map(_missing).any():
            out[c] = s.map(lambda v: "" if _missing(v) else v)
        if s.dtype == object and _L1.search(str(c).lower()):
            conv = pd.to_numeric(s, errors="coerce")
            out[c] = [f"{x:.3f}" if np.isfinite(x) else v for x, v in zip(conv.fillna(np.nan), s)]
    return out


def _numeric_columns(df: pd.DataFrame, shown: pd.DataFrame) -> list[bool]:
    out = []
    for c in shown.columns:
        s = shown[c]
        num = s.map(lambda v: bool(re.fullmatch(r"[<>]?[-+−]?[\d,]*\.?\d+(e[-+]\d+)?%?|—|\[c\]|-", str(v))))
        out.append(bool(len(s)) and bool(num.all()) and not (s == DASH).all())
    return out


# --- HTML -------------------------------------------------------------------------------------


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def empty_sentence(t: AppendixTable) -> str:
    """What an empty table says instead of bare headers."""
    if t.empty:
        return t.empty
    cap = t.caption.strip().rstrip(".")
    if len(cap) > 1 and cap[1].islower():
        cap = cap[0].lower() + cap[1:]
    return f"No {cap}."


def html_table(t: AppendixTable, shown: pd.DataFrame) -> str:
    """The table in a horizontally scrolling container."""
    num = _numeric_columns(t.frame, shown)
    head = "".join(f"<th scope='col'{' class=num' if n else ''}>{html.escape(str(c))}</th>"
                   for c, n in zip(shown.columns, num))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if n else ''}>{html.escape(str(v))}</td>"
                         for v, n in zip(row, num)) + "</tr>"
        for row in shown.itertuples(index=False, name=None))
    tab = (f"<div class='table-wrap' role='region' tabindex='0' aria-label='{html.escape(t.caption)}'>"
           f"<table><caption>{html.escape(t.caption)}</caption><thead><tr>{head}</tr></thead>"
           f"<tbody>{body}</tbody></table></div>")
    if t.collapsed:
        tab = (f"<details><summary>{html.escape(t.caption)} ({len(shown):,} rows)</summary>"
               f"{tab}</details>")
    return tab


CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:Georgia,serif;max-width:1100px;margin:2em auto;padding:0 1.2em;color:#222;
 line-height:1.45;overflow-wrap:anywhere}
h1,h2,h3,h4{font-family:Helvetica,Arial,sans-serif;line-height:1.2}
nav ol{columns:2 18em}
.table-wrap{max-width:100%;overflow-x:auto;margin:0.8em 0;border-left:1px solid transparent}
.table-wrap:focus{outline:2px solid #88a}
table{border-collapse:collapse;font-size:13px;font-family:Helvetica,Arial,sans-serif;
 overflow-wrap:normal}
th,td{border-bottom:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{border-bottom:2px solid #888;white-space:nowrap}
td{max-width:28em}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:bold;padding-bottom:4px}
details{margin:0.8em 0} summary{cursor:pointer;font-family:Helvetica,Arial,sans-serif}
.note,.empty{font-size:13px;color:#555}
figure{margin:1.2em 0;max-width:100%} img{max-width:100%;height:auto;display:block}
figcaption{font-size:14px;color:#333;margin-top:0.4em}
"""


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        *body, "</body></html>"])


# --- LaTeX ------------------------------------------------------------------------------------

_TEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "—": "---", "–": "--", "−": "$-$", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$",
    "±": r"$\pm$", "≈": r"$\approx$", "→": r"$\rightarrow$", "·": r"$\cdot$", "…": r"\ldots{}",
    "£": r"\pounds{}", "€": "EUR", "α": r"$\alpha$", "β": r"$\beta$", "σ": r"$\sigma$",
    "Δ": r"$\Delta$", "²": r"$^2$", "’": "'", "‘": "`", "“": "``", "”": "''", "\u00a0": "~",
}


def latex_escape(text: Any) -> str:
    """``text`` safe for pdflatex: special characters escaped, common Unicode as LaTeX."""
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def latex_table(t: AppendixTable, shown: pd.DataFrame) -> str:
    """A booktabs table (``\\usepackage{booktabs}``), every caption, header and cell escaped."""
    if shown.empty:
        return f"% {t.name}: empty table\n{latex_escape(empty_sentence(t))}\n"
    num = _numeric_columns(t.frame, shown)
    spec = "".join("r" if n else "l" for n in num)
    lines = [
        "% requires \\usepackage{booktabs}",
        "\\begin{table}[htbp]", "\\centering", "\\small",
        f"\\caption{{{latex_escape(t.caption)}}}", f"\\label{{tab:{t.name}}}",
        f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
        " & ".join(latex_escape(c) for c in shown.columns) + " \\\\", "\\midrule",
        *(" & ".join(latex_escape(v) for v in row) + " \\\\"
          for row in shown.itertuples(index=False, name=None)),
        "\\bottomrule", "\\end{tabular}",
    ]
    if t.note:
        lines += ["\\par\\smallskip\\footnotesize " + latex_escape(t.note)]
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


# --- the writer -------------------------------------------------------------------------------


_PENDING: list[Any] = []
"""The figures :class:`_FigureRenders` hands to its worker processes (inherited by fork)."""


def _png_of(i: int) -> tuple[bytes, int, int]:
    from fvdid.reporting.figures import png_bytes

    return png_bytes(_PENDING[i])


class _FigureRenders:
    """Every figure as ``(png, width, height)`` (:func:`fvdid.reporting.figures.png_bytes`), after
    :func:`~fvdid.reporting.figures.legible`, drawn while the caller goes on.

    With two or more figures, a ``fork`` start method and two usable cores (``FVDID_WORKERS``,
    when set, caps the processes, as for the run's analyses) a pool of two forked processes starts
    drawing the PNGs at once, and :meth:`get` waits for them: the appendix writes its tables and
    text meanwhile (drawing is most of its time). Otherwise, or if the pool cannot start, they
    are drawn one after the other here by :meth:`get`. Either way the PNGs are the same. Use as a
    context manager: leaving it (an exception in the caller included) stops the pool.
    """

    def __init__(self, figs: Sequence[Any]) -> None:
        import gc
        import multiprocessing as mp

        from fvdid._parallel import default_workers, flush_streams
        from fvdid.reporting.figures import legible

        self._figs = list(figs)
        self._pool: Any = None
        self._async: Any = None
        for fig in self._figs:
            legible(fig)
        workers = min(2, default_workers())
        if workers >= 2 and len(self._figs) >= 2 and "fork" in mp.get_all_start_methods() \
                and not mp.current_process().daemon:
            _PENDING[:] = self._figs
            flush_streams()
            gc.freeze()  # the workers' garbage collector leaves the inherited objects (and pages) alone
            try:
                self._pool = mp.get_context("fork").Pool(workers)
                self._async = self._pool.map_async(_png_of, range(len(self._figs)), chunksize=1)
            except OSError:  # pragma: no cover - no processes to be had: draw them in get()
                self._pool = self._async = None
                gc.unfreeze()
            finally:
                _PENDING.clear()  # the workers have their (forked) copy

    def get(self) -> list[tuple[bytes, int, int]]:
        """The PNGs, in the order of the figures (waits for the pool)."""
        if self._async is not None:
            try:
                return list(self._async.get())
            finally:
                self.close()
        from fvdid.reporting.figures import png_bytes

        return [png_bytes(fig) for fig in self._figs]

    def close(self) -> None:
        """Stop the pool (its PNGs are not needed any more, or are all in)."""
        if self._pool is not None:
            import gc

            self._pool.terminate()
            self._pool.join()
            self._pool = None
            gc.unfreeze()  # frozen while the workers shared this process's pages

    def __enter__(self) -> _FigureRenders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _figure(name: str, caption: str, fig: Any, png: tuple[bytes, int, int], out_dir: Path) -> tuple[str, str]:
    from fvdid.reporting.sdc_audit import figure_data

    try:
        figure_data(fig).to_csv(out_dir / "figures" / f"{name}.csv", index=False)
    except Exception:  # pragma: no cover - an exotic artist: the PNG is still written
        pass
    data, w, h = png
    (out_dir / "figures" / f"{name}.png").write_bytes(data)
    b64 = base64.b64encode(data).decode()
    cap = figure_caption(name, caption)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # pragma: no cover - matplotlib absent
        pass
    return (f"<figure id='fig-{_slug(name)}'><img alt='{html.escape(cap)}' width='{w}' height='{h}' "
            f"src='data:image/png;base64,{b64}'><figcaption>{html.escape(cap)}</figcaption></figure>",
            f"![{cap}](figures/{name}.png)\n\n*{cap}*")


def _scrub_frame(df: pd.DataFrame, out_dir: Path) -> pd.DataFrame:
    """The table with no absolute path in its text cells (parity reasons, provenance)."""
    cols = [c for c in df.columns if df[c].dtype == object]
    if not cols or not any(df[c].map(lambda v: isinstance(v, str) and ("/" in v or ":\\" in v)).any()
                           for c in cols):
        return df
    out = df.copy()
    for c in cols:
        out[c] = out[c].map(lambda v: scrub_paths(v, out_dir) if isinstance(v, str) else v)
    out.attrs = dict(df.attrs)
    return out


def _write_sections(sections: Sequence[Section], out_dir: Path, h: list[str], md: list[str],
                    pages: dict[str, Path], renders: _FigureRenders) -> None:
    """Append every section's HTML to ``h`` and Markdown to ``md`` and write its tables (and
    pages); the figures' places are kept while ``renders`` draws them, and filled at the end."""
    figures: list[tuple[str, str, Any, int, int]] = []
    for s in sections:
        lv = max(2, min(s.level, 4))
        h.append(f"<h{lv} id='{_slug(s.title)}'>{html.escape(s.title)}</h{lv}>")
        md += [f"{'#' * lv} {s.title}", ""]
        for p in s.paragraphs:
            p = scrub_paths(prose(p), out_dir)
            h.append(f"<p>{html.escape(p)}</p>")
            md += [p, ""]
        for t in s.tables:
            t = AppendixTable(t.name, prose(t.caption), _scrub_frame(t.frame, out_dir),
                              scrub_paths(t.note, out_dir), t.empty, t.collapsed, t.page)
            shown = format_frame(t.frame)
            tex = out_dir / "tables" / f"{t.name}.tex"
            tex.write_text(latex_table(t, shown))
            csv_frame(t.frame).to_csv(out_dir / "tables" / f"{t.name}.csv", index=False)
            if shown.empty:
                sentence = empty_sentence(t)
                h.append(f"<p class='empty'>{html.escape(sentence)}</p>")
                md += [sentence, ""]
                continue
            h.append(html_table(t, shown))
            if t.page:
                pages[t.page] = out_dir / f"{t.page}.html"
                pages[t.page].write_text(_page(t.caption, [
                    f"<h1>{html.escape(t.caption)}</h1>",
                    "<p><a href='appendix.html'>Back to the appendix</a></p>",
                    html_table(AppendixTable(t.name, t.caption, t.frame, t.note), shown)]))
                h.append(f"<p class='note'>The full table is also on its own page: "
                         f"<a href='{html.escape(t.page)}.html'>{html.escape(t.page)}.html</a>.</p>")
            if t.note:
                h.append(f"<p class='note'>{html.escape(prose(t.note))}</p>")
            md += [f"**{t.caption}**", "", shown.to_markdown(index=False), ""]
            if t.note:
                md += [f"*{prose(t.note)}*", ""]
        for name, caption, fig in s.figures:  # filled in once the PNGs are drawn
            figures.append((name, caption, fig, len(h), len(md)))
            h.append("")
            md += ["", ""]
    for (name, caption, fig, at_h, at_md), png in zip(figures, renders.get(), strict=True):
        h[at_h], md[at_md] = _figure(name, caption, fig, png, out_dir)


def write_appendix(
    sections: Sequence[Section],
    out_dir: Path,
    *,
    title: str = "Family Valued matched DiD — methods appendix",
    results: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``appendix.html``, ``appendix.md``, ``tables/*.tex|csv``, ``figures/*.png``, ``results.json``.

    Tables with a ``page`` are also written as ``<page>.html`` (returned under that key).
    """
    from fvdid.reporting.sdc_audit import sdc_audit_table

    audit = sdc_audit_table(sections)
    if len(audit):
        sections = [*sections, Section(
            "Disclosure control: what was suppressed, rounded or pooled",
            ("Every table and figure that leaves passes the ONS SRS output rules: counts of people "
             "below the threshold are suppressed ([c]), the others rounded; percentages of small "
             "groups are treated as counts; secondary suppression and pooling ensure no suppressed "
             "count can be bounded by subtraction from the totals of any table; estimates need "
             "enough residual degrees of freedom. Outputs ACRO has no function for are checked by "
             "the same rules by hand and listed here.",),
            (AppendixTable("sdc_audit", "Disclosure control audit", audit),))]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tables").mkdir(exist_ok=True)
    (out_dir / "figures").mkdir(exist_ok=True)
    h: list[str] = [f"<h1>{html.escape(title)}</h1>"]
    md: list[str] = [f"# {title}", ""]
    toc = [f"<li><a href='#{_slug(s.title)}'>{html.escape(s.title)}</a></li>" for s in sections]
    h.append("<nav><ol>" + "".join(toc) + "</ol></nav>")
    pages: dict[str, Path] = {}
    with _FigureRenders([fig for s in sections for _, _, fig in s.figures]) as renders:
        _write_sections(sections, out_dir, h, md, pages, renders)
    paths = {
        "html": out_dir / "appendix.html",
        "md": out_dir / "appendix.md",
        "json": out_dir / "results.json",
    }
    paths["html"].write_text(_page(title, h))
    paths["md"].write_text("\n".join(md) + "\n")
    from fvdid.reporting.sdc import release_results

    cfg = (results or {}).get("config")
    thr = dict(sdc_threshold=cfg.get("sdc_threshold", 10), sdc_round_base=cfg.get("sdc_round_base", 5)) \
        if isinstance(cfg, dict) else {}
    safe = release_results(json.loads(json.dumps(results or {}, default=str, allow_nan=True)),
                           type("Cfg", (), thr)(), base_dir=out_dir)
    paths["json"].write_text(json.dumps(safe, indent=1, default=str, allow_nan=True))
    return {**paths, **pages}
