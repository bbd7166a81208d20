"""Sections shown by several notebooks are built once per run and shown identically."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from salesreport import charts, views
from salesreport.context import ReportContext
from salesreport.params import load_params, project_root
from salesreport.tables import Tables

FUNNEL = pd.DataFrame({"step": ["Leads", "Opportunities", "Won"], "count": [40, 12, 3]})


def _ctx(folder: Path | None) -> ReportContext:
    return ReportContext(
        params=load_params("emea"), month="2026-10", tables=Tables(), folder=folder
    )


def _counted():
    calls: list[tuple] = []

    @views.shared_section
    def section(ctx, label: str = "x") -> views.Output:
        calls.append((label,))
        return ["<h2>Funnel &amp; more</h2>", charts.funnel(FUNNEL, f"{label}: 3 won")]

    return section, calls


def test_a_section_is_built_once_and_read_back_with_the_same_outputs(tmp_path):
    section, calls = _counted()
    first = section(_ctx(tmp_path))
    again = section(_ctx(tmp_path))  # another notebook of the same run
    assert calls == [("x",)]
    assert again[0] == first[0] == "<h2>Funnel &amp; more</h2>"
    assert isinstance(again[1], views.SavedChart)
    # the PNG is the figure's own drawing, and the text form is the figure's
    assert again[1].png == charts.theme.png_bytes(first[1])
    assert again[1].png[:8] == b"\x89PNG\r\n\x1a\n"
    assert repr(again[1]) == repr(first[1])
    saved = list((tmp_path / views.SECTIONS_DIR).glob("*.json"))
    assert len(saved) == 1 and not list((tmp_path / views.SECTIONS_DIR).glob(".*tmp"))
    assert json.loads(saved[0].read_text())["call"] == '["section", [["label", "x"]]]'


def test_each_set_of_arguments_is_its_own_section(tmp_path):
    section, calls = _counted()
    section(_ctx(tmp_path), "a")
    section(_ctx(tmp_path), label="a")
    section(_ctx(tmp_path), "b")
    section(_ctx(tmp_path))
    section(_ctx(tmp_path), "x")
    section(_ctx(tmp_path), label="b")
    # the arguments count as bound, defaults included: "a" (positional or keyword), "b" and
    # the default "x" are three sections; the other calls read them back
    assert calls == [("a",), ("b",), ("x",)]
    assert len(list((tmp_path / views.SECTIONS_DIR).glob("*.json"))) == 3


def test_a_context_built_in_memory_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    section, calls = _counted()
    section(_ctx(None))
    section(_ctx(None))
    assert calls == [("x",), ("x",)]
    assert list(tmp_path.iterdir()) == []


def test_a_saved_chart_displays_exactly_as_the_figure_did(monkeypatch):
    import IPython
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
        assert charts.enable_notebook_display() is True
        fig = charts.funnel(FUNNEL, "3 won")
        fresh, _ = shell.display_formatter.format(fig)
        saved, _ = shell.display_formatter.format(
            views.SavedChart(charts.theme.png_bytes(fig), repr(fig))
        )
        assert saved == fresh  # same image/png bytes and the same text/plain
        assert set(fresh) == {"image/png", "text/plain"}
    finally:
        InteractiveShell.clear_instance()


def test_every_section_two_notebooks_show_is_shared():
    """A section called from two or more notebooks is built once (``shared_section``); the
    decorator keeps the function's name, so the wrapped ones are found by ``__wrapped__``."""
    counts: dict[str, set[str]] = {}
    for nb in (project_root() / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for name in set(re.findall(r"\bv\.(\w+_section|win_loss)\(", code)):
            counts.setdefault(name, set()).add(nb.stem)
    shared = {name for name, books in counts.items() if len(books) > 1}
    assert {"activity_section", "attainment_section", "pipeline_section"} <= shared
    for name in shared:
        if name == "notes_section":  # the page's own notes: a few lines, nothing to draw
            continue
        assert hasattr(getattr(views, name), "__wrapped__"), f"{name} is not a shared_section"
