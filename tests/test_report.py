"""End to end: `salesreport report` publishes the folder of shared/spec/outputs.md, or nothing.

These tests execute every audience notebook for every team on the sample data,
then prove the failure behaviour: a failing cell, a dying kernel, a timeout, a
publish failure and a concurrent run each exit non-zero, name what failed,
publish nothing and leave the previous report byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from salesreport.exceptions import LockedError, NotebookError, ParameterError, PublishError
from tests.conftest import REPORT_MONTH, ROOT, _project, run_cli

pytestmark = pytest.mark.slow

SPEC_FILES = {
    "index.html", "kpis.csv", "forecast.csv", "forecast_accuracy.csv", "cohorts.csv", "run.json",
}  # fmt: skip
AUDIENCES = ["executive", "manager", "operations", "rep", "sdr", "forecast"]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("team", ["emea", "na", "apac"])
def test_every_team_publishes_the_full_folder(built, team):
    root, results = built
    out = root / "reports" / team / REPORT_MONTH
    assert results[team].out_dir == out
    names = {p.name for p in out.iterdir()}
    assert names >= SPEC_FILES
    assert {f"{a}.html" for a in AUDIENCES} <= names
    assert {f"{a}.ipynb" for a in AUDIENCES} <= {p.name for p in (out / "notebooks").iterdir()}
    # nothing half-built or temporary is left beside it
    assert not [p for p in (root / "reports" / team).iterdir() if p.name.startswith(".build-")]
    archive = (root / "reports" / "index.html").read_text()
    # each month with its finding, as the team's own index states it
    headline = json.loads((out / "run.json").read_text())["headline"]
    assert (
        headline.startswith("Revenue ")
        and html.escape(headline) in (out / "index.html").read_text()
    )
    assert (
        f'<a href="{team}/{REPORT_MONTH}/index.html">October 2026</a> — {html.escape(headline)}'
        in archive
    )


def test_output_files_have_the_specified_columns(built):
    root, _ = built
    out = root / "reports" / "emea" / REPORT_MONTH
    kpis = pd.read_csv(out / "kpis.csv")
    assert list(kpis.columns) == [
        "metric",
        "window",
        "period",
        "segment",
        "value",
        "target",
        "prior",
        "unit",
    ]
    assert set(kpis["window"]) == {"month", "qtd", "ytd", "trailing12"}
    assert kpis["period"].max() == REPORT_MONTH
    assert kpis.loc[kpis["window"] == "month", "period"].nunique() >= 24
    fc = pd.read_csv(out / "forecast.csv")
    assert list(fc.columns) == [
        "period",
        "model",
        "selected",
        "point",
        "lo80",
        "hi80",
        "lo95",
        "hi95",
    ]
    # made in the report month, it covers the next month onward
    assert fc["period"].min() == str(pd.Period(REPORT_MONTH, "M") + 1)
    assert fc["selected"].astype(str).str.lower().eq("true").groupby(fc["period"]).sum().eq(1).all()
    # where each open quarter and year ends is the revenue so far plus the published
    # forecast of its later months (one figure on every page), inside the likely range
    chosen = fc[fc["selected"].astype(str).str.lower().eq("true")].set_index("period")["point"]
    tg = pd.read_csv(out / "forecast_targets.csv")
    assert len(tg)
    for row in tg.itertuples():
        later = chosen[(chosen.index >= row.first_month) & (chosen.index <= row.last_month)]
        assert row.expected == pytest.approx(row.actual_to_date + later.sum(), rel=1e-9)
        assert row.lo80 <= row.expected <= row.hi80
    acc = pd.read_csv(out / "forecast_accuracy.csv")
    assert list(acc.columns[:7]) == [
        "model",
        "origin",
        "horizon",
        "kind",
        "actual",
        "forecast",
        "ape",
    ]
    co = pd.read_csv(out / "cohorts.csv")
    assert list(co.columns) == [
        "cohort",
        "months_since",
        "customers",
        "active",
        "retention",
        "revenue",
        "revenue_retention",
    ]


def test_run_json_records_what_an_auditor_needs(built, sample_dir):
    import subprocess

    root, _ = built
    doc = json.loads((root / "reports" / "emea" / REPORT_MONTH / "run.json").read_text())
    assert doc["team"] == "emea" and doc["month"] == REPORT_MONTH
    assert doc["parameters"]["currency"] == "EUR"
    tables = doc["inputs"]["tables"]
    for name in ("opportunities", "orders", "reps"):  # the fingerprint of the very file read
        digest = hashlib.sha256((sample_dir / f"{name}.csv").read_bytes()).hexdigest()
        assert tables[name]["sha256"] == digest
    assert doc["versions"]["pandas"] == pd.__version__
    # the commit of the code that made the report
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert doc["git_commit"] == head.stdout.strip()
    for step in ("Load and validate data", "Compute KPIs, cohorts and forecasts", "Run notebooks"):
        assert doc["timings_seconds"][step] >= 0


@pytest.mark.parametrize("team", ["emea", "na", "apac"])
def test_stakeholder_html_has_no_code_prompts_parameters_or_outside_resources(built, team):
    root, _ = built
    out = root / "reports" / team / REPORT_MONTH
    for page in ["index"] + AUDIENCES:
        text = (out / f"{page}.html").read_text()
        assert not re.search(r'class="[^"]*jp-(InputArea|CodeMirrorEditor)', text), (
            f"{page}: code cell shown"
        )
        assert not re.search(r'class="[^"]*jp-InputPrompt', text) and "In&nbsp;[" not in text
        assert "run_dir" not in text and "injected-parameters" not in text
        assert "from salesreport" not in text and "Traceback" not in text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), (
            f"{page}: loads something from outside"
        )
        assert "<script src=" not in text
    exe = (out / "executive.html").read_text()
    assert "data:image/png;base64" in exe and 'class="sr-toc"' in exe


def test_executed_notebooks_ran_top_to_bottom_and_committed_ones_are_clean(built):
    root, _ = built
    nb = nbformat.read(
        root / "reports" / "emea" / REPORT_MONTH / "notebooks" / "executive.ipynb", as_version=4
    )
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == sorted(counts) and None not in counts
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        clean = nbformat.read(path, as_version=4)
        tagged = [c for c in clean.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one parameters cell"
        assert all(
            not c.get("outputs") and not c.get("execution_count")
            for c in clean.cells
            if c.cell_type == "code"
        )


def test_reruns_give_byte_identical_numbers(tmp_path, sample_dir, monkeypatch):
    from salesreport.pipeline import Progress, run_report

    root = _project(tmp_path)
    monkeypatch.setenv("SALESREPORT_HOME", str(root))
    params = root / "params" / "one.yaml"
    params.write_text(
        "team: one\naudiences: [executive]\nfilters: {region: [DE, UK, FR, NL, ES]}\n"
        "fx_rates: {GBP: 1.17, USD: 0.92}\n"
    )
    digests = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        run_report(
            params_file=str(params),
            month=REPORT_MONTH,
            data=str(sample_dir),
            out=str(out),
            progress=Progress(quiet=True),
        )
        digests.append(
            {
                n: hashlib.sha256((out / n).read_bytes()).hexdigest()
                for n in (
                    "kpis.csv",
                    "cohorts.csv",
                    "forecast.csv",
                    "forecast_accuracy.csv",
                    "okrs.csv",
                )
            }
        )
    assert digests[0] == digests[1]


# --------------------------------------------------------------------------- own data, one table


@pytest.mark.parametrize("table", ["orders", "opportunities"])
def test_a_folder_with_one_table_gets_a_full_report(tmp_path, sample_dir, monkeypatch, table):
    src = pd.read_csv(sample_dir / f"{table}.csv", dtype=str)
    src = src[src["region"].isin(["DE", "FR", "NL", "ES"])]
    data = tmp_path / "data"
    data.mkdir()
    src.to_csv(data / f"{table}.csv", index=False)
    if table == "opportunities":  # with stage history the pipeline forecast is scored too
        sh = pd.read_csv(sample_dir / "stage_history.csv", dtype=str)
        sh[sh["opportunity_id"].isin(src["opportunity_id"])].to_csv(
            data / "stage_history.csv", index=False
        )
    params = tmp_path / "mine.yaml"
    params.write_text("team: mine\n")
    out = tmp_path / "out"
    proc = run_cli(
        "report",
        "--params",
        str(params),
        "--data",
        str(data),
        "--month",
        REPORT_MONTH,
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= SPEC_FILES
    kpis = pd.read_csv(out / "kpis.csv")
    assert kpis.loc[kpis["metric"] == "revenue", "value"].notna().any()
    acc = pd.read_csv(out / "forecast_accuracy.csv")
    assert ("pipeline" in set(acc["model"])) == (table == "opportunities")
    # the report says which table would unlock the sections it cannot show
    ops = (out / "operations.html").read_text()
    if table == "orders":
        assert "Pipeline bridge needs the opportunities table" in ops
        assert "needs the stage_history table" in ops
    else:
        assert "The lead steps of the funnel needs the leads table" in ops
        assert "needs the opportunities table" not in ops


def test_every_table_with_only_its_required_columns_gets_a_full_report(tmp_path, sample_dir):
    """The contract makes many columns optional (leads' ``opportunity_id`` and
    ``converted_date``, orders' ``currency`` and ``region``, ...): a folder of every table
    holding only its required columns publishes every page, with one page per AE."""
    from salesreport.tables import TABLES

    data = tmp_path / "data"
    data.mkdir()
    for path in sorted(sample_dir.glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.stem == "reps":  # a few AE pages are enough
            df = df[df["region"] == "DE"]
        df[TABLES[path.stem].required].to_csv(data / path.name, index=False)
    params = tmp_path / "bare.yaml"
    params.write_text("team: bare\nper_rep: true\n")
    out = tmp_path / "out"
    proc = run_cli(
        "report", "--params", str(params), "--data", str(data), "--month", REPORT_MONTH,
        "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= SPEC_FILES
    assert list(out.glob("rep-*.html"))
    sdr = (out / "sdr.html").read_text()
    assert "Leads created" in sdr and "Leads converted" not in sdr  # nothing tells a conversion


def test_per_rep_pages_for_the_aes_employed_in_the_month(project, sample_dir, tmp_path):
    """``per_rep: true``: one page per AE employed in the month, named, linked from the index."""
    import csv
    import shutil

    from salesreport.pipeline import Progress, run_report

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    keep = {"R0213", "R0228"}  # EMEA AEs employed in October 2026: every other AE leaves in 2025
    with (data / "reps.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["role"] == "ae" and r["rep_id"] not in keep:
            r["leave_date"] = min(r["leave_date"] or "2025-12-31", "2025-12-31")
    with (data / "reps.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    p = project / "params" / "emea.yaml"
    p.write_text(p.read_text() + "audiences: [rep]\nper_rep: true\n")
    res = run_report(team="emea", month=REPORT_MONTH, data=str(data), progress=Progress(quiet=True))
    out = res.out_dir
    assert sorted(x.name for x in out.glob("rep*.html")) == [
        "rep-R0213.html", "rep-R0228.html", "rep.html",
    ]  # fmt: skip
    names = {}
    with (data / "reps.csv").open(newline="", encoding="utf-8") as f:
        names = {r["rep_id"]: r["name"] for r in csv.DictReader(f)}
    index = (out / "index.html").read_text()
    listed = re.findall(r'<li><a href="rep-[^"]+\.html">([^<]+)</a></li>', index)
    assert listed == sorted((f"{names[r]} ({r})" for r in keep), key=str.casefold)  # by name
    for rep in keep:
        label = f"{names[rep]} ({rep})"
        assert f'href="rep-{rep}.html"' in index and label in index
        page = (out / f"rep-{rep}.html").read_text()
        assert label in page  # title and findings name the rep
        subtitle = html.unescape(re.search(r'<p class="sr-subtitle">([^<]*)</p>', page)[1])
        assert subtitle.startswith("One AE's attainment, wins, pipeline and activity. Data up")
        assert re.search(r"of quota year to date|booked year to date|no bookings", page)
        assert "activities logged in October" in page


# --------------------------------------------------------------------------- failures


def _break_notebook(root: Path, code: str) -> None:
    path = root / "notebooks" / "executive.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell(code))
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def _one_page_template(tmp_path_factory, sample_dir):
    """A project with a published EMEA report (executive page only), built once for the module."""
    from salesreport.pipeline import Progress, run_report

    root = _project(tmp_path_factory.mktemp("one-page"))
    p = root / "params" / "emea.yaml"
    # 120 s: a cell waits for the frames it reads while the main process computes them (20 s
    # timed out on a loaded 2-core machine); the timeout case sets its own limit
    p.write_text(p.read_text() + "audiences: [executive]\nnotebook_timeout: 120\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SALESREPORT_HOME", str(root))
        run_report(
            team="emea", month=REPORT_MONTH, data=str(sample_dir), progress=Progress(quiet=True)
        )
    return root


@pytest.fixture()
def one_page_project(tmp_path, _one_page_template, monkeypatch):
    """A copy of that project for a test to fail against (its executed notebook names the
    folder it was built in, which no test here reads)."""
    root = tmp_path / "project"
    shutil.copytree(_one_page_template, root, symlinks=True)
    monkeypatch.setenv("SALESREPORT_HOME", str(root))
    out = root / "reports" / "emea" / REPORT_MONTH
    return root, out, tree_digest(out)


@pytest.mark.parametrize(
    "code, expected",
    [
        ("raise RuntimeError('boom in a cell')", "RuntimeError"),
        ("import os; os._exit(1)", "kernel died"),
        ("import time; time.sleep(60)", "longer than the 20 s"),
    ],
    ids=["cell-raises", "kernel-dies", "timeout"],
)
def test_a_failing_notebook_publishes_nothing_and_keeps_the_old_report(
    one_page_project, sample_dir, code, expected
):
    from salesreport.pipeline import Progress, run_report

    root, out, before = one_page_project
    _break_notebook(root, code)
    if "sleep" in code:
        p = root / "params" / "emea.yaml"
        p.write_text(p.read_text().replace("notebook_timeout: 120", "notebook_timeout: 20"))
    with pytest.raises(NotebookError) as e:
        run_report(
            team="emea", month=REPORT_MONTH, data=str(sample_dir), progress=Progress(quiet=True)
        )
    kept = root / "reports" / "emea" / ".failed" / REPORT_MONTH / "executive.ipynb"
    # the message names the broken cell: its number among the executed notebook's code cells
    code_cells = [c for c in nbformat.read(kept, as_version=4).cells if c.cell_type == "code"]
    number = next(i for i, c in enumerate(code_cells, 1) if c.source == code)
    assert f"executive.ipynb, cell {number} failed" in str(e.value) and expected in str(e.value)
    assert tree_digest(out) == before
    assert not [p for p in (root / "reports" / "emea").iterdir() if p.name.startswith(".build-")]


def test_the_cli_names_notebook_and_cell_and_exits_4(one_page_project, sample_dir):
    root, out, before = one_page_project
    _break_notebook(root, "raise ValueError('bad number')")
    proc = run_cli(
        "report", "--team", "emea", "--month", REPORT_MONTH, "--data", str(sample_dir),
        SALESREPORT_HOME=str(root),
    )  # fmt: skip
    assert proc.returncode == 4
    assert re.search(
        r"notebook executive\.ipynb, cell \d+ failed: ValueError: bad number", proc.stderr
    )
    assert "nothing was published" in proc.stderr and "Traceback" not in proc.stderr
    assert tree_digest(out) == before


def _fail_publishing(monkeypatch):
    """Make the new report fail to land (a full disk) once the old one is moved aside;
    returns the real ``os.replace``, to put back."""
    from salesreport import pipeline

    real = os.replace

    def flaky(src, dst):
        if Path(src).name == "out" and ".build-" in str(src):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(pipeline.os, "replace", flaky)
    return real


def test_a_publish_failure_leaves_the_previous_report(one_page_project, sample_dir, monkeypatch):
    from salesreport import pipeline

    root, out, before = one_page_project
    real = _fail_publishing(monkeypatch)
    with pytest.raises(PublishError, match="previous report is unchanged"):
        pipeline.run_report(
            team="emea",
            month=REPORT_MONTH,
            data=str(sample_dir),
            progress=pipeline.Progress(quiet=True),
        )
    monkeypatch.setattr(pipeline.os, "replace", real)
    assert tree_digest(out) == before


def test_a_publish_failure_leaves_the_forecast_ledger_as_it_was(
    one_page_project, sample_dir, monkeypatch
):
    """The ledgers (forecasts, target chances) are recorded just before publishing; a run that
    then fails to publish puts them back: a month never published leaves nothing in them."""
    from salesreport import pipeline

    root, _out, _before = one_page_project
    ledgers = [root / "reports" / "emea" / n for n in ("forecast_ledger.csv", "target_ledger.csv")]
    before = [ledger.read_bytes() for ledger in ledgers]
    real = _fail_publishing(monkeypatch)
    with pytest.raises(PublishError):
        pipeline.run_report(  # a month not yet in the ledger: its rows would be new
            team="emea",
            month="2026-09",
            data=str(sample_dir),
            progress=pipeline.Progress(quiet=True),
        )
    monkeypatch.setattr(pipeline.os, "replace", real)
    assert [ledger.read_bytes() for ledger in ledgers] == before
    assert not (root / "reports" / "emea" / "2026-09").exists()


def test_ctrl_c_publishes_nothing_and_leaves_no_kernels(one_page_project, sample_dir, tmp_path):
    """Ctrl-C in a terminal: SIGINT to the whole foreground process group while a cell runs."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    root, out, before = one_page_project
    marker = tmp_path / "kernel.pid"
    _break_notebook(
        root,
        f"import os, pathlib, time; pathlib.Path({str(marker)!r}).write_text(str(os.getpid())); "
        "time.sleep(300)",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "salesreport", "report", "--team", "emea",
         "--month", REPORT_MONTH, "--data", str(sample_dir)],
        cwd=ROOT, env={**os.environ, "CI": "1", "SALESREPORT_HOME": str(root)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
        # a terminal's foreground job takes Ctrl-C even when pytest itself runs in the
        # background of a script, where SIGINT is ignored and children inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the notebook never reached the sleeping cell"
            time.sleep(0.2)
        kernel = psutil.Process(int(marker.read_text()))
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        assert kernel in family  # the kernel is a descendant of the run
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted; nothing was published" in err and "Traceback" not in err
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"left running after Ctrl-C: {[p.cmdline()[:3] for p in alive]}"
    assert tree_digest(out) == before
    emea = root / "reports" / "emea"
    assert not [p for p in emea.iterdir() if p.name.startswith(".build-")]
    assert not (emea / f".{REPORT_MONTH}.lock").exists() or _lock_is_free(emea)


def _lock_is_free(folder: Path) -> bool:
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(folder / f".{REPORT_MONTH}.lock"), timeout=0):
            return True
    except Timeout:
        return False


def test_bad_data_starts_no_kernel_and_publishes_nothing(one_page_project, sample_dir, tmp_path):
    """The pages' workers and kernels start once the data is loaded: a data error (exit 3)
    starts none, and every process the run started (the forecast process) is gone."""
    import shutil
    import subprocess
    import sys

    import psutil

    root, out, before = one_page_project
    data = tmp_path / "bad"
    shutil.copytree(sample_dir, data)
    text = (data / "opportunities.csv").read_text(encoding="utf-8").splitlines()
    cols = text[0].split(",")
    (data / "opportunities.csv").write_text(
        ",".join(c for c in cols if c != "amount") + "\n", encoding="utf-8"
    )  # no data rows, and the required amount column is gone
    # every Python process the run starts writes its pid, parent and command line as it
    # starts (no polling: a worker the run stops within milliseconds is still seen)
    hook, seen = tmp_path / "hook", tmp_path / "started"
    hook.mkdir()
    seen.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, sys\n"
        f"with open(os.path.join({str(seen)!r}, str(os.getpid())), 'w') as f:\n"
        "    f.write(f'{os.getppid()}\\n' + '\\0'.join(sys.orig_argv))\n"
    )
    env = {**os.environ, "CI": "1", "SALESREPORT_HOME": str(root), "PYTHONPATH": str(hook)}
    proc = subprocess.run(
        [sys.executable, "-m", "salesreport", "report", "--team", "emea",
         "--month", REPORT_MONTH, "--data", str(data)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    err = proc.stderr
    started = {}
    for f in seen.iterdir():
        parent, argv = f.read_text().split("\n", 1)
        started[int(f.name)] = (int(parent), argv.split("\0"))
    (cli,) = [pid for pid, (parent, _) in started.items() if parent == os.getpid()]
    workers = [
        pid for pid, (parent, argv) in started.items()
        if parent == cli and "salesreport.execute" in argv
    ]  # fmt: skip
    assert workers == [], started  # the data was refused before any page could start
    assert any("salesreport.forecast.process" in argv for _, argv in started.values())
    assert proc.returncode == 3, err
    assert "opportunities.csv" in err and "Traceback" not in err
    family = []
    for pid in started:  # the run's worker and any kernel it started: all gone
        with contextlib.suppress(psutil.NoSuchProcess):
            family.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(family, timeout=30)  # a loaded machine stops them slowly
    assert not alive, f"left running: {[p.cmdline()[:3] for p in alive]}"
    assert tree_digest(out) == before
    emea = root / "reports" / "emea"
    assert not (emea / ".failed").exists()  # no notebook ran: nothing to debug there
    assert not [p for p in emea.iterdir() if p.name.startswith(".build-")]


@pytest.mark.parametrize("large", [False, True], ids=["ordinary", "large"])
def test_pages_start_with_the_numbers_or_after_them_and_a_failure_stops_them(
    one_page_project, sample_dir, monkeypatch, large
):
    """An ordinary team's pages start while its numbers are computed; a large team's
    (more rows than PAGES_AFTER_ROWS) after them. A failure while the numbers are computed
    stops the pages already started and publishes nothing."""
    from salesreport import pipeline

    root, out, before = one_page_project
    if large:
        monkeypatch.setattr(pipeline, "PAGES_AFTER_ROWS", 1000)  # the sample's EMEA: 59k rows
    started, real_start, real_compute = [], pipeline.start_workers, pipeline._compute
    computing = []

    def start(*args, **kwargs):
        procs = real_start(*args, **kwargs)
        started.append((bool(computing), procs))
        return procs

    def compute(*args, **kwargs):
        computing.append(True)
        assert [after for after, _ in started] == ([] if large else [False])
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(pipeline, "start_workers", start)
    monkeypatch.setattr(pipeline, "_compute", compute)
    with pytest.raises(RuntimeError, match="the engine broke"):
        pipeline.run_report(
            team="emea", month=REPORT_MONTH, data=str(sample_dir),
            progress=pipeline.Progress(quiet=True),
        )  # fmt: skip
    assert computing == [True]
    assert all(p.poll() is not None for _, procs in started for p in procs)
    assert tree_digest(out) == before
    if large:  # and a whole run: the pages start after the numbers (and the output files)
        computing.clear()
        monkeypatch.setattr(pipeline, "_compute", _noting(real_compute, computing))
        pipeline.run_report(
            team="emea", month=REPORT_MONTH, data=str(sample_dir),
            progress=pipeline.Progress(quiet=True),
        )  # fmt: skip
        assert [after for after, _ in started] == [True]
        assert (out / "executive.html").exists()


def _noting(fn, calls: list):
    def noted(*args, **kwargs):
        result = fn(*args, **kwargs)
        calls.append(True)
        return result

    return noted


def test_a_second_run_for_the_same_team_and_month_is_refused(project, sample_dir):
    from filelock import FileLock

    from salesreport.pipeline import Progress, run_report

    lock = FileLock(str(project / "reports" / "emea" / f".{REPORT_MONTH}.lock"))
    (project / "reports" / "emea").mkdir(parents=True, exist_ok=True)
    with lock, pytest.raises(LockedError, match="in progress"):
        run_report(
            team="emea", month=REPORT_MONTH, data=str(sample_dir), progress=Progress(quiet=True)
        )
    assert not (project / "reports" / "emea" / REPORT_MONTH).exists()


_FAIL_PUBLISH = """
import os
_real = os.replace
def _replace(src, dst):
    if str(src).endswith("/out") and ".build-" in str(src):
        raise {error}
    return _real(src, dst)
os.replace = _replace
"""


@pytest.mark.parametrize(
    ("error", "code", "said"),
    [
        ("OSError(28, 'No space left on device')", 5, "publish error: could not publish"),
        ("RuntimeError('injected fault')", 1, "unexpected error: RuntimeError: injected fault"),
    ],
    ids=["publish-fails-5", "unexpected-1"],
)
def test_the_cli_exit_code_when_publishing_fails(
    one_page_project, sample_dir, tmp_path, error, code, said
):
    """The command's own exit status (not the exception inside): a fault injected into the
    real CLI process at the moment the built folder is moved into place."""
    import subprocess
    import sys

    root, out, before = one_page_project
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_FAIL_PUBLISH.format(error=error))
    ledger = root / "reports" / "emea" / "forecast_ledger.csv"
    ledger_before = ledger.read_bytes()
    env = {**os.environ, "CI": "1", "SALESREPORT_HOME": str(root), "PYTHONPATH": str(hook)}
    proc = subprocess.run(
        [sys.executable, "-m", "salesreport", "report", "--team", "emea", "--month", REPORT_MONTH,
         "--data", str(sample_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == code, proc.stderr
    assert said in proc.stderr and "Traceback" not in proc.stderr
    assert tree_digest(out) == before and ledger.read_bytes() == ledger_before


def test_three_runs_at_once_one_builds_the_others_exit_6(one_page_project, sample_dir):
    """Three ``salesreport report`` processes for one team and month started together: one
    builds and publishes, the two others are refused with exit 6 and publish nothing."""
    import subprocess
    import sys

    root, out, before = one_page_project
    env = {**os.environ, "CI": "1", "SALESREPORT_HOME": str(root)}
    cmd = [sys.executable, "-m", "salesreport", "report", "--team", "emea",
           "--month", REPORT_MONTH, "--data", str(sample_dir)]  # fmt: skip
    procs = [
        subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(3)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 6, 6], results
    for code, err in results:
        if code == 6:
            assert "in progress" in err and "Wait for it to finish" in err
    after = tree_digest(out)
    assert after.keys() == before.keys()  # a whole report: the same files, rebuilt once
    json.loads((out / "run.json").read_text())
    # the lock file stays: removing it would let two later runs each hold "the" lock
    assert (root / "reports" / "emea" / f".{REPORT_MONTH}.lock").exists()


def test_a_symlink_under_reports_is_refused(project, tmp_path, sample_dir):
    from salesreport.pipeline import Progress, run_report

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "reports" / "emea").symlink_to(elsewhere)
    with pytest.raises(ParameterError, match="symbolic link"):
        run_report(
            team="emea", month=REPORT_MONTH, data=str(sample_dir), progress=Progress(quiet=True)
        )
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- months, --out


def _executive_only(root: Path) -> Path:
    params = root / "params" / "one.yaml"
    params.write_text(
        "team: one\naudiences: [executive]\nfilters: {region: [DE, UK, FR, NL, ES]}\n"
        "fx_rates: {GBP: 1.17, USD: 0.92}\n"
    )
    return params


def test_a_month_not_over_is_refused_and_built_to_date_only_when_asked(
    tmp_path, sample_dir, monkeypatch
):
    from salesreport.pipeline import Progress, run_report

    root = _project(tmp_path)
    monkeypatch.setenv("SALESREPORT_HOME", str(root))
    monkeypatch.setenv("SALESREPORT_TODAY", "2026-10-15")  # October is not over
    params = _executive_only(root)
    run = dict(params_file=str(params), data=str(sample_dir), progress=Progress(quiet=True))
    with pytest.raises(
        ParameterError, match="2026-10 is not over yet: the last complete month is 2026-09"
    ):
        run_report(month=REPORT_MONTH, **run)
    with pytest.raises(ParameterError, match="2026-11 has not begun"):
        run_report(month="2026-11", allow_partial=True, **run)
    out = tmp_path / "partial"
    run_report(month=REPORT_MONTH, allow_partial=True, out=str(out), **run)
    page = (out / "executive.html").read_text()
    assert "ONE · Executive summary · October 2026, month to date" in page
    assert "Data up to 15 October 2026" in page and "October is not over" in page
    assert "Revenue, month to date" in page  # the month's tile
    assert "October 2026, month to date" in (out / "index.html").read_text()
    doc = json.loads((out / "run.json").read_text())
    assert doc["partial"] is True and doc["data_up_to"] == "2026-10-15"
    # a forecast made from half a month is not recorded: no ledger anywhere
    assert not (out / "forecast_ledger.csv").exists()
    assert not list(tmp_path.rglob("forecast_ledger.csv"))


def test_the_cli_says_what_is_wrong_with_a_month_or_a_team_and_exits_2(sample_dir):
    bad = run_cli("report", "--team", "emea", "--month", "2026-13", "--data", str(sample_dir))
    assert bad.returncode == 2 and "there is no month 13" in bad.stderr
    later = run_cli(
        "report", "--team", "emea", "--month", "2026-11", SALESREPORT_TODAY="2026-10-15"
    )
    assert later.returncode == 2
    assert "2026-11 has not begun: the last complete month is 2026-09" in later.stderr
    typo = run_cli("report", "--team", "emae")
    assert typo.returncode == 2 and "did you mean 'emea'?" in typo.stderr
    empty = run_cli("report", "--team", "")
    assert empty.returncode == 2 and "the team is empty" in empty.stderr


def test_out_refuses_a_folder_that_is_not_a_report_and_touches_nothing(tmp_path):
    """Publishing replaces the ``--out`` folder whole (the old one is removed): a folder holding
    anything but a report, a file or a link is refused before anything runs (exit 2), and left
    as it was. Before, ``--out ~/Documents`` ran the report and replaced the user's folder."""
    from salesreport.pipeline import check_out_folder

    mine = tmp_path / "Documents"
    (mine / "taxes").mkdir(parents=True)
    (mine / "cv.pdf").write_bytes(b"%PDF")
    (mine / "taxes" / "2025.xlsx").write_bytes(b"PK")
    before = tree_digest(tmp_path)
    proc = run_cli("report", "--team", "emea", "--month", REPORT_MONTH, "--out", str(mine))
    assert proc.returncode == 2, proc.stderr
    assert f"--out {mine} already holds other things (cv.pdf, taxes)" in proc.stderr
    assert "nothing there was touched" in proc.stderr and "[2] Load" not in proc.stderr
    assert tree_digest(tmp_path) == before  # no build folder or lock beside it either

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="is a file"):
        check_out_folder(tmp_path / "notes.txt")
    (tmp_path / "link").symlink_to(mine)
    with pytest.raises(ParameterError, match="is a symbolic link"):
        check_out_folder(tmp_path / "link")
    (mine / "run.json").write_text('{"team": "emea"}')  # no month: not what a run writes
    with pytest.raises(ParameterError, match="already holds other things"):
        check_out_folder(mine)
    # a new folder, an empty one, and a report published before are written
    check_out_folder(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_out_folder(tmp_path / "empty")
    report = tmp_path / "report"
    report.mkdir()
    (report / "run.json").write_text(json.dumps({"team": "emea", "month": "2026-09"}))
    (report / "kpis.csv").write_text("metric\n")
    check_out_folder(report)


def test_with_out_the_ledger_is_kept_inside_the_folder_and_grows_run_after_run(
    tmp_path, sample_dir, monkeypatch
):
    from salesreport.pipeline import Progress, run_report

    root = _project(tmp_path)
    monkeypatch.setenv("SALESREPORT_HOME", str(root))
    params = _executive_only(root)
    out = tmp_path / "site" / "latest"
    for month in ("2026-09", REPORT_MONTH):
        run_report(params_file=str(params), month=month, data=str(sample_dir), out=str(out),
                   progress=Progress(quiet=True))  # fmt: skip
    ledger = pd.read_csv(out / "forecast_ledger.csv")
    assert sorted(ledger["made_in"].astype(str).unique()) == ["2026-09", REPORT_MONTH]
    chances = pd.read_csv(out / "target_ledger.csv")
    assert sorted(chances["made_in"].astype(str).unique()) == ["2026-09", REPORT_MONTH]
    # beside the folder only its run lock (kept, see run_report), nothing under reports/
    assert sorted(p.name for p in out.parent.iterdir()) == [".latest.lock", "latest"]
    assert not list((root / "reports").rglob("*.csv"))


@pytest.mark.parametrize("all_teams", [False, True])
def test_the_run_lets_its_numbers_and_tables_go_while_the_pages_run(
    tmp_path, sample_dir, monkeypatch, all_teams
):
    """Once the output files and the index are written, the run's process keeps only what
    publishing needs (the headline, the month's forecasts): no context, no tables, no engine
    while the pages' kernels run. What it publishes is still whole."""
    import gc
    import weakref

    from salesreport import pipeline

    root = _project(tmp_path)
    monkeypatch.setenv("SALESREPORT_HOME", str(root))
    for p in (root / "params").glob("*.yaml"):
        if p.stem in ("na", "apac"):  # one team: --all-teams builds only EMEA
            p.unlink()
    p = root / "params" / "emea.yaml"
    # and more KPI rows than kpis.csv takes: what it leaves out is said (both paths)
    p.write_text(
        p.read_text() + "audiences: [executive]\nnotebook_timeout: 120\nkpis_csv_max_rows: 1000\n"
    )
    computed, seen = [], []
    keep = pipeline._Kept.of.__func__

    def of(cls, ctx, loaded):
        computed.append((weakref.ref(ctx), weakref.ref(ctx.frames["kpi_status"]), loaded))
        return keep(cls, ctx, loaded)

    monkeypatch.setattr(pipeline._Kept, "of", classmethod(of))

    def waiting(real):
        def wait(*args, **kwargs):
            gc.collect()
            seen.extend((c() is None, k() is None, lo.tables.present()) for c, k, lo in computed)
            return real(*args, **kwargs)

        return wait

    quiet = pipeline.Progress(quiet=True)
    if all_teams:
        monkeypatch.setattr(pipeline, "wait_every_job", waiting(pipeline.wait_every_job))
        (outcome,) = pipeline.run_all_teams(
            month=REPORT_MONTH, data=str(sample_dir), progress=quiet
        )
        assert outcome.exit_code == 0, outcome.error
    else:
        monkeypatch.setattr(pipeline, "wait_workers", waiting(pipeline.wait_workers))
        pipeline.run_report(team="emea", month=REPORT_MONTH, data=str(sample_dir), progress=quiet)
    assert seen == [(True, True, [])]  # the context and its frames gone, no table left
    out = root / "reports" / "emea" / REPORT_MONTH
    run = json.loads((out / "run.json").read_text())
    assert run["headline"].startswith("Revenue ") and run["inputs"]["tables"]["orders"]["rows_kept"]
    assert "kpis.csv leaves out" in run["left_out"]["kpis.csv"]
    assert "kpis.csv leaves out" in (out / "index.html").read_text()
    csv, parquet = pd.read_csv(out / "kpis.csv"), pd.read_parquet(out / "kpis.parquet")
    reps = parquet["segment"].str.startswith("owner_id=")
    # the sample's team and segment rows alone are more: kpis.csv keeps them, no rep's row;
    # the reps' rows of earlier months are not computed, kpis.parquet has the report month's
    assert "every per-rep row" in run["left_out"]["kpis.csv"] and reps.any()
    assert "are not computed" in run["left_out"]["kpis.parquet"]
    assert set(parquet.loc[reps, "period"]) == {REPORT_MONTH}
    assert csv["segment"].tolist() == parquet.loc[~reps, "segment"].tolist()
    ledger = pd.read_csv(root / "reports" / "emea" / "forecast_ledger.csv")
    assert (ledger["made_in"] == REPORT_MONTH).any()
