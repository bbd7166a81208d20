"""The published pages in a real browser: no console error, no network request, screenshots kept.

Runs headless Debian Chromium through Playwright. `make test` installs
chromium (and poppler-utils, for the printed pages) when they are missing and apt is there;
with CI set these tests must run. Screenshots, and every printed page as a PNG, go to
$SALESREPORT_SCREENSHOTS (default build/screenshots/, which git ignores): look at them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import REPORT_MONTH, ROOT

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
PAGES = ["index", "executive", "manager", "operations", "rep", "sdr", "forecast"]


def screenshots() -> Path:
    """Where the browser tests leave what they saw: $SALESREPORT_SCREENSHOTS, else
    build/screenshots/ in the repository (ignored by git)."""
    shots = Path(os.environ.get("SALESREPORT_SCREENSHOTS", ROOT / "build" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


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
    shots = screenshots()
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


# --------------------------------------------------------------------------- printing


def _poppler_or_skip() -> None:
    if shutil.which("pdftohtml") and shutil.which("pdftoppm"):
        return
    if os.environ.get("CI"):
        pytest.fail(
            "poppler-utils is not installed; `make test` installs it (apt-get install poppler-utils)"
        )
    pytest.skip("poppler-utils not installed (make test installs it)")


def _pdf_pages(pdf: Path, work: Path) -> list[dict]:
    """The PDF's pages as poppler lays them out: each page's width and its text lines and
    images (top, left, width, height in points; text lines with their font)."""
    subprocess.run(["pdftohtml", "-xml", "-q", "-zoom", "1", str(pdf), str(work / "p")], check=True)
    pages = []
    for page in ElementTree.parse(work / "p.xml").getroot().iter("page"):
        items = [
            {
                "kind": el.tag,
                "top": float(el.get("top")),
                "left": float(el.get("left")),
                "width": float(el.get("width")),
                "height": float(el.get("height")),
                "font": el.get("font"),
                "text": " ".join("".join(el.itertext()).split()),
            }
            for el in page
            if el.tag in ("text", "image")
        ]
        pages.append({"width": float(page.get("width")), "items": items})
    return pages


#: the printed page's left and right margins in points (``@page`` in templates/house.css: 12 mm)
PRINT_SIDE_MARGIN = 12 / 25.4 * 72


def _print_problems(
    name: str, pages: list[dict], headings: list[str], headers: list[str]
) -> list[str]:
    """What a printed page must not do: draw past the paper's right edge (a table's last
    column cut), lose a table's column heading, leave a section heading at the foot of
    a page with what it heads on the next, go without its foot ("... · page N of M"),
    hold nothing but that foot (a blank page printed at the end), or print a chart at
    under three quarters of the text's width (a tall chart shrunk to fit a height, its
    labels too small to read)."""
    bad = []
    bodies = []  # each page's items but its foot
    for n, page in enumerate(pages, 1):
        foot = f" · page {n} of {len(pages)}"
        text_width = page["width"] - 2 * PRINT_SIDE_MARGIN
        for it in page["items"]:
            if it["left"] + it["width"] > page["width"] + 0.5:
                bad.append(
                    f"{name} page {n}: {it['kind']} {it['text']!r} runs past the paper's edge"
                )
            if it["kind"] == "image" and it["width"] < 0.75 * text_width:
                bad.append(
                    f"{name} page {n}: a chart {it['width']:.0f} of {text_width:.0f} points wide"
                )
        body = [it for it in page["items"] if not it["text"].endswith(foot)]
        bodies.append(body)
        if len(body) == len(page["items"]):
            bad.append(f"{name} page {n}: no foot saying {foot[3:]!r}")
        elif not any(it["kind"] == "image" or it["text"].strip() for it in body):
            bad.append(f"{name} page {n}: nothing printed but the foot")
    words = {w for page in pages for it in page["items"] for w in it["text"].split()}
    for h in headers:
        if not set(h.split()) <= words:
            bad.append(f"{name}: the column {h!r} is not printed")
    for heading in headings:
        for n, body in enumerate(bodies, 1):
            lines = [it for it in body if it["kind"] == "text"]
            first = next(
                (it for it in lines if len(it["text"]) >= 12 and heading.startswith(it["text"])),
                None,
            )
            if first is None:
                continue
            below = [
                it for it in body
                if it["top"] > first["top"] and (it["kind"] == "image" or it["font"] != first["font"])
            ]  # fmt: skip
            if not below and n < len(pages):
                bad.append(
                    f"{name} page {n}: the heading {heading!r} is left at the foot of the page"
                )
            break
    return bad


_DOM_JS = """[Array.from(document.querySelectorAll('h2.sr-h')).map(h => h.textContent.trim()),
  Array.from(document.querySelectorAll('table.sr-table th')).map(h => h.textContent.trim())]"""


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printed_pages_keep_headings_with_their_section_and_tables_within_the_paper(
    built, paper, tmp_path
):
    exe = _browser_or_skip()
    _poppler_or_skip()
    from playwright.sync_api import sync_playwright

    root, _ = built
    out = root / "reports" / "emea" / REPORT_MONTH
    shots = screenshots()
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=ARGS)
        page = browser.new_page()
        for name in PAGES[1:]:
            page.goto((out / f"{name}.html").resolve().as_uri())
            page.wait_for_load_state("load")
            headings, headers = page.evaluate(_DOM_JS)
            pdf = tmp_path / f"{name}-{paper}.pdf"
            page.pdf(path=str(pdf), format=paper, print_background=True)
            work = tmp_path / f"{name}-{paper}"
            work.mkdir()
            problems += _print_problems(
                f"{name} ({paper})", _pdf_pages(pdf, work), headings, headers
            )
            for old in shots.glob(f"print-{name}-{paper}-*.png"):
                old.unlink()
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", str(pdf), str(shots / f"print-{name}-{paper}")],
                check=True,
            )
        browser.close()
    assert not problems, "\n".join(problems)
    assert list(shots.glob(f"print-executive-{paper}-*.png"))


def test_the_print_check_finds_a_cut_table_and_a_stranded_heading():
    """The checks above fail where they should (a layout worked by hand)."""
    page = {"width": 595.0, "items": [
        {"kind": "text", "top": 700, "left": 43, "width": 300, "height": 18, "font": "2",
         "text": "Revenue 6% below target year to date"},
        {"kind": "text", "top": 760, "left": 43, "width": 560, "height": 10, "font": "6",
         "text": "Objective Status"},
    ]}  # fmt: skip
    next_page = {"width": 595.0, "items": [
        {"kind": "image", "top": 60, "left": 43, "width": 500, "height": 300, "font": None, "text": ""},
        {"kind": "image", "top": 380, "left": 43, "width": 380, "height": 340, "font": None, "text": ""},
    ]}  # fmt: skip
    for n, p in enumerate([page, next_page], 1):  # each page's foot (a page margin box)
        p["items"].append({"kind": "text", "top": 821, "left": 150, "width": 300, "height": 9,
                           "font": "9", "text": f"salesreport · x · generated · page {n} of 2"})  # fmt: skip
    heading = "Revenue 6% below target year to date (€12.1M)"
    cut = _print_problems("x", [page, next_page], [heading], ["Objective", "Status", "Grade"])
    assert any("runs past the paper's edge" in p for p in cut)
    assert any("'Grade' is not printed" in p for p in cut)
    assert not any("foot of the page" in p for p in cut)  # the table line sits below it
    assert "x page 2: a chart 380 of 527 points wide" in cut  # the one of 500 is wide enough
    next_page["items"].pop(1)
    page["items"].pop(1)
    stranded = _print_problems("x", [page, next_page], [heading], [])
    assert stranded == [f"x page 1: the heading {heading!r} is left at the foot of the page"]
    blank = {"width": 595.0, "items": [
        {"kind": "text", "top": 821, "left": 150, "width": 300, "height": 9, "font": "9",
         "text": "salesreport · x · generated · page 3 of 3"},
    ]}  # fmt: skip
    for p in (page, next_page):
        p["items"][-1]["text"] = p["items"][-1]["text"].replace("of 2", "of 3")
    assert _print_problems("x", [page, next_page, blank], [heading], []) == [
        "x page 3: nothing printed but the foot",
        f"x page 1: the heading {heading!r} is left at the foot of the page",
    ]
    next_page["items"].pop()
    assert _print_problems("x", [page, next_page], [], []) == [
        "x page 1: no foot saying 'page 1 of 2'",
        "x page 2: no foot saying 'page 2 of 2'",
    ]
