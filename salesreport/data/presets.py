"""Column-mapping presets: a CRM's export (Salesforce, HubSpot, Pipedrive) onto the contract.

A preset is a YAML file in ``salesreport/presets/`` (see ``salesforce.yaml``)::

    name: salesforce
    tables:
      opportunities:
        files: [Opportunity]              # file names (without extension) holding this table
        columns: {Id: opportunity_id, CloseDate: close_date, ...}   # their header -> ours
        derive:                           # value rules, applied in order after renaming
          - {rule: status_from_flags, won: IsWon, closed: IsClosed}

Rules (``derive``):

* ``status_from_flags`` (``won``, ``closed``): ``status`` is ``won`` when the
  won flag is true, ``lost`` when only the closed flag is true, else ``open``;
  unreadable flags leave ``status`` empty (the row is then dropped and counted);
* ``status_values`` / ``map_values`` (``column``, ``values``): replace values
  (case-insensitive), others kept as they are;
* ``by_status`` (``column``, ``won``, ``lost``, ``open``: lists of columns):
  the first non-blank of the listed columns for the row's status
  (Pipedrive ``close_date`` from ``won_time``/``lost_time`` or ``expected_close_date``);
* ``scale`` (``column``, ``divide_by``): a number divided (``Probability`` 0-100 -> 0-1);
* ``assume_utc`` (``columns``): times without a zone are UTC (Pipedrive), so
  they are converted to the team's zone like ``...Z`` times;
* ``keep_if_prefix`` (``column``, ``prefix``): clear ids not starting with the
  prefix (a Salesforce ``WhatId`` that is an account, not an opportunity);
* ``join`` (``column``, ``columns``, ``sep``): text of several columns joined.

The team's ``data.mapping`` (table -> {their: ours}) is applied after the
preset's renaming and wins over it for the same contract column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from salesreport.data.parse import parse_bools, parse_numbers, to_text
from salesreport.tables import TABLE_NAMES

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
RULES = (
    "status_from_flags",
    "status_values",
    "map_values",
    "by_status",
    "scale",
    "assume_utc",
    "keep_if_prefix",
    "join",
)


@dataclass(frozen=True)
class Preset:
    """A CRM's file names, header names and value rules for each contract table."""

    name: str
    files: dict[str, str] = field(default_factory=dict)  # lower-case file stem -> table
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {their: ours}
    derive: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    file_names: dict[str, list[str]] = field(default_factory=dict)  # table -> names as written

    def names_for(self, *tables: str) -> list[str]:
        """The preset's file names (as written in the YAML) for ``tables``."""
        return [n for t in tables for n in self.file_names.get(t, [])]


@cache
def load_preset(name: str) -> Preset:
    """Read and check ``salesreport/presets/<name>.yaml``."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise ValueError(f"no preset {name!r} in {PRESET_DIR} (known: {', '.join(known)})")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    files: dict[str, str] = {}
    file_names: dict[str, list[str]] = {}
    columns: dict[str, dict[str, str]] = {}
    derive: dict[str, list[dict[str, Any]]] = {}
    for table, spec in (raw.get("tables") or {}).items():
        if table not in TABLE_NAMES:
            raise ValueError(f"{path}: unknown table {table!r}")
        for f in spec.get("files", []):
            files[str(f).lower()] = table
        file_names[table] = [str(f) for f in spec.get("files", [])]
        columns[table] = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
        rules = list(spec.get("derive") or [])
        for r in rules:
            if r.get("rule") not in RULES:
                raise ValueError(f"{path}: {table}: unknown rule {r.get('rule')!r}; known: {RULES}")
        derive[table] = rules
    return Preset(str(raw.get("name", name)), files, columns, derive, file_names)


def _match_header(columns: list[str], their: str) -> str | None:
    if their in columns:
        return their
    low = their.lower()
    hits = [c for c in columns if c.lower() == low]
    return hits[0] if len(hits) == 1 else None


def rename_columns(
    df: pd.DataFrame,
    table: str,
    preset: Preset | None,
    mapping: dict[str, str] | None,
    contract: list[str],
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Rename an export's headers onto the contract.

    Order: the preset's map, then the team's ``mapping`` (which wins for the
    same contract column), then a header that only differs from a contract
    column in case or spaces (``Close Date`` -> ``close_date``). Headers match
    exactly, else case-insensitively.

    Returns ``(frame, applied {their: ours}, duplicates)`` where
    ``duplicates`` lists contract columns that two headers map onto.
    """
    user = dict(mapping or {})
    pre = dict(preset.columns.get(table, {})) if preset else {}
    user_targets = set(user.values())
    pre = {k: v for k, v in pre.items() if v not in user_targets}
    cols = list(df.columns)
    applied: dict[str, str] = {}
    for their, ours in list(pre.items()) + list(user.items()):
        hit = _match_header(cols, their)
        if hit is not None and hit not in applied:
            applied[hit] = ours
    for c in cols:
        if c in applied or c in contract:
            continue
        norm = "_".join(c.strip().lower().replace("-", " ").split())
        if norm in contract and norm not in applied.values() and norm not in cols:
            applied[c] = norm
    new = [applied.get(c, c) for c in cols]
    dupes = sorted({n for n in new if new.count(n) > 1})
    out = df.copy()
    out.columns = new
    return out, applied, dupes


def derive_sources(preset: Preset | None, table: str) -> dict[str, list[str]]:
    """Contract column -> the export columns a preset rule builds it from (for messages)."""
    out: dict[str, list[str]] = {}
    if preset is None:
        return out
    for r in preset.derive.get(table, []):
        if r["rule"] == "status_from_flags":
            out["status"] = [r["won"], r["closed"]]
        elif r["rule"] == "by_status":
            out[r["column"]] = [c for k in ("won", "lost", "open") for c in r.get(k, [])]
    return out


def apply_derive(
    df: pd.DataFrame, table: str, preset: Preset | None
) -> tuple[pd.DataFrame, list[str]]:
    """Apply the preset's value rules for ``table``; returns ``(frame, skipped rules)``.

    A rule whose source columns are missing is skipped (and named in the
    returned list, for the missing-column message).
    """
    if preset is None:
        return df, []
    out = df.copy()
    skipped: list[str] = []
    for r in preset.derive.get(table, []):
        rule = r["rule"]
        if rule == "status_from_flags":
            won, closed = r["won"], r["closed"]
            if won not in out or closed not in out:
                skipped.append(f"status from {won} and {closed}")
                continue
            w, w_bad = parse_bools(out[won])
            c, c_bad = parse_bools(out[closed])
            status = np.where(w == True, "won", np.where(c == True, "lost", "open"))  # noqa: E712
            unknown = w.isna() | (c.isna() & (w != True)) | w_bad | c_bad  # noqa: E712
            out["status"] = pd.Series(status, index=out.index, dtype=object).where(~unknown, None)
        elif rule in ("status_values", "map_values"):
            col = r.get("column", "status")
            if col not in out:
                continue
            table_map = {str(k).strip().lower(): v for k, v in r["values"].items()}
            text = to_text(out[col])
            low = text.str.lower()
            mapped = low.map(table_map)
            out[col] = mapped.where(mapped.notna(), text).astype(object)
        elif rule == "by_status":
            col = r["column"]
            if "status" not in out:
                skipped.append(f"{col} by status")
                continue
            status = to_text(out["status"]).str.lower()
            result = pd.Series(None, index=out.index, dtype=object)
            for st in ("won", "lost", "open"):
                for src in r.get(st, []):
                    if src not in out:
                        continue
                    vals = to_text(out[src]) if out[src].dtype == object else out[src]
                    take = (status == st) & result.isna() & vals.notna()
                    result[take] = vals[take]
            if col in out:
                result = result.where(result.notna(), out[col])
            out[col] = result
        elif rule == "scale":
            col = r["column"]
            if col not in out:
                continue
            vals, bad = parse_numbers(out[col])
            out[col] = (vals / float(r["divide_by"])).astype(object).where(~bad, out[col])
        elif rule == "assume_utc":
            for col in r["columns"]:
                if col not in out or out[col].dtype != object:
                    continue
                text = to_text(out[col])
                naive = text.str.contains(r"\d:\d{2}(?::\d{2})?$", regex=True, na=False)
                out[col] = text.where(~naive, text + "Z")
        elif rule == "keep_if_prefix":
            col = r["column"]
            if col not in out:
                continue
            text = to_text(out[col])
            keep = text.str.startswith(str(r["prefix"]), na=False).astype(bool)
            out[col] = text.where(keep, None)
        elif rule == "join":
            srcs = [c for c in r["columns"] if c in out]
            if not srcs or r["column"] in out:
                continue
            parts = pd.concat([to_text(out[c]).fillna("") for c in srcs], axis=1)
            sep = str(r.get("sep", " "))
            joined = parts.apply(lambda row, sep=sep: sep.join(p for p in row if p), axis=1)
            out[r["column"]] = joined.where(joined != "", None)
    return out, skipped
