"""Charts about people and goals: the OKR scorecard."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from salesreport.charts.formatting import fmt_grade
from salesreport.charts.theme import (
    STATUS_COLOURS,
    finish,
    new_figure,
    require,
    require_values,
    themed,
    value_label,
)


def _status(grade: float, bands: tuple[float, float]) -> str:
    green, yellow = bands
    if np.isnan(grade):
        return "none"
    return "green" if grade >= green else "yellow" if grade >= yellow else "red"


def okr_scorecard(
    frame: pd.DataFrame,
    title: str = "OKR scorecard",
    bands: tuple[float, float] = (0.7, 0.4),
) -> Figure:
    """Key results as horizontal bars on a 0-1 grade scale, coloured green/yellow/red.

    ``frame``: ``objective``, ``key_result``, ``grade`` (0-1) and ``status``
    (``green``/``yellow``/``red``; ``amber`` reads as yellow). The status column
    wins (it knows the "committed is green only at 1.0" rule); where it is
    missing it is derived from ``bands`` = (green from, yellow from). A row whose
    ``key_result`` is empty is the objective's own grade, drawn as its header
    bar; otherwise the objective is a bold header line. Bands are marked with
    dotted lines; every bar carries its grade and status in words; a key result
    without a grade reads "— no data".
    """
    chart = "okr_scorecard"
    require(frame, chart, ["objective", "key_result", "grade"])
    grade = pd.to_numeric(frame["grade"], errors="coerce").astype(float)
    require_values(grade, chart)
    df = pd.DataFrame(
        {
            "objective": frame["objective"].astype(str).to_numpy(),
            "kr": frame["key_result"].where(frame["key_result"].notna(), "").astype(str).to_numpy(),
            "grade": grade.clip(0, 1).to_numpy(),
            "status": (
                frame["status"].astype("string").str.lower().replace({"amber": "yellow"})
                if "status" in frame.columns
                else pd.Series(pd.NA, index=frame.index, dtype="string")
            ).to_numpy(),
        }
    )
    derived = [_status(g, bands) for g in df["grade"]]
    df["status"] = [
        s if isinstance(s, str) and s in STATUS_COLOURS else d
        for s, d in zip(df["status"], derived, strict=True)
    ]
    rows: list[tuple[str, float, str, bool]] = []  # label, grade, status, is_header
    for objective in dict.fromkeys(df["objective"]):
        part = df[df["objective"] == objective]
        own = part[part["kr"].str.strip() == ""]
        if len(own):
            rows.append((objective, own["grade"].iloc[0], own["status"].iloc[0], True))
        else:
            rows.append((objective, np.nan, "none", True))
        for kr in part[part["kr"].str.strip() != ""].itertuples():
            rows.append((kr.kr, kr.grade, kr.status, False))
    n = len(rows)
    with themed():
        fig, ax = new_figure(height=min(max(2.8, 0.42 * n + 1.4), 13))
        y = np.arange(n)[::-1]
        for yi, (_label, g, status, header) in zip(y, rows, strict=True):
            if np.isnan(g):
                if not header:  # a key result that cannot be graded yet
                    value_label(
                        ax,
                        "— no data",
                        (0, yi),
                        (5, 0),
                        va="center",
                        fontsize=9,
                        color="#666666",
                    )
                continue
            ax.barh(
                yi,
                g,
                height=0.7 if header else 0.56,
                color=STATUS_COLOURS.get(status, "#bbbbbb"),
                edgecolor="#444444" if header else "none",
                lw=0.8,
                zorder=2,
            )
            value_label(
                ax,
                f"{fmt_grade(g)} · {status}",
                (g, yi),
                (5, 0),
                va="center",
                fontsize=9,
                fontweight="bold" if header else "normal",
                color="#333333",
            )
        labels = [
            "\n".join(textwrap.wrap(lbl, 34 if h else 38))
            if h
            else "   " + textwrap.shorten(lbl, 38)
            for lbl, _g, _s, h in rows
        ]
        ax.set_yticks(y, labels)
        for tick, (_l, _g, _s, header) in zip(ax.get_yticklabels(), rows, strict=True):
            tick.set_fontweight("bold" if header else "normal")
            tick.set_horizontalalignment("right")
        green, yellow = bands
        for edge in (yellow, green):
            ax.axvline(edge, color="#888888", lw=0.9, ls=":", zorder=1)
        ax.set_xlim(0, 1.22)
        ax.set_xticks([0, yellow, green, 1.0])
        ax.xaxis.set_major_formatter(lambda v, _p: f"{v:.1f}")
        ax.set_xlabel("Grade (0 = baseline, 1 = target met)")
        ax.grid(axis="y", visible=False)
        ax.set_ylim(-0.6, n - 0.4)
        handles = [
            Patch(color=STATUS_COLOURS["green"], label=f"Green (≥ {green:.1f})"),
            Patch(color=STATUS_COLOURS["yellow"], label=f"Yellow ({yellow:.1f}–{green:.1f})"),
            Patch(color=STATUS_COLOURS["red"], label=f"Red (< {yellow:.1f})"),
        ]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3)
        return finish(fig, title)
