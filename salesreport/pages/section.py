"""A page's section as a typed object: the finding, the numbers behind it, what it shows.

A section function (``salesreport.pages.<page>.<section>(ctx)``) returns a
:class:`Section`. The same object serves the three ways in:

* papermill and the published page: a notebook cell's last expression is a section, which
  IPython displays as one HTML output (:meth:`Section._repr_html_`): the heading, charts as
  embedded PNG images, tables and notes, in one block that a printed page keeps together
  where it can; nbconvert turns it into the stakeholder page;
* JupyterLab: the same output, carrying the sections' stylesheet (JupyterLab does not have
  the published page's head) and marked so that MathJax leaves ``$`` amounts alone;
  ``section.frame`` is the table behind the finding as a DataFrame, ``section.tables``
  every table it shows;
* tests: ``section.title``, ``section.frame``, ``section.parts`` are plain values.

A section shown by several pages of a run is built once (:func:`shared`). A table cut to
its first rows writes every row to a CSV beside the page (:func:`table`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesreport import html as H
from salesreport.tables import TABLES

#: where a run's shared sections and the full tables behind cut ones are kept, inside the
#: saved context's folder; the run publishes the files beside the pages
SECTIONS_DIR = "sections"
FILES_DIR = "files"


# --------------------------------------------------------------------------- parts


@dataclass
class Html:
    """A fragment already written as escaped HTML (:mod:`salesreport.html`); ``runs_on``:
    a table's HTML, which a printed page may break (a section read back from the cache)."""

    text: str
    runs_on: bool = False

    def html(self) -> str:
        return self.text


@dataclass
class Chart:
    """A matplotlib figure, shown as an embedded PNG; ``alt`` says what it shows."""

    figure: Any
    alt: str = ""
    _png: bytes | None = field(default=None, repr=False)

    @property
    def png(self) -> bytes:
        """The figure drawn once as PNG (the figure is released after)."""
        if self._png is None:
            from salesreport.charts.theme import png_bytes

            self._png = png_bytes(self.figure)
            _release(self.figure)
        return self._png

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        return (
            f'<figure class="sr-chart"><img alt="{H.esc(self.alt)}" '
            f'src="data:image/png;base64,{data}"></figure>'
        )


def _release(figure: Any) -> None:
    """Let pyplot forget a figure it manages (charts' own figures are not registered)."""
    import matplotlib.pyplot as plt

    if plt.fignum_exists(getattr(figure, "number", -1)):
        plt.close(figure)


@dataclass
class Table:
    """A table: ``frame`` as it is shown (columns named for readers), with formats."""

    frame: pd.DataFrame
    formats: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    numeric: Sequence[str] | None = None
    max_rows: int = 50
    badges: Sequence[str] = ()
    bars: Sequence[str] = ()
    download: str = ""  # a CSV beside the page with every row, when the table is cut
    runs_on = True  # a printed page may break it between rows

    def html(self) -> str:
        return H.table(
            self.frame,
            formats=self.formats,
            numeric=self.numeric,
            max_rows=self.max_rows,
            badges=self.badges,
            bars=self.bars,
            download=self.download,
        )


Part = Html | Chart | Table


# --------------------------------------------------------------------------- the section


@dataclass
class Section:
    """One section of a page.

    ``title`` states the finding (the heading; empty for a section without one, such as a
    page's title block); ``anchor`` is the heading's id (the page's contents link to it);
    ``frame`` is the table behind the finding; ``parts`` are what it shows under the
    heading, in order. ``level`` 3 is a sub-section (not in the page's contents).
    """

    title: str
    anchor: str = ""
    parts: list[Part] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    level: int = 2

    @property
    def tables(self) -> list[pd.DataFrame]:
        """Every table the section shows, as its frame."""
        return [p.frame for p in self.parts if isinstance(p, Table)]

    @property
    def charts(self) -> list[Any]:
        """Every chart the section shows (matplotlib figures)."""
        return [p.figure for p in self.parts if isinstance(p, Chart)]

    def body(self) -> str:
        """The section as HTML: heading and parts (charts as embedded PNG images). The
        heading and the part after it are one block a printed page does not split (a
        heading never ends a page), unless that part is a table, which may run on."""
        parts = [p.html() for p in self.parts]
        if not self.title:
            return "".join(parts)
        head = H.heading(self.title, self.level, self.anchor or None)
        if parts and not getattr(self.parts[0], "runs_on", False):
            head = f'<div class="sr-keep">{head}{parts.pop(0)}</div>'
        return head + "".join(parts)

    def html(self) -> str:
        """The section as one HTML block, marked so that MathJax (JupyterLab) leaves its
        ``$`` amounts alone."""
        return f'<section class="sr-section tex2jax_ignore mathjax_ignore">{self.body()}</section>'

    def _repr_html_(self) -> str:
        return H.section_html(self.html())

    def _ipython_display_(self) -> None:
        """Shown by a notebook cell: one HTML output, nothing at all for an empty section
        (no commentary this month), so the published page has no empty box."""
        _display(self)

    def __repr__(self) -> str:
        shape = "" if self.frame is None else f", frame {self.frame.shape[0]}×{self.frame.shape[1]}"
        return f"Section({self.title!r}{shape})"

    def __bool__(self) -> bool:
        return bool(self.title or self.parts)


class Sections(list):
    """Several sections shown by one notebook cell, as one output."""

    def _repr_html_(self) -> str:
        return H.section_html("".join(s.html() for s in self if s))

    def _ipython_display_(self) -> None:
        _display(self)


def _display(shown: Section | Sections) -> None:
    """Display a section (or several) as one HTML output with its text form; nothing when
    there is nothing to show."""
    from IPython.display import display

    if any(shown) if isinstance(shown, Sections) else shown:
        display({"text/html": shown._repr_html_(), "text/plain": repr(shown)}, raw=True)


# --------------------------------------------------------------------------- helpers


def note(text: str) -> Html:
    """A note under a chart or table (muted, small)."""
    return Html(H.paragraph(text, "sr-note"))


def missing(text: str) -> Html:
    """Why something is not shown."""
    return Html(H.missing(text))


def chart(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Chart | Html:
    """A chart, or a note saying why there is none (charts raise ``ValueError`` on empty
    data; their "no data for <chart>" names the chart for developers, so readers get plain
    words, naming the chart by its title). The chart's ``title`` argument, which states the
    finding, is its ``alt`` text."""
    alt = str(inspect.signature(fn).bind(*args, **kwargs).arguments.get("title", ""))
    try:
        figure = fn(*args, **kwargs)
    except ValueError as exc:
        text = str(exc)
        if text.startswith("no data for "):
            what = f"“{alt}”" if alt else "this view"
            text = f"Nothing to chart for {what}: the data has no value for it in this period."
        return missing(text)
    return Chart(figure, alt=alt)


def drawn(frame: pd.DataFrame, lines: dict[str, str]) -> list[str]:
    """The names of ``lines`` (column -> name) whose column has a value in ``frame``: what a
    chart draws beside its main series (charts skip a column without any value), so that
    its title names only those."""
    return [
        name
        for column, name in lines.items()
        if column in frame.columns and pd.to_numeric(frame[column], errors="coerce").notna().any()
    ]


def table(ctx, frame: pd.DataFrame, name: str, max_rows: int = 50, **kw: Any) -> Table:
    """A table of ``frame``; cut to ``max_rows`` rows, every row is written to
    ``<name>.csv`` beside the page (a pipeline run only: ``ctx.folder``), which the table
    links. The CSV holds the frame's values (numbers unformatted, dates ISO)."""
    download = ""
    folder = getattr(ctx, "folder", None)
    if len(frame) > max_rows and folder is not None:
        download = f"{name}.csv"
        out = Path(folder) / FILES_DIR
        out.mkdir(exist_ok=True)
        tmp = out / f".{download}.{id(frame)}.tmp"
        frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        tmp.replace(out / download)
    return Table(frame, max_rows=max_rows, download=download, **kw)


def needs(table_name: str, what: str) -> Html:
    """What table would unlock ``what``."""
    return missing(
        f"{what} needs the {table_name} table ({TABLES[table_name].unlocks}). "
        f"Add {table_name}.csv (or .parquet/.xlsx) to the team's data folder to unlock it."
    )


def section_needs(table_name: str, what: str, anchor: str) -> Section:
    """A section the data cannot fill: a heading saying so (listed in the page's contents
    like every other section) and what table would unlock it."""
    return Section(f"{what}: no {table_name} table in the data", anchor, [needs(table_name, what)])


# --------------------------------------------------------------------------- shared


def shared(fn: Callable[..., Section]) -> Callable[..., Section]:
    """A section shown by more than one page is built once per run.

    A section depends only on the context and its arguments, so when the context was read
    from a pipeline run's folder (``ctx.folder``), the first page to build it saves it
    (title, anchor, its HTML, its frame) under ``<folder>/sections/``, and the other pages
    show that same section instead of computing and drawing it again. A context built in
    memory (JupyterLab without ``run_dir``, the tests) keeps nothing. Two pages building
    the same section at the same moment both build it; the files are replaced whole (an
    atomic rename), never read half-written.
    """
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def section(ctx, *args: Any, **kwargs: Any) -> Section:
        folder = getattr(ctx, "folder", None)
        if folder is None:
            return fn(ctx, *args, **kwargs)
        # the arguments as bound, defaults included: f(ctx) and f(ctx, "") are one section
        bound = signature.bind(ctx, *args, **kwargs)
        bound.apply_defaults()
        named = sorted(list(bound.arguments.items())[1:])
        call = json.dumps([fn.__module__, fn.__name__, named], default=str)
        path = Path(folder) / SECTIONS_DIR / f"{hashlib.sha256(call.encode()).hexdigest()}.json"
        if path.exists():
            return _read_section(path)
        built = fn(ctx, *args, **kwargs)
        _save_section(path, call, built)
        return built

    return section


def _save_section(path: Path, call: str, section: Section) -> None:
    from salesreport.context import write_json

    path.parent.mkdir(exist_ok=True)
    from salesreport.context import periods_as_text

    frame = ""
    if section.frame is not None:
        frame = periods_as_text(section.frame).to_json(
            orient="table", date_format="iso", index=False
        )
    write_json(
        path,
        {
            "call": call,
            "title": section.title,
            "anchor": section.anchor,
            "level": section.level,
            "parts": [[p.html(), getattr(p, "runs_on", False)] for p in section.parts],
            "frame": frame,
        },
    )


def _read_section(path: Path) -> Section:
    import io

    saved = json.loads(path.read_text(encoding="utf-8"))
    frame = pd.read_json(io.StringIO(saved["frame"]), orient="table") if saved["frame"] else None
    parts: list[Part] = [Html(text, runs_on) for text, runs_on in saved["parts"]]
    return Section(saved["title"], saved["anchor"], parts, frame=frame, level=saved["level"])
