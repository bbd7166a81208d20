"""HTML: fragments for notebook outputs, nbconvert export, the landing page and archive.

Every value that comes from the data goes through :func:`esc` (or Jinja2's
autoescape) before it reaches a page. Pages load nothing from outside: the
stylesheet and images are embedded.
"""

from __future__ import annotations

import functools
import html as _html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is drawn: the notebook workers
    import pandas as pd  # only convert to HTML and start faster without it

    from salesreport.jobs import NotebookJob

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"

AUDIENCE_TITLES = {
    "executive": (
        "Executive summary",
        "State of the union: year to date and month against target, OKRs, forecast",
    ),
    "manager": (
        "Sales manager",
        "Pipeline by stage and close month, coverage, team activity, deals needing attention",
    ),
    "operations": (
        "Sales operations",
        "Funnel, stage conversion and bottlenecks, pipeline waterfall, cohorts, data quality",
    ),
    "rep": ("Account executives", "Leaderboard, attainment, wins, pipeline and activity per AE"),
    "sdr": ("SDRs", "Calls, emails, LinkedIn requests, meetings booked, lead conversion and age"),
    "forecast": (
        "Forecast and trends",
        "Revenue forecast, its accuracy month after month, trend analysis",
    ),
}

#: the subtitle of a page of one AE (``per_rep``), which ranks nobody: the rep audience's
#: "Leaderboard ... per AE" describes the team page
REP_PAGE_SUBTITLE = "One AE's attainment, wins, pipeline and activity"


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute context."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _html.escape(str(value), quote=True)


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s or "section"


@functools.cache
def section_css() -> str:
    """The sections' stylesheet (``templates/sections.css``): every selector names an ``sr-``
    class, so each section's output carries it into JupyterLab without restyling it."""
    return (TEMPLATES / "sections.css").read_text(encoding="utf-8")


def house_css(foot: str | None = None) -> str:
    """A published page's stylesheet: the sections' and the page frame's (top bar, width,
    footer, print layout, ``templates/house.css``); with ``foot``, the line printed at the
    bottom of every printed page (:func:`print_css`)."""
    css = section_css() + "\n" + (TEMPLATES / "house.css").read_text(encoding="utf-8")
    return css if foot is None else css + print_css(foot)


#: the characters a CSS string of :func:`css_string` keeps as they are
_CSS_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;·-_/()")


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string: every character but letters, digits, spaces and a few
    marks becomes a six-digit escape (``\\00003c``), so that nothing from the data (a team's
    title) can end the string or the ``<style>`` element it is in."""
    return '"' + "".join(c if c in _CSS_PLAIN else f"\\{ord(c):06x}" for c in text) + '"'


def print_css(footer: str) -> str:
    """The printed page's foot: ``footer`` and "page N of M" at the bottom of every printed
    page (a page margin box: Chromium 131 and later, Chrome and Edge since late 2024; its
    type and the footer line it replaces in print are in ``templates/house.css``)."""
    return (
        "@media print { @page { @bottom-center { content: "
        + css_string(footer)
        + ' " · page " counter(page) " of " counter(pages); } } }\n'
    )


#: how a section output carries the sections' stylesheet (see :func:`section_html`)
_STYLE_OPEN = '<style class="sr-style">'


def section_html(body: str) -> str:
    """A section's HTML output: its stylesheet (for JupyterLab, which does not have the
    published page's head), then ``body``. The published page drops the stylesheet
    (:func:`export_notebook_html`: its head has it)."""
    return f"{_STYLE_OPEN}{section_css()}</style>{body}"


def _without_section_style(output: dict) -> dict:
    """A notebook output without the stylesheet :func:`section_html` put in front of it."""
    html = output.get("data", {}).get("text/html")
    if isinstance(html, list):
        html = "".join(html)
    if isinstance(html, str) and html.startswith(_STYLE_OPEN):
        output["data"]["text/html"] = html[html.index("</style>") + len("</style>") :]
    return output


# --------------------------------------------------------------------------- fragments


def heading(text: str, level: int = 2, anchor: str | None = None) -> str:
    """A section heading; level-2 headings feed the page's table of contents."""
    cls = "sr-h" if level == 2 else "sr-h3"
    return f'<h{level} class="{cls}" id="{esc(anchor or slug(text))}">{esc(text)}</h{level}>'


def paragraph(text: str, cls: str = "sr-lead") -> str:
    return f'<p class="{cls}">{esc(text)}</p>'


def missing(text: str) -> str:
    return f'<div class="sr-missing">{esc(text)}</div>'


def toc_placeholder() -> str:
    return '<nav class="sr-toc" data-sr-toc="1"></nav>'


_WORDS = {"ytd": "YTD", "qtd": "QTD", "mtd": "MTD", "id": "ID", "yoy": "YoY", "mom": "MoM",
          "sdr": "SDR", "ae": "AE", "okr": "OKR", "kpi": "KPI", "mase": "MASE", "mape": "MAPE",
          "wape": "WAPE", "ape": "APE", "pct": "%"}  # fmt: skip


def header(column: Any) -> str:
    """A column name as a reader sees it: ``bookings_ytd`` -> ``Bookings YTD``; names that
    are already written for people (capitals, spaces) are kept as they are."""
    from salesreport.words import sentence

    text = str(column)
    if not re.fullmatch(r"[a-z0-9_]+", text):
        return text
    words = [_WORDS.get(w, w) for w in text.split("_") if w]
    return sentence(" ".join(words)) if words else text


_DATE_TEXT = re.compile(r"\d{4}-\d{2}(-\d{2})?")


def table(
    df: pd.DataFrame,
    formats: dict[str, Any] | None = None,
    numeric: Sequence[str] | None = None,
    max_rows: int = 50,
    badges: Sequence[str] = (),
    bars: Sequence[str] = (),
    download: str = "",
) -> str:
    """A plain, escaped HTML table. ``formats`` maps a column to a callable.

    Beyond ``max_rows`` rows, a note under the table says how many are shown, and links
    ``download`` (a CSV file beside the page holding every row) when given.

    ``bars`` (numeric columns) draw a data bar in each cell, left of its number: its length
    is the value over the largest value of the column among the rows shown (negative and
    missing values get none), so the column reads as a small bar chart and the numbers stay
    exact; each bar stops short of the room its column's longest number needs. A column
    with nothing above 0 stays plain.
    """
    formats = formats or {}
    import numpy as np
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    numeric = set(numeric or [c for c in df.columns if is_numeric_dtype(df[c])])
    shown = df.head(max_rows)
    scale = {}
    for c in bars:
        values = pd.to_numeric(shown[c], errors="coerce")
        top = values[np.isfinite(values)].max() if len(values) else np.nan
        scale[c] = float(top) if pd.notna(top) and top > 0 else None
    # the room a bar leaves for its column's longest number, in character widths
    room = {
        c: max((len(str(formats[c](v) if c in formats else v)) for v in shown[c]), default=1)
        for c in scale
    }
    head = "".join(
        f'<th class="{"num" if c in numeric else ""}">{esc(header(c))}</th>' for c in df.columns
    )
    rows = []
    for _, r in shown.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if c in badges:  # the value is the badge's colour, the format its words
                cls = esc(str(v).lower()) if isinstance(v, str) and v else "none"
                text = formats[c](v) if c in formats else v
                cells.append(f'<td><span class="sr-badge {cls}">{esc(text) or "—"}</span></td>')
                continue
            txt = formats[c](v) if c in formats else v
            if scale.get(c):
                share = float(v) / scale[c] if pd.notna(v) and float(v) > 0 else 0.0
                cells.append(
                    f'<td class="num sr-databar" style="--sr-bar:{share:.3f};--sr-room:{room[c] + 1}ch">'
                    f"{esc(txt)}</td>"
                )
                continue
            if c in numeric:
                cls = ' class="num"'
            else:  # a date or a month never breaks over two lines
                cls = ' class="date"' if _DATE_TEXT.fullmatch(str(txt)) else ""
            cells.append(f"<td{cls}>{esc(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(df) > max_rows:
        link = f' <a href="{esc(download)}">All {len(df):,} rows as CSV</a>' if download else ""
        more = f'<p class="sr-note">Showing {max_rows} of {len(df):,} rows.{link}</p>'

    kind = "sr-table sr-bars" if any(scale.values()) else "sr-table"
    return f'<table class="{kind}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}'


def tiles(items: Iterable[Any]) -> str:
    """KPI tiles (:class:`salesreport.findings.Tile`): label (a link to the KPI's
    definition when it has one), value, the status in words, then the target and the
    comparisons, each on its own line."""
    from salesreport.words import STATUS_WORDS, sentence

    out = []
    for t in items:
        status = t.status if t.status in STATUS_WORDS else ""
        label = f'<a href="{esc(t.href)}">{esc(t.label)}</a>' if t.href else esc(t.label)
        state = f'<div class="state">{esc(sentence(STATUS_WORDS[status]))}</div>' if status else ""
        lines = "".join(f'<div class="detail">{esc(line)}</div>' for line in t.details if line)
        out.append(
            f'<div class="sr-tile {status}"><div class="label">{label}</div>'
            f'<div class="value">{esc(t.value)}</div>{state}{lines}</div>'
        )
    return '<div class="sr-tiles">' + "".join(out) + "</div>"


def status_legend(rag: Any) -> str:
    """The one legend of the status colours, with the badges the tables use."""
    from salesreport.words import STATUS_WORDS, status_legend

    badges = " ".join(
        f'<span class="sr-badge {s}">{esc(STATUS_WORDS[s])}</span>' for s in STATUS_WORDS
    )
    return f'<p class="sr-legend">{badges} {esc(status_legend(rag))}</p>'


def markdown_safe(text: str) -> str:
    """Render a sales lead's markdown commentary with any raw HTML escaped."""
    import mistune

    return mistune.create_markdown(escape=True)(text)


# --------------------------------------------------------------------------- nbconvert


def add_toc(page: str) -> str:
    """Fill the page's table-of-contents placeholder from its level-2 headings."""
    heads = re.findall(r'<h2 class="sr-h" id="([^"]*)">(.*?)</h2>', page)
    if not heads:
        return page.replace('<nav class="sr-toc" data-sr-toc="1"></nav>', "")
    items = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in heads)
    nav = f'<nav class="sr-toc"><strong>Contents</strong><ol>{items}</ol></nav>'
    return page.replace('<nav class="sr-toc" data-sr-toc="1"></nav>', nav, 1)


@functools.cache
def _exporter():
    """The house HTML exporter, built once per process: a worker converting several
    notebooks compiles the nbconvert templates once (about 0.1 s a page)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = ("injected-parameters", "parameters", "remove-cell")
    c.TagRemovePreprocessor.enabled = True
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES / "nbconvert")]
    c.HTMLExporter.template_name = "salesreport"
    exporter = HTMLExporter(config=c)
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    return exporter


def export_notebook_html(nb_path: Path, job: NotebookJob) -> None:
    """Executed notebook -> the job's standalone HTML page: no code, no prompts, no
    parameters cell; a top bar back to the month's index and to the run's other pages."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    # Stakeholders see results only: warnings and logs (stderr) stay in the executed
    # notebook kept for audit; cells left with no output would be empty boxes. The
    # section stylesheet each output carries for JupyterLab is in the page's head already.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                _without_section_style(o)
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or cell.get("outputs")]
    nb.metadata["title"] = job.title
    here = Path(job.html).name
    resources = {
        "salesreport_css": house_css(job.footer),
        "salesreport_team": job.team_title,
        "salesreport_month": job.month,
        "salesreport_footer": job.footer,
        "salesreport_links": [
            {"href": link.href, "title": link.title, "current": link.href == here}
            for link in job.links
        ],
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    Path(job.html).write_text(add_toc(body), encoding="utf-8")


# --------------------------------------------------------------------------- landing page, archive


def _jinja():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def render_index(**context: Any) -> str:
    css = house_css(context.get("footer", ""))
    return _jinja().get_template("index.html.j2").render(css=css, **context)


def render_definitions() -> str:
    """``kpis.html``: docs/kpis.md (generated from the KPI catalogue) as a page of the
    report, each metric's definition at ``#kpi-<name>`` and its row in the table linking
    there."""
    import mistune

    from salesreport.kpis.docs import render

    body = mistune.create_markdown(escape=True, plugins=["table"])(render())
    # each definition gets its metric's anchor; the table's metric names link to it
    body = re.sub(
        r"<li><strong><code>(\w+)</code></strong>",
        r'<li id="kpi-\1"><strong><code>\1</code></strong>',
        body,
    )
    body = re.sub(
        r"<td><code>(\w+)</code></td>", r'<td><a href="#kpi-\1"><code>\1</code></a></td>', body
    )
    css = house_css("salesreport · KPI definitions")
    return _jinja().get_template("definitions.html.j2").render(css=css, body=body)


def render_archive(entries: list[dict[str, Any]]) -> str:
    css = house_css("salesreport · reports")
    return _jinja().get_template("archive.html.j2").render(css=css, entries=entries)
