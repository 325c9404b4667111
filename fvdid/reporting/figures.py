"""Figure style for the appendix: font sizes and resolution legible at page width.

Figure functions draw inside :func:`figure_style` (or call :func:`apply_style` once); the
appendix writer passes every figure through :func:`legible` before saving, so a figure drawn
without the style still gets readable text, and saves it with :func:`png_bytes` at twice the
resolution it is shown at (crisp on high-density screens, and in print).

Sizes are in points. The HTML shows a figure at :data:`CSS_DPI` CSS pixels per inch, so a 10 pt
label is about 13 CSS px high; the PNG holds ``2 x CSS_DPI`` pixels per inch.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

__all__ = ["CSS_DPI", "MIN_FONT_PT", "PAGE_WIDTH_IN", "PNG_DPI", "STYLE", "apply_style", "figure_style", "legible",
           "png_bytes"]

CSS_DPI = 96
"""CSS pixels per inch at which the HTML shows a figure (the CSS reference pixel)."""
PNG_DPI = 2 * CSS_DPI
"""Resolution of the saved PNGs: twice the display resolution."""
MIN_FONT_PT = 9.0
"""No text in a figure is smaller than this (legends included), for a figure shown at full size."""
PAGE_WIDTH_IN = 10.5
"""Width of the appendix's text column in inches at :data:`CSS_DPI` (about 1000 CSS px)."""

STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "figure.titlesize": 13,
    "figure.dpi": CSS_DPI,
    "savefig.dpi": PNG_DPI,
    "savefig.bbox": "tight",
    "lines.linewidth": 1.6,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
"""matplotlib rcParams of the appendix's figures."""


def apply_style() -> None:
    """Set :data:`STYLE` in matplotlib's global rcParams."""
    import matplotlib as mpl

    mpl.rcParams.update(STYLE)


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Context manager: draw figures with :data:`STYLE`, restoring rcParams afterwards."""
    import matplotlib as mpl

    with mpl.rc_context(STYLE):
        yield


def legible(fig: Any, min_pt: float = MIN_FONT_PT) -> Any:
    """Raise every text of ``fig`` (titles, labels, ticks, legends, annotations) to ``min_pt``.

    ``min_pt`` grows in proportion for a figure wider than :data:`PAGE_WIDTH_IN` (the page shows
    it scaled down). Returns the figure (modified in place); larger text is left alone.
    """
    from matplotlib.text import Text

    # A figure wider than the page is shown scaled down: its text must be larger to stay legible.
    min_pt = min_pt * max(1.0, float(fig.get_figwidth()) / PAGE_WIDTH_IN)
    for t in fig.findobj(Text):
        if t.get_text() and t.get_fontsize() < min_pt:
            t.set_fontsize(min_pt)
    return fig


def png_bytes(fig: Any, dpi: int = PNG_DPI) -> tuple[bytes, int, int]:
    """The figure as PNG at ``dpi`` and its display size in CSS pixels (width, height).

    The display size is the PNG's size scaled from ``dpi`` to :data:`CSS_DPI`.
    """
    import struct

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    data = buf.getvalue()
    w, h = struct.unpack(">II", data[16:24])  # the IHDR chunk: width, height
    return data, round(w * CSS_DPI / dpi), round(h * CSS_DPI / dpi)
