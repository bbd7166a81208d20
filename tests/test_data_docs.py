"""``docs/data-contract.md`` is generated from the schemas in code and current."""

from __future__ import annotations

from salesreport.data.docs import docs_path, render
from salesreport.tables import TABLES


def test_docs_page_is_current():
    assert docs_path().read_text(encoding="utf-8") == render(), (
        "docs/data-contract.md is stale: run `python -m salesreport.data.docs`"
    )


def test_the_page_names_every_column_and_the_spec_sections():
    page = render()
    for name, spec in TABLES.items():
        assert f"## {name}" in page
        for col in spec.columns:
            assert f"| {col.name} | " in page, (name, col.name)
    for heading in (
        "## Rules that hold for every table",
        "## Where the tables come from, and which engine computes",
        "## Point in time",
        "## Checks",
    ):
        assert heading in page
    # the rules in code, not prose kept beside them: the value checks and the closed sets
    assert "| amount | number >= 0 | yes |" in page
    assert "| status | `open` / `won` / `lost` | yes |" in page
    assert "`owner_id` -> `reps.rep_id` (flagged, kept when not there)" in page


def test_the_generator_takes_an_option_for_what_it_is_and_writes_no_file(tmp_path, monkeypatch):
    # `python -m salesreport.data.docs --help` wrote the page to a file named "--help"
    from salesreport.data.docs import main

    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 0
    assert main(["--force"]) == 2
    assert main(["a.md", "b.md"]) == 2
    assert list(tmp_path.iterdir()) == []
    assert main(["page.md"]) == 0
    assert (tmp_path / "page.md").read_text(encoding="utf-8") == render()
