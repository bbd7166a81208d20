"""The CRMs' own exports, as a user gets them from the screen, load with ``preset:`` alone.

The files are in ``examples/`` (written in each CRM's shape: its header labels, its stage names,
its date and amount formats, Salesforce's footer) or built here from the same rows in another
format. Every expected number is worked out by hand in the comments from the rows, never taken
from the code's output. Report month October 2026; team currency EUR.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from salesreport.data import load_tables
from salesreport.exceptions import DataError
from salesreport.kpis.compiler import compute_kpis
from tests.conftest import ROOT, run_cli
from tests.conftest_data import make_params

M = "2026-10"
EXAMPLES = ROOT / "examples"
T = pd.Timestamp


def _params(preset: str, **kw):
    data = {"preset": preset, **kw.pop("data", {})}
    return make_params(data=data, timezone="Europe/Berlin", **kw)


def _month_kpis(res, params) -> dict[str, float]:
    """revenue, deals_won and deals_lost of October 2026 (the whole team)."""
    k = compute_kpis(res.tables, params, M, engine=res.engine)
    k = k[(k["window"] == "month") & (k["period"] == M) & (k["segment"] == "all")]
    return {
        m: float(k.loc[k["metric"] == m, "value"].iloc[0])
        for m in ("revenue", "deals_won", "deals_lost")
    }


def _issues(res) -> dict[tuple[str, str], int]:
    q = res.quality.to_frame()
    return {(a, r): int(n) for a, r, n in zip(q["action"], q["reason"], q["count"], strict=True)}


# --------------------------------------------------------------------------- Salesforce report


def test_salesforce_report_csv_european_locale_with_footer():
    """``examples/salesforce_report``: a report exported by a European user (D/M/YYYY, amounts
    with their ISO code, the footer under the rows)."""
    params = _params("salesforce_report", fx_rates={"USD": 0.92})
    res = load_tables(params, EXAMPLES / "salesforce_report", M)
    o = res.tables.opportunities
    # no Opportunity ID column: the name is the key; owners and accounts by name
    assert o["opportunity_id"].tolist()[:2] == ["Acme - 100 seats", "Globex - renewal"]
    assert o["owner_id"].tolist()[:3] == ["Jane Doe", "Jane Doe", "Max Mustermann"]
    assert o["account_id"].iloc[0] == "Acme GmbH"
    # 25/10/2026 settles day first: 3/8/2026 is 3 August
    assert o["close_date"].iloc[0] == T("2026-10-25") and o["created_date"].iloc[0] == T(
        "2026-08-03"
    )
    assert o["status"].tolist() == ["won", "lost", "open", "won", "won", "won"]
    assert o["region"].unique().tolist() == ["all"]  # no region column, no filter: a placeholder
    # Stark's "USD 1,000.00": 1000 USD at 0.92 = 920 EUR
    assert o["amount"].tolist() == pytest.approx([12000, 5500.5, 8000, 7250, 4000, 920])
    assert o["probability"].tolist() == pytest.approx([1, 0, 0.6, 1, 1, 1])
    kpis = _month_kpis(res, params)
    # won and closed in October: Acme 12,000 (25 Oct) + Umbrella 7,250 (2 Oct) + Stark 920 (20 Oct)
    # = 20,170; Hooli was won on 28 September; Globex lost on 14 October
    assert kpis == {"revenue": pytest.approx(20170.0), "deals_won": 3, "deals_lost": 1}
    # the footer: 7 lines with text under an empty line (none of them a row, none dropped)
    issues = _issues(res)
    footer = [(a, r, n) for (a, r), n in issues.items() if a == "skipped"]
    assert len(footer) == 1 and footer[0][2] == 7
    assert "'Opportunities by Stage'; 'Filtered By:'" in footer[0][1]
    assert not any(a in ("dropped", "repaired") for a, _ in issues)
    reading = res.to_json()["quality"]["reading"]["opportunities"]
    # Created Date (before Close Date in the contract) has 15/7/2026: a day above 12
    assert reading == {"date_order": "day_first: settled by '15/7/2026' in Created Date"}


def _us_report(folder: Path) -> Path:
    """The same report exported by a US user: M/D/YYYY dates, dollar amounts, CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (EXAMPLES / "salesforce_report" / "report1793466240000.csv").read_bytes().decode()
    lines = text.split("\r\n")
    out = [lines[0]]
    for line in lines[1:7]:
        cells = next(
            iter(
                pd.read_csv(pd.io.common.StringIO(line), header=None, dtype=str).itertuples(
                    index=False
                )
            )
        )
        cells = ["" if pd.isna(c) else c for c in cells]
        for i in (7, 8):  # D/M/YYYY -> M/D/YYYY
            d, m, y = cells[i].split("/")
            cells[i] = f"{m}/{d}/{y}"
        cells[5] = cells[5].replace("EUR ", "$").replace("USD ", "$")
        out.append(",".join(f'"{c}"' for c in cells))
    path = folder / "Opportunities Report-2026-10-31-18-04-00.csv"
    path.write_text("\r\n".join(out + lines[7:]), encoding="utf-8")
    return path


def test_salesforce_report_us_locale(tmp_path):
    """Month first (10/25/2026 settles it); ``$`` amounts are in the team's currency (here USD)."""
    _us_report(tmp_path / "d")
    params = _params("salesforce_report", currency="USD")
    res = load_tables(params, tmp_path / "d", M)
    o = res.tables.opportunities
    assert o["close_date"].iloc[0] == T("2026-10-25") and o["created_date"].iloc[0] == T(
        "2026-08-03"
    )
    # Acme 12,000 + Umbrella 7,250 + Stark 1,000 (all dollars now) = 20,250
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(20250.0), "deals_won": 3, "deals_lost": 1,
    }  # fmt: skip
    assert res.to_json()["quality"]["reading"]["opportunities"]["date_order"].startswith(
        "month_first: settled by '7/15/2026' in Created Date"
    )


def test_salesforce_report_xlsx_with_currency_column_and_footer(tmp_path):
    """The Excel export: typed date and number cells, an ``Amount Currency`` column, the
    footer in the sheet's last rows."""
    import openpyxl

    rows = [
        # Opportunity ID, Opportunity Name, Account, Owner, Amount, Currency, Close, Created, Stage
        ("0065g00000AAA01", "Acme - 100 seats", "Acme GmbH", "Jane Doe", 12000, "EUR", dt.date(2026, 10, 25), dt.date(2026, 8, 3), "Closed Won"),
        ("0065g00000AAA02", "Acme - 100 seats", "Acme GmbH", "Jane Doe", 3000, "GBP", dt.date(2026, 10, 9), dt.date(2026, 9, 1), "Closed Won"),
        ("0065g00000AAA03", "Globex - renewal", "Globex SA", "Max Mustermann", 5500.5, "EUR", dt.date(2026, 10, 14), dt.date(2026, 9, 1), "Closed Lost"),
        ("0065g00000AAA04", "Initech - pilot", "Initech AG", "Max Mustermann", 8000, "EUR", dt.date(2026, 11, 30), dt.date(2026, 9, 12), "Negotiation/Review"),
    ]  # fmt: skip
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Amount",
               "Amount Currency", "Close Date", "Created Date", "Stage"])  # fmt: skip
    for r in rows:
        ws.append(list(r))
    ws.append([])
    for line in ("Opportunities Report", "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.",
                 "Generated By:  Jane Doe  10/31/2026 6:04 PM"):  # fmt: skip
        ws.append([line])
    folder = tmp_path / "d"
    folder.mkdir()
    wb.save(folder / "Opportunities Report.xlsx")
    params = _params("salesforce_report", fx_rates={"GBP": 1.17})
    res = load_tables(params, folder, M)
    o = res.tables.opportunities
    # with the ID column, two opportunities of one name are two rows
    assert o["opportunity_id"].tolist()[:2] == ["0065g00000AAA01", "0065g00000AAA02"]
    # Acme 12,000 EUR + Acme 3,000 GBP at 1.17 = 3,510 -> 15,510; Globex lost
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(15510.0), "deals_won": 2, "deals_lost": 1,
    }  # fmt: skip
    assert _issues(res)[next(k for k in _issues(res) if k[0] == "skipped")] == 3


def test_salesforce_report_without_ids_counts_a_repeated_name_as_a_duplicate(tmp_path):
    """Without the ID column the key is the name: the same name twice is one key (the second
    row dropped and counted, naming the fix)."""
    folder = tmp_path / "d"
    folder.mkdir()
    src = (EXAMPLES / "salesforce_report" / "report1793466240000.csv").read_bytes().decode()
    lines = src.split("\r\n")
    lines.insert(7, lines[1].replace("25/10/2026", "26/10/2026"))  # Acme again, a day later
    (folder / "report.csv").write_text("\r\n".join(lines))
    res = load_tables(_params("salesforce_report", fx_rates={"USD": 0.92}), folder, M)
    assert _issues(res)[("dropped", "duplicate opportunity_id (first row kept)")] == 1
    assert len(res.tables.opportunities) == 6


def test_a_filter_on_a_column_the_export_lacks_names_the_yaml_line():
    params = _params("salesforce_report", fx_rates={"USD": 0.92}, filters={"region": ["DE"]})
    with pytest.raises(DataError) as err:
        load_tables(params, EXAMPLES / "salesforce_report", M)
    msg = str(err.value)
    assert (
        "report1793466240000.csv: column 'region' is a filter column (filters) but the export"
        in msg
    )
    assert "Add the line `defaults: {region: DE}` under data: in params/t.yaml" in msg


def test_a_team_wide_default_supplies_the_missing_column():
    params = _params(
        "salesforce_report", fx_rates={"USD": 0.92}, filters={"region": ["DE"]},
        data={"defaults": {"region": "DE"}},
    )  # fmt: skip
    res = load_tables(params, EXAMPLES / "salesforce_report", M)
    assert res.tables.opportunities["region"].unique().tolist() == ["DE"]
    assert _month_kpis(res, params)["revenue"] == pytest.approx(20170.0)


def test_a_mapped_column_supplies_the_region(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    lines = (
        (EXAMPLES / "salesforce_report" / "report1793466240000.csv")
        .read_bytes()
        .decode()
        .split("\r\n")
    )
    regions = ["Sales Territory", "DE", "DE", "FR", "FR", "DE", "FR"]
    lines[:7] = [f'{line},"{r}"' for line, r in zip(lines[:7], regions, strict=True)]
    (folder / "report.csv").write_text("\r\n".join(lines))
    params = _params(
        "salesforce_report", fx_rates={"USD": 0.92}, filters={"region": ["FR"]},
        data={"mapping": {"opportunities": {"Sales Territory": "region"}}},
    )  # fmt: skip
    res = load_tables(params, folder, M)
    # FR: Initech (open), Umbrella 7,250 (won 2 Oct), Stark 920 (won 20 Oct) = 8,170
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(8170.0),
        "deals_won": 2,
        "deals_lost": 0,
    }


def test_dates_that_never_settle_the_order_stop_the_run_naming_the_setting(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "report.csv").write_text(
        '"Opportunity Name","Account Name","Opportunity Owner","Amount","Close Date","Created Date","Stage"\n'
        '"A","Acme","Jane","100","3/10/2026","1/9/2026","Closed Won"\n'
        '"B","Acme","Jane","200","5/10/2026","2/9/2026","Closed Lost"\n'
    )
    with pytest.raises(DataError) as err:
        load_tables(_params("salesforce_report"), folder, M)
    msg = str(err.value)
    assert "report.csv: has dates written with the year last ('1/9/2026' in Created Date)" in msg
    assert "Add the line `date_order: day_first` (31/10/2026) or `date_order: month_first`" in msg
    # the setting decides: day first, A closes on 3 October (won, 100), B on 5 October (lost)
    params = _params("salesforce_report", data={"date_order": "day_first"})
    res = load_tables(params, folder, M)
    assert res.tables.opportunities["close_date"].tolist() == [T("2026-10-03"), T("2026-10-05")]
    assert _month_kpis(res, params) == {"revenue": 100.0, "deals_won": 1, "deals_lost": 1}
    # month first: A closes on 10 March, B on 10 May (created 9 January and 9 February):
    # nothing is won or lost in October
    params = _params("salesforce_report", data={"date_order": "month_first"})
    res = load_tables(params, folder, M)
    assert res.tables.opportunities["close_date"].tolist() == [T("2026-03-10"), T("2026-05-10")]
    assert _month_kpis(res, params) == {"revenue": 0.0, "deals_won": 0, "deals_lost": 0}


# --------------------------------------------------------------------------- HubSpot


def test_hubspot_export_csv():
    params = _params("hubspot_export")
    res = load_tables(params, EXAMPLES / "hubspot_export", M)
    o = res.tables.opportunities
    assert o["opportunity_id"].iloc[0] == "18551234501"  # Record ID
    assert o["owner_id"].iloc[0] == "Jane Doe" and o["account_id"].iloc[0] == "Acme GmbH"
    assert o["status"].tolist() == ["won", "lost", "open", "won", "won"]  # from the stage labels
    assert o["close_date"].iloc[3] == T("2026-10-30")  # 2026-10-30 17:20, the date
    # Hooli pilot has no amount (required): dropped and counted; 1 bad row of 6 is within
    # thresholds.bad_rows_floor (2), not a stop
    assert _issues(res)[("dropped", "amount is empty")] == 1
    # won in October: Acme expansion 15,000 (8 Oct) + Umbrella add-on 3,200.50 (30 Oct) = 18,200.50;
    # Stark renewal was won on 29 September; Globex lost on 21 October
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(18200.5), "deals_won": 2, "deals_lost": 1,
    }  # fmt: skip


def test_hubspot_export_xlsx_with_a_pipeline_of_its_own_stage_names(tmp_path):
    """An Excel export; the team's pipeline calls its closing stages "Signed" and "No deal"
    (``data.stages``)."""
    df = pd.read_csv(
        EXAMPLES / "hubspot_export" / "hubspot-crm-exports-all-deals-2026-10-31.csv", dtype=str
    )
    df["Deal Stage"] = df["Deal Stage"].replace({"Closed Won": "Signed", "Closed Lost": "No deal"})
    df["Amount"] = pd.to_numeric(df["Amount"])
    df["Close Date"] = pd.to_datetime(df["Close Date"])
    df["Create Date"] = pd.to_datetime(df["Create Date"])
    folder = tmp_path / "d"
    folder.mkdir()
    df.to_excel(folder / "hubspot-crm-exports-deals.xlsx", index=False)
    params = _params("hubspot_export", data={"stages": {"won": ["Signed"], "lost": ["No deal"]}})
    res = load_tables(params, folder, M)
    assert res.tables.opportunities["status"].tolist() == ["won", "lost", "open", "won", "won"]
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(18200.5), "deals_won": 2, "deals_lost": 1,
    }  # fmt: skip
    # without the team's stage names, nothing is won: every deal is open
    res = load_tables(_params("hubspot_export"), folder, M)
    assert set(res.tables.opportunities["status"]) == {"open"}


# --------------------------------------------------------------------------- Pipedrive


def test_pipedrive_export_csv():
    params = _params("pipedrive_export", fx_rates={"GBP": 1.17})
    res = load_tables(params, EXAMPLES / "pipedrive_export", M)
    o = res.tables.opportunities
    assert o["opportunity_id"].tolist()[:2] == ["Acme deal", "Globex deal"]  # the titles
    # close date: the won time (won), the expected close date (lost without a lost time)
    assert o["close_date"].tolist()[:2] == [T("2026-10-12"), T("2026-10-20")]
    # Hooli was won on 2 November: after the month, open in October's report
    assert o["status"].tolist() == ["won", "lost", "won", "open", "open"]
    # won in October: Acme 10,000 EUR + Initech 8,000 GBP at 1.17 = 9,360 -> 19,360
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(19360.0), "deals_won": 2, "deals_lost": 1,
    }  # fmt: skip
    assert not any(a in ("dropped", "repaired") for a, _ in _issues(res))


def test_pipedrive_export_xlsx_semicolon_twin_reads_the_same(tmp_path):
    """The Excel export and a European semicolon CSV of it (decimal commas) give the same
    numbers."""
    df = pd.read_csv(
        EXAMPLES / "pipedrive_export" / "deals-8120345-17.csv", dtype=str, keep_default_na=False
    )
    xlsx, semi = tmp_path / "x", tmp_path / "s"
    xlsx.mkdir()
    semi.mkdir()
    typed = df.copy()
    typed["Deal - Value"] = pd.to_numeric(typed["Deal - Value"])
    typed.to_excel(xlsx / "deals-8120345-17.xlsx", index=False)
    eu = df.copy()
    eu["Deal - Value"] = ["10.000,00", "4.000,00", "8.000,00", "2.500,00", "7.000,00"]
    eu.to_csv(semi / "deals-8120345-17.csv", sep=";", index=False)
    params = _params("pipedrive_export", fx_rates={"GBP": 1.17})
    for folder in (xlsx, semi):
        res = load_tables(params, folder, M)
        assert _month_kpis(res, params) == {
            "revenue": pytest.approx(19360.0), "deals_won": 2, "deals_lost": 1,
        }  # fmt: skip
    assert res.to_json()["quality"]["reading"]["opportunities"] == {
        "decimal": "decimal comma: settled by '10.000,00' in Deal - Value"
    }


# --------------------------------------------------------------------------- Data Export zip


def test_salesforce_data_export_zip_read_in_place():
    params = _params("salesforce", filters={"region": ["DE", "FR"]})
    res = load_tables(params, EXAMPLES / "salesforce_data_export", M)
    assert res.sources["opportunities"].endswith("WE_00D5g000000AbCdEAK_1.zip/Opportunity.csv")
    assert set(res.tables.present()) == {"opportunities", "accounts", "reps"}
    assert res.tables.reps["name"].tolist() == ["Jane Doe", "Max Mustermann"]
    # won in October: Acme 12,000 (25 Oct) + Umbrella 7,250 (2 Oct) = 19,250; Globex lost 14 Oct
    assert _month_kpis(res, params) == {
        "revenue": pytest.approx(19250.0), "deals_won": 2, "deals_lost": 1,
    }  # fmt: skip
    q = res.quality.to_frame()
    assert q.empty or not q["action"].isin(["dropped", "repaired", "flagged"]).any()


def test_data_export_zip_beside_a_loose_file_of_the_same_table_is_refused(tmp_path):
    folder = tmp_path / "d"
    shutil.copytree(EXAMPLES / "salesforce_data_export", folder)
    with zipfile.ZipFile(folder / "WE_00D5g000000AbCdEAK_1.zip") as zf:
        (folder / "Opportunity.csv").write_bytes(zf.read("Opportunity.csv"))
    with pytest.raises(DataError, match="both hold table opportunities"):
        load_tables(_params("salesforce"), folder, M)


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_a_hubspot_export_gets_a_report_end_to_end(tmp_path):
    """``salesreport report`` on the example YAML: the published kpis.csv holds the revenue and
    wins worked out above, and run.json counts the dropped row."""
    import json

    out = tmp_path / "out"
    proc = run_cli(
        "report", "--params", str(EXAMPLES / "hubspot_export.yaml"), "--month", M, "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    kpis = pd.read_csv(out / "kpis.csv")
    month = kpis[(kpis["window"] == "month") & (kpis["period"] == M) & (kpis["segment"] == "all")]
    value = dict(zip(month["metric"], month["value"], strict=True))
    assert value["revenue"] == pytest.approx(18200.5)
    assert value["deals_won"] == 2 and value["deals_lost"] == 1
    run = json.loads((out / "run.json").read_text())
    issues = run["inputs"]["quality"]["issues"]
    assert [(i["action"], i["reason"], i["count"]) for i in issues if i["bad"]] == [
        ("dropped", "amount is empty", 1)
    ]


@pytest.mark.parametrize(
    "name", ["salesforce_report", "hubspot_export", "pipedrive_export", "salesforce_data_export"]
)
def test_every_example_yaml_loads_its_example(name):
    """The README's example YAMLs read their examples as they are (paths from the repository
    root); October's wins are those worked out in the tests above."""
    from salesreport.params import load_params

    params = load_params(params_file=EXAMPLES / f"{name}.yaml")
    res = load_tables(params, None, M)
    won = {"salesforce_report": 3, "hubspot_export": 2, "pipedrive_export": 2,
           "salesforce_data_export": 2}[name]  # fmt: skip
    assert _month_kpis(res, params)["deals_won"] == won


def test_a_report_export_under_the_api_preset_names_the_preset_to_set():
    with pytest.raises(DataError) as err:
        load_tables(_params("salesforce"), EXAMPLES / "salesforce_report", M)
    assert (
        "report1793466240000.csv is a Salesforce report export: set data.preset: salesforce_report"
        in str(err.value)
    )


def test_a_refused_export_exits_3_naming_file_column_and_fix_and_publishes_nothing(tmp_path):
    """The CLI on a Salesforce report whose Amount column is there twice: exit 3, the message
    names the file, the header and both positions, and no report folder is made."""
    folder = tmp_path / "exports"
    folder.mkdir()
    lines = (EXAMPLES / "salesforce_report" / "report1793466240000.csv").read_bytes().decode()
    lines = lines.split("\r\n")
    lines[0] += ',"Amount"'
    lines[1:7] = [line + ',"1"' for line in lines[1:7]]
    (folder / "report.csv").write_text("\r\n".join(lines))
    params = tmp_path / "mine.yaml"
    params.write_text(f"team: mine\ndata:\n  path: {folder}\n  preset: salesforce_report\n")
    out = tmp_path / "out"
    proc = run_cli("report", "--params", str(params), "--month", M, "--out", str(out))
    assert proc.returncode == 3, proc.stderr
    assert (
        "report.csv: column 'Amount' is the header of more than one column: columns 6 (F) and "
        "11 (K). Rename or remove all but one of them" in proc.stderr
    )
    assert not out.exists()


def test_every_preset_file_is_a_preset_name_teams_may_write():
    """Each YAML in salesreport/presets/ is a name ``data.preset`` accepts (the ``Literal``
    and ``PRESETS`` agree), and a screen export's preset finds its file by header."""
    import typing

    from salesreport.data.presets import PRESET_DIR, load_preset
    from salesreport.params import PRESETS, DataSource

    names = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
    assert names == sorted(PRESETS)
    literal = typing.get_args(DataSource.model_fields["preset"].annotation)[0]
    assert sorted(typing.get_args(literal)) == names
    for name in ("salesforce_report", "hubspot_export", "pipedrive_export"):
        assert load_preset(name).detect["opportunities"]
