"""Reading the contract's tables from a folder: formats, encodings, file-level problems."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from salesreport.data import load_tables, read_table
from salesreport.exceptions import DataError
from tests.conftest_data import (
    base_opportunities,
    csv_text,
    make_folder,
    make_params,
    opp,
    write_csv,
)

MONTH = "2026-12"


def _orders_rows():
    return [
        {
            "order_id": "X1",
            "account_id": "Müller GmbH",
            "order_date": "2026-03-05",
            "amount": "100",
        },
        {
            "order_id": "X2",
            "account_id": "Café Crème",
            "order_date": "2026-04-05",
            "amount": "250.5",
        },
    ]


def test_csv_with_utf8_byte_order_mark_reads_header_and_accents(tmp_path):
    folder = tmp_path / "d"
    write_csv(folder, "orders.csv", _orders_rows(), bom=True)
    res = load_tables(make_params(), folder, MONTH)
    orders = res.tables.orders
    assert list(orders.columns[:4]) == ["order_id", "account_id", "order_date", "amount"]
    assert orders["account_id"].tolist() == ["Müller GmbH", "Café Crème"]
    assert orders["amount"].tolist() == [100.0, 250.5]


def test_csv_in_windows_1252_falls_back_from_utf8(tmp_path):
    """Characters Windows-1252 has and Latin-1 lacks (bytes 0x80-0x9F: the euro sign, curly
    quotes, the en dash, Š, œ): a reader falling back to Latin-1 would give control
    characters, one decoding as UTF-8 would fail."""
    folder = tmp_path / "d"
    rows = _orders_rows()
    rows[0]["account_id"] = "Müller – “Š€” GmbH"
    rows[1]["account_id"] = "Café Crème œuvre"
    path = write_csv(folder, "orders.csv", rows, encoding="cp1252")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the file really is not UTF-8
    assert any(0x80 <= b <= 0x9F for b in raw)  # and not Latin-1 text
    res = load_tables(make_params(), folder, MONTH)
    assert res.tables.orders["account_id"].tolist() == [
        "Müller – “Š€” GmbH",
        "Café Crème œuvre",
    ]


def test_forced_encoding_from_params_is_used(tmp_path):
    folder = tmp_path / "d"
    write_csv(folder, "orders.csv", _orders_rows(), encoding="latin-1")
    res = load_tables(make_params(data={"encoding": "latin-1"}), folder, MONTH)
    assert res.tables.orders["account_id"].iloc[0] == "Müller GmbH"


def test_semicolon_separated_csv_is_read(tmp_path):
    folder = tmp_path / "d"
    write_csv(folder, "orders.csv", csv_text(_orders_rows(), sep=";"))
    res = load_tables(make_params(), folder, MONTH)
    assert res.tables.orders["amount"].sum() == pytest.approx(350.5)  # 100 + 250.5


def test_parquet_with_typed_columns_is_read(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    df = pd.DataFrame(
        {
            "order_id": [1, 2],  # integer ids become text "1", "2"
            "account_id": ["A", "B"],
            "order_date": pd.to_datetime(["2026-03-05", "2026-04-05"]),
            "amount": [100, 250],
        }
    )
    df.to_parquet(folder / "orders.parquet")
    res = load_tables(make_params(), folder, MONTH)
    o = res.tables.orders
    assert o["order_id"].tolist() == ["1", "2"]
    assert o["order_date"].tolist() == [pd.Timestamp("2026-03-05"), pd.Timestamp("2026-04-05")]
    assert o["amount"].dtype == "float64"
    assert (
        res.fingerprints["orders"]
        == hashlib.sha256((folder / "orders.parquet").read_bytes()).hexdigest()
    )


def test_xlsx_first_sheet_with_date_cells_and_serials(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    df = pd.DataFrame(
        {
            "order_id": ["X1", "X2"],
            "account_id": ["A", "B"],
            # a real date cell and an Excel serial number: 46000 = 2025-12-09
            "order_date": [pd.Timestamp("2026-03-05"), 46000],
            "amount": [100.0, 250.0],
        }
    )
    with pd.ExcelWriter(folder / "orders.xlsx") as xw:
        df.to_excel(xw, sheet_name="first", index=False)
        pd.DataFrame({"junk": [1]}).to_excel(xw, sheet_name="second", index=False)
    res = load_tables(make_params(), folder, MONTH)
    assert res.tables.orders["order_date"].tolist() == [
        pd.Timestamp("2026-03-05"),
        pd.Timestamp("2025-12-09"),
    ]


def test_unknown_extra_columns_are_kept(tmp_path):
    rows = [dict(r, my_note=f"note {i}") for i, r in enumerate(_orders_rows())]
    res = load_tables(make_params(), make_folder(tmp_path, orders=rows), MONTH)
    assert res.tables.orders["my_note"].tolist() == ["note 0", "note 1"]


def test_blank_strings_are_missing(tmp_path):
    rows = [
        opp("O1", "2026-01-01", "2026-02-01", "won", 10, source="  "),
        opp("O2", "2026-01-01", "2026-02-01", "won", 10, source="web"),
    ]
    res = load_tables(make_params(), make_folder(tmp_path, opportunities=rows), MONTH)
    src = res.tables.opportunities["source"]
    assert src.isna().tolist() == [True, False]


def test_sources_and_fingerprints_name_each_file(tmp_path):
    folder = make_folder(tmp_path, orders=_orders_rows())
    (folder / "notes.txt").write_text("hello")
    res = load_tables(make_params(), folder, MONTH)
    assert res.sources == {"orders": str(folder / "orders.csv")}
    assert (
        res.fingerprints["orders"]
        == hashlib.sha256((folder / "orders.csv").read_bytes()).hexdigest()
    )
    assert res.ignored_files == ["notes.txt"]
    assert res.to_json()["tables"]["orders"]["rows_read"] == 2


def test_two_formats_of_one_table_is_an_error_naming_both(tmp_path):
    folder = make_folder(tmp_path, orders=_orders_rows())
    pd.DataFrame({"order_id": ["1"]}).to_parquet(folder / "orders.parquet")
    with pytest.raises(DataError) as err:
        load_tables(make_params(), folder, MONTH)
    msg = str(err.value)
    assert "orders.csv and orders.parquet both hold table orders" in msg
    assert "Keep one file per table" in msg


def test_neither_opportunities_nor_orders_is_an_error(tmp_path):
    folder = make_folder(
        tmp_path,
        reps=[
            {"rep_id": "R1", "name": "A", "role": "ae", "region": "DE", "hire_date": "2025-01-01"}
        ],
    )
    with pytest.raises(DataError) as err:
        load_tables(make_params(), folder, MONTH)
    assert "holds neither opportunities nor orders" in str(err.value)
    assert "Add opportunities.csv or orders.csv" in str(err.value)


def test_empty_and_unreadable_files_are_all_reported_at_once(tmp_path):
    folder = make_folder(tmp_path, opportunities=base_opportunities(3))
    (folder / "orders.csv").write_bytes(b"")
    (folder / "reps.csv").write_text("rep_id,name\nR1,Ann,extra,fields\nR2\n")
    (folder / "leads.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError) as err:
        load_tables(make_params(), folder, MONTH)
    msg = str(err.value)
    assert "3 problems in the data" in msg
    assert "orders.csv: is empty" in msg
    assert "reps.csv: is not a readable CSV file" in msg
    assert "leads.parquet: is not a readable Parquet file" in msg
    files = {p["file"] for p in err.value.problems}
    assert files == {"orders.csv", "reps.csv", "leads.parquet"}


def test_header_only_file_is_empty(tmp_path):
    folder = make_folder(tmp_path, orders="order_id,account_id,order_date,amount\n")
    with pytest.raises(DataError, match="orders.csv: has no data rows"):
        load_tables(make_params(), folder, MONTH)


def test_read_table_keeps_text_and_numbers_rows_from_two(tmp_path):
    path = write_csv(tmp_path, "x.csv", "a,b\n 01 ,\n2,x\n")
    df = read_table(path)
    assert df.index.tolist() == [2, 3]  # spreadsheet rows: header is row 1
    assert df["a"].tolist() == [" 01 ", "2"]  # text as read, not numbers
    assert pd.isna(df.loc[2, "b"])


def test_data_dir_none_uses_params_data_path_relative_to_root(tmp_path, monkeypatch):
    make_folder(tmp_path, orders=_orders_rows())
    monkeypatch.setenv("SALESREPORT_HOME", str(tmp_path))
    res = load_tables(make_params(data={"path": "data"}), None, MONTH)
    assert len(res.tables.orders) == 2


def test_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        load_tables(make_params(), tmp_path / "nope", MONTH)


def test_read_table_error_names_the_file(tmp_path):
    path = write_csv(tmp_path, "orders.csv", "")
    with pytest.raises(DataError, match=r"^orders.csv: is empty\. Export the table again"):
        read_table(path)


# --------------------------------------------------------------------------- CSV read by the engine


def test_windows_1252_characters_latin_1_lacks_are_read(tmp_path):
    # "€" is byte 0x80 and the curly quotes 0x93/0x94 in Windows-1252; Latin-1 has no
    # character there, so a Latin-1 reading would give control characters
    rows = [{"order_id": "X1", "account_id": "“Café” €", "order_date": "2026-03-05", "amount": "5"}]
    path = write_csv(tmp_path / "d", "orders.csv", rows, encoding="cp1252")
    assert b"\x80" in path.read_bytes() and b"\x93" in path.read_bytes()
    res = load_tables(make_params(), tmp_path / "d", MONTH)
    assert res.tables.orders["account_id"].tolist() == ["“Café” €"]


def test_a_byte_that_is_not_utf8_far_into_the_file_is_read_as_windows_1252(tmp_path):
    # the first 64 KiB are plain ASCII (UTF-8 then, as far as they tell): the engine's read
    # meets the 0x80 byte later and the file is read again as Windows-1252
    rows = [
        {"order_id": f"X{i}", "account_id": "A", "order_date": "2026-03-05", "amount": "1"}
        for i in range(4000)
    ]
    rows[-1]["account_id"] = "Müller €"
    path = write_csv(tmp_path / "d", "orders.csv", rows, encoding="cp1252")
    assert path.read_bytes().index(b"\x80") > 65536
    res = load_tables(make_params(), tmp_path / "d", MONTH)
    assert res.tables.orders["account_id"].iloc[-1] == "Müller €"
    assert len(res.tables.orders) == 4000


def test_bytes_neither_utf8_nor_windows_1252_are_an_error(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    # 0x81 is undefined in Windows-1252 (and not UTF-8 here)
    (folder / "orders.csv").write_bytes(
        b"order_id,account_id,order_date,amount\nX1,A\x81,2026-03-05,1\n"
    )
    with pytest.raises(DataError, match="orders.csv: is neither UTF-8 nor Windows-1252 text"):
        load_tables(make_params(), folder, MONTH)


def test_quoted_line_breaks_short_lines_and_blank_lines(tmp_path):
    text = 'a,b,c\n"x\ny",1,\n\n2\n   \n3,4,5\n'
    df = read_table(write_csv(tmp_path, "x.csv", text))
    # the empty line and the line of spaces are skipped and not counted: rows 2, 3, 4
    assert df.index.tolist() == [2, 3, 4]
    assert df["a"].tolist() == ["x\ny", "2", "3"]
    assert df["b"].tolist() == ["1", None, "4"]  # a short line: the rest is missing
    assert df["c"].isna().tolist() == [True, True, False]


def test_a_line_with_more_fields_than_the_header_names_its_line(tmp_path):
    folder = make_folder(
        tmp_path, orders="order_id,account_id,order_date,amount\nX1,A,2026-01-01,1,9\n"
    )
    with pytest.raises(DataError) as err:
        load_tables(make_params(), folder, MONTH)
    msg = str(err.value)
    assert msg.startswith("orders.csv: is not a readable CSV file (CSV Error on Line: 2")
    assert str(folder) not in msg  # the engine's message without the file's path


def test_repeated_and_empty_header_cells_are_named_as_pandas_names_them(tmp_path):
    df = read_table(write_csv(tmp_path, "x.csv", "a,a,,b\n1,2,3,4\n"))
    assert list(df.columns) == ["a", "a.1", "Unnamed: 2", "b"]


def test_excel_missing_value_markers_are_missing(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    df = pd.DataFrame(
        {
            "order_id": ["X1", "X2", "X3"],
            "account_id": ["A", "B", "C"],
            "order_date": ["2026-03-05", "2026-03-06", "2026-03-07"],
            "amount": [1.0, 2.0, 3.0],
            "channel": ["N/A", "#N/A", "web"],
        }
    )
    df.to_excel(folder / "orders.xlsx", index=False)
    res = load_tables(make_params(), folder, MONTH)
    assert res.tables.orders["channel"].tolist() == [None, None, "web"]
    assert res.quality.to_frame().empty
