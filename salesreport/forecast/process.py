"""The forecasts in a process of their own, beside the run's KPI computation.

A report's forecasts (:func:`salesreport.context.forecast_frames`: the candidate models and
their backtest, the pipeline forecast, trend, target chances) read a few small frames and
spend about a second of CPU, most of it in Python; the KPIs spend two more in the engine's
compiler. One after the other they are the time the pages wait for. :class:`ForecastProcess`
starts a process when the run starts (it imports the forecasting libraries while the data
is loaded), and computes each team's forecasts there while the run's own process computes
the cohorts and the KPIs.

The process is a new interpreter (``python -m salesreport.forecast.process``), never a fork
of a process that has an engine's threads, and not :mod:`multiprocessing`'s ``spawn``,
which runs the caller's ``__main__`` script again in the child (a script calling
:func:`salesreport.pipeline.run_report` without an ``if __name__ == "__main__"`` guard
would start a second report). Tasks and results go through two pipes of its own, as
:mod:`multiprocessing.connection` pickles them; it stops with the run, or when the run's
process is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

#: what the process imports while it waits for its first task (the imports the forecasts
#: would otherwise make on first use)
PRELOAD = (
    "salesreport.context",
    "salesreport.forecast.core",
    "salesreport.forecast.models",
    "salesreport.forecast.pipeline_forecast",
    "salesreport.forecast.trend",
    "statsmodels.tsa.seasonal",
    "sklearn.linear_model",
)


#: the process's priority below the run's (``nice``): its imports wait for the CPU the load
#: and the kernels' start need, and its forecasts run on a core those leave free
NICE = 10


class RemoteError(Exception):
    """An exception raised in the forecast process that could not be sent back as itself."""


def _serve(tasks, replies) -> None:
    """The process's loop: ``(function, argument)`` in from ``tasks``, ``("ok", result)`` or
    ``("error", exception, traceback text)`` out to ``replies``; ``None`` ends it."""
    import importlib

    # Ctrl-C reaches every process of the terminal: the run's process stops this one
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICE)
    for name in PRELOAD:
        importlib.import_module(name)
    while True:
        try:
            task = tasks.recv()
        except EOFError:  # the run's process is gone
            return
        if task is None:
            return
        fn, arg = task
        try:
            reply: tuple = ("ok", fn(arg))
        except BaseException as exc:  # noqa: BLE001 - sent to the run, which raises it
            reply = ("error", _portable(exc), traceback.format_exc())
        try:
            replies.send(reply)
        except Exception as exc:  # noqa: BLE001 - the result or the exception did not pickle
            text = reply[2] if reply[0] == "error" else traceback.format_exc()
            replies.send(("error", RemoteError(f"{type(exc).__name__}: {exc}"), text))
        # nothing of this task is kept while the process waits for the next (another team)
        task = fn = arg = reply = None


def _portable(exc: BaseException) -> BaseException:
    """``exc`` when the run's process can read it back (pickled and unpickled), else a
    :class:`RemoteError` with its type and message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception that does not make the round trip
        return RemoteError(f"{type(exc).__name__}: {exc}")
    return exc


class Pending:
    """A task sent to the forecast process; :meth:`result` waits for it. Its reply is read
    by a thread of the run's process as soon as the forecast process sends it, so that the
    forecast process, whose reply waits in the pipe until it is read, does not hold it (and
    the memory it computed it in) while the run computes its KPIs."""

    def __init__(self, owner: ForecastProcess) -> None:
        self._owner = owner
        self._reply: tuple | None = None
        self._thread = threading.Thread(target=self._read, name="forecast-reply", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._reply = ("reply", self._owner._replies.recv())  # noqa: SLF001
        except (EOFError, ConnectionResetError, OSError) as exc:  # the process is gone
            self._reply = ("gone", exc)
        self._owner._replied()  # noqa: SLF001

    def ready(self) -> bool:
        """Whether :meth:`result` returns at once (the result or the error has arrived, or
        the process is gone)."""
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join()
        return self._owner._receive(self._reply)  # noqa: SLF001 - one task at a time, in order


class ForecastProcess:
    """One process for the forecasts of a run (of every team in ``--all-teams``), one task at a
    time: :meth:`submit` sends a function and its argument, :meth:`Pending.result` returns
    what it returned or raises what it raised (its traceback in the error's ``__cause__``).

    Used as a context manager; :meth:`close` stops the process (a task still running is
    abandoned: the run has failed or was interrupted). ``tasks``: how many tasks the run
    sends; the process ends as soon as the last one's reply has arrived (its memory, about
    240 MB of libraries, goes while the run goes on)."""

    def __init__(self, tasks: int | None = None) -> None:
        from multiprocessing.connection import Connection

        self._left = tasks
        self._pending: Pending | None = None

        task_r, task_w = os.pipe()
        reply_r, reply_w = os.pipe()
        # the same salesreport as the run's (a source folder put on sys.path included)
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "salesreport.forecast.process", str(task_r), str(reply_w)],
                pass_fds=(task_r, reply_w),
                stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONPATH=path),
            )
        except BaseException:
            for fd in (task_w, reply_r):
                os.close(fd)
            raise
        finally:  # the child's ends: only the child holds them, so EOF means it is gone
            os.close(task_r)
            os.close(reply_w)
        self._tasks = Connection(task_w, readable=False)
        self._replies = Connection(reply_r, writable=False)

    @property
    def _busy(self) -> bool:
        """A task was sent whose reply has not arrived yet."""
        return self._pending is not None and not self._pending.ready()

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Pending:
        if self._pending is not None:  # a task whose run failed before it took the result
            with contextlib.suppress(Exception):  # (--all-teams): discarded
                self._pending.result()
        self._send((fn, arg))
        self._pending = Pending(self)
        return self._pending

    def _send(self, task) -> None:
        try:
            self._tasks.send(task)
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            raise self._died() from exc

    def _replied(self) -> None:
        """A reply has arrived (in :class:`Pending`'s thread): after the last task the process
        is asked to end."""
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                with contextlib.suppress(OSError):
                    self._tasks.send(None)

    def _receive(self, reply: tuple | None) -> Any:
        if self._pending is None:
            raise RuntimeError("no task was sent to the forecast process")
        self._pending = None
        kind, body = reply
        if kind == "gone":
            raise self._died() from body
        if body[0] == "ok":
            return body[1]
        exc = body[1]
        exc.__cause__ = RemoteError(f"in the forecast process:\n{body[2]}")
        raise exc

    def _died(self) -> RuntimeError:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        hint = " (killed: out of memory?)" if code == -signal.SIGKILL else ""
        return RuntimeError(f"the forecast process stopped ({why}){hint}; nothing was published")

    def close(self) -> None:
        """Stop the process: asked to end when it is idle, killed when it is busy or does
        not end within 2 s."""
        if self._proc.poll() is None:
            if not self._busy:
                with contextlib.suppress(OSError):
                    self._tasks.send(None)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=2)
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
        if self._pending is not None:  # its reading thread ends on the closed pipe's end
            self._pending._thread.join(timeout=5)  # noqa: SLF001
        self._tasks.close()
        self._replies.close()

    def __enter__(self) -> ForecastProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def forecast_process(tasks: int | None = None) -> Iterator[ForecastProcess | None]:
    """A :class:`ForecastProcess` for the ``with`` block (``tasks``: see there), stopped after
    it; ``None`` on Windows, whose processes cannot be handed pipes this way (the forecasts
    are then made in the run's own process, with the same results)."""
    if os.name == "nt":
        yield None
        return
    proc = ForecastProcess(tasks)
    try:
        yield proc
    finally:
        proc.close()


if __name__ == "__main__":
    from multiprocessing.connection import Connection

    # the module's own copy, not this ``__main__`` one: what it pickles (RemoteError) is then
    # found under its module's name by the run's process
    from salesreport.forecast.process import _serve as serve

    serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
