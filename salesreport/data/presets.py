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
* ``join`` (``column``, ``columns``, ``sep``): text of several columns joined;
* ``status_from_stage`` (``column``: the stage, ``won``, ``lost``: stage names): ``status`` is
  ``won`` or ``lost`` when the stage (case-insensitive) is one of those, else ``open``; the
  team's ``data.stages`` (``won``/``lost``) replaces the lists. Used by the screen exports,
  which hold a stage name and no won/closed flags; an empty stage leaves ``status`` empty;
* ``key_from`` (``column``, ``from``): when the export has no ``column`` (a report without its
  ID column), the text of ``from`` (the opportunity's name): the same name gives the same key
  in every run, and two rows of one name are duplicate keys (dropped and counted);
* ``currency_prefix`` (``column``, ``currency``): an amount written with an ISO code before or
  after it (``USD 1,200.00``, ``1.200,00 EUR``) gives its number to ``column`` and its code to
  ``currency`` where that is empty or absent;
* ``default`` (``column``, ``value``): a constant when the export has no such column
  (``region`` of a screen export; the team's ``data.defaults`` wins).

A screen export's preset also lists, per table, ``detect``: header names that tell its file
(a report export is named by the user, not by the table).

The team's ``data.mapping`` (table -> {their: ours}) is applied after the
preset's renaming and wins over it for the same contract column.

The rules are SQL over the raw columns (:func:`apply_derive`), run by the engine with the
parsing (:mod:`salesreport.data.parse`); their results are text, parsed as the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from salesreport.data import parse as P
from salesreport.data.dialect import DUCKDB
from salesreport.data.parse import Raw
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
    "status_from_stage",
    "key_from",
    "currency_prefix",
    "default",
)
#: an ISO 4217 code written before or after an amount
#: an amount with an ISO code before or after it (spaces as RE2's ``\s``, written out: the
#: engines' ``\s`` differ)
#: a time of day without a zone at the end of the text (``assume_utc``)
ZONELESS_TIME_RE = r"\d:\d{2}(?::\d{2})?$"
CODE_AMOUNT_RE = r"^([A-Z]{3})[ \t\n\f\r]*(.+)$"
AMOUNT_CODE_RE = r"^(.+?)[ \t\n\f\r]*([A-Z]{3})$"


@dataclass(frozen=True)
class Preset:
    """A CRM's file names, header names and value rules for each contract table."""

    name: str
    files: dict[str, str] = field(default_factory=dict)  # lower-case file stem -> table
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {their: ours}
    derive: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    file_names: dict[str, list[str]] = field(default_factory=dict)  # table -> names as written
    detect: dict[str, list[str]] = field(default_factory=dict)  # table -> signature headers
    label: str = ""  # what the export is, for messages

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
    detect: dict[str, list[str]] = {}
    for table, spec in (raw.get("tables") or {}).items():
        if spec.get("detect"):
            detect[table] = [str(h) for h in spec["detect"]]
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
    return Preset(
        str(raw.get("name", name)), files, columns, derive, file_names, detect,
        str(raw.get("label", name)),
    )  # fmt: skip


def _match_header(columns: list[str], their: str) -> str | None:
    if their in columns:
        return their
    low = their.lower()
    hits = [c for c in columns if c.lower() == low]
    return hits[0] if len(hits) == 1 else None


def rename_columns(
    columns: list[str],
    table: str,
    preset: Preset | None,
    mapping: dict[str, str] | None,
    contract: list[str],
) -> tuple[list[str], dict[str, str], list[str]]:
    """Rename an export's headers onto the contract.

    Order: the preset's map, then the team's ``mapping`` (which wins for the
    same contract column), then a header that only differs from a contract
    column in case or spaces (``Close Date`` -> ``close_date``). Headers match
    exactly, else case-insensitively.

    Returns ``(new names, applied {their: ours}, duplicates)`` where
    ``duplicates`` lists contract columns that two headers map onto.
    """
    user = dict(mapping or {})
    pre = dict(preset.columns.get(table, {})) if preset else {}
    user_targets = set(user.values())
    pre = {k: v for k, v in pre.items() if v not in user_targets}
    cols = list(columns)
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
    return new, applied, dupes


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
        elif r["rule"] == "status_from_stage":
            out["status"] = [r.get("column", "stage")]
        elif r["rule"] == "key_from":
            out[r["column"]] = [r["from"]]
    return out


def apply_derive(
    columns: dict[str, Raw],
    table: str,
    preset: Preset | None,
    stages: dict[str, list[str]] | None = None,
) -> tuple[dict[str, Raw], list[str]]:
    """The preset's value rules for ``table`` as SQL over the raw columns (name -> :class:`Raw`);
    returns ``(columns, skipped rules)``. A rule's result replaces or adds a column; a rule
    whose source columns are missing is skipped (and named in the returned list, for the
    missing-column message). ``stages``: the team's ``data.stages`` (``won``/``lost`` lists)
    for ``status_from_stage``."""
    if preset is None:
        return columns, []
    D = next(iter(columns.values())).dialect if columns else DUCKDB
    out = dict(columns)
    skipped: list[str] = []
    for r in preset.derive.get(table, []):
        rule = r["rule"]
        if rule == "status_from_flags":
            won, closed = r["won"], r["closed"]
            if won not in out or closed not in out:
                skipped.append(f"status from {won} and {closed}")
                continue
            w, c = P.inline(P.boolean(out[won])), P.inline(P.boolean(out[closed]))
            out["status"] = Raw(
                dialect=D,
                clean=True,
                sql=f"CASE WHEN {w.value} IS NULL OR {c.bad} OR ({c.value} IS NULL AND NOT coalesce({w.value}, false)) "
                f"THEN NULL WHEN {w.value} THEN 'won' WHEN {c.value} THEN 'lost' ELSE 'open' END",
            )
        elif rule in ("status_values", "map_values"):
            col = r.get("column", "status")
            if col not in out:
                continue
            t = P.text(out[col])
            cases = " ".join(
                f"WHEN {D.lit(str(k).strip().lower())} THEN {D.lit(v)}"
                for k, v in r["values"].items()
            )
            out[col] = Raw(dialect=D, clean=True, sql=f"CASE lower({t}) {cases} ELSE {t} END")
        elif rule == "by_status":
            col = r["column"]
            if "status" not in out:
                skipped.append(f"{col} by status")
                continue
            status = f"lower({P.text(out['status'])})"
            whens = []
            for st in ("won", "lost", "open"):
                srcs = [P.text(out[src]) for src in r.get(st, []) if src in out]
                if srcs:
                    whens.append(f"WHEN {D.lit(st)} THEN coalesce({', '.join(srcs)})")
            picked = f"CASE {status} {' '.join(whens)} END" if whens else D.null(D.text_type)
            if col in out:
                picked = f"coalesce({picked}, {P.text(out[col])})"
            out[col] = Raw(dialect=D, clean=True, sql=picked)
        elif rule == "scale":
            col = r["column"]
            if col not in out:
                continue
            n = P.inline(P.number(out[col]))
            # the number's text, read back as the same number (each engine's shortest text of
            # a double reads back exactly): the value is finite, or NULL
            scaled = f"({n.value}) / {float(r['divide_by'])!r}"
            out[col] = Raw(
                dialect=D,
                clean=True,
                sql=f"CASE WHEN {n.bad} THEN {P.raw_text(out[col])} ELSE {D.text(scaled)} END",
            )
        elif rule == "assume_utc":
            for col in r["columns"]:
                if col not in out or out[col].kind != "text":
                    continue
                t = P.text(out[col])
                out[col] = Raw(
                    dialect=D,
                    clean=True,
                    sql=f"CASE WHEN {D.search(t, ZONELESS_TIME_RE)} THEN {t} || 'Z' ELSE {t} END",
                )
        elif rule == "keep_if_prefix":
            col = r["column"]
            if col not in out:
                continue
            t, prefix = P.text(out[col]), str(r["prefix"])
            out[col] = Raw(
                dialect=D,
                clean=True,
                sql=f"CASE WHEN left({t}, {len(prefix)}) = {D.lit(prefix)} THEN {t} END",
            )
        elif rule == "join":
            srcs = [c for c in r["columns"] if c in out]
            if not srcs or r["column"] in out:
                continue
            sep = D.lit(str(r.get("sep", " ")))
            parts = ", ".join(P.text(out[c]) for c in srcs)
            out[r["column"]] = Raw(
                dialect=D, clean=True, sql=f"NULLIF(concat_ws({sep}, {parts}), '')"
            )
        elif rule == "status_from_stage":
            col = r.get("column", "stage")
            if "status" in out:
                continue
            if col not in out:
                skipped.append(f"status from {col}")
                continue
            names = {k: (stages or {}).get(k) or r.get(k, []) for k in ("won", "lost")}
            t = f"lower({P.text(out[col])})"
            whens = " ".join(
                f"WHEN {t} IN ({', '.join(D.lit(str(n).strip().lower()) for n in names[k])}) "
                f"THEN {D.lit(k)}"
                for k in ("won", "lost")
                if names[k]
            )
            out["status"] = Raw(
                dialect=D,
                clean=True,
                sql=f"CASE WHEN {t} IS NULL THEN NULL {whens} ELSE 'open' END",
            )
        elif rule == "key_from":
            col, src = r["column"], r["from"]
            if col not in out and src in out:
                out[col] = Raw(dialect=D, clean=True, sql=P.text(out[src]))
        elif rule == "currency_prefix":
            col, cur = r.get("column", "amount"), r.get("currency", "currency")
            if col not in out or out[col].kind != "text":
                continue
            t = P.text(out[col])
            code = (
                f"coalesce(NULLIF({D.extract(t, CODE_AMOUNT_RE, 1)}, ''), "
                f"NULLIF({D.extract(t, AMOUNT_CODE_RE, 2)}, ''))"
            )
            number = (
                f"CASE WHEN {D.full_match(t, CODE_AMOUNT_RE)} THEN {D.extract(t, CODE_AMOUNT_RE, 2)} "
                f"WHEN {D.full_match(t, AMOUNT_CODE_RE)} THEN {D.extract(t, AMOUNT_CODE_RE, 1)} "
                f"ELSE {t} END"
            )
            given = P.text(out[cur]) if cur in out else D.null(D.text_type)
            out[cur] = Raw(dialect=D, clean=True, sql=f"coalesce({given}, {code})")
            out[col] = Raw(dialect=D, clean=True, sql=number)
        elif rule == "default" and r["column"] not in out:
            out[r["column"]] = Raw(dialect=D, clean=True, sql=D.lit(str(r["value"])))
    return out, skipped
