"""Stage ``appendix``: the methods appendix as HTML (self-contained), Markdown, LaTeX and JSON.

Every stage hands the appendix plain data: :class:`Section` objects with text, tables and figures.
Tables that hold counts or statistics about children must already have passed disclosure control
(the stage that builds them applies :mod:`fvdid.sdc`); the appendix only renders.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["AppendixTable", "Section", "write_appendix"]


@dataclass(frozen=True)
class AppendixTable:
    """A table for the appendix: strings or numbers, already disclosure-controlled."""

    name: str
    caption: str
    frame: pd.DataFrame
    note: str = ""


@dataclass(frozen=True)
class Section:
    """One section of the appendix."""

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[AppendixTable, ...] = ()
    figures: tuple[tuple[str, str, Any], ...] = ()  # (name, caption, matplotlib Figure)
    level: int = 2


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _fmt_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    return out


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=85)
    return buf.getvalue()


CSS = """
body{font-family:Georgia,serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif}
table{border-collapse:collapse;margin:0.6em 0;font-size:13px;font-family:Helvetica,Arial,sans-serif}
th,td{border-bottom:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:bold;padding-bottom:4px}
.note{font-size:12px;color:#555} figure{margin:1em 0} img{max-width:100%}
"""


def write_appendix(
    sections: Sequence[Section],
    out_dir: Path,
    *,
    title: str = "Family Valued matched DiD — methods appendix",
    results: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``appendix.html``, ``appendix.md``, ``tables/*.tex|csv``, ``figures/*.png``, ``results.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tables").mkdir(exist_ok=True)
    (out_dir / "figures").mkdir(exist_ok=True)
    h: list[str] = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    md: list[str] = [f"# {title}", ""]
    toc = [f"<li><a href='#{_slug(s.title)}'>{html.escape(s.title)}</a></li>" for s in sections]
    h.append("<nav><ol>" + "".join(toc) + "</ol></nav>")
    for s in sections:
        lv = max(2, min(s.level, 4))
        h.append(f"<h{lv} id='{_slug(s.title)}'>{html.escape(s.title)}</h{lv}>")
        md += [f"{'#' * lv} {s.title}", ""]
        for p in s.paragraphs:
            h.append(f"<p>{html.escape(p)}</p>")
            md += [p, ""]
        for t in s.tables:
            f = _fmt_frame(t.frame)
            h.append(f.to_html(index=False, escape=True, na_rep="").replace(
                "<table border=\"1\" class=\"dataframe\">",
                f"<table><caption>{html.escape(t.caption)}</caption>", 1))
            if t.note:
                h.append(f"<p class='note'>{html.escape(t.note)}</p>")
            md += [f"**{t.caption}**", "", f.to_markdown(index=False), ""]
            if t.note:
                md += [f"*{t.note}*", ""]
            (out_dir / "tables" / f"{t.name}.tex").write_text(
                f.to_latex(index=False, caption=t.caption, label=f"tab:{t.name}", escape=True)
            )
            t.frame.to_csv(out_dir / "tables" / f"{t.name}.csv", index=False)
        for name, caption, fig in s.figures:
            data = _png(fig)
            (out_dir / "figures" / f"{name}.png").write_bytes(data)
            b64 = base64.b64encode(data).decode()
            h.append(
                f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{b64}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
            md += [f"![{caption}](figures/{name}.png)", ""]
            try:
                import matplotlib.pyplot as plt

                plt.close(fig)
            except Exception:  # pragma: no cover - matplotlib absent
                pass
    h.append("</body></html>")
    paths = {
        "html": out_dir / "appendix.html",
        "md": out_dir / "appendix.md",
        "json": out_dir / "results.json",
    }
    paths["html"].write_text("\n".join(h))
    paths["md"].write_text("\n".join(md) + "\n")
    paths["json"].write_text(json.dumps(results or {}, indent=1, default=str, allow_nan=True))
    return paths


