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
            if name in PAGES[1:]:
                assert page.locator("img").count() >= 1, f"{name}: no chart rendered"
                broken = page.evaluate(
                    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
                )
                assert broken == 0, f"{name}: {broken} broken images"
            page.close()
        browser.close()
    assert not problems, "\n".join(problems)
