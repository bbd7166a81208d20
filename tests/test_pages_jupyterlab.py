"""The pages in JupyterLab, the analyst's way in: a real JupyterLab, headless Chromium, run all.

JupyterLab is started on a copy of the executive notebook set to North America (amounts in
dollars, the case where ``$13.7M against $14M`` turned into maths), every cell is run from
the menu, and the page is checked as an analyst sees it: the sections' styles apply (tiles
in a grid with their status colours, data bars), no amount was typeset as maths, and no
cell failed. Screenshots go where the other browser tests leave theirs (build/screenshots/).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from salesreport.params import project_root
from tests.conftest import REPORT_MONTH
from tests.test_html_browser import ARGS, _browser_or_skip, screenshots

pytestmark = pytest.mark.slow

TOKEN = "salesreport-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(folder: Path, sample_dir: Path) -> Path:
    """The committed executive notebook, its parameters set as an analyst would: NA, the
    sample's last month, the sample's folder."""
    nb = json.loads((project_root() / "notebooks" / "executive.ipynb").read_text())
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    src = "".join(params["source"])
    src = src.replace('team: str = "emea"', 'team: str = "na"')
    src = src.replace('month: str = ""', f'month: str = "{REPORT_MONTH}"')
    src = src.replace('data_dir: str = ""', f"data_dir: str = {str(sample_dir)!r}")
    params["source"] = src
    path = folder / "executive.ipynb"
    path.write_text(json.dumps(nb))
    return path


def _start_lab(folder: Path, port: int, tmp: Path) -> subprocess.Popen:
    settings = tmp / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # every cell kept in the page (JupyterLab renders only the visible ones by default)
    tracker = tmp / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={folder}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: its commands, as the menus run them
    ]  # fmt: skip
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/status?token={TOKEN}"
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:]) from None
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("JupyterLab did not start in 90 s")


#: the current notebook's kernel is connected and idle
_KERNEL_READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

#: what the checks read from the page, after every cell ran
_STATE_JS = """() => {
  const out = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const tiles = out.querySelector('.sr-tiles');
  const tile = out.querySelector('.sr-tile.green, .sr-tile.amber, .sr-tile.red');
  const bar = out.querySelector('td.sr-databar');
  return {
    prompts: Array.from(out.querySelectorAll('.jp-InputArea-prompt')).map(p => p.textContent.trim()),
    tiles: out.querySelectorAll('.sr-tile').length,
    tilesDisplay: tiles ? getComputedStyle(tiles).display : null,
    tileBorder: tile ? getComputedStyle(tile).borderTopWidth : null,
    tileColour: tile ? getComputedStyle(tile).borderTopColor : null,
    tileStatus: tile ? tile.className : null,
    bar: bar ? getComputedStyle(bar).backgroundImage : null,
    maths: out.querySelectorAll('mjx-container, .MathJax, .MathJax_Display').length,
    dollars: (out.querySelector('.sr-tiles') || {textContent: ''}).textContent.includes('$'),
    errors: Array.from(out.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
      .map(e => e.textContent.slice(0, 300)),
    sections: out.querySelectorAll('section.sr-section').length,
  };
}"""

STATUS_RGB = {
    "green": "rgb(2, 158, 115)",
    "amber": "rgb(222, 143, 5)",
    "red": "rgb(213, 94, 0)",
}


def test_a_notebook_run_in_jupyterlab_looks_as_the_published_page(tmp_path, sample_dir):
    exe = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder, sample_dir)
    port = _free_port()
    lab = _start_lab(folder, port, tmp_path)
    shots = screenshots()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/lab/tree/executive.ipynb?token={TOKEN}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
            # the notebook's kernel started and connected, then Run > Run All Cells (the
            # menu's command)
            page.wait_for_function(_KERNEL_READY_JS, timeout=90_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # every code cell numbered (none waiting as [*] or [ ]), the kernel idle again
            page.wait_for_function(
                """() => { const ps = Array.from(document.querySelectorAll(
                     '.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt'));
                   const idle = document.querySelector(
                     ".jp-Notebook-ExecutionIndicator[data-status='idle']");
                   return idle && ps.length > 10 &&
                     ps.every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
                timeout=240_000,
            )
            state = page.evaluate(_STATE_JS)
            page.locator(".sr-tiles").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "jupyterlab-executive-tiles.png"))
            page.locator("td.sr-databar").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "jupyterlab-executive-win-loss.png"))
            browser.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
    assert not state["errors"], state["errors"]
    assert state["sections"] >= 8
    # the tiles are tiles: a grid, each with its coloured top edge, as in the published page
    assert state["tiles"] >= 4 and state["tilesDisplay"] == "grid"
    assert state["tileBorder"] == "4px"
    status = next(s for s in STATUS_RGB if s in state["tileStatus"].split())
    assert state["tileColour"] == STATUS_RGB[status]
    # the win/loss table's data bars are drawn
    assert state["bar"] and "linear-gradient" in state["bar"]
    # dollar amounts stay amounts: MathJax typeset nothing
    assert state["dollars"] and state["maths"] == 0
