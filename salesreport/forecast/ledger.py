"""The forecast ledger: every forecast the team's reports have published, kept to be scored.

A report for month ``M`` forecasts ``M+1`` onward (shared/spec/outputs.md); when it is
published, its ``forecast.csv`` rows are recorded in the ledger, a CSV file (default
``reports/<team>/forecast_ledger.csv``, decided by the pipeline) with one row per team,
report month, model and target month:

``team, made_in, model, selected, period, horizon, point, lo80, hi80, lo95, hi95``

* ``made_in``: the report month (``YYYY-MM``), the forecast's origin; only data up to the
  end of that month was used;
* ``period``: the target month (``YYYY-MM``); ``horizon = period - made_in`` in months (1 = the
  month after the report month);
* ``selected``: ``True`` for the rows of the method the report showed, ``False`` for the
  other candidates;
* ``point`` and the 80 % / 95 % bounds; a bound the forecast frame lacks is left empty.

Rules:

* Re-running a month *replaces* that team's rows for that month (idempotent): a re-run
  never duplicates forecasts, and the ledger always holds what the latest published report
  for that month said. Rows of other months and other teams are kept byte-identical.
* The file is rewritten atomically (a temporary file in the same folder, then
  :func:`os.replace`), under a hidden lock file beside it (``.<ledger name>.lock``) so two
  runs of the same team for different months cannot lose each other's rows. A failure
  mid-write leaves the old file.
* Rows are sorted stably by ``team, made_in, model, period``; floats are written with
  ``%.12g`` and ``selected`` as ``True``/``False``, so the same content is the same bytes.
* :func:`read_ledger` ignores rows made after the report month, so a report re-run for an
  old month scores only the forecasts that existed then.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salesreport.exceptions import DataError

LEDGER_COLUMNS = [
    "team",
    "made_in",
    "model",
    "selected",
    "period",
    "horizon",
    "point",
    "lo80",
    "hi80",
    "lo95",
    "hi95",
]
VALUE_COLUMNS = ["point", "lo80", "hi80", "lo95", "hi95"]
SORT_COLUMNS = ["team", "made_in", "model", "period"]
LEDGER_FLOAT_FORMAT = "%.12g"
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month_text(value: str | pd.Period, what: str) -> str:
    text = str(value)
    if not _MONTH_RE.match(text):
        raise ValueError(f"{what} {value!r} must be a month like 2026-10 (YYYY-MM)")
    return text


def empty_ledger() -> pd.DataFrame:
    """A ledger with no rows, in the in-memory form :func:`read_ledger` returns."""
    return _typed(pd.DataFrame({c: pd.Series(dtype=object) for c in LEDGER_COLUMNS}))


def ledger_rows(team: str, made_in: str | pd.Period, candidates: pd.DataFrame) -> pd.DataFrame:
    """The ledger rows (text form, as written) for one report's ``forecast.csv`` frame.

    Parameters
    ----------
    team : str
        The team's name.
    made_in : str or pandas.Period
        The report month (``YYYY-MM``): the forecast's origin.
    candidates : pandas.DataFrame
        :func:`salesreport.forecast.forecast_candidates`' frame: ``period`` (``Period[M]`` or
        ``YYYY-MM`` text), ``model``, ``selected`` (bool), ``point`` and any of ``lo80, hi80,
        lo95, hi95`` (missing bounds are left empty; bounds at other levels are not kept).

    Returns
    -------
    pandas.DataFrame
        :data:`LEDGER_COLUMNS`, ``made_in``/``period`` as ``YYYY-MM`` text, ``horizon`` int.

    Raises
    ------
    ValueError
        A required column is missing, or a row's ``period`` is not after ``made_in`` (a
        forecast made in month M covers M+1 onward), or a (model, period) pair repeats.
    """
    made = _month_text(made_in, "made_in")
    missing = [c for c in ("period", "model", "selected", "point") if c not in candidates.columns]
    if missing:
        raise ValueError(
            f"forecast frame for the ledger lacks the columns {missing}; pass the frame "
            "returned by salesreport.forecast.forecast_candidates"
        )
    period = pd.PeriodIndex(candidates["period"].astype(str), freq="M")
    horizon = (period - pd.Period(made, "M")).map(lambda d: d.n).to_numpy()
    bad = candidates.index[horizon < 1]
    if len(bad):
        raise ValueError(
            f"forecast rows {list(bad[:5])} target months on or before the report month {made}; "
            "a forecast made in month M covers M+1 onward"
        )
    dup = candidates.duplicated(["model", "period"], keep=False)
    if dup.any():
        raise ValueError(
            f"forecast rows {list(candidates.index[dup][:5])} repeat a (model, period) pair; "
            "the ledger holds one row per model and target month"
        )
    out = pd.DataFrame(
        {
            "team": team,
            "made_in": made,
            "model": candidates["model"].astype(str).to_numpy(),
            "selected": candidates["selected"].astype(bool).to_numpy(),
            "period": period.astype(str),
            "horizon": horizon.astype(int),
        }
    )
    for col in VALUE_COLUMNS:
        out[col] = (
            pd.to_numeric(candidates[col], errors="raise").astype(float).to_numpy()
            if col in candidates.columns
            else float("nan")
        )
    return out[LEDGER_COLUMNS]


def _read_raw(path: Path, columns: list[str] = LEDGER_COLUMNS) -> pd.DataFrame:
    """The ledger file as text columns (values untouched), checked for its columns."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path}: the forecast ledger lacks the columns {missing}. Restore it from a backup "
            "or move it aside to start a new ledger (past forecasts are then no longer scored).",
            problems=[
                {
                    "file": str(path),
                    "column": c,
                    "rows": [],
                    "reason": "missing column",
                    "fix": "restore the ledger or move it aside",
                }
                for c in missing
            ],
        )
    return raw[columns]


def _format(rows: pd.DataFrame) -> pd.DataFrame:
    """Text form of new rows, with the ledger's fixed float format."""
    out = rows.copy()
    for col in VALUE_COLUMNS:
        out[col] = out[col].map(lambda v: "" if pd.isna(v) else LEDGER_FLOAT_FORMAT % v)
    out["selected"] = out["selected"].map(lambda v: "True" if v else "False")
    out["horizon"] = out["horizon"].astype(int).astype(str)
    return out.astype(str)


def write_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (text columns) as CSV to ``path`` via a temporary file and :func:`os.replace`.

    The temporary file lives in the same folder (same file system), is flushed and synced
    before the rename, and is removed if anything fails; the old file is then untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False, lineterminator="\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def record_forecasts(
    ledger_path: str | Path, team: str, made_in: str | pd.Period, candidates_frame: pd.DataFrame
) -> LedgerUndo:
    """Record one report's forecasts in the ledger, replacing any earlier run of that month.

    Parameters
    ----------
    ledger_path : str or Path
        The ledger CSV; created (with its folder) when absent.
    team : str
        The team; rows of other teams in the same file are kept as they are.
    made_in : str or pandas.Period
        The report month ``YYYY-MM`` (the forecasts' origin).
    candidates_frame : pandas.DataFrame
        The report's ``forecast.csv`` frame (see :func:`ledger_rows`).

    Notes
    -----
    The team's rows with ``made_in`` equal to this month are dropped and the new ones added;
    the result is sorted stably by ``team, made_in, model, period`` and written atomically
    under the hidden lock file ``.<ledger name>.lock``. Existing rows are carried over as text, byte for byte.
    Returns what :func:`undo_record` needs to put the ledger back as it was (a run that fails
    after recording, at publishing, leaves the ledger unchanged).
    """
    made = _month_text(made_in, "made_in")
    new = _format(ledger_rows(team, made, candidates_frame))
    return replace_month(ledger_path, team, made, new, LEDGER_COLUMNS, SORT_COLUMNS)


def replace_month(
    path: str | Path,
    team: str,
    made_in: str,
    new: pd.DataFrame,
    columns: list[str],
    sort: list[str],
) -> LedgerUndo:
    """Put ``new`` (text rows) in the ledger CSV at ``path`` in place of the team's rows made in
    ``made_in``: other rows are kept byte for byte, the result sorted stably by ``sort`` and
    written atomically under the hidden lock file ``.<name>.lock``. Returns what
    :func:`undo_record` needs to put the file back as it was."""
    from filelock import FileLock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(_lock_path(path)):
        existed = path.exists()
        previous = new.iloc[0:0]
        if existed:
            old = _read_raw(path, columns)
            mine = (old["team"] == team) & (old["made_in"] == made_in)
            previous = old[mine]
            combined = pd.concat([old[~mine], new], ignore_index=True)
        else:
            combined = new
        combined = combined.sort_values(sort, kind="stable").reset_index(drop=True)
        write_atomic(combined, path)
    return LedgerUndo(path, team, made_in, existed, previous, list(columns), list(sort))


def _blank_missing(text: pd.Series) -> pd.Series:
    """Empty ledger cells as missing (``mask``, not ``replace``: pandas warns that
    ``replace`` will stop downcasting a column left all missing)."""
    return text.mask(text == "")


def _typed(raw: pd.DataFrame, source: str = "ledger") -> pd.DataFrame:
    """Text ledger rows -> in-memory types (months as ``Period[M]``, floats, bool, int)."""
    out = raw.copy()
    try:
        out["made_in"] = pd.PeriodIndex(out["made_in"].astype(str), freq="M")
        out["period"] = pd.PeriodIndex(out["period"].astype(str), freq="M")
        out["horizon"] = pd.to_numeric(out["horizon"], errors="raise").astype(int)
        for col in VALUE_COLUMNS:
            out[col] = pd.to_numeric(_blank_missing(out[col]), errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{source}: a ledger row has an unreadable month or number ({exc}). Fix or remove "
            "that row; months are YYYY-MM, numbers plain decimals."
        ) from exc
    sel = out["selected"].astype(str).str.lower()
    bad = ~sel.isin(["true", "false"])
    if bad.any():
        raise DataError(
            f"{source}: column 'selected' must be True or False; rows {list(out.index[bad][:5] + 2)} "
            "(1-based, header on row 1) are not. Fix those rows."
        )
    out["selected"] = sel == "true"
    return out[LEDGER_COLUMNS]


def with_month(
    ledger: pd.DataFrame | None, team: str, made_in: str | pd.Period, candidates: pd.DataFrame
) -> pd.DataFrame:
    """``ledger`` (:func:`read_ledger`'s frame) as it will be once this report's forecasts are
    recorded: its rows of ``made_in`` replaced by ``candidates``' (in memory, nothing written)."""
    made = _month_text(made_in, "made_in")
    new = _typed(_format(ledger_rows(team, made, candidates)))
    if ledger is None or ledger.empty:
        return new
    old = ledger[ledger["made_in"].astype(str) != made]
    return pd.concat([old, new], ignore_index=True)


def read_ledger(path: str | Path, team: str, as_of_month: str | pd.Period) -> pd.DataFrame:
    """The team's ledger rows made on or before ``as_of_month``.

    Parameters
    ----------
    path : str or Path
        The ledger CSV. A missing file is an empty ledger (no forecast recorded yet).
    team : str
        Only this team's rows are returned.
    as_of_month : str or pandas.Period
        The report month: rows with ``made_in`` after it are ignored (they did not exist yet
        when that month's report was first made).

    Returns
    -------
    pandas.DataFrame
        :data:`LEDGER_COLUMNS`; ``made_in`` and ``period`` as ``Period[M]``, ``horizon`` int,
        ``selected`` bool, values float (NaN where empty), in the file's (sorted) order.
    """
    as_of = pd.Period(_month_text(as_of_month, "as_of_month"), "M")
    path = Path(path)
    if not path.exists():
        return empty_ledger()
    raw = _read_raw(path)
    raw = raw[raw["team"] == team]
    out = _typed(raw, source=str(path))
    return out[out["made_in"] <= as_of].reset_index(drop=True)


@dataclass(frozen=True)
class LedgerUndo:
    """How to put a ledger back as it was before :func:`replace_month` (a forecast or a target
    ledger): the team's rows of that month as they were (text), and whether the file
    existed."""

    path: Path
    team: str
    made_in: str
    existed: bool
    previous: pd.DataFrame
    columns: list[str]
    sort: list[str]


def _lock_path(path: Path) -> str:
    return str(path.with_name(f".{path.name}.lock"))


def undo_record(undo: LedgerUndo) -> None:
    """Put back the team's rows of the month as they were before the record; rows other runs
    (other teams, other months) wrote since are kept. A ledger the record created and that
    holds nothing else is removed. With nothing changed since, the file is byte-identical to
    the one before the record."""
    from filelock import FileLock

    path = undo.path
    with FileLock(_lock_path(path)):
        if not path.exists():
            return
        now = _read_raw(path, undo.columns)
        mine = (now["team"] == undo.team) & (now["made_in"] == undo.made_in)
        rest = now[~mine]
        if not undo.existed and rest.empty:
            path.unlink()
            return
        combined = pd.concat([rest, undo.previous], ignore_index=True)
        combined = combined.sort_values(undo.sort, kind="stable").reset_index(drop=True)
        write_atomic(combined, path)


# --------------------------------------------------------------------------- target chances
#: Columns of the target ledger (``target_ledger.csv`` beside the forecast ledger).
CHANCE_LEDGER_COLUMNS = [
    "team",
    "made_in",
    "period",
    "kind",
    "first_month",
    "last_month",
    "target",
    "chance",
    "expected",
    "lo80",
    "hi80",
]
_CHANCE_VALUES = ["target", "chance", "expected", "lo80", "hi80"]


def chance_ledger_path(ledger_path: str | Path) -> Path:
    """The target ledger that goes with a forecast ledger: ``target_ledger.csv`` beside it."""
    return Path(ledger_path).with_name("target_ledger.csv")


def record_chances(
    path: str | Path, team: str, made_in: str | pd.Period, chances: pd.DataFrame
) -> LedgerUndo:
    """Record one report's target chances (:func:`salesreport.forecast.targets.target_chances`),
    replacing any earlier run of that month, with the same rules as :func:`record_forecasts`
    (one row per period; ``%.12g`` floats, empty where there is no target)."""
    made = _month_text(made_in, "made_in")
    new = pd.DataFrame({"team": team, "made_in": made}, index=range(len(chances)))
    for col in CHANCE_LEDGER_COLUMNS[2:]:
        vals = chances[col].to_numpy() if len(chances) else []
        if col in _CHANCE_VALUES:
            new[col] = ["" if pd.isna(v) else LEDGER_FLOAT_FORMAT % float(v) for v in vals]
        else:
            new[col] = [str(v) for v in vals]
    return replace_month(
        path,
        team,
        made,
        new.astype(str),
        CHANCE_LEDGER_COLUMNS,
        ["team", "made_in", "kind", "period"],
    )


def read_chances(path: str | Path, team: str, as_of_month: str | pd.Period) -> pd.DataFrame:
    """The team's recorded target chances made on or before ``as_of_month`` (empty when none);
    values as floats (NaN where empty), months as text."""
    as_of = _month_text(as_of_month, "as_of_month")
    path = Path(path)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CHANCE_LEDGER_COLUMNS})
    raw = _read_raw(path, CHANCE_LEDGER_COLUMNS)
    raw = raw[(raw["team"] == team) & (raw["made_in"] <= as_of)].copy()
    for col in _CHANCE_VALUES:
        raw[col] = pd.to_numeric(_blank_missing(raw[col]), errors="coerce")
    return raw.reset_index(drop=True)
