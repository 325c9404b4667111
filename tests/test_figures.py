"""PNG writing of the appendix's figures: one draw, cropped like a tight bounding box, legible
tick labels, the same PNGs whether drawn by the worker pool or one by one."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from fvdid.reporting.appendix import Section, write_appendix  # noqa: E402
from fvdid.reporting.figures import MIN_FONT_PT, PNG_DPI, legible, png_bytes  # noqa: E402


def _size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def _plain(label: str = "x") -> Figure:
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 3, 2], label="treatment")
    ax.set_xlabel(label)
    ax.legend()
    return fig


def test_png_is_cropped_like_a_tight_bbox() -> None:
    data, w, h = png_bytes(_plain())
    buf = io.BytesIO()
    _plain().savefig(buf, format="png", dpi=PNG_DPI, bbox_inches="tight")
    tw, th = _size(buf.getvalue())
    pw, ph = _size(data)
    # pixels vs artists' boxes: the ink may lie a few pixels inside the text boxes savefig measures
    assert abs(pw - tw) <= 12 and abs(ph - th) <= 12, ((pw, ph), (tw, th))
    assert pw < 6 * PNG_DPI and ph < 3 * PNG_DPI  # the default margins are cropped
    assert (w, h) == (round(pw / 2), round(ph / 2))  # shown at half the PNG's resolution


def test_label_wider_than_the_figure_is_not_cut_off() -> None:
    data, _, _ = png_bytes(_plain("a very long axis label " * 12))
    assert _size(data)[0] > 6 * PNG_DPI  # the PNG grew to hold the label, as savefig's tight box


def test_text_wholly_outside_the_figure_is_kept() -> None:
    fig = _plain()
    fig.text(1.02, 0.5, "a note right of the figure")  # no ink on the canvas' edge to see
    assert _size(png_bytes(fig)[0])[0] > 6 * PNG_DPI


def test_tick_labels_are_legible_after_drawing() -> None:
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.plot(range(10), range(10))
    ax.tick_params(labelsize=5)  # the ticks are made when drawn, with the axis' size
    png_bytes(legible(fig))
    sizes = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    assert sizes and min(sizes) >= MIN_FONT_PT


@pytest.mark.parametrize("workers", ["1", "2"])  # 1: drawn here; 2: by the pool (two cores)
def test_pool_writes_the_pngs_one_by_one_drawing_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       workers: str) -> None:
    monkeypatch.setenv("FVDID_WORKERS", workers)
    figs = [("a", "First figure.", _plain("a")), ("b", "Second figure.", _plain("b")),
            ("c", "Third figure.", _plain("c"))]
    write_appendix([Section("Figures", (), (), tuple(figs))], tmp_path)
    for name, _, _ in figs:
        alone = png_bytes(legible(_plain(name)))[0]
        assert (tmp_path / "figures" / f"{name}.png").read_bytes() == alone, name


@pytest.mark.parametrize("workers", ["1", "2"])
def test_figures_keep_their_places_among_tables_while_the_pool_draws(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """The tables are written while the pool draws: each figure still lands where its section
    put it, after that section's tables and before the next section, in HTML and Markdown."""
    import pandas as pd

    from fvdid.reporting.appendix import AppendixTable

    monkeypatch.setenv("FVDID_WORKERS", workers)
    sections = [Section(f"Section {k}", (f"Text {k}.",),
                        (AppendixTable(f"table_{k}", f"Table {k}", pd.DataFrame({"v": [1.5]})),),
                        ((f"fig_{k}", f"Figure {k}.", _plain(k)),)) for k in ("one", "two")]
    paths = write_appendix(sections, tmp_path)
    md = paths["md"].read_text()
    order = ["# Section one", "**Table one**", "figures/fig_one.png", "# Section two",
             "**Table two**", "figures/fig_two.png"]
    at = [md.index(s) for s in order]
    assert at == sorted(at), dict(zip(order, at))
    page = paths["html"].read_text()
    at_html = [page.index(s) for s in ("id='section-one'", "id='fig-fig-one'", "id='section-two'",
                                       "id='fig-fig-two'")]
    assert at_html == sorted(at_html)
    for k in ("one", "two"):
        assert (tmp_path / "figures" / f"fig_{k}.png").read_bytes() == png_bytes(legible(_plain(k)))[0]


def test_a_failure_while_writing_stops_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception while the tables are written is raised as it is, and no drawing process is
    left behind."""
    import multiprocessing as mp

    import fvdid.reporting.appendix as appendix

    monkeypatch.setenv("FVDID_WORKERS", "2")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("table writer failed")

    monkeypatch.setattr(appendix, "latex_table", broken)
    import pandas as pd

    from fvdid.reporting.appendix import AppendixTable

    sections = [Section("S", (), (AppendixTable("t", "T", pd.DataFrame({"v": [1.0]})),),
                        (("a", "A.", _plain("a")), ("b", "B.", _plain("b"))))]
    with pytest.raises(RuntimeError, match="table writer failed"):
        write_appendix(sections, tmp_path)
    assert not [p for p in mp.active_children() if p.is_alive()]
