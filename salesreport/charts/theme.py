"""The house theme and the plumbing every chart shares.

Charts are drawn on :class:`matplotlib.figure.Figure` objects that are *not*
registered with pyplot: nothing is shown or kept alive behind the caller's back
and no ``plt.close`` is needed. In a notebook, make the figure the last
expression of a cell (or ``display(fig)``); for HTML outside notebooks use
:func:`figure_to_data_uri`.

Every chart is drawn inside the house style (:func:`house_rc`), so a figure
looks the same whether or not :func:`set_theme` was called first.
"""

from __future__ import annotations

import base64
import io
import math
import sys
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from salesreport import words

#: seaborn "colorblind" (Okabe-Ito based); colours keep one meaning across every chart.
PALETTE: list[str] = sns.color_palette("colorblind").as_hex()
ACTUAL = PALETTE[0]  # blue: what happened
FORECAST = PALETTE[1]  # orange: what the model expects
GOOD = PALETTE[2]  # bluish green
BAD = PALETTE[3]  # vermillion
PRIOR = PALETTE[7]  # grey: last year, context
LIGHT = PALETTE[9]  # sky blue
TARGET = "#222222"  # near black: the bar to clear
#: for series that are categories (stages, cohort years, models): neighbours stay distinct
SERIES: list[str] = [PALETTE[i] for i in (0, 1, 2, 4, 9, 5, 3, 7, 6, 8)]
#: the status colours (salesreport.status), the same as the pages' stylesheet
STATUS_COLOURS: dict[str, str] = {"green": GOOD, "amber": PALETTE[1], "red": BAD}

DPI = 110
WIDTH_IN = 8.2  # 8.2 in x 110 dpi = 902 px: one chart fills a 900 px column
HEIGHT_IN = 4.4


def house_rc() -> dict:
    """The house rcParams: seaborn whitegrid + colorblind palette, larger fonts, dpi 110.

    Left-aligned finding titles, no top/right spines, light horizontal grid,
    frameless legends, 8.2 x 4.4 in figures (900 px at 110 dpi).
    """
    rc = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.95))
    rc.update(
        {
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "figure.figsize": (WIDTH_IN, HEIGHT_IN),
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "font.size": 10.5,
            "axes.titlesize": 11.5,
            "axes.titlelocation": "left",
            "axes.titleweight": "bold",
            "axes.labelsize": 10.5,
            "axes.labelcolor": "#333333",
            "xtick.labelsize": 9.5,
            "ytick.labelsize": 9.5,
            "legend.fontsize": 9.5,
            "legend.frameon": False,
            "figure.titlesize": 13,
            "figure.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#777777",
            "grid.color": "#e3e3e3",
            "grid.linewidth": 0.8,
            "axes.axisbelow": True,
            "lines.linewidth": 2.0,
            "lines.markersize": 5,
            "axes.formatter.useoffset": False,
        }
    )
    return rc


def set_theme() -> None:
    """Apply the house theme globally (seaborn ``set_theme`` + :func:`house_rc`).

    Call once at the top of a notebook; chart functions use the same style
    whether or not it was called.
    """
    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook", font_scale=0.95)
    mpl.rcParams.update(house_rc())
    enable_notebook_display()


def enable_notebook_display() -> bool:
    """In IPython/Jupyter, show a returned :class:`Figure` as a PNG; ``False`` outside IPython.

    Figures built with ``Figure()`` never load a pyplot backend, so the inline
    backend would not register its PNG display hook and a figure left as a
    cell's last expression would print as ``<Figure size ...>``. This registers
    that hook (110 dpi, the PNG drawn by :func:`finish` when the figure has not
    changed since). Called by :func:`set_theme` and by every chart; idempotent;
    never imports IPython itself.
    """
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(Figure, png_bytes)
    return True


@contextmanager
def themed():
    """Draw inside the house style without changing the caller's global settings."""
    with mpl.rc_context(house_rc()):
        yield


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    height: float = HEIGHT_IN,
    width: float = WIDTH_IN,
    **subplot_kw,
) -> tuple[Figure, np.ndarray | Axes]:
    """A constrained-layout figure not registered with pyplot, and its axes."""
    enable_notebook_display()
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


#: characters of the title's font that fit one inch of figure width (about 10.3 measured:
#: an 87-character title was cut at its 84th on an 8.2 in figure), with a margin
TITLE_CHARS_PER_INCH = 9.2


def wrap_title(title: str, width_in: float) -> str:
    """``title`` broken into lines that fit a figure ``width_in`` inches wide (a title
    longer than the figure was cut at the right edge)."""
    import textwrap

    return "\n".join(textwrap.wrap(title, max(20, int(width_in * TITLE_CHARS_PER_INCH))))


def finish(fig: Figure, title: str) -> Figure:
    """Put the finding title on top of the figure, left-aligned, lay it out and draw it.

    Called inside :func:`themed`: the one drawing pass (constrained layout, ticks,
    pixels) happens now, in the house style, not later under whatever style is
    global when the figure is shown. The PNG is kept on the figure and reused by
    :func:`png_bytes` until the figure changes (drawing is most of a chart's cost:
    a report draws each figure once).
    """
    fig.suptitle(wrap_title(title, fig.get_figwidth()), x=0.01, ha="left")
    fig._salesreport_png = _render_png(fig, DPI)  # noqa: SLF001 - our own attribute
    fig.stale = False  # the PNG shows the figure as it is now (savefig's fallback marks it stale)
    return fig


#: zlib level of the PNGs: 3 compresses these flat-colour charts as well as the default 6
#: (within 1 %) in about half the time
PNG_COMPRESS_LEVEL = 3


def _render_png(fig: Figure, dpi: int) -> bytes:
    """One drawing pass to PNG bytes (RGB: the house figures are opaque white).

    ``savefig`` draws a figure with a layout engine twice (a pass to lay it out, then
    the real one); drawing the Agg canvas once lays it out and draws it in one pass, to
    the same pixels. The constrained layout fills the figure, so no tight bounding box
    is needed either. Other resolutions, and figures that are not opaque, go through
    ``savefig``.
    """
    from PIL import Image

    buf = io.BytesIO()
    if dpi != fig.dpi or fig.get_facecolor()[3] < 1:
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        return buf.getvalue()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    size = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image.convert("RGB").save(buf, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG: the drawing made by :func:`finish` while the figure is unchanged
    (any later change to an artist marks it stale), else a fresh drawing."""
    cached = getattr(fig, "_salesreport_png", None)
    if cached is not None and dpi == DPI and not fig.stale:
        return cached
    return _render_png(fig, dpi)


def value_label(ax: Axes, text: str, xy: tuple[float, float], offset: tuple[float, float], **kw):
    """A label beside a data point (``xy`` in data units), moved by ``offset`` points.

    The callers set the axis limits around the points they label, so each point is on the
    chart by construction: matplotlib's test of whether it lies inside the axes, repeated at
    every layout pass and drawing, is skipped (a tenth of a labelled bar chart's drawing).
    """
    return ax.annotate(
        text, xy, xytext=offset, textcoords="offset points", annotation_clip=False, **kw
    )


def keep_labels_inside(ax: Axes, labels: list, pad_px: float = 6.0) -> None:
    """Widen the x axis (its upper limit) so that every label placed to the right of its bar
    (:func:`value_label`, anchored at the bar's end in data units) ends inside the axes.

    The layout is worked out first (without drawing pixels), as the axes' width is known
    only then; a label's anchor moves left as the axis widens while its text keeps its
    width, so the limit is ``hi * max(f W / (W - pad - w))`` over the labels (``f`` the
    bar's share of the axis, ``W`` the axes' width, ``w`` the label's width beyond its
    anchor, all in pixels). A label wider than the axes cannot fit: the axis then stops at
    four times its length and the label is left as it is.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not labels:
        return
    fig = ax.figure
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    for _ in range(2):  # the tick labels of the new limit can move the layout a little
        fig.draw_without_rendering()
        renderer = canvas.get_renderer()
        box = ax.get_window_extent(renderer)
        lo, hi = ax.get_xlim()
        need = 1.0
        for label in labels:
            anchor = ax.transData.transform(label.xy)[0]
            beyond = label.get_window_extent(renderer).x1 - anchor
            share = (anchor - box.x0) / box.width
            room = box.width - pad_px - beyond
            need = max(need, 4.0 if room <= 0 else share * box.width / room)
        if need <= 1.0 + 1e-9:
            return
        ax.set_xlim(lo, lo + (hi - lo) * min(need, 4.0))


def legend_above(ax: Axes, ncol: int | None = None, force: bool = False, **kw) -> None:
    """A one-row legend just above the plot area, under the title; only for 2+ series
    unless ``force``."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles or (len(handles) < 2 and not force):
        return
    # "Actual" then "Target" first whatever the drawing order (bars are listed after lines)
    rank = {"Actual": 0, "Target": 1}
    pairs = sorted(zip(handles, labels, strict=True), key=lambda hl: rank.get(hl[1], 2))
    handles, labels = [h for h, _ in pairs], [lbl for _, lbl in pairs]
    ax.legend(
        handles,
        labels,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=ncol or min(len(handles), 4),
        borderaxespad=0.3,
        handlelength=1.8,
        columnspacing=1.4,
        **kw,
    )


# ---------------------------------------------------------------- input checks


def require(
    frame: pd.DataFrame | pd.Series | None, chart: str, columns: Sequence[str] = ()
) -> None:
    """Raise ``ValueError("no data for <chart>")`` on empty input, or name missing columns."""
    if frame is None or len(frame) == 0:
        raise ValueError(f"no data for {chart}")
    if isinstance(frame, pd.DataFrame):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{chart}: missing columns {missing}; pass a frame with columns "
                f"{list(columns)} (got {list(frame.columns)})"
            )


def require_values(values: pd.Series | pd.DataFrame, chart: str) -> None:
    """Raise ``ValueError("no data for <chart>")`` when every value is missing."""
    if values.size == 0 or bool(pd.isna(values).to_numpy().all()):
        raise ValueError(f"no data for {chart}")


def optional_column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """``frame[name]`` as floats, or ``None`` when absent or entirely missing."""
    if name not in frame.columns:
        return None
    col = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return None if col.isna().all() else col


def bool_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name]`` as a numpy bool array, missing as ``False``; all ``False`` when absent.

    Accepts bools, 0/1 and the text ``true``/``false`` (as read back from a CSV).
    """
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame[name]
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        text = col.astype("string").str.strip().str.lower()
        col = text.map({"true": True, "1": True, "false": False, "0": False, "": False})
    return col.astype("boolean").fillna(False).to_numpy(dtype=bool)


# ---------------------------------------------------------------- months on axes


def to_periods(values: Iterable, chart: str = "chart") -> pd.PeriodIndex:
    """Months from ``Period`` values, ``'YYYY-MM'`` (or ISO date) text or timestamps.

    Raises ``ValueError`` naming the first values that are not months.
    """
    s = pd.Series(values if isinstance(values, pd.Series | pd.Index) else list(values))
    if isinstance(s.dtype, pd.PeriodDtype):
        return pd.PeriodIndex(s).asfreq("M")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.DatetimeIndex(s).to_period("M")
    is_obj = s.map(lambda v: isinstance(v, pd.Period | pd.Timestamp)).astype(bool)
    is_text = s.astype(str).str.fullmatch(r"\d{4}-\d{2}(-\d{2})?")
    bad = ~(is_obj | is_text)
    if bad.any():
        raise ValueError(
            f"{chart}: cannot read months from {s[bad].head(3).tolist()}; "
            "give Period values or 'YYYY-MM' text"
        )
    return pd.PeriodIndex([pd.Period(v, freq="M") for v in s])


def month_label(p: pd.Period) -> str:
    """``Period('2026-10')`` -> ``"Oct 2026"`` (:func:`salesreport.words.month_label`)."""
    return words.month_label(p, "short")


def month_ticks(lo: int, hi: int, anchor: int | None = None, max_ticks: int = 8) -> list[int]:
    """Month ordinals to label between ``lo`` and ``hi``, counted back from ``anchor``.

    The step is the smallest of 1, 2, 3, 6, 12, 24 months giving at most
    ``max_ticks`` labels, so the anchor month (the report month) is always labelled.
    """
    anchor = hi if anchor is None else anchor
    n = hi - lo + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24) if math.ceil(n / s) <= max_ticks), 48)
    ticks = list(range(anchor, lo - 1, -step))[::-1] + list(range(anchor + step, hi + 1, step))
    return ticks


def month_axis(
    ax: Axes, ordinals: Sequence[int], anchor: int | None = None, label: str = "Month"
) -> None:
    """Label the x axis with months (``"Oct 2026"``) placed at Period ordinals."""
    lo, hi = int(min(ordinals)), int(max(ordinals))
    max_ticks = max(3, int(ax.get_figure().get_figwidth() * ax.get_position().width))
    ticks = month_ticks(lo, hi, anchor, max_ticks=min(9, max_ticks + 1))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _p: month_label(pd.Period(ordinal=int(round(v)), freq="M")))
    )
    ax.set_xlim(lo - 0.6, hi + 0.6)
    ax.set_xlabel(label)
    ax.grid(axis="x", visible=False)


def with_period(label: str, period_label: str | None) -> str:
    """``"Revenue (EUR)"`` + ``"Oct 2026"`` -> ``"Revenue (EUR), Oct 2026"``."""
    return f"{label}, {period_label}" if period_label else label


def figure_to_data_uri(fig: Figure, dpi: int = DPI) -> str:
    """Render ``fig`` to a PNG ``data:`` URI for HTML (``<img src=...>``) and close it."""
    data = png_bytes(fig, dpi)
    import matplotlib.pyplot as plt  # only to release figures that pyplot manages

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
