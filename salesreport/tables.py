"""The input tables of shared/spec/data-contract.md, in one place.

Every module that reads a table relies on the in-memory form fixed here, which
the loader (:mod:`salesreport.data`) guarantees after loading and validation:

* column names exactly as in the contract (lower snake case);
* ``date`` columns: ``datetime64[ns]``, naive, midnight, in the team's zone;
* ``timestamp`` columns: ``datetime64[ns]``, naive, in the team's zone;
* ``number`` columns: ``float64`` (amounts converted to the team's currency);
* ``integer`` columns: nullable ``Int64``;
* ``string`` columns: ``object`` holding ``str`` or ``None``/``NaN`` for missing;
* categorical contract values (``status``, ``type``, ``forecast_category``,
  ``role``, activity ``type``) lower case;
* ``period``/``month`` text columns (targets, spend, forecast_submissions)
  stay text (``"2026-10"``, ``"2026-Q4"``, ``"2026"``).

Unknown extra columns are kept as they were read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from salesreport.rules import CLOSED_LEAD_STATUSES  # the one list of closed lead statuses

if TYPE_CHECKING:
    import pyarrow as pa

ColumnType = Literal["string", "date", "timestamp", "number", "integer", "period", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    allowed: tuple[str, ...] | None = None  # closed set of values (lower case)
    doc: str = ""  # what the column means (docs/data-contract.md)


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # unique key column
    date_column: str | None = None  # puts a row in a period; used for point-in-time cuts
    unlocks: str = ""
    doc: str = ""  # what a row is (docs/data-contract.md)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _c(name: str, type_: ColumnType, required: bool = False, allowed=None, doc: str = "") -> Column:
    return Column(name, type_, required, tuple(allowed) if allowed else None, doc)


STATUSES = ("open", "won", "lost")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
DEAL_TYPES = ("new_business", "expansion", "renewal")

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "opportunities",
            (
                _c("opportunity_id", "string", True, doc="unique key"),
                _c("account_id", "string", True, doc="the customer (or prospect) account"),
                _c("owner_id", "string", True, doc="the account executive; `reps.rep_id`"),
                _c("created_date", "date", True, doc="when the opportunity was opened"),
                _c(
                    "close_date",
                    "date",
                    True,
                    doc="actual close date when won/lost, expected close date when open",
                ),
                _c("stage", "string", True, doc="current stage name"),
                _c("status", "string", True, STATUSES),
                _c("amount", "number", True, doc="total contract value"),
                _c("region", "string", True, doc="territory; teams usually filter on it"),
                _c("currency", "string", doc="ISO 4217 code of `amount`"),
                _c("probability", "number", doc="stage or rep probability"),
                _c("forecast_category", "string", False, FORECAST_CATEGORIES),
                _c("type", "string", False, DEAL_TYPES),
                _c("source", "string", doc="lead source / channel"),
                _c("segment", "string", doc="customer segment (SMB, mid-market, enterprise, ...)"),
                _c("product", "string", doc="product line"),
                _c("contract_months", "integer", doc="contract length, for ACV"),
                _c("lost_reason", "string"),
            ),  # fmt: skip
            key="opportunity_id",
            date_column="created_date",
            unlocks="pipeline, win rate, deal size, sales cycle, revenue when there are no orders",
            doc="One row per opportunity (deal).",
        ),
        TableSpec(
            "stage_history",
            (
                _c("opportunity_id", "string", True, doc="`opportunities.opportunity_id`"),
                _c("stage", "string", True, doc="the stage entered"),
                _c("entered_date", "date", True, doc="when it was entered"),
            ),
            date_column="entered_date",
            unlocks="stage durations, stage-to-stage conversion, bottlenecks, pipeline waterfall",
            doc="One row each time an opportunity enters a stage.",
        ),
        TableSpec(
            "leads",
            (
                _c("lead_id", "string", True, doc="unique key"),
                _c("created_date", "date", True),
                _c("source", "string", True, doc="lead source / channel"),
                _c(
                    "status",
                    "string",
                    True,
                    doc="lower-cased; `converted`, `disqualified`, `closed...` and the like close a lead",
                ),
                _c("owner_id", "string", True, doc="the SDR; `reps.rep_id`"),
                _c("region", "string", True),
                _c("converted_date", "date", doc="when converted"),
                _c("opportunity_id", "string", doc="the opportunity it became, when converted"),
                _c("segment", "string"),
            ),  # fmt: skip
            key="lead_id",
            date_column="created_date",
            unlocks="lead volume, lead conversion, lead-to-opportunity ratio, lead age, SDR funnel",
            doc="One row per lead.",
        ),
        TableSpec(
            "activities",
            (
                _c("activity_id", "string", True, doc="unique key"),
                _c("rep_id", "string", True, doc="`reps.rep_id`"),
                _c("timestamp", "timestamp", True),
                _c(
                    "type",
                    "string",
                    True,
                    doc="lower-cased; `call`, `email`, `meeting`, `linkedin`, `proposal`, or any other",
                ),
                _c("outcome", "string"),
                _c("opportunity_id", "string"),
                _c("lead_id", "string"),
                _c("account_id", "string"),
            ),  # fmt: skip
            key="activity_id",
            date_column="timestamp",
            unlocks="activity per rep, meetings booked, calls/emails/LinkedIn, proposals",
            doc="One row per call, email, meeting, ... logged by a rep.",
        ),
        TableSpec(
            "orders",
            (
                _c("order_id", "string", True, doc="unique key"),
                _c("account_id", "string", True, doc="the customer"),
                _c("order_date", "date", True),
                _c("amount", "number", True),
                _c("region", "string"),
                _c("currency", "string", doc="ISO 4217 code of `amount`"),
                _c("product", "string"),
                _c("channel", "string"),
                _c("segment", "string"),
            ),
            key="order_id",
            date_column="order_date",
            unlocks="recognised revenue, cohorts, revenue retention, CLV",
            doc="Recognised revenue / purchases, one row per order. When present, revenue, cohort "
            "retention, revenue retention and CLV are computed from it; when absent, from won "
            "opportunities (`close_date`, `amount`).",
        ),
        TableSpec(
            "accounts",
            (
                _c("account_id", "string", True, doc="unique key"),
                _c("name", "string"),
                _c("segment", "string"),
                _c("industry", "string"),
                _c("country", "string"),
                _c("region", "string"),
            ),
            key="account_id",
            unlocks="account names and segments",
            doc="One row per customer or prospect account.",
        ),
        TableSpec(
            "reps",
            (
                _c("rep_id", "string", True, doc="unique key"),
                _c("name", "string", True),
                _c("role", "string", True, doc="lower-cased; `ae`, `sdr`, `manager`, ..."),
                _c("region", "string", True),
                _c("hire_date", "date", True),
                _c("manager_id", "string"),
                _c("leave_date", "date", doc="empty while employed"),
            ),
            key="rep_id",
            date_column="hire_date",
            unlocks="sales per rep, leaderboards, rep retention, ramp time",
            doc="One row per sales rep.",
        ),
        TableSpec(
            "targets",
            (
                _c(
                    "period",
                    "period",
                    True,
                    doc="`2026-10` for a month, `2026-Q4` for a quarter, `2026` for a fiscal year",
                ),
                _c(
                    "metric",
                    "string",
                    True,
                    doc="a KPI name from the catalogue (docs/kpis.md); a row naming another metric is flagged and not used",
                ),
                _c("value", "number", True),
                _c("rep_id", "string", doc="empty = whole team"),
                _c("region", "string"),
            ),  # fmt: skip
            unlocks="targets beside actuals",
            doc="One row per target. Targets may also be given in the team's YAML; the table wins "
            "where both set the same target.",
        ),
        TableSpec(
            "spend",
            (
                _c("month", "period", True, doc="`2026-10`"),
                _c("category", "string", True, doc="`marketing`, `sales`, ..."),
                _c("amount", "number", True),
                _c("region", "string"),
            ),
            date_column="month",
            unlocks="CAC and CAC payback",
            doc="Sales and marketing spend, one row per month and category.",
        ),
        TableSpec(
            "forecast_submissions",
            (
                _c("submitted_date", "date", True),
                _c("period", "period", True, doc="the month or quarter forecast"),
                _c("category", "string", True, doc="`commit`, `best_case`, ..."),
                _c("amount", "number", True),
                _c("rep_id", "string"),
                _c("region", "string"),
            ),
            date_column="submitted_date",
            unlocks="the team's own forecast calls, scored against actuals",
            doc="The team's own forecast calls.",
        ),
    ]
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


@dataclass
class Tables:
    """The loaded tables of one team. A table that is absent is ``None``."""

    opportunities: pd.DataFrame | None = None
    stage_history: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    activities: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    accounts: pd.DataFrame | None = None
    reps: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    spend: pd.DataFrame | None = None
    forecast_submissions: pd.DataFrame | None = None
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    def get(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)

    def has(self, name: str) -> bool:
        df = getattr(self, name)
        return df is not None

    def present(self) -> list[str]:
        return [n for n in TABLE_NAMES if self.has(n)]

    def items(self):
        for n in TABLE_NAMES:
            df = getattr(self, n)
            if df is not None:
                yield n, df

    def peek(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
        """Table ``name`` for one reader that reads only ``columns`` (``None``: every column)
        and does not keep the frame: here the table itself; :class:`LazyTables` makes a table
        not made yet with those columns only, for the caller alone (not kept)."""
        return getattr(self, name)

    def rows_in(
        self, name: str, column: str, start, stop, columns: Sequence[str]
    ) -> pd.DataFrame | None:
        """The rows of table ``name`` whose ``column`` is at or after ``start`` (``None``: no
        lower bound) and before ``stop`` (a missing value is in no range), with those of
        ``columns`` the table has; the index is the rows' labels in the table. ``None`` when
        the table is absent. For a reader that needs a month of a large table: a saved
        context (a page's kernel) reads only those rows and columns from the table's file."""

        def keep(values: pd.Series) -> np.ndarray:
            kept = (values < stop).to_numpy(bool)
            return kept & (values >= start).to_numpy(bool) if start is not None else kept

        return self._rows(name, column, columns, keep)

    def rows_with(
        self, name: str, column: str, values: Iterable, columns: Sequence[str]
    ) -> pd.DataFrame | None:
        """The rows of table ``name`` whose ``column`` holds one of ``values`` (a missing value
        matches nothing), in the table's order, with those of ``columns`` the table has; the
        index is the rows' labels in the table. ``None`` when the table is absent. For a
        reader that needs a few deals' rows of a large table (the open deals' stage history):
        a saved context reads only those rows and columns from the table's file."""
        wanted = present_values(values)
        return self._rows(name, column, columns, lambda v: v.isin(wanted).to_numpy(bool))

    def _rows(
        self,
        name: str,
        column: str,
        columns: Sequence[str],
        keep: Callable[[pd.Series], np.ndarray],
    ) -> pd.DataFrame | None:
        """The rows of table ``name`` where ``keep(its column)`` is true, with those of
        ``columns`` it has (:meth:`rows_in`, :meth:`rows_with`)."""
        df = self.peek(name, list(dict.fromkeys([*columns, column])))
        if df is None:
            return None
        return df.loc[keep(df[column]), [c for c in columns if c in df.columns]]

    def parts(self, name: str, rows: int) -> Iterator[pd.DataFrame]:
        """Table ``name`` (present) as consecutive frames of at most ``rows`` rows, for a
        reader that writes it out: here the table itself, whole; :class:`LazyTables` fetches
        a table not made yet part by part, only one in memory (each on its own RangeIndex)."""
        yield getattr(self, name)

    def saved_parts(self, name: str, rows: int) -> Iterator[pa.Table] | None:
        """Table ``name`` as consecutive Arrow tables of at most ``rows`` rows, each what
        ``pyarrow.Table.from_pandas`` makes of the frame :meth:`parts` gives, made without
        the frame, for a writer of the saved context; ``None`` when the table cannot be given
        so (here: a frame is given; :class:`LazyTables`: a table not made yet can)."""
        return None

    def replace(self, **tables: pd.DataFrame | None) -> Tables:
        out = Tables(**{n: getattr(self, n) for n in TABLE_NAMES}, extra=dict(self.extra))
        for n, df in tables.items():
            setattr(out, n, df)
        return out


class LazyTables(Tables):
    """Tables made on first use: each present table's frame comes from a function, called the
    first time the table is read (``tables.orders``, ``get``, ``items``), then kept.

    ``has``/``present`` answer without making any frame; a copy (``replace``) or a pickle
    makes every frame. :func:`salesreport.data.load_tables` gives these: the tables live in
    the engine and only those a consumer reads become pandas frames. A maker called with
    ``columns`` (:meth:`peek`) makes a frame of those of them the table has.
    """

    def __init__(self, makers: dict[str, Callable[..., pd.DataFrame]]) -> None:
        super().__init__()
        object.__setattr__(self, "_makers", dict(makers))

    def __getattribute__(self, name: str):
        makers = object.__getattribute__(self, "__dict__").get("_makers")
        if makers and name in makers:  # (a maker that fails stays: the table is not absent)
            object.__setattr__(self, name, makers[name]())
            del makers[name]
        return object.__getattribute__(self, name)

    def has(self, name: str) -> bool:
        return name in self.__dict__["_makers"] or super().has(name)

    def peek(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
        makers = self.__dict__["_makers"]
        if name in makers:  # not made yet: made for the caller, not kept
            return makers[name](columns)
        return super().peek(name, columns)

    def parts(self, name: str, rows: int) -> Iterator[pd.DataFrame]:
        maker = self.__dict__["_makers"].get(name)
        if maker is not None and hasattr(maker, "parts"):  # not made yet
            return maker.parts(rows)
        return super().parts(name, rows)

    def saved_parts(self, name: str, rows: int) -> Iterator[pa.Table] | None:
        maker = self.__dict__["_makers"].get(name)
        if maker is not None and hasattr(maker, "saved_parts"):  # not made yet
            return maker.saved_parts(rows)
        return None

    def made(self) -> list[str]:
        """The tables made into frames so far."""
        makers = self.__dict__["_makers"]
        return [n for n in TABLE_NAMES if n not in makers and self.__dict__.get(n) is not None]

    def __repr__(self) -> str:
        return f"LazyTables(present={self.present()}, made={self.made()})"

    def __reduce__(self):
        return (Tables, tuple(getattr(self, n) for n in TABLE_NAMES) + (dict(self.extra),))


def present_values(values: Iterable) -> list:
    """``values`` without the missing ones (``None``, NaN, NaT), each once, in their order."""
    return [v for v in pd.unique(pd.Series(list(values), dtype=object)) if not pd.isna(v)]


def filled(s: pd.Series) -> np.ndarray:
    """True where a text value is present and not blank (an optional link such as a lead's
    ``opportunity_id``)."""
    v = s.astype(object)
    out = v.notna().to_numpy(bool)
    out[out] = (v[out].astype(str).str.strip() != "").to_numpy(bool)  # the present ones only
    return out


def closed_leads(leads: pd.DataFrame) -> np.ndarray:
    """True where a lead's status is a closed one (:data:`CLOSED_LEAD_STATUSES`, "closed*"),
    except ``converted`` with a ``converted_date``: that status is dated, so the lead counts as
    open until then (the conversion date ends its open life)."""
    codes, uniq = pd.factorize(leads["status"].to_numpy(object))
    norm = pd.Series(uniq, dtype=object).astype(str).str.strip().str.lower()
    is_closed = (norm.isin(CLOSED_LEAD_STATUSES) | norm.str.startswith("closed")).to_numpy()
    if not len(uniq):
        return np.zeros(len(leads), dtype=bool)
    ok = codes >= 0
    c = np.maximum(codes, 0)
    closed = ok & is_closed[c]
    if "converted_date" in leads.columns:
        dated = (
            ok & (norm == "converted").to_numpy()[c] & leads["converted_date"].notna().to_numpy()
        )
        closed &= ~dated
    return closed
