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

import contextlib
import functools
import json
import os
import shutil
import sys
import traceback
from pathlib import Path

from salesreport.jobs import NotebookJob

KERNEL_NAME = "salesreport"


def ensure_kernel() -> str:
    """Register the project's kernel in this environment when it is missing.

    The kernel ``make setup`` registers (``<environment>/share/jupyter/kernels/salesreport``)
    is found without importing jupyter_client, which the pipeline would otherwise import
    before it can start its workers."""
    if (Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").is_file():
        return KERNEL_NAME
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(prefix=sys.prefix, kernel_name=KERNEL_NAME, display_name="Python (salesreport)")
    return KERNEL_NAME


def _failed_cell(nb_path: Path) -> tuple[int | None, str, str]:
    """(cell number, exception name, message) of the cell a run stopped in, from the executed
    notebook: the cell holding an error output, else the last cell papermill started (a
    kernel that died, a run stopped from outside). Cells are numbered as code cells, the
    parameters papermill injects included, which is the execution count of a full run."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # the output may not have been written at all
        return None, "", ""
    code_no = 0
    started = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_no += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return code_no, out.get("ename", ""), out.get("evalue", "")
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            started = code_no
    return started, "", ""


#: the papermill engine the workers run notebooks with (see :func:`register_engine`)
ENGINE_NAME = "salesreport"


@functools.cache
def register_engine() -> str:
    """Register :data:`ENGINE_NAME` with papermill: its nbclient engine, saving the executed
    notebook when the run starts, every ``autosave_cell_every`` seconds (30) inside a long
    cell, and when the run ends however it ends (papermill saves there in a ``finally``:
    an error in a cell, a dead kernel, a timeout or Ctrl-C leave every cell run so far,
    the one that stopped the last with a start time), but not before and after every cell.
    Registered once per process.

    Papermill's own engine rewrites the whole notebook, every chart in it, twice per
    cell, so the file can be watched while it runs: for a report page that is about 25
    rewrites of up to half a megabyte, validated each time, for a run that lasts seconds.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class _Manager(NotebookExecutionManager):
        _hold = False

        def save(self, **kwargs):
            if not self._hold:
                super().save(**kwargs)

        def _held(self, step, *args, **kwargs):
            self._hold = True
            try:
                return step(*args, **kwargs)
            finally:
                self._hold = False

        def cell_start(self, cell, cell_index=None, **kwargs):
            return self._held(super().cell_start, cell, cell_index, **kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            return self._held(super().cell_complete, cell, cell_index, **kwargs)

    class _Engine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb,
            kernel_name,
            output_path=None,
            progress_bar=True,
            log_output=False,
            autosave_cell_every=30,
            **kwargs,
        ):
            # papermill's Engine.execute_notebook, with the manager above
            nb_man = _Manager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(ENGINE_NAME, _Engine)
    return ENGINE_NAME


@functools.cache
def kernel_manager_class() -> type:
    """The kernel manager the workers start kernels with: jupyter_client's, talking to the
    kernel over Unix domain sockets in a folder of this process's own (removed when it
    exits) instead of TCP ports on localhost. On Windows, which has no such sockets, the
    default (TCP).

    A TCP kernel is given five free ports that jupyter_client finds by binding and
    releasing them before the kernel binds them itself; with two workers starting kernels
    at the same moment, another process can take one of them in between, and the kernel
    dies before it answers ("Kernel died before replying to kernel_info"). Socket files
    in a private folder cannot be taken by anyone else.
    """
    import atexit
    import tempfile

    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":
        return AsyncKernelManager
    folder = tempfile.mkdtemp(prefix="sr-kernel-")  # short: a socket path has ~100 bytes
    atexit.register(shutil.rmtree, folder, True)

    class _SocketFileKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(folder, "kernel"))
            super().__init__(**kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if process is not None:
                keep_session_priority(process.pid)

    return _SocketFileKernelManager


def keep_session_priority(pid: int) -> None:
    """Give the kernel ``pid`` this worker's priority (``nice``) where the scheduler would
    otherwise ignore it.

    jupyter_client starts each kernel in a session of its own, and Linux (with
    ``sched_autogroup_enabled``, the default of most distributions) shares the CPU fairly
    between sessions before it looks at a process's ``nice``: a kernel at nice 10 in its
    own session got as much CPU as the whole run's session, so two kernels starting while a
    team's numbers were computed took two thirds of a 2-core machine from the computation
    the pages wait for. The kernel's session is given the same ``nice`` (its
    ``/proc/PID/autogroup``; only lowering a priority, which needs no privilege). Elsewhere
    (no such file, another system) nothing is done."""
    niceness = os.nice(0) if hasattr(os, "nice") else 0
    if niceness <= 0:
        return
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))


#: how often a kernel that dies while starting, before it ran any cell, is started again
KERNEL_START_RETRIES = 2


def _died_starting(exc: BaseException, out_nb: Path) -> bool:
    """Whether ``exc`` is a kernel that died or hung while starting, before any cell ran:
    running the notebook again then repeats nothing."""
    text = str(exc)
    starting = isinstance(exc, RuntimeError) and (
        text.startswith("Kernel died before replying to kernel_info")
        or text.startswith("Kernel didn't respond in")
    )
    return starting and (not out_nb.exists() or _failed_cell(out_nb)[0] is None)


#: the kernels this worker keeps between pages that share a ``kernel_pool`` (the rep
#: notebook's pages of one AE each): one kernel per pool, reset before each page (see
#: :func:`_pooled_kernel`)
_POOL: dict[str, object] = {}


def _pooled_kernel(job: NotebookJob):
    """The kernel manager for a job with a ``kernel_pool``: this worker's kernel of that
    pool, cleared (:data:`RESET_CODE`: the page runs top to bottom as in a new kernel,
    only the imported modules stay loaded), or a new manager, whose kernel
    papermill starts and leaves running. ``None`` for other jobs: papermill starts a
    kernel for the page and kills it after."""
    from jupyter_core.utils import run_sync

    pool = job.kernel_pool
    if not pool:
        return None
    km = _POOL.get(pool)
    if km is not None:
        if run_sync(km.is_alive)():
            _reset_namespace(km)
            return km
        _drop_pooled(pool)  # it died between pages: its resources go, a new one starts
    km = _POOL[pool] = kernel_manager_class()(kernel_name=job.kernel)
    return km


#: what clears a pooled kernel between pages (IPython's ``%reset``, in a new session): the
#: user namespace, and the cell count, so that cells are numbered from 1 in the saved
#: notebook and in error messages (a count set back by hand clashes with the history's)
RESET_CODE = "get_ipython().reset(new_session=True)"


def _reset_namespace(km) -> None:
    """Reset a pooled kernel (:data:`RESET_CODE`): namespace and cell count as a new
    kernel has them."""
    from jupyter_core.utils import run_sync

    async def reset() -> dict:
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            return await kc.execute_interactive(
                RESET_CODE, store_history=False, timeout=60, output_hook=lambda msg: None
            )
        finally:
            kc.stop_channels()

    reply = run_sync(reset)()
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"could not clear the kernel between pages: {reply['content']}")


def _drop_pooled(pool: str | None = None) -> None:
    """Kill the pooled kernel of ``pool`` (of every pool when ``None``)."""
    from jupyter_core.utils import run_sync

    for name in [pool] if pool else list(_POOL):
        km = _POOL.pop(name, None)
        if km is None:
            continue
        with contextlib.suppress(Exception):  # already dead: nothing to stop
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        with contextlib.suppress(Exception):
            run_sync(km.cleanup_resources)()


def _execute(job: NotebookJob, out_nb: Path) -> None:
    """Papermill on the job's notebook; a kernel that dies while starting is started again
    (:data:`KERNEL_START_RETRIES` times), with a line on stderr each time. A job with a
    ``kernel_pool`` runs on that pool's kernel (:func:`_pooled_kernel`)."""
    import papermill as pm

    for attempt in range(KERNEL_START_RETRIES + 1):
        km = _pooled_kernel(job)
        try:
            pm.execute_notebook(
                job.input,
                str(out_nb),
                parameters=job.parameters,
                engine_name=register_engine(),
                kernel_name=job.kernel,
                kernel_manager_class=kernel_manager_class(),
                execution_timeout=job.timeout,
                progress_bar=False,
                # every output is in once the last cell replied: kill the kernel rather
                # than ask it to exit, which tears its interpreter down (~1 CPU s a page)
                shutdown_kernel="immediate",
                log_output=False,
                cwd=job.cwd,
                **({"km": km} if km is not None else {}),
            )
            return
        except Exception as exc:
            if km is not None:  # a failed page leaves its kernel in no known state
                _drop_pooled(job.kernel_pool)
            if attempt == KERNEL_START_RETRIES or not _died_starting(exc, out_nb):
                raise
            print(
                f"salesreport: the kernel for {job.notebook} died while starting "
                f"({exc}); starting it again",
                file=sys.stderr,
                flush=True,
            )


def run_job(job: NotebookJob) -> int:
    from papermill.exceptions import PapermillExecutionError

    from salesreport.html import export_notebook_html

    out_nb = Path(job.output)
    try:
        _execute(job, out_nb)
    except PapermillExecutionError as exc:
        _write_error(job, exc.exec_count, exc.ename, exc.evalue, out_nb)
        return 1
    except BaseException as exc:  # noqa: BLE001 - dead kernel, timeout, interrupt: report and fail
        if not out_nb.exists():  # nothing saved yet: keep the input for debugging
            shutil.copyfile(job.input, out_nb)
        cell, ename, evalue = _failed_cell(out_nb)
        name = type(exc).__name__
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        if "CellTimeoutError" in name or "Timeout" in name:
            msg = f"a cell ran longer than the {job.timeout} s limit (notebook_timeout in the team's YAML)"
        elif "DeadKernel" in name:
            msg = "the kernel died while running a cell (out of memory, or the process exited)"
        _write_error(job, cell, ename or name, evalue or msg, out_nb)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        return 1
    export_notebook_html(out_nb, job)
    if job.done:
        Path(job.done).touch()
    return 0


def _write_error(job: NotebookJob, cell, ename: str, evalue: str, out_nb: Path) -> None:
    Path(job.error).write_text(
        json.dumps(
            {
                "notebook": job.notebook,
                "cell": cell,
                "exception": ename,
                "message": evalue,
                "executed": str(out_nb),
                "traceback": traceback.format_exc(limit=3),
            }
        ),
        encoding="utf-8",
    )


#: optional packages that libraries import when installed, for features a report never uses
UNUSED_OPTIONAL_IMPORTS = {
    # nbformat imports jsonschema, which imports rfc3987_syntax when it is installed
    # (jupyter-events pulls it in); that compiles ~40 grammars at import time (~1 s), only
    # to check the ``iri`` string format, which no notebook schema uses
    "rfc3987_syntax": "worker",
}


def skip_unused_imports(process: str) -> None:
    """Mark the :data:`UNUSED_OPTIONAL_IMPORTS` of ``process`` (``"worker"``: a notebook
    worker) absent in this process, so the
    libraries that import them behave as when they are not installed. Called only at the
    start of those processes (never in a test session, which may use hypothesis); a package
    already imported is left alone."""
    for name, where in UNUSED_OPTIONAL_IMPORTS.items():
        if where == process:
            sys.modules.setdefault(name, None)


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
    """Run the job files given, each one no other worker has claimed. The first failing
    page stops this worker (its exit code), unless ``--keep-going`` comes first: then every
    page is tried (a failed one has its error file) and the worker exits 0, or 130 when
    interrupted. ``--nice N`` first: this process (and the kernels it starts) runs ``N``
    steps below its parent's priority (:data:`salesreport.pipeline.WORKER_NICE`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--nice"]:
        os.nice(int(argv[1]))
        argv = argv[2:]
    keep_going = bool(argv) and argv[0] == "--keep-going"
    skip_unused_imports("worker")
    try:
        for path in argv[1:] if keep_going else argv:
            if not claim(path):
                continue
            code = run_job(NotebookJob.read(path))
            if code == 130 or (code and not keep_going):
                return code
        return 0
    finally:
        _drop_pooled()


if __name__ == "__main__":
    raise SystemExit(main())
