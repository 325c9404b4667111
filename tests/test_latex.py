"""Every ``.tex`` table of the appendix compiles with pdflatex + booktabs.

Each table is wrapped in a minimal article (``\\usepackage{booktabs}`` only) and compiled with
``pdflatex -halt-on-error``. The compile check is shown to fail on a table with an unescaped
``_`` in its caption. Skipped, with the reason, where pdflatex or booktabs is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from fvdid.reporting.appendix import (
    AppendixTable,
    Section,
    format_frame,
    latex_table,
    write_appendix,
)

PDFLATEX = shutil.which("pdflatex")


def _booktabs() -> bool:
    kp = shutil.which("kpsewhich")
    if kp is None:
        return False
    out = subprocess.run([kp, "booktabs.sty"], capture_output=True, text=True, timeout=60)
    return out.returncode == 0 and bool(out.stdout.strip())


needs_latex = pytest.mark.skipif(
    PDFLATEX is None or not _booktabs(),
    reason="pdflatex with booktabs not installed (Debian: apt-get install texlive-latex-recommended)")

WRAPPER = "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{%s}\n\\end{document}\n"


def compile_tex(table: Path, work: Path) -> tuple[bool, str]:
    """Compile ``table`` inside a minimal article; (success, the log's error lines)."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(table, work / "t.tex")
    (work / "doc.tex").write_text(WRAPPER % "t")
    out = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=work, capture_output=True, text=True, timeout=120, errors="replace")
    errors = "\n".join(line for line in out.stdout.splitlines() if line.startswith("!") or "Error" in line)
    return out.returncode == 0 and (work / "doc.pdf").exists(), errors


def small_run_appendix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The appendix folder of a small run, made once per test session (shared with test_browser)."""
    from fvdid.config import RunConfig
    from fvdid.pipeline import run

    out = tmp_path_factory.getbasetemp() / "fvdid_small_appendix"
    if not (out / "appendix.html").exists():
        cfg = RunConfig(seed=3, n_children=20_000, n_imputations=2, boot_B=199,
                        parity_in_appendix=False, progress=False)
        run(cfg, out_dir=out)
    return out


@needs_latex
def test_every_table_of_a_small_run_compiles(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    tables = sorted((small_run_appendix(tmp_path_factory) / "tables").glob("*.tex"))
    assert len(tables) >= 20, [t.name for t in tables]
    failed = {}
    for t in tables:
        ok, errors = compile_tex(t, tmp_path / t.stem)
        if not ok:
            failed[t.name] = errors
    assert not failed, failed


@needs_latex
def test_special_characters_compile(tmp_path: Path) -> None:
    """Captions, headers and cells with every character pdflatex treats specially."""
    frame = pd.DataFrame({"looked_after_18m": [0.5, 0.0001], "share (%)": [12.5, 3.0],
                          "a & b #1 $x^2$ {y} ~z \\ <p> |q|": ["—–×≥≤±£…", "50% of_all"]})
    t = AppendixTable("special", "Caption with looked_after_18m, 5% & #1 — ≥ 2", frame,
                      note="Note: p < 0.05 & 100% of_the ~children")
    out = write_appendix([Section("S", (), (t,))], tmp_path / "out")
    assert out["html"].exists()
    ok, errors = compile_tex(tmp_path / "out" / "tables" / "special.tex", tmp_path / "c")
    assert ok, errors


@needs_latex
def test_the_check_fails_on_an_unescaped_underscore(tmp_path: Path) -> None:
    t = AppendixTable("bad", "Flow of children: looked_after_18m", pd.DataFrame({"n": [1]}))
    good = latex_table(t, format_frame(t.frame))
    bad = good.replace("looked\\_after\\_18m", "looked_after_18m")
    assert bad != good  # the defect is really introduced
    (tmp_path / "good.tex").write_text(good)
    (tmp_path / "bad.tex").write_text(bad)
    assert compile_tex(tmp_path / "good.tex", tmp_path / "g")[0]
    ok, errors = compile_tex(tmp_path / "bad.tex", tmp_path / "b")
    assert not ok and "Missing $ inserted" in errors, errors
