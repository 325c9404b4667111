"""The appendix in a real browser: headless Chromium at 800 px and 1400 px.

Chromium is driven through its DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so the test needs no Python
dependency. For each width it renders the page to a PNG and checks that

* no element overflows the viewport unless it sits inside a horizontal scroll container,
* every figure has loaded (``naturalWidth > 0``),
* the page makes no network request (only the page itself and ``data:`` URLs are loaded).

Each check is shown to fail on a page with the defect (a 3000-px table without its container, a
broken image, an image fetched over HTTP). Skipped, with the reason, where Chromium is absent.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fvdid.reporting.appendix import AppendixTable, Section, write_appendix

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)")

WIDTHS = (800, 1400)

CHECK_JS = r"""
(() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if ((ox === 'auto' || ox === 'scroll') && a.getBoundingClientRect().right <= vw + 1) return true;
    }
    return false;
  };
  const overflow = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > vw + 1 || r.left < -1) && !scrolls(el)) {
      overflow.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className ? '.' + el.className : '') + ' right=' + Math.round(r.right));
    }
  }
  const images = [...document.images].map(i => ({alt: i.alt.slice(0, 60), ok: i.complete && i.naturalWidth > 0}));
  return JSON.stringify({vw, scrollWidth: document.documentElement.scrollWidth,
                         overflow: overflow.slice(0, 20), n_overflow: overflow.length, images});
})()
"""


class DevTools:
    """A minimal client of Chromium's DevTools protocol over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="fvdid-chromium-")
        r_in, self._w = os.pipe()   # we write commands -> Chromium reads fd 3
        self._r, w_out = os.pipe()  # Chromium writes fd 4 -> we read
        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--hide-scrollbars", "--mute-audio", f"--user-data-dir={self._dir}", "about:blank"]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=lambda: (os.dup2(r_in, 3), os.dup2(w_out, 4)))
        os.close(r_in)
        os.close(w_out)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> dict[str, Any]:
        import select

        end = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read(timeout)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read(timeout)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)
        shutil.rmtree(self._dir, ignore_errors=True)


def inspect_page(page: Path, width: int, png: Path, binary: str | None = CHROMIUM) -> dict[str, Any]:
    """Open ``page`` at ``width`` px, render it to ``png`` and return the checks' findings.

    Keys: ``overflow`` (elements overflowing the viewport outside a scroll container),
    ``images`` (alt, loaded), ``requests`` (URLs other than the page and ``data:``), ``vw``.
    """
    assert binary is not None
    dt = DevTools(binary)
    try:
        target = dt.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = dt.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for m in ("Page.enable", "Network.enable", "Runtime.enable"):
            dt.send(m, session=sid)
        dt.send("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
        url = page.resolve().as_uri()
        dt.send("Page.navigate", {"url": url}, session=sid)
        dt.wait_event("Page.loadEventFired", timeout=120)
        time.sleep(0.3)  # let late requests (if any) be announced
        found = json.loads(dt.send("Runtime.evaluate", {"expression": CHECK_JS, "returnByValue": True},
                                   session=sid)["result"]["value"])
        shot = dt.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                       session=sid, timeout=120)
        png.write_bytes(base64.b64decode(shot["data"]))
        urls = [e["params"]["request"]["url"] for e in dt.events
                if e.get("method") == "Network.requestWillBeSent"]
        found["requests"] = [u for u in urls if u != url and not u.startswith("data:")]
        return found
    finally:
        dt.close()


def _assert_clean(found: dict[str, Any], width: int) -> None:
    assert found["n_overflow"] == 0, (width, found["overflow"])
    assert found["images"] and all(i["ok"] for i in found["images"]), (width, found["images"])
    assert found["requests"] == [], (width, found["requests"])


# --- a page with figures and a very wide table, rendered by the appendix writer ---------------


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(14, 4))  # wider than the page: shown scaled down
    ax.plot([0, 1, 2], [1, 3, 2], label="treatment")
    ax.legend(fontsize=4)
    return fig


def _wide_section() -> Section:
    wide = pd.DataFrame({f"column_with_a_long_name_{i}": [123456.789 * i, 0.5] for i in range(60)})
    return Section("Wide", ("A table about 3000 px wide.",),
                   (AppendixTable("wide", "A wide table", wide),), (("wide_fig", "wide fig", _figure()),))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    write_appendix([_wide_section()], out)
    return out / "appendix.html"


@needs_chromium
@pytest.mark.parametrize("width", WIDTHS)
def test_wide_table_scrolls_in_its_container(synthetic: Path, width: int, tmp_path: Path) -> None:
    found = inspect_page(synthetic, width, tmp_path / "page.png")
    _assert_clean(found, width)
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_chromium
def test_each_check_fails_on_its_defect(synthetic: Path, tmp_path: Path) -> None:
    page = synthetic.read_text()
    # 1. The 3000-px table without its scrolling container.
    bad = tmp_path / "no_container.html"
    bad.write_text(page.replace(".table-wrap{max-width:100%;overflow-x:auto;", ".table-wrap{"))
    found = inspect_page(bad, 800, tmp_path / "a.png")
    assert found["n_overflow"] > 0 and any(o.startswith("table") for o in found["overflow"])
    # 2. A figure that does not load.
    bad = tmp_path / "broken_image.html"
    bad.write_text(page.replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1))
    found = inspect_page(bad, 1400, tmp_path / "b.png")
    assert not all(i["ok"] for i in found["images"])
    # 3. A network request (nothing listens on port 9, the request is still made).
    bad = tmp_path / "network.html"
    bad.write_text(page.replace("</body>", "<img alt='remote' src='http://127.0.0.1:9/x.png'></body>"))
    found = inspect_page(bad, 1400, tmp_path / "c.png")
    assert any(u.startswith("http://127.0.0.1:9/") for u in found["requests"])


# --- the appendix of a small run ------------------------------------------------------------


def small_run_appendix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The appendix folder of a small run, made once per test session (shared with test_latex)."""
    from fvdid.config import RunConfig
    from fvdid.pipeline import run

    out = tmp_path_factory.getbasetemp() / "fvdid_small_appendix"
    if not (out / "appendix.html").exists():
        cfg = RunConfig(seed=3, n_children=20_000, n_imputations=2, boot_B=199,
                        parity_in_appendix=False, progress=False)
        run(cfg, out_dir=out)
    return out


@pytest.fixture(scope="module")
def small_appendix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_run_appendix(tmp_path_factory) / "appendix.html"


@needs_chromium
@pytest.mark.parametrize("width", WIDTHS)
def test_small_run_appendix_in_chromium(small_appendix: Path, width: int, tmp_path: Path) -> None:
    found = inspect_page(small_appendix, width, tmp_path / f"appendix_{width}.png")
    _assert_clean(found, width)
    assert found["scrollWidth"] <= width  # the page itself never scrolls sideways
