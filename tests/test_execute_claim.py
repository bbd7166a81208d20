"""Workers share one job list: each job is run by exactly one worker, in the start order."""

from __future__ import annotations

import os
from pathlib import Path

from salesreport.execute import claim, claimed_by
from salesreport.jobs import NotebookJob
from salesreport.pipeline import START_ORDER, start_order


def test_a_job_is_taken_once_and_remembers_who_took_it(tmp_path):
    job = tmp_path / "sdr.json"
    job.write_text("{}")
    assert claimed_by(job) is None
    assert claim(job) is True
    assert claim(job) is False  # the second worker skips it
    assert claimed_by(job) == os.getpid()


def test_jobs_start_in_the_start_order_and_rep_pages_follow_the_rep_page():
    def job(page, audience):
        return NotebookJob(
            page=page, input=str(Path("notebooks") / f"{audience}.ipynb"), output="", html="",
            error="", done="", parameters={}, cwd="", title="", team_title="", month="", footer="",
        )  # fmt: skip

    jobs = [job("executive", "executive"), job("manager", "manager"), job("custom", "custom"),
            job("rep", "rep"), job("rep-a1", "rep"), job("rep-b2", "rep"),
            job("operations", "operations"), job("forecast", "forecast"), job("sdr", "sdr")]  # fmt: skip
    got = [j.page for j in start_order(jobs)]
    assert got == ["operations", "forecast", "rep", "rep-a1", "rep-b2", "sdr", "executive",
                   "manager", "custom"]  # fmt: skip
    assert set(START_ORDER) == {"executive", "manager", "operations", "rep", "sdr", "forecast"}
    assert [j.page for j in jobs][:2] == ["executive", "manager"]  # the input is not reordered
