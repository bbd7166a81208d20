"""Helpers for the data-layer tests: tiny tables written to a folder, team parameters.

Imported by ``tests/test_data_*.py`` (not a pytest ``conftest.py``: the lead owns that one).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from salesreport.params import TeamParams, validate_params

OPP_HEADER = [
    "opportunity_id",
    "account_id",
    "owner_id",
    "created_date",
    "close_date",
    "stage",
    "status",
    "amount",
    "region",
]


def opp(oid: str, created: str, close: str, status: str, amount: Any, **kw: Any) -> dict[str, Any]:
    """One opportunity row with sensible defaults (account A-<id>, owner R1, region DE)."""
    row = {
        "opportunity_id": oid,
        "account_id": kw.pop("account_id", f"A-{oid}"),
        "owner_id": kw.pop("owner_id", "R1"),
        "created_date": created,
        "close_date": close,
        "stage": kw.pop("stage", "Closed Won" if status == "won" else "Proposal"),
        "status": status,
        "amount": amount,
        "region": kw.pop("region", "DE"),
    }
    row.update(kw)
    return row


def base_opportunities(n: int = 20) -> list[dict[str, Any]]:
    """``n`` clean opportunities created in 2026, closed or expected in 2026-01..2026-09.

    Row i (0-based, spreadsheet row i + 2): O<i>, amount 1000 * (i + 1), won when
    i is even, lost when i % 4 == 1, open when i % 4 == 3.
    """
    rows = []
    for i in range(n):
        status = "won" if i % 2 == 0 else ("lost" if i % 4 == 1 else "open")
        m = i % 9 + 1
        rows.append(opp(f"O{i}", f"2026-{m:02d}-01", f"2026-{m:02d}-20", status, 1000 * (i + 1)))
    return rows


def csv_text(rows: list[dict[str, Any]], header: list[str] | None = None, sep: str = ",") -> str:
    header = header or list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, delimiter=sep, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in header})
    return buf.getvalue()


def write_csv(
    folder: Path,
    name: str,
    rows: list[dict[str, Any]] | str,
    *,
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    """Write ``rows`` (dicts, or raw CSV text) as ``folder/name`` (``name`` with extension)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = rows if isinstance(rows, str) else csv_text(rows)
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = folder / name
    path.write_bytes(data)
    return path


def make_folder(tmp_path: Path, **tables: list[dict[str, Any]] | str) -> Path:
    """A data folder with one CSV per keyword: ``make_folder(tmp_path, opportunities=rows)``."""
    folder = tmp_path / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        write_csv(folder, f"{name}.csv", rows)
    return folder


def make_params(**kw: Any) -> TeamParams:
    """Team parameters for team ``t`` (UTC, EUR) with overrides."""
    return validate_params({"team": "t", **kw})
