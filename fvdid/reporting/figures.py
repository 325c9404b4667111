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

import numpy as np

__all__ = ["CSS_DPI", "MIN_FONT_PT", "PAGE_WIDTH_IN", "PNG_COMPRESS_LEVEL", "PNG_DPI", "STYLE", "apply_style", "figure_style", "legible",
           "png_bytes"]

CSS_DPI = 96
"""CSS pixels per inch at which the HTML shows a figure (the CSS reference pixel)."""
PNG_DPI = 2 * CSS_DPI
"""Resolution of the saved PNGs: twice the display resolution."""
MIN_FONT_PT = 9.0
"""No text in a figure is smaller than this (legends included), for a figure shown at full size."""
PAGE_WIDTH_IN = 10.5
"""Width of the appendix's text column in inches at :data:`CSS_DPI` (about 1000 CSS px)."""
PNG_COMPRESS_LEVEL = 3
"""zlib level of the PNGs (1 fastest .. 9 smallest; 3: close to the smallest, at a third of the
time of level 6)."""

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


def _texts_and_axes(fig: Any) -> tuple[list[Any], list[Any]]:
    """Every Text of ``fig`` outside the tick labels, and every Axis (whose tick labels get their
    text only when drawn: they are sized through the axis)."""
    from matplotlib.axis import Axis
    from matplotlib.text import Text

    texts: list[Any] = []
    axes: list[Any] = []
    stack = [fig]
    while stack:
        a = stack.pop()
        if isinstance(a, Axis):
            axes.append(a)
            texts += [a.label]
            continue  # not its children: walking them would create every tick before the layout
        if isinstance(a, Text):
            texts.append(a)
        stack.extend(a.get_children())
    return texts, axes


def legible(fig: Any, min_pt: float = MIN_FONT_PT) -> Any:
    """Raise every text of ``fig`` (titles, labels, ticks, legends, annotations) to ``min_pt``.

    ``min_pt`` grows in proportion for a figure wider than :data:`PAGE_WIDTH_IN` (the page shows
    it scaled down). Returns the figure (modified in place); larger text is left alone. Tick
    labels (and an axis' offset text, "1e-5") are raised through their axis, so that the ticks
    made when the figure is drawn get the size too.
    """
    from matplotlib.ticker import NullFormatter

    # A figure wider than the page is shown scaled down: its text must be larger to stay legible.
    min_pt = min_pt * max(1.0, float(fig.get_figwidth()) / PAGE_WIDTH_IN)
    texts, axes = _texts_and_axes(fig)
    for t in texts:
        if t.get_text() and t.get_fontsize() < min_pt:
            t.set_fontsize(min_pt)
    for ax in axes:
        if not ax.get_visible():
            continue
        if ax.majorTicks[0].label1.get_fontsize() < min_pt:
            ax.set_tick_params(which="major", labelsize=min_pt)
        if not isinstance(ax.get_minor_formatter(), NullFormatter) and \
                ax.minorTicks[0].label1.get_fontsize() < min_pt:
            ax.set_tick_params(which="minor", labelsize=min_pt)
        if ax.offsetText.get_fontsize() < min_pt:
            ax.offsetText.set_fontsize(min_pt)
    return fig


def _render(fig: Any, dpi: int) -> tuple[np.ndarray, bool]:
    """Draw ``fig`` once at ``dpi`` with Agg: its RGBA pixels (rows from the top; a view of the
    canvas' buffer, valid until the figure is drawn again) and whether a text (a title, a label,
    a legend's, an annotation; not tick labels) reaches beyond the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    old = fig.dpi
    try:
        fig.dpi = dpi
        canvas.draw()
        r = canvas.get_renderer()
        edge = fig.bbox
        out = False
        for t in _texts_and_axes(fig)[0]:
            if t.get_visible() and t.get_text():
                bb = t.get_window_extent(r)  # laid out by the draw: cached
                if bb.x0 < edge.x0 - 1 or bb.y0 < edge.y0 - 1 or bb.x1 > edge.x1 + 1 or bb.y1 > edge.y1 + 1:
                    out = True
                    break
        return np.asarray(canvas.buffer_rgba()), out
    finally:
        fig.dpi = old


def _content_box(rgba: np.ndarray, background: np.ndarray, pad: int) -> tuple[int, int, int, int] | None:
    """Rows and columns ``(top, bottom, left, right)`` (end exclusive) of the pixels that differ
    from ``background``, widened by ``pad`` pixels; None when the drawing reaches the edge of the
    canvas (something may lie outside the figure) or the background is not opaque."""
    if background[3] != 255 or not (rgba[..., 3] == 255).all():
        return None
    word = rgba.view(np.uint32)[..., 0]
    ink = word != background.view(np.uint32)[0]
    rows = np.flatnonzero(ink.any(axis=1))
    if not len(rows):
        return 0, rgba.shape[0], 0, rgba.shape[1]
    cols = np.flatnonzero(ink[rows[0]:rows[-1] + 1].any(axis=0))
    h, w = ink.shape
    if rows[0] == 0 or cols[0] == 0 or rows[-1] == h - 1 or cols[-1] == w - 1:
        return None
    return (max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad),
            max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad))


def _encode(rgba: np.ndarray, box: tuple[int, int, int, int], dpi: int) -> bytes:
    """PNG of the opaque RGBA image ``rgba`` cropped to ``box`` (top, bottom, left, right), as a
    256-colour palette (plots have few colours; the palette image is a third of the size of the
    RGB one and several times faster to compress)."""
    from PIL import Image

    h, w = rgba.shape[:2]
    top, bottom, left, right = box
    img = Image.frombuffer("RGBA", (w, h), np.ascontiguousarray(rgba), "raw", "RGBA", 0, 1)
    img = img.crop((left, top, right, bottom)).convert("RGB")
    buf = io.BytesIO()
    img.quantize(256, method=Image.Quantize.FASTOCTREE).save(
        buf, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(dpi, dpi))
    return buf.getvalue()


def png_bytes(fig: Any, dpi: int = PNG_DPI) -> tuple[bytes, int, int]:
    """The figure as PNG at ``dpi``, cropped to its content, and its display size in CSS pixels
    (width, height).

    The crop is what ``savefig(bbox_inches="tight")`` gives (the content plus
    ``savefig.pad_inches``), found from the pixels of a single draw rather than by drawing the
    figure twice. A figure whose drawing reaches the edge of its canvas, or with a text beyond the
    figure (a label wider than the figure, say), is drawn again by ``savefig`` over its tight
    bounding box, so nothing is cut off.
    The display size is the PNG's size scaled from ``dpi`` to :data:`CSS_DPI`.
    """
    import struct

    import matplotlib as mpl
    from matplotlib.colors import to_rgba

    rgba, beyond = _render(fig, dpi)
    background = np.round(np.array(to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
    pad = round(float(mpl.rcParams["savefig.pad_inches"]) * dpi)
    box = None if beyond else _content_box(rgba, background, pad)
    if box is not None:
        data = _encode(rgba, box, dpi)
    else:  # the drawing may reach beyond the figure: let savefig find the tight box
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        data = buf.getvalue()
    w, h = struct.unpack(">II", data[16:24])  # the IHDR chunk: width, height
    return data, round(w * CSS_DPI / dpi), round(h * CSS_DPI / dpi)
