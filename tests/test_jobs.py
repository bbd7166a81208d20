"""The notebook jobs the run hands its workers: typed, written and read back whole."""

from __future__ import annotations

import json

import pytest

from salesreport.jobs import NotebookJob, PageLink


def _job(**kw) -> NotebookJob:
    base = dict(page="manager", input="notebooks/manager.ipynb", output="o.ipynb", html="o.html",
                error="e.json", done="d", parameters={"team": "emea"}, cwd=".", title="t",
                team_title="EMEA", month="November 2026", footer="f")  # fmt: skip
    return NotebookJob(**{**base, **kw})


def test_a_job_is_read_back_as_written(tmp_path):
    job = _job(links=(PageLink("executive.html", "Executive summary"),), timeout=600)
    written = job.write(tmp_path / "manager.json")
    assert written.job_file == str(tmp_path / "manager.json")
    back = NotebookJob.read(tmp_path / "manager.json")
    assert back == written and back.links[0].title == "Executive summary"
    assert back.notebook == "manager.ipynb" and back.audience == "manager"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(pages="x"), "unknown keys \\['pages'\\]"),
        (lambda d: d.pop("html"), "missing keys \\['html'\\]"),
        (lambda d: d.update(timeout="600"), "timeout = '600' is not"),
        (lambda d: d.update(parameters={"team": 1}), "parameters"),
    ],
)
def test_a_job_of_the_wrong_shape_names_the_key(tmp_path, change, message):
    path = tmp_path / "job.json"
    _job().write(path)
    data = json.loads(path.read_text())
    change(data)
    with pytest.raises(ValueError, match=message):
        NotebookJob.from_dict(data)
