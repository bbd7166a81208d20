"""Sections as objects: one HTML output each, shared between the pages of a run."""

from __future__ import annotations

import json
import re

import pandas as pd

from salesreport import charts
from salesreport.pages import section as S
from salesreport.params import project_root
from tests.pages_context import page_context

FUNNEL = pd.DataFrame({"step": ["Leads", "Opportunities", "Won"], "count": [40, 12, 3]})


def _counted():
    calls: list[tuple] = []

    @S.shared
    def section(ctx, label: str = "x") -> S.Section:
        calls.append((label,))
        return S.Section(
            "Funnel & more",
            "funnel",
            [S.chart(charts.funnel, FUNNEL, f"{label}: 3 won"), S.note("a note")],
            frame=FUNNEL.assign(month=pd.Period("2026-10", "M")),
        )

    return section, calls


def test_a_section_is_built_once_and_read_back_the_same(tmp_path):
    section, calls = _counted()
    first = section(page_context(folder=tmp_path))
    again = section(page_context(folder=tmp_path))  # another notebook of the same run
    assert calls == [("x",)]
    assert again.html() == first.html()  # the same heading, image bytes and note
    assert (again.title, again.anchor, again.level) == ("Funnel & more", "funnel", 2)
    assert 'alt="x: 3 won"' in again.html() and "data:image/png;base64," in again.html()
    # the numbers come back too (months as text)
    assert (
        again.frame["count"].tolist() == [40, 12, 3]
        and again.frame["month"].tolist() == ["2026-10"] * 3
    )
    saved = list((tmp_path / S.SECTIONS_DIR).glob("*.json"))
    assert len(saved) == 1 and not list((tmp_path / S.SECTIONS_DIR).glob(".*tmp"))
    assert json.loads(saved[0].read_text())["call"].endswith('"section", [["label", "x"]]]')


def test_each_set_of_arguments_is_its_own_section(tmp_path):
    section, calls = _counted()
    ctx = page_context(folder=tmp_path)
    for args, kwargs in [(("a",), {}), ((), {"label": "a"}), (("b",), {}), ((), {}), (("x",), {}),
                         ((), {"label": "b"})]:  # fmt: skip
        section(ctx, *args, **kwargs)
    # the arguments count as bound, defaults included: "a" (positional or keyword), "b" and
    # the default "x" are three sections; the other calls read them back
    assert calls == [("a",), ("b",), ("x",)]
    assert len(list((tmp_path / S.SECTIONS_DIR).glob("*.json"))) == 3


def test_a_context_built_in_memory_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    section, calls = _counted()
    section(page_context())
    section(page_context())
    assert calls == [("x",), ("x",)]
    assert list(tmp_path.iterdir()) == []


def test_a_section_displays_as_one_html_output_with_a_text_form_and_an_empty_one_not_at_all():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    section, _ = _counted()
    InteractiveShell.instance()
    try:
        with capture_output() as shown:
            section(page_context())._ipython_display_()
            S.Section("")._ipython_display_()  # no commentary this month: no output at all
            S.Sections([S.Section(""), S.Section("")])._ipython_display_()
    finally:
        InteractiveShell.clear_instance()
    (out,) = shown.outputs
    assert set(out.data) == {"text/html", "text/plain"}
    assert out.data["text/plain"] == "Section('Funnel & more', frame 3×3)"
    html = out.data["text/html"]
    assert html.count("<section") == 1 and html.count("<img") == 1
    assert '<h2 class="sr-h" id="funnel">Funnel &amp; more</h2>' in html


def test_every_section_two_notebooks_show_is_shared():
    """A section a page takes from another page's module is built once per run
    (:func:`shared`); the decorator keeps the function's name and module."""
    import importlib

    borrowed = set()
    for nb in (project_root() / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        module = importlib.import_module(f"salesreport.pages.{nb.stem}")
        for name in set(re.findall(r"\bpage\.(\w+)\(", code)):
            fn = getattr(module, name)
            if fn.__module__ not in (module.__name__, "salesreport.pages.common"):
                borrowed.add((fn.__module__, name))
                assert hasattr(fn, "__wrapped__"), f"{fn.__module__}.{name} is not shared"
    assert ("salesreport.pages.executive", "win_loss") in borrowed
    assert ("salesreport.pages.forecast", "forecast_fan") in borrowed


def test_the_ae_page_shows_the_managers_team_sections_built_once(tmp_path):
    from salesreport.pages import manager, rep
    from salesreport.tables import Tables
    from tests.test_analysis import history, opps

    ctx = page_context(Tables(opportunities=opps(), stage_history=history()), folder=tmp_path)
    first = rep.pipeline(ctx)
    assert manager.pipeline(ctx).html() == first.html()
    rep.attainment(ctx)
    manager.attainment(ctx)
    assert len(list((tmp_path / S.SECTIONS_DIR).glob("*.json"))) == 2


def test_a_chart_with_nothing_to_draw_says_which_chart_in_plain_words():
    # the NRR/GRR chart of a team with under a year of purchases: no value to draw. The note
    # names the chart by its title (escaped: a title may hold values from the data) instead
    # of "this view", and never the developers' "no data for nrr_grr_trend"
    empty = pd.DataFrame({"period": ["2026-10"], "nrr": [float("nan")], "grr": [float("nan")]})
    part = S.chart(charts.nrr_grr_trend, empty, "Net & gross revenue retention <12 months>")
    assert isinstance(part, S.Html)
    html = part.html()
    assert "Nothing to chart for “Net &amp; gross revenue retention &lt;12 months&gt;”" in html
    assert "no data for" not in html and "<12" not in html
