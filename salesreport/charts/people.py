"""Charts about people and goals: the OKR scorecard."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from salesreport import words
from salesreport.charts.formatting import fmt_grade
from salesreport.charts.theme import (
    STATUS_COLOURS,
    TARGET,
    finish,
    new_figure,
    require,
    require_values,
    themed,
    value_label,
)
from salesreport.words import STATUS_WORDS


def okr_scorecard(frame: pd.DataFrame, title: str = "OKR scorecard") -> Figure:
    """Key results as horizontal bars on a 0-1 grade scale, coloured by status.

    ``frame``: ``objective``, ``key_result``, ``grade`` (0-1), and optionally ``status``
    (``green``/``amber``/``red``, the one rule of :mod:`salesreport.status`; grey without
    one) and ``due`` (the share of the target due by now: a tick marks it on each bar
    where it is below 1). A row whose ``key_result`` is empty is the objective's own
    grade, drawn as its header bar; otherwise the objective is a bold header line. Every
    bar carries its grade and status in words (``0.86 · at risk``); a key result without a
    grade reads "— no data".
    """
    chart = "okr_scorecard"
    require(frame, chart, ["objective", "key_result", "grade"])
    grade = pd.to_numeric(frame["grade"], errors="coerce").astype(float)
    require_values(grade, chart)
    status = (
        frame["status"].where(frame["status"].isin(list(STATUS_WORDS)), "none")
        if "status" in frame.columns
        else pd.Series("none", index=frame.index)
    )
    due = (
        pd.to_numeric(frame["due"], errors="coerce").astype(float)
        if "due" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    df = pd.DataFrame(
        {
            "objective": frame["objective"].astype(str).to_numpy(),
            "kr": frame["key_result"].where(frame["key_result"].notna(), "").astype(str).to_numpy(),
            "grade": grade.clip(0, 1).to_numpy(),
            "status": status.astype(str).to_numpy(),
            "due": due.to_numpy(),
        }
    )
    rows: list[tuple[str, float, str, float, bool]] = []  # label, grade, status, due, header
    for objective in dict.fromkeys(df["objective"]):
        part = df[df["objective"] == objective]
        own = part[part["kr"].str.strip() == ""]
        if len(own):
            r = own.iloc[0]
            rows.append((objective, r["grade"], r["status"], r["due"], True))
        else:
            rows.append((objective, np.nan, "none", np.nan, True))
        for kr in part[part["kr"].str.strip() != ""].itertuples():
            rows.append((kr.kr, kr.grade, kr.status, kr.due, False))
    n = len(rows)
    with themed():
        fig, ax = new_figure(height=min(max(2.8, 0.42 * n + 1.4), 13))
        y = np.arange(n)[::-1]
        ticked = False
        for yi, (_label, g, st, d, header) in zip(y, rows, strict=True):
            if np.isnan(g):
                if not header:  # a key result that cannot be graded yet
                    value_label(
                        ax, "— no data", (0, yi), (5, 0), va="center", fontsize=9, color="#666666"
                    )
                continue
            height = 0.7 if header else 0.56
            ax.barh(
                yi,
                g,
                height=height,
                color=STATUS_COLOURS.get(st, "#bbbbbb"),
                edgecolor="#444444" if header else "none",
                lw=0.8,
                zorder=2,
            )
            if not np.isnan(d) and d < 1:  # where the key result should be by now
                ax.plot([d, d], [yi - height / 2 - 0.08, yi + height / 2 + 0.08],
                        color=TARGET, lw=2, zorder=3, solid_capstyle="butt")  # fmt: skip
                ticked = True
            word = STATUS_WORDS.get(st, "no status")
            value_label(
                ax,
                f"{fmt_grade(g)} · {word}",
                (max(g, d if not np.isnan(d) and d < 1 else 0), yi),
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
            for lbl, _g, _s, _d, h in rows
        ]
        ax.set_yticks(y, labels)
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            tick.set_fontweight("bold" if row[4] else "normal")
            tick.set_horizontalalignment("right")
        ax.set_xlim(0, 1.28)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.xaxis.set_major_formatter(lambda v, _p: f"{v:.2f}".rstrip("0").rstrip("."))
        ax.set_xlabel("Grade (0 = baseline, 1 = target met)")
        ax.grid(axis="y", visible=False)
        ax.set_ylim(-0.6, n - 0.4)
        handles = [
            Patch(color=STATUS_COLOURS[s], label=words.sentence(w)) for s, w in STATUS_WORDS.items()
        ]
        if ticked:
            handles.append(Line2D([], [], color=TARGET, lw=2, label="Where it should be by now"))
        # the long key-result names narrow the plot: four entries in one row ran past the
        # figure's right edge (EMEA's executive page), so two rows of two
        ncol = len(handles) if len(handles) < 4 else 2
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=ncol)
        return finish(fig, title)
