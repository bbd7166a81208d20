"""The contract's parse rules give the same values on PostgreSQL and Spark as on DuckDB.

Each rule is written once (``salesreport.data.parse``) and rendered for each engine's SQL
(``salesreport.data.dialect``). Two proofs, on real servers:

* the hand-worked cases of ``tests/test_data_parse.py`` run again with the rules evaluated
  by PostgreSQL and by a local Spark session (``parse.SERIES_ENGINE``);
* a corpus of awkward values (dates in every accepted shape and many unreadable ones,
  impossible days, zones, Excel serials, Unix times up to the end of the range, numbers with
  separators, symbols, decimal commas, exponents past a double's range, booleans, periods,
  categories, and typed number, timestamp and instant cells) parsed by every parser on the
  engine equals DuckDB's result value for value, except the differences the README lists:
  letters whose upper or lower case differs between the engines' Unicode rules.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from salesreport.data import parse as P
from tests import test_data_parse as cases
from tests.servers import postgres_server, spark_session

PG_ENV = "SALESREPORT_TEST_PARSE_PG"


@pytest.fixture(scope="module", params=["postgres", "spark"])
def engine(request):
    if request.param == "spark":
        engine = spark_session()
        yield engine
        return
    from salesreport.backends import open_engine
    from salesreport.params import EngineParams

    with postgres_server() as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv(PG_ENV, url)
        engine = open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
        yield engine
        engine.close()


@pytest.fixture()
def on_engine(engine, monkeypatch):
    monkeypatch.setattr(P, "SERIES_ENGINE", engine)
    return engine


# ---------------------------------------------------------------- the hand-worked cases

HAND = [
    cases.test_iso_dates_and_times_without_zone_are_local,
    cases.test_zoned_timestamp_is_converted_to_team_zone_then_naive,
    cases.test_excel_serial_dates,
    cases.test_unix_milliseconds_are_utc,
    cases.test_unparseable_dates_are_invalid_blanks_are_missing,
    cases.test_typed_datetime_column_with_zone,
    cases.test_numbers_with_thousands_separators_symbols_and_percent,
    cases.test_integers_reject_fractions,
    cases.test_booleans,
    cases.test_periods,
    cases.test_categories_lower_case_and_underscores,
    cases.test_unix_times_past_2262_are_unreadable_not_an_error,
    cases.test_text_is_stripped_of_what_str_strip_removes,
    cases.test_zoned_timestamps_agree_with_pandas,
    # a few examples each: a query per example
    settings(max_examples=5, deadline=None)(cases.test_thousands_separated_numbers_parse_back),
    settings(max_examples=5, deadline=None)(cases.test_excel_serials_and_iso_text_agree),
]


@pytest.mark.parametrize("case", HAND, ids=lambda f: f.__name__.removeprefix("test_"))
def test_hand_worked_case_on_engine(on_engine, case):
    case()


@pytest.mark.parametrize("tz, value, local", cases.ZONE_CASES)
def test_zone_offsets_on_engine(on_engine, tz, value, local):
    cases.test_zone_offsets_inside_and_outside_the_offset_table(tz, value, local)


# ---------------------------------------------------------------- the corpus


def _texts(n: int) -> list[str | None]:
    rng = random.Random(7)
    spaces = [" ", "\u00a0", "\u3000", "\t", "\n", "", "", "", ""]

    def sp() -> str:
        return rng.choice(spaces)

    def date_text() -> str:
        y = rng.choice([rng.randint(1600, 2300), 0, 9999, 2026, 1677, 2262, 1990, 2040])
        m, d = rng.randint(0, 13), rng.randint(0, 32)
        h, mi, s = rng.randint(0, 25), rng.randint(0, 61), rng.randint(0, 61)
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 9)))
        zone = rng.choice(
            ["", "", "Z", f"+{rng.randint(0, 15):02d}", f"-{rng.randint(0, 15):02d}{rng.randint(0, 61):02d}",
             f"+{rng.randint(0, 14):02d}:{rng.choice([0, 30, 45, 61]):02d}"]
        )  # fmt: skip
        return rng.choice(
            [
                f"{y:04d}{(sep := rng.choice('-/. '))}{m}{sep}{d}",
                f"{y:04d}-{m:02d}-{d:02d}",
                f"{y:04d}-{m:02d}-{d:02d}{rng.choice('T ')}{h:02d}:{mi:02d}:{s:02d}"
                + (f".{frac}" if frac else "") + zone,
                f"{y:04d}{m:02d}{d:02d}T{h:02d}{mi:02d}{s:02d}{zone}",
                f"{d}/{m}/{y:04d} {h}:{mi:02d}{rng.choice(['', ' AM', ' pm'])}",
                f"{d:02d}.{m:02d}.{y:04d}",
                repr(round(rng.uniform(-10, 120000), rng.randint(0, 6))),
                str(rng.choice([rng.randint(10**9, 10**10), rng.randint(10**11, 10**13), 9223372037])),
                f"{y:04d}-{m:02d}",
            ]
        )  # fmt: skip

    def number_text() -> str:
        x = rng.choice([rng.uniform(-1e6, 1e6), rng.uniform(-1, 1), 10 ** rng.uniform(-30, 30)])
        return rng.choice(
            [
                repr(x), f"{x:,.2f}", f"{x:,.2f}".replace(",", " "), f"{x:,.3f}".replace(",", "'"),
                rng.choice("$€£¥") + sp() + f"{x:.2f}", f"{x:.2f}" + sp() + rng.choice("$€£¥%"),
                f"{x:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."), f"{x:.3e}",
                str(int(x)),
            ]
        )  # fmt: skip

    odd = [
        "1e400", "-1e400", "1e-400", "2e-324", "4.9e-324", "1.8e308", "1.7976931348623157e308",
        "0e5000", "-5e1000", "12345678901234567890123456789012345", "-0", ".5", "5.", "1,5",
        "1.234,50", "inf", "NaN", "9223372036854775808", "0x10", "12 %", "TRUE", "f", "yes", "N",
        "1.0", "maybe", "2026-Q4", "2026-q5", "2026-02-30", "2024-02-29", "0000-01-15",
        "Best Case", "best-case", "Closed  Won", "a\u00a0b", "N/A", "null", "-", "NA", "",
        "2026-10-31T14:22:05.+02:00", "31/10/26", None, "9500000000", "17000000001234",
    ]  # fmt: skip
    out = [sp() + date_text() + sp() for _ in range(n)]
    out += [sp() + number_text() + sp() for _ in range(n)]
    return out + [v if v is None else sp() + v + sp() for v in odd]


def _typed(n: int) -> dict[str, pd.Series]:
    r = np.random.default_rng(3)
    floats = np.concatenate(
        [r.uniform(-1e6, 1e6, n), r.uniform(0, 120000, n), r.uniform(1e9, 1e10, n),
         r.uniform(1e11, 1e13, n), np.sign(r.uniform(-1, 1, n)) * 10 ** r.uniform(-30, 30, n),
         [np.nan, np.inf, -np.inf, -0.0, 1e20, 0.1, 2.0**63, 2.0**53 + 2, 1.5e-7, 1e38, 1e-5]]
    )  # fmt: skip
    stamps = pd.to_datetime(r.integers(-2 * 10**18, 9 * 10**18, n)).floor("us")
    ts = pd.Series(
        [*stamps, pd.Timestamp("2026-10-31"), pd.Timestamp("1969-12-31 23:59:59.5"), pd.NaT]
    )
    return {
        "number": pd.Series(floats),
        "integer": pd.Series(pd.array([*r.integers(-10**12, 10**13, n), None, 45658], dtype="Int64")),
        "bool": pd.Series([True, False, None], dtype="boolean"),
        "timestamp": ts,
        "instant": ts.dt.tz_localize("UTC"),
    }  # fmt: skip


PARSERS = {
    "date Berlin": lambda r: P.datetime(r, "Europe/Berlin", date_only=True),
    "time Kolkata": lambda r: P.datetime(r, "Asia/Kolkata", date_only=False),
    "time St Johns day first": lambda r: P.datetime(
        r, "America/St_Johns", date_only=False, date_order="day_first"
    ),
    "time UTC month first": lambda r: P.datetime(
        r, "UTC", date_only=False, date_order="month_first"
    ),
    "number": P.number,
    "number, decimal comma": lambda r: P.number(r, decimal_comma=True),
    "integer": P.integer,
    "bool": P.boolean,
    "period": lambda r: P.period(r, month_only=False),
    "month": lambda r: P.period(r, month_only=True),
    "category": P.category,
    "closed category": lambda r: P.category(r, allowed=("best_case", "commit", "pipeline")),
    "currency": P.currency,
    "text": P.plain_text,
}
TYPED_PARSERS = ("time Kolkata", "number", "integer", "period", "closed category", "text")


def _same(a: pd.Series, b: pd.Series) -> list[int]:
    return [
        i for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)) if str(x) != str(y)
    ]


def _compare(engine, monkeypatch, series: pd.Series, parse) -> list[tuple]:
    """The rows where ``parse`` on ``engine`` differs from DuckDB's: (value, DuckDB's, the
    engine's)."""
    duck = P.evaluate(series, parse)
    monkeypatch.setattr(P, "SERIES_ENGINE", engine)
    got = P.evaluate(series, parse)
    monkeypatch.setattr(P, "SERIES_ENGINE", None)
    out = []
    for a, b in zip(duck, got, strict=True):
        out += [(series.iloc[i], a.iloc[i], b.iloc[i]) for i in _same(a, b)]
    return out


@pytest.mark.parametrize("name", list(PARSERS))
def test_corpus_of_text_gives_duckdbs_values(engine, monkeypatch, name):
    texts = pd.Series(_texts(150), dtype=object)
    assert _compare(engine, monkeypatch, texts, PARSERS[name]) == []


@pytest.mark.parametrize("kind", ["number", "integer", "bool", "timestamp", "instant"])
def test_corpus_of_typed_cells_gives_duckdbs_values(engine, monkeypatch, kind):
    series = _typed(40)[kind]
    for name in TYPED_PARSERS:
        assert _compare(engine, monkeypatch, series, PARSERS[name]) == [], name


def test_case_mapping_is_each_engines_own(engine, monkeypatch):
    """The one difference left (README): upper and lower case of the letters whose mapping
    differs between Unicode's simple rules (DuckDB) and full ones (Java) or the database's
    collation (PostgreSQL): German ß upper-cased, Turkish İ lower-cased. ASCII letters and
    the common accented ones map alike."""
    alike = pd.Series(["Straße", "ÉTAT Nouveau", "Ünïcödé", "eur", "Best Case"], dtype=object)
    assert _compare(engine, monkeypatch, alike, P.category) == []
    assert _compare(engine, monkeypatch, alike[1:], P.currency) == []
    differ = _compare(engine, monkeypatch, pd.Series(["Straße"]), P.currency)
    assert [d[1] for d in differ] == ["STRAẞE"]  # DuckDB's capital sharp s
    assert differ[0][2] in ("STRAßE", "STRASSE")  # PostgreSQL's C.UTF-8, Java's full mapping


def test_spark_end_anchor_is_the_end_of_the_text_and_classes_keep_their_dollar():
    """Java's ``$`` also matches before a final line break, so Spark's patterns end with
    ``\\z``; a ``$`` inside a class (a currency symbol) or escaped stays; a ``]`` right after
    ``[`` or ``[^`` is a member of the class. Written by hand."""
    from salesreport.data.dialect import SPARK

    assert SPARK.regex(r"^[$€]x|y[$]$") == r"'^[$€]x|y[$]\\z'"
    assert SPARK.regex(r"a[]$]$|[^]$]\$$") == r"'a[]$]\\z|[^]$]\\$\\z'"


def _runner(engine):
    """A runner on ``engine``, or (``None``) on the parse module's embedded DuckDB."""
    from salesreport.data.runner import DuckRunner, EngineRunner

    return DuckRunner(P._connection()) if engine is None else EngineRunner(engine)


# ---------------------------------------------------------------- the presets' rules

#: values for every column a preset's rule reads: flags, stage and status names, amounts
#: with a currency code, times with and without a zone, probabilities, ids, blanks
PRESET_VALUES = [
    "true", "False", "1", "0", "yes", "", " ", None, "garbage", "Closed Won", "closed lost",
    "Negotiation", "USD 1,200.00", "1.200,00 EUR", "EUR", "1200 usd", "USD", "2026-10-31 14:22",
    "2026-10-31 14:22:05", "2026-10-31T14:22:05Z", "2026-10-31", "50", "12.5", "abc", "006ABC",
    "00Qxyz", "0065", "Open", "Won", "Lost", "  Won ", "closedwon", "Ünïcödé", "N/A", "1e3",
]  # fmt: skip


def _preset_cases():
    from salesreport.data.presets import PRESET_DIR, load_preset

    for path in sorted(PRESET_DIR.glob("*.yaml")):
        preset = load_preset(path.stem)
        for table, rules in preset.derive.items():
            yield pytest.param(preset, table, rules, id=f"{path.stem}-{table}")


def _read_by(rules) -> list[str]:
    """Every column the rules read or write."""
    names = ["status"]
    for r in rules:
        for key in ("won", "closed", "column", "from", "currency"):
            v = r.get(key)
            names += [v] if isinstance(v, str) else []
        for key in ("columns", "won", "lost", "open"):
            v = r.get(key)
            names += list(v) if isinstance(v, list) else []
    return list(dict.fromkeys(names))


def _written(rules) -> set[str]:
    """The columns rules write only when the export has none (a status from the stage, a
    key from a name, a default)."""
    out = {r["column"] for r in rules if r["rule"] in ("default", "key_from")}
    return out | ({"status"} if any(r["rule"] == "status_from_stage" for r in rules) else set())


@pytest.mark.parametrize("given", ["all columns", "written ones absent"])
@pytest.mark.parametrize("preset, table, rules", list(_preset_cases()))
def test_preset_rules_give_duckdbs_values(engine, preset, table, rules, given):
    """Each preset's value rules (a CRM's flags, stages, amounts with their code, times
    without a zone, probabilities in percent, prefixed ids) over every combination the
    value pool draws, then parsed as the contract's columns, on the engine, equal DuckDB's
    (values, and which are bad)."""
    import pyarrow as pa

    from salesreport.data.dialect import DIALECTS
    from salesreport.data.presets import apply_derive
    from salesreport.data.validate import parse_for
    from salesreport.tables import TABLES

    names = _read_by(rules)
    if given != "all columns":
        names = [n for n in names if n not in _written(rules)]
    rng = random.Random(11)
    rows = 200
    table_ = pa.table(
        {f"c{i}": pa.array([rng.choice(PRESET_VALUES) for _ in range(rows)], pa.string())
         for i in range(len(names))}
        | {"_pos": pa.array(range(rows), pa.int64())}
    )  # fmt: skip
    spec = TABLES[table]
    results = []
    for on in (None, engine):
        D = DIALECTS["duckdb" if on is None else on.name]
        raw = {n: P.Raw(D.ident(f"c{i}"), "text", dialect=D) for i, n in enumerate(names)}
        derived, _ = apply_derive(raw, table, preset, {"won": ["Won Deal"], "lost": []})
        # each contract column parsed as the loader parses it (its value and whether it is
        # bad), another column as its text
        parsers, outputs = [], [D.ident("_pos")]
        for i, (name, r) in enumerate(derived.items()):
            col = next((c for c in spec.columns if c.name == name), None)
            if col is None:
                outputs.append(f"{P.text(r)} AS {D.ident(f'o{i}')}")
                continue
            parsed = parse_for(table, col, r, "Europe/Berlin", key=f"k{i}")
            parsers.append(parsed)
            outputs += [
                f"{parsed.value} AS {D.ident(f'o{i}')}",
                f"{parsed.bad} AS {D.ident(f'b{i}')}",
            ]
        query = P.staged_select(D.ident("_sr_preset"), [], parsers, outputs, D)
        sql = f"SELECT * FROM ({query}) AS _sr_parsed ORDER BY {D.ident('_pos')}"
        results.append(_runner(on).over("_sr_preset", table_, sql).to_pylist())
    assert results[0] == results[1]


# ---------------------------------------------------------------- settling a file's formats

SETTLE_VALUES = [
    "31/10/2026", "10/31/2026", "3/4/2026", "31/13/2026", "0/5/2026", "25.10.2026 14:22",
    "10-25-2026 9:12 PM", "2026-10-31", "", None, "abc", "12/12/2026", "B", "a",
    "12,5", "1.234,50", "12.5", "1,234.50", "1,500", "1.500", "€ 1.234,50", "1,5 %", "12",
    "-3,25", "+1.234.567,8", "1,23456", "$ 99.99",
]  # fmt: skip


@pytest.mark.parametrize("which", ["date order", "decimal"])
def test_settling_queries_give_duckdbs_answers(engine, which):
    """The statistics a file's date order and decimal mark are settled from (counts and
    the least example of each kind, in code point order) equal DuckDB's, over columns
    drawn from dates written with the year last, numbers with either mark, and others."""
    import pyarrow as pa

    from salesreport.data.dialect import DIALECTS
    from salesreport.data.settle import date_order_sql, decimal_sql

    rng = random.Random(5)
    table = pa.table(
        {
            f"c{i}": pa.array([rng.choice(SETTLE_VALUES) for _ in range(60)], pa.string())
            for i in range(3)
        }
    )
    build = date_order_sql if which == "date order" else decimal_sql
    results = []
    for on in (None, engine):
        D = DIALECTS["duckdb" if on is None else on.name]
        columns = [P.Raw(D.ident(f"c{i}"), "text", dialect=D) for i in range(3)]
        results.append(
            _runner(on).over("_sr_settle", table, build(columns, D.ident("_sr_settle"))).to_pylist()
        )
    assert [list(r.values()) for r in results[0]] == [list(r.values()) for r in results[1]]
    assert any(v is not None for v in results[0][0].values())


# ---------------------------------------------------------------- the row checks


@pytest.fixture(scope="module")
def parsed_dirty(sample_dir, tmp_path_factory):
    """EMEA's tables of the sample with dirt added (unreadable, empty and unknown values,
    duplicate keys, negative amounts, a close before the creation, unknown accounts and
    owners, probabilities in percent, a metric that is no KPI), parsed by the loader: each
    table as the team's filters receive it (its metadata, and its rows as Arrow)."""
    import contextlib
    import copy
    import shutil

    from salesreport.data import load as L
    from salesreport.exceptions import DataError
    from salesreport.params import load_params

    folder = tmp_path_factory.mktemp("dirty")
    for f in sample_dir.iterdir():
        shutil.copy(f, folder / f.name)
    opps = pd.read_csv(folder / "opportunities.csv", dtype=str, keep_default_na=False)
    emea = opps.index[opps["region"].isin(["DE", "FR", "UK", "NL", "ES", "IT", "Nordics", "EMEA"])]
    rows = list(emea[:40]) if len(emea) >= 40 else list(opps.index[:40])
    dirt = [
        ("amount", "lots"), ("amount", "-5"), ("close_date", "not a date"), ("status", "maybe"),
        ("status", ""), ("account_id", "NO-SUCH-ACCOUNT"), ("owner_id", "NOBODY"),
        ("probability", "55"), ("forecast_category", "Best-Case"), ("created_date", "2030-01-01"),
    ]  # fmt: skip
    for (col, value), i in zip(dirt * 3, rows, strict=False):
        if col in opps.columns:
            opps.loc[i, col] = value
    opps = pd.concat([opps, opps.loc[rows[:3]]])  # duplicate keys
    opps.to_csv(folder / "opportunities.csv", index=False)
    targets = folder / "targets.csv"
    if targets.exists():
        t = pd.read_csv(targets, dtype=str, keep_default_na=False)
        t.loc[t.groupby("region").head(1).index, "metric"] = "revenu"  # in every team
        t.to_csv(targets, index=False)

    captured = {}
    original = L.filter_rows

    def capture(run, parsed, filters, q):
        for name, pt in parsed.items():
            relation = run.con.execute(f"SELECT * FROM {pt.relation}").to_arrow_table()
            captured[name] = (copy.copy(pt), relation)
        return original(run, parsed, filters, q)

    params = load_params("emea")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(L, "filter_rows", capture)
        with contextlib.suppress(DataError):  # too many bad rows: the checks ran
            L.load_tables(params, folder, "2026-10")
    assert "opportunities" in captured
    return captured


def _run_checks(engine, captured) -> tuple:
    """Every step of the loader after parsing, on ``engine``, from the captured tables, in
    the loader's order: structural problems, the team's filters, currencies without a rate,
    the row checks, the references, the targets' metrics, the conversion to the team's
    currency, the point-in-time cut at the end of June 2026 (four months before the data ends). Returns what they find
    (problems; rows filtered, dropped, repaired, flagged, converted and changed by the cut,
    with their rows) and each table's rows as the report reads them."""
    import copy

    from salesreport.data import load as L
    from salesreport.data import validate as V
    from salesreport.data.dialect import DIALECTS
    from salesreport.data.pit import cut
    from salesreport.data.quality import DataQuality
    from salesreport.data.runner import EngineRunner
    from salesreport.params import load_params

    params = load_params("emea").model_copy(update={"fx_rates": {"USD": 0.9, "GBP": 1.15}})
    run, D = EngineRunner(engine), DIALECTS[engine.name]
    parsed = {}
    for name, (pt, relation) in captured.items():
        pt = copy.copy(pt)
        engine._temporary(f"_sr_rel_{name}", relation)
        pt.relation = pt.scope = D.ident(f"_sr_rel_{name}")
        pt.dialect, pt.dropped, pt.made = D, np.zeros(0, dtype=np.int64), []
        parsed[name] = pt
    problems = []
    for pt in parsed.values():
        problems += V.structural_problems(run, pt, "params/emea.yaml")
    q = DataQuality()
    L.filter_rows(run, parsed, params.filters, q)
    for pt in parsed.values():
        problems += V.currency_problems(run, pt, "EUR", params.fx_rates, "params/emea.yaml")
    V.check_rows(run, parsed, q)
    V.check_references(run, parsed, q)
    V.check_target_metrics(run, parsed, q)
    relations = {name: L.converted(run, pt, params, q) for name, pt in parsed.items()}
    selects, counts = cut(run, relations, "2026-06", limit=10)
    rows = {}
    for name, (_, cols) in relations.items():
        select = ", ".join(D.ident(c) for c in cols)
        rows[name] = run.rows(f"SELECT {select} FROM ({selects[name]}) AS _sr_t ORDER BY _line")
    issues = [(i.table, i.action, i.reason, i.n, list(i.rows)) for i in q.issues]
    issues += [(c["table"], c["action"], c["reason"], c["count"], list(c["rows"])) for c in counts]
    return problems, issues, rows


def test_row_checks_find_what_duckdb_finds(engine, parsed_dirty):
    """The contract's checks (structural problems, the rows dropped, repaired and flagged, and
    which rows) run on the engine over the tables a dirty sample's loading gave find exactly
    what they find on DuckDB."""
    from salesreport.engine import Engine

    duck = Engine.duckdb()
    try:
        expected = _run_checks(duck, parsed_dirty)
    finally:
        duck.close()
    problems, issues, rows = expected
    found = {(t, action) for t, action, *_ in issues}
    # the dirt was found: rows filtered, dropped, repaired, flagged, converted
    assert {("opportunities", "filtered"), ("opportunities", "dropped"),
            ("opportunities", "repaired"), ("opportunities", "flagged"),
            ("opportunities", "converted"), ("targets", "flagged"),
            ("opportunities", "after_month")} <= found  # fmt: skip
    assert len(rows["opportunities"]) > 100
    got = _run_checks(engine, parsed_dirty)
    assert got[:2] == expected[:2]
    for name in rows:  # the checked rows, value for value (floats to 1e-12, the sums' order)
        assert len(got[2][name]) == len(rows[name]), name
        for a, b in zip(got[2][name], rows[name], strict=True):
            assert [_close(x, y) for x, y in zip(a, b, strict=True)] == [True] * len(a), (
                name,
                a,
                b,
            )


def _close(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-12) or (math.isnan(x) and math.isnan(y))
    return x == y
