"""The published pages in a real browser: no console error, no network request, screenshots kept.

Runs headless Debian Chromium through Playwright. `make test` installs
chromium when it is missing and apt is there; with CI set this test must run.
Screenshots go to $SALESREPORT_SCREENSHOTS (default /tmp/salesreport-screenshots).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPORT_MONTH

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
PAGES = ["index", "executive", "manager", "operations", "rep", "sdr", "forecast"]


def _browser_or_skip():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed; `make test` installs it (apt-get install chromium)"
            )
        pytest.skip("chromium not installed (make test installs it)")
    return CHROMIUM


_CELLS_JS = """Array.from(document.querySelectorAll('td.sr-databar')).map(td => {
  const r = td.getBoundingClientRect();
  return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height, td.textContent];
})"""


def _bars_touching_numbers(page, screenshot: Path) -> list[str]:
    """Data-bar cells (``html.table(bars=...)``) whose bar reaches its number, read from the
    page's pixels as a reader sees them: in each cell, the bar's light blue must end at least
    3 px left of the first dark pixel of the text."""
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(screenshot).convert("RGB")).astype(int)
    bad = []
    for left, top, width, height, text in page.evaluate(_CELLS_JS):
        x0, y0 = round(left), round(top)
        cell = img[y0 + 2 : y0 + round(height) - 2, x0 : x0 + round(width)]
        r, g, b = cell[..., 0], cell[..., 1], cell[..., 2]
        bar = (b - r > 30) & (r > 120)  # the bar: light blue (0, 114, 178) at 30 % on white
        ink = (r + g + b) < 3 * 110  # text: dark grey
        if not ink.any():
            bad.append(f"data bar cell {text!r}: no text drawn")
        elif (
            bar.any()
            and np.nonzero(bar.any(axis=0))[0].max() > np.nonzero(ink.any(axis=0))[0].min() - 3
        ):
            bad.append(f"data bar runs into its number {text!r}")
    return bad


def test_every_page_renders_offline_without_errors(built):
    exe = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    root, _ = built
    out = root / "reports" / "emea" / REPORT_MONTH
    shots = Path(os.environ.get("SALESREPORT_SCREENSHOTS", "/tmp/salesreport-screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=ARGS)
        for name in PAGES + ["../../index"]:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on(
                "console",
                lambda m, n=name: (
                    problems.append(f"{n}: console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e, n=name: problems.append(f"{n}: page error: {e}"))
            page.on(
                "request",
                lambda r, n=name: (
                    problems.append(f"{n}: network request {r.url}")
                    if not r.url.startswith(("file://", "data:", "about:"))
                    else None
                ),
            )
            page.goto((out / f"{name}.html").resolve().as_uri())
            page.wait_for_load_state("load")
            assert page.title(), f"{name}: page has no title"
            shot = "archive" if name.startswith("..") else name
            page.screenshot(path=str(shots / f"emea-{shot}.png"), full_page=True)
            problems.extend(
                f"{name}: {p}" for p in _bars_touching_numbers(page, shots / f"emea-{shot}.png")
            )
            if name in PAGES[1:]:
                assert page.locator("img").count() >= 1, f"{name}: no chart rendered"
                broken = page.evaluate(
                    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
                )
                assert broken == 0, f"{name}: {broken} broken images"
            page.close()
        browser.close()
    assert not problems, "\n".join(problems)
