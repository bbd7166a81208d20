"""Write ``docs/data-contract.md`` from the schemas in code: ``python -m salesreport.data.docs``.

The page is generated, never edited by hand; a test checks that it is current. What it says
comes from the code that applies it: the tables and columns (:data:`salesreport.tables.TABLES`),
the accepted forms of values (:mod:`salesreport.data.parse`), the checks
(:mod:`salesreport.data.validate`), the team filters (:data:`salesreport.data.load.FOLLOW`), the
point-in-time cut (:mod:`salesreport.data.pit`), the reading rules
(:mod:`salesreport.data.read`) and the presets (``salesreport/presets/*.yaml``).
"""

from __future__ import annotations

import re
from pathlib import Path

INTRO = """\
# Input data contract

<!-- Generated from the schemas in code by `python -m salesreport.data.docs`: edit those, not
this page (a test checks that it is current). -->

The suite reads one folder (or one SQL source) holding the tables below, one
file per table: {formats}. At least one of `opportunities` and
`orders` must be there; every other table unlocks more of the report, and a
section whose table is missing says so in the report instead of failing (a
retail team with orders alone still gets revenue, trends, cohorts, customer
value and forecasts).

Column names are lower snake case. Dates are ISO 8601 (`2026-10-31`);
timestamps may carry a time zone and are converted to the team's zone.
Amounts are plain numbers in the row's `currency` (or the team's default
currency when the column is absent). Unknown extra columns are kept and
ignored. A column-mapping block in the team's YAML renames a CRM export's
own headers (Salesforce, HubSpot, Pipedrive) onto these names.
"""

RULES = """\
## Rules that hold for every table
- A report for month M uses only rows dated on or before the last day of M:
  re-running an old month reproduces what was knowable then.
- Bad rows never vanish silently: every row dropped or repaired is counted,
  reasons given, in the report's data-quality section and in `run.json`.
- A missing required column, an unreadable file or a table that fails its
  checks stops the run with an error that names the file, the column, the
  first offending rows and what to do; nothing is published.
"""

ENGINES = """\
## Where the tables come from, and which engine computes

The team's YAML names the source and, optionally, the engine:

```yaml
engine: duckdb        # the default, embedded; or postgres, or spark
data:
  path: /srv/exports/emea          # a folder of files (duckdb and spark)
  # or, for a database:
  sql:
    url_env: CRM_URL               # the environment variable holding the URL; never the URL itself
    tables: {opportunities: crm.opportunities, orders: "select * from billing.orders"}
  # or, with engine: spark, the Spark session's own tables (no url_env):
  sql:
    tables: {opportunities: lake.crm.opportunities, orders: "select * from parquet.`s3a://bucket/orders`"}
```

- **Reading.** Files are read by an embedded DuckDB, and so are a database's tables
  (`sqlite:///path` through the standard library, `postgresql://` through psycopg in a
  read-only transaction, any other URL through SQLAlchemy and its driver, not tested): the
  checks, the team filters, the currency conversion and the point-in-time cut above are
  queries on it, the same for every source and every engine, so a table read from a
  database is checked, counted and reported exactly as the same rows in a file. A table
  given by name (`crm.opportunities`) is read with `SELECT *`; anything else is run as the
  query. Rows keep the order the query returns, the order that breaks ties such as "the
  later row": give the query an `ORDER BY` when that matters. The rows that messages and the
  data-quality section name are numbered as in a file with its header row: the query's
  first row is row 2. PostgreSQL writes a query's rows as CSV text (`COPY ... TO STDOUT`)
  that the embedded database reads with each column's type (text, integers, floats and
  `numeric` as floats, booleans, dates, timestamps with or without zone; any other type, and
  other databases: fetched 50,000 rows at a time, from a cursor in the server), never the
  whole table as rows in the process (`--all-teams` keeps each table as compact Arrow
  columns until every team has read it); the values and their types are what the whole
  result read through the driver would give: a NaN is a missing number, a column without
  any value is text. In a report run the embedded database is a file in the run's work
  folder, so large tables are kept on disk.
- **`engine: postgres` with `data.sql`**: the numbers are computed in the PostgreSQL
  server `data.sql.url_env` names (or `engine: {kind: postgres, url_env: OTHER}`): the
  checked tables are put in temporary tables of the run's session (gone when it ends), every
  KPI, cohort and revenue query runs there, and only results come back (so the engine's user
  needs a server that takes writes and the `TEMPORARY` privilege, every user's by default: a
  standby or a read-only user is refused when the run connects; with the default engine such
  a server is only read). What is not done
  yet: the rows are read once through the process for the checks above, and written back
  into the session; the checks themselves do not yet run in the server.
- **`engine: spark`** with `data.path` or `data.sql`: the same tables, checked as above, in
  a Spark session (local unless the YAML names a master URL), every query run by Spark.
  A local session reads the checked tables from Parquet files in a temporary folder; a
  cluster's executors, which cannot read the report's machine, from `engine.staging` when
  it is set (a folder they all read, `hdfs://...`, `s3a://...` or `file:///...` on shared
  storage: each table's file is moved into a folder of the run's own there, removed when
  the run ends), else through the driver, which then holds every table.
  `data.path` (or `--data`) may be any folder the cluster reads, given by URI
  (`hdfs://namenode/exports/emea`, `s3a://bucket/emea`, `abfss://...`, `gs://...`): the
  report's machine reads it through Spark's own filesystems, with the settings the cluster
  uses (`engine.options`, such as `spark.jars.packages` for a connector and
  `spark.hadoop.fs.s3a.*`; credentials from Spark's environment: a URI holding them is
  refused). Each table file there
  (`NAME.csv`, `.csv.gz`, `.parquet`, `.xlsx`, a `.zip` export) is copied into the run's
  work folder, read and checked as a local folder's file is (the same messages, which name
  the URI), and removed after the load (`--all-teams` copies it once for every team reading
  it); `run.json` names each table's file by its URI. Only
  engine `spark` reads a folder given by URI; another engine stops with exit 2 saying so.
- **`engine: spark` with `data.sql` and no `url_env`**: `data.sql.tables` are the Spark
  session's own: tables and views of its catalog (`crm.opportunities`,
  `catalog.crm.opportunities`; a Hive metastore or another catalog is set up with
  `engine.options`) or any query Spark runs (``select * from parquet.`s3a://...` ``). Each result
  comes to the report's machine as Arrow columns (the driver holds it: raise
  `spark.driver.maxResultSize`, 1 GB by default, for large tables) or, with
  `engine.staging`, as Parquet files the executors write there (copied in the query's order,
  read a batch at a time, then removed: the driver never holds the table), and is checked as above,
  with the types Spark gives (`DATE`, numbers and decimals, a `TIMESTAMP` as an instant
  moved to the team's zone, a `TIMESTAMP_NTZ` as a local time); the checked tables then go
  back to the session, where every query runs. A name the catalog lacks, or a query that
  fails or returns no rows, stops the run naming the table and its `data.sql.tables` line.
- Every engine gives the same output files for the same data: floats within a relative
  1e-9, everything else identical.
- The URL, and any password in it, never appears in `run.json`, a log, an
  executed notebook, the HTML or an error message.
"""


SCREEN_EXPORTS = """\
The CRMs' own screen exports (`salesforce_report`, `hubspot_export`, `pipedrive_export`) are
separate presets from the API and Data Export ones (`salesforce`, `hubspot`, `pipedrive`):
their headers are the fields' labels, not their API names, and nothing in the file says
which export it is but its header. They name things rather than number them:

- where the export has no id column, the key is the record's name (`Opportunity Name`,
  `Deal Name`, `Deal - Title`): the same name gives the same key in every run; two rows of one
  name are a duplicate key (the second dropped and counted: add the ID column to the export);
- `owner_id` is the owner's name and `account_id` the account's (company's, organization's)
  name; `reps` and `accounts` tables, when given, are matched on those names;
- `status` comes from the stage for Salesforce reports and HubSpot (`Closed Won` -> won,
  `Closed Lost` -> lost, every other stage open), from `Deal - Status` for Pipedrive; a
  pipeline with stages of its own names sets `data.stages: {won: [...], lost: [...]}`;
- `region` is rarely an export column: without one, the preset fills it with `all`, so a team
  that filters on nothing runs with `preset:` alone. A team that filters on `region` adds the
  line `defaults: {region: DE}` under `data:` (every row of the export is the team's), or
  maps the export's column that holds it (`mapping: {opportunities: {Sales Territory:
  region}}`); a filter on a column only the preset fills stops the run naming that line.
  `data.defaults` gives any contract column a constant where the files lack it.
"""


def _section(doc: str | None, start: str, stop: str | None) -> str:
    """The part of a module docstring from the line starting with ``start`` up to the line
    starting with ``stop`` (excluded)."""
    text = doc or ""
    i = text.index(start)
    j = text.index(stop, i) if stop else len(text)
    return text[i:j].strip()


def _rst_to_md(text: str) -> str:
    """The docstrings' reStructuredText literals and references as Markdown."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _type_words(table: str, col) -> str:
    from salesreport.data.validate import REPAIRED_VALUES, VALUE_CHECKS

    if col.allowed:
        return " / ".join(f"`{a}`" for a in col.allowed)
    words = col.type
    if col.name in REPAIRED_VALUES:
        words = (
            REPAIRED_VALUES[col.name]
            if col.name == "currency"
            else f"{words} {REPAIRED_VALUES[col.name]}"
        )
    for check in VALUE_CHECKS:
        if check.column == col.name and (check.tables is None or table in check.tables):
            words = f"{words} {check.words}"
    if table == "spend" and col.name == "month":
        words = "period (a month)"
    return words


def _table(name: str) -> str:
    from salesreport.data.load import FOLLOW
    from salesreport.data.validate import REFERENCES
    from salesreport.tables import TABLES

    spec = TABLES[name]
    head = name if name in ("opportunities", "orders") else f"{name} (optional)"
    lines = [f"## {head}", spec.doc]
    facts = []
    if spec.key:
        facts.append(f"Key: `{spec.key}` (unique).")
    if spec.date_column:
        facts.append(f"Dated by `{spec.date_column}` (the point-in-time cut).")
    if spec.unlocks:
        facts.append(f"Unlocks {spec.unlocks}.")
    if facts:
        lines.append(" ".join(facts))
    lines += ["", "| column | type | required | meaning |", "|---|---|---|---|"]
    for col in spec.columns:
        lines.append(
            f"| {col.name} | {_type_words(name, col)} | {'yes' if col.required else 'no'} | {col.doc} |"
        )
    refs = [r for r in REFERENCES if r[0] == name]
    lines.append("")
    if refs:
        lines.append(
            "References: "
            + "; ".join(
                f"`{col}` -> `{parent}.{key}` ({'the row is dropped' if action == 'dropped' else 'flagged, kept'} when not there)"
                for _, col, parent, key, action in refs
            )
            + "."
        )
        lines.append("")
    if name in FOLLOW:
        links = ", ".join(f"`{col}` of a kept `{parent}` row" for col, parent, _ in FOLLOW[name])
        lines.append(
            f"Team filters: without a filter column, the rows linked to a kept row ({links}) are kept."
        )
    return "\n".join(lines).rstrip("\n") + "\n"


def render() -> str:
    """The page."""
    from salesreport.data import parse, pit, read, settle
    from salesreport.data.load import FILTER_ORDER
    from salesreport.data.presets import PRESET_DIR, load_preset
    from salesreport.data.validate import ROW_CHECKS
    from salesreport.tables import TABLE_NAMES

    formats = ", ".join(f"`NAME{f}`" for f in read.FORMATS[:-1]) + f" or `NAME{read.FORMATS[-1]}`"
    parts = [INTRO.format(formats=formats)]
    parts += [_table(t) for t in TABLE_NAMES]

    reading = _rst_to_md(_section(read.__doc__, "* **CSV**", "Every table gets"))
    presets = []
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        p = load_preset(path.stem)
        names = ", ".join(f"`{n}`" for t in TABLE_NAMES for n in p.file_names.get(t, []))
        found = "; ".join(
            f"{t}: the file whose header holds " + ", ".join(f"`{h}`" for h in hs)
            for t, hs in p.detect.items()
        )
        if found:
            presets.append(f"- `{p.name}` ({p.label}): any file name, {found}")
        else:
            presets.append(f"- `{p.name}`: files {names}")
    parts.append(
        "## Reading the files\n"
        + reading
        + "\n\nEvery row keeps its spreadsheet row number (the header is row 1, the first row "
        "read is row 2): messages and the data-quality counts name rows by it.\n\n"
        "Presets (`data.preset`) map a CRM's export onto the contract: its file names count as "
        "the table's, its headers are renamed and its value rules applied; `data.mapping` "
        "(table -> {their column: contract column}) is applied after them and wins.\n\n"
        + "\n".join(presets)
        + "\n\n"
        + SCREEN_EXPORTS
    )
    parts.append(
        "## How a file writes its dates and numbers\n"
        + _rst_to_md(_section(settle.__doc__, "A spreadsheet saved", None))
        + "\n"
    )
    forms = _rst_to_md(_section(parse.__doc__, "Accepted forms:", "Text is stripped"))
    text_rule = _rst_to_md(_section(parse.__doc__, "Text is stripped", "The pandas functions"))
    parts.append("## Values\n" + forms + "\n\n" + text_rule + "\n")

    row_checks = "\n".join(
        f"{i}. {action}: {what}" for i, (action, what) in enumerate(ROW_CHECKS, 1)
    )
    parts.append(
        "## Checks\n"
        "Structural problems concern a whole file and stop the run; all of them are listed "
        "at once: an unreadable or empty file, two files for one table, a missing required "
        "column, a header written twice, two headers mapped onto one column, a column more "
        "than half of whose "
        "non-blank values cannot be read, neither opportunities nor orders, a filter naming "
        "no column or keeping no opportunity or order, a currency among the team's rows "
        "without a rate in `fx_rates`, a report month before the first order or opportunity.\n\n"
        "Row checks, on the team's rows, in this order (a row dropped by one is not counted "
        "by the later ones), then the references of each table:\n\n"
        + row_checks
        + "\n\nA value unreadable or outside its set is a bad row; so is a repair that loses "
        "information. A table whose bad rows exceed `thresholds.bad_row_share` (5% by "
        "default) of its rows in scope, and number more than `thresholds.bad_rows_floor` (2 by "
        "default: one duplicate `rep_id` in a 16-row reps table is 6% and does not stop the "
        "run), stops the run, naming each reason with its count and rows; with `--strict`, any "
        "bad row does. Formatting repairs (case or spaces of a "
        "category, a whole probability column on 0-100) are counted but not bad.\n"
    )
    parts.append(
        "## Team filters\n"
        "`filters` (column -> allowed values) keep the team's rows; the rows outside are "
        "counted as filtered, not bad. A table with a filter column keeps the rows whose value "
        "is listed (`targets` also keeps rows where it is empty). A table without one keeps the "
        "rows linked to a kept row of a filtered table it references (see each table); with no "
        f"such table it is kept whole. Tables are filtered in this order: {', '.join(FILTER_ORDER)}. "
        "Structural checks, `rows_read` and the keys that decide a missing reference use the "
        "whole files; the row checks count the team's rows.\n"
    )
    cut_rules = _rst_to_md(_section(pit.__doc__, "A report for month M", ":func:`cut`"))
    parts.append("## Point in time\n" + cut_rules + "\n")
    parts.append(RULES)
    parts.append(ENGINES)
    return "\n".join(parts)


def docs_path() -> Path:
    from salesreport.devtools import generated_path

    return generated_path("data-contract.md")


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/data-contract.md`` (or the path given as the only argument)."""
    from salesreport.devtools import write_generated

    return write_generated(render, "data-contract.md", argv)


if __name__ == "__main__":
    raise SystemExit(main())
