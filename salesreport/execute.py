"""Execute one audience notebook with papermill and convert it to HTML.

The pipeline runs this module as one child process per worker (``python -m
salesreport.execute JOB.json [JOB.json ...]``), each given every job in the
same order: a worker takes the next job no other worker has taken (see
:func:`claim`), so a worker that finishes a short notebook goes on at once.
Papermill and nbconvert are imported once per worker, notebooks run in
parallel across workers, a dying kernel cannot take the pipeline down, and
Ctrl-C reaches every kernel. A finished
job touches its ``done`` file; a failure is written to the job's ``error``
file as JSON (notebook, cell number, exception, message) and the child stops.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from pathlib import Path

KERNEL_NAME = "salesreport"


def ensure_kernel() -> str:
    """Register the project's kernel in this environment when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(prefix=sys.prefix, kernel_name=KERNEL_NAME, display_name="Python (salesreport)")
    return KERNEL_NAME


def _failed_cell(nb_path: Path) -> tuple[int | None, str, str]:
    """(cell number, exception name, message) of the first errored cell of an executed notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # the output may not have been written at all
        return None, "", ""
    code_no = 0
    unfinished = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_no += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return code_no, out.get("ename", ""), out.get("evalue", "")
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if unfinished is None and (status == "running" or cell.get("execution_count") is None):
            unfinished = code_no
    return unfinished, "", ""


def run_job(job: dict) -> int:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from salesreport.html import export_notebook_html

    out_nb = Path(job["output"])
    try:
        pm.execute_notebook(
            job["input"],
            str(out_nb),
            parameters=job["parameters"],
            kernel_name=job.get("kernel", KERNEL_NAME),
            execution_timeout=job.get("timeout"),
            progress_bar=False,
            log_output=False,
            cwd=job.get("cwd"),
            request_save_on_cell_execute=True,  # a dying kernel leaves the cells run so far
        )
    except PapermillExecutionError as exc:
        _write_error(job, exc.exec_count, exc.ename, exc.evalue, out_nb)
        return 1
    except BaseException as exc:  # noqa: BLE001 - dead kernel, timeout, interrupt: report and fail
        if not out_nb.exists():  # nothing saved yet: keep the input for debugging
            shutil.copyfile(job["input"], out_nb)
        cell, ename, evalue = _failed_cell(out_nb)
        name = type(exc).__name__
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        if "CellTimeoutError" in name or "Timeout" in name:
            msg = f"a cell ran longer than the {job.get('timeout')} s limit (notebook_timeout in the team's YAML)"
        elif "DeadKernel" in name:
            msg = "the kernel died while running a cell (out of memory, or the process exited)"
        _write_error(job, cell, ename or name, evalue or msg, out_nb)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        return 1
    export_notebook_html(
        out_nb, Path(job["html"]), job["title"], job["team_title"], job["month"], job["footer"]
    )
    if job.get("done"):
        Path(job["done"]).touch()
    return 0


def _write_error(job: dict, cell, ename: str, evalue: str, out_nb: Path) -> None:
    Path(job["error"]).write_text(
        json.dumps(
            {
                "notebook": Path(job["input"]).name,
                "cell": cell,
                "exception": ename,
                "message": evalue,
                "executed": str(out_nb),
                "traceback": traceback.format_exc(limit=3),
            }
        ),
        encoding="utf-8",
    )


def _skip_unused_slow_imports() -> None:
    """Start the worker ~1 s sooner: nbformat imports jsonschema, which imports
    ``rfc3987_syntax`` when it is installed (jupyter-events pulls it in) and that
    compiles ~40 grammars at import time, only to check the ``iri`` string format,
    which no notebook schema uses. Marking it absent in this process (and only here)
    makes jsonschema skip that checker, as it does when the package is not installed."""
    sys.modules.setdefault("rfc3987_syntax", None)


def claim(job_file: str | Path) -> bool:
    """Take a job for this process: creates ``<job file>.claim`` (holding the process id)
    only if no other worker has created it; ``False`` when the job is taken."""
    try:
        fd = os.open(f"{job_file}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    return True


def claimed_by(job_file: str | Path) -> int | None:
    """The process id of the worker that took the job, ``None`` while nobody has."""
    try:
        return int(Path(f"{job_file}.claim").read_text() or 0) or None
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _skip_unused_slow_imports()
    for path in argv:
        if not claim(path):
            continue
        code = run_job(json.loads(Path(path).read_text(encoding="utf-8")))
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
