"""The notebook worker: what it imports, how it saves, how its kernels start and talk to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _fresh_process(process: str, code: str) -> list[str]:
    """Lines printed by ``code`` in a new interpreter started as ``process`` starts."""
    prelude = (
        f"from salesreport.execute import skip_unused_imports\nskip_unused_imports({process!r})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_the_worker_imports_neither_pandas_nor_the_iri_grammar():
    # A worker only drives papermill and converts to HTML: pandas (~1 s) is left to the
    # kernels, and jsonschema's optional rfc3987_syntax (~1 s of grammar building) is skipped.
    code = (
        "import sys, papermill, nbformat, jsonschema\n"
        "from salesreport.html import export_notebook_html\n"
        "print(sorted({'pandas', 'rfc3987_syntax', 'lark'} & {m for m, v in sys.modules.items() if v}))\n"
    )
    assert _fresh_process("worker", code) == ["[]"]


def test_the_report_command_loads_and_checks_data_without_test_tools():
    """Validation is queries on the engine (no pandera, which imported hypothesis): the
    modules the salesreport command loads import none of the development tools."""
    code = (
        "import sys\n"
        "import salesreport.cli, salesreport.data, salesreport.data.load, salesreport.pipeline\n"
        "import salesreport.context, salesreport.kpis.compiler, salesreport.backends\n"
        "dev = {'hypothesis', 'pytest', 'playwright', 'pandera', 'ruff', 'statsforecast'}\n"
        "print(sorted(dev & {m.split('.')[0] for m, v in sys.modules.items() if v}))\n"
    )
    assert _fresh_process("report", code) == ["[]"]


def test_the_worker_engine_saves_at_start_and_end_not_around_every_cell(tmp_path, monkeypatch):
    import nbformat
    import papermill as pm
    import papermill.engines

    from salesreport.execute import ensure_kernel, register_engine

    saves: list[int] = []

    def counting_write(nb, path):
        saves.append(sum(1 for c in nb.cells if c.get("outputs")))
        nbformat.write(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counting_write)
    counts = {}
    for n_cells in (2, 8):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(f"print({i})") for i in range(n_cells)]
        nbformat.write(nb, tmp_path / "in.ipynb")
        saves.clear()
        out = pm.execute_notebook(
            str(tmp_path / "in.ipynb"),
            str(tmp_path / "out.ipynb"),
            engine_name=register_engine(),
            kernel_name=ensure_kernel(),
            progress_bar=False,
        )
        counts[n_cells] = list(saves)
        assert all(c.outputs for c in out.cells)  # every cell ran
    # one save as the run starts (no output yet), one at the end with every output
    assert counts == {2: [0, 2], 8: [0, 8]}


def _job(tmp_path, source: str, kernel: str, pool: str = ""):
    """A worker job (see salesreport.execute) running one code cell on ``kernel``."""
    import nbformat

    from salesreport.jobs import NotebookJob

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, tmp_path / "in.ipynb")
    return NotebookJob(
        page="t", input=str(tmp_path / "in.ipynb"), output=str(tmp_path / "out.ipynb"),
        html=str(tmp_path / "out.html"), error=str(tmp_path / "error.json"),
        done=str(tmp_path / "done"), parameters={}, timeout=120, kernel=kernel,
        cwd=str(tmp_path), title="t", team_title="t", month="-", footer="-", kernel_pool=pool,
    )  # fmt: skip


def test_kernels_talk_to_the_worker_over_socket_files_in_a_private_folder(tmp_path):
    # no TCP port to race another worker for: the kernel's own connection file says ipc,
    # its sockets live in a folder only this user can enter
    import nbformat

    from salesreport.execute import ensure_kernel, run_job

    code = (
        "import json, os\n"
        "from ipykernel.connect import get_connection_file\n"
        "info = json.load(open(get_connection_file()))\n"
        "print(info['transport'], oct(os.stat(os.path.dirname(info['ip'])).st_mode & 0o777))"
    )
    job = _job(tmp_path, code, ensure_kernel())
    assert run_job(job) == 0, (tmp_path / "error.json").read_text()
    out = nbformat.read(job.output, as_version=4)
    assert out.cells[-1].outputs[0]["text"].split() == ["ipc", "0o700"]
    assert (tmp_path / "done").exists()


@pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(), reason="no scheduler autogroups (Linux only)"
)
def test_a_kernel_in_its_own_session_keeps_the_workers_lower_priority(tmp_path):
    # jupyter_client starts a kernel in a new session; with autogroups the scheduler shares
    # the CPU between sessions before it reads a process's nice, so the kernel's session is
    # given the worker's nice too (else it competes with the run as an equal)
    import nbformat

    from salesreport.execute import ensure_kernel

    code = (
        "import os\n"
        "print(os.getsid(0) == os.getpid(), os.nice(0), open('/proc/self/autogroup').read())"
    )
    job = _job(tmp_path, code, ensure_kernel()).write(tmp_path / "job.json")
    subprocess.run(
        [sys.executable, "-m", "salesreport.execute", "--nice", "7", job.job_file],
        check=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    out = nbformat.read(job.output, as_version=4)
    session_leader, nice, group = out.cells[-1].outputs[0]["text"].split(None, 2)
    assert (session_leader, nice) == ("True", "7")
    assert group.split()[-2:] == ["nice", "7"]  # "/autogroup-123 nice 7"


def _gone(pid: int) -> bool:
    """Whether no process has the id ``pid`` (a kernel was stopped and reaped)."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_kernel_is_stopped_at_once_when_its_notebook_is_done_and_nothing_is_lost(tmp_path):
    # the worker kills the kernel after the last cell instead of asking it to exit (its
    # teardown, about a second per page, is skipped: an exit handler never runs); every
    # output is in by then, and the kernel and its socket files are gone
    import json

    import nbformat

    from salesreport.execute import ensure_kernel, run_job

    code = (
        "import json, os\n"
        "from ipykernel.connect import get_connection_file\n"
        "info = json.load(open(get_connection_file()))\n"
        "print(json.dumps({'pid': os.getpid(), 'ip': info['ip']}))\n"
        "print('x' * 300_000)\n"
        f"import atexit; atexit.register(open, {str(tmp_path / 'torn-down')!r}, 'w')"
    )
    job = _job(tmp_path, code, ensure_kernel())
    assert run_job(job) == 0, (tmp_path / "error.json").read_text()
    first, last = nbformat.read(job.output, as_version=4).cells[-1].outputs[0]["text"].splitlines()
    kernel = json.loads(first)
    assert last == "x" * 300_000
    assert _gone(kernel["pid"])
    assert not (tmp_path / "torn-down").exists()
    folder = Path(kernel["ip"]).parent
    assert not [p for p in folder.glob("*") if p.name.startswith(Path(kernel["ip"]).name)]


def test_pages_of_one_pool_share_a_kernel_cleared_between_pages(tmp_path):
    # the per-AE pages run one notebook many times: a worker runs them on one kernel, whose
    # namespace and cell count are reset before each page (a page sees nothing the previous
    # one defined),
    # and kills it when it has no job left; a page without a pool gets a kernel of its own

    import nbformat

    from salesreport.execute import ensure_kernel, main

    code = "import os\nprint(os.getpid(), 'left_over' in dir())\nleft_over = 1"
    files = []
    for i, pool in enumerate(["rep", "rep", "rep", ""]):
        folder = tmp_path / f"page{i}"
        folder.mkdir()
        files.append(folder / "job.json")
        _job(folder, code, ensure_kernel(), pool).write(files[-1])
    assert main([str(f) for f in files]) == 0
    seen = [
        nbformat.read(tmp_path / f"page{i}" / "out.ipynb", as_version=4).cells[-1].outputs[0]["text"].split()
        for i in range(4)
    ]  # fmt: skip
    assert [left for _, left in seen] == ["False"] * 4
    counts = {
        tuple(c.execution_count for c in nbformat.read(f.parent / "out.ipynb", as_version=4).cells)
        for f in files
    }
    assert counts == {(1,)}  # numbered from 1 on every page, as in a new kernel
    outputs = [nbformat.read(f.parent / "out.ipynb", as_version=4).cells[-1].outputs for f in files]
    assert [len(o) for o in outputs] == [1] * 4  # nothing but the page's own print
    pids = [int(pid) for pid, _ in seen]
    assert pids[0] == pids[1] == pids[2] != pids[3]
    assert all(_gone(pid) for pid in pids)


def test_a_failed_page_of_a_pool_stops_the_worker_and_its_kernel(tmp_path):
    # a page that fails on a pooled kernel stops the worker as any failed page does: the
    # error names the cell, the next page is not run, and the kernel does not outlive it
    import json

    import nbformat

    from salesreport.execute import ensure_kernel, main

    sources = ["import os; print(os.getpid())", "1 / 0", "print('not run')"]
    files = []
    for i, code in enumerate(sources):
        folder = tmp_path / f"page{i}"
        folder.mkdir()
        files.append(folder / "job.json")
        _job(folder, code, ensure_kernel(), "rep").write(files[-1])
    assert main([str(f) for f in files]) == 1
    error = json.loads((tmp_path / "page1" / "error.json").read_text())
    assert (error["cell"], error["exception"]) == (1, "ZeroDivisionError")
    assert not (tmp_path / "page2" / "out.ipynb").exists()
    out = nbformat.read(tmp_path / "page0" / "out.ipynb", as_version=4)
    assert _gone(int(out.cells[-1].outputs[0]["text"]))


def _flaky_kernel(tmp_path, monkeypatch, deaths: int) -> Path:
    """A kernel spec ``flaky`` whose process exits at once the first ``deaths`` times it is
    started, then runs ipykernel; each start appends a line to the returned file."""
    import json

    starts = tmp_path / "starts.txt"
    launcher = tmp_path / "launcher.py"
    launcher.write_text(
        "import runpy, sys\n"
        f"starts = {str(starts)!r}\n"
        "with open(starts, 'a') as fh:\n"
        "    fh.write('start\\n')\n"
        f"if sum(1 for _ in open(starts)) <= {deaths}:\n"
        "    sys.exit(1)\n"
        "sys.argv = ['ipykernel_launcher', *sys.argv[1:]]\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__')\n"
    )
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
                "display_name": "flaky",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return starts


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch, capsys):
    import nbformat

    from salesreport.execute import run_job

    starts = _flaky_kernel(tmp_path, monkeypatch, deaths=1)
    job = _job(tmp_path, "print(6 * 7)", "flaky")
    assert run_job(job) == 0, (tmp_path / "error.json").read_text()
    assert starts.read_text().count("start") == 2  # died once, ran the second time
    assert nbformat.read(job.output, as_version=4).cells[-1].outputs[0]["text"] == "42\n"
    err = capsys.readouterr().err
    assert "the kernel for in.ipynb died while starting" in err and "starting it again" in err


def test_a_kernel_that_never_starts_fails_the_job_after_its_retries(tmp_path, monkeypatch):
    import json

    from salesreport.execute import KERNEL_START_RETRIES, run_job

    starts = _flaky_kernel(tmp_path, monkeypatch, deaths=99)
    job = _job(tmp_path, "print(1)", "flaky")
    assert run_job(job) == 1
    assert starts.read_text().count("start") == KERNEL_START_RETRIES + 1
    error = json.loads((tmp_path / "error.json").read_text())
    assert error["cell"] is None and error["exception"] == "RuntimeError"
    assert error["message"] == "Kernel died before replying to kernel_info"


def test_a_kernel_that_never_starts_is_reported_with_what_it_printed(tmp_path):
    import json
    from dataclasses import replace

    from salesreport.pipeline import _failure

    job = replace(_job(tmp_path, "", "k"), page="executive", input="notebooks/executive.ipynb",
                  error=str(tmp_path / "e"))  # fmt: skip
    (tmp_path / "e").write_text(
        json.dumps({"cell": None, "exception": "RuntimeError",
                    "message": "Kernel died before replying to kernel_info"})
    )  # fmt: skip
    stderr = (
        "cut\none\ntwo\nTraceback (most recent call last):\n  File x\n  line\n"
        "ModuleNotFoundError: No module named 'zmq'\n"
        "Error occurred while starting new kernel client for kernel 1: Kernel died\n"
        "salesreport: the kernel for executive.ipynb died while starting; starting it again\n"
    )
    text = _failure(job, 1, stderr).text
    assert text.splitlines() == [
        "notebook executive.ipynb failed: RuntimeError: Kernel died before replying to kernel_info",
        "  last lines printed while starting the kernel:",  # the last 6
        "    one",
        "    two",
        "    Traceback (most recent call last):",
        "      File x",
        "      line",
        "    ModuleNotFoundError: No module named 'zmq'",
    ]
    # a cell that failed is reported by the cell alone: the worker's output is not its cause
    (tmp_path / "e").write_text(
        json.dumps({"cell": 3, "exception": "ValueError", "message": "bad"})
    )
    assert (
        _failure(job, 1, stderr).text == "notebook executive.ipynb, cell 3 failed: ValueError: bad"
    )
