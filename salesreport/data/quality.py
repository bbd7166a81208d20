"""Data-quality bookkeeping: every row dropped, repaired, flagged, filtered or cut is counted.

An *issue* is one (table, action, reason) with the rows it touched. Row numbers
are spreadsheet row numbers (the header is row 1, the first data row is row 2).

Actions:

* ``dropped``: the row is removed (a bad row);
* ``repaired``: a value was changed or cleared and the row kept; a repair that
  loses or guesses information is a bad row, a pure formatting repair (case or
  spaces of a category, a whole column given on a 0-100 scale) is not;
* ``flagged``: kept as is, but something is odd (an owner not in ``reps``);
* ``filtered``: outside the team's ``filters`` (not bad);
* ``converted``: an amount converted to the team's currency (not bad);
* ``after_month``: dated after the report month, cut or reset by the
  point-in-time rule (not bad);
* ``skipped``: lines of a file that are not rows (a report's footer under the rows; not bad).

``reading`` records how a file's dates and numbers were read where the file settled it
(day or month first, a decimal comma), per table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ACTIONS = ("dropped", "repaired", "flagged", "filtered", "converted", "after_month", "skipped")
EXAMPLE_ROWS = 5


def format_rows(rows: Iterable[Any], limit: int = EXAMPLE_ROWS) -> str:
    """``[2, 5, 9, 11, 12, 40]`` -> ``"2, 5, 9, 11, 12, ..."`` (the first ``limit`` rows)."""
    if not isinstance(rows, list | tuple | np.ndarray):
        rows = list(rows)
    text = ", ".join(str(r) for r in rows[:limit])
    return text + (", ..." if len(rows) > limit else "")


@dataclass
class Issue:
    """One reason why rows of one table were touched."""

    table: str
    file: str
    action: str
    reason: str
    rows: list[Any] | np.ndarray  # an array (no Python int per row) for millions of rows
    column: str | None = None
    bad: bool = False
    fix: str = ""
    count: int | None = None  # defaults to len(rows)

    @property
    def n(self) -> int:
        return len(self.rows) if self.count is None else self.count


@dataclass
class DataQuality:
    """What loading did to each table: rows read and kept, and every issue with its rows."""

    issues: list[Issue] = field(default_factory=list)
    read: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> file, rows_read, ...
    reading: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> what -> how

    def add(
        self,
        table: str,
        file: str,
        action: str,
        reason: str,
        rows: Iterable[Any],
        *,
        column: str | None = None,
        bad: bool = False,
        fix: str = "",
        count: int | None = None,
    ) -> None:
        """Record an issue; nothing is recorded when it touched no row.

        ``rows`` given as a NumPy array or pandas Index is kept as an array (the team's
        filtered or converted rows can be millions: no Python int each); anything else
        becomes a list.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown data-quality action {action!r}; use one of {ACTIONS}")
        rows = np.asarray(rows) if isinstance(rows, np.ndarray | pd.Index) else list(rows)
        if not len(rows) and not count:
            return
        self.issues.append(Issue(table, file, action, reason, rows, column, bad, fix, count))

    def set_rows(self, table: str, file: str, rows_read: int) -> None:
        self.read[table] = {"file": file, "rows_read": int(rows_read), "rows_kept": int(rows_read)}

    def set_kept(self, table: str, rows_kept: int) -> None:
        self.read[table]["rows_kept"] = int(rows_kept)

    def bad_rows(self, table: str) -> set[Any]:
        """Row numbers of ``table`` that were dropped or repaired in a way that counts as bad."""
        out: set[Any] = set()
        for i in self.issues:
            if i.table == table and i.bad:
                out.update(i.rows)
        return out

    def for_table(self, table: str, *, bad_only: bool = False) -> list[Issue]:
        return [i for i in self.issues if i.table == table and (i.bad or not bad_only)]

    def to_frame(self) -> pd.DataFrame:
        """One row per issue: ``table, file, action, reason, count, example_rows``.

        ``example_rows`` lists the first spreadsheet rows touched (header = row 1).
        """
        cols = ["table", "file", "action", "reason", "count", "example_rows"]
        recs = [
            {
                "table": i.table,
                "file": i.file,
                "action": i.action,
                "reason": i.reason,
                "count": int(i.n),
                "example_rows": format_rows(i.rows),
            }
            for i in self.issues
        ]
        return pd.DataFrame(recs, columns=cols).astype({"count": "int64"})

    def rows(self) -> pd.DataFrame:
        """One row per table read: ``table, file, rows_read, rows_kept``."""
        cols = ["table", "file", "rows_read", "rows_kept"]
        recs = [{"table": t, **v} for t, v in self.read.items()]
        return pd.DataFrame(recs, columns=cols)

    def summary_text(self) -> str:
        """A plain-text summary for the terminal: per table rows read/kept and each issue."""
        if not self.read:
            return "No table was read."
        lines = []
        for table, info in self.read.items():
            issues = self.for_table(table)
            counts: dict[str, int] = {}
            for i in issues:
                counts[i.action] = counts.get(i.action, 0) + i.n
            extra = ", ".join(f"{n} {a.replace('_', ' ')}" for a, n in counts.items())
            lines.append(
                f"{info['file']}: {info['rows_read']} rows read, {info['rows_kept']} kept"
                + (f" ({extra})" if extra else "")
            )
            for i in issues:
                where = f" (rows {format_rows(i.rows)})" if len(i.rows) else ""
                lines.append(f"  {i.action:<11} {i.n:>6}  {i.reason}{where}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``run.json``: ``tables`` (rows read/kept), ``issues`` and, when a
        file settled how it is read, ``reading``."""
        extra = {"reading": {t: dict(v) for t, v in self.reading.items()}} if self.reading else {}
        return {
            "tables": {t: dict(v) for t, v in self.read.items()},
            "issues": [
                {
                    "table": i.table,
                    "file": i.file,
                    "action": i.action,
                    "reason": i.reason,
                    "count": int(i.n),
                    "bad": bool(i.bad),
                    "example_rows": [_plain(r) for r in i.rows[:EXAMPLE_ROWS]],
                }
                for i in self.issues
            ],
            **extra,
        }


def _plain(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        return str(v)
