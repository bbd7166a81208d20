"""Security: data values are escaped in every page; secrets never leak into outputs."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPORT_MONTH, run_cli

pytestmark = pytest.mark.slow

MARKUP = {
    "rep": '<script>alert("rep")</script>',
    "stage": "<img src=x onerror=alert(1)>",
    "source": "<b>web</b>",
    "lost_reason": "<i>price</i>&amp;",
    "account": "<iframe src=//evil>",
}


def test_markup_in_data_values_is_escaped_on_every_page(project, sample_dir, tmp_path):
    from salesreport.pipeline import Progress, run_report

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    reps = pd.read_csv(data / "reps.csv", dtype=str, keep_default_na=False)
    reps.loc[(reps["role"] == "ae") & (reps["region"] == "DE"), "name"] = MARKUP["rep"]
    reps.to_csv(data / "reps.csv", index=False)
    opp = pd.read_csv(data / "opportunities.csv", dtype=str, keep_default_na=False)
    de = opp["region"] == "DE"
    opp["stage"] = opp["stage"].replace("Proposal", MARKUP["stage"])
    opp.loc[de, "source"] = MARKUP["source"]
    opp.loc[de & (opp["status"] == "lost"), "lost_reason"] = MARKUP["lost_reason"]
    opp.loc[de, "account_id"] = MARKUP["account"]
    opp.to_csv(data / "opportunities.csv", index=False)
    sh = pd.read_csv(data / "stage_history.csv", dtype=str, keep_default_na=False)
    sh["stage"] = sh["stage"].replace("Proposal", MARKUP["stage"])
    sh.to_csv(data / "stage_history.csv", index=False)

    res = run_report(team="emea", month=REPORT_MONTH, data=str(data), progress=Progress(quiet=True))
    pages = {p.name: p.read_text() for p in res.out_dir.glob("*.html")}
    assert len(pages) >= 7
    for name, text in pages.items():
        for raw in MARKUP.values():
            assert raw not in text, f"{name}: unescaped {raw!r}"
    everything = "".join(pages.values())
    assert (
        "&lt;script&gt;alert(&quot;rep&quot;)&lt;/script&gt;" in everything
        or "&lt;script&gt;alert(" in everything
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in everything


def test_a_secret_from_the_environment_never_reaches_outputs_or_logs(tmp_path, sample_dir):
    secret_dir = tmp_path / "s3cr3t-T0KEN-42"
    secret_dir.mkdir()
    db = secret_dir / "crm.sqlite"
    with sqlite3.connect(db) as con:
        orders = pd.read_csv(sample_dir / "orders.csv", dtype=str)
        orders[orders["region"].isin(["DE", "FR"])].to_sql("orders", con, index=False)
    url = f"sqlite:///{db}"
    params = tmp_path / "secret.yaml"
    params.write_text(
        "team: secret\naudiences: [executive]\n"
        "data:\n  sql:\n    url_env: SALESREPORT_TEST_DB_URL\n    tables: {orders: orders}\n"
    )
    out = tmp_path / "out"
    proc = run_cli(
        "report", "--params", str(params), "--month", REPORT_MONTH, "--out", str(out),
        SALESREPORT_TEST_DB_URL=url,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    token = "s3cr3t-T0KEN-42"
    assert token not in proc.stdout + proc.stderr
    for f in Path(out).rglob("*"):
        if f.is_file():
            assert token not in f.read_text(errors="replace"), f"secret leaked into {f.name}"


def test_a_team_title_in_the_printed_foot_cannot_leave_its_css_string():
    # the printed foot (a page margin box) carries the team's title from YAML inside a
    # <style> element: as CSS escapes, never as characters that end the string or the element
    import re

    from salesreport.html import css_string, print_css

    title = 'Team "A" </style><script>alert(1)</script>\\ \n; } @import url(x);'
    quoted = css_string(title)
    assert quoted[0] == quoted[-1] == '"'
    inner = quoted[1:-1]
    assert re.fullmatch(r'(?:[^"\\<>{}\n@]|\\[0-9a-f]{6})*', inner)
    decoded = re.sub(r"\\([0-9a-f]{6})", lambda m: chr(int(m.group(1), 16)), inner)
    assert decoded == title
    css = print_css(f"salesreport · {title} · October 2026")
    assert "</style" not in css.lower() and "<script" not in css.lower()
    assert css.count("@page") == 1 and "@import" not in css
